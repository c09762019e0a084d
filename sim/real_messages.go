package sim

// This file owns the real backend's messages: proposals, application
// messages (sealed by their sender, decrypted by every real receiver),
// commits (built, accepted or rejected by the delivery service, processed
// by real receivers) and Welcome messages processed by real joiners.

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/mlslab/mlslab/mls/core"
)

type propKey struct {
	kind   ProposalKind
	sender MemberID
}

type propRec struct {
	kind       ProposalKind
	sender     MemberID
	subject    MemberID
	epoch      uint64
	msg        []byte
	ref        string // ProposalRef (Update: key of the sender's updateKeys)
	updatePriv []byte
	// ikm is the randomness the Update's leaf key pair was derived from
	// (RFC 9180 DeriveKeyPair): a re-send in a later epoch replays it, so
	// every re-send proposes the same leaf key (workloads/README.md,
	// "Adversary").
	ikm []byte
}

type realPending struct {
	spec         CommitSpec
	pc           *core.PendingCommit
	commit       []byte
	welcome      []byte
	refs         []*propRec
	cpu          time.Duration
	removedLeafs []core.LeafIndex
	byShadow     bool // built by a signature-key adversary from its own state
}

func (p *realPending) Spec() *CommitSpec { return &p.spec }

// buildProposal builds kind from sender about subject in epoch e. resend
// is the record of the same proposal sent in an earlier epoch (nil for a
// new proposal): a re-sent Update proposes the same leaf key.
func (b *RealBackend) buildProposal(kind ProposalKind, sender, subject MemberID, e uint64, resend *propRec) (*propRec, error) {
	g, err := b.senderState(sender, e)
	if err != nil {
		return nil, err
	}
	before := g.OwnUpdateKeys()
	var msg *core.MLSMessage
	var ikm []byte
	switch kind {
	case PropUpdate:
		// The leaf key pair is derived from the first bytes ProposeUpdate
		// draws: recorded for a new proposal, replayed for a re-send.
		if resend != nil && resend.ikm != nil {
			b.rng.replay, ikm = resend.ikm, resend.ikm
			msg, err = g.ProposeUpdate(&core.ProposeOptions{AuthenticatedData: b.aad})
			b.rng.replay = nil
		} else {
			b.rng.record = true
			msg, err = g.ProposeUpdate(&core.ProposeOptions{AuthenticatedData: b.aad})
			b.rng.record, ikm, b.rng.got = false, b.rng.got, nil
		}
	case PropRemove:
		msg, err = g.Propose(&core.Remove{Removed: uint32(b.mem(subject).leaf)}, &core.ProposeOptions{AuthenticatedData: b.aad})
	default:
		var kp *core.KeyPackageBundle
		if kp, err = b.keyPackage(subject); err == nil {
			msg, err = g.Propose(&core.Add{KeyPackage: *kp.KeyPackage}, &core.ProposeOptions{AuthenticatedData: b.aad})
		}
	}
	if err != nil {
		return nil, b.fail(fmt.Errorf("sim: %s proposal by %d: %w", kind, sender, err))
	}
	enc, err := msg.Marshal()
	if err != nil {
		return nil, err
	}
	r := &propRec{kind: kind, sender: sender, subject: subject, epoch: e, msg: enc, ikm: ikm}
	for ref, k := range g.OwnUpdateKeys() {
		if _, old := before[ref]; !old {
			r.ref, r.updatePriv = ref, k
		}
	}
	b.props[propKey{kind, sender}] = r
	b.st.Proposals++
	return r, nil
}

// Propose implements Backend.
func (b *RealBackend) Propose(kind ProposalKind, sender, subject MemberID, epoch uint64) (int, error) {
	b.flush()
	r, err := b.buildProposal(kind, sender, subject, epoch, nil)
	if err != nil {
		return 0, err
	}
	return len(r.msg), nil
}

// SendApplication implements Backend.
func (b *RealBackend) SendApplication(sender MemberID, epoch uint64, n int) (int, error) {
	b.flush()
	g, err := b.senderState(sender, epoch)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	pt := make([]byte, n)
	for i := range pt {
		pt[i] = byte(b.st.AppMessages + int64(i))
	}
	msg, err := g.SealApplication(pt, b.aad)
	if err != nil {
		return 0, b.fail(fmt.Errorf("sim: application message by %d: %w", sender, err))
	}
	enc, err := msg.Marshal()
	b.st.appCPU += time.Since(t0)
	b.st.appN++
	b.st.AppMessages++
	if err != nil {
		return 0, err
	}
	return len(enc), b.receiveApp(sender, g.Epoch(), enc, pt)
}

