// Package codec implements the parts of the TLS presentation language that
// RFC 9420 uses, on top of golang.org/x/crypto/cryptobyte: the MLS
// variable-length integer (RFC 9420, Section 2.1.2), variable-length vectors
// (opaque<V>, T<V>) and optional<T>.
//
// Decoding is strict: non-minimal varints, the reserved 0b11 prefix, lengths
// beyond the 30-bit maximum, truncated input and trailing bytes are rejected
// with a *Error carrying one of the Err* sentinel codes.
//
// Copy on ingest: cryptobyte reads return subslices of the input buffer.
// ReadOpaque copies, so every []byte a decoder stores is owned by the decoded
// value and never aliases the caller's buffer. ReadVector returns a
// sub-String that aliases the input; callers decode it further and must only
// keep bytes obtained through ReadOpaque (or copy themselves).
package codec

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// MaxVarint is the largest value the MLS varint can carry (30 bits).
const MaxVarint = 1<<30 - 1

// Sentinel error codes. A decoding error matches exactly one of them with
// errors.Is.
var (
	ErrTruncated        = errors.New("truncated input")
	ErrNonMinimalVarint = errors.New("non-minimal variable-length integer (RFC 9420, Section 2.1.2)")
	ErrInvalidVarint    = errors.New("variable-length integer with reserved 0b11 prefix (RFC 9420, Section 2.1.2)")
	ErrTrailingData     = errors.New("trailing bytes after structure")
	ErrInvalidValue     = errors.New("invalid value")
	ErrTooLarge         = errors.New("value exceeds limit")
)

// Error is a decoding error: which structure/field failed and why.
type Error struct {
	Field string // what was being decoded, e.g. "LeafNode.signature"
	Err   error  // one of the Err* sentinels, possibly wrapped
}

