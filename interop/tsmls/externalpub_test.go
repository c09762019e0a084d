package tsmls

// The external_pub extension in both encodings (RFC 9420 §12.4.3.2 and the
// bare key ts-mls 1.6.4 writes), and the ts-mls quirks around it.

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/mlslab/mlslab/mls/core"
)

// TestExternalPubForms: mls reads the external_pub GroupInfo extension in
// both the RFC 9420 §12.4.3.2 form (opaque external_pub<V>, what mls
// writes) and the bare-key form ts-mls 1.6.4 writes, and an external join
// through either succeeds. Pure Go: no driver needed.
func TestExternalPubForms(t *testing.T) {
	for _, cs := range suites {
		for _, form := range []string{"rfc", "bare"} {
			t.Run(fmt.Sprintf("cs=0x%04x/form=%s", uint16(cs), form), func(t *testing.T) {
				w := &group{t: t}
				w.cs = cs
				alice := w.newGoKP("alice")
				g, err := core.CreateGroup(alice.cfg, []byte("ext-pub"), alice.kp, nil)
				if err != nil {
					t.Fatal(err)
				}
				alice.g = g
				gi, err := g.GroupInfo(core.GroupInfoOptions{InlineTree: true, ExternalPub: true})
				if err != nil {
					t.Fatal(err)
				}
				if form == "bare" {
					bareExternalPub(t, gi)
					if err := gi.Sign(g.SignaturePrivateKey()); err != nil {
						t.Fatal(err)
					}
				}
				// Round-trip the GroupInfo through its wire encoding.
				enc := marshal(t, &core.MLSMessage{Version: core.ProtocolVersionMLS10, WireFormat: core.WireFormatGroupInfo, GroupInfo: gi})
				bob := w.newGoKP("bob")
				bg, commit, err := core.ExternalJoin(bob.cfg, unmarshal(t, enc).GroupInfo, bob.kp, nil)
				if err != nil {
					t.Fatalf("external join (%s form): %v", form, err)
				}
				bob.g = bg
				if _, err := g.Process(unmarshal(t, marshal(t, commit))); err != nil {
					t.Fatalf("processing external commit: %v", err)
				}
				if !bytes.Equal(g.EpochAuthenticator(), bg.EpochAuthenticator()) || g.Epoch() != 1 || bg.Epoch() != 1 {
					t.Fatal("members disagree after external join")
				}
			})
		}
	}
}

// bareExternalPub rewrites gi's external_pub extension from the RFC 9420
// §12.4.3.2 form mls writes (opaque external_pub<V>) to the bare key
// ts-mls 1.6.4 expects. The caller re-signs gi.
func bareExternalPub(t *testing.T, gi *core.GroupInfo) {
	t.Helper()
	for i := range gi.Extensions {
		ext := &gi.Extensions[i]
		if ext.Type != core.ExtensionExternalPub {
			continue
		}
		// A varint length prefix must cover exactly the rest (RFC 9420
		// §2.1.2; the keys here are shorter than 16384 octets).
		n, plen := varint(ext.Data)
		if plen == 0 || plen+n != len(ext.Data) {
			t.Fatalf("mls wrote external_pub %x, not opaque<V>", ext.Data)
		}
		ext.Data = append([]byte(nil), ext.Data[plen:]...)
		return
	}
	t.Fatal("GroupInfo without external_pub")
}

