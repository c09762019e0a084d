package core

import (
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

// KeyPackageBundle is a KeyPackage with the private keys its owner keeps
// until it joins (RFC 9420, Section 10): the init key (to decrypt the
// Welcome's GroupSecrets), the leaf encryption key and the signature key.
type KeyPackageBundle struct {
	KeyPackage    *KeyPackage
	InitPriv      []byte
	EncryptionKey []byte // leaf HPKE private key
	SignatureKey  []byte // signature private key (also used after joining)
}

// EraseUsedKeys overwrites with zeros, and drops, the init and leaf private
// keys of the bundle: what Join spent (RFC 9420, Sections 9.2, 16.8: a
// KeyPackage is used once). It keeps SignatureKey, which the joined Group
// shares. Join does not call it: the bundle is the caller's, and a "last
// resort" KeyPackage may be used again. Do not call it while another
// Join with kp may still run.
func (kp *KeyPackageBundle) EraseUsedKeys() {
	clear(kp.InitPriv)
	clear(kp.EncryptionKey)
	kp.InitPriv, kp.EncryptionKey = nil, nil
}

// KeyPackageOptions are the optional parts of a new KeyPackage.
type KeyPackageOptions struct {
	// SignatureKey reuses an existing signature private key; nil generates
	// one from the Config's Rand.
	SignatureKey []byte
	// Capabilities overrides the default capabilities (mls10, the suite,
	// basic and x509 credentials).
	Capabilities *Capabilities
	// Lifetime overrides the default [0, 2^64-1].
	Lifetime *Lifetime
	// LeafExtensions and Extensions are the LeafNode's and the KeyPackage's
	// extensions.
	LeafExtensions Extensions
	Extensions     Extensions
}

// DefaultCapabilities returns the capabilities of an mlslab client for cs:
// protocol mls10, the one suite, basic and x509 credentials, and the
// non-default extension and proposal types the client understands (none).
// It holds no GREASE values (RFC 9420, Section 13.5: a client's own
// capabilities never do); NewKeyPackage adds them to what it sends.
func DefaultCapabilities(cs CipherSuite) Capabilities {
	return Capabilities{
		Versions:     []ProtocolVersion{ProtocolVersionMLS10},
		CipherSuites: []CipherSuite{cs},
		Credentials:  []CredentialType{CredentialBasic, CredentialX509},
	}
}

// GenerateSignatureKey draws a signature key pair of suite cs from
// cfg.Rand (crypto/rand for a nil Config or Rand): the raw private key and
// the encoded public key, for KeyPackageOptions.SignatureKey or an
// external sender (RFC 9420, Sections 5.1.2, 12.1.8.1).
func GenerateSignatureKey(cfg *Config, cs CipherSuite) (priv, pub []byte, err error) {
	s, err := suite.Get(suite.ID(cs))
	if err != nil {
		return nil, nil, protoErr(CodeUnsupported, "RFC 9420 §17.1 cipher suite", "", err)
	}
	return s.GenerateSignatureKeyPair(cfg.rand())
}

// NewKeyPackage creates and signs a KeyPackage for credential in suite cs,
// drawing every key from cfg.Rand (RFC 9420, Section 10). Unless
// cfg.DisableGREASE is set, the KeyPackage also carries GREASE values
// (Section 13.5; see Config.DisableGREASE) in addition to the capabilities
// and extensions of opts.
func NewKeyPackage(cfg *Config, cs CipherSuite, credential Credential, opts *KeyPackageOptions) (*KeyPackageBundle, error) {
	s, err := suite.Get(suite.ID(cs))
	if err != nil {
		return nil, protoErr(CodeUnsupported, "RFC 9420 §17.1 cipher suite", "", err)
	}
	if opts == nil {
		opts = &KeyPackageOptions{}
	}
	rnd := cfg.rand()
	sigPriv := opts.SignatureKey
	var signer *suite.Signer
	if sigPriv == nil {
		sigPriv, signer, err = s.GenerateSigner(rnd)
	} else {
		signer, err = s.NewSigner(sigPriv)
	}
	if err != nil {
		return nil, fmt.Errorf("mls: signature key: %w", err)
	}
	sigPub := signer.PublicKey()
	initPriv, initPub, err := s.GenerateKeyPair(rnd)
	if err != nil {
		return nil, fmt.Errorf("mls: init key: %w", err)
	}
	encPriv, encPub, err := s.GenerateKeyPair(rnd)
	if err != nil {
		return nil, fmt.Errorf("mls: leaf key: %w", err)
	}
	caps := DefaultCapabilities(cs)
	if opts.Capabilities != nil {
		caps = *opts.Capabilities
	}
	exts := opts.Extensions
	if cfg.grease() {
		// Drawn after the keys, so that GREASE shifts only later draws.
		if caps, exts, err = addGREASE(rnd, caps, exts); err != nil {
			return nil, fmt.Errorf("mls: GREASE: %w", err)
		}
	}
	lt := Lifetime{NotBefore: 0, NotAfter: math.MaxUint64}
	if opts.Lifetime != nil {
		lt = *opts.Lifetime
	}
	kp := &KeyPackage{
		Version:     ProtocolVersionMLS10,
		CipherSuite: cs,
		InitKey:     initPub,
		LeafNode: LeafNode{
			EncryptionKey: encPub,
			SignatureKey:  sigPub,
			Credential:    credential,
			Capabilities:  caps,
			Source:        LeafNodeSourceKeyPackage,
			Lifetime:      lt,
			Extensions:    opts.LeafExtensions,
		},
		Extensions: exts,
	}
	if err := kp.LeafNode.sign(signer, nil, 0); err != nil {
		return nil, err
	}
	if err := kp.sign(signer); err != nil {
		return nil, err
	}
	return &KeyPackageBundle{KeyPackage: kp, InitPriv: initPriv, EncryptionKey: encPriv, SignatureKey: sigPriv}, nil
}

// greaseValue returns the GREASE value number i%15 of RFC 9420, Section 13.5
// (0x0A0A, 0x1A1A, ..., 0xEAEA).
func greaseValue(i byte) uint16 {
	v := uint16(i % 15)
	return v<<12 | 0x0a00 | v<<4 | 0x0a
}

// appendNew appends v to l unless l holds it, without modifying l's backing
// array (l may be the caller's).
func appendNew[T comparable](l []T, v T) []T {
	if slices.Contains(l, v) {
		return l
	}
	return append(slices.Clip(l), v)
}

// addGREASE returns caps and exts with GREASE values added (RFC 9420,
// Section 13.5), all drawn from rnd: one value in each of the
// capabilities' cipher_suites, proposals and credentials lists (never
// versions: Section 13.5 does not list it), and one GREASE extension with
// 0-15 random octets in the KeyPackage's extensions, whose type is also
// listed in capabilities.extensions because "Extensions included in the
// extensions ... fields MUST be included in the leaf_node.capabilities
// field" (Section 10) — so that receivers accept it whether or not they
// apply that rule to unknown KeyPackage extensions. GREASE values are never
// placed in LeafNode.extensions, Proposal, Credential or GroupContext
// fields. caps and exts are not modified.
func addGREASE(rnd io.Reader, caps Capabilities, exts Extensions) (Capabilities, Extensions, error) {
	var r [5]byte
	if _, err := io.ReadFull(rnd, r[:]); err != nil {
		return caps, exts, err
	}
	caps.CipherSuites = appendNew(caps.CipherSuites, CipherSuite(greaseValue(r[0])))
	caps.Proposals = appendNew(caps.Proposals, ProposalType(greaseValue(r[1])))
	caps.Credentials = appendNew(caps.Credentials, CredentialType(greaseValue(r[2])))
	t := ExtensionType(greaseValue(r[3]))
	if !exts.Has(t) {
		data := make([]byte, r[4]%16)
		if _, err := io.ReadFull(rnd, data); err != nil {
			return caps, exts, err
		}
		exts = append(slices.Clip(exts), Extension{Type: t, Data: data})
	}
	caps.Extensions = appendNew(caps.Extensions, t)
	return caps, exts, nil
}
