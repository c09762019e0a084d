package mls_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/mlslab/mlslab/mls"
)

// TestFacadeCapabilitiesAddToDefaults: KeyPackageOptions.Capabilities add
// to this package's own (suite, credential types) instead of replacing
// them, so a member advertising an extra extension type can still be added
// and can add others; a group that requires that type admits it and
// rejects a KeyPackage without it.
func TestFacadeCapabilitiesAddToDefaults(t *testing.T) {
	const extType = mls.ExtensionType(0xff00)
	// Alice lists only the extra type; Bob also repeats defaults, which are
	// merged away.
	onlyExtra := &mls.Capabilities{Extensions: []mls.ExtensionType{extType}}
	withDups := &mls.Capabilities{Extensions: []mls.ExtensionType{extType}, Credentials: []mls.CredentialType{mls.CredentialBasic}, CipherSuites: []mls.CipherSuite{cs}}
	newExtraKP := func(cfg *mls.Config, name string, caps *mls.Capabilities) *mls.KeyPackageBundle {
		kp, err := mls.NewKeyPackage(cfg, cs, mls.NewBasicCredential([]byte(name)), &mls.KeyPackageOptions{Capabilities: caps})
		if err != nil {
			t.Fatal(err)
		}
		return kp
	}
	cfgA, cfgB, cfgC := seeded(50), seeded(51), seeded(52)
	req, err := mls.RequiredCapabilitiesExtension(mls.RequiredCapabilities{Extensions: []mls.ExtensionType{extType}})
	if err != nil {
		t.Fatal(err)
	}
	for _, exts := range []mls.Extensions{nil, {req}} {
		alice, err := mls.CreateGroup(cfgA, []byte("g"), newExtraKP(cfgA, "alice", onlyExtra), exts)
		if err != nil {
			t.Fatal(err)
		}
		kpB := newExtraKP(cfgB, "bob", withDups)
		pc, err := alice.Commit(mls.CommitOptions{Proposals: []mls.ProposalBody{&mls.Add{KeyPackage: kpB.KeyPackage()}}})
		if err != nil {
			t.Fatalf("adding a KeyPackage with extra capabilities (required %v): %v", exts != nil, err)
		}
		if err := alice.Merge(pc); err != nil {
			t.Fatal(err)
		}
		bob, err := mls.Join(cfgB, pc.Welcome, kpB, &mls.JoinOptions{RatchetTree: treeOf(t, alice)})
		if err != nil {
			t.Fatal(err)
		}
		agree(t, alice, bob)
		_, err = alice.Commit(mls.CommitOptions{Proposals: []mls.ProposalBody{&mls.Add{KeyPackage: newKP(t, cfgC, "carol").KeyPackage()}}})
		if exts == nil && err != nil {
			t.Fatalf("a member with extra capabilities cannot add a default KeyPackage: %v", err)
		}
		if exts != nil && err == nil {
			t.Fatal("a KeyPackage without a required extension type was added")
		}
	}
}

