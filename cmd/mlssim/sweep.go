package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/mlslab/mlslab/sim"
)

func init() {
	register(command{name: "sweep", summary: "run a scenario over a parameter grid and seeds into one long-format CSV", run: sweepMain})
}

const sweepUsage = `usage: mlssim sweep SCENARIO --grid key=v1,v2,... [--grid ...] [--seeds N]
                    [--out DIR] [--jobs J] [--set key=value ...] [--quiet]

Runs SCENARIO for every combination of the --grid values and N seeds (the
scenario's seed, seed+1, ...), replications in parallel across --jobs cores,
and writes DIR/sweep.csv in long format: one row per run and metric
(scenario, run, seed, one column per grid key, metric, value), in run order,
so the file is the same whatever the parallelism. Every combination is
validated before anything runs. Each run's own CSVs go to DIR/runs/NNNN/
with --keep-runs.

Across machines: --shard I/N runs only the runs with index = I mod N and
writes DIR/sweep-shard-I-of-N.csv, its metadata (.json: scenario hash, grid,
seeds, mlslab build) and its progress (.status.json); start one shard per
array task (Slurm job arrays --array=0-(N-1), Kubernetes Indexed Jobs:
--shard env/N takes I from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX).
'mlssim status DIR' shows cells done / running / failed; 'mlssim merge DIR'
checks that every cell is there exactly once and writes DIR/sweep.csv,
byte-identical to an unsharded sweep. deploy/slurm and deploy/k8s have
the cluster side.

Example:
  mlssim sweep workloads/collisions.yaml --seeds 3 \
    --grid policy.self_update.interval=10m,30m,2h \
    --grid network.latency.median=50ms,200ms,1s --out results/collisions-sweep

Flags:
`

type gridFlag struct {
	keys []string
	vals [][]string
}

func (g *gridFlag) String() string { return fmt.Sprint(g.keys) }
func (g *gridFlag) Set(v string) error {
	k, vs, ok := strings.Cut(v, "=")
	if !ok || k == "" || vs == "" {
		return fmt.Errorf("--grid %q: want key=v1,v2,...", v)
	}
	for _, x := range g.keys {
		if x == k {
			return fmt.Errorf("--grid %q: key given twice", k)
		}
	}
	g.keys = append(g.keys, k)
	g.vals = append(g.vals, strings.Split(vs, ","))
	return nil
}

type sweepRun struct {
	idx    int
	seed   uint64
	assign []string
	sc     *sim.Scenario
}

