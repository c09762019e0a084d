package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/codec"
	"github.com/mlslab/mlslab/mls/internal/suite"
	"github.com/mlslab/mlslab/mls/internal/vectors"
	"github.com/mlslab/mlslab/mls/internal/vectors/vtest"
)

// loadMessagesVectors returns the messages.json cases (skips without them).
func loadMessagesVectors(t testing.TB) []vectors.Messages {
	t.Helper()
	var tvs []vectors.Messages
	if err := json.Unmarshal(vtest.Load(t, "messages.json"), &tvs); err != nil {
		t.Fatal(err)
	}
	return tvs
}

// wireStruct is any RFC struct with the package's codec pair.
type wireStruct interface {
	marshal(b *cryptobyte.Builder)
	unmarshal(s *cryptobyte.String) error
}

// roundTrip decodes data into v (rejecting trailing bytes) and checks that
// re-encoding reproduces data exactly.
func roundTrip(v wireStruct, data []byte) error {
	if err := codec.Decode(data, v.unmarshal); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	out, err := codec.Encode(v.marshal)
	if err != nil {
		return fmt.Errorf("re-encode: %w", err)
	}
	if string(out) != string(data) {
		return fmt.Errorf("re-encoding differs:\n got %x\nwant %x", out, data)
	}
	return nil
}

// codecSample is one encoded struct and a constructor for its decoder.
type codecSample struct {
	name string
	data []byte
	new  func() wireStruct
}

func messagesSamples(tv *vectors.Messages) []codecSample {
	newMsg := func() wireStruct { return new(MLSMessage) }
	return []codecSample{
		{"mls_welcome", tv.MLSWelcome, newMsg},
		{"mls_group_info", tv.MLSGroupInfo, newMsg},
		{"mls_key_package", tv.MLSKeyPackage, newMsg},
		{"welcome", tv.MLSWelcome[4:], func() wireStruct { return new(Welcome) }},
		{"group_info", tv.MLSGroupInfo[4:], func() wireStruct { return new(GroupInfo) }},
		{"key_package", tv.MLSKeyPackage[4:], func() wireStruct { return new(KeyPackage) }},
		{"group_secrets", tv.GroupSecrets, func() wireStruct { return new(GroupSecrets) }},
		{"add_proposal", tv.AddProposal, func() wireStruct { return new(Add) }},
		{"update_proposal", tv.UpdateProposal, func() wireStruct { return new(Update) }},
		{"remove_proposal", tv.RemoveProposal, func() wireStruct { return new(Remove) }},
		{"pre_shared_key_proposal", tv.PreSharedKeyProposal, func() wireStruct { return new(PreSharedKey) }},
		{"re_init_proposal", tv.ReInitProposal, func() wireStruct { return new(ReInit) }},
		{"external_init_proposal", tv.ExternalInitProposal, func() wireStruct { return new(ExternalInit) }},
		{"group_context_extensions_proposal", tv.GroupContextExtensionsProposal, func() wireStruct { return new(GroupContextExtensions) }},
		{"commit", tv.Commit, func() wireStruct { return new(Commit) }},
		{"public_message_application", tv.PublicMessageApplication, newMsg},
		{"public_message_proposal", tv.PublicMessageProposal, newMsg},
		{"public_message_commit", tv.PublicMessageCommit, newMsg},
		{"private_message", tv.PrivateMessage, newMsg},
	}
}

// TestMessagesStrictPrefixes: every strict prefix of a valid encoding fails
// to decode with a typed truncation error, and the full encoding round-trips.
// (CONVENTIONS.md item 9.)
func TestMessagesStrictPrefixes(t *testing.T) {
	tvs := loadMessagesVectors(t)
	if len(tvs) > 8 {
		tvs = tvs[:8] // the structures are the same in every case; keep the test fast
	}
	for i := range tvs {
		for _, smp := range messagesSamples(&tvs[i]) {
			if err := roundTrip(smp.new(), smp.data); err != nil {
				t.Errorf("#%d %s: %v", i, smp.name, err)
				continue
			}
			for n := 0; n < len(smp.data); n++ {
				err := codec.Decode(smp.data[:n], smp.new().unmarshal)
				if !errors.Is(err, codec.ErrTruncated) {
					t.Errorf("#%d %s: prefix of %d/%d bytes: got %v, want ErrTruncated", i, smp.name, n, len(smp.data), err)
					break
				}
				var ce *codec.Error
				if !errors.As(err, &ce) {
					t.Errorf("#%d %s: prefix %d: error %T is not *codec.Error", i, smp.name, n, err)
					break
				}
			}
		}
	}
}

