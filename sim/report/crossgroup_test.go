package report

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// crossGroupRun writes a fake multi-group run: k groups, the client
// updating in the first u; rows "group,healed,heal_commit_s,observed_s".
func crossGroupRun(t *testing.T, k, u int, rows [][4]string) *Run {
	t.Helper()
	dir := t.TempDir()
	sum := `{"scenario":"cg","seed":1,"fidelity":"model","metrics":{"epochs":30},"groups":{"count":` +
		strconv.Itoa(k) + `,"shared_clients":1,"update_groups":` + strconv.Itoa(u) + `,"seeds":[1,2,3]}}`
	csv := "group,client_updates,id,time_s,healed,heal_commit_s,observed_s,ds_epoch,all_processed_s\n"
	for i, r := range rows {
		g, _ := strconv.Atoi(r[0])
		up := strconv.FormatBool(g < u)
		csv += r[0] + "," + up + "," + strconv.Itoa(i) + ",100," + r[1] + "," + r[2] + "," + r[3] + ",5,\n"
	}
	for g := range k {
		gd := filepath.Join(dir, "group="+strconv.Itoa(g))
		if err := os.MkdirAll(gd, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(gd, "summary.json"), []byte(`{"metrics":{"epochs":`+strconv.Itoa(10*(g+1))+`}}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range map[string]string{"summary.json": sum, "compromises.csv": csv} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCrossGroup: per-group cells of a fake 2-group run, the client
// updating in group 0 only: group 0 has 2 of 2 healed (3600 s, 7200 s:
// median 1 h, RMST(τ = 2 h) = 1 + 0.5 = 1.5 h); group 1 none (a flat line
// at 0 over the observed range, RMST = τ); each row's censoring epoch is
// its own group's last epoch − ds_epoch (group=0: 10 − 5, group=1: 20 − 5).
func TestCrossGroup(t *testing.T) {
	r := crossGroupRun(t, 2, 1, [][4]string{
		{"0", "true", "3600", "36000"}, {"0", "true", "7200", "36000"},
		{"1", "false", "", "36000"}, {"1", "false", "", "18000"},
	})
	cs, err := ReadCompromises(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if cs[0].Group != 0 || !cs[0].ClientUpdates || cs[2].Group != 1 || cs[2].ClientUpdates || cs[0].CensorEpochs != 5 || cs[2].CensorEpochs != 15 {
		t.Fatalf("rows: %+v", cs)
	}
	d, err := CrossGroup([]*Run{r}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Cells) != 2 || len(d.Ks) != 1 || d.Ks[0] != 2 || len(d.Series[0]) != 2 {
		t.Fatalf("data: %+v", d)
	}
	g0, g1 := d.Cells[0], d.Cells[1]
	if g0.Healed != 2 || g0.Compromises != 2 || g0.Median.Est != 1 || math.Abs(g0.RMST.Mean-1.5) > 1e-12 || g0.RMST.N != 1 {
		t.Errorf("group 0: %+v", g0)
	}
	if g1.Healed != 0 || g1.ClientUpdates || g1.RMST.Mean != 2 || !math.IsInf(g1.Median.Est, 1) {
		t.Errorf("group 1: %+v", g1)
	}
	if p := d.Series[0][1].Points; len(p) != 2 || p[0].X != 5 || p[1].X != 10 || p[0].Y != 0 || p[1].Y != 0 {
		t.Errorf("group 1's curve: %+v, want flat at 0 from 5 h to 10 h", p)
	}
	if _, err := CrossGroupFigure(d); err != nil {
		t.Fatal(err)
	}
	single := crossGroupRun(t, 2, 1, nil)
	single.Summary.Groups = nil
	if _, err := CrossGroup([]*Run{single}, 2); !errors.Is(err, ErrNoData) {
		t.Fatalf("single-group run: %v, want ErrNoData", err)
	}
}
