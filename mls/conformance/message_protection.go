package conformance

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/mlslab/mlslab/mls/core"
	"github.com/mlslab/mlslab/mls/internal/suite"
	"github.com/mlslab/mlslab/mls/internal/vectors"
)

// messageProtectionVector is one case of message-protection.json
// (test-vectors.md, "Message Protection").
type messageProtectionVector struct {
	CipherSuite             uint16      `json:"cipher_suite"`
	GroupID                 vectors.Hex `json:"group_id"`
	Epoch                   uint64      `json:"epoch"`
	TreeHash                vectors.Hex `json:"tree_hash"`
	ConfirmedTranscriptHash vectors.Hex `json:"confirmed_transcript_hash"`
	SignaturePriv           vectors.Hex `json:"signature_priv"`
	SignaturePub            vectors.Hex `json:"signature_pub"`
	EncryptionSecret        vectors.Hex `json:"encryption_secret"`
	SenderDataSecret        vectors.Hex `json:"sender_data_secret"`
	MembershipKey           vectors.Hex `json:"membership_key"`

	Proposal     vectors.Hex `json:"proposal"`
	ProposalPub  vectors.Hex `json:"proposal_pub"`
	ProposalPriv vectors.Hex `json:"proposal_priv"`

	Commit     vectors.Hex `json:"commit"`
	CommitPub  vectors.Hex `json:"commit_pub"`
	CommitPriv vectors.Hex `json:"commit_priv"`

	Application     vectors.Hex `json:"application"`
	ApplicationPriv vectors.Hex `json:"application_priv"`
}

func runMessageProtectionVectors(data []byte) ([]vectors.Case, error) {
	return vectors.Each(data, func(_ int, v *messageProtectionVector) string { return vectors.SuiteName(v.CipherSuite) },
		func(v *messageProtectionVector) error {
			cs, err := suite.Get(suite.ID(v.CipherSuite))
			if err != nil {
				return err
			}
			return checkMessageProtectionVector(cs, v)
		})
}

// mpSenderLeaf is the sender of every message in the vectors.
const mpSenderLeaf = 1