// TestMessagesTrailingData: a valid encoding with a byte appended is
// rejected by the exported decoders.
func TestMessagesTrailingData(t *testing.T) {
	tv := loadMessagesVectors(t)[0]
	for _, smp := range messagesSamples(&tv) {
		err := codec.Decode(append(append([]byte{}, smp.data...), 0), smp.new().unmarshal)
		if err == nil {
			t.Errorf("%s: trailing byte accepted", smp.name)
		}
	}
	if _, err := UnmarshalMLSMessage(append(append([]byte{}, tv.MLSWelcome...), 0)); !errors.Is(err, codec.ErrTrailingData) {
		t.Errorf("UnmarshalMLSMessage with trailing byte: %v, want ErrTrailingData", err)
	}
}

// TestDecodeDoesNotAlias: decoded values own their bytes (copy on ingest).
func TestDecodeDoesNotAlias(t *testing.T) {
	tv := loadMessagesVectors(t)[0]
	buf := append([]byte{}, tv.PrivateMessage...)
	m, err := UnmarshalMLSMessage(buf)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := m.Marshal()
	for i := range buf {
		buf[i] ^= 0xff
	}
	got, _ := m.Marshal()
	if string(got) != string(want) {
		t.Fatal("decoded MLSMessage changed when the input buffer was overwritten")
	}
}

func TestProposalUnknownType(t *testing.T) {
	for _, typ := range []uint16{0x0000, 0x0008, 0x0a0a, 0xf000} {
		data := []byte{byte(typ >> 8), byte(typ), 0, 0, 0, 0}
		_, err := UnmarshalProposal(data)
		if !errors.Is(err, ErrUnknownProposalType) || !errors.Is(err, codec.ErrInvalidValue) {
			t.Errorf("type 0x%04x: got %v, want ErrUnknownProposalType", typ, err)
		}
		var ce *codec.Error
		if !errors.As(err, &ce) || ce.Field != "Proposal.proposal_type" {
			t.Errorf("type 0x%04x: got %#v, want *codec.Error for Proposal.proposal_type", typ, err)
		}
	}
}

func TestProposalRoundTrip(t *testing.T) {
	props := []*Proposal{
		NewProposal(&Remove{Removed: 7}),
		NewProposal(&ExternalInit{KEMOutput: bytes.Repeat([]byte{3}, 32)}), // a KEM output is at least 32 octets
		NewProposal(&GroupContextExtensions{Extensions: Extensions{{Type: ExtensionApplicationID, Data: []byte("x")}}}),
		NewProposal(&ReInit{GroupID: []byte("g"), Version: ProtocolVersionMLS10, CipherSuite: CipherSuite(suite.MLS_128_DHKEMP256_AES128GCM_SHA256_P256)}),
	}
	for _, p := range props {
		enc, err := p.Marshal()
		if err != nil {
			t.Fatalf("%v: %v", p.Type(), err)
		}
		q, err := UnmarshalProposal(enc)
		if err != nil {
			t.Fatalf("%v: %v", p.Type(), err)
		}
		if q.Type() != p.Type() {
			t.Fatalf("type %v != %v", q.Type(), p.Type())
		}
		enc2, _ := q.Marshal()
		if string(enc) != string(enc2) {
			t.Fatalf("%v: re-encoding differs", p.Type())
		}
	}
	if _, err := (&Proposal{}).Marshal(); err == nil {
		t.Fatal("empty Proposal encoded")
	}
}

func TestProposalTypeNames(t *testing.T) {
	want := map[ProposalType]string{1: "add", 2: "update", 3: "remove", 4: "psk", 5: "reinit", 6: "external_init", 7: "group_context_extensions"}
	for typ, name := range want {
		if typ.String() != name || !typ.IsValid() {
			t.Errorf("%d: %q valid=%v", typ, typ.String(), typ.IsValid())
		}
	}
	if ProposalType(8).IsValid() || ProposalType(0).IsValid() {
		t.Error("undefined types valid")
	}
	if !ProposalType(0x1a1a).IsGREASE() || ProposalType(0x1a1b).IsGREASE() {
		t.Error("GREASE detection")
	}
	for _, typ := range []ProposalType{ProposalTypeAdd, ProposalTypePSK, ProposalTypeReInit} {
		if typ.PathRequired() {
			t.Errorf("%v should not require a path", typ)
		}
	}
	for _, typ := range []ProposalType{ProposalTypeUpdate, ProposalTypeRemove, ProposalTypeExternalInit, ProposalTypeGroupContextExtensions} {
		if !typ.PathRequired() {
			t.Errorf("%v should require a path", typ)
		}
	}
}

