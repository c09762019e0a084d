package core

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

// Labels of the secret tree and its hash ratchets (RFC 9420, Section 9).
const (
	labelTree        = "tree"        // tree_node_[N]_secret -> children
	labelHandshake   = "handshake"   // leaf secret -> handshake_ratchet_secret_[N]_[0]
	labelApplication = "application" // leaf secret -> application_ratchet_secret_[N]_[0]
	labelSecret      = "secret"      // ratchet_secret_[N]_[j] -> ratchet_secret_[N]_[j+1]
	contextLeft      = "left"
	contextRight     = "right"
)

// RatchetType selects one of the two hash ratchets of a leaf (RFC 9420,
// Section 9): proposals and commits use the handshake ratchet, application
// messages the application ratchet (Section 6.3.1).
type RatchetType uint8

// The two hash ratchets of a leaf.
const (
	HandshakeRatchet   RatchetType = 1 // handshake
	ApplicationRatchet RatchetType = 2 // application
)

// IsValid reports whether t is HandshakeRatchet or ApplicationRatchet.
func (t RatchetType) IsValid() bool { return t == HandshakeRatchet || t == ApplicationRatchet }

// String returns "handshake" or "application".
func (t RatchetType) String() string {
	switch t {
	case HandshakeRatchet:
		return "handshake"
	case ApplicationRatchet:
		return "application"
	}
	return fmt.Sprintf("unknown(%d)", uint8(t))
}

// Errors of the secret tree. Callers branch on them with errors.Is: a message
// whose generation is too old or whose key was used is a replay or arrived
// too late; too far ahead is a (possibly malicious) jump beyond the window.
var (
	// ErrGenerationTooOld: the key was deleted because it fell out of the
	// retention window (or, below the window, it may have been used).
	ErrGenerationTooOld = errors.New("mls: secret tree: generation too old, key deleted")
	// ErrGenerationTooFar: the generation is further ahead of the ratchet
	// than SecretTreeLimits.MaxForwardDistance allows.
	ErrGenerationTooFar = errors.New("mls: secret tree: generation too far ahead")
	// ErrKeyUsed: the key for this generation was already consumed
	// (RFC 9420, Section 9.1: each key/nonce pair is used once).
	ErrKeyUsed = errors.New("mls: secret tree: key for generation already used")
	// ErrLeafOutOfRange: the leaf index is not a leaf of the tree.
	ErrLeafOutOfRange = errors.New("mls: secret tree: leaf index out of range")
	// ErrStaleKey: a PendingKey was consumed after the tree changed since it
	// was derived (or after a Clone it was not derived from); derive it again.
	ErrStaleKey = errors.New("mls: secret tree: pending key is stale, tree changed")
)

// Default limits of a secret tree (see SecretTreeLimits).
const (
	DefaultMaxForwardDistance = 1000
	DefaultMaxRetainedKeys    = 256
)

// SecretTreeLimits bounds the out-of-order tolerance of each hash ratchet
// (RFC 9420, Section 9.2 allows keeping unconsumed keys "for some
// reasonable amount of time"; Section 15.3).
type SecretTreeLimits struct {
	// MaxForwardDistance is the largest gap between the next generation
	// the ratchet expects and a requested generation. 0 means
	// DefaultMaxForwardDistance.
	MaxForwardDistance uint32
	// MaxRetainedKeys is how many skipped (unconsumed) keys a ratchet keeps
	// for late messages; older ones are deleted first. 0 means
	// DefaultMaxRetainedKeys; a negative value keeps none.
	MaxRetainedKeys int
}

func (l SecretTreeLimits) resolved() SecretTreeLimits {
	if l.MaxForwardDistance == 0 {
		l.MaxForwardDistance = DefaultMaxForwardDistance
	}
	switch {
	case l.MaxRetainedKeys == 0:
		l.MaxRetainedKeys = DefaultMaxRetainedKeys
	case l.MaxRetainedKeys < 0:
		l.MaxRetainedKeys = 0
	}
	return l
}

// KeyNonce is the AEAD key and nonce of one ratchet generation (RFC 9420,
// Section 9.1), before the reuse guard is applied to the nonce.
type KeyNonce struct {
	Generation uint32
	Key        []byte
	Nonce      []byte
}

