package mls_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/mlslab/mlslab/mls"
)

// TestFacadeKeyPackageBundleStorage: a stored and restored bundle joins
// from the Welcome to its KeyPackage, also after EraseUsedKeys (then only
// as a signature key holder); every malformed encoding is rejected.
func TestFacadeKeyPackageBundleStorage(t *testing.T) {
	cfgA, cfgB := seeded(80), seeded(81)
	alice, err := mls.CreateGroup(cfgA, []byte("g"), newKP(t, cfgA, "alice"), nil)
	if err != nil {
		t.Fatal(err)
	}
	kpB := newKP(t, cfgB, "bob")
	data, err := kpB.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	restored, err := mls.UnmarshalKeyPackageBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := restored.MarshalBinary(); !bytes.Equal(again, data) {
		t.Fatal("encoding does not round-trip")
	}
	pc := addMerged(t, alice, kpB.KeyPackage())
	bob, err := mls.Join(cfgB, wire(t, pc.Welcome), restored, nil)
	if err != nil {
		t.Fatalf("join with a restored bundle: %v", err)
	}
	agree(t, alice, bob)

	// Erased keys round-trip as empty; such a bundle cannot join again.
	restored.EraseUsedKeys()
	erased, err := restored.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	e2, err := mls.UnmarshalKeyPackageBundle(erased)
	if err != nil {
		t.Fatalf("erased bundle: %v", err)
	}
	if _, err := mls.Join(cfgB, wire(t, pc.Welcome), e2, nil); err == nil {
		t.Fatal("an erased bundle joined")
	}

	// Another bundle's private keys with this KeyPackage are rejected.
	other, err := newKP(t, seeded(82), "bob").MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	kpLen := 5 + int(binary.BigEndian.Uint32(data[1:5]))
	okpLen := 5 + int(binary.BigEndian.Uint32(other[1:5]))
	swapped := append(bytes.Clone(data[:kpLen]), other[okpLen:]...)
	if _, err := mls.UnmarshalKeyPackageBundle(swapped); !errors.Is(err, mls.ErrInvalidKeyPackage) {
		t.Fatalf("foreign private keys: %v", err)
	}
	// Only the signature key swapped.
	sigOnly := append(bytes.Clone(data[:len(data)-34]), other[len(other)-34:]...)
	if _, err := mls.UnmarshalKeyPackageBundle(sigOnly); !errors.Is(err, mls.ErrInvalidKeyPackage) {
		t.Fatalf("foreign signature key: %v", err)
	}
	bad := map[string][]byte{
		"empty":         nil,
		"trailing data": append(bytes.Clone(data), 0),
		"version 2":     append([]byte{2}, data[1:]...),
		"huge length":   append([]byte{1, 0xff, 0xff, 0xff, 0xff}, data[5:]...),
	}
	for i := range data {
		bad["truncated"] = data[:i]
		if _, err := mls.UnmarshalKeyPackageBundle(data[:i]); err == nil {
			t.Fatalf("truncated at %d accepted", i)
		}
	}
	for name, b := range bad {
		if _, err := mls.UnmarshalKeyPackageBundle(b); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

// FuzzUnmarshalKeyPackageBundle: the decoder never panics, and what it
// accepts re-encodes to the same octets.
func FuzzUnmarshalKeyPackageBundle(f *testing.F) {
	kp, err := mls.NewKeyPackage(seeded(90), cs, mls.NewBasicCredential([]byte("f")), nil)
	if err != nil {
		f.Fatal(err)
	}
	data, err := kp.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	kp.EraseUsedKeys()
	erased, _ := kp.MarshalBinary()
	f.Add(erased)
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := mls.UnmarshalKeyPackageBundle(in)
		if err != nil {
			return
		}
		out, err := b.MarshalBinary()
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("accepted input does not re-encode: %v", err)
		}
	})
}
