package core

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/codec"
	"github.com/mlslab/mlslab/mls/internal/suite"
)

func testPSKIDs(cs *suite.Suite, n int) ([]PreSharedKeyID, [][]byte) {
	ids := make([]PreSharedKeyID, n)
	psks := make([][]byte, n)
	for i := range ids {
		nonce := bytes.Repeat([]byte{byte(0x80 + i)}, cs.Nh())
		if i%2 == 0 {
			ids[i] = PreSharedKeyID{PSKType: PSKTypeExternal, PSKID: []byte(fmt.Sprintf("psk-%d", i)), PSKNonce: nonce}
		} else {
			ids[i] = PreSharedKeyID{PSKType: PSKTypeResumption, Usage: ResumptionPSKUsageApplication,
				PSKGroupID: []byte("group"), PSKEpoch: uint64(i), PSKNonce: nonce}
		}
		psks[i] = bytes.Repeat([]byte{byte(i + 1)}, 17+i)
	}
	return ids, psks
}

// manualPSKSecret spells out RFC 9420, Section 8.4 step by step, with the
// PSKLabel bytes built by hand.
func manualPSKSecret(cs *suite.Suite, ids []PreSharedKeyID, psks [][]byte) []byte {
	zero := make([]byte, cs.Nh())
	secret := zero
	for i := range ids {
		enc, err := ids[i].Marshal()
		if err != nil {
			panic(err)
		}
		label := append(enc, byte(i>>8), byte(i), byte(len(ids)>>8), byte(len(ids)))
		input := cs.ExpandWithLabel(cs.Extract(zero, psks[i]), "derived psk", label, cs.Nh())
		secret = cs.Extract(input, secret)
	}
	return secret
}

func TestPSKSecretZeroOneMany(t *testing.T) {
	for _, id := range suite.All {
		cs := suite.MustGet(id)
		t.Run(fmt.Sprintf("cs=0x%04x", uint16(id)), func(t *testing.T) {
			zero, err := derivePSKSecret(cs, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(zero, make([]byte, cs.Nh())) {
				t.Fatalf("zero PSKs: %x, want %d zero bytes", zero, cs.Nh())
			}
			for _, n := range []int{1, 2, 7} {
				ids, psks := testPSKIDs(cs, n)
				got, err := derivePSKSecret(cs, ids, psks)
				if err != nil {
					t.Fatal(err)
				}
				if want := manualPSKSecret(cs, ids, psks); !bytes.Equal(got, want) {
					t.Fatalf("%d PSKs: %x, want %x", n, got, want)
				}
				if bytes.Equal(got, zero) {
					t.Fatalf("%d PSKs gave the zero secret", n)
				}
				if n > 1 {
					// Order matters (index is in PSKLabel and the chain).
					ids[0], ids[1] = ids[1], ids[0]
					psks[0], psks[1] = psks[1], psks[0]
					swapped, _ := derivePSKSecret(cs, ids, psks)
					if bytes.Equal(swapped, got) {
						t.Fatalf("%d PSKs: reordering did not change psk_secret", n)
					}
				}
			}
		})
	}
}

func TestPSKSecretErrors(t *testing.T) {
	cs := suite.MustGet(1)
	ids, psks := testPSKIDs(cs, 2)
	if _, err := derivePSKSecret(cs, ids, psks[:1]); !errors.Is(err, ErrInvalidPSK) {
		t.Fatalf("mismatched lengths: got %v, want ErrInvalidPSK", err)
	}
	bad := []PreSharedKeyID{{PSKType: 9, PSKNonce: make([]byte, 32)}}
	if _, err := derivePSKSecret(cs, bad, [][]byte{{1}}); !errors.Is(err, ErrInvalidPSK) {
		t.Fatalf("invalid psktype: got %v, want ErrInvalidPSK", err)
	}
	if err := ids[0].checkNonce(cs); err != nil {
		t.Fatal(err)
	}
	short := PreSharedKeyID{PSKType: PSKTypeExternal, PSKID: []byte{1}, PSKNonce: make([]byte, 16)}
	if err := short.checkNonce(cs); !errors.Is(err, ErrInvalidPSK) {
		t.Fatalf("short nonce: got %v, want ErrInvalidPSK", err)
	}
}

func TestPreSharedKeyIDEncoding(t *testing.T) {
	// A psk_nonce is KDF.Nh octets (RFC 9420, Section 8.4): the decoder
	// rejects anything shorter than 32.
	n1, n2 := bytes.Repeat([]byte{0x01}, 32), bytes.Repeat([]byte{0x02}, 48)
	ext := PreSharedKeyID{PSKType: PSKTypeExternal, PSKID: []byte{0xaa, 0xbb}, PSKNonce: n1}
	res := PreSharedKeyID{PSKType: PSKTypeResumption, Usage: ResumptionPSKUsageBranch,
		PSKGroupID: []byte{0xcc}, PSKEpoch: 0x0102030405060708, PSKNonce: n2}
	for _, tc := range []struct {
		id   PreSharedKeyID
		want string
	}{
		{ext, "01" + "02aabb" + "20" + strings.Repeat("01", 32)},
		{res, "02" + "03" + "01cc" + "0102030405060708" + "30" + strings.Repeat("02", 48)},
	} {
		enc, err := tc.id.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(enc) != tc.want {
			t.Fatalf("%v: encoding %x, want %s", tc.id.PSKType, enc, tc.want)
		}
		var back PreSharedKeyID
		if err := back.Unmarshal(enc); err != nil {
			t.Fatal(err)
		}
		if !back.Equal(&tc.id) {
			t.Fatalf("round trip: %+v, want %+v", back, tc.id)
		}
		// Decoded bytes never alias the input.
		for i := range enc {
			enc[i] ^= 0xff
		}
		if !back.Equal(&tc.id) {
			t.Fatal("decoded PreSharedKeyID aliases its input")
		}
		for i := range enc {
			enc[i] ^= 0xff
		}
		for n := 0; n < len(enc); n++ {
			if err := new(PreSharedKeyID).Unmarshal(enc[:n]); !errors.Is(err, codec.ErrTruncated) {
				t.Fatalf("prefix of %d bytes: got %v, want ErrTruncated", n, err)
			}
		}
		if err := new(PreSharedKeyID).Unmarshal(append(enc, 0)); !errors.Is(err, codec.ErrTrailingData) {
			t.Fatalf("trailing byte: got %v, want ErrTrailingData", err)
		}
	}
	for _, bad := range []string{"00" + "0101" + "00", "03" + "00", "02" + "00" + "00" + "0000000000000000" + "00", "02" + "04" + "00" + "0000000000000000" + "00"} {
		b, _ := hex.DecodeString(bad)
		if err := new(PreSharedKeyID).Unmarshal(b); !errors.Is(err, codec.ErrInvalidValue) {
			t.Fatalf("%s: got %v, want ErrInvalidValue", bad, err)
		}
	}
	if PSKTypeExternal.String() != "external" || PSKTypeResumption.String() != "resumption" || PSKType(0).IsValid() {
		t.Fatal("PSKType names")
	}
	if ResumptionPSKUsageReinit.String() != "reinit" || ResumptionPSKUsage(4).IsValid() || !ResumptionPSKUsageBranch.IsValid() {
		t.Fatal("ResumptionPSKUsage names")
	}
}

func FuzzPreSharedKeyID(f *testing.F) {
	for _, s := range []string{"0102aabb0101", "020301cc0102030405060708020203", "01000100"} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v PreSharedKeyID
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