// ratchet is the state of one hash ratchet. Values are immutable once stored
// in a tree (except for erasure, see SecretTree): changes build a new
// ratchet, so Clone can share them.
type ratchet struct {
	secret     []byte       // ratchet_secret_[N]_[next]
	secretBorn uint64       // tree version at which secret entered the tree
	next       uint64       // next generation not yet derived (up to 2^32)
	floor      uint64       // generations below floor are deleted
	skipped    []skippedKey // derived, unconsumed keys, ascending, floor <= g < next
}

// skippedKey is a retained key with the tree version at which it entered
// the tree.
type skippedKey struct {
	KeyNonce
	born uint64
}

// treeNode is a stored tree secret with the tree version at which it
// entered the tree.
type treeNode struct {
	secret []byte
	born   uint64
}

// sameArray reports whether a and b share their first byte.
func sameArray(a, b []byte) bool { return len(a) > 0 && len(b) > 0 && &a[0] == &b[0] }

// SecretTree is the secret tree of one epoch (RFC 9420, Section 9) with the
// per-leaf handshake and application hash ratchets (Section 9.1).
//
// Derivation is lazy: only the nodes on the path from the root to a
// requested leaf are derived. Deriving a node's children deletes the node
// (both children are derived at once), and a leaf secret is deleted once its
// two ratchets are initialized (deletion schedule, Section 9.2). Keys are
// deleted when consumed; skipped keys are retained within SecretTreeLimits.
//
// Receiving is two-phase so a failed decryption consumes nothing: Key derives
// a PendingKey without changing the tree, and PendingKey.Consume commits the
// state change once the message was decrypted and accepted. Sending uses
// NextKey, which consumes at once.
//
// A SecretTree is not safe for concurrent use. Clone is cheap (it copies two
// maps of references).
//
// Erasure: "deleted" secrets are also overwritten with zeros (Section 9.2:
// delete "all representations"): a consumed tree node, a replaced ratchet
// secret, evicted skipped keys, the intermediate secrets of a derivation,
// and, through the Group, the key of a decrypted message and the whole tree
// when its epoch ends. A clone shares the secrets that existed when it was
// made, so each stored secret carries the tree version at which it was
// stored, and Clone records the version up to which the two trees share:
// a secret is overwritten only when no other tree can reference it. The key
// returned by Key or NextKey is not overwritten by Consume (the caller may
// still need it); the Group's send and receive paths overwrite it after
// use.
type SecretTree struct {
	suite   *suite.Suite
	leaves  uint32
	depth   uint // level of the root: 2^depth >= leaves
	limits  SecretTreeLimits
	version uint64
	// Secrets stored at versions <= sharedUpTo may be shared with a clone
	// when cloned is set (see owns).
	cloned     bool
	sharedUpTo uint64
	// pinned: the tree object itself is referenced by more than one Group
	// (PendingCommit.NextGroup), so erase leaves it alone.
	pinned bool
	// nodes holds the not yet expanded tree secrets by node index
	// (array representation, RFC 9420 Appendix C): initially only the root.
	nodes map[uint32]treeNode
	// ratchets holds the initialized leaves' ratchets by ratchetKey.
	ratchets map[uint64]*ratchet
}

func ratchetKey(leaf uint32, t RatchetType) uint64 { return uint64(leaf)<<8 | uint64(t) }

// nodeIndex is the array index (RFC 9420, Appendix C) of the ancestor of
// leaf at level (0 = the leaf itself).
func nodeIndex(leaf uint32, level uint) uint32 {
	start := uint64(leaf) >> level << level
	return uint32(start<<1 + (uint64(1)<<level - 1))
}

// newSecretTree returns the secret tree for a ratchet tree of leaves leaves
// rooted at encryption_secret (RFC 9420, Section 9), with default limits.
// leaves is the ratchet tree's leaf count (a power of two for RFC 9420
// trees; other counts are rounded up to the next power of two).
func newSecretTree(cs *suite.Suite, encryptionSecret EncryptionSecret, leaves uint32) (*SecretTree, error) {
	if leaves == 0 || leaves > 1<<31 {
		return nil, fmt.Errorf("mls: secret tree of %d leaves", leaves)
	}
	if len(encryptionSecret) == 0 {
		return nil, errors.New("mls: secret tree: empty encryption_secret")
	}
	depth := uint(bits.Len32(leaves - 1))
	t := &SecretTree{
		suite:  cs,
		leaves: leaves,
		depth:  depth,
		limits: SecretTreeLimits{}.resolved(),
		// A copy: the tree overwrites its root once it is expanded, and
		// encryption_secret belongs to the EpochSecrets (which may seed
		// other trees of the same epoch).
		nodes:    map[uint32]treeNode{nodeIndex(0, depth): {secret: bytes.Clone(encryptionSecret)}},
		ratchets: map[uint64]*ratchet{},
	}
	return t, nil
}

