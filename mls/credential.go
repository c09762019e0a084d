package mls

import (
	"crypto/x509"

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

// NewBasicCredential returns a basic credential for identity.
func NewBasicCredential(identity []byte) Credential {
	return Credential{Type: CredentialBasic, Identity: identity}
}

// NewX509Credential returns an x509 credential for a DER certificate chain,
// end-entity certificate first.
func NewX509Credential(chain [][]byte) Credential {
	return Credential{Type: CredentialX509, Certificates: chain}
}

// X509Chain parses the certificates of an x509 credential.
func (c Credential) X509Chain() ([]*x509.Certificate, error) {
	cc := c.core()
	return cc.X509Chain()
}

func (c Credential) core() core.Credential {
	return core.Credential{Type: core.CredentialType(c.Type), Identity: c.Identity, Certificates: c.Certificates}
}

func credentialFromCore(c *core.Credential) Credential {
	return Credential{Type: CredentialType(c.Type), Identity: c.Identity, Certificates: c.Certificates}
}

// Capabilities lists what a client supports (RFC 9420, Section 7.2), beyond
// the default extension and proposal types, which are always supported.
// The zero value in KeyPackageOptions means this package's own capabilities
// for the KeyPackage's suite.
type Capabilities struct {
	CipherSuites []CipherSuite
	Extensions   []ExtensionType
	Proposals    []ProposalType
	Credentials  []CredentialType
}

func (c *Capabilities) core() *core.Capabilities {
	if c == nil {
		return nil
	}
	return &core.Capabilities{
		Versions:     []core.ProtocolVersion{core.ProtocolVersionMLS10},
		CipherSuites: convertSlice[core.CipherSuite](c.CipherSuites),
		Extensions:   convertSlice[core.ExtensionType](c.Extensions),
		Proposals:    convertSlice[core.ProposalType](c.Proposals),
		Credentials:  convertSlice[core.CredentialType](c.Credentials),
	}
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
