package mls

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/mlslab/mlslab/mls/core"
)

// Group is one member's state of a group in its current epoch (RFC 9420,
// Section 8): the public state, the member's secrets, the epoch's key
// schedule and message keys. Methods that fail leave it exactly as it was;
// a Group is not safe for concurrent use. It prints without secrets. The
// slices its methods return are copies. A zero Group is no group: its
// accessors return zero values and its other methods an error.
type Group struct{ g *core.Group }

// errNoGroup is returned by the methods of a nil or zero Group.
var errNoGroup = errors.New("mls: nil or zero Group")

// grp returns the low-level group of g, or an error if g is nil or zero.
func (g *Group) grp() (*core.Group, error) {
	if g == nil || g.g == nil {
		return nil, errNoGroup
	}
	return g.g, nil
}

// Format prints the group's ID, epoch and leaf, with every verb: fmt never
// prints its secrets.
func (g Group) Format(f fmt.State, _ rune) {
	if g.g == nil {
		fmt.Fprint(f, "mls.Group{}")
		return
	}
	fmt.Fprintf(f, "mls.Group{id %x, epoch %d, leaf %d, secrets redacted}", g.g.GroupID(), g.g.Epoch(), g.g.LeafIndex())
}

func wrapGroup(g *core.Group, err error) (*Group, error) {
	if err != nil {
		return nil, err
	}
	return &Group{g}, nil
}

// CreateGroup creates a one-member group with ID groupID in epoch 0, the
// creator at leaf 0 with kp's keys and credential (RFC 9420, Section 11).
func CreateGroup(cfg *Config, groupID []byte, kp *KeyPackageBundle, extensions Extensions) (*Group, error) {
	b, err := kp.bundle()
	if err != nil {
		return nil, err
	}
	return wrapGroup(core.CreateGroup(cfg.core(), bytes.Clone(groupID), b, extensions.core()))
}

// JoinOptions are the inputs of a join from a Welcome besides the message.
type JoinOptions struct {
	// RatchetTree is the encoded ratchet tree when the Welcome's GroupInfo
	// does not carry it (RFC 9420, Section 12.4.3.3).
	RatchetTree []byte
	// Previous is the old group of a ReInit or the parent of a branch
	// whose resumption PSK the Welcome requires (Sections 11.2, 11.3).
	Previous *Group
}

// Join joins a group from a Welcome addressed to kp (RFC 9420, Section
// 12.4.3.1): it decrypts the group secrets, verifies the GroupInfo and the
// ratchet tree and derives the epoch.
func Join(cfg *Config, welcome *MLSMessage, kp *KeyPackageBundle, opts *JoinOptions) (*Group, error) {
	w, err := welcome.msg()
	if err != nil {
		return nil, err
	}
	b, err := kp.bundle()
	if err != nil {
		return nil, err
	}
	var co *core.JoinOptions
	if opts != nil {
		co = &core.JoinOptions{RatchetTree: opts.RatchetTree}
		if opts.Previous != nil {
			if co.Previous, err = opts.Previous.grp(); err != nil {
				return nil, err
			}
		}
	}
	return wrapGroup(core.Join(cfg.core(), w, b, co))
}

// ExternalJoinOptions are the inputs of an external join besides the
// GroupInfo.
type ExternalJoinOptions struct {
	// RatchetTree is the encoded ratchet tree when the GroupInfo does not
	// carry it.
	RatchetTree []byte
	// Remove is the joiner's own previous leaf, removed by the same commit
	// (a resync, RFC 9420, Section 12.4.3.2).
	Remove *LeafIndex
	// AuthenticatedData is the commit's authenticated_data.
	AuthenticatedData []byte
}

// ExternalJoin joins a group without a Welcome, by an external commit built
// from a GroupInfo that carries the external_pub extension (RFC 9420,
// Section 12.4.3.2). It returns the joiner's Group in the new epoch, to use
// once the delivery service accepted the commit, and the commit to send.
func ExternalJoin(cfg *Config, groupInfo *MLSMessage, kp *KeyPackageBundle, opts *ExternalJoinOptions) (*Group, *MLSMessage, error) {
	gi, err := groupInfo.groupInfo()
	if err != nil {
		return nil, nil, err
	}
	b, err := kp.bundle()
	if err != nil {
		return nil, nil, err
	}
	var co *core.ExternalJoinOptions
	if opts != nil {
		co = &core.ExternalJoinOptions{RatchetTree: opts.RatchetTree, AuthenticatedData: bytes.Clone(opts.AuthenticatedData)}
		if opts.Remove != nil {
			l := core.LeafIndex(*opts.Remove)
			co.Remove = &l
		}
	}
	g, msg, err := core.ExternalJoin(cfg.core(), gi, b, co)
	if err != nil {
		return nil, nil, err
	}
	return &Group{g}, wrapMessage(msg), nil
}

