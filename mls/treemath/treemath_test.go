package treemath

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// refTree is a brute-force model of a complete tree with explicit links,
// built independently of the index arithmetic: nodes are numbered by an
// in-order traversal, which is how Appendix C lays a tree out in an array.
type refTree struct {
	nLeaves     uint32
	root        int
	parent      []int // -1 for the root
	left, right []int // -1 for leaves
	level       []uint32
	leaves      [][2]uint32 // [first, end) leaf range per node
	nodes       [][2]int    // [first, end) node range per node
}

func newRefTree(nLeaves uint32) *refTree {
	w := int(2*nLeaves - 1)
	r := &refTree{
		nLeaves: nLeaves,
		parent:  make([]int, w),
		left:    make([]int, w),
		right:   make([]int, w),
		level:   make([]uint32, w),
		leaves:  make([][2]uint32, w),
		nodes:   make([][2]int, w),
	}
	next, leaf := 0, uint32(0)
	// build creates the subtree over `size` leaves and returns its root.
	var build func(size uint32, height uint32) int
	build = func(size, height uint32) int {
		firstNode, firstLeaf := next, leaf
		if size == 1 {
			x := next
			next++
			leaf++
			r.left[x], r.right[x], r.level[x] = -1, -1, 0
			r.leaves[x] = [2]uint32{firstLeaf, leaf}
			r.nodes[x] = [2]int{firstNode, next}
			return x
		}
		l := build(size/2, height-1)
		x := next
		next++
		rt := build(size/2, height-1)
		r.left[x], r.right[x], r.level[x] = l, rt, height
		r.parent[l], r.parent[rt] = x, x
		r.leaves[x] = [2]uint32{firstLeaf, leaf}
		r.nodes[x] = [2]int{firstNode, next}
		return x
	}
	height := uint32(0)
	for 1<<height < nLeaves {
		height++
	}
	r.root = build(nLeaves, height)
	r.parent[r.root] = -1
	return r
}

func (r *refTree) directPath(x int) []NodeIndex {
	out := []NodeIndex{}
	for p := r.parent[x]; p >= 0; p = r.parent[p] {
		out = append(out, NodeIndex(p))
	}
	return out
}

func (r *refTree) sibling(x int) int {
	p := r.parent[x]
	if p < 0 {
		return -1
	}
	if r.left[p] == x {
		return r.right[p]
	}
	return r.left[p]
}

func (r *refTree) copath(x int) []NodeIndex {
	out := []NodeIndex{}
	for y := x; r.parent[y] >= 0; y = r.parent[y] {
		out = append(out, NodeIndex(r.sibling(y)))
	}
	return out
}

// commonAncestor is RFC 9420 Appendix C's common_ancestor_semantic: the
// lowest node in both {x} ∪ direct_path(x) and {y} ∪ direct_path(y).
func (r *refTree) commonAncestor(x, y int) int {
	onX := map[int]bool{}
	for a := x; a >= 0; a = r.parent[a] {
		onX[a] = true
	}
	for a := y; a >= 0; a = r.parent[a] {
		if onX[a] {
			return a
		}
	}
	panic("no common ancestor")
}

func opt(x int) (NodeIndex, bool) {
	if x < 0 {
		return 0, false
	}
	return NodeIndex(x), true
}

