package sim

// This file owns the member epochs: when each member processes each commit
// under the delivery model (evaluated lazily and exactly, see advance),
// and the watches that turn those processing times into the healing times
// of compromises.csv.

import (
	"math/bits"
	"sort"
	"time"
)

// watch follows one (healing) epoch until every member present before it
// has processed its commit. It also follows the members that were online
// when the commit was accepted: in the group before and after the commit
// and not in an offline period at that instant (see docs in
// workloads/README.md, compromises.csv online_processed_s).
type watch struct {
	epoch     uint64
	remaining int
	last      time.Duration
	done      bool

	online     []uint64 // bitset by MemberID: online at acceptance
	onlineLeft int      // of them, not yet processed (nor removed)
	onlineLast time.Duration
	onlineDone bool

	heals      []*compromise // the compromises this epoch heals (set on first use)
	healsKnown bool
}

// onlineCount is the number of members online at the commit.
func (w *watch) onlineCount() int {
	n := 0
	for _, b := range w.online {
		n += bits.OnesCount64(b)
	}
	return n
}

func (w *watch) isOnline(m MemberID) bool {
	i := int(m) >> 6
	return m >= 0 && i < len(w.online) && w.online[i]&(1<<(uint(m)&63)) != 0
}

// Delivery model. A member online when the commit of epoch e is accepted
// receives it after lat(m, e); commits accepted while it was offline (e <=
// qEpoch, the delivery service's epoch when it came online) are delivered
// as one batch lat(m, qEpoch) after it comes online. Commits are processed
// in order: the processing time of e is the max of its delivery time and
// the processing time of e-1.
func (s *Sim) deliveryTerm(m MemberID, mm *member, e uint64) time.Duration {
	if e <= mm.qEpoch {
		return mm.onlineSince + s.lat.delivery(m, mm.qEpoch)
	}
	return s.acceptT[e] + s.lat.delivery(m, e)
}

// deliveryTime is when m processes epoch e given it processed e-1 at prev.
func (s *Sim) deliveryTime(m MemberID, mm *member, e uint64, prev time.Duration) time.Duration {
	return max(s.deliveryTerm(m, mm, e), prev)
}

// windowMax returns the max of deliveryTerm over (after, e] for e > qEpoch.
// Terms of epochs accepted more than (maxLat - minLat) before e cannot
// exceed e's own term, so only that window is evaluated: exact, and
// independent of how many epochs are skipped.
func (s *Sim) windowMax(m MemberID, mm *member, after, e uint64) time.Duration {
	lo := uint64(0)
	if cut := s.acceptT[e] - (s.lat.max - s.lat.min); cut > 0 {
		lo = uint64(sort.Search(int(e)+1, func(i int) bool { return s.acceptT[i] >= cut }))
	}
	lo = max(lo, after+1, mm.qEpoch+1)
	best := time.Duration(0)
	for i := lo; i <= e; i++ {
		best = max(best, s.deliveryTerm(m, mm, i))
	}
	return best
}

// advance processes, in order, every commit m has received by time t.
// Members are evaluated lazily: delivery delays are a pure function of
// (member, epoch), so the result is the same as eager delivery events.
func (s *Sim) advance(m MemberID, t time.Duration) {
	mm := &s.members[m]
	if mm.state == stQueued || mm.state == stJoining || !mm.online {
		return
	}
	limit := min(s.epoch, mm.lastEpoch)
	proc := s.backend.ProcessesCommits(m)
	if !proc && mm.ep < limit {
		// Queued batch.
		if mm.ep < mm.qEpoch {
			q := min(mm.qEpoch, limit)
			d := max(mm.epT, mm.onlineSince+s.lat.delivery(m, mm.qEpoch))
			if d > t {
				return
			}
			s.watchRange(m, mm.ep, q, func(uint64) time.Duration { return d })
			mm.ep, mm.epT = q, d
		}
		// Epochs surely delivered by t: accepted at or before t - maxLat.
		if cut := t - s.lat.max; cut >= 0 && mm.ep < limit {
			e0 := uint64(sort.Search(int(limit)+1, func(i int) bool { return s.acceptT[i] > cut })) - 1
			if e0 > mm.ep+4 {
				from, prev := mm.ep, mm.epT
				s.watchRange(m, from, e0, func(w uint64) time.Duration { return max(prev, s.windowMax(m, mm, from, w)) })
				mm.ep, mm.epT = e0, max(prev, s.windowMax(m, mm, from, e0))
			}
		}
	}
	for mm.ep < limit {
		e := mm.ep + 1
		d := s.deliveryTime(m, mm, e, mm.epT)
		if d > t {
			return
		}
		mm.ep, mm.epT = e, d
		if proc {
			if err := s.backend.ProcessCommit(m, e); err != nil {
				s.st.backendErrors++
			}
		}
		if e <= s.maxWatch {
			if w := s.watches[e]; w != nil && !w.done {
				s.watchProcessed(w, m, d)
			}
		}
	}
}

// watchRange reports m's processing of watched epochs in (from, to].
func (s *Sim) watchRange(m MemberID, from, to uint64, at func(uint64) time.Duration) {
	if from >= s.maxWatch {
		return
	}
	i := sort.Search(len(s.watchList), func(i int) bool { return s.watchList[i] > from })
	for ; i < len(s.watchList) && s.watchList[i] <= to; i++ {
		if w := s.watches[s.watchList[i]]; !w.done {
			s.watchProcessed(w, m, at(s.watchList[i]))
		}
	}
}

// catchUpTime is when m will have processed epoch target, if it stays
// online; never if it is offline.
func (s *Sim) catchUpTime(m MemberID, target uint64) time.Duration {
	mm := &s.members[m]
	if !mm.online {
		return never
	}
	t := mm.epT
	for e := mm.ep + 1; e <= min(target, s.epoch); e++ {
		t = s.deliveryTime(m, mm, e, t)
	}
	return t
}

// watchProcessed records that m processed w's epoch at t.
func (s *Sim) watchProcessed(w *watch, m MemberID, t time.Duration) {
	if !w.healsKnown {
		// Every compromise this epoch heals was attached to w when the
		// commit was accepted, before any member processed it.
		w.healsKnown = true
		for _, c := range s.comps {
			if c.watch == w {
				w.heals = append(w.heals, c)
			}
		}
	}
	for _, c := range w.heals {
		if c.victim == m && !c.victimDone {
			c.victimDone, c.healVictim = true, t
		}
	}
	if w.isOnline(m) {
		w.onlineLast = max(w.onlineLast, t)
		w.onlineLeft--
		s.watchOnlineCheck(w)
	}
	w.remaining--
	w.last = max(w.last, t)
	s.watchAllCheck(w)
}

// watchGone records that r left the group without processing w's epoch:
// the bookkeeping stops waiting for it.
func (s *Sim) watchGone(w *watch, r MemberID) {
	if w.isOnline(r) {
		w.onlineLeft--
		s.watchOnlineCheck(w)
	}
	w.remaining--
	s.watchAllCheck(w)
}

func (s *Sim) watchOnlineCheck(w *watch) {
	if w.onlineDone || w.onlineLeft > 0 {
		return
	}
	w.onlineDone = true
	for _, c := range s.comps {
		if c.watch == w {
			c.onlineDone, c.healOnline = true, w.onlineLast
		}
	}
}

func (s *Sim) watchAllCheck(w *watch) {
	if w.done || w.remaining > 0 {
		return
	}
	w.remaining = 0
	w.done = true
	for _, c := range s.comps {
		if c.watch == w {
			c.healAll = w.last
		}
	}
}
