package core

import (
	"fmt"
	"slices"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/codec"
	"github.com/mlslab/mlslab/mls/internal/suite"
)

// LeafNodeSource says how a LeafNode came to be in the tree (RFC 9420,
// Section 7.2).
type LeafNodeSource uint8

// Leaf node sources of RFC 9420, Section 7.2.
const (
	LeafNodeSourceKeyPackage LeafNodeSource = 1 // key_package
	LeafNodeSourceUpdate     LeafNodeSource = 2 // update
	LeafNodeSourceCommit     LeafNodeSource = 3 // commit
)

// IsValid reports whether s is key_package, update or commit.
func (s LeafNodeSource) IsValid() bool { return s >= 1 && s <= 3 }

// String returns the RFC name of the source.
func (s LeafNodeSource) String() string {
	switch s {
	case LeafNodeSourceKeyPackage:
		return "key_package"
	case LeafNodeSourceUpdate:
		return "update"
	case LeafNodeSourceCommit:
		return "commit"
	}
	return fmt.Sprintf("unknown(%d)", uint8(s))
}

// Capabilities lists what a client supports (RFC 9420, Section 7.2).
// Unknown values (GREASE included) are kept as decoded and must be ignored by
// readers (Section 13.4). Default proposal and extension types are not
// listed (Section 7.2) and are always considered supported by the Supports*
// methods.
//
//	struct {
//	    ProtocolVersion versions<V>;
//	    CipherSuite cipher_suites<V>;
//	    ExtensionType extensions<V>;
//	    ProposalType proposals<V>;
//	    CredentialType credentials<V>;
//	} Capabilities;
type Capabilities struct {
	Versions     []ProtocolVersion
	CipherSuites []CipherSuite
	Extensions   []ExtensionType
	Proposals    []ProposalType
	Credentials  []CredentialType
}

func addUint16List[T ~uint16](b *cryptobyte.Builder, l []T) {
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for _, v := range l {
			b.AddUint16(uint16(v))
		}
	})
}

func readUint16List[T ~uint16](s *cryptobyte.String) ([]T, error) {
	// A list is bounded by its encoding: 2 octets per 2-octet element.
	return readVec(s, codec.MaxVarint, 2, func(v *T, s *cryptobyte.String) error {
		u, err := codec.ReadUint16(s)
		*v = T(u)
		return err
	})
}

func (v *Capabilities) marshal(b *cryptobyte.Builder) {
	addUint16List(b, v.Versions)
	addUint16List(b, v.CipherSuites)
	addUint16List(b, v.Extensions)
	addUint16List(b, v.Proposals)
	addUint16List(b, v.Credentials)
}

func (v *Capabilities) unmarshal(s *cryptobyte.String) error {
	var err error
	if v.Versions, err = readUint16List[ProtocolVersion](s); err != nil {
		return codec.Errorf("Capabilities.versions", err)
	}
	if v.CipherSuites, err = readUint16List[CipherSuite](s); err != nil {
		return codec.Errorf("Capabilities.cipher_suites", err)
	}
	if v.Extensions, err = readUint16List[ExtensionType](s); err != nil {
		return codec.Errorf("Capabilities.extensions", err)
	}
	if v.Proposals, err = readUint16List[ProposalType](s); err != nil {
		return codec.Errorf("Capabilities.proposals", err)
	}
	if v.Credentials, err = readUint16List[CredentialType](s); err != nil {
		return codec.Errorf("Capabilities.credentials", err)
	}
	return nil
}

// SupportsExtension reports whether t is a default extension type or listed
// in the capabilities (RFC 9420, Section 7.2).
func (v *Capabilities) SupportsExtension(t ExtensionType) bool {
	return t.IsDefault() || slices.Contains(v.Extensions, t)
}

// SupportsProposal reports whether the proposal type codepoint p is a
// default proposal type (0x0001-0x0007) or listed (RFC 9420, Section 7.2).
// (It takes the raw codepoint so callers holding unknown types need no
// conversion.)
func (v *Capabilities) SupportsProposal(p uint16) bool {
	return (p >= 1 && p <= 7) || slices.Contains(v.Proposals, ProposalType(p))
}

