//go:build !unix

package ed25519batch

import "time"

// cpuTime is unavailable here: the cpu-ns/sig metric reads 0.
func cpuTime() time.Duration { return 0 }
