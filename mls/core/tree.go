package core

import (
	"fmt"
	"iter"
	"slices"
	"sort"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/codec"
	"github.com/mlslab/mlslab/mls/internal/suite"
	"github.com/mlslab/mlslab/mls/treemath"
)

// LeafIndex and NodeIndex are the two index spaces of the array-based
// ratchet tree (RFC 9420, Appendix C).
type (
	LeafIndex = treemath.LeafIndex
	NodeIndex = treemath.NodeIndex
)

// ParentNode is the content of a non-blank parent node (RFC 9420, Section
// 7.1).
//
//	struct {
//	    HPKEPublicKey encryption_key;
//	    opaque parent_hash<V>;
//	    uint32 unmerged_leaves<V>;
//	} ParentNode;
//
// A ParentNode placed in a tree is immutable and shared between the trees of
// successive epochs.
type ParentNode struct {
	EncryptionKey  []byte
	ParentHash     []byte
	UnmergedLeaves []LeafIndex // sorted, strictly increasing
}

func (v *ParentNode) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, v.EncryptionKey)
	codec.AddOpaque(b, v.ParentHash)
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for _, l := range v.UnmergedLeaves {
			b.AddUint32(uint32(l))
		}
	})
}

// appendParentNode appends the encoding of v to dst (the allocation-free
// form of marshal used by tree hashing).
func appendParentNode(dst []byte, v *ParentNode) []byte {
	dst = appendOpaque(dst, v.EncryptionKey)
	dst = appendOpaque(dst, v.ParentHash)
	dst = appendVarint(dst, uint32(4*len(v.UnmergedLeaves)))
	for _, l := range v.UnmergedLeaves {
		dst = append(dst, byte(l>>24), byte(l>>16), byte(l>>8), byte(l))
	}
	return dst
}

func (v *ParentNode) unmarshal(s *cryptobyte.String) error {
	var err error
	if v.EncryptionKey, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("ParentNode.encryption_key", err)
	}
	if v.ParentHash, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("ParentNode.parent_hash", err)
	}
	// 4 octets per 4-byte LeafIndex: bounded by the encoding.
	v.UnmergedLeaves, err = readVec(s, codec.MaxVarint, 4, func(l *LeafIndex, s *cryptobyte.String) error {
		u, err := codec.ReadUint32(s)
		*l = LeafIndex(u)
		return err
	})
	if err != nil {
		return codec.Errorf("ParentNode.unmerged_leaves", err)
	}
	return nil
}

// appendVarint and appendOpaque are the append-style forms of
// codec.AddVarint/AddOpaque for hot paths. Lengths are always < 2^30 here.
func appendVarint(dst []byte, v uint32) []byte {
	switch {
	case v < 1<<6:
		return append(dst, byte(v))
	case v < 1<<14:
		return append(dst, byte(v>>8)|0x40, byte(v))
	default:
		return append(dst, byte(v>>24)|0x80, byte(v>>16), byte(v>>8), byte(v))
	}
}

func appendOpaque(dst, data []byte) []byte {
	return append(appendVarint(dst, uint32(len(data))), data...)
}

// NodeType distinguishes leaves and parents in the ratchet_tree extension
// and tree hash inputs (RFC 9420, Section 7.8).
type NodeType uint8

// Node types of RFC 9420, Section 7.8.
const (
	NodeTypeLeaf   NodeType = 1 // leaf
	NodeTypeParent NodeType = 2 // parent
)

// IsValid reports whether t is leaf or parent.
func (t NodeType) IsValid() bool { return t == NodeTypeLeaf || t == NodeTypeParent }

func (t NodeType) String() string {
	switch t {
	case NodeTypeLeaf:
		return "leaf"
	case NodeTypeParent:
		return "parent"
	}
	return fmt.Sprintf("unknown(%d)", uint8(t))
}

// Node is the value of one ratchet tree node: a leaf, a parent, or blank
// (both nil). It is the element of the ratchet_tree extension (RFC 9420,
// Section 12.4.3.3):
//
//	struct {
//	    NodeType node_type;
//	    select (Node.node_type) {
//	        case leaf:   LeafNode leaf_node;
//	        case parent: ParentNode parent_node;
//	    };
//	} Node;
type Node struct {
	Leaf   *LeafNode
	Parent *ParentNode
}

