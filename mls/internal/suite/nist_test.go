package suite

import (
	"bytes"
	"crypto/ecdh"
	"errors"
	"fmt"
	"io"
	"math/big"
	"testing"
)

// forEachNISTSuite runs f for the suites whose KEM is DHKEM over P-256,
// P-384 or P-521 (0x0002, 0x0007, 0x0005), with the reference DHKEM.
func forEachNISTSuite(t *testing.T, f func(t *testing.T, s *Suite, ref refDHKEM)) {
	for _, id := range nistSuites {
		t.Run(fmt.Sprintf("cs=0x%04x", uint16(id)), func(t *testing.T) {
			s := MustGet(id)
			ref, ok := newRefDHKEM(s)
			if !ok {
				t.Fatalf("%v: no reference DHKEM", id)
			}
			f(t, s, ref)
		})
	}
}

// TestDHKEMReference: the suite's HPKE (circl's DHKEM) agrees byte for
// byte with refDHKEM, RFC 9180 DHKEM written over crypto/ecdh. In
// particular EncryptWithLabel's kem_output is the public key of
// DeriveKeyPair(the first Nsk bytes read from rand), so a seeded reader
// reproduces it although crypto/ecdh key generation ignores caller
// randomness.
func TestDHKEMReference(t *testing.T) {
	forEachNISTSuite(t, func(t *testing.T, s *Suite, ref refDHKEM) {
		for i := range byte(4) {
			priv, pub, err := s.GenerateKeyPair(seeded(i))
			if err != nil {
				t.Fatal(err)
			}
			enc, ct, err := s.EncryptWithLabel(seeded(50+i), pub, "UpdatePathNode", []byte("ctx"), []byte("pt"))
			if err != nil {
				t.Fatal(err)
			}
			seed := make([]byte, ref.kp.nsk)
			if _, err := io.ReadFull(seeded(50+i), seed); err != nil {
				t.Fatal(err)
			}
			refEnc, refSS, err := ref.encap(seed, pub)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, refEnc) {
				t.Fatalf("kem_output %x, reference %x", enc, refEnc)
			}
			pk, _ := s.hpke.scheme.UnmarshalBinaryPublicKey(pub)
			if _, ss, err := s.hpke.scheme.EncapsulateDeterministically(pk, seed); err != nil || !bytes.Equal(ss, refSS) {
				t.Fatalf("circl shared secret %x (%v), reference %x", ss, err, refSS)
			}
			sk, _ := s.hpke.scheme.UnmarshalBinaryPrivateKey(priv)
			if ss, err := s.hpke.scheme.Decapsulate(sk, enc); err != nil || !bytes.Equal(ss, refSS) {
				t.Fatalf("circl Decapsulate %x (%v), reference %x", ss, err, refSS)
			}
			if ss, err := ref.decap(enc, priv); err != nil || !bytes.Equal(ss, refSS) {
				t.Fatalf("reference decap %x (%v), encap %x", ss, err, refSS)
			}
			if pt, err := s.DecryptWithLabel(priv, "UpdatePathNode", []byte("ctx"), enc, ct); err != nil || string(pt) != "pt" {
				t.Fatalf("DecryptWithLabel = %q, %v", pt, err)
			}

			// DeriveKeyPair on MLS's Nh-byte secrets (Nh != Nsk on P-521).
			ikm := bytes.Repeat([]byte{i}, s.Nh())
			dPriv, dPub, err := s.DeriveKeyPair(ikm)
			if err != nil {
				t.Fatal(err)
			}
			rk, err := ref.deriveKeyPair(ikm)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(dPriv, rk.Bytes()) || !bytes.Equal(dPub, rk.PublicKey().Bytes()) {
				t.Fatalf("DeriveKeyPair %x/%x, reference %x/%x", dPriv, dPub, rk.Bytes(), rk.PublicKey().Bytes())
			}
		}
	})
}

