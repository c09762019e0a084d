package mls

import (
	"bytes"
	"fmt"

	"github.com/mlslab/mlslab/mls/core"
	"github.com/mlslab/mlslab/mls/internal/suite"
	"golang.org/x/crypto/cryptobyte"
)

// keyPackageBundleVersion is the first octet of a stored KeyPackageBundle.
const keyPackageBundleVersion = 1

// MarshalBinary encodes the bundle, private keys included, for
// UnmarshalKeyPackageBundle: a client keeps its unused KeyPackages'
// bundles across restarts until a Welcome arrives. The encoding holds
// secrets: store it as such. It is one version octet (1), the KeyPackage
// as an MLSMessage with a 4-octet length prefix, then the init, leaf
// encryption and signature private keys, each with a 2-octet length
// prefix (the first two empty once EraseUsedKeys ran).
func (b *KeyPackageBundle) MarshalBinary() ([]byte, error) {
	cb, err := b.bundle()
	if err != nil {
		return nil, err
	}
	kp, err := (&KeyPackage{cb.KeyPackage}).Marshal()
	if err != nil {
		return nil, err
	}
	var out cryptobyte.Builder
	out.AddUint8(keyPackageBundleVersion)
	out.AddUint32LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes(kp) })
	for _, k := range [][]byte{cb.InitPriv, cb.EncryptionKey, cb.SignatureKey} {
		out.AddUint16LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes(k) })
	}
	return out.Bytes()
}

// UnmarshalKeyPackageBundle decodes a bundle stored by MarshalBinary. It
// rejects any other version, trailing data, a KeyPackage whose signature
// does not verify, and private keys that are not those of the KeyPackage's
// public keys.
func UnmarshalKeyPackageBundle(data []byte) (*KeyPackageBundle, error) {
	s := cryptobyte.String(data)
	var version uint8
	var kpLen uint32
	var kpData []byte
	var initPriv, encPriv, sigPriv cryptobyte.String
	// ReadBytes checks the length against what is left before slicing:
	// nothing is allocated from a claimed length.
	if !s.ReadUint8(&version) || !s.ReadUint32(&kpLen) || uint64(kpLen) > uint64(len(s)) || !s.ReadBytes(&kpData, int(kpLen)) ||
		!s.ReadUint16LengthPrefixed(&initPriv) || !s.ReadUint16LengthPrefixed(&encPriv) ||
		!s.ReadUint16LengthPrefixed(&sigPriv) || !s.Empty() {
		return nil, fmt.Errorf("%w: malformed KeyPackageBundle encoding", ErrDecode)
	}
	if version != keyPackageBundleVersion {
		return nil, fmt.Errorf("%w: KeyPackageBundle encoding version %d", ErrDecode, version)
	}
	kp, err := UnmarshalKeyPackage(kpData)
	if err != nil {
		return nil, err
	}
	s2, err := suite.Get(suite.ID(kp.kp.CipherSuite))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	sigPub, err := s2.SignaturePublicKey(sigPriv)
	if err != nil || !bytes.Equal(sigPub, kp.kp.LeafNode.SignatureKey) {
		return nil, fmt.Errorf("%w: signature private key does not match the KeyPackage", ErrInvalidKeyPackage)
	}
	// The init and leaf keys are empty after EraseUsedKeys.
	if len(initPriv) > 0 || len(encPriv) > 0 {
		initPub, err1 := s2.HPKEPublicKey(initPriv)
		encPub, err2 := s2.HPKEPublicKey(encPriv)
		if err1 != nil || err2 != nil || !bytes.Equal(initPub, kp.kp.InitKey) || !bytes.Equal(encPub, kp.kp.LeafNode.EncryptionKey) {
			return nil, fmt.Errorf("%w: HPKE private keys do not match the KeyPackage", ErrInvalidKeyPackage)
		}
	}
	return &KeyPackageBundle{&core.KeyPackageBundle{KeyPackage: kp.kp, InitPriv: nilIfEmpty(initPriv),
		EncryptionKey: nilIfEmpty(encPriv), SignatureKey: bytes.Clone(sigPriv)}}, nil
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return bytes.Clone(b)
}
