package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// capture runs the command line with stdout/stderr captured.
func capture(t *testing.T, args ...string) (code int, out, errOut string) {
	t.Helper()
	var o, e bytes.Buffer
	so, se := stdout, stderr
	stdout, stderr = &o, &e
	defer func() { stdout, stderr = so, se }()
	code = realMain(args)
	return code, o.String(), e.String()
}

const epochHeader = "epoch,time_s,committer,commit_bytes,welcome_bytes,path_ciphertexts,group_size,leaves,blank_nodes,blank_parents,unmerged_leaves,mean_copath_resolution,collisions,retries,adds,removes,updates,path,ratchet_tree_bytes\n"
const compHeader = "id,time_s,victim,user,signature_key,victim_epoch,ds_epoch,healed,heal_epoch,heal_epochs,heal_commit_delay_s,healing_time_s,all_processed,unprocessed_at_end,exposure\n"

func fakeRun(t *testing.T, epochs, comps string) string {
	t.Helper()
	dir := t.TempDir()
	sum := `{"scenario":"fake","seed":3,"fidelity":"model","horizon":"1d","metrics":{"final_members":10},"run":{"mlslab_version":"(devel)"}}`
	for name, data := range map[string]string{"summary.json": sum, "epochs.csv": epochs, "compromises.csv": comps} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestPlotEmptyAndOneRow(t *testing.T) {
	empty := fakeRun(t, epochHeader, compHeader)
	code, _, e := capture(t, "plot", empty)
	if code != 1 || !strings.Contains(e, "no data rows") {
		t.Errorf("header-only: exit %d, stderr %q", code, e)
	}
	if _, err := os.Stat(filepath.Join(empty, "figures", "tree-health.png")); err == nil {
		t.Error("an image was written for empty results")
	}
	one := fakeRun(t, epochHeader+"1,1.0,0,2000,0,10,100,128,0,0,0,7.0,0,0,0,0,1,1,100\n", compHeader)
	code, _, e = capture(t, "plot", one, "--figures", "tree-health")
	if code != 1 || !strings.Contains(e, "only one data row") {
		t.Errorf("one row: exit %d, stderr %q", code, e)
	}
	code, _, e = capture(t, "plot", one, "--format", "gif")
	if code != 2 || !strings.Contains(e, "gif") {
		t.Errorf("bad format: exit %d, stderr %q", code, e)
	}
	code, _, e = capture(t, "plot", one, empty)
	if code != 2 || !strings.Contains(e, "--out") {
		t.Errorf("two inputs without --out: exit %d, stderr %q", code, e)
	}
}

// TestPlotDemo runs the demo scenario at model fidelity and draws its
// figures: the whole run -> plot -> table path.
func TestPlotDemo(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "demo")
	if code, _, e := capture(t, "run", "../../workloads/demo.yaml", "--fidelity", "model", "--quiet",
		"--set", "duration=3d", "--set", "adversary.rate=1/h", "--out", run); code != 0 {
		t.Fatalf("run: exit %d: %s", code, e)
	}
	code, out, e := capture(t, "plot", run, "--format", "png,svg")
	if code != 0 {
		t.Fatalf("plot: exit %d: %s", code, e)
	}
	// At fidelity model no cryptography runs: auto mode skips commit-cpu
	// with a note instead of drawing an empty figure.
	if !strings.Contains(e, "skipping commit-cpu") {
		t.Errorf("no note about commit-cpu: %q", e)
	}
	if _, err := os.Stat(filepath.Join(run, "figures", "commit-cpu.png")); err == nil {
		t.Error("commit-cpu drawn from a model run")
	}
	if code, _, e := capture(t, "plot", run, "--figures", "commit-cpu"); code != 1 || !strings.Contains(e, "fidelity sampled") {
		t.Errorf("explicit commit-cpu: exit %d, %s", code, e)
	}
	// demo grows from 20 to ~1000 members: commit size vs group size.
	for _, fig := range []string{"commit-size", "tree-health", "healing-cdf"} {
		for _, ext := range []string{".png", ".svg", ".json"} {
			p := filepath.Join(run, "figures", fig+ext)
			if st, err := os.Stat(p); err != nil || st.Size() == 0 {
				t.Errorf("%s missing or empty (%v); stdout %s", p, err, out)
			}
		}
	}
	var sc struct {
		Scenario string   `json:"scenario"`
		Seeds    []uint64 `json:"seeds"`
		Fidelity string   `json:"fidelity"`
		Version  string   `json:"mlslab_version"`
		Data     struct {
			HealCommit []struct{ Points []struct{ X, Y float64 } }
		} `json:"data"`
	}
	b, _ := os.ReadFile(filepath.Join(run, "figures", "healing-cdf.json"))
	if err := json.Unmarshal(b, &sc); err != nil {
		t.Fatal(err)
	}
	if sc.Scenario != "demo" || len(sc.Seeds) != 1 || sc.Seeds[0] != 42 || sc.Fidelity != "model" || sc.Version == "" {
		t.Errorf("sidecar: %+v", sc)
	}
	if len(sc.Data.HealCommit) != 1 || len(sc.Data.HealCommit[0].Points) < 2 {
		t.Errorf("healing data: %+v", sc.Data)
	}
	for _, f := range []string{"text", "markdown", "latex"} {
		code, out, e := capture(t, "table", run, "--format", f)
		if code != 0 || !strings.Contains(out, "demo / 42") {
			t.Errorf("table %s: exit %d, %s%s", f, code, out, e)
		}
	}
	code, out, _ = capture(t, "table", run, "--kind", "healing", "--format", "markdown")
	if code != 0 || !strings.Contains(out, "| demo ") {
		t.Errorf("healing table: exit %d\n%s", code, out)
	}
	if code, _, e := capture(t, "plot", run, "--figures", "collisions"); code != 1 || !strings.Contains(e, "sweep") {
		t.Errorf("collisions from a run: exit %d, %s", code, e)
	}
}

