package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mlslab/mlslab/mls/core"
	"github.com/mlslab/mlslab/sim/size"
)

// fidelityYAML: 64 members, churn, offline periods, application traffic,
// Update proposals and self-update commits, and compromises with and
// without the signature key: a few hundred events.
const fidelityYAML = `
name: fid
seed: 11
duration: 4h
group: {ratchet_tree_in_welcome: true}
population:
  initial_users: 48
  phases:
    - {name: grow, target_users: 64, join_rate: 40/h}
    - {name: churn, join_rate: 3/h, leave_rate: 3/h}
policy:
  committer: random
  update_as: proposal
  path: when_required
  commit_delay: 2s
  self_update: {interval: 2h, jitter: 0.3}
  add_batch: {size: 8, max_wait: 20s}
traffic: {app_rate_per_member: 1/h, app_bytes: 64}
network:
  latency: {dist: lognormal, median: 200ms, sigma: 0.5}
  offline: {mode: random, mean_online: 3h, mean_offline: 30m}
adversary:
  compromises:
    - at: 1h
    - at: 2h
      signature_key: true
  rate: 1/h
`

// runFidelity runs the scenario at one fidelity and returns its summary
// and output directory.
func runFidelity(t *testing.T, yaml, fidelity string, sets ...string) (*Summary, string) {
	t.Helper()
	return runWith(t, yaml, Options{}, append([]string{"fidelity=" + fidelity}, sets...)...)
}

// runWith runs the scenario with opt (OutDir set to a temporary directory)
// and returns its summary and output directory.
func runWith(t *testing.T, yaml string, opt Options, sets ...string) (*Summary, string) {
	t.Helper()
	sc, err := ParseScenario("fid.yaml", []byte(yaml), sets)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	opt.OutDir = dir
	sum, err := Run(context.Background(), sc, opt)
	if err != nil {
		t.Fatalf("%s: %v", sc.Fidelity, err)
	}
	return sum, dir
}

// csvWithout reads a CSV and drops the named columns and the rows whose
// column "event" is in skipEvents.
func csvWithout(t *testing.T, path string, drop []string, skipEvents ...string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	head := strings.Split(lines[0], ",")
	keep := make([]bool, len(head))
	ev := -1
	for i, h := range head {
		keep[i] = !contains(drop, h)
		if h == "event" {
			ev = i
		}
	}
	var out strings.Builder
	for _, l := range lines {
		f := strings.Split(l, ",")
		if ev >= 0 && contains(skipEvents, f[ev]) {
			continue
		}
		for i, v := range f {
			if keep[i] {
				out.WriteString(v + ",")
			}
		}
		out.WriteString("\n")
	}
	return out.String()
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func checkReal(t *testing.T, name string, sum *Summary) {
	t.Helper()
	if sum.Metrics.BackendErrors != 0 || sum.Real == nil || sum.Real.FirstError != "" {
		t.Fatalf("%s: %d backend errors, first: %v", name, sum.Metrics.BackendErrors, sum.Real)
	}
	if sum.Metrics.AdversaryMismatches != 0 {
		t.Errorf("%s: the real adversary differed from the symbolic prediction in %d epochs", name, sum.Metrics.AdversaryMismatches)
	}
	r := sum.Real
	if r.AuthenticatorChecks == 0 || r.CommitsProcessed == 0 || r.AdversaryAttempts == 0 || r.Joins == 0 {
		t.Errorf("%s: real work missing: %+v", name, *r)
	}
	if sum.Metrics.AppMessages > 0 && r.AppDecrypts == 0 {
		t.Errorf("%s: %d application messages, none decrypted by a real receiver", name, sum.Metrics.AppMessages)
	}
}

// TestRealReceiversKeepUp: real members process each commit when it
// reaches them (not when they next act), in the backend as in the engine,
// and the backend keeps a bounded number of epochs.
func TestRealReceiversKeepUp(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real cryptography")
	}
	sc, err := ParseScenario("fid.yaml", []byte(fidelityYAML), []string{"fidelity=sampled", "network.offline.mode=none",
		"traffic.app_rate_per_member=0/h", "policy.committer=designated", "policy.update_as=commit",
		"policy.self_update.interval=4m", "duration=90m", "adversary.rate=0/h", "population.initial_users=24",
		"population.phases.0.target_users=40", "adversary.compromises.1.at=80m"})
	if err != nil {
		t.Fatal(err)
	}
	b := &RealBackend{SampleReceivers: 6}
	s, err := New(sc, Options{Backend: b})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	s.push(sc.Duration.D(), evEnd, -1, 0, nil)
	s.until(t, sc.Duration.D()-time.Second)
	if s.epoch < keepTemplates+50 {
		t.Fatalf("only %d epochs: too few to test the bounds", s.epoch)
	}
	// Every epoch accepted more than the largest latency ago has reached
	// every (online) real member.
	due := uint64(sort.Search(len(s.acceptT), func(i int) bool { return s.acceptT[i] > s.now-s.lat.max })) - 1
	checked := 0
	for _, m := range b.real {
		rm := b.members[m]
		if rm.g == nil || s.members[m].state != stActive {
			continue
		}
		checked++
		if rm.g.Epoch() != s.members[m].ep || rm.g.Epoch() < due {
			t.Errorf("real member %d at epoch %d (engine %d), due %d (delivery service %d)", m, rm.g.Epoch(), s.members[m].ep, due, s.epoch)
		}
	}
	if checked < 3 {
		t.Fatalf("only %d real members", checked)
	}
	tmpl := 0
	for _, r := range b.epochs {
		if r.tmpl != nil {
			tmpl++
		}
	}
	if len(b.epochs) > keepTemplates+8 || tmpl > keepTemplates+8 {
		t.Errorf("%d epochs kept (%d templates) for %d epochs", len(b.epochs), tmpl, s.epoch)
	}
	if s.st.backendErrors != 0 || b.st.FirstError != "" || b.st.CommitsProcessed < int64(checked)*int64(s.epoch)/2 {
		t.Errorf("backend errors %d (%s), %d commits processed", s.st.backendErrors, b.st.FirstError, b.st.CommitsProcessed)
	}
}

