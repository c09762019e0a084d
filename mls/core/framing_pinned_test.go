package core

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/codec"
)

// refFramedContentTBS is FramedContentTBS encoded field by field, the
// reference the encodings built from a pinned wire_format || FramedContent
// are checked against. Context is included for member and
// new_member_commit senders only.
//
// RFC 9420, Section 6.1.
type refFramedContentTBS struct {
	Version    ProtocolVersion
	WireFormat WireFormat
	Content    *FramedContent
	Context    *GroupContext // member and new_member_commit senders
}

func (v *refFramedContentTBS) marshal(b *cryptobyte.Builder) {
	v.Version.marshal(b)
	b.AddUint16(uint16(v.WireFormat))
	v.Content.marshal(b)
	switch v.Content.Sender.Type {
	case SenderTypeMember, SenderTypeNewMemberCommit:
		if v.Context == nil {
			b.SetError(errors.New("mls: FramedContentTBS for a member sender needs the GroupContext"))
			return
		}
		v.Context.marshal(b)
	}
}

// TestPinnedEncodingsMatchStructs: FramedContentTBS (RFC 9420, Section
// 6.1), AuthenticatedContentTBM (6.2), ConfirmedTranscriptHashInput (8.2)
// and AuthenticatedContent built from the pinned wire_format ||
// FramedContent equal their field-by-field encodings, for every sender
// type, content type and wire format, pinned or not.
func TestPinnedEncodingsMatchStructs(t *testing.T) {
	ctx := &GroupContext{
		Version: ProtocolVersionMLS10, CipherSuite: 1, GroupID: []byte("group"), Epoch: 7,
		TreeHash: bytes.Repeat([]byte{1}, 32), ConfirmedTranscriptHash: bytes.Repeat([]byte{2}, 32),
		Extensions: Extensions{{Type: ExtensionExternalSenders, Data: bytes.Repeat([]byte{3}, 300)}},
	}
	senders := []Sender{MemberSender(3), {Type: SenderTypeExternal, Index: 1}, {Type: SenderTypeNewMemberCommit}, {Type: SenderTypeNewMemberProposal}}
	bodies := map[ContentType]func(*FramedContent){
		ContentTypeApplication: func(fc *FramedContent) { fc.ApplicationData = bytes.Repeat([]byte{4}, 100) },
		ContentTypeProposal:    func(fc *FramedContent) { fc.Proposal = &Proposal{Body: &Remove{Removed: 5}} },
		ContentTypeCommit: func(fc *FramedContent) {
			fc.Commit = &Commit{Proposals: []ProposalOrRef{{Type: ProposalOrRefReference, Reference: bytes.Repeat([]byte{5}, 32)}}}
		},
	}
	for _, wf := range []WireFormat{WireFormatPublicMessage, WireFormatPrivateMessage} {
		for _, s := range senders {
			for ct, body := range bodies {
				for _, pin := range []bool{false, true} {
					name := fmt.Sprintf("%v/%v/%v/pinned=%v", wf, s.Type, ct, pin)
					ac := &AuthenticatedContent{
						WireFormat: wf,
						Content:    FramedContent{GroupID: ctx.GroupID, Epoch: ctx.Epoch, Sender: s, AuthenticatedData: []byte("aad"), ContentType: ct},
						Auth:       FramedContentAuthData{Signature: bytes.Repeat([]byte{6}, 64)},
					}
					body(&ac.Content)
					if ct == ContentTypeCommit {
						ac.Auth.ConfirmationTag = bytes.Repeat([]byte{7}, 32)
					}
					if pin {
						if err := ac.pinFramed(); err != nil {
							t.Fatal(err)
						}
					}
					ref := refFramedContentTBS{Version: ProtocolVersionMLS10, WireFormat: wf, Content: &ac.Content, Context: ctx}
					want, err := codec.Encode(ref.marshal)
					if err != nil {
						t.Fatal(err)
					}
					got, err := ac.framedContentTBS(ctx, 0)
					if err != nil || !bytes.Equal(got, want) {
						t.Fatalf("%s: FramedContentTBS differs (err %v)", name, err)
					}
					if needsGroupContext(s.Type) {
						if _, err := ac.framedContentTBS(nil, 0); err == nil {
							t.Fatalf("%s: FramedContentTBS without GroupContext encoded", name)
						}
					}
					wantTBM, err := codec.Encode(func(b *cryptobyte.Builder) {
						ref.marshal(b)
						ac.Auth.marshal(b, ct)
					})
					if err != nil {
						t.Fatal(err)
					}
					tbm, tbs, err := ac.authenticatedContentTBM(ctx)
					if err != nil || !bytes.Equal(tbm, wantTBM) || !bytes.Equal(tbs, want) {
						t.Fatalf("%s: AuthenticatedContentTBM differs (err %v)", name, err)
					}
					wantAC, err := ac.Marshal()
					if err != nil {
						t.Fatal(err)
					}
					if gotAC, err := ac.marshalPinned(); err != nil || !bytes.Equal(gotAC, wantAC) {
						t.Fatalf("%s: AuthenticatedContent differs (err %v)", name, err)
					}
					var buf bytes.Buffer
					err = ac.writeConfirmedTranscriptHashInput(&buf)
					wantIn, wantErr := ac.ConfirmedTranscriptHashInput()
					if (err == nil) != (wantErr == nil) || (err == nil && !bytes.Equal(buf.Bytes(), wantIn)) {
						t.Fatalf("%s: ConfirmedTranscriptHashInput differs (err %v, want %v)", name, err, wantErr)
					}
				}
			}
		}
	}
}

