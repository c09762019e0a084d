package core

import (
	"bytes"
	crand "crypto/rand"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync/atomic"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/codec"
	"github.com/mlslab/mlslab/mls/internal/suite"
	"github.com/mlslab/mlslab/mls/treemath"
)

// TreeKEM (RFC 9420, Sections 7.4-7.6): UpdatePath creation, merging and
// decryption, and a member's private view of the tree.

// HPKECiphertext is an HPKE encryption (RFC 9420, Section 7.6).
//
//	struct {
//	    opaque kem_output<V>;
//	    opaque ciphertext<V>;
//	} HPKECiphertext;
type HPKECiphertext struct {
	KEMOutput  []byte
	Ciphertext []byte
}

func (v *HPKECiphertext) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, v.KEMOutput)
	codec.AddOpaque(b, v.Ciphertext)
}

func (v *HPKECiphertext) unmarshal(s *cryptobyte.String) error {
	var err error
	if v.KEMOutput, err = readOpaqueMin(s, minKEMOutput); err != nil {
		return codec.Errorf("HPKECiphertext.kem_output", err)
	}
	if v.Ciphertext, err = readOpaqueMin(s, minAEADCiphertext); err != nil {
		return codec.Errorf("HPKECiphertext.ciphertext", err)
	}
	return nil
}

// skipHPKECiphertext steps over one HPKECiphertext.
func skipHPKECiphertext(s *cryptobyte.String) error {
	if _, err := codec.ReadVector(s); err != nil {
		return err
	}
	_, err := codec.ReadVector(s)
	return err
}

// minHPKECiphertext is the shortest HPKECiphertext encoding the decoder
// accepts: two one-octet length prefixes, a KEM output and an AEAD tag.
const minHPKECiphertext = 2 + minKEMOutput + minAEADCiphertext

// UpdatePathNode is one node of an UpdatePath (RFC 9420, Section 7.6).
//
//	struct {
//	    HPKEPublicKey encryption_key;
//	    HPKECiphertext encrypted_path_secret<V>;
//	} UpdatePathNode;
type UpdatePathNode struct {
	EncryptionKey       []byte
	EncryptedPathSecret []HPKECiphertext
}

func (v *UpdatePathNode) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, v.EncryptionKey)
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for i := range v.EncryptedPathSecret {
			v.EncryptedPathSecret[i].marshal(b)
		}
	})
}

func (v *UpdatePathNode) unmarshal(s *cryptobyte.String) error {
	return v.unmarshalMax(s, maxPathCiphertexts)
}

// unmarshalMax decodes an UpdatePathNode with at most max ciphertexts.
func (v *UpdatePathNode) unmarshalMax(s *cryptobyte.String, max int) error {
	var err error
	if v.EncryptionKey, err = readOpaqueMin(s, minPublicKey); err != nil {
		return codec.Errorf("UpdatePathNode.encryption_key", err)
	}
	v.EncryptedPathSecret, err = readVecCounted(s, max, minHPKECiphertext, skipHPKECiphertext, (*HPKECiphertext).unmarshal)
	if err != nil {
		return codec.Errorf("UpdatePathNode.encrypted_path_secret", err)
	}
	return nil
}

// UpdatePath is the path a committer sends in a Commit (RFC 9420, Section
// 7.6).
//
//	struct {
//	    LeafNode leaf_node;
//	    UpdatePathNode nodes<V>;
//	} UpdatePath;
type UpdatePath struct {
	LeafNode LeafNode
	Nodes    []UpdatePathNode
}

func (v *UpdatePath) marshal(b *cryptobyte.Builder) {
	v.LeafNode.marshal(b)
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for i := range v.Nodes {
			v.Nodes[i].marshal(b)
		}
	})
}

func (v *UpdatePath) unmarshal(s *cryptobyte.String) error {
	if err := v.LeafNode.unmarshal(s); err != nil {
		return codec.Errorf("UpdatePath", err)
	}
	// maxPathCiphertexts bounds the ciphertexts of the whole path, counted
	// while reading: each node may only use what the previous ones left.
	left := maxPathCiphertexts
	var err error
	v.Nodes, err = readVec(s, maxPathNodes, 2, func(n *UpdatePathNode, s *cryptobyte.String) error {
		if err := n.unmarshalMax(s, left); err != nil {
			return err
		}
		left -= len(n.EncryptedPathSecret)
		return nil
	})
	if err != nil {
		return codec.Errorf("UpdatePath.nodes", err)
	}
	return nil
}

// Marshal returns the encoding of the UpdatePath.
func (v *UpdatePath) Marshal() ([]byte, error) { return codec.Encode(v.marshal) }

// Unmarshal decodes an UpdatePath, rejecting trailing bytes.
func (v *UpdatePath) Unmarshal(data []byte) error { return codec.Decode(data, v.unmarshal) }

// PathSecret carries a path secret in GroupSecrets (RFC 9420, Section
// 12.4.3.1).
//
//	struct { opaque path_secret<V>; } PathSecret;
type PathSecret struct {
	PathSecret []byte
}

