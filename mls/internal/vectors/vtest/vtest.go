// Package vtest runs registered IETF vector runners as Go subtests.
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

// Run loads file name, runs the runner registered for kind, and reports each
// case as a subtest. It fails the test if the runner is missing, the file is
// unreadable, or any case failed; it fails too when the file has no cases.
func Run(t *testing.T, kind, name string) {
	t.Helper()
	data := Load(t, name)
	r := vectors.Lookup(kind)
	if r == nil {
		t.Fatalf("no runner registered for kind %q", kind)
	}
	cases, err := r(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(cases) == 0 {
		t.Fatalf("%s: no cases", name)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if c.Skip != "" {
				t.Skip(c.Skip)
			}
			if c.Err != nil {
				t.Fatal(c.Err)
			}
		})
	}
}
