//go:build interop

package main

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mlslab/mlslab/cmd/mlsinterop/internal/pb"
	"github.com/mlslab/mlslab/mls/core"
)

// The MLSClient RPCs. Every one runs under the server lock (see
// recoverInterceptor).

// supportedSuites are core.CipherSuites(): the seven of RFC 9420 and the
// post-quantum suites 0x004D-0x0058 (mls/internal/suite/pq.go).
var supportedSuites = func() []uint32 {
	var l []uint32
	for _, cs := range core.CipherSuites() {
		l = append(l, uint32(cs))
	}
	return l
}()

func checkSuite(cs uint32) (uint16, error) {
	if !slices.Contains(supportedSuites, cs) {
		return 0, status.Errorf(codes.InvalidArgument, "unsupported cipher suite %d", cs)
	}
	return uint16(cs), nil
}

func newKeyPackage(cs uint16, identity []byte, sigPriv []byte) (*core.KeyPackageBundle, error) {
	var opts *core.KeyPackageOptions
	if sigPriv != nil {
		opts = &core.KeyPackageOptions{SignatureKey: sigPriv}
	}
	return core.NewKeyPackage(nil, core.CipherSuite(cs), core.NewBasicCredential(identity), opts)
}

func (s *server) Name(context.Context, *pb.NameRequest) (*pb.NameResponse, error) {
	return &pb.NameResponse{Name: "mlslab"}, nil
}

func (s *server) SupportedCiphersuites(context.Context, *pb.SupportedCiphersuitesRequest) (*pb.SupportedCiphersuitesResponse, error) {
	return &pb.SupportedCiphersuitesResponse{Ciphersuites: slices.Clone(supportedSuites)}, nil
}

func (s *server) CreateGroup(_ context.Context, req *pb.CreateGroupRequest) (*pb.CreateGroupResponse, error) {
	cs, err := checkSuite(req.GetCipherSuite())
	if err != nil {
		return nil, err
	}
	kp, err := newKeyPackage(cs, req.GetIdentity(), nil)
	if err != nil {
		return nil, err
	}
	psks := &core.MemoryPSKStore{}
	cfg := newConfig(req.GetEncryptHandshake(), psks)
	g, err := core.CreateGroup(cfg, req.GetGroupId(), kp, nil)
	if err != nil {
		return nil, err
	}
	id, _ := s.addMember(g, cfg, psks)
	return &pb.CreateGroupResponse{StateId: id}, nil
}

func (s *server) CreateKeyPackage(_ context.Context, req *pb.CreateKeyPackageRequest) (*pb.CreateKeyPackageResponse, error) {
	cs, err := checkSuite(req.GetCipherSuite())
	if err != nil {
		return nil, err
	}
	kp, err := newKeyPackage(cs, req.GetIdentity(), nil)
	if err != nil {
		return nil, err
	}
	enc, err := wrapKeyPackage(kp.KeyPackage)
	if err != nil {
		return nil, err
	}
	id := s.newID()
	s.txs[id] = &transaction{kp: kp, psks: &core.MemoryPSKStore{}}
	return &pb.CreateKeyPackageResponse{TransactionId: id, KeyPackage: enc,
		InitPriv: kp.InitPriv, EncryptionPriv: kp.EncryptionKey, SignaturePriv: kp.SignatureKey}, nil
}

