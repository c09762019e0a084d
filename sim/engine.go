// Package sim is the mlslab discrete-event simulator: a virtual clock and a
// (time, sequence) event queue drive users joining and leaving, devices going
// offline, self-updates, commits through an ordering delivery service
// (RFC 9750), application traffic and state compromises, against a Backend
// that says what each MLS operation costs (fidelity model, sampled, full).
//
// A run is deterministic: the same scenario and seed produce byte-identical
// events.csv, epochs.csv and compromises.csv and the same summary metrics.
// The logic reads no wall clock; randomness comes from one seeded
// math/rand/v2 stream per concern (workload, network, adversary, keys).
//
// # Which API to use
//
// LoadScenario parses and validates a scenario file (workloads/README.md);
// Run simulates it and writes the CSVs and summary.json into a directory.
// Backend is the seam the real MLS groups plug into; ModelBackend is the
// `model` fidelity level.
package sim

// This file owns the engine: the simulation state, the (time, sequence)
// event queue, the run loop and the dispatch of each event kind. Its rooms:
// membership.go, availability.go, delivery.go (member epochs), workload.go,
// commit.go, adversary.go, output.go and summary.go; the backends are
// model.go and real*.go behind backend.go.

import (
	"container/heap"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"time"

	"github.com/mlslab/mlslab/sim/size"
	"github.com/mlslab/mlslab/sim/symtree"
)

// ErrInterrupted is returned by Run when its context is cancelled; the
// outputs are complete up to the last full row.
var ErrInterrupted = errors.New("interrupted")

type evKind uint8

const (
	evEnd evKind = iota
	evPhase
	evJoin
	evLeave
	evJoined
	evSelfUpdate
	evApp
	evCommitAttempt
	evRetry
	evArriveCommit
	evArriveProposal
	evBatchTimer
	evOffline
	evOnline
	evCompromise
	evSweep
	// evDeliver: a commit reaches a real member (backends with real
	// receivers, RealReceivers). It is bookkeeping of the real backends
	// only: it is not counted in Sim.events (events.csv "seq") and changes
	// no simulated state, since member epochs are a pure function of the
	// delivery model (advance is exact whenever it is called).
	evDeliver
	// evTakeover: a signature-key adversary starts acting as its victim.
	evTakeover
	// evRejoin: a signature-key adversary whose victim was removed sends
	// an external commit (adversary.rejoin).
	evRejoin
	// evOperation: operation number gen of the operation-count workload
	// (operations.go).
	evOperation
)

type event struct {
	at   time.Duration
	seq  uint64
	kind evKind
	m    MemberID
	gen  uint32
	x    any
}

type eventQueue []event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = event{}
	*q = old[:len(old)-1]
	return e
}

type memberState uint8

const (
	stQueued  memberState = iota // waiting to be added
	stJoining                    // in the tree, Welcome not yet processed
	stActive
	stLeaving // removal requested
	stGone
)

const never = time.Duration(math.MaxInt64)

type member struct {
	user        int32
	leaf        int32 // -1 when not in the tree
	state       memberState
	online      bool
	onlineSince time.Duration
	ep          uint64        // last processed epoch
	qEpoch      uint64        // delivery service epoch when it last came online
	epT         time.Duration // when it was processed
	lastEpoch   uint64        // last epoch it will ever process (removal)
	joinEpoch   uint64
	lastUpdate  time.Duration
	lastActive  time.Duration
	updGen      uint32
	onGen       uint32
	groupPos    int32 // index in inGroup or -1
	onlinePos   int32 // index in online or -1
	alwaysOn    bool
	updateDue   bool // self-update fell due while offline
	retryDue    *inflight
	updPending  bool      // an Update proposal of its own is in the pool
	updID       uint64    // pool id of that Update (valid while updPending)
	cur         *inflight // its last commit (in flight while committing)
	removeAsked bool
	committing  bool          // a commit of its own is in flight (it waits for the outcome)
	queuedAt    time.Duration // when it entered the add queue
	// Availability and traffic timelines (common random numbers, rand.go):
	// draw counters and the next application send of its own Poisson
	// process (appArmed: an evApp of generation appGen is queued).
	avN, appN uint64
	appT      time.Duration
	appGen    uint32
	appArmed  bool
	// ghostOf is 1 + the id of the compromise whose adversary added this
	// ghost member (0 for a real device).
	ghostOf int32
	// dev numbers the real devices in creation order (the key of their
	// availability and traffic draws: members the adversary brings in do
	// not shift it).
	dev MemberID
}

