package report

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// ---- Operation-count workloads: HPKE encryptions per operation (issue 14 study 3) ----

// OpsRun is one run of an operation-count workload (scenario section
// operations) as summary.json gives it: the members at its first counted
// operation (operations_start_members) and its HPKE encryptions per
// operation (operations_encryptions_per_op). Series names its variant.
// Done and Skipped are the operations carried out (the denominator of
// PerOp) and those skipped (a remove with no member to remove: they are
// not operations of the run and not in PerOp); Final is the group size at
// the end (final_members): adds and removes balance only on average.
type OpsRun struct {
	Series  string
	Members float64
	PerOp   float64
	Done    float64
	Skipped float64
	Final   float64
}

// OpsRunFrom reads an OpsRun from a loaded run; ok is false when the run
// has no operation-count workload.
func OpsRunFrom(series string, r *Run) (OpsRun, bool) {
	m := r.Summary.Metrics
	n, y := m["operations_start_members"], m["operations_encryptions_per_op"]
	if n <= 0 {
		return OpsRun{}, false
	}
	return OpsRun{Series: series, Members: n, PerOp: y, Done: m["operations_add"] + m["operations_remove"] + m["operations_update"],
		Skipped: m["operations_skipped"], Final: m["final_members"]}, true
}

// OpsGroupRow is one variant and initial size of OpsGroup.
type OpsGroupRow struct {
	Series             string
	N                  float64
	Skipped, Drawn     float64 // operations skipped, of all drawn, over the seeds
	FinalMean, FinalSD float64 // group size at the end: mean ± sample sd over the seeds
}

// OpsGroup is, per series and initial size N (sorted), the operations
// skipped (a remove when the issuer and the founder are the only members:
// not carried out, so not in the denominator of the encryptions per
// operation) out of all drawn, and the group size at the end: adds and
// removes balance only on average, so the size is a random walk around N.
func OpsGroup(runs []OpsRun) []OpsGroupRow {
	type key struct {
		series string
		n      float64
	}
	rows := map[key]*OpsGroupRow{}
	final := map[key][]float64{}
	for _, r := range runs {
		k := key{r.Series, r.Members}
		g := rows[k]
		if g == nil {
			g = &OpsGroupRow{Series: r.Series, N: r.Members}
			rows[k] = g
		}
		g.Skipped += r.Skipped
		g.Drawn += r.Skipped + r.Done
		final[k] = append(final[k], r.Final)
	}
	var out []OpsGroupRow
	for _, k := range slices.SortedFunc(maps.Keys(rows), func(a, b key) int {
		if a.series != b.series {
			return strings.Compare(a.series, b.series)
		}
		return cmp.Compare(a.n, b.n)
	}) {
		g := rows[k]
		g.FinalMean, g.FinalSD, _ = meanStdDev(final[k])
		out = append(out, *g)
	}
	return out
}

// OpsEncryptions recomputes operations_encryptions_per_op from epochs.csv
// (a cross-check of the simulator's count): over the commits at or after
// start (operations_start_s), path_ciphertexts plus adds (one
// EncryptedGroupSecrets per added member, RFC 9420 §12.4.3.1), divided by
// ops, the operations carried out. Per operation, not per commit: an
// operation whose commit was merged into a later one is counted once.
func OpsEncryptions(eps []Epoch, start, ops float64) (float64, error) {
	if len(eps) < 2 || ops <= 0 {
		return 0, fmt.Errorf("ops cost: %w: %d epochs, %v operations", ErrNoData, len(eps), ops)
	}
	var enc float64
	for i := 1; i < len(eps); i++ {
		if e := &eps[i]; e.Time >= start {
			enc += e.PathCiphertexts + e.Adds
		}
	}
	return enc / ops, nil
}

// OpsCostData is the ops-cost figure's data: per series (variant), the
// mean over seeds of the HPKE encryptions per operation vs the initial
// group size, bars ± one sample standard deviation (N = seeds), and the
// reference log2 N.
type OpsCostData struct {
	Series []Series
	Log2N  Series
}

// OpsCost groups runs by series and initial group size.
func OpsCost(runs []OpsRun) (OpsCostData, error) {
	type key struct {
		series string
		n      float64
	}
	vals := map[key][]float64{}
	var names []string
	var ns []float64
	for _, r := range runs {
		n0, y := r.Members, r.PerOp
		k := key{r.Series, n0}
		vals[k] = append(vals[k], y)
		if !slices.Contains(names, r.Series) {
			names = append(names, r.Series)
		}
		if !slices.Contains(ns, n0) {
			ns = append(ns, n0)
		}
	}
	slices.Sort(names)
	slices.Sort(ns)
	var d OpsCostData
	for _, name := range names {
		s := Series{Name: name}
		for _, k := range slices.SortedFunc(maps.Keys(vals), func(a, b key) int { return int(a.n - b.n) }) {
			if k.series != name {
				continue
			}
			m, sd, _ := meanStdDev(vals[k])
			s.Points = append(s.Points, Point{X: k.n, Y: m, YLo: m - sd, YHi: m + sd, N: len(vals[k])})
		}
		d.Series = append(d.Series, s)
	}
	d.Log2N = Series{Name: "log2 N"}
	for _, n := range ns {
		l := math.Log2(n)
		d.Log2N.Points = append(d.Log2N.Points, Point{X: n, Y: l, YLo: l, YHi: l})
	}
	return d, enough("ops-cost", d.Series)
}

// OpsCostFigure draws OpsCostData: log-x as the published plot, and log-y
// because the variants span two decades.
func OpsCostFigure(d OpsCostData) (*Figure, error) {
	if err := enough("ops-cost", d.Series); err != nil {
		return nil, err
	}
	return logLogFigure("ops-cost", "HPKE encryptions per operation (UpdatePath ciphertexts, epochs.csv path_ciphertexts, "+
		"plus one EncryptedGroupSecrets per added member) vs the initial group size N of an operation-count workload "+
		"(scenario section operations; the fill updates, if any, left out): mean over seeds, bars ± one standard deviation. One line per "+
		"variant (issuer law, who commits, bare or filled start). Reference line log2 N.",
		"initial group size N (members)", "HPKE encryptions per operation", d,
		append([]Series{d.Log2N}, d.Series...), func(i int) bool { return i >= 1 })
}
