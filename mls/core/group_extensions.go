package core

import (
	"fmt"
	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/codec"
	"github.com/mlslab/mlslab/mls/internal/suite"
)

// Typed contents of the GroupContext and GroupInfo extensions of RFC 9420,
// Section 17.3 (the Extension list itself is in extensions.go).

// RequiredCapabilities is the required_capabilities extension (RFC 9420,
// Section 11.1).
type RequiredCapabilities struct {
	ExtensionTypes  []ExtensionType
	ProposalTypes   []ProposalType
	CredentialTypes []CredentialType
}

func (v *RequiredCapabilities) marshal(b *cryptobyte.Builder) {
	addUint16List(b, v.ExtensionTypes)
	addUint16List(b, v.ProposalTypes)
	addUint16List(b, v.CredentialTypes)
}

func (v *RequiredCapabilities) unmarshal(s *cryptobyte.String) error {
	var err error
	if v.ExtensionTypes, err = readUint16List[ExtensionType](s); err != nil {
		return codec.Errorf("RequiredCapabilities.extension_types", err)
	}
	if v.ProposalTypes, err = readUint16List[ProposalType](s); err != nil {
		return codec.Errorf("RequiredCapabilities.proposal_types", err)
	}
	if v.CredentialTypes, err = readUint16List[CredentialType](s); err != nil {
		return codec.Errorf("RequiredCapabilities.credential_types", err)
	}
	return nil
}

// ExternalSender is one entry of the external_senders extension (RFC 9420,
// Section 12.1.8.1).
type ExternalSender struct {
	SignatureKey []byte
	Credential   Credential
}

func (v *ExternalSender) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, v.SignatureKey)
	v.Credential.marshal(b)
}

func (v *ExternalSender) unmarshal(s *cryptobyte.String) error {
	var err error
	if v.SignatureKey, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("ExternalSender.signature_key", err)
	}
	if err := v.Credential.unmarshal(s); err != nil {
		return codec.Errorf("ExternalSender.credential", err)
	}
	return nil
}

// ExternalSendersExtension encodes an external_senders extension.
func ExternalSendersExtension(senders []ExternalSender) (Extension, error) {
	data, err := codec.Encode(func(b *cryptobyte.Builder) {
		codec.AddVector(b, func(b *cryptobyte.Builder) {
			for i := range senders {
				senders[i].marshal(b)
			}
		})
	})
	return Extension{Type: ExtensionExternalSenders, Data: data}, err
}

// UnmarshalExternalSenders decodes the data of an external_senders
// extension (RFC 9420, Section 12.1.8.1).
func UnmarshalExternalSenders(data []byte) ([]ExternalSender, error) {
	var out []ExternalSender
	err := codec.Decode(data, func(s *cryptobyte.String) error {
		return codec.ReadList(s, func(s *cryptobyte.String) error {
			var e ExternalSender
			if err := e.unmarshal(s); err != nil {
				return err
			}
			out = append(out, e)
			return nil
		})
	})
	if err != nil {
		return nil, protoErr(CodeDecode, "RFC 9420 §12.1.8.1 external_senders", "", err)
	}
	return out, nil
}

// Marshal encodes one ExternalSender (RFC 9420, Section 12.1.8.1), as an
// element of external_senders encodes it (UnmarshalExternalSender's input).
func (v *ExternalSender) Marshal() ([]byte, error) {
	return codec.Encode(v.marshal)
}

// UnmarshalExternalSender decodes one ExternalSender (RFC 9420, Section
// 12.1.8.1), as an element of external_senders encodes it.
func UnmarshalExternalSender(data []byte) (ExternalSender, error) {
	var e ExternalSender
	if err := codec.Decode(data, e.unmarshal); err != nil {
		return ExternalSender{}, protoErr(CodeDecode, "RFC 9420 §12.1.8.1 ExternalSender", "", err)
	}
	return e, nil
}

// UnmarshalRequiredCapabilities decodes the data of a
// required_capabilities extension (RFC 9420, Section 11.1).
func UnmarshalRequiredCapabilities(data []byte) (*RequiredCapabilities, error) {
	var rc RequiredCapabilities
	if err := codec.Decode(data, rc.unmarshal); err != nil {
		return nil, protoErr(CodeDecode, "RFC 9420 §11.1 required_capabilities", "", err)
	}
	return &rc, nil
}

// ApplicationIDExtension encodes an application_id LeafNode extension
// (RFC 9420, Section 5.3.3): opaque application_id<V>.
func ApplicationIDExtension(id []byte) Extension {
	return Extension{Type: ExtensionApplicationID, Data: codec.MustEncode(func(b *cryptobyte.Builder) { codec.AddOpaque(b, id) })}
}

