package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/mlslab/mlslab/sim/report"
)

func init() {
	register(command{name: "bench-import", summary: "convert go test -bench output into the benchmark CSV the cost figure reads", run: benchImportMain})
	register(command{name: "bench-check", summary: "fail when benchstat's comparison shows a significant slowdown", run: benchCheckMain})
}

const benchImportUsage = `usage: mlssim bench-import [FILE... | latest] [--out FILE]

Reads 'go test -bench' output (FILE, several FILEs, "latest" = the newest
bench/out/*.txt, or standard input) and writes long-format CSV: one row per
benchmark run and unit (pkg, benchmark, base, op, mode, cs, n, tree, params,
procs, run, iterations, unit, value). Benchmark names are parsed by the
project convention, e.g. BenchmarkCommit/create/cs=0x0001/n=1024/tree=full-2
or .../create-seq: key=value elements become columns, seq/par the mode.
'mlssim plot' draws the cost figure from this CSV.

Example:
  make bench && mlssim bench-import latest --out results/bench/bench.csv && mlssim plot results/bench/bench.csv

Flags:
`

func benchImportMain(args []string) int {
	fs := flag.NewFlagSet("bench-import", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("out", "", "output CSV file (default standard output)")
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, benchImportUsage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "mlssim bench-import: %v\n", err)
		return 2
	}
	var rows []report.BenchRow
	if len(pos) == 0 {
		if rows, err = report.ParseBench(os.Stdin); err != nil {
			fmt.Fprintf(stderr, "mlssim bench-import: standard input: %v\n", err)
			return 2
		}
	}
	for _, p := range pos {
		if p == "latest" {
			m, _ := filepath.Glob(filepath.Join("bench", "out", "*.txt"))
			if len(m) == 0 {
				fmt.Fprintln(stderr, "mlssim bench-import: latest: no bench/out/*.txt (run make bench first)")
				return 2
			}
			sort.Strings(m)
			p = m[len(m)-1]
		}
		f, err := os.Open(p)
		if err != nil {
			fmt.Fprintf(stderr, "mlssim bench-import: %v\n", err)
			return 2
		}
		r, err := report.ParseBench(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(stderr, "mlssim bench-import: %s: %v\n", p, err)
			return 2
		}
		rows = append(rows, r...)
	}
	if len(rows) == 0 {
		fmt.Fprintln(stderr, "mlssim bench-import: no benchmark result lines in the input")
		return 1
	}
	w := stdout
	if *out != "" {
		if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
			fmt.Fprintf(stderr, "mlssim bench-import: %v\n", err)
			return 2
		}
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintf(stderr, "mlssim bench-import: %v\n", err)
			return 2
		}
		defer f.Close()
		w = f
	}
	if err := report.WriteBenchCSV(w, rows); err != nil {
		fmt.Fprintf(stderr, "mlssim bench-import: %v\n", err)
		return 1
	}
	return 0
}

const benchCheckUsage = `usage: mlssim bench-check BENCHSTAT_CSV [--threshold PCT] [--alpha A] [--unit UNIT]

Reads the output of 'benchstat -format csv OLD NEW' and exits 1 if any
benchmark is slower (UNIT, default sec/op) by more than PCT percent (default
10) with statistical significance: benchstat's Mann-Whitney U test p < A
(default 0.05; benchstat prints "~" otherwise). With -count=6 on both sides
the smallest possible p is 0.002. Exit status 0 means no such regression.

Example (what 'make bench-compare' runs):
  benchstat -format csv bench/baseline.txt bench/out/2026-11-25.txt > /tmp/cmp.csv
  mlssim bench-check /tmp/cmp.csv --threshold 10

Flags:
`

func benchCheckMain(args []string) int {
	fs := flag.NewFlagSet("bench-check", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	threshold := fs.Float64("threshold", 10, "percent slowdown that fails the check")
	alpha := fs.Float64("alpha", 0.05, "significance level")
	unit := fs.String("unit", "sec/op", "benchstat unit to check (sec/op, B/op, allocs/op)")
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, benchCheckUsage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "mlssim bench-check: %v\n", err)
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "mlssim bench-check: want exactly one benchstat CSV file (see mlssim bench-check --help)")
		return 2
	}
	f, err := os.Open(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "mlssim bench-check: %v\n", err)
		return 2
	}
	defer f.Close()
	cs, err := report.ParseBenchstatCSV(f)
	if err != nil {
		fmt.Fprintf(stderr, "mlssim bench-check: %s: %v\n", pos[0], err)
		return 2
	}
	n := 0
	for _, c := range cs {
		if c.Unit == *unit {
			n++
		}
	}
	if n == 0 {
		fmt.Fprintf(stderr, "mlssim bench-check: %s: no %s comparison (no benchmark present in both files?)\n", pos[0], *unit)
		return 2
	}
	reg := report.Regressions(cs, *unit, *threshold, *alpha)
	for _, c := range reg {
		fmt.Fprintf(stdout, "REGRESSION %s %s: %+.2f%% %s (p=%.3f %s)\n", c.Pkg, c.Name, c.DeltaPct, c.Unit, c.P, c.Samples)
	}
	if len(reg) > 0 {
		fmt.Fprintf(stdout, "%d of %d benchmarks slower by more than %g%% (p < %g)\n", len(reg), n, *threshold, *alpha)
		return 1
	}
	fmt.Fprintf(stdout, "ok: %d benchmarks compared, none slower by more than %g%% with p < %g\n", n, *threshold, *alpha)
	return 0
}
