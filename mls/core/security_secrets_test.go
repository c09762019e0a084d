package core

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

// secretRenderings returns the forms in which fmt or encoding/json could
// print secret: hex (lower, upper), base64 (std, URL, raw), the raw bytes,
// the decimal array form of %v/%d, the Go-syntax form of %#v and the
// quoted form of %q. Only the first 12 bytes are used so a truncated or
// partial print is caught too.
func secretRenderings(secret []byte) []string {
	s := secret[:min(len(secret), 12)]
	dec := fmt.Sprint(s)
	gosyn := fmt.Sprintf("%#v", s)
	q := fmt.Sprintf("%q", s)
	return []string{
		hex.EncodeToString(s),
		strings.ToUpper(hex.EncodeToString(s)),
		base64.StdEncoding.EncodeToString(s)[:12],
		base64.URLEncoding.EncodeToString(s)[:12],
		string(s),
		dec[1 : len(dec)-1],
		gosyn[len("[]byte{") : len(gosyn)-1],
		q[1 : len(q)-1],
	}
}

// wrappings returns v as is, through a pointer, and nested in an exported
// struct field (value and pointer), a slice and a map.
func wrappings(v any) map[string]any {
	rv := reflect.ValueOf(v)
	t := rv.Type()
	ptr := reflect.New(t)
	ptr.Elem().Set(rv)
	st := reflect.New(reflect.StructOf([]reflect.StructField{{Name: "Field", Type: t}})).Elem()
	st.Field(0).Set(rv)
	stp := reflect.New(st.Type())
	stp.Elem().Set(st)
	sl := reflect.MakeSlice(reflect.SliceOf(t), 1, 1)
	sl.Index(0).Set(rv)
	m := reflect.MakeMap(reflect.MapOf(reflect.TypeFor[string](), t))
	m.SetMapIndex(reflect.ValueOf("k"), rv)
	return map[string]any{
		"value":      v,
		"pointer":    ptr.Interface(),
		"struct":     st.Interface(),
		"struct_ptr": stp.Interface(),
		"slice":      sl.Interface(),
		"map":        m.Interface(),
	}
}

var secretVerbs = []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"}

// checkNoSecrets formats v in every wrapping with every verb and with
// json.Marshal, and fails if any rendering of any secret appears.
func checkNoSecrets(t *testing.T, name string, v any, secrets map[string][]byte) {
	t.Helper()
	for wname, w := range wrappings(v) {
		outs := map[string]string{}
		for _, verb := range secretVerbs {
			outs[verb] = fmt.Sprintf(verb, w)
		}
		// (Config has func fields: json.Marshal fails on it as on any
		// value with a func.)
		if j, err := json.Marshal(w); err == nil {
			outs["json"] = string(j)
		} else if name != "Config" {
			t.Errorf("%s/%s: json.Marshal: %v", name, wname, err)
		}
		for how, out := range outs {
			for sname, s := range secrets {
				for _, r := range secretRenderings(s) {
					if strings.Contains(out, r) {
						t.Errorf("%s/%s %s prints %s (%q): %.200s", name, wname, how, sname, r, out)
						break
					}
				}
			}
		}
	}
}

// secretFixture is a group with a member holding every kind of secret.
type secretFixture struct {
	a, b    *Group
	kpB     *KeyPackageBundle
	pc      *PendingCommit // a's unmerged commit
	secrets map[string][]byte
}

