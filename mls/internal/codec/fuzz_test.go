package codec

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/vectors"
)

// Native fuzz targets (CONVENTIONS.md item 9): decoding never panics, every
// error is a *Error with exactly one sentinel code, and whatever decodes
// re-encodes to exactly the bytes it was decoded from.

// seedVarints adds the RFC 9420, Section 2.1.2 examples and failure rows and
// the headers of deserialization.json (when the vectors are available).
func seedVarints(f *testing.F, suffix []byte) {
	for _, h := range []string{
		"9d7f3e7d", "7bbd", "25", "00", "3f", "4040", "7fff", "80004000", "bfffffff",
		"c0", "ff", "4025", "80000025", "80003fff", "7b", "9d7f3e", "",
	} {
		b, _ := decodeHex(h)
		f.Add(append(b, suffix...))
	}
	if dir, err := vectors.Dir(); err == nil {
		if data, err := os.ReadFile(filepath.Join(dir, "deserialization.json")); err == nil {
			var tvs []vectors.Deserialization
			if json.Unmarshal(data, &tvs) == nil {
				for _, tv := range tvs {
					f.Add(append(bytes.Clone(tv.Header), suffix...))
				}
			}
		}
	}
}

func decodeHex(s string) ([]byte, error) {
	var h vectors.Hex
	err := h.UnmarshalJSON([]byte(`"` + s + `"`))
	return h, err
}

func fuzzCheckErr(t *testing.T, err error) {
	t.Helper()
	for _, s := range sentinels {
		if checkErr(err, s) == "" {
			return
		}
	}
	t.Fatalf("error %v is not a *codec.Error with exactly one sentinel", err)
}

func FuzzReadVarint(f *testing.F) {
	seedVarints(f, nil)
	seedVarints(f, []byte{0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		s := cryptobyte.String(data)
		v, err := ReadVarint(&s)
		want, n, wantE := refReadVarint(data)
		if err != nil {
			fuzzCheckErr(t, err)
			if msg := checkErr(err, wantE); wantE == nil || msg != "" {
				t.Fatalf("ReadVarint(%x) = %v; RFC pseudocode: %v", data, err, wantE)
			}
			return
		}
		if wantE != nil || uint64(v) != want {
			t.Fatalf("ReadVarint(%x) = %d; RFC pseudocode: %d, %v", data, v, want, wantE)
		}
		consumed := data[:len(data)-len(s)]
		if len(consumed) != n {
			t.Fatalf("ReadVarint(%x) consumed %d bytes, want %d", data, len(consumed), n)
		}
		enc, err := Encode(func(b *cryptobyte.Builder) { AddVarint(b, uint64(v)) })
		if err != nil || !bytes.Equal(enc, consumed) {
			t.Fatalf("ReadVarint(%x) = %d re-encodes to %x, %v", data, v, enc, err)
		}
	})
}

func FuzzReadOpaque(f *testing.F) {
	seedVarints(f, []byte("abc"))
	f.Add([]byte{3, 'a', 'b', 'c'})
	f.Add([]byte{0x40, 0x40})
	f.Fuzz(func(t *testing.T, data []byte) {
		s := cryptobyte.String(data)
		v, err := ReadOpaque(&s)
		s2 := cryptobyte.String(data)
		body, err2 := ReadVector(&s2)
		if (err == nil) != (err2 == nil) || len(s) != len(s2) {
			t.Fatalf("ReadOpaque and ReadVector disagree on %x: %v, %v", data, err, err2)
		}
		if err != nil {
			fuzzCheckErr(t, err)
			return
		}
		if v == nil || !bytes.Equal(v, body) {
			t.Fatalf("ReadOpaque = %x, ReadVector = %x", v, body)
		}
		if len(v) > 0 && &v[0] == &data[len(data)-len(s)-len(v)] {
			t.Fatal("ReadOpaque aliases its input")
		}
		consumed := data[:len(data)-len(s)]
		enc, err := Encode(func(b *cryptobyte.Builder) { AddOpaque(b, v) })
		if err != nil || !bytes.Equal(enc, consumed) {
			t.Fatalf("opaque %x re-encodes to %x, %v; want %x", v, enc, err, consumed)
		}
	})
}

// FuzzReadList decodes a whole input as opaque list<V> (a vector of vectors)
// with Decode, so trailing bytes are rejected too.
func FuzzReadList(f *testing.F) {
	seedVarints(f, nil)
	f.Add([]byte{0})
	f.Add([]byte{5, 0, 1, 'a', 1, 'b'})
	f.Add([]byte{2, 3, 1, 2})
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var elems [][]byte
		err := Decode(data, func(s *cryptobyte.String) error {
			return ReadList(s, func(s *cryptobyte.String) error {
				e, err := ReadOpaque(s)
				elems = append(elems, e)
				return err
			})
		})
		if err != nil {
			fuzzCheckErr(t, err)
			return
		}
		enc, err := Encode(func(b *cryptobyte.Builder) {
			AddVector(b, func(b *cryptobyte.Builder) {
				for _, e := range elems {
					AddOpaque(b, e)
				}
			})
		})
		if err != nil || !bytes.Equal(enc, data) {
			t.Fatalf("list %x re-encodes to %x, %v", data, enc, err)
		}
	})
}

// FuzzComposite decodes the composite test structure (fixed-width integers,
// varint, opaque, lists, optionals, nested) and checks the round trip.
func FuzzComposite(f *testing.F) {
	for _, c := range sampleComposites() {
		// Large seeds (4-byte vector headers need >= 16 KiB) stall the
		// fuzzer while it minimizes inputs derived from them; the 4-byte
		// varint is covered by the field V instead.
		if enc := MustEncode(c.marshal); len(enc) <= 1024 {
			f.Add(enc)
		}
	}
	f.Add(make([]byte, 19))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decodeComposite(data)
		if err != nil {
			fuzzCheckErr(t, err)
			return
		}
		enc, err := Encode(c.marshal)
		if err != nil || !bytes.Equal(enc, data) {
			t.Fatalf("composite %x re-encodes to %x, %v", data, enc, err)
		}
	})
}
