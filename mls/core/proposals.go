package core

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/codec"
)

// ProposalType is a proposal codepoint (RFC 9420, Section 12.1 and the "MLS
// Proposal Types" registry, Section 17.4).
type ProposalType uint16

// Proposal types defined by RFC 9420, Section 17.4.
const (
	ProposalTypeAdd                    ProposalType = 0x0001 // add
	ProposalTypeUpdate                 ProposalType = 0x0002 // update
	ProposalTypeRemove                 ProposalType = 0x0003 // remove
	ProposalTypePSK                    ProposalType = 0x0004 // psk
	ProposalTypeReInit                 ProposalType = 0x0005 // reinit
	ProposalTypeExternalInit           ProposalType = 0x0006 // external_init
	ProposalTypeGroupContextExtensions ProposalType = 0x0007 // group_context_extensions
)

// IsValid reports whether t is one of the proposal types defined by
// RFC 9420 (0x0001-0x0007), i.e. one this implementation can decode.
func (t ProposalType) IsValid() bool {
	return t >= ProposalTypeAdd && t <= ProposalTypeGroupContextExtensions
}

// IsDefault reports whether t is a "default" proposal type that need not be
// listed in Capabilities (RFC 9420, Section 7.2).
func (t ProposalType) IsDefault() bool { return t.IsValid() }

// IsGREASE reports whether t is a GREASE value (RFC 9420, Section 13.5).
func (t ProposalType) IsGREASE() bool { return isGREASE(uint16(t)) }

// PathRequired reports whether a Commit covering a proposal of type t must
// carry an UpdatePath (RFC 9420, Section 12.4 and Section 17.4 "Path
// Required"). Unknown types are treated as requiring a path.
func (t ProposalType) PathRequired() bool {
	switch t {
	case ProposalTypeAdd, ProposalTypePSK, ProposalTypeReInit:
		return false
	}
	return true
}

// AllowedExternal reports whether an external sender may send a proposal of
// type t (RFC 9420, Section 17.4 "External").
func (t ProposalType) AllowedExternal() bool {
	switch t {
	case ProposalTypeAdd, ProposalTypeRemove, ProposalTypePSK, ProposalTypeReInit, ProposalTypeGroupContextExtensions:
		return true
	}
	return false
}

func (t ProposalType) String() string {
	switch t {
	case ProposalTypeAdd:
		return "add"
	case ProposalTypeUpdate:
		return "update"
	case ProposalTypeRemove:
		return "remove"
	case ProposalTypePSK:
		return "psk"
	case ProposalTypeReInit:
		return "reinit"
	case ProposalTypeExternalInit:
		return "external_init"
	case ProposalTypeGroupContextExtensions:
		return "group_context_extensions"
	}
	if t.IsGREASE() {
		return fmt.Sprintf("GREASE(0x%04x)", uint16(t))
	}
	return fmt.Sprintf("unknown(0x%04x)", uint16(t))
}

// ErrUnknownProposalType is matched (errors.Is) by the decoding error of a
// Proposal whose type this implementation does not know. The body of an
// unknown proposal has no length prefix, so it cannot be skipped. The error
// also matches codec.ErrInvalidValue.
var ErrUnknownProposalType = errors.New("mls: unknown proposal type")

// ProposalBody is the type-specific content of a Proposal: *Add, *Update,
// *Remove, *PreSharedKey, *ReInit, *ExternalInit or
// *GroupContextExtensions.
type ProposalBody interface {
	ProposalType() ProposalType
	marshal(b *cryptobyte.Builder)
	unmarshal(s *cryptobyte.String) error
}

var (
	_ ProposalBody = (*Add)(nil)
	_ ProposalBody = (*Update)(nil)
	_ ProposalBody = (*Remove)(nil)
	_ ProposalBody = (*PreSharedKey)(nil)
	_ ProposalBody = (*ReInit)(nil)
	_ ProposalBody = (*ExternalInit)(nil)
	_ ProposalBody = (*GroupContextExtensions)(nil)
)

// Add requests adding the client of KeyPackage.
//
// RFC 9420, Section 12.1.1.
type Add struct {
	KeyPackage KeyPackage
}

func (*Add) ProposalType() ProposalType      { return ProposalTypeAdd }
func (v *Add) marshal(b *cryptobyte.Builder) { v.KeyPackage.marshal(b) }
func (v *Add) unmarshal(s *cryptobyte.String) error {
	if err := v.KeyPackage.unmarshal(s); err != nil {
		return codec.Errorf("Add", err)
	}
	return nil
}

// Update replaces the sender's LeafNode.
//
// RFC 9420, Section 12.1.2.
type Update struct {
	LeafNode LeafNode
}

