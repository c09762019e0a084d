package conformance

import (
	"encoding/json"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/codec"
	"github.com/mlslab/mlslab/mls/internal/vectors"
)

// runDeserializationVectors decodes each vlbytes_header as an MLS varint
// (RFC 9420, Section 2.1.2), requiring it to be exactly the header, checks
// the decoded length, and checks that encoding the length gives back the
// header bytes (minimal encoding).
func runDeserializationVectors(data []byte) ([]vectors.Case, error) {
	var tvs []vectors.Deserialization
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

func checkDeserializationVector(tv vectors.Deserialization) error {
	var c vectors.Check
	var got uint32
	err := codec.Decode(tv.Header, func(s *cryptobyte.String) error {
		var err error
		got, err = codec.ReadVarint(s)
		return err
	})
	c.Err("vlbytes_header", err)
	if err == nil {
		c.Equal("length", uint64(got), tv.Length)
	}
	enc, err := codec.Encode(func(b *cryptobyte.Builder) { codec.AddVarint(b, tv.Length) })
	c.Err("encode(length)", err)
	if err == nil {
		c.Bytes("encode(length)", enc, tv.Header)
	}
	return c.Result()
}
