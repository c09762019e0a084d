package suite

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/cloudflare/circl/hpke"
	"github.com/cloudflare/circl/kem"
)

// ErrInvalidKey is returned (wrapped) when a private or public key, HPKE or
// signature, does not have the length or encoding its suite requires.
var ErrInvalidKey = errors.New("suite: invalid key")

// kemParams describes the DHKEM of a suite (RFC 9180, Section 7.1).
type kemParams struct {
	id      hpke.KEM
	newHash func() hash.Hash // the KEM's own KDF hash (RFC 9180, Table 2)
	nsk     int              // Nsk: private key size
	// bitmask for the first candidate byte in DeriveKeyPair of the NIST
	// curves (RFC 9180, Section 7.1.3); 0 for X25519/X448, which need no
	// rejection sampling.
	bitmask byte
}

func (k kemKind) params() kemParams {
	switch k {
	case kemX25519:
		return kemParams{hpke.KEM_X25519_HKDF_SHA256, sha256.New, 32, 0}
	case kemP256:
		return kemParams{hpke.KEM_P256_HKDF_SHA256, sha256.New, 32, 0xff}
	case kemX448:
		return kemParams{hpke.KEM_X448_HKDF_SHA512, sha512.New, 56, 0}
	case kemP521:
		return kemParams{hpke.KEM_P521_HKDF_SHA512, sha512.New, 66, 0x01}
	case kemP384:
		return kemParams{hpke.KEM_P384_HKDF_SHA384, sha512.New384, 48, 0xff}
	}
	panic("suite: unknown KEM")
}

// hpkeState is the HPKE configuration of one suite, computed once by
// newSuite's caller (see initHPKE).
type hpkeState struct {
	kp     kemParams
	scheme kem.Scheme
	suite  hpke.Suite
}

func (s *Suite) initHPKE() {
	kp := s.kem.params()
	kdf := map[int]hpke.KDF{32: hpke.KDF_HKDF_SHA256, 48: hpke.KDF_HKDF_SHA384, 64: hpke.KDF_HKDF_SHA512}[s.nh]
	var aead hpke.AEAD
	switch {
	case s.aead == chacha:
		aead = hpke.AEAD_ChaCha20Poly1305
	case s.nk == 16:
		aead = hpke.AEAD_AES128GCM
	default:
		aead = hpke.AEAD_AES256GCM
	}
	s.hpke = hpkeState{kp: kp, scheme: kp.id.Scheme(), suite: hpke.NewSuite(kp.id, kdf, aead)}
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
// differ from Nsk for X448 and P-521). The private key is returned in
// SerializePrivateKey form as stored in the test vectors; for X25519/X448 the
// bytes are the unclamped KDF output (the DH function clamps on use).
func (s *Suite) DeriveKeyPair(ikm []byte) (priv, pub []byte, err error) {
	kp := s.hpke.kp
	dkpPRK := kp.labeledExtract(nil, "dkp_prk", ikm)
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
	sk, err := s.hpke.scheme.UnmarshalBinaryPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("%w: HPKE private key (%d bytes) for %v: %v", ErrInvalidKey, len(priv), s.id, err)
	}
	return sk, nil
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
	s      *Suite
	ksCtx  []byte // key_schedule_context
	hpkeID []byte // suite_id of the HPKE key schedule
}

// NewLabeledSealer prepares EncryptWithLabel(_, label, context, _).
func (s *Suite) NewLabeledSealer(label string, context []byte) *LabeledSealer {
	id := s.hpkeSuiteID()
	pskIDHash := labeledExtract(s.newHash, id, nil, "psk_id_hash", nil)
	infoHash := labeledExtract(s.newHash, id, nil, "info_hash", encryptContext(label, context))
	ctx := make([]byte, 0, 1+len(pskIDHash)+len(infoHash))
	ctx = append(ctx, 0x00) // mode_base
	ctx = append(ctx, pskIDHash...)
	ctx = append(ctx, infoHash...)
	return &LabeledSealer{s: s, ksCtx: ctx, hpkeID: id}
}

