package core

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/mlslab/mlslab/mls/treemath"
)

// refAdd is RatchetTree.Add as it was before addLeaves (RFC 9420, Section
// 12.1.1, one Add per edit): the leftmost blank leaf or an extension, and
// the leaf inserted into the unmerged leaves of each non-blank parent on
// its direct path. The reference the batched Adds are checked against.
func refAdd(tb testing.TB, t *RatchetTree, leaf *LeafNode) (*RatchetTree, LeafIndex) {
	tb.Helper()
	l, ok := t.leftmostBlankLeaf()
	e := t.edit()
	if !ok {
		l = LeafIndex(t.nLeaves)
		if err := e.extend(); err != nil {
			tb.Fatal(err)
		}
	}
	e.set(l.Node(), Node{Leaf: leaf})
	for _, p := range treemath.DirectPath(l.Node(), e.t.nLeaves) {
		v := e.get(p)
		if v.Parent == nil {
			continue
		}
		np := *v.Parent
		i, found := slices.BinarySearch(np.UnmergedLeaves, l)
		if !found {
			np.UnmergedLeaves = slices.Insert(slices.Clone(np.UnmergedLeaves), i, l)
		}
		e.set(p, Node{Parent: &np})
	}
	nt, err := e.finish()
	if err != nil {
		tb.Fatal(err)
	}
	return nt, l
}

