package core

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/codec"
	"github.com/mlslab/mlslab/mls/internal/suite"
)

// protectFixture is a 4-member epoch of suite 0x0001 with member 2 sending.
type protectFixture struct {
	cs         *suite.Suite
	ctx        *GroupContext
	priv, pub  []byte
	enc        EncryptionSecret
	senderData SenderDataSecret
	membership MembershipKey
}

func newProtectFixture(t testing.TB) *protectFixture {
	t.Helper()
	cs := suite.MustGet(suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
	rnd := rand.NewChaCha8([32]byte{1})
	priv, pub, err := cs.GenerateSignatureKeyPair(rnd)
	if err != nil {
		t.Fatal(err)
	}
	sec := func(b byte) []byte { return bytes.Repeat([]byte{b}, cs.Nh()) }
	return &protectFixture{
		cs:         cs,
		ctx:        &GroupContext{Version: ProtocolVersionMLS10, CipherSuite: CipherSuite(cs.ID()), GroupID: []byte("group"), Epoch: 7, TreeHash: sec(1), ConfirmedTranscriptHash: sec(2)},
		priv:       priv,
		pub:        pub,
		enc:        EncryptionSecret(sec(3)),
		senderData: SenderDataSecret(sec(4)),
		membership: MembershipKey(sec(5)),
	}
}

func (f *protectFixture) tree(t testing.TB) *SecretTree {
	t.Helper()
	tr, err := newSecretTree(f.cs, f.enc, 4)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func (f *protectFixture) sigKey(leaf uint32) ([]byte, error) {
	if leaf != 2 {
		return nil, fmt.Errorf("%w: leaf %d is blank", ErrUnknownSender, leaf)
	}
	return f.pub, nil
}

func (f *protectFixture) content(t testing.TB, wf WireFormat, ct ContentType) *AuthenticatedContent {
	t.Helper()
	ac := &AuthenticatedContent{WireFormat: wf, Content: FramedContent{
		GroupID: f.ctx.GroupID, Epoch: f.ctx.Epoch, Sender: MemberSender(2),
		AuthenticatedData: []byte("aad"), ContentType: ct,
	}}
	switch ct {
	case ContentTypeApplication:
		ac.Content.ApplicationData = []byte("hello, group")
	case ContentTypeProposal:
		ac.Content.Proposal = NewProposal(&Remove{Removed: 1})
	case ContentTypeCommit:
		ac.Content.Commit = &Commit{Proposals: []ProposalOrRef{{Type: ProposalOrRefReference, Reference: bytes.Repeat([]byte("r"), 32)}}}
	}
	if err := ac.signPriv(f.cs, f.priv, f.ctx); err != nil {
		t.Fatal(err)
	}
	if ct == ContentTypeCommit {
		if err := ac.setConfirmationTag(f.cs, ConfirmationKey(bytes.Repeat([]byte{6}, 32)), []byte("cth")); err != nil {
			t.Fatal(err)
		}
	}
	return ac
}

func TestPrivateMessageRoundTripAndNoConsumeOnFailure(t *testing.T) {
	f := newProtectFixture(t)
	for _, ct := range []ContentType{ContentTypeApplication, ContentTypeProposal, ContentTypeCommit} {
		t.Run(ct.String(), func(t *testing.T) {
			send, recv := f.tree(t), f.tree(t)
			ac := f.content(t, WireFormatPrivateMessage, ct)
			pm, err := protectPrivate(f.cs, ac, send, f.senderData, PrivateOptions{Rand: rand.NewChaCha8([32]byte{2}), Padding: PadToMultiple(64)})
			if err != nil {
				t.Fatal(err)
			}
			// Failures of every kind leave the receiver's tree usable.
			tamper := []struct {
				name string
				mod  func(*PrivateMessage)
				want error
			}{
				{"ciphertext", func(m *PrivateMessage) { m.Ciphertext[0] ^= 1 }, ErrDecrypt},
				{"sender data", func(m *PrivateMessage) { m.EncryptedSenderData[0] ^= 1 }, ErrDecrypt},
				{"authenticated data", func(m *PrivateMessage) { m.AuthenticatedData = []byte("other") }, ErrDecrypt},
				{"epoch", func(m *PrivateMessage) { m.Epoch++ }, ErrWrongEpoch},
				{"group", func(m *PrivateMessage) { m.GroupID = []byte("other") }, ErrWrongGroup},
			}
			for _, tc := range tamper {
				bad := *pm
				bad.Ciphertext = bytes.Clone(pm.Ciphertext)
				bad.EncryptedSenderData = bytes.Clone(pm.EncryptedSenderData)
				tc.mod(&bad)
				if _, err := unprotectPrivate(f.cs, &bad, f.ctx, recv, f.senderData, f.sigKey); !errors.Is(err, tc.want) {
					t.Errorf("tampered %s: got %v, want %v", tc.name, err, tc.want)
				}
			}
			// A wrong signature key fails after decryption; still nothing consumed.
			other, _, _ := f.cs.GenerateSignatureKeyPair(rand.NewChaCha8([32]byte{9}))
			otherPub, _ := f.cs.SignaturePublicKey(other)
			wrongKey := func(uint32) ([]byte, error) { return otherPub, nil }
			if _, err := unprotectPrivate(f.cs, pm, f.ctx, recv, f.senderData, wrongKey); !errors.Is(err, ErrInvalidSignature) {
				t.Errorf("wrong signature key: %v", err)
			}
			// Unknown sender.
			noSender := func(leaf uint32) ([]byte, error) { return nil, fmt.Errorf("%w: %d", ErrUnknownSender, leaf) }
			if _, err := unprotectPrivate(f.cs, pm, f.ctx, recv, f.senderData, noSender); !errors.Is(err, ErrUnknownSender) {
				t.Errorf("unknown sender: %v", err)
			}
			// OpenPrivate without Consume does not consume either.
			if _, err := openPrivate(f.cs, pm, f.ctx, recv, f.senderData, f.sigKey); err != nil {
				t.Fatal(err)
			}
			got, err := unprotectPrivate(f.cs, pm, f.ctx, recv, f.senderData, f.sigKey)
			if err != nil {
				t.Fatalf("genuine message after failures: %v", err)
			}
			a, _ := ac.Marshal()
			b, _ := got.Marshal()
			if !bytes.Equal(a, b) {
				t.Fatalf("content differs:\n got %x\nwant %x", b, a)
			}
			if _, err := unprotectPrivate(f.cs, pm, f.ctx, recv, f.senderData, f.sigKey); !errors.Is(err, ErrDecrypt) || !errors.Is(err, ErrKeyUsed) {
				t.Errorf("replay: %v, want ErrDecrypt wrapping ErrKeyUsed", err)
			}
		})
	}
}

func TestPrivateMessagePaddingPolicy(t *testing.T) {
	f := newProtectFixture(t)
	for _, block := range []int{0, 1, 16, 100} {
		send, recv := f.tree(t), f.tree(t)
		ac := f.content(t, WireFormatPrivateMessage, ContentTypeApplication)
		pm, err := protectPrivate(f.cs, ac, send, f.senderData, PrivateOptions{Padding: PadToMultiple(block)})
		if err != nil {
			t.Fatal(err)
		}
		o, err := openPrivate(f.cs, pm, f.ctx, recv, f.senderData, f.sigKey)
		if err != nil {
			t.Fatal(err)
		}
		ptLen := len(pm.Ciphertext) - 16 // AES-GCM tag
		if block > 1 && ptLen%block != 0 {
			t.Errorf("block %d: plaintext length %d", block, ptLen)
		}
		if block <= 1 && o.Padding != 0 {
			t.Errorf("block %d: padding %d", block, o.Padding)
		}
	}
}

func TestPrivateMessageRejectsNonZeroPadding(t *testing.T) {
	// Encrypt a PrivateMessageContent with a non-zero padding byte by hand.
	f := newProtectFixture(t)
	send, recv := f.tree(t), f.tree(t)
	ac := f.content(t, WireFormatPrivateMessage, ContentTypeApplication)
	pmc := privateMessageContent{ContentType: ContentTypeApplication, ApplicationData: ac.Content.ApplicationData, Auth: ac.Auth}
	pt := append(codec.MustEncode(pmc.marshal), 0, 0, 1)
	kn, err := send.NextKey(2, ApplicationRatchet)
	if err != nil {
		t.Fatal(err)
	}
	aad := codec.MustEncode((&privateContentAAD{GroupID: f.ctx.GroupID, Epoch: f.ctx.Epoch, ContentType: ContentTypeApplication, AuthenticatedData: ac.Content.AuthenticatedData}).marshal)
	ct, _ := f.cs.Seal(kn.Key, kn.Nonce, aad, pt)
	sdKey, sdNonce := f.senderData.keyNonce(f.cs, ct)
	sd := SenderData{LeafIndex: 2, Generation: kn.Generation}
	sdAAD := codec.MustEncode((&senderDataAAD{GroupID: f.ctx.GroupID, Epoch: f.ctx.Epoch, ContentType: ContentTypeApplication}).marshal)
	esd, _ := f.cs.Seal(sdKey, sdNonce, sdAAD, codec.MustEncode(sd.marshal))
	pm := &PrivateMessage{GroupID: f.ctx.GroupID, Epoch: f.ctx.Epoch, ContentType: ContentTypeApplication,
		AuthenticatedData: ac.Content.AuthenticatedData, EncryptedSenderData: esd, Ciphertext: ct}
	_, err = unprotectPrivate(f.cs, pm, f.ctx, recv, f.senderData, f.sigKey)
	if !errors.Is(err, ErrNonZeroPadding) || !errors.Is(err, ErrDecode) {
		t.Fatalf("got %v, want ErrDecode wrapping ErrNonZeroPadding", err)
	}
}

func TestProtectPrivateRejects(t *testing.T) {
	f := newProtectFixture(t)
	ac := f.content(t, WireFormatPublicMessage, ContentTypeProposal)
	if _, err := protectPrivate(f.cs, ac, f.tree(t), f.senderData, PrivateOptions{}); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("content signed for PublicMessage: %v", err)
	}
	ac = f.content(t, WireFormatPrivateMessage, ContentTypeProposal)
	ac.Content.Sender = Sender{Type: SenderTypeExternal, Index: 0}
	if _, err := protectPrivate(f.cs, ac, f.tree(t), f.senderData, PrivateOptions{}); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("external sender: %v", err)
	}
}

