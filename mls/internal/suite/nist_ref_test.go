package suite

import (
	"crypto/ecdh"
	"errors"
)

// refDHKEM is DHKEM(P-256, HKDF-SHA256), DHKEM(P-384, HKDF-SHA384) and
// DHKEM(P-521, HKDF-SHA512) of RFC 9180, Section 4.1, written directly
// over crypto/ecdh: an independent reference for circl's DHKEM, which the
// suite uses (TestDHKEMReference checks they agree byte for byte), and the
// "ecdh" side of BenchmarkNISTKEM.
type refDHKEM struct {
	kp      kemParams  // kem_id, KDF hash, Nsk, DeriveKeyPair bitmask
	curve   ecdh.Curve // the DH group
	nSecret int        // Nsecret: the KDF's output size (RFC 9180, Table 2)
}

func newRefDHKEM(s *Suite) (refDHKEM, bool) {
	kp := s.hpke.kp
	switch s.kem {
	case kemP256:
		return refDHKEM{kp, ecdh.P256(), 32}, true
	case kemP384:
		return refDHKEM{kp, ecdh.P384(), 48}, true
	case kemP521:
		return refDHKEM{kp, ecdh.P521(), 64}, true
	}
	return refDHKEM{}, false
}

// deriveKeyPair is DeriveKeyPair for the NIST curves (RFC 9180, Section
// 7.1.3): rejection sampling over candidate scalars, first byte masked.
func (k refDHKEM) deriveKeyPair(ikm []byte) (*ecdh.PrivateKey, error) {
	prk := k.kp.labeledExtract(nil, "dkp_prk", ikm)
	for counter := range 256 {
		cand := k.kp.labeledExpand(prk, "candidate", []byte{byte(counter)}, k.kp.nsk)
		cand[0] &= k.kp.bitmask
		if sk, err := k.curve.NewPrivateKey(cand); err == nil {
			return sk, nil
		}
	}
	return nil, errors.New("refDHKEM: no valid candidate")
}

// extractAndExpand is ExtractAndExpand (RFC 9180, Section 4.1) with
// kem_context = enc || pkRm.
func (k refDHKEM) extractAndExpand(dh, enc, pkRm []byte) []byte {
	eaePRK := k.kp.labeledExtract(nil, "eae_prk", dh)
	kemContext := append(append(make([]byte, 0, len(enc)+len(pkRm)), enc...), pkRm...)
	return k.kp.labeledExpand(eaePRK, "shared_secret", kemContext, k.nSecret)
}

// encap is Encap(pkR) with the ephemeral key derived from seed, as circl's
// EncapsulateDeterministically does (RFC 9180, Section 4.1).
func (k refDHKEM) encap(seed, pkRm []byte) (enc, sharedSecret []byte, err error) {
	pkR, err := k.curve.NewPublicKey(pkRm) // length, prefix, on-curve checks
	if err != nil {
		return nil, nil, err
	}
	skE, err := k.deriveKeyPair(seed)
	if err != nil {
		return nil, nil, err
	}
	dh, err := skE.ECDH(pkR)
	if err != nil {
		return nil, nil, err
	}
	enc = skE.PublicKey().Bytes()
	return enc, k.extractAndExpand(dh, enc, pkRm), nil
}

// decap is Decap(enc, skR) (RFC 9180, Section 4.1).
func (k refDHKEM) decap(enc, skRm []byte) ([]byte, error) {
	skR, err := k.curve.NewPrivateKey(skRm)
	if err != nil {
		return nil, err
	}
	pkE, err := k.curve.NewPublicKey(enc)
	if err != nil {
		return nil, err
	}
	dh, err := skR.ECDH(pkE)
	if err != nil {
		return nil, err
	}
	return k.extractAndExpand(dh, enc, skR.PublicKey().Bytes()), nil
}
