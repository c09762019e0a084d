package core

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

// Persisting a member (issue 11, item 10): Group.MarshalState and
// UnmarshalGroupState, and RestoreGroup's generation reuse.

// reload simulates a restart of the member: only the encoded state and the
// Config survive. It checks that the state re-encodes byte for byte.
func reload(t testing.TB, g *Group) *Group {
	t.Helper()
	enc, err := g.MarshalState()
	if err != nil {
		t.Fatalf("leaf %d: MarshalState: %v", g.LeafIndex(), err)
	}
	n, err := UnmarshalGroupState(g.Config(), bytes.Clone(enc))
	if err != nil {
		t.Fatalf("leaf %d: UnmarshalGroupState: %v", g.LeafIndex(), err)
	}
	again, err := n.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(enc, again) {
		t.Fatalf("leaf %d: state does not re-encode identically", g.LeafIndex())
	}
	return n
}

// reloadAll replaces every member of all whose index is in which by its
// reloaded state.
func reloadAll(t testing.TB, all []*Group, which ...int) {
	t.Helper()
	for _, i := range which {
		all[i] = reload(t, all[i])
	}
}

// checkExports asserts that the active members agree on epoch,
// authenticator, tree hash and an exported secret.
func checkExports(t testing.TB, all []*Group, step string) {
	t.Helper()
	act := activeOnly(all)
	checkAgree(t, act...)
	want := mustExport(t, act[0], step)
	for _, g := range act[1:] {
		if !bytes.Equal(mustExport(t, g, step), want) {
			t.Fatalf("%s: leaf %d exports differently from leaf %d", step, g.LeafIndex(), act[0].LeafIndex())
		}
	}
}

