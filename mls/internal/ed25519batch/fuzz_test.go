package ed25519batch

import (
	"crypto/rand"
	"slices"
	"testing"

	"filippo.io/edwards25519"
)

// FuzzBatchMatchesIndividual mutates a batch of valid signatures (bytes
// of signatures, keys and messages; torsion points added to A or R;
// special encodings: the torsion points, non-canonical identity and
// order-4 encodings, an undecodable string; S + L; re-signing with a
// mixed-order key whose torsion R cancels, which crypto/ed25519 accepts)
// and asserts that the batch's verdict equals crypto/ed25519.Verify's for
// every entry. Each 4-byte record of ops is (entry, kind, position, value).
func FuzzBatchMatchesIndividual(f *testing.F) {
	T := torsionPoints(f)
	special := [][]byte{
		addLE([]byte{1, 31: 0}, fieldP), // identity as y = p+1
		{1, 31: 0x80},                   // identity with the sign bit
		slices.Clone(fieldP),            // y = p: an order-4 point
		append(slices.Clone(fieldP[:31]), 0xff),
		undecodableFor(f),
	}
	for _, p := range T {
		special = append(special, p.Bytes())
	}
	base := validEntries(21, 8)
	r := testRand(22)
	a, rr := randScalar(r), randScalar(r)
	f.Add([]byte{})
	f.Add([]byte{0, 0, 5, 1})
	f.Add([]byte{1, 3, 0, 4, 2, 4, 0, 2})
	f.Add([]byte{3, 6, 0, 3, 4, 6, 1, 1})
	f.Add([]byte{5, 5, 0, 0, 6, 7, 2, 0, 7, 8, 1, 9})
	f.Fuzz(func(t *testing.T, ops []byte) {
		es := make([]Entry, len(base))
		for i, e := range base {
			es[i] = Entry{slices.Clone(e.PublicKey), slices.Clone(e.Message), slices.Clone(e.Signature)}
		}
		for ; len(ops) >= 4; ops = ops[4:] {
			e := &es[int(ops[0])%len(es)]
			pos, val := int(ops[2]), ops[3]
			switch ops[1] % 9 {
			case 0:
				if len(e.Signature) > 0 {
					e.Signature[pos%len(e.Signature)] ^= val
				}
			case 1:
				if len(e.PublicKey) > 0 {
					e.PublicKey[pos%len(e.PublicKey)] ^= val
				}
			case 2:
				if len(e.Message) > 0 {
					e.Message[pos%len(e.Message)] ^= val
				} else {
					e.Message = append(e.Message, val)
				}
			case 3: // add a torsion point to R
				addTorsion(e.Signature, T[val%8])
			case 4: // add a torsion point to A
				addTorsion(e.PublicKey, T[val%8])
			case 5: // special encoding as R or A
				if len(e.Signature) >= 32 && pos%2 == 0 {
					copy(e.Signature, special[int(val)%len(special)])
				} else if len(e.PublicKey) == 32 {
					copy(e.PublicKey, special[int(val)%len(special)])
				}
			case 6: // S + L
				if len(e.Signature) == 64 {
					copy(e.Signature[32:], addLE(e.Signature[32:], orderL))
				}
			case 7: // truncate or extend
				if pos%2 == 0 && len(e.Signature) > 0 {
					e.Signature = e.Signature[:len(e.Signature)-1]
				} else {
					e.PublicKey = append(e.PublicKey, val)
				}
			case 8: // re-sign with A = [a]B + T[val], R's torsion chosen to cancel
				for c := range 8 {
					s := sigSpec{a: a, r: rr, tA: T[val%8], tR: T[c], msg: e.Message}
					ne, k := s.build()
					if (int(k)*int(val%8)+c)%8 == 0 {
						*e = ne
						break
					}
				}
			}
		}
		ok := make([]bool, len(es))
		verifyBatch(es, ok, rand.Reader)
		for i, e := range es {
			if want := individual(e); ok[i] != want {
				t.Errorf("entry %d: batch %v, crypto/ed25519.Verify %v", i, ok[i], want)
			}
		}
	})
}

// addTorsion replaces the point encoded in b[:32], if it decodes, by its
// sum with q.
func addTorsion(b []byte, q *edwards25519.Point) {
	if len(b) < 32 {
		return
	}
	p, err := new(edwards25519.Point).SetBytes(b[:32])
	if err != nil {
		return
	}
	copy(b, p.Add(p, q).Bytes())
}

// undecodableFor returns a 32-byte string that is not a point encoding.
func undecodableFor(tb testing.TB) []byte {
	for y := 2; y < 1000; y++ {
		b := []byte{byte(y), byte(y >> 8), 31: 0}
		if _, err := new(edwards25519.Point).SetBytes(b); err != nil {
			return b
		}
	}
	tb.Fatal("every small y decodes")
	return nil
}
