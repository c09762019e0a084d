package mls

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

// Security regression tests for denial of service by attacker-sized inputs
// (issue 11, items 5 and 6): quadratic checks over lists and missing size
// limits.
//
// The quadratic-check tests use inputs so large that an O(n^2) check takes
// seconds (65 536 extension types: 2^31 comparisons) while the linear one
// takes milliseconds, and assert a generous bound (dosBound). The matching
// benchmarks (BenchmarkSecurity...) show the scaling.

// dosBound is the time a linear check of a 2^16-entry input must stay
// under. The quadratic versions took 3-10 s on the lab machine, the linear
// ones take under 50 ms of CPU time.
const dosBound = time.Second

// allExtensionTypes returns 2^16 distinct extension types, as an attacker
// fills a LeafNode or KeyPackage with them, and extensions of those types.
func allExtensionTypes() ([]ExtensionType, Extensions) {
	types := make([]ExtensionType, 1<<16)
	exts := make(Extensions, 1<<16)
	for i := range types {
		// A permutation, so neither list is in a convenient order.
		v := ExtensionType(uint16(i*40503 + 7))
		types[i] = v
		exts[len(exts)-1-i] = Extension{Type: v}
	}
	return types, exts
}

// bigExtensionKeyPackage is a KeyPackage whose leaf lists every extension
// type in its capabilities and carries an extension of each type (about
// 200 KB encoded).
func bigExtensionKeyPackage(t testing.TB) *KeyPackage {
	t.Helper()
	types, exts := allExtensionTypes()
	caps := DefaultCapabilities(suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
	caps.Extensions = types
	kp := newKPWith(t, &KeyPackageOptions{Capabilities: &caps})
	kp.KeyPackage.LeafNode.Extensions = exts
	return kp.KeyPackage
}

func newKPWith(t testing.TB, opts *KeyPackageOptions) *KeyPackageBundle {
	t.Helper()
	kp, err := NewKeyPackage(newTestConfig(1), suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, NewBasicCredential([]byte("mallory")), opts)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// timed runs f up to three times and fails unless one run finishes within
// dosBound: a linear check passes on its first run even on a loaded
// machine, a quadratic one fails all three.
func timed(t testing.TB, what string, f func()) {
	t.Helper()
	var best time.Duration
	for i := range 3 {
		start := time.Now()
		f()
		d := time.Since(start)
		if i == 0 || d < best {
			best = d
		}
		if best <= dosBound {
			return
		}
	}
	t.Fatalf("%s took %v (bound %v): quadratic?", what, best, dosBound)
}

// TestSecurityExtensionDuplicateCheckLinear: decoding a KeyPackage with
// 2^16 distinct extension types (RFC 9420, Section 13.4 duplicate check)
// used to cost 3.6 s before any signature was checked.
func TestSecurityExtensionDuplicateCheckLinear(t *testing.T) {
	kp := bigExtensionKeyPackage(t)
	enc := mustEncode(t, &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatKeyPackage, KeyPackage: kp})
	var got *MLSMessage
	timed(t, "UnmarshalMLSMessage(KeyPackage with 2^16 extensions)", func() {
		var err error
		if got, err = UnmarshalMLSMessage(enc); err != nil {
			t.Fatal(err)
		}
	})
	if n := len(got.KeyPackage.LeafNode.Extensions); n != 1<<16 {
		t.Fatalf("decoded %d extensions", n)
	}
	timed(t, "Extensions.Validate(2^16 extensions)", func() {
		if err := kp.LeafNode.Extensions.Validate(); err != nil {
			t.Fatal(err)
		}
	})
	// A duplicate is still found, at the end of a long list and in a
	// short one.
	for _, n := range []int{3, 16, 17, 1 << 16} {
		exts := append(Extensions(nil), kp.LeafNode.Extensions[:n]...)
		exts = append(exts, exts[n/2])
		if err := exts.Validate(); !errors.Is(err, ErrDuplicateExtension) {
			t.Fatalf("n=%d: Validate = %v, want ErrDuplicateExtension", n, err)
		}
		enc, err := exts.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var dec Extensions
		if err := dec.Unmarshal(enc); !errors.Is(err, ErrDuplicateExtension) {
			t.Fatalf("n=%d: Unmarshal = %v, want ErrDuplicateExtension", n, err)
		}
	}
}

// TestSecurityCapabilityChecksLinear: the checks of one attacker-sized
// list against another (leaf extensions against leaf capabilities, RFC
// 9420 Section 7.3; KeyPackage extensions against them, Section 10;
// required_capabilities, Section 11.1) are linear.
func TestSecurityCapabilityChecksLinear(t *testing.T) {
	// 2^15 extensions (the even types) against capabilities listing 3 * 2^16
	// odd types first (repetitions are allowed in Capabilities) and then
	// the even ones: a scan per extension reads 2^17-2^18 entries.
	kp := bigExtensionKeyPackage(t)
	var exts Extensions
	var caps []ExtensionType
	for i := range 3 << 16 {
		caps = append(caps, ExtensionType(2*i+1))
	}
	for i := range 1 << 15 {
		exts = append(exts, Extension{Type: ExtensionType(2 * i)})
		caps = append(caps, ExtensionType(2*(1<<15-1-i)))
	}
	kp.LeafNode.Extensions, kp.Extensions, kp.LeafNode.Capabilities.Extensions = exts, exts, caps
	timed(t, "LeafNode.CheckCapabilities(2^15 x 2^18)", func() {
		if err := kp.LeafNode.CheckCapabilities(); err != nil {
			t.Fatal(err)
		}
	})
	timed(t, "validateKeyPackage(2^15 x 2^18)", func() {
		// The extensions check passes; the signature (over the modified
		// package) then fails.
		err := validateKeyPackage(kp, ProtocolVersionMLS10, kp.CipherSuite, nil)
		if !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("validateKeyPackage = %v, want ErrInvalidSignature", err)
		}
	})
	types, _ := allExtensionTypes()
	var want, have []ProposalType
	for _, e := range exts {
		want = append(want, ProposalType(e.Type))
	}
	for _, c := range caps {
		have = append(have, ProposalType(c))
	}
	rcaps := Capabilities{Extensions: caps, Proposals: have}
	rc := &RequiredCapabilities{ExtensionTypes: want2ext(want), ProposalTypes: want}
	timed(t, "RequiredCapabilities.supportedBy(2^15 x 2^18)", func() {
		if err := rc.supportedBy(&rcaps); err != nil {
			t.Fatal(err)
		}
	})
	// Unsupported entries are still found, at either end.
	for _, drop := range []int{0, len(types) - 1} {
		short := &Capabilities{Extensions: append(append([]ExtensionType(nil), types[:drop]...), types[drop+1:]...)}
		_, all := allExtensionTypes()
		ln := kp.LeafNode
		ln.Extensions = all
		ln.Capabilities = *short
		ln.Capabilities.Credentials = []CredentialType{CredentialBasic}
		if err := ln.CheckCapabilities(); !errors.Is(err, ErrInvalidLeafNode) || types[drop].IsDefault() {
			t.Fatalf("drop %v: CheckCapabilities = %v", types[drop], err)
		}
		if err := (&RequiredCapabilities{ExtensionTypes: types}).supportedBy(short); err == nil {
			t.Fatalf("drop %v: supportedBy accepted", types[drop])
		}
	}
}