// seal seals data at s (which must succeed) and returns the wire encoding.
func seal(t testing.TB, s *Group, data string) []byte {
	t.Helper()
	msg, err := s.SealApplication([]byte(data), nil)
	if err != nil {
		t.Fatalf("leaf %d sealing: %v", s.LeafIndex(), err)
	}
	enc, err := msg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

func open(r *Group, enc []byte) (*Processed, error) {
	m, err := UnmarshalMLSMessage(enc)
	if err != nil {
		return nil, err
	}
	return r.Process(m)
}

// TestSecurityPersistContinues: members saved and reloaded after every
// operation (a fresh process each time: only the bytes and the Config
// survive) continue exactly: same epochs, authenticators and exports as the
// peers that were never reloaded, no ratchet generation reused (a reloaded
// sender's messages are accepted by peers that already consumed its earlier
// generations), out-of-order keys and consumed keys kept across the
// reload, cached proposals and own Update keys committed after a reload,
// resumption PSKs resolved from the reloaded state, and removal and ReInit
// survive a reload.
func TestSecurityPersistContinues(t *testing.T) {
	for _, c := range []struct {
		cs      suite.ID
		encrypt bool
	}{{1, true}, {1, false}, {2, true}, {3, true}, {7, false}} {
		t.Run(fmt.Sprintf("cs=0x%04x/encrypt_handshake=%v", uint16(c.cs), c.encrypt), func(t *testing.T) {
			testPersistContinues(t, c.cs, c.encrypt)
		})
	}
}

func testPersistContinues(t *testing.T, cs suite.ID, encrypt bool) {
	all := newFlowGroup(t, cs, 11, "alice", "bob", "carol", "dave")
	for _, g := range all {
		g.cfg.EncryptHandshake = encrypt
	}
	// alice (0) and carol (2) are persisted after every step; bob (1)
	// and dave (3) stay in memory.
	persist := func(step string) {
		t.Helper()
		reloadAll(t, all, 0, 2)
		checkExports(t, all, step)
	}
	persist("joined")

	// Application messages across a reload, from a reloaded sender: the
	// peers already consumed generations 0 and 1.
	sendApp(t, all[0], all, "a0")
	persist("a0")
	sendApp(t, all[0], all, "a1")
	persist("a1")
	sendApp(t, all[0], all, "a2")
	sendApp(t, all[1], all, "b0")
	persist("b0")
	sendApp(t, all[2], all, "c0")
	persist("c0")

	// Out of order: bob's generation 2 arrives before 1 at the reloaded
	// members; the retained key of 1 survives a reload, and so does its
	// consumption.
	m1, m2 := seal(t, all[1], "b1"), seal(t, all[1], "b2")
	for _, i := range []int{0, 2, 3} {
		if _, err := open(all[i], m2); err != nil {
			t.Fatalf("leaf %d opening b2: %v", i, err)
		}
	}
	persist("b2")
	for _, i := range []int{0, 2, 3} {
		if _, err := open(all[i], m1); err != nil {
			t.Fatalf("leaf %d opening b1 after reload: %v", i, err)
		}
	}
	persist("b1")
	for _, i := range []int{0, 2} {
		before := all[i]
		if _, err := open(all[i], m1); !errors.Is(err, ErrKeyUsed) && !errors.Is(err, ErrGenerationTooOld) {
			t.Fatalf("leaf %d: replay of b1 after reload: %v", i, err)
		}
		if all[i] != before {
			t.Fatal("unreachable")
		}
	}
	persist("replay")

	// alice proposes an Update (her pending key must survive), bob
	// proposes to remove dave (cached at the reloaded members), carol
	// commits both by reference after a reload.
	prop, err := all[0].ProposeUpdate(nil)
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, all[0], all, prop)
	persist("update proposed")
	prop, err = all[1].Propose(&Remove{Removed: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, all[1], all, prop)
	persist("remove proposed")
	if len(all[2].proposals) != 2 || len(all[0].updateKeys) != 1 {
		t.Fatalf("reloaded: %d cached proposals, %d update keys", len(all[2].proposals), len(all[0].updateKeys))
	}
	pc := commitAndMerge(t, all[2], CommitOptions{})
	deliver(t, all[2], all, pc.Commit)
	if all[3].Active() {
		t.Fatal("dave still active")
	}
	all = all[:3]
	persist("update+remove committed")
	sendApp(t, all[0], all, "after update")
	persist("after update")

	// A resumption PSK of an earlier epoch, resolved from the retained
	// PSKs of the reloaded committer and receivers.
	psk, err := all[2].ResumptionPSKProposal(all[2].Epoch() - 1)
	if err != nil {
		t.Fatal(err)
	}
	pc = commitAndMerge(t, all[2], CommitOptions{Proposals: []ProposalBody{psk}})
	deliver(t, all[2], all, pc.Commit)
	persist("resumption psk")

	// A reloaded member adds erin; erin is reloaded right after joining.
	cfgE := newTestConfig(11_500)
	cfgE.EncryptHandshake = encrypt
	kpE := newKP(t, cfgE, cs, "erin")
	pc = commitAndMerge(t, all[0], CommitOptions{Proposals: []ProposalBody{&Add{KeyPackage: *kpE.KeyPackage}}, InlineTree: true})
	deliver(t, all[0], all, pc.Commit)
	e, err := Join(cfgE, wireRoundTrip(t, pc.Welcome), kpE, nil)
	if err != nil {
		t.Fatal(err)
	}
	all = append(all, e)
	reloadAll(t, all, 3)
	persist("erin joined")
	sendApp(t, all[3], all, "e0")
	persist("e0")
	sendApp(t, all[3], all, "e1")
	sendApp(t, all[0], all, "a after add")
	persist("e1")

	// Full-path commits by reloaded members and by peers.
	for _, i := range []int{0, 1, 2, 3} {
		pc := commitAndMerge(t, all[i], CommitOptions{ForcePath: true})
		deliver(t, all[i], all, pc.Commit)
		persist(fmt.Sprintf("update by %d", i))
	}

	// bob removes alice: her reloaded state stays removed.
	pc = commitAndMerge(t, all[1], CommitOptions{Proposals: []ProposalBody{&Remove{Removed: uint32(all[0].LeafIndex())}}})
	deliver(t, all[1], all, pc.Commit)
	persist("alice removed")
	if all[0].Active() {
		t.Fatal("alice active after a reload of her removed state")
	}
	if _, err := all[0].SealApplication([]byte("x"), nil); !errors.Is(err, ErrInactive) {
		t.Fatalf("removed member sealing after reload: %v", err)
	}

	// ReInit: the ended group's state survives a reload and the reloaded
	// states create and join the new group.
	rest := all[1:]
	ri := &ReInit{GroupID: []byte("reinit-persist"), Version: ProtocolVersionMLS10, CipherSuite: CipherSuite(cs), Extensions: Extensions{}}
	prop, err = rest[0].Propose(ri, nil)
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, rest[0], rest, prop)
	reloadAll(t, rest, 0, 1, 2)
	pc = commitAndMerge(t, rest[1], CommitOptions{})
	deliver(t, rest[1], rest, pc.Commit)
	reloadAll(t, rest, 0, 1, 2)
	for _, g := range rest {
		if g.Active() || g.PendingReInit() == nil || !bytes.Equal(g.PendingReInit().GroupID, ri.GroupID) {
			t.Fatalf("leaf %d after ReInit and reload: active %v, reinit %+v", g.LeafIndex(), g.Active(), g.PendingReInit())
		}
	}
	checkAgree(t, rest...)
	kps := make([]*KeyPackageBundle, len(rest))
	for i, g := range rest {
		kps[i] = newKP(t, g.cfg, cs, fmt.Sprintf("new-%d", i))
	}
	na, w, err := rest[0].ReInitGroup(rest[0].cfg, kps[0], []*KeyPackage{kps[1].KeyPackage, kps[2].KeyPackage}, true)
	if err != nil {
		t.Fatal(err)
	}
	nall := []*Group{na}
	for i := 1; i < 3; i++ {
		ng, err := Join(rest[i].cfg, wireRoundTrip(t, w), kps[i], &JoinOptions{Previous: rest[i]})
		if err != nil {
			t.Fatal(err)
		}
		nall = append(nall, ng)
	}
	reloadAll(t, nall, 0, 1, 2)
	checkExports(t, nall, "new group")
	sendApp(t, nall[1], nall, "new group")
}