// SetLimits changes the out-of-order limits for subsequent requests.
func (t *SecretTree) SetLimits(l SecretTreeLimits) { t.limits = l.resolved() }

// Limits returns the effective limits.
func (t *SecretTree) Limits() SecretTreeLimits { return t.limits }

// LeafCount returns the number of leaves the tree was created for.
func (t *SecretTree) LeafCount() uint32 { return t.leaves }

// Clone returns an independent copy of t: changes to one never affect the
// other. PendingKeys derived from t can only be consumed on t. (Clone
// records in t that the secrets it holds now are shared, so t no longer
// overwrites them.)
func (t *SecretTree) Clone() *SecretTree {
	t.cloned, t.sharedUpTo = true, t.version
	return t.cloneDetached()
}

// cloneDetached returns a copy of t that treats every secret it starts
// with as shared (it never overwrites them), without recording the clone in
// t; Clone records it.
func (t *SecretTree) cloneDetached() *SecretTree {
	c := *t
	c.cloned, c.sharedUpTo, c.pinned = true, t.version, false
	c.nodes = make(map[uint32]treeNode, len(t.nodes))
	for k, v := range t.nodes {
		c.nodes[k] = v
	}
	c.ratchets = make(map[uint64]*ratchet, len(t.ratchets))
	for k, v := range t.ratchets {
		c.ratchets[k] = v
	}
	return &c
}

// owns reports whether a secret stored at version born can be referenced
// by t only.
func (t *SecretTree) owns(born uint64) bool { return !t.cloned || born > t.sharedUpTo }

// erase overwrites every secret t alone holds and empties t (its epoch
// ended, RFC 9420, Section 9.2). PendingKeys of t become stale. A pinned
// tree is left alone.
func (t *SecretTree) erase() {
	if t == nil || t.pinned {
		return
	}
	for _, n := range t.nodes {
		if t.owns(n.born) {
			clear(n.secret)
		}
	}
	for _, r := range t.ratchets {
		if t.owns(r.secretBorn) {
			clear(r.secret)
		}
		for _, k := range r.skipped {
			if t.owns(k.born) {
				clear(k.Key)
				clear(k.Nonce)
			}
		}
	}
	clear(t.nodes)
	clear(t.ratchets)
	t.version++
}

// nodeSecret is a tree secret to store on consumption.
type nodeSecret struct {
	index  uint32
	secret []byte
}

// PendingKey is a derived key that has not been consumed yet. Consume it
// once the message it decrypts is accepted; dropping it leaves the tree
// unchanged.
type PendingKey struct {
	KeyNonce
	Leaf LeafIndex
	Type RatchetType

	tree     *SecretTree
	version  uint64
	consumed bool
	// keyBorn is the tree version at which the key entered the tree (a
	// retained skipped key); fresh (derived by this request) otherwise.
	keyBorn uint64
	fresh   bool
	// keyOwned: after Consume, the key is referenced by p only.
	keyOwned bool
	// base is the ratchet the key was taken from (stored in the tree, or
	// initialized by this request).
	base *ratchet
	// State changes applied by Consume.
	expanded  bool         // the leaf's path was derived by this request
	delNode   uint32       // frontier ancestor consumed by the path derivation
	addNodes  []nodeSecret // siblings of the path, now frontier
	other     *ratchet     // the leaf's other ratchet, initialized with the path
	newState  *ratchet     // the requested ratchet after consumption
	otherType RatchetType
}

