package core

// Content authentication and message protection, RFC 9420, Section 6:
// signing FramedContentTBS (6.1), the membership tag of a PublicMessage
// (6.2), and PrivateMessage content and sender data encryption (6.3.1,
// 6.3.2).
//
// Error contract: every failure is a *ProtocolError (errors.Is against
// ErrInvalidSignature, ErrInvalidMAC, ErrDecrypt, ErrDecode,
// ErrInvalidMessage, ErrUnknownSender's code) or wraps one of the sentinels
// ErrWrongGroup, ErrWrongEpoch, ErrUnknownSender. Unprotecting never changes
// the secret tree unless it succeeds.

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/codec"
	"github.com/mlslab/mlslab/mls/internal/suite"
)

// Signature label of FramedContentTBS (RFC 9420, Section 6.1 and 17.6).
const labelFramedContentTBS = "FramedContentTBS"

// needsGroupContext reports whether FramedContentTBS includes the
// GroupContext for sender type t (RFC 9420, Section 6.1).
func needsGroupContext(t SenderType) bool {
	return t == SenderTypeMember || t == SenderTypeNewMemberCommit
}

// framedContentTBS encodes FramedContentTBS (RFC 9420, Section 6.1),
//
//	version || wire_format || FramedContent || GroupContext (member and
//	new_member_commit senders only),
//
// from v's pinned wire_format || FramedContent when there is one
// (AuthenticatedContent.framed), with room more bytes of capacity for
// AuthenticatedContentTBM to append to.
func (v *AuthenticatedContent) framedContentTBS(ctx *GroupContext, room int) ([]byte, error) {
	withCtx := needsGroupContext(v.Content.Sender.Type)
	var b *cryptobyte.Builder
	if v.framed != nil {
		n := 2 + len(v.framed) + room
		if withCtx && ctx != nil {
			n += groupContextSize(ctx)
		}
		b = cryptobyte.NewBuilder(make([]byte, 0, n))
		ProtocolVersionMLS10.marshal(b)
		b.AddBytes(v.framed)
	} else {
		b = new(cryptobyte.Builder)
		ProtocolVersionMLS10.marshal(b)
		b.AddUint16(uint16(v.WireFormat))
		v.Content.marshal(b)
	}
	if withCtx {
		if ctx == nil {
			b.SetError(errors.New("mls: FramedContentTBS for a member sender needs the GroupContext"))
		} else {
			ctx.marshal(b)
		}
	}
	return b.Bytes()
}

// groupContextSize bounds the encoded size of a GroupContext (a capacity
// hint: varint headers of at most 4 bytes).
func groupContextSize(ctx *GroupContext) int {
	n := 2 + 2 + 4 + len(ctx.GroupID) + 8 + 4 + len(ctx.TreeHash) + 4 + len(ctx.ConfirmedTranscriptHash) + 4
	for i := range ctx.Extensions {
		n += 2 + 4 + len(ctx.Extensions[i].Data)
	}
	return n
}

// authenticatedContentTBM encodes AuthenticatedContentTBM
// { FramedContentTBS content_tbs; FramedContentAuthData auth; }
// (RFC 9420, Section 6.2) for v, a PublicMessage's content of a member
// sender. It also returns content_tbs, a prefix of the same buffer, for
// the signature.
func (v *AuthenticatedContent) authenticatedContentTBM(ctx *GroupContext) (tbm, tbs []byte, err error) {
	tbs, err = v.framedContentTBS(ctx, authDataSize(&v.Auth))
	if err != nil {
		return nil, nil, err
	}
	b := cryptobyte.NewBuilder(tbs)
	v.Auth.marshal(b, v.Content.ContentType)
	if tbm, err = b.Bytes(); err != nil {
		return nil, nil, err
	}
	return tbm, tbm[:len(tbs):len(tbs)], nil
}

// Sign sets v.Auth.Signature = SignWithLabel(priv, "FramedContentTBS",
// FramedContentTBS) for v.WireFormat and v.Content. ctx is the GroupContext
// of the current epoch; it is required for member and new_member_commit
// senders and ignored otherwise (RFC 9420, Section 6.1).
func (v *AuthenticatedContent) signPriv(cs *suite.Suite, priv []byte, ctx *GroupContext) error {
	k, err := cs.NewSigner(priv)
	if err != nil {
		return fmt.Errorf("mls: signing FramedContentTBS: %w", err)
	}
	return v.sign(k, ctx)
}

