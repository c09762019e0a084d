package mls_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/mlslab/mlslab/mls"
)

// pair returns a two-member group (alice at leaf 0, bob at leaf 1).
func pair(t *testing.T, cfgA, cfgB *mls.Config) (alice, bob *mls.Group) {
	t.Helper()
	alice, err := mls.CreateGroup(cfgA, []byte("g"), newKP(t, cfgA, "alice"), nil)
	if err != nil {
		t.Fatal(err)
	}
	kpB := newKP(t, cfgB, "bob")
	pc, err := alice.Commit(mls.CommitOptions{Proposals: []mls.ProposalBody{&mls.Add{KeyPackage: kpB.KeyPackage()}}, InlineTree: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.Merge(pc); err != nil {
		t.Fatal(err)
	}
	bob, err = mls.Join(cfgB, wire(t, pc.Welcome), kpB, nil)
	if err != nil {
		t.Fatal(err)
	}
	return alice, bob
}

// commitAll commits opts in g, merges it and has every receiver process it;
// all must then agree.
func commitAll(t *testing.T, g *mls.Group, opts mls.CommitOptions, receivers ...*mls.Group) *mls.PendingCommit {
	t.Helper()
	pc, err := g.Commit(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Merge(pc); err != nil {
		t.Fatal(err)
	}
	for _, r := range receivers {
		if _, err := r.Process(wire(t, pc.Commit)); err != nil {
			t.Fatal(err)
		}
	}
	agree(t, append([]*mls.Group{g}, receivers...)...)
	return pc
}

// TestProbeCloneIndependent: a clone and its original consume message keys,
// cache proposals and move epochs independently.
func TestProbeCloneIndependent(t *testing.T) {
	alice, bob := pair(t, seeded(60), seeded(61))
	m, err := alice.SealApplication([]byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := bob.Clone()
	for _, g := range []*mls.Group{bob, c} {
		if out, err := g.Process(wire(t, m)); err != nil || string(out.ApplicationData) != "x" {
			t.Fatalf("first process: %v", err)
		}
		if _, err := g.Process(wire(t, m)); !errors.Is(err, mls.ErrKeyUsed) {
			t.Fatalf("replay: %v", err)
		}
	}
	// A proposal cached by the clone is not the original's.
	upd, err := alice.ProposeUpdate(nil)
	if err != nil {
		t.Fatal(err)
	}
	c = bob.Clone()
	if _, err := c.Process(wire(t, upd)); err != nil {
		t.Fatal(err)
	}
	if len(bob.PendingProposals()) != 0 || len(c.PendingProposals()) != 1 {
		t.Fatalf("pending: original %d, clone %d", len(bob.PendingProposals()), len(c.PendingProposals()))
	}
	// The clone commits and merges; the original stays and still processes
	// alice's commit of the same epoch, and the clone's secrets of the old
	// epoch are not erased by the original moving on.
	pc, err := c.Commit(mls.CommitOptions{ForcePath: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := bob.Merge(pc); !errors.Is(err, mls.ErrStalePendingCommit) {
		t.Fatalf("original merged the clone's commit: %v", err)
	}
	old := bob.Clone()
	oldExp, _ := old.Export("l", nil, 16)
	if err := c.Merge(pc); err != nil {
		t.Fatal(err)
	}
	if bob.Epoch() != 1 || c.Epoch() != 2 {
		t.Fatalf("epochs: original %d, clone %d", bob.Epoch(), c.Epoch())
	}
	apc := commitAll(t, alice, mls.CommitOptions{ForcePath: true}, bob)
	if e, _ := old.Export("l", nil, 16); !bytes.Equal(e, oldExp) {
		t.Fatal("a clone's epoch secrets changed when the original moved on")
	}
	if _, err := old.Process(wire(t, apc.Commit)); err != nil {
		t.Fatalf("the clone left in the old epoch cannot process: %v", err)
	}
	agree(t, alice, bob, old)
}

// TestProbeConfigChangedAfterCreate: a Config changed after the group was
// created does not change the group (documented: the Group copies it).
func TestProbeConfigChangedAfterCreate(t *testing.T) {
	cfgA := seeded(62)
	alice, _ := pair(t, cfgA, seeded(63))
	cfgA.EncryptHandshake = true
	cfgA.ValidateCredential = func(mls.Credential, []byte) error { return errors.New("no") }
	pc, err := alice.Commit(mls.CommitOptions{ForcePath: true})
	if err != nil {
		t.Fatal(err)
	}
	if pc.Commit.WireFormat() != mls.WireFormatPublicMessage {
		t.Fatalf("commit wire format follows a Config changed after creation: %v", pc.Commit.WireFormat())
	}
	c := alice.Clone()
	pc2, err := c.Commit(mls.CommitOptions{ForcePath: true, WireFormat: mls.WireFormatPrivateMessage})
	if err != nil || pc2.Commit.WireFormat() != mls.WireFormatPrivateMessage {
		t.Fatalf("per-message wire format: %v", err)
	}
}

// TestProbeOddConfigValues: negative and extreme Config values are not
// panics.
func TestProbeOddConfigValues(t *testing.T) {
	for i, cfg := range []mls.Config{
		{PaddingBlock: -7}, {KeepEpochs: -1}, {MaxRetainedKeys: -1}, {MaxMessageSize: -1},
		{MaxCredentialSize: -1}, {MaxExtensionSize: -1}, {MaxLeaves: 1},
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("%+v: panic %v", cfg, r)
				}
			}()
			c := cfg
			c.Rand = seeded(uint64(70 + i)).Rand
			cb := *seeded(uint64(80 + i))
			a, err := mls.CreateGroup(&c, []byte("g"), newKP(t, &c, "a"), nil)
			if err != nil {
				return
			}
			kb := newKP(t, &cb, "b")
			pc, err := a.Commit(mls.CommitOptions{Proposals: []mls.ProposalBody{&mls.Add{KeyPackage: kb.KeyPackage()}}, InlineTree: true})
			if err != nil {
				return
			}
			if err := a.Merge(pc); err != nil {
				t.Fatal(err)
			}
			b, err := mls.Join(&c, wire(t, pc.Welcome), kb, nil)
			if err != nil {
				return
			}
			if m, err := a.SealApplication([]byte("x"), nil); err == nil {
				_, _ = b.Process(wire(t, m))
			}
			if m, err := c.UnmarshalMLSMessage([]byte{0, 1, 0, 1}); err == nil {
				_ = m
			}
		})
	}
}

// TestProbeExportLengths: Export rejects lengths out of range.
func TestProbeExportLengths(t *testing.T) {
	alice, _ := pair(t, seeded(64), seeded(65))
	for _, n := range []int{-1, 1 << 16, 1 << 40} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("Export(%d): panic %v", n, r)
				}
			}()
			if _, err := alice.Export("l", nil, n); err == nil {
				t.Errorf("Export(%d) accepted", n)
			}
		}()
	}
}

