package core

import (
	"bytes"
	"errors"
	"fmt"
)

// The leaked-state API (package documentation, "Leaked state"): what an
// adversary holding a member's secrets (RFC 9420, Section 16.6) can
// derive from the commits it observes, computed by the receiver's own
// pipeline steps (openHandshake, stagedCommit.decryptPath, keySchedule).

// LeakedMember is one member's private state as an adversary holds it.
type LeakedMember struct {
	// Tree is the member's private tree state of the epoch (nil: none).
	Tree *TreePrivate
	// UpdateKeys are the leaf private keys of Update proposals the member
	// sent and that may not be committed yet (pending secrets, RFC 9420
	// Section 16.6). When one of them is the private key of the member's
	// leaf in the new tree (its Update was committed, Section 12.1.2),
	// the member's new state holds it.
	UpdateKeys [][]byte
}

// LeakedState is what an adversary holds of one epoch: its secrets
// (init_secret included) and the private states of the members it
// compromised.
type LeakedState struct {
	Secrets *EpochSecrets
	Members []LeakedMember
}

// AcceptedCommit is a commit as the honest members accepted it.
type AcceptedCommit struct {
	// Message is the commit as sent (PublicMessage or PrivateMessage).
	Message *MLSMessage
	// Next is the public state of the epoch the commit created, as the
	// honest members computed it (Group.Public after Process or Merge,
	// PublicGroup.ApplyCommit).
	Next *PublicGroup
	// Added are the leaves the commit added, in order (Processed.Added,
	// CommitStats.Added): their new members get the path secrets in the
	// Welcome, not in the UpdatePath (Section 7.5).
	Added []LeafIndex
}

// LeakedOutcome is what AdvanceLeaked found.
type LeakedOutcome uint8

const (
	// LeakedDerived: the adversary derived the new epoch's secrets.
	LeakedDerived LeakedOutcome = iota + 1
	// LeakedLockedOut: the commit has an UpdatePath and no leaked member
	// state holds a private key of the path's copath resolutions (each
	// was replaced, removed, or is the committer's): post-compromise
	// security took effect (RFC 9420, Section 16.6).
	LeakedLockedOut
	// LeakedMismatch: the leaked epoch secrets do not fit the commit. A
	// PrivateMessage commit does not open with them, a PublicMessage's
	// membership tag does not verify, or the new epoch's confirmation tag
	// does not verify: they are another epoch's, or the
	// commit's key schedule takes a PSK (AdvanceLeaked assumes none).
	LeakedMismatch
)

// String returns the outcome's name.
func (o LeakedOutcome) String() string {
	switch o {
	case LeakedDerived:
		return "derived"
	case LeakedLockedOut:
		return "locked out"
	case LeakedMismatch:
		return "mismatch"
	}
	return fmt.Sprintf("LeakedOutcome(%d)", uint8(o))
}

// LeakedEpoch is the result of AdvanceLeaked.
type LeakedEpoch struct {
	Outcome LeakedOutcome
	// Secrets are the new epoch's secrets (LeakedDerived only).
	Secrets *EpochSecrets
	// Trees are the members' private states in the new epoch, one per
	// LeakedState.Members entry (nil for a nil Tree), pruned to the new
	// tree (LeakedDerived only).
	Trees []*TreePrivate
}

