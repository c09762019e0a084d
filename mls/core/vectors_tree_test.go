package core

import (
	"testing"

	"github.com/mlslab/mlslab/mls/internal/vectors/vtest"
)

func TestTreeValidationVectors(t *testing.T) { vtest.Run(t, "tree-validation", "tree-validation.json") }
func TestTreeOperationsVectors(t *testing.T) { vtest.Run(t, "tree-operations", "tree-operations.json") }
func TestTreeKEMVectors(t *testing.T)        { vtest.Run(t, "treekem", "treekem.json") }
