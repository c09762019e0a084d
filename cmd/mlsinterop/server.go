//go:build interop

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"runtime/debug"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mlslab/mlslab/cmd/mlsinterop/internal/pb"
	"github.com/mlslab/mlslab/mls/core"
)

type pbExtension = pb.Extension

// keepPastEpochs is how many previous epochs a member keeps to decrypt late
// application messages (RFC 9420, Section 9.2 leaves the policy to the
// application; the harness's out_of_order_across_epochs needs one).
const keepPastEpochs = 4

// member is one state ID: a Group plus what the interop protocol needs
// around it.
type member struct {
	g    *core.Group
	cfg  *core.Config
	psks *core.MemoryPSKStore

	pending      *core.PendingCommit
	pendingBytes []byte

	// seen holds digests of the proposal messages already in the group's
	// proposal cache this epoch (own ones and processed ones), so that a
	// proposal handed in again (the harness passes the committed list to
	// every member, the proposer included) is not processed twice.
	seen      map[string]bool
	seenEpoch uint64

	// past holds snapshots of previous epochs for late application
	// messages.
	past map[uint64]*core.Group
}

// transaction is a KeyPackage waiting for a Welcome.
type transaction struct {
	kp   *core.KeyPackageBundle
	psks *core.MemoryPSKStore
}

// reinitState is a member after a ReInit commit: its old state and the
// KeyPackage it offered for the new group.
type reinitState struct {
	old *member
	kp  *core.KeyPackageBundle
	cfg *core.Config
}

// signer is an external sender (RFC 9420, Section 12.1.8.1).
type signer struct {
	cs     uint16
	priv   []byte
	sender core.ExternalSender
}

type server struct {
	pb.UnimplementedMLSClientServer

	mu      sync.Mutex
	nextID  uint32
	members map[uint32]*member
	txs     map[uint32]*transaction
	reinits map[uint32]*reinitState
	signers map[uint32]*signer
}

func newServer() *server {
	return &server{
		members: map[uint32]*member{},
		txs:     map[uint32]*transaction{},
		reinits: map[uint32]*reinitState{},
		signers: map[uint32]*signer{},
	}
}

// newID returns a fresh ID; states, transactions, reinit and signer IDs
// share one space (StorePSK takes a state or a transaction ID).
func (s *server) newID() uint32 {
	s.nextID++
	return s.nextID
}

// recoverInterceptor serializes the RPCs (Groups are not safe for
// concurrent use; the harness calls one at a time anyway) and turns a panic
// into an Internal error instead of killing the process.
func recoverInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if r := recover(); r != nil {
			log.Printf("mlsinterop: panic in %s: %v\n%s", info.FullMethod, r, debug.Stack())
			resp, err = nil, status.Errorf(codes.Internal, "panic: %v", r)
		}
	}()
	if s, ok := info.Server.(*server); ok {
		s.mu.Lock()
		defer s.mu.Unlock()
	}
	resp, err = handler(ctx, req)
	if err != nil {
		err = toStatus(err)
		log.Printf("mlsinterop: %s: %v", info.FullMethod, err)
	}
	return resp, err
}

// Errors.

func invalidArg(msg string) error { return status.Error(codes.InvalidArgument, msg) }

func invalidArgErr(msg string, err error) error {
	return status.Errorf(codes.InvalidArgument, "%s: %v", msg, err)
}

