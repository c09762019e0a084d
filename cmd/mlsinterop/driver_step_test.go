//go:build interop

package main

// The driver's step interpreter: one script action of the test runner
// against the clients, with the harness's checks.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"github.com/mlslab/mlslab/cmd/mlsinterop/internal/pb"
)

func eq(what, who string, got, want []byte) error {
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%s: %s disagrees (%x vs %x)", what, who, got, want)
	}
	return nil
}

// step runs one action (semantics of the harness's test-runner).
func (r *run) step(i int, st scriptStep) error {
	var p stepParams
	if err := json.Unmarshal(st.raw, &p); err != nil {
		return err
	}
	ctx, cancel := rpcCtx()
	defer cancel()
	actor := st.Actor
	switch st.Action {
	case "createGroup":
		gid := make([]byte, 16)
		rand.Read(gid)
		gid = []byte(hex.EncodeToString(gid))
		resp, err := r.c(actor).rpc.CreateGroup(ctx, &pb.CreateGroupRequest{GroupId: gid, CipherSuite: r.suite, EncryptHandshake: r.encrypt, Identity: []byte(actor)})
		if err != nil {
			return err
		}
		r.stateID[actor] = resp.StateId
		r.store(i, "group_id", gid)
		r.setActive([]string{actor})
		if len(p.Members) == 0 {
			return nil
		}
		var byValue []*pb.ProposalDescription
		txs := map[string]uint32{}
		for _, m := range p.Members {
			kp, err := r.c(m).rpc.CreateKeyPackage(ctx, &pb.CreateKeyPackageRequest{CipherSuite: r.suite, Identity: []byte(m)})
			if err != nil {
				return err
			}
			txs[m] = kp.TransactionId
			byValue = append(byValue, &pb.ProposalDescription{ProposalType: []byte("add"), KeyPackage: kp.KeyPackage})
		}
		cr, err := r.c(actor).rpc.Commit(ctx, &pb.CommitRequest{StateId: r.stateID[actor], ByValue: byValue})
		if err != nil {
			return err
		}
		hr, err := r.c(actor).rpc.HandlePendingCommit(ctx, &pb.HandlePendingCommitRequest{StateId: r.stateID[actor]})
		if err != nil {
			return err
		}
		r.stateID[actor] = hr.StateId
		for _, m := range p.Members {
			jr, err := r.c(m).rpc.JoinGroup(ctx, &pb.JoinGroupRequest{TransactionId: txs[m], Welcome: cr.Welcome, EncryptHandshake: r.encrypt, Identity: []byte(m)})
			if err != nil {
				return fmt.Errorf("%s JoinGroup: %w", m, err)
			}
			if err := eq("epoch authenticator", m, jr.EpochAuthenticator, hr.EpochAuthenticator); err != nil {
				return err
			}
			r.stateID[m] = jr.StateId
		}
		r.setActive([]string{actor}, p.Members)

	case "createKeyPackage":
		resp, err := r.c(actor).rpc.CreateKeyPackage(ctx, &pb.CreateKeyPackageRequest{CipherSuite: r.suite, Identity: []byte(actor)})
		if err != nil {
			return err
		}
		r.txID[actor] = resp.TransactionId
		r.store(i, "key_package", resp.KeyPackage)

	case "joinGroup":
		w, err := r.get(p.Welcome, "welcome")
		if err != nil {
			return err
		}
		tree, _ := r.get(p.Welcome, "ratchet_tree")
		resp, err := r.c(actor).rpc.JoinGroup(ctx, &pb.JoinGroupRequest{TransactionId: r.txID[actor], Welcome: w, EncryptHandshake: r.encrypt, Identity: []byte(actor), RatchetTree: tree})
		if err != nil {
			return err
		}
		r.stateID[actor] = resp.StateId
		r.active[actor] = true

	case "externalJoin":
		gi, err := r.c(actor).rpc.GroupInfo(ctx, &pb.GroupInfoRequest{StateId: r.stateID[actor], ExternalTree: p.externalTree()})
		if err != nil {
			return err
		}
		var psks []*pb.PreSharedKey
		for _, ix := range p.PSKs {
			id, err := r.get(ix, "psk_id")
			if err != nil {
				return err
			}
			sec, err := r.get(ix, "psk_secret")
			if err != nil {
				return err
			}
			psks = append(psks, &pb.PreSharedKey{PskId: id, PskSecret: sec})
		}
		ej, err := r.c(p.Joiner).rpc.ExternalJoin(ctx, &pb.ExternalJoinRequest{GroupInfo: gi.GroupInfo, RatchetTree: gi.RatchetTree,
			EncryptHandshake: r.encrypt, Identity: []byte(p.Joiner), RemovePrior: p.RemovePrior, Psks: psks})
		if err != nil {
			return fmt.Errorf("%s ExternalJoin: %w", p.Joiner, err)
		}
		r.stateID[p.Joiner] = ej.StateId
		r.store(i, "commit", ej.Commit)
		for _, m := range append(slices.Clone(p.Members), actor) {
			hr, err := r.c(m).rpc.HandleCommit(ctx, &pb.HandleCommitRequest{StateId: r.stateID[m], Commit: ej.Commit})
			if err != nil {
				return fmt.Errorf("%s HandleCommit: %w", m, err)
			}
			if err := eq("epoch authenticator", m, hr.EpochAuthenticator, ej.EpochAuthenticator); err != nil {
				return err
			}
			r.stateID[m] = hr.StateId
		}
		r.setActive([]string{actor, p.Joiner}, p.Members)

	case "installExternalPSK":
		id, sec := make([]byte, 32), make([]byte, 32)
		rand.Read(id)
		rand.Read(sec)
		r.store(i, "psk_id", id)
		r.store(i, "psk_secret", sec)
		for _, c := range p.Clients {
			sid, ok := r.stateID[c]
			if !ok {
				sid = r.txID[c]
			}
			if _, err := r.c(c).rpc.StorePSK(ctx, &pb.StorePSKRequest{StateOrTransactionId: sid, PskId: id, PskSecret: sec}); err != nil {
				return fmt.Errorf("%s StorePSK: %w", c, err)
			}
		}

	case "groupInfo":
		resp, err := r.c(actor).rpc.GroupInfo(ctx, &pb.GroupInfoRequest{StateId: r.stateID[actor], ExternalTree: p.externalTree()})
		if err != nil {
			return err
		}
		r.store(i, "group_info", resp.GroupInfo)
		r.store(i, "ratchet_tree", resp.RatchetTree)

	case "addProposal", "updateProposal", "removeProposal", "externalPSKProposal", "resumptionPSKProposal", "groupContextExtensionsProposal":
		var (
			resp *pb.ProposalResponse
			err  error
			sid  = r.stateID[actor]
			rpc  = r.c(actor).rpc
		)
		switch st.Action {
		case "addProposal":
			var kp []byte
			if kp, err = r.get(p.KeyPackage, "key_package"); err == nil {
				resp, err = rpc.AddProposal(ctx, &pb.AddProposalRequest{StateId: sid, KeyPackage: kp})
			}
		case "updateProposal":
			resp, err = rpc.UpdateProposal(ctx, &pb.UpdateProposalRequest{StateId: sid})
		case "removeProposal":
			resp, err = rpc.RemoveProposal(ctx, &pb.RemoveProposalRequest{StateId: sid, RemovedId: []byte(p.Removed)})
		case "externalPSKProposal":
			var id []byte
			if id, err = r.get(p.PSKID, "psk_id"); err == nil {
				resp, err = rpc.ExternalPSKProposal(ctx, &pb.ExternalPSKProposalRequest{StateId: sid, PskId: id})
			}
		case "resumptionPSKProposal":
			resp, err = rpc.ResumptionPSKProposal(ctx, &pb.ResumptionPSKProposalRequest{StateId: sid, EpochId: p.EpochID})
		case "groupContextExtensionsProposal":
			resp, err = rpc.GroupContextExtensionsProposal(ctx, &pb.GroupContextExtensionsProposalRequest{StateId: sid, Extensions: toPBExtensions(p.Extensions)})
		}
		if err != nil {
			return err
		}
		r.store(i, "proposal", resp.Proposal)

	case "fullCommit", "commit":
		byRef, err := r.proposalsAt(p.ByReference)
		if err != nil {
			return err
		}
		var byVal []*pb.ProposalDescription
		for _, d := range p.ByValue {
			pd, err := r.descToPB(d)
			if err != nil {
				return err
			}
			byVal = append(byVal, pd)
		}
		cr, err := r.c(actor).rpc.Commit(ctx, &pb.CommitRequest{StateId: r.stateID[actor], ByReference: byRef, ByValue: byVal,
			ForcePath: p.forcePath(), ExternalTree: p.externalTree()})
		if err != nil {
			return err
		}
		r.store(i, "commit", cr.Commit)
		r.store(i, "welcome", cr.Welcome)
		if p.externalTree() {
			r.store(i, "ratchet_tree", cr.RatchetTree)
		}
		if st.Action == "commit" {
			return nil
		}
		hr, err := r.c(actor).rpc.HandlePendingCommit(ctx, &pb.HandlePendingCommitRequest{StateId: r.stateID[actor]})
		if err != nil {
			return err
		}
		r.stateID[actor] = hr.StateId
		ea := hr.EpochAuthenticator
		r.store(i, "epoch_authenticator", ea)
		for _, m := range p.Members {
			resp, err := r.c(m).rpc.HandleCommit(ctx, &pb.HandleCommitRequest{StateId: r.stateID[m], Proposal: byRef, Commit: cr.Commit})
			if err != nil {
				return fmt.Errorf("%s HandleCommit: %w", m, err)
			}
			if err := eq("epoch authenticator", m, resp.EpochAuthenticator, ea); err != nil {
				return err
			}
			r.stateID[m] = resp.StateId
		}
		for _, j := range p.Joiners {
			tx, ok := r.txID[j]
			if !ok {
				return fmt.Errorf("no transaction for %s", j)
			}
			req := &pb.JoinGroupRequest{TransactionId: tx, Welcome: cr.Welcome, EncryptHandshake: r.encrypt, Identity: []byte(j)}
			if p.externalTree() {
				req.RatchetTree = cr.RatchetTree
			}
			resp, err := r.c(j).rpc.JoinGroup(ctx, req)
			if err != nil {
				return fmt.Errorf("%s JoinGroup: %w", j, err)
			}
			if err := eq("epoch authenticator", j, resp.EpochAuthenticator, ea); err != nil {
				return err
			}
			r.stateID[j] = resp.StateId
		}
		r.setActive([]string{actor}, p.Members, p.Joiners)

	case "handleCommit":
		commit, err := r.get(p.Commit, "commit")
		if err != nil {
			return err
		}
		byRef, err := r.proposalsAt(p.ByReference)
		if err != nil {
			return err
		}
		resp, err := r.c(actor).rpc.HandleCommit(ctx, &pb.HandleCommitRequest{StateId: r.stateID[actor], Proposal: byRef, Commit: commit})
		if err != nil {
			return err
		}
		r.stateID[actor] = resp.StateId

	case "handlePendingCommit":
		resp, err := r.c(actor).rpc.HandlePendingCommit(ctx, &pb.HandlePendingCommitRequest{StateId: r.stateID[actor]})
		if err != nil {
			return err
		}
		r.stateID[actor] = resp.StateId

	case "protect":
		aad, pt := []byte(p.AuthenticatedData), []byte(p.Plaintext)
		resp, err := r.c(actor).rpc.Protect(ctx, &pb.ProtectRequest{StateId: r.stateID[actor], AuthenticatedData: aad, Plaintext: pt})
		if err != nil {
			return err
		}
		r.store(i, "authenticatedData", aad)
		r.store(i, "plaintext", pt)
		r.store(i, "ciphertext", resp.Ciphertext)

	case "unprotect":
		ct, err := r.get(p.Ciphertext, "ciphertext")
		if err != nil {
			return err
		}
		resp, err := r.c(actor).rpc.Unprotect(ctx, &pb.UnprotectRequest{StateId: r.stateID[actor], Ciphertext: ct})
		if err != nil {
			return err
		}
		aad, _ := r.get(p.Ciphertext, "authenticatedData")
		pt, _ := r.get(p.Ciphertext, "plaintext")
		if !bytes.Equal(resp.AuthenticatedData, aad) || !bytes.Equal(resp.Plaintext, pt) {
			return fmt.Errorf("unprotect: got (%q, %q), want (%q, %q)", resp.AuthenticatedData, resp.Plaintext, aad, pt)
		}

	case "reinit":
		return r.reinit(ctx, i, &p)

	case "branch":
		txs := map[string]uint32{}
		var kps [][]byte
		for _, m := range p.Members {
			resp, err := r.c(m).rpc.CreateKeyPackage(ctx, &pb.CreateKeyPackageRequest{CipherSuite: r.suite, Identity: []byte(m)})
			if err != nil {
				return err
			}
			txs[m] = resp.TransactionId
			kps = append(kps, resp.KeyPackage)
		}
		gid := make([]byte, 16)
		rand.Read(gid)
		br, err := r.c(actor).rpc.CreateBranch(ctx, &pb.CreateBranchRequest{StateId: r.stateID[actor], GroupId: []byte(hex.EncodeToString(gid)),
			Extensions: toPBExtensions(p.Extensions), KeyPackages: kps, ForcePath: p.forcePath(), ExternalTree: p.externalTree()})
		if err != nil {
			return err
		}
		var tree []byte
		if p.externalTree() {
			tree = br.RatchetTree
		}
		r.stateID[actor] = br.StateId
		for _, m := range p.Members {
			resp, err := r.c(m).rpc.HandleBranch(ctx, &pb.HandleBranchRequest{StateId: r.stateID[m], TransactionId: txs[m], Welcome: br.Welcome, RatchetTree: tree})
			if err != nil {
				return fmt.Errorf("%s HandleBranch: %w", m, err)
			}
			if err := eq("epoch authenticator", m, resp.EpochAuthenticator, br.EpochAuthenticator); err != nil {
				return err
			}
			r.stateID[m] = resp.StateId
		}
		r.setActive([]string{actor}, p.Members)

	case "newMemberAddProposal":
		gi, err := r.c(actor).rpc.GroupInfo(ctx, &pb.GroupInfoRequest{StateId: r.stateID[actor]})
		if err != nil {
			return err
		}
		resp, err := r.c(p.Joiner).rpc.NewMemberAddProposal(ctx, &pb.NewMemberAddProposalRequest{GroupInfo: gi.GroupInfo, Identity: []byte(p.Joiner)})
		if err != nil {
			return err
		}
		r.txID[p.Joiner] = resp.TransactionId
		r.store(i, "proposal", resp.Proposal)

	case "addExternalSigner":
		cr, err := r.c(p.Signer).rpc.CreateExternalSigner(ctx, &pb.CreateExternalSignerRequest{CipherSuite: r.suite, Identity: []byte(p.Signer)})
		if err != nil {
			return err
		}
		r.signerID[p.Signer] = cr.SignerId
		resp, err := r.c(actor).rpc.AddExternalSigner(ctx, &pb.AddExternalSignerRequest{StateId: r.stateID[actor], ExternalSender: cr.ExternalSender})
		if err != nil {
			return err
		}
		r.store(i, "proposal", resp.Proposal)

	case "externalSignerProposal":
		gi, err := r.c(p.Member).rpc.GroupInfo(ctx, &pb.GroupInfoRequest{StateId: r.stateID[p.Member], ExternalTree: true})
		if err != nil {
			return err
		}
		d, err := r.descToPB(p.Description)
		if err != nil {
			return err
		}
		resp, err := r.c(actor).rpc.ExternalSignerProposal(ctx, &pb.ExternalSignerProposalRequest{SignerId: r.signerID[actor],
			GroupInfo: gi.GroupInfo, RatchetTree: gi.RatchetTree, Description: d})
		if err != nil {
			return err
		}
		r.store(i, "proposal", resp.Proposal)

	default:
		return fmt.Errorf("unknown action %q", st.Action)
	}
	return nil
}

