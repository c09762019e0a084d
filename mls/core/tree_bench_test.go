package core

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/suite"
	"github.com/mlslab/mlslab/mls/treemath"
)

// Ratchet tree and TreeKEM benchmarks (suite 0x0001). Fixtures are built
// once per process (tree_fixture_test.go): full trees of 2^10, 2^14 and
// 2^16 leaves, every node populated, and a degraded 2^14 tree after seeded
// removes and adds (blanks and unmerged leaves). Each case runs with
// par=1 (seq, single goroutine) and par=0 (par, GOMAXPROCS goroutines).
// BenchmarkCryptoFloor does, back to back in one goroutine, the same number
// of unavoidable primitive operations as each case, so case/floor is a
// measured ratio. Run e.g.
//
//	go test ./mls -run '^$' -bench 'TreeHash|UpdatePath|ValidateTree|CryptoFloor' -benchtime=1x

type benchTree struct {
	name string
	n    uint32
	get  func(testing.TB) *RatchetTree
	cs   suite.ID
}

func benchTrees() []benchTree {
	var out []benchTree
	for _, n := range []uint32{1 << 10, 1 << 14, 1 << 16} {
		out = append(out, benchTree{fmt.Sprintf("cs=0x0001/n=%d/tree=full", n), n, func(tb testing.TB) *RatchetTree { return fullTree(tb, 1, n) }, 1})
	}
	out = append(out, benchTree{"cs=0x0001/n=16384/tree=degraded", 1 << 14, func(tb testing.TB) *RatchetTree { return degradedTree(tb, 1, 1<<14) }, 1})
	return out
}

// benchTreesPQ are full fixture trees of the X-Wing suite 0x0053
// (issue 16: what a post-quantum KEM costs, next to suite 0x0001).
func benchTreesPQ() []benchTree {
	var out []benchTree
	for _, n := range []uint32{1 << 10, 1 << 14, 1 << 16} {
		out = append(out, benchTree{fmt.Sprintf("cs=0x0053/n=%d/tree=full", n), n, func(tb testing.TB) *RatchetTree { return fullTree(tb, 0x53, n) }, 0x53})
	}
	return out
}

// benchTreesAll: the suite 0x0001 trees and the post-quantum ones, for
// the benchmarks that compare suites (Commit, CommitFloor, Join,
// UpdatePath, CryptoFloor).
func benchTreesAll() []benchTree { return append(benchTrees(), benchTreesPQ()...) }

var modes = []struct {
	name string
	par  int
}{{"seq", 1}, {"par", 0}}

// cloneUnhashed returns a copy of t with fresh nodes and hash storage, for
// cold hashing without touching the shared fixture.
func cloneUnhashed(t *RatchetTree) *RatchetTree {
	c := &RatchetTree{cs: t.cs, nLeaves: t.nLeaves, chunks: make([]*nodeChunk, len(t.chunks)), encIdx: t.encIdx, sigIdx: t.sigIdx}
	nodes := make([]node, t.width())
	for i := range c.chunks {
		c.chunks[i] = new(nodeChunk)
	}
	for x := range NodeIndex(t.width()) {
		o := t.at(x)
		nodes[x] = node{leaf: o.leaf, parent: o.parent, leafEnc: o.leafEnc}
		c.chunks[x>>chunkShift][x&(chunkLen-1)] = &nodes[x]
	}
	c.allocHashes(c.root())
	return c
}

// benchSender picks the committer: leaf 0 (a member in every fixture).
const benchSender LeafIndex = 0

// benchCommit is one precomputed commit from benchSender.
type benchCommit struct {
	template LeafNode
	sigPriv  []byte
	pending  *PendingUpdatePath
	up       *UpdatePath
	gc       []byte
	receiver LeafIndex // lowest member in the sender's first copath subtree
	priv     *TreePrivate
}

var (
	benchCommitsMu sync.Mutex
	benchCommits   = map[string]*benchCommit{}
)

// receiverWork is the receiver's share of a benchCommit, for the floor
// benchmarks: the m path nodes at and above its decryption point (it
// derives their key pairs), the tree depth, the path LeafNode with its TBS
// (verified), and the ciphertext it decrypts with priv.
type receiverWork struct {
	m, depth int
	leaf     *LeafNode
	tbs      []byte
	ct       HPKECiphertext
	priv     []byte
}

func (c *benchCommit) receiverWork(t *RatchetTree) receiverWork {
	r := receiverWork{depth: int(treemath.Level(t.root())), leaf: &c.up.LeafNode,
		ct: c.up.Nodes[0].EncryptedPathSecret[0], priv: c.priv.PrivateKey(c.receiver.Node())}
	for _, x := range c.pending.path {
		if treemath.InSubtree(c.receiver.Node(), x) {
			r.m++
		}
	}
	r.tbs, _ = r.leaf.TBS(fixtureGroupID, benchSender)
	return r
}