func (*Update) ProposalType() ProposalType      { return ProposalTypeUpdate }
func (v *Update) marshal(b *cryptobyte.Builder) { v.LeafNode.marshal(b) }
func (v *Update) unmarshal(s *cryptobyte.String) error {
	if err := v.LeafNode.unmarshal(s); err != nil {
		return codec.Errorf("Update", err)
	}
	return nil
}

// Remove requests removing the member at leaf index Removed.
//
// RFC 9420, Section 12.1.3.
type Remove struct {
	Removed uint32
}

func (*Remove) ProposalType() ProposalType      { return ProposalTypeRemove }
func (v *Remove) marshal(b *cryptobyte.Builder) { b.AddUint32(v.Removed) }
func (v *Remove) unmarshal(s *cryptobyte.String) error {
	var err error
	if v.Removed, err = codec.ReadUint32(s); err != nil {
		return codec.Errorf("Remove.removed", err)
	}
	return nil
}

// PreSharedKey requests injecting the PSK identified by PSK.
//
// RFC 9420, Section 12.1.4.
type PreSharedKey struct {
	PSK PreSharedKeyID
}

func (*PreSharedKey) ProposalType() ProposalType      { return ProposalTypePSK }
func (v *PreSharedKey) marshal(b *cryptobyte.Builder) { v.PSK.marshal(b) }
func (v *PreSharedKey) unmarshal(s *cryptobyte.String) error {
	if err := v.PSK.unmarshal(s); err != nil {
		return codec.Errorf("PreSharedKey", err)
	}
	return nil
}

// ReInit requests reinitializing the group with new parameters.
//
// RFC 9420, Section 12.1.5.
type ReInit struct {
	GroupID     []byte
	Version     ProtocolVersion
	CipherSuite CipherSuite
	Extensions  Extensions
}

func (*ReInit) ProposalType() ProposalType { return ProposalTypeReInit }

func (v *ReInit) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, v.GroupID)
	v.Version.marshal(b)
	b.AddUint16(uint16(v.CipherSuite))
	v.Extensions.marshal(b)
}

func (v *ReInit) unmarshal(s *cryptobyte.String) error {
	var err error
	if v.GroupID, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("ReInit.group_id", err)
	}
	if err = v.Version.unmarshal(s); err != nil {
		return codec.Errorf("ReInit.version", err)
	}
	cs, err := codec.ReadUint16(s)
	if err != nil {
		return codec.Errorf("ReInit.cipher_suite", err)
	}
	v.CipherSuite = CipherSuite(cs)
	if err = v.Extensions.unmarshal(s); err != nil {
		return codec.Errorf("ReInit", err)
	}
	return nil
}

// ExternalInit carries the KEM output of an external joiner.
//
// RFC 9420, Section 12.1.6.
type ExternalInit struct {
	KEMOutput []byte
}

func (*ExternalInit) ProposalType() ProposalType      { return ProposalTypeExternalInit }
func (v *ExternalInit) marshal(b *cryptobyte.Builder) { codec.AddOpaque(b, v.KEMOutput) }
func (v *ExternalInit) unmarshal(s *cryptobyte.String) error {
	var err error
	if v.KEMOutput, err = readOpaqueMin(s, minKEMOutput); err != nil {
		return codec.Errorf("ExternalInit.kem_output", err)
	}
	return nil
}

// GroupContextExtensions replaces the GroupContext extensions wholesale.
//
// RFC 9420, Section 12.1.7.
type GroupContextExtensions struct {
	Extensions Extensions
}

func (*GroupContextExtensions) ProposalType() ProposalType { return ProposalTypeGroupContextExtensions }
func (v *GroupContextExtensions) marshal(b *cryptobyte.Builder) {
	v.Extensions.marshal(b)
}
func (v *GroupContextExtensions) unmarshal(s *cryptobyte.String) error {
	if err := v.Extensions.unmarshal(s); err != nil {
		return codec.Errorf("GroupContextExtensions", err)
	}
	return nil
}

// newProposalBody returns an empty body for t, or nil for unknown types.
func newProposalBody(t ProposalType) ProposalBody {
	switch t {
	case ProposalTypeAdd:
		return new(Add)
	case ProposalTypeUpdate:
		return new(Update)
	case ProposalTypeRemove:
		return new(Remove)
	case ProposalTypePSK:
		return new(PreSharedKey)
	case ProposalTypeReInit:
		return new(ReInit)
	case ProposalTypeExternalInit:
		return new(ExternalInit)
	case ProposalTypeGroupContextExtensions:
		return new(GroupContextExtensions)
	}
	return nil
}

