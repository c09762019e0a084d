package codec

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

var sentinels = []error{ErrTruncated, ErrNonMinimalVarint, ErrInvalidVarint, ErrTrailingData, ErrInvalidValue, ErrTooLarge}

// checkErr reports why err is not a *Error matching exactly the sentinel
// want (and no other sentinel), or "" if it is.
func checkErr(err, want error) string {
	if err == nil {
		return fmt.Sprintf("got nil error, want %v", want)
	}
	var ce *Error
	if !errors.As(err, &ce) {
		return fmt.Sprintf("error %v (%T) is not a *codec.Error", err, err)
	}
	for _, s := range sentinels {
		if errors.Is(err, s) != (s == want) {
			return fmt.Sprintf("error %q: errors.Is(err, %q) = %v", err, s, errors.Is(err, s))
		}
	}
	return ""
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if msg := checkErr(err, want); msg != "" {
		t.Error(msg)
	}
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func encVarint(v uint64) ([]byte, error) {
	return Encode(func(b *cryptobyte.Builder) { AddVarint(b, v) })
}

// TestReadVarint is the table test of RFC 9420, Section 2.1.2: its three
// examples, the boundaries of Table 1, and the rows that MUST be rejected.
func TestReadVarint(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want uint32
		rest int   // bytes left after the varint on success
		err  error // sentinel on failure
	}{
		// RFC 9420, Section 2.1.2 examples.
		{name: "rfc/4-byte", in: "9d7f3e7d", want: 494878333},
		{name: "rfc/2-byte", in: "7bbd", want: 15293},
		{name: "rfc/1-byte", in: "25", want: 37},
		// Table 1 boundaries.
		{name: "1-byte/min", in: "00", want: 0},
		{name: "1-byte/max", in: "3f", want: 63},
		{name: "2-byte/min", in: "4040", want: 64},
		{name: "2-byte/max", in: "7fff", want: 16383},
		{name: "4-byte/min", in: "80004000", want: 16384},
		{name: "4-byte/max", in: "bfffffff", want: 1<<30 - 1},
		// Only the varint is consumed.
		{name: "rest/1-byte", in: "25 ff", want: 37, rest: 1},
		{name: "rest/2-byte", in: "7bbd 0000", want: 15293, rest: 2},
		{name: "rest/4-byte", in: "9d7f3e7d 25", want: 494878333, rest: 1},

		// Prefix 0b11 is invalid.
		{name: "0b11/c0", in: "c0", err: ErrInvalidVarint},
		{name: "0b11/ff", in: "ff", err: ErrInvalidVarint},
		{name: "0b11/8-byte-quic", in: "c2197c5eff14e88c", err: ErrInvalidVarint},
		{name: "0b11/4-byte", in: "c0000025", err: ErrInvalidVarint},
		// Non-minimal 2-byte encodings (value < 64).
		{name: "nonminimal/2-byte/0", in: "4000", err: ErrNonMinimalVarint},
		{name: "nonminimal/2-byte/37", in: "4025", err: ErrNonMinimalVarint},
		{name: "nonminimal/2-byte/63", in: "403f", err: ErrNonMinimalVarint},
		{name: "nonminimal/2-byte/rest", in: "4025 00", err: ErrNonMinimalVarint},
		// Non-minimal 4-byte encodings (value < 2^14).
		{name: "nonminimal/4-byte/0", in: "80000000", err: ErrNonMinimalVarint},
		{name: "nonminimal/4-byte/37", in: "80000025", err: ErrNonMinimalVarint},
		{name: "nonminimal/4-byte/15293", in: "80003bbd", err: ErrNonMinimalVarint},
		{name: "nonminimal/4-byte/16383", in: "80003fff", err: ErrNonMinimalVarint},
		// Truncation.
		{name: "truncated/empty", in: "", err: ErrTruncated},
		{name: "truncated/2-byte", in: "7b", err: ErrTruncated},
		{name: "truncated/4-byte/1", in: "9d", err: ErrTruncated},
		{name: "truncated/4-byte/2", in: "9d7f", err: ErrTruncated},
		{name: "truncated/4-byte/3", in: "9d7f3e", err: ErrTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := unhex(t, tc.in)
			s := cryptobyte.String(in)
			got, err := ReadVarint(&s)
			if tc.err != nil {
				wantErr(t, err, tc.err)
				return
			}
			if err != nil {
				t.Fatalf("ReadVarint(%s) error: %v", tc.in, err)
			}
			if got != tc.want || len(s) != tc.rest {
				t.Fatalf("ReadVarint(%s) = %d with %d bytes left; want %d with %d", tc.in, got, len(s), tc.want, tc.rest)
			}
			// Minimal encodings re-encode to the same bytes.
			enc, err := encVarint(uint64(got))
			if err != nil || !bytes.Equal(enc, in[:len(in)-tc.rest]) {
				t.Fatalf("AddVarint(%d) = %x, %v; want %x", got, enc, err, in[:len(in)-tc.rest])
			}
		})
	}
}

