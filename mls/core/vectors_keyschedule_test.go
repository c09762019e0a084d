package core

import (
	"testing"

	"github.com/mlslab/mlslab/mls/internal/vectors/vtest"
)

func TestKeyScheduleVectors(t *testing.T) { vtest.Run(t, "key-schedule", "key-schedule.json") }

func TestPSKSecretVectors(t *testing.T) { vtest.Run(t, "psk_secret", "psk_secret.json") }

func TestSecretTreeVectors(t *testing.T) { vtest.Run(t, "secret-tree", "secret-tree.json") }

func TestTranscriptHashVectors(t *testing.T) {
	vtest.Run(t, "transcript-hashes", "transcript-hashes.json")
}
