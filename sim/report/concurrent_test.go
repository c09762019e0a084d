package report

import (
	"errors"
	"math"
	"testing"
)

func TestLogLogFit(t *testing.T) {
	x := []float64{64, 128, 256, 512, 1024}
	y := make([]float64, len(x))
	for i := range x {
		y[i] = 3 * math.Pow(x[i], 0.7)
	}
	f, err := LogLogFit(x, y)
	if err != nil || math.Abs(f.Slope-0.7) > 1e-12 || math.Abs(f.Intercept-math.Log(3)) > 1e-9 ||
		f.SlopeHi-f.SlopeLo > 1e-9 || f.N != 5 {
		t.Fatalf("exact power law: %+v %v", f, err)
	}
	// Noisy: ln y = 1 + 0.5 ln x ± 0.1 alternating. Hand computation:
	// residual sd and t(0.975, 3) = 3.182.
	for i := range x {
		y[i] = math.Exp(1 + 0.5*math.Log(x[i]) + 0.1*float64(1-2*(i%2)))
	}
	f, _ = LogLogFit(x, y)
	if f.Slope >= 0.5 || f.SlopeLo > 0.5 || f.SlopeHi < 0.5 || f.SlopeHi-f.SlopeLo > 0.5 {
		t.Fatalf("noisy: %+v, want an interval around 0.5", f)
	}
	if _, err := LogLogFit([]float64{1, 2}, []float64{1, 2}); !errors.Is(err, ErrNoData) {
		t.Fatalf("two points: %v", err)
	}
}

func TestSteadyPathCost(t *testing.T) {
	// N = 4: the creating commit, 16 warm-up commits, then 160 commits of
	// cost 10 (first half) and 12 (second half), each with 2 Updates.
	eps := []Epoch{{Epoch: 1, GroupSize: 4, Adds: 3}}
	for i := 0; i < 16+160; i++ {
		c := 1000.0
		if i >= 16 {
			c = 10
			if i >= 16+80 {
				c = 12
			}
		}
		eps = append(eps, Epoch{Epoch: int64(i + 2), GroupSize: 4, Path: true, PathCiphertexts: c, Updates: 2})
	}
	pt, p, err := SteadyPathCost(eps)
	if err != nil || p != 2 || pt.X != 4 || pt.Y != 11 || pt.N != 160 || pt.YLo >= 11 || pt.YHi <= 11 {
		t.Fatalf("%+v P=%d %v", pt, p, err)
	}
	if _, _, err := SteadyPathCost(eps[:40]); !errors.Is(err, ErrNoData) {
		t.Fatalf("too few commits after the warm-up: %v", err)
	}
}
