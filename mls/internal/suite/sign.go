package suite

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"fmt"
	"io"
	"strconv"

	"github.com/cloudflare/circl/sign/ed448"
	"github.com/cloudflare/circl/sign/mldsa/mldsa87"
	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/codec"
)

// Signature key formats (test-vectors.md, "Representation"; RFC 9420,
// Section 5.1.1): Ed25519/Ed448 private keys are the RFC 8032 seeds (32/57
// bytes) and public keys the RFC 8032 encodings; ECDSA private keys are the
// big-endian scalar (Field-Element-to-Octet-String, 32/48/66 bytes) and
// public keys the uncompressed SEC 1 point. ML-DSA-87 private keys are the
// 32-byte FIPS 204 seed xi, public keys the 2592-byte encoding (pq.go).

// ecdsaParams returns the curve, hash and scalar size of an ECDSA suite's
// signature scheme (RFC 9420, Section 5.1, 17.1: ecdsa_secp256r1_sha256,
// ecdsa_secp521r1_sha512, ecdsa_secp384r1_sha384); zero values otherwise.
func (s *Suite) ecdsaParams() (elliptic.Curve, crypto.Hash, int) {
	switch s.sig {
	case sigP256:
		return elliptic.P256(), crypto.SHA256, 32
	case sigP384:
		return elliptic.P384(), crypto.SHA384, 48
	case sigP521:
		return elliptic.P521(), crypto.SHA512, 66
	}
	return nil, 0, 0
}

// signContent encodes SignContent (RFC 9420, Section 5.1.2):
//
//	struct { opaque label<V> = "MLS 1.0 " + Label; opaque content<V>; } SignContent;
func signContent(label string, content []byte) []byte { return labeled(label, content) }

// labeled encodes the layout SignContent and EncryptContext share:
// struct { opaque label<V> = "MLS 1.0 " + Label; opaque data<V>; }.
func labeled(label string, data []byte) []byte {
	var b cryptobyte.Builder
	codec.AddVarint(&b, uint64(len(labelPrefix)+len(label)))
	b.AddBytes([]byte(labelPrefix))
	b.AddBytes([]byte(label))
	codec.AddOpaque(&b, data)
	return b.BytesOrPanic()
}

// signer is a parsed signature private key.
type signer struct {
	ed25519 ed25519.PrivateKey // suites 1, 3 (seed || public key)
	ecdsa   *ecdsa.PrivateKey  // suites 2, 5, 7
	ed448   ed448.PrivateKey   // suites 4, 6 (seed || public key)
	mldsa87 *mldsa87.PrivateKey
	pub     []byte
}

// Signer is a parsed signature private key of one suite: parsing (the
// scalar base multiplication of Ed25519/Ed448 NewKeyFromSeed, ECDSA
// ParseRawPrivateKey) is done once, and SignWithLabel reuses it.
//
// There is no process-wide cache of parsed private keys: a Signer lives
// as long as its owner (an mls.Group keeps the one of its own signature
// key) and is collected with it. Its formatted output is redacted.
type Signer struct {
	suite *Suite
	k     *signer
}

// NewSigner parses a signature private key (see the formats above). A
// malformed key returns an error wrapping ErrInvalidKey.
func (s *Suite) NewSigner(priv []byte) (*Signer, error) {
	k, err := s.parseSigner(priv)
	if err != nil {
		return nil, err
	}
	return &Signer{suite: s, k: k}, nil
}

// Suite returns the suite the key belongs to.
func (k *Signer) Suite() *Suite { return k.suite }

// PublicKey returns a copy of the signature public key.
func (k *Signer) PublicKey() []byte { return append([]byte(nil), k.k.pub...) }

// SignWithLabel is Suite.SignWithLabel with the parsed key.
func (k *Signer) SignWithLabel(label string, content []byte) ([]byte, error) {
	return k.suite.signWith(k.k, label, content)
}

// Format implements fmt.Formatter: every verb prints a redacted text.
func (k Signer) Format(f fmt.State, verb rune) { _, _ = io.WriteString(f, k.String()) }

// String returns a description without the private key.
func (k Signer) String() string {
	if k.suite == nil {
		return "suite.Signer{REDACTED}"
	}
	return "suite.Signer{REDACTED " + k.suite.id.String() + "}"
}

// GoString returns a description without the private key.
func (k Signer) GoString() string { return k.String() }

// MarshalJSON returns the redacted description as a JSON string.
func (k Signer) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(k.String())), nil }

