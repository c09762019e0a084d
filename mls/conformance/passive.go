package conformance

import (
	"bytes"
	"fmt"

	"github.com/mlslab/mlslab/mls/core"
	"github.com/mlslab/mlslab/mls/internal/suite"
	"github.com/mlslab/mlslab/mls/internal/vectors"
)

// passiveClientVector is one passive-client scenario (test-vectors.md,
// "Passive Client Scenarios").
type passiveClientVector struct {
	CipherSuite  uint16 `json:"cipher_suite"`
	ExternalPSKs []struct {
		PSKID vectors.Hex `json:"psk_id"`
		PSK   vectors.Hex `json:"psk"`
	} `json:"external_psks"`
	KeyPackage                vectors.Hex `json:"key_package"`
	SignaturePriv             vectors.Hex `json:"signature_priv"`
	EncryptionPriv            vectors.Hex `json:"encryption_priv"`
	InitPriv                  vectors.Hex `json:"init_priv"`
	Welcome                   vectors.Hex `json:"welcome"`
	RatchetTree               vectors.Hex `json:"ratchet_tree"`
	InitialEpochAuthenticator vectors.Hex `json:"initial_epoch_authenticator"`
	Epochs                    []struct {
		Proposals          []vectors.Hex `json:"proposals"`
		Commit             vectors.Hex   `json:"commit"`
		EpochAuthenticator vectors.Hex   `json:"epoch_authenticator"`
	} `json:"epochs"`
}

func runPassiveClientVectors(data []byte) ([]vectors.Case, error) {
	return vectors.Each(data, func(i int, v *passiveClientVector) string {
		return fmt.Sprintf("%s/epochs=%d", fmt.Sprintf("%s/#%d", vectors.SuiteName(v.CipherSuite), i), len(v.Epochs))
	}, checkPassiveClient)
}

// checkPassiveClient joins with the vector's Welcome and follows every
// epoch, comparing epoch authenticators (the verification steps of
// test-vectors.md).
func checkPassiveClient(tv *passiveClientVector) error {
	kpMsg, err := core.UnmarshalMLSMessage(tv.KeyPackage)
	if err != nil {
		return fmt.Errorf("key_package: %w", err)
	}
	if kpMsg.WireFormat != core.WireFormatKeyPackage || kpMsg.KeyPackage == nil {
		return fmt.Errorf("key_package: wire format %v", kpMsg.WireFormat)
	}
	kp := kpMsg.KeyPackage
	if uint16(kp.CipherSuite) != tv.CipherSuite {
		return fmt.Errorf("key_package suite %v, vector %#04x", kp.CipherSuite, tv.CipherSuite)
	}
	bundle := &core.KeyPackageBundle{KeyPackage: kp, InitPriv: tv.InitPriv, EncryptionKey: tv.EncryptionPriv, SignatureKey: tv.SignaturePriv}
	// The private keys correspond to the KeyPackage's public keys.
	cs, err := suite.Get(suite.ID(kp.CipherSuite))
	if err != nil {
		return err
	}
	var ck vectors.Check
	pub, err := cs.SignaturePublicKey(tv.SignaturePriv)
	ck.Err("signature_priv", err)
	ck.Bytes("signature_key", pub, kp.LeafNode.SignatureKey)
	pub, err = cs.HPKEPublicKey(tv.EncryptionPriv)
	ck.Err("encryption_priv", err)
	ck.Bytes("encryption_key", pub, kp.LeafNode.EncryptionKey)
	pub, err = cs.HPKEPublicKey(tv.InitPriv)
	ck.Err("init_priv", err)
	ck.Bytes("init_key", pub, kp.InitKey)
	if err := ck.Result(); err != nil {
		return err
	}

	store := &core.MemoryPSKStore{}
	for _, p := range tv.ExternalPSKs {
		store.AddExternal(p.PSKID, p.PSK)
	}
	cfg := &core.Config{PSKs: store}
	welcome, err := core.UnmarshalMLSMessage(tv.Welcome)
	if err != nil {
		return fmt.Errorf("welcome: %w", err)
	}
	g, err := core.Join(cfg, welcome, bundle, &core.JoinOptions{RatchetTree: tv.RatchetTree})
	if err != nil {
		return fmt.Errorf("join: %w", err)
	}
	if !bytes.Equal(g.EpochAuthenticator(), tv.InitialEpochAuthenticator) {
		return fmt.Errorf("initial epoch authenticator: got %x, want %x", g.EpochAuthenticator(), tv.InitialEpochAuthenticator)
	}
	for i, ep := range tv.Epochs {
		for j, p := range ep.Proposals {
			m, err := core.UnmarshalMLSMessage(p)
			if err != nil {
				return fmt.Errorf("epoch %d proposal %d: %w", i, j, err)
			}
			if _, err := g.Process(m); err != nil {
				return fmt.Errorf("epoch %d proposal %d: %w", i, j, err)
			}
		}
		m, err := core.UnmarshalMLSMessage(ep.Commit)
		if err != nil {
			return fmt.Errorf("epoch %d commit: %w", i, err)
		}
		if _, err := g.Process(m); err != nil {
			return fmt.Errorf("epoch %d commit: %w", i, err)
		}
		if !bytes.Equal(g.EpochAuthenticator(), ep.EpochAuthenticator) {
			return fmt.Errorf("epoch %d: epoch authenticator got %x, want %x", i, g.EpochAuthenticator(), ep.EpochAuthenticator)
		}
	}
	return nil
}
