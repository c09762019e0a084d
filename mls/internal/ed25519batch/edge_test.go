package ed25519batch

import (
	"crypto/rand"
	"fmt"
	"slices"
	"testing"

	"filippo.io/edwards25519"
)

// edgeCase is a signature whose crypto/ed25519.Verify verdict is want.
type edgeCase struct {
	name string
	e    Entry
	want bool
}

// edgeCases builds the cases of "Taming the many EdDSAs" (Chalkias,
// Garillot, Nikolaenko, 2020) programmatically, each as an accepted and
// a rejected variant where both exist: small-order A and R, mixed-order A
// and R (torsion parts cancelling or not: cofactored-only valid),
// non-canonical S, non-canonical R and A encodings, undecodable points and
// wrong lengths. want is what crypto/ed25519.Verify returns (asserted).
func edgeCases(t *testing.T) []edgeCase {
	t.Helper()
	T := torsionPoints(t)
	r := testRand(17)
	zero := edwards25519.NewScalar()
	id := edwards25519.NewIdentityPoint()
	var cases []edgeCase
	// find adds the first spec(i) whose k mod 8 satisfies cond, as name.
	find := func(name string, want bool, spec func(i int) sigSpec, cond func(i int, k byte) bool) {
		for i := range 512 {
			e, k := spec(i).build()
			if cond(i, k) {
				cases = append(cases, edgeCase{name, e, want})
				return
			}
		}
		t.Fatalf("%s: no message found", name)
	}
	msg := func(i int) []byte { return fmt.Appendf(nil, "edge case message %d", i) }
	// both adds the variant where k satisfies cond (valid) and one where
	// it does not (invalid).
	both := func(name string, spec func(i int) sigSpec, cond func(i int, k byte) bool) {
		find(name+"/valid", true, spec, cond)
		find(name+"/invalid", false, spec, func(i int, k byte) bool { return !cond(i, k) })
	}
	a, rr := randScalar(r), randScalar(r)
	find("plain", true, func(i int) sigSpec { return sigSpec{a: a, r: rr, tA: id, tR: id, msg: msg(i)} }, func(int, byte) bool { return true })

	// Small-order A and R, S = 0: valid iff R = -[k]A.
	both("small-order A and R", func(i int) sigSpec {
		return sigSpec{a: zero, r: zero, tA: T[1], tR: T[i%8], msg: msg(i / 8)}
	}, func(i int, k byte) bool { return (int(k)+i%8)%8 == 0 })
	// Small-order A (order 8), honest R: valid iff k = 0 mod 8.
	both("small-order A", func(i int) sigSpec {
		return sigSpec{a: zero, r: rr, tA: T[1], tR: id, msg: msg(i)}
	}, func(_ int, k byte) bool { return k == 0 })
	// Identity A (canonical): every S = r verifies.
	find("identity A", true, func(i int) sigSpec { return sigSpec{a: zero, r: rr, tA: id, tR: id, msg: msg(i)} }, func(int, byte) bool { return true })
	// Mixed-order A, honest R: valid iff k*tA = 0.
	for _, o := range []int{1, 2, 4} { // tA = T[o] has order 8/o
		both(fmt.Sprintf("mixed-order A order %d", 8/o), func(i int) sigSpec {
			return sigSpec{a: a, r: rr, tA: T[o], tR: id, msg: msg(i)}
		}, func(_ int, k byte) bool { return int(k)*o%8 == 0 })
	}
	// Mixed-order A and R: valid iff tR = -[k]tA (the invalid variant is
	// accepted by the cofactored equation).
	both("mixed-order A and R", func(i int) sigSpec {
		return sigSpec{a: a, r: rr, tA: T[3], tR: T[i%8], msg: msg(i / 8)}
	}, func(i int, k byte) bool { return (3*int(k)+i%8)%8 == 0 })
	// Mixed-order R, torsion-free A: never valid, cofactored-valid.
	for _, o := range []int{1, 4} {
		find(fmt.Sprintf("mixed-order R order %d", 8/o), false, func(i int) sigSpec {
			return sigSpec{a: a, r: rr, tA: id, tR: T[o], msg: msg(i)}
		}, func(int, byte) bool { return true })
	}
	// Small-order R, identity A: valid iff R = identity.
	find("small-order R", false, func(i int) sigSpec { return sigSpec{a: a, r: zero, tA: id, tR: T[4], msg: msg(i)} }, func(int, byte) bool { return true })

	// Non-canonical S: S + L, and S with bit 253 set.
	{
		e, _ := sigSpec{a: a, r: rr, tA: id, tR: id, msg: msg(1)}.build()
		sl := slices.Clone(e.Signature)
		copy(sl[32:], addLE(sl[32:], orderL))
		cases = append(cases, edgeCase{"S+L", Entry{e.PublicKey, e.Message, sl}, false})
		sh := slices.Clone(e.Signature)
		sh[63] |= 0x20
		cases = append(cases, edgeCase{"S high bit", Entry{e.PublicKey, e.Message, sh}, false})
	}

	// Non-canonical R: the identity as y = p+1 and with the sign bit set
	// (r = 0, S = k*a so the equation holds pointwise); an order-4 point as
	// y = p (0 + p) with A's torsion cancelling it.
	idPlusP := addLE([]byte{1, 31: 0}, fieldP)
	idSign := []byte{1, 31: 0x80}
	find("R identity canonical", true, func(i int) sigSpec { return sigSpec{a: a, r: zero, tA: id, tR: id, msg: msg(i)} }, func(int, byte) bool { return true })
	find("R identity y=p+1", false, func(i int) sigSpec { return sigSpec{a: a, r: zero, tA: id, tR: id, rBytes: idPlusP, msg: msg(i)} }, func(int, byte) bool { return true })
	find("R identity sign bit", false, func(i int) sigSpec { return sigSpec{a: a, r: zero, tA: id, tR: id, rBytes: idSign, msg: msg(i)} }, func(int, byte) bool { return true })
	t2 := T[2].Bytes()
	t2nc := slices.Clone(fieldP)
	t2nc[31] |= t2[31] & 0x80
	order4 := func(i int) sigSpec { return sigSpec{a: a, r: zero, tA: T[1], tR: T[2], msg: msg(i)} }
	order4nc := func(i int) sigSpec { s := order4(i); s.rBytes = t2nc; return s }
	cancel4 := func(_ int, k byte) bool { return (int(k)+2)%8 == 0 }
	find("R order 4 canonical", true, order4, cancel4)
	find("R order 4 y=p", false, order4nc, cancel4)

	// Non-canonical A: identity as y = p+1 and with the sign bit (valid:
	// crypto/ed25519 decodes them, k hashes the raw bytes); order 2 with
	// the sign bit set; order 4 as y = p.
	find("A identity y=p+1", true, func(i int) sigSpec { return sigSpec{a: zero, r: rr, tA: id, tR: id, aBytes: idPlusP, msg: msg(i)} }, func(int, byte) bool { return true })
	find("A identity sign bit", true, func(i int) sigSpec { return sigSpec{a: zero, r: rr, tA: id, tR: id, aBytes: idSign, msg: msg(i)} }, func(int, byte) bool { return true })
	t4 := T[4].Bytes()
	t4[31] |= 0x80
	both("A order 2 sign bit", func(i int) sigSpec {
		return sigSpec{a: zero, r: rr, tA: T[4], tR: id, aBytes: t4, msg: msg(i)}
	}, func(_ int, k byte) bool { return k%2 == 0 })
	both("A order 4 y=p", func(i int) sigSpec {
		return sigSpec{a: zero, r: rr, tA: T[2], tR: id, aBytes: t2nc, msg: msg(i)}
	}, func(_ int, k byte) bool { return k%4 == 0 })

	// Undecodable points and wrong lengths.
	bad := undecodableFor(t)
	e, _ := sigSpec{a: a, r: rr, tA: id, tR: id, msg: msg(2)}.build()
	cases = append(cases,
		edgeCase{"A undecodable", Entry{bad, e.Message, e.Signature}, false},
		edgeCase{"R undecodable", Entry{e.PublicKey, e.Message, append(slices.Clone(bad), e.Signature[32:]...)}, false},
		edgeCase{"short signature", Entry{e.PublicKey, e.Message, e.Signature[:63]}, false},
		edgeCase{"long signature", Entry{e.PublicKey, e.Message, append(slices.Clone(e.Signature), 0)}, false},
		edgeCase{"short public key", Entry{e.PublicKey[:31], e.Message, e.Signature}, false},
		edgeCase{"nil public key", Entry{nil, e.Message, e.Signature}, false},
	)
	return cases
}