// TestProbeAADNotAliased: authenticated data given to the message builders
// is copied: a caller reusing its buffer does not change the message.
func TestProbeAADNotAliased(t *testing.T) {
	alice, bob := pair(t, seeded(66), seeded(67))
	aad := []byte("aad!")
	m, err := alice.SealApplication([]byte("x"), aad)
	if err != nil {
		t.Fatal(err)
	}
	flip(aad)
	if out, err := bob.Process(wire(t, m)); err != nil || string(out.AuthenticatedData) != "aad!" {
		t.Errorf("SealApplication keeps the caller's aad: %v", err)
	}

	priv, pub, err := mls.GenerateSignatureKey(seeded(68), cs)
	if err != nil {
		t.Fatal(err)
	}
	ext, err := mls.ExternalSendersExtension([]mls.ExternalSender{{SignatureKey: pub, Credential: mls.NewBasicCredential([]byte("ds"))}})
	if err != nil {
		t.Fatal(err)
	}
	commitAll(t, alice, mls.CommitOptions{Proposals: []mls.ProposalBody{&mls.GroupContextExtensions{Extensions: mls.Extensions{ext}}}}, bob)
	aad = []byte("ext!")
	p, err := alice.Public().ExternalProposal(0, priv, &mls.Remove{Removed: 1}, aad)
	if err != nil {
		t.Fatal(err)
	}
	flip(aad)
	if out, err := alice.Process(wire(t, p)); err != nil || string(out.AuthenticatedData) != "ext!" {
		t.Errorf("ExternalProposal keeps the caller's aad: %v", err)
	}

	gi, err := alice.GroupInfo(mls.GroupInfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfgC := seeded(69)
	aad = []byte("new!")
	nm, err := mls.NewMemberAddProposal(gi, newKP(t, cfgC, "carol"), aad)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := nm.Marshal()
	flip(aad)
	after, _ := nm.Marshal()
	if !bytes.Equal(before, after) {
		t.Errorf("NewMemberAddProposal keeps the caller's aad")
	}
}

// TestProbeJSONNoSecrets: JSON of every exported result type holds no
// secret and does not fail in a way that prints one.
func TestProbeJSONNoSecrets(t *testing.T) {
	alice, bob := pair(t, seeded(90), seeded(91))
	pc, err := alice.Commit(mls.CommitOptions{ForcePath: true})
	if err != nil {
		t.Fatal(err)
	}
	exp, _ := alice.Export("l", nil, 16)
	auth := alice.EpochAuthenticator()
	state, _ := alice.MarshalState()
	_ = state
	for _, v := range []any{alice, *alice, pc, *pc, alice.Public(), pc.Commit, alice.PendingProposals(), bob} {
		j, err := json.Marshal(v)
		if err != nil {
			continue
		}
		if bytes.Contains(j, exp) || bytes.Contains(j, auth) || len(j) > 200 {
			t.Errorf("JSON of %T: %s", v, j)
		}
		for _, verb := range []string{"%v", "%+v", "%#v"} {
			s := fmt.Sprintf(verb, v)
			if len(s) > 300 {
				t.Errorf("%s of %T is long (%d): %.200s", verb, v, len(s), s)
			}
		}
	}
}

// TestProbePublicGroupConcurrent: a PublicGroup handed to other goroutines
// is read while its Group moves on (go test -race).
func TestProbePublicGroupConcurrent(t *testing.T) {
	alice, bob := pair(t, seeded(92), seeded(93))
	pub := bob.Public()
	pc, err := alice.Commit(mls.CommitOptions{ForcePath: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.Merge(pc); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = pub.Members()
			_, _ = pub.RatchetTree()
			if _, err := pub.ApplyCommit(pc.Commit, nil, nil); err != nil {
				t.Error(err)
			}
		}()
	}
	if _, err := bob.Process(wire(t, pc.Commit)); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
}

// TestProbeClonesConcurrent: clones of one Group are used on separate
// goroutines (go test -race): each decrypts the same messages and commits.
// Clones share the Config's Rand (see Group.Clone): bob's is crypto/rand.
func TestProbeClonesConcurrent(t *testing.T) {
	alice, bob := pair(t, seeded(94), &mls.Config{})
	var msgs []*mls.MLSMessage
	for i := 0; i < 3; i++ {
		m, err := alice.SealApplication([]byte{byte(i)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, wire(t, m))
	}
	clones := []*mls.Group{bob.Clone(), bob.Clone(), bob.Clone()}
	var wg sync.WaitGroup
	for _, c := range append(clones, bob) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := len(msgs) - 1; i >= 0; i-- {
				if out, err := c.Process(msgs[i]); err != nil || out.ApplicationData[0] != byte(i) {
					t.Error(err)
				}
			}
			if _, err := c.Export("x", nil, 32); err != nil {
				t.Error(err)
			}
			pc, err := c.Commit(mls.CommitOptions{ForcePath: true})
			if err != nil {
				t.Error(err)
				return
			}
			if err := c.Merge(pc); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

// TestProbeMisuseNoPanic: messages and inputs used where they do not
// belong are errors, not panics, and leave the group unchanged.
func TestProbeMisuseNoPanic(t *testing.T) {
	cfgA, cfgB := seeded(96), seeded(97)
	alice, bob := pair(t, cfgA, cfgB)
	kpC := newKP(t, seeded(98), "carol")
	pc, err := alice.Commit(mls.CommitOptions{Proposals: []mls.ProposalBody{&mls.Add{KeyPackage: kpC.KeyPackage()}}, ExternalPub: true})
	if err != nil {
		t.Fatal(err)
	}
	gi, err := alice.GroupInfo(mls.GroupInfoOptions{ExternalPub: true, InlineTree: true})
	if err != nil {
		t.Fatal(err)
	}
	kpMsg, _ := kpC.KeyPackage().Marshal()
	kpAsMsg, _ := mls.UnmarshalMLSMessage(kpMsg)
	far := mls.LeafIndex(1 << 30)
	stored, err := kpC.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	used, err := mls.UnmarshalKeyPackageBundle(stored)
	if err != nil {
		t.Fatal(err)
	}
	used.EraseUsedKeys()
	p384 := mls.MLS_256_DHKEMP384_AES256GCM_SHA384_P384
	kp384, err := mls.NewKeyPackage(seeded(100), p384, mls.NewBasicCredential([]byte("e")), nil)
	if err != nil {
		t.Fatal(err)
	}
	authBefore := bob.EpochAuthenticator()
	cases := []struct {
		name string
		f    func() error
	}{
		{"own commit before merge", func() error { _, err := alice.Clone().Process(pc.Commit); return err }},
		{"welcome to Process", func() error { _, err := bob.Process(pc.Welcome); return err }},
		{"group info to Process", func() error { _, err := bob.Process(gi); return err }},
		{"key package to Process", func() error { _, err := bob.Process(kpAsMsg); return err }},
		{"commit to Join", func() error { _, err := mls.Join(nil, pc.Commit, kpC, nil); return err }},
		{"welcome with erased keys", func() error { _, err := mls.Join(nil, pc.Welcome, used, nil); return err }},
		{"welcome to another bundle", func() error { _, err := mls.Join(nil, pc.Welcome, newKP(t, seeded(101), "x"), nil); return err }},
		{"external join removing a far leaf", func() error {
			_, _, err := mls.ExternalJoin(nil, gi, newKP(t, seeded(102), "f"), &mls.ExternalJoinOptions{Remove: &far})
			return err
		}},
		{"external join, other suite", func() error { _, _, err := mls.ExternalJoin(nil, gi, kp384, nil); return err }},
		{"add of another suite", func() error {
			_, err := alice.Clone().Commit(mls.CommitOptions{Proposals: []mls.ProposalBody{&mls.Add{KeyPackage: kp384.KeyPackage()}}})
			return err
		}},
		{"remove a far leaf", func() error {
			_, err := alice.Clone().Commit(mls.CommitOptions{Proposals: []mls.ProposalBody{&mls.Remove{Removed: far}}})
			return err
		}},
		{"remove self", func() error {
			_, err := alice.Clone().Commit(mls.CommitOptions{Proposals: []mls.ProposalBody{&mls.Remove{Removed: 0}}})
			return err
		}},
		{"external proposal, far sender", func() error {
			m, err := alice.Public().ExternalProposal(1<<31, mls.NewSignaturePrivateKey(make([]byte, 32)), &mls.Remove{Removed: 1}, nil)
			if err != nil {
				return err
			}
			_, err = bob.Process(wire(t, m)) // built without a check; a receiver rejects it
			return err
		}},
		{"apply commit with an application message as proposal", func() error {
			app, err := alice.SealApplication([]byte("x"), nil)
			if err != nil {
				return err
			}
			_, err = bob.Public().ApplyCommit(pc.Commit, []*mls.MLSMessage{app}, nil)
			return err
		}},
		{"reinit without a committed ReInit", func() error {
			_, _, err := alice.Clone().ReInitGroup(nil, newKP(t, seeded(104), "a3"), nil, false)
			return err
		}},
		{"unmarshal garbage state", func() error { _, err := mls.UnmarshalGroupState(nil, []byte{1, 2, 3}); return err }},
		{"unmarshal garbage bundle", func() error { _, err := mls.UnmarshalKeyPackageBundle([]byte{1, 0, 0, 0, 9}); return err }},
		{"external pub of an unknown suite", func() error { _, err := mls.UnmarshalExternalPub(0xffff, []byte{1, 2}); return err }},
		{"lookup unknown suite", func() error { _, err := mls.LookupCipherSuite(0xfeed); return err }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panic: %v", r)
				}
			}()
			if err := c.f(); err == nil {
				t.Error("no error")
			}
		})
	}
	if bob.Epoch() != 1 || !bytes.Equal(bob.EpochAuthenticator(), authBefore) {
		t.Fatal("bob changed")
	}
}

