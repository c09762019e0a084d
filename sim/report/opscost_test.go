package report

import (
	"errors"
	"math"
	"testing"
)

func TestOpsCost(t *testing.T) {
	runs := []OpsRun{
		{Series: "b", Members: 8, PerOp: 4}, {Series: "b", Members: 8, PerOp: 6},
		{Series: "a", Members: 16, PerOp: 5}, {Series: "a", Members: 8, PerOp: 3},
		{Series: "a", Members: 8, PerOp: 5}, {Series: "a", Members: 8, PerOp: 7},
	}
	d, err := OpsCost(runs)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Series) != 2 || d.Series[0].Name != "a" || d.Series[1].Name != "b" {
		t.Fatalf("series %+v, want a then b", d.Series)
	}
	a := d.Series[0].Points
	// a at N = 8: 3, 5, 7: mean 5, sample sd 2; at N = 16 one run: sd 0.
	if len(a) != 2 || a[0].X != 8 || a[0].Y != 5 || a[0].YLo != 3 || a[0].YHi != 7 || a[0].N != 3 ||
		a[1].X != 16 || a[1].Y != 5 || a[1].YLo != 5 || a[1].N != 1 {
		t.Fatalf("series a: %+v", a)
	}
	if b := d.Series[1].Points; len(b) != 1 || b[0].Y != 5 || math.Abs(b[0].YHi-5-math.Sqrt2) > 1e-12 {
		t.Fatalf("series b: %+v", b)
	}
	if l := d.Log2N.Points; len(l) != 2 || l[0].Y != 3 || l[1].Y != 4 {
		t.Fatalf("log2 N: %+v", l)
	}
	if _, err := OpsCostFigure(d); err != nil {
		t.Fatal(err)
	}
	if _, err := OpsCost(runs[:1]); !errors.Is(err, ErrTooFewRows) {
		t.Fatalf("one run: %v, want ErrTooFewRows", err)
	}
	// OpsGroup: skipped of drawn summed over seeds, final size mean ± sd.
	g := OpsGroup([]OpsRun{
		{Series: "b", Members: 8, Done: 78, Skipped: 2, Final: 6}, {Series: "a", Members: 16, Done: 160, Final: 16},
		{Series: "a", Members: 8, Done: 80, Final: 9}, {Series: "a", Members: 8, Done: 79, Skipped: 1, Final: 11},
	})
	if len(g) != 3 || g[0] != (OpsGroupRow{Series: "a", N: 8, Skipped: 1, Drawn: 160, FinalMean: 10, FinalSD: math.Sqrt2}) ||
		g[1].Series != "a" || g[1].N != 16 || g[1].FinalSD != 0 || g[2].Series != "b" || g[2].Skipped != 2 || g[2].Drawn != 80 {
		t.Fatalf("OpsGroup = %+v", g)
	}
	// OpsEncryptions: the commits from the start on, path ciphertexts plus
	// adds, over the operations.
	eps := []Epoch{{Time: 0, Adds: 7}, {Time: 5, PathCiphertexts: 100}, {Time: 10, PathCiphertexts: 3},
		{Time: 20, PathCiphertexts: 0, Adds: 1}, {Time: 30, PathCiphertexts: 4}}
	if y, err := OpsEncryptions(eps, 10, 4); err != nil || y != 2 {
		t.Fatalf("OpsEncryptions = %v, %v, want (3+1+4)/4 = 2", y, err)
	}
}
