package core

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/mlslab/mlslab/mls/treemath"
)

// Rules named by tree validation errors.
const (
	ruleTreeHash          = "RFC 9420 §12.4.3.1 tree hash matches GroupInfo"
	ruleLeafSignature     = "RFC 9420 §7.3 leaf node signature"
	ruleLeafCredentialCap = "RFC 9420 §7.2 credential type listed in capabilities"
	ruleLeafExtensionCap  = "RFC 9420 §7.3 leaf extensions listed in capabilities"
	ruleLeafCredSupport   = "RFC 9420 §7.3 credential type supported by all members"
	ruleLeafLifetime      = "RFC 9420 §7.3 lifetime"
	ruleUnmergedPath      = "RFC 9420 §12.4.3.1 unmerged leaf listed at every non-blank intermediate node"
	ruleEncKeyUnique      = "RFC 9420 §7.3/§12.4.3.1 encryption_key unique in the tree"
	ruleSigKeyUnique      = "RFC 9420 §7.3 signature_key unique among members"
)

// TreeValidation parameterizes RatchetTree.Validate.
type TreeValidation struct {
	// GroupID is the signature context of update and commit leaves
	// (RFC 9420, Section 7.2).
	GroupID []byte
	// TreeHash, if non-nil, must equal the root tree hash (the tree_hash of
	// the GroupContext, Section 12.4.3.1).
	TreeHash []byte
	// Now, if non-zero, is the current Unix time in seconds: every
	// key_package leaf's lifetime must contain it (RECOMMENDED for received
	// trees, Section 7.3).
	Now uint64
	// CheckLeaf, if set, is called for every non-blank leaf (from several
	// goroutines) for group policy the tree cannot know: required
	// capabilities of the GroupContext, credential validation by the
	// Authentication Service (Section 5.3.1).
	CheckLeaf func(LeafIndex, *LeafNode) error
}

// Validate checks a tree the way a joiner must before using it (RFC 9420,
// Section 12.4.3.1 with Sections 7.3 and 7.9.2):
//   - the root tree hash equals v.TreeHash;
//   - every non-blank parent node is parent-hash valid;
//   - every leaf is valid: signature (with v.GroupID and its leaf index as
//     context for update/commit leaves), credential type and extensions
//     listed in its capabilities, credential type supported by all members,
//     lifetime (if v.Now != 0), v.CheckLeaf;
//   - every unmerged leaf of a parent is a non-blank leaf below it and is
//     listed at every non-blank node between the two;
//   - encryption keys are unique across all nodes and signature keys among
//     leaves.
//
// Signatures and parent hashes are checked in parallel (GOMAXPROCS
// goroutines); Ed25519 leaf signatures of trees with at least
// ed25519batch.MinBatch members are verified in batches (one per
// goroutine), accepting exactly what crypto/ed25519 accepts. Whatever the
// parallelism, a tree with several problems gets the error of checking
// leaf by leaf in order (the lowest leaf, and for it the first rule). The
// error is a *ProtocolError naming the rule and the node
// index (errors.Is with ErrTreeHash, ErrParentHash, ErrInvalidSignature,
// ErrInvalidLeafNode, ErrInvalidTree or ErrKeyReuse).
func (t *RatchetTree) Validate(v TreeValidation) error { return t.validate(v, 0) }

