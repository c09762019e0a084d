package sim

// This file owns the real backend's batch executor: deferred ProcessCommit
// calls grouped by member and run in parallel batches (Workers), possibly
// in the background while the next commit is built, and what the engine
// goroutine applies once a batch is done.

import (
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/mlslab/mlslab/mls/core"
)

// procJob is a deferred ProcessCommit call.
type procJob struct {
	m   MemberID
	e   uint64
	r   *epochRec         // resolved at arrival: gc may drop it from b.epochs meanwhile
	pub *core.PublicGroup // the epoch template's public state, nil if no longer kept
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
