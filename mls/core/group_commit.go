package core

import (
	"errors"
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
	// WireFormat is WireFormatPublicMessage or WireFormatPrivateMessage;
	// zero means the group's default (Config.EncryptHandshake).
	WireFormat WireFormat
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
// One exception, as for every message sent: as a PrivateMessage
// (opts.WireFormat, or Config.EncryptHandshake by default) the commit is
// encrypted with the next generation of this member's
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
	st, err := g.pub.stageCommit(self, entries, cfg)
	if err != nil {
		return nil, err
	}
	res := st.res
	if res.newExtensions {
		if err := checkOwnSupport(&res.tree.Leaf(g.self).Capabilities, res.extensions); err != nil {
			return nil, protoErr(CodeInvalidProposal, ruleOwnSupport, "", err)
		}
	}
	next := g.clone()
	var (
		commitSecret CommitSecret
		newPriv      *TreePrivate
		pup          *PendingUpdatePath
	)
	if res.pathRequired || forcePath {
		leaf := *st.tree.Leaf(g.self)
		// The path leaf keeps this member's credential; check it against
		// the successor policy anyway so that a member never sends what
		// peers sharing its policy reject (Section 5.3.1).
		if old := g.pub.tree.Leaf(g.self); old != nil {
			if err := cfg.validateSuccessor(g.self, &old.Credential, &leaf.Credential, SuccessorCommit); err != nil {
				return nil, err
			}
		}
		k, err := g.signingKey()
		if err != nil {
			return nil, err
		}
		if pup, err = st.createPath(rnd, leaf, k); err != nil {
			return nil, err
		}
		defer pup.erase() // consumed by the key schedule and the Welcome
		commitSecret = pup.CommitSecret()
		newPriv = pup.Private()
	} else {
		st.finishTree()
		newPriv = g.priv.Prune(st.tree)
	}
	wf, err := g.handshakeWireFormat(opts.WireFormat)
	if err != nil {
		return nil, err
	}
	ac, err := g.frame(ContentTypeCommit, &Commit{Proposals: refs, Path: st.path}, opts.AuthenticatedData, wf)
	if err != nil {
		return nil, err
	}
	psks := append(slices.Clone(res.psks), opts.ExtraPSKs...)
	pskSecret, err := resolvePSKSecret(g.cs, cfg, g.resumption, psks)
	if err != nil {
		return nil, err
	}
	if res.reinit != nil {
		next.state, next.reinit = stateReInit, res.reinit
	}
	joiner, keys, newPub, err := st.advance(ac, g.keys.Init, commitSecret, pskSecret)
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
	pc.Stats.PathCiphertexts = st.pathCiphertexts()
	pc.Stats.Added, pc.Stats.Removed = st.added, res.removed
	if len(res.added) > 0 {
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

// GroupInfoOptions shape a GroupInfo (RFC 9420, Section 12.4.3).
type GroupInfoOptions struct {
	// InlineTree puts the ratchet tree in the GroupInfo (ratchet_tree
	// extension, Section 12.4.3.3); otherwise the receiver needs it out of
	// band.
	InlineTree bool
	// ExternalPub adds the external_pub extension, which external joiners
	// need (Section 12.4.3.2).
	ExternalPub bool
}

// GroupInfo returns a signed GroupInfo for the current epoch, with the
// ratchet tree and external_pub extensions as opts asks (e.g. to publish
// for external joins, RFC 9420, Section 12.4.3.2).
func (g *Group) GroupInfo(opts GroupInfoOptions) (*GroupInfo, error) {
	if g.state != stateActive {
		return nil, ErrInactive
	}
	return g.groupInfo(opts.InlineTree, opts.ExternalPub)
}

// buildWelcome encrypts the GroupInfo and the GroupSecrets of each new
// member (RFC 9420, Section 12.4.3.1).
func buildWelcome(cs *suite.Suite, rnd io.Reader, gi *GroupInfo, joiner JoinerSecret, psk PSKSecret, psks []PreSharedKeyID,
	added []addedMember, pup *PendingUpdatePath) (*Welcome, error) {
	ws := joiner.welcomeSecret(cs, psk)
	egi, err := encryptGroupInfo(cs, ws, gi)
	if err != nil {
		return nil, err
	}
	w := &Welcome{CipherSuite: CipherSuite(cs.ID()), EncryptedGroupInfo: egi}
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
