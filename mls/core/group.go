package core

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

// Group is one member's view of a group in its current epoch: the shared
// PublicGroup plus the member's secrets — its leaf index, signature key,
// the path private keys it holds (TreePrivate), the epoch's key schedule
// and secret tree (RFC 9420, Sections 8, 9).
//
// A Group is a sans-IO state machine. Methods that fail leave it exactly as
// it was; a commit builds the next epoch's state and swaps it in only when
// everything checked out. Sending is the one change outside that rule: a
// message returned as PrivateMessage (SealApplication; Propose,
// ProposeUpdate and Commit sent as PrivateMessage) has consumed a
// generation of this member's ratchet, even if it is never delivered or
// merged (RFC 9420, Section 9.1). A Group is not safe for concurrent use;
// its PublicGroup is.
type Group struct {
	cfg     *Config
	cs      *suite.Suite
	pub     *PublicGroup
	self    LeafIndex
	sigPriv []byte
	signer  *suite.Signer // sigPriv parsed; nil: parsed on use (see signingKey)
	priv    *TreePrivate
	keys    *EpochSecrets
	stree   *SecretTree

	// proposals received (or sent) in this epoch, by reference.
	proposals []cachedProposal
	// proposalRefs indexes the refs of proposals (see addProposal), so the
	// replay check of a received proposal is O(1), not O(len(proposals)).
	proposalRefs map[string]struct{}
	// leaf private keys of this member's own pending Update proposals,
	// by proposal reference.
	updateKeys map[string][]byte
	// resumption PSKs of this and past epochs, newest last.
	resumption []epochPSK

	state  groupState
	reinit *ReInit // the ReInit of the commit that ended the group
	// sendLocked: the state was assembled by RestoreGroup with a fresh
	// secret tree, so it must not encrypt in this epoch (see RestoreGroup).
	sendLocked bool
}

type groupState uint8

const (
	stateActive  groupState = iota
	stateRemoved            // a commit removed this member
	stateReInit             // a ReInit commit ended the group
)

type cachedProposal struct {
	ref    []byte
	p      *Proposal
	sender Sender
}

// addProposal caches a proposal of the epoch.
func (g *Group) addProposal(cp cachedProposal) {
	g.proposals = append(g.proposals, cp)
	if g.proposalRefs == nil {
		g.proposalRefs = map[string]struct{}{}
	}
	g.proposalRefs[string(cp.ref)] = struct{}{}
}

// hasProposal reports whether a proposal with this ref is cached: O(1)
// through proposalRefs while it indexes every cached proposal.
func (g *Group) hasProposal(ref []byte) bool {
	if len(g.proposalRefs) == len(g.proposals) {
		_, ok := g.proposalRefs[string(ref)]
		return ok
	}
	return slices.ContainsFunc(g.proposals, func(cp cachedProposal) bool { return bytes.Equal(cp.ref, ref) })
}

// epochPSK is a retained resumption PSK (RFC 9420, Section 8.6) of this
// group or, after a ReInit or branch, of the group it came from.
type epochPSK struct {
	groupID []byte
	epoch   uint64
	psk     []byte
}

// ErrInactive is returned for operations on a group this member was removed
// from or that a ReInit ended.
var ErrInactive = errors.New("mls: group is no longer active for this member")

// clone returns a shallow copy whose slices and maps can be replaced
// without affecting g.
func (g *Group) clone() *Group {
	n := *g
	n.proposals = append([]cachedProposal(nil), g.proposals...)
	n.proposalRefs = maps.Clone(g.proposalRefs)
	n.resumption = append([]epochPSK(nil), g.resumption...)
	n.updateKeys = make(map[string][]byte, len(g.updateKeys))
	for k, v := range g.updateKeys {
		n.updateKeys[k] = v
	}
	return &n
}

// Public returns the group's shared public state (immutable).
func (g *Group) Public() *PublicGroup { return g.pub }

