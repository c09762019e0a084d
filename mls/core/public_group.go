package core

import (
	"bytes"
	"fmt"
	"slices"
	"sync"

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
	// required is ctx's required_capabilities, decoded on first use and
	// shared by every message of the epoch.
	required *requiredCache
}

// newPublicGroup assembles a PublicGroup, encoding the context once.
func newPublicGroup(cs *suite.Suite, ctx GroupContext, tree *RatchetTree, interim []byte) (*PublicGroup, error) {
	enc, err := ctx.Marshal()
	if err != nil {
		return nil, fmt.Errorf("mls: encoding GroupContext: %w", err)
	}
	return &PublicGroup{cs: cs, ctx: ctx, ctxBytes: enc, tree: tree, interim: interim, required: newRequiredCache(ctx.Extensions)}, nil
}

// CipherSuite returns the group's cipher suite.
func (pg *PublicGroup) CipherSuite() CipherSuite { return CipherSuite(pg.cs.ID()) }

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
//
// The lists are reduced to what a leaf must advertise: each type once, at
// its first position, without the default extension and proposal types
// (every client supports those, Section 7.2; supportedBy skips them). They
// are attacker-sized (a GroupContextExtensions proposal sets them: 2^19
// copies of one default type fit in the extension) and checked against
// every leaf a proposal list adds or updates, so those checks share one
// decoding (requiredCache) and each costs at most one pass over the
// distinct types, which a leaf that passes lists itself.
func requiredCapabilities(exts Extensions) (*RequiredCapabilities, error) {
	e, ok := exts.Find(ExtensionRequiredCapabilities)
	if !ok {
		return nil, nil
	}
	rc, err := UnmarshalRequiredCapabilities(e.Data)
	if err != nil {
		return nil, err
	}
	seen := new(codepointBits)
	rc.ExtensionTypes = distinctRequired(rc.ExtensionTypes, seen, ExtensionType.IsDefault)
	rc.ProposalTypes = distinctRequired(rc.ProposalTypes, seen, ProposalType.IsDefault)
	rc.CredentialTypes = distinctRequired(rc.CredentialTypes, seen, func(CredentialType) bool { return false })
	return rc, nil
}

// distinctRequired returns list without the types skip reports and without
// repeats, in order; seen is a zeroed scratch set, zeroed again on return.
func distinctRequired[T ~uint16](list []T, seen *codepointBits, skip func(T) bool) []T {
	out := list[:0:0]
	for _, v := range list {
		if !skip(v) && seen.add(uint16(v)) {
			out = append(out, v)
		}
	}
	clearCodepoints(seen, out)
	return out
}

// requiredCache is the required_capabilities of one extension list,
// decoded on first use and shared by the leaves validated against that
// list: one proposal list's (its extensions after any
// GroupContextExtensions proposal), or one epoch's (PublicGroup.required,
// decoded once whatever the number of messages). PublicGroups are shared
// between goroutines: the decoding is once-only.
type requiredCache struct {
	exts Extensions
	once sync.Once
	rc   *RequiredCapabilities
	err  error
}

func newRequiredCache(exts Extensions) *requiredCache { return &requiredCache{exts: exts} }

func (c *requiredCache) get() (*RequiredCapabilities, error) {
	c.once.Do(func() { c.rc, c.err = requiredCapabilities(c.exts) })
	return c.rc, c.err
}

// ownRequired returns the requiredCache of pg's GroupContext extensions.
func (pg *PublicGroup) ownRequired() *requiredCache {
	if pg.required != nil {
		return pg.required
	}
	return newRequiredCache(pg.ctx.Extensions)
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
	// req is the required_capabilities of validateLeafNode's exts, shared
	// by the leaves validated against them (nil: decoded for this leaf).
	req *requiredCache
}

