package core

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

// TestPublicGroupFollowsCommits: a delivery service holding only the public
// state follows every commit (by value and by reference) and ends with the
// members' GroupContext; a tampered commit is rejected and leaves it as it was.
func TestPublicGroupFollowsCommits(t *testing.T) {
	cs := suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	cfgA, cfgB, cfgC := newTestConfig(21), newTestConfig(22), newTestConfig(23)
	a, err := CreateGroup(cfgA, []byte("ds"), newKP(t, cfgA, cs, "a"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ds := a.Public()
	kpB, kpC := newKP(t, cfgB, cs, "b"), newKP(t, cfgC, cs, "c")
	step := func(g *Group, pc *PendingCommit, props ...*MLSMessage) {
		t.Helper()
		next, err := ds.ApplyCommit(wireRoundTrip(t, pc.Commit), props, nil)
		if err != nil {
			t.Fatalf("DS: %v", err)
		}
		ds = next
		want := g.Public()
		if !bytes.Equal(ds.ctxBytes, want.ctxBytes) || !bytes.Equal(ds.interim, want.interim) {
			t.Fatalf("DS context differs from the committer's at epoch %d", want.Epoch())
		}
	}
	pc := commitAndMerge(t, a, CommitOptions{Proposals: []ProposalBody{&Add{KeyPackage: *kpB.KeyPackage}}, InlineTree: true})
	step(a, pc)
	b, err := Join(cfgB, pc.Welcome, kpB, nil)
	if err != nil {
		t.Fatal(err)
	}
	prop, err := b.Propose(&Add{KeyPackage: *kpC.KeyPackage}, nil)
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, b, []*Group{a}, prop)
	pc = commitAndMerge(t, a, CommitOptions{ForcePath: true})
	step(a, pc, wireRoundTrip(t, prop))
	deliver(t, a, []*Group{b}, pc.Commit)

	// Tampered signature: rejected, DS unchanged.
	pc2, err := b.Commit(CommitOptions{ForcePath: true})
	if err != nil {
		t.Fatal(err)
	}
	bad := wireRoundTrip(t, pc2.Commit)
	bad.PublicMessage.Auth.Signature[3] ^= 1
	before := ds
	if _, err := ds.ApplyCommit(bad, nil, nil); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("tampered commit: %v", err)
	}
	if ds != before || ds.Epoch() != a.Epoch() {
		t.Fatal("DS changed")
	}
	// Wrong epoch (an old commit) is rejected.
	if _, err := ds.ApplyCommit(wireRoundTrip(t, pc.Commit), nil, nil); !errors.Is(err, ErrWrongEpoch) {
		t.Fatalf("replayed old commit: %v", err)
	}
}