// IsBlank reports whether the node is blank.
func (n Node) IsBlank() bool { return n.Leaf == nil && n.Parent == nil }

// EncryptionKey returns the node's HPKE public key, nil when blank.
func (n Node) EncryptionKey() []byte {
	switch {
	case n.Leaf != nil:
		return n.Leaf.EncryptionKey
	case n.Parent != nil:
		return n.Parent.EncryptionKey
	}
	return nil
}

// node is one position of a RatchetTree. It is immutable once the tree that
// holds it is published; a later tree that changes the position or anything
// below it holds a new node. hash caches the tree hash of the subtree rooted
// here (RFC 9420, Section 7.8), so a commit rehashes only changed paths.
type node struct {
	leaf    *LeafNode
	parent  *ParentNode
	leafEnc []byte // encoded LeafNode, cached for hashing and the ratchet_tree codec
	hash    []byte // tree hash of the subtree rooted here
	leaves  uint32 // non-blank leaves in the subtree
	filled  uint32 // non-blank nodes in the subtree
	resLen  uint32 // length of the resolution (RFC 9420, Section 4.1.1)
	// Credential summary of the subtree's members (see credBits): types in
	// use, and types every member supports (all bits when no member).
	credUsed, credAll uint8
}

func (n *node) blank() bool { return n.leaf == nil && n.parent == nil }

func (n *node) encryptionKey() []byte {
	switch {
	case n.leaf != nil:
		return n.leaf.EncryptionKey
	case n.parent != nil:
		return n.parent.EncryptionKey
	}
	return nil
}

// The node array is a persistent chunked array: a tree holds a slice of
// pointers to fixed-size chunks of node pointers. A new tree copies the
// chunk-pointer slice (nodes/256 pointers) and only the chunks it changes,
// so an epoch change at 2^16 leaves copies ~10 chunks of 2 KiB instead of a
// 1 MiB node-pointer slice. Unchanged nodes and chunks are shared.
const (
	chunkShift = 8
	chunkLen   = 1 << chunkShift
)

type nodeChunk [chunkLen]*node

// RatchetTree is the public ratchet tree of one epoch (RFC 9420, Sections 4
// and 7). It is immutable: operations return a new tree that shares every
// unchanged node with the receiver, so many readers and many epochs can hold
// trees concurrently without copies or locks.
//
// Trees obtained from ParseRatchetTree are structurally sound (node types at
// the right positions, unmerged leaves well-formed) but are only trustworthy
// after Validate.
type RatchetTree struct {
	cs      *suite.Suite
	nLeaves uint32 // power of two
	chunks  []*nodeChunk
	encIdx  keyIndex // encryption key -> node (every non-blank node)
	sigIdx  keyIndex // signature key -> node (leaves)
}

// at returns the node at x; x must be < width.
func (t *RatchetTree) at(x NodeIndex) *node { return t.chunks[x>>chunkShift][x&(chunkLen-1)] }

func (t *RatchetTree) width() uint32 { return 2*t.nLeaves - 1 }

func (t *RatchetTree) root() NodeIndex { return NodeIndex(t.nLeaves - 1) }

func (t *RatchetTree) inTree(x NodeIndex) bool { return uint32(x) < t.width() }

// CipherSuite returns the cipher suite the tree is hashed with.
func (t *RatchetTree) CipherSuite() CipherSuite { return CipherSuite(t.cs.ID()) }

// NumLeaves returns the number of leaves (blank or not), a power of two.
func (t *RatchetTree) NumLeaves() uint32 { return t.nLeaves }

// NumMembers returns the number of non-blank leaves.
func (t *RatchetTree) NumMembers() uint32 { return t.at(t.root()).leaves }

// Width returns the number of nodes, 2*NumLeaves()-1.
func (t *RatchetTree) Width() uint32 { return t.width() }

// Root returns the root's node index.
func (t *RatchetTree) Root() NodeIndex { return t.root() }

// Node returns the value at node x (blank when x is out of range).
func (t *RatchetTree) Node(x NodeIndex) Node {
	if !t.inTree(x) {
		return Node{}
	}
	n := t.at(x)
	return Node{Leaf: n.leaf, Parent: n.parent}
}

