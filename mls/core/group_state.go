package core

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"slices"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/codec"
	"github.com/mlslab/mlslab/mls/internal/suite"
	"github.com/mlslab/mlslab/mls/treemath"
)

// Persisting a member: the group state encoding.
//
// A client that stops and restarts must continue exactly where it was: same
// epoch, same secrets, and above all the same position of its hash
// ratchets, or it would encrypt two messages under one key and nonce
// (RFC 9420, Section 9.1: each key/nonce pair is used once) and receivers
// that already consumed the generation reject its messages. The encoding
// therefore holds everything a Group holds except its Config:
//
//	enum { active(0), removed(1), reinit(2) } MemberStatus;
//
//	struct {
//	    uint16 version;                       /* GroupStateVersion */
//	    CipherSuite cipher_suite;
//	    GroupContext group_context;           /* RFC 9420, Section 8.1 */
//	    optional<Node> ratchet_tree<V>;       /* Section 12.4.3.3 */
//	    opaque interim_transcript_hash<V>;    /* Section 8.2 */
//	    uint32 leaf_index;
//	    opaque signature_private_key<V>;
//	    TreePrivateKey tree_private_keys<V>;  /* Section 4.2, ascending node */
//	    EpochSecretsState epoch_secrets;      /* Section 8, Table 4 */
//	    SecretTreeState secret_tree;          /* Section 9 */
//	    CachedProposal proposals<V>;          /* in arrival order */
//	    UpdateKey update_keys<V>;             /* ascending proposal_ref */
//	    RetainedPSK resumption_psks<V>;       /* Section 8.6, oldest first */
//	    MemberStatus status;
//	    optional<ReInit> reinit;              /* present iff status == reinit */
//	    uint8 send_locked;                    /* 0 or 1, see RestoreGroup */
//	} GroupState;
//
// The substructures are documented on their marshalState methods. Every
// vector whose order the in-memory state does not fix (maps) is written in
// ascending key order, and the decoder rejects any other order, so a state
// that decodes re-encodes byte for byte.
//
// Copy on ingest: every []byte the decoder keeps comes from
// codec.ReadOpaque (or the ratchet tree parser), which copy; the decoded
// Group never aliases the caller's buffer.

// GroupStateVersion is the version of the encoding written by
// Group.MarshalState. UnmarshalGroupState rejects any other version with a
// *ProtocolError matching ErrUnsupported.
const GroupStateVersion uint16 = 1

// ruleGroupState names errors of UnmarshalGroupState.
const ruleGroupState = "mls group state encoding (UnmarshalGroupState)"

// MarshalState encodes the member's complete state: the public group state
// (group context, ratchet tree, interim transcript hash), the member's leaf
// index, signature private key and TreeKEM private keys, the epoch secrets,
// the secret tree with its ratchet positions and retained out-of-order keys,
// the cached proposals, the private keys of its pending Update proposals,
// the retained resumption PSKs, and whether it is active, removed or ended
// by a ReInit. The Config is not part of it.
//
// The result is secret key material: with it anyone can read and forge the
// member's messages in the current epoch and decrypt every later epoch
// until the member's keys are updated (RFC 9420, Section 16.6). Encrypt it
// at rest (with an AEAD, which also protects its integrity:
// UnmarshalGroupState checks consistency, not authenticity) and never log
// it. Store a new encoding after every operation that changes the Group
// (Seal, Propose, Commit/Merge, Process), before its output leaves the
// process: a member restored from an older encoding would reuse ratchet
// generations it already used, i.e. AEAD key/nonce pairs.
//
// A PendingCommit is not part of the encoding. Between Commit and Merge,
// store both the group's encoding (taken after Commit: the commit's
// handshake generation is consumed) and pc.MarshalNextState(); when the
// delivery service answers, keep the second if it accepted the commit and
// the first otherwise. A member restored from the first cannot Merge a
// commit that was accepted (Process refuses a member's own commit).
func (g *Group) MarshalState() ([]byte, error) {
	out, err := codec.Encode(g.marshalState)
	if err != nil {
		return nil, fmt.Errorf("mls: encoding group state: %w", err)
	}
	return out, nil
}

