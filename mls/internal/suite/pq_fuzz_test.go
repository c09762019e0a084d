package suite

import (
	"bytes"
	"errors"
	"testing"
)

// pqSuiteIDs are the post-quantum suites, indexed by the fuzzers' first
// argument.
func pqSuiteIDs() []ID {
	var out []ID
	for _, id := range All {
		if id.PostQuantum() {
			out = append(out, id)
		}
	}
	return out
}

// FuzzPQHPKE feeds arbitrary public keys, private keys, kem_outputs and
// ciphertexts to the post-quantum HPKE entry points: none panics, what is
// rejected is rejected with ErrInvalidKey or ErrDecrypt, and a random
// kem_output/ciphertext never decrypts under a real key.
func FuzzPQHPKE(f *testing.F) {
	ids := pqSuiteIDs()
	for i, id := range ids {
		s := MustGet(id)
		_, pub, _ := s.GenerateKeyPair(seeded(byte(i)))
		enc, ct, _ := s.EncryptWithLabel(seeded(byte(i+1)), pub, "L", nil, []byte("pt"))
		f.Add(uint8(i), pub, enc, ct)
		f.Add(uint8(i), pub[:len(pub)-1], enc[1:], ct[:1])
	}
	f.Fuzz(func(t *testing.T, which uint8, key, enc, ct []byte) {
		s := MustGet(ids[int(which)%len(ids)])
		priv, _, err := s.GenerateKeyPair(seeded(which ^ 0x80)) // not the seeds of the corpus keys
		if err != nil {
			t.Fatal(err)
		}
		vErr := s.ValidateHPKEPublicKey(key)
		if vErr != nil && !errors.Is(vErr, ErrInvalidKey) {
			t.Fatalf("ValidateHPKEPublicKey: %v, want nil or ErrInvalidKey", vErr)
		}
		_, _, eErr := s.EncryptWithLabel(bytes.NewReader(make([]byte, 64)), key, "L", nil, ct)
		if (vErr == nil) != (eErr == nil) {
			t.Fatalf("ValidateHPKEPublicKey %v but EncryptWithLabel %v", vErr, eErr)
		}
		if _, err := s.HPKEPublicKey(key); err != nil && !errors.Is(err, ErrInvalidKey) {
			t.Fatalf("HPKEPublicKey(fuzzed priv): %v", err)
		}
		if _, err := s.DecryptWithLabel(key, "L", nil, enc, ct); err != nil && !errors.Is(err, ErrInvalidKey) && !errors.Is(err, ErrDecrypt) {
			t.Fatalf("DecryptWithLabel(fuzzed priv): %v", err)
		}
		if _, err := s.DecryptWithLabel(priv, "L", nil, enc, ct); err == nil {
			t.Fatal("a fuzzed kem_output and ciphertext decrypted under a real key")
		} else if !errors.Is(err, ErrDecrypt) {
			t.Fatalf("DecryptWithLabel(fuzzed kem_output): %v, want ErrDecrypt", err)
		}
		if _, err := s.HPKEExportReceiver(priv, enc, nil, nil, 32); err != nil && !errors.Is(err, ErrDecrypt) {
			t.Fatalf("HPKEExportReceiver(fuzzed kem_output): %v", err)
		}
	})
}

// FuzzPQVerify feeds arbitrary public keys and signatures to
// VerifyWithLabel of the post-quantum suites (Ed25519 and ML-DSA-87): no
// panic, only ErrInvalidKey or ErrVerify, and nothing fuzzed verifies
// under a real key.
func FuzzPQVerify(f *testing.F) {
	ids := pqSuiteIDs()
	for i, id := range ids {
		s := MustGet(id)
		priv, pub, _ := s.GenerateSignatureKeyPair(seeded(byte(i)))
		sig, _ := s.SignWithLabel(priv, "L", []byte("m"))
		f.Add(uint8(i), pub, sig, []byte("m"))
		f.Add(uint8(i), pub[1:], sig[:len(sig)-1], []byte("n"))
	}
	f.Fuzz(func(t *testing.T, which uint8, key, sig, msg []byte) {
		s := MustGet(ids[int(which)%len(ids)])
		if err := s.VerifyWithLabel(key, "L", msg, sig); err != nil && !errors.Is(err, ErrInvalidKey) && !errors.Is(err, ErrVerify) {
			t.Fatalf("VerifyWithLabel(fuzzed key): %v", err)
		}
		_, pub, err := s.GenerateSignatureKeyPair(seeded(which ^ 0x80))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.VerifyWithLabel(pub, "L", msg, sig); !errors.Is(err, ErrVerify) {
			t.Fatalf("a fuzzed signature under a real key: %v, want ErrVerify", err)
		}
		if _, err := s.NewSigner(key); err != nil && !errors.Is(err, ErrInvalidKey) {
			t.Fatalf("NewSigner(fuzzed): %v", err)
		}
	})
}
