package core

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/codec"
)

// ErrLimitExceeded is matched (errors.Is) by every rejection of an input
// for exceeding a size limit of Config (MaxLeaves, MaxMessageSize,
// MaxCredentialSize, MaxExtensionSize) or its default, or one of the
// decoders' fixed caps on list lengths. The error is a *ProtocolError whose
// Code says what was rejected (ErrDecode for an encoded message,
// ErrInvalidTree for a ratchet tree, ErrInvalidLeafNode,
// ErrInvalidKeyPackage, ErrInvalidProposal, ...) with ErrLimitExceeded as
// its cause, or, for a list cap, a *codec.Error.
var ErrLimitExceeded = errors.New("mls: size limit exceeded")

// Default size limits (the values Config's zero fields stand for). They
// admit a 100 000-member group with room to spare: for suite 0x0001 a
// member's LeafNode with a basic credential is about 190 octets and a
// parent node about 70, so the ratchet tree of a 100 000-member group (2^17
// leaves) encodes to about 26 MB, carried by a Welcome or GroupInfo with an
// inline tree.
const (
	// DefaultMaxMessageSize is the largest encoded MLSMessage the decoders
	// accept: 64 MiB (2.5 times the tree of a 100 000-member group).
	DefaultMaxMessageSize = 64 << 20
	// DefaultMaxCredentialSize bounds a Credential's content: 64 KiB of
	// identity, or of encoded certificate chain for x509.
	DefaultMaxCredentialSize = 64 << 10
	// DefaultMaxExtensionSize bounds the extension_data of one extension
	// other than ratchet_tree (which MaxLeaves and MaxMessageSize bound):
	// 1 MiB.
	DefaultMaxExtensionSize = 1 << 20
)

// limits are the effective size limits of a Config.
type limits struct {
	message    int
	credential int
	extension  int
	leaves     uint32
}

func (c *Config) limits() limits {
	l := limits{message: DefaultMaxMessageSize, credential: DefaultMaxCredentialSize, extension: DefaultMaxExtensionSize, leaves: c.maxLeaves()}
	if c != nil {
		if c.MaxMessageSize > 0 {
			l.message = c.MaxMessageSize
		}
		if c.MaxCredentialSize > 0 {
			l.credential = c.MaxCredentialSize
		}
		if c.MaxExtensionSize > 0 {
			l.extension = c.MaxExtensionSize
		}
	}
	return l
}

const (
	ruleLimitMessage    = "MaxMessageSize"
	ruleLimitCredential = "MaxCredentialSize"
	ruleLimitExtension  = "MaxExtensionSize"
	ruleLimitLeaves     = "MaxLeaves"
)

func limitErr(code ErrorCode, rule string, detail string) *ProtocolError {
	return protoErr(code, "size limit "+rule, detail, ErrLimitExceeded)
}

// credentialSize is the encoded size of a credential's content.
func credentialSize(c *Credential) int {
	n := len(c.Identity)
	for _, cert := range c.Certificates {
		n += len(cert) + len(appendVarint(nil, uint32(len(cert))))
	}
	return n
}

func (l limits) checkCredential(code ErrorCode, c *Credential) error {
	if n := credentialSize(c); n > l.credential {
		return limitErr(code, ruleLimitCredential, fmt.Sprintf("credential of %d octets (limit %d)", n, l.credential))
	}
	return nil
}

// extensions checks every extension but ratchet_tree.
func (l limits) checkExtensions(code ErrorCode, exts Extensions) error {
	for _, e := range exts {
		if e.Type != ExtensionRatchetTree && len(e.Data) > l.extension {
			return limitErr(code, ruleLimitExtension, fmt.Sprintf("extension %v of %d octets (limit %d)", e.Type, len(e.Data), l.extension))
		}
	}
	return nil
}

func (l limits) checkLeafNode(code ErrorCode, ln *LeafNode) error {
	if err := l.checkCredential(code, &ln.Credential); err != nil {
		return err
	}
	return l.checkExtensions(code, ln.Extensions)
}

func (l limits) checkKeyPackage(kp *KeyPackage) error {
	if err := l.checkLeafNode(CodeInvalidKeyPackage, &kp.LeafNode); err != nil {
		return err
	}
	return l.checkExtensions(CodeInvalidKeyPackage, kp.Extensions)
}

func (l limits) checkProposal(p *Proposal) error {
	if p == nil {
		return nil
	}
	switch b := p.Body.(type) {
	case *Add:
		return l.checkKeyPackage(&b.KeyPackage)
	case *Update:
		return l.checkLeafNode(CodeInvalidProposal, &b.LeafNode)
	case *GroupContextExtensions:
		return l.checkExtensions(CodeInvalidProposal, b.Extensions)
	case *ReInit:
		return l.checkExtensions(CodeInvalidProposal, b.Extensions)
	}
	return nil
}