// UnmarshalGroupState decodes a state written by MarshalState into a Group
// that uses cfg (which may differ from the Config of the saved Group, e.g.
// a new Rand; its SecretTree limits apply to the restored secret tree).
// The Group continues exactly where the saved one stopped.
//
// Decoding is strict. Every error is a *ProtocolError: a version other than
// GroupStateVersion or an unsupported cipher suite matches ErrUnsupported;
// anything else matches ErrDecode: malformed or truncated input, trailing
// bytes, vectors out of their canonical order, and states that are not
// consistent — a tree whose hash differs from the group context's
// tree_hash, a leaf index that is out of range or blank, a signature key
// that does not belong to the leaf, TreeKEM private keys that do not match
// the tree's public keys (the leaf's key must be among them), an interim
// transcript hash that the confirmation key does not produce, secret sizes
// that do not fit the suite, or a secret tree whose stored nodes and
// initialized leaves do not cover its leaves exactly once.
//
// The ratchet tree is not re-validated (leaf signatures and parent hashes
// were checked when the member accepted the epoch; re-checking them costs a
// signature verification per member): protect the encoding's integrity at
// rest.
func UnmarshalGroupState(cfg *Config, data []byte) (*Group, error) {
	g := &Group{cfg: cfg}
	if err := codec.Decode(data, g.unmarshalState); err != nil {
		if _, ok := err.(*ProtocolError); !ok {
			err = protoErr(CodeDecode, ruleGroupState, "", err)
		}
		return nil, err
	}
	return g, nil
}

func stateErr(format string, args ...any) *ProtocolError {
	return protoErr(CodeDecode, ruleGroupState, fmt.Sprintf(format, args...), nil)
}

func (g *Group) marshalState(b *cryptobyte.Builder) {
	b.AddUint16(GroupStateVersion)
	b.AddUint16(uint16(g.cs.ID()))
	g.pub.ctx.marshal(b)
	g.pub.tree.marshal(b)
	codec.AddOpaque(b, g.pub.interim)
	b.AddUint32(uint32(g.self))
	codec.AddOpaque(b, g.sigPriv)
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for i := range g.priv.keys {
			g.priv.keys[i].marshalState(b)
		}
	})
	g.keys.marshalState(b)
	g.stree.marshalState(b)
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for i := range g.proposals {
			g.proposals[i].marshalState(b)
		}
	})
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for _, ref := range slices.Sorted(maps.Keys(g.updateKeys)) {
			(&updateKey{ref: []byte(ref), priv: g.updateKeys[ref]}).marshalState(b)
		}
	})
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for i := range g.resumption {
			g.resumption[i].marshalState(b)
		}
	})
	b.AddUint8(uint8(g.state))
	codec.AddOptional(b, g.reinit != nil, func(b *cryptobyte.Builder) { g.reinit.marshal(b) })
	var locked uint8
	if g.sendLocked {
		locked = 1
	}
	b.AddUint8(locked)
}

