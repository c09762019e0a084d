package core

import (
	"bytes"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/codec"
	"github.com/mlslab/mlslab/mls/internal/suite"
	"github.com/mlslab/mlslab/mls/treemath"
)

// The ratchet_tree extension (RFC 9420, Section 12.4.3.3):
//
//	optional<Node> ratchet_tree<V>;
//
// Nodes in array order (Appendix C); the sender omits blank nodes after the
// last non-blank one and the receiver rejects a vector ending in a blank
// node, then pads to the next complete tree.

// DefaultMaxTreeLeaves is the leaf limit ParseRatchetTree applies when
// called with maxLeaves 0, and the default of Config.MaxLeaves: 2^18 =
// 262 144 leaves (a tree of 2^19-1 nodes). A 100 000-member group needs a
// tree of 2^17 leaves, or 2^18 when it once had more than 131 072 members;
// a parsed node costs 88 bytes (node and chunk slot) plus 48 for its tree
// hash, so the largest tree the default admits costs about 70 MB plus its
// non-blank nodes' contents, however blank it is.
const DefaultMaxTreeLeaves = 1 << 18

// Rules named by ratchet tree decoding errors.
const (
	ruleTreeEncoding   = "RFC 9420 §12.4.3.3 ratchet_tree encoding"
	ruleTreeTrailing   = "RFC 9420 §12.4.3.3 last node must be non-blank"
	ruleTreeNodeType   = "RFC 9420 §12.4.3.3 node type matches array position (Appendix C)"
	ruleTreeTooLarge   = "ratchet tree exceeds the configured leaf limit"
	ruleUnmergedSorted = "RFC 9420 §7.1 unmerged_leaves sorted in increasing order"
	ruleUnmergedLeaf   = "RFC 9420 §12.4.3.1 unmerged leaf is a non-blank descendant"
)

// MarshalRatchetTree returns the ratchet_tree extension data of t, without
// the trailing blank nodes (RFC 9420, Section 12.4.3.3).
func (t *RatchetTree) MarshalRatchetTree() ([]byte, error) {
	return codec.Encode(t.marshal)
}

func (t *RatchetTree) marshal(b *cryptobyte.Builder) {
	last := int(t.width()) - 1
	for last >= 0 && t.at(NodeIndex(last)).blank() {
		last--
	}
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for x := 0; x <= last; x++ {
			n := t.at(NodeIndex(x))
			switch {
			case n.leaf != nil:
				b.AddUint8(1)
				b.AddUint8(uint8(NodeTypeLeaf))
				if n.leafEnc != nil {
					b.AddBytes(n.leafEnc)
				} else {
					n.leaf.marshal(b)
				}
			case n.parent != nil:
				b.AddUint8(1)
				b.AddUint8(uint8(NodeTypeParent))
				n.parent.marshal(b)
			default:
				b.AddUint8(0)
			}
		}
	})
}

// ParseRatchetTree decodes ratchet_tree extension data (RFC 9420, Section
// 12.4.3.3) into a tree hashed with cs. It never panics; it rejects, with a
// *ProtocolError (errors.Is ErrDecode or ErrInvalidTree) naming the rule and
// node index:
//   - malformed encodings, trailing bytes and an empty vector;
//   - a vector whose last node is blank;
//   - a leaf at an odd (parent) position or a parent at an even one;
//   - trees of more than maxLeaves leaves (0 = DefaultMaxTreeLeaves),
//     detected while reading, before the node array is allocated (blank
//     nodes allocate nothing until then); the error also matches
//     ErrLimitExceeded;
//   - unmerged_leaves that are not strictly increasing, or name a leaf that
//     is blank or not below the parent node.
//
// The result is hashed (TreeHash is ready) but not validated: a joiner must
// call Validate before trusting it. The returned tree never aliases data.
func ParseRatchetTree(cs CipherSuite, data []byte, maxLeaves uint32) (*RatchetTree, error) {
	st, err := suite.Get(suite.ID(cs))
	if err != nil {
		return nil, protoErr(CodeUnsupported, "RFC 9420 §17.1 cipher suite", "", err)
	}
	return decodeRatchetTree(st, data, maxLeaves)
}

// decodeRatchetTree is ParseRatchetTree for a suite already looked up.
func decodeRatchetTree(cs *suite.Suite, data []byte, maxLeaves uint32) (*RatchetTree, error) {
	var t *RatchetTree
	err := codec.Decode(data, func(s *cryptobyte.String) error {
		var err error
		t, err = parseRatchetTree(cs, s, maxLeaves, 0)
		return err
	})
	if err != nil {
		if _, ok := err.(*ProtocolError); !ok {
			err = protoErr(CodeDecode, ruleTreeEncoding, "", err)
		}
		return nil, err
	}
	return t, nil
}