// TestProbeUnverifiedKeyPackageAdd: a KeyPackage taken from a decoded
// message (MLSMessage.KeyPackage, signature not yet verified) with a
// broken signature is refused by Commit and by a receiver of its proposal.
// Propose sends and caches it (proposing is local; see core's
// TestFlowRequiredCapabilities): every later Commit of the epoch fails and
// SealApplication is refused, until a Commit with SkipCached.
func TestProbeUnverifiedKeyPackageAdd(t *testing.T) {
	alice, bob := pair(t, seeded(105), seeded(106))
	data, err := newKP(t, seeded(107), "mallory").KeyPackage().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-1] ^= 1 // the last octet of the signature
	if _, err := mls.UnmarshalKeyPackage(data); !errors.Is(err, mls.ErrInvalidSignature) {
		t.Fatalf("UnmarshalKeyPackage: %v", err)
	}
	m, err := mls.UnmarshalMLSMessage(data)
	if err != nil {
		t.Fatal(err)
	}
	add := &mls.Add{KeyPackage: m.KeyPackage()}
	if _, err := alice.Commit(mls.CommitOptions{Proposals: []mls.ProposalBody{add}}); err == nil {
		t.Error("Commit added a KeyPackage with a broken signature")
	}
	p, err := alice.Propose(add, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Process(wire(t, p)); !errors.Is(err, mls.ErrInvalidSignature) {
		t.Errorf("receiver of the Add: %v", err)
	}
	if _, err := alice.Commit(mls.CommitOptions{}); err == nil {
		t.Error("Commit of the cached Add")
	}
	if _, err := alice.SealApplication([]byte("x"), nil); !errors.Is(err, mls.ErrPendingProposals) {
		t.Errorf("SealApplication with the cached Add: %v", err)
	}
	commitAll(t, alice, mls.CommitOptions{SkipCached: true}, bob)
}

