package sim

// This file owns membership: users and their devices joining and leaving
// (the scenario's phases and target sizes), the add and remove queues the
// committers drain, the group and online member lists, removal requests
// and the periodic sweep, and a joiner's activation once its Welcome is
// processed.

import (
	"fmt"
	"math"
	"slices"
)

func (s *Sim) newUser() int32 {
	id := int32(len(s.users))
	k := s.sc.Group.DevicesPerUser
	u := user{devices: make([]MemberID, k), pos: int32(len(s.activeUsers))}
	for i := range k {
		mid := MemberID(len(s.members))
		s.members = append(s.members, member{user: id, leaf: -1, groupPos: -1, onlinePos: -1, lastEpoch: math.MaxUint64,
			alwaysOn: i < s.sc.Network.Offline.AlwaysOnlineDevices, online: true, onlineSince: s.now, qEpoch: s.epoch, appT: s.now,
			dev: MemberID(int(id)*k + i)})
		u.devices[i] = mid
	}
	s.users = append(s.users, u)
	s.activeUsers = append(s.activeUsers, id)
	// A device's availability timeline starts when its user joins, online,
	// whatever the policy makes of the join (common random numbers).
	for _, d := range u.devices {
		s.scheduleAvailability(d, true)
	}
	return id
}

func (s *Sim) enqueueAdd(m MemberID) {
	s.members[m].state = stQueued
	s.members[m].queuedAt = s.now
	s.addQueue = append(s.addQueue, m)
	if len(s.addQueue) >= s.sc.Policy.AddBatch.Size {
		s.requestCommit(0)
	} else if len(s.addQueue) == 1 {
		s.armBatchTimer()
	}
}

// armBatchTimer wakes the committers when the oldest queued joiner will
// have waited add_batch.max_wait.
func (s *Sim) armBatchTimer() {
	if len(s.addQueue) > 0 {
		s.push(max(s.now, s.members[s.addQueue[0]].queuedAt+s.sc.Policy.AddBatch.MaxWait.D()), evBatchTimer, -1, 0, nil)
	}
}

func (s *Sim) groupAdd(m MemberID) {
	s.members[m].groupPos = int32(len(s.inGroup))
	s.inGroup = append(s.inGroup, m)
}

func (s *Sim) groupRemove(m MemberID) {
	s.inGroup = s.swapRemove(s.inGroup, m, func(x MemberID) *int32 { return &s.members[x].groupPos })
}

// swapRemove removes m from list in O(1) by moving the last element into
// its slot; pos gives a member's slot field (-1 when absent).
func (s *Sim) swapRemove(list []MemberID, m MemberID, pos func(MemberID) *int32) []MemberID {
	p := *pos(m)
	if p < 0 {
		return list
	}
	last := list[len(list)-1]
	list[p] = last
	*pos(last) = p
	*pos(m) = -1
	return list[:len(list)-1]
}

func (s *Sim) onlineAdd(m MemberID) {
	mm := &s.members[m]
	if mm.onlinePos >= 0 || mm.state != stActive || !mm.online || mm.ghostOf > 0 {
		return
	}
	mm.onlinePos = int32(len(s.online))
	s.online = append(s.online, m)
	if s.ops != nil {
		s.ops.mark(m, 1)
	}
}

func (s *Sim) onlineRemove(m MemberID) {
	s.online = s.swapRemove(s.online, m, func(x MemberID) *int32 { return &s.members[x].onlinePos })
	if s.ops != nil {
		s.ops.mark(m, -1)
	}
}

func (s *Sim) activeUserCount() int { return len(s.activeUsers) }

func (s *Sim) startPhase(i int) {
	s.phase = i
	s.phaseStart = s.now
	ph := s.sc.Population.Phases
	if i >= len(ph) {
		return
	}
	p := ph[i]
	s.logEvent("phase", -1, int64(s.epoch), 0, phaseName(p, i))
	if p.Duration > 0 && i < len(ph)-1 {
		s.push(s.now+p.Duration.D(), evPhase, -1, uint32(i), nil)
	}
	s.schedulePhaseJoin()
	s.schedulePhaseLeave()
	s.checkTarget()
}

func phaseName(p Phase, i int) string {
	if p.Name != "" {
		return csvSafe(p.Name)
	}
	return fmt.Sprintf("phase%d", i)
}

func (s *Sim) curPhase() *Phase {
	if s.phase < len(s.sc.Population.Phases) {
		return &s.sc.Population.Phases[s.phase]
	}
	return nil
}