// CipherSuite returns the group's suite.
func (g *Group) CipherSuite() CipherSuite { return CipherSuite(g.cs.ID()) }

// GroupID returns the group ID.
func (g *Group) GroupID() []byte { return g.pub.ctx.GroupID }

// Epoch returns the current epoch.
func (g *Group) Epoch() uint64 { return g.pub.ctx.Epoch }

// LeafIndex returns this member's leaf.
func (g *Group) LeafIndex() LeafIndex { return g.self }

// Active reports whether this member can still send and process messages.
func (g *Group) Active() bool { return g.state == stateActive }

// PendingProposal is a proposal cached in the current epoch (received or
// sent by this member), which a commit of the epoch may include by
// reference (RFC 9420, Section 12.4).
type PendingProposal struct {
	Ref      []byte // ProposalRef (Section 5.2)
	Proposal *Proposal
	Sender   Sender
}

// PendingProposals returns the proposals cached in the current epoch, in
// the order they were received or sent (the order Commit includes them).
// The values are the group's own: do not modify them.
func (g *Group) PendingProposals() []PendingProposal {
	out := make([]PendingProposal, len(g.proposals))
	for i, cp := range g.proposals {
		out[i] = PendingProposal{Ref: cp.ref, Proposal: cp.p, Sender: cp.sender}
	}
	return out
}

// PendingReInit returns the ReInit proposal of the commit that ended the
// group, if any (RFC 9420, Section 11.2).
func (g *Group) PendingReInit() *ReInit { return g.reinit }

// EpochAuthenticator returns the epoch authenticator (RFC 9420, Section 8.7).
func (g *Group) EpochAuthenticator() []byte { return g.keys.Authenticator }

// Export implements MLS-Exporter (RFC 9420, Section 8.5).
func (g *Group) Export(label string, context []byte, length int) ([]byte, error) {
	return g.keys.Export(label, context, length)
}

// ResumptionPSK returns the resumption PSK of the current epoch (RFC 9420,
// Section 8.6).
func (g *Group) ResumptionPSK() []byte { return g.keys.Resumption }

// SignaturePrivateKey returns this member's signature *private* key (the
// public key is the SignatureKey of its LeafNode). The result is the
// group's own copy: do not modify it.
func (g *Group) SignaturePrivateKey() []byte { return g.sigPriv }

// TreePrivate returns this member's private tree state (for tests and the
// simulator's adversary: what a state compromise leaks).
func (g *Group) TreePrivate() *TreePrivate {
	g.priv.markShared()
	return g.priv
}

// EpochSecrets returns this epoch's secrets (what a compromise leaks). The
// result is the group's own value, shared from now on with the caller:
// the group will no longer overwrite these secrets when it moves to the
// next epoch (see the package documentation, "Erasing secrets").
func (g *Group) EpochSecrets() *EpochSecrets {
	g.keys.markShared()
	return g.keys
}

