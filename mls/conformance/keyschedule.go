package conformance

import (
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/core"
	"github.com/mlslab/mlslab/mls/internal/codec"
	"github.com/mlslab/mlslab/mls/internal/suite"
	"github.com/mlslab/mlslab/mls/internal/vectors"
)

// Runners for the IETF key-schedule, psk_secret, secret-tree and
// transcript-hashes vectors (test-vectors.md: "Key Schedule", "Pre-Shared
// Keys", "Secret Tree", "Transcript Hashes").

// keyScheduleVector is one case of key-schedule.json.
type keyScheduleVector struct {
	CipherSuite       uint16      `json:"cipher_suite"`
	GroupID           vectors.Hex `json:"group_id"`
	InitialInitSecret vectors.Hex `json:"initial_init_secret"`
	Epochs            []struct {
		TreeHash                vectors.Hex `json:"tree_hash"`
		CommitSecret            vectors.Hex `json:"commit_secret"`
		PSKSecret               vectors.Hex `json:"psk_secret"`
		ConfirmedTranscriptHash vectors.Hex `json:"confirmed_transcript_hash"`

		GroupContext       vectors.Hex `json:"group_context"`
		JoinerSecret       vectors.Hex `json:"joiner_secret"`
		WelcomeSecret      vectors.Hex `json:"welcome_secret"`
		InitSecret         vectors.Hex `json:"init_secret"`
		SenderDataSecret   vectors.Hex `json:"sender_data_secret"`
		EncryptionSecret   vectors.Hex `json:"encryption_secret"`
		ExporterSecret     vectors.Hex `json:"exporter_secret"`
		EpochAuthenticator vectors.Hex `json:"epoch_authenticator"`
		ExternalSecret     vectors.Hex `json:"external_secret"`
		ConfirmationKey    vectors.Hex `json:"confirmation_key"`
		MembershipKey      vectors.Hex `json:"membership_key"`
		ResumptionPSK      vectors.Hex `json:"resumption_psk"`
		ExternalPub        vectors.Hex `json:"external_pub"`
		Exporter           struct {
			// label is a JSON string used verbatim as the exporter label
			// (the published vectors use random hex text as the label;
			// it is NOT hex-decoded).
			Label   string      `json:"label"`
			Context vectors.Hex `json:"context"`
			Length  int         `json:"length"`
			Secret  vectors.Hex `json:"secret"`
		} `json:"exporter"`
	} `json:"epochs"`
}

// runKeyScheduleVectors checks, for every epoch, the GroupContext encoding,
// every secret of the key schedule, external_pub and the exporter.
func runKeyScheduleVectors(data []byte) ([]vectors.Case, error) {
	return vectors.Each(data, func(_ int, v *keyScheduleVector) string { return vectors.SuiteName(v.CipherSuite) }, checkKeySchedule)
}

func checkKeySchedule(v *keyScheduleVector) error {
	cs, err := suite.Get(suite.ID(v.CipherSuite))
	if err != nil {
		return err
	}
	var c vectors.Check
	init := core.InitSecret(v.InitialInitSecret)
	for i, e := range v.Epochs {
		f := func(name string) string { return fmt.Sprintf("epochs[%d].%s", i, name) }
		gc := core.GroupContext{
			Version:                 core.ProtocolVersionMLS10,
			CipherSuite:             code(cs),
			GroupID:                 v.GroupID,
			Epoch:                   uint64(i),
			TreeHash:                e.TreeHash,
			ConfirmedTranscriptHash: e.ConfirmedTranscriptHash,
			Extensions:              core.Extensions{},
		}
		gcBytes, err := gc.Marshal()
		if err != nil {
			return fmt.Errorf("%s: %w", f("group_context"), err)
		}
		c.Bytes(f("group_context"), gcBytes, e.GroupContext)
		var back core.GroupContext
		if err := back.Unmarshal(e.GroupContext); err != nil {
			c.Err(f("group_context (decode)"), err)
		} else if re, _ := back.Marshal(); string(re) != string(e.GroupContext) {
			c.Bytes(f("group_context (re-encode)"), re, e.GroupContext)
		}

		psk := core.PSKSecret(e.PSKSecret)
		joiner, es, err := core.DeriveEpoch(code(cs), init, core.CommitSecret(e.CommitSecret), psk, gcBytes)
		if err != nil {
			return err
		}
		c.Bytes(f("joiner_secret"), joiner, e.JoinerSecret)
		ws, err := joiner.WelcomeSecret(code(cs), psk)
		if err != nil {
			return err
		}
		c.Bytes(f("welcome_secret"), ws, e.WelcomeSecret)
		c.Bytes(f("init_secret"), es.Init, e.InitSecret)
		c.Bytes(f("sender_data_secret"), es.SenderData, e.SenderDataSecret)
		c.Bytes(f("encryption_secret"), es.Encryption, e.EncryptionSecret)
		c.Bytes(f("exporter_secret"), es.Exporter, e.ExporterSecret)
		c.Bytes(f("epoch_authenticator"), es.Authenticator, e.EpochAuthenticator)
		c.Bytes(f("external_secret"), es.External, e.ExternalSecret)
		c.Bytes(f("confirmation_key"), es.Confirmation, e.ConfirmationKey)
		c.Bytes(f("membership_key"), es.Membership, e.MembershipKey)
		c.Bytes(f("resumption_psk"), es.Resumption, e.ResumptionPSK)
		// Starting from the joiner_secret (a Welcome) reaches the same epoch.
		if js, err := core.JoinEpoch(code(cs), joiner, psk, gcBytes); err != nil || string(js.Init) != string(es.Init) || string(js.Authenticator) != string(es.Authenticator) {
			c.Err(f("joiner path"), errors.New("JoinEpoch disagrees with DeriveEpoch"))
		}

		if _, pub, err := es.ExternalKeyPair(); err != nil {
			c.Err(f("external_pub"), err)
		} else {
			c.Bytes(f("external_pub"), pub, e.ExternalPub)
		}
		exp, err := es.Export(e.Exporter.Label, e.Exporter.Context, e.Exporter.Length)
		if err != nil {
			c.Err(f("exporter.secret"), err)
		} else {
			c.Bytes(f("exporter.secret"), exp, e.Exporter.Secret)
		}
		init = es.Init
	}
	return c.Result()
}

