package sim

// This file owns the real backend (fidelity full and sampled): its state,
// statistics and Init. Its other rooms: real_exec.go (batch executor),
// real_members.go (member states, key oracle, GC), real_messages.go
// (proposals, application messages, commits, Welcome), adversary_real.go
// (shadow adversary), mlsstate.go (materializing mls states from parts).

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/mlslab/mlslab/mls/core"
)

// RealBackend is the `full` and `sampled` fidelity levels: every message is
// really built with package mls, and real members run the real receive
// path.
//
// # Who holds what
//
// Shared state. Per epoch the backend keeps one template core.Group: the
// state the committer's PendingCommit moved to. Its PublicGroup (ratchet
// tree, GroupContext, transcript hash) and EpochSecrets are what every
// member of that epoch shares; materialized member states point at them
// and never copy them.
//
// Senders. Every commit, proposal, Welcome and application message is
// built and encrypted for real by its sender, in the sender's epoch, from
// a materialized state: the epoch's template with the sender's own leaf
// index, signature key, private tree state and a secret tree of its own
// (kept for the epoch, so ratchet generations are never reused). That is
// all a sender needs (RFC 9420, Sections 6, 12.4): the shared epoch
// secrets, a signature key and fresh randomness; path private keys are
// only used to decrypt, never to encrypt. A commit is built from a copy
// with an empty proposal cache that processes exactly the proposals the
// engine's CommitSpec includes by reference, so the commit's proposal list
// is the simulated one.
//
// Receivers. A real member (every member in `full`; in `sampled` the
// founder, a fixed seeded sample of about SampleReceivers members, and
// every compromised member from the compromise on) keeps a real core.Group
// from its Welcome onward: it processes the referenced proposals and every
// commit in order, when the engine's delivery model says the commit reached
// it (the engine schedules an arrival per accepted commit and real member,
// RealReceivers; an offline member gets the backlog as one batch when it
// comes back), and must reach the committer's epoch authenticator (a
// mismatch is a backend error). Real receivers also decrypt every
// application message of an epoch they were in (receiveApp: sender data,
// ratchet, AEAD, signature, plaintext compared), so the receive cost is
// measured. The other members advance symbolically: the backend only
// tracks their leaf index, signature key and current leaf private key; a
// joiner outside the sample never processes its Welcome (that would cost
// O(group size) per joiner) and is materialized from the epoch's shared
// state and its own keys when it first sends or commits.
//
// What is kept. Templates of the last keepTemplates epochs (senders lag
// by their delivery latency); the commit and proposals of epochs a real
// member has not processed yet, for at most maxLagEpochs (a real member
// offline for longer is re-materialized in the current epoch, counted in
// RealStats.Resyncs); one sender state per member, for its epoch.
//
// Key oracle. For every accepted commit the backend records the
// committer's new path private keys by node (the committer generated
// them). With the tree's public keys this gives, at any time, the exact
// private tree state of any member (its leaf key and the keys of its
// non-blank ancestors that do not list it as unmerged, RFC 9420, Section
// 4.2), checked against the public tree (TreePrivate.Check). It is used to
// hand a compromised member's real state to the adversary and to turn the
// victim into a real member. It costs one key pair per parent node.
//
// Adversary. Each compromise is a shadow client holding the victim's real
// TreePrivate, init_secret and signature key. For every later commit it
// tries to derive the next epoch with the keys it holds
// (core.PublicGroup.AdvanceLeaked: the real decryption of the UpdatePath
// and the key schedule, succeeding iff the commit's confirmation tag
// verifies with the keys it derives). An adversary with the
// signature key is active: the engine makes it commit as the victim right
// after the compromise and at every later turn of the victim
// (CommitSpec.Adversary). Those commits are built from the shadow's own
// state (core.RestoreGroup with the stolen signature key, the epoch secrets
// and tree keys it derived), so they are signed, carry a fresh UpdatePath
// it generated, and every real receiver verifies and processes them; the
// shadow then holds the new keys because it chose them. Every other commit
// it must decrypt like any adversary; it always can while it holds the
// victim's leaf key, so only a commit removing the victim locks it out.
// A ghost member it adds (adversary.ghost) is a real Add of a KeyPackage
// whose keys the shadow holds; it tries every later UpdatePath with the
// ghost's private tree state as well. Pending secrets (an uncommitted
// Update's leaf key, an undecided commit) are taken from the victim's
// client state at the compromise (see Compromise). What stays symbolic:
// the honest victim device, once its leaf is taken over, is not modelled
// as a separate client (its later commits are the adversary's); external
// commits (adversary.rejoin) are modelled at fidelity model only.
//
// Measured costs. CommitResult.CreateCPU is the committer's real
// Commit() call (proposal validation, UpdatePath generation and
// encryption, key schedule, signing, Welcome); proposals it had to process
// first are not counted, as a real client processes them on arrival.
// Receiver costs (RealStats) are measured on real members only; in
// `sampled` they are a sample of the receiver population.
type RealBackend struct {
	full bool
	// SampleReceivers is the expected number of sampled real receivers
	// (besides the founder and compromised members). 0 means 8.
	SampleReceivers int

	cfg         BackendConfig
	mcfg        *core.Config
	newKP       func(m MemberID) (*core.KeyPackageBundle, error)
	groupID     []byte
	aad         []byte
	sampleEvery uint64

	members []*realMember // pointers: deferred jobs hold them while the slice grows
	real    []MemberID    // members with a real state (or a pending real join)
	epochs  map[uint64]*epochRec
	lowest  uint64
	cur     *core.Group // template of the delivery service's epoch
	nodes   map[core.NodeIndex]nodeKey
	props   map[propKey]*propRec
	shadows map[int]*shadow
	senders []MemberID // members holding a sender state
	// hijacked maps the victim of a live signature-key compromise to the
	// compromise id: its messages are built from the adversary's state.
	hijacked map[MemberID]int
	// lowTmpl is the oldest epoch whose template is still kept.
	lowTmpl uint64
	// rng is every Group's randomness source (core.Config.Rand); it can
	// replay the key seed of a re-sent Update proposal.
	rng *keyRand
	// building maps a committer to the commit it built that the delivery
	// service has not decided yet (its path secrets are part of its
	// state, stolen by a compromise meanwhile).
	building map[MemberID]*realPending

	// Workers is how many real receivers process commits at once (0 means
	// GOMAXPROCS). With more than one, ProcessCommit calls are deferred
	// and run in parallel batches that may overlap the next commit's
	// creation (see flush). The measured times (CommitResult.CreateCPU,
	// RealStats means) are wall times of each call: with Workers 1 nothing
	// else runs meanwhile, with more they include contention for the
	// cores (faster runs, inflated per-call times).
	Workers   int
	deferred  []procJob
	inflight  chan int     // failures of the batch running in the background
	lastBatch []memberJobs // the calls of the last batch run
	failed    int          // deferred calls that failed since the last Sync
	mu        sync.Mutex   // guards st while a batch runs

	st RealStats
}

