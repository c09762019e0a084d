package core

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/url"
	"testing"
	"time"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

// Security regressions for authentication (issue 11): the credential
// successor rule of RFC 9420, Section 5.3.1 for Updates, commit paths and
// resync external commits, and the external-commit Remove rule of Section
// 12.2 (an outsider must not be able to evict a member).

const secCS = suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519

// successorCall is one recorded call of Config.ValidateSuccessor.
type successorCall struct {
	leaf     LeafIndex
	old, new string // basic identities
	reason   SuccessorReason
}

// recordSuccessor returns a ValidateSuccessor that records its calls and
// answers with allow (nil: DefaultValidateSuccessor).
func recordSuccessor(calls *[]successorCall, allow func(LeafIndex, *Credential, *Credential, SuccessorReason) error) func(LeafIndex, *Credential, *Credential, SuccessorReason) error {
	if allow == nil {
		allow = DefaultValidateSuccessor
	}
	return func(l LeafIndex, o, n *Credential, r SuccessorReason) error {
		*calls = append(*calls, successorCall{leaf: l, old: string(o.Identity), new: string(n.Identity), reason: r})
		return allow(l, o, n, r)
	}
}

func allowAnySuccessor(LeafIndex, *Credential, *Credential, SuccessorReason) error { return nil }

