// Package symtree is the symbolic ratchet tree of the simulator: it tracks,
// for every node of an RFC 9420 ratchet tree, whether it is blank, which
// abstract key it holds, its unmerged leaves and its encoded size, without
// any cryptography.
//
// Keys are opaque 64-bit identifiers: every fresh HPKE key pair (a leaf key
// from a KeyPackage, Update or Commit, a parent node key from an UpdatePath)
// gets a new one. A member "holds" the private key of a node exactly when the
// node is its leaf, or a non-blank ancestor of its leaf that does not list
// the leaf as unmerged (RFC 9420, Sections 4.1 and 7.7). This is all the
// symbolic adversary (package sim) needs to decide which UpdatePath
// ciphertexts it can open.
//
// The tree applies a commit's proposals in the RFC order (Section 12.3:
// Update, Remove, Add) and then its UpdatePath (Sections 7.4, 7.5), and keeps
// aggregate health metrics (blank nodes, unmerged leaves, copath resolution
// sizes, ratchet_tree encoding size) current in O(log n) per changed path.
// Node indices follow package treemath (leaf i = node 2i).
package symtree

import (
	"fmt"
	"slices"

	"github.com/mlslab/mlslab/mls/treemath"
	"github.com/mlslab/mlslab/sim/size"
)

// NoMember marks a blank leaf in Owner.
const NoMember = -1

// Leaf flags: the LeafNodeSource of the current leaf node, and for commits
// whether its parent_hash is non-empty. Parent flag: non-empty parent_hash.
const (
	flagKP      = 1
	flagUpdate  = 2
	flagCommit  = 3
	flagNoPH    = 4 // commit leaf with empty parent hash; parent node with empty parent hash (top of a filtered path)
	flagSrcMask = 3
)

// Tree is a symbolic ratchet tree. The zero value is not usable; use New.
type Tree struct {
	suite   size.Suite
	profile size.Profile

	n        uint32   // number of leaves, a power of two
	key      []uint64 // per node; 0 = blank
	owner    []int32  // per leaf: member id or NoMember
	unmerged [][]uint32
	flags    []uint8
	res      []int32 // |resolution(x)|
	occ      []int32 // non-blank leaves under x
	enc      []int32 // ratchet_tree entry size of a present node, 0 if blank
	pair     []int64 // per parent: res(L)*occ(R) + res(R)*occ(L)

	sumPair         int64
	encTotal        int64
	present         int // non-blank nodes
	unmergedEntries int
	unmergedCnt     []int32 // per leaf: in how many unmerged lists
	unmergedLeaves  int     // leaves with unmergedCnt > 0
	nextKey         uint64

	leafSize [8]int32 // entry sizes by leaf flags
}

// New returns a one-leaf tree whose leaf belongs to founder (the group
// creator, RFC 9420, Section 11) with a fresh key.
func New(s size.Suite, p size.Profile, founder int32) *Tree {
	t := &Tree{suite: s, profile: p, n: 1}
	for f := range t.leafSize {
		switch uint8(f) & flagSrcMask {
		case flagKP:
			t.leafSize[f] = int32(size.LeafNodeEntry(size.LeafNode(s, p, size.SourceKeyPackage)))
		case flagUpdate:
			t.leafSize[f] = int32(size.LeafNodeEntry(size.LeafNode(s, p, size.SourceUpdate)))
		case flagCommit:
			t.leafSize[f] = int32(size.LeafNodeEntry(size.LeafNodeCommit(s, p, uint8(f)&flagNoPH == 0)))
		}
	}
	t.grow(1)
	t.setLeaf(0, founder, flagKP)
	t.fixUp(0)
	return t
}

// NewKey returns a fresh key identifier.
func (t *Tree) NewKey() uint64 { t.nextKey++; return t.nextKey }

