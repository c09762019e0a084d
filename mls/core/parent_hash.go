package core

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/mlslab/mlslab/mls/treemath"
)

// Parent hashes (RFC 9420, Section 7.9).
//
//	struct {
//	    HPKEPublicKey encryption_key;
//	    opaque parent_hash<V>;
//	    opaque original_sibling_tree_hash<V>;
//	} ParentHashInput;

const (
	ruleParentHash     = "RFC 9420 §7.9.2 parent hash"
	ruleLeafParentHash = "RFC 9420 §7.5 leaf parent_hash matches the UpdatePath"
)

// parentHash computes the parent hash of a node with the given key and
// parent_hash field whose copath child has tree hash siblingHash.
func (h *hasher) parentHash(key, parentHashField, siblingHash []byte) []byte {
	in := appendOpaque(h.buf[:0], key)
	in = appendOpaque(in, parentHashField)
	in = appendOpaque(in, siblingHash)
	h.buf = in
	return h.sum(nil, in)
}

// pathParentHashes computes, for an UpdatePath's filtered direct path
// (path[i] with copath child copath[i], bottom-up) carrying the public keys
// keys[i], the parent_hash field of each path node and of the leaf
// (Section 7.9, computed root to leaf). The copath subtrees are those of t.
func (t *RatchetTree) pathParentHashes(h *hasher, copath []NodeIndex, keys [][]byte) (fields [][]byte, leaf []byte) {
	fields = make([][]byte, len(copath))
	next := []byte{}
	for i := len(copath) - 1; i >= 0; i-- {
		fields[i] = next
		next = h.parentHash(keys[i], fields[i], t.at(copath[i]).hash)
	}
	return fields, next
}

// originalSiblingTreeHash returns the tree hash of s after blanking the
// leaves of removed (P's unmerged leaves) that lie below s and deleting them
// from every unmerged_leaves list there (RFC 9420, Section 7.9). Subtrees
// that contain none of them keep their cached hash.
func (t *RatchetTree) originalSiblingTreeHash(h *hasher, s NodeIndex, removed []LeafIndex) []byte {
	first, end := treemath.LeafRange(s)
	lo, _ := slices.BinarySearch(removed, first)
	hi, _ := slices.BinarySearch(removed, end)
	if lo == hi {
		return t.at(s).hash
	}
	return t.origHash(h, s, removed[lo:hi])
}

// origHash is originalSiblingTreeHash for a non-empty removed set, all
// below x.
func (t *RatchetTree) origHash(h *hasher, x NodeIndex, removed []LeafIndex) []byte {
	if treemath.IsLeaf(x) {
		var n node // blank leaf
		_ = t.hashLeafInto(h, &n, LeafIndex(x/2))
		return n.hash
	}
	l, _ := treemath.Left(x)
	r, _ := treemath.Right(x)
	lh := t.originalSiblingTreeHash(h, l, removed)
	rh := t.originalSiblingTreeHash(h, r, removed)
	p := t.at(x).parent
	in := append(h.buf[:0], byte(NodeTypeParent))
	if p == nil {
		in = append(in, 0)
	} else {
		q := *p
		q.UnmergedLeaves = slices.DeleteFunc(slices.Clone(p.UnmergedLeaves), func(u LeafIndex) bool {
			_, found := slices.BinarySearch(removed, u)
			return found
		})
		in = append(in, 1)
		in = appendParentNode(in, &q)
	}
	in = appendOpaque(in, lh)
	in = appendOpaque(in, rh)
	h.buf = in
	return h.sum(nil, in)
}

// nodeParentHashField returns the parent_hash field of node x: of a parent
// node, or of a leaf with source commit; ok=false otherwise.
func (t *RatchetTree) nodeParentHashField(x NodeIndex) ([]byte, bool) {
	n := t.at(x)
	switch {
	case n.parent != nil:
		return n.parent.ParentHash, true
	case n.leaf != nil && n.leaf.Source == LeafNodeSourceCommit:
		return n.leaf.ParentHash, true
	}
	return nil, false
}

