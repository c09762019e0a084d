package sim

// This file owns the operation-count workload (scenario section
// `operations`, workloads/README.md): a fixed number of group operations,
// one every operations.interval, each an add, a remove or an update drawn
// from operations.mix, issued by a member drawn uniformly or by a Zipf law
// over the members in join order, and committed by the issuer itself or
// proposed by it and committed under policy.committer. It is the workload
// of the continuous-group-key-agreement simulation literature (issue 14
// study 3, Tainted TreeKEM): "start with n members and run m operations".

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"
)

// streamOperations draws the operations (kind, issuer, remove target): its
// own stream, so the commit mode and the other policies do not shift it
// (common random numbers, rand.go).
const streamOperations = 8

// Operations is the operation-count workload (Count 0 = off). Every field
// is omitted when zero so scenarios without it keep their hashes.
type Operations struct {
	Count    int      `yaml:"count,omitempty"`
	Interval Duration `yaml:"interval,omitempty"` // one operation every Interval, the first at Interval
	Mix      OpMix    `yaml:"mix,omitempty"`
	// Issuer: "uniform" (default) or "zipf": the member of rank k (members
	// online and active, in join order: rank 1 is the oldest) issues with
	// weight 1/k^ZipfExponent.
	Issuer       string  `yaml:"issuer,omitempty"`
	ZipfExponent float64 `yaml:"zipf_exponent,omitempty"` // zipf only; 0 = 1
	// IssuerOrder ranks the members for the issuer law: "join" (default:
	// member id, the oldest first; at the start that is leaf order) or
	// "random" (a random permutation of member ids drawn at the start, so
	// the frequent issuers of a Zipf law sit anywhere in the tree).
	IssuerOrder string `yaml:"issuer_order,omitempty"`
	// Commit: "issuer" (default: the issuer commits its own operation, an
	// update as a commit with a path, a remove or an add inline) or
	// "proposal" (the issuer sends an Update or Remove proposal, committed
	// under policy.committer: a random online member for proposer and
	// random; an add is committed inline by that member).
	Commit string `yaml:"commit,omitempty"`
	// Fill: before the counted operations, every member of the group at
	// the first operation commits one self-update (a path), in a random
	// order, one per interval: the counted operations then start from a
	// full tree (no blank parent, no unmerged leaf) instead of the bare
	// tree an add-only creation leaves.
	Fill bool `yaml:"fill,omitempty"`
}

// OpMix is the probability of each kind of operation (sum 1).
type OpMix struct {
	Add    float64 `yaml:"add,omitempty"`
	Remove float64 `yaml:"remove,omitempty"`
	Update float64 `yaml:"update,omitempty"`
}