// validateLeafNode performs the LeafNode validation of RFC 9420, Section 7.3
// against the tree t (or a commit's Adds so far, addScope) and GroupContext
// extensions exts.
func (pg *PublicGroup) validateLeafNode(t leafScope, exts Extensions, ln *LeafNode, c leafCheck) error {
	const rule = "RFC 9420 §7.3"
	// Size limits first: nothing below copies or hashes an oversized leaf.
	if err := c.cfg.limits().checkLeafNode(CodeInvalidLeafNode, ln); err != nil {
		return err
	}
	if ln.Source != c.source {
		return protoErr(CodeInvalidLeafNode, rule+" leaf_node_source", fmt.Sprintf("got %v, want %v", ln.Source, c.source), nil)
	}
	// A key nobody can encrypt to would make every later commit whose
	// copath resolution holds it fail; refuse it on arrival (RFC 9180,
	// Section 7.1.4; FIPS 203, Section 7.2). A commit's leaf is checked in
	// mergePath (the sender validates its leaf before drawing the key).
	if c.source != LeafNodeSourceCommit {
		if err := pg.cs.ValidateHPKEPublicKey(ln.EncryptionKey); err != nil {
			return protoErr(CodeInvalidLeafNode, rule+" encryption_key is a valid HPKE public key", "", err)
		}
	}
	if !c.skipSignature {
		var sigErr error
		if c.source == LeafNodeSourceKeyPackage {
			sigErr = ln.verify(pg.cs, nil, 0)
		} else {
			sigErr = ln.verify(pg.cs, pg.ctx.GroupID, c.leaf)
		}
		if sigErr != nil {
			return protoErr(CodeInvalidSignature, rule+" leaf signature", "", sigErr)
		}
	}
	req := c.req
	if req == nil {
		req = newRequiredCache(exts)
	}
	rc, err := req.get()
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
// Section 10.1, 12.1.1). pre says which of its signatures a batch already
// verified (batchVerifyAdds; the zero value: none); the others are
// verified here, in their usual place among the checks.
func (pg *PublicGroup) validateKeyPackage(t leafScope, exts Extensions, kp *KeyPackage, cfg *Config, pre addSigs, req *requiredCache) error {
	if err := cfg.limits().checkKeyPackage(kp); err != nil {
		return err
	}
	return validateKeyPackageSig(kp, ProtocolVersionMLS10, CipherSuite(pg.cs.ID()), func(ln *LeafNode) error {
		return pg.validateLeafNode(t, exts, ln, leafCheck{source: LeafNodeSourceKeyPackage, cfg: cfg, skipSignature: pre.leaf, req: req})
	}, pre.keyPackage)
}

// addSigs says which signatures of one KeyPackage a batch proved valid.
type addSigs struct {
	keyPackage bool // its KeyPackageTBS signature (RFC 9420, Section 10.1)
	leaf       bool // its leaf_node's LeafNodeTBS signature (Section 7.3)
}

// batchVerifyAdds verifies the KeyPackage and LeafNode signatures of a
// commit's Add proposals (RFC 9420, Sections 10.1, 7.3, 12.1.1) in one
// batch when the suite batches them (suite.NewBatchVerifier: Ed25519, at
// least ed25519batch.MinBatch signatures, i.e. 2*len(adds)), and returns
// by position in adds which were valid; nil when it does not batch. Only
// a true is used: validateKeyPackage verifies every other signature
// with VerifyWithLabel in its usual place, so a commit with a bad Add
// fails with the error of verifying one signature at a time (the first
// bad Add, and for it the first failed rule). A KeyPackage that fails an
// earlier check the signatures do not depend on (size limits, cipher
// suite, leaf_node_source) is left out: its TBS is not encoded, and its
// error comes before the signature check anyway.
//
// The batch draws its coefficients from crypto/rand, not Config.Rand: the
// seeded stream is untouched.
func (pg *PublicGroup) batchVerifyAdds(adds []*KeyPackage, cfg *Config) []addSigs {
	bv := pg.cs.NewBatchVerifier("KeyPackageTBS", 2*len(adds))
	if bv == nil {
		return nil
	}
	lim := cfg.limits()
	cs := CipherSuite(pg.cs.ID())
	_ = parallelRange(0, len(adds), 64, func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			kp := adds[i]
			if kp.CipherSuite != cs || kp.LeafNode.Source != LeafNodeSourceKeyPackage || lim.checkKeyPackage(kp) != nil {
				continue // never Set: false
			}
			if tbs, err := kp.TBS(); err == nil {
				bv.Set(2*i, kp.LeafNode.SignatureKey, tbs, kp.Signature)
			}
			// A key_package leaf is signed without group_id and leaf_index
			// (Section 7.2), as validateLeafNode verifies it.
			if tbs, err := kp.LeafNode.TBS(nil, 0); err == nil {
				bv.SetLabeled(2*i+1, "LeafNodeTBS", kp.LeafNode.SignatureKey, tbs, kp.LeafNode.Signature)
			}
		}
		return nil
	})
	ok := bv.Verify(workers(0))
	out := make([]addSigs, len(adds))
	for i := range out {
		out[i] = addSigs{keyPackage: ok[2*i], leaf: ok[2*i+1]}
	}
	return out
}

