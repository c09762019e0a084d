package suite

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/cloudflare/circl/dh/x25519"
	"github.com/cloudflare/circl/dh/x448"
	"github.com/cloudflare/circl/hpke"
	"github.com/cloudflare/circl/kem"
	"github.com/cloudflare/circl/kem/mlkem/mlkem1024"
	"github.com/cloudflare/circl/kem/mlkem/mlkem512"
	"github.com/cloudflare/circl/kem/mlkem/mlkem768"
	"github.com/cloudflare/circl/kem/xwing"
)

// ErrInvalidKey is returned (wrapped) when a private or public key, HPKE or
// signature, does not have the length or encoding its suite requires.
var ErrInvalidKey = errors.New("suite: invalid key")

// kemParams describes the HPKE KEM of a suite (RFC 9180, Section 7.1, and
// pq.go for ML-KEM and X-Wing).
type kemParams struct {
	id      hpke.KEM
	scheme  kem.Scheme
	newHash func() hash.Hash // DHKEM only: the KEM's own KDF hash (RFC 9180, Table 2)
	nsk     int              // Nsk: serialized private key size
	// bitmask for the first candidate byte in DeriveKeyPair of the NIST
	// curves (RFC 9180, Section 7.1.3); 0 for the others, which need no
	// rejection sampling.
	bitmask byte
	derive  deriveKind
}

// deriveKind selects the KEM's DeriveKeyPair.
type deriveKind uint8

const (
	deriveDHKEM deriveKind = iota // RFC 9180, Section 7.1.3
	deriveMLKEM                   // ikm is the 64-byte seed d || z (pq.go)
	deriveXWing                   // seed = SHAKE256(ikm, 32) (pq.go)
)

// HPKE KEM ids of the post-quantum KEMs (draft-ietf-hpke-pq;
// draft-connolly-cfrg-xwing-kem); circl's hpke package has only X-Wing's.
const (
	kemIDMLKEM512  hpke.KEM = 0x0040
	kemIDMLKEM768  hpke.KEM = 0x0041
	kemIDMLKEM1024 hpke.KEM = 0x0042
	kemIDXWing     hpke.KEM = hpke.KEM_XWING // 0x647a
)

func (k kemKind) params() kemParams {
	switch k {
	case kemX25519:
		return kemParams{id: hpke.KEM_X25519_HKDF_SHA256, newHash: sha256.New, nsk: 32}
	case kemP256:
		return kemParams{id: hpke.KEM_P256_HKDF_SHA256, newHash: sha256.New, nsk: 32, bitmask: 0xff}
	case kemX448:
		return kemParams{id: hpke.KEM_X448_HKDF_SHA512, newHash: sha512.New, nsk: 56}
	case kemP521:
		return kemParams{id: hpke.KEM_P521_HKDF_SHA512, newHash: sha512.New, nsk: 66, bitmask: 0x01}
	case kemP384:
		return kemParams{id: hpke.KEM_P384_HKDF_SHA384, newHash: sha512.New384, nsk: 48, bitmask: 0xff}
	case kemMLKEM512:
		return kemParams{id: kemIDMLKEM512, scheme: mlkem512.Scheme(), nsk: mlkem512.KeySeedSize, derive: deriveMLKEM}
	case kemMLKEM768:
		return kemParams{id: kemIDMLKEM768, scheme: mlkem768.Scheme(), nsk: mlkem768.KeySeedSize, derive: deriveMLKEM}
	case kemMLKEM1024:
		return kemParams{id: kemIDMLKEM1024, scheme: mlkem1024.Scheme(), nsk: mlkem1024.KeySeedSize, derive: deriveMLKEM}
	case kemXWing:
		return kemParams{id: kemIDXWing, scheme: xwing.Scheme(), nsk: xwing.SeedSize, derive: deriveXWing}
	}
	panic("suite: unknown KEM")
}

// hpkeState is the HPKE configuration of one suite, computed once by
// newSuite (see initHPKE).
type hpkeState struct {
	kp      kemParams
	scheme  kem.Scheme
	suiteID []byte // "HPKE" || kem_id || kdf_id || aead_id (RFC 9180, Section 5.1)
	// pskIDHash is LabeledExtract("", "psk_id_hash", "") of base mode, the
	// same for every context.
	pskIDHash []byte
}

