package sim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/mlslab/mlslab/mls"
	"github.com/mlslab/mlslab/mls/treemath"
)

// RealBackend is the `full` and `sampled` fidelity levels: every message is
// really built with package mls, and real members run the real receive
// path.
//
// # Who holds what
//
// Shared state. Per epoch the backend keeps one template mls.Group: the
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
// every compromised member from the compromise on) keeps a real mls.Group
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
// tries the real decryption of the UpdatePath (DecryptUpdatePath with the
// keys it holds) and the key schedule, and succeeds iff the epoch
// authenticator it derives equals the real one. An adversary with the
// signature key is active: the engine makes it commit as the victim right
// after the compromise and at every later turn of the victim
// (CommitSpec.Adversary). Those commits are built from the shadow's own
// state (mls.RestoreGroup with the stolen signature key, the epoch secrets
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
	mcfg        *mls.Config
	newKP       func(m MemberID) (*mls.KeyPackageBundle, error)
	groupID     []byte
	aad         []byte
	sampleEvery uint64

	members []*realMember // pointers: deferred jobs hold them while the slice grows
	real    []MemberID    // members with a real state (or a pending real join)
	epochs  map[uint64]*epochRec
	lowest  uint64
	cur     *mls.Group // template of the delivery service's epoch
	nodes   map[mls.NodeIndex]nodeKey
	props   map[propKey]*propRec
	shadows map[int]*shadow
	senders []MemberID // members holding a sender state
	// hijacked maps the victim of a live signature-key compromise to the
	// compromise id: its messages are built from the adversary's state.
	hijacked map[MemberID]int
	// lowTmpl is the oldest epoch whose template is still kept.
	lowTmpl uint64
	// rng is every Group's randomness source (mls.Config.Rand); it can
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

// procJob is a deferred ProcessCommit call.
type procJob struct {
	m   MemberID
	e   uint64
	r   *epochRec        // resolved at arrival: gc may drop it from b.epochs meanwhile
	pub *mls.PublicGroup // the epoch template's public state, nil if no longer kept
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
	kp        *mls.KeyPackageBundle
	sig       []byte
	leaf      int32
	leafPriv  []byte
	g         *mls.Group // real state
	welcome   []byte     // real joiner: its Welcome until processed
	joinEpoch uint64
	isReal    bool
	seen      map[*propRec]bool // proposals g processed in its epoch
	// selfRemoved: a deferred ProcessCommit processed its removal; settle
	// drops the state.
	selfRemoved bool
	send        *mls.Group // sender state of sendEpoch
	sendEpoch   uint64
	// recv: a real receiver's secret trees of epochs other than its
	// current one, for application messages of those epochs.
	recv map[uint64]*mls.SecretTree
}

// epochRec is what the backend keeps of an accepted epoch: the template
// (for senders; dropped keepTemplates epochs behind the delivery service)
// and the messages a lagging real member still has to process.
type epochRec struct {
	tmpl      *mls.Group
	auth      []byte
	commit    []byte // encoded MLSMessage of the commit that created the epoch
	props     []*propRec
	committer MemberID
	added     []mls.LeafIndex
}

type propKey struct {
	kind   ProposalKind
	sender MemberID
}

type propRec struct {
	kind       ProposalKind
	sender     MemberID
	subject    MemberID
	epoch      uint64
	msg        []byte
	ref        string // ProposalRef (Update: key of the sender's updateKeys)
	updatePriv []byte
	// ikm is the randomness the Update's leaf key pair was derived from
	// (RFC 9180 DeriveKeyPair): a re-send in a later epoch replays it, so
	// every re-send proposes the same leaf key (workloads/README.md,
	// "Adversary").
	ikm []byte
}

// keyRand is the backends' mls.Config.Rand: a seeded stream that can
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

type shadow struct {
	victim    MemberID
	signature bool
	alive     bool
	sig       []byte // the stolen signature private key
	epoch     uint64 // the epoch priv and keys are of
	priv      *mls.TreePrivate
	keys      *mls.EpochSecrets
	last      bool
	known     bool
	// Pending secrets of the victim at the compromise: the leaf private
	// keys of its uncommitted Update proposals and the commit it had built
	// and the delivery service had not yet decided.
	updKeys [][]byte
	stolen  *realPending
	// ghost is the ghost member this signature-key adversary added (-1 if
	// none) and gpriv its private tree state (nil while not in the group).
	ghost MemberID
	gpriv *mls.TreePrivate
}

type realPending struct {
	spec         CommitSpec
	pc           *mls.PendingCommit
	commit       []byte
	welcome      []byte
	refs         []*propRec
	cpu          time.Duration
	removedLeafs []mls.LeafIndex
	byShadow     bool // built by a signature-key adversary from its own state
}

func (p *realPending) Spec() *CommitSpec { return &p.spec }

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

// maxDeferred bounds the deferred ProcessCommit calls between flushes.
const maxDeferred = 512

// Deferred ProcessCommit calls run in batches: each member's calls in
// order, up to Workers members at once. Real receivers' states are
// disjoint (they share only immutable epoch templates, epoch secrets and
// messages), so a batch equals processing each commit when it arrives.
// flush runs the pending calls and waits. The methods that read or
// replace receivers' states flush first (Propose, SendApplication, Join,
// Compromise, Stats; AcceptCommit when its committer or a removed member
// has calls pending), so nothing observes a member between arrival and
// processing. CreateCommit instead starts the batch in the background
// (startFlush) when the commit reads no member of the batch, so the
// receivers' work overlaps the committer's and the delivery of the next
// commit; gc counts a member with calls pending at the epoch they take it
// to. The engine's results do not depend on Workers (a test compares).
func (b *RealBackend) flush() {
	b.wait()
	if len(b.deferred) == 0 {
		return
	}
	b.lastBatch = b.takeDeferred()
	b.failed += b.runBatch(b.lastBatch)
	b.settle()
}

// startFlush runs the pending calls in the background.
func (b *RealBackend) startFlush() {
	b.wait()
	if len(b.deferred) == 0 {
		return
	}
	jobs := b.takeDeferred()
	b.lastBatch = jobs
	done := make(chan int, 1)
	go func() { done <- b.runBatch(jobs) }()
	b.inflight = done
}

// wait waits for the batch started by startFlush.
func (b *RealBackend) wait() {
	if b.inflight == nil {
		return
	}
	b.failed += <-b.inflight
	b.inflight = nil
	b.settle()
}

// memberJobs is one member's deferred calls, in order.
type memberJobs struct {
	rm   *realMember // resolved on the engine goroutine: b.members may grow during a batch
	m    MemberID
	jobs []procJob
}

