package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const baseYAML = `
name: t
fidelity: model
seed: 3
duration: 1h
population:
  initial_users: 8
policy:
  committer: proposer
  path: when_required
  add_batch: {size: 16, max_wait: 0s}
  retry_backoff: 0s
network:
  latency: {dist: fixed, value: 1s}
`

func testSim(t *testing.T, sets ...string) *Sim {
	t.Helper()
	s := startedSim(t, baseYAML, sets...)
	s.until(t, 5*time.Second)
	return s
}

// startedSim parses the scenario yaml with sets and starts it, ready to
// be stepped with until.
func startedSim(t *testing.T, yaml string, sets ...string) *Sim {
	t.Helper()
	sc, err := ParseScenario("t.yaml", []byte(yaml), sets)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	s.push(sc.Duration.D(), evEnd, -1, 0, nil)
	return s
}

func (s *Sim) until(t *testing.T, at time.Duration) {
	t.Helper()
	if err := s.loop(context.Background(), at); err != nil {
		t.Fatal(err)
	}
	s.syncBackend()
	if err := s.tree.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestInitialAddCommit(t *testing.T) {
	s := testSim(t)
	if s.epoch != 1 || s.tree.Members() != 8 || len(s.online) != 8 {
		t.Fatalf("epoch %d, members %d, online %d", s.epoch, s.tree.Members(), len(s.online))
	}
	// The add-only commit had no path: every parent is blank.
	if st := s.tree.Stats(); st.BlankParents != 7 || st.MeanCopathResolution() != 7 {
		t.Fatalf("stats %+v", st)
	}
}

// TestCollision: two members commit in the same epoch; the delivery
// service accepts the first to arrive and rejects the second, whose sender
// catches up and retries (RFC 9750 ordering).
func TestCollision(t *testing.T) {
	s := testSim(t)
	a, b := MemberID(2), MemberID(5)
	if err := s.tryCommit(a, true, 0, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.tryCommit(b, true, 0, nil); err != nil {
		t.Fatal(err)
	}
	s.until(t, s.now+1500*time.Millisecond) // both arrive 1s later
	if s.epoch != 2 || s.st.collisions != 1 || s.st.retries != 0 {
		t.Fatalf("after arrival: epoch %d collisions %d retries %d", s.epoch, s.st.collisions, s.st.retries)
	}
	if s.members[a].lastUpdate != s.acceptT[2] {
		t.Fatalf("first to arrive (a) should have won")
	}
	// b learns of the rejection after 1s, has processed epoch 2 by then
	// (delivered after 1s), retries: arrives 1s later.
	s.until(t, s.now+3*time.Second)
	if s.epoch != 3 || s.st.retries != 1 || s.st.collisions != 1 {
		t.Fatalf("after retry: epoch %d collisions %d retries %d", s.epoch, s.st.collisions, s.st.retries)
	}
	if s.members[b].lastUpdate != s.acceptT[3] {
		t.Fatalf("b's retry should have made epoch 3")
	}
}

// TestStaleCommitterRejected: a member that has not processed the latest
// commit builds on an old epoch and is rejected.
func TestStaleCommitterRejected(t *testing.T) {
	s := testSim(t)
	if err := s.tryCommit(1, true, 0, nil); err != nil {
		t.Fatal(err)
	}
	s.until(t, s.now+1100*time.Millisecond) // accepted at +1s; others receive it at +2s
	if err := s.tryCommit(3, true, 0, nil); err != nil {
		t.Fatal(err)
	}
	if got := s.members[3].ep; got != 1 {
		t.Fatalf("member 3 in epoch %d, want 1 (stale)", got)
	}
	s.until(t, s.now+1500*time.Millisecond)
	if s.st.collisions != 1 || s.epoch != 2 {
		t.Fatalf("collisions %d epoch %d", s.st.collisions, s.epoch)
	}
}

func (s *Sim) compromiseNow(v MemberID, sig bool) *compromise {
	c := newCompromise(s.now, 0, sig)
	c.id = len(s.comps)
	s.comps = append(s.comps, c)
	s.compromiseVictim(c, v)
	return c
}

func (s *Sim) commitNow(t *testing.T, m MemberID) {
	t.Helper()
	if err := s.tryCommit(m, true, 0, nil); err != nil {
		t.Fatal(err)
	}
	s.until(t, s.now+3*time.Second)
}

// TestHealing: add-only commits never heal; another member's path commit
// does not heal while the victim's leaf key is in a copath resolution; the
// victim's own path commit heals.
func TestHealing(t *testing.T) {
	s := testSim(t)
	x := MemberID(3)
	c := s.compromiseNow(x, false)
	if c.startEpoch != 1 || len(c.known) != 1 {
		t.Fatalf("start epoch %d, %d keys (want 1: the leaf; all parents blank)", c.startEpoch, len(c.known))
	}
	// Add-only commit without path.
	s.join()
	s.until(t, s.now+3*time.Second)
	if s.epoch != 2 || c.healed {
		t.Fatalf("add-only commit: epoch %d healed %t", s.epoch, c.healed)
	}
	// Another member's path commit: X's leaf is in a copath resolution.
	s.commitNow(t, 6)
	if s.epoch != 3 || c.healed {
		t.Fatalf("other's commit: epoch %d healed %t", s.epoch, c.healed)
	}
	// An application message now is exposed.
	s.st.apps = 0
	s.sc.Traffic.AppRatePerMember = Rate{PerSecond: 1}
	for _, m := range s.online {
		s.armApp(m) // traffic from now on
	}
	if err := s.appSend(1); err != nil {
		t.Fatal(err)
	}
	if c.exposure != 1 {
		t.Fatalf("exposure %d, want 1", c.exposure)
	}
	// The victim's own path commit heals.
	s.commitNow(t, x)
	if !c.healed || c.healEpoch != 4 {
		t.Fatalf("victim's commit: healed %t at %d", c.healed, c.healEpoch)
	}
	// Healing completes when every remaining member processed epoch 4
	// (fixed 1s delivery).
	s.until(t, s.now+5*time.Second)
	if c.healAll != s.acceptT[4]+time.Second {
		t.Fatalf("healAll %v, want %v", c.healAll, s.acceptT[4]+time.Second)
	}
}

// TestHealingFullTree: once every member has refreshed its path, a commit
// by someone else heals if the adversary's keys are not on the copath.
func TestHealingSiblingPath(t *testing.T) {
	s := testSim(t)
	// Leaves 0..7. Leaf 7 commits: its path keys cover nodes 13, 11, 7.
	s.commitNow(t, 7)
	// Compromise leaf 6 (member 6): it holds 13, 11, 7 and its leaf.
	c := s.compromiseNow(6, false)
	if len(c.known) != 4 {
		t.Fatalf("known %d keys, want 4", len(c.known))
	}
	// Member 0 commits: copath of leaf 0 is {2, 5, 11}: resolution(11) = {11}
	// which the adversary holds -> derives; learns the new root key.
	s.commitNow(t, 0)
	if c.healed {
		t.Fatal("healed although node 11 is known")
	}
	// Member 7 commits: copath {12 (leaf 6), 9, 3}: leaf 6's key is known.
	s.commitNow(t, 7)
	if c.healed {
		t.Fatal("healed although leaf 6 is known")
	}
	// Member 6 (the victim) commits: fresh keys everywhere it is known.
	s.commitNow(t, 6)
	if !c.healed {
		t.Fatal("victim's commit did not heal")
	}
}

// TestSignatureKeyAdversary: an adversary with the signature key is healed
// only by removing the victim, not by the victim's own updates.
func TestSignatureKeyAdversary(t *testing.T) {
	s := testSim(t)
	x := MemberID(4)
	c := s.compromiseNow(x, true)
	s.commitNow(t, x)
	s.commitNow(t, 1)
	if c.healed {
		t.Fatal("healed without removing the victim")
	}
	s.askRemove(x, false)
	s.until(t, s.now+5*time.Second)
	if s.members[x].leaf >= 0 {
		t.Fatal("victim not removed")
	}
	if !c.healed {
		t.Fatal("removal of the victim did not heal")
	}
}

func runScenario(t *testing.T, file, dir string, sets ...string) *Summary {
	t.Helper()
	sc, err := LoadScenario(file, sets)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Run(context.Background(), sc, Options{OutDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// TestDeterminism: the same scenario and seed give byte-identical CSVs and
// identical summary metrics.
func TestDeterminism(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	sets := []string{"duration=44h", "fidelity=model"}
	s1 := runScenario(t, "../workloads/demo.yaml", d1, sets...)
	s2 := runScenario(t, "../workloads/demo.yaml", d2, sets...)
	for _, f := range []string{"events.csv", "epochs.csv", "compromises.csv"} {
		a, err := os.ReadFile(filepath.Join(d1, f))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(d2, f))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs", f)
		}
		if bytes.Count(a, []byte("\n")) < 2 {
			t.Errorf("%s has no rows", f)
		}
	}
	j1, _ := json.Marshal(s1.Metrics)
	j2, _ := json.Marshal(s2.Metrics)
	if !bytes.Equal(j1, j2) {
		t.Errorf("metrics differ:\n%s\n%s", j1, j2)
	}
	if s1.Metrics.Commits == 0 || s1.Metrics.AppMessages == 0 || s1.Metrics.Compromises < 2 {
		t.Errorf("implausible metrics %s", j1)
	}
	// A different seed gives a different trace.
	d3 := t.TempDir()
	runScenario(t, "../workloads/demo.yaml", d3, append(sets, "seed=43")...)
	a, _ := os.ReadFile(filepath.Join(d1, "events.csv"))
	b, _ := os.ReadFile(filepath.Join(d3, "events.csv"))
	if bytes.Equal(a, b) {
		t.Error("seed 43 gave the same trace as seed 42")
	}
}

// TestInterruptedRunLeavesCompleteRows cancels a run and checks that every
// CSV ends with a complete row and the summary says interrupted.
func TestInterruptedRunLeavesCompleteRows(t *testing.T) {
	dir := t.TempDir()
	sc, err := LoadScenario("../workloads/demo.yaml", []string{"fidelity=model"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	opt := Options{OutDir: dir, ProgressEvery: 2000, Progress: func(p Progress) {
		if p.Now > 0 {
			cancel()
		}
	}}
	sum, err := Run(ctx, sc, opt)
	if !errors.Is(err, ErrInterrupted) || !sum.Interrupted {
		t.Fatalf("err %v interrupted %v", err, sum != nil && sum.Interrupted)
	}
	for _, f := range []string{"events.csv", "epochs.csv", "compromises.csv"} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		if len(b) == 0 || b[len(b)-1] != '\n' {
			t.Errorf("%s does not end with a complete row", f)
		}
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		n := strings.Count(lines[0], ",")
		for i, l := range lines {
			if strings.Count(l, ",") != n {
				t.Fatalf("%s line %d has %d fields, header %d", f, i+1, strings.Count(l, ",")+1, n+1)
			}
		}
	}
	var js Summary
	b, _ := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err := json.Unmarshal(b, &js); err != nil || !js.Interrupted {
		t.Fatalf("summary.json: %v interrupted=%v", err, js.Interrupted)
	}
}

func TestScenarioErrors(t *testing.T) {
	cases := []struct {
		name, yaml string
		sets       []string
		line       int
		field      string
		reason     string
	}{
		{"unknown field", "name: x\npolicy:\n  committer: proposer\n  bogus: 1\n", nil, 4, "policy.bogus", "unknown field"},
		{"negative rate", "population:\n  phases:\n    - join_rate: -3/h\n", nil, 3, "population.phases.0.join_rate", "negative"},
		{"zero members", "population:\n  initial_users: 0\n", nil, 2, "population.initial_users", "at least 1"},
		{"unknown policy", "policy:\n  committer: sometimes\n", nil, 2, "policy.committer", "unknown policy"},
		{"bad duration", "duration: 5 parsecs\n", nil, 1, "duration", "invalid duration"},
		{"rate without unit", "traffic:\n  app_rate_per_member: 5\n", nil, 2, "traffic.app_rate_per_member", "want a count per unit"},
		{"type error", "name: x\nsuite: abc\n", nil, 2, "suite", "cannot unmarshal"},
		{"bad suite", "suite: 9\n", nil, 1, "suite", "unknown cipher suite"},
		{"lognormal sigma", "network:\n  latency:\n    dist: lognormal\n    median: 100ms\n    sigma: -1\n", nil, 5, "network.latency.sigma", "[0, 5]"},
		{"set unknown key", "name: x\n", []string{"policy.nope=1"}, 0, "policy.nope", "unknown field"},
		{"set bad value", "name: x\n", []string{"policy.path=sometimes"}, 0, "policy.path", "unknown value"},
		{"not a mapping", "policy: 3\n", nil, 1, "policy", "expected a mapping"},
		{"syntax", "policy:\n  committer: [\n", nil, 2, "", "did not find"},
		{"first_after without interval", "policy:\n  self_update:\n    first_after: 10m\n", nil, 3, "policy.self_update.first_after", "needs policy.self_update.interval"},
		{"negative first_after", "policy:\n  self_update:\n    interval: 1d\n    first_after: -1m\n", nil, 4, "policy.self_update.first_after", "negative"},
		{"min proposals not random", "policy:\n  min_proposals_per_commit: 2\n", nil, 2, "policy.min_proposals_per_commit", "needs policy.committer random"},
		{"min above max proposals", "policy:\n  committer: random\n  max_proposals_per_commit: 2\n  min_proposals_per_commit: 3\n", nil, 4, "policy.min_proposals_per_commit", "exceeds"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			se := scenarioError(t, c.yaml, c.sets)
			if se.File != "bad.yaml" || se.Line != c.line || se.Field != c.field || !strings.Contains(se.Reason, c.reason) {
				t.Fatalf("got %q (line %d field %q), want line %d field %q reason ~%q", se.Error(), se.Line, se.Field, c.line, c.field, c.reason)
			}
		})
	}
}

func TestWorkloadsValid(t *testing.T) {
	files, _ := filepath.Glob("../workloads/*.yaml")
	if len(files) < 5 {
		t.Fatalf("only %d workloads", len(files))
	}
	for _, f := range files {
		if _, err := LoadScenario(f, nil); err != nil {
			t.Error(err)
		}
	}
}

func TestFidelityBackends(t *testing.T) {
	for _, f := range []string{"model", "sampled", "full"} {
		sc, err := ParseScenario("t.yaml", []byte(baseYAML), []string{"fidelity=" + f})
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(sc, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.backend.Fidelity(); got != f {
			t.Errorf("fidelity %s: backend %s", f, got)
		}
	}
}

func TestUnwritableOutput(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "file")
	os.WriteFile(f, nil, 0o644)
	sc, _ := ParseScenario("t.yaml", []byte(baseYAML), nil)
	if _, err := New(sc, Options{OutDir: filepath.Join(f, "sub")}); err == nil {
		t.Fatal("no error for an output directory under a file")
	}
}

// slowModel forces the engine's member-by-member, epoch-by-epoch path.
type slowModel struct{ ModelBackend }

func (*slowModel) ProcessesCommits(MemberID) bool { return true }

// TestLazySkipMatchesStepByStep: the windowed skip in advance gives exactly
// the epochs and times of processing every commit one by one.
func TestLazySkipMatchesStepByStep(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	sc, err := LoadScenario("../workloads/demo.yaml", []string{"duration=44h", "policy.self_update.interval=2h", "fidelity=model"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), sc, Options{OutDir: d1}); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), sc, Options{OutDir: d2, Backend: &slowModel{}}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"events.csv", "epochs.csv", "compromises.csv"} {
		a, _ := os.ReadFile(filepath.Join(d1, f))
		b, _ := os.ReadFile(filepath.Join(d2, f))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between skip and step-by-step evaluation", f)
		}
	}
}

