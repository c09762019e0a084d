package report

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// Table is a results table, rendered for the terminal (tablewriter), as
// Markdown (tablewriter's Markdown renderer) or as LaTeX (booktabs).
type Table struct {
	Caption string
	Header  []string
	Rows    [][]string
	// Right marks numeric columns (right-aligned).
	Right   []bool
	Sources []Source
}

// TableFormats are the formats Render accepts.
var TableFormats = []string{"text", "markdown", "latex"}

// Render writes t in format (text, markdown or latex).
func (t *Table) Render(w io.Writer, format string) error {
	if len(t.Rows) == 0 {
		return fmt.Errorf("table: %w: no rows", ErrNoData)
	}
	switch format {
	case "text":
		return t.renderWriter(w, nil)
	case "markdown", "md":
		if t.Caption != "" {
			fmt.Fprintf(w, "%s\n\n", t.Caption)
		}
		return t.renderWriter(w, renderer.NewMarkdown())
	case "latex", "tex":
		return t.renderLaTeX(w)
	}
	return fmt.Errorf("unknown table format %q (want text, markdown or latex)", format)
}

func (t *Table) renderWriter(w io.Writer, r tw.Renderer) error {
	var tab *tablewriter.Table
	if r == nil {
		tab = tablewriter.NewWriter(w)
	} else {
		tab = tablewriter.NewTable(w, tablewriter.WithRenderer(r))
	}
	align := make(tw.Alignment, len(t.Header))
	for i := range align {
		align[i] = tw.AlignLeft
		if i < len(t.Right) && t.Right[i] {
			align[i] = tw.AlignRight
		}
	}
	tab.Options(tablewriter.WithHeaderAutoFormat(tw.Off), tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: align}),
		tablewriter.WithHeaderAlignmentConfig(tw.CellAlignment{PerColumn: align}))
	h := make([]any, len(t.Header))
	for i, s := range t.Header {
		h[i] = s
	}
	tab.Header(h...)
	for _, row := range t.Rows {
		if err := tab.Append(row); err != nil {
			return err
		}
	}
	return tab.Render()
}

var latexEscaper = strings.NewReplacer(`\`, `\textbackslash{}`, `&`, `\&`, `%`, `\%`, `$`, `\$`, `#`, `\#`,
	`_`, `\_`, `{`, `\{`, `}`, `\}`, `~`, `\textasciitilde{}`, `^`, `\textasciicircum{}`,
	"±", `$\pm$`, "≤", `$\le$`, "–", "--", "µ", `$\mu$`)

