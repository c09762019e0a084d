//go:build interop

package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
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

// setUint16 assigns v to a uint16-based codepoint field (the suite ID type
// lives in an internal package of mls, so it is set through the field).
func setUint16[T ~uint16](dst *T, v uint16) { *dst = T(v) }

// readVarint reads an MLS variable-length integer (RFC 9420, Section 2.1.2).
func readVarint(b []byte) (n uint64, rest []byte, err error) {
	if len(b) == 0 {
		return 0, nil, errors.New("truncated varint")
	}
	size := 1 << (b[0] >> 6)
	if size == 8 || len(b) < size {
		return 0, nil, errors.New("invalid varint")
	}
	n = uint64(b[0] & 0x3f)
	for i := 1; i < size; i++ {
		n = n<<8 | uint64(b[i])
	}
	return n, b[size:], nil
}

func readOpaque(b []byte) (v, rest []byte, err error) {
	n, rest, err := readVarint(b)
	if err != nil {
		return nil, nil, err
	}
	if uint64(len(rest)) < n {
		return nil, nil, errors.New("truncated vector")
	}
	return rest[:n], rest[n:], nil
}

// encodeExternalSender encodes one ExternalSender struct.
func encodeExternalSender(es core.ExternalSender) ([]byte, error) {
	ext, err := core.ExternalSendersExtension([]core.ExternalSender{es})
	if err != nil {
		return nil, err
	}
	v, rest, err := readOpaque(ext.Data)
	if err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("encoding ExternalSender: %v", err)
	}
	return v, nil
}

func toExtensions(in []*pbExtension) core.Extensions {
	out := make(core.Extensions, 0, len(in))
	for _, e := range in {
		out = append(out, core.Extension{Type: core.ExtensionType(e.GetExtensionType()), Data: bytes.Clone(e.GetExtensionData())})
	}
	return out
}