// parseSigner parses priv.
func (s *Suite) parseSigner(priv []byte) (*signer, error) {
	switch s.sig {
	case sigEd25519:
		if len(priv) != ed25519.SeedSize {
			return nil, fmt.Errorf("%w: Ed25519 private key of %d bytes, want %d", ErrInvalidKey, len(priv), ed25519.SeedSize)
		}
		k := ed25519.NewKeyFromSeed(priv)
		return &signer{ed25519: k, pub: k[ed25519.SeedSize:]}, nil
	case sigEd448:
		if len(priv) != ed448.SeedSize {
			return nil, fmt.Errorf("%w: Ed448 private key of %d bytes, want %d", ErrInvalidKey, len(priv), ed448.SeedSize)
		}
		k := ed448.NewKeyFromSeed(priv)
		return &signer{ed448: k, pub: k[ed448.SeedSize:]}, nil
	case sigMLDSA87:
		if len(priv) != mldsa87.SeedSize {
			return nil, fmt.Errorf("%w: ML-DSA-87 private key of %d bytes, want the %d-byte seed", ErrInvalidKey, len(priv), mldsa87.SeedSize)
		}
		pk, sk := mldsa87.NewKeyFromSeed((*[mldsa87.SeedSize]byte)(priv))
		return &signer{mldsa87: sk, pub: pk.Bytes()}, nil
	default:
		curve, _, size := s.ecdsaParams()
		k, err := ecdsa.ParseRawPrivateKey(curve, leftPad(priv, size))
		if err != nil {
			return nil, fmt.Errorf("%w: ECDSA private key (%d bytes) for %v: %v", ErrInvalidKey, len(priv), s.id, err)
		}
		pub, err := k.PublicKey.Bytes()
		if err != nil {
			return nil, fmt.Errorf("%w: ECDSA private key: %v", ErrInvalidKey, err)
		}
		return &signer{ecdsa: k, pub: pub}, nil
	}
}

// GenerateSignatureKeyPair returns a fresh signature key pair derived from
// bytes read from rand (nil means crypto/rand), so a seeded reader
// reproduces the keys: an Ed25519/Ed448/ML-DSA-87 seed, or an ECDSA scalar drawn by
// rejection sampling (top bits masked to the order's bit length, values 0
// and >= n rejected).
func (s *Suite) GenerateSignatureKeyPair(rand io.Reader) (priv, pub []byte, err error) {
	priv, k, err := s.GenerateSigner(rand)
	if err != nil {
		return nil, nil, err
	}
	return priv, k.PublicKey(), nil
}

// GenerateSigner is GenerateSignatureKeyPair returning the parsed key (the
// same key for the same reader bytes).
func (s *Suite) GenerateSigner(rand io.Reader) (priv []byte, k *Signer, err error) {
	rand = randOrDefault(rand)
	switch s.sig {
	case sigEd25519, sigEd448, sigMLDSA87:
		n := map[sigKind]int{sigEd25519: ed25519.SeedSize, sigEd448: ed448.SeedSize, sigMLDSA87: mldsa87.SeedSize}[s.sig]
		priv = make([]byte, n)
		if _, err := io.ReadFull(rand, priv); err != nil {
			return nil, nil, fmt.Errorf("suite: reading randomness: %w", err)
		}
		p, err := s.parseSigner(priv)
		if err != nil {
			return nil, nil, err
		}
		return priv, &Signer{suite: s, k: p}, nil
	}
	curve, _, size := s.ecdsaParams()
	mask := byte(0xff)
	if bits := curve.Params().N.BitLen() % 8; bits != 0 {
		mask = byte(1)<<bits - 1
	}
	for range 1000 { // a try is rejected with probability < 2^-32 on all three curves
		priv = make([]byte, size)
		if _, err := io.ReadFull(rand, priv); err != nil {
			return nil, nil, fmt.Errorf("suite: reading randomness: %w", err)
		}
		priv[0] &= mask
		p, err := s.parseSigner(priv)
		if err != nil {
			continue // zero or >= group order
		}
		return priv, &Signer{suite: s, k: p}, nil
	}
	return nil, nil, fmt.Errorf("suite: no valid ECDSA scalar after 1000 tries (broken reader?)")
}

// SignaturePublicKey returns the public key of a signature private key.
func (s *Suite) SignaturePublicKey(priv []byte) ([]byte, error) {
	k, err := s.parseSigner(priv)
	if err != nil {
		return nil, err
	}
	// A copy: for EdDSA k.pub shares its array with the expanded private key.
	return append([]byte(nil), k.pub...), nil
}

