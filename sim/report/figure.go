package report

import (
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"
)

// ColumnWidth is the width every figure is saved at: one column of a
// two-column paper.
const ColumnWidth = 3.5 * vg.Inch

// PNGDPI is the resolution of PNG output.
const PNGDPI = 300

// Source is one input of a figure or table.
type Source struct {
	Path        string   `json:"path"`
	Scenario    string   `json:"scenario,omitempty"`
	Seeds       []uint64 `json:"seeds,omitempty"`
	Fidelity    string   `json:"fidelity,omitempty"`
	Version     string   `json:"mlslab_version,omitempty"`
	Commit      string   `json:"mlslab_commit,omitempty"`
	Modified    bool     `json:"mlslab_modified,omitempty"`
	Interrupted bool     `json:"interrupted,omitempty"`
	Note        string   `json:"note,omitempty"`
}

// Version identifies the mlslab build that drew a figure.
type Version struct {
	Version  string `json:"mlslab_version"`
	Commit   string `json:"mlslab_commit,omitempty"`
	Modified bool   `json:"mlslab_modified"`
}

// Sidecar is the NAME.json written next to every figure.
type Sidecar struct {
	Figure    string   `json:"figure"`
	Caption   string   `json:"caption"`
	Files     []string `json:"files"`
	Scenario  string   `json:"scenario"`
	Seeds     []uint64 `json:"seeds"`
	Fidelity  string   `json:"fidelity"`
	Version   string   `json:"mlslab_version"`
	Commit    string   `json:"mlslab_commit,omitempty"`
	Modified  bool     `json:"mlslab_modified"` // always written: false shows clean builds
	PlottedBy Version  `json:"plotted_by"`
	Sources   []Source `json:"sources"`
	Notes     []string `json:"notes,omitempty"`
	Data      any      `json:"data"`
}

// Figure is a drawn figure: one or more panels stacked vertically and a
// legend strip below them (so a legend never covers data).
type Figure struct {
	Name    string // file base name
	Caption string
	Panels  []*plot.Plot
	Legend  *plot.Legend // nil: no legend strip
	Entries int          // legend entries (sizes the strip)
	Height  vg.Length    // total, legend included
	Sources []Source
	Notes   []string
	Data    any // the data behind the figure, stored in the sidecar
}

// Formats are the supported output formats.
var Formats = []string{"png", "svg", "pdf"}

// Sidecar returns the figure's metadata.
func (f *Figure) Sidecar(files []string, tool Version) Sidecar {
	sc := Sidecar{Figure: f.Name, Caption: f.Caption, Files: files, PlottedBy: tool, Sources: f.Sources, Notes: f.Notes, Data: f.Data}
	uniq := func(get func(Source) string) string {
		var vs []string
		seen := map[string]bool{}
		for _, s := range f.Sources {
			v := get(s)
			if v != "" && !seen[v] {
				seen[v] = true
				vs = append(vs, v)
			}
		}
		return strings.Join(vs, ", ")
	}
	sc.Scenario = uniq(func(s Source) string { return s.Scenario })
	sc.Fidelity = uniq(func(s Source) string { return s.Fidelity })
	sc.Version = uniq(func(s Source) string { return s.Version })
	sc.Commit = uniq(func(s Source) string { return s.Commit })
	seeds := map[uint64]bool{}
	for _, s := range f.Sources {
		sc.Modified = sc.Modified || s.Modified
		for _, x := range s.Seeds {
			if !seeds[x] {
				seeds[x] = true
				sc.Seeds = append(sc.Seeds, x)
			}
		}
	}
	sort.Slice(sc.Seeds, func(i, j int) bool { return sc.Seeds[i] < sc.Seeds[j] })
	if sc.Version == "" {
		sc.Version = tool.Version
	}
	if sc.Commit == "" && tool.Commit != "" {
		// Runs built without VCS stamping (go run, -buildvcs=false) record
		// no commit; name the plotting build's instead, and say so.
		sc.Commit, sc.Modified = tool.Commit, sc.Modified || tool.Modified
		sc.Notes = append(sc.Notes, "mlslab_commit is the commit of the build that drew the figure: the inputs record none")
	}
	if sc.Seeds == nil {
		sc.Seeds = []uint64{}
	}
	return sc
}