// validate checks the operations section (called by Scenario.Validate).
func (o Operations) validate(sc *Scenario) error {
	e := sc.fieldErr
	if o.Count == 0 {
		if o != (Operations{}) {
			return e("operations.count", "the operations section needs a positive count (0 = off)")
		}
		return nil
	}
	m := o.Mix
	switch {
	case o.Count < 0:
		return e("operations.count", "must not be negative (0 = off), got %d", o.Count)
	case o.Interval <= 0:
		return e("operations.interval", "must be positive (one operation every interval), got %s", o.Interval)
	case !o.Fill && float64(o.Count)*float64(o.Interval) >= float64(sc.Duration):
		return e("operations.count", "%d operations every %s end at %s, not before the duration %s",
			o.Count, o.Interval, FormatDuration(o.Interval.D()*time.Duration(o.Count)), sc.Duration)
	case o.Fill && float64(o.Count+sc.Population.InitialUsers)*float64(o.Interval) >= float64(sc.Duration):
		return e("operations.count", "%d fill updates and %d operations every %s end at %s, not before the duration %s",
			sc.Population.InitialUsers, o.Count, o.Interval,
			FormatDuration(o.Interval.D()*time.Duration(o.Count+sc.Population.InitialUsers)), sc.Duration)
	case !(m.Add >= 0 && m.Add <= 1):
		return e("operations.mix.add", "must be a probability in [0, 1], got %v", m.Add)
	case !(m.Remove >= 0 && m.Remove <= 1):
		return e("operations.mix.remove", "must be a probability in [0, 1], got %v", m.Remove)
	case !(m.Update >= 0 && m.Update <= 1):
		return e("operations.mix.update", "must be a probability in [0, 1], got %v", m.Update)
	case math.Abs(m.Add+m.Remove+m.Update-1) > 1e-9:
		return e("operations.mix", "add + remove + update must be 1, got %v", m.Add+m.Remove+m.Update)
	case !oneOf(o.Issuer, "", "uniform", "zipf"):
		return e("operations.issuer", "unknown issuer law %q (want uniform or zipf)", o.Issuer)
	case o.ZipfExponent != 0 && o.Issuer != "zipf":
		return e("operations.zipf_exponent", "needs operations.issuer zipf")
	case !(o.ZipfExponent >= 0 && o.ZipfExponent <= 10):
		return e("operations.zipf_exponent", "must be in (0, 10] (0 = 1), got %v", o.ZipfExponent)
	case !oneOf(o.IssuerOrder, "", "join", "random"):
		return e("operations.issuer_order", "unknown order %q (want join or random)", o.IssuerOrder)
	case !oneOf(o.Commit, "", "issuer", "proposal"):
		return e("operations.commit", "unknown value %q (want issuer or proposal)", o.Commit)
	case o.Commit == "proposal" && sc.Policy.Committer == "designated":
		return e("operations.commit", "proposal needs policy.committer proposer or random (a designated committer cannot commit adds the issuer asked for)")
	case sc.Group.DevicesPerUser != 1:
		return e("operations.count", "operation workloads need group.devices_per_user 1, got %d", sc.Group.DevicesPerUser)
	case sc.Groups.On():
		return e("operations.count", "operation workloads are single-group runs (groups.count must be 0), got groups.count %d", sc.Groups.Count)
	}
	return nil
}

// opState is the running workload: the online active members indexed by
// member id (a Fenwick tree, for the k-th oldest in O(log n)), the Zipf
// cumulative weights and the counters.
type opState struct {
	spec    Operations
	r       *rand.Rand
	fen     []int32    // 1-based Fenwick tree over ranks (positions)
	in      []bool     // member id is indexed
	pos     []int32    // member id -> position in the rank order (nil: the id itself)
	member  []MemberID // position -> member id (with pos)
	n       int        // indexed members
	zipfCum []float64  // zipfCum[k] = Σ_{j<=k} j^−zipfS
	zipfS   float64
	fill    []MemberID    // fill order (operations.fill), drawn at the first operation
	filled  int           // fill updates issued
	start   time.Duration // the first counted operation (after the fill)
	started bool          // the first counted operation has been issued
	n0      int           // members online at the first counted operation
	// enc counts the HPKE encryptions of the commits accepted from the
	// first counted operation on: UpdatePath ciphertexts plus one
	// EncryptedGroupSecrets per added member (RFC 9420, Section 12.4.3.1).
	enc     int64
	done    [3]int64 // add, remove, update operations carried out
	skipped int64
}

func newOpState(sc *Scenario) *opState {
	capacity := sc.Population.InitialUsers + sc.Operations.Count + 1
	o := &opState{spec: sc.Operations, r: newStream(sc.Seed, streamOperations),
		fen: make([]int32, capacity+1), in: make([]bool, capacity)}
	if o.spec.IssuerOrder == "random" {
		o.member = make([]MemberID, capacity)
		o.pos = make([]int32, capacity)
		for i := range o.member {
			o.member[i] = MemberID(i)
		}
		o.r.Shuffle(capacity, func(i, j int) { o.member[i], o.member[j] = o.member[j], o.member[i] })
		for p, m := range o.member {
			o.pos[m] = int32(p)
		}
	}
	if o.spec.Issuer == "zipf" {
		o.zipfS = o.spec.ZipfExponent
		if o.zipfS == 0 {
			o.zipfS = 1
		}
		o.zipfCum = make([]float64, capacity+1)
		for k := 1; k <= capacity; k++ {
			o.zipfCum[k] = o.zipfCum[k-1] + math.Pow(float64(k), -o.zipfS)
		}
	}
	return o
}

