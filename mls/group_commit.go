package mls

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

// CommitOptions are a committer's choices (RFC 9420, Section 12.4.1).
type CommitOptions struct {
	// Proposals are included by value, in order, after the cached
	// proposals of the epoch (which are included by reference).
	Proposals []ProposalBody
	// SkipCached leaves the epoch's cached proposals out.
	SkipCached bool
	// ForcePath includes an UpdatePath even when no proposal requires one
	// (a full "self-update" commit).
	ForcePath bool
	// InlineTree puts the ratchet tree in the Welcome's GroupInfo
	// (ratchet_tree extension, Section 12.4.3.3).
	InlineTree bool
	// ExternalPub adds the external_pub extension to the GroupInfo
	// (Section 12.4.3.2).
	ExternalPub bool
	// AuthenticatedData is the commit's authenticated_data.
	AuthenticatedData []byte
	// ExtraPSKs are injected into the key schedule without a proposal and
	// listed in the Welcome after the commit's PSK proposals: the
	// resumption PSK (usage reinit or branch) of a new group's first
	// commit (RFC 9420, Sections 11.2, 11.3).
	ExtraPSKs []PreSharedKeyID
}

// PendingCommit is a commit this member created: the messages to send and
// the next epoch's state, merged by Group.Merge once the delivery service
// accepted the commit (RFC 9420, Section 12.4.1; RFC 9750 ordering).
//
// A PendingCommit belongs to the *Group whose Commit created it and to that
// group's epoch: only that Group value can merge it, and only while it is
// still in the epoch and state the commit was created in (see Group.Merge).
type PendingCommit struct {
	// Commit is the MLSMessage to send to the group.
	Commit *MLSMessage
	// Welcome is the Welcome for members added by the commit, nil if none.
	Welcome *MLSMessage
	// GroupInfo is the signed GroupInfo of the new epoch (what external
	// joiners use when ExternalPub was set); nil when the commit adds no
	// member and ExternalPub was not set (Group.GroupInfo builds one
	// after Merge).
	GroupInfo *GroupInfo
	// Stats about the commit for measurement.
	Stats CommitStats

	// The Group that created the commit and the epoch it was created in.
	// Process and Merge update a Group in place, so the pointer alone
	// would always look current; the EpochSecrets value is new in every
	// epoch (Process and Merge of a commit derive a new one) and never
	// changes within an epoch, so together they name the state.
	base     *Group
	baseKeys *EpochSecrets
	next     *Group // nil once merged
}

// CommitStats describes a commit for measurement.
type CommitStats struct {
	PathCiphertexts int // HPKE ciphertexts in the UpdatePath
	Added           []LeafIndex
	Removed         []LeafIndex
}

// NextGroup returns the state the group moves to when the commit is merged,
// or nil once pc was merged (the state is then the group's) or the group
// that created pc moved to another epoch (pc is stale: Merge would refuse
// it, and the group may have overwritten secrets the state shared with
// it). The result shares its secrets with the group that merges pc, so
// neither overwrites that epoch's secrets when it moves on (see the package
// documentation, "Erasing secrets"); to persist the state, use
// MarshalNextState, which does not.
func (pc *PendingCommit) NextGroup() *Group {
	if pc.stale() {
		return nil
	}
	if pc.next != nil {
		pc.next.keys.markShared()
		pc.next.priv.markShared()
		if pc.next.stree != nil {
			pc.next.stree.pinned = true
		}
	}
	return pc.next
}

// stale reports whether pc can no longer be merged into the group that
// created it: merged already, or that group left pc's epoch.
func (pc *PendingCommit) stale() bool {
	return pc.next == nil || (pc.base != nil && pc.base.keys != pc.baseKeys)
}

// MarshalNextState encodes the state the group moves to when pc is merged,
// as Group.MarshalState would encode pc.NextGroup(), without handing that
// state out (so erasure of consumed secrets stays on). A member persisting
// across Commit and Merge stores this and the group's own MarshalState
// (taken after Commit) and keeps one of them when the delivery service
// answers. It returns ErrStalePendingCommit once pc was merged or the group
// moved to another epoch.
func (pc *PendingCommit) MarshalNextState() ([]byte, error) {
	if pc.stale() {
		return nil, ErrStalePendingCommit
	}
	return pc.next.MarshalState()
}

// ErrStalePendingCommit is returned by Merge for a pending commit that does
// not belong to the group's current state: made by another Group value (a
// Clone, for instance), or in an epoch the group has left.
var ErrStalePendingCommit = errors.New("mls: pending commit does not belong to the group's current state")

