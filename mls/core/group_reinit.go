package core

import (
	"bytes"
	"fmt"
	"slices"
)

// Reinitialization and branching (RFC 9420, Sections 11.2, 11.3): a new
// group linked to the old one by a resumption PSK.

// ReInitGroup creates the group that replaces g after a ReInit commit
// (RFC 9420, Section 11.2): it takes the group ID, version, suite and
// extensions of the ReInit proposal, adds the members whose KeyPackages are
// given (KeyPackages in the new suite), and injects the old group's
// resumption PSK (usage reinit) into epoch 1. kp is this member's
// KeyPackage in the new suite. It returns the new group after the commit
// (epoch 1) and the Welcome for the others.
func (g *Group) ReInitGroup(cfg *Config, kp *KeyPackageBundle, members []*KeyPackage, inlineTree bool) (*Group, *MLSMessage, error) {
	ri := g.reinit
	if g.state != stateReInit || ri == nil {
		return nil, nil, fmt.Errorf("mls: no ReInit was committed in this group")
	}
	if kp.KeyPackage.CipherSuite != ri.CipherSuite {
		return nil, nil, protoErr(CodeInvalidProposal, "RFC 9420 §11.2 cipher suite of the ReInit", "", nil)
	}
	return g.resume(cfg, ri.GroupID, kp, members, ri.Extensions, ResumptionPSKUsageReinit, inlineTree)
}

// Branch creates a subgroup of g with a new group ID (RFC 9420, Section
// 11.3): same version and suite, the members whose KeyPackages are given,
// linked by the resumption PSK of g's current epoch (usage branch).
func (g *Group) Branch(cfg *Config, groupID []byte, kp *KeyPackageBundle, members []*KeyPackage, inlineTree bool) (*Group, *MLSMessage, error) {
	if g.state != stateActive {
		return nil, nil, ErrInactive
	}
	if kp.KeyPackage.CipherSuite != CipherSuite(g.cs.ID()) {
		return nil, nil, protoErr(CodeInvalidProposal, "RFC 9420 §11.3 same cipher suite", "", nil)
	}
	return g.resume(cfg, groupID, kp, members, g.pub.ctx.Extensions, ResumptionPSKUsageBranch, inlineTree)
}

func (g *Group) resume(cfg *Config, groupID []byte, kp *KeyPackageBundle, members []*KeyPackage, exts Extensions,
	usage ResumptionPSKUsage, inlineTree bool) (*Group, *MLSMessage, error) {
	ng, err := CreateGroup(cfg, groupID, kp, exts)
	if err != nil {
		return nil, nil, err
	}
	// The new group resolves the old group's resumption PSKs.
	ng.resumption = append(slices.Clone(g.resumption), ng.resumption...)
	nonce, err := newPSKNonce(ng.cs, cfg.rand())
	if err != nil {
		return nil, nil, err
	}
	psk := PreSharedKeyID{PSKType: PSKTypeResumption, Usage: usage, PSKGroupID: bytes.Clone(g.pub.ctx.GroupID), PSKEpoch: g.pub.ctx.Epoch, PSKNonce: nonce}
	props := make([]ProposalBody, len(members))
	for i, m := range members {
		props[i] = &Add{KeyPackage: *m}
	}
	pc, err := ng.Commit(CommitOptions{Proposals: props, ExtraPSKs: []PreSharedKeyID{psk}, InlineTree: inlineTree, ForcePath: true})
	if err != nil {
		return nil, nil, err
	}
	if err := ng.Merge(pc); err != nil {
		return nil, nil, err
	}
	return ng, pc.Welcome, nil
}
