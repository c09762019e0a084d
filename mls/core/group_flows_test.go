package core

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

// End-to-end flows of the group API as an application drives it (RFC 9420,
// Sections 11, 12): three members by default, every cheap flow in all
// seven suites. Messages always cross the wire encoding (deliver,
// wireRoundTrip).

// forEachSuite runs f as subtest cs=0x000N for every suite.
func forEachSuite(t *testing.T, f func(t *testing.T, cs suite.ID)) {
	for _, cs := range suite.All {
		t.Run(fmt.Sprintf("cs=0x%04x", uint16(cs)), func(t *testing.T) { f(t, cs) })
	}
}

// newFlowGroup creates a group of the named members: the first creates it
// and adds the others in one commit whose Welcome carries the tree. cfgs
// lets callers adjust each member's Config before use (may be nil).
func newFlowGroup(t testing.TB, cs suite.ID, seed uint64, names ...string) []*Group {
	t.Helper()
	cfgs := make([]*Config, len(names))
	kps := make([]*KeyPackageBundle, len(names))
	for i, n := range names {
		cfgs[i] = newTestConfig(seed*1000 + uint64(i))
		kps[i] = newKP(t, cfgs[i], cs, n)
	}
	a, err := CreateGroup(cfgs[0], []byte(fmt.Sprintf("group-%d", seed)), kps[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	gs := []*Group{a}
	if len(names) == 1 {
		return gs
	}
	var adds []ProposalBody
	for _, kp := range kps[1:] {
		adds = append(adds, &Add{KeyPackage: *kp.KeyPackage})
	}
	pc := commitAndMerge(t, a, CommitOptions{Proposals: adds, InlineTree: true})
	for i := 1; i < len(names); i++ {
		g, err := Join(cfgs[i], wireRoundTrip(t, pc.Welcome), kps[i], nil)
		if err != nil {
			t.Fatalf("%s joining: %v", names[i], err)
		}
		gs = append(gs, g)
	}
	checkAgree(t, gs...)
	return gs
}

// commitAll: g commits opts, merges, and every other active member
// processes the commit.
func commitAll(t testing.TB, g *Group, all []*Group, opts CommitOptions) *PendingCommit {
	t.Helper()
	pc := commitAndMerge(t, g, opts)
	deliver(t, g, all, pc.Commit)
	checkAgree(t, activeOnly(all)...)
	return pc
}

func activeOnly(gs []*Group) []*Group {
	var out []*Group
	for _, g := range gs {
		if g.Active() {
			out = append(out, g)
		}
	}
	return out
}

// sendApp seals data at s and checks every other member opens it.
func sendApp(t testing.TB, s *Group, all []*Group, data string) {
	t.Helper()
	msg, err := s.SealApplication([]byte(data), []byte("aad-"+data))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := msg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		if r == s || !r.Active() {
			continue
		}
		m, err := UnmarshalMLSMessage(enc)
		if err != nil {
			t.Fatal(err)
		}
		p, err := r.Process(m)
		if err != nil {
			t.Fatalf("leaf %d opening from %d: %v", r.LeafIndex(), s.LeafIndex(), err)
		}
		if string(p.ApplicationData) != data || string(p.AuthenticatedData) != "aad-"+data ||
			p.ContentType != ContentTypeApplication || p.Sender != MemberSender(uint32(s.LeafIndex())) {
			t.Fatalf("leaf %d got %+v", r.LeafIndex(), p)
		}
	}
}

func mustExport(t testing.TB, g *Group, label string) []byte {
	t.Helper()
	e, err := g.Export(label, []byte("ctx"), 32)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestFlowCreateAddWelcome: create, add by KeyPackage with the tree in the
// Welcome and out of band, application messages both ways, exporter and
// epoch authenticator.
func TestFlowCreateAddWelcome(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs suite.ID) {
		cfgA, cfgB, cfgC := newTestConfig(11), newTestConfig(12), newTestConfig(13)
		kpA, kpB, kpC := newKP(t, cfgA, cs, "alice"), newKP(t, cfgB, cs, "bob"), newKP(t, cfgC, cs, "carol")
		a, err := CreateGroup(cfgA, []byte("flow"), kpA, nil)
		if err != nil {
			t.Fatal(err)
		}
		if a.Epoch() != 0 || a.Public().NumMembers() != 1 || a.CipherSuite() != CipherSuite(cs) || !bytes.Equal(a.GroupID(), []byte("flow")) {
			t.Fatalf("fresh group: epoch %d members %d", a.Epoch(), a.Public().NumMembers())
		}
		// Add B, tree inline.
		pc := commitAndMerge(t, a, CommitOptions{Proposals: []ProposalBody{&Add{KeyPackage: *kpB.KeyPackage}}, InlineTree: true})
		if pc.Welcome == nil || pc.Stats.PathCiphertexts != 0 || len(pc.Stats.Added) != 1 {
			t.Fatalf("add-only commit: %+v", pc.Stats)
		}
		b, err := Join(cfgB, wireRoundTrip(t, pc.Welcome), kpB, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkAgree(t, a, b)
		// Add C, tree out of band: a Welcome without the tree and no
		// JoinOptions.RatchetTree is rejected.
		pc = commitAndMerge(t, a, CommitOptions{Proposals: []ProposalBody{&Add{KeyPackage: *kpC.KeyPackage}}, ForcePath: true})
		deliver(t, a, []*Group{b}, pc.Commit)
		if _, err := Join(cfgC, wireRoundTrip(t, pc.Welcome), kpC, nil); !errors.Is(err, ErrInvalidWelcome) {
			t.Fatalf("join without tree: %v", err)
		}
		tree, err := a.Public().Tree().MarshalRatchetTree()
		if err != nil {
			t.Fatal(err)
		}
		c, err := Join(cfgC, wireRoundTrip(t, pc.Welcome), kpC, &JoinOptions{RatchetTree: tree})
		if err != nil {
			t.Fatal(err)
		}
		all := []*Group{a, b, c}
		checkAgree(t, all...)
		if c.LeafIndex() != 2 || a.Epoch() != 2 {
			t.Fatalf("C at leaf %d, epoch %d", c.LeafIndex(), a.Epoch())
		}
		for _, s := range all {
			sendApp(t, s, all, fmt.Sprintf("hi from %d", s.LeafIndex()))
		}
		// Exporter: equal across members, different per label and epoch;
		// the epoch authenticator changes every epoch.
		e1 := mustExport(t, a, "x")
		for _, g := range all[1:] {
			if !bytes.Equal(mustExport(t, g, "x"), e1) {
				t.Fatal("exporter differs between members")
			}
		}
		if bytes.Equal(mustExport(t, a, "y"), e1) {
			t.Fatal("exporter ignores the label")
		}
		auth1 := bytes.Clone(a.EpochAuthenticator())
		commitAll(t, b, all, CommitOptions{ForcePath: true})
		if bytes.Equal(mustExport(t, a, "x"), e1) || bytes.Equal(a.EpochAuthenticator(), auth1) {
			t.Fatal("exporter/authenticator did not change with the epoch")
		}
		if len(auth1) != suite.MustGet(cs).Nh() {
			t.Fatalf("authenticator is %d bytes", len(auth1))
		}
		// Secrets are KDF.Nh bytes, hashes and MACs the hash's size
		// (RFC 9420, Section 5.1); they differ in 0x004D-0x0050 (pq.go).
		gi, err := a.GroupInfo(GroupInfoOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s := suite.MustGet(cs)
		if len(a.ResumptionPSK()) != s.Nh() || len(gi.ConfirmationTag) != s.HashSize() ||
			len(gi.GroupContext.TreeHash) != s.HashSize() || len(gi.GroupContext.ConfirmedTranscriptHash) != s.HashSize() {
			t.Fatalf("resumption_psk/confirmation_tag/tree_hash/confirmed_transcript_hash %d/%d/%d/%d bytes, want KDF.Nh %d, Hash %d",
				len(a.ResumptionPSK()), len(gi.ConfirmationTag), len(gi.GroupContext.TreeHash), len(gi.GroupContext.ConfirmedTranscriptHash), s.Nh(), s.HashSize())
		}
	})
}

// TestFlowProposals: proposals by reference (sent by one member, committed
// by another) and by value; Update and Remove.
func TestFlowProposals(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs suite.ID) {
		all := newFlowGroup(t, cs, 2, "alice", "bob", "carol")
		a, b, c := all[0], all[1], all[2]

		// B proposes an Add of D; A commits it by reference.
		cfgD := newTestConfig(24)
		kpD := newKP(t, cfgD, cs, "dave")
		prop, err := b.Propose(&Add{KeyPackage: *kpD.KeyPackage}, &ProposeOptions{AuthenticatedData: []byte("add dave")})
		if err != nil {
			t.Fatal(err)
		}
		enc, _ := prop.Marshal()
		for _, r := range []*Group{a, c} {
			m, _ := UnmarshalMLSMessage(enc)
			p, err := r.Process(m)
			if err != nil {
				t.Fatal(err)
			}
			if p.ContentType != ContentTypeProposal || p.Proposal.Type() != ProposalTypeAdd || string(p.AuthenticatedData) != "add dave" {
				t.Fatalf("processed proposal: %+v", p)
			}
		}
		pc := commitAndMerge(t, a, CommitOptions{})
		if pc.Welcome == nil {
			t.Fatal("no Welcome for a referenced Add")
		}
		for _, r := range []*Group{b, c} {
			p, err := r.Process(wireRoundTrip(t, pc.Commit))
			if err != nil {
				t.Fatal(err)
			}
			if p.ContentType != ContentTypeCommit || len(p.Added) != 1 || p.Added[0] != 3 || p.Epoch != a.Epoch() {
				t.Fatalf("processed commit: %+v", p)
			}
		}
		d, err := Join(cfgD, wireRoundTrip(t, pc.Welcome), kpD, &JoinOptions{RatchetTree: mustTree(t, a)})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, d)
		checkAgree(t, all...)

		// C proposes an Update; D commits it (by reference) together with
		// a Remove of B by value.
		oldKey := bytes.Clone(a.Public().Tree().Leaf(c.LeafIndex()).EncryptionKey)
		up, err := c.ProposeUpdate(nil)
		if err != nil {
			t.Fatal(err)
		}
		deliver(t, c, all, up)
		pc = commitAndMerge(t, d, CommitOptions{Proposals: []ProposalBody{&Remove{Removed: uint32(b.LeafIndex())}}})
		if pc.Stats.PathCiphertexts == 0 || len(pc.Stats.Removed) != 1 {
			t.Fatalf("remove commit stats %+v", pc.Stats)
		}
		for _, r := range []*Group{a, b, c} {
			p, err := r.Process(wireRoundTrip(t, pc.Commit))
			if err != nil {
				t.Fatalf("leaf %d: %v", r.LeafIndex(), err)
			}
			if p.SelfRemoved != (r == b) || len(p.Removed) != 1 || p.Removed[0] != b.LeafIndex() {
				t.Fatalf("leaf %d: %+v", r.LeafIndex(), p)
			}
		}
		if b.Active() {
			t.Fatal("B still active")
		}
		if _, err := b.Process(wireRoundTrip(t, pc.Commit)); !errors.Is(err, ErrInactive) {
			t.Fatalf("removed member processing: %v", err)
		}
		all = []*Group{a, c, d}
		checkAgree(t, all...)
		if nk := a.Public().Tree().Leaf(c.LeafIndex()).EncryptionKey; bytes.Equal(nk, oldKey) {
			t.Fatal("C's leaf key unchanged after its Update was committed")
		}
		if a.Public().Tree().Leaf(1) != nil {
			t.Fatal("B's leaf not blank")
		}
		// C's new leaf key works: a path commit by A encrypts to it.
		commitAll(t, a, all, CommitOptions{ForcePath: true})
		for _, s := range all {
			sendApp(t, s, all, "after update")
		}
	})
}