// sign is Sign with a parsed signature key.
func (v *AuthenticatedContent) sign(k *suite.Signer, ctx *GroupContext) error {
	tbs, err := v.framedContentTBS(ctx, 0)
	if err != nil {
		return fmt.Errorf("mls: encoding FramedContentTBS: %w", err)
	}
	sig, err := k.SignWithLabel(labelFramedContentTBS, tbs)
	if err != nil {
		return fmt.Errorf("mls: signing FramedContentTBS: %w", err)
	}
	v.Auth.Signature = sig
	return nil
}

// VerifySignature checks v.Auth.Signature with the sender's signature key
// pub (RFC 9420, Section 6.1). The error matches ErrInvalidSignature.
func (v *AuthenticatedContent) verifySignature(cs *suite.Suite, pub []byte, ctx *GroupContext) error {
	if needsGroupContext(v.Content.Sender.Type) && ctx == nil {
		return protoErr(CodeInvalidSignature, "RFC 9420 §6.1 FramedContentTBS", "no GroupContext for a member sender", nil)
	}
	tbs, err := v.framedContentTBS(ctx, 0)
	if err != nil {
		return protoErr(CodeInvalidSignature, "RFC 9420 §6.1 FramedContentTBS", "not encodable", err)
	}
	return verifyTBS(cs, pub, tbs, v.Auth.Signature)
}

// verifyTBS checks signature over the encoded FramedContentTBS tbs (RFC
// 9420, Section 6.1). The error matches ErrInvalidSignature.
func verifyTBS(cs *suite.Suite, pub, tbs, signature []byte) error {
	if err := cs.VerifyWithLabel(pub, labelFramedContentTBS, tbs, signature); err != nil {
		return protoErr(CodeInvalidSignature, "RFC 9420 §6.1 FramedContentAuthData.signature", "", err)
	}
	return nil
}

// SetConfirmationTag sets v.Auth.ConfirmationTag = MAC(confirmation_key,
// confirmed_transcript_hash) for a commit (RFC 9420, Section 6.1), where
// key is the new epoch's confirmation key and confirmedTranscriptHash the
// new epoch's confirmed transcript hash (computed over
// v.ConfirmedTranscriptHashInput()).
func (v *AuthenticatedContent) setConfirmationTag(cs *suite.Suite, key ConfirmationKey, confirmedTranscriptHash []byte) error {
	if v.Content.ContentType != ContentTypeCommit {
		return protoErr(CodeInvalidMessage, "RFC 9420 §6.1 confirmation_tag", "only commits carry a confirmation tag", nil)
	}
	v.Auth.ConfirmationTag = key.tag(cs, confirmedTranscriptHash)
	return nil
}

// VerifyConfirmationTag checks a commit's confirmation tag against the new
// epoch's confirmation key and confirmed transcript hash (RFC 9420, Section
// 6.1, 12.4.2). The error matches ErrInvalidMAC.
func (v *AuthenticatedContent) verifyConfirmationTag(cs *suite.Suite, key ConfirmationKey, confirmedTranscriptHash []byte) error {
	if v.Content.ContentType != ContentTypeCommit {
		return protoErr(CodeInvalidMessage, "RFC 9420 §6.1 confirmation_tag", "only commits carry a confirmation tag", nil)
	}
	if !key.verify(cs, confirmedTranscriptHash, v.Auth.ConfirmationTag) {
		return protoErr(CodeInvalidMAC, "RFC 9420 §6.1 confirmation_tag", "", nil)
	}
	return nil
}

