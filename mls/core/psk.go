package core

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/codec"
	"github.com/mlslab/mlslab/mls/internal/suite"
)

// PSKType says how a pre-shared key was provisioned (RFC 9420, Section 8.4).
type PSKType uint8

// PSK types of RFC 9420, Section 8.4.
const (
	PSKTypeExternal   PSKType = 1 // external
	PSKTypeResumption PSKType = 2 // resumption
)

// IsValid reports whether t is external or resumption.
func (t PSKType) IsValid() bool { return t == PSKTypeExternal || t == PSKTypeResumption }

// String returns the RFC name of t.
func (t PSKType) String() string {
	switch t {
	case PSKTypeExternal:
		return "external"
	case PSKTypeResumption:
		return "resumption"
	}
	return fmt.Sprintf("unknown(0x%02x)", uint8(t))
}

// ResumptionPSKUsage is the purpose of a resumption PSK (RFC 9420, Section 8.4).
type ResumptionPSKUsage uint8

// Resumption PSK usages of RFC 9420, Section 8.4.
const (
	ResumptionPSKUsageApplication ResumptionPSKUsage = 1 // application
	ResumptionPSKUsageReinit      ResumptionPSKUsage = 2 // reinit
	ResumptionPSKUsageBranch      ResumptionPSKUsage = 3 // branch
)

// IsValid reports whether u is application, reinit or branch.
func (u ResumptionPSKUsage) IsValid() bool {
	return u >= ResumptionPSKUsageApplication && u <= ResumptionPSKUsageBranch
}

// String returns the RFC name of u.
func (u ResumptionPSKUsage) String() string {
	switch u {
	case ResumptionPSKUsageApplication:
		return "application"
	case ResumptionPSKUsageReinit:
		return "reinit"
	case ResumptionPSKUsageBranch:
		return "branch"
	}
	return fmt.Sprintf("unknown(0x%02x)", uint8(u))
}

// PreSharedKeyID names one PSK injected into the key schedule.
// PSKID is set for external PSKs; Usage, PSKGroupID and PSKEpoch for
// resumption PSKs. Fields of the other variant are ignored when encoding.
//
// RFC 9420, Section 8.4
//
//	struct {
//	  PSKType psktype;
//	  select (PreSharedKeyID.psktype) {
//	    case external:   opaque psk_id<V>;
//	    case resumption: ResumptionPSKUsage usage; opaque psk_group_id<V>; uint64 psk_epoch;
//	  };
//	  opaque psk_nonce<V>;
//	} PreSharedKeyID;
type PreSharedKeyID struct {
	PSKType    PSKType
	PSKID      []byte             // external
	Usage      ResumptionPSKUsage // resumption
	PSKGroupID []byte             // resumption
	PSKEpoch   uint64             // resumption
	PSKNonce   []byte
}

// ErrInvalidPSK is wrapped by errors about malformed PSK inputs: an invalid
// PSK type, a nonce of the wrong length, mismatched PSK lists.
var ErrInvalidPSK = errors.New("mls: invalid pre-shared key")

func (v *PreSharedKeyID) marshal(b *cryptobyte.Builder) {
	b.AddUint8(uint8(v.PSKType))
	switch v.PSKType {
	case PSKTypeExternal:
		codec.AddOpaque(b, v.PSKID)
	case PSKTypeResumption:
		b.AddUint8(uint8(v.Usage))
		codec.AddOpaque(b, v.PSKGroupID)
		b.AddUint64(v.PSKEpoch)
	default:
		b.SetError(fmt.Errorf("%w: cannot encode PreSharedKeyID with psktype %v", ErrInvalidPSK, v.PSKType))
		return
	}
	codec.AddOpaque(b, v.PSKNonce)
}

// unmarshal decodes a PreSharedKeyID. Unknown psktype values cannot be
// parsed (the select depends on them) and unknown usage values are not
// defined by RFC 9420, Section 8.4: both are rejected as codec.ErrInvalidValue.
func (v *PreSharedKeyID) unmarshal(s *cryptobyte.String) error {
	t, err := codec.ReadUint8(s)
	if err != nil {
		return codec.Errorf("PreSharedKeyID.psktype", err)
	}
	out := PreSharedKeyID{PSKType: PSKType(t)}
	switch out.PSKType {
	case PSKTypeExternal:
		if out.PSKID, err = codec.ReadOpaque(s); err != nil {
			return codec.Errorf("PreSharedKeyID.psk_id", err)
		}
	case PSKTypeResumption:
		u, err := codec.ReadUint8(s)
		if err != nil {
			return codec.Errorf("PreSharedKeyID.usage", err)
		}
		out.Usage = ResumptionPSKUsage(u)
		if !out.Usage.IsValid() {
			return codec.Invalid("PreSharedKeyID.usage", fmt.Sprintf("unknown ResumptionPSKUsage %d", u))
		}
		if out.PSKGroupID, err = codec.ReadOpaque(s); err != nil {
			return codec.Errorf("PreSharedKeyID.psk_group_id", err)
		}
		if out.PSKEpoch, err = codec.ReadUint64(s); err != nil {
			return codec.Errorf("PreSharedKeyID.psk_epoch", err)
		}
	default:
		return codec.Invalid("PreSharedKeyID.psktype", fmt.Sprintf("unknown PSKType %d", t))
	}
	if out.PSKNonce, err = readOpaqueMin(s, minHashOutput); err != nil {
		return codec.Errorf("PreSharedKeyID.psk_nonce", err)
	}
	*v = out
	return nil
}