// AdvanceLeaked derives, from the leaked state s of pg's epoch, the epoch
// that commit c created, as the compromised members would have (RFC 9420,
// Section 12.4.2, receiver steps):
//
//  1. the commit is opened with s.Secrets (Sections 6.2, 6.3): a
//     PublicMessage's signature and membership tag are verified; a
//     PrivateMessage is decrypted with a fresh secret tree of the epoch
//     and its signature verified;
//  2. the committer must be a member or an external joiner (Section 12.4);
//  3. each leaked member's tree state is pruned to the new tree, takes the
//     leaf key of its committed Update if UpdateKeys holds it (Section
//     12.1.2), and decrypts the UpdatePath if it holds a key of the path's
//     copath resolutions (Sections 7.5, 12.4.2; the member that committed
//     or was removed cannot);
//  4. the key schedule runs from the epoch's init_secret (or the external
//     init of an external commit, Section 8.3), the commit_secret (zero
//     without a path) and a zero psk_secret (Section 8), over the new
//     GroupContext (c.Next's, whose confirmed transcript hash must be the
//     one the commit gives, Section 8.2); the commit's confirmation tag
//     must verify (Section 6.1).
//
// What it does NOT do: the proposal list is neither resolved nor validated
// nor applied, and the UpdatePath is neither validated nor merged: the new
// tree, extensions and tree hash are taken from c.Next and the added
// leaves from c.Added, as the honest receivers, who accepted the commit,
// computed them. No PSK is known to the adversary. Neither pg nor s is
// modified; the result's secrets and keys are the caller's (never erased
// by this package). cfg supplies the size limits (nil: defaults).
//
// A commit that has an UpdatePath none of the members can decrypt gives
// LeakedLockedOut; secrets that do not fit the commit give LeakedMismatch.
// An error means the inputs are inconsistent (c.Next is not the epoch
// c.Message creates from pg, c.Added is not its added leaves, a malformed
// path) or a key cannot be used.
func (pg *PublicGroup) AdvanceLeaked(s *LeakedState, c *AcceptedCommit, cfg *Config) (*LeakedEpoch, error) {
	if s == nil || s.Secrets == nil || c == nil || c.Message == nil || c.Next == nil {
		return nil, errors.New("mls: AdvanceLeaked: missing leaked secrets, commit or next epoch")
	}
	next := c.Next
	if next.cs.ID() != pg.cs.ID() || !bytes.Equal(next.ctx.GroupID, pg.ctx.GroupID) || next.ctx.Epoch != pg.ctx.Epoch+1 {
		return nil, fmt.Errorf("mls: AdvanceLeaked: next epoch %d of group %x does not follow epoch %d of group %x", next.ctx.Epoch, next.ctx.GroupID, pg.ctx.Epoch, pg.ctx.GroupID)
	}
	// 1. Open the commit with the leaked epoch secrets.
	stree, err := s.Secrets.NewSecretTree(pg.tree.NumLeaves())
	if err != nil {
		return nil, err
	}
	ac, _, err := openHandshake(pg, cfg, &s.Secrets.Membership, s.Secrets.SenderData, stree, c.Message)
	if err != nil {
		// A PrivateMessage that does not open, or a PublicMessage whose
		// membership tag does not verify, with the leaked secrets.
		if c.Message.WireFormat == WireFormatPrivateMessage || errors.Is(err, ErrInvalidMAC) {
			return &LeakedEpoch{Outcome: LeakedMismatch}, nil
		}
		return nil, err
	}
	if ac.Content.ContentType != ContentTypeCommit || ac.Content.Commit == nil {
		return nil, protoErr(CodeInvalidMessage, "RFC 9420 §12.4", "not a commit", nil)
	}
	// 2. The committer.
	if err := checkCommitSender(ac.Content.Sender); err != nil {
		return nil, err
	}
	st, ext, err := pg.restageCommit(ac, next, c.Added)
	if err != nil {
		return nil, err
	}
	// The commit must be the one that created next (Section 8.2).
	cth, err := st.confirmedHash(ac)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(cth, next.ctx.ConfirmedTranscriptHash) {
		return nil, errors.New("mls: AdvanceLeaked: the commit does not create the next epoch given (confirmed transcript hash)")
	}
	// 3. The members' private states and the commit_secret.
	out := &LeakedEpoch{Trees: make([]*TreePrivate, len(s.Members))}
	var commitSecret CommitSecret
	decrypted := false
	for i, m := range s.Members {
		if m.Tree == nil {
			continue
		}
		np, err := m.Tree.Prune(st.tree).withUpdateKey(st.tree, m.UpdateKeys)
		if err != nil {
			return nil, err
		}
		out.Trees[i] = np
		if st.path == nil || st.tree.Leaf(np.leaf) == nil || np.leaf == st.sender {
			continue // no path, removed, or the committer's leaf (it drew the path)
		}
		dp, secret, err := st.decryptPath(np)
		if errors.Is(err, ErrDecrypt) {
			continue // holds no key of the path's copath resolutions
		}
		if err != nil {
			return nil, fmt.Errorf("mls: AdvanceLeaked: member %d: %w", i, err)
		}
		out.Trees[i], commitSecret, decrypted = dp, secret, true
	}
	if st.path != nil && !decrypted {
		return &LeakedEpoch{Outcome: LeakedLockedOut}, nil
	}
	// 4. The key schedule.
	st.ctx.ConfirmedTranscriptHash = cth
	ctxBytes, err := st.ctx.Marshal()
	if err != nil {
		return nil, err
	}
	init, err := commitInitSecret(s.Secrets, st.committer, ext)
	if err != nil {
		return nil, err
	}
	_, keys, _, err := st.keySchedule(ac, ctxBytes, init, commitSecret, nil)
	if st.committer.Type == SenderTypeNewMemberCommit {
		clear(init) // from the external init, ours
	}
	if errors.Is(err, ErrInvalidMAC) {
		return &LeakedEpoch{Outcome: LeakedMismatch}, nil
	}
	if err != nil {
		return nil, err
	}
	keys.markShared()
	for i, t := range out.Trees {
		if t != nil {
			out.Trees[i] = t.Prune(st.tree)
			out.Trees[i].markShared()
		}
	}
	out.Outcome, out.Secrets = LeakedDerived, keys
	return out, nil
}

