package core

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/codec"
	"github.com/mlslab/mlslab/mls/internal/vectors"
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

func seedMessages(f *testing.F, pick func(tv *vectors.Messages) [][]byte) {
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
	seedMessages(f, func(tv *vectors.Messages) [][]byte {
		return [][]byte{tv.MLSWelcome, tv.MLSGroupInfo, tv.MLSKeyPackage, tv.PublicMessageApplication,
			tv.PublicMessageProposal, tv.PublicMessageCommit, tv.PrivateMessage}
	})
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecoder(t, data, new(MLSMessage)) })
}

func FuzzWelcome(f *testing.F) {
	seedMessages(f, func(tv *vectors.Messages) [][]byte { return [][]byte{tv.MLSWelcome[4:]} })
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecoder(t, data, new(Welcome)) })
}

func FuzzGroupInfo(f *testing.F) {
	seedMessages(f, func(tv *vectors.Messages) [][]byte { return [][]byte{tv.MLSGroupInfo[4:]} })
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecoder(t, data, new(GroupInfo)) })
}

func FuzzKeyPackage(f *testing.F) {
	seedMessages(f, func(tv *vectors.Messages) [][]byte { return [][]byte{tv.MLSKeyPackage[4:]} })
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecoder(t, data, new(KeyPackage)) })
}

// FuzzProposalCommit covers Proposal (every type), Commit and GroupSecrets:
// the first byte selects the decoder.
func FuzzProposalCommit(f *testing.F) {
	seedMessages(f, func(tv *vectors.Messages) [][]byte {
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
		fuzzDecoder(t, data[1:], &privateMessageContent{ContentType: ContentType(data[0])})
	})
}

// FuzzUnprotect feeds arbitrary MLSMessages to the protection layer of a
// fixed epoch: it must never panic, every error must be typed (a
// *ProtocolError or one of the wrong-group/epoch/unknown-sender sentinels),
// and a failed PrivateMessage must leave the secret tree unchanged.
func FuzzUnprotect(f *testing.F) {
	fx := newProtectFixture(f)
	for _, ct := range []ContentType{ContentTypeApplication, ContentTypeProposal, ContentTypeCommit} {
		ac := fx.content(f, WireFormatPrivateMessage, ct)
		pm, err := protectPrivate(fx.cs, ac, fx.tree(f), fx.senderData, PrivateOptions{Padding: PadToMultiple(16)})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(codec.MustEncode((&MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatPrivateMessage, PrivateMessage: pm}).marshal))
		if ct != ContentTypeApplication {
			ac := fx.content(f, WireFormatPublicMessage, ct)
			pub, err := protectPublic(fx.cs, ac, fx.ctx, fx.membership)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(codec.MustEncode((&MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatPublicMessage, PublicMessage: pub}).marshal))
		}
	}
	typed := func(t *testing.T, err error) {
		var pe *ProtocolError
		if !errors.As(err, &pe) && !errors.Is(err, ErrWrongEpoch) && !errors.Is(err, ErrWrongGroup) && !errors.Is(err, ErrUnknownSender) {
			t.Fatalf("untyped error %T: %v", err, err)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := UnmarshalMLSMessage(data)
		if err != nil {
			return
		}
		switch m.WireFormat {
		case WireFormatPublicMessage:
			if _, err := unprotectPublic(fx.cs, m.PublicMessage, fx.ctx, &fx.membership, fx.pub); err != nil {
				typed(t, err)
			}
		case WireFormatPrivateMessage:
			tree := fx.tree(t)
			before := tree.Clone()
			_, err := unprotectPrivate(fx.cs, m.PrivateMessage, fx.ctx, tree, fx.senderData, fx.sigKey)
			if err != nil {
				typed(t, err)
				// Unchanged: the generation the message claims is still available.
				for leaf := LeafIndex(0); leaf < 4; leaf++ {
					a, errA := tree.Key(leaf, HandshakeRatchet, 0)
					b, errB := before.Key(leaf, HandshakeRatchet, 0)
					if (errA == nil) != (errB == nil) || (errA == nil && !bytes.Equal(a.Key, b.Key)) {
						t.Fatalf("failed unprotect changed the secret tree (leaf %d)", leaf)
					}
				}
			}
		}
	})
}