// CreateGroup creates a one-member group at epoch 0 (RFC 9420, Section 11)
// for the owner of kp (whose KeyPackage supplies the leaf and keys).
func CreateGroup(cfg *Config, groupID []byte, kp *KeyPackageBundle, extensions Extensions) (*Group, error) {
	cs, err := suite.Get(suite.ID(kp.KeyPackage.CipherSuite))
	if err != nil {
		return nil, protoErr(CodeUnsupported, "RFC 9420 §17.1", "", err)
	}
	leaf := kp.KeyPackage.LeafNode
	tree, err := newRatchetTree(cs, &leaf)
	if err != nil {
		return nil, err
	}
	ctx := GroupContext{
		Version:     ProtocolVersionMLS10,
		CipherSuite: CipherSuite(cs.ID()),
		GroupID:     bytes.Clone(groupID),
		Epoch:       0,
		TreeHash:    tree.TreeHash(),
		// The confirmed transcript hash of epoch 0 is empty (Section 11).
		ConfirmedTranscriptHash: []byte{},
		Extensions:              extensions,
	}
	pg, err := newPublicGroup(cs, ctx, tree, nil)
	if err != nil {
		return nil, err
	}
	// Every member must support the group's extensions (Section 11.1).
	if err := pg.checkExtensionsSupported(extensions, nil, nil, nil); err != nil {
		return nil, err
	}
	if err := checkOwnSupport(&leaf.Capabilities, extensions); err != nil {
		return nil, protoErr(CodeUnsupported, ruleOwnSupport, "", err)
	}
	// Section 11: init_secret of epoch 0 is random; commit_secret zero.
	epochSecret, err := newEpochSecret(cs, cfg.rand())
	if err != nil {
		return nil, err
	}
	keys := epochSecret.derive(cs).ownedByGroup()
	clear(epochSecret) // consumed (RFC 9420, Section 9.2)
	tag := keys.ConfirmationTag(ctx.ConfirmedTranscriptHash)
	pg.interim = interimTranscriptHash(cs, ctx.ConfirmedTranscriptHash, tag)
	priv, err := newTreePrivate(cs, 0, kp.EncryptionKey)
	if err != nil {
		return nil, err
	}
	signer, err := cs.NewSigner(kp.SignatureKey)
	if err != nil {
		return nil, err
	}
	g := &Group{cfg: cfg, cs: cs, pub: pg, self: 0, sigPriv: kp.SignatureKey, signer: signer, priv: priv, keys: keys}
	if err := g.startEpoch(); err != nil {
		return nil, err
	}
	return g, nil
}

// signingKey returns the parsed signature private key of the member. A
// Group keeps its own suite.Signer (there is no process-wide cache of
// parsed private keys); one assembled without it parses sigPriv here, once.
func (g *Group) signingKey() (*suite.Signer, error) {
	if g.signer == nil {
		k, err := g.cs.NewSigner(g.sigPriv)
		if err != nil {
			return nil, err
		}
		g.signer = k
	}
	return g.signer, nil
}

// retire overwrites the secrets of g's current epoch that next, the state
// g moves to, no longer uses and that nothing else can reference
// (RFC 9420, Sections 9.2, 16.6): the previous epoch's init_secret and
// other epoch secrets (EpochSecrets.erase), the secret tree
// (SecretTree.erase) and the tree private keys next no longer holds
// (TreePrivate.eraseDropped). Call it only once next is certain to replace g.
func (g *Group) retire(next *Group) {
	if g.keys != next.keys {
		g.keys.erase()
	}
	if g.stree != next.stree {
		g.stree.erase()
	}
	g.priv.eraseDropped(next.priv)
}

// startEpoch sets up the secret tree and remembers the resumption PSK of
// the (new) current epoch.
func (g *Group) startEpoch() error {
	st, err := g.keys.NewSecretTree(g.pub.tree.NumLeaves())
	if err != nil {
		return err
	}
	if g.cfg != nil && (g.cfg.SecretTree != SecretTreeLimits{}) {
		st.SetLimits(g.cfg.SecretTree)
	}
	g.stree = st
	g.sendLocked = false
	g.proposals, g.proposalRefs = nil, nil
	g.updateKeys = map[string][]byte{}
	g.resumption = append(g.resumption, epochPSK{groupID: g.pub.ctx.GroupID, epoch: g.pub.ctx.Epoch, psk: g.keys.Resumption})
	if n := g.cfg.keepEpochs(); len(g.resumption) > n {
		g.resumption = append([]epochPSK(nil), g.resumption[len(g.resumption)-n:]...)
	}
	return nil
}

