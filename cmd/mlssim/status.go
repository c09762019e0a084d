package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Cell states in a shard's status file.
const (
	cellPending = "pending" // not started yet
	cellRunning = "running"
	cellDone    = "done" // its rows are in the shard's CSV
	cellFailed  = "failed"

	// shardDead is how status shows a shard whose file still says running
	// but whose process, on this host, no longer exists.
	shardDead = "dead (killed?)"
)

// shardStatus is DIR/sweep-shard-I-of-N.status.json: one shard's progress,
// rewritten atomically (temporary file + rename) whenever a cell starts or
// finishes, so a reader never sees a torn file.
type shardStatus struct {
	Shard string `json:"shard"`
	// State is running while the shard works, then done (every cell done),
	// failed (a cell failed) or interrupted (SIGINT/SIGTERM, e.g. a Slurm
	// time limit or scancel).
	State   string       `json:"state"`
	Host    string       `json:"host"`
	PID     int          `json:"pid"`
	Job     string       `json:"job,omitempty"` // Slurm job or Kubernetes pod, when known
	Started time.Time    `json:"started"`
	Updated time.Time    `json:"updated"`
	Cells   []cellStatus `json:"cells"`
}

type cellStatus struct {
	Run   int    `json:"run"`
	Key   string `json:"key"`
	State string `json:"state"`
	Error string `json:"error,omitempty"`
}

func readShardStatus(path string) (*shardStatus, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var st shardStatus
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return &st, nil
}

// statusWriter keeps a shard's status file current. A nil *statusWriter
// (an unsharded sweep) does nothing.
type statusWriter struct {
	mu     sync.Mutex
	path   string
	st     shardStatus
	index  map[int]int // run -> position in st.Cells
	warned bool
}

func newStatusWriter(dir string, sh shard, meta sweepMeta, runs []sweepRun) *statusWriter {
	if sh.n == 0 {
		return nil
	}
	host, _ := os.Hostname()
	job := os.Getenv("SLURM_ARRAY_JOB_ID")
	if job != "" {
		job += "_" + os.Getenv("SLURM_ARRAY_TASK_ID")
	} else if job = os.Getenv("SLURM_JOB_ID"); job == "" && os.Getenv("JOB_COMPLETION_INDEX") != "" {
		job = host // a Kubernetes pod's hostname is its name
	}
	now := time.Now().UTC()
	w := &statusWriter{path: filepath.Join(dir, sh.statusName()), index: map[int]int{}, st: shardStatus{
		Shard: sh.String(), State: "running", Host: host, PID: os.Getpid(), Job: job, Started: now, Updated: now,
	}}
	for p, r := range runs {
		w.st.Cells = append(w.st.Cells, cellStatus{Run: r.idx, Key: meta.cellKey(r.idx), State: cellPending})
		w.index[r.idx] = p
	}
	w.flush()
	return w
}

// cell sets run's state (and error, for a failed cell) and rewrites the file.
func (w *statusWriter) cell(run int, state string, err error) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	c := &w.st.Cells[w.index[run]]
	c.State = state
	if err != nil {
		c.Error = err.Error()
	}
	w.flush()
}

// finish records the shard's final state.
func (w *statusWriter) finish(state string) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.st.State = state
	w.flush()
}

func (w *statusWriter) flush() {
	w.st.Updated = time.Now().UTC()
	if err := writeJSONAtomic(w.path, &w.st); err != nil && !w.warned {
		w.warned = true
		fmt.Fprintf(os.Stderr, "mlssim sweep: status file (progress only; the sweep goes on): %v\n", err)
	}
}

func init() {
	register(command{name: "status", summary: "progress of a sharded sweep: cells done / running / failed across shards", run: statusMain})
}

const statusUsage = `usage: mlssim status DIR

Prints the progress of a sharded sweep (mlssim sweep --shard I/N --out DIR)
from the shards' status files (DIR/sweep-shard-I-of-N.status.json, rewritten
atomically as each cell starts and finishes): one line per shard, the total
of cells done / running / failed / not started, and every failed and running
cell by run number and grid key (key=value ... seed=S).

A shard killed without warning (SIGKILL, out of memory) cannot update its
file. When its file says running, names this machine as its host and its
process no longer exists, status shows the shard as "dead (killed?)" and
its running cells as failed. A shard on another host (another node, another
pod) that was killed stays "running" here; the scheduler's view (sacct,
kubectl) is authoritative for those.

A cell done in more than one shard file (e.g. shards of two shard counts in
one DIR) is listed as duplicated: 'mlssim merge DIR' refuses duplicates.

Exit status: 0 every cell done exactly once; 1 some cell failed, a shard
died or a cell is duplicated; 3 not finished (running or not started);
2 bad usage, or no shard has started yet in DIR (no shard metadata).

Example:
  mlssim status results/collisions-sweep
`

func statusMain(args []string) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, statusUsage)
		return 0
	}
	if err != nil || len(pos) != 1 {
		fmt.Fprintln(stderr, "mlssim status: want exactly one DIR (see mlssim status --help)")
		return 2
	}
	code, err := sweepStatus(stdout, pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "mlssim status: %v\n", err)
		return 2
	}
	return code
}