func newSecretFixture(t *testing.T, cs suite.ID) *secretFixture {
	t.Helper()
	cfgA := newTestConfig(1)
	cfgA.EncryptHandshake = true
	psks := &MemoryPSKStore{}
	psks.AddExternal([]byte("psk-id"), bytes.Repeat([]byte{0xd7, 0x3a, 0x91, 0x5c}, 8))
	cfgA.PSKs = psks
	kpA := newKP(t, cfgA, cs, "alice")
	a, err := CreateGroup(cfgA, []byte("group"), kpA, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfgB := newTestConfig(2)
	cfgB.EncryptHandshake = true
	kpB := newKP(t, cfgB, cs, "bob")
	pc := commitAndMerge(t, a, CommitOptions{Proposals: []ProposalBody{&Add{KeyPackage: *kpB.KeyPackage}}, InlineTree: true})
	// Keep copies of kpB's private keys: Join may erase InitPriv.
	bInit, bEnc, bSig := bytes.Clone(kpB.InitPriv), bytes.Clone(kpB.EncryptionKey), bytes.Clone(kpB.SignatureKey)
	b, err := Join(cfgB, wireRoundTrip(t, pc.Welcome), kpB, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A pending Update (its leaf private key is in updateKeys) and an
	// unmerged commit.
	if _, err := a.ProposeUpdate(nil); err != nil {
		t.Fatal(err)
	}
	pc2, err := a.Commit(CommitOptions{SkipCached: true, ForcePath: true})
	if err != nil {
		t.Fatal(err)
	}
	f := &secretFixture{a: a, b: b, kpB: kpB, pc: pc2, secrets: map[string][]byte{
		"a.sigPriv": a.sigPriv, "kpA.InitPriv": kpA.InitPriv, "kpA.EncryptionKey": kpA.EncryptionKey,
		"kpB.InitPriv": bInit, "kpB.EncryptionKey": bEnc, "kpB.SignatureKey": bSig,
		"psk": bytes.Repeat([]byte{0xd7, 0x3a, 0x91, 0x5c}, 8),
	}}
	for _, g := range []*Group{a, b, pc2.next} {
		k := g.keys
		for n, s := range map[string][]byte{"SenderData": k.SenderData, "Encryption": k.Encryption, "Exporter": k.Exporter,
			"External": k.External, "Confirmation": k.Confirmation, "Membership": k.Membership, "Resumption": k.Resumption,
			"Authenticator": k.Authenticator, "Init": k.Init} {
			f.secrets[fmt.Sprintf("leaf%d/epoch%d/%s", g.self, g.Epoch(), n)] = bytes.Clone(s)
		}
		for _, x := range g.priv.Nodes() {
			f.secrets[fmt.Sprintf("leaf%d/epoch%d/node%d", g.self, g.Epoch(), x)] = bytes.Clone(g.priv.PrivateKey(x))
		}
		for ref, k := range g.updateKeys {
			f.secrets[fmt.Sprintf("leaf%d/update/%x", g.self, ref)] = bytes.Clone(k)
		}
	}
	return f
}

// TestSecuritySecretsRedacted: no secret-holding type prints or
// JSON-encodes its secrets, with any verb, directly, through a pointer, or
// nested in a struct, slice or map.
func TestSecuritySecretsRedacted(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs suite.ID) {
		f := newSecretFixture(t, cs)
		a, b := f.a, f.b
		s := suite.MustGet(cs)
		// Derived values that hold secrets of their own.
		st := a.stree.Clone()
		pk, err := st.Key(b.self, ApplicationRatchet, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.secrets["pending.key"], f.secrets["pending.nonce"] = pk.Key, pk.Nonce
		kn, err := st.Clone().NextKey(a.self, HandshakeRatchet)
		if err != nil {
			t.Fatal(err)
		}
		f.secrets["keynonce.key"] = kn.Key
		pup, err := a.pub.tree.GenerateUpdatePath(seededReader(9), a.self, *a.pub.tree.Leaf(a.self), a.sigPriv, a.GroupID())
		if err != nil {
			t.Fatal(err)
		}
		f.secrets["pup.commit"] = pup.CommitSecret()
		for i, sec := range pup.secrets {
			f.secrets[fmt.Sprintf("pup.path%d", i)] = sec
		}
		msg, err := b.SealApplication([]byte("hello"), nil)
		if err != nil {
			t.Fatal(err)
		}
		opened, err := openPrivate(s, msg.PrivateMessage, &a.pub.ctx, a.stree.Clone(), a.keys.SenderData, a.pub.memberSigKey)
		if err != nil {
			t.Fatal(err)
		}
		f.secrets["opened.key"] = opened.key.Key
		gs := GroupSecrets{JoinerSecret: bytes.Repeat([]byte{0x6b, 0xe2}, 16), PathSecret: &PathSecret{PathSecret: bytes.Repeat([]byte{0x4f, 0x19}, 16)}}
		f.secrets["gs.joiner"], f.secrets["gs.path"] = gs.JoinerSecret, gs.PathSecret.PathSecret
		stage := bytes.Repeat([]byte{0x83, 0x2c, 0xf5}, 11)
		f.secrets["stage"] = stage

		values := map[string]any{
			"Group":                *a,
			"Group(joined)":        *b,
			"PendingCommit":        *f.pc,
			"KeyPackageBundle":     *f.kpB,
			"KeyPackageOptions":    KeyPackageOptions{SignatureKey: f.kpB.SignatureKey},
			"EpochSecrets":         *a.keys,
			"TreePrivate":          *f.pc.next.priv,
			"SecretTree":           *st,
			"PendingKey":           *pk,
			"KeyNonce":             kn,
			"PendingUpdatePath":    *pup,
			"OpenedPrivateMessage": *opened,
			"GroupSecrets":         gs,
			"PathSecret":           *gs.PathSecret,
			"InitSecret":           InitSecret(stage),
			"CommitSecret":         CommitSecret(stage),
			"PSKSecret":            PSKSecret(stage),
			"JoinerSecret":         JoinerSecret(stage),
			"WelcomeSecret":        WelcomeSecret(stage),
			"EpochSecret":          EpochSecret(stage),
			"SenderDataSecret":     SenderDataSecret(stage),
			"EncryptionSecret":     EncryptionSecret(stage),
			"ExporterSecret":       ExporterSecret(stage),
			"ExternalSecret":       ExternalSecret(stage),
			"ConfirmationKey":      ConfirmationKey(stage),
			"MembershipKey":        MembershipKey(stage),
			"ResumptionPSK":        ResumptionPSK(stage),
			"EpochAuthenticator":   EpochAuthenticator(stage),
		}
		for name, v := range values {
			checkNoSecrets(t, name, v, f.secrets)
		}
		// MemoryPSKStore holds a mutex: only by pointer, and nested by value
		// behind a pointer.
		checkNoSecrets(t, "MemoryPSKStore", a.cfg.PSKs, f.secrets)
		checkNoSecrets(t, "Config", a.cfg, f.secrets)
		if got := fmt.Sprintf("%v", a); !strings.Contains(got, "REDACTED") || !strings.Contains(got, fmt.Sprintf("epoch=%d", a.Epoch())) {
			t.Errorf("Group prints %q", got)
		}
	})
}

// reachableBytes reports whether needle occurs in any []byte, string,
// array or map key reachable from v (unexported fields included).
func reachableBytes(v reflect.Value, needle []byte, seen map[uintptr]bool) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return false
		}
		if v.Kind() == reflect.Pointer {
			if seen[v.Pointer()] {
				return false
			}
			seen[v.Pointer()] = true
		}
		return reachableBytes(v.Elem(), needle, seen)
	case reflect.Struct:
		for i := range v.NumField() {
			if reachableBytes(v.Field(i), needle, seen) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, v.Len())
			for i := range b {
				b[i] = byte(v.Index(i).Uint())
			}
			return bytes.Contains(b, needle)
		}
		if v.Kind() == reflect.Slice && v.Len() > 0 {
			if seen[v.Pointer()] {
				return false
			}
			seen[v.Pointer()] = true
		}
		for i := range v.Len() {
			if reachableBytes(v.Index(i), needle, seen) {
				return true
			}
		}
	case reflect.String:
		return strings.Contains(v.String(), string(needle))
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if reachableBytes(it.Key(), needle, seen) || reachableBytes(it.Value(), needle, seen) {
				return true
			}
		}
	}
	return false
}

