package core

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

// newTestKeyPackage builds a signed KeyPackage for suite id from a seed.
func newTestKeyPackage(t testing.TB, id suite.ID, seed byte) (kp *KeyPackage, sigPriv, initPriv []byte) {
	t.Helper()
	cs := suite.MustGet(id)
	rnd := rand.NewChaCha8([32]byte{seed})
	sigPriv, sigPub, err := cs.GenerateSignatureKeyPair(rnd)
	if err != nil {
		t.Fatal(err)
	}
	initPriv, initPub, err := cs.GenerateKeyPair(rnd)
	if err != nil {
		t.Fatal(err)
	}
	_, encPub, err := cs.GenerateKeyPair(rnd)
	if err != nil {
		t.Fatal(err)
	}
	ln := LeafNode{
		EncryptionKey: encPub,
		SignatureKey:  sigPub,
		Credential:    NewBasicCredential([]byte("alice")),
		Capabilities: Capabilities{
			Versions:     []ProtocolVersion{ProtocolVersionMLS10},
			CipherSuites: []CipherSuite{CipherSuite(id)},
			Extensions:   []ExtensionType{0x0a0a},
			Credentials:  []CredentialType{CredentialBasic},
		},
		Source:     LeafNodeSourceKeyPackage,
		Lifetime:   Lifetime{NotBefore: 0, NotAfter: 1 << 40},
		Extensions: Extensions{},
	}
	if err := ln.signPriv(cs, sigPriv, nil, 0); err != nil {
		t.Fatal(err)
	}
	kp = &KeyPackage{Version: ProtocolVersionMLS10, CipherSuite: CipherSuite(id), InitKey: initPub, LeafNode: ln,
		Extensions: Extensions{{Type: 0x0a0a, Data: []byte("grease")}}}
	if err := kp.Sign(sigPriv); err != nil {
		t.Fatal(err)
	}
	return kp, sigPriv, initPriv
}

func TestKeyPackageSignValidate(t *testing.T) {
	for _, id := range suite.All {
		t.Run(id.String(), func(t *testing.T) {
			kp, sigPriv, _ := newTestKeyPackage(t, id, byte(id))
			cs := suite.MustGet(id)
			leafOK := func(ln *LeafNode) error { return ln.verify(cs, nil, 0) }
			if err := validateKeyPackage(kp, ProtocolVersionMLS10, CipherSuite(id), leafOK); err != nil {
				t.Fatal(err)
			}
			// Round trip through MLSMessage and the ref over the encoding.
			enc, err := (&MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatKeyPackage, KeyPackage: kp}).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			m, err := UnmarshalMLSMessage(enc)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.KeyPackage.VerifySignature(); err != nil {
				t.Fatal(err)
			}
			ref1, _ := kp.Ref()
			ref2, _ := m.KeyPackage.Ref()
			kpEnc, _ := kp.Marshal()
			if !bytes.Equal(ref1, ref2) || !bytes.Equal(ref1, cs.MakeKeyPackageRef(kpEnc)) || len(ref1) != cs.HashSize() {
				t.Fatal("KeyPackageRef mismatch")
			}

			// Failures, each with its typed error.
			mutate := func(f func(*KeyPackage), resign bool) *KeyPackage {
				c := *kp
				c.InitKey = bytes.Clone(kp.InitKey)
				f(&c)
				if resign {
					if err := c.Sign(sigPriv); err != nil {
						t.Fatal(err)
					}
				}
				return &c
			}
			cases := []struct {
				name string
				kp   *KeyPackage
				want error
			}{
				{"tampered init_key", mutate(func(c *KeyPackage) { c.InitKey[0] ^= 1 }, false), ErrInvalidSignature},
				{"init_key == encryption_key", mutate(func(c *KeyPackage) { c.InitKey = c.LeafNode.EncryptionKey }, true), ErrInvalidKeyPackage},
				{"version", mutate(func(c *KeyPackage) { c.Version = 2 }, true), ErrInvalidKeyPackage},
				{"cipher suite", mutate(func(c *KeyPackage) { c.CipherSuite = CipherSuite(id%7 + 1) }, false), ErrInvalidKeyPackage},
				// (An unknown KeyPackage extension not in the capabilities is
				// accepted, RFC 9420 §13.4: TestSecurityGREASEKeyPackageExtensions.)
				{"leaf source", mutate(func(c *KeyPackage) { c.LeafNode.Source = LeafNodeSourceUpdate }, true), ErrInvalidKeyPackage},
			}
			for _, tc := range cases {
				if err := validateKeyPackage(tc.kp, ProtocolVersionMLS10, CipherSuite(id), leafOK); !errors.Is(err, tc.want) {
					t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
				}
			}
			badLeaf := func(*LeafNode) error { return errors.New("leaf invalid") }
			if err := validateKeyPackage(kp, ProtocolVersionMLS10, CipherSuite(id), badLeaf); !errors.Is(err, ErrInvalidKeyPackage) {
				t.Errorf("leaf validation failure: %v", err)
			}
		})
	}
}