func TestPublicMessageProtection(t *testing.T) {
	f := newProtectFixture(t)
	for _, ct := range []ContentType{ContentTypeProposal, ContentTypeCommit} {
		ac := f.content(t, WireFormatPublicMessage, ct)
		pm, err := protectPublic(f.cs, ac, f.ctx, f.membership)
		if err != nil {
			t.Fatal(err)
		}
		if len(pm.MembershipTag) != f.cs.HashSize() {
			t.Fatalf("membership tag of %d bytes", len(pm.MembershipTag))
		}
		if _, err := unprotectPublic(f.cs, pm, f.ctx, &f.membership, f.pub); err != nil {
			t.Fatalf("%v: %v", ct, err)
		}
		bad := *pm
		bad.MembershipTag = bytes.Clone(pm.MembershipTag)
		bad.MembershipTag[3] ^= 1
		if _, err := unprotectPublic(f.cs, &bad, f.ctx, &f.membership, f.pub); !errors.Is(err, ErrInvalidMAC) {
			t.Errorf("bad membership tag: %v", err)
		}
		bad = *pm
		bad.Auth.Signature = bytes.Clone(pm.Auth.Signature)
		bad.Auth.Signature[0] ^= 1
		if _, err := unprotectPublic(f.cs, &bad, f.ctx, &f.membership, f.pub); !errors.Is(err, ErrInvalidMAC) {
			// The signature is covered by the membership tag too.
			t.Errorf("bad signature: %v", err)
		}
		ctx2 := *f.ctx
		ctx2.Epoch++
		if _, err := unprotectPublic(f.cs, pm, &ctx2, &f.membership, f.pub); !errors.Is(err, ErrWrongEpoch) {
			t.Errorf("wrong epoch: %v", err)
		}
		// Signature over a different GroupContext fails even with a valid tag.
		ctx3 := *f.ctx
		ctx3.TreeHash = []byte("other")
		pm3, _ := protectPublic(f.cs, ac, &ctx3, f.membership)
		if _, err := unprotectPublic(f.cs, pm3, &ctx3, &f.membership, f.pub); !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("signature over other GroupContext: %v", err)
		}
	}
	ac := f.content(t, WireFormatPublicMessage, ContentTypeApplication)
	if _, err := protectPublic(f.cs, ac, f.ctx, f.membership); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("application as PublicMessage: %v", err)
	}
}

