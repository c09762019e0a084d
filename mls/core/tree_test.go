package core

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/codec"
	"github.com/mlslab/mlslab/mls/internal/suite"
	"github.com/mlslab/mlslab/mls/internal/vectors"
	"github.com/mlslab/mlslab/mls/treemath"
)

func mustEncodeTree(t testing.TB, tr *RatchetTree) []byte {
	t.Helper()
	enc, err := tr.MarshalRatchetTree()
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// checkColdHash asserts that the incrementally maintained hashes of tr equal
// those of a fresh decode of its encoding, node by node.
func checkColdHash(t *testing.T, tr *RatchetTree) {
	t.Helper()
	cold, err := decodeRatchetTree(tr.cs, mustEncodeTree(t, tr), 0)
	if err != nil {
		t.Fatal(err)
	}
	if cold.Width() != tr.Width() {
		t.Fatalf("width %d, cold %d", tr.Width(), cold.Width())
	}
	for x := NodeIndex(0); uint32(x) < tr.Width(); x++ {
		if !bytes.Equal(tr.NodeHash(x), cold.NodeHash(x)) {
			t.Fatalf("node %d: incremental hash %x, cold %x", x, tr.NodeHash(x), cold.NodeHash(x))
		}
		if int(tr.at(x).resLen) != len(tr.Resolution(x)) {
			t.Fatalf("node %d: cached resolution length %d, resolution %v", x, tr.at(x).resLen, tr.Resolution(x))
		}
		if a, b := tr.at(x), cold.at(x); a.leaves != b.leaves || a.filled != b.filled || a.credUsed != b.credUsed || a.credAll != b.credAll || a.resLen != b.resLen {
			t.Fatalf("node %d: counters (%d,%d), cold (%d,%d)", x, a.leaves, a.filled, b.leaves, b.filled)
		}
	}
	// The incrementally maintained key indexes hold exactly the tree's keys.
	if got, want := countIndex(tr.encIdx.root), int(tr.at(tr.root()).filled); got != want {
		t.Fatalf("encryption key index has %d entries, tree %d non-blank nodes", got, want)
	}
	if got, want := countIndex(tr.sigIdx.root), int(tr.NumMembers()); got != want {
		t.Fatalf("signature key index has %d entries, tree %d members", got, want)
	}
	for x := NodeIndex(0); uint32(x) < tr.Width(); x++ {
		n := tr.Node(x)
		if n.IsBlank() {
			continue
		}
		if y, ok := tr.ContainsEncryptionKey(n.EncryptionKey()); !ok || y != x {
			t.Fatalf("encryption key of node %d: index gives %d, %v", x, y, ok)
		}
		if n.Leaf != nil {
			if _, ok := tr.ContainsSignatureKey(n.Leaf.SignatureKey, LeafIndex(x/2)); ok {
				t.Fatalf("signature key of node %d found at another leaf", x)
			}
			if l, ok := tr.ContainsSignatureKey(n.Leaf.SignatureKey, 1<<30); !ok || l.Node() != x {
				t.Fatalf("signature key of node %d: index gives %d, %v", x, l, ok)
			}
		}
	}
}

func countIndex(n *kiNode) int {
	if n == nil {
		return 0
	}
	c := len(n.ents)
	for _, k := range n.kids {
		c += countIndex(k)
	}
	return c
}

func TestTreeOperationsImmutable(t *testing.T) {
	cs := suite.MustGet(1)
	base := fullTree(t, 1, 8)
	baseEnc := mustEncodeTree(t, base)
	baseHash := slices.Clone(base.TreeHash())

	// Remove the last leaf: its path is blanked, nothing truncated yet
	// (leaf 6 remains).
	r1, err := base.Remove(7)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Leaf(7) != nil || r1.NumLeaves() != 8 || r1.NumMembers() != 7 {
		t.Fatalf("remove 7: leaves %d members %d", r1.NumLeaves(), r1.NumMembers())
	}
	for _, x := range treemath.DirectPath(14, 8) {
		if !r1.Node(x).IsBlank() {
			t.Fatalf("node %d on removed leaf's path not blank", x)
		}
	}
	checkColdHash(t, r1)
	if _, ok := r1.ContainsEncryptionKey(base.Leaf(7).EncryptionKey); ok {
		t.Fatal("removed leaf's key still indexed")
	}
	if _, ok := base.ContainsEncryptionKey(base.Leaf(7).EncryptionKey); !ok {
		t.Fatal("old tree lost a key")
	}
	// Remove 4, 5, 6: the right half is empty and the tree truncates to 4.
	r2 := r1
	for _, l := range []LeafIndex{4, 5, 6} {
		if r2, err = r2.Remove(l); err != nil {
			t.Fatal(err)
		}
	}
	if r2.NumLeaves() != 4 {
		t.Fatalf("after removing the right half: %d leaves, want 4", r2.NumLeaves())
	}
	checkColdHash(t, r2)
	// Add goes to the leftmost blank leaf, else extends.
	r3, l, err := r1.Add(newMemberLeaf(cs, 0, 9))
	if err != nil || l != 7 {
		t.Fatalf("add: leaf %d, %v; want 7", l, err)
	}
	r4, l, err := r3.Add(newMemberLeaf(cs, 1, 9))
	if err != nil || l != 8 || r4.NumLeaves() != 16 {
		t.Fatalf("add to full tree: leaf %d, %d leaves, %v; want 8, 16", l, r4.NumLeaves(), err)
	}
	checkColdHash(t, r3)
	checkColdHash(t, r4)
	// Leaf 8's non-blank ancestors list it as unmerged.
	for _, x := range treemath.DirectPath(16, 16) {
		if p := r4.ParentNode(x); p != nil && !slices.Contains(p.UnmergedLeaves, 8) {
			t.Fatalf("node %d does not list leaf 8 as unmerged", x)
		}
	}
	// Update replaces the leaf and blanks its path.
	u, err := base.Update(2, newMemberLeaf(cs, 2, 9))
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range treemath.DirectPath(4, 8) {
		if !u.Node(x).IsBlank() {
			t.Fatalf("node %d not blank after update", x)
		}
	}
	checkColdHash(t, u)
	// Errors leave everything untouched.
	if _, err := r1.Remove(7); !errors.Is(err, ErrInvalidProposal) {
		t.Fatalf("removing a blank leaf: %v", err)
	}
	if _, err := base.Update(99, newMemberLeaf(cs, 2, 9)); !errors.Is(err, ErrInvalidProposal) {
		t.Fatalf("updating an out-of-range leaf: %v", err)
	}
	// The base tree never changed.
	if !bytes.Equal(mustEncodeTree(t, base), baseEnc) || !bytes.Equal(base.TreeHash(), baseHash) {
		t.Fatal("base tree changed by operations on it")
	}
	if err := base.Validate(TreeValidation{GroupID: fixtureGroupID, TreeHash: baseHash}); err != nil {
		t.Fatal(err)
	}
	// Degraded trees (blanks + unmerged leaves) hash and validate.
	d := degradedTree(t, 1, 64)
	checkColdHash(t, d)
	if err := d.Validate(TreeValidation{GroupID: fixtureGroupID}); err != nil {
		t.Fatal(err)
	}
}

func TestResolutionAndFilteredPath(t *testing.T) {
	cs := suite.MustGet(1)
	// RFC 9420 Figure 11-like: 8 leaves, members A B _ _ E F G _, parents
	// T (1), Y (11), X (9), W (7) set, others blank.
	tr := fullTree(t, 1, 8)
	var err error
	for _, l := range []LeafIndex{2, 3, 7} {
		if tr, err = tr.Remove(l); err != nil {
			t.Fatal(err)
		}
	}
	if tr.NumLeaves() != 8 {
		t.Fatal("unexpected truncation")
	}
	// Blank leaf: empty; blank parent 5 covers blank leaves only.
	if r := tr.Resolution(4); len(r) != 0 {
		t.Fatalf("resolution of blank leaf = %v", r)
	}
	if r := tr.Resolution(5); len(r) != 0 {
		t.Fatalf("resolution of node 5 = %v", r)
	}
	// Add a member: it takes leaf 2, unmerged at every non-blank ancestor.
	tr, l, err := tr.Add(newMemberLeaf(cs, 0, 5))
	if err != nil || l != 2 {
		t.Fatal(l, err)
	}
	got := tr.Resolution(tr.Root())
	want := []NodeIndex{0, 2, 8, 10, 12} // root 7 blank (removal of 2,3,7 blanked it), 3 blank, 1 blank... see below
	_ = want
	// Check against the definition computed independently.
	var def func(x NodeIndex) []NodeIndex
	def = func(x NodeIndex) []NodeIndex {
		n := tr.Node(x)
		switch {
		case n.Leaf != nil:
			return []NodeIndex{x}
		case n.Parent != nil:
			out := []NodeIndex{x}
			for _, u := range n.Parent.UnmergedLeaves {
				out = append(out, u.Node())
			}
			return out
		case treemath.IsLeaf(x):
			return nil
		}
		l, _ := treemath.Left(x)
		r, _ := treemath.Right(x)
		return append(def(l), def(r)...)
	}
	for x := NodeIndex(0); uint32(x) < tr.Width(); x++ {
		if !slices.Equal(tr.Resolution(x), def(x)) {
			t.Fatalf("resolution(%d) = %v, want %v", x, tr.Resolution(x), def(x))
		}
	}
	if !slices.Equal(got, def(tr.Root())) {
		t.Fatal(got)
	}
	// Excluding the new member removes it.
	if slices.Contains(tr.Resolution(tr.Root(), 2), 4) {
		t.Fatal("excluded leaf in resolution")
	}
	// Filtered direct path: drop nodes whose copath child resolves empty.
	for l := range LeafIndex(8) {
		var want []NodeIndex
		for p, c := range treemath.DirectPathCopath(l.Node(), 8) {
			if len(def(c)) > 0 {
				want = append(want, p)
			}
		}
		if got := tr.FilteredDirectPath(l); !slices.Equal(got, want) {
			t.Fatalf("filtered direct path of %d = %v, want %v", l, got, want)
		}
	}
}

func treeErr(t *testing.T, err error, sentinel error, node int) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("error %v, want %v", err, sentinel)
	}
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.Rule == "" {
		t.Fatalf("error %v is not a *ProtocolError with a rule", err)
	}
	if node >= 0 && (!pe.HasNode || pe.Node != uint32(node)) {
		t.Fatalf("error %v at node %d (has=%v), want node %d", err, pe.Node, pe.HasNode, node)
	}
}

