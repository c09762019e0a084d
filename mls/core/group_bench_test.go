package core

import (
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/suite"
	"github.com/mlslab/mlslab/mls/treemath"
)

// Group protocol benchmarks (suite 0x0001) on the tree engineer's fixture
// trees (tree_fixture_test.go, tree_bench_test.go: full 2^10, 2^14, 2^16
// and degraded 2^14); Commit, CommitFloor and Join also on full trees of
// the X-Wing suite 0x0053 (benchTreesPQ). A Group is attached to a fixture tree directly
// (benchGroups) instead of growing it by commits. Every case has a crypto
// floor: the unavoidable primitive operations of the case done back to
// back, sequentially (floor=seq) and split over GOMAXPROCS goroutines
// (floor=par), so case/floor is a measured ratio. Run e.g.
//
//	go test ./mls -run '^$' -bench 'Commit|AddCommit|Join|Application' -benchtime=3x
//
// Results and targets: bench/README.md, "Group protocol".

// benchGroups returns Groups for the members at leaves of the fixture
// tree t (original fixture members only: their keys are recomputable), all
// in one epoch of a group with ID fixtureGroupID, sharing one PublicGroup
// and one key schedule, as if they had all processed the last commit.
func benchGroups(tb testing.TB, t *RatchetTree, leaves ...LeafIndex) []*Group {
	tb.Helper()
	cs := t.cs
	ctx := GroupContext{
		Version: ProtocolVersionMLS10, CipherSuite: CipherSuite(cs.ID()), GroupID: fixtureGroupID, Epoch: 7,
		TreeHash: t.TreeHash(), ConfirmedTranscriptHash: make([]byte, cs.Nh()), Extensions: Extensions{},
	}
	pg, err := newPublicGroup(cs, ctx, t, make([]byte, cs.Nh()))
	if err != nil {
		tb.Fatal(err)
	}
	es, err := newEpochSecret(cs, seededReader(77))
	if err != nil {
		tb.Fatal(err)
	}
	keys := es.derive(cs)
	out := make([]*Group, len(leaves))
	for i, l := range leaves {
		_, _, sigPriv, _ := leafKeys(cs, l, 0)
		g := &Group{cfg: &Config{Rand: seededReader(uint64(l) + 1000)}, cs: cs, pub: pg, self: l, sigPriv: sigPriv,
			priv: fixturePrivate(cs, t, l), keys: keys}
		if err := g.startEpoch(); err != nil {
			tb.Fatal(err)
		}
		out[i] = g
	}
	return out
}

// benchKPs returns k KeyPackages compatible with the fixture trees.
func benchKPs(tb testing.TB, k int, seed uint64) []*KeyPackageBundle {
	return benchKPsSuite(tb, 1, k, seed)
}

// benchKPsSuite is benchKPs for suite cs.
func benchKPsSuite(tb testing.TB, cs suite.ID, k int, seed uint64) []*KeyPackageBundle {
	caps := DefaultCapabilities(CipherSuite(cs))
	caps.Credentials = []CredentialType{CredentialBasic}
	out := make([]*KeyPackageBundle, k)
	cfg := &Config{Rand: seededReader(seed)}
	for i := range out {
		kp, err := NewKeyPackage(cfg, CipherSuite(cs), NewBasicCredential(fmt.Appendf(nil, "joiner-%d-%d", seed, i)), &KeyPackageOptions{Capabilities: &caps})
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = kp
	}
	return out
}

func msgSize(tb testing.TB, m *MLSMessage) float64 {
	enc, err := m.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return float64(len(enc))
}

// parallelDo runs jobs 0..n-1 over par goroutines (par <= 1: in this one).
func parallelDo(par, n int, job func(i int)) {
	if par <= 1 || n < 2 {
		for i := range n {
			job(i)
		}
		return
	}
	var wg sync.WaitGroup
	for w := range min(par, n) {
		wg.Go(func() {
			for i := w; i < n; i += par {
				job(i)
			}
		})
	}
	wg.Wait()
}

var floorModes = []struct {
	name string
	par  func() int
}{{"floor=seq", func() int { return 1 }}, {"floor=par", func() int { return runtime.GOMAXPROCS(0) }}}

// BenchmarkCommit: a full-path self-update commit (RFC 9420, Section
// 12.4.1) by leaf 0, encoded: /create at the committer, /process at the
// receiver that derives the most path secrets (decode + Process).
func BenchmarkCommit(b *testing.B) {
	for _, bt := range benchTreesAll() {
		b.Run("create/"+bt.name, func(b *testing.B) { benchCommitCreate(b, bt) })
		b.Run("process/"+bt.name, func(b *testing.B) { benchCommitProcess(b, bt) })
	}
}