// HPKE KDF and AEAD ids (RFC 9180, Sections 7.2, 7.3).
const (
	kdfHKDFSHA256, kdfHKDFSHA384, kdfHKDFSHA512 = 0x0001, 0x0002, 0x0003
	aeadAES128GCM, aeadAES256GCM, aeadChaCha    = 0x0001, 0x0002, 0x0003
)

func (s *Suite) initHPKE() {
	kp := s.kem.params()
	if kp.scheme == nil {
		kp.scheme = kp.id.Scheme()
	}
	kdf := map[int]uint16{32: kdfHKDFSHA256, 48: kdfHKDFSHA384, 64: kdfHKDFSHA512}[s.nh] // the suite's KDF (pq.go: HKDF-SHA512 for every PQ suite)
	var aead uint16
	switch {
	case s.aead == chacha:
		aead = aeadChaCha
	case s.nk == 16:
		aead = aeadAES128GCM
	default:
		aead = aeadAES256GCM
	}
	id := []byte("HPKE")
	id = binary.BigEndian.AppendUint16(id, uint16(kp.id))
	id = binary.BigEndian.AppendUint16(id, kdf)
	id = binary.BigEndian.AppendUint16(id, aead)
	s.hpke = hpkeState{kp: kp, scheme: kp.scheme, suiteID: id}
	s.hpke.pskIDHash = labeledExtract(s.newKDF, id, nil, "psk_id_hash", nil)
}

// hpkeVersion is the "HPKE-v1" prefix of LabeledExtract/LabeledExpand
// (RFC 9180, Section 4).
const hpkeVersion = "HPKE-v1"

// kemSuiteID is "KEM" || I2OSP(kem_id, 2) (RFC 9180, Section 4.1).
func (kp kemParams) suiteID() []byte {
	return []byte{'K', 'E', 'M', byte(kp.id >> 8), byte(kp.id)}
}

func (kp kemParams) labeledExtract(salt []byte, label string, ikm []byte) []byte {
	return labeledExtract(kp.newHash, kp.suiteID(), salt, label, ikm)
}

func (kp kemParams) labeledExpand(prk []byte, label string, info []byte, length int) []byte {
	return labeledExpand(kp.newHash, kp.suiteID(), prk, label, info, length)
}

// labeledExtract is LabeledExtract of RFC 9180, Section 4:
// Extract(salt, "HPKE-v1" || suite_id || label || ikm).
func labeledExtract(h func() hash.Hash, suiteID, salt []byte, label string, ikm []byte) []byte {
	in := make([]byte, 0, len(hpkeVersion)+len(suiteID)+len(label)+len(ikm))
	in = append(in, hpkeVersion...)
	in = append(in, suiteID...)
	in = append(in, label...)
	in = append(in, ikm...)
	prk, err := hkdf.Extract(h, in, salt)
	if err != nil {
		panic(err) // only for invalid hash constructors
	}
	return prk
}

// labeledExpand is LabeledExpand of RFC 9180, Section 4:
// Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info, L).
func labeledExpand(h func() hash.Hash, suiteID, prk []byte, label string, info []byte, length int) []byte {
	in := make([]byte, 2, 2+len(hpkeVersion)+len(suiteID)+len(label)+len(info))
	binary.BigEndian.PutUint16(in, uint16(length))
	in = append(in, hpkeVersion...)
	in = append(in, suiteID...)
	in = append(in, label...)
	in = append(in, info...)
	out, err := hkdf.Expand(h, prk, string(in), length)
	if err != nil {
		panic(err) // lengths here are far below the HKDF limit
	}
	return out
}

