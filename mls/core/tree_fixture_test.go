package core

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/suite"
	"github.com/mlslab/mlslab/mls/treemath"
)

// Seeded ratchet tree fixtures for tests and benchmarks.
//
// fullTree(cs, n) is a tree of n leaves in which every node is populated and
// every parent is parent-hash valid: each parent's left child carries the
// parent hash of the parent (as if the leftmost leaf below had committed
// last), right-child leaves have source update, every leaf is signed for
// fixtureGroupID. All keys derive from the suite, the leaf or node index and
// a fixed seed, so they can be recomputed (leafKeys) and the fixture is
// identical in every process. Large fixtures are built once per process.

var fixtureGroupID = []byte("mlslab tree fixture")

type fixtureKey struct {
	cs suite.ID
	n  uint32
}

var (
	fixtureMu    sync.Mutex
	fixtureTrees = map[fixtureKey]*RatchetTree{}
)

func seeded(cs suite.ID, kind string, i uint32) *rand.ChaCha8 {
	var seed [32]byte
	copy(seed[:], kind)
	binary.BigEndian.PutUint16(seed[24:], uint16(cs))
	binary.BigEndian.PutUint32(seed[28:], i)
	return rand.NewChaCha8(seed)
}

// leafKeys returns the HPKE and signature private keys of fixture leaf l
// (generation gen: 0 for the full tree, >0 for leaves added later).
func leafKeys(cs *suite.Suite, l LeafIndex, gen uint32) (encPriv, encPub, sigPriv, sigPub []byte) {
	var err error
	encPriv, encPub, err = cs.GenerateKeyPair(seeded(cs.ID(), fmt.Sprintf("leaf-enc-%d", gen), uint32(l)))
	if err != nil {
		panic(err)
	}
	sigPriv, sigPub, err = cs.GenerateSignatureKeyPair(seeded(cs.ID(), fmt.Sprintf("leaf-sig-%d", gen), uint32(l)))
	if err != nil {
		panic(err)
	}
	return
}

// nodeKey returns the fixture HPKE key pair of parent node x.
func nodeKey(cs *suite.Suite, x NodeIndex) (priv, pub []byte) {
	priv, pub, err := cs.GenerateKeyPair(seeded(cs.ID(), "node", uint32(x)))
	if err != nil {
		panic(err)
	}
	return priv, pub
}

func fixtureLeafTemplate(cs *suite.Suite, id string) LeafNode {
	return LeafNode{
		Credential: NewBasicCredential([]byte(id)),
		Capabilities: Capabilities{
			Versions:     []ProtocolVersion{ProtocolVersionMLS10},
			CipherSuites: []CipherSuite{CipherSuite(cs.ID())},
			Extensions:   []ExtensionType{},
			Proposals:    []ProposalType{},
			Credentials:  []CredentialType{CredentialBasic},
		},
		Extensions: Extensions{},
	}
}

// fullTree returns the cached full fixture tree of n leaves (a power of 2).
func fullTree(tb testing.TB, id suite.ID, n uint32) *RatchetTree {
	tb.Helper()
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	k := fixtureKey{id, n}
	if t, ok := fixtureTrees[k]; ok {
		return t
	}
	t, err := buildFullTree(suite.MustGet(id), n)
	if err != nil {
		tb.Fatal(err)
	}
	fixtureTrees[k] = t
	return t
}

