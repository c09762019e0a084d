package treemath

import (
	"iter"
	"math"
	"math/bits"
)

// NodeIndex is the index of a node in the array representation of a ratchet
// tree (RFC 9420, Appendix C): leaves at even indices, parents at odd ones.
type NodeIndex uint32

// LeafIndex is the index of a leaf among the leaves of a ratchet tree, as
// carried on the wire (e.g. Sender.leaf_index, Remove.removed).
type LeafIndex uint32

const (
	// MaxLeaves is the largest supported number of leaves, 2^31. Its tree
	// has NodeWidth(MaxLeaves) = 2^32-1 nodes.
	MaxLeaves uint32 = 1 << 31

	// MaxDepth is the number of levels above the leaves in the largest tree:
	// the length of a leaf's direct path when nLeaves = MaxLeaves.
	MaxDepth = 31

	// NoNode (2^32-1) is not a node of any tree: the largest tree's last
	// node is 2^32-2. LeafIndex.Node returns it for out-of-range leaves.
	NoNode NodeIndex = math.MaxUint32
)

// ValidLeafCount reports whether nLeaves is the leaf count of an RFC 9420
// ratchet tree: a power of two in [1, MaxLeaves] (trees are complete, RFC 9420,
// Section 7.7).
func ValidLeafCount(nLeaves uint32) bool {
	// Every power of two representable in a uint32 is <= MaxLeaves.
	return nLeaves != 0 && nLeaves&(nLeaves-1) == 0
}

// NodeWidth is the number of nodes needed to represent a tree with nLeaves
// leaves, 2*(nLeaves-1)+1 (RFC 9420, Appendix C, node_width). Like the RFC's
// formula it accepts any count, not only powers of two, so it also gives the
// length of a node array truncated after leaf nLeaves-1. It returns 0 for
// nLeaves == 0 and for nLeaves > MaxLeaves (no such array fits uint32
// indices).
func NodeWidth(nLeaves uint32) uint32 {
	if nLeaves == 0 || nLeaves > MaxLeaves {
		return 0
	}
	return 2*(nLeaves-1) + 1 // <= 2^32-1
}

// LeafCountForWidth returns the leaf count of the smallest complete tree with
// at least width nodes: the tree a node array of that length (e.g. a
// ratchet_tree extension with trailing blank nodes omitted, RFC 9420, Section
// 12.4.3.3) must be padded to. ok is false for width 0.
func LeafCountForWidth(width uint32) (nLeaves uint32, ok bool) {
	if width == 0 {
		return 0, false
	}
	// Leaves needed: the least n with 2n-1 >= width, i.e. width/2+1 (this
	// cannot overflow); then round up to a power of two (<= 2^31).
	need := width/2 + 1
	if need == 1 {
		return 1, true
	}
	return 1 << bits.Len32(need-1), true
}

// InTree reports whether x is a node of the tree with nLeaves leaves; false
// when nLeaves is not a valid leaf count.
func InTree(x NodeIndex, nLeaves uint32) bool {
	return ValidLeafCount(nLeaves) && uint32(x) < NodeWidth(nLeaves)
}

// Root returns the root of the tree with nLeaves leaves (RFC 9420, Appendix
// C, root). For the complete trees of RFC 9420 this is node nLeaves-1. ok is
// false when nLeaves is not a valid leaf count.
func Root(nLeaves uint32) (NodeIndex, bool) {
	if !ValidLeafCount(nLeaves) {
		return 0, false
	}
	return NodeIndex(nLeaves - 1), true
}

// Level returns the level of x: 0 for leaves, 1 for their parents, and so on
// (RFC 9420, Appendix C, level): the number of trailing one bits of x. It is
// at most 31 for nodes of a tree and 32 for NoNode.
func Level(x NodeIndex) uint32 {
	return uint32(bits.TrailingZeros32(^uint32(x)))
}

// IsLeaf reports whether x is a leaf (an even node index).
func IsLeaf(x NodeIndex) bool { return x&1 == 0 }

// Node returns the node index of leaf l, 2*l. For l >= MaxLeaves, which is
// a leaf of no tree, it returns NoNode rather than wrapping around to the
// index of a different leaf.
func (l LeafIndex) Node() NodeIndex {
	if uint32(l) >= MaxLeaves {
		return NoNode
	}
	return NodeIndex(2 * l)
}