func toStatus(err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	var pe *core.ProtocolError
	switch {
	case errors.Is(err, core.ErrWrongEpoch), errors.Is(err, core.ErrWrongGroup), errors.Is(err, core.ErrInactive),
		errors.Is(err, core.ErrStalePendingCommit):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, core.ErrUnknownSender), errors.As(err, &pe):
		return status.Error(codes.InvalidArgument, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

func (s *server) member(id uint32) (*member, error) {
	m, ok := s.members[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "unknown state ID %d", id)
	}
	return m, nil
}

func (s *server) addMember(g *core.Group, cfg *core.Config, psks *core.MemoryPSKStore) (uint32, *member) {
	id := s.newID()
	m := &member{g: g, cfg: cfg, psks: psks, past: map[uint64]*core.Group{}}
	s.members[id] = m
	return id, m
}

// newConfig is a member's configuration. The interop harness has no
// Authentication Service: every test credential is trusted as presented
// (acceptCredential), which also lets a client resync with a new signature
// key (the "removing prior" scenarios); the successor rule (same identity)
// stays the library's default. Its scripts have non-members propose their
// own Add (new_member_proposal), which members admit.
func newConfig(encrypt bool, psks *core.MemoryPSKStore) *core.Config {
	return &core.Config{EncryptHandshake: encrypt, PSKs: psks, ValidateCredential: acceptCredential,
		AcceptNewMemberProposal: func(*core.KeyPackage) error { return nil }}
}

func acceptCredential(*core.Credential, []byte) error { return nil }

// markSeen records a proposal message as cached in the current epoch.
func (m *member) markSeen(msg []byte) {
	if m.seen == nil || m.seenEpoch != m.g.Epoch() {
		m.seen, m.seenEpoch = map[string]bool{}, m.g.Epoch()
	}
	m.seen[digest(msg)] = true
}

func (m *member) wasSeen(msg []byte) bool {
	return m.seenEpoch == m.g.Epoch() && m.seen[digest(msg)]
}

// snapshot keeps the current epoch's state for late application messages
// before the group moves on. It is a Clone, not a copy of the Group value:
// a Group overwrites the secrets of the epoch it leaves unless they are
// shared (package mls, "Erasing secrets"), and Clone marks them shared.
func (m *member) snapshot() {
	old := m.g.Clone()
	m.past[old.Epoch()] = old
	for e := range m.past {
		if e+keepPastEpochs < old.Epoch() {
			delete(m.past, e)
		}
	}
}

// processProposals caches the proposals a commit refers to.
func (m *member) processProposals(msgs [][]byte) error {
	for i, b := range msgs {
		if m.wasSeen(b) {
			continue
		}
		msg, err := parseMsg(b)
		if err != nil {
			return err
		}
		p, err := m.g.Process(msg)
		if err != nil {
			return fmt.Errorf("proposal %d: %w", i, err)
		}
		if p.ContentType != core.ContentTypeProposal {
			return invalidArg(fmt.Sprintf("message %d is a %v, not a proposal", i, p.ContentType))
		}
		m.markSeen(b)
	}
	return nil
}

// propose sends a proposal and remembers it as this member's own.
func (m *member) propose(body core.ProposalBody) (*pb.ProposalResponse, error) {
	var (
		msg *core.MLSMessage
		err error
	)
	if body == nil {
		msg, err = m.g.ProposeUpdate(nil)
	} else {
		msg, err = m.g.Propose(body, nil)
	}
	if err != nil {
		return nil, err
	}
	b, err := encodeMsg(msg)
	if err != nil {
		return nil, err
	}
	m.markSeen(b)
	return &pb.ProposalResponse{Proposal: b}, nil
}

// leafByIdentity finds the member whose basic credential carries identity.
func leafByIdentity(t *core.RatchetTree, identity []byte) (uint32, error) {
	for l, ln := range t.Members() {
		if bytes.Equal(ln.Credential.Identity, identity) {
			return uint32(l), nil
		}
	}
	return 0, status.Errorf(codes.InvalidArgument, "no member with identity %q", identity)
}

// proposalFromDescription builds a by-value proposal body. g is the
// proposing member's group (nil for an external sender, which passes the
// group's context and tree instead).
func proposalFromDescription(d *pb.ProposalDescription, g *core.Group, ctx *core.GroupContext, tree *core.RatchetTree) (core.ProposalBody, error) {
	if d == nil {
		return nil, invalidArg("missing proposal description")
	}
	cs := uint16(ctx.CipherSuite)
	switch string(d.GetProposalType()) {
	case "add":
		kp, err := parseKeyPackage(d.GetKeyPackage())
		if err != nil {
			return nil, err
		}
		return &core.Add{KeyPackage: *kp}, nil
	case "remove":
		if tree == nil {
			return nil, invalidArg("remove needs the ratchet tree")
		}
		l, err := leafByIdentity(tree, d.GetRemovedId())
		if err != nil {
			return nil, err
		}
		return &core.Remove{Removed: l}, nil
	case "externalPSK":
		if g != nil {
			return g.ExternalPSKProposal(d.GetPskId())
		}
		nonce, err := core.NewPSKNonce(core.CipherSuite(cs), nil)
		if err != nil {
			return nil, err
		}
		return &core.PreSharedKey{PSK: core.PreSharedKeyID{PSKType: core.PSKTypeExternal, PSKID: bytes.Clone(d.GetPskId()), PSKNonce: nonce}}, nil
	case "resumptionPSK":
		if g != nil {
			return g.ResumptionPSKProposal(d.GetEpochId())
		}
		nonce, err := core.NewPSKNonce(core.CipherSuite(cs), nil)
		if err != nil {
			return nil, err
		}
		return &core.PreSharedKey{PSK: core.PreSharedKeyID{PSKType: core.PSKTypeResumption, Usage: core.ResumptionPSKUsageApplication,
			PSKGroupID: bytes.Clone(ctx.GroupID), PSKEpoch: d.GetEpochId(), PSKNonce: nonce}}, nil
	case "groupContextExtensions":
		return &core.GroupContextExtensions{Extensions: toExtensions(d.GetExtensions())}, nil
	case "reinit":
		return reinitProposal(d.GetGroupId(), d.GetCipherSuite(), d.GetExtensions())
	}
	return nil, invalidArg(fmt.Sprintf("unknown proposal type %q", d.GetProposalType()))
}

func reinitProposal(groupID []byte, cs uint32, exts []*pb.Extension) (*core.ReInit, error) {
	if cs > 0xffff {
		return nil, invalidArg("cipher suite out of range")
	}
	return &core.ReInit{GroupID: bytes.Clone(groupID), Version: core.ProtocolVersionMLS10,
		CipherSuite: core.CipherSuite(cs), Extensions: toExtensions(exts)}, nil
}

// identityOf returns the basic identity of this member's leaf.
func identityOf(g *core.Group) []byte {
	if ln := g.Public().Tree().Leaf(g.LeafIndex()); ln != nil {
		return ln.Credential.Identity
	}
	return nil
}

func treeBytes(g *core.Group) ([]byte, error) {
	return g.Public().Tree().MarshalRatchetTree()
}
