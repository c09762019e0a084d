package core

import (
	"bytes"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

func TestTranscriptHashesByHand(t *testing.T) {
	cs := suite.MustGet(1)
	interim0 := []byte{} // interim_transcript_hash_[0] = ""
	framed := []byte("framed content bytes")
	sig := bytes.Repeat([]byte{0x51}, 64)
	tag := bytes.Repeat([]byte{0x7a}, 32)
	// wire_format || FramedContent || signature<V>
	input := append(append([]byte{0x00, 0x01}, framed...), append([]byte{0x40, 0x40}, sig...)...)
	confirmed, interim := nextTranscriptHashes(cs, interim0, input, tag)
	if want := cs.Hash(interim0, input); !bytes.Equal(confirmed, want) {
		t.Fatalf("confirmed %x, want %x", confirmed, want)
	}
	if want := cs.Hash(confirmed, []byte{32}, tag); !bytes.Equal(interim, want) {
		t.Fatalf("interim %x, want %x", interim, want)
	}
	// The next epoch chains from the interim hash.
	c2, _ := nextTranscriptHashes(cs, interim, input, tag)
	if bytes.Equal(c2, confirmed) {
		t.Fatal("confirmed transcript hash does not chain")
	}
	// Group creation (RFC 9420, Section 11): interim from the empty confirmed hash.
	if got, want := interimTranscriptHash(cs, nil, tag), cs.Hash([]byte{32}, tag); !bytes.Equal(got, want) {
		t.Fatalf("creation interim %x, want %x", got, want)
	}
}
