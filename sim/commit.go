package sim

// This file owns committing: who commits when (policy.committer), building
// a commit of the pending work (tryCommit), its arrival at the delivery
// service, acceptance (the symbolic tree, the backend, compromises healed)
// or rejection and the committer's retry, and the arrival of accepted
// commits at real receivers.

import (
	"fmt"
	"math"
	"slices"
	"time"
)

type inflight struct {
	spec     CommitSpec
	pending  Pending
	pool     []uint64 // pool entry ids included by reference
	adds     []MemberID
	removes  []MemberID // inline removes
	self     bool       // a self-update (path forced)
	sentAt   time.Duration
	attempts int
	retrying bool // rejected; the committer stays busy until its retry
}

// designated returns the designated committers: the first devices of the
// DesignatedCommitters oldest users still in the group.
func (s *Sim) designated() []MemberID {
	var out []MemberID
	k := s.sc.Policy.DesignatedCommitters
	for u := 0; u < len(s.users) && len(out) < k; u++ {
		if s.users[u].pos < 0 {
			continue
		}
		d := s.users[u].devices[0]
		if s.members[d].state == stActive {
			out = append(out, d)
		}
	}
	return out
}

func (s *Sim) pickCommitter() (MemberID, bool) {
	if s.sc.Policy.Committer == "designated" {
		for _, d := range s.designated() {
			if s.members[d].online {
				return d, true
			}
		}
		return -1, false
	}
	if len(s.online) == 0 {
		return -1, false
	}
	return s.online[s.rw.IntN(len(s.online))], true
}

func (s *Sim) hasWork() bool {
	return len(s.pool) > 0 || len(s.removeQueue) > 0 || s.addsReady()
}

// addsReady: queued joiners are committed when a batch is full or the
// oldest has waited add_batch.max_wait, not at every commit in between.
func (s *Sim) addsReady() bool {
	n := len(s.addQueue)
	return n > 0 && (n >= s.sc.Policy.AddBatch.Size || s.now >= s.members[s.addQueue[0]].queuedAt+s.sc.Policy.AddBatch.MaxWait.D())
}

// requestCommit schedules one commit of the pending work (deduplicated).
func (s *Sim) requestCommit(delay time.Duration) {
	if s.scheduled || !s.hasWork() {
		return
	}
	s.scheduled = true
	s.push(s.now+delay, evCommitAttempt, -1, 0, nil)
}

// requestRandomCommit: under the random policy every proposal makes a
// random member commit after a random delay, so attempts may collide.
func (s *Sim) requestRandomCommit() {
	d := s.sc.Policy.CommitDelay.D()
	s.push(s.now+time.Duration(float64(d)*(0.5+s.rw.Float64())), evCommitAttempt, -1, 1, nil)
}

func (s *Sim) commitAttempt(e event) error {
	if e.gen == 0 {
		s.scheduled = false
	}
	if !s.hasWork() {
		return nil
	}
	if e.gen == 1 && len(s.pool) < s.sc.Policy.MinProposalsPerCommit {
		// policy.min_proposals_per_commit: a random attempt waits for more
		// proposals (the arrival of each one schedules another attempt).
		return nil
	}
	m, ok := s.pickCommitter()
	if !ok {
		s.waiting = true
		return nil
	}
	s.waiting = false
	return s.tryCommit(m, false, 0, nil)
}

