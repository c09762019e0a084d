package mls

import (
	"bytes"
	"fmt"
	"io"

	"github.com/mlslab/mlslab/mls/core"
)

// Config holds a member's policy and dependencies. The zero value (and nil)
// is usable: crypto/rand, no lifetime checks, handshake messages as
// PublicMessage, no external PSKs, the default size limits. A Group copies
// its Config when it is created or joined: changing a Config afterwards
// affects only groups created from it later.
type Config struct {
	// Rand is the source of every random value (leaf and path secrets,
	// HPKE encapsulations, reuse guards, init secrets). nil means
	// crypto/rand. With a seeded reader every output is reproducible.
	Rand io.Reader
	// Now returns the current time in Unix seconds for lifetime checks of
	// KeyPackages and leaves (RFC 9420, Section 7.3). nil: not checked.
	Now func() uint64
	// EncryptHandshake makes PrivateMessage, instead of PublicMessage, the
	// default wire format of proposals and commits; ProposeOptions and
	// CommitOptions choose it per message.
	EncryptHandshake bool
	// PaddingBlock pads PrivateMessage content to a multiple of this many
	// octets (RFC 9420, Section 6.3.1); <= 1 means no padding.
	PaddingBlock int
	// PSKs resolves external PSKs and resumption PSKs of other groups. nil:
	// only the group's own resumption PSKs are available.
	PSKs PSKStore
	// KeepEpochs is how many past epochs' resumption PSKs a Group retains
	// (RFC 9420, Section 8.6). 0 means 8.
	KeepEpochs int
	// Size limits on what a peer sends; 0 means the default (2^18 leaves,
	// 64 MiB messages, 64 KiB credentials, 1 MiB extensions). Rejections
	// match ErrLimitExceeded. See the package documentation.
	MaxLeaves         uint32
	MaxMessageSize    int
	MaxCredentialSize int
	MaxExtensionSize  int
	// MaxForwardDistance bounds how far ahead of the last message key of a
	// sender a PrivateMessage may be (0 means 1000), and MaxRetainedKeys
	// how many skipped keys are kept for out-of-order messages (0 means
	// the default) (RFC 9420, Sections 9.2, 15.3).
	MaxForwardDistance uint32
	MaxRetainedKeys    int
	// ValidateCredential, if set, is the Authentication Service: it is
	// called for every credential a member must accept (new leaves in
	// Adds, Updates and commits, every leaf of a joined tree) and rejects
	// it with an error (RFC 9420, Section 5.3.1). nil accepts every
	// credential: set it in any deployment.
	ValidateCredential func(c Credential, signatureKey []byte) error
	// ValidateSuccessor, if set, decides whether newCred may replace
	// oldCred at leaf (RFC 9420, Sections 5.3.1, 12.2): on Updates, on the
	// leaf of a commit's path, and on an external commit that removes the
	// joiner's previous leaf. nil means the same basic identity or the
	// same x509 subject.
	ValidateSuccessor func(leaf LeafIndex, oldCred, newCred Credential, reason SuccessorReason) error
	// AcceptExternalProposal, if set, is asked about every proposal from an
	// external sender (RFC 9420, Section 12.1.8); nil accepts them.
	AcceptExternalProposal func(p ProposalBody, senderIndex uint32) error
	// AcceptNewMemberProposal decides whether a client that is not a
	// member may ask to be added (NewMemberAddProposal; RFC 9420, Section
	// 12.1.8): such a request needs only the group ID and epoch, which
	// every message shows. nil refuses every such request. (External
	// joins are authorized by publishing a GroupInfo with ExternalPub.)
	AcceptNewMemberProposal func(kp *KeyPackage) error
	// DisableGREASE turns off GREASE values in new KeyPackages (RFC 9420,
	// Section 13.5; on by default, as the RFC recommends).
	DisableGREASE bool
}

// SuccessorReason says why a leaf's credential is being replaced.
type SuccessorReason uint8

