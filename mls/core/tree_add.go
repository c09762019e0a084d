package core

import (
	"fmt"
	"slices"

	"github.com/mlslab/mlslab/mls/treemath"
)

// A commit's Adds (RFC 9420, Section 12.1.1) apply one after another: each
// KeyPackage is validated against the tree with the earlier Adds in it, then
// placed in that tree's leftmost blank leaf. Building each intermediate tree
// costs O(k) per Add once k Adds sit under one non-blank parent (its
// unmerged-leaves list is copied and rehashed each time), i.e. O(k^2) for a
// commit an attacker can fill with ~250 000 Adds. So the Adds are validated
// against addScope (the tree before them plus the leaves validated so far),
// placed by addPlacer, and added in one edit (addLeaves): O(k log n).

// addPlacer places Adds one after another as RFC 9420, Section 12.1.1
// applies them: each in the leftmost blank leaf of the tree with the
// earlier ones added, the tree extended (Section 7.7) when it has none. The
// earlier Adds fill the blank leaves of t from the left, so the places are
// t's blank leaves in order, then the leaves from t.nLeaves on, the tree
// doubling each time they reach its width. O(log n) per place.
type addPlacer struct {
	t       *RatchetTree
	nLeaves uint32    // width of the tree with the Adds placed so far
	next    LeafIndex // no blank leaf of that tree lies left of next
}

func newAddPlacer(t *RatchetTree) *addPlacer { return &addPlacer{t: t, nLeaves: t.nLeaves} }

// peek returns where the next Add goes; grow says the tree must first
// extend (it has no blank leaf).
func (p *addPlacer) peek() (l LeafIndex, grow bool) {
	if uint32(p.next) < p.t.nLeaves {
		if l, ok := p.t.blankLeafFrom(p.next); ok {
			return l, false
		}
		p.next = LeafIndex(p.t.nLeaves)
	}
	return p.next, uint32(p.next) >= p.nLeaves
}

// place takes the next place, extending the tree when it has no blank leaf.
func (p *addPlacer) place() (LeafIndex, error) {
	l, grow := p.peek()
	if grow {
		if p.nLeaves >= treemath.MaxLeaves {
			return 0, fmt.Errorf("mls: ratchet tree cannot grow beyond %d leaves", treemath.MaxLeaves)
		}
		p.nLeaves *= 2
	}
	p.next = l + 1
	return l, nil
}

// blankLeafFrom returns the leftmost blank leaf at or after from.
func (t *RatchetTree) blankLeafFrom(from LeafIndex) (LeafIndex, bool) {
	if uint32(from) >= t.nLeaves {
		return 0, false
	}
	return t.blankLeafIn(t.root(), from)
}

// blankLeafIn is blankLeafFrom within the subtree rooted at x: full
// subtrees and those left of from are skipped whole.
func (t *RatchetTree) blankLeafIn(x NodeIndex, from LeafIndex) (LeafIndex, bool) {
	width := uint32(1) << treemath.Level(x)
	first := (uint32(x) + 1 - width) / 2 // leftmost leaf below x
	if first+width <= uint32(from) || t.at(x).leaves == width {
		return 0, false
	}
	if treemath.IsLeaf(x) {
		return LeafIndex(x / 2), true
	}
	l, _ := treemath.Left(x)
	if y, ok := t.blankLeafIn(l, from); ok {
		return y, true
	}
	r, _ := treemath.Right(x)
	return t.blankLeafIn(r, from)
}

// addLeaves returns t with leaves[i] at leaf at[i], at strictly
// increasing as addPlacer gives them for a tree nLeaves wide, and each
// added leaf in the unmerged leaves of every non-blank parent on its
// direct path (RFC 9420, Section 12.1.1): the result of adding them one
// after another, built in one edit, so that each changed node is rehashed
// and each unmerged-leaves list rebuilt once (k Adds under one parent:
// O(k), not O(k^2)). An extension's new roots are blank, so a leaf's
// direct path in the final tree has the same non-blank parents as in the
// tree it was added to.
func (t *RatchetTree) addLeaves(leaves []*LeafNode, at []LeafIndex, nLeaves uint32) (*RatchetTree, error) {
	c := len(t.chunks)
	for n := t.nLeaves; n < nLeaves; n *= 2 {
		c *= 2 // extend appends as many chunks
	}
	e := t.editCap(c)
	for e.t.nLeaves < nLeaves {
		if err := e.extend(); err != nil {
			return nil, err
		}
	}
	unmerged := map[NodeIndex][]LeafIndex{}
	for i, l := range at {
		e.set(l.Node(), Node{Leaf: leaves[i]})
		for _, p := range treemath.DirectPath(l.Node(), e.t.nLeaves) {
			if e.get(p).Parent != nil {
				unmerged[p] = append(unmerged[p], l) // increasing, as at
			}
		}
	}
	for p, ls := range unmerged {
		np := *e.get(p).Parent
		np.UnmergedLeaves = mergeSorted(np.UnmergedLeaves, ls)
		e.set(p, Node{Parent: &np})
	}
	return e.finish()
}