// unmarshalState decodes a GroupState into g (whose cfg is set) and checks
// its consistency.
func (g *Group) unmarshalState(s *cryptobyte.String) error {
	ver, err := codec.ReadUint16(s)
	if err != nil {
		return codec.Errorf("GroupState.version", err)
	}
	if ver != GroupStateVersion {
		return protoErr(CodeUnsupported, ruleGroupState, fmt.Sprintf("state version %d, want %d", ver, GroupStateVersion), nil)
	}
	id, err := codec.ReadUint16(s)
	if err != nil {
		return codec.Errorf("GroupState.cipher_suite", err)
	}
	if g.cs, err = suite.Get(suite.ID(id)); err != nil {
		return protoErr(CodeUnsupported, ruleGroupState, "cipher suite", err)
	}
	cs := g.cs
	var ctx GroupContext
	if err := ctx.unmarshal(s); err != nil {
		return codec.Errorf("GroupState", err)
	}
	if ctx.CipherSuite != CipherSuite(cs.ID()) {
		return stateErr("group context of suite %v in a state of suite %v", ctx.CipherSuite, cs.ID())
	}
	// The member's own tree: any size the tree math supports (the input
	// length bounds the node array).
	// The saved tree is bounded by the Config's leaf limit before its node
	// array is allocated, as a received one is (a blank node is one octet).
	tree, err := parseRatchetTree(cs, s, g.cfg.maxLeaves(), 0)
	if err != nil {
		return fmt.Errorf("mls: group state ratchet tree: %w", err)
	}
	if !bytes.Equal(tree.TreeHash(), ctx.TreeHash) {
		return protoErr(CodeDecode, ruleGroupState, "ratchet tree does not match the group context", ErrTreeHash)
	}
	interim, err := codec.ReadOpaque(s)
	if err != nil {
		return codec.Errorf("GroupState.interim_transcript_hash", err)
	}
	if g.pub, err = newPublicGroup(cs, ctx, tree, interim); err != nil {
		return err
	}
	self, err := codec.ReadUint32(s)
	if err != nil {
		return codec.Errorf("GroupState.leaf_index", err)
	}
	g.self = LeafIndex(self)
	ln := tree.Leaf(g.self)
	if ln == nil {
		return stateErr("leaf %d is blank or out of range (%d leaves)", self, tree.NumLeaves())
	}
	if g.sigPriv, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("GroupState.signature_private_key", err)
	}
	if sigPub, err := cs.SignaturePublicKey(g.sigPriv); err != nil || !bytes.Equal(sigPub, ln.SignatureKey) {
		return stateErr("signature private key does not match the signature_key of leaf %d", self)
	}
	g.priv = &TreePrivate{leaf: g.self, keys: []privKey{}}
	err = codec.ReadList(s, func(s *cryptobyte.String) error {
		var k privKey
		if err := k.unmarshalState(s); err != nil {
			return err
		}
		if n := len(g.priv.keys); n > 0 && k.node <= g.priv.keys[n-1].node {
			return codec.Invalid("TreePrivateKey.node", "not in ascending order")
		}
		if k.pub, err = cs.HPKEPublicKey(k.priv); err != nil {
			return codec.Invalid("TreePrivateKey.private_key", err.Error())
		}
		k.owner = &keyOwner{} // decoded into a buffer of its own
		g.priv.keys = append(g.priv.keys, k)
		return nil
	})
	if err != nil {
		return codec.Errorf("GroupState.tree_private_keys", err)
	}
	if g.priv.find(g.self.Node()) == nil {
		return stateErr("no private key for leaf %d", self)
	}
	if err := g.priv.Check(tree); err != nil {
		return protoErr(CodeDecode, ruleGroupState, "TreeKEM private keys do not match the tree", err)
	}
	g.keys = &EpochSecrets{}
	if err := g.keys.unmarshalState(s, cs); err != nil {
		return codec.Errorf("GroupState", err)
	}
	// Decoded into fresh buffers (codec.ReadOpaque copies): the restored
	// Group owns them and erases them when it leaves the epoch.
	g.keys.ownedByGroup()
	// interim_transcript_hash = Hash(confirmed || confirmation_tag) with
	// confirmation_tag = MAC(confirmation_key, confirmed) (RFC 9420,
	// Sections 6.1, 8.2): binds the epoch secrets to the group context.
	want := interimTranscriptHash(cs, ctx.ConfirmedTranscriptHash, g.keys.ConfirmationTag(ctx.ConfirmedTranscriptHash))
	if !bytes.Equal(want, interim) {
		return stateErr("interim transcript hash does not match the confirmation key and the group context")
	}
	g.stree = &SecretTree{}
	if err := g.stree.unmarshalState(s, cs); err != nil {
		return codec.Errorf("GroupState", err)
	}
	if g.stree.leaves != tree.NumLeaves() {
		return stateErr("secret tree of %d leaves for a ratchet tree of %d", g.stree.leaves, tree.NumLeaves())
	}
	if g.cfg != nil && (g.cfg.SecretTree != SecretTreeLimits{}) {
		g.stree.SetLimits(g.cfg.SecretTree)
	}
	g.proposals, g.proposalRefs = nil, nil
	err = codec.ReadList(s, func(s *cryptobyte.String) error {
		var cp cachedProposal
		if err := cp.unmarshalState(s); err != nil {
			return err
		}
		if len(cp.ref) != cs.HashSize() {
			return codec.Invalid("CachedProposal.proposal_ref", fmt.Sprintf("%d bytes, want %d", len(cp.ref), cs.HashSize()))
		}
		if g.hasProposal(cp.ref) { // O(1): the index is kept with addProposal
			return codec.Invalid("CachedProposal.proposal_ref", "duplicate")
		}
		if cp.sender.Type == SenderTypeMember && tree.Leaf(LeafIndex(cp.sender.Index)) == nil {
			return codec.Invalid("CachedProposal.sender", fmt.Sprintf("leaf %d is not a member", cp.sender.Index))
		}
		g.addProposal(cp)
		return nil
	})
	if err != nil {
		return codec.Errorf("GroupState.proposals", err)
	}
	g.updateKeys = map[string][]byte{}
	var lastRef []byte
	err = codec.ReadList(s, func(s *cryptobyte.String) error {
		var k updateKey
		if err := k.unmarshalState(s); err != nil {
			return err
		}
		if lastRef != nil && bytes.Compare(k.ref, lastRef) <= 0 {
			return codec.Invalid("UpdateKey.proposal_ref", "not in ascending order")
		}
		if _, err := cs.HPKEPublicKey(k.priv); err != nil {
			return codec.Invalid("UpdateKey.leaf_private_key", err.Error())
		}
		lastRef = k.ref
		g.updateKeys[string(k.ref)] = k.priv
		return nil
	})
	if err != nil {
		return codec.Errorf("GroupState.update_keys", err)
	}
	g.resumption = nil
	err = codec.ReadList(s, func(s *cryptobyte.String) error {
		var p epochPSK
		if err := p.unmarshalState(s); err != nil {
			return err
		}
		g.resumption = append(g.resumption, p)
		return nil
	})
	if err != nil {
		return codec.Errorf("GroupState.resumption_psks", err)
	}
	// The last retained PSK is the current epoch's (Group.startEpoch).
	if n := len(g.resumption); n == 0 || g.resumption[n-1].epoch != ctx.Epoch ||
		!bytes.Equal(g.resumption[n-1].groupID, ctx.GroupID) || !bytes.Equal(g.resumption[n-1].psk, g.keys.Resumption) {
		return stateErr("the last resumption PSK is not the current epoch's")
	}
	status, err := codec.ReadUint8(s)
	if err != nil {
		return codec.Errorf("GroupState.status", err)
	}
	g.state = groupState(status)
	if g.state > stateReInit {
		return codec.Invalid("GroupState.status", fmt.Sprintf("value %d", status))
	}
	present, err := codec.ReadOptional(s)
	if err != nil {
		return codec.Errorf("GroupState.reinit", err)
	}
	if present != (g.state == stateReInit) {
		return codec.Invalid("GroupState.reinit", "present iff status is reinit")
	}
	if present {
		g.reinit = new(ReInit)
		if err := g.reinit.unmarshal(s); err != nil {
			return codec.Errorf("GroupState.reinit", err)
		}
	}
	locked, err := codec.ReadUint8(s)
	if err != nil {
		return codec.Errorf("GroupState.send_locked", err)
	}
	if locked > 1 {
		return codec.Invalid("GroupState.send_locked", fmt.Sprintf("value %d", locked))
	}
	g.sendLocked = locked == 1
	return nil
}

