package core

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

// One commit pipeline (RFC 9420, Sections 12.4.1, 12.4.2). Every commit —
// created by a member (Group.Commit) or an external joiner (ExternalJoin),
// processed by a member (Group.Process) or an observer
// (PublicGroup.ApplyCommit) — goes through a stagedCommit, in this order:
//
//  1. resolveProposals: the commit's ProposalOrRef list, against the
//     epoch's proposal cache (receivers; a sender builds the entries from
//     its cache and its by-value proposals).
//  2. PublicGroup.stageCommit: the proposal list validated and applied
//     (Sections 12.2, 12.3), the provisional GroupContext (epoch + 1,
//     extensions).
//  3. placeJoiner (external commits only): the joiner's leaf validated and
//     placed in the leftmost blank leaf.
//  4. the UpdatePath: createPath (sender) or mergePath (receiver) and the
//     new tree hash; a commit without a path calls finishTree.
//  5. the signed commit's transcript hashes: advance (members: key
//     schedule, confirmation tag) or advancePublic (observers).
//
// The stage never modifies the PublicGroup it starts from; what a member
// does with its own secrets (path decryption, PSKs, the next Group) stays
// with the caller.

// stagedCommit is one commit on its way from the epoch pg to the next: the
// proposals applied, the tree with the UpdatePath merged, the provisional
// GroupContext (new epoch, extensions and tree hash; the confirmed
// transcript hash is set by advance).
type stagedCommit struct {
	pg        *PublicGroup // the epoch the commit is made in
	cfg       *Config
	committer Sender
	res       *proposalResult
	tree      *RatchetTree
	ctx       GroupContext
	sender    LeafIndex   // the committer's leaf in the new tree
	added     []LeafIndex // leaves added by the commit
	path      *UpdatePath // set by createPath or mergePath
}

// stageCommit starts a commit by committer covering entries: it validates
// and applies the proposal list (RFC 9420, Sections 12.2, 12.3) and sets
// the provisional GroupContext. It does not modify pg.
func (pg *PublicGroup) stageCommit(committer Sender, entries []proposalEntry, cfg *Config) (*stagedCommit, error) {
	res, err := applyProposals(pg, entries, committer, cfg)
	if err != nil {
		return nil, err
	}
	st := &stagedCommit{pg: pg, cfg: cfg, committer: committer, res: res, tree: res.tree, ctx: pg.ctx, sender: LeafIndex(committer.Index)}
	st.ctx.Epoch++
	st.ctx.Extensions = res.extensions
	st.added = make([]LeafIndex, len(res.added))
	for i, a := range res.added {
		st.added[i] = a.leaf
	}
	return st, nil
}

// placeJoiner validates an external joiner's commit leaf check against the
// tree after the proposals (before the joiner's leaf is placed), checks the
// commit's Remove as a resync of the joiner (checkResync), and places leaf
// in the tree (RFC 9420, Sections 12.4.2, 12.4.3.2). The sender passes the
// LeafNode it will sign (its encryption key not yet drawn) as check; a
// receiver passes the path's LeafNode as both.
func (st *stagedCommit) placeJoiner(check, leaf *LeafNode) error {
	pg := st.pg
	if err := pg.validateCommitLeaf(st.cfg, st.tree, st.res.extensions, st.res.required, check, 0, false); err != nil {
		return err
	}
	if err := pg.checkResync(st.cfg, st.res.removed, leaf); err != nil {
		return err
	}
	var err error
	st.tree, st.sender, err = addExternalJoiner(st.tree, leaf, st.cfg.maxLeaves())
	return err
}

// mergePath performs the receiver's public steps on a commit's UpdatePath
// (RFC 9420, Sections 7.5, 12.4.2): path presence, the committer's leaf,
// new public keys not already in the tree, the merge, and the new tree
// hash. For an external commit it places the joiner first.
func (st *stagedCommit) mergePath(path *UpdatePath) error {
	if st.res.pathRequired && path == nil {
		return protoErr(CodeInvalidCommit, "RFC 9420 §12.4.2 path required", "", nil)
	}
	if st.committer.Type == SenderTypeNewMemberCommit {
		// The joiner takes the leftmost blank leaf (Section 12.4.2).
		if path == nil {
			return protoErr(CodeInvalidCommit, "RFC 9420 §12.4.3.2 external commit path", "", nil)
		}
		if err := st.placeJoiner(&path.LeafNode, &path.LeafNode); err != nil {
			return err
		}
	} else if path != nil {
		if err := st.pg.validateCommitLeaf(st.cfg, st.tree, st.res.extensions, st.res.required, &path.LeafNode, st.sender, true); err != nil {
			return err
		}
	}
	if path != nil {
		// The committer's new leaf key must be one the group can encrypt
		// to (see validateLeafNode); the path's parent keys are checked
		// against the keys derived from the path secret (Section 12.4.2).
		if err := st.pg.cs.ValidateHPKEPublicKey(path.LeafNode.EncryptionKey); err != nil {
			return protoErr(CodeInvalidLeafNode, "RFC 9420 §7.3 encryption_key is a valid HPKE public key", "", err)
		}
		// The new leaf key and every path key must be new to the tree
		// (Sections 7.3, 12.4.2): one scan for all of them.
		keys := make([][]byte, 0, len(path.Nodes)+1)
		keys = append(keys, path.LeafNode.EncryptionKey)
		for i := range path.Nodes {
			keys = append(keys, path.Nodes[i].EncryptionKey)
		}
		if x, dup := st.tree.FindEncryptionKeys(keys); dup {
			return nodeErr(CodeKeyReuse, "RFC 9420 §12.4.2 UpdatePath keys not in the tree", uint32(x), "", nil)
		}
		var err error
		if st.tree, err = st.tree.MergeUpdatePath(st.sender, path, st.ctx.GroupID); err != nil {
			return err
		}
		st.path = path
	}
	st.finishTree()
	return nil
}