// Consume commits the consumption of the key: the key, the ratchet secrets
// before it and, on first use of the leaf, the path secrets are deleted
// (RFC 9420, Section 9.2). It fails with ErrKeyUsed if called twice and with
// ErrStaleKey if the tree changed since Key returned p.
func (p *PendingKey) Consume() error {
	if p.consumed {
		return ErrKeyUsed
	}
	t := p.tree
	if t.version != p.version {
		return ErrStaleKey
	}
	born := t.version + 1
	if p.expanded {
		// The expanded node is consumed: its children were derived
		// (Section 9.2).
		if n, ok := t.nodes[p.delNode]; ok && t.owns(n.born) {
			clear(n.secret)
		}
		delete(t.nodes, p.delNode)
		for _, n := range p.addNodes {
			t.nodes[n.index] = treeNode{secret: n.secret, born: born}
		}
		t.ratchets[ratchetKey(uint32(p.Leaf), p.otherType)] = p.other
	}
	t.eraseReplaced(p.base, p.newState, p.Generation)
	t.ratchets[ratchetKey(uint32(p.Leaf), p.Type)] = p.newState
	p.keyOwned = p.fresh || t.owns(p.keyBorn)
	t.version = born
	p.consumed = true
	return nil
}

// eraseReplaced overwrites what ratchet old held and its successor nr does
// not (the consumed ratchet secret, evicted skipped keys), when t alone
// holds it. The consumed key (generation gen) is left to its PendingKey.
func (t *SecretTree) eraseReplaced(old, nr *ratchet, gen uint32) {
	if old == nil {
		return
	}
	if !sameArray(old.secret, nr.secret) && t.owns(old.secretBorn) {
		clear(old.secret)
	}
	for _, k := range old.skipped {
		if k.Generation == gen || !t.owns(k.born) {
			continue
		}
		if _, kept := slices.BinarySearchFunc(nr.skipped, k.Generation, cmpSkipped); kept {
			continue
		}
		clear(k.Key)
		clear(k.Nonce)
	}
}

// erase overwrites the key and nonce of a consumed PendingKey when nothing
// else references them: the Group calls it once the message is decrypted
// and accepted, or encrypted (RFC 9420, Section 9.2).
func (p *PendingKey) erase() {
	if p != nil && p.consumed && p.keyOwned {
		clear(p.Key)
		clear(p.Nonce)
	}
}

func cmpSkipped(k skippedKey, g uint32) int {
	switch {
	case k.Generation < g:
		return -1
	case k.Generation > g:
		return 1
	}
	return 0
}

// Key derives the key and nonce of generation gen of the leaf's ratchet typ
// without changing the tree (RFC 9420, Section 9.1). Errors: ErrLeafOutOfRange,
// ErrGenerationTooOld, ErrGenerationTooFar, ErrKeyUsed.
func (t *SecretTree) Key(leaf LeafIndex, typ RatchetType, gen uint32) (*PendingKey, error) {
	return t.pending(uint32(leaf), typ, uint64(gen), false)
}

// NextKey returns and consumes the key of the next unused generation of the
// leaf's ratchet typ: the sender's side (RFC 9420, Section 6.3.1).
func (t *SecretTree) NextKey(leaf LeafIndex, typ RatchetType) (KeyNonce, error) {
	p, err := t.pending(uint32(leaf), typ, 0, true)
	if err != nil {
		return KeyNonce{}, err
	}
	if err := p.Consume(); err != nil {
		return KeyNonce{}, err
	}
	return p.KeyNonce, nil
}

func (t *SecretTree) pending(leaf uint32, typ RatchetType, gen uint64, next bool) (*PendingKey, error) {
	if leaf >= t.leaves {
		return nil, fmt.Errorf("%w: leaf %d of %d", ErrLeafOutOfRange, leaf, t.leaves)
	}
	if !typ.IsValid() {
		return nil, fmt.Errorf("mls: secret tree: invalid ratchet type %d", typ)
	}
	p := &PendingKey{Leaf: LeafIndex(leaf), Type: typ, tree: t, version: t.version}
	born := t.version + 1 // the version Consume will store p's secrets at
	r := t.ratchets[ratchetKey(leaf, typ)]
	if r == nil {
		// First use of this leaf: derive the path from the lowest stored
		// ancestor down to the leaf and both ratchets (Section 9).
		hs, app, err := t.derivePath(leaf, p, born)
		if err != nil {
			return nil, err
		}
		if typ == HandshakeRatchet {
			r, p.other, p.otherType = hs, app, ApplicationRatchet
		} else {
			r, p.other, p.otherType = app, hs, HandshakeRatchet
		}
		p.expanded = true
	}
	if next {
		gen = r.next
	}
	kn, nr, err := r.advance(t.suite, gen, t.limits, born)
	if err != nil {
		return nil, fmt.Errorf("%w (leaf %d, %v ratchet, generation %d)", err, leaf, typ, gen)
	}
	p.KeyNonce, p.keyBorn, p.newState, p.base = kn.KeyNonce, kn.born, nr, r
	p.fresh = gen >= r.next
	return p, nil
}

