package core

import (
	"bytes"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/codec"
)

// CredentialType is a credential codepoint (RFC 9420, Section 5.3 and the
// "MLS Credential Types" registry, Section 17.5).
type CredentialType uint16

// Credential types defined by RFC 9420, Section 17.5.
const (
	CredentialBasic CredentialType = 0x0001 // basic
	CredentialX509  CredentialType = 0x0002 // x509
)

// IsValid reports whether t is a credential type whose body this
// implementation can parse (basic or x509).
func (t CredentialType) IsValid() bool { return t == CredentialBasic || t == CredentialX509 }

// IsGREASE reports whether t is a GREASE value (RFC 9420, Section 13.5).
func (t CredentialType) IsGREASE() bool { return isGREASE(uint16(t)) }

// String returns the RFC name of the credential type.
func (t CredentialType) String() string {
	switch t {
	case CredentialBasic:
		return "basic"
	case CredentialX509:
		return "x509"
	}
	if t.IsGREASE() {
		return fmt.Sprintf("GREASE(0x%04x)", uint16(t))
	}
	return fmt.Sprintf("unknown(0x%04x)", uint16(t))
}

// ErrUnknownCredentialType is matched (errors.Is) by the decoding error of a
// Credential whose credential_type is neither basic nor x509. The select in
// the Credential struct (RFC 9420, Section 5.3) gives no length for the body
// of other types, so such a credential cannot be skipped or re-encoded
// generically; it is rejected. The error also matches codec.ErrInvalidValue.
var ErrUnknownCredentialType = errors.New("mls: unsupported credential type (RFC 9420, Section 5.3)")

// Credential is a member credential (RFC 9420, Section 5.3).
//
//	struct {
//	    CredentialType credential_type;
//	    select (Credential.credential_type) {
//	        case basic: opaque identity<V>;
//	        case x509:  Certificate certificates<V>;
//	    };
//	} Credential;
//
// Identity is set for basic credentials, Certificates (each the cert_data of
// one DER certificate, end-entity first) for x509.
type Credential struct {
	Type         CredentialType
	Identity     []byte
	Certificates [][]byte
}

// NewBasicCredential returns a basic credential for identity.
func NewBasicCredential(identity []byte) Credential {
	return Credential{Type: CredentialBasic, Identity: bytes.Clone(identity)}
}

func (v *Credential) marshal(b *cryptobyte.Builder) {
	b.AddUint16(uint16(v.Type))
	switch v.Type {
	case CredentialBasic:
		codec.AddOpaque(b, v.Identity)
	case CredentialX509:
		codec.AddVector(b, func(b *cryptobyte.Builder) {
			for _, c := range v.Certificates {
				codec.AddOpaque(b, c) // struct { opaque cert_data<V>; } Certificate
			}
		})
	default:
		b.SetError(fmt.Errorf("%w: %v", ErrUnknownCredentialType, v.Type))
	}
}

func (v *Credential) unmarshal(s *cryptobyte.String) error {
	t, err := codec.ReadUint16(s)
	if err != nil {
		return codec.Errorf("Credential.credential_type", err)
	}
	*v = Credential{Type: CredentialType(t)}
	switch v.Type {
	case CredentialBasic:
		if v.Identity, err = codec.ReadOpaque(s); err != nil {
			return codec.Errorf("Credential.identity", err)
		}
	case CredentialX509:
		// An empty cert_data is never a DER certificate; rejecting it
		// while decoding makes every element cost at least 2 octets for
		// its 24-byte slice header (and maxCertificates bounds a
		// credential to 6 KiB of headers).
		v.Certificates, err = readVec(s, maxCertificates, 2, func(c *[]byte, s *cryptobyte.String) (err error) {
			*c, err = readOpaqueMin(s, 1)
			return err
		})
		if err != nil {
			return codec.Errorf("Credential.certificates", err)
		}
	default:
		return &codec.Error{Field: "Credential.credential_type", Err: fmt.Errorf("%w: %w: %v", codec.ErrInvalidValue, ErrUnknownCredentialType, v.Type)}
	}
	return nil
}

// Equal reports whether two credentials have the same type and content.
func (v *Credential) Equal(o *Credential) bool {
	if v.Type != o.Type || !bytes.Equal(v.Identity, o.Identity) || len(v.Certificates) != len(o.Certificates) {
		return false
	}
	for i := range v.Certificates {
		if !bytes.Equal(v.Certificates[i], o.Certificates[i]) {
			return false
		}
	}
	return true
}

// Marshal returns the encoding of the credential.
func (v *Credential) Marshal() ([]byte, error) { return codec.Encode(v.marshal) }

// Unmarshal decodes a credential, rejecting trailing bytes and unknown
// credential types.
func (v *Credential) Unmarshal(data []byte) error { return codec.Decode(data, v.unmarshal) }