func mustTree(t testing.TB, g *Group) []byte {
	t.Helper()
	enc, err := g.Public().Tree().MarshalRatchetTree()
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// TestFlowPSK: external and resumption PSKs (RFC 9420, Section 8.4); a
// member without the external PSK cannot process the commit and is left
// unchanged.
func TestFlowPSK(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs suite.ID) {
		all := newFlowGroup(t, cs, 3, "alice", "bob", "carol")
		a, b, c := all[0], all[1], all[2]
		commitAll(t, b, all, CommitOptions{ForcePath: true})
		store := &MemoryPSKStore{}
		store.AddExternal([]byte("ext"), []byte("shared external secret"))
		a.cfg.PSKs, b.cfg.PSKs = store, store
		ext, err := a.ExternalPSKProposal([]byte("ext"))
		if err != nil {
			t.Fatal(err)
		}
		res, err := a.ResumptionPSKProposal(a.Epoch() - 1)
		if err != nil {
			t.Fatal(err)
		}
		pc := commitAndMerge(t, a, CommitOptions{Proposals: []ProposalBody{ext, res}})
		// C lacks the external PSK.
		before := takeSnapshot(t, c)
		if _, err := c.Process(wireRoundTrip(t, pc.Commit)); !errors.Is(err, ErrInvalidProposal) {
			t.Fatalf("commit with unknown PSK: %v", err)
		}
		before.check(t, c)
		c.cfg.PSKs = store
		deliver(t, a, []*Group{b, c}, pc.Commit)
		checkAgree(t, all...)
		// A resumption PSK of an epoch nobody retains is rejected at commit.
		old, _ := a.ResumptionPSKProposal(0)
		a.cfg.KeepEpochs = 1
		commitAll(t, a, all, CommitOptions{ForcePath: true})
		if _, err := a.Commit(CommitOptions{Proposals: []ProposalBody{old}}); !errors.Is(err, ErrInvalidProposal) {
			t.Fatalf("expired resumption PSK: %v", err)
		}
	})
}

