package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Sharding a sweep over machines (DESIGN.md, "Scaling past one machine"):
// the cluster engine (Slurm job arrays, Kubernetes Indexed Jobs) starts one
// `mlssim sweep --shard I/N` per index; `mlssim merge` combines the shards.
// Runs are dealt round-robin (run index mod N), so shards get similar mixes
// of the grid.

type shard struct{ i, n int } // n == 0: no sharding

// parseShard reads "I/N" or "env/N" (I from the array-job variables).
func parseShard(v string, getenv func(string) string) (shard, error) {
	if v == "" {
		return shard{}, nil
	}
	is, ns, ok := strings.Cut(v, "/")
	if !ok {
		return shard{}, fmt.Errorf("%q: want I/N", v)
	}
	n, err := strconv.Atoi(ns)
	if err != nil || n < 1 {
		return shard{}, fmt.Errorf("%q: N must be a positive integer", v)
	}
	if is == "env" {
		switch {
		case getenv("SLURM_ARRAY_TASK_ID") != "":
			id, err := strconv.Atoi(getenv("SLURM_ARRAY_TASK_ID"))
			if err != nil {
				return shard{}, fmt.Errorf("SLURM_ARRAY_TASK_ID=%q: %v", getenv("SLURM_ARRAY_TASK_ID"), err)
			}
			if m := getenv("SLURM_ARRAY_TASK_MIN"); m != "" {
				min, err := strconv.Atoi(m)
				if err != nil {
					return shard{}, fmt.Errorf("SLURM_ARRAY_TASK_MIN=%q: %v", m, err)
				}
				id -= min
			}
			is = strconv.Itoa(id)
		case getenv("JOB_COMPLETION_INDEX") != "":
			is = getenv("JOB_COMPLETION_INDEX")
		default:
			return shard{}, errors.New("env: neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set")
		}
	}
	i, err := strconv.Atoi(is)
	if err != nil || i < 0 || i >= n {
		return shard{}, fmt.Errorf("%q: I must be in [0, %d)", v, n)
	}
	return shard{i, n}, nil
}

func (s shard) pick(runs []sweepRun) []sweepRun {
	if s.n == 0 {
		return runs
	}
	var out []sweepRun
	for _, r := range runs {
		if r.idx%s.n == s.i {
			out = append(out, r)
		}
	}
	return out
}

func (s shard) csvName() string {
	if s.n == 0 {
		return "sweep.csv"
	}
	return fmt.Sprintf("sweep-shard-%d-of-%d.csv", s.i, s.n)
}

func init() {
	register(command{name: "merge", summary: "combine the shards of a sweep (sweep --shard I/N) into DIR/sweep.csv", run: mergeMain})
}

const mergeUsage = `usage: mlssim merge DIR

Combines DIR/sweep-shard-I-of-N.csv (written by 'mlssim sweep --shard I/N')
into DIR/sweep.csv in run order. Fails, writing nothing, when a shard is
missing, the shards disagree on N or on the header, or a run appears twice.

Example:
  mlssim sweep workloads/collisions.yaml --seeds 3 --grid network.latency.median=50ms,1s --shard 0/2 --out /tmp/s
  mlssim sweep workloads/collisions.yaml --seeds 3 --grid network.latency.median=50ms,1s --shard 1/2 --out /tmp/s
  mlssim merge /tmp/s
`

var shardFile = regexp.MustCompile(`^sweep-shard-(\d+)-of-(\d+)\.csv$`)

func mergeMain(args []string) int {
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, mergeUsage)
		return 0
	}
	if err != nil || len(pos) != 1 {
		fmt.Fprintln(stderr, "mlssim merge: want exactly one DIR (see mlssim merge --help)")
		return 2
	}
	if err := mergeShards(pos[0]); err != nil {
		fmt.Fprintf(stderr, "mlssim merge: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "merged -> %s\n", filepath.Join(pos[0], "sweep.csv"))
	return 0
}

// mergeShards reads every shard of dir and writes dir/sweep.csv.
func mergeShards(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	n := -1
	have := map[int]string{}
	for _, e := range entries {
		m := shardFile.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		i, _ := strconv.Atoi(m[1])
		k, _ := strconv.Atoi(m[2])
		if n >= 0 && k != n {
			return fmt.Errorf("%s: shards of %d and of %d in one directory", e.Name(), n, k)
		}
		n = k
		have[i] = filepath.Join(dir, e.Name())
	}
	if n < 0 {
		return fmt.Errorf("%s: no sweep-shard-I-of-N.csv files", dir)
	}
	var header string
	byRun := map[int][]string{} // run index -> its rows, in order
	for i := range n {
		path, ok := have[i]
		if !ok {
			return fmt.Errorf("shard %d of %d is missing (%s)", i, n, filepath.Join(dir, fmt.Sprintf("sweep-shard-%d-of-%d.csv", i, n)))
		}
		h, rows, err := readShard(path)
		if err != nil {
			return err
		}
		if header == "" {
			header = h
		} else if h != header {
			return fmt.Errorf("%s: header differs from the other shards", path)
		}
		seen := map[int]bool{}
		for _, row := range rows {
			fields := strings.SplitN(row, ",", 3)
			if len(fields) < 3 {
				return fmt.Errorf("%s: malformed row %q", path, row)
			}
			run, err := strconv.Atoi(fields[1])
			if err != nil || run%n != i {
				return fmt.Errorf("%s: row for run %q does not belong to shard %d of %d", path, fields[1], i, n)
			}
			if _, dup := byRun[run]; dup && !seen[run] {
				return fmt.Errorf("%s: run %d appears in two shards", path, run)
			}
			seen[run] = true
			byRun[run] = append(byRun[run], row)
		}
	}
	runs := make([]int, 0, len(byRun))
	for r := range byRun {
		runs = append(runs, r)
	}
	sort.Ints(runs)
	tmp := filepath.Join(dir, "sweep.csv.tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, header)
	for _, r := range runs {
		for _, row := range byRun[r] {
			fmt.Fprintln(w, row)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, "sweep.csv")); err != nil {
		return err
	}
	// The sweep's metadata: shard 0's, without the shard field.
	if b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("sweep-shard-0-of-%d.json", n))); err == nil {
		var meta map[string]any
		if err := json.Unmarshal(b, &meta); err != nil {
			return fmt.Errorf("shard 0 metadata: %w", err)
		}
		delete(meta, "shard")
		out, _ := json.MarshalIndent(meta, "", "  ")
		return os.WriteFile(filepath.Join(dir, "sweep.json"), append(out, '\n'), 0o644)
	}
	return nil
}

func readShard(path string) (string, []string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) == 0 || lines[0] == "" {
		return "", nil, fmt.Errorf("%s: empty", path)
	}
	return lines[0], lines[1:], nil
}
