package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlslab/mlslab/mls/conformance"
)

// runCLI runs mlssim with args and returns exit status, stdout, stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	stdout, stderr = &out, &errb
	defer func() { stdout, stderr = os.Stdout, os.Stderr }()
	code := realMain(args)
	return code, out.String(), errb.String()
}

func vectorDir(t *testing.T) string {
	t.Helper()
	dir, err := conformance.VectorDir()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return dir
}

func TestConformanceJSONAllPass(t *testing.T) {
	dir := vectorDir(t)
	code, out, errs := runCLI(t, "conformance", "--json", dir)
	if code != 0 {
		t.Fatalf("exit %d; stderr %s; out %s", code, errs, out)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("not a JSON array: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(rows) != len(files) {
		t.Fatalf("%d rows for %d files", len(rows), len(files))
	}
	for _, r := range rows {
		for _, k := range []string{"file", "kind", "cases", "passed", "failed", "skipped", "reason"} {
			if _, ok := r[k]; !ok {
				t.Fatalf("row lacks %q: %v", k, r)
			}
		}
		if r["failed"].(float64) != 0 || r["skipped"].(float64) != 0 || r["passed"] != r["cases"] || r["cases"].(float64) == 0 {
			t.Errorf("row %v", r)
		}
	}
}

func TestConformanceFailureExitCode(t *testing.T) {
	dir := vectorDir(t)
	data, err := os.ReadFile(filepath.Join(dir, "tree-math.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Corrupt one root value: the case must fail and the exit status be 1.
	bad := bytes.Replace(data, []byte(`"root": 0`), []byte(`"root": 5`), 1)
	if bytes.Equal(bad, data) {
		t.Fatal("could not corrupt the file")
	}
	tmp := filepath.Join(t.TempDir(), "renamed.json")
	if err := os.WriteFile(tmp, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI(t, "conformance", "--kind", "tree-math", tmp)
	if code != 1 || !strings.Contains(out, "tree-math") {
		t.Fatalf("exit %d, out:\n%s", code, out)
	}
	// --kind overrides the file name for every kind, passive-client included.
	pc, _ := os.ReadFile(filepath.Join(dir, "passive-client-welcome.json"))
	tmp2 := filepath.Join(t.TempDir(), "anything.json")
	os.WriteFile(tmp2, pc, 0o644)
	code, out, _ = runCLI(t, "conformance", "--json", "--kind", "passive-client", tmp2)
	if code != 0 || !strings.Contains(out, `"kind": "passive-client"`) {
		t.Fatalf("passive-client by --kind: exit %d\n%s", code, out)
	}
}

func TestConformanceBadInput(t *testing.T) {
	if code, _, _ := runCLI(t, "conformance"); code != 2 {
		t.Fatalf("no args: exit %d", code)
	}
	if code, _, _ := runCLI(t, "conformance", "--kind", "nope", "x.json"); code != 2 {
		t.Fatalf("unknown kind: exit %d", code)
	}
	if code, _, _ := runCLI(t, "conformance", filepath.Join(t.TempDir(), "missing.json")); code != 1 {
		t.Fatalf("missing file: exit %d", code)
	}
	// A file whose name gives an unknown kind fails (not silently passes).
	tmp := filepath.Join(t.TempDir(), "mystery.json")
	os.WriteFile(tmp, []byte(`[]`), 0o644)
	code, out, _ := runCLI(t, "conformance", "--json", tmp)
	if code != 1 || !strings.Contains(out, "unknown vector kind") {
		t.Fatalf("unknown kind file: exit %d\n%s", code, out)
	}
	// Malformed JSON for a known kind.
	tmp = filepath.Join(t.TempDir(), "tree-math.json")
	os.WriteFile(tmp, []byte(`{not json`), 0o644)
	if code, _, _ := runCLI(t, "conformance", tmp); code != 1 {
		t.Fatalf("bad JSON: exit %d", code)
	}
}
