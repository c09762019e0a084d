package core

import (
	"bytes"
	"crypto/x509"
	encasn1 "encoding/asn1"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// X.509 credentials (RFC 9420, Section 5.3): a chain of DER certificates,
// end-entity first. mlslab checks what the RFC requires of every client —
// the chain decodes, each certificate is signed by the next one, and the
// end-entity certificate's public key is the LeafNode's signature_key —
// and leaves trust decisions (anchors, names, revocation, validity periods)
// to the application's Config.ValidateCredential callback (Section 5.3.1).

const ruleX509 = "RFC 9420 §5.3 x509 credential"

// X509Chain parses the certificates of an x509 credential.
func (v *Credential) X509Chain() ([]*x509.Certificate, error) {
	if v.Type != CredentialX509 {
		return nil, fmt.Errorf("mls: %v credential is not x509", v.Type)
	}
	if len(v.Certificates) == 0 {
		return nil, protoErr(CodeInvalidLeafNode, ruleX509, "empty certificate chain", nil)
	}
	chain := make([]*x509.Certificate, len(v.Certificates))
	for i, der := range v.Certificates {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, protoErr(CodeInvalidLeafNode, ruleX509, fmt.Sprintf("certificate %d", i), err)
		}
		chain[i] = c
	}
	return chain, nil
}

// checkX509Credential verifies the chain links and that the end-entity
// certificate carries signatureKey.
func checkX509Credential(c *Credential, signatureKey []byte) error {
	chain, err := c.X509Chain()
	if err != nil {
		return err
	}
	key, err := spkiKeyBytes(chain[0].RawSubjectPublicKeyInfo)
	if err != nil {
		return protoErr(CodeInvalidLeafNode, ruleX509, "end-entity public key", err)
	}
	if !bytes.Equal(key, signatureKey) {
		return protoErr(CodeInvalidLeafNode, ruleX509+" end-entity key is the signature_key", "", nil)
	}
	for i := 0; i+1 < len(chain); i++ {
		err := chain[i].CheckSignatureFrom(chain[i+1])
		if errors.Is(err, x509.ErrUnsupportedAlgorithm) {
			continue // e.g. Ed448, which crypto/x509 cannot verify
		}
		if err != nil {
			return protoErr(CodeInvalidSignature, ruleX509+" chain signature", fmt.Sprintf("certificate %d by %d", i, i+1), err)
		}
	}
	return nil
}

// spkiKeyBytes returns the subjectPublicKey BIT STRING of a
// SubjectPublicKeyInfo: the raw Ed25519/Ed448 key or the uncompressed EC
// point, which is how MLS encodes SignaturePublicKey (Section 5.1.2).
func spkiKeyBytes(spki []byte) ([]byte, error) {
	in := cryptobyte.String(spki)
	var seq, alg cryptobyte.String
	var bits encasn1.BitString
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1(&alg, cbasn1.SEQUENCE) || !seq.ReadASN1BitString(&bits) {
		return nil, errors.New("malformed SubjectPublicKeyInfo")
	}
	if bits.BitLength%8 != 0 {
		return nil, errors.New("public key bit string not octet aligned")
	}
	return bits.Bytes, nil
}