// randomAddTree returns the full fixture tree of n leaves with some
// leaves removed (their direct paths blank, the tree truncated) and, with probability 1/2, a
// non-blank root over them listing some members as unmerged: the case in
// which every Add lands under a non-blank parent.
func randomAddTree(tb testing.TB, rng *rand.Rand, n uint32) *RatchetTree {
	tb.Helper()
	t := fullTree(tb, 1, n)
	var err error
	for l := range n {
		if l > 0 && rng.IntN(3) == 0 {
			if t, err = t.Remove(LeafIndex(l)); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if t.NumLeaves() > 1 && rng.IntN(2) == 0 { // (removals truncate, Section 7.8)
		var unmerged []LeafIndex
		for l := range t.NumLeaves() {
			if t.Leaf(LeafIndex(l)) != nil && rng.IntN(4) == 0 {
				unmerged = append(unmerged, LeafIndex(l))
			}
		}
		key := make([]byte, 32)
		binary.BigEndian.PutUint64(key, rng.Uint64())
		e := t.edit()
		e.set(t.root(), Node{Parent: &ParentNode{EncryptionKey: key, UnmergedLeaves: unmerged}})
		if t, err = e.finish(); err != nil {
			tb.Fatal(err)
		}
	}
	return t
}

// randomAddLeaf returns a copy of tmpl with keys unique to i and a random
// credential type and supported credential types.
func randomAddLeaf(rng *rand.Rand, tmpl *LeafNode, i int) *LeafNode {
	ln := *tmpl
	ln.EncryptionKey = slices.Clone(ln.EncryptionKey)
	binary.BigEndian.PutUint64(ln.EncryptionKey, 1<<63|uint64(i))
	ln.SignatureKey = slices.Clone(ln.SignatureKey)
	binary.BigEndian.PutUint64(ln.SignatureKey, 1<<63|uint64(i))
	types := []CredentialType{CredentialBasic, CredentialX509}
	ln.Credential = Credential{Type: types[rng.IntN(2)]}
	if ln.Credential.Type == CredentialBasic {
		ln.Credential.Identity = fmt.Appendf(nil, "add-%d", i)
	} else {
		ln.Credential.Certificates = [][]byte{fmt.Appendf(nil, "cert-%d", i)}
	}
	ln.Capabilities.Credentials = nil
	for _, ct := range types {
		if rng.IntN(4) != 0 {
			ln.Capabilities.Credentials = append(ln.Capabilities.Credentials, ct)
		}
	}
	return &ln
}

// TestAddScopeMatchesSequential: a commit's Adds validated against
// addScope and built by addLeaves in one edit give, Add by Add, the
// answers the tree with the earlier Adds in it gives (what
// validateLeafNode and checkGrowth ask: keys present, credential support,
// blank leaf, width), the same places, and the same tree (hash and
// encoding) as refAdd one after another: trees of 1 to 1024 leaves with
// blank leaves, blank and non-blank parents and unmerged leaves, through
// several extensions.
func TestAddScopeMatchesSequential(t *testing.T) {
	tmpl := &benchKPs(t, 1, 3)[0].KeyPackage.LeafNode
	rng := rand.New(rand.NewPCG(17, 4))
	for trial := range 60 {
		n := uint32(1) << rng.IntN(11)
		t0 := randomAddTree(t, rng, n)
		k := 1 + rng.IntN(int(3*n)+2)
		name := fmt.Sprintf("trial %d: n=%d members=%d k=%d", trial, n, t0.NumMembers(), k)
		seq := t0
		scope := newAddScope(t0, k)
		var added []*LeafNode
		for i := range k {
			ln := randomAddLeaf(rng, tmpl, i)
			// A key of the tree or of an earlier Add, now and then.
			switch rng.IntN(8) {
			case 0:
				if len(added) > 0 {
					ln.EncryptionKey = added[rng.IntN(len(added))].EncryptionKey
				}
			case 1:
				if len(added) > 0 {
					ln.SignatureKey = added[rng.IntN(len(added))].SignatureKey
				}
			case 2:
				if m := t0.Leaf(0); m != nil {
					ln.SignatureKey = m.SignatureKey
				}
			}
			except := LeafIndex(^uint32(0))
			if got, want := scope.CheckCredentialSupport(ln, except), seq.CheckCredentialSupport(ln, except); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s, Add %d: credential support %v, sequential %v", name, i, got, want)
			}
			gx, encDup := scope.ContainsEncryptionKey(ln.EncryptionKey)
			wx, wok := seq.ContainsEncryptionKey(ln.EncryptionKey)
			if encDup != wok || (encDup && gx != wx) {
				t.Fatalf("%s, Add %d: encryption key at %d %t, sequential %d %t", name, i, gx, encDup, wx, wok)
			}
			gl, sigDup := scope.ContainsSignatureKey(ln.SignatureKey, except)
			wl, wok := seq.ContainsSignatureKey(ln.SignatureKey, except)
			if sigDup != wok || (sigDup && gl != wl) {
				t.Fatalf("%s, Add %d: signature key at %d %t, sequential %d %t", name, i, gl, sigDup, wl, wok)
			}
			if len(added) > 0 {
				// A replaced leaf's own key does not count (except).
				ex := scope.at[rng.IntN(len(scope.at))]
				gl, gok := scope.ContainsSignatureKey(ln.SignatureKey, ex)
				wl, wok := seq.ContainsSignatureKey(ln.SignatureKey, ex)
				if gok != wok || (gok && gl != wl) {
					t.Fatalf("%s, Add %d: signature key except %d at %d %t, sequential %d %t", name, i, ex, gl, gok, wl, wok)
				}
			}
			if encDup || sigDup {
				continue // validateLeafNode refuses it: not added
			}
			_, blank := seq.leftmostBlankLeaf()
			if scope.hasBlank() != blank || scope.numLeaves() != seq.NumLeaves() {
				t.Fatalf("%s, Add %d: blank leaf %t width %d, sequential %t %d", name, i, scope.hasBlank(), scope.numLeaves(), blank, seq.NumLeaves())
			}
			var wantL LeafIndex
			seq, wantL = refAdd(t, seq, ln)
			l, err := scope.add(ln)
			if err != nil {
				t.Fatal(err)
			}
			if l != wantL {
				t.Fatalf("%s, Add %d: placed at %d, sequential %d", name, i, l, wantL)
			}
			if scope.Leaf(l) != ln {
				t.Fatalf("%s, Add %d: Leaf(%d) is not the added leaf", name, i, l)
			}
			added = append(added, ln)
		}
		got, err := scope.tree()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.TreeHash(), seq.TreeHash()) || got.NumMembers() != seq.NumMembers() || got.NumLeaves() != seq.NumLeaves() {
			t.Fatalf("%s: tree hash %x (%d members, %d leaves), sequential %x (%d, %d)", name, got.TreeHash(), got.NumMembers(), got.NumLeaves(), seq.TreeHash(), seq.NumMembers(), seq.NumLeaves())
		}
		ge, err := got.MarshalRatchetTree()
		if err != nil {
			t.Fatal(err)
		}
		we, err := seq.MarshalRatchetTree()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ge, we) {
			t.Fatalf("%s: encodings differ", name)
		}
		for _, ln := range added {
			if _, ok := got.ContainsEncryptionKey(ln.EncryptionKey); !ok {
				t.Fatalf("%s: added key not indexed", name)
			}
		}
	}
}

// TestAddPlacerMaxLeaves: the placer refuses to extend beyond
// treemath.MaxLeaves with the error RatchetTree.Add always gave.
func TestAddPlacerMaxLeaves(t *testing.T) {
	p := &addPlacer{t: fullTree(t, 1, 4), nLeaves: treemath.MaxLeaves, next: LeafIndex(treemath.MaxLeaves)}
	if _, err := p.place(); err == nil || err.Error() != fmt.Sprintf("mls: ratchet tree cannot grow beyond %d leaves", treemath.MaxLeaves) {
		t.Fatalf("got %v", err)
	}
}

