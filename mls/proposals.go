package mls

import (
	"bytes"
	"fmt"

	"github.com/mlslab/mlslab/mls/core"
)

// ProposalBody is a proposed change to the group (RFC 9420, Section 12.1):
// *Add, *Update, *Remove, *PreSharedKey, *ReInit or *GroupContextExtensions,
// and *UnknownProposal for a received proposal of another type. Group.Propose
// sends one; CommitOptions.Proposals commits them directly; Processed and
// PendingProposal report received ones. A nil body is rejected with
// ErrInvalidProposal.
type ProposalBody interface {
	ProposalType() ProposalType
	core() (core.ProposalBody, error)
}

// Add adds the client of KeyPackage (RFC 9420, Section 12.1.1).
type Add struct{ KeyPackage *KeyPackage }

// Update replaces the sender's leaf with fresh keys (RFC 9420, Section
// 12.1.2). Group.Propose(&Update{}) is Group.ProposeUpdate; a received
// Update reports the sender's new credential and cannot be sent again.
type Update struct{ leaf *core.LeafNode }

// Remove removes the member at leaf Removed (RFC 9420, Section 12.1.3).
type Remove struct{ Removed LeafIndex }

// PreSharedKey injects a pre-shared key into the next epoch's key schedule
// (RFC 9420, Section 12.1.4). Build one with Group.ExternalPSKProposal or
// Group.ResumptionPSKProposal; each carries a fresh nonce.
type PreSharedKey struct{ id core.PreSharedKeyID }

// ReInit ends the group and names the parameters of the group that
// replaces it (RFC 9420, Section 12.1.5; Group.ReInitGroup).
type ReInit struct {
	GroupID     []byte
	CipherSuite CipherSuite
	Extensions  Extensions
}

// GroupContextExtensions replaces the group's extensions (RFC 9420,
// Section 12.1.7).
type GroupContextExtensions struct{ Extensions Extensions }

// UnknownProposal reports a received proposal of a type this package has no
// type for (an ExternalInit, or a type an extension defines). It cannot be
// sent.
type UnknownProposal struct{ Type ProposalType }

func (*Add) ProposalType() ProposalType                    { return ProposalTypeAdd }
func (*Update) ProposalType() ProposalType                 { return ProposalTypeUpdate }
func (*Remove) ProposalType() ProposalType                 { return ProposalTypeRemove }
func (*PreSharedKey) ProposalType() ProposalType           { return ProposalTypePSK }
func (*ReInit) ProposalType() ProposalType                 { return ProposalTypeReInit }
func (*GroupContextExtensions) ProposalType() ProposalType { return ProposalTypeGroupContextExtensions }
func (p *UnknownProposal) ProposalType() ProposalType {
	if p == nil {
		return 0
	}
	return p.Type
}

// Credential returns the credential of the sender's new leaf (zero for an
// Update built to be sent).
func (u *Update) Credential() Credential {
	if u == nil || u.leaf == nil {
		return Credential{}
	}
	return credentialFromCore(&u.leaf.Credential)
}

// External reports whether p names an external PSK, ID returns its psk_id
// (external) or the group ID of the resumption PSK, and Epoch the
// resumption PSK's epoch.
func (p *PreSharedKey) External() bool { return p != nil && p.id.PSKType == core.PSKTypeExternal }

// ID: see External.
func (p *PreSharedKey) ID() []byte {
	switch {
	case p == nil:
		return nil
	case p.External():
		return bytes.Clone(p.id.PSKID)
	}
	return bytes.Clone(p.id.PSKGroupID)
}

// Epoch: see External.
func (p *PreSharedKey) Epoch() uint64 {
	if p == nil {
		return 0
	}
	return p.id.PSKEpoch
}

// errNilProposal is returned for a nil proposal body, typed or not.
var errNilProposal = fmt.Errorf("%w: nil proposal", ErrInvalidProposal)

func (a *Add) core() (core.ProposalBody, error) {
	if a == nil {
		return nil, errNilProposal
	}
	if a.KeyPackage == nil || a.KeyPackage.kp == nil {
		return nil, fmt.Errorf("%w: Add without a KeyPackage", ErrInvalidProposal)
	}
	// A shallow copy: a KeyPackage is immutable (no method of this package
	// modifies it or hands out its slices).
	return &core.Add{KeyPackage: *a.KeyPackage.kp}, nil
}

func (u *Update) core() (core.ProposalBody, error) {
	return nil, fmt.Errorf("%w: send an Update with Group.ProposeUpdate", ErrInvalidProposal)
}

func (r *Remove) core() (core.ProposalBody, error) {
	if r == nil {
		return nil, errNilProposal
	}
	return &core.Remove{Removed: uint32(r.Removed)}, nil
}

func (p *PreSharedKey) core() (core.ProposalBody, error) {
	if p == nil {
		return nil, errNilProposal
	}
	if p.id.PSKNonce == nil {
		return nil, fmt.Errorf("%w: PreSharedKey not built by Group.ExternalPSKProposal or ResumptionPSKProposal", ErrInvalidProposal)
	}
	return &core.PreSharedKey{PSK: p.id}, nil
}

func (r *ReInit) core() (core.ProposalBody, error) {
	if r == nil {
		return nil, errNilProposal
	}
	return &core.ReInit{GroupID: bytes.Clone(r.GroupID), Version: core.ProtocolVersionMLS10,
		CipherSuite: core.CipherSuite(r.CipherSuite), Extensions: r.Extensions.core()}, nil
}

func (e *GroupContextExtensions) core() (core.ProposalBody, error) {
	if e == nil {
		return nil, errNilProposal
	}
	return &core.GroupContextExtensions{Extensions: e.Extensions.core()}, nil
}

func (p *UnknownProposal) core() (core.ProposalBody, error) {
	return nil, fmt.Errorf("%w: a received proposal of type %v cannot be sent", ErrInvalidProposal, p.ProposalType())
}

// proposalFromCore returns the body of a decoded proposal: an
// *UnknownProposal for an ExternalInit (which only an external commit
// carries) or a type this package has no type for.
func proposalFromCore(p *core.Proposal) ProposalBody {
	if p == nil || p.Body == nil {
		return nil
	}
	switch b := p.Body.(type) {
	case *core.Add:
		kp := b.KeyPackage
		return &Add{KeyPackage: &KeyPackage{&kp}}
	case *core.Update:
		leaf := b.LeafNode
		return &Update{leaf: &leaf}
	case *core.Remove:
		return &Remove{Removed: LeafIndex(b.Removed)}
	case *core.PreSharedKey:
		return &PreSharedKey{id: b.PSK}
	case *core.ReInit:
		return reInitFromCore(b)
	case *core.GroupContextExtensions:
		return &GroupContextExtensions{Extensions: extensionsFromCore(b.Extensions)}
	}
	return &UnknownProposal{Type: ProposalType(p.Body.ProposalType())}
}

func reInitFromCore(r *core.ReInit) *ReInit {
	if r == nil {
		return nil
	}
	return &ReInit{GroupID: bytes.Clone(r.GroupID), CipherSuite: CipherSuite(r.CipherSuite), Extensions: extensionsFromCore(r.Extensions)}
}

func coreProposals(bodies []ProposalBody) ([]core.ProposalBody, error) {
	out := make([]core.ProposalBody, len(bodies))
	for i, b := range bodies {
		if b == nil {
			return nil, errNilProposal
		}
		var err error
		if out[i], err = b.core(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
