package core

import (
	"bytes"
	"fmt"
	"io"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlslab/mlslab/mls/internal/codec"
	"github.com/mlslab/mlslab/mls/internal/suite"
)

// GroupInfo describes the group's current state to new members; it is
// signed by the member at leaf index Signer.
//
// RFC 9420, Section 12.4.3.
type GroupInfo struct {
	GroupContext    GroupContext
	Extensions      Extensions
	ConfirmationTag []byte
	Signer          uint32
	Signature       []byte
}

// marshalTBS writes GroupInfoTBS: every field but the signature
// (RFC 9420, Section 12.4.3).
func (v *GroupInfo) marshalTBS(b *cryptobyte.Builder) {
	v.GroupContext.marshal(b)
	v.Extensions.marshal(b)
	codec.AddOpaque(b, v.ConfirmationTag)
	b.AddUint32(v.Signer)
}

func (v *GroupInfo) marshal(b *cryptobyte.Builder) {
	v.marshalTBS(b)
	codec.AddOpaque(b, v.Signature)
}

func (v *GroupInfo) unmarshal(s *cryptobyte.String) error {
	*v = GroupInfo{}
	if err := v.GroupContext.unmarshal(s); err != nil {
		return codec.Errorf("GroupInfo", err)
	}
	if err := v.Extensions.unmarshal(s); err != nil {
		return codec.Errorf("GroupInfo", err)
	}
	var err error
	if v.ConfirmationTag, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("GroupInfo.confirmation_tag", err)
	}
	if v.Signer, err = codec.ReadUint32(s); err != nil {
		return codec.Errorf("GroupInfo.signer", err)
	}
	if v.Signature, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("GroupInfo.signature", err)
	}
	return nil
}

// Marshal returns the encoding of the GroupInfo.
func (v *GroupInfo) Marshal() ([]byte, error) { return codec.Encode(v.marshal) }

// UnmarshalGroupInfo decodes a GroupInfo, rejecting trailing bytes. It
// applies the default size limits: DefaultMaxMessageSize to data before
// decoding, DefaultMaxExtensionSize to the extensions of the result (errors
// match ErrLimitExceeded).
func UnmarshalGroupInfo(data []byte) (*GroupInfo, error) {
	l := (*Config)(nil).limits()
	if len(data) > l.message {
		return nil, limitErr(CodeDecode, ruleLimitMessage, fmt.Sprintf("GroupInfo of %d octets (limit %d)", len(data), l.message))
	}
	v, err := decodeGroupInfo(data)
	if err != nil {
		return nil, err
	}
	if err := l.checkGroupInfo(v); err != nil {
		return nil, err
	}
	return v, nil
}

// decodeGroupInfo decodes a GroupInfo without size limits (Join applies
// its Config's).
func decodeGroupInfo(data []byte) (*GroupInfo, error) {
	v := new(GroupInfo)
	if err := codec.Decode(data, v.unmarshal); err != nil {
		return nil, err
	}
	return v, nil
}

// TBS returns the encoded GroupInfoTBS (RFC 9420, Section 12.4.3).
func (v *GroupInfo) TBS() ([]byte, error) { return codec.Encode(v.marshalTBS) }

// Sign sets v.Signature to SignWithLabel(priv, "GroupInfoTBS",
// GroupInfoTBS) with the suite of v.GroupContext (RFC 9420, Section
// 12.4.3). priv is the signature key of the member at leaf v.Signer.
func (v *GroupInfo) Sign(priv []byte) error {
	cs, err := suite.Get(suite.ID(v.GroupContext.CipherSuite))
	if err != nil {
		return protoErr(CodeUnsupported, "RFC 9420 §12.4.3 GroupInfo", "", err)
	}
	k, err := cs.NewSigner(priv)
	if err != nil {
		return fmt.Errorf("mls: signing GroupInfo: %w", err)
	}
	return v.sign(k)
}

// sign is Sign with a parsed signature key of the GroupContext's suite.
func (v *GroupInfo) sign(k *suite.Signer) error {
	tbs, err := v.TBS()
	if err != nil {
		return err
	}
	sig, err := k.SignWithLabel("GroupInfoTBS", tbs)
	if err != nil {
		return fmt.Errorf("mls: signing GroupInfo: %w", err)
	}
	v.Signature = sig
	return nil
}