// malformedPoints returns encodings that are not a valid uncompressed SEC 1
// point of curve, given a valid one: wrong lengths, the identity, other
// prefixes, coordinates not reduced mod p, points off the curve.
func malformedPoints(curve ecdh.Curve, valid []byte) map[string][]byte {
	n := (len(valid) - 1) / 2
	x, y := valid[1:1+n], valid[1+n:]
	p := map[ecdh.Curve]string{
		ecdh.P256(): "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
		ecdh.P384(): "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff",
		ecdh.P521(): "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	}[curve]
	pInt, _ := new(big.Int).SetString(p, 16)
	pBytes := pInt.FillBytes(make([]byte, n))
	xPlusP := new(big.Int).Add(new(big.Int).SetBytes(x), pInt)
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	offCurve := cat(valid)
	offCurve[len(offCurve)-1] ^= 1
	m := map[string][]byte{
		"empty":                nil,
		"identity 0x00":        {0x00},
		"prefix only":          {0x04},
		"short":                valid[:len(valid)-1],
		"long":                 cat(valid, []byte{0}),
		"x only, prefix 0x04":  cat([]byte{0x04}, x),
		"compressed 0x02":      cat([]byte{0x02}, x),
		"compressed 0x03":      cat([]byte{0x03}, x),
		"hybrid 0x06":          cat([]byte{0x06}, x, y),
		"hybrid 0x07":          cat([]byte{0x07}, x, y),
		"prefix 0x00, full":    cat([]byte{0x00}, x, y),
		"(0, 0)":               make([]byte, len(valid)),
		"x = p":                cat([]byte{0x04}, pBytes, y),
		"all 0xff coordinates": cat([]byte{0x04}, bytes.Repeat([]byte{0xff}, 2*n)),
		"off curve":            offCurve,
	}
	m["(0, 0)"][0] = 0x04
	if b := xPlusP.Bytes(); len(b) <= n { // x + p still fits in n bytes (P-521)
		m["x + p"] = cat([]byte{0x04}, xPlusP.FillBytes(make([]byte, n)), y)
	}
	return m
}

// TestNISTMalformedPublicKeys: every malformed point, as an HPKE public
// key, a kem_output or a signature public key, is rejected with an error
// (ErrInvalidKey for keys, ErrDecrypt for kem_output), never a panic.
func TestNISTMalformedPublicKeys(t *testing.T) {
	forEachNISTSuite(t, func(t *testing.T, s *Suite, ref refDHKEM) {
		priv, pub, err := s.GenerateKeyPair(seeded(1))
		if err != nil {
			t.Fatal(err)
		}
		enc, ct, err := s.EncryptWithLabel(seeded(2), pub, "L", nil, []byte("pt"))
		if err != nil {
			t.Fatal(err)
		}
		sigPriv, sigPub, err := s.GenerateSignatureKeyPair(seeded(3))
		if err != nil {
			t.Fatal(err)
		}
		sig, err := s.SignWithLabel(sigPriv, "L", []byte("m"))
		if err != nil {
			t.Fatal(err)
		}
		seed := make([]byte, ref.kp.nsk)
		for name, bad := range malformedPoints(ref.curve, pub) {
			if _, _, err := s.EncryptWithLabel(seeded(4), bad, "L", nil, []byte("pt")); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("EncryptWithLabel(%s): %v, want ErrInvalidKey", name, err)
			}
			if _, _, err := s.HPKEExportSender(seeded(4), bad, nil, []byte("x"), s.Nh()); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("HPKEExportSender(%s): %v, want ErrInvalidKey", name, err)
			}
			if _, err := s.DecryptWithLabel(priv, "L", nil, bad, ct); !errors.Is(err, ErrDecrypt) {
				t.Errorf("DecryptWithLabel(kem_output %s): %v, want ErrDecrypt", name, err)
			}
			if _, err := s.HPKEExportReceiver(priv, bad, nil, []byte("x"), s.Nh()); !errors.Is(err, ErrDecrypt) {
				t.Errorf("HPKEExportReceiver(kem_output %s): %v, want ErrDecrypt", name, err)
			}
			if _, _, err := ref.encap(seed, bad); err == nil {
				t.Errorf("reference encap accepted %s", name)
			}
			if _, err := ref.decap(bad, priv); err == nil {
				t.Errorf("reference decap accepted %s", name)
			}
		}
		for name, bad := range malformedPoints(ref.curve, sigPub) {
			if err := s.VerifyWithLabel(bad, "L", []byte("m"), sig); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("VerifyWithLabel(%s): %v, want ErrInvalidKey", name, err)
			}
		}
		// The valid inputs still work (the cases above failed for the
		// malformation, not for a broken setup).
		if pt, err := s.DecryptWithLabel(priv, "L", nil, enc, ct); err != nil || string(pt) != "pt" {
			t.Fatalf("DecryptWithLabel = %q, %v", pt, err)
		}
		if err := s.VerifyWithLabel(sigPub, "L", []byte("m"), sig); err != nil {
			t.Fatal(err)
		}
	})
}
