package core

import (
	"errors"
	"io"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

// Security regression tests of issue 11, items 3 (handshake ratchet
// generations reused by Commit) and 4 (Merge of a pending commit made on a
// Clone).

// encryptedFlowGroup is newFlowGroup with EncryptHandshake on for every
// member (each member has its own Config).
func encryptedFlowGroup(t testing.TB, cs suite.ID, seed uint64, names ...string) []*Group {
	t.Helper()
	gs := newFlowGroup(t, cs, seed, names...)
	for _, g := range gs {
		g.cfg.EncryptHandshake = true
	}
	return gs
}

// sentGeneration opens msg, a PrivateMessage of r's epoch, with a copy of
// r's secret tree (r is unchanged) and returns the sender's leaf, ratchet
// and generation.
func sentGeneration(t testing.TB, r *Group, msg *MLSMessage) (LeafIndex, RatchetType, uint32) {
	t.Helper()
	msg = wireRoundTrip(t, msg)
	if msg.PrivateMessage == nil {
		t.Fatalf("message is %v, not a PrivateMessage", msg.WireFormat)
	}
	op, err := openPrivate(r.cs, msg.PrivateMessage, &r.pub.ctx, r.stree.Clone(), r.keys.SenderData, r.pub.memberSigKey)
	if err != nil {
		t.Fatalf("opening: %v", err)
	}
	return LeafIndex(op.SenderData.LeafIndex), ratchetFor(op.Content.Content.ContentType), op.SenderData.Generation
}

// TestSecurityHandshakeGenerationFork reproduces the fork of issue 11,
// item 3: with encrypted handshakes, a member that commits twice in an
// epoch (discarding the first commit) and then proposes used generation 0
// of its handshake ratchet for all three messages; a receiver that saw the
// proposal first rejected the valid commit (key already used) and stayed
// behind. RFC 9420, Sections 9.1, 9.2: each key and nonce is used once.
func TestSecurityHandshakeGenerationFork(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs suite.ID) {
		gs := encryptedFlowGroup(t, cs, 301, "A", "B", "C")
		a, b, c := gs[0], gs[1], gs[2]
		if _, err := a.Commit(CommitOptions{ForcePath: true}); err != nil { // discarded
			t.Fatal(err)
		}
		pc, err := a.Commit(CommitOptions{ForcePath: true})
		if err != nil {
			t.Fatal(err)
		}
		psk, err := a.ResumptionPSKProposal(a.Epoch())
		if err != nil {
			t.Fatal(err)
		}
		prop, err := a.Propose(psk, nil)
		if err != nil {
			t.Fatal(err)
		}
		// B sees the proposal first (the delivery service orders the
		// commit after it, or B buffers the commit); C sees only the
		// commit.
		deliver(t, a, []*Group{b}, prop)
		if err := a.Merge(pc); err != nil {
			t.Fatal(err)
		}
		deliver(t, a, []*Group{b, c}, pc.Commit)
		checkAgree(t, a, b, c)
		sendApp(t, b, gs, "after the commit")
	})
}