func (e *Error) Error() string {
	if e.Field == "" {
		return "codec: " + e.Err.Error()
	}
	return fmt.Sprintf("codec: %s: %v", e.Field, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns a *Error for field wrapping err, or nil if err is nil (so
// `return codec.Errorf("T.f", err)` is safe on the success path too).
func Errorf(field string, err error) error {
	if err == nil {
		return nil
	}
	var ce *Error
	if errors.As(err, &ce) {
		if ce.Field == "" {
			return &Error{Field: field, Err: ce.Err}
		}
		return &Error{Field: field + "." + ce.Field, Err: ce.Err}
	}
	return &Error{Field: field, Err: err}
}

// Truncated is the error for a field that ran out of input.
func Truncated(field string) error { return &Error{Field: field, Err: ErrTruncated} }

// Invalid is the error for a field that decoded but holds a value the RFC
// forbids.
func Invalid(field, why string) error {
	return &Error{Field: field, Err: fmt.Errorf("%w: %s", ErrInvalidValue, why)}
}

// AddVarint appends v as an MLS variable-length integer, always in its
// minimal encoding. If v > MaxVarint (e.g. an opaque<V> of 2^30 bytes or
// more, which the caller may well supply) it sets a *Error matching
// ErrTooLarge on b, which Encode returns (and MustEncode panics on).
func AddVarint(b *cryptobyte.Builder, v uint64) {
	switch {
	case v < 1<<6:
		b.AddUint8(uint8(v))
	case v < 1<<14:
		b.AddUint16(uint16(v) | 0x4000)
	case v < 1<<30:
		b.AddUint32(uint32(v) | 0x80000000)
	default:
		b.SetError(&Error{Err: fmt.Errorf("%w: varint %d exceeds 30 bits (RFC 9420, Section 2.1.2)", ErrTooLarge, v)})
	}
}

// ReadVarint reads an MLS variable-length integer, rejecting the reserved
// 0b11 prefix and non-minimal encodings (RFC 9420, Section 2.1.2).
func ReadVarint(s *cryptobyte.String) (uint32, error) {
	if len(*s) == 0 {
		return 0, &Error{Err: ErrTruncated}
	}
	prefix := (*s)[0] >> 6
	if prefix == 3 {
		return 0, &Error{Err: ErrInvalidVarint}
	}
	n := 1 << prefix
	if len(*s) < n {
		return 0, &Error{Err: ErrTruncated}
	}
	v := uint32((*s)[0] & 0x3f)
	for i := 1; i < n; i++ {
		v = v<<8 | uint32((*s)[i])
	}
	// Minimal: a 2-byte encoding must carry >= 64, a 4-byte one >= 2^14.
	if (n == 2 && v < 1<<6) || (n == 4 && v < 1<<14) {
		return 0, &Error{Err: ErrNonMinimalVarint}
	}
	*s = (*s)[n:]
	return v, nil
}

// AddVector appends a variable-length vector whose content f writes.
// The varint length prefix is computed from the content.
func AddVector(b *cryptobyte.Builder, f cryptobyte.BuilderContinuation) {
	var child cryptobyte.Builder
	f(&child)
	body, err := child.Bytes()
	if err != nil {
		b.SetError(err)
		return
	}
	AddVarint(b, uint64(len(body)))
	b.AddBytes(body)
}

// AddOpaque appends opaque<V>.
func AddOpaque(b *cryptobyte.Builder, data []byte) {
	AddVarint(b, uint64(len(data)))
	b.AddBytes(data)
}

// ReadVector reads a variable-length vector header and returns its body,
// which aliases s.
func ReadVector(s *cryptobyte.String) (cryptobyte.String, error) {
	n, err := ReadVarint(s)
	if err != nil {
		return nil, err
	}
	if uint64(len(*s)) < uint64(n) {
		return nil, &Error{Err: ErrTruncated}
	}
	body := (*s)[:n]
	*s = (*s)[n:]
	return body, nil
}

// ReadOpaque reads opaque<V> and returns a copy of its bytes (never nil on
// success, so an empty value and an absent one stay distinguishable by the
// caller's own optional handling).
func ReadOpaque(s *cryptobyte.String) ([]byte, error) {
	body, err := ReadVector(s)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(body))
	copy(out, body)
	return out, nil
}

// ReadList reads a vector T<V> and calls f on its body until it is empty.
// f must consume at least one byte per call.
func ReadList(s *cryptobyte.String, f func(*cryptobyte.String) error) error {
	body, err := ReadVector(s)
	if err != nil {
		return err
	}
	for !body.Empty() {
		before := len(body)
		if err := f(&body); err != nil {
			return err
		}
		if len(body) == before {
			return &Error{Err: fmt.Errorf("%w: list element consumed no input", ErrInvalidValue)}
		}
	}
	return nil
}

// AddOptional appends optional<T>: a presence octet and, if present, the value.
func AddOptional(b *cryptobyte.Builder, present bool, f cryptobyte.BuilderContinuation) {
	if !present {
		b.AddUint8(0)
		return
	}
	b.AddUint8(1)
	f(b)
}

// ReadOptional reads the presence octet of optional<T>. It rejects values
// other than 0 and 1.
func ReadOptional(s *cryptobyte.String) (bool, error) {
	var p uint8
	if !s.ReadUint8(&p) {
		return false, &Error{Err: ErrTruncated}
	}
	switch p {
	case 0:
		return false, nil
	case 1:
		return true, nil
	}
	return false, &Error{Err: fmt.Errorf("%w: optional presence octet %d", ErrInvalidValue, p)}
}

// ReadUint8, ReadUint16, ReadUint32 and ReadUint64 read fixed-width integers
// with a typed error on truncation.
func ReadUint8(s *cryptobyte.String) (uint8, error) {
	var v uint8
	if !s.ReadUint8(&v) {
		return 0, &Error{Err: ErrTruncated}
	}
	return v, nil
}

func ReadUint16(s *cryptobyte.String) (uint16, error) {
	var v uint16
	if !s.ReadUint16(&v) {
		return 0, &Error{Err: ErrTruncated}
	}
	return v, nil
}

func ReadUint32(s *cryptobyte.String) (uint32, error) {
	var v uint32
	if !s.ReadUint32(&v) {
		return 0, &Error{Err: ErrTruncated}
	}
	return v, nil
}

func ReadUint64(s *cryptobyte.String) (uint64, error) {
	var v uint64
	if !s.ReadUint64(&v) {
		return 0, &Error{Err: ErrTruncated}
	}
	return v, nil
}

// Encode runs f on a fresh builder and returns the bytes.
func Encode(f cryptobyte.BuilderContinuation) ([]byte, error) {
	var b cryptobyte.Builder
	f(&b)
	return b.Bytes()
}

// MustEncode is Encode for values this package built itself; an error there
// is a programming bug.
func MustEncode(f cryptobyte.BuilderContinuation) []byte {
	out, err := Encode(f)
	if err != nil {
		panic("codec: encoding failed: " + err.Error())
	}
	return out
}

// Decode runs f over data and rejects trailing bytes.
func Decode(data []byte, f func(*cryptobyte.String) error) error {
	s := cryptobyte.String(data)
	if err := f(&s); err != nil {
		return err
	}
	if !s.Empty() {
		return &Error{Err: ErrTrailingData}
	}
	return nil
}