func parseRatchetTree(cs *suite.Suite, s *cryptobyte.String, maxLeaves uint32, par int) (*RatchetTree, error) {
	if maxLeaves == 0 || maxLeaves > treemath.MaxLeaves {
		maxLeaves = DefaultMaxTreeLeaves
	}
	maxWidth := treemath.NodeWidth(maxLeaves)
	body, err := codec.ReadVector(s)
	if err != nil {
		return nil, protoErr(CodeDecode, ruleTreeEncoding, "", codec.Errorf("ratchet_tree", err))
	}
	// First pass: only non-blank nodes are allocated (a blank node is one
	// input octet and costs nothing), and reading stops at the first node
	// beyond maxWidth. The dense node array is allocated only once the
	// width is known to be within the limit, so a huge, mostly blank tree
	// is rejected before its size is allocated.
	type filledNode struct {
		x uint32
		n *node
	}
	var (
		filled []filledNode
		count  uint32 // nodes in the vector
	)
	for ; !body.Empty(); count++ {
		x := count
		if x >= maxWidth {
			return nil, nodeErr(CodeInvalidTree, ruleTreeTooLarge, x, fmt.Sprintf("more than %d nodes (limit %d leaves)", maxWidth, maxLeaves), ErrLimitExceeded)
		}
		present, err := codec.ReadOptional(&body)
		if err != nil {
			return nil, nodeErr(CodeDecode, ruleTreeEncoding, x, "", codec.Errorf("ratchet_tree", err))
		}
		if !present {
			continue
		}
		n := &node{}
		start := body
		typ, err := codec.ReadUint8(&body)
		if err != nil {
			return nil, nodeErr(CodeDecode, ruleTreeEncoding, x, "", codec.Errorf("Node.node_type", err))
		}
		switch NodeType(typ) {
		case NodeTypeLeaf:
			if x%2 != 0 {
				return nil, nodeErr(CodeInvalidTree, ruleTreeNodeType, x, "leaf node at a parent position", nil)
			}
			n.leaf = new(LeafNode)
			if err := n.leaf.unmarshal(&body); err != nil {
				return nil, nodeErr(CodeDecode, ruleTreeEncoding, x, "", codec.Errorf("Node", err))
			}
			// Cache the exact encoding (a copy: never alias the input).
			n.leafEnc = bytes.Clone(start[1 : len(start)-len(body)])
		case NodeTypeParent:
			if x%2 != 1 {
				return nil, nodeErr(CodeInvalidTree, ruleTreeNodeType, x, "parent node at a leaf position", nil)
			}
			n.parent = new(ParentNode)
			if err := n.parent.unmarshal(&body); err != nil {
				return nil, nodeErr(CodeDecode, ruleTreeEncoding, x, "", codec.Errorf("Node", err))
			}
		default:
			return nil, nodeErr(CodeDecode, ruleTreeEncoding, x, "", codec.Invalid("Node.node_type", fmt.Sprintf("value %d", typ)))
		}
		filled = append(filled, filledNode{x, n})
	}
	if count == 0 {
		return nil, protoErr(CodeInvalidTree, ruleTreeEncoding, "empty ratchet_tree", nil)
	}
	if len(filled) == 0 || filled[len(filled)-1].x != count-1 {
		return nil, nodeErr(CodeInvalidTree, ruleTreeTrailing, count-1, "ratchet_tree ends in a blank node", nil)
	}
	nLeaves, _ := treemath.LeafCountForWidth(count)
	if nLeaves > maxLeaves {
		return nil, protoErr(CodeInvalidTree, ruleTreeTooLarge, fmt.Sprintf("%d leaves (limit %d)", nLeaves, maxLeaves), ErrLimitExceeded)
	}
	t := &RatchetTree{cs: cs, nLeaves: nLeaves}
	w := int(t.width())
	t.chunks = make([]*nodeChunk, (w+chunkLen-1)/chunkLen)
	for i := range t.chunks {
		t.chunks[i] = new(nodeChunk)
	}
	blanks := make([]node, w-len(filled))
	for x, f := 0, 0; x < w; x++ {
		var n *node
		if f < len(filled) && filled[f].x == uint32(x) {
			n = filled[f].n
			f++
		} else {
			n = &blanks[x-f]
		}
		t.chunks[x>>chunkShift][x&(chunkLen-1)] = n
	}
	if err := t.checkUnmerged(); err != nil {
		return nil, err
	}
	t.buildIndexes()
	if err := t.hashSubtrees([]NodeIndex{t.root()}, par); err != nil {
		return nil, protoErr(CodeDecode, ruleTreeEncoding, "", err)
	}
	return t, nil
}

// checkUnmerged checks that every unmerged_leaves list is strictly
// increasing (RFC 9420, Section 7.1) and names non-blank leaves below the
// parent (Section 12.4.3.1). Resolution relies on it.
func (t *RatchetTree) checkUnmerged() error {
	for x := NodeIndex(1); uint32(x) < t.width(); x += 2 {
		p := t.at(x).parent
		if p == nil {
			continue
		}
		first, end := treemath.LeafRange(x)
		for i, l := range p.UnmergedLeaves {
			if i > 0 && l <= p.UnmergedLeaves[i-1] {
				return nodeErr(CodeInvalidTree, ruleUnmergedSorted, uint32(x), fmt.Sprintf("leaf %d after %d", l, p.UnmergedLeaves[i-1]), nil)
			}
			if l < first || l >= end {
				return nodeErr(CodeInvalidTree, ruleUnmergedLeaf, uint32(x), fmt.Sprintf("leaf %d is not below the node", l), nil)
			}
			if t.at(l.Node()).leaf == nil {
				return nodeErr(CodeInvalidTree, ruleUnmergedLeaf, uint32(x), fmt.Sprintf("leaf %d is blank", l), nil)
			}
		}
	}
	return nil
}
