package core

import (
	"crypto/rand"
	"io"
	"sync"
)

// Config holds a member's policy and dependencies. The zero value is usable:
// crypto/rand, no lifetime checks, handshake messages as PublicMessage, no
// external PSKs.
type Config struct {
	// Rand is the source of every random value (leaf and path secrets,
	// HPKE encapsulations, reuse guards, init secrets). nil means
	// crypto/rand. With a seeded reader every output is reproducible.
	Rand io.Reader

	// Now returns the current time in Unix seconds for lifetime checks of
	// KeyPackages and leaves (RFC 9420, Section 7.3). nil: not checked.
	Now func() uint64

	// EncryptHandshake makes PrivateMessage, instead of PublicMessage,
	// the default wire format of proposals and commits; ProposeOptions and
	// CommitOptions choose it per message.
	EncryptHandshake bool

	// PaddingBlock pads PrivateMessage content to a multiple of this many
	// octets (RFC 9420, Section 6.3.1); <= 1 means no padding.
	PaddingBlock int

	// PSKs resolves external and resumption PSKs of other groups. nil: only
	// the group's own resumption PSKs are available.
	PSKs PSKStore

	// KeepEpochs is how many past epochs' resumption PSKs a Group retains
	// (RFC 9420, Section 8.6). 0 means 8.
	KeepEpochs int

	// MaxLeaves bounds the number of leaves of the ratchet tree (0 means
	// DefaultMaxTreeLeaves, 2^18). It is enforced on trees received in a
	// Welcome or GroupInfo (before the node array is allocated) and on
	// growth: Commit refuses, and Process and PublicGroup.ApplyCommit
	// reject, a commit whose Adds or external joiner would extend the tree
	// beyond it. Errors match ErrLimitExceeded. The decoders' fixed caps
	// (2^19 proposals per commit, 2^20 ciphertexts per UpdatePath and
	// secrets per Welcome) do not grow with it: above 2^19 leaves a
	// worst-case commit or Welcome may be rejected.
	MaxLeaves uint32

	// MaxMessageSize bounds the encoded MLSMessage Config.UnmarshalMLSMessage
	// accepts, checked before decoding (0 means DefaultMaxMessageSize,
	// 64 MiB).
	MaxMessageSize int

	// MaxCredentialSize bounds the content of every Credential the group
	// accepts from a peer: the identity of a basic credential, the encoded
	// certificate list of an x509 one (0 means DefaultMaxCredentialSize,
	// 64 KiB).
	MaxCredentialSize int

	// MaxExtensionSize bounds the extension_data of every extension other
	// than ratchet_tree the group accepts from a peer: in LeafNodes,
	// KeyPackages, GroupContextExtensions and ReInit proposals, GroupInfos
	// (0 means DefaultMaxExtensionSize, 1 MiB).
	//
	// MaxCredentialSize and MaxExtensionSize are checked by
	// Config.UnmarshalMLSMessage right after decoding, and by Process,
	// Commit, PublicGroup.ApplyCommit, Join and ExternalJoin before any
	// signature, tree or key schedule work on the object; errors match
	// ErrLimitExceeded.
	MaxExtensionSize int

	// SecretTree bounds out-of-order message keys (RFC 9420, Section 9.1).
	SecretTree SecretTreeLimits

	// ValidateCredential, if set, is the Authentication Service: it is
	// called for every credential a member must accept (new leaves in
	// Adds, Updates and commits, every leaf of a joined tree) and rejects
	// it with an error (RFC 9420, Section 5.3.1).
	ValidateCredential func(c *Credential, signatureKey []byte) error

	// ValidateSuccessor, if set, is the Authentication Service's successor
	// check (RFC 9420, Sections 5.3.1, 12.2): it is called whenever a
	// member's leaf is replaced, with the leaf index, the credential of
	// the leaf being replaced, the credential of its replacement and the
	// reason — an Update proposal (when received, when committed by this
	// member, when a commit covering it is processed), the LeafNode of a
	// commit's UpdatePath, or an external commit that removes leaf as the
	// joiner's previous appearance (resync). A non-nil error rejects the
	// proposal or commit with a *ProtocolError (CodeInvalidLeafNode)
	// wrapping it. It is also consulted, with the unchanged credential,
	// before this member proposes an Update or commits with a path, so the
	// member does not send what peers sharing its policy reject (the
	// Group API never changes a member's own credential). The credentials
	// must not be modified. nil means DefaultValidateSuccessor: the same
	// basic identity or the same x509 subject. ValidateCredential is still
	// called for the new credential. When ValidateCredential is nil there
	// is no Authentication Service (ValidateSuccessor compares credentials
	// but does not bind one to a signature key) and a credential is only a
	// claim, so a resync must moreover keep the removed leaf's signature
	// key (an external commit is signed by the joiner's new key, not the
	// removed leaf's).
	ValidateSuccessor func(leaf LeafIndex, oldCred, newCred *Credential, reason SuccessorReason) error

	// AcceptExternalProposal, if set, is asked about every proposal from an
	// external sender (RFC 9420, Section 12.1.8); nil accepts them.
	AcceptExternalProposal func(p *Proposal, senderIndex uint32) error
	// AcceptNewMemberProposal decides whether a client that is not a
	// member may ask to be added (an Add with sender new_member_proposal,
	// RFC 9420, Section 12.1.8): such a proposal needs only the group ID
	// and epoch, which every message shows. It is called with the
	// proposed KeyPackage (already validated) when the proposal is
	// received; nil refuses every such proposal. External commits are
	// authorized by publishing a GroupInfo with the external_pub
	// extension (Group.GroupInfo, CommitOptions.ExternalPub): whoever
	// holds it can join.
	AcceptNewMemberProposal func(kp *KeyPackage) error
	// DisableGREASE turns off GREASE (RFC 9420, Section 13.5). By default
	// (false, as Section 13.5 recommends) NewKeyPackage adds one GREASE
	// value, drawn from Rand, to each of the LeafNode's capabilities lists
	// cipher_suites, proposals and credentials, and a GREASE extension with
	// 0-15 random octets of data to KeyPackage.extensions whose type it
	// also lists in capabilities.extensions (Section 10). The GREASE values
	// travel with the leaf (Updates and commits reuse its capabilities);
	// they never count as supported by this client itself (Section 13.5).
	// GREASE adds 11-26 octets to a KeyPackage and 8 to each LeafNode
	// derived from it. Set DisableGREASE where encodings must not change
	// (the simulator, whose size model does not count them). GREASE is not
	// put in LeafNode.extensions or GroupInfo.extensions (which Section
	// 13.5 also allows): it would grow every leaf of the tree and every
	// Welcome.
	DisableGREASE bool
}