// marshalState writes one TreeKEM private key of the member (RFC 9420,
// Section 4.2); its public key is derived again on decoding.
//
//	struct {
//	    uint32 node;                /* array index, Appendix C */
//	    opaque private_key<V>;      /* HPKEPrivateKey */
//	} TreePrivateKey;
func (k *privKey) marshalState(b *cryptobyte.Builder) {
	b.AddUint32(uint32(k.node))
	codec.AddOpaque(b, k.priv)
}

func (k *privKey) unmarshalState(s *cryptobyte.String) error {
	x, err := codec.ReadUint32(s)
	if err != nil {
		return codec.Errorf("TreePrivateKey.node", err)
	}
	k.node = NodeIndex(x)
	if k.priv, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("TreePrivateKey.private_key", err)
	}
	return nil
}

// marshalState writes the epoch secrets (RFC 9420, Section 8, Table 4),
// each KDF.Nh bytes.
//
//	struct {
//	    opaque sender_data_secret<V>;
//	    opaque encryption_secret<V>;
//	    opaque exporter_secret<V>;
//	    opaque external_secret<V>;
//	    opaque confirmation_key<V>;
//	    opaque membership_key<V>;
//	    opaque resumption_psk<V>;
//	    opaque epoch_authenticator<V>;
//	    opaque init_secret<V>;
//	} EpochSecretsState;
func (e *EpochSecrets) marshalState(b *cryptobyte.Builder) {
	for _, v := range e.stateFields() {
		codec.AddOpaque(b, *v)
	}
}

