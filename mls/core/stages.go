package core

import "io"

// The protocol stages of RFC 9420 one call at a time, by cipher suite code
// point: the key schedule (Section 8), the secret tree (Section 9),
// transcript hashes (Section 8.2), message protection (Section 6) and the
// Welcome (Section 12.4.3.1). They are what Group and PublicGroup run
// internally; the IETF test-vector runners (mls/conformance) check each of
// them against the vectors, and tools can build or take apart protocol
// objects with them. A suite mlslab does not implement is an error
// matching ErrUnsupported (or a false or empty result where the stage has
// no error).

// JoinEpoch derives an epoch's secrets from the joiner secret, the PSK
// secret and the encoded GroupContext (RFC 9420, Section 8).
func JoinEpoch(cs CipherSuite, joiner JoinerSecret, psk PSKSecret, groupContext []byte) (*EpochSecrets, error) {
	s, err := lookupSuite(cs)
	if err != nil {
		return nil, err
	}
	return joinEpoch(s, joiner, psk, groupContext), nil
}

// WelcomeSecret derives the welcome_secret from the joiner secret and the
// PSK secret (RFC 9420, Section 8).
func (j JoinerSecret) WelcomeSecret(cs CipherSuite, psk PSKSecret) (WelcomeSecret, error) {
	s, err := lookupSuite(cs)
	if err != nil {
		return nil, err
	}
	return j.welcomeSecret(s, psk), nil
}

// DerivePSKSecret computes the psk_secret of a list of PSKs (RFC 9420,
// Section 8.4).
func DerivePSKSecret(cs CipherSuite, ids []PreSharedKeyID, psks [][]byte) (PSKSecret, error) {
	s, err := lookupSuite(cs)
	if err != nil {
		return nil, err
	}
	return derivePSKSecret(s, ids, psks)
}

// CheckNonce checks that the PSK nonce has the suite's hash length (RFC
// 9420, Section 8.4).
func (v *PreSharedKeyID) CheckNonce(cs CipherSuite) error {
	s, err := lookupSuite(cs)
	if err != nil {
		return err
	}
	return v.checkNonce(s)
}

// NewSecretTree builds the secret tree of a group of leaves members from
// the epoch's encryption secret (RFC 9420, Section 9).
func NewSecretTree(cs CipherSuite, encryptionSecret EncryptionSecret, leaves uint32) (*SecretTree, error) {
	s, err := lookupSuite(cs)
	if err != nil {
		return nil, err
	}
	return newSecretTree(s, encryptionSecret, leaves)
}

// KeyNonce derives the sender-data key and nonce for a PrivateMessage's
// ciphertext (RFC 9420, Section 6.3.2).
func (s SenderDataSecret) KeyNonce(cs CipherSuite, ciphertext []byte) (key, nonce []byte, err error) {
	st, err := lookupSuite(cs)
	if err != nil {
		return nil, nil, err
	}
	key, nonce = s.keyNonce(st, ciphertext)
	return key, nonce, nil
}

// NextTranscriptHashes computes the confirmed and interim transcript hashes
// after a commit (RFC 9420, Section 8.2).
func NextTranscriptHashes(cs CipherSuite, interimBefore, confirmedInput, confirmationTag []byte) (confirmed, interim []byte, err error) {
	s, err := lookupSuite(cs)
	if err != nil {
		return nil, nil, err
	}
	confirmed, interim = nextTranscriptHashes(s, interimBefore, confirmedInput, confirmationTag)
	return confirmed, interim, nil
}

// Verify checks a confirmation tag (RFC 9420, Section 6.1); false for an
// unsupported suite.
func (k ConfirmationKey) Verify(cs CipherSuite, confirmedTranscriptHash, tag []byte) bool {
	s, err := lookupSuite(cs)
	return err == nil && k.verify(s, confirmedTranscriptHash, tag)
}

