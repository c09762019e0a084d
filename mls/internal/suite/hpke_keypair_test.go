package suite

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// decryptBoth runs DecryptWithLabel and DecryptWithLabelKeyPair on the same
// input and fails unless they agree: same plaintext, or errors with the
// same text.
func decryptBoth(t *testing.T, s *Suite, priv, pub []byte, label string, context, enc, ct []byte) ([]byte, error) {
	t.Helper()
	want, wantErr := s.DecryptWithLabel(priv, label, context, enc, ct)
	got, gotErr := s.DecryptWithLabelKeyPair(priv, pub, label, context, enc, ct)
	if !bytes.Equal(got, want) || (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
		t.Fatalf("%v: DecryptWithLabelKeyPair = %x, %v; DecryptWithLabel = %x, %v", s.id, got, gotErr, want, wantErr)
	}
	return got, gotErr
}

// usesPub reports whether DecryptWithLabelKeyPair uses pub for s (X25519
// and X448); the other KEMs ignore it.
func usesPub(s *Suite) bool { return s.kem == kemX25519 || s.kem == kemX448 }

func TestDecryptWithLabelKeyPair(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		r := seeded(60)
		for i := range 16 {
			priv, pub, err := s.GenerateKeyPair(r)
			if err != nil {
				t.Fatal(err)
			}
			msg := make([]byte, i*7)
			ctx := make([]byte, i*3)
			_, _ = r.Read(msg)
			_, _ = r.Read(ctx)
			label := strings.Repeat("L", i)
			enc, ct, err := s.EncryptWithLabel(r, pub, label, ctx, msg)
			if err != nil {
				t.Fatal(err)
			}
			pt, err := decryptBoth(t, s, priv, pub, label, ctx, enc, ct)
			if err != nil || !bytes.Equal(pt, msg) {
				t.Fatalf("round trip %d: %x, %v", i, pt, err)
			}
			// Tampered kem_output, ciphertext, label: both reject alike.
			for j := range enc {
				if j%5 != 0 {
					continue
				}
				e := bytes.Clone(enc)
				e[j] ^= 1 << (j % 8)
				if _, err := decryptBoth(t, s, priv, pub, label, ctx, e, ct); !errors.Is(err, ErrDecrypt) {
					t.Fatalf("kem_output bit %d flipped: %v, want ErrDecrypt", j, err)
				}
			}
			c := bytes.Clone(ct)
			c[0] ^= 1
			if _, err := decryptBoth(t, s, priv, pub, label, ctx, enc, c); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("ciphertext flipped: %v", err)
			}
			if _, err := decryptBoth(t, s, priv, pub, label+"x", ctx, enc, ct); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("wrong label: %v", err)
			}
			// Malformed private keys and kem_outputs: the errors of
			// DecryptWithLabel.
			for _, k := range [][]byte{nil, priv[:len(priv)-1], append(bytes.Clone(priv), 0)} {
				if s.hpke.kp.bitmask != 0 && len(k) == len(priv)-1 {
					continue // NIST scalars are left-padded
				}
				if _, err := decryptBoth(t, s, k, pub, label, ctx, enc, ct); !errors.Is(err, ErrInvalidKey) {
					t.Fatalf("malformed priv (%d bytes): %v, want ErrInvalidKey", len(k), err)
				}
			}
			for _, e := range [][]byte{nil, enc[:len(enc)-1], append(bytes.Clone(enc), 0)} {
				if _, err := decryptBoth(t, s, priv, pub, label, ctx, e, ct); !errors.Is(err, ErrDecrypt) {
					t.Fatalf("malformed kem_output (%d bytes): %v, want ErrDecrypt", len(e), err)
				}
			}

			// Another public key: X25519 and X448 use it and fail; the
			// other KEMs ignore it.
			_, other, err := s.GenerateKeyPair(r)
			if err != nil {
				t.Fatal(err)
			}
			flipped := bytes.Clone(pub)
			flipped[len(flipped)/2] ^= 0x10
			for name, p := range map[string][]byte{"another key": other, "bit flip": flipped} {
				pt, err := s.DecryptWithLabelKeyPair(priv, p, label, ctx, enc, ct)
				switch {
				case usesPub(s) && !errors.Is(err, ErrDecrypt):
					t.Fatalf("wrong pub (%s): %x, %v; want ErrDecrypt", name, pt, err)
				case !usesPub(s) && (err != nil || !bytes.Equal(pt, msg)):
					t.Fatalf("pub (%s) ignored by %v: %x, %v", name, s.id, pt, err)
				}
			}
			for _, p := range [][]byte{nil, pub[:len(pub)-1], append(bytes.Clone(pub), 0)} {
				pt, err := s.DecryptWithLabelKeyPair(priv, p, label, ctx, enc, ct)
				switch {
				case usesPub(s) && !errors.Is(err, ErrInvalidKey):
					t.Fatalf("pub of %d bytes: %x, %v; want ErrInvalidKey", len(p), pt, err)
				case !usesPub(s) && err != nil:
					t.Fatalf("pub of %d bytes ignored by %v: %v", len(p), s.id, err)
				}
			}
		}
	})
}