// receiveApp makes every real receiver decrypt an application message of
// epoch e (RFC 9420, Section 6.3): decode, sender data, the sender's
// ratchet, AEAD, signature, and compares the plaintext. A receiver in
// epoch e uses its own state; one that has not processed e's commit yet
// (it would buffer the message) or already moved past e (it keeps e's
// secret tree for late messages, Section 9.2) uses a secret tree of its
// own from e's epoch secrets. Members that joined after e are skipped.
func (b *RealBackend) receiveApp(sender MemberID, e uint64, enc, pt []byte) error {
	for _, m := range b.real {
		rm := b.members[m]
		if m == sender || !rm.isReal || rm.g == nil || rm.leaf < 0 || e < rm.joinEpoch {
			continue
		}
		t0 := time.Now()
		msg, err := core.UnmarshalMLSMessage(enc)
		if err != nil {
			return b.fail(err)
		}
		var got []byte
		if rm.g.Epoch() == e {
			out, err := rm.g.Process(msg)
			if err != nil {
				return b.fail(fmt.Errorf("sim: %w: member %d decrypting an application message of %d in epoch %d: %v", errFidelity, m, sender, e, err))
			}
			got = out.ApplicationData
		} else {
			r := b.epochs[e]
			if r == nil || r.tmpl == nil {
				continue
			}
			tree := r.tmpl.Public().Tree()
			st := rm.recv[e]
			if st == nil {
				if st, err = r.tmpl.EpochSecrets().NewSecretTree(tree.NumLeaves()); err != nil {
					return b.fail(err)
				}
				if rm.recv == nil {
					rm.recv = map[uint64]*core.SecretTree{}
				}
				rm.recv[e] = st
			}
			ctx := r.tmpl.Public().Context()
			o, err := core.OpenPrivate(r.tmpl.EpochSecrets().CipherSuite(), msg.PrivateMessage, &ctx, st, r.tmpl.EpochSecrets().SenderData, func(l uint32) ([]byte, error) {
				if ln := tree.Leaf(core.LeafIndex(l)); ln != nil {
					return ln.SignatureKey, nil
				}
				return nil, core.ErrUnknownSender
			})
			if err == nil {
				err = o.Consume()
			}
			if err != nil {
				return b.fail(fmt.Errorf("sim: %w: member %d (in epoch %d) decrypting an application message of %d in epoch %d: %v", errFidelity, m, rm.g.Epoch(), sender, e, err))
			}
			got = o.Content.Content.ApplicationData
		}
		b.st.openCPU += time.Since(t0)
		b.st.AppDecrypts++
		if !bytes.Equal(got, pt) {
			return b.fail(fmt.Errorf("sim: %w: member %d decrypted another plaintext", errFidelity, m))
		}
	}
	return nil
}