func (s *Sim) schedulePhaseJoin() {
	if p := s.curPhase(); p != nil && p.JoinRate.PerSecond > 0 {
		if p.TargetUsers > 0 && s.activeUserCount() >= p.TargetUsers {
			return
		}
		s.push(s.now+expRate(s.rm, p.JoinRate.PerSecond), evJoin, -1, uint32(s.phase), nil)
	}
}

func (s *Sim) schedulePhaseLeave() {
	if p := s.curPhase(); p != nil && p.LeaveRate.PerSecond > 0 {
		s.push(s.now+expRate(s.rm, p.LeaveRate.PerSecond), evLeave, -1, uint32(s.phase), nil)
	}
}

func (s *Sim) checkTarget() {
	p := s.curPhase()
	if p == nil || p.TargetUsers == 0 || s.activeUserCount() < p.TargetUsers {
		return
	}
	if s.phase < len(s.sc.Population.Phases)-1 {
		s.startPhase(s.phase + 1)
	}
}

func (s *Sim) join() {
	u := s.newUser()
	s.st.joins++
	s.logEvent("join", s.users[u].devices[0], int64(s.epoch), 0, fmt.Sprintf("user=%d", u))
	for _, d := range s.users[u].devices {
		s.enqueueAdd(d)
	}
	s.checkTarget()
}

func (s *Sim) leave() {
	if len(s.activeUsers) <= 1 {
		return
	}
	// Never the founder's user (index 0 keeps the group alive).
	i := 1 + s.rm.IntN(len(s.activeUsers)-1)
	u := s.activeUsers[i]
	if u == 0 {
		return
	}
	s.userGone(u)
	s.st.leaves++
	for _, d := range s.users[u].devices {
		mm := &s.members[d]
		s.logEvent("leave", d, int64(s.epoch), 0, fmt.Sprintf("user=%d", u))
		switch mm.state {
		case stQueued:
			mm.state = stGone
		case stJoining:
			s.askRemove(d, false)
		case stActive:
			s.askRemove(d, true)
		}
	}
}

func (s *Sim) userGone(u int32) {
	p := s.users[u].pos
	if p < 0 {
		return
	}
	last := s.activeUsers[len(s.activeUsers)-1]
	s.activeUsers[p] = last
	s.users[last].pos = p
	s.activeUsers = s.activeUsers[:len(s.activeUsers)-1]
	s.users[u].pos = -1
}

// askRemove requests the removal of m: by its own Remove proposal
// (selfProposal) or inline by the next committer.
func (s *Sim) askRemove(m MemberID, selfProposal bool) {
	mm := &s.members[m]
	if mm.removeAsked || mm.leaf < 0 {
		return
	}
	mm.removeAsked = true
	mm.state = stLeaving
	s.onlineRemove(m)
	if selfProposal {
		s.advance(m, s.now)
		s.propose(PropRemove, m, m)
		return
	}
	s.removeQueue = append(s.removeQueue, m)
	s.requestCommit(s.sc.Policy.CommitDelay.D())
}

func (s *Sim) sweep() {
	d := s.sc.Policy.RemoveInactiveAfter.D()
	var stale []MemberID
	for _, m := range s.inGroup {
		mm := &s.members[m]
		if mm.state == stActive && s.now-mm.lastActive > d && m != s.users[0].devices[0] {
			stale = append(stale, m)
		}
	}
	slices.Sort(stale)
	for _, m := range stale {
		s.st.inactiveRemovals++
		s.logEvent("inactive", m, int64(s.epoch), 0, "")
		s.askRemove(m, false)
	}
}

// activate makes a member that processed its Welcome (or founded the group) active.
func (s *Sim) activate(m MemberID) {
	mm := &s.members[m]
	mm.state = stActive
	mm.lastActive, mm.lastUpdate = s.now, s.now
	mm.epT = s.now
	s.onlineAdd(m)
	s.armApp(m)
	s.armFirstSelfUpdate(m)
	if err := s.backend.Join(m, mm.joinEpoch); err != nil {
		s.st.backendErrors++
	}
	if s.backend.ProcessesCommits(m) {
		// Commits accepted since its Welcome may already have arrived.
		s.push(s.now, evDeliver, m, 0, nil)
	}
	if s.waiting {
		s.requestCommit(0)
	}
}

func (s *Sim) joined(m MemberID) {
	mm := &s.members[m]
	if mm.state != stJoining || !mm.online {
		return // offline: it processes its Welcome when it comes back (goOnline)
	}
	s.activate(m)
	s.logEvent("welcome", m, int64(mm.joinEpoch), 0, "")
}
