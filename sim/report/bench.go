package report

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// BenchRow is one measurement of one benchmark run: `go test -bench`
// prints a line per run with several value/unit pairs, each becomes a row
// (long format, CONVENTIONS.md item 13).
//
// Names follow the project convention (BenchmarkCommit/create/cs=0x0001/
// n=1024/tree=full-2): key=value elements become CS, N, Tree or Params; a
// mode element (mode=seq, seq, par, or an op suffix like create-seq) becomes
// Mode; the remaining elements are Op.
type BenchRow struct {
	Pkg        string
	Benchmark  string // full name without the -GOMAXPROCS suffix
	Base       string // "Commit" for BenchmarkCommit
	Op         string // "create", "process", "" ...
	Mode       string // "sequential", "parallel" or ""
	CS         string // cipher suite element, e.g. "0x0001"
	N          int64  // group size element n=, 0 if absent
	Tree       string // tree= element ("full", "degraded")
	Params     string // other key=value elements, sorted, ";"-separated
	Procs      int    // GOMAXPROCS: the -N suffix, 1 without one
	Run        int    // 0-based repeat index of this benchmark in the input
	Iterations int64
	Unit       string // ns/op, B/op, allocs/op, or a custom b.ReportMetric unit
	Value      float64
}

// BenchCSVHeader is the header of the CSV written by WriteBenchCSV.
var BenchCSVHeader = []string{"pkg", "benchmark", "base", "op", "mode", "cs", "n", "tree", "params", "procs", "run", "iterations", "unit", "value"}

func normMode(s string) string {
	switch strings.ToLower(s) {
	case "seq", "sequential", "serial", "par=1":
		return "sequential"
	case "par", "parallel", "par=0":
		return "parallel"
	}
	return ""
}

// splitName parses a benchmark name into its parts.
func splitName(full string) (r BenchRow) {
	name := full
	// -GOMAXPROCS suffix on the last element.
	if i := strings.LastIndexByte(name, '-'); i > 0 && !strings.Contains(name[i:], "/") {
		if p, err := strconv.Atoi(name[i+1:]); err == nil {
			r.Procs = p
			name = name[:i]
		}
	}
	if r.Procs == 0 {
		r.Procs = 1 // go test omits the suffix exactly when GOMAXPROCS is 1
	}
	r.Benchmark = name
	parts := strings.Split(name, "/")
	r.Base = strings.TrimPrefix(parts[0], "Benchmark")
	var ops, params []string
	for _, p := range parts[1:] {
		if k, v, ok := strings.Cut(p, "="); ok {
			switch k {
			case "cs":
				r.CS = v
			case "n", "n_leaves", "members":
				if n, err := strconv.ParseInt(v, 10, 64); err == nil {
					r.N = n
					continue
				}
				params = append(params, p)
			case "tree":
				r.Tree = v
			case "mode":
				r.Mode = normMode(v)
			case "par":
				if m := normMode(p); m != "" {
					r.Mode = m
				} else {
					params = append(params, p)
				}
			default:
				params = append(params, p)
			}
			continue
		}
		if m := normMode(p); m != "" {
			r.Mode = m
			continue
		}
		if i := strings.LastIndexByte(p, '-'); i > 0 {
			if m := normMode(p[i+1:]); m != "" {
				r.Mode = m
				p = p[:i]
			}
		}
		ops = append(ops, p)
	}
	sort.Strings(params)
	r.Op = strings.Join(ops, "/")
	r.Params = strings.Join(params, ";")
	return r
}