// Leaf returns the leaf index of node x, x/2; ok is false if x is not a leaf.
func (x NodeIndex) Leaf() (LeafIndex, bool) {
	if !IsLeaf(x) {
		return 0, false
	}
	return LeafIndex(x / 2), true
}

// Left returns the left child of x (RFC 9420, Appendix C, left). ok is false
// when x is a leaf or NoNode.
func Left(x NodeIndex) (NodeIndex, bool) {
	k := Level(x)
	if k == 0 || k > MaxDepth {
		return 0, false
	}
	return x ^ (1 << (k - 1)), true
}

// Right returns the right child of x (RFC 9420, Appendix C, right). ok is
// false when x is a leaf or NoNode.
func Right(x NodeIndex) (NodeIndex, bool) {
	k := Level(x)
	if k == 0 || k > MaxDepth {
		return 0, false
	}
	// k <= 31, so 3<<(k-1) <= 0xC0000000 does not overflow.
	return x ^ (3 << (k - 1)), true
}

// parent is the parent of x at level k = Level(x) < MaxDepth, in the largest
// tree. x has the bit pattern ..b01...1 (k ones); its parent, one level up,
// is ..011...1: set bit k and clear bit k+1. This is the RFC's
// (x | 1<<k) ^ (b << (k+1)) with b = bit k+1 of x.
func parent(x NodeIndex, k uint32) NodeIndex {
	return (x | 1<<k) &^ (1 << (k + 1))
}

// sibling is the other child of x's parent, for x at level k = Level(x) <
// MaxDepth: same level, bit k+1 flipped.
func sibling(x NodeIndex, k uint32) NodeIndex {
	return x ^ (1 << (k + 1))
}

// Parent returns the parent of x in the tree with nLeaves leaves (RFC 9420,
// Appendix C, parent). ok is false when x is the root, x is not in the tree or
// nLeaves is not a valid leaf count.
func Parent(x NodeIndex, nLeaves uint32) (NodeIndex, bool) {
	if !InTree(x, nLeaves) || uint32(x) == nLeaves-1 {
		return 0, false
	}
	return parent(x, Level(x)), true
}

// Sibling returns the other child of x's parent in the tree with nLeaves
// leaves (RFC 9420, Appendix C, sibling). ok is false when x is the root, x is
// not in the tree or nLeaves is not a valid leaf count.
func Sibling(x NodeIndex, nLeaves uint32) (NodeIndex, bool) {
	if !InTree(x, nLeaves) || uint32(x) == nLeaves-1 {
		return 0, false
	}
	return sibling(x, Level(x)), true
}

// pathLen returns the length of x's direct path, or ok=false when x is not in
// the tree.
func pathLen(x NodeIndex, nLeaves uint32) (int, bool) {
	if !InTree(x, nLeaves) {
		return 0, false
	}
	// The root is at level log2(nLeaves) = Level(nLeaves-1); every node
	// below it has exactly one ancestor per level above its own.
	return int(Level(NodeIndex(nLeaves-1)) - Level(x)), true
}

// DirectPath returns the direct path of x, its ancestors from its parent to
// the root (RFC 9420, Section 4.1.2 and Appendix C, direct_path). It is empty
// (non-nil) for the root and nil when x is not in the tree or nLeaves is
// invalid.
func DirectPath(x NodeIndex, nLeaves uint32) []NodeIndex {
	n, ok := pathLen(x, nLeaves)
	if !ok {
		return nil
	}
	return AppendDirectPath(make([]NodeIndex, 0, n), x, nLeaves)
}

// AppendDirectPath appends the direct path of x to dst and returns the
// extended slice; it does not allocate when dst has room for the path (at
// most MaxDepth nodes). dst is returned unchanged when x is the root, not in
// the tree, or nLeaves is invalid.
func AppendDirectPath(dst []NodeIndex, x NodeIndex, nLeaves uint32) []NodeIndex {
	n, ok := pathLen(x, nLeaves)
	if !ok {
		return dst
	}
	k := Level(x)
	for range n {
		x = parent(x, k)
		k++
		dst = append(dst, x)
	}
	return dst
}

