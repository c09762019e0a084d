package report

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot/vg"

	"github.com/mlslab/mlslab/sim/survival"
)

// ---- Healing across groups (issue 14 study 6) ----

// GroupsInfo is summary.json's groups section of a multi-group run
// (scenario section groups): the number of groups, the shared clients,
// how many groups (the first ones) they run their own updates in, and each
// group's seed.
type GroupsInfo struct {
	Count         int      `json:"count"`
	SharedClients int      `json:"shared_clients"`
	UpdateGroups  int      `json:"update_groups"`
	Seeds         []uint64 `json:"seeds"`
}

// MeanCI is a mean with its two-sided 95 % Student t interval over
// independent replicates (NaN interval with one replicate).
type MeanCI struct {
	Mean, Lo, Hi float64
	N            int
}

// MarshalJSON writes {"mean":..,"ci_lo":..,"ci_hi":..,"n":..}, null where
// undefined.
func (m MeanCI) MarshalJSON() ([]byte, error) {
	return []byte(`{"mean":` + jsonNum(m.Mean) + `,"ci_lo":` + jsonNum(m.Lo) + `,"ci_hi":` + jsonNum(m.Hi) +
		`,"n":` + strconv.Itoa(m.N) + `}`), nil
}

// String formats "12.3 [10.1, 14.5]" (the mean alone with one replicate).
func (m MeanCI) String(prec int) string {
	switch {
	case m.N == 0:
		return "n/a"
	case m.N == 1:
		return num(m.Mean, prec) + " (1 seed)"
	}
	return fmt.Sprintf("%s [%s, %s]", num(m.Mean, prec), num(m.Lo, prec), num(m.Hi, prec))
}

func jsonNum(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "null"
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// tInterval is the mean of xs and its two-sided 95 % Student t interval.
func tInterval(xs []float64) MeanCI {
	n := len(xs)
	m := MeanCI{Mean: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), N: n}
	if n == 0 {
		return m
	}
	m.Mean = 0
	for _, x := range xs {
		m.Mean += x
	}
	m.Mean /= float64(n)
	if n == 1 {
		return m
	}
	ss := 0.0
	for _, x := range xs {
		ss += (x - m.Mean) * (x - m.Mean)
	}
	half := tQuantile(0.975, float64(n-1)) * math.Sqrt(ss/float64(n-1)/float64(n))
	m.Lo, m.Hi = m.Mean-half, m.Mean+half
	return m
}

// CrossGroupCell is the healing of one group of multi-group runs of one
// setting (k groups, the client updating in the first u), pooled over
// seeds: time to the healing commit (heal_commit_s, hours), censored at
// the end when unhealed.
type CrossGroupCell struct {
	Groups, Updating int // k, u
	Group            int
	ClientUpdates    bool
	Seeds            int
	Compromises      int
	Healed           int
	// Median is the Kaplan–Meier median over the pooled compromises (95 %
	// Brookmeyer–Crowley interval); RMST the restricted mean up to Tau of
	// each seed's Kaplan–Meier curve, mean over seeds with its t interval.
	Median KMMedian
	RMST   MeanCI
}

// CrossGroupData is the cross-group figure's data: per k (panel), one
// Kaplan–Meier curve per setting and class of groups (the groups where
// the client runs its own updates, and the others), pooled over seeds and
// over the groups of the class; and every group's cell.
type CrossGroupData struct {
	Tau    float64 // RMST horizon, hours
	Ks     []int
	Series [][]Series // parallel to Ks
	Cells  []CrossGroupCell
}

// CrossGroupTau is the RMST horizon of the cross-group statistics (hours).
const CrossGroupTau = 7 * 24.0

