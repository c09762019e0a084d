package suite

import "github.com/mlslab/mlslab/mls/internal/ed25519batch"

// BatchVerifier checks many VerifyWithLabel signatures (RFC 9420, Section
// 5.1.2) of one label at once, for callers that verify a whole ratchet
// tree's leaves (Section 12.4.3.1): Ed25519 signatures are verified with
// the random linear combination of mls/internal/ed25519batch, which
// accepts exactly what crypto/ed25519.Verify accepts (except with
// probability at most 2^-127 per batch, see that package's doc), at about
// half the cost per signature for thousands of them.
//
// The messages are the SignContent encodings VerifyWithLabel verifies
// (SignContent), so the label encoding has one home.
type BatchVerifier struct {
	label   string
	entries []ed25519batch.Entry
}

// NewBatchVerifier returns a BatchVerifier for n VerifyWithLabel(_, label,
// _, _) checks, or nil when batching would not be cheaper than n
// individual checks: the suite's signature scheme is not Ed25519 (suites
// 0x0001 and 0x0003), or n < ed25519batch.MinBatch.
func (s *Suite) NewBatchVerifier(label string, n int) *BatchVerifier {
	if s.sig != sigEd25519 || n < ed25519batch.MinBatch {
		return nil
	}
	return &BatchVerifier{label: label, entries: make([]ed25519batch.Entry, n)}
}

// Set records check i: VerifyWithLabel(pub, label, content, signature).
// content is encoded into a new SignContent; pub and signature are kept,
// not copied, until Verify returns. Calls with distinct i may run
// concurrently.
func (b *BatchVerifier) Set(i int, pub, content, signature []byte) {
	b.entries[i] = ed25519batch.Entry{PublicKey: pub, Message: SignContent(b.label, content), Signature: signature}
}

// SetLabeled is Set with label in place of the verifier's: check i is
// VerifyWithLabel(pub, label, content, signature). It lets one batch mix
// labels, e.g. a commit's KeyPackage signatures ("KeyPackageTBS") and
// their LeafNodes' ("LeafNodeTBS"), so that together they reach MinBatch.
func (b *BatchVerifier) SetLabeled(i int, label string, pub, content, signature []byte) {
	b.entries[i] = ed25519batch.Entry{PublicKey: pub, Message: SignContent(label, content), Signature: signature}
}

// Verify reports, for each check i, whether VerifyWithLabel would return
// nil (false for a check never Set). The checks are split into up to
// workers batches verified concurrently (ed25519batch.VerifyConcurrent);
// a rejected batch is verified one signature at a time, so every false
// is an individual verdict. Callers that need VerifyWithLabel's error for
// a false check call VerifyWithLabel for it.
func (b *BatchVerifier) Verify(workers int) []bool {
	return ed25519batch.VerifyConcurrent(b.entries, workers)
}