// SupportsCredential reports whether t is listed in the capabilities.
func (v *Capabilities) SupportsCredential(t CredentialType) bool {
	return slices.Contains(v.Credentials, t)
}

// SupportsVersion reports whether ver is listed.
func (v *Capabilities) SupportsVersion(ver ProtocolVersion) bool {
	return slices.Contains(v.Versions, ver)
}

// SupportsCipherSuite reports whether cs is listed.
func (v *Capabilities) SupportsCipherSuite(cs CipherSuite) bool {
	return slices.Contains(v.CipherSuites, cs)
}

// Lifetime is the validity period of a key_package LeafNode, in seconds
// since the Unix epoch (RFC 9420, Section 7.2).
type Lifetime struct {
	NotBefore uint64
	NotAfter  uint64
}

func (v *Lifetime) marshal(b *cryptobyte.Builder) {
	b.AddUint64(v.NotBefore)
	b.AddUint64(v.NotAfter)
}

func (v *Lifetime) unmarshal(s *cryptobyte.String) error {
	var err error
	if v.NotBefore, err = codec.ReadUint64(s); err != nil {
		return codec.Errorf("Lifetime.not_before", err)
	}
	if v.NotAfter, err = codec.ReadUint64(s); err != nil {
		return codec.Errorf("Lifetime.not_after", err)
	}
	return nil
}

// Contains reports whether the Unix time t (seconds) is within the lifetime.
func (v *Lifetime) Contains(t uint64) bool { return v.NotBefore <= t && t <= v.NotAfter }

// LeafNode describes one member (RFC 9420, Section 7.2).
//
//	struct {
//	    HPKEPublicKey encryption_key;
//	    SignaturePublicKey signature_key;
//	    Credential credential;
//	    Capabilities capabilities;
//	    LeafNodeSource leaf_node_source;
//	    select (LeafNode.leaf_node_source) {
//	        case key_package: Lifetime lifetime;
//	        case update:      struct{};
//	        case commit:      opaque parent_hash<V>;
//	    };
//	    Extension extensions<V>;
//	    opaque signature<V>;
//	} LeafNode;
//
// Lifetime is meaningful only for source key_package, ParentHash only for
// source commit. A LeafNode placed in a ratchet tree is immutable: it is
// shared by every tree (epoch) that holds it.
type LeafNode struct {
	EncryptionKey []byte // HPKEPublicKey
	SignatureKey  []byte // SignaturePublicKey
	Credential    Credential
	Capabilities  Capabilities
	Source        LeafNodeSource
	Lifetime      Lifetime // source key_package
	ParentHash    []byte   // source commit
	Extensions    Extensions
	Signature     []byte
}

// marshalContent writes the fields LeafNode and LeafNodeTBS share.
func (v *LeafNode) marshalContent(b *cryptobyte.Builder) {
	codec.AddOpaque(b, v.EncryptionKey)
	codec.AddOpaque(b, v.SignatureKey)
	v.Credential.marshal(b)
	v.Capabilities.marshal(b)
	b.AddUint8(uint8(v.Source))
	switch v.Source {
	case LeafNodeSourceKeyPackage:
		v.Lifetime.marshal(b)
	case LeafNodeSourceUpdate:
	case LeafNodeSourceCommit:
		codec.AddOpaque(b, v.ParentHash)
	default:
		b.SetError(fmt.Errorf("mls: LeafNode.leaf_node_source %v", v.Source))
	}
	v.Extensions.marshal(b)
}

func (v *LeafNode) marshal(b *cryptobyte.Builder) {
	v.marshalContent(b)
	codec.AddOpaque(b, v.Signature)
}

