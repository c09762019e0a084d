package report

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

func nan() float64 { return math.NaN() }

// Point is one plotted value with an optional error bar [YLo, YHi] and
// label.
type Point struct {
	X, Y     float64
	YLo, YHi float64 // error bar ends; equal to Y when there is no spread
	XLo, XHi float64 `json:",omitempty"` // x error bar ends; both 0 = none
	N        int     // observations behind the point
	Label    string  `json:",omitempty"`
}

// Points is a plotter.XYer, YErrorer and XYLabeller.
type Points []Point

func (p Points) Len() int                      { return len(p) }
func (p Points) XY(i int) (x, y float64)       { return p[i].X, p[i].Y }
func (p Points) YError(i int) (lo, hi float64) { return p[i].Y - p[i].YLo, p[i].YHi - p[i].Y }
func (p Points) Label(i int) string            { return p[i].Label }

// XError is the x error bar; zero when XLo and XHi are unset.
func (p Points) XError(i int) (lo, hi float64) {
	if p[i].XLo == 0 && p[i].XHi == 0 {
		return 0, 0
	}
	return p[i].X - p[i].XLo, p[i].XHi - p[i].X
}

func (p Points) hasXSpread() bool {
	for i := range p {
		if lo, hi := p.XError(i); lo > 0 || hi > 0 {
			return true
		}
	}
	return false
}

// hasSpread reports whether any point has a non-zero error bar.
func (p Points) hasSpread() bool {
	for _, q := range p {
		if q.YHi > q.Y || q.YLo < q.Y {
			return true
		}
	}
	return false
}

// Series is one legend entry.
type Series struct {
	Name   string
	Points Points
}

func countPoints(ss []Series) int {
	n := 0
	for _, s := range ss {
		n += len(s.Points)
	}
	return n
}

// enough checks a figure has at least two points to draw.
func enough(figure string, ss ...[]Series) error {
	n := 0
	for _, s := range ss {
		n += countPoints(s)
	}
	switch n {
	case 0:
		return fmt.Errorf("%s: %w to plot", figure, ErrNoData)
	case 1:
		return fmt.Errorf("%s: %w: a single point to plot, need at least two", figure, ErrTooFewRows)
	}
	return nil
}

// quantile of sorted xs by the nearest-rank method, the definition
// summary.json uses (so tables and summaries agree).
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return nan()
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// summarize returns median, lo and hi quantiles of xs (NaNs dropped).
func summarize(xs []float64, lo, hi float64) (med, ql, qh float64, n int) {
	v := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	sort.Float64s(v)
	return quantile(v, 0.5), quantile(v, lo), quantile(v, hi), len(v)
}

// meanRange returns the mean, min and max of xs (NaNs dropped).
func meanRange(xs []float64) (mean, lo, hi float64, n int) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		if math.IsNaN(x) {
			continue
		}
		mean += x
		lo, hi = math.Min(lo, x), math.Max(hi, x)
		n++
	}
	if n == 0 {
		return nan(), nan(), nan(), 0
	}
	return mean / float64(n), lo, hi, n
}

// ---- commit size vs group size ----

// DefaultFreshStretch is the threshold between a "near-full" and a
// "degraded" tree: a tree is near-full when its mean copath resolution
// (the HPKE ciphertexts a committer sends, RFC 9420 §7.6/§12.4.2) is at
// most this many times log2(leaves), the count in a full tree.
const DefaultFreshStretch = 1.5

// CommitSizeData is the commit-size figure's data: median commit size
// (bytes) per half-octave group-size bin, error bars p10..p90.
type CommitSizeData struct {
	Fresh, Degraded Series
	Stretch         float64
	Commits         int // path commits considered
}

// Stretch is the mean copath resolution over its full-tree value.
func (e *Epoch) Stretch() float64 {
	if e.Leaves < 2 {
		return 1
	}
	return e.MeanCopathRes / math.Log2(e.Leaves)
}

