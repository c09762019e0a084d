package report

import (
	"bytes"
	"fmt"
	"image/color"
	"testing"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// frontierSample is the pcs-policies sweep's frontier (rounded): the two
// series' 3d and 7d points are close, with long x error bars, where labels
// at a fixed offset overlapped each other and the bars.
func frontierSample() FrontierData {
	return FrontierData{Lines: true, Series: []Series{
		{Name: "update_as=commit", Points: Points{
			{X: 2.16, Y: 3.14, XLo: 1.48, XHi: 4.94, YLo: 2.81, YHi: 3.61, N: 10, Label: "2h"},
			{X: 4.19, Y: 1.73, XLo: 2.51, XHi: 7.36, YLo: 1.56, YHi: 1.97, N: 10, Label: "6h"},
			{X: 13.3, Y: 1.14, XLo: 10.4, XHi: 17.2, YLo: 1.03, YHi: 1.29, N: 10, Label: "1d"},
			{X: 37.3, Y: 1.03, XLo: 19.7, XHi: 53, YLo: 0.958, YHi: 1.16, N: 10, Label: "3d"},
			{X: 80.3, Y: 1.07, XLo: 38.1, XHi: 135, YLo: 1.01, YHi: 1.19, N: 10, Label: "7d"},
		}},
		{Name: "update_as=proposal", Points: Points{
			{X: 2.23, Y: 27.2, XLo: 0.885, XHi: 4.94, YLo: 22, YHi: 37.8, N: 10, Label: "2h"},
			{X: 4.33, Y: 10.9, XLo: 2.39, XHi: 7.53, YLo: 8.85, YHi: 15.1, N: 10, Label: "6h"},
			{X: 13, Y: 3.8, XLo: 8.7, XHi: 17.2, YLo: 3.14, YHi: 5.08, N: 10, Label: "1d"},
			{X: 36.6, Y: 1.9, XLo: 20.1, XHi: 58.4, YLo: 1.64, YHi: 2.39, N: 10, Label: "3d"},
			{X: 79.5, Y: 1.38, XLo: 48.9, XHi: 120, YLo: 1.22, YHi: 1.66, N: 10, Label: "7d"},
		}},
	}}
}

// TestFrontierLabelsClear: every label is drawn, inside the data area,
// near its point, and covers no other label, marker, line or error bar;
// placing twice gives the same places.
func TestFrontierLabelsClear(t *testing.T) {
	f, labels, err := frontierFigure(frontierSample())
	if err != nil {
		t.Fatal(err)
	}
	data := f.draw(draw.New(vgimg.New(ColumnWidth, f.Height)))
	c, p := data[0], f.Panels[0]
	placed := labels.place(c, p)
	if len(placed) != 10 {
		t.Fatalf("%d labels placed, want 10", len(placed))
	}
	boxes, segs, _ := labels.obstacles(c, p)
	trX, trY := p.Transforms(&c)
	k := 0
	for _, s := range frontierSample().Series {
		for _, q := range s.Points {
			pl := placed[k]
			k++
			var others []vg.Rectangle
			for j, o := range placed {
				if j != k-1 {
					others = append(others, o.rect)
				}
			}
			if pl.text != q.Label {
				t.Fatalf("label %d is %q, want %q", k, pl.text, q.Label)
			}
			if cost := labelCost(pl.rect, 0, c.Rectangle, append(boxes, others...), segs); cost != 0 {
				t.Errorf("%s %s at %v: covers something or leaves the data area (cost %g)", s.Name, q.Label, pl.rect, cost)
			}
			// Near its point: the box's nearest edge within 12 points.
			px, py := trX(q.X), trY(q.Y)
			dx := max(pl.rect.Min.X-px, px-pl.rect.Max.X, 0)
			dy := max(pl.rect.Min.Y-py, py-pl.rect.Max.Y, 0)
			if dx > 12 || dy > 12 {
				t.Errorf("%s %s: %v is (%g, %g) pt from its point", s.Name, q.Label, pl.rect, dx, dy)
			}
		}
	}
	again := labels.place(c, p)
	for i := range placed {
		if again[i].rect != placed[i].rect {
			t.Errorf("label %d placed at %v, then at %v", i, placed[i].rect, again[i].rect)
		}
	}
}

// TestClippedLength: the length of a segment inside a rectangle.
func TestClippedLength(t *testing.T) {
	r := vg.Rectangle{Min: vg.Point{X: 0, Y: 0}, Max: vg.Point{X: 10, Y: 10}}
	for _, c := range []struct {
		a, b vg.Point
		want float64
	}{
		{vg.Point{X: -5, Y: 5}, vg.Point{X: 15, Y: 5}, 10},   // across
		{vg.Point{X: 5, Y: 5}, vg.Point{X: 5, Y: 20}, 5},     // from inside out
		{vg.Point{X: -5, Y: -5}, vg.Point{X: 15, Y: -5}, 0},  // below
		{vg.Point{X: 0, Y: 0}, vg.Point{X: 10, Y: 10}, 14.1}, // diagonal
		{vg.Point{X: 11, Y: 0}, vg.Point{X: 20, Y: 10}, 0},   // right of it
	} {
		if got := clippedLength(c.a, c.b, r); got < c.want-0.1 || got > c.want+0.1 {
			t.Errorf("clippedLength(%v, %v) = %g, want %g", c.a, c.b, got, c.want)
		}
	}
}

// TestFigureFillsCanvas: the data area reaches the top and right of the
// figure even with long labels on log axes (plot v0.17 sized their room
// at the axis's arithmetic midpoint, leaving the top and right empty).
func TestFigureFillsCanvas(t *testing.T) {
	f, err := FrontierFigure(frontierSample())
	if err != nil {
		t.Fatal(err)
	}
	dc := draw.New(vgimg.New(ColumnWidth, f.Height))
	d := f.draw(dc)[0]
	if gap := dc.Max.Y - d.Max.Y; gap > vg.Points(12) {
		t.Errorf("%.1f pt empty above the data area", gap)
	}
	if gap := dc.Max.X - d.Max.X; gap > vg.Points(12) {
		t.Errorf("%.1f pt empty right of the data area", gap)
	}
	// The axis labels are restored after drawing.
	if f.Panels[0].X.Label.Text == "" || f.Panels[0].Y.Label.Text == "" {
		t.Error("axis labels lost")
	}
}

// TestRenderDeterministic: the same figure renders to the same bytes, in
// this process and in any other (the PDF dates are fixed).
func TestRenderDeterministic(t *testing.T) {
	f, err := FrontierFigure(frontierSample())
	if err != nil {
		t.Fatal(err)
	}
	for _, fm := range Formats {
		var a, b bytes.Buffer
		if err := f.Render(&a, fm); err != nil {
			t.Fatal(err)
		}
		if err := f.Render(&b, fm); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("%s: two renders differ", fm)
		}
		// Not the time of writing, which would differ across runs.
		if fm == "pdf" && !bytes.Contains(a.Bytes(), []byte("/CreationDate (D:19700101000000)")) {
			t.Error("pdf: CreationDate is not the fixed epoch")
		}
	}
}

// TestSeriesStylesDistinct: no two entries of the style list share a
// colour, a dash pattern or a marker, none is near white, and neighbours
// differ in grey level.
func TestSeriesStylesDistinct(t *testing.T) {
	seen := map[string]int{}
	for i, s := range seriesStyles {
		for _, key := range []string{"c" + fmtKey(s.color), "d" + fmtKey(s.dashes), "g" + fmtKey(s.glyph)} {
			if j, dup := seen[key]; dup {
				t.Errorf("styles %d and %d share %s", j, i, key)
			}
			seen[key] = i
		}
		y := int(color.GrayModel.Convert(s.color).(color.Gray).Y)
		if y > 0xb0 {
			t.Errorf("style %d: grey level %#x, too light on white", i, y)
		}
		if i > 0 {
			prev := int(color.GrayModel.Convert(seriesStyles[i-1].color).(color.Gray).Y)
			if d := y - prev; d > -0x18 && d < 0x18 {
				t.Errorf("styles %d and %d: grey levels %#x and %#x, too close in greyscale print", i-1, i, prev, y)
			}
		}
	}
}

func fmtKey(v any) string { return fmt.Sprintf("%T:%v", v, v) }