// UnmarshalGroupState restores a Group saved by MarshalState. The encoding
// holds the member's secrets: store it as such.
func UnmarshalGroupState(cfg *Config, data []byte) (*Group, error) {
	return wrapGroup(core.UnmarshalGroupState(cfg.core(), data))
}

// MarshalState encodes the Group, secrets included, for UnmarshalGroupState.
func (g *Group) MarshalState() ([]byte, error) {
	cg, err := g.grp()
	if err != nil {
		return nil, err
	}
	return cg.MarshalState()
}

// get returns f of g's low-level group, or T's zero value for a nil or
// zero Group: the accessors below.
func get[T any](g *Group, f func(*core.Group) T) T {
	cg, err := g.grp()
	if err != nil {
		var zero T
		return zero
	}
	return f(cg)
}

// Clone returns an independent copy of g (sharing immutable state); nil for
// a zero Group. The copy keeps g's Config, whose Rand, PSKs and callbacks
// it shares with g: clones used on separate goroutines need them safe for
// concurrent use (a nil Rand, crypto/rand, is).
func (g *Group) Clone() *Group {
	return get(g, func(cg *core.Group) *Group { return &Group{cg.Clone()} })
}

// GroupID, Epoch, CipherSuite and LeafIndex describe the group and the
// member's position in it.
func (g *Group) GroupID() []byte {
	return get(g, func(cg *core.Group) []byte { return bytes.Clone(cg.GroupID()) })
}

// Epoch is the current epoch number.
func (g *Group) Epoch() uint64 { return get(g, (*core.Group).Epoch) }

// CipherSuite is the group's suite.
func (g *Group) CipherSuite() CipherSuite {
	return get(g, func(cg *core.Group) CipherSuite { return CipherSuite(cg.CipherSuite()) })
}

// LeafIndex is the member's own leaf.
func (g *Group) LeafIndex() LeafIndex {
	return get(g, func(cg *core.Group) LeafIndex { return LeafIndex(cg.LeafIndex()) })
}

// Active is false once the member was removed or the group reinitialized.
func (g *Group) Active() bool { return get(g, (*core.Group).Active) }

// Public returns the group's public state in the current epoch (nil for a
// zero Group).
func (g *Group) Public() *PublicGroup {
	return get(g, func(cg *core.Group) *PublicGroup { return &PublicGroup{cg.Public()} })
}

// EpochAuthenticator returns the epoch authenticator (RFC 9420, Section
// 8.7): members of the same epoch compare it to detect a split view.
func (g *Group) EpochAuthenticator() []byte {
	return get(g, func(cg *core.Group) []byte { return bytes.Clone(cg.EpochAuthenticator()) })
}

// Export derives length bytes from the epoch's exporter secret for label
// and context (MLS-Exporter, RFC 9420, Section 8.5).
func (g *Group) Export(label string, context []byte, length int) ([]byte, error) {
	cg, err := g.grp()
	if err != nil {
		return nil, err
	}
	return cg.Export(label, context, length)
}

// SealApplication encrypts application data as a PrivateMessage (RFC 9420,
// Section 6.3) with authenticated data aad. It fails with
// ErrPendingProposals while the epoch has cached proposals: a member that
// has observed a valid proposal must commit before sending application data
// (RFC 9420, Section 12.4), so that, for example, a member whose removal
// was proposed cannot read it.
func (g *Group) SealApplication(data, aad []byte) (*MLSMessage, error) {
	cg, err := g.grp()
	if err != nil {
		return nil, err
	}
	if n := len(cg.PendingProposals()); n > 0 {
		return nil, fmt.Errorf("%w: %d cached proposal(s) in epoch %d; commit them first", ErrPendingProposals, n, cg.Epoch())
	}
	// The message keeps aad: a copy, so that a caller reusing its buffer
	// does not change a message already authenticated.
	m, err := cg.SealApplication(data, bytes.Clone(aad))
	return wrapMessage(m), err
}