// Save writes DIR/NAME.<format> for each format and DIR/NAME.json, and
// returns the paths written.
func (f *Figure) Save(dir string, formats []string, tool Version) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	for _, fm := range formats {
		path := filepath.Join(dir, f.Name+"."+fm)
		out, err := os.Create(path)
		if err != nil {
			return files, err
		}
		err = f.Render(out, fm)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return files, fmt.Errorf("%s: %w", path, err)
		}
		files = append(files, path)
	}
	names := make([]string, len(files))
	for i, p := range files {
		names[i] = filepath.Base(p)
	}
	b, err := json.MarshalIndent(f.Sidecar(names, tool), "", "  ")
	if err != nil {
		return files, err
	}
	side := filepath.Join(dir, f.Name+".json")
	if err := os.WriteFile(side, append(b, '\n'), 0o644); err != nil {
		return files, err
	}
	return append(files, side), nil
}

// legendHeight is the strip below the panels for the legend.
func (f *Figure) legendHeight() vg.Length {
	if f.Legend == nil || f.Entries == 0 {
		return 0
	}
	return vg.Length(f.Entries)*legendFont*1.22 + 0.8*legendFont
}

const legendFont = vg.Length(6.5)

// pdfDefaults makes PDF output reproducible: fpdf writes the time of
// writing as the document's CreationDate and ModDate unless a default is
// set, so the same figure drawn twice differed in those bytes. The dates
// are fixed at the Unix epoch (a figure's provenance is its sidecar), and
// the resource catalogs are sorted. These are fpdf's process-wide
// defaults; the report package is this program's only PDF writer.
var pdfDefaults = sync.OnceFunc(func() {
	epoch := time.Unix(0, 0).UTC()
	fpdf.SetDefaultCreationDate(epoch)
	fpdf.SetDefaultModificationDate(epoch)
	fpdf.SetDefaultCatalogSort(true)
})

// Render draws the figure in format (png, svg or pdf) to w.
func (f *Figure) Render(w io.Writer, format string) error {
	wd, ht := ColumnWidth, f.Height
	var c vg.CanvasWriterTo
	switch format {
	case "png":
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(wd, ht), vgimg.UseDPI(PNGDPI))}
	case "svg":
		c = vgsvg.New(wd, ht)
	case "pdf":
		pdfDefaults()
		p := vgpdf.New(wd, ht)
		p.EmbedFonts(true)
		c = p
	default:
		return fmt.Errorf("unknown format %q (want png, svg or pdf)", format)
	}
	if len(f.Panels) == 0 {
		return fmt.Errorf("figure %s has no panels", f.Name)
	}
	f.draw(draw.New(c))
	_, err := c.WriteTo(w)
	return err
}

// draw draws the figure on dc and returns each panel's data area: the
// panels fill dc above the legend strip, but for a little room at the top
// and right so nothing touches the edge; the legend starts at the left edge
// of the (first) data area.
func (f *Figure) draw(dc draw.Canvas) []draw.Canvas {
	lh := f.legendHeight()
	area := draw.Crop(dc, 0, -vg.Points(3), lh, -vg.Points(2))
	data := drawColumn(f.Panels, area, vg.Points(4))
	if lh > 0 {
		strip := draw.Crop(dc, 0, 0, 0, lh-dc.Max.Y+dc.Min.Y)
		l := *f.Legend
		l.XOffs = data[0].Min.X - area.Min.X
		l.Draw(strip)
	}
	return data
}