// createPath is the sender's UpdatePath (RFC 9420, Sections 7.4, 7.5): a
// new path from the committer's leaf (leaf is its template, signed with
// signer), the new tree hash, and the path secrets encrypted to the
// provisional GroupContext for every member but the new ones (who get
// theirs in the Welcome). The caller erases the returned path's secrets
// once the key schedule and the Welcome consumed them.
//
// The HPKE encapsulations run while the leaf is signed and the provisional
// GroupContext computed (createUpdatePath). On error st is unchanged.
func (st *stagedCommit) createPath(rnd io.Reader, leaf LeafNode, signer *suite.Signer) (*PendingUpdatePath, error) {
	ctx := st.ctx
	pup, path, err := st.tree.createUpdatePath(rnd, st.sender, leaf, signer, st.ctx.GroupID, st.added, func(nt *RatchetTree) ([]byte, error) {
		ctx.TreeHash = nt.TreeHash()
		return ctx.Marshal()
	}, 0)
	if err != nil {
		return nil, err
	}
	st.tree, st.ctx, st.path = pup.Tree(), ctx, path
	return pup, nil
}

// finishTree sets the provisional GroupContext's tree hash once the tree
// is final.
func (st *stagedCommit) finishTree() { st.ctx.TreeHash = st.tree.TreeHash() }

// pathCiphertexts is the number of HPKE ciphertexts of the commit's path.
func (st *stagedCommit) pathCiphertexts() int {
	n := 0
	if st.path != nil {
		for i := range st.path.Nodes {
			n += len(st.path.Nodes[i].EncryptedPathSecret)
		}
	}
	return n
}

// decryptPath is a receiver's private step on the commit (RFC 9420,
// Sections 7.5, 12.4.2): priv pruned to the new tree, then, if the commit
// has an UpdatePath, the path secret addressed to priv decrypted with the
// provisional GroupContext (the new epoch, extensions and tree hash, the
// old confirmed transcript hash: call before confirm) and the keys of the
// rest of the path derived. It returns the new private state and the
// commit_secret (nil without a path: the zero vector). st is unchanged.
func (st *stagedCommit) decryptPath(priv *TreePrivate) (*TreePrivate, CommitSecret, error) {
	np := priv.Prune(st.tree)
	if st.path == nil {
		return np, nil, nil
	}
	provisional, err := st.ctx.Marshal()
	if err != nil {
		return nil, nil, err
	}
	np, secret, err := st.tree.DecryptUpdatePath(np, st.sender, st.path, provisional, st.added)
	if err != nil {
		return nil, nil, err
	}
	return np, secret, nil
}

// checkCommitSender checks that a commit comes from a member or an
// external joiner (RFC 9420, Section 12.4).
func checkCommitSender(s Sender) error {
	if s.Type != SenderTypeMember && s.Type != SenderTypeNewMemberCommit {
		return protoErr(CodeInvalidCommit, "RFC 9420 §12.4 commit sender", s.Type.String(), nil)
	}
	return nil
}

// commitInitSecret is the init_secret the key schedule of a commit by
// committer starts from (RFC 9420, Sections 8, 8.3): keys' init_secret,
// or for an external commit the one ext's kem_output encapsulates to the
// epoch's external key pair (a new buffer, the caller's to erase).
func commitInitSecret(keys *EpochSecrets, committer Sender, ext *ExternalInit) (InitSecret, error) {
	if committer.Type != SenderTypeNewMemberCommit {
		return keys.Init, nil
	}
	if ext == nil {
		return nil, protoErr(CodeInvalidCommit, ruleExternalProposal, "no ExternalInit", nil)
	}
	init, err := keys.ExternalInitSecret(ext.KEMOutput)
	if err != nil {
		return nil, protoErr(CodeInvalidCommit, "RFC 9420 §8.3 external init", "", err)
	}
	return init, nil
}