// Merge applies a commit created by this member (after the delivery service
// accepted it): g moves to the commit's epoch, whose state pc.NextGroup
// held; pc then no longer references it (NextGroup returns nil), and the
// secrets of the epoch g leaves are overwritten (see the package
// documentation, "Erasing secrets").
//
// pc must have been created by Commit on this same *Group value, in its
// current epoch, and g must still be active: no commit was processed or
// merged since (including one that removed this member or ended the group,
// or another pending commit of the epoch). Otherwise Merge returns
// ErrStalePendingCommit and g is unchanged. A Clone, or a Group restored
// from the same epoch's state, is a different Group value: a commit it
// created merges only into it. (Two copies of one epoch's state are two
// senders of the same leaf whose proposal caches, pending Update keys and
// ratchet generations may differ; merging one's commit into the other
// would install a state the merging copy did not create.)
func (g *Group) Merge(pc *PendingCommit) error {
	if pc == nil || pc.next == nil || pc.base != g || pc.baseKeys != g.keys || g.state != stateActive {
		return ErrStalePendingCommit
	}
	g.retire(pc.next)
	*g = *pc.next
	pc.next = nil
	return nil
}

// Commit creates a commit covering the epoch's cached proposals and
// opts.Proposals (RFC 9420, Section 12.4.1). The group's epoch does not
// change until Merge; a failed Commit changes nothing.
//
// One exception, as for every message sent: with Config.EncryptHandshake
// the commit is encrypted with the next generation of this member's
// handshake ratchet, and a successful Commit consumes that generation in g
// whether or not the commit is ever merged (RFC 9420, Sections 9.1, 9.2: a
// key and nonce encrypt one message only). Later proposals and commits of
// the epoch use later generations.
func (g *Group) Commit(opts CommitOptions) (*PendingCommit, error) {
	if g.state != stateActive {
		return nil, ErrInactive
	}
	cfg := g.cfg
	rnd := cfg.rand()
	pg := g.pub
	self := MemberSender(uint32(g.self))

	// Proposal list: cached by reference, then by value.
	var (
		entries []proposalEntry
		refs    []ProposalOrRef
	)
	forcePath := opts.ForcePath
	if !opts.SkipCached {
		for _, c := range g.proposals {
			// A committer must not commit its own Update (RFC 9420,
			// Section 12.2); its UpdatePath refreshes its leaf instead.
			if _, upd := c.p.Body.(*Update); upd && c.sender == self {
				forcePath = true
				continue
			}
			entries = append(entries, proposalEntry{p: c.p, sender: c.sender, ref: c.ref})
			refs = append(refs, ProposalOrRef{Type: ProposalOrRefReference, Reference: c.ref})
		}
	}
	for _, body := range opts.Proposals {
		p := &Proposal{Body: body}
		entries = append(entries, proposalEntry{p: p, sender: self})
		refs = append(refs, ProposalOrRef{Type: ProposalOrRefProposal, Proposal: p})
	}
	// A list that breaks RFC 9420, Section 12.2 is rejected, not pruned:
	// which conflicting proposal to drop is the application's choice.
	res, err := pg.applyProposals(entries, self, cfg)
	if err != nil {
		return nil, err
	}
	if res.newExtensions {
		if err := checkOwnSupport(&res.tree.Leaf(g.self).Capabilities, res.extensions); err != nil {
			return nil, protoErr(CodeInvalidProposal, ruleOwnSupport, "", err)
		}
	}
	next := g.clone()
	newCtx := pg.ctx
	newCtx.Epoch++
	newCtx.Extensions = res.extensions
	tree := res.tree
	var (
		path         *UpdatePath
		commitSecret CommitSecret
		newPriv      = g.priv
		pup          *PendingUpdatePath
		addedLeaves  = make([]LeafIndex, len(res.added))
	)
	for i, a := range res.added {
		addedLeaves[i] = a.leaf
	}
	if res.pathRequired || forcePath {
		leaf := *tree.Leaf(g.self)
		// The path leaf keeps this member's credential; check it against
		// the successor policy anyway so that a member never sends what
		// peers sharing its policy reject (Section 5.3.1).
		if old := pg.tree.Leaf(g.self); old != nil {
			if err := cfg.validateSuccessor(g.self, &old.Credential, &leaf.Credential, SuccessorCommit); err != nil {
				return nil, err
			}
		}
		k, err := g.signingKey()
		if err != nil {
			return nil, err
		}
		pup, err = tree.generateUpdatePathSigner(rnd, g.self, leaf, k, newCtx.GroupID, 0)
		if err != nil {
			return nil, err
		}
		defer pup.erase() // consumed by the key schedule and the Welcome
		tree = pup.Tree()
		newCtx.TreeHash = tree.TreeHash()
		provisional, err := newCtx.Marshal()
		if err != nil {
			return nil, err
		}
		path, err = pup.Encrypt(rnd, provisional, addedLeaves)
		if err != nil {
			return nil, err
		}
		commitSecret = pup.CommitSecret()
		newPriv = pup.Private()
	} else {
		newCtx.TreeHash = tree.TreeHash()
		newPriv = g.priv.Prune(tree)
	}
	commit := &Commit{Proposals: refs, Path: path}
	ac, err := g.frame(ContentTypeCommit, commit, opts.AuthenticatedData, g.handshakeWireFormat())
	if err != nil {
		return nil, err
	}
	pskSecret, err := resolvePSKSecret(g.cs, cfg, g.resumption, append(slices.Clone(res.psks), opts.ExtraPSKs...))
	if err != nil {
		return nil, err
	}
	initSecret := g.keys.Init
	if res.reinit != nil {
		next.state, next.reinit = stateReInit, res.reinit
	}
	joiner, keys, newPub, err := advanceEpoch(g.cs, pg, ac, newCtx, tree, initSecret, commitSecret, pskSecret)
	// joiner_secret and psk_secret are consumed once the Welcome is built
	// (RFC 9420, Section 9.2).
	defer clear(joiner)
	defer clear(pskSecret)
	if err != nil {
		return nil, err
	}
	// Protect with the current epoch's keys. An encrypted commit reserves
	// the next generation of this member's handshake ratchet; it is
	// consumed below, once nothing can fail.
	msg, sendKey, err := g.wrap(ac)
	if err != nil {
		return nil, err
	}
	next.pub, next.priv, next.keys = newPub, newPriv, keys
	if err := next.startEpoch(); err != nil {
		return nil, err
	}
	// The GroupInfo is signed only when it is needed: for the Welcome, or
	// when the caller asked for external_pub (a GroupInfo with an inline
	// ratchet tree costs a full tree encoding and a signature over it).
	var gi *GroupInfo
	if len(res.added) > 0 || opts.ExternalPub {
		if gi, err = next.groupInfo(opts.InlineTree, opts.ExternalPub); err != nil {
			return nil, err
		}
	}
	pc := &PendingCommit{Commit: msg, GroupInfo: gi, base: g, baseKeys: g.keys, next: next}
	if path != nil {
		for i := range path.Nodes {
			pc.Stats.PathCiphertexts += len(path.Nodes[i].EncryptedPathSecret)
		}
	}
	pc.Stats.Added, pc.Stats.Removed = addedLeaves, res.removed
	if len(res.added) > 0 {
		psks := append(slices.Clone(res.psks), opts.ExtraPSKs...)
		w, err := buildWelcome(g.cs, rnd, gi, joiner, pskSecret, psks, res.added, pup)
		if err != nil {
			return nil, err
		}
		pc.Welcome = &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatWelcome, Welcome: w}
	}
	// The commit is handed out: its key and nonce must never encrypt
	// another message, whether or not the commit is merged (RFC 9420,
	// Sections 9.1, 9.2). The only change Commit makes to g.
	if err := consumeSent(sendKey); err != nil {
		return nil, err
	}
	return pc, nil
}

