// Package report turns mlssim results into figures and tables for papers.
//
// # Inputs
//
// It reads what the simulator and the benchmarks write, never the
// simulator's types, so it works for results of every fidelity (model,
// sampled, full) and of older runs:
//
//   - a run directory (mlssim run): summary.json, epochs.csv, compromises.csv
//     (a large CSV may be stored gzip-compressed as NAME.csv.gz) — LoadRun,
//     ReadEpochs, ReadCompromises;
//   - a sweep (mlssim sweep): sweep.csv in long format — LoadSweep;
//   - benchmarks: `go test -bench` output or the CSV written by WriteBenchCSV
//     (mlssim bench-import) — ParseBench, ReadBench; and benchstat's CSV
//     comparison — ParseBenchstatCSV, Regressions.
//
// # Figures
//
// Each figure has one data builder returning a small result type (series of
// Points, which implement plotter.XYer, YErrorer, XErrorer and XYLabeller)
// and one drawing function (CONVENTIONS.md item 14):
//
//	CommitSizes   -> CommitSizeFigure   commit size vs group size, near-full vs degraded tree
//	Cost          -> CostFigure         commit create/process and join time vs group size
//	TreeHealth    -> TreeHealthFigure   blank-node fraction, mean copath resolution over time
//	HealingCDF    -> HealingCDFFigure   CDF of PCS healing time and epochs per policy
//	FrontierFrom* -> FrontierFigure     bandwidth per member vs median healing time
//	Collisions    -> CollisionsFigure   collision rate vs commit rate per latency
//	PathCost      -> PathCostFigure     UpdatePath ciphertexts vs group size, bare vs full tree
//
// Test the data a builder returns, not pixels. Figures are one column wide
// (ColumnWidth, 3.5 in), and their series stay apart on screen and in
// greyscale print: colour (Okabe–Ito, colour-blind safe), dash pattern and
// marker all vary per series (seriesStyles). The legend is in a strip below
// the axes so it never hides data, and point labels are placed clear of
// other labels, markers, lines and error bars. Figure.Save writes
// PNG/SVG/PDF and a NAME.json sidecar (Sidecar: scenario, seeds, fidelity,
// mlslab version, the plotted numbers).
//
// # Errors
//
// An empty results file, or data that would draw a single point, is an
// error wrapping ErrNoData or ErrTooFewRows, never a blank figure.
//
// # Tables
//
// SummaryTable, HealingTable, SweepTable and BenchTable build a Table, which
// Render writes for the terminal (tablewriter), as Markdown or as a LaTeX
// booktabs table.
//
// # Which API to use
//
// The mlssim commands plot, table, bench-import and bench-check are thin
// wrappers over this package; use the package directly only to build a
// figure the commands do not offer, from the same builders.
package report
