package core

// Message framing structures of RFC 9420, Section 6 (6.1-6.3.2) and their
// encodings.
//
// Copy on ingest: every decoder in this file (and in key_package.go,
// proposals.go, commit.go, welcome.go) stores byte strings only through
// codec.ReadOpaque, which copies, so a decoded value never aliases the input
// buffer.

import (
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/codec"
)

// ProtocolVersion is an MLS protocol version (RFC 9420, Section 6).
type ProtocolVersion uint16

// Protocol versions of RFC 9420, Section 6.
const (
	ProtocolVersionMLS10 ProtocolVersion = 1 // mls10
)

// IsValid reports whether v is a defined (non-reserved) protocol version.
func (v ProtocolVersion) IsValid() bool { return v == ProtocolVersionMLS10 }

func (v ProtocolVersion) String() string {
	if v == ProtocolVersionMLS10 {
		return "mls10"
	}
	return fmt.Sprintf("ProtocolVersion(0x%04x)", uint16(v))
}

func (v ProtocolVersion) marshal(b *cryptobyte.Builder) { b.AddUint16(uint16(v)) }

func (v *ProtocolVersion) unmarshal(s *cryptobyte.String) error {
	x, err := codec.ReadUint16(s)
	if err != nil {
		return err
	}
	*v = ProtocolVersion(x)
	return nil
}

// WireFormat is the MLS wire format codepoint (RFC 9420, Section 6 and
// Section 17.2).
type WireFormat uint16

// Wire formats of RFC 9420, Section 17.2.
const (
	WireFormatPublicMessage  WireFormat = 0x0001 // mls_public_message
	WireFormatPrivateMessage WireFormat = 0x0002 // mls_private_message
	WireFormatWelcome        WireFormat = 0x0003 // mls_welcome
	WireFormatGroupInfo      WireFormat = 0x0004 // mls_group_info
	WireFormatKeyPackage     WireFormat = 0x0005 // mls_key_package
)

// IsValid reports whether w is one of the wire formats defined by RFC 9420.
func (w WireFormat) IsValid() bool { return w >= WireFormatPublicMessage && w <= WireFormatKeyPackage }

func (w WireFormat) String() string {
	switch w {
	case WireFormatPublicMessage:
		return "mls_public_message"
	case WireFormatPrivateMessage:
		return "mls_private_message"
	case WireFormatWelcome:
		return "mls_welcome"
	case WireFormatGroupInfo:
		return "mls_group_info"
	case WireFormatKeyPackage:
		return "mls_key_package"
	}
	return fmt.Sprintf("WireFormat(0x%04x)", uint16(w))
}

// ContentType is the type of a FramedContent (RFC 9420, Section 6).
type ContentType uint8

// Content types of RFC 9420, Section 6.
const (
	ContentTypeApplication ContentType = 1 // application
	ContentTypeProposal    ContentType = 2 // proposal
	ContentTypeCommit      ContentType = 3 // commit
)

// IsValid reports whether c is a defined content type.
func (c ContentType) IsValid() bool { return c >= ContentTypeApplication && c <= ContentTypeCommit }

func (c ContentType) String() string {
	switch c {
	case ContentTypeApplication:
		return "application"
	case ContentTypeProposal:
		return "proposal"
	case ContentTypeCommit:
		return "commit"
	}
	return fmt.Sprintf("ContentType(%d)", uint8(c))
}

func readContentType(s *cryptobyte.String, field string) (ContentType, error) {
	v, err := codec.ReadUint8(s)
	if err != nil {
		return 0, codec.Errorf(field, err)
	}
	c := ContentType(v)
	if !c.IsValid() {
		return 0, codec.Invalid(field, fmt.Sprintf("unknown content type %d", v))
	}
	return c, nil
}

// SenderType is the kind of sender of a message (RFC 9420, Section 6).
type SenderType uint8

// Sender types of RFC 9420, Section 6.
const (
	SenderTypeMember            SenderType = 1 // member
	SenderTypeExternal          SenderType = 2 // external
	SenderTypeNewMemberProposal SenderType = 3 // new_member_proposal
	SenderTypeNewMemberCommit   SenderType = 4 // new_member_commit
)

// IsValid reports whether t is a defined sender type.
func (t SenderType) IsValid() bool { return t >= SenderTypeMember && t <= SenderTypeNewMemberCommit }

