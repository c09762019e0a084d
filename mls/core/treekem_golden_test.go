package core

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/codec"
	"github.com/mlslab/mlslab/mls/internal/suite"
)

// goldenCommitDigests are SHA-256 digests of the wire bytes produced by
// seededCommitTranscript for each suite. They were computed on main at
// commit 5b1a964 (before UpdatePath creation overlapped the HPKE
// encapsulations with the leaf signature, issue 17 item 3) by running
//
//	go test ./mls/core/ -run TestSeededCommitGolden -v -golden-print
//
// and pasting the printed map. Any change to the order or amount of
// randomness drawn from Config.Rand, or to the bytes of a commit, changes
// them.
var goldenCommitDigests = map[suite.ID]string{
	0x0001: "a15808be25c419f85da46b2568d93021560dc3f84954587723386931de52892e",
	0x0002: "ec0823620e544440aac4003fd7e7c9fea7eb039fd823ed5f5fb33ddc2d3c1e9a",
	0x0003: "93c7c5b911a82d64f0481be424a6006c7e908b09cb3857a07199de1a64d24bae",
	0x0004: "1d677bf979c28b80992cedfb62868b425ba5ec7685e220569275e3e52cf54da1",
	0x0005: "267756e8ab12593e3cd8c217f098c5eebe775165dc20d2b5f6e96bcb25a11fe6",
	0x0006: "a439279495293bf19cc688f346bb3fe254121df8716720eacd1b251fe0a531ca",
	0x0007: "f607290dc2cd2b3ff92df2943654a09a7c2a317187d8f40100f0589d1bedd47a",
	0x004d: "38ff814bbd6c6c75ac31768c35cfeaca3d5772e97ddfee1b4fbee5f9ca675637",
	0x004e: "41639be4afba0228872599283918b6358a66136521aeab5beb3581378a37d09e",
	0x004f: "7bf01888bf3c4b4034f2e443b97bd1379e75f0b4ea470268d518579b82b15853",
	0x0050: "3cd69a6a46da2e4e03acd3506ad2d47d0c38a1198d59efccfa17b1e67fac67c3",
	0x0051: "9bdb028905bebad9e7ae1c979d02ea23e2c9f35c3e67284909e10cf67933f77f",
	0x0052: "59c9d0094a4c4fa95c4f50990c0402c38096de60e46600f0c6406439ea8c249f",
	0x0053: "b7228dbb683a7b868a6f25881f70b47a931a17b791032053391b05cd42580d87",
	0x0054: "7bb1900028169ac7fda0ee9339eb2592399a2f10bf8c0ef501646bf369af51b3",
	0x0055: "f5203670e366ef62bea2d05161d929b72dcf3a5ba685e41fe10f83f20190653c",
	0x0056: "982531483e95e5bc8764a01d0f5b9e9bcca5b83f650ad2e9e5a4206ef9c041c7",
	0x0057: "bc90829c00f4c80d283d2636545ffb45bcc3be437475c5cbbb62339698c1feb1",
	0x0058: "1b7f95086a5e75040545187e93190efbf7cb624f97c21119807ad9d36fd98fad",
}