func TestCodepointNames(t *testing.T) {
	checks := []struct {
		got, want string
		valid     bool
	}{
		{WireFormatPublicMessage.String(), "mls_public_message", WireFormatPublicMessage.IsValid()},
		{WireFormatPrivateMessage.String(), "mls_private_message", WireFormatPrivateMessage.IsValid()},
		{WireFormatWelcome.String(), "mls_welcome", WireFormatWelcome.IsValid()},
		{WireFormatGroupInfo.String(), "mls_group_info", WireFormatGroupInfo.IsValid()},
		{WireFormatKeyPackage.String(), "mls_key_package", WireFormatKeyPackage.IsValid()},
		{ContentTypeApplication.String(), "application", ContentTypeApplication.IsValid()},
		{ContentTypeProposal.String(), "proposal", ContentTypeProposal.IsValid()},
		{ContentTypeCommit.String(), "commit", ContentTypeCommit.IsValid()},
		{SenderTypeMember.String(), "member", SenderTypeMember.IsValid()},
		{SenderTypeExternal.String(), "external", SenderTypeExternal.IsValid()},
		{SenderTypeNewMemberProposal.String(), "new_member_proposal", SenderTypeNewMemberProposal.IsValid()},
		{SenderTypeNewMemberCommit.String(), "new_member_commit", SenderTypeNewMemberCommit.IsValid()},
		{ProtocolVersionMLS10.String(), "mls10", ProtocolVersionMLS10.IsValid()},
	}
	for _, c := range checks {
		if c.got != c.want || !c.valid {
			t.Errorf("%q (valid=%v), want %q", c.got, c.valid, c.want)
		}
	}
	if WireFormat(0).IsValid() || WireFormat(6).IsValid() || ContentType(0).IsValid() || ContentType(4).IsValid() ||
		SenderType(0).IsValid() || SenderType(5).IsValid() || ProtocolVersion(0).IsValid() {
		t.Error("reserved/undefined codepoint reported valid")
	}
}

func TestMLSMessageRejects(t *testing.T) {
	tv := loadMessagesVectors(t)[0]
	// Unknown version.
	bad := append([]byte{}, tv.MLSWelcome...)
	bad[1] = 2
	if _, err := UnmarshalMLSMessage(bad); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("version 2: %v", err)
	}
	// Unknown / reserved wire formats.
	for _, wf := range []uint16{0, 6, 0xf000} {
		bad := append([]byte{}, tv.MLSWelcome...)
		bad[2], bad[3] = byte(wf>>8), byte(wf)
		if _, err := UnmarshalMLSMessage(bad); !errors.Is(err, codec.ErrInvalidValue) {
			t.Errorf("wire format %d: %v", wf, err)
		}
	}
	// A KeyPackage whose version differs from the MLSMessage's (Section 10).
	kp, err := UnmarshalMLSMessage(tv.MLSKeyPackage)
	if err != nil {
		t.Fatal(err)
	}
	kp.KeyPackage.Version = 2
	enc, err := kp.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := UnmarshalMLSMessage(enc); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("KeyPackage version 2 in mls10 MLSMessage: %v", err)
	}
	// MLSMessage without a body for its wire format cannot be encoded.
	if _, err := (&MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatWelcome}).Marshal(); err == nil {
		t.Error("MLSMessage without body encoded")
	}
}

func TestSenderAndContentTypeRejects(t *testing.T) {
	for _, st := range []byte{0, 5, 255} {
		s := cryptobyte.String([]byte{st, 0, 0, 0, 1})
		var v Sender
		if err := v.unmarshal(&s); !errors.Is(err, codec.ErrInvalidValue) {
			t.Errorf("sender type %d: %v", st, err)
		}
	}
	fc := FramedContent{GroupID: []byte("g"), Epoch: 1, Sender: MemberSender(3), ContentType: ContentTypeApplication, ApplicationData: []byte("hi")}
	enc := codec.MustEncode(fc.marshal)
	// content_type is the byte before application_data<V> (1-byte varint + 2 bytes).
	ctPos := len(enc) - 4
	if enc[ctPos] != byte(ContentTypeApplication) {
		t.Fatalf("layout assumption broken: %x", enc)
	}
	for _, ct := range []byte{0, 4} {
		bad := append([]byte{}, enc...)
		bad[ctPos] = ct
		if err := codec.Decode(bad, new(FramedContent).unmarshal); !errors.Is(err, codec.ErrInvalidValue) {
			t.Errorf("content type %d: %v", ct, err)
		}
	}
}

