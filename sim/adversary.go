package sim

// This file owns the symbolic half of the adversary: compromises, takeovers,
// ghost members and external rejoins scheduled by the engine, the
// derivation rule on the symbolic tree and the healing bookkeeping behind
// compromises.csv (docs/pcs.md). The real half, the shadow clients of
// fidelity full and sampled, is adversary_real.go.

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/mlslab/mlslab/sim/survival"
	"github.com/mlslab/mlslab/sim/symtree"
)

// compromise is one state compromise and its symbolic bookkeeping
// (docs/pcs.md). Each compromise is tracked as its own
// adversary, so healing time and exposure are per compromise.
//
// Compromised state. Compromising member X leaks everything X's client
// holds at that instant (RFC 9420, Section 16.6): the secrets of X's
// current epoch (init_secret included) and every node private key X holds
// (its leaf, and its non-blank ancestors that do not list it as unmerged);
// plus its pending secrets: the leaf private key of an Update it proposed
// that is not committed yet (also one proposed in a stale epoch: every
// re-send of the proposal in a later epoch proposes the same leaf key, see
// workloads/README.md, "Adversary"), and the path secrets of a commit it
// built that the delivery service has not accepted or rejected yet. When
// such an Update is committed the adversary holds the victim's new leaf
// key; when such a commit is accepted it derives the new epoch and holds
// the victim's new keys. A victim still joining holds the init key of the
// KeyPackage it was added with, so it can read its Welcome: that is the
// join epoch's state it is given. No other KeyPackage is ever published
// for a member in the simulator (joiners are added with their one
// KeyPackage, and queued members are not in the group, so never victims).
// At fidelity sampled/full the real shadow client takes these from the
// victim's real client state (mls.Group.OwnUpdateKeys of its real states,
// the Update proposal it would re-send, the PendingCommit it built) and
// must reach the same outcome as the symbolic rule.
//
// Rules. With X's state the adversary can process every commit X could, so it
// follows the group up to the delivery service's epoch. For each later
// commit it derives the next epoch iff it knows the current epoch's
// init_secret and the commit_secret: the commit has no path (commit_secret
// is zero, RFC 9420, Section 8) or some UpdatePath ciphertext is addressed
// to a node key it holds (then it also learns the path secrets from that
// node up to the root, Section 7.4). Healed = the first epoch it cannot
// derive; it is then locked out for good (no later init_secret). PSKs are
// not modelled.
//
// Signature key. An adversary that also took the signature key acts as the
// victim: right after the compromise it commits as the victim (a self-update
// with a path it generates, signed with the stolen key), and from then on
// every commit from the victim's leaf is its own (the victim's self-update
// schedule, its turns as committer): the honest device, whose leaf keys it
// replaced, can no longer refresh them. It knows every key of its own
// commits; other commits it derives by the rule above with the keys it
// holds, which always include the victim's current leaf key, so only a
// commit removing the victim heals it. Its accepted commits are counted
// (adversary_commit events, compromises.csv adversary_commits).
//
// Active adversary (RFC 9420, Sections 16.5, 16.6; workloads/README.md,
// "Active adversary"). With the signature key it can also inject messages
// as the victim while it knows the epoch and the victim's leaf is in the
// group (injectEnd). With adversary.ghost its first commit as the victim
// that may add members also adds a ghost member whose keys it holds
// (controlledKeys): the ghost's leaf is in some resolution of every later
// UpdatePath, so it keeps deriving until the ghost and the victim are both
// removed. With adversary.rejoin (and group.external_commits) it re-enters
// by an external commit after the victim's removal, and derives every
// epoch while that leaf is in the group, even after a heal (back,
// relockEpoch; exposes counts those epochs). Ghosts and rejoined leaves
// are silent members of no user; only policy.remove_inactive_after removes
// them.
type compromise struct {
	id        int
	at        time.Duration
	u         float64 // victim draw in [0,1): index into the members at time at
	signature bool

	happened   bool
	skipped    string
	victim     MemberID
	startEpoch uint64 // the victim's epoch when compromised
	dsEpoch    uint64
	known      []symtree.KeyRef

	healed     bool
	healEpoch  uint64
	healCommit time.Duration
	healAll    time.Duration // when every remaining member processed the healing commit; never if not by the end
	healVictim time.Duration // when the victim processed the healing commit (victimDone)
	healOnline time.Duration // when every member online at the healing commit processed it (onlineDone)
	victimDone bool
	onlineDone bool
	watch      *watch
	exposure   int64
	advCommits int64 // accepted commits it built as the victim (signature key)

	// Pending secrets of the victim at the compromise (item "compromised
	// state" above): the pool id of its uncommitted Update proposal (0 if
	// none) and the commit it had built that the delivery service had not
	// yet decided (nil if none).
	stolenUpd    uint64
	stolenCommit *inflight

	// Active adversary (signature key, workloads/README.md "Active
	// adversary"): its ghost member (-1 if none) and when the commit
	// removing it was accepted (never if not by the end); when the commit
	// removing the victim was accepted (never if not by the end).
	ghost      MemberID
	ghostGone  time.Duration
	victimGone time.Duration
	// Rejoin (adversary.rejoin): the member it re-entered as by an
	// external commit (-1 if none), when that commit was accepted and its
	// epoch, when the commit removing it was accepted (never if not by the
	// end); back: it re-entered after the compromise had healed and still
	// derives every epoch; relockEpoch: the epoch that locked it out again
	// (0 if none).
	rejoiner    MemberID
	rejoinAt    time.Duration
	rejoinEpoch uint64
	rejoinGone  time.Duration
	back        bool
	relockEpoch uint64
	rejoinTries int
}

