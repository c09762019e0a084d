package survival

import (
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// TestKaplanMeierHand checks the estimator against a hand computation on
// 7 observations, "+" marking a censored one: 1, 2+, 3, 3, 4+, 5, 6+.
//
//	t  n_j d_j  S(t)                    Greenwood V = Σ d/(n(n−d))
//	1   7   1   6/7          = 0.857143  1/42               = 0.023810
//	3   5   2   6/7·3/5      = 0.514286  + 2/15             = 0.157143
//	5   2   1   18/35·1/2    = 0.257143  + 1/2              = 0.657143
//
// Median: the first t with S(t) <= 0.5 is 5.
// log(−log) band, z = 1.959964, se = sqrt(V)/|ln S|, Lo = S^e^(z·se), Hi = S^e^(−z·se):
//
//	t=1: ln S = −0.154151, se = 0.154303/0.154151 = 1.000985, e^(z·se) = 7.1119
//	     Lo = e^(−0.154151·7.1119) = 0.33410,  Hi = e^(−0.154151/7.1119) = 0.97856
//	t=3: ln S = −0.664976, se = 0.396412/0.664976 = 0.596131, e^(z·se) = 3.2168
//	     Lo = 0.11778, Hi = 0.81326
//	t=5: ln S = −1.358123, se = 0.810643/1.358123 = 0.596885, e^(z·se) = 3.2215
//	     Lo = 0.01260, Hi = 0.65600
//
// Median CI: lower end = first t with Lo <= 0.5 = 1; upper end = first t
// with Hi <= 0.5: never, so "not reached" (+Inf).
func TestKaplanMeierHand(t *testing.T) {
	obs := []Obs{{1, true}, {2, false}, {3, true}, {3, true}, {4, false}, {5, true}, {6, false}}
	c := KaplanMeier(obs, 0.95)
	if c.N != 7 || c.Events != 4 {
		t.Fatalf("N=%d Events=%d, want 7, 4", c.N, c.Events)
	}
	want := []struct{ t, s, lo, hi float64 }{
		{1, 6.0 / 7, 0.33410, 0.97856},
		{3, 18.0 / 35, 0.11778, 0.81326},
		{5, 9.0 / 35, 0.01260, 0.65600},
	}
	for _, w := range want {
		var st *Step
		for i := range c.Steps {
			if c.Steps[i].T == w.t {
				st = &c.Steps[i]
			}
		}
		if st == nil {
			t.Fatalf("no step at %g", w.t)
		}
		if !near(st.S, w.s, 1e-9) || !near(st.Lo, w.lo, 5e-5) || !near(st.Hi, w.hi, 5e-5) {
			t.Errorf("t=%g: S=%.6f [%.5f, %.5f], want %.6f [%.5f, %.5f]", w.t, st.S, st.Lo, st.Hi, w.s, w.lo, w.hi)
		}
	}
	if s := c.At(2.5); !near(s, 6.0/7, 1e-12) {
		t.Errorf("S(2.5) = %g, want 6/7", s)
	}
	if s := c.At(0.5); s != 1 {
		t.Errorf("S(0.5) = %g, want 1", s)
	}
	if s := c.At(100); !near(s, 9.0/35, 1e-12) {
		t.Errorf("S(100) = %g, want 9/35 (censored tail stays flat)", s)
	}
	med, lo, hi := c.Median()
	if med != 5 || lo != 1 || !math.IsInf(hi, 1) {
		t.Errorf("median %g [%g, %g], want 5 [1, +Inf]", med, lo, hi)
	}
}

// TestKaplanMeierNoCensoring: without censoring S is the empirical
// survival function and the median is the nearest-rank median (2 of 1..4).
func TestKaplanMeierNoCensoring(t *testing.T) {
	c := KaplanMeier([]Obs{{4, true}, {2, true}, {1, true}, {3, true}}, 0)
	for i, w := range []float64{0.75, 0.5, 0.25, 0} {
		if !near(c.Steps[i].S, w, 1e-12) {
			t.Errorf("step %d: S=%g, want %g", i, c.Steps[i].S, w)
		}
	}
	if last := c.Steps[3]; last.Lo != 0 || last.Hi != 0 {
		t.Errorf("S=0 band = [%g, %g], want [0, 0]", last.Lo, last.Hi)
	}
	if med, _, _ := c.Median(); med != 2 {
		t.Errorf("median %g, want 2", med)
	}
}

// TestKaplanMeierNotReached: 1 of 4 heals, the others are censored, so
// S stays at 0.75 and the median is not reached. The dropped-censoring
// estimate would have claimed a median of 1.
func TestKaplanMeierNotReached(t *testing.T) {
	c := KaplanMeier([]Obs{{1, true}, {2, false}, {3, false}, {4, false}}, 0.95)
	med, _, hi := c.Median()
	if !math.IsInf(med, 1) || !math.IsInf(hi, 1) {
		t.Errorf("median %g (hi %g), want +Inf (not reached)", med, hi)
	}
	if s := c.At(10); s != 0.75 {
		t.Errorf("S(10) = %g, want 0.75", s)
	}
	var empty Curve
	if m, _, _ := empty.Median(); !math.IsNaN(m) {
		t.Errorf("empty median %g, want NaN", m)
	}
}

// TestRestrictedMeanHand: events at 1 and 3, censorings at 2 and 5 (4
// observations); by hand S = 1 on [0,1), 3/4 on [1,3) (the censoring at 2
// changes nothing), then 3/4·(1−1/2) = 3/8 from 3 (two at risk at 3: the
// event at 3 and the censoring at 5). RMST(4) = 1 + 2·3/4 + 1·3/8 = 2.875.
func TestRestrictedMeanHand(t *testing.T) {
	c := KaplanMeier([]Obs{{1, true}, {2, false}, {3, true}, {5, false}}, 0.95)
	for _, tc := range []struct{ tau, want float64 }{{0, 0}, {0.5, 0.5}, {1, 1}, {2, 1.75}, {4, 2.875}, {5, 3.25}, {7, 4}} {
		if got := c.RestrictedMean(tc.tau); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("RMST(%v) = %v, want %v", tc.tau, got, tc.want)
		}
	}
	if !c.Reached(5) || c.Reached(5.5) {
		t.Errorf("Reached(5), Reached(5.5) = %v, %v; want true, false", c.Reached(5), c.Reached(5.5))
	}
	if !math.IsNaN(KaplanMeier(nil, 0.95).RestrictedMean(1)) {
		t.Error("RMST of no observations is not NaN")
	}
}
