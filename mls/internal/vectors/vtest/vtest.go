// Package vtest loads IETF vector files for Go tests (skipping, or failing
// in CI, when they are missing).
package vtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/vectors"
)

// Load reads the vector file name for a test. When the vectors are missing it
// fails the test if $CI is set and skips it with the reason otherwise.
func Load(t testing.TB, name string) []byte {
	t.Helper()
	dir, err := vectors.Dir()
	if err == nil {
		var data []byte
		data, err = os.ReadFile(filepath.Join(dir, name))
		if err == nil {
			return data
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("IETF test vectors required in CI: %v", err)
	}
	t.Skipf("IETF test vectors unavailable (set MLS_TEST_VECTORS): %v", err)
	return nil
}
