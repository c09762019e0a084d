package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestShardedSweepMergesToUnsharded: two shards merged give the bytes of
// the unsharded sweep; a missing shard is an error and writes nothing.
func TestShardedSweepMergesToUnsharded(t *testing.T) {
	common := []string{"sweep", "../../workloads/collisions.yaml", "--quiet", "--seeds", "2",
		"--set", "fidelity=model", "--set", "duration=2h", "--set", "output.events=false",
		"--grid", "network.latency.median=50ms,1s"}
	whole := t.TempDir()
	if code, _, errs := runCLI(t, append(common, "--out", whole)...); code != 0 {
		t.Fatalf("unsharded: exit %d: %s", code, errs)
	}
	sharded := t.TempDir()
	for _, s := range []string{"0/3", "1/3"} {
		if code, _, errs := runCLI(t, append(common, "--out", sharded, "--shard", s)...); code != 0 {
			t.Fatalf("shard %s: exit %d: %s", s, code, errs)
		}
	}
	if code, _, errs := runCLI(t, "merge", sharded); code != 1 || !strings.Contains(errs, "shard 2 of 3 is missing") {
		t.Fatalf("merge with a shard missing: exit %d: %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(sharded, "sweep.csv")); !os.IsNotExist(err) {
		t.Fatal("a failed merge wrote sweep.csv")
	}
	t.Setenv("SLURM_ARRAY_TASK_ID", "12")
	t.Setenv("SLURM_ARRAY_TASK_MIN", "10")
	if code, _, errs := runCLI(t, append(common, "--out", sharded, "--shard", "env/3")...); code != 0 {
		t.Fatalf("shard env/3: exit %d: %s", code, errs)
	}
	if code, _, errs := runCLI(t, "merge", sharded); code != 0 {
		t.Fatalf("merge: exit %d: %s", code, errs)
	}
	a, _ := os.ReadFile(filepath.Join(whole, "sweep.csv"))
	b, _ := os.ReadFile(filepath.Join(sharded, "sweep.csv"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatalf("merged sweep differs from the unsharded one (%d vs %d bytes)", len(b), len(a))
	}
	ma, _ := os.ReadFile(filepath.Join(whole, "sweep.json"))
	mb, _ := os.ReadFile(filepath.Join(sharded, "sweep.json"))
	if len(ma) == 0 || !bytes.Equal(ma, mb) || !bytes.Contains(ma, []byte(`"fidelity": "model"`)) {
		t.Fatalf("sweep.json: unsharded %s\nmerged %s", ma, mb)
	}
}

func TestParseShard(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, bad := range []string{"3", "3/3", "-1/3", "x/3", "1/0", "env/2"} {
		if _, err := parseShard(bad, env(nil)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if s, err := parseShard("env/4", env(map[string]string{"JOB_COMPLETION_INDEX": "3"})); err != nil || s != (shard{3, 4}) {
		t.Errorf("JOB_COMPLETION_INDEX: %v %v", s, err)
	}
}

// TestRunBadWorkers: a negative --workers stops before simulating, exit 2.
func TestRunBadWorkers(t *testing.T) {
	out := t.TempDir()
	if code, _, _ := capture(t, "run", "../../workloads/demo.yaml", "--workers", "-1", "--quiet", "--out", out); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Fatalf("wrote %d files before failing", len(entries))
	}
}
