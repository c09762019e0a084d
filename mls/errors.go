package mls

import (
	"errors"

	"github.com/mlslab/mlslab/mls/core"
)

// ProtocolError is a violation of an RFC 9420 rule by a message, tree or
// KeyPackage: Rule names the section and the rule that failed. errors.Is
// matches it against the sentinel of its kind (ErrInvalidSignature, ...).
// The type is shared with the low-level package, as os.PathError is with
// io/fs.
type ProtocolError = core.ProtocolError

// Errors callers branch on, with errors.Is. Every rejected message, proposal
// or state leaves the Group exactly as it was.
var (
	// A message is for an epoch other than the group's current one.
	ErrWrongEpoch = core.ErrWrongEpoch
	// A message carries another group's ID.
	ErrWrongGroup = core.ErrWrongGroup
	// The sender is not a member (blank leaf or out of range).
	ErrUnknownSender = core.ErrUnknownSender
	// The member was removed or the group was reinitialized: it can no
	// longer send or process.
	ErrInactive = core.ErrInactive
	// Merge was given a commit built in another state or epoch.
	ErrStalePendingCommit = core.ErrStalePendingCommit
	// A size limit of the Config was exceeded.
	ErrLimitExceeded = core.ErrLimitExceeded
	// An exporter length out of range.
	ErrExportLength = core.ErrExportLength
	// A proposal names a PSK the PSKStore does not have, or a bad PSK.
	ErrInvalidPSK = core.ErrInvalidPSK
	// An unsupported protocol version.
	ErrUnsupportedVersion = core.ErrUnsupportedVersion
	// A credential may not replace a leaf's credential
	// (DefaultValidateSuccessor).
	ErrCredentialNotSuccessor = core.ErrCredentialNotSuccessor
	// A PrivateMessage's key was already used (a replay), or was deleted
	// as too old (RFC 9420, Sections 9.2, 15.3).
	ErrKeyUsed          = core.ErrKeyUsed
	ErrGenerationTooOld = core.ErrGenerationTooOld

	// Kinds of ProtocolError.
	ErrDecode            = core.ErrDecode
	ErrInvalidSignature  = core.ErrInvalidSignature
	ErrInvalidMAC        = core.ErrInvalidMAC
	ErrTreeHash          = core.ErrTreeHash
	ErrParentHash        = core.ErrParentHash
	ErrInvalidTree       = core.ErrInvalidTree
	ErrInvalidLeafNode   = core.ErrInvalidLeafNode
	ErrInvalidKeyPackage = core.ErrInvalidKeyPackage
	ErrInvalidProposal   = core.ErrInvalidProposal
	ErrInvalidCommit     = core.ErrInvalidCommit
	ErrInvalidWelcome    = core.ErrInvalidWelcome
	ErrDecrypt           = core.ErrDecrypt
	ErrUnsupported       = core.ErrUnsupported
	ErrInvalidMessage    = core.ErrInvalidMessage
	ErrKeyReuse          = core.ErrKeyReuse

	// SealApplication was called while the epoch has cached proposals,
	// which must be committed first (RFC 9420, Section 12.4).
	ErrPendingProposals = errors.New("mls: proposals pending; commit before sending application data")
)
