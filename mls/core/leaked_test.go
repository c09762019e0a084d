package core

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

// leakOf is what an adversary takes from member g: the epoch's secrets and
// g's private tree state, with keys as its pending Update keys.
func leakOf(g *Group, keys [][]byte) *LeakedState {
	return &LeakedState{Secrets: g.EpochSecrets(), Members: []LeakedMember{{Tree: g.TreePrivate(), UpdateKeys: keys}}}
}

// advanceLeaked runs AdvanceLeaked from prev over the commit pc, accepted
// by the member next (already processed).
func advanceLeaked(t *testing.T, prev *PublicGroup, s *LeakedState, pc *PendingCommit, next *Group) *LeakedEpoch {
	t.Helper()
	res, err := prev.AdvanceLeaked(s, &AcceptedCommit{Message: wireRoundTrip(t, pc.Commit), Next: next.Public(), Added: pc.Stats.Added}, nil)
	if err != nil {
		t.Fatalf("AdvanceLeaked: %v", err)
	}
	return res
}

// sameKeys reports whether a and b hold the same private keys.
func sameKeys(a, b *TreePrivate) bool {
	if a.Leaf() != b.Leaf() || !slices.Equal(a.Nodes(), b.Nodes()) {
		return false
	}
	for _, x := range a.Nodes() {
		if !bytes.Equal(a.PrivateKey(x), b.PrivateKey(x)) {
			return false
		}
	}
	return true
}

// wantDerived checks that res is the epoch member g reached, with g's keys.
func wantDerived(t *testing.T, res *LeakedEpoch, g *Group) {
	t.Helper()
	if res.Outcome != LeakedDerived {
		t.Fatalf("outcome %v, want derived", res.Outcome)
	}
	if !bytes.Equal(res.Secrets.Authenticator, g.EpochAuthenticator()) {
		t.Fatal("derived epoch authenticator differs from the member's")
	}
	if !sameKeys(res.Trees[0], g.TreePrivate()) {
		t.Fatalf("derived tree state %v differs from the member's %v", res.Trees[0].Nodes(), g.TreePrivate().Nodes())
	}
}

// TestAdvanceLeaked follows a leaked member's state (carol's) through
// commits with and without a path, public and private handshakes: the
// adversary derives what carol derives, until carol's own commit (whose
// path secrets it does not hold) locks it out.
func TestAdvanceLeaked(t *testing.T) {
	for _, cs := range []suite.ID{suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, suite.MLS_128_DHKEMP256_AES128GCM_SHA256_P256} {
		for _, private := range []bool{false, true} {
			all := newFlowGroup(t, cs, 71, "alice", "bob", "carol", "dave")
			for _, g := range all {
				g.cfg.EncryptHandshake = private
			}
			a, c := all[0], all[2]
			s := leakOf(c, nil)
			// A commit with a path that adds a member.
			cfgE := newTestConfig(7101)
			prev := a.Public()
			pc := commitAll(t, a, all, CommitOptions{ForcePath: true, Proposals: []ProposalBody{&Add{KeyPackage: *newKP(t, cfgE, cs, "eve").KeyPackage}}})
			if len(pc.Stats.Added) != 1 {
				t.Fatalf("added %v", pc.Stats.Added)
			}
			res := advanceLeaked(t, prev, s, pc, c)
			wantDerived(t, res, c)
			s = &LeakedState{Secrets: res.Secrets, Members: []LeakedMember{{Tree: res.Trees[0]}}}
			// A commit without a path (commit_secret zero): an Add.
			prev = all[1].Public()
			pc = commitAll(t, all[1], all, CommitOptions{Proposals: []ProposalBody{&Add{KeyPackage: *newKP(t, cfgE, cs, "frank").KeyPackage}}})
			if pc.Commit.WireFormat == WireFormatPublicMessage && pc.Commit.PublicMessage.Content.Commit.Path != nil {
				t.Fatal("Add-only commit has a path")
			}
			res = advanceLeaked(t, prev, s, pc, a)
			wantDerived(t, res, c)
			s2 := &LeakedState{Secrets: res.Secrets, Members: []LeakedMember{{Tree: res.Trees[0]}}}
			// Secrets of another epoch do not fit the next commit.
			prev = all[3].Public()
			pc = commitAll(t, all[3], all, CommitOptions{ForcePath: true})
			if res := advanceLeaked(t, prev, s, pc, a); res.Outcome != LeakedMismatch {
				t.Fatalf("stale secrets: outcome %v, want mismatch", res.Outcome)
			}
			res = advanceLeaked(t, prev, s2, pc, c)
			wantDerived(t, res, c)
			s = &LeakedState{Secrets: res.Secrets, Members: []LeakedMember{{Tree: res.Trees[0]}}}
			// Carol's own commit: its path secrets were never leaked.
			prev = c.Public()
			pc = commitAll(t, c, all, CommitOptions{ForcePath: true})
			if res := advanceLeaked(t, prev, s, pc, a); res.Outcome != LeakedLockedOut || res.Secrets != nil {
				t.Fatalf("committer's old state: outcome %v, want locked out", res.Outcome)
			}
		}
	}
}

