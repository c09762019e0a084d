package core_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mlslab/mlslab/mls/core"
	"github.com/mlslab/mlslab/mls/mlstest"
)

// TestRandomTraffic drives a 200-member group (suite 0x0001) through 500
// epochs of random adds, removes, updates (by proposal and by self-update
// commit) and application messages. Every member that stays in the group
// processes every commit, and after every epoch all members agree on the
// epoch authenticator and tree hash. -short: 50 members, 100 epochs.
//
// The full plan is 500 epochs (about 90 s of CPU, spread over GOMAXPROCS
// receivers: each receiver verifies 2 signatures and opens 1 HPKE
// ciphertext per commit); MLSLAB_RANDOM_EPOCHS overrides the count.
func TestRandomTraffic(t *testing.T) {
	n, epochs := 200, 500
	if v, err := strconv.Atoi(os.Getenv("MLSLAB_RANDOM_EPOCHS")); err == nil && v > 0 {
		epochs = v
	}
	if testing.Short() {
		n, epochs = 50, 100
	}
	const seed = 9420
	start := time.Now()
	ms, err := mlstest.NewGroup(1, n, seed)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built %d members in %v", n, time.Since(start))
	rng := rand.New(rand.NewPCG(seed, 1))
	members := ms
	nextID := n
	counts := map[string]int{}
	pick := func(except *mlstest.Member) *mlstest.Member {
		for {
			m := members[rng.IntN(len(members))]
			if m != except {
				return m
			}
		}
	}
	for epoch := range epochs {
		committer := pick(nil)
		var (
			opts    core.CommitOptions
			op      string
			joiner  *mlstest.Member
			joinKP  *core.KeyPackageBundle
			removed *mlstest.Member
		)
		switch r := rng.Float64(); {
		case r < 0.25 && len(members) < n+n/10 || len(members) < n-n/10:
			op = "add"
			kp, cfg, err := mlstest.NewKeyPackage(1, fmt.Sprintf("joiner-%d", nextID), seed, nextID)
			if err != nil {
				t.Fatal(err)
			}
			nextID++
			joiner, joinKP = &mlstest.Member{Name: fmt.Sprintf("joiner-%d", nextID-1), Config: cfg}, kp
			opts = core.CommitOptions{Proposals: []core.ProposalBody{&core.Add{KeyPackage: *kp.KeyPackage}}, InlineTree: true}
		case r < 0.5:
			op = "remove"
			removed = pick(committer)
			if rng.IntN(2) == 0 {
				opts.Proposals = []core.ProposalBody{&core.Remove{Removed: uint32(removed.Group.LeafIndex())}}
			} else {
				// By reference, proposed by a third member.
				op = "remove-by-ref"
				proposer := pick(committer)
				msg, err := proposer.Group.Propose(&core.Remove{Removed: uint32(removed.Group.LeafIndex())}, nil)
				if err != nil {
					t.Fatal(err)
				}
				deliverAll(t, members, proposer, msg)
			}
		case r < 0.6:
			op = "update-by-ref"
			proposer := pick(committer)
			msg, err := proposer.Group.ProposeUpdate(nil)
			if err != nil {
				t.Fatal(err)
			}
			deliverAll(t, members, proposer, msg)
		default:
			op = "self-update"
			opts.ForcePath = true
		}
		counts[op]++
		pc, err := committer.Group.Commit(opts)
		if err != nil {
			t.Fatalf("epoch %d: %s commit by %s: %v", epoch, op, committer.Name, err)
		}
		if err := committer.Group.Merge(pc); err != nil {
			t.Fatal(err)
		}
		deliverAll(t, members, committer, pc.Commit)
		if removed != nil {
			if removed.Group.Active() {
				t.Fatalf("epoch %d: %s still active after its removal", epoch, removed.Name)
			}
			members = deleteMember(members, removed)
		}
		if joiner != nil {
			if joiner.Group, err = core.Join(joiner.Config, pc.Welcome, joinKP, nil); err != nil {
				t.Fatalf("epoch %d: join: %v", epoch, err)
			}
			members = append(members, joiner)
		}
		if err := mlstest.Agree(members); err != nil {
			t.Fatalf("epoch %d after %s: %v", epoch, op, err)
		}
		if got := members[0].Group.Public().NumMembers(); int(got) != len(members) {
			t.Fatalf("epoch %d: tree has %d members, want %d", epoch, got, len(members))
		}
		// Application traffic: a random sender to a few receivers.
		sender := pick(nil)
		body := fmt.Appendf(nil, "epoch %d from %s", epoch, sender.Name)
		app, err := sender.Group.SealApplication(body, nil)
		if err != nil {
			t.Fatal(err)
		}
		appEnc, err := app.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		seen := map[*mlstest.Member]bool{sender: true}
		for len(seen) < min(4, len(members)) {
			r := pick(sender)
			if seen[r] {
				continue
			}
			seen[r] = true
			m, err := core.UnmarshalMLSMessage(appEnc)
			if err != nil {
				t.Fatal(err)
			}
			p, err := r.Group.Process(m)
			if err != nil || !bytes.Equal(p.ApplicationData, body) {
				t.Fatalf("epoch %d: %s opening application data: %v", epoch, r.Name, err)
			}
		}
	}
	t.Logf("%d epochs (%v), %d members at the end, in %v", epochs, counts, len(members), time.Since(start))
}

func deleteMember(ms []*mlstest.Member, x *mlstest.Member) []*mlstest.Member {
	out := ms[:0]
	for _, m := range ms {
		if m != x {
			out = append(out, m)
		}
	}
	return out
}

// deliverAll encodes msg once and has every member but the sender decode
// and process it, GOMAXPROCS members at a time.
func deliverAll(t *testing.T, members []*mlstest.Member, sender *mlstest.Member, msg *core.MLSMessage) {
	t.Helper()
	enc, err := msg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan *mlstest.Member)
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for m := range next {
				dm, err := core.UnmarshalMLSMessage(enc)
				if err == nil {
					_, err = m.Group.Process(dm)
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("%s: %w", m.Name, err)
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, m := range members {
		if m != sender {
			next <- m
		}
	}
	close(next)
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}