// TestSecurityPersistNoGenerationReuse: a member that sent application
// messages, was saved and restored mid-epoch sends its next message under a
// new generation, which a peer that received the earlier ones accepts.
func TestSecurityPersistNoGenerationReuse(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs suite.ID) {
		all := newFlowGroup(t, cs, 12, "alice", "bob")
		a, b := all[0], all[1]
		for i := range 3 {
			if _, err := open(b, seal(t, a, fmt.Sprint("before ", i))); err != nil {
				t.Fatal(err)
			}
		}
		r := reload(t, a)
		enc := seal(t, r, "after")
		m, err := UnmarshalMLSMessage(enc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Process(m); err != nil {
			t.Fatalf("peer rejects the restored member's message: %v", err)
		}
	})
}

// TestSecurityRestoreGroupNoGenerationReuse: RestoreGroup assembles a
// member mid-epoch from parts that do not say which generations it used.
// It must not encrypt under generation 0 again (which the original code did:
// the peer rejected the message with "key for generation already used",
// after the sender had used one key and nonce twice); it refuses to encrypt
// in that epoch, and sends normally after the next commit.
func TestSecurityRestoreGroupNoGenerationReuse(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs suite.ID) {
		all := newFlowGroup(t, cs, 13, "alice", "bob")
		a, b := all[0], all[1]
		for i := range 2 {
			if _, err := open(b, seal(t, a, fmt.Sprint("before ", i))); err != nil {
				t.Fatal(err)
			}
		}
		r, err := RestoreGroup(a.Config(), a.Public(), a.EpochSecrets(), a.LeafIndex(), a.SignaturePrivateKey(), a.TreePrivate())
		if err != nil {
			t.Fatal(err)
		}
		msg, err := r.SealApplication([]byte("after restore"), nil)
		if err == nil {
			enc, _ := msg.Marshal()
			_, perr := open(b, enc)
			t.Fatalf("restored member encrypted again in its epoch (peer: %v)", perr)
		}
		if !errors.Is(err, ErrSendingLocked) {
			t.Fatalf("sealing from a restored state: %v", err)
		}
		// Handshake messages as PrivateMessage are locked too; as
		// PublicMessage they use no generation.
		r.cfg = &Config{Rand: seededReader(99), EncryptHandshake: true}
		if _, err := r.Commit(CommitOptions{ForcePath: true}); !errors.Is(err, ErrSendingLocked) {
			t.Fatalf("encrypted commit from a restored state: %v", err)
		}
		r.cfg = a.Config()
		// The restored state receives, and after the next epoch sends.
		if _, err := open(r, seal(t, b, "to restored")); err != nil {
			t.Fatal(err)
		}
		pc := commitAndMerge(t, b, CommitOptions{ForcePath: true})
		deliver(t, b, []*Group{r}, pc.Commit)
		checkAgree(t, r, b)
		if _, err := open(b, seal(t, r, "next epoch")); err != nil {
			t.Fatal(err)
		}
		// UnlockSending: the caller vouches that nothing was sent.
		r2, err := RestoreGroup(b.Config(), b.Public(), b.EpochSecrets(), b.LeafIndex(), b.SignaturePrivateKey(), b.TreePrivate())
		if err != nil {
			t.Fatal(err)
		}
		r2.UnlockSending()
		if _, err := open(r, seal(t, r2, "unlocked")); err != nil {
			t.Fatal(err)
		}
		// The lock survives MarshalState.
		r3, err := RestoreGroup(b.Config(), b.Public(), b.EpochSecrets(), b.LeafIndex(), b.SignaturePrivateKey(), b.TreePrivate())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reload(t, r3).SealApplication(nil, nil); !errors.Is(err, ErrSendingLocked) {
			t.Fatalf("reloaded restored state: %v", err)
		}
	})
}