func (l limits) checkCommit(c *Commit) error {
	if c == nil {
		return nil
	}
	for i := range c.Proposals {
		if err := l.checkProposal(c.Proposals[i].Proposal); err != nil {
			return err
		}
	}
	if c.Path != nil {
		return l.checkLeafNode(CodeInvalidCommit, &c.Path.LeafNode)
	}
	return nil
}

func (l limits) checkContent(p *Proposal, c *Commit) error {
	if err := l.checkProposal(p); err != nil {
		return err
	}
	return l.checkCommit(c)
}

func (l limits) checkGroupInfo(gi *GroupInfo) error {
	if err := l.checkExtensions(CodeInvalidWelcome, gi.GroupContext.Extensions); err != nil {
		return err
	}
	return l.checkExtensions(CodeInvalidWelcome, gi.Extensions)
}

// message checks a decoded message's credentials and extensions (what is
// visible without decryption).
func (l limits) checkMessage(m *MLSMessage) error {
	switch {
	case m.PublicMessage != nil:
		return l.checkContent(m.PublicMessage.Content.Proposal, m.PublicMessage.Content.Commit)
	case m.GroupInfo != nil:
		return l.checkGroupInfo(m.GroupInfo)
	case m.KeyPackage != nil:
		return l.checkKeyPackage(m.KeyPackage)
	}
	return nil
}

// Hard caps on the number of elements of lists whose elements encode in a
// few octets but decode into much larger Go values (a 2-octet ProposalOrRef
// is a 40-byte struct): without them a 16 MiB commit of empty references
// allocated 2 GB. Each is far above what a valid message holds; exceeding
// one is a decoding error (*codec.Error) matching codec.ErrTooLarge and
// ErrLimitExceeded.
const (
	// A Commit covers at most 2^19 proposals: under the default leaf limit
	// a valid commit has at most 2^18 Adds and 2^18 Updates or Removes.
	maxCommitProposals = 1 << 19
	// An UpdatePath has a node per filtered direct path node: at most 31
	// for the largest tree of 2^31 leaves (RFC 9420, Section 7.6).
	maxPathNodes = 32
	// An UpdatePath has a ciphertext per resolution node of each copath
	// child, at most one per leaf other than the sender's: this caps the
	// ciphertexts of the whole path (all nodes together, counted while
	// reading) at 4*DefaultMaxTreeLeaves.
	maxPathCiphertexts = 1 << 20
	// A Welcome has a secret per new member, at most one per leaf.
	maxWelcomeSecrets = 1 << 20
	// At most one GroupContextExtensions, ReInit or ExternalInit proposal
	// is valid in a Commit (RFC 9420, Section 12.2); a commit with a few
	// is decoded so validation can report the rule, more is a decoding
	// error.
	maxSingletonProposals = 16
	// GroupSecrets lists the commit's PSKs.
	maxGroupSecretsPSKs = 1 << 16
	// An x509 credential is a certificate chain.
	maxCertificates = 256
)

// Minimum lengths of fields whose value is a cryptographic output of a
// known minimum size in every cipher suite RFC 9420 defines (Section
// 17.1). The decoders reject anything shorter, so that every list element
// costs enough input octets to pay for its decoded size.
const (
	// A KEM output (enc) is Nenc octets: 32 for DHKEM(X25519), 56 for
	// X448, 65, 97 and 133 for P-256, P-384 and P-521 (RFC 9180, Section
	// 7.1). RFC 9420 carries it in HPKECiphertext.kem_output (Section 7.6)
	// and ExternalInit.kem_output (Section 12.1.6).
	minKEMOutput = 32
	// An HPKE ciphertext is the AEAD encryption of its plaintext, so at
	// least the 16-octet tag of AES-GCM and ChaCha20Poly1305 (RFC 9180,
	// Section 7.3; RFC 9420, Section 7.6).
	minAEADCiphertext = 16
	// A hash output (KeyPackageRef and ProposalRef are RefHash values,
	// RFC 9420 Section 5.2) or a value of length KDF.Nh (psk_nonce,
	// Section 8.4): 32, 48 or 64 octets for SHA-256, SHA-384 and SHA-512.
	minHashOutput = 32
	// A public key is Npk octets for HPKE (32 for X25519, 56 for X448,
	// 65, 97 and 133 for P-256, P-384 and P-521, RFC 9180, Section 7.1)
	// and 32, 57, 65, 97 or 133 octets for the signature schemes (RFC 9420,
	// Section 5.1.1): LeafNode.encryption_key and signature_key,
	// KeyPackage.init_key, UpdatePathNode.encryption_key.
	minPublicKey = 32
	// The shortest ProposalOrRef: a GroupContextExtensions with no
	// extensions by value (type, proposal_type, empty vector).
	minProposalOrRef = 1 + 2 + 1
	// The shortest PreSharedKeyID: external, empty psk_id, a psk_nonce.
	minPSKID = 1 + 1 + 1 + minHashOutput
)

