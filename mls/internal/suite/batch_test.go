package suite

import (
	"fmt"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/ed25519batch"
)

func TestNewBatchVerifierSuites(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		ed := s.sig == sigEd25519 // 0x0001, 0x0003 and the post-quantum suites 0x0051-0x0054
		if got := s.NewBatchVerifier("L", ed25519batch.MinBatch) != nil; got != ed {
			t.Fatalf("batch verifier at MinBatch: %v, want %v", got, ed)
		}
		if s.NewBatchVerifier("L", ed25519batch.MinBatch-1) != nil {
			t.Fatal("batch verifier below MinBatch")
		}
	})
}

// TestBatchVerifierMatchesVerifyWithLabel checks that the batch verdicts
// are VerifyWithLabel's, for valid signatures and for each way one can be
// wrong: another label (the SignContent encoding), another content, a
// flipped bit, a key of the wrong length, a slot never Set.
func TestBatchVerifierMatchesVerifyWithLabel(t *testing.T) {
	for _, id := range []ID{MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519} {
		s := MustGet(id)
		const n = 2*ed25519batch.MinBatch + 10
		type check struct{ pub, content, sig []byte }
		checks := make([]check, n)
		r := seeded(byte(id))
		for i := range checks {
			_, k, err := s.GenerateSigner(r)
			if err != nil {
				t.Fatal(err)
			}
			content := fmt.Appendf(nil, "leaf %d", i)
			label := "LeafNodeTBS"
			if i == 7 {
				label = "KeyPackageTBS"
			}
			sig, err := k.SignWithLabel(label, content)
			if err != nil {
				t.Fatal(err)
			}
			checks[i] = check{k.PublicKey(), content, sig}
		}
		checks[100].content = []byte("other")
		checks[300].sig[5] ^= 1
		checks[400].pub = checks[400].pub[:31]
		for _, workers := range []int{1, 2} {
			b := s.NewBatchVerifier("LeafNodeTBS", n)
			for i, c := range checks {
				if i != 200 {
					b.Set(i, c.pub, c.content, c.sig)
				}
			}
			got := b.Verify(workers)
			for i, c := range checks {
				want := i != 200 && s.VerifyWithLabel(c.pub, "LeafNodeTBS", c.content, c.sig) == nil
				if got[i] != want {
					t.Fatalf("cs=%v workers=%d check %d: batch %v, VerifyWithLabel %v", id, workers, i, got[i], want)
				}
			}
			for _, i := range []int{7, 100, 200, 300, 400} {
				if got[i] {
					t.Fatalf("cs=%v workers=%d: bad check %d accepted", id, workers, i)
				}
			}
		}
	}
}

// TestBatchVerifierSetLabeled checks a batch mixing two labels: each check
// is accepted under the label it was Set or SetLabeled with and no other.
func TestBatchVerifierSetLabeled(t *testing.T) {
	s := MustGet(MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
	const n = ed25519batch.MinBatch + 6
	r := seeded(9)
	b := s.NewBatchVerifier("KeyPackageTBS", n)
	want := make([]bool, n)
	for i := range n {
		_, k, err := s.GenerateSigner(r)
		if err != nil {
			t.Fatal(err)
		}
		content := fmt.Appendf(nil, "entry %d", i)
		label := "KeyPackageTBS"
		if i%2 == 1 {
			label = "LeafNodeTBS"
		}
		sig, err := k.SignWithLabel(label, content)
		if err != nil {
			t.Fatal(err)
		}
		// Entries 10 and 11 are Set under the other label: invalid.
		want[i] = i != 10 && i != 11
		if (i%2 == 1 && i != 11) || i == 10 {
			b.SetLabeled(i, "LeafNodeTBS", k.PublicKey(), content, sig)
		} else {
			b.Set(i, k.PublicKey(), content, sig)
		}
	}
	got := b.Verify(1)
	for i := range n {
		if got[i] != want[i] {
			t.Fatalf("check %d: batch %v, want %v", i, got[i], want[i])
		}
	}
}