// Marshal returns the encoding of v.
func (v *PreSharedKeyID) Marshal() ([]byte, error) { return codec.Encode(v.marshal) }

// Unmarshal decodes data into v, rejecting trailing bytes.
func (v *PreSharedKeyID) Unmarshal(data []byte) error { return codec.Decode(data, v.unmarshal) }

// Equal reports whether v and w identify the same PSK with the same nonce
// (fields of the variant not selected by PSKType are ignored).
func (v *PreSharedKeyID) Equal(w *PreSharedKeyID) bool {
	if v.PSKType != w.PSKType || string(v.PSKNonce) != string(w.PSKNonce) {
		return false
	}
	switch v.PSKType {
	case PSKTypeExternal:
		return string(v.PSKID) == string(w.PSKID)
	case PSKTypeResumption:
		return v.Usage == w.Usage && string(v.PSKGroupID) == string(w.PSKGroupID) && v.PSKEpoch == w.PSKEpoch
	}
	return false
}

// CheckNonce enforces that psk_nonce has length KDF.Nh of the group's suite
// (RFC 9420, Section 8.4: "MUST be set to a fresh random value of length
// KDF.Nh").
func (v *PreSharedKeyID) checkNonce(cs *suite.Suite) error {
	if len(v.PSKNonce) != cs.Nh() {
		return fmt.Errorf("%w: psk_nonce of %d bytes, want KDF.Nh = %d (RFC 9420, Section 8.4)", ErrInvalidPSK, len(v.PSKNonce), cs.Nh())
	}
	return nil
}

// pskLabel is the context of the "derived psk" expansion.
//
// RFC 9420, Section 8.4
//
//	struct { PreSharedKeyID id; uint16 index; uint16 count; } PSKLabel;
type pskLabel struct {
	id           *PreSharedKeyID
	index, count uint16
}

func (v *pskLabel) marshal(b *cryptobyte.Builder) {
	v.id.marshal(b)
	b.AddUint16(v.index)
	b.AddUint16(v.count)
}

// maxPSKs is the largest number of PSKs one psk_secret can chain: PSKLabel
// carries index and count as uint16 (RFC 9420, Section 8.4).
const maxPSKs = 0xffff

// derivePSKSecret implements the psk_secret computation of RFC 9420,
// Section 8.4: ids[i] names the PSK whose value is psks[i], in the order of
// the Commit's PreSharedKey proposals (or of GroupSecrets.psks).
//
//	psk_extracted_[i] = KDF.Extract(0, psk_[i])
//	psk_input_[i]     = ExpandWithLabel(psk_extracted_[i], "derived psk", PSKLabel, KDF.Nh)
//	psk_secret_[0]    = 0
//	psk_secret_[i]    = KDF.Extract(psk_input_[i-1], psk_secret_[i-1])
//
// With no PSKs the result is the all-zero vector of length KDF.Nh. Errors
// (wrapping ErrInvalidPSK) are returned for len(ids) != len(psks), more than
// 65535 PSKs, or an id that cannot be encoded.
func derivePSKSecret(cs *suite.Suite, ids []PreSharedKeyID, psks [][]byte) (PSKSecret, error) {
	if len(ids) != len(psks) {
		return nil, fmt.Errorf("%w: %d PreSharedKeyIDs but %d PSK values", ErrInvalidPSK, len(ids), len(psks))
	}
	if len(ids) > maxPSKs {
		return nil, fmt.Errorf("%w: %d PSKs exceed the uint16 PSKLabel.count (RFC 9420, Section 8.4)", ErrInvalidPSK, len(ids))
	}
	zero := make([]byte, cs.Nh())
	secret := zero
	for i := range ids {
		label, err := codec.Encode((&pskLabel{id: &ids[i], index: uint16(i), count: uint16(len(ids))}).marshal)
		if err != nil {
			return nil, fmt.Errorf("mls: PSK %d: %w", i, err)
		}
		extracted := cs.Extract(zero, psks[i])
		input := cs.ExpandWithLabel(extracted, labelDerivedPSK, label, cs.Nh())
		secret = cs.Extract(input, secret)
	}
	return PSKSecret(secret), nil
}
