package mls

import (
	"fmt"

	"github.com/mlslab/mlslab/mls/core"
)

// PublicGroup is the public state of a group in one epoch (RFC 9420,
// Sections 7, 8.1): the ratchet tree, the group context and the transcript
// hashes, without secrets. A delivery service or any observer of the
// handshake tracks a group with it. It is immutable and safe for
// concurrent use.
type PublicGroup struct{ p *core.PublicGroup }

// ApplyCommit verifies a commit (a PublicMessage) with the proposals it
// references, and returns the next epoch's public state (RFC 9420, Section
// 12.4.2, the checks a non-member can do). pg is unchanged.
func (pg *PublicGroup) ApplyCommit(commit *MLSMessage, proposals []*MLSMessage, cfg *Config) (*PublicGroup, error) {
	if commit == nil {
		return nil, fmt.Errorf("%w: nil commit", ErrInvalidMessage)
	}
	np, err := pg.p.ApplyCommit(commit.m, coreMessages(proposals), cfg.core())
	if err != nil {
		return nil, err
	}
	return &PublicGroup{np}, nil
}

// GroupID, Epoch and CipherSuite describe the group.
func (pg *PublicGroup) GroupID() []byte { return pg.p.GroupID() }

// Epoch is the epoch of this state.
func (pg *PublicGroup) Epoch() uint64 { return pg.p.Epoch() }

// CipherSuite is the group's suite.
func (pg *PublicGroup) CipherSuite() CipherSuite { return CipherSuite(pg.p.CipherSuite()) }

// Extensions are the group context extensions.
func (pg *PublicGroup) Extensions() Extensions { return extensionsFromCore(pg.p.Extensions()) }

// Member is one member of the group: its leaf, credential and signature
// public key.
type Member struct {
	Leaf         LeafIndex
	Credential   Credential
	SignatureKey []byte
}

// Members lists the group's members in leaf order.
func (pg *PublicGroup) Members() []Member {
	tree := pg.p.Tree()
	out := make([]Member, 0, pg.p.NumMembers())
	for l := core.LeafIndex(0); uint32(l) < tree.NumLeaves(); l++ {
		if ln := tree.Leaf(l); ln != nil {
			out = append(out, Member{Leaf: LeafIndex(l), Credential: credentialFromCore(&ln.Credential), SignatureKey: ln.SignatureKey})
		}
	}
	return out
}

// ExternalProposal builds a proposal for the group's current epoch from an
// external sender (RFC 9420, Section 12.1.8): the party at senderIndex of
// the group's external_senders extension, signing with its signature
// private key sigPriv. Only Add, Remove, PreSharedKey, ReInit and
// GroupContextExtensions may come from an external sender.
func (pg *PublicGroup) ExternalProposal(senderIndex uint32, sigPriv []byte, body ProposalBody, aad []byte) (*MLSMessage, error) {
	bodies, err := coreProposals([]ProposalBody{body})
	if err != nil {
		return nil, err
	}
	ctx := pg.p.Context()
	m, err := core.NewExternalProposal(&ctx, senderIndex, sigPriv, bodies[0], aad)
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
	m, err := core.NewMemberAddProposal(&gi.GroupContext, kp.b, aad)
	return wrapMessage(m), err
}

// RatchetTree encodes the ratchet tree (RFC 9420, Section 12.4.3.3), for
// joiners who receive it out of band (JoinOptions.RatchetTree,
// ExternalJoinOptions.RatchetTree).
func (pg *PublicGroup) RatchetTree() ([]byte, error) { return pg.p.Tree().MarshalRatchetTree() }