func (t *RatchetTree) validate(v TreeValidation, par int) error {
	if v.TreeHash != nil && !bytes.Equal(v.TreeHash, t.TreeHash()) {
		return nodeErr(CodeTreeHash, ruleTreeHash, uint32(t.root()), fmt.Sprintf("got %x, want %x", t.TreeHash(), v.TreeHash), nil)
	}
	// The structural checks are sequential; with more than one worker they
	// run in a goroutine next to the parallel signature and parent-hash
	// checks. Errors are reported in a fixed order whatever the timing.
	structural := func() error {
		if err := t.checkUnmerged(); err != nil {
			return err
		}
		if err := t.checkUnmergedPaths(); err != nil {
			return err
		}
		return t.checkKeyUniqueness()
	}
	var serr error
	done := make(chan struct{})
	if workers(par) > 1 {
		go func() { serr = structural(); close(done) }()
	} else {
		serr = structural()
		close(done)
	}
	lerr := t.checkLeaves(v, par)
	var perr error
	if lerr == nil {
		perr = t.verifyParentHashes(par)
	}
	<-done
	for _, err := range []error{serr, lerr, perr} {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkUnmergedPaths checks that a leaf unmerged at P is also unmerged at
// every non-blank node between the leaf and P (Section 12.4.3.1).
func (t *RatchetTree) checkUnmergedPaths() error {
	for x := NodeIndex(1); uint32(x) < t.width(); x += 2 {
		p := t.at(x).parent
		if p == nil {
			continue
		}
		for _, l := range p.UnmergedLeaves {
			for y, _ := range treemath.DirectPathCopath(l.Node(), t.nLeaves) {
				if y == x {
					break
				}
				q := t.at(y).parent
				if q == nil {
					continue
				}
				if _, found := slices.BinarySearch(q.UnmergedLeaves, l); !found {
					return nodeErr(CodeInvalidTree, ruleUnmergedPath, uint32(y), fmt.Sprintf("leaf %d unmerged at node %d but not here", l, x), nil)
				}
			}
		}
	}
	return nil
}

// checkKeyUniqueness checks that no HPKE public key appears in two nodes and
// no signature key in two leaves (Sections 7.3, 12.4.3.1).
func (t *RatchetTree) checkKeyUniqueness() error {
	members := int(t.NumMembers())
	filled := int(t.at(t.root()).filled)
	enc := make(map[string]NodeIndex, filled)
	sig := make(map[string]NodeIndex, members)
	for x := NodeIndex(0); uint32(x) < t.width(); x++ {
		n := t.at(x)
		if n.blank() {
			continue
		}
		k := string(n.encryptionKey())
		if prev, dup := enc[k]; dup {
			return nodeErr(CodeKeyReuse, ruleEncKeyUnique, uint32(x), fmt.Sprintf("same encryption_key as node %d", prev), nil)
		}
		enc[k] = x
		if n.leaf != nil {
			k := string(n.leaf.SignatureKey)
			if prev, dup := sig[k]; dup {
				return nodeErr(CodeKeyReuse, ruleSigKeyUnique, uint32(x), fmt.Sprintf("same signature_key as node %d", prev), nil)
			}
			sig[k] = x
		}
	}
	return nil
}

// CheckCapabilities checks the parts of leaf node validation that depend on
// the leaf alone (RFC 9420, Sections 7.2, 7.3): its credential type and the
// types of its non-default extensions are listed in its capabilities.
func (v *LeafNode) CheckCapabilities() error {
	if !v.Capabilities.SupportsCredential(v.Credential.Type) {
		return protoErr(CodeInvalidLeafNode, ruleLeafCredentialCap, fmt.Sprintf("credential type %v not in capabilities", v.Credential.Type), nil)
	}
	if t, ok := unsupportedExtension(v.Extensions, &v.Capabilities); ok {
		return protoErr(CodeInvalidLeafNode, ruleLeafExtensionCap, fmt.Sprintf("extension %v not in capabilities", t), nil)
	}
	return nil
}

// unsupportedExtension returns the type of the first extension of exts that
// caps does not support (Capabilities.SupportsExtension), in
// O(len(exts) + len(caps.Extensions)).
func unsupportedExtension(exts Extensions, caps *Capabilities) (ExtensionType, bool) {
	return unsupportedExtensionScratch(exts, caps, nil)
}

// unsupportedExtensionScratch is unsupportedExtension with a bitmap to
// reuse (all zero; left all zero), for callers checking many leaves.
func unsupportedExtensionScratch(exts Extensions, caps *Capabilities, scratch *codepointBits) (ExtensionType, bool) {
	set := codepointSet[ExtensionType]{list: caps.Extensions}
	if len(caps.Extensions) > scanLimit && len(exts) > scanLimit {
		if scratch == nil {
			scratch = new(codepointBits)
		}
		for _, v := range caps.Extensions {
			scratch.add(uint16(v))
		}
		defer clearCodepoints(scratch, caps.Extensions)
		set.bits = scratch
	}
	for _, e := range exts {
		if !e.Type.IsDefault() && !set.has(e.Type) {
			return e.Type, true
		}
	}
	return 0, false
}

// checkLeaves validates every non-blank leaf; signatures in parallel, and
// in batches where the suite allows (batchVerifiedLeaves).
func (t *RatchetTree) checkLeaves(v TreeValidation, par int) error {
	// Credential types in use; every member must support all of them.
	r := t.at(t.root())
	var inUse []CredentialType
	for _, ct := range []CredentialType{CredentialBasic, CredentialX509} {
		if r.credUsed&credBit(ct) != 0 {
			inUse = append(inUse, ct)
		}
	}
	verified := t.batchVerifiedLeaves(v.GroupID, par)
	return parallelRange(par, int(t.nLeaves), 16, func(lo, hi int) error {
		var tbs []byte
		for i := lo; i < hi; i++ {
			l := LeafIndex(i)
			ln := t.at(l.Node()).leaf
			if ln == nil {
				continue
			}
			x := uint32(l.Node())
			if err := ln.CheckCapabilities(); err != nil {
				pe := err.(*ProtocolError)
				pe.Node, pe.HasNode = x, true
				return pe
			}
			for _, ct := range inUse {
				if !ln.Capabilities.SupportsCredential(ct) {
					return nodeErr(CodeInvalidLeafNode, ruleLeafCredSupport, x, fmt.Sprintf("credential type %v in use but not supported", ct), nil)
				}
			}
			if v.Now != 0 && ln.Source == LeafNodeSourceKeyPackage && !ln.Lifetime.Contains(v.Now) {
				return nodeErr(CodeInvalidLeafNode, ruleLeafLifetime, x, fmt.Sprintf("lifetime [%d, %d] excludes %d", ln.Lifetime.NotBefore, ln.Lifetime.NotAfter, v.Now), nil)
			}
			if verified == nil || !verified[i] {
				var err error
				if tbs, err = t.leafTBS(tbs[:0], l, v.GroupID); err == nil {
					err = t.cs.VerifyWithLabel(ln.SignatureKey, "LeafNodeTBS", tbs, ln.Signature)
				}
				if err != nil {
					return nodeErr(CodeInvalidSignature, ruleLeafSignature, x, "", err)
				}
			}
			if v.CheckLeaf != nil {
				if err := v.CheckLeaf(l, ln); err != nil {
					return nodeErr(CodeInvalidLeafNode, "leaf policy", x, "", err)
				}
			}
		}
		return nil
	})
}

// batchVerifiedLeaves verifies the LeafNodeTBS signatures (RFC 9420,
// Section 7.3) of all members at once when the suite batches them
// (suite.NewBatchVerifier: Ed25519, at least ed25519batch.MinBatch
// members) and returns, by leaf index, which are valid; nil when it does
// not batch. Only a true is used: checkLeaves verifies every other leaf
// with VerifyWithLabel in its usual place, so the error for a tree with
// several problems (the lowest bad leaf, and for it the first failed rule)
// and the calls of TreeValidation.CheckLeaf are those of verifying one
// signature at a time. A rejected tree costs at most the batch plus one
// individual verification per member of the rejected batches.
func (t *RatchetTree) batchVerifiedLeaves(groupID []byte, par int) []bool {
	bv := t.cs.NewBatchVerifier("LeafNodeTBS", int(t.NumMembers()))
	if bv == nil {
		return nil
	}
	members := make([]LeafIndex, 0, t.NumMembers())
	for l := range t.Members() {
		members = append(members, l)
	}
	_ = parallelRange(par, len(members), 64, func(lo, hi int) error {
		var tbs []byte
		for j := lo; j < hi; j++ {
			l := members[j]
			ln := t.at(l.Node()).leaf
			var err error
			if tbs, err = t.leafTBS(tbs[:0], l, groupID); err != nil {
				continue // never Set: false, checkLeaves reports the error
			}
			bv.Set(j, ln.SignatureKey, tbs, ln.Signature)
		}
		return nil
	})
	ok := bv.Verify(workers(par))
	verified := make([]bool, t.nLeaves)
	for j, l := range members {
		verified[l] = ok[j]
	}
	return verified
}

// leafTBS appends the LeafNodeTBS of leaf l to dst (RFC 9420, Section 7.2).
// It reuses the cached LeafNode encoding: LeafNodeTBS is that encoding
// without the trailing signature<V>, plus group_id<V> and leaf_index for
// the update and commit sources.
func (t *RatchetTree) leafTBS(dst []byte, l LeafIndex, groupID []byte) ([]byte, error) {
	n := t.at(l.Node())
	ln := n.leaf
	sigField := len(appendVarint(nil, uint32(len(ln.Signature)))) + len(ln.Signature)
	if len(n.leafEnc) < sigField {
		return nil, fmt.Errorf("mls: internal: leaf %d encoding", l)
	}
	dst = append(dst, n.leafEnc[:len(n.leafEnc)-sigField]...)
	if ln.Source == LeafNodeSourceUpdate || ln.Source == LeafNodeSourceCommit {
		dst = appendOpaque(dst, groupID)
		dst = append(dst, byte(l>>24), byte(l>>16), byte(l>>8), byte(l))
	}
	return dst, nil
}

// Credential summaries: the credential types a member can actually use are
// those a Credential decodes (basic and x509, Section 5.3); each node keeps
// the set in use below it and the set all members below it support, as
// bits, so the checks of Section 7.3 cost O(log n) instead of a scan.
const credAllBits uint8 = 0b11

func credBit(t CredentialType) uint8 {
	switch t {
	case CredentialBasic:
		return 0b01
	case CredentialX509:
		return 0b10
	}
	return 0
}

// CheckCredentialSupport checks the credential rules of RFC 9420, Section
// 7.3 for a leaf node joining or replacing a leaf: every member other than
// except supports ln's credential type, and ln supports every credential
// type those members use. Pass an out-of-range except (e.g. the leaf the
// node will be added at, before adding) when no leaf is replaced. O(log n).
func (t *RatchetTree) CheckCredentialSupport(ln *LeafNode, except LeafIndex) error {
	used, all := t.credentialSummary(except)
	return checkCredentialSupport(ln, used, all)
}

// checkCredentialSupport is CheckCredentialSupport against the members'
// credential summary: the types they use and those all of them support.
func checkCredentialSupport(ln *LeafNode, used, all uint8) error {
	own := credBit(ln.Credential.Type)
	if own == 0 || all&own == 0 {
		return protoErr(CodeInvalidLeafNode, ruleLeafCredSupport, fmt.Sprintf("credential type %v not supported by every member", ln.Credential.Type), nil)
	}
	var supported uint8
	for _, ct := range ln.Capabilities.Credentials {
		supported |= credBit(ct)
	}
	if used&^supported != 0 {
		return protoErr(CodeInvalidLeafNode, ruleLeafCredSupport, "leaf does not support every credential type in use", nil)
	}
	return nil
}

// leafCredentials returns the credential type bit of ln and the bits of
// the credential types it supports.
func leafCredentials(ln *LeafNode) (used, all uint8) {
	used = credBit(ln.Credential.Type)
	for _, ct := range ln.Capabilities.Credentials {
		all |= credBit(ct)
	}
	return used, all
}

// credentialSummary combines the summaries of every member except one.
func (t *RatchetTree) credentialSummary(except LeafIndex) (used, all uint8) {
	if uint32(except) >= t.nLeaves {
		r := t.at(t.root())
		return r.credUsed, r.credAll
	}
	used, all = 0, credAllBits
	for _, c := range treemath.Copath(except.Node(), t.nLeaves) {
		n := t.at(c)
		used |= n.credUsed
		all &= n.credAll
	}
	return used, all
}
