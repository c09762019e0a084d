package core

import (
	"fmt"
	"testing"
)

// BenchmarkAddGrow compares adding one member to a full tree, which must
// double (RFC 9420, Section 7.7: the old tree becomes the left subtree of a
// new root over an all-blank right subtree), with adding one member into a
// blank leaf of a tree of the same size. into=full reuses the process-wide
// blank right half (tree_blank.go) after the first iteration, as every
// extension but the first of a size does; into=full-cold drops that cache
// before each add, so it measures the first doubling to a size in a
// process (2n-1 blank node hashes). The blank leaf is the last one
// (fixture tree with leaf n-1 removed), so its direct path is blank like the
// new member's path in the doubled tree: both adds touch no unmerged-leaf
// lists and differ only in the growth. Target (issue 17): into=full within
// 1.3x of into=blank at n = 2^16.
//
//   - tree: RatchetTree.Add alone (new tree with fresh hashes);
//   - commit: leaf 0 commits the Add by value without a path and builds the
//     Welcome (tree not inline), both encoded, as BenchmarkAddCommit.
//
// Run e.g.
//
//	go test ./mls/core -run '^$' -bench '^BenchmarkAddGrow$' -count 6
func BenchmarkAddGrow(b *testing.B) {
	kp := benchKPs(b, 1, 1)[0]
	props := []ProposalBody{&Add{KeyPackage: *kp.KeyPackage}}
	for _, n := range []uint32{1 << 10, 1 << 16} {
		for _, into := range []string{"blank", "full", "full-cold"} {
			full := into != "blank"
			cold := func() {
				if into == "full-cold" {
					blankHalves.Clear()
				}
			}
			get := func(b *testing.B) *RatchetTree {
				t := fullTree(b, 1, n)
				if full {
					return t
				}
				t, err := t.Remove(LeafIndex(n - 1))
				if err != nil {
					b.Fatal(err)
				}
				return t
			}
			name := fmt.Sprintf("n=%d/into=%s", n, into)
			b.Run("tree/"+name, func(b *testing.B) {
				t := get(b)
				b.ReportAllocs()
				for b.Loop() {
					cold()
					nt, l, err := t.Add(&kp.KeyPackage.LeafNode)
					if err != nil {
						b.Fatal(err)
					}
					want, members := LeafIndex(n-1), n
					if full {
						want, members = LeafIndex(n), n+1
					}
					if l != want || nt.NumMembers() != members {
						b.Fatalf("added at %d (%d members), want %d (%d)", l, nt.NumMembers(), want, members)
					}
				}
			})
			b.Run("commit/"+name, func(b *testing.B) {
				g := benchGroups(b, get(b), benchSender)[0]
				b.ReportAllocs()
				for b.Loop() {
					cold()
					pc, err := g.Commit(CommitOptions{Proposals: props})
					if err != nil {
						b.Fatal(err)
					}
					if _, err := pc.Commit.Marshal(); err != nil {
						b.Fatal(err)
					}
					if _, err := pc.Welcome.Marshal(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
