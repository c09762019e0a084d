package core

import (
	"bytes"
	"sync"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/codec"
)

// Fuzz targets for the decoders not covered by messages_fuzz_test.go,
// tree_test.go, group_context_test.go and psk_test.go, and for the group
// entry points that take untrusted bytes (Process, Join). Run e.g.
//
//	go test ./mls/ -run '^$' -fuzz '^FuzzGroupProcess$' -fuzztime 30s

// fuzzGroupFixture is a 3-member group (suite 0x0001) with a commit, an
// application message and a Welcome to seed the corpus.
type fuzzGroupFixture struct {
	members []*Group
	commit  []byte
	app     []byte
	welcome []byte
	joiner  *KeyPackageBundle
	tree    []byte
}

var (
	fuzzFixtureOnce sync.Once
	fuzzFixture     *fuzzGroupFixture
)

func getFuzzGroupFixture(t testing.TB) *fuzzGroupFixture {
	fuzzFixtureOnce.Do(func() {
		all := newFlowGroup(t, 1, 90, "alice", "bob", "carol")
		fx := &fuzzGroupFixture{members: all}
		pc, err := all[0].Commit(CommitOptions{ForcePath: true})
		if err != nil {
			t.Fatal(err)
		}
		fx.commit = mustEncode(t, pc.Commit)
		app, err := all[0].SealApplication([]byte("fuzz"), []byte("ad"))
		if err != nil {
			t.Fatal(err)
		}
		fx.app = mustEncode(t, app)
		fx.joiner = newKP(t, newTestConfig(91), 1, "dave")
		pcw, err := all[1].Commit(CommitOptions{Proposals: []ProposalBody{&Add{KeyPackage: *fx.joiner.KeyPackage}}, InlineTree: true})
		if err != nil {
			t.Fatal(err)
		}
		fx.welcome = mustEncode(t, pcw.Welcome)
		fx.tree = mustTree(t, all[0])
		fuzzFixture = fx
	})
	if fuzzFixture == nil {
		t.Fatal("fuzz fixture failed")
	}
	return fuzzFixture
}

// FuzzUpdatePath: UpdatePath (RFC 9420, Section 7.6) decoding.
func FuzzUpdatePath(f *testing.F) {
	fx := getFuzzGroupFixture(f)
	m, _ := UnmarshalMLSMessage(fx.commit)
	if p := m.PublicMessage.Content.Commit.Path; p != nil {
		f.Add(codec.MustEncode(p.marshal))
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecoder(t, data, new(UpdatePath)) })
}

// FuzzAuthenticatedContent: AuthenticatedContent (RFC 9420, Section 6.1)
// decoding.
func FuzzAuthenticatedContent(f *testing.F) {
	fx := getFuzzGroupFixture(f)
	m, _ := UnmarshalMLSMessage(fx.commit)
	f.Add(codec.MustEncode(m.PublicMessage.authenticatedContent().marshal))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecoder(t, data, new(AuthenticatedContent)) })
}

// FuzzLeafParts: LeafNode, Credential, Capabilities, Extension and the
// typed GroupContext extensions (required_capabilities,
// external_senders); the first byte selects the decoder.
func FuzzLeafParts(f *testing.F) {
	fx := getFuzzGroupFixture(f)
	ln := fx.members[0].Public().Tree().Leaf(0)
	f.Add(append([]byte{0}, codec.MustEncode(ln.marshal)...))
	f.Add(append([]byte{1}, codec.MustEncode(ln.Credential.marshal)...))
	f.Add(append([]byte{2}, codec.MustEncode(ln.Capabilities.marshal)...))
	rc := &RequiredCapabilities{ExtensionTypes: []ExtensionType{5}, ProposalTypes: []ProposalType{1}, CredentialTypes: []CredentialType{1}}
	f.Add(append([]byte{3}, codec.MustEncode(rc.marshal)...))
	es, _ := ExternalSendersExtension([]ExternalSender{{SignatureKey: ln.SignatureKey, Credential: ln.Credential}})
	f.Add(append([]byte{4}, es.Data...))
	f.Add(append([]byte{5}, codec.MustEncode(es.marshal)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		in := data[1:]
		switch data[0] % 6 {
		case 0:
			fuzzDecoder(t, in, new(LeafNode))
		case 1:
			fuzzDecoder(t, in, new(Credential))
		case 2:
			fuzzDecoder(t, in, new(Capabilities))
		case 3:
			fuzzDecoder(t, in, new(RequiredCapabilities))
		case 4:
			// external_senders: a list of ExternalSender; errors are
			// typed, successes re-encode identically.
			es, err := UnmarshalExternalSenders(in)
			if err != nil {
				if !typedError(err) {
					t.Fatalf("untyped error %T", err)
				}
				return
			}
			ext, err := ExternalSendersExtension(es)
			if err != nil || !bytes.Equal(ext.Data, in) {
				t.Fatalf("external_senders re-encoding differs: %v", err)
			}
		case 5:
			fuzzDecoder(t, in, new(Extension))
		}
	})
}

// FuzzGroupProcess feeds arbitrary bytes to Group.Process at a member of a
// fixed epoch: no panic, typed errors, and a rejected message changes
// nothing.
func FuzzGroupProcess(f *testing.F) {
	fx := getFuzzGroupFixture(f)
	f.Add(fx.commit)
	f.Add(fx.app)
	f.Add(fx.welcome)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := UnmarshalMLSMessage(data)
		if err != nil {
			return
		}
		g := fx.members[2].clone()
		g.stree = g.stree.Clone() // an opened message consumes a key
		before := takeSnapshot(t, g)
		if _, err := g.Process(m); err != nil {
			if !typedError(err) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			before.check(t, g)
		}
	})
}

// FuzzJoin feeds arbitrary Welcome messages to Join (with the fixture's
// ratchet tree when the Welcome carries none): no panic, typed errors.
func FuzzJoin(f *testing.F) {
	fx := getFuzzGroupFixture(f)
	f.Add(fx.welcome)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := UnmarshalMLSMessage(data)
		if err != nil {
			return
		}
		if _, err := Join(&Config{}, m, fx.joiner, &JoinOptions{RatchetTree: fx.tree}); err != nil && !typedError(err) {
			t.Fatalf("untyped error %T: %v", err, err)
		}
	})
}