type user struct {
	devices []MemberID
	pos     int32 // in activeUsers, -1 if gone
}

type poolEntry struct {
	id      uint64
	kind    ProposalKind
	sender  MemberID
	subject MemberID
	acceptT time.Duration
	bytes   int
}

// Progress reports how far a run is.
type Progress struct {
	Now, Horizon time.Duration
	Events       uint64
	Epoch        uint64
	Members      int
}

// Options configure Run.
type Options struct {
	OutDir  string
	Backend Backend // nil: by fidelity
	// SampleReceivers is the expected number of sampled real receivers at
	// fidelity sampled (0 = the scenario's sample_receivers, default 8).
	SampleReceivers int
	// Workers is how many real receivers process commits at once at
	// fidelity full and sampled (0 = GOMAXPROCS; see RealBackend.Workers).
	Workers  int
	Progress func(Progress) // called every ProgressEvery events, may be nil
	// ProgressEvery defaults to 65536 events.
	ProgressEvery uint64
}

// Sim is one simulation run.
type Sim struct {
	sc      *Scenario
	opt     Options
	suite   size.Suite
	profile size.Profile
	backend Backend
	tree    *symtree.Tree

	now    time.Duration
	seq    uint64
	q      eventQueue
	events uint64

	rw, rn, ra *rand.Rand
	rm         *rand.Rand // membership (joins, leaves)
	avSeed     uint64     // availability draws (counterDraw)
	trSeed     uint64     // traffic draws (counterDraw)
	lat        *latency

	// Multi-group runs (groups.go): this group's index, and the base
	// seed's availability seed of the shared clients' devices.
	group    int
	sharedAv uint64

	members     []member
	users       []user
	activeUsers []int32
	inGroup     []MemberID
	online      []MemberID

	// delivery service
	epoch       uint64
	acceptT     []time.Duration
	pool        []poolEntry
	poolSeq     uint64
	addQueue    []MemberID
	removeQueue []MemberID
	scheduled   bool // designated/proposer: a commit attempt is scheduled
	waiting     bool // designated: waiting for a designated committer to come online

	phase      int
	phaseStart time.Duration

	watches   []*watch // by epoch (nil mostly)
	watchList []uint64 // watched epochs, increasing
	maxWatch  uint64
	comps     []*compromise

	pathBuf  []symtree.PathLevel
	epochRow epochCounters

	out *outputs
	st  stats
	ops *opState // operation-count workload (nil when off)
}

type epochCounters struct {
	collisions, retries int
}

// New prepares a run: it checks the scenario and opens the outputs (so an
// unwritable directory fails before anything is simulated).
func New(sc *Scenario, opt Options) (*Sim, error) {
	s := &Sim{sc: sc, opt: opt}
	s.suite, _ = size.SuiteByID(sc.Suite)
	s.profile = size.DefaultProfile()
	s.profile.IdentityLen = sc.Group.IdentityBytes
	s.profile.GroupIDLen = sc.Group.GroupIDBytes
	s.profile.AuthenticatedDataLen = sc.Group.AuthenticatedData
	s.profile.PaddingBlock = sc.Group.PaddingBlock
	s.backend = opt.Backend
	if s.backend == nil {
		switch sc.Fidelity {
		case "full":
			s.backend = &RealBackend{full: true, Workers: opt.Workers}
		case "sampled":
			k := opt.SampleReceivers
			if k == 0 {
				k = sc.SampleReceivers
			}
			s.backend = &RealBackend{SampleReceivers: k, Workers: opt.Workers}
		default:
			s.backend = &ModelBackend{}
		}
	}
	if s.opt.ProgressEvery == 0 {
		s.opt.ProgressEvery = 1 << 16
	}
	s.rw = newStream(sc.Seed, streamWorkload)
	s.rn = newStream(sc.Seed, streamNetwork)
	s.ra = newStream(sc.Seed, streamAdversary)
	s.rm = newStream(sc.Seed, streamMembership)
	s.avSeed = streamSeed(sc.Seed, streamAvailability)
	s.trSeed = streamSeed(sc.Seed, streamTraffic)
	s.lat = newLatency(sc.Network.Latency, streamSeed(sc.Seed, streamNetwork+100))
	if opt.OutDir != "" {
		out, err := openOutputs(opt.OutDir, sc.Output.Events)
		if err != nil {
			return nil, err
		}
		s.out = out
	}
	return s, nil
}