// checkSenderContent enforces the content a sender type may carry
// (RFC 9420, Section 6.1): external senders send proposals of a type
// allowed for external senders, new_member_commit senders send commits,
// new_member_proposal senders send Add proposals. Member senders may send
// anything here (application data is rejected for PublicMessage
// separately).
func checkSenderContent(fc *FramedContent) error {
	const rule = "RFC 9420 §6.1 sender_type and content"
	switch fc.Sender.Type {
	case SenderTypeMember:
		return nil
	case SenderTypeExternal:
		if fc.ContentType != ContentTypeProposal || fc.Proposal == nil || !fc.Proposal.Type().AllowedExternal() {
			return protoErr(CodeInvalidMessage, rule, "external senders may only send proposals of types allowed for them", nil)
		}
	case SenderTypeNewMemberCommit:
		if fc.ContentType != ContentTypeCommit {
			return protoErr(CodeInvalidMessage, rule, "new_member_commit must carry a commit", nil)
		}
	case SenderTypeNewMemberProposal:
		if fc.ContentType != ContentTypeProposal || fc.Proposal == nil || fc.Proposal.Type() != ProposalTypeAdd {
			return protoErr(CodeInvalidMessage, rule, "new_member_proposal must carry an Add proposal", nil)
		}
	default:
		return protoErr(CodeInvalidMessage, rule, fc.Sender.Type.String(), nil)
	}
	return nil
}

// checkGroupEpoch checks that a message belongs to ctx's group and epoch.
func checkGroupEpoch(groupID []byte, epoch uint64, ctx *GroupContext) error {
	if string(groupID) != string(ctx.GroupID) {
		return fmt.Errorf("%w: group_id %x, group %x", ErrWrongGroup, groupID, ctx.GroupID)
	}
	if epoch != ctx.Epoch {
		return fmt.Errorf("%w: message epoch %d, group epoch %d", ErrWrongEpoch, epoch, ctx.Epoch)
	}
	return nil
}

// ProtectPublic encodes a signed AuthenticatedContent as a PublicMessage
// (RFC 9420, Section 6.2), computing the membership tag with
// membershipKey for member senders. ac.WireFormat must be
// mls_public_message. Application messages cannot be sent as PublicMessage
// (Section 6: applications MUST use PrivateMessage for application data);
// that is an error matching ErrInvalidMessage.
func ProtectPublic(cs CipherSuite, ac *AuthenticatedContent, ctx *GroupContext, membershipKey MembershipKey) (*PublicMessage, error) {
	s, err := lookupSuite(cs)
	if err != nil {
		return nil, err
	}
	// ac is the caller's: encode it afresh (see AuthenticatedContent.framed).
	c := *ac
	c.framed = nil
	return protectPublic(s, &c, ctx, membershipKey)
}

// protectPublic is ProtectPublic for a suite already looked up.
func protectPublic(cs *suite.Suite, ac *AuthenticatedContent, ctx *GroupContext, membershipKey MembershipKey) (*PublicMessage, error) {
	if ac.Content.ContentType == ContentTypeApplication {
		return nil, protoErr(CodeInvalidMessage, "RFC 9420 §6 application data MUST use PrivateMessage", "", nil)
	}
	if ac.WireFormat != WireFormatPublicMessage {
		return nil, protoErr(CodeInvalidMessage, "RFC 9420 §6.1 wire_format", fmt.Sprintf("content signed for %v", ac.WireFormat), nil)
	}
	if err := checkSenderContent(&ac.Content); err != nil {
		return nil, err
	}
	pm := &PublicMessage{Content: ac.Content, Auth: ac.Auth}
	if ac.Content.Sender.Type == SenderTypeMember {
		tbm, _, err := ac.authenticatedContentTBM(ctx)
		if err != nil {
			return nil, fmt.Errorf("mls: encoding AuthenticatedContentTBM: %w", err)
		}
		pm.MembershipTag = membershipKey.tag(cs, tbm)
	}
	return pm, nil
}