// BenchmarkCommitSuites is BenchmarkCommit and BenchmarkCommitFloor on a
// full 2^10 tree for the NIST-curve suites (0x0002 P-256, 0x0007 P-384,
// 0x0005 P-521) and 0x0001 for reference (issue 17 item 6). The P-521
// fixture takes a few seconds to build. Read with e.g.
//
//	benchstat -row /op,/cs -col /floor -filter '.unit:(sec/op OR cpu-sec/op)' out.txt
func BenchmarkCommitSuites(b *testing.B) {
	for _, id := range []suite.ID{1, 2, 7, 5} {
		bt := benchTree{fmt.Sprintf("cs=0x%04x/n=1024/tree=full", uint16(id)), 1 << 10,
			func(tb testing.TB) *RatchetTree { return fullTree(tb, id, 1<<10) }, id}
		b.Run("op=create/"+bt.name+"/floor=none", func(b *testing.B) { benchCommitCreate(b, bt) })
		b.Run("op=process/"+bt.name+"/floor=none", func(b *testing.B) { benchCommitProcess(b, bt) })
		for _, fm := range floorModes {
			b.Run("op=create/"+bt.name+"/"+fm.name, func(b *testing.B) { benchCommitFloorCreate(b, bt, fm.par()) })
			b.Run("op=process/"+bt.name+"/"+fm.name, func(b *testing.B) { benchCommitFloorProcess(b, bt, fm.par()) })
		}
	}
}

func benchCommitCreate(b *testing.B, bt benchTree) {
	t := bt.get(b)
	g := benchGroups(b, t, benchSender)[0]
	b.ReportAllocs()
	var size float64
	defer cpuTimer(b)()
	for b.Loop() {
		pc, err := g.Commit(CommitOptions{ForcePath: true})
		if err != nil {
			b.Fatal(err)
		}
		enc, err := pc.Commit.Marshal()
		if err != nil {
			b.Fatal(err)
		}
		size = float64(len(enc))
	}
	b.ReportMetric(size, "commit-bytes")
}

func benchCommitProcess(b *testing.B, bt benchTree) {
	t, bc := getBenchCommit(b, bt)
	gs := benchGroups(b, t, benchSender, bc.receiver)
	pc, err := gs[0].Commit(CommitOptions{ForcePath: true})
	if err != nil {
		b.Fatal(err)
	}
	enc, err := pc.Commit.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	recv := gs[1]
	b.ReportAllocs()
	defer cpuTimer(b)()
	for b.Loop() {
		r := *recv
		m, err := UnmarshalMLSMessage(enc)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Process(m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(enc)), "commit-bytes")
}

// BenchmarkCommitFloor is the crypto floor of BenchmarkCommit:
//   - create: k+1 node key pairs (leaf + k filtered-path nodes, each 2
//     DeriveSecret + DeriveKeyPair), one EncryptWithLabel per path
//     ciphertext, 2 SignWithLabel (path LeafNode, FramedContent), k parent
//     hashes and depth+1 tree hashes;
//   - process: 2 VerifyWithLabel (FramedContent, path LeafNode), one
//     DecryptWithLabel, m node key pairs (the path nodes at and above the
//     receiver's decryption point), the same hashes.
//
// With floor=par the independent operations (key pairs, encryptions,
// verifications) are spread over GOMAXPROCS goroutines; the secret chain
// and hashes stay sequential.
func BenchmarkCommitFloor(b *testing.B) {
	for _, bt := range benchTreesAll() {
		for _, fm := range floorModes {
			b.Run("create/"+bt.name+"/"+fm.name, func(b *testing.B) { benchCommitFloorCreate(b, bt, fm.par()) })
			b.Run("process/"+bt.name+"/"+fm.name, func(b *testing.B) { benchCommitFloorProcess(b, bt, fm.par()) })
		}
	}
}

