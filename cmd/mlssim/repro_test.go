package main

import (
	"math"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/mlslab/mlslab/sim/report"
)

// Issue 14's reproduction studies: one fast test per study (make test runs
// them; go test ./... -run Repro runs them all). Each runs the study's
// scenario file on a reduced size and checks our result against the
// published one. notebooks/repro/ has the write-ups.

// TestReproBareBase (study 1, OpenMLS "bare vs base" tree): after one
// member adds N−1 members in one add-only commit, the first self-update
// commit encrypts N−1 path secrets (299 for N = 300); once the tree is full
// a self-update commit needs at most ceil(log2 N) (9 for N = 300), and a
// member of the left subtree needs exactly that. Same classification as
// the path-cost figure (report.PathCostClass).
func TestReproBareBase(t *testing.T) {
	for _, n := range []int{2, 3, 5, 16, 33, 300} {
		out := filepath.Join(t.TempDir(), "run")
		ns := strconv.Itoa(n)
		if code, _, e := capture(t, "run", "../../workloads/repro/bare-base.yaml", "--quiet", "--out", out,
			"--set", "population.initial_users="+ns); code != 0 {
			t.Fatalf("N=%d: run: exit %d: %s", n, code, e)
		}
		eps, err := report.ReadEpochs(out, 2)
		if err != nil {
			t.Fatal(err)
		}
		if eps[0].Adds != float64(n-1) || eps[0].Path {
			t.Fatalf("N=%d: epoch 1 adds %v path %v, want %d adds without a path", n, eps[0].Adds, eps[0].Path, n-1)
		}
		d, err := report.PathCost([][]report.Epoch{eps})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Bare.Points) != 1 || d.BareCommits != 1 {
			t.Fatalf("N=%d: %d bare-tree commits, want 1 (the first self-update)", n, d.BareCommits)
		}
		if b := d.Bare.Points[0]; b.X != float64(n) || b.Y != float64(n-1) {
			t.Errorf("N=%d: first self-update in the bare tree: %v ciphertexts, want %d", n, b.Y, n-1)
		}
		want := math.Ceil(math.Log2(float64(n)))
		if len(d.Full.Points) != 1 || d.Full.Points[0].N < n {
			t.Fatalf("N=%d: full-tree commits %+v, want at least %d", n, d.Full.Points, n)
		}
		if f := d.Full.Points[0]; f.YHi != want || f.Y > want {
			t.Errorf("N=%d: full tree: max %v mean %v ciphertexts, want max = ceil(log2 N) = %v", n, f.YHi, f.Y, want)
		}
		if n == 300 {
			t.Logf("N=300: bare %v, full max %v mean %.3f over %d commits", d.Bare.Points[0].Y, d.Full.Points[0].YHi,
				d.Full.Points[0].Y, d.Full.Points[0].N)
		}
	}
}