func (v *PathSecret) marshal(b *cryptobyte.Builder) { codec.AddOpaque(b, v.PathSecret) }

func (v *PathSecret) unmarshal(s *cryptobyte.String) error {
	var err error
	if v.PathSecret, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("PathSecret.path_secret", err)
	}
	return nil
}

// Rules named by TreeKEM errors.
const (
	ruleUpdatePathLength = "RFC 9420 §7.6 one UpdatePathNode per filtered direct path node"
	ruleUpdatePathCTs    = "RFC 9420 §7.6 one ciphertext per copath resolution node"
	ruleUpdatePathLeaf   = "RFC 9420 §12.4.2 UpdatePath leaf_node_source is commit"
	ruleUpdatePathNewKey = "RFC 9420 §12.4.2 committer's encryption_key changes"
	ruleUpdatePathKeys   = "RFC 9420 §7.5 derived public key equals the UpdatePath's"
	ruleUpdatePathDecr   = "RFC 9420 §7.5 decrypt the path secret"
	ruleUpdatePathSender = "RFC 9420 §7.5 committer is a non-blank leaf"
	rulePrivateState     = "RFC 9420 §4.2 private key matches the tree's public key"
)

// privKey is one private HPKE key a member holds, with its public key.
type privKey struct {
	node      NodeIndex
	priv, pub []byte
	// owner is shared by every TreePrivate that holds this key (versions
	// derived with with() copy the pointer). nil, or an owner marked
	// shared, means the key's buffer may be referenced outside the Group
	// that holds it, so it is never overwritten (see eraseDropped).
	owner *keyOwner
}

// keyOwner records whether a private key buffer left the Groups that hold
// it (Group.TreePrivate, Clone, PendingCommit.NextGroup, RestoreGroup).
type keyOwner struct{ shared atomic.Bool }

// ownedKey returns a privKey whose buffer priv belongs to the package.
func ownedKey(x NodeIndex, priv, pub []byte) privKey {
	return privKey{node: x, priv: priv, pub: pub, owner: &keyOwner{}}
}

// markShared records that p's key buffers are reachable from outside the
// Groups holding p: they are never overwritten from now on, by any
// TreePrivate holding them.
func (p *TreePrivate) markShared() {
	if p == nil {
		return
	}
	for _, k := range p.keys {
		if k.owner != nil {
			k.owner.shared.Store(true)
		}
	}
}

// eraseDropped overwrites with zeros the private keys p holds that next
// does not (replaced or blanked by the commit that moves p's Group to
// next: its old leaf key after an Update or own path, old path keys;
// RFC 9420, Sections 9.2, 16.6) and that never left the package.
func (p *TreePrivate) eraseDropped(next *TreePrivate) {
	if p == nil || p == next {
		return
	}
	for _, k := range p.keys {
		if k.owner == nil || k.owner.shared.Load() || len(k.priv) == 0 {
			continue
		}
		if next != nil {
			if nk := next.find(k.node); nk != nil && nk.owner == k.owner {
				continue
			}
		}
		clear(k.priv)
	}
}

// TreePrivate is one member's private view of the ratchet tree (RFC 9420,
// Section 4.2): its leaf index and the HPKE private keys it holds — its
// leaf's and those of parent nodes on its direct path. It is O(log n) in
// size, separate from the shared public tree, and immutable: updates return
// a new value.
type TreePrivate struct {
	leaf LeafIndex
	keys []privKey // sorted by node
}

// NewTreePrivate returns the private state of the member at leaf holding
// the leaf's HPKE private key.
func NewTreePrivate(cs CipherSuite, leaf LeafIndex, leafPriv []byte) (*TreePrivate, error) {
	s, err := lookupSuite(cs)
	if err != nil {
		return nil, err
	}
	return newTreePrivate(s, leaf, leafPriv)
}

// newTreePrivate is NewTreePrivate for a suite already looked up.
func newTreePrivate(cs *suite.Suite, leaf LeafIndex, leafPriv []byte) (*TreePrivate, error) {
	pub, err := cs.HPKEPublicKey(leafPriv)
	if err != nil {
		return nil, err
	}
	return &TreePrivate{leaf: leaf, keys: []privKey{ownedKey(leaf.Node(), bytes.Clone(leafPriv), pub)}}, nil
}

// Leaf returns the member's leaf index.
func (p *TreePrivate) Leaf() LeafIndex { return p.leaf }

// Nodes returns the nodes whose private key p holds, in increasing order.
func (p *TreePrivate) Nodes() []NodeIndex {
	out := make([]NodeIndex, len(p.keys))
	for i, k := range p.keys {
		out[i] = k.node
	}
	return out
}

// PrivateKey returns the HPKE private key p holds for node x, nil if none.
// The result must not be modified.
func (p *TreePrivate) PrivateKey(x NodeIndex) []byte {
	if k := p.find(x); k != nil {
		return k.priv
	}
	return nil
}

func (p *TreePrivate) find(x NodeIndex) *privKey {
	i, ok := slices.BinarySearchFunc(p.keys, x, func(k privKey, x NodeIndex) int { return int(k.node) - int(x) })
	if !ok {
		return nil
	}
	return &p.keys[i]
}

