package mls

import (
	"bytes"
	"fmt"

	"github.com/mlslab/mlslab/mls/core"
)

// KeyPackage is a client's signed, pre-published offer to be added to
// groups of one cipher suite (RFC 9420, Section 10). It is immutable: its
// accessors return copies.
type KeyPackage struct{ kp *core.KeyPackage }

// errNoKeyPackage is returned by the methods of a zero KeyPackage.
var errNoKeyPackage = fmt.Errorf("%w: zero KeyPackage", ErrInvalidKeyPackage)

// UnmarshalKeyPackage decodes an MLSMessage carrying a KeyPackage and checks
// its signature. The rest of RFC 9420, Section 10.1 (lifetime, capabilities
// against the group, credential) is checked when it is added to a group.
func UnmarshalKeyPackage(data []byte) (*KeyPackage, error) {
	m, err := UnmarshalMLSMessage(data)
	if err != nil {
		return nil, err
	}
	kp := m.KeyPackage()
	if kp == nil {
		return nil, fmt.Errorf("%w: not a KeyPackage message", ErrInvalidMessage)
	}
	if err := kp.kp.VerifySignature(); err != nil {
		return nil, err
	}
	return kp, nil
}

// Marshal encodes the KeyPackage as an MLSMessage (wire format
// mls_key_package), the form in which KeyPackages are published.
func (kp *KeyPackage) Marshal() ([]byte, error) {
	if kp == nil || kp.kp == nil {
		return nil, errNoKeyPackage
	}
	m := &core.MLSMessage{Version: core.ProtocolVersionMLS10, WireFormat: core.WireFormatKeyPackage, KeyPackage: kp.kp}
	return m.Marshal()
}

// Ref returns the KeyPackageRef (RFC 9420, Section 5.2), by which a Welcome
// addresses the joiner.
func (kp *KeyPackage) Ref() ([]byte, error) {
	if kp == nil || kp.kp == nil {
		return nil, errNoKeyPackage
	}
	return kp.kp.Ref()
}

// CipherSuite returns the suite of the groups kp can join.
func (kp *KeyPackage) CipherSuite() CipherSuite {
	if kp == nil || kp.kp == nil {
		return 0
	}
	return CipherSuite(kp.kp.CipherSuite)
}

// Credential returns the credential of kp's leaf.
func (kp *KeyPackage) Credential() Credential {
	if kp == nil || kp.kp == nil {
		return Credential{}
	}
	return credentialFromCore(&kp.kp.LeafNode.Credential)
}

// Lifetime returns the validity period of kp's leaf (RFC 9420, Section
// 7.2), what a delivery service checks before handing it out.
func (kp *KeyPackage) Lifetime() Lifetime {
	if kp == nil || kp.kp == nil {
		return Lifetime{}
	}
	return Lifetime(kp.kp.LeafNode.Lifetime)
}

// SignaturePrivateKey is a member's signature private key: the raw private
// key of the cipher suite's signature scheme, as RFC 9420 and the MLS
// interop harness encode it (the 32-octet seed for Ed25519, 57 for Ed448,
// the big-endian scalar for ECDSA). It never prints or encodes to JSON.
type SignaturePrivateKey struct {
	// A pointer to the key: where fmt prints a *SignaturePrivateKey by
	// reflection (nested in an unexported field, with a verb invalid for
	// pointers such as %s), it reaches only this pointer's address.
	p *[]byte
}

// NewSignaturePrivateKey wraps a copy of a raw signature private key.
func NewSignaturePrivateKey(raw []byte) *SignaturePrivateKey {
	b := bytes.Clone(raw)
	return &SignaturePrivateKey{&b}
}

// GenerateSignatureKey draws a signature key pair of suite cs from
// cfg.Rand, for reuse across KeyPackages (KeyPackageOptions.SignatureKey)
// or as an external sender's key. It returns the private key and the
// encoded public key.
func GenerateSignatureKey(cfg *Config, cs CipherSuite) (*SignaturePrivateKey, []byte, error) {
	priv, pub, err := core.GenerateSignatureKey(cfg.core(), core.CipherSuite(cs))
	if err != nil {
		return nil, nil, err
	}
	return &SignaturePrivateKey{&priv}, pub, nil
}