// advanceEpoch computes the next epoch from a commit's AuthenticatedContent
// (whose signature is set): transcript hashes, key schedule, confirmation
// tag (set on ac when it has none, verified otherwise), and the new
// PublicGroup (RFC 9420, Sections 8, 8.2, 12.4.2).
func advanceEpoch(cs *suite.Suite, pg *PublicGroup, ac *AuthenticatedContent, newCtx GroupContext, tree *RatchetTree,
	init InitSecret, commit CommitSecret, psk PSKSecret) (JoinerSecret, *EpochSecrets, *PublicGroup, error) {
	input, err := ac.ConfirmedTranscriptHashInput()
	if err != nil {
		return nil, nil, nil, err
	}
	newCtx.ConfirmedTranscriptHash = confirmedTranscriptHash(cs, pg.interim, input)
	ctxBytes, err := newCtx.Marshal()
	if err != nil {
		return nil, nil, nil, err
	}
	joiner, keys := DeriveEpoch(cs, init, commit, psk, ctxBytes)
	keys.ownedByGroup()
	if ac.Auth.ConfirmationTag == nil {
		if err := ac.SetConfirmationTag(cs, keys.Confirmation, newCtx.ConfirmedTranscriptHash); err != nil {
			return nil, nil, nil, err
		}
	} else if err := ac.VerifyConfirmationTag(cs, keys.Confirmation, newCtx.ConfirmedTranscriptHash); err != nil {
		return nil, nil, nil, err
	}
	interim := interimTranscriptHash(cs, newCtx.ConfirmedTranscriptHash, ac.Auth.ConfirmationTag)
	return joiner, keys, &PublicGroup{cs: cs, ctx: newCtx, ctxBytes: ctxBytes, tree: tree, interim: interim}, nil
}

