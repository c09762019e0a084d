package core

import (
	"bytes"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/codec"
	"github.com/mlslab/mlslab/mls/internal/suite"
)

// KeyPackage is a client's pre-published offer to be added to a group: a
// version and cipher suite it supports, an HPKE init key for the Welcome,
// and the LeafNode to place in the tree, signed with the leaf's signature
// key.
//
// RFC 9420, Section 10.
type KeyPackage struct {
	Version     ProtocolVersion
	CipherSuite CipherSuite
	InitKey     []byte // HPKEPublicKey
	LeafNode    LeafNode
	Extensions  Extensions
	Signature   []byte
}

// marshalTBS writes KeyPackageTBS: every field but the signature
// (RFC 9420, Section 10).
func (v *KeyPackage) marshalTBS(b *cryptobyte.Builder) {
	v.Version.marshal(b)
	b.AddUint16(uint16(v.CipherSuite))
	codec.AddOpaque(b, v.InitKey)
	v.LeafNode.marshal(b)
	v.Extensions.marshal(b)
}

func (v *KeyPackage) marshal(b *cryptobyte.Builder) {
	v.marshalTBS(b)
	codec.AddOpaque(b, v.Signature)
}

func (v *KeyPackage) unmarshal(s *cryptobyte.String) error {
	*v = KeyPackage{}
	if err := v.Version.unmarshal(s); err != nil {
		return codec.Errorf("KeyPackage.version", err)
	}
	cs, err := codec.ReadUint16(s)
	if err != nil {
		return codec.Errorf("KeyPackage.cipher_suite", err)
	}
	v.CipherSuite = CipherSuite(cs)
	if v.InitKey, err = readOpaqueMin(s, minPublicKey); err != nil {
		return codec.Errorf("KeyPackage.init_key", err)
	}
	if err := v.LeafNode.unmarshal(s); err != nil {
		return codec.Errorf("KeyPackage", err)
	}
	if err := v.Extensions.unmarshal(s); err != nil {
		return codec.Errorf("KeyPackage", err)
	}
	if v.Signature, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("KeyPackage.signature", err)
	}
	return nil
}

// Marshal returns the encoding of the KeyPackage.
func (v *KeyPackage) Marshal() ([]byte, error) { return codec.Encode(v.marshal) }

// UnmarshalKeyPackage decodes a KeyPackage, rejecting trailing bytes. It
// applies the default size limits: DefaultMaxMessageSize to data before
// decoding, DefaultMaxCredentialSize and DefaultMaxExtensionSize to the
// result (errors match ErrLimitExceeded).
func UnmarshalKeyPackage(data []byte) (*KeyPackage, error) {
	l := (*Config)(nil).limits()
	if len(data) > l.message {
		return nil, limitErr(CodeDecode, ruleLimitMessage, fmt.Sprintf("KeyPackage of %d octets (limit %d)", len(data), l.message))
	}
	v := new(KeyPackage)
	if err := codec.Decode(data, v.unmarshal); err != nil {
		return nil, err
	}
	if err := l.checkKeyPackage(v); err != nil {
		return nil, err
	}
	return v, nil
}

// TBS returns the encoded KeyPackageTBS (RFC 9420, Section 10).
func (v *KeyPackage) TBS() ([]byte, error) { return codec.Encode(v.marshalTBS) }

// Sign sets v.Signature to SignWithLabel(priv, "KeyPackageTBS",
// KeyPackageTBS) (RFC 9420, Section 10). priv must be the private key of
// v.LeafNode.SignatureKey.
func (v *KeyPackage) Sign(priv []byte) error {
	cs, err := suite.Get(suite.ID(v.CipherSuite))
	if err != nil {
		return protoErr(CodeUnsupported, "RFC 9420 §10 cipher_suite", "", err)
	}
	k, err := cs.NewSigner(priv)
	if err != nil {
		return fmt.Errorf("mls: signing KeyPackage: %w", err)
	}
	return v.sign(k)
}

// sign is Sign with a parsed signature key.
func (v *KeyPackage) sign(k *suite.Signer) error {
	tbs, err := v.TBS()
	if err != nil {
		return err
	}
	sig, err := k.SignWithLabel("KeyPackageTBS", tbs)
	if err != nil {
		return fmt.Errorf("mls: signing KeyPackage: %w", err)
	}
	v.Signature = sig
	return nil
}

// VerifySignature checks v.Signature with v.LeafNode.SignatureKey
// (RFC 9420, Section 10: a KeyPackage with an invalid signature is
// malformed). The error matches ErrInvalidSignature.
func (v *KeyPackage) VerifySignature() error {
	cs, err := suite.Get(suite.ID(v.CipherSuite))
	if err != nil {
		return protoErr(CodeUnsupported, "RFC 9420 §10 cipher_suite", "", err)
	}
	tbs, err := v.TBS()
	if err != nil {
		return protoErr(CodeInvalidKeyPackage, "RFC 9420 §10", "KeyPackageTBS not encodable", err)
	}
	if err := cs.VerifyWithLabel(v.LeafNode.SignatureKey, "KeyPackageTBS", tbs, v.Signature); err != nil {
		return protoErr(CodeInvalidSignature, "RFC 9420 §10 KeyPackage signature", "", err)
	}
	return nil
}