// addMerged commits an Add of kp in g, with the ratchet tree in the
// Welcome, and merges it.
func addMerged(t *testing.T, g *mls.Group, kp *mls.KeyPackage) *mls.PendingCommit {
	t.Helper()
	pc, err := g.Commit(mls.CommitOptions{Proposals: []mls.ProposalBody{&mls.Add{KeyPackage: kp}}, InlineTree: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Merge(pc); err != nil {
		t.Fatal(err)
	}
	return pc
}

// twoMembers returns the Groups of alice and bob in epoch 1 of a group.
func twoMembers(t *testing.T, seed uint64) (alice, bob *mls.Group) {
	t.Helper()
	cfgA, cfgB := seeded(seed), seeded(seed+1)
	alice, err := mls.CreateGroup(cfgA, []byte("g"), newKP(t, cfgA, "alice"), nil)
	if err != nil {
		t.Fatal(err)
	}
	kpB := newKP(t, cfgB, "bob")
	pc := addMerged(t, alice, kpB.KeyPackage())
	bob, err = mls.Join(cfgB, wire(t, pc.Welcome), kpB, nil)
	if err != nil {
		t.Fatal(err)
	}
	return alice, bob
}

// TestFacadeReceivedUpdateNotResent: Propose with a received Update (the
// sender's leaf) is an error, not the caller's own Update; an empty
// &Update{} is ProposeUpdate.
func TestFacadeReceivedUpdateNotResent(t *testing.T) {
	alice, bob := twoMembers(t, 60)
	upd, err := alice.Propose(&mls.Update{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := bob.Process(wire(t, upd))
	if err != nil {
		t.Fatal(err)
	}
	before := len(bob.PendingProposals())
	if _, err := bob.Propose(out.Proposal, nil); !errors.Is(err, mls.ErrInvalidProposal) {
		t.Fatalf("re-proposing a received Update: %v", err)
	}
	if len(bob.PendingProposals()) != before {
		t.Fatal("a rejected Propose cached a proposal")
	}
}

// TestFacadeDefaultValidateSuccessor: the re-exported default policy
// accepts the same identity, rejects another with
// ErrCredentialNotSuccessor, and composes with an application's policy.
func TestFacadeDefaultValidateSuccessor(t *testing.T) {
	a, b := mls.NewBasicCredential([]byte("alice")), mls.NewBasicCredential([]byte("bob"))
	if err := mls.DefaultValidateSuccessor(0, a, a, mls.SuccessorUpdate); err != nil {
		t.Fatalf("same identity: %v", err)
	}
	if err := mls.DefaultValidateSuccessor(0, a, b, mls.SuccessorCommit); !errors.Is(err, mls.ErrCredentialNotSuccessor) {
		t.Fatalf("other identity: %v", err)
	}
	// An application policy: the default, and never on leaf 0.
	errLeaf0 := errors.New("leaf 0 is frozen")
	var seen []mls.LeafIndex
	policy := func(leaf mls.LeafIndex, o, n mls.Credential, r mls.SuccessorReason) error {
		seen = append(seen, leaf)
		if err := mls.DefaultValidateSuccessor(leaf, o, n, r); err != nil {
			return err
		}
		if leaf == 0 {
			return errLeaf0
		}
		return nil
	}
	alice, bob := twoMembers(t, 62)
	state, err := bob.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	cfg := seeded(64)
	cfg.ValidateSuccessor = policy
	strict, err := mls.UnmarshalGroupState(cfg, state)
	if err != nil {
		t.Fatal(err)
	}
	upd, err := alice.ProposeUpdate(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := strict.Process(wire(t, upd)); !errors.Is(err, errLeaf0) || !slices.Equal(seen, []mls.LeafIndex{0}) {
		t.Fatalf("composed policy: %v, saw %v", err, seen)
	}
}

// TestFacadeReplayIsErrKeyUsed: a replayed application message fails with
// the re-exported ErrKeyUsed.
func TestFacadeReplayIsErrKeyUsed(t *testing.T) {
	alice, bob := twoMembers(t, 66)
	m, err := alice.SealApplication([]byte("once"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Process(wire(t, m)); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Process(wire(t, m)); !errors.Is(err, mls.ErrKeyUsed) {
		t.Fatalf("replay: %v", err)
	}
}

// TestFacadeRoutingAccessors: ContentType of PublicMessages, the
// recipients of a Welcome and a KeyPackage's lifetime.
func TestFacadeRoutingAccessors(t *testing.T) {
	cfgA, cfgB := seeded(70), seeded(71)
	alice, err := mls.CreateGroup(cfgA, []byte("g"), newKP(t, cfgA, "alice"), nil)
	if err != nil {
		t.Fatal(err)
	}
	lt := mls.Lifetime{NotBefore: 1000, NotAfter: 2000}
	kpB, err := mls.NewKeyPackage(cfgB, cs, mls.NewBasicCredential([]byte("bob")), &mls.KeyPackageOptions{Lifetime: &lt})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := kpB.KeyPackage().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	fetched, err := mls.UnmarshalKeyPackage(pub)
	if err != nil || fetched.Lifetime() != lt {
		t.Fatalf("lifetime %+v, %v", fetched.Lifetime(), err)
	}
	prop, err := alice.Propose(&mls.Add{KeyPackage: fetched}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ct, ok := wire(t, prop).ContentType(); !ok || ct != mls.ContentTypeProposal {
		t.Fatalf("proposal content type %v %t", ct, ok)
	}
	pc, err := alice.Commit(mls.CommitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ct, ok := wire(t, pc.Commit).ContentType(); !ok || ct != mls.ContentTypeCommit {
		t.Fatalf("commit content type %v %t", ct, ok)
	}
	ref, err := kpB.KeyPackage().Ref()
	if err != nil {
		t.Fatal(err)
	}
	w := wire(t, pc.Welcome)
	if rs := w.WelcomeRecipients(); len(rs) != 1 || !bytes.Equal(rs[0], ref) {
		t.Fatalf("welcome recipients %x, want [%x]", rs, ref)
	}
	if _, ok := w.ContentType(); ok || pc.Commit.WelcomeRecipients() != nil {
		t.Fatal("ContentType of a Welcome or recipients of a commit")
	}
	if err := alice.Merge(pc); err != nil {
		t.Fatal(err)
	}
	app, err := alice.SealApplication([]byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := wire(t, app).ContentType(); ok {
		t.Fatal("ContentType of a PrivateMessage")
	}
}