// Reasons passed to Config.ValidateSuccessor.
const (
	SuccessorUpdate = SuccessorReason(core.SuccessorUpdate) // an Update proposal
	SuccessorCommit = SuccessorReason(core.SuccessorCommit) // the leaf of a commit's UpdatePath
	SuccessorResync = SuccessorReason(core.SuccessorResync) // an external commit replacing the joiner's old leaf
)

func (r SuccessorReason) String() string { return core.SuccessorReason(r).String() }

// PSKStore resolves pre-shared keys (RFC 9420, Section 8.4): external PSKs
// by their ID, resumption PSKs of other groups by group ID and epoch.
type PSKStore interface {
	ExternalPSK(id []byte) ([]byte, bool)
	ResumptionPSK(groupID []byte, epoch uint64) ([]byte, bool)
}

// core returns the low-level configuration c stands for.
func (c *Config) core() *core.Config {
	if c == nil {
		return &core.Config{}
	}
	cc := &core.Config{
		Rand:              c.Rand,
		Now:               c.Now,
		EncryptHandshake:  c.EncryptHandshake,
		PaddingBlock:      c.PaddingBlock,
		KeepEpochs:        c.KeepEpochs,
		MaxLeaves:         c.MaxLeaves,
		MaxMessageSize:    c.MaxMessageSize,
		MaxCredentialSize: c.MaxCredentialSize,
		MaxExtensionSize:  c.MaxExtensionSize,
		SecretTree:        core.SecretTreeLimits{MaxForwardDistance: c.MaxForwardDistance, MaxRetainedKeys: c.MaxRetainedKeys},
		DisableGREASE:     c.DisableGREASE,
	}
	if c.PSKs != nil {
		cc.PSKs = c.PSKs
	}
	if f := c.ValidateCredential; f != nil {
		cc.ValidateCredential = func(cr *core.Credential, key []byte) error { return f(credentialFromCore(cr), bytes.Clone(key)) }
	}
	if f := c.ValidateSuccessor; f != nil {
		cc.ValidateSuccessor = func(leaf core.LeafIndex, o, n *core.Credential, r core.SuccessorReason) error {
			return f(LeafIndex(leaf), credentialFromCore(o), credentialFromCore(n), SuccessorReason(r))
		}
	}
	if f := c.AcceptExternalProposal; f != nil {
		cc.AcceptExternalProposal = func(p *core.Proposal, sender uint32) error { return f(proposalFromCore(p), sender) }
	}
	if f := c.AcceptNewMemberProposal; f != nil {
		cc.AcceptNewMemberProposal = func(kp *core.KeyPackage) error { return f(&KeyPackage{kp}) }
	}
	return cc
}

// Format prints the Config with Rand and PSKs redacted, with every verb: a
// seeded reader or a map-based PSKStore would otherwise print its state.
// fmt calls it for a Config printed directly, through a pointer or nested
// in exported fields; a Config value reached through an unexported field
// is printed by reflection, fields included.
func (c Config) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "mls.Config{Rand: %s, PSKs: %s, EncryptHandshake: %t, PaddingBlock: %d, KeepEpochs: %d, "+
		"MaxLeaves: %d, MaxMessageSize: %d, MaxCredentialSize: %d, MaxExtensionSize: %d, "+
		"MaxForwardDistance: %d, MaxRetainedKeys: %d, DisableGREASE: %t}",
		redactedIfSet(c.Rand != nil), redactedIfSet(c.PSKs != nil), c.EncryptHandshake, c.PaddingBlock, c.KeepEpochs,
		c.MaxLeaves, c.MaxMessageSize, c.MaxCredentialSize, c.MaxExtensionSize,
		c.MaxForwardDistance, c.MaxRetainedKeys, c.DisableGREASE)
}

func redactedIfSet(set bool) string {
	if set {
		return "REDACTED"
	}
	return "nil"
}
