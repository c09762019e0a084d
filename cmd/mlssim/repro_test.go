package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/mlslab/mlslab/sim/report"
	"github.com/mlslab/mlslab/sim/size"
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

// costFormulaCheck checks every pure self-update commit made in a full tree
// of the run in dir (report.PathCostClass "full"): it is exactly a +
// b·path_ciphertexts bytes (one ciphertext per filtered path node in a full
// tree), with path_ciphertexts = log2 N for N a power of two and at most
// ceil(log2 N) otherwise. It returns N, the commits checked and their size
// when N is a power of two.
func costFormulaCheck(t *testing.T, dir string, a, b int) (n, commits int, bytes float64) {
	t.Helper()
	eps, err := report.ReadEpochs(dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	n = int(eps[0].GroupSize)
	want := math.Ceil(math.Log2(float64(n)))
	pow2 := n&(n-1) == 0
	for i := 1; i < len(eps); i++ {
		if report.PathCostClass(&eps[i-1], &eps[i]) != "full" {
			continue
		}
		e := &eps[i]
		commits++
		if f := float64(a) + float64(b)*e.PathCiphertexts; e.CommitBytes != f {
			t.Errorf("%s: epoch %d: %v bytes, want %d + %d·%v = %v", dir, e.Epoch, e.CommitBytes, a, b, e.PathCiphertexts, f)
		}
		if e.PathCiphertexts > want || (pow2 && e.PathCiphertexts != want) {
			t.Errorf("%s: epoch %d: %v ciphertexts, N=%d", dir, e.Epoch, e.PathCiphertexts, n)
		}
		bytes = e.CommitBytes
	}
	if commits < n/2 {
		t.Errorf("%s: only %d full-tree commits for N=%d", dir, commits, n)
	}
	return n, commits, bytes
}

// TestReproCostFormula (study 2, RFC 9420 §16.2): for suite 0x0001 every
// self-update commit in a full tree of N = 2^k members is a + b·k bytes, a
// and b derived from the encoding by sim/size (369 and 117, the hand
// count). Reduced sizes at model, and N = 16, 32 at sampled, where every
// commit is built and encoded by package mls. With REPRO_COST_RUNS=DIR it
// checks the runs DIR/n=* instead (make repro: N up to 2^17).
func TestReproCostFormula(t *testing.T) {
	s, _ := size.SuiteByID(1)
	a, b, maxDepth := size.FullTreeCommitCost(s, size.DefaultProfile(), false)
	if a != 369 || b != 117 || maxDepth < 17 {
		t.Fatalf("a=%d b=%d (exact to depth %d), want 369 + 117·ceil(log2 N)", a, b, maxDepth)
	}
	t.Logf("suite 0x0001, PublicMessage, 16-byte group id and identity: full-tree commit = %d + %d·ceil(log2 N) bytes", a, b)
	if dir := os.Getenv("REPRO_COST_RUNS"); dir != "" {
		runs, _ := filepath.Glob(filepath.Join(dir, "n=*"))
		if len(runs) == 0 {
			t.Fatalf("REPRO_COST_RUNS=%s: no n=* run directories", dir)
		}
		for _, r := range runs {
			n, c, by := costFormulaCheck(t, r, a, b)
			t.Logf("N=%d (2^%d): %d full-tree commits, each %v bytes = %d + %d·%d", n, int(math.Log2(float64(n))), c, by, a, b, int(math.Log2(float64(n))))
		}
		return
	}
	type run struct {
		n        int
		fidelity string
	}
	for _, r := range []run{{16, "model"}, {64, "model"}, {300, "model"}, {1024, "model"}, {16, "sampled"}, {32, "sampled"}} {
		out := filepath.Join(t.TempDir(), "run")
		ns := strconv.Itoa(r.n)
		if code, _, e := capture(t, "run", "../../workloads/repro/cost-formula.yaml", "--quiet", "--out", out,
			"--fidelity", r.fidelity, "--set", "population.initial_users="+ns,
			"--set", "policy.self_update.first_after="+strconv.Itoa(4*r.n)+"s",
			"--set", "policy.self_update.interval="+strconv.Itoa(8*r.n)+"s",
			"--set", "duration="+strconv.Itoa(18*r.n)+"s"); code != 0 {
			t.Fatalf("N=%d %s: exit %d: %s", r.n, r.fidelity, code, e)
		}
		n, c, by := costFormulaCheck(t, out, a, b)
		t.Logf("N=%d %s: %d full-tree commits checked (last %v bytes)", n, r.fidelity, c, by)
	}
}

// reproRunsFromEnv returns the run directories DIR/pattern... where DIR
// is the environment variable env (make repro's runs), nil when env is
// unset; it fails the test when none matches.
func reproRunsFromEnv(t *testing.T, env string, pattern ...string) []string {
	t.Helper()
	dir := os.Getenv(env)
	if dir == "" {
		return nil
	}
	runs, _ := filepath.Glob(filepath.Join(append([]string{dir}, pattern...)...))
	if len(runs) == 0 {
		t.Fatalf("%s=%s: no %s run directories", env, dir, filepath.Join(pattern...))
	}
	return runs
}

// cuRunArgs are the settings of one run of the concurrent-updates scenario
// with P Update proposals per commit at N members: interval 10·N s (a
// proposal every ~10 s), the first interval plus ~8·N commits; P = 0 is
// self-update commits only (the Makefile's repro-concurrent-updates).
func cuRunArgs(p, n int) []string {
	a := []string{"--set", "population.initial_users=" + strconv.Itoa(n),
		"--set", "policy.self_update.interval=" + strconv.Itoa(10*n) + "s"}
	d := 10 * n * (1 + 8*p)
	if p == 0 {
		a = append(a, "--set", "policy.update_as=commit")
		d = 90 * n
	}
	ps := strconv.Itoa(p)
	return append(a, "--set", "policy.min_proposals_per_commit="+ps, "--set", "policy.max_proposals_per_commit="+ps,
		"--set", "duration="+strconv.Itoa(d)+"s")
}

// cuCheck computes the steady-state cost per run (report.SteadyPathCost)
// and the growth exponent per P (report.ConcurrentUpdates) of the runs in
// dirs, logs them and checks the published shape: P = 0 (no proposals)
// costs exactly log2 N per commit (a full tree), P = 1 grows faster than
// √N (the exponent's 95 % interval above 0.5), and the exponent grows with
// P towards 1.
func cuCheck(t *testing.T, dirs []string) {
	t.Helper()
	var runs [][]report.Epoch
	for _, d := range dirs {
		eps, err := report.ReadEpochs(d, 2)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, eps)
	}
	d, err := report.ConcurrentUpdates(runs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("steady-state UpdatePath ciphertexts per commit after %d·N commits (mean ± 95%% batch-means half-width, commits):",
		report.ConcurrentWarmup)
	prev := -1.0
	for i, p := range d.P {
		f := d.Fits[i]
		line := ""
		for _, q := range d.Series[i].Points {
			line += fmt.Sprintf(" N=%v: %.1f ± %.1f (%d);", q.X, q.Y, q.YHi-q.Y, q.N)
			if p == 0 && q.Y != math.Log2(q.X) {
				t.Errorf("P=0 N=%v: %v ciphertexts per self-update commit, want log2 N (full tree)", q.X, q.Y)
			}
		}
		t.Logf("P=%d: exponent %.3f [%.3f, %.3f] over %d sizes;%s", p, f.Slope, f.SlopeLo, f.SlopeHi, f.N, line)
		if p == 1 && !(f.SlopeLo > 0.5) {
			t.Errorf("P=1: exponent %.3f [%.3f, %.3f], published: faster than √N (> 0.5)", f.Slope, f.SlopeLo, f.SlopeHi)
		}
		if p > 0 && !(f.Slope > prev) {
			t.Errorf("P=%d: exponent %.3f not above the previous P's %.3f", p, f.Slope, prev)
		}
		if p > 0 {
			prev = f.Slope
		}
	}
	if !slices.Contains(d.P, 1) {
		t.Errorf("no run with P = 1 (P found: %v)", d.P)
	}
}

// TestReproConcurrentUpdates (study 4, Auerbach, Cueto Noval, Erol,
// Pietrzak, CRYPTO 2025): with P Update proposals per commit by random
// members and a random committer, the steady-state commit cost grows
// faster than √N at P = 1 and approaches N as P grows. Reduced range N =
// 2^6..2^10 for P ∈ {0, 1, 2, 5, 10} (seconds); with REPRO_CU_RUNS=DIR it
// checks the runs DIR/p=*/n=* instead (make repro: N up to 2^12 or more).
func TestReproConcurrentUpdates(t *testing.T) {
	if runs := reproRunsFromEnv(t, "REPRO_CU_RUNS", "p=*", "n=*"); runs != nil {
		cuCheck(t, runs)
		return
	}
	var dirs []string
	for _, p := range []int{0, 1, 2, 5, 10} {
		for k := 6; k <= 10; k++ {
			out := filepath.Join(t.TempDir(), "run")
			args := append([]string{"run", "../../workloads/repro/concurrent-updates.yaml", "--quiet", "--out", out}, cuRunArgs(p, 1<<k)...)
			if code, _, e := capture(t, args...); code != 0 {
				t.Fatalf("P=%d N=%d: exit %d: %s", p, 1<<k, code, e)
			}
			dirs = append(dirs, out)
		}
	}
	cuCheck(t, dirs)
}

// cgCheck computes the per-group healing of multi-group runs
// (report.CrossGroup: time to the healing commit, Kaplan–Meier over the
// pooled compromises, RMST up to 7 days per seed), logs every group's
// cell and checks the published claim (Cremers, Hale, Kohbrok, USENIX
// Security 2021): a compromise of a client in several groups heals in a
// group only if the client updates there. In groups where the client runs
// its daily self-updates, at least 90 % of the compromises heal and the
// median time to the healing commit is between 2 h and 36 h (an update
// falls due 0.5–1.5 days apart, later if the device is offline); where it
// does not (and is never removed), none heals and the RMST is τ. Group 0,
// where the client updates under both policies, has the same compromises
// and the same healing under both (common random numbers).
func cgCheck(t *testing.T, dirs []string) {
	t.Helper()
	var runs []*report.Run
	for _, d := range dirs {
		r, err := report.LoadRun(d)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	d, err := report.CrossGroup(runs, report.CrossGroupTau)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("time to the healing commit per group (hours; KM median [95%% CI] over the pooled compromises, RMST(%g h) mean [95%% t CI] over seeds):", d.Tau)
	group0 := map[int]report.CrossGroupCell{}
	policies := map[int]int{}
	for _, c := range d.Cells {
		t.Logf("k=%d updates in %d: group %d (client updates %t): %d seeds, %d/%d healed, median %s, RMST %s",
			c.Groups, c.Updating, c.Group, c.ClientUpdates, c.Seeds, c.Healed, c.Compromises, c.Median.String(1), c.RMST.String(1))
		if c.Compromises < 10 {
			t.Errorf("k=%d u=%d group %d: only %d compromises", c.Groups, c.Updating, c.Group, c.Compromises)
		}
		if c.ClientUpdates {
			if f := float64(c.Healed) / float64(c.Compromises); f < 0.9 || !(c.Median.Est >= 2 && c.Median.Est <= 36) {
				t.Errorf("k=%d u=%d group %d, client updating: %.2f healed, median %s h; want >= 0.9 and 2..36 h",
					c.Groups, c.Updating, c.Group, f, c.Median.String(1))
			}
		} else if c.Healed != 0 || c.RMST.Mean != d.Tau {
			t.Errorf("k=%d u=%d group %d, client not updating: %d healed, RMST %s; published: not healed (RMST = τ = %g h)",
				c.Groups, c.Updating, c.Group, c.Healed, c.RMST.String(1), d.Tau)
		}
		if c.Group != 0 {
			continue
		}
		policies[c.Groups]++
		if g, ok := group0[c.Groups]; !ok {
			group0[c.Groups] = c
		} else if g.Compromises != c.Compromises || g.Healed != c.Healed || g.Median != c.Median {
			t.Errorf("k=%d group 0: %d/%d healed, median %s under update_groups=%d vs %d/%d, %s under %d: want identical",
				c.Groups, c.Healed, c.Compromises, c.Median.String(2), c.Updating, g.Healed, g.Compromises, g.Median.String(2), g.Updating)
		}
	}
	for k, n := range policies {
		if n < 2 {
			t.Errorf("k=%d: %d policy, want updating in all groups and in fewer", k, n)
		}
	}
}

// TestReproCrossGroup (study 6, Cremers, Hale, Kohbrok, "The Complexities
// of Healing in Secure Group Messaging: Why Cross-Group Effects Matter",
// USENIX Security 2021): one client in k = 3 groups, compromised in all at
// once, heals only in the groups it updates in. Reduced size: 3 seeds of
// 14 days, the client updating in all groups or in group 0 only (a
// second); with REPRO_CG_RUNS=DIR it checks the sweep runs DIR/runs/*
// instead (make repro-cross-group: k = 3 and 5, 20 seeds of 28 days).
func TestReproCrossGroup(t *testing.T) {
	if runs := reproRunsFromEnv(t, "REPRO_CG_RUNS", "runs", "*"); runs != nil {
		cgCheck(t, runs)
		return
	}
	out := filepath.Join(t.TempDir(), "sweep")
	if code, _, e := capture(t, "sweep", "../../workloads/repro/cross-group.yaml", "--quiet", "--keep-runs", "--seeds", "3",
		"--grid", "groups.update_groups=0,1", "--set", "duration=14d", "--set", "output.events=false", "--out", out); code != 0 {
		t.Fatalf("sweep: exit %d: %s", code, e)
	}
	runs, _ := filepath.Glob(filepath.Join(out, "runs", "*"))
	cgCheck(t, runs)
}
