package tsmls

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/mlslab/mlslab/mls/core"
)

// Cipher suites both implementations support: all seven of RFC 9420
// §17.1 and ts-mls's post-quantum suites 0x0051-0x0058 (ML-KEM-1024 and
// X-Wing KEMs, Ed25519 and ML-DSA-87 signatures; mls/internal/suite/pq.go).
// ts-mls's 0x004d-0x0050 are not implemented by mls (see pq.go).
var suites = core.CipherSuites()

// publicSuites run the scenario a second time with handshake messages as
// PublicMessage (membership tag, RFC 9420 §6.2): one suite per hash
// function, plus one X-Wing suite per signature scheme (Ed25519, ML-DSA-87:
// the PublicMessage carries the signature and membership tag in clear).
// TSMLS_FULL=1 runs every suite both ways (~60 s more).
var publicSuites = map[core.CipherSuite]bool{1: true, 6: true, 7: true, 0x0053: true, 0x0058: true}

var (
	driverOnce sync.Once
	driverDir  string
	driverErr  error
)

// startDriver starts a driver process for t, or skips t (fails it under
// $CI) when ts-mls is not installed.
func startDriver(t *testing.T) *Driver {
	t.Helper()
	driverOnce.Do(func() {
		driverDir, driverErr = FindDir()
		if driverErr == nil {
			driverErr = CheckInstalled(driverDir)
		}
	})
	if driverErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("ts-mls interop cannot run under CI: %v", driverErr)
		}
		t.Skipf("skipping ts-mls interop: %v", driverErr)
	}
	d, err := Start(driverDir, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Logf("driver exit: %v; stderr: %s", err, d.Stderr())
		}
	})
	return d
}

// member is one group member, implemented by mls or by ts-mls.
type member interface {
	Name() string
	// State returns epoch, epoch_authenticator and tree hash.
	State(t *testing.T) (uint64, []byte, []byte)
	Export(t *testing.T, label string, context []byte, n int) []byte
	Active() bool
	// Process handles a handshake or application message; it returns the
	// kind ("application", "proposal", "commit") and, for application
	// messages, the data and authenticated data.
	Process(msg []byte) (kind string, data, aad []byte, err error)
	Protect(t *testing.T, data, aad []byte) []byte
}

type goMember struct {
	name string
	cfg  *core.Config
	kp   *core.KeyPackageBundle
	g    *core.Group
}

type tsMember struct {
	name   string
	d      *Driver
	active bool
}

func (m *goMember) Name() string { return "go:" + m.name }
func (m *tsMember) Name() string { return "ts:" + m.name }

func (m *goMember) Active() bool { return m.g != nil && m.g.Active() }
func (m *tsMember) Active() bool { return m.active }

func (m *goMember) State(t *testing.T) (uint64, []byte, []byte) {
	return m.g.Epoch(), m.g.EpochAuthenticator(), m.g.Public().TreeHash()
}

func (m *tsMember) State(t *testing.T) (uint64, []byte, []byte) {
	t.Helper()
	r := m.call(t, "epoch_authenticator", nil)
	return r.Epoch, r.EpochAuthenticator, r.TreeHash
}

func (m *goMember) Export(t *testing.T, label string, context []byte, n int) []byte {
	t.Helper()
	s, err := m.g.Export(label, context, n)
	if err != nil {
		t.Fatalf("%s export: %v", m.Name(), err)
	}
	return s
}

func (m *tsMember) Export(t *testing.T, label string, context []byte, n int) []byte {
	t.Helper()
	return m.call(t, "export", map[string]any{"label": label, "context": context, "length": n}).Secret
}

func (m *goMember) Process(msg []byte) (string, []byte, []byte, error) {
	dec, err := core.UnmarshalMLSMessage(msg)
	if err != nil {
		return "", nil, nil, err
	}
	p, err := m.g.Process(dec)
	if err != nil {
		return "", nil, nil, err
	}
	switch p.ContentType {
	case core.ContentTypeApplication:
		return "application", p.ApplicationData, p.AuthenticatedData, nil
	case core.ContentTypeProposal:
		return "proposal", nil, nil, nil
	default:
		return "commit", nil, nil, nil
	}
}

