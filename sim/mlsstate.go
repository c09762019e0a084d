package sim

import (
	"github.com/mlslab/mlslab/mls/core"
)

// This file materializes member states of package mls from parts the
// simulator keeps: the shared state of an epoch (a template Group of that
// epoch: its PublicGroup, EpochSecrets and config), a member's leaf index,
// signature key and private tree keys, through core.RestoreGroup and
// core.TreePrivateFromKeys (which check the parts against the tree). Every
// materialized state is also checked by the real receive path: receivers
// reject anything a wrong state would produce.

// nodeKey is an HPKE key pair of one tree node.
type nodeKey struct {
	node      core.NodeIndex
	priv, pub []byte
}

// newTreePrivate builds the private tree state of the member at leaf
// holding keys (the leaf's key included).
func newTreePrivate(cs core.CipherSuite, leaf core.LeafIndex, keys []nodeKey) (*core.TreePrivate, error) {
	nodes := make([]core.NodeIndex, len(keys))
	privs := make([][]byte, len(keys))
	for i, k := range keys {
		nodes[i], privs[i] = k.node, k.priv
	}
	return core.TreePrivateFromKeys(cs, leaf, nodes, privs)
}

// materialize returns member self's state in the epoch of tmpl: tmpl's
// config, PublicGroup and EpochSecrets with the member's own signature key
// and private tree state, a fresh secret tree and no cached proposals.
func materialize(tmpl *core.Group, self core.LeafIndex, sigPriv []byte, priv *core.TreePrivate) (*core.Group, error) {
	return core.RestoreGroup(tmpl.Config(), tmpl.Public(), tmpl.EpochSecrets(), self, sigPriv, priv)
}
