package core

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/ed25519batch"
	"github.com/mlslab/mlslab/mls/internal/suite"
)

// Batch verification of a commit's Add signatures (batchVerifyAdds,
// issue 17): commits of batchTestAdds Adds, whose 2*batchTestAdds
// signatures reach ed25519batch.MinBatch, so applyProposals takes the
// batch path; every error must be the one verifying one signature at a
// time gives, at the committer, the receiver and in applyProposals.

const batchTestAdds = ed25519batch.MinBatch/2 + 2

// refAddError is the error of the Adds loop of applyProposals verifying
// every signature one at a time (as before batching), for a commit of
// only Adds: the first Add to fail, and for it the first failed rule.
func refAddError(t *testing.T, pg *PublicGroup, adds []*KeyPackage, cfg *Config) error {
	t.Helper()
	tr := pg.tree
	seen := map[string]bool{}
	for i, kp := range adds {
		if err := pg.validateKeyPackage(tr, pg.ctx.Extensions, kp, cfg, addSigs{}, nil); err != nil {
			return fmt.Errorf("mls: Add proposal %d: %w", i, err)
		}
		if seen[string(kp.LeafNode.SignatureKey)] {
			return protoErr(CodeInvalidProposal, ruleProposalList, "two Adds for the same client", nil)
		}
		seen[string(kp.LeafNode.SignatureKey)] = true
		var err error
		if tr, _, err = tr.Add(&kp.LeafNode); err != nil {
			t.Fatal(err)
		}
	}
	return nil
}

// badKPSignature returns a copy of kp with one bit of its KeyPackage
// signature flipped.
func badKPSignature(kp *KeyPackage) *KeyPackage {
	c := *kp
	c.Signature = slices.Clone(c.Signature)
	c.Signature[40] ^= 1
	return &c
}

// badLeafSignature returns a copy of kp with one bit of its LeafNode
// signature flipped (which also breaks the KeyPackage signature over it;
// the leaf is checked first, RFC 9420, Section 10.1).
func badLeafSignature(kp *KeyPackage) *KeyPackage {
	c := *kp
	c.LeafNode.Signature = slices.Clone(c.LeafNode.Signature)
	c.LeafNode.Signature[40] ^= 1
	return &c
}

