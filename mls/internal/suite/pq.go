package suite

// Post-quantum cipher suites.
//
// MLS has no registered post-quantum suite yet: RFC 9420's registry (Section
// 17.1) holds only 0x0001-0x0007, and the code points below are those of
// the ts-mls 1.6.4 table (npm ts-mls@1.6.4, dist/src/crypto/ciphersuite.js,
// `ciphersuites` and `ciphersuiteValues`), the live peer of interop/tsmls.
// Other implementations disagree. OpenMLS (openmls_traits, traits/src/types.rs
// of github.com/openmls/openmls, read at commit 431a0c8) defines 0x004D =
// MLS_256_XWING_CHACHA20POLY1305_SHA256_Ed25519: X-Wing under its own HPKE
// KEM id 0x004D (XWingKemDraft2, not 0x647A), HKDF-SHA256 and SHA-256,
// ChaCha20-Poly1305, Ed25519, where ts-mls has 0x004D = ML-KEM-512. Neither
// table is registered. mlslab follows ts-mls because it is the
// implementation it can test against; it does not implement OpenMLS's
// 0x004D (same code point, other algorithms).
//
//	code    name (ts-mls)                                       KEM (HPKE id)          hash/KDF  AEAD       signature   here
//	0x004D  MLS_128_MLKEM512_AES128GCM_SHA256_Ed25519           ML-KEM-512  (0x0040)   see (1)   AES-256(2) Ed25519     no (1)
//	0x004E  MLS_128_MLKEM512_CHACHA20POLY1305_SHA256_Ed25519    ML-KEM-512  (0x0040)   see (1)   ChaCha20   Ed25519     no (1)
//	0x004F  MLS_256_MLKEM768_AES256GCM_SHA384_Ed25519           ML-KEM-768  (0x0041)   see (1)   AES-256    Ed25519     no (1)
//	0x0050  MLS_256_MLKEM768_CHACHA20POLY1305_SHA384_Ed25519    ML-KEM-768  (0x0041)   see (1)   ChaCha20   Ed25519     no (1)
//	0x0051  MLS_256_MLKEM1024_AES256GCM_SHA512_Ed25519          ML-KEM-1024 (0x0042)   SHA-512   AES-256    Ed25519     yes
//	0x0052  MLS_256_MLKEM1024_CHACHA20POLY1305_SHA512_Ed25519   ML-KEM-1024 (0x0042)   SHA-512   ChaCha20   Ed25519     yes
//	0x0053  MLS_256_XWING_AES256GCM_SHA512_Ed25519              X-Wing      (0x647A)   SHA-512   AES-256    Ed25519     yes
//	0x0054  MLS_256_XWING_CHACHA20POLY1305_SHA512_Ed25519       X-Wing      (0x647A)   SHA-512   ChaCha20   Ed25519     yes
//	0x0055  MLS_256_MLKEM1024_AES256GCM_SHA512_MLDSA87          ML-KEM-1024 (0x0042)   SHA-512   AES-256    ML-DSA-87   yes
//	0x0056  MLS_256_MLKEM1024_CHACHA20POLY1305_SHA512_MLDSA87   ML-KEM-1024 (0x0042)   SHA-512   ChaCha20   ML-DSA-87   yes
//	0x0057  MLS_256_XWING_AES256GCM_SHA512_MLDSA87              X-Wing      (0x647A)   SHA-512   AES-256    ML-DSA-87   yes
//	0x0058  MLS_256_XWING_CHACHA20POLY1305_SHA512_MLDSA87       X-Wing      (0x647A)   SHA-512   ChaCha20   ML-DSA-87   yes
//
// (1) ts-mls gives the suites 0x004D-0x0050 a hash (SHA-256, SHA-384) that
// differs from their KDF (HKDF-SHA512 for every post-quantum suite, so that
// DeriveKeyPair of ML-KEM receives the 64-byte seed it needs from a KDF.Nh
// node secret): secrets are 64 bytes while tree hashes, references and MACs
// are 32 or 48. mlslab's protocol code takes KDF.Nh and the hash size to be
// one number (as RFC 9420 does for all its suites), so these four are not
// supported. (2) ts-mls's 0x004D is named AES128GCM but uses AES-256-GCM
// for both HPKE and MLS.
//
// The algorithms, as ts-mls uses them (through @hpke/ml-kem 0.3.0,
// @hpke/hybridkem-x-wing 0.7.0 and @noble/post-quantum 0.5.2) and as
// implemented here with circl:
//
//   - ML-KEM-1024 (FIPS 203) as an HPKE KEM, KEM id 0x0042
//     (draft-connolly-cfrg-hpke-mlkem, now draft-ietf-hpke-pq): the private
//     key is the 64-byte seed d || z, the public key the 1568-byte
//     encapsulation key, enc the 1568-byte ciphertext. DeriveKeyPair(ikm)
//     takes a 64-byte ikm as the seed d || z itself (MLS passes 64-byte
//     node secrets) and rejects other lengths, as draft-connolly-cfrg-hpke-mlkem
//     and @hpke/ml-kem 0.3.0 (ts-mls) do. draft-ietf-hpke-pq-03 and Go's
//     crypto/hpke derive the seed as SHAKE256.LabeledDerive(ikm,
//     "DeriveKeyPair", "", 64) instead: node keys would then differ from
//     ts-mls's, so that form is not used (TestPQDeriveKeyPair logs the
//     difference).
//   - X-Wing (draft-connolly-cfrg-xwing-kem: ML-KEM-768 + X25519, SHA3-256
//     combiner), KEM id 0x647A: the private key is the 32-byte seed, the
//     public key 1184 + 32 = 1216 bytes, enc 1088 + 32 = 1120 bytes;
//     DeriveKeyPair(ikm) is the key generation from the seed
//     SHAKE256(ikm, 32) (the X-Wing draft's HPKE section; circl hpke and
//     @hpke/hybridkem-x-wing 0.7.0 agree; draft-ietf-hpke-pq-03 and Go's
//     crypto/hpke use SHAKE256.LabeledDerive, as for ML-KEM).
//   - Encapsulation is deterministic from a seed read from the caller's
//     reader (32 bytes for ML-KEM-1024: FIPS 203 Encaps_internal's m; 64 for
//     X-Wing: the ML-KEM m and the X25519 ephemeral key), so a seeded run
//     reproduces every kem_output byte for byte.
//   - Received public keys: ValidateHPKEPublicKey applies FIPS 203's
//     modulus check (Section 7.2); Encap refuses a key that fails it.
//   - HPKE (RFC 9180, Section 5) is KEM-generic: the key schedule, the AEAD
//     and the exporter are those of the DHKEM suites, with the suite's
//     KDF and AEAD and the KEM id above in suite_id (hpke.go).
//   - ML-DSA-87 (FIPS 204), pure, empty context string, over SignContent
//     (RFC 9420, Section 5.1.2): the private key is the 32-byte seed xi, the
//     public key 2592 bytes, signatures 4627 bytes. Signing here is the
//     deterministic variant (FIPS 204, Algorithm 2 with rnd = 0^32), so
//     seeded runs reproduce; ts-mls (@noble/post-quantum 0.5.2, whose
//     default context is also empty) signs hedged, and both verify alike.
//     Deterministic signing gives up the hedge against fault and
//     side-channel attacks that FIPS 204 recommends rnd for; it is a lab
//     choice (reproducible runs), not a deployment one.