func TestPublicMessageMembershipTag(t *testing.T) {
	for _, st := range []Sender{MemberSender(1), {Type: SenderTypeExternal, Index: 2}, {Type: SenderTypeNewMemberProposal}} {
		pm := PublicMessage{
			Content: FramedContent{GroupID: []byte("g"), Sender: st, ContentType: ContentTypeProposal,
				Proposal: NewProposal(&Remove{Removed: 1})},
			Auth:          FramedContentAuthData{Signature: []byte("sig")},
			MembershipTag: []byte("tag"),
		}
		enc := codec.MustEncode(pm.marshal)
		var got PublicMessage
		if err := codec.Decode(enc, got.unmarshal); err != nil {
			t.Fatalf("%v: %v", st.Type, err)
		}
		if hasTag := got.MembershipTag != nil; hasTag != (st.Type == SenderTypeMember) {
			t.Errorf("%v: membership tag present = %v", st.Type, hasTag)
		}
	}
}

func TestPrivateMessageContentPadding(t *testing.T) {
	pmc := privateMessageContent{ContentType: ContentTypeApplication, ApplicationData: []byte("hello"),
		Auth: FramedContentAuthData{Signature: []byte{1, 2}}, Padding: 13}
	enc := codec.MustEncode(pmc.marshal)
	got := privateMessageContent{ContentType: ContentTypeApplication}
	if err := codec.Decode(enc, got.unmarshal); err != nil {
		t.Fatal(err)
	}
	if got.Padding != 13 || string(got.ApplicationData) != "hello" {
		t.Fatalf("got padding %d data %q", got.Padding, got.ApplicationData)
	}
	for i := len(enc) - 13; i < len(enc); i++ {
		bad := append([]byte{}, enc...)
		bad[i] = 0x80
		err := codec.Decode(bad, (&privateMessageContent{ContentType: ContentTypeApplication}).unmarshal)
		if !errors.Is(err, ErrNonZeroPadding) {
			t.Fatalf("non-zero padding byte at %d: %v", i, err)
		}
	}
	// A commit with a confirmation tag and no padding.
	pmc = privateMessageContent{ContentType: ContentTypeCommit, Commit: &Commit{},
		Auth: FramedContentAuthData{Signature: []byte{1}, ConfirmationTag: []byte{2, 3}}}
	enc = codec.MustEncode(pmc.marshal)
	got = privateMessageContent{ContentType: ContentTypeCommit}
	if err := codec.Decode(enc, got.unmarshal); err != nil {
		t.Fatal(err)
	}
	if got.Padding != 0 || string(got.Auth.ConfirmationTag) != "\x02\x03" {
		t.Fatalf("commit content: %+v", got)
	}
}

func TestSenderDataRoundTrip(t *testing.T) {
	sd := SenderData{LeafIndex: 5, Generation: 1 << 20, ReuseGuard: [4]byte{1, 2, 3, 4}}
	enc := codec.MustEncode(sd.marshal)
	if len(enc) != 12 {
		t.Fatalf("SenderData is %d bytes, want 12", len(enc))
	}
	var got SenderData
	if err := roundTrip(&got, enc); err != nil || got != sd {
		t.Fatalf("%v %+v", err, got)
	}
	for n := range enc {
		if err := codec.Decode(enc[:n], new(SenderData).unmarshal); !errors.Is(err, codec.ErrTruncated) {
			t.Fatalf("prefix %d: %v", n, err)
		}
	}
}

func TestAuthenticatedContentTranscriptInput(t *testing.T) {
	ac := AuthenticatedContent{
		WireFormat: WireFormatPublicMessage,
		Content:    FramedContent{GroupID: []byte("g"), Epoch: 2, Sender: MemberSender(0), ContentType: ContentTypeCommit, Commit: &Commit{}},
		Auth:       FramedContentAuthData{Signature: []byte("sig"), ConfirmationTag: []byte("tag")},
	}
	enc, err := ac.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	in, err := ac.ConfirmedTranscriptHashInput()
	if err != nil {
		t.Fatal(err)
	}
	// ConfirmedTranscriptHashInput is AuthenticatedContent minus the
	// confirmation tag (opaque<V> "tag" = 4 bytes).
	if string(in) != string(enc[:len(enc)-4]) {
		t.Fatalf("transcript input %x, content %x", in, enc)
	}
	if string(ac.ConfirmationTag()) != "tag" {
		t.Fatal("confirmation tag")
	}
	back, err := UnmarshalAuthenticatedContent(enc)
	if err != nil {
		t.Fatal(err)
	}
	enc2, _ := back.Marshal()
	if string(enc2) != string(enc) {
		t.Fatal("AuthenticatedContent round trip")
	}
	ac.Content.ContentType, ac.Content.Commit, ac.Content.ApplicationData = ContentTypeApplication, nil, []byte("x")
	if _, err := ac.ConfirmedTranscriptHashInput(); err == nil {
		t.Fatal("transcript input of application content")
	}
}