func getBenchCommit(b *testing.B, bt benchTree) (*RatchetTree, *benchCommit) {
	t := bt.get(b)
	benchCommitsMu.Lock()
	defer benchCommitsMu.Unlock()
	if c, ok := benchCommits[bt.name]; ok {
		return t, c
	}
	cs := t.cs
	_, _, sigPriv, _ := leafKeys(cs, benchSender, 0)
	c := &benchCommit{template: *t.Leaf(benchSender), sigPriv: sigPriv}
	var err error
	if c.pending, err = t.GenerateUpdatePath(nil, benchSender, c.template, sigPriv, fixtureGroupID); err != nil {
		b.Fatal(err)
	}
	c.gc = append([]byte("provisional group context "), c.pending.Tree().TreeHash()...)
	if c.up, err = c.pending.Encrypt(nil, c.gc, nil); err != nil {
		b.Fatal(err)
	}
	// The receiver decrypting lowest (most key derivations): first member
	// under the first copath node.
	_, copath := t.filteredPath(benchSender)
	first, end := treemath.LeafRange(copath[0])
	for l := first; l < end; l++ {
		if t.Leaf(l) != nil {
			c.receiver = l
			break
		}
	}
	if t.Leaf(c.receiver) == nil {
		b.Fatal("no receiver")
	}
	if t.Leaf(c.receiver).Source == LeafNodeSourceKeyPackage {
		b.Fatal("receiver must be an original member (fixture keys known)")
	}
	c.priv = fixturePrivate(cs, t, c.receiver)
	benchCommits[bt.name] = c
	return t, c
}

