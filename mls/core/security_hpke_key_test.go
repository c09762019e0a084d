package core

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

// unusableHPKEKey is a public key of the suite's length that no one can
// encrypt to: all-zero for X25519 (low order, RFC 9180 Section 7.1.4), all
// 0xff for ML-KEM and X-Wing (coefficients >= q, FIPS 203 Section 7.2).
func unusableHPKEKey(cs CipherSuite, n int) []byte {
	if suite.ID(cs).PostQuantum() {
		return bytes.Repeat([]byte{0xff}, n)
	}
	return make([]byte, n)
}

// TestSecurityUnusableHPKEKeyRejected: a KeyPackage (or an Update) whose
// encryption_key or init_key nobody can encrypt to is refused when it
// arrives. Before the check, the Add went through and every later commit
// whose copath resolution held the key failed (a member, or anyone whose
// KeyPackage was added, could stop the group from committing).
func TestSecurityUnusableHPKEKeyRejected(t *testing.T) {
	for _, cs := range []CipherSuite{1, 0x51, 0x53} {
		var seed [32]byte
		seed[0] = byte(cs)
		cfg := &Config{Rand: rand.NewChaCha8(seed)}
		kpA, err := NewKeyPackage(cfg, cs, NewBasicCredential([]byte("alice")), nil)
		if err != nil {
			t.Fatal(err)
		}
		g, err := CreateGroup(cfg, []byte("g"), kpA, nil)
		if err != nil {
			t.Fatal(err)
		}
		s := suite.MustGet(suite.ID(cs))
		for _, field := range []string{"encryption_key", "init_key"} {
			kpM, err := NewKeyPackage(cfg, cs, NewBasicCredential([]byte("mallory")), nil)
			if err != nil {
				t.Fatal(err)
			}
			k := kpM.KeyPackage
			signer, err := s.NewSigner(kpM.SignatureKey)
			if err != nil {
				t.Fatal(err)
			}
			if field == "encryption_key" {
				k.LeafNode.EncryptionKey = unusableHPKEKey(cs, len(k.LeafNode.EncryptionKey))
				if err := k.LeafNode.sign(signer, nil, 0); err != nil {
					t.Fatal(err)
				}
			} else {
				k.InitKey = unusableHPKEKey(cs, len(k.InitKey))
			}
			if err := k.sign(signer); err != nil {
				t.Fatal(err)
			}
			if err := k.VerifySignature(); err != nil {
				t.Fatal(err)
			}
			_, err = g.Commit(CommitOptions{Proposals: []ProposalBody{&Add{KeyPackage: *k}}})
			if !errors.Is(err, ErrInvalidKeyPackage) || !errors.Is(err, suite.ErrInvalidKey) {
				t.Errorf("cs 0x%04x: Add of a KeyPackage with an unusable %s: %v, want ErrInvalidKeyPackage wrapping suite.ErrInvalidKey", uint16(cs), field, err)
			}
		}
		// The group can still commit (nothing was merged).
		pc, err := g.Commit(CommitOptions{ForcePath: true})
		if err != nil {
			t.Fatalf("cs 0x%04x: %v", uint16(cs), err)
		}
		if err := g.Merge(pc); err != nil {
			t.Fatal(err)
		}
	}
}
