package core

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

// seededReader is a deterministic io.Reader for reproducible tests.
func seededReader(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return rand.NewChaCha8(s)
}

type testMember struct {
	name string
	kp   *KeyPackageBundle
	g    *Group
}

func newTestConfig(seed uint64) *Config { return &Config{Rand: seededReader(seed)} }

func newKP(t testing.TB, cfg *Config, cs suite.ID, name string) *KeyPackageBundle {
	t.Helper()
	kp, err := NewKeyPackage(cfg, CipherSuite(cs), NewBasicCredential([]byte(name)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// deliver processes msg at every member but the sender and checks epochs
// and authenticators agree.
func deliver(t testing.TB, sender *Group, others []*Group, msg *MLSMessage) {
	t.Helper()
	// Round-trip through the wire encoding, as a real delivery would.
	enc, err := msg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range others {
		if o == sender || !o.Active() {
			continue
		}
		m, err := UnmarshalMLSMessage(enc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := o.Process(m); err != nil {
			t.Fatalf("member %d processing: %v", o.LeafIndex(), err)
		}
	}
}

func checkAgree(t testing.TB, groups ...*Group) {
	t.Helper()
	for _, g := range groups[1:] {
		if !g.Active() {
			continue
		}
		if g.Epoch() != groups[0].Epoch() {
			t.Fatalf("member %d at epoch %d, member %d at %d", g.LeafIndex(), g.Epoch(), groups[0].LeafIndex(), groups[0].Epoch())
		}
		if !bytes.Equal(g.EpochAuthenticator(), groups[0].EpochAuthenticator()) {
			t.Fatalf("epoch %d: authenticators differ between leaf %d and %d", g.Epoch(), g.LeafIndex(), groups[0].LeafIndex())
		}
		if !bytes.Equal(g.Public().TreeHash(), groups[0].Public().TreeHash()) {
			t.Fatalf("epoch %d: tree hashes differ", g.Epoch())
		}

	}
}

func commitAndMerge(t testing.TB, g *Group, opts CommitOptions) *PendingCommit {
	t.Helper()
	pc, err := g.Commit(opts)
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	if err := g.Merge(pc); err != nil {
		t.Fatal(err)
	}
	return pc
}

func TestGroupThreeMembers(t *testing.T) {
	for _, cs := range suite.All {
		for _, enc := range []bool{false, true} {
			t.Run(fmt.Sprintf("cs=0x%04x/encrypt=%v", uint16(cs), enc), func(t *testing.T) {
				testThreeMembers(t, cs, enc)
			})
		}
	}
}

func testThreeMembers(t *testing.T, cs suite.ID, encrypt bool) {
	cfgA := newTestConfig(1)
	cfgA.EncryptHandshake = encrypt
	cfgA.PaddingBlock = 32
	a, err := CreateGroup(cfgA, []byte("group"), newKP(t, cfgA, cs, "alice"), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfgB, cfgC := newTestConfig(2), newTestConfig(3)
	cfgB.EncryptHandshake, cfgC.EncryptHandshake = encrypt, encrypt
	kpB, kpC := newKP(t, cfgB, cs, "bob"), newKP(t, cfgC, cs, "carol")

	// A adds B (tree inline).
	pc := commitAndMerge(t, a, CommitOptions{Proposals: []ProposalBody{&Add{KeyPackage: *kpB.KeyPackage}}, InlineTree: true})
	if pc.Welcome == nil {
		t.Fatal("no Welcome")
	}
	b, err := Join(cfgB, wireRoundTrip(t, pc.Welcome), kpB, nil)
	if err != nil {
		t.Fatalf("B join: %v", err)
	}
	checkAgree(t, a, b)

	// B adds C by proposal, A commits it by reference; tree out of band.
	prop, err := b.Propose(&Add{KeyPackage: *kpC.KeyPackage}, &ProposeOptions{AuthenticatedData: []byte("aad")})
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, b, []*Group{a}, prop)
	pc = commitAndMerge(t, a, CommitOptions{})
	deliver(t, a, []*Group{b}, pc.Commit)
	treeBytes, err := a.Public().Tree().MarshalRatchetTree()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Join(cfgC, wireRoundTrip(t, pc.Welcome), kpC, &JoinOptions{RatchetTree: treeBytes})
	if err != nil {
		t.Fatalf("C join: %v", err)
	}
	all := []*Group{a, b, c}
	checkAgree(t, all...)

	// Application messages both ways.
	for _, s := range all {
		msg, err := s.SealApplication([]byte(fmt.Sprintf("hello from %d", s.LeafIndex())), []byte("ad"))
		if err != nil {
			t.Fatal(err)
		}
		enc, _ := msg.Marshal()
		for _, r := range all {
			if r == s {
				continue
			}
			m, _ := UnmarshalMLSMessage(enc)
			p, err := r.Process(m)
			if err != nil {
				t.Fatalf("%d opening from %d: %v", r.LeafIndex(), s.LeafIndex(), err)
			}
			if want := fmt.Sprintf("hello from %d", s.LeafIndex()); string(p.ApplicationData) != want || string(p.AuthenticatedData) != "ad" {
				t.Fatalf("got %q/%q", p.ApplicationData, p.AuthenticatedData)
			}
			// Replay is rejected and changes nothing.
			m, _ = UnmarshalMLSMessage(enc)
			if _, err := r.Process(m); err == nil {
				t.Fatal("replayed application message accepted")
			}
		}
	}

	// C proposes an update, B commits it with a path.
	up, err := c.ProposeUpdate(nil)
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, c, []*Group{a, b}, up)
	pc = commitAndMerge(t, b, CommitOptions{})
	deliver(t, b, []*Group{a, c}, pc.Commit)
	checkAgree(t, all...)

	// Full-path self update by C.
	pc = commitAndMerge(t, c, CommitOptions{ForcePath: true})
	deliver(t, c, []*Group{a, b}, pc.Commit)
	checkAgree(t, all...)

	// Exporter agrees.
	ea, _ := a.Export("test", []byte("ctx"), 32)
	eb, _ := b.Export("test", []byte("ctx"), 32)
	if !bytes.Equal(ea, eb) {
		t.Fatal("exporter differs")
	}

	// External PSK and resumption PSK.
	store := &MemoryPSKStore{}
	store.AddExternal([]byte("psk-1"), []byte("external secret"))
	for _, g := range all {
		g.cfg.PSKs = store
	}
	ext, err := a.ExternalPSKProposal([]byte("psk-1"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.ResumptionPSKProposal(a.Epoch() - 1)
	if err != nil {
		t.Fatal(err)
	}
	pc = commitAndMerge(t, a, CommitOptions{Proposals: []ProposalBody{ext, res}})
	deliver(t, a, []*Group{b, c}, pc.Commit)
	checkAgree(t, all...)

	// GroupContextExtensions.
	pc = commitAndMerge(t, b, CommitOptions{Proposals: []ProposalBody{&GroupContextExtensions{Extensions: Extensions{{Type: ExtensionApplicationID, Data: []byte("app")}}}}})
	deliver(t, b, []*Group{a, c}, pc.Commit)
	checkAgree(t, all...)

	// External join of D via GroupInfo with external_pub (tree inline).
	gi, err := a.GroupInfo(GroupInfoOptions{InlineTree: true, ExternalPub: true})
	if err != nil {
		t.Fatal(err)
	}
	cfgD := newTestConfig(4)
	cfgD.EncryptHandshake = encrypt
	d, commitD, err := ExternalJoin(cfgD, gi, newKP(t, cfgD, cs, "dave"), nil)
	if err != nil {
		t.Fatalf("external join: %v", err)
	}
	deliver(t, nil, []*Group{a, b, c}, commitD)
	all = append(all, d)
	checkAgree(t, all...)

	// A removes B.
	pc = commitAndMerge(t, a, CommitOptions{Proposals: []ProposalBody{&Remove{Removed: uint32(b.LeafIndex())}}})
	enc, _ := pc.Commit.Marshal()
	for _, g := range []*Group{b, c, d} {
		m, _ := UnmarshalMLSMessage(enc)
		p, err := g.Process(m)
		if err != nil {
			t.Fatalf("leaf %d processing remove: %v", g.LeafIndex(), err)
		}
		if p.SelfRemoved != (g == b) {
			t.Fatalf("leaf %d: SelfRemoved=%v", g.LeafIndex(), p.SelfRemoved)
		}
	}
	if b.Active() {
		t.Fatal("removed member still active")
	}
	checkAgree(t, a, c, d)
	if _, err := b.SealApplication([]byte("x"), nil); !errors.Is(err, ErrInactive) {
		t.Fatalf("removed member sealing: %v", err)
	}
}

func wireRoundTrip(t testing.TB, m *MLSMessage) *MLSMessage {
	t.Helper()
	enc, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	out, err := UnmarshalMLSMessage(enc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCommitSkipsOwnUpdate: a member that proposed an Update and then
// commits leaves its own Update out (RFC 9420, Section 12.2) and updates
// through its path instead.
func TestCommitSkipsOwnUpdate(t *testing.T) {
	cs := suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	cfgA, cfgB := newTestConfig(31), newTestConfig(32)
	a, err := CreateGroup(cfgA, []byte("g"), newKP(t, cfgA, cs, "a"), nil)
	if err != nil {
		t.Fatal(err)
	}
	kpB := newKP(t, cfgB, cs, "b")
	pc := commitAndMerge(t, a, CommitOptions{Proposals: []ProposalBody{&Add{KeyPackage: *kpB.KeyPackage}}, InlineTree: true})
	b, err := Join(cfgB, pc.Welcome, kpB, nil)
	if err != nil {
		t.Fatal(err)
	}
	up, err := b.ProposeUpdate(nil)
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, b, []*Group{a}, up)
	pc = commitAndMerge(t, b, CommitOptions{})
	c := pc.Commit.PublicMessage.Content.Commit
	if len(c.Proposals) != 0 || c.Path == nil {
		t.Fatalf("commit has %d proposals, path %v", len(c.Proposals), c.Path != nil)
	}
	deliver(t, b, []*Group{a}, pc.Commit)
	checkAgree(t, a, b)
}