// drawColumn draws panels stacked in area, pad apart, with equal data
// heights and aligned data areas, and returns each panel's data area.
//
// It draws the axis labels itself: plot v0.17 reserves room for a centred
// axis label as a glyph box at the axis's arithmetic midpoint,
// Norm((Min+Max)/2), which on a log axis lies near its top or right end, so
// a long label made the plot shrink its data area from the top or the right
// and left that part of the figure empty. Here each label's room is cropped
// off explicitly and the label is centred on its data area (shifted only as
// far as needed to stay inside the figure).
func drawColumn(panels []*plot.Plot, area draw.Canvas, pad vg.Length) []draw.Canvas {
	type labels struct{ x, y string }
	saved := make([]labels, len(panels))
	for i, p := range panels {
		saved[i] = labels{p.X.Label.Text, p.Y.Label.Text}
		p.X.Label.Text, p.Y.Label.Text = "", ""
	}
	defer func() {
		for i, p := range panels {
			p.X.Label.Text, p.Y.Label.Text = saved[i].x, saved[i].y
		}
	}()
	xRoom := func(i int) vg.Length {
		a := &panels[i].X
		if saved[i].x == "" {
			return 0
		}
		return a.Label.TextStyle.Height(saved[i].x) + a.Label.Padding
	}
	yRoom := func(i int) vg.Length {
		a := &panels[i].Y
		if saved[i].y == "" {
			return 0
		}
		return a.Label.TextStyle.FontExtents().Descent + a.Label.TextStyle.Height(saved[i].y) + a.Label.Padding
	}
	inner := func(i int, tile draw.Canvas) draw.Canvas { return draw.Crop(tile, yRoom(i), 0, xRoom(i), 0) }

	// Margins around each data area, measured in an equal share of area
	// (as plot.Align does: they barely depend on the tile's size).
	n := len(panels)
	share := (area.Max.Y - area.Min.Y - pad*vg.Length(n-1)) / vg.Length(n)
	type margins struct{ l, r, b, t vg.Length }
	ms := make([]margins, n)
	var left, right, total vg.Length
	for i, p := range panels {
		tile := area
		tile.Max.Y = area.Max.Y - vg.Length(i)*(share+pad)
		tile.Min.Y = tile.Max.Y - share
		d := p.DataCanvas(inner(i, tile))
		ms[i] = margins{d.Min.X - tile.Min.X, tile.Max.X - d.Max.X, d.Min.Y - tile.Min.Y, tile.Max.Y - d.Max.Y}
		left, right = max(left, ms[i].l), max(right, ms[i].r)
		total += ms[i].b + ms[i].t
	}
	height := (area.Max.Y - area.Min.Y - pad*vg.Length(n-1) - total) / vg.Length(n)

	out := make([]draw.Canvas, n)
	top := area.Max.Y
	for i, p := range panels {
		tile := area
		tile.Max.Y, tile.Min.Y = top, top-ms[i].t-height-ms[i].b
		top = tile.Min.Y - pad
		shifted := tile
		shifted.Min.X += left - ms[i].l
		shifted.Max.X -= right - ms[i].r
		c := inner(i, shifted)
		p.Draw(c)
		d := p.DataCanvas(c)
		out[i] = d
		if t := saved[i].x; t != "" {
			sty := p.X.Label.TextStyle
			x := within((d.Min.X+d.Max.X)/2, sty.Width(t)/2, area.Min.X, area.Max.X)
			tile.FillText(sty, vg.Point{X: x, Y: tile.Min.Y + sty.FontExtents().Descent}, t)
		}
		if t := saved[i].y; t != "" {
			sty := p.Y.Label.TextStyle
			rot := sty
			rot.Rotation += math.Pi / 2
			y := within((d.Min.Y+d.Max.Y)/2, sty.Width(t)/2, tile.Min.Y, tile.Max.Y)
			tile.FillText(rot, vg.Point{X: area.Min.X + sty.Height(t) - sty.FontExtents().Descent, Y: y}, t)
		}
	}
	return out
}

// within moves the centre c of something half long so that it lies in
// [lo, hi], if it fits.
func within(c, half, lo, hi vg.Length) vg.Length {
	if hi-lo < 2*half {
		return (lo + hi) / 2
	}
	return min(max(c, lo+half), hi-half)
}

// ---- style: series apart in colour and in greyscale ----

// seriesStyles is the style list of every figure with several series. The
// colours are Okabe and Ito's colour-blind-safe palette (yellow left out:
// too light for lines on white), ordered so neighbouring entries differ in
// grey level too; the dash patterns differ in kind (solid, long dash, dot,
// dash-dot, dash-dot-dot, short dash, long-short dash, sparse dot), not only
// in length, so a greyscale print tells every series apart by its pattern
// and marker alone. Dotted patterns get a heavier line so their dots stay
// visible. The first two entries are black and vermillion, the most
// different pair, for the many two-series figures.
var seriesStyles = []struct {
	color  color.RGBA
	dashes []vg.Length
	width  vg.Length
	glyph  draw.GlyphDrawer
}{
	{color.RGBA{0x00, 0x00, 0x00, 0xff}, nil, 1, draw.CircleGlyph{}},                                 // black, solid
	{color.RGBA{0xd5, 0x5e, 0x00, 0xff}, []vg.Length{6, 2.5}, 1.1, draw.TriangleGlyph{}},             // vermillion, long dash
	{color.RGBA{0x00, 0x72, 0xb2, 0xff}, []vg.Length{0.9, 1.6}, 1.5, draw.SquareGlyph{}},             // blue, dotted
	{color.RGBA{0xe6, 0x9f, 0x00, 0xff}, []vg.Length{5, 1.6, 1.2, 1.6}, 1.3, draw.CrossGlyph{}},      // orange, dash-dot
	{color.RGBA{0x00, 0x9e, 0x73, 0xff}, []vg.Length{4, 1.5, 1, 1.5, 1, 1.5}, 1.1, draw.RingGlyph{}}, // bluish green, dash-dot-dot
	{color.RGBA{0x56, 0xb4, 0xe9, 0xff}, []vg.Length{2, 1.5}, 1.3, draw.PyramidGlyph{}},              // sky blue, short dash
	{color.RGBA{0x66, 0x66, 0x66, 0xff}, []vg.Length{8, 2, 2.5, 2}, 1.3, draw.BoxGlyph{}},            // grey, long-short dash
	{color.RGBA{0xcc, 0x79, 0xa7, 0xff}, []vg.Length{1, 3}, 1.5, draw.PlusGlyph{}},                   // reddish purple, sparse dots
}