func buildFullTree(cs *suite.Suite, n uint32) (*RatchetTree, error) {
	if !treemath.ValidLeafCount(n) {
		return nil, fmt.Errorf("bad leaf count %d", n)
	}
	t := &RatchetTree{cs: cs, nLeaves: n}
	w := int(t.width())
	t.chunks = make([]*nodeChunk, (w+chunkLen-1)/chunkLen)
	for i := range t.chunks {
		t.chunks[i] = new(nodeChunk)
	}
	nodes := make([]node, w)
	for x := range w {
		t.chunks[x>>chunkShift][x&(chunkLen-1)] = &nodes[x]
	}
	// Key material, in parallel (independent per node).
	type leafMat struct{ encPub, sigPriv, sigPub []byte }
	leaves := make([]leafMat, n)
	parents := make([][]byte, n)
	err := parallelRange(0, w, 64, func(lo, hi int) error {
		for x := lo; x < hi; x++ {
			if x%2 == 0 {
				_, encPub, sigPriv, sigPub := leafKeys(cs, LeafIndex(x/2), 0)
				leaves[x/2] = leafMat{encPub, sigPriv, sigPub}
			} else {
				_, pub := nodeKey(cs, NodeIndex(x))
				parents[x/2] = pub
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	h := newHasher(cs)
	t.allocHashes(t.root())
	// process fills the subtree at x whose parent_hash field is ph (nil:
	// right child, no chain) and hashes it.
	var process func(x NodeIndex, ph []byte) error
	process = func(x NodeIndex, ph []byte) error {
		nd := t.at(x)
		if treemath.IsLeaf(x) {
			l := LeafIndex(x / 2)
			ln := fixtureLeafTemplate(cs, fmt.Sprintf("member-%d", l))
			ln.EncryptionKey = leaves[l].encPub
			ln.SignatureKey = leaves[l].sigPub
			if ph != nil {
				ln.Source, ln.ParentHash = LeafNodeSourceCommit, ph
			} else {
				ln.Source = LeafNodeSourceUpdate
			}
			if err := ln.signPriv(cs, leaves[l].sigPriv, fixtureGroupID, l); err != nil {
				return err
			}
			nd.leaf = &ln
			return t.hashLeafInto(h, nd, l)
		}
		if ph == nil {
			ph = []byte{}
		}
		nd.parent = &ParentNode{EncryptionKey: parents[x/2], ParentHash: ph, UnmergedLeaves: []LeafIndex{}}
		l, _ := treemath.Left(x)
		r, _ := treemath.Right(x)
		if err := process(r, nil); err != nil {
			return err
		}
		if err := process(l, h.parentHash(nd.parent.EncryptionKey, nd.parent.ParentHash, t.at(r).hash)); err != nil {
			return err
		}
		t.hashParentInto(h, nd, t.at(l), t.at(r))
		return nil
	}
	if err := process(t.root(), nil); err != nil {
		return nil, err
	}
	t.buildIndexes()
	return t, nil
}

// fixturePrivate returns the private state of leaf l of a full fixture tree
// (leaf key plus every parent key on its direct path).
func fixturePrivate(cs *suite.Suite, t *RatchetTree, l LeafIndex) *TreePrivate {
	encPriv, _, _, _ := leafKeys(cs, l, 0)
	p, err := newTreePrivate(cs, l, encPriv)
	if err != nil {
		panic(err)
	}
	var set []privKey
	for _, x := range treemath.DirectPath(l.Node(), t.nLeaves) {
		if t.at(x).parent == nil {
			continue
		}
		priv, pub := nodeKey(cs, x)
		set = append(set, privKey{node: x, priv: priv, pub: pub})
	}
	return p.with(set, nil).Prune(t)
}

// newMemberLeaf returns a key_package LeafNode for a fixture member added
// later (generation gen).
func newMemberLeaf(cs *suite.Suite, l LeafIndex, gen uint32) *LeafNode {
	_, encPub, sigPriv, sigPub := leafKeys(cs, l, gen)
	ln := fixtureLeafTemplate(cs, fmt.Sprintf("member-%d-%d", gen, l))
	ln.EncryptionKey, ln.SignatureKey = encPub, sigPub
	ln.Source = LeafNodeSourceKeyPackage
	ln.Lifetime = Lifetime{NotBefore: 0, NotAfter: 1 << 62}
	if err := ln.signPriv(cs, sigPriv, nil, 0); err != nil {
		panic(err)
	}
	return &ln
}

// degradedTree returns the full tree of n leaves after seeded churn:
// removes a fraction of the members, then adds new members (who land in
// the leftmost blanks and become unmerged leaves of non-blank ancestors).
func degradedTree(tb testing.TB, id suite.ID, n uint32) *RatchetTree {
	tb.Helper()
	fixtureMu.Lock()
	k := fixtureKey{id, n | 1<<31}
	t, ok := fixtureTrees[k]
	fixtureMu.Unlock()
	if ok {
		return t
	}
	cs := suite.MustGet(id)
	t = fullTree(tb, id, n)
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	var err error
	for range n * 2 / 5 { // remove 40% (some picks hit blanks and are skipped)
		l := LeafIndex(rng.Uint32N(n))
		if t.Leaf(l) == nil || l == 0 {
			continue
		}
		if t, err = t.Remove(l); err != nil {
			tb.Fatal(err)
		}
	}
	for i := range n / 6 { // add back ~17%
		var l LeafIndex
		if t, l, err = t.Add(newMemberLeaf(cs, LeafIndex(i), 1)); err != nil {
			tb.Fatal(err)
		}
		_ = l
	}
	fixtureMu.Lock()
	fixtureTrees[k] = t
	fixtureMu.Unlock()
	return t
}