func (c *Config) rand() io.Reader {
	if c == nil || c.Rand == nil {
		return rand.Reader
	}
	return c.Rand
}

func (c *Config) grease() bool { return c == nil || !c.DisableGREASE }

func (c *Config) now() uint64 {
	if c == nil || c.Now == nil {
		return 0
	}
	return c.Now()
}

func (c *Config) keepEpochs() int {
	if c == nil || c.KeepEpochs <= 0 {
		return 8
	}
	return c.KeepEpochs
}

func (c *Config) maxLeaves() uint32 {
	if c == nil || c.MaxLeaves == 0 {
		return DefaultMaxTreeLeaves
	}
	return c.MaxLeaves
}

// PSKStore resolves pre-shared keys (RFC 9420, Section 8.4).
type PSKStore interface {
	// ExternalPSK returns the external PSK with the given ID.
	ExternalPSK(id []byte) ([]byte, bool)
	// ResumptionPSK returns the resumption_psk of epoch of group groupID.
	ResumptionPSK(groupID []byte, epoch uint64) ([]byte, bool)
}

// MemoryPSKStore is a concurrency-safe in-memory PSKStore.
type MemoryPSKStore struct {
	mu sync.RWMutex
	// The PSKs sit behind a pointer so that fmt, printing a MemoryPSKStore
	// nested in another value by reflection, prints an address and not
	// the PSKs (see redact.go).
	psks *memoryPSKs
}

type memoryPSKs struct {
	external   map[string][]byte
	resumption map[string][]byte
}

var _ PSKStore = (*MemoryPSKStore)(nil)

// AddExternal stores an external PSK.
func (s *MemoryPSKStore) AddExternal(id, psk []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.psks == nil {
		s.psks = &memoryPSKs{}
	}
	if s.psks.external == nil {
		s.psks.external = map[string][]byte{}
	}
	s.psks.external[string(id)] = append([]byte(nil), psk...)
}

// AddResumption stores the resumption PSK of an epoch of a group.
func (s *MemoryPSKStore) AddResumption(groupID []byte, epoch uint64, psk []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.psks == nil {
		s.psks = &memoryPSKs{}
	}
	if s.psks.resumption == nil {
		s.psks.resumption = map[string][]byte{}
	}
	s.psks.resumption[resumptionKey(groupID, epoch)] = append([]byte(nil), psk...)
}

// ExternalPSK implements PSKStore.
func (s *MemoryPSKStore) ExternalPSK(id []byte) ([]byte, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.psks == nil {
		return nil, false
	}
	v, ok := s.psks.external[string(id)]
	return v, ok
}

// ResumptionPSK implements PSKStore.
func (s *MemoryPSKStore) ResumptionPSK(groupID []byte, epoch uint64) ([]byte, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.psks == nil {
		return nil, false
	}
	v, ok := s.psks.resumption[resumptionKey(groupID, epoch)]
	return v, ok
}

func resumptionKey(groupID []byte, epoch uint64) string {
	b := make([]byte, 8, 8+len(groupID))
	for i := range 8 {
		b[i] = byte(epoch >> (56 - 8*i))
	}
	return string(append(b, groupID...))
}