func TestPublicMessageExternalSender(t *testing.T) {
	f := newProtectFixture(t)
	ac := &AuthenticatedContent{WireFormat: WireFormatPublicMessage, Content: FramedContent{
		GroupID: f.ctx.GroupID, Epoch: f.ctx.Epoch, Sender: Sender{Type: SenderTypeExternal, Index: 0},
		ContentType: ContentTypeProposal, Proposal: NewProposal(&Remove{Removed: 3}),
	}}
	// External senders sign without the GroupContext (RFC 9420, Section 6.1).
	if err := ac.signPriv(f.cs, f.priv, nil); err != nil {
		t.Fatal(err)
	}
	pm, err := protectPublic(f.cs, ac, f.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pm.MembershipTag != nil {
		t.Fatal("external sender got a membership tag")
	}
	if _, err := unprotectPublic(f.cs, pm, f.ctx, nil, f.pub); err != nil {
		t.Fatal(err)
	}
}

func TestConfirmationTag(t *testing.T) {
	f := newProtectFixture(t)
	ac := f.content(t, WireFormatPublicMessage, ContentTypeCommit)
	key := ConfirmationKey(bytes.Repeat([]byte{6}, 32))
	if err := ac.verifyConfirmationTag(f.cs, key, []byte("cth")); err != nil {
		t.Fatal(err)
	}
	if err := ac.verifyConfirmationTag(f.cs, key, []byte("other")); !errors.Is(err, ErrInvalidMAC) {
		t.Fatalf("wrong transcript hash: %v", err)
	}
	app := f.content(t, WireFormatPublicMessage, ContentTypeApplication)
	if err := app.setConfirmationTag(f.cs, key, nil); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("confirmation tag on application: %v", err)
	}
}

