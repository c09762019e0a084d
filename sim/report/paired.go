package report

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/mlslab/mlslab/sim/survival"
)

// Paired comparisons between the policy variants of a sweep (docs/pcs.md,
// section 6.3). Variants of one seed simulate the same world (common
// random numbers), so the per-seed difference between a variant and the
// baseline removes the world-to-world variation; seeds are independent
// replicates, so the differences' mean and its Student t interval over
// seeds are the paired estimate and its confidence interval.
//
// Healing times are right-censored (compromises that never heal), so the
// per-seed statistic of a healing time is its restricted mean up to a
// horizon tau (the area under the Kaplan–Meier curve, RMST): defined
// whatever fraction heals, unlike the median. A run whose last
// observation is before tau while some compromises are still unhealed
// carries the curve forward; such runs are counted in the caption.

// pairedMetrics are the paired table's statistics, per seed and variant.
var pairedMetrics = []struct {
	label string
	kind  string // "rmst" (hours, from compromises.csv) or a summary.json metric
	get   func(c *Compromise) float64
	scale float64
}{
	{"Δ RMST heal commit (h)", "rmst", func(c *Compromise) float64 { return c.HealCommit }, 3600},
	{"Δ RMST all processed (h)", "rmst", func(c *Compromise) float64 { return c.HealingTime }, 3600},
	{"Δ exposed msgs / compromise", "exposure_per_compromise_mean", nil, 1},
	{"Δ handshake kB/member-day", "handshake_bytes_per_member_day", nil, 1000},
}

// PairedTable compares every grid point of s with the grid point that has
// the same other values and baseline (key=value; key may be a unique
// substring of a grid key) in place of that key's value, seed by seed.
// Each cell is the mean paired difference (variant − baseline) over the
// seeds both ran, with its two-sided 95% Student t interval. Healing
// statistics are restricted means up to tau seconds (tau <= 0: a quarter
// of the shortest run), computed from each run's compromises.csv under
// the sweep's runs/ directory (mlssim sweep --keep-runs; keep the
// compromises.csv files).
func PairedTable(s *Sweep, baseline string, tau float64) (*Table, error) {
	key, val, ok := strings.Cut(baseline, "=")
	if !ok || key == "" || val == "" {
		return nil, fmt.Errorf("paired: baseline %q: want key=value, e.g. policy.self_update.interval=1d", baseline)
	}
	ki := -1
	for i, k := range s.Keys {
		if k == key {
			ki = i
		}
	}
	if ki < 0 {
		if ki = s.KeyIndex(key); ki < 0 {
			return nil, fmt.Errorf("paired: %q is not a grid key of %s (keys: %s)", key, s.Path, strings.Join(s.Keys, ", "))
		}
	}
	byParams := map[string]map[uint64]*SweepRun{}
	pkey := func(p []string) string { return strings.Join(p, "\x00") }
	for i := range s.Runs {
		r := &s.Runs[i]
		k := pkey(r.Params)
		if byParams[k] == nil {
			byParams[k] = map[uint64]*SweepRun{}
		}
		byParams[k][r.Seed] = r
	}
	found := false
	for _, g := range s.Groups() {
		found = found || g.Params[ki] == val
	}
	if !found {
		return nil, fmt.Errorf("paired: no grid point has %s=%s", s.Keys[ki], val)
	}
	runsDir := filepath.Join(filepath.Dir(s.Path), "runs")
	if tau <= 0 {
		tau = math.Inf(1)
		for _, r := range s.Runs {
			tau = min(tau, r.Metric("simulated_seconds")/4)
		}
		if math.IsInf(tau, 1) || math.IsNaN(tau) {
			return nil, fmt.Errorf("paired: no run records simulated_seconds; pass a horizon (--tau)")
		}
	}
	// Per run: the statistics (NaN where undefined), computed once.
	stats := map[int][]float64{}
	extrapolated := map[int]bool{}
	runStats := func(r *SweepRun) ([]float64, error) {
		if v, ok := stats[r.Index]; ok {
			return v, nil
		}
		dir := filepath.Join(runsDir, fmt.Sprintf("%04d", r.Index))
		var cs []Compromise
		if !fileExists(filepath.Join(dir, "compromises.csv")) && !fileExists(filepath.Join(dir, "compromises.csv.gz")) {
			return nil, fmt.Errorf("paired: run %d (seed %d): no compromises.csv in %s (sweep with --keep-runs and keep runs/*/compromises.csv)", r.Index, r.Seed, dir)
		}
		cs, err := ReadCompromises(dir)
		if err != nil && !errors.Is(err, ErrNoData) {
			return nil, fmt.Errorf("paired: run %d: %w", r.Index, err)
		}
		v := make([]float64, len(pairedMetrics))
		for i, m := range pairedMetrics {
			if m.kind != "rmst" {
				v[i] = r.Metric(m.kind) / m.scale
				continue
			}
			if len(cs) == 0 {
				v[i] = math.NaN()
				continue
			}
			c := survival.KaplanMeier(HealingObs(cs, m.get, func(c *Compromise) float64 { return c.Observed }, m.scale), 0.95)
			v[i] = c.RestrictedMean(tau / m.scale)
			if !c.Reached(tau/m.scale) && c.At(tau/m.scale) > 0 {
				extrapolated[r.Index] = true
			}
		}
		stats[r.Index] = v
		return v, nil
	}
	t := &Table{Sources: []Source{s.Source()}}
	for i, k := range s.Keys {
		if i != ki {
			t.Header = append(t.Header, shortKey(k))
			t.Right = append(t.Right, false)
		}
	}
	t.Header = append(t.Header, shortKey(s.Keys[ki])+" vs "+val, "seeds")
	t.Right = append(t.Right, false, true)
	for _, m := range pairedMetrics {
		t.Header = append(t.Header, m.label)
		t.Right = append(t.Right, true)
	}
	minSeeds := math.MaxInt
	for _, g := range s.Groups() {
		if g.Params[ki] == val {
			continue
		}
		bp := slices.Clone(g.Params)
		bp[ki] = val
		base := byParams[pkey(bp)]
		if base == nil {
			continue
		}
		diffs := make([][]float64, len(pairedMetrics))
		seeds := 0
		for _, r := range g.Runs {
			b := base[r.Seed]
			if b == nil {
				continue
			}
			rv, err := runStats(r)
			if err != nil {
				return nil, err
			}
			bv, err := runStats(b)
			if err != nil {
				return nil, err
			}
			seeds++
			for i := range pairedMetrics {
				if d := rv[i] - bv[i]; !math.IsNaN(d) {
					diffs[i] = append(diffs[i], d)
				}
			}
		}
		if seeds == 0 {
			continue
		}
		minSeeds = min(minSeeds, seeds)
		var row []string
		for i, p := range g.Params {
			if i != ki {
				row = append(row, p)
			}
		}
		row = append(row, g.Params[ki], strconv.Itoa(seeds))
		for i, m := range pairedMetrics {
			prec := 1
			if m.kind == "exposure_per_compromise_mean" {
				prec = 0
			}
			row = append(row, meanCI(diffs[i], prec))
		}
		t.Rows = append(t.Rows, row)
	}
	if len(t.Rows) == 0 {
		return nil, fmt.Errorf("paired: %w: no grid point shares a seed with its %s=%s counterpart", ErrNoData, s.Keys[ki], val)
	}
	t.Caption = fmt.Sprintf("Sweep %s, paired against %s=%s: mean per-seed difference (variant − baseline) "+
		"[95%% Student t CI over seeds]; variants of a seed share the world (common random numbers). "+
		"RMST: restricted mean time up to τ = %s of the Kaplan–Meier curve (censored compromises kept); "+
		"exposed msgs / compromise: application messages each compromise could read, mean over the run's compromises (truncated at the end for unhealed ones, the same horizon in both variants); handshake: per member-day. Fewest seeds in a row: %d.",
		s.Scenario, s.Keys[ki], val, hoursText(tau), minSeeds)
	if n := len(extrapolated); n > 0 {
		t.Caption += fmt.Sprintf(" In %d run(s) the last observation is before τ with compromises unhealed (curve carried forward).", n)
	}
	return t, nil
}

