package mls

import (
	"fmt"

	"github.com/mlslab/mlslab/mls/core"
)

// KeyPackage is a client's signed, pre-published offer to be added to
// groups of one cipher suite (RFC 9420, Section 10).
type KeyPackage struct{ kp *core.KeyPackage }

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
	m := &core.MLSMessage{Version: core.ProtocolVersionMLS10, WireFormat: core.WireFormatKeyPackage, KeyPackage: kp.kp}
	return m.Marshal()
}

// Ref returns the KeyPackageRef (RFC 9420, Section 5.2), by which a Welcome
// addresses the joiner.
func (kp *KeyPackage) Ref() ([]byte, error) { return kp.kp.Ref() }

// CipherSuite returns the suite of the groups kp can join.
func (kp *KeyPackage) CipherSuite() CipherSuite { return CipherSuite(kp.kp.CipherSuite) }

// Credential returns the credential of kp's leaf.
func (kp *KeyPackage) Credential() Credential { return credentialFromCore(&kp.kp.LeafNode.Credential) }

// KeyPackageBundle is a KeyPackage with the private keys its owner keeps
// until it joins: the init key (to decrypt the Welcome), the leaf
// encryption key and the signature key. It prints as its public
// KeyPackage only.
type KeyPackageBundle struct{ b *core.KeyPackageBundle }

// KeyPackageOptions are the optional parts of a new KeyPackage.
type KeyPackageOptions struct {
	// SignatureKey is the signature private key to reuse (nil: generate
	// one from Config.Rand). It is never printed.
	SignatureKey []byte
	// Capabilities to advertise (nil: this package's, for the suite).
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
			SignatureKey:   opts.SignatureKey,
			Capabilities:   opts.Capabilities.core(),
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

// KeyPackage returns the public KeyPackage to publish.
func (b *KeyPackageBundle) KeyPackage() *KeyPackage { return &KeyPackage{b.b.KeyPackage} }

// EraseUsedKeys overwrites the bundle's init and leaf private keys, once
// it has been used to join (RFC 9420, Section 16.8: a KeyPackage is used
// once).
func (b *KeyPackageBundle) EraseUsedKeys() { b.b.EraseUsedKeys() }

// Format prints the bundle as its KeyPackage reference, with every verb:
// fmt never prints its private keys.
func (b KeyPackageBundle) Format(f fmt.State, _ rune) {
	if b.b == nil {
		fmt.Fprint(f, "mls.KeyPackageBundle{}")
		return
	}
	ref, _ := b.b.KeyPackage.Ref()
	fmt.Fprintf(f, "mls.KeyPackageBundle{ref %x, private keys redacted}", ref)
}

// Format prints the options with the signature key redacted, with every
// verb.
func (o KeyPackageOptions) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "mls.KeyPackageOptions{SignatureKey: [REDACTED %d bytes], ...}", len(o.SignatureKey))
}

// MarshalJSON encodes the options without the signature key.
func (o KeyPackageOptions) MarshalJSON() ([]byte, error) {
	return []byte(`{"SignatureKey":"[REDACTED]"}`), nil
}
