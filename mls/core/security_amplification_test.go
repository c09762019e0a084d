package core

// Allocation amplification of attacker input: bytes allocated per input
// byte for the decoders of the largest lists (see the package
// documentation, "Size limits").

import (
	"bytes"
	"errors"
	"runtime"
	"slices"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/codec"
)

func allocPerByte(in []byte, f func()) float64 {
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	f()
	runtime.ReadMemStats(&m1)
	return float64(m1.TotalAlloc-m0.TotalAlloc) / float64(len(in))
}

// maxAmplification is the bound the tests below assert on decoding
// allocation per input byte (doc.go "Size limits").
const maxAmplification = 8

// TestSecurityUpdatePathCiphertextAmplification: an UpdatePath of empty
// HPKECiphertexts (2 octets each, 48 bytes decoded) used to allocate 130
// bytes per input byte before any signature check. HPKECiphertexts
// shorter than a KEM output plus an AEAD tag are now rejected, and the
// smallest acceptable ones decode within maxAmplification.
func TestSecurityUpdatePathCiphertextAmplification(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates up to ~500 MB on the unfixed code")
	}
	alice, _ := twoMembers(t, newTestConfig(9904), newTestConfig(9905))
	leaf, err := alice.Public().Tree().Leaf(0).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	build := func(ct []byte, per int) []byte {
		cts := bytes.Repeat(ct, per)
		var nodeEnc []byte
		nodeEnc = append(nodeEnc, appendVarint(nil, minPublicKey)...) // shortest encryption_key
		nodeEnc = append(nodeEnc, make([]byte, minPublicKey)...)
		nodeEnc = append(nodeEnc, appendVarint(nil, uint32(len(cts)))...)
		nodeEnc = append(nodeEnc, cts...)
		nodesEnc := bytes.Repeat(nodeEnc, 4)
		enc := []byte{0, 1} // no proposals, path present
		enc = append(enc, leaf...)
		enc = append(enc, appendVarint(nil, uint32(len(nodesEnc)))...)
		return append(enc, nodesEnc...)
	}
	// The reviewer's case: 4 nodes of 2^19 empty ciphertexts (4 MiB).
	enc := build([]byte{0, 0}, 1<<19)
	var derr error
	r := allocPerByte(enc, func() { _, derr = UnmarshalCommit(enc) })
	t.Logf("empty ciphertexts: %d bytes in, %.1f bytes allocated per byte, err=%v", len(enc), r, derr)
	if derr == nil || r > maxAmplification {
		t.Errorf("UpdatePath of empty ciphertexts: %.1fx, err=%v", r, derr)
	}
	// The smallest ciphertexts the decoder accepts (32-octet kem_output,
	// 16-octet ciphertext), 4 nodes of 2^17 (26 MiB).
	minCT := append(append([]byte{32}, make([]byte, 32)...), append([]byte{16}, make([]byte, 16)...)...)
	enc = build(minCT, 1<<17)
	r = allocPerByte(enc, func() { _, derr = UnmarshalCommit(enc) })
	t.Logf("minimal ciphertexts: %d bytes in, %.1f bytes allocated per byte, err=%v", len(enc), r, derr)
	if derr != nil || r > maxAmplification {
		t.Errorf("UpdatePath of minimal ciphertexts: %.1fx, err=%v", r, derr)
	}
	// More ciphertexts in the whole path than maxPathCiphertexts, each
	// node under it, is rejected.
	enc = build(minCT, maxPathCiphertexts/4+1)
	if _, err := UnmarshalCommit(enc); !errors.Is(err, ErrLimitExceeded) {
		t.Errorf("path of %d ciphertexts: %v", 4*(maxPathCiphertexts/4+1), err)
	}
}

// TestSecurityUpdatePathAmplificationMLSMessage: the same through
// UnmarshalMLSMessage, the first thing a receiver does with a commit.
func TestSecurityUpdatePathAmplificationMLSMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates ~500 MB on the unfixed code")
	}
	alice, _ := twoMembers(t, newTestConfig(9906), newTestConfig(9907))
	for _, tc := range []struct {
		name string
		ct   HPKECiphertext
		n    int
	}{
		{"empty", HPKECiphertext{}, 1 << 19},
		{"minimal", HPKECiphertext{KEMOutput: make([]byte, 32), Ciphertext: make([]byte, 16)}, 1 << 17},
	} {
		path := &UpdatePath{LeafNode: *alice.Public().Tree().Leaf(0), Nodes: make([]UpdatePathNode, 4)}
		for i := range path.Nodes {
			path.Nodes[i].EncryptionKey = make([]byte, minPublicKey)
			path.Nodes[i].EncryptedPathSecret = slices.Repeat([]HPKECiphertext{tc.ct}, tc.n)
		}
		enc := mustEncode(t, forgeCommit(t, alice, nil, path))
		path = nil
		var derr error
		r := allocPerByte(enc, func() { _, derr = UnmarshalMLSMessage(enc) })
		t.Logf("%s: MLSMessage of %d bytes: %.1f bytes allocated per byte, err=%v", tc.name, len(enc), r, derr)
		if r > maxAmplification || (derr == nil) != (tc.name == "minimal") {
			t.Errorf("%s: UnmarshalMLSMessage amplifies %.1fx (err=%v)", tc.name, r, derr)
		}
	}
}

