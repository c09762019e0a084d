package mlstest

import (
	"bytes"
	"testing"

	"github.com/mlslab/mlslab/mls/core"
)

func TestNewGroup(t *testing.T) {
	for _, tc := range []struct {
		cs    core.CipherSuite
		n     int
		batch int
	}{{1, 1, 0}, {1, 17, 0}, {1, 17, 5}, {3, 9, 4}} {
		ms, err := NewGroupWith(tc.cs, tc.n, 42, Options{BatchSize: tc.batch})
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != tc.n || ms[0].Group.Public().NumMembers() != uint32(tc.n) {
			t.Fatalf("n=%d: %d members", tc.n, ms[0].Group.Public().NumMembers())
		}
		for i, m := range ms {
			if m.Group.LeafIndex() != core.LeafIndex(i) {
				t.Fatalf("member %d at leaf %d", i, m.Group.LeafIndex())
			}
		}
		// Same seed, same group; other seed, other group.
		again, err := NewGroupWith(tc.cs, tc.n, 42, Options{BatchSize: tc.batch})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again[0].Group.EpochAuthenticator(), ms[0].Group.EpochAuthenticator()) {
			t.Fatal("not reproducible")
		}
		other, err := NewGroup(tc.cs, tc.n, 43)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(other[0].Group.EpochAuthenticator(), ms[0].Group.EpochAuthenticator()) {
			t.Fatal("seed ignored")
		}
		// The group works: the last member commits, all process.
		last := ms[len(ms)-1].Group
		pc, err := last.Commit(core.CommitOptions{ForcePath: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := last.Merge(pc); err != nil {
			t.Fatal(err)
		}
		for _, m := range ms[:len(ms)-1] {
			if _, err := m.Group.Process(pc.Commit); err != nil {
				t.Fatal(err)
			}
		}
		if err := Agree(ms); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := NewGroup(1, 0, 1); err == nil {
		t.Fatal("n=0 accepted")
	}
}
