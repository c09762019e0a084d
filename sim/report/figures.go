package report

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// One function per figure (CONVENTIONS.md item 14). Each takes the small
// data type its builder in data.go returns, refuses data with fewer than two
// points (ErrNoData, ErrTooFewRows), and returns a Figure the caller saves
// with Figure.Save, after filling in Figure.Sources.

const (
	panelHeight = 2.3 * vg.Inch
)

func single(name, caption string, p *plot.Plot, data any) *Figure {
	return &Figure{Name: name, Caption: caption, Panels: []*plot.Plot{p}, Height: panelHeight, Data: data}
}

// finish pads log axes by 15% so markers and error-bar caps at the data
// range's ends are not cut, and sizes the figure for its legend.
func (f *Figure) finish() *Figure {
	for _, p := range f.Panels {
		for _, a := range []*plot.Axis{&p.X, &p.Y} {
			if _, ok := a.Scale.(plot.LogScale); ok && a.Min > 0 {
				a.Min, a.Max = a.Min/1.15, a.Max*1.15
			}
		}
	}
	f.Height += f.legendHeight()
	return f
}

// CommitSizeFigure: commit size (bytes) vs group size, near-full vs
// degraded tree, log-log (sizes span three decades on both axes).
func CommitSizeFigure(d CommitSizeData) (*Figure, error) {
	if err := enough("commit-size", []Series{d.Fresh, d.Degraded}); err != nil {
		return nil, err
	}
	p := newPlot("group size (members)", "commit size (B), median, p10–p90")
	logAxis(&p.X)
	logAxis(&p.Y)
	f := single("commit-size", fmt.Sprintf("Size of commits with an UpdatePath vs group size: median per half-octave "+
		"of group size, bars p10–p90; no line across an empty bin. A tree is near-full when its mean copath resolution "+
		"is at most %g·log2(leaves), leaves = the power-of-two tree width. %d commits.", d.Stretch, d.Commits), p, d)
	for i, s := range []Series{d.Fresh, d.Degraded} {
		if err := addSeries(p, f, i, s, seriesOpts{line: true, points: true, logX: true, logY: true}); err != nil {
			return nil, err
		}
	}
	return f.finish(), nil
}

// CostFigure: CPU time of commit create/process and join vs group size,
// sequential vs parallel, log-log.
func CostFigure(d CostData) (*Figure, error) {
	if err := enough("cost", d.Series); err != nil {
		return nil, err
	}
	return logLogFigure("cost", "Median CPU time per operation (go test -bench, ns/op) vs group size; bars min–max over -count repeats.",
		"group size (members)", "time per op (ms), median, min–max", d, d.Series, func(int) bool { return true })
}

// logLogFigure draws ss as lines on log-log axes in one panel, with
// markers where points(i) says so.
func logLogFigure(name, caption, xlabel, ylabel string, data any, ss []Series, points func(i int) bool) (*Figure, error) {
	p := newPlot(xlabel, ylabel)
	logAxis(&p.X)
	logAxis(&p.Y)
	f := single(name, caption, p, data)
	for i, s := range ss {
		if err := addSeries(p, f, i, s, seriesOpts{line: true, points: points(i), logX: true, logY: true}); err != nil {
			return nil, err
		}
	}
	return f.finish(), nil
}

// CommitCPUFigure: measured CPU time of creating a commit with real MLS
// vs group size, log-log.
func CommitCPUFigure(d CostData) (*Figure, error) {
	if err := enough("commit-cpu", d.Series); err != nil {
		return nil, err
	}
	return logLogFigure("commit-cpu", fmt.Sprintf("Measured time of creating each commit with real MLS during the run (epochs.csv "+
		"create_cpu_us: wall time of the committer's Commit call, encoding and Welcome included; uncontended with "+
		"mlssim run --workers 1, as make demo runs it) vs group size: median per half-octave of group size, bars p10–p90; "+
		"bins with fewer than %d commits are not drawn.", CommitCPUMinBin),
		"group size (members)", "time to create a commit (ms), p10–p90", d, d.Series, func(int) bool { return true })
}

