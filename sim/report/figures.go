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
	p := newPlot("group size (members)", "commit size (bytes)")
	logAxis(&p.X)
	logAxis(&p.Y)
	f := single("commit-size", fmt.Sprintf("Size of commits with an UpdatePath vs group size: median per half-octave "+
		"of group size, bars p10–p90. A tree is near-full when its mean copath resolution is at most %g·log2(leaves). "+
		"%d commits.", d.Stretch, d.Commits), p, d)
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
	p := newPlot("group size (members)", "time per operation (ms)")
	logAxis(&p.X)
	logAxis(&p.Y)
	f := single("cost", "Median CPU time per operation (go test -bench, ns/op) vs group size; bars min–max over -count repeats.", p, d)
	for i, s := range d.Series {
		if err := addSeries(p, f, i, s, seriesOpts{line: true, points: true, logX: true, logY: true}); err != nil {
			return nil, err
		}
	}
	return f.finish(), nil
}

// TreeHealthFigure: blank-node fraction (top) and mean copath resolution
// (bottom, log) over virtual time, one line per run.
func TreeHealthFigure(d TreeHealthData) (*Figure, error) {
	if err := enough("tree-health", d.Blank); err != nil {
		return nil, err
	}
	top := newPlot("", "blank nodes (fraction)")
	bot := newPlot("time ("+d.TimeUnit+")", "mean copath resolution (nodes)")
	top.X.Tick.Marker, bot.X.Tick.Marker, top.Y.Tick.Marker = linTicks{}, linTicks{}, linTicks{}
	logAxis(&bot.Y)
	f := &Figure{Name: "tree-health", Panels: []*plot.Plot{top, bot}, Height: 2*panelHeight - 0.4*vg.Inch, Data: d,
		Caption: "Tree health under churn: fraction of blank nodes in the array tree (top) and mean copath resolution " +
			"size, i.e. HPKE ciphertexts per commit a member would send (bottom), averaged per time bin."}
	for i := range d.Blank {
		if err := addSeries(top, f, i, d.Blank[i], seriesOpts{line: true}); err != nil {
			return nil, err
		}
		if i < len(d.Copath) {
			if err := addSeries(bot, nil, i, d.Copath[i], seriesOpts{line: true, logY: true}); err != nil {
				return nil, err
			}
		}
	}
	top.X.Min, bot.X.Min = 0, 0
	top.Y.Min = 0
	top.Y.Max = math.Min(1, math.Ceil(top.Y.Max*10+0.01)/10)
	return f.finish(), nil
}

// HealingCDFFigure: empirical CDF of PCS healing time (top, hours, log)
// and healing epochs (bottom, log), one step line per policy.
func HealingCDFFigure(d HealingData) (*Figure, error) {
	if err := enough("healing-cdf", d.Time); err != nil {
		return nil, err
	}
	top := newPlot("healing time (hours)", "fraction healed")
	bot := newPlot("healing epochs (commits)", "fraction healed")
	for _, p := range []*plot.Plot{top, bot} {
		logAxis(&p.X)
		p.Y.Min, p.Y.Max = 0, 1
	}
	f := &Figure{Name: "healing-cdf", Panels: []*plot.Plot{top, bot}, Height: 2*panelHeight - 0.2*vg.Inch, Data: d,
		Caption: "CDF of post-compromise healing per policy: time until every member processed the healing commit (top) " +
			"and epochs until the first epoch the adversary cannot derive (bottom). Legend: healed/compromises; " +
			"unhealed compromises keep a curve below 1."}
	for i := range d.Time {
		if err := addSeries(top, f, i, d.Time[i], seriesOpts{line: true, step: true, logX: true}); err != nil {
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
// frontier.
func FrontierFigure(d FrontierData) (*Figure, error) {
	if err := enough("frontier", d.Series); err != nil {
		return nil, err
	}
	p := newPlot("median healing time (hours)", "bandwidth/member (MB/day)")
	logAxis(&p.X)
	logAxis(&p.Y)
	f := single("frontier", "Cost/security frontier: received bytes per member per day vs median PCS healing time; "+
		"points labelled by the update setting, mean over seeds with min–max bars.", p, d)
	for i, s := range d.Series {
		if err := addSeries(p, f, i, s, seriesOpts{line: d.Lines, points: true, labels: true, logX: true, logY: true}); err != nil {
			return nil, err
		}
	}
	return f.finish(), nil
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