func (s *server) JoinGroup(_ context.Context, req *pb.JoinGroupRequest) (*pb.JoinGroupResponse, error) {
	tx, ok := s.txs[req.GetTransactionId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "unknown transaction ID %d", req.GetTransactionId())
	}
	w, err := parseWelcome(req.GetWelcome())
	if err != nil {
		return nil, err
	}
	cfg := newConfig(req.GetEncryptHandshake(), tx.psks)
	g, err := core.Join(cfg, w, tx.kp, &core.JoinOptions{RatchetTree: nilIfEmpty(req.GetRatchetTree())})
	if err != nil {
		return nil, err
	}
	delete(s.txs, req.GetTransactionId())
	id, _ := s.addMember(g, cfg, tx.psks)
	return &pb.JoinGroupResponse{StateId: id, EpochAuthenticator: g.EpochAuthenticator()}, nil
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func (s *server) ExternalJoin(_ context.Context, req *pb.ExternalJoinRequest) (*pb.ExternalJoinResponse, error) {
	gi, err := parseGroupInfo(req.GetGroupInfo())
	if err != nil {
		return nil, err
	}
	cs := uint16(gi.GroupContext.CipherSuite)
	if _, err := checkSuite(uint32(cs)); err != nil {
		return nil, err
	}
	kp, err := newKeyPackage(cs, req.GetIdentity(), nil)
	if err != nil {
		return nil, err
	}
	psks := &core.MemoryPSKStore{}
	cfg := newConfig(req.GetEncryptHandshake(), psks)
	opts := &core.ExternalJoinOptions{RatchetTree: nilIfEmpty(req.GetRatchetTree())}
	for _, p := range req.GetPsks() {
		psks.AddExternal(p.GetPskId(), p.GetPskSecret())
		nonce, err := core.NewPSKNonce(core.CipherSuite(cs), nil)
		if err != nil {
			return nil, err
		}
		opts.PSKs = append(opts.PSKs, core.PreSharedKeyID{PSKType: core.PSKTypeExternal, PSKID: bytes.Clone(p.GetPskId()), PSKNonce: nonce})
	}
	if req.GetRemovePrior() {
		// The prior leaf of this identity (RFC 9420, Section 12.4.3.2: a
		// resync removes the joiner's old leaf).
		raw := opts.RatchetTree
		if e, ok := gi.Extensions.Find(core.ExtensionRatchetTree); ok {
			raw = e.Data
		}
		tree, err := core.ParseRatchetTree(core.CipherSuite(cs), raw, 1<<20)
		if err != nil {
			return nil, invalidArgErr("ratchet tree", err)
		}
		l, err := leafByIdentity(tree, req.GetIdentity())
		if err != nil {
			return nil, err
		}
		li := core.LeafIndex(l)
		opts.Remove = &li
	}
	g, commit, err := core.ExternalJoin(cfg, gi, kp, opts)
	if err != nil {
		return nil, err
	}
	enc, err := encodeMsg(commit)
	if err != nil {
		return nil, err
	}
	id, _ := s.addMember(g, cfg, psks)
	return &pb.ExternalJoinResponse{StateId: id, Commit: enc, EpochAuthenticator: g.EpochAuthenticator()}, nil
}