// Copath returns the copath of x: the sibling of x and of each node of its
// direct path except the root, ordered from x upwards (RFC 9420, Section
// 4.1.2 and Appendix C, copath). It is empty (non-nil) for the root and nil
// when x is not in the tree or nLeaves is invalid.
func Copath(x NodeIndex, nLeaves uint32) []NodeIndex {
	n, ok := pathLen(x, nLeaves)
	if !ok {
		return nil
	}
	return AppendCopath(make([]NodeIndex, 0, n), x, nLeaves)
}

// AppendCopath appends the copath of x to dst and returns the extended
// slice; it does not allocate when dst has room for the copath (at most
// MaxDepth nodes). dst is returned unchanged when x is the root, not in the
// tree, or nLeaves is invalid.
func AppendCopath(dst []NodeIndex, x NodeIndex, nLeaves uint32) []NodeIndex {
	n, ok := pathLen(x, nLeaves)
	if !ok {
		return dst
	}
	k := Level(x)
	for range n {
		dst = append(dst, sibling(x, k))
		x = parent(x, k)
		k++
	}
	return dst
}

// DirectPathCopath walks x's direct path from its parent up to the root,
// yielding for each step i the pair (DirectPath(x)[i], Copath(x)[i]): a
// direct-path node and its child that is not on the path from x, i.e. the
// copath node whose resolution decides whether the direct-path node is in the
// filtered direct path (RFC 9420, Section 4.1.2) and to whom its path secret
// is encrypted (Section 7.6). It yields nothing for the root, for a node not
// in the tree, or when nLeaves is invalid. The walk does not allocate.
func DirectPathCopath(x NodeIndex, nLeaves uint32) iter.Seq2[NodeIndex, NodeIndex] {
	return func(yield func(pathNode, copathNode NodeIndex) bool) {
		n, ok := pathLen(x, nLeaves)
		if !ok {
			return
		}
		cur, k := x, Level(x)
		for range n {
			p := parent(cur, k)
			if !yield(p, sibling(cur, k)) {
				return
			}
			cur = p
			k++
		}
	}
}

// CommonAncestor returns the lowest common ancestor of x and y: the lowest
// node whose subtree contains both, which is x or y itself when one is an
// ancestor of the other (RFC 9420, Appendix C, common_ancestor_direct). The
// answer is the same in every tree containing both nodes, so no leaf count
// is needed. ok is false when x or y is NoNode.
func CommonAncestor(x, y NodeIndex) (NodeIndex, bool) {
	if x == NoNode || y == NoNode {
		return 0, false
	}
	// One is an ancestor of the other when they agree above the higher
	// one's level (shifts by 32 give 0 in Go).
	lx, ly := Level(x)+1, Level(y)+1
	if lx <= ly && x>>ly == y>>ly {
		return y, true
	}
	if ly <= lx && x>>lx == y>>lx {
		return x, true
	}
	// Otherwise the ancestor is the node at level k-1 whose index shares
	// the bits of x and y above the highest bit where they differ (bit k-1).
	k := uint32(bits.Len32(uint32(x ^ y))) // 1..32
	prefix := uint64(x) >> k << k
	return NodeIndex(prefix + 1<<(k-1) - 1), true
}

// LeafRange returns the half-open range [first, end) of leaves in the subtree
// rooted at x. It is empty (0, 0) for NoNode.
func LeafRange(x NodeIndex) (first, end LeafIndex) {
	k := Level(x)
	if k > MaxDepth {
		return 0, 0
	}
	// x = prefix·0·1^k: the subtree's leaves are those whose leaf index
	// starts with prefix, i.e. prefix<<k ... prefix<<k + 2^k - 1.
	first = LeafIndex(uint64(x) >> (k + 1) << k)
	return first, first + 1<<k // <= 2^31
}

// NodeRange returns the half-open range [first, end) of node indices in the
// subtree rooted at x: x-(2^k-1) to x+(2^k-1) for x at level k. It is empty
// (0, 0) for NoNode.
func NodeRange(x NodeIndex) (first, end NodeIndex) {
	k := Level(x)
	if k > MaxDepth {
		return 0, 0
	}
	half := NodeIndex(1)<<k - 1   // x >= half since x's k low bits are ones
	return x - half, x + half + 1 // <= 2^32-1
}

// InSubtree reports whether x is in the subtree rooted at ancestor (x ==
// ancestor or x is a descendant of it).
func InSubtree(x, ancestor NodeIndex) bool {
	first, end := NodeRange(ancestor)
	return first <= x && x < end
}
