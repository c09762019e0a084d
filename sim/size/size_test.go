package size

import (
	"math/rand/v2"
	"testing"

	"github.com/mlslab/mlslab/mls/core"
)

func TestVarint(t *testing.T) {
	for _, c := range []struct{ n, want int }{{0, 1}, {63, 1}, {64, 2}, {16383, 2}, {16384, 4}, {1<<30 - 1, 4}} {
		if got := Varint(c.n); got != c.want {
			t.Errorf("Varint(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

// Hand-derived sizes for suite 1 (X25519, AES-128-GCM, SHA-256, Ed25519)
// and the default profile (16-byte identity, one version/suite/credential).
func TestSuite1Sizes(t *testing.T) {
	s, _ := SuiteByID(1)
	p := DefaultProfile()
	// LeafNode(update): enc key 1+32, sig key 1+32, credential 2+1+16,
	// capabilities (1+2)+(1+2)+1+1+(1+2), source 1, extensions 1,
	// signature 2+64 (64 needs a 2-byte varint).
	if got, want := LeafNode(s, p, SourceUpdate), 33+33+19+11+1+1+66; got != want {
		t.Errorf("LeafNode(update) = %d, want %d", got, want)
	}
	if got, want := LeafNode(s, p, SourceKeyPackage), 164+16; got != want {
		t.Errorf("LeafNode(key_package) = %d, want %d", got, want)
	}
	if got, want := LeafNode(s, p, SourceCommit), 164+33; got != want {
		t.Errorf("LeafNode(commit) = %d, want %d", got, want)
	}
	// HPKECiphertext of a 32-byte path secret: (1+32) + (1+48).
	if got := PathSecretCiphertext(s); got != 82 {
		t.Errorf("PathSecretCiphertext = %d, want 82", got)
	}
	// KeyPackage: 2+2 + init key 33 + leaf 180 + ext 1 + sig 66.
	if got := KeyPackage(s, p); got != 284 {
		t.Errorf("KeyPackage = %d, want 284", got)
	}
	// UpdatePath with one node of 3 ciphertexts: leaf(commit) 197 +
	// nodes<V>: node = 33 + opaque(246) = 33+2+246 = 281 -> 2+281.
	if got := UpdatePath(s, p, []int{3}); got != 197+2+281 {
		t.Errorf("UpdatePath = %d, want %d", got, 197+2+281)
	}
	// Empty commit without path: proposals<V> empty (1) + optional (1).
	if got := Commit(0, 0); got != 2 {
		t.Errorf("Commit(empty) = %d", got)
	}
	// PublicMessage application of 10 bytes would not be used, but check
	// the framing: 4 + (17+8+5+1+1+11) + sig 66 + membership tag 33.
	if got := PublicMessage(s, p, ProposalMsg, 10); got != 4+17+8+5+1+1+10+66+33 {
		t.Errorf("PublicMessage = %d", got)
	}
	// PrivateMessage app 100 bytes: 4 + 17 + 8 + 1 + 1 + (1+28) +
	// ciphertext: content (2+100, 100 needs a 2-byte varint) + sig 66 =
	// 168, +16 tag = 184 -> 2+184.
	if got := PrivateMessage(s, p, Application, ApplicationData(100)); got != 4+17+8+1+1+29+186 {
		t.Errorf("PrivateMessage = %d, want %d", got, 4+17+8+1+1+29+186)
	}
}

// TestAllSuites: every suite package mls implements has sizes, and no
// other code point has.
func TestAllSuites(t *testing.T) {
	for _, cs := range core.CipherSuites() {
		id := uint16(cs)
		s, ok := SuiteByID(id)
		if !ok || s.ID != id || s.Nh == 0 || s.Npk == 0 || s.Nenc == 0 || s.Nsig == 0 {
			t.Fatalf("suite 0x%04x: %+v", id, s)
		}
	}
	if len(suites) != len(core.CipherSuites()) {
		t.Fatalf("%d suites sized, mls/core implements %d", len(suites), len(core.CipherSuites()))
	}
	for _, id := range []uint16{0, 8, 0x4d, 0x50, 0x59} {
		if _, ok := SuiteByID(id); ok {
			t.Fatalf("suite 0x%04x exists", id)
		}
	}
}

// TestPQSizesMatchRealKeyPackages: the KEM and signature sizes of the
// post-quantum suites are those of real encodings: a real KeyPackage and
// an EncryptWithLabel output of package mls/core.
func TestPQSizesMatchRealKeyPackages(t *testing.T) {
	for _, cs := range core.CipherSuites() {
		s, _ := SuiteByID(uint16(cs))
		var seed [32]byte
		seed[0] = byte(cs)
		kp, err := core.NewKeyPackage(&core.Config{Rand: rand.NewChaCha8(seed)}, cs, core.NewBasicCredential(make([]byte, 16)), nil)
		if err != nil {
			t.Fatal(err)
		}
		k := kp.KeyPackage
		if len(k.InitKey) != s.Npk || len(k.LeafNode.EncryptionKey) != s.Npk || len(k.LeafNode.SignatureKey) != s.NsigPub {
			t.Errorf("0x%04x: init/encryption/signature key %d/%d/%d bytes, table %d/%d", uint16(cs), len(k.InitKey), len(k.LeafNode.EncryptionKey), len(k.LeafNode.SignatureKey), s.Npk, s.NsigPub)
		}
		if s.ExactSig && (len(k.Signature) != s.Nsig || len(k.LeafNode.Signature) != s.Nsig) {
			t.Errorf("0x%04x: signatures %d/%d bytes, table %d", uint16(cs), len(k.Signature), len(k.LeafNode.Signature), s.Nsig)
		}
		// A Welcome to a second member: its EncryptedGroupSecrets.
		cfg := &core.Config{Rand: rand.NewChaCha8(seed)}
		g, err := core.CreateGroup(cfg, []byte("g"), kp, nil)
		if err != nil {
			t.Fatal(err)
		}
		seed[1] = 1
		kp2, err := core.NewKeyPackage(&core.Config{Rand: rand.NewChaCha8(seed)}, cs, core.NewBasicCredential(make([]byte, 16)), nil)
		if err != nil {
			t.Fatal(err)
		}
		pc, err := g.Commit(core.CommitOptions{Proposals: []core.ProposalBody{&core.Add{KeyPackage: *kp2.KeyPackage}}})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(pc.Welcome.Welcome.Secrets[0].EncryptedGroupSecrets.KEMOutput); got != s.Nenc {
			t.Errorf("0x%04x: kem_output %d bytes, table Nenc %d", uint16(cs), got, s.Nenc)
		}
	}
}

// TestFullTreeCommitCost: suite 0x0001, 16-byte group id and identity,
// PublicMessage: 369 + 117·depth bytes (issue 14's hand count; the
// derivation field by field is in notebooks/repro/cost-formula.md).
func TestFullTreeCommitCost(t *testing.T) {
	s, _ := SuiteByID(1)
	a, b, maxDepth := FullTreeCommitCost(s, DefaultProfile(), false)
	if a != 369 || b != 117 || maxDepth < 17 {
		t.Fatalf("a=%d b=%d exact to depth %d, want 369 + 117·depth to depth >= 17", a, b, maxDepth)
	}
	// b: encryption_key<V> (1+32) + encrypted_path_secret<V> (2 + kem_output<V> 1+32 + ciphertext<V> 1+32+16).
	if b != (1+32)+(2+(1+32)+(1+32+16)) {
		t.Fatalf("b=%d", b)
	}
}
