package mls

import (
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
	err := readListMax(s, maxCommitProposals, func(s *cryptobyte.String) error {
		var p ProposalOrRef
		if err := p.unmarshal(s); err != nil {
			return err
		}
		v.Proposals = append(v.Proposals, p)
		return nil
	})
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
