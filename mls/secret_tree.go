package mls

import (
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
// in a tree: changes build a new ratchet, so Clone can share them.
type ratchet struct {
	secret  []byte     // ratchet_secret_[N]_[next]
	next    uint64     // next generation not yet derived (up to 2^32)
	floor   uint64     // generations below floor are deleted
	skipped []KeyNonce // derived, unconsumed keys, ascending, floor <= g < next
}

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
// maps of references; secrets are never mutated in place).
type SecretTree struct {
	suite   *suite.Suite
	leaves  uint32
	depth   uint // level of the root: 2^depth >= leaves
	limits  SecretTreeLimits
	version uint64
	// nodes holds the not yet expanded tree secrets by node index
	// (array representation, RFC 9420 Appendix C): initially only the root.
	nodes map[uint32][]byte
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
		suite:    cs,
		leaves:   leaves,
		depth:    depth,
		limits:   SecretTreeLimits{}.resolved(),
		nodes:    map[uint32][]byte{nodeIndex(0, depth): encryptionSecret},
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
// other. PendingKeys derived from t can only be consumed on t.
func (t *SecretTree) Clone() *SecretTree {
	c := *t
	c.nodes = make(map[uint32][]byte, len(t.nodes))
	for k, v := range t.nodes {
		c.nodes[k] = v
	}
	c.ratchets = make(map[uint64]*ratchet, len(t.ratchets))
	for k, v := range t.ratchets {
		c.ratchets[k] = v
	}
	return &c
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
	if p.expanded {
		delete(t.nodes, p.delNode)
		for _, n := range p.addNodes {
			t.nodes[n.index] = n.secret
		}
		t.ratchets[ratchetKey(uint32(p.Leaf), p.otherType)] = p.other
	}
	t.ratchets[ratchetKey(uint32(p.Leaf), p.Type)] = p.newState
	t.version++
	p.consumed = true
	return nil
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
	r := t.ratchets[ratchetKey(leaf, typ)]
	if r == nil {
		// First use of this leaf: derive the path from the lowest stored
		// ancestor down to the leaf and both ratchets (Section 9).
		hs, app, err := t.derivePath(leaf, p)
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
	kn, nr, err := r.advance(t.suite, gen, t.limits)
	if err != nil {
		return nil, fmt.Errorf("%w (leaf %d, %v ratchet, generation %d)", err, leaf, typ, gen)
	}
	p.KeyNonce, p.newState = kn, nr
	return p, nil
}

// derivePath derives, without storing anything, the secrets from the lowest
// stored ancestor of leaf down to the leaf, recording in p the frontier
// changes, and returns the leaf's two initial ratchets.
func (t *SecretTree) derivePath(leaf uint32, p *PendingKey) (hs, app *ratchet, err error) {
	cs := t.suite
	level := uint(0)
	var secret []byte
	for ; level <= t.depth; level++ {
		if s, ok := t.nodes[nodeIndex(leaf, level)]; ok {
			secret = s
			break
		}
	}
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
		if leaf>>child&1 == 0 {
			secret = left
			p.addNodes = append(p.addNodes, nodeSecret{nodeIndex(leaf|1<<child, child), right})
		} else {
			secret = right
			p.addNodes = append(p.addNodes, nodeSecret{nodeIndex(leaf&^(1<<child), child), left})
		}
	}
	hs = &ratchet{secret: cs.ExpandWithLabel(secret, labelHandshake, nil, cs.Nh())}
	app = &ratchet{secret: cs.ExpandWithLabel(secret, labelApplication, nil, cs.Nh())}
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
func (r *ratchet) advance(cs *suite.Suite, gen uint64, lim SecretTreeLimits) (KeyNonce, *ratchet, error) {
	if gen < r.next {
		if gen < r.floor {
			return KeyNonce{}, nil, ErrGenerationTooOld
		}
		i, found := slices.BinarySearchFunc(r.skipped, gen, func(k KeyNonce, g uint64) int {
			switch {
			case uint64(k.Generation) < g:
				return -1
			case uint64(k.Generation) > g:
				return 1
			}
			return 0
		})
		if !found {
			return KeyNonce{}, nil, ErrKeyUsed
		}
		nr := &ratchet{secret: r.secret, next: r.next, floor: r.floor}
		nr.skipped = slices.Delete(slices.Clone(r.skipped), i, i+1)
		return r.skipped[i], nr, nil
	}
	if gen > math.MaxUint32 {
		return KeyNonce{}, nil, fmt.Errorf("%w: ratchet exhausted", ErrGenerationTooFar)
	}
	if gen-r.next > uint64(lim.MaxForwardDistance) {
		return KeyNonce{}, nil, fmt.Errorf("%w: %d generations beyond %d (limit %d)", ErrGenerationTooFar, gen-r.next, r.next, lim.MaxForwardDistance)
	}
	keep := uint64(lim.MaxRetainedKeys)
	nr := &ratchet{next: gen + 1, floor: r.floor}
	// Skipped generations that will be retained: [max(r.next, gen-keep), gen).
	from := r.next
	if gen-from > keep {
		from = gen - keep
		nr.floor = max(nr.floor, from)
	}
	nr.skipped = make([]KeyNonce, 0, gen-from)
	secret := r.secret
	for j := r.next; j < gen; j++ {
		if j >= from {
			nr.skipped = append(nr.skipped, ratchetKeyNonce(cs, secret, uint32(j)))
		}
		secret = cs.DeriveTreeSecret(secret, labelSecret, uint32(j), cs.Nh())
	}
	// Older retained keys go first when over the limit.
	if drop := len(r.skipped) + len(nr.skipped) - lim.MaxRetainedKeys; drop > 0 {
		kept := r.skipped[min(drop, len(r.skipped)):]
		if drop > len(r.skipped) {
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
		nr.secret = cs.DeriveTreeSecret(secret, labelSecret, uint32(gen), cs.Nh())
	}
	return kn, nr, nil
}

// KeyNonce derives the sender data key and nonce of a PrivateMessage from
// its ciphertext (RFC 9420, Section 6.3.2):
//
//	ciphertext_sample = ciphertext[0..KDF.Nh-1]   (the whole ciphertext if shorter)
//	sender_data_key   = ExpandWithLabel(sender_data_secret, "key", ciphertext_sample, AEAD.Nk)
//	sender_data_nonce = ExpandWithLabel(sender_data_secret, "nonce", ciphertext_sample, AEAD.Nn)
func (s SenderDataSecret) KeyNonce(cs *suite.Suite, ciphertext []byte) (key, nonce []byte) {
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
