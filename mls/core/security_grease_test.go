package core

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/codec"
	"github.com/mlslab/mlslab/mls/internal/suite"
)

// greaseKeyPackage returns a KeyPackage whose KeyPackage.extensions hold a
// GREASE extension (0x2a2a) and an unknown non-GREASE extension (0x7f01),
// neither listed in leaf_node.capabilities, as other implementations send
// them. It is built by hand (leaf and KeyPackage re-signed) so that it does
// not depend on what NewKeyPackage emits.
func greaseKeyPackage(t *testing.T, cfg *Config, cs suite.ID, name string) *KeyPackageBundle {
	t.Helper()
	kp := newKP(t, cfg, cs, name)
	k := kp.KeyPackage
	k.LeafNode.Capabilities = DefaultCapabilities(CipherSuite(cs))
	k.Extensions = Extensions{
		{Type: 0x2a2a, Data: []byte("grease data")},
		{Type: 0x7f01, Data: []byte{1, 2, 3}},
	}
	if err := k.LeafNode.signPriv(suite.MustGet(cs), kp.SignatureKey, nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := k.Sign(kp.SignatureKey); err != nil {
		t.Fatal(err)
	}
	return kp
}

// TestSecurityGREASEKeyPackageExtensions: unknown extensions in
// KeyPackage.extensions, GREASE or not, MUST be ignored by the receiver
// (RFC 9420, Sections 10, 13.4, 13.5) even when they are not listed in the
// leaf's capabilities: the committer adds such a KeyPackage, another member
// accepts the Add, and the new member joins.
func TestSecurityGREASEKeyPackageExtensions(t *testing.T) {
	cs := suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	aliceCfg, bobCfg, carolCfg := newTestConfig(1), newTestConfig(2), newTestConfig(3)
	alice, err := CreateGroup(aliceCfg, []byte("grease"), newKP(t, aliceCfg, cs, "alice"), nil)
	if err != nil {
		t.Fatal(err)
	}
	bobKP := newKP(t, bobCfg, cs, "bob")
	pc := commitAndMerge(t, alice, CommitOptions{Proposals: []ProposalBody{&Add{KeyPackage: *bobKP.KeyPackage}}, InlineTree: true})
	bob, err := Join(bobCfg, wireRoundTrip(t, pc.Welcome), bobKP, nil)
	if err != nil {
		t.Fatal(err)
	}

	carolKP := greaseKeyPackage(t, carolCfg, cs, "carol")
	// Decode the KeyPackage from the wire, as a receiver would.
	carolMsg := wireRoundTrip(t, &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatKeyPackage, KeyPackage: carolKP.KeyPackage})
	if err := alice.pub.validateKeyPackage(alice.pub.tree, alice.pub.ctx.Extensions, carolMsg.KeyPackage, aliceCfg, addSigs{}, nil); err != nil {
		t.Fatalf("KeyPackage with unlisted GREASE/unknown extensions rejected: %v", err)
	}
	// Bob proposes the Add (Section 12.1.1 validation at the proposal's
	// receiver), alice commits it, bob processes the commit.
	prop, err := bob.Propose(&Add{KeyPackage: *carolMsg.KeyPackage}, nil)
	if err != nil {
		t.Fatalf("proposing Add of a GREASE KeyPackage: %v", err)
	}
	if _, err := alice.Process(wireRoundTrip(t, prop)); err != nil {
		t.Fatalf("Add proposal of a GREASE KeyPackage rejected: %v", err)
	}
	pc, err = alice.Commit(CommitOptions{InlineTree: true})
	if err != nil {
		t.Fatalf("committing the Add of a GREASE KeyPackage: %v", err)
	}
	if err := alice.Merge(pc); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Process(wireRoundTrip(t, pc.Commit)); err != nil {
		t.Fatalf("commit adding a GREASE KeyPackage rejected: %v", err)
	}
	carol, err := Join(carolCfg, wireRoundTrip(t, pc.Welcome), carolKP, nil)
	if err != nil {
		t.Fatalf("joining with a GREASE KeyPackage: %v", err)
	}
	checkAgree(t, alice, bob, carol)

	// Unknown LeafNode.extensions, GREASE included, must still be listed in
	// the leaf's capabilities (Sections 7.3, 13.5): that rule stays.
	bad := newKP(t, newTestConfig(4), cs, "dave")
	bad.KeyPackage.LeafNode.Capabilities = DefaultCapabilities(CipherSuite(cs))
	bad.KeyPackage.LeafNode.Extensions = Extensions{{Type: 0x2a2a}}
	if err := bad.KeyPackage.LeafNode.signPriv(suite.MustGet(cs), bad.SignatureKey, nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := bad.KeyPackage.Sign(bad.SignatureKey); err != nil {
		t.Fatal(err)
	}
	epoch, auth := alice.Epoch(), alice.EpochAuthenticator()
	if _, err := alice.Commit(CommitOptions{Proposals: []ProposalBody{&Add{KeyPackage: *bad.KeyPackage}}}); !errors.Is(err, ErrInvalidKeyPackage) && !errors.Is(err, ErrInvalidLeafNode) {
		t.Fatalf("leaf extension not in capabilities: got %v, want an invalid key package / leaf node error", err)
	}
	if alice.Epoch() != epoch || !bytes.Equal(alice.EpochAuthenticator(), auth) {
		t.Fatal("failed Commit changed the group")
	}
}

// greaseIn returns the GREASE values of l.
func greaseIn[T ~uint16](l []T) []T {
	var out []T
	for _, v := range l {
		if isGREASE(uint16(v)) {
			out = append(out, v)
		}
	}
	return out
}

// TestSecurityGREASEEmitted: by default a KeyPackage carries GREASE values
// (RFC 9420, Section 13.5) in the capabilities' cipher_suites, extensions,
// proposals and credentials (not versions), and a GREASE KeyPackage
// extension whose type is listed in capabilities.extensions (Section 10);
// the values come from Config.Rand (a seed reproduces the bytes).
func TestSecurityGREASEEmitted(t *testing.T) {
	cs := suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	kp := newKP(t, newTestConfig(7), cs, "alice").KeyPackage
	caps := kp.LeafNode.Capabilities
	if len(greaseIn(caps.CipherSuites)) != 1 || len(greaseIn(caps.Extensions)) != 1 ||
		len(greaseIn(caps.Proposals)) != 1 || len(greaseIn(caps.Credentials)) != 1 || len(greaseIn(caps.Versions)) != 0 {
		t.Fatalf("capabilities %+v: want one GREASE value in each list but versions", caps)
	}
	if len(kp.Extensions) != 1 || !kp.Extensions[0].Type.IsGREASE() || kp.Extensions[0].Type != greaseIn(caps.Extensions)[0] {
		t.Fatalf("KeyPackage extensions %v, capabilities.extensions %v: want one listed GREASE extension", kp.Extensions, caps.Extensions)
	}
	if len(kp.LeafNode.Extensions) != 0 {
		t.Fatalf("LeafNode extensions %v, want none", kp.LeafNode.Extensions)
	}
	if !caps.SupportsCipherSuite(CipherSuite(cs)) || !caps.SupportsCredential(CredentialBasic) {
		t.Fatal("real capabilities lost")
	}
	if d := DefaultCapabilities(CipherSuite(cs)); len(greaseIn(d.CipherSuites))+len(greaseIn(d.Credentials)) != 0 {
		t.Fatal("DefaultCapabilities (own capabilities) holds GREASE values")
	}

	// Seeded runs reproduce every byte; different seeds pick other values.
	enc1, _ := kp.Marshal()
	enc2, _ := newKP(t, newTestConfig(7), cs, "alice").KeyPackage.Marshal()
	if !bytes.Equal(enc1, enc2) {
		t.Fatal("same seed, different KeyPackages")
	}
	differ := false
	for seed := uint64(8); seed < 16 && !differ; seed++ {
		o := newKP(t, newTestConfig(seed), cs, "alice").KeyPackage
		differ = !slices.Equal(o.LeafNode.Capabilities.Proposals, caps.Proposals) || o.Extensions[0].Type != kp.Extensions[0].Type
	}
	if !differ {
		t.Fatal("GREASE values do not depend on the random stream")
	}

	// Caller-supplied capabilities and extensions get GREASE too and are
	// not modified.
	userCaps := DefaultCapabilities(CipherSuite(cs))
	userExt := Extensions{{Type: 0x7f01}}
	b, err := NewKeyPackage(newTestConfig(9), CipherSuite(cs), NewBasicCredential([]byte("x")), &KeyPackageOptions{Capabilities: &userCaps, Extensions: userExt})
	if err != nil {
		t.Fatal(err)
	}
	if len(greaseIn(userCaps.CipherSuites)) != 0 || len(userExt) != 1 || len(b.KeyPackage.Extensions) != 2 {
		t.Fatalf("caller's lists modified or GREASE missing: %+v %v %v", userCaps, userExt, b.KeyPackage.Extensions)
	}
}

// TestSecurityGREASEOwnCapabilities: a client's own GREASE values never
// count as supported by itself (RFC 9420, Section 13.5), so a GroupContext
// extension of a GREASE type is refused even when every leaf, its own
// included, lists that type (Section 13.4: the client itself must support
// every GroupContext extension).
func TestSecurityGREASEOwnCapabilities(t *testing.T) {
	cs := suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	const gt ExtensionType = 0x3a3a
	withGREASE := func(cfg *Config, name string) *KeyPackageBundle {
		c := DefaultCapabilities(CipherSuite(cs))
		c.Extensions = []ExtensionType{gt}
		kp, err := NewKeyPackage(cfg, CipherSuite(cs), NewBasicCredential([]byte(name)), &KeyPackageOptions{Capabilities: &c})
		if err != nil {
			t.Fatal(err)
		}
		return kp
	}
	aliceCfg, bobCfg := newTestConfig(11), newTestConfig(12)
	aliceKP := withGREASE(aliceCfg, "alice")
	if _, err := CreateGroup(aliceCfg, []byte("g"), aliceKP, Extensions{{Type: gt}}); err == nil {
		t.Fatal("CreateGroup accepted a GREASE GroupContext extension")
	}
	alice, err := CreateGroup(aliceCfg, []byte("g"), aliceKP, nil)
	if err != nil {
		t.Fatal(err)
	}
	bobKP := withGREASE(bobCfg, "bob")
	pc := commitAndMerge(t, alice, CommitOptions{Proposals: []ProposalBody{&Add{KeyPackage: *bobKP.KeyPackage}}, InlineTree: true})
	bob, err := Join(bobCfg, wireRoundTrip(t, pc.Welcome), bobKP, nil)
	if err != nil {
		t.Fatal(err)
	}
	epoch, auth := alice.Epoch(), alice.EpochAuthenticator()
	exp, _ := alice.Export("x", nil, 16)
	_, err = alice.Commit(CommitOptions{Proposals: []ProposalBody{&GroupContextExtensions{Extensions: Extensions{{Type: gt}}}}})
	if !errors.Is(err, ErrInvalidProposal) {
		t.Fatalf("GroupContextExtensions with a GREASE type: got %v, want ErrInvalidProposal", err)
	}
	exp2, _ := alice.Export("x", nil, 16)
	if alice.Epoch() != epoch || !bytes.Equal(alice.EpochAuthenticator(), auth) || !bytes.Equal(exp, exp2) {
		t.Fatal("failed Commit changed the group")
	}
	checkAgree(t, alice, bob)
}

// TestSecurityGREASEDisable: Config.DisableGREASE turns GREASE off without
// changing the keys (GREASE is drawn after them).
func TestSecurityGREASEDisable(t *testing.T) {
	cs := suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	kp := newKP(t, newTestConfig(7), cs, "alice").KeyPackage
	off := newKP(t, &Config{Rand: seededReader(7), DisableGREASE: true}, cs, "alice").KeyPackage
	if !slices.Equal(off.LeafNode.Capabilities.CipherSuites, DefaultCapabilities(CipherSuite(cs)).CipherSuites) ||
		len(off.LeafNode.Capabilities.Extensions)+len(off.LeafNode.Capabilities.Proposals)+len(off.Extensions) != 0 ||
		len(greaseIn(off.LeafNode.Capabilities.Credentials)) != 0 {
		t.Fatalf("DisableGREASE: capabilities %+v, extensions %v", off.LeafNode.Capabilities, off.Extensions)
	}
	if !bytes.Equal(off.InitKey, kp.InitKey) || !bytes.Equal(off.LeafNode.EncryptionKey, kp.LeafNode.EncryptionKey) {
		t.Fatal("DisableGREASE changed the keys")
	}
}

// TestSecurityGREASEOwnSupportRule: the rule of
// TestSecurityGREASEOwnCapabilities as Join, ExternalJoin and processing a
// commit apply it: GREASE values in the own capabilities never count; other
// listed types (an application's own extensions) do.
func TestSecurityGREASEOwnSupportRule(t *testing.T) {
	const gt ExtensionType = 0x3a3a
	own := &Capabilities{Extensions: []ExtensionType{gt, 0x7f01}, Proposals: []ProposalType{0x4a4a}, Credentials: []CredentialType{CredentialBasic, 0x5a5a}}
	rc := func(r RequiredCapabilities) Extension {
		data, err := codec.Encode(r.marshal)
		if err != nil {
			t.Fatal(err)
		}
		return Extension{Type: ExtensionRequiredCapabilities, Data: data}
	}
	for _, tc := range []struct {
		exts Extensions
		ok   bool
	}{
		{nil, true},
		{Extensions{{Type: 0x7f01}}, true},
		{Extensions{{Type: ExtensionExternalSenders}}, true},
		{Extensions{{Type: gt}}, false},
		{Extensions{rc(RequiredCapabilities{ExtensionTypes: []ExtensionType{0x7f01}, CredentialTypes: []CredentialType{CredentialBasic}})}, true},
		{Extensions{rc(RequiredCapabilities{ExtensionTypes: []ExtensionType{gt}})}, false},
		{Extensions{rc(RequiredCapabilities{ProposalTypes: []ProposalType{0x4a4a}})}, false},
		{Extensions{rc(RequiredCapabilities{CredentialTypes: []CredentialType{0x5a5a}})}, false},
	} {
		if err := checkOwnSupport(own, tc.exts); (err == nil) != tc.ok {
			t.Errorf("checkOwnSupport(%v): %v, want ok=%v", tc.exts, err, tc.ok)
		}
	}
	if len(own.Extensions) != 2 || len(own.Credentials) != 2 {
		t.Fatal("checkOwnSupport modified the capabilities")
	}
}
