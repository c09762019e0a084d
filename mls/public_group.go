package mls

import (
	"bytes"
	"errors"

	"github.com/mlslab/mlslab/mls/core"
)

// PublicGroup is the public state of a group in one epoch (RFC 9420,
// Sections 7, 8.1): the ratchet tree, the group context and the transcript
// hashes, without secrets. A delivery service or any observer of the
// handshake tracks a group with it. It is immutable and safe for
// concurrent use; the slices its methods return are copies. A zero
// PublicGroup is no group: its accessors return zero values and its other
// methods an error.
type PublicGroup struct{ p *core.PublicGroup }

// errNoPublicGroup is returned by the methods of a nil or zero PublicGroup.
var errNoPublicGroup = errors.New("mls: nil or zero PublicGroup")

// pub returns the low-level state of pg, or nil if pg is nil or zero.
func (pg *PublicGroup) pub() *core.PublicGroup {
	if pg == nil {
		return nil
	}
	return pg.p
}

// ApplyCommit verifies a commit (a PublicMessage) with the proposals it
// references, and returns the next epoch's public state (RFC 9420, Section
// 12.4.2, the checks a non-member can do). pg is unchanged.
func (pg *PublicGroup) ApplyCommit(commit *MLSMessage, proposals []*MLSMessage, cfg *Config) (*PublicGroup, error) {
	p := pg.pub()
	if p == nil {
		return nil, errNoPublicGroup
	}
	c, err := commit.msg()
	if err != nil {
		return nil, err
	}
	ps, err := coreMessages(proposals)
	if err != nil {
		return nil, err
	}
	np, err := p.ApplyCommit(c, ps, cfg.core())
	if err != nil {
		return nil, err
	}
	return &PublicGroup{np}, nil
}

// GroupID, Epoch and CipherSuite describe the group.
func (pg *PublicGroup) GroupID() []byte {
	if p := pg.pub(); p != nil {
		return bytes.Clone(p.GroupID())
	}
	return nil
}

// Epoch is the epoch of this state.
func (pg *PublicGroup) Epoch() uint64 {
	if p := pg.pub(); p != nil {
		return p.Epoch()
	}
	return 0
}

// CipherSuite is the group's suite.
func (pg *PublicGroup) CipherSuite() CipherSuite {
	if p := pg.pub(); p != nil {
		return CipherSuite(p.CipherSuite())
	}
	return 0
}

// Extensions are the group context extensions.
func (pg *PublicGroup) Extensions() Extensions {
	if p := pg.pub(); p != nil {
		return extensionsFromCore(p.Extensions())
	}
	return nil
}

// Member is one member of the group: its leaf, credential and signature
// public key.
type Member struct {
	Leaf         LeafIndex
	Credential   Credential
	SignatureKey []byte
}

// Members lists the group's members in leaf order.
func (pg *PublicGroup) Members() []Member {
	p := pg.pub()
	if p == nil {
		return nil
	}
	tree := p.Tree()
	out := make([]Member, 0, p.NumMembers())
	for l := core.LeafIndex(0); uint32(l) < tree.NumLeaves(); l++ {
		if ln := tree.Leaf(l); ln != nil {
			out = append(out, Member{Leaf: LeafIndex(l), Credential: credentialFromCore(&ln.Credential), SignatureKey: bytes.Clone(ln.SignatureKey)})
		}
	}
	return out
}

// ExternalProposal builds a proposal for the group's current epoch from an
// external sender (RFC 9420, Section 12.1.8): the party at senderIndex of
// the group's external_senders extension, signing with its signature
// private key sigPriv. Only Add, Remove, PreSharedKey, ReInit and
// GroupContextExtensions may come from an external sender.
func (pg *PublicGroup) ExternalProposal(senderIndex uint32, sigPriv *SignaturePrivateKey, body ProposalBody, aad []byte) (*MLSMessage, error) {
	p := pg.pub()
	if p == nil {
		return nil, errNoPublicGroup
	}
	if sigPriv.raw() == nil {
		return nil, errors.New("mls: nil or zero SignaturePrivateKey")
	}
	bodies, err := coreProposals([]ProposalBody{body})
	if err != nil {
		return nil, err
	}
	ctx := p.Context()
	m, err := core.NewExternalProposal(&ctx, senderIndex, sigPriv.raw(), bodies[0], bytes.Clone(aad))
	return wrapMessage(m), err
}

// NewMemberAddProposal builds the Add proposal by which the owner of kp asks
// to join the group of groupInfo (RFC 9420, Section 12.1.8); a member's
// commit covering it adds kp, which then joins through the Welcome.
func NewMemberAddProposal(groupInfo *MLSMessage, kp *KeyPackageBundle, aad []byte) (*MLSMessage, error) {
	gi, err := groupInfo.groupInfo()
	if err != nil {
		return nil, err
	}
	b, err := kp.bundle()
	if err != nil {
		return nil, err
	}
	m, err := core.NewMemberAddProposal(&gi.GroupContext, b, bytes.Clone(aad))
	return wrapMessage(m), err
}

// RatchetTree encodes the ratchet tree (RFC 9420, Section 12.4.3.3), for
// joiners who receive it out of band (JoinOptions.RatchetTree,
// ExternalJoinOptions.RatchetTree).
func (pg *PublicGroup) RatchetTree() ([]byte, error) {
	p := pg.pub()
	if p == nil {
		return nil, errNoPublicGroup
	}
	return p.Tree().MarshalRatchetTree()
}