// TestFidelityLevelsAgree: model, sampled and full produce identical tree
// health, sizes and PCS results; in full and sampled every real receiver
// reached every committer's epoch authenticator and the real adversary
// achieved exactly the symbolic prediction in every epoch. events.csv
// agrees too (proposal and application message sizes), except the bytes of
// rejected commits (the model sizes them against the tree at rejection).
func TestFidelityLevelsAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real cryptography")
	}
	model, dm := runFidelity(t, fidelityYAML, "model")
	sampled, ds := runFidelity(t, fidelityYAML, "sampled")
	full, df := runFidelity(t, fidelityYAML, "full")
	checkReal(t, "sampled", sampled)
	checkReal(t, "full", full)
	if model.Metrics.Epochs < 40 || model.Metrics.Compromises < 3 || model.Metrics.Healed == 0 || model.Metrics.Leaves == 0 {
		t.Fatalf("scenario too tame: %+v", model.Metrics)
	}
	if full.Real.RealMembers < 50 || sampled.Real.RealMembers >= full.Real.RealMembers {
		t.Errorf("real members: full %d, sampled %d", full.Real.RealMembers, sampled.Real.RealMembers)
	}
	cpu := []string{"create_cpu_us"}
	for _, f := range []struct {
		name string
		drop []string
		skip []string
	}{
		{"epochs.csv", cpu, nil},
		{"compromises.csv", nil, nil},
		{"events.csv", nil, []string{"commit_rejected", "adversary_mismatch"}},
	} {
		want := csvWithout(t, filepath.Join(dm, f.name), f.drop, f.skip...)
		for lvl, d := range map[string]string{"sampled": ds, "full": df} {
			if got := csvWithout(t, filepath.Join(d, f.name), f.drop, f.skip...); got != want {
				t.Errorf("%s: %s differs from model:\n%s", lvl, f.name, firstDiff(want, got))
			}
		}
	}
	if model.Metrics.CommitBytesTotal != full.Metrics.CommitBytesTotal || model.Metrics.WelcomeBytesTotal != sampled.Metrics.WelcomeBytesTotal ||
		model.Metrics.AppBytesTotal != sampled.Metrics.AppBytesTotal || model.Metrics.ProposalBytesTotal != sampled.Metrics.ProposalBytesTotal {
		t.Errorf("byte totals differ: model %+v\nsampled %+v", model.Metrics, sampled.Metrics)
	}
}