// takeDeferred groups the pending calls by member, keeping their order.
func (b *RealBackend) takeDeferred() []memberJobs {
	var out []memberJobs
	idx := map[MemberID]int{}
	for _, j := range b.deferred {
		i, ok := idx[j.m]
		if !ok {
			i = len(out)
			idx[j.m] = i
			out = append(out, memberJobs{rm: b.members[j.m], m: j.m})
		}
		out[i].jobs = append(out[i].jobs, j)
	}
	b.deferred = b.deferred[:0]
	return out
}

// runBatch runs the calls of jobs and returns how many failed.
func (b *RealBackend) runBatch(jobs []memberJobs) int {
	var eg errgroup.Group
	eg.SetLimit(b.Workers)
	var failed atomic.Int64
	for _, j := range jobs {
		eg.Go(func() error {
			for _, pj := range j.jobs {
				if b.processCommit(j.rm, pj) != nil {
					failed.Add(1)
				}
			}
			return nil
		})
	}
	eg.Wait()
	return int(failed.Load())
}

// queuedEpoch is the epoch member m will be in once its deferred and
// running calls are done (ok false if it has none): what a flush would
// leave it at.
func (b *RealBackend) queuedEpoch(m MemberID) (e uint64, ok bool) {
	if b.inflight != nil {
		for _, j := range b.lastBatch {
			if j.m == m {
				e, ok = j.jobs[len(j.jobs)-1].e, true
			}
		}
	}
	for _, j := range b.deferred {
		if j.m == m {
			e, ok = max(e, j.e), true
		}
	}
	return e, ok
}

// settle applies, on the engine goroutine, what the last batch's members
// learned: their own removal.
func (b *RealBackend) settle() {
	for _, j := range b.lastBatch {
		if rm := j.rm; rm.selfRemoved {
			rm.g, rm.isReal, rm.selfRemoved = nil, false, false
		}
	}
	b.lastBatch = nil
}

// Sync implements Deferrer: it runs the deferred ProcessCommit calls and
// returns how many of them failed since the last Sync.
func (b *RealBackend) Sync() int {
	b.flush()
	n := b.failed
	b.failed = 0
	return n
}

func (b *RealBackend) mem(m MemberID) *realMember {
	for int(m) >= len(b.members) {
		b.members = append(b.members, &realMember{leaf: -1})
	}
	return b.members[m]
}