func BenchmarkProtectPrivate(b *testing.B) {
	f := newProtectFixture(b)
	ac := f.content(b, WireFormatPrivateMessage, ContentTypeApplication)
	b.Run(fmt.Sprintf("cs=0x%04x/bytes=%d", uint16(f.cs.ID()), len(ac.Content.ApplicationData)), func(b *testing.B) {
		tr := f.tree(b)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := protectPrivate(f.cs, ac, tr, f.senderData, PrivateOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkUnprotectPrivate(b *testing.B) {
	f := newProtectFixture(b)
	ac := f.content(b, WireFormatPrivateMessage, ContentTypeApplication)
	pm, err := protectPrivate(f.cs, ac, f.tree(b), f.senderData, PrivateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run(fmt.Sprintf("cs=0x%04x/bytes=%d", uint16(f.cs.ID()), len(ac.Content.ApplicationData)), func(b *testing.B) {
		tr := f.tree(b)
		b.ReportAllocs()
		for b.Loop() {
			// OpenPrivate does not consume, so the same message opens every time.
			if _, err := openPrivate(f.cs, pm, f.ctx, tr, f.senderData, f.sigKey); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestPublicMessageSenderContentRules(t *testing.T) {
	f := newProtectFixture(t)
	kp, _, _ := newTestKeyPackage(t, f.cs.ID(), 3)
	add := NewProposal(&Add{KeyPackage: *kp})
	remove := NewProposal(&Remove{Removed: 1})
	update := NewProposal(&Update{LeafNode: kp.LeafNode})
	cases := []struct {
		sender  Sender
		ct      ContentType
		prop    *Proposal
		allowed bool
	}{
		{Sender{Type: SenderTypeExternal}, ContentTypeProposal, remove, true},
		{Sender{Type: SenderTypeExternal}, ContentTypeProposal, update, false}, // update is not allowed externally (§17.4)
		{Sender{Type: SenderTypeExternal}, ContentTypeCommit, nil, false},
		{Sender{Type: SenderTypeNewMemberProposal}, ContentTypeProposal, add, true},
		{Sender{Type: SenderTypeNewMemberProposal}, ContentTypeProposal, remove, false},
		{Sender{Type: SenderTypeNewMemberCommit}, ContentTypeCommit, nil, true},
		{Sender{Type: SenderTypeNewMemberCommit}, ContentTypeProposal, add, false},
	}
	for _, tc := range cases {
		ac := &AuthenticatedContent{WireFormat: WireFormatPublicMessage, Content: FramedContent{
			GroupID: f.ctx.GroupID, Epoch: f.ctx.Epoch, Sender: tc.sender, ContentType: tc.ct, Proposal: tc.prop,
		}}
		if tc.ct == ContentTypeCommit {
			ac.Content.Commit = &Commit{}
			ac.Auth.ConfirmationTag = []byte{1}
		}
		if err := ac.signPriv(f.cs, f.priv, f.ctx); err != nil {
			t.Fatal(err)
		}
		_, errP := protectPublic(f.cs, ac, f.ctx, nil)
		pm := &PublicMessage{Content: ac.Content, Auth: ac.Auth}
		_, errU := unprotectPublic(f.cs, pm, f.ctx, nil, f.pub)
		for _, err := range []error{errP, errU} {
			if tc.allowed && err != nil {
				t.Errorf("%v/%v/%v: %v", tc.sender.Type, tc.ct, tc.prop.Type(), err)
			}
			if !tc.allowed && !errors.Is(err, ErrInvalidMessage) {
				t.Errorf("%v/%v/%v: got %v, want ErrInvalidMessage", tc.sender.Type, tc.ct, tc.prop.Type(), err)
			}
		}
	}
}