func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return "model: " + la[i] + "\nreal:  " + lb[i]
		}
	}
	return "(lengths differ)"
}

// TestSizesMatchRealEncodings: package size equals the real encodings for
// other suites (post-quantum ones included: KEM outputs shorter than the
// public keys, two-byte length prefixes), private handshakes, padding and authenticated data
// (commits, Welcomes, proposals, application messages), on a short run.
func TestSizesMatchRealEncodings(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real cryptography")
	}
	short := []string{"duration=90m", "population.initial_users=12", "population.phases.0.target_users=16",
		"adversary.compromises.1.at=80m", "adversary.rate=0/h"}
	for _, v := range [][]string{
		{"suite=3"},
		{"suite=4"},
		{"suite=77"},                            // 0x004D ML-KEM-512, SHA-256 hash, HKDF-SHA512
		{"suite=79", "group.handshake=private"}, // 0x004F ML-KEM-768, SHA-384 hash, HKDF-SHA512
		{"suite=83"},                            // 0x0053 X-Wing, Ed25519
		{"suite=87", "group.handshake=private"}, // 0x0057 X-Wing, ML-DSA-87
		{"group.handshake=private", "group.padding_block=64", "group.authenticated_data_bytes=5", "group.ratchet_tree_in_welcome=false"},
	} {
		sets := append(append([]string(nil), short...), v...)
		_, dm := runFidelity(t, fidelityYAML, "model", sets...)
		sum, ds := runFidelity(t, fidelityYAML, "sampled", sets...)
		checkReal(t, strings.Join(v, " "), sum)
		for _, f := range []string{"epochs.csv", "events.csv"} {
			want := csvWithout(t, filepath.Join(dm, f), []string{"create_cpu_us"}, "commit_rejected")
			if got := csvWithout(t, filepath.Join(ds, f), []string{"create_cpu_us"}, "commit_rejected"); got != want {
				t.Errorf("%v: %s differs:\n%s", v, f, firstDiff(want, got))
			}
		}
	}
}