func (t SenderType) String() string {
	switch t {
	case SenderTypeMember:
		return "member"
	case SenderTypeExternal:
		return "external"
	case SenderTypeNewMemberProposal:
		return "new_member_proposal"
	case SenderTypeNewMemberCommit:
		return "new_member_commit"
	}
	return fmt.Sprintf("SenderType(%d)", uint8(t))
}

// Sender identifies the sender of a FramedContent.
//
// RFC 9420, Section 6.
type Sender struct {
	Type SenderType
	// Index is leaf_index for member senders and sender_index (into the
	// external_senders extension) for external senders; zero otherwise.
	Index uint32
}

// MemberSender returns the Sender for the member at leaf index leaf.
func MemberSender(leaf uint32) Sender { return Sender{Type: SenderTypeMember, Index: leaf} }

func (v *Sender) marshal(b *cryptobyte.Builder) {
	b.AddUint8(uint8(v.Type))
	switch v.Type {
	case SenderTypeMember, SenderTypeExternal:
		b.AddUint32(v.Index)
	case SenderTypeNewMemberProposal, SenderTypeNewMemberCommit:
	default:
		b.SetError(fmt.Errorf("mls: cannot encode Sender with %v", v.Type))
	}
}

func (v *Sender) unmarshal(s *cryptobyte.String) error {
	t, err := codec.ReadUint8(s)
	if err != nil {
		return codec.Errorf("Sender.sender_type", err)
	}
	v.Type = SenderType(t)
	v.Index = 0
	switch v.Type {
	case SenderTypeMember, SenderTypeExternal:
		if v.Index, err = codec.ReadUint32(s); err != nil {
			return codec.Errorf("Sender.index", err)
		}
	case SenderTypeNewMemberProposal, SenderTypeNewMemberCommit:
	default:
		return codec.Invalid("Sender.sender_type", fmt.Sprintf("unknown sender type %d", t))
	}
	return nil
}

// FramedContent is the content of a handshake or application message with
// its group, epoch and sender.
//
// Exactly one of ApplicationData, Proposal or Commit is meaningful, selected
// by ContentType.
//
// RFC 9420, Section 6.
type FramedContent struct {
	GroupID           []byte
	Epoch             uint64
	Sender            Sender
	AuthenticatedData []byte
	ContentType       ContentType
	ApplicationData   []byte    // ContentTypeApplication
	Proposal          *Proposal // ContentTypeProposal
	Commit            *Commit   // ContentTypeCommit
}

func (v *FramedContent) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, v.GroupID)
	b.AddUint64(v.Epoch)
	v.Sender.marshal(b)
	codec.AddOpaque(b, v.AuthenticatedData)
	b.AddUint8(uint8(v.ContentType))
	marshalContentBody(b, v.ContentType, v.ApplicationData, v.Proposal, v.Commit)
}

// marshalContentBody writes the select(content_type) body shared by
// FramedContent and PrivateMessageContent.
func marshalContentBody(b *cryptobyte.Builder, ct ContentType, app []byte, p *Proposal, c *Commit) {
	switch ct {
	case ContentTypeApplication:
		codec.AddOpaque(b, app)
	case ContentTypeProposal:
		if p == nil {
			b.SetError(errors.New("mls: proposal content without Proposal"))
			return
		}
		p.marshal(b)
	case ContentTypeCommit:
		if c == nil {
			b.SetError(errors.New("mls: commit content without Commit"))
			return
		}
		c.marshal(b)
	default:
		b.SetError(fmt.Errorf("mls: cannot encode content of %v", ct))
	}
}

// unmarshalContentBody reads the select(content_type) body shared by
// FramedContent and PrivateMessageContent.
func unmarshalContentBody(s *cryptobyte.String, ct ContentType, field string) (app []byte, p *Proposal, c *Commit, err error) {
	switch ct {
	case ContentTypeApplication:
		if app, err = codec.ReadOpaque(s); err != nil {
			return nil, nil, nil, codec.Errorf(field+".application_data", err)
		}
	case ContentTypeProposal:
		p = new(Proposal)
		if err = p.unmarshal(s); err != nil {
			return nil, nil, nil, codec.Errorf(field, err)
		}
	case ContentTypeCommit:
		c = new(Commit)
		if err = c.unmarshal(s); err != nil {
			return nil, nil, nil, codec.Errorf(field, err)
		}
	default:
		return nil, nil, nil, codec.Invalid(field+".content_type", fmt.Sprintf("unknown content type %d", ct))
	}
	return app, p, c, nil
}