// seriesStyle returns the line and marker style of series i: colour, dash
// pattern, width and glyph all vary (seriesStyles).
func seriesStyle(i int) (draw.LineStyle, draw.GlyphStyle) {
	st := seriesStyles[i%len(seriesStyles)]
	ls := draw.LineStyle{Color: st.color, Width: st.width, Dashes: st.dashes}
	gs := draw.GlyphStyle{Color: st.color, Radius: vg.Points(2.2), Shape: st.glyph}
	return ls, gs
}

func newPlot(xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.X.Label.Text, p.Y.Label.Text = xlabel, ylabel
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font.Size = vg.Points(8)
		a.Tick.Label.Font.Size = vg.Points(7)
		a.Padding = vg.Points(3)
		a.Label.Padding = vg.Points(2)
	}
	p.Title.Padding = 0
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = color.Gray{0xdd}, color.Gray{0xdd}
	g.Vertical.Width, g.Horizontal.Width = vg.Points(0.4), vg.Points(0.4)
	p.Add(g)
	return p
}

func newLegend() *plot.Legend {
	l := plot.NewLegend()
	l.TextStyle.Font.Size = legendFont
	l.Top, l.Left = true, true
	l.XOffs = vg.Points(28)
	l.YOffs = -vg.Points(2)
	l.ThumbnailWidth = vg.Points(20)
	l.Padding = vg.Points(1.5)
	return &l
}

// logAxis makes a a log-scale axis with decade labels (and 2, 5 labels
// when the range spans less than two decades).
func logAxis(a *plot.Axis) {
	a.Scale = plot.LogScale{}
	a.Tick.Marker = logTicks{}
}

// logTicks is plot.LogTicks without its two gaps: it labels decades below
// 1 (LogTicks starts at 10^trunc(log10 min), so 0.3..30 loses 0.1) and adds
// 2 and 5 labels on short ranges.
type logTicks struct{}

func (logTicks) Ticks(min, max float64) []plot.Tick {
	if min <= 0 || max <= 0 || min > max {
		return nil
	}
	lo, hi := int(math.Floor(math.Log10(min))), int(math.Ceil(math.Log10(max)))
	decades := 0
	for k := lo; k <= hi; k++ {
		if v := math.Pow10(k); v >= min*(1-1e-9) && v <= max*(1+1e-9) {
			decades++
		}
	}
	dense := decades < 3 // label 2 and 5 too when few decades are in range
	var ts []plot.Tick
	labels := 0
	for k := lo; k <= hi; k++ {
		base := math.Pow10(k)
		for m := 1; m < 10; m++ {
			v := base * float64(m)
			if v < min*(1-1e-9) || v > max*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || (dense && (m == 2 || m == 5)) {
				t.Label = siLabel(v)
				labels++
			}
			ts = append(ts, t)
		}
	}
	if labels < 2 {
		// Less than a decade: plain linear ticks read better.
		return linTicks{}.Ticks(min, max)
	}
	return ts
}

// linTicks puts 3 to 7 labelled ticks at 1, 2, 2.5 or 5 times a power of
// ten, with unlabelled ticks between.
type linTicks struct{}

func (linTicks) Ticks(min, max float64) []plot.Tick {
	if !(max > min) {
		return []plot.Tick{{Value: min, Label: siLabel(min)}}
	}
	raw := (max - min) / 5
	mag := math.Pow10(int(math.Floor(math.Log10(raw))))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	minor := step / 2
	decimals := 0
	if d := -int(math.Floor(math.Log10(step))); d > 0 {
		decimals = d
		if step/math.Pow10(-d) == 2.5 {
			decimals++
		}
	}
	var ts []plot.Tick
	for v := math.Ceil(min/minor) * minor; v <= max*(1+1e-12)+1e-12; v += minor {
		t := plot.Tick{Value: v}
		if r := math.Mod(math.Abs(v)+step*1e-9, step); r < step*1e-6 {
			t.Label = strconv.FormatFloat(v, 'f', decimals, 64)
			if math.Abs(v) >= 1e4 {
				t.Label = siLabel(v)
			}
		}
		ts = append(ts, t)
	}
	return ts
}

