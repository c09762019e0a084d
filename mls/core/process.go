package core

import (
	"fmt"
	"slices"
)

// Processed reports what a processed message did.
type Processed struct {
	Sender            Sender
	ContentType       ContentType
	AuthenticatedData []byte
	// ApplicationData is set for application messages.
	ApplicationData []byte
	// Proposal is set for proposals (cached for a later commit).
	Proposal *Proposal
	// For commits: the new epoch, leaves added and removed, whether this
	// member was removed, and a ReInit that ended the group.
	Epoch       uint64
	Added       []LeafIndex
	Removed     []LeafIndex
	SelfRemoved bool
	ReInit      *ReInit
	// PathCiphertexts is the number of HPKE ciphertexts of the commit's
	// UpdatePath.
	PathCiphertexts int
}

// Process handles a PublicMessage or PrivateMessage of the current epoch
// (RFC 9420, Sections 6, 12.4.2). On error the group is unchanged.
func (g *Group) Process(msg *MLSMessage) (*Processed, error) {
	if g.state != stateActive {
		return nil, ErrInactive
	}
	if msg == nil {
		return nil, protoErr(CodeInvalidMessage, "RFC 9420 §6", "nil message", nil)
	}
	ac, opened, err := openHandshake(g.pub, g.cfg, &g.keys.Membership, g.keys.SenderData, g.stree, msg)
	if err != nil {
		return nil, err
	}
	out := &Processed{Sender: ac.Content.Sender, ContentType: ac.Content.ContentType, AuthenticatedData: ac.Content.AuthenticatedData}
	switch ac.Content.ContentType {
	case ContentTypeApplication:
		if err := opened.Consume(); err != nil {
			return nil, err
		}
		out.ApplicationData = ac.Content.ApplicationData
		return out, nil
	case ContentTypeProposal:
		ref, err := g.proposalRef(ac)
		if err != nil {
			return nil, err
		}
		// A replayed proposal would be cached twice, and a commit of the
		// cache would then list it twice (invalid for an Update or Remove,
		// RFC 9420, Section 12.2).
		if g.hasProposal(ref) {
			return nil, protoErr(CodeInvalidMessage, "RFC 9420 §12.4 proposal received twice", fmt.Sprintf("ProposalRef %x", ref), nil)
		}
		if err := g.checkReceivedProposal(ac); err != nil {
			return nil, err
		}
		if opened != nil {
			if err := opened.Consume(); err != nil {
				return nil, err
			}
		}
		g.addProposal(cachedProposal{ref: ref, p: ac.Content.Proposal, sender: ac.Content.Sender})
		out.Proposal = ac.Content.Proposal
		return out, nil
	case ContentTypeCommit:
		next, err := g.processCommit(ac, out)
		if err != nil {
			return nil, err
		}
		// The key that decrypted the commit belongs to the old epoch's
		// secret tree, which is discarded (and erased) with it.
		g.retire(next)
		*g = *next
		return out, nil
	}
	return nil, protoErr(CodeInvalidMessage, "RFC 9420 §6 content_type", ac.Content.ContentType.String(), nil)
}

// openHandshake is a member's first step on a message of pub's epoch
// (RFC 9420, Sections 6.2, 6.3): a PublicMessage is checked (group, epoch,
// size limits, signature, membership tag with membership); a
// PrivateMessage is decrypted with the sender data secret and stree, and
// its signature and size checked. The key that opened a PrivateMessage is
// consumed only by the caller (OpenedPrivateMessage.Consume).
func openHandshake(pub *PublicGroup, cfg *Config, membership *MembershipKey, senderData SenderDataSecret, stree *SecretTree, msg *MLSMessage) (*AuthenticatedContent, *OpenedPrivateMessage, error) {
	switch msg.WireFormat {
	case WireFormatPublicMessage:
		if msg.PublicMessage == nil {
			return nil, nil, protoErr(CodeInvalidMessage, "RFC 9420 §6", "empty PublicMessage", nil)
		}
		ac, err := pub.verifyPublic(msg.PublicMessage, cfg, membership)
		return ac, nil, err
	case WireFormatPrivateMessage:
		if msg.PrivateMessage == nil {
			return nil, nil, protoErr(CodeInvalidMessage, "RFC 9420 §6", "empty PrivateMessage", nil)
		}
		opened, err := openPrivate(pub.cs, msg.PrivateMessage, &pub.ctx, stree, senderData, pub.memberSigKey)
		if err != nil {
			return nil, nil, err
		}
		if err := cfg.limits().checkContent(opened.Content.Content.Proposal, opened.Content.Content.Commit); err != nil {
			return nil, nil, err
		}
		return opened.Content, opened, nil
	}
	return nil, nil, protoErr(CodeInvalidMessage, "RFC 9420 §6 handshake wire format", msg.WireFormat.String(), nil)
}