func TestEdgeCases(t *testing.T) {
	valid := validEntries(3, 40)
	for _, c := range edgeCases(t) {
		t.Run(c.name, func(t *testing.T) {
			if got := individual(c.e); got != c.want {
				t.Fatalf("crypto/ed25519.Verify = %v, the case expects %v", got, c.want)
			}
			var p prepared
			batchable := prepare(c.e, &p)
			for _, pos := range []int{-1, 0, 17, len(valid)} {
				es := []Entry{c.e}
				if pos >= 0 {
					es = slices.Insert(slices.Clone(valid), pos, c.e)
				} else {
					pos = 0
				}
				ok := make([]bool, len(es))
				fellBack := verifyBatch(es, ok, rand.Reader)
				for i, got := range ok {
					if want := i != pos || c.want; got != want {
						t.Errorf("batch of %d, case at %d: entry %d = %v, want %v", len(es), pos, i, got, want)
					}
				}
				// Valid entries never trigger the fallback (torsion parts
				// that cancel included); batchable invalid ones always do.
				if wantFB := batchable && !c.want; fellBack != wantFB {
					t.Errorf("batch of %d: fell back = %v, want %v (batchable %v)", len(es), fellBack, wantFB, batchable)
				}
			}
		})
	}
}

// TestEdgeCasesTogether runs every case in one batch of valid signatures
// through Verify and VerifyConcurrent (each part above MinBatch).
func TestEdgeCasesTogether(t *testing.T) {
	cases := edgeCases(t)
	es := validEntries(4, 2*MinBatch)
	want := make([]bool, len(es))
	for i := range want {
		want[i] = true
	}
	for i, c := range cases {
		pos := (i * 37) % len(es)
		es = slices.Insert(es, pos, c.e)
		want = slices.Insert(want, pos, c.want)
	}
	for name, got := range map[string][]bool{"Verify": Verify(es), "VerifyConcurrent": VerifyConcurrent(es, 2)} {
		if !slices.Equal(got, want) {
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("%s: entry %d = %v, want %v", name, i, got[i], want[i])
				}
			}
		}
	}
}