// with returns a copy of p with keys set (replacing existing entries for
// the same nodes) and the nodes of drop removed.
func (p *TreePrivate) with(set []privKey, drop func(NodeIndex) bool) *TreePrivate {
	out := &TreePrivate{leaf: p.leaf}
	for _, k := range p.keys {
		if drop != nil && drop(k.node) {
			continue
		}
		if slices.ContainsFunc(set, func(s privKey) bool { return s.node == k.node }) {
			continue
		}
		out.keys = append(out.keys, k)
	}
	out.keys = append(out.keys, set...)
	slices.SortFunc(out.keys, func(a, b privKey) int { return int(a.node) - int(b.node) })
	return out
}

// nodeKeyPair derives the key pair of a node from its path secret
// (node_secret = DeriveSecret(path_secret, "node"), RFC 9420, Section
// 7.4) and wipes node_secret afterwards: DeriveKeyPair copies what it
// keeps (for ML-KEM the private key is node_secret itself).
func nodeKeyPair(cs *suite.Suite, pathSecret []byte) (priv, pub []byte, err error) {
	ns := cs.DeriveSecret(pathSecret, "node")
	defer clear(ns)
	return cs.DeriveKeyPair(ns)
}

// WithPathSecret returns p plus the key pair of node x derived from
// pathSecret (node_secret = DeriveSecret(path_secret, "node"), RFC 9420,
// Section 7.4).
func (p *TreePrivate) withPathSecret(cs *suite.Suite, x NodeIndex, pathSecret []byte) (*TreePrivate, error) {
	priv, pub, err := nodeKeyPair(cs, pathSecret)
	if err != nil {
		return nil, err
	}
	return p.with([]privKey{ownedKey(x, priv, pub)}, nil), nil
}

// Check verifies that p is consistent with t (RFC 9420, Section 4.2): the
// leaf is in the tree and every node p holds a key for is non-blank, holds
// the matching public key, and is the member's leaf or on its direct path.
func (p *TreePrivate) Check(t *RatchetTree) error {
	for _, k := range p.keys {
		if !t.inTree(k.node) || !treemath.InSubtree(p.leaf.Node(), k.node) {
			return nodeErr(CodeInvalidTree, rulePrivateState, uint32(k.node), "node is not the leaf or on its direct path", nil)
		}
		if pub := t.at(k.node).encryptionKey(); pub == nil || !bytes.Equal(pub, k.pub) {
			return nodeErr(CodeInvalidTree, rulePrivateState, uint32(k.node), "public key differs", nil)
		}
	}
	return nil
}

// Prune returns p without the keys of nodes that t no longer holds with
// the same public key (blanked or replaced by a later epoch).
func (p *TreePrivate) Prune(t *RatchetTree) *TreePrivate {
	return p.with(nil, func(x NodeIndex) bool {
		if !t.inTree(x) {
			return true
		}
		pub := t.at(x).encryptionKey()
		return pub == nil || !bytes.Equal(pub, p.find(x).pub)
	})
}

// deriveNodeKeys derives the key pairs for the path secrets, in parallel.
func deriveNodeKeys(cs *suite.Suite, secrets [][]byte, par int) (privs, pubs [][]byte, err error) {
	privs = make([][]byte, len(secrets))
	pubs = make([][]byte, len(secrets))
	err = parallelRange(par, len(secrets), 1, func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			var err error
			if privs[i], pubs[i], err = nodeKeyPair(cs, secrets[i]); err != nil {
				return err
			}
		}
		return nil
	})
	return privs, pubs, err
}

// PendingUpdatePath is a committer's UpdatePath between its two phases
// (RFC 9420, Sections 7.4-7.6, 12.4.1):
//
//  1. RatchetTree.GenerateUpdatePath derives the path secrets and key
//     pairs, computes the parent hashes, signs the new leaf and merges the
//     path into a new tree;
//  2. the caller computes the provisional GroupContext, whose tree_hash is
//     Tree().TreeHash(), and calls Encrypt with its encoding to get the
//     UpdatePath to send.
type PendingUpdatePath struct {
	cs           *suite.Suite
	tree         *RatchetTree
	sender       LeafIndex
	path, copath []NodeIndex
	secrets      [][]byte // path_secret[i] for path[i]
	leaf         *LeafNode
	pubs         [][]byte
	priv         *TreePrivate
	commitSecret []byte
}

// erase overwrites the path secrets and the commit secret once the commit
// is built (RFC 9420, Sections 7.5, 9.2). The node private keys (in
// Private) are separate buffers and stay.
func (p *PendingUpdatePath) erase() {
	for _, s := range p.secrets {
		clear(s)
	}
	clear(p.commitSecret)
}

