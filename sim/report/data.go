package report

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/mlslab/mlslab/sim/survival"
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
	// Break starts a new line segment: the figure does not join this
	// point to the previous one (data between them is missing, e.g. an
	// empty time or group-size bin).
	Break bool `json:",omitempty"`
}

// segments splits p at its Break points.
func (p Points) segments() []Points {
	var out []Points
	start := 0
	for i := 1; i <= len(p); i++ {
		if i == len(p) || p[i].Break {
			out = append(out, p[start:i])
			start = i
		}
	}
	return out
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
		for i, k := range keys {
			b := m[k]
			x, _, _, _ := summarize(b.xs, 0, 1)
			y, lo, hi, n := summarize(b.ys, 0.1, 0.9)
			// Bins are half-octaves of group size: no line across an
			// empty bin (e.g. from a lone n=1 commit to n=100).
			s.Points = append(s.Points, Point{X: x, Y: y, YLo: lo, YHi: hi, N: n, Break: i > 0 && k > keys[i-1]+1})
		}
		return s
	}
	f := strconv.FormatFloat(stretch, 'g', -1, 64)
	d.Fresh = mk("near-full tree (copath res ≤ "+f+"·log₂ leaves)", fresh)
	d.Degraded = mk("degraded tree (copath res > "+f+"·log₂ leaves)", degr)
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

// ---- real commit CPU vs group size ----

// CommitCPUMinBin is the fewest commits a half-octave bin of the
// commit-cpu figure needs to draw a point.
const CommitCPUMinBin = 5

// CommitCPU is the commit-cpu figure's data: the measured time of
// creating a commit with real MLS (epochs.csv create_cpu_us: the wall time
// of the committer's Commit call, encoding and Welcome included, fidelity
// full or sampled) vs group size, median per half-octave of group size
// with bars p10–p90, one series for commits with an UpdatePath and one for
// commits without; bins with fewer than CommitCPUMinBin commits draw no
// point (and break the line).
func CommitCPU(runs [][]Epoch) (CostData, error) {
	type bin struct{ xs, ys []float64 }
	bins := [2]map[int]*bin{{}, {}}
	n := 0
	for _, eps := range runs {
		for i := range eps {
			e := &eps[i]
			if math.IsNaN(e.CreateCPU) || e.CreateCPU <= 0 || e.GroupSize < 1 {
				continue
			}
			n++
			j := 0
			if !e.Path {
				j = 1
			}
			k := int(math.Floor(2 * math.Log2(e.GroupSize)))
			b := bins[j][k]
			if b == nil {
				b = &bin{}
				bins[j][k] = b
			}
			b.xs = append(b.xs, e.GroupSize)
			b.ys = append(b.ys, e.CreateCPU/1000)
		}
	}
	var d CostData
	if n == 0 {
		return d, fmt.Errorf("commit-cpu: %w: no measured commit CPU (create_cpu_us) in the inputs: run at fidelity sampled or full", ErrNoData)
	}
	for j, name := range []string{"commit with UpdatePath", "commit without path (adds/removes, incl. Welcome)"} {
		s := Series{Name: name}
		keys := make([]int, 0, len(bins[j]))
		for k := range bins[j] {
			keys = append(keys, k)
		}
		sort.Ints(keys)
		prev := math.MinInt
		for _, k := range keys {
			b := bins[j][k]
			if len(b.ys) < CommitCPUMinBin {
				continue // too few commits for a median and p10–p90: no point
			}
			x, _, _, _ := summarize(b.xs, 0, 1)
			y, lo, hi, c := summarize(b.ys, 0.1, 0.9)
			s.Points = append(s.Points, Point{X: x, Y: y, YLo: lo, YHi: hi, N: c, Break: prev != math.MinInt && k > prev+1})
			prev = k
		}
		if len(s.Points) > 0 {
			d.Series = append(d.Series, s)
		}
	}
	return d, enough("commit-cpu", d.Series)
}

// ---- tree health over time ----