// TestExternalPubBareAmbiguous: a bare X25519/X448 key whose first octet
// happens to equal its length minus one also parses as opaque<V> of one
// octet less (RFC 9420 §2.1.2); mls must still read it as the bare key.
// One ts-mls GroupInfo in 256 has such a key.
func TestExternalPubBareAmbiguous(t *testing.T) {
	for _, c := range []struct {
		cs  core.CipherSuite
		npk int
	}{{1, 32}, {3, 32}, {4, 56}, {6, 56}} {
		t.Run(fmt.Sprintf("cs=0x%04x", uint16(c.cs)), func(t *testing.T) {
			w := &group{t: t}
			w.cs = c.cs
			alice := w.newGoKP("alice")
			for i := 0; ; i++ {
				if i == 4000 {
					t.Fatal("no ambiguous external key found")
				}
				g, err := core.CreateGroup(alice.cfg, []byte(fmt.Sprintf("ambiguous-%d", i)), alice.kp, nil)
				if err != nil {
					t.Fatal(err)
				}
				gi, err := g.GroupInfo(core.GroupInfoOptions{InlineTree: true, ExternalPub: true})
				if err != nil {
					t.Fatal(err)
				}
				bareExternalPub(t, gi)
				var key []byte
				for _, e := range gi.Extensions {
					if e.Type == core.ExtensionExternalPub {
						key = e.Data
					}
				}
				if len(key) != c.npk || int(key[0]) != c.npk-1 {
					continue
				}
				if err := gi.Sign(g.SignaturePrivateKey()); err != nil {
					t.Fatal(err)
				}
				bob := w.newGoKP("bob")
				bg, commit, err := core.ExternalJoin(bob.cfg, gi, bob.kp, nil)
				if err != nil {
					t.Fatalf("external join with bare key %x: %v", key, err)
				}
				if _, err := g.Process(unmarshal(t, marshal(t, commit))); err != nil {
					t.Fatalf("processing external commit: %v", err)
				}
				if !bytes.Equal(g.EpochAuthenticator(), bg.EpochAuthenticator()) {
					t.Fatal("members disagree after external join")
				}
				return
			}
		})
	}
}

// varint decodes an MLS variable-length integer (RFC 9420 §2.1.2) of at
// most 2 octets; it returns the value and the prefix length (0 if invalid).
func varint(b []byte) (int, int) {
	switch {
	case len(b) >= 1 && b[0]>>6 == 0:
		return int(b[0] & 0x3f), 1
	case len(b) >= 2 && b[0]>>6 == 1:
		return int(b[0]&0x3f)<<8 | int(b[1]), 2
	}
	return 0, 0
}

// TestTSMLSExternalPubForm pins the known deviation of ts-mls: its
// GroupInfo carries external_pub as a bare HPKE public key, not opaque<V>
// (RFC 9420 §12.4.3.2). If this starts failing, ts-mls was fixed: update
// bench/peers/tsmls/README.md and drop the driver's workaround.
func TestTSMLSExternalPubForm(t *testing.T) {
	d := startDriver(t)
	// Npk of the suites' KEMs (RFC 9180 §7.1; ML-KEM-1024 1568, X-Wing 1216).
	npk := map[core.CipherSuite]int{1: 32, 2: 65, 3: 32, 4: 56, 5: 133, 6: 56, 7: 97,
		0x51: 1568, 0x52: 1568, 0x53: 1216, 0x54: 1216, 0x55: 1568, 0x56: 1568, 0x57: 1216, 0x58: 1216}
	for _, cs := range suites {
		t.Run(fmt.Sprintf("cs=0x%04x", uint16(cs)), func(t *testing.T) {
			name := fmt.Sprintf("pubform-%d", cs)
			if _, err := d.Call("create_group", map[string]any{"client": name, "suite": uint16(cs), "group_id": []byte(name)}); err != nil {
				t.Fatal(err)
			}
			defer d.Call("forget", map[string]any{"client": name})
			r, err := d.Call("group_info", map[string]any{"client": name, "inline_tree": true})
			if err != nil {
				t.Fatal(err)
			}
			gi := unmarshal(t, r.GroupInfo).GroupInfo
			for _, e := range gi.Extensions {
				if e.Type == core.ExtensionExternalPub {
					if len(e.Data) != npk[cs] {
						t.Fatalf("ts-mls external_pub is %d octets, want the bare %d-octet key: ts-mls changed, update README.md", len(e.Data), npk[cs])
					}
					return
				}
			}
			t.Fatal("ts-mls GroupInfo without external_pub")
		})
	}
}

