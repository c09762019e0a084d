package sim

// This file owns the real half of the adversary (the symbolic half is
// adversary.go): at fidelity full and sampled each compromise is a shadow
// client holding the victim's real state, which tries to derive every
// later epoch with real decryption and the real key schedule (see
// RealBackend, "Adversary", and docs/pcs.md).

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/mlslab/mlslab/mls/core"
)

type shadow struct {
	victim    MemberID
	signature bool
	alive     bool
	sig       []byte // the stolen signature private key
	epoch     uint64 // the epoch priv and keys are of
	priv      *core.TreePrivate
	keys      *core.EpochSecrets
	last      bool
	known     bool
	// Pending secrets of the victim at the compromise: the leaf private
	// keys of its uncommitted Update proposals and the commit it had built
	// and the delivery service had not yet decided.
	updKeys [][]byte
	stolen  *realPending
	// ghost is the ghost member this signature-key adversary added (-1 if
	// none) and gpriv its private tree state (nil while not in the group).
	ghost MemberID
	gpriv *core.TreePrivate
}

// dropStolen forgets p as a shadow's stolen pending commit once the
// delivery service has decided it (its secrets were used, or never will be).
func (b *RealBackend) dropStolen(p *realPending) {
	for _, sh := range b.shadows {
		if sh.stolen == p {
			sh.stolen = nil
		}
	}
}

// Compromise implements Backend: the adversary of compromise id takes the
// victim's whole real state in the delivery service's epoch (private tree
// keys, epoch secrets with the init secret, signature key) and its pending
// secrets (the leaf keys of its uncommitted Update proposals, the commit
// it built that the delivery service has not decided yet), and the victim
// becomes a real member. A victim that is a real member is taken from its
// real core.Group: a copy processes the commits it has not received yet
// (what the adversary can do with its state), and its tree keys must equal
// the key oracle's. Other victims (not in the `sampled` sample) have no
// real receiver state: their tree keys come from the key oracle, checked
// against the tree.
func (b *RealBackend) Compromise(id int, victim MemberID, signature bool) error {
	b.flush()
	rm := b.mem(victim)
	if rm.leaf < 0 {
		return b.fail(fmt.Errorf("sim: compromised member %d has no leaf", victim))
	}
	tp, err := b.oracleState(victim, b.cur)
	if err != nil {
		return err
	}
	sh := &shadow{victim: victim, signature: signature, alive: true, sig: rm.sig, epoch: b.cur.Epoch(), priv: tp, keys: b.cur.EpochSecrets(), ghost: -1}
	if rm.g != nil && rm.welcome == nil {
		// A real member: the adversary takes its real state and, if it is
		// behind, processes the commits it has not received yet itself
		// (on a copy); the result must be the key oracle's state.
		g, err := b.catchUp(victim, rm)
		if err != nil {
			return err
		}
		if !sameTreePrivate(g.TreePrivate(), tp) {
			return b.fail(fmt.Errorf("sim: %w: compromised member %d's real tree keys differ from the key oracle's", errFidelity, victim))
		}
		sh.priv, sh.keys = g.TreePrivate(), g.EpochSecrets()
		for _, k := range g.OwnUpdateKeys() {
			sh.updKeys = append(sh.updKeys, k)
		}
	}
	// Pending secrets the client holds (RFC 9420, Section 16.6): the leaf
	// keys of its uncommitted Update proposals (its real states' own
	// Update keys, and the proposal it would re-send) and the commit it
	// built that the delivery service has not decided yet.
	for _, g := range []*core.Group{rm.g, rm.send} {
		if g != nil {
			for _, k := range g.OwnUpdateKeys() {
				sh.updKeys = append(sh.updKeys, k)
			}
		}
	}
	if r := b.props[propKey{PropUpdate, victim}]; r != nil {
		sh.updKeys = append(sh.updKeys, r.updatePriv)
	}
	sh.stolen = b.building[victim]
	b.shadows[id] = sh
	if signature {
		b.hijacked[victim] = id
	}
	if rm.welcome == nil && (rm.g == nil || rm.g.Epoch() < b.cur.Epoch()) {
		b.makeReal(victim, b.copyOf(b.cur, core.LeafIndex(rm.leaf), rm.sig, tp))
	}
	return nil
}

