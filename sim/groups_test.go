package sim

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestGroupsScenarioErrors: the groups section is validated with the
// field and a reason.
func TestGroupsScenarioErrors(t *testing.T) {
	cases := []struct {
		name, yaml string
		line       int
		field      string
		reason     string
	}{
		{"negative count", "groups:\n  count: -1\n", 2, "groups.count", "negative"},
		{"too many groups", "population:\n  initial_users: 3\ngroups:\n  count: 1000\n  shared_clients: 1\n", 4, "groups.count", "at most 256"},
		{"shared without count", "groups:\n  shared_clients: 2\n", 2, "groups.shared_clients", "needs groups.count"},
		{"update_groups without count", "groups:\n  update_groups: 1\n", 2, "groups.update_groups", "needs groups.count"},
		{"no shared client", "population:\n  initial_users: 3\ngroups:\n  count: 2\n", 3, "groups.shared_clients", "at least 1"},
		{"shared founder", "population:\n  initial_users: 2\ngroups:\n  count: 2\n  shared_clients: 2\n", 5, "groups.shared_clients", "initial_users must be at least 3"},
		{"update_groups above count", "population:\n  initial_users: 3\ngroups:\n  count: 2\n  shared_clients: 1\n  update_groups: 3\n", 6, "groups.update_groups", "0..groups.count"},
		{"unknown key", "groups:\n  count: 2\n  shared: 1\n", 3, "groups.shared", "unknown field"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseScenario("bad.yaml", []byte(c.yaml), nil)
			var se *ScenarioError
			if !errors.As(err, &se) {
				t.Fatalf("error %v (%T), want *ScenarioError", err, err)
			}
			if se.Line != c.line || se.Field != c.field || !strings.Contains(se.Reason, c.reason) {
				t.Fatalf("got %q (line %d field %q), want line %d field %q reason ~%q", se.Error(), se.Line, se.Field, c.line, c.field, c.reason)
			}
		})
	}
	if _, err := ParseScenario("ok.yaml", []byte("population:\n  initial_users: 3\ngroups:\n  count: 2\n  shared_clients: 2\n  update_groups: 2\n"), nil); err != nil {
		t.Fatalf("valid groups section rejected: %v", err)
	}
}

// TestCrossGroupHealing (issue 14, study 6): workloads/repro/cross-group.yaml
// for 7 days, the client updating in all 3 groups and in group 0 only.
// Every compromise hits the client (member 1) in every group at the same
// instant; its device is online at the same instants in every group while
// the groups' other members differ; group 0 is byte-identical under both
// policies (common random numbers); with the client updating, every group
// heals within two days (daily updates ±50 %), always by the client's own
// commit (a passive adversary holding its leaf key derives every other
// member's commit, docs/pcs.md section 3); without, no compromise of
// groups 1 and 2 heals and every row is censored at the end.
func TestCrossGroupHealing(t *testing.T) {
	all, one := t.TempDir(), t.TempDir()
	sAll := runScenario(t, "../workloads/repro/cross-group.yaml", all, "duration=7d")
	sOne := runScenario(t, "../workloads/repro/cross-group.yaml", one, "duration=7d", "groups.update_groups=1")
	if sAll.Groups == nil || sAll.Groups.Count != 3 || sAll.Groups.UpdateGroups != 3 || sOne.Groups.UpdateGroups != 1 || len(sOne.Groups.Seeds) != 3 {
		t.Fatalf("summary groups: %+v, %+v", sAll.Groups, sOne.Groups)
	}
	for _, f := range []string{"epochs.csv", "compromises.csv", "events.csv"} {
		a, _ := os.ReadFile(filepath.Join(groupDir(all, 0), f))
		b, _ := os.ReadFile(filepath.Join(groupDir(one, 0), f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("group 0 %s differs between the policies (%d, %d bytes)", f, len(a), len(b))
		}
	}
	for _, c := range []struct {
		dir      string
		updating int
		sum      *Summary
	}{{all, 3, sAll}, {one, 1, sOne}} {
		rows := readCSV(t, filepath.Join(c.dir, "compromises.csv"))[1:]
		byGroup := map[string][]map[string]string{}
		for _, r := range rows {
			byGroup[r["group"]] = append(byGroup[r["group"]], r)
		}
		if len(byGroup) != 3 || int64(len(rows)) != c.sum.Metrics.Compromises || len(byGroup["0"]) < 3 {
			t.Fatalf("%s: %d rows in %d groups, summary %d compromises", c.dir, len(rows), len(byGroup), c.sum.Metrics.Compromises)
		}
		heals := int64(0)
		for g := range 3 {
			gs := strconv.Itoa(g)
			rs := byGroup[gs]
			if len(rs) != len(byGroup["0"]) {
				t.Fatalf("group %d: %d compromises, group 0 %d", g, len(rs), len(byGroup["0"]))
			}
			committer := map[string]string{}
			for _, e := range readCSV(t, filepath.Join(groupDir(c.dir, g), "epochs.csv"))[1:] {
				committer[e["epoch"]] = e["committer"]
			}
			for i, r := range rs {
				if r["time_s"] != byGroup["0"][i]["time_s"] || r["victim"] != "1" || r["client_updates"] != strconv.FormatBool(g < c.updating) {
					t.Fatalf("group %d row %d: time %s victim %s client_updates %s (group 0: time %s)", g, i, r["time_s"], r["victim"], r["client_updates"], byGroup["0"][i]["time_s"])
				}
				healed := r["healed"] == "true"
				if g >= c.updating && healed {
					t.Errorf("group %d, client not updating: compromise %s healed at epoch %s", g, r["id"], r["heal_epoch"])
				}
				if healed {
					heals++
					if who := committer[r["heal_epoch"]]; who != "1" {
						t.Errorf("group %d: compromise %s healed by member %s's commit, not the client's", g, r["id"], who)
					}
				} else if r["heal_commit_s"] != "" || r["observed_s"] == "" {
					t.Errorf("group %d: unhealed row %s not censored: heal_commit_s %q observed_s %q", g, r["id"], r["heal_commit_s"], r["observed_s"])
				}
			}
			for _, r := range rs {
				// Self-updates at most 1.5 days apart; one falling due
				// offline is done on coming back.
				if obs, _ := strconv.ParseFloat(r["observed_s"], 64); g < c.updating && r["healed"] != "true" && obs > 2*86400 {
					t.Errorf("group %d, client updating: compromise %s unhealed after %.0f s", g, r["id"], obs)
				}
			}
		}
		if heals != c.sum.Metrics.Healed {
			t.Errorf("%s: %d healed rows, summary %d", c.dir, heals, c.sum.Metrics.Healed)
		}
	}
	// The client's device goes offline and online at the same instants in
	// every group; the groups' other members do not.
	avail := func(g int, m string) string {
		var b strings.Builder
		for _, e := range readCSV(t, filepath.Join(groupDir(all, g), "events.csv"))[1:] {
			if e["member"] == m && (e["event"] == "offline" || e["event"] == "online") {
				b.WriteString(e["event"] + "@" + e["time_s"] + " ")
			}
		}
		return b.String()
	}
	if a0, a1 := avail(0, "1"), avail(1, "1"); a0 == "" || a0 != a1 {
		t.Errorf("client availability differs between groups 0 and 1:\n%.200s\n%.200s", a0, a1)
	}
	if avail(0, "2") == avail(1, "2") {
		t.Error("member 2 (not shared) has the same availability in groups 0 and 1")
	}
}