// persistFixture returns a group of three members with state in every part
// of the encoding: retained out-of-order keys, cached proposals, an own
// pending Update key.
func persistFixture(t testing.TB, cs suite.ID) []*Group {
	all := newFlowGroup(t, cs, 14, "alice", "bob", "carol")
	for _, g := range all {
		g.cfg.EncryptHandshake = true
	}
	sendApp(t, all[0], all, "x")
	seal(t, all[1], "lost")
	if _, err := open(all[0], seal(t, all[1], "late")); err != nil {
		t.Fatal(err)
	}
	prop, err := all[0].ProposeUpdate(nil)
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, all[0], all, prop)
	prop, err = all[2].Propose(&Remove{Removed: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, all[2], all, prop)
	return all
}

// TestSecurityPersistStrict: the decoder rejects wrong versions (typed),
// trailing bytes, every strict prefix, and inconsistent states, each with
// a *ProtocolError.
func TestSecurityPersistStrict(t *testing.T) {
	all := persistFixture(t, 1)
	a, b := all[0], all[1]
	enc, err := a.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	if len(a.stree.ratchets) == 0 || len(a.proposals) != 2 || len(a.updateKeys) != 1 ||
		len(a.stree.ratchets[ratchetKey(1, ApplicationRatchet)].skipped) != 1 {
		t.Fatal("fixture lacks state")
	}
	decodeErr := func(data []byte) error {
		t.Helper()
		g, err := UnmarshalGroupState(a.Config(), data)
		if err == nil {
			t.Fatal("decoded")
		}
		if g != nil {
			t.Fatal("non-nil group with an error")
		}
		var pe *ProtocolError
		if !errors.As(err, &pe) {
			t.Fatalf("error %v is not a *ProtocolError", err)
		}
		return err
	}

	t.Run("version", func(t *testing.T) {
		for _, v := range []uint16{0, GroupStateVersion + 1, 0xffff} {
			bad := bytes.Clone(enc)
			bad[0], bad[1] = byte(v>>8), byte(v)
			if err := decodeErr(bad); !errors.Is(err, ErrUnsupported) {
				t.Fatalf("version %d: %v", v, err)
			}
		}
	})
	t.Run("trailing", func(t *testing.T) {
		if err := decodeErr(append(bytes.Clone(enc), 0)); !errors.Is(err, ErrDecode) {
			t.Fatal(err)
		}
	})
	t.Run("prefixes", func(t *testing.T) {
		for n := range len(enc) {
			if err := decodeErr(enc[:n]); !errors.Is(err, ErrDecode) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("prefix %d: %v", n, err)
			}
		}
	})

	// Inconsistent states, built by changing one part of a's state.
	bad := func(name string, f func(g *Group), want ...error) {
		t.Run(name, func(t *testing.T) {
			g := a.Clone()
			f(g)
			data, err := g.MarshalState()
			if err != nil {
				t.Fatal(err)
			}
			err = decodeErr(data)
			for _, w := range append(want, ErrDecode) {
				if !errors.Is(err, w) {
					t.Fatalf("got %v, want %v", err, w)
				}
			}
			t.Log(err)
		})
	}
	bad("leaf out of range", func(g *Group) { g.self = LeafIndex(g.pub.tree.NumLeaves()) })
	bad("leaf index of another member", func(g *Group) { g.self = b.self })
	bad("signature key of another member", func(g *Group) { g.sigPriv = b.sigPriv })
	bad("private tree of another member", func(g *Group) { g.priv = b.priv })
	bad("leaf HPKE key", func(g *Group) {
		priv, _, err := g.cs.GenerateKeyPair(seededReader(5))
		if err != nil {
			t.Fatal(err)
		}
		if g.priv, err = newTreePrivate(g.cs, g.self, priv); err != nil {
			t.Fatal(err)
		}
	}, ErrInvalidTree)
	bad("no leaf key", func(g *Group) { g.priv = &TreePrivate{leaf: g.self} })
	bad("tree hash", func(g *Group) {
		ctx := g.pub.ctx
		ctx.TreeHash = bytes.Repeat([]byte{1}, len(ctx.TreeHash))
		pg, err := newPublicGroup(g.cs, ctx, g.pub.tree, g.pub.interim)
		if err != nil {
			t.Fatal(err)
		}
		g.pub = pg
	}, ErrTreeHash)
	bad("tree of another epoch", func(g *Group) {
		pg := *g.pub
		pg.tree = newFlowGroup(t, 1, 15, "x", "y", "z")[0].pub.tree
		g.pub = &pg
	}, ErrTreeHash)
	bad("interim transcript hash", func(g *Group) {
		pg := *g.pub
		pg.interim = bytes.Repeat([]byte{2}, len(pg.interim))
		g.pub = &pg
	})
	bad("confirmation key", func(g *Group) {
		k := *g.keys
		k.Confirmation = bytes.Repeat([]byte{3}, len(k.Confirmation))
		g.keys = &k
	})
	bad("secret length", func(g *Group) {
		k := *g.keys
		k.Init = k.Init[:len(k.Init)-1]
		g.keys = &k
	})
	bad("secret tree size", func(g *Group) {
		st, err := g.keys.NewSecretTree(2 * g.pub.tree.NumLeaves())
		if err != nil {
			t.Fatal(err)
		}
		g.stree = st
	})
	bad("secret tree uncovered leaf", func(g *Group) { clear(g.stree.nodes) })
	bad("secret tree covered twice", func(g *Group) {
		g.stree.nodes[nodeIndex(0, g.stree.depth)] = treeNode{secret: g.keys.Encryption}
	})
	bad("one ratchet of a leaf", func(g *Group) { delete(g.stree.ratchets, ratchetKey(1, HandshakeRatchet)) })
	bad("retained key outside the window", func(g *Group) {
		r := *g.stree.ratchets[ratchetKey(1, ApplicationRatchet)]
		r.floor = r.next
		g.stree.ratchets[ratchetKey(1, ApplicationRatchet)] = &r
	})
	bad("resumption psk", func(g *Group) { g.resumption = nil })
	bad("status", func(g *Group) { g.state = stateReInit })
	bad("duplicate proposal", func(g *Group) { g.proposals = append(g.proposals, g.proposals[0]) })
}

