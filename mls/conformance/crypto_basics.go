package conformance

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mlslab/mlslab/mls/internal/suite"
	"github.com/mlslab/mlslab/mls/internal/vectors"
)

// cryptoBasics is one case of crypto-basics.json (test-vectors.md, "Crypto
// Basics").
type cryptoBasics struct {
	CipherSuite uint16 `json:"cipher_suite"`
	RefHash     struct {
		Label string      `json:"label"`
		Value vectors.Hex `json:"value"`
		Out   vectors.Hex `json:"out"`
	} `json:"ref_hash"`
	ExpandWithLabel struct {
		Secret  vectors.Hex `json:"secret"`
		Label   string      `json:"label"`
		Context vectors.Hex `json:"context"`
		Length  uint16      `json:"length"`
		Out     vectors.Hex `json:"out"`
	} `json:"expand_with_label"`
	DeriveSecret struct {
		Secret vectors.Hex `json:"secret"`
		Label  string      `json:"label"`
		Out    vectors.Hex `json:"out"`
	} `json:"derive_secret"`
	DeriveTreeSecret struct {
		Secret     vectors.Hex `json:"secret"`
		Label      string      `json:"label"`
		Generation uint32      `json:"generation"`
		Length     uint16      `json:"length"`
		Out        vectors.Hex `json:"out"`
	} `json:"derive_tree_secret"`
	SignWithLabel struct {
		Priv      vectors.Hex `json:"priv"`
		Pub       vectors.Hex `json:"pub"`
		Content   vectors.Hex `json:"content"`
		Label     string      `json:"label"`
		Signature vectors.Hex `json:"signature"`
	} `json:"sign_with_label"`
	EncryptWithLabel struct {
		Priv       vectors.Hex `json:"priv"`
		Pub        vectors.Hex `json:"pub"`
		Label      string      `json:"label"`
		Context    vectors.Hex `json:"context"`
		Plaintext  vectors.Hex `json:"plaintext"`
		KEMOutput  vectors.Hex `json:"kem_output"`
		Ciphertext vectors.Hex `json:"ciphertext"`
	} `json:"encrypt_with_label"`
}

func runCryptoBasics(data []byte) ([]vectors.Case, error) {
	var tcs []cryptoBasics
	if err := json.Unmarshal(data, &tcs); err != nil {
		return nil, fmt.Errorf("crypto-basics: %w", err)
	}
	out := make([]vectors.Case, 0, len(tcs))
	for _, tc := range tcs {
		c := vectors.Case{Name: fmt.Sprintf("cs=0x%04x", tc.CipherSuite)}
		s, err := suite.Get(suite.ID(tc.CipherSuite))
		if err != nil {
			c.Err = err
		} else {
			c.Err = checkCryptoBasics(s, &tc)
		}
		out = append(out, c)
	}
	return out, nil
}

func checkCryptoBasics(s *suite.Suite, tc *cryptoBasics) error {
	var c vectors.Check

	r := &tc.RefHash
	c.Bytes("ref_hash.out", s.RefHash(r.Label, r.Value), r.Out)

	e := &tc.ExpandWithLabel
	c.Bytes("expand_with_label.out", s.ExpandWithLabel(e.Secret, e.Label, e.Context, int(e.Length)), e.Out)

	d := &tc.DeriveSecret
	c.Bytes("derive_secret.out", s.DeriveSecret(d.Secret, d.Label), d.Out)

	t := &tc.DeriveTreeSecret
	c.Bytes("derive_tree_secret.out", s.DeriveTreeSecret(t.Secret, t.Label, t.Generation, int(t.Length)), t.Out)

	sg := &tc.SignWithLabel
	if pub, err := s.SignaturePublicKey(sg.Priv); err != nil {
		c.Err("sign_with_label.priv", err)
	} else {
		c.Bytes("sign_with_label.pub (from priv)", pub, sg.Pub)
	}
	c.Err("sign_with_label.signature (VerifyWithLabel)", s.VerifyWithLabel(sg.Pub, sg.Label, sg.Content, sg.Signature))
	if sig, err := s.SignWithLabel(sg.Priv, sg.Label, sg.Content); err != nil {
		c.Err("sign_with_label (SignWithLabel)", err)
	} else {
		c.Err("sign_with_label (VerifyWithLabel of own signature)", s.VerifyWithLabel(sg.Pub, sg.Label, sg.Content, sig))
	}

	en := &tc.EncryptWithLabel
	if pub, err := s.HPKEPublicKey(en.Priv); err != nil {
		c.Err("encrypt_with_label.priv", err)
	} else {
		c.Bytes("encrypt_with_label.pub (from priv)", pub, en.Pub)
	}
	if pt, err := s.DecryptWithLabel(en.Priv, en.Label, en.Context, en.KEMOutput, en.Ciphertext); err != nil {
		c.Err("encrypt_with_label (DecryptWithLabel)", err)
	} else {
		c.Bytes("encrypt_with_label.plaintext (DecryptWithLabel)", pt, en.Plaintext)
	}
	if pt, err := s.DecryptWithLabelKeyPair(en.Priv, en.Pub, en.Label, en.Context, en.KEMOutput, en.Ciphertext); err != nil {
		c.Err("encrypt_with_label (DecryptWithLabelKeyPair)", err)
	} else {
		c.Bytes("encrypt_with_label.plaintext (DecryptWithLabelKeyPair)", pt, en.Plaintext)
	}
	if kemOut, ct, err := s.EncryptWithLabel(nil, en.Pub, en.Label, en.Context, en.Plaintext); err != nil {
		c.Err("encrypt_with_label (EncryptWithLabel)", err)
	} else if pt, err := s.DecryptWithLabel(en.Priv, en.Label, en.Context, kemOut, ct); err != nil {
		c.Err("encrypt_with_label (DecryptWithLabel of own ciphertext)", err)
	} else {
		c.Bytes("encrypt_with_label.plaintext (round trip)", pt, en.Plaintext)
	}
	if en.Plaintext == nil {
		c.Err("encrypt_with_label.plaintext", errors.New("missing"))
	}
	return c.Result()
}