// marshalTBS writes LeafNodeTBS (RFC 9420, Section 7.2): the content plus,
// for the update and commit sources, group_id<V> and leaf_index.
func (v *LeafNode) marshalTBS(b *cryptobyte.Builder, groupID []byte, leafIndex LeafIndex) {
	v.marshalContent(b)
	if v.Source == LeafNodeSourceUpdate || v.Source == LeafNodeSourceCommit {
		codec.AddOpaque(b, groupID)
		b.AddUint32(uint32(leafIndex))
	}
}

func (v *LeafNode) unmarshal(s *cryptobyte.String) error {
	*v = LeafNode{}
	var err error
	if v.EncryptionKey, err = readOpaqueMin(s, minPublicKey); err != nil {
		return codec.Errorf("LeafNode.encryption_key", err)
	}
	if v.SignatureKey, err = readOpaqueMin(s, minPublicKey); err != nil {
		return codec.Errorf("LeafNode.signature_key", err)
	}
	if err = v.Credential.unmarshal(s); err != nil {
		return codec.Errorf("LeafNode", err)
	}
	if err = v.Capabilities.unmarshal(s); err != nil {
		return codec.Errorf("LeafNode", err)
	}
	src, err := codec.ReadUint8(s)
	if err != nil {
		return codec.Errorf("LeafNode.leaf_node_source", err)
	}
	v.Source = LeafNodeSource(src)
	switch v.Source {
	case LeafNodeSourceKeyPackage:
		if err = v.Lifetime.unmarshal(s); err != nil {
			return codec.Errorf("LeafNode", err)
		}
	case LeafNodeSourceUpdate:
	case LeafNodeSourceCommit:
		if v.ParentHash, err = codec.ReadOpaque(s); err != nil {
			return codec.Errorf("LeafNode.parent_hash", err)
		}
	default:
		return codec.Invalid("LeafNode.leaf_node_source", fmt.Sprintf("value %d", src))
	}
	if err = v.Extensions.unmarshal(s); err != nil {
		return codec.Errorf("LeafNode", err)
	}
	if v.Signature, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("LeafNode.signature", err)
	}
	return nil
}

// Marshal returns the encoding of the leaf node.
func (v *LeafNode) Marshal() ([]byte, error) { return codec.Encode(v.marshal) }

// Unmarshal decodes a leaf node, rejecting trailing bytes.
func (v *LeafNode) Unmarshal(data []byte) error { return codec.Decode(data, v.unmarshal) }

// TBS returns the encoded LeafNodeTBS (RFC 9420, Section 7.2). groupID and
// leafIndex are used only for the update and commit sources.
func (v *LeafNode) TBS(groupID []byte, leafIndex LeafIndex) ([]byte, error) {
	return codec.Encode(func(b *cryptobyte.Builder) { v.marshalTBS(b, groupID, leafIndex) })
}

// Sign sets v.Signature to SignWithLabel(priv, "LeafNodeTBS", LeafNodeTBS)
// (RFC 9420, Section 7.2). groupID and leafIndex are the signature context
// for the update and commit sources and ignored for key_package.
func (v *LeafNode) signPriv(s *suite.Suite, priv, groupID []byte, leafIndex LeafIndex) error {
	k, err := s.NewSigner(priv)
	if err != nil {
		return err
	}
	return v.sign(k, groupID, leafIndex)
}

// sign is Sign with a parsed signature key.
func (v *LeafNode) sign(k *suite.Signer, groupID []byte, leafIndex LeafIndex) error {
	tbs, err := v.TBS(groupID, leafIndex)
	if err != nil {
		return err
	}
	sig, err := k.SignWithLabel("LeafNodeTBS", tbs)
	if err != nil {
		return err
	}
	v.Signature = sig
	return nil
}

// Verify checks v.Signature with v.SignatureKey over LeafNodeTBS (RFC 9420,
// Section 7.2, 7.3). The error wraps suite.ErrVerify on a bad signature.
func (v *LeafNode) verify(s *suite.Suite, groupID []byte, leafIndex LeafIndex) error {
	tbs, err := v.TBS(groupID, leafIndex)
	if err != nil {
		return err
	}
	return s.VerifyWithLabel(v.SignatureKey, "LeafNodeTBS", tbs, v.Signature)
}