// TestFirstSelfUpdate: policy.self_update.first_after schedules a new
// member's first self-update (± jitter) instead of one full interval.
func TestFirstSelfUpdate(t *testing.T) {
	s := testSim(t, "policy.self_update.interval=7d", "policy.self_update.first_after=10m", "policy.self_update.jitter=0.5")
	s.until(t, 4*time.Minute)
	if s.st.selfUpdates != 0 {
		t.Fatalf("%d self-updates before 5 minutes", s.st.selfUpdates)
	}
	s.until(t, 16*time.Minute)
	if s.st.selfUpdates != 8 {
		t.Fatalf("%d self-updates by 16 minutes, want all 8 members", s.st.selfUpdates)
	}
	s.until(t, 59*time.Minute)
	if s.st.selfUpdates != 8 {
		t.Fatalf("%d self-updates by 59 minutes, want 8 (next ones a week later)", s.st.selfUpdates)
	}
}

// TestAddBatching: queued joiners wait for a full batch or max_wait, even
// when other members' commits happen meanwhile; under the designated
// policy those self-update commits do not add them.
func TestAddBatching(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "t.yaml")
	y := strings.Replace(baseYAML, "  initial_users: 8\n", "  initial_users: 8\n  phases: [{join_rate: 30/h}]\n", 1)
	if err := os.WriteFile(file, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	runScenario(t, file, dir, "duration=3h", "policy.committer=designated", "policy.add_batch.size=10",
		"policy.add_batch.max_wait=20m", "policy.self_update.interval=7d", "policy.self_update.first_after=2m")
	rows := readCSV(t, filepath.Join(dir, "epochs.csv"))
	var adds []string
	updates := 0
	for _, r := range rows[1:] {
		if r["adds"] != "0" {
			adds = append(adds, r["adds"]+"/"+r["committer"])
		} else if r["path"] == "1" {
			updates++
		}
	}
	// The initial 7 (and the founder), then batches closed by size (10) or by the 20-minute
	// wait (about 10 joiners at 30/h), all by the designated committer 0.
	if updates < 50 || len(adds) < 5 || adds[0] != "7/0" {
		t.Fatalf("%d self-updates; adds/committer per commit %v", updates, adds)
	}
	for _, a := range adds[1:] {
		ns, c, _ := strings.Cut(a, "/")
		if n, _ := strconv.Atoi(ns); n < 4 || c != "0" {
			t.Fatalf("adds/committer per commit %v: a batch cut short or added by another member", adds)
		}
	}
}

