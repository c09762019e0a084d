package core_test

import (
	"fmt"

	"github.com/mlslab/mlslab/mls/core"
)

// Example is the README's walk-through: create a group, add a member by
// KeyPackage, join from the Welcome, send an application message.
func Example() {
	cfg := &core.Config{}
	cs := core.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	alice, err := core.NewKeyPackage(cfg, cs, core.NewBasicCredential([]byte("alice")), nil)
	if err != nil {
		panic(err)
	}
	bob, err := core.NewKeyPackage(cfg, cs, core.NewBasicCredential([]byte("bob")), nil)
	if err != nil {
		panic(err)
	}
	g, err := core.CreateGroup(cfg, []byte("group"), alice, nil)
	if err != nil {
		panic(err)
	}
	pc, err := g.Commit(core.CommitOptions{Proposals: []core.ProposalBody{&core.Add{KeyPackage: *bob.KeyPackage}}, InlineTree: true})
	if err != nil {
		panic(err)
	}
	if err := g.Merge(pc); err != nil { // once the delivery service accepted pc.Commit
		panic(err)
	}
	b, err := core.Join(cfg, pc.Welcome, bob, nil)
	if err != nil {
		panic(err)
	}
	msg, err := g.SealApplication([]byte("hi"), nil)
	if err != nil {
		panic(err)
	}
	out, err := b.Process(msg)
	if err != nil {
		panic(err)
	}
	fmt.Printf("epoch %d, %d members, %q\n", b.Epoch(), b.Public().NumMembers(), out.ApplicationData)
	// Output: epoch 1, 2 members, "hi"
}
