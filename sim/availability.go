package sim

// This file owns availability: when each device goes offline and comes back
// (network.offline: random periods or working days), and what a device
// does on coming back online (its backlog of commits, a retry or
// self-update that fell due while it was away).

import "time"

func (s *Sim) scheduleAvailability(m MemberID, nowOnline bool) {
	o := s.sc.Network.Offline
	mm := &s.members[m]
	if o.Mode == "none" || mm.alwaysOn {
		return
	}
	mm.onGen++
	switch o.Mode {
	case "random":
		u := counterDraw(s.avSeedOf(mm), mm.dev, mm.avN)
		mm.avN++
		if nowOnline {
			s.push(s.now+expFrom(u, o.MeanOnline.D()), evOffline, m, mm.onGen, nil)
		} else {
			s.push(s.now+expFrom(u, o.MeanOffline.D()), evOnline, m, mm.onGen, nil)
		}
	case "workday":
		next, online := s.nextWorkdayTransition(m, s.now)
		if online == nowOnline {
			// Currently in the wrong state for this time of day: flip now.
			if nowOnline {
				s.push(s.now, evOffline, m, mm.onGen, nil)
			} else {
				s.push(s.now, evOnline, m, mm.onGen, nil)
			}
			return
		}
		if online {
			s.push(next, evOnline, m, mm.onGen, nil)
		} else {
			s.push(next, evOffline, m, mm.onGen, nil)
		}
	}
}

// nextWorkdayTransition returns member m's next transition after t and
// whether it is a transition to online. Day 0 is a Monday. The jitter of
// each day's start and end is a pure function of (m, day), so a member's
// working hours do not depend on when they are asked for.
func (s *Sim) nextWorkdayTransition(m MemberID, t time.Duration) (time.Duration, bool) {
	o := s.sc.Network.Offline
	day := 24 * time.Hour
	jit := func(d time.Duration, end uint64) time.Duration {
		if o.Jitter <= 0 {
			return 0
		}
		return time.Duration((counterDraw(s.avSeedOf(&s.members[m]), s.members[m].dev, 2*uint64(d)+end)*2 - 1) * float64(o.Jitter.D()))
	}
	d := t / day
	for {
		weekend := o.Weekends && d%7 >= 5
		if !weekend {
			start := d*day + o.DayStart.D() + jit(d, 0)
			end := d*day + o.DayEnd.D() + jit(d, 1)
			if t < start {
				return start, true
			}
			if t < end {
				return end, false
			}
		}
		d++
	}
}

func (s *Sim) goOffline(m MemberID, gen uint32) {
	mm := &s.members[m]
	if mm.onGen != gen || !mm.online || mm.state == stGone {
		return
	}
	s.advance(m, s.now)
	mm.online = false
	s.onlineRemove(m)
	s.st.offline++
	s.logEvent("offline", m, int64(mm.ep), 0, "")
	s.scheduleAvailability(m, false)
}

func (s *Sim) goOnline(m MemberID, gen uint32) error {
	mm := &s.members[m]
	if mm.onGen != gen || mm.online || mm.state == stGone {
		return nil
	}
	mm.online = true
	mm.onlineSince = s.now
	mm.qEpoch = s.epoch
	s.logEvent("online", m, int64(mm.ep), 0, "")
	s.scheduleAvailability(m, true)
	switch mm.state {
	case stJoining:
		s.push(s.now+s.lat.delivery(m, mm.joinEpoch), evJoined, m, 0, nil)
		return nil
	case stActive:
		s.onlineAdd(m)
		s.armApp(m)
		if s.backend.ProcessesCommits(m) && mm.ep < s.epoch {
			// The commits accepted while it was offline arrive as one batch.
			s.push(s.now+s.lat.delivery(m, mm.qEpoch), evDeliver, m, 0, nil)
		}
	default:
		return nil
	}
	if mm.retryDue != nil {
		f := mm.retryDue
		mm.retryDue = nil
		s.scheduleRetry(m, f)
	}
	if mm.updateDue {
		mm.updateDue = false
		if err := s.selfUpdate(m, "due"); err != nil {
			return err
		}
	}
	if s.waiting {
		s.requestCommit(0)
	}
	return nil
}
