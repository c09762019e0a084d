package core

import (
	"testing"

	"github.com/mlslab/mlslab/mls/internal/vectors/vtest"
)

func TestWelcomeVectors(t *testing.T) { vtest.Run(t, "welcome", "welcome.json") }
