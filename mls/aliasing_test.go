package mls_test

import (
	"bytes"
	"testing"

	"github.com/mlslab/mlslab/mls"
)

// flip inverts the first octet of b, if any.
func flip(b []byte) {
	if len(b) > 0 {
		b[0] ^= 0xff
	}
}

// TestFacadeNoAliasing: no slice a caller passes in or gets back is shared
// with a group's state. Every input is mutated after the call that took it
// and every returned slice is mutated; the members must still agree after a
// commit and exchange messages, and the accessors still return the
// original values.
func TestFacadeNoAliasing(t *testing.T) {
	cfgA, cfgB := seeded(21), seeded(22)

	// Inputs: identity, credential, extension data and group ID.
	identity := []byte("alice")
	cred := mls.NewBasicCredential(identity)
	flip(identity)
	kpA, err := mls.NewKeyPackage(cfgA, cs, cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	flip(cred.Identity)
	if got := kpA.KeyPackage().Credential(); string(got.Identity) != "alice" {
		t.Fatalf("KeyPackage credential follows the caller's slice: %q", got.Identity)
	}
	flip(kpA.KeyPackage().Credential().Identity)
	ext, err := mls.ExternalSendersExtension([]mls.ExternalSender{{SignatureKey: bytes.Repeat([]byte{1}, 32), Credential: mls.NewBasicCredential([]byte("ds"))}})
	if err != nil {
		t.Fatal(err)
	}
	extData := bytes.Clone(ext.Data)
	exts := mls.Extensions{ext}
	groupID := []byte("group")
	alice, err := mls.CreateGroup(cfgA, groupID, kpA, exts)
	if err != nil {
		t.Fatal(err)
	}
	flip(groupID)
	flip(exts[0].Data)

	kpB := newKP(t, cfgB, "bob")
	add := &mls.Add{KeyPackage: kpB.KeyPackage()}
	pc, err := alice.Commit(mls.CommitOptions{Proposals: []mls.ProposalBody{add}, InlineTree: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.Merge(pc); err != nil {
		t.Fatal(err)
	}
	for _, r := range pc.Welcome.WelcomeRecipients() {
		flip(r)
	}
	bob, err := mls.Join(cfgB, wire(t, pc.Welcome), kpB, nil)
	if err != nil {
		t.Fatal(err)
	}

	// Outputs: every slice a Group or PublicGroup returns.
	flip(bob.GroupID())
	flip(bob.Clone().GroupID())
	flip(bob.EpochAuthenticator())
	pub := bob.Public()
	flip(pub.GroupID())
	for _, m := range pub.Members() {
		flip(m.SignatureKey)
		flip(m.Credential.Identity)
	}
	for _, e := range pub.Extensions() {
		flip(e.Data)
	}

	// Alice proposes an Update; Bob mutates what he is told about it.
	upd, err := alice.ProposeUpdate(nil)
	if err != nil {
		t.Fatal(err)
	}
	flip(func() []byte { id, _ := upd.GroupID(); return id }())
	out, err := bob.Process(wire(t, upd))
	if err != nil {
		t.Fatal(err)
	}
	flip(out.Proposal.(*mls.Update).Credential().Identity)
	for _, p := range bob.PendingProposals() {
		flip(p.Ref)
	}
	// A resumption PSK proposal whose ID the caller mutates.
	psk, err := alice.ResumptionPSKProposal(alice.Epoch())
	if err != nil {
		t.Fatal(err)
	}
	flip(psk.ID())
	if !bytes.Equal(psk.ID(), []byte("group")) {
		t.Fatalf("PreSharedKey.ID follows a returned slice: %q", psk.ID())
	}

	pc, err = alice.Commit(mls.CommitOptions{Proposals: []mls.ProposalBody{psk}, ForcePath: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.Merge(pc); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Process(wire(t, pc.Commit)); err != nil {
		t.Fatalf("bob rejects a valid commit after mutating returned slices: %v", err)
	}
	agree(t, alice, bob)
	for _, g := range []*mls.Group{alice, bob} {
		if !bytes.Equal(g.GroupID(), []byte("group")) {
			t.Fatalf("group ID changed: %q", g.GroupID())
		}
		var ids []string
		for _, m := range g.Public().Members() {
			ids = append(ids, string(m.Credential.Identity))
		}
		if len(ids) != 2 || ids[0] != "alice" || ids[1] != "bob" {
			t.Fatalf("members changed: %q", ids)
		}
		if e, ok := g.Public().Extensions().Find(mls.ExtensionExternalSenders); !ok || !bytes.Equal(e.Data, extData) {
			t.Fatal("group context extension changed")
		}
	}
	for _, pair := range [][2]*mls.Group{{alice, bob}, {bob, alice}} {
		m, err := pair[0].SealApplication([]byte("hi"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := pair[1].Process(wire(t, m)); err != nil || string(got.ApplicationData) != "hi" {
			t.Fatalf("application message: %v", err)
		}
	}

	// ReInit: the proposed group ID is copied in, and the committed one out.
	newID := []byte("group-2")
	prop, err := alice.Propose(&mls.ReInit{GroupID: newID, CipherSuite: cs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	flip(newID)
	if _, err := bob.Process(wire(t, prop)); err != nil {
		t.Fatal(err)
	}
	pc, err = alice.Commit(mls.CommitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.Merge(pc); err != nil {
		t.Fatal(err)
	}
	out, err = bob.Process(wire(t, pc.Commit))
	if err != nil || out.ReInit == nil {
		t.Fatalf("ReInit commit: %v", err)
	}
	flip(out.ReInit.GroupID)
	flip(bob.PendingReInit().GroupID)
	if got := bob.PendingReInit().GroupID; string(got) != "group-2" {
		t.Fatalf("pending ReInit group ID: %q", got)
	}
}