// Ref returns the KeyPackageRef of v: MakeKeyPackageRef over its encoding
// with v's cipher suite (RFC 9420, Section 5.2).
func (v *KeyPackage) Ref() ([]byte, error) {
	cs, err := suite.Get(suite.ID(v.CipherSuite))
	if err != nil {
		return nil, protoErr(CodeUnsupported, "RFC 9420 §5.2 KeyPackageRef", "", err)
	}
	enc, err := v.Marshal()
	if err != nil {
		return nil, err
	}
	return cs.MakeKeyPackageRef(enc), nil
}

// KeyPackageValidator checks a LeafNode for use in a KeyPackage according to
// RFC 9420, Section 7.3 (the tree engineer's leaf validation, injected so
// that ValidateKeyPackage does not fix its signature).
type KeyPackageValidator func(ln *LeafNode) error

// validateKeyPackage performs the checks of RFC 9420, Section 10.1 for a
// KeyPackage to be used in a group with the given version and cipher suite:
// matching version and suite, leaf node validity (validateLeaf, may be nil
// to skip; it must check Section 7.3 for source key_package), the
// KeyPackage signature, and encryption_key != init_key. Unknown
// KeyPackage.extensions, GREASE or not, are ignored (Sections 10, 13.4). Errors are
// *ProtocolError values matching ErrInvalidKeyPackage or
// ErrInvalidSignature.
func validateKeyPackage(v *KeyPackage, version ProtocolVersion, cs CipherSuite, validateLeaf KeyPackageValidator) error {
	return validateKeyPackageSig(v, version, cs, validateLeaf, false)
}

// validateKeyPackageSig is validateKeyPackage, with the KeyPackage
// signature check skipped when sigVerified: the caller verified exactly
// that signature (v.LeafNode.SignatureKey, "KeyPackageTBS", v's TBS,
// v.Signature) already (batchVerifyAdds). Every other check runs, in the
// same order.
func validateKeyPackageSig(v *KeyPackage, version ProtocolVersion, cs CipherSuite, validateLeaf KeyPackageValidator, sigVerified bool) error {
	const rule = "RFC 9420 §10.1"
	if v.Version != version {
		return protoErr(CodeInvalidKeyPackage, rule+" version", fmt.Sprintf("KeyPackage %v, group %v", v.Version, version), nil)
	}
	if v.CipherSuite != cs {
		return protoErr(CodeInvalidKeyPackage, rule+" cipher_suite", fmt.Sprintf("KeyPackage %v, group %v", v.CipherSuite, cs), nil)
	}
	if v.LeafNode.Source != LeafNodeSourceKeyPackage {
		return protoErr(CodeInvalidKeyPackage, "RFC 9420 §10 leaf_node_source", fmt.Sprintf("%v", v.LeafNode.Source), nil)
	}
	if validateLeaf != nil {
		if err := validateLeaf(&v.LeafNode); err != nil {
			return protoErr(CodeInvalidKeyPackage, rule+" leaf_node (§7.3)", "", err)
		}
	}
	// KeyPackage.extensions are not checked against the leaf's
	// capabilities. Section 10's "Extensions included in the extensions or
	// leaf_node.extensions fields MUST be included in the
	// leaf_node.capabilities field" binds the KeyPackage's creator; its
	// receiver "MUST ignore ... all unknown extensions in the extensions and
	// leaf_node.extensions fields" (Section 13.4; Section 10: "unknown
	// extensions in KeyPackage.extensions MUST be ignored"), GREASE ones
	// included (Section 13.5: no special handling of GREASE values), and
	// other implementations send GREASE KeyPackage extensions without
	// listing them. The only extension types this implementation knows are
	// the default ones, which count as listed (Section 7.2), so no type is
	// left to check. (Unknown types in leaf_node.extensions, by contrast,
	// must still be listed: Section 7.3, checked by validateLeaf.)
	if !sigVerified {
		if err := v.VerifySignature(); err != nil {
			return err
		}
	}
	if bytes.Equal(v.LeafNode.EncryptionKey, v.InitKey) {
		return protoErr(CodeInvalidKeyPackage, rule+" encryption_key != init_key", "", nil)
	}
	// The Welcome is encrypted to init_key: a key nobody can encrypt to
	// would fail the Add's commit (RFC 9180, Section 7.1.4; FIPS 203,
	// Section 7.2 for the post-quantum suites).
	if s, err := suite.Get(suite.ID(cs)); err == nil {
		if err := s.ValidateHPKEPublicKey(v.InitKey); err != nil {
			return protoErr(CodeInvalidKeyPackage, rule+" init_key is a valid HPKE public key", "", err)
		}
	}
	return nil
}