// TestSecurityNoProcessWideSigningKeyCache: after a member signs, the
// process-wide suite object (which lives as long as the process) holds no
// copy of its signature private key. (The previous suite kept parsed
// private keys, keyed by their bytes, in a per-suite cache for the life of
// the process.)
func TestSecurityNoProcessWideSigningKeyCache(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs suite.ID) {
		cfg := newTestConfig(4)
		kp := newKP(t, cfg, cs, "alice")
		g, err := CreateGroup(cfg, []byte("group"), kp, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.SealApplication([]byte("x"), nil); err != nil {
			t.Fatal(err)
		}
		commitAndMerge(t, g, CommitOptions{ForcePath: true})
		s := suite.MustGet(cs)
		if _, err := s.SignWithLabel(kp.SignatureKey, "L", nil); err != nil {
			t.Fatal(err)
		}
		if reachableBytes(reflect.ValueOf(s), kp.SignatureKey, map[uintptr]bool{}) {
			t.Fatal("the process-wide suite holds the signature private key")
		}
		// Sanity check of the walker: an EdDSA Signer holds the seed
		// (ECDSA keys are big.Int limbs).
		eddsa := cs == suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519 || cs == suite.MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519 ||
			cs == suite.MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448 || cs == suite.MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448
		if eddsa && !reachableBytes(reflect.ValueOf(g.signer), kp.SignatureKey, map[uintptr]bool{}) {
			t.Fatal("the group's Signer does not hold its key (walker broken?)")
		}
	})
}