func TestAgainstReference(t *testing.T) {
	for d := range 9 {
		nLeaves := uint32(1) << d
		t.Run(fmt.Sprintf("n_leaves=%d", nLeaves), func(t *testing.T) {
			r := newRefTree(nLeaves)
			w := len(r.parent)
			if got := NodeWidth(nLeaves); got != uint32(w) {
				t.Fatalf("NodeWidth = %d, want %d", got, w)
			}
			if got, ok := Root(nLeaves); !ok || got != NodeIndex(r.root) {
				t.Fatalf("Root = %d, %v; want %d", got, ok, r.root)
			}
			if got, ok := LeafCountForWidth(uint32(w)); !ok || got != nLeaves {
				t.Errorf("LeafCountForWidth(%d) = %d, %v; want %d", w, got, ok, nLeaves)
			}
			var buf [MaxDepth]NodeIndex
			for xi := range w {
				x := NodeIndex(xi)
				check := func(name string, got NodeIndex, gotOK bool, want int) {
					t.Helper()
					wantX, wantOK := opt(want)
					if got != wantX || gotOK != wantOK {
						t.Errorf("%s(%d) = %d, %v; want %d, %v", name, x, got, gotOK, wantX, wantOK)
					}
				}
				if !InTree(x, nLeaves) {
					t.Errorf("InTree(%d) = false", x)
				}
				if got := Level(x); got != r.level[xi] {
					t.Errorf("Level(%d) = %d, want %d", x, got, r.level[xi])
				}
				if got := IsLeaf(x); got != (r.level[xi] == 0) {
					t.Errorf("IsLeaf(%d) = %v", x, got)
				}
				l, lok := Left(x)
				check("Left", l, lok, r.left[xi])
				rr, rok := Right(x)
				check("Right", rr, rok, r.right[xi])
				p, pok := Parent(x, nLeaves)
				check("Parent", p, pok, r.parent[xi])
				s, sok := Sibling(x, nLeaves)
				check("Sibling", s, sok, r.sibling(xi))

				dp, cp := r.directPath(xi), r.copath(xi)
				if got := DirectPath(x, nLeaves); got == nil || !slices.Equal(got, dp) {
					t.Errorf("DirectPath(%d) = %v, want %v", x, got, dp)
				}
				if got := Copath(x, nLeaves); got == nil || !slices.Equal(got, cp) {
					t.Errorf("Copath(%d) = %v, want %v", x, got, cp)
				}
				prefix := []NodeIndex{7, 7}
				if got := AppendDirectPath(prefix, x, nLeaves); !slices.Equal(got, append(slices.Clone(prefix), dp...)) {
					t.Errorf("AppendDirectPath(%d) = %v", x, got)
				}
				if got := AppendCopath(prefix, x, nLeaves); !slices.Equal(got, append(slices.Clone(prefix), cp...)) {
					t.Errorf("AppendCopath(%d) = %v", x, got)
				}
				if got := AppendDirectPath(buf[:0], x, nLeaves); !slices.Equal(got, dp) {
					t.Errorf("AppendDirectPath(buf, %d) = %v", x, got)
				}
				var gotP, gotC []NodeIndex
				for p, c := range DirectPathCopath(x, nLeaves) {
					gotP, gotC = append(gotP, p), append(gotC, c)
				}
				if !slices.Equal(gotP, dp) || !slices.Equal(gotC, cp) {
					t.Errorf("DirectPathCopath(%d) = %v, %v; want %v, %v", x, gotP, gotC, dp, cp)
				}

				if lf, ok := x.Leaf(); ok != IsLeaf(x) || (ok && (lf != LeafIndex(xi/2) || lf.Node() != x)) {
					t.Errorf("NodeIndex(%d).Leaf() = %d, %v", x, lf, ok)
				}
				first, end := LeafRange(x)
				if [2]uint32{uint32(first), uint32(end)} != r.leaves[xi] {
					t.Errorf("LeafRange(%d) = [%d, %d), want %v", x, first, end, r.leaves[xi])
				}
				nf, ne := NodeRange(x)
				if [2]int{int(nf), int(ne)} != r.nodes[xi] {
					t.Errorf("NodeRange(%d) = [%d, %d), want %v", x, nf, ne, r.nodes[xi])
				}
				for yi := range w {
					y := NodeIndex(yi)
					want := r.commonAncestor(xi, yi)
					if got, ok := CommonAncestor(x, y); !ok || got != NodeIndex(want) {
						t.Fatalf("CommonAncestor(%d, %d) = %d, %v; want %d", x, y, got, ok, want)
					}
					if got := InSubtree(y, x); got != (r.commonAncestor(xi, yi) == xi) {
						t.Fatalf("InSubtree(%d, %d) = %v", y, x, got)
					}
				}
			}
			// Nodes just outside the tree.
			for _, x := range []NodeIndex{NodeIndex(w), NodeIndex(w + 1), NoNode} {
				if InTree(x, nLeaves) {
					t.Errorf("InTree(%d) = true", x)
				}
				if _, ok := Parent(x, nLeaves); ok {
					t.Errorf("Parent(%d) ok outside the tree", x)
				}
				if _, ok := Sibling(x, nLeaves); ok {
					t.Errorf("Sibling(%d) ok outside the tree", x)
				}
				if DirectPath(x, nLeaves) != nil || Copath(x, nLeaves) != nil {
					t.Errorf("DirectPath/Copath(%d) non-nil outside the tree", x)
				}
			}
		})
	}
}