// TestCofactoredEquationAloneDisagrees shows why the subset torsion test
// exists: for signatures crypto/ed25519.Verify rejects whose error is a
// torsion point, the batch equation (cofactored) holds.
func TestCofactoredEquationAloneDisagrees(t *testing.T) {
	n := 0
	for _, c := range edgeCases(t) {
		var p prepared
		if c.want || !prepare(c.e, &p) {
			continue
		}
		ps := []prepared{p}
		if batchEquation(ps, rand.Reader) {
			n++
			if torsionFree(ps, rand.Reader) {
				t.Errorf("%s: invalid, yet both batch conditions hold", c.name)
			}
		}
	}
	if n < 5 {
		t.Errorf("only %d invalid cases satisfy the cofactored equation, want the torsion ones (>= 5)", n)
	}
}

func TestInPrimeSubgroup(t *testing.T) {
	T := torsionPoints(t)
	P := new(edwards25519.Point).ScalarBaseMult(randScalar(testRand(5)))
	if !inPrimeSubgroup(edwards25519.NewGeneratorPoint()) || !inPrimeSubgroup(P) || !inPrimeSubgroup(T[0]) {
		t.Error("a point of the prime-order subgroup is reported outside it")
	}
	for i := 1; i < 8; i++ {
		if inPrimeSubgroup(T[i]) || inPrimeSubgroup(new(edwards25519.Point).Add(P, T[i])) {
			t.Errorf("torsion component [%d]T8 not detected", i)
		}
	}
}

// TestCanonical compares canonical with re-encoding on the edge values of
// y (near 0, 1, p-1, p and 2^255), both sign bits, and random encodings.
func TestCanonical(t *testing.T) {
	var inputs [][]byte
	for _, base := range [][]byte{make([]byte, 32), fieldP} {
		for d := -21; d <= 21; d++ {
			var delta [32]byte
			if d >= 0 {
				delta[0] = byte(d)
			} else { // 2^256 + d
				for i := range delta {
					delta[i] = 0xff
				}
				delta[0] = byte(256 + d)
			}
			y := addLE(base, delta[:])
			for _, sign := range []byte{0, 0x80} {
				b := slices.Clone(y)
				b[31] = b[31]&0x7f | sign
				inputs = append(inputs, b)
			}
		}
	}
	r := testRand(9)
	for range 2000 {
		b := make([]byte, 32)
		r.Read(b)
		inputs = append(inputs, b)
	}
	decoded := 0
	for _, b := range inputs {
		p, err := new(edwards25519.Point).SetBytes(b)
		if err != nil {
			continue
		}
		decoded++
		if want := slices.Equal(p.Bytes(), b); canonical(b) != want {
			t.Errorf("canonical(%x) = %v, want %v", b, !want, want)
		}
	}
	if decoded < 1000 {
		t.Errorf("only %d inputs decode", decoded)
	}
}