func allZero(b []byte) bool {
	return len(b) > 0 && !slices.ContainsFunc(b, func(x byte) bool { return x != 0 })
}

// TestSecurityEpochSecretsErasedOnMerge: once a member moves to the next
// epoch (Merge of its own commit, or Process of another's), the previous
// epoch's init_secret and the other secrets it no longer needs are
// overwritten with zeros (RFC 9420, Sections 9.2, 16.6), while the
// resumption PSK (kept for Section 8.6) and the epoch authenticator are
// kept; secrets shared with other state are never overwritten.
func TestSecurityEpochSecretsErasedOnMerge(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs suite.ID) {
		gs := newFlowGroup(t, cs, 11, "alice", "bob", "carol")
		a, b, c := gs[0], gs[1], gs[2]
		oldA, oldB := a.keys, b.keys
		initA, initB := oldA.Init, oldB.Init
		resumption, auth := bytes.Clone(oldA.Resumption), bytes.Clone(oldA.Authenticator)
		// c's secrets are handed out: they must survive c's move.
		cKeys := c.EpochSecrets()
		cInit := bytes.Clone(cKeys.Init)
		// A clone of b shares b's secrets.
		bClone := b.Clone()

		pc, err := a.Commit(CommitOptions{ForcePath: true})
		if err != nil {
			t.Fatal(err)
		}
		if allZero(initA) {
			t.Fatal("Commit (not merged yet) erased init_secret")
		}
		if err := a.Merge(pc); err != nil {
			t.Fatal(err)
		}
		if !allZero(initA) {
			t.Fatalf("after Merge the old init_secret is %x, want zeros", initA)
		}
		for name, s := range map[string][]byte{"sender_data": oldA.SenderData, "encryption": oldA.Encryption, "exporter": oldA.Exporter,
			"external": oldA.External, "confirmation": oldA.Confirmation, "membership": oldA.Membership} {
			if !allZero(s) {
				t.Errorf("after Merge the old %s secret is not zero", name)
			}
		}
		if !bytes.Equal(oldA.Resumption, resumption) || !bytes.Equal(oldA.Authenticator, auth) {
			t.Error("Merge erased the resumption PSK or the epoch authenticator")
		}
		if err := a.Merge(pc); !errors.Is(err, ErrStalePendingCommit) {
			t.Fatalf("second Merge: %v, want ErrStalePendingCommit", err)
		}
		deliver(t, a, []*Group{b, c}, pc.Commit)
		checkAgree(t, a, b, c)
		// b moved by Process: its old epoch is erased... but b was cloned,
		// so its secrets are shared with bClone and kept.
		if allZero(initB) {
			t.Fatal("Process erased init_secret shared with a clone")
		}
		if !bytes.Equal(cKeys.Init, cInit) {
			t.Fatal("Process erased init_secret handed out by EpochSecrets")
		}
		// The clone still works: it processes the same commit.
		if _, err := bClone.Process(wireRoundTrip(t, pc.Commit)); err != nil {
			t.Fatalf("clone processing after the original moved on: %v", err)
		}
		checkAgree(t, a, bClone)
		// The next epoch of b is its own again: erased by Process.
		oldB2 := b.keys.Init
		commitAll(t, a, []*Group{a, b, c}, CommitOptions{ForcePath: true})
		if !allZero(oldB2) {
			t.Fatal("after Process the old init_secret is not zero")
		}
		sendApp(t, b, []*Group{a, b, c}, "still works")
	})
}