func TestBatchAddsErrors(t *testing.T) {
	for _, id := range []suite.ID{1, 3} {
		t.Run(fmt.Sprintf("cs=%v", CipherSuite(id)), func(t *testing.T) {
			gs := benchGroups(t, fullTree(t, id, 16), 0, 5)
			committer, receiver := gs[0], gs[1]
			pg := committer.pub
			bundles := benchKPsSuite(t, id, batchTestAdds, 7)
			valid := make([]*KeyPackage, len(bundles))
			for i, b := range bundles {
				valid[i] = b.KeyPackage
			}
			if v := pg.batchVerifyAdds(valid, committer.cfg); len(v) != len(valid) || slices.ContainsFunc(v, func(s addSigs) bool { return !s.keyPackage || !s.leaf }) {
				t.Fatalf("valid Adds not batch verified: %v", v)
			}
			if v := pg.batchVerifyAdds(valid[:ed25519batch.MinBatch/2-1], committer.cfg); v != nil {
				t.Fatal("batch below ed25519batch.MinBatch signatures")
			}
			// A bad leaf signature under a valid KeyPackage signature: the
			// KeyPackage's verdict must not stand for its leaf's.
			resigned := badLeafSignature(valid[95])
			if err := resigned.Sign(bundles[95].SignatureKey); err != nil {
				t.Fatal(err)
			}
			if resigned.VerifySignature() != nil {
				t.Fatal("resigned KeyPackage signature invalid")
			}
			otherVersion := *valid[30]
			otherVersion.Version = 7 // its KeyPackage signature breaks too

			cases := []struct {
				name    string
				replace map[int]*KeyPackage
				want    error
			}{
				{"kp-sig", map[int]*KeyPackage{70: badKPSignature(valid[70])}, ErrInvalidSignature},
				{"leaf-sig", map[int]*KeyPackage{90: badLeafSignature(valid[90])}, ErrInvalidKeyPackage},
				{"leaf-sig-resigned", map[int]*KeyPackage{95: resigned}, ErrInvalidKeyPackage},
				{"two-bad", map[int]*KeyPackage{100: badKPSignature(valid[100]), 40: badLeafSignature(valid[40])}, ErrInvalidKeyPackage},
				{"kp-sig-first", map[int]*KeyPackage{100: badLeafSignature(valid[100]), 40: badKPSignature(valid[40])}, ErrInvalidSignature},
				{"version-then-sig", map[int]*KeyPackage{30: &otherVersion, 80: badKPSignature(valid[80])}, ErrInvalidKeyPackage},
				{"dup-then-sig", map[int]*KeyPackage{50: valid[20], 60: badKPSignature(valid[60])}, ErrInvalidKeyPackage}, // key reuse,
				{"sig-then-dup", map[int]*KeyPackage{50: valid[20], 45: badLeafSignature(valid[45])}, ErrInvalidKeyPackage},
				{"swapped-sig", map[int]*KeyPackage{10: func() *KeyPackage { c := *valid[10]; c.Signature = valid[11].Signature; return &c }()}, ErrInvalidSignature},
			}
			for _, tc := range cases {
				for _, n := range []int{batchTestAdds, 120} { // batched, and one at a time
					t.Run(fmt.Sprintf("%s/adds=%d", tc.name, n), func(t *testing.T) {
						adds := slices.Clone(valid[:n])
						for i, kp := range tc.replace {
							adds[i] = kp
						}
						if batched := pg.batchVerifyAdds(adds, committer.cfg) != nil; batched != (2*n >= ed25519batch.MinBatch) {
							t.Fatalf("batched %v with %d Adds", batched, n)
						}
						want := refAddError(t, pg, adds, committer.cfg)
						if want == nil || !errors.Is(want, tc.want) {
							t.Fatalf("reference error %v, want %v", want, tc.want)
						}
						var entries []proposalEntry
						props := make([]ProposalBody, n)
						refs := make([]ProposalOrRef, n)
						for i, kp := range adds {
							p := &Proposal{Body: &Add{KeyPackage: *kp}}
							entries = append(entries, proposalEntry{p: p, sender: Sender{Type: SenderTypeMember, Index: 0}})
							props[i] = p.Body
							refs[i] = ProposalOrRef{Type: ProposalOrRefProposal, Proposal: p}
						}
						// The shared seam (committer, receiver, observer).
						if _, err := applyProposals(pg, entries, Sender{Type: SenderTypeMember, Index: 0}, committer.cfg); err == nil || err.Error() != want.Error() {
							t.Fatalf("applyProposals: %v, want %v", err, want)
						}
						// The committer validating what it commits.
						if _, err := committer.Commit(CommitOptions{Proposals: props}); err == nil || !strings.Contains(err.Error(), want.Error()) || !sameCode(err, want) {
							t.Fatalf("Commit: %v, want %v", err, want)
						}
						// A receiver: rejected, state untouched.
						err := mustReject(t, receiver, mustEncode(t, forgeCommit(t, committer, refs, nil)), tc.name)
						if !strings.Contains(err.Error(), want.Error()) || !sameCode(err, want) {
							t.Fatalf("Process: %v, want %v", err, want)
						}
					})
				}
			}
			// The valid list commits and processes.
			props := make([]ProposalBody, len(valid))
			for i, kp := range valid {
				props[i] = &Add{KeyPackage: *kp}
			}
			pc, err := committer.Commit(CommitOptions{Proposals: props})
			if err != nil {
				t.Fatal(err)
			}
			r := *receiver
			if _, err := r.Process(pc.Commit); err != nil {
				t.Fatal(err)
			}
			if r.pub.tree.NumMembers() != 16+uint32(len(valid)) {
				t.Fatalf("%d members after the commit", r.pub.tree.NumMembers())
			}
		})
	}
}

// sameCode reports whether a and b carry the same ProtocolError code.
func sameCode(a, b error) bool {
	var pa, pb *ProtocolError
	return errors.As(a, &pa) && errors.As(b, &pb) && pa.Code == pb.Code
}

// TestBatchAddsRepeatedReference: a commit that lists one Add many times
// (e.g. one proposal reference repeated) is rejected at the first repeat
// (key reuse),
// and the batch covers only the Adds before it, so the work does not grow
// with the number of repeats (cold review of the batching: without the
// cut, 4096 repeats of one KeyPackage were each encoded, hashed and held).
func TestBatchAddsRepeatedReference(t *testing.T) {
	gs := benchGroups(t, fullTree(t, 1, 16), 0, 5)
	committer := gs[0]
	pg := committer.pub
	kp := benchKPsSuite(t, 1, 1, 9)[0].KeyPackage
	alloc := func(repeats int) uint64 {
		entries := make([]proposalEntry, repeats)
		p := &Proposal{Body: &Add{KeyPackage: *kp}}
		for i := range entries {
			entries[i] = proposalEntry{p: p, sender: Sender{Type: SenderTypeMember, Index: 0}}
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := applyProposals(pg, entries, Sender{Type: SenderTypeMember, Index: 0}, committer.cfg)
		runtime.ReadMemStats(&after)
		if err == nil { // key reuse (Section 7.3) at the first repeat
			t.Fatalf("%d repeats of one Add accepted", repeats)
		}
		return after.TotalAlloc - before.TotalAlloc
	}
	small, large := alloc(2), alloc(4096)
	if large > small+4096*256 { // per-entry bookkeeping (~110 B), not a batch entry each (~5 KB before)
		t.Fatalf("4096 repeats allocated %d bytes, 2 repeats %d: work grows with the repeats", large, small)
	}
}
