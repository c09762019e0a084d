package core

import (
	"hash"
	"math/bits"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/codec"
	"github.com/mlslab/mlslab/mls/internal/suite"
	"github.com/mlslab/mlslab/mls/treemath"
)

// Tree hashes (RFC 9420, Section 7.8).
//
//	struct {
//	  NodeType node_type;
//	  select (TreeHashInput.node_type) {
//	    case leaf:   LeafNodeHashInput leaf_node;
//	    case parent: ParentNodeHashInput parent_node;
//	  };
//	} TreeHashInput;
//
//	struct { uint32 leaf_index; optional<LeafNode> leaf_node; } LeafNodeHashInput;
//	struct { optional<ParentNode> parent_node; opaque left_hash<V>; opaque right_hash<V>; } ParentNodeHashInput;
//
// Every node caches the hash of its subtree. Trees are hashed when they are
// built: an operation on a published tree rehashes only the changed nodes and
// their ancestors (editor.finish); a tree decoded from the wire is hashed
// cold by hashSubtrees, which splits large trees into subtrees hashed in
// parallel.

// parHashMinLeaves is the tree size below which a cold hash stays
// sequential. Measured with BenchmarkTreeHash (suite 0x0001, 2 cores): a
// parent hash costs ~0.4 us and a leaf ~1 us, so a 256-leaf subtree is
// ~0.3 ms of work, far above the ~2 us cost of a goroutine hand-off; below
// 512 leaves the whole hash takes < 0.5 ms and parallel gains vanish in
// noise.
const parHashMinLeaves = 512

// hasher is a per-goroutine hash state with a reusable input buffer.
type hasher struct {
	nh  int
	h   hash.Hash
	buf []byte
}

func newHasher(cs *suite.Suite) *hasher {
	return &hasher{nh: cs.HashSize(), h: cs.NewHash(), buf: make([]byte, 0, 512)}
}

// sum hashes in into dst (reusing dst's storage when it has capacity Nh).
func (h *hasher) sum(dst, in []byte) []byte {
	h.h.Reset()
	h.h.Write(in)
	if cap(dst) < h.nh {
		dst = nil
	}
	return h.h.Sum(dst[:0])
}

func encodeLeafNode(ln *LeafNode) ([]byte, error) {
	b := cryptobyte.NewBuilder(make([]byte, 0, 256))
	ln.marshal(b)
	return b.Bytes()
}

// hashLeafInto computes the tree hash and counters of a leaf node n at leaf
// index l, caching the LeafNode encoding in n.
func (t *RatchetTree) hashLeafInto(h *hasher, n *node, l LeafIndex) error {
	in := append(h.buf[:0], byte(NodeTypeLeaf), byte(l>>24), byte(l>>16), byte(l>>8), byte(l))
	if n.leaf == nil {
		in = append(in, 0)
		n.leaves, n.filled, n.resLen = 0, 0, 0
		n.credUsed, n.credAll = 0, credAllBits
	} else {
		n.credUsed, n.credAll = leafCredentials(n.leaf)
		if n.leafEnc == nil {
			enc, err := encodeLeafNode(n.leaf)
			if err != nil {
				return codec.Errorf("LeafNode", err)
			}
			n.leafEnc = enc
		}
		in = append(in, 1)
		in = append(in, n.leafEnc...)
		n.leaves, n.filled, n.resLen = 1, 1, 1
	}
	h.buf = in
	n.hash = h.sum(n.hash, in)
	return nil
}

// hashParentInto computes the tree hash and counters of parent node n from
// its children.
func (t *RatchetTree) hashParentInto(h *hasher, n, left, right *node) {
	in := append(h.buf[:0], byte(NodeTypeParent))
	n.leaves = left.leaves + right.leaves
	n.filled = left.filled + right.filled
	n.credUsed = left.credUsed | right.credUsed
	n.credAll = left.credAll & right.credAll
	if n.parent == nil {
		in = append(in, 0)
		n.resLen = left.resLen + right.resLen
	} else {
		in = append(in, 1)
		in = appendParentNode(in, n.parent)
		n.filled++
		n.resLen = 1 + uint32(len(n.parent.UnmergedLeaves))
	}
	in = appendOpaque(in, left.hash)
	in = appendOpaque(in, right.hash)
	h.buf = in
	n.hash = h.sum(n.hash, in)
}

// hashSubtree hashes every node of the subtree rooted at x, post-order.
func (t *RatchetTree) hashSubtree(h *hasher, x NodeIndex) error {
	if treemath.IsLeaf(x) {
		return t.hashLeafInto(h, t.at(x), LeafIndex(x/2))
	}
	l, _ := treemath.Left(x)
	r, _ := treemath.Right(x)
	if err := t.hashSubtree(h, l); err != nil {
		return err
	}
	if err := t.hashSubtree(h, r); err != nil {
		return err
	}
	t.hashParentInto(h, t.at(x), t.at(l), t.at(r))
	return nil
}

// hashSubtrees cold-hashes the subtrees rooted at each of roots (which must
// hold nodes not yet shared with any published tree). Large subtrees are
// split at a level with at least 4 pieces per worker; the pieces are hashed
// concurrently and the levels above them sequentially.
func (t *RatchetTree) hashSubtrees(roots []NodeIndex, par int) error {
	for _, root := range roots {
		t.allocHashes(root)
		k := treemath.Level(root) // subtree has 2^k leaves
		w := workers(par)
		if w <= 1 || uint64(1)<<k < parHashMinLeaves {
			if err := t.hashSubtree(newHasher(t.cs), root); err != nil {
				return err
			}
			continue
		}
		// Split level L: 2^(k-L) pieces >= 4w, each of 2^L leaves.
		split := uint32(bits.Len(uint(4*w - 1)))
		if split > k {
			split = k
		}
		L := k - split
		first, _ := treemath.LeafRange(root)
		pieces := 1 << split
		base := NodeIndex(first) * 2 // first node of the subtree
		pieceRoot := func(j int) NodeIndex { return base + NodeIndex(j)<<(L+1) + (NodeIndex(1)<<L - 1) }
		err := parallelRange(par, pieces, 1, func(lo, hi int) error {
			h := newHasher(t.cs)
			for j := lo; j < hi; j++ {
				if err := t.hashSubtree(h, pieceRoot(j)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		h := newHasher(t.cs)
		for lv := L + 1; lv <= k; lv++ {
			step := NodeIndex(1) << (lv + 1)
			for x := base + (NodeIndex(1)<<lv - 1); x <= root+(NodeIndex(1)<<k-1); x += step {
				l, _ := treemath.Left(x)
				r, _ := treemath.Right(x)
				t.hashParentInto(h, t.at(x), t.at(l), t.at(r))
			}
		}
	}
	return nil
}

// allocHashes gives every node under root without hash storage a slice of
// one shared slab, so a cold hash allocates once.
func (t *RatchetTree) allocHashes(root NodeIndex) {
	first, end := treemath.NodeRange(root)
	nh := t.cs.HashSize()
	missing := 0
	for x := first; x < end; x++ {
		if cap(t.at(x).hash) < nh {
			missing++
		}
	}
	if missing == 0 {
		return
	}
	slab := make([]byte, missing*nh)
	for x := first; x < end; x++ {
		if n := t.at(x); cap(n.hash) < nh {
			n.hash, slab = slab[:0:nh], slab[nh:]
		}
	}
}