// forgeUpdate makes g propose an Update whose LeafNode carries cred (the
// Group API never changes a member's credential; a modified client can).
// The proposal is cached at g with its private key, as ProposeUpdate does.
func forgeUpdate(t testing.TB, g *Group, cred Credential) *MLSMessage {
	t.Helper()
	encPriv, encPub, err := g.cs.GenerateKeyPair(g.cfg.rand())
	if err != nil {
		t.Fatal(err)
	}
	leaf := *g.pub.tree.Leaf(g.self)
	leaf.Credential = cred
	leaf.EncryptionKey = encPub
	leaf.Source = LeafNodeSourceUpdate
	leaf.Lifetime = Lifetime{}
	leaf.ParentHash = nil
	if err := leaf.signPriv(g.cs, g.sigPriv, g.pub.ctx.GroupID, g.self); err != nil {
		t.Fatal(err)
	}
	msg, err := g.propose(&Proposal{Body: &Update{LeafNode: leaf}}, nil, encPriv)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// forgePathCommit makes g send an otherwise valid commit (correct
// confirmation tag) with no proposals whose UpdatePath LeafNode carries
// cred.
func forgePathCommit(t testing.TB, g *Group, cred Credential) *MLSMessage {
	t.Helper()
	pg := g.pub
	leaf := *pg.tree.Leaf(g.self)
	leaf.Credential = cred
	newCtx := pg.ctx
	newCtx.Epoch++
	pup, err := pg.tree.GenerateUpdatePath(g.cfg.rand(), g.self, leaf, g.sigPriv, newCtx.GroupID)
	if err != nil {
		t.Fatal(err)
	}
	tree := pup.Tree()
	newCtx.TreeHash = tree.TreeHash()
	provisional, err := newCtx.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path, err := pup.Encrypt(g.cfg.rand(), provisional, nil)
	if err != nil {
		t.Fatal(err)
	}
	ac, err := g.frame(ContentTypeCommit, &Commit{Path: path}, nil, defaultHandshake(g))
	if err != nil {
		t.Fatal(err)
	}
	st := &stagedCommit{pg: pg, tree: tree, ctx: newCtx}
	if _, _, _, err := st.advance(ac, g.keys.Init, pup.CommitSecret(), nil); err != nil {
		t.Fatal(err)
	}
	msg, _, err := g.wrap(ac) // the generation is reserved, not consumed
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// wantNotSuccessor requires the typed rejection of the default successor
// policy.
func wantNotSuccessor(t testing.TB, err error, what string) {
	t.Helper()
	var pe *ProtocolError
	if !errors.As(err, &pe) || !errors.Is(err, ErrInvalidLeafNode) || !errors.Is(err, ErrCredentialNotSuccessor) {
		t.Fatalf("%s: got %v, want a CodeInvalidLeafNode ProtocolError wrapping ErrCredentialNotSuccessor", what, err)
	}
}

func identityAt(g *Group, l LeafIndex) string {
	if ln := g.Public().Tree().Leaf(l); ln != nil {
		return string(ln.Credential.Identity)
	}
	return ""
}

// TestSecurityUpdateChangingIdentity: an Update turning "dave" into
// "mallory" is rejected by default on receipt, by a committer whose cache
// holds it and by a delivery service applying a commit of it, each leaving
// its state unchanged; with ValidateSuccessor allowing it the Update is
// received, committed and processed, and the override sees leaf, old and
// new credential and reason.
func TestSecurityUpdateChangingIdentity(t *testing.T) {
	all := newFlowGroup(t, secCS, 901, "alice", "bob", "dave")
	a, b, d := all[0], all[1], all[2]
	upd := forgeUpdate(t, d, NewBasicCredential([]byte("mallory")))
	enc := mustEncode(t, upd)
	for _, g := range []*Group{a, b} {
		wantNotSuccessor(t, mustReject(t, g, enc, "update dave->mallory"), "update dave->mallory")
	}

	// A committer that accepted the Update under a permissive policy and
	// then commits under the default one refuses and changes nothing.
	var calls []successorCall
	a.cfg.ValidateSuccessor = recordSuccessor(&calls, allowAnySuccessor)
	if _, err := a.Process(wireRoundTrip(t, upd)); err != nil {
		t.Fatalf("update with a permissive policy: %v", err)
	}
	want := successorCall{leaf: d.LeafIndex(), old: "dave", new: "mallory", reason: SuccessorUpdate}
	if len(calls) != 1 || calls[0] != want {
		t.Fatalf("ValidateSuccessor calls %+v, want [%+v]", calls, want)
	}
	a.cfg.ValidateSuccessor = nil
	before := takeSnapshot(t, a)
	if _, err := a.Commit(CommitOptions{}); err == nil {
		t.Fatal("commit of a dave->mallory Update created under the default policy")
	} else {
		wantNotSuccessor(t, err, "committing the update")
	}
	before.check(t, a)

	// Every member allows it: the commit goes through.
	calls = nil
	for _, g := range all {
		g.cfg.ValidateSuccessor = recordSuccessor(&calls, allowAnySuccessor)
	}
	if _, err := b.Process(wireRoundTrip(t, upd)); err != nil {
		t.Fatal(err)
	}
	dsBefore := a.Public()
	pc := commitAndMerge(t, a, CommitOptions{})
	// A delivery service with the default policy rejects the commit; with
	// the permissive one it follows.
	if _, err := dsBefore.ApplyCommit(wireRoundTrip(t, pc.Commit), []*MLSMessage{wireRoundTrip(t, upd)}, nil); err == nil {
		t.Fatal("delivery service applied a dave->mallory Update under the default policy")
	} else {
		wantNotSuccessor(t, err, "delivery service")
	}
	next, err := dsBefore.ApplyCommit(wireRoundTrip(t, pc.Commit), []*MLSMessage{wireRoundTrip(t, upd)}, &Config{ValidateSuccessor: allowAnySuccessor})
	if err != nil {
		t.Fatalf("delivery service, permissive policy: %v", err)
	}
	deliver(t, a, all, pc.Commit)
	checkAgree(t, all...)
	if !bytes.Equal(next.TreeHash(), a.Public().TreeHash()) {
		t.Fatal("delivery service tree differs")
	}
	for _, g := range all {
		if got := identityAt(g, d.LeafIndex()); got != "mallory" {
			t.Fatalf("leaf %d sees %q at dave's leaf", g.LeafIndex(), got)
		}
	}
	// The Update: b on receipt, a when committing, b and d when
	// processing. The commit's path (an Update requires one) keeps
	// alice's credential: a before sending it, b and d on receipt.
	nUpd, nPath := 0, 0
	for _, c := range calls {
		switch c {
		case want:
			nUpd++
		case successorCall{leaf: a.LeafIndex(), old: "alice", new: "alice", reason: SuccessorCommit}:
			nPath++
		default:
			t.Fatalf("unexpected ValidateSuccessor call %+v", c)
		}
	}
	if nUpd != 4 || nPath != 3 {
		t.Fatalf("ValidateSuccessor calls %+v: %d for the update (want 4), %d for the path (want 3)", calls, nUpd, nPath)
	}
	sendApp(t, d, all, "still here")
}

// TestSecurityCommitPathChangingIdentity: a commit whose UpdatePath
// LeafNode turns "dave" into "mallory" is rejected by default by members
// and by a delivery service, and processed when ValidateSuccessor allows
// it (called with reason commit).
func TestSecurityCommitPathChangingIdentity(t *testing.T) {
	all := newFlowGroup(t, secCS, 902, "alice", "bob", "dave")
	a, b, d := all[0], all[1], all[2]
	msg := forgePathCommit(t, d, NewBasicCredential([]byte("mallory")))
	enc := mustEncode(t, msg)
	for _, g := range []*Group{a, b} {
		wantNotSuccessor(t, mustReject(t, g, enc, "path dave->mallory"), "path dave->mallory")
	}
	if _, err := a.Public().ApplyCommit(wireRoundTrip(t, msg), nil, nil); err == nil {
		t.Fatal("delivery service applied a dave->mallory path")
	} else {
		wantNotSuccessor(t, err, "delivery service")
	}

	var calls []successorCall
	for _, g := range []*Group{a, b} {
		g.cfg.ValidateSuccessor = recordSuccessor(&calls, allowAnySuccessor)
		if _, err := g.Process(wireRoundTrip(t, msg)); err != nil {
			t.Fatalf("leaf %d, permissive policy: %v", g.LeafIndex(), err)
		}
	}
	checkAgree(t, a, b)
	if got := identityAt(a, d.LeafIndex()); got != "mallory" {
		t.Fatalf("dave's leaf holds %q", got)
	}
	want := successorCall{leaf: d.LeafIndex(), old: "dave", new: "mallory", reason: SuccessorCommit}
	if len(calls) != 2 || calls[0] != want || calls[1] != want {
		t.Fatalf("ValidateSuccessor calls %+v, want 2 x %+v", calls, want)
	}

	// An honest path commit (credential unchanged) passes the default.
	a.cfg.ValidateSuccessor, b.cfg.ValidateSuccessor = nil, nil
	commitAll(t, a, []*Group{a, b}, CommitOptions{ForcePath: true})
}

// TestSecurityExternalCommitEvictsMember: an outsider holding a GroupInfo
// with external_pub cannot remove a member through an external commit:
// ExternalJoin refuses, and a commit made anyway is rejected by every
// member (the victim included) and by a delivery service. A legitimate
// resync (same identity) still works, and ValidateSuccessor is called with
// reason resync.
func TestSecurityExternalCommitEvictsMember(t *testing.T) {
	all, gi := evictionFixture(t, 903)
	a, c := all[0], all[2]
	victim := c.LeafIndex()
	cfgM := newTestConfig(9031)
	kpM := newKP(t, cfgM, secCS, "mallory")
	if _, _, err := ExternalJoin(cfgM, gi, kpM, &ExternalJoinOptions{Remove: &victim}); err == nil {
		t.Error("ExternalJoin built an external commit removing another client") // go on: the members must reject it
	} else {
		wantNotSuccessor(t, err, "ExternalJoin")
	}
	// A modified client sends it anyway.
	cfgM.ValidateSuccessor = allowAnySuccessor
	cfgM.ValidateCredential = func(*Credential, []byte) error { return nil }
	_, evict, err := ExternalJoin(cfgM, gi, kpM, &ExternalJoinOptions{Remove: &victim})
	if err != nil {
		t.Fatal(err)
	}
	enc := mustEncode(t, evict)
	for _, g := range all {
		wantNotSuccessor(t, mustReject(t, g, enc, "eviction"), "eviction")
	}
	if !c.Active() {
		t.Fatal("victim deactivated")
	}
	if _, err := a.Public().ApplyCommit(wireRoundTrip(t, evict), nil, nil); err == nil {
		t.Fatal("delivery service applied the eviction")
	} else {
		wantNotSuccessor(t, err, "delivery service")
	}
	// A plain external join by the same outsider (no Remove) is fine.
	// (Not processed: the resync below uses the same epoch.)
	if _, _, err := ExternalJoin(newTestConfig(9032), gi, newKP(t, newTestConfig(9033), secCS, "mallory"), nil); err != nil {
		t.Fatalf("external join without Remove: %v", err)
	}

	// Carol resyncs with a new signature key: accepted everywhere where an
	// Authentication Service vouches for her credential (without one, a
	// new key is refused: TestSecurityResyncEvictionByIdentityClaim).
	acceptAll := func(*Credential, []byte) error { return nil }
	for _, g := range all {
		g.cfg.ValidateCredential = acceptAll
	}
	var calls []successorCall
	a.cfg.ValidateSuccessor = recordSuccessor(&calls, nil)
	cfgC2 := newTestConfig(9034)
	cfgC2.ValidateSuccessor = recordSuccessor(&calls, nil)
	cfgC2.ValidateCredential = acceptAll
	c2, resync, err := ExternalJoin(cfgC2, gi, newKP(t, cfgC2, secCS, "carol"), &ExternalJoinOptions{Remove: &victim})
	if err != nil {
		t.Fatalf("resync: %v", err)
	}
	if _, err := a.Public().ApplyCommit(wireRoundTrip(t, resync), nil, &Config{ValidateCredential: acceptAll}); err != nil {
		t.Fatalf("delivery service, resync: %v", err)
	}
	for _, g := range all {
		p, err := g.Process(wireRoundTrip(t, resync))
		if err != nil {
			t.Fatalf("leaf %d, resync: %v", g.LeafIndex(), err)
		}
		if p.SelfRemoved != (g == c) {
			t.Fatalf("leaf %d SelfRemoved=%v", g.LeafIndex(), p.SelfRemoved)
		}
	}
	members := []*Group{a, all[1], c2}
	checkAgree(t, members...)
	want := successorCall{leaf: victim, old: "carol", new: "carol", reason: SuccessorResync}
	if len(calls) != 2 || calls[0] != want || calls[1] != want {
		t.Fatalf("ValidateSuccessor calls %+v, want 2 x %+v (joiner, then alice)", calls, want)
	}
	sendApp(t, c2, members, "back")
}

// TestSecurityOwnLeafSuccessorPolicy: a member does not send an Update or a
// path commit its own successor policy rejects, and changes nothing.
func TestSecurityOwnLeafSuccessorPolicy(t *testing.T) {
	all := newFlowGroup(t, secCS, 904, "alice", "bob")
	a := all[0]
	var calls []successorCall
	refuse := errors.New("frozen")
	a.cfg.ValidateSuccessor = recordSuccessor(&calls, func(LeafIndex, *Credential, *Credential, SuccessorReason) error { return refuse })
	before := takeSnapshot(t, a)
	if _, err := a.ProposeUpdate(nil); !errors.Is(err, refuse) || !errors.Is(err, ErrInvalidLeafNode) {
		t.Fatalf("ProposeUpdate: %v", err)
	}
	if _, err := a.Commit(CommitOptions{ForcePath: true}); !errors.Is(err, refuse) {
		t.Fatalf("Commit: %v", err)
	}
	before.check(t, a)
	want := []successorCall{{0, "alice", "alice", SuccessorUpdate}, {0, "alice", "alice", SuccessorCommit}}
	if len(calls) != 2 || calls[0] != want[0] || calls[1] != want[1] {
		t.Fatalf("calls %+v, want %+v", calls, want)
	}
	// With the default policy the same commit goes through.
	a.cfg.ValidateSuccessor = nil
	commitAll(t, a, all, CommitOptions{ForcePath: true})
}

// selfSigned returns an x509 credential with one self-signed Ed25519
// certificate for subject cn with the given SAN URIs.
func selfSigned(t *testing.T, seed byte, cn string, uris ...string) Credential {
	t.Helper()
	s := make([]byte, 32)
	s[0] = seed
	priv := ed25519.NewKeyFromSeed(s)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(seed)), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Unix(0, 0), NotAfter: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, u := range uris {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = append(tmpl.URIs, pu)
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		t.Fatal(err)
	}
	return Credential{Type: CredentialX509, Certificates: [][]byte{der}}
}

// TestSecurityDefaultValidateSuccessor: the default policy accepts the same
// basic identity or x509 subject (and subjectAltName) under a new key, and
// rejects anything else with ErrCredentialNotSuccessor.
func TestSecurityDefaultValidateSuccessor(t *testing.T) {
	basic := func(s string) Credential { return NewBasicCredential([]byte(s)) }
	alice1 := selfSigned(t, 1, "alice", "im:alice")
	alice2 := selfSigned(t, 2, "alice", "im:alice") // renewed, new key
	mallory := selfSigned(t, 3, "mallory", "im:alice")
	aliceOtherSAN := selfSigned(t, 4, "alice", "im:mallory")
	noSubject1 := selfSigned(t, 5, "", "im:alice")
	noSubject2 := selfSigned(t, 6, "", "im:mallory")
	cases := []struct {
		name     string
		old, new Credential
		ok       bool
	}{
		{"basic/same", basic("dave"), basic("dave"), true},
		{"basic/other", basic("dave"), basic("mallory"), false},
		{"basic/empty", basic("dave"), basic(""), false},
		{"type-change", basic("alice"), alice1, false},
		{"x509/same", alice1, alice1, true},
		{"x509/renewed", alice1, alice2, true},
		{"x509/other-subject", alice1, mallory, false},
		{"x509/other-san", alice1, aliceOtherSAN, false},
		{"x509/empty-subject-other-san", noSubject1, noSubject2, false},
		{"x509/garbage", alice1, Credential{Type: CredentialX509, Certificates: [][]byte{{1}}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range []SuccessorReason{SuccessorUpdate, SuccessorCommit, SuccessorResync} {
				err := DefaultValidateSuccessor(3, &tc.old, &tc.new, r)
				if (err == nil) != tc.ok {
					t.Fatalf("%v: err=%v, want ok=%v", r, err, tc.ok)
				}
				if !tc.ok && tc.name != "x509/garbage" && !errors.Is(err, ErrCredentialNotSuccessor) {
					t.Fatalf("%v: %v does not wrap ErrCredentialNotSuccessor", r, err)
				}
			}
		})
	}
	if SuccessorUpdate.String() != "update" || SuccessorCommit.String() != "commit" || SuccessorResync.String() != "resync" {
		t.Fatal("SuccessorReason names")
	}
}

// TestSecurityResyncEvictionByIdentityClaim: without an Authentication
// Service (ValidateCredential nil; a ValidateSuccessor alone does not bind
// credentials to keys) a basic identity is
// only a claim, so an outsider calling itself "carol" with its own
// signature key must not be able to resync carol's leaf away; the real
// carol, keeping her signature key, still can. With an AS configured, a
// resync with a new key is the AS's decision.
func TestSecurityResyncEvictionByIdentityClaim(t *testing.T) {
	all, gi := evictionFixture(t, 9901)
	a, c := all[0], all[2]
	victim := c.LeafIndex()
	kpM := newKP(t, newTestConfig(99011), secCS, "carol") // mallory's own keys, carol's name
	if _, _, err := ExternalJoin(newTestConfig(99011), gi, kpM, &ExternalJoinOptions{Remove: &victim}); !errors.Is(err, ErrCredentialNotSuccessor) {
		t.Fatalf("ExternalJoin of a name-claiming outsider: %v, want ErrCredentialNotSuccessor", err)
	}
	// Forced through a joiner that has an AS accepting anything: members
	// without an AS reject it and stay as they were.
	permissive := newTestConfig(99012)
	permissive.ValidateCredential = func(*Credential, []byte) error { return nil }
	_, evict, err := ExternalJoin(permissive, gi, kpM, &ExternalJoinOptions{Remove: &victim})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range all {
		before := takeSnapshot(t, g)
		if _, err := g.Process(wireRoundTrip(t, evict)); !errors.Is(err, ErrCredentialNotSuccessor) {
			t.Fatalf("leaf %d processing the eviction: %v, want ErrCredentialNotSuccessor", g.LeafIndex(), err)
		}
		before.check(t, g)
	}
	if _, err := a.Public().ApplyCommit(wireRoundTrip(t, evict), nil, nil); !errors.Is(err, ErrCredentialNotSuccessor) {
		t.Fatalf("delivery service: %v, want ErrCredentialNotSuccessor", err)
	}
	// A successor policy alone (here the default's own function) is not an
	// AS: still rejected.
	if _, err := a.Public().ApplyCommit(wireRoundTrip(t, evict), nil, &Config{ValidateSuccessor: DefaultValidateSuccessor}); !errors.Is(err, ErrCredentialNotSuccessor) {
		t.Fatalf("delivery service with only ValidateSuccessor: %v, want ErrCredentialNotSuccessor", err)
	}
	// Members whose AS accepts the claim follow it: the application decided.
	for _, g := range all {
		g.cfg.ValidateCredential = permissive.ValidateCredential
	}
	if _, err := a.Process(wireRoundTrip(t, evict)); err != nil {
		t.Fatalf("member with an AS accepting the credential: %v", err)
	}
}

// evictionFixture is a group of alice, bob and carol and a GroupInfo with
// external_pub and the tree, from which an outsider may try to resync carol
// away.
func evictionFixture(t *testing.T, seed uint64) ([]*Group, *GroupInfo) {
	t.Helper()
	all := newFlowGroup(t, secCS, seed, "alice", "bob", "carol")
	gi, err := all[0].GroupInfo(GroupInfoOptions{InlineTree: true, ExternalPub: true})
	if err != nil {
		t.Fatal(err)
	}
	return all, gi
}

// defaultHandshake is the group's default wire format of handshake messages.
func defaultHandshake(g *Group) WireFormat {
	wf, _ := g.handshakeWireFormat(0)
	return wf
}