// Seal encrypts plaintext to pub: Encap, then the base-mode key schedule
// and one AEAD seal with the base nonce and empty AAD (RFC 9180, Sections
// 5.1, 5.2). The encapsulation seed is read from rand exactly as circl's
// Sender.Setup reads it, so outputs equal those of circl's SealBase.
func (ls *LabeledSealer) Seal(rand io.Reader, pub, plaintext []byte) (kemOutput, ciphertext []byte, err error) {
	s := ls.s
	pk, err := s.hpkePublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	seed := make([]byte, s.hpke.scheme.EncapsulationSeedSize())
	if _, err := io.ReadFull(randOrDefault(rand), seed); err != nil {
		return nil, nil, fmt.Errorf("suite: HPKE encapsulation seed: %w", err)
	}
	enc, ss, err := s.hpke.scheme.EncapsulateDeterministically(pk, seed)
	if err != nil {
		// e.g. an X25519/X448 low-order public key (RFC 9180, Section 7.1.4).
		return nil, nil, fmt.Errorf("%w: HPKE encapsulation: %v", ErrInvalidKey, err)
	}
	secret := labeledExtract(s.newHash, ls.hpkeID, ss, "secret", nil)
	key := labeledExpand(s.newHash, ls.hpkeID, secret, "key", ls.ksCtx, s.nk)
	nonce := labeledExpand(s.newHash, ls.hpkeID, secret, "base_nonce", ls.ksCtx, s.nn)
	ct, err := s.Seal(key, nonce, nil, plaintext)
	if err != nil {
		return nil, nil, fmt.Errorf("suite: HPKE seal: %w", err)
	}
	return enc, ct, nil
}

// hpkeSuiteID is "HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) ||
// I2OSP(aead_id, 2) (RFC 9180, Section 5.1).
func (s *Suite) hpkeSuiteID() []byte {
	kemID, kdfID, aeadID := s.hpke.suite.Params()
	id := []byte("HPKE")
	id = binary.BigEndian.AppendUint16(id, uint16(kemID))
	id = binary.BigEndian.AppendUint16(id, uint16(kdfID))
	return binary.BigEndian.AppendUint16(id, uint16(aeadID))
}

// DecryptWithLabel implements DecryptWithLabel, RFC 9420 Section 5.1.3:
// OpenBase(kem_output, priv, EncryptContext, "", ciphertext). A malformed
// private key returns an error wrapping ErrInvalidKey; a malformed
// kem_output or a ciphertext that does not authenticate returns an error
// wrapping ErrDecrypt.
func (s *Suite) DecryptWithLabel(priv []byte, label string, context, kemOutput, ciphertext []byte) ([]byte, error) {
	sk, err := s.hpkePrivateKey(priv)
	if err != nil {
		return nil, err
	}
	receiver, err := s.hpke.suite.NewReceiver(sk, encryptContext(label, context))
	if err != nil {
		return nil, err
	}
	opener, err := receiver.Setup(kemOutput)
	if err != nil {
		return nil, fmt.Errorf("%w: HPKE kem_output: %v", ErrDecrypt, err)
	}
	pt, err := opener.Open(ciphertext, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: HPKE open", ErrDecrypt)
	}
	return pt, nil
}

func randOrDefault(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}

// HPKEExportSender sets up an HPKE base-mode sender context to pub with info
// and returns the encapsulation and Export(exporterContext, length)
// (RFC 9180, Section 5.3). MLS uses it for external init (RFC 9420,
// Section 8.3): kem_output, init_secret = SetupBaseS(external_pub, "") then
// Export("MLS 1.0 external init secret", Nh).
func (s *Suite) HPKEExportSender(rand io.Reader, pub, info, exporterContext []byte, length int) (kemOutput, secret []byte, err error) {
	pk, err := s.hpkePublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	sender, err := s.hpke.suite.NewSender(pk, info)
	if err != nil {
		return nil, nil, err
	}
	enc, ctx, err := sender.Setup(randOrDefault(rand))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: HPKE setup: %v", ErrInvalidKey, err)
	}
	return enc, ctx.Export(exporterContext, uint(length)), nil
}

// HPKEExportReceiver is the receiver side of HPKEExportSender.
func (s *Suite) HPKEExportReceiver(priv, kemOutput, info, exporterContext []byte, length int) ([]byte, error) {
	sk, err := s.hpkePrivateKey(priv)
	if err != nil {
		return nil, err
	}
	receiver, err := s.hpke.suite.NewReceiver(sk, info)
	if err != nil {
		return nil, err
	}
	ctx, err := receiver.Setup(kemOutput)
	if err != nil {
		return nil, fmt.Errorf("%w: HPKE kem_output: %v", ErrDecrypt, err)
	}
	return ctx.Export(exporterContext, uint(length)), nil
}
