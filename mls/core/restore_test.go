package core

import (
	"errors"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

// TestAdoptPublic: a member that computed the same epoch adopts another
// member's public state and keeps working; a different epoch is refused
// and leaves the member untouched.
func TestAdoptPublic(t *testing.T) {
	a, b := aliceAndBob(t)
	old := a.Public()
	pc := commitAndMerge(t, a, CommitOptions{ForcePath: true})
	// b is one epoch behind: a's state is not b's.
	before := b.Public()
	if err := b.AdoptPublic(a.Public()); !errors.Is(err, ErrStateMismatch) || b.Public() != before {
		t.Fatalf("adopting another epoch: %v", err)
	}
	deliver(t, a, []*Group{b}, pc.Commit)
	if b.Public() == a.Public() {
		t.Fatal("b already shares a's state")
	}
	if err := b.AdoptPublic(a.Public()); err != nil || b.Public() != a.Public() {
		t.Fatalf("adopting an equal state: %v", err)
	}
	if err := b.AdoptPublic(old); !errors.Is(err, ErrStateMismatch) || b.Public() != a.Public() {
		t.Fatalf("adopting an old state: %v", err)
	}
	// Both go on: b commits, a processes.
	pc = commitAndMerge(t, b, CommitOptions{ForcePath: true})
	deliver(t, b, []*Group{a}, pc.Commit)
	checkAgree(t, a, b)
}

// TestCloneConfigAndWireFormat: the handshake wire format is a per-message
// choice (ProposeOptions, CommitOptions) over the group's default, and a
// Clone has its own Config: changing the clone's default does not change
// the original's (it shared the *Config before).
func TestCloneConfigAndWireFormat(t *testing.T) {
	a, b := aliceAndBob(t)
	c := a.Clone()
	c.Config().EncryptHandshake = true
	if a.Config().EncryptHandshake {
		t.Fatal("changing the clone's Config changed the original's")
	}
	for _, tc := range []struct {
		g    *Group
		opts *ProposeOptions
		want WireFormat
	}{
		{a, nil, WireFormatPublicMessage},
		{c, nil, WireFormatPrivateMessage},
		{a, &ProposeOptions{WireFormat: WireFormatPrivateMessage}, WireFormatPrivateMessage},
		{c, &ProposeOptions{WireFormat: WireFormatPublicMessage}, WireFormatPublicMessage},
	} {
		msg, err := tc.g.ProposeUpdate(tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		if msg.WireFormat != tc.want {
			t.Errorf("ProposeUpdate(%+v) on clone=%v: %v, want %v", tc.opts, tc.g == c, msg.WireFormat, tc.want)
		}
	}
	if _, err := a.ProposeUpdate(&ProposeOptions{WireFormat: WireFormatWelcome}); err == nil {
		t.Error("a proposal as Welcome was accepted")
	}
	// The original commits as PublicMessage by default and as
	// PrivateMessage when the commit asks; b processes both kinds.
	pc, err := a.Commit(CommitOptions{SkipCached: true, ForcePath: true})
	if err != nil || pc.Commit.WireFormat != WireFormatPublicMessage {
		t.Fatalf("default commit: %v, %v", err, pc)
	}
	pc, err = a.Commit(CommitOptions{SkipCached: true, ForcePath: true, WireFormat: WireFormatPrivateMessage})
	if err != nil || pc.Commit.WireFormat != WireFormatPrivateMessage {
		t.Fatalf("private commit: %v, %v", err, pc)
	}
	if err := a.Merge(pc); err != nil {
		t.Fatal(err)
	}
	deliver(t, a, []*Group{b}, pc.Commit)
	checkAgree(t, a, b)
}

// aliceGroup returns alice's one-member group and bob's config and
// KeyPackage (suite 1).
func aliceGroup(t testing.TB) (a *Group, cfgB *Config, kpB *KeyPackageBundle) {
	t.Helper()
	cfgA := newTestConfig(1)
	a, err := CreateGroup(cfgA, []byte("group"), newKP(t, cfgA, suite.ID(1), "alice"), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfgB = newTestConfig(2)
	return a, cfgB, newKP(t, cfgB, suite.ID(1), "bob")
}

// aliceAndBob returns a two-member group at epoch 1: alice added bob.
func aliceAndBob(t testing.TB) (a, b *Group) {
	t.Helper()
	a, cfgB, kpB := aliceGroup(t)
	pc := commitAndMerge(t, a, CommitOptions{Proposals: []ProposalBody{&Add{KeyPackage: *kpB.KeyPackage}}, InlineTree: true})
	b, err := Join(cfgB, wireRoundTrip(t, pc.Welcome), kpB, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}
