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
//	code    name (ts-mls)                                       KEM (HPKE id)          hash     KDF          AEAD       signature
//	0x004D  MLS_128_MLKEM512_AES128GCM_SHA256_Ed25519           ML-KEM-512  (0x0040)   SHA-256  HKDF-SHA512  AES-256(2) Ed25519
//	0x004E  MLS_128_MLKEM512_CHACHA20POLY1305_SHA256_Ed25519    ML-KEM-512  (0x0040)   SHA-256  HKDF-SHA512  ChaCha20   Ed25519
//	0x004F  MLS_256_MLKEM768_AES256GCM_SHA384_Ed25519           ML-KEM-768  (0x0041)   SHA-384  HKDF-SHA512  AES-256    Ed25519
//	0x0050  MLS_256_MLKEM768_CHACHA20POLY1305_SHA384_Ed25519    ML-KEM-768  (0x0041)   SHA-384  HKDF-SHA512  ChaCha20   Ed25519
//	0x0051  MLS_256_MLKEM1024_AES256GCM_SHA512_Ed25519          ML-KEM-1024 (0x0042)   SHA-512  HKDF-SHA512  AES-256    Ed25519
//	0x0052  MLS_256_MLKEM1024_CHACHA20POLY1305_SHA512_Ed25519   ML-KEM-1024 (0x0042)   SHA-512  HKDF-SHA512  ChaCha20   Ed25519
//	0x0053  MLS_256_XWING_AES256GCM_SHA512_Ed25519              X-Wing      (0x647A)   SHA-512  HKDF-SHA512  AES-256    Ed25519
//	0x0054  MLS_256_XWING_CHACHA20POLY1305_SHA512_Ed25519       X-Wing      (0x647A)   SHA-512  HKDF-SHA512  ChaCha20   Ed25519
//	0x0055  MLS_256_MLKEM1024_AES256GCM_SHA512_MLDSA87          ML-KEM-1024 (0x0042)   SHA-512  HKDF-SHA512  AES-256    ML-DSA-87
//	0x0056  MLS_256_MLKEM1024_CHACHA20POLY1305_SHA512_MLDSA87   ML-KEM-1024 (0x0042)   SHA-512  HKDF-SHA512  ChaCha20   ML-DSA-87
//	0x0057  MLS_256_XWING_AES256GCM_SHA512_MLDSA87              X-Wing      (0x647A)   SHA-512  HKDF-SHA512  AES-256    ML-DSA-87
//	0x0058  MLS_256_XWING_CHACHA20POLY1305_SHA512_MLDSA87       X-Wing      (0x647A)   SHA-512  HKDF-SHA512  ChaCha20   ML-DSA-87
//
// All twelve are implemented, and interop/tsmls runs each against ts-mls.
// Source of every row: ts-mls 1.6.4, dist/src/crypto/ciphersuite.js
// (`ciphersuites` for the code point and name, `ciphersuiteValues` for
// `hash`, `hpke.kem`, `hpke.kdf`, `hpke.aead`, `signature`). The ML-KEM KEM
// ids 0x0040-0x0042 are those of draft-connolly-cfrg-hpke-mlkem /
// draft-ietf-hpke-pq (and of @hpke/ml-kem 0.3.0, which ts-mls uses);
// X-Wing's 0x647A is draft-connolly-cfrg-xwing-kem's.
//
// (1) Hash and KDF. Every post-quantum suite of ts-mls has HKDF-SHA512 as
// its KDF (so that DeriveKeyPair of ML-KEM receives the 64-byte seed it
// needs from a KDF.Nh node secret), and 0x004D-0x0050 pair it with another
// hash, SHA-256 or SHA-384. RFC 9420 (Section 5.1) gives the two
// different roles, and ts-mls 1.6.4 follows it: its CiphersuiteImpl has a
// `kdf` (HKDF-SHA512, size 64) and a `hash` (SHA-256/384) member, and
//   - the KDF, with KDF.Nh = 64: ExpandWithLabel/DeriveSecret/
//     DeriveTreeSecret (crypto/kdf.js) and every secret of the key schedule
//     (keySchedule.js, groupContext.js: joiner, epoch, welcome, init,
//     sender data, encryption, exporter, external, confirmation and
//     membership keys, resumption_psk, epoch_authenticator), the secret
//     tree (secretTree.js), path and node secrets (updatePath.js,
//     pathSecrets.js), the PSK secret (presharedkey.js), psk_nonce
//     (resumption.js), the external init secret (clientState.js: HPKE
//     export of kdf.size bytes), the sender-data ciphertext sample
//     (sender.js: kdf.size bytes) and HPKE's own KDF (hpke.kdf);
//   - the hash: RefHash for KeyPackageRef and ProposalRef (crypto/hash.js,
//     keyPackage.js, authenticatedContent.js makeProposalRef), the tree hash
//     (treeHash.js), parent hashes (parentHash.js), the confirmed and
//     interim transcript hashes (transcriptHash.js), the exporter's
//     Hash(context) (keySchedule.js mlsExporter), and the MAC, HMAC with
//     the hash (crypto/implementation/default/makeHashImpl.js): the
//     confirmation_tag (framedContent.js, groupInfo.js) and membership_tag
//     (authenticatedContent.js), 32 or 48 bytes under a 64-byte key.
// Here Suite.Nh is KDF.Nh and Suite.HashSize the hash's size (suite.go),
// and mls/core uses each where RFC 9420 says KDF.Nh or Hash.
// (2) ts-mls's 0x004D is named AES128GCM but uses AES-256-GCM
// (`hpke.aead: "AES256GCM"`) for both HPKE and MLS; mlslab does the same.

