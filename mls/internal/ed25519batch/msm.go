package ed25519batch

import (
	"encoding/binary"

	"filippo.io/edwards25519"
)

// msm returns sum [scalars[i]]points[i] by Pippenger's bucket method with
// signed c-bit digits: per window, each point is added to (or subtracted
// from) the bucket of its digit's magnitude, and the buckets are summed
// with weights by a running sum (2^c additions). For the batch sizes here
// this needs about half the additions of the Straus method of
// edwards25519's VarTimeMultiScalarMult, and no per-point tables.
func msm(scalars []edwards25519.Scalar, points []edwards25519.Point) *edwards25519.Point {
	n := len(points)
	total := edwards25519.NewIdentityPoint()
	if n == 0 {
		return total
	}
	c := window(n)
	half := 1 << (c - 1) // digits are in [-half, half)
	// Scalars are < L < 2^253; one more window takes the last carry.
	windows := (253+c-1)/c + 1
	type scalarBits [40]byte // 32 bytes and room for a 4-byte read
	sb := make([]scalarBits, n)
	for i := range sb {
		copy(sb[i][:], scalars[i].Bytes())
	}
	carry := make([]bool, n)
	buckets := make([]edwards25519.Point, half+1)
	used := make([]bool, half+1)
	sums := make([]edwards25519.Point, windows)
	mask := uint32(1)<<c - 1
	for j := range windows {
		clear(used)
		off := j * c
		for i := range n {
			v := int(binary.LittleEndian.Uint32(sb[i][off/8:]) >> (off % 8) & mask)
			if carry[i] {
				v++
			}
			carry[i] = v >= half
			if carry[i] {
				v -= 2 * half
			}
			switch {
			case v > 0:
				if used[v] {
					buckets[v].Add(&buckets[v], &points[i])
				} else {
					buckets[v].Set(&points[i])
					used[v] = true
				}
			case v < 0:
				if used[-v] {
					buckets[-v].Subtract(&buckets[-v], &points[i])
				} else {
					buckets[-v].Negate(&points[i])
					used[-v] = true
				}
			}
		}
		// sums[j] = sum_b b*buckets[b] = sum_b (buckets[half] + ... + buckets[b]).
		running := edwards25519.NewIdentityPoint()
		sums[j].Set(running)
		started := false
		for b := half; b >= 1; b-- {
			if used[b] {
				running.Add(running, &buckets[b])
				started = true
			}
			if started {
				sums[j].Add(&sums[j], running)
			}
		}
	}
	for j := windows - 1; j >= 0; j-- {
		for range c {
			total.Double(total)
		}
		total.Add(total, &sums[j])
	}
	return total
}

// window returns the digit width c minimizing the estimated additions
// (windows of c bits) * (n points + 2^c bucket-sum additions).
func window(n int) int {
	best, bestCost := 2, -1
	for c := 2; c <= 16; c++ {
		cost := ((253+c-1)/c + 1) * (n + 1<<c)
		if bestCost < 0 || cost < bestCost {
			best, bestCost = c, cost
		}
	}
	return best
}