// frame builds and signs an AuthenticatedContent from this member in the
// current epoch.
func (g *Group) frame(ct ContentType, body any, aad []byte, wf WireFormat) (*AuthenticatedContent, error) {
	ac := &AuthenticatedContent{
		WireFormat: wf,
		Content: FramedContent{
			GroupID:           g.pub.ctx.GroupID,
			Epoch:             g.pub.ctx.Epoch,
			Sender:            MemberSender(uint32(g.self)),
			AuthenticatedData: aad,
			ContentType:       ct,
		},
	}
	switch b := body.(type) {
	case []byte:
		ac.Content.ApplicationData = b
	case *Proposal:
		ac.Content.Proposal = b
	case *Commit:
		ac.Content.Commit = b
	}
	k, err := g.signingKey()
	if err != nil {
		return nil, err
	}
	// ac is final but for Auth: the FramedContent of a handshake message
	// is encoded once for the signature, the membership tag and the
	// transcript hash or proposal ref (application data is only signed).
	// ac stays inside the sending flow (see AuthenticatedContent.framed).
	if ct != ContentTypeApplication {
		if err := ac.pinFramed(); err != nil {
			return nil, fmt.Errorf("mls: encoding FramedContent: %w", err)
		}
	}
	if err := ac.sign(k, &g.pub.ctx); err != nil {
		return nil, err
	}
	return ac, nil
}

// handshakeWireFormat returns the wire format of a proposal or commit:
// wf when the message's options set it, otherwise the group's default
// (Config.EncryptHandshake). Only PublicMessage and PrivateMessage carry
// handshake content (RFC 9420, Section 6).
func (g *Group) handshakeWireFormat(wf WireFormat) (WireFormat, error) {
	switch wf {
	case WireFormatPublicMessage, WireFormatPrivateMessage:
		return wf, nil
	case 0:
		if g.cfg != nil && g.cfg.EncryptHandshake {
			return WireFormatPrivateMessage, nil
		}
		return WireFormatPublicMessage, nil
	}
	return 0, fmt.Errorf("mls: cannot send a proposal or commit as %v", wf)
}

// wrap protects a signed AuthenticatedContent with this epoch's keys and
// returns the MLSMessage. A PrivateMessage is encrypted with the next
// generation of this member's ratchet in g.stree, which wrap reserves but
// does not consume: the caller passes the returned key (nil for a
// PublicMessage) to consumeSent once it can no longer fail, before it
// returns the message and before anything else uses g.stree. Every message
// a member sends thus has a generation of its own (RFC 9420, Sections 9.1,
// 9.2), and a sending method that fails leaves g unchanged.
func (g *Group) wrap(ac *AuthenticatedContent) (*MLSMessage, *PendingKey, error) {
	msg := &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: ac.WireFormat}
	switch ac.WireFormat {
	case WireFormatPublicMessage:
		pm, err := protectPublic(g.cs, ac, &g.pub.ctx, g.keys.Membership)
		if err != nil {
			return nil, nil, err
		}
		msg.PublicMessage = pm
		return msg, nil, nil
	case WireFormatPrivateMessage:
		if g.sendLocked {
			return nil, nil, ErrSendingLocked
		}
		opts := PrivateOptions{Rand: g.cfg.rand()}
		if g.cfg != nil && g.cfg.PaddingBlock > 1 {
			opts.Padding = PadToMultiple(g.cfg.PaddingBlock)
		}
		pm, key, err := protectPrivateReserved(g.cs, ac, g.stree, g.keys.SenderData, opts)
		if err != nil {
			return nil, nil, err
		}
		msg.PrivateMessage = pm
		return msg, key, nil
	}
	return nil, nil, fmt.Errorf("mls: cannot send content as %v", ac.WireFormat)
}

// consumeSent consumes the ratchet generation wrap reserved for a message
// about to be handed out (nothing for a PublicMessage).
func consumeSent(key *PendingKey) error {
	if key == nil {
		return nil
	}
	if err := key.Consume(); err != nil {
		return fmt.Errorf("mls: consuming the sending key: %w", err)
	}
	return nil
}