// TestFlowReInit: a ReInit proposal committed ends the group
// (PendingReInit); ReInitGroup creates the new group (here in another
// suite) and the others join it with the old group as Previous (RFC 9420,
// Section 11.2).
func TestFlowReInit(t *testing.T) {
	for _, pair := range [][2]suite.ID{{1, 1}, {1, 3}, {2, 7}} {
		t.Run(fmt.Sprintf("cs=0x%04x/to=0x%04x", uint16(pair[0]), uint16(pair[1])), func(t *testing.T) {
			from, to := pair[0], pair[1]
			all := newFlowGroup(t, from, 4, "alice", "bob", "carol")
			a, b, c := all[0], all[1], all[2]
			ri := &ReInit{GroupID: []byte("reinit-group"), Version: ProtocolVersionMLS10, CipherSuite: CipherSuite(to), Extensions: Extensions{}}
			prop, err := b.Propose(ri, nil)
			if err != nil {
				t.Fatal(err)
			}
			deliver(t, b, all, prop)
			pc := commitAndMerge(t, c, CommitOptions{})
			for _, r := range []*Group{a, b} {
				p, err := r.Process(wireRoundTrip(t, pc.Commit))
				if err != nil {
					t.Fatal(err)
				}
				if p.ReInit == nil || !bytes.Equal(p.ReInit.GroupID, ri.GroupID) {
					t.Fatalf("Processed.ReInit = %+v", p.ReInit)
				}
			}
			for _, g := range all {
				if g.Active() || g.PendingReInit() == nil || g.PendingReInit().CipherSuite != CipherSuite(to) {
					t.Fatalf("leaf %d after ReInit: active=%v reinit=%+v", g.LeafIndex(), g.Active(), g.PendingReInit())
				}
				if _, err := g.SealApplication([]byte("x"), nil); !errors.Is(err, ErrInactive) {
					t.Fatalf("sending after ReInit: %v", err)
				}
			}
			// The old group's last epoch is identical at all members.
			checkAgree(t, all...)

			kps := make([]*KeyPackageBundle, 3)
			for i, g := range all {
				kps[i] = newKP(t, g.cfg, to, fmt.Sprintf("member-%d-new", i))
			}
			// Wrong suite for the new group.
			if from != to {
				if _, _, err := a.ReInitGroup(a.cfg, newKP(t, a.cfg, from, "x"), nil, true); !errors.Is(err, ErrInvalidProposal) {
					t.Fatalf("ReInitGroup in the old suite: %v", err)
				}
			}
			na, w, err := a.ReInitGroup(a.cfg, kps[0], []*KeyPackage{kps[1].KeyPackage, kps[2].KeyPackage}, true)
			if err != nil {
				t.Fatal(err)
			}
			if na.Epoch() != 1 || na.CipherSuite() != CipherSuite(to) || !bytes.Equal(na.GroupID(), ri.GroupID) {
				t.Fatalf("new group: epoch %d suite %v", na.Epoch(), na.CipherSuite())
			}
			// Without the old group the reinit PSK cannot be resolved.
			if _, err := Join(b.cfg, wireRoundTrip(t, w), kps[1], nil); err == nil {
				t.Fatal("joined a ReInit group without the previous group")
			}
			nb, err := Join(b.cfg, wireRoundTrip(t, w), kps[1], &JoinOptions{Previous: b})
			if err != nil {
				t.Fatal(err)
			}
			nc, err := Join(c.cfg, wireRoundTrip(t, w), kps[2], &JoinOptions{Previous: c})
			if err != nil {
				t.Fatal(err)
			}
			nall := []*Group{na, nb, nc}
			checkAgree(t, nall...)
			commitAll(t, nb, nall, CommitOptions{ForcePath: true})
			sendApp(t, nc, nall, "new group")
		})
	}
}

