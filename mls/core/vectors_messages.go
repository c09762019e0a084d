package core

import (
	"encoding/json"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/codec"
	"github.com/mlslab/mlslab/mls/internal/suite"
	"github.com/mlslab/mlslab/mls/internal/vectors"
)

func init() { vectors.Register("messages", runMessagesVectors) }

// messagesVector is one case of messages.json (test-vectors.md, "Messages").
type messagesVector struct {
	MLSWelcome    vectors.Hex `json:"mls_welcome"`
	MLSGroupInfo  vectors.Hex `json:"mls_group_info"`
	MLSKeyPackage vectors.Hex `json:"mls_key_package"`

	RatchetTree  vectors.Hex `json:"ratchet_tree"`
	GroupSecrets vectors.Hex `json:"group_secrets"`

	AddProposal                    vectors.Hex `json:"add_proposal"`
	UpdateProposal                 vectors.Hex `json:"update_proposal"`
	RemoveProposal                 vectors.Hex `json:"remove_proposal"`
	PreSharedKeyProposal           vectors.Hex `json:"pre_shared_key_proposal"`
	ReInitProposal                 vectors.Hex `json:"re_init_proposal"`
	ExternalInitProposal           vectors.Hex `json:"external_init_proposal"`
	GroupContextExtensionsProposal vectors.Hex `json:"group_context_extensions_proposal"`

	Commit vectors.Hex `json:"commit"`

	PublicMessageApplication vectors.Hex `json:"public_message_application"`
	PublicMessageProposal    vectors.Hex `json:"public_message_proposal"`
	PublicMessageCommit      vectors.Hex `json:"public_message_commit"`
	PrivateMessage           vectors.Hex `json:"private_message"`
}

// wireStruct is any RFC struct with the package's codec pair.
type wireStruct interface {
	marshal(b *cryptobyte.Builder)
	unmarshal(s *cryptobyte.String) error
}

// roundTrip decodes data into v (rejecting trailing bytes) and checks that
// re-encoding reproduces data exactly.
func roundTrip(v wireStruct, data []byte) error {
	if err := codec.Decode(data, v.unmarshal); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	out, err := codec.Encode(v.marshal)
	if err != nil {
		return fmt.Errorf("re-encode: %w", err)
	}
	if string(out) != string(data) {
		return fmt.Errorf("re-encoding differs:\n got %x\nwant %x", out, data)
	}
	return nil
}

// checkMLSMessage round-trips an MLSMessage and checks its wire format (and,
// for public messages, the content type).
func checkMLSMessage(c *vectors.Check, field string, data []byte, wf WireFormat, ct ContentType) {
	var m MLSMessage
	if err := roundTrip(&m, data); err != nil {
		c.Err(field, err)
		return
	}
	c.Equal(field+".version", m.Version, ProtocolVersionMLS10)
	c.Equal(field+".wire_format", m.WireFormat, wf)
	if wf == WireFormatPublicMessage && m.PublicMessage != nil {
		c.Equal(field+".content.content_type", m.PublicMessage.Content.ContentType, ct)
	}
	if wf == WireFormatKeyPackage && m.KeyPackage != nil {
		// RFC 9420, Section 10: KeyPackage.version must equal MLSMessage.version.
		c.Equal(field+".key_package.version", m.KeyPackage.Version, m.Version)
	}
}

// checkProposalBody round-trips a proposal body and also the Proposal that
// wraps it (proposal_type || body), so the tagged union is exercised too.
func checkProposalBody(c *vectors.Check, field string, data []byte, body ProposalBody) {
	if err := roundTrip(body, data); err != nil {
		c.Err(field, err)
		return
	}
	wrapped := codec.MustEncode(func(b *cryptobyte.Builder) {
		b.AddUint16(uint16(body.ProposalType()))
		b.AddBytes(data)
	})
	var p Proposal
	if err := roundTrip(&p, wrapped); err != nil {
		c.Err(field+" (as Proposal)", err)
		return
	}
	c.Equal(field+" (as Proposal).proposal_type", p.Type(), body.ProposalType())
}