func (v *FramedContent) unmarshal(s *cryptobyte.String) error {
	var err error
	if v.GroupID, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("FramedContent.group_id", err)
	}
	if v.Epoch, err = codec.ReadUint64(s); err != nil {
		return codec.Errorf("FramedContent.epoch", err)
	}
	if err = v.Sender.unmarshal(s); err != nil {
		return codec.Errorf("FramedContent", err)
	}
	if v.AuthenticatedData, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("FramedContent.authenticated_data", err)
	}
	if v.ContentType, err = readContentType(s, "FramedContent.content_type"); err != nil {
		return err
	}
	v.ApplicationData, v.Proposal, v.Commit, err = unmarshalContentBody(s, v.ContentType, "FramedContent")
	return err
}

// FramedContentAuthData authenticates a FramedContent: the signature and,
// for commits, the confirmation tag.
//
// RFC 9420, Section 6.1.
type FramedContentAuthData struct {
	Signature       []byte
	ConfirmationTag []byte // present iff the content type is commit
}

func (v *FramedContentAuthData) marshal(b *cryptobyte.Builder, ct ContentType) {
	codec.AddOpaque(b, v.Signature)
	if ct == ContentTypeCommit {
		codec.AddOpaque(b, v.ConfirmationTag)
	}
}

func (v *FramedContentAuthData) unmarshal(s *cryptobyte.String, ct ContentType) error {
	var err error
	if v.Signature, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("FramedContentAuthData.signature", err)
	}
	v.ConfirmationTag = nil
	if ct == ContentTypeCommit {
		if v.ConfirmationTag, err = codec.ReadOpaque(s); err != nil {
			return codec.Errorf("FramedContentAuthData.confirmation_tag", err)
		}
	}
	return nil
}

// AuthenticatedContent is a FramedContent with its authentication data and
// the wire format it is (to be) sent in.
//
// RFC 9420, Section 6.
type AuthenticatedContent struct {
	WireFormat WireFormat
	Content    FramedContent
	Auth       FramedContentAuthData

	// framed, when not nil, is wire_format || FramedContent encoded: the
	// common part of FramedContentTBS (after its version),
	// AuthenticatedContentTBM, ConfirmedTranscriptHashInput and the
	// AuthenticatedContent itself (RFC 9420, Sections 6.1, 6.2, 8.2).
	// A flow that handles one message (verifying a received message in
	// unprotectPublic and openPrivate, or framing one in Group.frame and
	// the external commit) sets it with pinFramed, so that the large
	// FramedContent of a commit is encoded once, not once per input.
	//
	// Invariant: framed is set only on a value the flow itself created,
	// after its WireFormat and Content are final, and the flow never
	// changes them afterwards (Auth may change: it is not covered). A
	// value handed to a caller outside the package has framed == nil
	// (UnprotectPublic, OpenPrivate and UnprotectPrivate clear it), and
	// the exported methods and functions taking an AuthenticatedContent
	// (Marshal, ConfirmedTranscriptHashInput, Sign, ProtectPublic) never
	// read it, so an exported field mutated by user code can never meet a
	// stale encoding. It is never written on a shared value: each
	// verification builds its own AuthenticatedContent (a decoded
	// *MLSMessage may be processed by several goroutines at once).
	framed []byte
}

// encodeFramed encodes wire_format || FramedContent (see
// AuthenticatedContent.framed).
func encodeFramed(wf WireFormat, fc *FramedContent) ([]byte, error) {
	return codec.Encode(func(b *cryptobyte.Builder) {
		b.AddUint16(uint16(wf))
		fc.marshal(b)
	})
}

// pinFramed encodes v's wire format and content once for the rest of the
// calling flow (see the invariant of AuthenticatedContent.framed).
func (v *AuthenticatedContent) pinFramed() error {
	enc, err := encodeFramed(v.WireFormat, &v.Content)
	if err != nil {
		return err
	}
	v.framed = enc
	return nil
}

// unpinned returns v with its pinned encoding dropped, before a flow hands
// v to a caller outside the package.
func (v *AuthenticatedContent) unpinned() *AuthenticatedContent {
	if v != nil {
		v.framed = nil
	}
	return v
}