func BenchmarkTreeHash(b *testing.B) {
	for _, bt := range benchTrees() {
		for _, m := range modes {
			b.Run(bt.name+"/cold-"+m.name, func(b *testing.B) {
				c := cloneUnhashed(bt.get(b))
				b.ReportAllocs()
				defer cpuTimer(b)()
				for b.Loop() {
					if err := c.hashSubtrees([]NodeIndex{c.root()}, m.par); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run(bt.name+"/incremental", func(b *testing.B) {
			t, c := getBenchCommit(b, bt)
			p := c.pending
			fields := make([][]byte, len(p.path))
			for i, x := range p.path {
				fields[i] = p.tree.ParentNode(x).ParentHash
			}
			b.ReportAllocs()
			defer cpuTimer(b)()
			for b.Loop() {
				nt, err := t.mergePath(benchSender, p.leaf, p.path, p.pubs, fields)
				if err != nil {
					b.Fatal(err)
				}
				_ = nt.TreeHash()
			}
		})
	}
}

func BenchmarkUpdatePath(b *testing.B) {
	for _, bt := range benchTreesAll() {
		// create: the committer's path as a commit makes it
		// (createUpdatePath: encapsulations overlapped with the leaf
		// signature and the provisional context); create2phase: the two
		// phases GenerateUpdatePath then Encrypt, the structure before
		// issue 17 item 3 (and that of the exported API).
		for _, m := range modes {
			b.Run(bt.name+"/create-"+m.name, func(b *testing.B) {
				t, c := getBenchCommit(b, bt)
				signer, err := t.cs.NewSigner(c.sigPriv)
				if err != nil {
					b.Fatal(err)
				}
				gc := func(nt *RatchetTree) ([]byte, error) {
					return append([]byte("provisional group context "), nt.TreeHash()...), nil
				}
				b.ReportAllocs()
				defer cpuTimer(b)()
				for b.Loop() {
					if _, _, err := t.createUpdatePath(nil, benchSender, c.template, signer, fixtureGroupID, nil, gc, m.par); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		for _, m := range modes {
			b.Run(bt.name+"/create2phase-"+m.name, func(b *testing.B) {
				t, c := getBenchCommit(b, bt)
				b.ReportAllocs()
				defer cpuTimer(b)()
				for b.Loop() {
					p, err := t.generateUpdatePath(nil, benchSender, c.template, c.sigPriv, fixtureGroupID, m.par)
					if err != nil {
						b.Fatal(err)
					}
					gc := append([]byte("provisional group context "), p.Tree().TreeHash()...)
					if _, err := p.encrypt(nil, gc, nil, m.par); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		for _, m := range modes {
			b.Run(bt.name+"/apply-"+m.name, func(b *testing.B) {
				t, c := getBenchCommit(b, bt)
				b.ReportAllocs()
				defer cpuTimer(b)()
				for b.Loop() {
					merged, err := t.MergeUpdatePath(benchSender, c.up, fixtureGroupID)
					if err != nil {
						b.Fatal(err)
					}
					if _, _, _, err := merged.DecryptUpdatePathSecret(c.priv, benchSender, c.up, c.gc, nil, m.par); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// cpuTimer reports the process CPU time (user+sys) per op as "cpu-ns/op":
// with par, cpu-ns/op close to the seq case means no parallel overhead, and
// cpu-ns/op divided by ns/op is the parallelism actually obtained (on a
// shared machine other processes may hold the cores).
func cpuTimer(b *testing.B) (stop func()) {
	start := cpuNow()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(cpuNow()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

func cpuNow() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// peakHeap samples the live heap every millisecond until stop is called
// and returns the maximum in MiB.
func peakHeap() (stop func() float64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() {
		metrics.Read(sample)
		if v := sample[0].Value.Uint64(); v > peak.Load() {
			peak.Store(v)
		}
	}
	go func() {
		defer close(finished)
		tk := time.NewTicker(time.Millisecond)
		defer tk.Stop()
		for {
			read()
			select {
			case <-done:
				return
			case <-tk.C:
			}
		}
	}()
	return func() float64 {
		close(done)
		<-finished
		read()
		return float64(peak.Load()) / (1 << 20)
	}
}

func BenchmarkValidateTree(b *testing.B) {
	for _, bt := range benchTrees() {
		for _, m := range modes {
			b.Run(bt.name+"/"+m.name, func(b *testing.B) {
				t := bt.get(b)
				opts := TreeValidation{GroupID: fixtureGroupID, TreeHash: t.TreeHash()}
				b.ReportAllocs()
				defer cpuTimer(b)()
				stop := peakHeap()
				for b.Loop() {
					if err := t.validate(opts, m.par); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(stop(), "peak-heap-MiB")
			})
		}
		// A joiner's whole job: decode the ratchet_tree extension (cold
		// hash included), then validate.
		for _, m := range modes {
			b.Run(bt.name+"/join-"+m.name, func(b *testing.B) {
				t := bt.get(b)
				enc := mustEncodeTree(b, t)
				opts := TreeValidation{GroupID: fixtureGroupID, TreeHash: t.TreeHash()}
				b.ReportAllocs()
				defer cpuTimer(b)()
				stop := peakHeap()
				for b.Loop() {
					s := cryptobyte.String(enc)
					nt, err := parseRatchetTree(t.cs, &s, 0, m.par)
					if err != nil {
						b.Fatal(err)
					}
					if err := nt.validate(opts, m.par); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(stop(), "peak-heap-MiB")
			})
		}
	}
}

// BenchmarkCryptoFloor runs, sequentially (create-par and create-split-par:
// in parallel, see there), the primitive operations each case cannot
// avoid:
//   - create: DeriveSecret x 2(k+1) and DeriveKeyPair x (k+1) for the leaf
//     and the k filtered-path nodes, one SignWithLabel, one
//     EncryptWithLabel per ciphertext, and k parent hashes plus (depth+1)
//     tree hashes over 200-byte inputs;
//   - apply: one VerifyWithLabel, one DecryptWithLabel, DeriveSecret x 2m
//     and DeriveKeyPair x m for the m path nodes the receiver derives, and
//     the same hashes;
//   - validate: VerifyWithLabel per member and one parent hash per
//     non-blank parent node.
func BenchmarkCryptoFloor(b *testing.B) {
	in := make([]byte, 200)
	for _, bt := range benchTreesAll() {
		cs := suite.MustGet(bt.cs)
		b.Run(bt.name+"/create", func(b *testing.B) {
			t, c := getBenchCommit(b, bt)
			k := len(c.pending.path)
			var seals int
			for i := range c.up.Nodes {
				seals += len(c.up.Nodes[i].EncryptedPathSecret)
			}
			depth := int(treemath.Level(t.root()))
			secret := make([]byte, cs.Nh())
			pub := t.Leaf(c.receiver).EncryptionKey
			b.ReportAllocs()
			defer cpuTimer(b)()
			for b.Loop() {
				for range k + 1 {
					ns := cs.DeriveSecret(cs.DeriveSecret(secret, "path"), "node")
					if _, _, err := cs.DeriveKeyPair(ns); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := cs.SignWithLabel(c.sigPriv, "LeafNodeTBS", in); err != nil {
					b.Fatal(err)
				}
				for range seals {
					if _, _, err := cs.EncryptWithLabel(nil, pub, "UpdatePathNode", in[:100], secret); err != nil {
						b.Fatal(err)
					}
				}
				for range k + depth + 1 {
					cs.Hash(in)
				}
			}
			b.ReportMetric(float64(k+1), "derives")
			b.ReportMetric(float64(seals), "seals")
		})
		// The parallel floors of create, over GOMAXPROCS goroutines:
		//   - create-par (the definition of CommitFloor's floor=par): the
		//     k+1 key pairs, the EncryptWithLabel calls and the signature
		//     in one pool, ignoring every dependency, then the hashes;
		//   - create-split-par: the same with EncryptWithLabel split as
		//     createUpdatePath splits it: key pairs, Encaps and signature
		//     in one pool, then the hashes (the provisional context), then
		//     the SealWithSecret calls in a pool, since they need it.
		for _, split := range []bool{false, true} {
			name := "/create-par"
			if split {
				name = "/create-split-par"
			}
			b.Run(bt.name+name, func(b *testing.B) {
				t, c := getBenchCommit(b, bt)
				k := len(c.pending.path)
				var seals int
				for i := range c.up.Nodes {
					seals += len(c.up.Nodes[i].EncryptedPathSecret)
				}
				depth := int(treemath.Level(t.root()))
				secret := make([]byte, cs.Nh())
				pub := t.Leaf(c.receiver).EncryptionKey
				signer, err := cs.NewSigner(c.sigPriv)
				if err != nil {
					b.Fatal(err)
				}
				par := runtime.GOMAXPROCS(0)
				shared := make([][]byte, seals)
				b.ReportAllocs()
				defer cpuTimer(b)()
				for b.Loop() {
					secrets := make([][]byte, k+1)
					s := secret
					for i := range secrets {
						s = cs.DeriveSecret(s, "path")
						secrets[i] = cs.DeriveSecret(s, "node")
					}
					parallelDo(par, k+1+seals+1, func(i int) {
						var err error
						switch {
						case i <= k:
							_, _, err = cs.DeriveKeyPair(secrets[i])
						case i <= k+seals && split:
							_, shared[i-k-1], err = cs.Encap(nil, pub)
						case i <= k+seals:
							_, _, err = cs.EncryptWithLabel(nil, pub, "UpdatePathNode", in[:100], secret)
						default:
							_, err = signer.SignWithLabel("LeafNodeTBS", in)
						}
						if err != nil {
							panic(err)
						}
					})
					for range k + depth + 1 {
						cs.Hash(in)
					}
					if split {
						ls := cs.NewLabeledSealer("UpdatePathNode", in[:100])
						parallelDo(par, seals, func(i int) {
							if _, err := ls.SealWithSecret(shared[i], secret); err != nil {
								panic(err)
							}
						})
					}
				}
				b.ReportMetric(float64(seals), "seals")
			})
		}
		b.Run(bt.name+"/apply", func(b *testing.B) {
			t, c := getBenchCommit(b, bt)
			path := c.pending.path
			r := c.receiverWork(t)
			secret := make([]byte, cs.Nh())
			b.ReportAllocs()
			defer cpuTimer(b)()
			for b.Loop() {
				if err := cs.VerifyWithLabel(r.leaf.SignatureKey, "LeafNodeTBS", r.tbs, r.leaf.Signature); err != nil {
					b.Fatal(err)
				}
				if _, err := cs.DecryptWithLabel(r.priv, "UpdatePathNode", c.gc, r.ct.KEMOutput, r.ct.Ciphertext); err != nil {
					b.Fatal(err)
				}
				for range r.m {
					ns := cs.DeriveSecret(cs.DeriveSecret(secret, "path"), "node")
					if _, _, err := cs.DeriveKeyPair(ns); err != nil {
						b.Fatal(err)
					}
				}
				for range len(path) + r.depth + 1 {
					cs.Hash(in)
				}
			}
			b.ReportMetric(float64(r.m), "derives")
		})
		b.Run(bt.name+"/validate", func(b *testing.B) {
			t := bt.get(b)
			type sig struct{ pub, tbs, sig []byte }
			var sigs []sig
			for l, ln := range t.Members() {
				tbs, _ := ln.TBS(fixtureGroupID, l)
				sigs = append(sigs, sig{ln.SignatureKey, tbs, ln.Signature})
			}
			parents := 0
			for x := NodeIndex(1); uint32(x) < t.width(); x += 2 {
				if t.at(x).parent != nil {
					parents++
				}
			}
			b.ReportAllocs()
			defer cpuTimer(b)()
			for b.Loop() {
				for _, s := range sigs {
					if err := cs.VerifyWithLabel(s.pub, "LeafNodeTBS", s.tbs, s.sig); err != nil {
						b.Fatal(err)
					}
				}
				for range parents {
					cs.Hash(in[:120])
				}
			}
			b.ReportMetric(float64(len(sigs)), "verifies")
		})
	}
}