// TestSecurityRestoredGroupsShareSecretsSafely: Groups assembled with
// RestoreGroup from one EpochSecrets (as the simulator does) each process
// the same commit; no Group erases what the others use.
func TestSecurityRestoredGroupsShareSecretsSafely(t *testing.T) {
	gs := newFlowGroup(t, suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, 12, "alice", "bob", "carol")
	a := gs[0]
	keys := gs[1].EpochSecrets()
	var restored []*Group
	for _, m := range gs[1:] {
		r, err := RestoreGroup(m.cfg, m.pub, keys, m.self, m.sigPriv, m.priv)
		if err != nil {
			t.Fatal(err)
		}
		restored = append(restored, r)
	}
	pc := commitAndMerge(t, a, CommitOptions{ForcePath: true})
	for _, r := range restored {
		if _, err := r.Process(wireRoundTrip(t, pc.Commit)); err != nil {
			t.Fatalf("restored member %d: %v", r.self, err)
		}
	}
	checkAgree(t, append([]*Group{a}, restored...)...)
}

// TestSecuritySecretTreeErasure: a tree node's secret is overwritten once
// its children are derived, a ratchet secret once the ratchet moved past
// it, a decrypted message's key once consumed, and evicted skipped keys;
// secrets shared with a clone are not (RFC 9420, Section 9.2).
func TestSecuritySecretTreeErasure(t *testing.T) {
	st := newTestSecretTree(t, 8)
	root := st.nodes[nodeIndex(0, st.depth)].secret
	enc := testEncryptionSecret(suite.MustGet(1))
	// Key alone changes nothing.
	p, err := st.Key(5, ApplicationRatchet, 0)
	if err != nil {
		t.Fatal(err)
	}
	if allZero(root) {
		t.Fatal("Key (not consumed) erased the root")
	}
	if err := p.Consume(); err != nil {
		t.Fatal(err)
	}
	if !allZero(root) {
		t.Fatal("root secret not erased after its children were derived")
	}
	if allZero(enc) {
		t.Fatal("the tree erased the EpochSecrets' encryption_secret (not its own)")
	}
	// The stored sibling of leaf 5 (leaf 4) is erased once leaf 4 is used.
	leaf4 := st.nodes[nodeIndex(4, 0)].secret
	consumeKey(t, st, 4, HandshakeRatchet, 0)
	if !allZero(leaf4) {
		t.Fatal("leaf 4's node secret not erased after its ratchets were derived")
	}
	// A ratchet secret is erased when the ratchet moves past it.
	rk := ratchetKey(5, ApplicationRatchet)
	sec1 := st.ratchets[rk].secret // ratchet_secret_[5]_[1]
	consumeKey(t, st, 5, ApplicationRatchet, 4)
	if !allZero(sec1) {
		t.Fatal("consumed ratchet secret not erased")
	}
	// Skipped keys 1..3 are retained; consuming 2 through an
	// OpenedPrivateMessage erases its key.
	p2, err := st.Key(5, ApplicationRatchet, 2)
	if err != nil {
		t.Fatal(err)
	}
	key2 := p2.Key
	o := &OpenedPrivateMessage{key: p2}
	if err := o.Consume(); err != nil {
		t.Fatal(err)
	}
	if !allZero(key2) {
		t.Fatal("consumed generation's key not erased")
	}
	if _, err := st.Key(5, ApplicationRatchet, 2); !errors.Is(err, ErrKeyUsed) {
		t.Fatalf("generation 2 again: %v, want ErrKeyUsed", err)
	}
	// A clone shares what exists now: consuming in the original must not
	// erase the clone's copies.
	c := st.Clone()
	ref := consumeKey(t, c.Clone(), 5, ApplicationRatchet, 3)
	want := KeyNonce{Generation: 3, Key: bytes.Clone(ref.Key), Nonce: bytes.Clone(ref.Nonce)}
	p3, err := st.Key(5, ApplicationRatchet, 3)
	if err != nil {
		t.Fatal(err)
	}
	o = &OpenedPrivateMessage{key: p3}
	if err := o.Consume(); err != nil {
		t.Fatal(err)
	}
	if allZero(p3.Key) {
		t.Fatal("erased a key shared with a clone")
	}
	sameKey(t, consumeKey(t, c, 5, ApplicationRatchet, 3), want)
	consumeKey(t, c, 5, ApplicationRatchet, 9)
	consumeKey(t, st, 5, ApplicationRatchet, 9)
	// Evicted skipped keys are erased.
	st2 := newTestSecretTree(t, 2)
	st2.SetLimits(SecretTreeLimits{MaxRetainedKeys: 2})
	consumeKey(t, st2, 1, HandshakeRatchet, 3) // retains 1, 2
	skipped := st2.ratchets[ratchetKey(1, HandshakeRatchet)].skipped
	k1 := skipped[0].Key
	consumeKey(t, st2, 1, HandshakeRatchet, 5) // skips 4: retains 2 and 4, evicts 1
	if !allZero(k1) {
		t.Fatal("evicted skipped key not erased")
	}
	// Ending the epoch erases the whole tree.
	left := st2.nodes[nodeIndex(0, 0)].secret
	st2.erase()
	if !allZero(left) || len(st2.nodes) != 0 {
		t.Fatal("erase left tree secrets")
	}
}