func (e *EpochSecrets) unmarshalState(s *cryptobyte.String, cs *suite.Suite) error {
	names := [...]string{"sender_data_secret", "encryption_secret", "exporter_secret", "external_secret",
		"confirmation_key", "membership_key", "resumption_psk", "epoch_authenticator", "init_secret"}
	e.suite = cs
	for i, v := range e.stateFields() {
		var err error
		if *v, err = codec.ReadOpaque(s); err != nil {
			return codec.Errorf("EpochSecretsState."+names[i], err)
		}
		if len(*v) != cs.Nh() {
			return codec.Invalid("EpochSecretsState."+names[i], fmt.Sprintf("%d bytes, want %d", len(*v), cs.Nh()))
		}
	}
	return nil
}

// stateFields returns pointers to the secrets in EpochSecretsState order.
func (e *EpochSecrets) stateFields() [9]*[]byte {
	return [9]*[]byte{
		(*[]byte)(&e.SenderData), (*[]byte)(&e.Encryption), (*[]byte)(&e.Exporter),
		(*[]byte)(&e.External), (*[]byte)(&e.Confirmation), (*[]byte)(&e.Membership),
		(*[]byte)(&e.Resumption), (*[]byte)(&e.Authenticator), (*[]byte)(&e.Init),
	}
}

// marshalState writes the secret tree's current state (RFC 9420, Section
// 9): the tree secrets not yet expanded and the ratchets of the leaves
// already used, with their positions and retained out-of-order keys. What
// was consumed or deleted is absent, so it stays deleted (Section 9.2).
//
//	struct {
//	    uint32 leaf_count;
//	    TreeNodeSecret nodes<V>;    /* ascending node */
//	    RatchetState ratchets<V>;   /* ascending (leaf, ratchet_type) */
//	} SecretTreeState;
//
// The limits are not part of it: they come from the Config.
func (t *SecretTree) marshalState(b *cryptobyte.Builder) {
	b.AddUint32(t.leaves)
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for _, x := range slices.Sorted(maps.Keys(t.nodes)) {
			(&nodeSecret{index: x, secret: t.nodes[x].secret}).marshalState(b)
		}
	})
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for _, k := range slices.Sorted(maps.Keys(t.ratchets)) {
			(&ratchetState{leaf: uint32(k >> 8), typ: RatchetType(k), r: t.ratchets[k]}).marshalState(b)
		}
	})
}

