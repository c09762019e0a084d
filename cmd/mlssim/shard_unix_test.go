//go:build unix

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStatusDeadShard: a shard whose status file says running, on this
// host, with a process that no longer exists (SIGKILL, out of memory) is
// shown dead and its running cell failed, exit 1 (not 3, "not finished").
func TestStatusDeadShard(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := runCLI(t, sweepArgs(dir, "--shard", "0/2")...); code != 0 {
		t.Fatalf("shard 0/2: exit %d: %s", code, errs)
	}
	if code, _, errs := runCLI(t, sweepArgs(dir, "--shard", "1/2")...); code != 0 {
		t.Fatalf("shard 1/2: exit %d: %s", code, errs)
	}
	// A PID that existed and is gone: a child we ran and reaped.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip(err)
	}
	gone := cmd.Process.Pid
	if !pidAlive(os.Getpid()) || pidAlive(gone) {
		t.Skipf("cannot tell live from dead PIDs here (%d, %d)", os.Getpid(), gone)
	}
	path := filepath.Join(dir, "sweep-shard-1-of-2.status.json")
	st, err := readShardStatus(path)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	st.State, st.Host, st.PID = "running", host, gone
	st.Cells[1].State, st.Cells[2].State, st.Cells[3].State = cellRunning, cellPending, cellPending
	if err := writeJSONAtomic(path, st); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "status", dir)
	if code != 1 || !strings.Contains(out, "shard 1/2     dead (killed?) 1/4 done, 1 failed, 2 pending") ||
		!strings.Contains(out, "cells: 5 done, 0 running, 1 failed, 2 not started (of 8); 1 shard(s) dead") ||
		!strings.Contains(out, fmt.Sprintf("failed   run 3  %s  (shard 1/2): shard process %d on %s is gone", readMeta(t, filepath.Join(dir, "sweep-shard-1-of-2.json")).cellKey(3), gone, host)) {
		t.Fatalf("status: exit %d, want 1:\n%s%s", code, out, errs)
	}
	// The same file on another host: this machine cannot tell, running.
	st.Host = host + "-elsewhere"
	if err := writeJSONAtomic(path, st); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := runCLI(t, "status", dir); code != 3 || !strings.Contains(out, "1 running") {
		t.Fatalf("status of a shard on another host: exit %d, want 3:\n%s", code, out)
	}
	// Killed between cells (none running): still dead, exit 1.
	st.Host, st.Cells[1].State = host, cellDone
	if err := writeJSONAtomic(path, st); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := runCLI(t, "status", dir); code != 1 || !strings.Contains(out, "1 shard(s) dead") {
		t.Fatalf("status of a shard killed between cells: exit %d, want 1:\n%s", code, out)
	}
}

// TestSweepInterruptedCountsCompletedRuns: a sweep interrupted (SIGINT)
// during its only run reports 0 runs completed, not 1.
func TestSweepInterruptedCountsCompletedRuns(t *testing.T) {
	dir := t.TempDir()
	args := []string{"sweep", "../../workloads/collisions.yaml", "--quiet", "--seeds", "1",
		"--set", "fidelity=model", "--set", "duration=100000h", "--set", "output.events=false",
		"--shard", "0/1", "--out", dir}
	type res struct {
		code      int
		out, errs string
	}
	done := make(chan res, 1)
	go func() {
		var out, errb bytes.Buffer
		stdout, stderr = &out, &errb
		defer func() { stdout, stderr = os.Stdout, os.Stderr }()
		code := realMain(args)
		done <- res{code, out.String(), errb.String()}
	}()
	// Wait until the run is running (the signal handler is in place by then).
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := readShardStatus(filepath.Join(dir, "sweep-shard-0-of-1.status.json"))
		if err == nil && len(st.Cells) == 1 && st.Cells[0].State == cellRunning {
			break
		}
		select {
		case r := <-done:
			t.Fatalf("the sweep ended before it was interrupted: exit %d: %s", r.code, r.errs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the run never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Skip(err)
	}
	r := <-done
	if r.code != 1 || !strings.Contains(r.errs, "interrupted after 0 of 1 runs completed") {
		t.Fatalf("exit %d, want 1: %s", r.code, r.errs)
	}
}