// TestSecurityPersistUsesConfig: the Config given to UnmarshalGroupState
// applies (its secret tree limits), and decoding never aliases the input.
func TestSecurityPersistUsesConfig(t *testing.T) {
	all := persistFixture(t, 1)
	enc, err := all[0].MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	cfg := &Config{SecretTree: SecretTreeLimits{MaxForwardDistance: 3}}
	g, err := UnmarshalGroupState(cfg, enc)
	if err != nil {
		t.Fatal(err)
	}
	if g.Config() != cfg || g.stree.Limits().MaxForwardDistance != 3 {
		t.Fatal("Config not applied")
	}
	clear(enc)
	sendApp(t, all[1], []*Group{all[1], g}, "still works")
	checkAgree(t, g, all[1])
}

// FuzzUnmarshalGroupState: the decoder never panics, and a state it accepts
// re-encodes byte for byte. Seeded with real states.
func FuzzUnmarshalGroupState(f *testing.F) {
	for _, cs := range []suite.ID{1, 2} {
		all := persistFixture(f, cs)
		for _, g := range all {
			enc, err := g.MarshalState()
			if err != nil {
				f.Fatal(err)
			}
			f.Add(enc)
		}
		pc := commitAndMerge(f, all[1], CommitOptions{SkipCached: true, Proposals: []ProposalBody{&Remove{Removed: 0}}})
		deliver(f, all[1], all, pc.Commit)
		for _, g := range all {
			enc, err := g.MarshalState()
			if err != nil {
				f.Fatal(err)
			}
			f.Add(enc)
		}
	}
	cfg := &Config{}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := UnmarshalGroupState(cfg, data)
		if err != nil {
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ProtocolError", err)
			}
			return
		}
		enc, err := g.MarshalState()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("decode/encode differs:\n in %x\nout %x", data, enc)
		}
	})
}