// TestMinProposalsPerCommit: under committer random with
// min_proposals_per_commit = max_proposals_per_commit = P, every commit of
// Update proposals takes P of them (P−1 when the committer's own Update was
// among the pending ones: its path replaces it); without the option a
// random committer commits about one proposal at a time.
func TestMinProposalsPerCommit(t *testing.T) {
	perCommit := func(sets ...string) (mean float64, hist map[string]int) {
		dir := t.TempDir()
		file := filepath.Join(dir, "t.yaml")
		if err := os.WriteFile(file, []byte(baseYAML), 0o644); err != nil {
			t.Fatal(err)
		}
		sets = append([]string{"duration=10h", "population.initial_users=32", "policy.committer=random",
			"policy.update_as=proposal", "policy.self_update.interval=1h", "network.latency.value=10ms"}, sets...)
		runScenario(t, file, dir, sets...)
		rows := readCSV(t, filepath.Join(dir, "epochs.csv"))
		hist = map[string]int{}
		n := 0
		for _, r := range rows[1:] {
			if r["adds"] != "0" {
				continue // the initial add commits (batches of 16)
			}
			u, _ := strconv.Atoi(r["updates"])
			hist[r["updates"]]++
			mean += float64(u)
			n++
		}
		return mean / float64(n), hist
	}
	if m, h := perCommit("policy.max_proposals_per_commit=3"); m > 1.5 {
		t.Fatalf("without min_proposals_per_commit: %.2f updates per commit %v, want about 1", m, h)
	}
	m, h := perCommit("policy.max_proposals_per_commit=3", "policy.min_proposals_per_commit=3")
	if m < 2.7 || m > 3 || h["0"]+h["1"]+h["4"] > 0 {
		t.Fatalf("min = max = 3: %.2f updates per commit %v, want 3 (2 when the committer's own was pending)", m, h)
	}
}