// VerifySignature checks v.Signature with signerPub, the signature key of
// the LeafNode at leaf index v.Signer (RFC 9420, Section 12.4.3.1). The
// error matches ErrInvalidSignature.
func (v *GroupInfo) VerifySignature(signerPub []byte) error {
	cs, err := suite.Get(suite.ID(v.GroupContext.CipherSuite))
	if err != nil {
		return protoErr(CodeUnsupported, "RFC 9420 §12.4.3 GroupInfo", "", err)
	}
	tbs, err := v.TBS()
	if err != nil {
		return protoErr(CodeInvalidWelcome, "RFC 9420 §12.4.3", "GroupInfoTBS not encodable", err)
	}
	if err := cs.VerifyWithLabel(signerPub, "GroupInfoTBS", tbs, v.Signature); err != nil {
		return protoErr(CodeInvalidSignature, "RFC 9420 §12.4.3.1 GroupInfo signature", "", err)
	}
	return nil
}

// GroupSecrets is the per-joiner secret content of a Welcome.
//
// RFC 9420, Section 12.4.3.1.
type GroupSecrets struct {
	JoinerSecret []byte
	PathSecret   *PathSecret // optional<PathSecret>
	PSKs         []PreSharedKeyID
}

// erase overwrites the joiner and path secrets (a joiner consumed them,
// RFC 9420, Section 9.2).
func (v *GroupSecrets) erase() {
	clear(v.JoinerSecret)
	if v.PathSecret != nil {
		clear(v.PathSecret.PathSecret)
	}
}

func (v *GroupSecrets) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, v.JoinerSecret)
	codec.AddOptional(b, v.PathSecret != nil, func(b *cryptobyte.Builder) { v.PathSecret.marshal(b) })
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for i := range v.PSKs {
			v.PSKs[i].marshal(b)
		}
	})
}

func (v *GroupSecrets) unmarshal(s *cryptobyte.String) error {
	*v = GroupSecrets{}
	var err error
	if v.JoinerSecret, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("GroupSecrets.joiner_secret", err)
	}
	present, err := codec.ReadOptional(s)
	if err != nil {
		return codec.Errorf("GroupSecrets.path_secret", err)
	}
	if present {
		v.PathSecret = new(PathSecret)
		if err := v.PathSecret.unmarshal(s); err != nil {
			return codec.Errorf("GroupSecrets.path_secret", err)
		}
	}
	v.PSKs, err = readVec(s, maxGroupSecretsPSKs, minPSKID, (*PreSharedKeyID).unmarshal)
	if len(v.PSKs) == 0 {
		v.PSKs = nil
	}
	if err != nil {
		return codec.Errorf("GroupSecrets.psks", err)
	}
	return nil
}

// Marshal returns the encoding of the GroupSecrets.
func (v *GroupSecrets) Marshal() ([]byte, error) { return codec.Encode(v.marshal) }

// UnmarshalGroupSecrets decodes a GroupSecrets, rejecting trailing bytes.
func UnmarshalGroupSecrets(data []byte) (*GroupSecrets, error) {
	v := new(GroupSecrets)
	if err := codec.Decode(data, v.unmarshal); err != nil {
		return nil, err
	}
	return v, nil
}

// EncryptedGroupSecrets is GroupSecrets HPKE-encrypted to the init key of
// the KeyPackage with reference NewMember.
//
// RFC 9420, Section 12.4.3.1.
type EncryptedGroupSecrets struct {
	NewMember             []byte // KeyPackageRef
	EncryptedGroupSecrets HPKECiphertext
}

func (v *EncryptedGroupSecrets) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, v.NewMember)
	v.EncryptedGroupSecrets.marshal(b)
}

func (v *EncryptedGroupSecrets) unmarshal(s *cryptobyte.String) error {
	var err error
	if v.NewMember, err = readOpaqueMin(s, minHashOutput); err != nil {
		return codec.Errorf("EncryptedGroupSecrets.new_member", err)
	}
	if err := v.EncryptedGroupSecrets.unmarshal(s); err != nil {
		return codec.Errorf("EncryptedGroupSecrets.encrypted_group_secrets", err)
	}
	return nil
}