func TestParseRatchetTreeErrors(t *testing.T) {
	cs := suite.MustGet(1)
	good := mustEncodeTree(t, fullTree(t, 1, 4))
	tr := fullTree(t, 1, 4)
	leafEnc := tr.at(0).leafEnc
	parentEnc := codec.MustEncode(tr.at(1).parent.marshal)
	vec := func(parts ...[]byte) []byte {
		body := bytes.Join(parts, nil)
		return append(appendVarint(nil, uint32(len(body))), body...)
	}
	leaf := append([]byte{1, 1}, leafEnc...)
	parent := append([]byte{1, 2}, parentEnc...)
	blank := []byte{0}
	unsorted := *tr.at(1).parent
	unsorted.UnmergedLeaves = []LeafIndex{1, 0}
	outside := *tr.at(1).parent
	outside.UnmergedLeaves = []LeafIndex{3}
	parentWith := func(p ParentNode) []byte { return append([]byte{1, 2}, codec.MustEncode(p.marshal)...) }

	for _, tc := range []struct {
		name     string
		data     []byte
		max      uint32
		sentinel error
		node     int
		codecErr error
	}{
		{"empty vector", vec(), 0, ErrInvalidTree, -1, nil},
		{"trailing blank", vec(leaf, blank, blank), 0, ErrInvalidTree, 2, nil},
		{"leaf at parent position", vec(leaf, leaf, leaf), 0, ErrInvalidTree, 1, nil},
		{"parent at leaf position", vec(parent), 0, ErrInvalidTree, 0, nil},
		{"unknown node type", vec([]byte{1, 3}), 0, ErrDecode, 0, codec.ErrInvalidValue},
		{"bad optional", vec([]byte{2}), 0, ErrDecode, 0, codec.ErrInvalidValue},
		{"truncated leaf", vec(leaf[:len(leaf)-1]), 0, ErrDecode, 0, codec.ErrTruncated},
		{"trailing bytes", append(slices.Clone(good), 0), 0, ErrDecode, -1, codec.ErrTrailingData},
		{"truncated header", good[:1], 0, ErrDecode, -1, codec.ErrTruncated},
		{"over leaf limit", good, 2, ErrInvalidTree, 3, nil},
		{"unmerged unsorted", vec(leaf, parentWith(unsorted), append([]byte{1, 1}, tr.at(2).leafEnc...)), 0, ErrInvalidTree, 1, nil},
		{"unmerged outside subtree", vec(leaf, parentWith(outside), append([]byte{1, 1}, tr.at(2).leafEnc...)), 0, ErrInvalidTree, 1, nil},
		{"unmerged blank leaf", vec(leaf, parentWith(ParentNode{EncryptionKey: []byte{1}, ParentHash: []byte{}, UnmergedLeaves: []LeafIndex{1}}), blank, blank, leaf), 0, ErrInvalidTree, 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeRatchetTree(cs, tc.data, tc.max)
			if got != nil {
				t.Fatal("tree returned with error")
			}
			treeErr(t, err, tc.sentinel, tc.node)
			if tc.codecErr != nil && !errors.Is(err, tc.codecErr) {
				t.Fatalf("error %v does not match %v", err, tc.codecErr)
			}
		})
	}
	// Every strict prefix of a valid encoding fails cleanly.
	for i := range good {
		if _, err := decodeRatchetTree(cs, good[:i], 0); err == nil {
			t.Fatalf("prefix of length %d decoded", i)
		}
	}
}