// siLabel formats a tick value compactly: 0.01, 0.5, 20, 1k, 50k, 2M, 1G.
func siLabel(v float64) string {
	for _, u := range []struct {
		f float64
		s string
	}{{1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if v >= u.f {
			return strconv.FormatFloat(v/u.f, 'g', 3, 64) + u.s
		}
	}
	if math.Abs(v) < 1e-12 {
		return "0"
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

type seriesOpts struct {
	line, points, step bool
	logX, logY         bool
	// labels, if not nil, gets the series' geometry (so other series'
	// labels avoid it) and, with label true, draws its points' labels.
	labels *pointLabels
	label  bool
}

// forLog drops points a log axis cannot show and error bars reaching 0.
func forLog(s Series, logX, logY bool) Series {
	out := Series{Name: s.Name}
	for _, p := range s.Points {
		if (logX && p.X <= 0) || (logY && p.Y <= 0) || math.IsNaN(p.X) || math.IsNaN(p.Y) {
			continue
		}
		if logY && p.YLo <= 0 {
			p.YLo = p.Y
		}
		if logX && p.XLo < 0 {
			p.XLo, p.XHi = 0, 0
		}
		out.Points = append(out.Points, p)
	}
	return out
}

// addSeries draws series i on p and adds its legend entry to f's legend
// (if f is not nil).
func addSeries(p *plot.Plot, f *Figure, i int, s Series, o seriesOpts) error {
	s = forLog(s, o.logX, o.logY)
	if len(s.Points) == 0 {
		return nil
	}
	ls, gs := seriesStyle(i)
	var thumbs []plot.Thumbnailer
	var lone Points // segments of one point: drawn as markers
	if o.line && len(s.Points) > 1 {
		// One line per segment: never join across a Break (missing data).
		for _, seg := range s.Points.segments() {
			if len(seg) == 1 {
				lone = append(lone, seg[0])
				continue
			}
			l, err := plotter.NewLine(seg)
			if err != nil {
				return fmt.Errorf("series %q: %w", s.Name, err)
			}
			l.LineStyle = ls
			if o.step {
				l.StepStyle = plotter.PostStep
			}
			p.Add(l)
			if len(thumbs) == 0 {
				thumbs = append(thumbs, l)
			}
		}
	}
	if !o.points && len(s.Points) > 1 && len(lone) > 0 {
		sc, err := plotter.NewScatter(lone)
		if err != nil {
			return fmt.Errorf("series %q: %w", s.Name, err)
		}
		sc.GlyphStyle = gs
		sc.GlyphStyle.Radius = vg.Points(1.2)
		p.Add(sc)
	}
	if o.points || len(s.Points) == 1 {
		sc, err := plotter.NewScatter(s.Points)
		if err != nil {
			return fmt.Errorf("series %q: %w", s.Name, err)
		}
		sc.GlyphStyle = gs
		p.Add(sc)
		thumbs = append(thumbs, sc)
	}
	bar := draw.LineStyle{Color: ls.Color, Width: vg.Points(0.6)}
	if s.Points.hasSpread() {
		eb, err := plotter.NewYErrorBars(s.Points)
		if err != nil {
			return fmt.Errorf("series %q: %w", s.Name, err)
		}
		eb.LineStyle, eb.CapWidth = bar, vg.Points(3)
		p.Add(eb)
	}
	if s.Points.hasXSpread() {
		eb, err := plotter.NewXErrorBars(s.Points)
		if err != nil {
			return fmt.Errorf("series %q: %w", s.Name, err)
		}
		eb.LineStyle, eb.CapWidth = bar, vg.Points(3)
		p.Add(eb)
	}
	if o.labels != nil {
		ser := labelSeries{points: s.Points, color: ls.Color, line: o.line && !o.step, width: ls.Width, bar: bar.Width, cap: vg.Points(3), label: o.label}
		if o.points || len(s.Points) == 1 {
			ser.radius = gs.Radius
		}
		o.labels.series = append(o.labels.series, ser)
	}
	if f != nil {
		if f.Legend == nil {
			f.Legend = newLegend()
		}
		f.Legend.Add(s.Name, thumbs...)
		f.Entries++
	}
	return nil
}
