package core

import (
	"bytes"
	"fmt"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

// JoinOptions are the inputs of joining from a Welcome besides the message.
type JoinOptions struct {
	// RatchetTree is the encoded ratchet tree when the Welcome's GroupInfo
	// does not carry the ratchet_tree extension (delivered out of band,
	// RFC 9420, Section 12.4.3.3).
	RatchetTree []byte
	// Previous is this member's state in the group a ReInit ended or a
	// branch came from; its retained resumption PSKs resolve the Welcome's
	// reinit/branch PSK (RFC 9420, Sections 11.2, 11.3).
	Previous *Group
}

// ruleWelcome names the joining rules of RFC 9420, Section 12.4.3.1.
const ruleWelcome = "RFC 9420 §12.4.3.1"

// ruleOwnSupport: a client supports every GroupContext extension itself,
// judged without the GREASE values of its leaf (Sections 13.4, 13.5).
const ruleOwnSupport = "RFC 9420 §13.4, §13.5 own support of group extensions"

// Join creates this member's Group from a Welcome addressed to the owner of
// kp (RFC 9420, Section 12.4.3.1): it decrypts its GroupSecrets, resolves
// the PSKs, decrypts and verifies the GroupInfo, obtains and fully
// validates the ratchet tree, derives its private path keys and the
// epoch's key schedule, and checks the confirmation tag.
//
// Join does not modify kp: the bundle is the caller's. Its init and leaf
// private keys are spent once Join succeeds (the Group keeps its own copy
// of the leaf key; it shares kp.SignatureKey); call kp.EraseUsedKeys to
// overwrite them, unless kp is a "last resort" KeyPackage that may be used
// again (RFC 9420, Section 16.8). The decrypted GroupSecrets and the
// secrets derived from them are overwritten before Join returns.
func Join(cfg *Config, welcome *MLSMessage, kp *KeyPackageBundle, opts *JoinOptions) (*Group, error) {
	if welcome == nil || welcome.WireFormat != WireFormatWelcome || welcome.Welcome == nil {
		return nil, protoErr(CodeInvalidWelcome, ruleWelcome, "not a Welcome message", nil)
	}
	if opts == nil {
		opts = &JoinOptions{}
	}
	w := welcome.Welcome
	cs, err := suite.Get(suite.ID(kp.KeyPackage.CipherSuite))
	if err != nil {
		return nil, protoErr(CodeUnsupported, ruleWelcome, "", err)
	}
	ref, err := kp.KeyPackage.Ref()
	if err != nil {
		return nil, err
	}
	// kp.KeyPackage.InitKey is the key the committer encrypted to (the
	// entry is found by the KeyPackage's reference) and the public key of
	// kp.InitPriv in every bundle this package or the mls facade builds;
	// in a hand-made bundle where it is not, decryption fails unless the
	// two keys give the same Diffie-Hellman output (for X25519, an
	// alternative encoding of the same point, or the point plus a
	// small-order one: see suite.DecryptWithLabelKeyPair). The mls facade's
	// UnmarshalKeyPackageBundle rejects such bundles.
	gs, err := w.decryptGroupSecrets(cs, ref, kp.InitPriv, kp.KeyPackage.InitKey)
	if err != nil {
		return nil, err
	}
	defer gs.erase()
	// PSKs of the Welcome (Section 12.4.3.1): resolved from the store; a
	// joiner has no own epochs yet.
	seen := make(map[string]struct{}, len(gs.PSKs))
	for i := range gs.PSKs {
		if k, ok := pskKey(&gs.PSKs[i]); ok {
			if _, dup := seen[k]; dup {
				return nil, protoErr(CodeInvalidWelcome, ruleWelcome+" distinct PSKs", "", nil)
			}
			seen[k] = struct{}{}
		}
	}
	var pskSecret PSKSecret
	defer func() { clear(pskSecret) }()
	if len(gs.PSKs) > 0 {
		var own []epochPSK
		if opts.Previous != nil {
			own = opts.Previous.resumption
		}
		vals, err := resolvePSKs(cfg, own, gs.PSKs)
		if err != nil {
			return nil, err
		}
		if pskSecret, err = derivePSKSecret(cs, gs.PSKs, vals); err != nil {
			return nil, err
		}
	}
	joiner := JoinerSecret(gs.JoinerSecret)
	welcomeSecret := joiner.welcomeSecret(cs, pskSecret)
	gi, err := w.decryptGroupInfo(cs, welcomeSecret)
	clear(welcomeSecret)
	if err != nil {
		return nil, err
	}
	if gi.GroupContext.CipherSuite != CipherSuite(cs.ID()) || gi.GroupContext.Version != ProtocolVersionMLS10 {
		return nil, protoErr(CodeInvalidWelcome, ruleWelcome+" suite and version match the KeyPackage", "", nil)
	}
	if err := cfg.limits().checkGroupInfo(gi); err != nil {
		return nil, err
	}
	if err := checkResumptionWelcome(gs.PSKs, &gi.GroupContext, opts.Previous); err != nil {
		return nil, err
	}
	// The tree (inline or out of band), the GroupInfo's signature and the
	// tree's validity, as a delivery service checks them (NewPublicGroup).
	pg, err := publicFromGroupInfo(cfg, cs, gi, opts.RatchetTree)
	if err != nil {
		return nil, err
	}
	tree := pg.tree
	if err := checkOwnSupport(&kp.KeyPackage.LeafNode.Capabilities, gi.GroupContext.Extensions); err != nil {
		return nil, protoErr(CodeInvalidWelcome, ruleOwnSupport, "", err)
	}
	// Find our own leaf: the one equal to our KeyPackage's LeafNode.
	self, ok := findLeaf(tree, &kp.KeyPackage.LeafNode)
	if !ok {
		return nil, protoErr(CodeInvalidWelcome, ruleWelcome+" new member's leaf in the tree", "", nil)
	}
	priv, err := newTreePrivate(cs, self, kp.EncryptionKey)
	if err != nil {
		return nil, err
	}
	if gs.PathSecret != nil {
		if priv, err = priv.WelcomePrivate(tree, LeafIndex(gi.Signer), gs.PathSecret.PathSecret); err != nil {
			return nil, err
		}
	}
	keys := joinEpoch(cs, joiner, pskSecret, pg.ctxBytes).ownedByGroup()
	if !keys.VerifyConfirmationTag(gi.GroupContext.ConfirmedTranscriptHash, gi.ConfirmationTag) {
		return nil, protoErr(CodeInvalidMAC, ruleWelcome+" confirmation_tag", "", nil)
	}
	pg.interim = interimTranscriptHash(cs, gi.GroupContext.ConfirmedTranscriptHash, gi.ConfirmationTag)
	sigKey, err := cs.NewSigner(kp.SignatureKey)
	if err != nil {
		return nil, err
	}
	g := &Group{cfg: cfg, cs: cs, pub: pg, self: self, sigPriv: kp.SignatureKey, signer: sigKey, priv: priv, keys: keys}
	if err := g.startEpoch(); err != nil {
		return nil, err
	}
	return g, nil
}

// parseTreeWithLimits parses a received ratchet tree with cfg's leaf limit
// and checks every leaf's credential and extensions against cfg's size
// limits before the tree is validated (signatures, hashes).
func parseTreeWithLimits(cs *suite.Suite, data []byte, cfg *Config) (*RatchetTree, error) {
	l := cfg.limits()
	tree, err := decodeRatchetTree(cs, data, l.leaves)
	if err != nil {
		return nil, err
	}
	for i, ln := range tree.Members() {
		if err := l.checkLeafNode(CodeInvalidTree, ln); err != nil {
			err.(*ProtocolError).Node, err.(*ProtocolError).HasNode = uint32(i.Node()), true
			return nil, err
		}
	}
	return tree, nil
}

// findLeaf returns the leaf index holding a LeafNode equal to ln.
func findLeaf(t *RatchetTree, ln *LeafNode) (LeafIndex, bool) {
	for l, m := range t.Members() {
		if bytes.Equal(m.EncryptionKey, ln.EncryptionKey) && bytes.Equal(m.SignatureKey, ln.SignatureKey) && bytes.Equal(m.Signature, ln.Signature) {
			return l, true
		}
	}
	return 0, false
}

// ExternalJoinOptions are the inputs of an external join besides the
// GroupInfo.
type ExternalJoinOptions struct {
	// RatchetTree is the encoded tree when the GroupInfo lacks the
	// ratchet_tree extension.
	RatchetTree []byte
	// Remove, if set, removes this member's previous leaf (a client
	// rejoining, RFC 9420, Section 12.4.3.2). The removed leaf's credential
	// must accept kp's credential as its successor (Config.ValidateSuccessor
	// with SuccessorResync; by default the same identity), or ExternalJoin
	// fails with the error members would report (RFC 9420, Section 12.2).
	// A Config without ValidateCredential has no Authentication Service,
	// and an identity is then only a claim: the resync must also keep the
	// removed leaf's signature key.
	Remove *LeafIndex
	// PSKs are PreSharedKey proposals to include.
	PSKs []PreSharedKeyID
	// AuthenticatedData of the commit.
	AuthenticatedData []byte
}

// ExternalJoin joins a group through an external commit (RFC 9420,
// Section 12.4.3.2) using a GroupInfo with the external_pub extension. It
// returns the new member's Group (in the new epoch, usable once the
// delivery service accepted the commit) and the commit to send as a
// PublicMessage.
func ExternalJoin(cfg *Config, groupInfo *GroupInfo, kp *KeyPackageBundle, opts *ExternalJoinOptions) (*Group, *MLSMessage, error) {
	const rule = "RFC 9420 §12.4.3.2"
	if opts == nil {
		opts = &ExternalJoinOptions{}
	}
	cs, err := suite.Get(suite.ID(groupInfo.GroupContext.CipherSuite))
	if err != nil {
		return nil, nil, protoErr(CodeUnsupported, rule, "", err)
	}
	if kp.KeyPackage.CipherSuite != CipherSuite(cs.ID()) {
		return nil, nil, protoErr(CodeInvalidWelcome, rule+" cipher suite", "", nil)
	}
	if err := cfg.limits().checkGroupInfo(groupInfo); err != nil {
		return nil, nil, err
	}
	ext, ok := groupInfo.Extensions.Find(ExtensionExternalPub)
	if !ok {
		return nil, nil, protoErr(CodeInvalidWelcome, rule+" external_pub extension", "missing", nil)
	}
	extPub, err := parseExternalPub(cs, ext.Data)
	if err != nil {
		return nil, nil, err
	}
	pg, err := publicFromGroupInfo(cfg, cs, groupInfo, opts.RatchetTree)
	if err != nil {
		return nil, nil, err
	}
	if err := checkOwnSupport(&kp.KeyPackage.LeafNode.Capabilities, groupInfo.GroupContext.Extensions); err != nil {
		return nil, nil, protoErr(CodeInvalidWelcome, ruleOwnSupport, "", err)
	}

	rnd := cfg.rand()
	kemOutput, initSecret, err := newExternalInit(cs, rnd, extPub)
	if err != nil {
		return nil, nil, err
	}
	var entries []proposalEntry
	var refs []ProposalOrRef
	addProposal := func(body ProposalBody) {
		p := &Proposal{Body: body}
		entries = append(entries, proposalEntry{p: p, sender: Sender{Type: SenderTypeNewMemberCommit}})
		refs = append(refs, ProposalOrRef{Type: ProposalOrRefProposal, Proposal: p})
	}
	addProposal(&ExternalInit{KEMOutput: kemOutput})
	if opts.Remove != nil {
		addProposal(&Remove{Removed: uint32(*opts.Remove)})
	}
	for _, id := range opts.PSKs {
		addProposal(&PreSharedKey{PSK: id})
	}
	st, err := pg.stageCommit(Sender{Type: SenderTypeNewMemberCommit}, entries, cfg)
	if err != nil {
		return nil, nil, err
	}
	// The joiner's leaf is checked as members will check it, and the
	// Remove may only remove an old version of the joiner (Section 12.2):
	// refuse early with the error members would report.
	leafTemplate := kp.KeyPackage.LeafNode
	if err := st.placeJoiner(&LeafNode{
		EncryptionKey: nil, SignatureKey: leafTemplate.SignatureKey, Credential: leafTemplate.Credential,
		Capabilities: leafTemplate.Capabilities, Source: LeafNodeSourceCommit, Extensions: leafTemplate.Extensions,
	}, &leafTemplate); err != nil {
		return nil, nil, err
	}
	sigKey, err := cs.NewSigner(kp.SignatureKey)
	if err != nil {
		return nil, nil, err
	}
	pup, err := st.createPath(rnd, leafTemplate, sigKey)
	if err != nil {
		return nil, nil, err
	}
	ac := &AuthenticatedContent{
		WireFormat: WireFormatPublicMessage,
		Content: FramedContent{
			GroupID: pg.ctx.GroupID, Epoch: pg.ctx.Epoch,
			Sender:            Sender{Type: SenderTypeNewMemberCommit},
			AuthenticatedData: opts.AuthenticatedData,
			ContentType:       ContentTypeCommit,
			Commit:            &Commit{Proposals: refs, Path: st.path},
		},
	}
	// Encoded once for the signature and the transcript hash; ac stays
	// inside this flow (see AuthenticatedContent.framed).
	if err := ac.pinFramed(); err != nil {
		return nil, nil, fmt.Errorf("mls: encoding FramedContent: %w", err)
	}
	if err := ac.sign(sigKey, &pg.ctx); err != nil {
		return nil, nil, err
	}
	pskSecret, err := resolvePSKSecret(cs, cfg, nil, st.res.psks)
	if err != nil {
		return nil, nil, err
	}
	_, keys, newPub, err := st.advance(ac, initSecret, pup.CommitSecret(), pskSecret)
	if err != nil {
		return nil, nil, err
	}
	pm, err := protectPublic(cs, ac, &pg.ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	g := &Group{cfg: cfg, cs: cs, pub: newPub, self: st.sender, sigPriv: kp.SignatureKey, signer: sigKey, priv: pup.Private(), keys: keys}
	if err := g.startEpoch(); err != nil {
		return nil, nil, err
	}
	return g, &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatPublicMessage, PublicMessage: pm}, nil
}

// checkResumptionWelcome applies the rules for a Welcome that carries a
// reinit or branch resumption PSK (RFC 9420, Sections 11.2, 11.3): the new
// group is at epoch 1; a reinit group matches the committed ReInit
// proposal; a branch keeps the version and cipher suite of the old group.
func checkResumptionWelcome(psks []PreSharedKeyID, ctx *GroupContext, prev *Group) error {
	for i := range psks {
		id := &psks[i]
		if id.PSKType != PSKTypeResumption || id.Usage == ResumptionPSKUsageApplication {
			continue
		}
		if ctx.Epoch != 1 {
			return protoErr(CodeInvalidWelcome, "RFC 9420 §11.2/§11.3 epoch of a reinit/branch Welcome is 1", fmt.Sprintf("epoch %d", ctx.Epoch), nil)
		}
		if prev == nil || !bytes.Equal(prev.GroupID(), id.PSKGroupID) {
			continue // the old group's state is not known here; the PSK itself links them
		}
		switch id.Usage {
		case ResumptionPSKUsageReinit:
			ri := prev.reinit
			if ri == nil {
				return protoErr(CodeInvalidWelcome, "RFC 9420 §11.2 reinit Welcome without a committed ReInit", "", nil)
			}
			if !bytes.Equal(ri.GroupID, ctx.GroupID) || ri.CipherSuite != ctx.CipherSuite || ri.Version != ctx.Version || !extensionsEqual(ri.Extensions, ctx.Extensions) {
				return protoErr(CodeInvalidWelcome, "RFC 9420 §11.2 new group matches the ReInit proposal", "", nil)
			}
		case ResumptionPSKUsageBranch:
			if prev.CipherSuite() != ctx.CipherSuite || prev.pub.ctx.Version != ctx.Version {
				return protoErr(CodeInvalidWelcome, "RFC 9420 §11.3 branch keeps version and cipher suite", "", nil)
			}
		}
	}
	return nil
}

func extensionsEqual(a, b Extensions) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Type != b[i].Type || !bytes.Equal(a[i].Data, b[i].Data) {
			return false
		}
	}
	return true
}