// SealApplication encrypts application data as a PrivateMessage (RFC 9420,
// Section 6.3) with authenticated (unencrypted) data aad. It consumes the
// next generation of this member's application ratchet (Section 9.1).
func (g *Group) SealApplication(data, aad []byte) (*MLSMessage, error) {
	if g.state != stateActive {
		return nil, ErrInactive
	}
	ac, err := g.frame(ContentTypeApplication, data, aad, WireFormatPrivateMessage)
	if err != nil {
		return nil, err
	}
	msg, key, err := g.wrap(ac)
	if err != nil {
		return nil, err
	}
	if err := consumeSent(key); err != nil {
		return nil, err
	}
	return msg, nil
}

// ProposeOptions are the sender's choices for one proposal; nil means the
// zero value.
type ProposeOptions struct {
	// AuthenticatedData is the proposal's authenticated_data.
	AuthenticatedData []byte
	// WireFormat is WireFormatPublicMessage or WireFormatPrivateMessage;
	// zero means the group's default (Config.EncryptHandshake).
	WireFormat WireFormat
}

// Propose sends a proposal (RFC 9420, Section 12.1) and caches it so a later
// commit by this member can include it by reference. For an Update use
// ProposeUpdate instead. Sent as PrivateMessage, the proposal consumes the
// next generation of this member's handshake ratchet (RFC 9420, Section
// 9.1).
func (g *Group) Propose(body ProposalBody, opts *ProposeOptions) (*MLSMessage, error) {
	if g.state != stateActive {
		return nil, ErrInactive
	}
	if _, ok := body.(*Update); ok {
		return nil, errors.New("mls: use ProposeUpdate for Update proposals")
	}
	return g.propose(&Proposal{Body: body}, opts, nil)
}

// ProposeUpdate proposes to replace this member's leaf with a fresh
// encryption key (RFC 9420, Section 12.1.2); opts as for Propose.
func (g *Group) ProposeUpdate(opts *ProposeOptions) (*MLSMessage, error) {
	if g.state != stateActive {
		return nil, ErrInactive
	}
	old := g.pub.tree.Leaf(g.self)
	// The credential is kept; the successor policy is still consulted so
	// that this member never proposes what peers sharing its policy
	// reject (RFC 9420, Section 5.3.1).
	if err := g.cfg.validateSuccessor(g.self, &old.Credential, &old.Credential, SuccessorUpdate); err != nil {
		return nil, err
	}
	encPriv, encPub, err := g.cs.GenerateKeyPair(g.cfg.rand())
	if err != nil {
		return nil, err
	}
	leaf := *old
	leaf.EncryptionKey = encPub
	leaf.Source = LeafNodeSourceUpdate
	leaf.Lifetime = Lifetime{}
	leaf.ParentHash = nil
	k, err := g.signingKey()
	if err != nil {
		return nil, err
	}
	if err := leaf.sign(k, g.pub.ctx.GroupID, g.self); err != nil {
		return nil, err
	}
	return g.propose(&Proposal{Body: &Update{LeafNode: leaf}}, opts, encPriv)
}

func (g *Group) propose(p *Proposal, opts *ProposeOptions, updatePriv []byte) (*MLSMessage, error) {
	if opts == nil {
		opts = &ProposeOptions{}
	}
	wf, err := g.handshakeWireFormat(opts.WireFormat)
	if err != nil {
		return nil, err
	}
	ac, err := g.frame(ContentTypeProposal, p, opts.AuthenticatedData, wf)
	if err != nil {
		return nil, err
	}
	ref, err := g.proposalRef(ac)
	if err != nil {
		return nil, err
	}
	msg, key, err := g.wrap(ac)
	if err != nil {
		return nil, err
	}
	if err := consumeSent(key); err != nil {
		return nil, err
	}
	g.addProposal(cachedProposal{ref: ref, p: p, sender: ac.Content.Sender})
	if updatePriv != nil {
		g.updateKeys[string(ref)] = updatePriv
	}
	return msg, nil
}