// checkExtensionsSupported checks that every member that stays in the group
// supports the non-default extension types of a GroupContextExtensions
// proposal and its required_capabilities (RFC 9420, Sections 11.1, 12.1.7).
func (pg *PublicGroup) checkExtensionsSupported(exts Extensions, touched map[LeafIndex]bool, removed []LeafIndex, req *requiredCache) error {
	if req == nil {
		req = newRequiredCache(exts)
	}
	rc, err := req.get()
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

// confirmationTag recomputes the epoch's confirmation tag.
func (pg *PublicGroup) confirmationTag(keys *EpochSecrets) []byte {
	return keys.ConfirmationTag(pg.ctx.ConfirmedTranscriptHash)
}

// validateCommitLeaf validates the LeafNode of a commit's UpdatePath
// (RFC 9420, Sections 7.3, 12.4.2) at leaf l of tree (the tree after the
// proposals; for external commits, after adding the joiner's leaf).
func (pg *PublicGroup) validateCommitLeaf(cfg *Config, t *RatchetTree, exts Extensions, req *requiredCache, ln *LeafNode, l LeafIndex, replace bool) error {
	if ln.Source != LeafNodeSourceCommit {
		return protoErr(CodeInvalidLeafNode, "RFC 9420 §12.4.2 leaf_node_source commit", ln.Source.String(), nil)
	}
	return pg.validateLeafNode(t, exts, ln, leafCheck{source: LeafNodeSourceCommit, leaf: l, replace: replace, skipSignature: true, skipKeyScan: true, cfg: cfg, req: req})
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
	ac, err := pg.verifyPublic(msg.PublicMessage, cfg, nil)
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
		pac, err := pg.verifyPublic(m.PublicMessage, cfg, nil)
		if err != nil {
			return nil, fmt.Errorf("mls: proposal %d: %w", i, err)
		}
		if pac.Content.ContentType != ContentTypeProposal {
			return nil, protoErr(CodeInvalidMessage, "RFC 9420 §12.1", fmt.Sprintf("message %d is not a proposal", i), nil)
		}
		enc, err := pac.marshalPinned()
		if err != nil {
			return nil, err
		}
		cache = append(cache, cachedProposal{ref: pg.cs.MakeProposalRef(enc), p: pac.Content.Proposal, sender: pac.Content.Sender})
	}
	entries, err := resolveProposals(ac.Content.Commit, ac.Content.Sender, cache)
	if err != nil {
		return nil, err
	}
	st, err := pg.stageCommit(ac.Content.Sender, entries, cfg)
	if err != nil {
		return nil, err
	}
	if err := st.mergePath(ac.Content.Commit.Path); err != nil {
		return nil, err
	}
	return st.advancePublic(ac)
}

// verifyPublic checks a PublicMessage of pg's epoch and returns its
// AuthenticatedContent (RFC 9420, Section 6.2): group and epoch, cfg's
// size limits (before the signature is checked over the content), the
// sender's signature and content rules, and, for a member (membership not
// nil), the membership tag of a member sender. An observer (membership
// nil) cannot check the tag.
func (pg *PublicGroup) verifyPublic(pm *PublicMessage, cfg *Config, membership *MembershipKey) (*AuthenticatedContent, error) {
	c := &pm.Content
	if err := checkGroupEpoch(c.GroupID, c.Epoch, &pg.ctx); err != nil {
		return nil, err
	}
	if err := cfg.limits().checkContent(c.Proposal, c.Commit); err != nil {
		return nil, err
	}
	key, err := pg.senderSigKey(c.Sender, c)
	if err != nil {
		return nil, err
	}
	return unprotectPublic(pg.cs, pm, &pg.ctx, membership, key)
}

