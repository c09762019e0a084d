package core

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

// Assembling a member's state from parts: what persistence restores, what a
// state compromise leaks (RFC 9420, Section 16.6), and how a simulator
// materializes a member from the shared state of an epoch.

// TreePrivateFromKeys builds the private tree state of the member at leaf
// from explicit HPKE private keys of nodes (the leaf's among them). Each key
// must be a valid private key of the suite.
func TreePrivateFromKeys(cs CipherSuite, leaf LeafIndex, nodes []NodeIndex, privs [][]byte) (*TreePrivate, error) {
	s, err := suite.Get(suite.ID(cs))
	if err != nil {
		return nil, err
	}
	if len(nodes) != len(privs) {
		return nil, fmt.Errorf("mls: %d nodes but %d private keys", len(nodes), len(privs))
	}
	p := &TreePrivate{leaf: leaf}
	for i, x := range nodes {
		pub, err := s.HPKEPublicKey(privs[i])
		if err != nil {
			return nil, fmt.Errorf("mls: private key of node %d: %w", x, err)
		}
		p.keys = append(p.keys, privKey{node: x, priv: bytes.Clone(privs[i]), pub: pub})
	}
	slices.SortFunc(p.keys, func(a, b privKey) int { return int(a.node) - int(b.node) })
	for i := 1; i < len(p.keys); i++ {
		if p.keys[i].node == p.keys[i-1].node {
			return nil, fmt.Errorf("mls: node %d given twice", p.keys[i].node)
		}
	}
	return p, nil
}

// RestoreGroup assembles a member's Group for the epoch of pub from the
// epoch's secrets and the member's own parts: leaf index, signature private
// key and private tree state. It checks that the leaf is occupied, that
// sigPriv belongs to its signature key, and that priv is consistent with
// the tree (RFC 9420, Section 4.2).
//
// RestoreGroup is for states rebuilt from parts: what a state compromise
// leaks (RFC 9420, Section 16.6) and how a simulator materializes a member.
// It is not persistence: use Group.MarshalState and UnmarshalGroupState,
// which keep the secret tree. The parts do not say which ratchet
// generations the member already used, so the secret tree starts fresh for
// the epoch and the proposal cache is empty, and the returned Group refuses
// to encrypt in this epoch: every send that would produce a PrivateMessage
// (SealApplication, and Propose, ProposeUpdate and Commit with
// Config.EncryptHandshake) fails with ErrSendingLocked, because it would
// reuse the member's generation 0, 1, ... — key/nonce pairs the member may
// already have used (RFC 9420, Section 9.1) and that receivers reject. It
// receives normally, and sends PublicMessages (handshake messages without
// EncryptHandshake); from the next epoch on it sends normally. A caller
// that knows this member has not encrypted anything in the epoch (a
// simulator materializing each member at most once per epoch, or an
// adversary that does not care) calls UnlockSending.
func RestoreGroup(cfg *Config, pub *PublicGroup, keys *EpochSecrets, self LeafIndex, sigPriv []byte, priv *TreePrivate) (*Group, error) {
	if pub == nil || keys == nil || priv == nil {
		return nil, fmt.Errorf("mls: RestoreGroup needs the public state, the epoch secrets and the private tree state")
	}
	ln := pub.tree.Leaf(self)
	if ln == nil {
		return nil, fmt.Errorf("%w: leaf %d is blank", ErrUnknownSender, self)
	}
	if priv.Leaf() != self {
		return nil, fmt.Errorf("mls: private state is for leaf %d, not %d", priv.Leaf(), self)
	}
	signer, err := pub.cs.NewSigner(sigPriv)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(signer.PublicKey(), ln.SignatureKey) {
		return nil, fmt.Errorf("mls: signature key does not match leaf %d", self)
	}
	if err := priv.Check(pub.tree); err != nil {
		return nil, err
	}
	keys.markShared() // the caller's: never erased by g
	priv.markShared()
	g := &Group{cfg: cfg, cs: pub.cs, pub: pub, self: self, sigPriv: sigPriv, signer: signer, priv: priv, keys: keys}
	if err := g.startEpoch(); err != nil {
		return nil, err
	}
	g.sendLocked = true
	return g, nil
}