func readCSV(t *testing.T, file string) []map[string]string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	head := strings.Split(lines[0], ",")
	out := []map[string]string{nil}
	for _, l := range lines[1:] {
		r := map[string]string{}
		for i, v := range strings.Split(l, ",") {
			r[head[i]] = v
		}
		out = append(out, r)
	}
	return out
}

// TestPendingUpdateKeyIsStolen (issue 12, item 1): the private key of an
// Update the victim proposed before the compromise, in a stale epoch, is
// part of the stolen state, so the commit of that Update after the
// compromise does not heal; an Update proposed after the compromise does.
func TestPendingUpdateKeyIsStolen(t *testing.T) {
	for _, fid := range []string{"model", "full"} {
		t.Run(fid, func(t *testing.T) {
			s := testSim(t, "fidelity="+fid, "policy.update_as=proposal", "policy.committer=designated", "policy.designated_committers=1")
			testPendingUpdateKeyIsStolen(t, s)
			// At fidelity full the real shadow client must agree.
			if s.st.backendErrors != 0 || s.st.adversaryMismatches != 0 {
				t.Errorf("backend errors %d, adversary mismatches %d", s.st.backendErrors, s.st.adversaryMismatches)
			}
		})
	}
}

func testPendingUpdateKeyIsStolen(t *testing.T, s *Sim) {
	x := MemberID(3)
	// Epoch 2 is accepted at +1s; x receives it at +2s, so it proposes in
	// its stale epoch 1 (as victim 41 of the issue did).
	if err := s.tryCommit(0, true, 0, nil); err != nil {
		t.Fatal(err)
	}
	s.until(t, s.now+1100*time.Millisecond)
	if s.members[x].ep != 1 || s.epoch != 2 {
		t.Fatalf("victim in epoch %d, delivery service %d", s.members[x].ep, s.epoch)
	}
	if err := s.selfUpdate(x, "timer"); err != nil {
		t.Fatal(err)
	}
	c := s.compromiseNow(x, false)
	if c.startEpoch != 1 || c.dsEpoch != 2 {
		t.Fatalf("start epoch %d ds %d", c.startEpoch, c.dsEpoch)
	}
	s.until(t, s.now+5*time.Second)
	if s.epoch != 3 || s.members[x].updPending || s.members[x].lastUpdate != s.acceptT[3] {
		t.Fatalf("the Update was not committed: epoch %d", s.epoch)
	}
	if c.healed {
		t.Fatal("the commit of an Update proposed before the compromise healed it (the thief has that key)")
	}
	// A new Update, proposed after the compromise, heals.
	if err := s.selfUpdate(x, "timer"); err != nil {
		t.Fatal(err)
	}
	s.until(t, s.now+5*time.Second)
	if !c.healed || c.healEpoch != 4 {
		t.Fatalf("Update proposed after the compromise: healed %t at %d", c.healed, c.healEpoch)
	}
}