func (t *SecretTree) unmarshalState(s *cryptobyte.String, cs *suite.Suite) error {
	leaves, err := codec.ReadUint32(s)
	if err != nil {
		return codec.Errorf("SecretTreeState.leaf_count", err)
	}
	if !treemath.ValidLeafCount(leaves) {
		return codec.Invalid("SecretTreeState.leaf_count", fmt.Sprintf("%d leaves", leaves))
	}
	*t = SecretTree{suite: cs, leaves: leaves, limits: SecretTreeLimits{}.resolved(),
		nodes: map[uint32]treeNode{}, ratchets: map[uint64]*ratchet{}}
	for uint32(1)<<t.depth < leaves {
		t.depth++
	}
	// Every leaf must be below exactly one stored node or have its
	// ratchets (the lazy derivation of Section 9 relies on it): collect
	// the covered leaf ranges.
	type span struct{ first, end uint64 }
	var spans []span
	last := int64(-1)
	err = codec.ReadList(s, func(s *cryptobyte.String) error {
		var n nodeSecret
		if err := n.unmarshalState(s); err != nil {
			return err
		}
		if int64(n.index) <= last {
			return codec.Invalid("TreeNodeSecret.node", "not in ascending order")
		}
		last = int64(n.index)
		if treemath.Level(NodeIndex(n.index)) > uint32(t.depth) {
			return codec.Invalid("TreeNodeSecret.node", fmt.Sprintf("node %d above the root", n.index))
		}
		first, end := treemath.LeafRange(NodeIndex(n.index))
		if uint64(end) > 1<<t.depth {
			return codec.Invalid("TreeNodeSecret.node", fmt.Sprintf("node %d outside the tree", n.index))
		}
		if len(n.secret) != cs.Nh() {
			return codec.Invalid("TreeNodeSecret.secret", fmt.Sprintf("%d bytes, want %d", len(n.secret), cs.Nh()))
		}
		t.nodes[n.index] = treeNode{secret: n.secret}
		spans = append(spans, span{uint64(first), uint64(end)})
		return nil
	})
	if err != nil {
		return codec.Errorf("SecretTreeState.nodes", err)
	}
	lastKey := int64(-1)
	err = codec.ReadList(s, func(s *cryptobyte.String) error {
		var rs ratchetState
		if err := rs.unmarshalState(s, cs); err != nil {
			return err
		}
		if rs.leaf >= leaves {
			return codec.Invalid("RatchetState.leaf", fmt.Sprintf("leaf %d of %d", rs.leaf, leaves))
		}
		k := ratchetKey(rs.leaf, rs.typ)
		if int64(k) <= lastKey {
			return codec.Invalid("RatchetState", "not in ascending (leaf, ratchet_type) order")
		}
		lastKey = int64(k)
		t.ratchets[k] = rs.r
		if rs.typ == HandshakeRatchet {
			spans = append(spans, span{uint64(rs.leaf), uint64(rs.leaf) + 1})
		}
		return nil
	})
	if err != nil {
		return codec.Errorf("SecretTreeState.ratchets", err)
	}
	// A leaf's two ratchets are initialized together (SecretTree.pending).
	for k := range t.ratchets {
		other := k&^0xff | uint64(HandshakeRatchet+ApplicationRatchet-RatchetType(k&0xff))
		if t.ratchets[other] == nil {
			return codec.Invalid("SecretTreeState.ratchets", fmt.Sprintf("leaf %d has only one ratchet", k>>8))
		}
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.first, b.first) })
	next := uint64(0)
	for _, sp := range spans {
		if sp.first != next {
			return codec.Invalid("SecretTreeState", fmt.Sprintf("leaf %d covered twice or not at all", min(sp.first, next)))
		}
		next = sp.end
	}
	if next != 1<<t.depth {
		return codec.Invalid("SecretTreeState", fmt.Sprintf("leaves from %d on are not covered", next))
	}
	return nil
}

// marshalState writes a tree secret not yet expanded (RFC 9420, Section 9).
//
//	struct {
//	    uint32 node;        /* array index, Appendix C */
//	    opaque secret<V>;   /* tree_node_[node]_secret, KDF.Nh bytes */
//	} TreeNodeSecret;
func (n *nodeSecret) marshalState(b *cryptobyte.Builder) {
	b.AddUint32(n.index)
	codec.AddOpaque(b, n.secret)
}