func TestValidateErrors(t *testing.T) {
	cs := suite.MustGet(1)
	base := fullTree(t, 1, 8)
	opts := TreeValidation{GroupID: fixtureGroupID}
	// mutate returns a copy of base with the node at x replaced.
	mutate := func(x NodeIndex, v Node) *RatchetTree {
		e := base.edit()
		e.set(x, v)
		nt, err := e.finish()
		if err != nil {
			t.Fatal(err)
		}
		return nt
	}
	leaf := func(l LeafIndex) LeafNode { return *base.Leaf(l) }
	par := func(x NodeIndex) ParentNode { return *base.ParentNode(x) }

	if err := base.Validate(TreeValidation{GroupID: fixtureGroupID, TreeHash: make([]byte, 32)}); true {
		treeErr(t, err, ErrTreeHash, int(base.Root()))
	}
	if err := base.Validate(TreeValidation{GroupID: []byte("other group")}); true {
		treeErr(t, err, ErrInvalidSignature, 0)
	}
	ln := leaf(3)
	ln.Signature = slices.Clone(ln.Signature)
	ln.Signature[0] ^= 1
	treeErr(t, mutate(6, Node{Leaf: &ln}).Validate(opts), ErrInvalidSignature, 6)

	p := par(3)
	p.ParentHash = make([]byte, 32)
	// Node 3's own parent hash changes, so its child's chain breaks first.
	treeErr(t, mutate(3, Node{Parent: &p}).Validate(opts), ErrParentHash, 3)

	p = par(5)
	p.EncryptionKey = leaf(0).EncryptionKey
	treeErr(t, mutate(5, Node{Parent: &p}).Validate(opts), ErrKeyReuse, 5)

	ln = leaf(5)
	ln.SignatureKey = leaf(4).SignatureKey
	treeErr(t, mutate(10, Node{Leaf: &ln}).Validate(opts), ErrKeyReuse, 10)

	ln = leaf(5)
	ln.Capabilities.Credentials = []CredentialType{CredentialX509}
	treeErr(t, mutate(10, Node{Leaf: &ln}).Validate(opts), ErrInvalidLeafNode, 10)

	ln = leaf(5)
	ln.Extensions = Extensions{{Type: 0xff00, Data: []byte{}}}
	treeErr(t, mutate(10, Node{Leaf: &ln}).Validate(opts), ErrInvalidLeafNode, 10)

	// A leaf unmerged at the root but not at the non-blank node between.
	p = par(7)
	p.UnmergedLeaves = []LeafIndex{0}
	treeErr(t, mutate(7, Node{Parent: &p}).Validate(opts), ErrInvalidTree, 1)

	// Lifetime checked when Now is given.
	d, _, err := base.Add(newMemberLeaf(cs, 0, 3))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(TreeValidation{GroupID: fixtureGroupID, Now: 1 << 63}); true {
		treeErr(t, err, ErrInvalidLeafNode, 16)
	}
	// Policy hook.
	hookErr := errors.New("not allowed")
	err = base.Validate(TreeValidation{GroupID: fixtureGroupID, CheckLeaf: func(l LeafIndex, _ *LeafNode) error {
		if l == 2 {
			return hookErr
		}
		return nil
	}})
	treeErr(t, err, ErrInvalidLeafNode, 4)
	if !errors.Is(err, hookErr) {
		t.Fatal(err)
	}
	// Credential support (Section 7.3) from the per-node summaries.
	x509 := leaf(1)
	x509.Credential = Credential{Type: CredentialX509, Certificates: [][]byte{{1}}}
	x509.Capabilities.Credentials = []CredentialType{CredentialBasic, CredentialX509}
	if err := base.CheckCredentialSupport(&x509, 1<<20); !errors.Is(err, ErrInvalidLeafNode) {
		t.Fatalf("x509 leaf in a basic-only group: %v", err)
	}
	noBasic := leaf(1)
	noBasic.Capabilities.Credentials = []CredentialType{CredentialX509, 0x0a0a}
	if err := base.CheckCredentialSupport(&noBasic, 1<<20); !errors.Is(err, ErrInvalidLeafNode) {
		t.Fatalf("leaf not supporting basic: %v", err)
	}
	if err := base.CheckCredentialSupport(base.Leaf(1), 1); err != nil {
		t.Fatal(err)
	}
	// Everyone supports x509; leaf 1 is its only user.
	mixed := base
	for l := range LeafIndex(8) {
		ln := leaf(l)
		ln.Capabilities.Credentials = []CredentialType{CredentialBasic, CredentialX509}
		if l == 1 {
			ln.Credential = x509.Credential
		}
		e := mixed.edit()
		e.set(l.Node(), Node{Leaf: &ln})
		if mixed, err = e.finish(); err != nil {
			t.Fatal(err)
		}
	}
	basicOnly := leaf(1)
	if err := mixed.CheckCredentialSupport(&basicOnly, 1<<20); !errors.Is(err, ErrInvalidLeafNode) {
		t.Fatalf("new leaf lacking x509 in use: %v", err)
	}
	if err := mixed.CheckCredentialSupport(&basicOnly, 1); err != nil {
		t.Fatalf("replacing the only x509 user: %v", err)
	}
	checkColdHash(t, mixed)
	// Sequential and parallel validation report the same first error.
	bad := mutate(6, Node{Leaf: func() *LeafNode { l := leaf(3); l.Signature = []byte{1}; return &l }()})
	if e1, e2 := bad.validate(opts, 1), bad.validate(opts, 4); e1.Error() != e2.Error() {
		t.Fatalf("sequential %v, parallel %v", e1, e2)
	}
}

