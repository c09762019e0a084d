// Package vectors holds what the IETF MLS interop test-vector runners
// (https://github.com/mlswg/mls-implementations, format in
// test-vectors.md) share: Case, Runner, Hex, Check, the messages.json case
// type, and where the files are. The runners themselves live in mls/conformance;
// the go tests and `mlssim conformance` both call them, so the CLI reports
// exactly what the tests assert.
package vectors

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Case is the outcome of one test-vector case.
type Case struct {
	Name   string // e.g. "cs=0x0001/n_leaves=8" or "#3"
	Err    error  // nil when the case passed
	Skip   string // non-empty when the case was not run, with the reason
	Detail string // optional extra info on success
}

// Runner checks every case of one vector file's JSON. It returns an error
// only when the file as a whole cannot be interpreted (bad JSON).
type Runner func(data []byte) ([]Case, error)

// KnownKinds are all vector kinds of the IETF set, implemented or not.
var KnownKinds = []string{
	"crypto-basics", "deserialization", "key-schedule", "message-protection",
	"messages", "passive-client", "psk_secret", "secret-tree", "transcript-hashes",
	"tree-math", "tree-operations", "tree-validation", "treekem", "welcome",
}

// KindOf derives the vector kind from a file name: the base name without
// ".json"; every "passive-client-*" file is of kind "passive-client".
func KindOf(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), ".json")
	if strings.HasPrefix(base, "passive-client") {
		return "passive-client"
	}
	return base
}

// Hex is a byte string that decodes from a JSON hex string (null = nil).
type Hex []byte

func (h *Hex) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*h = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	if v == nil {
		v = []byte{}
	}
	*h = v
	return nil
}

func (h Hex) MarshalJSON() ([]byte, error) { return json.Marshal(hex.EncodeToString(h)) }

// Dir returns the directory of the IETF vectors: $MLS_TEST_VECTORS, else
// ../shared/test-vectors relative to the module root (found by walking up to
// go.mod from the working directory).
func Dir() (string, error) {
	if d := os.Getenv("MLS_TEST_VECTORS"); d != "" {
		if _, err := os.Stat(d); err != nil {
			return "", fmt.Errorf("MLS_TEST_VECTORS=%s: %w", d, err)
		}
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			d := filepath.Join(dir, "..", "shared", "test-vectors")
			if _, err := os.Stat(d); err != nil {
				return "", fmt.Errorf("test vectors not found at %s (set MLS_TEST_VECTORS): %w", d, err)
			}
			return filepath.Clean(d), nil
		}
		if filepath.Dir(dir) == dir {
			return "", errors.New("test vectors: no go.mod above the working directory; set MLS_TEST_VECTORS")
		}
	}
}

// Check accumulates field mismatches for one case.
type Check struct{ errs []error }

// Bytes records a mismatch when got != want.
func (c *Check) Bytes(field string, got, want []byte) {
	if string(got) != string(want) {
		c.errs = append(c.errs, fmt.Errorf("%s: got %x, want %x", field, got, want))
	}
}

// Equal records a mismatch when got != want.
func (c *Check) Equal(field string, got, want any) {
	if got != want {
		c.errs = append(c.errs, fmt.Errorf("%s: got %v, want %v", field, got, want))
	}
}

// Err records err (if non-nil) for field.
func (c *Check) Err(field string, err error) {
	if err != nil {
		c.errs = append(c.errs, fmt.Errorf("%s: %w", field, err))
	}
}

// Result returns the joined error, nil if every check passed.
func (c *Check) Result() error { return errors.Join(c.errs...) }

// Each decodes data as a JSON array of T and checks every element: the
// shape every vector runner shares. name labels case i; check returns nil
// when every field of the case matched.
func Each[T any](data []byte, name func(i int, v *T) string, check func(v *T) error) ([]Case, error) {
	var vs []T
	if err := json.Unmarshal(data, &vs); err != nil {
		return nil, err
	}
	cases := make([]Case, len(vs))
	for i := range vs {
		cases[i] = Case{Name: name(i, &vs[i]), Err: check(&vs[i])}
	}
	return cases, nil
}

// SuiteName is the case name of a vector for one cipher suite: "cs=0x0001".
func SuiteName(cs uint16) string { return fmt.Sprintf("cs=0x%04x", cs) }