// refReadVarint is the ReadVarint pseudocode of RFC 9420, Section 2.1.2,
// transcribed literally, as an independent reference.
func refReadVarint(data []byte) (v uint64, n int, err error) {
	if len(data) == 0 {
		return 0, 0, ErrTruncated
	}
	v = uint64(data[0])
	prefix := v >> 6
	if prefix == 3 {
		return 0, 0, ErrInvalidVarint
	}
	length := 1 << prefix
	if len(data) < length {
		return 0, 0, ErrTruncated
	}
	v &= 0x3f
	for i := 1; i < length; i++ {
		v = v<<8 + uint64(data[i])
	}
	if prefix >= 1 && v < 1<<(8*(length/2)-2) {
		return 0, 0, ErrNonMinimalVarint
	}
	return v, length, nil
}

func compareWithRef(t *testing.T, in []byte) {
	t.Helper()
	s := cryptobyte.String(in)
	got, err := ReadVarint(&s)
	want, n, wantE := refReadVarint(in)
	if wantE != nil {
		if msg := checkErr(err, wantE); msg != "" {
			t.Fatalf("ReadVarint(%x): %s", in, msg)
		}
		return
	}
	if err != nil || uint64(got) != want || len(in)-len(s) != n {
		t.Fatalf("ReadVarint(%x) = %d, %v, consumed %d; want %d, consumed %d", in, got, err, len(in)-len(s), want, n)
	}
}