// seededCommitTranscript drives one seeded group through commits that all
// carry an UpdatePath (RFC 9420, Section 12.4.1): adds with a path (the
// added leaves are excluded from the path encryption, Section 7.6), a
// remove with a path (blank parents: copath resolutions of several
// nodes, unmerged leaves), a self-update and an external commit (Section
// 12.4.3.2). It returns the SHA-256 of every commit, Welcome and GroupInfo
// encoding, in order.
func seededCommitTranscript(t *testing.T, cs suite.ID) []byte {
	t.Helper()
	h := sha256.New()
	write := func(m interface{ Marshal() ([]byte, error) }) {
		t.Helper()
		enc, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		h.Write(enc)
	}
	cfg := newTestConfig(uint64(cs) + 500)
	a, err := CreateGroup(cfg, []byte("golden group"), newKP(t, cfg, cs, "alice"), nil)
	if err != nil {
		t.Fatal(err)
	}
	kcfg := newTestConfig(uint64(cs) + 900)
	add := func(names ...string) []ProposalBody {
		var out []ProposalBody
		for _, n := range names {
			out = append(out, &Add{KeyPackage: *newKP(t, kcfg, cs, n).KeyPackage})
		}
		return out
	}
	steps := []CommitOptions{
		{Proposals: add("b", "c", "d", "e", "f", "g"), ForcePath: true, InlineTree: true},
		{Proposals: []ProposalBody{&Remove{Removed: 2}}, ForcePath: true},
		{Proposals: add("h", "i"), ForcePath: true, ExternalPub: true, InlineTree: true},
		{ForcePath: true},
	}
	var gi *GroupInfo
	for i, opts := range steps {
		pc := commitAndMerge(t, a, opts)
		write(pc.Commit)
		if pc.Welcome != nil {
			write(pc.Welcome)
		}
		if pc.GroupInfo != nil {
			write(pc.GroupInfo)
			if i == 2 {
				gi = pc.GroupInfo
			}
		}
	}
	// An external commit by a new client, with the tree passed out of band.
	jcfg := newTestConfig(uint64(cs) + 1300)
	_, msg, err := ExternalJoin(jcfg, gi, newKP(t, jcfg, cs, "z"), &ExternalJoinOptions{RatchetTree: mustEncodeTree(t, a.Public().Tree())})
	if err != nil {
		t.Fatalf("external join: %v", err)
	}
	write(msg)
	return h.Sum(nil)
}

var goldenPrint = flag.Bool("golden-print", false, "print the seeded commit digests instead of checking them")

func TestSeededCommitGolden(t *testing.T) {
	got := map[suite.ID]string{}
	for _, cs := range suite.All {
		t.Run(fmt.Sprintf("cs=0x%04x", uint16(cs)), func(t *testing.T) {
			d := hex.EncodeToString(seededCommitTranscript(t, cs))
			got[cs] = d
			if *goldenPrint {
				return
			}
			if want := goldenCommitDigests[cs]; d != want {
				t.Errorf("seeded commit transcript digest %s, golden %s", d, want)
			}
		})
	}
	if *goldenPrint {
		for _, cs := range suite.All {
			fmt.Printf("\t0x%04x: %q,\n", uint16(cs), got[cs])
		}
	}
}

