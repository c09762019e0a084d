// Package suite implements the seven cipher suites of RFC 9420 (Section 5.1,
// Section 17.1), the post-quantum suites of pq.go (ML-KEM-1024 and X-Wing
// KEMs, ML-DSA-87 signatures, code points of ts-mls 1.6.4), and the labeled
// operations built on them (Section 5.1.2, 5.1.3, 5.2, 8): RefHash,
// ExpandWithLabel, DeriveSecret, DeriveTreeSecret, SignWithLabel/
// VerifyWithLabel, EncryptWithLabel/DecryptWithLabel.
//
// The suite table (All, names, the algorithm table of newSuite) is the single
// source of the supported suites: package mls and the simulator list them
// from here.
package suite

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/codec"
)

// ID is a cipher suite codepoint (RFC 9420, Section 17.1).
type ID uint16

// The cipher suites of RFC 9420, Section 17.1.
const (
	MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519        ID = 0x0001
	MLS_128_DHKEMP256_AES128GCM_SHA256_P256             ID = 0x0002
	MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519 ID = 0x0003
	MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448            ID = 0x0004
	MLS_256_DHKEMP521_AES256GCM_SHA512_P521             ID = 0x0005
	MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448     ID = 0x0006
	MLS_256_DHKEMP384_AES256GCM_SHA384_P384             ID = 0x0007
)

// All lists every supported suite in codepoint order: the seven of RFC 9420
// and the post-quantum suites of pq.go.
var All = []ID{1, 2, 3, 4, 5, 6, 7, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58}

// RFC9420 lists the seven suites of RFC 9420, Section 17.1.
var RFC9420 = All[:7]

var names = map[ID]string{
	1: "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519",
	2: "MLS_128_DHKEMP256_AES128GCM_SHA256_P256",
	3: "MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519",
	4: "MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448",
	5: "MLS_256_DHKEMP521_AES256GCM_SHA512_P521",
	6: "MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448",
	7: "MLS_256_DHKEMP384_AES256GCM_SHA384_P384",
}

func init() {
	for id, a := range pqSuites {
		names[id] = a.name
	}
}

// String returns the RFC name of the suite.
func (id ID) String() string {
	if n, ok := names[id]; ok {
		return n
	}
	return fmt.Sprintf("unknown(0x%04x)", uint16(id))
}

// IsValid reports whether id is a supported suite (one of All).
func (id ID) IsValid() bool { _, ok := names[id]; return ok }

// ErrUnsupported is returned by Get for codepoints not in All.
var ErrUnsupported = errors.New("suite: unsupported cipher suite")

// ErrDecrypt is returned when an AEAD or HPKE open fails.
var ErrDecrypt = errors.New("suite: decryption failed")

// ErrVerify is returned when a signature does not verify.
var ErrVerify = errors.New("suite: signature verification failed")

// Suite is one cipher suite. Values are immutable and safe for concurrent use.
type Suite struct {
	id      ID
	newHash func() hash.Hash
	nh      int // hash / KDF output size
	nk, nn  int // AEAD key and nonce sizes
	aead    aeadKind
	kem     kemKind
	sig     sigKind
	hpke    hpkeState // HPKE configuration (hpke.go)
}

var suites = map[ID]*Suite{}

func init() {
	for _, id := range All {
		suites[id] = newSuite(id)
	}
}

// Get returns the suite for id.
func Get(id ID) (*Suite, error) {
	if s, ok := suites[id]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("%w: 0x%04x", ErrUnsupported, uint16(id))
}

// MustGet is Get for codepoints known to be valid.
func MustGet(id ID) *Suite {
	s, err := Get(id)
	if err != nil {
		panic(err)
	}
	return s
}

// ID returns the suite's codepoint.
func (s *Suite) ID() ID { return s.id }

// Nh is the output size of the suite's hash and KDF.
func (s *Suite) Nh() int { return s.nh }

// Nk is the AEAD key size.
func (s *Suite) Nk() int { return s.nk }

// Nn is the AEAD nonce size.
func (s *Suite) Nn() int { return s.nn }

// Hash returns the suite hash of the concatenation of data.
func (s *Suite) Hash(data ...[]byte) []byte {
	h := s.newHash()
	for _, d := range data {
		h.Write(d)
	}
	return h.Sum(nil)
}

// NewHash returns a fresh instance of the suite's hash function.
func (s *Suite) NewHash() hash.Hash { return s.newHash() }

// Extract is KDF.Extract (HKDF-Extract).
func (s *Suite) Extract(salt, ikm []byte) []byte {
	out, err := hkdf.Extract(s.newHash, ikm, salt)
	if err != nil {
		panic(err) // only fails for invalid hash constructors
	}
	return out
}

// Expand is KDF.Expand (HKDF-Expand).
func (s *Suite) Expand(prk, info []byte, length int) []byte {
	out, err := hkdf.Expand(s.newHash, prk, string(info), length)
	if err != nil {
		panic(fmt.Sprintf("suite: HKDF-Expand length %d: %v", length, err))
	}
	return out
}