// CrossGroup reads the compromises of multi-group runs (mlssim run or
// sweep --keep-runs directories of a scenario with a groups section) and
// builds the per-group healing statistics and curves.
func CrossGroup(runs []*Run, tauHours float64) (CrossGroupData, error) {
	d := CrossGroupData{Tau: tauHours}
	type setting struct{ k, u int }
	type cellKey struct {
		setting
		g int
	}
	obs := map[cellKey][]survival.Obs{}
	rmst := map[cellKey][]float64{}
	healed := map[cellKey]int{}
	get := func(c *Compromise) float64 { return c.HealCommit }
	censor := func(c *Compromise) float64 { return c.Observed }
	for _, r := range runs {
		gi := r.Summary.Groups
		if gi == nil {
			return d, fmt.Errorf("cross-group: %s: %w: not a multi-group run (no groups section in summary.json)", r.Dir, ErrNoData)
		}
		cs, err := ReadCompromises(r.Dir)
		if err != nil {
			return d, err
		}
		st := setting{gi.Count, gi.UpdateGroups}
		for g := range gi.Count {
			var mine []Compromise
			for _, c := range cs {
				if c.Group == g {
					mine = append(mine, c)
				}
			}
			if len(mine) == 0 {
				continue
			}
			k := cellKey{st, g}
			o := HealingObs(mine, get, censor, 3600)
			obs[k] = append(obs[k], o...)
			rmst[k] = append(rmst[k], survival.KaplanMeier(o, 0.95).RestrictedMean(tauHours))
			for _, c := range mine {
				if c.Healed {
					healed[k]++
				}
			}
		}
	}
	keys := slices.SortedFunc(func(yield func(cellKey) bool) {
		for k := range obs {
			if !yield(k) {
				return
			}
		}
	}, func(a, b cellKey) int {
		if a.k != b.k {
			return a.k - b.k
		}
		if a.u != b.u {
			return b.u - a.u // all groups first
		}
		return a.g - b.g
	})
	if len(keys) == 0 {
		return d, fmt.Errorf("cross-group: %w: no compromise in the runs", ErrNoData)
	}
	class := map[string][]survival.Obs{}
	var classOrder []string
	classK := map[string]int{}
	for _, k := range keys {
		c := CrossGroupCell{Groups: k.k, Updating: k.u, Group: k.g, ClientUpdates: k.g < k.u, Seeds: len(rmst[k]),
			Compromises: len(obs[k]), Healed: healed[k], Median: kmMedian(obs[k]), RMST: tInterval(rmst[k])}
		d.Cells = append(d.Cells, c)
		where := "its groups"
		switch {
		case k.u < k.k && c.ClientUpdates:
			where = fmt.Sprintf("the %d it updates in", k.u)
		case k.u < k.k:
			where = fmt.Sprintf("the other %d", k.k-k.u)
		}
		name := fmt.Sprintf("updates in %d of %d: %s", k.u, k.k, where)
		if _, ok := class[name]; !ok {
			classOrder = append(classOrder, name)
			classK[name] = k.k
		}
		class[name] = append(class[name], obs[k]...)
	}
	for _, name := range classOrder {
		k := classK[name]
		i := slices.Index(d.Ks, k)
		if i < 0 {
			d.Ks = append(d.Ks, k)
			d.Series = append(d.Series, nil)
			i = len(d.Ks) - 1
		}
		o := class[name]
		ev := 0
		for _, x := range o {
			if x.Event {
				ev++
			}
		}
		d.Series[i] = append(d.Series[i], flatKMSeries(fmt.Sprintf("%s (%d/%d healed)", name, ev, len(o)), o))
	}
	return d, enough("cross-group", d.Series...)
}

// flatKMSeries is kmSeries, and a flat line at 0 over the observed range
// when nothing healed (kmSeries draws no curve then).
func flatKMSeries(name string, obs []survival.Obs) Series {
	s := kmSeries(name, obs)
	if len(s.Points) > 0 || len(obs) == 0 {
		return s
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, o := range obs {
		if o.T > 0 {
			lo, hi = min(lo, o.T), max(hi, o.T)
		}
	}
	if hi > lo {
		s.Points = Points{{X: lo}, {X: hi}}
	}
	return s
}

// CrossGroupFigure: Kaplan–Meier fraction of compromises healed vs time
// to the healing commit, one panel per number of groups k, one step line
// per setting and class of groups.
func CrossGroupFigure(d CrossGroupData) (*Figure, error) {
	if err := enough("cross-group", d.Series...); err != nil {
		return nil, err
	}
	f := &Figure{Name: "cross-group", Height: vg.Length(len(d.Ks)) * panelHeight, Data: d,
		Caption: "Healing across groups: one client in k groups, each compromise steals its state in all k at once. " +
			"Kaplan–Meier fraction of compromises healed vs time to the healing commit (compromises.csv heal_commit_s, " +
			"pooled over seeds and over the groups of a class; unhealed compromises right-censored at the end, so a " +
			"curve stays flat after its last event; a flat line at 0: none healed). Lines: the client runs its own " +
			"self-updates in all k groups, or in 1 of them (group 0) — its curve in that group, and in the other k−1. " +
			"Legend: healed/compromises."}
	style := 0 // one legend for all panels: styles continue across them
	for i, k := range d.Ks {
		p := newPlot(fmt.Sprintf("time to the healing commit (hours), k = %d groups", k), "fraction healed")
		logAxis(&p.X)
		p.Y.Min, p.Y.Max = 0, 1
		p.Y.Tick.Marker = linTicks{}
		for _, s := range d.Series[i] {
			if err := addSeries(p, f, style, s, seriesOpts{line: true, step: true, logX: true}); err != nil {
				return nil, err
			}
			style++
		}
		f.Panels = append(f.Panels, p)
	}
	return f.finish(), nil
}
