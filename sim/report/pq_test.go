package report

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writePQRun writes a run directory: summary.json and an epochs.csv of
// three epochs (an initial add, a one-joiner add with a Welcome, a path
// commit), sizes scaled by k.
func writePQRun(t *testing.T, dir string, suite uint16, members, k float64, real bool) *Run {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := map[string]any{"scenario": fmt.Sprintf("pq-n%g", members), "seed": 1, "fidelity": "model", "suite": suite,
		"metrics": map[string]float64{"epochs": 3, "commits": 3, "handshake_bytes_per_member_day": 1000 * k, "heal_commit_seconds_median": 7200}}
	if real {
		s["fidelity"] = "sampled"
		s["real"] = map[string]any{"welcome_process_cpu_mean_us": 50 * k, "commit_create_cpu_mean_us": 10 * k, "first_error": ""}
	}
	b, _ := json.Marshal(s)
	if err := os.WriteFile(filepath.Join(dir, "summary.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	hdr := "epoch,time_s,committer,commit_bytes,welcome_bytes,path_ciphertexts,group_size,leaves,blank_nodes,blank_parents,unmerged_leaves,mean_copath_resolution,collisions,retries,adds,removes,updates,path,ratchet_tree_bytes,create_cpu_us,occupied_nodes,occupied_blank_nodes"
	rows := []string{
		fmt.Sprintf("1,0.1,0,%g,%g,0,%g,64,0,0,0,1,0,0,%g,0,0,0,0,,1,0", 900*k, 900*k, members, members-1),
		fmt.Sprintf("2,100,0,%g,%g,0,%g,64,0,0,0,1,0,0,1,0,0,0,0,,1,0", 300*k, 2000*k, members),
		fmt.Sprintf("3,200,1,%g,0,5,%g,64,0,0,0,1,0,0,0,0,0,1,0,,1,0", 400*k, members),
	}
	if err := os.WriteFile(filepath.Join(dir, "epochs.csv"), []byte(hdr+"\n"+strings.Join(rows, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPQRatio: runs pair by scenario and seed, ratios are PQ / classical
// per metric, CPU ratios only where the runs measured CPU (no line across
// the missing sizes), and a run without a partner is refused.
func TestPQRatio(t *testing.T) {
	dir := t.TempDir()
	var runs []*Run
	for i, n := range []float64{100, 1000, 10000} {
		real := i < 2
		runs = append(runs, writePQRun(t, filepath.Join(dir, fmt.Sprintf("c%g", n)), 1, n, 1, real),
			writePQRun(t, filepath.Join(dir, fmt.Sprintf("q%g", n)), 0x53, n, float64(2+i), real))
	}
	d, err := PQRatio(runs)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Pairs) != 3 || d.Pairs[0].Classical.Members >= d.Pairs[2].Classical.Members {
		t.Fatalf("pairs %+v", d.Pairs)
	}
	p := d.Pairs[1]
	if p.Classical.PathCommitBytes != 400 || p.PQ.WelcomeBytes != 6000 || p.Ratio["commit"] != 3 || p.Ratio["welcome"] != 3 ||
		p.Ratio["handshake"] != 3 || p.Ratio["join_cpu"] != 3 || !p.TimelinesEqual || p.Classical.HealCommitHours != 2 {
		t.Fatalf("pair %+v", p)
	}
	if !math.IsNaN(d.Pairs[2].Ratio["join_cpu"]) {
		t.Errorf("model pair has a join CPU ratio %g", d.Pairs[2].Ratio["join_cpu"])
	}
	for _, s := range d.Series {
		want := 3
		if strings.Contains(s.Name, "CPU") {
			want = 2
		}
		if len(s.Points) != want {
			t.Errorf("series %q: %d points, want %d", s.Name, len(s.Points), want)
		}
	}
	if _, err := PQRatioFigure(d); err != nil {
		t.Fatal(err)
	}
	if _, err := PQRatio(runs[:3]); err == nil {
		t.Error("a run without a partner was accepted")
	}
	old := writePQRun(t, filepath.Join(dir, "old"), 0, 100, 1, false)
	if _, err := PQRatio([]*Run{old}); err == nil {
		t.Error("a run without a suite was accepted")
	}
}

// TestPQRatioJSON: the sidecar data encodes (model runs have no CPU
// times: null, not NaN, which encoding/json refuses).
func TestPQRatioJSON(t *testing.T) {
	dir := t.TempDir()
	runs := []*Run{writePQRun(t, filepath.Join(dir, "a"), 1, 100, 1, false), writePQRun(t, filepath.Join(dir, "b"), 0x53, 100, 2, false)}
	d, err := PQRatio(runs)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"join_cpu":null`) || !strings.Contains(string(b), `"commit":2`) {
		t.Errorf("JSON %s", b)
	}
}
