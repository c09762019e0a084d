package mls

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

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

// proposalEntry is one proposal covered by a commit, resolved from its
// ProposalOrRef, with the sender that proposed it.
type proposalEntry struct {
	p      *Proposal
	sender Sender
	ref    []byte // nil when included by value
}

// proposalResult is the effect of a proposal list on the public state
// (RFC 9420, Section 12.3), before any UpdatePath.
type proposalResult struct {
	tree         *RatchetTree
	extensions   Extensions
	added        []addedMember
	removed      []LeafIndex
	psks         []PreSharedKeyID
	externalInit *ExternalInit
	reinit       *ReInit
	pathRequired bool
	// newExtensions: a GroupContextExtensions proposal set extensions.
	newExtensions bool
}

type addedMember struct {
	leaf LeafIndex
	kp   *KeyPackage
}

const (
	ruleProposalList     = "RFC 9420 §12.2 proposal list validation"
	ruleProposal         = "RFC 9420 §12.1 proposal validation"
	ruleExternalProposal = "RFC 9420 §12.2 external commit proposal list"
)

// applyProposals validates the proposal list of a commit by committer
// (RFC 9420, Section 12.2) and applies it to the tree and extensions
// (Section 12.3). For an external commit committer is a new_member_commit
// sender. cfg supplies the lifetime clock and credential policy.
func (pg *PublicGroup) applyProposals(entries []proposalEntry, committer Sender, cfg *Config) (*proposalResult, error) {
	external := committer.Type == SenderTypeNewMemberCommit
	res := &proposalResult{tree: pg.tree, extensions: pg.ctx.Extensions}
	var (
		updates  = map[LeafIndex]*LeafNode{}
		removes  []LeafIndex
		adds     []*KeyPackage
		touched  = map[LeafIndex]bool{}
		gceCount int
		nExtInit int
		pskSeen  map[string]struct{}
		lim      = cfg.limits()
	)
	if len(entries) == 0 {
		res.pathRequired = true
	}
	for i, e := range entries {
		t := e.p.Type()
		if !t.IsValid() {
			return nil, protoErr(CodeInvalidProposal, ruleProposal, fmt.Sprintf("proposal %d: unsupported type %v", i, t), nil)
		}
		if t.PathRequired() {
			res.pathRequired = true
		}
		if external {
			switch t {
			case ProposalTypeExternalInit, ProposalTypeRemove, ProposalTypePSK:
			default:
				return nil, protoErr(CodeInvalidProposal, ruleExternalProposal, fmt.Sprintf("%v not allowed in an external commit", t), nil)
			}
		}
		switch b := e.p.Body.(type) {
		case *Add:
			adds = append(adds, &b.KeyPackage)
		case *Update:
			if e.sender.Type != SenderTypeMember {
				return nil, protoErr(CodeInvalidProposal, ruleProposal, "update from a non-member", nil)
			}
			l := LeafIndex(e.sender.Index)
			if committer.Type == SenderTypeMember && l == LeafIndex(committer.Index) {
				return nil, protoErr(CodeInvalidProposal, ruleProposalList, "update by the committer", nil)
			}
			if touched[l] {
				return nil, protoErr(CodeInvalidProposal, ruleProposalList, fmt.Sprintf("several update/remove for leaf %d", l), nil)
			}
			touched[l] = true
			updates[l] = &b.LeafNode
		case *Remove:
			l := LeafIndex(b.Removed)
			if pg.tree.Leaf(l) == nil {
				return nil, protoErr(CodeInvalidProposal, "RFC 9420 §12.1.3 removed leaf is a member", fmt.Sprintf("leaf %d", l), nil)
			}
			if committer.Type == SenderTypeMember && l == LeafIndex(committer.Index) {
				return nil, protoErr(CodeInvalidProposal, ruleProposalList, "remove of the committer", nil)
			}
			if touched[l] {
				return nil, protoErr(CodeInvalidProposal, ruleProposalList, fmt.Sprintf("several update/remove for leaf %d", l), nil)
			}
			touched[l] = true
			removes = append(removes, l)
		case *PreSharedKey:
			// A set of keys injective on what PreSharedKeyID.Equal
			// compares finds duplicates in O(1) each.
			if k, ok := pskKey(&b.PSK); ok {
				if _, dup := pskSeen[k]; dup {
					return nil, protoErr(CodeInvalidProposal, ruleProposalList, "duplicate PreSharedKeyID", nil)
				}
				if pskSeen == nil {
					pskSeen = map[string]struct{}{}
				}
				pskSeen[k] = struct{}{}
			}
			if err := pg.validatePSKProposal(&b.PSK); err != nil {
				return nil, err
			}
			res.psks = append(res.psks, b.PSK)
		case *ReInit:
			if err := lim.checkExtensions(CodeInvalidProposal, b.Extensions); err != nil {
				return nil, err
			}
			if len(entries) != 1 {
				return nil, protoErr(CodeInvalidProposal, ruleProposalList, "ReInit together with other proposals", nil)
			}
			if b.Version < pg.ctx.Version && pg.ctx.Version != 0 {
				return nil, protoErr(CodeInvalidProposal, "RFC 9420 §12.1.5 ReInit version", "", nil)
			}
			res.reinit = b
		case *ExternalInit:
			if !external {
				return nil, protoErr(CodeInvalidProposal, ruleProposalList, "ExternalInit in a regular commit", nil)
			}
			nExtInit++
			res.externalInit = b
		case *GroupContextExtensions:
			if err := lim.checkExtensions(CodeInvalidProposal, b.Extensions); err != nil {
				return nil, err
			}
			gceCount++
			if gceCount > 1 {
				return nil, protoErr(CodeInvalidProposal, ruleProposalList, "several GroupContextExtensions", nil)
			}
			res.extensions = b.Extensions
		default:
			return nil, protoErr(CodeInvalidProposal, ruleProposal, fmt.Sprintf("unsupported proposal type %v", t), nil)
		}
		if e.sender.Type == SenderTypeExternal || e.sender.Type == SenderTypeNewMemberProposal {
			if !t.AllowedExternal() && !(e.sender.Type == SenderTypeNewMemberProposal && t == ProposalTypeAdd) {
				return nil, protoErr(CodeInvalidProposal, "RFC 9420 §12.1.8 external proposal type", t.String(), nil)
			}
		}
	}
	if external {
		if nExtInit != 1 {
			return nil, protoErr(CodeInvalidProposal, ruleExternalProposal, fmt.Sprintf("%d ExternalInit proposals, want exactly 1", nExtInit), nil)
		}
		if len(removes) > 1 {
			return nil, protoErr(CodeInvalidProposal, ruleExternalProposal, "more than one Remove", nil)
		}
	}

	// GroupContextExtensions first: the new extensions govern the rest
	// (Section 12.3). Every member must support them (Section 12.1.7).
	if gceCount > 0 {
		res.newExtensions = true
		if err := pg.checkExtensionsSupported(res.extensions, touched, removes); err != nil {
			return nil, err
		}
	}

	t := pg.tree
	var err error
	// Updates (Section 12.1.2): validate against the current tree.
	for _, l := range sortedLeaves(updates) {
		ln := updates[l]
		if err := pg.validateLeafNode(t, res.extensions, ln, leafCheck{source: LeafNodeSourceUpdate, leaf: l, replace: true, cfg: cfg}); err != nil {
			return nil, err
		}
		if t, err = t.Update(l, ln); err != nil {
			return nil, err
		}
	}
	// Removes (Section 12.1.3).
	for _, l := range removes {
		if t, err = t.Remove(l); err != nil {
			return nil, err
		}
	}
	res.removed = removes
	// Adds, in list order (Section 12.1.1).
	var addKeys map[string]struct{}
	if len(adds) > 1 {
		addKeys = make(map[string]struct{}, len(adds))
	}
	for i, kp := range adds {
		if err := pg.validateKeyPackage(t, res.extensions, kp, cfg); err != nil {
			return nil, fmt.Errorf("mls: Add proposal %d: %w", i, err)
		}
		if addKeys != nil {
			k := string(kp.LeafNode.SignatureKey)
			if _, dup := addKeys[k]; dup {
				return nil, protoErr(CodeInvalidProposal, ruleProposalList, "two Adds for the same client", nil)
			}
			addKeys[k] = struct{}{}
		}
		if err := checkGrowth(t, lim.leaves); err != nil {
			return nil, err
		}
		var l LeafIndex
		if t, l, err = t.Add(&kp.LeafNode); err != nil {
			return nil, err
		}
		res.added = append(res.added, addedMember{leaf: l, kp: kp})
	}
	res.tree = t
	return res, nil
}