// framedBytes returns wire_format || FramedContent: the pinned encoding, or
// a fresh one when none is pinned. The result must not be modified.
func (v *AuthenticatedContent) framedBytes() ([]byte, error) {
	if v.framed != nil {
		return v.framed, nil
	}
	return encodeFramed(v.WireFormat, &v.Content)
}

// marshalPinned is Marshal from the pinned encoding:
// AuthenticatedContent = wire_format || FramedContent || FramedContentAuthData.
func (v *AuthenticatedContent) marshalPinned() ([]byte, error) {
	if v.framed == nil {
		return codec.Encode(v.marshal)
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, len(v.framed)+authDataSize(&v.Auth)))
	b.AddBytes(v.framed)
	v.Auth.marshal(b, v.Content.ContentType)
	return b.Bytes()
}

// authDataSize bounds the encoded size of a FramedContentAuthData (two
// opaque fields, each with a varint header of at most 4 bytes).
func authDataSize(a *FramedContentAuthData) int {
	return 8 + len(a.Signature) + len(a.ConfirmationTag)
}

func (v *AuthenticatedContent) marshal(b *cryptobyte.Builder) {
	b.AddUint16(uint16(v.WireFormat))
	v.Content.marshal(b)
	v.Auth.marshal(b, v.Content.ContentType)
}

func (v *AuthenticatedContent) unmarshal(s *cryptobyte.String) error {
	wf, err := codec.ReadUint16(s)
	if err != nil {
		return codec.Errorf("AuthenticatedContent.wire_format", err)
	}
	v.WireFormat = WireFormat(wf)
	if wf := v.WireFormat; wf != WireFormatPublicMessage && wf != WireFormatPrivateMessage {
		return codec.Invalid("AuthenticatedContent.wire_format", fmt.Sprintf("%v cannot carry FramedContent", wf))
	}
	if err := v.Content.unmarshal(s); err != nil {
		return codec.Errorf("AuthenticatedContent", err)
	}
	if err := v.Auth.unmarshal(s, v.Content.ContentType); err != nil {
		return codec.Errorf("AuthenticatedContent", err)
	}
	return nil
}

// Marshal returns the encoding of the AuthenticatedContent (the input of
// MakeProposalRef, RFC 9420 Section 5.2).
func (v *AuthenticatedContent) Marshal() ([]byte, error) { return codec.Encode(v.marshal) }

// UnmarshalAuthenticatedContent decodes an AuthenticatedContent, rejecting
// trailing bytes.
func UnmarshalAuthenticatedContent(data []byte) (*AuthenticatedContent, error) {
	v := new(AuthenticatedContent)
	if err := codec.Decode(data, v.unmarshal); err != nil {
		return nil, err
	}
	return v, nil
}

// ConfirmedTranscriptHashInput returns the encoding of
// ConfirmedTranscriptHashInput { wire_format; content; signature }
// (RFC 9420, Section 8.2) for this content, which must be a commit.
func (v *AuthenticatedContent) ConfirmedTranscriptHashInput() ([]byte, error) {
	if v.Content.ContentType != ContentTypeCommit {
		return nil, fmt.Errorf("mls: confirmed transcript hash input of %v content", v.Content.ContentType)
	}
	return codec.Encode(func(b *cryptobyte.Builder) {
		b.AddUint16(uint16(v.WireFormat))
		v.Content.marshal(b)
		codec.AddOpaque(b, v.Auth.Signature)
	})
}

// writeConfirmedTranscriptHashInput writes ConfirmedTranscriptHashInput
// (RFC 9420, Section 8.2) to w from the pinned encoding: it is
// wire_format || FramedContent || opaque signature<V>. v must be a commit.
func (v *AuthenticatedContent) writeConfirmedTranscriptHashInput(w io.Writer) error {
	if v.Content.ContentType != ContentTypeCommit {
		return fmt.Errorf("mls: confirmed transcript hash input of %v content", v.Content.ContentType)
	}
	framed, err := v.framedBytes()
	if err != nil {
		return err
	}
	sig, err := codec.Encode(func(b *cryptobyte.Builder) { codec.AddOpaque(b, v.Auth.Signature) })
	if err != nil {
		return err
	}
	_, _ = w.Write(framed) // a hash.Hash never fails
	_, _ = w.Write(sig)
	return nil
}