// TestFlowBranch: Branch creates a subgroup linked by the branch
// resumption PSK (RFC 9420, Section 11.3); the old group stays usable.
func TestFlowBranch(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs suite.ID) {
		all := newFlowGroup(t, cs, 5, "alice", "bob", "carol")
		a, b := all[0], all[1]
		kpA, kpB := newKP(t, a.cfg, cs, "alice-2"), newKP(t, b.cfg, cs, "bob-2")
		na, w, err := a.Branch(a.cfg, []byte("branch"), kpA, []*KeyPackage{kpB.KeyPackage}, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Join(b.cfg, wireRoundTrip(t, w), kpB, &JoinOptions{RatchetTree: mustTree(t, na)}); err == nil {
			t.Fatal("joined a branch without the parent group")
		}
		nb, err := Join(b.cfg, wireRoundTrip(t, w), kpB, &JoinOptions{RatchetTree: mustTree(t, na), Previous: b})
		if err != nil {
			t.Fatal(err)
		}
		checkAgree(t, na, nb)
		if na.Public().NumMembers() != 2 || !bytes.Equal(nb.GroupID(), []byte("branch")) {
			t.Fatal("branch membership")
		}
		sendApp(t, nb, []*Group{na, nb}, "branch msg")
		// The parent group goes on.
		commitAll(t, b, all, CommitOptions{ForcePath: true})
		sendApp(t, a, all, "parent msg")
	})
}