func TestInvalidLeafCounts(t *testing.T) {
	for _, n := range []uint32{0, 3, 5, 6, 7, 12, 1000, 1<<31 - 1, 1<<31 + 1, 3 << 30, math.MaxUint32} {
		if ValidLeafCount(n) {
			t.Errorf("ValidLeafCount(%d) = true", n)
		}
		if _, ok := Root(n); ok {
			t.Errorf("Root(%d) ok", n)
		}
		for _, x := range []NodeIndex{0, 1, 2, 3, NodeIndex(n / 2), NoNode - 1} {
			if InTree(x, n) {
				t.Errorf("InTree(%d, %d) = true", x, n)
			}
			if _, ok := Parent(x, n); ok {
				t.Errorf("Parent(%d, %d) ok", x, n)
			}
			if _, ok := Sibling(x, n); ok {
				t.Errorf("Sibling(%d, %d) ok", x, n)
			}
			if DirectPath(x, n) != nil || Copath(x, n) != nil {
				t.Errorf("DirectPath/Copath(%d, %d) non-nil", x, n)
			}
			if got := AppendDirectPath(nil, x, n); got != nil {
				t.Errorf("AppendDirectPath(nil, %d, %d) = %v", x, n, got)
			}
			for range DirectPathCopath(x, n) {
				t.Errorf("DirectPathCopath(%d, %d) yielded", x, n)
			}
		}
	}
	for d := range 32 {
		if n := uint32(1) << d; !ValidLeafCount(n) {
			t.Errorf("ValidLeafCount(%d) = false", n)
		}
	}
	// NodeWidth is the RFC formula for every count up to MaxLeaves.
	for _, tc := range []struct{ n, want uint32 }{
		{0, 0}, {1, 1}, {2, 3}, {3, 5}, {5, 9}, {1 << 30, 1<<31 - 1},
		{1<<31 - 1, 1<<32 - 3}, {1 << 31, 1<<32 - 1}, {1<<31 + 1, 0}, {math.MaxUint32, 0},
	} {
		if got := NodeWidth(tc.n); got != tc.want {
			t.Errorf("NodeWidth(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}

func TestLeafCountForWidth(t *testing.T) {
	if _, ok := LeafCountForWidth(0); ok {
		t.Error("LeafCountForWidth(0) ok")
	}
	// Brute force: the smallest power of two whose width covers w.
	for w := uint32(1); w < 2000; w++ {
		want := uint32(1)
		for NodeWidth(want) < w {
			want *= 2
		}
		if got, ok := LeafCountForWidth(w); !ok || got != want {
			t.Fatalf("LeafCountForWidth(%d) = %d, %v; want %d", w, got, ok, want)
		}
	}
	for _, tc := range []struct{ w, want uint32 }{
		{1<<31 - 1, 1 << 30}, {1 << 31, 1 << 31}, {1<<32 - 2, 1 << 31}, {1<<32 - 1, 1 << 31},
	} {
		if got, ok := LeafCountForWidth(tc.w); !ok || got != tc.want {
			t.Errorf("LeafCountForWidth(%d) = %d, %v; want %d", tc.w, got, ok, tc.want)
		}
	}
}

func TestLeafIndexNode(t *testing.T) {
	for _, tc := range []struct {
		l    LeafIndex
		want NodeIndex
	}{
		{0, 0}, {1, 2}, {5, 10}, {1<<31 - 1, 1<<32 - 2},
		{1 << 31, NoNode}, {1<<31 + 1, NoNode}, {math.MaxUint32, NoNode},
	} {
		if got := tc.l.Node(); got != tc.want {
			t.Errorf("LeafIndex(%d).Node() = %d, want %d", tc.l, got, tc.want)
		}
	}
	for _, x := range []NodeIndex{1, 3, 1<<31 - 1, NoNode} {
		if _, ok := x.Leaf(); ok {
			t.Errorf("NodeIndex(%d).Leaf() ok", x)
		}
	}
	if l, ok := NodeIndex(1<<32 - 2).Leaf(); !ok || l != 1<<31-1 {
		t.Errorf("NodeIndex(2^32-2).Leaf() = %d, %v", l, ok)
	}
}

// TestMaxTree checks the largest tree, 2^31 leaves and 2^32-1 nodes, where
// any intermediate overflow of uint32 arithmetic would show.
func TestMaxTree(t *testing.T) {
	const n = MaxLeaves
	const root = NodeIndex(1<<31 - 1)
	const last = NodeIndex(1<<32 - 2) // leaf 2^31-1
	if got := NodeWidth(n); got != math.MaxUint32 {
		t.Fatalf("NodeWidth = %d", got)
	}
	if got, ok := Root(n); !ok || got != root {
		t.Fatalf("Root = %d, %v", got, ok)
	}
	if got := Level(root); got != 31 {
		t.Errorf("Level(root) = %d", got)
	}
	if got := Level(NoNode); got != 32 {
		t.Errorf("Level(NoNode) = %d", got)
	}
	if !InTree(last, n) || InTree(NoNode, n) {
		t.Error("InTree wrong at the right edge")
	}
	eq := func(name string, got NodeIndex, ok bool, want NodeIndex) {
		t.Helper()
		if !ok || got != want {
			t.Errorf("%s = %d, %v; want %d", name, got, ok, want)
		}
	}
	l, ok := Left(root)
	eq("Left(root)", l, ok, 1<<30-1)
	r, ok := Right(root)
	eq("Right(root)", r, ok, 3<<30-1)
	p, ok := Parent(last, n)
	eq("Parent(last)", p, ok, last-1)
	s, ok := Sibling(last, n)
	eq("Sibling(last)", s, ok, last-2)
	p, ok = Parent(r, n)
	eq("Parent(Right(root))", p, ok, root)
	s, ok = Sibling(r, n)
	eq("Sibling(Right(root))", s, ok, 1<<30-1)
	if _, ok := Parent(root, n); ok {
		t.Error("Parent(root) ok")
	}
	if _, ok := Sibling(root, n); ok {
		t.Error("Sibling(root) ok")
	}
	for _, x := range []NodeIndex{NoNode} {
		for name, f := range map[string]func(NodeIndex) (NodeIndex, bool){
			"Left": Left, "Right": Right,
			"Parent":  func(x NodeIndex) (NodeIndex, bool) { return Parent(x, n) },
			"Sibling": func(x NodeIndex) (NodeIndex, bool) { return Sibling(x, n) },
		} {
			if got, ok := f(x); ok {
				t.Errorf("%s(NoNode) = %d, ok", name, got)
			}
		}
	}

	// The direct path of the last leaf is 2^32-3, 2^32-5, 2^32-9, ...: each
	// ancestor is the right-most node of its level; the copath of the last
	// leaf are the left siblings.
	dp := DirectPath(last, n)
	cp := Copath(last, n)
	if len(dp) != MaxDepth || len(cp) != MaxDepth {
		t.Fatalf("len(DirectPath) = %d, len(Copath) = %d; want 31", len(dp), len(cp))
	}
	for i := range MaxDepth - 1 {
		want := NodeIndex(uint64(1)<<32 - 1 - uint64(1)<<(i+1))
		if dp[i] != want {
			t.Errorf("DirectPath(last)[%d] = %d, want %d", i, dp[i], want)
		}
	}
	if dp[MaxDepth-1] != root {
		t.Errorf("DirectPath(last) ends at %d", dp[MaxDepth-1])
	}
	for i, c := range cp {
		// The copath node at step i is the sibling of the path node one
		// level down: same level, left of it.
		below := last
		if i > 0 {
			below = dp[i-1]
		}
		if Level(c) != uint32(i) || c != below-NodeIndex(uint64(1)<<(i+1)) {
			t.Errorf("Copath(last)[%d] = %d (below %d)", i, c, below)
		}
	}
	// Leaf 0 goes up the left edge: 1, 3, 7, ..., 2^31-1.
	dp0 := DirectPath(0, n)
	for i, x := range dp0 {
		if x != NodeIndex(uint64(1)<<(i+1)-1) {
			t.Errorf("DirectPath(0)[%d] = %d", i, x)
		}
	}
	var cnt int
	for p, c := range DirectPathCopath(last, n) {
		if p != dp[cnt] || c != cp[cnt] {
			t.Errorf("DirectPathCopath step %d = (%d, %d)", cnt, p, c)
		}
		cnt++
	}
	if cnt != MaxDepth {
		t.Errorf("DirectPathCopath yielded %d steps", cnt)
	}

	ca, ok := CommonAncestor(0, last)
	eq("CommonAncestor(0, last)", ca, ok, root)
	ca, ok = CommonAncestor(last, last-2)
	eq("CommonAncestor(last, last-2)", ca, ok, last-1)
	ca, ok = CommonAncestor(root, last)
	eq("CommonAncestor(root, last)", ca, ok, root)
	ca, ok = CommonAncestor(last, last)
	eq("CommonAncestor(last, last)", ca, ok, last)
	ca, ok = CommonAncestor(1<<31, 1<<31-2) // leaves 2^30 and 2^30-1
	eq("CommonAncestor(2^31, 2^31-2)", ca, ok, root)
	if _, ok := CommonAncestor(NoNode, 0); ok {
		t.Error("CommonAncestor(NoNode, 0) ok")
	}
	if _, ok := CommonAncestor(5, NoNode); ok {
		t.Error("CommonAncestor(5, NoNode) ok")
	}

	if f, e := LeafRange(root); f != 0 || e != 1<<31 {
		t.Errorf("LeafRange(root) = [%d, %d)", f, e)
	}
	if f, e := LeafRange(r); f != 1<<30 || e != 1<<31 {
		t.Errorf("LeafRange(Right(root)) = [%d, %d)", f, e)
	}
	if f, e := LeafRange(last); f != 1<<31-1 || e != 1<<31 {
		t.Errorf("LeafRange(last) = [%d, %d)", f, e)
	}
	if f, e := NodeRange(root); f != 0 || e != NoNode {
		t.Errorf("NodeRange(root) = [%d, %d)", f, e)
	}
	if f, e := NodeRange(r); f != 1<<31 || e != NoNode {
		t.Errorf("NodeRange(Right(root)) = [%d, %d)", f, e)
	}
	if f, e := LeafRange(NoNode); f != e {
		t.Errorf("LeafRange(NoNode) = [%d, %d), want empty", f, e)
	}
	if f, e := NodeRange(NoNode); f != e {
		t.Errorf("NodeRange(NoNode) = [%d, %d), want empty", f, e)
	}
	if !InSubtree(last, root) || !InSubtree(last, r) || InSubtree(last, l) || InSubtree(NoNode, root) {
		t.Error("InSubtree wrong at the right edge")
	}
}

// TestInvariantsRandom checks structural invariants on random nodes of
// random trees up to the largest, plus edge values of uint32, so every
// function sees arbitrary inputs.
func TestInvariantsRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	edges := []uint32{0, 1, 2, 3, 1<<31 - 2, 1<<31 - 1, 1 << 31, 1<<31 + 1, 1<<32 - 3, 1<<32 - 2, 1<<32 - 1}
	for i := range 20000 {
		var x, y, n uint32
		if i < len(edges)*len(edges) {
			x, y = edges[i%len(edges)], edges[i/len(edges)]
		} else {
			x, y = rng.Uint32(), rng.Uint32()
		}
		switch i % 3 {
		case 0:
			n = 1 << rng.IntN(32)
		case 1:
			n = edges[rng.IntN(len(edges))]
		default:
			n = rng.Uint32()
		}
		if err := checkInvariants(NodeIndex(x), NodeIndex(y), n); err != nil {
			t.Fatalf("x=%d y=%d n=%d: %v", x, y, n, err)
		}
	}
}

// FuzzTreeMath: no input panics and the invariants hold.
func FuzzTreeMath(f *testing.F) {
	f.Add(uint32(0), uint32(0), uint32(1))
	f.Add(uint32(5), uint32(9), uint32(8))
	f.Add(uint32(1<<32-2), uint32(0), uint32(1<<31))
	f.Add(uint32(1<<32-1), uint32(1<<31-1), uint32(1<<31))
	f.Add(uint32(7), uint32(3), uint32(3))
	f.Fuzz(func(t *testing.T, x, y, n uint32) {
		if err := checkInvariants(NodeIndex(x), NodeIndex(y), n); err != nil {
			t.Fatal(err)
		}
	})
}

func checkInvariants(x, y NodeIndex, n uint32) error {
	in := InTree(x, n)
	if in != (ValidLeafCount(n) && uint32(x) < 2*n-1) {
		return fmt.Errorf("InTree = %v", in)
	}
	root, rootOK := Root(n)
	if rootOK != ValidLeafCount(n) || (rootOK && root != NodeIndex(n-1)) {
		return fmt.Errorf("Root = %d, %v", root, rootOK)
	}
	for _, f := range []func(NodeIndex) (NodeIndex, bool){Left, Right} {
		if c, ok := f(x); ok {
			if IsLeaf(x) || Level(c)+1 != Level(x) {
				return fmt.Errorf("child %d of %d at wrong level", c, x)
			}
			if p := parent(c, Level(c)); p != x {
				return fmt.Errorf("parent of child %d of %d is %d", c, x, p)
			}
			if in && !InTree(c, n) {
				return fmt.Errorf("child %d outside the tree", c)
			}
		} else if !IsLeaf(x) && x != NoNode {
			return fmt.Errorf("no child of parent node %d", x)
		}
	}
	p, pOK := Parent(x, n)
	s, sOK := Sibling(x, n)
	if pOK != (in && x != root) || sOK != pOK {
		return fmt.Errorf("Parent ok = %v, Sibling ok = %v", pOK, sOK)
	}
	if pOK {
		l, _ := Left(p)
		r, _ := Right(p)
		if !((l == x && r == s) || (r == x && l == s)) || !InTree(p, n) || !InTree(s, n) {
			return fmt.Errorf("parent %d / sibling %d inconsistent", p, s)
		}
	}
	dp, cp := DirectPath(x, n), Copath(x, n)
	if !in {
		if dp != nil || cp != nil {
			return fmt.Errorf("path of node outside the tree")
		}
	} else {
		if dp == nil || len(dp) != len(cp) || len(dp) != int(Level(root)-Level(x)) {
			return fmt.Errorf("path lengths %d, %d", len(dp), len(cp))
		}
		if len(dp) > 0 && (dp[0] != p || cp[0] != s || dp[len(dp)-1] != root) {
			return fmt.Errorf("path ends wrong: %v %v", dp, cp)
		}
		i := 0
		for pn, cn := range DirectPathCopath(x, n) {
			if pn != dp[i] || cn != cp[i] {
				return fmt.Errorf("DirectPathCopath step %d", i)
			}
			i++
		}
		if i != len(dp) {
			return fmt.Errorf("DirectPathCopath length %d", i)
		}
	}
	a, ok := CommonAncestor(x, y)
	if ok != (x != NoNode && y != NoNode) {
		return fmt.Errorf("CommonAncestor ok = %v", ok)
	}
	if ok {
		if !InSubtree(x, a) || !InSubtree(y, a) {
			return fmt.Errorf("CommonAncestor(%d, %d) = %d does not cover both", x, y, a)
		}
		// Lowest: neither child of a covers both.
		for _, f := range []func(NodeIndex) (NodeIndex, bool){Left, Right} {
			if c, ok := f(a); ok && InSubtree(x, c) && InSubtree(y, c) {
				return fmt.Errorf("CommonAncestor(%d, %d) = %d is not lowest", x, y, a)
			}
		}
	}
	lf, le := LeafRange(x)
	nf, ne := NodeRange(x)
	if x == NoNode {
		if lf != le || nf != ne {
			return fmt.Errorf("non-empty range for NoNode")
		}
	} else {
		if uint64(le-lf) != 1<<Level(x) || uint64(ne-nf) != 1<<(Level(x)+1)-1 ||
			lf.Node() != nf || (le-1).Node() != ne-1 || !(nf <= x && x < ne) {
			return fmt.Errorf("ranges [%d,%d) [%d,%d)", lf, le, nf, ne)
		}
	}
	return nil
}

var sinkPath []NodeIndex

func BenchmarkDirectPath(b *testing.B) {
	for _, n := range []uint32{1024, 1 << 16, MaxLeaves} {
		x := LeafIndex(n / 3).Node()
		b.Run(fmt.Sprintf("n=%d/mode=alloc", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkPath = DirectPath(x, n)
			}
		})
		b.Run(fmt.Sprintf("n=%d/mode=append", n), func(b *testing.B) {
			b.ReportAllocs()
			var buf [MaxDepth]NodeIndex
			for b.Loop() {
				sinkPath = AppendDirectPath(buf[:0], x, n)
			}
		})
		b.Run(fmt.Sprintf("n=%d/mode=iter", n), func(b *testing.B) {
			b.ReportAllocs()
			var sum NodeIndex
			for b.Loop() {
				for p, c := range DirectPathCopath(x, n) {
					sum += p ^ c
				}
			}
			sinkPath = append(sinkPath[:0], sum)
		})
	}
}

func BenchmarkCopath(b *testing.B) {
	for _, n := range []uint32{1024, 1 << 16, MaxLeaves} {
		x := LeafIndex(n / 3).Node()
		b.Run(fmt.Sprintf("n=%d/mode=alloc", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkPath = Copath(x, n)
			}
		})
		b.Run(fmt.Sprintf("n=%d/mode=append", n), func(b *testing.B) {
			b.ReportAllocs()
			var buf [MaxDepth]NodeIndex
			for b.Loop() {
				sinkPath = AppendCopath(buf[:0], x, n)
			}
		})
	}
}
