package core

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

func testGroupContext(cs *suite.Suite, epoch uint64) []byte {
	gc := GroupContext{CipherSuite: CipherSuite(cs.ID()), GroupID: []byte("group"), Epoch: epoch,
		TreeHash: bytes.Repeat([]byte{1}, cs.HashSize()), ConfirmedTranscriptHash: bytes.Repeat([]byte{2}, cs.HashSize())}
	b, err := gc.Marshal()
	if err != nil {
		panic(err)
	}
	return b
}

func TestKeyScheduleJoinerAndMemberAgree(t *testing.T) {
	for _, id := range suite.All {
		cs := suite.MustGet(id)
		t.Run(fmt.Sprintf("cs=0x%04x", uint16(id)), func(t *testing.T) {
			gc := testGroupContext(cs, 1)
			init := InitSecret(bytes.Repeat([]byte{3}, cs.Nh()))
			commit := CommitSecret(bytes.Repeat([]byte{4}, cs.Nh()))
			ids, psks := testPSKIDs(cs, 2)
			psk, err := derivePSKSecret(cs, ids, psks)
			if err != nil {
				t.Fatal(err)
			}
			joiner, member := deriveEpoch(cs, init, commit, psk, gc)
			joined := joinEpoch(cs, joiner, psk, gc)
			if !equalEpochSecrets(member, joined) {
				t.Fatal("a joiner derives different epoch secrets than the members")
			}
			// Without the PSK the joiner cannot reach the epoch.
			if equalEpochSecrets(member, joinEpoch(cs, joiner, nil, gc)) {
				t.Fatal("psk_secret did not enter the key schedule")
			}
			// The GroupContext enters both joiner_secret and epoch_secret.
			if equalEpochSecrets(member, joinEpoch(cs, joiner, psk, testGroupContext(cs, 2))) {
				t.Fatal("GroupContext did not enter epoch_secret")
			}
			for name, s := range map[string][]byte{
				"sender_data": member.SenderData, "encryption": member.Encryption, "exporter": member.Exporter,
				"external": member.External, "confirm": member.Confirmation, "membership": member.Membership,
				"resumption": member.Resumption, "authentication": member.Authenticator, "init": member.Init,
			} {
				if len(s) != cs.Nh() {
					t.Fatalf("%s: %d bytes, want KDF.Nh = %d", name, len(s), cs.Nh())
				}
			}
			if member.CipherSuite() != CipherSuite(cs.ID()) {
				t.Fatal("CipherSuite() mismatch")
			}
			key, nonce := joiner.welcomeSecret(cs, psk).keyNonce(cs)
			if len(key) != cs.Nk() || len(nonce) != cs.Nn() {
				t.Fatalf("welcome key %d nonce %d bytes", len(key), len(nonce))
			}
		})
	}
}

func equalEpochSecrets(a, b *EpochSecrets) bool {
	return bytes.Equal(a.SenderData, b.SenderData) && bytes.Equal(a.Encryption, b.Encryption) &&
		bytes.Equal(a.Exporter, b.Exporter) && bytes.Equal(a.External, b.External) &&
		bytes.Equal(a.Confirmation, b.Confirmation) && bytes.Equal(a.Membership, b.Membership) &&
		bytes.Equal(a.Resumption, b.Resumption) && bytes.Equal(a.Authenticator, b.Authenticator) &&
		bytes.Equal(a.Init, b.Init)
}

func TestKeyScheduleZeroInputs(t *testing.T) {
	cs := suite.MustGet(2)
	gc := testGroupContext(cs, 5)
	init := InitSecret(bytes.Repeat([]byte{9}, cs.Nh()))
	zero := make([]byte, cs.Nh())
	// nil commit_secret and psk_secret stand for the all-zero vector "0".
	j1, e1 := deriveEpoch(cs, init, nil, nil, gc)
	j2, e2 := deriveEpoch(cs, init, CommitSecret(zero), PSKSecret(zero), gc)
	if !bytes.Equal(j1, j2) || !equalEpochSecrets(e1, e2) {
		t.Fatal("nil and zero-vector inputs disagree")
	}
	noPSK, _ := derivePSKSecret(cs, nil, nil)
	if _, e3 := deriveEpoch(cs, init, nil, noPSK, gc); !equalEpochSecrets(e1, e3) {
		t.Fatal("DerivePSKSecret with no PSKs differs from the zero psk_secret")
	}
	// Each epoch's init_secret chains into the next.
	_, next := deriveEpoch(cs, e1.Init, nil, nil, testGroupContext(cs, 6))
	if bytes.Equal(next.Init, e1.Init) || bytes.Equal(next.Authenticator, e1.Authenticator) {
		t.Fatal("epochs do not chain")
	}
}

