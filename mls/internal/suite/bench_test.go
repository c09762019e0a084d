package suite

import (
	"crypto/ecdh"
	"crypto/ed25519"
	stdhpke "crypto/hpke"
	"fmt"
	"syscall"
	"testing"

	"github.com/cloudflare/circl/dh/x25519"
	"github.com/cloudflare/circl/dh/x448"
	circlhpke "github.com/cloudflare/circl/hpke"
	circled25519 "github.com/cloudflare/circl/sign/ed25519"
)

// Per-suite benchmarks: the "crypto floor" of the operations MLS repeats
// (BenchmarkX/cs=0x0001). Inputs: a 32-byte path secret encrypted under an
// UpdatePathNode-like label and a 64-byte context; a 256-byte signed
// content (about a LeafNodeTBS).

func benchSuites(b *testing.B, f func(b *testing.B, s *Suite)) {
	for _, id := range All {
		b.Run(fmt.Sprintf("cs=0x%04x", uint16(id)), func(b *testing.B) {
			b.ReportAllocs()
			start := cpuNow()
			f(b, MustGet(id))
			if b.N > 0 {
				// Process CPU time (user+sys) per op: on a shared machine
				// it is less disturbed than ns/op by other processes
				// holding the cores (setup included, amortised over b.N).
				b.ReportMetric(float64(cpuNow()-start)/float64(b.N), "cpu-ns/op")
			}
		})
	}
}

func cpuNow() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

var (
	benchContext = make([]byte, 64)
	benchPT      = make([]byte, 32)
	benchContent = make([]byte, 256)
)