// groupInfo builds and signs the GroupInfo of the current epoch (RFC 9420,
// Section 12.4.3).
func (g *Group) groupInfo(inlineTree, externalPub bool) (*GroupInfo, error) {
	gi := &GroupInfo{
		GroupContext:    *g.pub.ctx.Clone(),
		ConfirmationTag: g.pub.confirmationTag(g.keys),
		Signer:          uint32(g.self),
	}
	if inlineTree {
		enc, err := g.pub.tree.MarshalRatchetTree()
		if err != nil {
			return nil, err
		}
		gi.Extensions = append(gi.Extensions, Extension{Type: ExtensionRatchetTree, Data: enc})
	}
	if externalPub {
		_, pub, err := g.keys.ExternalKeyPair()
		if err != nil {
			return nil, err
		}
		gi.Extensions = append(gi.Extensions, externalPubExtension(pub))
	}
	k, err := g.signingKey()
	if err != nil {
		return nil, err
	}
	if err := gi.sign(k); err != nil {
		return nil, err
	}
	return gi, nil
}

// GroupInfo returns a signed GroupInfo for the current epoch, with the
// ratchet tree and external_pub extensions as requested (e.g. to publish
// for external joins, RFC 9420, Section 12.4.3.2).
func (g *Group) GroupInfo(inlineTree, externalPub bool) (*GroupInfo, error) {
	if g.state != stateActive {
		return nil, ErrInactive
	}
	return g.groupInfo(inlineTree, externalPub)
}

// confirmationTag recomputes the epoch's confirmation tag.
func (pg *PublicGroup) confirmationTag(keys *EpochSecrets) []byte {
	return keys.ConfirmationTag(pg.ctx.ConfirmedTranscriptHash)
}