// GenerateUpdatePath is phase 1 of creating an UpdatePath for the member
// at sender (RFC 9420, Sections 7.4, 7.5, 7.9). t is the tree after the
// commit's proposals. leaf is the template of the committer's new LeafNode:
// its signature key, credential, capabilities and extensions are kept;
// encryption_key, leaf_node_source (commit), parent_hash and signature are
// set here. sigPriv signs it with groupID as context. rand supplies the
// leaf secret (nil = crypto/rand).
//
// The path-secret chain is derived sequentially; the node key pairs in
// parallel. The receiver t is unchanged.
func (t *RatchetTree) GenerateUpdatePath(rand io.Reader, sender LeafIndex, leaf LeafNode, sigPriv, groupID []byte) (*PendingUpdatePath, error) {
	return t.generateUpdatePath(rand, sender, leaf, sigPriv, groupID, 0)
}

func (t *RatchetTree) generateUpdatePath(rnd io.Reader, sender LeafIndex, leaf LeafNode, sigPriv, groupID []byte, par int) (*PendingUpdatePath, error) {
	k, err := t.cs.NewSigner(sigPriv)
	if err != nil {
		return nil, err
	}
	return t.generateUpdatePathSigner(rnd, sender, leaf, k, groupID, par)
}

// generateUpdatePathSigner is generateUpdatePath with a parsed signature key.
func (t *RatchetTree) generateUpdatePathSigner(rnd io.Reader, sender LeafIndex, leaf LeafNode, sig *suite.Signer, groupID []byte, par int) (*PendingUpdatePath, error) {
	ch, err := t.pathChain(rnd, sender)
	if err != nil {
		return nil, err
	}
	privs, pubs, err := deriveNodeKeys(t.cs, ch.secrets, par)
	if err != nil {
		return nil, err
	}
	return t.finishPath(ch, leaf, sig, groupID, privs, pubs)
}

// pathChain is the start of an UpdatePath for the member at sender (RFC
// 9420, Section 7.4): its filtered direct path and copath, the leaf secret
// read from rnd (Nh bytes; nil means crypto/rand) and the path secrets
// derived from it.
type pathChain struct {
	sender       LeafIndex
	path, copath []NodeIndex
	secrets      [][]byte // leaf_secret, then path_secret[i] for path[i]
	commitSecret []byte
}

func (t *RatchetTree) pathChain(rnd io.Reader, sender LeafIndex) (*pathChain, error) {
	cs := t.cs
	if t.Leaf(sender) == nil {
		return nil, nodeErr(CodeInvalidCommit, ruleUpdatePathSender, uint32(sender.Node()), "", nil)
	}
	path, copath := t.filteredPath(sender)
	leafSecret := make([]byte, cs.Nh())
	if rnd == nil {
		rnd = crand.Reader
	}
	if _, err := io.ReadFull(rnd, leafSecret); err != nil {
		return nil, fmt.Errorf("mls: reading randomness: %w", err)
	}
	// secrets[0] = leaf_secret, then path_secret[0..n-1] (Section 7.4).
	secrets := make([][]byte, len(path)+1)
	secrets[0] = leafSecret
	next := cs.DeriveSecret(leafSecret, "path")
	for i := range path {
		secrets[i+1] = next
		next = cs.DeriveSecret(next, "path")
	}
	return &pathChain{sender: sender, path: path, copath: copath, secrets: secrets, commitSecret: next}, nil
}

// finishPath completes phase 1 once the node key pairs of ch.secrets are
// derived: the parent hashes, the committer's signed LeafNode (RFC 9420,
// Sections 7.5, 7.9) and the merged tree.
func (t *RatchetTree) finishPath(ch *pathChain, leaf LeafNode, sig *suite.Signer, groupID []byte, privs, pubs [][]byte) (*PendingUpdatePath, error) {
	sender, path := ch.sender, ch.path
	h := newHasher(t.cs)
	fields, leafPH := t.pathParentHashes(h, ch.copath, pubs[1:])
	ln := leaf
	ln.EncryptionKey = pubs[0]
	ln.Source = LeafNodeSourceCommit
	ln.Lifetime = Lifetime{}
	ln.ParentHash = leafPH
	if err := ln.sign(sig, groupID, sender); err != nil {
		return nil, err
	}
	nt, err := t.mergePath(sender, &ln, path, pubs[1:], fields)
	if err != nil {
		return nil, err
	}
	keys := make([]privKey, 0, len(path)+1)
	keys = append(keys, ownedKey(sender.Node(), privs[0], pubs[0]))
	for i, x := range path {
		keys = append(keys, ownedKey(x, privs[i+1], pubs[i+1]))
	}
	priv := &TreePrivate{leaf: sender, keys: keys}
	priv.keys = priv.with(nil, nil).keys // sort
	return &PendingUpdatePath{
		cs: t.cs, tree: nt, sender: sender, path: path, copath: ch.copath,
		secrets: ch.secrets[1:], leaf: &ln, pubs: pubs[1:], priv: priv, commitSecret: ch.commitSecret,
	}, nil
}