// TreeHealthFigure: blank-node fraction of the whole array tree (top),
// within the occupied width (middle) and mean copath resolution (bottom,
// log) over virtual time, one line per run. A time bin with no epoch
// draws no point and breaks the line.
func TreeHealthFigure(d TreeHealthData) (*Figure, error) {
	if err := enough("tree-health", d.Blank); err != nil {
		return nil, err
	}
	top := newPlot("", "blank / (2·leaves−1)")
	mid := newPlot("", "blank, occupied width")
	bot := newPlot("time ("+d.TimeUnit+")", "mean copath resolution (nodes)")
	top.X.Tick.Marker, mid.X.Tick.Marker, bot.X.Tick.Marker = linTicks{}, linTicks{}, linTicks{}
	top.Y.Tick.Marker, mid.Y.Tick.Marker = linTicks{}, linTicks{}
	logAxis(&bot.Y)
	f := &Figure{Name: "tree-health", Panels: []*plot.Plot{top, mid, bot}, Height: 3*panelHeight - 0.6*vg.Inch, Data: d,
		Caption: "Tree health under churn, mean per time bin (a bin with no epoch draws no point; lines break there). " +
			"Top: blank nodes over all 2·leaves−1 nodes of the array tree, leaves = the power-of-two width, so the " +
			"unused right part counts as blank. Middle: blank nodes within the occupied width, the nodes up to the " +
			"rightmost member's leaf (epochs.csv occupied_blank_nodes / occupied_nodes). Bottom: mean copath " +
			"resolution, i.e. HPKE ciphertexts per commit a member would send."}
	for i := range d.Blank {
		if err := addSeries(top, f, i, d.Blank[i], seriesOpts{line: true}); err != nil {
			return nil, err
		}
		if i < len(d.OccupiedBlank) {
			if err := addSeries(mid, nil, i, d.OccupiedBlank[i], seriesOpts{line: true}); err != nil {
				return nil, err
			}
		}
		if i < len(d.Copath) {
			if err := addSeries(bot, nil, i, d.Copath[i], seriesOpts{line: true, logY: true}); err != nil {
				return nil, err
			}
		}
	}
	for _, p := range []*plot.Plot{top, mid} {
		p.X.Min = 0
		p.Y.Min = 0
		p.Y.Max = math.Min(1, math.Ceil(p.Y.Max*10+0.01)/10)
	}
	bot.X.Min = 0
	return f.finish(), nil
}

// HealingCDFFigure: Kaplan–Meier fraction healed, one step line per
// policy: time to the healing commit (top, hours, log), time until every
// member processed it (middle) and epochs to the healing commit (bottom).
func HealingCDFFigure(d HealingData) (*Figure, error) {
	if err := enough("healing-cdf", d.HealCommit, d.AllProcessed); err != nil {
		return nil, err
	}
	top := newPlot("time to the healing commit (hours)", "fraction healed")
	mid := newPlot("time until every member processed it (hours)", "fraction healed")
	bot := newPlot("epochs to the healing commit (from the DS epoch)", "fraction healed")
	for _, p := range []*plot.Plot{top, mid, bot} {
		logAxis(&p.X)
		p.Y.Min, p.Y.Max = 0, 1
		p.Y.Tick.Marker = linTicks{}
	}
	f := &Figure{Name: "healing-cdf", Panels: []*plot.Plot{top, mid, bot}, Height: 3*panelHeight - 0.4*vg.Inch, Data: d,
		Caption: "Post-compromise healing per policy, Kaplan–Meier estimate of the fraction healed (1 − S(t)): " +
			"time until the delivery service accepted the healing commit (top), until every member processed it " +
			"(middle; dominated by offline members), and epochs to the healing commit (bottom). Compromises not " +
			"healed by the end are right-censored, so a curve stays flat below 1 after its last event. " +
			"Legend: healed/compromises. Medians with 95% CIs: mlssim table --kind healing."}
	for i := range d.HealCommit {
		if err := addSeries(top, f, i, d.HealCommit[i], seriesOpts{line: true, step: true, logX: true}); err != nil {
			return nil, err
		}
		if err := addSeries(mid, nil, i, d.AllProcessed[i], seriesOpts{line: true, step: true, logX: true}); err != nil {
			return nil, err
		}
		if err := addSeries(bot, nil, i, d.Epochs[i], seriesOpts{line: true, step: true, logX: true}); err != nil {
			return nil, err
		}
	}
	return f.finish(), nil
}