func benchCommitFloorCreate(b *testing.B, bt benchTree, par int) {
	t, c := getBenchCommit(b, bt)
	cs := t.cs
	in := make([]byte, 200)
	k := len(c.pending.path)
	seals := 0
	for i := range c.up.Nodes {
		seals += len(c.up.Nodes[i].EncryptedPathSecret)
	}
	depth := int(treemath.Level(t.root()))
	secret := make([]byte, cs.Nh())
	pub := t.Leaf(c.receiver).EncryptionKey
	// The committer's Group signs with its parsed key (suite.Signer).
	signer, err := cs.NewSigner(c.sigPriv)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	defer cpuTimer(b)()
	for b.Loop() {
		secrets := make([][]byte, k+1)
		s := secret
		for i := range secrets {
			s = cs.DeriveSecret(s, "path")
			secrets[i] = cs.DeriveSecret(s, "node")
		}
		parallelDo(par, k+1+seals+2, func(i int) {
			var err error
			switch {
			case i <= k:
				_, _, err = cs.DeriveKeyPair(secrets[i])
			case i <= k+seals:
				_, _, err = cs.EncryptWithLabel(nil, pub, "UpdatePathNode", in[:100], secret)
			default:
				_, err = signer.SignWithLabel("FramedContentTBS", in)
			}
			if err != nil {
				panic(err)
			}
		})
		for range k + depth + 1 {
			cs.Hash(in)
		}
	}
	b.ReportMetric(float64(seals), "seals")
}

func benchCommitFloorProcess(b *testing.B, bt benchTree, par int) {
	t, c := getBenchCommit(b, bt)
	cs := t.cs
	in := make([]byte, 200)
	r := c.receiverWork(t)
	secret := make([]byte, cs.Nh())
	b.ReportAllocs()
	defer cpuTimer(b)()
	for b.Loop() {
		// The decryption comes first; the key pairs above it
		// depend on its result, the verifications do not.
		parallelDo(par, 3, func(i int) {
			var err error
			switch i {
			case 0:
				_, err = cs.DecryptWithLabel(r.priv, "UpdatePathNode", c.gc, r.ct.KEMOutput, r.ct.Ciphertext)
			default:
				err = cs.VerifyWithLabel(r.leaf.SignatureKey, "LeafNodeTBS", r.tbs, r.leaf.Signature)
			}
			if err != nil {
				panic(err)
			}
		})
		secrets := make([][]byte, r.m)
		s := secret
		for i := range secrets {
			s = cs.DeriveSecret(s, "path")
			secrets[i] = cs.DeriveSecret(s, "node")
		}
		parallelDo(par, r.m, func(i int) {
			if _, _, err := cs.DeriveKeyPair(secrets[i]); err != nil {
				panic(err)
			}
		})
		for range len(c.pending.path) + r.depth + 1 {
			cs.Hash(in)
		}
	}
	b.ReportMetric(float64(r.m), "derives")
}