// mergeSorted returns a new sorted slice with the elements of the sorted
// slices a and b, each once.
func mergeSorted(a, b []LeafIndex) []LeafIndex {
	out := make([]LeafIndex, 0, len(a)+len(b))
	for len(a) > 0 || len(b) > 0 {
		var v LeafIndex
		switch {
		case len(b) == 0 || (len(a) > 0 && a[0] < b[0]):
			v, a = a[0], a[1:]
		case len(a) == 0 || b[0] < a[0]:
			v, b = b[0], b[1:]
		default:
			v, a, b = a[0], a[1:], b[1:]
		}
		if n := len(out); n == 0 || out[n-1] != v {
			out = append(out, v)
		}
	}
	return out
}

// leafScope is what validateLeafNode checks a LeafNode against: a tree, or
// a tree with a commit's earlier Adds in it (addScope).
type leafScope interface {
	Leaf(l LeafIndex) *LeafNode
	CheckCredentialSupport(ln *LeafNode, except LeafIndex) error
	ContainsEncryptionKey(key []byte) (NodeIndex, bool)
	ContainsSignatureKey(key []byte, except LeafIndex) (LeafIndex, bool)
}

// addScope is the tree t with the leaves of a commit's Adds added so far,
// as leafScope sees it, and where the next one goes. The leaves are not in
// t: build the tree with addLeaves(s.leaves, s.at, s.place.nLeaves).
type addScope struct {
	t      *RatchetTree
	place  *addPlacer
	leaves []*LeafNode
	at     []LeafIndex
	enc    map[string]NodeIndex // encryption keys of the added leaves
	sig    map[string]LeafIndex // signature keys of the added leaves
	// Credential summary of the added leaves (credentialSummary).
	used, all uint8
}

func newAddScope(t *RatchetTree, k int) *addScope {
	k = min(k, 1024) // grown on demand: k is attacker-sized
	return &addScope{t: t, place: newAddPlacer(t), enc: make(map[string]NodeIndex, k), sig: make(map[string]LeafIndex, k), all: credAllBits}
}

// hasBlank reports whether the tree with the leaves added so far has a
// blank leaf (checkGrowth's question).
func (s *addScope) hasBlank() bool {
	_, grow := s.place.peek()
	return !grow
}

// numLeaves is the width of the tree with the leaves added so far.
func (s *addScope) numLeaves() uint32 { return s.place.nLeaves }

// add places ln in the next place and returns its leaf index.
func (s *addScope) add(ln *LeafNode) (LeafIndex, error) {
	l, err := s.place.place()
	if err != nil {
		return 0, err
	}
	s.leaves = append(s.leaves, ln)
	s.at = append(s.at, l)
	if _, dup := s.enc[string(ln.EncryptionKey)]; !dup {
		s.enc[string(ln.EncryptionKey)] = l.Node()
	}
	if _, dup := s.sig[string(ln.SignatureKey)]; !dup {
		s.sig[string(ln.SignatureKey)] = l
	}
	used, all := leafCredentials(ln)
	s.used |= used
	s.all &= all
	return l, nil
}

// tree returns t with the added leaves.
func (s *addScope) tree() (*RatchetTree, error) {
	if len(s.leaves) == 0 {
		return s.t, nil
	}
	return s.t.addLeaves(s.leaves, s.at, s.place.nLeaves)
}

func (s *addScope) Leaf(l LeafIndex) *LeafNode {
	if i, ok := slices.BinarySearch(s.at, l); ok {
		return s.leaves[i]
	}
	return s.t.Leaf(l)
}

// CheckCredentialSupport: except must not be an added leaf (an Add replaces
// none); t's summary without except, with the added leaves'.
func (s *addScope) CheckCredentialSupport(ln *LeafNode, except LeafIndex) error {
	used, all := s.t.credentialSummary(except)
	return checkCredentialSupport(ln, used|s.used, all&s.all)
}

func (s *addScope) ContainsEncryptionKey(key []byte) (NodeIndex, bool) {
	if x, ok := s.t.ContainsEncryptionKey(key); ok {
		return x, true
	}
	x, ok := s.enc[string(key)]
	return x, ok
}

func (s *addScope) ContainsSignatureKey(key []byte, except LeafIndex) (LeafIndex, bool) {
	if l, ok := s.t.ContainsSignatureKey(key, except); ok {
		return l, true
	}
	l, ok := s.sig[string(key)]
	return l, ok && l != except
}