// buildWelcome encrypts the GroupInfo and the GroupSecrets of each new
// member (RFC 9420, Section 12.4.3.1).
func buildWelcome(cs *suite.Suite, rnd io.Reader, gi *GroupInfo, joiner JoinerSecret, psk PSKSecret, psks []PreSharedKeyID,
	added []addedMember, pup *PendingUpdatePath) (*Welcome, error) {
	ws := joiner.WelcomeSecret(cs, psk)
	egi, err := encryptGroupInfo(cs, ws, gi)
	if err != nil {
		return nil, err
	}
	w := &Welcome{CipherSuite: cs.ID(), EncryptedGroupInfo: egi}
	sealer := welcomeSealer(cs, egi)
	for _, a := range added {
		gs := &GroupSecrets{JoinerSecret: joiner, PSKs: psks}
		if pup != nil {
			if _, ps, ok := pup.PathSecretFor(a.leaf); ok {
				gs.PathSecret = &PathSecret{PathSecret: ps}
			}
		}
		e, err := encryptGroupSecrets(sealer, rnd, a.kp, gs)
		if err != nil {
			return nil, err
		}
		w.Secrets = append(w.Secrets, *e)
	}
	return w, nil
}

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
	var (
		ac     *AuthenticatedContent
		opened *OpenedPrivateMessage
		err    error
	)
	switch msg.WireFormat {
	case WireFormatPublicMessage:
		if msg.PublicMessage == nil {
			return nil, protoErr(CodeInvalidMessage, "RFC 9420 §6", "empty PublicMessage", nil)
		}
		c := &msg.PublicMessage.Content
		if err := checkGroupEpoch(c.GroupID, c.Epoch, &g.pub.ctx); err != nil {
			return nil, err
		}
		// Size limits before the signature is checked over the content.
		if err := g.cfg.limits().checkContent(c.Proposal, c.Commit); err != nil {
			return nil, err
		}
		key, err := g.pub.senderSigKey(c.Sender, c)
		if err != nil {
			return nil, err
		}
		if ac, err = unprotectPublic(g.cs, msg.PublicMessage, &g.pub.ctx, g.keys.Membership, key); err != nil {
			return nil, err
		}
	case WireFormatPrivateMessage:
		if msg.PrivateMessage == nil {
			return nil, protoErr(CodeInvalidMessage, "RFC 9420 §6", "empty PrivateMessage", nil)
		}
		opened, err = OpenPrivate(g.cs, msg.PrivateMessage, &g.pub.ctx, g.stree, g.keys.SenderData, g.pub.memberSigKey)
		if err != nil {
			return nil, err
		}
		if err := g.cfg.limits().checkContent(opened.Content.Content.Proposal, opened.Content.Content.Commit); err != nil {
			return nil, err
		}
		ac = opened.Content
	default:
		return nil, protoErr(CodeInvalidMessage, "RFC 9420 §6 handshake wire format", msg.WireFormat.String(), nil)
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
	case SenderTypeMember:
		if u, ok := p.Body.(*Update); ok {
			if err := g.pub.validateLeafNode(g.pub.tree, g.pub.ctx.Extensions, &u.LeafNode,
				leafCheck{source: LeafNodeSourceUpdate, leaf: LeafIndex(s.Index), replace: true, cfg: g.cfg}); err != nil {
				return err
			}
		}
	default:
		return protoErr(CodeInvalidProposal, "RFC 9420 §6 proposal sender", s.Type.String(), nil)
	}
	switch b := p.Body.(type) {
	case *Add:
		if err := g.pub.validateKeyPackage(g.pub.tree, g.pub.ctx.Extensions, &b.KeyPackage, g.cfg); err != nil {
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

// resolveProposals turns a commit's ProposalOrRef list into entries, from
// the epoch's cache for references (RFC 9420, Section 12.4).
func (g *Group) resolveProposals(c *Commit, committer Sender) ([]proposalEntry, error) {
	entries := make([]proposalEntry, 0, len(c.Proposals))
	// References are looked up in an index of the cache when both are long
	// (a scan per reference would be O(refs * cache)).
	var byRef map[string]int
	if len(c.Proposals) > scanLimit && len(g.proposals) > scanLimit {
		byRef = make(map[string]int, len(g.proposals))
		for i, cp := range g.proposals {
			if _, dup := byRef[string(cp.ref)]; !dup {
				byRef[string(cp.ref)] = i
			}
		}
	}
	for i := range c.Proposals {
		por := &c.Proposals[i]
		switch por.Type {
		case ProposalOrRefProposal:
			if por.Proposal == nil {
				return nil, protoErr(CodeInvalidCommit, "RFC 9420 §12.4", "empty ProposalOrRef", nil)
			}
			entries = append(entries, proposalEntry{p: por.Proposal, sender: committer})
		case ProposalOrRefReference:
			if committer.Type == SenderTypeNewMemberCommit {
				// An external joiner has no proposal cache; only by-value
				// proposals are valid (Section 12.4.3.2).
				return nil, protoErr(CodeInvalidCommit, "RFC 9420 §12.4.3.2 external commit proposals by value", "", nil)
			}
			idx := -1
			if byRef != nil {
				if j, ok := byRef[string(por.Reference)]; ok {
					idx = j
				}
			} else {
				idx = slices.IndexFunc(g.proposals, func(cp cachedProposal) bool { return bytes.Equal(cp.ref, por.Reference) })
			}
			if idx < 0 {
				return nil, protoErr(CodeInvalidCommit, "RFC 9420 §12.4 proposal reference", fmt.Sprintf("unknown ProposalRef %x", por.Reference), nil)
			}
			cp := g.proposals[idx]
			entries = append(entries, proposalEntry{p: cp.p, sender: cp.sender, ref: cp.ref})
		default:
			return nil, protoErr(CodeInvalidCommit, "RFC 9420 §12.4 ProposalOrRef type", "", nil)
		}
	}
	return entries, nil
}

// processCommit builds the next state from a verified commit (RFC 9420,
// Section 12.4.2). It does not modify g.
func (g *Group) processCommit(ac *AuthenticatedContent, out *Processed) (*Group, error) {
	c := ac.Content.Commit
	committer := ac.Content.Sender
	if committer.Type != SenderTypeMember && committer.Type != SenderTypeNewMemberCommit {
		return nil, protoErr(CodeInvalidCommit, "RFC 9420 §12.4 commit sender", committer.Type.String(), nil)
	}
	if committer.Type == SenderTypeMember && LeafIndex(committer.Index) == g.self {
		return nil, protoErr(CodeInvalidCommit, "RFC 9420 §12.4.2", "own commit: use Merge with the PendingCommit", nil)
	}
	pg := g.pub
	entries, err := g.resolveProposals(c, committer)
	if err != nil {
		return nil, err
	}
	st, err := pg.stageCommit(ac, entries, g.cfg)
	if err != nil {
		return nil, err
	}
	res, tree, newCtx, sender, addedLeaves := st.res, st.tree, st.ctx, st.sender, st.added
	next := g.clone()
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
				if priv, err = NewTreePrivate(g.cs, g.self, k); err != nil {
					return nil, err
				}
			}
		}
	}
	var commitSecret CommitSecret
	if c.Path != nil {
		if !selfRemoved {
			provisional, err := newCtx.Marshal()
			if err != nil {
				return nil, err
			}
			var secret []byte
			priv, secret, err = tree.DecryptUpdatePath(priv.Prune(tree), sender, c.Path, provisional, addedLeaves)
			if err != nil {
				return nil, err
			}
			commitSecret = secret
		}
		for i := range c.Path.Nodes {
			out.PathCiphertexts += len(c.Path.Nodes[i].EncryptedPathSecret)
		}
	} else {
		priv = priv.Prune(tree)
	}
	out.Epoch = newCtx.Epoch
	out.Added, out.Removed = addedLeaves, res.removed
	if selfRemoved {
		// Section 12.4.2: a removed member cannot derive the new epoch.
		// It keeps the old state, marked inactive.
		next = g.clone()
		next.state = stateRemoved
		out.SelfRemoved = true
		return next, nil
	}
	pskSecret, err := resolvePSKSecret(g.cs, g.cfg, g.resumption, res.psks)
	if err != nil {
		return nil, err
	}
	initSecret := g.keys.Init
	if committer.Type == SenderTypeNewMemberCommit {
		if initSecret, err = g.keys.ExternalInitSecret(res.externalInit.KEMOutput); err != nil {
			return nil, protoErr(CodeInvalidCommit, "RFC 9420 §8.3 external init", "", err)
		}
	}
	_, keys, newPub, err := advanceEpoch(g.cs, pg, ac, newCtx, tree, initSecret, commitSecret, pskSecret)
	clear(commitSecret) // consumed (RFC 9420, Section 9.2)
	clear(pskSecret)
	if committer.Type == SenderTypeNewMemberCommit {
		clear(initSecret) // from the external init, ours
	}
	if err != nil {
		return nil, err
	}
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

