package conformance

import (
	"fmt"

	"github.com/mlslab/mlslab/mls/core"
	"github.com/mlslab/mlslab/mls/internal/suite"
	"github.com/mlslab/mlslab/mls/internal/vectors"
)

// Runners for the IETF tree-validation, tree-operations and treekem vectors
// (test-vectors.md: "Tree Validation", "Tree Operations", "TreeKEM").

// treeValidationVector is one case of tree-validation.json.
type treeValidationVector struct {
	CipherSuite uint16        `json:"cipher_suite"`
	Tree        vectors.Hex   `json:"tree"`
	GroupID     vectors.Hex   `json:"group_id"`
	Resolutions [][]uint32    `json:"resolutions"`
	TreeHashes  []vectors.Hex `json:"tree_hashes"`
}

// runTreeValidationVectors checks tree-validation.json (test-vectors.md,
// "Tree Validation"): every node's resolution and tree hash, the parent
// hashes and every leaf signature, plus that the tree re-encodes to the
// same bytes.
func runTreeValidationVectors(data []byte) ([]vectors.Case, error) {
	return vectors.Each(data, func(i int, v *treeValidationVector) string {
		return fmt.Sprintf("%s/#%d", vectors.SuiteName(v.CipherSuite), i)
	}, func(v *treeValidationVector) error {
		cs, err := suite.Get(suite.ID(v.CipherSuite))
		if err != nil {
			return err
		}
		t, err := core.ParseRatchetTree(code(cs), v.Tree, 0)
		if err != nil {
			return fmt.Errorf("tree: %w", err)
		}
		var chk vectors.Check
		chk.Equal("len(resolutions)", len(v.Resolutions), int(t.Width()))
		chk.Equal("len(tree_hashes)", len(v.TreeHashes), int(t.Width()))
		for x := range min(len(v.Resolutions), int(t.Width())) {
			got := t.Resolution(core.NodeIndex(x))
			want := v.Resolutions[x]
			ok := len(got) == len(want)
			for j := 0; ok && j < len(got); j++ {
				ok = uint32(got[j]) == want[j]
			}
			if !ok {
				chk.Err(fmt.Sprintf("resolutions[%d]", x), fmt.Errorf("got %v, want %v", got, want))
			}
		}
		for x := range min(len(v.TreeHashes), int(t.Width())) {
			chk.Bytes(fmt.Sprintf("tree_hashes[%d]", x), t.NodeHash(core.NodeIndex(x)), v.TreeHashes[x])
		}
		chk.Err("validate", t.Validate(core.TreeValidation{GroupID: v.GroupID}))
		enc, err := t.MarshalRatchetTree()
		chk.Err("re-encode", err)
		chk.Bytes("re-encode", enc, v.Tree)
		return chk.Result()
	})
}

type treeOperationsVector struct {
	CipherSuite    uint16      `json:"cipher_suite"`
	TreeBefore     vectors.Hex `json:"tree_before"`
	Proposal       vectors.Hex `json:"proposal"`
	ProposalSender uint32      `json:"proposal_sender"`
	TreeHashBefore vectors.Hex `json:"tree_hash_before"`
	TreeAfter      vectors.Hex `json:"tree_after"`
	TreeHashAfter  vectors.Hex `json:"tree_hash_after"`
}

// applyTreeProposal decodes one Proposal (RFC 9420, Section 12.1: uint16
// proposal_type, then the body) and applies it to t. The tree-operations
// vectors carry Add, Update and Remove proposals only; any other type is an
// error.
func applyTreeProposal(t *core.RatchetTree, data []byte, sender core.LeafIndex) (*core.RatchetTree, error) {
	p, err := core.UnmarshalProposal(data)
	if err != nil {
		return nil, err
	}
	switch b := p.Body.(type) {
	case *core.Add:
		out, _, err := t.Add(&b.KeyPackage.LeafNode)
		return out, err
	case *core.Update:
		return t.Update(sender, &b.LeafNode)
	case *core.Remove:
		return t.Remove(core.LeafIndex(b.Removed))
	}
	return nil, fmt.Errorf("unexpected proposal type %v", p.Type())
}

