package core

import (
	"github.com/mlslab/mlslab/mls/internal/suite"
)

// NewExternalProposal builds a proposal from an external sender (RFC 9420,
// Section 12.1.8): a party listed at index senderIndex of the group's
// external_senders extension (Section 12.1.8.1), e.g. a delivery service
// removing a member. The FramedContent targets the group and epoch of ctx
// (the GroupContext of the epoch, from a GroupInfo or a PublicGroup), has
// sender {external, senderIndex} and is signed with the external sender's
// signature private key sigPriv over a FramedContentTBS without
// GroupContext (Section 6.1). It is framed as a PublicMessage without
// membership tag (Section 6.2).
//
// Only the proposal types an external sender may send are accepted (Add,
// Remove, PreSharedKey, ReInit, GroupContextExtensions; Section 12.1.8);
// others fail with an error matching ErrInvalidMessage.
func NewExternalProposal(ctx *GroupContext, senderIndex uint32, sigPriv []byte, body ProposalBody, aad []byte) (*MLSMessage, error) {
	return newNonMemberProposal(ctx, Sender{Type: SenderTypeExternal, Index: senderIndex}, sigPriv, body, aad)
}

// NewMemberAddProposal builds the Add proposal by which the owner of kp
// asks to join the group of ctx (RFC 9420, Section 12.1.8): sender
// new_member_proposal, signed with kp's signature key, framed as a
// PublicMessage without membership tag. A member's commit covering it
// adds kp's KeyPackage; kp's private keys then join through the Welcome.
func NewMemberAddProposal(ctx *GroupContext, kp *KeyPackageBundle, aad []byte) (*MLSMessage, error) {
	return newNonMemberProposal(ctx, Sender{Type: SenderTypeNewMemberProposal}, kp.SignatureKey, &Add{KeyPackage: *kp.KeyPackage}, aad)
}

// newNonMemberProposal frames, signs and protects a proposal of a sender
// that is not a member (Sections 6.1, 6.2, 12.1.8).
func newNonMemberProposal(ctx *GroupContext, sender Sender, sigPriv []byte, body ProposalBody, aad []byte) (*MLSMessage, error) {
	cs, err := suite.Get(suite.ID(ctx.CipherSuite))
	if err != nil {
		return nil, protoErr(CodeUnsupported, "RFC 9420 §17.1 cipher suite", "", err)
	}
	ac := &AuthenticatedContent{
		WireFormat: WireFormatPublicMessage,
		Content: FramedContent{
			GroupID:           ctx.GroupID,
			Epoch:             ctx.Epoch,
			Sender:            sender,
			AuthenticatedData: aad,
			ContentType:       ContentTypeProposal,
			Proposal:          &Proposal{Body: body},
		},
	}
	if err := checkSenderContent(&ac.Content); err != nil {
		return nil, err
	}
	if err := ac.signPriv(cs, sigPriv, ctx); err != nil {
		return nil, err
	}
	pm, err := protectPublic(cs, ac, ctx, nil)
	if err != nil {
		return nil, err
	}
	return &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatPublicMessage, PublicMessage: pm}, nil
}