// injectEnd is when a signature-key adversary lost the ability to send
// messages the group accepts as the victim's: the healing commit or the
// commit removing the victim, whichever came first (never if neither by
// the end). It needs the epoch's secrets and the victim's leaf.
func (c *compromise) injectEnd() time.Duration {
	end := c.victimGone
	if c.healed {
		end = min(end, c.healCommit)
	}
	return end
}

func (c *compromise) exposes(t time.Duration, epoch uint64) bool {
	if !c.happened || t < c.at {
		return false
	}
	if epoch >= c.startEpoch && (!c.healed || epoch < c.healEpoch) {
		return true
	}
	// Re-entered by an external commit after it had healed.
	return c.healed && c.rejoinAt != never && c.rejoinAt > c.healCommit && epoch >= c.rejoinEpoch && (c.back || epoch < c.relockEpoch)
}

func newCompromise(at time.Duration, u float64, signature bool) *compromise {
	return &compromise{at: at, u: u, signature: signature, healAll: never, ghost: -1, ghostGone: never, victimGone: never,
		rejoiner: -1, rejoinAt: never, rejoinGone: never}
}

// scheduleCompromises draws the whole compromise schedule at the start from
// the adversary stream (times, victim draws, signature-key flags), so the
// schedule does not depend on the rest of the run.
func (s *Sim) scheduleCompromises() {
	a := s.sc.Adversary
	for _, cs := range a.Compromises {
		s.comps = append(s.comps, newCompromise(cs.At.D(), s.ra.Float64(), cs.SignatureKey))
	}
	if a.Rate.PerSecond > 0 {
		t := time.Duration(0)
		for {
			t += expRate(s.ra, a.Rate.PerSecond)
			if t >= s.sc.Duration.D() {
				break
			}
			u := s.ra.Float64()
			s.comps = append(s.comps, newCompromise(t, u, s.ra.Float64() < a.SignatureKeyFraction))
		}
	}
	slices.SortStableFunc(s.comps, func(x, y *compromise) int {
		switch {
		case x.at < y.at:
			return -1
		case x.at > y.at:
			return 1
		}
		return 0
	})
	for i, c := range s.comps {
		c.id = i
		s.push(c.at, evCompromise, -1, 0, c)
	}
}

