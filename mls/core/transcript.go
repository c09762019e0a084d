package core

import (
	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/codec"
	"github.com/mlslab/mlslab/mls/internal/suite"
)

// Transcript hashes (RFC 9420, Section 8.2). These functions work on encoded
// inputs so they do not depend on the framing types: the framing code
// encodes the Commit's AuthenticatedContent pieces and calls them.
//
//	struct {
//	    WireFormat wire_format;
//	    FramedContent content; /* with content_type == commit */
//	    opaque signature<V>;
//	} ConfirmedTranscriptHashInput;
//
//	struct {
//	    MAC confirmation_tag;   /* opaque MAC<V> */
//	} InterimTranscriptHashInput;
//
//	confirmed_transcript_hash_[0] = ""
//	interim_transcript_hash_[0]   = ""
//	confirmed_transcript_hash_[epoch] = Hash(interim_transcript_hash_[epoch-1] || ConfirmedTranscriptHashInput_[epoch])
//	interim_transcript_hash_[epoch]   = Hash(confirmed_transcript_hash_[epoch] || InterimTranscriptHashInput_[epoch])
//
// Note that the encoding of a commit's AuthenticatedContent is exactly
// ConfirmedTranscriptHashInput || InterimTranscriptHashInput; framing.go's
// (*AuthenticatedContent).ConfirmedTranscriptHashInput and ConfirmationTag
// provide the two inputs.

// confirmedTranscriptHash returns confirmed_transcript_hash_[epoch] =
// Hash(interim_transcript_hash_[epoch-1] || ConfirmedTranscriptHashInput)
// over the encoded input (RFC 9420, Section 8.2).
func confirmedTranscriptHash(cs *suite.Suite, interimBefore, confirmedInput []byte) []byte {
	h := cs.NewHash()
	h.Write(interimBefore)
	h.Write(confirmedInput)
	return h.Sum(nil)
}

// interimTranscriptHash returns interim_transcript_hash_[epoch] =
// Hash(confirmed_transcript_hash_[epoch] || InterimTranscriptHashInput) where
// InterimTranscriptHashInput is the confirmation_tag encoded as MAC (opaque
// MAC<V>) (RFC 9420, Section 8.2). New members use the GroupInfo's
// confirmation_tag; a group creator the tag over the empty confirmed
// transcript hash (Section 11).
func interimTranscriptHash(cs *suite.Suite, confirmed, confirmationTag []byte) []byte {
	h := cs.NewHash()
	h.Write(confirmed)
	h.Write(codec.MustEncode(func(b *cryptobyte.Builder) { codec.AddOpaque(b, confirmationTag) }))
	return h.Sum(nil)
}

// nextTranscriptHashes advances both transcript hashes over one Commit:
// it returns the new confirmed and interim transcript hashes (RFC 9420,
// Section 8.2).
func nextTranscriptHashes(cs *suite.Suite, interimBefore, confirmedInput, confirmationTag []byte) (confirmed, interim []byte) {
	confirmed = confirmedTranscriptHash(cs, interimBefore, confirmedInput)
	return confirmed, interimTranscriptHash(cs, confirmed, confirmationTag)
}
