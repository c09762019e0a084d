package conformance

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/mlslab/mlslab/mls/internal/vectors"
	"github.com/mlslab/mlslab/mls/treemath"
)

// treeMathVector is one case of tree-math.json (test-vectors.md, "Tree
// Math"); a JSON null in the arrays means "no such node".
type treeMathVector struct {
	NLeaves uint32    `json:"n_leaves"`
	NNodes  uint32    `json:"n_nodes"`
	Root    uint32    `json:"root"`
	Left    []*uint32 `json:"left"`
	Right   []*uint32 `json:"right"`
	Parent  []*uint32 `json:"parent"`
	Sibling []*uint32 `json:"sibling"`
}

// runTreeMathVectors checks n_nodes, root and, for every node index i <
// n_nodes, left[i], right[i], parent[i] and sibling[i].
func runTreeMathVectors(data []byte) ([]vectors.Case, error) {
	var tvs []treeMathVector
	if err := json.Unmarshal(data, &tvs); err != nil {
		return nil, err
	}
	cases := make([]vectors.Case, 0, len(tvs))
	for _, tv := range tvs {
		cases = append(cases, vectors.Case{
			Name: fmt.Sprintf("n_leaves=%d", tv.NLeaves),
			Err:  checkTreeMathVector(&tv),
		})
	}
	return cases, nil
}

func checkTreeMathVector(tv *treeMathVector) error {
	var c vectors.Check
	n := tv.NLeaves
	c.Equal("n_nodes", treemath.NodeWidth(n), tv.NNodes)
	c.Equal("root", optString(treemath.Root(n)), strconv.FormatUint(uint64(tv.Root), 10))
	// Every entry of every array is checked (the loops are bounded by the
	// arrays, not by the claimed n_nodes); a length other than n_nodes is
	// itself a mismatch.
	for _, f := range []struct {
		name string
		want []*uint32
		got  func(treemath.NodeIndex) (treemath.NodeIndex, bool)
	}{
		{"left", tv.Left, treemath.Left},
		{"right", tv.Right, treemath.Right},
		{"parent", tv.Parent, func(x treemath.NodeIndex) (treemath.NodeIndex, bool) { return treemath.Parent(x, n) }},
		{"sibling", tv.Sibling, func(x treemath.NodeIndex) (treemath.NodeIndex, bool) { return treemath.Sibling(x, n) }},
	} {
		c.Equal("len("+f.name+")", uint64(len(f.want)), uint64(tv.NNodes))
		for i, w := range f.want {
			c.Equal(fmt.Sprintf("%s[%d]", f.name, i), optString(f.got(treemath.NodeIndex(i))), wantString(w))
		}
	}
	return c.Result()
}

// optString renders an optional node index as the vectors do: the number, or
// "null" when absent.
func optString(x treemath.NodeIndex, ok bool) string {
	if !ok {
		return "null"
	}
	return strconv.FormatUint(uint64(x), 10)
}

func wantString(p *uint32) string {
	if p == nil {
		return "null"
	}
	return strconv.FormatUint(uint64(*p), 10)
}