// CommitSizes bins the commits with an UpdatePath (only they depend on the
// tree's shape; add-only commits without a path are excluded) by group
// size and by the tree's state at that epoch.
func CommitSizes(runs [][]Epoch, stretch float64) (CommitSizeData, error) {
	if stretch <= 0 {
		stretch = DefaultFreshStretch
	}
	d := CommitSizeData{Stretch: stretch}
	type bin struct{ xs, ys []float64 }
	fresh, degr := map[int]*bin{}, map[int]*bin{}
	for _, eps := range runs {
		for i := range eps {
			e := &eps[i]
			if !e.Path || e.GroupSize < 1 || e.CommitBytes <= 0 {
				continue
			}
			d.Commits++
			m := degr
			if e.Stretch() <= stretch {
				m = fresh
			}
			k := int(math.Floor(2 * math.Log2(e.GroupSize)))
			b := m[k]
			if b == nil {
				b = &bin{}
				m[k] = b
			}
			b.xs = append(b.xs, e.GroupSize)
			b.ys = append(b.ys, e.CommitBytes)
		}
	}
	mk := func(name string, m map[int]*bin) Series {
		s := Series{Name: name}
		keys := make([]int, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Ints(keys)
		for _, k := range keys {
			b := m[k]
			x, _, _, _ := summarize(b.xs, 0, 1)
			y, lo, hi, n := summarize(b.ys, 0.1, 0.9)
			s.Points = append(s.Points, Point{X: x, Y: y, YLo: lo, YHi: hi, N: n})
		}
		return s
	}
	f := strconv.FormatFloat(stretch, 'g', -1, 64)
	d.Fresh = mk("near-full tree (res ≤ "+f+"·log₂ n)", fresh)
	d.Degraded = mk("degraded tree (res > "+f+"·log₂ n)", degr)
	if d.Commits == 0 {
		return d, fmt.Errorf("commit-size: %w: no commit with an UpdatePath in the inputs", ErrNoData)
	}
	bins := map[int]bool{}
	for k := range fresh {
		bins[k] = true
	}
	for k := range degr {
		bins[k] = true
	}
	if len(bins) < 2 {
		return d, fmt.Errorf("commit-size: %w: every commit falls in one group-size bin; the figure needs runs over a range of group sizes",
			ErrTooFewRows)
	}
	return d, enough("commit-size", []Series{d.Fresh, d.Degraded})
}

// ---- tree health over time ----

// TreeHealthData is the tree-health figure's data: per run, blank-node
// fraction and mean copath resolution over virtual time.
type TreeHealthData struct {
	Blank, Copath []Series
	TimeUnit      string // "hours" or "days"
}

// TreeHealth averages epochs.csv over at most maxPoints equal time bins per
// run. names label the runs.
func TreeHealth(names []string, runs [][]Epoch, maxPoints int) (TreeHealthData, error) {
	if maxPoints < 2 {
		maxPoints = 300
	}
	var d TreeHealthData
	horizon := 0.0
	for _, eps := range runs {
		if len(eps) > 0 {
			horizon = math.Max(horizon, eps[len(eps)-1].Time)
		}
	}
	unit := 86400.0
	d.TimeUnit = "days"
	if horizon < 2*86400 {
		unit, d.TimeUnit = 3600, "hours"
	}
	for ri, eps := range runs {
		if len(eps) == 0 {
			continue
		}
		t0, t1 := eps[0].Time, eps[len(eps)-1].Time
		w := (t1 - t0) / float64(maxPoints)
		b := Series{Name: names[ri]}
		c := Series{Name: names[ri]}
		flush := func(ts, bs, cs []float64) {
			if len(ts) == 0 {
				return
			}
			t, _, _, _ := meanRange(ts)
			bm, _, _, n := meanRange(bs)
			cm, _, _, _ := meanRange(cs)
			b.Points = append(b.Points, Point{X: t / unit, Y: bm, YLo: bm, YHi: bm, N: n})
			if cm > 0 {
				c.Points = append(c.Points, Point{X: t / unit, Y: cm, YLo: cm, YHi: cm, N: n})
			}
		}
		var ts, bs, cs []float64
		cur := 0
		for i := range eps {
			e := &eps[i]
			k := 0
			if w > 0 {
				k = min(int((e.Time-t0)/w), maxPoints-1)
			}
			if k != cur {
				flush(ts, bs, cs)
				ts, bs, cs = ts[:0], bs[:0], cs[:0]
				cur = k
			}
			ts = append(ts, e.Time)
			bs = append(bs, e.BlankFraction())
			cs = append(cs, e.MeanCopathRes)
		}
		flush(ts, bs, cs)
		d.Blank = append(d.Blank, b)
		d.Copath = append(d.Copath, c)
	}
	return d, enough("tree-health", d.Blank)
}

// ---- PCS healing CDFs ----

// HealingData is the healing-cdf figure's data: empirical CDFs of healing
// time (hours) and healing epochs, one series per policy (run). The CDF's
// denominator counts every compromise, so unhealed ones keep the curve
// below 1.
type HealingData struct {
	Time, Epochs []Series
	Compromises  []int // per series
	Unhealed     []int // per series: no healing commit processed by all by the end
}

func cdf(name string, xs []float64, total int) Series {
	sort.Float64s(xs)
	s := Series{Name: name}
	if len(xs) > 0 {
		// The step up from 0 at the first value.
		s.Points = append(s.Points, Point{X: xs[0]})
	}
	for i, x := range xs {
		y := float64(i+1) / float64(total)
		s.Points = append(s.Points, Point{X: x, Y: y, YLo: y, YHi: y, N: 1})
	}
	return s
}

// HealingCDF builds the CDFs. Healing epochs of 0 and times of 0 cannot
// be shown on the log axes and are clamped to the axis floor by the figure.
func HealingCDF(names []string, runs [][]Compromise) (HealingData, error) {
	var d HealingData
	for i, cs := range runs {
		var ts, es []float64
		unhealed := 0
		for _, c := range cs {
			if !math.IsNaN(c.HealingTime) {
				ts = append(ts, c.HealingTime/3600)
			} else {
				unhealed++
			}
			if c.Healed && !math.IsNaN(c.HealEpochs) {
				es = append(es, c.HealEpochs)
			}
		}
		name := fmt.Sprintf("%s (%d/%d)", names[i], len(ts), len(cs))
		d.Time = append(d.Time, cdf(name, ts, len(cs)))
		d.Epochs = append(d.Epochs, cdf(name, es, len(cs)))
		d.Compromises = append(d.Compromises, len(cs))
		d.Unhealed = append(d.Unhealed, unhealed)
	}
	total := 0
	for _, n := range d.Compromises {
		total += n
	}
	switch total {
	case 0:
		return d, fmt.Errorf("healing-cdf: %w: no compromise in the inputs", ErrNoData)
	case 1:
		return d, fmt.Errorf("healing-cdf: %w: a single compromise, no distribution to draw", ErrTooFewRows)
	}
	return d, nil
}

// ---- cost/security frontier ----

// FrontierData is the frontier figure's data: X = median healing time
// (hours), Y = bandwidth per member per day (MB), one point per policy
// setting (labelled), error bars min..max over seeds.
type FrontierData struct {
	Series []Series
	// Lines joins each series' points (true when they are one grid key's
	// values, from a sweep; false for unrelated run directories).
	Lines bool
}

// shortKey shortens a grid key for legends: its last element, with the one
// before when the last alone says little ("latency median",
// "self_update interval").
func shortKey(k string) string {
	parts := strings.Split(k, ".")
	last := parts[len(parts)-1]
	switch last {
	case "median", "value", "min", "max", "interval", "size", "rate", "jitter", "mode":
		if len(parts) > 1 {
			return parts[len(parts)-2] + " " + last
		}
	}
	return last
}

// sweepSeries splits a sweep's grid points into series: the grid key at
// along varies along a line, the other keys name the series.
func sweepSeries(s *Sweep, along int, point func(g SweepGroup) (Point, bool)) []Series {
	var out []Series
	pos := map[string]int{}
	for _, g := range s.Groups() {
		var parts []string
		for i, v := range g.Params {
			if i != along {
				parts = append(parts, shortKey(s.Keys[i])+"="+v)
			}
		}
		name := strings.Join(parts, ", ")
		if name == "" {
			name = s.Scenario
		}
		p, ok := point(g)
		if !ok {
			continue
		}
		if along >= 0 && along < len(g.Params) {
			p.Label = g.Params[along]
		}
		j, seen := pos[name]
		if !seen {
			j = len(out)
			pos[name] = j
			out = append(out, Series{Name: name})
		}
		out[j].Points = append(out[j].Points, p)
	}
	return out
}

// FrontierFromSweep builds the frontier from a sweep; the grid key named
// along (default: the first key) varies along each line, e.g.
// policy.self_update.interval.
func FrontierFromSweep(s *Sweep, along int) (FrontierData, error) {
	d := FrontierData{Lines: true}
	ss := sweepSeries(s, along, func(g SweepGroup) (Point, bool) {
		var xs, ys []float64
		for _, r := range g.Runs {
			xs = append(xs, r.Metric("healing_seconds_p50")/3600)
			ys = append(ys, r.Metric("bandwidth_bytes_per_member_day")/1e6)
		}
		x, xl, xh, nx := meanRange(xs)
		y, yl, yh, ny := meanRange(ys)
		if nx == 0 || ny == 0 || x <= 0 || y <= 0 {
			return Point{}, false
		}
		return Point{X: x, Y: y, XLo: xl, XHi: xh, YLo: yl, YHi: yh, N: min(nx, ny)}, true
	})
	d.Series = ss
	return d, enough("frontier", d.Series)
}

// FrontierFromRuns builds the frontier from run directories, one point
// each, labelled by the run's label.
func FrontierFromRuns(runs []*Run) (FrontierData, error) {
	s := Series{Name: "one run each (labelled)"}
	for _, r := range runs {
		x := r.Summary.Metric("healing_seconds_p50") / 3600
		y := r.Summary.Metric("bandwidth_bytes_per_member_day") / 1e6
		if math.IsNaN(x) || math.IsNaN(y) || x <= 0 || y <= 0 {
			continue
		}
		s.Points = append(s.Points, Point{X: x, Y: y, YLo: y, YHi: y, N: 1, Label: r.Label})
	}
	d := FrontierData{Series: []Series{s}}
	return d, enough("frontier", d.Series)
}

// ---- collisions ----

// CollisionData is the collisions figure's data: X = accepted commits per
// minute (measured), Y = collision rate in percent (rejected over
// attempted commits), one series per latency setting, error bars min..max
// over seeds.
type CollisionData struct {
	Series []Series
}

// Collisions builds the collisions figure from a sweep; series are named by
// the grid keys other than along (default: the latency key).
func Collisions(s *Sweep, along int) (CollisionData, error) {
	ss := sweepSeries(s, along, func(g SweepGroup) (Point, bool) {
		var xs, ys []float64
		for _, r := range g.Runs {
			secs := r.Metric("simulated_seconds")
			if secs > 0 {
				xs = append(xs, r.Metric("commits")/(secs/60))
			}
			ys = append(ys, 100*r.Metric("collision_rate"))
		}
		x, _, _, nx := meanRange(xs)
		y, yl, yh, ny := meanRange(ys)
		if nx == 0 || ny == 0 || x <= 0 {
			return Point{}, false
		}
		return Point{X: x, Y: y, YLo: yl, YHi: yh, N: ny}, true
	})
	for i := range ss {
		sort.Slice(ss[i].Points, func(a, b int) bool { return ss[i].Points[a].X < ss[i].Points[b].X })
	}
	d := CollisionData{Series: ss}
	return d, enough("collisions", d.Series)
}

// ---- benchmark cost vs group size ----

// CostData is the cost figure's data: median time per operation (ms) vs
// group size, one series per operation and mode, error bars min..max over
// repeats.
type CostData struct {
	Series []Series
}

// CostSelect chooses the benchmarks of the cost figure.
type CostSelect struct {
	Ops  []string // "Commit/create", "Commit/process", "Join" (Base[/Op])
	Tree string   // keep rows with this tree= element (or none); "" = any
	CS   string   // keep rows with this cs= element (or none); "" = the first seen
	// Params keeps rows whose other key=value elements are exactly this
	// (default "": the plain benchmark, not e.g. its floor=seq variant).
	Params string
}

// DefaultCostOps are the operations of the cost figure.
var DefaultCostOps = []string{"Commit/create", "Commit/process", "Join"}

func opName(op string) string {
	return strings.ToLower(strings.ReplaceAll(op, "/", " "))
}

// Cost builds the cost figure from benchmark rows (unit ns/op).
func Cost(rows []BenchRow, sel CostSelect) (CostData, error) {
	if len(sel.Ops) == 0 {
		sel.Ops = DefaultCostOps
	}
	cs := sel.CS
	type key struct {
		op, mode string
		n        int64
	}
	vals := map[key][]float64{}
	var order []key
	for _, r := range rows {
		if r.Unit != "ns/op" || r.N <= 0 || r.Params != sel.Params {
			continue
		}
		if sel.Tree != "" && r.Tree != "" && r.Tree != sel.Tree {
			continue
		}
		if cs == "" && r.CS != "" {
			cs = r.CS
		}
		if cs != "" && r.CS != "" && r.CS != cs {
			continue
		}
		op := ""
		full := r.Base
		if r.Op != "" {
			full += "/" + r.Op
		}
		for _, o := range sel.Ops {
			if strings.EqualFold(o, full) {
				op = o
				break
			}
		}
		if op == "" {
			continue
		}
		mode := r.Mode
		if mode == "" {
			// No seq/par element: GOMAXPROCS (go test -cpu 1,2) decides
			// whether the implementation's parallel loops can run.
			if r.Procs <= 1 {
				mode = "GOMAXPROCS=1"
			} else {
				mode = "GOMAXPROCS=" + strconv.Itoa(r.Procs)
			}
		}
		k := key{op, mode, r.N}
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		vals[k] = append(vals[k], r.Value/1e6)
	}
	var modes []string
	for _, k := range order {
		if !slices.Contains(modes, k.mode) {
			modes = append(modes, k.mode)
		}
	}
	sort.Strings(modes)
	var d CostData
	pos := map[string]int{}
	for _, o := range sel.Ops {
		for _, mode := range modes {
			for _, k := range order {
				if k.op != o || k.mode != mode {
					continue
				}
				name := opName(o) + ", " + mode
				j, ok := pos[name]
				if !ok {
					j = len(d.Series)
					pos[name] = j
					d.Series = append(d.Series, Series{Name: name})
				}
				y, lo, hi, n := summarize(vals[k], 0, 1)
				d.Series[j].Points = append(d.Series[j].Points, Point{X: float64(k.n), Y: y, YLo: lo, YHi: hi, N: n})
			}
		}
	}
	for i := range d.Series {
		sort.Slice(d.Series[i].Points, func(a, b int) bool { return d.Series[i].Points[a].X < d.Series[i].Points[b].X })
	}
	if len(d.Series) == 0 {
		return d, fmt.Errorf("cost: %w: no ns/op rows with an n= element for %s (tree=%s); choose others with --bench-ops",
			ErrNoData, strings.Join(sel.Ops, ", "), sel.Tree)
	}
	return d, enough("cost", d.Series)
}
