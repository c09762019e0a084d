package mls

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/mlslab/mlslab/mls/internal/codec"
	"github.com/mlslab/mlslab/mls/internal/suite"
)

// PublicGroup is the public state of a group in one epoch: what any observer
// of the handshake messages can compute (RFC 9420, Section 8.1 GroupContext,
// Section 7 ratchet tree, Section 8.2 interim transcript hash). It holds no
// secrets. A PublicGroup is immutable: applying a commit returns a new one
// that shares every unchanged tree node with this one, so one value can be
// read concurrently by any number of members of the epoch.
type PublicGroup struct {
	cs       *suite.Suite
	ctx      GroupContext
	ctxBytes []byte // encoded ctx
	tree     *RatchetTree
	interim  []byte // interim_transcript_hash of this epoch

}

// newPublicGroup assembles a PublicGroup, encoding the context once.
func newPublicGroup(cs *suite.Suite, ctx GroupContext, tree *RatchetTree, interim []byte) (*PublicGroup, error) {
	enc, err := ctx.Marshal()
	if err != nil {
		return nil, fmt.Errorf("mls: encoding GroupContext: %w", err)
	}
	return &PublicGroup{cs: cs, ctx: ctx, ctxBytes: enc, tree: tree, interim: interim}, nil
}

// CipherSuite returns the group's cipher suite.
func (pg *PublicGroup) CipherSuite() suite.ID { return pg.cs.ID() }

// GroupID returns the group ID. The result must not be modified.
func (pg *PublicGroup) GroupID() []byte { return pg.ctx.GroupID }

// Epoch returns the epoch number.
func (pg *PublicGroup) Epoch() uint64 { return pg.ctx.Epoch }

// Context returns a copy of the GroupContext.
func (pg *PublicGroup) Context() GroupContext { return *pg.ctx.Clone() }

// Extensions returns the GroupContext extensions. The result must not be
// modified.
func (pg *PublicGroup) Extensions() Extensions { return pg.ctx.Extensions }

// Tree returns the ratchet tree (immutable).
func (pg *PublicGroup) Tree() *RatchetTree { return pg.tree }

// TreeHash returns the root tree hash.
func (pg *PublicGroup) TreeHash() []byte { return pg.ctx.TreeHash }

// NumMembers returns the number of non-blank leaves.
func (pg *PublicGroup) NumMembers() uint32 { return pg.tree.NumMembers() }

// InterimTranscriptHash returns the interim transcript hash of the epoch.
func (pg *PublicGroup) InterimTranscriptHash() []byte { return pg.interim }

// requiredCapabilities returns the group's required_capabilities extension,
// if any (RFC 9420, Section 11.1).
func requiredCapabilities(exts Extensions) (*RequiredCapabilities, error) {
	e, ok := exts.Find(ExtensionRequiredCapabilities)
	if !ok {
		return nil, nil
	}
	var rc RequiredCapabilities
	if err := codec.Decode(e.Data, rc.unmarshal); err != nil {
		return nil, protoErr(CodeDecode, "RFC 9420 §11.1 required_capabilities", "", err)
	}
	return &rc, nil
}

// supports reports whether caps meets rc.
func (rc *RequiredCapabilities) supportedBy(caps *Capabilities) error {
	if rc == nil {
		return nil
	}
	// Each list is checked against a set of the other, so the cost is linear
	// in the lengths of both (either can be long and attacker-chosen).
	exts := newCodepointSet(caps.Extensions, len(rc.ExtensionTypes))
	for _, t := range rc.ExtensionTypes {
		if !t.IsDefault() && !exts.has(t) {
			return fmt.Errorf("required extension %v not supported", t)
		}
	}
	props := newCodepointSet(caps.Proposals, len(rc.ProposalTypes))
	for _, t := range rc.ProposalTypes {
		if !t.IsDefault() && !props.has(t) {
			return fmt.Errorf("required proposal %v not supported", t)
		}
	}
	creds := newCodepointSet(caps.Credentials, len(rc.CredentialTypes))
	for _, t := range rc.CredentialTypes {
		if !creds.has(t) {
			return fmt.Errorf("required credential %v not supported", t)
		}
	}
	return nil
}

