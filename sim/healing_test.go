package sim

import (
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestHealingMetricsSeparate: the healing commit, the victim's own
// processing, the members online at the commit and all members are
// followed separately. Member y is offline when the victim x commits, so
// "online processed" and "victim processed" complete after the 1s
// delivery while "all processed" waits for y to come back.
func TestHealingMetricsSeparate(t *testing.T) {
	s := testSim(t)
	x, y := MemberID(3), MemberID(5)
	c := s.compromiseNow(x, false)
	s.goOffline(y, s.members[y].onGen)
	s.commitNow(t, x)
	if !c.healed || c.healEpoch != 2 {
		t.Fatalf("victim's commit: healed %t at %d", c.healed, c.healEpoch)
	}
	acc := s.acceptT[c.healEpoch]
	processAll(s, acc+2*time.Second)
	if c.healCommit != acc {
		t.Fatalf("healCommit %v, want %v", c.healCommit, acc)
	}
	if w := c.watch; w.onlineCount() != 7 || w.isOnline(y) || !w.isOnline(x) {
		t.Fatalf("online at the commit: %d members (want 7: all but y), y %t, x %t", w.onlineCount(), w.isOnline(y), w.isOnline(x))
	}
	if !c.victimDone || c.healVictim != acc+time.Second {
		t.Fatalf("victim processed: %t at %v, want %v", c.victimDone, c.healVictim, acc+time.Second)
	}
	if !c.onlineDone || c.healOnline != acc+time.Second {
		t.Fatalf("online processed: %t at %v, want %v", c.onlineDone, c.healOnline, acc+time.Second)
	}
	if c.healAll != never {
		t.Fatalf("all processed at %v while y is offline", c.healAll)
	}
	back := s.now + time.Hour/4
	s.until(t, back)
	s.now = back // until stops at the last event before back
	if err := s.goOnline(y, s.members[y].onGen); err != nil {
		t.Fatal(err)
	}
	s.until(t, back+5*time.Second)
	processAll(s, back+5*time.Second)
	if c.healAll != back+time.Second {
		t.Fatalf("all processed at %v, want %v (y back online + 1s)", c.healAll, back+time.Second)
	}
	if got := s.exposedEpochs(c); got != 1 {
		t.Fatalf("exposed epochs %d, want 1 (epoch 1 only)", got)
	}
}

// TestCompromisesCSVHealingColumns: on a week of pcs-policies every
// healed row satisfies heal commit <= online processed <= all processed,
// counts epochs from the delivery service's epoch, and its exposure
// window ends at the healing commit; unhealed rows are censored at the
// end (observed_s) with the healing columns empty.
func TestCompromisesCSVHealingColumns(t *testing.T) {
	dir := t.TempDir()
	sum := runScenario(t, "../workloads/pcs-policies.yaml", dir, "fidelity=model", "duration=7d", "output.events=false")
	rows := readCSV(t, filepath.Join(dir, "compromises.csv"))[1:]
	if len(rows) < 5 {
		t.Fatalf("%d compromises, want >= 5", len(rows))
	}
	f := func(r map[string]string, k string) float64 {
		t.Helper()
		v, err := strconv.ParseFloat(r[k], 64)
		if err != nil {
			t.Fatalf("column %s: %q: %v", k, r[k], err)
		}
		return v
	}
	healed, stale := 0, 0
	for _, r := range rows {
		if f(r, "ds_epoch") > f(r, "victim_epoch") {
			stale++
		}
		end := f(r, "time_s") + f(r, "observed_s")
		if d := end - sum.Metrics.SimulatedSeconds; d > 1e-3 || d < -1e-3 {
			t.Errorf("id %s: time_s + observed_s = %g, want the end %g", r["id"], end, sum.Metrics.SimulatedSeconds)
		}
		if r["healed"] != "true" {
			if r["heal_commit_s"] != "" || r["online_processed_s"] != "" || r["all_processed_s"] != "" {
				t.Errorf("unhealed id %s has healing times: %v", r["id"], r)
			}
			if got, want := f(r, "exposed_epochs"), float64(sum.Metrics.Epochs)-f(r, "victim_epoch")+1; got != want {
				t.Errorf("unhealed id %s: exposed_epochs %g, want %g", r["id"], got, want)
			}
			continue
		}
		healed++
		if got, want := f(r, "heal_commit_epochs"), f(r, "heal_epoch")-f(r, "ds_epoch"); got != want || got < 1 {
			t.Errorf("id %s: heal_commit_epochs %g, want heal_epoch - ds_epoch = %g >= 1", r["id"], got, want)
		}
		if got, want := f(r, "exposed_epochs"), f(r, "heal_epoch")-f(r, "victim_epoch"); got != want {
			t.Errorf("id %s: exposed_epochs %g, want %g", r["id"], got, want)
		}
		hc := f(r, "heal_commit_s")
		if r["online_processed_s"] != "" && f(r, "online_processed_s") < hc {
			t.Errorf("id %s: online processed before the healing commit", r["id"])
		}
		if r["all_processed_s"] != "" && r["online_processed_s"] != "" && f(r, "all_processed_s") < f(r, "online_processed_s") {
			t.Errorf("id %s: all processed before the online members", r["id"])
		}
		if r["victim_processed_s"] != "" && f(r, "victim_processed_s") < hc {
			t.Errorf("id %s: victim processed before the healing commit", r["id"])
		}
		if r["healed_by_removal"] == "true" && r["victim_processed_s"] != "" {
			t.Errorf("id %s: a removed victim processed the healing commit", r["id"])
		}
	}
	if healed == 0 {
		t.Fatal("no healed compromise")
	}
	m := sum.Metrics
	if m.HealCommitSecondsMedian <= 0 || m.AllProcessedSecondsMedian < m.HealCommitSecondsMedian ||
		m.OnlineProcessedSecondsMedian < m.HealCommitSecondsMedian {
		t.Errorf("KM medians: heal commit %g, online %g, all %g", m.HealCommitSecondsMedian, m.OnlineProcessedSecondsMedian, m.AllProcessedSecondsMedian)
	}
	if d := m.HandshakeBytesPerMemberDay + m.AppBytesPerMemberDay - m.BandwidthPerMemberDay; d > 1 || d < -1 || m.AppBytesPerMemberDay <= 0 {
		t.Errorf("bandwidth %g != handshake %g + app %g", m.BandwidthPerMemberDay, m.HandshakeBytesPerMemberDay, m.AppBytesPerMemberDay)
	}
	t.Logf("%d compromises, %d healed, %d with a stale victim", len(rows), healed, stale)
}

// processAll lets every member process what it has received by t (members
// are evaluated lazily, when they act).
func processAll(s *Sim, t time.Duration) {
	for i := range s.members {
		s.advance(MemberID(i), t)
	}
}