// unprotectPublic checks a PublicMessage of the epoch of ctx and returns its
// AuthenticatedContent (RFC 9420, Section 6.2): group and epoch (ErrWrongGroup,
// ErrWrongEpoch), the membership tag for member senders (ErrInvalidMAC) and
// the signature with the sender's key sigPub (ErrInvalidSignature), and
// that the sender type may send this content (ErrInvalidMessage).
// Application content is rejected (ErrInvalidMessage). The confirmation tag
// of a commit needs the next epoch's key: check it with
// VerifyConfirmationTag once that epoch is derived. A nil membershipKey
// skips the membership tag: an observer (a delivery service) has none.
func unprotectPublic(cs *suite.Suite, pm *PublicMessage, ctx *GroupContext, membershipKey *MembershipKey, sigPub []byte) (*AuthenticatedContent, error) {
	if err := checkGroupEpoch(pm.Content.GroupID, pm.Content.Epoch, ctx); err != nil {
		return nil, err
	}
	if pm.Content.ContentType == ContentTypeApplication {
		return nil, protoErr(CodeInvalidMessage, "RFC 9420 §6 application data MUST use PrivateMessage", "", nil)
	}
	if err := checkSenderContent(&pm.Content); err != nil {
		return nil, err
	}
	// ac is this call's own value (pm may be shared by other goroutines
	// and is only read): its FramedContent is encoded once, for the
	// membership tag, the signature, and the caller's transcript hash.
	ac := pm.authenticatedContent()
	if pm.Content.Sender.Type == SenderTypeMember && membershipKey != nil {
		if err := ac.pinFramed(); err != nil {
			return nil, protoErr(CodeInvalidMessage, "RFC 9420 §6.2 AuthenticatedContentTBM", "not encodable", err)
		}
		tbm, tbs, err := ac.authenticatedContentTBM(ctx)
		if err != nil {
			return nil, protoErr(CodeInvalidMessage, "RFC 9420 §6.2 AuthenticatedContentTBM", "not encodable", err)
		}
		if !membershipKey.verify(cs, tbm, pm.MembershipTag) {
			return nil, protoErr(CodeInvalidMAC, "RFC 9420 §6.2 membership_tag", "", nil)
		}
		// content_tbs is a prefix of AuthenticatedContentTBM.
		if err := verifyTBS(cs, sigPub, tbs, ac.Auth.Signature); err != nil {
			return nil, err
		}
		return ac, nil
	}
	if err := ac.pinFramed(); err != nil {
		return nil, protoErr(CodeInvalidSignature, "RFC 9420 §6.1 FramedContentTBS", "not encodable", err)
	}
	if err := ac.verifySignature(cs, sigPub, ctx); err != nil {
		return nil, err
	}
	return ac, nil
}

// PaddingFunc returns how many zero octets to append to a
// PrivateMessageContent whose unpadded encoding is n octets long (RFC 9420,
// Section 6.3.1; the policy is the application's, Section 15.1).
type PaddingFunc func(n int) int

// PadToMultiple returns a PaddingFunc that pads the content to a multiple of
// block octets (no padding for block <= 1).
func PadToMultiple(block int) PaddingFunc {
	return func(n int) int {
		if block <= 1 {
			return 0
		}
		return (block - n%block) % block
	}
}

// PrivateOptions are the sender's choices when protecting a PrivateMessage.
type PrivateOptions struct {
	// Rand supplies the reuse guard; nil means crypto/rand.
	Rand io.Reader
	// Padding chooses the padding length; nil means no padding.
	Padding PaddingFunc
}

// ratchetFor returns the hash ratchet of a content type (RFC 9420, Section
// 6.3.1): application data uses the application ratchet, proposals and
// commits the handshake ratchet.
func ratchetFor(ct ContentType) RatchetType {
	if ct == ContentTypeApplication {
		return ApplicationRatchet
	}
	return HandshakeRatchet
}

// protectPrivate encrypts a signed AuthenticatedContent as a PrivateMessage
// (RFC 9420, Section 6.3) with the next generation of the sender's ratchet
// in tree, which it consumes (see protectPrivateReserved).
func protectPrivate(cs *suite.Suite, ac *AuthenticatedContent, tree *SecretTree, senderDataSecret SenderDataSecret, opts PrivateOptions) (*PrivateMessage, error) {
	pm, key, err := protectPrivateReserved(cs, ac, tree, senderDataSecret, opts)
	if err != nil {
		return nil, err
	}
	if err := key.Consume(); err != nil {
		return nil, fmt.Errorf("mls: protecting PrivateMessage: %w", err)
	}
	return pm, nil
}