func (s *server) GroupInfo(_ context.Context, req *pb.GroupInfoRequest) (*pb.GroupInfoResponse, error) {
	m, err := s.member(req.GetStateId())
	if err != nil {
		return nil, err
	}
	gi, err := m.g.GroupInfo(core.GroupInfoOptions{InlineTree: !req.GetExternalTree(), ExternalPub: true})
	if err != nil {
		return nil, err
	}
	out := &pb.GroupInfoResponse{}
	if out.GroupInfo, err = wrapGroupInfo(gi); err != nil {
		return nil, err
	}
	if req.GetExternalTree() {
		if out.RatchetTree, err = treeBytes(m.g); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *server) StateAuth(_ context.Context, req *pb.StateAuthRequest) (*pb.StateAuthResponse, error) {
	m, err := s.member(req.GetStateId())
	if err != nil {
		return nil, err
	}
	return &pb.StateAuthResponse{StateAuthSecret: m.g.EpochAuthenticator()}, nil
}

func (s *server) Export(_ context.Context, req *pb.ExportRequest) (*pb.ExportResponse, error) {
	m, err := s.member(req.GetStateId())
	if err != nil {
		return nil, err
	}
	if req.GetKeyLength() > 0xffff {
		return nil, invalidArg("key_length too large")
	}
	out, err := m.g.Export(req.GetLabel(), req.GetContext(), int(req.GetKeyLength()))
	if err != nil {
		return nil, err
	}
	return &pb.ExportResponse{ExportedSecret: out}, nil
}

func (s *server) Protect(_ context.Context, req *pb.ProtectRequest) (*pb.ProtectResponse, error) {
	m, err := s.member(req.GetStateId())
	if err != nil {
		return nil, err
	}
	msg, err := m.g.SealApplication(req.GetPlaintext(), req.GetAuthenticatedData())
	if err != nil {
		return nil, err
	}
	enc, err := encodeMsg(msg)
	if err != nil {
		return nil, err
	}
	return &pb.ProtectResponse{Ciphertext: enc}, nil
}

func (s *server) Unprotect(_ context.Context, req *pb.UnprotectRequest) (*pb.UnprotectResponse, error) {
	m, err := s.member(req.GetStateId())
	if err != nil {
		return nil, err
	}
	msg, err := parseMsg(req.GetCiphertext())
	if err != nil {
		return nil, err
	}
	if msg.WireFormat != core.WireFormatPrivateMessage || msg.PrivateMessage == nil {
		return nil, invalidArg("application data must be a PrivateMessage")
	}
	g := m.g
	if e := msg.PrivateMessage.Epoch; e != g.Epoch() {
		old, ok := m.past[e]
		if !ok {
			return nil, status.Errorf(codes.FailedPrecondition, "message for epoch %d, group is at %d and keeps no state for it", e, g.Epoch())
		}
		g = old
	}
	p, err := g.Process(msg)
	if err != nil {
		return nil, err
	}
	if p.ContentType != core.ContentTypeApplication {
		return nil, invalidArg(fmt.Sprintf("not an application message: %v", p.ContentType))
	}
	return &pb.UnprotectResponse{AuthenticatedData: p.AuthenticatedData, Plaintext: p.ApplicationData}, nil
}

func (s *server) StorePSK(_ context.Context, req *pb.StorePSKRequest) (*pb.StorePSKResponse, error) {
	id := req.GetStateOrTransactionId()
	switch {
	case s.members[id] != nil:
		s.members[id].psks.AddExternal(req.GetPskId(), req.GetPskSecret())
	case s.txs[id] != nil:
		s.txs[id].psks.AddExternal(req.GetPskId(), req.GetPskSecret())
	default:
		return nil, status.Errorf(codes.NotFound, "unknown state or transaction ID %d", id)
	}
	return &pb.StorePSKResponse{}, nil
}

// proposeAs looks up the member of stateID and sends the proposal build
// returns (nil: an Update of its own leaf).
func (s *server) proposeAs(stateID uint32, build func(m *member) (core.ProposalBody, error)) (*pb.ProposalResponse, error) {
	m, err := s.member(stateID)
	if err != nil {
		return nil, err
	}
	body, err := build(m)
	if err != nil {
		return nil, err
	}
	return m.propose(body)
}

func (s *server) AddProposal(_ context.Context, req *pb.AddProposalRequest) (*pb.ProposalResponse, error) {
	return s.proposeAs(req.GetStateId(), func(*member) (core.ProposalBody, error) {
		kp, err := parseKeyPackage(req.GetKeyPackage())
		if err != nil {
			return nil, err
		}
		return &core.Add{KeyPackage: *kp}, nil
	})
}

func (s *server) UpdateProposal(_ context.Context, req *pb.UpdateProposalRequest) (*pb.ProposalResponse, error) {
	return s.proposeAs(req.GetStateId(), func(*member) (core.ProposalBody, error) { return nil, nil })
}

func (s *server) RemoveProposal(_ context.Context, req *pb.RemoveProposalRequest) (*pb.ProposalResponse, error) {
	return s.proposeAs(req.GetStateId(), func(m *member) (core.ProposalBody, error) {
		l, err := leafByIdentity(m.g.Public().Tree(), req.GetRemovedId())
		if err != nil {
			return nil, err
		}
		return &core.Remove{Removed: l}, nil
	})
}

func (s *server) ExternalPSKProposal(_ context.Context, req *pb.ExternalPSKProposalRequest) (*pb.ProposalResponse, error) {
	return s.proposeAs(req.GetStateId(), func(m *member) (core.ProposalBody, error) {
		return m.g.ExternalPSKProposal(req.GetPskId())
	})
}

func (s *server) ResumptionPSKProposal(_ context.Context, req *pb.ResumptionPSKProposalRequest) (*pb.ProposalResponse, error) {
	return s.proposeAs(req.GetStateId(), func(m *member) (core.ProposalBody, error) {
		return m.g.ResumptionPSKProposal(req.GetEpochId())
	})
}

func (s *server) GroupContextExtensionsProposal(_ context.Context, req *pb.GroupContextExtensionsProposalRequest) (*pb.ProposalResponse, error) {
	return s.proposeAs(req.GetStateId(), func(*member) (core.ProposalBody, error) {
		return &core.GroupContextExtensions{Extensions: toExtensions(req.GetExtensions())}, nil
	})
}

// commit creates a commit over the cached proposals (those handed in by
// reference are processed first) and the by-value ones.
func (s *server) commit(req *pb.CommitRequest) (*pb.CommitResponse, error) {
	m, err := s.member(req.GetStateId())
	if err != nil {
		return nil, err
	}
	if err := m.processProposals(req.GetByReference()); err != nil {
		return nil, err
	}
	ctx := m.g.Public().Context()
	var byValue []core.ProposalBody
	for _, d := range req.GetByValue() {
		p, err := proposalFromDescription(d, m.g, &ctx, m.g.Public().Tree())
		if err != nil {
			return nil, err
		}
		byValue = append(byValue, p)
	}
	pc, err := m.g.Commit(core.CommitOptions{Proposals: byValue, ForcePath: req.GetForcePath(), InlineTree: !req.GetExternalTree()})
	if err != nil {
		return nil, err
	}
	out := &pb.CommitResponse{}
	if out.Commit, err = encodeMsg(pc.Commit); err != nil {
		return nil, err
	}
	if out.Welcome, err = encodeMsg(pc.Welcome); err != nil {
		return nil, err
	}
	if req.GetExternalTree() {
		if out.RatchetTree, err = pc.NextGroup().Public().Tree().MarshalRatchetTree(); err != nil {
			return nil, err
		}
	}
	m.pending, m.pendingBytes = pc, out.Commit
	return out, nil
}

func (s *server) Commit(_ context.Context, req *pb.CommitRequest) (*pb.CommitResponse, error) {
	return s.commit(req)
}

// mergePending applies this member's pending commit.
func (m *member) mergePending() error {
	if m.pending == nil {
		return status.Error(codes.FailedPrecondition, "no pending commit")
	}
	m.snapshot()
	if err := m.g.Merge(m.pending); err != nil {
		delete(m.past, m.g.Epoch())
		return err
	}
	m.pending, m.pendingBytes = nil, nil
	return nil
}

// handleCommit processes proposals and then a commit from another member
// (or this member's own pending commit, merged).
func (m *member) handleCommit(proposals [][]byte, commit []byte) (*core.Processed, error) {
	if m.pending != nil && bytes.Equal(commit, m.pendingBytes) {
		return &core.Processed{}, m.mergePending()
	}
	if err := m.processProposals(proposals); err != nil {
		return nil, err
	}
	msg, err := parseMsg(commit)
	if err != nil {
		return nil, err
	}
	m.snapshot()
	before := m.g.Epoch()
	p, err := m.g.Process(msg)
	if err != nil {
		delete(m.past, before)
		return nil, err
	}
	if p.ContentType != core.ContentTypeCommit {
		delete(m.past, before)
		return nil, invalidArg(fmt.Sprintf("not a commit: %v", p.ContentType))
	}
	m.pending, m.pendingBytes = nil, nil
	return p, nil
}

func (s *server) HandleCommit(_ context.Context, req *pb.HandleCommitRequest) (*pb.HandleCommitResponse, error) {
	m, err := s.member(req.GetStateId())
	if err != nil {
		return nil, err
	}
	if _, err := m.handleCommit(req.GetProposal(), req.GetCommit()); err != nil {
		return nil, err
	}
	return &pb.HandleCommitResponse{StateId: req.GetStateId(), EpochAuthenticator: m.g.EpochAuthenticator()}, nil
}

func (s *server) HandlePendingCommit(_ context.Context, req *pb.HandlePendingCommitRequest) (*pb.HandleCommitResponse, error) {
	m, err := s.member(req.GetStateId())
	if err != nil {
		return nil, err
	}
	if err := m.mergePending(); err != nil {
		return nil, err
	}
	return &pb.HandleCommitResponse{StateId: req.GetStateId(), EpochAuthenticator: m.g.EpochAuthenticator()}, nil
}

// Reinitialization (RFC 9420, Section 11.2).

func (s *server) ReInitProposal(_ context.Context, req *pb.ReInitProposalRequest) (*pb.ProposalResponse, error) {
	m, err := s.member(req.GetStateId())
	if err != nil {
		return nil, err
	}
	if _, err := checkSuite(req.GetCipherSuite()); err != nil {
		return nil, err
	}
	ri, err := reinitProposal(req.GetGroupId(), req.GetCipherSuite(), req.GetExtensions())
	if err != nil {
		return nil, err
	}
	return m.propose(ri)
}

func (s *server) ReInitCommit(_ context.Context, req *pb.CommitRequest) (*pb.CommitResponse, error) {
	return s.commit(req)
}

// afterReInit records a member whose group a ReInit commit ended and offers
// a KeyPackage for the new group (same identity and, when the suite is
// unchanged, same signature key).
func (s *server) afterReInit(m *member) (*pb.HandleReInitCommitResponse, error) {
	ri := m.g.PendingReInit()
	if ri == nil || m.g.Active() {
		return nil, status.Error(codes.FailedPrecondition, "the commit did not cover a ReInit proposal")
	}
	cs := uint16(ri.CipherSuite)
	if _, err := checkSuite(uint32(cs)); err != nil {
		return nil, err
	}
	var sig []byte
	if cs == uint16(m.g.CipherSuite()) {
		sig = m.g.SignaturePrivateKey()
	}
	kp, err := newKeyPackage(cs, identityOf(m.g), sig)
	if err != nil {
		return nil, err
	}
	enc, err := wrapKeyPackage(kp.KeyPackage)
	if err != nil {
		return nil, err
	}
	id := s.newID()
	s.reinits[id] = &reinitState{old: m, kp: kp, cfg: newConfig(m.cfg.EncryptHandshake, m.psks)}
	return &pb.HandleReInitCommitResponse{ReinitId: id, KeyPackage: enc, EpochAuthenticator: m.g.EpochAuthenticator()}, nil
}

func (s *server) HandlePendingReInitCommit(_ context.Context, req *pb.HandlePendingCommitRequest) (*pb.HandleReInitCommitResponse, error) {
	m, err := s.member(req.GetStateId())
	if err != nil {
		return nil, err
	}
	if err := m.mergePending(); err != nil {
		return nil, err
	}
	return s.afterReInit(m)
}

func (s *server) HandleReInitCommit(_ context.Context, req *pb.HandleCommitRequest) (*pb.HandleReInitCommitResponse, error) {
	m, err := s.member(req.GetStateId())
	if err != nil {
		return nil, err
	}
	if _, err := m.handleCommit(req.GetProposal(), req.GetCommit()); err != nil {
		return nil, err
	}
	return s.afterReInit(m)
}

func (s *server) reinit(id uint32) (*reinitState, error) {
	r, ok := s.reinits[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "unknown reinit ID %d", id)
	}
	return r, nil
}