func TestNewEpochSecretUsesReader(t *testing.T) {
	cs := suite.MustGet(4)
	r1 := rand.NewChaCha8([32]byte{1})
	r2 := rand.NewChaCha8([32]byte{1})
	a, err := newEpochSecret(cs, r1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newEpochSecret(cs, r2)
	if len(a) != cs.Nh() || !bytes.Equal(a, b) {
		t.Fatalf("seeded epoch secrets: %x vs %x", a, b)
	}
	c, _ := newEpochSecret(cs, nil)
	if len(c) != cs.Nh() || bytes.Equal(a, c) {
		t.Fatal("crypto/rand epoch secret")
	}
	if _, err := newEpochSecret(cs, bytes.NewReader([]byte{1, 2})); err == nil {
		t.Fatal("short reader accepted")
	}
	// Group creation: derive the epoch from the random epoch_secret.
	es := a.derive(cs)
	if len(es.Init) != cs.Nh() {
		t.Fatal("derived init_secret length")
	}
}

func TestExporter(t *testing.T) {
	for _, id := range suite.All {
		cs := suite.MustGet(id)
		x := ExporterSecret(bytes.Repeat([]byte{0x42}, cs.Nh()))
		got, err := x.export(cs, "example label", []byte("ctx"), 40)
		if err != nil {
			t.Fatal(err)
		}
		// RFC 9420, Section 8.5 spelled out.
		want := cs.ExpandWithLabel(cs.DeriveSecret(x, "example label"), "exported", cs.Hash([]byte("ctx")), 40)
		if !bytes.Equal(got, want) || len(got) != 40 {
			t.Fatalf("%v: exporter %x, want %x", id, got, want)
		}
		for _, other := range []struct {
			label string
			ctx   string
			n     int
		}{{"other label", "ctx", 40}, {"example label", "ctx2", 40}, {"example label", "ctx", 41}} {
			o, err := x.export(cs, other.label, []byte(other.ctx), other.n)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(o[:40], got) {
				t.Fatalf("%v: exporter ignores %+v", id, other)
			}
		}
		es := &EpochSecrets{suite: cs, Exporter: x}
		viaEpoch, err := es.Export("example label", []byte("ctx"), 40)
		if err != nil || !bytes.Equal(viaEpoch, got) {
			t.Fatalf("%v: EpochSecrets.Export disagrees: %v", id, err)
		}
		if _, err := x.export(cs, "l", nil, 255*cs.Nh()); err != nil {
			t.Fatalf("%v: maximum length rejected: %v", id, err)
		}
		for _, n := range []int{-1, 255*cs.Nh() + 1, 0x10000} {
			if _, err := x.export(cs, "l", nil, n); !errors.Is(err, ErrExportLength) {
				t.Fatalf("%v: length %d: got %v, want ErrExportLength", id, n, err)
			}
		}
	}
}

func TestConfirmationAndMembershipTags(t *testing.T) {
	cs := suite.MustGet(3)
	_, es := deriveEpoch(cs, InitSecret(make([]byte, 32)), nil, nil, testGroupContext(cs, 1))
	cth := []byte("confirmed transcript hash")
	tag := es.ConfirmationTag(cth)
	if !bytes.Equal(tag, cs.MAC(es.Confirmation, cth)) || !es.VerifyConfirmationTag(cth, tag) {
		t.Fatal("confirmation tag")
	}
	tag[0] ^= 1
	if es.VerifyConfirmationTag(cth, tag) {
		t.Fatal("modified confirmation tag verified")
	}
	tbm := []byte("AuthenticatedContentTBM")
	mt := es.Membership.tag(cs, tbm)
	if !bytes.Equal(mt, cs.MAC(es.Membership, tbm)) || !es.Membership.verify(cs, tbm, mt) || es.Membership.verify(cs, tbm[1:], mt) {
		t.Fatal("membership tag")
	}
}

func TestExternalKeyPairAndInit(t *testing.T) {
	for _, id := range suite.All {
		cs := suite.MustGet(id)
		_, es := deriveEpoch(cs, InitSecret(make([]byte, cs.Nh())), nil, nil, testGroupContext(cs, 1))
		priv, pub, err := es.ExternalKeyPair()
		if err != nil {
			t.Fatalf("%v: %v", id, err)
		}
		if p2, err := cs.HPKEPublicKey(priv); err != nil || !bytes.Equal(p2, pub) {
			t.Fatalf("%v: external_pub does not match external_priv: %v", id, err)
		}
		kemOutput, init, err := newExternalInit(cs, rand.NewChaCha8([32]byte{byte(id)}), pub)
		if err != nil {
			t.Fatalf("%v: %v", id, err)
		}
		got, err := es.ExternalInitSecret(kemOutput)
		if err != nil {
			t.Fatalf("%v: %v", id, err)
		}
		if len(init) != cs.Nh() || !bytes.Equal(got, init) {
			t.Fatalf("%v: members recover init_secret %x, joiner has %x", id, got, init)
		}
		// Same seed, same kem_output and init_secret (injected randomness is used).
		k2, i2, err := newExternalInit(cs, rand.NewChaCha8([32]byte{byte(id)}), pub)
		if err != nil || !bytes.Equal(k2, kemOutput) || !bytes.Equal(i2, init) {
			t.Fatalf("%v: seeded external init not reproducible: %v", id, err)
		}
		// Another group's external secret yields a different init_secret.
		other := ExternalSecret(bytes.Repeat([]byte{1}, cs.Nh()))
		if o, err := other.externalInitSecret(cs, kemOutput); err == nil && bytes.Equal(o, init) {
			t.Fatalf("%v: wrong external_priv recovered the init_secret", id)
		}
	}
}

func BenchmarkKeySchedule(b *testing.B) {
	for _, id := range []suite.ID{1, 5} {
		cs := suite.MustGet(id)
		gc := testGroupContext(cs, 1)
		init := InitSecret(make([]byte, cs.Nh()))
		b.Run(fmt.Sprintf("op=derive_epoch/cs=0x%04x", uint16(id)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				deriveEpoch(cs, init, nil, nil, gc)
			}
		})
	}
}