// CreateCommit implements Backend.
func (b *RealBackend) CreateCommit(spec CommitSpec) (Pending, error) {
	if spec.External {
		// Scenario validation keeps adversary.rejoin at fidelity model.
		return nil, errors.New("sim: external commits are not built at fidelity full/sampled (package mls has no external commit API)")
	}
	// The receivers' pending work overlaps this commit unless the commit
	// reads one of them: the committer's own state, or a proposal sender's
	// (a proposal by reference may have to be rebuilt).
	overlap := true
	for _, pr := range spec.Proposals {
		overlap = overlap && !pr.ByRef
	}
	for _, j := range b.deferred {
		overlap = overlap && j.m != spec.Committer
	}
	if overlap {
		b.startFlush()
	} else {
		b.flush()
	}
	e := spec.Epoch
	if e < b.lowTmpl {
		// A committer far behind (it was offline): its commit is rejected
		// for sure; it is built in the delivery service's epoch instead,
		// like the model's estimate of a rejected commit.
		e = b.cur.Epoch()
	}
	ss, err := b.senderState(spec.Committer, e)
	if err != nil {
		return nil, err
	}
	// A copy of the sender state (its ratchet generations included) with
	// an empty proposal cache: the commit covers exactly the engine's list.
	c := ss.Clone()
	c.DiscardProposals()
	p := &realPending{spec: spec}
	if spec.Adversary > 0 {
		id, ok := b.hijacked[spec.Committer]
		sh := b.shadows[spec.Adversary-1]
		// Built from the adversary's state when it is current; a commit
		// in an older epoch is rejected by the delivery service anyway.
		p.byShadow = ok && id == spec.Adversary-1 && sh.alive && sh.epoch == e
		if p.byShadow {
			b.st.AdversaryCommit++
		}
	}
	var byValue []core.ProposalBody
	for _, pr := range spec.Proposals {
		switch {
		case pr.ByRef:
			r := b.props[propKey{pr.Kind, pr.Sender}]
			if r == nil || r.epoch != e {
				// Re-sent in the commit's epoch (RFC 9420, Section 12.4:
				// proposals do not outlive their epoch).
				if r, err = b.buildProposal(pr.Kind, pr.Sender, pr.Subject, e, r); err != nil {
					return nil, err
				}
			}
			msg, err := core.UnmarshalMLSMessage(r.msg)
			if err != nil {
				return nil, err
			}
			if _, err := c.Process(msg); err != nil {
				return nil, b.fail(fmt.Errorf("sim: committer %d processing a %s proposal of %d: %w", spec.Committer, r.kind, r.sender, err))
			}
			p.refs = append(p.refs, r)
		case pr.Kind == PropRemove:
			byValue = append(byValue, &core.Remove{Removed: uint32(b.mem(pr.Subject).leaf)})
		case pr.Kind == PropAdd:
			kp, err := b.keyPackage(pr.Subject)
			if err != nil {
				return nil, err
			}
			byValue = append(byValue, &core.Add{KeyPackage: *kp.KeyPackage})
		default:
			return nil, fmt.Errorf("sim: %s proposal by value is not generated", pr.Kind)
		}
	}
	t0 := time.Now()
	pc, err := c.Commit(core.CommitOptions{Proposals: byValue, ForcePath: spec.Path, InlineTree: b.cfg.RatchetTreeInWelcome, AuthenticatedData: b.aad})
	if err != nil {
		return nil, b.fail(fmt.Errorf("sim: commit by %d in epoch %d: %w", spec.Committer, e, err))
	}
	// An encrypted commit consumed a generation of the member's handshake
	// ratchet in c, not in ss: c is the member's sender state of epoch e
	// from now on, so that no later message of e reuses that key and nonce,
	// whether or not the delivery service accepts the commit (RFC 9420,
	// Section 9.2). c differs from ss otherwise only in its proposal cache,
	// which sending does not read.
	if rm := b.mem(spec.Committer); rm.send == ss {
		rm.send = c
	}
	if p.commit, err = pc.Commit.Marshal(); err != nil {
		return nil, err
	}
	if pc.Welcome != nil {
		if p.welcome, err = pc.Welcome.Marshal(); err != nil {
			return nil, err
		}
	}
	p.cpu = time.Since(t0)
	p.pc = pc
	b.building[spec.Committer] = p
	b.st.createCPU += p.cpu
	b.st.createN++
	b.st.CommitsCreated++
	return p, nil
}

func (p *realPending) result(withWelcome bool) CommitResult {
	r := CommitResult{CommitBytes: len(p.commit), PathCiphertexts: p.pc.Stats.PathCiphertexts, CreateCPU: p.cpu}
	if withWelcome {
		r.WelcomeBytes = len(p.welcome)
	}
	return r
}

// RejectCommit implements Backend.
func (b *RealBackend) RejectCommit(p Pending, _ *Applied) (CommitResult, error) {
	rp := p.(*realPending)
	if b.building[rp.spec.Committer] == rp {
		delete(b.building, rp.spec.Committer)
	}
	b.dropStolen(rp)
	return rp.result(false), nil
}