func checkMessageProtectionVector(cs *suite.Suite, tv *messageProtectionVector) error {
	var c vectors.Check
	ctx := &core.GroupContext{
		Version:                 core.ProtocolVersionMLS10,
		CipherSuite:             code(cs),
		GroupID:                 tv.GroupID,
		Epoch:                   tv.Epoch,
		TreeHash:                tv.TreeHash,
		ConfirmedTranscriptHash: tv.ConfirmedTranscriptHash,
	}
	// The raw contents.
	proposal, err := core.UnmarshalProposal(tv.Proposal)
	if err != nil {
		c.Err("proposal", err)
		return c.Result()
	}
	commit, err := core.UnmarshalCommit(tv.Commit)
	if err != nil {
		c.Err("commit", err)
		return c.Result()
	}
	contents := []struct {
		name      string
		content   core.FramedContent
		raw       []byte
		pub, priv []byte
	}{
		{"proposal", core.FramedContent{ContentType: core.ContentTypeProposal, Proposal: proposal}, tv.Proposal, tv.ProposalPub, tv.ProposalPriv},
		{"commit", core.FramedContent{ContentType: core.ContentTypeCommit, Commit: commit}, tv.Commit, tv.CommitPub, tv.CommitPriv},
		{"application", core.FramedContent{ContentType: core.ContentTypeApplication, ApplicationData: tv.Application}, tv.Application, nil, tv.ApplicationPriv},
	}
	sigKey := func(leaf uint32) ([]byte, error) {
		if leaf != mpSenderLeaf {
			return nil, fmt.Errorf("%w: leaf %d", core.ErrUnknownSender, leaf)
		}
		return tv.SignaturePub, nil
	}
	newTree := func() (*core.SecretTree, error) {
		return core.NewSecretTree(code(cs), core.EncryptionSecret(tv.EncryptionSecret), 2)
	}
	membershipKey := core.MembershipKey(tv.MembershipKey)
	senderData := core.SenderDataSecret(tv.SenderDataSecret)

	for _, x := range contents {
		// rawOf re-encodes the content of an AuthenticatedContent in the
		// form of the raw vector field.
		rawOf := func(ac *core.AuthenticatedContent) []byte {
			switch ac.Content.ContentType {
			case core.ContentTypeProposal:
				if ac.Content.Proposal != nil {
					b, _ := ac.Content.Proposal.Marshal()
					return b
				}
			case core.ContentTypeCommit:
				if ac.Content.Commit != nil {
					b, _ := ac.Content.Commit.Marshal()
					return b
				}
			case core.ContentTypeApplication:
				return ac.Content.ApplicationData
			}
			return nil
		}
		checkContent := func(field string, ac *core.AuthenticatedContent) {
			c.Equal(field+".content_type", ac.Content.ContentType, x.content.ContentType)
			c.Bytes(field+".content", rawOf(ac), x.raw)
			c.Equal(field+".sender", ac.Content.Sender, core.MemberSender(mpSenderLeaf))
			c.Bytes(field+".group_id", ac.Content.GroupID, tv.GroupID)
			c.Equal(field+".epoch", ac.Content.Epoch, tv.Epoch)
		}

		// 1. The vector's PublicMessage verifies and yields the raw content.
		if x.pub != nil {
			field := x.name + "_pub"
			m, err := core.UnmarshalMLSMessage(x.pub)
			switch {
			case err != nil:
				c.Err(field, err)
			case m.WireFormat != core.WireFormatPublicMessage:
				c.Err(field, fmt.Errorf("wire format %v", m.WireFormat))
			default:
				ac, err := core.UnprotectPublic(code(cs), m.PublicMessage, ctx, &membershipKey, tv.SignaturePub)
				if err != nil {
					c.Err(field+": unprotect", err)
				} else {
					checkContent(field, ac)
				}
				// Tampering with the membership tag must be detected.
				bad := *m.PublicMessage
				bad.MembershipTag = bytes.Clone(bad.MembershipTag)
				bad.MembershipTag[0] ^= 1
				if _, err := core.UnprotectPublic(code(cs), &bad, ctx, &membershipKey, tv.SignaturePub); !errors.Is(err, core.ErrInvalidMAC) {
					c.Err(field+": tampered membership tag", fmt.Errorf("got %v, want ErrInvalidMAC", err))
				}
			}
		}

		// 2. Protecting the raw content as PublicMessage yields a message
		// that verifies; for application data it fails.
		{
			field := x.name + " protect as PublicMessage"
			ac := &core.AuthenticatedContent{WireFormat: core.WireFormatPublicMessage, Content: x.content}
			ac.Content.GroupID, ac.Content.Epoch, ac.Content.Sender = tv.GroupID, tv.Epoch, core.MemberSender(mpSenderLeaf)
			signErr := ac.Sign(code(cs), tv.SignaturePriv, ctx)
			if ac.Content.ContentType == core.ContentTypeCommit {
				ac.Auth.ConfirmationTag = make([]byte, cs.HashSize()) // not checked here: needs the next epoch
			}
			pm, err := core.ProtectPublic(code(cs), ac, ctx, membershipKey)
			if signErr != nil {
				c.Err(field+": sign", signErr)
			} else if x.content.ContentType == core.ContentTypeApplication {
				if !errors.Is(err, core.ErrInvalidMessage) {
					c.Err(field, fmt.Errorf("got %v, want ErrInvalidMessage", err))
				}
			} else if err != nil {
				c.Err(field, err)
			} else {
				// Through the wire encoding and back.
				enc, err := (&core.MLSMessage{Version: core.ProtocolVersionMLS10, WireFormat: core.WireFormatPublicMessage, PublicMessage: pm}).Marshal()
				var m *core.MLSMessage
				if err == nil {
					m, err = core.UnmarshalMLSMessage(enc)
				}
				if err != nil {
					c.Err(field+": encoding", err)
				} else if got, err := core.UnprotectPublic(code(cs), m.PublicMessage, ctx, &membershipKey, tv.SignaturePub); err != nil {
					c.Err(field+": unprotect", err)
				} else {
					checkContent(field, got)
				}
			}
		}

		// 3. The vector's PrivateMessage decrypts and verifies.
		{
			field := x.name + "_priv"
			tree, err := newTree()
			if err != nil {
				c.Err(field, err)
				continue
			}
			m, err := core.UnmarshalMLSMessage(x.priv)
			switch {
			case err != nil:
				c.Err(field, err)
			case m.WireFormat != core.WireFormatPrivateMessage:
				c.Err(field, fmt.Errorf("wire format %v", m.WireFormat))
			default:
				// A tampered ciphertext fails and consumes nothing.
				bad := *m.PrivateMessage
				bad.Ciphertext = bytes.Clone(bad.Ciphertext)
				bad.Ciphertext[len(bad.Ciphertext)-1] ^= 1
				if _, err := core.UnprotectPrivate(code(cs), &bad, ctx, tree, senderData, sigKey); !errors.Is(err, core.ErrDecrypt) {
					c.Err(field+": tampered ciphertext", fmt.Errorf("got %v, want ErrDecrypt", err))
				}
				ac, err := core.UnprotectPrivate(code(cs), m.PrivateMessage, ctx, tree, senderData, sigKey)
				if err != nil {
					c.Err(field+": unprotect", err)
				} else {
					checkContent(field, ac)
				}
				// The key is consumed: a replay fails.
				if _, err := core.UnprotectPrivate(code(cs), m.PrivateMessage, ctx, tree, senderData, sigKey); err == nil {
					c.Err(field+": replay", errors.New("replayed PrivateMessage accepted"))
				}
			}
		}

		// 4. Protecting the raw content as PrivateMessage yields a message
		// that unprotects with a fresh secret tree.
		{
			field := x.name + " protect as PrivateMessage"
			sendTree, err1 := newTree()
			recvTree, err2 := newTree()
			if err := errors.Join(err1, err2); err != nil {
				c.Err(field, err)
				continue
			}
			ac := &core.AuthenticatedContent{WireFormat: core.WireFormatPrivateMessage, Content: x.content}
			ac.Content.GroupID, ac.Content.Epoch, ac.Content.Sender = tv.GroupID, tv.Epoch, core.MemberSender(mpSenderLeaf)
			if err := ac.Sign(code(cs), tv.SignaturePriv, ctx); err != nil {
				c.Err(field+": sign", err)
				continue
			}
			if ac.Content.ContentType == core.ContentTypeCommit {
				ac.Auth.ConfirmationTag = make([]byte, cs.HashSize())
			}
			pm, err := core.ProtectPrivate(code(cs), ac, sendTree, senderData, core.PrivateOptions{Padding: core.PadToMultiple(32)})
			if err != nil {
				c.Err(field, err)
				continue
			}
			enc, err := (&core.MLSMessage{Version: core.ProtocolVersionMLS10, WireFormat: core.WireFormatPrivateMessage, PrivateMessage: pm}).Marshal()
			var m *core.MLSMessage
			if err == nil {
				m, err = core.UnmarshalMLSMessage(enc)
			}
			if err != nil {
				c.Err(field+": encoding", err)
				continue
			}
			got, err := core.UnprotectPrivate(code(cs), m.PrivateMessage, ctx, recvTree, senderData, sigKey)
			if err != nil {
				c.Err(field+": unprotect", err)
				continue
			}
			checkContent(field, got)
			if got.Content.ContentType == core.ContentTypeCommit {
				c.Bytes(field+".confirmation_tag", got.Auth.ConfirmationTag, ac.Auth.ConfirmationTag)
			}
		}
	}
	return c.Result()
}
