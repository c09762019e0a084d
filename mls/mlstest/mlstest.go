// Package mlstest builds seeded MLS groups for tests, benchmarks and the
// simulator.
//
// NewGroup returns n members of one group that all agree on the epoch:
// member 0 creates the group and adds the others in batches of Add
// proposals by value; the new members of a batch join from its Welcome
// (ratchet tree inline), concurrently. Every key and random value comes
// from a ChaCha8 stream seeded by (seed, member index), so the same
// arguments give the same group, byte for byte.
//
// Cost: each joiner validates the whole tree it joins (one leaf signature
// per member, RFC 9420, Section 12.4.3.1) and every member processes the
// later batches, so building n members costs O(n^2) signature checks —
// about a second per 100 000 of them on one core. That is a few seconds at
// n = 200 and impractical beyond a few thousand members; large trees for
// benchmarks are built directly (see the mls package's test fixtures).
package mlstest

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/mlslab/mlslab/mls/core"
)

// Member is one member of a fixture group.
type Member struct {
	Name   string
	Config *core.Config // Rand is this member's own seeded stream
	Group  *core.Group
}

// Options shape NewGroupWith.
type Options struct {
	// BatchSize is the number of members added per commit (0: all in one
	// commit, the fastest).
	BatchSize int
	// GroupID defaults to "mlstest-<seed>".
	GroupID []byte
	// Config, if set, is applied to every member's Config (Rand is always
	// the member's seeded stream).
	Config func(i int, c *core.Config)
}

// Rand returns the deterministic random stream of (seed, i).
func Rand(seed uint64, i int) io.Reader {
	var s [32]byte
	for k := range 8 {
		s[k] = byte(seed >> (8 * k))
		s[8+k] = byte(uint64(i) >> (8 * k))
	}
	copy(s[16:], "mlstest")
	return rand.NewChaCha8(s)
}

// NewKeyPackage returns a fresh KeyPackage for a client named name with a
// Config drawing from Rand(seed, i).
func NewKeyPackage(cs core.CipherSuite, name string, seed uint64, i int) (*core.KeyPackageBundle, *core.Config, error) {
	cfg := &core.Config{Rand: Rand(seed, i)}
	kp, err := core.NewKeyPackage(cfg, cs, core.NewBasicCredential([]byte(name)), nil)
	return kp, cfg, err
}

// NewGroup returns n >= 1 members of a new group in cipher suite cs (a
// suite codepoint, 1..7) that all agree on epoch, tree and key schedule.
func NewGroup(cs core.CipherSuite, n int, seed uint64) ([]*Member, error) {
	return NewGroupWith(cs, n, seed, Options{})
}

// NewGroupWith is NewGroup with options.
func NewGroupWith(cs core.CipherSuite, n int, seed uint64, opts Options) ([]*Member, error) {
	if n < 1 {
		return nil, fmt.Errorf("mlstest: n = %d, want >= 1", n)
	}
	kps := make([]*core.KeyPackageBundle, n)
	members := make([]*Member, n)
	err := parallel(n, func(i int) error {
		name := fmt.Sprintf("member-%d", i)
		cfg := &core.Config{}
		if opts.Config != nil {
			opts.Config(i, cfg)
		}
		cfg.Rand = Rand(seed, i)
		kp, err := core.NewKeyPackage(cfg, cs, core.NewBasicCredential([]byte(name)), nil)
		if err != nil {
			return err
		}
		kps[i], members[i] = kp, &Member{Name: name, Config: cfg}
		return nil
	})
	if err != nil {
		return nil, err
	}
	gid := opts.GroupID
	if gid == nil {
		gid = fmt.Appendf(nil, "mlstest-%d", seed)
	}
	creator, err := core.CreateGroup(members[0].Config, gid, kps[0], nil)
	if err != nil {
		return nil, err
	}
	members[0].Group = creator
	batch := opts.BatchSize
	if batch <= 0 {
		batch = n
	}
	for lo := 1; lo < n; lo += batch {
		hi := min(lo+batch, n)
		adds := make([]core.ProposalBody, 0, hi-lo)
		for _, kp := range kps[lo:hi] {
			adds = append(adds, &core.Add{KeyPackage: *kp.KeyPackage})
		}
		pc, err := creator.Commit(core.CommitOptions{Proposals: adds, InlineTree: true})
		if err != nil {
			return nil, fmt.Errorf("mlstest: adding members %d..%d: %w", lo, hi-1, err)
		}
		if err := creator.Merge(pc); err != nil {
			return nil, err
		}
		// Earlier joiners process the commit; new ones join. Each decodes
		// its own copy, as if it came off the wire.
		commit, err := pc.Commit.Marshal()
		if err != nil {
			return nil, err
		}
		welcome, err := pc.Welcome.Marshal()
		if err != nil {
			return nil, err
		}
		err = parallel(hi-1, func(j int) error {
			i := j + 1
			if i < lo {
				m, err := core.UnmarshalMLSMessage(commit)
				if err == nil {
					_, err = members[i].Group.Process(m)
				}
				return err
			}
			m, err := core.UnmarshalMLSMessage(welcome)
			if err != nil {
				return err
			}
			g, err := core.Join(members[i].Config, m, kps[i], nil)
			members[i].Group = g
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("mlstest: batch %d..%d: %w", lo, hi-1, err)
		}
	}
	if err := Agree(members); err != nil {
		return nil, err
	}
	return members, nil
}

// Groups returns the members' Groups.
func Groups(members []*Member) []*core.Group {
	out := make([]*core.Group, len(members))
	for i, m := range members {
		out[i] = m.Group
	}
	return out
}

// Agree checks that all active members are at the same epoch with the same
// epoch authenticator and tree hash.
func Agree(members []*Member) error {
	var ref *core.Group
	for _, m := range members {
		g := m.Group
		if g == nil || !g.Active() {
			continue
		}
		if ref == nil {
			ref = g
			continue
		}
		if g.Epoch() != ref.Epoch() || !bytes.Equal(g.EpochAuthenticator(), ref.EpochAuthenticator()) ||
			!bytes.Equal(g.Public().TreeHash(), ref.Public().TreeHash()) {
			return fmt.Errorf("mlstest: %s (epoch %d) disagrees with %s (epoch %d)", m.Name, g.Epoch(), members[0].Name, ref.Epoch())
		}
	}
	return nil
}

// parallel runs f(0..n-1) on GOMAXPROCS goroutines and returns the first
// error.
func parallel(n int, f func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan int)
	)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}