// sweepStatus writes dir's progress to w and returns the exit status.
func sweepStatus(w io.Writer, dir string) (int, error) {
	set, err := loadShardSet(dir)
	if errors.Is(err, errNoShards) || errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("%s: no shard has started yet (mlssim sweep --shard I/N --out %s writes sweep-shard-I-of-N.json when it starts)", dir, dir)
	}
	if err != nil {
		return 0, err
	}
	host, _ := os.Hostname()
	m := set.meta
	// Every shard count present (normally one), and each run's best state
	// across the shard files that own it.
	var ns []int
	for _, sh := range set.shards {
		if len(ns) == 0 || ns[len(ns)-1] != sh.n {
			ns = append(ns, sh.n)
		}
	}
	rank := map[string]int{"": 0, cellPending: 1, cellFailed: 2, cellRunning: 3, cellDone: 4}
	best := make([]cellStatus, m.Runs)
	for r := range best {
		best[r] = cellStatus{Run: r, Key: m.cellKey(r)}
	}
	doneIn := make([][]string, m.Runs) // run -> the shards whose status file records it done
	dead := 0                          // shards whose process is gone without a final state
	var grid []string
	for _, k := range m.GridKeys {
		grid = append(grid, k+"="+strings.Join(m.Grid[k], ","))
	}
	fmt.Fprintf(w, "sweep %s (%s, fidelity %s): %d cells = grid [%s] x %d seeds; build %s\n",
		m.Scenario, m.File, m.Fidelity, m.Runs, strings.Join(grid, " "), m.Seeds, m.buildString(true))
	for _, n := range ns {
		for i := range n {
			sh := shard{i, n}
			owned := 0
			for r := i; r < m.Runs; r += n {
				owned++
			}
			if _, ok := set.metas[sh]; !ok {
				fmt.Fprintf(w, "  shard %-7s %-11s 0/%d done\n", sh, "not started", owned)
				continue
			}
			st, err := readShardStatus(filepath.Join(dir, sh.statusName()))
			if err != nil {
				fmt.Fprintf(w, "  shard %-7s %-11s (no status file: %v)\n", sh, "unknown", err)
				continue
			}
			if st.State == "running" && host != "" && st.Host == host && st.PID > 0 && !pidAlive(st.PID) {
				// Killed without a chance to record it (SIGKILL, out of
				// memory): its running cells will never finish.
				dead++
				st.State = shardDead
				for k := range st.Cells {
					if st.Cells[k].State == cellRunning {
						st.Cells[k].State = cellFailed
						st.Cells[k].Error = fmt.Sprintf("shard process %d on %s is gone (killed? out of memory?)", st.PID, st.Host)
					}
				}
			}
			count := map[string]int{}
			for _, c := range st.Cells {
				count[c.State]++
				if c.State == cellDone && c.Run >= 0 && c.Run < m.Runs {
					doneIn[c.Run] = append(doneIn[c.Run], sh.String())
				}
				if c.Run >= 0 && c.Run < m.Runs && rank[c.State] > rank[best[c.Run].State] {
					best[c.Run] = c
				}
			}
			line := fmt.Sprintf("  shard %-7s %-11s %d/%d done", sh, st.State, count[cellDone], len(st.Cells))
			for _, s := range []string{cellRunning, cellFailed, cellPending} {
				if count[s] > 0 {
					line += fmt.Sprintf(", %d %s", count[s], s)
				}
			}
			where := st.Host
			if st.Job != "" && st.Job != st.Host {
				where = "job " + st.Job + " on " + st.Host
			}
			fmt.Fprintf(w, "%s  (%s, updated %s)\n", line, where, st.Updated.Format(time.RFC3339))
		}
	}
	count := map[string]int{}
	for _, c := range best {
		count[c.State]++
	}
	notStarted := count[""] + count[cellPending]
	var dups []int
	for r, in := range doneIn {
		if len(in) > 1 {
			dups = append(dups, r)
		}
	}
	fmt.Fprintf(w, "cells: %d done, %d running, %d failed, %d not started (of %d)",
		count[cellDone], count[cellRunning], count[cellFailed], notStarted, m.Runs)
	if len(dups) > 0 {
		fmt.Fprintf(w, "; %d duplicated", len(dups))
	}
	if dead > 0 {
		fmt.Fprintf(w, "; %d shard(s) dead", dead)
	}
	fmt.Fprintln(w)
	list := func(state, label string) {
		var rs []int
		for r, c := range best {
			if c.State == state {
				rs = append(rs, r)
			}
		}
		sort.Ints(rs)
		for _, r := range rs {
			line := fmt.Sprintf("  %-8s run %d  %s  (shard %s)", label, r, best[r].Key, set.owners(r))
			if best[r].Error != "" {
				line += ": " + best[r].Error
			}
			fmt.Fprintln(w, line)
		}
	}
	list(cellFailed, "failed")
	list(cellRunning, "running")
	for _, r := range dups {
		fmt.Fprintf(w, "  %-8s run %d  %s  (done in shards %s)\n", "duplicate", r, m.cellKey(r), strings.Join(doneIn[r], " and "))
	}
	if len(dups) > 0 {
		fmt.Fprintln(w, "merge refuses duplicated cells: remove the shard files of the sharding you abandoned")
	}
	switch {
	case count[cellFailed] > 0 || dead > 0 || len(dups) > 0:
		return 1, nil
	case count[cellDone] < m.Runs:
		return 3, nil
	}
	return 0, nil
}