func (t *Tree) grow(n uint32) {
	w := int(2*n - 1)
	for len(t.key) < w {
		t.key = append(t.key, 0)
		t.unmerged = append(t.unmerged, nil)
		t.flags = append(t.flags, 0)
		t.res = append(t.res, 0)
		t.occ = append(t.occ, 0)
		t.enc = append(t.enc, 0)
		t.pair = append(t.pair, 0)
	}
	for len(t.owner) < int(n) {
		t.owner = append(t.owner, NoMember)
		t.unmergedCnt = append(t.unmergedCnt, 0)
	}
	t.n = n
}

// Leaves is the number of leaves (a power of two).
func (t *Tree) Leaves() uint32 { return t.n }

// Width is the number of nodes, 2n-1.
func (t *Tree) Width() uint32 { return 2*t.n - 1 }

func (t *Tree) root() treemath.NodeIndex { r, _ := treemath.Root(t.n); return r }

// Owner returns the member at leaf l, or NoMember.
func (t *Tree) Owner(l uint32) int32 {
	if l >= t.n {
		return NoMember
	}
	return t.owner[l]
}

// Key returns the key of node x (0 if blank or outside the tree).
func (t *Tree) Key(x uint32) uint64 {
	if x >= t.Width() {
		return 0
	}
	return t.key[x]
}

// Unmerged returns node x's unmerged leaves (sorted; do not modify).
func (t *Tree) Unmerged(x uint32) []uint32 { return t.unmerged[x] }

// Members is the number of non-blank leaves.
func (t *Tree) Members() int { return int(t.occ[t.root()]) }

func (t *Tree) parentEnc(x treemath.NodeIndex) int32 {
	h := t.suite.Nh
	if t.flags[x]&flagNoPH != 0 {
		h = 0
	}
	return int32(size.ParentNodeEntry(size.ParentNode(t.suite, h, len(t.unmerged[x]))))
}

// setEnc updates the cached entry size of x and the running total.
func (t *Tree) setEnc(x treemath.NodeIndex, e int32) {
	t.encTotal += int64(e - t.enc[x])
	t.enc[x] = e
}

func (t *Tree) setLeaf(l uint32, member int32, flags uint8) {
	x := treemath.LeafIndex(l).Node()
	if t.key[x] == 0 {
		t.present++
	}
	t.owner[l] = member
	t.key[x] = t.NewKey()
	t.flags[x] = flags
	t.setEnc(x, t.leafSize[flags])
}

func (t *Tree) blank(x treemath.NodeIndex) {
	if t.key[x] == 0 {
		return
	}
	t.present--
	t.key[x] = 0
	t.flags[x] = 0
	t.setEnc(x, 0)
	if treemath.IsLeaf(x) {
		t.owner[x/2] = NoMember
	}
	for _, l := range t.unmerged[x] {
		t.unmergedCnt[l]--
		if t.unmergedCnt[l] == 0 {
			t.unmergedLeaves--
		}
	}
	t.unmergedEntries -= len(t.unmerged[x])
	t.unmerged[x] = t.unmerged[x][:0]
}

// recompute refreshes res, occ and pair of x from its own state and children.
func (t *Tree) recompute(x treemath.NodeIndex) {
	if treemath.IsLeaf(x) {
		if t.key[x] != 0 {
			t.res[x], t.occ[x] = 1, 1
		} else {
			t.res[x], t.occ[x] = 0, 0
		}
		return
	}
	l, _ := treemath.Left(x)
	r, _ := treemath.Right(x)
	if t.key[x] != 0 {
		t.res[x] = 1 + int32(len(t.unmerged[x]))
	} else {
		t.res[x] = t.res[l] + t.res[r]
	}
	t.occ[x] = t.occ[l] + t.occ[r]
	p := int64(t.res[l])*int64(t.occ[r]) + int64(t.res[r])*int64(t.occ[l])
	t.sumPair += p - t.pair[x]
	t.pair[x] = p
}

// fixUp recomputes x and all its ancestors.
func (t *Tree) fixUp(x treemath.NodeIndex) {
	for {
		t.recompute(x)
		p, ok := treemath.Parent(x, t.n)
		if !ok {
			return
		}
		x = p
	}
}