func parseKeyPackages(list [][]byte) ([]*core.KeyPackage, error) {
	out := make([]*core.KeyPackage, 0, len(list))
	for _, b := range list {
		kp, err := parseKeyPackage(b)
		if err != nil {
			return nil, err
		}
		out = append(out, kp)
	}
	return out, nil
}

func (s *server) ReInitWelcome(_ context.Context, req *pb.ReInitWelcomeRequest) (*pb.CreateSubgroupResponse, error) {
	r, err := s.reinit(req.GetReinitId())
	if err != nil {
		return nil, err
	}
	kps, err := parseKeyPackages(req.GetKeyPackage())
	if err != nil {
		return nil, err
	}
	// ReInitGroup always sends a path in the new group's first commit, so
	// force_path holds whatever the request says.
	g, w, err := r.old.g.ReInitGroup(r.cfg, r.kp, kps, !req.GetExternalTree())
	if err != nil {
		return nil, err
	}
	return s.subgroupResponse(g, w, r.cfg, r.old.psks, req.GetExternalTree())
}

func (s *server) subgroupResponse(g *core.Group, w *core.MLSMessage, cfg *core.Config, psks *core.MemoryPSKStore, externalTree bool) (*pb.CreateSubgroupResponse, error) {
	out := &pb.CreateSubgroupResponse{EpochAuthenticator: g.EpochAuthenticator()}
	var err error
	if out.Welcome, err = encodeMsg(w); err != nil {
		return nil, err
	}
	if externalTree {
		if out.RatchetTree, err = treeBytes(g); err != nil {
			return nil, err
		}
	}
	out.StateId, _ = s.addMember(g, cfg, psks)
	return out, nil
}