// Bytes returns a copy of the raw private key, for storage the application
// protects.
func (k *SignaturePrivateKey) Bytes() []byte { return bytes.Clone(k.raw()) }

func (k *SignaturePrivateKey) raw() []byte {
	if k == nil || k.p == nil {
		return nil
	}
	return *k.p
}

// Format prints the key as redacted, with every verb.
func (k SignaturePrivateKey) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "mls.SignaturePrivateKey(REDACTED, %d bytes)", len(k.raw()))
}

// MarshalJSON encodes the key as a redacted string.
func (k SignaturePrivateKey) MarshalJSON() ([]byte, error) {
	return []byte(`"mls.SignaturePrivateKey(REDACTED)"`), nil
}

// KeyPackageBundle is a KeyPackage with the private keys its owner keeps
// until it joins: the init key (to decrypt the Welcome), the leaf
// encryption key and the signature key. It prints as its public
// KeyPackage only. MarshalBinary and UnmarshalKeyPackageBundle store it.
type KeyPackageBundle struct{ b *core.KeyPackageBundle }

// errNoBundle is returned for a nil or zero KeyPackageBundle.
var errNoBundle = fmt.Errorf("%w: nil or zero KeyPackageBundle", ErrInvalidKeyPackage)

// bundle returns the low-level bundle of b, or an error if b is nil or zero.
func (b *KeyPackageBundle) bundle() (*core.KeyPackageBundle, error) {
	if b == nil || b.b == nil || b.b.KeyPackage == nil {
		return nil, errNoBundle
	}
	return b.b, nil
}

// KeyPackageOptions are the optional parts of a new KeyPackage.
type KeyPackageOptions struct {
	// SignatureKey is the signature private key to reuse (nil: generate
	// one from Config.Rand).
	SignatureKey *SignaturePrivateKey
	// Capabilities to advertise in addition to this package's own for the
	// suite (nil: only those).
	Capabilities *Capabilities
	// Lifetime of the leaf (nil: 0 to 2^64-1).
	Lifetime *Lifetime
	// LeafExtensions go in the LeafNode, Extensions in the KeyPackage.
	LeafExtensions Extensions
	Extensions     Extensions
}

// NewKeyPackage creates a KeyPackage for suite cs and credential, with
// fresh keys drawn from cfg.Rand (RFC 9420, Section 10).
func NewKeyPackage(cfg *Config, cs CipherSuite, credential Credential, opts *KeyPackageOptions) (*KeyPackageBundle, error) {
	var co *core.KeyPackageOptions
	if opts != nil {
		co = &core.KeyPackageOptions{
			SignatureKey:   bytes.Clone(opts.SignatureKey.raw()),
			Capabilities:   opts.Capabilities.core(cs),
			LeafExtensions: opts.LeafExtensions.core(),
			Extensions:     opts.Extensions.core(),
		}
		if opts.Lifetime != nil {
			co.Lifetime = &core.Lifetime{NotBefore: opts.Lifetime.NotBefore, NotAfter: opts.Lifetime.NotAfter}
		}
	}
	b, err := core.NewKeyPackage(cfg.core(), core.CipherSuite(cs), credential.core(), co)
	if err != nil {
		return nil, err
	}
	return &KeyPackageBundle{b}, nil
}

// KeyPackage returns the public KeyPackage to publish (nil for a zero
// bundle).
func (b *KeyPackageBundle) KeyPackage() *KeyPackage {
	cb, err := b.bundle()
	if err != nil {
		return nil
	}
	return &KeyPackage{cb.KeyPackage}
}

// EraseUsedKeys overwrites the bundle's init and leaf private keys, once
// it has been used to join (RFC 9420, Section 16.8: a KeyPackage is used
// once).
func (b *KeyPackageBundle) EraseUsedKeys() {
	if cb, err := b.bundle(); err == nil {
		cb.EraseUsedKeys()
	}
}

// Format prints the bundle as its KeyPackage reference, with every verb:
// fmt never prints its private keys.
func (b KeyPackageBundle) Format(f fmt.State, _ rune) {
	if b.b == nil || b.b.KeyPackage == nil {
		fmt.Fprint(f, "mls.KeyPackageBundle{}")
		return
	}
	ref, _ := b.b.KeyPackage.Ref()
	fmt.Fprintf(f, "mls.KeyPackageBundle{ref %x, private keys redacted}", ref)
}