// blankDirectPath blanks every ancestor of leaf l (RFC 9420, Sections
// 7.4, 12.1.2, 12.1.3); the caller fixes up.
func (t *Tree) blankDirectPath(l uint32) {
	x := treemath.LeafIndex(l).Node()
	for p := range treemath.DirectPathCopath(x, t.n) {
		t.blank(p)
	}
}

// Update applies an Update proposal from leaf l (RFC 9420, Section
// 12.1.2): a new leaf key (source update) and a blanked direct path.
func (t *Tree) Update(l uint32) {
	t.setLeaf(l, t.owner[l], flagUpdate)
	t.blankDirectPath(l)
	t.fixUp(treemath.LeafIndex(l).Node())
}

// Remove applies a Remove proposal for leaf l (RFC 9420, Section 12.1.3):
// blank the leaf and its direct path. Call Truncate after the last Remove.
func (t *Tree) Remove(l uint32) {
	x := treemath.LeafIndex(l).Node()
	t.blank(x)
	t.blankDirectPath(l)
	t.fixUp(x)
}

// Truncate removes the right subtree while it has no non-blank leaf
// (RFC 9420, Section 12.1.3). The right half is then entirely blank, so
// dropping it changes no aggregate.
func (t *Tree) Truncate() {
	for t.n > 1 {
		r, _ := treemath.Right(t.root())
		if t.occ[r] != 0 {
			return
		}
		t.n /= 2
		w := int(2*t.n - 1)
		t.key, t.unmerged, t.flags = t.key[:w], t.unmerged[:w], t.flags[:w]
		t.res, t.occ, t.enc, t.pair = t.res[:w], t.occ[:w], t.enc[:w], t.pair[:w]
		t.owner, t.unmergedCnt = t.owner[:t.n], t.unmergedCnt[:t.n]
	}
}

// leftmostBlankLeaf returns the leftmost blank leaf, or false if the tree is full.
func (t *Tree) leftmostBlankLeaf() (uint32, bool) {
	x := t.root()
	if int(t.occ[x]) == int(t.n) {
		return 0, false
	}
	for !treemath.IsLeaf(x) {
		l, _ := treemath.Left(x)
		if int(t.occ[l]) < 1<<treemath.Level(l) {
			x = l
		} else {
			x, _ = treemath.Right(x)
		}
	}
	return uint32(x / 2), true
}

// Add applies an Add proposal for member (RFC 9420, Section 12.1.1): the
// leftmost blank leaf, extending the tree if there is none (Section 7.7),
// added to the unmerged list of every non-blank ancestor. It returns the
// leaf index.
func (t *Tree) Add(member int32) uint32 {
	l, ok := t.leftmostBlankLeaf()
	if !ok {
		old := t.n
		t.grow(2 * t.n)
		t.fixUp(t.root())
		l = old
	}
	x := treemath.LeafIndex(l).Node()
	t.setLeaf(l, member, flagKP)
	for p := range treemath.DirectPathCopath(x, t.n) {
		if t.key[p] == 0 {
			continue
		}
		u := t.unmerged[p]
		i, _ := slices.BinarySearch(u, l)
		t.unmerged[p] = slices.Insert(u, i, l)
		t.unmergedEntries++
		t.unmergedCnt[l]++
		if t.unmergedCnt[l] == 1 {
			t.unmergedLeaves++
		}
		t.setEnc(p, t.parentEnc(p))
	}
	t.fixUp(x)
	return l
}

// PathLevel is one node of a committer's filtered direct path.
type PathLevel struct {
	Node, Copath uint32 // the direct-path node and its copath child
	Key          uint64 // the node's new key
	// Ciphertexts is the number of HPKE ciphertexts of its path secret:
	// |resolution(Copath)| minus leaves added by the same commit
	// (RFC 9420, Section 7.6).
	Ciphertexts int
}

