package mls

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
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
		opened, err := OpenPrivate(s, msg.PrivateMessage, &a.pub.ctx, a.stree.Clone(), a.keys.SenderData, a.pub.memberSigKey)
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
