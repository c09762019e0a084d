package ed25519batch

import (
	"crypto/rand"
	"flag"
	"fmt"
	"testing"
)

// benchLarge adds the batch sizes around MinBatch and 16384, 65536
// (minutes per run; make bench-ed25519batch sets it). Without it the sweep
// stays small enough for make bench.
var benchLarge = flag.Bool("large", false, "BenchmarkVerify: all batch sizes 1 to 65536")

// BenchmarkVerify compares, per batch size n, the batch (Verify, which
// verifies one by one below MinBatch; "forced" runs the batch path at any
// n; "concurrent" is VerifyConcurrent with 2 workers) with individual
// crypto/ed25519.Verify of the same entries, the per-signature floor.
// The ns/sig metric (wall clock) is the one to compare on an idle
// machine; cpu-ns/sig (process CPU time, unix) on a shared one, except for
// the concurrent mode, whose CPU time is spread over 2 cores.
func BenchmarkVerify(b *testing.B) {
	sizes := []int{64, 1024, 4096}
	if *benchLarge {
		sizes = []int{1, 64, 128, 256, 512, 1024, 4096, 16384, 65536}
	}
	for _, n := range sizes {
		es := validEntries(uint64(n), n)
		run := func(name string, f func() []bool) {
			b.Run(fmt.Sprintf("n=%d/mode=%s", n, name), func(b *testing.B) {
				b.ReportAllocs()
				cpu0 := cpuTime()
				for b.Loop() {
					for i, ok := range f() {
						if !ok {
							b.Fatalf("entry %d rejected", i)
						}
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sig")
				b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*n), "cpu-ns/sig")
			})
		}
		run("individual", func() []bool {
			ok := make([]bool, n)
			for i, e := range es {
				ok[i] = individual(e)
			}
			return ok
		})
		run("batch", func() []bool { return Verify(es) })
		run("forced", func() []bool {
			ok := make([]bool, n)
			verifyBatch(es, ok, rand.Reader)
			return ok
		})
		if n >= 2*MinBatch {
			run("concurrent", func() []bool { return VerifyConcurrent(es, 2) })
		}
	}
}
