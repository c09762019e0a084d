package mls

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
	// An UpdatePathNode has a ciphertext per resolution node of its
	// copath child, at most one per leaf below it.
	maxPathCiphertexts = 1 << 19
	// A Welcome has a secret per new member.
	maxWelcomeSecrets = 1 << 19
	// GroupSecrets lists the commit's PSKs.
	maxGroupSecretsPSKs = 1 << 16
	// An x509 credential is a certificate chain.
	maxCertificates = 256
)

// readListMax is codec.ReadList with at most max elements.
func readListMax(s *cryptobyte.String, max int, f func(*cryptobyte.String) error) error {
	n := 0
	return codec.ReadList(s, func(s *cryptobyte.String) error {
		if n++; n > max {
			return fmt.Errorf("%w: %w: more than %d elements", codec.ErrTooLarge, ErrLimitExceeded, max)
		}
		return f(s)
	})
}
