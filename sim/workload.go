package sim

// This file owns the workload: self-update scheduling (timers, update on
// send), proposals sent to the delivery service, and application messages
// (each member's Poisson process and the bytes fanned out).

import (
	"fmt"
	"time"
)

type proposalMsg struct {
	entry poolEntry
}

func (s *Sim) armSelfUpdate(m MemberID) {
	s.armSelfUpdateAfter(m, s.sc.Policy.SelfUpdate.Interval.D())
}

// armFirstSelfUpdate schedules a new member's first self-update, after
// policy.self_update.first_after when set.
func (s *Sim) armFirstSelfUpdate(m MemberID) {
	su := s.sc.Policy.SelfUpdate
	if su.FirstAfter > 0 && su.Interval > 0 {
		s.armSelfUpdateAfter(m, su.FirstAfter.D())
		return
	}
	s.armSelfUpdate(m)
}

func (s *Sim) armSelfUpdateAfter(m MemberID, iv time.Duration) {
	mm := &s.members[m]
	mm.updGen++
	if iv <= 0 || !s.updatesHere(mm) {
		return
	}
	j := s.sc.Policy.SelfUpdate.Jitter
	d := time.Duration(float64(iv) * (1 + j*(2*s.rw.Float64()-1)))
	s.push(s.now+d, evSelfUpdate, m, mm.updGen, nil)
}

func (s *Sim) isDesignated(m MemberID) bool {
	if s.sc.Policy.Committer != "designated" {
		return false
	}
	for _, d := range s.designated() {
		if d == m {
			return true
		}
	}
	return false
}

// selfUpdate refreshes m's leaf: by a commit with a path, or by an Update
// proposal for someone else to commit (RFC 9420, Section 12.1.2).
func (s *Sim) selfUpdate(m MemberID, why string) error {
	return s.refreshLeaf(m, s.sc.Policy.UpdateAs == "commit" || s.isDesignated(m))
}

// refreshLeaf is a self-update of m by its own commit (byCommit) or by an
// Update proposal.
func (s *Sim) refreshLeaf(m MemberID, byCommit bool) error {
	mm := &s.members[m]
	mm.lastUpdate = s.now
	mm.lastActive = s.now
	s.st.selfUpdates++
	if byCommit || s.hijacker(m) != nil {
		// (An adversary acting as its victim re-keys the victim's leaf by
		// its own commits, never by an Update someone else commits.)
		return s.tryCommit(m, true, 0, nil)
	}
	if mm.updPending {
		return nil
	}
	s.advance(m, s.now)
	mm.updPending = true
	s.propose(PropUpdate, m, m)
	return nil
}

func (s *Sim) propose(kind ProposalKind, sender, subject MemberID) {
	b, err := s.backend.Propose(kind, sender, subject, s.members[sender].ep)
	if err != nil {
		s.st.backendErrors++
	}
	s.poolSeq++
	if kind == PropUpdate {
		// The leaf key is generated now and kept by every re-send of
		// this proposal (see acceptCommit and workloads/README.md).
		s.members[sender].updID = s.poolSeq
	}
	p := &proposalMsg{entry: poolEntry{id: s.poolSeq, kind: kind, sender: sender, subject: subject, bytes: b}}
	s.st.proposals++
	s.st.proposalBytes += int64(b)
	s.logEvent("propose_"+kind.String(), sender, int64(s.members[sender].ep), int64(b), fmt.Sprintf("subject=%d", subject))
	s.push(s.now+s.lat.draw(s.rn), evArriveProposal, sender, 0, p)
}

func (s *Sim) arriveProposal(p *proposalMsg) {
	e := p.entry
	if s.members[e.subject].leaf < 0 {
		return // subject already gone
	}
	e.acceptT = s.now
	s.pool = append(s.pool, e)
	s.fanOut(int64(e.bytes), s.tree.Members()-1)
	switch s.sc.Policy.Committer {
	case "random":
		s.requestRandomCommit()
	default:
		s.requestCommit(s.sc.Policy.CommitDelay.D())
	}
}

// armApp queues member m's next application message: the first point of
// its own Poisson process (traffic.app_rate_per_member, from its traffic
// timeline, rand.go) at or after now. Points that fell while it was
// offline or not yet active are skipped; every point is drawn in order, so
// the process does not depend on when it is armed.
func (s *Sim) armApp(m MemberID) {
	rate := s.sc.Traffic.AppRatePerMember.PerSecond
	mm := &s.members[m]
	if rate <= 0 || mm.appArmed || mm.state != stActive || !mm.online {
		return
	}
	mean := time.Duration(float64(time.Second) / rate)
	for mm.appT < s.now {
		mm.appT += expFrom(counterDraw(s.trSeed, mm.dev, mm.appN), mean)
		mm.appN++
	}
	mm.appArmed = true
	mm.appGen++
	s.push(mm.appT, evApp, m, mm.appGen, nil)
}

// app: member m's application message falls due; it sends it if it is
// active and online (else armApp skips it when it is back).
func (s *Sim) app(m MemberID, gen uint32) error {
	mm := &s.members[m]
	if gen != mm.appGen || !mm.appArmed {
		return nil
	}
	mm.appArmed = false
	if mm.state != stActive || !mm.online {
		return nil
	}
	mm.appT += expFrom(counterDraw(s.trSeed, mm.dev, mm.appN), time.Duration(float64(time.Second)/s.sc.Traffic.AppRatePerMember.PerSecond))
	mm.appN++
	defer s.armApp(m)
	return s.appSend(m)
}

// appSend: m sends one application message now.
func (s *Sim) appSend(m MemberID) error {
	mm := &s.members[m]
	s.advance(m, s.now)
	if idle := s.sc.Policy.UpdateOnSendIdle.D(); idle > 0 && s.now-mm.lastUpdate >= idle && s.updatesHere(mm) {
		s.st.updatesOnSend++
		if err := s.selfUpdate(m, "send"); err != nil {
			return err
		}
	}
	mm.lastActive = s.now
	b, err := s.backend.SendApplication(m, mm.ep, s.sc.Traffic.AppBytes)
	if err != nil {
		s.st.backendErrors++
	}
	s.st.apps++
	s.st.appBytes += int64(b)
	s.st.lagSum += int64(s.epoch - mm.ep)
	s.fanOut(int64(b), s.tree.Members()-1)
	if n := s.tree.Members() - 1; n > 0 {
		s.st.recvAppBytes += int64(b) * int64(n)
	}
	exposed := 0
	for _, c := range s.comps {
		if c.exposes(s.now, mm.ep) {
			c.exposure++
			exposed++
		}
	}
	if exposed > 0 {
		s.st.exposedApps++
	}
	s.logEvent("app", m, int64(mm.ep), int64(b), "")
	return nil
}

func (s *Sim) fanOut(bytes int64, receivers int) {
	if receivers > 0 {
		s.st.recvBytes += bytes * int64(receivers)
	}
}
