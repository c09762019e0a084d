package core

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/codec"
	"github.com/mlslab/mlslab/mls/internal/suite"
)

func TestGroupContextEncoding(t *testing.T) {
	gc := GroupContext{
		CipherSuite:             CipherSuite(suite.MLS_128_DHKEMP256_AES128GCM_SHA256_P256),
		GroupID:                 []byte{0xaa},
		Epoch:                   0x0102,
		TreeHash:                []byte{0xbb, 0xcc},
		ConfirmedTranscriptHash: []byte{},
		Extensions:              Extensions{{Type: ExtensionApplicationID, Data: []byte{0xdd}}},
	}
	enc, err := gc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// version 0 encodes as mls10.
	want := "0001" + "0002" + "01aa" + "0000000000000102" + "02bbcc" + "00" + "04" + "0001" + "01dd"
	if hex.EncodeToString(enc) != want {
		t.Fatalf("encoding %x, want %s", enc, want)
	}
	var back GroupContext
	if err := back.Unmarshal(enc); err != nil {
		t.Fatal(err)
	}
	if back.Version != ProtocolVersionMLS10 || back.CipherSuite != gc.CipherSuite || back.Epoch != gc.Epoch ||
		!bytes.Equal(back.GroupID, gc.GroupID) || !bytes.Equal(back.TreeHash, gc.TreeHash) ||
		len(back.ConfirmedTranscriptHash) != 0 || len(back.Extensions) != 1 || back.Extensions[0].Type != ExtensionApplicationID {
		t.Fatalf("round trip: %+v", back)
	}
	re, _ := back.Marshal()
	if !bytes.Equal(re, enc) {
		t.Fatalf("re-encoding %x, want %x", re, enc)
	}
	// Copy on ingest.
	enc2 := bytes.Clone(enc)
	var alias GroupContext
	if err := alias.Unmarshal(enc2); err != nil {
		t.Fatal(err)
	}
	for i := range enc2 {
		enc2[i] = 0
	}
	if alias.GroupID[0] != 0xaa || alias.TreeHash[0] != 0xbb || alias.Extensions[0].Data[0] != 0xdd {
		t.Fatal("decoded GroupContext aliases its input")
	}
	for n := 0; n < len(enc); n++ {
		if err := new(GroupContext).Unmarshal(enc[:n]); !errors.Is(err, codec.ErrTruncated) {
			t.Fatalf("prefix of %d bytes: got %v, want ErrTruncated", n, err)
		}
	}
	if err := new(GroupContext).Unmarshal(append(bytes.Clone(enc), 0)); !errors.Is(err, codec.ErrTrailingData) {
		t.Fatalf("trailing byte: got %v, want ErrTrailingData", err)
	}
	bad := bytes.Clone(enc)
	bad[1] = 2 // version 2
	if err := new(GroupContext).Unmarshal(bad); !errors.Is(err, codec.ErrInvalidValue) {
		t.Fatalf("version 2: got %v, want ErrInvalidValue", err)
	}
	dup := gc
	dup.Extensions = Extensions{{Type: 7}, {Type: 7}}
	dupEnc, _ := dup.Marshal()
	if err := new(GroupContext).Unmarshal(dupEnc); !errors.Is(err, ErrDuplicateExtension) {
		t.Fatalf("duplicate extensions: got %v, want ErrDuplicateExtension", err)
	}
	// Clone is deep.
	c := gc.Clone()
	c.GroupID[0], c.Extensions[0].Data[0] = 0, 0
	if gc.GroupID[0] != 0xaa || gc.Extensions[0].Data[0] != 0xdd {
		t.Fatal("Clone shares memory")
	}
}

func FuzzGroupContext(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 1, 0xaa, 0, 0, 0, 0, 0, 0, 1, 2, 2, 0xbb, 0xcc, 0, 4, 0, 1, 1, 0xdd})
	f.Add([]byte{0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var v GroupContext
		if err := v.Unmarshal(data); err != nil {
			return
		}
		enc, err := v.Marshal()
		if err != nil {
			t.Fatalf("decoded value does not encode: %v", err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("re-encoding %x differs from input %x", enc, data)
		}
	})
}