// ExpandWithLabel implements ExpandWithLabel, RFC 9420 Section 5.1.
//
//	struct { uint16 length; opaque label<V> = "MLS 1.0 " + Label; opaque context<V>; } KDFLabel;
func (s *Suite) ExpandWithLabel(secret []byte, label string, context []byte, length int) []byte {
	var b cryptobyte.Builder
	b.AddUint16(uint16(length))
	codec.AddVarint(&b, uint64(len("MLS 1.0 ")+len(label)))
	b.AddBytes([]byte("MLS 1.0 "))
	b.AddBytes([]byte(label))
	codec.AddOpaque(&b, context)
	return s.Expand(secret, b.BytesOrPanic(), length)
}

// DeriveSecret implements DeriveSecret, RFC 9420 Section 5.1.
func (s *Suite) DeriveSecret(secret []byte, label string) []byte {
	return s.ExpandWithLabel(secret, label, nil, s.nh)
}

// DeriveTreeSecret implements DeriveTreeSecret, RFC 9420 Section 9.
func (s *Suite) DeriveTreeSecret(secret []byte, label string, generation uint32, length int) []byte {
	var ctx [4]byte
	binary.BigEndian.PutUint32(ctx[:], generation)
	return s.ExpandWithLabel(secret, label, ctx[:], length)
}

// MAC is the suite's MAC (HMAC with the suite hash), RFC 9420 Section 5.1.
func (s *Suite) MAC(key, data []byte) []byte {
	m := hmac.New(s.newHash, key)
	m.Write(data)
	return m.Sum(nil)
}

// VerifyMAC checks tag against MAC(key, data) in constant time.
func (s *Suite) VerifyMAC(key, data, tag []byte) bool {
	return subtle.ConstantTimeCompare(s.MAC(key, data), tag) == 1
}

// RefHash implements RefHash, RFC 9420 Section 5.2.
//
//	struct { opaque label<V>; opaque value<V>; } RefHashInput;
func (s *Suite) RefHash(label string, value []byte) []byte {
	var b cryptobyte.Builder
	codec.AddOpaque(&b, []byte(label))
	codec.AddOpaque(&b, value)
	return s.Hash(b.BytesOrPanic())
}

// MakeKeyPackageRef implements MakeKeyPackageRef, RFC 9420 Section 5.2,
// over the encoded KeyPackage.
func (s *Suite) MakeKeyPackageRef(keyPackage []byte) []byte {
	return s.RefHash("MLS 1.0 KeyPackage Reference", keyPackage)
}

// MakeProposalRef implements MakeProposalRef, RFC 9420 Section 5.2, over the
// encoded AuthenticatedContent.
func (s *Suite) MakeProposalRef(authenticatedContent []byte) []byte {
	return s.RefHash("MLS 1.0 Proposal Reference", authenticatedContent)
}

// algs is one row of the suite table: the suite's hash (which is also its
// KDF's hash: every supported suite uses HKDF with its own hash), AEAD, KEM
// and signature scheme.
type algs struct {
	name string
	hash int // 32 SHA-256, 48 SHA-384, 64 SHA-512
	aead aeadKind
	nk   int
	kem  kemKind
	sig  sigKind
}

// rfcSuites is the table of RFC 9420, Section 17.1.
var rfcSuites = map[ID]algs{
	1: {hash: 32, aead: aesGCM, nk: 16, kem: kemX25519, sig: sigEd25519},
	2: {hash: 32, aead: aesGCM, nk: 16, kem: kemP256, sig: sigP256},
	3: {hash: 32, aead: chacha, nk: 32, kem: kemX25519, sig: sigEd25519},
	4: {hash: 64, aead: aesGCM, nk: 32, kem: kemX448, sig: sigEd448},
	5: {hash: 64, aead: aesGCM, nk: 32, kem: kemP521, sig: sigP521},
	6: {hash: 64, aead: chacha, nk: 32, kem: kemX448, sig: sigEd448},
	7: {hash: 48, aead: aesGCM, nk: 32, kem: kemP384, sig: sigP384},
}

func newSuite(id ID) *Suite {
	a, ok := rfcSuites[id]
	if !ok {
		a = pqSuites[id]
	}
	s := &Suite{id: id, nh: a.hash, aead: a.aead, nk: a.nk, nn: 12, kem: a.kem, sig: a.sig}
	s.newHash = map[int]func() hash.Hash{32: sha256.New, 48: sha512.New384, 64: sha512.New}[a.hash]
	s.initHPKE()
	return s
}

type aeadKind uint8

const (
	aesGCM aeadKind = iota + 1
	chacha
)

type kemKind uint8

const (
	kemX25519 kemKind = iota + 1
	kemP256
	kemX448
	kemP521
	kemP384
	kemMLKEM1024
	kemXWing
)

type sigKind uint8

const (
	sigEd25519 sigKind = iota + 1
	sigP256
	sigEd448
	sigP521
	sigP384
	sigMLDSA87
)
