package report

import (
	"fmt"
	"maps"
	"math"
	"slices"
)

// ---- Concurrent Update proposals: steady-state commit cost (issue 14 study 4) ----

// ConcurrentWarmup is the warm-up of ConcurrentUpdates in commits per
// member: the first ConcurrentWarmup·N commits after the group's creation
// are left out (notebooks/repro/concurrent-updates.md justifies 4).
const ConcurrentWarmup = 4

// ConcurrentBatches is the number of consecutive batches the steady-state
// commits are split into for the batch-means confidence interval
// (consecutive commits are correlated through the tree).
const ConcurrentBatches = 8

// Fit is a least-squares line y = Intercept + Slope·x with a 95 %
// confidence interval of the slope (Student t, n−2 degrees of freedom).
type Fit struct {
	Slope, Intercept float64
	SlopeLo, SlopeHi float64
	N                int
}

// LogLogFit fits ln y = a + b·ln x by ordinary least squares: b is the
// growth exponent of y in x. The slope's 95 % interval is b ± t·se(b) from
// the residuals, so it also widens when the points are not on a line.
// Points with x or y not positive are left out; it needs 3 points.
func LogLogFit(x, y []float64) (Fit, error) {
	var lx, ly []float64
	for i := range x {
		if x[i] > 0 && y[i] > 0 {
			lx, ly = append(lx, math.Log(x[i])), append(ly, math.Log(y[i]))
		}
	}
	n := len(lx)
	if n < 3 {
		return Fit{}, fmt.Errorf("log-log fit: %w: %d positive points, need 3", ErrNoData, n)
	}
	var mx, my float64
	for i := range lx {
		mx += lx[i]
		my += ly[i]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxx, sxy float64
	for i := range lx {
		sxx += (lx[i] - mx) * (lx[i] - mx)
		sxy += (lx[i] - mx) * (ly[i] - my)
	}
	if sxx == 0 {
		return Fit{}, fmt.Errorf("log-log fit: %w: all x equal", ErrNoData)
	}
	b := sxy / sxx
	a := my - b*mx
	var sse float64
	for i := range lx {
		r := ly[i] - a - b*lx[i]
		sse += r * r
	}
	half := tQuantile(0.975, float64(n-2)) * math.Sqrt(sse/float64(n-2)/sxx)
	return Fit{Slope: b, Intercept: a, SlopeLo: b - half, SlopeHi: b + half, N: n}, nil
}

// SteadyPathCost is the mean UpdatePath ciphertexts (epochs.csv
// path_ciphertexts) of one run's commits after the warm-up: the commits
// without Adds or Removes that follow the first ConcurrentWarmup·N
// commits, N the group size. Its 95 % interval is from ConcurrentBatches
// batch means (t, batches−1 degrees of freedom). P is the run's Update
// proposals per commit, rounded (0: self-update commits only).
func SteadyPathCost(eps []Epoch) (p Point, proposals int, err error) {
	if len(eps) < 2 {
		return p, 0, fmt.Errorf("steady path cost: %w: %d epochs", ErrNoData, len(eps))
	}
	n := eps[len(eps)-1].GroupSize
	skip := ConcurrentWarmup * int(n)
	var ys []float64
	var upd float64
	for i := 1; i < len(eps); i++ {
		e := &eps[i]
		if i <= skip || !e.Path || e.Adds != 0 || e.Removes != 0 {
			continue
		}
		ys = append(ys, e.PathCiphertexts)
		upd += e.Updates
	}
	b := ConcurrentBatches
	if len(ys) < 10*b {
		return p, 0, fmt.Errorf("steady path cost: %w: %d commits after the warm-up of %d (N=%v), need %d",
			ErrNoData, len(ys), skip, n, 10*b)
	}
	means := make([]float64, b)
	var m float64
	for k := range b {
		part := ys[k*len(ys)/b : (k+1)*len(ys)/b]
		for _, y := range part {
			means[k] += y
		}
		means[k] /= float64(len(part))
	}
	for _, y := range ys {
		m += y
	}
	m /= float64(len(ys))
	var ss float64
	for _, x := range means {
		ss += (x - m) * (x - m)
	}
	half := tQuantile(0.975, float64(b-1)) * math.Sqrt(ss/float64(b-1)/float64(b))
	return Point{X: n, Y: m, YLo: m - half, YHi: m + half, N: len(ys)}, int(math.Round(upd / float64(len(ys)))), nil
}

// ConcurrentUpdatesData is the concurrent-updates figure's data: one
// series per P (Update proposals per commit), steady-state UpdatePath
// ciphertexts per commit vs group size (SteadyPathCost), the log-log fit
// of each (its slope is the growth exponent), and reference lines √N and N.
type ConcurrentUpdatesData struct {
	P      []int
	Series []Series
	Fits   []Fit
	SqrtN  Series
	N      Series
}

// ConcurrentUpdates groups runs by P and fits the growth exponent per P.
func ConcurrentUpdates(runs [][]Epoch) (ConcurrentUpdatesData, error) {
	byP := map[int][]Point{}
	for _, eps := range runs {
		pt, p, err := SteadyPathCost(eps)
		if err != nil {
			return ConcurrentUpdatesData{}, err
		}
		byP[p] = append(byP[p], pt)
	}
	var d ConcurrentUpdatesData
	var ns []float64
	for _, p := range slices.Sorted(maps.Keys(byP)) {
		pts := byP[p]
		slices.SortFunc(pts, func(a, b Point) int { return int(a.X - b.X) })
		var x, y []float64
		for _, q := range pts {
			x, y = append(x, q.X), append(y, q.Y)
			if !slices.Contains(ns, q.X) {
				ns = append(ns, q.X)
			}
		}
		f, err := LogLogFit(x, y)
		if err != nil {
			f = Fit{Slope: math.NaN(), SlopeLo: math.NaN(), SlopeHi: math.NaN(), N: len(x)}
		}
		d.P = append(d.P, p)
		d.Fits = append(d.Fits, f)
		d.Series = append(d.Series, Series{Name: fmt.Sprintf("P = %d (exponent %.2f)", p, f.Slope), Points: pts})
	}
	slices.Sort(ns)
	d.SqrtN, d.N = Series{Name: "√N"}, Series{Name: "N"}
	for _, n := range ns {
		d.SqrtN.Points = append(d.SqrtN.Points, Point{X: n, Y: math.Sqrt(n), YLo: math.Sqrt(n), YHi: math.Sqrt(n)})
		d.N.Points = append(d.N.Points, Point{X: n, Y: n, YLo: n, YHi: n})
	}
	return d, enough("concurrent-updates", d.Series)
}

// ConcurrentUpdatesFigure draws ConcurrentUpdatesData on log-log axes.
func ConcurrentUpdatesFigure(d ConcurrentUpdatesData) (*Figure, error) {
	if err := enough("concurrent-updates", d.Series); err != nil {
		return nil, err
	}
	return logLogFigure("concurrent-updates", fmt.Sprintf("Steady-state HPKE encryptions of a commit's UpdatePath (epochs.csv "+
		"path_ciphertexts) vs group size, with P Update proposals per commit by a random committer: mean over the "+
		"commits after the first %d·N, bars the 95%% batch-means interval (%d batches). Legend: the log-log "+
		"least-squares slope per P. Reference lines √N and N.", ConcurrentWarmup, ConcurrentBatches),
		"group size N (members)", "UpdatePath HPKE ciphertexts per commit", d,
		append([]Series{d.N, d.SqrtN}, d.Series...), func(i int) bool { return i >= 2 })
}