// DeriveKeyPair implements the KEM's DeriveKeyPair (RFC 9180, Section 7.1.3),
// as RFC 9420 uses it for tree node keys (Section 4) and init/external keys
// (Section 8): ikm may have any length (MLS passes Nh-byte secrets, which
// differ from Nsk for X448 and P-521), except for ML-KEM, whose ikm is the
// 64-byte seed (pq.go). The private key is returned in
// SerializePrivateKey form as stored in the test vectors; for X25519/X448 the
// bytes are the unclamped KDF output (the DH function clamps on use).
func (s *Suite) DeriveKeyPair(ikm []byte) (priv, pub []byte, err error) {
	kp := s.hpke.kp
	switch kp.derive {
	case deriveMLKEM:
		if len(ikm) != kp.nsk {
			return nil, nil, fmt.Errorf("%w: ML-KEM DeriveKeyPair takes a %d-byte seed, got %d bytes", ErrInvalidKey, kp.nsk, len(ikm))
		}
		priv = append([]byte(nil), ikm...)
		pub, err = s.HPKEPublicKey(priv)
		return priv, pub, err
	case deriveXWing:
		priv = make([]byte, kp.nsk)
		h := sha3.NewSHAKE256()
		_, _ = h.Write(ikm)
		_, _ = h.Read(priv)
		pub, err = s.HPKEPublicKey(priv)
		return priv, pub, err
	}
	dkpPRK := kp.labeledExtract(nil, "dkp_prk", ikm)
	defer clear(dkpPRK)
	if kp.bitmask == 0 {
		priv = kp.labeledExpand(dkpPRK, "sk", nil, kp.nsk)
		pub, err = s.HPKEPublicKey(priv)
		return priv, pub, err
	}
	for counter := range 256 {
		cand := kp.labeledExpand(dkpPRK, "candidate", []byte{byte(counter)}, kp.nsk)
		cand[0] &= kp.bitmask
		sk, err := s.hpke.scheme.UnmarshalBinaryPrivateKey(cand)
		if err != nil {
			continue // zero or >= group order: next candidate
		}
		pub, err = sk.Public().MarshalBinary()
		if err != nil {
			return nil, nil, err
		}
		return cand, pub, nil
	}
	// Probability below 2^-256 per RFC 9180; reported, not panicked.
	return nil, nil, errors.New("suite: DeriveKeyPair: no valid candidate")
}

// GenerateKeyPair returns a fresh HPKE key pair: it reads Nsk bytes from rand
// (nil means crypto/rand) and calls DeriveKeyPair on them, so a seeded
// reader reproduces the same keys.
func (s *Suite) GenerateKeyPair(rand io.Reader) (priv, pub []byte, err error) {
	ikm := make([]byte, s.hpke.kp.nsk)
	defer clear(ikm) // DeriveKeyPair copies what it keeps
	if _, err := io.ReadFull(randOrDefault(rand), ikm); err != nil {
		return nil, nil, fmt.Errorf("suite: reading randomness: %w", err)
	}
	return s.DeriveKeyPair(ikm)
}

// HPKEPublicKey returns the serialized public key of an HPKE private key.
func (s *Suite) HPKEPublicKey(priv []byte) ([]byte, error) {
	sk, err := s.hpkePrivateKey(priv)
	if err != nil {
		return nil, err
	}
	return sk.Public().MarshalBinary()
}

func (s *Suite) hpkePrivateKey(priv []byte) (kem.PrivateKey, error) {
	if s.hpke.kp.bitmask != 0 { // NIST curves: fixed-length big-endian scalars
		priv = leftPad(priv, s.hpke.kp.nsk)
	}
	if s.hpke.kp.derive == deriveMLKEM { // the 64-byte seed form (pq.go)
		if len(priv) != s.hpke.kp.nsk {
			return nil, fmt.Errorf("%w: HPKE private key (%d bytes) for %v: want the %d-byte seed", ErrInvalidKey, len(priv), s.id, s.hpke.kp.nsk)
		}
		_, sk := s.hpke.scheme.DeriveKeyPair(priv)
		return sk, nil
	}
	sk, err := s.hpke.scheme.UnmarshalBinaryPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("%w: HPKE private key (%d bytes) for %v: %v", ErrInvalidKey, len(priv), s.id, err)
	}
	return sk, nil
}

// ValidateHPKEPublicKey returns nil if pub is an HPKE public key that
// EncryptWithLabel can encrypt to, and an error wrapping ErrInvalidKey
// otherwise: a wrong length, a NIST point off the curve (RFC 9180, Section
// 7.1.4), an ML-KEM encapsulation key that fails the modulus check (FIPS
// 203, Section 7.2; also the ML-KEM-768 part of an X-Wing key), or an
// X25519/X448 key of low order, whose DH output would be zero for every
// private key (RFC 9180, Section 7.1.4; a table lookup, lowOrder). X-Wing's
// X25519 part is not checked (the X-Wing draft requires no check; a
// low-order X25519 part only removes the classical half). A member that
// accepts a key it cannot encrypt to cannot commit while that key is in
// its copath resolution, so receivers check keys as they arrive.
func (s *Suite) ValidateHPKEPublicKey(pub []byte) error {
	if _, err := s.hpkePublicKey(pub); err != nil {
		return err
	}
	for _, u := range lowOrder[s.kem] {
		if lowOrderEqual(s.kem, pub, u) {
			return fmt.Errorf("%w: HPKE public key of low order (%v)", ErrInvalidKey, s.id)
		}
	}
	return nil
}