// Proposal is a proposed change to the group: proposal_type followed by the
// body of that type. Type() is derived from Body, so the two cannot
// disagree.
//
// RFC 9420, Section 12.1.
type Proposal struct {
	Body ProposalBody
}

// NewProposal wraps body in a Proposal.
func NewProposal(body ProposalBody) *Proposal { return &Proposal{Body: body} }

// Type returns the proposal type (0 for an empty Proposal).
func (v *Proposal) Type() ProposalType {
	if v.Body == nil {
		return 0
	}
	return v.Body.ProposalType()
}

func (v *Proposal) marshal(b *cryptobyte.Builder) {
	if v.Body == nil {
		b.SetError(errors.New("mls: cannot encode empty Proposal"))
		return
	}
	b.AddUint16(uint16(v.Body.ProposalType()))
	v.Body.marshal(b)
}

func (v *Proposal) unmarshal(s *cryptobyte.String) error {
	t, err := codec.ReadUint16(s)
	if err != nil {
		return codec.Errorf("Proposal.proposal_type", err)
	}
	body := newProposalBody(ProposalType(t))
	if body == nil {
		return &codec.Error{Field: "Proposal.proposal_type",
			Err: fmt.Errorf("%w: %w: %v", codec.ErrInvalidValue, ErrUnknownProposalType, ProposalType(t))}
	}
	if err := body.unmarshal(s); err != nil {
		return codec.Errorf("Proposal", err)
	}
	v.Body = body
	return nil
}

// Marshal returns the encoding of the Proposal.
func (v *Proposal) Marshal() ([]byte, error) { return codec.Encode(v.marshal) }

// UnmarshalProposal decodes a Proposal, rejecting trailing bytes and unknown
// proposal types (ErrUnknownProposalType).
func UnmarshalProposal(data []byte) (*Proposal, error) {
	v := new(Proposal)
	if err := codec.Decode(data, v.unmarshal); err != nil {
		return nil, err
	}
	return v, nil
}

// ProposalOrRefType selects between an inline proposal and a reference
// (RFC 9420, Section 12.4).
type ProposalOrRefType uint8

// ProposalOrRef types of RFC 9420, Section 12.4.
const (
	ProposalOrRefProposal  ProposalOrRefType = 1 // proposal
	ProposalOrRefReference ProposalOrRefType = 2 // reference
)

// IsValid reports whether t is proposal or reference.
func (t ProposalOrRefType) IsValid() bool {
	return t == ProposalOrRefProposal || t == ProposalOrRefReference
}

func (t ProposalOrRefType) String() string {
	switch t {
	case ProposalOrRefProposal:
		return "proposal"
	case ProposalOrRefReference:
		return "reference"
	}
	return fmt.Sprintf("ProposalOrRefType(%d)", uint8(t))
}

// ProposalOrRef is a proposal covered by a Commit, included by value
// (Proposal) or by ProposalRef (Reference, the MakeProposalRef of the
// AuthenticatedContent that carried it, RFC 9420 Section 5.2).
//
// RFC 9420, Section 12.4.
type ProposalOrRef struct {
	Type      ProposalOrRefType
	Proposal  *Proposal // ProposalOrRefProposal
	Reference []byte    // ProposalOrRefReference
}

func (v *ProposalOrRef) marshal(b *cryptobyte.Builder) {
	b.AddUint8(uint8(v.Type))
	switch v.Type {
	case ProposalOrRefProposal:
		if v.Proposal == nil {
			b.SetError(errors.New("mls: ProposalOrRef of type proposal without Proposal"))
			return
		}
		v.Proposal.marshal(b)
	case ProposalOrRefReference:
		codec.AddOpaque(b, v.Reference)
	default:
		b.SetError(fmt.Errorf("mls: cannot encode ProposalOrRef with %v", v.Type))
	}
}

func (v *ProposalOrRef) unmarshal(s *cryptobyte.String) error {
	t, err := codec.ReadUint8(s)
	if err != nil {
		return codec.Errorf("ProposalOrRef.type", err)
	}
	*v = ProposalOrRef{Type: ProposalOrRefType(t)}
	switch v.Type {
	case ProposalOrRefProposal:
		v.Proposal = new(Proposal)
		if err := v.Proposal.unmarshal(s); err != nil {
			return codec.Errorf("ProposalOrRef", err)
		}
	case ProposalOrRefReference:
		if v.Reference, err = readOpaqueMin(s, minHashOutput); err != nil {
			return codec.Errorf("ProposalOrRef.reference", err)
		}
	default:
		return codec.Invalid("ProposalOrRef.type", fmt.Sprintf("unknown type %d", t))
	}
	return nil
}
