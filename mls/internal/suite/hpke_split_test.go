package suite

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"testing"
)

var splitGoldenPrint = flag.Bool("split-golden-print", false, "print the one-shot EncryptWithLabel digests instead of checking them")

// oneShotGolden are SHA-256 digests of oneShotTranscript per suite,
// computed with the one-shot EncryptWithLabel before it was split into
// Encap and SealWithSecret (main at commit 5b1a964, issue 17 item 3) by
// running
//
//	go test ./mls/internal/suite -run TestEncapSealWithSecret -v -split-golden-print
//
// and pasting the printed map.
var oneShotGolden = map[ID]string{
	0x0001: "8c9318c2ce0f16cb95a523766c0f485e7ab311146a5b602b95165c9fb6aeb3cf",
	0x0002: "4dae4d5e4512a608229b6c0c29a64597f768e3c73a5dc2afc05e251248bdea45",
	0x0003: "38b4e04981d168f424c9fd99a753b09dc076e65ee8aed5942fd85a68037595b0",
	0x0004: "d5360f7d4f6d8b3b11dcfdc16f2792f5aed64130c1a05ecc7671d1ae48e9d06e",
	0x0005: "1a77381095f8d002cb3c0673b8688ce32678c1c3411fde50cae2a2e15c50bb6b",
	0x0006: "d80510402e61e9722c2d47939ed76efe123b81e5a9de3356e019ae14bd936b88",
	0x0007: "ec87dc761655b674ba1c69f0118d47f4ac2c0a49a2a056e9d82bc1051396ee8a",
	0x004d: "c82508b9320014c7adb98dbeb6cbe5b77997d309a93d586202a436479575ae97",
	0x004e: "ed2ac66995b9a3f1bd62e4c6ba6b379813f97e7c40566ec60e4c8b6735c67f48",
	0x004f: "3f88f0ed976447729623c10af86d1f30b282ed26a01aa004f8d7ea4a6a9cb67c",
	0x0050: "01e536383ff9029da16cf16b71c101a1e294e20ea9f4ff94832931f81a4507f3",
	0x0051: "a8a35f096ae0f8611ae59e89eb49b9ba1b123de638c6cd87918e3360007d06ec",
	0x0052: "3efea9292f8e01e64b999dc742c0b1784c024d653c870cd617f4c314bafb1fe2",
	0x0053: "21307948858246d265eee22ee6931e99a387f08f87be96c0130791a1587dd46a",
	0x0054: "bf71b50a20c6a192026e3dc8ed0c83e5381834ae5efa0fa39f70598d8acb2e0e",
	0x0055: "a8a35f096ae0f8611ae59e89eb49b9ba1b123de638c6cd87918e3360007d06ec",
	0x0056: "3efea9292f8e01e64b999dc742c0b1784c024d653c870cd617f4c314bafb1fe2",
	0x0057: "21307948858246d265eee22ee6931e99a387f08f87be96c0130791a1587dd46a",
	0x0058: "bf71b50a20c6a192026e3dc8ed0c83e5381834ae5efa0fa39f70598d8acb2e0e",
}

// splitInputs are the label, context and plaintexts of the split tests.
var splitInputs = []struct {
	label   string
	context []byte
	pt      []byte
}{
	{"UpdatePathNode", []byte("provisional group context"), bytes.Repeat([]byte{0x5a}, 32)},
	{"UpdatePathNode", nil, []byte("path secret")},
	{"Welcome", bytes.Repeat([]byte{1, 2, 3}, 400), nil},
}

// oneShotTranscript encrypts every splitInputs entry with the one-shot
// EncryptWithLabel from one seeded reader and hashes the key pair and
// every kem_output and ciphertext.
func oneShotTranscript(t *testing.T, s *Suite) []byte {
	t.Helper()
	r := seeded(0x17)
	priv, pub, err := s.GenerateKeyPair(r)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	h.Write(priv)
	h.Write(pub)
	for _, in := range splitInputs {
		enc, ct, err := s.EncryptWithLabel(r, pub, in.label, in.context, in.pt)
		if err != nil {
			t.Fatal(err)
		}
		h.Write(enc)
		h.Write(ct)
	}
	return h.Sum(nil)
}

// TestEncapSealWithSecret checks, for every suite, that Encap followed by
// SealWithSecret reads the same randomness and produces the same bytes as
// the one-shot EncryptWithLabel (whose output is pinned by oneShotGolden),
// that DecryptWithLabel opens the result, and that SealWithSecret
// overwrites the shared secret.
func TestEncapSealWithSecret(t *testing.T) {
	got := map[ID]string{}
	forEachSuite(t, func(t *testing.T, s *Suite) {
		d := hex.EncodeToString(oneShotTranscript(t, s))
		got[s.ID()] = d
		if !*splitGoldenPrint {
			if want := oneShotGolden[s.ID()]; d != want {
				t.Errorf("one-shot EncryptWithLabel digest %s, golden %s", d, want)
			}
		}
		one, split := seeded(0x17), seeded(0x17)
		priv, pub, err := s.GenerateKeyPair(one)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.GenerateKeyPair(split); err != nil {
			t.Fatal(err)
		}
		for i, in := range splitInputs {
			enc1, ct1, err := s.EncryptWithLabel(one, pub, in.label, in.context, in.pt)
			if err != nil {
				t.Fatal(err)
			}
			enc2, ss, err := s.Encap(split, pub)
			if err != nil {
				t.Fatal(err)
			}
			if len(ss) == 0 {
				t.Fatal("empty shared secret")
			}
			ct2, err := s.NewLabeledSealer(in.label, in.context).SealWithSecret(ss, in.pt)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc1, enc2) || !bytes.Equal(ct1, ct2) {
				t.Fatalf("input %d: Encap+SealWithSecret differs from EncryptWithLabel", i)
			}
			if !bytes.Equal(ss, make([]byte, len(ss))) {
				t.Fatalf("input %d: SealWithSecret left the shared secret in place", i)
			}
			pt, err := s.DecryptWithLabel(priv, in.label, in.context, enc2, ct2)
			if err != nil {
				t.Fatalf("input %d: open: %v", i, err)
			}
			if !bytes.Equal(pt, in.pt) {
				t.Fatalf("input %d: opened %x, want %x", i, pt, in.pt)
			}
		}
		// Both readers are at the same position: the split draws the
		// same amount of randomness.
		var a, b [16]byte
		_, _ = io.ReadFull(one, a[:])
		_, _ = io.ReadFull(split, b[:])
		if a != b {
			t.Fatal("Encap read a different amount of randomness than EncryptWithLabel")
		}
	})
	if *splitGoldenPrint {
		for _, id := range All {
			fmt.Printf("\t0x%04x: %q,\n", uint16(id), got[id])
		}
	}
}

// TestEncapInvalidKey: Encap rejects what EncryptWithLabel rejects, with
// ErrInvalidKey.
func TestEncapInvalidKey(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		if _, _, err := s.Encap(seeded(1), []byte{1, 2, 3}); !errors.Is(err, ErrInvalidKey) {
			t.Fatalf("Encap of a 3-byte public key: %v, want ErrInvalidKey", err)
		}
	})
}