// updatePathRoundTrip commits from sender with the given joiners excluded
// and checks that every other member (and each joiner through the Welcome
// path secret) ends with the committer's commit secret and a private state
// consistent with the new tree.
func updatePathRoundTrip(t *testing.T, tr *RatchetTree, privs map[LeafIndex]*TreePrivate, sender LeafIndex, joiners []LeafIndex, par int) {
	cs := tr.cs
	_, _, sigPriv, _ := leafKeys(cs, sender, 0)
	before := mustEncodeTree(t, tr)
	pending, err := tr.generateUpdatePath(seeded(cs.ID(), "rt", uint32(sender)), sender, *tr.Leaf(sender), sigPriv, fixtureGroupID, par)
	if err != nil {
		t.Fatal(err)
	}
	gc := append([]byte("context:"), pending.Tree().TreeHash()...)
	up, err := pending.encrypt(seeded(cs.ID(), "enc", 0), gc, joiners, par)
	if err != nil {
		t.Fatal(err)
	}
	// Seeded randomness reproduces the path byte for byte, in parallel too.
	pending2, _ := tr.generateUpdatePath(seeded(cs.ID(), "rt", uint32(sender)), sender, *tr.Leaf(sender), sigPriv, fixtureGroupID, 1)
	up2, _ := pending2.encrypt(seeded(cs.ID(), "enc", 0), gc, joiners, 1)
	if a, b := codec.MustEncode(up.marshal), codec.MustEncode(up2.marshal); !bytes.Equal(a, b) {
		t.Fatal("seeded UpdatePath differs between runs")
	}
	if err := pending.Private().Check(pending.Tree()); err != nil {
		t.Fatal(err)
	}
	if err := pending.Tree().Validate(TreeValidation{GroupID: fixtureGroupID}); err != nil {
		t.Fatalf("tree after commit: %v", err)
	}
	merged, err := tr.MergeUpdatePath(sender, up, fixtureGroupID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(merged.TreeHash(), pending.Tree().TreeHash()) {
		t.Fatal("receiver's merged tree differs from the committer's")
	}
	for l, p := range privs {
		if l == sender || slices.Contains(joiners, l) {
			continue
		}
		np, commit, _, err := merged.DecryptUpdatePathSecret(p, sender, up, gc, joiners, par)
		if err != nil {
			t.Fatalf("leaf %d: %v", l, err)
		}
		if !bytes.Equal(commit, pending.CommitSecret()) {
			t.Fatalf("leaf %d: commit secret differs", l)
		}
		if err := np.Check(merged); err != nil {
			t.Fatalf("leaf %d: %v", l, err)
		}
	}
	for _, j := range joiners {
		x, ps, ok := pending.PathSecretFor(j)
		if !ok {
			t.Fatalf("no path secret for joiner %d", j)
		}
		if lca, _ := treemath.CommonAncestor(j.Node(), sender.Node()); lca != x {
			t.Fatalf("joiner %d path secret at node %d, common ancestor %d", j, x, lca)
		}
		jp, err := privs[j].WelcomePrivate(merged, sender, ps)
		if err != nil {
			t.Fatalf("joiner %d: %v", j, err)
		}
		if err := jp.Check(merged); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(mustEncodeTree(t, tr), before) {
		t.Fatal("input tree changed")
	}
}

func TestUpdatePath(t *testing.T) {
	cs := suite.MustGet(1)
	tr := fullTree(t, 1, 16)
	privs := map[LeafIndex]*TreePrivate{}
	for l := range LeafIndex(16) {
		privs[l] = fixturePrivate(cs, tr, l)
		if err := privs[l].Check(tr); err != nil {
			t.Fatal(err)
		}
	}
	for _, par := range []int{1, 4} {
		updatePathRoundTrip(t, tr, privs, 5, nil, par)
	}
	// Remove two members, add two (new joiners excluded from encryption).
	var err error
	for _, l := range []LeafIndex{2, 9} {
		tr, err = tr.Remove(l)
		if err != nil {
			t.Fatal(err)
		}
		delete(privs, l)
	}
	var joiners []LeafIndex
	for i := range 2 {
		var l LeafIndex
		if tr, l, err = tr.Add(newMemberLeaf(cs, LeafIndex(i), 4)); err != nil {
			t.Fatal(err)
		}
		encPriv, _, _, _ := leafKeys(cs, LeafIndex(i), 4)
		if privs[l], err = newTreePrivate(cs, l, encPriv); err != nil {
			t.Fatal(err)
		}
		joiners = append(joiners, l)
	}
	for l := range privs {
		privs[l] = privs[l].Prune(tr)
	}
	updatePathRoundTrip(t, tr, privs, 12, joiners, 0)

	// Receiver-side rejections; none changes the tree.
	_, _, sigPriv, _ := leafKeys(cs, 12, 0)
	pending, err := tr.GenerateUpdatePath(nil, 12, *tr.Leaf(12), sigPriv, fixtureGroupID)
	if err != nil {
		t.Fatal(err)
	}
	gc := []byte("gc")
	up, err := pending.Encrypt(nil, gc, joiners)
	if err != nil {
		t.Fatal(err)
	}
	bad := *up
	bad.Nodes = up.Nodes[1:]
	if _, err := tr.MergeUpdatePath(12, &bad, fixtureGroupID); !errors.Is(err, ErrInvalidCommit) {
		t.Fatalf("short path: %v", err)
	}
	bad = *up
	bad.LeafNode.ParentHash = make([]byte, 32)
	if _, err := tr.MergeUpdatePath(12, &bad, fixtureGroupID); !errors.Is(err, ErrParentHash) {
		t.Fatalf("bad leaf parent hash: %v", err)
	}
	bad = *up
	bad.LeafNode.Signature = make([]byte, 64)
	if _, err := tr.MergeUpdatePath(12, &bad, fixtureGroupID); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("bad signature: %v", err)
	}
	bad = *up
	bad.LeafNode = *tr.Leaf(12)
	if _, err := tr.MergeUpdatePath(12, &bad, fixtureGroupID); !errors.Is(err, ErrInvalidLeafNode) && !errors.Is(err, ErrKeyReuse) {
		t.Fatalf("old leaf: %v", err)
	}
	if _, err := tr.MergeUpdatePath(99, up, fixtureGroupID); !errors.Is(err, ErrInvalidCommit) {
		t.Fatalf("sender out of range: %v", err)
	}
	merged, err := tr.MergeUpdatePath(12, up, fixtureGroupID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := merged.DecryptUpdatePath(privs[0], 12, up, []byte("other context"), joiners); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("wrong group context: %v", err)
	}
	if _, _, err := merged.DecryptUpdatePath(privs[0], 12, up, gc, nil); !errors.Is(err, ErrInvalidCommit) {
		t.Fatalf("joiners not excluded: %v", err)
	}
}

func TestTreeWireTypes(t *testing.T) {
	// Extensions: duplicates rejected, unknown kept.
	ok := Extensions{{Type: 0xff01, Data: []byte{1}}, {Type: ExtensionApplicationID, Data: []byte{}}}
	enc, err := ok.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var back Extensions
	if err := back.Unmarshal(enc); err != nil || len(back) != 2 || back[0].Type != 0xff01 {
		t.Fatal(back, err)
	}
	if e, found := back.Find(ExtensionApplicationID); !found || len(e.Data) != 0 {
		t.Fatal("Find")
	}
	dup, _ := Extensions{{Type: 7}, {Type: 7}}.Marshal()
	if err := back.Unmarshal(dup); !errors.Is(err, ErrDuplicateExtension) || !errors.Is(err, codec.ErrInvalidValue) {
		t.Fatal(err)
	}
	if ExtensionRatchetTree.String() != "ratchet_tree" || ExtensionType(0x0a0a).String() != "GREASE(0x0a0a)" {
		t.Fatal("ExtensionType.String")
	}
	// Credentials.
	for _, c := range []Credential{NewBasicCredential([]byte("alice")), {Type: CredentialX509, Certificates: [][]byte{{1, 2}, {3}}}} {
		enc, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var d Credential
		if err := d.Unmarshal(enc); err != nil || !d.Equal(&c) {
			t.Fatal(d, err)
		}
		for i := range enc {
			if d.Unmarshal(enc[:i]) == nil {
				t.Fatalf("prefix %d decoded", i)
			}
		}
	}
	var c Credential
	if err := c.Unmarshal([]byte{0, 9, 0}); !errors.Is(err, ErrUnknownCredentialType) {
		t.Fatal(err)
	}
	// LeafNode and UpdatePath round trips; every prefix fails.
	tr := fullTree(t, 1, 4)
	for _, x := range []NodeIndex{0, 2} {
		ln := tr.Leaf(LeafIndex(x / 2))
		enc, err := ln.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var d LeafNode
		if err := d.Unmarshal(enc); err != nil {
			t.Fatal(err)
		}
		if re, _ := d.Marshal(); !bytes.Equal(re, enc) {
			t.Fatal("LeafNode re-encoding differs")
		}
		for i := range enc {
			if d.Unmarshal(enc[:i]) == nil {
				t.Fatalf("LeafNode prefix %d decoded", i)
			}
		}
	}
	for l := range LeafIndex(4) {
		want, _ := tr.Leaf(l).TBS(fixtureGroupID, l)
		if got, err := tr.leafTBS(nil, l, fixtureGroupID); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("leafTBS(%d) differs from LeafNode.TBS", l)
		}
	}
	bad, _ := tr.Leaf(0).Marshal()
	// leaf_node_source follows encryption_key, signature_key, credential
	// and capabilities; corrupt it to reserved(0).
	var probe LeafNode
	_ = probe.Unmarshal(bad)
	pre := codec.MustEncode(func(b *cryptobyte.Builder) {
		codec.AddOpaque(b, probe.EncryptionKey)
		codec.AddOpaque(b, probe.SignatureKey)
		probe.Credential.marshal(b)
		probe.Capabilities.marshal(b)
	})
	bad = slices.Clone(bad)
	bad[len(pre)] = 0
	if err := probe.Unmarshal(bad); !errors.Is(err, codec.ErrInvalidValue) {
		t.Fatalf("reserved leaf_node_source: %v", err)
	}
}

