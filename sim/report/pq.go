package report

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
)

// The pq-ratio figure (issue 16, notebooks/pq-cost.md): what a
// post-quantum cipher suite costs relative to suite 0x0001, per group
// size, from pairs of runs of one scenario and seed that differ only in
// the suite (the simulated timelines are then identical: same commits,
// joins, compromises; only sizes and CPU times differ).

// PQCost is one run's costs.
type PQCost struct {
	Dir      string
	Suite    uint16
	Fidelity string
	// Members is the mean group size over the run's epochs.
	Members float64
	// PathCommitBytes is the median size of commits with an UpdatePath
	// (the self-update commits, and the victims' healing commits).
	PathCommitBytes float64
	// WelcomeBytes is the median size of Welcomes to a single joiner after
	// the initial adds (ratchet tree inline, when the scenario says so).
	WelcomeBytes float64
	// HandshakeBytesPerMemberDay is summary.json's handshake_bytes_per_member_day.
	HandshakeBytesPerMemberDay float64
	// JoinCPUUs is the measured mean CPU time of a real member processing
	// its Welcome (summary.json real.welcome_process_cpu_mean_us); NaN at model.
	JoinCPUUs float64
	// CommitCPUUs is the measured mean CPU time of creating a commit
	// (real.commit_create_cpu_mean_us); NaN at model.
	CommitCPUUs float64
	// HealCommitHours is the Kaplan–Meier median time from compromise to
	// the healing commit (heal_commit_seconds_median / 3600; NaN when
	// undefined): set by the policy, the same for both suites of a pair.
	HealCommitHours float64
}

// PQPair is the classical and post-quantum run of one scenario and seed.
type PQPair struct {
	Scenario       string
	Seed           uint64
	Classical, PQ  PQCost
	Ratio          map[string]float64 // metric name -> PQ / classical
	TimelinesEqual bool               // same commits and epochs in both runs
}

// PQRatioData holds the pairs (in group-size order) and one ratio series
// per metric.
type PQRatioData struct {
	Pairs  []PQPair
	Series []Series
}

// pqMetrics are the ratio series, in legend order.
var pqMetrics = []struct {
	key, name string
	get       func(c *PQCost) float64
}{
	{"commit", "commit with UpdatePath (size)", func(c *PQCost) float64 { return c.PathCommitBytes }},
	{"welcome", "Welcome, one joiner (size)", func(c *PQCost) float64 { return c.WelcomeBytes }},
	{"handshake", "handshake bytes / member / day (run mean)", func(c *PQCost) float64 { return c.HandshakeBytesPerMemberDay }},
	{"join_cpu", "join CPU (sampled)", func(c *PQCost) float64 { return c.JoinCPUUs }},
	{"commit_cpu", "commit create CPU (sampled)", func(c *PQCost) float64 { return c.CommitCPUUs }},
}

// initialAddsEnd: Welcomes before this virtual time (s) belong to the
// group's initial construction and are not counted.
const initialAddsEnd = 60

// PQCosts reads one run's costs.
func PQCosts(r *Run) (PQCost, error) {
	eps, err := ReadEpochs(r.Dir, 2)
	if err != nil {
		return PQCost{}, err
	}
	s := &r.Summary
	c := PQCost{Dir: r.Dir, Suite: s.Suite, Fidelity: s.Fidelity,
		HandshakeBytesPerMemberDay: s.Metric("handshake_bytes_per_member_day"),
		JoinCPUUs:                  s.RealMetric("welcome_process_cpu_mean_us"),
		CommitCPUUs:                s.RealMetric("commit_create_cpu_mean_us"),
		HealCommitHours:            s.Metric("heal_commit_seconds_median") / 3600}
	var path, welcome []float64
	sum := 0.0
	for _, e := range eps {
		sum += e.GroupSize
		if e.Path {
			path = append(path, e.CommitBytes)
		}
		if e.Adds == 1 && e.WelcomeBytes > 0 && e.Time >= initialAddsEnd {
			welcome = append(welcome, e.WelcomeBytes)
		}
	}
	c.Members = sum / float64(len(eps))
	c.PathCommitBytes, _, _, _ = summarize(path, 0.5, 0.5)
	c.WelcomeBytes, _, _, _ = summarize(welcome, 0.5, 0.5)
	return c, nil
}