// memberSigKey returns the signature key of the member at leaf.
func (pg *PublicGroup) memberSigKey(leaf uint32) ([]byte, error) {
	ln := pg.tree.Leaf(LeafIndex(leaf))
	if ln == nil {
		return nil, fmt.Errorf("%w: leaf %d", ErrUnknownSender, leaf)
	}
	return ln.SignatureKey, nil
}

// externalSenders returns the external_senders extension entries
// (RFC 9420, Section 12.1.8.1).
func (pg *PublicGroup) externalSenders() ([]ExternalSender, error) {
	e, ok := pg.ctx.Extensions.Find(ExtensionExternalSenders)
	if !ok {
		return nil, nil
	}
	return UnmarshalExternalSenders(e.Data)
}

// senderSigKey returns the signature key that must have signed content
// from sender in this epoch (RFC 9420, Section 6.1). For a
// new_member_commit the key is in the commit's own path and is checked by
// the commit processing.
func (pg *PublicGroup) senderSigKey(sender Sender, content *FramedContent) ([]byte, error) {
	switch sender.Type {
	case SenderTypeMember:
		return pg.memberSigKey(sender.Index)
	case SenderTypeExternal:
		es, err := pg.externalSenders()
		if err != nil {
			return nil, err
		}
		if int(sender.Index) >= len(es) {
			return nil, fmt.Errorf("%w: external sender %d", ErrUnknownSender, sender.Index)
		}
		return es[sender.Index].SignatureKey, nil
	case SenderTypeNewMemberProposal:
		if content.ContentType != ContentTypeProposal || content.Proposal == nil {
			return nil, protoErr(CodeInvalidMessage, "RFC 9420 §6 new_member_proposal sends proposals", "", nil)
		}
		add, ok := content.Proposal.Body.(*Add)
		if !ok {
			return nil, protoErr(CodeInvalidMessage, "RFC 9420 §12.1.8 new_member_proposal must be Add", "", nil)
		}
		return add.KeyPackage.LeafNode.SignatureKey, nil
	case SenderTypeNewMemberCommit:
		if content.ContentType != ContentTypeCommit || content.Commit == nil || content.Commit.Path == nil {
			return nil, protoErr(CodeInvalidMessage, "RFC 9420 §12.4.3.2 external commit needs a path", "", nil)
		}
		return content.Commit.Path.LeafNode.SignatureKey, nil
	}
	return nil, fmt.Errorf("%w: sender type %v", ErrUnknownSender, sender.Type)
}

// validateJoinedTree runs the joiner's full tree validation (RFC 9420,
// Section 12.4.3.1): tree hash, parent hashes, leaf validity, and the
// application's credential checks.
func (pg *PublicGroup) validateJoinedTree(cfg *Config) error {
	if err := cfg.checkExternalSenders(CodeInvalidWelcome, pg.ctx.Extensions); err != nil {
		return err
	}
	rc, err := pg.ownRequired().get()
	if err != nil {
		return err
	}
	v := TreeValidation{GroupID: pg.ctx.GroupID, TreeHash: pg.ctx.TreeHash, Now: cfg.now()}
	v.CheckLeaf = func(l LeafIndex, ln *LeafNode) error {
		if err := rc.supportedBy(&ln.Capabilities); err != nil {
			return err
		}
		if t, ok := unsupportedExtension(pg.ctx.Extensions, &ln.Capabilities); ok {
			return fmt.Errorf("group extension %v not supported", t)
		}
		if ln.Credential.Type == CredentialX509 {
			if err := checkX509Credential(&ln.Credential, ln.SignatureKey); err != nil {
				return err
			}
		}
		if cfg != nil && cfg.ValidateCredential != nil {
			return cfg.ValidateCredential(&ln.Credential, ln.SignatureKey)
		}
		return nil
	}
	return pg.tree.Validate(v)
}