// Leaf returns the LeafNode at leaf l, nil when blank or out of range. The
// result is shared and must not be modified.
func (t *RatchetTree) Leaf(l LeafIndex) *LeafNode {
	if uint32(l) >= t.nLeaves {
		return nil
	}
	return t.at(l.Node()).leaf
}

// ParentNode returns the ParentNode at x, nil when blank, a leaf or out of
// range. The result is shared and must not be modified.
func (t *RatchetTree) ParentNode(x NodeIndex) *ParentNode {
	if !t.inTree(x) {
		return nil
	}
	return t.at(x).parent
}

// Members iterates over the non-blank leaves in leaf order.
func (t *RatchetTree) Members() iter.Seq2[LeafIndex, *LeafNode] {
	return func(yield func(LeafIndex, *LeafNode) bool) {
		t.walkLeaves(t.root(), func(l LeafIndex, ln *LeafNode) bool { return yield(l, ln) })
	}
}

// walkLeaves visits the non-blank leaves under x, skipping empty subtrees.
func (t *RatchetTree) walkLeaves(x NodeIndex, f func(LeafIndex, *LeafNode) bool) bool {
	n := t.at(x)
	if n.leaves == 0 {
		return true
	}
	if treemath.IsLeaf(x) {
		return f(LeafIndex(x/2), n.leaf)
	}
	l, _ := treemath.Left(x)
	r, _ := treemath.Right(x)
	return t.walkLeaves(l, f) && t.walkLeaves(r, f)
}

// TreeHash returns the tree hash of the root (RFC 9420, Section 7.8). It is
// cached: the call costs nothing. The result must not be modified.
func (t *RatchetTree) TreeHash() []byte { return t.at(t.root()).hash }

// NodeHash returns the tree hash of the subtree rooted at x (nil when x is
// out of range). The result must not be modified.
func (t *RatchetTree) NodeHash(x NodeIndex) []byte {
	if !t.inTree(x) {
		return nil
	}
	return t.at(x).hash
}

// Resolution returns the resolution of node x (RFC 9420, Section 4.1.1): the
// non-blank nodes covering every non-blank descendant, each non-blank node
// followed by its unmerged leaves. Leaves in exclude (new members added by
// the same commit, Section 7.6) are left out.
func (t *RatchetTree) Resolution(x NodeIndex, exclude ...LeafIndex) []NodeIndex {
	if !t.inTree(x) {
		return nil
	}
	return t.appendResolution(nil, x, exclude)
}

func (t *RatchetTree) appendResolution(dst []NodeIndex, x NodeIndex, exclude []LeafIndex) []NodeIndex {
	return t.appendResolutionSet(dst, x, newLeafSet(exclude))
}

func (t *RatchetTree) appendResolutionSet(dst []NodeIndex, x NodeIndex, exclude leafSet) []NodeIndex {
	n := t.at(x)
	if n.filled == 0 {
		return dst
	}
	switch {
	case n.leaf != nil:
		if !exclude.has(LeafIndex(x / 2)) {
			dst = append(dst, x)
		}
		return dst
	case n.parent != nil:
		dst = append(dst, x)
		for _, l := range n.parent.UnmergedLeaves {
			if !exclude.has(l) {
				dst = append(dst, l.Node())
			}
		}
		return dst
	}
	l, _ := treemath.Left(x)
	r, _ := treemath.Right(x)
	dst = t.appendResolutionSet(dst, l, exclude)
	return t.appendResolutionSet(dst, r, exclude)
}

// leafSet answers "is l in list" for an attacker-sized list of leaves (a
// commit's Adds, excluded from every resolution of its UpdatePath): a scan
// when the list is short, else a binary search of it (a sorted copy when it
// is not sorted; a commit's added leaves are), so a resolution of r nodes
// costs O(r log k), not O(r k).
type leafSet struct {
	list   []LeafIndex
	sorted bool
}

func newLeafSet(list []LeafIndex) leafSet {
	if len(list) <= scanLimit {
		return leafSet{list: list}
	}
	if !slices.IsSorted(list) {
		list = slices.Sorted(slices.Values(list))
	}
	return leafSet{list: list, sorted: true}
}

