package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mlslab/mlslab/sim"
	"github.com/mlslab/mlslab/sim/report"
)

func init() {
	register(command{name: "plot", summary: "draw the figures of run, sweep and benchmark results (PNG/SVG/PDF + JSON sidecar)", run: plotMain})
}

const plotUsage = `usage: mlssim plot RESULTS... [--out DIR] [--format png,svg,pdf] [--figures auto|LIST]
                   [--label NAME ...] [--along KEY] [--stretch X] [--bench-ops LIST] [--tree T] [--dry-run]

Draws figures at single-column width (3.5 in) from results. Each RESULTS is
  - a run directory (mlssim run --out DIR: summary.json, epochs.csv, compromises.csv),
  - a sweep directory or its sweep.csv (mlssim sweep), or
  - benchmarks: a CSV from mlssim bench-import, or raw 'go test -bench' output.
Every figure is written as DIR/NAME.<format> plus DIR/NAME.json naming the
scenario, seeds, fidelity, mlslab version and the plotted numbers.

Figures (--figures auto draws every one the inputs support):
  commit-size  commit size vs group size, near-full vs degraded tree     runs
  commit-cpu   measured CPU per commit create vs group size              runs at fidelity sampled or full
  tree-health  blank-node fraction, mean copath resolution over time     runs
  healing-cdf  Kaplan–Meier PCS healing curves (censored kept), per run  runs with compromises
  frontier     bytes/member/day vs KM median time to healing commit      sweep over an update key, or >= 2 runs
  collisions   collision rate vs commit rate, one line per latency       sweep with a latency key
  cost         commit create/process and join time vs group size         benchmarks
  path-cost    UpdatePath ciphertexts vs group size, bare vs full tree   runs (only when listed; not in auto)
  concurrent-updates  steady-state UpdatePath ciphertexts vs N per P     runs with P Update proposals per commit (only when listed)
  pq-ratio     post-quantum / suite 0x0001 cost vs group size            pairs of runs differing only in the suite (only when listed)
  ops-cost     HPKE encryptions per operation vs initial size N         runs of an operations workload, one line per parent
               directory, mean ± sd over the runs (seeds) of one N (only when listed)
  cross-group  KM healing per group, client updating in all vs some    multi-group runs (groups section; only when listed)

An empty or one-row results file is an error (exit status 1), never a blank
figure. Exit status: 0 done, 1 no figure could be drawn from the data, 2 bad usage.

Examples:
  mlssim plot results/demo
  mlssim plot results/pcs-policies/self-update-6h results/pcs-policies/self-update-1d \
    --figures healing-cdf --out results/pcs-policies/figures
  mlssim plot results/collisions --format png,pdf
  mlssim plot bench/out/2026-11-25.txt --out results/bench/figures --bench-ops Commit/create,Join

Flags:
`

var allFigures = []string{"commit-size", "commit-cpu", "tree-health", "healing-cdf", "frontier", "collisions", "cost", "path-cost",
	"concurrent-updates", "pq-ratio", "ops-cost", "cross-group"}

// studyFigures are the figures of one study drawn from runs' epochs.csv,
// only when listed (issue 14: path-cost for study 1, concurrent-updates
// for study 4).
var studyFigures = []struct {
	name string
	draw func([][]report.Epoch) (*report.Figure, error)
}{
	{"path-cost", func(eps [][]report.Epoch) (*report.Figure, error) {
		d, err := report.PathCost(eps)
		if err != nil {
			return nil, err
		}
		return report.PathCostFigure(d)
	}},
	{"concurrent-updates", func(eps [][]report.Epoch) (*report.Figure, error) {
		d, err := report.ConcurrentUpdates(eps)
		if err != nil {
			return nil, err
		}
		return report.ConcurrentUpdatesFigure(d)
	}},
}

type plotInputs struct {
	runs       []*report.Run
	sweeps     []*report.Sweep
	bench      [][]report.BenchRow
	benchPaths []string
}