func runMessagesVectors(data []byte) ([]vectors.Case, error) {
	var tvs []messagesVector
	if err := json.Unmarshal(data, &tvs); err != nil {
		return nil, err
	}
	cases := make([]vectors.Case, 0, len(tvs))
	for i := range tvs {
		cases = append(cases, vectors.Case{Name: fmt.Sprintf("#%d", i), Err: checkMessagesVector(&tvs[i])})
	}
	return cases, nil
}

func checkMessagesVector(tv *messagesVector) error {
	var c vectors.Check
	checkMLSMessage(&c, "mls_welcome", tv.MLSWelcome, WireFormatWelcome, 0)
	checkMLSMessage(&c, "mls_group_info", tv.MLSGroupInfo, WireFormatGroupInfo, 0)
	checkMLSMessage(&c, "mls_key_package", tv.MLSKeyPackage, WireFormatKeyPackage, 0)

	c.Err("ratchet_tree", checkRatchetTreeVector(tv.RatchetTree, messagesVectorSuite(tv)))
	c.Err("group_secrets", roundTrip(new(GroupSecrets), tv.GroupSecrets))

	checkProposalBody(&c, "add_proposal", tv.AddProposal, new(Add))
	checkProposalBody(&c, "update_proposal", tv.UpdateProposal, new(Update))
	checkProposalBody(&c, "remove_proposal", tv.RemoveProposal, new(Remove))
	checkProposalBody(&c, "pre_shared_key_proposal", tv.PreSharedKeyProposal, new(PreSharedKey))
	checkProposalBody(&c, "re_init_proposal", tv.ReInitProposal, new(ReInit))
	checkProposalBody(&c, "external_init_proposal", tv.ExternalInitProposal, new(ExternalInit))
	checkProposalBody(&c, "group_context_extensions_proposal", tv.GroupContextExtensionsProposal, new(GroupContextExtensions))

	c.Err("commit", roundTrip(new(Commit), tv.Commit))

	checkMLSMessage(&c, "public_message_application", tv.PublicMessageApplication, WireFormatPublicMessage, ContentTypeApplication)
	checkMLSMessage(&c, "public_message_proposal", tv.PublicMessageProposal, WireFormatPublicMessage, ContentTypeProposal)
	checkMLSMessage(&c, "public_message_commit", tv.PublicMessageCommit, WireFormatPublicMessage, ContentTypeCommit)
	checkMLSMessage(&c, "private_message", tv.PrivateMessage, WireFormatPrivateMessage, 0)
	return c.Result()
}

// messagesVectorSuite picks the suite whose hash the ratchet tree decoder
// uses: messages.json has no cipher_suite field, so take the GroupInfo's
// (the tree is the group's), else suite 0x0001. Only the tree hash, which
// this check does not compare, depends on it.
func messagesVectorSuite(tv *messagesVector) *suite.Suite {
	if m, err := UnmarshalMLSMessage(tv.MLSGroupInfo); err == nil && m.GroupInfo != nil {
		if cs, err := suite.Get(m.GroupInfo.GroupContext.CipherSuite); err == nil {
			return cs
		}
	}
	return suite.MustGet(suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
}

// checkRatchetTreeVector decodes ratchet_tree extension data
// (optional<Node> ratchet_tree<V>, RFC 9420 Section 12.4.3.3) with the tree
// engineer's codec and checks that it re-encodes identically.
func checkRatchetTreeVector(data []byte, cs *suite.Suite) error {
	t, err := decodeRatchetTree(cs, data, 0)
	if err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	out, err := t.MarshalRatchetTree()
	if err != nil {
		return fmt.Errorf("re-encode: %w", err)
	}
	if string(out) != string(data) {
		return fmt.Errorf("re-encoding differs:\n got %x\nwant %x", out, data)
	}
	return nil
}
