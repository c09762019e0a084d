package report

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"
)

const benchOut = `goos: linux
goarch: amd64
pkg: github.com/mlslab/mlslab/mls
cpu: AMD EPYC
BenchmarkCommit/create/cs=0x0001/n=1024/tree=full         	       3	   9000000 ns/op	      1534 commit-bytes	  111448 B/op	    1193 allocs/op
BenchmarkCommit/create/cs=0x0001/n=1024/tree=full-2       	       3	   5000000 ns/op	      1534 commit-bytes	  111448 B/op	    1193 allocs/op
BenchmarkCommit/create/cs=0x0001/n=1024/tree=full-2       	       3	   7000000 ns/op	      1534 commit-bytes	  111448 B/op	    1193 allocs/op
BenchmarkCommit/create/cs=0x0001/n=16384/tree=full-2      	       1	  20000000 ns/op	      2002 commit-bytes	  148920 B/op	    1507 allocs/op
BenchmarkCommit/create/cs=0x0001/n=16384/tree=degraded-2  	       1	  90000000 ns/op
BenchmarkUpdatePath/cs=0x0001/n=1024/tree=full/create-seq-2	       1	   1000 ns/op
some log line from a benchmark
PASS
ok  	github.com/mlslab/mlslab/mls	12.3s
pkg: github.com/mlslab/mlslab/mls/treemath
BenchmarkCopath/n=1024/mode=alloc-2    	 1000000	      1000 ns/op
`

func TestParseBench(t *testing.T) {
	rows, err := ParseBench(strings.NewReader(benchOut))
	if err != nil {
		t.Fatal(err)
	}
	// 3 lines x 4 units + 1 x 4 + 1 + 1 + 1.
	if len(rows) != 3*4+4+1+1+1 {
		t.Fatalf("got %d rows", len(rows))
	}
	r := rows[0]
	if r.Pkg != "github.com/mlslab/mlslab/mls" || r.Benchmark != "BenchmarkCommit/create/cs=0x0001/n=1024/tree=full" ||
		r.Base != "Commit" || r.Op != "create" || r.CS != "0x0001" || r.N != 1024 || r.Tree != "full" ||
		r.Procs != 1 || r.Run != 0 || r.Iterations != 3 || r.Unit != "ns/op" || r.Value != 9e6 || r.Mode != "" {
		t.Errorf("row 0 = %+v", r)
	}
	if rows[1].Unit != "commit-bytes" || rows[1].Value != 1534 {
		t.Errorf("custom metric = %+v", rows[1])
	}
	if r := rows[8]; r.Procs != 2 || r.Run != 1 {
		t.Errorf("second -2 repeat: procs %d run %d", r.Procs, r.Run)
	}
	up := rows[len(rows)-2]
	if up.Base != "UpdatePath" || up.Op != "create" || up.Mode != "sequential" || up.Procs != 2 {
		t.Errorf("mode suffix: %+v", up)
	}
	cp := rows[len(rows)-1]
	if cp.Pkg != "github.com/mlslab/mlslab/mls/treemath" || cp.Params != "mode=alloc" && cp.Mode != "" {
		t.Errorf("treemath row: %+v", cp)
	}

	// CSV round trip.
	var buf bytes.Buffer
	if err := WriteBenchCSV(&buf, rows); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bench.csv")
	os.WriteFile(path, buf.Bytes(), 0o644)
	if !IsBenchCSV(path) {
		t.Fatal("IsBenchCSV = false")
	}
	back, err := ReadBench(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(rows) {
		t.Fatalf("round trip: %d rows, want %d", len(back), len(rows))
	}
	for i := range rows {
		if back[i] != rows[i] {
			t.Errorf("row %d: %+v != %+v", i, back[i], rows[i])
		}
	}
}

func TestCost(t *testing.T) {
	rows, _ := ParseBench(strings.NewReader(benchOut))
	d, err := Cost(rows, CostSelect{Ops: []string{"Commit/create"}, Tree: "full"})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Series) != 2 {
		t.Fatalf("series = %+v", d.Series)
	}
	seq, par := d.Series[0], d.Series[1]
	if seq.Name != "commit create, GOMAXPROCS=1" || len(seq.Points) != 1 || seq.Points[0].Y != 9 {
		t.Errorf("sequential = %+v", seq)
	}
	// n=1024: two repeats 5 and 7 ms: median (nearest rank) 5, bars 5..7.
	if par.Name != "commit create, GOMAXPROCS=2" || len(par.Points) != 2 {
		t.Fatalf("parallel = %+v", par)
	}
	if p := par.Points[0]; p.X != 1024 || p.Y != 5 || p.YLo != 5 || p.YHi != 7 || p.N != 2 {
		t.Errorf("parallel n=1024 = %+v", p)
	}
	if p := par.Points[1]; p.X != 16384 || p.Y != 20 {
		t.Errorf("parallel n=16384 = %+v (degraded must be filtered out)", p)
	}
	if _, err := Cost(rows, CostSelect{Ops: []string{"Join"}}); !errors.Is(err, ErrNoData) {
		t.Errorf("no Join rows: err = %v, want ErrNoData", err)
	}
	if _, err := CostFigure(d); err != nil {
		t.Errorf("CostFigure: %v", err)
	}
}