// TreeHealthData is the tree-health figure's data: per run, blank-node
// fraction and mean copath resolution over virtual time.
type TreeHealthData struct {
	// Blank is blank nodes over all 2·leaves−1 nodes of the array tree
	// (leaves is a power of two, so its unused right part counts as
	// blank); OccupiedBlank is the lower bound on blanks within the
	// occupied width, see Epoch.OccupiedBlankFraction.
	Blank, OccupiedBlank, Copath []Series
	TimeUnit                     string // "hours" or "days"
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
		o := Series{Name: names[ri]}
		last := -2 // bin of the previous point
		flush := func(k int, ts, bs, os, cs []float64) {
			if len(ts) == 0 {
				return
			}
			// A bin with no epochs draws no point, and the line breaks
			// there: joining across it would draw a change that never
			// happened.
			brk := last >= 0 && k > last+1
			last = k
			t, _, _, _ := meanRange(ts)
			bm, _, _, n := meanRange(bs)
			om, _, _, _ := meanRange(os)
			cm, _, _, _ := meanRange(cs)
			b.Points = append(b.Points, Point{X: t / unit, Y: bm, YLo: bm, YHi: bm, N: n, Break: brk})
			if !math.IsNaN(om) {
				o.Points = append(o.Points, Point{X: t / unit, Y: om, YLo: om, YHi: om, N: n, Break: brk})
			}
			if cm > 0 {
				c.Points = append(c.Points, Point{X: t / unit, Y: cm, YLo: cm, YHi: cm, N: n, Break: brk})
			}
		}
		var ts, bs, os, cs []float64
		cur := 0
		for i := range eps {
			e := &eps[i]
			k := 0
			if w > 0 {
				k = min(int((e.Time-t0)/w), maxPoints-1)
			}
			if k != cur {
				flush(cur, ts, bs, os, cs)
				ts, bs, os, cs = ts[:0], bs[:0], os[:0], cs[:0]
				cur = k
			}
			ts = append(ts, e.Time)
			bs = append(bs, e.BlankFraction())
			os = append(os, e.OccupiedBlankFraction())
			cs = append(cs, e.MeanCopathRes)
		}
		flush(cur, ts, bs, os, cs)
		d.Blank = append(d.Blank, b)
		d.OccupiedBlank = append(d.OccupiedBlank, o)
		d.Copath = append(d.Copath, c)
	}
	return d, enough("tree-health", d.Blank)
}

// ---- PCS healing: Kaplan–Meier curves ----

// HealingData is the healing-cdf figure's data: per policy (run), the
// Kaplan–Meier estimate of the fraction healed, 1 − S(t), of the time
// until the delivery service accepted the healing commit (HealCommit),
// the time until every member processed it (AllProcessed), and the epochs
// to the healing commit counted from the delivery service's epoch at the
// compromise (Epochs). Compromises not healed (or not processed) by the
// end are right-censored at the end, not dropped: a curve stays flat
// after its last event, below 1 when some never healed.
type HealingData struct {
	HealCommit, AllProcessed, Epochs []Series
	Compromises                      []int // per series
	Unhealed                         []int // per series: no healing commit by the end
	// Medians per series: Kaplan–Meier median [95% CI] of HealCommit,
	// AllProcessed (hours) and Epochs; +Inf = not reached.
	Medians []HealingMedians
}

// HealingMedians are the Kaplan–Meier medians of one run.
type HealingMedians struct {
	HealCommitH, AllProcessedH, Epochs KMMedian
}

// KMMedian is a Kaplan–Meier median with its Brookmeyer–Crowley 95%
// interval (package sim/survival); +Inf means not reached. It marshals
// +Inf as null.
type KMMedian struct {
	Est, Lo, Hi float64
}

// MarshalJSON writes {"median":..,"ci_lo":..,"ci_hi":..}, null for not
// reached.
func (m KMMedian) MarshalJSON() ([]byte, error) {
	return []byte(`{"median":` + jsonNum(m.Est) + `,"ci_lo":` + jsonNum(m.Lo) + `,"ci_hi":` + jsonNum(m.Hi) + `}`), nil
}

// String formats the median and interval: "4.1 [2.0, 9.3]", "not reached".
func (m KMMedian) String(prec int) string {
	f := func(v float64) string {
		if math.IsInf(v, 1) {
			return "NR"
		}
		return num(v, prec)
	}
	switch {
	case math.IsNaN(m.Est):
		return "n/a"
	case math.IsInf(m.Est, 1):
		return "not reached"
	}
	return fmt.Sprintf("%s [%s, %s]", f(m.Est), f(m.Lo), f(m.Hi))
}