// compromise draws c's victim: c.u indexes the devices of the users in
// the group at that time (joined and not left, the membership stream),
// ordered by member id, so policy variants of one scenario and seed hit
// the same victims (common random numbers, rand.go). A drawn device that
// is not in the tree (still waiting for its Add, or removed as inactive)
// is not compromised (skipped).
//
// In a multi-group run (groups.go) c.u indexes the shared clients'
// devices instead, the same list in every group, so the same device is
// compromised in every group at once.
func (s *Sim) compromise(c *compromise) {
	var cands []MemberID
	if s.sc.Groups.On() {
		cands = s.sharedDevices()
	} else {
		for _, u := range s.activeUsers {
			cands = append(cands, s.users[u].devices...)
		}
	}
	if len(cands) == 0 {
		c.skipped = "empty group"
		return
	}
	slices.Sort(cands)
	v := cands[int(c.u*float64(len(cands)))]
	c.victim = v
	if s.members[v].leaf < 0 {
		c.skipped = "victim not in the group"
		s.logEvent("compromise_skipped", v, int64(s.epoch), 0, fmt.Sprintf("id=%d", c.id))
		return
	}
	s.compromiseVictim(c, v)
}

// compromiseVictim leaks v's whole state to the adversary of c.
func (s *Sim) compromiseVictim(c *compromise, v MemberID) {
	vm := &s.members[v]
	s.advance(v, s.now)
	c.victim = v
	c.happened = true
	c.startEpoch = vm.ep
	c.dsEpoch = s.epoch
	c.known = s.tree.HeldKeys(uint32(vm.leaf), c.known[:0])
	c.stolenUpd, c.stolenCommit = 0, nil
	if vm.updPending {
		c.stolenUpd = vm.updID
	}
	if vm.committing {
		c.stolenCommit = vm.cur
	}
	if err := s.backend.Compromise(c.id, v, c.signature); err != nil {
		s.st.backendErrors++
	}
	if c.signature {
		s.push(s.now, evTakeover, v, 0, c)
		// The members it may bring in (adversary.ghost, adversary.rejoin),
		// waiting for their Add or external commit.
		if s.sc.Adversary.Ghost {
			c.ghost = s.newAdversaryMember(c)
		}
		if s.sc.Adversary.Rejoin {
			c.rejoiner = s.newAdversaryMember(c)
		}
	}
	s.st.compromises++
	s.logEvent("compromise", v, int64(vm.ep), 0, fmt.Sprintf("id=%d signature_key=%t keys=%d", c.id, c.signature, len(c.known)))
}

// newAdversaryMember adds a member the adversary of c controls (a ghost,
// or the leaf it rejoins with): of no user, silent (never online for the
// committer and traffic choices), following the group as soon as it is
// in the tree. Members are only appended by join and compromise events
// (no caller holds a *member across them).
func (s *Sim) newAdversaryMember(c *compromise) MemberID {
	id := MemberID(len(s.members))
	s.members = append(s.members, member{user: -1, leaf: -1, groupPos: -1, onlinePos: -1, lastEpoch: math.MaxUint64,
		alwaysOn: true, online: true, onlineSince: s.now, qEpoch: s.epoch, state: stQueued, ghostOf: int32(c.id + 1)})
	return id
}

// rejoin: the signature-key adversary of c, whose victim was removed,
// re-enters by an external commit signed with the victim's key, built in
// the delivery service's epoch from its public GroupInfo (RFC 9420,
// Section 12.4.3.2). Once per compromise (see workloads/README.md).
func (s *Sim) rejoin(c *compromise) error {
	r := c.rejoiner
	if r < 0 || s.members[r].state != stQueued || s.members[r].committing {
		return nil
	}
	f := &inflight{sentAt: s.now, attempts: c.rejoinTries}
	c.rejoinTries++
	f.spec = CommitSpec{Epoch: s.epoch, Committer: r, Path: true, External: true, Adversary: c.id + 1}
	pend, err := s.backend.CreateCommit(f.spec)
	if err != nil {
		return fmt.Errorf("creating an external commit: %w", err)
	}
	f.pending = pend
	s.members[r].committing = true
	s.logEvent("rejoin_attempt", r, int64(s.epoch), 0, fmt.Sprintf("id=%d victim=%d", c.id, c.victim))
	s.push(s.now+s.lat.draw(s.rn), evArriveCommit, r, 0, f)
	return nil
}