// renderLaTeX writes a booktabs table (\usepackage{booktabs}).
func (t *Table) renderLaTeX(w io.Writer) error {
	var b strings.Builder
	spec := make([]byte, len(t.Header))
	for i := range spec {
		spec[i] = 'l'
		if i < len(t.Right) && t.Right[i] {
			spec[i] = 'r'
		}
	}
	b.WriteString("\\begin{table}[t]\n\\centering\n")
	if t.Caption != "" {
		fmt.Fprintf(&b, "\\caption{%s}\n", latexEscaper.Replace(t.Caption))
	}
	fmt.Fprintf(&b, "\\begin{tabular}{%s}\n\\toprule\n", spec)
	row := func(cells []string) {
		esc := make([]string, len(cells))
		for i, c := range cells {
			esc[i] = latexEscaper.Replace(c)
		}
		b.WriteString(strings.Join(esc, " & "))
		b.WriteString(" \\\\\n")
	}
	row(t.Header)
	b.WriteString("\\midrule\n")
	for _, r := range t.Rows {
		row(r)
	}
	b.WriteString("\\bottomrule\n\\end{tabular}\n\\end{table}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// num formats a number for a table: "n/a" for NaN, otherwise prec digits
// after the point (prec < 0: shortest).
func num(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// bytesSI formats a byte count: 512 B, 2.1 KB, 1.4 MB (powers of 1000).
func bytesSI(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case v >= 1e9:
		return num(v/1e9, 2) + " GB"
	case v >= 1e6:
		return num(v/1e6, 2) + " MB"
	case v >= 1e3:
		return num(v/1e3, 1) + " kB"
	}
	return num(v, 0) + " B"
}

func hours(secs float64) string {
	if math.IsNaN(secs) {
		return "n/a"
	}
	return num(secs/3600, 1)
}

// SummaryTable is one column per run, one row per headline metric.
func SummaryTable(runs []*Run) (*Table, error) {
	if len(runs) == 0 {
		return nil, fmt.Errorf("summary table: %w: no runs", ErrNoData)
	}
	t := &Table{Caption: "Run summary (summary.json).", Header: []string{"metric"}, Right: []bool{false}}
	for _, r := range runs {
		t.Header = append(t.Header, r.Label)
		t.Right = append(t.Right, true)
		t.Sources = append(t.Sources, r.Source())
	}
	type line struct {
		name string
		f    func(s *Summary) string
	}
	m := func(k string, prec int) func(s *Summary) string {
		return func(s *Summary) string { return num(s.Metric(k), prec) }
	}
	b := func(k string) func(s *Summary) string { return func(s *Summary) string { return bytesSI(s.Metric(k)) } }
	// km formats a Kaplan–Meier median of summary.json (-1: not reached
	// when there were compromises).
	km := func(k string, scale float64, prec int) func(s *Summary) string {
		return func(s *Summary) string {
			if _, ok := s.Metrics[k+"_median"]; !ok {
				return "n/a"
			}
			if !(s.Metric("compromises") > 0) {
				return "n/a"
			}
			v := func(name string) float64 {
				x, ok := s.Metrics[name]
				if !ok {
					return math.NaN()
				}
				if x < 0 {
					return math.Inf(1)
				}
				return x / scale
			}
			m := KMMedian{v(k + "_median"), v(k + "_ci_lo"), v(k + "_ci_hi")}
			if _, ok := s.Metrics[k+"_ci_lo"]; !ok {
				if math.IsInf(m.Est, 1) {
					return "not reached"
				}
				return num(m.Est, prec)
			}
			return m.String(prec)
		}
	}
	lines := []line{
		{"scenario / seed", func(s *Summary) string { return fmt.Sprintf("%s / %d", s.Scenario, s.Seed) }},
		{"fidelity", func(s *Summary) string { return s.Fidelity }},
		{"simulated", func(s *Summary) string { return s.Horizon }},
		{"final members", m("final_members", 0)},
		{"epochs", m("epochs", 0)},
		{"commit size p50", b("commit_bytes_p50")},
		{"commit size p95", b("commit_bytes_p95")},
		{"UpdatePath ciphertexts / commit", m("path_ciphertexts_per_commit", 1)},
		{"collision rate (%)", func(s *Summary) string { return num(100*s.Metric("collision_rate"), 2) }},
		{"received / member / day: handshake", b("handshake_bytes_per_member_day")},
		{"received / member / day: app messages", b("app_bytes_per_member_day")},
		{"received / member / day: total", b("bandwidth_bytes_per_member_day")},
		{"mean blank fraction (whole array tree)", m("mean_blank_fraction", 3)},
		{"mean blank fraction (occupied width)", m("mean_occupied_blank_fraction", 3)},
		{"final mean copath resolution", m("final_mean_copath_resolution", 1)},
		{"compromises (healed)", func(s *Summary) string {
			return fmt.Sprintf("%s (%s)", num(s.Metric("compromises"), 0), num(s.Metric("healed"), 0))
		}},
		{"heal commit KM median [95% CI] (h)", km("heal_commit_seconds", 3600, 1)},
		{"heal commit KM median (epochs)", km("heal_commit_epochs", 1, 0)},
		{"all processed KM median [95% CI] (h)", km("all_processed_seconds", 3600, 1)},
		{"exposed epochs (mean)", m("exposed_epochs_mean", 1)},
		{"exposed app messages", m("exposed_app_messages", 0)},
	}
	for _, l := range lines {
		row := []string{l.name}
		for _, r := range runs {
			row = append(row, l.f(&r.Summary))
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

// HealingTable is one row per run: compromises and Kaplan–Meier healing
// medians [95% CI] from compromises.csv (censored compromises kept).
func HealingTable(names []string, runs [][]Compromise) (*Table, error) {
	t := &Table{Caption: "PCS healing per run (compromises.csv): Kaplan–Meier median [95% Brookmeyer–Crowley CI, " +
		"log(−log) bands]; compromises not healed by the end are right-censored; \"not reached\" / NR: fewer than half " +
		"healed (or the CI end is unbounded). Healing commit: accepted by the delivery service (epochs counted from its " +
		"epoch at the compromise); victim: the victim processed it; online: every member online at the healing commit " +
		"processed it; all: every member did. Exposure: mean epochs and application messages the adversary could read.",
		Header: []string{"run", "compromises", "healed", "heal commit (h)", "heal commit (epochs)", "victim (h)",
			"online (h)", "all (h)", "exposed epochs", "exposed msgs"},
		Right: []bool{false, true, true, true, true, true, true, true, true, true}}
	censor := func(c *Compromise) float64 { return c.Observed }
	for i, cs := range runs {
		healed := 0
		var ee, ex []float64
		for _, c := range cs {
			if c.Healed {
				healed++
			}
			ee = append(ee, c.ExposedEpochs)
			ex = append(ex, c.Exposure)
		}
		d, _ := HealingCDF(names[i:i+1], [][]Compromise{cs})
		med := d.Medians[0]
		victim := kmMedian(HealingObs(cs, func(c *Compromise) float64 {
			if c.HealedByRemoval {
				return c.HealCommit
			}
			return c.VictimProcessed
		}, censor, 3600))
		online := kmMedian(HealingObs(cs, func(c *Compromise) float64 { return c.OnlineProcessed }, censor, 3600))
		em, _, _, _ := meanRange(ee)
		xm, _, _, _ := meanRange(ex)
		vs, os := victim.String(1), online.String(1)
		if len(cs) > 0 && cs[0].Legacy {
			vs, os = "n/a (old CSV)", "n/a (old CSV)"
		}
		t.Rows = append(t.Rows, []string{names[i], strconv.Itoa(len(cs)), strconv.Itoa(healed),
			med.HealCommitH.String(1), med.Epochs.String(0), vs, os, med.AllProcessedH.String(1),
			num(em, 1), num(xm, 1)})
	}
	if len(t.Rows) == 0 {
		return nil, fmt.Errorf("healing table: %w: no compromises", ErrNoData)
	}
	return t, nil
}

// SweepMetrics are the default columns of a sweep table.
var SweepMetrics = []string{"commits", "collision_rate", "commit_bytes_p50", "handshake_bytes_per_member_day",
	"app_bytes_per_member_day", "heal_commit_seconds_median", "all_processed_seconds_median", "unhealed_at_end"}

// SweepTable is one row per grid point: mean ± sd over seeds of metrics.
func SweepTable(s *Sweep, metrics []string) (*Table, error) {
	if len(metrics) == 0 {
		metrics = SweepMetrics
	}
	t := &Table{Caption: fmt.Sprintf("Sweep %s: mean ± sd over seeds; KM medians: Kaplan–Meier (censored compromises kept), "+
		"seeds where the median is not reached are left out of the mean and counted.", s.Scenario), Sources: []Source{s.Source()}}
	for _, k := range s.Keys {
		t.Header = append(t.Header, shortKey(k))
		t.Right = append(t.Right, false)
	}
	t.Header = append(t.Header, "seeds")
	t.Right = append(t.Right, true)
	for _, m := range metrics {
		t.Header = append(t.Header, metricLabel(m))
		t.Right = append(t.Right, true)
	}
	for _, g := range s.Groups() {
		row := append([]string(nil), g.Params...)
		row = append(row, strconv.Itoa(len(g.Runs)))
		for _, m := range metrics {
			var xs []float64
			nr := 0 // Kaplan–Meier medians not reached (-1 in summary.json)
			for _, r := range g.Runs {
				if v, ok := r.Metrics[m]; ok && v < 0 && strings.HasSuffix(m, "_median") {
					nr++
				}
				xs = append(xs, scaleMetric(m, r.Metric(m)))
			}
			cell := meanSD(xs, metricPrec(m))
			switch {
			case nr == len(g.Runs):
				cell = "not reached"
			case nr > 0:
				cell += fmt.Sprintf(" (not reached in %d of %d seeds)", nr, len(g.Runs))
			}
			row = append(row, cell)
		}
		t.Rows = append(t.Rows, row)
	}
	if len(t.Rows) == 0 {
		return nil, fmt.Errorf("sweep table: %w", ErrNoData)
	}
	return t, nil
}

func metricLabel(m string) string {
	switch m {
	case "collision_rate":
		return "collision rate (%)"
	case "bandwidth_bytes_per_member_day":
		return "bandwidth/member/day (MB)"
	case "handshake_bytes_per_member_day":
		return "handshake/member/day (MB)"
	case "app_bytes_per_member_day":
		return "app msgs/member/day (MB)"
	case "heal_commit_seconds_median":
		return "heal commit KM median (h)"
	case "all_processed_seconds_median":
		return "all processed KM median (h)"
	case "healing_seconds_p50":
		return "healing p50 (h)"
	case "healing_seconds_p95":
		return "healing p95 (h)"
	case "commit_bytes_p50":
		return "commit p50 (B)"
	case "commit_bytes_mean":
		return "commit mean (B)"
	}
	return strings.ReplaceAll(m, "_", " ")
}

func scaleMetric(m string, v float64) float64 {
	switch {
	case m == "collision_rate":
		return 100 * v
	case strings.HasPrefix(m, "bandwidth"), strings.HasSuffix(m, "bytes_per_member_day"):
		return v / 1e6
	case strings.HasPrefix(m, "healing_seconds"), strings.Contains(m, "_seconds_median"):
		return v / 3600
	}
	return v
}

func metricPrec(m string) int {
	switch {
	case m == "collision_rate", strings.HasPrefix(m, "bandwidth"), strings.HasSuffix(m, "bytes_per_member_day"):
		return 2
	case strings.HasPrefix(m, "healing_seconds"), strings.Contains(m, "_seconds_median"):
		return 1
	}
	return 0
}

func meanSD(xs []float64, prec int) string {
	mean, sd, n := meanStdDev(xs)
	if n == 0 {
		return "n/a"
	}
	if n == 1 {
		return num(mean, prec)
	}
	return num(mean, prec) + " ± " + num(sd, prec)
}

// meanStdDev is the mean and sample standard deviation of the non-NaN
// values of xs and their count (sd 0 for one value).
func meanStdDev(xs []float64) (mean, sd float64, n int) {
	mean, _, _, n = meanRange(xs)
	if n < 2 {
		return mean, 0, n
	}
	ss := 0.0
	for _, x := range xs {
		if !math.IsNaN(x) {
			ss += (x - mean) * (x - mean)
		}
	}
	return mean, math.Sqrt(ss / float64(n-1)), n
}

// BenchTable is one row per benchmark and GOMAXPROCS: median time, B/op
// and allocs/op over repeats.
func BenchTable(rows []BenchRow) (*Table, error) {
	type key struct {
		pkg, name string
		procs     int
	}
	vals := map[key]map[string][]float64{}
	var order []key
	for _, r := range rows {
		k := key{r.Pkg, r.Benchmark, r.Procs}
		if vals[k] == nil {
			vals[k] = map[string][]float64{}
			order = append(order, k)
		}
		vals[k][r.Unit] = append(vals[k][r.Unit], r.Value)
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("bench table: %w", ErrNoData)
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].pkg < order[j].pkg })
	t := &Table{Caption: "Benchmarks: median over repeats, per GOMAXPROCS.", Header: []string{"benchmark", "GOMAXPROCS", "runs", "time/op", "B/op", "allocs/op"},
		Right: []bool{false, true, true, true, true, true}}
	for _, k := range order {
		v := vals[k]
		ns, _, _, n := summarize(v["ns/op"], 0, 1)
		bop, _, _, _ := summarize(v["B/op"], 0, 1)
		al, _, _, _ := summarize(v["allocs/op"], 0, 1)
		t.Rows = append(t.Rows, []string{strings.TrimPrefix(k.name, "Benchmark"), strconv.Itoa(k.procs), strconv.Itoa(n), duration(ns), num(bop, 0), num(al, 0)})
	}
	return t, nil
}

// duration formats nanoseconds: 850 ns, 12.3 µs, 4.56 ms, 1.23 s.
func duration(ns float64) string {
	switch {
	case math.IsNaN(ns):
		return "n/a"
	case ns >= 1e9:
		return num(ns/1e9, 2) + " s"
	case ns >= 1e6:
		return num(ns/1e6, 2) + " ms"
	case ns >= 1e3:
		return num(ns/1e3, 1) + " µs"
	}
	return num(ns, 0) + " ns"
}