// BenchmarkAddCommit: leaf 0 commits k Add proposals by value, without a
// path, and builds the Welcome (tree not inline).
func BenchmarkAddCommit(b *testing.B) {
	for _, k := range []int{1, 100} {
		kps := benchKPs(b, k, uint64(k))
		props := make([]ProposalBody, k)
		for i, kp := range kps {
			props[i] = &Add{KeyPackage: *kp.KeyPackage}
		}
		for _, bt := range benchTrees() {
			b.Run(fmt.Sprintf("add=%d/%s", k, bt.name), func(b *testing.B) {
				g := benchGroups(b, bt.get(b), benchSender)[0]
				b.ReportAllocs()
				var pc *PendingCommit
				for b.Loop() {
					var err error
					if pc, err = g.Commit(CommitOptions{Proposals: props}); err != nil {
						b.Fatal(err)
					}
					if _, err := pc.Commit.Marshal(); err != nil {
						b.Fatal(err)
					}
					if _, err := pc.Welcome.Marshal(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(msgSize(b, pc.Commit), "commit-bytes")
				b.ReportMetric(msgSize(b, pc.Welcome), "welcome-bytes")
			})
			for _, fm := range floorModes {
				// Floor: 2k VerifyWithLabel (KeyPackage and its LeafNode),
				// k EncryptWithLabel (GroupSecrets), 2 SignWithLabel
				// (FramedContent, GroupInfo), k*(depth+1) tree hashes.
				b.Run(fmt.Sprintf("add=%d/%s/%s", k, bt.name, fm.name), func(b *testing.B) {
					cs := suite.MustGet(1)
					t := bt.get(b)
					depth := int(treemath.Level(t.root()))
					_, _, sigPriv, _ := leafKeys(cs, 0, 0)
					in := make([]byte, 200)
					tbs, _ := kps[0].KeyPackage.LeafNode.TBS(nil, 0)
					ln := &kps[0].KeyPackage.LeafNode
					par := fm.par()
					b.ReportAllocs()
					for b.Loop() {
						parallelDo(par, 3*k+2, func(i int) {
							var err error
							switch {
							case i < 2*k:
								err = cs.VerifyWithLabel(ln.SignatureKey, "LeafNodeTBS", tbs, ln.Signature)
							case i < 3*k:
								_, _, err = cs.EncryptWithLabel(nil, kps[0].KeyPackage.InitKey, "Welcome", in[:100], in[:80])
							default:
								_, err = cs.SignWithLabel(sigPriv, "FramedContentTBS", in)
							}
							if err != nil {
								panic(err)
							}
						})
						for range k * (depth + 1) {
							cs.Hash(in)
						}
					}
				})
			}
		}
	}
}

// joinCase is a Welcome for a new member of a fixture group: leaf 1 is
// removed, then leaf 0 adds the joiner (who lands in leaf 1) with a
// full-path commit and the ratchet tree inline.
type joinCase struct {
	welcome []byte
	kp      *KeyPackageBundle
	members int
	parents int
	derives int
}

var (
	joinCasesMu sync.Mutex
	joinCases   = map[string]*joinCase{}
)

func getJoinCase(b *testing.B, bt benchTree) *joinCase {
	joinCasesMu.Lock()
	defer joinCasesMu.Unlock()
	if jc, ok := joinCases[bt.name]; ok {
		return jc
	}
	t, err := bt.get(b).Remove(1)
	if err != nil {
		b.Fatal(err)
	}
	g := benchGroups(b, t, benchSender)[0]
	kp := benchKPsSuite(b, bt.cs, 1, 99)[0]
	pc, err := g.Commit(CommitOptions{Proposals: []ProposalBody{&Add{KeyPackage: *kp.KeyPackage}}, ForcePath: true, InlineTree: true})
	if err != nil {
		b.Fatal(err)
	}
	enc, err := pc.Welcome.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	nt := pc.NextGroup().Public().Tree()
	jc := &joinCase{welcome: enc, kp: kp, members: int(nt.NumMembers())}
	for x := NodeIndex(1); uint32(x) < nt.width(); x += 2 {
		if nt.at(x).parent != nil {
			jc.parents++
		}
	}
	// The joiner at leaf 1 gets the path secret of node 1 and derives
	// every path node from there up.
	jc.derives = len(treemath.DirectPath(LeafIndex(1).Node(), nt.NumLeaves()))
	joinCases[bt.name] = jc
	return jc
}

// BenchmarkJoin: a new member joins from a Welcome with the ratchet tree
// inline (RFC 9420, Section 12.4.3.1): decode, decrypt, validate the tree
// (every leaf signature, parent hashes, tree hash), key schedule.
func BenchmarkJoin(b *testing.B) {
	for _, bt := range benchTreesAll() {
		b.Run(bt.name, func(b *testing.B) {
			jc := getJoinCase(b, bt)
			// An X-Wing Welcome with the tree inline exceeds
			// DefaultMaxMessageSize at 2^16 members (173 MB): the joiner
			// raises the limit (Config.MaxMessageSize).
			cfg := &Config{MaxMessageSize: max(DefaultMaxMessageSize, 2*len(jc.welcome))}
			runtime.GC()
			b.ReportAllocs()
			stop := peakHeap()
			for b.Loop() {
				m, err := cfg.UnmarshalMLSMessage(jc.welcome)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Join(cfg, m, jc.kp, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(stop(), "peak-heap-MiB")
			b.ReportMetric(float64(len(jc.welcome)), "welcome-bytes")
		})
		for _, fm := range floorModes {
			// Floor: one VerifyWithLabel per member leaf and for the
			// GroupInfo, one DecryptWithLabel (GroupSecrets), the path
			// key pairs, a tree hash per node and a parent hash per
			// parent.
			b.Run(bt.name+"/"+fm.name, func(b *testing.B) {
				jc := getJoinCase(b, bt)
				cs := suite.MustGet(bt.cs)
				t := bt.get(b)
				type sig struct{ pub, tbs, sig []byte }
				sigs := make([]sig, 0, jc.members)
				for l, ln := range t.Members() {
					tbs, _ := ln.TBS(fixtureGroupID, l)
					sigs = append(sigs, sig{ln.SignatureKey, tbs, ln.Signature})
				}
				in := make([]byte, 200)
				encPriv, encPub, _ := cs.GenerateKeyPair(seededReader(3))
				kem, ct, _ := cs.EncryptWithLabel(nil, encPub, "Welcome", in[:100], in[:80])
				width := int(t.width())
				par := fm.par()
				b.ReportAllocs()
				stop := peakHeap()
				for b.Loop() {
					parallelDo(par, len(sigs)+1, func(i int) {
						s := sigs[i%len(sigs)]
						if err := cs.VerifyWithLabel(s.pub, "LeafNodeTBS", s.tbs, s.sig); err != nil {
							panic(err)
						}
					})
					if _, err := cs.DecryptWithLabel(encPriv, "Welcome", in[:100], kem, ct); err != nil {
						b.Fatal(err)
					}
					for range jc.derives {
						if _, _, err := cs.DeriveKeyPair(cs.DeriveSecret(in[:32], "node")); err != nil {
							b.Fatal(err)
						}
					}
					parallelDo(par, par, func(w int) {
						for i := w; i < width+jc.parents; i += par {
							cs.Hash(in[:120])
						}
					})
				}
				b.ReportMetric(stop(), "peak-heap-MiB")
				b.ReportMetric(float64(len(sigs)+1), "verifies")
			})
		}
	}
}

// BenchmarkApplication: seal and open a 1 KiB application message
// (PrivateMessage, RFC 9420, Section 6.3) in a 1024-member group.
func BenchmarkApplication(b *testing.B) {
	bt := benchTrees()[0]
	data := make([]byte, 1024)
	b.Run("seal/"+bt.name, func(b *testing.B) {
		g := benchGroups(b, bt.get(b), benchSender)[0]
		b.ReportAllocs()
		var size int
		for b.Loop() {
			m, err := g.SealApplication(data, nil)
			if err != nil {
				b.Fatal(err)
			}
			enc, err := m.Marshal()
			if err != nil {
				b.Fatal(err)
			}
			size = len(enc)
		}
		b.ReportMetric(float64(size), "msg-bytes")
	})
	b.Run("open/"+bt.name, func(b *testing.B) {
		gs := benchGroups(b, bt.get(b), benchSender, 5)
		var queue [][]byte
		refill := func() {
			queue = queue[:0]
			for range 512 {
				m, err := gs[0].SealApplication(data, nil)
				if err != nil {
					b.Fatal(err)
				}
				enc, _ := m.Marshal()
				queue = append(queue, enc)
			}
		}
		refill()
		b.ReportAllocs()
		for b.Loop() {
			if len(queue) == 0 {
				b.StopTimer()
				refill()
				b.StartTimer()
			}
			m, err := UnmarshalMLSMessage(queue[0])
			if err != nil {
				b.Fatal(err)
			}
			queue = queue[1:]
			if _, err := gs[1].Process(m); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Floors: seal = SignWithLabel + 2 AEAD seals (content, sender data)
	// + 2 ratchet derivations; open = VerifyWithLabel + 2 AEAD opens + 2
	// derivations.
	cs := suite.MustGet(1)
	key, nonce := make([]byte, cs.Nk()), make([]byte, cs.Nn())
	_, _, sigPriv, sigPub := leafKeys(cs, 0, 0)
	tbs := make([]byte, 1024+100)
	sig, _ := cs.SignWithLabel(sigPriv, "FramedContentTBS", tbs)
	signer, _ := cs.NewSigner(sigPriv) // a Group signs with its parsed key
	secret := make([]byte, cs.Nh())
	b.Run("seal/"+bt.name+"/floor=seq", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := signer.SignWithLabel("FramedContentTBS", tbs); err != nil {
				b.Fatal(err)
			}
			cs.DeriveTreeSecret(secret, "key", 1, cs.Nk())
			cs.DeriveTreeSecret(secret, "secret", 1, cs.Nh())
			if _, err := cs.Seal(key, nonce, nil, tbs); err != nil {
				b.Fatal(err)
			}
			if _, err := cs.Seal(key, nonce, nil, tbs[:12]); err != nil {
				b.Fatal(err)
			}
		}
	})
	ct, _ := cs.Seal(key, nonce, nil, tbs)
	ct2, _ := cs.Seal(key, nonce, nil, tbs[:12])
	b.Run("open/"+bt.name+"/floor=seq", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := cs.VerifyWithLabel(sigPub, "FramedContentTBS", tbs, sig); err != nil {
				b.Fatal(err)
			}
			cs.DeriveTreeSecret(secret, "key", 1, cs.Nk())
			cs.DeriveTreeSecret(secret, "secret", 1, cs.Nh())
			if _, err := cs.Open(key, nonce, nil, ct); err != nil {
				b.Fatal(err)
			}
			if _, err := cs.Open(key, nonce, nil, ct2); err != nil {
				b.Fatal(err)
			}
		}
	})
}