// validateCommitLeaf validates the LeafNode of a commit's UpdatePath
// (RFC 9420, Sections 7.3, 12.4.2) at leaf l of tree (the tree after the
// proposals; for external commits, after adding the joiner's leaf).
func (pg *PublicGroup) validateCommitLeaf(cfg *Config, t *RatchetTree, exts Extensions, ln *LeafNode, l LeafIndex, replace bool) error {
	if ln.Source != LeafNodeSourceCommit {
		return protoErr(CodeInvalidLeafNode, "RFC 9420 §12.4.2 leaf_node_source commit", ln.Source.String(), nil)
	}
	return pg.validateLeafNode(t, exts, ln, leafCheck{source: LeafNodeSourceCommit, leaf: l, replace: replace, skipSignature: true, skipKeyScan: true, cfg: cfg})
}

// checkResync checks the Remove of an external commit (RFC 9420, Section
// 12.2): it may only remove an old version of the joiner, so the joiner's
// new credential must be a valid successor of the removed leaf's (Section
// 5.3.1), as for an Update of that leaf. Without this, anyone holding a
// GroupInfo with external_pub could evict any member. removed are leaves
// of pg's tree; newLeaf is the joiner's LeafNode.
//
// An external commit, unlike an Update, is not signed by the removed
// leaf's key, so a credential is all that ties the joiner to the removed
// client; without an Authentication Service a basic identity is only a
// claim. Hence, when the application configured no ValidateCredential
// (ValidateSuccessor compares credentials but does not tie one to a
// signature key), a resync must also keep the removed leaf's signature key
// (the joiner proves possession by signing the commit); resyncing with a
// new key needs the application to authenticate the credential.
func (pg *PublicGroup) checkResync(cfg *Config, removed []LeafIndex, newLeaf *LeafNode) error {
	noAS := cfg == nil || cfg.ValidateCredential == nil
	for _, l := range removed {
		old := pg.tree.Leaf(l)
		if old == nil {
			return protoErr(CodeInvalidProposal, "RFC 9420 §12.1.3 removed leaf is a member", fmt.Sprintf("leaf %d", l), nil)
		}
		if err := cfg.validateSuccessor(l, &old.Credential, &newLeaf.Credential, SuccessorResync); err != nil {
			return err
		}
		if noAS && !bytes.Equal(old.SignatureKey, newLeaf.SignatureKey) {
			return protoErr(CodeInvalidLeafNode, ruleSuccessor, fmt.Sprintf("resync of leaf %d with a new signature key and no Authentication Service (Config.ValidateCredential)", l), ErrCredentialNotSuccessor)
		}
	}
	return nil
}