func sweepMain(args []string) int {
	fs := flag.NewFlagSet("sweep", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var grid gridFlag
	var sets stringList
	seeds := fs.Int("seeds", 1, "replications per grid point (seeds seed, seed+1, ...)")
	out := fs.String("out", "", "output directory (default results/<scenario>-sweep/)")
	jobs := fs.Int("jobs", runtime.GOMAXPROCS(0), "parallel runs")
	keep := fs.Bool("keep-runs", false, "also keep every run's CSVs under DIR/runs/")
	quiet := fs.Bool("quiet", false, "no progress lines")
	shardFlag := fs.String("shard", "", "run only shard I of N (I/N, 0-based; I = env takes it from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX); combine with mlssim merge")
	fs.Var(&grid, "grid", "a grid axis key=v1,v2,... (repeatable)")
	fs.Var(&sets, "set", "override a scenario field for every run (repeatable)")
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(os.Stdout, sweepUsage)
		fs.SetOutput(os.Stdout)
		fs.PrintDefaults()
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "mlssim sweep: %v\n", err)
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprintln(os.Stderr, "mlssim sweep: want exactly one SCENARIO file (see mlssim sweep --help)")
		return 2
	}
	if *seeds < 1 {
		fmt.Fprintf(os.Stderr, "mlssim sweep: --seeds must be at least 1, got %d\n", *seeds)
		return 2
	}
	if *jobs < 1 {
		fmt.Fprintf(os.Stderr, "mlssim sweep: --jobs must be at least 1, got %d\n", *jobs)
		return 2
	}
	sh, err := parseShard(*shardFlag, os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mlssim sweep: --shard: %v\n", err)
		return 2
	}
	file := pos[0]
	base, err := sim.LoadScenario(file, sets)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mlssim sweep: %v\n", err)
		return 2
	}
	// Expand and validate every run first.
	var runs []sweepRun
	combos := [][]string{nil}
	for i := range grid.keys {
		var next [][]string
		for _, c := range combos {
			for _, v := range grid.vals[i] {
				next = append(next, append(append([]string(nil), c...), v))
			}
		}
		combos = next
	}
	for _, c := range combos {
		for k := range *seeds {
			seed := base.Seed + uint64(k)
			s := append([]string(nil), sets...)
			for i, key := range grid.keys {
				s = append(s, key+"="+c[i])
			}
			s = append(s, "seed="+strconv.FormatUint(seed, 10))
			sc, err := sim.LoadScenario(file, s)
			if err != nil {
				fmt.Fprintf(os.Stderr, "mlssim sweep: %v\n", err)
				return 2
			}
			runs = append(runs, sweepRun{idx: len(runs), seed: seed, assign: c, sc: sc})
		}
	}
	total := len(runs)
	runs = sh.pick(runs)
	dir := *out
	if dir == "" {
		dir = filepath.Join("results", base.Name+"-sweep")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "mlssim sweep: output directory: %v\n", err)
		return 2
	}
	meta := newSweepMeta(file, base, grid, *seeds, total)
	csvPath := filepath.Join(dir, sh.csvName())
	f, err := os.Create(csvPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mlssim sweep: output directory: %v\n", err)
		return 2
	}
	defer f.Close()
	if err := writeSweepMeta(dir, sh, meta); err != nil {
		fmt.Fprintf(os.Stderr, "mlssim sweep: %v\n", err)
		return 2
	}
	status := newStatusWriter(dir, sh, meta, runs)
	failRun := failHook(sh, runs)
	header := append(append([]string{"scenario", "run", "seed"}, grid.keys...), "metric", "value")
	fmt.Fprintln(f, strings.Join(header, ","))

	// SIGTERM too: Slurm (time limit, scancel) and Kubernetes send it first.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(runs) > 0 {
		tuneGC(runs[0].sc.Fidelity, sweepLimit)
	}
	type result struct {
		pos int // position in runs
		sum *sim.Summary
		err error
	}
	work := make(chan int)
	results := make(chan result)
	var wg sync.WaitGroup
	for range min(*jobs, len(runs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				r := runs[p]
				opt := sim.Options{}
				if *keep {
					opt.OutDir = filepath.Join(dir, "runs", fmt.Sprintf("%04d", r.idx))
				}
				status.cell(r.idx, cellRunning, nil)
				var sum *sim.Summary
				var err error
				if r.idx == failRun {
					err = fmt.Errorf("%s=%d: test hook: this shard's first run fails", failShardEnv, sh.i)
				} else {
					sum, err = sim.Run(ctx, r.sc, opt)
				}
				results <- result{p, sum, err}
			}
		}()
	}
	go func() {
		defer close(work)
		for p := range runs {
			select {
			case work <- p:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	pending := map[int]result{}
	next, failed, completed := 0, 0, 0
	for res := range results {
		pending[res.pos] = res
		for {
			r, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			if r.err != nil {
				failed++
				fmt.Fprintf(os.Stderr, "mlssim sweep: run %d (%s): %v\n", runs[next].idx, meta.cellKey(runs[next].idx), r.err)
				status.cell(runs[next].idx, cellFailed, r.err)
			} else {
				if err := writeSweepRows(f, base.Name, runs[next], r.sum); err != nil {
					fmt.Fprintf(os.Stderr, "mlssim sweep: %s: %v\n", csvPath, err)
					status.cell(runs[next].idx, cellFailed, err)
					status.finish("failed")
					return 1
				}
				status.cell(runs[next].idx, cellDone, nil)
				completed++
				if !*quiet {
					fmt.Fprintf(os.Stderr, "run %d/%d done (#%d of %d, seed %d %s)\n", next+1, len(runs), runs[next].idx, total, runs[next].seed, strings.Join(runs[next].assign, " "))
				}
			}
			next++
		}
	}
	if ctx.Err() != nil {
		status.finish("interrupted")
		// Runs the interruption cut short end with an error: count only the
		// completed ones, whose rows are in the CSV.
		fmt.Fprintf(stderr, "mlssim sweep: interrupted after %d of %d runs completed; %s holds their complete rows\n", completed, len(runs), csvPath)
		return 1
	}
	if failed > 0 {
		status.finish("failed")
		return 1
	}
	status.finish("done")
	if !*quiet {
		fmt.Fprintf(os.Stderr, "%d runs -> %s\n", len(runs), csvPath)
	}
	return 0
}

// failShardEnv names the test hook: with MLSSIM_FAIL_SHARD=I, shard I of a
// sharded sweep fails its first run (without running it) and exits 1, as a
// crashed run would; its other runs complete. deploy/slurm/test.sh uses it to
// check that status and merge name the failed cell and that re-running only
// that shard completes the sweep.
const failShardEnv = "MLSSIM_FAIL_SHARD"

// failHook returns the run index the test hook fails, or -1.
func failHook(sh shard, runs []sweepRun) int {
	v := os.Getenv(failShardEnv)
	if v == "" || sh.n == 0 || len(runs) == 0 || v != strconv.Itoa(sh.i) {
		return -1
	}
	return runs[0].idx
}

func writeSweepRows(w io.Writer, name string, r sweepRun, sum *sim.Summary) error {
	b, _ := json.Marshal(sum.Metrics)
	var m map[string]float64
	json.Unmarshal(b, &m)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	prefix := append([]string{name, strconv.Itoa(r.idx), strconv.FormatUint(r.seed, 10)}, r.assign...)
	var sb strings.Builder
	for _, k := range keys {
		sb.WriteString(strings.Join(prefix, ","))
		sb.WriteString(",")
		sb.WriteString(k)
		sb.WriteString(",")
		sb.WriteString(strconv.FormatFloat(m[k], 'g', -1, 64))
		sb.WriteString("\n")
	}
	_, err := io.WriteString(w, sb.String()) // one write per run: the rows of a run land together
	return err
}

// writeSweepMeta records what sweep.csv does not: the scenario file and
// hash, fidelity, grid, seeds and the mlslab build, as DIR/sweep.json (or
// sweep-shard-I-of-N.json for a shard), for figures, provenance and merge.
func writeSweepMeta(dir string, sh shard, meta sweepMeta) error {
	if sh.n > 0 {
		meta.Shard = sh.String()
	}
	return writeJSONAtomic(filepath.Join(dir, sh.metaName()), meta)
}