// TestSignatureKeyAdversaryHealsOnlyByRemoval: an adversary that took the
// signature key and keeps acting as the victim is not healed by any
// number of path commits; removing the victim heals it (real shadow
// client, sampled).
func TestSignatureKeyAdversaryHealsOnlyByRemoval(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real cryptography")
	}
	yaml := strings.Replace(fidelityYAML, "  rate: 1/h\n", "", 1)
	sets := []string{"adversary.compromises.0.signature_key=true", "policy.self_update.interval=30m",
		"population.phases.1.leave_rate=0/h", "adversary.compromises.1.at=70m", "duration=100m"}
	sum, dir := runFidelity(t, yaml, "sampled", sets...)
	checkReal(t, "sampled", sum)
	data, err := os.ReadFile(filepath.Join(dir, "compromises.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	col := map[string]int{}
	for i, h := range strings.Split(lines[0], ",") {
		col[h] = i
	}
	rows := lines[1:]
	if len(rows) != 2 {
		t.Fatalf("compromises: %q", rows)
	}
	for _, r := range rows {
		f := strings.Split(r, ",")
		if f[col["signature_key"]] != "true" || f[col["healed"]] != "false" {
			t.Errorf("signature-key compromise healed without removal: %s", r)
		}
		// The adversary really committed as its victim, and the real
		// receivers accepted those commits (no backend error).
		if f[col["adversary_commits"]] == "0" {
			t.Errorf("signature-key adversary made no accepted commit: %s", r)
		}
	}
	if sum.Metrics.AdversaryCommits < 2 || sum.Real.AdversaryCommit < sum.Metrics.AdversaryCommits {
		t.Errorf("adversary commits: %d accepted, %d built from the adversary's state", sum.Metrics.AdversaryCommits, sum.Real.AdversaryCommit)
	}
	// Removing the victims heals them.
	s := startedSim(t, yaml, append([]string{"fidelity=sampled"}, sets...)...)
	s.until(t, s.sc.Adversary.Compromises[1].At.D()+1)
	for _, c := range s.comps {
		if !c.happened || c.healed {
			t.Fatalf("compromise %d: happened %t healed %t", c.id, c.happened, c.healed)
		}
		s.askRemove(c.victim, false)
	}
	s.until(t, s.sc.Adversary.Compromises[1].At.D()+5*60e9)
	for _, c := range s.comps {
		if !c.healed {
			t.Errorf("compromise %d not healed by removing the victim", c.id)
		}
	}
	if s.st.backendErrors != 0 || s.st.adversaryMismatches != 0 {
		t.Errorf("backend errors %d, adversary mismatches %d", s.st.backendErrors, s.st.adversaryMismatches)
	}
}

// TestMaterializeMatchesMLS: the materialized states of mlsstate.go are
// real mls states that can send once unlocked.
func TestMaterializeMatchesMLS(t *testing.T) {
	b := &RealBackend{SampleReceivers: 1}
	s1, _ := size.SuiteByID(1)
	if err := b.Init(BackendConfig{Suite: s1, Profile: size.DefaultProfile(), Seed: 1, ExpectedMembers: 1}, 0); err != nil {
		t.Fatal(err)
	}
	g := b.members[0].g
	tp, err := b.oracleState(0, b.cur)
	if err != nil {
		t.Fatal(err)
	}
	if err := tp.Check(b.cur.Public().Tree()); err != nil {
		t.Fatal(err)
	}
	m := b.copyOf(b.cur, 0, b.members[0].sig, tp)
	if m.LeafIndex() != 0 || !bytes.Equal(m.SignaturePrivateKey(), g.SignaturePrivateKey()) || m.TreePrivate() != tp || !m.Active() {
		t.Fatal("materialized group fields differ")
	}
	// A receiver's copy cannot encrypt in its epoch (core.RestoreGroup);
	// senderState unlocks its states, which are the only senders.
	if _, err := m.SealApplication([]byte("x"), nil); !errors.Is(err, core.ErrSendingLocked) {
		t.Fatalf("materialized receiver state sealed: %v", err)
	}
	m.UnlockSending()
	msg, err := m.SealApplication([]byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := msg.Marshal()
	if _, err := core.UnmarshalMLSMessage(enc); err != nil {
		t.Fatal(err)
	}
}

// TestWorkersDoNotChangeResults: real receivers processing in parallel
// batches that overlap commit creation (Workers > 1) give the same events,
// epochs, compromises and real-work counters as processing each commit on
// arrival (Workers 1); only measured times differ.
func TestWorkersDoNotChangeResults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real cryptography")
	}
	run := func(workers int) (*Summary, string) {
		sum, dir := runWith(t, fidelityYAML, Options{Workers: workers}, "fidelity=sampled", "duration=3h")
		checkReal(t, fmt.Sprintf("workers=%d", workers), sum)
		return sum, dir
	}
	s1, d1 := run(1)
	s4, d4 := run(4)
	if s1.Real.Workers != 1 || s4.Real.Workers != 4 {
		t.Fatalf("workers recorded %d, %d", s1.Real.Workers, s4.Real.Workers)
	}
	for _, f := range []string{"events.csv", "epochs.csv", "compromises.csv"} {
		drop := []string{"create_cpu_us"}
		if a, b := csvWithout(t, filepath.Join(d1, f), drop), csvWithout(t, filepath.Join(d4, f), drop); a != b {
			t.Errorf("%s differs between 1 and 4 workers", f)
		}
	}
	counters := func(r *RealStats) RealStats {
		c := *r
		c.Workers, c.CommitCreateMeanUs, c.CommitProcessMeanUs, c.JoinMeanUs, c.AppSealMeanUs, c.AppOpenMeanUs = 0, 0, 0, 0, 0, 0
		c.createCPU, c.procCPU, c.joinCPU, c.appCPU, c.openCPU = 0, 0, 0, 0, 0
		return c
	}
	if a, b := counters(s1.Real), counters(s4.Real); a != b {
		t.Errorf("real work differs:\n 1 worker:  %+v\n 4 workers: %+v", a, b)
	}
	if s1.Real.CommitsProcessed == 0 {
		t.Error("no commits processed")
	}
}