// UnmarshalApplicationID decodes the data of an application_id extension
// (RFC 9420, Section 5.3.3).
func UnmarshalApplicationID(data []byte) ([]byte, error) {
	var id []byte
	err := codec.Decode(data, func(s *cryptobyte.String) error {
		var err error
		id, err = codec.ReadOpaque(s)
		return err
	})
	if err != nil {
		return nil, protoErr(CodeDecode, "RFC 9420 §5.3.3 application_id", "", err)
	}
	return id, nil
}

// UnmarshalExternalPub decodes the data of an external_pub GroupInfo
// extension of a group of suite cs (RFC 9420, Section 12.4.3.2) and
// returns the HPKE public key.
func UnmarshalExternalPub(cs CipherSuite, data []byte) ([]byte, error) {
	s, err := suite.Get(suite.ID(cs))
	if err != nil {
		return nil, protoErr(CodeUnsupported, "RFC 9420 §17.1", "", err)
	}
	return parseExternalPub(s, data)
}

// RequiredCapabilitiesExtension encodes a required_capabilities extension.
func RequiredCapabilitiesExtension(rc *RequiredCapabilities) (Extension, error) {
	data, err := codec.Encode(rc.marshal)
	return Extension{Type: ExtensionRequiredCapabilities, Data: data}, err
}

// externalPubExtension encodes the external_pub GroupInfo extension
// (RFC 9420, Section 12.4.3.2): struct { HPKEPublicKey external_pub; },
// HPKEPublicKey being opaque<V>.
func externalPubExtension(pub []byte) Extension {
	return Extension{Type: ExtensionExternalPub, Data: codec.MustEncode(func(b *cryptobyte.Builder) { codec.AddOpaque(b, pub) })}
}

// parseExternalPub decodes external_pub. Besides the RFC form
// (opaque external_pub<V>) it accepts a bare public key, which some
// implementations write (ts-mls 1.6.4). The two are told apart by length:
// the suite's KEM has fixed-size public keys (Npk, RFC 9180 §7.1), and the
// RFC form is Npk plus a varint prefix (RFC 9420 §2.1.2). Trying the RFC
// form first is not enough: one bare X25519/X448 key in 256 begins with
// the octet Npk-1 and so also parses as a (wrong) shorter opaque<V>.
func parseExternalPub(cs *suite.Suite, data []byte) ([]byte, error) {
	const rule = "RFC 9420 §12.4.3.2 external_pub"
	_, probe, err := cs.DeriveKeyPair(make([]byte, cs.Nh()))
	if err != nil {
		return nil, err
	}
	if len(data) == len(probe) {
		return append([]byte(nil), data...), nil
	}
	var pub []byte
	err = codec.Decode(data, func(s *cryptobyte.String) error {
		var err error
		pub, err = codec.ReadOpaque(s)
		return err
	})
	if err != nil {
		return nil, protoErr(CodeDecode, rule, "", err)
	}
	if len(pub) != len(probe) {
		return nil, protoErr(CodeDecode, rule, "wrong key length", nil)
	}
	return pub, nil
}

// checkExternalSenders runs the Authentication Service over the
// credentials of an external_senders extension in exts, if any: RFC 9420,
// Section 5.3.1 requires the credentials to be validated when the
// extension is added to or updated in a group, and when a client joins a
// group that has it. Each credential is bounded by the Config's
// credential limit, an x509 chain must certify its signature key, and
// Config.ValidateCredential must accept it.
func (c *Config) checkExternalSenders(code ErrorCode, exts Extensions) error {
	const rule = "RFC 9420 §5.3.1 external_senders credential"
	e, ok := exts.Find(ExtensionExternalSenders)
	if !ok {
		return nil
	}
	senders, err := UnmarshalExternalSenders(e.Data)
	if err != nil {
		return err
	}
	lim := c.limits()
	for i := range senders {
		s := &senders[i]
		if err := lim.checkCredential(code, &s.Credential); err != nil {
			return err
		}
		if s.Credential.Type == CredentialX509 {
			if err := checkX509Credential(&s.Credential, s.SignatureKey); err != nil {
				return protoErr(code, rule, fmt.Sprintf("external sender %d", i), err)
			}
		}
		if c != nil && c.ValidateCredential != nil {
			if err := c.ValidateCredential(&s.Credential, s.SignatureKey); err != nil {
				return protoErr(code, rule, fmt.Sprintf("external sender %d", i), err)
			}
		}
	}
	return nil
}