// readOpaqueMin is codec.ReadOpaque rejecting values shorter than min.
func readOpaqueMin(s *cryptobyte.String, min int) ([]byte, error) {
	b, err := codec.ReadOpaque(s)
	if err != nil {
		return nil, err
	}
	if len(b) < min {
		return nil, &codec.Error{Err: fmt.Errorf("%w: %d octets, shorter than the minimum %d", codec.ErrInvalidValue, len(b), min)}
	}
	return b, nil
}

// readListMax is codec.ReadList with at most max elements.
func readListMax(s *cryptobyte.String, max int, f func(*cryptobyte.String) error) error {
	n := 0
	return codec.ReadList(s, func(s *cryptobyte.String) error {
		if n++; n > max {
			return tooManyErr(max)
		}
		return f(s)
	})
}

func tooManyErr(max int) error {
	return fmt.Errorf("%w: %w: more than %d elements", codec.ErrTooLarge, ErrLimitExceeded, max)
}

// readVec reads a vector T<V> of at most max elements, each at least
// minWire octets on the wire, decoding each with dec.
//
// It never grows a slice by appending (Go grows a large slice by 1.25x,
// so appending n elements allocates up to about 6n of them): elements are
// decoded into chunks of at most vecChunk elements, each no larger than
// the remaining input can fill (len(rest)/minWire), and a list that
// outgrows its first chunk is copied once into a slice of its exact
// length. The slice storage a list costs is therefore at most
// 2*sizeof(T) per element plus one chunk, whatever the input.
//
// The result is non-nil (empty, not nil, for an empty vector), so
// decoded values compare equal to ones built with literals.
func readVec[T any](s *cryptobyte.String, max, minWire int, dec func(*T, *cryptobyte.String) error) ([]T, error) {
	return readVecChunked(s, max, minWire, vecChunk, dec)
}

func readVecChunked[T any](s *cryptobyte.String, max, minWire, chunk int, dec func(*T, *cryptobyte.String) error) ([]T, error) {
	body, err := codec.ReadVector(s)
	if err != nil {
		return nil, err
	}
	var (
		chunks [][]T
		cur    []T
		n      int
	)
	for !body.Empty() {
		if n++; n > max {
			return nil, tooManyErr(max)
		}
		if len(cur) == cap(cur) {
			if cur != nil {
				chunks = append(chunks, cur)
			}
			c := len(body)/minWire + 1
			c = min(c, chunk, max-n+1)
			cur = make([]T, 0, c)
		}
		cur = cur[:len(cur)+1]
		before := len(body)
		if err := dec(&cur[len(cur)-1], &body); err != nil {
			return nil, err
		}
		if len(body) == before {
			return nil, &codec.Error{Err: fmt.Errorf("%w: list element consumed no input", codec.ErrInvalidValue)}
		}
	}
	if chunks == nil {
		if cur == nil {
			return []T{}, nil
		}
		return cur, nil
	}
	out := make([]T, 0, n)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return append(out, cur...), nil
}

// readVecCounted is readVec for element types with a cheap skip function:
// the vector is walked once with skip to count (and bound) its elements,
// then decoded into a slice of exactly that length, so the slice costs
// sizeof(T) per element and nothing more.
func readVecCounted[T any](s *cryptobyte.String, max, minWire int, skip func(*cryptobyte.String) error, dec func(*T, *cryptobyte.String) error) ([]T, error) {
	saved := *s
	body, err := codec.ReadVector(s)
	if err != nil {
		return nil, err
	}
	n := 0
	for rest := body; !rest.Empty(); {
		if n++; n > max {
			return nil, tooManyErr(max)
		}
		before := len(rest)
		if err := skip(&rest); err != nil {
			break // dec reports it, at the same element
		}
		if before-len(rest) < minWire {
			break
		}
	}
	*s = saved
	return readVecChunked(s, n, minWire, max, dec)
}

// vecChunk is readVec's largest chunk, in elements.
const vecChunk = 1024