func (n *nodeSecret) unmarshalState(s *cryptobyte.String) error {
	var err error
	if n.index, err = codec.ReadUint32(s); err != nil {
		return codec.Errorf("TreeNodeSecret.node", err)
	}
	if n.secret, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("TreeNodeSecret.secret", err)
	}
	return nil
}

// ratchetState is one hash ratchet of a secret tree with its position.
type ratchetState struct {
	leaf uint32
	typ  RatchetType
	r    *ratchet
}

// marshalState writes a hash ratchet (RFC 9420, Section 9.1).
//
//	struct {
//	    uint32 leaf;
//	    uint8 ratchet_type;         /* handshake(1), application(2) */
//	    opaque secret<V>;           /* ratchet_secret_[leaf]_[next]; empty iff next == 2^32 */
//	    uint64 next;                /* next generation not yet derived */
//	    uint64 floor;               /* generations below are deleted */
//	    RetainedKey retained<V>;    /* ascending generation, floor <= g < next */
//	} RatchetState;
func (rs *ratchetState) marshalState(b *cryptobyte.Builder) {
	b.AddUint32(rs.leaf)
	b.AddUint8(uint8(rs.typ))
	codec.AddOpaque(b, rs.r.secret)
	b.AddUint64(rs.r.next)
	b.AddUint64(rs.r.floor)
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for i := range rs.r.skipped {
			marshalRetainedKey(b, &rs.r.skipped[i].KeyNonce)
		}
	})
}

func (rs *ratchetState) unmarshalState(s *cryptobyte.String, cs *suite.Suite) error {
	var err error
	if rs.leaf, err = codec.ReadUint32(s); err != nil {
		return codec.Errorf("RatchetState.leaf", err)
	}
	typ, err := codec.ReadUint8(s)
	if err != nil {
		return codec.Errorf("RatchetState.ratchet_type", err)
	}
	rs.typ = RatchetType(typ)
	if !rs.typ.IsValid() {
		return codec.Invalid("RatchetState.ratchet_type", fmt.Sprintf("value %d", typ))
	}
	r := &ratchet{}
	if r.secret, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("RatchetState.secret", err)
	}
	if r.next, err = codec.ReadUint64(s); err != nil {
		return codec.Errorf("RatchetState.next", err)
	}
	if r.floor, err = codec.ReadUint64(s); err != nil {
		return codec.Errorf("RatchetState.floor", err)
	}
	switch {
	case r.next > 1<<32:
		return codec.Invalid("RatchetState.next", fmt.Sprintf("generation %d beyond 2^32", r.next))
	case r.floor > r.next:
		return codec.Invalid("RatchetState.floor", fmt.Sprintf("%d above next %d", r.floor, r.next))
	case r.next == 1<<32 && len(r.secret) != 0:
		return codec.Invalid("RatchetState.secret", "secret of an exhausted ratchet")
	case r.next < 1<<32 && len(r.secret) != cs.Nh():
		return codec.Invalid("RatchetState.secret", fmt.Sprintf("%d bytes, want %d", len(r.secret), cs.Nh()))
	}
	if len(r.secret) == 0 {
		r.secret = nil
	}
	err = codec.ReadList(s, func(s *cryptobyte.String) error {
		var k KeyNonce
		if err := unmarshalRetainedKey(s, &k); err != nil {
			return err
		}
		g := uint64(k.Generation)
		if g < r.floor || g >= r.next || (len(r.skipped) > 0 && k.Generation <= r.skipped[len(r.skipped)-1].Generation) {
			return codec.Invalid("RetainedKey.generation", fmt.Sprintf("%d not ascending in [%d, %d)", g, r.floor, r.next))
		}
		if len(k.Key) != cs.Nk() || len(k.Nonce) != cs.Nn() {
			return codec.Invalid("RetainedKey", "key or nonce size does not fit the suite")
		}
		r.skipped = append(r.skipped, skippedKey{KeyNonce: k})
		return nil
	})
	if err != nil {
		return codec.Errorf("RatchetState.retained", err)
	}
	rs.r = r
	return nil
}