// ErrSendingLocked is returned when a Group assembled by RestoreGroup would
// encrypt a PrivateMessage in the epoch it was assembled for: its fresh
// secret tree would reuse ratchet generations the member may already have
// used (RFC 9420, Section 9.1). See RestoreGroup and UnlockSending.
var ErrSendingLocked = errors.New("mls: state restored from parts cannot encrypt in its first epoch (its ratchet generations may be used)")

// UnlockSending lets a Group assembled by RestoreGroup encrypt in its
// current epoch. The caller asserts that no other state of this member has
// encrypted anything in this epoch — otherwise the Group reuses AEAD
// key/nonce pairs (RFC 9420, Section 9.1) and receivers reject its
// messages as replays. It has no effect on other Groups.
func (g *Group) UnlockSending() { g.sendLocked = false }

// AdoptPublic replaces g's public state (ratchet tree, group context,
// transcript hash) by pub when the two are equal: the same encoded
// GroupContext (which holds the tree hash and the confirmed transcript
// hash) and the same interim transcript hash. Many members of one group
// that each computed the same epoch (a simulator's receivers, a server
// hosting many clients) can then share one immutable copy instead of
// holding one each. It returns ErrStateMismatch, and leaves g untouched,
// when the states differ.
func (g *Group) AdoptPublic(pub *PublicGroup) error {
	if pub == nil || pub.cs != g.cs || !bytes.Equal(pub.ctxBytes, g.pub.ctxBytes) || !bytes.Equal(pub.interim, g.pub.interim) {
		return ErrStateMismatch
	}
	g.pub = pub
	return nil
}

// RegisterUpdateKey records the leaf private key of an Update proposal this
// member sent (by proposal reference), so that a commit of the proposal
// installs it. ProposeUpdate does this itself; RegisterUpdateKey is for
// states assembled with RestoreGroup.
func (g *Group) RegisterUpdateKey(ref, leafPriv []byte) {
	g.updateKeys[string(ref)] = bytes.Clone(leafPriv)
}

// Clone returns an independent copy of g: the immutable public state and
// epoch secrets are shared, the secret tree, proposal cache, pending
// Update keys and the Config struct are copied, so processing or sending with one copy does not
// affect the other. (A copy that sends must not send in the same epoch as
// the original: both would use the same ratchet generations.)
//
// The copy is a Group value of its own: a PendingCommit created by Commit
// on the copy merges only into the copy, and one created on g only into g
// (Merge returns ErrStalePendingCommit otherwise).
//
// The two copies share the epoch's secrets, so neither overwrites them when
// it moves to the next epoch (see the package documentation, "Erasing
// secrets").
func (g *Group) Clone() *Group {
	g.keys.markShared()
	g.priv.markShared()
	n := g.clone()
	if g.cfg != nil {
		// The copy's Config is its own: changing it (say EncryptHandshake)
		// does not change the original's. Rand, PSKs and the callbacks
		// are shared.
		cfg := *g.cfg
		n.cfg = &cfg
	}
	if g.stree != nil {
		n.stree = g.stree.Clone()
	}
	return n
}

// DiscardProposals drops the proposals cached in this epoch, so the next
// Commit covers only the proposals given to it.
func (g *Group) DiscardProposals() {
	g.proposals, g.proposalRefs = nil, nil
	clear(g.updateKeys)
}

// Config returns the configuration the group was created or joined with.
func (g *Group) Config() *Config { return g.cfg }

// OwnUpdateKeys returns a copy of the leaf private keys of this member's
// pending Update proposals, by proposal reference.
func (g *Group) OwnUpdateKeys() map[string][]byte {
	out := make(map[string][]byte, len(g.updateKeys))
	for k, v := range g.updateKeys {
		out[k] = v
	}
	return out
}