// TestTSMLSRejectsRFCExternalPub documents why the driver's workaround is
// needed: fed the RFC form, ts-mls 1.6.4 cannot complete an external join
// that mls accepts.
func TestTSMLSRejectsRFCExternalPub(t *testing.T) {
	d := startDriver(t)
	w := &group{t: t, d: d}
	w.cs = 1
	alice := w.newGoKP("alice")
	g, err := core.CreateGroup(alice.cfg, []byte("rfc-ext-pub"), alice.kp, nil)
	if err != nil {
		t.Fatal(err)
	}
	gi, err := g.GroupInfo(core.GroupInfoOptions{InlineTree: true, ExternalPub: true})
	if err != nil {
		t.Fatal(err)
	}
	r, err := d.Call("external_join", map[string]any{
		"client": "noworkaround", "suite": 1,
		"group_info": marshal(t, &core.MLSMessage{Version: core.ProtocolVersionMLS10, WireFormat: core.WireFormatGroupInfo, GroupInfo: gi}),
	})
	defer d.Call("forget", map[string]any{"client": "noworkaround"})
	var de *DriverError
	if errors.As(err, &de) {
		t.Logf("ts-mls refuses the RFC form: %v", err)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Process(unmarshal(t, r.Commit)); err == nil {
		t.Fatal("ts-mls now handles the RFC external_pub form: drop the driver workaround and update README.md")
	} else {
		t.Logf("mls rejects ts-mls's external commit built from a misread key: %v", err)
	}
}

// TestTSMLSCompressedSignatureKey pins the second known deviation: with its
// own key generation, ts-mls 1.6.4 puts compressed ECDSA points in
// signature_key, but RFC 9420 §5.1.1 requires the uncompressed
// UncompressedPointRepresentation, so mls rejects such KeyPackages. The
// driver works around it (README.md); if this starts failing, ts-mls was
// fixed.
func TestTSMLSCompressedSignatureKey(t *testing.T) {
	d := startDriver(t)
	// Length of an uncompressed point.
	want := map[core.CipherSuite]int{2: 65, 5: 133, 7: 97}
	for _, cs := range []core.CipherSuite{2, 5, 7} {
		t.Run(fmt.Sprintf("cs=0x%04x", uint16(cs)), func(t *testing.T) {
			w := &group{t: t, d: d}
			w.cs = cs
			r, err := d.Call("key_package", map[string]any{"client": "compressed", "suite": uint16(cs), "compressed_signature_key": true})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Call("forget", map[string]any{"client": "compressed"})
			kp := unmarshal(t, r.KeyPackage).KeyPackage
			if n := len(kp.LeafNode.SignatureKey); n == want[cs] {
				t.Fatalf("ts-mls now writes uncompressed signature keys (%d octets): drop the driver workaround, update README.md", n)
			}
			alice := w.newGoKP("alice")
			g, err := core.CreateGroup(alice.cfg, []byte("compressed"), alice.kp, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = g.Commit(core.CommitOptions{Proposals: []core.ProposalBody{&core.Add{KeyPackage: *kp}}})
			if !errors.Is(err, core.ErrInvalidKeyPackage) || !errors.Is(err, core.ErrInvalidSignature) {
				t.Fatalf("mls accepted or misreported a compressed signature key: %v", err)
			}
			// With the driver's workaround the same suite works.
			r, err = d.Call("key_package", map[string]any{"client": "compressed", "suite": uint16(cs)})
			if err != nil {
				t.Fatal(err)
			}
			kp = unmarshal(t, r.KeyPackage).KeyPackage
			if len(kp.LeafNode.SignatureKey) != want[cs] {
				t.Fatalf("workaround key is %d octets", len(kp.LeafNode.SignatureKey))
			}
			if _, err := g.Commit(core.CommitOptions{Proposals: []core.ProposalBody{&core.Add{KeyPackage: *kp}}}); err != nil {
				t.Fatalf("uncompressed key rejected: %v", err)
			}
		})
	}
}
