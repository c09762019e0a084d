package mls

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/codec"
)

// Native fuzz targets for the message decoders (CONVENTIONS.md item 9):
// decoding must never panic, failures must be *codec.Error values, and
// whatever decodes must re-encode byte-identically. Seeds are the
// messages.json vectors. Run e.g.
//
//	go test ./mls/ -run '^$' -fuzz '^FuzzMLSMessage$' -fuzztime 60s

// fuzzDecoder checks the decoder contract for one input.
func fuzzDecoder(t *testing.T, data []byte, v wireStruct) {
	err := codec.Decode(data, v.unmarshal)
	if err != nil {
		var ce *codec.Error
		if !errors.As(err, &ce) {
			t.Fatalf("decode error %T is not a *codec.Error: %v", err, err)
		}
		return
	}
	out, err := codec.Encode(v.marshal)
	if err != nil {
		t.Fatalf("decoded value does not re-encode: %v", err)
	}
	if !bytes.Equal(out, data) {
		t.Fatalf("re-encoding differs:\n got %x\nwant %x", out, data)
	}
}

func seedMessages(f *testing.F, pick func(tv *messagesVector) [][]byte) {
	tvs := loadMessagesVectors(f)
	for i := range tvs {
		if i >= 20 {
			break
		}
		for _, d := range pick(&tvs[i]) {
			f.Add([]byte(d))
		}
	}
}

func FuzzMLSMessage(f *testing.F) {
	seedMessages(f, func(tv *messagesVector) [][]byte {
		return [][]byte{tv.MLSWelcome, tv.MLSGroupInfo, tv.MLSKeyPackage, tv.PublicMessageApplication,
			tv.PublicMessageProposal, tv.PublicMessageCommit, tv.PrivateMessage}
	})
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecoder(t, data, new(MLSMessage)) })
}

func FuzzWelcome(f *testing.F) {
	seedMessages(f, func(tv *messagesVector) [][]byte { return [][]byte{tv.MLSWelcome[4:]} })
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecoder(t, data, new(Welcome)) })
}

func FuzzGroupInfo(f *testing.F) {
	seedMessages(f, func(tv *messagesVector) [][]byte { return [][]byte{tv.MLSGroupInfo[4:]} })
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecoder(t, data, new(GroupInfo)) })
}

func FuzzKeyPackage(f *testing.F) {
	seedMessages(f, func(tv *messagesVector) [][]byte { return [][]byte{tv.MLSKeyPackage[4:]} })
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecoder(t, data, new(KeyPackage)) })
}

// FuzzProposalCommit covers Proposal (every type), Commit and GroupSecrets:
// the first byte selects the decoder.
func FuzzProposalCommit(f *testing.F) {
	seedMessages(f, func(tv *messagesVector) [][]byte {
		var out [][]byte
		for i, body := range [][]byte{tv.AddProposal, tv.UpdateProposal, tv.RemoveProposal, tv.PreSharedKeyProposal,
			tv.ReInitProposal, tv.ExternalInitProposal, tv.GroupContextExtensionsProposal} {
			out = append(out, append([]byte{0, 0, byte(i + 1)}, body...))
		}
		out = append(out, append([]byte{1}, tv.Commit...), append([]byte{2}, tv.GroupSecrets...))
		return out
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		switch data[0] % 3 {
		case 0:
			fuzzDecoder(t, data[1:], new(Proposal))
		case 1:
			fuzzDecoder(t, data[1:], new(Commit))
		case 2:
			fuzzDecoder(t, data[1:], new(GroupSecrets))
		}
	})
}

// FuzzPrivateMessageContent: the first byte is the content type.
func FuzzPrivateMessageContent(f *testing.F) {
	f.Add([]byte{1, 2, 'h', 'i', 1, 0xaa, 0, 0, 0})
	f.Add([]byte{3, 0, 0, 1, 0xaa, 1, 0xbb})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		fuzzDecoder(t, data[1:], &PrivateMessageContent{ContentType: ContentType(data[0])})
	})
}
