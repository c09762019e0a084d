package mls

import (
	"bytes"

	"github.com/mlslab/mlslab/mls/core"
)

// Extension is one extension (RFC 9420, Section 7.2): a type and its
// encoded data. The helpers below encode and decode the data of every
// extension type RFC 9420 defines that an application sets or reads.
type Extension struct {
	Type ExtensionType
	Data []byte
}

// Extensions is an extension list. A list with two extensions of one type is
// invalid (RFC 9420, Section 13.4).
type Extensions []Extension

// Find returns the extension of type t.
func (l Extensions) Find(t ExtensionType) (Extension, bool) {
	for _, e := range l {
		if e.Type == t {
			return e, true
		}
	}
	return Extension{}, false
}

// core returns a deep copy of l as the low-level type.
func (l Extensions) core() core.Extensions {
	if l == nil {
		return nil
	}
	out := make(core.Extensions, len(l))
	for i, e := range l {
		out[i] = core.Extension{Type: core.ExtensionType(e.Type), Data: bytes.Clone(e.Data)}
	}
	return out
}

// extensionsFromCore returns a deep copy of l.
func extensionsFromCore(l core.Extensions) Extensions {
	if l == nil {
		return nil
	}
	out := make(Extensions, len(l))
	for i, e := range l {
		out[i] = Extension{Type: ExtensionType(e.Type), Data: bytes.Clone(e.Data)}
	}
	return out
}

// ApplicationIDExtension returns an application_id leaf extension (RFC
// 9420, Section 5.3.3).
func ApplicationIDExtension(id []byte) Extension {
	e := core.ApplicationIDExtension(id)
	return Extension{Type: ExtensionType(e.Type), Data: e.Data}
}

// UnmarshalApplicationID decodes the data of an application_id extension.
func UnmarshalApplicationID(data []byte) ([]byte, error) { return core.UnmarshalApplicationID(data) }

// ExternalSender is one entry of the external_senders group extension
// (RFC 9420, Section 12.1.8.1): a party outside the group, such as a
// delivery service, allowed to send proposals.
type ExternalSender struct {
	SignatureKey []byte
	Credential   Credential
}

// ExternalSendersExtension returns an external_senders group extension.
func ExternalSendersExtension(senders []ExternalSender) (Extension, error) {
	cs := make([]core.ExternalSender, len(senders))
	for i, s := range senders {
		cs[i] = core.ExternalSender{SignatureKey: s.SignatureKey, Credential: s.Credential.core()}
	}
	e, err := core.ExternalSendersExtension(cs)
	return Extension{Type: ExtensionType(e.Type), Data: e.Data}, err
}

// UnmarshalExternalSenders decodes the data of an external_senders
// extension.
func UnmarshalExternalSenders(data []byte) ([]ExternalSender, error) {
	cs, err := core.UnmarshalExternalSenders(data)
	if err != nil {
		return nil, err
	}
	out := make([]ExternalSender, len(cs))
	for i := range cs {
		out[i] = ExternalSender{SignatureKey: bytes.Clone(cs[i].SignatureKey), Credential: credentialFromCore(&cs[i].Credential)}
	}
	return out, nil
}

// RequiredCapabilities is the required_capabilities group extension (RFC
// 9420, Section 11.1): every member must support these.
type RequiredCapabilities struct {
	Extensions  []ExtensionType
	Proposals   []ProposalType
	Credentials []CredentialType
}

// RequiredCapabilitiesExtension returns a required_capabilities extension.
func RequiredCapabilitiesExtension(rc RequiredCapabilities) (Extension, error) {
	e, err := core.RequiredCapabilitiesExtension(&core.RequiredCapabilities{
		ExtensionTypes:  convertSlice[core.ExtensionType](rc.Extensions),
		ProposalTypes:   convertSlice[core.ProposalType](rc.Proposals),
		CredentialTypes: convertSlice[core.CredentialType](rc.Credentials),
	})
	return Extension{Type: ExtensionType(e.Type), Data: e.Data}, err
}

// UnmarshalRequiredCapabilities decodes the data of a required_capabilities
// extension.
func UnmarshalRequiredCapabilities(data []byte) (RequiredCapabilities, error) {
	rc, err := core.UnmarshalRequiredCapabilities(data)
	if err != nil {
		return RequiredCapabilities{}, err
	}
	return RequiredCapabilities{
		Extensions:  convertSlice[ExtensionType](rc.ExtensionTypes),
		Proposals:   convertSlice[ProposalType](rc.ProposalTypes),
		Credentials: convertSlice[CredentialType](rc.CredentialTypes),
	}, nil
}

// UnmarshalExternalPub decodes the data of an external_pub GroupInfo
// extension of a group of suite cs (RFC 9420, Section 12.4.3.2) and returns
// the HPKE public key.
func UnmarshalExternalPub(cs CipherSuite, data []byte) ([]byte, error) {
	return core.UnmarshalExternalPub(core.CipherSuite(cs), data)
}
