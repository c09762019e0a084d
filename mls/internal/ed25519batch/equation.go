package ed25519batch

import (
	"encoding/binary"
	"io"

	"filippo.io/edwards25519"
)

const (
	// subsetTests is the number of random subset sums of the C_i tested
	// for torsion; each misses a nonzero torsion part with probability at
	// most 1/2 (package doc).
	subsetTests = 128
	// groupBits is the Four Russians group size of the subset sums: a
	// table of the 2^groupBits sums of each group of entries.
	groupBits = 6
)

// readRandom fills b from rnd; a failure is fatal (crypto/rand does not
// fail).
func readRandom(rnd io.Reader, b []byte) {
	if _, err := io.ReadFull(rnd, b); err != nil {
		panic("ed25519batch: reading randomness: " + err.Error())
	}
}

// batchEquation checks condition 1 of the package doc:
// [8]([sum z_i*S_i]B + sum [z_i*k_i](-A_i) + sum [z_i](-R_i)) == identity
// with independent uniform 128-bit z_i read from rnd. Negating the points
// rather than the scalars keeps the R_i scalars 128 bits long.
func batchEquation(ps []prepared, rnd io.Reader) bool {
	zb := make([]byte, 16*len(ps))
	readRandom(rnd, zb)
	var (
		sumS    edwards25519.Scalar // sum z_i*S_i
		scalars = make([]edwards25519.Scalar, 2*len(ps))
		points  = make([]edwards25519.Point, 2*len(ps))
		buf     [32]byte
	)
	for i := range ps {
		p := &ps[i]
		copy(buf[:16], zb[16*i:16*i+16]) // buf[16:] stays zero: z < 2^128 < L
		zi, za := &scalars[2*i], &scalars[2*i+1]
		if _, err := zi.SetCanonicalBytes(buf[:]); err != nil {
			panic("ed25519batch: internal error: 128-bit scalar: " + err.Error())
		}
		za.Multiply(zi, &p.k)
		sumS.MultiplyAdd(zi, &p.s, &sumS)
		points[2*i].Negate(&p.r)
		points[2*i+1].Negate(&p.a)
	}
	total := msm(scalars, points)
	var zero edwards25519.Scalar
	var sB edwards25519.Point
	sB.VarTimeDoubleScalarBaseMult(&zero, edwards25519.NewIdentityPoint(), &sumS)
	total.Add(total, &sB)
	total.MultByCofactor(total)
	return total.Equal(edwards25519.NewIdentityPoint()) == 1
}

// torsionFree checks condition 2 of the package doc: each of subsetTests
// random subset sums of the C_i (membership bits read from rnd) is in the
// prime-order subgroup.
func torsionFree(ps []prepared, rnd io.Reader) bool {
	const words = subsetTests / 64
	mb := make([]byte, 8*words*len(ps))
	readRandom(rnd, mb)
	mask := func(i, test int) int { // bit test of entry i's membership mask
		w := binary.LittleEndian.Uint64(mb[8*(words*i+test/64):])
		return int(w >> (test % 64) & 1)
	}
	var acc [subsetTests]edwards25519.Point
	for j := range acc {
		acc[j].Set(edwards25519.NewIdentityPoint())
	}
	var table [1 << groupBits]edwards25519.Point
	table[0].Set(edwards25519.NewIdentityPoint())
	for lo := 0; lo < len(ps); lo += groupBits {
		g := min(groupBits, len(ps)-lo)
		// table[s] = sum of C_{lo+b} over the set bits b of s.
		for s := 1; s < 1<<g; s++ {
			low := 0
			for s>>low&1 == 0 {
				low++
			}
			table[s].Add(&table[s&(s-1)], &ps[lo+low].c)
		}
		for j := range acc {
			s := 0
			for b := range g {
				s |= mask(lo+b, j) << b
			}
			if s != 0 {
				acc[j].Add(&acc[j], &table[s])
			}
		}
	}
	for j := range acc {
		if !inPrimeSubgroup(&acc[j]) {
			return false
		}
	}
	return true
}

// inPrimeSubgroup reports whether [L]q is the identity, computed as
// [L-1]q + q (a Scalar holds L-1 = -1 mod L but not L).
func inPrimeSubgroup(q *edwards25519.Point) bool {
	var one, lMinus1, zero edwards25519.Scalar
	one.SetCanonicalBytes([]byte{1, 31: 0}) //nolint:errcheck // 1 is canonical
	lMinus1.Negate(&one)
	var v edwards25519.Point
	v.VarTimeDoubleScalarBaseMult(&lMinus1, q, &zero)
	v.Add(&v, q)
	return v.Equal(edwards25519.NewIdentityPoint()) == 1
}