// TestProbeSharedMessageObject: one decoded *MLSMessage given to several
// receivers (a delivery service fanning out without re-decoding) is not
// changed by processing it.
func TestProbeSharedMessageObject(t *testing.T) {
	alice, bob := pair(t, seeded(108), seeded(109))
	bob2 := bob.Clone()
	ds := bob.Public()
	for _, wf := range []mls.WireFormat{mls.WireFormatPublicMessage, mls.WireFormatPrivateMessage} {
		pc, err := alice.Commit(mls.CommitOptions{ForcePath: true, WireFormat: wf})
		if err != nil {
			t.Fatal(err)
		}
		if err := alice.Merge(pc); err != nil {
			t.Fatal(err)
		}
		m := wire(t, pc.Commit)
		before, _ := m.Marshal()
		for _, g := range []*mls.Group{bob, bob2} {
			if _, err := g.Process(m); err != nil {
				t.Fatalf("%v: %v", wf, err)
			}
		}
		if wf == mls.WireFormatPublicMessage {
			if ds, err = ds.ApplyCommit(m, nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		if after, _ := m.Marshal(); !bytes.Equal(before, after) {
			t.Fatalf("%v: processing changed the message", wf)
		}
		agree(t, alice, bob, bob2)
	}
	app, err := alice.SealApplication([]byte("x"), []byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	m := wire(t, app)
	for _, g := range []*mls.Group{bob, bob2} {
		out, err := g.Process(m)
		if err != nil || string(out.ApplicationData) != "x" {
			t.Fatal(err)
		}
		flip(out.ApplicationData)
		flip(out.AuthenticatedData)
	}
}