// TestSecurityPersistAcrossCommit: a member that restarts between Commit
// and Merge continues from MarshalNextState once the delivery service
// accepted its commit (the post-Commit state, kept for a rejection, loads
// in the old epoch); persisting this way keeps erasure on (the keys the commit replaced are
// overwritten after Merge). A pending commit whose group moved on is stale:
// NextGroup returns nil and MarshalNextState ErrStalePendingCommit.
func TestSecurityPersistAcrossCommit(t *testing.T) {
	all := newFlowGroup(t, secCS, 16, "alice", "bob", "carol")
	a, b := all[0], all[1]
	oldLeaf := a.priv.find(a.self.Node()).priv
	pc, err := a.Commit(CommitOptions{ForcePath: true})
	if err != nil {
		t.Fatal(err)
	}
	next, err := pc.MarshalNextState()
	if err != nil {
		t.Fatal(err)
	}
	before, err := a.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	// Accepted: the restarted member loads the next state.
	for _, g := range all[1:] {
		if _, err := g.Process(wireRoundTrip(t, pc.Commit)); err != nil {
			t.Fatal(err)
		}
	}
	a2, err := UnmarshalGroupState(a.Config(), next)
	if err != nil {
		t.Fatal(err)
	}
	checkAgree(t, a2, b, all[2])
	if _, err := open(b, seal(t, a2, "after restart")); err != nil {
		t.Fatal(err)
	}
	// The live group merges too: its replaced leaf key is overwritten
	// (MarshalNextState handed nothing out).
	if err := a.Merge(pc); err != nil {
		t.Fatal(err)
	}
	if !allZero(oldLeaf) {
		t.Error("old leaf private key kept after Merge: MarshalNextState turned erasure off")
	}
	// The post-Commit state loads too (what a member whose commit lost
	// keeps), in the epoch before the commit.
	if a3, err := UnmarshalGroupState(a.Config(), before); err != nil || a3.Epoch() != a.Epoch()-1 {
		t.Fatalf("post-Commit state: %v", err)
	}
	// A commit that lost the race is stale.
	pcA, err := b.Commit(CommitOptions{ForcePath: true})
	if err != nil {
		t.Fatal(err)
	}
	pcC, err := all[2].Commit(CommitOptions{ForcePath: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Merge(pcA); err != nil {
		t.Fatal(err)
	}
	if _, err := all[2].Process(wireRoundTrip(t, pcA.Commit)); err != nil {
		t.Fatal(err)
	}
	if pcC.NextGroup() != nil {
		t.Error("NextGroup of a stale pending commit is not nil")
	}
	if _, err := pcC.MarshalNextState(); !errors.Is(err, ErrStalePendingCommit) {
		t.Errorf("MarshalNextState of a stale pending commit: %v, want ErrStalePendingCommit", err)
	}
}
