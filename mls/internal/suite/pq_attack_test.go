package suite

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/cloudflare/circl/sign/mldsa/mldsa87"
)

// TestValidateHPKEPublicKey: a key EncryptWithLabel can encrypt to passes;
// a key of the wrong length, off the curve, of low order (X25519/X448) or
// failing FIPS 203's modulus check (ML-KEM-1024, X-Wing's ML-KEM-768 part)
// is rejected with ErrInvalidKey, and EncryptWithLabel refuses the same
// keys (so a receiver that checks never accepts a key nobody can encrypt
// to).
func TestValidateHPKEPublicKey(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		_, pub, err := s.GenerateKeyPair(seeded(21))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.ValidateHPKEPublicKey(pub); err != nil {
			t.Fatalf("valid key: %v", err)
		}
		bad := map[string][]byte{
			"nil":   nil,
			"short": pub[:len(pub)-1],
			"long":  append(append([]byte(nil), pub...), 0),
		}
		switch {
		case s.hpke.kp.bitmask != 0:
			off := append([]byte(nil), pub...)
			off[len(off)-1] ^= 1
			bad["off-curve"] = off
		case s.hpke.kp.derive == deriveDHKEM:
			bad["all-zero (low order)"] = make([]byte, len(pub))
			one := make([]byte, len(pub))
			one[0] = 1 // u = 1: order 1 on Curve25519 and Curve448
			bad["u=1 (low order)"] = one
		default:
			// 12-bit coefficients of 0xfff >= q = 3329 (FIPS 203, Section 7.2).
			bad["ML-KEM coefficients >= q"] = bytes.Repeat([]byte{0xff}, len(pub))
			k := append([]byte(nil), pub...)
			k[0], k[1] = 0xff, 0x0f // the first coefficient only
			bad["one ML-KEM coefficient >= q"] = k
		}
		for name, k := range bad {
			if err := s.ValidateHPKEPublicKey(k); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("ValidateHPKEPublicKey(%s): %v, want ErrInvalidKey", name, err)
			}
			if _, _, err := s.EncryptWithLabel(seeded(1), k, "L", nil, nil); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("EncryptWithLabel(%s): %v, want ErrInvalidKey", name, err)
			}
		}
		if s.kem == kemXWing {
			// The X-Wing draft requires no check of the X25519 part: a
			// low-order one leaves the ML-KEM-768 half, and encapsulation
			// succeeds.
			k := append([]byte(nil), pub...)
			clear(k[len(k)-32:])
			if err := s.ValidateHPKEPublicKey(k); err != nil {
				t.Errorf("X-Wing key with a zero X25519 part: %v, want accepted", err)
			}
			if _, _, err := s.EncryptWithLabel(seeded(1), k, "L", nil, nil); err != nil {
				t.Errorf("EncryptWithLabel(zero X25519 part): %v", err)
			}
		}
	})
}