func (g *Group) proposalRef(ac *AuthenticatedContent) ([]byte, error) {
	enc, err := ac.marshalPinned()
	if err != nil {
		return nil, err
	}
	return g.cs.MakeProposalRef(enc), nil
}

// resolvePSKs returns the PSK values for ids, in order (RFC 9420, Section
// 8.4): resumption PSKs from the retained epochs in own, then external PSKs
// and other resumption PSKs from cfg.PSKs.
func resolvePSKs(cfg *Config, own []epochPSK, ids []PreSharedKeyID) ([][]byte, error) {
	out := make([][]byte, len(ids))
	for i := range ids {
		id := &ids[i]
		var (
			v  []byte
			ok bool
		)
		switch id.PSKType {
		case PSKTypeExternal:
			if cfg != nil && cfg.PSKs != nil {
				v, ok = cfg.PSKs.ExternalPSK(id.PSKID)
			}
		case PSKTypeResumption:
			for _, e := range own {
				if e.epoch == id.PSKEpoch && bytes.Equal(e.groupID, id.PSKGroupID) {
					v, ok = e.psk, true
				}
			}
			if !ok && cfg != nil && cfg.PSKs != nil {
				v, ok = cfg.PSKs.ResumptionPSK(id.PSKGroupID, id.PSKEpoch)
			}
		}
		if !ok {
			return nil, protoErr(CodeInvalidProposal, "RFC 9420 §12.4.2 PSKs available", fmt.Sprintf("unknown %v PSK", id.PSKType), nil)
		}
		out[i] = v
	}
	return out, nil
}

func resolvePSKSecret(cs *suite.Suite, cfg *Config, own []epochPSK, ids []PreSharedKeyID) (PSKSecret, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	vals, err := resolvePSKs(cfg, own, ids)
	if err != nil {
		return nil, err
	}
	return derivePSKSecret(cs, ids, vals)
}

// newPSKNonce draws a fresh psk_nonce (RFC 9420, Section 8.4).
func newPSKNonce(cs *suite.Suite, r io.Reader) ([]byte, error) {
	n := make([]byte, cs.Nh())
	if _, err := io.ReadFull(r, n); err != nil {
		return nil, err
	}
	return n, nil
}

// NewPSKNonce draws a fresh psk_nonce for suite cs (RFC 9420, Section
// 8.4): KDF.Nh octets from r (nil: crypto/rand).
func NewPSKNonce(cs CipherSuite, r io.Reader) ([]byte, error) {
	st, err := suite.Get(suite.ID(cs))
	if err != nil {
		return nil, protoErr(CodeUnsupported, "RFC 9420 §17.1 cipher suite", "", err)
	}
	return newPSKNonce(st, (&Config{Rand: r}).rand())
}

// ExternalPSKProposal returns a PreSharedKey proposal body for an external
// PSK with a fresh nonce.
func (g *Group) ExternalPSKProposal(pskID []byte) (*PreSharedKey, error) {
	nonce, err := newPSKNonce(g.cs, g.cfg.rand())
	if err != nil {
		return nil, err
	}
	return &PreSharedKey{PSK: PreSharedKeyID{PSKType: PSKTypeExternal, PSKID: bytes.Clone(pskID), PSKNonce: nonce}}, nil
}

// ResumptionPSKProposal returns a PreSharedKey proposal body for this
// group's resumption PSK of epoch (usage application).
func (g *Group) ResumptionPSKProposal(epoch uint64) (*PreSharedKey, error) {
	nonce, err := newPSKNonce(g.cs, g.cfg.rand())
	if err != nil {
		return nil, err
	}
	return &PreSharedKey{PSK: PreSharedKeyID{PSKType: PSKTypeResumption, Usage: ResumptionPSKUsageApplication,
		PSKGroupID: bytes.Clone(g.pub.ctx.GroupID), PSKEpoch: epoch, PSKNonce: nonce}}, nil
}
