// Package conformance runs the IETF MLS test-vector files
// (https://github.com/mlswg/mls-implementations/blob/main/test-vectors.md)
// against mlslab. It is what `mlssim conformance` prints and what the go tests
// assert: both call the same per-kind runners, which live in this package
// (one file per group of kinds) and check the protocol through the
// low-level API of mls/core and the internal codec, suite and treemath
// packages. No production package registers runners.
package conformance

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mlslab/mlslab/mls/core"
	"github.com/mlslab/mlslab/mls/internal/suite"
	"github.com/mlslab/mlslab/mls/internal/vectors"
)

// runners maps each implemented vector kind to its runner.
var runners = map[string]vectors.Runner{
	"crypto-basics":      runCryptoBasics,
	"deserialization":    runDeserializationVectors,
	"key-schedule":       runKeyScheduleVectors,
	"message-protection": runMessageProtectionVectors,
	"messages":           runMessagesVectors,
	"passive-client":     runPassiveClientVectors,
	"psk_secret":         runPSKSecretVectors,
	"secret-tree":        runSecretTreeVectors,
	"transcript-hashes":  runTranscriptHashVectors,
	"tree-math":          runTreeMathVectors,
	"tree-operations":    runTreeOperationsVectors,
	"tree-validation":    runTreeValidationVectors,
	"treekem":            runTreeKEMVectors,
	"welcome":            runWelcomeVectors,
}

// FileResult is the outcome of one vector file.
type FileResult struct {
	File    string `json:"file"`
	Kind    string `json:"kind"`
	Cases   int    `json:"cases"`
	Passed  int    `json:"passed"`
	Failed  int    `json:"failed"`
	Skipped int    `json:"skipped"`
	// Reason explains skipped cases, a file-level error, or the first
	// failures.
	Reason string `json:"reason"`
	// Failures lists "case: error" for every failed case.
	Failures []string `json:"failures,omitempty"`
	// Err is set when the file could not be read or interpreted.
	Err error `json:"-"`
}

// OK reports whether nothing failed and the file could be run.
func (r FileResult) OK() bool { return r.Err == nil && r.Failed == 0 }

// Kinds returns the kinds that have a runner, sorted.
func Kinds() []string {
	out := make([]string, 0, len(runners))
	for k := range runners {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// KnownKinds returns every IETF vector kind, implemented or not.
func KnownKinds() []string { return append([]string(nil), vectors.KnownKinds...) }

// KindOf is the kind a file name implies.
func KindOf(path string) string { return vectors.KindOf(path) }

// Expand turns the arguments (files or directories) into the list of JSON
// files to run: a directory stands for every *.json directly inside it,
// sorted.
func Expand(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		m, err := filepath.Glob(filepath.Join(p, "*.json"))
		if err != nil {
			return nil, err
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("%s: no *.json files", p)
		}
		sort.Strings(m)
		out = append(out, m...)
	}
	return out, nil
}

// RunFile runs one file as kind (empty kind: derived from the file name).
func RunFile(path, kind string) FileResult {
	if kind == "" {
		kind = KindOf(path)
	}
	res := FileResult{File: path, Kind: kind}
	data, err := os.ReadFile(path)
	if err != nil {
		res.Err = err
		res.Reason = "cannot read: " + err.Error()
		return res
	}
	r := runners[kind]
	if r == nil {
		known := false
		for _, k := range vectors.KnownKinds {
			known = known || k == kind
		}
		if !known {
			res.Err = fmt.Errorf("unknown vector kind %q (use --kind)", kind)
			res.Reason = res.Err.Error()
			return res
		}
		// Count the cases so the report says how much was not run.
		res.Cases = countCases(data)
		res.Skipped = res.Cases
		res.Reason = "not implemented"
		return res
	}
	cases, err := safeRun(r, data)
	if err != nil {
		res.Err = err
		res.Reason = "cannot interpret as " + kind + ": " + err.Error()
		return res
	}
	res.Cases = len(cases)
	skipReasons := map[string]bool{}
	for _, c := range cases {
		switch {
		case c.Skip != "":
			res.Skipped++
			skipReasons[c.Skip] = true
		case c.Err != nil:
			res.Failed++
			res.Failures = append(res.Failures, c.Name+": "+c.Err.Error())
		default:
			res.Passed++
		}
	}
	var reasons []string
	for r := range skipReasons {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	if len(res.Failures) > 0 {
		first := res.Failures[0]
		if len(first) > 200 {
			first = first[:200] + "..."
		}
		reasons = append([]string{fmt.Sprintf("%d failed, first: %s", res.Failed, first)}, reasons...)
	}
	if res.Cases == 0 {
		res.Err = errors.New("file has no cases")
		reasons = append(reasons, "no cases")
	}
	res.Reason = strings.Join(reasons, "; ")
	return res
}

// safeRun turns a runner panic (a bug, but possible on a file of the wrong
// kind) into an error so one bad file does not stop a whole run.
func safeRun(r vectors.Runner, data []byte) (cases []vectors.Case, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("runner panicked: %v", p)
		}
	}()
	return r(data)
}

// VectorDir returns the directory of the IETF vectors: $MLS_TEST_VECTORS,
// else ../shared/test-vectors next to the module root.
func VectorDir() (string, error) { return vectors.Dir() }

// code is the code point of a suite, as the low-level API of mls/core takes
// it.
func code(s *suite.Suite) core.CipherSuite { return core.CipherSuite(s.ID()) }
