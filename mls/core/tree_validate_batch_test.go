package core

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"math/big"
	"slices"
	"sync"
	"testing"

	"filippo.io/edwards25519"

	"github.com/mlslab/mlslab/mls/internal/ed25519batch"
	"github.com/mlslab/mlslab/mls/internal/suite"
)

// Batch verification of leaf signatures (RatchetTree.batchVerifiedLeaves,
// issue 17): trees of batchTestLeaves members, above ed25519batch.MinBatch,
// so checkLeaves takes the batch path; every error must be the one
// verifying one signature at a time gives.

const batchTestLeaves = 2 * ed25519batch.MinBatch

// withLeaves returns a copy of base with the given leaves replaced.
func withLeaves(t *testing.T, base *RatchetTree, leaves map[LeafIndex]LeafNode) *RatchetTree {
	t.Helper()
	e := base.edit()
	for l, ln := range leaves {
		ln := ln
		e.set(l.Node(), Node{Leaf: &ln})
	}
	nt, err := e.finish()
	if err != nil {
		t.Fatal(err)
	}
	return nt
}

// badSignature returns leaf l of base with one bit of its signature flipped.
func badSignature(base *RatchetTree, l LeafIndex) LeafNode {
	ln := *base.Leaf(l)
	ln.Signature = slices.Clone(ln.Signature)
	ln.Signature[40] ^= 1
	return ln
}

// sigError is the error the one-at-a-time verification reports for leaf l
// of tr: the rule, the node and VerifyWithLabel's own error.
func sigError(t *testing.T, tr *RatchetTree, l LeafIndex) string {
	t.Helper()
	ln := tr.Leaf(l)
	tbs, err := ln.TBS(fixtureGroupID, l)
	if err != nil {
		t.Fatal(err)
	}
	verr := tr.cs.VerifyWithLabel(ln.SignatureKey, "LeafNodeTBS", tbs, ln.Signature)
	if verr == nil {
		t.Fatalf("leaf %d signature is valid", l)
	}
	return nodeErr(CodeInvalidSignature, ruleLeafSignature, uint32(l.Node()), "", verr).Error()
}

// validateAll validates tr sequentially, with GOMAXPROCS workers and with
// 4 (two batches), and checks that all three give the same error.
func validateAll(t *testing.T, tr *RatchetTree, v TreeValidation) error {
	t.Helper()
	err := tr.validate(v, 1)
	for _, par := range []int{0, 4} {
		if e := tr.validate(v, par); (e == nil) != (err == nil) || (e != nil && e.Error() != err.Error()) {
			t.Fatalf("par=%d: %v; sequential: %v", par, e, err)
		}
	}
	return err
}

func TestBatchValidateErrors(t *testing.T) {
	for _, id := range []suite.ID{1, 3} {
		base := fullTree(t, id, batchTestLeaves)
		opts := TreeValidation{GroupID: fixtureGroupID}
		if v := base.batchVerifiedLeaves(fixtureGroupID, 1); v == nil || slices.Contains(v, false) {
			t.Fatalf("cs=%v: valid tree not batch verified", id)
		}
		if err := validateAll(t, base, opts); err != nil {
			t.Fatalf("cs=%v: %v", id, err)
		}
		// One bad signature: its node and VerifyWithLabel's error.
		one := withLeaves(t, base, map[LeafIndex]LeafNode{300: badSignature(base, 300)})
		before := mustEncodeTree(t, one)
		err := validateAll(t, one, opts)
		if after := mustEncodeTree(t, one); !bytes.Equal(before, after) {
			t.Fatalf("cs=%v: rejected tree changed by validation", id)
		}
		treeErr(t, err, ErrInvalidSignature, 600)
		if want := sigError(t, one, 300); err.Error() != want {
			t.Fatalf("cs=%v: %v, want %v", id, err, want)
		}
		if !errors.Is(err, suite.ErrVerify) {
			t.Fatalf("cs=%v: %v does not wrap suite.ErrVerify", id, err)
		}
		// Two bad signatures, in the two batches of par=4: the lowest.
		two := withLeaves(t, base, map[LeafIndex]LeafNode{400: badSignature(base, 400), 100: badSignature(base, 100)})
		if err, want := validateAll(t, two, opts), sigError(t, two, 100); err.Error() != want {
			t.Fatalf("cs=%v: %v, want %v", id, err, want)
		}
		// A signature key of the wrong length: VerifyWithLabel's
		// ErrInvalidKey, as before.
		short := *base.Leaf(77)
		short.SignatureKey = short.SignatureKey[:31]
		wrong := withLeaves(t, base, map[LeafIndex]LeafNode{77: short, 200: badSignature(base, 200)})
		err = validateAll(t, wrong, opts)
		if want := sigError(t, wrong, 77); err.Error() != want || !errors.Is(err, suite.ErrInvalidKey) {
			t.Fatalf("cs=%v: %v, want %v", id, err, want)
		}
		// Rule order is per leaf, leaves in order: an earlier leaf's
		// capability error before a later bad signature, an earlier bad
		// signature before a later capability error, and on one leaf the
		// capability error (its signature is broken by the change too).
		noCap := *base.Leaf(50)
		noCap.Capabilities.Credentials = []CredentialType{CredentialX509}
		treeErr(t, validateAll(t, withLeaves(t, base, map[LeafIndex]LeafNode{50: noCap, 100: badSignature(base, 100)}), opts), ErrInvalidLeafNode, 100)
		capLater := *base.Leaf(300)
		capLater.Capabilities.Credentials = []CredentialType{CredentialX509}
		mixed := withLeaves(t, base, map[LeafIndex]LeafNode{300: capLater, 50: badSignature(base, 50)})
		if err, want := validateAll(t, mixed, opts), sigError(t, mixed, 50); err.Error() != want {
			t.Fatalf("cs=%v: %v, want %v", id, err, want)
		}
		treeErr(t, validateAll(t, withLeaves(t, base, map[LeafIndex]LeafNode{50: noCap}), opts), ErrInvalidLeafNode, 100)
		// Wrong group: every update/commit signature fails, leaf 0 first.
		if err := validateAll(t, base, TreeValidation{GroupID: []byte("other group")}); true {
			treeErr(t, err, ErrInvalidSignature, 0)
		}
	}
}