func (r *run) reinit(ctx context.Context, i int, p *stepParams) error {
	notCommitter := map[string]bool{p.Welcomer: true}
	notWelcomer := map[string]bool{p.Committer: true}
	for _, m := range p.Members {
		notCommitter[m], notWelcomer[m] = true, true
	}
	if p.Proposer != "" {
		notCommitter[p.Proposer], notWelcomer[p.Proposer] = true, true
	}
	delete(notCommitter, p.Committer)
	delete(notWelcomer, p.Welcomer)
	gid, err := r.newGroupID(p.ChangeGroupID)
	if err != nil {
		return err
	}
	if p.ChangeCipherSuite || p.ChangeCiphersuite {
		if err := r.changeSuite(); err != nil {
			return err
		}
	}
	var proposal []byte
	if p.Proposer != "" {
		resp, err := r.c(p.Proposer).rpc.ReInitProposal(ctx, &pb.ReInitProposalRequest{StateId: r.stateID[p.Proposer],
			CipherSuite: r.suite, GroupId: gid, Extensions: toPBExtensions(p.Extensions)})
		if err != nil {
			return fmt.Errorf("ReInitProposal: %w", err)
		}
		proposal = resp.Proposal
	} else if proposal, err = r.get(p.ExternalReinitProposal, "proposal"); err != nil {
		return err
	}
	cr, err := r.c(p.Committer).rpc.ReInitCommit(ctx, &pb.CommitRequest{StateId: r.stateID[p.Committer], ByReference: [][]byte{proposal}})
	if err != nil {
		return fmt.Errorf("ReInitCommit: %w", err)
	}
	hr, err := r.c(p.Committer).rpc.HandlePendingReInitCommit(ctx, &pb.HandlePendingCommitRequest{StateId: r.stateID[p.Committer]})
	if err != nil {
		return fmt.Errorf("HandlePendingReInitCommit: %w", err)
	}
	reinitID := map[string]uint32{p.Committer: hr.ReinitId}
	kps := map[string][]byte{p.Committer: hr.KeyPackage}
	for _, m := range sortedKeys(notCommitter) {
		resp, err := r.c(m).rpc.HandleReInitCommit(ctx, &pb.HandleCommitRequest{StateId: r.stateID[m], Proposal: [][]byte{proposal}, Commit: cr.Commit})
		if err != nil {
			return fmt.Errorf("%s HandleReInitCommit: %w", m, err)
		}
		if err := eq("epoch authenticator", m, resp.EpochAuthenticator, hr.EpochAuthenticator); err != nil {
			return err
		}
		reinitID[m], kps[m] = resp.ReinitId, resp.KeyPackage
	}
	var list [][]byte
	for _, m := range sortedKeys(notWelcomer) {
		list = append(list, kps[m])
	}
	wr, err := r.c(p.Welcomer).rpc.ReInitWelcome(ctx, &pb.ReInitWelcomeRequest{ReinitId: reinitID[p.Welcomer], KeyPackage: list,
		ForcePath: p.forcePath(), ExternalTree: p.externalTree()})
	if err != nil {
		return fmt.Errorf("ReInitWelcome: %w", err)
	}
	r.stateID[p.Welcomer] = wr.StateId
	var tree []byte
	if p.externalTree() {
		tree = wr.RatchetTree
	}
	for _, m := range sortedKeys(notWelcomer) {
		resp, err := r.c(m).rpc.HandleReInitWelcome(ctx, &pb.HandleReInitWelcomeRequest{ReinitId: reinitID[m], Welcome: wr.Welcome, RatchetTree: tree})
		if err != nil {
			return fmt.Errorf("%s HandleReInitWelcome: %w", m, err)
		}
		if err := eq("reinit epoch authenticator", m, resp.EpochAuthenticator, wr.EpochAuthenticator); err != nil {
			return err
		}
		r.stateID[m] = resp.StateId
	}
	all := append(sortedKeys(notWelcomer), p.Welcomer)
	r.setActive(all)
	return nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkAgreement asks every active member for StateAuth and an Export and
// requires them to be equal.
