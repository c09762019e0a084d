package ed25519batch

import (
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"filippo.io/edwards25519"
)

// testRand is a seeded stream for test inputs (keys, nonces, messages);
// the batch's own randomness stays crypto/rand.
func testRand(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return rand.NewChaCha8(s)
}

// randScalar returns a uniform scalar from r.
func randScalar(r *rand.ChaCha8) *edwards25519.Scalar {
	var b [64]byte
	r.Read(b[:])
	s, err := edwards25519.NewScalar().SetUniformBytes(b[:])
	if err != nil {
		panic(err)
	}
	return s
}

// torsionPoints returns the 8 points of the torsion subgroup, [i]T8 for
// a generator T8, found as [L]P for decodable P until one has order 8.
func torsionPoints(t testing.TB) [8]*edwards25519.Point {
	t.Helper()
	id := edwards25519.NewIdentityPoint()
	var enc [32]byte
	for y := 2; y < 1000; y++ {
		binary.LittleEndian.PutUint16(enc[:], uint16(y))
		p, err := new(edwards25519.Point).SetBytes(enc[:])
		if err != nil {
			continue
		}
		var one edwards25519.Scalar
		one.SetCanonicalBytes([]byte{1, 31: 0}) //nolint:errcheck
		lm1 := new(edwards25519.Scalar).Negate(&one)
		q := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(lm1, p, edwards25519.NewScalar())
		q.Add(q, p) // [L]P: the torsion part of P times L
		q4 := new(edwards25519.Point).Double(q)
		q4.Double(q4)
		if q4.Equal(id) == 1 {
			continue
		}
		var ts [8]*edwards25519.Point
		ts[0] = edwards25519.NewIdentityPoint()
		for i := 1; i < 8; i++ {
			ts[i] = new(edwards25519.Point).Add(ts[i-1], q)
		}
		if ts[7].Add(ts[7], q).Equal(id) != 1 { // [8]q
			t.Fatal("torsion generator does not have order 8")
		}
		ts[7].Subtract(ts[7], q)
		return ts
	}
	t.Fatal("no order-8 point found")
	return [8]*edwards25519.Point{}
}

// sigSpec describes a signature built from known discrete logs:
// A = [a]B + tA (encoded as aBytes if set), R = [r]B + tR (encoded as
// rBytes if set), S = r + k*a mod L (+ addS as raw 256-bit addition if set).
type sigSpec struct {
	a, r           *edwards25519.Scalar
	tA, tR         *edwards25519.Point
	aBytes, rBytes []byte
	msg            []byte
}

// build returns the entry and k mod 8.
func (s sigSpec) build() (Entry, byte) {
	A := new(edwards25519.Point).ScalarBaseMult(s.a)
	A.Add(A, s.tA)
	R := new(edwards25519.Point).ScalarBaseMult(s.r)
	R.Add(R, s.tR)
	ab, rb := A.Bytes(), R.Bytes()
	if s.aBytes != nil {
		ab = s.aBytes
	}
	if s.rBytes != nil {
		rb = s.rBytes
	}
	h := sha512.New()
	h.Write(rb)
	h.Write(ab)
	h.Write(s.msg)
	k, _ := edwards25519.NewScalar().SetUniformBytes(h.Sum(nil))
	S := new(edwards25519.Scalar).MultiplyAdd(k, s.a, s.r)
	sig := append(append([]byte(nil), rb...), S.Bytes()...)
	return Entry{PublicKey: ab, Message: s.msg, Signature: sig}, k.Bytes()[0] & 7
}

// validEntries returns n valid signatures of distinct keys and messages.
func validEntries(seed uint64, n int) []Entry {
	r := testRand(seed)
	es := make([]Entry, n)
	for i := range es {
		var s [32]byte
		r.Read(s[:])
		priv := ed25519.NewKeyFromSeed(s[:])
		msg := make([]byte, 1+r.Uint64()%200)
		r.Read(msg)
		es[i] = Entry{PublicKey: priv.Public().(ed25519.PublicKey), Message: msg, Signature: ed25519.Sign(priv, msg)}
	}
	return es
}

// addLE returns the 32-byte little-endian sum x + y (mod 2^256).
func addLE(x, y []byte) []byte {
	out := make([]byte, 32)
	var carry uint16
	for i := range out {
		v := uint16(x[i]) + uint16(y[i]) + carry
		out[i], carry = byte(v), v>>8
	}
	return out
}

// orderL is the group order L, little-endian.
var orderL = []byte{
	0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
}

// fieldP is p = 2^255 - 19, little-endian.
var fieldP = []byte{
	0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
}
