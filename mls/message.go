package mls

import (
	"fmt"

	"github.com/mlslab/mlslab/mls/core"
)

// MLSMessage is an encoded-and-decoded MLS message (RFC 9420, Section 6):
// a PublicMessage or PrivateMessage (proposals, commits, application data),
// a Welcome, a GroupInfo or a KeyPackage. It is what travels between
// clients and the delivery service.
type MLSMessage struct{ m *core.MLSMessage }

// UnmarshalMLSMessage decodes an MLSMessage with the default size limits.
// Decoding checks the encoding only; signatures, tags and membership are
// checked by Group.Process, Join, ExternalJoin and PublicGroup.ApplyCommit.
func UnmarshalMLSMessage(data []byte) (*MLSMessage, error) {
	return (*Config)(nil).UnmarshalMLSMessage(data)
}

// UnmarshalMLSMessage decodes an MLSMessage with c's size limits.
func (c *Config) UnmarshalMLSMessage(data []byte) (*MLSMessage, error) {
	m, err := c.core().UnmarshalMLSMessage(data)
	if err != nil {
		return nil, err
	}
	return &MLSMessage{m}, nil
}

// Marshal encodes the message.
func (m *MLSMessage) Marshal() ([]byte, error) { return m.m.Marshal() }

// WireFormat says which message m carries.
func (m *MLSMessage) WireFormat() WireFormat { return WireFormat(m.m.WireFormat) }

// GroupID and Epoch return the group and epoch a PublicMessage,
// PrivateMessage or GroupInfo is for, what a delivery service routes and
// orders by (RFC 9420, Section 6; RFC 9750); ok is false for a Welcome or a
// KeyPackage. They are read from the unauthenticated framing.
func (m *MLSMessage) GroupID() (id []byte, ok bool) {
	id, _, ok = m.route()
	return id, ok
}

// Epoch: see GroupID.
func (m *MLSMessage) Epoch() (epoch uint64, ok bool) {
	_, epoch, ok = m.route()
	return epoch, ok
}

func (m *MLSMessage) route() ([]byte, uint64, bool) {
	switch {
	case m.m.PublicMessage != nil:
		return m.m.PublicMessage.Content.GroupID, m.m.PublicMessage.Content.Epoch, true
	case m.m.PrivateMessage != nil:
		return m.m.PrivateMessage.GroupID, m.m.PrivateMessage.Epoch, true
	case m.m.GroupInfo != nil:
		return m.m.GroupInfo.GroupContext.GroupID, m.m.GroupInfo.GroupContext.Epoch, true
	}
	return nil, 0, false
}

// KeyPackage returns the KeyPackage m carries, or nil if m is another
// message. Its signature is not yet verified (see UnmarshalKeyPackage).
func (m *MLSMessage) KeyPackage() *KeyPackage {
	if m.m.KeyPackage == nil {
		return nil
	}
	return &KeyPackage{m.m.KeyPackage}
}

// groupInfo returns the GroupInfo m carries.
func (m *MLSMessage) groupInfo() (*core.GroupInfo, error) {
	if m == nil || m.m.GroupInfo == nil {
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

func coreMessages(ms []*MLSMessage) []*core.MLSMessage {
	out := make([]*core.MLSMessage, len(ms))
	for i, m := range ms {
		out[i] = m.m
	}
	return out
}