// TestReadVarintExhaustive compares ReadVarint with the RFC pseudocode on
// every input of up to 2 bytes and on random and boundary 4-byte inputs.
func TestReadVarintExhaustive(t *testing.T) {
	compareWithRef(t, nil)
	for i := range 1 << 8 {
		compareWithRef(t, []byte{byte(i)})
	}
	for i := range 1 << 16 {
		compareWithRef(t, []byte{byte(i >> 8), byte(i)})
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range 1 << 16 {
		v := rng.Uint32()
		if i < 1<<10 { // densely around the 4-byte minimum 0x80004000
			v = 0x80004000 - 1<<9 + uint32(i)
		}
		compareWithRef(t, []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
}

func TestAddVarint(t *testing.T) {
	for _, tc := range []struct {
		v    uint64
		want string
	}{
		{0, "00"}, {37, "25"}, {63, "3f"}, {64, "4040"}, {15293, "7bbd"}, {16383, "7fff"},
		{16384, "80004000"}, {494878333, "9d7f3e7d"}, {MaxVarint, "bfffffff"},
	} {
		got, err := encVarint(tc.v)
		if err != nil || hex.EncodeToString(got) != tc.want {
			t.Errorf("AddVarint(%d) = %x, %v; want %s", tc.v, got, err, tc.want)
		}
	}
	for _, v := range []uint64{MaxVarint + 1, 1 << 32, 1<<64 - 1} {
		got, err := encVarint(v)
		if got != nil {
			t.Errorf("AddVarint(%d) produced %x", v, got)
		}
		wantErr(t, err, ErrTooLarge)
	}
	defer func() {
		if recover() == nil {
			t.Error("MustEncode did not panic on a too-large varint")
		}
	}()
	MustEncode(func(b *cryptobyte.Builder) { AddVarint(b, MaxVarint+1) })
}

func TestVarintRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	values := []uint64{0, 1, 62, 63, 64, 65, 16382, 16383, 16384, 16385, MaxVarint - 1, MaxVarint}
	for range 10000 {
		values = append(values, rng.Uint64N(MaxVarint+1), rng.Uint64N(1<<14))
	}
	for _, v := range values {
		enc, err := encVarint(v)
		if err != nil {
			t.Fatalf("AddVarint(%d): %v", v, err)
		}
		wantLen := 4
		if v < 1<<6 {
			wantLen = 1
		} else if v < 1<<14 {
			wantLen = 2
		}
		if len(enc) != wantLen {
			t.Fatalf("AddVarint(%d) = %x, want %d bytes", v, enc, wantLen)
		}
		var got uint32
		err = Decode(enc, func(s *cryptobyte.String) (err error) { got, err = ReadVarint(s); return })
		if err != nil || uint64(got) != v {
			t.Fatalf("ReadVarint(%x) = %d, %v; want %d", enc, got, err, v)
		}
		for i := range len(enc) {
			s := cryptobyte.String(enc[:i])
			_, err := ReadVarint(&s)
			wantErr(t, err, ErrTruncated)
		}
	}
}

func TestOpaque(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{0, 1, 37, 63, 64, 255, 16383, 16384, 100000} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		enc := MustEncode(func(b *cryptobyte.Builder) { AddOpaque(b, data) })
		hdr, _ := encVarint(uint64(n))
		if !bytes.Equal(enc, append(hdr, data...)) {
			t.Fatalf("n=%d: AddOpaque is not varint(len) || data", n)
		}
		// Same bytes through AddVector.
		if enc2 := MustEncode(func(b *cryptobyte.Builder) {
			AddVector(b, func(b *cryptobyte.Builder) { b.AddBytes(data) })
		}); !bytes.Equal(enc2, enc) {
			t.Fatalf("n=%d: AddVector and AddOpaque differ", n)
		}

		in := bytes.Clone(enc)
		var got []byte
		if err := Decode(in, func(s *cryptobyte.String) (err error) { got, err = ReadOpaque(s); return }); err != nil {
			t.Fatalf("n=%d: ReadOpaque: %v", n, err)
		}
		if got == nil || !bytes.Equal(got, data) {
			t.Fatalf("n=%d: ReadOpaque = %x (nil=%v)", n, got, got == nil)
		}
		// ReadOpaque copies: clobbering the input leaves the result intact.
		for i := range in {
			in[i] ^= 0xff
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("n=%d: ReadOpaque result aliases its input", n)
		}

		var body cryptobyte.String
		if err := Decode(enc, func(s *cryptobyte.String) (err error) { body, err = ReadVector(s); return }); err != nil || !bytes.Equal(body, data) {
			t.Fatalf("n=%d: ReadVector = %x, %v", n, body, err)
		}

		// Every strict prefix is truncated (checked for short values
		// exhaustively, for long ones around the header).
		for i := range len(enc) {
			if n > 300 && i > 8 && i < len(enc)-8 {
				continue
			}
			s := cryptobyte.String(enc[:i])
			_, err := ReadOpaque(&s)
			wantErr(t, err, ErrTruncated)
			s = cryptobyte.String(enc[:i])
			_, err = ReadVector(&s)
			wantErr(t, err, ErrTruncated)
		}
	}
	// A header whose length runs past the input, and an invalid header.
	for _, tc := range []struct {
		in  string
		err error
	}{
		{"05 01020304", ErrTruncated},
		{"bfffffff 00", ErrTruncated},
		{"4003 010203", ErrNonMinimalVarint},
		{"c0", ErrInvalidVarint},
	} {
		s := cryptobyte.String(unhex(t, tc.in))
		_, err := ReadOpaque(&s)
		wantErr(t, err, tc.err)
	}
}

func TestReadList(t *testing.T) {
	elems := [][]byte{{}, {1}, bytes.Repeat([]byte{2}, 70), {3, 4, 5}}
	enc := MustEncode(func(b *cryptobyte.Builder) {
		AddVector(b, func(b *cryptobyte.Builder) {
			for _, e := range elems {
				AddOpaque(b, e)
			}
		})
	})
	readAll := func(in []byte) ([][]byte, error) {
		var out [][]byte
		err := Decode(in, func(s *cryptobyte.String) error {
			return ReadList(s, func(s *cryptobyte.String) error {
				e, err := ReadOpaque(s)
				out = append(out, e)
				return err
			})
		})
		return out, err
	}
	got, err := readAll(enc)
	if err != nil || len(got) != len(elems) {
		t.Fatalf("ReadList = %x, %v", got, err)
	}
	for i := range elems {
		if !bytes.Equal(got[i], elems[i]) {
			t.Fatalf("element %d = %x, want %x", i, got[i], elems[i])
		}
	}
	for i := range len(enc) {
		_, err := readAll(enc[:i])
		wantErr(t, err, ErrTruncated)
	}
	// An element running past the end of the list body is truncated even
	// though more input follows the list.
	_, err = readAll(unhex(t, "02 0301 02"))
	wantErr(t, err, ErrTruncated)

	// Empty list.
	if got, err := readAll([]byte{0}); err != nil || got != nil {
		t.Fatalf("empty list = %x, %v", got, err)
	}
	// An element decoder that consumes nothing is rejected, not looped on.
	err = Decode([]byte{1, 0}, func(s *cryptobyte.String) error {
		return ReadList(s, func(*cryptobyte.String) error { return nil })
	})
	wantErr(t, err, ErrInvalidValue)
	// Element errors propagate unchanged.
	err = Decode([]byte{1, 0}, func(s *cryptobyte.String) error {
		return ReadList(s, func(*cryptobyte.String) error { return Invalid("elem", "nope") })
	})
	wantErr(t, err, ErrInvalidValue)
}

func TestOptional(t *testing.T) {
	for _, present := range []bool{false, true} {
		enc := MustEncode(func(b *cryptobyte.Builder) {
			AddOptional(b, present, func(b *cryptobyte.Builder) { b.AddUint16(0xbeef) })
		})
		want := "00"
		if present {
			want = "01beef"
		}
		if hex.EncodeToString(enc) != want {
			t.Fatalf("AddOptional(%v) = %x, want %s", present, enc, want)
		}
		var gotP bool
		var v uint16
		err := Decode(enc, func(s *cryptobyte.String) error {
			var err error
			if gotP, err = ReadOptional(s); err != nil || !gotP {
				return err
			}
			v, err = ReadUint16(s)
			return err
		})
		if err != nil || gotP != present || (present && v != 0xbeef) {
			t.Fatalf("ReadOptional(%x) = %v, %x, %v", enc, gotP, v, err)
		}
	}
	for _, b := range []byte{2, 0x80, 0xff} {
		s := cryptobyte.String{b}
		_, err := ReadOptional(&s)
		wantErr(t, err, ErrInvalidValue)
	}
	var s cryptobyte.String
	_, err := ReadOptional(&s)
	wantErr(t, err, ErrTruncated)
}

func TestReadUint(t *testing.T) {
	in := unhex(t, "01 0203 04050607 08090a0b0c0d0e0f")
	err := Decode(in, func(s *cryptobyte.String) error {
		a, err := ReadUint8(s)
		if err != nil || a != 0x01 {
			return fmt.Errorf("uint8 %x %v", a, err)
		}
		b, err := ReadUint16(s)
		if err != nil || b != 0x0203 {
			return fmt.Errorf("uint16 %x %v", b, err)
		}
		c, err := ReadUint32(s)
		if err != nil || c != 0x04050607 {
			return fmt.Errorf("uint32 %x %v", c, err)
		}
		d, err := ReadUint64(s)
		if err != nil || d != 0x08090a0b0c0d0e0f {
			return fmt.Errorf("uint64 %x %v", d, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		size int
		read func(*cryptobyte.String) error
	}{
		{1, func(s *cryptobyte.String) error { _, err := ReadUint8(s); return err }},
		{2, func(s *cryptobyte.String) error { _, err := ReadUint16(s); return err }},
		{4, func(s *cryptobyte.String) error { _, err := ReadUint32(s); return err }},
		{8, func(s *cryptobyte.String) error { _, err := ReadUint64(s); return err }},
	} {
		for i := range tc.size {
			s := cryptobyte.String(in[:i])
			wantErr(t, tc.read(&s), ErrTruncated)
		}
	}
}

func TestDecode(t *testing.T) {
	readV := func(s *cryptobyte.String) error { _, err := ReadVarint(s); return err }
	if err := Decode(unhex(t, "7bbd"), readV); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	for _, in := range []string{"7bbd00", "25 25", "9d7f3e7d ffffffff"} {
		wantErr(t, Decode(unhex(t, in), readV), ErrTrailingData)
	}
	// The decoder's own error wins over trailing data.
	wantErr(t, Decode(unhex(t, "4025 00"), readV), ErrNonMinimalVarint)
	// Nothing to read.
	wantErr(t, Decode(nil, readV), ErrTruncated)
	if err := Decode(nil, func(*cryptobyte.String) error { return nil }); err != nil {
		t.Fatalf("Decode(empty, no-op) = %v", err)
	}
}

func TestErrors(t *testing.T) {
	base := Truncated("LeafNode.signature")
	wantErr(t, base, ErrTruncated)
	if got := base.Error(); got != "codec: LeafNode.signature: truncated input" {
		t.Errorf("Error() = %q", got)
	}
	if got := (&Error{Err: ErrTrailingData}).Error(); got != "codec: trailing bytes after structure" {
		t.Errorf("Error() = %q", got)
	}

	// Errorf nests field paths and keeps the code.
	err := Errorf("KeyPackage", Errorf("leaf_node", base))
	wantErr(t, err, ErrTruncated)
	var ce *Error
	if !errors.As(err, &ce) || ce.Field != "KeyPackage.leaf_node.LeafNode.signature" {
		t.Errorf("nested field = %q", ce.Field)
	}
	// A field-less codec error takes the field.
	s := cryptobyte.String(nil)
	_, rerr := ReadVarint(&s)
	err = Errorf("Commit.proposals", rerr)
	if !errors.As(err, &ce) || ce.Field != "Commit.proposals" {
		t.Errorf("field = %q", ce.Field)
	}
	wantErr(t, err, ErrTruncated)
	// A foreign error is wrapped.
	foreign := errors.New("boom")
	err = Errorf("X", foreign)
	if !errors.Is(err, foreign) || !errors.As(err, &ce) || ce.Field != "X" {
		t.Errorf("Errorf(foreign) = %v", err)
	}
	// nil stays nil.
	if err := Errorf("X", nil); err != nil {
		t.Errorf("Errorf(nil) = %v", err)
	}

	err = Invalid("Sender.sender_type", "unknown value 9")
	wantErr(t, err, ErrInvalidValue)
	if !strings.Contains(err.Error(), "Sender.sender_type") || !strings.Contains(err.Error(), "unknown value 9") {
		t.Errorf("Invalid().Error() = %q", err)
	}
}

// composite exercises every building block in one structure, for the
// round-trip, prefix and fuzz tests of Decode.
type composite struct {
	U8   uint8
	U16  uint16
	U32  uint32
	U64  uint64
	V    uint32   // a bare varint
	Data []byte   // opaque<V>
	List [][]byte // opaque list<V>
	Opt  []byte   // optional<opaque<V>>, nil = absent
	Pair []pair   // pair list<V>: nested vectors and optionals
}

type pair struct {
	Key []byte // opaque<V>
	Val *uint8 // optional<uint8>
}

func (c *composite) marshal(b *cryptobyte.Builder) {
	b.AddUint8(c.U8)
	b.AddUint16(c.U16)
	b.AddUint32(c.U32)
	b.AddUint64(c.U64)
	AddVarint(b, uint64(c.V))
	AddOpaque(b, c.Data)
	AddVector(b, func(b *cryptobyte.Builder) {
		for _, e := range c.List {
			AddOpaque(b, e)
		}
	})
	AddOptional(b, c.Opt != nil, func(b *cryptobyte.Builder) { AddOpaque(b, c.Opt) })
	AddVector(b, func(b *cryptobyte.Builder) {
		for _, p := range c.Pair {
			AddOpaque(b, p.Key)
			AddOptional(b, p.Val != nil, func(b *cryptobyte.Builder) { b.AddUint8(*p.Val) })
		}
	})
}

func (c *composite) unmarshal(s *cryptobyte.String) error {
	var err error
	if c.U8, err = ReadUint8(s); err != nil {
		return Errorf("composite.u8", err)
	}
	if c.U16, err = ReadUint16(s); err != nil {
		return Errorf("composite.u16", err)
	}
	if c.U32, err = ReadUint32(s); err != nil {
		return Errorf("composite.u32", err)
	}
	if c.U64, err = ReadUint64(s); err != nil {
		return Errorf("composite.u64", err)
	}
	if c.V, err = ReadVarint(s); err != nil {
		return Errorf("composite.v", err)
	}
	if c.Data, err = ReadOpaque(s); err != nil {
		return Errorf("composite.data", err)
	}
	err = ReadList(s, func(s *cryptobyte.String) error {
		e, err := ReadOpaque(s)
		c.List = append(c.List, e)
		return err
	})
	if err != nil {
		return Errorf("composite.list", err)
	}
	present, err := ReadOptional(s)
	if err != nil {
		return Errorf("composite.opt", err)
	}
	if present {
		if c.Opt, err = ReadOpaque(s); err != nil {
			return Errorf("composite.opt", err)
		}
	}
	err = ReadList(s, func(s *cryptobyte.String) error {
		var p pair
		var err error
		if p.Key, err = ReadOpaque(s); err != nil {
			return Errorf("pair.key", err)
		}
		present, err := ReadOptional(s)
		if err != nil {
			return Errorf("pair.val", err)
		}
		if present {
			v, err := ReadUint8(s)
			if err != nil {
				return Errorf("pair.val", err)
			}
			p.Val = &v
		}
		c.Pair = append(c.Pair, p)
		return nil
	})
	return Errorf("composite.pair", err)
}

func decodeComposite(data []byte) (*composite, error) {
	c := new(composite)
	if err := Decode(data, c.unmarshal); err != nil {
		return nil, err
	}
	return c, nil
}

func sampleComposites() []*composite {
	seven := uint8(7)
	zero := uint8(0)
	return []*composite{
		{},
		{U8: 1, U16: 0x0203, U32: 0x04050607, U64: 0x08090a0b0c0d0e0f, V: 15293, Data: []byte("abc"),
			List: [][]byte{{}, []byte("x"), bytes.Repeat([]byte{9}, 64)}, Opt: []byte{},
			Pair: []pair{{Key: []byte("k"), Val: &seven}, {Key: []byte{}}, {Key: []byte("z"), Val: &zero}}},
		{V: 494878333, Opt: []byte("present"), Pair: []pair{{Key: bytes.Repeat([]byte{1}, 64), Val: &seven}}},
		{V: 63, Data: bytes.Repeat([]byte{0xaa}, 16384), List: [][]byte{bytes.Repeat([]byte{0xbb}, 16384)}},
	}
}

func TestCompositeRoundTrip(t *testing.T) {
	for i, c := range sampleComposites() {
		enc, err := Encode(c.marshal)
		if err != nil {
			t.Fatalf("#%d: Encode: %v", i, err)
		}
		got, err := decodeComposite(enc)
		if err != nil {
			t.Fatalf("#%d: decode: %v", i, err)
		}
		if (got.Opt != nil) != (c.Opt != nil) {
			t.Fatalf("#%d: optional presence lost", i)
		}
		re, err := Encode(got.marshal)
		if err != nil || !bytes.Equal(re, enc) {
			t.Fatalf("#%d: re-encoding differs: %v", i, err)
		}
		if fmt.Sprint(got.U8, got.U16, got.U32, got.U64, got.V) != fmt.Sprint(c.U8, c.U16, c.U32, c.U64, c.V) ||
			!bytes.Equal(got.Data, c.Data) || len(got.List) != len(c.List) || len(got.Pair) != len(c.Pair) {
			t.Fatalf("#%d: decoded %+v, want %+v", i, got, c)
		}

		// Every strict prefix fails with ErrTruncated, with the field path.
		for n := range len(enc) {
			_, err := decodeComposite(enc[:n])
			if msg := checkErr(err, ErrTruncated); msg != "" {
				t.Fatalf("#%d: prefix of %d/%d bytes: %s", i, n, len(enc), msg)
			}
			var ce *Error
			if errors.As(err, &ce); !strings.HasPrefix(ce.Field, "composite.") {
				t.Fatalf("#%d: prefix %d: field %q", i, n, ce.Field)
			}
		}
		// Trailing bytes are rejected.
		_, err = decodeComposite(append(bytes.Clone(enc), 0))
		wantErr(t, err, ErrTrailingData)
	}
}