var pqSuites = map[ID]algs{
	0x51: {name: "MLS_256_MLKEM1024_AES256GCM_SHA512_Ed25519", hash: 64, aead: aesGCM, nk: 32, kem: kemMLKEM1024, sig: sigEd25519},
	0x52: {name: "MLS_256_MLKEM1024_CHACHA20POLY1305_SHA512_Ed25519", hash: 64, aead: chacha, nk: 32, kem: kemMLKEM1024, sig: sigEd25519},
	0x53: {name: "MLS_256_XWING_AES256GCM_SHA512_Ed25519", hash: 64, aead: aesGCM, nk: 32, kem: kemXWing, sig: sigEd25519},
	0x54: {name: "MLS_256_XWING_CHACHA20POLY1305_SHA512_Ed25519", hash: 64, aead: chacha, nk: 32, kem: kemXWing, sig: sigEd25519},
	0x55: {name: "MLS_256_MLKEM1024_AES256GCM_SHA512_MLDSA87", hash: 64, aead: aesGCM, nk: 32, kem: kemMLKEM1024, sig: sigMLDSA87},
	0x56: {name: "MLS_256_MLKEM1024_CHACHA20POLY1305_SHA512_MLDSA87", hash: 64, aead: chacha, nk: 32, kem: kemMLKEM1024, sig: sigMLDSA87},
	0x57: {name: "MLS_256_XWING_AES256GCM_SHA512_MLDSA87", hash: 64, aead: aesGCM, nk: 32, kem: kemXWing, sig: sigMLDSA87},
	0x58: {name: "MLS_256_XWING_CHACHA20POLY1305_SHA512_MLDSA87", hash: 64, aead: chacha, nk: 32, kem: kemXWing, sig: sigMLDSA87},
}

// Code points of the post-quantum suites (ts-mls 1.6.4; see the table above).
const (
	MLS_256_MLKEM1024_AES256GCM_SHA512_Ed25519        ID = 0x0051
	MLS_256_MLKEM1024_CHACHA20POLY1305_SHA512_Ed25519 ID = 0x0052
	MLS_256_XWING_AES256GCM_SHA512_Ed25519            ID = 0x0053
	MLS_256_XWING_CHACHA20POLY1305_SHA512_Ed25519     ID = 0x0054
	MLS_256_MLKEM1024_AES256GCM_SHA512_MLDSA87        ID = 0x0055
	MLS_256_MLKEM1024_CHACHA20POLY1305_SHA512_MLDSA87 ID = 0x0056
	MLS_256_XWING_AES256GCM_SHA512_MLDSA87            ID = 0x0057
	MLS_256_XWING_CHACHA20POLY1305_SHA512_MLDSA87     ID = 0x0058
)

// PostQuantum reports whether the suite's KEM is post-quantum (ML-KEM or
// the X-Wing hybrid).
func (id ID) PostQuantum() bool { _, ok := pqSuites[id]; return ok }
