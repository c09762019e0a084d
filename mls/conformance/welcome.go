package conformance

import (
	"fmt"

	"github.com/mlslab/mlslab/mls/core"
	"github.com/mlslab/mlslab/mls/internal/suite"
	"github.com/mlslab/mlslab/mls/internal/vectors"
)

// welcomeVector is one case of welcome.json (test-vectors.md, "Welcome").
type welcomeVector struct {
	CipherSuite uint16      `json:"cipher_suite"`
	InitPriv    vectors.Hex `json:"init_priv"`
	SignerPub   vectors.Hex `json:"signer_pub"`
	KeyPackage  vectors.Hex `json:"key_package"`
	Welcome     vectors.Hex `json:"welcome"`
}

func runWelcomeVectors(data []byte) ([]vectors.Case, error) {
	return vectors.Each(data, func(_ int, v *welcomeVector) string { return vectors.SuiteName(v.CipherSuite) }, checkWelcomeVector)
}

func checkWelcomeVector(tv *welcomeVector) error {
	cs, err := suite.Get(suite.ID(tv.CipherSuite))
	if err != nil {
		return err
	}
	var c vectors.Check
	kpMsg, err := core.UnmarshalMLSMessage(tv.KeyPackage)
	if err != nil {
		return fmt.Errorf("key_package: %w", err)
	}
	if kpMsg.WireFormat != core.WireFormatKeyPackage {
		return fmt.Errorf("key_package: wire format %v", kpMsg.WireFormat)
	}
	kp := kpMsg.KeyPackage
	c.Equal("key_package.cipher_suite", kp.CipherSuite, code(cs))
	c.Err("key_package signature", kp.VerifySignature())
	wMsg, err := core.UnmarshalMLSMessage(tv.Welcome)
	if err != nil {
		return fmt.Errorf("welcome: %w", err)
	}
	if wMsg.WireFormat != core.WireFormatWelcome {
		return fmt.Errorf("welcome: wire format %v", wMsg.WireFormat)
	}
	w := wMsg.Welcome
	c.Equal("welcome.cipher_suite", w.CipherSuite, code(cs))

	// Identify our entry and decrypt the GroupSecrets (Section 12.4.3.1).
	ref, err := kp.Ref()
	if err != nil {
		return err
	}
	gs, err := w.DecryptGroupSecrets(ref, tv.InitPriv)
	if err != nil {
		c.Err("group secrets", err)
		return c.Result()
	}
	// No PSKs: psk_secret is the zero vector (Section 8.4).
	c.Equal("group_secrets.psks", len(gs.PSKs), 0)
	psk, err := core.DerivePSKSecret(code(cs), nil, nil)
	if err != nil {
		return err
	}
	joiner := core.JoinerSecret(gs.JoinerSecret)
	welcomeSecret, err := joiner.WelcomeSecret(code(cs), psk)
	if err != nil {
		return err
	}
	gi, err := w.DecryptGroupInfo(welcomeSecret)
	if err != nil {
		c.Err("group info", err)
		return c.Result()
	}
	c.Equal("group_info.group_context.cipher_suite", gi.GroupContext.CipherSuite, code(cs))
	c.Err("group_info signature", gi.VerifySignature(tv.SignerPub))

	// Key schedule of the joined epoch and the confirmation tag.
	gc, err := gi.GroupContext.Marshal()
	if err != nil {
		return fmt.Errorf("group_context: %w", err)
	}
	epoch, err := core.JoinEpoch(code(cs), joiner, psk, gc)
	if err != nil {
		return err
	}
	c.Bytes("group_info.confirmation_tag", epoch.ConfirmationTag(gi.GroupContext.ConfirmedTranscriptHash), gi.ConfirmationTag)

	// Re-encrypting the same GroupInfo and GroupSecrets to the KeyPackage
	// decrypts to the same values (our encryption side).
	egi, err := core.EncryptGroupInfo(code(cs), welcomeSecret, gi)
	c.Err("re-encrypt group info", err)
	if err == nil {
		e, err := core.EncryptGroupSecrets(code(cs), egi, nil, kp, gs)
		c.Err("re-encrypt group secrets", err)
		if err == nil {
			w2 := &core.Welcome{CipherSuite: code(cs), Secrets: []core.EncryptedGroupSecrets{*e}, EncryptedGroupInfo: egi}
			gs2, err := w2.DecryptGroupSecrets(ref, tv.InitPriv)
			c.Err("re-decrypt group secrets", err)
			if err == nil {
				c.Bytes("re-decrypted joiner_secret", gs2.JoinerSecret, gs.JoinerSecret)
			}
			if string(egi) != string(w.EncryptedGroupInfo) {
				c.Err("re-encrypted group info", fmt.Errorf("differs from the vector's (deterministic AEAD expected)"))
			}
		}
	}
	return c.Result()
}
