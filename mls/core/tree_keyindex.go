package core

import (
	"bytes"
	"hash/maphash"
	"slices"
)

// keyIndex is a persistent hash index from public keys to the nodes that
// hold them, so the uniqueness checks of RFC 9420, Sections 7.3 and 12.4.2
// (encryption keys across the tree, signature keys across members) cost
// O(1) instead of a tree scan. Like the node array it is shared between
// epochs: a trie of fixed depth (three 32-way levels above buckets) whose
// changed paths are copied. Nodes owned by the current edit (same owner
// token) are updated in place, so bulk builds and multi-node edits copy each
// trie node at most once.
type keyIndex struct{ root *kiNode }

const (
	kiBits   = 5
	kiFan    = 1 << kiBits
	kiLevels = 3
)

type kiNode struct {
	owner *kiOwner
	kids  []*kiNode // internal levels
	ents  []kiEntry // buckets
}

type kiEntry struct {
	h uint64
	x NodeIndex
}

type kiOwner struct{ _ byte }

var kiSeed = maphash.MakeSeed()

func kiHash(key []byte) uint64 { return maphash.Bytes(kiSeed, key) }

func kiDigit(h uint64, lvl int) int { return int(h>>(64-kiBits*(lvl+1))) & (kiFan - 1) }

func (n *kiNode) own(o *kiOwner, internal bool) *kiNode {
	if n == nil {
		c := &kiNode{owner: o}
		if internal {
			c.kids = make([]*kiNode, kiFan)
		}
		return c
	}
	if n.owner == o {
		return n
	}
	return &kiNode{owner: o, kids: slices.Clone(n.kids), ents: slices.Clone(n.ents)}
}

// bucket returns the bucket for h, owned by o (copying the path).
func (ix *keyIndex) bucket(o *kiOwner, h uint64) *kiNode {
	ix.root = ix.root.own(o, true)
	n := ix.root
	for lvl := range kiLevels {
		d := kiDigit(h, lvl)
		c := n.kids[d].own(o, lvl < kiLevels-1)
		n.kids[d] = c
		n = c
	}
	return n
}

func (ix *keyIndex) insert(o *kiOwner, key []byte, x NodeIndex) {
	h := kiHash(key)
	b := ix.bucket(o, h)
	b.ents = append(b.ents, kiEntry{h, x})
}

func (ix *keyIndex) remove(o *kiOwner, key []byte, x NodeIndex) {
	h := kiHash(key)
	b := ix.bucket(o, h)
	b.ents = slices.DeleteFunc(b.ents, func(e kiEntry) bool { return e.h == h && e.x == x })
}

// find returns a node holding key (as reported by keyOf), preferring none
// in particular; skip excludes one node.
func (ix keyIndex) find(key []byte, keyOf func(NodeIndex) []byte, skip func(NodeIndex) bool) (NodeIndex, bool) {
	h := kiHash(key)
	n := ix.root
	for lvl := 0; n != nil && lvl < kiLevels; lvl++ {
		n = n.kids[kiDigit(h, lvl)]
	}
	if n == nil {
		return 0, false
	}
	for _, e := range n.ents {
		if e.h == h && (skip == nil || !skip(e.x)) && bytes.Equal(keyOf(e.x), key) {
			return e.x, true
		}
	}
	return 0, false
}

// indexNode adds (add=true) or removes the keys of node content v at x.
func (t *RatchetTree) indexNode(o *kiOwner, x NodeIndex, v Node, add bool) {
	k := v.EncryptionKey()
	if k == nil {
		return
	}
	if add {
		t.encIdx.insert(o, k, x)
	} else {
		t.encIdx.remove(o, k, x)
	}
	if v.Leaf != nil {
		if add {
			t.sigIdx.insert(o, v.Leaf.SignatureKey, x)
		} else {
			t.sigIdx.remove(o, v.Leaf.SignatureKey, x)
		}
	}
}

// buildIndexes indexes every non-blank node of a freshly built tree.
func (t *RatchetTree) buildIndexes() {
	o := new(kiOwner)
	t.encIdx, t.sigIdx = keyIndex{}, keyIndex{}
	for x := NodeIndex(0); uint32(x) < t.width(); x++ {
		n := t.at(x)
		if !n.blank() {
			t.indexNode(o, x, Node{Leaf: n.leaf, Parent: n.parent}, true)
		}
	}
}

// ContainsEncryptionKey reports whether some node of t holds the HPKE
// public key key, and which (RFC 9420, Sections 7.3, 12.4.2). O(1).
func (t *RatchetTree) ContainsEncryptionKey(key []byte) (NodeIndex, bool) {
	return t.encIdx.find(key, func(x NodeIndex) []byte { return t.at(x).encryptionKey() }, nil)
}

// FindEncryptionKeys reports whether any of keys is held by some node of t
// (the check of RFC 9420, Section 12.4.2 that no UpdatePath key appears in
// the tree). O(len(keys)).
func (t *RatchetTree) FindEncryptionKeys(keys [][]byte) (NodeIndex, bool) {
	for _, k := range keys {
		if x, ok := t.ContainsEncryptionKey(k); ok {
			return x, true
		}
	}
	return 0, false
}

// ContainsSignatureKey reports whether some leaf of t other than except
// holds the signature key key (RFC 9420, Section 7.3). O(1).
func (t *RatchetTree) ContainsSignatureKey(key []byte, except LeafIndex) (LeafIndex, bool) {
	x, ok := t.sigIdx.find(key,
		func(x NodeIndex) []byte { return t.at(x).leaf.SignatureKey },
		func(x NodeIndex) bool { return x == except.Node() })
	return LeafIndex(x / 2), ok
}