// addExternalJoiner places an external joiner's leaf (RFC 9420, Section
// 12.4.2: the leftmost blank leaf, or a new one on the right) so that its
// UpdatePath can be merged. The placeholder leaf carries no encryption key,
// so MergeUpdatePath's "new encryption key" check (meant for a member
// replacing its own leaf) compares against nothing; the merge replaces the
// placeholder with the path's LeafNode.
func addExternalJoiner(tree *RatchetTree, ln *LeafNode, maxLeaves uint32) (*RatchetTree, LeafIndex, error) {
	if err := checkGrowth(tree, maxLeaves); err != nil {
		return nil, 0, err
	}
	placeholder := *ln
	placeholder.EncryptionKey = nil
	return tree.Add(&placeholder)
}

// stagedCommit is the public effect of a commit (RFC 9420, Section
// 12.4.2): the proposals applied, the UpdatePath validated and merged, the
// provisional GroupContext (new epoch, extensions and tree hash; the
// confirmed transcript hash is still the old one).
type stagedCommit struct {
	res    *proposalResult
	tree   *RatchetTree
	ctx    GroupContext
	sender LeafIndex   // the committer's leaf in the new tree
	added  []LeafIndex // leaves added by the commit
}

// stageCommit performs the public steps of processing a commit whose
// signature was verified: proposal list validation and application
// (Sections 12.2, 12.3), path presence, committer leaf validation, new
// public keys not already in the tree, and the UpdatePath merge (Section
// 7.5). It does not modify pg.
func (pg *PublicGroup) stageCommit(ac *AuthenticatedContent, entries []proposalEntry, cfg *Config) (*stagedCommit, error) {
	c := ac.Content.Commit
	committer := ac.Content.Sender
	res, err := pg.applyProposals(entries, committer, cfg)
	if err != nil {
		return nil, err
	}
	if res.pathRequired && c.Path == nil {
		return nil, protoErr(CodeInvalidCommit, "RFC 9420 §12.4.2 path required", "", nil)
	}
	st := &stagedCommit{res: res, tree: res.tree, ctx: pg.ctx, sender: LeafIndex(committer.Index)}
	st.ctx.Epoch++
	st.ctx.Extensions = res.extensions
	st.added = make([]LeafIndex, len(res.added))
	for i, a := range res.added {
		st.added[i] = a.leaf
	}
	if committer.Type == SenderTypeNewMemberCommit {
		// The joiner takes the leftmost blank leaf (Section 12.4.2).
		if c.Path == nil {
			return nil, protoErr(CodeInvalidCommit, "RFC 9420 §12.4.3.2 external commit path", "", nil)
		}
		// Validate against the tree before the joiner's leaf is placed.
		if err := pg.validateCommitLeaf(cfg, st.tree, res.extensions, &c.Path.LeafNode, 0, false); err != nil {
			return nil, err
		}
		if err := pg.checkResync(cfg, res.removed, &c.Path.LeafNode); err != nil {
			return nil, err
		}
		if st.tree, st.sender, err = addExternalJoiner(st.tree, &c.Path.LeafNode, cfg.maxLeaves()); err != nil {
			return nil, err
		}
	} else if c.Path != nil {
		if err := pg.validateCommitLeaf(cfg, st.tree, res.extensions, &c.Path.LeafNode, st.sender, true); err != nil {
			return nil, err
		}
	}
	if c.Path != nil {
		// The new leaf key and every path key must be new to the tree
		// (Sections 7.3, 12.4.2): one scan for all of them.
		keys := make([][]byte, 0, len(c.Path.Nodes)+1)
		keys = append(keys, c.Path.LeafNode.EncryptionKey)
		for i := range c.Path.Nodes {
			keys = append(keys, c.Path.Nodes[i].EncryptionKey)
		}
		if x, dup := st.tree.FindEncryptionKeys(keys); dup {
			return nil, nodeErr(CodeKeyReuse, "RFC 9420 §12.4.2 UpdatePath keys not in the tree", uint32(x), "", nil)
		}
		if st.tree, err = st.tree.MergeUpdatePath(st.sender, c.Path, st.ctx.GroupID); err != nil {
			return nil, err
		}
	}
	st.ctx.TreeHash = st.tree.TreeHash()
	return st, nil
}