// TestSecurityHandshakeGenerationsDistinct checks that every message one
// member sends in an epoch uses its own generation of the ratchet of its
// content type: commits (none merged), proposals, Updates and
// application messages; and that a Commit or Propose that fails consumes
// nothing.
func TestSecurityHandshakeGenerationsDistinct(t *testing.T) {
	gs := encryptedFlowGroup(t, suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, 302, "A", "B")
	a, b := gs[0], gs[1]
	send := []func() (*MLSMessage, error){
		func() (*MLSMessage, error) { pc, err := a.Commit(CommitOptions{}); return commitMsg(pc), err },
		func() (*MLSMessage, error) { return a.SealApplication([]byte("x"), nil) },
		func() (*MLSMessage, error) {
			pc, err := a.Commit(CommitOptions{ForcePath: true})
			return commitMsg(pc), err
		},
		func() (*MLSMessage, error) { return a.ProposeUpdate(nil) },
		func() (*MLSMessage, error) {
			// A Commit that fails (invalid proposal list) consumes nothing.
			if _, err := a.Commit(CommitOptions{Proposals: []ProposalBody{&Remove{Removed: 9}}}); err == nil {
				t.Fatal("commit removing a non-member accepted")
			}
			return a.Propose(&Remove{Removed: uint32(b.LeafIndex())}, nil)
		},
		func() (*MLSMessage, error) { return a.SealApplication([]byte("y"), nil) },
		func() (*MLSMessage, error) {
			pc, err := a.Commit(CommitOptions{SkipCached: true})
			return commitMsg(pc), err
		},
	}
	want := map[RatchetType][]uint32{HandshakeRatchet: {0, 1, 2, 3, 4}, ApplicationRatchet: {0, 1}}
	got := map[RatchetType][]uint32{}
	for i, f := range send {
		msg, err := f()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		leaf, typ, gen := sentGeneration(t, b, msg)
		if leaf != a.LeafIndex() {
			t.Fatalf("message %d from leaf %d", i, leaf)
		}
		got[typ] = append(got[typ], gen)
	}
	for typ, w := range want {
		if !equalGens(got[typ], w) {
			t.Errorf("%v ratchet generations %v, want %v", typ, got[typ], w)
		}
	}
}

func commitMsg(pc *PendingCommit) *MLSMessage {
	if pc == nil {
		return nil
	}
	return pc.Commit
}

func equalGens(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// failingReader fails every Read after the first n.
type failingReader struct {
	r io.Reader
	n int
}

var errReaderExhausted = errors.New("test: randomness exhausted")

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errReaderExhausted
	}
	f.n--
	return f.r.Read(p)
}