// Welcome carries the encrypted GroupInfo and, for each joiner, its
// encrypted GroupSecrets.
//
// RFC 9420, Section 12.4.3.1.
type Welcome struct {
	CipherSuite        CipherSuite
	Secrets            []EncryptedGroupSecrets
	EncryptedGroupInfo []byte
}

func (v *Welcome) marshal(b *cryptobyte.Builder) {
	b.AddUint16(uint16(v.CipherSuite))
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for i := range v.Secrets {
			v.Secrets[i].marshal(b)
		}
	})
	codec.AddOpaque(b, v.EncryptedGroupInfo)
}

func (v *Welcome) unmarshal(s *cryptobyte.String) error {
	*v = Welcome{}
	cs, err := codec.ReadUint16(s)
	if err != nil {
		return codec.Errorf("Welcome.cipher_suite", err)
	}
	v.CipherSuite = CipherSuite(cs)
	v.Secrets, err = readVecCounted(s, maxWelcomeSecrets, 1+minHashOutput+minHPKECiphertext, func(s *cryptobyte.String) error {
		if _, err := codec.ReadVector(s); err != nil {
			return err
		}
		return skipHPKECiphertext(s)
	}, (*EncryptedGroupSecrets).unmarshal)
	if len(v.Secrets) == 0 {
		v.Secrets = nil
	}
	if err != nil {
		return codec.Errorf("Welcome.secrets", err)
	}
	if v.EncryptedGroupInfo, err = codec.ReadOpaque(s); err != nil {
		return codec.Errorf("Welcome.encrypted_group_info", err)
	}
	return nil
}

// Marshal returns the encoding of the Welcome.
func (v *Welcome) Marshal() ([]byte, error) { return codec.Encode(v.marshal) }

// UnmarshalWelcome decodes a Welcome, rejecting trailing bytes and data
// longer than DefaultMaxMessageSize (ErrLimitExceeded).
func UnmarshalWelcome(data []byte) (*Welcome, error) {
	if len(data) > DefaultMaxMessageSize {
		return nil, limitErr(CodeDecode, ruleLimitMessage, fmt.Sprintf("Welcome of %d octets (limit %d)", len(data), DefaultMaxMessageSize))
	}
	v := new(Welcome)
	if err := codec.Decode(data, v.unmarshal); err != nil {
		return nil, err
	}
	return v, nil
}

// Find returns the EncryptedGroupSecrets addressed to the KeyPackage with
// reference ref (RFC 9420, Section 12.4.3.1), or nil.
func (v *Welcome) Find(ref []byte) *EncryptedGroupSecrets {
	for i := range v.Secrets {
		if bytes.Equal(v.Secrets[i].NewMember, ref) {
			return &v.Secrets[i]
		}
	}
	return nil
}

// Labels of the Welcome (RFC 9420, Section 12.4.3.1 and 17.7).
const labelWelcomeHPKE = "Welcome"

// welcomeSealer prepares the HPKE encryptions of a Welcome's GroupSecrets:
// EncryptWithLabel(init_key, "Welcome", encrypted_group_info, ...) for
// every new member, with the (possibly multi-megabyte) encrypted GroupInfo
// hashed into the HPKE key schedule once per Welcome.
func welcomeSealer(cs *suite.Suite, encryptedGroupInfo []byte) *suite.LabeledSealer {
	return cs.NewLabeledSealer(labelWelcomeHPKE, encryptedGroupInfo)
}

// encryptGroupSecrets HPKE-encrypts gs to the init key of kp:
// EncryptWithLabel(init_key, "Welcome", encrypted_group_info, group_secrets)
// (RFC 9420, Section 12.4.3.1) through the Welcome's sealer, made from the
// final Welcome.encrypted_group_info. A nil rnd means crypto/rand.
func encryptGroupSecrets(sealer *suite.LabeledSealer, rnd io.Reader, kp *KeyPackage, gs *GroupSecrets) (*EncryptedGroupSecrets, error) {
	ref, err := kp.Ref()
	if err != nil {
		return nil, err
	}
	pt, err := gs.Marshal()
	if err != nil {
		return nil, fmt.Errorf("mls: encoding GroupSecrets: %w", err)
	}
	kem, ct, err := sealer.Seal(rnd, kp.InitKey, pt)
	if err != nil {
		return nil, fmt.Errorf("mls: encrypting GroupSecrets: %w", err)
	}
	return &EncryptedGroupSecrets{NewMember: ref, EncryptedGroupSecrets: HPKECiphertext{KEMOutput: kem, Ciphertext: ct}}, nil
}