// benchstat -format csv output captured from
// golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da.
const benchstatCSV = `goos: linux
goarch: amd64
pkg: github.com/mlslab/mlslab/mls
cpu: AMD EPYC
,old.txt,,new.txt,,,
,sec/op,CI,sec/op,CI,vs base,P
Commit/create/n=1024/tree=full-2,0.0010075000000000001,1%,0.0013000000000000002,0%,+29.03%,p=0.002 n=6
Join/n=1024-2,0.0005025000000000001,0%,0.000503,0%,~,p=0.699 n=6
Commit/process/n=1024/tree=full-2,0.001,1%,0.00105,0%,+5.00%,p=0.002 n=6
Faster-2,0.002,1%,0.001,0%,-50.00%,p=0.002 n=6
geomean,0.000711525649572804,,0.0008086408349817613,,+13.65%,

,old.txt,,new.txt,,,
,B/op,CI,B/op,CI,vs base,P
Commit/create/n=1024/tree=full-2,2000,0%,4000,0%,+100.00%,p=0.002 n=6
geomean,1999.9999999999998,,1999.9999999999998,,+0.00%,
`

func TestBenchstat(t *testing.T) {
	cs, err := ParseBenchstatCSV(strings.NewReader(benchstatCSV))
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 5 {
		t.Fatalf("got %d comparisons: %+v", len(cs), cs)
	}
	c := cs[0]
	if c.Pkg != "github.com/mlslab/mlslab/mls" || c.Name != "Commit/create/n=1024/tree=full-2" || c.Unit != "sec/op" ||
		c.DeltaPct != 29.03 || c.P != 0.002 || c.Samples != "n=6" || !c.Significant() {
		t.Errorf("first = %+v", c)
	}
	if cs[1].Significant() || cs[1].P != 0.699 {
		t.Errorf("~ row = %+v", cs[1])
	}
	reg := Regressions(cs, "sec/op", 10, 0.05)
	if len(reg) != 1 || reg[0].Name != "Commit/create/n=1024/tree=full-2" {
		t.Errorf("regressions (10%%) = %+v", reg)
	}
	if reg := Regressions(cs, "sec/op", 4, 0.05); len(reg) != 2 {
		t.Errorf("regressions (4%%) = %+v", reg)
	}
	if reg := Regressions(cs, "sec/op", 10, 0.001); len(reg) != 0 {
		t.Errorf("alpha 0.001: %+v", reg)
	}
	if reg := Regressions(cs, "B/op", 10, 0.05); len(reg) != 1 {
		t.Errorf("B/op: %+v", reg)
	}
}

// writeRun writes a minimal run directory.
func writeRun(t *testing.T, epochs, comps string) string {
	t.Helper()
	dir := t.TempDir()
	sum := `{"scenario":"unit","seed":7,"fidelity":"model","horizon":"1d","metrics":{"healing_seconds_p50":7200,"bandwidth_bytes_per_member_day":2e6,"healing_epochs_p50":-1},"run":{"mlslab_version":"(devel)","mlslab_commit":"abc"}}`
	os.WriteFile(filepath.Join(dir, "summary.json"), []byte(sum), 0o644)
	os.WriteFile(filepath.Join(dir, "epochs.csv"), []byte(epochs), 0o644)
	os.WriteFile(filepath.Join(dir, "compromises.csv"), []byte(comps), 0o644)
	return dir
}