// ConfirmationTag returns the confirmation tag of a commit's
// AuthenticatedContent (nil for other content types). It is the input of
// InterimTranscriptHashInput (RFC 9420, Section 8.2).
func (v *AuthenticatedContent) ConfirmationTag() []byte { return v.Auth.ConfirmationTag }

// PublicMessage is a signed, unencrypted message. MembershipTag is present
// iff the sender is a member.
//
// RFC 9420, Section 6.2.
type PublicMessage struct {
	Content       FramedContent
	Auth          FramedContentAuthData
	MembershipTag []byte
}

func (v *PublicMessage) marshal(b *cryptobyte.Builder) {
	v.Content.marshal(b)
	v.Auth.marshal(b, v.Content.ContentType)
	if v.Content.Sender.Type == SenderTypeMember {
		codec.AddOpaque(b, v.MembershipTag)
	}
}

func (v *PublicMessage) unmarshal(s *cryptobyte.String) error {
	if err := v.Content.unmarshal(s); err != nil {
		return codec.Errorf("PublicMessage", err)
	}
	if err := v.Auth.unmarshal(s, v.Content.ContentType); err != nil {
		return codec.Errorf("PublicMessage", err)
	}
	v.MembershipTag = nil
	if v.Content.Sender.Type == SenderTypeMember {
		var err error
		if v.MembershipTag, err = codec.ReadOpaque(s); err != nil {
			return codec.Errorf("PublicMessage.membership_tag", err)
		}
	}
	return nil
}

// authenticatedContent returns the AuthenticatedContent a PublicMessage
// carries (sharing its fields).
func (v *PublicMessage) authenticatedContent() *AuthenticatedContent {
	return &AuthenticatedContent{WireFormat: WireFormatPublicMessage, Content: v.Content, Auth: v.Auth}
}

// PrivateMessage is a signed and encrypted message.
//
// RFC 9420, Section 6.3.
type PrivateMessage struct {
	GroupID             []byte
	Epoch               uint64
	ContentType         ContentType
	AuthenticatedData   []byte
	EncryptedSenderData []byte
	Ciphertext          []byte
}

func (v *PrivateMessage) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, v.GroupID)
	b.AddUint64(v.Epoch)
	b.AddUint8(uint8(v.ContentType))
	codec.AddOpaque(b, v.AuthenticatedData)
	codec.AddOpaque(b, v.EncryptedSenderData)
	codec.AddOpaque(b, v.Ciphertext)
}

func (v *PrivateMessage) unmarshal(s *cryptobyte.String) error {
	var err error
	if v.GroupID, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("PrivateMessage.group_id", err)
	}
	if v.Epoch, err = codec.ReadUint64(s); err != nil {
		return codec.Errorf("PrivateMessage.epoch", err)
	}
	if v.ContentType, err = readContentType(s, "PrivateMessage.content_type"); err != nil {
		return err
	}
	if v.AuthenticatedData, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("PrivateMessage.authenticated_data", err)
	}
	if v.EncryptedSenderData, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("PrivateMessage.encrypted_sender_data", err)
	}
	if v.Ciphertext, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("PrivateMessage.ciphertext", err)
	}
	return nil
}

// privateMessageContent is the plaintext of PrivateMessage.ciphertext:
// the content selected by the PrivateMessage's content type, the auth data,
// and Padding zero octets.
//
// RFC 9420, Section 6.3.1.
type privateMessageContent struct {
	ContentType     ContentType // from the enclosing PrivateMessage; not encoded
	ApplicationData []byte
	Proposal        *Proposal
	Commit          *Commit
	Auth            FramedContentAuthData
	Padding         int // number of zero octets appended
}

// ErrNonZeroPadding is returned (wrapped in a *codec.Error) when the padding
// of a PrivateMessageContent contains a non-zero octet (RFC 9420, Section
// 6.3.1: the message MUST be rejected as malformed).
var ErrNonZeroPadding = errors.New("mls: non-zero padding in PrivateMessageContent (RFC 9420, Section 6.3.1)")

func (v *privateMessageContent) marshal(b *cryptobyte.Builder) {
	marshalContentBody(b, v.ContentType, v.ApplicationData, v.Proposal, v.Commit)
	v.Auth.marshal(b, v.ContentType)
	if v.Padding < 0 {
		b.SetError(errors.New("mls: negative padding"))
		return
	}
	b.AddBytes(make([]byte, v.Padding))
}