// mark adds (d = 1) or removes (d = −1) member m from the index.
func (o *opState) mark(m MemberID, d int32) {
	if int(m) >= len(o.in) {
		if d < 0 {
			return
		}
		o.grow(int(m) + 1)
	}
	if o.in[m] == (d > 0) {
		return
	}
	o.in[m] = d > 0
	o.n += int(d)
	p := int(m)
	if o.pos != nil {
		p = int(o.pos[m])
	}
	for i := p + 1; i < len(o.fen); i += i & -i {
		o.fen[i] += d
	}
}

// grow makes room for member ids below n beyond the planned capacity
// (members that population phases or an adversary's ghosts add besides
// the operations): the index doubles and is rebuilt; with issuer_order
// random the new ids rank after every planned one, in id order.
func (o *opState) grow(n int) {
	c := max(n, 2*len(o.in))
	in := make([]bool, c)
	copy(in, o.in)
	if o.pos != nil {
		for i := len(o.member); i < c; i++ {
			o.member = append(o.member, MemberID(i))
			o.pos = append(o.pos, int32(i))
		}
	}
	if o.zipfCum != nil {
		for k := len(o.zipfCum); k <= c; k++ {
			o.zipfCum = append(o.zipfCum, o.zipfCum[k-1]+math.Pow(float64(k), -o.zipfS))
		}
	}
	o.in, o.fen, o.n = make([]bool, c), make([]int32, c+1), 0
	for m, ok := range in {
		if ok {
			o.mark(MemberID(m), 1)
		}
	}
}

// kth returns the indexed member of rank k (1-based, in the rank order).
func (o *opState) kth(k int) MemberID {
	pos := 0
	for step := 1 << (bitsLen(len(o.fen)) - 1); step > 0; step >>= 1 {
		if next := pos + step; next < len(o.fen) && int(o.fen[next]) < k {
			pos = next
			k -= int(o.fen[next])
		}
	}
	if o.member != nil {
		return o.member[pos]
	}
	return MemberID(pos) // 1-based position pos+1 is member id pos
}

func bitsLen(n int) int {
	b := 0
	for n > 0 {
		b++
		n >>= 1
	}
	return b
}

// issuerRank draws the issuer's rank in 1..n.
func (o *opState) issuerRank() int {
	if o.zipfCum == nil {
		return 1 + o.r.IntN(o.n)
	}
	u := o.r.Float64() * o.zipfCum[o.n]
	return min(o.n, max(1, sort.SearchFloat64s(o.zipfCum[1:o.n+1], u)+1))
}

// startOperations arms the first operation (Scenario.Operations.Count > 0).
func (s *Sim) startOperations() {
	s.ops = newOpState(s.sc)
	for _, m := range s.online {
		s.ops.mark(m, 1)
	}
	s.push(s.now+s.sc.Operations.Interval.D(), evOperation, -1, 0, nil)
}

// operation k (0-based) falls due: draw its kind and issuer and carry it
// out. With operations.fill the first ones are the fill updates (gen 0
// stays the operation number until every fill update is issued).
func (s *Sim) operation(k int) error {
	o := s.ops
	if o.spec.Fill && k == 0 && (o.fill == nil || o.filled < len(o.fill)) {
		return s.fillUpdate()
	}
	if k == 0 {
		o.start, o.started, o.n0 = s.now, true, o.n
	}
	if k+1 < o.spec.Count {
		s.push(s.now+o.spec.Interval.D(), evOperation, -1, uint32(k+1), nil)
	}
	u := o.r.Float64()
	if o.n == 0 {
		o.skipped++
		s.logEvent("op_skipped", -1, int64(s.epoch), 0, "no member online")
		return nil
	}
	issuer := o.kth(o.issuerRank())
	mix := o.spec.Mix
	switch {
	case u < mix.Add:
		return s.opAdd(issuer)
	case u < mix.Add+mix.Remove:
		return s.opRemove(issuer)
	default:
		return s.opUpdate(issuer)
	}
}