// controlledKeys sets c.known to the keys of every leaf c's adversary
// controls in the tree (the victim's while it acts as the victim, its
// ghost's, its rejoined leaf's): it built the commit just accepted.
func (s *Sim) controlledKeys(c *compromise, victim bool) {
	c.known = c.known[:0]
	for _, m := range []MemberID{c.victim, c.ghost, c.rejoiner} {
		if m < 0 || (m == c.victim && !victim) || s.members[m].leaf < 0 {
			continue
		}
		c.known = s.tree.HeldKeys(uint32(s.members[m].leaf), c.known)
	}
}

// hijacker returns the unhealed signature-key compromise acting as m, or nil.
func (s *Sim) hijacker(m MemberID) *compromise {
	for _, c := range s.comps {
		if c.happened && c.signature && !c.healed && c.victim == m {
			return c
		}
	}
	return nil
}

// takeover: the signature-key adversary of c commits as its victim (a
// self-update with keys it chose), if the victim is still in the group.
func (s *Sim) takeover(c *compromise) error {
	v := c.victim
	if c.healed || s.members[v].state != stActive {
		return nil
	}
	s.logEvent("takeover", v, int64(s.members[v].ep), 0, fmt.Sprintf("id=%d", c.id))
	return s.tryCommit(v, true, 0, nil)
}

// adversaryStep updates every unhealed compromise for the commit just
// accepted (the tree already holds the new epoch).
func (s *Sim) adversaryStep(f *inflight, a *Applied, removed []MemberID, stayed int) {
	for _, c := range s.comps {
		ownExternal := f.spec.External && f.spec.Adversary == c.id+1
		if !c.happened || (c.healed && !c.back && !ownExternal) {
			continue
		}
		victimGone := slices.Contains(removed, c.victim) || s.members[c.victim].leaf < 0
		if slices.Contains(removed, c.victim) {
			c.victimGone = s.now
		}
		derived := false
		if c.stolenUpd != 0 && !victimGone && slices.Contains(f.pool, c.stolenUpd) {
			// The victim's Update proposed before the compromise: the
			// adversary holds its leaf private key.
			x := 2 * uint32(s.members[c.victim].leaf)
			c.known = append(c.known, symtree.KeyRef{Node: x, Key: s.tree.Key(x)})
			c.stolenUpd = 0
		}
		switch {
		case ownExternal:
			// Its external commit: it chose every new key.
			derived = true
			if c.healed {
				c.back = true
			}
			s.controlledKeys(c, !victimGone && c.signature)
		case f == c.stolenCommit && !victimGone:
			// The victim's commit built before the compromise: the
			// adversary holds its path secrets (and all it derives).
			derived = true
			c.known = s.tree.HeldKeys(uint32(s.members[c.victim].leaf), c.known[:0])
		case f.spec.Adversary == c.id+1 && !victimGone:
			// Its own commit as the victim: it chose every new key (its
			// ghost's included).
			derived = true
			s.controlledKeys(c, true)
		case !f.spec.Path:
			derived = true // commit_secret is all zero
		default:
			lowest := -1
		levels:
			for i, lvl := range a.Path {
				for _, k := range c.known {
					if s.tree.Current(k) && s.tree.InResolution(lvl.Copath, k.Node) {
						lowest = i
						break levels
					}
				}
			}
			if lowest >= 0 {
				derived = true
				for _, lvl := range a.Path[lowest:] {
					c.known = append(c.known, symtree.KeyRef{Node: lvl.Node, Key: lvl.Key})
				}
			}
		}
		c.known = slices.DeleteFunc(c.known, func(k symtree.KeyRef) bool { return !s.tree.Current(k) })
		if ac, ok := s.backend.(AdversaryChecker); ok {
			// The real shadow client must achieve exactly the prediction.
			real, known := ac.AdversaryDerived(c.id)
			if !known || real != derived {
				s.st.adversaryMismatches++
				s.logEvent("adversary_mismatch", c.victim, int64(s.epoch), 0, fmt.Sprintf("id=%d symbolic=%t real=%t tried=%t", c.id, derived, real, known))
			}
		}
		if derived {
			continue
		}
		if c.back {
			// Locked out again after its rejoin.
			c.back = false
			c.relockEpoch = s.epoch
			s.logEvent("relock", c.victim, int64(s.epoch), 0, fmt.Sprintf("id=%d", c.id))
			continue
		}
		c.healed = true
		c.healEpoch = s.epoch
		c.healCommit = s.now
		s.st.heals++
		s.logEvent("heal", c.victim, int64(s.epoch), 0, fmt.Sprintf("id=%d", c.id))
		c.watch = s.watchEpoch(s.epoch, stayed)
	}
}