func (s *server) HandleReInitWelcome(_ context.Context, req *pb.HandleReInitWelcomeRequest) (*pb.JoinGroupResponse, error) {
	r, err := s.reinit(req.GetReinitId())
	if err != nil {
		return nil, err
	}
	w, err := parseWelcome(req.GetWelcome())
	if err != nil {
		return nil, err
	}
	g, err := core.Join(r.cfg, w, r.kp, &core.JoinOptions{RatchetTree: nilIfEmpty(req.GetRatchetTree()), Previous: r.old.g})
	if err != nil {
		return nil, err
	}
	id, _ := s.addMember(g, r.cfg, r.old.psks)
	return &pb.JoinGroupResponse{StateId: id, EpochAuthenticator: g.EpochAuthenticator()}, nil
}

// Subgroup branching (RFC 9420, Section 11.3).

func (s *server) CreateBranch(_ context.Context, req *pb.CreateBranchRequest) (*pb.CreateSubgroupResponse, error) {
	m, err := s.member(req.GetStateId())
	if err != nil {
		return nil, err
	}
	old := m.g
	if !old.Active() {
		return nil, toStatus(core.ErrInactive)
	}
	kps, err := parseKeyPackages(req.GetKeyPackages())
	if err != nil {
		return nil, err
	}
	cs := uint16(old.CipherSuite())
	kp, err := newKeyPackage(cs, identityOf(old), old.SignaturePrivateKey())
	if err != nil {
		return nil, err
	}
	// The new group has the requested extensions, so it is built here
	// rather than with Group.Branch (which keeps the old group's): a new
	// group whose first commit adds the members and injects the old
	// group's resumption PSK with usage branch, resolved through the
	// member's PSK store.
	m.psks.AddResumption(old.GroupID(), old.Epoch(), old.ResumptionPSK())
	cfg := newConfig(m.cfg.EncryptHandshake, m.psks)
	ng, err := core.CreateGroup(cfg, req.GetGroupId(), kp, toExtensions(req.GetExtensions()))
	if err != nil {
		return nil, err
	}
	nonce, err := core.NewPSKNonce(core.CipherSuite(cs), nil)
	if err != nil {
		return nil, err
	}
	psk := core.PreSharedKeyID{PSKType: core.PSKTypeResumption, Usage: core.ResumptionPSKUsageBranch,
		PSKGroupID: bytes.Clone(old.GroupID()), PSKEpoch: old.Epoch(), PSKNonce: nonce}
	adds := make([]core.ProposalBody, len(kps))
	for i, k := range kps {
		adds[i] = &core.Add{KeyPackage: *k}
	}
	pc, err := ng.Commit(core.CommitOptions{Proposals: adds, ExtraPSKs: []core.PreSharedKeyID{psk},
		ForcePath: req.GetForcePath(), InlineTree: !req.GetExternalTree()})
	if err != nil {
		return nil, err
	}
	if err := ng.Merge(pc); err != nil {
		return nil, err
	}
	return s.subgroupResponse(ng, pc.Welcome, cfg, m.psks, req.GetExternalTree())
}