// runTreeOperationsVectors checks tree-operations.json (test-vectors.md,
// "Tree Operations").
func runTreeOperationsVectors(data []byte) ([]vectors.Case, error) {
	return vectors.Each(data, func(i int, v *treeOperationsVector) string {
		return fmt.Sprintf("%s/#%d", vectors.SuiteName(v.CipherSuite), i)
	}, func(v *treeOperationsVector) error {
		cs, err := suite.Get(suite.ID(v.CipherSuite))
		if err != nil {
			return err
		}
		before, err := core.ParseRatchetTree(code(cs), v.TreeBefore, 0)
		if err != nil {
			return fmt.Errorf("tree_before: %w", err)
		}
		var chk vectors.Check
		chk.Bytes("tree_hash_before", before.TreeHash(), v.TreeHashBefore)
		after, err := applyTreeProposal(before, v.Proposal, core.LeafIndex(v.ProposalSender))
		if err != nil {
			return fmt.Errorf("proposal: %w", err)
		}
		enc, err := after.MarshalRatchetTree()
		chk.Err("tree_after", err)
		chk.Bytes("tree_after", enc, v.TreeAfter)
		chk.Bytes("tree_hash_after", after.TreeHash(), v.TreeHashAfter)
		// The operation must not have changed the input tree.
		chk.Bytes("tree_hash_before (after operation)", before.TreeHash(), v.TreeHashBefore)
		encBefore, err := before.MarshalRatchetTree()
		chk.Err("tree_before re-encode", err)
		chk.Bytes("tree_before re-encode", encBefore, v.TreeBefore)
		// A fresh decode of tree_after has the same hash as the
		// incrementally rehashed tree.
		if fresh, err := core.ParseRatchetTree(code(cs), v.TreeAfter, 0); err != nil {
			chk.Err("tree_after decode", err)
		} else {
			chk.Bytes("tree_hash_after (cold)", fresh.TreeHash(), v.TreeHashAfter)
		}
		return chk.Result()
	})
}

type treeKEMVector struct {
	CipherSuite             uint16      `json:"cipher_suite"`
	GroupID                 vectors.Hex `json:"group_id"`
	Epoch                   uint64      `json:"epoch"`
	ConfirmedTranscriptHash vectors.Hex `json:"confirmed_transcript_hash"`
	RatchetTree             vectors.Hex `json:"ratchet_tree"`
	LeavesPrivate           []struct {
		Index          uint32      `json:"index"`
		EncryptionPriv vectors.Hex `json:"encryption_priv"`
		SignaturePriv  vectors.Hex `json:"signature_priv"`
		PathSecrets    []struct {
			Node       uint32      `json:"node"`
			PathSecret vectors.Hex `json:"path_secret"`
		} `json:"path_secrets"`
	} `json:"leaves_private"`
	UpdatePaths []struct {
		Sender        uint32        `json:"sender"`
		UpdatePath    vectors.Hex   `json:"update_path"`
		PathSecrets   []vectors.Hex `json:"path_secrets"`
		CommitSecret  vectors.Hex   `json:"commit_secret"`
		TreeHashAfter vectors.Hex   `json:"tree_hash_after"`
	} `json:"update_paths"`
}

// runTreeKEMVectors checks treekem.json (test-vectors.md, "TreeKEM"): the
// private states are consistent with the tree; every update_path merges
// (parent hashes and signature valid) into a tree with tree_hash_after and
// every other member decrypts path_secrets[j] and commit_secret from it;
// then a fresh UpdatePath generated for the same sender is processed by
// every other member to the same commit secret.
func runTreeKEMVectors(data []byte) ([]vectors.Case, error) {
	return vectors.Each(data, func(i int, v *treeKEMVector) string {
		return fmt.Sprintf("%s/#%d", vectors.SuiteName(v.CipherSuite), i)
	}, runTreeKEMVector)
}