// TestCreateUpdatePathMatchesTwoPhase: the overlapped createUpdatePath
// reads the same randomness and returns the same UpdatePath, commit
// secret, tree and private keys as GenerateUpdatePath then Encrypt from
// one seeded reader, for every worker count, with copath resolutions of
// several nodes, unmerged leaves and excluded leaves (degraded tree).
func TestCreateUpdatePathMatchesTwoPhase(t *testing.T) {
	for _, id := range []suite.ID{1, 2, 3, 5, 0x4D, 0x53, 0x57} {
		tr := degradedTree(t, id, 64)
		cs := tr.cs
		for _, sender := range []LeafIndex{0, 37} {
			if tr.Leaf(sender) == nil {
				continue
			}
			_, _, sigPriv, _ := leafKeys(cs, sender, 0)
			signer, err := cs.NewSigner(sigPriv)
			if err != nil {
				t.Fatal(err)
			}
			var exclude []LeafIndex
			for l := LeafIndex(60); l < 64 && len(exclude) < 2; l++ {
				if tr.Leaf(l) != nil && l != sender {
					exclude = append(exclude, l)
				}
			}
			ctxOf := func(nt *RatchetTree) []byte { return append([]byte("provisional:"), nt.TreeHash()...) }
			r := seeded(id, "overlap", uint32(sender))
			p1, err := tr.generateUpdatePathSigner(r, sender, *tr.Leaf(sender), signer, fixtureGroupID, 1)
			if err != nil {
				t.Fatal(err)
			}
			up1, err := p1.encrypt(r, ctxOf(p1.Tree()), exclude, 1)
			if err != nil {
				t.Fatal(err)
			}
			want := codec.MustEncode(up1.marshal)
			var tail1 [8]byte
			_, _ = r.Read(tail1[:])
			for _, par := range []int{1, 2, 3, 8} {
				t.Run(fmt.Sprintf("cs=0x%04x/sender=%d/par=%d", uint16(id), sender, par), func(t *testing.T) {
					r := seeded(id, "overlap", uint32(sender))
					p2, up2, err := tr.createUpdatePath(r, sender, *tr.Leaf(sender), signer, fixtureGroupID, exclude,
						func(nt *RatchetTree) ([]byte, error) { return ctxOf(nt), nil }, par)
					if err != nil {
						t.Fatal(err)
					}
					if got := codec.MustEncode(up2.marshal); !bytes.Equal(got, want) {
						t.Fatal("UpdatePath differs from the two-phase one")
					}
					var tail2 [8]byte
					_, _ = r.Read(tail2[:])
					if tail1 != tail2 {
						t.Fatal("different amount of randomness read")
					}
					if !bytes.Equal(p2.CommitSecret(), p1.CommitSecret()) || !bytes.Equal(p2.Tree().TreeHash(), p1.Tree().TreeHash()) {
						t.Fatal("commit secret or tree differs")
					}
					for _, x := range p1.Private().Nodes() {
						if !bytes.Equal(p1.Private().PrivateKey(x), p2.Private().PrivateKey(x)) {
							t.Fatalf("private key of node %d differs", x)
						}
					}
				})
			}
		}
	}
}

// TestCreateUpdatePathErrors: a copath node with a key the KEM rejects
// fails createUpdatePath with the two-phase error whatever the worker
// count, and a failing provisional context is reported as such.
func TestCreateUpdatePathErrors(t *testing.T) {
	tr := fullTree(t, 1, 16)
	cs := tr.cs
	_, _, sigPriv, _ := leafKeys(cs, 0, 0)
	signer, _ := cs.NewSigner(sigPriv)
	// Low-order X25519 keys (all zero) at two copath resolution nodes.
	e := tr.edit()
	for _, x := range []NodeIndex{2, 11} {
		n := *tr.at(x)
		if n.leaf != nil {
			ln := *n.leaf
			ln.EncryptionKey = make([]byte, 32)
			e.set(x, Node{Leaf: &ln})
		} else {
			pn := *n.parent
			pn.EncryptionKey = make([]byte, 32)
			e.set(x, Node{Parent: &pn})
		}
	}
	bad, err := e.finish()
	if err != nil {
		t.Fatal(err)
	}
	gc := func(nt *RatchetTree) ([]byte, error) { return nt.TreeHash(), nil }
	p1, err := bad.generateUpdatePathSigner(seeded(1, "err", 0), 0, *bad.Leaf(0), signer, fixtureGroupID, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, want := p1.encrypt(seeded(1, "err", 0), []byte("x"), nil, 1)
	if !errors.Is(want, suite.ErrInvalidKey) {
		t.Fatalf("two-phase: %v", want)
	}
	ctxErr := errors.New("no context")
	for _, par := range []int{1, 2, 8} {
		_, _, err := bad.createUpdatePath(seeded(1, "err", 0), 0, *bad.Leaf(0), signer, fixtureGroupID, nil, gc, par)
		if err == nil || err.Error() != want.Error() {
			t.Fatalf("par=%d: %v, want %v", par, err, want)
		}
		_, _, err = tr.createUpdatePath(seeded(1, "err", 0), 0, *tr.Leaf(0), signer, fixtureGroupID, nil,
			func(*RatchetTree) ([]byte, error) { return nil, ctxErr }, par)
		if !errors.Is(err, ctxErr) {
			t.Fatalf("par=%d: %v, want the context error", par, err)
		}
	}
}