// TestSecurityFailedCommitConsumesNoGeneration makes Commit fail at every
// draw of randomness (including those after the commit was encrypted:
// the Welcome's HPKE encryptions) and checks each failure leaves the group
// exactly as it was, its handshake ratchet included: the next message is
// sent with generation 0.
func TestSecurityFailedCommitConsumesNoGeneration(t *testing.T) {
	cs := suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	gs := encryptedFlowGroup(t, cs, 303, "A", "B")
	a, b := gs[0], gs[1]
	kpC := newKP(t, newTestConfig(3031), cs, "C")
	opts := CommitOptions{Proposals: []ProposalBody{&Add{KeyPackage: *kpC.KeyPackage}}, ForcePath: true}
	for n := 0; ; n++ {
		if n > 1000 {
			t.Fatal("commit never succeeded")
		}
		x := a.Clone()
		cfg := *x.cfg
		cfg.Rand = &failingReader{r: seededReader(uint64(n)), n: n}
		x.cfg = &cfg
		before := takeSnapshot(t, x)
		pc, err := x.Commit(opts)
		if err == nil {
			// The successful commit used generation 0 of x's ratchet.
			if _, _, gen := sentGeneration(t, b, pc.Commit); gen != 0 {
				t.Fatalf("commit sent with generation %d after %d failed attempts", gen, n)
			}
			break
		}
		if !errors.Is(err, errReaderExhausted) {
			t.Fatalf("attempt %d: %v", n, err)
		}
		before.check(t, x)
		x.cfg = a.cfg
		msg, err := x.Propose(&Remove{Removed: uint32(b.LeafIndex())}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, gen := sentGeneration(t, b, msg); gen != 0 {
			t.Fatalf("a Commit failing after %d draws of randomness consumed a generation: next message has generation %d", n, gen)
		}
	}
}

// TestSecurityMergeCloneCommit: a pending commit is bound to the Group
// value that created it (issue 11, item 4). Merging a Clone's pending
// commit into the original fails with ErrStalePendingCommit and leaves the
// original unchanged; merging it into the clone works.
func TestSecurityMergeCloneCommit(t *testing.T) {
	gs := encryptedFlowGroup(t, suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, 304, "A", "B")
	a, b := gs[0], gs[1]
	c := a.Clone()
	pc, err := c.Commit(CommitOptions{ForcePath: true})
	if err != nil {
		t.Fatal(err)
	}
	before := takeSnapshot(t, a)
	if err := a.Merge(pc); !errors.Is(err, ErrStalePendingCommit) {
		t.Fatalf("merging a clone's pending commit into the original: %v, want ErrStalePendingCommit", err)
	}
	before.check(t, a)
	// The clone's own merge works, and B follows it.
	if err := c.Merge(pc); err != nil {
		t.Fatalf("merging into the clone that made it: %v", err)
	}
	deliver(t, c, []*Group{b}, pc.Commit)
	checkAgree(t, c, b)
	// The other way round: the original's commit does not merge into a
	// clone either.
	a2 := c.Clone()
	pc2, err := c.Commit(CommitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	before = takeSnapshot(t, a2)
	if err := a2.Merge(pc2); !errors.Is(err, ErrStalePendingCommit) {
		t.Fatalf("merging the original's pending commit into a clone: %v, want ErrStalePendingCommit", err)
	}
	before.check(t, a2)
	if err := c.Merge(pc2); err != nil {
		t.Fatal(err)
	}
}

// TestSecurityMergeStalePendingCommit: a pending commit of an earlier
// epoch, one already merged, or one whose epoch ended with a commit
// removing this member is rejected with ErrStalePendingCommit.
func TestSecurityMergeStalePendingCommit(t *testing.T) {
	gs := encryptedFlowGroup(t, suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, 305, "A", "B", "C")
	a, b, c := gs[0], gs[1], gs[2]
	pc1, err := a.Commit(CommitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pc2 := commitAll(t, a, gs, CommitOptions{ForcePath: true})
	for name, pc := range map[string]*PendingCommit{"earlier epoch": pc1, "already merged": pc2, "nil": nil} {
		before := takeSnapshot(t, a)
		if err := a.Merge(pc); !errors.Is(err, ErrStalePendingCommit) {
			t.Fatalf("%s: %v, want ErrStalePendingCommit", name, err)
		}
		before.check(t, a)
	}
	// A commits; before its commit is accepted, B's commit removing A
	// arrives: A's pending commit belongs to an epoch that ended without
	// it.
	pcA, err := a.Commit(CommitOptions{ForcePath: true})
	if err != nil {
		t.Fatal(err)
	}
	commitAll(t, b, gs, CommitOptions{Proposals: []ProposalBody{&Remove{Removed: uint32(a.LeafIndex())}}})
	if a.Active() {
		t.Fatal("removed member still active")
	}
	before := takeSnapshot(t, a)
	if err := a.Merge(pcA); !errors.Is(err, ErrStalePendingCommit) {
		t.Fatalf("merging after being removed: %v, want ErrStalePendingCommit", err)
	}
	before.check(t, a)
	if a.Active() || a.Epoch() == b.Epoch() {
		t.Fatal("the removed member moved on")
	}
	checkAgree(t, b, c)
}

// TestSecurityMergeAfterAdoptPublic: AdoptPublic does not change the
// epoch, so a pending commit of the epoch still merges.
func TestSecurityMergeAfterAdoptPublic(t *testing.T) {
	gs := newFlowGroup(t, suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, 306, "A", "B")
	a, b := gs[0], gs[1]
	pc, err := a.Commit(CommitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.AdoptPublic(b.Public()); err != nil {
		t.Fatal(err)
	}
	if a.Public() != b.Public() {
		t.Fatal("AdoptPublic did not share the state")
	}
	if err := a.Merge(pc); err != nil {
		t.Fatalf("merge after AdoptPublic: %v", err)
	}
	deliver(t, a, gs, pc.Commit)
	checkAgree(t, a, b)
}