// ParseBench reads `go test -bench` output (any number of packages and
// -count repeats; other lines are ignored) into rows.
func ParseBench(r io.Reader) ([]BenchRow, error) {
	var out []BenchRow
	pkg := ""
	seen := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		s := sc.Text()
		if p, ok := strings.CutPrefix(s, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		if !strings.HasPrefix(s, "Benchmark") {
			continue
		}
		f := strings.Fields(s)
		if len(f) < 4 || len(f)%2 != 0 {
			continue // e.g. a benchmark that printed a log line
		}
		iters, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		base := splitName(f[0])
		base.Pkg = pkg
		base.Iterations = iters
		key := pkg + " " + f[0]
		base.Run = seen[key]
		seen[key]++
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %q is not a number in %q", line, f[i], s)
			}
			row := base
			row.Unit, row.Value = f[i+1], v
			out = append(out, row)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// WriteBenchCSV writes rows as CSV with BenchCSVHeader.
func WriteBenchCSV(w io.Writer, rows []BenchRow) error {
	cw := csv.NewWriter(w)
	cw.Write(BenchCSVHeader)
	for _, r := range rows {
		cw.Write([]string{r.Pkg, r.Benchmark, r.Base, r.Op, r.Mode, r.CS, strconv.FormatInt(r.N, 10), r.Tree, r.Params,
			strconv.Itoa(r.Procs), strconv.Itoa(r.Run), strconv.FormatInt(r.Iterations, 10), r.Unit,
			strconv.FormatFloat(r.Value, 'g', -1, 64)})
	}
	cw.Flush()
	return cw.Error()
}

// IsBenchCSV reports whether path is a CSV written by WriteBenchCSV.
func IsBenchCSV(path string) bool {
	h, err := firstLine(path)
	return err == nil && h == strings.Join(BenchCSVHeader, ",")
}

// ReadBench reads benchmarks from a CSV written by WriteBenchCSV or from
// raw `go test -bench` output (any other file).
func ReadBench(path string) ([]BenchRow, error) {
	if !IsBenchCSV(path) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		rows, err := ParseBench(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(rows) == 0 {
			return nil, fmt.Errorf("%s: %w: no benchmark result lines", path, ErrNoData)
		}
		return rows, nil
	}
	c, err := readCSV(path)
	if err != nil {
		return nil, err
	}
	if err := c.atLeast(1); err != nil {
		return nil, err
	}
	out := make([]BenchRow, 0, len(c.rows))
	for i, row := range c.rows {
		line := i + 2
		r := BenchRow{Pkg: c.str(row, "pkg"), Benchmark: c.str(row, "benchmark"), Base: c.str(row, "base"), Op: c.str(row, "op"),
			Mode: c.str(row, "mode"), CS: c.str(row, "cs"), Tree: c.str(row, "tree"), Params: c.str(row, "params"), Unit: c.str(row, "unit")}
		var ints [4]float64
		for j, col := range []string{"n", "procs", "run", "iterations"} {
			if ints[j], err = c.num(row, col, line); err != nil {
				return nil, err
			}
		}
		r.N, r.Procs, r.Run, r.Iterations = int64(ints[0]), int(ints[1]), int(ints[2]), int64(ints[3])
		if r.Value, err = c.num(row, "value", line); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Comparison is one row of a benchstat A/B comparison.
type Comparison struct {
	Pkg, Name, Unit string
	Old, New        float64
	DeltaPct        float64 // +12.5 = 12.5% higher; NaN when benchstat printed "~" or "?"
	P               float64 // NaN if absent
	Samples         string  // e.g. "n=6"
}

// Significant reports whether benchstat judged the change significant.
func (c Comparison) Significant() bool { return c.DeltaPct == c.DeltaPct }

// ParseBenchstatCSV reads `benchstat -format csv OLD NEW` output (the first
// comparison column pair if more files were given).
func ParseBenchstatCSV(r io.Reader) ([]Comparison, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	var out []Comparison
	pkg, unit := "", ""
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(rec) == 1 {
			if p, ok := strings.CutPrefix(rec[0], "pkg: "); ok {
				pkg = strings.TrimSpace(p)
			}
			continue
		}
		if len(rec) >= 7 && rec[0] == "" && rec[2] == "CI" {
			unit = rec[1]
			continue
		}
		if len(rec) < 7 || rec[0] == "" || rec[0] == "geomean" || unit == "" {
			continue
		}
		c := Comparison{Pkg: pkg, Name: rec[0], Unit: unit}
		var e1, e2 error
		c.Old, e1 = strconv.ParseFloat(rec[1], 64)
		c.New, e2 = strconv.ParseFloat(rec[3], 64)
		if e1 != nil || e2 != nil {
			continue // benchmark present in only one file
		}
		c.DeltaPct = nan()
		if d, ok := strings.CutSuffix(rec[5], "%"); ok {
			if v, err := strconv.ParseFloat(d, 64); err == nil {
				c.DeltaPct = v
			}
		}
		c.P = nan()
		for _, f := range strings.Fields(rec[6]) {
			if v, ok := strings.CutPrefix(f, "p="); ok {
				c.P, _ = strconv.ParseFloat(v, 64)
			} else if strings.HasPrefix(f, "n=") {
				c.Samples = f
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// Regressions returns the comparisons in unit that got worse by more than
// thresholdPct percent with p < alpha. Higher is worse for every unit
// benchstat reports by default (sec/op, B/op, allocs/op).
func Regressions(cs []Comparison, unit string, thresholdPct, alpha float64) []Comparison {
	var out []Comparison
	for _, c := range cs {
		if c.Unit != unit || !c.Significant() {
			continue
		}
		if c.DeltaPct > thresholdPct && (c.P != c.P || c.P < alpha) {
			out = append(out, c)
		}
	}
	return out
}
