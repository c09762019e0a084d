package conformance

import (
	"testing"

	"github.com/mlslab/mlslab/mls/internal/vectors/vtest"
)

// runVectors loads file name, runs the runner for kind and reports each case
// as a subtest. It fails the test if the runner is missing or the file has
// no cases, and fails each failed case.
func runVectors(t *testing.T, kind, name string) {
	t.Helper()
	data := vtest.Load(t, name)
	r := runners[kind]
	if r == nil {
		t.Fatalf("no runner for kind %q", kind)
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

func TestCryptoBasicsVectors(t *testing.T) { runVectors(t, "crypto-basics", "crypto-basics.json") }

func TestDeserializationVectors(t *testing.T) {
	runVectors(t, "deserialization", "deserialization.json")
}

func TestTreeMathVectors(t *testing.T) { runVectors(t, "tree-math", "tree-math.json") }

func TestKeyScheduleVectors(t *testing.T) { runVectors(t, "key-schedule", "key-schedule.json") }

func TestPSKSecretVectors(t *testing.T) { runVectors(t, "psk_secret", "psk_secret.json") }

func TestSecretTreeVectors(t *testing.T) { runVectors(t, "secret-tree", "secret-tree.json") }

func TestTranscriptHashVectors(t *testing.T) {
	runVectors(t, "transcript-hashes", "transcript-hashes.json")
}

func TestMessageProtectionVectors(t *testing.T) {
	runVectors(t, "message-protection", "message-protection.json")
}

func TestMessagesVectors(t *testing.T) { runVectors(t, "messages", "messages.json") }

func TestPassiveClientWelcome(t *testing.T) {
	runVectors(t, "passive-client", "passive-client-welcome.json")
}

func TestPassiveClientHandlingCommit(t *testing.T) {
	runVectors(t, "passive-client", "passive-client-handling-commit.json")
}

func TestTreeValidationVectors(t *testing.T) {
	runVectors(t, "tree-validation", "tree-validation.json")
}
func TestTreeOperationsVectors(t *testing.T) {
	runVectors(t, "tree-operations", "tree-operations.json")
}
func TestTreeKEMVectors(t *testing.T) { runVectors(t, "treekem", "treekem.json") }
func TestWelcomeVectors(t *testing.T) { runVectors(t, "welcome", "welcome.json") }

// TestDeserializationRunnerRejects checks that the runner really fails on
// wrong vectors (a runner that passes everything would be worthless).
func TestDeserializationRunnerRejects(t *testing.T) {
	cases, err := runDeserializationVectors([]byte(`[
		{"vlbytes_header": "7bbd", "length": 15293},
		{"vlbytes_header": "7bbd", "length": 15294},
		{"vlbytes_header": "4025", "length": 37},
		{"vlbytes_header": "7bbd00", "length": 15293},
		{"vlbytes_header": "c0", "length": 0}
	]`))
	if err != nil || len(cases) != 5 {
		t.Fatalf("runner: %d cases, %v", len(cases), err)
	}
	if cases[0].Err != nil {
		t.Errorf("valid case failed: %v", cases[0].Err)
	}
	for _, c := range cases[1:] {
		if c.Err == nil {
			t.Errorf("case %s passed", c.Name)
		}
	}
	if _, err := runDeserializationVectors([]byte(`{`)); err == nil {
		t.Error("bad JSON accepted")
	}
}
