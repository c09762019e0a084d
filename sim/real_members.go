package sim

// This file owns the real backend's member states: materializing a
// member's sender or receiver state from its epoch's template and its own
// keys, the key oracle's exact private tree state of any member, and the
// garbage collection of epoch records, templates and sender states
// (re-materializing a real member that fell too far behind).

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/mlslab/mlslab/mls/core"
	"github.com/mlslab/mlslab/mls/treemath"
)

func (b *RealBackend) mem(m MemberID) *realMember {
	for int(m) >= len(b.members) {
		b.members = append(b.members, &realMember{leaf: -1})
	}
	return b.members[m]
}

// sampled reports whether m is a real receiver from its join on.
func (b *RealBackend) sampled(m MemberID) bool {
	return b.full || splitmix(b.cfg.Seed^uint64(uint32(m))*0x9fb21c651e98df25)%b.sampleEvery == 0
}

func (b *RealBackend) makeReal(m MemberID, g *core.Group) {
	rm := b.mem(m)
	if !rm.isReal {
		rm.isReal = true
		b.real = append(b.real, m)
	}
	rm.g = g
	rm.seen = nil
}

// copyOf materializes member m (leaf l) in tmpl's epoch with a fresh
// secret tree.
func (b *RealBackend) copyOf(tmpl *core.Group, l core.LeafIndex, sig []byte, priv *core.TreePrivate) *core.Group {
	g, err := materialize(tmpl, l, sig, priv)
	if err != nil {
		// The parts come from the simulator's own key store and were
		// checked against the tree: a failure is a simulator bug.
		panic(fmt.Sprintf("sim: materializing leaf %d: %v", l, err))
	}
	return g
}

func (b *RealBackend) epoch(e uint64) (*epochRec, error) {
	r := b.epochs[e]
	if r == nil {
		return nil, b.fail(fmt.Errorf("sim: state of epoch %d no longer kept (delivery service at %d)", e, b.cur.Epoch()))
	}
	return r, nil
}

// template returns the template of epoch e.
func (b *RealBackend) template(e uint64) (*epochRec, error) {
	r, err := b.epoch(e)
	if err == nil && r.tmpl == nil {
		err = b.fail(fmt.Errorf("sim: template of epoch %d no longer kept (delivery service at %d)", e, b.cur.Epoch()))
	}
	return r, err
}

// sendEpoch returns the epoch whose state a sender in epoch e uses: e, or
// for a member back from a long offline period that sends before it
// processed its backlog, the oldest epoch whose template is still kept (the
// message has the same size; its sender cost is measured in a slightly
// different tree).
func (b *RealBackend) sendEpoch(e uint64) uint64 {
	if e < b.lowTmpl {
		b.st.StaleSends++
		return b.lowTmpl
	}
	return e
}

// senderState returns m's sender state in epoch e (cached for the epoch).
func (b *RealBackend) senderState(m MemberID, e uint64) (*core.Group, error) {
	e = b.sendEpoch(e)
	rm := b.mem(m)
	if rm.send != nil && rm.sendEpoch == e {
		return rm.send, nil
	}
	if rm.leaf < 0 {
		return nil, b.fail(fmt.Errorf("sim: member %d has no leaf", m))
	}
	r, err := b.template(e)
	if err != nil {
		return nil, err
	}
	if id, ok := b.hijacked[m]; ok && b.shadows[id].epoch == e {
		// The adversary acting as its victim: its own state (the stolen
		// signature key, the epoch secrets and tree keys it derived).
		sh := b.shadows[id]
		g, err := core.RestoreGroup(r.tmpl.Config(), r.tmpl.Public(), sh.keys, core.LeafIndex(rm.leaf), sh.sig, sh.priv)
		if err != nil {
			return nil, b.fail(fmt.Errorf("sim: adversary state of compromise %d: %w", id, err))
		}
		// The adversary sends as its victim in this epoch (reusing the
		// victim's generations would be its choice to make).
		g.UnlockSending()
		if rm.send == nil {
			b.senders = append(b.senders, m)
		}
		rm.send, rm.sendEpoch = g, e
		return g, nil
	}
	var priv *core.TreePrivate
	if rm.g != nil && rm.g.Epoch() == e {
		priv = rm.g.TreePrivate()
	} else if priv, err = core.NewTreePrivate(r.tmpl.EpochSecrets().CipherSuite(), core.LeafIndex(rm.leaf), rm.leafPriv); err != nil {
		return nil, err
	}
	g, err := materialize(r.tmpl, core.LeafIndex(rm.leaf), rm.sig, priv)
	if err != nil {
		return nil, b.fail(fmt.Errorf("sim: sender state of member %d: %w", m, err))
	}
	// The member's only sender state of epoch e (cached in rm.send until
	// the epoch's template is dropped, see gc): no generation of
	// its ratchets was used in e.
	g.UnlockSending()
	if rm.send == nil {
		b.senders = append(b.senders, m)
	}
	rm.send, rm.sendEpoch = g, e
	return rm.send, nil
}