func BenchmarkEncryptWithLabel(b *testing.B) {
	benchSuites(b, func(b *testing.B, s *Suite) {
		_, pub, _ := s.GenerateKeyPair(seeded(1))
		r := seeded(2)
		for b.Loop() {
			if _, _, err := s.EncryptWithLabel(r, pub, "UpdatePathNode", benchContext, benchPT); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecryptWithLabel(b *testing.B) {
	benchSuites(b, func(b *testing.B, s *Suite) {
		priv, pub, _ := s.GenerateKeyPair(seeded(1))
		enc, ct, _ := s.EncryptWithLabel(seeded(2), pub, "UpdatePathNode", benchContext, benchPT)
		for b.Loop() {
			if _, err := s.DecryptWithLabel(priv, "UpdatePathNode", benchContext, enc, ct); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDeriveKeyPair(b *testing.B) {
	benchSuites(b, func(b *testing.B, s *Suite) {
		ikm := make([]byte, s.Nh()) // MLS derives node keys from Nh-byte secrets
		for b.Loop() {
			ikm[0]++
			if _, _, err := s.DeriveKeyPair(ikm); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSignWithLabel measures signing from the serialized private key
// (parsed on every call); BenchmarkSignerSign signs with a parsed Signer
// (the steady state of a member, whose Group keeps its Signer);
// BenchmarkSignatureKeyParse is the parsing cost alone.
func BenchmarkSignWithLabel(b *testing.B) {
	benchSuites(b, func(b *testing.B, s *Suite) {
		priv, _, _ := s.GenerateSignatureKeyPair(seeded(1))
		for b.Loop() {
			if _, err := s.SignWithLabel(priv, "LeafNodeTBS", benchContent); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkSignerSign(b *testing.B) {
	benchSuites(b, func(b *testing.B, s *Suite) {
		priv, _, _ := s.GenerateSignatureKeyPair(seeded(1))
		k, err := s.NewSigner(priv)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := k.SignWithLabel("LeafNodeTBS", benchContent); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkSignatureKeyParse(b *testing.B) {
	benchSuites(b, func(b *testing.B, s *Suite) {
		priv, _, _ := s.GenerateSignatureKeyPair(seeded(1))
		for b.Loop() {
			if _, err := s.parseSigner(priv); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkVerifyWithLabel(b *testing.B) {
	benchSuites(b, func(b *testing.B, s *Suite) {
		priv, pub, _ := s.GenerateSignatureKeyPair(seeded(1))
		sig, _ := s.SignWithLabel(priv, "LeafNodeTBS", benchContent)
		for b.Loop() {
			if err := s.VerifyWithLabel(pub, "LeafNodeTBS", benchContent, sig); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPrimitive compares circl with the Go standard library where both
// implement a primitive; read with `benchstat -col /impl`. All HPKE
// operations start from serialized keys, as the suite API does.
func BenchmarkPrimitive(b *testing.B) {
	info := encryptContext("UpdatePathNode", benchContext)
	kems := []struct {
		name  string
		circl circlhpke.Suite
		std   stdhpke.KEM
		aead  stdhpke.AEAD
	}{
		{"x25519", circlhpke.NewSuite(circlhpke.KEM_X25519_HKDF_SHA256, circlhpke.KDF_HKDF_SHA256, circlhpke.AEAD_AES128GCM),
			stdhpke.DHKEM(ecdh.X25519()), stdhpke.AES128GCM()},
		{"p256", circlhpke.NewSuite(circlhpke.KEM_P256_HKDF_SHA256, circlhpke.KDF_HKDF_SHA256, circlhpke.AEAD_AES128GCM),
			stdhpke.DHKEM(ecdh.P256()), stdhpke.AES128GCM()},
	}
	for _, k := range kems {
		kemID, _, _ := k.circl.Params()
		scheme := kemID.Scheme()
		ikm := make([]byte, scheme.SeedSize())
		ikm[0] = 1
		cpub, cpriv := scheme.DeriveKeyPair(ikm)
		pubB, _ := cpub.MarshalBinary()
		privB, _ := cpriv.MarshalBinary()
		kdf := stdhpke.HKDFSHA256()

		b.Run("op=hpke-seal/kem="+k.name+"/impl=circl", func(b *testing.B) {
			b.ReportAllocs()
			r := seeded(3)
			for b.Loop() {
				pk, err := scheme.UnmarshalBinaryPublicKey(pubB)
				if err != nil {
					b.Fatal(err)
				}
				snd, _ := k.circl.NewSender(pk, info)
				_, sealer, err := snd.Setup(r)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := sealer.Seal(benchPT, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("op=hpke-seal/kem="+k.name+"/impl=std", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				pk, err := k.std.NewPublicKey(pubB)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := stdhpke.Seal(pk, kdf, k.aead, info, benchPT); err != nil {
					b.Fatal(err)
				}
			}
		})

		snd, _ := k.circl.NewSender(cpub, info)
		enc, sealer, _ := snd.Setup(seeded(4))
		ct, _ := sealer.Seal(benchPT, nil)
		b.Run("op=hpke-open/kem="+k.name+"/impl=circl", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sk, err := scheme.UnmarshalBinaryPrivateKey(privB)
				if err != nil {
					b.Fatal(err)
				}
				rcv, _ := k.circl.NewReceiver(sk, info)
				opener, err := rcv.Setup(enc)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := opener.Open(ct, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		encCT := append(append([]byte(nil), enc...), ct...)
		b.Run("op=hpke-open/kem="+k.name+"/impl=std", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sk, err := k.std.NewPrivateKey(privB)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := stdhpke.Open(sk, kdf, k.aead, info, encCT); err != nil {
					b.Fatal(err)
				}
			}
		})

		b.Run("op=hpke-derive/kem="+k.name+"/impl=circl", func(b *testing.B) {
			b.ReportAllocs()
			seed := append([]byte(nil), ikm...)
			for b.Loop() {
				seed[1]++
				pk, sk := scheme.DeriveKeyPair(seed)
				pk.MarshalBinary()
				sk.MarshalBinary()
			}
		})
		b.Run("op=hpke-derive/kem="+k.name+"/impl=std", func(b *testing.B) {
			b.ReportAllocs()
			seed := append([]byte(nil), ikm...)
			for b.Loop() {
				seed[1]++
				sk, err := k.std.DeriveKeyPair(seed)
				if err != nil {
					b.Fatal(err)
				}
				sk.PublicKey().Bytes()
				sk.Bytes()
			}
		})
	}

	seed := make([]byte, 32)
	seed[0] = 1
	msg := SignContent("LeafNodeTBS", benchContent)
	stdKey := ed25519.NewKeyFromSeed(seed)
	circlKey := circled25519.NewKeyFromSeed(seed)
	sig := ed25519.Sign(stdKey, msg)
	b.Run("op=ed25519-sign/impl=std", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ed25519.Sign(stdKey, msg)
		}
	})
	b.Run("op=ed25519-sign/impl=circl", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			circled25519.Sign(circlKey, msg)
		}
	})
	b.Run("op=ed25519-verify/impl=std", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !ed25519.Verify(stdKey.Public().(ed25519.PublicKey), msg, sig) {
				b.Fatal("verify")
			}
		}
	})
	b.Run("op=ed25519-verify/impl=circl", func(b *testing.B) {
		b.ReportAllocs()
		pub := circlKey.Public().(circled25519.PublicKey)
		for b.Loop() {
			if !circled25519.Verify(pub, msg, sig) {
				b.Fatal("verify")
			}
		}
	})
	b.Run("op=ed25519-keyfromseed/impl=std", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ed25519.NewKeyFromSeed(seed)
		}
	})
	b.Run("op=ed25519-keyfromseed/impl=circl", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			circled25519.NewKeyFromSeed(seed)
		}
	})

	var sk1, sk2, pk2 x25519.Key
	sk1[0], sk2[0] = 1, 2
	x25519.KeyGen(&pk2, &sk2)
	stdSK, _ := ecdh.X25519().NewPrivateKey(sk1[:])
	stdPK, _ := ecdh.X25519().NewPublicKey(pk2[:])
	b.Run("op=x25519-shared/impl=std", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := stdSK.ECDH(stdPK); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("op=x25519-shared/impl=circl", func(b *testing.B) {
		b.ReportAllocs()
		var ss x25519.Key
		for b.Loop() {
			if !x25519.Shared(&ss, &sk1, &pk2) {
				b.Fatal("shared")
			}
		}
	})
	b.Run("op=x25519-keygen/impl=std", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sk, err := ecdh.X25519().NewPrivateKey(sk1[:])
			if err != nil {
				b.Fatal(err)
			}
			sk.PublicKey().Bytes()
		}
	})
	b.Run("op=x25519-keygen/impl=circl", func(b *testing.B) {
		b.ReportAllocs()
		var pk x25519.Key
		for b.Loop() {
			x25519.KeyGen(&pk, &sk1)
		}
	})
}

// BenchmarkDecryptWithLabelKeyPair compares decryption that recomputes the
// recipient's public key (DecryptWithLabel) with decryption given the key
// pair (DecryptWithLabelKeyPair), for the X25519 and X448 suites, next to
// their floors: the variable-base DH that both perform (dh=shared) and the
// fixed-base public key computation that the second one skips (dh=keygen).
func BenchmarkDecryptWithLabelKeyPair(b *testing.B) {
	for _, id := range []ID{MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448} {
		s := MustGet(id)
		priv, pub, _ := s.GenerateKeyPair(seeded(1))
		enc, ct, _ := s.EncryptWithLabel(seeded(2), pub, "UpdatePathNode", benchContext, benchPT)
		prefix := fmt.Sprintf("cs=0x%04x/", uint16(id))
		b.Run(prefix+"op=DecryptWithLabel", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.DecryptWithLabel(priv, "UpdatePathNode", benchContext, enc, ct); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(prefix+"op=DecryptWithLabelKeyPair", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.DecryptWithLabelKeyPair(priv, pub, "UpdatePathNode", benchContext, enc, ct); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(prefix+"floor/dh=shared", func(b *testing.B) {
			for b.Loop() {
				if s.kem == kemX25519 {
					var out, sk, pk x25519.Key
					copy(sk[:], priv)
					copy(pk[:], enc)
					x25519.Shared(&out, &sk, &pk)
				} else {
					var out, sk, pk x448.Key
					copy(sk[:], priv)
					copy(pk[:], enc)
					x448.Shared(&out, &sk, &pk)
				}
			}
		})
		b.Run(prefix+"floor/dh=keygen", func(b *testing.B) {
			for b.Loop() {
				if s.kem == kemX25519 {
					var sk, pk x25519.Key
					copy(sk[:], priv)
					x25519.KeyGen(&pk, &sk)
				} else {
					var sk, pk x448.Key
					copy(sk[:], priv)
					x448.KeyGen(&pk, &sk)
				}
			}
		})
	}
}