func want2ext(l []ProposalType) []ExtensionType {
	out := make([]ExtensionType, len(l))
	for i, v := range l {
		out[i] = ExtensionType(v)
	}
	return out
}

// TestSecurityProposalListChecksLinear: a commit's proposal list is checked
// for duplicate PreSharedKeyIDs (RFC 9420, Section 12.2) and its
// references resolved in linear time.
func TestSecurityProposalListChecksLinear(t *testing.T) {
	cfg := newTestConfig(7)
	g, err := CreateGroup(cfg, []byte("g"), newKP(t, cfg, suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, "alice"), nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 50000
	self := MemberSender(0)
	entries := make([]proposalEntry, n+1)
	for i := range n {
		nonce := make([]byte, g.cs.Nh())
		copy(nonce, fmt.Sprint(i))
		entries[i] = proposalEntry{sender: self, p: &Proposal{Body: &PreSharedKey{PSK: PreSharedKeyID{
			PSKType: PSKTypeExternal, PSKID: []byte(fmt.Sprintf("psk-%d", i)), PSKNonce: nonce}}}}
	}
	entries[n] = entries[n/2] // one duplicate, found last
	timed(t, "applyProposals(50 000 PSK proposals)", func() {
		_, err := g.pub.applyProposals(entries, self, cfg)
		if !errors.Is(err, ErrInvalidProposal) {
			t.Fatalf("applyProposals = %v, want ErrInvalidProposal (duplicate PreSharedKeyID)", err)
		}
	})
	if _, err := g.pub.applyProposals(entries[:n], self, cfg); err != nil {
		t.Fatalf("distinct PSKs rejected: %v", err)
	}

	// 50 000 cached proposals, a commit referencing each of them.
	h := g.clone()
	c := &Commit{}
	for i := range n {
		ref := make([]byte, 32)
		copy(ref, fmt.Sprintf("ref-%d", i))
		h.proposals = append(h.proposals, cachedProposal{ref: ref, p: entries[i].p, sender: self})
		c.Proposals = append(c.Proposals, ProposalOrRef{Type: ProposalOrRefReference, Reference: ref})
	}
	var got []proposalEntry
	timed(t, "resolveProposals(50 000 references)", func() {
		if got, err = h.resolveProposals(c, MemberSender(1)); err != nil {
			t.Fatal(err)
		}
	})
	for i := range got {
		if got[i].p != entries[i].p {
			t.Fatalf("reference %d resolved to the wrong proposal", i)
		}
	}
	c.Proposals = append(c.Proposals, ProposalOrRef{Type: ProposalOrRefReference, Reference: []byte("unknown")})
	if _, err := h.resolveProposals(c, MemberSender(1)); !errors.Is(err, ErrInvalidCommit) {
		t.Fatalf("unknown reference: %v", err)
	}
}

func BenchmarkSecurityDecodeKeyPackageExtensions(b *testing.B) {
	kp := bigExtensionKeyPackage(b)
	enc := mustEncode(b, &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatKeyPackage, KeyPackage: kp})
	b.ReportAllocs()
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if _, err := UnmarshalMLSMessage(enc); err != nil {
			b.Fatal(err)
		}
	}
}