// TestBatchValidateCheckLeafCalls: the policy hook sees only leaves whose
// signature verified, as with one-at-a-time verification: sequentially,
// exactly the leaves before the first bad one.
func TestBatchValidateCheckLeafCalls(t *testing.T) {
	base := fullTree(t, 1, batchTestLeaves)
	bad := withLeaves(t, base, map[LeafIndex]LeafNode{10: badSignature(base, 10), 20: badSignature(base, 20)})
	var mu sync.Mutex
	var seen []LeafIndex
	opts := TreeValidation{GroupID: fixtureGroupID, CheckLeaf: func(l LeafIndex, _ *LeafNode) error {
		mu.Lock()
		seen = append(seen, l)
		mu.Unlock()
		return nil
	}}
	treeErr(t, bad.validate(opts, 1), ErrInvalidSignature, 20)
	if want := []LeafIndex{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}; !slices.Equal(seen, want) {
		t.Fatalf("CheckLeaf called for %v, want %v", seen, want)
	}
	seen = nil
	treeErr(t, bad.validate(opts, 4), ErrInvalidSignature, 20)
	if slices.Contains(seen, 10) || slices.Contains(seen, 20) {
		t.Fatalf("CheckLeaf called for a leaf with a bad signature: %v", seen)
	}
}