// ApplyPath applies the UpdatePath of the committer at leaf l (RFC 9420,
// Sections 7.4 and 7.5): blank the direct path, give every node of the
// filtered direct path a fresh key and empty unmerged list, and give the
// leaf a fresh key (source commit). added lists the leaves added by the same
// commit, sorted, which are excluded from the ciphertext counts. The
// returned levels are bottom-up; dst is reused.
func (t *Tree) ApplyPath(l uint32, added []uint32, dst []PathLevel) []PathLevel {
	x := treemath.LeafIndex(l).Node()
	t.blankDirectPath(l)
	t.fixUp(x) // resolutions below the path are unaffected; this refreshes res of blanked nodes
	dst = dst[:0]
	for p, c := range treemath.DirectPathCopath(x, t.n) {
		if t.res[c] == 0 {
			continue // not on the filtered direct path (Section 4.1.2)
		}
		first, end := treemath.LeafRange(c)
		lo, _ := slices.BinarySearch(added, uint32(first))
		hi, _ := slices.BinarySearch(added, uint32(end))
		t.key[p] = t.NewKey()
		t.present++
		t.flags[p] = 0
		dst = append(dst, PathLevel{Node: uint32(p), Copath: uint32(c), Key: t.key[p], Ciphertexts: int(t.res[c]) - (hi - lo)})
	}
	var leafFlags uint8 = flagCommit
	if len(dst) == 0 {
		leafFlags |= flagNoPH
	} else {
		// The topmost filtered node has an empty parent hash (Section 7.9).
		t.flags[dst[len(dst)-1].Node] = flagNoPH
	}
	for _, pl := range dst {
		t.setEnc(treemath.NodeIndex(pl.Node), t.parentEnc(treemath.NodeIndex(pl.Node)))
	}
	t.setLeaf(l, t.owner[l], leafFlags)
	t.fixUp(x)
	return dst
}

// Holds reports whether the member at leaf l holds the private key of node
// x: x is l's leaf, or a non-blank ancestor not listing l as unmerged.
func (t *Tree) Holds(l uint32, x uint32) bool {
	lx := treemath.LeafIndex(l).Node()
	if uint32(lx) == x {
		return t.key[x] != 0
	}
	if x >= t.Width() || !treemath.InSubtree(lx, treemath.NodeIndex(x)) || t.key[x] == 0 {
		return false
	}
	_, found := slices.BinarySearch(t.unmerged[x], l)
	return !found
}

// KeyRef is a key at a node.
type KeyRef struct {
	Node uint32
	Key  uint64
}

// HeldKeys appends to dst the keys the member at leaf l holds.
func (t *Tree) HeldKeys(l uint32, dst []KeyRef) []KeyRef {
	x := treemath.LeafIndex(l).Node()
	if t.key[x] != 0 {
		dst = append(dst, KeyRef{uint32(x), t.key[x]})
	}
	for p := range treemath.DirectPathCopath(x, t.n) {
		if t.Holds(l, uint32(p)) {
			dst = append(dst, KeyRef{uint32(p), t.key[p]})
		}
	}
	return dst
}

// Current reports whether k is still the key at its node.
func (t *Tree) Current(k KeyRef) bool { return k.Node < t.Width() && t.key[k.Node] == k.Key }

// InResolution reports whether node x is in the resolution of node c
// (RFC 9420, Section 4.1.1): walking down from c towards x, the first
// non-blank node is x, or is an ancestor listing leaf x as unmerged.
func (t *Tree) InResolution(c, x uint32) bool {
	cn, xn := treemath.NodeIndex(c), treemath.NodeIndex(x)
	if c >= t.Width() || x >= t.Width() || !treemath.InSubtree(xn, cn) {
		return false
	}
	n := cn
	for {
		if t.key[n] != 0 {
			if n == xn {
				return true
			}
			if !treemath.IsLeaf(xn) {
				return false
			}
			_, found := slices.BinarySearch(t.unmerged[n], x/2)
			return found
		}
		if n == xn {
			return false
		}
		l, _ := treemath.Left(n)
		if treemath.InSubtree(xn, l) {
			n = l
		} else {
			n, _ = treemath.Right(n)
		}
	}
}