// mergePath blanks sender's direct path, sets the filtered path nodes to
// the given keys and parent hashes with no unmerged leaves, and sets the
// leaf (RFC 9420, Section 7.5).
func (t *RatchetTree) mergePath(sender LeafIndex, leaf *LeafNode, path []NodeIndex, keys, fields [][]byte) (*RatchetTree, error) {
	e := t.edit()
	e.blankDirectPath(sender)
	for i, x := range path {
		e.set(x, Node{Parent: &ParentNode{EncryptionKey: keys[i], ParentHash: fields[i], UnmergedLeaves: []LeafIndex{}}})
	}
	e.set(sender.Node(), Node{Leaf: leaf})
	return e.finish()
}

// Tree returns the tree with the path merged (its TreeHash goes into the
// provisional GroupContext).
func (p *PendingUpdatePath) Tree() *RatchetTree { return p.tree }

// LeafNode returns the committer's new signed LeafNode.
func (p *PendingUpdatePath) LeafNode() *LeafNode { return p.leaf }

// Private returns the committer's private state after the commit.
func (p *PendingUpdatePath) Private() *TreePrivate { return p.priv }

// CommitSecret returns the commit_secret (RFC 9420, Section 12.4.2): the
// path secret one step past the last node of the filtered direct path.
func (p *PendingUpdatePath) CommitSecret() []byte { return p.commitSecret }

// FilteredDirectPath returns the committer's filtered direct path.
func (p *PendingUpdatePath) FilteredDirectPath() []NodeIndex { return slices.Clone(p.path) }

// PathSecretFor returns the path secret a new member at joiner receives in
// its Welcome (RFC 9420, Section 12.4.3.1): that of the lowest node of the
// committer's filtered direct path that is an ancestor of joiner.
func (p *PendingUpdatePath) PathSecretFor(joiner LeafIndex) (NodeIndex, []byte, bool) {
	for i, x := range p.path {
		if treemath.InSubtree(joiner.Node(), x) {
			return x, p.secrets[i], true
		}
	}
	return 0, nil, false
}

// sealTask is one HPKE encryption of path_secret[i] to resolution node
// key.
type sealTask struct {
	i   int
	key []byte
	rnd io.Reader
}

// Encrypt is phase 2: it encrypts each path secret to every node of the
// resolution of the corresponding copath child, leaving out the leaves in
// exclude (members added by the same commit, RFC 9420, Sections 7.5, 7.6),
// with EncryptWithLabel(key, "UpdatePathNode", groupContext, path_secret).
// groupContext is the encoded provisional GroupContext. All encryptions run
// in parallel; with a non-nil rand each one draws a 32-byte seed from rand
// in a fixed order, so the output is reproducible.
func (p *PendingUpdatePath) Encrypt(rand io.Reader, groupContext []byte, exclude []LeafIndex) (*UpdatePath, error) {
	return p.encrypt(rand, groupContext, exclude, 0)
}