// lowOrder lists, little-endian, the u-coordinates on which X25519 and X448
// output zero for every clamped private key (RFC 7748: the scalars are
// multiples of the cofactor 8 or 4): the points of order dividing the
// cofactor on the curve or its twist, and their non-canonical encodings
// u + p below 2^255 (X25519, top bit masked) or 2^448 (X448). X25519: 0, 1,
// the two points of order 8, p-1, p, p+1; X448: 0, 1, p-1, p, p+1.
// TestLowOrderTable checks each against an encapsulation.
var lowOrder = map[kemKind][][]byte{
	kemX25519: hexList(
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
	kemX448: hexList(
		"0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
		"fefffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		"fffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		"00000000000000000000000000000000000000000000000000000000ffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
}

// lowOrderEqual compares a public key with a lowOrder entry; X25519
// ignores the top bit of the last byte (RFC 7748, Section 5).
func lowOrderEqual(k kemKind, pub, u []byte) bool {
	if len(pub) != len(u) {
		return false
	}
	last := len(u) - 1
	if k == kemX25519 {
		return bytes.Equal(pub[:last], u[:last]) && pub[last]&0x7f == u[last]
	}
	return bytes.Equal(pub, u)
}

func hexList(hs ...string) [][]byte {
	out := make([][]byte, len(hs))
	for i, h := range hs {
		b, err := hex.DecodeString(h)
		if err != nil {
			panic(err)
		}
		out[i] = b
	}
	return out
}

func (s *Suite) hpkePublicKey(pub []byte) (kem.PublicKey, error) {
	pk, err := s.hpke.scheme.UnmarshalBinaryPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: HPKE public key (%d bytes) for %v: %v", ErrInvalidKey, len(pub), s.id, err)
	}
	return pk, nil
}

// encryptContext encodes EncryptContext (RFC 9420, Section 5.1.3):
//
//	struct { opaque label<V> = "MLS 1.0 " + Label; opaque context<V>; } EncryptContext;
func encryptContext(label string, context []byte) []byte { return labeled(label, context) }

// labelPrefix starts every MLS label (RFC 9420, Section 5.1.2, 5.1.3).
const labelPrefix = "MLS 1.0 "

// HPKE here is RFC 9180 base mode written out over a kem.Scheme, so that
// one implementation serves the DHKEMs and the post-quantum KEMs (which
// circl's hpke package does not all know): Encap/Decap, the key schedule
// (Section 5.1), single-shot Seal/Open (Section 6.1) and Export (Section
// 5.3). The DHKEM outputs equal circl's hpke and Go's crypto/hpke
// (suite_test.go checks both).

// EncryptWithLabel implements EncryptWithLabel, RFC 9420 Section 5.1.3:
// SealBase(pub, EncryptContext, "", plaintext) in HPKE base mode. The
// encapsulation seed is read from rand (nil means crypto/rand), so a seeded
// reader reproduces kem_output and ciphertext. A malformed public key
// returns an error wrapping ErrInvalidKey. To encrypt under one label and
// context to many keys, NewLabeledSealer hashes the context once.
func (s *Suite) EncryptWithLabel(rand io.Reader, pub []byte, label string, context, plaintext []byte) (kemOutput, ciphertext []byte, err error) {
	return s.NewLabeledSealer(label, context).Seal(rand, pub, plaintext)
}

// LabeledSealer performs EncryptWithLabel (RFC 9420, Section 5.1.3) for one
// label and context to any number of public keys. The HPKE key schedule
// context — mode, psk_id_hash and info_hash, which depend only on the
// EncryptContext (RFC 9180, Section 5.1) — is computed once, so a Welcome
// that encrypts GroupSecrets to many joiners under a multi-megabyte
// encrypted GroupInfo hashes it once instead of once per joiner. It is
// safe for concurrent use.
type LabeledSealer struct {
	s     *Suite
	ksCtx []byte // key_schedule_context
}

// NewLabeledSealer prepares EncryptWithLabel(_, label, context, _).
func (s *Suite) NewLabeledSealer(label string, context []byte) *LabeledSealer {
	return &LabeledSealer{s: s, ksCtx: s.keyScheduleContext(encryptContext(label, context))}
}

// Seal encrypts plaintext to pub: Encap, then the base-mode key schedule
// and one AEAD seal with the base nonce and empty AAD (RFC 9180, Sections
// 5.1, 5.2).
func (ls *LabeledSealer) Seal(rand io.Reader, pub, plaintext []byte) (kemOutput, ciphertext []byte, err error) {
	enc, ss, err := ls.s.Encap(rand, pub)
	if err != nil {
		return nil, nil, err
	}
	ct, err := ls.SealWithSecret(ss, plaintext)
	if err != nil {
		return nil, nil, err
	}
	return enc, ct, nil
}

// Encap is the KEM half of EncryptWithLabel (RFC 9180, Section 4,
// Encap(pkR)), split off so that a caller can encapsulate before it knows
// the EncryptContext: it reads the encapsulation seed from rand exactly as
// Seal does (nil means crypto/rand) and returns kem_output (enc) and the
// KEM shared secret. Encap followed by SealWithSecret with the same seed
// produces the bytes of Seal. The caller owns sharedSecret: pass it to
// SealWithSecret, which overwrites it, or clear it. A malformed public key
// returns an error wrapping ErrInvalidKey.
func (s *Suite) Encap(rand io.Reader, pub []byte) (kemOutput, sharedSecret []byte, err error) {
	return s.encap(rand, pub)
}

// SealWithSecret is the rest of EncryptWithLabel after Encap: the
// base-mode key schedule from sharedSecret (RFC 9180, Section 5.1) and one
// AEAD seal with the base nonce and empty AAD (Section 5.2), under the
// sealer's label and context. It overwrites sharedSecret, on success and
// on error, and returns the ciphertext.
func (ls *LabeledSealer) SealWithSecret(sharedSecret, plaintext []byte) ([]byte, error) {
	s := ls.s
	key, nonce := s.hpkeKeyNonce(sharedSecret, ls.ksCtx)
	ct, err := s.Seal(key, nonce, nil, plaintext)
	clear(key)
	clear(nonce)
	if err != nil {
		return nil, fmt.Errorf("suite: HPKE seal: %w", err)
	}
	return ct, nil
}

// DecryptWithLabel implements DecryptWithLabel, RFC 9420 Section 5.1.3:
// OpenBase(kem_output, priv, EncryptContext, "", ciphertext). A malformed
// private key returns an error wrapping ErrInvalidKey; a malformed
// kem_output or a ciphertext that does not authenticate returns an error
// wrapping ErrDecrypt.
func (s *Suite) DecryptWithLabel(priv []byte, label string, context, kemOutput, ciphertext []byte) ([]byte, error) {
	ss, err := s.decap(priv, kemOutput)
	if err != nil {
		return nil, err
	}
	return s.openWithSecret(ss, label, context, ciphertext)
}

// DecryptWithLabelKeyPair is DecryptWithLabel for a receiver that already
// holds the public key pub of priv (the tree node's encryption_key, a
// KeyPackage's init_key): for X25519 and X448 it decapsulates with pub as
// pkRm in kem_context (RFC 9180, Section 4.1) instead of recomputing it
// from priv, which saves the fixed-base scalar multiplication that is most
// of the cost of a DHKEM Decap. For the other KEMs it is DecryptWithLabel
// and ignores pub: the NIST curves compute the public key when parsing the
// private key anyway (crypto/ecdh), and ML-KEM and X-Wing do not use one.
//
// pub must be the public key of priv (SerializePublicKey(pk(priv))); then
// the result, plaintext or error, is that of DecryptWithLabel. A pub that
// is not can only make decryption fail: the key schedule then derives from
// enc || pub, which an honest sender used only if it encrypted to pub, and
// from DH(priv, enc), which matches the sender's DH(skE, pub) only if pub
// and pk(priv) have the same DH output, so a success returns what was
// encrypted to pub and can be opened with priv. An X25519/X448 pub of the
// wrong length returns an error wrapping ErrInvalidKey.
func (s *Suite) DecryptWithLabelKeyPair(priv, pub []byte, label string, context, kemOutput, ciphertext []byte) ([]byte, error) {
	ss, err := s.decapKeyPair(priv, pub, kemOutput)
	if err != nil {
		return nil, err
	}
	return s.openWithSecret(ss, label, context, ciphertext)
}

// openWithSecret is the rest of DecryptWithLabel after Decap: the
// base-mode key schedule from sharedSecret, which it overwrites, and one
// AEAD open with the base nonce and empty AAD (RFC 9180, Sections 5.1,
// 5.2).
func (s *Suite) openWithSecret(ss []byte, label string, context, ciphertext []byte) ([]byte, error) {
	key, nonce := s.hpkeKeyNonce(ss, s.keyScheduleContext(encryptContext(label, context)))
	pt, err := s.Open(key, nonce, nil, ciphertext)
	clear(key)
	clear(nonce)
	if err != nil {
		return nil, fmt.Errorf("%w: HPKE open", ErrDecrypt)
	}
	return pt, nil
}

// HPKEExportSender sets up an HPKE base-mode sender context to pub with info
// and returns the encapsulation and Export(exporterContext, length)
// (RFC 9180, Section 5.3). MLS uses it for external init (RFC 9420,
// Section 8.3): kem_output, init_secret = SetupBaseS(external_pub, "") then
// Export("MLS 1.0 external init secret", Nh).
func (s *Suite) HPKEExportSender(rand io.Reader, pub, info, exporterContext []byte, length int) (kemOutput, secret []byte, err error) {
	enc, ss, err := s.encap(rand, pub)
	if err != nil {
		return nil, nil, err
	}
	return enc, s.hpkeExport(ss, s.keyScheduleContext(info), exporterContext, length), nil
}

// HPKEExportReceiver is the receiver side of HPKEExportSender.
func (s *Suite) HPKEExportReceiver(priv, kemOutput, info, exporterContext []byte, length int) ([]byte, error) {
	ss, err := s.decap(priv, kemOutput)
	if err != nil {
		return nil, err
	}
	return s.hpkeExport(ss, s.keyScheduleContext(info), exporterContext, length), nil
}

// keyScheduleContext is key_schedule_context of base mode for info
// (RFC 9180, Section 5.1): mode_base || psk_id_hash || info_hash.
func (s *Suite) keyScheduleContext(info []byte) []byte {
	infoHash := labeledExtract(s.newKDF, s.hpke.suiteID, nil, "info_hash", info)
	ctx := make([]byte, 0, 1+len(s.hpke.pskIDHash)+len(infoHash))
	ctx = append(ctx, 0x00) // mode_base
	ctx = append(ctx, s.hpke.pskIDHash...)
	return append(ctx, infoHash...)
}

// hpkeSecret is the key schedule's secret: LabeledExtract(shared_secret,
// "secret", psk = "") (RFC 9180, Section 5.1). It overwrites sharedSecret,
// which nothing uses after it.
func (s *Suite) hpkeSecret(sharedSecret []byte) []byte {
	secret := labeledExtract(s.newKDF, s.hpke.suiteID, sharedSecret, "secret", nil)
	clear(sharedSecret)
	return secret
}

// hpkeKeyNonce derives the AEAD key and base nonce of a context from the
// KEM shared secret; the shared secret and the key schedule's secret are
// overwritten once used.
func (s *Suite) hpkeKeyNonce(sharedSecret, ksCtx []byte) (key, nonce []byte) {
	secret := s.hpkeSecret(sharedSecret)
	key = labeledExpand(s.newKDF, s.hpke.suiteID, secret, "key", ksCtx, s.nk)
	nonce = labeledExpand(s.newKDF, s.hpke.suiteID, secret, "base_nonce", ksCtx, s.nn)
	clear(secret)
	return key, nonce
}

// hpkeExport is Export(exporter_context, L) of a context from the KEM
// shared secret: LabeledExpand of exporter_secret = LabeledExpand(secret,
// "exp", ctx, Nh) (RFC 9180, Sections 5.1, 5.3). The shared secret and the
// intermediate secrets are overwritten once used.
func (s *Suite) hpkeExport(sharedSecret, ksCtx, exporterContext []byte, length int) []byte {
	secret := s.hpkeSecret(sharedSecret)
	exp := labeledExpand(s.newKDF, s.hpke.suiteID, secret, "exp", ksCtx, s.nh)
	clear(secret)
	out := labeledExpand(s.newKDF, s.hpke.suiteID, exp, "sec", exporterContext, length)
	clear(exp)
	return out
}

// encap reads the encapsulation seed from rand as circl's Sender.Setup
// does (EncapsulationSeedSize bytes; nil rand means crypto/rand) and
// encapsulates to pub deterministically from it, so a seeded reader
// reproduces the output.
func (s *Suite) encap(rand io.Reader, pub []byte) (enc, sharedSecret []byte, err error) {
	pk, err := s.hpkePublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	seed := make([]byte, s.hpke.scheme.EncapsulationSeedSize())
	defer clear(seed) // the ephemeral secret
	if _, err := io.ReadFull(randOrDefault(rand), seed); err != nil {
		return nil, nil, fmt.Errorf("suite: HPKE encapsulation seed: %w", err)
	}
	enc, ss, err := s.hpke.scheme.EncapsulateDeterministically(pk, seed)
	if err != nil {
		// e.g. an X25519/X448 low-order public key (RFC 9180, Section 7.1.4).
		return nil, nil, fmt.Errorf("%w: HPKE encapsulation: %v", ErrInvalidKey, err)
	}
	return enc, ss, nil
}

// decap parses priv and decapsulates enc; an enc of the wrong length or
// that the KEM rejects returns an error wrapping ErrDecrypt.
func (s *Suite) decap(priv, enc []byte) ([]byte, error) {
	sk, err := s.hpkePrivateKey(priv)
	if err != nil {
		return nil, err
	}
	if len(enc) != s.hpke.scheme.CiphertextSize() {
		return nil, fmt.Errorf("%w: HPKE kem_output of %d bytes, want %d", ErrDecrypt, len(enc), s.hpke.scheme.CiphertextSize())
	}
	ss, err := s.hpke.scheme.Decapsulate(sk, enc)
	if err != nil {
		return nil, fmt.Errorf("%w: HPKE kem_output: %v", ErrDecrypt, err)
	}
	return ss, nil
}

// decapKeyPair is decap for a receiver that knows pub, the public key of
// priv (see DecryptWithLabelKeyPair): for X25519 and X448 it is DHKEM's
// Decap of RFC 9180, Section 4.1, with pkRm = pub:
//
//	dh = DH(skR, enc)   (an all-zero output is rejected, RFC 9180, Section 7.1.4)
//	kem_context = enc || pkRm
//	shared_secret = ExtractAndExpand(dh, kem_context)
//
// computed with the same circl DH functions as circl's Decapsulate, so the
// output and errors equal decap's whenever pub = pk(priv). Other KEMs, and
// a malformed priv or enc (whose errors decap reports), go to decap.
func (s *Suite) decapKeyPair(priv, pub, enc []byte) ([]byte, error) {
	kp := s.hpke.kp
	if (s.kem != kemX25519 && s.kem != kemX448) || len(priv) != kp.nsk || len(enc) != kp.nsk {
		return s.decap(priv, enc)
	}
	if len(pub) != kp.nsk {
		return nil, fmt.Errorf("%w: HPKE public key (%d bytes) for %v", ErrInvalidKey, len(pub), s.id)
	}
	var dh []byte
	var ok bool
	switch s.kem {
	case kemX25519:
		var out, sk, pk x25519.Key
		copy(sk[:], priv)
		copy(pk[:], enc)
		ok = x25519.Shared(&out, &sk, &pk) // false: enc of low order, dh all zero
		clear(sk[:])
		dh = out[:]
	case kemX448:
		var out, sk, pk x448.Key
		copy(sk[:], priv)
		copy(pk[:], enc)
		ok = x448.Shared(&out, &sk, &pk)
		clear(sk[:])
		dh = out[:]
	}
	defer clear(dh)
	if !ok {
		// decap's error: circl's Decapsulate returns this one.
		return nil, fmt.Errorf("%w: HPKE kem_output: %v", ErrDecrypt, hpke.ErrInvalidKEMSharedSecret)
	}
	kemContext := make([]byte, 0, len(enc)+len(pub))
	kemContext = append(append(kemContext, enc...), pub...)
	// ExtractAndExpand (RFC 9180, Section 4.1), with the KEM's suite_id.
	eaePRK := kp.labeledExtract(nil, "eae_prk", dh)
	defer clear(eaePRK)
	return kp.labeledExpand(eaePRK, "shared_secret", kemContext, s.hpke.scheme.SharedKeySize()), nil
}

func randOrDefault(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}
