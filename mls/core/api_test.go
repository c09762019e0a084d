package core

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

// TestExtensionDecoders: every extension package mls defines decodes what
// its encoder wrote, and rejects trailing data.
func TestExtensionDecoders(t *testing.T) {
	es := []ExternalSender{{SignatureKey: []byte{1, 2, 3}, Credential: NewBasicCredential([]byte("ds"))}}
	e, err := ExternalSendersExtension(es)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := UnmarshalExternalSenders(e.Data); err != nil || !reflect.DeepEqual(got, es) {
		t.Errorf("external_senders: %v, %+v", err, got)
	}
	if _, err := UnmarshalExternalSenders(append(bytes.Clone(e.Data), 0)); err == nil {
		t.Error("external_senders with trailing data accepted")
	}
	rc := &RequiredCapabilities{ExtensionTypes: []ExtensionType{ExtensionExternalSenders}, ProposalTypes: []ProposalType{}, CredentialTypes: []CredentialType{CredentialBasic}}
	e, err = RequiredCapabilitiesExtension(rc)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := UnmarshalRequiredCapabilities(e.Data); err != nil || !reflect.DeepEqual(got, rc) {
		t.Errorf("required_capabilities: %v, %+v", err, got)
	}
	e = ApplicationIDExtension([]byte("app"))
	if got, err := UnmarshalApplicationID(e.Data); err != nil || string(got) != "app" {
		t.Errorf("application_id: %v, %q", err, got)
	}
	if _, err := UnmarshalApplicationID(append(bytes.Clone(e.Data), 0)); err == nil {
		t.Error("application_id with trailing data accepted")
	}
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	s, _ := suite.Get(suite.ID(cs))
	_, pub, err := s.GenerateKeyPair(newTestConfig(1).rand())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := UnmarshalExternalPub(cs, externalPubExtension(pub).Data); err != nil || !bytes.Equal(got, pub) {
		t.Errorf("external_pub: %v", err)
	}
	if _, err := UnmarshalExternalPub(0x0a0a, nil); !errors.Is(err, ErrUnsupported) {
		t.Errorf("external_pub of an unknown suite: %v", err)
	}
}

func TestLookupCipherSuite(t *testing.T) {
	if !slices.Equal(CipherSuites(), []CipherSuite{MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, MLS_128_DHKEMP256_AES128GCM_SHA256_P256,
		MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519, MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448, MLS_256_DHKEMP521_AES256GCM_SHA512_P521,
		MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448, MLS_256_DHKEMP384_AES256GCM_SHA384_P384,
		// the post-quantum suites of mls/internal/suite/pq.go (ts-mls code points)
		0x0051, 0x0052, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057, 0x0058}) {
		t.Fatalf("the exported code points differ from the implemented suites: %v", CipherSuites())
	}
	for _, cs := range CipherSuites() {
		if got, err := LookupCipherSuite(uint16(cs)); err != nil || got != cs {
			t.Errorf("LookupCipherSuite(%d) = %v, %v", cs, got, err)
		}
	}
	for _, code := range []uint16{0, 0x0a0a, 8, 0xffff} {
		if _, err := LookupCipherSuite(code); !errors.Is(err, ErrUnsupported) {
			t.Errorf("LookupCipherSuite(0x%04x): %v", code, err)
		}
	}
}

// TestPendingProposals: the accessor lists the epoch's cached proposals
// in order, and a commit's epoch change empties it.
func TestPendingProposals(t *testing.T) {
	a, _, kpB := aliceGroup(t)
	if len(a.PendingProposals()) != 0 {
		t.Fatal("new group has pending proposals")
	}
	if _, err := a.Propose(&Add{KeyPackage: *kpB.KeyPackage}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ProposeUpdate(nil); err != nil {
		t.Fatal(err)
	}
	pp := a.PendingProposals()
	if len(pp) != 2 || pp[0].Proposal.Type() != ProposalTypeAdd || pp[1].Proposal.Type() != ProposalTypeUpdate ||
		pp[0].Sender != MemberSender(0) || len(pp[0].Ref) == 0 {
		t.Fatalf("pending proposals: %+v", pp)
	}
	commitAndMerge(t, a, CommitOptions{})
	if len(a.PendingProposals()) != 0 {
		t.Fatal("pending proposals survive the epoch")
	}
}

// TestNewMemberAddProposal: a joiner's new_member_proposal Add is
// accepted by a member and committed; its owner joins by the Welcome.
func TestNewMemberAddProposal(t *testing.T) {
	a, cfgB, kpB := aliceGroup(t)
	ctx := a.Public().Context()
	msg, err := NewMemberAddProposal(&ctx, kpB, []byte("let me in"))
	if err != nil {
		t.Fatal(err)
	}
	// Without a policy, a non-member's request to join is refused and
	// leaves the group as it was.
	before, _ := a.MarshalState()
	if _, err := a.Process(wireRoundTrip(t, msg)); !errors.Is(err, ErrInvalidProposal) {
		t.Fatalf("new_member_proposal without AcceptNewMemberProposal: %v", err)
	}
	if after, _ := a.MarshalState(); !bytes.Equal(before, after) {
		t.Fatal("the refused proposal changed the group")
	}
	var asked []byte
	a.cfg.AcceptNewMemberProposal = func(kp *KeyPackage) error {
		asked = kp.LeafNode.Credential.Identity
		if string(asked) == "eve" {
			return errors.New("not eve")
		}
		return nil
	}
	out, err := a.Process(wireRoundTrip(t, msg))
	if string(asked) != "bob" {
		t.Fatalf("the policy saw %q", asked)
	}
	if err != nil || out.Sender.Type != SenderTypeNewMemberProposal {
		t.Fatalf("Process: %v, %+v", err, out)
	}
	pc := commitAndMerge(t, a, CommitOptions{InlineTree: true})
	b, err := Join(cfgB, wireRoundTrip(t, pc.Welcome), kpB, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkAgree(t, a, b)
	if n, err := NewPSKNonce(MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, nil); err != nil || len(n) != 32 {
		t.Errorf("NewPSKNonce: %v, %d octets", err, len(n))
	}
	es := ExternalSender{SignatureKey: []byte{7}, Credential: NewBasicCredential([]byte("x"))}
	e, _ := ExternalSendersExtension([]ExternalSender{es})
	if got, err := UnmarshalExternalSender(e.Data[1:]); err != nil || !reflect.DeepEqual(got, es) {
		t.Errorf("UnmarshalExternalSender: %v, %+v", err, got)
	}
}