// NewPublicGroup builds the public state of a group from a GroupInfo and
// its ratchet tree (ratchetTree, or the GroupInfo's ratchet_tree
// extension): what a delivery service or any observer needs to follow the
// group without being a member. It checks what a joiner checks of them
// (RFC 9420, Section 12.4.3.1): the GroupInfo's size limits and its
// signature by a member, the tree's validity (tree hash against the
// GroupContext, parent hashes, every leaf, the Authentication Service via
// cfg.ValidateCredential, also for external senders), and derives the
// interim transcript hash from the confirmation tag.
func NewPublicGroup(cfg *Config, groupInfo *GroupInfo, ratchetTree []byte) (*PublicGroup, error) {
	if groupInfo == nil {
		return nil, protoErr(CodeInvalidMessage, "RFC 9420 §12.4.3", "nil GroupInfo", nil)
	}
	cs, err := suite.Get(suite.ID(groupInfo.GroupContext.CipherSuite))
	if err != nil {
		return nil, protoErr(CodeUnsupported, "RFC 9420 §12.4.3", "", err)
	}
	if err := cfg.limits().checkGroupInfo(groupInfo); err != nil {
		return nil, err
	}
	return publicFromGroupInfo(cfg, cs, groupInfo, ratchetTree)
}

// publicFromGroupInfo is NewPublicGroup after the suite and limit checks
// (shared with ExternalJoin).
func publicFromGroupInfo(cfg *Config, cs *suite.Suite, groupInfo *GroupInfo, ratchetTree []byte) (*PublicGroup, error) {
	treeBytes := ratchetTree
	if e, ok := groupInfo.Extensions.Find(ExtensionRatchetTree); ok {
		treeBytes = e.Data
	}
	if treeBytes == nil {
		return nil, protoErr(CodeInvalidWelcome, "RFC 9420 §12.4.3.3 ratchet tree", "neither in the GroupInfo nor given", nil)
	}
	tree, err := parseTreeWithLimits(cs, treeBytes, cfg)
	if err != nil {
		return nil, err
	}
	signer := tree.Leaf(LeafIndex(groupInfo.Signer))
	if signer == nil {
		return nil, protoErr(CodeInvalidWelcome, ruleWelcome+" signer is a member", fmt.Sprintf("leaf %d", groupInfo.Signer), nil)
	}
	if err := groupInfo.VerifySignature(signer.SignatureKey); err != nil {
		return nil, err
	}
	pg, err := newPublicGroup(cs, groupInfo.GroupContext, tree, nil)
	if err != nil {
		return nil, err
	}
	if err := pg.validateJoinedTree(cfg); err != nil {
		return nil, err
	}
	pg.interim = interimTranscriptHash(cs, groupInfo.GroupContext.ConfirmedTranscriptHash, groupInfo.ConfirmationTag)
	return pg, nil
}