// HealingObs returns the observations of one healing metric: the value
// when reached (get returns a non-NaN value), else censored at
// censor(c). scale divides both.
func HealingObs(cs []Compromise, get, censor func(c *Compromise) float64, scale float64) []survival.Obs {
	out := make([]survival.Obs, 0, len(cs))
	for i := range cs {
		c := &cs[i]
		if v := get(c); c.Healed && !math.IsNaN(v) {
			out = append(out, survival.Obs{T: v / scale, Event: true})
		} else {
			out = append(out, survival.Obs{T: censor(c) / scale})
		}
	}
	return out
}

func kmMedian(obs []survival.Obs) KMMedian {
	e, l, h := survival.KaplanMeier(obs, 0.95).Median()
	return KMMedian{e, l, h}
}

// kmSeries draws 1 − S(t) as post-steps: 0 up to the first observation,
// a step at each event time, and flat to the last observation (censored
// tail).
func kmSeries(name string, obs []survival.Obs) Series {
	c := survival.KaplanMeier(obs, 0.95)
	s := Series{Name: name}
	if len(c.Steps) == 0 || c.Events == 0 {
		return s
	}
	s.Points = append(s.Points, Point{X: c.Steps[0].T})
	for _, st := range c.Steps {
		if st.Events == 0 {
			continue
		}
		y := 1 - st.S
		s.Points = append(s.Points, Point{X: st.T, Y: y, YLo: y, YHi: y, N: st.Events})
	}
	last := c.Steps[len(c.Steps)-1]
	if y := 1 - last.S; last.Events == 0 {
		s.Points = append(s.Points, Point{X: last.T, Y: y, YLo: y, YHi: y})
	}
	return s
}

// HealingCDF builds the Kaplan–Meier healing curves. Healing epochs and
// times of 0 cannot be shown on the log axes and are dropped by the
// figure.
func HealingCDF(names []string, runs [][]Compromise) (HealingData, error) {
	var d HealingData
	censor := func(c *Compromise) float64 { return c.Observed }
	for i, cs := range runs {
		healed := 0
		for _, c := range cs {
			if c.Healed {
				healed++
			}
		}
		hc := HealingObs(cs, func(c *Compromise) float64 { return c.HealCommit }, censor, 3600)
		all := HealingObs(cs, func(c *Compromise) float64 { return c.HealingTime }, censor, 3600)
		ep := HealingObs(cs, func(c *Compromise) float64 {
			if math.IsNaN(c.HealCommitEpochs) {
				return c.HealEpochs // older simulators: from the victim's epoch
			}
			return c.HealCommitEpochs
		}, func(c *Compromise) float64 { return c.CensorEpochs }, 1)
		name := fmt.Sprintf("%s (%d/%d healed)", names[i], healed, len(cs))
		d.HealCommit = append(d.HealCommit, kmSeries(name, hc))
		d.AllProcessed = append(d.AllProcessed, kmSeries(name, all))
		d.Epochs = append(d.Epochs, kmSeries(name, ep))
		d.Compromises = append(d.Compromises, len(cs))
		d.Unhealed = append(d.Unhealed, len(cs)-healed)
		d.Medians = append(d.Medians, HealingMedians{kmMedian(hc), kmMedian(all), kmMedian(ep)})
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

// healingX is the frontier's x: the Kaplan–Meier median time to the
// healing commit (heal_commit_seconds_median), or for results of older
// simulators the legacy healing_seconds_p50; NaN when not reached.
func healingX(m map[string]float64) float64 {
	v, ok := m["heal_commit_seconds_median"]
	if !ok {
		v, ok = m["healing_seconds_p50"]
	}
	if !ok || v < 0 {
		return math.NaN()
	}
	return v
}

// FrontierFromSweep builds the frontier from a sweep; the grid key named
// along (default: the first key) varies along each line, e.g.
// policy.self_update.interval.
func FrontierFromSweep(s *Sweep, along int) (FrontierData, error) {
	d := FrontierData{Lines: true}
	ss := sweepSeries(s, along, func(g SweepGroup) (Point, bool) {
		var xs, ys []float64
		for _, r := range g.Runs {
			xs = append(xs, healingX(r.Metrics)/3600)
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
		x := healingX(r.Summary.Metrics) / 3600
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