// DecryptGroupSecrets finds the entry for the KeyPackage with reference
// kpRef and decrypts it with initPriv, the private key of that KeyPackage's
// init_key (RFC 9420, Section 12.4.3.1). initPub, if not nil, is that
// init_key, the public key of initPriv: HPKE then uses it rather than
// recomputing it from initPriv (suite.DecryptWithLabelKeyPair; a mismatched
// pair makes decryption fail). Errors match ErrInvalidWelcome (no entry,
// suite mismatch), ErrDecrypt or ErrDecode.
func (v *Welcome) decryptGroupSecrets(cs *suite.Suite, kpRef, initPriv, initPub []byte) (*GroupSecrets, error) {
	const rule = "RFC 9420 §12.4.3.1"
	if v.CipherSuite != CipherSuite(cs.ID()) {
		return nil, protoErr(CodeInvalidWelcome, rule+" cipher_suite", fmt.Sprintf("Welcome %v, KeyPackage %v", v.CipherSuite, cs.ID()), nil)
	}
	e := v.Find(kpRef)
	if e == nil {
		return nil, protoErr(CodeInvalidWelcome, rule+" secrets", fmt.Sprintf("no entry for KeyPackageRef %x", kpRef), nil)
	}
	var pt []byte
	var err error
	if initPub != nil {
		pt, err = cs.DecryptWithLabelKeyPair(initPriv, initPub, labelWelcomeHPKE, v.EncryptedGroupInfo,
			e.EncryptedGroupSecrets.KEMOutput, e.EncryptedGroupSecrets.Ciphertext)
	} else {
		pt, err = cs.DecryptWithLabel(initPriv, labelWelcomeHPKE, v.EncryptedGroupInfo,
			e.EncryptedGroupSecrets.KEMOutput, e.EncryptedGroupSecrets.Ciphertext)
	}
	if err != nil {
		return nil, protoErr(CodeDecrypt, rule+" encrypted_group_secrets", "", err)
	}
	gs, err := UnmarshalGroupSecrets(pt)
	if err != nil {
		return nil, protoErr(CodeDecode, rule+" GroupSecrets", "", err)
	}
	return gs, nil
}

// encryptGroupInfo encrypts gi with the welcome_key and welcome_nonce of
// welcomeSecret (RFC 9420, Section 12.4.3.1), giving
// Welcome.encrypted_group_info. The AAD is empty.
func encryptGroupInfo(cs *suite.Suite, welcomeSecret WelcomeSecret, gi *GroupInfo) ([]byte, error) {
	pt, err := gi.Marshal()
	if err != nil {
		return nil, fmt.Errorf("mls: encoding GroupInfo: %w", err)
	}
	key, nonce := welcomeSecret.keyNonce(cs)
	return cs.Seal(key, nonce, nil, pt)
}

// DecryptGroupInfo decrypts v.EncryptedGroupInfo with the welcome_key and
// welcome_nonce of welcomeSecret (derived from joiner_secret and
// psk_secret, RFC 9420 Section 8 and 12.4.3.1). It does not verify the
// signature (see GroupInfo.VerifySignature). Errors match ErrDecrypt or
// ErrDecode.
func (v *Welcome) decryptGroupInfo(cs *suite.Suite, welcomeSecret WelcomeSecret) (*GroupInfo, error) {
	key, nonce := welcomeSecret.keyNonce(cs)
	pt, err := cs.Open(key, nonce, nil, v.EncryptedGroupInfo)
	if err != nil {
		return nil, protoErr(CodeDecrypt, "RFC 9420 §12.4.3.1 encrypted_group_info", "", err)
	}
	gi, err := decodeGroupInfo(pt)
	if err != nil {
		return nil, protoErr(CodeDecode, "RFC 9420 §12.4.3.1 GroupInfo", "", err)
	}
	return gi, nil
}
