package report

import (
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// pointLabels draws the point labels of a plot's series ("2h", "1d", ...)
// where they cover nothing: no other label, marker, error bar or line, and
// stay inside the data area. A series' labels share one place around their
// points where they can (the first of labelPlaces that leaves most of them
// clear: the series reads consistently); a label that would cover
// something there takes its own first clear place, or else the place that
// covers least. Placement runs when the plot is drawn, on the final canvas,
// and visits series, points and places in a fixed order, so it is
// deterministic. Add it after every series, so it is drawn on top;
// addSeries registers each series (labelled or not) as obstacles.
type pointLabels struct {
	series []labelSeries
}

// labelSeries is one series as the label placer sees it.
type labelSeries struct {
	points Points // after forLog
	color  color.Color
	line   bool      // consecutive points of a segment are joined
	width  vg.Length // line width
	radius vg.Length // marker radius; 0: no marker
	bar    vg.Length // error bar line width
	cap    vg.Length // error bar cap width
	label  bool      // draw the points' labels
}

const labelFontSize = 6

func labelStyle(c color.Color) text.Style {
	return text.Style{Color: c, Font: font.From(plot.DefaultFont, vg.Points(labelFontSize)),
		XAlign: draw.XLeft, YAlign: draw.YBottom, Handler: plot.DefaultTextHandler}
}

// segment is a straight piece of a drawn line, with its half width.
type segment struct {
	a, b vg.Point
	half vg.Length
}

// placedLabel is a label at its chosen place: the text's anchor (for
// FillText) and its box.
type placedLabel struct {
	text  string
	style text.Style
	at    vg.Point
	rect  vg.Rectangle
}

// labelPlaces are the places tried around a point: the label's bottom-left
// corner relative to the point, for a marker of radius r and a label w
// wide and h high. First the four quadrants, close to the point but clear
// of its marker and of error bars through it (upper ones first when upper
// is set: the series lies above the others), then centred above, below,
// right and left, then all of these farther out, to clear error-bar caps.
func labelPlaces(r, w, h vg.Length, upper bool) []vg.Point {
	gx := r + vg.Points(1)  // right of the marker and a vertical bar
	lift := vg.Points(1.5)  // above a horizontal bar through the point
	g := r + vg.Points(1.2) // above or below the marker
	ur, ul := vg.Point{X: gx, Y: lift}, vg.Point{X: -gx - w, Y: lift}
	lr, ll := vg.Point{X: gx, Y: -lift - h}, vg.Point{X: -gx - w, Y: -lift - h}
	near := []vg.Point{lr, ll, ur, ul}
	if upper {
		near = []vg.Point{ur, ul, lr, ll}
	}
	near = append(near,
		vg.Point{X: -w / 2, Y: g}, vg.Point{X: -w / 2, Y: -g - h}, // above, below
		vg.Point{X: gx, Y: -h / 2}, vg.Point{X: -gx - w, Y: -h / 2}) // right, left
	out := append([]vg.Point(nil), near...)
	const far = 4 // points farther out
	for _, p := range near {
		switch {
		case p.X >= 0:
			p.X += far
		case p.X < -w/2:
			p.X -= far
		}
		switch {
		case p.Y >= lift:
			p.Y += far
		case p.Y < -h/2:
			p.Y -= far
		}
		out = append(out, p)
	}
	return out
}

// obstacles returns what labels must not cover on canvas c: a box around
// every marker and every drawn line piece (lines between points, error bars
// and their caps); and each series' mean height on the canvas.
func (l *pointLabels) obstacles(c draw.Canvas, plt *plot.Plot) (boxes []vg.Rectangle, segs []segment, meanY []float64) {
	trX, trY := plt.Transforms(&c)
	at := func(x, y float64) vg.Point { return vg.Point{X: trX(x), Y: trY(y)} }
	meanY = make([]float64, len(l.series))
	for i, s := range l.series {
		for _, seg := range s.points.segments() {
			for j, q := range seg {
				p := at(q.X, q.Y)
				meanY[i] += float64(p.Y) / float64(len(s.points))
				if r := s.radius; r > 0 {
					boxes = append(boxes, vg.Rectangle{Min: vg.Point{X: p.X - r, Y: p.Y - r}, Max: vg.Point{X: p.X + r, Y: p.Y + r}})
				}
				if s.line && j > 0 {
					segs = append(segs, segment{at(seg[j-1].X, seg[j-1].Y), p, s.width / 2})
				}
				h, cw := s.bar/2, s.cap/2
				if q.YLo < q.Y || q.YHi > q.Y {
					lo, hi := at(q.X, q.YLo), at(q.X, q.YHi)
					segs = append(segs, segment{lo, hi, h},
						segment{vg.Point{X: lo.X - cw, Y: lo.Y}, vg.Point{X: lo.X + cw, Y: lo.Y}, h},
						segment{vg.Point{X: hi.X - cw, Y: hi.Y}, vg.Point{X: hi.X + cw, Y: hi.Y}, h})
				}
				if q.XLo != 0 || q.XHi != 0 {
					lo, hi := at(q.XLo, q.Y), at(q.XHi, q.Y)
					segs = append(segs, segment{lo, hi, h},
						segment{vg.Point{X: lo.X, Y: lo.Y - cw}, vg.Point{X: lo.X, Y: lo.Y + cw}, h},
						segment{vg.Point{X: hi.X, Y: hi.Y - cw}, vg.Point{X: hi.X, Y: hi.Y + cw}, h})
				}
			}
		}
	}
	return boxes, segs, meanY
}

// labelMargin is the clear space kept around a label.
const labelMargin = vg.Length(0.6)

// place chooses every label's place on canvas c.
func (l *pointLabels) place(c draw.Canvas, plt *plot.Plot) []placedLabel {
	trX, trY := plt.Transforms(&c)
	at := func(x, y float64) vg.Point { return vg.Point{X: trX(x), Y: trY(y)} }
	boxes, segs, meanY := l.obstacles(c, plt) // placed labels join boxes
	cost := func(b vg.Rectangle) float64 { return labelCost(b, labelMargin, c.Rectangle, boxes, segs) }
	var out []placedLabel
	for i, s := range l.series {
		if !s.label {
			continue
		}
		// The series' labels go above its points when it lies above the
		// other series on average (below otherwise; above when alone).
		upper, others, n := true, 0.0, 0
		for k := range l.series {
			if k != i && len(l.series[k].points) > 0 {
				others += meanY[k]
				n++
			}
		}
		if n > 0 {
			upper = meanY[i] >= others/float64(n)
		}
		sty := labelStyle(s.color)
		type item struct {
			q      Point
			r      vg.Rectangle // text rectangle relative to its anchor
			places []vg.Rectangle
		}
		var items []item
		for _, q := range s.points {
			if q.Label == "" {
				continue
			}
			p := at(q.X, q.Y)
			r := sty.Rectangle(q.Label)
			w, h := r.Max.X-r.Min.X, r.Max.Y-r.Min.Y
			it := item{q: q, r: r}
			for _, off := range labelPlaces(s.radius, w, h, upper) {
				min := vg.Point{X: p.X + off.X, Y: p.Y + off.Y}
				it.places = append(it.places, vg.Rectangle{Min: min, Max: vg.Point{X: min.X + w, Y: min.Y + h}})
			}
			items = append(items, it)
		}
		if len(items) == 0 {
			continue
		}
		// One place for the whole series where possible: the first that
		// leaves the most of its labels clear of everything.
		common, most := 0, -1
		for k := range items[0].places {
			n := len(boxes)
			clear := 0
			for _, it := range items {
				if cost(it.places[k]) == 0 {
					clear++
				}
				boxes = append(boxes, it.places[k])
			}
			boxes = boxes[:n]
			if clear > most {
				common, most = k, clear
			}
		}
		// Each label keeps the common place unless it covers something
		// there; then it takes its own first place of least cost.
		for _, it := range items {
			best, bestCost := common, cost(it.places[common])
			for k := 0; bestCost > 0 && k < len(it.places); k++ {
				if c := cost(it.places[k]); c < bestCost {
					best, bestCost = k, c
				}
			}
			box := it.places[best]
			boxes = append(boxes, box)
			out = append(out, placedLabel{text: it.q.Label, style: sty, at: box.Min.Sub(it.r.Min), rect: box})
		}
	}
	return out
}

// labelCost is how much of box (grown by margin) covers the boxes and
// segments, plus (heavily weighted) how much of it lies outside area; 0
// when it covers nothing.
func labelCost(box vg.Rectangle, margin vg.Length, area vg.Rectangle, boxes []vg.Rectangle, segs []segment) float64 {
	grown := vg.Rectangle{Min: vg.Point{X: box.Min.X - margin, Y: box.Min.Y - margin},
		Max: vg.Point{X: box.Max.X + margin, Y: box.Max.Y + margin}}
	cost := 0.0
	for _, b := range boxes {
		cost += overlapArea(grown, b)
	}
	for _, s := range segs {
		g := vg.Rectangle{Min: vg.Point{X: grown.Min.X - s.half, Y: grown.Min.Y - s.half},
			Max: vg.Point{X: grown.Max.X + s.half, Y: grown.Max.Y + s.half}}
		cost += clippedLength(s.a, s.b, g) * float64(2*s.half+1)
	}
	inside := overlapArea(box, area)
	cost += 10 * (area2(box) - inside)
	return cost
}

func area2(r vg.Rectangle) float64 { return float64(r.Max.X-r.Min.X) * float64(r.Max.Y-r.Min.Y) }

// overlapArea is the area of a ∩ b.
func overlapArea(a, b vg.Rectangle) float64 {
	w := min(a.Max.X, b.Max.X) - max(a.Min.X, b.Min.X)
	h := min(a.Max.Y, b.Max.Y) - max(a.Min.Y, b.Min.Y)
	if w <= 0 || h <= 0 {
		return 0
	}
	return float64(w) * float64(h)
}

// clippedLength is the length of segment ab inside r (Liang–Barsky).
func clippedLength(a, b vg.Point, r vg.Rectangle) float64 {
	t0, t1 := 0.0, 1.0
	dx, dy := float64(b.X-a.X), float64(b.Y-a.Y)
	for _, e := range [4][2]float64{
		{-dx, float64(a.X - r.Min.X)}, {dx, float64(r.Max.X - a.X)},
		{-dy, float64(a.Y - r.Min.Y)}, {dy, float64(r.Max.Y - a.Y)},
	} {
		p, q := e[0], e[1]
		if p == 0 {
			if q < 0 {
				return 0
			}
			continue
		}
		t := q / p
		if p < 0 {
			t0 = max(t0, t)
		} else {
			t1 = min(t1, t)
		}
	}
	if t0 >= t1 {
		return 0
	}
	return (t1 - t0) * math.Hypot(dx, dy)
}

// Plot implements plot.Plotter.
func (l *pointLabels) Plot(c draw.Canvas, plt *plot.Plot) {
	for _, pl := range l.place(c, plt) {
		c.FillText(pl.style, pl.at, pl.text)
	}
}