// checkReceivedProposal validates a proposal on receipt as far as it can be
// validated alone (RFC 9420, Section 12.1): senders' permissions and the
// proposal's self-contained rules. The list rules are checked at commit.
func (g *Group) checkReceivedProposal(ac *AuthenticatedContent) error {
	p := ac.Content.Proposal
	if p == nil || !p.Type().IsValid() {
		return protoErr(CodeInvalidProposal, "RFC 9420 §12.1", "unsupported proposal type", nil)
	}
	s := ac.Content.Sender
	switch s.Type {
	case SenderTypeExternal:
		if !p.Type().AllowedExternal() {
			return protoErr(CodeInvalidProposal, "RFC 9420 §12.1.8 external proposal type", p.Type().String(), nil)
		}
		if g.cfg != nil && g.cfg.AcceptExternalProposal != nil {
			if err := g.cfg.AcceptExternalProposal(p, s.Index); err != nil {
				return protoErr(CodeInvalidProposal, "RFC 9420 §12.1.8 external proposal policy", "", err)
			}
		}
	case SenderTypeNewMemberProposal:
		if p.Type() != ProposalTypeAdd {
			return protoErr(CodeInvalidProposal, "RFC 9420 §12.1.8 new_member_proposal", p.Type().String(), nil)
		}
		// Anyone who saw a message of the group knows its ID and epoch and
		// can ask to be added: without a policy that admits it, refuse.
		if g.cfg == nil || g.cfg.AcceptNewMemberProposal == nil {
			return protoErr(CodeInvalidProposal, "RFC 9420 §12.1.8 new_member_proposal policy", "no Config.AcceptNewMemberProposal", nil)
		}
		if err := g.cfg.AcceptNewMemberProposal(&p.Body.(*Add).KeyPackage); err != nil {
			return protoErr(CodeInvalidProposal, "RFC 9420 §12.1.8 new_member_proposal policy", "", err)
		}
	case SenderTypeMember:
		if u, ok := p.Body.(*Update); ok {
			if err := g.pub.validateLeafNode(g.pub.tree, g.pub.ctx.Extensions, &u.LeafNode,
				leafCheck{source: LeafNodeSourceUpdate, leaf: LeafIndex(s.Index), replace: true, cfg: g.cfg, req: g.pub.ownRequired()}); err != nil {
				return err
			}
		}
	default:
		return protoErr(CodeInvalidProposal, "RFC 9420 §6 proposal sender", s.Type.String(), nil)
	}
	switch b := p.Body.(type) {
	case *Add:
		if err := g.pub.validateKeyPackage(g.pub.tree, g.pub.ctx.Extensions, &b.KeyPackage, g.cfg, addSigs{}, g.pub.ownRequired()); err != nil {
			return err
		}
	case *Remove:
		if g.pub.tree.Leaf(LeafIndex(b.Removed)) == nil {
			return protoErr(CodeInvalidProposal, "RFC 9420 §12.1.3 removed leaf is a member", fmt.Sprintf("leaf %d", b.Removed), nil)
		}
	case *PreSharedKey:
		if err := g.pub.validatePSKProposal(&b.PSK); err != nil {
			return err
		}
	case *ExternalInit:
		return protoErr(CodeInvalidProposal, "RFC 9420 §12.1.6 ExternalInit only in external commits", "", nil)
	}
	return nil
}

// processCommit builds the next state from a verified commit (RFC 9420,
// Section 12.4.2). It does not modify g.
func (g *Group) processCommit(ac *AuthenticatedContent, out *Processed) (*Group, error) {
	c := ac.Content.Commit
	committer := ac.Content.Sender
	if err := checkCommitSender(committer); err != nil {
		return nil, err
	}
	if committer.Type == SenderTypeMember && LeafIndex(committer.Index) == g.self {
		return nil, protoErr(CodeInvalidCommit, "RFC 9420 §12.4.2", "own commit: use Merge with the PendingCommit", nil)
	}
	entries, err := resolveProposals(c, committer, g.proposals)
	if err != nil {
		return nil, err
	}
	st, err := g.pub.stageCommit(committer, entries, g.cfg)
	if err != nil {
		return nil, err
	}
	if err := st.mergePath(c.Path); err != nil {
		return nil, err
	}
	res := st.res
	priv := g.priv
	selfRemoved := slices.Contains(res.removed, g.self)
	if res.newExtensions && !selfRemoved {
		if err := checkOwnSupport(&res.tree.Leaf(g.self).Capabilities, res.extensions); err != nil {
			return nil, protoErr(CodeInvalidProposal, ruleOwnSupport, "", err)
		}
	}
	// If one of our own Update proposals was committed, our leaf key
	// changed (Section 12.1.2).
	for _, e := range entries {
		if e.ref != nil && e.sender.Type == SenderTypeMember && LeafIndex(e.sender.Index) == g.self {
			if k, ok := g.updateKeys[string(e.ref)]; ok {
				if priv, err = newTreePrivate(g.cs, g.self, k); err != nil {
					return nil, err
				}
			}
		}
	}
	var commitSecret CommitSecret
	if !selfRemoved {
		if priv, commitSecret, err = st.decryptPath(priv); err != nil {
			return nil, err
		}
	}
	out.PathCiphertexts = st.pathCiphertexts()
	out.Epoch = st.ctx.Epoch
	out.Added, out.Removed = st.added, res.removed
	if selfRemoved {
		// Section 12.4.2: a removed member cannot derive the new epoch.
		// It keeps the old state, marked inactive.
		next := g.clone()
		next.state = stateRemoved
		out.SelfRemoved = true
		return next, nil
	}
	pskSecret, err := resolvePSKSecret(g.cs, g.cfg, g.resumption, res.psks)
	if err != nil {
		return nil, err
	}
	initSecret, err := commitInitSecret(g.keys, committer, res.externalInit)
	if err != nil {
		return nil, err
	}
	_, keys, newPub, err := st.advance(ac, initSecret, commitSecret, pskSecret)
	clear(commitSecret) // consumed (RFC 9420, Section 9.2)
	clear(pskSecret)
	if committer.Type == SenderTypeNewMemberCommit {
		clear(initSecret) // from the external init, ours
	}
	if err != nil {
		return nil, err
	}
	next := g.clone()
	next.pub, next.priv, next.keys = newPub, priv, keys
	if err := next.startEpoch(); err != nil {
		return nil, err
	}
	if res.reinit != nil {
		next.state, next.reinit = stateReInit, res.reinit
		out.ReInit = res.reinit
	}
	return next, nil
}
