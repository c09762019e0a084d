package core

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

// x509Chain makes a two-certificate chain (leaf signed by a CA) whose leaf
// key is the Ed25519 key of seed.
func x509Chain(t *testing.T, seed []byte) (chain [][]byte, pub ed25519.PublicKey) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"}, NotBefore: time.Unix(0, 0), NotAfter: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(nil, tmpl, tmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	priv := ed25519.NewKeyFromSeed(seed)
	pub = priv.Public().(ed25519.PublicKey)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "alice"}, NotBefore: time.Unix(0, 0), NotAfter: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}
	leafDER, err := x509.CreateCertificate(nil, leafTmpl, ca, pub, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return [][]byte{leafDER, caDER}, pub
}

func TestX509Credential(t *testing.T) {
	seed := make([]byte, 32)
	seed[0] = 7
	chain, pub := x509Chain(t, seed)
	c := Credential{Type: CredentialX509, Certificates: chain}
	if err := checkX509Credential(&c, pub); err != nil {
		t.Fatalf("valid chain rejected: %v", err)
	}
	other := ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey)
	if err := checkX509Credential(&c, other); !errors.Is(err, ErrInvalidLeafNode) {
		t.Fatalf("wrong key: %v", err)
	}
	// A chain whose link signature is broken.
	bad := Credential{Type: CredentialX509, Certificates: [][]byte{chain[0], chain[0]}}
	if err := checkX509Credential(&bad, pub); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("broken chain: %v", err)
	}
	garbage := Credential{Type: CredentialX509, Certificates: [][]byte{{1, 2, 3}}}
	if err := checkX509Credential(&garbage, pub); !errors.Is(err, ErrInvalidLeafNode) {
		t.Fatalf("garbage: %v", err)
	}

	// End to end: a group whose second member uses the x509 credential, the
	// application's trust callback consulted on join and add.
	cs := suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	var seen int
	cfg := newTestConfig(9)
	cfg.ValidateCredential = func(c *Credential, key []byte) error {
		seen++
		if c.Type == CredentialX509 && len(c.Certificates) != 2 {
			return errors.New("untrusted")
		}
		return nil
	}
	a, err := CreateGroup(cfg, []byte("x509"), newKP(t, cfg, cs, "a"), nil)
	if err != nil {
		t.Fatal(err)
	}
	kpB, err := NewKeyPackage(newTestConfig(10), CipherSuite(cs), c, &KeyPackageOptions{SignatureKey: seed})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := a.Commit(CommitOptions{Proposals: []ProposalBody{&Add{KeyPackage: *kpB.KeyPackage}}, InlineTree: true})
	if err != nil {
		t.Fatal(err)
	}
	if seen == 0 {
		t.Fatal("credential callback not consulted")
	}
	if _, err := Join(&Config{ValidateCredential: cfg.ValidateCredential}, pc.Welcome, kpB, nil); err != nil {
		t.Fatal(err)
	}
	// A KeyPackage whose certificate names another key is rejected.
	kpC, err := NewKeyPackage(newTestConfig(11), CipherSuite(cs), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Commit(CommitOptions{Proposals: []ProposalBody{&Add{KeyPackage: *kpC.KeyPackage}}}); !errors.Is(err, ErrInvalidLeafNode) {
		t.Fatalf("mismatched certificate key: %v", err)
	}
}