func (m *tsMember) Process(msg []byte) (string, []byte, []byte, error) {
	r, err := m.d.Call("process", map[string]any{"client": m.name, "message": msg})
	if err != nil {
		return "", nil, nil, err
	}
	m.active = r.Active
	return r.Kind, r.Data, r.AAD, nil
}

func (m *goMember) Protect(t *testing.T, data, aad []byte) []byte {
	t.Helper()
	msg, err := m.g.SealApplication(data, aad)
	if err != nil {
		t.Fatalf("%s seal: %v", m.Name(), err)
	}
	return marshal(t, msg)
}

func (m *tsMember) Protect(t *testing.T, data, aad []byte) []byte {
	t.Helper()
	return m.call(t, "protect", map[string]any{"data": data, "aad": aad}).Message
}

func (m *tsMember) call(t *testing.T, cmd string, args map[string]any) *Reply {
	t.Helper()
	if args == nil {
		args = map[string]any{}
	}
	args["client"] = m.name
	r, err := m.d.Call(cmd, args)
	if err != nil {
		t.Fatalf("%s: %v", m.Name(), err)
	}
	if r.EpochAuthenticator != nil { // the reply carries the member's state
		m.active = r.Active
	}
	return r
}

func marshal(t *testing.T, m *core.MLSMessage) []byte {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func unmarshal(t *testing.T, b []byte) *core.MLSMessage {
	t.Helper()
	m, err := core.UnmarshalMLSMessage(b)
	if err != nil {
		t.Fatalf("decoding MLSMessage: %v", err)
	}
	return m
}

// group is a mixed group: every active member of it must agree.
type group struct {
	t       *testing.T
	d       *Driver
	cs      core.CipherSuite
	public  bool // handshake messages as PublicMessage
	members []member
	seed    uint64
	last    time.Time // of the previous check, for the step log
	// persist: every Go member is saved and reloaded (core.Group.MarshalState,
	// core.UnmarshalGroupState with only its Config kept) after every message
	// delivered and every check, and chat sends two rounds with a reload
	// between them.
	persist bool
}

// reload replaces every Go member's Group by the one decoded from its
// saved state, as after a restart, when w.persist is set.
func (w *group) reload() {
	w.t.Helper()
	if !w.persist {
		return
	}
	for _, m := range w.members {
		gm, ok := m.(*goMember)
		if !ok || gm.g == nil {
			continue
		}
		enc, err := gm.g.MarshalState()
		if err != nil {
			w.t.Fatalf("%s saving: %v", gm.Name(), err)
		}
		g, err := core.UnmarshalGroupState(gm.cfg, enc)
		if err != nil {
			w.t.Fatalf("%s reloading: %v", gm.Name(), err)
		}
		gm.g = g
	}
}

func (w *group) goConfig() *core.Config {
	w.seed++
	var s [32]byte
	s[0], s[1] = byte(w.seed), byte(w.cs)
	return &core.Config{Rand: rand.NewChaCha8(s), EncryptHandshake: !w.public, PaddingBlock: 16}
}

func (w *group) newGoKP(name string) *goMember {
	w.t.Helper()
	cfg := w.goConfig()
	kp, err := core.NewKeyPackage(cfg, w.cs, core.NewBasicCredential([]byte(name)), nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return &goMember{name: name, cfg: cfg, kp: kp}
}

func (w *group) newTSKP(name string) (*tsMember, []byte) {
	w.t.Helper()
	r, err := w.d.Call("key_package", map[string]any{"client": name, "suite": uint16(w.cs), "public_handshake": w.public})
	if err != nil {
		w.t.Fatal(err)
	}
	// The KeyPackage must pass mls's validation (RFC 9420 §10.1).
	m := unmarshal(w.t, r.KeyPackage)
	if m.WireFormat != core.WireFormatKeyPackage || m.KeyPackage.CipherSuite != w.cs {
		w.t.Fatalf("ts-mls key package: wire format %v, suite %v", m.WireFormat, m.KeyPackage.CipherSuite)
	}
	return &tsMember{name: name, d: w.d}, r.KeyPackage
}

func (w *group) kpMessage(m *goMember) []byte {
	return marshal(w.t, &core.MLSMessage{Version: core.ProtocolVersionMLS10, WireFormat: core.WireFormatKeyPackage, KeyPackage: m.kp.KeyPackage})
}

// deliver hands msg from sender to every other active member and checks
// they classify it as kind.
func (w *group) deliver(sender member, msg []byte, kind string) {
	w.t.Helper()
	for _, m := range w.members {
		if m == sender || !m.Active() {
			continue
		}
		got, _, _, err := m.Process(msg)
		if err != nil {
			w.t.Fatalf("%s processing %s from %s: %v", m.Name(), kind, sender.Name(), err)
		}
		if got != kind {
			w.t.Fatalf("%s: processed %s from %s as %q", m.Name(), kind, sender.Name(), got)
		}
	}
	w.reload()
}

// check asserts every active member is in the same epoch with the same
// epoch authenticator, tree hash and exporter output (RFC 9420 §8.5, §8.7).
func (w *group) check(step string) {
	w.t.Helper()
	w.reload()
	var ref member
	var epoch uint64
	var auth, th, exp []byte
	for _, m := range w.members {
		if !m.Active() {
			continue
		}
		e, a, h := m.State(w.t)
		x := m.Export(w.t, "mlslab interop", []byte(step), 32)
		if ref == nil {
			ref, epoch, auth, th, exp = m, e, a, h, x
			continue
		}
		switch {
		case e != epoch:
			w.t.Fatalf("%s: %s at epoch %d, %s at %d", step, m.Name(), e, ref.Name(), epoch)
		case !bytes.Equal(h, th):
			w.t.Fatalf("%s: epoch %d: tree hash of %s %x != %s %x", step, e, m.Name(), h, ref.Name(), th)
		case !bytes.Equal(a, auth):
			w.t.Fatalf("%s: epoch %d: epoch_authenticator of %s %x != %s %x", step, e, m.Name(), a, ref.Name(), auth)
		case !bytes.Equal(x, exp):
			w.t.Fatalf("%s: epoch %d: exporter of %s %x != %s %x", step, e, m.Name(), x, ref.Name(), exp)
		}
	}
	if len(auth) == 0 {
		w.t.Fatalf("%s: empty epoch authenticator", step)
	}
	now := time.Now()
	w.t.Logf("%-40s epoch %2d, %d members agree (%v)", step, epoch, w.activeCount(), now.Sub(w.last).Round(time.Millisecond))
	w.last = now
}

// updateEach has every active member, in order, commit a full-path update
// that all others process, checking agreement after each.
func (w *group) updateEach() {
	t := w.t
	for _, m := range w.members {
		if !m.Active() {
			continue
		}
		switch m := m.(type) {
		case *goMember:
			pc := w.goCommit(m, core.CommitOptions{ForcePath: true})
			w.deliver(m, marshal(t, pc.Commit), "commit")
		case *tsMember:
			r := m.call(t, "update", nil)
			w.deliver(m, r.Commit, "commit")
		}
		w.check("update by " + m.Name())
	}
}

func (w *group) activeCount() int {
	n := 0
	for _, m := range w.members {
		if m.Active() {
			n++
		}
	}
	return n
}

// chat sends one application message from every active member to all the
// others, checking data and authenticated data (RFC 9420 §6.3).
func (w *group) chat(round string) {
	w.t.Helper()
	w.chatOnce(round)
	if w.persist {
		// The reloaded senders continue their ratchets in this epoch.
		w.chatOnce(round + " again")
	}
}

func (w *group) chatOnce(round string) {
	w.t.Helper()
	for _, s := range w.members {
		if !s.Active() {
			continue
		}
		data := []byte(fmt.Sprintf("%s: hello from %s", round, s.Name()))
		aad := []byte("aad:" + s.Name())
		msg := s.Protect(w.t, data, aad)
		for _, r := range w.members {
			if r == s || !r.Active() {
				continue
			}
			kind, got, gotAAD, err := r.Process(msg)
			if err != nil {
				w.t.Fatalf("%s opening application message of %s: %v", r.Name(), s.Name(), err)
			}
			if kind != "application" || !bytes.Equal(got, data) || !bytes.Equal(gotAAD, aad) {
				w.t.Fatalf("%s got %s %q (aad %q) from %s", r.Name(), kind, got, gotAAD, s.Name())
			}
		}
		w.reload()
	}
}

func (w *group) goCommit(m *goMember, opts core.CommitOptions) *core.PendingCommit {
	w.t.Helper()
	pc, err := m.g.Commit(opts)
	if err != nil {
		w.t.Fatalf("%s commit: %v", m.Name(), err)
	}
	if err := m.g.Merge(pc); err != nil {
		w.t.Fatal(err)
	}
	return pc
}

func (w *group) goJoin(m *goMember, welcome []byte, tree []byte) {
	w.t.Helper()
	var opts *core.JoinOptions
	if tree != nil {
		opts = &core.JoinOptions{RatchetTree: tree}
	}
	g, err := core.Join(m.cfg, unmarshal(w.t, welcome), m.kp, opts)
	if err != nil {
		w.t.Fatalf("%s joining from Welcome: %v", m.Name(), err)
	}
	m.g = g
	w.members = append(w.members, m)
}

func (w *group) tsJoin(m *tsMember, welcome []byte, tree []byte) {
	w.t.Helper()
	args := map[string]any{"welcome": welcome}
	if tree != nil {
		args["tree"] = tree
	}
	r := m.call(w.t, "join", args)
	if !r.Active {
		w.t.Fatalf("%s not active after join", m.Name())
	}
	m.active = true
	w.members = append(w.members, m)
}

func treeOf(t *testing.T, m *goMember) []byte {
	t.Helper()
	b, err := m.g.Public().Tree().MarshalRatchetTree()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestInterop(t *testing.T) {
	d := startDriver(t)
	v, err := d.Call("version", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ts-mls %s on node %s", v.TSMLS, v.Node)
	for _, cs := range suites {
		if testing.Short() && cs != core.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519 {
			continue // -short: one suite, both wire formats
		}
		for _, public := range []bool{false, true} {
			hs := "private"
			if public {
				hs = "public"
				if !publicSuites[cs] && os.Getenv("TSMLS_FULL") == "" {
					continue
				}
			}
			t.Run(fmt.Sprintf("cs=0x%04x/handshake=%s", uint16(cs), hs), func(t *testing.T) {
				w := &group{t: t, d: d, cs: cs, public: public, last: time.Now()}
				runScenario(w)
			})
		}
	}
}

// TestInteropPersist runs the mixed-group script with every Go member
// saved and reloaded between operations (and between two application
// messages of one epoch): ts-mls peers and the never-reloaded state of the
// scenario keep agreeing on epochs, authenticators and exporter outputs,
// and accept the reloaded members' messages (no ratchet generation reused).
func TestInteropPersist(t *testing.T) {
	d := startDriver(t)
	for _, public := range []bool{false, true} {
		cs := core.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
		t.Run(fmt.Sprintf("cs=0x%04x/public=%v", uint16(cs), public), func(t *testing.T) {
			w := &group{t: t, d: d, cs: cs, public: public, last: time.Now(), persist: true}
			runScenario(w)
		})
	}
}

// runScenario is the mixed-group script; comments give the epoch reached.
func runScenario(w *group) {
	t := w.t
	gid := []byte(fmt.Sprintf("interop-%v-%v", w.cs, w.public))

	// Epoch 0: Go alice creates the group.
	alice := w.newGoKP("alice")
	g, err := core.CreateGroup(alice.cfg, gid, alice.kp, nil)
	if err != nil {
		t.Fatal(err)
	}
	alice.g = g
	w.members = append(w.members, alice)

	// 1: alice adds ts tom; tom joins by Welcome with the tree inline.
	tom, kp := w.newTSKP("tom")
	pc := w.goCommit(alice, core.CommitOptions{Proposals: []core.ProposalBody{&core.Add{KeyPackage: *unmarshal(t, kp).KeyPackage}}, InlineTree: true})
	w.tsJoin(tom, marshal(t, pc.Welcome), nil)
	w.check("go adds ts (tree inline)")

	// 2: alice adds Go bob and ts tina in one commit; the tree goes out of
	// band. tom processes the commit.
	bob := w.newGoKP("bob")
	tina, kp := w.newTSKP("tina")
	pc = w.goCommit(alice, core.CommitOptions{Proposals: []core.ProposalBody{
		&core.Add{KeyPackage: *bob.kp.KeyPackage},
		&core.Add{KeyPackage: *unmarshal(t, kp).KeyPackage},
	}})
	w.deliver(alice, marshal(t, pc.Commit), "commit")
	tree := treeOf(t, alice)
	w.goJoin(bob, marshal(t, pc.Welcome), tree)
	w.tsJoin(tina, marshal(t, pc.Welcome), tree)
	w.check("go adds go+ts (tree out of band)")
	w.chat("round 1")

	// 3: tom commits a full-path update (empty commit, RFC 9420 §12.4).
	r := tom.call(t, "update", nil)
	w.deliver(tom, r.Commit, "commit")
	w.check("ts update commit")

	// 4: tina adds Go carol, tree out of band (from ts-mls's encoder).
	carol := w.newGoKP("carol")
	r = tina.call(t, "add", map[string]any{"key_packages": [][]byte{w.kpMessage(carol)}, "inline_tree": false})
	w.deliver(tina, r.Commit, "commit")
	tr := tina.call(t, "ratchet_tree", nil)
	w.goJoin(carol, r.Welcome, tr.Tree)
	w.check("ts adds go (tree out of band)")

	// 5: tom adds Go dave with the tree inline.
	dave := w.newGoKP("dave")
	r = tom.call(t, "add", map[string]any{"key_packages": [][]byte{w.kpMessage(dave)}, "inline_tree": true})
	w.deliver(tom, r.Commit, "commit")
	w.goJoin(dave, r.Welcome, nil)
	w.check("ts adds go (tree inline)")
	w.chat("round 2")

	// 6: bob commits a full-path update.
	pc = w.goCommit(bob, core.CommitOptions{ForcePath: true})
	w.deliver(bob, marshal(t, pc.Commit), "commit")
	w.check("go update commit")

	// 7: alice proposes an Update; tom commits it by reference.
	prop, err := alice.g.ProposeUpdate(&core.ProposeOptions{AuthenticatedData: []byte("upd")})
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(alice, marshal(t, prop), "proposal")
	r = tom.call(t, "commit", nil)
	w.deliver(tom, r.Commit, "commit")
	w.check("ts commits go update proposal")

	// 8: tina proposes removing carol; bob commits it by reference.
	r = tina.call(t, "propose_remove", map[string]any{"index": uint32(carol.g.LeafIndex())})
	w.deliver(tina, r.Proposal, "proposal")
	pc = w.goCommit(bob, core.CommitOptions{})
	w.deliver(bob, marshal(t, pc.Commit), "commit")
	if carol.Active() {
		t.Fatal("carol still active after her removal")
	}
	w.check("go commits ts remove proposal")

	// 9: tom proposes adding ts tess; alice commits it and tess joins.
	tess, kp := w.newTSKP("tess")
	r = tom.call(t, "propose_add", map[string]any{"key_package": kp})
	w.deliver(tom, r.Proposal, "proposal")
	pc = w.goCommit(alice, core.CommitOptions{InlineTree: true})
	if pc.Welcome == nil {
		t.Fatal("no Welcome for a committed Add proposal")
	}
	w.deliver(alice, marshal(t, pc.Commit), "commit")
	w.tsJoin(tess, marshal(t, pc.Welcome), nil)
	w.check("go commits ts add proposal")

	// 10: tom (ts) removes bob (Go); bob sees his own removal.
	r = tom.call(t, "remove", map[string]any{"indexes": []uint32{uint32(bob.g.LeafIndex())}})
	w.deliver(tom, r.Commit, "commit")
	if bob.Active() {
		t.Fatal("bob still active after ts-mls removed him")
	}
	w.check("ts removes go")

	// 11: alice (Go) removes tina (ts); tina sees her own removal.
	pc = w.goCommit(alice, core.CommitOptions{Proposals: []core.ProposalBody{&core.Remove{Removed: w.leafOf(tina)}}})
	w.deliver(alice, marshal(t, pc.Commit), "commit")
	if tina.Active() {
		t.Fatal("tina still active after mls removed her")
	}
	w.check("go removes ts")
	w.chat("round 3")

	// 12: Go erin joins externally with tess's GroupInfo (ts-mls writes
	// external_pub as a bare key; mls accepts it).
	gi := tess.call(t, "group_info", map[string]any{"inline_tree": true})
	giMsg := unmarshal(t, gi.GroupInfo)
	erin := w.newGoKP("erin")
	eg, commit, err := core.ExternalJoin(erin.cfg, giMsg.GroupInfo, erin.kp, nil)
	if err != nil {
		t.Fatalf("go external join from ts-mls GroupInfo: %v", err)
	}
	erin.g = eg
	w.members = append(w.members, erin)
	w.deliver(erin, marshal(t, commit), "commit")
	w.check("go joins externally (ts GroupInfo)")

	// 13: ts xena joins externally with alice's GroupInfo. mls writes the
	// RFC 9420 §12.4.3.2 form of external_pub, which ts-mls 1.6.4 cannot
	// read, and the key sits under the GroupInfo signature, so nothing in
	// transit can fix it: alice signs a GroupInfo in ts-mls's dialect.
	gio, err := alice.g.GroupInfo(core.GroupInfoOptions{ExternalPub: true})
	if err != nil {
		t.Fatal(err)
	}
	bareExternalPub(t, gio)
	if err := gio.Sign(alice.g.SignaturePrivateKey()); err != nil {
		t.Fatal(err)
	}
	xena := &tsMember{name: "xena", d: w.d}
	r, err = w.d.Call("external_join", map[string]any{
		"client": "xena", "suite": uint16(w.cs), "public_handshake": w.public,
		"group_info": marshal(t, &core.MLSMessage{Version: core.ProtocolVersionMLS10, WireFormat: core.WireFormatGroupInfo, GroupInfo: gio}),
		"tree":       treeOf(t, alice),
	})
	if err != nil {
		t.Fatalf("ts-mls external join from mls GroupInfo: %v", err)
	}
	xena.active = true
	w.members = append(w.members, xena)
	w.deliver(xena, r.Commit, "commit")
	w.check("ts joins externally (go GroupInfo)")
	w.chat("round 4")

	// 14: everyone still active updates once more, alternating sides.
	w.updateEach()
	w.chat("round 5")
	for _, m := range w.members {
		if m, ok := m.(*tsMember); ok {
			if _, err := w.d.Call("forget", map[string]any{"client": m.name}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// leafOf returns the leaf index of a ts-mls member as seen by the driver.
func (w *group) leafOf(m *tsMember) uint32 {
	return m.call(w.t, "epoch_authenticator", nil).LeafIndex
}