// TestPQWrongLengths feeds every post-quantum entry point inputs one byte
// short and long of, and far from, the sizes it takes: each returns an
// error (ErrInvalidKey, ErrDecrypt or ErrVerify), none panics.
func TestPQWrongLengths(t *testing.T) {
	for _, id := range pqSuiteIDs() {
		s := MustGet(id)
		m := newMaterial(t, s, 22)
		priv, pub, enc, ct, sigPriv, sigPub, sig := m.priv, m.pub, m.enc, m.ct, m.sigPriv, m.sigPub, m.sig
		variants := func(b []byte) map[string][]byte {
			return map[string][]byte{"empty": {}, "short": b[:len(b)-1], "long": append(append([]byte(nil), b...), 0),
				"double": append(append([]byte(nil), b...), b...), "one byte": b[:1]}
		}
		for name, k := range variants(priv) {
			if _, err := s.DecryptWithLabel(k, "L", nil, enc, ct); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("%v: DecryptWithLabel(%s priv): %v, want ErrInvalidKey", id, name, err)
			}
			if _, err := s.HPKEExportReceiver(k, enc, nil, nil, 32); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("%v: HPKEExportReceiver(%s priv): %v, want ErrInvalidKey", id, name, err)
			}
		}
		for name, e := range variants(enc) {
			if _, err := s.DecryptWithLabel(priv, "L", nil, e, ct); !errors.Is(err, ErrDecrypt) {
				t.Errorf("%v: DecryptWithLabel(%s kem_output): %v, want ErrDecrypt", id, name, err)
			}
			if _, err := s.HPKEExportReceiver(priv, e, nil, nil, 32); !errors.Is(err, ErrDecrypt) {
				t.Errorf("%v: HPKEExportReceiver(%s kem_output): %v, want ErrDecrypt", id, name, err)
			}
		}
		for name, k := range variants(pub) {
			if _, _, err := s.HPKEExportSender(seeded(1), k, nil, nil, 32); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("%v: HPKEExportSender(%s pub): %v, want ErrInvalidKey", id, name, err)
			}
		}
		for name, k := range variants(sigPub) {
			if err := s.VerifyWithLabel(k, "L", nil, sig); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("%v: VerifyWithLabel(%s pub): %v, want ErrInvalidKey", id, name, err)
			}
		}
		for name, g := range variants(sig) {
			if err := s.VerifyWithLabel(sigPub, "L", nil, g); !errors.Is(err, ErrVerify) {
				t.Errorf("%v: VerifyWithLabel(%s signature): %v, want ErrVerify", id, name, err)
			}
		}
		for name, k := range variants(sigPriv) {
			if _, err := s.NewSigner(k); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("%v: NewSigner(%s priv): %v, want ErrInvalidKey", id, name, err)
			}
		}
		// A flipped ML-KEM ciphertext decapsulates (implicit rejection,
		// FIPS 203 Algorithm 18) to a pseudorandom secret: the AEAD, not
		// the KEM, rejects it.
		bad := append([]byte(nil), enc...)
		bad[0] ^= 1
		if _, err := s.DecryptWithLabel(priv, "L", nil, bad, ct); !errors.Is(err, ErrDecrypt) {
			t.Errorf("%v: flipped kem_output: %v, want ErrDecrypt", id, err)
		}
	}
}