type pskSecretVector struct {
	CipherSuite uint16 `json:"cipher_suite"`
	PSKs        []struct {
		PSKID    vectors.Hex `json:"psk_id"`
		PSK      vectors.Hex `json:"psk"`
		PSKNonce vectors.Hex `json:"psk_nonce"`
	} `json:"psks"`
	PSKSecret vectors.Hex `json:"psk_secret"`
}

// runPSKSecretVectors checks psk_secret for external PSKs (and that each
// PreSharedKeyID round-trips through its encoding).
func runPSKSecretVectors(data []byte) ([]vectors.Case, error) {
	return vectors.Each(data, func(i int, v *pskSecretVector) string {
		return fmt.Sprintf("%s/n_psks=%d/#%d", vectors.SuiteName(v.CipherSuite), len(v.PSKs), i)
	}, checkPSKSecret)
}

func checkPSKSecret(v *pskSecretVector) error {
	cs, err := suite.Get(suite.ID(v.CipherSuite))
	if err != nil {
		return err
	}
	var c vectors.Check
	ids := make([]core.PreSharedKeyID, len(v.PSKs))
	psks := make([][]byte, len(v.PSKs))
	for i, p := range v.PSKs {
		ids[i] = core.PreSharedKeyID{PSKType: core.PSKTypeExternal, PSKID: p.PSKID, PSKNonce: p.PSKNonce}
		psks[i] = p.PSK
		c.Err(fmt.Sprintf("psks[%d].psk_nonce", i), ids[i].CheckNonce(code(cs)))
		enc, err := ids[i].Marshal()
		if err != nil {
			c.Err(fmt.Sprintf("psks[%d] (encode)", i), err)
			continue
		}
		var back core.PreSharedKeyID
		if err := back.Unmarshal(enc); err != nil {
			c.Err(fmt.Sprintf("psks[%d] (decode)", i), err)
		} else if !back.Equal(&ids[i]) {
			c.Err(fmt.Sprintf("psks[%d] (round trip)", i), errors.New("decoded PreSharedKeyID differs"))
		}
	}
	secret, err := core.DerivePSKSecret(code(cs), ids, psks)
	if err != nil {
		return err
	}
	c.Bytes("psk_secret", secret, v.PSKSecret)
	return c.Result()
}

type secretTreeVector struct {
	CipherSuite uint16 `json:"cipher_suite"`
	SenderData  struct {
		SenderDataSecret vectors.Hex `json:"sender_data_secret"`
		Ciphertext       vectors.Hex `json:"ciphertext"`
		Key              vectors.Hex `json:"key"`
		Nonce            vectors.Hex `json:"nonce"`
	} `json:"sender_data"`
	EncryptionSecret vectors.Hex `json:"encryption_secret"`
	Leaves           [][]struct {
		Generation       uint32      `json:"generation"`
		HandshakeKey     vectors.Hex `json:"handshake_key"`
		HandshakeNonce   vectors.Hex `json:"handshake_nonce"`
		ApplicationKey   vectors.Hex `json:"application_key"`
		ApplicationNonce vectors.Hex `json:"application_nonce"`
	} `json:"leaves"`
}

// runSecretTreeVectors checks the sender data key and nonce and every listed
// generation's handshake and application key and nonce, requesting the
// generations in the order the vector lists them (so skipped generations go
// through the out-of-order window).
func runSecretTreeVectors(data []byte) ([]vectors.Case, error) {
	var vs []secretTreeVector
	if err := json.Unmarshal(data, &vs); err != nil {
		return nil, err
	}
	out := make([]vectors.Case, 0, len(vs))
	for _, v := range vs {
		name := fmt.Sprintf("%s/n_leaves=%d", vectors.SuiteName(v.CipherSuite), len(v.Leaves))
		out = append(out, vectors.Case{Name: name, Err: checkSecretTree(&v)})
	}
	return out, nil
}