// unmarshal reads the content for v.ContentType (set by the caller from the
// PrivateMessage) and consumes the rest of s as padding, which must be all
// zero.
func (v *privateMessageContent) unmarshal(s *cryptobyte.String) error {
	var err error
	v.ApplicationData, v.Proposal, v.Commit, err = unmarshalContentBody(s, v.ContentType, "PrivateMessageContent")
	if err != nil {
		return err
	}
	if err := v.Auth.unmarshal(s, v.ContentType); err != nil {
		return codec.Errorf("PrivateMessageContent", err)
	}
	// Section 6.3.1: everything after auth is padding and must be zero.
	var acc byte
	for _, c := range *s {
		acc |= c
	}
	if acc != 0 {
		return codec.Errorf("PrivateMessageContent.padding", ErrNonZeroPadding)
	}
	v.Padding = len(*s)
	*s = (*s)[len(*s):]
	return nil
}

// SenderData identifies the sender and key generation of a PrivateMessage.
//
// RFC 9420, Section 6.3.2.
type SenderData struct {
	LeafIndex  uint32
	Generation uint32
	ReuseGuard [4]byte
}

func (v *SenderData) marshal(b *cryptobyte.Builder) {
	b.AddUint32(v.LeafIndex)
	b.AddUint32(v.Generation)
	b.AddBytes(v.ReuseGuard[:])
}

func (v *SenderData) unmarshal(s *cryptobyte.String) error {
	var err error
	if v.LeafIndex, err = codec.ReadUint32(s); err != nil {
		return codec.Errorf("SenderData.leaf_index", err)
	}
	if v.Generation, err = codec.ReadUint32(s); err != nil {
		return codec.Errorf("SenderData.generation", err)
	}
	if !s.CopyBytes(v.ReuseGuard[:]) {
		return codec.Truncated("SenderData.reuse_guard")
	}
	return nil
}

// senderDataAAD is the AAD of the sender data encryption.
//
// RFC 9420, Section 6.3.2.
type senderDataAAD struct {
	GroupID     []byte
	Epoch       uint64
	ContentType ContentType
}

func (v *senderDataAAD) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, v.GroupID)
	b.AddUint64(v.Epoch)
	b.AddUint8(uint8(v.ContentType))
}

// privateContentAAD is the AAD of the content encryption.
//
// RFC 9420, Section 6.3.1.
type privateContentAAD struct {
	GroupID           []byte
	Epoch             uint64
	ContentType       ContentType
	AuthenticatedData []byte
}

func (v *privateContentAAD) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, v.GroupID)
	b.AddUint64(v.Epoch)
	b.AddUint8(uint8(v.ContentType))
	codec.AddOpaque(b, v.AuthenticatedData)
}

// MLSMessage is the top-level MLS message: a version, a wire format, and
// exactly one body selected by the wire format.
//
// RFC 9420, Section 6.
type MLSMessage struct {
	Version        ProtocolVersion
	WireFormat     WireFormat
	PublicMessage  *PublicMessage  // WireFormatPublicMessage
	PrivateMessage *PrivateMessage // WireFormatPrivateMessage
	Welcome        *Welcome        // WireFormatWelcome
	GroupInfo      *GroupInfo      // WireFormatGroupInfo
	KeyPackage     *KeyPackage     // WireFormatKeyPackage
}

// ErrUnsupportedVersion is returned (wrapped in a *codec.Error) when an
// MLSMessage carries a protocol version other than mls10.
var ErrUnsupportedVersion = errors.New("mls: unsupported protocol version")

func (v *MLSMessage) marshal(b *cryptobyte.Builder) {
	v.Version.marshal(b)
	b.AddUint16(uint16(v.WireFormat))
	missing := false
	switch v.WireFormat {
	case WireFormatPublicMessage:
		if missing = v.PublicMessage == nil; !missing {
			v.PublicMessage.marshal(b)
		}
	case WireFormatPrivateMessage:
		if missing = v.PrivateMessage == nil; !missing {
			v.PrivateMessage.marshal(b)
		}
	case WireFormatWelcome:
		if missing = v.Welcome == nil; !missing {
			v.Welcome.marshal(b)
		}
	case WireFormatGroupInfo:
		if missing = v.GroupInfo == nil; !missing {
			v.GroupInfo.marshal(b)
		}
	case WireFormatKeyPackage:
		if missing = v.KeyPackage == nil; !missing {
			v.KeyPackage.marshal(b)
		}
	default:
		b.SetError(fmt.Errorf("mls: cannot encode MLSMessage with %v", v.WireFormat))
	}
	if missing {
		b.SetError(fmt.Errorf("mls: MLSMessage with %v but no body", v.WireFormat))
	}
}

