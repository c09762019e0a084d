//go:build interop

package main

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mlslab/mlslab/cmd/mlsinterop/internal/pb"
)

func code(err error) codes.Code { return status.Code(err) }

// TestEveryRPCImplemented calls every RPC of the service with an empty
// request: none may answer Unimplemented or panic, and the server must
// still answer afterwards.
func TestEveryRPCImplemented(t *testing.T) {
	c := startClients(t, 1)[0]
	v := reflect.ValueOf(c.rpc)
	typ := v.Type()
	n := 0
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		// func(ctx, *Req, ...grpc.CallOption) (*Resp, error)
		req := reflect.New(v.Method(i).Type().In(1).Elem())
		ctx, cancel := rpcCtx()
		out := v.Method(i).Call([]reflect.Value{reflect.ValueOf(ctx), req})
		cancel()
		n++
		err, _ := out[1].Interface().(error)
		if code(err) == codes.Unimplemented {
			t.Errorf("%s: Unimplemented", m.Name)
		}
		if err != nil && strings.Contains(err.Error(), "panic") {
			t.Errorf("%s: %v", m.Name, err)
		}
	}
	if n != 34 {
		t.Errorf("called %d RPCs, the proto has 34", n)
	}
	ctx, cancel := rpcCtx()
	defer cancel()
	if _, err := c.rpc.Name(ctx, &pb.NameRequest{}); err != nil {
		t.Fatalf("server gone after the empty requests: %v", err)
	}
}

