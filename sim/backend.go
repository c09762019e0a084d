package sim

import (
	"time"

	"github.com/mlslab/mlslab/sim/size"
	"github.com/mlslab/mlslab/sim/symtree"
)

// MemberID identifies one simulated client (one device, one leaf).
type MemberID = int32

// ProposalKind is the kind of a proposal the simulator generates.
type ProposalKind uint8

// Proposal kinds (RFC 9420, Section 12.1).
const (
	PropAdd ProposalKind = iota + 1
	PropUpdate
	PropRemove
)

func (k ProposalKind) String() string {
	switch k {
	case PropAdd:
		return "add"
	case PropUpdate:
		return "update"
	case PropRemove:
		return "remove"
	}
	return "unknown"
}

// CommitProposal is one entry of a commit's proposals vector.
type CommitProposal struct {
	Kind    ProposalKind
	Sender  MemberID // who sent the proposal (the committer for inline ones)
	Subject MemberID // the joiner (Add), the removed member (Remove), the updater (Update)
	ByRef   bool     // sent earlier as its own message, included by ProposalRef
	// Ghost marks an Add of a ghost member: a KeyPackage the adversary of
	// CommitSpec.Adversary generated and controls (it is never a real
	// receiver; the adversary holds its keys).
	Ghost bool
}

// CommitSpec is what the engine asks a committer to commit.
type CommitSpec struct {
	Epoch     uint64 // the committer's current epoch (the commit is built in it)
	Committer MemberID
	Proposals []CommitProposal // wire order
	Path      bool             // include an UpdatePath
	// Adversary is 1 + the id of the signature-key compromise whose
	// adversary builds this commit as the committer (its victim), 0 for an
	// honest commit. The adversary signs with the stolen signature key and
	// chooses the new path keys itself (docs/pcs.md).
	Adversary int
	// External: an external commit (RFC 9420, Section 12.4.3.2) by a
	// joiner not yet in the tree (the Committer): an ExternalInit proposal
	// and an UpdatePath from the leaf it takes. Only the adversary's
	// rejoin builds one (fidelity model).
	External bool
}

// Applied is what the symbolic tree did when the delivery service accepted
// a commit (or, for a rejected one, an estimate against the current tree).
// The model backend derives sizes from it; real backends may cross-check.
type Applied struct {
	Path        []symtree.PathLevel // filtered direct path, bottom-up (nil without path)
	AddedLeaves []uint32
	Tree        symtree.Stats // the tree after the commit
}

// CommitResult is the cost of one commit.
type CommitResult struct {
	CommitBytes     int // the MLSMessage carrying the commit
	WelcomeBytes    int // the MLSMessage carrying the Welcome (0 without adds)
	PathCiphertexts int // HPKE ciphertexts in the UpdatePath
	CreateCPU       time.Duration
}

// Pending is a commit built but not yet accepted or rejected by the
// delivery service.
type Pending interface {
	Spec() *CommitSpec
}

// BackendConfig is what every backend needs to know about the group.
type BackendConfig struct {
	Suite                size.Suite
	Profile              size.Profile
	PrivateHandshake     bool // handshake messages as PrivateMessage
	RatchetTreeInWelcome bool
	Seed                 uint64 // the "keys" stream seed: all key material derives from it
	// ExpectedMembers is the scenario's largest planned group size (the
	// sampled backend sizes its receiver sample with it).
	ExpectedMembers int
}

// Backend is one fidelity level: the engine decides who does what when; the
// backend says what it costs and, in full/sampled, really does it with the
// mls group API. The engine calls it from one goroutine, in event order.
//
// The model backend implements it with size functions; the full and
// sampled backends (RealBackend) with mls.Group / mls.PublicGroup.
type Backend interface {
	// Fidelity is "model", "sampled" or "full".
	Fidelity() string
	// Init creates the group with founder as its only member, epoch 0.
	Init(cfg BackendConfig, founder MemberID) error
	// CreateCommit builds spec in the committer's current state.
	CreateCommit(spec CommitSpec) (Pending, error)
	// AcceptCommit: the delivery service accepted p; the group's public
	// state moves to epoch spec.Epoch+1. applied is the symbolic outcome.
	AcceptCommit(p Pending, applied *Applied) (CommitResult, error)
	// RejectCommit: the delivery service rejected p (another commit won the
	// epoch); the committer discards it. estimate is the symbolic tree's
	// estimate of the commit against the delivery service's current tree.
	RejectCommit(p Pending, estimate *Applied) (CommitResult, error)
	// Propose builds a standalone proposal message (sent by reference
	// later) and returns its size.
	Propose(kind ProposalKind, sender, subject MemberID, epoch uint64) (bytes int, err error)
	// SendApplication encrypts an application message of plaintext bytes
	// from sender in epoch and returns its size.
	SendApplication(sender MemberID, epoch uint64, plaintext int) (bytes int, err error)
	// ProcessCommit makes member m process the commit that created epoch
	// (m was in epoch-1). Called only when ProcessesCommits is true.
	ProcessCommit(m MemberID, epoch uint64) error
	// Join makes member m, added by the commit that created epoch, process
	// its Welcome.
	Join(m MemberID, epoch uint64) error
	// Compromise hands victim's whole state (in the delivery service's
	// epoch) to the adversary of compromise id; signature says it also took
	// the signature key and acts as the victim.
	Compromise(id int, victim MemberID, signature bool) error
	// ProcessesCommits reports whether the engine must call ProcessCommit
	// for member m for every epoch, in order (false for model and for
	// members that advance symbolically).
	ProcessesCommits(m MemberID) bool
}

// RealReceivers is implemented by backends with real members: the engine
// schedules each accepted commit's arrival at them (per the delivery
// model), so they process it when it arrives.
type RealReceivers interface {
	RealReceivers() []MemberID
}

// Deferrer is implemented by backends that defer work: the real backend
// runs real receivers' ProcessCommit calls in parallel batches. Sync
// finishes the deferred work and returns how many deferred calls failed
// since the last Sync.
type Deferrer interface {
	Sync() (failed int)
}

// AdversaryChecker is implemented by backends whose adversary really tries
// to derive each epoch: after AcceptCommit, AdversaryDerived reports what
// the shadow client of compromise id achieved for the accepted epoch
// (known is false if it no longer tries).
type AdversaryChecker interface {
	AdversaryDerived(id int) (derived, known bool)
}