func (s leafSet) has(l LeafIndex) bool {
	if s.sorted {
		_, ok := slices.BinarySearch(s.list, l)
		return ok
	}
	return slices.Contains(s.list, l)
}

// resolutionLen returns the length of the resolution of x without the
// leaves of exclude. Each non-blank leaf below x appears exactly once in the
// resolution when it is unmerged at every non-blank node above it (as new
// members are), so excluded leaves below x are simply subtracted.
func (t *RatchetTree) resolutionLen(x NodeIndex, exclude []LeafIndex) int {
	n := int(t.at(x).resLen)
	first, end := treemath.LeafRange(x)
	for _, l := range exclude {
		if l >= first && l < end && uint32(l) < t.nLeaves && t.at(l.Node()).leaf != nil {
			n--
		}
	}
	return n
}

// resolutionEmpty reports whether the resolution of x is empty, i.e. the
// subtree holds no non-blank node.
func (t *RatchetTree) resolutionEmpty(x NodeIndex) bool { return t.at(x).filled == 0 }

// FilteredDirectPath returns the filtered direct path of leaf l (RFC 9420,
// Section 4.1.2): its direct path minus every node whose copath child has an
// empty resolution.
func (t *RatchetTree) FilteredDirectPath(l LeafIndex) []NodeIndex {
	path, _ := t.filteredPath(l)
	return path
}

// filteredPath returns the filtered direct path of l and, for each of its
// nodes, the copath child (the child not on l's path).
func (t *RatchetTree) filteredPath(l LeafIndex) (path, copath []NodeIndex) {
	if uint32(l) >= t.nLeaves {
		return nil, nil
	}
	for p, c := range treemath.DirectPathCopath(l.Node(), t.nLeaves) {
		if !t.resolutionEmpty(c) {
			path = append(path, p)
			copath = append(copath, c)
		}
	}
	return path, copath
}

// newRatchetTree returns the one-member tree of a new group (RFC 9420,
// Section 11): leaf 0 holds leaf.
func newRatchetTree(cs *suite.Suite, leaf *LeafNode) (*RatchetTree, error) {
	if leaf == nil {
		return nil, fmt.Errorf("mls: NewRatchetTree: nil leaf")
	}
	t := &RatchetTree{cs: cs, nLeaves: 1, chunks: []*nodeChunk{new(nodeChunk)}}
	n := &node{leaf: leaf}
	if err := t.hashLeafInto(newHasher(cs), n, 0); err != nil {
		return nil, err
	}
	t.chunks[0][0] = n
	t.buildIndexes()
	return t, nil
}

// editor builds a new tree from an old one: it copies the chunk-pointer
// slice, copies a chunk on its first write, collects pending node contents,
// and on finish rebuilds the changed nodes and their ancestors bottom-up with
// fresh tree hashes.
type editor struct {
	t     *RatchetTree
	owned map[int]bool
	pend  map[NodeIndex]Node
	owner *kiOwner // key index nodes copied by this edit
}

func (t *RatchetTree) edit() *editor { return t.editCap(len(t.chunks)) }

// editCap is edit with room for c chunk pointers (2x when it will extend).
func (t *RatchetTree) editCap(c int) *editor {
	chunks := make([]*nodeChunk, len(t.chunks), max(c, len(t.chunks)))
	copy(chunks, t.chunks)
	nt := &RatchetTree{cs: t.cs, nLeaves: t.nLeaves, chunks: chunks, encIdx: t.encIdx, sigIdx: t.sigIdx}
	return &editor{t: nt, owned: map[int]bool{}, pend: map[NodeIndex]Node{}, owner: new(kiOwner)}
}

func (e *editor) put(x NodeIndex, n *node) {
	c := int(x >> chunkShift)
	if !e.owned[c] {
		cp := *e.t.chunks[c]
		e.t.chunks[c] = &cp
		e.owned[c] = true
	}
	e.t.chunks[c][x&(chunkLen-1)] = n
}

// set schedules node x to hold v (blank when v is blank).
func (e *editor) set(x NodeIndex, v Node) { e.pend[x] = v }

// get returns the current (possibly pending) value at x.
func (e *editor) get(x NodeIndex) Node {
	if v, ok := e.pend[x]; ok {
		return v
	}
	n := e.t.at(x)
	return Node{Leaf: n.leaf, Parent: n.parent}
}