// TestBadRequests: unknown IDs, malformed messages, replayed (wrong-epoch)
// commits and misuse give gRPC errors with the right codes and leave the
// state usable.
func TestBadRequests(t *testing.T) {
	c := startClients(t, 1)[0]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rpc := c.rpc
	want := func(what string, err error, codesOK ...codes.Code) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", what)
			return
		}
		for _, c := range codesOK {
			if code(err) == c {
				return
			}
		}
		t.Errorf("%s: code %v (%v), want one of %v", what, code(err), err, codesOK)
	}
	_, err := rpc.StateAuth(ctx, &pb.StateAuthRequest{StateId: 987654})
	want("StateAuth(unknown)", err, codes.NotFound)
	_, err = rpc.JoinGroup(ctx, &pb.JoinGroupRequest{TransactionId: 987654})
	want("JoinGroup(unknown tx)", err, codes.NotFound)
	_, err = rpc.CreateGroup(ctx, &pb.CreateGroupRequest{CipherSuite: 99, GroupId: []byte("g")})
	want("CreateGroup(suite 99)", err, codes.InvalidArgument)
	_, err = rpc.Free(ctx, &pb.FreeRequest{StateId: 987654})
	want("Free(unknown)", err, codes.NotFound)

	// A two-member group.
	alice, err := rpc.CreateGroup(ctx, &pb.CreateGroupRequest{CipherSuite: 1, GroupId: []byte("bad-requests"), Identity: []byte("alice")})
	if err != nil {
		t.Fatal(err)
	}
	kp, err := rpc.CreateKeyPackage(ctx, &pb.CreateKeyPackageRequest{CipherSuite: 1, Identity: []byte("bob")})
	if err != nil {
		t.Fatal(err)
	}
	cr, err := rpc.Commit(ctx, &pb.CommitRequest{StateId: alice.StateId, ByValue: []*pb.ProposalDescription{{ProposalType: []byte("add"), KeyPackage: kp.KeyPackage}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rpc.HandlePendingCommit(ctx, &pb.HandlePendingCommitRequest{StateId: alice.StateId}); err != nil {
		t.Fatal(err)
	}
	bob, err := rpc.JoinGroup(ctx, &pb.JoinGroupRequest{TransactionId: kp.TransactionId, Welcome: cr.Welcome, Identity: []byte("bob")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = rpc.HandlePendingCommit(ctx, &pb.HandlePendingCommitRequest{StateId: alice.StateId})
	want("HandlePendingCommit(none pending)", err, codes.FailedPrecondition)

	garbage := [][]byte{nil, {0}, {0, 1, 0, 1, 0xff}, []byte("not an MLS message at all")}
	for _, g := range garbage {
		_, err = rpc.HandleCommit(ctx, &pb.HandleCommitRequest{StateId: bob.StateId, Commit: g})
		want("HandleCommit(garbage)", err, codes.InvalidArgument)
		_, err = rpc.Unprotect(ctx, &pb.UnprotectRequest{StateId: bob.StateId, Ciphertext: g})
		want("Unprotect(garbage)", err, codes.InvalidArgument)
		_, err = rpc.AddProposal(ctx, &pb.AddProposalRequest{StateId: alice.StateId, KeyPackage: g})
		want("AddProposal(garbage)", err, codes.InvalidArgument)
		_, err = rpc.ExternalJoin(ctx, &pb.ExternalJoinRequest{GroupInfo: g, Identity: []byte("x")})
		want("ExternalJoin(garbage)", err, codes.InvalidArgument)
		_, err = rpc.JoinGroup(ctx, &pb.JoinGroupRequest{TransactionId: kp.TransactionId, Welcome: g})
		want("JoinGroup(used tx)", err, codes.NotFound, codes.InvalidArgument)
	}
	// A Welcome is not a commit.
	_, err = rpc.HandleCommit(ctx, &pb.HandleCommitRequest{StateId: bob.StateId, Commit: cr.Welcome})
	want("HandleCommit(welcome)", err, codes.InvalidArgument, codes.FailedPrecondition)
	// The epoch-0 commit replayed at bob (epoch 1): wrong epoch.
	_, err = rpc.HandleCommit(ctx, &pb.HandleCommitRequest{StateId: bob.StateId, Commit: cr.Commit})
	want("HandleCommit(replay)", err, codes.FailedPrecondition)
	// A truncated real message.
	_, err = rpc.HandleCommit(ctx, &pb.HandleCommitRequest{StateId: bob.StateId, Commit: cr.Commit[:len(cr.Commit)/2]})
	want("HandleCommit(truncated)", err, codes.InvalidArgument)
	// Removing an unknown identity.
	_, err = rpc.RemoveProposal(ctx, &pb.RemoveProposalRequest{StateId: alice.StateId, RemovedId: []byte("mallory")})
	want("RemoveProposal(unknown)", err, codes.InvalidArgument)

	// The group still works: a commit and an application message.
	cr2, err := rpc.Commit(ctx, &pb.CommitRequest{StateId: alice.StateId, ForcePath: true})
	if err != nil {
		t.Fatal(err)
	}
	ha, err := rpc.HandlePendingCommit(ctx, &pb.HandlePendingCommitRequest{StateId: alice.StateId})
	if err != nil {
		t.Fatal(err)
	}
	hb, err := rpc.HandleCommit(ctx, &pb.HandleCommitRequest{StateId: bob.StateId, Commit: cr2.Commit})
	if err != nil {
		t.Fatal(err)
	}
	if string(ha.EpochAuthenticator) != string(hb.EpochAuthenticator) {
		t.Fatal("epoch authenticators differ after the bad requests")
	}
	pr, err := rpc.Protect(ctx, &pb.ProtectRequest{StateId: alice.StateId, Plaintext: []byte("still here")})
	if err != nil {
		t.Fatal(err)
	}
	ur, err := rpc.Unprotect(ctx, &pb.UnprotectRequest{StateId: bob.StateId, Ciphertext: pr.Ciphertext})
	if err != nil || string(ur.Plaintext) != "still here" {
		t.Fatalf("Unprotect: %q, %v", ur.GetPlaintext(), err)
	}
	// Decrypting the same message twice fails (the key is consumed).
	_, err = rpc.Unprotect(ctx, &pb.UnprotectRequest{StateId: bob.StateId, Ciphertext: pr.Ciphertext})
	want("Unprotect(replay)", err, codes.InvalidArgument, codes.FailedPrecondition)
}
