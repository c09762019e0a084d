package mls_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/mlslab/mlslab/mls"
)

// seeded returns a Config whose randomness is a seeded stream.
func seeded(seed uint64) *mls.Config {
	return &mls.Config{Rand: rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})}
}

const cs = mls.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519

func newKP(t *testing.T, cfg *mls.Config, name string) *mls.KeyPackageBundle {
	t.Helper()
	kp, err := mls.NewKeyPackage(cfg, cs, mls.NewBasicCredential([]byte(name)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// wire encodes and decodes m, as a delivery service would carry it.
func wire(t *testing.T, m *mls.MLSMessage) *mls.MLSMessage {
	t.Helper()
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	out, err := mls.UnmarshalMLSMessage(data)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func agree(t *testing.T, gs ...*mls.Group) {
	t.Helper()
	for _, g := range gs[1:] {
		if g.Epoch() != gs[0].Epoch() || !bytes.Equal(g.EpochAuthenticator(), gs[0].EpochAuthenticator()) {
			t.Fatalf("members disagree: epoch %d vs %d", g.Epoch(), gs[0].Epoch())
		}
	}
}

// TestFacadeLifecycle walks a group through the whole application API:
// published KeyPackages, adds, a Welcome join, proposals by reference and by
// value, a path commit, an external join from a GroupInfo, application
// messages, a delivery service tracking the public state, state
// persistence, and removal.
func TestFacadeLifecycle(t *testing.T) {
	cfgA, cfgB, cfgC := seeded(1), seeded(2), seeded(3)
	alice, err := mls.CreateGroup(cfgA, []byte("group"), newKP(t, cfgA, "alice"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ds := alice.Public()

	// Bob publishes a KeyPackage; Alice fetches and adds it.
	kpB := newKP(t, cfgB, "bob")
	pub, err := kpB.KeyPackage().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	fetched, err := mls.UnmarshalKeyPackage(pub)
	if err != nil {
		t.Fatal(err)
	}
	if fetched.CipherSuite() != cs || string(fetched.Credential().Identity) != "bob" {
		t.Fatalf("fetched KeyPackage: %v %q", fetched.CipherSuite(), fetched.Credential().Identity)
	}
	pc, err := alice.Commit(mls.CommitOptions{Proposals: []mls.ProposalBody{&mls.Add{KeyPackage: fetched}}})
	if err != nil {
		t.Fatal(err)
	}
	if pc.Welcome == nil || pc.GroupInfo == nil || pc.Welcome.WireFormat() != mls.WireFormatWelcome {
		t.Fatalf("add commit without Welcome/GroupInfo: %+v", pc)
	}
	if ds, err = ds.ApplyCommit(wire(t, pc.Commit), nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := alice.Merge(pc); err != nil {
		t.Fatal(err)
	}
	// The tree travels out of band: Join without it fails, with it works.
	if _, err := mls.Join(cfgB, wire(t, pc.Welcome), kpB, nil); err == nil {
		t.Fatal("Join without a ratchet tree succeeded")
	}
	gi, err := alice.GroupInfo(mls.GroupInfoOptions{InlineTree: true})
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := gi.GroupID(); !ok || string(id) != "group" {
		t.Fatalf("GroupInfo routing: %q %v", id, ok)
	}
	bob, err := mls.Join(cfgB, wire(t, pc.Welcome), kpB, &mls.JoinOptions{RatchetTree: treeOf(t, alice)})
	if err != nil {
		t.Fatal(err)
	}
	agree(t, alice, bob)

	// Bob proposes an Update; Alice commits it by reference with a path.
	prop, err := bob.ProposeUpdate(nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := alice.Process(wire(t, prop))
	if err != nil {
		t.Fatal(err)
	}
	if u, ok := out.Proposal.(*mls.Update); !ok || string(u.Credential().Identity) != "bob" || out.Sender != (mls.Sender{Type: mls.SenderTypeMember, Index: 1}) {
		t.Fatalf("processed Update: %+v", out)
	}
	if pp := alice.PendingProposals(); len(pp) != 1 || pp[0].Proposal.ProposalType() != mls.ProposalTypeUpdate {
		t.Fatalf("pending: %+v", pp)
	}
	// RFC 9420, Section 12.4: no application data before the proposals are
	// committed, by the proposer or by the member that observed them; the
	// refusal consumes no key (state unchanged).
	for _, g := range []*mls.Group{alice, bob} {
		before, _ := g.MarshalState()
		if _, err := g.SealApplication([]byte("too early"), nil); !errors.Is(err, mls.ErrPendingProposals) {
			t.Fatalf("SealApplication with pending proposals: %v", err)
		}
		if after, _ := g.MarshalState(); !bytes.Equal(before, after) {
			t.Fatal("refused SealApplication changed the state")
		}
	}
	pc, err = alice.Commit(mls.CommitOptions{ForcePath: true, ExternalPub: true, WireFormat: mls.WireFormatPrivateMessage})
	if err != nil {
		t.Fatal(err)
	}
	if pc.Commit.WireFormat() != mls.WireFormatPrivateMessage {
		t.Fatal("per-commit wire format ignored")
	}
	if _, err := bob.Process(wire(t, pc.Commit)); err != nil {
		t.Fatal(err)
	}
	if err := alice.Merge(pc); err != nil {
		t.Fatal(err)
	}
	agree(t, alice, bob)

	// Carol joins externally from the GroupInfo of the commit.
	kpC := newKP(t, cfgC, "carol")
	carol, ext, err := mls.ExternalJoin(cfgC, wire(t, pc.GroupInfo), kpC, &mls.ExternalJoinOptions{RatchetTree: treeOf(t, alice)})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []*mls.Group{alice, bob} {
		out, err := g.Process(wire(t, ext))
		if err != nil {
			t.Fatal(err)
		}
		if out.Sender.Type != mls.SenderTypeNewMemberCommit || out.Epoch != carol.Epoch() {
			t.Fatalf("external commit: %+v", out)
		}
	}
	agree(t, alice, bob, carol)
	ms := alice.Public().Members()
	if len(ms) != 3 || string(ms[2].Credential.Identity) != "carol" || ms[2].Leaf != 2 {
		t.Fatalf("members: %+v", ms)
	}

	// Application data, in both directions, with the exporter agreeing.
	msg, err := carol.SealApplication([]byte("hello"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	out, err = bob.Process(wire(t, msg))
	if err != nil || string(out.ApplicationData) != "hello" || string(out.AuthenticatedData) != "aad" || out.ContentType != mls.ContentTypeApplication {
		t.Fatalf("application message: %v %+v", err, out)
	}
	ea, _ := alice.Export("label", nil, 32)
	ec, _ := carol.Export("label", nil, 32)
	if !bytes.Equal(ea, ec) {
		t.Fatal("exporters differ")
	}

	// Persist Bob, restore him, and remove Carol with a PSK.
	state, err := bob.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	bob, err = mls.UnmarshalGroupState(cfgB, state)
	if err != nil {
		t.Fatal(err)
	}
	psk, err := bob.ResumptionPSKProposal(bob.Epoch())
	if err != nil {
		t.Fatal(err)
	}
	if psk.External() || !bytes.Equal(psk.ID(), []byte("group")) || psk.Epoch() != bob.Epoch() {
		t.Fatalf("resumption PSK: %v %q %d", psk.External(), psk.ID(), psk.Epoch())
	}
	pc, err = bob.Commit(mls.CommitOptions{Proposals: []mls.ProposalBody{&mls.Remove{Removed: 2}, psk}})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []*mls.Group{alice, carol} {
		out, err := g.Process(wire(t, pc.Commit))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(out.Removed, []mls.LeafIndex{2}) {
			t.Fatalf("remove: %+v", out)
		}
	}
	if err := bob.Merge(pc); err != nil {
		t.Fatal(err)
	}
	agree(t, alice, bob)
	if carol.Active() {
		t.Fatal("removed member still active")
	}
	if _, err := carol.SealApplication([]byte("x"), nil); !errors.Is(err, mls.ErrInactive) {
		t.Fatalf("removed member sends: %v", err)
	}
}

// treeOf returns the encoded ratchet tree of g's epoch, as carried out of
// band.
func treeOf(t *testing.T, g *mls.Group) []byte {
	t.Helper()
	tree, err := g.Public().RatchetTree()
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// TestFacadeRejectLeavesState: a tampered commit and a commit for another
// epoch are rejected with typed errors and the receiver is unchanged; an
// Authentication Service callback that refuses a credential rejects the
// Welcome.
func TestFacadeRejectLeavesState(t *testing.T) {
	cfgA, cfgB := seeded(4), seeded(5)
	alice, _ := mls.CreateGroup(cfgA, []byte("g"), newKP(t, cfgA, "alice"), nil)
	kpB := newKP(t, cfgB, "bob")
	pc := addMerged(t, alice, kpB.KeyPackage())
	refuse := *cfgB
	refuse.ValidateCredential = func(c mls.Credential, _ []byte) error {
		if string(c.Identity) == "alice" {
			return errors.New("not alice")
		}
		return nil
	}
	if _, err := mls.Join(&refuse, wire(t, pc.Welcome), kpB, nil); err == nil || !strings.Contains(err.Error(), "not alice") {
		t.Fatalf("Join with a refusing Authentication Service: %v", err)
	}
	bob, err := mls.Join(cfgB, wire(t, pc.Welcome), kpB, nil)
	if err != nil {
		t.Fatal(err)
	}
	pc, err = alice.Commit(mls.CommitOptions{ForcePath: true})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := pc.Commit.Marshal()
	before, _ := bob.MarshalState()
	for i := len(data) - 40; i < len(data); i += 7 {
		bad := bytes.Clone(data)
		bad[i] ^= 1
		m, err := mls.UnmarshalMLSMessage(bad)
		if err != nil {
			continue
		}
		if _, err = bob.Process(m); err == nil {
			t.Fatalf("tampered commit (octet %d) accepted", i)
		}
		var pe *mls.ProtocolError
		if !errors.As(err, &pe) {
			t.Errorf("tampered commit: %v is not a *ProtocolError", err)
		}
	}
	if after, _ := bob.MarshalState(); !bytes.Equal(before, after) {
		t.Fatal("rejected commits changed the state")
	}
	if err := alice.Merge(pc); err != nil {
		t.Fatal(err)
	}
	// A commit of the next epoch, before the current one: wrong epoch.
	pc2, err := alice.Commit(mls.CommitOptions{ForcePath: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Process(wire(t, pc2.Commit)); !errors.Is(err, mls.ErrWrongEpoch) {
		t.Fatalf("future commit: %v", err)
	}
	if _, err := bob.Process(wire(t, pc.Commit)); err != nil {
		t.Fatal(err)
	}
	agree(t, alice, bob)
	if err := alice.Merge(&mls.PendingCommit{}); !errors.Is(err, mls.ErrStalePendingCommit) {
		t.Fatalf("Merge of a foreign PendingCommit: %v", err)
	}
}

// TestFacadeExternalSenders: a delivery service listed in external_senders
// proposes a removal from the public state; a new member proposes its own
// Add from a GroupInfo.
func TestFacadeExternalSenders(t *testing.T) {
	cfgA, cfgB := seeded(6), seeded(7)
	// The delivery service's Ed25519 key pair (suite 0x0001 signs with
	// Ed25519; the private key is the 32-octet seed).
	dsSeed := bytes.Repeat([]byte{9}, 32)
	dsSigPub := ed25519.NewKeyFromSeed(dsSeed).Public().(ed25519.PublicKey)
	dsSigPriv := mls.NewSignaturePrivateKey(dsSeed)
	ext, err := mls.ExternalSendersExtension([]mls.ExternalSender{{SignatureKey: dsSigPub, Credential: mls.NewBasicCredential([]byte("ds"))}})
	if err != nil {
		t.Fatal(err)
	}
	alice, err := mls.CreateGroup(cfgA, []byte("g"), newKP(t, cfgA, "alice"), mls.Extensions{ext})
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := alice.Public().Extensions().Find(mls.ExtensionExternalSenders); !ok {
		t.Fatal("external_senders missing")
	} else if es, err := mls.UnmarshalExternalSenders(e.Data); err != nil || len(es) != 1 || string(es[0].Credential.Identity) != "ds" {
		t.Fatalf("external_senders: %v %+v", err, es)
	}
	kpB := newKP(t, cfgB, "bob")
	gi, err := alice.GroupInfo(mls.GroupInfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	prop, err := mls.NewMemberAddProposal(wire(t, gi), kpB, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Process(wire(t, prop)); !errors.Is(err, mls.ErrInvalidProposal) {
		t.Fatalf("new member proposal without a policy: %v", err)
	}
	cfgA.AcceptNewMemberProposal = func(kp *mls.KeyPackage) error {
		if string(kp.Credential().Identity) != "bob" {
			return errors.New("unknown")
		}
		return nil
	}
	state, _ := alice.MarshalState()
	if alice, err = mls.UnmarshalGroupState(cfgA, state); err != nil {
		t.Fatal(err)
	}
	out, err := alice.Process(wire(t, prop))
	if err != nil || out.Sender.Type != mls.SenderTypeNewMemberProposal {
		t.Fatalf("new member proposal: %v %+v", err, out)
	}
	pc, err := alice.Commit(mls.CommitOptions{InlineTree: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.Merge(pc); err != nil {
		t.Fatal(err)
	}
	var asked []mls.ProposalBody
	cfgB.AcceptExternalProposal = func(p mls.ProposalBody, sender uint32) error {
		asked = append(asked, p)
		return nil
	}
	bob, err := mls.Join(cfgB, wire(t, pc.Welcome), kpB, nil)
	if err != nil {
		t.Fatal(err)
	}
	rm, err := alice.Public().ExternalProposal(0, dsSigPriv, &mls.Remove{Removed: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Public().ExternalProposal(0, dsSigPriv, &mls.Update{}, nil); err == nil {
		t.Fatal("external Update accepted")
	}
	// A member whose policy refuses external proposals rejects it and
	// stays as it was.
	strict := *cfgB
	strict.AcceptExternalProposal = func(mls.ProposalBody, uint32) error { return errors.New("no external proposals") }
	state, _ = bob.MarshalState()
	strictBob, err := mls.UnmarshalGroupState(&strict, state)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := strictBob.Process(wire(t, rm)); err == nil || !strings.Contains(err.Error(), "no external proposals") {
		t.Fatalf("refused external proposal: %v", err)
	}
	if after, _ := strictBob.MarshalState(); !bytes.Equal(after, state) {
		t.Fatal("refused external proposal changed the state")
	}
	for _, g := range []*mls.Group{alice, bob} {
		out, err := g.Process(wire(t, rm))
		if err != nil || out.Sender != (mls.Sender{Type: mls.SenderTypeExternal}) {
			t.Fatalf("external proposal: %v %+v", err, out)
		}
		if r, ok := out.Proposal.(*mls.Remove); !ok || r.Removed != 1 {
			t.Fatalf("external proposal body: %+v", out.Proposal)
		}
	}
	if len(asked) != 1 || asked[0].(*mls.Remove).Removed != 1 {
		t.Fatalf("AcceptExternalProposal saw %+v", asked)
	}
	pc, err = alice.Commit(mls.CommitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, err = bob.Process(wire(t, pc.Commit))
	if err != nil || !out.SelfRemoved {
		t.Fatalf("removal by the delivery service: %v %+v", err, out)
	}
}

// TestFacadeNoSecretsPrinted: the types that hold private keys print and
// encode without them.
func TestFacadeNoSecretsPrinted(t *testing.T) {
	cfg := seeded(9)
	secret := bytes.Repeat([]byte{0x5a}, 32)
	opts := mls.KeyPackageOptions{SignatureKey: mls.NewSignaturePrivateKey(secret)}
	kp, err := mls.NewKeyPackage(cfg, cs, mls.NewBasicCredential([]byte("a")), &opts)
	if err != nil {
		t.Fatal(err)
	}
	g, err := mls.CreateGroup(cfg, []byte("g"), kp, nil)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := g.Commit(mls.CommitOptions{ForcePath: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{opts, &opts, kp, *kp, g, *g, pc, *pc} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
			s := fmt.Sprintf(verb, v)
			if strings.Contains(s, "5a5a5a") || strings.Contains(s, "[90 90 90") || strings.Contains(s, "0x5a, 0x5a") {
				t.Errorf("%s of %T prints the signature key: %s", verb, v, s)
			}
		}
		j, err := json.Marshal(v)
		if err == nil && bytes.Contains(j, []byte("WlpaWlpa")) {
			t.Errorf("JSON of %T holds the signature key: %s", v, j)
		}
	}
}

// TestFacadeCodepoints: the facade's code points and suite list are the
// implementation's.
func TestFacadeCodepoints(t *testing.T) {
	want := []mls.CipherSuite{mls.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, mls.MLS_128_DHKEMP256_AES128GCM_SHA256_P256,
		mls.MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519, mls.MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448,
		mls.MLS_256_DHKEMP521_AES256GCM_SHA512_P521, mls.MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448,
		mls.MLS_256_DHKEMP384_AES256GCM_SHA384_P384,
		mls.MLS_256_MLKEM1024_AES256GCM_SHA512_Ed25519, mls.MLS_256_MLKEM1024_CHACHA20POLY1305_SHA512_Ed25519,
		mls.MLS_256_XWING_AES256GCM_SHA512_Ed25519, mls.MLS_256_XWING_CHACHA20POLY1305_SHA512_Ed25519,
		mls.MLS_256_MLKEM1024_AES256GCM_SHA512_MLDSA87, mls.MLS_256_MLKEM1024_CHACHA20POLY1305_SHA512_MLDSA87,
		mls.MLS_256_XWING_AES256GCM_SHA512_MLDSA87, mls.MLS_256_XWING_CHACHA20POLY1305_SHA512_MLDSA87}
	all := mls.CipherSuites()
	if len(all) != len(want) {
		t.Errorf("CipherSuites() = %v, want %v", all, want)
	}
	for _, cs := range want {
		if !slices.Contains(all, cs) || !strings.HasPrefix(cs.String(), "MLS_") {
			t.Errorf("suite %v (%s) missing", uint16(cs), cs)
		}
		if got, err := mls.LookupCipherSuite(uint16(cs)); err != nil || got != cs {
			t.Errorf("LookupCipherSuite(%d) = %v, %v", cs, got, err)
		}
	}
	for _, code := range []uint16{0, 0x0a0a, 0xffff} {
		if _, err := mls.LookupCipherSuite(code); !errors.Is(err, mls.ErrUnsupported) {
			t.Errorf("LookupCipherSuite(0x%04x): %v", code, err)
		}
	}
	if got := mls.MLS_256_XWING_AES256GCM_SHA512_Ed25519.String(); got != "MLS_256_XWING_AES256GCM_SHA512_Ed25519" {
		t.Errorf("X-Wing suite name %q", got)
	}
	if mls.ExtensionExternalSenders.String() != "external_senders" || mls.ProposalTypeGroupContextExtensions.String() != "group_context_extensions" {
		t.Errorf("code point names: %s %s", mls.ExtensionExternalSenders, mls.ProposalTypeGroupContextExtensions)
	}
	rc := mls.RequiredCapabilities{Extensions: []mls.ExtensionType{mls.ExtensionExternalSenders}, Proposals: []mls.ProposalType{}, Credentials: []mls.CredentialType{mls.CredentialBasic}}
	e, err := mls.RequiredCapabilitiesExtension(rc)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := mls.UnmarshalRequiredCapabilities(e.Data); err != nil || !slices.Equal(got.Extensions, rc.Extensions) || !slices.Equal(got.Credentials, rc.Credentials) {
		t.Errorf("required_capabilities: %v %+v", err, got)
	}
	if got, err := mls.UnmarshalApplicationID(mls.ApplicationIDExtension([]byte("app")).Data); err != nil || string(got) != "app" {
		t.Errorf("application_id: %v %q", err, got)
	}
}

// TestFacadeEverySuite runs the core of an application's use, create, add
// by Welcome, a path commit, an application message, in every suite the
// package lists, the post-quantum ones included.
func TestFacadeEverySuite(t *testing.T) {
	for _, s := range mls.CipherSuites() {
		t.Run(s.String(), func(t *testing.T) {
			cfgA, cfgB := seeded(11), seeded(12)
			kp := func(cfg *mls.Config, name string) *mls.KeyPackageBundle {
				b, err := mls.NewKeyPackage(cfg, s, mls.NewBasicCredential([]byte(name)), nil)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			alice, err := mls.CreateGroup(cfgA, []byte("every-suite"), kp(cfgA, "alice"), nil)
			if err != nil {
				t.Fatal(err)
			}
			kpB := kp(cfgB, "bob")
			pc, err := alice.Commit(mls.CommitOptions{Proposals: []mls.ProposalBody{&mls.Add{KeyPackage: kpB.KeyPackage()}}, InlineTree: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := alice.Merge(pc); err != nil {
				t.Fatal(err)
			}
			bob, err := mls.Join(cfgB, wire(t, pc.Welcome), kpB, nil)
			if err != nil {
				t.Fatal(err)
			}
			pc, err = bob.Commit(mls.CommitOptions{ForcePath: true})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := alice.Process(wire(t, pc.Commit)); err != nil {
				t.Fatal(err)
			}
			if err := bob.Merge(pc); err != nil {
				t.Fatal(err)
			}
			agree(t, alice, bob)
			msg, err := alice.SealApplication([]byte("hi"), nil)
			if err != nil {
				t.Fatal(err)
			}
			out, err := bob.Process(wire(t, msg))
			if err != nil || string(out.ApplicationData) != "hi" {
				t.Fatalf("application message: %q %v", out.ApplicationData, err)
			}
		})
	}
}