// TestFlowExternalJoin: external commits through a GroupInfo with
// external_pub (RFC 9420, Section 12.4.3.2), including a resync that
// removes the joiner's own old leaf.
func TestFlowExternalJoin(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs suite.ID) {
		all := newFlowGroup(t, cs, 6, "alice", "bob", "carol")
		a, c := all[0], all[2]
		// Without external_pub an external join is impossible.
		gi, err := a.GroupInfo(GroupInfoOptions{InlineTree: true})
		if err != nil {
			t.Fatal(err)
		}
		cfgD := newTestConfig(61)
		if _, _, err := ExternalJoin(cfgD, gi, newKP(t, cfgD, cs, "dave"), nil); !errors.Is(err, ErrInvalidWelcome) {
			t.Fatalf("external join without external_pub: %v", err)
		}
		// The GroupInfo crosses the wire.
		gi, err = a.GroupInfo(GroupInfoOptions{ExternalPub: true})
		if err != nil {
			t.Fatal(err)
		}
		giEnc, _ := gi.Marshal()
		gi2, err := UnmarshalGroupInfo(giEnc)
		if err != nil {
			t.Fatal(err)
		}
		d, msg, err := ExternalJoin(cfgD, gi2, newKP(t, cfgD, cs, "dave"), &ExternalJoinOptions{RatchetTree: mustTree(t, a), AuthenticatedData: []byte("hello")})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range all {
			p, err := r.Process(wireRoundTrip(t, msg))
			if err != nil {
				t.Fatal(err)
			}
			if p.Sender.Type != SenderTypeNewMemberCommit || string(p.AuthenticatedData) != "hello" {
				t.Fatalf("external commit: %+v", p)
			}
		}
		all = append(all, d)
		checkAgree(t, all...)
		sendApp(t, d, all, "from dave")

		// Resync: C lost its state and rejoins, removing its old leaf.
		gi, err = a.GroupInfo(GroupInfoOptions{InlineTree: true, ExternalPub: true})
		if err != nil {
			t.Fatal(err)
		}
		old := c.LeafIndex()
		kpC2, err := NewKeyPackage(c.cfg, CipherSuite(cs), NewBasicCredential([]byte("carol")), &KeyPackageOptions{SignatureKey: c.SignaturePrivateKey()})
		if err != nil {
			t.Fatal(err)
		}
		c2, msg, err := ExternalJoin(c.cfg, gi, kpC2, &ExternalJoinOptions{Remove: &old})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range all {
			p, err := r.Process(wireRoundTrip(t, msg))
			if err != nil {
				t.Fatalf("leaf %d: %v", r.LeafIndex(), err)
			}
			if p.SelfRemoved != (r == c) {
				t.Fatalf("leaf %d SelfRemoved=%v", r.LeafIndex(), p.SelfRemoved)
			}
		}
		if c.Active() {
			t.Fatal("old C state still active")
		}
		all = []*Group{all[0], all[1], d, c2}
		checkAgree(t, all...)
		if c2.LeafIndex() != old || c2.Public().NumMembers() != 4 {
			t.Fatalf("resynced C at leaf %d (old %d), %d members", c2.LeafIndex(), old, c2.Public().NumMembers())
		}
		commitAll(t, c2, all, CommitOptions{ForcePath: true})
		sendApp(t, c2, all, "back")
	})
}