// FuzzRatchetTree decodes arbitrary bytes as a ratchet_tree extension: it
// must never panic, a successful decode must re-encode byte-identically and
// survive validation, resolution and tree operations without panicking.
func FuzzRatchetTree(f *testing.F) {
	if dir, err := vectors.Dir(); err == nil {
		for _, name := range []string{"tree-validation.json", "tree-operations.json", "treekem.json"} {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				continue
			}
			for _, s := range fuzzSeeds(data) {
				f.Add(s)
			}
		}
	}
	f.Add(mustEncodeTree(f, fullTree(f, 1, 4)))
	cs := suite.MustGet(1)
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := decodeRatchetTree(cs, data, 1<<10)
		if err != nil {
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if re := mustEncodeTree(t, tr); !bytes.Equal(re, data) {
			t.Fatalf("re-encoding differs")
		}
		_ = tr.Validate(TreeValidation{})
		for x := NodeIndex(0); uint32(x) < tr.Width(); x++ {
			_ = tr.Resolution(x)
		}
		for l := range LeafIndex(tr.NumLeaves()) {
			_ = tr.FilteredDirectPath(l)
			if tr.Leaf(l) != nil {
				if _, err := tr.Remove(l); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, _, err := tr.Add(newMemberLeaf(cs, 0, 1)); err != nil {
			t.Fatal(err)
		}
	})
}

// fuzzSeeds extracts the ratchet trees of a vector file.
func fuzzSeeds(data []byte) [][]byte {
	var vs []map[string]any
	if json.Unmarshal(data, &vs) != nil {
		return nil
	}
	var out [][]byte
	for _, v := range vs {
		for _, k := range []string{"tree", "tree_before", "tree_after", "ratchet_tree"} {
			if s, ok := v[k].(string); ok {
				if b, err := hex.DecodeString(s); err == nil {
					out = append(out, b)
				}
			}
		}
	}
	return out
}
