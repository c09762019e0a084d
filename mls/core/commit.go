package core

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/codec"
)

// Commit covers a list of proposals (by value or by reference) and an
// optional UpdatePath.
//
// RFC 9420, Section 12.4.
type Commit struct {
	Proposals []ProposalOrRef
	Path      *UpdatePath // optional<UpdatePath>
}

func (v *Commit) marshal(b *cryptobyte.Builder) {
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for i := range v.Proposals {
			v.Proposals[i].marshal(b)
		}
	})
	codec.AddOptional(b, v.Path != nil, func(b *cryptobyte.Builder) { v.Path.marshal(b) })
}

func (v *Commit) unmarshal(s *cryptobyte.String) error {
	*v = Commit{}
	// GroupContextExtensions, ReInit, ExternalInit and Update proposals
	// encode in a few octets but decode into much larger values; a valid
	// commit holds at most one of each of the first three by value and no
	// Update by value (the committer's own, RFC 9420, Section 12.2), so
	// more than maxSingletonProposals of one of them by value is a
	// decoding error.
	var singles [4]int
	var err error
	v.Proposals, err = readVec(s, maxCommitProposals, minProposalOrRef, func(p *ProposalOrRef, s *cryptobyte.String) error {
		if err := p.unmarshal(s); err != nil {
			return err
		}
		if p.Proposal == nil {
			return nil
		}
		i := -1
		switch p.Proposal.Type() {
		case ProposalTypeGroupContextExtensions:
			i = 0
		case ProposalTypeReInit:
			i = 1
		case ProposalTypeExternalInit:
			i = 2
		case ProposalTypeUpdate:
			i = 3
		}
		if i >= 0 {
			if singles[i]++; singles[i] > maxSingletonProposals {
				return fmt.Errorf("%w: %w: more than %d %v proposals", codec.ErrTooLarge, ErrLimitExceeded, maxSingletonProposals, p.Proposal.Type())
			}
		}
		return nil
	})
	if len(v.Proposals) == 0 {
		v.Proposals = nil
	}
	if err != nil {
		return codec.Errorf("Commit.proposals", err)
	}
	present, err := codec.ReadOptional(s)
	if err != nil {
		return codec.Errorf("Commit.path", err)
	}
	if present {
		v.Path = new(UpdatePath)
		if err := v.Path.unmarshal(s); err != nil {
			return codec.Errorf("Commit.path", err)
		}
	}
	return nil
}

// Marshal returns the encoding of the Commit.
func (v *Commit) Marshal() ([]byte, error) { return codec.Encode(v.marshal) }

// UnmarshalCommit decodes a Commit, rejecting trailing bytes.
func UnmarshalCommit(data []byte) (*Commit, error) {
	v := new(Commit)
	if err := codec.Decode(data, v.unmarshal); err != nil {
		return nil, err
	}
	return v, nil
}