// TestPendingCommitIsStolen (issue 12, item 1): the path secrets of a
// commit the victim created before the compromise and the delivery
// service accepts after it are part of the stolen state.
func TestPendingCommitIsStolen(t *testing.T) {
	for _, fid := range []string{"model", "full"} {
		t.Run(fid, func(t *testing.T) {
			s := testSim(t, "fidelity="+fid)
			testPendingCommitIsStolen(t, s)
			if s.st.backendErrors != 0 || s.st.adversaryMismatches != 0 {
				t.Errorf("backend errors %d, adversary mismatches %d", s.st.backendErrors, s.st.adversaryMismatches)
			}
		})
	}
}

func testPendingCommitIsStolen(t *testing.T, s *Sim) {
	x := MemberID(5)
	if err := s.tryCommit(x, true, 0, nil); err != nil {
		t.Fatal(err)
	}
	c := s.compromiseNow(x, false) // the commit is in flight
	s.until(t, s.now+3*time.Second)
	if s.epoch != 2 || s.acceptT[2] <= c.at {
		t.Fatalf("epoch %d", s.epoch)
	}
	if c.healed {
		t.Fatal("the victim's commit built before the compromise healed it")
	}
	s.commitNow(t, x) // built after the compromise
	if !c.healed || c.healEpoch != 3 {
		t.Fatalf("victim's later commit: healed %t at %d", c.healed, c.healEpoch)
	}
}