// AcceptCommit implements Backend.
func (b *RealBackend) AcceptCommit(pp Pending, a *Applied) (CommitResult, error) {
	p := pp.(*realPending)
	spec := &p.spec
	if b.building[spec.Committer] == p {
		delete(b.building, spec.Committer)
	}
	// The receivers' batch may go on unless this commit changes one of its
	// members (the committer's state is replaced, removed members dropped).
	// (Their pending calls run first, as they would have on arrival.)
	for _, pr := range spec.Proposals {
		if _, q := b.queuedEpoch(pr.Subject); q && pr.Kind == PropRemove {
			b.flush()
		}
	}
	if _, q := b.queuedEpoch(spec.Committer); q {
		b.flush()
	}
	next := p.pc.NextGroup()
	e := spec.Epoch + 1
	res := p.result(true)
	// The real commit must be the one the symbolic tree applied.
	want := 0
	for _, l := range a.Path {
		want += l.Ciphertexts
	}
	added := p.pc.Stats.Added
	if want != res.PathCiphertexts || len(added) != len(a.AddedLeaves) {
		return res, b.fail(fmt.Errorf("sim: epoch %d: %w: real commit has %d path ciphertexts and %d adds, symbolic %d and %d",
			e, errFidelity, res.PathCiphertexts, len(added), want, len(a.AddedLeaves)))
	}
	for i, l := range added {
		if uint32(l) != a.AddedLeaves[i] {
			return res, b.fail(fmt.Errorf("sim: epoch %d: %w: add %d at leaf %d, symbolic %d", e, errFidelity, i, l, a.AddedLeaves[i]))
		}
	}
	prev := b.cur
	rec := &epochRec{tmpl: next, auth: next.EpochAuthenticator(), commit: p.commit, props: p.refs, committer: spec.Committer, added: added}
	b.epochs[e] = rec
	b.cur = next
	tree := next.Public().Tree()
	// Membership changes.
	var removed []MemberID
	for _, pr := range spec.Proposals {
		if pr.Kind == PropRemove {
			removed = append(removed, pr.Subject)
		}
	}
	for _, r := range removed {
		rm := b.mem(r)
		rm.leaf, rm.leafPriv, rm.g, rm.send, rm.kp = -1, nil, nil, nil, nil
		rm.isReal = false
	}
	for _, r := range p.refs {
		if r.kind == PropUpdate {
			b.mem(r.sender).leafPriv = r.updatePriv
		}
		delete(b.props, propKey{r.kind, r.sender})
	}
	ai := 0
	for _, pr := range spec.Proposals {
		if pr.Kind != PropAdd || pr.ByRef {
			continue
		}
		am := b.mem(pr.Subject)
		am.leaf, am.leafPriv, am.sig = int32(added[ai]), am.kp.EncryptionKey, am.kp.SignatureKey
		ai++
		if pr.Ghost {
			// The adversary's ghost: it holds the ghost's keys (below).
			if sh := b.shadows[spec.Adversary-1]; sh != nil {
				sh.ghost = pr.Subject
			}
			continue
		}
		if b.sampled(pr.Subject) {
			am.welcome, am.joinEpoch = p.welcome, e
			if !am.isReal {
				am.isReal = true
				b.real = append(b.real, pr.Subject)
			}
		} else {
			am.kp = nil
		}
	}
	// Key oracle: the committer's new private keys.
	cm := b.mem(spec.Committer)
	tp := next.TreePrivate()
	if spec.Path {
		cl := core.LeafIndex(cm.leaf)
		cm.leafPriv = tp.PrivateKey(cl.Node())
		for _, x := range tree.FilteredDirectPath(cl) {
			b.nodes[x] = nodeKey{node: x, priv: tp.PrivateKey(x), pub: tree.Node(x).EncryptionKey()}
		}
	}
	if cm.isReal && cm.welcome == nil {
		b.makeReal(spec.Committer, b.copyOf(next, core.LeafIndex(cm.leaf), cm.sig, tp))
	}
	if err := b.adversary(p, prev, next, removed); err != nil {
		return res, err
	}
	b.dropStolen(p)
	b.gc()
	return res, nil
}

// ProcessCommit implements Backend: real member m processes the commit
// that created epoch e, after the proposals it references. With several
// Workers the call is deferred to the next flush (its failure is counted
// by Sync).
func (b *RealBackend) ProcessCommit(m MemberID, e uint64) error {
	// Nothing to do for a member that is (or its pending calls take it)
	// at or past e, e.g. one re-materialized after a long absence.
	rm := b.mem(m)
	cur, queued := b.queuedEpoch(m)
	if !queued {
		if rm.g == nil {
			return nil
		}
		cur = rm.g.Epoch() // not in a running batch: safe to read
	}
	if cur >= e {
		return nil
	}
	r, err := b.epoch(e)
	if err != nil {
		return err
	}
	j := procJob{m: m, e: e, r: r}
	if r.tmpl != nil {
		j.pub = r.tmpl.Public()
	}
	if b.Workers > 1 {
		b.deferred = append(b.deferred, j)
		if len(b.deferred) >= maxDeferred {
			b.flush()
		}
		return nil
	}
	err = b.processCommit(rm, j)
	b.lastBatch = []memberJobs{{rm: rm, m: m}}
	b.settle()
	return err
}