// leafCheck describes where a LeafNode being validated comes from (RFC 9420,
// Section 7.3).
type leafCheck struct {
	source  LeafNodeSource
	leaf    LeafIndex // for update/commit: the leaf it will occupy
	replace bool      // the leaf replaces the one at leaf (update, commit)
	cfg     *Config   // lifetime clock and credential policy (may be nil)
	// skipSignature: the caller verifies the signature itself (a commit's
	// path leaf is verified by MergeUpdatePath).
	skipSignature bool
	// skipKeyScan: the caller checks encryption_key uniqueness itself (a
	// commit checks its leaf and path keys in one scan).
	skipKeyScan bool
}

// validateLeafNode performs the LeafNode validation of RFC 9420, Section 7.3
// against the tree t and GroupContext extensions exts.
func (pg *PublicGroup) validateLeafNode(t *RatchetTree, exts Extensions, ln *LeafNode, c leafCheck) error {
	const rule = "RFC 9420 §7.3"
	// Size limits first: nothing below copies or hashes an oversized leaf.
	if err := c.cfg.limits().checkLeafNode(CodeInvalidLeafNode, ln); err != nil {
		return err
	}
	if ln.Source != c.source {
		return protoErr(CodeInvalidLeafNode, rule+" leaf_node_source", fmt.Sprintf("got %v, want %v", ln.Source, c.source), nil)
	}
	if !c.skipSignature {
		var sigErr error
		if c.source == LeafNodeSourceKeyPackage {
			sigErr = ln.Verify(pg.cs, nil, 0)
		} else {
			sigErr = ln.Verify(pg.cs, pg.ctx.GroupID, c.leaf)
		}
		if sigErr != nil {
			return protoErr(CodeInvalidSignature, rule+" leaf signature", "", sigErr)
		}
	}
	rc, err := requiredCapabilities(exts)
	if err != nil {
		return err
	}
	if err := rc.supportedBy(&ln.Capabilities); err != nil {
		return protoErr(CodeInvalidLeafNode, rule+" required_capabilities", err.Error(), nil)
	}
	if err := ln.CheckCapabilities(); err != nil {
		return err
	}
	if ln.Credential.Type == CredentialX509 {
		if err := checkX509Credential(&ln.Credential, ln.SignatureKey); err != nil {
			return err
		}
	}
	if c.cfg != nil && c.cfg.ValidateCredential != nil {
		if err := c.cfg.ValidateCredential(&ln.Credential, ln.SignatureKey); err != nil {
			return protoErr(CodeInvalidLeafNode, "RFC 9420 §5.3.1 credential rejected by the application", "", err)
		}
	}
	// Every member supports the new leaf's credential type, and the new
	// leaf supports every credential type in use.
	except := LeafIndex(^uint32(0))
	if c.replace {
		except = c.leaf
		// The new credential must succeed the one it replaces (Section
		// 5.3.1: Update and commit cases).
		if old := t.Leaf(c.leaf); old != nil {
			reason := SuccessorUpdate
			if c.source == LeafNodeSourceCommit {
				reason = SuccessorCommit
			}
			if err := c.cfg.validateSuccessor(c.leaf, &old.Credential, &ln.Credential, reason); err != nil {
				return err
			}
		}
	}
	if err := t.CheckCredentialSupport(ln, except); err != nil {
		return err
	}
	if now := c.cfg.now(); c.source == LeafNodeSourceKeyPackage && now != 0 && !ln.Lifetime.Contains(now) {
		return protoErr(CodeInvalidLeafNode, rule+" lifetime", fmt.Sprintf("[%d, %d] excludes %d", ln.Lifetime.NotBefore, ln.Lifetime.NotAfter, now), nil)
	}
	// The key must be new: not anywhere in the tree, including the leaf it
	// replaces (Sections 7.3, 12.1.2, 12.4.2).
	if !c.skipKeyScan {
		if x, dup := t.ContainsEncryptionKey(ln.EncryptionKey); dup {
			return nodeErr(CodeKeyReuse, rule+" encryption_key unique", uint32(x), "", nil)
		}
	}
	if l, dup := t.ContainsSignatureKey(ln.SignatureKey, except); dup {
		return nodeErr(CodeKeyReuse, rule+" signature_key unique", uint32(l.Node()), "", nil)
	}
	return nil
}