// The algorithms, as ts-mls uses them (through @hpke/ml-kem 0.3.0,
// @hpke/hybridkem-x-wing 0.7.0 and @noble/post-quantum 0.5.2) and as
// implemented here with circl:
//
//   - ML-KEM-512, ML-KEM-768 and ML-KEM-1024 (FIPS 203) as HPKE KEMs, KEM
//     ids 0x0040, 0x0041, 0x0042 (draft-connolly-cfrg-hpke-mlkem, now
//     draft-ietf-hpke-pq): the private key is the 64-byte seed d || z, the
//     public key the 800/1184/1568-byte encapsulation key, enc the
//     768/1088/1568-byte ciphertext. DeriveKeyPair(ikm)
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
//     reader (32 bytes for ML-KEM: FIPS 203 Encaps_internal's m; 64 for
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
	0x4D: {name: "MLS_128_MLKEM512_AES128GCM_SHA256_Ed25519", hash: 32, kdf: 64, aead: aesGCM, nk: 32, kem: kemMLKEM512, sig: sigEd25519},
	0x4E: {name: "MLS_128_MLKEM512_CHACHA20POLY1305_SHA256_Ed25519", hash: 32, kdf: 64, aead: chacha, nk: 32, kem: kemMLKEM512, sig: sigEd25519},
	0x4F: {name: "MLS_256_MLKEM768_AES256GCM_SHA384_Ed25519", hash: 48, kdf: 64, aead: aesGCM, nk: 32, kem: kemMLKEM768, sig: sigEd25519},
	0x50: {name: "MLS_256_MLKEM768_CHACHA20POLY1305_SHA384_Ed25519", hash: 48, kdf: 64, aead: chacha, nk: 32, kem: kemMLKEM768, sig: sigEd25519},
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
	MLS_128_MLKEM512_AES128GCM_SHA256_Ed25519         ID = 0x004D
	MLS_128_MLKEM512_CHACHA20POLY1305_SHA256_Ed25519  ID = 0x004E
	MLS_256_MLKEM768_AES256GCM_SHA384_Ed25519         ID = 0x004F
	MLS_256_MLKEM768_CHACHA20POLY1305_SHA384_Ed25519  ID = 0x0050
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
