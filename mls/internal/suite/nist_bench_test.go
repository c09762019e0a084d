package suite

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"fmt"
	"syscall"
	"testing"
)

// Benchmarks for the NIST-curve suites 0x0002 (P-256), 0x0007 (P-384) and
// 0x0005 (P-521), issue 17 item 6. Read with `benchstat -col /impl`:
//
//   - BenchmarkNISTKEM: circl's DHKEM (what EncryptWithLabel and
//     DecryptWithLabel use) against refDHKEM, RFC 9180 DHKEM written
//     directly over crypto/ecdh. Both start from serialized keys.
//   - BenchmarkNISTFloor: each suite operation (impl=api) against its
//     standard-library floor (impl=floor), the crypto/ecdh and crypto/ecdsa
//     calls it cannot avoid: Encrypt/Decrypt one scalar base multiplication
//     (the ephemeral key, or the receiver's public key for kem_context)
//     plus one ECDH; DeriveKeyPair one base multiplication; SignWithLabel
//     one RFC 6979 ECDSA signature with a parsed key; VerifyWithLabel a
//     public key parse and one ECDSA verification.
//
// Besides sec/op (wall clock) each reports cpu-ns/op, the process CPU time
// per operation, which other jobs on a shared machine disturb less.

var nistSuites = []ID{MLS_128_DHKEMP256_AES128GCM_SHA256_P256, MLS_256_DHKEMP384_AES256GCM_SHA384_P384, MLS_256_DHKEMP521_AES256GCM_SHA512_P521}