func hoursText(sec float64) string {
	if h := sec / 3600; h >= 48 && math.Mod(h, 24) == 0 {
		return fmt.Sprintf("%g d", h/24)
	}
	return fmt.Sprintf("%g h", sec/3600)
}

// meanCI formats the mean of xs and its two-sided 95% Student t interval;
// "n/a" with no values, the mean alone with one.
func meanCI(xs []float64, prec int) string { return tInterval(xs).String(prec) }

// tQuantile returns the p-quantile (p > 0.5) of Student's t distribution
// with df degrees of freedom: bisection on the CDF, which is 1/2 plus the
// integral of the density from 0 (Simpson's rule; the density is smooth,
// 4 096 panels give ~1e-10).
func tQuantile(p, df float64) float64 {
	lg1, _ := math.Lgamma((df + 1) / 2)
	lg2, _ := math.Lgamma(df / 2)
	c := math.Exp(lg1-lg2) / math.Sqrt(df*math.Pi)
	dens := func(x float64) float64 { return c * math.Pow(1+x*x/df, -(df+1)/2) }
	cdf := func(x float64) float64 {
		const n = 4096
		h := x / n
		s := dens(0) + dens(x)
		for i := 1; i < n; i++ {
			w := 2.0
			if i%2 == 1 {
				w = 4
			}
			s += w * dens(float64(i)*h)
		}
		return 0.5 + s*h/3
	}
	lo, hi := 0.0, 1.0
	for cdf(hi) < p {
		hi *= 2
	}
	for range 60 {
		mid := (lo + hi) / 2
		if cdf(mid) < p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}