// protectPrivateReserved encrypts a signed AuthenticatedContent as a
// PrivateMessage (RFC 9420, Section 6.3): it takes the next generation of
// the sender's ratchet from tree, XORs a fresh reuse guard into the nonce,
// encrypts PrivateMessageContent (with padding per opts) under
// PrivateContentAAD, and encrypts SenderData with the key and nonce derived
// from senderDataSecret and the ciphertext sample. ac.WireFormat must be
// mls_private_message and the sender a member.
//
// The generation is reserved, not consumed: tree is unchanged until the
// caller consumes the returned key, which it must do before it hands the
// message out and before anything else changes tree (Sections 9.1, 9.2: a
// key and nonce are used for one message only, then deleted). A caller
// that fails after the encryption drops the key and tree is as it was.
func protectPrivateReserved(cs *suite.Suite, ac *AuthenticatedContent, tree *SecretTree, senderDataSecret SenderDataSecret, opts PrivateOptions) (*PrivateMessage, *PendingKey, error) {
	if ac.WireFormat != WireFormatPrivateMessage {
		return nil, nil, protoErr(CodeInvalidMessage, "RFC 9420 §6.1 wire_format", fmt.Sprintf("content signed for %v", ac.WireFormat), nil)
	}
	// Section 6.3.2: the sender MUST verify sender_type is member.
	if ac.Content.Sender.Type != SenderTypeMember {
		return nil, nil, protoErr(CodeInvalidMessage, "RFC 9420 §6.3.2 sender_type must be member", ac.Content.Sender.Type.String(), nil)
	}
	if ac.Content.ContentType == ContentTypeCommit && ac.Auth.ConfirmationTag == nil {
		return nil, nil, protoErr(CodeInvalidMessage, "RFC 9420 §6.1 confirmation_tag", "commit without confirmation tag", nil)
	}
	content := privateMessageContent{
		ContentType:     ac.Content.ContentType,
		ApplicationData: ac.Content.ApplicationData,
		Proposal:        ac.Content.Proposal,
		Commit:          ac.Content.Commit,
		Auth:            ac.Auth,
	}
	if opts.Padding != nil {
		unpadded, err := codec.Encode(content.marshal)
		if err != nil {
			return nil, nil, fmt.Errorf("mls: encoding PrivateMessageContent: %w", err)
		}
		if content.Padding = opts.Padding(len(unpadded)); content.Padding < 0 {
			return nil, nil, errors.New("mls: negative padding")
		}
	}
	plaintext, err := codec.Encode(content.marshal)
	if err != nil {
		return nil, nil, fmt.Errorf("mls: encoding PrivateMessageContent: %w", err)
	}
	aad, err := codec.Encode((&privateContentAAD{
		GroupID: ac.Content.GroupID, Epoch: ac.Content.Epoch,
		ContentType: ac.Content.ContentType, AuthenticatedData: ac.Content.AuthenticatedData,
	}).marshal)
	if err != nil {
		return nil, nil, fmt.Errorf("mls: encoding PrivateContentAAD: %w", err)
	}
	rnd := opts.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	sd := SenderData{LeafIndex: ac.Content.Sender.Index}
	if _, err := io.ReadFull(rnd, sd.ReuseGuard[:]); err != nil {
		return nil, nil, fmt.Errorf("mls: reading reuse guard: %w", err)
	}
	key, err := tree.pending(sd.LeafIndex, ratchetFor(ac.Content.ContentType), 0, true)
	if err != nil {
		return nil, nil, fmt.Errorf("mls: protecting PrivateMessage: %w", err)
	}
	kn := &key.KeyNonce
	sd.Generation = kn.Generation
	ciphertext, err := cs.Seal(kn.Key, applyReuseGuard(kn.Nonce, sd.ReuseGuard), aad, plaintext)
	// The key of the next generation is derived fresh (not stored in the
	// tree) and referenced by key only: delete it once used (RFC 9420,
	// Section 9.2); Consume does not need it.
	clear(kn.Key)
	clear(kn.Nonce)
	if err != nil {
		return nil, nil, fmt.Errorf("mls: encrypting PrivateMessageContent: %w", err)
	}
	sdKey, sdNonce := senderDataSecret.keyNonce(cs, ciphertext)
	sdAAD, err := codec.Encode((&senderDataAAD{GroupID: ac.Content.GroupID, Epoch: ac.Content.Epoch, ContentType: ac.Content.ContentType}).marshal)
	if err != nil {
		return nil, nil, fmt.Errorf("mls: encoding SenderDataAAD: %w", err)
	}
	encSD, err := cs.Seal(sdKey, sdNonce, sdAAD, codec.MustEncode(sd.marshal))
	if err != nil {
		return nil, nil, fmt.Errorf("mls: encrypting SenderData: %w", err)
	}
	return &PrivateMessage{
		GroupID:             ac.Content.GroupID,
		Epoch:               ac.Content.Epoch,
		ContentType:         ac.Content.ContentType,
		AuthenticatedData:   ac.Content.AuthenticatedData,
		EncryptedSenderData: encSD,
		Ciphertext:          ciphertext,
	}, key, nil
}