func TestWelcomeEncryptDecrypt(t *testing.T) {
	id := suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	cs := suite.MustGet(id)
	kp, sigPriv, initPriv := newTestKeyPackage(t, id, 42)
	gi := &GroupInfo{
		GroupContext:    GroupContext{Version: ProtocolVersionMLS10, CipherSuite: CipherSuite(id), GroupID: []byte("g"), Epoch: 3, TreeHash: make([]byte, 32), ConfirmedTranscriptHash: make([]byte, 32)},
		ConfirmationTag: bytes.Repeat([]byte{7}, 32),
		Signer:          0,
	}
	if err := gi.Sign(sigPriv); err != nil {
		t.Fatal(err)
	}
	if err := gi.VerifySignature(kp.LeafNode.SignatureKey); err != nil {
		t.Fatal(err)
	}
	joiner := JoinerSecret(bytes.Repeat([]byte{9}, 32))
	ws := joiner.welcomeSecret(cs, nil)
	egi, err := encryptGroupInfo(cs, ws, gi)
	if err != nil {
		t.Fatal(err)
	}
	gs := &GroupSecrets{JoinerSecret: joiner, PathSecret: &PathSecret{PathSecret: []byte("ps")}}
	e, err := encryptGroupSecrets(welcomeSealer(cs, egi), rand.NewChaCha8([32]byte{5}), kp, gs)
	if err != nil {
		t.Fatal(err)
	}
	w := &Welcome{CipherSuite: CipherSuite(id), Secrets: []EncryptedGroupSecrets{{NewMember: []byte("other")}, *e}, EncryptedGroupInfo: egi}
	ref, _ := kp.Ref()
	got, err := w.decryptGroupSecrets(cs, ref, initPriv, kp.InitKey)
	if err != nil {
		t.Fatal(err)
	}
	// Without the init key (recomputed from initPriv): the same secrets.
	if got2, err := w.decryptGroupSecrets(cs, ref, initPriv, nil); err != nil || !bytes.Equal(got2.JoinerSecret, got.JoinerSecret) {
		t.Fatalf("without init key: %v", err)
	}
	if !bytes.Equal(got.JoinerSecret, joiner) || got.PathSecret == nil || string(got.PathSecret.PathSecret) != "ps" {
		t.Fatalf("group secrets %+v", got)
	}
	gi2, err := w.decryptGroupInfo(cs, JoinerSecret(got.JoinerSecret).welcomeSecret(cs, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := gi2.VerifySignature(kp.LeafNode.SignatureKey); err != nil {
		t.Fatal(err)
	}
	// Failures.
	if _, err := w.decryptGroupSecrets(cs, []byte("nope"), initPriv, kp.InitKey); !errors.Is(err, ErrInvalidWelcome) {
		t.Errorf("unknown ref: %v", err)
	}
	otherKP, otherInit, _ := newTestKeyPackage(t, id, 43)
	for _, pub := range [][]byte{nil, kp.InitKey, otherKP.InitKey} {
		if _, err := w.decryptGroupSecrets(cs, ref, otherInit, pub); !errors.Is(err, ErrDecrypt) {
			t.Errorf("wrong init private key (public key %x): %v", pub, err)
		}
	}
	if _, err := w.decryptGroupSecrets(cs, ref, initPriv, otherKP.InitKey); !errors.Is(err, ErrDecrypt) {
		t.Errorf("init private key with another public key: %v", err)
	}
	w2 := *w
	w2.EncryptedGroupInfo = append(bytes.Clone(egi[:len(egi)-1]), egi[len(egi)-1]^1)
	if _, err := w2.decryptGroupSecrets(cs, ref, initPriv, kp.InitKey); !errors.Is(err, ErrDecrypt) {
		t.Errorf("GroupSecrets bound to encrypted_group_info: %v", err)
	}
	if _, err := w2.decryptGroupInfo(cs, ws); !errors.Is(err, ErrDecrypt) {
		t.Errorf("tampered group info: %v", err)
	}
	if _, err := w.decryptGroupSecrets(suite.MustGet(suite.MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519), ref, initPriv, kp.InitKey); !errors.Is(err, ErrInvalidWelcome) {
		t.Errorf("suite mismatch: %v", err)
	}
	gi2.Signer = 1
	if err := gi2.VerifySignature(kp.LeafNode.SignatureKey); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("modified GroupInfo: %v", err)
	}
}
