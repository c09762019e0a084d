package core

import (
	"runtime"

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