// RealStats describes the real work of a full or sampled run.
type RealStats struct {
	RealMembers int `json:"real_members"`
	// Workers: real receivers processing at once (1: per-call times are
	// uncontended; more: they include contention, see RealBackend.Workers).
	Workers             int     `json:"workers"`
	CommitsCreated      int64   `json:"commits_created"`
	CommitCreateMeanUs  float64 `json:"commit_create_cpu_mean_us"`
	CommitsProcessed    int64   `json:"commits_processed"`
	CommitProcessMeanUs float64 `json:"commit_process_cpu_mean_us"`
	Joins               int64   `json:"welcomes_processed"`
	JoinMeanUs          float64 `json:"welcome_process_cpu_mean_us"`
	AppMessages         int64   `json:"app_messages_sealed"`
	AppSealMeanUs       float64 `json:"app_seal_cpu_mean_us"`
	// AppDecrypts counts application messages real receivers decrypted
	// (each checked against the plaintext sent).
	AppDecrypts     int64   `json:"app_messages_decrypted"`
	AppOpenMeanUs   float64 `json:"app_open_cpu_mean_us"`
	AdversaryCommit int64   `json:"adversary_commits_built"`
	// Resyncs counts real members that fell more than maxLagEpochs behind
	// (offline) and were re-materialized in the current epoch instead of
	// processing the backlog.
	Resyncs             int64 `json:"real_member_resyncs"`
	Proposals           int64 `json:"proposals_built"`
	AuthenticatorChecks int64 `json:"authenticator_checks"`
	AdversaryAttempts   int64 `json:"adversary_attempts"`
	AdversarySuccesses  int64 `json:"adversary_successes"`
	// StaleSends counts messages of members that sent in an epoch older
	// than the kept window (built in the oldest kept epoch instead).
	StaleSends           int64  `json:"stale_epoch_sends"`
	FirstError           string `json:"first_error,omitempty"`
	createCPU, procCPU   time.Duration
	joinCPU, appCPU      time.Duration
	openCPU              time.Duration
	createN, procN, appN int64
}

type realMember struct {
	kp        *core.KeyPackageBundle
	sig       []byte
	leaf      int32
	leafPriv  []byte
	g         *core.Group // real state
	welcome   []byte      // real joiner: its Welcome until processed
	joinEpoch uint64
	isReal    bool
	seen      map[*propRec]bool // proposals g processed in its epoch
	// selfRemoved: a deferred ProcessCommit processed its removal; settle
	// drops the state.
	selfRemoved bool
	send        *core.Group // sender state of sendEpoch
	sendEpoch   uint64
	// recv: a real receiver's secret trees of epochs other than its
	// current one, for application messages of those epochs.
	recv map[uint64]*core.SecretTree
}

// epochRec is what the backend keeps of an accepted epoch: the template
// (for senders; dropped keepTemplates epochs behind the delivery service)
// and the messages a lagging real member still has to process.
type epochRec struct {
	tmpl      *core.Group
	auth      []byte
	commit    []byte // encoded MLSMessage of the commit that created the epoch
	props     []*propRec
	committer MemberID
	added     []core.LeafIndex
}