// tryCommit makes m build a commit of what it knows is pending (and a
// self-update path if self) and send it to the delivery service.
func (s *Sim) tryCommit(m MemberID, self bool, attempts int, prev *inflight) error {
	mm := &s.members[m]
	if mm.state != stActive {
		return nil
	}
	if mm.committing {
		// One commit at a time: the outcome of the pending one decides.
		if self {
			mm.updateDue = true
		}
		return nil
	}
	s.advance(m, s.now)
	po := &s.sc.Policy
	seeDelay := s.lat.draw(s.rn)
	f := &inflight{self: self, sentAt: s.now, attempts: attempts}
	budget := po.MaxProposalsPerCommit
	if budget == 0 {
		budget = math.MaxInt
	}
	var props []CommitProposal
	removing := map[MemberID]bool{}
	// Under the designated policy only the designated committers have the
	// application-level permission to add and remove members (RFC 9420,
	// Section 12.4: a commit may leave out proposals, and an Add is invalid
	// without that permission); another member's self-update commit takes
	// only the proposals it received.
	admin := po.Committer != "designated" || s.isDesignated(m)
	removeQueue, addQueue := s.removeQueue, s.addQueue
	if !admin {
		removeQueue = nil
	}
	if !admin || !s.addsReady() {
		addQueue = nil // joiners wait for their batch (policy.add_batch)
	}
	for _, r := range removeQueue {
		if len(props) >= budget {
			break
		}
		if r == m || s.members[r].leaf < 0 || removing[r] {
			continue
		}
		removing[r] = true
		f.removes = append(f.removes, r)
		props = append(props, CommitProposal{Kind: PropRemove, Sender: m, Subject: r})
	}
	for _, p := range s.pool {
		if len(props) >= budget {
			break
		}
		if p.acceptT+seeDelay > s.now || s.members[p.subject].leaf < 0 || removing[p.subject] {
			continue
		}
		if p.subject == m {
			continue // a committer cannot remove itself and replaces its own Update by its path
		}
		if p.kind == PropRemove {
			removing[p.subject] = true
		}
		f.pool = append(f.pool, p.id)
		props = append(props, CommitProposal{Kind: p.kind, Sender: p.sender, Subject: p.subject, ByRef: true})
	}
	// Updates of members removed in the same commit are invalid (RFC 9420,
	// Section 12.2): drop them.
	if len(removing) > 0 {
		kept := props[:0]
		keptPool := f.pool[:0]
		pi := 0
		for _, p := range props {
			if p.ByRef {
				id := f.pool[pi]
				pi++
				if p.Kind == PropUpdate && removing[p.Subject] {
					continue
				}
				keptPool = append(keptPool, id)
			}
			kept = append(kept, p)
		}
		props, f.pool = kept, keptPool
	}
	// policy.max_proposals_per_commit bounds the Update/Remove proposals
	// (the knob of tree degradation); adds are bounded by add_batch.size.
	nAdds := po.AddBatch.Size
	for _, a := range addQueue {
		if len(f.adds) >= nAdds {
			break
		}
		if s.members[a].state != stQueued {
			continue
		}
		f.adds = append(f.adds, a)
		props = append(props, CommitProposal{Kind: PropAdd, Sender: m, Subject: a})
	}
	hj := s.hijacker(m)
	if hj != nil && admin && hj.ghost >= 0 && s.members[hj.ghost].state == stQueued {
		// The adversary acting as its victim adds its ghost at its first
		// commit that may add members.
		g := hj.ghost
		f.adds = append(f.adds, g)
		props = append(props, CommitProposal{Kind: PropAdd, Sender: m, Subject: g, Ghost: true})
	}
	if len(props) == 0 && !self {
		return nil
	}
	path := self || po.Path == "always" || len(props) == 0
	for _, p := range props {
		if p.Kind != PropAdd {
			path = true // Update/Remove require a path (RFC 9420, Section 12.4)
		}
	}
	f.spec = CommitSpec{Epoch: mm.ep, Committer: m, Proposals: props, Path: path}
	if hj != nil {
		f.spec.Adversary = hj.id + 1
	}
	pend, err := s.backend.CreateCommit(f.spec)
	if err != nil {
		return fmt.Errorf("creating commit: %w", err)
	}
	f.pending = pend
	mm.lastActive = s.now
	if prev != nil {
		s.st.retries++
		s.epochRow.retries++
	}
	mm.committing = true
	mm.cur = f
	s.push(s.now+s.lat.draw(s.rn), evArriveCommit, m, 0, f)
	return nil
}

