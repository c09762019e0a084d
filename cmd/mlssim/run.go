package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/mlslab/mlslab/sim"
)

func init() {
	register(command{name: "run", summary: "simulate a scenario file into CSVs and summary.json", run: runMain})
}

const runUsage = `usage: mlssim run SCENARIO [--seed N] [--fidelity full|sampled|model] [--out DIR]
                  [--set key=value ...] [--quiet]

Simulates SCENARIO (a workloads/*.yaml file, format in workloads/README.md) and
writes events.csv, epochs.csv, compromises.csv and summary.json into --out
(default results/<scenario>/). Exit status: 0 done, 1 the run failed or was
interrupted, 2 bad usage or bad input.

Example:
  mlssim run workloads/demo.yaml --seed 7 --set policy.path=always --out /tmp/demo

Flags:
`

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, " ") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// parseInterspersed parses flags that may come before or after the
// positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

type runFlags struct {
	seed     string
	fidelity string
	out      string
	sets     stringList
	quiet    bool
	workers  int
}

func (f *runFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.seed, "seed", "", "override the scenario's seed")
	fs.StringVar(&f.fidelity, "fidelity", "", "model, sampled or full (default: the scenario's)")
	fs.StringVar(&f.out, "out", "", "output directory (default results/<scenario>/)")
	fs.Var(&f.sets, "set", "override a scenario field, key=value with a dotted key (repeatable)")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress bar or table")
	fs.IntVar(&f.workers, "workers", 0, "real receivers processing at once at full/sampled (0 = all cores; 1 = uncontended per-call CPU times)")
}

// loadForRun loads the scenario with the command line overrides.
func (f *runFlags) load(file string) (*sim.Scenario, error) {
	sets := append([]string(nil), f.sets...)
	if f.seed != "" {
		if _, err := strconv.ParseUint(f.seed, 10, 64); err != nil {
			return nil, fmt.Errorf("--seed: %q is not a non-negative integer", f.seed)
		}
		sets = append(sets, "seed="+f.seed)
	}
	if f.fidelity != "" {
		sets = append(sets, "fidelity="+f.fidelity)
	}
	return sim.LoadScenario(file, sets)
}

func runMain(args []string) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var f runFlags
	f.register(fs)
	// Hidden profiling flags (not in --help): for performance work on the
	// simulator itself.
	cpuProfile := fs.String("cpuprofile", "", "")
	memProfile := fs.String("memprofile", "", "")
	fs.Usage = func() {} // --help is answered below, on stdout
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(os.Stdout, runUsage)
		printVisibleFlags(fs, os.Stdout)
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "mlssim run: %v\n", err)
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprintln(os.Stderr, "mlssim run: want exactly one SCENARIO file (see mlssim run --help)")
		return 2
	}
	sc, err := f.load(pos[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "mlssim run: %v\n", err)
		return 2
	}
	out := f.out
	if out == "" {
		out = filepath.Join("results", sc.Name)
	}
	interactive := !f.quiet && term.IsTerminal(int(os.Stderr.Fd()))
	var bar *progressbar.ProgressBar
	if f.workers < 0 {
		fmt.Fprintln(os.Stderr, "mlssim run: --workers must not be negative")
		return 2
	}
	opt := sim.Options{OutDir: out, Workers: f.workers}
	if interactive {
		bar = newBar(sc.Duration.D())
		opt.Progress = barUpdater(bar)
	}
	// A multi-group scenario (groups.count) is one run per group, each
	// made by sim.Run; a single group is prepared here. Either way an
	// output directory that cannot be created is a usage error before
	// anything runs.
	var s *sim.Sim
	if !sc.Groups.On() {
		if s, err = sim.New(sc, opt); err != nil {
			fmt.Fprintf(os.Stderr, "mlssim run: %s: %v\n", out, err)
			return 2
		}
	} else if err := os.MkdirAll(out, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "mlssim run: %s: output directory: %v\n", out, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	tuneGC(sc.Fidelity, runLimit)
	if *cpuProfile != "" {
		pf, perr := os.Create(*cpuProfile)
		if perr == nil {
			perr = pprof.StartCPUProfile(pf)
		}
		if perr != nil {
			fmt.Fprintf(os.Stderr, "mlssim run: --cpuprofile: %v\n", perr)
			return 2
		}
		defer func() { pprof.StopCPUProfile(); pf.Close() }()
	}
	var sum *sim.Summary
	if s != nil {
		sum, err = s.Run(ctx)
	} else {
		sum, err = sim.Run(ctx, sc, opt)
	}
	if *memProfile != "" {
		if pf, perr := os.Create(*memProfile); perr == nil {
			runtime.GC()
			_ = pprof.Lookup("heap").WriteTo(pf, 0)
			pf.Close()
		}
		runtime.KeepAlive(s) // profile the run's live state
	}
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(os.Stderr)
	}
	if errors.Is(err, sim.ErrInterrupted) {
		fmt.Fprintf(os.Stderr, "mlssim run: interrupted at simulated %s; %s holds complete rows up to there and a summary.json marked interrupted\n",
			sim.FormatDuration(time.Duration(sum.Metrics.SimulatedSeconds*float64(time.Second))), out)
		return 1
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "mlssim run: %v\n", err)
		return 1
	}
	if !f.quiet {
		printSummary(os.Stdout, sum, out)
	}
	return 0
}

