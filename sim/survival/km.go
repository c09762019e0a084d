// Package survival estimates survival curves from right-censored
// observations: the Kaplan–Meier product-limit estimator, its Greenwood
// variance, pointwise confidence bands on the log(−log) scale and the
// Brookmeyer–Crowley confidence interval of a quantile (the median).
//
// The simulator uses it for healing times: a compromise that has not
// healed by the end of a run is right-censored at the run's end (its
// healing time is only known to exceed the observed time), so dropping it
// or counting it as never healing would bias every statistic.
package survival

import (
	"math"
	"sort"
)

// Obs is one observation: the event (e.g. healing) happened at T, or, when
// Event is false, had not happened by T (right-censored at T).
type Obs struct {
	T     float64
	Event bool
}

// Step is the estimate at one distinct observation time T: the survival
// S(T) = P(event later than T) just after T, its pointwise confidence band
// [Lo, Hi], and the counts behind it.
type Step struct {
	T        float64
	S        float64
	Lo, Hi   float64
	AtRisk   int // observations with time >= T
	Events   int // events at T
	Censored int // censorings at T
}

// Curve is a Kaplan–Meier estimate: S(t) = 1 for t before the first step,
// and S(t) = Steps[i].S for Steps[i].T <= t < Steps[i+1].T.
type Curve struct {
	Steps  []Step
	N      int     // observations
	Events int     // observed events (the rest are censored)
	Level  float64 // confidence level of the bands, e.g. 0.95
}

// KaplanMeier returns the product-limit estimate of obs with pointwise
// confidence bands at level (0 < level < 1; 0 means 0.95).
//
// At each distinct time t_j with n_j observations at risk (time >= t_j)
// and d_j events, S(t_j) = Π_{i<=j} (1 − d_i/n_i). Censorings tied with
// events at t_j count as at risk at t_j (the usual convention). The
// Greenwood variance of log S is V_j = Σ_{i<=j} d_i / (n_i (n_i − d_i)),
// and the band is log(−log)-transformed (Kalbfleisch–Prentice), so it
// stays inside [0, 1]: with se = sqrt(V_j) / |log S(t_j)|,
// Lo = S^exp(+z·se) and Hi = S^exp(−z·se), z the two-sided normal quantile.
// Where S = 1 the band is [1, 1]; where S = 0 it is [0, 0].
// Observations with a NaN time are ignored.
func KaplanMeier(obs []Obs, level float64) Curve {
	if level <= 0 || level >= 1 {
		level = 0.95
	}
	z := normalQuantile(1 - (1-level)/2)
	xs := make([]Obs, 0, len(obs))
	for _, o := range obs {
		if !math.IsNaN(o.T) {
			xs = append(xs, o)
		}
	}
	sort.SliceStable(xs, func(i, j int) bool { return xs[i].T < xs[j].T })
	c := Curve{N: len(xs), Level: level}
	s, v := 1.0, 0.0
	atRisk := len(xs)
	for i := 0; i < len(xs); {
		t := xs[i].T
		d, cens := 0, 0
		j := i
		for ; j < len(xs) && xs[j].T == t; j++ {
			if xs[j].Event {
				d++
			} else {
				cens++
			}
		}
		if d > 0 {
			s *= 1 - float64(d)/float64(atRisk)
			if atRisk > d {
				v += float64(d) / float64(atRisk*(atRisk-d))
			} else {
				v = math.Inf(1)
			}
		}
		st := Step{T: t, S: s, Lo: s, Hi: s, AtRisk: atRisk, Events: d, Censored: cens}
		if s > 0 && s < 1 && !math.IsInf(v, 1) {
			ls := math.Log(s)
			se := math.Sqrt(v) / math.Abs(ls)
			st.Lo = math.Pow(s, math.Exp(z*se))
			st.Hi = math.Pow(s, math.Exp(-z*se))
		}
		c.Steps = append(c.Steps, st)
		c.Events += d
		atRisk -= j - i
		i = j
	}
	return c
}

// At returns S(t).
func (c Curve) At(t float64) float64 {
	s := 1.0
	for _, st := range c.Steps {
		if st.T > t {
			break
		}
		s = st.S
	}
	return s
}

// first returns the first step time at which f(step) <= 1−p, or +Inf.
func (c Curve) first(p float64, f func(Step) float64) float64 {
	for _, st := range c.Steps {
		if f(st) <= 1-p+1e-12 {
			return st.T
		}
	}
	return math.Inf(1)
}

// Quantile returns the p-quantile of the event time (p = 0.5: the
// median), the smallest t with S(t) <= 1−p, and its confidence interval
// by the Brookmeyer–Crowley method applied to the log(−log) band: lo is
// the smallest t with Lo(t) <= 1−p, hi the smallest t with Hi(t) <= 1−p.
// A value that is not reached (the curve, or its band, never falls that
// low before the last observation) is +Inf: report it as "not reached".
// With no observations all three are NaN.
func (c Curve) Quantile(p float64) (est, lo, hi float64) {
	if c.N == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	return c.first(p, func(s Step) float64 { return s.S }),
		c.first(p, func(s Step) float64 { return s.Lo }),
		c.first(p, func(s Step) float64 { return s.Hi })
}

// Median is Quantile(0.5).
func (c Curve) Median() (est, lo, hi float64) { return c.Quantile(0.5) }

// normalQuantile returns the standard normal quantile of p in (0, 1).
func normalQuantile(p float64) float64 { return math.Sqrt2 * math.Erfinv(2*p-1) }

// RestrictedMean returns the restricted mean event time up to tau, the
// area under the curve from 0 to tau: RMST(tau) = ∫_0^tau S(t) dt (Royston
// and Parmar, BMC Med Res Methodol 13:152, 2013). Unlike the median it is
// defined whatever fraction of events happen, so it compares policies
// where fewer than half heal. When the last observation is before tau, S
// is carried forward at its last value (the usual convention; Reached
// tells). With no observations it is NaN.
func (c Curve) RestrictedMean(tau float64) float64 {
	if c.N == 0 || !(tau >= 0) {
		return math.NaN()
	}
	area, prevT, s := 0.0, 0.0, 1.0
	for _, st := range c.Steps {
		if st.T >= tau {
			break
		}
		area += s * (st.T - prevT)
		prevT, s = st.T, st.S
	}
	return area + s*(tau-prevT)
}

// Reached reports whether some observation is at or after t, so that the
// curve is estimated (not extrapolated) up to t.
func (c Curve) Reached(t float64) bool {
	return len(c.Steps) > 0 && c.Steps[len(c.Steps)-1].T >= t
}