const epochHeader = "epoch,time_s,committer,commit_bytes,welcome_bytes,path_ciphertexts,group_size,leaves,blank_nodes,blank_parents,unmerged_leaves,mean_copath_resolution,collisions,retries,adds,removes,updates,path,ratchet_tree_bytes\n"
const compHeader = "id,time_s,victim,user,signature_key,victim_epoch,ds_epoch,healed,heal_epoch,heal_epochs,heal_commit_delay_s,healing_time_s,all_processed,unprocessed_at_end,exposure\n"

func TestEmptyAndOneRowFiles(t *testing.T) {
	empty := writeRun(t, epochHeader, compHeader)
	if _, err := ReadEpochs(empty, 2); !errors.Is(err, ErrNoData) || !strings.Contains(err.Error(), "no data rows") {
		t.Errorf("header-only epochs.csv: err = %v", err)
	}
	if _, err := ReadCompromises(empty); !errors.Is(err, ErrNoData) {
		t.Errorf("header-only compromises.csv: err = %v", err)
	}
	one := writeRun(t, epochHeader+"1,1.0,0,2000,0,10,100,128,0,0,0,7.0,0,0,0,0,1,1,100\n",
		compHeader+"0,10.0,3,3,false,1,1,true,2,1,1.0,3600.0,true,0,5\n")
	if _, err := ReadEpochs(one, 2); !errors.Is(err, ErrTooFewRows) {
		t.Errorf("one-row epochs.csv: err = %v", err)
	}
	cs, err := ReadCompromises(one)
	if err != nil {
		t.Fatal(err)
	}
	// An older simulator's columns: all-processed time, commit delay and
	// exposure are read under their old names; the DS-epoch count is
	// heal_epoch − ds_epoch.
	if c := cs[0]; !c.Legacy || c.HealingTime != 3600 || c.HealCommit != 1 || c.Exposure != 5 || c.HealCommitEpochs != 1 {
		t.Errorf("old compromises.csv row read as %+v", c)
	}
	if _, err := HealingCDF([]string{"one"}, [][]Compromise{cs}); !errors.Is(err, ErrTooFewRows) {
		t.Errorf("one compromise: err = %v", err)
	}
	// Completely empty file (no header).
	os.WriteFile(filepath.Join(empty, "epochs.csv"), nil, 0o644)
	if _, err := ReadEpochs(empty, 2); !errors.Is(err, ErrNoData) {
		t.Errorf("empty epochs.csv: err = %v", err)
	}
	// Every figure refuses empty and single-point data.
	single := []Series{{Name: "x", Points: Points{{X: 1, Y: 1}}}}
	for name, f := range map[string]func() error{
		"commit-size empty": func() error { _, err := CommitSizeFigure(CommitSizeData{}); return err },
		"cost one":          func() error { _, err := CostFigure(CostData{Series: single}); return err },
		"tree-health empty": func() error { _, err := TreeHealthFigure(TreeHealthData{}); return err },
		"healing empty":     func() error { _, err := HealingCDFFigure(HealingData{}); return err },
		"frontier one":      func() error { _, err := FrontierFigure(FrontierData{Series: single}); return err },
		"collisions empty":  func() error { _, err := CollisionsFigure(CollisionData{}); return err },
	} {
		if err := f(); !errors.Is(err, ErrNoData) && !errors.Is(err, ErrTooFewRows) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestCommitSizes(t *testing.T) {
	// 1024 leaves: full-tree resolution log2(1024) = 10; stretch 1.5 -> 15.
	eps := []Epoch{
		{GroupSize: 1000, Leaves: 1024, MeanCopathRes: 10, CommitBytes: 1500, Path: true},
		{GroupSize: 1000, Leaves: 1024, MeanCopathRes: 15, CommitBytes: 1700, Path: true},
		{GroupSize: 1000, Leaves: 1024, MeanCopathRes: 400, CommitBytes: 30000, Path: true},
		{GroupSize: 1000, Leaves: 1024, MeanCopathRes: 400, CommitBytes: 50000, Path: true},
		{GroupSize: 1000, Leaves: 1024, MeanCopathRes: 400, CommitBytes: 999999, Path: false}, // add-only: ignored
		{GroupSize: 100, Leaves: 128, MeanCopathRes: 7, CommitBytes: 1000, Path: true},
	}
	d, err := CommitSizes([][]Epoch{eps}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if d.Commits != 5 || d.Stretch != DefaultFreshStretch {
		t.Errorf("commits %d stretch %g", d.Commits, d.Stretch)
	}
	if len(d.Fresh.Points) != 2 || d.Fresh.Points[0].X != 100 || d.Fresh.Points[0].Y != 1000 ||
		d.Fresh.Points[1].X != 1000 || d.Fresh.Points[1].Y != 1500 || d.Fresh.Points[1].YHi != 1700 || d.Fresh.Points[1].N != 2 {
		t.Errorf("fresh = %+v", d.Fresh.Points)
	}
	if len(d.Degraded.Points) != 1 || d.Degraded.Points[0].Y != 30000 || d.Degraded.Points[0].YHi != 50000 {
		t.Errorf("degraded = %+v", d.Degraded.Points)
	}
	if _, err := CommitSizes([][]Epoch{{eps[4]}}, 0); !errors.Is(err, ErrNoData) {
		t.Errorf("no path commits: err = %v", err)
	}
}

func TestTreeHealthAndHealing(t *testing.T) {
	var eps []Epoch
	for i := range 100 {
		eps = append(eps, Epoch{Time: float64(i) * 3600, Leaves: 8, BlankNodes: 15 * float64(i%2), MeanCopathRes: 3})
	}
	d, err := TreeHealth([]string{"r"}, [][]Epoch{eps}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if d.TimeUnit != "days" || len(d.Blank) != 1 || len(d.Blank[0].Points) != 10 {
		t.Fatalf("tree health: unit %s, %d series, points %+v", d.TimeUnit, len(d.Blank), d.Blank)
	}
	// Bins of ~10 epochs alternating 0 and 1 blank fraction: mean about 0.5.
	for _, p := range d.Blank[0].Points {
		if math.Abs(p.Y-0.5) > 0.06 {
			t.Errorf("bin mean %g, want about 0.5", p.Y)
		}
	}
	if d.Copath[0].Points[0].Y != 3 {
		t.Errorf("copath = %+v", d.Copath[0].Points[0])
	}

	// Kaplan–Meier curves, censored observations kept (not dropped):
	// all processed: 1h, 2h, censored 10h (healed, one member never
	// processed it), censored 5h (unhealed) -> S = 3/4 at 1h, 2/4 at 2h,
	// flat to 10h. Healing commit: 0.5h, 1h, 1.5h, censored 5h.
	cs := []Compromise{
		{Healed: true, HealCommit: 3600, HealCommitEpochs: 4, HealingTime: 7200, Observed: 36000},
		{Healed: true, HealCommit: 1800, HealCommitEpochs: 2, HealingTime: 3600, Observed: 36000},
		{Healed: true, HealCommit: 5400, HealCommitEpochs: 9, HealingTime: math.NaN(), Observed: 36000},
		{Healed: false, HealCommit: math.NaN(), HealCommitEpochs: math.NaN(), HealingTime: math.NaN(), Observed: 18000, CensorEpochs: 20},
	}
	h, err := HealingCDF([]string{"p"}, [][]Compromise{cs})
	if err != nil {
		t.Fatal(err)
	}
	tp := h.AllProcessed[0].Points
	if len(tp) != 4 || tp[0] != (Point{X: 1}) || tp[1].X != 1 || tp[1].Y != 0.25 || tp[2].X != 2 || tp[2].Y != 0.5 ||
		tp[3].X != 10 || tp[3].Y != 0.5 {
		t.Errorf("all-processed KM = %+v", tp)
	}
	hp := h.HealCommit[0].Points
	if len(hp) != 5 || hp[3].X != 1.5 || hp[3].Y != 0.75 || hp[4].X != 5 || hp[4].Y != 0.75 {
		t.Errorf("heal-commit KM = %+v", hp)
	}
	ep := h.Epochs[0].Points
	if len(ep) != 5 || ep[3].X != 9 || ep[3].Y != 0.75 || ep[4].X != 20 {
		t.Errorf("epochs KM = %+v", ep)
	}
	if m := h.Medians[0]; m.HealCommitH.Est != 1 || m.AllProcessedH.Est != 2 || m.Epochs.Est != 4 {
		t.Errorf("medians %+v", m)
	}
	if h.Unhealed[0] != 1 || h.Compromises[0] != 4 || h.HealCommit[0].Name != "p (3/4 healed)" {
		t.Errorf("unhealed %v compromises %v name %q", h.Unhealed, h.Compromises, h.HealCommit[0].Name)
	}
	// Fewer than half heal: the median is not reached, not the median of
	// the healed ones.
	few := []Compromise{cs[0], cs[3], cs[3], cs[3]}
	hf, err := HealingCDF([]string{"few"}, [][]Compromise{few})
	if err != nil {
		t.Fatal(err)
	}
	if m := hf.Medians[0].HealCommitH; !math.IsInf(m.Est, 1) || m.String(1) != "not reached" {
		t.Errorf("median with 1/4 healed: %+v %q", m, m.String(1))
	}
}

const sweepCSV = `scenario,run,seed,policy.self_update.interval,network.latency.median,metric,value
col,0,7,10m,50ms,commits,600
col,0,7,10m,50ms,simulated_seconds,3600
col,0,7,10m,50ms,collision_rate,0.01
col,0,7,10m,50ms,healing_seconds_p50,3600
col,0,7,10m,50ms,bandwidth_bytes_per_member_day,1000000
col,1,8,10m,50ms,commits,660
col,1,8,10m,50ms,simulated_seconds,3600
col,1,8,10m,50ms,collision_rate,0.03
col,1,8,10m,50ms,healing_seconds_p50,10800
col,1,8,10m,50ms,bandwidth_bytes_per_member_day,3000000
col,2,7,1h,50ms,commits,60
col,2,7,1h,50ms,simulated_seconds,3600
col,2,7,1h,50ms,collision_rate,0
col,2,7,1h,50ms,healing_seconds_p50,-1
col,2,7,1h,50ms,bandwidth_bytes_per_member_day,500000
col,3,7,10m,1s,commits,500
col,3,7,10m,1s,simulated_seconds,3600
col,3,7,10m,1s,collision_rate,0.2
col,3,7,10m,1s,healing_seconds_p50,7200
col,3,7,10m,1s,bandwidth_bytes_per_member_day,900000
`

func TestSweepFigures(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "sweep.csv"), []byte(sweepCSV), 0o644)
	if !IsSweep(dir) || !IsSweep(filepath.Join(dir, "sweep.csv")) {
		t.Fatal("IsSweep = false")
	}
	s, err := LoadSweep(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Runs) != 4 || len(s.Keys) != 2 || s.Scenario != "col" || s.KeyIndex("latency") != 1 {
		t.Fatalf("sweep = %+v", s)
	}
	if src := s.Source(); len(src.Seeds) != 2 || !strings.HasPrefix(src.Fidelity, "unknown") {
		t.Errorf("source = %+v", src)
	}
	c, err := Collisions(s, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Series) != 2 || c.Series[0].Name != "latency median=50ms" || c.Series[1].Name != "latency median=1s" {
		t.Fatalf("collision series = %+v", c.Series)
	}
	// 50ms: 1h interval (1 commit/min, 0%) then 10m (10.5/min, mean 2%, 1..3).
	p := c.Series[0].Points
	if len(p) != 2 || p[0].X != 1 || p[0].Y != 0 || p[1].X != 10.5 || math.Abs(p[1].Y-2) > 1e-9 || p[1].YLo != 1 || p[1].YHi != 3 || p[1].Label != "10m" {
		t.Errorf("50ms points = %+v", p)
	}
	f, err := FrontierFromSweep(s, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The 1h point has no healed compromise (-1): left out.
	fp := f.Series[0].Points
	if len(fp) != 1 || fp[0].X != 2 || fp[0].XLo != 1 || fp[0].XHi != 3 || fp[0].Y != 2 || fp[0].Label != "10m" {
		t.Errorf("frontier = %+v", f.Series)
	}
	tab, err := SweepTable(s, []string{"collision_rate"})
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Rows) != 3 || tab.Rows[0][2] != "2" || tab.Rows[0][3] != "2.00 ± 1.41" {
		t.Errorf("sweep table rows = %q", tab.Rows)
	}
}

func TestFigureSaveAndSidecar(t *testing.T) {
	eps := epochHeader
	for i := range 20 {
		eps += strings.Join([]string{itoa(i + 1), itoa(i * 600), "0", itoa(1000 + 50*i), "0", "7", itoa(100 + i), "128", "20", "10", "0", "7.5", "0", "0", "0", "0", "1", "1", "100"}, ",") + "\n"
	}
	dir := writeRun(t, eps, compHeader+"0,10.0,3,3,false,1,1,true,2,1,1.0,3600.0,true,0,5\n1,20.0,4,4,false,1,1,true,5,4,1.0,7200.0,true,0,5\n")
	run, err := LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	e, err := ReadEpochs(dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	d, err := TreeHealth([]string{run.Label}, [][]Epoch{e}, 50)
	if err != nil {
		t.Fatal(err)
	}
	f, err := TreeHealthFigure(d)
	if err != nil {
		t.Fatal(err)
	}
	f.Sources = []Source{run.Source()}
	out := t.TempDir()
	files, err := f.Save(out, Formats, Version{Version: "v-test", Commit: "def"})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 4 {
		t.Fatalf("files = %v", files)
	}
	magic := map[string]string{".png": "\x89PNG", ".svg": "<?xml", ".pdf": "%PDF", ".json": "{"}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.HasPrefix(b, []byte(magic[filepath.Ext(p)])) {
			t.Errorf("%s: err %v, starts %q", p, err, b[:min(8, len(b))])
		}
	}
	var sc Sidecar
	b, _ := os.ReadFile(filepath.Join(out, "tree-health.json"))
	if err := json.Unmarshal(b, &sc); err != nil {
		t.Fatal(err)
	}
	if sc.Scenario != "unit" || len(sc.Seeds) != 1 || sc.Seeds[0] != 7 || sc.Fidelity != "model" || sc.Version != "(devel)" ||
		sc.Commit != "abc" || sc.PlottedBy.Commit != "def" || len(sc.Files) != 3 || sc.Caption == "" {
		t.Errorf("sidecar = %+v", sc)
	}
	// Inputs without a commit: the plotting build's commit, with a note.
	f.Sources[0].Commit = ""
	if sc := f.Sidecar(nil, Version{Version: "v", Commit: "def", Modified: true}); sc.Commit != "def" || !sc.Modified || len(sc.Notes) == 0 {
		t.Errorf("fallback commit: %+v", sc)
	}
	// The width is one column.
	if ColumnWidth/vg.Inch != 3.5 {
		t.Errorf("width %g in", float64(ColumnWidth/vg.Inch))
	}
	if err := f.Render(&bytes.Buffer{}, "gif"); err == nil {
		t.Error("gif accepted")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func gzipWriter(w io.Writer) *gzip.Writer { return gzip.NewWriter(w) }

func TestLogTicks(t *testing.T) {
	labels := func(min, max float64) []string {
		var out []string
		for _, tk := range (logTicks{}).Ticks(min, max) {
			if tk.Label != "" {
				out = append(out, tk.Label)
			}
		}
		return out
	}
	if got := strings.Join(labels(0.3, 3000), " "); got != "1 10 100 1k" {
		t.Errorf("0.3..3000: %s", got)
	}
	if got := strings.Join(labels(0.05, 20), " "); got != "0.1 1 10" {
		t.Errorf("0.05..20: %s", got)
	}
	if got := strings.Join(labels(150, 9000), " "); got != "200 500 1k 2k 5k" {
		t.Errorf("150..9000: %s", got)
	}
	// Inside one decade: linear ticks.
	if got := labels(14, 24); len(got) < 3 {
		t.Errorf("14..24: %v", got)
	}
	if (logTicks{}).Ticks(0, 10) != nil {
		t.Error("ticks for min 0")
	}
}

func TestTables(t *testing.T) {
	tab := &Table{Caption: "Cap_1 & 50%", Header: []string{"run", "value"}, Right: []bool{false, true},
		Rows: [][]string{{"a_b", "1.5 ± 0.2"}, {"c", "10"}}}
	var txt, md, tex bytes.Buffer
	for f, w := range map[string]*bytes.Buffer{"text": &txt, "markdown": &md, "latex": &tex} {
		if err := tab.Render(w, f); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	if !strings.Contains(txt.String(), "│ a_b │") || !strings.Contains(txt.String(), "run") {
		t.Errorf("text:\n%s", txt.String())
	}
	if !strings.Contains(md.String(), "| run ") || !strings.Contains(md.String(), "|:----") || !strings.Contains(md.String(), "----:|") {
		t.Errorf("markdown:\n%s", md.String())
	}
	for _, want := range []string{`\toprule`, `\midrule`, `\bottomrule`, `\begin{tabular}{lr}`, `a\_b & 1.5 $\pm$ 0.2 \\`, `\caption{Cap\_1 \& 50\%}`} {
		if !strings.Contains(tex.String(), want) {
			t.Errorf("latex lacks %q:\n%s", want, tex.String())
		}
	}
	if err := (&Table{Header: []string{"x"}}).Render(&bytes.Buffer{}, "text"); !errors.Is(err, ErrNoData) {
		t.Errorf("empty table: %v", err)
	}
}

func TestGzipEpochs(t *testing.T) {
	dir := t.TempDir()
	// epochs.csv.gz is read when epochs.csv is absent.
	var buf bytes.Buffer
	zw := gzipWriter(&buf)
	zw.Write([]byte(epochHeader + "1,1,0,2000,0,10,100,128,0,0,0,7,0,0,0,0,1,1,100\n2,2,0,2100,0,10,100,128,0,0,0,7,0,0,0,0,1,1,100\n"))
	zw.Close()
	os.WriteFile(filepath.Join(dir, "epochs.csv.gz"), buf.Bytes(), 0o644)
	eps, err := ReadEpochs(dir, 2)
	if err != nil || len(eps) != 2 || eps[1].CommitBytes != 2100 || !eps[1].Path {
		t.Errorf("gz: %v %+v", err, eps)
	}
}

// TestTreeHealthEmptyBinDrawsNoPoint: epochs in the first and the last
// hour of 11 h (none between, as when a 50 000-member group is stable):
// the bins between draw no point and the line breaks at the gap instead
// of drawing a decline that never happened.
func TestTreeHealthEmptyBinDrawsNoPoint(t *testing.T) {
	var eps []Epoch
	for i := 0; i <= 6; i++ {
		eps = append(eps, Epoch{Epoch: int64(i), Time: float64(i) * 600, GroupSize: 100, Leaves: 128, BlankNodes: 100, MeanCopathRes: 50})
	}
	for i := 0; i <= 6; i++ {
		eps = append(eps, Epoch{Epoch: int64(7 + i), Time: 36000 + float64(i)*600, GroupSize: 100, Leaves: 128, BlankNodes: 27, MeanCopathRes: 7})
	}
	d, err := TreeHealth([]string{"r"}, [][]Epoch{eps}, 22) // 30-min bins
	if err != nil {
		t.Fatal(err)
	}
	for _, ss := range [][]Series{d.Blank, d.OccupiedBlank, d.Copath} {
		pts := ss[0].Points
		segs := pts.segments()
		if len(segs) != 2 {
			t.Fatalf("%d segments, want 2 (a break at the empty bins): %+v", len(segs), pts)
		}
		for _, p := range pts {
			if p.X > 1.01 && p.X < 9.99 {
				t.Errorf("a point at %g h, inside the empty range", p.X)
			}
		}
		if segs[0][len(segs[0])-1].X > 1.01 || segs[1][0].X < 9.99 || !segs[1][0].Break {
			t.Errorf("segments %+v", segs)
		}
	}
	// Occupied width: 128 leaves, 100 members: (100 − 56)/199 and 0 (27 − 56 < 0).
	if y := d.OccupiedBlank[0].Points[0].Y; math.Abs(y-44.0/199) > 1e-9 {
		t.Errorf("occupied blank fraction %g, want 44/199", y)
	}
	// With epochs.csv's occupied_* columns the exact value is used.
	if e := (Epoch{GroupSize: 100, Leaves: 128, BlankNodes: 100, OccupiedNodes: 199, OccupiedBlankNodes: 20}); e.OccupiedBlankFraction() != 20.0/199 {
		t.Errorf("exact occupied blank fraction %g, want 20/199", e.OccupiedBlankFraction())
	}
	if _, err := TreeHealthFigure(d); err != nil {
		t.Fatal(err)
	}
}

// TestCommitSizeNoLineAcrossEmptyBins: a lone n=1 commit and commits at
// n≈100 fall in half-octave bins far apart: no line joins them.
func TestCommitSizeNoLineAcrossEmptyBins(t *testing.T) {
	eps := []Epoch{{GroupSize: 1, Leaves: 1, CommitBytes: 300, Path: true, MeanCopathRes: 0}}
	for _, n := range []float64{100, 101, 140, 141} {
		eps = append(eps, Epoch{GroupSize: n, Leaves: 256, CommitBytes: 3000 + n, Path: true, MeanCopathRes: 8})
	}
	d, err := CommitSizes([][]Epoch{eps}, 0)
	if err != nil {
		t.Fatal(err)
	}
	pts := d.Fresh.Points
	if len(pts) != 3 || !pts[1].Break || pts[2].Break {
		t.Fatalf("points %+v: want a break before the n≈100 bin only", pts)
	}
	if !strings.Contains(d.Fresh.Name, "log₂ leaves") {
		t.Errorf("legend %q should say log₂ leaves (what Stretch uses)", d.Fresh.Name)
	}
}

// TestSweepTableNotReached: a Kaplan–Meier median not reached in a seed
// (-1) is counted, not averaged in or silently dropped.
func TestSweepTableNotReached(t *testing.T) {
	dir := t.TempDir()
	csv := `scenario,run,seed,policy.self_update.interval,metric,value
p,0,1,6h,heal_commit_seconds_median,3600
p,1,2,6h,heal_commit_seconds_median,7200
p,2,1,7d,heal_commit_seconds_median,-1
p,3,2,7d,heal_commit_seconds_median,36000
p,4,1,30d,heal_commit_seconds_median,-1
p,5,2,30d,heal_commit_seconds_median,-1
`
	os.WriteFile(filepath.Join(dir, "sweep.csv"), []byte(csv), 0o644)
	s, err := LoadSweep(dir)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := SweepTable(s, []string{"heal_commit_seconds_median"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1.5 ± 0.7", "10.0 (not reached in 1 of 2 seeds)", "not reached"}
	for i, w := range want {
		if got := tb.Rows[i][len(tb.Rows[i])-1]; got != w {
			t.Errorf("row %d: %q, want %q", i, got, w)
		}
	}
}

// TestPathCost: commits are classed by the tree before them (the previous
// row): all occupied parents blank = bare, none blank and no unmerged leaf
// = full; commits changing membership or without a path are neither.
func TestPathCost(t *testing.T) {
	ep := func(n, occ, occBlank, unmerged, ct float64, path bool, adds float64) Epoch {
		return Epoch{GroupSize: n, OccupiedNodes: occ, OccupiedBlankNodes: occBlank, UnmergedLeaves: unmerged,
			PathCiphertexts: ct, Path: path, Adds: adds}
	}
	eps := []Epoch{
		ep(4, 7, 3, 0, 0, false, 3), // add-only commit: bare tree after it
		ep(4, 7, 1, 0, 3, true, 0),  // bare: 3 = N−1
		ep(4, 7, 0, 0, 2, true, 0),  // neither (one parent was blank before)
		ep(4, 7, 0, 0, 2, true, 0),  // full
		ep(5, 9, 0, 1, 0, false, 1), // an Add: neither
		ep(5, 9, 0, 0, 3, true, 0),  // neither (an unmerged leaf before)
	}
	d, err := PathCost([][]Epoch{eps})
	if err != nil {
		t.Fatal(err)
	}
	if d.BareCommits != 1 || d.FullCommits != 1 || d.Bare.Points[0].Y != 3 || d.Full.Points[0].Y != 2 ||
		d.CeilLog2N.Points[0].Y != 2 || d.NMinus1.Points[0].Y != 3 {
		t.Fatalf("%+v", d)
	}
	if _, err := PathCostFigure(d); err != nil {
		t.Fatal(err)
	}
	if _, err := PathCost([][]Epoch{eps[:1]}); !errors.Is(err, ErrNoData) {
		t.Fatalf("no commits: %v", err)
	}
}
