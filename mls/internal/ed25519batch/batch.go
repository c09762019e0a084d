package ed25519batch

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"io"
	"sync"

	"filippo.io/edwards25519"
)

// MinBatch is the smallest number of entries Verify checks with the batch
// equation; smaller inputs are verified one by one, which is cheaper than
// the batch's fixed cost (128 multiplications by L, see the package doc).
const MinBatch = 256

// Entry is one signature to verify: crypto/ed25519.Verify(PublicKey,
// Message, Signature). The slices are only read.
type Entry struct {
	PublicKey []byte
	Message   []byte
	Signature []byte
}

// Verify reports, for each entry, whether crypto/ed25519.Verify accepts
// it (a public key of the wrong length is reported invalid rather than
// panicking). See the package doc for the equivalence argument and its
// 2^-127 bound.
func Verify(entries []Entry) []bool {
	ok := make([]bool, len(entries))
	if len(entries) < MinBatch {
		for i, e := range entries {
			ok[i] = individual(e)
		}
		return ok
	}
	verifyBatch(entries, ok, rand.Reader)
	return ok
}

// VerifyConcurrent is Verify with the entries split into up to workers
// contiguous parts verified concurrently, each as its own batch (so each
// pays the fixed cost; parts never go below MinBatch entries unless there
// is only one). workers < 1 means 1.
func VerifyConcurrent(entries []Entry, workers int) []bool {
	parts := max(1, min(workers, len(entries)/MinBatch))
	if parts == 1 {
		return Verify(entries)
	}
	ok := make([]bool, len(entries))
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*len(entries)/parts, (p+1)*len(entries)/parts
		wg.Go(func() { verifyBatch(entries[lo:hi], ok[lo:hi], rand.Reader) })
	}
	wg.Wait()
	return ok
}

// individual is crypto/ed25519.Verify without its panic on a public key
// of the wrong length.
func individual(e Entry) bool {
	if len(e.PublicKey) != ed25519.PublicKeySize {
		return false
	}
	return ed25519.Verify(e.PublicKey, e.Message, e.Signature)
}

// prepared is an entry accepted into the batch: its decoded points and
// scalars, and C = [k mod 8]A + R (see the package doc).
type prepared struct {
	a, r, c edwards25519.Point
	k, s    edwards25519.Scalar
}

// prepare decodes e into p and reports whether e can enter the batch:
// lengths right, S canonical (S < L), A decodes (non-canonical encodings
// included, as crypto/ed25519 accepts them), R decodes and re-encodes to
// the same bytes.
func prepare(e Entry, p *prepared) bool {
	if len(e.PublicKey) != ed25519.PublicKeySize || len(e.Signature) != ed25519.SignatureSize {
		return false
	}
	rb, sb := e.Signature[:32], e.Signature[32:]
	if _, err := p.s.SetCanonicalBytes(sb); err != nil {
		return false
	}
	if _, err := p.a.SetBytes(e.PublicKey); err != nil {
		return false
	}
	if _, err := p.r.SetBytes(rb); err != nil {
		return false
	}
	if !canonical(rb) {
		return false
	}
	// k = SHA-512(R || A || M) mod L (RFC 8032, Section 5.1.7), over the
	// raw bytes of A as crypto/ed25519 hashes them.
	h := sha512.New()
	h.Write(rb)
	h.Write(e.PublicKey)
	h.Write(e.Message)
	var digest [64]byte
	if _, err := p.k.SetUniformBytes(h.Sum(digest[:0])); err != nil {
		panic("ed25519batch: internal error: SetUniformBytes: " + err.Error())
	}
	smallMul(&p.c, &p.a, p.k.Bytes()[0]&7)
	p.c.Add(&p.c, &p.r)
	return true
}

// canonical reports whether the encoding b of a decoded point is the one
// Point.Bytes produces (RFC 8032, Section 5.1.2): y < p, and the sign bit
// clear when x = 0, that is when y = 1 or y = p-1. It saves the field
// inversion of re-encoding.
func canonical(b []byte) bool {
	sign := b[31] >> 7
	// y >= p iff y is in [2^255-19, 2^255): bytes 1..30 all 0xff, the top
	// byte 0x7f without the sign, and the low byte >= 0xed.
	high := b[31]&0x7f == 0x7f
	for _, v := range b[1:31] {
		high = high && v == 0xff
	}
	if high && b[0] >= 0xed {
		return false
	}
	if sign == 0 {
		return true
	}
	// y = 1 or y = p-1 = 2^255-20 (low byte 0xec, the rest as for y >= p).
	one := b[0] == 1 && b[31]&0x7f == 0
	for _, v := range b[1:31] {
		one = one && v == 0
	}
	return !one && !(high && b[0] == 0xec)
}

// smallMul sets v = [n]q for 0 <= n < 8.
func smallMul(v, q *edwards25519.Point, n byte) {
	v.Set(edwards25519.NewIdentityPoint())
	for bit := 2; bit >= 0; bit-- {
		v.Double(v)
		if n>>bit&1 == 1 {
			v.Add(v, q)
		}
	}
}

// verifyBatch sets ok[i] to entry i's verdict, drawing the batch's
// randomness from rnd. Entries that cannot enter the batch, and all
// entries when the batch is rejected, are verified individually.
func verifyBatch(entries []Entry, ok []bool, rnd io.Reader) (fellBack bool) {
	ps := make([]prepared, len(entries))
	idx := make([]int, 0, len(entries)) // entries in the batch
	for i, e := range entries {
		if prepare(e, &ps[len(idx)]) {
			idx = append(idx, i)
		} else {
			ok[i] = individual(e)
		}
	}
	ps = ps[:len(idx)]
	if len(ps) == 0 {
		return false
	}
	if batchEquation(ps, rnd) && torsionFree(ps, rnd) {
		for _, i := range idx {
			ok[i] = true
		}
		return false
	}
	for _, i := range idx {
		ok[i] = individual(entries[i])
	}
	return true
}