// FrontierFigure: bandwidth per member per day vs median healing time,
// one labelled point per update setting, log-log: the cost/security
// frontier. The labels are placed clear of each other, the markers, the
// error bars and the lines (pointLabels).
func FrontierFigure(d FrontierData) (*Figure, error) {
	f, _, err := frontierFigure(d)
	return f, err
}

func frontierFigure(d FrontierData) (*Figure, *pointLabels, error) {
	if err := enough("frontier", d.Series); err != nil {
		return nil, nil, err
	}
	p := newPlot("median time to the healing commit (hours, Kaplan–Meier)", "received/member (MB/day, all messages)")
	logAxis(&p.X)
	logAxis(&p.Y)
	f := single("frontier", "Cost/security frontier: bytes received per member per day (handshake and application "+
		"messages; summary.json splits them) vs the Kaplan–Meier median time to the healing commit (censored "+
		"compromises kept; not-reached medians omitted); points labelled by the update setting, mean over seeds "+
		"with min–max bars.", p, d)
	labels := &pointLabels{}
	for i, s := range d.Series {
		if err := addSeries(p, f, i, s, seriesOpts{line: d.Lines, points: true, labels: labels, label: true, logX: true, logY: true}); err != nil {
			return nil, nil, err
		}
	}
	p.Add(labels) // after the series: drawn on top of them
	return f.finish(), labels, nil
}

// CollisionsFigure: commit collision rate vs commit rate, one line per
// latency setting.
func CollisionsFigure(d CollisionData) (*Figure, error) {
	if err := enough("collisions", d.Series); err != nil {
		return nil, err
	}
	p := newPlot("accepted commits per minute", "collision rate (%)")
	logAxis(&p.X)
	p.Y.Tick.Marker = linTicks{}
	f := single("collisions", "Commit collisions (commits rejected by the delivery service because another commit "+
		"won the epoch) over attempted commits, vs commit rate, per one-way latency; mean over seeds, bars min–max.", p, d)
	for i, s := range d.Series {
		if err := addSeries(p, f, i, s, seriesOpts{line: true, points: true, logX: true}); err != nil {
			return nil, err
		}
	}
	p.Y.Min = 0
	p.Y.Max *= 1.08 // room above the top marker and its error bar
	return f.finish(), nil
}

// PathCostFigure: UpdatePath HPKE ciphertexts per self-update commit vs
// group size in a bare and in a full tree, with the N−1 and ceil(log2 N)
// references, log-log. Lines without bars (one point per group size would
// hide them): the bare tree's mean, the full tree's mean and maximum; the
// sidecar keeps min and max of both.
func PathCostFigure(d PathCostData) (*Figure, error) {
	if err := enough("path-cost", []Series{d.Bare, d.Full}); err != nil {
		return nil, err
	}
	p := newPlot("group size N (members)", "UpdatePath HPKE ciphertexts")
	logAxis(&p.X)
	logAxis(&p.Y)
	f := single("path-cost", fmt.Sprintf("HPKE encryptions of a self-update commit's UpdatePath (epochs.csv "+
		"path_ciphertexts) vs group size, by the tree it is made in: bare (every parent blank, %d commits) and full "+
		"(no blank node, no unmerged leaf, %d commits). Bare and full: mean per group size; full max: the largest. "+
		"Reference lines: N−1 and ceil(log2 N).", d.BareCommits, d.FullCommits), p, d)
	noBars := func(name string, s Series, y func(Point) float64) Series {
		out := Series{Name: name}
		for _, q := range s.Points {
			v := y(q)
			out.Points = append(out.Points, Point{X: q.X, Y: v, YLo: v, YHi: v, N: q.N})
		}
		return out
	}
	mean := func(q Point) float64 { return q.Y }
	ss := []Series{d.NMinus1, d.CeilLog2N, noBars("bare tree", d.Bare, mean), noBars("full tree, mean", d.Full, mean),
		noBars("full tree, max", d.Full, func(q Point) float64 { return q.YHi })}
	for i, s := range ss {
		if err := addSeries(p, f, i, s, seriesOpts{line: true, logX: true, logY: true}); err != nil {
			return nil, err
		}
	}
	return f.finish(), nil
}