// blankDirectPath schedules every node on l's direct path to be blank.
func (e *editor) blankDirectPath(l LeafIndex) {
	for _, p := range treemath.DirectPath(l.Node(), e.t.nLeaves) {
		e.set(p, Node{})
	}
}

// extend doubles the tree (RFC 9420, Section 7.7): the old tree becomes the
// left subtree of a new blank root whose right subtree is all blank. The
// right subtree's nodes and their hashes come shared from blankRightHalf.
func (e *editor) extend() error {
	old := e.t.nLeaves
	if old >= treemath.MaxLeaves {
		return fmt.Errorf("mls: ratchet tree cannot grow beyond %d leaves", treemath.MaxLeaves)
	}
	half, err := blankRightHalf(e.t.cs, old)
	if err != nil {
		return err
	}
	e.t.nLeaves = 2 * old
	if half.chunks != nil {
		// Chunk-aligned: the old tree fills exactly the chunks before the
		// half's; share the half's chunks (not owned: copied on write).
		if len(e.t.chunks) != int(2*old)/chunkLen {
			return fmt.Errorf("mls: internal: %d chunks for %d leaves", len(e.t.chunks), old)
		}
		e.t.chunks = append(e.t.chunks, half.chunks...)
	} else {
		// A small tree: the whole doubled tree fits in chunk 0.
		first := NodeIndex(2 * old)
		for i := range half.nodes {
			e.put(first+NodeIndex(i), &half.nodes[i])
		}
	}
	e.set(NodeIndex(2*old-1), Node{}) // new root, hashed by finish
	return nil
}

// finish rebuilds every pending node and each ancestor of one, bottom-up,
// and returns the new tree.
func (e *editor) finish() (*RatchetTree, error) {
	t := e.t
	var xs []NodeIndex
	seen := make(map[NodeIndex]bool, len(e.pend)*4)
	for x := range e.pend {
		if !t.inTree(x) {
			continue
		}
		for y := x; ; {
			if seen[y] {
				break
			}
			seen[y] = true
			xs = append(xs, y)
			p, ok := treemath.Parent(y, t.nLeaves)
			if !ok {
				break
			}
			y = p
		}
	}
	sort.Slice(xs, func(i, j int) bool {
		li, lj := treemath.Level(xs[i]), treemath.Level(xs[j])
		if li != lj {
			return li < lj
		}
		return xs[i] < xs[j]
	})
	h := newHasher(t.cs)
	for _, x := range xs {
		v := e.get(x)
		if _, changed := e.pend[x]; changed {
			// Keep the key indexes in step (the old node is still in place).
			if old := t.at(x); old != nil && (old.leaf != v.Leaf || old.parent != v.Parent) {
				t.indexNode(e.owner, x, Node{Leaf: old.leaf, Parent: old.parent}, false)
				t.indexNode(e.owner, x, v, true)
			} else if old == nil {
				t.indexNode(e.owner, x, v, true)
			}
		}
		n := &node{leaf: v.Leaf, parent: v.Parent}
		if treemath.IsLeaf(x) {
			if v.Parent != nil {
				return nil, fmt.Errorf("mls: internal: parent node at leaf position %d", x)
			}
			if old := t.at(x); old != nil && old.leaf == v.Leaf && old.leaf != nil {
				n.leafEnc = old.leafEnc
			}
			if err := t.hashLeafInto(h, n, LeafIndex(x/2)); err != nil {
				return nil, err
			}
		} else {
			if v.Leaf != nil {
				return nil, fmt.Errorf("mls: internal: leaf node at parent position %d", x)
			}
			l, _ := treemath.Left(x)
			r, _ := treemath.Right(x)
			t.hashParentInto(h, n, t.at(l), t.at(r))
		}
		e.put(x, n)
	}
	return t, nil
}

