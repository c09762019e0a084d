package mls_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/mlslab/mlslab/mls"
)

// secretReader is a value-type io.Reader whose state is a secret: printed
// by reflection it would show its bytes.
type secretReader struct{ secret []byte }

func (r secretReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.secret[i%len(r.secret)]
	}
	return len(p), nil
}

// mapPSKs is a map-based PSKStore, whose %v prints the keys.
type mapPSKs map[string][]byte

func (m mapPSKs) ExternalPSK(id []byte) ([]byte, bool)        { k, ok := m[string(id)]; return k, ok }
func (m mapPSKs) ResumptionPSK([]byte, uint64) ([]byte, bool) { return nil, false }

// leaks reports whether s shows the secret 0x5a5a5a... in any of the forms
// fmt or JSON would print it.
func leaks(s string) bool {
	for _, form := range []string{"5a5a5a", "5A5A5A", "90 90 90", "0x5a, 0x5a", "ZZZZ", "WlpaWlpa"} {
		if strings.Contains(s, form) {
			return true
		}
	}
	return false
}

// TestFacadeSecretsNested: signature private keys, KeyPackageOptions and
// Configs print and encode without their secrets with every verb, also
// nested in unexported fields (where fmt cannot call their Format
// methods), and in JSON.
func TestFacadeSecretsNested(t *testing.T) {
	secret := bytes.Repeat([]byte{0x5a}, 32)
	key := mls.NewSignaturePrivateKey(secret)
	opts := mls.KeyPackageOptions{SignatureKey: key}
	cfg := mls.Config{Rand: secretReader{secret}, PSKs: mapPSKs{"id": secret}}
	bundle, err := mls.NewKeyPackage(&cfg, cs, mls.NewBasicCredential([]byte("a")), &opts)
	if err != nil {
		t.Fatal(err)
	}
	g, err := mls.CreateGroup(&cfg, []byte("g"), bundle, nil)
	if err != nil {
		t.Fatal(err)
	}
	type exported struct {
		Opts mls.KeyPackageOptions
		Cfg  mls.Config
		Key  *mls.SignaturePrivateKey
	}
	// A Config's fields are exported: one reached through an unexported
	// field prints by reflection (see Config.Format), so it is not here.
	type unexported struct {
		opts  mls.KeyPackageOptions
		popts *mls.KeyPackageOptions
		key   *mls.SignaturePrivateKey
		b     *mls.KeyPackageBundle
		g     *mls.Group
	}
	values := []any{key, *key, opts, &opts, cfg, &cfg,
		exported{opts, cfg, key}, &exported{opts, cfg, key}, unexported{opts, &opts, key, bundle, g}, &unexported{opts, &opts, key, bundle, g}, bundle, g,
		[]any{opts, cfg, key}, map[string]any{"o": opts, "c": cfg, "k": key}}
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
			if s := fmt.Sprintf(verb, v); leaks(s) {
				t.Errorf("%s of %T prints the secret: %s", verb, v, s)
			}
		}
		if j, err := json.Marshal(v); err == nil && leaks(string(j)) {
			t.Errorf("JSON of %T holds the secret: %s", v, j)
		}
	}
	if !bytes.Equal(key.Bytes(), secret) {
		t.Fatal("SignaturePrivateKey.Bytes does not return the key")
	}
	flip(key.Bytes())
	if !bytes.Equal(key.Bytes(), secret) {
		t.Fatal("SignaturePrivateKey.Bytes aliases the key")
	}
}

// TestFacadeGenerateSignatureKey: a generated key signs a KeyPackage whose
// leaf carries the returned public key, reproducibly from a seeded Config,
// and serves as an external sender's key.
func TestFacadeGenerateSignatureKey(t *testing.T) {
	for _, suite := range []mls.CipherSuite{cs, mls.MLS_128_DHKEMP256_AES128GCM_SHA256_P256} {
		priv, pub, err := mls.GenerateSignatureKey(seeded(30), suite)
		if err != nil {
			t.Fatal(err)
		}
		priv2, pub2, _ := mls.GenerateSignatureKey(seeded(30), suite)
		if !bytes.Equal(priv.Bytes(), priv2.Bytes()) || !bytes.Equal(pub, pub2) {
			t.Fatalf("%v: not reproducible from a seeded Config", suite)
		}
		kp, err := mls.NewKeyPackage(seeded(31), suite, mls.NewBasicCredential([]byte("a")), &mls.KeyPackageOptions{SignatureKey: priv})
		if err != nil {
			t.Fatal(err)
		}
		g, err := mls.CreateGroup(seeded(31), []byte("g"), kp, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := g.Public().Members()[0].SignatureKey; !bytes.Equal(got, pub) {
			t.Fatalf("%v: leaf signature key %x, generated public key %x", suite, got, pub)
		}
	}
	if _, _, err := mls.GenerateSignatureKey(nil, 0xffff); err == nil {
		t.Fatal("unknown suite accepted")
	}
}

// TestFacadeConfigFormat: Config prints its non-secret settings.
func TestFacadeConfigFormat(t *testing.T) {
	s := fmt.Sprint(mls.Config{MaxLeaves: 77, PSKs: mapPSKs{}})
	if !strings.Contains(s, "MaxLeaves: 77") || !strings.Contains(s, "PSKs: REDACTED") || !strings.Contains(s, "Rand: nil") {
		t.Fatalf("Config prints %s", s)
	}
}
