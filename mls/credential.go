package mls

import (
	"bytes"
	"crypto/x509"
	"slices"

	"github.com/mlslab/mlslab/mls/core"
)

// Credential binds a member's identity to its signature key (RFC 9420,
// Section 5.3). Identity is set for basic credentials; Certificates (DER,
// end-entity first) for x509 ones. Whether a credential is acceptable is the
// application's decision: Config.ValidateCredential.
type Credential struct {
	Type         CredentialType
	Identity     []byte
	Certificates [][]byte
}

// NewBasicCredential returns a basic credential for a copy of identity.
func NewBasicCredential(identity []byte) Credential {
	return Credential{Type: CredentialBasic, Identity: bytes.Clone(identity)}
}

// NewX509Credential returns an x509 credential for a copy of a DER
// certificate chain, end-entity certificate first.
func NewX509Credential(chain [][]byte) Credential {
	return Credential{Type: CredentialX509, Certificates: cloneChain(chain)}
}

// X509Chain parses the certificates of an x509 credential.
func (c Credential) X509Chain() ([]*x509.Certificate, error) {
	cc := c.core()
	return cc.X509Chain()
}

// core returns a deep copy of c as the low-level type: a group never
// shares a slice with the caller.
func (c Credential) core() core.Credential {
	return core.Credential{Type: core.CredentialType(c.Type), Identity: bytes.Clone(c.Identity), Certificates: cloneChain(c.Certificates)}
}

// credentialFromCore returns a deep copy of c: the caller may modify it
// without changing the group's state.
func credentialFromCore(c *core.Credential) Credential {
	if c == nil {
		return Credential{}
	}
	return Credential{Type: CredentialType(c.Type), Identity: bytes.Clone(c.Identity), Certificates: cloneChain(c.Certificates)}
}

func cloneChain(chain [][]byte) [][]byte {
	if chain == nil {
		return nil
	}
	out := make([][]byte, len(chain))
	for i, c := range chain {
		out[i] = bytes.Clone(c)
	}
	return out
}

// DefaultValidateSuccessor is the policy a nil Config.ValidateSuccessor
// stands for: the new credential must have the old one's type and the same
// basic identity, or the same x509 subject and subjectAltName (RFC 9420,
// Section 5.3.1). A rejection wraps ErrCredentialNotSuccessor. An
// application's own ValidateSuccessor may call it and add its policy.
func DefaultValidateSuccessor(leaf LeafIndex, oldCred, newCred Credential, reason SuccessorReason) error {
	o, n := oldCred.core(), newCred.core()
	return core.DefaultValidateSuccessor(core.LeafIndex(leaf), &o, &n, core.SuccessorReason(reason))
}

// Capabilities lists what a client supports (RFC 9420, Section 7.2) in
// addition to this package's own capabilities for the KeyPackage's suite
// (protocol mls10, the suite, basic and x509 credentials) and the default
// extension and proposal types, which are always supported: NewKeyPackage
// advertises the union, without duplicates.
type Capabilities struct {
	CipherSuites []CipherSuite
	Extensions   []ExtensionType
	Proposals    []ProposalType
	Credentials  []CredentialType
}

// core returns c merged with this package's capabilities for suite cs
// (nil if c is nil: core then uses exactly those).
func (c *Capabilities) core(cs CipherSuite) *core.Capabilities {
	if c == nil {
		return nil
	}
	d := core.DefaultCapabilities(core.CipherSuite(cs))
	return &core.Capabilities{
		Versions:     d.Versions,
		CipherSuites: union(d.CipherSuites, convertSlice[core.CipherSuite](c.CipherSuites)),
		Extensions:   union(d.Extensions, convertSlice[core.ExtensionType](c.Extensions)),
		Proposals:    union(d.Proposals, convertSlice[core.ProposalType](c.Proposals)),
		Credentials:  union(d.Credentials, convertSlice[core.CredentialType](c.Credentials)),
	}
}

// union returns a new slice with a's elements, then those of b not
// already present, in order.
func union[T comparable](a, b []T) []T {
	out := slices.Clone(a)
	for _, v := range b {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// Lifetime is the validity period of a KeyPackage's leaf, in Unix seconds
// (RFC 9420, Section 7.2).
type Lifetime struct {
	NotBefore uint64
	NotAfter  uint64
}

// convertSlice converts a slice of one code point type to another.
func convertSlice[T, F ~uint16](in []F) []T {
	if in == nil {
		return nil
	}
	out := make([]T, len(in))
	for i, v := range in {
		out[i] = T(v)
	}
	return out
}
