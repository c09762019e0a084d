//go:build interop

package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"

	"github.com/mlslab/mlslab/mls/core"
)

// Encoding helpers for what the interop protocol passes around as bytes.
// Messages are MLSMessage-framed (RFC 9420, Section 6): KeyPackages as
// mls_key_package, GroupInfo as mls_group_info, Welcome as mls_welcome,
// proposals and commits as mls_public_message / mls_private_message. For
// robustness the decoders also accept the bare structs.

func encodeMsg(m *core.MLSMessage) ([]byte, error) {
	if m == nil {
		return nil, nil
	}
	return m.Marshal()
}

func parseMsg(b []byte) (*core.MLSMessage, error) {
	if len(b) == 0 {
		return nil, invalidArg("empty message")
	}
	m, err := core.UnmarshalMLSMessage(b)
	if err != nil {
		return nil, invalidArgErr("malformed MLSMessage", err)
	}
	return m, nil
}

func parseKeyPackage(b []byte) (*core.KeyPackage, error) {
	if m, err := core.UnmarshalMLSMessage(b); err == nil {
		if m.WireFormat != core.WireFormatKeyPackage || m.KeyPackage == nil {
			return nil, invalidArg(fmt.Sprintf("expected a KeyPackage, got %v", m.WireFormat))
		}
		return m.KeyPackage, nil
	}
	kp, err := core.UnmarshalKeyPackage(b)
	if err != nil {
		return nil, invalidArgErr("malformed KeyPackage", err)
	}
	return kp, nil
}

func parseGroupInfo(b []byte) (*core.GroupInfo, error) {
	if m, err := core.UnmarshalMLSMessage(b); err == nil {
		if m.WireFormat != core.WireFormatGroupInfo || m.GroupInfo == nil {
			return nil, invalidArg(fmt.Sprintf("expected a GroupInfo, got %v", m.WireFormat))
		}
		return m.GroupInfo, nil
	}
	gi, err := core.UnmarshalGroupInfo(b)
	if err != nil {
		return nil, invalidArgErr("malformed GroupInfo", err)
	}
	return gi, nil
}

func parseWelcome(b []byte) (*core.MLSMessage, error) {
	if m, err := core.UnmarshalMLSMessage(b); err == nil {
		if m.WireFormat != core.WireFormatWelcome || m.Welcome == nil {
			return nil, invalidArg(fmt.Sprintf("expected a Welcome, got %v", m.WireFormat))
		}
		return m, nil
	}
	w, err := core.UnmarshalWelcome(b)
	if err != nil {
		return nil, invalidArgErr("malformed Welcome", err)
	}
	return &core.MLSMessage{Version: core.ProtocolVersionMLS10, WireFormat: core.WireFormatWelcome, Welcome: w}, nil
}

func wrapKeyPackage(kp *core.KeyPackage) ([]byte, error) {
	return encodeMsg(&core.MLSMessage{Version: core.ProtocolVersionMLS10, WireFormat: core.WireFormatKeyPackage, KeyPackage: kp})
}

func wrapGroupInfo(gi *core.GroupInfo) ([]byte, error) {
	return encodeMsg(&core.MLSMessage{Version: core.ProtocolVersionMLS10, WireFormat: core.WireFormatGroupInfo, GroupInfo: gi})
}

func digest(b []byte) string {
	h := sha256.Sum256(b)
	return string(h[:])
}

func toExtensions(in []*pbExtension) core.Extensions {
	out := make(core.Extensions, 0, len(in))
	for _, e := range in {
		out = append(out, core.Extension{Type: core.ExtensionType(e.GetExtensionType()), Data: bytes.Clone(e.GetExtensionData())})
	}
	return out
}