func BenchmarkNISTKEM(b *testing.B) {
	for _, id := range nistSuites {
		s := MustGet(id)
		ref, _ := newRefDHKEM(s)
		priv, pub, err := s.GenerateKeyPair(seeded(1))
		if err != nil {
			b.Fatal(err)
		}
		seed := make([]byte, s.hpke.scheme.EncapsulationSeedSize())
		enc, _, err := ref.encap(seed, pub)
		if err != nil {
			b.Fatal(err)
		}
		name := fmt.Sprintf("curve=%v", ref.curve)
		b.Run("op=encap/"+name+"/impl=circl", func(b *testing.B) {
			b.ReportAllocs()
			defer cpuTimer(b)()
			for b.Loop() {
				seed[0]++
				pk, err := s.hpke.scheme.UnmarshalBinaryPublicKey(pub)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := s.hpke.scheme.EncapsulateDeterministically(pk, seed); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("op=encap/"+name+"/impl=ecdh", func(b *testing.B) {
			b.ReportAllocs()
			defer cpuTimer(b)()
			for b.Loop() {
				seed[0]++
				if _, _, err := ref.encap(seed, pub); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("op=decap/"+name+"/impl=circl", func(b *testing.B) {
			b.ReportAllocs()
			defer cpuTimer(b)()
			for b.Loop() {
				sk, err := s.hpke.scheme.UnmarshalBinaryPrivateKey(priv)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.hpke.scheme.Decapsulate(sk, enc); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("op=decap/"+name+"/impl=ecdh", func(b *testing.B) {
			b.ReportAllocs()
			defer cpuTimer(b)()
			for b.Loop() {
				if _, err := ref.decap(enc, priv); err != nil {
					b.Fatal(err)
				}
			}
		})
		ikm := make([]byte, s.Nh())
		b.Run("op=derive/"+name+"/impl=circl", func(b *testing.B) {
			b.ReportAllocs()
			defer cpuTimer(b)()
			for b.Loop() {
				ikm[0]++
				if _, _, err := s.DeriveKeyPair(ikm); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("op=derive/"+name+"/impl=ecdh", func(b *testing.B) {
			b.ReportAllocs()
			defer cpuTimer(b)()
			for b.Loop() {
				ikm[0]++
				sk, err := ref.deriveKeyPair(ikm)
				if err != nil {
					b.Fatal(err)
				}
				sk.Bytes()
				sk.PublicKey().Bytes()
			}
		})
	}
}

func BenchmarkNISTFloor(b *testing.B) {
	for _, id := range nistSuites {
		s := MustGet(id)
		ref, _ := newRefDHKEM(s)
		curve, h, _ := s.ecdsaParams()
		cs := fmt.Sprintf("cs=0x%04x", uint16(id))
		priv, pub, err := s.GenerateKeyPair(seeded(1))
		if err != nil {
			b.Fatal(err)
		}
		enc, ct, err := s.EncryptWithLabel(seeded(2), pub, "UpdatePathNode", benchContext, benchPT)
		if err != nil {
			b.Fatal(err)
		}
		ephPriv, _, _ := s.GenerateKeyPair(seeded(3))
		sigPriv, sigPub, err := s.GenerateSignatureKeyPair(seeded(1))
		if err != nil {
			b.Fatal(err)
		}
		signer, err := s.NewSigner(sigPriv)
		if err != nil {
			b.Fatal(err)
		}
		sig, _ := signer.SignWithLabel("LeafNodeTBS", benchContent)
		d := h.New()
		d.Write(signContent("LeafNodeTBS", benchContent))
		digest := d.Sum(nil)
		ecdsaKey, _ := ecdsa.ParseRawPrivateKey(curve, sigPriv)
		ikm := make([]byte, s.Nh())

		run := func(op string, api, floor func() error) {
			for _, c := range []struct {
				impl string
				f    func() error
			}{{"api", api}, {"floor", floor}} {
				b.Run("op="+op+"/"+cs+"/impl="+c.impl, func(b *testing.B) {
					b.ReportAllocs()
					defer cpuTimer(b)()
					for b.Loop() {
						if err := c.f(); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
		// ecdhFloor: one base multiplication (NewPrivateKey) and one ECDH
		// with a parsed peer key.
		ecdhFloor := func(sk, peer []byte) error {
			k, err := ref.curve.NewPrivateKey(sk)
			if err != nil {
				return err
			}
			p, err := ref.curve.NewPublicKey(peer)
			if err != nil {
				return err
			}
			_, err = k.ECDH(p)
			return err
		}
		run("EncryptWithLabel", func() error {
			_, _, err := s.EncryptWithLabel(seeded(2), pub, "UpdatePathNode", benchContext, benchPT)
			return err
		}, func() error { return ecdhFloor(ephPriv, pub) })
		run("DecryptWithLabel", func() error {
			_, err := s.DecryptWithLabel(priv, "UpdatePathNode", benchContext, enc, ct)
			return err
		}, func() error { return ecdhFloor(priv, enc) })
		run("DeriveKeyPair", func() error {
			ikm[0]++
			_, _, err := s.DeriveKeyPair(ikm)
			return err
		}, func() error {
			_, err := ecdh.Curve.NewPrivateKey(ref.curve, priv)
			return err
		})
		run("SignWithLabel", func() error {
			_, err := signer.SignWithLabel("LeafNodeTBS", benchContent)
			return err
		}, func() error {
			_, err := ecdsaKey.Sign(nil, digest, h) // nil rand: RFC 6979
			return err
		})
		run("VerifyWithLabel", func() error {
			return s.VerifyWithLabel(sigPub, "LeafNodeTBS", benchContent, sig)
		}, func() error {
			pk, err := ecdsa.ParseUncompressedPublicKey(curve, sigPub)
			if err != nil {
				return err
			}
			if !ecdsa.VerifyASN1(pk, digest, sig) {
				return ErrVerify
			}
			return nil
		})
	}
}

// cpuTimer reports the process CPU time (user+sys, getrusage) per op as
// "cpu-ns/op"; call it just before the b.Loop loop and defer the result.
func cpuTimer(b *testing.B) (stop func()) {
	start := cpuNow()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(cpuNow()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

func cpuNow() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