// restageCommit is the stage of a commit ac the honest receivers accepted
// and that created next, rebuilt from next without applying the proposals
// or merging the path (the tree, extensions and tree hash are next's, the
// provisional GroupContext has pg's confirmed transcript hash; RFC 9420,
// Section 12.4.2). It also returns an external commit's ExternalInit
// (by value, Section 12.4.3.2).
func (pg *PublicGroup) restageCommit(ac *AuthenticatedContent, next *PublicGroup, added []LeafIndex) (*stagedCommit, *ExternalInit, error) {
	commit := ac.Content.Commit
	st := &stagedCommit{pg: pg, committer: ac.Content.Sender, tree: next.tree, ctx: next.ctx, sender: LeafIndex(ac.Content.Sender.Index), added: added, path: commit.Path}
	st.ctx.ConfirmedTranscriptHash = pg.ctx.ConfirmedTranscriptHash
	var ext *ExternalInit
	if st.committer.Type == SenderTypeNewMemberCommit {
		for i := range commit.Proposals {
			if p := commit.Proposals[i].Proposal; p != nil {
				if e, ok := p.Body.(*ExternalInit); ok {
					ext = e
				}
			}
		}
		if commit.Path == nil {
			return nil, nil, protoErr(CodeInvalidCommit, "RFC 9420 §12.4.3.2 external commit path", "", nil)
		}
		// The joiner's leaf is the one holding its path's leaf key.
		x, ok := st.tree.ContainsEncryptionKey(commit.Path.LeafNode.EncryptionKey)
		if !ok || x%2 != 0 {
			return nil, nil, errors.New("mls: AdvanceLeaked: the external joiner's leaf is not in the next epoch's tree")
		}
		st.sender = LeafIndex(x / 2)
	}
	return st, ext, nil
}

// withUpdateKey returns p with the leaf key of its leaf in t when p lacks
// it and one of keys is its private key (the member's Update proposal was
// committed, RFC 9420, Section 12.1.2), else p.
func (p *TreePrivate) withUpdateKey(t *RatchetTree, keys [][]byte) (*TreePrivate, error) {
	ln := t.Leaf(p.leaf)
	if ln == nil || len(keys) == 0 || p.find(p.leaf.Node()) != nil {
		return p, nil
	}
	for _, k := range keys {
		lk, err := newTreePrivate(t.cs, p.leaf, k)
		if err != nil {
			return nil, err
		}
		if bytes.Equal(lk.keys[0].pub, ln.EncryptionKey) {
			// The Update blanked the leaf's direct path: the leaf key
			// joins whatever p still holds above it.
			return p.with(lk.keys, nil), nil
		}
	}
	return p, nil
}