// commitSettled: the committer learns the outcome of its commit (after a
// delivery delay, modelled as immediately for the next decision) and may
// commit again; a self-update that fell due meanwhile is done now.
func (s *Sim) commitSettled(m MemberID) error {
	mm := &s.members[m]
	mm.committing = false
	mm.cur = nil
	if mm.updateDue && mm.online && mm.state == stActive {
		mm.updateDue = false
		return s.selfUpdate(m, "due")
	}
	return nil
}

func (s *Sim) arriveCommit(f *inflight) error {
	m := f.spec.Committer
	var err error
	if f.spec.Epoch != s.epoch || (s.members[m].leaf < 0 && !f.spec.External) {
		err = s.rejectCommit(f)
	} else {
		err = s.acceptCommit(f)
	}
	if err != nil {
		return err
	}
	if f.retrying {
		return nil
	}
	return s.commitSettled(m)
}

func (s *Sim) estimate(f *inflight) *Applied {
	a := &Applied{Tree: s.tree.Stats()}
	if f.spec.Path && s.members[f.spec.Committer].leaf >= 0 {
		a.Path = s.tree.EstimatePath(uint32(s.members[f.spec.Committer].leaf), nil)
	}
	return a
}

func (s *Sim) rejectCommit(f *inflight) error {
	m := f.spec.Committer
	res, err := s.backend.RejectCommit(f.pending, s.estimate(f))
	f.pending = nil // decided: the backend's commit (a whole next state at sampled/full) is garbage
	if err != nil {
		return fmt.Errorf("rejecting commit: %w", err)
	}
	s.st.collisions++
	s.epochRow.collisions++
	s.st.rejectedBytes += int64(res.CommitBytes)
	s.logEvent("commit_rejected", m, int64(f.spec.Epoch), int64(res.CommitBytes), fmt.Sprintf("ds_epoch=%d", s.epoch))
	if f.spec.External {
		// The adversary fetches the new GroupInfo and tries again.
		if f.attempts < 20 {
			s.push(s.now+s.lat.draw(s.rn), evRejoin, m, uint32(f.attempts+1), s.comps[f.spec.Adversary-1])
		}
		return nil
	}
	if s.members[m].state != stActive || f.attempts >= 20 {
		return nil
	}
	f.retrying = true
	s.scheduleRetry(m, f)
	return nil
}

// scheduleRetry: the rejection reaches the committer, which catches up to
// the delivery service's epoch and then retries after a random backoff.
func (s *Sim) scheduleRetry(m MemberID, f *inflight) {
	mm := &s.members[m]
	s.advance(m, s.now)
	notify := s.now + s.lat.draw(s.rn)
	caught := s.catchUpTime(m, s.epoch)
	if caught == never {
		mm.retryDue = f
		return
	}
	at := max(notify, caught) + time.Duration(s.rw.Float64()*float64(s.sc.Policy.RetryBackoff.D()))
	s.push(at, evRetry, m, 0, f)
}

func (s *Sim) retry(m MemberID, f *inflight) error {
	mm := &s.members[m]
	if mm.state != stActive {
		mm.committing = false
		return nil
	}
	if !mm.online {
		mm.retryDue = f
		return nil
	}
	mm.committing = false
	if f.self && mm.lastUpdate > f.sentAt {
		return s.commitSettled(m) // updated since
	}
	if !f.self && !s.hasWork() {
		return s.commitSettled(m)
	}
	return s.tryCommit(m, f.self, f.attempts+1, f)
}

