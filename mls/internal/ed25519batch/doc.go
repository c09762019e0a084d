// Package ed25519batch verifies many Ed25519 signatures (RFC 8032, pure
// Ed25519, no context) at once, accepting exactly the entries that Go's
// crypto/ed25519.Verify accepts, one by one.
//
// # Which API to use
//
// Verify takes a slice of Entry (public key, message, signature) and
// returns, per entry, whether crypto/ed25519.Verify would accept it.
// VerifyConcurrent does the same with the batch split across goroutines.
// For MLS (RFC 9420, Section 5.1.2), Message is the encoded SignContent
// that SignWithLabel signs, exactly what mls/internal/suite passes to
// crypto/ed25519.Verify. Batches below MinBatch entries, and every entry a
// batch cannot handle, are verified one by one with crypto/ed25519.Verify.
//
// # What crypto/ed25519.Verify accepts
//
// Go's verifier (crypto/internal/fips140/ed25519, verifyWithDom) accepts a
// 32-byte public key A_bytes, message M and 64-byte signature R_bytes||S iff
//
//   - S < L, the prime order of the base point B (the encoding is canonical);
//   - A_bytes decodes to a point A. Decoding accepts non-canonical encodings
//     (y >= p, or x = 0 with the sign bit set), and k is computed over the
//     raw bytes: k = SHA-512(R_bytes || A_bytes || M) mod L;
//   - the canonical encoding of R' = [S]B - [k]A equals R_bytes byte for
//     byte. It is the cofactorless equation, and since encodings produced by
//     Bytes are canonical and injective, it holds iff R_bytes is the
//     canonical encoding of a point R and D = [S]B - [k]A - R is the
//     identity.
//
// (A public key of the wrong length makes crypto/ed25519.Verify panic; this
// package reports it as invalid instead.)
//
// # The batch equation and why it agrees with the individual check
//
// An entry enters the batch only if its lengths are right, S < L, A_bytes
// decodes, and R_bytes decodes and re-encodes to itself; any other entry
// is verified individually. Write the group E(F_p) = G + T with G of prime
// order L and T the cyclic torsion subgroup of order 8 (B is in G), and
// split D_i = p_i + t_i accordingly. The torsion part of D_i is
// t_i = -(k_i*tA_i + tR_i) = -tors(C_i) for
//
//	C_i = [k_i mod 8]A_i + R_i,
//
// because only k_i mod 8 matters on T. The batch accepts iff both
//
//  1. [8]( [sum z_i*S_i]B - sum [z_i*k_i](A_i) - sum [z_i](R_i) ) is the
//     identity, with independent uniform 128-bit z_i (scalars reduced mod
//     L: [8] clears T, and on G only the value mod L matters), that is
//     sum z_i*p_i = 0 in G; computed with one multi-scalar multiplication;
//  2. for each of 128 random subsets S_j of the entries (each entry in each
//     subset independently with probability 1/2), sum_{i in S_j} C_i is in G,
//     tested by [L]Q == identity.
//
// Completeness: if every entry is valid, every D_i is the identity, so
// p_i = 0 and t_i = 0 (every C_i is in G) and both checks pass, whatever z
// and the subsets are. A batch of valid signatures is always accepted,
// including valid signatures whose A and R have torsion components (mixed
// order) that cancel as crypto/ed25519.Verify requires.
//
// Soundness: if some D_j is not the identity, either p_j != 0 or t_j != 0.
// If p_j != 0, then given the other z_i there is at most one value of
// z_j mod L with sum z_i*p_i = 0 (G is cyclic of prime order), and the
// 2^128 candidates for z_j are distinct mod L since 2^128 < L: check 1
// passes with probability at most 2^-128. If t_j != 0, then tors(C_j) != 0
// and, given the other members of a subset, its torsion part is a or
// a + tors(C_j), at most one of which is zero: each subset test passes
// with probability at most 1/2, all 128 with at most 2^-128. Random
// subsets are needed because T has elements of order 2: a random
// combination over Z_8 detects those with probability only 1/2, which is
// exactly why a plain (cofactored or cofactorless) batch equation can
// disagree with the cofactorless individual check.
//
// Why not simply reject up front every A or R with a torsion component:
// testing one point takes a multiplication by L, as much work as an
// individual verification, for two points per signature; and such
// signatures can be valid for crypto/ed25519 (the mixed-order cases above),
// so they would still need individual verification. Testing random subset
// sums of the C_i costs about 32 point additions per signature plus 128
// multiplications by L per batch, and keeps valid mixed-order signatures
// in the batch.
//
// When the batch is rejected, every entry is verified individually with
// crypto/ed25519.Verify to name the bad ones. So the output always equals
// crypto/ed25519.Verify's verdicts, except that with probability at most
// 2^-127 per call (over this package's randomness, drawn from crypto/rand
// after the entries are fixed) a batch containing an invalid signature is
// accepted. Acceptance is deterministic in practice even though z and the
// subsets are random: valid batches always pass, and nothing needs to be
// reproducible, so the randomness is not injectable.
//
// # Cost
//
// Per entry: SHA-512, two point decompressions (A and R; the individual
// check decompresses only A), about 45 point additions in the
// multi-scalar multiplication (Pippenger's bucket method with signed
// digits; the z_i are 128 bits, so the R_i scalars are half length), a few
// operations for C_i, and about 32 additions for the 128 subset sums (Four
// Russians: a table of the 2^6 subset sums of each group of 6 entries).
// Fixed per batch: 128 multiplications by L, about as much work as 100
// individual verifications. The individual check costs about 256
// doublings and 70 additions per signature. So the batch pays off from
// about MinBatch entries and approaches half the individual cost per
// signature for thousands of entries (BenchmarkVerify).
//
// # Why filippo.io/edwards25519
//
// A batch needs point decoding, addition, doubling and scalar arithmetic
// on the Edwards curve itself, torsion included. None of the modules
// already in go.mod exports that: the standard library's implementation
// is internal (crypto/internal/fips140/edwards25519), golang.org/x/crypto
// only wraps crypto/ed25519, circl's sign/ed25519 keeps its point type
// unexported, and circl's group package offers ristretto255, a
// prime-order quotient group in which the torsion components that decide
// crypto/ed25519's verdicts do not exist. filippo.io/edwards25519 is the
// exported form of the standard library's own code: it was merged into
// the standard library in Go 1.17 and now tracks it, so it has the same
// field and point arithmetic and the same decoding rules (SetBytes
// accepts the non-canonical encodings crypto/ed25519 accepts); it has no
// dependencies. Writing the field arithmetic ourselves would be more
// code to trust for no gain.
package ed25519batch
