package core

import (
	"fmt"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

// CipherSuite is an MLS cipher suite codepoint (RFC 9420, Section 17.1).
type CipherSuite uint16

// String returns the suite's RFC 9420 name, or its code point in hex.
func (cs CipherSuite) String() string { return suite.ID(cs).String() }

// IsValid reports whether mlslab implements cs.
func (cs CipherSuite) IsValid() bool { return suite.ID(cs).IsValid() }

// The cipher suites of RFC 9420, Section 17.1; mlslab implements all seven.
const (
	MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519        CipherSuite = 0x0001
	MLS_128_DHKEMP256_AES128GCM_SHA256_P256             CipherSuite = 0x0002
	MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519 CipherSuite = 0x0003
	MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448            CipherSuite = 0x0004
	MLS_256_DHKEMP521_AES256GCM_SHA512_P521             CipherSuite = 0x0005
	MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448     CipherSuite = 0x0006
	MLS_256_DHKEMP384_AES256GCM_SHA384_P384             CipherSuite = 0x0007
)

// Post-quantum suites: ML-KEM-1024 (FIPS 203) or the X-Wing hybrid
// (ML-KEM-768 + X25519, draft-connolly-cfrg-xwing-kem) with Ed25519 or
// ML-DSA-87 (FIPS 204). Their code points are not assigned by IANA; these
// are ts-mls 1.6.4's (mls/internal/suite/pq.go gives each one's source and
// where OpenMLS differs).
const (
	MLS_256_MLKEM1024_AES256GCM_SHA512_Ed25519        CipherSuite = 0x0051
	MLS_256_MLKEM1024_CHACHA20POLY1305_SHA512_Ed25519 CipherSuite = 0x0052
	MLS_256_XWING_AES256GCM_SHA512_Ed25519            CipherSuite = 0x0053
	MLS_256_XWING_CHACHA20POLY1305_SHA512_Ed25519     CipherSuite = 0x0054
	MLS_256_MLKEM1024_AES256GCM_SHA512_MLDSA87        CipherSuite = 0x0055
	MLS_256_MLKEM1024_CHACHA20POLY1305_SHA512_MLDSA87 CipherSuite = 0x0056
	MLS_256_XWING_AES256GCM_SHA512_MLDSA87            CipherSuite = 0x0057
	MLS_256_XWING_CHACHA20POLY1305_SHA512_MLDSA87     CipherSuite = 0x0058
)

// CipherSuites returns every supported suite in codepoint order.
func CipherSuites() []CipherSuite {
	out := make([]CipherSuite, len(suite.All))
	for i, id := range suite.All {
		out[i] = CipherSuite(id)
	}
	return out
}

// LookupCipherSuite returns the cipher suite with code point code (RFC
// 9420, Section 17.1), or an error matching ErrUnsupported if mlslab does
// not implement it (a reserved, GREASE or unknown code point).
func LookupCipherSuite(code uint16) (CipherSuite, error) {
	cs := CipherSuite(code)
	if !cs.IsValid() {
		return 0, protoErr(CodeUnsupported, "RFC 9420 §17.1 cipher suite", fmt.Sprintf("code point 0x%04x", code), nil)
	}
	return cs, nil
}

// lookupSuite returns the implementation of cs for the exported low-level
// functions that take a CipherSuite (an error matching ErrUnsupported for
// a suite mlslab does not implement).
func lookupSuite(cs CipherSuite) (*suite.Suite, error) {
	s, err := suite.Get(suite.ID(cs))
	if err != nil {
		return nil, protoErr(CodeUnsupported, "RFC 9420 §17.1 cipher suite", "", err)
	}
	return s, nil
}
