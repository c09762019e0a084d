package mls_test

import (
	"fmt"

	"github.com/mlslab/mlslab/mls"
)

// Example is the README's walk-through: create a group, add a member by
// KeyPackage, join from the Welcome, send an application message.
func Example() {
	cfg := &mls.Config{}
	cs := mls.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	alice, err := mls.NewKeyPackage(cfg, cs, mls.NewBasicCredential([]byte("alice")), nil)
	if err != nil {
		panic(err)
	}
	bob, err := mls.NewKeyPackage(cfg, cs, mls.NewBasicCredential([]byte("bob")), nil)
	if err != nil {
		panic(err)
	}
	g, err := mls.CreateGroup(cfg, []byte("group"), alice, nil)
	if err != nil {
		panic(err)
	}
	pc, err := g.Commit(mls.CommitOptions{Proposals: []mls.ProposalBody{&mls.Add{KeyPackage: bob.KeyPackage()}}, InlineTree: true})
	if err != nil {
		panic(err)
	}
	if err := g.Merge(pc); err != nil { // once the delivery service accepted pc.Commit
		panic(err)
	}
	b, err := mls.Join(cfg, pc.Welcome, bob, nil)
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
	fmt.Printf("epoch %d, %d members, %q\n", b.Epoch(), len(b.Public().Members()), out.ApplicationData)
	// Output: epoch 1, 2 members, "hi"
}