// checkGrowth rejects an Add to t that would extend the tree beyond
// maxLeaves leaves (Config.MaxLeaves): t has no blank leaf and doubling it
// exceeds the limit (RFC 9420, Section 7.7). O(log n).
func checkGrowth(t *RatchetTree, maxLeaves uint32) error {
	if _, ok := t.leftmostBlankLeaf(); ok || uint64(t.NumLeaves())*2 <= uint64(maxLeaves) {
		return nil
	}
	return limitErr(CodeInvalidProposal, ruleLimitLeaves, fmt.Sprintf("an Add would extend the tree to %d leaves (limit %d)", uint64(t.NumLeaves())*2, maxLeaves))
}

// pskKey returns a string that two PreSharedKeyIDs share exactly when
// Equal reports them equal (ok=false for a psktype Equal never matches).
func pskKey(id *PreSharedKeyID) (string, bool) {
	k := make([]byte, 0, 16+len(id.PSKNonce)+len(id.PSKID)+len(id.PSKGroupID))
	k = append(k, byte(id.PSKType))
	switch id.PSKType {
	case PSKTypeExternal:
		k = appendOpaque(k, id.PSKID)
	case PSKTypeResumption:
		k = append(k, byte(id.Usage))
		k = appendOpaque(k, id.PSKGroupID)
		k = binary.BigEndian.AppendUint64(k, id.PSKEpoch)
	default:
		return "", false
	}
	return string(appendOpaque(k, id.PSKNonce)), true
}

func sortedLeaves[V any](m map[LeafIndex]V) []LeafIndex {
	out := make([]LeafIndex, 0, len(m))
	for l := range m {
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}