// order8 is a point of order 8 (a generator of the torsion subgroup).
func order8(t *testing.T) *edwards25519.Point {
	t.Helper()
	enc, _ := hex.DecodeString("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
	p, err := new(edwards25519.Point).SetBytes(enc)
	if err != nil {
		t.Fatal(err)
	}
	q := new(edwards25519.Point).Set(p)
	for range 2 {
		q.Double(q)
	}
	id := edwards25519.NewIdentityPoint()
	if q.Equal(id) == 1 || q.Double(q).Equal(id) != 1 {
		t.Fatal("not a point of order 8")
	}
	return p
}

// signLeafRaw re-signs leaf l of base as Ed25519 with secret scalar a
// under the public key encoding pub, with the nonce r chosen so that the
// challenge k = SHA-512(R || pub || SignContent) mod L satisfies
// k mod 8 == kMod8 (RFC 8032, Section 5.1.6, with an arbitrary key).
func signLeafRaw(t *testing.T, base *RatchetTree, l LeafIndex, a *edwards25519.Scalar, pub []byte, kMod8 byte) LeafNode {
	t.Helper()
	ln := *base.Leaf(l)
	ln.SignatureKey = pub
	tbs, err := ln.TBS(fixtureGroupID, l)
	if err != nil {
		t.Fatal(err)
	}
	msg := suite.SignContent("LeafNodeTBS", tbs)
	for nonce := range 256 {
		rb := sha512.Sum512([]byte{byte(nonce), byte(l)})
		r, _ := edwards25519.NewScalar().SetUniformBytes(rb[:])
		R := new(edwards25519.Point).ScalarBaseMult(r).Bytes()
		h := sha512.New()
		h.Write(R)
		h.Write(pub)
		h.Write(msg)
		k, _ := edwards25519.NewScalar().SetUniformBytes(h.Sum(nil))
		if k.Bytes()[0]&7 != kMod8 {
			continue
		}
		S := edwards25519.NewScalar().MultiplyAdd(k, a, r)
		ln.Signature = append(R, S.Bytes()...)
		return ln
	}
	t.Fatal("no nonce found")
	return ln
}

// TestBatchValidateEd25519EdgeCases embeds signatures on which a plain
// batch equation and crypto/ed25519 disagree in a tree validated in batch:
// the tree's verdict must be crypto/ed25519's. Accepted cases are put at
// leaf 0, whose tree hash no parent hash covers, so the tree stays valid;
// rejected ones at leaf 333.
func TestBatchValidateEd25519EdgeCases(t *testing.T) {
	base := fullTree(t, 1, batchTestLeaves)
	T8 := order8(t)
	a, _ := edwards25519.NewScalar().SetUniformBytes(slices.Repeat([]byte{7}, 64))
	// A mixed-order key A = [a]B + T8: crypto/ed25519 (cofactorless)
	// accepts iff [k]T8 is the identity, that is k = 0 mod 8; k = 4 mod 8
	// leaves a torsion part of order 2 that a cofactored equation, or a
	// random combination over Z/8, misses.
	mixed := new(edwards25519.Point).ScalarBaseMult(a)
	mixed.Add(mixed, T8)
	// The identity as public key with signature (identity, S = 0) is
	// valid for every message: R' = [0]B - [k]O = O.
	identity := edwards25519.NewIdentityPoint().Bytes()
	zeroSig := append(slices.Clone(identity), make([]byte, 32)...)
	// S + L: the same signature with a non-canonical S.
	good := *base.Leaf(333)
	L, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	s := new(big.Int).SetBytes(reversed(good.Signature[32:]))
	nonCanonical := good
	nonCanonical.Signature = append(slices.Clone(good.Signature[:32]), reversed(new(big.Int).Add(s, L).FillBytes(make([]byte, 32)))...)
	identityLeaf := *base.Leaf(0)
	identityLeaf.SignatureKey, identityLeaf.Signature = identity, zeroSig

	for _, tc := range []struct {
		name   string
		leaf   LeafIndex
		ln     LeafNode
		accept bool
	}{
		{"mixed-order key, k=0 mod 8", 0, signLeafRaw(t, base, 0, a, mixed.Bytes(), 0), true},
		{"mixed-order key, k=4 mod 8", 333, signLeafRaw(t, base, 333, a, mixed.Bytes(), 4), false},
		{"mixed-order key, k=1 mod 8", 333, signLeafRaw(t, base, 333, a, mixed.Bytes(), 1), false},
		{"identity key, identity R, S=0", 0, identityLeaf, true},
		{"non-canonical S (S+L)", 333, nonCanonical, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := withLeaves(t, base, map[LeafIndex]LeafNode{tc.leaf: tc.ln})
			tbs, err := tc.ln.TBS(fixtureGroupID, tc.leaf)
			if err != nil {
				t.Fatal(err)
			}
			if got := ed25519.Verify(tc.ln.SignatureKey, suite.SignContent("LeafNodeTBS", tbs), tc.ln.Signature); got != tc.accept {
				t.Fatalf("crypto/ed25519.Verify = %v, the case expects %v", got, tc.accept)
			}
			for _, par := range []int{1, 4} {
				v := tr.batchVerifiedLeaves(fixtureGroupID, par)
				if v == nil || v[tc.leaf] != tc.accept {
					t.Fatalf("par=%d: batch verdict for leaf %d is not crypto/ed25519's %v", par, tc.leaf, tc.accept)
				}
			}
			err = validateAll(t, tr, TreeValidation{GroupID: fixtureGroupID})
			if tc.accept {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if want := sigError(t, tr, tc.leaf); err == nil || err.Error() != want {
				t.Fatalf("%v, want %v", err, want)
			}
		})
	}
}

// reversed returns a reversed copy of b (little- to big-endian and back).
func reversed(b []byte) []byte {
	out := slices.Clone(b)
	slices.Reverse(out)
	return out
}

// TestBatchValidateNewPublicGroup: a joiner's validation (the path of
// Join, ExternalJoin and NewPublicGroup, validateJoinedTree) of a tree
// large enough to batch accepts the valid tree and names the bad leaf
// with the same error as tree validation.
func TestBatchValidateNewPublicGroup(t *testing.T) {
	base := fullTree(t, 1, batchTestLeaves)
	for _, bad := range []LeafIndex{0, 300} {
		for _, tr := range []*RatchetTree{base, withLeaves(t, base, map[LeafIndex]LeafNode{bad: badSignature(base, bad)})} {
			g := benchGroups(t, tr, 1)[0]
			gi, err := g.GroupInfo(GroupInfoOptions{})
			if err != nil {
				t.Fatal(err)
			}
			enc, err := tr.MarshalRatchetTree()
			if err != nil {
				t.Fatal(err)
			}
			_, err = NewPublicGroup(nil, gi, enc)
			if tr == base {
				if err != nil {
					t.Fatal(err)
				}
				continue
			}
			if want := sigError(t, tr, bad); err == nil || err.Error() != want {
				t.Fatalf("%v, want %v", err, want)
			}
		}
	}
}