func (b *RealBackend) keyPackage(m MemberID) (*core.KeyPackageBundle, error) {
	rm := b.mem(m)
	if rm.kp == nil {
		kp, err := b.newKP(m)
		if err != nil {
			return nil, err
		}
		rm.kp, rm.sig = kp, kp.SignatureKey
	}
	return rm.kp, nil
}

// oracleState is the exact private tree state of member m in the tree of
// g (RFC 9420, Section 4.2), from the key oracle.
func (b *RealBackend) oracleState(m MemberID, g *core.Group) (*core.TreePrivate, error) {
	rm := b.mem(m)
	tree := g.Public().Tree()
	l := core.LeafIndex(rm.leaf)
	keys := []nodeKey{{node: l.Node(), priv: rm.leafPriv, pub: tree.Leaf(l).EncryptionKey}}
	for _, x := range treemath.DirectPath(l.Node(), tree.NumLeaves()) {
		pn := tree.ParentNode(x)
		if pn == nil || slices.Contains(pn.UnmergedLeaves, l) {
			continue
		}
		k, ok := b.nodes[x]
		if !ok || !bytes.Equal(k.pub, pn.EncryptionKey) {
			return nil, b.fail(fmt.Errorf("sim: %w: no private key for node %d", errFidelity, x))
		}
		keys = append(keys, k)
	}
	tp, err := newTreePrivate(tree.CipherSuite(), l, keys)
	if err != nil {
		return nil, b.fail(fmt.Errorf("sim: %w: oracle state of member %d: %v", errFidelity, m, err))
	}
	if err := tp.Check(tree); err != nil {
		return nil, b.fail(fmt.Errorf("sim: %w: oracle state of member %d: %v", errFidelity, m, err))
	}
	return tp, nil
}

const (
	// keepTemplates is how many past epoch templates are kept for senders
	// lagging behind the delivery service (and for application messages
	// of those epochs).
	keepTemplates = 64
	// maxLagEpochs bounds the epochs kept for real members that have not
	// processed them (offline): a real member further behind is
	// re-materialized in the current epoch (RealStats.Resyncs).
	maxLagEpochs = 1024
)

// gc drops epoch states no real member or sender needs any more. Real
// members process commits as they arrive (the engine's evDeliver), so
// only offline ones lag; templates are kept keepTemplates epochs and
// messages for at most maxLagEpochs.
func (b *RealBackend) gc() {
	cur := b.cur.Epoch()
	lowT := cur - min(cur, keepTemplates)
	low := min(lowT, cur-min(cur, 4))
	floor := cur - min(cur, maxLagEpochs)
	live := b.real[:0]
	for _, m := range b.real {
		rm := b.members[m]
		if !rm.isReal {
			continue
		}
		live = append(live, m)
		switch {
		case rm.welcome != nil:
			// A pending joiner needs its epoch's template (the
			// out-of-band ratchet tree) and record.
			lowT = min(lowT, rm.joinEpoch)
			low = min(low, rm.joinEpoch)
		case rm.g != nil:
			// A member with calls pending counts at the epoch they take it
			// to (as if flushed; its state may be changing in a batch).
			ep, queued := b.queuedEpoch(m)
			if !queued {
				ep = rm.g.Epoch()
			}
			if ep < floor {
				b.flush()
				if rm.g == nil {
					continue
				}
				if rm.g.Epoch() < floor {
					if err := b.resync(m); err != nil {
						continue
					}
				}
				ep = rm.g.Epoch()
			}
			low = min(low, ep)
		}
		for e := range rm.recv {
			if e < lowT {
				delete(rm.recv, e)
			}
		}
	}
	b.real = live
	for ; b.lowest < low; b.lowest++ {
		delete(b.epochs, b.lowest)
	}
	for e := max(b.lowTmpl, b.lowest); e < lowT; e++ {
		if r := b.epochs[e]; r != nil {
			r.tmpl = nil
		}
	}
	b.lowTmpl = max(b.lowTmpl, lowT)
	senders := b.senders[:0]
	for _, m := range b.senders {
		rm := b.members[m]
		// A sender state lives as long as its epoch's template: a state
		// made again for the same epoch would reuse ratchet generations.
		if rm.send != nil && rm.sendEpoch < b.lowTmpl {
			rm.send = nil
		}
		if rm.send != nil {
			senders = append(senders, m)
		}
	}
	b.senders = senders
}

// resync re-materializes real member m in the current epoch from the key
// oracle: it was offline for more than maxLagEpochs epochs.
func (b *RealBackend) resync(m MemberID) error {
	rm := b.mem(m)
	tp, err := b.oracleState(m, b.cur)
	if err != nil {
		return err
	}
	b.makeReal(m, b.copyOf(b.cur, core.LeafIndex(rm.leaf), rm.sig, tp))
	b.st.Resyncs++
	return nil
}

// RealReceivers implements RealReceivers: the members with a real state
// (or a pending real Welcome).
func (b *RealBackend) RealReceivers() []MemberID { return b.real }

// ProcessesCommits implements Backend: true for real members.
func (b *RealBackend) ProcessesCommits(m MemberID) bool {
	return int(m) < len(b.members) && b.members[m].g != nil
}
