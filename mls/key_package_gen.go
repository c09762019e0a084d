package mls

import (
	"fmt"
	"math"

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
func DefaultCapabilities(cs suite.ID) Capabilities {
	return Capabilities{
		Versions:     []ProtocolVersion{ProtocolVersionMLS10},
		CipherSuites: []suite.ID{cs},
		Credentials:  []CredentialType{CredentialBasic, CredentialX509},
	}
}

// NewKeyPackage creates and signs a KeyPackage for credential in suite cs,
// drawing every key from cfg.Rand (RFC 9420, Section 10).
func NewKeyPackage(cfg *Config, cs suite.ID, credential Credential, opts *KeyPackageOptions) (*KeyPackageBundle, error) {
	s, err := suite.Get(cs)
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
		Extensions: opts.Extensions,
	}
	if err := kp.LeafNode.sign(signer, nil, 0); err != nil {
		return nil, err
	}
	if err := kp.sign(signer); err != nil {
		return nil, err
	}
	return &KeyPackageBundle{KeyPackage: kp, InitPriv: initPriv, EncryptionKey: encPriv, SignatureKey: sigPriv}, nil
}