// TestPinnedNotHandedOut: the AuthenticatedContent that UnprotectPublic,
// OpenPrivate and UnprotectPrivate return carries no pinned encoding, so
// that a caller who changes its exported fields gets encodings of the
// changed content (see AuthenticatedContent.framed).
func TestPinnedNotHandedOut(t *testing.T) {
	gs := newFlowGroup(t, 1, 31, "alice", "bob", "carol")
	a, b := gs[0], gs[1]
	sigPub := b.pub.tree.Leaf(0).SignatureKey

	msg, err := a.Propose(&Remove{Removed: 2}, &ProposeOptions{WireFormat: WireFormatPublicMessage})
	if err != nil {
		t.Fatal(err)
	}
	ac, err := UnprotectPublic(CipherSuite(1), msg.PublicMessage, &b.pub.ctx, &b.keys.Membership, sigPub)
	if err != nil {
		t.Fatal(err)
	}
	if ac.framed != nil {
		t.Fatal("UnprotectPublic returned a pinned encoding")
	}
	// A changed content signs and protects as the changed content.
	ac.Content.AuthenticatedData = []byte("changed")
	if err := ac.Sign(CipherSuite(1), a.sigPriv, &a.pub.ctx); err != nil {
		t.Fatal(err)
	}
	pm, err := ProtectPublic(CipherSuite(1), ac, &a.pub.ctx, a.keys.Membership)
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnprotectPublic(CipherSuite(1), pm, &b.pub.ctx, &b.keys.Membership, sigPub)
	if err != nil {
		t.Fatalf("re-signed changed content: %v", err)
	}
	if string(back.Content.AuthenticatedData) != "changed" {
		t.Fatal("changed content lost")
	}

	for _, consume := range []bool{false, true} {
		msg, err := a.Propose(&Remove{Removed: 2}, &ProposeOptions{WireFormat: WireFormatPrivateMessage})
		if err != nil {
			t.Fatal(err)
		}
		var got *AuthenticatedContent
		if consume {
			got, err = UnprotectPrivate(CipherSuite(1), msg.PrivateMessage, &b.pub.ctx, b.stree.Clone(), b.keys.SenderData, b.pub.memberSigKey)
		} else {
			var o *OpenedPrivateMessage
			if o, err = OpenPrivate(CipherSuite(1), msg.PrivateMessage, &b.pub.ctx, b.stree.Clone(), b.keys.SenderData, b.pub.memberSigKey); err == nil {
				got = o.Content
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		if got.framed != nil {
			t.Fatalf("private (consume=%v) returned a pinned encoding", consume)
		}
	}
}

// TestSharedMessageConcurrentProcess: several members (and an observer)
// process the same decoded *MLSMessage at once, a proposal and then a
// commit with Adds, as PublicMessage and PrivateMessage. Run with -race:
// verification pins encodings on values of its own and never writes into
// the shared message, which encodes to the same bytes afterwards.
func TestSharedMessageConcurrentProcess(t *testing.T) {
	for _, encrypt := range []bool{false, true} {
		t.Run(fmt.Sprintf("encrypt=%v", encrypt), func(t *testing.T) {
			gs := newFlowGroup(t, 1, 32, "alice", "bob", "carol", "dave", "erin")
			for _, g := range gs {
				g.cfg.EncryptHandshake = encrypt
			}
			a, recv := gs[0], gs[1:]
			pub := a.Public()
			run := func(msg *MLSMessage, observe []*MLSMessage) {
				t.Helper()
				enc := mustEncode(t, msg)
				var wg sync.WaitGroup
				errs := make([]error, len(recv)+1)
				for i, g := range recv {
					wg.Go(func() { _, errs[i] = g.Process(msg) })
				}
				if !encrypt && observe != nil {
					wg.Go(func() {
						var next *PublicGroup
						if next, errs[len(recv)] = pub.ApplyCommit(msg, observe, nil); errs[len(recv)] == nil {
							pub = next
						}
					})
				}
				wg.Wait()
				for i, err := range errs {
					if err != nil {
						t.Fatalf("receiver %d: %v", i, err)
					}
				}
				if !bytes.Equal(mustEncode(t, msg), enc) {
					t.Fatal("the shared message changed")
				}
			}
			prop, err := a.Propose(&Remove{Removed: 4}, nil)
			if err != nil {
				t.Fatal(err)
			}
			prop = wireRoundTrip(t, prop)
			run(prop, nil)
			var adds []ProposalBody
			for i := range 3 {
				adds = append(adds, &Add{KeyPackage: *newKP(t, newTestConfig(3200+uint64(i)), 1, fmt.Sprintf("new%d", i)).KeyPackage})
			}
			pc := commitAndMerge(t, a, CommitOptions{Proposals: adds, ForcePath: true})
			run(wireRoundTrip(t, pc.Commit), []*MLSMessage{prop})
			checkAgree(t, gs[:4]...)
			if !encrypt && !bytes.Equal(pub.TreeHash(), a.Public().TreeHash()) {
				t.Fatal("observer's tree hash differs")
			}
		})
	}
}
