package sim

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/mlslab/mlslab/sim/symtree"
)

// compromise is one state compromise and its symbolic bookkeeping
// (DESIGN.md, "Adversary and PCS"). Each compromise is tracked as its own
// adversary, so healing time and exposure are per compromise.
//
// Rules. Compromising member X leaks X's whole state: the secrets of X's
// current epoch (init_secret included) and every node private key X holds
// (its leaf, and its non-blank ancestors that do not list it as unmerged).
// With X's state the adversary can process every commit X could, so it
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
	watch      *watch
	exposure   int64
	advCommits int64 // accepted commits it built as the victim (signature key)
}

func (c *compromise) exposes(t time.Duration, epoch uint64) bool {
	return c.happened && t >= c.at && epoch >= c.startEpoch && (!c.healed || epoch < c.healEpoch)
}

// scheduleCompromises draws the whole compromise schedule at the start from
// the adversary stream (times, victim draws, signature-key flags), so the
// schedule does not depend on the rest of the run.
func (s *Sim) scheduleCompromises() {
	a := s.sc.Adversary
	for _, cs := range a.Compromises {
		s.comps = append(s.comps, &compromise{at: cs.At.D(), u: s.ra.Float64(), signature: cs.SignatureKey, healAll: never})
	}
	if a.Rate.PerSecond > 0 {
		t := time.Duration(0)
		for {
			t += expRate(s.ra, a.Rate.PerSecond)
			if t >= s.sc.Duration.D() {
				break
			}
			s.comps = append(s.comps, &compromise{at: t, u: s.ra.Float64(), signature: s.ra.Float64() < a.SignatureKeyFraction, healAll: never})
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

func (s *Sim) compromise(c *compromise) {
	if len(s.inGroup) == 0 {
		c.skipped = "empty group"
		return
	}
	s.compromiseVictim(c, s.inGroup[int(c.u*float64(len(s.inGroup)))])
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
	if err := s.backend.Compromise(c.id, v, c.signature); err != nil {
		s.st.backendErrors++
	}
	if c.signature {
		s.push(s.now, evTakeover, v, 0, c)
	}
	s.st.compromises++
	s.event("compromise", v, int64(vm.ep), 0, fmt.Sprintf("id=%d signature_key=%t keys=%d", c.id, c.signature, len(c.known)))
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
	s.event("takeover", v, int64(s.members[v].ep), 0, fmt.Sprintf("id=%d", c.id))
	return s.tryCommit(v, true, 0, nil)
}

// adversaryStep updates every unhealed compromise for the commit just
// accepted (the tree already holds the new epoch).
func (s *Sim) adversaryStep(f *inflight, a *Applied, removed []MemberID, stayed int) {
	for _, c := range s.comps {
		if !c.happened || c.healed {
			continue
		}
		victimGone := slices.Contains(removed, c.victim) || s.members[c.victim].leaf < 0
		derived := false
		switch {
		case f.spec.Adversary == c.id+1 && !victimGone:
			// Its own commit as the victim: it chose every new key.
			derived = true
			c.known = s.tree.HeldKeys(uint32(s.members[c.victim].leaf), c.known[:0])
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
				s.event("adversary_mismatch", c.victim, int64(s.epoch), 0, fmt.Sprintf("id=%d symbolic=%t real=%t tried=%t", c.id, derived, real, known))
			}
		}
		if derived {
			continue
		}
		c.healed = true
		c.healEpoch = s.epoch
		c.healCommit = s.now
		s.st.heals++
		s.event("heal", c.victim, int64(s.epoch), 0, fmt.Sprintf("id=%d", c.id))
		c.watch = s.watchEpoch(s.epoch, stayed)
	}
}

func (s *Sim) watchEpoch(e uint64, remaining int) *watch {
	for uint64(len(s.watches)) <= e {
		s.watches = append(s.watches, nil)
	}
	if s.watches[e] == nil {
		s.watches[e] = &watch{epoch: e, remaining: remaining}
		s.watchList = append(s.watchList, e)
		if remaining <= 0 {
			s.watches[e].done = true
			s.watches[e].last = s.now
		}
	}
	s.maxWatch = max(s.maxWatch, e)
	w := s.watches[e]
	if w.done {
		for _, c := range s.comps {
			if c.watch == w || (c.healed && c.healEpoch == e) {
				c.healAll = w.last
			}
		}
	}
	return w
}

var compromiseHeader = []string{"id", "time_s", "victim", "user", "signature_key", "victim_epoch", "ds_epoch",
	"healed", "heal_epoch", "heal_epochs", "heal_commit_delay_s", "healing_time_s", "all_processed", "unprocessed_at_end", "exposure",
	"adversary_commits"}

func (s *Sim) writeCompromises() {
	if s.out == nil {
		return
	}
	w := s.out.comp
	for _, c := range s.comps {
		if !c.happened {
			continue
		}
		w.int(int64(c.id)).secs(c.at).int(int64(c.victim)).int(int64(s.members[c.victim].user)).str(fmt.Sprint(c.signature)).
			int(int64(c.startEpoch)).int(int64(c.dsEpoch)).str(fmt.Sprint(c.healed))
		if c.healed {
			w.int(int64(c.healEpoch)).int(int64(c.healEpoch - c.startEpoch)).secs(c.healCommit - c.at)
		} else {
			w.str("").str("").str("")
		}
		if c.healed && c.healAll != never {
			w.secs(c.healAll - c.at).str("true").int(0)
		} else if c.healed {
			w.str("").str("false").int(int64(c.watch.remaining))
		} else {
			w.str("").str("false").str("")
		}
		w.int(c.exposure).int(c.advCommits)
		w.end()
	}
}

// healingTimes returns the healing times (seconds) of compromises whose
// healing commit every member processed by the end.
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