func (s *Sim) acceptCommit(f *inflight) error {
	committer := f.spec.Committer
	cm := &s.members[committer]
	s.trackSize()
	before := s.tree.Members()
	// Apply in RFC 9420 order (Section 12.3): Update, Remove, Add, then path.
	var updated, removed []MemberID
	inPool := map[uint64]bool{}
	for _, id := range f.pool {
		inPool[id] = true
	}
	for _, p := range s.pool {
		if inPool[p.id] && p.kind == PropUpdate {
			s.tree.Update(uint32(s.members[p.subject].leaf))
			updated = append(updated, p.subject)
		}
	}
	for _, p := range s.pool {
		if inPool[p.id] && p.kind == PropRemove {
			removed = append(removed, p.subject)
		}
	}
	removed = append(removed, f.removes...)
	for _, r := range removed {
		s.tree.Remove(uint32(s.members[r].leaf))
	}
	if len(removed) > 0 {
		s.tree.Truncate()
	}
	added := make([]uint32, len(f.adds))
	for i, a := range f.adds {
		added[i] = s.tree.Add(a)
	}
	if f.spec.External {
		// The external joiner's leaf goes where an Add would put it,
		// after the proposals, before its path (RFC 9420, Section
		// 12.4.3.2).
		cm.leaf = int32(s.tree.Add(committer))
	}
	app := &Applied{AddedLeaves: added}
	if f.spec.Path {
		s.pathBuf = s.tree.ApplyPath(uint32(cm.leaf), added, s.pathBuf)
		app.Path = s.pathBuf
	}
	app.Tree = s.tree.Stats()
	res, err := s.backend.AcceptCommit(f.pending, app)
	f.pending = nil // decided: the backend's commit (a whole next state at sampled/full) is garbage
	if err != nil {
		return fmt.Errorf("accepting commit: %w", err)
	}
	s.st.lastSize = s.tree.Members()
	old := s.epoch
	s.epoch++
	s.acceptT = append(s.acceptT, s.now)
	// Members.
	for _, r := range removed {
		rm := &s.members[r]
		s.advance(r, s.now)
		// It will not be followed further: healing bookkeeping stops
		// waiting for it.
		for e := rm.ep + 1; e <= min(old, s.maxWatch); e++ {
			if w := s.watches[e]; w != nil && !w.done {
				s.watchGone(w, r)
			}
		}
		rm.leaf = -1
		rm.lastEpoch = old
		rm.state = stGone
		if rm.ghostOf > 0 {
			c := s.comps[rm.ghostOf-1]
			if r == c.rejoiner {
				c.rejoinGone = s.now
				s.logEvent("rejoined_removed", r, int64(s.epoch), 0, fmt.Sprintf("id=%d", c.id))
			} else {
				c.ghostGone = s.now
				s.logEvent("ghost_removed", r, int64(s.epoch), 0, fmt.Sprintf("id=%d", c.id))
			}
		}
		if s.sc.Adversary.Rejoin {
			for _, c := range s.comps {
				if c.happened && c.signature && c.victim == r && c.rejoiner >= 0 && s.members[c.rejoiner].state == stQueued {
					// It sees its victim's removal when the victim's
					// device receives the commit, then re-enters.
					s.push(s.now+s.lat.delivery(r, s.epoch), evRejoin, r, 0, c)
				}
			}
		}
		s.groupRemove(r)
		s.onlineRemove(r)
	}
	for i, a := range f.adds {
		am := &s.members[a]
		am.leaf = int32(added[i])
		am.state = stJoining
		am.joinEpoch, am.ep = s.epoch, s.epoch
		s.groupAdd(a)
		if am.ghostOf > 0 {
			// The adversary's ghost: in the group at once (the adversary
			// built its Welcome), silent, always following the group.
			am.state = stActive
			am.epT, am.lastActive, am.lastUpdate = s.now, s.now, s.now
			s.logEvent("ghost_added", a, int64(s.epoch), 0, fmt.Sprintf("id=%d", am.ghostOf-1))
			continue
		}
		if am.online || am.onGen == 0 {
			s.push(s.now+s.lat.delivery(a, s.epoch), evJoined, a, 0, nil)
		}
	}
	if len(f.adds) > 0 {
		s.addQueue = slices.DeleteFunc(s.addQueue, func(a MemberID) bool { return s.members[a].state != stQueued })
		s.armBatchTimer() // for joiners that queued after this batch was built
	}
	if f.spec.External {
		cm.state = stActive
		cm.joinEpoch, cm.ep, cm.epT = s.epoch, s.epoch, s.now
		cm.lastActive, cm.lastUpdate = s.now, s.now
		s.groupAdd(committer)
		c := s.comps[f.spec.Adversary-1]
		c.rejoinAt, c.rejoinEpoch = s.now, s.epoch
		s.logEvent("rejoin", committer, int64(s.epoch), 0, fmt.Sprintf("id=%d victim=%d", c.id, c.victim))
	}
	s.deliverToReal()
	if f.spec.Adversary > 0 {
		c := s.comps[f.spec.Adversary-1]
		c.advCommits++
		s.st.advCommits++
	}
	if len(f.removes) > 0 {
		s.removeQueue = slices.DeleteFunc(s.removeQueue, func(r MemberID) bool { return s.members[r].leaf < 0 })
	}
	for _, u := range updated {
		s.members[u].updPending = false
		s.members[u].lastUpdate = s.now
	}
	if f.spec.Path {
		cm.lastUpdate = s.now
		cm.updPending = false
	}
	// Uncommitted proposals die with the epoch; their senders re-send them
	// once they have processed the commit (RFC 9420, Section 12.4).
	kept := s.pool[:0]
	for _, p := range s.pool {
		if inPool[p.id] {
			continue
		}
		if s.members[p.subject].leaf < 0 || s.members[p.sender].leaf < 0 ||
			(p.kind == PropUpdate && (p.subject == committer || s.members[p.subject].lastUpdate == s.now)) {
			if p.kind == PropUpdate {
				s.members[p.subject].updPending = false
			}
			continue
		}
		p.acceptT = s.now + 2*s.lat.draw(s.rn)
		s.st.reproposals++
		s.st.proposalBytes += int64(p.bytes)
		s.fanOut(int64(p.bytes), s.tree.Members()-1)
		kept = append(kept, p)
	}
	s.pool = kept
	// Costs.
	s.st.commits++
	s.st.commitBytes += int64(res.CommitBytes)
	s.st.welcomeBytes += int64(res.WelcomeBytes)
	s.st.commitSizes = append(s.st.commitSizes, float64(res.CommitBytes))
	s.st.pathCiphertexts += int64(res.PathCiphertexts)
	s.st.adds += int64(len(f.adds))
	s.st.removes += int64(len(removed))
	if s.ops != nil && s.ops.started {
		// HPKE encryptions of the counted operations (operations.go).
		s.ops.enc += int64(res.PathCiphertexts) + int64(len(f.adds))
	}
	s.fanOut(int64(res.CommitBytes), before-1)
	s.fanOut(int64(res.WelcomeBytes), len(f.adds))
	// Adversary: which compromises does this epoch heal?
	s.adversaryStep(f, app, removed, before-len(removed))
	s.epochRowOut(f, res, app, len(updated), len(removed))
	s.logEvent("commit", committer, int64(s.epoch), int64(res.CommitBytes),
		fmt.Sprintf("adds=%d removes=%d updates=%d path=%t welcome=%d", len(f.adds), len(removed), len(updated), f.spec.Path, res.WelcomeBytes))
	if f.spec.Adversary > 0 {
		s.logEvent("adversary_commit", committer, int64(s.epoch), int64(res.CommitBytes), fmt.Sprintf("id=%d", f.spec.Adversary-1))
	}
	if s.hasWork() {
		if s.sc.Policy.Committer == "random" && len(s.pool) > 0 {
			s.requestRandomCommit()
		} else {
			s.requestCommit(s.sc.Policy.CommitDelay.D())
		}
	}
	return nil
}

// deliverToReal schedules the arrival of the commit just accepted at every
// real member of a backend with real receivers, when the delivery model
// says it arrives (members offline get it as a batch when they come back,
// see goOnline), so real members process commits as they arrive rather
// than when they next act.
func (s *Sim) deliverToReal() {
	rr, ok := s.backend.(RealReceivers)
	if !ok {
		return
	}
	for _, m := range rr.RealReceivers() {
		mm := &s.members[m]
		if mm.leaf < 0 || (!mm.online && mm.state != stJoining) {
			continue
		}
		s.push(s.acceptT[s.epoch]+s.lat.delivery(m, s.epoch), evDeliver, m, 0, nil)
	}
}