// TestPolicyVariantsSharePopulation (issue 12, item 5): policy variants of
// one scenario and seed simulate the same world — the same join and leave
// times, the same compromise times and victims — so their PCS results are
// paired (common random numbers).
func TestPolicyVariantsSharePopulation(t *testing.T) {
	base := []string{"duration=4d", "adversary.rate=6/d", "population.initial_users=60"}
	variants := [][]string{
		{"policy.self_update.interval=1d"},
		{"policy.self_update.interval=7d"},
		{"policy.self_update.interval=6h", "policy.update_as=proposal"},
		{"policy.update_on_send_idle=2h"},
	}
	world := func(dir string) (string, string) {
		var joins, comps strings.Builder
		ev, err := os.ReadFile(filepath.Join(dir, "events.csv"))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(ev), "\n")
		left := map[string]bool{}
		for _, l := range lines {
			if f := strings.Split(l, ","); len(f) > 4 && f[2] == "leave" {
				left[f[4]] = true
			}
		}
		for _, l := range lines {
			f := strings.Split(l, ",")
			if len(f) > 4 && (f[2] == "join" || f[2] == "leave") {
				joins.WriteString(f[0] + " " + f[2] + " " + f[3] + " " + f[4] + "\n")
			}
			// Availability: the online/offline times of every device whose
			// user stays (a removed device's timeline ends with it), and
			// the messages the founding users' devices send after the
			// first hour (all added by then in every variant).
			if len(f) < 5 || left[f[4]] {
				continue
			}
			t, _ := strconv.ParseFloat(f[0], 64)
			u, _ := strconv.Atoi(f[4])
			if f[2] == "online" || f[2] == "offline" || (f[2] == "app" && t > 3600 && u >= 0 && u < 60) {
				joins.WriteString(f[0] + " " + f[2] + " " + f[3] + "\n")
			}
		}
		cs, err := os.ReadFile(filepath.Join(dir, "compromises.csv"))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(strings.TrimSpace(string(cs)), "\n")[1:] {
			f := strings.Split(l, ",")
			comps.WriteString(strings.Join(f[:5], " ") + "\n") // id, time, victim, user, signature key
		}
		return joins.String(), comps.String()
	}
	var wantJ, wantC string
	for i, v := range variants {
		dir := t.TempDir()
		runScenario(t, "../workloads/pcs-policies.yaml", dir, append(append([]string(nil), base...), v...)...)
		j, c := world(dir)
		if i == 0 {
			wantJ, wantC = j, c
			if strings.Count(j, "join") < 50 || strings.Count(j, "leave") < 50 || strings.Count(c, "\n") < 15 ||
				strings.Count(j, " offline ") < 100 || strings.Count(j, " app ") < 500 {
				t.Fatalf("too tame: %d joins, %d leaves, %d offline periods, %d messages, %d compromises", strings.Count(j, "join"),
					strings.Count(j, "leave"), strings.Count(j, " offline "), strings.Count(j, " app "), strings.Count(c, "\n"))
			}
			continue
		}
		if j != wantJ {
			t.Errorf("%v: joins, leaves, offline periods or messages differ from %v:\n%s", v, variants[0], firstDiff(wantJ, j))
		}
		if c != wantC {
			t.Errorf("%v: compromises (times, victims) differ from %v:\n%s", v, variants[0], firstDiff(wantC, c))
		}
	}
}