// truncate halves the tree while the right subtree of the root holds no
// non-blank node (RFC 9420, Sections 7.7 and 12.1.3). The left subtree's
// hashes are unchanged, so nothing is rehashed.
func (t *RatchetTree) truncate() *RatchetTree {
	for t.nLeaves > 1 {
		r, _ := treemath.Right(t.root())
		if t.at(r).filled != 0 {
			break
		}
		nl := t.nLeaves / 2
		nw := 2*nl - 1
		encIdx, sigIdx := t.encIdx, t.sigIdx
		if root := t.at(t.root()); !root.blank() {
			// The discarded root's key leaves the index.
			cp := &RatchetTree{encIdx: encIdx, sigIdx: sigIdx}
			cp.indexNode(new(kiOwner), t.root(), Node{Leaf: root.leaf, Parent: root.parent}, false)
			encIdx, sigIdx = cp.encIdx, cp.sigIdx
		}
		nc := (int(nw) + chunkLen - 1) / chunkLen
		chunks := slices.Clone(t.chunks[:nc])
		// Clear the tail of the last chunk so stale nodes are not retained.
		if tail := int(nw) - (nc-1)*chunkLen; tail < chunkLen {
			last := *chunks[nc-1]
			clear(last[tail:])
			chunks[nc-1] = &last
		}
		t = &RatchetTree{cs: t.cs, nLeaves: nl, chunks: chunks, encIdx: encIdx, sigIdx: sigIdx}
	}
	return t
}

// leftmostBlankLeaf returns the leftmost blank leaf, ok=false when every
// leaf is occupied.
func (t *RatchetTree) leftmostBlankLeaf() (LeafIndex, bool) {
	x := t.root()
	if t.at(x).leaves == t.nLeaves {
		return 0, false
	}
	for !treemath.IsLeaf(x) {
		l, _ := treemath.Left(x)
		if t.at(l).leaves < uint32(1)<<treemath.Level(l) {
			x = l
		} else {
			x, _ = treemath.Right(x)
		}
	}
	return LeafIndex(x / 2), true
}

// Add places leaf in the leftmost blank leaf, extending the tree when there
// is none, and adds the new leaf to the unmerged leaves of every non-blank
// parent on its direct path (RFC 9420, Section 12.1.1). It returns the new
// tree and the new member's leaf index; the receiver is unchanged.
func (t *RatchetTree) Add(leaf *LeafNode) (*RatchetTree, LeafIndex, error) {
	if leaf == nil {
		return nil, 0, fmt.Errorf("mls: Add: nil leaf")
	}
	p := newAddPlacer(t)
	l, err := p.place()
	if err != nil {
		return nil, 0, err
	}
	nt, err := t.addLeaves([]*LeafNode{leaf}, []LeafIndex{l}, p.nLeaves)
	if err != nil {
		return nil, 0, err
	}
	return nt, l, nil
}

// Update replaces the LeafNode at l and blanks its direct path (RFC 9420,
// Section 12.1.2). l must be a non-blank leaf.
func (t *RatchetTree) Update(l LeafIndex, leaf *LeafNode) (*RatchetTree, error) {
	if leaf == nil {
		return nil, fmt.Errorf("mls: Update: nil leaf")
	}
	if t.Leaf(l) == nil {
		return nil, nodeErr(CodeInvalidProposal, ruleUpdateLeaf, uint32(l.Node()), fmt.Sprintf("leaf %d is blank or out of range", l), nil)
	}
	e := t.edit()
	e.set(l.Node(), Node{Leaf: leaf})
	e.blankDirectPath(l)
	return e.finish()
}

// Remove blanks leaf l and its direct path, then truncates trailing blank
// right subtrees (RFC 9420, Sections 7.7 and 12.1.3). l must be a non-blank
// leaf.
func (t *RatchetTree) Remove(l LeafIndex) (*RatchetTree, error) {
	if t.Leaf(l) == nil {
		return nil, nodeErr(CodeInvalidProposal, ruleRemoveLeaf, uint32(l.Node()), fmt.Sprintf("leaf %d is blank or out of range", l), nil)
	}
	e := t.edit()
	e.set(l.Node(), Node{})
	e.blankDirectPath(l)
	nt, err := e.finish()
	if err != nil {
		return nil, err
	}
	return nt.truncate(), nil
}

// Rule names used in tree errors.
const (
	ruleUpdateLeaf = "RFC 9420 §12.1.2 Update replaces a non-blank leaf"
	ruleRemoveLeaf = "RFC 9420 §12.1.3 Remove identifies a non-blank leaf"
)