// marshalRetainedKey writes a derived, unconsumed key of a ratchet kept for
// a late message (RFC 9420, Section 9.2).
//
//	struct {
//	    uint32 generation;
//	    opaque key<V>;      /* AEAD.Nk bytes */
//	    opaque nonce<V>;    /* AEAD.Nn bytes, before the reuse guard */
//	} RetainedKey;
//
// (Functions rather than methods: KeyNonce is exported and its encoding is
// internal.)
func marshalRetainedKey(b *cryptobyte.Builder, k *KeyNonce) {
	b.AddUint32(k.Generation)
	codec.AddOpaque(b, k.Key)
	codec.AddOpaque(b, k.Nonce)
}

func unmarshalRetainedKey(s *cryptobyte.String, k *KeyNonce) error {
	var err error
	if k.Generation, err = codec.ReadUint32(s); err != nil {
		return codec.Errorf("RetainedKey.generation", err)
	}
	if k.Key, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("RetainedKey.key", err)
	}
	if k.Nonce, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("RetainedKey.nonce", err)
	}
	return nil
}

// marshalState writes a proposal cached in the current epoch (RFC 9420,
// Section 12.4: a commit may include it by reference).
//
//	struct {
//	    opaque proposal_ref<V>;     /* ProposalRef, a hash (HashSize bytes) */
//	    Sender sender;
//	    Proposal proposal;
//	} CachedProposal;
func (cp *cachedProposal) marshalState(b *cryptobyte.Builder) {
	codec.AddOpaque(b, cp.ref)
	cp.sender.marshal(b)
	cp.p.marshal(b)
}

func (cp *cachedProposal) unmarshalState(s *cryptobyte.String) error {
	var err error
	if cp.ref, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("CachedProposal.proposal_ref", err)
	}
	if err := cp.sender.unmarshal(s); err != nil {
		return codec.Errorf("CachedProposal", err)
	}
	cp.p = new(Proposal)
	if err := cp.p.unmarshal(s); err != nil {
		return codec.Errorf("CachedProposal", err)
	}
	return nil
}

// updateKey is the leaf private key of one of the member's own pending
// Update proposals.
type updateKey struct {
	ref, priv []byte
}

// marshalState writes a pending Update's leaf private key (RFC 9420,
// Section 12.1.2).
//
//	struct {
//	    opaque proposal_ref<V>;
//	    opaque leaf_private_key<V>;  /* HPKEPrivateKey */
//	} UpdateKey;
func (k *updateKey) marshalState(b *cryptobyte.Builder) {
	codec.AddOpaque(b, k.ref)
	codec.AddOpaque(b, k.priv)
}

func (k *updateKey) unmarshalState(s *cryptobyte.String) error {
	var err error
	if k.ref, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("UpdateKey.proposal_ref", err)
	}
	if k.priv, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("UpdateKey.leaf_private_key", err)
	}
	return nil
}

// marshalState writes a retained resumption PSK (RFC 9420, Section 8.6).
//
//	struct {
//	    opaque group_id<V>;
//	    uint64 epoch;
//	    opaque resumption_psk<V>;
//	} RetainedPSK;
func (p *epochPSK) marshalState(b *cryptobyte.Builder) {
	codec.AddOpaque(b, p.groupID)
	b.AddUint64(p.epoch)
	codec.AddOpaque(b, p.psk)
}

func (p *epochPSK) unmarshalState(s *cryptobyte.String) error {
	var err error
	if p.groupID, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("RetainedPSK.group_id", err)
	}
	if p.epoch, err = codec.ReadUint64(s); err != nil {
		return codec.Errorf("RetainedPSK.epoch", err)
	}
	if p.psk, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("RetainedPSK.resumption_psk", err)
	}
	return nil
}