// TestGhostMemberPersists (issue 12, item 4): a signature-key adversary
// with adversary.ghost adds a ghost member in its first commit as the
// victim; removing the victim no longer heals the compromise (the ghost
// receives every path secret), removing the ghost does.
func TestGhostMemberPersists(t *testing.T) {
	for _, fid := range []string{"model", "full"} {
		t.Run(fid, func(t *testing.T) {
			s := testSim(t, "fidelity="+fid, "adversary.ghost=true")
			x := MemberID(4)
			c := s.compromiseNow(x, true)
			s.until(t, s.now+3*time.Second) // the takeover commit
			if c.ghost < 0 || s.members[c.ghost].leaf < 0 || s.tree.Members() != 9 {
				t.Fatalf("no ghost in the group: ghost %d, %d members", c.ghost, s.tree.Members())
			}
			g := c.ghost
			s.commitNow(t, 1)
			s.askRemove(x, false)
			s.until(t, s.now+5*time.Second)
			if s.members[x].leaf >= 0 || c.victimGone == never {
				t.Fatal("victim not removed")
			}
			if c.healed {
				t.Fatal("removing the victim healed although the ghost is in the group")
			}
			if c.injectEnd() != c.victimGone {
				t.Errorf("injection as the victim should end with its removal")
			}
			s.commitNow(t, 2)
			if c.healed {
				t.Fatal("healed with the ghost in the group")
			}
			s.askRemove(g, false)
			s.until(t, s.now+5*time.Second)
			if s.members[g].leaf >= 0 || c.ghostGone == never {
				t.Fatal("ghost not removed")
			}
			if !c.healed {
				t.Fatal("removing the ghost (and the victim) did not heal")
			}
			if s.st.backendErrors != 0 || s.st.adversaryMismatches != 0 {
				t.Errorf("backend errors %d, adversary mismatches %d", s.st.backendErrors, s.st.adversaryMismatches)
			}
		})
	}
}