// processCommit is ProcessCommit done now. It touches only member m's
// state, reads the kept epoch records, and updates the statistics under
// b.mu, so flush may run it for different members concurrently.
func (b *RealBackend) processCommit(rm *realMember, j procJob) error {
	m, e, r := j.m, j.e, j.r
	if rm.g == nil || rm.g.Epoch() >= e {
		return nil
	}
	if rm.g.Epoch() != e-1 {
		return b.fail(fmt.Errorf("sim: member %d at epoch %d cannot process epoch %d", m, rm.g.Epoch(), e))
	}
	for _, pr := range r.props {
		if rm.seen[pr] {
			continue
		}
		msg, err := core.UnmarshalMLSMessage(pr.msg)
		if err != nil {
			return err
		}
		if _, err := rm.g.Process(msg); err != nil {
			return b.fail(fmt.Errorf("sim: member %d processing a %s proposal of %d in epoch %d: %w", m, pr.kind, pr.sender, e-1, err))
		}
		if pr.sender == m && pr.updatePriv != nil {
			// Our own Update: the client kept its new leaf key.
			rm.g.RegisterUpdateKey([]byte(pr.ref), pr.updatePriv)
		}
	}
	msg, err := core.UnmarshalMLSMessage(r.commit)
	if err != nil {
		return err
	}
	t0 := time.Now()
	out, err := rm.g.Process(msg)
	d := time.Since(t0)
	b.mu.Lock()
	b.st.procCPU += d
	b.st.procN++
	if err == nil {
		b.st.CommitsProcessed++
		if !out.SelfRemoved {
			b.st.AuthenticatorChecks++
		}
	}
	b.mu.Unlock()
	if err != nil {
		return b.fail(fmt.Errorf("sim: member %d processing the commit of epoch %d: %w", m, e, err))
	}
	rm.seen = nil
	if out.SelfRemoved {
		// Applied by the engine goroutine (settle): ProcessesCommits may
		// read rm.g while a batch runs.
		rm.selfRemoved = true
		return nil
	}
	if !bytes.Equal(rm.g.EpochAuthenticator(), r.auth) {
		return b.fail(fmt.Errorf("sim: %w: member %d derived another epoch authenticator for epoch %d", errFidelity, m, e))
	}
	// The member computed the epoch's public state itself; from now on it
	// shares the template's immutable copy (one PublicGroup per
	// epoch), so real members do not each hold a tree.
	if j.pub != nil {
		if err := rm.g.AdoptPublic(j.pub); err != nil {
			return b.fail(fmt.Errorf("sim: %w: member %d computed another public state for epoch %d", errFidelity, m, e))
		}
	}
	return nil
}

// Join implements Backend: a real joiner processes its Welcome.
func (b *RealBackend) Join(m MemberID, e uint64) error {
	b.flush()
	rm := b.mem(m)
	if rm.welcome == nil {
		return nil
	}
	r, err := b.epoch(e)
	if err != nil {
		return err
	}
	if !b.cfg.RatchetTreeInWelcome && r.tmpl == nil {
		return b.fail(fmt.Errorf("sim: template of epoch %d no longer kept for joiner %d", e, m))
	}
	msg, err := core.UnmarshalMLSMessage(rm.welcome)
	if err != nil {
		return err
	}
	opts := &core.JoinOptions{}
	if !b.cfg.RatchetTreeInWelcome {
		// Delivered out of band (RFC 9420, Section 12.4.3.3).
		if opts.RatchetTree, err = r.tmpl.Public().Tree().MarshalRatchetTree(); err != nil {
			return err
		}
	}
	t0 := time.Now()
	g, err := core.Join(b.mcfg, msg, rm.kp, opts)
	b.st.joinCPU += time.Since(t0)
	if err != nil {
		return b.fail(fmt.Errorf("sim: member %d joining epoch %d: %w", m, e, err))
	}
	b.st.Joins++
	rm.welcome, rm.kp = nil, nil
	b.makeReal(m, g)
	b.st.AuthenticatorChecks++
	if !bytes.Equal(g.EpochAuthenticator(), r.auth) {
		return b.fail(fmt.Errorf("sim: %w: joiner %d derived another epoch authenticator for epoch %d", errFidelity, m, e))
	}
	if r.tmpl != nil {
		if err := g.AdoptPublic(r.tmpl.Public()); err != nil {
			return b.fail(fmt.Errorf("sim: %w: joiner %d computed another public state for epoch %d", errFidelity, m, e))
		}
	}
	return nil
}