// classifyInputs loads every RESULTS argument.
func classifyInputs(paths, labels []string) (*plotInputs, error) {
	in := &plotInputs{}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		switch {
		case st.IsDir() && report.IsRunDir(p):
			r, err := report.LoadRun(p)
			if err != nil {
				return nil, err
			}
			in.runs = append(in.runs, r)
		case report.IsSweep(p):
			s, err := report.LoadSweep(p)
			if err != nil {
				return nil, err
			}
			in.sweeps = append(in.sweeps, s)
		case st.IsDir():
			return nil, fmt.Errorf("%s: neither a run directory (summary.json) nor a sweep directory (sweep.csv)", p)
		default:
			rows, err := report.ReadBench(p)
			if err != nil {
				return nil, err
			}
			in.bench = append(in.bench, rows)
			in.benchPaths = append(in.benchPaths, p)
		}
	}
	if len(labels) > 0 {
		if len(labels) != len(in.runs) {
			return nil, fmt.Errorf("--label given %d times for %d run directories", len(labels), len(in.runs))
		}
		for i, l := range labels {
			in.runs[i].Label = l
		}
	}
	return in, nil
}

// toolVersion is the mlslab build drawing the figures (sim.Version: the
// binary's VCS stamp, else the git checkout in the working directory,
// read once, at start-up).
func toolVersion() report.Version {
	v := report.Version{}
	v.Version, v.Commit, v.Modified = sim.Version()
	return v
}

type plotOpts struct {
	out      string
	formats  []string
	figures  []string
	auto     bool
	along    string
	stretch  float64
	benchOps []string
	tree     string
}

func plotMain(args []string) int {
	fs := flag.NewFlagSet("plot", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var labels stringList
	out := fs.String("out", "", "output directory (default DIR/figures for a single input DIR; required for several)")
	format := fs.String("format", "png,svg", "comma-separated output formats: png, svg, pdf")
	figs := fs.String("figures", "auto", "auto, or a comma-separated list of: "+strings.Join(allFigures, ", "))
	fs.Var(&labels, "label", "legend name of each run directory, in order (repeatable; default: directory names)")
	along := fs.String("along", "", "sweep grid key that varies along each line (default: the interval key for frontier, the non-latency key for collisions)")
	stretch := fs.Float64("stretch", report.DefaultFreshStretch, "commit-size: a tree is near-full when mean copath resolution <= X*log2(leaves)")
	ops := fs.String("bench-ops", strings.Join(report.DefaultCostOps, ","), "cost: benchmarks to draw, Base[/op] names")
	tree := fs.String("tree", "full", "cost: keep benchmarks with this tree= element (empty: any)")
	dry := fs.Bool("dry-run", false, "load and check the inputs, draw nothing")
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, plotUsage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "mlssim plot: %v\n", err)
		return 2
	}
	if len(pos) == 0 {
		fmt.Fprintln(stderr, "mlssim plot: want at least one RESULTS directory or file (see mlssim plot --help)")
		return 2
	}
	o := plotOpts{out: *out, along: *along, stretch: *stretch, tree: *tree}
	for _, f := range strings.Split(*format, ",") {
		f = strings.TrimSpace(strings.ToLower(f))
		if !slices.Contains(report.Formats, f) {
			fmt.Fprintf(stderr, "mlssim plot: --format %q: want png, svg or pdf\n", f)
			return 2
		}
		o.formats = append(o.formats, f)
	}
	if *figs == "auto" {
		o.auto = true
	} else {
		for _, f := range strings.Split(*figs, ",") {
			f = strings.TrimSpace(f)
			if !slices.Contains(allFigures, f) {
				fmt.Fprintf(stderr, "mlssim plot: --figures: unknown figure %q (want %s)\n", f, strings.Join(allFigures, ", "))
				return 2
			}
			o.figures = append(o.figures, f)
		}
	}
	for _, op := range strings.Split(*ops, ",") {
		if op = strings.TrimSpace(op); op != "" {
			o.benchOps = append(o.benchOps, op)
		}
	}
	if o.out == "" {
		if len(pos) > 1 {
			fmt.Fprintln(stderr, "mlssim plot: several inputs: say where the figures go with --out DIR")
			return 2
		}
		d := pos[0]
		if st, err := os.Stat(d); err == nil && !st.IsDir() {
			d = filepath.Dir(d)
		}
		o.out = filepath.Join(d, "figures")
	}
	in, err := classifyInputs(pos, labels)
	if err != nil {
		fmt.Fprintf(stderr, "mlssim plot: %v\n", err)
		return 2
	}
	if *dry {
		fmt.Fprintf(stdout, "mlssim plot: %d run(s), %d sweep(s), %d benchmark file(s) -> %s\n", len(in.runs), len(in.sweeps), len(in.bench), o.out)
		return 0
	}
	figures, notes, err := buildFigures(in, o)
	for _, n := range notes {
		fmt.Fprintf(stderr, "mlssim plot: %s\n", n)
	}
	if err != nil {
		fmt.Fprintf(stderr, "mlssim plot: %v\n", err)
		return 1
	}
	if len(figures) == 0 {
		fmt.Fprintln(stderr, "mlssim plot: the inputs support no figure (see mlssim plot --help)")
		return 1
	}
	tool := toolVersion()
	for _, f := range figures {
		files, err := f.Save(o.out, o.formats, tool)
		if err != nil {
			fmt.Fprintf(stderr, "mlssim plot: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s\n", strings.Join(files, " "))
	}
	return 0
}