func (v *MLSMessage) unmarshal(s *cryptobyte.String) error {
	if err := v.Version.unmarshal(s); err != nil {
		return codec.Errorf("MLSMessage.version", err)
	}
	// Section 6: version = mls10. Bodies of other versions cannot be parsed.
	if v.Version != ProtocolVersionMLS10 {
		return codec.Errorf("MLSMessage.version", fmt.Errorf("%w: %v", ErrUnsupportedVersion, v.Version))
	}
	wf, err := codec.ReadUint16(s)
	if err != nil {
		return codec.Errorf("MLSMessage.wire_format", err)
	}
	v.WireFormat = WireFormat(wf)
	*v = MLSMessage{Version: v.Version, WireFormat: v.WireFormat}
	switch v.WireFormat {
	case WireFormatPublicMessage:
		v.PublicMessage = new(PublicMessage)
		err = v.PublicMessage.unmarshal(s)
	case WireFormatPrivateMessage:
		v.PrivateMessage = new(PrivateMessage)
		err = v.PrivateMessage.unmarshal(s)
	case WireFormatWelcome:
		v.Welcome = new(Welcome)
		err = v.Welcome.unmarshal(s)
	case WireFormatGroupInfo:
		v.GroupInfo = new(GroupInfo)
		err = v.GroupInfo.unmarshal(s)
	case WireFormatKeyPackage:
		v.KeyPackage = new(KeyPackage)
		if err = v.KeyPackage.unmarshal(s); err == nil && v.KeyPackage.Version != v.Version {
			// Section 10: the KeyPackage's version MUST equal the MLSMessage's.
			err = codec.Errorf("KeyPackage.version", fmt.Errorf("%w: KeyPackage %v in MLSMessage %v", ErrUnsupportedVersion, v.KeyPackage.Version, v.Version))
		}
	default:
		return codec.Invalid("MLSMessage.wire_format", fmt.Sprintf("unknown wire format 0x%04x", wf))
	}
	if err != nil {
		return codec.Errorf("MLSMessage", err)
	}
	return nil
}

// Marshal returns the encoding of the MLSMessage.
func (v *MLSMessage) Marshal() ([]byte, error) { return codec.Encode(v.marshal) }

// UnmarshalMLSMessage decodes an MLSMessage, rejecting trailing bytes,
// unknown versions and wire formats, a KeyPackage whose version differs
// from the MLSMessage's (RFC 9420, Section 10), and malformed bodies
// (*codec.Error). It applies the default size limits (see
// Config.UnmarshalMLSMessage).
func UnmarshalMLSMessage(data []byte) (*MLSMessage, error) {
	return (*Config)(nil).UnmarshalMLSMessage(data)
}

// UnmarshalMLSMessage is the package's UnmarshalMLSMessage with c's size
// limits (c may be nil: the defaults). A message longer than
// c.MaxMessageSize is rejected before anything is decoded; after
// decoding, the credentials and extensions visible in a PublicMessage,
// GroupInfo or KeyPackage are checked against c.MaxCredentialSize and
// c.MaxExtensionSize (the contents of a PrivateMessage or Welcome are
// checked when Group.Process or Join decrypts them). Limit errors are
// *ProtocolError matching ErrLimitExceeded (and ErrDecode, or the code of
// the object, e.g. ErrInvalidKeyPackage).
func (c *Config) UnmarshalMLSMessage(data []byte) (*MLSMessage, error) {
	l := c.limits()
	if len(data) > l.message {
		return nil, limitErr(CodeDecode, ruleLimitMessage, fmt.Sprintf("message of %d octets (limit %d)", len(data), l.message))
	}
	v := new(MLSMessage)
	if err := codec.Decode(data, v.unmarshal); err != nil {
		return nil, err
	}
	if err := l.checkMessage(v); err != nil {
		return nil, err
	}
	return v, nil
}