// Run simulates the scenario into opt.OutDir. On context cancellation it
// stops between two events, completes the outputs and returns
// ErrInterrupted together with the partial summary.
// A multi-group scenario (groups.count) runs one simulation per group
// (groups.go).
func Run(ctx context.Context, sc *Scenario, opt Options) (*Summary, error) {
	if sc.Groups.On() {
		return runGroups(ctx, sc, opt)
	}
	s, err := New(sc, opt)
	if err != nil {
		return nil, err
	}
	return s.Run(ctx)
}

func (s *Sim) push(at time.Duration, k evKind, m MemberID, gen uint32, x any) {
	if at < s.now {
		at = s.now
	}
	if at >= never/2 {
		return
	}
	s.seq++
	heap.Push(&s.q, event{at: at, seq: s.seq, kind: k, m: m, gen: gen, x: x})
}

// Run executes the simulation.
func (s *Sim) Run(ctx context.Context) (*Summary, error) {
	wall := time.Now()
	if err := s.start(); err != nil {
		s.closeOutputs()
		return nil, err
	}
	horizon := s.sc.Duration.D()
	s.push(horizon, evEnd, -1, 0, nil)
	runErr := s.loop(ctx, never)
	s.syncBackend()
	if runErr == nil || errors.Is(runErr, ErrInterrupted) {
		s.finish()
	}
	sum := s.summary(wall, runErr)
	if s.out != nil {
		if err := s.out.writeSummary(sum); err != nil && runErr == nil {
			runErr = err
		}
	}
	if err := s.closeOutputs(); err != nil && runErr == nil {
		runErr = err
	}
	if s.opt.Progress != nil {
		s.opt.Progress(Progress{Now: s.now, Horizon: horizon, Events: s.events, Epoch: s.epoch, Members: s.tree.Members()})
	}
	return sum, runErr
}

// loop handles events up to and including time until (tests step with it).
func (s *Sim) loop(ctx context.Context, until time.Duration) error {
	horizon := s.sc.Duration.D()
	for s.q.Len() > 0 && s.q[0].at <= until {
		// Checked at every event: in real-cryptography runs one event can
		// take seconds.
		if ctx.Err() != nil {
			return ErrInterrupted
		}
		e := heap.Pop(&s.q).(event)
		s.now = e.at
		if e.kind == evDeliver {
			s.advance(e.m, s.now)
			continue
		}
		s.events++
		if s.opt.Progress != nil && s.events%s.opt.ProgressEvery == 0 {
			s.opt.Progress(Progress{Now: s.now, Horizon: horizon, Events: s.events, Epoch: s.epoch, Members: s.tree.Members()})
		}
		if err := s.handle(e); err != nil {
			if errors.Is(err, errEnd) {
				return nil
			}
			return err
		}
	}
	return nil
}

var errEnd = errors.New("end")

// syncBackend finishes a backend's deferred work and counts its failures.
func (s *Sim) syncBackend() {
	if d, ok := s.backend.(Deferrer); ok {
		s.st.backendErrors += int64(d.Sync())
	}
}

func (s *Sim) closeOutputs() error {
	if s.out == nil {
		return nil
	}
	return s.out.close()
}

