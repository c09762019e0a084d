package core

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

func testEncryptionSecret(cs *suite.Suite) EncryptionSecret {
	return EncryptionSecret(bytes.Repeat([]byte{0x5a}, cs.Nh()))
}

func newTestSecretTree(t testing.TB, leaves uint32) *SecretTree {
	t.Helper()
	cs := suite.MustGet(1)
	st, err := newSecretTree(cs, testEncryptionSecret(cs), leaves)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// referenceKeys derives generations 0..n-1 of one ratchet in order with
// NextKey on a fresh tree.
func referenceKeys(t *testing.T, leaves uint32, leaf LeafIndex, typ RatchetType, n int) []KeyNonce {
	t.Helper()
	st := newTestSecretTree(t, leaves)
	out := make([]KeyNonce, n)
	for i := range out {
		kn, err := st.NextKey(leaf, typ)
		if err != nil {
			t.Fatal(err)
		}
		if kn.Generation != uint32(i) {
			t.Fatalf("NextKey generation %d, want %d", kn.Generation, i)
		}
		out[i] = kn
	}
	return out
}

func consumeKey(t *testing.T, st *SecretTree, leaf LeafIndex, typ RatchetType, gen uint32) KeyNonce {
	t.Helper()
	p, err := st.Key(leaf, typ, gen)
	if err != nil {
		t.Fatalf("Key(%d, %v, %d): %v", leaf, typ, gen, err)
	}
	if err := p.Consume(); err != nil {
		t.Fatalf("Consume(%d, %v, %d): %v", leaf, typ, gen, err)
	}
	return p.KeyNonce
}

func sameKey(t *testing.T, got, want KeyNonce) {
	t.Helper()
	if got.Generation != want.Generation || !bytes.Equal(got.Key, want.Key) || !bytes.Equal(got.Nonce, want.Nonce) {
		t.Fatalf("generation %d: got key %x nonce %x, want generation %d key %x nonce %x",
			got.Generation, got.Key, got.Nonce, want.Generation, want.Key, want.Nonce)
	}
}

func TestSecretTreeOutOfOrderWindow(t *testing.T) {
	ref := referenceKeys(t, 8, 3, ApplicationRatchet, 12)
	st := newTestSecretTree(t, 8)
	for _, g := range []uint32{5, 2, 0, 11, 4, 1, 3, 10, 6, 9, 7, 8} {
		sameKey(t, consumeKey(t, st, 3, ApplicationRatchet, g), ref[g])
	}
	// The handshake ratchet of the same leaf is independent.
	hs := referenceKeys(t, 8, 3, HandshakeRatchet, 1)
	sameKey(t, consumeKey(t, st, 3, HandshakeRatchet, 0), hs[0])
	if bytes.Equal(hs[0].Key, ref[0].Key) {
		t.Fatal("handshake and application ratchets yield the same key")
	}
}

func TestSecretTreeReuseRejected(t *testing.T) {
	st := newTestSecretTree(t, 4)
	consumeKey(t, st, 1, HandshakeRatchet, 0)
	consumeKey(t, st, 1, HandshakeRatchet, 3) // 1, 2 skipped
	consumeKey(t, st, 1, HandshakeRatchet, 2)
	for _, g := range []uint32{0, 2, 3} {
		if _, err := st.Key(1, HandshakeRatchet, g); !errors.Is(err, ErrKeyUsed) {
			t.Errorf("generation %d again: got %v, want ErrKeyUsed", g, err)
		}
	}
	// The skipped generation 1 is still available, once.
	consumeKey(t, st, 1, HandshakeRatchet, 1)
	if _, err := st.Key(1, HandshakeRatchet, 1); !errors.Is(err, ErrKeyUsed) {
		t.Errorf("generation 1 again: got %v, want ErrKeyUsed", err)
	}
	// A sender's NextKey never hands out a consumed generation.
	kn, err := st.NextKey(1, HandshakeRatchet)
	if err != nil || kn.Generation != 4 {
		t.Fatalf("NextKey = %d, %v; want generation 4", kn.Generation, err)
	}
	// Consuming the same PendingKey twice fails.
	p, err := st.Key(1, HandshakeRatchet, 6)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Consume(); err != nil {
		t.Fatal(err)
	}
	if err := p.Consume(); !errors.Is(err, ErrKeyUsed) {
		t.Fatalf("second Consume: got %v, want ErrKeyUsed", err)
	}
}

func TestSecretTreeTooFarAheadRejected(t *testing.T) {
	st := newTestSecretTree(t, 2)
	st.SetLimits(SecretTreeLimits{MaxForwardDistance: 10})
	if _, err := st.Key(0, ApplicationRatchet, 11); !errors.Is(err, ErrGenerationTooFar) {
		t.Fatalf("generation 11 with window 10: got %v, want ErrGenerationTooFar", err)
	}
	consumeKey(t, st, 0, ApplicationRatchet, 10) // exactly at the limit
	// The window moves with the ratchet: next is 11, so 21 is allowed, 22 not.
	if _, err := st.Key(0, ApplicationRatchet, 22); !errors.Is(err, ErrGenerationTooFar) {
		t.Fatalf("generation 22: got %v, want ErrGenerationTooFar", err)
	}
	consumeKey(t, st, 0, ApplicationRatchet, 21)
	// Default limit.
	st2 := newTestSecretTree(t, 2)
	if _, err := st2.Key(1, HandshakeRatchet, DefaultMaxForwardDistance+1); !errors.Is(err, ErrGenerationTooFar) {
		t.Fatalf("default window: got %v, want ErrGenerationTooFar", err)
	}
	if st2.Limits().MaxForwardDistance != DefaultMaxForwardDistance || st2.Limits().MaxRetainedKeys != DefaultMaxRetainedKeys {
		t.Fatalf("default limits = %+v", st2.Limits())
	}
}

func TestSecretTreeRetentionBound(t *testing.T) {
	ref := referenceKeys(t, 2, 0, ApplicationRatchet, 16)
	st := newTestSecretTree(t, 2)
	st.SetLimits(SecretTreeLimits{MaxRetainedKeys: 3})
	consumeKey(t, st, 0, ApplicationRatchet, 10) // skips 0..9, keeps 7, 8, 9
	for _, g := range []uint32{0, 6} {
		if _, err := st.Key(0, ApplicationRatchet, g); !errors.Is(err, ErrGenerationTooOld) {
			t.Fatalf("generation %d: got %v, want ErrGenerationTooOld", g, err)
		}
	}
	sameKey(t, consumeKey(t, st, 0, ApplicationRatchet, 8), ref[8])
	consumeKey(t, st, 0, ApplicationRatchet, 13) // skips 11, 12: retained 7, 9, 11, 12 -> drop 7
	if _, err := st.Key(0, ApplicationRatchet, 7); !errors.Is(err, ErrGenerationTooOld) {
		t.Fatalf("generation 7 after eviction: got %v, want ErrGenerationTooOld", err)
	}
	for _, g := range []uint32{9, 11, 12} {
		sameKey(t, consumeKey(t, st, 0, ApplicationRatchet, g), ref[g])
	}
	if n := len(st.ratchets[ratchetKey(0, ApplicationRatchet)].skipped); n != 0 {
		t.Fatalf("%d skipped keys left after consuming all", n)
	}

	// A negative limit keeps no skipped keys at all.
	st = newTestSecretTree(t, 2)
	st.SetLimits(SecretTreeLimits{MaxRetainedKeys: -1})
	sameKey(t, consumeKey(t, st, 0, ApplicationRatchet, 5), ref[5])
	if _, err := st.Key(0, ApplicationRatchet, 4); !errors.Is(err, ErrGenerationTooOld) {
		t.Fatalf("no retention: got %v, want ErrGenerationTooOld", err)
	}
	sameKey(t, consumeKey(t, st, 0, ApplicationRatchet, 6), ref[6])
}

func TestSecretTreeFailedOpenDoesNotConsume(t *testing.T) {
	ref := referenceKeys(t, 16, 9, HandshakeRatchet, 8)
	st := newTestSecretTree(t, 16)
	nodesBefore := len(st.nodes)
	// First use of the leaf, out of order; the caller's AEAD open "fails",
	// so the PendingKey is dropped.
	p, err := st.Key(9, HandshakeRatchet, 5)
	if err != nil {
		t.Fatal(err)
	}
	sameKey(t, p.KeyNonce, ref[5])
	if len(st.nodes) != nodesBefore || len(st.ratchets) != 0 {
		t.Fatalf("Key changed the tree: %d nodes (was %d), %d ratchets", len(st.nodes), nodesBefore, len(st.ratchets))
	}
	// Asking again yields the same key; so does every other generation.
	sameKey(t, consumeKey(t, st, 9, HandshakeRatchet, 5), ref[5])
	// Once the ratchet exists, a failed open of a skipped key leaves it.
	if _, err := st.Key(9, HandshakeRatchet, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Key(9, HandshakeRatchet, 7); err != nil {
		t.Fatal(err)
	}
	for _, g := range []uint32{3, 7, 0} {
		sameKey(t, consumeKey(t, st, 9, HandshakeRatchet, g), ref[g])
	}
}

func TestSecretTreeStalePendingKey(t *testing.T) {
	st := newTestSecretTree(t, 8)
	a, err := st.Key(2, ApplicationRatchet, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.Key(3, ApplicationRatchet, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Consume(); err != nil {
		t.Fatal(err)
	}
	if err := b.Consume(); !errors.Is(err, ErrStaleKey) {
		t.Fatalf("consume after tree change: got %v, want ErrStaleKey", err)
	}
	// Re-deriving after the change gives the same key and works.
	b2, err := st.Key(3, ApplicationRatchet, 0)
	if err != nil {
		t.Fatal(err)
	}
	sameKey(t, b2.KeyNonce, b.KeyNonce)
	if err := b2.Consume(); err != nil {
		t.Fatal(err)
	}
}

func TestSecretTreeClone(t *testing.T) {
	st := newTestSecretTree(t, 4)
	consumeKey(t, st, 0, ApplicationRatchet, 2)
	c := st.Clone()
	k := consumeKey(t, c, 0, ApplicationRatchet, 1)
	consumeKey(t, c, 3, HandshakeRatchet, 0)
	// The original still has generation 1 and leaf 3 untouched.
	sameKey(t, consumeKey(t, st, 0, ApplicationRatchet, 1), k)
	if _, err := c.Key(0, ApplicationRatchet, 1); !errors.Is(err, ErrKeyUsed) {
		t.Fatalf("clone: got %v, want ErrKeyUsed", err)
	}
	consumeKey(t, st, 3, HandshakeRatchet, 0)
	// A PendingKey from the original cannot be consumed into a clone's state.
	p, err := st.Key(2, HandshakeRatchet, 0)
	if err != nil {
		t.Fatal(err)
	}
	c2 := st.Clone()
	if err := p.Consume(); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Key(2, HandshakeRatchet, 0); err != nil {
		t.Fatalf("clone taken before Consume lost the key: %v", err)
	}
}

// eagerLeafSecret derives a leaf's secret top-down with no laziness, as a
// reference for the lazy tree (RFC 9420, Section 9).
func eagerLeafSecret(cs *suite.Suite, root []byte, depth uint, leaf uint32) []byte {
	s := root
	for level := depth; level > 0; level-- {
		dir := contextLeft
		if leaf>>(level-1)&1 == 1 {
			dir = contextRight
		}
		s = cs.ExpandWithLabel(s, labelTree, []byte(dir), cs.Nh())
	}
	return s
}

func TestSecretTreeLazyDerivationAndDeletion(t *testing.T) {
	cs := suite.MustGet(1)
	const n = 1 << 16
	st := newTestSecretTree(t, n)
	leaves := []LeafIndex{12345, 0, n - 1, 12344, 40000}
	for i, leaf := range leaves {
		kn := consumeKey(t, st, leaf, ApplicationRatchet, 0)
		appSecret := cs.ExpandWithLabel(eagerLeafSecret(cs, testEncryptionSecret(cs), 16, uint32(leaf)), labelApplication, nil, cs.Nh())
		want := cs.DeriveTreeSecret(appSecret, labelKey, 0, cs.Nk())
		if !bytes.Equal(kn.Key, want) {
			t.Fatalf("leaf %d: lazy key %x, eager key %x", leaf, kn.Key, want)
		}
		if i == 0 {
			// Only the 16 siblings of the path are stored; the root and the
			// path itself are deleted (Section 9.2).
			if len(st.nodes) != 16 {
				t.Fatalf("after first leaf: %d stored node secrets, want 16", len(st.nodes))
			}
			if _, ok := st.nodes[nodeIndex(0, 16)]; ok {
				t.Fatal("root secret not deleted")
			}
			if _, ok := st.nodes[nodeIndex(uint32(leaf), 0)]; ok {
				t.Fatal("leaf secret not deleted")
			}
		}
	}
	// Leaves 12344 and 12345 are siblings: using both removes their parent's
	// children from storage entirely.
	if _, ok := st.nodes[nodeIndex(12344, 0)]; ok {
		t.Fatal("sibling leaf secret still stored after its use")
	}
	if len(st.ratchets) != 2*len(leaves) {
		t.Fatalf("%d ratchets, want %d", len(st.ratchets), 2*len(leaves))
	}
}

func TestSecretTreeLeafCounts(t *testing.T) {
	// A non-power-of-two count behaves as the enclosing full tree.
	ref := newTestSecretTree(t, 8)
	st := newTestSecretTree(t, 5)
	for leaf := LeafIndex(0); leaf < 5; leaf++ {
		sameKey(t, consumeKey(t, st, leaf, HandshakeRatchet, 0), consumeKey(t, ref, leaf, HandshakeRatchet, 0))
	}
	if _, err := st.Key(5, HandshakeRatchet, 0); !errors.Is(err, ErrLeafOutOfRange) {
		t.Fatalf("leaf 5 of 5: got %v, want ErrLeafOutOfRange", err)
	}
	if _, err := st.Key(0, RatchetType(0), 0); err == nil {
		t.Fatal("invalid ratchet type accepted")
	}
	cs := suite.MustGet(1)
	if _, err := newSecretTree(cs, testEncryptionSecret(cs), 0); err == nil {
		t.Fatal("zero leaves accepted")
	}
	// One leaf: the root is the leaf.
	one := newTestSecretTree(t, 1)
	kn := consumeKey(t, one, 0, ApplicationRatchet, 0)
	app := cs.ExpandWithLabel(testEncryptionSecret(cs), labelApplication, nil, cs.Nh())
	if want := cs.DeriveTreeSecret(app, labelKey, 0, cs.Nk()); !bytes.Equal(kn.Key, want) {
		t.Fatalf("one-leaf tree key %x, want %x", kn.Key, want)
	}
}

func TestSenderDataKeyNonceSample(t *testing.T) {
	for _, id := range suite.All {
		cs := suite.MustGet(id)
		sds := SenderDataSecret(bytes.Repeat([]byte{7}, cs.Nh()))
		long := bytes.Repeat([]byte{1, 2, 3}, cs.Nh())
		k1, n1 := sds.keyNonce(cs, long)
		k2, n2 := sds.keyNonce(cs, long[:cs.Nh()])
		if !bytes.Equal(k1, k2) || !bytes.Equal(n1, n2) {
			t.Fatalf("%v: sample is not the first KDF.Nh bytes", id)
		}
		if len(k1) != cs.Nk() || len(n1) != cs.Nn() {
			t.Fatalf("%v: key %d nonce %d bytes", id, len(k1), len(n1))
		}
		short := long[:5]
		k3, n3 := sds.keyNonce(cs, short)
		if !bytes.Equal(k3, cs.ExpandWithLabel(sds, "key", short, cs.Nk())) || !bytes.Equal(n3, cs.ExpandWithLabel(sds, "nonce", short, cs.Nn())) {
			t.Fatalf("%v: short ciphertext must be used whole", id)
		}
	}
}

func TestApplyReuseGuard(t *testing.T) {
	nonce := []byte{0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0}
	orig := bytes.Clone(nonce)
	got := applyReuseGuard(nonce, [4]byte{0xff, 0x0f, 0xf0, 0x01})
	want := []byte{0xef, 0x2f, 0xc0, 0x41, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %x, want %x", got, want)
	}
	if !bytes.Equal(nonce, orig) {
		t.Fatal("input nonce modified")
	}
	if back := applyReuseGuard(got, [4]byte{0xff, 0x0f, 0xf0, 0x01}); !bytes.Equal(back, orig) {
		t.Fatal("reuse guard is not an involution")
	}
}

func BenchmarkSecretTree(b *testing.B) {
	for _, n := range []uint32{2, 1024, 65536} {
		b.Run(fmt.Sprintf("op=first_key/cs=0x0001/n=%d", n), func(b *testing.B) {
			cs := suite.MustGet(1)
			b.ReportAllocs()
			for b.Loop() {
				st, _ := newSecretTree(cs, testEncryptionSecret(cs), n)
				p, err := st.Key(LeafIndex(n-1), ApplicationRatchet, 0)
				if err != nil {
					b.Fatal(err)
				}
				if err := p.Consume(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("op=next_key/cs=0x0001/n=1024", func(b *testing.B) {
		st := newTestSecretTree(b, 1024)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := st.NextKey(7, ApplicationRatchet); err != nil {
				b.Fatal(err)
			}
		}
	})
}