// Resolution returns the size of the resolution of node x.
func (t *Tree) Resolution(x uint32) int { return int(t.res[x]) }

// Stats are the tree-health metrics of the current tree.
type Stats struct {
	Leaves          uint32 // leaf count (power of two)
	Members         int    // non-blank leaves
	BlankNodes      int    // blank nodes among the 2n-1
	BlankParents    int    // blank parent nodes
	UnmergedLeaves  int    // distinct leaves unmerged at some node
	UnmergedEntries int    // total length of all unmerged lists
	// CopathResolutionSum is the sum over members of the resolution sizes
	// of their copath nodes: the number of UpdatePath ciphertexts each would
	// send if it committed now (ignoring leaves added in that commit).
	CopathResolutionSum int64
	// RatchetTreeBytes is the encoded ratchet_tree vector (RFC 9420,
	// Section 12.4.3.3), trailing blank nodes omitted, without the extension
	// header: vector<V> of optional<Node>.
	RatchetTreeBytes int
	// OccupiedNodes is 2R+1 for the rightmost non-blank leaf R: the nodes
	// of the array tree up to and including that leaf, i.e. the tree
	// without its unused right part (0 for an empty tree).
	// OccupiedBlankNodes is the number of blank nodes among them.
	OccupiedNodes, OccupiedBlankNodes int
}

// MeanCopathResolution is CopathResolutionSum / Members.
func (s Stats) MeanCopathResolution() float64 {
	if s.Members == 0 {
		return 0
	}
	return float64(s.CopathResolutionSum) / float64(s.Members)
}

// Stats returns the current metrics in O(log n).
func (t *Tree) Stats() Stats {
	r := t.root()
	members := int(t.occ[r])
	presentLeaves := members
	s := Stats{
		Leaves: t.n, Members: members,
		BlankNodes:          int(t.Width()) - t.present,
		BlankParents:        int(t.n-1) - (t.present - presentLeaves),
		UnmergedLeaves:      t.unmergedLeaves,
		UnmergedEntries:     t.unmergedEntries,
		CopathResolutionSum: t.sumPair,
	}
	s.RatchetTreeBytes = t.ratchetTreeBytes()
	if members > 0 {
		// Nodes right of leaf R's node are blank except R's ancestors
		// that lie to its right (a parent with no member below it is
		// blank: removing a member blanks its direct path), so the
		// present nodes beyond 2R are found on R's direct path.
		x := treemath.NodeIndex(2 * t.rightmostMember())
		s.OccupiedNodes = int(x) + 1
		beyond := 0
		for p, ok := treemath.Parent(x, t.n); ok; p, ok = treemath.Parent(p, t.n) {
			if p > x && t.key[p] != 0 {
				beyond++
			}
		}
		s.OccupiedBlankNodes = s.OccupiedNodes - (t.present - beyond)
	}
	return s
}

// RightmostMember returns the rightmost non-blank leaf (0 if none).
func (t *Tree) rightmostMember() uint32 {
	x := t.root()
	if t.occ[x] == 0 {
		return 0
	}
	for !treemath.IsLeaf(x) {
		r, _ := treemath.Right(x)
		if t.occ[r] > 0 {
			x = r
		} else {
			x, _ = treemath.Left(x)
		}
	}
	return uint32(x / 2)
}

func (t *Tree) ratchetTreeBytes() int {
	// Every non-blank node lies at or before the rightmost non-blank leaf:
	// a parent right of it has only blank leaves below and is blank.
	prefix := 2*int(t.rightmostMember()) + 1
	body := int(t.encTotal) + (prefix - t.present)
	return size.Opaque(body)
}