func (s *server) HandleBranch(_ context.Context, req *pb.HandleBranchRequest) (*pb.HandleBranchResponse, error) {
	m, err := s.member(req.GetStateId())
	if err != nil {
		return nil, err
	}
	tx, ok := s.txs[req.GetTransactionId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "unknown transaction ID %d", req.GetTransactionId())
	}
	w, err := parseWelcome(req.GetWelcome())
	if err != nil {
		return nil, err
	}
	cfg := newConfig(m.cfg.EncryptHandshake, m.psks)
	g, err := core.Join(cfg, w, tx.kp, &core.JoinOptions{RatchetTree: nilIfEmpty(req.GetRatchetTree()), Previous: m.g})
	if err != nil {
		return nil, err
	}
	delete(s.txs, req.GetTransactionId())
	id, _ := s.addMember(g, cfg, m.psks)
	return &pb.HandleBranchResponse{StateId: id, EpochAuthenticator: g.EpochAuthenticator()}, nil
}

// External proposals (RFC 9420, Section 12.1.8).

func (s *server) NewMemberAddProposal(_ context.Context, req *pb.NewMemberAddProposalRequest) (*pb.NewMemberAddProposalResponse, error) {
	gi, err := parseGroupInfo(req.GetGroupInfo())
	if err != nil {
		return nil, err
	}
	cs := uint16(gi.GroupContext.CipherSuite)
	if _, err := checkSuite(uint32(cs)); err != nil {
		return nil, err
	}
	kp, err := newKeyPackage(cs, req.GetIdentity(), nil)
	if err != nil {
		return nil, err
	}
	// RFC 9420, Section 12.1.8: sender new_member_proposal, signed with the
	// joiner's own key, an Add of its own KeyPackage.
	msg, err := core.NewMemberAddProposal(&gi.GroupContext, kp, nil)
	if err != nil {
		return nil, err
	}
	enc, err := encodeMsg(msg)
	if err != nil {
		return nil, err
	}
	id := s.newID()
	s.txs[id] = &transaction{kp: kp, psks: &core.MemoryPSKStore{}}
	return &pb.NewMemberAddProposalResponse{TransactionId: id, Proposal: enc,
		InitPriv: kp.InitPriv, EncryptionPriv: kp.EncryptionKey, SignaturePriv: kp.SignatureKey}, nil
}

