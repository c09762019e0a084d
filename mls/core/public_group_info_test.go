package core

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

// TestNewPublicGroup: a delivery service builds the public state from a
// GroupInfo and follows the group's commits with it; a forged or
// incomplete GroupInfo is refused.
func TestNewPublicGroup(t *testing.T) {
	a, b := aliceAndBob(t)
	gi, err := a.GroupInfo(GroupInfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tree, err := a.Public().Tree().MarshalRatchetTree()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewPublicGroup(nil, gi, nil); !errors.Is(err, ErrInvalidWelcome) {
		t.Fatalf("GroupInfo without a tree: %v", err)
	}
	forged := *gi
	forged.Signature = bytes.Clone(gi.Signature)
	forged.Signature[3] ^= 1
	if _, err := NewPublicGroup(nil, &forged, tree); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("forged GroupInfo signature: %v", err)
	}
	refuse := &Config{ValidateCredential: func(c *Credential, _ []byte) error {
		if string(c.Identity) == "bob" {
			return errors.New("bob is not known")
		}
		return nil
	}}
	if _, err := NewPublicGroup(refuse, gi, tree); err == nil {
		t.Fatal("the Authentication Service was not consulted on the tree")
	}
	ds, err := NewPublicGroup(nil, gi, tree)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ds.TreeHash(), a.Public().TreeHash()) || !bytes.Equal(ds.InterimTranscriptHash(), a.Public().InterimTranscriptHash()) ||
		ds.Epoch() != a.Epoch() {
		t.Fatal("public state differs from the members'")
	}
	pc := commitAndMerge(t, b, CommitOptions{ForcePath: true})
	next, err := ds.ApplyCommit(wireRoundTrip(t, pc.Commit), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Process(wireRoundTrip(t, pc.Commit)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(next.TreeHash(), a.Public().TreeHash()) || !bytes.Equal(next.InterimTranscriptHash(), a.Public().InterimTranscriptHash()) {
		t.Fatal("the delivery service's next epoch differs from the members'")
	}
}

// TestExternalSendersAuthenticated: the credentials of an external_senders
// extension go through the Authentication Service when a commit sets the
// extension and when a client joins a group that has it (RFC 9420,
// Section 5.3.1); a refused commit leaves the receiver unchanged.
func TestExternalSendersAuthenticated(t *testing.T) {
	noMallory := func(c *Credential, _ []byte) error {
		if string(c.Identity) == "mallory" {
			return errors.New("mallory is not a known delivery service")
		}
		return nil
	}
	cfgA, cfgB := newTestConfig(11), newTestConfig(12)
	cfgB.ValidateCredential = noMallory
	a, b := twoMembers(t, cfgA, cfgB)
	cs := suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	s, _ := suite.Get(cs)
	_, malloryPub, err := s.GenerateSignatureKeyPair(cfgA.rand())
	if err != nil {
		t.Fatal(err)
	}
	ext, err := ExternalSendersExtension([]ExternalSender{{SignatureKey: malloryPub, Credential: NewBasicCredential([]byte("mallory"))}})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := a.Commit(CommitOptions{Proposals: []ProposalBody{&GroupContextExtensions{Extensions: Extensions{ext}}}})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := b.MarshalState()
	if _, err := b.Process(wireRoundTrip(t, pc.Commit)); !errors.Is(err, ErrInvalidProposal) {
		t.Fatalf("commit adding an unauthenticated external sender: %v", err)
	}
	if after, _ := b.MarshalState(); !bytes.Equal(before, after) {
		t.Fatal("the refused commit changed the receiver")
	}
	if err := a.Merge(pc); err != nil {
		t.Fatal(err)
	}
	// A joiner with the same policy refuses the group.
	cfgC := newTestConfig(13)
	cfgC.ValidateCredential = noMallory
	kpC := newKP(t, cfgC, cs, "carol")
	pc = commitAndMerge(t, a, CommitOptions{Proposals: []ProposalBody{&Add{KeyPackage: *kpC.KeyPackage}}, InlineTree: true})
	if _, err := Join(cfgC, wireRoundTrip(t, pc.Welcome), kpC, nil); err == nil {
		t.Fatal("joined a group with an unauthenticated external sender")
	}
	cfgC.ValidateCredential = nil
	if _, err := Join(cfgC, wireRoundTrip(t, pc.Welcome), kpC, nil); err != nil {
		t.Fatalf("without an Authentication Service: %v", err)
	}
}