// Sign signs the content with the signature private key priv (RFC 9420,
// Section 6.1); ctx is the GroupContext for member senders.
func (v *AuthenticatedContent) Sign(cs CipherSuite, priv []byte, ctx *GroupContext) error {
	s, err := lookupSuite(cs)
	if err != nil {
		return err
	}
	v.framed = nil // v is the caller's: encode it afresh (see AuthenticatedContent.framed)
	return v.signPriv(s, priv, ctx)
}

// UnprotectPublic verifies a PublicMessage: its signature under sigPub
// and, for a member sender, its membership tag (RFC 9420, Section 6.2).
func UnprotectPublic(cs CipherSuite, pm *PublicMessage, ctx *GroupContext, membershipKey *MembershipKey, sigPub []byte) (*AuthenticatedContent, error) {
	s, err := lookupSuite(cs)
	if err != nil {
		return nil, err
	}
	ac, err := unprotectPublic(s, pm, ctx, membershipKey, sigPub)
	return ac.unpinned(), err // the caller's now (see AuthenticatedContent.framed)
}

// ProtectPrivate encrypts signed content as a PrivateMessage under the
// sender's ratchet in tree (RFC 9420, Section 6.3).
func ProtectPrivate(cs CipherSuite, ac *AuthenticatedContent, tree *SecretTree, senderDataSecret SenderDataSecret, opts PrivateOptions) (*PrivateMessage, error) {
	s, err := lookupSuite(cs)
	if err != nil {
		return nil, err
	}
	return protectPrivate(s, ac, tree, senderDataSecret, opts)
}

// WithPathSecret returns p with the keys derived from the path secret of
// node x and of every node above it on p's direct path (RFC 9420, Section
// 7.4).
func (p *TreePrivate) WithPathSecret(cs CipherSuite, x NodeIndex, pathSecret []byte) (*TreePrivate, error) {
	s, err := lookupSuite(cs)
	if err != nil {
		return nil, err
	}
	return p.withPathSecret(s, x, pathSecret)
}

// EncryptGroupInfo encrypts a GroupInfo under the welcome secret (RFC
// 9420, Section 12.4.3.1).
func EncryptGroupInfo(cs CipherSuite, welcomeSecret WelcomeSecret, gi *GroupInfo) ([]byte, error) {
	s, err := lookupSuite(cs)
	if err != nil {
		return nil, err
	}
	return encryptGroupInfo(s, welcomeSecret, gi)
}

// EncryptGroupSecrets HPKE-encrypts a joiner's GroupSecrets to kp's init
// key, bound to the Welcome's encrypted GroupInfo (RFC 9420, Section
// 12.4.3.1).
func EncryptGroupSecrets(cs CipherSuite, encryptedGroupInfo []byte, rnd io.Reader, kp *KeyPackage, gs *GroupSecrets) (*EncryptedGroupSecrets, error) {
	s, err := lookupSuite(cs)
	if err != nil {
		return nil, err
	}
	return encryptGroupSecrets(welcomeSealer(s, encryptedGroupInfo), rnd, kp, gs)
}

// DecryptGroupSecrets decrypts the GroupSecrets addressed to the
// KeyPackage with reference kpRef with its init private key (RFC 9420,
// Section 12.4.3.1).
func (v *Welcome) DecryptGroupSecrets(kpRef, initPriv []byte) (*GroupSecrets, error) {
	s, err := lookupSuite(v.CipherSuite)
	if err != nil {
		return nil, err
	}
	return v.decryptGroupSecrets(s, kpRef, initPriv, nil)
}

// DecryptGroupInfo decrypts the Welcome's GroupInfo with the welcome
// secret (RFC 9420, Section 12.4.3.1).
func (v *Welcome) DecryptGroupInfo(welcomeSecret WelcomeSecret) (*GroupInfo, error) {
	s, err := lookupSuite(v.CipherSuite)
	if err != nil {
		return nil, err
	}
	return v.decryptGroupInfo(s, welcomeSecret)
}
