package core

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/codec"
	"github.com/mlslab/mlslab/mls/internal/suite"
)

// Bad input: tampered, replayed, reordered, wrong-epoch and wrong-group
// messages, bad Welcomes and trees are rejected with typed errors and leave
// the receiving Group exactly as it was (package doc, "Errors": a rejected
// message never changes group state).

// groupSnapshot is the observable state of a Group.
type groupSnapshot struct {
	epoch     uint64
	active    bool
	auth      []byte
	treeHash  []byte
	export    []byte
	proposals int
	pub       *PublicGroup
}

func takeSnapshot(t testing.TB, g *Group) groupSnapshot {
	t.Helper()
	e, err := g.Export("snapshot", nil, 32)
	if err != nil {
		t.Fatal(err)
	}
	return groupSnapshot{epoch: g.Epoch(), active: g.Active(), auth: bytes.Clone(g.EpochAuthenticator()),
		treeHash: bytes.Clone(g.Public().TreeHash()), export: e, proposals: len(g.proposals), pub: g.pub}
}

func (s groupSnapshot) check(t testing.TB, g *Group) {
	t.Helper()
	now := takeSnapshot(t, g)
	if now.epoch != s.epoch || now.active != s.active || !bytes.Equal(now.auth, s.auth) || !bytes.Equal(now.treeHash, s.treeHash) ||
		!bytes.Equal(now.export, s.export) || now.proposals != s.proposals || now.pub != s.pub {
		t.Fatalf("group state changed by a rejected message: before epoch %d props %d, after epoch %d props %d", s.epoch, s.proposals, now.epoch, now.proposals)
	}
}

// typedError reports whether err is one of the package's typed errors: a
// *ProtocolError, a sentinel (ErrWrongEpoch, ErrWrongGroup,
// ErrUnknownSender, ErrInactive) or a *codec.Error from decoding.
func typedError(err error) bool {
	var pe *ProtocolError
	var ce *codec.Error
	return errors.As(err, &pe) || errors.As(err, &ce) || errors.Is(err, ErrWrongEpoch) || errors.Is(err, ErrWrongGroup) ||
		errors.Is(err, ErrUnknownSender) || errors.Is(err, ErrInactive)
}

// mustReject decodes enc and processes it at g, requiring a typed
// rejection and no state change.
func mustReject(t testing.TB, g *Group, enc []byte, what string) error {
	t.Helper()
	before := takeSnapshot(t, g)
	m, err := UnmarshalMLSMessage(enc)
	if err == nil {
		_, err = g.Process(m)
	}
	if err == nil {
		t.Fatalf("%s: accepted", what)
	}
	if !typedError(err) {
		t.Fatalf("%s: untyped error %T: %v", what, err, err)
	}
	before.check(t, g)
	return err
}