// SignatureKeyFunc returns the signature public key of the member at a leaf
// index, or an error wrapping ErrUnknownSender when the leaf is blank or out
// of range (RFC 9420, Section 6.3.2).
type SignatureKeyFunc func(leaf uint32) ([]byte, error)

// OpenedPrivateMessage is a decrypted and verified PrivateMessage whose key
// has not been consumed yet.
type OpenedPrivateMessage struct {
	Content    *AuthenticatedContent
	SenderData SenderData
	Padding    int
	key        *PendingKey
}

// Consume deletes the ratchet key that decrypted the message (RFC 9420,
// Section 9.2). Call it once the message is accepted.
// The key and nonce are then overwritten with zeros when nothing else
// references them (a clone of the tree taken before Consume may).
func (o *OpenedPrivateMessage) Consume() error {
	if err := o.key.Consume(); err != nil {
		return err
	}
	o.key.erase()
	return nil
}

// OpenPrivate decrypts and verifies a PrivateMessage of the epoch of ctx
// without changing tree (RFC 9420, Sections 6.3.1 and 6.3.2): the sender
// data, the sender's key for SenderData.generation, the content (padding
// must be zero), and the signature with the key sigKey returns for the
// sender's leaf. The caller consumes the key with Consume once it accepts
// the message; UnprotectPrivate does both.
func OpenPrivate(cs CipherSuite, pm *PrivateMessage, ctx *GroupContext, tree *SecretTree, senderDataSecret SenderDataSecret, sigKey SignatureKeyFunc) (*OpenedPrivateMessage, error) {
	s, err := lookupSuite(cs)
	if err != nil {
		return nil, err
	}
	o, err := openPrivate(s, pm, ctx, tree, senderDataSecret, sigKey)
	if err != nil {
		return nil, err
	}
	o.Content.unpinned() // the caller's now (see AuthenticatedContent.framed)
	return o, nil
}

