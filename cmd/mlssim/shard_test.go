package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
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
	if code, _, errs := runCLI(t, "merge", sharded); code != 2 || !strings.Contains(errs, "(shard 2/3)") {
		t.Fatalf("merge with a shard missing: exit %d: %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(sharded, "sweep.csv")); !os.IsNotExist(err) {
		t.Fatal("a failed merge wrote sweep.csv")
	}
	t.Setenv("SLURM_ARRAY_TASK_ID", "2") // as sbatch --array=2 sets it
	t.Setenv("SLURM_ARRAY_TASK_MIN", "2")
	if code, _, errs := runCLI(t, append(common, "--out", sharded, "--shard", "env/3")...); code != 0 {
		t.Fatalf("shard env/3: exit %d: %s", code, errs)
	}
	mergeMatches(t, sharded, whole)
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
	// sbatch --array=2 (re-running one shard): the task ID is the shard.
	if s, err := parseShard("env/3", env(map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "2"})); err != nil || s != (shard{2, 3}) {
		t.Errorf("SLURM_ARRAY_TASK_ID: %v %v", s, err)
	}
	if _, err := parseShard("env/3", env(map[string]string{"SLURM_ARRAY_TASK_ID": "3"})); err == nil || !strings.Contains(err.Error(), "--array=0-2") {
		t.Errorf("task ID 3 of 3 shards: %v", err)
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

// TestRunBadOutDir: an output directory that cannot be created is a
// usage error (exit 2) before anything runs, for a single group and for
// a multi-group scenario (groups section) alike.
func TestRunBadOutDir(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, sc := range []string{"../../workloads/demo.yaml", "../../workloads/repro/cross-group.yaml"} {
		// (mlssim run writes its errors to os.Stderr, not captured.)
		if code, _, _ := capture(t, "run", sc, "--quiet", "--fidelity", "model", "--set", "duration=1h", "--out", filepath.Join(blocker, "out")); code != 2 {
			t.Errorf("%s: exit %d, want 2", sc, code)
		}
	}
}

// sweepArgs is a small sweep (2 x 2 grid, 2 seeds: 8 cells) at fidelity
// model, each cell a fraction of a second.
func sweepArgs(out string, extra ...string) []string {
	return append([]string{"sweep", "../../workloads/collisions.yaml", "--quiet", "--seeds", "2",
		"--set", "fidelity=model", "--set", "duration=2h", "--set", "output.events=false",
		"--grid", "network.latency.median=50ms,1s", "--grid", "policy.self_update.interval=30m,2h",
		"--out", out}, extra...)
}

func readMeta(t *testing.T, path string) sweepMeta {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m sweepMeta
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestCellKeyMatchesRows: the grid key merge and status print for a run is
// the one the sweep ran (its grid columns and seed in sweep.csv).
func TestCellKeyMatchesRows(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := runCLI(t, sweepArgs(dir)...); code != 0 {
		t.Fatalf("sweep: exit %d: %s", code, errs)
	}
	m := readMeta(t, filepath.Join(dir, "sweep.json"))
	if m.Runs != 8 || len(m.ScenarioHash) != 64 || strings.Join(m.GridKeys, " ") != "network.latency.median policy.self_update.interval" {
		t.Fatalf("sweep.json: %+v", m)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "sweep.csv"))
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	seen := map[string]bool{}
	for _, l := range lines[1:] {
		f := strings.Split(l, ",") // scenario,run,seed,latency,interval,metric,value
		run, _ := strconv.Atoi(f[1])
		want := "network.latency.median=" + f[3] + " policy.self_update.interval=" + f[4] + " seed=" + f[2]
		if got := m.cellKey(run); got != want {
			t.Fatalf("run %d: cellKey %q, row says %q", run, got, want)
		}
		seen[want] = true
	}
	if len(seen) != 8 {
		t.Fatalf("%d distinct cells, want 8", len(seen))
	}
}

// TestMergeMissingCellAndRerun: a shard that fails (the MLSSIM_FAIL_SHARD
// hook) leaves its cell out; status and merge name it by grid key, merge
// exits 2 writing nothing; re-running only that shard completes the merge,
// byte-identical to the one-process sweep.
func TestMergeMissingCellAndRerun(t *testing.T) {
	whole := t.TempDir()
	if code, _, errs := runCLI(t, sweepArgs(whole)...); code != 0 {
		t.Fatalf("unsharded: exit %d: %s", code, errs)
	}
	dir := t.TempDir()
	for i := range 3 {
		if i == 1 {
			t.Setenv(failShardEnv, "1")
		}
		code, _, errs := runCLI(t, sweepArgs(dir, "--shard", fmt.Sprintf("%d/3", i))...)
		if want := map[bool]int{true: 1, false: 0}[i == 1]; code != want {
			t.Fatalf("shard %d/3: exit %d, want %d: %s", i, code, want, errs)
		}
		os.Unsetenv(failShardEnv)
	}
	// Shard 1 owns runs 1, 4 and 7; the hook fails run 1.
	key1 := "network.latency.median=50ms policy.self_update.interval=30m seed=" + strconv.FormatUint(readMeta(t, filepath.Join(dir, "sweep-shard-0-of-3.json")).FirstSeed+1, 10)
	code, out, errs := runCLI(t, "status", dir)
	if code != 1 || !strings.Contains(out, "cells: 7 done, 0 running, 1 failed, 0 not started (of 8)") ||
		!strings.Contains(out, "failed   run 1  "+key1+"  (shard 1/3): "+failShardEnv) ||
		!strings.Contains(out, "shard 1/3     failed      2/3 done, 1 failed") {
		t.Fatalf("status: exit %d:\n%s%s", code, out, errs)
	}
	code, _, errs = runCLI(t, "merge", dir)
	if code != 2 || !strings.Contains(errs, "1 of 8 cells missing, 0 duplicated") ||
		!strings.Contains(errs, "missing    run 1  "+key1+"  (shard 1/3): failed: "+failShardEnv) {
		t.Fatalf("merge with a failed cell: exit %d: %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "sweep.csv")); !os.IsNotExist(err) {
		t.Fatal("a refused merge wrote sweep.csv")
	}
	if code, _, errs := runCLI(t, sweepArgs(dir, "--shard", "1/3")...); code != 0 {
		t.Fatalf("re-run shard 1/3: exit %d: %s", code, errs)
	}
	if code, out, _ := runCLI(t, "status", dir); code != 0 || !strings.Contains(out, "cells: 8 done, 0 running, 0 failed, 0 not started (of 8)") {
		t.Fatalf("status after the re-run: exit %d:\n%s", code, out)
	}
	mergeMatches(t, dir, whole)

	// A second sharding in the same directory duplicates cells.
	if code, _, errs := runCLI(t, sweepArgs(dir, "--shard", "0/2")...); code != 0 {
		t.Fatalf("shard 0/2: exit %d: %s", code, errs)
	}
	code, _, errs = runCLI(t, "merge", dir)
	if code != 2 || !strings.Contains(errs, "0 of 8 cells missing, 4 duplicated") ||
		!strings.Contains(errs, "duplicate  run 0  network.latency.median=50ms policy.self_update.interval=30m seed=") ||
		!strings.Contains(errs, "(in sweep-shard-0-of-2.csv and sweep-shard-0-of-3.csv)") {
		t.Fatalf("merge with duplicates: exit %d: %s", code, errs)
	}
}

// TestMergeRefusesOtherSweeps: shards of another build, grid or scenario
// are refused with exit 2, naming what differs.
func TestMergeRefusesOtherSweeps(t *testing.T) {
	for _, tc := range []struct {
		name  string
		shard func(t *testing.T, dir string) // writes shard 1/2 its own way
		want  string
	}{
		{"build", func(t *testing.T, dir string) {
			if code, _, errs := runCLI(t, sweepArgs(dir, "--shard", "1/2")...); code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			path := filepath.Join(dir, "sweep-shard-1-of-2.json")
			m := readMeta(t, path)
			m.Commit = "0123456789abcdef0123456789abcdef01234567"
			if err := writeJSONAtomic(path, m); err != nil {
				t.Fatal(err)
			}
		}, "the mlslab build differs"},
		{"grid", func(t *testing.T, dir string) {
			args := sweepArgs(dir, "--shard", "1/2")
			for i, a := range args {
				if a == "policy.self_update.interval=30m,2h" {
					args[i] = "policy.self_update.interval=30m,6h"
				}
			}
			if code, _, errs := runCLI(t, args...); code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
		}, "the grid differs"},
		{"scenario", func(t *testing.T, dir string) {
			if code, _, errs := runCLI(t, sweepArgs(dir, "--shard", "1/2", "--set", "duration=3h")...); code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
		}, "the scenario differs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if code, _, errs := runCLI(t, sweepArgs(dir, "--shard", "0/2")...); code != 0 {
				t.Fatalf("shard 0/2: exit %d: %s", code, errs)
			}
			tc.shard(t, dir)
			code, _, errs := runCLI(t, "merge", dir)
			if code != 2 || !strings.Contains(errs, tc.want) || !strings.Contains(errs, "sweep-shard-0-of-2.json and sweep-shard-1-of-2.json are from different sweeps") {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if _, err := os.Stat(filepath.Join(dir, "sweep.csv")); !os.IsNotExist(err) {
				t.Fatal("a refused merge wrote sweep.csv")
			}
		})
	}
}

// TestStatusRunningAndNotStarted: a shard mid-run (its status file as a
// running shard leaves it) and a shard that never started.
func TestStatusRunningAndNotStarted(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := runCLI(t, sweepArgs(dir, "--shard", "0/3")...); code != 0 {
		t.Fatalf("shard 0/3: exit %d: %s", code, errs)
	}
	if code, _, errs := runCLI(t, sweepArgs(dir, "--shard", "1/3")...); code != 0 {
		t.Fatalf("shard 1/3: exit %d: %s", code, errs)
	}
	path := filepath.Join(dir, "sweep-shard-1-of-3.status.json")
	st, err := readShardStatus(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != "done" || len(st.Cells) != 3 || st.Cells[1].Run != 4 || st.Cells[1].State != cellDone {
		t.Fatalf("status file: %+v", st)
	}
	st.State, st.Cells[1].State, st.Cells[2].State = "running", cellRunning, cellPending
	if err := writeJSONAtomic(path, st); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "status", dir)
	if code != 3 || !strings.Contains(out, "cells: 4 done, 1 running, 0 failed, 3 not started (of 8)") ||
		!strings.Contains(out, "shard 2/3     not started 0/2 done") ||
		!strings.Contains(out, "shard 1/3     running     1/3 done, 1 running, 1 pending") ||
		!strings.Contains(out, "running  run 4  network.latency.median=1s policy.self_update.interval=30m seed=") {
		t.Fatalf("status: exit %d:\n%s%s", code, out, errs)
	}
	if code, _, _ := runCLI(t, "status", t.TempDir()); code != 2 {
		t.Fatalf("status of an empty directory: exit %d, want 2", code)
	}
}

// TestStatusDuplicatedCells: shards of two shard counts in one directory
// have done some cells twice; merge refuses them, so status must not say
// all done (exit 0): it lists the duplicates and exits 1.
func TestStatusDuplicatedCells(t *testing.T) {
	dir := t.TempDir()
	for _, s := range []string{"0/2", "1/2", "0/4"} {
		if code, _, errs := runCLI(t, sweepArgs(dir, "--shard", s)...); code != 0 {
			t.Fatalf("shard %s: exit %d: %s", s, code, errs)
		}
	}
	if code, _, errs := runCLI(t, "merge", dir); code != 2 || !strings.Contains(errs, "duplicate  run 4") {
		t.Fatalf("merge: exit %d, want 2: %s", code, errs)
	}
	code, out, errs := runCLI(t, "status", dir)
	if code != 1 || !strings.Contains(out, "cells: 8 done, 0 running, 0 failed, 0 not started (of 8); 2 duplicated") ||
		!strings.Contains(out, "duplicate run 0  ") || !strings.Contains(out, "(done in shards 0/2 and 0/4)") ||
		!strings.Contains(out, "duplicate run 4  ") {
		t.Fatalf("status: exit %d, want 1:\n%s%s", code, out, errs)
	}
	os.Remove(filepath.Join(dir, "sweep-shard-0-of-4.csv"))
	os.Remove(filepath.Join(dir, "sweep-shard-0-of-4.json"))
	os.Remove(filepath.Join(dir, "sweep-shard-0-of-4.status.json"))
	if code, out, _ := runCLI(t, "status", dir); code != 0 || strings.Contains(out, "duplicate") {
		t.Fatalf("status without the abandoned shard: exit %d, want 0:\n%s", code, out)
	}
}

// TestStatusNoShardYet: a directory no shard has written to (yet) says so.
func TestStatusNoShardYet(t *testing.T) {
	for _, dir := range []string{t.TempDir(), filepath.Join(t.TempDir(), "not-created-yet")} {
		code, out, errs := runCLI(t, "status", dir)
		if code != 2 || !strings.Contains(errs, "no shard has started yet") || strings.Contains(errs, "no such file") {
			t.Fatalf("status %s: exit %d:\n%s%s", dir, code, out, errs)
		}
	}
}

// mergeMatches merges the shards in dir and requires the merged sweep.csv
// to equal the one-process sweep's in whole, byte for byte.
func mergeMatches(t *testing.T, dir, whole string) {
	t.Helper()
	if code, _, errs := runCLI(t, "merge", dir); code != 0 {
		t.Fatalf("merge %s: exit %d: %s", dir, code, errs)
	}
	a, _ := os.ReadFile(filepath.Join(whole, "sweep.csv"))
	b, _ := os.ReadFile(filepath.Join(dir, "sweep.csv"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatalf("merged sweep differs from the unsharded one (%d vs %d bytes)", len(b), len(a))
	}
}
