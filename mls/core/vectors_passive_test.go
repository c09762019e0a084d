package core

import (
	"testing"

	"github.com/mlslab/mlslab/mls/internal/vectors/vtest"
)

func TestPassiveClientWelcome(t *testing.T) {
	vtest.Run(t, "passive-client", "passive-client-welcome.json")
}

func TestPassiveClientHandlingCommit(t *testing.T) {
	vtest.Run(t, "passive-client", "passive-client-handling-commit.json")
}
