package mls_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mlslab/mlslab/mls"
)

// TestFacadeNilAndZeroValues: nil and zero values of every facade type, and
// typed nil proposal bodies, given to every function and method, never
// panic: a method with an error result returns an error (the sentinel
// named, or one that names the nil or zero value), an accessor returns its
// zero value.
func TestFacadeNilAndZeroValues(t *testing.T) {
	cfg := seeded(40)
	alice, err := mls.CreateGroup(cfg, []byte("g"), newKP(t, cfg, "alice"), nil)
	if err != nil {
		t.Fatal(err)
	}
	kp := newKP(t, cfg, "bob")
	gi, err := alice.GroupInfo(mls.GroupInfoOptions{ExternalPub: true, InlineTree: true})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := alice.Commit(mls.CommitOptions{Proposals: []mls.ProposalBody{&mls.Add{KeyPackage: kp.KeyPackage()}}})
	if err != nil {
		t.Fatal(err)
	}
	var (
		nilKP      *mls.KeyPackageBundle
		zeroKP     = &mls.KeyPackageBundle{}
		zeroMsg    = &mls.MLSMessage{}
		nilMsg     *mls.MLSMessage
		zeroGroup  = &mls.Group{}
		nilGroup   *mls.Group
		zeroPub    = &mls.PublicGroup{}
		zeroKeyPkg = &mls.KeyPackage{}
	)
	badBodies := []mls.ProposalBody{nil, (*mls.Add)(nil), (*mls.Update)(nil), (*mls.Remove)(nil),
		(*mls.PreSharedKey)(nil), (*mls.ReInit)(nil), (*mls.GroupContextExtensions)(nil), (*mls.UnknownProposal)(nil),
		&mls.Add{}, &mls.Add{KeyPackage: zeroKeyPkg}, &mls.PreSharedKey{}, &mls.UnknownProposal{Type: 0x0a0a}}

	type call struct {
		name string
		want error // nil: any error naming the nil or zero value
		f    func() error
	}
	calls := []call{
		{"CreateGroup nil bundle", mls.ErrInvalidKeyPackage, func() error { _, err := mls.CreateGroup(nil, []byte("g"), nilKP, nil); return err }},
		{"CreateGroup zero bundle", mls.ErrInvalidKeyPackage, func() error { _, err := mls.CreateGroup(nil, []byte("g"), zeroKP, nil); return err }},
		{"Join nil bundle", mls.ErrInvalidKeyPackage, func() error { _, err := mls.Join(nil, pc.Welcome, nilKP, nil); return err }},
		{"Join zero bundle", mls.ErrInvalidKeyPackage, func() error { _, err := mls.Join(nil, pc.Welcome, zeroKP, nil); return err }},
		{"Join nil message", mls.ErrInvalidMessage, func() error { _, err := mls.Join(nil, nilMsg, kp, nil); return err }},
		{"Join zero message", mls.ErrInvalidMessage, func() error { _, err := mls.Join(nil, zeroMsg, kp, nil); return err }},
		{"Join zero Previous", nil, func() error {
			_, err := mls.Join(nil, pc.Welcome, kp, &mls.JoinOptions{Previous: zeroGroup})
			return err
		}},
		{"ExternalJoin nil bundle", mls.ErrInvalidKeyPackage, func() error { _, _, err := mls.ExternalJoin(nil, gi, nilKP, nil); return err }},
		{"ExternalJoin zero bundle", mls.ErrInvalidKeyPackage, func() error { _, _, err := mls.ExternalJoin(nil, gi, zeroKP, nil); return err }},
		{"ExternalJoin zero message", mls.ErrInvalidMessage, func() error { _, _, err := mls.ExternalJoin(nil, zeroMsg, kp, nil); return err }},
		{"ExternalJoin nil message", mls.ErrInvalidMessage, func() error { _, _, err := mls.ExternalJoin(nil, nilMsg, kp, nil); return err }},
		{"NewMemberAddProposal nil bundle", mls.ErrInvalidKeyPackage, func() error { _, err := mls.NewMemberAddProposal(gi, nilKP, nil); return err }},
		{"NewMemberAddProposal zero bundle", mls.ErrInvalidKeyPackage, func() error { _, err := mls.NewMemberAddProposal(gi, zeroKP, nil); return err }},
		{"NewMemberAddProposal zero message", mls.ErrInvalidMessage, func() error { _, err := mls.NewMemberAddProposal(zeroMsg, kp, nil); return err }},
		{"MLSMessage.Marshal zero", mls.ErrInvalidMessage, func() error { _, err := zeroMsg.Marshal(); return err }},
		{"MLSMessage.Marshal nil", mls.ErrInvalidMessage, func() error { _, err := nilMsg.Marshal(); return err }},
		{"KeyPackage.Marshal zero", mls.ErrInvalidKeyPackage, func() error { _, err := zeroKeyPkg.Marshal(); return err }},
		{"KeyPackage.Ref zero", mls.ErrInvalidKeyPackage, func() error { _, err := zeroKeyPkg.Ref(); return err }},
		{"KeyPackageBundle.MarshalBinary zero", mls.ErrInvalidKeyPackage, func() error { _, err := zeroKP.MarshalBinary(); return err }},
		{"KeyPackageBundle.MarshalBinary nil", mls.ErrInvalidKeyPackage, func() error { _, err := nilKP.MarshalBinary(); return err }},
		{"PendingCommit.MarshalNextState zero", mls.ErrStalePendingCommit, func() error { _, err := (&mls.PendingCommit{}).MarshalNextState(); return err }},
		{"Merge zero PendingCommit", mls.ErrStalePendingCommit, func() error { return alice.Clone().Merge(&mls.PendingCommit{}) }},
		{"Process zero message", mls.ErrInvalidMessage, func() error { _, err := alice.Process(zeroMsg); return err }},
		{"ApplyCommit nil proposal entry", mls.ErrInvalidMessage, func() error {
			_, err := alice.Public().ApplyCommit(pc.Commit, []*mls.MLSMessage{nil}, nil)
			return err
		}},
		{"ApplyCommit zero commit", mls.ErrInvalidMessage, func() error { _, err := alice.Public().ApplyCommit(zeroMsg, nil, nil); return err }},
		{"Branch nil member", mls.ErrInvalidKeyPackage, func() error {
			_, _, err := alice.Branch(nil, []byte("b"), newKP(t, cfg, "a2"), []*mls.KeyPackage{nil}, false)
			return err
		}},
		{"Branch zero member", mls.ErrInvalidKeyPackage, func() error {
			_, _, err := alice.Branch(nil, []byte("b"), newKP(t, cfg, "a2"), []*mls.KeyPackage{zeroKeyPkg}, false)
			return err
		}},
		{"Branch nil bundle", mls.ErrInvalidKeyPackage, func() error { _, _, err := alice.Branch(nil, []byte("b"), nilKP, nil, false); return err }},
		{"ReInitGroup nil member", mls.ErrInvalidKeyPackage, func() error {
			_, _, err := alice.ReInitGroup(nil, newKP(t, cfg, "a2"), []*mls.KeyPackage{nil}, false)
			return err
		}},
		{"ExternalProposal zero PublicGroup", nil, func() error {
			_, err := zeroPub.ExternalProposal(0, mls.NewSignaturePrivateKey(nil), &mls.Remove{}, nil)
			return err
		}},
		{"ExternalProposal nil key", nil, func() error {
			_, err := alice.Public().ExternalProposal(0, nil, &mls.Remove{}, nil)
			return err
		}},
		{"PublicGroup.ApplyCommit zero", nil, func() error { _, err := zeroPub.ApplyCommit(pc.Commit, nil, nil); return err }},
		{"PublicGroup.RatchetTree zero", nil, func() error { _, err := zeroPub.RatchetTree(); return err }},
	}
	for i, b := range badBodies {
		calls = append(calls,
			call{fmt.Sprintf("Propose bad body %d (%T)", i, b), mls.ErrInvalidProposal, func() error { _, err := alice.Propose(b, nil); return err }},
			call{fmt.Sprintf("Commit bad body %d (%T)", i, b), mls.ErrInvalidProposal, func() error {
				_, err := alice.Commit(mls.CommitOptions{Proposals: []mls.ProposalBody{b}})
				return err
			}},
			call{fmt.Sprintf("ExternalProposal bad body %d (%T)", i, b), mls.ErrInvalidProposal, func() error {
				_, err := alice.Public().ExternalProposal(0, mls.NewSignaturePrivateKey(make([]byte, 32)), b, nil)
				return err
			}})
	}
	for _, g := range []*mls.Group{zeroGroup, nilGroup} {
		calls = append(calls,
			call{"Group.MarshalState", nil, func() error { _, err := g.MarshalState(); return err }},
			call{"Group.Export", nil, func() error { _, err := g.Export("l", nil, 16); return err }},
			call{"Group.SealApplication", nil, func() error { _, err := g.SealApplication([]byte("x"), nil); return err }},
			call{"Group.Propose", nil, func() error { _, err := g.Propose(&mls.Remove{}, nil); return err }},
			call{"Group.Propose Update", nil, func() error { _, err := g.Propose(&mls.Update{}, nil); return err }},
			call{"Group.ProposeUpdate", nil, func() error { _, err := g.ProposeUpdate(nil); return err }},
			call{"Group.ExternalPSKProposal", nil, func() error { _, err := g.ExternalPSKProposal([]byte("p")); return err }},
			call{"Group.ResumptionPSKProposal", nil, func() error { _, err := g.ResumptionPSKProposal(0); return err }},
			call{"Group.Commit", nil, func() error { _, err := g.Commit(mls.CommitOptions{}); return err }},
			call{"Group.Merge", nil, func() error { return g.Merge(pc) }},
			call{"Group.GroupInfo", nil, func() error { _, err := g.GroupInfo(mls.GroupInfoOptions{}); return err }},
			call{"Group.Process", nil, func() error { _, err := g.Process(pc.Commit); return err }},
			call{"Group.ReInitGroup", nil, func() error { _, _, err := g.ReInitGroup(nil, kp, nil, false); return err }},
			call{"Group.Branch", nil, func() error { _, _, err := g.Branch(nil, []byte("b"), kp, nil, false); return err }},
		)
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panic: %v", r)
				}
			}()
			err := c.f()
			switch {
			case err == nil:
				t.Fatal("no error")
			case c.want != nil && !errors.Is(err, c.want):
				t.Fatalf("error %v, want %v", err, c.want)
			case c.want == nil && !strings.Contains(err.Error(), "nil or zero") && !errors.Is(err, mls.ErrInvalidProposal):
				t.Fatalf("error %v does not name the nil or zero value", err)
			}
		})
	}

	// Accessors return zero values.
	t.Run("accessors", func(t *testing.T) {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("panic: %v", r)
			}
		}()
		for _, m := range []*mls.MLSMessage{zeroMsg, nilMsg} {
			id, ok := m.GroupID()
			_, eok := m.Epoch()
			_, cok := m.ContentType()
			if m.WireFormat() != 0 || id != nil || ok || eok || cok || m.KeyPackage() != nil || m.WelcomeRecipients() != nil {
				t.Error("zero MLSMessage accessors")
			}
		}
		for _, g := range []*mls.Group{zeroGroup, nilGroup} {
			if g.GroupID() != nil || g.Epoch() != 0 || g.CipherSuite() != 0 || g.LeafIndex() != 0 || g.Active() ||
				g.Public() != nil || g.EpochAuthenticator() != nil || g.Clone() != nil || g.PendingProposals() != nil || g.PendingReInit() != nil {
				t.Error("zero Group accessors")
			}
			_ = fmt.Sprint(g)
		}
		for _, p := range []*mls.PublicGroup{zeroPub, nil} {
			if p.GroupID() != nil || p.Epoch() != 0 || p.CipherSuite() != 0 || p.Extensions() != nil || p.Members() != nil {
				t.Error("zero PublicGroup accessors")
			}
		}
		for _, k := range []*mls.KeyPackage{zeroKeyPkg, nil} {
			if k.CipherSuite() != 0 || k.Credential().Identity != nil || k.Lifetime() != (mls.Lifetime{}) {
				t.Error("zero KeyPackage accessors")
			}
		}
		for _, b := range []*mls.KeyPackageBundle{zeroKP, nilKP} {
			if b.KeyPackage() != nil {
				t.Error("zero KeyPackageBundle.KeyPackage")
			}
			b.EraseUsedKeys()
			_ = fmt.Sprint(b)
		}
		if (*mls.Update)(nil).Credential().Identity != nil || (*mls.PreSharedKey)(nil).ID() != nil ||
			(*mls.PreSharedKey)(nil).External() || (*mls.PreSharedKey)(nil).Epoch() != 0 || (*mls.SignaturePrivateKey)(nil).Bytes() != nil {
			t.Error("nil proposal accessors")
		}
		_ = fmt.Sprint(mls.SignaturePrivateKey{}, mls.PendingCommit{}, mls.Config{})
		if _, err := (mls.Credential{}).X509Chain(); err == nil {
			t.Error("X509Chain of a zero Credential")
		}
	})
}