// validateKeyPackage checks a KeyPackage for use in this group (RFC 9420,
// Section 10.1, 12.1.1).
func (pg *PublicGroup) validateKeyPackage(t *RatchetTree, exts Extensions, kp *KeyPackage, cfg *Config) error {
	if err := cfg.limits().checkKeyPackage(kp); err != nil {
		return err
	}
	return validateKeyPackage(kp, ProtocolVersionMLS10, pg.cs.ID(), func(ln *LeafNode) error {
		return pg.validateLeafNode(t, exts, ln, leafCheck{source: LeafNodeSourceKeyPackage, cfg: cfg})
	})
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

// checkExtensionsSupported checks that every member that stays in the group
// supports the non-default extension types of a GroupContextExtensions
// proposal and its required_capabilities (RFC 9420, Sections 11.1, 12.1.7).
func (pg *PublicGroup) checkExtensionsSupported(exts Extensions, touched map[LeafIndex]bool, removed []LeafIndex) error {
	rc, err := requiredCapabilities(exts)
	if err != nil {
		return err
	}
	// removed is short in practice but attacker-sized: a sorted copy keeps
	// the per-member test O(log r).
	removed = slices.Sorted(slices.Values(removed))
	var scratch codepointBits // one bitmap for every member's capabilities
	for l, ln := range pg.tree.Members() {
		if _, gone := slices.BinarySearch(removed, l); gone {
			continue
		}
		if t, ok := unsupportedExtensionScratch(exts, &ln.Capabilities, &scratch); ok {
			return protoErr(CodeInvalidProposal, "RFC 9420 §12.1.7 extensions supported by all members", fmt.Sprintf("leaf %d lacks %v", l, t), nil)
		}
		if err := rc.supportedBy(&ln.Capabilities); err != nil {
			return protoErr(CodeInvalidProposal, "RFC 9420 §11.1 required_capabilities", fmt.Sprintf("leaf %d: %v", l, err), nil)
		}
	}
	return nil
}

// validatePSKProposal checks a PreSharedKey proposal (RFC 9420, Section
// 12.1.4): nonce of length Nh, resumption usage application.
func (pg *PublicGroup) validatePSKProposal(id *PreSharedKeyID) error {
	if len(id.PSKNonce) != pg.cs.Nh() {
		return protoErr(CodeInvalidProposal, "RFC 9420 §12.1.4 psk_nonce length", fmt.Sprintf("%d bytes, want %d", len(id.PSKNonce), pg.cs.Nh()), nil)
	}
	if id.PSKType == PSKTypeResumption && id.Usage != ResumptionPSKUsageApplication {
		return protoErr(CodeInvalidProposal, "RFC 9420 §12.1.4 resumption usage", id.Usage.String(), nil)
	}
	return nil
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

// ownCapabilities returns caps without GREASE values: the client's own
// capabilities, by which it judges what it supports itself. "When comparing
// lists of capabilities ..., clients MUST represent their own capabilities
// with a list containing only the capabilities actually supported, without
// any GREASE values" (RFC 9420, Section 13.5); the GREASE values that
// NewKeyPackage put in the client's leaf are for other clients only.
func ownCapabilities(caps *Capabilities) *Capabilities {
	return &Capabilities{
		Versions:     caps.Versions,
		CipherSuites: caps.CipherSuites,
		Extensions:   slices.DeleteFunc(slices.Clone(caps.Extensions), ExtensionType.IsGREASE),
		Proposals:    slices.DeleteFunc(slices.Clone(caps.Proposals), ProposalType.IsGREASE),
		Credentials:  slices.DeleteFunc(slices.Clone(caps.Credentials), CredentialType.IsGREASE),
	}
}

// checkOwnSupport checks that the client whose leaf has capabilities caps
// itself supports every extension of the GroupContext extensions exts and
// its required_capabilities (RFC 9420, Section 13.4: "A client joining a
// group MUST verify that it supports every extension in the GroupContext";
// Sections 11.1, 12.1.7), judged by its own capabilities, without GREASE
// values (Section 13.5). The other members are checked by what their leaves
// advertise (checkExtensionsSupported, validateJoinedTree).
func checkOwnSupport(caps *Capabilities, exts Extensions) error {
	if len(exts) == 0 {
		return nil
	}
	own := ownCapabilities(caps)
	if t, ok := unsupportedExtension(exts, own); ok {
		return fmt.Errorf("group extension %v not supported by this client", t)
	}
	rc, err := requiredCapabilities(exts)
	if err != nil {
		return err
	}
	if err := rc.supportedBy(own); err != nil {
		return fmt.Errorf("this client: %w", err)
	}
	return nil
}