// fillUpdate issues the next fill update (operations.fill): the members
// online at the first operation, in a random order, each commit one
// self-update; the counted operations follow one interval after the last.
func (s *Sim) fillUpdate() error {
	o := s.ops
	if o.fill == nil {
		o.fill = make([]MemberID, 0, o.n)
		for r := 1; r <= o.n; r++ {
			o.fill = append(o.fill, o.kth(r))
		}
		o.r.Shuffle(len(o.fill), func(i, j int) { o.fill[i], o.fill[j] = o.fill[j], o.fill[i] })
	}
	m := o.fill[o.filled]
	o.filled++
	s.push(s.now+o.spec.Interval.D(), evOperation, -1, 0, nil)
	if s.members[m].state != stActive {
		return nil
	}
	s.logEvent("op_fill", m, int64(s.epoch), 0, "")
	s.st.selfUpdates++
	return s.tryCommit(m, true, 0, nil)
}

func (s *Sim) opByIssuer() bool { return s.ops.spec.Commit != "proposal" }

// opAdd: a new user joins; the issuer commits its Add (or, by proposal,
// the committer policy's member does).
func (s *Sim) opAdd(issuer MemberID) error {
	u := s.newUser()
	d := s.users[u].devices[0]
	s.st.joins++
	s.logEvent("join", d, int64(s.epoch), 0, fmt.Sprintf("user=%d issuer=%d", u, issuer))
	mm := &s.members[d]
	mm.state = stQueued
	mm.queuedAt = s.now - s.sc.Policy.AddBatch.MaxWait.D() // no batching wait
	s.addQueue = append(s.addQueue, d)
	s.ops.done[0]++
	if s.opByIssuer() {
		return s.tryCommit(issuer, false, 0, nil)
	}
	s.requestCommit(s.sc.Policy.CommitDelay.D())
	return nil
}

// opRemove: the issuer removes a uniformly drawn other member (never the
// founder, which keeps the group alive as in leave).
func (s *Sim) opRemove(issuer MemberID) error {
	o := s.ops
	founder := s.users[0].devices[0]
	cand := o.n - 1
	if issuer != founder && o.in[founder] {
		cand--
	}
	if cand <= 0 {
		o.skipped++
		s.logEvent("op_skipped", issuer, int64(s.epoch), 0, "remove: no other member")
		return nil
	}
	var t MemberID
	for {
		t = o.kth(1 + o.r.IntN(o.n))
		if t != issuer && t != founder {
			break
		}
	}
	tm := &s.members[t]
	s.userGone(tm.user)
	s.st.leaves++
	s.logEvent("leave", t, int64(s.epoch), 0, fmt.Sprintf("user=%d issuer=%d", tm.user, issuer))
	tm.removeAsked = true
	tm.state = stLeaving
	s.onlineRemove(t)
	o.done[1]++
	if s.opByIssuer() {
		s.removeQueue = append(s.removeQueue, t)
		return s.tryCommit(issuer, false, 0, nil)
	}
	s.advance(issuer, s.now)
	s.propose(PropRemove, issuer, t)
	return nil
}

// opUpdate: the issuer refreshes its leaf, by its own commit with a path
// or by an Update proposal (RFC 9420, Section 12.1.2).
func (s *Sim) opUpdate(issuer MemberID) error {
	s.ops.done[2]++
	return s.refreshLeaf(issuer, s.opByIssuer())
}