// catchUp returns a copy of real member m's state moved to the delivery
// service's epoch by processing, in order, the proposals and commits it
// has not processed yet (what an adversary holding its state can do).
func (b *RealBackend) catchUp(m MemberID, rm *realMember) (*core.Group, error) {
	tmp := &realMember{g: rm.g.Clone(), leaf: rm.leaf, isReal: true}
	if rm.seen != nil {
		tmp.seen = map[*propRec]bool{}
		for k, v := range rm.seen {
			tmp.seen[k] = v
		}
	}
	for e := tmp.g.Epoch() + 1; e <= b.cur.Epoch(); e++ {
		r, err := b.epoch(e)
		if err != nil {
			return nil, err
		}
		j := procJob{m: m, e: e, r: r}
		if r.tmpl != nil {
			j.pub = r.tmpl.Public()
		}
		if err := b.processCommit(tmp, j); err != nil {
			return nil, err
		}
	}
	if tmp.g.Epoch() != b.cur.Epoch() || !bytes.Equal(tmp.g.EpochAuthenticator(), b.cur.EpochAuthenticator()) {
		return nil, b.fail(fmt.Errorf("sim: %w: compromised member %d did not reach the delivery service's epoch", errFidelity, m))
	}
	return tmp.g, nil
}

// sameTreePrivate reports whether a and b hold the same private keys.
func sameTreePrivate(a, b *core.TreePrivate) bool {
	na, nb := a.Nodes(), b.Nodes()
	if a.Leaf() != b.Leaf() || !slices.Equal(na, nb) {
		return false
	}
	for _, x := range na {
		if !bytes.Equal(a.PrivateKey(x), b.PrivateKey(x)) {
			return false
		}
	}
	return true
}

// AdversaryDerived reports whether the shadow client of compromise id
// derived the last accepted epoch (known is false for no such shadow).
func (b *RealBackend) AdversaryDerived(id int) (derived, known bool) {
	// Shadow clients only: no receiver state is read.
	sh := b.shadows[id]
	if sh == nil {
		return false, false
	}
	return sh.last, sh.known
}

// adversary runs every live shadow client over the accepted commit.
func (b *RealBackend) adversary(p *realPending, prev, next *core.Group, removed []MemberID) error {
	for id, sh := range b.shadows {
		sh.known = false
		if !sh.alive {
			continue
		}
		if sh.ghost >= 0 && b.mem(sh.ghost).leaf < 0 {
			sh.gpriv = nil // its ghost was removed
		}
		sh.known = true
		b.st.AdversaryAttempts++
		gone := slices.Contains(removed, sh.victim) || b.mem(sh.victim).leaf < 0
		if !gone && ((p.byShadow && p.spec.Adversary == id+1) || p == sh.stolen) {
			// Its own commit as the victim (signed with the stolen key,
			// accepted by the real receivers), or the victim's commit it
			// stole while pending: it holds the path secrets, so the new
			// keys and the next epoch's secrets.
			sh.priv, sh.keys, sh.epoch, sh.last = next.TreePrivate(), next.EpochSecrets(), next.Epoch(), true
			if p.spec.Adversary == id+1 && sh.ghost >= 0 && b.mem(sh.ghost).leaf >= 0 {
				// It built the commit: it knows the ghost's new keys too.
				g, err := b.oracleState(sh.ghost, next)
				if err != nil {
					return err
				}
				sh.gpriv = g
			}
			b.st.AdversarySuccesses++
			continue
		}
		ok, err := b.tryEpoch(sh, p, prev, next)
		if err != nil {
			return err
		}
		sh.last, sh.alive = ok, ok
		if ok {
			sh.epoch = next.Epoch()
			b.st.AdversarySuccesses++
		} else if b.hijacked[sh.victim] == id {
			delete(b.hijacked, sh.victim)
		}
	}
	return nil
}

// tryEpoch makes shadow sh try to derive next's epoch from the commit it
// observed, with the keys it holds: the victim's private tree state and
// its stolen Update keys, its ghost's, and the epoch's secrets
// (core.PublicGroup.AdvanceLeaked, the receiver's own steps).
func (b *RealBackend) tryEpoch(sh *shadow, p *realPending, prev, next *core.Group) (bool, error) {
	msg, err := core.UnmarshalMLSMessage(p.commit)
	if err != nil {
		return false, err
	}
	leaked := &core.LeakedState{Secrets: sh.keys, Members: []core.LeakedMember{
		{Tree: sh.priv, UpdateKeys: sh.updKeys},
		{Tree: sh.gpriv},
	}}
	res, err := prev.Public().AdvanceLeaked(leaked, &core.AcceptedCommit{Message: msg, Next: next.Public(), Added: p.pc.Stats.Added}, b.mcfg)
	if err != nil {
		return false, b.fail(fmt.Errorf("sim: epoch %d: the adversary of member %d: %w", next.Epoch(), sh.victim, err))
	}
	if res.Outcome != core.LeakedDerived {
		return false, nil // locked out (or its secrets do not fit)
	}
	sh.priv, sh.keys = res.Trees[0], res.Secrets
	if res.Trees[1] != nil {
		sh.gpriv = res.Trees[1]
	}
	return true, nil
}
