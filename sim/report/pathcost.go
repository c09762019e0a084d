package report

import (
	"fmt"
	"maps"
	"math"
	"slices"
)

// ---- UpdatePath ciphertexts in a bare vs a full tree ----

// PathCostData is the path-cost figure's data: UpdatePath HPKE ciphertexts
// of pure self-update commits (a path, no Add or Remove) vs group size, per
// tree state before the commit. Bare: every parent node within the
// occupied width is blank (e.g. right after an add-only commit created the
// group); Full: no blank node within the occupied width and no unmerged
// leaf (every parent set, as after each member committed once). One point
// per group size: mean, bars min–max over the commits. Reference series:
// N−1 and ceil(log2 N) at the same group sizes.
type PathCostData struct {
	Bare, Full         Series
	NMinus1, CeilLog2N Series
	BareCommits        int
	FullCommits        int
}

// PathCostClass classifies a commit by the tree it was made in (prev is
// the epochs.csv row before it): "bare", "full" or "" (neither, or not a
// pure self-update commit with a path, or a result without the occupied
// columns).
func PathCostClass(prev, e *Epoch) string {
	if !e.Path || e.Adds != 0 || e.Removes != 0 || e.GroupSize != prev.GroupSize || prev.GroupSize < 2 ||
		math.IsNaN(prev.OccupiedNodes) || math.IsNaN(prev.OccupiedBlankNodes) {
		return ""
	}
	switch {
	case prev.OccupiedBlankNodes == 0 && prev.UnmergedLeaves == 0:
		return "full"
	case prev.OccupiedBlankNodes == (prev.OccupiedNodes-1)/2:
		return "bare"
	}
	return ""
}

// PathCost groups the pure self-update commits of runs by tree state
// (PathCostClass) and group size.
func PathCost(runs [][]Epoch) (PathCostData, error) {
	cls := map[string]map[float64][]float64{"bare": {}, "full": {}}
	var d PathCostData
	for _, eps := range runs {
		for i := 1; i < len(eps); i++ {
			c := PathCostClass(&eps[i-1], &eps[i])
			if c == "" {
				continue
			}
			n := eps[i].GroupSize
			cls[c][n] = append(cls[c][n], eps[i].PathCiphertexts)
			if c == "bare" {
				d.BareCommits++
			} else {
				d.FullCommits++
			}
		}
	}
	series := func(name string, byN map[float64][]float64) Series {
		s := Series{Name: name}
		for _, n := range slices.Sorted(maps.Keys(byN)) {
			m, lo, hi, k := meanRange(byN[n])
			s.Points = append(s.Points, Point{X: n, Y: m, YLo: lo, YHi: hi, N: k})
		}
		return s
	}
	d.Bare = series("bare tree (mean, min–max)", cls["bare"])
	d.Full = series("full tree (mean, min–max)", cls["full"])
	d.NMinus1 = Series{Name: "N−1"}
	d.CeilLog2N = Series{Name: "ceil(log2 N)"}
	for _, p := range d.Bare.Points {
		d.NMinus1.Points = append(d.NMinus1.Points, Point{X: p.X, Y: p.X - 1, YLo: p.X - 1, YHi: p.X - 1})
	}
	for _, p := range d.Full.Points {
		l := math.Ceil(math.Log2(p.X))
		d.CeilLog2N.Points = append(d.CeilLog2N.Points, Point{X: p.X, Y: l, YLo: l, YHi: l})
	}
	if d.BareCommits+d.FullCommits == 0 {
		return d, fmt.Errorf("path-cost: %w: no self-update commit in a bare or full tree in the inputs", ErrNoData)
	}
	return d, enough("path-cost", []Series{d.Bare, d.Full})
}
