package suite

import (
	"bytes"
	stdhpke "crypto/hpke"
	"errors"
	"testing"

	circlhpke "github.com/cloudflare/circl/hpke"
	"github.com/cloudflare/circl/sign/mldsa/mldsa87"
)

// TestPQSizes pins the encoded sizes of the post-quantum suites' keys,
// encapsulations and signatures (FIPS 203 Table 3, FIPS 204 Table 2,
// draft-connolly-cfrg-xwing-kem): the simulator's sim/size table uses them.
func TestPQSizes(t *testing.T) {
	for _, id := range pqSuiteIDs() {
		s := MustGet(id)
		m := newMaterial(t, s, 1)
		priv, pub, enc, sigPriv, sigPub, sig := m.priv, m.pub, m.enc, m.sigPriv, m.sigPub, m.sig
		want := map[kemKind][3]int{kemMLKEM1024: {64, 1568, 1568}, kemXWing: {32, 1216, 1120}}[s.kem]
		if len(priv) != want[0] || len(pub) != want[1] || len(enc) != want[2] {
			t.Errorf("%v: HPKE priv/pub/enc %d/%d/%d bytes, want %v", id, len(priv), len(pub), len(enc), want)
		}
		wantSig := map[sigKind][3]int{sigEd25519: {32, 32, 64}, sigMLDSA87: {32, 2592, 4627}}[s.sig]
		if len(sigPriv) != wantSig[0] || len(sigPub) != wantSig[1] || len(sig) != wantSig[2] {
			t.Errorf("%v: signature priv/pub/sig %d/%d/%d bytes, want %v", id, len(sigPriv), len(sigPub), len(sig), wantSig)
		}
		if s.Nh() != 64 || s.Nk() != 32 {
			t.Errorf("%v: Nh %d Nk %d, want 64, 32", id, s.Nh(), s.Nk())
		}
	}
}