// Check verifies every cached value against a recomputation from scratch
// and returns the first mismatch. It is O(n log n); tests use it.
func (t *Tree) Check() error {
	w := int(t.Width())
	if len(t.key) != w || len(t.owner) != int(t.n) {
		return fmt.Errorf("symtree: array sizes %d/%d for %d leaves", len(t.key), len(t.owner), t.n)
	}
	var resolution func(x treemath.NodeIndex) int
	resolution = func(x treemath.NodeIndex) int {
		if t.key[x] != 0 {
			return 1 + len(t.unmerged[x])
		}
		if treemath.IsLeaf(x) {
			return 0
		}
		l, _ := treemath.Left(x)
		r, _ := treemath.Right(x)
		return resolution(l) + resolution(r)
	}
	present, entries, enc := 0, 0, 0
	cnt := make([]int, t.n)
	var sum int64
	for x := range w {
		n := treemath.NodeIndex(x)
		if t.key[x] != 0 {
			present++
			if treemath.IsLeaf(n) {
				enc += int(t.leafSize[t.flags[x]])
			} else {
				enc += int(t.parentEnc(n))
			}
		}
		if got, want := int(t.res[x]), resolution(n); got != want {
			return fmt.Errorf("symtree: res[%d] = %d, want %d", x, got, want)
		}
		if treemath.IsLeaf(n) {
			if (t.key[x] != 0) != (t.owner[x/2] != NoMember) {
				return fmt.Errorf("symtree: leaf %d key/owner mismatch", x/2)
			}
			continue
		}
		for i, l := range t.unmerged[x] {
			if i > 0 && t.unmerged[x][i-1] >= l {
				return fmt.Errorf("symtree: unmerged[%d] not sorted", x)
			}
			first, end := treemath.LeafRange(n)
			if treemath.LeafIndex(l) < first || treemath.LeafIndex(l) >= end {
				return fmt.Errorf("symtree: unmerged leaf %d not under %d", l, x)
			}
			cnt[l]++
			entries++
		}
	}
	// copath resolution sum by brute force over members
	for l := range t.n {
		if t.owner[l] == NoMember {
			continue
		}
		for _, c := range treemath.Copath(treemath.LeafIndex(l).Node(), t.n) {
			sum += int64(resolution(c))
		}
	}
	distinct := 0
	for l, c := range cnt {
		if c > 0 {
			distinct++
		}
		if c != int(t.unmergedCnt[l]) {
			return fmt.Errorf("symtree: unmergedCnt[%d] = %d, want %d", l, t.unmergedCnt[l], c)
		}
	}
	switch {
	case present != t.present:
		return fmt.Errorf("symtree: present = %d, want %d", t.present, present)
	case entries != t.unmergedEntries:
		return fmt.Errorf("symtree: unmergedEntries = %d, want %d", t.unmergedEntries, entries)
	case distinct != t.unmergedLeaves:
		return fmt.Errorf("symtree: unmergedLeaves = %d, want %d", t.unmergedLeaves, distinct)
	case int64(enc) != t.encTotal:
		return fmt.Errorf("symtree: encTotal = %d, want %d", t.encTotal, enc)
	case sum != t.sumPair:
		return fmt.Errorf("symtree: copath resolution sum = %d, want %d", t.sumPair, sum)
	}
	// trailing nodes after the rightmost member must be blank
	for x := 2*int(t.rightmostMember()) + 1; x < w; x++ {
		if t.key[x] != 0 {
			return fmt.Errorf("symtree: non-blank node %d after the rightmost member", x)
		}
	}
	return nil
}

// EstimatePath returns, without changing the tree, the filtered direct path
// the member at leaf l would produce if it committed now with no other
// proposals (used to size rejected commits).
func (t *Tree) EstimatePath(l uint32, dst []PathLevel) []PathLevel {
	x := treemath.LeafIndex(l).Node()
	for p, c := range treemath.DirectPathCopath(x, t.n) {
		if t.res[c] == 0 {
			continue
		}
		dst = append(dst, PathLevel{Node: uint32(p), Copath: uint32(c), Ciphertexts: int(t.res[c])})
	}
	return dst
}