// SignWithLabel implements SignWithLabel, RFC 9420 Section 5.1.2: a
// signature over SignContent{"MLS 1.0 " + label, content}. Signatures are
// deterministic: EdDSA by construction, ECDSA per RFC 6979 (crypto/ecdsa
// with a nil random source), DER encoded, ML-DSA-87 in its deterministic
// variant with an empty context string (FIPS 204, Section 5.2). A malformed private key returns an
// error wrapping ErrInvalidKey. priv is parsed on every call; a signer that
// signs repeatedly parses once with NewSigner.
func (s *Suite) SignWithLabel(priv []byte, label string, content []byte) ([]byte, error) {
	k, err := s.parseSigner(priv)
	if err != nil {
		return nil, err
	}
	return s.signWith(k, label, content)
}

func (s *Suite) signWith(k *signer, label string, content []byte) ([]byte, error) {
	msg := signContent(label, content)
	switch {
	case k.ed25519 != nil:
		return ed25519.Sign(k.ed25519, msg), nil
	case k.ed448 != nil:
		return ed448.Sign(k.ed448, msg, ""), nil
	case k.mldsa87 != nil:
		sig := make([]byte, mldsa87.SignatureSize)
		if err := mldsa87.SignTo(k.mldsa87, msg, nil, false, sig); err != nil {
			return nil, fmt.Errorf("suite: ML-DSA-87 sign: %w", err)
		}
		return sig, nil
	}
	_, h, _ := s.ecdsaParams()
	d := h.New()
	d.Write(msg)
	sig, err := k.ecdsa.Sign(nil, d.Sum(nil), h) // nil rand: RFC 6979
	if err != nil {
		return nil, fmt.Errorf("suite: ECDSA sign: %w", err)
	}
	return sig, nil
}

// VerifyWithLabel implements VerifyWithLabel, RFC 9420 Section 5.1.2. It
// returns nil for a valid signature, an error wrapping ErrVerify for an
// invalid one, and an error wrapping ErrInvalidKey when pub has the wrong
// length or (ECDSA) is not a valid uncompressed point. EdDSA public keys of
// the right length that do not decode to a curve point fail with ErrVerify.
func (s *Suite) VerifyWithLabel(pub []byte, label string, content, signature []byte) error {
	var ok bool
	switch s.sig {
	case sigEd25519:
		if len(pub) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: Ed25519 public key of %d bytes, want %d", ErrInvalidKey, len(pub), ed25519.PublicKeySize)
		}
		ok = len(signature) == ed25519.SignatureSize && ed25519.Verify(pub, signContent(label, content), signature)
	case sigEd448:
		if len(pub) != ed448.PublicKeySize {
			return fmt.Errorf("%w: Ed448 public key of %d bytes, want %d", ErrInvalidKey, len(pub), ed448.PublicKeySize)
		}
		ok = len(signature) == ed448.SignatureSize && ed448.Verify(pub, signContent(label, content), signature, "")
	case sigMLDSA87:
		if len(pub) != mldsa87.PublicKeySize {
			return fmt.Errorf("%w: ML-DSA-87 public key of %d bytes, want %d", ErrInvalidKey, len(pub), mldsa87.PublicKeySize)
		}
		// A signature of another length is rejected before the public key
		// is expanded (FIPS 204 Algorithm 3 step 1 and 7: the matrix A).
		if len(signature) != mldsa87.SignatureSize {
			return ErrVerify
		}
		var pk mldsa87.PublicKey
		pk.Unpack((*[mldsa87.PublicKeySize]byte)(pub))
		// Pure ML-DSA with the empty context string, as ts-mls
		// (@noble/post-quantum's default) signs.
		ok = mldsa87.Verify(&pk, signContent(label, content), nil, signature)
	default:
		curve, h, _ := s.ecdsaParams()
		pk, err := ecdsa.ParseUncompressedPublicKey(curve, pub)
		if err != nil {
			return fmt.Errorf("%w: ECDSA public key (%d bytes) for %v: %v", ErrInvalidKey, len(pub), s.id, err)
		}
		d := h.New()
		d.Write(signContent(label, content))
		ok = ecdsa.VerifyASN1(pk, d.Sum(nil), signature)
	}
	if !ok {
		return ErrVerify
	}
	return nil
}

// leftPad returns b left-padded with zero octets to size bytes. Some
// encoders (including the IETF vector generator for P-521) drop leading zero
// octets of a scalar; Field-Element-to-Octet-String is fixed-length, so the
// value is the same. Longer inputs are returned unchanged and rejected by the
// parser.
func leftPad(b []byte, size int) []byte {
	if len(b) >= size || len(b) == 0 {
		return b
	}
	out := make([]byte, size)
	copy(out[size-len(b):], b)
	return out
}

func (s *Suite) ecdsaCurve() bool { return s.sig == sigP256 || s.sig == sigP384 || s.sig == sigP521 }