// TestDecryptWithLabelKeyPairLowOrder: a kem_output of low order (DH
// output all zero, RFC 9180, Section 7.1.4) is rejected with ErrDecrypt,
// as DecryptWithLabel rejects it.
func TestDecryptWithLabelKeyPairLowOrder(t *testing.T) {
	for _, id := range []ID{MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448} {
		s := MustGet(id)
		priv, pub, err := s.GenerateKeyPair(seeded(61))
		if err != nil {
			t.Fatal(err)
		}
		ct := make([]byte, 48)
		for _, u := range lowOrder[s.kem] {
			encs := [][]byte{u}
			if s.kem == kemX25519 {
				top := bytes.Clone(u)
				top[len(top)-1] |= 0x80 // ignored by X25519 (RFC 7748, Section 5)
				encs = append(encs, top)
			}
			for _, enc := range encs {
				_, err := decryptBoth(t, s, priv, pub, "L", nil, enc, ct)
				if !errors.Is(err, ErrDecrypt) {
					t.Errorf("%v: low-order kem_output %x: %v, want ErrDecrypt", id, enc, err)
				}
			}
		}
	}
}

// TestDecapKeyPairRFC9180 checks decapKeyPair (and decap) against the
// base-mode DHKEM vectors of RFC 9180 (the copy in circl's module):
// shared_secret from skRm, pkRm and enc.
func TestDecapKeyPairRFC9180(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/cloudflare/circl").Output()
	if err != nil {
		t.Skipf("locating circl: %v", err)
	}
	f, err := os.Open(filepath.Join(strings.TrimSpace(string(out)), "hpke", "testdata", "vectors_rfc9180_5f503c5.json.gz"))
	if err != nil {
		t.Skipf("RFC 9180 vectors: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var vectors []struct {
		Mode         int    `json:"mode"`
		KEMID        uint16 `json:"kem_id"`
		SkRm         string `json:"skRm"`
		PkRm         string `json:"pkRm"`
		Enc          string `json:"enc"`
		SharedSecret string `json:"shared_secret"`
	}
	if err := json.NewDecoder(zr).Decode(&vectors); err != nil {
		t.Fatal(err)
	}
	byKEM := map[uint16]*Suite{}
	for _, id := range All {
		s := MustGet(id)
		byKEM[uint16(s.hpke.kp.id)] = s
	}
	n := map[uint16]int{}
	for _, v := range vectors {
		s := byKEM[v.KEMID]
		if v.Mode != 0 || s == nil || s.hpke.kp.derive != deriveDHKEM {
			continue
		}
		h := func(x string) []byte {
			b, err := hex.DecodeString(x)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		sk, pk, enc, want := h(v.SkRm), h(v.PkRm), h(v.Enc), h(v.SharedSecret)
		if got, err := s.decapKeyPair(sk, pk, enc); err != nil || !bytes.Equal(got, want) {
			t.Errorf("kem %#04x: decapKeyPair = %x, %v; want %x", v.KEMID, got, err, want)
		}
		if got, err := s.decap(sk, enc); err != nil || !bytes.Equal(got, want) {
			t.Errorf("kem %#04x: decap = %x, %v; want %x", v.KEMID, got, err, want)
		}
		n[v.KEMID]++
	}
	for _, k := range []uint16{0x0010, 0x0012, 0x0020, 0x0021} { // the file has no P-384 vectors
		if n[k] == 0 {
			t.Errorf("no base-mode vector for kem %#04x", k)
		}
	}
	t.Logf("base-mode vectors per KEM: %v", n)
}

// FuzzDecryptWithLabelKeyPair compares DecryptWithLabelKeyPair with
// DecryptWithLabel on every suite: a real encryption of a fuzzed plaintext,
// fuzzed kem_output and ciphertext under a real key pair, and a fuzzed
// private key with its own public key. Both must return the same plaintext
// or the same error.
func FuzzDecryptWithLabelKeyPair(f *testing.F) {
	for i := range All {
		s := MustGet(All[i])
		_, pub, _ := s.GenerateKeyPair(seeded(byte(i)))
		enc, ct, _ := s.EncryptWithLabel(seeded(byte(i+1)), pub, "L", nil, []byte("pt"))
		f.Add(uint8(i), uint8(i), []byte("pt"), enc, ct)
		f.Add(uint8(i), uint8(i+1), []byte{}, make([]byte, len(enc)), ct[:1])
	}
	f.Fuzz(func(t *testing.T, which, seed uint8, pt, enc, ct []byte) {
		s := MustGet(All[int(which)%len(All)])
		priv, pub, err := s.GenerateKeyPair(seeded(seed))
		if err != nil {
			t.Fatal(err)
		}
		e, c, err := s.EncryptWithLabel(seeded(seed^0x55), pub, "L", ct, pt)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := decryptBoth(t, s, priv, pub, "L", ct, e, c); err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("round trip: %x, %v", got, err)
		}
		decryptBoth(t, s, priv, pub, "L", nil, enc, ct)
		decryptBoth(t, s, priv, pub, "L", nil, enc, c)
		// enc as a private key, with its own public key.
		if fpub, err := s.HPKEPublicKey(enc); err == nil && s.ValidateHPKEPublicKey(fpub) == nil {
			e, c, err := s.EncryptWithLabel(seeded(seed), fpub, "L", nil, pt)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := decryptBoth(t, s, enc, fpub, "L", nil, e, c); err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("fuzzed key pair round trip: %x, %v", got, err)
			}
		}
	})
}
