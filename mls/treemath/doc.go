// Package treemath is the index arithmetic of the array-based ratchet tree of
// RFC 9420, Appendix C.
//
// # Indices
//
// A ratchet tree with n leaves is stored as an array of NodeWidth(n) = 2n-1
// nodes. Leaves sit at even node indices (leaf i at node 2i), parent nodes at
// odd ones, and the root of a tree with n leaves is node n-1. RFC 9420 trees
// are always complete: n is a power of two (RFC 9420, Sections 4 and 7.7;
// trees grow by doubling and shrink by halving). NodeIndex and LeafIndex are
// distinct types so the two index spaces cannot be mixed up silently; convert
// with LeafIndex.Node and NodeIndex.Leaf.
//
// Indices are uint32, as on the wire (RFC 9420 uses uint32 leaf indices), and
// trees of up to MaxLeaves = 2^31 leaves are supported: such a tree has
// 2^32-1 nodes, so every node index of every tree fits in a uint32 and the
// value 2^32-1 (NoNode) is never a node. All arithmetic is overflow-free for
// every uint32 input.
//
// # Invalid input
//
// No function panics, whatever its arguments. The rules are:
//
//   - A leaf count is valid when ValidLeafCount reports true: a power of two
//     in [1, MaxLeaves]. A node x is in a tree when InTree(x, nLeaves).
//   - Functions whose answer may not exist return (value, ok). ok is false
//     when the node has no such relative (Left/Right of a leaf, Parent/Sibling
//     of the root) and also when nLeaves is not a valid leaf count or x is not
//     a node of the tree. The value is then 0.
//   - DirectPath and Copath return nil for a node not in the tree (or an
//     invalid leaf count) and an empty, non-nil slice for the root. The
//     Append variants leave dst unchanged in both cases.
//   - Functions that do not take nLeaves (Level, IsLeaf, Left, Right,
//     CommonAncestor, LeafRange, NodeRange) work in the largest tree, of
//     MaxLeaves leaves; in a complete tree a node's children and subtree are
//     the same in every tree that contains the node. NoNode is their only
//     invalid input.
//   - NodeWidth is the RFC's node_width formula for any nLeaves up to
//     MaxLeaves (it is also the length of a truncated node array, e.g. a
//     ratchet_tree extension whose trailing blank nodes were omitted, RFC 9420
//     Section 12.4.3.3) and 0 above MaxLeaves. LeafIndex.Node saturates to
//     NoNode for leaf indices >= MaxLeaves instead of wrapping around.
//
// # Which function to use
//
// DirectPath and Copath allocate one slice per call and match the RFC's
// direct_path and copath. On hot paths use AppendDirectPath/AppendCopath with
// a reused buffer (a tree has at most 31 levels, so a [31]NodeIndex array on
// the stack always suffices), or range over DirectPathCopath, which walks the
// path from the node's parent up to the root without allocating and yields
// each direct-path node together with the copath node below it — the pair
// UpdatePath creation and the filtered direct path (RFC 9420, Section 4.1.2)
// need.
package treemath