func checkSecretTree(v *secretTreeVector) error {
	cs, err := suite.Get(suite.ID(v.CipherSuite))
	if err != nil {
		return err
	}
	var c vectors.Check
	key, nonce, err := core.SenderDataSecret(v.SenderData.SenderDataSecret).KeyNonce(code(cs), v.SenderData.Ciphertext)
	if err != nil {
		return err
	}
	c.Bytes("sender_data.key", key, v.SenderData.Key)
	c.Bytes("sender_data.nonce", nonce, v.SenderData.Nonce)

	tree, err := core.NewSecretTree(code(cs), core.EncryptionSecret(v.EncryptionSecret), uint32(len(v.Leaves)))
	if err != nil {
		return err
	}
	for i, gens := range v.Leaves {
		for j, g := range gens {
			f := func(name string) string { return fmt.Sprintf("leaves[%d][%d].%s", i, j, name) }
			for _, r := range []struct {
				typ        core.RatchetType
				key, nonce []byte
			}{
				{core.HandshakeRatchet, g.HandshakeKey, g.HandshakeNonce},
				{core.ApplicationRatchet, g.ApplicationKey, g.ApplicationNonce},
			} {
				p, err := tree.Key(core.LeafIndex(i), r.typ, g.Generation)
				if err != nil {
					c.Err(f(r.typ.String()), err)
					continue
				}
				c.Equal(f(r.typ.String()+"_generation"), p.Generation, g.Generation)
				c.Bytes(f(r.typ.String()+"_key"), p.Key, r.key)
				c.Bytes(f(r.typ.String()+"_nonce"), p.Nonce, r.nonce)
				c.Err(f(r.typ.String()+" (consume)"), p.Consume())
			}
		}
	}
	return c.Result()
}

type transcriptHashVector struct {
	CipherSuite                  uint16      `json:"cipher_suite"`
	ConfirmationKey              vectors.Hex `json:"confirmation_key"`
	AuthenticatedContent         vectors.Hex `json:"authenticated_content"`
	InterimTranscriptHashBefore  vectors.Hex `json:"interim_transcript_hash_before"`
	ConfirmedTranscriptHashAfter vectors.Hex `json:"confirmed_transcript_hash_after"`
	InterimTranscriptHashAfter   vectors.Hex `json:"interim_transcript_hash_after"`
}

// runTranscriptHashVectors checks that authenticated_content holds a Commit
// whose confirmation_tag is the MAC of confirmed_transcript_hash_after under
// confirmation_key, and both transcript hashes after it.
func runTranscriptHashVectors(data []byte) ([]vectors.Case, error) {
	return vectors.Each(data, func(_ int, v *transcriptHashVector) string { return vectors.SuiteName(v.CipherSuite) }, checkTranscriptHashes)
}

func checkTranscriptHashes(v *transcriptHashVector) error {
	cs, err := suite.Get(suite.ID(v.CipherSuite))
	if err != nil {
		return err
	}
	ac, err := core.UnmarshalAuthenticatedContent(v.AuthenticatedContent)
	if err != nil {
		return fmt.Errorf("authenticated_content: %w", err)
	}
	if ac.Content.ContentType != core.ContentTypeCommit {
		return fmt.Errorf("authenticated_content: content_type %v, want commit", ac.Content.ContentType)
	}
	confirmedInput, err := ac.ConfirmedTranscriptHashInput()
	if err != nil {
		return fmt.Errorf("authenticated_content: %w", err)
	}
	tag := ac.ConfirmationTag()
	var c vectors.Check
	// AuthenticatedContent = ConfirmedTranscriptHashInput || InterimTranscriptHashInput.
	c.Bytes("authenticated_content (ConfirmedTranscriptHashInput || confirmation_tag<V>)",
		codec.MustEncode(func(b *cryptobyte.Builder) { b.AddBytes(confirmedInput); codec.AddOpaque(b, tag) }),
		v.AuthenticatedContent)
	confirmed, interim, err := core.NextTranscriptHashes(code(cs), v.InterimTranscriptHashBefore, confirmedInput, tag)
	if err != nil {
		return err
	}
	c.Bytes("confirmed_transcript_hash_after", confirmed, v.ConfirmedTranscriptHashAfter)
	c.Bytes("interim_transcript_hash_after", interim, v.InterimTranscriptHashAfter)
	if !core.ConfirmationKey(v.ConfirmationKey).Verify(code(cs), v.ConfirmedTranscriptHashAfter, tag) {
		c.Err("confirmation_tag", errors.New("not MAC(confirmation_key, confirmed_transcript_hash_after)"))
	}
	return c.Result()
}