func (s *Sim) watchEpoch(e uint64, remaining int) *watch {
	for uint64(len(s.watches)) <= e {
		s.watches = append(s.watches, nil)
	}
	if s.watches[e] == nil {
		w := &watch{epoch: e, remaining: remaining, online: make([]uint64, (len(s.members)+63)/64)}
		// Online at the healing commit: in the group before and after it
		// (so not added by it), not in an offline period at s.now, and
		// not an adversary's ghost.
		for _, m := range s.inGroup {
			mm := &s.members[m]
			if mm.online && mm.leaf >= 0 && mm.ep < e && !(mm.state == stJoining && mm.joinEpoch >= e) && mm.ghostOf == 0 {
				w.online[m>>6] |= 1 << (uint(m) & 63)
				w.onlineLeft++
			}
		}
		s.watches[e] = w
		s.watchList = append(s.watchList, e)
		if remaining <= 0 {
			w.done = true
			w.last = s.now
		}
		if w.onlineLeft <= 0 {
			w.onlineDone = true
			w.onlineLast = s.now
		}
	}
	s.maxWatch = max(s.maxWatch, e)
	w := s.watches[e]
	for _, c := range s.comps {
		if c.watch == w || (c.healed && c.healEpoch == e) {
			if w.done {
				c.healAll = w.last
			}
			if w.onlineDone {
				c.onlineDone, c.healOnline = true, w.onlineLast
			}
		}
	}
	return w
}

// compromiseHeader is compromises.csv's header; workloads/README.md
// ("compromises.csv") defines every column.
var compromiseHeader = []string{"id", "time_s", "victim", "user", "signature_key", "victim_epoch", "ds_epoch", "observed_s",
	"healed", "heal_epoch", "heal_commit_epochs", "heal_commit_s", "healed_by_removal",
	"victim_processed_s", "online_members", "online_processed_s", "online_unprocessed_at_end",
	"all_processed_s", "all_processed", "unprocessed_at_end",
	"exposed_epochs", "exposed_app_messages", "adversary_commits",
	"ghost", "ghost_persist_s", "inject_persist_s", "rejoined_s", "rejoin_persist_s"}

// victimRemoved reports whether c's victim left the group at or before
// c's healing commit (it never processes that commit).
func (s *Sim) victimRemoved(c *compromise) bool {
	vm := &s.members[c.victim]
	return vm.state == stGone && vm.lastEpoch < c.healEpoch
}

// exposedEpochs is the number of epochs whose secrets c's adversary holds:
// the victim's epoch at the compromise up to the one before the healing
// commit, or up to the last epoch when unhealed (censored at the end).
func (s *Sim) exposedEpochs(c *compromise) uint64 {
	if c.healed {
		return c.healEpoch - c.startEpoch
	}
	return s.epoch - c.startEpoch + 1
}

