package core

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/suite"
	"github.com/mlslab/mlslab/mls/treemath"
)

// checkBlankHalf asserts that the cached blank half of n leaves still holds
// exactly what a fresh build gives: blank nodes with the same hashes and
// counters, and (chunk-aligned halves) the same node pointers in its chunks.
func checkBlankHalf(t *testing.T, cs *suite.Suite, n uint32) {
	t.Helper()
	got, err := blankRightHalf(cs, n)
	if err != nil {
		t.Fatal(err)
	}
	want := new(blankHalf)
	want.build(cs, n)
	if want.err != nil {
		t.Fatal(want.err)
	}
	if len(got.nodes) != int(2*n-1) || len(got.nodes) != len(want.nodes) {
		t.Fatalf("blank half of %d leaves: %d nodes, fresh build %d", n, len(got.nodes), len(want.nodes))
	}
	for i := range got.nodes {
		g, w := &got.nodes[i], &want.nodes[i]
		if !g.blank() || g.leafEnc != nil || !bytes.Equal(g.hash, w.hash) || g.leaves != 0 || g.filled != 0 || g.resLen != 0 || g.credUsed != w.credUsed || g.credAll != w.credAll {
			t.Fatalf("blank half of %d leaves, node %d changed: %+v, fresh %+v", n, 2*n+uint32(i), *g, *w)
		}
	}
	for i, c := range got.chunks {
		for j, p := range c {
			x := (int(2*n)/chunkLen+i)*chunkLen + j
			if x == int(4*n-1) {
				if p != nil {
					t.Fatalf("blank half of %d leaves: slot of node %d (outside the half) written", n, x)
				}
				continue
			}
			if p != &got.nodes[x-int(2*n)] {
				t.Fatalf("blank half of %d leaves: chunk slot of node %d replaced", n, x)
			}
		}
	}
}

// TestExtendSharesBlankHalf: trees that double share the cached blank right
// half; edits of one never show in another, in the cache, or in a tree
// extended later, and every hash equals a cold decode's (RFC 9420, Section
// 7.8). n = 4 and 64 put the half inside chunk 0; 128 and 512 share whole
// chunks.
func TestExtendSharesBlankHalf(t *testing.T) {
	cs := suite.MustGet(1)
	for _, n := range []uint32{4, 64, 128, 512} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			base := fullTree(t, 1, n)
			grow := func(tr *RatchetTree, gen uint32) (*RatchetTree, LeafIndex) {
				t.Helper()
				nt, l, err := tr.Add(newMemberLeaf(cs, 0, gen))
				if err != nil {
					t.Fatal(err)
				}
				return nt, l
			}
			a, la := grow(base, 20)
			b, lb := grow(base, 21)
			if la != LeafIndex(n) || lb != LeafIndex(n) || a.NumLeaves() != 2*n || b.NumLeaves() != 2*n {
				t.Fatalf("adds to a full tree of %d: leaves %d, %d; widths %d, %d", n, la, lb, a.NumLeaves(), b.NumLeaves())
			}
			if n == 512 {
				// The new member's path touches 2 of the half's 4 chunks;
				// the last one is the cache's, in both trees.
				last := len(a.chunks) - 1
				h, _ := blankRightHalf(cs, n)
				if a.chunks[last] != h.chunks[len(h.chunks)-1] || b.chunks[last] != a.chunks[last] {
					t.Fatal("extended trees do not share the cached blank chunk")
				}
			}
			bEnc, bHash := mustEncodeTree(t, b), slices.Clone(b.TreeHash())

			// Fill a's right half, update and remove inside it.
			a2 := a
			for i := range n / 2 {
				a2, _ = grow(a2, 30+i)
			}
			a2, err := a2.Update(la, newMemberLeaf(cs, LeafIndex(n), 40))
			if err != nil {
				t.Fatal(err)
			}
			if a2, err = a2.Remove(la + 1); err != nil {
				t.Fatal(err)
			}
			checkColdHash(t, a2)
			// b goes its own way.
			b2, err := b.Update(lb, newMemberLeaf(cs, LeafIndex(n), 41))
			if err != nil {
				t.Fatal(err)
			}
			b2, _ = grow(b2, 42)
			checkColdHash(t, b2)
			if !bytes.Equal(mustEncodeTree(t, b), bEnc) || !bytes.Equal(b.TreeHash(), bHash) {
				t.Fatal("editing a tree extended from the same parent changed b")
			}
			checkColdHash(t, b)
			checkBlankHalf(t, cs, n)

			// A tree extended now still reads blank nodes in its right half,
			// with the hashes of an uncached extension.
			c, lc := grow(base, 50)
			for x := NodeIndex(2 * n); x < NodeIndex(4*n-1); x++ {
				if x != lc.Node() && !c.Node(x).IsBlank() {
					t.Fatalf("node %d of a fresh extension is not blank", x)
				}
			}
			checkColdHash(t, c)
			blankHalves.Clear()
			d, _ := grow(base, 50)
			for x := NodeIndex(0); uint32(x) < c.Width(); x++ {
				if !bytes.Equal(c.NodeHash(x), d.NodeHash(x)) {
					t.Fatalf("node %d: hash %x with the cached half, %x without", x, c.NodeHash(x), d.NodeHash(x))
				}
			}
			// Truncating back and extending again gives the same tree.
			r, err := c.Remove(lc)
			if err != nil {
				t.Fatal(err)
			}
			if r.NumLeaves() != n || !bytes.Equal(r.TreeHash(), base.TreeHash()) {
				t.Fatalf("remove of the only right-half member: %d leaves, hash equal %v", r.NumLeaves(), bytes.Equal(r.TreeHash(), base.TreeHash()))
			}
			e, _ := grow(r, 50)
			if !bytes.Equal(e.TreeHash(), c.TreeHash()) {
				t.Fatal("extending after truncation changed the tree hash")
			}
			for _, x := range treemath.DirectPath(lc.Node(), 2*n) {
				if p := e.ParentNode(x); p != nil {
					t.Fatalf("node %d on the new member's path is not blank", x)
				}
			}
		})
	}
}
