package core

import (
	"math/bits"
	"sync"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

// Blank right halves. Extending a tree of n leaves (RFC 9420, Section 7.7)
// puts it under a new blank root beside an all-blank subtree of n leaves:
// nodes [2n, 4n-1), rooted at 3n-1. A blank leaf's tree hash covers its
// leaf index (Section 7.8, LeafNodeHashInput), so every node of that
// subtree has its own hash and hashing it costs 2n-1 hashes: ~15 ms and
// 15 MiB of nodes at n = 2^16, for an Add commit that otherwise costs
// ~0.3 ms (bench/README.md, "Tree growth"). But
// the subtree depends only on the cipher suite (its hash) and on n, not on
// the group: it is the same in every tree that doubles from n leaves. So it
// is built once per process and shared, read-only, by every extended tree:
// its nodes are immutable like every published node, and its chunks are
// never written in place (editor.put copies a chunk it does not own before
// its first write). A cached extension costs O(n/256) chunk pointers plus
// the new member's path.
//
// Halves of up to maxCachedBlankLeaves leaves are kept for the life of the
// process: fewer than 4*maxCachedBlankLeaves nodes of ~112 bytes per suite
// in use (~30 MB), about the memory of the blank nodes that each extended
// tree of that size allocated on its own before. Larger halves are built
// for the tree that needs them and not kept.
const maxCachedBlankLeaves = 1 << 16

// blankHalf is the all-blank subtree of n leaves at leaves [n, 2n), hashed.
type blankHalf struct {
	once  sync.Once
	err   error
	nodes []node // node 2n+i at nodes[i]
	// chunks holds the nodes by chunk when the subtree is chunk-aligned
	// (n >= chunkLen/2): chunks[i] is chunk 2n/chunkLen+i of the tree. The
	// slot of node 4n-1, outside the subtree, is nil.
	chunks []*nodeChunk
}

type blankKey struct {
	cs *suite.Suite // one value per suite (suite.Get)
	k  int          // n = 2^k
}

var blankHalves sync.Map // blankKey -> *blankHalf

// blankRightHalf returns the hashed blank subtree of leaves [n, 2n) for
// suite cs (n a power of two), from the cache when n is small enough.
func blankRightHalf(cs *suite.Suite, n uint32) (*blankHalf, error) {
	if n > maxCachedBlankLeaves {
		h := new(blankHalf)
		h.build(cs, n)
		return h, h.err
	}
	key := blankKey{cs, bits.TrailingZeros32(n)}
	v, ok := blankHalves.Load(key)
	if !ok {
		v, _ = blankHalves.LoadOrStore(key, new(blankHalf))
	}
	h := v.(*blankHalf)
	h.once.Do(func() { h.build(cs, n) })
	return h, h.err
}

// build allocates the blank nodes of leaves [n, 2n) and hashes them, in
// parallel for large n (hashSubtrees), through a scratch tree that holds
// only those nodes.
func (h *blankHalf) build(cs *suite.Suite, n uint32) {
	first, end := NodeIndex(2*n), NodeIndex(4*n-1)
	h.nodes = make([]node, end-first)
	scratch := &RatchetTree{cs: cs, nLeaves: 2 * n, chunks: make([]*nodeChunk, (int(end)+chunkLen-1)/chunkLen)}
	if int(first)%chunkLen == 0 {
		slab := make([]nodeChunk, len(scratch.chunks)-int(first)/chunkLen)
		h.chunks = make([]*nodeChunk, len(slab))
		for i := range slab {
			h.chunks[i] = &slab[i]
		}
		copy(scratch.chunks[int(first)/chunkLen:], h.chunks)
	} else {
		scratch.chunks[0] = new(nodeChunk)
	}
	for x := first; x < end; x++ {
		scratch.chunks[x>>chunkShift][x&(chunkLen-1)] = &h.nodes[x-first]
	}
	h.err = scratch.hashSubtrees([]NodeIndex{NodeIndex(3*n - 1)}, 0)
}