// TestSecurityKeyPackageEraseUsedKeys: Join leaves the caller's bundle
// alone; EraseUsedKeys overwrites the spent init and leaf private keys and
// keeps the signature key the Group shares.
func TestSecurityKeyPackageEraseUsedKeys(t *testing.T) {
	cs := suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	cfgA, cfgB := newTestConfig(21), newTestConfig(22)
	a, err := CreateGroup(cfgA, []byte("g"), newKP(t, cfgA, cs, "alice"), nil)
	if err != nil {
		t.Fatal(err)
	}
	kp := newKP(t, cfgB, cs, "bob")
	pc := commitAndMerge(t, a, CommitOptions{Proposals: []ProposalBody{&Add{KeyPackage: *kp.KeyPackage}}, InlineTree: true})
	b, err := Join(cfgB, wireRoundTrip(t, pc.Welcome), kp, nil)
	if err != nil {
		t.Fatal(err)
	}
	initPriv, encPriv, sig := kp.InitPriv, kp.EncryptionKey, bytes.Clone(kp.SignatureKey)
	if allZero(initPriv) || allZero(encPriv) {
		t.Fatal("Join modified the caller's bundle")
	}
	kp.EraseUsedKeys()
	if !allZero(initPriv) || !allZero(encPriv) || kp.InitPriv != nil || kp.EncryptionKey != nil {
		t.Fatal("EraseUsedKeys left the init or leaf private key")
	}
	if !bytes.Equal(kp.SignatureKey, sig) {
		t.Fatal("EraseUsedKeys erased the signature key")
	}
	sendApp(t, b, []*Group{a, b}, "after erase")
	commitAll(t, b, []*Group{a, b}, CommitOptions{ForcePath: true})
}