// PQRatio pairs runs by scenario name and seed: in each pair one run has
// suite 0x0001 and the other a different suite (one post-quantum suite
// across all pairs). A run without a partner is an error.
func PQRatio(runs []*Run) (PQRatioData, error) {
	type key struct {
		name string
		seed uint64
	}
	groups := map[key][]*Run{}
	var keys []key
	for _, r := range runs {
		if r.Summary.Suite == 0 {
			return PQRatioData{}, fmt.Errorf("%s: summary.json names no suite (a run of an older simulator)", r.Dir)
		}
		k := key{r.Summary.Scenario, r.Summary.Seed}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}
	var d PQRatioData
	var pqSuite uint16
	for _, k := range keys {
		g := groups[k]
		if len(g) != 2 || (g[0].Summary.Suite == 1) == (g[1].Summary.Suite == 1) {
			return PQRatioData{}, fmt.Errorf("pq-ratio: scenario %q seed %d: want one run of suite 1 and one of another suite, got %d runs", k.name, k.seed, len(g))
		}
		if g[0].Summary.Suite != 1 {
			g[0], g[1] = g[1], g[0]
		}
		if pqSuite == 0 {
			pqSuite = g[1].Summary.Suite
		} else if g[1].Summary.Suite != pqSuite {
			return PQRatioData{}, fmt.Errorf("pq-ratio: suites 0x%04x and 0x%04x in one figure", pqSuite, g[1].Summary.Suite)
		}
		p := PQPair{Scenario: k.name, Seed: k.seed, Ratio: map[string]float64{}}
		var err error
		if p.Classical, err = PQCosts(g[0]); err != nil {
			return PQRatioData{}, err
		}
		if p.PQ, err = PQCosts(g[1]); err != nil {
			return PQRatioData{}, err
		}
		a, b := g[0].Summary, g[1].Summary
		p.TimelinesEqual = a.Metric("epochs") == b.Metric("epochs") && a.Metric("commits") == b.Metric("commits") &&
			p.Classical.Members == p.PQ.Members
		for _, m := range pqMetrics {
			p.Ratio[m.key] = m.get(&p.PQ) / m.get(&p.Classical)
		}
		d.Pairs = append(d.Pairs, p)
	}
	if len(d.Pairs) == 0 {
		return d, fmt.Errorf("pq-ratio: %w", ErrNoData)
	}
	slices.SortFunc(d.Pairs, func(a, b PQPair) int { return cmp.Compare(a.Classical.Members, b.Classical.Members) })
	for _, m := range pqMetrics {
		s := Series{Name: m.name}
		brk := false
		for _, p := range d.Pairs {
			r := p.Ratio[m.key]
			if math.IsNaN(r) || math.IsInf(r, 0) {
				brk = true // a missing value: the line does not cross it
				continue
			}
			s.Points = append(s.Points, Point{X: p.Classical.Members, Y: r, YLo: r, YHi: r, N: 1, Break: brk && len(s.Points) > 0})
			brk = false
		}
		if len(s.Points) > 0 {
			d.Series = append(d.Series, s)
		}
	}
	return d, nil
}

// PQRatioFigure: PQ / classical cost ratio vs group size, log x.
func PQRatioFigure(d PQRatioData) (*Figure, error) {
	if err := enough("pq-ratio", d.Series); err != nil {
		return nil, err
	}
	for _, p := range d.Pairs {
		if !p.TimelinesEqual {
			return nil, errors.New("pq-ratio: the runs of " + p.Scenario + " differ in more than the suite (epochs, commits or group sizes)")
		}
	}
	pq := d.Pairs[0].PQ.Suite
	p := newPlot("group size (members)", fmt.Sprintf("suite 0x%04x / suite 0x0001", pq))
	logAxis(&p.X)
	logAxis(&p.Y)
	f := single("pq-ratio", fmt.Sprintf("Cost of suite 0x%04x relative to suite 0x0001 vs group size, one point per "+
		"pair of runs of one scenario and seed that differ only in the suite (identical timelines). Sizes are medians "+
		"(commits with an UpdatePath; Welcomes to one joiner after the initial adds); CPU is the measured mean of real "+
		"MLS (fidelity sampled only, so those lines stop where model runs begin).", pq), p, d)
	for i, s := range d.Series {
		if err := addSeries(p, f, i, s, seriesOpts{line: true, points: true, logX: true, logY: true}); err != nil {
			return nil, err
		}
	}
	return f.finish(), nil
}

// jsonOrNull is v for JSON, nil (null) for NaN and infinities, which
// encoding/json refuses (CPU times of model runs, their ratios).
func jsonOrNull(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

// MarshalJSON writes the costs with null for the undefined ones.
func (c PQCost) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"dir": c.Dir, "suite": c.Suite, "fidelity": c.Fidelity, "members": jsonOrNull(c.Members),
		"path_commit_bytes_p50": jsonOrNull(c.PathCommitBytes), "welcome_bytes_p50": jsonOrNull(c.WelcomeBytes),
		"handshake_bytes_per_member_day": jsonOrNull(c.HandshakeBytesPerMemberDay), "join_cpu_mean_us": jsonOrNull(c.JoinCPUUs),
		"commit_create_cpu_mean_us": jsonOrNull(c.CommitCPUUs), "heal_commit_km_median_hours": jsonOrNull(c.HealCommitHours)})
}

// MarshalJSON writes the pair with null for undefined ratios.
func (p PQPair) MarshalJSON() ([]byte, error) {
	r := map[string]any{}
	for k, v := range p.Ratio {
		r[k] = jsonOrNull(v)
	}
	return json.Marshal(map[string]any{"scenario": p.Scenario, "seed": p.Seed, "classical": p.Classical, "pq": p.PQ,
		"ratio": r, "timelines_equal": p.TimelinesEqual})
}
