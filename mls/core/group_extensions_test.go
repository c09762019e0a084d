package core

import (
	"bytes"
	"testing"
)

// TestExternalSenderMarshal: one ExternalSender encodes as the element of
// an external_senders extension (whose data is the vector of them), and
// decodes back; GenerateSignatureKey's public key is the one its private
// key signs for.
func TestExternalSenderMarshal(t *testing.T) {
	const cs = CipherSuite(0x0001)
	priv, pub, err := GenerateSignatureKey(nil, cs)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := NewKeyPackage(nil, cs, NewBasicCredential([]byte("ds")), &KeyPackageOptions{SignatureKey: priv})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(kp.KeyPackage.LeafNode.SignatureKey, pub) {
		t.Fatal("GenerateSignatureKey: public key does not match the private key")
	}
	es := ExternalSender{SignatureKey: pub, Credential: NewBasicCredential([]byte("ds"))}
	enc, err := es.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ext, err := ExternalSendersExtension([]ExternalSender{es})
	if err != nil {
		t.Fatal(err)
	}
	// The extension data is a one-byte varint length (the element is under
	// 64 octets) and the element.
	if len(enc) >= 64 || !bytes.Equal(ext.Data, append([]byte{byte(len(enc))}, enc...)) {
		t.Fatalf("ExternalSender %x, extension data %x", enc, ext.Data)
	}
	got, err := UnmarshalExternalSender(enc)
	if err != nil || !bytes.Equal(got.SignatureKey, pub) || string(got.Credential.Identity) != "ds" {
		t.Fatalf("round trip: %v", err)
	}
	if _, _, err := GenerateSignatureKey(nil, 0xffff); err == nil {
		t.Fatal("unknown suite accepted")
	}
}