// ProposeOptions are the sender's choices for one proposal; nil means the
// zero value.
type ProposeOptions struct {
	AuthenticatedData []byte
	// WireFormat is WireFormatPublicMessage or WireFormatPrivateMessage;
	// zero means Config.EncryptHandshake's choice.
	WireFormat WireFormat
}

func (o *ProposeOptions) core() *core.ProposeOptions {
	if o == nil {
		return nil
	}
	return &core.ProposeOptions{AuthenticatedData: bytes.Clone(o.AuthenticatedData), WireFormat: core.WireFormat(o.WireFormat)}
}

// Propose sends a proposal (RFC 9420, Section 12.1) and caches it for this
// epoch's commits. An empty &Update{} is ProposeUpdate; a received Update
// (another member's leaf) cannot be sent.
func (g *Group) Propose(body ProposalBody, opts *ProposeOptions) (*MLSMessage, error) {
	if u, ok := body.(*Update); ok && u != nil && u.leaf == nil {
		return g.ProposeUpdate(opts)
	}
	cg, err := g.grp()
	if err != nil {
		return nil, err
	}
	bodies, err := coreProposals([]ProposalBody{body})
	if err != nil {
		return nil, err
	}
	m, err := cg.Propose(bodies[0], opts.core())
	return wrapMessage(m), err
}

// ProposeUpdate proposes to replace the member's own leaf keys (RFC 9420,
// Section 12.1.2).
func (g *Group) ProposeUpdate(opts *ProposeOptions) (*MLSMessage, error) {
	cg, err := g.grp()
	if err != nil {
		return nil, err
	}
	m, err := cg.ProposeUpdate(opts.core())
	return wrapMessage(m), err
}

// ExternalPSKProposal returns a PreSharedKey proposal for the external PSK
// pskID (which Config.PSKs must resolve).
func (g *Group) ExternalPSKProposal(pskID []byte) (*PreSharedKey, error) {
	cg, err := g.grp()
	if err != nil {
		return nil, err
	}
	p, err := cg.ExternalPSKProposal(pskID)
	if err != nil {
		return nil, err
	}
	return &PreSharedKey{id: p.PSK}, nil
}

// ResumptionPSKProposal returns a PreSharedKey proposal for this group's
// resumption PSK of a past epoch (RFC 9420, Section 8.6).
func (g *Group) ResumptionPSKProposal(epoch uint64) (*PreSharedKey, error) {
	cg, err := g.grp()
	if err != nil {
		return nil, err
	}
	p, err := cg.ResumptionPSKProposal(epoch)
	if err != nil {
		return nil, err
	}
	return &PreSharedKey{id: p.PSK}, nil
}

// PendingProposal is a proposal cached in the current epoch, received or
// sent, that a commit of the epoch includes by reference (RFC 9420,
// Section 12.4).
type PendingProposal struct {
	Ref      []byte // ProposalRef (RFC 9420, Section 5.2)
	Proposal ProposalBody
	Sender   Sender
}

// PendingProposals returns the proposals cached in the current epoch.
func (g *Group) PendingProposals() []PendingProposal {
	cg, err := g.grp()
	if err != nil {
		return nil
	}
	ps := cg.PendingProposals()
	out := make([]PendingProposal, len(ps))
	for i, p := range ps {
		out[i] = PendingProposal{Ref: bytes.Clone(p.Ref), Proposal: proposalFromCore(p.Proposal), Sender: senderFromCore(p.Sender)}
	}
	return out
}

// CommitOptions are a committer's choices (RFC 9420, Section 12.4.1).
type CommitOptions struct {
	// Proposals are committed by value, after the epoch's cached proposals
	// (which are committed by reference).
	Proposals []ProposalBody
	// SkipCached leaves the epoch's cached proposals out.
	SkipCached bool
	// ForcePath includes an UpdatePath even when no proposal requires one
	// (a self-update commit, for post-compromise security).
	ForcePath bool
	// InlineTree puts the ratchet tree in the GroupInfo of the Welcome
	// (RFC 9420, Section 12.4.3.3); otherwise joiners need it out of band.
	InlineTree bool
	// ExternalPub adds the external_pub extension to the new epoch's
	// GroupInfo (PendingCommit.GroupInfo), for external joins.
	ExternalPub bool
	// AuthenticatedData is the commit's authenticated_data.
	AuthenticatedData []byte
	// WireFormat is WireFormatPublicMessage or WireFormatPrivateMessage;
	// zero means Config.EncryptHandshake's choice.
	WireFormat WireFormat
}

