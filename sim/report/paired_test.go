package report

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTQuantile(t *testing.T) {
	// Two-sided 95% critical values of Student's t (standard tables).
	for _, tc := range []struct{ df, want float64 }{{1, 12.7062}, {2, 4.3027}, {9, 2.2622}, {19, 2.0930}, {29, 2.0452}, {1000, 1.9623}} {
		if got := tQuantile(0.975, tc.df); math.Abs(got-tc.want) > 5e-4 {
			t.Errorf("t(0.975, %v) = %.5f, want %.4f", tc.df, got, tc.want)
		}
	}
}

// writePairedSweep writes a sweep of grid key policy.x ∈ {a, b} over
// seeds 1..3 whose runs heal at the given hours (NaN: unhealed, censored at
// 5 h).
func writePairedSweep(t *testing.T, heals map[string][3][2]float64) string {
	dir := t.TempDir()
	var sw strings.Builder
	sw.WriteString("scenario,run,seed,policy.x,metric,value\n")
	idx := 0
	for _, v := range []string{"a", "b"} {
		for seed := range 3 {
			fmt.Fprintf(&sw, "s,%d,%d,%s,simulated_seconds,360000\n", idx, seed+1, v)
			fmt.Fprintf(&sw, "s,%d,%d,%s,exposure_per_compromise_mean,%d\n", idx, seed+1, v, 10*(seed+1)+map[string]int{"a": 0, "b": 1}[v])
			fmt.Fprintf(&sw, "s,%d,%d,%s,handshake_bytes_per_member_day,%d\n", idx, seed+1, v, 1000*(seed+1))
			var cs strings.Builder
			cs.WriteString("id,time_s,victim,user,signature_key,victim_epoch,ds_epoch,observed_s,healed,heal_epoch,heal_commit_epochs," +
				"heal_commit_s,healed_by_removal,victim_processed_s,online_members,online_processed_s,online_unprocessed_at_end," +
				"all_processed_s,all_processed,unprocessed_at_end,exposed_epochs,exposed_app_messages,adversary_commits\n")
			for i, h := range heals[v][seed] {
				if math.IsNaN(h) {
					fmt.Fprintf(&cs, "%d,0,1,1,false,1,1,%d,false,,,,,,,,,,,,5,0,0\n", i, 5*3600)
				} else {
					s := h * 3600
					fmt.Fprintf(&cs, "%d,0,1,1,false,1,1,%v,true,2,1,%v,false,%v,3,%v,0,%v,true,0,1,0,0\n", i, 360000.0, s, s, s, s)
				}
			}
			rd := filepath.Join(dir, "runs", fmt.Sprintf("%04d", idx))
			os.MkdirAll(rd, 0o755)
			os.WriteFile(filepath.Join(rd, "compromises.csv"), []byte(cs.String()), 0o644)
			idx++
		}
	}
	os.WriteFile(filepath.Join(dir, "sweep.csv"), []byte(sw.String()), 0o644)
	return dir
}

// TestPairedTableHand checks the paired restricted-mean difference against
// a hand computation with a censored compromise (τ = 10 h):
//
//	seed 1: baseline heals at 1 h and 3 h: RMST = 1 + 0.5·2 = 2;
//	        variant heals at 2 h, the other is censored at 5 h (S carried
//	        forward at 0.5): RMST = 2 + 0.5·8 = 6; difference 4.
//	seed 2: baseline 2 h, 2 h: 2; variant 4 h, 4 h: 4; difference 2.
//	seed 3: baseline 1 h, 1 h: 1; variant 4 h, 2 h: 2 + 0.5·2 = 3; difference 2.
//
// Mean 8/3, sd sqrt(4/3), t(0.975, 2) = 4.3027: 2.7 [-0.2, 5.5].
func TestPairedTableHand(t *testing.T) {
	nan := math.NaN()
	dir := writePairedSweep(t, map[string][3][2]float64{
		"a": {{2, nan}, {4, 4}, {4, 2}},
		"b": {{1, 3}, {2, 2}, {1, 1}},
	})
	s, err := LoadSweep(dir)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := PairedTable(s, "policy.x=b", 10*3600)
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Rows) != 1 {
		t.Fatalf("rows = %v, want one (a vs b)", tab.Rows)
	}
	row := tab.Rows[0]
	want := []string{"a", "3", "2.7 [-0.2, 5.5]", "2.7 [-0.2, 5.5]", "-1 [-1, -1]", "0.0 [0.0, 0.0]"}
	if strings.Join(row, "|") != strings.Join(want, "|") {
		t.Errorf("row = %q\nwant  %q", row, want)
	}
	if !strings.Contains(tab.Caption, "In 1 run(s) the last observation is before τ") {
		t.Errorf("caption does not count the extrapolated run: %s", tab.Caption)
	}
	// Bad baselines and missing runs are errors, not empty tables.
	for _, b := range []string{"policy.x", "policy.x=c", "nokey=b"} {
		if _, err := PairedTable(s, b, 0); err == nil {
			t.Errorf("baseline %q: no error", b)
		}
	}
	os.RemoveAll(filepath.Join(dir, "runs"))
	if _, err := PairedTable(s, "policy.x=b", 0); err == nil || !strings.Contains(err.Error(), "--keep-runs") {
		t.Errorf("without runs/: err = %v, want a hint to --keep-runs", err)
	}
}

// TestCommitCPUSmallBinDrawsNoPoint: a half-octave bin with fewer than
// CommitCPUMinBin commits (the founder's first commit at n = 1, say) draws
// no point, and the line breaks across it.
func TestCommitCPUSmallBinDrawsNoPoint(t *testing.T) {
	var eps []Epoch
	add := func(n float64, k int) {
		for range k {
			eps = append(eps, Epoch{GroupSize: n, Path: true, CreateCPU: 1000})
		}
	}
	add(1, 1)                 // alone in its bin
	add(100, CommitCPUMinBin) // drawn
	add(200, 2)               // too few
	add(400, CommitCPUMinBin) // drawn, after a gap
	d, err := CommitCPU([][]Epoch{eps})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Series) != 1 || len(d.Series[0].Points) != 2 {
		t.Fatalf("series = %+v, want one series of two points (n = 100 and 400)", d.Series)
	}
	p := d.Series[0].Points
	if p[0].X != 100 || p[1].X != 400 || p[0].Break || !p[1].Break {
		t.Errorf("points = %+v, want x 100 then 400 with a break before 400", p)
	}
}
