package core

import (
	"errors"
	"fmt"
	"slices"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/codec"
)

// ExtensionType is an MLS extension codepoint (RFC 9420, Section 13.4 and
// the "MLS Extension Types" registry, Section 17.3).
type ExtensionType uint16

// Extension types defined by RFC 9420, Section 17.3.
const (
	ExtensionApplicationID        ExtensionType = 0x0001 // application_id
	ExtensionRatchetTree          ExtensionType = 0x0002 // ratchet_tree
	ExtensionRequiredCapabilities ExtensionType = 0x0003 // required_capabilities
	ExtensionExternalPub          ExtensionType = 0x0004 // external_pub
	ExtensionExternalSenders      ExtensionType = 0x0005 // external_senders
)

// IsValid reports whether t is one of the extension types this
// implementation knows (0x0001-0x0005). Unknown types are not a decoding
// error: RFC 9420, Section 13.4 requires them to be ignored.
func (t ExtensionType) IsValid() bool { return t >= 1 && t <= 5 }

// IsGREASE reports whether t is one of the GREASE values of RFC 9420,
// Section 13.5 (0x0A0A, 0x1A1A, ..., 0xEAEA).
func (t ExtensionType) IsGREASE() bool { return isGREASE(uint16(t)) }

func isGREASE(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>12 == (v>>4)&0xf && v != 0xfafa }

// IsDefault reports whether t is one of the "default" extension types that
// MUST NOT be listed in Capabilities (RFC 9420, Section 7.2).
func (t ExtensionType) IsDefault() bool { return t.IsValid() }

// String returns the RFC name of the extension type.
func (t ExtensionType) String() string {
	switch t {
	case ExtensionApplicationID:
		return "application_id"
	case ExtensionRatchetTree:
		return "ratchet_tree"
	case ExtensionRequiredCapabilities:
		return "required_capabilities"
	case ExtensionExternalPub:
		return "external_pub"
	case ExtensionExternalSenders:
		return "external_senders"
	}
	if t.IsGREASE() {
		return fmt.Sprintf("GREASE(0x%04x)", uint16(t))
	}
	return fmt.Sprintf("unknown(0x%04x)", uint16(t))
}

// Extension is one extension (RFC 9420, Section 7.2).
//
//	struct {
//	    ExtensionType extension_type;
//	    opaque extension_data<V>;
//	} Extension;
type Extension struct {
	Type ExtensionType
	Data []byte
}

func (v *Extension) marshal(b *cryptobyte.Builder) {
	b.AddUint16(uint16(v.Type))
	codec.AddOpaque(b, v.Data)
}

func (v *Extension) unmarshal(s *cryptobyte.String) error {
	t, err := codec.ReadUint16(s)
	if err != nil {
		return codec.Errorf("Extension.extension_type", err)
	}
	v.Type = ExtensionType(t)
	if v.Data, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("Extension.extension_data", err)
	}
	return nil
}

// ErrDuplicateExtension is matched (errors.Is) by the decoding error of an
// extension list holding two extensions of the same type: "Any field
// containing a list of extensions MUST NOT have more than one extension of
// any given type" (RFC 9420, Section 13.4). The error also matches
// codec.ErrInvalidValue.
var ErrDuplicateExtension = errors.New("mls: duplicate extension type (RFC 9420, Section 13.4)")

// Extensions is an extension list, Extension extensions<V> (RFC 9420,
// Section 7.2, 12.4.3, 8.1). Decoding rejects duplicate types
// (Section 13.4); unknown types are kept and re-encoded unchanged.
type Extensions []Extension

func (l *Extensions) marshal(b *cryptobyte.Builder) {
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for i := range *l {
			(*l)[i].marshal(b)
		}
	})
}

func (l *Extensions) unmarshal(s *cryptobyte.String) error {
	var (
		types []ExtensionType // while the list is at most scanLimit long
		seen  *codepointBits  // built once the list is longer than scanLimit
	)
	// Duplicates are detected while reading, in O(1) per entry, so a list
	// stops at its first repeated type (RFC 9420, Section 13.4) and never
	// grows beyond 2^16 entries. The list is counted before it is
	// decoded (skipExtension), so its slice is allocated once, at its
	// exact length: an empty extension is 3 octets and 32 bytes decoded.
	out, err := readVecCounted(s, 1<<16, 3, skipExtension, func(e *Extension, s *cryptobyte.String) error {
		if err := e.unmarshal(s); err != nil {
			return err
		}
		if seen == nil && len(types) == scanLimit {
			seen = new(codepointBits)
			for _, t := range types {
				seen.add(uint16(t))
			}
		}
		dup := false
		if seen != nil {
			dup = !seen.add(uint16(e.Type))
		} else {
			dup = slices.Contains(types, e.Type)
			types = append(types, e.Type)
		}
		if dup {
			return duplicateExtension(e.Type).Err // Errorf below names the field
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, codec.ErrTooLarge) {
			// More than 2^16 entries: one type repeats.
			err = fmt.Errorf("%w: %w: more than 2^16 extensions", codec.ErrInvalidValue, ErrDuplicateExtension)
		}
		return codec.Errorf("Extensions", err)
	}
	if len(out) == 0 {
		out = nil
	}
	*l = out
	return nil
}

// skipExtension steps over one Extension.
func skipExtension(s *cryptobyte.String) error {
	if _, err := codec.ReadUint16(s); err != nil {
		return err
	}
	_, err := codec.ReadVector(s)
	return err
}

func duplicateExtension(t ExtensionType) *codec.Error {
	return &codec.Error{Field: "Extensions", Err: fmt.Errorf("%w: %w: %v", codec.ErrInvalidValue, ErrDuplicateExtension, t)}
}

// checkDuplicates returns a typed error when two entries share a type.
// O(len(l)).
func (l Extensions) checkDuplicates() error {
	if i := firstDuplicate(len(l), func(i int) uint16 { return uint16(l[i].Type) }); i >= 0 {
		return duplicateExtension(l[i].Type)
	}
	return nil
}

// Validate reports an error if the list would be rejected by a decoder
// (duplicate types, RFC 9420, Section 13.4).
func (l Extensions) Validate() error { return l.checkDuplicates() }

// Find returns the extension of type t.
func (l Extensions) Find(t ExtensionType) (Extension, bool) {
	for _, e := range l {
		if e.Type == t {
			return e, true
		}
	}
	return Extension{}, false
}

// Has reports whether the list holds an extension of type t.
func (l Extensions) Has(t ExtensionType) bool {
	_, ok := l.Find(t)
	return ok
}

// Marshal returns the encoding of the list (Extension extensions<V>).
func (l Extensions) Marshal() ([]byte, error) { return codec.Encode(l.marshal) }

// Unmarshal decodes an encoded extension list, rejecting trailing bytes and
// duplicate types.
func (l *Extensions) Unmarshal(data []byte) error { return codec.Decode(data, l.unmarshal) }
