package core

import (
	"testing"

	"github.com/mlslab/mlslab/mls/internal/vectors/vtest"
)

func TestMessagesVectors(t *testing.T) { vtest.Run(t, "messages", "messages.json") }
