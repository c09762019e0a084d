package mls

import "github.com/mlslab/mlslab/mls/core"

// CipherSuite is an MLS cipher suite code point (RFC 9420, Section 17.1).
type CipherSuite uint16

// The cipher suites of RFC 9420, Section 17.1 (all implemented).
const (
	MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519        = CipherSuite(core.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
	MLS_128_DHKEMP256_AES128GCM_SHA256_P256             = CipherSuite(core.MLS_128_DHKEMP256_AES128GCM_SHA256_P256)
	MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519 = CipherSuite(core.MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519)
	MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448            = CipherSuite(core.MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448)
	MLS_256_DHKEMP521_AES256GCM_SHA512_P521             = CipherSuite(core.MLS_256_DHKEMP521_AES256GCM_SHA512_P521)
	MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448     = CipherSuite(core.MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448)
	MLS_256_DHKEMP384_AES256GCM_SHA384_P384             = CipherSuite(core.MLS_256_DHKEMP384_AES256GCM_SHA384_P384)
)

// Post-quantum suites: ML-KEM-512, ML-KEM-768 or ML-KEM-1024 (FIPS 203) or
// the X-Wing hybrid (ML-KEM-768 + X25519, draft-connolly-cfrg-xwing-kem)
// with Ed25519 or ML-DSA-87 (FIPS 204), all with HKDF-SHA512 as KDF. Their
// code points are not assigned by IANA; these are ts-mls 1.6.4's
// (mls/internal/suite/pq.go gives each one's source and where OpenMLS
// differs). In 0x004D-0x0050 the hash named in the suite (SHA-256,
// SHA-384; references, tree and transcript hashes, MACs) differs from the
// KDF's (secrets are 64 bytes), and 0x004D's AEAD is AES-256-GCM despite
// its name, as in ts-mls.
const (
	MLS_128_MLKEM512_AES128GCM_SHA256_Ed25519         = CipherSuite(core.MLS_128_MLKEM512_AES128GCM_SHA256_Ed25519)
	MLS_128_MLKEM512_CHACHA20POLY1305_SHA256_Ed25519  = CipherSuite(core.MLS_128_MLKEM512_CHACHA20POLY1305_SHA256_Ed25519)
	MLS_256_MLKEM768_AES256GCM_SHA384_Ed25519         = CipherSuite(core.MLS_256_MLKEM768_AES256GCM_SHA384_Ed25519)
	MLS_256_MLKEM768_CHACHA20POLY1305_SHA384_Ed25519  = CipherSuite(core.MLS_256_MLKEM768_CHACHA20POLY1305_SHA384_Ed25519)
	MLS_256_MLKEM1024_AES256GCM_SHA512_Ed25519        = CipherSuite(core.MLS_256_MLKEM1024_AES256GCM_SHA512_Ed25519)
	MLS_256_MLKEM1024_CHACHA20POLY1305_SHA512_Ed25519 = CipherSuite(core.MLS_256_MLKEM1024_CHACHA20POLY1305_SHA512_Ed25519)
	MLS_256_XWING_AES256GCM_SHA512_Ed25519            = CipherSuite(core.MLS_256_XWING_AES256GCM_SHA512_Ed25519)
	MLS_256_XWING_CHACHA20POLY1305_SHA512_Ed25519     = CipherSuite(core.MLS_256_XWING_CHACHA20POLY1305_SHA512_Ed25519)
	MLS_256_MLKEM1024_AES256GCM_SHA512_MLDSA87        = CipherSuite(core.MLS_256_MLKEM1024_AES256GCM_SHA512_MLDSA87)
	MLS_256_MLKEM1024_CHACHA20POLY1305_SHA512_MLDSA87 = CipherSuite(core.MLS_256_MLKEM1024_CHACHA20POLY1305_SHA512_MLDSA87)
	MLS_256_XWING_AES256GCM_SHA512_MLDSA87            = CipherSuite(core.MLS_256_XWING_AES256GCM_SHA512_MLDSA87)
	MLS_256_XWING_CHACHA20POLY1305_SHA512_MLDSA87     = CipherSuite(core.MLS_256_XWING_CHACHA20POLY1305_SHA512_MLDSA87)
)

// String returns the suite's RFC 9420 name, or its code point in hex.
func (cs CipherSuite) String() string { return core.CipherSuite(cs).String() }

// CipherSuites returns every cipher suite this package implements, in code
// point order.
func CipherSuites() []CipherSuite {
	all := core.CipherSuites()
	out := make([]CipherSuite, len(all))
	for i, cs := range all {
		out[i] = CipherSuite(cs)
	}
	return out
}

// LookupCipherSuite returns the suite with code point code, or an error
// matching ErrUnsupported for a reserved, GREASE or unknown code point.
func LookupCipherSuite(code uint16) (CipherSuite, error) {
	cs, err := core.LookupCipherSuite(code)
	return CipherSuite(cs), err
}

// WireFormat says which message an MLSMessage carries (RFC 9420, Section 6).
type WireFormat uint16

// Wire formats (RFC 9420, Section 17.2).
const (
	WireFormatPublicMessage  = WireFormat(core.WireFormatPublicMessage)
	WireFormatPrivateMessage = WireFormat(core.WireFormatPrivateMessage)
	WireFormatWelcome        = WireFormat(core.WireFormatWelcome)
	WireFormatGroupInfo      = WireFormat(core.WireFormatGroupInfo)
	WireFormatKeyPackage     = WireFormat(core.WireFormatKeyPackage)
)

func (w WireFormat) String() string { return core.WireFormat(w).String() }

// ContentType is the kind of a framed message (RFC 9420, Section 6).
type ContentType uint8

// Content types.
const (
	ContentTypeApplication = ContentType(core.ContentTypeApplication)
	ContentTypeProposal    = ContentType(core.ContentTypeProposal)
	ContentTypeCommit      = ContentType(core.ContentTypeCommit)
)

func (c ContentType) String() string { return core.ContentType(c).String() }

// SenderType is the kind of sender of a message (RFC 9420, Section 6).
type SenderType uint8

// Sender types.
const (
	SenderTypeMember            = SenderType(core.SenderTypeMember)
	SenderTypeExternal          = SenderType(core.SenderTypeExternal)
	SenderTypeNewMemberProposal = SenderType(core.SenderTypeNewMemberProposal)
	SenderTypeNewMemberCommit   = SenderType(core.SenderTypeNewMemberCommit)
)

func (t SenderType) String() string { return core.SenderType(t).String() }

// ExtensionType is an extension code point (RFC 9420, Section 17.3).
type ExtensionType uint16

// The extension types of RFC 9420, Section 17.3.
const (
	ExtensionApplicationID        = ExtensionType(core.ExtensionApplicationID)
	ExtensionRatchetTree          = ExtensionType(core.ExtensionRatchetTree)
	ExtensionRequiredCapabilities = ExtensionType(core.ExtensionRequiredCapabilities)
	ExtensionExternalPub          = ExtensionType(core.ExtensionExternalPub)
	ExtensionExternalSenders      = ExtensionType(core.ExtensionExternalSenders)
)

func (t ExtensionType) String() string { return core.ExtensionType(t).String() }

// ProposalType is a proposal code point (RFC 9420, Section 17.4).
type ProposalType uint16

// The proposal types of RFC 9420, Section 17.4.
const (
	ProposalTypeAdd                    = ProposalType(core.ProposalTypeAdd)
	ProposalTypeUpdate                 = ProposalType(core.ProposalTypeUpdate)
	ProposalTypeRemove                 = ProposalType(core.ProposalTypeRemove)
	ProposalTypePSK                    = ProposalType(core.ProposalTypePSK)
	ProposalTypeReInit                 = ProposalType(core.ProposalTypeReInit)
	ProposalTypeExternalInit           = ProposalType(core.ProposalTypeExternalInit)
	ProposalTypeGroupContextExtensions = ProposalType(core.ProposalTypeGroupContextExtensions)
)

func (t ProposalType) String() string { return core.ProposalType(t).String() }

// CredentialType is a credential code point (RFC 9420, Section 17.5).
type CredentialType uint16

// Credential types.
const (
	CredentialBasic = CredentialType(core.CredentialBasic)
	CredentialX509  = CredentialType(core.CredentialX509)
)

func (t CredentialType) String() string { return core.CredentialType(t).String() }

// LeafIndex is a member's position in the group's ratchet tree (RFC 9420,
// Section 4.1): members are named by leaf index in proposals and results.
type LeafIndex uint32