// PendingCommit is a commit this member created: the messages to send and
// the next epoch's state, which Group.Merge installs once the delivery
// service accepted the commit (RFC 9420, Section 12.4.1). It prints
// without secrets.
type PendingCommit struct {
	Commit    *MLSMessage // to the group
	Welcome   *MLSMessage // to the added members; nil if none
	GroupInfo *MLSMessage // the new epoch's signed GroupInfo; nil unless a Welcome or ExternalPub needed one
	pc        *core.PendingCommit
}

// Commit commits the cached proposals and opts.Proposals (RFC 9420, Section
// 12.4). The group stays in its epoch until Merge.
func (g *Group) Commit(opts CommitOptions) (*PendingCommit, error) {
	cg, err := g.grp()
	if err != nil {
		return nil, err
	}
	bodies, err := coreProposals(opts.Proposals)
	if err != nil {
		return nil, err
	}
	pc, err := cg.Commit(core.CommitOptions{
		Proposals: bodies, SkipCached: opts.SkipCached, ForcePath: opts.ForcePath,
		InlineTree: opts.InlineTree, ExternalPub: opts.ExternalPub,
		AuthenticatedData: bytes.Clone(opts.AuthenticatedData), WireFormat: core.WireFormat(opts.WireFormat),
	})
	if err != nil {
		return nil, err
	}
	return &PendingCommit{Commit: wrapMessage(pc.Commit), Welcome: wrapMessage(pc.Welcome),
		GroupInfo: groupInfoMessage(pc.GroupInfo), pc: pc}, nil
}

// Format describes the commit, with every verb: fmt never
// prints the next epoch's secrets.
func (pc PendingCommit) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "mls.PendingCommit{welcome %t, next state redacted}", pc.Welcome != nil)
}

// Merge moves the group to the epoch of its own commit pc, once the
// delivery service accepted it. It fails with ErrStalePendingCommit if g
// changed since pc was created.
func (g *Group) Merge(pc *PendingCommit) error {
	cg, err := g.grp()
	if err != nil {
		return err
	}
	if pc == nil || pc.pc == nil {
		return ErrStalePendingCommit
	}
	return cg.Merge(pc.pc)
}

// MarshalNextState encodes the state the group will have after merging pc,
// for an application that must persist it before sending the commit.
func (pc *PendingCommit) MarshalNextState() ([]byte, error) {
	if pc == nil || pc.pc == nil {
		return nil, ErrStalePendingCommit
	}
	return pc.pc.MarshalNextState()
}

// GroupInfoOptions shape a GroupInfo (RFC 9420, Section 12.4.3).
type GroupInfoOptions struct {
	InlineTree  bool // include the ratchet_tree extension
	ExternalPub bool // include the external_pub extension, for external joins
}

// GroupInfo returns a signed GroupInfo of the current epoch as an
// MLSMessage.
func (g *Group) GroupInfo(opts GroupInfoOptions) (*MLSMessage, error) {
	cg, err := g.grp()
	if err != nil {
		return nil, err
	}
	gi, err := cg.GroupInfo(core.GroupInfoOptions{InlineTree: opts.InlineTree, ExternalPub: opts.ExternalPub})
	if err != nil {
		return nil, err
	}
	return groupInfoMessage(gi), nil
}

func groupInfoMessage(gi *core.GroupInfo) *MLSMessage {
	if gi == nil {
		return nil
	}
	return &MLSMessage{&core.MLSMessage{Version: core.ProtocolVersionMLS10, WireFormat: core.WireFormatGroupInfo, GroupInfo: gi}}
}

// Sender is the sender of a message: a member (Index is its leaf), an
// external sender (Index into the external_senders extension) or a new
// member.
type Sender struct {
	Type  SenderType
	Index uint32
}

func senderFromCore(s core.Sender) Sender { return Sender{Type: SenderType(s.Type), Index: s.Index} }