// TestLongOfflineRealMemberResyncs: a real member offline for more than
// maxLagEpochs epochs is re-materialized in the current epoch when the
// backend drops the old epochs, and the backlog the engine then delivers
// is not an error (the member is already past it).
func TestLongOfflineRealMemberResyncs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real cryptography")
	}
	s := startedSim(t, fidelityYAML, "fidelity=sampled", "network.offline.mode=none",
		"traffic.app_rate_per_member=0/h", "policy.committer=designated", "policy.update_as=commit",
		"policy.self_update.interval=2m", "adversary.rate=0/h", "duration=3h", "population.initial_users=40",
		"population.phases.0.target_users=40", "adversary.compromises.0.at=170m", "adversary.compromises.1.at=175m")
	s.until(t, 10*time.Minute)
	b := s.backend.(*RealBackend)
	m := MemberID(-1)
	for _, x := range b.real {
		if x != 0 && b.members[x].g != nil && !s.isDesignated(x) {
			m = x
			break
		}
	}
	if m < 0 {
		t.Fatal("no real receiver besides the founder")
	}
	mm := &s.members[m]
	s.goOffline(m, mm.onGen)
	s.until(t, s.now+70*time.Minute)
	if lag := s.epoch - mm.ep; lag <= maxLagEpochs {
		t.Fatalf("member %d lags %d epochs, want > %d", m, lag, maxLagEpochs)
	}
	if err := s.goOnline(m, mm.onGen); err != nil {
		t.Fatal(err)
	}
	s.until(t, s.now+10*time.Minute)
	st := b.Stats()
	if st.Resyncs == 0 || s.st.backendErrors != 0 || st.FirstError != "" {
		t.Fatalf("resyncs %d, backend errors %d (%s)", st.Resyncs, s.st.backendErrors, st.FirstError)
	}
	if g := b.members[m].g; g == nil || g.Epoch() != s.epoch {
		t.Fatalf("member %d not in the current epoch %d after coming back", m, s.epoch)
	}
}

// TestRejectedCommitGenerationNotReused: with encrypted handshakes, a
// commit the delivery service rejects has used a generation of its
// sender's handshake ratchet; the sender's next handshake message in that
// epoch takes the following one (RFC 9420, Section 9.2: a key and nonce
// encrypt one message). The commit is built on a copy of the sender state,
// which used to keep the generation unused.
func TestRejectedCommitGenerationNotReused(t *testing.T) {
	b := &RealBackend{SampleReceivers: 1}
	s1, _ := size.SuiteByID(1)
	if err := b.Init(BackendConfig{Suite: s1, Profile: size.DefaultProfile(), Seed: 1, ExpectedMembers: 1, PrivateHandshake: true}, 0); err != nil {
		t.Fatal(err)
	}
	e := b.cur.Epoch()
	generation := func(enc []byte) uint32 {
		t.Helper()
		msg, err := core.UnmarshalMLSMessage(enc)
		if err != nil {
			t.Fatal(err)
		}
		if msg.PrivateMessage == nil {
			t.Fatal("handshake not encrypted")
		}
		tree := b.cur.Public().Tree()
		st, err := b.cur.EpochSecrets().NewSecretTree(tree.NumLeaves())
		if err != nil {
			t.Fatal(err)
		}
		ctx := b.cur.Public().Context()
		o, err := core.OpenPrivate(b.cur.EpochSecrets().CipherSuite(), msg.PrivateMessage, &ctx, st, b.cur.EpochSecrets().SenderData,
			func(l uint32) ([]byte, error) { return tree.Leaf(core.LeafIndex(l)).SignatureKey, nil })
		if err != nil {
			t.Fatal(err)
		}
		return o.SenderData.Generation
	}
	var gens []uint32
	for range 2 {
		p, err := b.CreateCommit(CommitSpec{Epoch: e, Committer: 0, Path: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.RejectCommit(p, nil); err != nil {
			t.Fatal(err)
		}
		gens = append(gens, generation(p.(*realPending).commit))
	}
	if _, err := b.Propose(PropUpdate, 0, 0, e); err != nil {
		t.Fatal(err)
	}
	gens = append(gens, generation(b.props[propKey{PropUpdate, 0}].msg))
	if gens[0] >= gens[1] || gens[1] >= gens[2] {
		t.Fatalf("handshake generations of two rejected commits and a proposal, one epoch, one sender: %v", gens)
	}
}