// confirm sets the new epoch's confirmed transcript hash from the signed
// commit ac (RFC 9420, Section 8.2) and returns the encoded GroupContext.
func (st *stagedCommit) confirm(ac *AuthenticatedContent) ([]byte, error) {
	h, err := st.confirmedHash(ac)
	if err != nil {
		return nil, err
	}
	st.ctx.ConfirmedTranscriptHash = h
	return st.ctx.Marshal()
}

// confirmedHash is the new epoch's confirmed transcript hash, from the
// previous epoch's interim transcript hash and the signed commit ac (RFC
// 9420, Section 8.2): Hash(interim || ConfirmedTranscriptHashInput), the
// input hashed in place from ac's pinned encoding (confirmedTranscriptHash
// over ac.ConfirmedTranscriptHashInput() is the same hash).
func (st *stagedCommit) confirmedHash(ac *AuthenticatedContent) ([]byte, error) {
	h := st.pg.cs.NewHash()
	h.Write(st.pg.interim)
	if err := ac.writeConfirmedTranscriptHashInput(h); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// nextPublic returns the new epoch's PublicGroup once ac carries its
// confirmation tag (interim transcript hash, Section 8.2).
func (st *stagedCommit) nextPublic(ac *AuthenticatedContent, ctxBytes []byte) *PublicGroup {
	cs := st.pg.cs
	interim := interimTranscriptHash(cs, st.ctx.ConfirmedTranscriptHash, ac.Auth.ConfirmationTag)
	np := &PublicGroup{cs: cs, ctx: st.ctx, ctxBytes: ctxBytes, tree: st.tree, interim: interim}
	if st.res != nil {
		np.required = st.res.required // the decoding of st.ctx.Extensions
	} else {
		np.required = newRequiredCache(st.ctx.Extensions)
	}
	return np
}

// advance computes the next epoch from the signed commit ac: transcript
// hashes, key schedule, confirmation tag (set on ac when it has none,
// verified otherwise), and the new PublicGroup (RFC 9420, Sections 8, 8.2,
// 12.4.2).
func (st *stagedCommit) advance(ac *AuthenticatedContent, init InitSecret, commit CommitSecret, psk PSKSecret) (JoinerSecret, *EpochSecrets, *PublicGroup, error) {
	ctxBytes, err := st.confirm(ac)
	if err != nil {
		return nil, nil, nil, err
	}
	return st.keySchedule(ac, ctxBytes, init, commit, psk)
}

// keySchedule is advance once confirm has encoded the new GroupContext
// (ctxBytes): the key schedule, the confirmation tag (set on ac when it
// has none, verified otherwise) and the new PublicGroup.
func (st *stagedCommit) keySchedule(ac *AuthenticatedContent, ctxBytes []byte, init InitSecret, commit CommitSecret, psk PSKSecret) (JoinerSecret, *EpochSecrets, *PublicGroup, error) {
	cs := st.pg.cs
	joiner, keys := deriveEpoch(cs, init, commit, psk, ctxBytes)
	keys.ownedByGroup()
	if ac.Auth.ConfirmationTag == nil {
		if err := ac.setConfirmationTag(cs, keys.Confirmation, st.ctx.ConfirmedTranscriptHash); err != nil {
			return nil, nil, nil, err
		}
	} else if err := ac.verifyConfirmationTag(cs, keys.Confirmation, st.ctx.ConfirmedTranscriptHash); err != nil {
		return nil, nil, nil, err
	}
	return joiner, keys, st.nextPublic(ac, ctxBytes), nil
}

// advancePublic is advance for an observer without epoch secrets: the
// transcript hashes and the new PublicGroup; the confirmation tag cannot
// be checked (RFC 9420, Section 6.2).
func (st *stagedCommit) advancePublic(ac *AuthenticatedContent) (*PublicGroup, error) {
	ctxBytes, err := st.confirm(ac)
	if err != nil {
		return nil, fmt.Errorf("mls: encoding GroupContext: %w", err)
	}
	return st.nextPublic(ac, ctxBytes), nil
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
// the epoch's proposal cache for references (RFC 9420, Section 12.4).
func resolveProposals(c *Commit, committer Sender, cache []cachedProposal) ([]proposalEntry, error) {
	entries := make([]proposalEntry, 0, len(c.Proposals))
	// References are looked up in an index of the cache when both are long
	// (a scan per reference would be O(refs * cache)).
	var byRef map[string]int
	if len(c.Proposals) > scanLimit && len(cache) > scanLimit {
		byRef = make(map[string]int, len(cache))
		for i, cp := range cache {
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
				idx = slices.IndexFunc(cache, func(cp cachedProposal) bool { return bytes.Equal(cp.ref, por.Reference) })
			}
			if idx < 0 {
				return nil, protoErr(CodeInvalidCommit, "RFC 9420 §12.4 proposal reference", fmt.Sprintf("unknown ProposalRef %x", por.Reference), nil)
			}
			cp := cache[idx]
			entries = append(entries, proposalEntry{p: cp.p, sender: cp.sender, ref: cp.ref})
		default:
			return nil, protoErr(CodeInvalidCommit, "RFC 9420 §12.4 ProposalOrRef type", "", nil)
		}
	}
	return entries, nil
}

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
	// required: the required_capabilities of extensions.
	required *requiredCache
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
func applyProposals(pg *PublicGroup, entries []proposalEntry, committer Sender, cfg *Config) (*proposalResult, error) {
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
			if err := cfg.checkExternalSenders(CodeInvalidProposal, b.Extensions); err != nil {
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
	// One decoding of their required_capabilities for the members, the
	// Updates, the Adds and the commit's path leaf; without such a proposal
	// the epoch's own (decoded once per epoch).
	req := pg.ownRequired()
	if gceCount > 0 {
		req = newRequiredCache(res.extensions)
		res.newExtensions = true
		if err := pg.checkExtensionsSupported(res.extensions, touched, removes, req); err != nil {
			return nil, err
		}
	}
	res.required = req

	t := pg.tree
	var err error
	// Updates (Section 12.1.2): validate against the current tree.
	for _, l := range sortedLeaves(updates) {
		ln := updates[l]
		if err := pg.validateLeafNode(t, res.extensions, ln, leafCheck{source: LeafNodeSourceUpdate, leaf: l, replace: true, cfg: cfg, req: req}); err != nil {
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
	// Their signatures in one batch where the suite allows; pre is
	// indexed like adds, which this loop walks unchanged.
	// Only the Adds this loop can reach are batched: those before the
	// first repeated client (a commit may list one Add proposal's
	// reference many times, and the loop stops at the repeat) and no more
	// than the tree has room for under MaxLeaves (checkGrowth stops the
	// loop there). Otherwise a small commit could make every receiver
	// encode and hash one large KeyPackage hundreds of thousands of times.
	reach := len(adds)
	seen := make(map[string]struct{}, min(len(adds), 1024))
	for i, kp := range adds {
		k := string(kp.LeafNode.SignatureKey)
		if _, dup := seen[k]; dup {
			reach = i
			break
		}
		seen[k] = struct{}{}
	}
	if room := int64(lim.leaves) - int64(t.NumMembers()); int64(reach) > room {
		reach = int(max(room, 0))
	}
	pre := pg.batchVerifyAdds(adds[:reach], cfg)
	// Each Add is validated against the tree with the earlier ones in it
	// and placed in its leftmost blank leaf; the tree is built once at the
	// end (addScope: O(k log n) for k Adds, not O(k^2)).
	scope := newAddScope(t, reach)
	for i, kp := range adds {
		var sigs addSigs
		if i < len(pre) {
			sigs = pre[i]
		}
		if err := pg.validateKeyPackage(scope, res.extensions, kp, cfg, sigs, req); err != nil {
			return nil, fmt.Errorf("mls: Add proposal %d: %w", i, err)
		}
		if addKeys != nil {
			k := string(kp.LeafNode.SignatureKey)
			if _, dup := addKeys[k]; dup {
				return nil, protoErr(CodeInvalidProposal, ruleProposalList, "two Adds for the same client", nil)
			}
			addKeys[k] = struct{}{}
		}
		if err := growthErr(scope.hasBlank(), scope.numLeaves(), lim.leaves); err != nil {
			return nil, err
		}
		l, err := scope.add(&kp.LeafNode)
		if err != nil {
			return nil, err
		}
		res.added = append(res.added, addedMember{leaf: l, kp: kp})
	}
	if res.tree, err = scope.tree(); err != nil {
		return nil, err
	}
	return res, nil
}

// checkGrowth rejects an Add to t that would extend the tree beyond
// maxLeaves leaves (Config.MaxLeaves): t has no blank leaf and doubling it
// exceeds the limit (RFC 9420, Section 7.7). O(log n).
func checkGrowth(t *RatchetTree, maxLeaves uint32) error {
	_, blank := t.leftmostBlankLeaf()
	return growthErr(blank, t.NumLeaves(), maxLeaves)
}

// growthErr is checkGrowth for a tree nLeaves wide that has a blank leaf
// or not.
func growthErr(blank bool, nLeaves, maxLeaves uint32) error {
	if blank || uint64(nLeaves)*2 <= uint64(maxLeaves) {
		return nil
	}
	return limitErr(CodeInvalidProposal, ruleLimitLeaves, fmt.Sprintf("an Add would extend the tree to %d leaves (limit %d)", uint64(nLeaves)*2, maxLeaves))
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