// TestSecurityWelcomeSecretsAmplification: 2^19 three-octet
// EncryptedGroupSecrets used to allocate 130 bytes per input byte; a
// KeyPackageRef shorter than a hash or an HPKECiphertext shorter than a
// KEM output and a tag is now rejected, and the smallest acceptable
// secrets decode within maxAmplification.
func TestSecurityWelcomeSecretsAmplification(t *testing.T) {
	build := func(elem []byte, n int) []byte {
		body := bytes.Repeat(elem, n)
		enc := []byte{0, 1}
		enc = append(enc, appendVarint(nil, uint32(len(body)))...)
		enc = append(enc, body...)
		return append(enc, 0) // empty encrypted_group_info
	}
	enc := build([]byte{0, 0, 0}, 1<<19)
	var derr error
	r := allocPerByte(enc, func() { _, derr = UnmarshalWelcome(enc) })
	t.Logf("empty secrets: Welcome of %d bytes, %.1f bytes allocated per byte, err=%v", len(enc), r, derr)
	if derr == nil || r > maxAmplification {
		t.Errorf("Welcome of empty secrets: %.1fx, err=%v", r, derr)
	}
	var elem []byte
	elem = append(elem, 32)
	elem = append(elem, make([]byte, 32)...)
	elem = append(elem, 32)
	elem = append(elem, make([]byte, 32)...)
	elem = append(elem, 16)
	elem = append(elem, make([]byte, 16)...)
	enc = build(elem, 1<<17)
	r = allocPerByte(enc, func() { _, derr = UnmarshalWelcome(enc) })
	t.Logf("minimal secrets: Welcome of %d bytes, %.1f bytes allocated per byte, err=%v", len(enc), r, derr)
	if derr != nil || r > maxAmplification {
		t.Errorf("Welcome of minimal secrets: %.1fx, err=%v", r, derr)
	}
}

// TestSecurityStateTreeLeafLimit: UnmarshalGroupState parses the saved
// ratchet tree under the Config's leaf limit (it used treemath.MaxLeaves,
// 2^31: a 2 MB run of blank nodes allocated 254 MB before the tree hash
// was compared).
func TestSecurityStateTreeLeafLimit(t *testing.T) {
	alice, _ := twoMembers(t, newTestConfig(9909), newTestConfig(9910))
	state, err := alice.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := alice.Public().Tree().Leaf(0).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// The state is version, suite, GroupContext, then the tree: replace
	// the tree by 2^21-2 blank nodes and a leaf (2^20 leaves).
	s := cryptobyte.String(state[4:])
	var ctx GroupContext
	if err := ctx.unmarshal(&s); err != nil {
		t.Fatal(err)
	}
	head := state[:len(state)-len(s)]
	if _, err := codec.ReadVector(&s); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 1<<21-2)
	body = append(body, 1, byte(NodeTypeLeaf))
	body = append(body, leaf...)
	forged := append(append(bytes.Clone(head), appendVarint(nil, uint32(len(body)))...), body...)
	forged = append(forged, s...)
	var derr error
	r := allocPerByte(forged, func() { _, derr = UnmarshalGroupState(alice.Config(), forged) })
	t.Logf("state with a tree of 2^20 leaves, %d bytes: %.1f bytes allocated per byte, err=%v", len(forged), r, derr)
	if !errors.Is(derr, ErrLimitExceeded) {
		t.Errorf("state with a tree of 2^20 leaves (limit %d): %v", alice.Config().maxLeaves(), derr)
	}
	if r > maxAmplification {
		t.Errorf("UnmarshalGroupState amplifies %.1fx", r)
	}
}

// TestSecurityProposalListAmplification: commits of many tiny proposals by
// value decode within maxAmplification or are rejected: Updates by value
// (never valid in a commit, RFC 9420 Section 12.2) beyond the singleton
// cap, Adds whose KeyPackage has keys shorter than any suite's, x509
// credentials of empty certificates.
func TestSecurityProposalListAmplification(t *testing.T) {
	key := func(n int) []byte { return append(appendVarint(nil, uint32(n)), make([]byte, n)...) }
	// LeafNode (source update): keys, basic credential, 5 empty
	// capability lists, source, no extensions, empty signature.
	leaf := func(cred []byte, source byte, lifetime bool) []byte {
		b := append(key(minPublicKey), key(minPublicKey)...)
		b = append(b, cred...)
		b = append(b, 0, 0, 0, 0, 0, source)
		if lifetime {
			b = append(b, make([]byte, 16)...)
		}
		return append(b, 0, 0)
	}
	basic := []byte{0, 1, 0}
	upd := append([]byte{1, 0, 2}, leaf(basic, 2, false)...)
	kp := func(cred []byte) []byte {
		b := append([]byte{0, 1, 0, 1}, key(minPublicKey)...)
		b = append(b, leaf(cred, 1, true)...)
		return append(b, 0, 0)
	}
	add := append([]byte{1, 0, 1}, kp(basic)...)
	x509 := append([]byte{0, 2}, appendVarint(nil, 256)...)
	x509 = append(x509, make([]byte, 256)...) // 256 empty certificates
	addX509 := append([]byte{1, 0, 1}, kp(x509)...)
	shortKey := append([]byte{1, 0, 1}, bytes.Replace(kp(basic), key(minPublicKey), key(1), 1)...)
	for _, tc := range []struct {
		name   string
		elem   []byte
		n      int
		reject bool
	}{
		{"update by value", upd, 1 << 16, true},
		{"add", add, 1 << 16, false},
		{"add, empty certificates", addX509, 1 << 12, true},
		{"add, 1-octet init_key", shortKey, 1 << 16, true},
	} {
		body := bytes.Repeat(tc.elem, tc.n)
		enc := append(appendVarint(nil, uint32(len(body))), body...)
		enc = append(enc, 0) // no path
		var derr error
		r := allocPerByte(enc, func() { _, derr = UnmarshalCommit(enc) })
		if (derr != nil) != tc.reject || r > maxAmplification {
			t.Errorf("%s: %d proposals, %d octets: err=%v, %.1f octets allocated per input octet (bound %d)", tc.name, tc.n, len(enc), derr, r, maxAmplification)
		}
	}
}
