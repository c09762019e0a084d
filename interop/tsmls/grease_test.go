package tsmls

import (
	"encoding/hex"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mlslab/mlslab/mls/core"
)

// greaseCount returns how many GREASE values (RFC 9420 §13.5; the same
// codepoints in every registry) l holds.
func greaseCount[T ~uint16](l []T) int {
	n := 0
	for _, v := range l {
		if core.ExtensionType(v).IsGREASE() {
			n++
		}
	}
	return n
}

// countGREASE returns how many GREASE values caps and exts hold.
func countGREASE(caps *core.Capabilities, exts core.Extensions) int {
	n := greaseCount(caps.CipherSuites) + greaseCount(caps.Extensions) + greaseCount(caps.Proposals) + greaseCount(caps.Credentials)
	for _, e := range exts {
		if e.Type.IsGREASE() {
			n++
		}
	}
	return n
}

// TestGREASE: with GREASE on (the default core.Config, RFC 9420 §13.5) mls
// KeyPackages and leaves carry GREASE values, and ts-mls adds them by
// commit and by proposal and follows their commits; mls adds a ts-mls
// KeyPackage whose KeyPackage.extensions hold a GREASE and an unknown
// extension that its capabilities do not list, which RFC 9420 §10 and
// §13.4 require a receiver to ignore (mls rejected it before).
func TestGREASE(t *testing.T) {
	d := startDriver(t)
	cs := core.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	if testing.Short() {
		t.Log("-short: suite 1 only")
	}
	for _, c := range []core.CipherSuite{cs, core.MLS_128_DHKEMP256_AES128GCM_SHA256_P256} {
		if testing.Short() && c != cs {
			continue
		}
		t.Run(fmt.Sprintf("cs=0x%04x", uint16(c)), func(t *testing.T) {
			testGREASE(&group{t: t, d: d, cs: c, last: time.Now(), seed: 100})
		})
	}
}

func testGREASE(w *group) {
	t := w.t
	goKP := func(name string) *goMember {
		m := w.newGoKP(name)
		k := m.kp.KeyPackage
		if countGREASE(&k.LeafNode.Capabilities, k.Extensions) < 5 {
			t.Fatalf("%s: mls KeyPackage without GREASE: capabilities %+v, extensions %v", name, k.LeafNode.Capabilities, k.Extensions)
		}
		return m
	}

	// 0: Go alice (GREASE) creates the group.
	alice := goKP("alice")
	g, err := core.CreateGroup(alice.cfg, []byte("interop-grease"), alice.kp, nil)
	if err != nil {
		t.Fatal(err)
	}
	alice.g = g
	w.members = append(w.members, alice)

	// 1: ts tom's KeyPackage carries unlisted GREASE (0x2a2a) and unknown
	// (0x7f01) KeyPackage extensions; alice adds him.
	unlisted := []core.ExtensionType{0x2a2a, 0x7f01}
	r, err := w.d.Call("key_package", map[string]any{"client": "tom", "suite": uint16(w.cs), "kp_extensions": []map[string]any{
		{"type": uint16(unlisted[0]), "data": hex.EncodeToString([]byte("grease from ts-mls"))},
		{"type": uint16(unlisted[1]), "data": "0102"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tomKP := unmarshal(t, r.KeyPackage).KeyPackage
	for _, e := range unlisted {
		if !tomKP.Extensions.Has(e) {
			t.Fatalf("ts-mls KeyPackage lacks extension %v: %v", e, tomKP.Extensions)
		}
	}
	if slices.Contains(tomKP.LeafNode.Capabilities.Extensions, unlisted[1]) {
		t.Fatal("ts-mls listed the unknown extension in its capabilities")
	}
	tom := &tsMember{name: "tom", d: w.d}
	pc := w.goCommit(alice, core.CommitOptions{Proposals: []core.ProposalBody{&core.Add{KeyPackage: *tomKP}}, InlineTree: true})
	w.tsJoin(tom, marshal(t, pc.Welcome), nil)
	w.check("go adds ts (unlisted KP extensions)")

	// 2: tom (ts) adds Go bob (GREASE KeyPackage) with the tree inline.
	bob := goKP("bob")
	r = tom.call(t, "add", map[string]any{"key_packages": [][]byte{w.kpMessage(bob)}, "inline_tree": true})
	w.deliver(tom, r.Commit, "commit")
	w.goJoin(bob, r.Welcome, nil)
	w.check("ts adds go (GREASE KP)")

	// 3: tom proposes adding Go carol (GREASE); alice and bob validate the
	// proposal, bob commits it; carol joins with the tree out of band.
	carol := goKP("carol")
	r = tom.call(t, "propose_add", map[string]any{"key_package": w.kpMessage(carol)})
	w.deliver(tom, r.Proposal, "proposal")
	pc = w.goCommit(bob, core.CommitOptions{})
	w.deliver(bob, marshal(t, pc.Commit), "commit")
	w.goJoin(carol, marshal(t, pc.Welcome), treeOf(t, bob))
	w.check("go commits ts proposal of GREASE KP")

	// 4: alice proposes adding Go dave (GREASE); ts-mls validates the
	// proposal and commits it.
	dave := goKP("dave")
	prop, err := alice.g.Propose(&core.Add{KeyPackage: *dave.kp.KeyPackage}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(alice, marshal(t, prop), "proposal")
	r = tom.call(t, "commit", map[string]any{"inline_tree": true})
	w.deliver(tom, r.Commit, "commit")
	w.goJoin(dave, r.Welcome, nil)
	w.check("ts commits go proposal of GREASE KP")
	w.chat("round 1")

	// 5: full-path updates from both sides: GREASE capabilities in
	// commit-source leaves (Go) and whatever ts-mls GREASEs.
	w.updateEach()
	w.chat("round 2")
	if _, err := w.d.Call("forget", map[string]any{"client": "tom"}); err != nil {
		t.Fatal(err)
	}
}
