package mls

import (
	"errors"
	"slices"
	"testing"

	"github.com/mlslab/mlslab/mls/core"
)

// TestUnknownProposalReported: a decoded proposal of a type the facade has
// no type for (an ExternalInit here) is an *UnknownProposal with its type,
// never nil, and it cannot be sent.
func TestUnknownProposalReported(t *testing.T) {
	p := proposalFromCore(&core.Proposal{Body: &core.ExternalInit{KEMOutput: []byte{1}}})
	u, ok := p.(*UnknownProposal)
	if !ok || u.ProposalType() != ProposalTypeExternalInit {
		t.Fatalf("ExternalInit reported as %#v", p)
	}
	if _, err := coreProposals([]ProposalBody{u}); !errors.Is(err, ErrInvalidProposal) {
		t.Fatalf("sending an UnknownProposal: %v", err)
	}
}

// TestCapabilitiesMerged: Capabilities are merged with this package's own
// for the suite, in order and without duplicates.
func TestCapabilitiesMerged(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	c := (&Capabilities{
		CipherSuites: []CipherSuite{cs, MLS_128_DHKEMP256_AES128GCM_SHA256_P256},
		Credentials:  []CredentialType{CredentialX509, CredentialBasic, 0xf000},
		Extensions:   []ExtensionType{0xff00, 0xff00},
	}).core(cs)
	if !slices.Equal(c.CipherSuites, []core.CipherSuite{core.CipherSuite(cs), core.CipherSuite(MLS_128_DHKEMP256_AES128GCM_SHA256_P256)}) ||
		!slices.Equal(c.Credentials, []core.CredentialType{core.CredentialBasic, core.CredentialX509, 0xf000}) ||
		!slices.Equal(c.Extensions, []core.ExtensionType{0xff00}) ||
		!slices.Equal(c.Versions, []core.ProtocolVersion{core.ProtocolVersionMLS10}) {
		t.Fatalf("merged capabilities %+v", c)
	}
	if (*Capabilities)(nil).core(cs) != nil {
		t.Fatal("nil Capabilities must leave the defaults to core")
	}
}