func (s *Sim) start() error {
	sc := s.sc
	cfg := BackendConfig{
		Suite: s.suite, Profile: s.profile, PrivateHandshake: sc.Group.Handshake == "private",
		RatchetTreeInWelcome: sc.Group.RatchetTreeInWelcome, Seed: streamSeed(sc.Seed, streamKeys),
		ExpectedMembers: sc.expectedMembers(),
	}
	// The founder: user 0, device 0 creates the group (RFC 9420, Section 11).
	u := s.newUser()
	founder := s.users[u].devices[0]
	if err := s.backend.Init(cfg, founder); err != nil {
		return err
	}
	s.tree = symtree.New(s.suite, s.profile, founder)
	s.st.lastSize = 1
	s.acceptT = append(s.acceptT, 0)
	f := &s.members[founder]
	f.leaf = 0
	f.state = stJoining
	s.groupAdd(founder)
	s.activate(founder)
	for _, d := range s.users[u].devices[1:] {
		s.enqueueAdd(d)
	}
	for range sc.Population.InitialUsers - 1 {
		u := s.newUser()
		for _, d := range s.users[u].devices {
			s.enqueueAdd(d)
		}
	}
	// The founding members do not wait for a batch: they are added at once
	// (in batches of add_batch.size).
	for _, m := range s.addQueue {
		s.members[m].queuedAt = s.now - sc.Policy.AddBatch.MaxWait.D()
	}
	s.requestCommit(0)
	s.startPhase(0)
	if d := sc.Policy.RemoveInactiveAfter.D(); d > 0 {
		s.push(s.sweepEvery(), evSweep, -1, 0, nil)
	}
	s.scheduleCompromises()
	if sc.Operations.Count > 0 {
		s.startOperations()
	}
	s.logEvent("start", founder, int64(s.epoch), 0, sc.Name)
	return nil
}

func (s *Sim) sweepEvery() time.Duration {
	d := s.sc.Policy.RemoveInactiveAfter.D() / 8
	return max(d, time.Minute)
}

func (s *Sim) handle(e event) error {
	switch e.kind {
	case evEnd:
		s.logEvent("end", -1, int64(s.epoch), 0, "")
		return errEnd
	case evPhase:
		if int(e.gen) == s.phase {
			s.startPhase(s.phase + 1)
		}
	case evJoin:
		if int(e.gen) == s.phase {
			s.join()
			if int(e.gen) == s.phase { // join may have ended the phase
				s.schedulePhaseJoin()
			}
		}
	case evLeave:
		if int(e.gen) == s.phase {
			s.leave()
			s.schedulePhaseLeave()
		}
	case evJoined:
		s.joined(e.m)
	case evSelfUpdate:
		m := &s.members[e.m]
		if m.updGen != e.gen || m.state != stActive {
			return nil
		}
		s.armSelfUpdate(e.m)
		if !m.online {
			m.updateDue = true
			return nil
		}
		return s.selfUpdate(e.m, "timer")
	case evApp:
		return s.app(e.m, e.gen)
	case evCommitAttempt:
		return s.commitAttempt(e)
	case evRetry:
		return s.retry(e.m, e.x.(*inflight))
	case evArriveCommit:
		return s.arriveCommit(e.x.(*inflight))
	case evArriveProposal:
		s.arriveProposal(e.x.(*proposalMsg))
	case evBatchTimer:
		if s.addsReady() {
			s.requestCommit(0)
		}
	case evOffline:
		s.goOffline(e.m, e.gen)
	case evOnline:
		return s.goOnline(e.m, e.gen)
	case evCompromise:
		s.compromise(e.x.(*compromise))
	case evTakeover:
		return s.takeover(e.x.(*compromise))
	case evRejoin:
		return s.rejoin(e.x.(*compromise))
	case evOperation:
		return s.operation(int(e.gen))
	case evSweep:
		s.sweep()
		s.push(s.now+s.sweepEvery(), evSweep, -1, 0, nil)
	}
	return nil
}