// tuneGC trades memory for collector time in real-cryptography runs, whose
// live heap is small (real members share the epoch templates' public
// state) but which allocate heavily (every encoded ratchet tree and
// Welcome): with the default GOGC the collector took about 30% of a
// grow-50k sampled run. A soft memory limit keeps the heap bounded: one
// run gets runLimit, under which grow-50k peaks at 1.76 GiB RSS (2.07-2.36 GiB
// at 3 GiB, with heap goals of 9x the live heap) for about 4-5% more CPU
// (one same-hour A/B: bench/README, "Simulator runs"); a
// sweep, whose runs share one heap, gets sweepLimit. GOGC/GOMEMLIMIT in the
// environment take precedence.
func tuneGC(fidelity string, limit int64) {
	if fidelity == "model" {
		return
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(800)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(limit)
	}
}

// Soft memory limits of tuneGC.
const (
	runLimit   = 7 << 28 // 1.75 GiB
	sweepLimit = 3 << 30 // 3 GiB
)

// printVisibleFlags prints the flag defaults except the hidden profiling
// flags (those with an empty usage string).
func printVisibleFlags(fs *flag.FlagSet, w io.Writer) {
	var vis flag.FlagSet
	vis.SetOutput(w)
	fs.VisitAll(func(fl *flag.Flag) {
		if fl.Usage != "" {
			vis.Var(fl.Value, fl.Name, fl.Usage)
		}
	})
	vis.PrintDefaults()
}

func newBar(horizon time.Duration) *progressbar.ProgressBar {
	return progressbar.NewOptions64(int64(horizon/time.Second),
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetDescription("simulating"),
	)
}

func barUpdater(bar *progressbar.ProgressBar) func(sim.Progress) {
	start := time.Now()
	return func(p sim.Progress) {
		el := time.Since(start).Seconds()
		rate := 0.0
		if el > 0 {
			rate = float64(p.Events) / el
		}
		bar.Describe(fmt.Sprintf("sim %s/%s  epoch %d  %d members  %.0f ev/s",
			sim.FormatDuration(p.Now.Truncate(time.Second)), sim.FormatDuration(p.Horizon), p.Epoch, p.Members, rate))
		bar.Set64(int64(p.Now / time.Second))
	}
}

func printSummary(w io.Writer, s *sim.Summary, out string) {
	m := s.Metrics
	t := tablewriter.NewWriter(w)
	t.Header("metric", "value")
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	g := func(v float64, prec int) string {
		if v < 0 {
			return "n/a"
		}
		return strconv.FormatFloat(v, 'f', prec, 64)
	}
	rows := [][]string{
		{"scenario / seed / fidelity", fmt.Sprintf("%s / %d / %s", s.Scenario, s.Seed, s.Fidelity)},
		{"simulated", s.Horizon},
		{"epochs / commits", fmt.Sprintf("%d / %d", m.Epochs, m.Commits)},
		{"final members (leaves)", fmt.Sprintf("%d (%d)", m.FinalMembers, m.PeakLeaves)},
		{"user joins / leaves / inactive removals", fmt.Sprintf("%d / %d / %d", m.Joins, m.Leaves, m.InactiveRemovals)},
		{"collisions / retries (rate)", fmt.Sprintf("%d / %d (%.4f)", m.Collisions, m.Retries, m.CollisionRate)},
		{"commit bytes mean / p50 / p95 / max", fmt.Sprintf("%.0f / %s / %s / %s", m.CommitBytesMean, f(m.CommitBytesP50), f(m.CommitBytesP95), f(m.CommitBytesMax))},
		{"UpdatePath ciphertexts per commit", g(m.PathCiphertextsMean, 2)},
		{"welcome bytes total", strconv.FormatInt(m.WelcomeBytesTotal, 10)},
		{"app messages (mean epoch lag)", fmt.Sprintf("%d (%.3f)", m.AppMessages, m.MeanEpochLagAtSend)},
		{"received per member per day: handshake + app = total", fmt.Sprintf("%.0f + %.0f = %.0f B", m.HandshakeBytesPerMemberDay, m.AppBytesPerMemberDay, m.BandwidthPerMemberDay)},
		{"tree: blank nodes / unmerged leaves / mean copath res", fmt.Sprintf("%d / %d / %.2f", m.FinalBlankNodes, m.FinalUnmergedLeaves, m.FinalMeanCopathRes)},
		{"compromises healed / unhealed", fmt.Sprintf("%d / %d", m.Healed, m.Unhealed)},
		{"KM median (s): heal commit / online / all processed", fmt.Sprintf("%s / %s / %s (-1: not reached)", g(m.HealCommitSecondsMedian, 1), g(m.OnlineProcessedSecondsMedian, 1), g(m.AllProcessedSecondsMedian, 1))},
		{"KM median heal commit epochs (from the DS epoch)", g(m.HealCommitEpochsMedian, 0)},
		{"exposed app messages", strconv.FormatInt(m.ExposedAppMessages, 10)},
		{"wall time / events/s", fmt.Sprintf("%.2fs / %.0f", s.Run.WallSeconds, s.Run.EventsPerS)},
		{"output", out},
	}
	for _, r := range rows {
		t.Append(r)
	}
	t.Render()
}