// TestExternalRejoin (issue 12, item 4): with external commits allowed, a
// signature-key adversary whose victim is removed re-enters by an
// external commit signed with the victim's key and reads every epoch
// again until its rejoined leaf is removed.
func TestExternalRejoin(t *testing.T) {
	s := testSim(t, "group.external_commits=true", "adversary.rejoin=true")
	x := MemberID(4)
	c := s.compromiseNow(x, true)
	s.until(t, s.now+3*time.Second) // the takeover commit
	s.askRemove(x, false)
	s.until(t, s.now+3*time.Second)
	if !c.healed || c.victimGone == never {
		t.Fatalf("removing the victim: healed %t", c.healed)
	}
	s.until(t, s.now+5*time.Second) // sees its removal, sends an external commit
	r := c.rejoiner
	if r < 0 || s.members[r].leaf < 0 || c.rejoinAt == never || !c.back {
		t.Fatalf("no rejoin: rejoiner %d, back %t", r, c.back)
	}
	if s.tree.Members() != 8 {
		t.Fatalf("%d members after the rejoin, want 8", s.tree.Members())
	}
	s.commitNow(t, 1)
	if !c.back {
		t.Fatal("locked out by another member's commit although its rejoined leaf is in the group")
	}
	if !c.exposes(s.now, s.epoch) {
		t.Fatal("messages of the current epoch are not exposed after the rejoin")
	}
	s.askRemove(r, false)
	s.until(t, s.now+3*time.Second)
	if c.back || c.relockEpoch == 0 || c.rejoinGone == never {
		t.Fatalf("removing the rejoined leaf: back %t relock %d", c.back, c.relockEpoch)
	}
	s.until(t, s.now+10*time.Second)
	if s.members[r].state != stGone || c.rejoinTries != 1 {
		t.Fatalf("rejoined more than once: tries %d", c.rejoinTries)
	}
	if c.exposes(s.now, s.epoch) {
		t.Fatal("exposed after the relock")
	}
	// Validation: external commits must be allowed; model fidelity only.
	for _, sets := range [][]string{{"adversary.rejoin=true"}, {"adversary.rejoin=true", "group.external_commits=true", "fidelity=sampled"}} {
		if _, err := ParseScenario("t.yaml", []byte(baseYAML), sets); err == nil || !strings.Contains(err.Error(), "adversary.rejoin") {
			t.Errorf("%v: %v", sets, err)
		}
	}
}