// TestFlowExternalSenders: a group with the external_senders extension
// accepts Add and Remove proposals signed by an external sender (RFC 9420,
// Section 12.1.8) and rejects those of unknown senders or disallowed types.
func TestFlowExternalSenders(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs suite.ID) {
		s := suite.MustGet(cs)
		esPriv, esPub, err := s.GenerateSignatureKeyPair(seededReader(70))
		if err != nil {
			t.Fatal(err)
		}
		ext, err := ExternalSendersExtension([]ExternalSender{{SignatureKey: esPub, Credential: NewBasicCredential([]byte("ds"))}})
		if err != nil {
			t.Fatal(err)
		}
		cfgA := newTestConfig(71)
		a, err := CreateGroup(cfgA, []byte("ext-senders"), newKP(t, cfgA, cs, "alice"), Extensions{ext})
		if err != nil {
			t.Fatal(err)
		}
		cfgB := newTestConfig(72)
		kpB := newKP(t, cfgB, cs, "bob")
		pc := commitAndMerge(t, a, CommitOptions{Proposals: []ProposalBody{&Add{KeyPackage: *kpB.KeyPackage}}, InlineTree: true})
		b, err := Join(cfgB, wireRoundTrip(t, pc.Welcome), kpB, nil)
		if err != nil {
			t.Fatal(err)
		}
		all := []*Group{a, b}

		// The external sender adds C.
		cfgC := newTestConfig(73)
		kpC := newKP(t, cfgC, cs, "carol")
		ctx := a.Public().Context()
		prop, err := NewExternalProposal(&ctx, 0, esPriv, &Add{KeyPackage: *kpC.KeyPackage}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range all {
			p, err := r.Process(wireRoundTrip(t, prop))
			if err != nil {
				t.Fatal(err)
			}
			if p.Sender != (Sender{Type: SenderTypeExternal, Index: 0}) || p.Proposal.Type() != ProposalTypeAdd {
				t.Fatalf("external proposal: %+v", p)
			}
		}
		pc = commitAndMerge(t, b, CommitOptions{InlineTree: true})
		deliver(t, b, all, pc.Commit)
		c, err := Join(cfgC, wireRoundTrip(t, pc.Welcome), kpC, nil)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, c)
		checkAgree(t, all...)

		// Unknown external sender index, wrong key, disallowed type.
		ctx = a.Public().Context()
		bad, err := NewExternalProposal(&ctx, 1, esPriv, &Remove{Removed: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Process(wireRoundTrip(t, bad)); !errors.Is(err, ErrUnknownSender) {
			t.Fatalf("unknown external sender: %v", err)
		}
		bad, err = NewExternalProposal(&ctx, 0, b.SignaturePrivateKey(), &Remove{Removed: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Process(wireRoundTrip(t, bad)); !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("external proposal with wrong key: %v", err)
		}
		if _, err := NewExternalProposal(&ctx, 0, esPriv, &Update{}, nil); !errors.Is(err, ErrInvalidMessage) {
			t.Fatalf("external Update: %v", err)
		}

		// The external sender removes B; A commits it.
		prop, err = NewExternalProposal(&ctx, 0, esPriv, &Remove{Removed: uint32(b.LeafIndex())}, []byte("policy"))
		if err != nil {
			t.Fatal(err)
		}
		deliver(t, nil, all, prop)
		pc = commitAndMerge(t, a, CommitOptions{})
		deliver(t, a, all, pc.Commit)
		if b.Active() {
			t.Fatal("B not removed")
		}
		checkAgree(t, a, c)

		// A group without external_senders rejects external proposals.
		plain := newFlowGroup(t, cs, 7, "x", "y")
		pctx := plain[0].Public().Context()
		bad, _ = NewExternalProposal(&pctx, 0, esPriv, &Remove{Removed: 1}, nil)
		if _, err := plain[0].Process(wireRoundTrip(t, bad)); !errors.Is(err, ErrUnknownSender) {
			t.Fatalf("external proposal without external_senders: %v", err)
		}
	})
}

// TestFlowRequiredCapabilities: a group with required_capabilities rejects
// KeyPackages that lack them (RFC 9420, Section 11.1).
func TestFlowRequiredCapabilities(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs suite.ID) {
		const custom ExtensionType = 0xff0a
		rc, err := RequiredCapabilitiesExtension(&RequiredCapabilities{ExtensionTypes: []ExtensionType{custom}, CredentialTypes: []CredentialType{CredentialBasic}})
		if err != nil {
			t.Fatal(err)
		}
		caps := DefaultCapabilities(CipherSuite(cs))
		caps.Extensions = []ExtensionType{custom}
		cfgA := newTestConfig(81)
		kpA, err := NewKeyPackage(cfgA, CipherSuite(cs), NewBasicCredential([]byte("alice")), &KeyPackageOptions{Capabilities: &caps})
		if err != nil {
			t.Fatal(err)
		}
		// The creator must meet them too.
		if _, err := CreateGroup(cfgA, []byte("rc"), newKP(t, cfgA, cs, "plain"), Extensions{rc}); err == nil {
			t.Fatal("created a group its creator cannot support")
		}
		a, err := CreateGroup(cfgA, []byte("rc"), kpA, Extensions{rc})
		if err != nil {
			t.Fatal(err)
		}
		kpPlain := newKP(t, newTestConfig(82), cs, "bob")
		if _, err := a.Commit(CommitOptions{Proposals: []ProposalBody{&Add{KeyPackage: *kpPlain.KeyPackage}}}); !errors.Is(err, ErrInvalidLeafNode) {
			t.Fatalf("Add lacking required capabilities: %v", err)
		}
		if _, err := a.Propose(&Add{KeyPackage: *kpPlain.KeyPackage}, nil); err != nil {
			t.Fatal(err) // proposing is local; validation happens at commit
		}
		before := takeSnapshot(t, a)
		if _, err := a.Commit(CommitOptions{}); !errors.Is(err, ErrInvalidLeafNode) {
			t.Fatalf("cached Add lacking required capabilities: %v", err)
		}
		before.check(t, a)
		cfgB := newTestConfig(83)
		kpB, err := NewKeyPackage(cfgB, CipherSuite(cs), NewBasicCredential([]byte("bob")), &KeyPackageOptions{Capabilities: &caps})
		if err != nil {
			t.Fatal(err)
		}
		pc := commitAndMerge(t, a, CommitOptions{SkipCached: true, Proposals: []ProposalBody{&Add{KeyPackage: *kpB.KeyPackage}}, InlineTree: true})
		b, err := Join(cfgB, wireRoundTrip(t, pc.Welcome), kpB, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkAgree(t, a, b)
		// A GroupContextExtensions that B does not support is rejected.
		if _, err := a.Commit(CommitOptions{Proposals: []ProposalBody{&GroupContextExtensions{Extensions: Extensions{rc, {Type: 0xff0b, Data: []byte{1}}}}}}); !errors.Is(err, ErrInvalidProposal) {
			t.Fatalf("unsupported GroupContextExtensions: %v", err)
		}
	})
}

// TestFlowWrongEpoch: a commit created in an older epoch is rejected
// (ErrWrongEpoch) and a pending commit that lost the race cannot be merged.
func TestFlowWrongEpoch(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs suite.ID) {
		all := newFlowGroup(t, cs, 8, "alice", "bob", "carol")
		a, b, c := all[0], all[1], all[2]
		stale, err := b.Commit(CommitOptions{ForcePath: true})
		if err != nil {
			t.Fatal(err)
		}
		win := commitAll(t, a, []*Group{a, c}, CommitOptions{ForcePath: true})
		before := takeSnapshot(t, c)
		if _, err := c.Process(wireRoundTrip(t, stale.Commit)); !errors.Is(err, ErrWrongEpoch) {
			t.Fatalf("old-epoch commit: %v", err)
		}
		before.check(t, c)
		// B learns the winning commit; its own commit is then stale.
		if _, err := b.Process(wireRoundTrip(t, win.Commit)); err != nil {
			t.Fatal(err)
		}
		if err := b.Merge(stale); !errors.Is(err, ErrStalePendingCommit) {
			t.Fatalf("merging a stale commit: %v", err)
		}
		checkAgree(t, all...)
	})
}
