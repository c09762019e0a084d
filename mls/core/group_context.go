package core

import (
	"bytes"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/codec"
)

// GroupContext summarizes the state of a group in one epoch; its encoding
// enters the key schedule (joiner_secret and epoch_secret), signatures of
// member messages and the Welcome.
//
// RFC 9420, Section 8.1
//
//	struct {
//	    ProtocolVersion version = mls10;
//	    CipherSuite cipher_suite;
//	    opaque group_id<V>;
//	    uint64 epoch;
//	    opaque tree_hash<V>;
//	    opaque confirmed_transcript_hash<V>;
//	    Extension extensions<V>;
//	} GroupContext;
type GroupContext struct {
	Version                 ProtocolVersion // always ProtocolVersionMLS10; zero encodes as mls10
	CipherSuite             CipherSuite
	GroupID                 []byte
	Epoch                   uint64
	TreeHash                []byte
	ConfirmedTranscriptHash []byte
	Extensions              Extensions
}

func (v *GroupContext) marshal(b *cryptobyte.Builder) {
	ver := v.Version
	if ver == 0 {
		ver = ProtocolVersionMLS10
	}
	b.AddUint16(uint16(ver))
	b.AddUint16(uint16(v.CipherSuite))
	codec.AddOpaque(b, v.GroupID)
	b.AddUint64(v.Epoch)
	codec.AddOpaque(b, v.TreeHash)
	codec.AddOpaque(b, v.ConfirmedTranscriptHash)
	v.Extensions.marshal(b)
}

// unmarshal decodes a GroupContext. The version field is fixed to mls10 by
// the struct definition (RFC 9420, Section 8.1), so any other value is
// rejected with codec.ErrInvalidValue; unknown cipher suites are kept for
// the caller to reject in context.
func (v *GroupContext) unmarshal(s *cryptobyte.String) error {
	var out GroupContext
	ver, err := codec.ReadUint16(s)
	if err != nil {
		return codec.Errorf("GroupContext.version", err)
	}
	out.Version = ProtocolVersion(ver)
	if out.Version != ProtocolVersionMLS10 {
		return codec.Invalid("GroupContext.version", fmt.Sprintf("version %v, want mls10", out.Version))
	}
	cs, err := codec.ReadUint16(s)
	if err != nil {
		return codec.Errorf("GroupContext.cipher_suite", err)
	}
	out.CipherSuite = CipherSuite(cs)
	if out.GroupID, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("GroupContext.group_id", err)
	}
	if out.Epoch, err = codec.ReadUint64(s); err != nil {
		return codec.Errorf("GroupContext.epoch", err)
	}
	if out.TreeHash, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("GroupContext.tree_hash", err)
	}
	if out.ConfirmedTranscriptHash, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("GroupContext.confirmed_transcript_hash", err)
	}
	if err := out.Extensions.unmarshal(s); err != nil {
		return codec.Errorf("GroupContext.extensions", err)
	}
	*v = out
	return nil
}

// Marshal returns the encoding of v: the GroupContext input of the key
// schedule (RFC 9420, Section 8).
func (v *GroupContext) Marshal() ([]byte, error) { return codec.Encode(v.marshal) }

// Unmarshal decodes data into v, rejecting trailing bytes.
func (v *GroupContext) Unmarshal(data []byte) error { return codec.Decode(data, v.unmarshal) }

// Clone returns a deep copy of v.
func (v *GroupContext) Clone() *GroupContext {
	c := *v
	c.GroupID = bytes.Clone(v.GroupID)
	c.TreeHash = bytes.Clone(v.TreeHash)
	c.ConfirmedTranscriptHash = bytes.Clone(v.ConfirmedTranscriptHash)
	if v.Extensions != nil {
		c.Extensions = make(Extensions, len(v.Extensions))
		for i, e := range v.Extensions {
			c.Extensions[i] = Extension{Type: e.Type, Data: bytes.Clone(e.Data)}
		}
	}
	return &c
}