func (s *server) CreateExternalSigner(_ context.Context, req *pb.CreateExternalSignerRequest) (*pb.CreateExternalSignerResponse, error) {
	cs, err := checkSuite(req.GetCipherSuite())
	if err != nil {
		return nil, err
	}
	priv, pub, err := core.GenerateSignatureKey(nil, core.CipherSuite(cs))
	if err != nil {
		return nil, err
	}
	es := core.ExternalSender{SignatureKey: pub, Credential: core.NewBasicCredential(req.GetIdentity())}
	enc, err := es.Marshal()
	if err != nil {
		return nil, err
	}
	id := s.newID()
	s.signers[id] = &signer{cs: cs, priv: priv, sender: es}
	return &pb.CreateExternalSignerResponse{SignerId: id, ExternalSender: enc}, nil
}

func (s *server) AddExternalSigner(_ context.Context, req *pb.AddExternalSignerRequest) (*pb.ProposalResponse, error) {
	m, err := s.member(req.GetStateId())
	if err != nil {
		return nil, err
	}
	es, err := core.UnmarshalExternalSender(req.GetExternalSender())
	if err != nil {
		return nil, invalidArg(fmt.Sprintf("malformed ExternalSender: %v", err))
	}
	// A GroupContextExtensions proposal with the current extensions and the
	// signer appended to external_senders (RFC 9420, Section 12.1.8.1).
	var senders []core.ExternalSender
	var exts core.Extensions
	for _, e := range m.g.Public().Extensions() {
		if e.Type == core.ExtensionExternalSenders {
			if senders, err = core.UnmarshalExternalSenders(e.Data); err != nil {
				return nil, status.Errorf(codes.Internal, "group's external_senders: %v", err)
			}
			continue
		}
		exts = append(exts, e)
	}
	ext, err := core.ExternalSendersExtension(append(senders, es))
	if err != nil {
		return nil, err
	}
	return m.propose(&core.GroupContextExtensions{Extensions: append(exts, ext)})
}