// TestSecurityAddsUnderNonBlankParentLinear: a commit of k Adds that all
// land under one non-blank parent (a recent path covers blank leaves) is
// processed in O(k log n). Built one Add at a time, each Add copied and
// rehashed the parent's unmerged-leaves list, which has up to k entries:
// O(k^2), minutes per receiver for the ~250 000 Adds a 64 MiB commit can
// carry. Four times the Adds must allocate about four times as much
// (the one-at-a-time build: 9.7x, and 1 GB for 8192 Adds).
func TestSecurityAddsUnderNonBlankParentLinear(t *testing.T) {
	const n = 1 << 14
	kps := benchKPsSuite(t, 1, 8192, 21)
	tr := fullTree(t, 1, n)
	var err error
	for l := 4; l < 4+len(kps); l++ {
		if tr, err = tr.Remove(LeafIndex(l)); err != nil {
			t.Fatal(err)
		}
	}
	e := tr.edit()
	e.set(tr.root(), Node{Parent: &ParentNode{EncryptionKey: bytes.Repeat([]byte{7}, 32)}})
	if tr, err = e.finish(); err != nil {
		t.Fatal(err)
	}
	committer := benchGroups(t, tr, 0)[0]
	alloc := func(k int) uint64 {
		entries := make([]proposalEntry, k)
		for i := range entries {
			entries[i] = proposalEntry{p: &Proposal{Body: &Add{KeyPackage: *kps[i].KeyPackage}}, sender: Sender{Type: SenderTypeMember, Index: 0}}
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		res, err := applyProposals(committer.pub, entries, Sender{Type: SenderTypeMember, Index: 0}, committer.cfg)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		if root := res.tree.at(res.tree.root()).parent; root == nil || len(root.UnmergedLeaves) != k {
			t.Fatalf("%d Adds: the root should list them all as unmerged", k)
		}
		return after.TotalAlloc - before.TotalAlloc
	}
	small, large := alloc(2048), alloc(8192)
	t.Logf("2048 Adds: %d bytes, 8192 Adds: %d bytes (%.2fx)", small, large, float64(large)/float64(small))
	if r := float64(large) / float64(small); r > 5 {
		t.Fatalf("2048 Adds allocated %d bytes, 8192 Adds %d (%.1fx): the work grows faster than the Adds", small, large, r)
	}
}

// TestSecurityResolutionExcludeLinear: the leaves a commit adds are left
// out of every resolution of its UpdatePath (RFC 9420, Section 7.6; the
// committer in planSeals, each receiver in DecryptUpdatePathSecret). A
// copath node covering k members (blank parents) with k Adds to leave
// out: testing each resolution entry against the list by scanning it was
// O(k^2) (about 15x the time for 4x the Adds; seconds per receiver at
// 2^16 Adds). At k = 2^14 leaving them out must cost a small factor of
// the resolution itself (a binary search per entry), not thousands.
func TestSecurityResolutionExcludeLinear(t *testing.T) {
	tmpl := &benchKPs(t, 1, 3)[0].KeyPackage.LeafNode
	const k = 16384
	tr, err := newRatchetTree(fullTree(t, 1, 1).cs, tmpl)
	if err != nil {
		t.Fatal(err)
	}
	leaves := make([]*LeafNode, 2*k-1)
	at := make([]LeafIndex, 2*k-1)
	for i := range leaves {
		leaves[i], at[i] = tmpl, LeafIndex(i+1)
	}
	if tr, err = tr.addLeaves(leaves, at, uint32(2*k)); err != nil {
		t.Fatal(err)
	}
	c, _ := treemath.Left(tr.root()) // leaves 0..k-1, all in its resolution
	measure := func(exclude []LeafIndex) time.Duration {
		best := time.Duration(1 << 62)
		for range 5 {
			start := time.Now()
			res := tr.appendResolution(nil, c, exclude)
			best = min(best, time.Since(start))
			if len(res) != k {
				t.Fatalf("resolution of %d nodes, want %d", len(res), k)
			}
		}
		return best
	}
	plain, excl := measure(nil), measure(at[k-1:]) // leaves k..2k-1: the commit's Adds
	r := float64(excl) / float64(plain)
	t.Logf("resolution of %d nodes: %v, leaving out %d Adds: %v (%.1fx)", k, plain, k, excl, r)
	if r > 30 {
		t.Fatalf("leaving out %d Adds costs %.0fx the resolution: each entry is tested in O(k)", k, r)
	}
}