// ApplyCommit is what a delivery service or any observer without member
// secrets can do with a commit sent as PublicMessage (RFC 9420, Sections
// 6.2, 12.4.2): check group and epoch, verify the signature, validate and
// apply the proposals (by-reference proposals are looked up among
// proposals, the epoch's proposal messages as PublicMessage), validate and
// merge the UpdatePath, and advance the transcript hashes. It cannot check
// the membership tag or the confirmation tag (they need epoch secrets). It
// returns the next epoch's PublicGroup; pg is unchanged.
func (pg *PublicGroup) ApplyCommit(msg *MLSMessage, proposals []*MLSMessage, cfg *Config) (*PublicGroup, error) {
	if msg == nil || msg.WireFormat != WireFormatPublicMessage || msg.PublicMessage == nil {
		return nil, protoErr(CodeInvalidMessage, "RFC 9420 §6.2", "a delivery service can only validate PublicMessage commits", nil)
	}
	c := &msg.PublicMessage.Content
	if err := cfg.limits().checkContent(c.Proposal, c.Commit); err != nil {
		return nil, err
	}
	ac, err := pg.verifyPublic(msg.PublicMessage)
	if err != nil {
		return nil, err
	}
	if ac.Content.ContentType != ContentTypeCommit || ac.Content.Commit == nil {
		return nil, protoErr(CodeInvalidMessage, "RFC 9420 §12.4", "not a commit", nil)
	}
	var cache []cachedProposal
	for i, m := range proposals {
		if m == nil || m.PublicMessage == nil {
			return nil, protoErr(CodeInvalidMessage, "RFC 9420 §6.2", fmt.Sprintf("proposal %d is not a PublicMessage", i), nil)
		}
		pac, err := pg.verifyPublic(m.PublicMessage)
		if err != nil {
			return nil, fmt.Errorf("mls: proposal %d: %w", i, err)
		}
		if pac.Content.ContentType != ContentTypeProposal {
			return nil, protoErr(CodeInvalidMessage, "RFC 9420 §12.1", fmt.Sprintf("message %d is not a proposal", i), nil)
		}
		enc, err := pac.Marshal()
		if err != nil {
			return nil, err
		}
		cache = append(cache, cachedProposal{ref: pg.cs.MakeProposalRef(enc), p: pac.Content.Proposal, sender: pac.Content.Sender})
	}
	g := &Group{pub: pg, proposals: cache}
	entries, err := g.resolveProposals(ac.Content.Commit, ac.Content.Sender)
	if err != nil {
		return nil, err
	}
	st, err := pg.stageCommit(ac, entries, cfg)
	if err != nil {
		return nil, err
	}
	input, err := ac.ConfirmedTranscriptHashInput()
	if err != nil {
		return nil, err
	}
	st.ctx.ConfirmedTranscriptHash = confirmedTranscriptHash(pg.cs, pg.interim, input)
	interim := interimTranscriptHash(pg.cs, st.ctx.ConfirmedTranscriptHash, ac.Auth.ConfirmationTag)
	return newPublicGroup(pg.cs, st.ctx, st.tree, interim)
}

// verifyPublic checks group, epoch and the signature of a PublicMessage
// (not the membership tag).
func (pg *PublicGroup) verifyPublic(pm *PublicMessage) (*AuthenticatedContent, error) {
	c := &pm.Content
	if err := checkGroupEpoch(c.GroupID, c.Epoch, &pg.ctx); err != nil {
		return nil, err
	}
	key, err := pg.senderSigKey(c.Sender, c)
	if err != nil {
		return nil, err
	}
	ac := pm.authenticatedContent()
	if err := ac.VerifySignature(pg.cs, key, &pg.ctx); err != nil {
		return nil, err
	}
	return ac, nil
}