// TestSecurityTreePrivateKeysErased: the HPKE private keys a member stops
// holding when the group moves on (its old leaf key after its own path
// commit, old path keys replaced by another member's commit) are
// overwritten (RFC 9420, Sections 9.2, 16.6), while keys handed out by
// TreePrivate() or shared with a Clone are left alone and still work.
func TestSecurityTreePrivateKeysErased(t *testing.T) {
	all := newFlowGroup(t, secCS, 9903, "alice", "bob", "carol", "dave")
	a, b := all[0], all[1]
	held := func(g *Group) map[NodeIndex][]byte {
		m := map[NodeIndex][]byte{}
		for _, k := range g.priv.keys {
			m[k.node] = k.priv // the buffers, as a memory dump sees them
		}
		return m
	}
	checkErased := func(who string, before map[NodeIndex][]byte, g *Group) {
		t.Helper()
		for x, buf := range before {
			if k := g.priv.find(x); k != nil && len(k.priv) > 0 && &k.priv[0] == &buf[0] {
				if allZero(buf) {
					t.Fatalf("%s: key of node %d still held but overwritten", who, x)
				}
				continue
			}
			if !allZero(buf) {
				t.Errorf("%s: private key of node %d, no longer held, is still in memory", who, x)
			}
		}
	}
	// Own path commit: a's old leaf and path keys are replaced.
	oldA := held(a)
	pc, err := a.Commit(CommitOptions{ForcePath: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Merge(pc); err != nil {
		t.Fatal(err)
	}
	for _, g := range all[1:] {
		if _, err := g.Process(wireRoundTrip(t, pc.Commit)); err != nil {
			t.Fatal(err)
		}
	}
	checkErased("alice after her own path commit", oldA, a)
	// b held the path keys a just replaced above its leaf; b commits with a
	// path too, so a's path keys shared with b's subtree are replaced in a.
	oldA = held(a)
	pc, err = b.Commit(CommitOptions{ForcePath: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Merge(pc); err != nil {
		t.Fatal(err)
	}
	for _, g := range append([]*Group{a}, all[2:]...) {
		if _, err := g.Process(wireRoundTrip(t, pc.Commit)); err != nil {
			t.Fatal(err)
		}
	}
	checkErased("alice after bob's path commit", oldA, a)
	checkAgree(t, all...)

	// Handed out (what the simulator's adversary takes) or shared with a
	// Clone: never overwritten, and the clone still follows the group.
	leaked := a.TreePrivate()
	leakedKeys := map[NodeIndex][]byte{}
	for _, x := range leaked.Nodes() {
		leakedKeys[x] = bytes.Clone(leaked.PrivateKey(x))
	}
	c := b.Clone()
	pc, err = a.Commit(CommitOptions{ForcePath: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Merge(pc); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Process(wireRoundTrip(t, pc.Commit)); err != nil {
		t.Fatal(err)
	}
	for x, want := range leakedKeys {
		if !bytes.Equal(leaked.PrivateKey(x), want) {
			t.Fatalf("key of node %d handed out by TreePrivate() was overwritten", x)
		}
	}
	if _, err := c.Process(wireRoundTrip(t, pc.Commit)); err != nil {
		t.Fatalf("clone of bob after bob moved on: %v", err)
	}
}
