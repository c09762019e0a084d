package core

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkAddGrow compares adding one member to a full tree, which must
// double (RFC 9420, Section 7.7: the old tree becomes the left subtree of a
// new root over an all-blank right subtree), with adding one member into a
// blank leaf of a tree of the same size. The blank leaf is the last one
// (fixture tree with leaf n-1 removed), so its direct path is blank like the
// new member's path in the doubled tree: both adds touch no unmerged-leaf
// lists and differ only in the growth. Target (issue 17): into=full within
// 1.3x of into=blank at n = 2^16.
//
//   - tree: RatchetTree.Add alone (new tree with fresh hashes);
//   - commit: leaf 0 commits the Add by value without a path and builds the
//     Welcome (tree not inline), both encoded, as BenchmarkAddCommit.
//
// into=full reuses the process-wide blank right half (tree_blank.go), built
// by a warm-up add before the timed loop, as every extension to a size but
// the first in a process does; into=full-cold drops that cache before each
// add, so it measures the first doubling to a size (2n-1 blank node
// hashes). pair/...
// runs into=blank and into=full alternately, one add each per iteration
// (order swapped every iteration), and reports the mean wall time of each
// and their ratio full/blank: both see the same interference from other
// jobs on a shared machine, so the ratio is steadier than the quotient of
// two separate benchmarks. Run e.g.
//
//	go test ./mls/core -run '^$' -bench '^BenchmarkAddGrow$' -count 6
func BenchmarkAddGrow(b *testing.B) {
	kp := benchKPs(b, 1, 1)[0]
	props := []ProposalBody{&Add{KeyPackage: *kp.KeyPackage}}
	for _, n := range []uint32{1 << 10, 1 << 16} {
		// op returns one add, into a full tree or into the blank leaf n-1
		// of one: RatchetTree.Add (checked) or the commit.
		op := func(b *testing.B, what string, full bool) func() {
			t := fullTree(b, 1, n)
			want, members := LeafIndex(n), n+1
			if !full {
				var err error
				if t, err = t.Remove(LeafIndex(n - 1)); err != nil {
					b.Fatal(err)
				}
				want, members = LeafIndex(n-1), n
			}
			if what == "tree" {
				return func() {
					nt, l, err := t.Add(&kp.KeyPackage.LeafNode)
					if err != nil {
						b.Fatal(err)
					}
					if l != want || nt.NumMembers() != members {
						b.Fatalf("added at %d (%d members), want %d (%d)", l, nt.NumMembers(), want, members)
					}
				}
			}
			g := benchGroups(b, t, benchSender)[0]
			return func() {
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
		}
		for _, into := range []string{"blank", "full", "full-cold"} {
			for _, what := range []string{"tree", "commit"} {
				b.Run(fmt.Sprintf("%s/n=%d/into=%s", what, n, into), func(b *testing.B) {
					add := op(b, what, into != "blank")
					add() // warm-up: the first extension to a size builds the blank half
					b.ReportAllocs()
					defer cpuTimer(b)()
					for b.Loop() {
						if into == "full-cold" {
							blankHalves.Clear()
						}
						add()
					}
				})
			}
		}
		for _, what := range []string{"tree", "commit"} {
			b.Run(fmt.Sprintf("pair/%s/n=%d", what, n), func(b *testing.B) {
				opBlank, opFull := op(b, what, false), op(b, what, true)
				opFull() // warm-up, as above
				b.ReportAllocs()
				var tBlank, tFull time.Duration
				i := 0
				for b.Loop() {
					i++
					if i%2 == 0 {
						t0 := time.Now()
						opBlank()
						t1 := time.Now()
						opFull()
						tBlank, tFull = tBlank+t1.Sub(t0), tFull+time.Since(t1)
					} else {
						t0 := time.Now()
						opFull()
						t1 := time.Now()
						opBlank()
						tFull, tBlank = tFull+t1.Sub(t0), tBlank+time.Since(t1)
					}
				}
				b.ReportMetric(float64(tBlank.Nanoseconds())/float64(b.N), "blank-ns/op")
				b.ReportMetric(float64(tFull.Nanoseconds())/float64(b.N), "full-ns/op")
				b.ReportMetric(float64(tFull)/float64(tBlank), "full/blank")
			})
		}
	}
}