// TestPQDeriveKeyPair checks DeriveKeyPair of the post-quantum KEMs against
// independent implementations: X-Wing against circl's hpke KEM (SHAKE256 of
// ikm to the 32-byte seed, for any ikm length) and the seed expansion of
// Go's crypto/hpke MLKEM768X25519; ML-KEM-1024 against crypto/hpke's key from the same
// 64-byte seed. ML-KEM rejects an ikm that is not 64 bytes.
func TestPQDeriveKeyPair(t *testing.T) {
	r := seeded(3)
	for _, id := range []ID{MLS_256_XWING_AES256GCM_SHA512_Ed25519, MLS_256_MLKEM1024_AES256GCM_SHA512_Ed25519} {
		s := MustGet(id)
		std, _ := stdKEM(s)
		for _, n := range []int{0, 1, 32, 64, 100} {
			ikm := make([]byte, n)
			r.Read(ikm)
			priv, pub, err := s.DeriveKeyPair(ikm)
			if s.kem == kemMLKEM1024 {
				if n != 64 {
					if !errors.Is(err, ErrInvalidKey) {
						t.Errorf("%v: DeriveKeyPair(%d bytes): %v, want ErrInvalidKey", id, n, err)
					}
					continue
				}
				if err != nil || !bytes.Equal(priv, ikm) {
					t.Fatalf("%v: DeriveKeyPair(seed) = %x, %v; want the seed as private key", id, priv, err)
				}
				sk, err := std.NewPrivateKey(priv)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(sk.PublicKey().Bytes(), pub) {
					t.Errorf("%v: crypto/hpke public key of the seed differs", id)
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			cpub, cpriv := circlhpke.KEM_XWING.Scheme().DeriveKeyPair(ikm)
			cpubB, _ := cpub.MarshalBinary()
			cprivB, _ := cpriv.MarshalBinary()
			if !bytes.Equal(cpubB, pub) || !bytes.Equal(cprivB, priv) {
				t.Errorf("ikm %d bytes: circl hpke derives another X-Wing key", n)
			}
			sk, err := std.NewPrivateKey(priv)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(sk.PublicKey().Bytes(), pub) {
				t.Errorf("ikm %d bytes: crypto/hpke MLKEM768X25519 expands the seed to another public key", n)
			}
			// crypto/hpke's own DeriveKeyPair for 0x647a (Go 1.26) does not
			// hash ikm the X-Wing draft's way: its keys differ from circl's
			// and ts-mls's. MLS interop needs the latter (node keys are
			// derived, RFC 9420 Section 4), so crypto/hpke's is not used.
			if skd, err := std.DeriveKeyPair(ikm); err == nil && bytes.Equal(skd.PublicKey().Bytes(), pub) {
				t.Logf("ikm %d bytes: crypto/hpke DeriveKeyPair now agrees with the X-Wing draft", n)
			}
		}
	}
}

// TestExportInteropStd checks HPKEExportSender/Receiver (external init,
// RFC 9420 Section 8.3) against crypto/hpke's exporter in both directions,
// for every suite crypto/hpke has the KEM of.
func TestExportInteropStd(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		kemStd, ok := stdKEM(s)
		if !ok {
			t.Skip("crypto/hpke has no X448 DHKEM")
		}
		kdf, aead := stdAlgs(s)
		priv, pub, err := s.GenerateKeyPair(seeded(4))
		if err != nil {
			t.Fatal(err)
		}
		sk, err := kemStd.NewPrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		const label = "MLS 1.0 external init secret"
		enc, secret, err := s.HPKEExportSender(seeded(5), pub, nil, []byte(label), s.Nh())
		if err != nil {
			t.Fatal(err)
		}
		rc, err := stdhpke.NewRecipient(enc, sk, kdf, aead, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := rc.Export(label, s.Nh()); !bytes.Equal(secret, want) {
			t.Fatalf("exported secret %x, crypto/hpke %x", secret, want)
		}
		enc2, snd, err := stdhpke.NewSender(sk.PublicKey(), kdf, aead, nil)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := snd.Export(label, s.Nh())
		if got, err := s.HPKEExportReceiver(priv, enc2, nil, []byte(label), s.Nh()); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("HPKEExportReceiver = %x, %v; crypto/hpke exported %x", got, err, want)
		}
	})
}

// TestMLDSAHedgedVerifies: ts-mls signs ML-DSA-87 hedged (random rnd);
// such signatures over SignContent verify here, and ours (deterministic)
// verify with circl's FIPS 204 Verify under the empty context.
func TestMLDSAHedgedVerifies(t *testing.T) {
	s := MustGet(MLS_256_XWING_AES256GCM_SHA512_MLDSA87)
	priv, pub, err := s.GenerateSignatureKeyPair(seeded(6))
	if err != nil {
		t.Fatal(err)
	}
	_, sk := mldsa87.NewKeyFromSeed((*[mldsa87.SeedSize]byte)(priv))
	hedged := make([]byte, mldsa87.SignatureSize)
	if err := mldsa87.SignTo(sk, signContent("LeafNodeTBS", []byte("x")), nil, true, hedged); err != nil {
		t.Fatal(err)
	}
	if err := s.VerifyWithLabel(pub, "LeafNodeTBS", []byte("x"), hedged); err != nil {
		t.Fatalf("hedged signature: %v", err)
	}
	ours, err := s.SignWithLabel(priv, "LeafNodeTBS", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if !mldsa87.Scheme().Verify(sk.Public().(*mldsa87.PublicKey), signContent("LeafNodeTBS", []byte("x")), ours, nil) {
		t.Fatal("circl's Verify rejects our signature")
	}
	if err := s.VerifyWithLabel(pub, "LeafNodeTBS", []byte("y"), ours); !errors.Is(err, ErrVerify) {
		t.Fatalf("other content: %v, want ErrVerify", err)
	}
	if err := s.VerifyWithLabel(pub, "LeafNodeTBS", []byte("x"), ours[:len(ours)-1]); !errors.Is(err, ErrVerify) {
		t.Fatalf("short signature: %v, want ErrVerify", err)
	}
}