// resolutionCapped returns the resolution of x, or ok=false as soon as it
// would exceed limit entries.
func (t *RatchetTree) resolutionCapped(dst []NodeIndex, x NodeIndex, limit int) ([]NodeIndex, bool) {
	n := t.at(x)
	if n.filled == 0 {
		return dst, true
	}
	switch {
	case n.leaf != nil:
		dst = append(dst, x)
	case n.parent != nil:
		dst = append(dst, x)
		for _, l := range n.parent.UnmergedLeaves {
			dst = append(dst, l.Node())
		}
	default:
		l, _ := treemath.Left(x)
		r, _ := treemath.Right(x)
		var ok bool
		if dst, ok = t.resolutionCapped(dst, l, limit); !ok {
			return dst, false
		}
		return t.resolutionCapped(dst, r, limit)
	}
	return dst, len(dst) <= limit
}

// verifyParentHashAt checks that the non-blank parent node p is
// parent-hash valid "top down" (RFC 9420, Section 7.9.2): exactly one
// descendant D, over both children, satisfies
//   - D is in the resolution of the child C on its side, and P's unmerged
//     leaves below C are exactly the resolution of C without D;
//   - D's parent_hash equals the parent hash of P with copath child S (the
//     other child), computed with P's unmerged leaves removed from S.
//
// A valid D that is itself a parent node is checked the same way, so every
// non-blank parent chains down to a leaf.
func (t *RatchetTree) verifyParentHashAt(h *hasher, p NodeIndex) error {
	pn := t.at(p).parent
	l, _ := treemath.Left(p)
	r, _ := treemath.Right(p)
	valid := 0
	var res []NodeIndex
	for _, side := range [2][2]NodeIndex{{l, r}, {r, l}} {
		c, s := side[0], side[1]
		first, end := treemath.LeafRange(c)
		lo, _ := slices.BinarySearch(pn.UnmergedLeaves, first)
		hi, _ := slices.BinarySearch(pn.UnmergedLeaves, end)
		uc := pn.UnmergedLeaves[lo:hi]
		var ok bool
		res, ok = t.resolutionCapped(res[:0], c, len(uc)+1)
		if !ok || len(res) != len(uc)+1 {
			continue
		}
		// D is the one resolution entry that is not an unmerged leaf of P.
		d, extra := treemath.NoNode, 0
		for _, y := range res {
			if lf, isLeaf := y.Leaf(); isLeaf {
				if _, found := slices.BinarySearch(uc, lf); found {
					continue
				}
			}
			d = y
			extra++
		}
		if extra != 1 {
			continue
		}
		field, has := t.nodeParentHashField(d)
		if !has || len(field) != t.cs.HashSize() {
			continue
		}
		want := h.parentHash(pn.EncryptionKey, pn.ParentHash, t.originalSiblingTreeHash(h, s, pn.UnmergedLeaves))
		if bytes.Equal(field, want) {
			valid++
		}
	}
	if valid != 1 {
		return nodeErr(CodeParentHash, ruleParentHash, uint32(p), fmt.Sprintf("%d descendants are parent-hash valid, want exactly 1", valid), nil)
	}
	return nil
}

// VerifyParentHashes checks that every non-blank parent node is
// parent-hash valid (RFC 9420, Section 7.9.2), in parallel. The error is a
// *ProtocolError (errors.Is ErrParentHash) naming the lowest failing node.
func (t *RatchetTree) VerifyParentHashes() error { return t.verifyParentHashes(0) }

func (t *RatchetTree) verifyParentHashes(par int) error {
	nParents := int(t.nLeaves) - 1
	return parallelRange(par, nParents, 64, func(lo, hi int) error {
		h := newHasher(t.cs)
		for i := lo; i < hi; i++ {
			x := NodeIndex(2*i + 1)
			if t.at(x).parent == nil {
				continue
			}
			if err := t.verifyParentHashAt(h, x); err != nil {
				return err
			}
		}
		return nil
	})
}