// derivePath derives, without storing anything, the secrets from the lowest
// stored ancestor of leaf down to the leaf, recording in p the frontier
// changes, and returns the leaf's two initial ratchets.
func (t *SecretTree) derivePath(leaf uint32, p *PendingKey, born uint64) (hs, app *ratchet, err error) {
	cs := t.suite
	level := uint(0)
	var secret []byte
	for ; level <= t.depth; level++ {
		if n, ok := t.nodes[nodeIndex(leaf, level)]; ok {
			secret = n.secret
			break
		}
	}
	stored := secret // the tree's: overwritten by Consume, not here
	if secret == nil {
		// Every uninitialized leaf has exactly one stored ancestor; this
		// is unreachable unless the state was corrupted.
		return nil, nil, fmt.Errorf("mls: secret tree: no secret on the path of leaf %d", leaf)
	}
	p.delNode = nodeIndex(leaf, level)
	for ; level > 0; level-- {
		left := cs.ExpandWithLabel(secret, labelTree, []byte(contextLeft), cs.Nh())
		right := cs.ExpandWithLabel(secret, labelTree, []byte(contextRight), cs.Nh())
		child := level - 1
		parent := secret
		if leaf>>child&1 == 0 {
			secret = left
			p.addNodes = append(p.addNodes, nodeSecret{nodeIndex(leaf|1<<child, child), right})
		} else {
			secret = right
			p.addNodes = append(p.addNodes, nodeSecret{nodeIndex(leaf&^(1<<child), child), left})
		}
		// An intermediate node secret of this derivation is consumed
		// (both children derived) and stored nowhere.
		if !sameArray(parent, stored) {
			clear(parent)
		}
	}
	hs = &ratchet{secret: cs.ExpandWithLabel(secret, labelHandshake, nil, cs.Nh()), secretBorn: born}
	app = &ratchet{secret: cs.ExpandWithLabel(secret, labelApplication, nil, cs.Nh()), secretBorn: born}
	if !sameArray(secret, stored) {
		clear(secret) // the leaf secret, consumed by its two ratchets
	}
	return hs, app, nil
}

// ratchetKeyNonce derives the key and nonce of generation gen from
// ratchet_secret_[N]_[gen] (RFC 9420, Section 9.1).
func ratchetKeyNonce(cs *suite.Suite, secret []byte, gen uint32) KeyNonce {
	return KeyNonce{
		Generation: gen,
		Key:        cs.DeriveTreeSecret(secret, labelKey, gen, cs.Nk()),
		Nonce:      cs.DeriveTreeSecret(secret, labelNonce, gen, cs.Nn()),
	}
}