// keyRand is the backends' core.Config.Rand: a seeded stream that can
// record the bytes of the next read (the leaf key seed ProposeUpdate draws
// first) and replay recorded bytes for the next read instead of drawing.
type keyRand struct {
	r      io.Reader
	record bool
	got    []byte
	replay []byte
}

func (k *keyRand) Read(p []byte) (int, error) {
	if k.replay != nil {
		r := k.replay
		k.replay = nil
		if len(r) == len(p) {
			return copy(p, r), nil
		}
	}
	n, err := k.r.Read(p)
	if k.record {
		k.record = false
		k.got = bytes.Clone(p[:n])
	}
	return n, err
}

var _ Backend = (*RealBackend)(nil)

// errFidelity marks real-path failures (a receiver not reaching the
// committer's epoch authenticator, a size or tree disagreement).
var errFidelity = errors.New("fidelity check failed")

// Fidelity implements Backend.
func (b *RealBackend) Fidelity() string {
	if b.full {
		return "full"
	}
	return "sampled"
}

// Stats returns the real-work statistics.
func (b *RealBackend) Stats() RealStats {
	b.flush()
	s := b.st
	s.Workers = b.Workers
	s.RealMembers = 0
	for _, m := range b.real {
		if b.members[m].isReal {
			s.RealMembers++
		}
	}
	mean := func(d time.Duration, n int64) float64 {
		if n == 0 {
			return 0
		}
		return float64(d.Microseconds()) / float64(n)
	}
	s.CommitCreateMeanUs = mean(s.createCPU, s.createN)
	s.CommitProcessMeanUs = mean(s.procCPU, s.procN)
	s.JoinMeanUs = mean(s.joinCPU, s.Joins)
	s.AppSealMeanUs = mean(s.appCPU, s.appN)
	s.AppOpenMeanUs = mean(s.openCPU, s.AppDecrypts)
	return s
}

func (b *RealBackend) fail(err error) error {
	b.mu.Lock()
	if b.st.FirstError == "" {
		b.st.FirstError = err.Error()
	}
	b.mu.Unlock()
	return err
}

// Init implements Backend.
func (b *RealBackend) Init(cfg BackendConfig, founder MemberID) error {
	if b.Workers <= 0 {
		b.Workers = runtime.GOMAXPROCS(0)
	}
	b.cfg = cfg
	var seed [32]byte
	for i := range 4 {
		v := splitmix(cfg.Seed + uint64(i))
		for j := range 8 {
			seed[8*i+j] = byte(v >> (8 * j))
		}
	}
	p := cfg.Profile
	// GREASE off (RFC 9420, Section 13.5, on by default in core.Config):
	// the size model counts KeyPackages and leaves without GREASE values (a
	// GREASE extension has a random length) and the committed results must
	// reproduce byte for byte (workloads/README.md, "Fidelity").
	b.rng = &keyRand{r: rand.NewChaCha8(seed)}
	b.building = map[MemberID]*realPending{}
	b.mcfg = &core.Config{Rand: b.rng, EncryptHandshake: cfg.PrivateHandshake, PaddingBlock: p.PaddingBlock, DisableGREASE: true}
	b.groupID = fill([]byte("mlslab-sim-group"), p.GroupIDLen)
	b.aad = make([]byte, p.AuthenticatedDataLen)
	caps := core.DefaultCapabilities(0)
	cs := core.CipherSuite(cfg.Suite.ID)
	caps.CipherSuites = caps.CipherSuites[:1]
	caps.CipherSuites[0] = cs
	caps.Credentials = []core.CredentialType{core.CredentialBasic}
	b.newKP = func(m MemberID) (*core.KeyPackageBundle, error) {
		id := fill(fmt.Appendf(nil, "member-%d-", m), p.IdentityLen)
		return core.NewKeyPackage(b.mcfg, cs, core.NewBasicCredential(id), &core.KeyPackageOptions{Capabilities: &caps})
	}
	n := max(cfg.ExpectedMembers, 1)
	k := b.SampleReceivers
	if k <= 0 {
		k = 8
	}
	b.sampleEvery = uint64(max(1, n/k))
	b.epochs = map[uint64]*epochRec{}
	b.nodes = map[core.NodeIndex]nodeKey{}
	b.props = map[propKey]*propRec{}
	b.shadows = map[int]*shadow{}
	b.hijacked = map[MemberID]int{}
	kp, err := b.newKP(founder)
	if err != nil {
		return err
	}
	g, err := core.CreateGroup(b.mcfg, b.groupID, kp, nil)
	if err != nil {
		return err
	}
	fm := b.mem(founder)
	fm.sig, fm.leaf, fm.leafPriv = kp.SignatureKey, 0, kp.EncryptionKey
	b.cur = g
	b.epochs[0] = &epochRec{tmpl: g, auth: g.EpochAuthenticator(), committer: founder}
	b.makeReal(founder, b.copyOf(g, 0, fm.sig, g.TreePrivate()))
	return nil
}

// fill returns b cut or zero-padded to n bytes.
func fill(b []byte, n int) []byte {
	out := make([]byte, n)
	copy(out, b)
	return out
}