// TestPQEncapsulationSeed: the encapsulation reads exactly the KEM's seed
// (32 bytes for ML-KEM-1024, 64 for X-Wing) from the caller's reader and
// nothing else, so equal readers give equal kem_outputs and a reader one
// byte short fails with an error.
func TestPQEncapsulationSeed(t *testing.T) {
	for _, id := range []ID{MLS_256_MLKEM1024_AES256GCM_SHA512_Ed25519, MLS_256_XWING_AES256GCM_SHA512_Ed25519} {
		s := MustGet(id)
		_, pub, err := s.GenerateKeyPair(seeded(25))
		if err != nil {
			t.Fatal(err)
		}
		n := map[kemKind]int{kemMLKEM1024: 32, kemXWing: 64}[s.kem]
		seed := bytes.Repeat([]byte{7}, n)
		enc1, ct1, err := s.EncryptWithLabel(bytes.NewReader(seed), pub, "L", nil, []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		r := bytes.NewReader(append(append([]byte(nil), seed...), 9, 9, 9))
		enc2, ct2, err := s.EncryptWithLabel(r, pub, "L", nil, []byte("x"))
		if err != nil || !bytes.Equal(enc1, enc2) || !bytes.Equal(ct1, ct2) || r.Len() != 3 {
			t.Fatalf("%v: reader with trailing bytes: equal=%v/%v, %d bytes left, %v", id, bytes.Equal(enc1, enc2), bytes.Equal(ct1, ct2), r.Len(), err)
		}
		if _, _, err := s.EncryptWithLabel(bytes.NewReader(seed[:n-1]), pub, "L", nil, nil); err == nil {
			t.Fatalf("%v: %d-byte seed accepted", id, n-1)
		}
		seed[n-1] ^= 1 // every seed byte matters (the last is X25519's for X-Wing)
		if enc3, _, _ := s.EncryptWithLabel(bytes.NewReader(seed), pub, "L", nil, []byte("x")); bytes.Equal(enc3, enc1) {
			t.Fatalf("%v: the last seed byte does not change kem_output", id)
		}
	}
}

// TestPQSecretsNotPrintable: a parsed ML-DSA-87 signing key prints and
// marshals redacted, like the classical ones.
func TestPQSecretsNotPrintable(t *testing.T) {
	s := MustGet(MLS_256_XWING_AES256GCM_SHA512_MLDSA87)
	priv, k, err := s.GenerateSigner(seeded(26))
	if err != nil {
		t.Fatal(err)
	}
	_, sk := mldsa87.NewKeyFromSeed((*[mldsa87.SeedSize]byte)(priv))
	packed := sk.Bytes()
	for _, out := range []string{sprint("%v", k), sprint("%+v", k), sprint("%#v", k), sprint("%x", k), sprint("%s", *k)} {
		if !bytes.Contains([]byte(out), []byte("REDACTED")) || bytes.Contains([]byte(out), []byte(sprint("%x", priv[:8]))) ||
			bytes.Contains([]byte(out), []byte(sprint("%x", packed[:8]))) {
			t.Errorf("formatted Signer leaks or is not redacted: %.80q", out)
		}
	}
	j, err := k.MarshalJSON()
	if err != nil || !bytes.Contains(j, []byte("REDACTED")) {
		t.Errorf("MarshalJSON = %s, %v", j, err)
	}
}

func sprint(format string, a ...any) string { return fmt.Sprintf(format, a...) }

// TestLowOrderTable: every X25519/X448 u-coordinate of the lowOrder table
// (and, for X25519, with the ignored top bit set) is one that an
// encapsulation refuses (zero DH output, RFC 9180 Section 7.1.4), and
// ValidateHPKEPublicKey agrees with an encapsulation on neighbours of the
// table entries and on random keys.
func TestLowOrderTable(t *testing.T) {
	for _, id := range []ID{MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448} {
		s := MustGet(id)
		encapFails := func(k []byte) bool {
			_, _, err := s.EncryptWithLabel(seeded(1), k, "L", nil, nil)
			return err != nil
		}
		var keys [][]byte
		for _, u := range lowOrder[s.kem] {
			if !encapFails(u) {
				t.Errorf("%v: table entry %x encapsulates", id, u)
			}
			keys = append(keys, u)
			for _, d := range []int{0, 1, len(u) - 1} {
				k := append([]byte(nil), u...)
				k[d] ^= 0x02
				keys = append(keys, k)
			}
			if s.kem == kemX25519 {
				k := append([]byte(nil), u...)
				k[len(k)-1] |= 0x80
				if !encapFails(k) {
					t.Errorf("%v: %x (top bit set) encapsulates", id, k)
				}
				keys = append(keys, k)
			}
		}
		for i := range 20 {
			_, pub, _ := s.GenerateKeyPair(seeded(byte(40 + i)))
			keys = append(keys, pub)
		}
		for _, k := range keys {
			if got, want := s.ValidateHPKEPublicKey(k) != nil, encapFails(k); got != want {
				t.Errorf("%v: key %x: ValidateHPKEPublicKey rejects=%v, encapsulation fails=%v", id, k, got, want)
			}
		}
	}
}

// material is one key pair, ciphertext and signature of a suite.
type material struct{ priv, pub, enc, ct, sigPriv, sigPub, sig []byte }

// newMaterial draws material from seeds seed..seed+2: an HPKE key pair,
// EncryptWithLabel("L", "", "pt") to it, a signature key pair and
// SignWithLabel("L", "") with it.
func newMaterial(t *testing.T, s *Suite, seed byte) material {
	t.Helper()
	var m material
	var err error
	if m.priv, m.pub, err = s.GenerateKeyPair(seeded(seed)); err != nil {
		t.Fatal(err)
	}
	if m.enc, m.ct, err = s.EncryptWithLabel(seeded(seed+1), m.pub, "L", nil, []byte("pt")); err != nil {
		t.Fatal(err)
	}
	if m.sigPriv, m.sigPub, err = s.GenerateSignatureKeyPair(seeded(seed + 2)); err != nil {
		t.Fatal(err)
	}
	if m.sig, err = s.SignWithLabel(m.sigPriv, "L", nil); err != nil {
		t.Fatal(err)
	}
	return m
}