func runTreeKEMVector(v *treeKEMVector) error {
	cs, err := suite.Get(suite.ID(v.CipherSuite))
	if err != nil {
		return err
	}
	tree, err := core.ParseRatchetTree(code(cs), v.RatchetTree, 0)
	if err != nil {
		return fmt.Errorf("ratchet_tree: %w", err)
	}
	var chk vectors.Check
	chk.Err("ratchet_tree validate", tree.Validate(core.TreeValidation{GroupID: v.GroupID}))
	privs := map[core.LeafIndex]*core.TreePrivate{}
	sigPrivs := map[core.LeafIndex][]byte{}
	for _, lp := range v.LeavesPrivate {
		l := core.LeafIndex(lp.Index)
		p, err := core.NewTreePrivate(code(cs), l, lp.EncryptionPriv)
		if err != nil {
			return fmt.Errorf("leaves_private[%d].encryption_priv: %w", l, err)
		}
		for _, ps := range lp.PathSecrets {
			if p, err = p.WithPathSecret(code(cs), core.NodeIndex(ps.Node), ps.PathSecret); err != nil {
				return fmt.Errorf("leaves_private[%d].path_secrets: %w", l, err)
			}
		}
		chk.Err(fmt.Sprintf("leaves_private[%d] consistent with ratchet_tree", l), p.Check(tree))
		if ln := tree.Leaf(l); ln == nil {
			chk.Err(fmt.Sprintf("leaves_private[%d]", l), fmt.Errorf("leaf is blank"))
		} else {
			pub, err := cs.SignaturePublicKey(lp.SignaturePriv)
			chk.Err(fmt.Sprintf("leaves_private[%d].signature_priv", l), err)
			chk.Bytes(fmt.Sprintf("leaves_private[%d].signature_priv public key", l), pub, ln.SignatureKey)
		}
		privs[l] = p
		sigPrivs[l] = lp.SignaturePriv
	}
	groupContext := func(treeHash []byte) []byte {
		gc := core.GroupContext{
			Version: core.ProtocolVersionMLS10, CipherSuite: code(cs), GroupID: v.GroupID, Epoch: v.Epoch,
			TreeHash: treeHash, ConfirmedTranscriptHash: v.ConfirmedTranscriptHash, Extensions: core.Extensions{},
		}
		enc, err := gc.Marshal()
		if err != nil {
			panic(err) // built from valid fields
		}
		return enc
	}
	for k, upv := range v.UpdatePaths {
		sender := core.LeafIndex(upv.Sender)
		name := fmt.Sprintf("update_paths[%d]", k)
		var up core.UpdatePath
		if err := up.Unmarshal(upv.UpdatePath); err != nil {
			chk.Err(name+".update_path", err)
			continue
		}
		merged, err := tree.MergeUpdatePath(sender, &up, v.GroupID)
		if err != nil {
			chk.Err(name+" merge", err)
			continue
		}
		chk.Bytes(name+".tree_hash_after", merged.TreeHash(), upv.TreeHashAfter)
		chk.Err(name+" merged tree parent hashes", merged.VerifyParentHashes())
		gc := groupContext(merged.TreeHash())
		for j := range core.LeafIndex(tree.NumLeaves()) {
			if j == sender || tree.Leaf(j) == nil {
				continue
			}
			var want []byte
			if int(j) < len(upv.PathSecrets) {
				want = upv.PathSecrets[j]
			}
			np, commit, ps, err := merged.DecryptUpdatePathSecret(privs[j], sender, &up, gc, nil, 0)
			if err != nil {
				chk.Err(fmt.Sprintf("%s leaf %d", name, j), err)
				continue
			}
			chk.Bytes(fmt.Sprintf("%s.path_secrets[%d]", name, j), ps, want)
			chk.Bytes(fmt.Sprintf("%s.commit_secret (leaf %d)", name, j), commit, upv.CommitSecret)
			chk.Err(fmt.Sprintf("%s leaf %d private state after", name, j), np.Check(merged))
		}

		// A new UpdatePath from the same sender, processed by everyone.
		pending, err := tree.GenerateUpdatePath(nil, sender, *tree.Leaf(sender), sigPrivs[sender], v.GroupID)
		if err != nil {
			chk.Err(name+" new update path", err)
			continue
		}
		chk.Err(name+" new path private state", pending.Private().Check(pending.Tree()))
		newUp, err := pending.Encrypt(nil, groupContext(pending.Tree().TreeHash()), nil)
		if err != nil {
			chk.Err(name+" new update path encrypt", err)
			continue
		}
		wire, err := newUp.Marshal()
		chk.Err(name+" new update path encode", err)
		var decoded core.UpdatePath
		chk.Err(name+" new update path decode", decoded.Unmarshal(wire))
		merged2, err := tree.MergeUpdatePath(sender, &decoded, v.GroupID)
		if err != nil {
			chk.Err(name+" new update path merge", err)
			continue
		}
		chk.Bytes(name+" new update path tree hash", merged2.TreeHash(), pending.Tree().TreeHash())
		gc2 := groupContext(merged2.TreeHash())
		for j := range core.LeafIndex(tree.NumLeaves()) {
			if j == sender || tree.Leaf(j) == nil {
				continue
			}
			_, commit, err := merged2.DecryptUpdatePath(privs[j], sender, &decoded, gc2, nil)
			chk.Err(fmt.Sprintf("%s new path leaf %d", name, j), err)
			chk.Bytes(fmt.Sprintf("%s new path commit_secret (leaf %d)", name, j), commit, pending.CommitSecret())
		}
	}
	return chk.Result()
}
