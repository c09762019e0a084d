package mls

import (
	"bytes"
	"fmt"

	"github.com/mlslab/mlslab/mls/core"
)

// MLSMessage is an encoded-and-decoded MLS message (RFC 9420, Section 6):
// a PublicMessage or PrivateMessage (proposals, commits, application data),
// a Welcome, a GroupInfo or a KeyPackage. It is what travels between
// clients and the delivery service. A zero MLSMessage is no message: its
// accessors return zero values and Marshal an error.
type MLSMessage struct{ m *core.MLSMessage }

// errNoMessage is returned for a nil or zero MLSMessage.
var errNoMessage = fmt.Errorf("%w: nil or zero MLSMessage", ErrInvalidMessage)

// msg returns the low-level message of m, or an error if m is nil or zero.
func (m *MLSMessage) msg() (*core.MLSMessage, error) {
	if m == nil || m.m == nil {
		return nil, errNoMessage
	}
	return m.m, nil
}

// UnmarshalMLSMessage decodes an MLSMessage with the default size limits.
// Decoding checks the encoding only; signatures, tags and membership are
// checked by Group.Process, Join, ExternalJoin and PublicGroup.ApplyCommit.
func UnmarshalMLSMessage(data []byte) (*MLSMessage, error) {
	return (*Config)(nil).UnmarshalMLSMessage(data)
}

// UnmarshalMLSMessage decodes an MLSMessage with c's size limits
// (MaxMessageSize, MaxLeaves, MaxCredentialSize, MaxExtensionSize). A
// delivery service or client that lowers its limits decodes with this
// method, so that an oversized message is rejected before it is decoded;
// the package-level UnmarshalMLSMessage applies the defaults.
func (c *Config) UnmarshalMLSMessage(data []byte) (*MLSMessage, error) {
	m, err := c.core().UnmarshalMLSMessage(data)
	if err != nil {
		return nil, err
	}
	return &MLSMessage{m}, nil
}

// Marshal encodes the message.
func (m *MLSMessage) Marshal() ([]byte, error) {
	cm, err := m.msg()
	if err != nil {
		return nil, err
	}
	return cm.Marshal()
}

// WireFormat says which message m carries (0 for a zero MLSMessage).
func (m *MLSMessage) WireFormat() WireFormat {
	if m == nil || m.m == nil {
		return 0
	}
	return WireFormat(m.m.WireFormat)
}

// GroupID and Epoch return the group and epoch a PublicMessage,
// PrivateMessage or GroupInfo is for, what a delivery service routes and
// orders by (RFC 9420, Section 6; RFC 9750); ok is false for a Welcome or a
// KeyPackage. They are read from the unauthenticated framing.
func (m *MLSMessage) GroupID() (id []byte, ok bool) {
	id, _, ok = m.route()
	return bytes.Clone(id), ok
}

// Epoch: see GroupID.
func (m *MLSMessage) Epoch() (epoch uint64, ok bool) {
	_, epoch, ok = m.route()
	return epoch, ok
}

func (m *MLSMessage) route() ([]byte, uint64, bool) {
	switch {
	case m == nil || m.m == nil:
	case m.m.PublicMessage != nil:
		return m.m.PublicMessage.Content.GroupID, m.m.PublicMessage.Content.Epoch, true
	case m.m.PrivateMessage != nil:
		return m.m.PrivateMessage.GroupID, m.m.PrivateMessage.Epoch, true
	case m.m.GroupInfo != nil:
		return m.m.GroupInfo.GroupContext.GroupID, m.m.GroupInfo.GroupContext.Epoch, true
	}
	return nil, 0, false
}

// ContentType returns the content type of a PublicMessage (application,
// proposal or commit), read from the unauthenticated framing: a delivery
// service picks the proposals of an epoch to pass to
// PublicGroup.ApplyCommit by it. ok is false for any other message (a
// PrivateMessage hides its content type).
func (m *MLSMessage) ContentType() (ContentType, bool) {
	if m == nil || m.m == nil || m.m.PublicMessage == nil {
		return 0, false
	}
	return ContentType(m.m.PublicMessage.Content.ContentType), true
}

// WelcomeRecipients returns the KeyPackageRefs a Welcome is encrypted to
// (RFC 9420, Section 12.4.3.1), in order: the delivery service routes the
// Welcome by them, and a client picks the KeyPackageBundle to Join with
// (KeyPackage.Ref). It is nil for any other message.
func (m *MLSMessage) WelcomeRecipients() [][]byte {
	if m == nil || m.m == nil || m.m.Welcome == nil {
		return nil
	}
	out := make([][]byte, len(m.m.Welcome.Secrets))
	for i, s := range m.m.Welcome.Secrets {
		out[i] = bytes.Clone(s.NewMember)
	}
	return out
}

// KeyPackage returns the KeyPackage m carries, or nil if m is another
// message. Its signature is not yet verified (see UnmarshalKeyPackage).
func (m *MLSMessage) KeyPackage() *KeyPackage {
	if m == nil || m.m == nil || m.m.KeyPackage == nil {
		return nil
	}
	return &KeyPackage{m.m.KeyPackage}
}

// groupInfo returns the GroupInfo m carries.
func (m *MLSMessage) groupInfo() (*core.GroupInfo, error) {
	if m == nil || m.m == nil || m.m.GroupInfo == nil {
		return nil, fmt.Errorf("%w: not a GroupInfo message", ErrInvalidMessage)
	}
	return m.m.GroupInfo, nil
}

func wrapMessage(m *core.MLSMessage) *MLSMessage {
	if m == nil {
		return nil
	}
	return &MLSMessage{m}
}

// coreMessages returns the low-level messages of ms; a nil or zero entry
// is an error.
func coreMessages(ms []*MLSMessage) ([]*core.MLSMessage, error) {
	out := make([]*core.MLSMessage, len(ms))
	for i, m := range ms {
		cm, err := m.msg()
		if err != nil {
			return nil, err
		}
		out[i] = cm
	}
	return out, nil
}
