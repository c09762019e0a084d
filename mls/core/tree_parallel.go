package core

import (
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// Parallelism of the tree code (tree hashing, tree validation, UpdatePath
// creation and processing).
//
// Every parallel loop takes a par argument: 0 or less means GOMAXPROCS, 1
// forces sequential execution in the calling goroutine, n > 1 bounds the
// loop to n goroutines. The exported API passes 0 (DecryptUpdatePathSecret
// takes par from its caller); benchmarks and tests pass 1 to measure the
// single-threaded cost.
func workers(par int) int {
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	return par
}

// parallelRange calls f on contiguous sub-ranges [lo, hi) covering [0, n),
// using up to workers(par) goroutines and ranges of at least minChunk
// items. When it runs sequentially (one worker or n <= minChunk) f is called
// once with [0, n). The error returned is the one of the lowest failing
// range, so results are deterministic whatever the scheduling.
func parallelRange(par, n, minChunk int, f func(lo, hi int) error) error {
	w := workers(par)
	if w <= 1 || n <= minChunk || n <= 1 {
		if n == 0 {
			return nil
		}
		return f(0, n)
	}
	if minChunk < 1 {
		minChunk = 1
	}
	// Many more chunks than workers keeps the tail short when chunk costs
	// vary or a core is taken by another process.
	chunks := 32 * w
	if chunks > n/minChunk {
		chunks = n / minChunk
	}
	if chunks < 2 {
		chunks = 2
	}
	if chunks > n {
		chunks = n
	}
	errs := make([]error, chunks)
	var g errgroup.Group
	g.SetLimit(w)
	for c := range chunks {
		lo, hi := c*n/chunks, (c+1)*n/chunks
		g.Go(func() error {
			errs[c] = f(lo, hi)
			return nil
		})
	}
	_ = g.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// parallelOverlap calls f(i) for every i in [0, n) and serial once, where
// serial needs the results of the items below gate and the items from gate
// on do not need serial: UpdatePath creation derives the node key pairs
// (below gate), then signs the leaf and computes the provisional
// GroupContext (serial) while the HPKE encapsulations (from gate on) run.
//
// With workers(par) = 1 it runs f(0..gate-1), serial, f(gate..n-1) in the
// calling goroutine. Otherwise workers(par)-1 goroutines and the caller
// take items one at a time, those below gate first. Once no item below
// gate is left to take, the caller takes items from gate on until the
// last item below gate has returned, then runs serial, then goes back to
// the remaining items; the other goroutines never wait. serial is not
// called if an item below gate failed. The error returned is that of the
// lowest failing item below gate, else serial's, else that of the lowest
// failing item from gate on, so it does not depend on scheduling.
func parallelOverlap(par, n, gate int, f func(i int) error, serial func() error) error {
	w := workers(par)
	if w <= 1 || n <= gate {
		for i := range gate {
			if err := f(i); err != nil {
				return err
			}
		}
		if err := serial(); err != nil {
			return err
		}
		for i := gate; i < n; i++ {
			if err := f(i); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, n)
	var (
		nextA, nextB atomic.Int64 // next item to take below gate, from gate on
		doneA        atomic.Int64 // items below gate returned
		gateDone     = make(chan struct{})
	)
	nextB.Store(int64(gate))
	if gate == 0 {
		close(gateDone)
	}
	takeA := func() bool {
		i := int(nextA.Add(1)) - 1
		if i >= gate {
			return false
		}
		errs[i] = f(i)
		if int(doneA.Add(1)) == gate {
			close(gateDone)
		}
		return true
	}
	takeB := func() bool {
		i := int(nextB.Add(1)) - 1
		if i >= n {
			return false
		}
		errs[i] = f(i)
		return true
	}
	var wg sync.WaitGroup
	for range min(w, n) - 1 {
		wg.Go(func() {
			for takeA() {
			}
			for takeB() {
			}
		})
	}
	for takeA() {
	}
	// The last items below gate are running elsewhere: take the
	// independent items meanwhile.
wait:
	for {
		select {
		case <-gateDone:
			break wait
		default:
		}
		if !takeB() {
			<-gateDone
			break
		}
	}
	var serialErr error
	failedA := false
	for _, err := range errs[:gate] {
		if err != nil {
			failedA = true
			break
		}
	}
	if !failedA {
		serialErr = serial()
	}
	for takeB() {
	}
	wg.Wait()
	for _, err := range errs[:gate] {
		if err != nil {
			return err
		}
	}
	if serialErr != nil {
		return serialErr
	}
	for _, err := range errs[gate:] {
		if err != nil {
			return err
		}
	}
	return nil
}