func (s *Sim) writeCompromises() {
	if s.out == nil {
		return
	}
	w := s.out.comp
	opt := func(ok bool, d time.Duration) {
		if ok {
			w.secs(d)
		} else {
			w.str("")
		}
	}
	for _, c := range s.comps {
		if !c.happened {
			continue
		}
		w.int(int64(c.id)).secs(c.at).int(int64(c.victim)).int(int64(s.members[c.victim].user)).str(fmt.Sprint(c.signature)).
			int(int64(c.startEpoch)).int(int64(c.dsEpoch)).secs(s.now - c.at).str(fmt.Sprint(c.healed))
		if !c.healed {
			// heal_epoch .. unprocessed_at_end are all undefined.
			for range 11 {
				w.str("")
			}
		} else {
			w.int(int64(c.healEpoch)).int(int64(c.healEpoch - c.dsEpoch)).secs(c.healCommit - c.at).str(fmt.Sprint(s.victimRemoved(c)))
			opt(c.victimDone, c.healVictim-c.at)
			w.int(int64(c.watch.onlineCount()))
			opt(c.onlineDone, c.healOnline-c.at)
			if c.onlineDone {
				w.int(0)
			} else {
				w.int(int64(c.watch.onlineLeft))
			}
			if c.healAll != never {
				w.secs(c.healAll - c.at).str("true").int(0)
			} else {
				w.str("").str("false").int(int64(c.watch.remaining))
			}
		}
		w.int(int64(s.exposedEpochs(c))).int(c.exposure).int(c.advCommits)
		// Active adversary (appended columns): its ghost and how long the
		// ghost stayed; how long it could inject messages as the victim.
		if c.ghost >= 0 && s.members[c.ghost].ghostOf > 0 && s.members[c.ghost].state != stQueued {
			w.int(int64(c.ghost))
			if c.ghostGone != never {
				w.secs(c.ghostGone - c.at)
			} else {
				w.str("")
			}
		} else {
			w.str("").str("")
		}
		if !c.signature {
			w.int(0)
		} else if end := c.injectEnd(); end != never {
			w.secs(end - c.at)
		} else {
			w.str("")
		}
		// Rejoin: when it re-entered, and how long the rejoined leaf stayed.
		if c.rejoinAt != never {
			w.secs(c.rejoinAt - c.at)
			if c.rejoinGone != never {
				w.secs(c.rejoinGone - c.rejoinAt)
			} else {
				w.str("")
			}
		} else {
			w.str("").str("")
		}
		w.end()
	}
}

// healingObs returns, for every compromise that happened, its observation
// for one healing metric in seconds since the compromise: the event time
// when reached by the end (got returns it), else censored at the end.
func (s *Sim) healingObs(got func(c *compromise) (time.Duration, bool)) []survival.Obs {
	var out []survival.Obs
	for _, c := range s.comps {
		if !c.happened {
			continue
		}
		if c.healed {
			if t, ok := got(c); ok {
				out = append(out, survival.Obs{T: (t - c.at).Seconds(), Event: true})
				continue
			}
		}
		out = append(out, survival.Obs{T: (s.now - c.at).Seconds()})
	}
	return out
}

// healingTimes returns the healing times (seconds) of compromises whose
// healing commit every member processed by the end (unhealed and
// unprocessed compromises are dropped: the legacy healing_seconds_*
// metrics; the Kaplan–Meier ones use healingObs), the epochs from the
// victim's epoch to the healing commit, and the unhealed count.
func (s *Sim) healingTimes() (times, epochs []float64, unhealed int) {
	for _, c := range s.comps {
		if !c.happened {
			continue
		}
		if !c.healed {
			unhealed++
			continue
		}
		epochs = append(epochs, float64(c.healEpoch-c.startEpoch))
		if c.healAll != never {
			times = append(times, (c.healAll - c.at).Seconds())
		}
	}
	return times, epochs, unhealed
}

func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	ys := slices.Clone(xs)
	slices.Sort(ys)
	i := int(math.Ceil(q*float64(len(ys)))) - 1
	return ys[max(0, min(i, len(ys)-1))]
}