// advance returns the key of generation gen and the ratchet state after its
// consumption, leaving r unchanged (RFC 9420, Section 9.1):
//
//	ratchet_nonce_[N]_[j]      = DeriveTreeSecret(ratchet_secret_[N]_[j], "nonce", j, AEAD.Nn)
//	ratchet_key_[N]_[j]        = DeriveTreeSecret(ratchet_secret_[N]_[j], "key", j, AEAD.Nk)
//	ratchet_secret_[N]_[j+1]   = DeriveTreeSecret(ratchet_secret_[N]_[j], "secret", j, KDF.Nh)
//
// born is the tree version at which the new secrets will be stored.
// Intermediate ratchet secrets, and keys derived here but not retained, are
// overwritten before returning (they are consumed and stored nowhere).
func (r *ratchet) advance(cs *suite.Suite, gen uint64, lim SecretTreeLimits, born uint64) (skippedKey, *ratchet, error) {
	if gen < r.next {
		if gen < r.floor {
			return skippedKey{}, nil, ErrGenerationTooOld
		}
		if gen > math.MaxUint32 {
			return skippedKey{}, nil, ErrKeyUsed
		}
		i, found := slices.BinarySearchFunc(r.skipped, uint32(gen), cmpSkipped)
		if !found {
			return skippedKey{}, nil, ErrKeyUsed
		}
		nr := &ratchet{secret: r.secret, secretBorn: r.secretBorn, next: r.next, floor: r.floor}
		nr.skipped = slices.Delete(slices.Clone(r.skipped), i, i+1)
		return r.skipped[i], nr, nil
	}
	if gen > math.MaxUint32 {
		return skippedKey{}, nil, fmt.Errorf("%w: ratchet exhausted", ErrGenerationTooFar)
	}
	if gen-r.next > uint64(lim.MaxForwardDistance) {
		return skippedKey{}, nil, fmt.Errorf("%w: %d generations beyond %d (limit %d)", ErrGenerationTooFar, gen-r.next, r.next, lim.MaxForwardDistance)
	}
	keep := uint64(lim.MaxRetainedKeys)
	nr := &ratchet{next: gen + 1, floor: r.floor}
	// Skipped generations that will be retained: [max(r.next, gen-keep), gen).
	from := r.next
	if gen-from > keep {
		from = gen - keep
		nr.floor = max(nr.floor, from)
	}
	nr.skipped = make([]skippedKey, 0, gen-from)
	secret := r.secret
	for j := r.next; j < gen; j++ {
		if j >= from {
			nr.skipped = append(nr.skipped, skippedKey{ratchetKeyNonce(cs, secret, uint32(j)), born})
		}
		next := cs.DeriveTreeSecret(secret, labelSecret, uint32(j), cs.Nh())
		if j != r.next { // an intermediate ratchet secret of this call
			clear(secret)
		}
		secret = next
	}
	// Older retained keys go first when over the limit.
	if drop := len(r.skipped) + len(nr.skipped) - lim.MaxRetainedKeys; drop > 0 {
		kept := r.skipped[min(drop, len(r.skipped)):]
		if drop > len(r.skipped) {
			for _, k := range nr.skipped[:drop-len(r.skipped)] { // derived here, not retained
				clear(k.Key)
				clear(k.Nonce)
			}
			nr.skipped = nr.skipped[drop-len(r.skipped):]
		}
		nr.skipped = append(slices.Clone(kept), nr.skipped...)
		if len(nr.skipped) > 0 {
			nr.floor = max(nr.floor, uint64(nr.skipped[0].Generation))
		} else {
			nr.floor = max(nr.floor, gen)
		}
	} else {
		nr.skipped = append(slices.Clone(r.skipped), nr.skipped...)
	}
	kn := ratchetKeyNonce(cs, secret, uint32(gen))
	if gen < math.MaxUint32 {
		nr.secret, nr.secretBorn = cs.DeriveTreeSecret(secret, labelSecret, uint32(gen), cs.Nh()), born
	}
	if gen != r.next {
		clear(secret)
	}
	return skippedKey{kn, born}, nr, nil
}

// KeyNonce derives the sender data key and nonce of a PrivateMessage from
// its ciphertext (RFC 9420, Section 6.3.2):
//
//	ciphertext_sample = ciphertext[0..KDF.Nh-1]   (the whole ciphertext if shorter)
//	sender_data_key   = ExpandWithLabel(sender_data_secret, "key", ciphertext_sample, AEAD.Nk)
//	sender_data_nonce = ExpandWithLabel(sender_data_secret, "nonce", ciphertext_sample, AEAD.Nn)
func (s SenderDataSecret) keyNonce(cs *suite.Suite, ciphertext []byte) (key, nonce []byte) {
	sample := ciphertext[:min(len(ciphertext), cs.Nh())]
	return cs.ExpandWithLabel(s, labelKey, sample, cs.Nk()), cs.ExpandWithLabel(s, labelNonce, sample, cs.Nn())
}

// applyReuseGuard returns a copy of nonce whose first four bytes are XORed
// with the reuse guard (RFC 9420, Section 6.3.1). nonce is not modified.
func applyReuseGuard(nonce []byte, guard [4]byte) []byte {
	out := slices.Clone(nonce)
	for i := 0; i < len(guard) && i < len(out); i++ {
		out[i] ^= guard[i]
	}
	return out
}