func (p *PendingUpdatePath) encrypt(rnd io.Reader, groupContext []byte, exclude []LeafIndex, par int) (*UpdatePath, error) {
	tasks, counts, err := planSeals(p.tree, rnd, p.copath, exclude)
	if err != nil {
		return nil, err
	}
	cts := make([]HPKECiphertext, len(tasks))
	err = parallelRange(par, len(tasks), 1, func(lo, hi int) error {
		for k := lo; k < hi; k++ {
			task := tasks[k]
			// A nil reader means crypto/rand (safe for concurrent use).
			kem, ct, err := p.cs.EncryptWithLabel(task.rnd, task.key, "UpdatePathNode", groupContext, p.secrets[task.i])
			if err != nil {
				return err
			}
			cts[k] = HPKECiphertext{KEMOutput: kem, Ciphertext: ct}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p.assemble(counts, cts), nil
}

// planSeals lists the HPKE encryptions of an UpdatePath (RFC 9420,
// Section 7.6): for each copath node, in order, one per node of its
// resolution in t leaving out exclude, and counts[i] of them for node i.
// With a non-nil rnd each task draws a 32-byte seed from rnd, in that
// order, so the output is reproducible whatever order the encryptions run
// in. t may be the tree before or after the path is merged: the merge
// changes only the committer's leaf and direct path, which lie outside
// every copath subtree.
func planSeals(t *RatchetTree, rnd io.Reader, copath []NodeIndex, exclude []LeafIndex) (tasks []sealTask, counts []int, err error) {
	ex := newLeafSet(exclude)
	var res []NodeIndex
	counts = make([]int, len(copath))
	for i, c := range copath {
		res = t.appendResolutionSet(res[:0], c, ex)
		counts[i] = len(res)
		for _, y := range res {
			task := sealTask{i: i, key: t.at(y).encryptionKey()}
			if rnd != nil {
				var seed [32]byte
				if _, err := io.ReadFull(rnd, seed[:]); err != nil {
					return nil, nil, fmt.Errorf("mls: reading randomness: %w", err)
				}
				task.rnd = chachaReader(seed)
			}
			tasks = append(tasks, task)
		}
	}
	return tasks, counts, nil
}

// assemble builds the UpdatePath from the ciphertexts of planSeals' tasks.
func (p *PendingUpdatePath) assemble(counts []int, cts []HPKECiphertext) *UpdatePath {
	up := &UpdatePath{LeafNode: *p.leaf, Nodes: make([]UpdatePathNode, len(p.path))}
	k := 0
	for i := range up.Nodes {
		up.Nodes[i] = UpdatePathNode{EncryptionKey: p.pubs[i], EncryptedPathSecret: cts[k : k+counts[i] : k+counts[i]]}
		k += counts[i]
	}
	return up
}

// createUpdatePath is generateUpdatePathSigner followed by encrypt, with
// the HPKE encapsulations overlapped with the rest of phase 1. The
// encryption of a path secret needs the provisional GroupContext
// (EncryptWithLabel's context, RFC 9420, Sections 5.1.3, 7.6), whose
// tree_hash covers the committer's signed leaf; the KEM encapsulation to
// each resolution node does not (RFC 9180, Section 5.1: Encap depends on
// the recipient key and the ephemeral seed only). So:
//
//  1. read the leaf secret and derive the path secrets; draw the
//     encapsulation seeds (the same reads, in the same order, as
//     generateUpdatePathSigner then encrypt);
//  2. on workers(par) goroutines, derive the node key pairs, then
//     encapsulate to every resolution node; as soon as the key pairs are
//     ready the calling goroutine computes the parent hashes, signs the
//     leaf, merges the path and calls provisional with the merged tree
//     (the encoded provisional GroupContext), then joins the
//     encapsulations;
//  3. run the key schedule and AEAD seal of each encryption (cheap); an
//     encapsulation finished after step 2 had the context is sealed by the
//     worker that made it.
//
// With one worker the steps run in the calling goroutine, in order. The
// result is byte for byte that of the two phases with the same reader.
func (t *RatchetTree) createUpdatePath(rnd io.Reader, sender LeafIndex, leaf LeafNode, sig *suite.Signer, groupID []byte, exclude []LeafIndex, provisional func(*RatchetTree) ([]byte, error), par int) (*PendingUpdatePath, *UpdatePath, error) {
	cs := t.cs
	ch, err := t.pathChain(rnd, sender)
	if err != nil {
		return nil, nil, err
	}
	tasks, counts, err := planSeals(t, rnd, ch.copath, exclude)
	if err != nil {
		return nil, nil, err
	}
	nk := len(ch.secrets)
	privs := make([][]byte, nk)
	pubs := make([][]byte, nk)
	kems := make([][]byte, len(tasks))
	shared := make([][]byte, len(tasks)) // KEM shared secrets not yet sealed
	cts := make([]HPKECiphertext, len(tasks))
	var sealer atomic.Pointer[suite.LabeledSealer] // set once the context is known
	seal := func(ls *suite.LabeledSealer, k int) error {
		ss := shared[k]
		shared[k] = nil
		ct, err := ls.SealWithSecret(ss, ch.secrets[tasks[k].i+1])
		if err != nil {
			return err
		}
		cts[k] = HPKECiphertext{KEMOutput: kems[k], Ciphertext: ct}
		return nil
	}
	var pending *PendingUpdatePath
	err = parallelOverlap(par, nk+len(tasks), nk, func(j int) error {
		if j < nk {
			var err error
			privs[j], pubs[j], err = nodeKeyPair(cs, ch.secrets[j])
			return err
		}
		k := j - nk
		var err error
		// A nil reader means crypto/rand (safe for concurrent use).
		if kems[k], shared[k], err = cs.Encap(tasks[k].rnd, tasks[k].key); err != nil {
			return err
		}
		if ls := sealer.Load(); ls != nil {
			return seal(ls, k)
		}
		return nil
	}, func() error {
		var err error
		if pending, err = t.finishPath(ch, leaf, sig, groupID, privs, pubs); err != nil {
			return err
		}
		gc, err := provisional(pending.tree)
		if err != nil {
			return err
		}
		sealer.Store(cs.NewLabeledSealer("UpdatePathNode", gc))
		return nil
	})
	if err == nil {
		// The encapsulations that finished before the context was known.
		ls := sealer.Load()
		err = parallelRange(par, len(tasks), 8, func(lo, hi int) error {
			for k := lo; k < hi; k++ {
				if shared[k] != nil {
					if err := seal(ls, k); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	if err != nil {
		for _, ss := range shared {
			clear(ss)
		}
		for _, s := range ch.secrets {
			clear(s)
		}
		clear(ch.commitSecret)
		for _, k := range privs {
			clear(k)
		}
		return nil, nil, err
	}
	clear(ch.secrets[0]) // the leaf secret, consumed by the leaf's key pair
	return pending, pending.assemble(counts, cts), nil
}

// chachaReader returns a deterministic stream seeded by seed.
func chachaReader(seed [32]byte) io.Reader { return rand.NewChaCha8(seed) }

// MergeUpdatePath is the receiver's first step for a Commit with a path
// (RFC 9420, Sections 7.5, 12.4.2): t is the tree after the commit's
// proposals. It checks that sender is a non-blank leaf, that the path has
// one node per filtered direct path node, that the new leaf has source
// commit, a new encryption key, its credential type and extensions in its
// capabilities and a valid signature (groupID context), that the path's
// keys are pairwise distinct, and that the leaf's parent_hash equals the
// parent hash computed from the path; then it returns the merged tree. The
// new tree references path's LeafNode and key bytes: do not modify path
// afterwards. Checking that the path's keys appear nowhere else in the tree
// (Section 12.4.2) is left to the caller (ContainsEncryptionKey) because it
// is linear in the tree size.
func (t *RatchetTree) MergeUpdatePath(sender LeafIndex, path *UpdatePath, groupID []byte) (*RatchetTree, error) {
	cs := t.cs
	old := t.Leaf(sender)
	x := uint32(sender.Node())
	if old == nil {
		return nil, nodeErr(CodeInvalidCommit, ruleUpdatePathSender, x, "", nil)
	}
	fpath, copath := t.filteredPath(sender)
	if len(path.Nodes) != len(fpath) {
		return nil, nodeErr(CodeInvalidCommit, ruleUpdatePathLength, x, fmt.Sprintf("%d nodes, filtered direct path has %d", len(path.Nodes), len(fpath)), nil)
	}
	ln := path.LeafNode
	if ln.Source != LeafNodeSourceCommit {
		return nil, nodeErr(CodeInvalidLeafNode, ruleUpdatePathLeaf, x, fmt.Sprintf("source %v", ln.Source), nil)
	}
	if bytes.Equal(ln.EncryptionKey, old.EncryptionKey) {
		return nil, nodeErr(CodeKeyReuse, ruleUpdatePathNewKey, x, "", nil)
	}
	if err := ln.CheckCapabilities(); err != nil {
		pe := err.(*ProtocolError)
		pe.Node, pe.HasNode = x, true
		return nil, pe
	}
	keys := make([][]byte, len(path.Nodes))
	for i := range path.Nodes {
		keys[i] = path.Nodes[i].EncryptionKey
	}
	all := append([][]byte{ln.EncryptionKey}, keys...)
	for i := range all {
		for j := range i {
			if bytes.Equal(all[i], all[j]) {
				return nil, nodeErr(CodeKeyReuse, ruleEncKeyUnique, x, "repeated key in UpdatePath", nil)
			}
		}
	}
	fields, leafPH := t.pathParentHashes(newHasher(cs), copath, keys)
	if !bytes.Equal(ln.ParentHash, leafPH) {
		return nil, nodeErr(CodeParentHash, ruleLeafParentHash, x, "", nil)
	}
	if err := ln.verify(cs, groupID, sender); err != nil {
		return nil, nodeErr(CodeInvalidSignature, ruleLeafSignature, x, "", err)
	}
	return t.mergePath(sender, &ln, fpath, keys, fields)
}

// DecryptUpdatePath is the receiver's second step (RFC 9420, Sections 7.5,
// 12.4.2). t is the merged tree returned by MergeUpdatePath, priv the
// receiver's private state, groupContext the encoded provisional
// GroupContext (tree_hash = t.TreeHash()) and exclude the leaves added by
// the same commit. It checks every node's ciphertext count, decrypts the
// path secret addressed to the receiver, derives the rest of the chain and
// the node key pairs (in parallel), checks each derived public key against
// the path, and returns the receiver's new private state and the
// commit_secret.
func (t *RatchetTree) DecryptUpdatePath(priv *TreePrivate, sender LeafIndex, path *UpdatePath, groupContext []byte, exclude []LeafIndex) (*TreePrivate, []byte, error) {
	np, commit, decrypted, err := t.DecryptUpdatePathSecret(priv, sender, path, groupContext, exclude, 0)
	clear(decrypted) // the decrypted path secret, consumed (RFC 9420, Section 7.5)
	return np, commit, err
}

// DecryptUpdatePathSecret is DecryptUpdatePath that also returns the path
// secret it decrypted (the one of the lowest common ancestor of the sender
// and the receiver): the test-vector check of RFC 9420, Section 7.5. The
// caller owns that secret and should clear it once checked. par bounds the
// goroutines deriving the node key pairs (0 or less: GOMAXPROCS, 1:
// sequential; see workers).
func (t *RatchetTree) DecryptUpdatePathSecret(priv *TreePrivate, sender LeafIndex, path *UpdatePath, groupContext []byte, exclude []LeafIndex, par int) (*TreePrivate, []byte, []byte, error) {
	cs := t.cs
	me := priv.leaf
	if me == sender || uint32(me) >= t.nLeaves || uint32(sender) >= t.nLeaves {
		return nil, nil, nil, fmt.Errorf("mls: DecryptUpdatePath: receiver %d cannot process a path from %d", me, sender)
	}
	fpath, copath := t.filteredPath(sender)
	if len(path.Nodes) != len(fpath) {
		return nil, nil, nil, nodeErr(CodeInvalidCommit, ruleUpdatePathLength, uint32(sender.Node()), "", nil)
	}
	// Every node carries one ciphertext per resolution entry (Section 7.6);
	// find the node whose copath subtree holds the receiver.
	at := -1
	var mine []NodeIndex
	for i, c := range copath {
		// Counting is O(1) per node (cached resolution lengths); only the
		// receiver's own copath resolution is materialized.
		if want := t.resolutionLen(c, exclude); len(path.Nodes[i].EncryptedPathSecret) != want {
			return nil, nil, nil, nodeErr(CodeInvalidCommit, ruleUpdatePathCTs, uint32(fpath[i]), fmt.Sprintf("%d ciphertexts for %d resolution nodes", len(path.Nodes[i].EncryptedPathSecret), want), nil)
		}
		if at < 0 && treemath.InSubtree(me.Node(), c) {
			at = i
			mine = t.appendResolution(nil, c, exclude)
			if len(mine) != len(path.Nodes[i].EncryptedPathSecret) {
				return nil, nil, nil, nodeErr(CodeInvalidCommit, ruleUpdatePathCTs, uint32(fpath[i]), "", nil)
			}
		}
	}
	if at < 0 {
		return nil, nil, nil, fmt.Errorf("mls: DecryptUpdatePath: leaf %d is not below the committer's filtered direct path", me)
	}
	j := -1
	var key *privKey
	for k, y := range mine {
		if pk := priv.find(y); pk != nil && bytes.Equal(pk.pub, t.at(y).encryptionKey()) {
			j, key = k, pk
			break
		}
	}
	if j < 0 {
		return nil, nil, nil, nodeErr(CodeDecrypt, ruleUpdatePathDecr, uint32(fpath[at]), fmt.Sprintf("leaf %d holds no key of the copath resolution", me), nil)
	}
	ct := path.Nodes[at].EncryptedPathSecret[j]
	// key.pub is the public key of key.priv (every privKey is built with
	// the public key derived from its private key: ownedKey after
	// DeriveKeyPair or HPKEPublicKey, TreePrivateFromKeys), and equals the
	// encryption_key of node mine[j] in the tree (checked above), the key
	// the committer encrypted to. DecryptWithLabelKeyPair uses it as pkR
	// instead of recomputing it from key.priv; were the pair ever
	// mismatched, decryption would fail, never return another plaintext
	// (see DecryptWithLabelKeyPair).
	ps, err := cs.DecryptWithLabelKeyPair(key.priv, key.pub, "UpdatePathNode", groupContext, ct.KEMOutput, ct.Ciphertext)
	decrypted := ps
	if err != nil {
		return nil, nil, nil, nodeErr(CodeDecrypt, ruleUpdatePathDecr, uint32(fpath[at]), "", err)
	}
	secrets := make([][]byte, len(fpath)-at)
	for i := range secrets {
		secrets[i] = ps
		ps = cs.DeriveSecret(ps, "path")
	}
	privs, pubs, err := deriveNodeKeys(cs, secrets, par)
	for _, s := range secrets[1:] {
		clear(s) // derived path secrets, consumed (RFC 9420, Section 7.5)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	set := make([]privKey, len(secrets))
	for i := range secrets {
		x := fpath[at+i]
		if !bytes.Equal(pubs[i], path.Nodes[at+i].EncryptionKey) || !bytes.Equal(pubs[i], t.at(x).encryptionKey()) {
			return nil, nil, nil, nodeErr(CodeInvalidCommit, ruleUpdatePathKeys, uint32(x), "", nil)
		}
		set[i] = ownedKey(x, privs[i], pubs[i])
	}
	// Keys of nodes on the committer's direct path are stale (blanked or
	// replaced); drop them, then add the new ones.
	np := priv.with(set, func(y NodeIndex) bool {
		return y != me.Node() && treemath.InSubtree(sender.Node(), y)
	})
	return np, ps, decrypted, nil
}

// WelcomePrivate returns the private state of a new member at leaf me that
// received, in its Welcome, the path secret of node x, the lowest node of
// committer's filtered direct path above me (RFC 9420, Section 12.4.3.1):
// it derives the key pairs of x and of the rest of that path and checks
// them against t. p holds the member's leaf key.
func (p *TreePrivate) WelcomePrivate(t *RatchetTree, committer LeafIndex, pathSecret []byte) (*TreePrivate, error) {
	fpath, _ := t.filteredPath(committer)
	at := -1
	for i, x := range fpath {
		if treemath.InSubtree(p.leaf.Node(), x) {
			at = i
			break
		}
	}
	if at < 0 {
		return nil, fmt.Errorf("mls: leaf %d is not below the filtered direct path of %d", p.leaf, committer)
	}
	secrets := make([][]byte, len(fpath)-at)
	for i := range secrets {
		secrets[i] = pathSecret
		pathSecret = t.cs.DeriveSecret(pathSecret, "path")
	}
	privs, pubs, err := deriveNodeKeys(t.cs, secrets, 0)
	if err != nil {
		return nil, err
	}
	set := make([]privKey, len(secrets))
	for i := range secrets {
		x := fpath[at+i]
		if !bytes.Equal(pubs[i], t.at(x).encryptionKey()) {
			return nil, nodeErr(CodeInvalidWelcome, ruleUpdatePathKeys, uint32(x), "", nil)
		}
		set[i] = ownedKey(x, privs[i], pubs[i])
	}
	return p.with(set, nil), nil
}