func (s *server) ExternalSignerProposal(_ context.Context, req *pb.ExternalSignerProposalRequest) (*pb.ProposalResponse, error) {
	sg, ok := s.signers[req.GetSignerId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "unknown signer ID %d", req.GetSignerId())
	}
	gi, err := parseGroupInfo(req.GetGroupInfo())
	if err != nil {
		return nil, err
	}
	ctx := &gi.GroupContext
	if uint16(ctx.CipherSuite) != sg.cs {
		return nil, invalidArg("the signer's suite differs from the group's")
	}
	// The signer's index in the group's external_senders; the request's
	// signer_index when the signer is not found there.
	index := req.GetSignerIndex()
	if e, ok := ctx.Extensions.Find(core.ExtensionExternalSenders); ok {
		if list, err := core.UnmarshalExternalSenders(e.Data); err == nil {
			for i, es := range list {
				if bytes.Equal(es.SignatureKey, sg.sender.SignatureKey) {
					index = uint32(i)
					break
				}
			}
		}
	}
	raw := req.GetRatchetTree()
	if e, ok := gi.Extensions.Find(core.ExtensionRatchetTree); ok {
		raw = e.Data
	}
	var tree *core.RatchetTree
	if len(raw) > 0 {
		var err error
		if tree, err = core.ParseRatchetTree(core.CipherSuite(sg.cs), raw, 1<<20); err != nil {
			return nil, invalidArgErr("ratchet tree", err)
		}
	}
	body, err := proposalFromDescription(req.GetDescription(), nil, ctx, tree)
	if err != nil {
		return nil, err
	}
	msg, err := core.NewExternalProposal(ctx, index, sg.priv, body, nil)
	if err != nil {
		return nil, err
	}
	enc, err := encodeMsg(msg)
	if err != nil {
		return nil, err
	}
	return &pb.ProposalResponse{Proposal: enc}, nil
}

func (s *server) Free(_ context.Context, req *pb.FreeRequest) (*pb.FreeResponse, error) {
	if _, err := s.member(req.GetStateId()); err != nil {
		return nil, err
	}
	delete(s.members, req.GetStateId())
	return &pb.FreeResponse{}, nil
}
