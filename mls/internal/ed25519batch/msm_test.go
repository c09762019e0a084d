package ed25519batch

import (
	"fmt"
	"testing"

	"filippo.io/edwards25519"
)

// TestMSM compares msm with edwards25519's VarTimeMultiScalarMult on
// points with torsion components and scalars of every size class
// (zero, one, 128-bit, L-1, uniform), at sizes crossing window changes.
func TestMSM(t *testing.T) {
	T := torsionPoints(t)
	r := testRand(11)
	var one edwards25519.Scalar
	one.SetCanonicalBytes([]byte{1, 31: 0}) //nolint:errcheck
	for _, n := range []int{0, 1, 2, 3, 7, 64, 300, 1500} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			scalars := make([]edwards25519.Scalar, n)
			points := make([]edwards25519.Point, n)
			sp := make([]*edwards25519.Scalar, n)
			pp := make([]*edwards25519.Point, n)
			for i := range n {
				switch i % 5 {
				case 0: // zero
				case 1:
					scalars[i].Set(&one)
				case 2:
					var b [32]byte
					r.Read(b[:16])
					scalars[i].SetCanonicalBytes(b[:]) //nolint:errcheck
				case 3:
					scalars[i].Negate(&one)
				default:
					scalars[i].Set(randScalar(r))
				}
				points[i].ScalarBaseMult(randScalar(r))
				points[i].Add(&points[i], T[i%8])
				sp[i], pp[i] = &scalars[i], &points[i]
			}
			want := new(edwards25519.Point).VarTimeMultiScalarMult(sp, pp)
			if got := msm(scalars, points); got.Equal(want) != 1 {
				t.Errorf("msm differs from VarTimeMultiScalarMult")
			}
		})
	}
}
