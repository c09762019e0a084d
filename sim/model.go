package sim

import "github.com/mlslab/mlslab/sim/size"

// ModelBackend is the `model` fidelity level: no cryptography, sizes from
// package size applied to the symbolic tree.
type ModelBackend struct {
	cfg BackendConfig
	// Precomputed sizes.
	addByValue, removeByValue, updateByValue, byRef int
}

var _ Backend = (*ModelBackend)(nil)

type modelPending struct{ spec CommitSpec }

func (p *modelPending) Spec() *CommitSpec { return &p.spec }

// Fidelity implements Backend.
func (*ModelBackend) Fidelity() string { return "model" }

// Init implements Backend.
func (b *ModelBackend) Init(cfg BackendConfig, _ MemberID) error {
	b.cfg = cfg
	s, p := cfg.Suite, cfg.Profile
	b.addByValue = size.ProposalByValue(size.AddProposal(s, p))
	b.removeByValue = size.ProposalByValue(size.RemoveProposal())
	b.updateByValue = size.ProposalByValue(size.UpdateProposal(s, p))
	b.byRef = size.ProposalByRef(s)
	return nil
}

// CreateCommit implements Backend.
func (b *ModelBackend) CreateCommit(spec CommitSpec) (Pending, error) {
	return &modelPending{spec: spec}, nil
}

func (b *ModelBackend) handshake(ct size.ContentType, body int) int {
	if b.cfg.PrivateHandshake {
		return size.PrivateMessage(b.cfg.Suite, b.cfg.Profile, ct, body)
	}
	return size.PublicMessage(b.cfg.Suite, b.cfg.Profile, ct, body)
}

func (b *ModelBackend) result(spec *CommitSpec, a *Applied) CommitResult {
	s, p := b.cfg.Suite, b.cfg.Profile
	props, adds := 0, 0
	for _, pr := range spec.Proposals {
		switch {
		case pr.ByRef:
			props += b.byRef
		case pr.Kind == PropAdd:
			props += b.addByValue
			adds++
		case pr.Kind == PropRemove:
			props += b.removeByValue
		case pr.Kind == PropUpdate:
			props += b.updateByValue
		}
	}
	if spec.External {
		// ExternalInit{kem_output<V>} by value (RFC 9420, Section 12.1.5).
		props += size.ProposalByValue(2 + size.Opaque(s.Nenc))
	}
	var r CommitResult
	path := 0
	if spec.Path {
		cts := make([]int, len(a.Path))
		for i, l := range a.Path {
			cts[i] = l.Ciphertexts
			r.PathCiphertexts += l.Ciphertexts
		}
		path = size.UpdatePath(s, p, cts)
	}
	r.CommitBytes = b.handshake(size.CommitMsg, size.Commit(props, path))
	if adds > 0 {
		ext := 0
		if b.cfg.RatchetTreeInWelcome {
			ext = size.RatchetTreeExtension(a.Tree.RatchetTreeBytes)
		}
		gi := size.GroupInfo(s, p, ext)
		r.WelcomeBytes = size.Welcome(s, gi, adds, spec.Path)
	}
	return r
}

// AcceptCommit implements Backend.
func (b *ModelBackend) AcceptCommit(p Pending, a *Applied) (CommitResult, error) {
	return b.result(p.Spec(), a), nil
}

// RejectCommit implements Backend.
func (b *ModelBackend) RejectCommit(p Pending, a *Applied) (CommitResult, error) {
	r := b.result(p.Spec(), a)
	r.WelcomeBytes = 0 // never sent
	return r, nil
}

// Propose implements Backend.
func (b *ModelBackend) Propose(kind ProposalKind, _, _ MemberID, _ uint64) (int, error) {
	switch kind {
	case PropUpdate:
		return b.handshake(size.ProposalMsg, size.UpdateProposal(b.cfg.Suite, b.cfg.Profile)), nil
	case PropRemove:
		return b.handshake(size.ProposalMsg, size.RemoveProposal()), nil
	default:
		return b.handshake(size.ProposalMsg, size.AddProposal(b.cfg.Suite, b.cfg.Profile)), nil
	}
}

// SendApplication implements Backend (application messages are always
// PrivateMessage, RFC 9420, Section 6).
func (b *ModelBackend) SendApplication(_ MemberID, _ uint64, n int) (int, error) {
	return size.PrivateMessage(b.cfg.Suite, b.cfg.Profile, size.Application, size.ApplicationData(n)), nil
}

// ProcessCommit implements Backend.
func (*ModelBackend) ProcessCommit(MemberID, uint64) error { return nil }

// Join implements Backend.
func (*ModelBackend) Join(MemberID, uint64) error { return nil }

// Compromise implements Backend.
func (*ModelBackend) Compromise(int, MemberID, bool) error { return nil }

// ProcessesCommits implements Backend.
func (*ModelBackend) ProcessesCommits(MemberID) bool { return false }