const benchText = `pkg: github.com/mlslab/mlslab/mls
BenchmarkCommit/create/cs=0x0001/n=1024/tree=full         	       3	   9000000 ns/op	  111448 B/op	    1193 allocs/op
BenchmarkCommit/create/cs=0x0001/n=1024/tree=full-2       	       3	   5000000 ns/op	  111448 B/op	    1193 allocs/op
BenchmarkCommit/create/cs=0x0001/n=16384/tree=full        	       1	  30000000 ns/op	  148920 B/op	    1507 allocs/op
BenchmarkCommit/create/cs=0x0001/n=16384/tree=full-2      	       1	  20000000 ns/op	  148920 B/op	    1507 allocs/op
BenchmarkJoin/cs=0x0001/n=1024/tree=full-2                	       1	  40000000 ns/op
BenchmarkJoin/cs=0x0001/n=16384/tree=full-2               	       1	 400000000 ns/op
`

func TestBenchImportPlotCheck(t *testing.T) {
	dir := t.TempDir()
	txt := filepath.Join(dir, "bench.txt")
	os.WriteFile(txt, []byte(benchText), 0o644)
	csv := filepath.Join(dir, "out", "bench.csv")
	if code, _, e := capture(t, "bench-import", txt, "--out", csv); code != 0 {
		t.Fatalf("bench-import: %d %s", code, e)
	}
	b, _ := os.ReadFile(csv)
	if lines := strings.Count(string(b), "\n"); lines != 1+4*3+2 {
		t.Errorf("bench.csv has %d lines:\n%s", lines, b)
	}
	if code, _, e := capture(t, "plot", csv, "--format", "png"); code != 0 {
		t.Fatalf("plot cost: %d %s", code, e)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "figures", "cost.png")); err != nil {
		t.Error(err)
	}
	if code, out, _ := capture(t, "table", csv); code != 0 || !strings.Contains(out, "Commit/create/cs=0x0001/n=1024/tree=full") {
		t.Errorf("bench table: %d\n%s", code, out)
	}
	// bench-check on a benchstat CSV.
	cmp := filepath.Join(dir, "cmp.csv")
	os.WriteFile(cmp, []byte(",a,,b,,,\n,sec/op,CI,sec/op,CI,vs base,P\nX-2,1,1%,1.3,1%,+30.00%,p=0.002 n=6\nY-2,1,1%,1.05,1%,~,p=0.3 n=6\n"), 0o644)
	if code, out, _ := capture(t, "bench-check", cmp); code != 1 || !strings.Contains(out, "REGRESSION") || !strings.Contains(out, "X-2") {
		t.Errorf("bench-check 10%%: exit %d\n%s", code, out)
	}
	if code, out, _ := capture(t, "bench-check", cmp, "--threshold", "50"); code != 0 || !strings.Contains(out, "ok: 2 benchmarks") {
		t.Errorf("bench-check 50%%: exit %d\n%s", code, out)
	}
	if code, _, _ := capture(t, "bench-check", txt); code != 2 {
		t.Errorf("bench-check on a non-benchstat file: exit %d, want 2", code)
	}
	empty := filepath.Join(dir, "empty.txt")
	os.WriteFile(empty, []byte("PASS\n"), 0o644)
	if code, _, e := capture(t, "plot", empty); code != 2 || !strings.Contains(e, "no benchmark result lines") {
		t.Errorf("empty bench output: exit %d %s", code, e)
	}
}

// TestPlotCommitCPUAlone: --figures commit-cpu on its own loads the runs'
// epochs (it used to say "no data" unless commit-size or tree-health was
// also asked for).
func TestPlotCommitCPUAlone(t *testing.T) {
	out := t.TempDir()
	if code, _, e := capture(t, "plot", "../../results/demo", "--figures", "commit-cpu", "--format", "png", "--out", out); code != 0 {
		t.Fatalf("plot --figures commit-cpu: exit %d: %s", code, e)
	}
	if _, err := os.Stat(filepath.Join(out, "commit-cpu.png")); err != nil {
		t.Fatal(err)
	}
}