// forgeCommit frames a commit from g with an arbitrary proposal list and
// path, as a malicious or buggy committer would send it (Group.Commit
// refuses to build invalid lists). The confirmation tag is arbitrary: the
// receiver must reject the proposals before it gets there.
func forgeCommit(t testing.TB, g *Group, props []ProposalOrRef, path *UpdatePath) *MLSMessage {
	t.Helper()
	ac, err := g.frame(ContentTypeCommit, &Commit{Proposals: props, Path: path}, nil, defaultHandshake(g))
	if err != nil {
		t.Fatal(err)
	}
	ac.Auth.ConfirmationTag = make([]byte, g.cs.HashSize())
	msg, _, err := g.wrap(ac) // the generation is reserved, not consumed
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func mustEncode(t testing.TB, m *MLSMessage) []byte {
	t.Helper()
	enc, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// TestBadInputTamperedCommit flips one bit in every byte of a commit (as
// PublicMessage and as PrivateMessage): every variant is rejected with a
// typed error and changes nothing; then the genuine commit processes.
func TestBadInputTamperedCommit(t *testing.T) {
	for _, encrypt := range []bool{false, true} {
		t.Run(fmt.Sprintf("cs=0x0001/encrypt=%v", encrypt), func(t *testing.T) {
			all := newFlowGroup(t, 1, 20, "alice", "bob", "carol")
			for _, g := range all {
				g.cfg.EncryptHandshake = encrypt
			}
			a, b, c := all[0], all[1], all[2]
			kpD := newKP(t, newTestConfig(204), 1, "dave")
			pc := commitAndMerge(t, a, CommitOptions{ForcePath: true, Proposals: []ProposalBody{&Add{KeyPackage: *kpD.KeyPackage}}, AuthenticatedData: []byte("aad")})
			enc := mustEncode(t, pc.Commit)
			codes := map[string]int{}
			for i := range enc {
				bad := bytes.Clone(enc)
				bad[i] ^= 1 << (i % 8)
				err := mustReject(t, c, bad, fmt.Sprintf("bit flip at byte %d", i))
				codes[errClass(err)]++
			}
			t.Logf("%d tampered commits rejected: %v", len(enc), codes)
			if !encrypt {
				// An insider who knows the membership key re-MACs the
				// tampered content: the signature, confirmation tag and
				// path checks must still catch every flip.
				codes = map[string]int{}
				for i := range enc {
					bad := bytes.Clone(enc)
					bad[i] ^= 1 << (i % 8)
					m, err := UnmarshalMLSMessage(bad)
					if err == nil && m.PublicMessage != nil && m.PublicMessage.Content.Sender.Type == SenderTypeMember {
						pm := m.PublicMessage
						if tbm, _, err := pm.authenticatedContent().authenticatedContentTBM(&c.pub.ctx); err == nil {
							pm.MembershipTag = c.keys.Membership.tag(c.cs, tbm)
							bad = mustEncode(t, m)
						}
					}
					if bytes.Equal(bad, enc) {
						continue // the flip was in the membership tag itself
					}
					codes[errClass(mustReject(t, c, bad, fmt.Sprintf("re-MACed bit flip at byte %d", i)))]++
				}
				t.Logf("%d re-MACed tampered commits rejected: %v", len(enc), codes)
			}
			deliver(t, a, []*Group{b, c}, pc.Commit)
			checkAgree(t, all...)
			sendApp(t, c, all, "after tampering")
		})
	}
}

func errClass(err error) string {
	var pe *ProtocolError
	var ce *codec.Error
	switch {
	case errors.As(err, &pe):
		return pe.Code.String()
	case errors.As(err, &ce):
		return "codec"
	case errors.Is(err, ErrWrongEpoch):
		return "wrong epoch"
	case errors.Is(err, ErrWrongGroup):
		return "wrong group"
	case errors.Is(err, ErrUnknownSender):
		return "unknown sender"
	}
	return "other"
}

// TestBadInputTamperedApplication flips one bit in every byte of an
// application PrivateMessage; none is accepted, none consumes a ratchet
// key, and the genuine message then opens.
func TestBadInputTamperedApplication(t *testing.T) {
	all := newFlowGroup(t, 1, 21, "alice", "bob", "carol")
	a, c := all[0], all[2]
	msg, err := a.SealApplication(bytes.Repeat([]byte("x"), 100), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	enc := mustEncode(t, msg)
	codes := map[string]int{}
	for i := range enc {
		bad := bytes.Clone(enc)
		bad[i] ^= 1 << (i % 8)
		codes[errClass(mustReject(t, c, bad, fmt.Sprintf("bit flip at byte %d", i)))]++
	}
	t.Logf("%d tampered messages rejected: %v", len(enc), codes)
	// Truncations too.
	for n := range len(enc) {
		mustReject(t, c, enc[:n], fmt.Sprintf("truncated to %d", n))
	}
	m, _ := UnmarshalMLSMessage(enc)
	p, err := c.Process(m)
	if err != nil || len(p.ApplicationData) != 100 {
		t.Fatalf("genuine message after tampering: %v", err)
	}
}

// TestBadInputReplayReorder: replayed application messages, commits and
// proposals; a next-epoch commit delivered before the current one.
func TestBadInputReplayReorder(t *testing.T) {
	all := newFlowGroup(t, 1, 22, "alice", "bob", "carol")
	a, b, c := all[0], all[1], all[2]

	// Replayed application message.
	msg, _ := b.SealApplication([]byte("once"), nil)
	enc := mustEncode(t, msg)
	m, _ := UnmarshalMLSMessage(enc)
	if _, err := c.Process(m); err != nil {
		t.Fatal(err)
	}
	mustReject(t, c, enc, "replayed application message")

	// Replayed proposal: the cache does not grow, and a commit of the
	// cached proposals still works.
	up, err := b.ProposeUpdate(nil)
	if err != nil {
		t.Fatal(err)
	}
	upEnc := mustEncode(t, up)
	for _, r := range []*Group{a, c} {
		m, _ := UnmarshalMLSMessage(upEnc)
		if _, err := r.Process(m); err != nil {
			t.Fatal(err)
		}
		if err := mustReject(t, r, upEnc, "replayed proposal"); !errors.Is(err, ErrInvalidMessage) {
			t.Fatalf("replayed proposal: %v", err)
		}
	}

	// Reordered: A commits twice; C gets the second first.
	pc1 := commitAndMerge(t, a, CommitOptions{})
	deliver(t, a, []*Group{b}, pc1.Commit)
	pc2 := commitAndMerge(t, a, CommitOptions{ForcePath: true})
	deliver(t, a, []*Group{b}, pc2.Commit)
	if err := mustReject(t, c, mustEncode(t, pc2.Commit), "next-epoch commit first"); !errors.Is(err, ErrWrongEpoch) {
		t.Fatalf("next-epoch commit: %v", err)
	}
	deliver(t, a, []*Group{c}, pc1.Commit)
	// Replayed commit.
	if err := mustReject(t, c, mustEncode(t, pc1.Commit), "replayed commit"); !errors.Is(err, ErrWrongEpoch) {
		t.Fatalf("replayed commit: %v", err)
	}
	deliver(t, a, []*Group{c}, pc2.Commit)
	checkAgree(t, all...)

	// Old-epoch application message.
	old, _ := b.SealApplication([]byte("late"), nil)
	commitAll(t, a, all, CommitOptions{ForcePath: true})
	if err := mustReject(t, c, mustEncode(t, old), "old-epoch application"); !errors.Is(err, ErrWrongEpoch) {
		t.Fatalf("old-epoch application message: %v", err)
	}
	sendApp(t, b, all, "current")
}

// TestBadInputWrongGroup: messages of another group with the same suite
// and epoch are rejected with ErrWrongGroup.
func TestBadInputWrongGroup(t *testing.T) {
	g1 := newFlowGroup(t, 1, 23, "alice", "bob")
	g2 := newFlowGroup(t, 1, 24, "alice", "bob")
	app, _ := g2[0].SealApplication([]byte("other group"), nil)
	if err := mustReject(t, g1[1], mustEncode(t, app), "other group's application"); !errors.Is(err, ErrWrongGroup) {
		t.Fatalf("application of another group: %v", err)
	}
	pc, err := g2[0].Commit(CommitOptions{ForcePath: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := mustReject(t, g1[1], mustEncode(t, pc.Commit), "other group's commit"); !errors.Is(err, ErrWrongGroup) {
		t.Fatalf("commit of another group: %v", err)
	}
	// A Welcome, GroupInfo or KeyPackage is not a message to Process.
	kp := newKP(t, newTestConfig(241), 1, "x")
	kpMsg := &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatKeyPackage, KeyPackage: kp.KeyPackage}
	if err := mustReject(t, g1[1], mustEncode(t, kpMsg), "KeyPackage"); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("KeyPackage as message: %v", err)
	}
}

// TestBadInputWelcome: a Welcome for someone else, a corrupted encrypted
// GroupInfo or GroupSecrets, and ratchet trees that do not match.
func TestBadInputWelcome(t *testing.T) {
	for _, cs := range []suite.ID{1, 3} {
		t.Run(fmt.Sprintf("cs=0x%04x", uint16(cs)), func(t *testing.T) {
			all := newFlowGroup(t, cs, 25, "alice", "bob")
			a := all[0]
			treeBefore := mustTree(t, a)
			cfgD := newTestConfig(251)
			kpD := newKP(t, cfgD, cs, "dave")
			pc := commitAndMerge(t, a, CommitOptions{Proposals: []ProposalBody{&Add{KeyPackage: *kpD.KeyPackage}}})
			wEnc := mustEncode(t, pc.Welcome)
			tree := mustTree(t, a)
			join := func(enc []byte, kp *KeyPackageBundle, tree []byte) error {
				m, err := UnmarshalMLSMessage(enc)
				if err != nil {
					return err
				}
				_, err = Join(cfgD, m, kp, &JoinOptions{RatchetTree: tree})
				return err
			}
			check := func(what string, err error, want error) {
				t.Helper()
				if err == nil || !typedError(err) || (want != nil && !errors.Is(err, want)) {
					t.Fatalf("%s: %v (want %v)", what, err, want)
				}
			}
			check("Welcome for someone else", join(wEnc, newKP(t, newTestConfig(252), cs, "eve"), tree), ErrInvalidWelcome)
			// The right KeyPackage but another init key.
			other := *kpD
			other.InitPriv = newKP(t, newTestConfig(253), cs, "eve").InitPriv
			check("wrong init key", join(wEnc, &other, tree), ErrDecrypt)
			w := pc.Welcome.Welcome
			for _, off := range []int{0, len(w.EncryptedGroupInfo) / 2, len(w.EncryptedGroupInfo) - 1} {
				bad := *pc.Welcome
				bw := *w
				bw.EncryptedGroupInfo = bytes.Clone(w.EncryptedGroupInfo)
				bw.EncryptedGroupInfo[off] ^= 0x40
				bad.Welcome = &bw
				check(fmt.Sprintf("corrupted GroupInfo at %d", off), join(mustEncode(t, &bad), kpD, tree), ErrDecrypt)
			}
			bad := *pc.Welcome
			bw := *w
			bw.Secrets = append([]EncryptedGroupSecrets(nil), w.Secrets...)
			bw.Secrets[0].EncryptedGroupSecrets.Ciphertext = bytes.Clone(w.Secrets[0].EncryptedGroupSecrets.Ciphertext)
			bw.Secrets[0].EncryptedGroupSecrets.Ciphertext[3] ^= 1
			bad.Welcome = &bw
			check("corrupted GroupSecrets", join(mustEncode(t, &bad), kpD, tree), ErrDecrypt)
			for n := 0; n < len(wEnc); n += 7 {
				check(fmt.Sprintf("Welcome truncated to %d", n), join(wEnc[:n], kpD, tree), nil)
			}
			// Trees that do not match the GroupInfo's tree hash.
			check("tree of the previous epoch", join(wEnc, kpD, treeBefore), ErrTreeHash)
			check("tree of another group", join(wEnc, kpD, mustTree(t, newFlowGroup(t, cs, 26, "x", "y", "z")[0])), nil)
			for _, off := range []int{5, len(tree) / 2, len(tree) - 3} {
				bt := bytes.Clone(tree)
				bt[off] ^= 0x10
				check(fmt.Sprintf("tree corrupted at %d", off), join(wEnc, kpD, bt), nil)
			}
			// And the genuine Welcome still works.
			d, err := Join(cfgD, wireRoundTrip(t, pc.Welcome), kpD, &JoinOptions{RatchetTree: tree})
			if err != nil {
				t.Fatal(err)
			}
			checkAgree(t, a, d)
		})
	}
}

// TestFlowInvalidProposals: proposal lists that RFC 9420, Section 12.2
// forbids are refused by Commit at the committer and, sent anyway, by
// every receiver — with typed errors and no state change.
func TestFlowInvalidProposals(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs suite.ID) {
		// A(0) B(1, removed: blank) C(2) D(3); A commits, C receives.
		all := newFlowGroup(t, cs, 30, "alice", "bob", "carol", "dave")
		a, b, c, d := all[0], all[1], all[2], all[3]
		commitAll(t, a, all, CommitOptions{Proposals: []ProposalBody{&Remove{Removed: 1}}})
		if b.Active() {
			t.Fatal("B still active")
		}
		all = []*Group{a, c, d}
		// proposeFrom sends a proposal from s to A and C and returns its
		// reference.
		proposeFrom := func(s *Group, mk func(*ProposeOptions) (*MLSMessage, error)) ProposalOrRef {
			t.Helper()
			msg, err := mk(nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range all {
				if r != s {
					if _, err := r.Process(wireRoundTrip(t, msg)); err != nil {
						t.Fatal(err)
					}
				}
			}
			ref := a.proposals[len(a.proposals)-1].ref
			return ProposalOrRef{Type: ProposalOrRefReference, Reference: ref}
		}
		byValue := func(body ProposalBody) ProposalOrRef {
			return ProposalOrRef{Type: ProposalOrRefProposal, Proposal: &Proposal{Body: body}}
		}
		psk, _ := a.ExternalPSKProposal([]byte("p"))
		kpSameSig, err := NewKeyPackage(c.cfg, CipherSuite(cs), NewBasicCredential([]byte("carol")), &KeyPackageOptions{SignatureKey: c.SignaturePrivateKey()})
		if err != nil {
			t.Fatal(err)
		}
		ri := &ReInit{GroupID: []byte("new"), Version: ProtocolVersionMLS10, CipherSuite: CipherSuite(cs), Extensions: Extensions{}}
		gce := &GroupContextExtensions{Extensions: Extensions{}}
		cases := []struct {
			name  string
			props func() []ProposalOrRef
			want  error
		}{
			{"two updates for one leaf", func() []ProposalOrRef {
				return []ProposalOrRef{proposeFrom(d, d.ProposeUpdate), proposeFrom(d, d.ProposeUpdate)}
			}, ErrInvalidProposal},
			{"update and remove of one leaf", func() []ProposalOrRef {
				return []ProposalOrRef{proposeFrom(d, d.ProposeUpdate), byValue(&Remove{Removed: 3})}
			}, ErrInvalidProposal},
			{"remove of the committer", func() []ProposalOrRef { return []ProposalOrRef{byValue(&Remove{Removed: 0})} }, ErrInvalidProposal},
			{"update by the committer", func() []ProposalOrRef { return []ProposalOrRef{proposeFrom(a, a.ProposeUpdate)} }, ErrInvalidProposal},
			{"duplicate PSK IDs", func() []ProposalOrRef { return []ProposalOrRef{byValue(psk), byValue(psk)} }, ErrInvalidProposal},
			{"two GroupContextExtensions", func() []ProposalOrRef { return []ProposalOrRef{byValue(gce), byValue(gce)} }, ErrInvalidProposal},
			{"ReInit with others", func() []ProposalOrRef { return []ProposalOrRef{byValue(ri), byValue(&Remove{Removed: 3})} }, ErrInvalidProposal},
			{"Add of an existing member", func() []ProposalOrRef { return []ProposalOrRef{byValue(&Add{KeyPackage: *kpSameSig.KeyPackage})} }, ErrKeyReuse},
			{"remove of a blank leaf", func() []ProposalOrRef { return []ProposalOrRef{byValue(&Remove{Removed: 1})} }, ErrInvalidProposal},
			{"remove outside the tree", func() []ProposalOrRef { return []ProposalOrRef{byValue(&Remove{Removed: 1000})} }, ErrInvalidProposal},
			{"ExternalInit in a member commit", func() []ProposalOrRef {
				return []ProposalOrRef{byValue(&ExternalInit{KEMOutput: make([]byte, 32)})}
			}, ErrInvalidProposal},
			{"unknown proposal reference", func() []ProposalOrRef {
				return []ProposalOrRef{{Type: ProposalOrRefReference, Reference: make([]byte, 32)}}
			}, ErrInvalidCommit},
		}
		for _, tc := range cases {
			props := tc.props()
			// Committer side: Commit refuses (except an unknown
			// reference, which Commit cannot produce).
			if tc.want != ErrInvalidCommit {
				var opts CommitOptions
				opts.SkipCached = true
				for _, p := range props {
					if p.Type == ProposalOrRefProposal {
						opts.Proposals = append(opts.Proposals, p.Proposal.Body)
					} else {
						opts.SkipCached = false
					}
				}
				before := takeSnapshot(t, a)
				pc, err := a.Commit(opts)
				if tc.name == "update by the committer" {
					// The committer leaves its own cached Update out and
					// refreshes its leaf through the path instead.
					if err != nil || len(pc.Commit.PublicMessage.Content.Commit.Proposals) != 0 || pc.Stats.PathCiphertexts == 0 {
						t.Fatalf("%s: Commit: %v", tc.name, err)
					}
				} else if !errors.Is(err, tc.want) {
					t.Fatalf("%s: Commit: %v, want %v", tc.name, err, tc.want)
				}
				before.check(t, a)
			}
			// Receiver side.
			if err := mustReject(t, c, mustEncode(t, forgeCommit(t, a, props, nil)), tc.name); !errors.Is(err, tc.want) {
				t.Fatalf("%s: receiver: %v, want %v", tc.name, err, tc.want)
			}
			// Start the next case with empty proposal caches: a valid
			// commit without the cached proposals.
			commitAll(t, a, all, CommitOptions{SkipCached: true, ForcePath: true})
		}
		sendApp(t, c, all, "still fine")
	})
}
