package codec

import (
	"encoding/json"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/vectors"
)

func init() { vectors.Register("deserialization", runDeserializationVectors) }

// deserializationVector is one case of deserialization.json
// (test-vectors.md, "Vector Deserialization"): a variable-length vector
// header and the length it encodes.
type deserializationVector struct {
	Header vectors.Hex `json:"vlbytes_header"`
	Length uint64      `json:"length"`
}

// runDeserializationVectors decodes each vlbytes_header as an MLS varint
// (RFC 9420, Section 2.1.2), requiring it to be exactly the header, checks
// the decoded length, and checks that encoding the length gives back the
// header bytes (minimal encoding).
func runDeserializationVectors(data []byte) ([]vectors.Case, error) {
	var tvs []deserializationVector
	if err := json.Unmarshal(data, &tvs); err != nil {
		return nil, err
	}
	cases := make([]vectors.Case, 0, len(tvs))
	for i, tv := range tvs {
		cases = append(cases, vectors.Case{
			Name: fmt.Sprintf("#%d/length=%d", i, tv.Length),
			Err:  checkDeserializationVector(tv),
		})
	}
	return cases, nil
}

func checkDeserializationVector(tv deserializationVector) error {
	var c vectors.Check
	var got uint32
	err := Decode(tv.Header, func(s *cryptobyte.String) error {
		var err error
		got, err = ReadVarint(s)
		return err
	})
	c.Err("vlbytes_header", err)
	if err == nil {
		c.Equal("length", uint64(got), tv.Length)
	}
	enc, err := Encode(func(b *cryptobyte.Builder) { AddVarint(b, tv.Length) })
	c.Err("encode(length)", err)
	if err == nil {
		c.Bytes("encode(length)", enc, tv.Header)
	}
	return c.Result()
}