func wants(o plotOpts, fig string) bool { return o.auto || slices.Contains(o.figures, fig) }

// listed is for figures auto mode does not draw (path-cost: a study-specific
// figure that would otherwise appear beside every run's commit-size figure).
func listed(o plotOpts, fig string) bool { return slices.Contains(o.figures, fig) }

// buildFigures draws every requested figure. In auto mode a figure whose
// data is missing (e.g. no compromise in any run) is skipped with a note;
// a requested figure without data, or an empty or one-row results file, is
// an error.
func buildFigures(in *plotInputs, o plotOpts) ([]*report.Figure, []string, error) {
	var figs []*report.Figure
	var notes []string
	skip := func(fig string, err error) error {
		if o.auto && (errors.Is(err, report.ErrNoData) || errors.Is(err, report.ErrTooFewRows)) {
			notes = append(notes, fmt.Sprintf("skipping %s: %v", fig, err))
			return nil
		}
		return err
	}
	var runSrc []report.Source
	for _, r := range in.runs {
		runSrc = append(runSrc, r.Source())
	}
	var names []string
	var epochs [][]report.Epoch
	if len(in.runs) > 0 && (wants(o, "commit-size") || wants(o, "commit-cpu") || wants(o, "tree-health") || listed(o, "path-cost") ||
		listed(o, "concurrent-updates")) {
		for _, r := range in.runs {
			eps, err := report.ReadEpochs(r.Dir, 2)
			if err != nil {
				return nil, notes, err
			}
			names = append(names, r.Label)
			epochs = append(epochs, eps)
		}
	}
	add := func(fig string, f *report.Figure, err error, src []report.Source) error {
		if err != nil {
			return skip(fig, err)
		}
		f.Sources = src
		for _, s := range src {
			if s.Fidelity == "model" {
				f.Notes = append(f.Notes, "fidelity model: symbolic tree with exact wire sizes (sim/size); no cryptography ran")
				break
			}
		}
		figs = append(figs, f)
		return nil
	}
	needRuns := func(fig string) error {
		if !o.auto && len(in.runs) == 0 {
			return fmt.Errorf("%s: needs run directories", fig)
		}
		return nil
	}
	if wants(o, "commit-size") {
		if err := needRuns("commit-size"); err != nil {
			return nil, notes, err
		}
		if len(in.runs) > 0 {
			d, err := report.CommitSizes(epochs, o.stretch)
			var f *report.Figure
			if err == nil {
				f, err = report.CommitSizeFigure(d)
			}
			if err := add("commit-size", f, err, runSrc); err != nil {
				return nil, notes, err
			}
		}
	}
	if wants(o, "commit-cpu") {
		if err := needRuns("commit-cpu"); err != nil {
			return nil, notes, err
		}
		if len(in.runs) > 0 {
			d, err := report.CommitCPU(epochs)
			var f *report.Figure
			if err == nil {
				f, err = report.CommitCPUFigure(d)
			}
			if err := add("commit-cpu", f, err, runSrc); err != nil {
				return nil, notes, err
			}
		}
	}
	for _, sf := range studyFigures {
		if !listed(o, sf.name) {
			continue
		}
		if err := needRuns(sf.name); err != nil {
			return nil, notes, err
		}
		f, err := sf.draw(epochs)
		if err := add(sf.name, f, err, runSrc); err != nil {
			return nil, notes, err
		}
	}
	if listed(o, "ops-cost") {
		if err := needRuns("ops-cost"); err != nil {
			return nil, notes, err
		}
		f, err := opsCostFigure(in.runs)
		if err := add("ops-cost", f, err, runSrc); err != nil {
			return nil, notes, err
		}
	}
	if listed(o, "cross-group") {
		// Issue 14 study 6: multi-group runs' compromises.csv.
		if err := needRuns("cross-group"); err != nil {
			return nil, notes, err
		}
		d, err := report.CrossGroup(in.runs, report.CrossGroupTau)
		var f *report.Figure
		if err == nil {
			f, err = report.CrossGroupFigure(d)
		}
		if err := add("cross-group", f, err, runSrc); err != nil {
			return nil, notes, err
		}
	}
	if wants(o, "tree-health") {
		if err := needRuns("tree-health"); err != nil {
			return nil, notes, err
		}
		if len(in.runs) > 0 {
			d, err := report.TreeHealth(names, epochs, 300)
			var f *report.Figure
			if err == nil {
				f, err = report.TreeHealthFigure(d)
			}
			if err := add("tree-health", f, err, runSrc); err != nil {
				return nil, notes, err
			}
		}
	}
	if listed(o, "pq-ratio") { // issue 16, notebooks/pq-cost.md
		if err := needRuns("pq-ratio"); err != nil {
			return nil, notes, err
		}
		d, err := report.PQRatio(in.runs)
		var f *report.Figure
		if err == nil {
			f, err = report.PQRatioFigure(d)
		}
		if err := add("pq-ratio", f, err, runSrc); err != nil {
			return nil, notes, err
		}
	}
	if wants(o, "healing-cdf") {
		if err := needRuns("healing-cdf"); err != nil {
			return nil, notes, err
		}
		var hn []string
		var hc [][]report.Compromise
		var src []report.Source
		for _, r := range in.runs {
			cs, err := report.ReadCompromises(r.Dir)
			if err != nil {
				if err := skip("healing-cdf for "+r.Dir, err); err != nil {
					return nil, notes, err
				}
				continue
			}
			hn, hc, src = append(hn, r.Label), append(hc, cs), append(src, r.Source())
		}
		if len(hc) > 0 {
			d, err := report.HealingCDF(hn, hc)
			var f *report.Figure
			if err == nil {
				f, err = report.HealingCDFFigure(d)
			}
			if err := add("healing-cdf", f, err, src); err != nil {
				return nil, notes, err
			}
		}
	}
	suffix := func(fig string, i, n int, s *report.Sweep) string {
		if n > 1 {
			return fig + "-" + s.Scenario + fmt.Sprint(i)
		}
		return fig
	}
	alongIdx := func(s *report.Sweep, def func() int) (int, error) {
		if o.along == "" {
			return def(), nil
		}
		for i, k := range s.Keys {
			if k == o.along {
				return i, nil
			}
		}
		return -1, fmt.Errorf("--along %s: %s has grid keys %s", o.along, s.Path, strings.Join(s.Keys, ", "))
	}
	if wants(o, "frontier") {
		made := 0
		for i, s := range in.sweeps {
			if o.auto && (s.KeyIndex("update") < 0 || s.KeyIndex("latency") >= 0) {
				continue
			}
			along, err := alongIdx(s, func() int { return max(s.KeyIndex("interval"), 0) })
			if err != nil {
				return nil, notes, err
			}
			d, err := report.FrontierFromSweep(s, along)
			var f *report.Figure
			if err == nil {
				f, err = report.FrontierFigure(d)
				if f != nil {
					f.Name = suffix("frontier", i, len(in.sweeps), s)
				}
			}
			if err := add("frontier", f, err, []report.Source{s.Source()}); err != nil {
				return nil, notes, err
			}
			made++
		}
		if made == 0 && !o.auto && len(in.runs) > 0 {
			d, err := report.FrontierFromRuns(in.runs)
			var f *report.Figure
			if err == nil {
				f, err = report.FrontierFigure(d)
			}
			if err := add("frontier", f, err, runSrc); err != nil {
				return nil, notes, err
			}
			made++
		}
		if made == 0 && !o.auto {
			return nil, notes, errors.New("frontier: needs a sweep over an update setting or at least two run directories")
		}
	}
	if wants(o, "collisions") {
		made := 0
		for i, s := range in.sweeps {
			lat := s.KeyIndex("latency")
			if o.auto && lat < 0 {
				continue
			}
			along, err := alongIdx(s, func() int {
				for j := range s.Keys {
					if j != lat {
						return j
					}
				}
				return 0
			})
			if err != nil {
				return nil, notes, err
			}
			d, err := report.Collisions(s, along)
			var f *report.Figure
			if err == nil {
				f, err = report.CollisionsFigure(d)
				if f != nil {
					f.Name = suffix("collisions", i, len(in.sweeps), s)
				}
			}
			if err := add("collisions", f, err, []report.Source{s.Source()}); err != nil {
				return nil, notes, err
			}
			made++
		}
		if made == 0 && !o.auto {
			return nil, notes, errors.New("collisions: needs a sweep (mlssim sweep workloads/collisions.yaml ...)")
		}
	}
	if wants(o, "cost") {
		if !o.auto && len(in.bench) == 0 {
			return nil, notes, errors.New("cost: needs benchmark results (mlssim bench-import output or go test -bench output)")
		}
		for i, rows := range in.bench {
			d, err := report.Cost(rows, report.CostSelect{Ops: o.benchOps, Tree: o.tree})
			var f *report.Figure
			if err == nil {
				f, err = report.CostFigure(d)
				if f != nil && len(in.bench) > 1 {
					f.Name = fmt.Sprintf("cost-%d", i)
				}
			}
			// Benchmarks are measured, not simulated: no scenario or fidelity.
			if err := add("cost", f, err, []report.Source{{Path: in.benchPaths[i], Fidelity: "benchmark (real cryptography)"}}); err != nil {
				return nil, notes, err
			}
		}
	}
	return figs, notes, nil
}

// opsCostFigure draws the ops-cost figure (issue 14 study 3) from the
// runs' summary.json: each run's series is the name of its parent
// directory (runs/<variant>/<run>).
func opsCostFigure(runs []*report.Run) (*report.Figure, error) {
	var ops []report.OpsRun
	for _, r := range runs {
		o, ok := report.OpsRunFrom(filepath.Base(filepath.Dir(filepath.Clean(r.Dir))), r)
		if !ok {
			return nil, fmt.Errorf("ops-cost: %s: %w: no operations workload (summary.json operations_*)", r.Dir, report.ErrNoData)
		}
		ops = append(ops, o)
	}
	d, err := report.OpsCost(ops)
	if err != nil {
		return nil, err
	}
	return report.OpsCostFigure(d)
}