// openPrivate is OpenPrivate for a suite already looked up.
func openPrivate(cs *suite.Suite, pm *PrivateMessage, ctx *GroupContext, tree *SecretTree, senderDataSecret SenderDataSecret, sigKey SignatureKeyFunc) (*OpenedPrivateMessage, error) {
	if err := checkGroupEpoch(pm.GroupID, pm.Epoch, ctx); err != nil {
		return nil, err
	}
	if !pm.ContentType.IsValid() {
		return nil, protoErr(CodeDecode, "RFC 9420 §6 content_type", pm.ContentType.String(), nil)
	}
	// Section 6.3.2: sender data.
	sdKey, sdNonce := senderDataSecret.keyNonce(cs, pm.Ciphertext)
	sdAAD := codec.MustEncode((&senderDataAAD{GroupID: pm.GroupID, Epoch: pm.Epoch, ContentType: pm.ContentType}).marshal)
	sdPlain, err := cs.Open(sdKey, sdNonce, sdAAD, pm.EncryptedSenderData)
	if err != nil {
		return nil, protoErr(CodeDecrypt, "RFC 9420 §6.3.2 encrypted_sender_data", "", err)
	}
	var sd SenderData
	if err := codec.Decode(sdPlain, sd.unmarshal); err != nil {
		return nil, protoErr(CodeDecode, "RFC 9420 §6.3.2 SenderData", "", err)
	}
	// The leaf must be a non-blank member (Section 6.3.2).
	pub, err := sigKey(sd.LeafIndex)
	if err != nil {
		return nil, fmt.Errorf("mls: PrivateMessage sender leaf %d: %w", sd.LeafIndex, err)
	}
	// Section 6.3.1: content key from the sender's ratchet, not consumed yet.
	pk, err := tree.Key(LeafIndex(sd.LeafIndex), ratchetFor(pm.ContentType), sd.Generation)
	if err != nil {
		return nil, protoErr(CodeDecrypt, "RFC 9420 §9.1 ratchet key", fmt.Sprintf("leaf %d generation %d", sd.LeafIndex, sd.Generation), err)
	}
	aad := codec.MustEncode((&privateContentAAD{GroupID: pm.GroupID, Epoch: pm.Epoch, ContentType: pm.ContentType, AuthenticatedData: pm.AuthenticatedData}).marshal)
	plaintext, err := cs.Open(pk.Key, applyReuseGuard(pk.Nonce, sd.ReuseGuard), aad, pm.Ciphertext)
	if err != nil {
		return nil, protoErr(CodeDecrypt, "RFC 9420 §6.3.1 ciphertext", "", err)
	}
	content := privateMessageContent{ContentType: pm.ContentType}
	if err := codec.Decode(plaintext, content.unmarshal); err != nil {
		return nil, protoErr(CodeDecode, "RFC 9420 §6.3.1 PrivateMessageContent", "", err)
	}
	ac := &AuthenticatedContent{
		WireFormat: WireFormatPrivateMessage,
		Content: FramedContent{
			GroupID:           pm.GroupID,
			Epoch:             pm.Epoch,
			Sender:            MemberSender(sd.LeafIndex),
			AuthenticatedData: pm.AuthenticatedData,
			ContentType:       pm.ContentType,
			ApplicationData:   content.ApplicationData,
			Proposal:          content.Proposal,
			Commit:            content.Commit,
		},
		Auth: content.Auth,
	}
	// ac is this call's own value: the FramedContent of a handshake
	// message is encoded once, for the signature and the caller's
	// transcript hash or proposal ref (application data needs only the
	// signature).
	if ac.Content.ContentType != ContentTypeApplication {
		if err := ac.pinFramed(); err != nil {
			return nil, protoErr(CodeInvalidSignature, "RFC 9420 §6.1 FramedContentTBS", "not encodable", err)
		}
	}
	if err := ac.verifySignature(cs, pub, ctx); err != nil {
		return nil, err
	}
	return &OpenedPrivateMessage{Content: ac, SenderData: sd, Padding: content.Padding, key: pk}, nil
}

// UnprotectPrivate is OpenPrivate followed by Consume: on success the
// ratchet key is deleted from tree; on failure tree is unchanged.
func UnprotectPrivate(cs CipherSuite, pm *PrivateMessage, ctx *GroupContext, tree *SecretTree, senderDataSecret SenderDataSecret, sigKey SignatureKeyFunc) (*AuthenticatedContent, error) {
	s, err := lookupSuite(cs)
	if err != nil {
		return nil, err
	}
	ac, err := unprotectPrivate(s, pm, ctx, tree, senderDataSecret, sigKey)
	return ac.unpinned(), err // the caller's now (see AuthenticatedContent.framed)
}

// unprotectPrivate is UnprotectPrivate for a suite already looked up.
func unprotectPrivate(cs *suite.Suite, pm *PrivateMessage, ctx *GroupContext, tree *SecretTree, senderDataSecret SenderDataSecret, sigKey SignatureKeyFunc) (*AuthenticatedContent, error) {
	o, err := openPrivate(cs, pm, ctx, tree, senderDataSecret, sigKey)
	if err != nil {
		return nil, err
	}
	if err := o.Consume(); err != nil {
		return nil, protoErr(CodeKeyReuse, "RFC 9420 §9.2 key deletion", "", err)
	}
	return o.Content, nil
}