// Processed reports what a processed message did.
type Processed struct {
	Sender            Sender
	ContentType       ContentType
	AuthenticatedData []byte
	// ApplicationData is the plaintext of an application message.
	ApplicationData []byte
	// Proposal is the body of a proposal message, now cached.
	Proposal ProposalBody
	// For a commit: the new epoch, the members it added and removed,
	// whether it removed this member (the group is then inactive), and
	// the ReInit it committed, if any.
	Epoch       uint64
	Added       []LeafIndex
	Removed     []LeafIndex
	SelfRemoved bool
	ReInit      *ReInit
}

// Process verifies and applies a message from the group (RFC 9420,
// Sections 6, 12.4.2): an application message is decrypted, a proposal is
// cached, a commit moves the group to the next epoch. A rejected message
// leaves g unchanged.
func (g *Group) Process(msg *MLSMessage) (*Processed, error) {
	cg, err := g.grp()
	if err != nil {
		return nil, err
	}
	m, err := msg.msg()
	if err != nil {
		return nil, err
	}
	p, err := cg.Process(m)
	if err != nil {
		return nil, err
	}
	return &Processed{
		Sender: senderFromCore(p.Sender), ContentType: ContentType(p.ContentType),
		AuthenticatedData: bytes.Clone(p.AuthenticatedData), ApplicationData: p.ApplicationData,
		Proposal: proposalFromCore(p.Proposal), Epoch: p.Epoch,
		Added: convertLeaves(p.Added), Removed: convertLeaves(p.Removed),
		SelfRemoved: p.SelfRemoved, ReInit: reInitFromCore(p.ReInit),
	}, nil
}

func convertLeaves(ls []core.LeafIndex) []LeafIndex {
	if ls == nil {
		return nil
	}
	out := make([]LeafIndex, len(ls))
	for i, l := range ls {
		out[i] = LeafIndex(l)
	}
	return out
}

// PendingReInit returns the ReInit committed in this group (which is then
// inactive), or nil.
func (g *Group) PendingReInit() *ReInit {
	return get(g, func(cg *core.Group) *ReInit { return reInitFromCore(cg.PendingReInit()) })
}

// ReInitGroup creates the group that replaces g after a committed ReInit
// (RFC 9420, Section 11.2), adding the members of the given KeyPackages (in
// the new suite); kp is this member's KeyPackage in the new suite. It
// returns the new group and the Welcome for the others.
func (g *Group) ReInitGroup(cfg *Config, kp *KeyPackageBundle, members []*KeyPackage, inlineTree bool) (*Group, *MLSMessage, error) {
	cg, b, kps, err := g.childInputs(kp, members)
	if err != nil {
		return nil, nil, err
	}
	ng, w, err := cg.ReInitGroup(cfg.core(), b, kps, inlineTree)
	if err != nil {
		return nil, nil, err
	}
	return &Group{ng}, wrapMessage(w), nil
}

// Branch creates a subgroup of g with a new group ID and the members of the
// given KeyPackages, linked to g by its resumption PSK (RFC 9420, Section
// 11.3).
func (g *Group) Branch(cfg *Config, groupID []byte, kp *KeyPackageBundle, members []*KeyPackage, inlineTree bool) (*Group, *MLSMessage, error) {
	cg, b, kps, err := g.childInputs(kp, members)
	if err != nil {
		return nil, nil, err
	}
	ng, w, err := cg.Branch(cfg.core(), bytes.Clone(groupID), b, kps, inlineTree)
	if err != nil {
		return nil, nil, err
	}
	return &Group{ng}, wrapMessage(w), nil
}

// childInputs checks and converts the inputs of ReInitGroup and Branch.
func (g *Group) childInputs(kp *KeyPackageBundle, members []*KeyPackage) (*core.Group, *core.KeyPackageBundle, []*core.KeyPackage, error) {
	cg, err := g.grp()
	if err != nil {
		return nil, nil, nil, err
	}
	b, err := kp.bundle()
	if err != nil {
		return nil, nil, nil, err
	}
	out := make([]*core.KeyPackage, len(members))
	for i, m := range members {
		if m == nil || m.kp == nil {
			return nil, nil, nil, errNoKeyPackage
		}
		out[i] = m.kp
	}
	return cg, b, out, nil
}
