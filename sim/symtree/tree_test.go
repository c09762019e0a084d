package symtree

import (
	"math/rand/v2"
	"testing"

	"github.com/mlslab/mlslab/mls/treemath"
	"github.com/mlslab/mlslab/sim/size"
)

func newTree() *Tree {
	s, _ := size.SuiteByID(1)
	return New(s, size.DefaultProfile(), 0)
}

// TestRandomOpsMatchBruteForce applies random commits and checks every
// cached metric against a recomputation from scratch after each one.
func TestRandomOpsMatchBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tr := newTree()
	next := int32(1)
	var members []uint32 // occupied leaves
	refresh := func() {
		members = members[:0]
		for l := range tr.Leaves() {
			if tr.Owner(l) != NoMember {
				members = append(members, l)
			}
		}
	}
	for step := range 400 {
		refresh()
		// Updates, removes, adds, then maybe a path: RFC 9420 order.
		if len(members) > 2 && r.IntN(3) == 0 {
			tr.Update(members[r.IntN(len(members))])
		}
		removed := map[uint32]bool{}
		for range r.IntN(3) {
			if len(members) > 2 {
				l := members[r.IntN(len(members))]
				if !removed[l] && l != 0 {
					tr.Remove(l)
					removed[l] = true
				}
			}
		}
		if len(removed) > 0 {
			tr.Truncate()
		}
		var added []uint32
		for range r.IntN(6) {
			added = append(added, tr.Add(next))
			next++
		}
		if r.IntN(2) == 0 {
			refresh()
			var committers []uint32
			for _, l := range members {
				if !contains(added, l) {
					committers = append(committers, l)
				}
			}
			c := committers[r.IntN(len(committers))]
			sorted := append([]uint32(nil), added...)
			slicesSort(sorted)
			path := tr.ApplyPath(c, sorted, nil)
			// Cross-check ciphertext counts by brute-force resolution.
			for _, lvl := range path {
				n := 0
				for x := range tr.Width() {
					if tr.InResolution(lvl.Copath, x) && !(treemath.IsLeaf(treemath.NodeIndex(x)) && contains(added, x/2)) {
						n++
					}
				}
				if n != lvl.Ciphertexts {
					t.Fatalf("step %d: level %d ciphertexts %d, brute force %d", step, lvl.Node, lvl.Ciphertexts, n)
				}
			}
		}
		if err := tr.Check(); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		// Occupied width: brute force over the nodes up to the rightmost
		// member's leaf.
		st := tr.Stats()
		right := -1
		for l := range tr.Leaves() {
			if tr.Owner(l) != NoMember {
				right = int(l)
			}
		}
		blank := 0
		for x := 0; x <= 2*right; x++ {
			if tr.Key(uint32(x)) == 0 {
				blank++
			}
		}
		if st.OccupiedNodes != 2*right+1 || st.OccupiedBlankNodes != blank {
			t.Fatalf("step %d: occupied %d nodes, %d blank; brute force %d, %d", step, st.OccupiedNodes, st.OccupiedBlankNodes, 2*right+1, blank)
		}
	}
	if tr.Members() < 50 {
		t.Fatalf("only %d members after the run", tr.Members())
	}
}

func contains(xs []uint32, v uint32) bool {
	for _, x := range xs {
		if x == v {
			return true
		}
	}
	return false
}

func slicesSort(xs []uint32) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] < xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}

// TestAddUnmergedAndHolds walks hand-checked cases of RFC 9420 Sections
// 4.1, 7.5, 12.1.1 and 12.1.3.
func TestAddUnmergedAndHolds(t *testing.T) {
	tr := newTree()
	for i := int32(1); i < 4; i++ {
		tr.Add(i)
	}
	// A 4-leaf tree with no parent keys: everything unmerged is vacuous.
	if st := tr.Stats(); st.Members != 4 || st.BlankParents != 3 || st.UnmergedLeaves != 0 {
		t.Fatalf("stats %+v", st)
	}
	path := tr.ApplyPath(0, nil, nil) // leaf 0 commits: sets nodes 1 and 3
	if len(path) != 2 || path[0].Ciphertexts != 1 || path[1].Ciphertexts != 2 {
		t.Fatalf("path %+v", path)
	}
	// Add a fifth member: tree doubles; new leaf 4 is unmerged at no
	// non-blank node (its ancestors 9, 11 and root 7 are blank).
	if l := tr.Add(4); l != 4 {
		t.Fatalf("added at %d", l)
	}
	// Leaf 1 holds node 1 and node 3; leaf 2 holds node 3 only.
	if !tr.Holds(1, 1) || !tr.Holds(1, 3) || tr.Holds(2, 1) || !tr.Holds(2, 3) {
		t.Fatal("Holds wrong")
	}
	// Remove leaf 1: blanks 2(leaf), 1, 3, 7.
	tr.Remove(1)
	tr.Truncate()
	if tr.Key(1) != 0 || tr.Key(3) != 0 {
		t.Fatal("direct path not blanked")
	}
	// Remove leaf 4 and truncate back to 4 leaves.
	tr.Remove(4)
	tr.Truncate()
	if tr.Leaves() != 4 {
		t.Fatalf("leaves = %d after truncation", tr.Leaves())
	}
	// Path from leaf 0 again: leaf 1 is blank, so node 1 is not on the
	// filtered direct path (RFC 9420, Section 4.1.2) and stays blank; only
	// the root 3 gets a key. Adding leaf 1 back makes it unmerged at 3.
	path = tr.ApplyPath(0, nil, nil)
	if len(path) != 1 || path[0].Node != 3 || path[0].Ciphertexts != 2 {
		t.Fatalf("path %+v", path)
	}
	l := tr.Add(9)
	if l != 1 || len(tr.Unmerged(1)) != 0 || len(tr.Unmerged(3)) != 1 || tr.Holds(1, 3) || !tr.Holds(0, 3) {
		t.Fatalf("unmerged: leaf %d, %v %v", l, tr.Unmerged(1), tr.Unmerged(3))
	}
	if st := tr.Stats(); st.UnmergedLeaves != 1 || st.UnmergedEntries != 1 {
		t.Fatalf("stats %+v", st)
	}
	// resolution(1) = {leaf 0 (node 0), leaf 1 (node 2)}; resolution(3) = {3, leaf 1}.
	if !tr.InResolution(1, 0) || !tr.InResolution(1, 2) || tr.InResolution(1, 1) || !tr.InResolution(3, 2) || tr.InResolution(3, 4) {
		t.Fatal("resolution wrong")
	}
	if err := tr.Check(); err != nil {
		t.Fatal(err)
	}
}