// TestAdvanceLeakedUpdateKey: a leaked Update proposal key is carol's leaf
// key once the Update is committed (RFC 9420, Section 12.1.2); without it
// the committer's path locks the adversary out. A second leaked state (the
// adversary's other member) decrypts the path alone.
func TestAdvanceLeakedUpdateKey(t *testing.T) {
	cs := suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	all := newFlowGroup(t, cs, 72, "alice", "bob", "carol", "dave")
	a, c, d := all[0], all[2], all[3]
	up, err := c.ProposeUpdate(nil)
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, c, all, up)
	var keys [][]byte
	for _, k := range c.OwnUpdateKeys() {
		keys = append(keys, k)
	}
	if len(keys) != 1 {
		t.Fatalf("%d own Update keys", len(keys))
	}
	withKey, without := leakOf(c, keys), leakOf(c, nil)
	both := &LeakedState{Secrets: d.EpochSecrets(), Members: []LeakedMember{{Tree: c.TreePrivate()}, {Tree: d.TreePrivate()}}}
	prev := a.Public()
	pc := commitAll(t, a, all, CommitOptions{ForcePath: true})
	wantDerived(t, advanceLeaked(t, prev, withKey, pc, c), c)
	if res := advanceLeaked(t, prev, without, pc, c); res.Outcome != LeakedLockedOut {
		t.Fatalf("without the Update key: outcome %v, want locked out", res.Outcome)
	}
	res := advanceLeaked(t, prev, both, pc, c)
	if res.Outcome != LeakedDerived || !sameKeys(res.Trees[1], d.TreePrivate()) {
		t.Fatalf("two leaked states: outcome %v", res.Outcome)
	}
	if !bytes.Equal(res.Secrets.Authenticator, c.EpochAuthenticator()) {
		t.Fatal("two leaked states: authenticator differs")
	}
	if res.Trees[0].PrivateKey(c.LeafIndex().Node()) != nil {
		t.Fatal("carol's replaced leaf key survived the commit")
	}
}

// TestAdvanceLeakedExternal: an external commit's init secret comes from
// the leaked external secret (RFC 9420, Section 8.3).
func TestAdvanceLeakedExternal(t *testing.T) {
	cs := suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	all := newFlowGroup(t, cs, 73, "alice", "bob", "carol")
	a, b := all[0], all[1]
	gi, err := a.GroupInfo(GroupInfoOptions{InlineTree: true, ExternalPub: true})
	if err != nil {
		t.Fatal(err)
	}
	cfgD := newTestConfig(7301)
	s, prev := leakOf(b, nil), b.Public()
	d, msg, err := ExternalJoin(cfgD, gi, newKP(t, cfgD, cs, "dave"), nil)
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, d, all, msg)
	res, err := prev.AdvanceLeaked(s, &AcceptedCommit{Message: wireRoundTrip(t, msg), Next: b.Public()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantDerived(t, res, b)
}

// TestAdvanceLeakedInconsistent: inputs that do not belong together are
// errors, not outcomes.
func TestAdvanceLeakedInconsistent(t *testing.T) {
	cs := suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	all := newFlowGroup(t, cs, 74, "alice", "bob", "carol", "dave")
	a, c := all[0], all[2]
	s, prev, prevA := leakOf(c, nil), a.Public(), a.Clone()
	pc := commitAll(t, a, all, CommitOptions{ForcePath: true})
	// The next epoch of another commit of the same epoch.
	other, err := prevA.Commit(CommitOptions{ForcePath: true})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]*AcceptedCommit{
		"next of another commit":     {Message: pc.Commit, Next: other.NextGroup().Public()},
		"next is not the next epoch": {Message: pc.Commit, Next: prev},
		"wrong added leaves":         {Message: pc.Commit, Next: c.Public(), Added: []LeafIndex{1}},
		"no commit":                  {Next: c.Public()},
	}
	for name, ac := range cases {
		if _, err := prev.AdvanceLeaked(s, ac, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := prev.AdvanceLeaked(s, &AcceptedCommit{Message: pc.Commit, Next: c.Public(), Added: []LeafIndex{1}}, nil); errors.Is(err, ErrDecrypt) {
		t.Errorf("wrong added leaves reported as a decryption failure: %v", err)
	}
}