// sampled reports whether m is a real receiver from its join on.
func (b *RealBackend) sampled(m MemberID) bool {
	return b.full || splitmix(b.cfg.Seed^uint64(uint32(m))*0x9fb21c651e98df25)%b.sampleEvery == 0
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
	// GREASE off (RFC 9420, Section 13.5, on by default in mls.Config):
	// the size model counts KeyPackages and leaves without GREASE values (a
	// GREASE extension has a random length) and the committed results must
	// reproduce byte for byte (workloads/README.md, "Fidelity").
	b.rng = &keyRand{r: rand.NewChaCha8(seed)}
	b.building = map[MemberID]*realPending{}
	b.mcfg = &mls.Config{Rand: b.rng, EncryptHandshake: cfg.PrivateHandshake, PaddingBlock: p.PaddingBlock, DisableGREASE: true}
	b.groupID = fill([]byte("mlslab-sim-group"), p.GroupIDLen)
	b.aad = make([]byte, p.AuthenticatedDataLen)
	caps := mls.DefaultCapabilities(0)
	cs := suiteID(caps.CipherSuites[0], cfg.Suite.ID)
	caps.CipherSuites = caps.CipherSuites[:1]
	caps.CipherSuites[0] = cs
	caps.Credentials = []mls.CredentialType{mls.CredentialBasic}
	b.newKP = func(m MemberID) (*mls.KeyPackageBundle, error) {
		id := fill(fmt.Appendf(nil, "member-%d-", m), p.IdentityLen)
		return mls.NewKeyPackage(b.mcfg, cs, mls.NewBasicCredential(id), &mls.KeyPackageOptions{Capabilities: &caps})
	}
	n := max(cfg.ExpectedMembers, 1)
	k := b.SampleReceivers
	if k <= 0 {
		k = 8
	}
	b.sampleEvery = uint64(max(1, n/k))
	b.epochs = map[uint64]*epochRec{}
	b.nodes = map[mls.NodeIndex]nodeKey{}
	b.props = map[propKey]*propRec{}
	b.shadows = map[int]*shadow{}
	b.hijacked = map[MemberID]int{}
	kp, err := b.newKP(founder)
	if err != nil {
		return err
	}
	g, err := mls.CreateGroup(b.mcfg, b.groupID, kp, nil)
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

func suiteID[T ~uint16](_ T, v uint16) T { return T(v) }

// fill returns b cut or zero-padded to n bytes.
func fill(b []byte, n int) []byte {
	out := make([]byte, n)
	copy(out, b)
	return out
}

func (b *RealBackend) makeReal(m MemberID, g *mls.Group) {
	rm := b.mem(m)
	if !rm.isReal {
		rm.isReal = true
		b.real = append(b.real, m)
	}
	rm.g = g
	rm.seen = nil
}

// copyOf materializes member m (leaf l) in tmpl's epoch with a fresh
// secret tree.
func (b *RealBackend) copyOf(tmpl *mls.Group, l mls.LeafIndex, sig []byte, priv *mls.TreePrivate) *mls.Group {
	g, err := materialize(tmpl, l, sig, priv)
	if err != nil {
		// The parts come from the simulator's own key store and were
		// checked against the tree: a failure is a simulator bug.
		panic(fmt.Sprintf("sim: materializing leaf %d: %v", l, err))
	}
	return g
}

func (b *RealBackend) epoch(e uint64) (*epochRec, error) {
	r := b.epochs[e]
	if r == nil {
		return nil, b.fail(fmt.Errorf("sim: state of epoch %d no longer kept (delivery service at %d)", e, b.cur.Epoch()))
	}
	return r, nil
}

// template returns the template of epoch e.
func (b *RealBackend) template(e uint64) (*epochRec, error) {
	r, err := b.epoch(e)
	if err == nil && r.tmpl == nil {
		err = b.fail(fmt.Errorf("sim: template of epoch %d no longer kept (delivery service at %d)", e, b.cur.Epoch()))
	}
	return r, err
}

// sendEpoch returns the epoch whose state a sender in epoch e uses: e, or
// for a member back from a long offline period that sends before it
// processed its backlog, the oldest epoch whose template is still kept (the
// message has the same size; its sender cost is measured in a slightly
// different tree).
func (b *RealBackend) sendEpoch(e uint64) uint64 {
	if e < b.lowTmpl {
		b.st.StaleSends++
		return b.lowTmpl
	}
	return e
}

// senderState returns m's sender state in epoch e (cached for the epoch).
func (b *RealBackend) senderState(m MemberID, e uint64) (*mls.Group, error) {
	e = b.sendEpoch(e)
	rm := b.mem(m)
	if rm.send != nil && rm.sendEpoch == e {
		return rm.send, nil
	}
	if rm.leaf < 0 {
		return nil, b.fail(fmt.Errorf("sim: member %d has no leaf", m))
	}
	r, err := b.template(e)
	if err != nil {
		return nil, err
	}
	if id, ok := b.hijacked[m]; ok && b.shadows[id].epoch == e {
		// The adversary acting as its victim: its own state (the stolen
		// signature key, the epoch secrets and tree keys it derived).
		sh := b.shadows[id]
		g, err := mls.RestoreGroup(r.tmpl.Config(), r.tmpl.Public(), sh.keys, mls.LeafIndex(rm.leaf), sh.sig, sh.priv)
		if err != nil {
			return nil, b.fail(fmt.Errorf("sim: adversary state of compromise %d: %w", id, err))
		}
		// The adversary sends as its victim in this epoch (reusing the
		// victim's generations would be its choice to make).
		g.UnlockSending()
		if rm.send == nil {
			b.senders = append(b.senders, m)
		}
		rm.send, rm.sendEpoch = g, e
		return g, nil
	}
	var priv *mls.TreePrivate
	if rm.g != nil && rm.g.Epoch() == e {
		priv = rm.g.TreePrivate()
	} else if priv, err = mls.NewTreePrivate(r.tmpl.EpochSecrets().CipherSuite(), mls.LeafIndex(rm.leaf), rm.leafPriv); err != nil {
		return nil, err
	}
	g, err := materialize(r.tmpl, mls.LeafIndex(rm.leaf), rm.sig, priv)
	if err != nil {
		return nil, b.fail(fmt.Errorf("sim: sender state of member %d: %w", m, err))
	}
	// The member's only sender state of epoch e (cached in rm.send until
	// the epoch's template is dropped, see gc): no generation of
	// its ratchets was used in e.
	g.UnlockSending()
	if rm.send == nil {
		b.senders = append(b.senders, m)
	}
	rm.send, rm.sendEpoch = g, e
	return rm.send, nil
}

func (b *RealBackend) keyPackage(m MemberID) (*mls.KeyPackageBundle, error) {
	rm := b.mem(m)
	if rm.kp == nil {
		kp, err := b.newKP(m)
		if err != nil {
			return nil, err
		}
		rm.kp, rm.sig = kp, kp.SignatureKey
	}
	return rm.kp, nil
}

func marshal(m *mls.MLSMessage) ([]byte, error) { return m.Marshal() }

// buildProposal builds kind from sender about subject in epoch e. resend
// is the record of the same proposal sent in an earlier epoch (nil for a
// new proposal): a re-sent Update proposes the same leaf key.
func (b *RealBackend) buildProposal(kind ProposalKind, sender, subject MemberID, e uint64, resend *propRec) (*propRec, error) {
	g, err := b.senderState(sender, e)
	if err != nil {
		return nil, err
	}
	before := g.OwnUpdateKeys()
	var msg *mls.MLSMessage
	var ikm []byte
	switch kind {
	case PropUpdate:
		// The leaf key pair is derived from the first bytes ProposeUpdate
		// draws: recorded for a new proposal, replayed for a re-send.
		if resend != nil && resend.ikm != nil {
			b.rng.replay, ikm = resend.ikm, resend.ikm
			msg, err = g.ProposeUpdate(&mls.ProposeOptions{AuthenticatedData: b.aad})
			b.rng.replay = nil
		} else {
			b.rng.record = true
			msg, err = g.ProposeUpdate(&mls.ProposeOptions{AuthenticatedData: b.aad})
			b.rng.record, ikm, b.rng.got = false, b.rng.got, nil
		}
	case PropRemove:
		msg, err = g.Propose(&mls.Remove{Removed: uint32(b.mem(subject).leaf)}, &mls.ProposeOptions{AuthenticatedData: b.aad})
	default:
		var kp *mls.KeyPackageBundle
		if kp, err = b.keyPackage(subject); err == nil {
			msg, err = g.Propose(&mls.Add{KeyPackage: *kp.KeyPackage}, &mls.ProposeOptions{AuthenticatedData: b.aad})
		}
	}
	if err != nil {
		return nil, b.fail(fmt.Errorf("sim: %s proposal by %d: %w", kind, sender, err))
	}
	enc, err := marshal(msg)
	if err != nil {
		return nil, err
	}
	r := &propRec{kind: kind, sender: sender, subject: subject, epoch: e, msg: enc, ikm: ikm}
	for ref, k := range g.OwnUpdateKeys() {
		if _, old := before[ref]; !old {
			r.ref, r.updatePriv = ref, k
		}
	}
	b.props[propKey{kind, sender}] = r
	b.st.Proposals++
	return r, nil
}

// Propose implements Backend.
func (b *RealBackend) Propose(kind ProposalKind, sender, subject MemberID, epoch uint64) (int, error) {
	b.flush()
	r, err := b.buildProposal(kind, sender, subject, epoch, nil)
	if err != nil {
		return 0, err
	}
	return len(r.msg), nil
}

// SendApplication implements Backend.
func (b *RealBackend) SendApplication(sender MemberID, epoch uint64, n int) (int, error) {
	b.flush()
	g, err := b.senderState(sender, epoch)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	pt := make([]byte, n)
	for i := range pt {
		pt[i] = byte(b.st.AppMessages + int64(i))
	}
	msg, err := g.SealApplication(pt, b.aad)
	if err != nil {
		return 0, b.fail(fmt.Errorf("sim: application message by %d: %w", sender, err))
	}
	enc, err := marshal(msg)
	b.st.appCPU += time.Since(t0)
	b.st.appN++
	b.st.AppMessages++
	if err != nil {
		return 0, err
	}
	return len(enc), b.receiveApp(sender, g.Epoch(), enc, pt)
}

// receiveApp makes every real receiver decrypt an application message of
// epoch e (RFC 9420, Section 6.3): decode, sender data, the sender's
// ratchet, AEAD, signature, and compares the plaintext. A receiver in
// epoch e uses its own state; one that has not processed e's commit yet
// (it would buffer the message) or already moved past e (it keeps e's
// secret tree for late messages, Section 9.2) uses a secret tree of its
// own from e's epoch secrets. Members that joined after e are skipped.
func (b *RealBackend) receiveApp(sender MemberID, e uint64, enc, pt []byte) error {
	for _, m := range b.real {
		rm := b.members[m]
		if m == sender || !rm.isReal || rm.g == nil || rm.leaf < 0 || e < rm.joinEpoch {
			continue
		}
		t0 := time.Now()
		msg, err := unmarshal(enc)
		if err != nil {
			return b.fail(err)
		}
		var got []byte
		if rm.g.Epoch() == e {
			out, err := rm.g.Process(msg)
			if err != nil {
				return b.fail(fmt.Errorf("sim: %w: member %d decrypting an application message of %d in epoch %d: %v", errFidelity, m, sender, e, err))
			}
			got = out.ApplicationData
		} else {
			r := b.epochs[e]
			if r == nil || r.tmpl == nil {
				continue
			}
			tree := r.tmpl.Public().Tree()
			st := rm.recv[e]
			if st == nil {
				if st, err = r.tmpl.EpochSecrets().NewSecretTree(tree.NumLeaves()); err != nil {
					return b.fail(err)
				}
				if rm.recv == nil {
					rm.recv = map[uint64]*mls.SecretTree{}
				}
				rm.recv[e] = st
			}
			ctx := r.tmpl.Public().Context()
			o, err := mls.OpenPrivate(r.tmpl.EpochSecrets().CipherSuite(), msg.PrivateMessage, &ctx, st, r.tmpl.EpochSecrets().SenderData, func(l uint32) ([]byte, error) {
				if ln := tree.Leaf(mls.LeafIndex(l)); ln != nil {
					return ln.SignatureKey, nil
				}
				return nil, mls.ErrUnknownSender
			})
			if err == nil {
				err = o.Consume()
			}
			if err != nil {
				return b.fail(fmt.Errorf("sim: %w: member %d (in epoch %d) decrypting an application message of %d in epoch %d: %v", errFidelity, m, rm.g.Epoch(), sender, e, err))
			}
			got = o.Content.Content.ApplicationData
		}
		b.st.openCPU += time.Since(t0)
		b.st.AppDecrypts++
		if !bytes.Equal(got, pt) {
			return b.fail(fmt.Errorf("sim: %w: member %d decrypted another plaintext", errFidelity, m))
		}
	}
	return nil
}

func unmarshal(enc []byte) (*mls.MLSMessage, error) { return mls.UnmarshalMLSMessage(enc) }

// CreateCommit implements Backend.
func (b *RealBackend) CreateCommit(spec CommitSpec) (Pending, error) {
	if spec.External {
		// Scenario validation keeps adversary.rejoin at fidelity model.
		return nil, errors.New("sim: external commits are not built at fidelity full/sampled (package mls has no external commit API)")
	}
	// The receivers' pending work overlaps this commit unless the commit
	// reads one of them: the committer's own state, or a proposal sender's
	// (a proposal by reference may have to be rebuilt).
	overlap := true
	for _, pr := range spec.Proposals {
		overlap = overlap && !pr.ByRef
	}
	for _, j := range b.deferred {
		overlap = overlap && j.m != spec.Committer
	}
	if overlap {
		b.startFlush()
	} else {
		b.flush()
	}
	e := spec.Epoch
	if e < b.lowTmpl {
		// A committer far behind (it was offline): its commit is rejected
		// for sure; it is built in the delivery service's epoch instead,
		// like the model's estimate of a rejected commit.
		e = b.cur.Epoch()
	}
	ss, err := b.senderState(spec.Committer, e)
	if err != nil {
		return nil, err
	}
	// A copy of the sender state (its ratchet generations included) with
	// an empty proposal cache: the commit covers exactly the engine's list.
	c := ss.Clone()
	c.DiscardProposals()
	p := &realPending{spec: spec}
	if spec.Adversary > 0 {
		id, ok := b.hijacked[spec.Committer]
		sh := b.shadows[spec.Adversary-1]
		// Built from the adversary's state when it is current; a commit
		// in an older epoch is rejected by the delivery service anyway.
		p.byShadow = ok && id == spec.Adversary-1 && sh.alive && sh.epoch == e
		if p.byShadow {
			b.st.AdversaryCommit++
		}
	}
	var byValue []mls.ProposalBody
	for _, pr := range spec.Proposals {
		switch {
		case pr.ByRef:
			r := b.props[propKey{pr.Kind, pr.Sender}]
			if r == nil || r.epoch != e {
				// Re-sent in the commit's epoch (RFC 9420, Section 12.4:
				// proposals do not outlive their epoch).
				if r, err = b.buildProposal(pr.Kind, pr.Sender, pr.Subject, e, r); err != nil {
					return nil, err
				}
			}
			msg, err := unmarshal(r.msg)
			if err != nil {
				return nil, err
			}
			if _, err := c.Process(msg); err != nil {
				return nil, b.fail(fmt.Errorf("sim: committer %d processing a %s proposal of %d: %w", spec.Committer, r.kind, r.sender, err))
			}
			p.refs = append(p.refs, r)
		case pr.Kind == PropRemove:
			byValue = append(byValue, &mls.Remove{Removed: uint32(b.mem(pr.Subject).leaf)})
		case pr.Kind == PropAdd:
			kp, err := b.keyPackage(pr.Subject)
			if err != nil {
				return nil, err
			}
			byValue = append(byValue, &mls.Add{KeyPackage: *kp.KeyPackage})
		default:
			return nil, fmt.Errorf("sim: %s proposal by value is not generated", pr.Kind)
		}
	}
	t0 := time.Now()
	pc, err := c.Commit(mls.CommitOptions{Proposals: byValue, ForcePath: spec.Path, InlineTree: b.cfg.RatchetTreeInWelcome, AuthenticatedData: b.aad})
	if err != nil {
		return nil, b.fail(fmt.Errorf("sim: commit by %d in epoch %d: %w", spec.Committer, e, err))
	}
	if p.commit, err = marshal(pc.Commit); err != nil {
		return nil, err
	}
	if pc.Welcome != nil {
		if p.welcome, err = marshal(pc.Welcome); err != nil {
			return nil, err
		}
	}
	p.cpu = time.Since(t0)
	p.pc = pc
	b.building[spec.Committer] = p
	b.st.createCPU += p.cpu
	b.st.createN++
	b.st.CommitsCreated++
	return p, nil
}

func (p *realPending) result(withWelcome bool) CommitResult {
	r := CommitResult{CommitBytes: len(p.commit), PathCiphertexts: p.pc.Stats.PathCiphertexts, CreateCPU: p.cpu}
	if withWelcome {
		r.WelcomeBytes = len(p.welcome)
	}
	return r
}

// RejectCommit implements Backend.
func (b *RealBackend) RejectCommit(p Pending, _ *Applied) (CommitResult, error) {
	rp := p.(*realPending)
	if b.building[rp.spec.Committer] == rp {
		delete(b.building, rp.spec.Committer)
	}
	b.dropStolen(rp)
	return rp.result(false), nil
}

// AcceptCommit implements Backend.
func (b *RealBackend) AcceptCommit(pp Pending, a *Applied) (CommitResult, error) {
	p := pp.(*realPending)
	spec := &p.spec
	if b.building[spec.Committer] == p {
		delete(b.building, spec.Committer)
	}
	// The receivers' batch may go on unless this commit changes one of its
	// members (the committer's state is replaced, removed members dropped).
	// (Their pending calls run first, as they would have on arrival.)
	for _, pr := range spec.Proposals {
		if _, q := b.queuedEpoch(pr.Subject); q && pr.Kind == PropRemove {
			b.flush()
		}
	}
	if _, q := b.queuedEpoch(spec.Committer); q {
		b.flush()
	}
	next := p.pc.NextGroup()
	e := spec.Epoch + 1
	res := p.result(true)
	// The real commit must be the one the symbolic tree applied.
	want := 0
	for _, l := range a.Path {
		want += l.Ciphertexts
	}
	added := p.pc.Stats.Added
	if want != res.PathCiphertexts || len(added) != len(a.AddedLeaves) {
		return res, b.fail(fmt.Errorf("sim: epoch %d: %w: real commit has %d path ciphertexts and %d adds, symbolic %d and %d",
			e, errFidelity, res.PathCiphertexts, len(added), want, len(a.AddedLeaves)))
	}
	for i, l := range added {
		if uint32(l) != a.AddedLeaves[i] {
			return res, b.fail(fmt.Errorf("sim: epoch %d: %w: add %d at leaf %d, symbolic %d", e, errFidelity, i, l, a.AddedLeaves[i]))
		}
	}
	prev := b.cur
	rec := &epochRec{tmpl: next, auth: next.EpochAuthenticator(), commit: p.commit, props: p.refs, committer: spec.Committer, added: added}
	b.epochs[e] = rec
	b.cur = next
	tree := next.Public().Tree()
	// Membership changes.
	var removed []MemberID
	for _, pr := range spec.Proposals {
		if pr.Kind == PropRemove {
			removed = append(removed, pr.Subject)
		}
	}
	for _, r := range removed {
		rm := b.mem(r)
		rm.leaf, rm.leafPriv, rm.g, rm.send, rm.kp = -1, nil, nil, nil, nil
		rm.isReal = false
	}
	for _, r := range p.refs {
		if r.kind == PropUpdate {
			b.mem(r.sender).leafPriv = r.updatePriv
		}
		delete(b.props, propKey{r.kind, r.sender})
	}
	ai := 0
	for _, pr := range spec.Proposals {
		if pr.Kind != PropAdd || pr.ByRef {
			continue
		}
		am := b.mem(pr.Subject)
		am.leaf, am.leafPriv, am.sig = int32(added[ai]), am.kp.EncryptionKey, am.kp.SignatureKey
		ai++
		if pr.Ghost {
			// The adversary's ghost: it holds the ghost's keys (below).
			if sh := b.shadows[spec.Adversary-1]; sh != nil {
				sh.ghost = pr.Subject
			}
			continue
		}
		if b.sampled(pr.Subject) {
			am.welcome, am.joinEpoch = p.welcome, e
			if !am.isReal {
				am.isReal = true
				b.real = append(b.real, pr.Subject)
			}
		} else {
			am.kp = nil
		}
	}
	// Key oracle: the committer's new private keys.
	cm := b.mem(spec.Committer)
	tp := next.TreePrivate()
	if spec.Path {
		cl := mls.LeafIndex(cm.leaf)
		cm.leafPriv = tp.PrivateKey(cl.Node())
		for _, x := range tree.FilteredDirectPath(cl) {
			b.nodes[x] = nodeKey{node: x, priv: tp.PrivateKey(x), pub: tree.Node(x).EncryptionKey()}
		}
	}
	if cm.isReal && cm.welcome == nil {
		b.makeReal(spec.Committer, b.copyOf(next, mls.LeafIndex(cm.leaf), cm.sig, tp))
	}
	if err := b.adversary(p, prev, next, removed); err != nil {
		return res, err
	}
	b.dropStolen(p)
	b.gc()
	return res, nil
}

// dropStolen forgets p as a shadow's stolen pending commit once the
// delivery service has decided it (its secrets were used, or never will be).
func (b *RealBackend) dropStolen(p *realPending) {
	for _, sh := range b.shadows {
		if sh.stolen == p {
			sh.stolen = nil
		}
	}
}

// oracleState is the exact private tree state of member m in the tree of
// g (RFC 9420, Section 4.2), from the key oracle.
func (b *RealBackend) oracleState(m MemberID, g *mls.Group) (*mls.TreePrivate, error) {
	rm := b.mem(m)
	tree := g.Public().Tree()
	l := mls.LeafIndex(rm.leaf)
	keys := []nodeKey{{node: l.Node(), priv: rm.leafPriv, pub: tree.Leaf(l).EncryptionKey}}
	for _, x := range treemath.DirectPath(l.Node(), tree.NumLeaves()) {
		pn := tree.ParentNode(x)
		if pn == nil || slices.Contains(pn.UnmergedLeaves, l) {
			continue
		}
		k, ok := b.nodes[x]
		if !ok || !bytes.Equal(k.pub, pn.EncryptionKey) {
			return nil, b.fail(fmt.Errorf("sim: %w: no private key for node %d", errFidelity, x))
		}
		keys = append(keys, k)
	}
	tp, err := newTreePrivate(tree.CipherSuite(), l, keys)
	if err != nil {
		return nil, b.fail(fmt.Errorf("sim: %w: oracle state of member %d: %v", errFidelity, m, err))
	}
	if err := tp.Check(tree); err != nil {
		return nil, b.fail(fmt.Errorf("sim: %w: oracle state of member %d: %v", errFidelity, m, err))
	}
	return tp, nil
}

const (
	// keepTemplates is how many past epoch templates are kept for senders
	// lagging behind the delivery service (and for application messages
	// of those epochs).
	keepTemplates = 64
	// maxLagEpochs bounds the epochs kept for real members that have not
	// processed them (offline): a real member further behind is
	// re-materialized in the current epoch (RealStats.Resyncs).
	maxLagEpochs = 1024
)

// gc drops epoch states no real member or sender needs any more. Real
// members process commits as they arrive (the engine's evDeliver), so
// only offline ones lag; templates are kept keepTemplates epochs and
// messages for at most maxLagEpochs.
func (b *RealBackend) gc() {
	cur := b.cur.Epoch()
	lowT := cur - min(cur, keepTemplates)
	low := min(lowT, cur-min(cur, 4))
	floor := cur - min(cur, maxLagEpochs)
	live := b.real[:0]
	for _, m := range b.real {
		rm := b.members[m]
		if !rm.isReal {
			continue
		}
		live = append(live, m)
		switch {
		case rm.welcome != nil:
			// A pending joiner needs its epoch's template (the
			// out-of-band ratchet tree) and record.
			lowT = min(lowT, rm.joinEpoch)
			low = min(low, rm.joinEpoch)
		case rm.g != nil:
			// A member with calls pending counts at the epoch they take it
			// to (as if flushed; its state may be changing in a batch).
			ep, queued := b.queuedEpoch(m)
			if !queued {
				ep = rm.g.Epoch()
			}
			if ep < floor {
				b.flush()
				if rm.g == nil {
					continue
				}
				if rm.g.Epoch() < floor {
					if err := b.resync(m); err != nil {
						continue
					}
				}
				ep = rm.g.Epoch()
			}
			low = min(low, ep)
		}
		for e := range rm.recv {
			if e < lowT {
				delete(rm.recv, e)
			}
		}
	}
	b.real = live
	for ; b.lowest < low; b.lowest++ {
		delete(b.epochs, b.lowest)
	}
	for e := max(b.lowTmpl, b.lowest); e < lowT; e++ {
		if r := b.epochs[e]; r != nil {
			r.tmpl = nil
		}
	}
	b.lowTmpl = max(b.lowTmpl, lowT)
	senders := b.senders[:0]
	for _, m := range b.senders {
		rm := b.members[m]
		// A sender state lives as long as its epoch's template: a state
		// made again for the same epoch would reuse ratchet generations.
		if rm.send != nil && rm.sendEpoch < b.lowTmpl {
			rm.send = nil
		}
		if rm.send != nil {
			senders = append(senders, m)
		}
	}
	b.senders = senders
}

// resync re-materializes real member m in the current epoch from the key
// oracle: it was offline for more than maxLagEpochs epochs.
func (b *RealBackend) resync(m MemberID) error {
	rm := b.mem(m)
	tp, err := b.oracleState(m, b.cur)
	if err != nil {
		return err
	}
	b.makeReal(m, b.copyOf(b.cur, mls.LeafIndex(rm.leaf), rm.sig, tp))
	b.st.Resyncs++
	return nil
}

// RealReceivers implements RealReceivers: the members with a real state
// (or a pending real Welcome).
func (b *RealBackend) RealReceivers() []MemberID { return b.real }

// ProcessCommit implements Backend: real member m processes the commit
// that created epoch e, after the proposals it references. With several
// Workers the call is deferred to the next flush (its failure is counted
// by Sync).
func (b *RealBackend) ProcessCommit(m MemberID, e uint64) error {
	// Nothing to do for a member that is (or its pending calls take it)
	// at or past e, e.g. one re-materialized after a long absence.
	rm := b.mem(m)
	cur, queued := b.queuedEpoch(m)
	if !queued {
		if rm.g == nil {
			return nil
		}
		cur = rm.g.Epoch() // not in a running batch: safe to read
	}
	if cur >= e {
		return nil
	}
	r, err := b.epoch(e)
	if err != nil {
		return err
	}
	j := procJob{m: m, e: e, r: r}
	if r.tmpl != nil {
		j.pub = r.tmpl.Public()
	}
	if b.Workers > 1 {
		b.deferred = append(b.deferred, j)
		if len(b.deferred) >= maxDeferred {
			b.flush()
		}
		return nil
	}
	err = b.processCommit(rm, j)
	b.lastBatch = []memberJobs{{rm: rm, m: m}}
	b.settle()
	return err
}

// processCommit is ProcessCommit done now. It touches only member m's
// state, reads the kept epoch records, and updates the statistics under
// b.mu, so flush may run it for different members concurrently.
func (b *RealBackend) processCommit(rm *realMember, j procJob) error {
	m, e, r := j.m, j.e, j.r
	if rm.g == nil || rm.g.Epoch() >= e {
		return nil
	}
	if rm.g.Epoch() != e-1 {
		return b.fail(fmt.Errorf("sim: member %d at epoch %d cannot process epoch %d", m, rm.g.Epoch(), e))
	}
	for _, pr := range r.props {
		if rm.seen[pr] {
			continue
		}
		msg, err := unmarshal(pr.msg)
		if err != nil {
			return err
		}
		if _, err := rm.g.Process(msg); err != nil {
			return b.fail(fmt.Errorf("sim: member %d processing a %s proposal of %d in epoch %d: %w", m, pr.kind, pr.sender, e-1, err))
		}
		if pr.sender == m && pr.updatePriv != nil {
			// Our own Update: the client kept its new leaf key.
			rm.g.RegisterUpdateKey([]byte(pr.ref), pr.updatePriv)
		}
	}
	msg, err := unmarshal(r.commit)
	if err != nil {
		return err
	}
	t0 := time.Now()
	out, err := rm.g.Process(msg)
	d := time.Since(t0)
	b.mu.Lock()
	b.st.procCPU += d
	b.st.procN++
	if err == nil {
		b.st.CommitsProcessed++
		if !out.SelfRemoved {
			b.st.AuthenticatorChecks++
		}
	}
	b.mu.Unlock()
	if err != nil {
		return b.fail(fmt.Errorf("sim: member %d processing the commit of epoch %d: %w", m, e, err))
	}
	rm.seen = nil
	if out.SelfRemoved {
		// Applied by the engine goroutine (settle): ProcessesCommits may
		// read rm.g while a batch runs.
		rm.selfRemoved = true
		return nil
	}
	if !bytes.Equal(rm.g.EpochAuthenticator(), r.auth) {
		return b.fail(fmt.Errorf("sim: %w: member %d derived another epoch authenticator for epoch %d", errFidelity, m, e))
	}
	// The member computed the epoch's public state itself; from now on it
	// shares the template's immutable copy (one PublicGroup per
	// epoch), so real members do not each hold a tree.
	if j.pub != nil {
		if err := rm.g.AdoptPublic(j.pub); err != nil {
			return b.fail(fmt.Errorf("sim: %w: member %d computed another public state for epoch %d", errFidelity, m, e))
		}
	}
	return nil
}

// Join implements Backend: a real joiner processes its Welcome.
func (b *RealBackend) Join(m MemberID, e uint64) error {
	b.flush()
	rm := b.mem(m)
	if rm.welcome == nil {
		return nil
	}
	r, err := b.epoch(e)
	if err != nil {
		return err
	}
	if !b.cfg.RatchetTreeInWelcome && r.tmpl == nil {
		return b.fail(fmt.Errorf("sim: template of epoch %d no longer kept for joiner %d", e, m))
	}
	msg, err := unmarshal(rm.welcome)
	if err != nil {
		return err
	}
	opts := &mls.JoinOptions{}
	if !b.cfg.RatchetTreeInWelcome {
		// Delivered out of band (RFC 9420, Section 12.4.3.3).
		if opts.RatchetTree, err = r.tmpl.Public().Tree().MarshalRatchetTree(); err != nil {
			return err
		}
	}
	t0 := time.Now()
	g, err := mls.Join(b.mcfg, msg, rm.kp, opts)
	b.st.joinCPU += time.Since(t0)
	if err != nil {
		return b.fail(fmt.Errorf("sim: member %d joining epoch %d: %w", m, e, err))
	}
	b.st.Joins++
	rm.welcome, rm.kp = nil, nil
	b.makeReal(m, g)
	b.st.AuthenticatorChecks++
	if !bytes.Equal(g.EpochAuthenticator(), r.auth) {
		return b.fail(fmt.Errorf("sim: %w: joiner %d derived another epoch authenticator for epoch %d", errFidelity, m, e))
	}
	if r.tmpl != nil {
		if err := g.AdoptPublic(r.tmpl.Public()); err != nil {
			return b.fail(fmt.Errorf("sim: %w: joiner %d computed another public state for epoch %d", errFidelity, m, e))
		}
	}
	return nil
}

// ProcessesCommits implements Backend: true for real members.
func (b *RealBackend) ProcessesCommits(m MemberID) bool {
	return int(m) < len(b.members) && b.members[m].g != nil
}

// Compromise implements Backend: the adversary of compromise id takes the
// victim's whole real state in the delivery service's epoch (private tree
// keys, epoch secrets with the init secret, signature key) and its pending
// secrets (the leaf keys of its uncommitted Update proposals, the commit
// it built that the delivery service has not decided yet), and the victim
// becomes a real member. A victim that is a real member is taken from its
// real mls.Group: a copy processes the commits it has not received yet
// (what the adversary can do with its state), and its tree keys must equal
// the key oracle's. Other victims (not in the `sampled` sample) have no
// real receiver state: their tree keys come from the key oracle, checked
// against the tree.
func (b *RealBackend) Compromise(id int, victim MemberID, signature bool) error {
	b.flush()
	rm := b.mem(victim)
	if rm.leaf < 0 {
		return b.fail(fmt.Errorf("sim: compromised member %d has no leaf", victim))
	}
	tp, err := b.oracleState(victim, b.cur)
	if err != nil {
		return err
	}
	sh := &shadow{victim: victim, signature: signature, alive: true, sig: rm.sig, epoch: b.cur.Epoch(), priv: tp, keys: b.cur.EpochSecrets(), ghost: -1}
	if rm.g != nil && rm.welcome == nil {
		// A real member: the adversary takes its real state and, if it is
		// behind, processes the commits it has not received yet itself
		// (on a copy); the result must be the key oracle's state.
		g, err := b.catchUp(victim, rm)
		if err != nil {
			return err
		}
		if !sameTreePrivate(g.TreePrivate(), tp) {
			return b.fail(fmt.Errorf("sim: %w: compromised member %d's real tree keys differ from the key oracle's", errFidelity, victim))
		}
		sh.priv, sh.keys = g.TreePrivate(), g.EpochSecrets()
		for _, k := range g.OwnUpdateKeys() {
			sh.updKeys = append(sh.updKeys, k)
		}
	}
	// Pending secrets the client holds (RFC 9420, Section 16.6): the leaf
	// keys of its uncommitted Update proposals (its real states' own
	// Update keys, and the proposal it would re-send) and the commit it
	// built that the delivery service has not decided yet.
	for _, g := range []*mls.Group{rm.g, rm.send} {
		if g != nil {
			for _, k := range g.OwnUpdateKeys() {
				sh.updKeys = append(sh.updKeys, k)
			}
		}
	}
	if r := b.props[propKey{PropUpdate, victim}]; r != nil {
		sh.updKeys = append(sh.updKeys, r.updatePriv)
	}
	sh.stolen = b.building[victim]
	b.shadows[id] = sh
	if signature {
		b.hijacked[victim] = id
	}
	if rm.welcome == nil && (rm.g == nil || rm.g.Epoch() < b.cur.Epoch()) {
		b.makeReal(victim, b.copyOf(b.cur, mls.LeafIndex(rm.leaf), rm.sig, tp))
	}
	return nil
}

// catchUp returns a copy of real member m's state moved to the delivery
// service's epoch by processing, in order, the proposals and commits it
// has not processed yet (what an adversary holding its state can do).
func (b *RealBackend) catchUp(m MemberID, rm *realMember) (*mls.Group, error) {
	tmp := &realMember{g: rm.g.Clone(), leaf: rm.leaf, isReal: true}
	if rm.seen != nil {
		tmp.seen = map[*propRec]bool{}
		for k, v := range rm.seen {
			tmp.seen[k] = v
		}
	}
	for e := tmp.g.Epoch() + 1; e <= b.cur.Epoch(); e++ {
		r, err := b.epoch(e)
		if err != nil {
			return nil, err
		}
		j := procJob{m: m, e: e, r: r}
		if r.tmpl != nil {
			j.pub = r.tmpl.Public()
		}
		if err := b.processCommit(tmp, j); err != nil {
			return nil, err
		}
	}
	if tmp.g.Epoch() != b.cur.Epoch() || !bytes.Equal(tmp.g.EpochAuthenticator(), b.cur.EpochAuthenticator()) {
		return nil, b.fail(fmt.Errorf("sim: %w: compromised member %d did not reach the delivery service's epoch", errFidelity, m))
	}
	return tmp.g, nil
}

// sameTreePrivate reports whether a and b hold the same private keys.
func sameTreePrivate(a, b *mls.TreePrivate) bool {
	na, nb := a.Nodes(), b.Nodes()
	if a.Leaf() != b.Leaf() || !slices.Equal(na, nb) {
		return false
	}
	for _, x := range na {
		if !bytes.Equal(a.PrivateKey(x), b.PrivateKey(x)) {
			return false
		}
	}
	return true
}

// AdversaryDerived reports whether the shadow client of compromise id
// derived the last accepted epoch (known is false for no such shadow).
func (b *RealBackend) AdversaryDerived(id int) (derived, known bool) {
	// Shadow clients only: no receiver state is read.
	sh := b.shadows[id]
	if sh == nil {
		return false, false
	}
	return sh.last, sh.known
}

// adversary runs every live shadow client over the accepted commit.
func (b *RealBackend) adversary(p *realPending, prev, next *mls.Group, removed []MemberID) error {
	for id, sh := range b.shadows {
		sh.known = false
		if !sh.alive {
			continue
		}
		if sh.ghost >= 0 && b.mem(sh.ghost).leaf < 0 {
			sh.gpriv = nil // its ghost was removed
		}
		sh.known = true
		b.st.AdversaryAttempts++
		gone := slices.Contains(removed, sh.victim) || b.mem(sh.victim).leaf < 0
		if !gone && ((p.byShadow && p.spec.Adversary == id+1) || p == sh.stolen) {
			// Its own commit as the victim (signed with the stolen key,
			// accepted by the real receivers), or the victim's commit it
			// stole while pending: it holds the path secrets, so the new
			// keys and the next epoch's secrets.
			sh.priv, sh.keys, sh.epoch, sh.last = next.TreePrivate(), next.EpochSecrets(), next.Epoch(), true
			if p.spec.Adversary == id+1 && sh.ghost >= 0 && b.mem(sh.ghost).leaf >= 0 {
				// It built the commit: it knows the ghost's new keys too.
				g, err := b.oracleState(sh.ghost, next)
				if err != nil {
					return err
				}
				sh.gpriv = g
			}
			b.st.AdversarySuccesses++
			continue
		}
		ok, err := b.tryEpoch(sh, p, prev, next)
		if err != nil {
			return err
		}
		sh.last, sh.alive = ok, ok
		if ok {
			sh.epoch = next.Epoch()
			b.st.AdversarySuccesses++
		} else if b.hijacked[sh.victim] == id {
			delete(b.hijacked, sh.victim)
		}
	}
	return nil
}

// tryEpoch makes shadow sh try to derive next's epoch from the commit it
// observed, with the keys it holds.
func (b *RealBackend) tryEpoch(sh *shadow, p *realPending, prev, next *mls.Group) (bool, error) {
	cs := prev.EpochSecrets().CipherSuite()
	oldCtx := prev.Public().Context()
	msg, err := unmarshal(p.commit)
	if err != nil {
		return false, err
	}
	var ac *mls.AuthenticatedContent
	switch {
	case msg.PublicMessage != nil:
		ac = &mls.AuthenticatedContent{WireFormat: msg.WireFormat, Content: msg.PublicMessage.Content, Auth: msg.PublicMessage.Auth}
	case msg.PrivateMessage != nil:
		// It knows the epoch's secrets: it decrypts the handshake.
		st, err := sh.keys.NewSecretTree(prev.Public().Tree().NumLeaves())
		if err != nil {
			return false, err
		}
		tree := prev.Public().Tree()
		ac, err = mls.UnprotectPrivate(cs, msg.PrivateMessage, &oldCtx, st, sh.keys.SenderData, func(l uint32) ([]byte, error) {
			if ln := tree.Leaf(mls.LeafIndex(l)); ln != nil {
				return ln.SignatureKey, nil
			}
			return nil, mls.ErrUnknownSender
		})
		if err != nil {
			return false, nil
		}
	}
	commit := ac.Content.Commit
	newPub := next.Public()
	newTree := newPub.Tree()
	var commitSecret mls.CommitSecret
	np := sh.priv.Prune(newTree)
	if np, err = withStolenLeaf(np, newTree, sh.updKeys); err != nil {
		return false, err
	}
	// The private states it holds: the victim's, and its ghost's.
	privs := []*mls.TreePrivate{np, nil}
	if sh.gpriv != nil {
		privs[1] = sh.gpriv.Prune(newTree)
	}
	if commit.Path != nil {
		prov := newPub.Context()
		prov.ConfirmedTranscriptHash = oldCtx.ConfirmedTranscriptHash
		enc, err := prov.Marshal()
		if err != nil {
			return false, err
		}
		committer := mls.LeafIndex(ac.Content.Sender.Index)
		ok := false
		for i, tp := range privs {
			if tp == nil || newTree.Leaf(tp.Leaf()) == nil {
				continue
			}
			dp, secret, err := newTree.DecryptUpdatePath(tp, committer, commit.Path, enc, p.pc.Stats.Added)
			if err != nil {
				continue // no key of the path's resolutions
			}
			privs[i], commitSecret, ok = dp, secret, true
		}
		if !ok {
			return false, nil // locked out
		}
		np = privs[0]
	}
	ctx := newPub.Context()
	enc, err := ctx.Marshal()
	if err != nil {
		return false, err
	}
	_, keys, err := mls.DeriveEpoch(cs, sh.keys.Init, commitSecret, nil, enc)
	if err != nil {
		return false, err
	}
	if !bytes.Equal(keys.Authenticator, next.EpochAuthenticator()) {
		return false, nil
	}
	sh.priv, sh.keys = np.Prune(newTree), keys
	if privs[1] != nil {
		sh.gpriv = privs[1].Prune(newTree)
	}
	return true, nil
}

// withStolenLeaf returns np with the leaf key of its leaf in tree when one
// of the stolen Update keys is that key (an Update the victim proposed
// before the compromise was committed), else np.
func withStolenLeaf(np *mls.TreePrivate, tree *mls.RatchetTree, keys [][]byte) (*mls.TreePrivate, error) {
	l := np.Leaf()
	ln := tree.Leaf(l)
	if ln == nil || len(keys) == 0 || np.PrivateKey(l.Node()) != nil {
		return np, nil
	}
	for _, k := range keys {
		tp, err := mls.TreePrivateFromKeys(tree.CipherSuite(), l, []mls.NodeIndex{l.Node()}, [][]byte{k})
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(tp.PrivateKey(l.Node()), k) || tp.Check(tree) != nil {
			continue
		}
		// The victim's direct path was blanked by the Update: the leaf
		// key joins whatever np still holds above it.
		nodes, privs := []mls.NodeIndex{l.Node()}, [][]byte{k}
		for _, x := range np.Nodes() {
			nodes, privs = append(nodes, x), append(privs, np.PrivateKey(x))
		}
		return mls.TreePrivateFromKeys(tree.CipherSuite(), l, nodes, privs)
	}
	return np, nil
}
