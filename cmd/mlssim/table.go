package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/mlslab/mlslab/sim"

	"github.com/mlslab/mlslab/sim/report"
)

func init() {
	register(command{name: "table", summary: "print results as a table: terminal, Markdown or LaTeX (booktabs)", run: tableMain})
}

const tableUsage = `usage: mlssim table RESULTS... [--kind auto|summary|healing|sweep|paired|bench] [--format text|markdown|latex]
                    [--metrics m1,m2,...] [--label NAME ...] [--baseline KEY=VALUE] [--tau DURATION] [--out FILE]

Prints results as a table. RESULTS are the inputs of mlssim plot: run
directories, a sweep directory or sweep.csv, or benchmarks (bench-import CSV
or go test -bench output). Kinds:
  summary  one column per run directory, one row per headline metric (default for runs)
  healing  one row per run directory: compromises, healed, Kaplan–Meier medians [95% CI] of each healing metric, exposure
  sweep    one row per grid point, mean ± sd over seeds (default for a sweep; --metrics)
  paired   one row per grid point against --baseline KEY=VALUE (the grid point with the same other values):
           mean per-seed paired difference [95% Student t CI over seeds] of the restricted mean time to the
           healing commit and to all-processed up to --tau (Kaplan–Meier, censored compromises kept),
           exposed application messages and handshake bytes per member-day (docs/pcs.md, section 6.3);
           needs the sweep's runs/*/compromises.csv (mlssim sweep --keep-runs)
  bench    one row per benchmark: median time/op, B/op, allocs/op (default for benchmarks)
--format latex writes a booktabs table (\usepackage{booktabs}).

Examples:
  mlssim table results/demo results/grow-50k
  mlssim table results/pcs-policies/self-update-* --kind healing --format markdown
  mlssim table results/collisions --metrics commits,collision_rate --format latex --out paper/collisions.tex
  mlssim table results/pcs-policies/paired --kind paired --baseline policy.self_update.interval=1d --tau 3d

Flags:
`

func tableMain(args []string) int {
	fs := flag.NewFlagSet("table", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var labels stringList
	kind := fs.String("kind", "auto", "auto, summary, healing, sweep or bench")
	format := fs.String("format", "text", "text, markdown or latex")
	metrics := fs.String("metrics", "", "sweep: comma-separated summary.json metric names (default "+strings.Join(report.SweepMetrics, ",")+")")
	out := fs.String("out", "", "write to FILE instead of standard output")
	dry := fs.Bool("dry-run", false, "load and check the inputs, print nothing")
	baseline := fs.String("baseline", "", "paired: the baseline grid point, KEY=VALUE")
	tauFlag := fs.String("tau", "", "paired: horizon of the restricted mean healing times, e.g. 3d (default: a quarter of the run)")
	fs.Var(&labels, "label", "column/row name of each run directory, in order (repeatable)")
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, tableUsage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "mlssim table: %v\n", err)
		return 2
	}
	if len(pos) == 0 {
		fmt.Fprintln(stderr, "mlssim table: want at least one RESULTS directory or file (see mlssim table --help)")
		return 2
	}
	if !slices.Contains(report.TableFormats, *format) {
		fmt.Fprintf(stderr, "mlssim table: --format %q: want text, markdown or latex\n", *format)
		return 2
	}
	if !slices.Contains([]string{"auto", "summary", "healing", "sweep", "paired", "bench"}, *kind) {
		fmt.Fprintf(stderr, "mlssim table: --kind %q: want auto, summary, healing, sweep, paired or bench\n", *kind)
		return 2
	}
	if (*kind == "paired") != (*baseline != "") {
		fmt.Fprintln(stderr, "mlssim table: --kind paired and --baseline KEY=VALUE go together")
		return 2
	}
	var tau time.Duration
	if *tauFlag != "" {
		if *kind != "paired" {
			fmt.Fprintln(stderr, "mlssim table: --tau is for --kind paired")
			return 2
		}
		if tau, err = sim.ParseDuration(*tauFlag); err != nil || tau <= 0 {
			fmt.Fprintf(stderr, "mlssim table: --tau %q: want a positive duration such as 3d or 36h\n", *tauFlag)
			return 2
		}
	}
	in, err := classifyInputs(pos, labels)
	if err != nil {
		fmt.Fprintf(stderr, "mlssim table: %v\n", err)
		return 2
	}
	if *dry {
		return 0
	}
	var ms []string
	if *metrics != "" {
		ms = strings.Split(*metrics, ",")
	}
	var tables []*report.Table
	k := *kind
	if (k == "auto" || k == "summary") && len(in.runs) > 0 {
		t, err := report.SummaryTable(in.runs)
		if err != nil {
			fmt.Fprintf(stderr, "mlssim table: %v\n", err)
			return 1
		}
		tables = append(tables, t)
	}
	if k == "healing" {
		var names []string
		var cs [][]report.Compromise
		for _, r := range in.runs {
			c, err := report.ReadCompromises(r.Dir)
			if err != nil {
				fmt.Fprintf(stderr, "mlssim table: %v\n", err)
				return 1
			}
			names, cs = append(names, r.Label), append(cs, c)
		}
		t, err := report.HealingTable(names, cs)
		if err != nil {
			fmt.Fprintf(stderr, "mlssim table: %v\n", err)
			return 1
		}
		tables = append(tables, t)
	}
	if k == "auto" || k == "sweep" {
		for _, s := range in.sweeps {
			t, err := report.SweepTable(s, ms)
			if err != nil {
				fmt.Fprintf(stderr, "mlssim table: %v\n", err)
				return 1
			}
			tables = append(tables, t)
		}
	}
	if k == "paired" {
		if len(in.sweeps) == 0 {
			fmt.Fprintln(stderr, "mlssim table: --kind paired needs a sweep directory")
			return 2
		}
		for _, sw := range in.sweeps {
			t, err := report.PairedTable(sw, *baseline, tau.Seconds())
			if err != nil {
				fmt.Fprintf(stderr, "mlssim table: %v\n", err)
				return 1
			}
			tables = append(tables, t)
		}
	}
	if k == "auto" || k == "bench" {
		for _, rows := range in.bench {
			t, err := report.BenchTable(rows)
			if err != nil {
				fmt.Fprintf(stderr, "mlssim table: %v\n", err)
				return 1
			}
			tables = append(tables, t)
		}
	}
	if len(tables) == 0 {
		fmt.Fprintf(stderr, "mlssim table: no %s table can be made from these inputs\n", k)
		return 1
	}
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintf(stderr, "mlssim table: %v\n", err)
			return 2
		}
		defer f.Close()
		w = f
	}
	for i, t := range tables {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if err := t.Render(w, *format); err != nil {
			fmt.Fprintf(stderr, "mlssim table: %v\n", err)
			return 1
		}
	}
	return 0
}
