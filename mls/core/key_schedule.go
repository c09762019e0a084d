package core

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

// The key schedule of RFC 9420, Section 8 (Figure 22):
//
//	init_secret_[n-1] --Extract(salt)--+
//	commit_secret ------Extract(ikm)---+--> ExpandWithLabel(., "joiner", GroupContext_[n]) = joiner_secret
//	joiner_secret ------Extract(salt)--+
//	psk_secret (or 0) --Extract(ikm)---+--> DeriveSecret(., "welcome") = welcome_secret
//	                                   +--> ExpandWithLabel(., "epoch", GroupContext_[n]) = epoch_secret
//	epoch_secret --> DeriveSecret(., <label>) = the secrets of Table 4, and init_secret_[n]
//
// Every stage has its own type so a secret cannot be passed where another
// stage is expected (InitSecret -> JoinerSecret -> EpochSecret ->
// EpochSecrets). All are plain byte slices: holding the secrets of many
// epochs costs only their bytes.
//
// Deletion (RFC 9420, Section 9.2): EpochSecrets keeps only what the epoch
// needs after derivation; epoch_secret, joiner_secret, commit_secret and
// psk_secret are never stored by these functions, and callers drop theirs once
// the epoch is set up (the committer keeps joiner_secret and welcome_secret
// only until its Welcome is built). When a Group moves to the next epoch it
// overwrites the previous epoch's secrets it owns (see EpochSecrets and the
// package documentation, "Erasing secrets", for what Go can and cannot
// guarantee).

// Labels of the key schedule (RFC 9420, Sections 8, 8.3, 8.4, 8.5, 12.4.3.1).
const (
	labelJoiner         = "joiner"         // Section 8
	labelWelcome        = "welcome"        // Section 8
	labelEpoch          = "epoch"          // Section 8
	labelInit           = "init"           // Section 8
	labelSenderData     = "sender data"    // Section 8, Table 4
	labelEncryption     = "encryption"     // Section 8, Table 4
	labelExporter       = "exporter"       // Section 8, Table 4
	labelExternal       = "external"       // Section 8, Table 4
	labelConfirm        = "confirm"        // Section 8, Table 4
	labelMembership     = "membership"     // Section 8, Table 4
	labelResumption     = "resumption"     // Section 8, Table 4
	labelAuthentication = "authentication" // Section 8, Table 4
	labelExported       = "exported"       // Section 8.5, MLS-Exporter
	labelDerivedPSK     = "derived psk"    // Section 8.4
	labelKey            = "key"            // Sections 6.3.2, 9.1, 12.4.3.1
	labelNonce          = "nonce"          // Sections 6.3.2, 9.1, 12.4.3.1

	// externalInitExporterContext is the HPKE exporter context of an
	// external init (Section 8.3). The HPKE info is empty.
	externalInitExporterContext = "MLS 1.0 external init secret"
)

// Stage types of the key schedule (RFC 9420, Section 8).
type (
	// InitSecret is init_secret_[n]: produced by epoch n, consumed by the
	// key schedule of epoch n+1 (or produced by an external init, Section 8.3).
	InitSecret []byte
	// CommitSecret is the commit_secret of an epoch: the root path secret
	// of the Commit's UpdatePath, or KDF.Nh zero bytes without a path
	// (Section 12.4.2). A nil or empty value stands for the zero vector.
	CommitSecret []byte
	// PSKSecret is psk_secret (Section 8.4). A nil or empty value stands for
	// the all-zero vector (no PSKs).
	PSKSecret []byte
	// JoinerSecret is joiner_secret: what a Welcome carries in GroupSecrets.
	JoinerSecret []byte
	// WelcomeSecret is welcome_secret, from which the Welcome's GroupInfo
	// key and nonce derive (Section 12.4.3.1).
	WelcomeSecret []byte
	// EpochSecret is epoch_secret, from which the secrets of Table 4 derive.
	EpochSecret []byte

	// The epoch-derived secrets of Table 4.
	SenderDataSecret   []byte // "sender data": sender data encryption (Section 6.3.2)
	EncryptionSecret   []byte // "encryption": root of the secret tree (Section 9)
	ExporterSecret     []byte // "exporter": MLS-Exporter (Section 8.5)
	ExternalSecret     []byte // "external": external init key pair (Section 8)
	ConfirmationKey    []byte // "confirm": confirmation_tag MAC key (Section 6.1)
	MembershipKey      []byte // "membership": membership_tag MAC key (Section 6.2)
	ResumptionPSK      []byte // "resumption": resumption PSK (Section 8.6)
	EpochAuthenticator []byte // "authentication": epoch authenticator (Section 8.7)
)

// EpochSecrets are the secrets of one epoch that outlive its derivation
// (RFC 9420, Section 8, Table 4), plus init_secret_[n] for the next epoch.
type EpochSecrets struct {
	suite         *suite.Suite
	SenderData    SenderDataSecret
	Encryption    EncryptionSecret
	Exporter      ExporterSecret
	External      ExternalSecret
	Confirmation  ConfirmationKey
	Membership    MembershipKey
	Resumption    ResumptionPSK
	Authenticator EpochAuthenticator
	Init          InitSecret // init_secret_[n]

	// erasable is set (to a true flag) on secrets a Group derived itself.
	// It turns false for good once a pointer to them leaves the Group's
	// control (Group.EpochSecrets, Group.Clone, PendingCommit.NextGroup,
	// RestoreGroup): only secrets still erasable are overwritten when the
	// Group moves to the next epoch. nil (secrets made by Derive,
	// DeriveEpoch or a literal) is never erased by this package. Atomic:
	// secrets handed out may be shared by Groups used on several goroutines.
	erasable *atomic.Bool
}

// ownedByGroup marks e as derived by a Group and not handed out.
func (e *EpochSecrets) ownedByGroup() *EpochSecrets {
	e.erasable = new(atomic.Bool)
	e.erasable.Store(true)
	return e
}

// markShared records that a pointer to e left the Group that owns it, so
// it must never be erased (other state may use it).
func (e *EpochSecrets) markShared() {
	if e != nil && e.erasable != nil {
		e.erasable.Store(false)
	}
}

// erase overwrites with zeros the secrets of a finished epoch (RFC 9420,
// Section 9.2: init_secret_[n], consumed by the next epoch's key schedule,
// and the epoch's sender data, encryption, exporter, external,
// confirmation and membership secrets), if e is still owned by one Group
// only. The resumption PSK (retained for Section 8.6) and the epoch
// authenticator (handed out by Group.EpochAuthenticator for out-of-band
// comparison) are kept.
func (e *EpochSecrets) erase() {
	if e == nil || e.erasable == nil || !e.erasable.CompareAndSwap(true, false) {
		return
	}
	for _, s := range [][]byte{e.Init, e.SenderData, e.Encryption, e.Exporter, e.External, e.Confirmation, e.Membership} {
		clear(s)
	}
}

// orZero returns s, or KDF.Nh zero bytes when s is empty ("0" in Figure 22).
func orZero(cs *suite.Suite, s []byte) []byte {
	if len(s) == 0 {
		return make([]byte, cs.Nh())
	}
	return s
}

// newEpochSecret returns a fresh random epoch_secret of KDF.Nh bytes for a
// new group's first epoch (RFC 9420, Section 11). A nil rand means
// crypto/rand.
func newEpochSecret(cs *suite.Suite, rnd io.Reader) (EpochSecret, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	s := make([]byte, cs.Nh())
	if _, err := io.ReadFull(rnd, s); err != nil {
		return nil, fmt.Errorf("mls: reading epoch secret: %w", err)
	}
	return EpochSecret(s), nil
}

// deriveJoinerSecret implements the first stage of Figure 22, RFC 9420
// Section 8:
//
//	joiner_secret = ExpandWithLabel(KDF.Extract(init_secret_[n-1], commit_secret), "joiner", GroupContext_[n], KDF.Nh)
//
// groupContext is the encoded GroupContext of the new epoch.
func deriveJoinerSecret(cs *suite.Suite, init InitSecret, commit CommitSecret, groupContext []byte) JoinerSecret {
	prk := cs.Extract(init, orZero(cs, commit))
	return JoinerSecret(cs.ExpandWithLabel(prk, labelJoiner, groupContext, cs.Nh()))
}

// pskStage returns KDF.Extract(joiner_secret, psk_secret), the unnamed
// intermediate of Figure 22.
func (j JoinerSecret) pskStage(cs *suite.Suite, psk PSKSecret) []byte {
	return cs.Extract(j, orZero(cs, psk))
}

// WelcomeSecret implements welcome_secret = DeriveSecret(KDF.Extract(
// joiner_secret, psk_secret), "welcome") (RFC 9420, Section 8).
func (j JoinerSecret) welcomeSecret(cs *suite.Suite, psk PSKSecret) WelcomeSecret {
	return WelcomeSecret(cs.DeriveSecret(j.pskStage(cs, psk), labelWelcome))
}

// EpochSecret implements epoch_secret = ExpandWithLabel(KDF.Extract(
// joiner_secret, psk_secret), "epoch", GroupContext_[n], KDF.Nh) (RFC 9420,
// Section 8). groupContext is the encoded GroupContext of the epoch.
func (j JoinerSecret) epochSecret(cs *suite.Suite, psk PSKSecret, groupContext []byte) EpochSecret {
	return EpochSecret(cs.ExpandWithLabel(j.pskStage(cs, psk), labelEpoch, groupContext, cs.Nh()))
}

// Derive derives the secrets of Table 4 and init_secret_[n] from the epoch
// secret (RFC 9420, Section 8). The caller drops e afterwards (Section 9.2).
func (e EpochSecret) derive(cs *suite.Suite) *EpochSecrets {
	return &EpochSecrets{
		suite:         cs,
		SenderData:    SenderDataSecret(cs.DeriveSecret(e, labelSenderData)),
		Encryption:    EncryptionSecret(cs.DeriveSecret(e, labelEncryption)),
		Exporter:      ExporterSecret(cs.DeriveSecret(e, labelExporter)),
		External:      ExternalSecret(cs.DeriveSecret(e, labelExternal)),
		Confirmation:  ConfirmationKey(cs.DeriveSecret(e, labelConfirm)),
		Membership:    MembershipKey(cs.DeriveSecret(e, labelMembership)),
		Resumption:    ResumptionPSK(cs.DeriveSecret(e, labelResumption)),
		Authenticator: EpochAuthenticator(cs.DeriveSecret(e, labelAuthentication)),
		Init:          InitSecret(cs.DeriveSecret(e, labelInit)),
	}
}

// DeriveEpoch runs the whole key schedule of RFC 9420, Section 8 for an
// existing member processing or creating a Commit: from the previous
// epoch's init_secret, the commit_secret, the psk_secret and the encoded new
// GroupContext. It returns the joiner_secret too, which the committer needs
// for its Welcome (GroupSecrets and welcome_secret); members that only
// process the Commit drop it.
func DeriveEpoch(cs CipherSuite, init InitSecret, commit CommitSecret, psk PSKSecret, groupContext []byte) (JoinerSecret, *EpochSecrets, error) {
	s, err := lookupSuite(cs)
	if err != nil {
		return nil, nil, err
	}
	joiner, keys := deriveEpoch(s, init, commit, psk, groupContext)
	return joiner, keys, nil
}

// deriveEpoch is DeriveEpoch for a suite already looked up.
func deriveEpoch(cs *suite.Suite, init InitSecret, commit CommitSecret, psk PSKSecret, groupContext []byte) (JoinerSecret, *EpochSecrets) {
	j := deriveJoinerSecret(cs, init, commit, groupContext)
	return j, j.epochSecret(cs, psk, groupContext).derive(cs)
}

// joinEpoch runs the key schedule for a new member joining via Welcome
// (RFC 9420, Section 12.4.3.1): from the joiner_secret of GroupSecrets, the
// psk_secret of GroupSecrets.psks and the encoded GroupContext of the
// decrypted GroupInfo.
func joinEpoch(cs *suite.Suite, joiner JoinerSecret, psk PSKSecret, groupContext []byte) *EpochSecrets {
	return joiner.epochSecret(cs, psk, groupContext).derive(cs)
}

// KeyNonce returns the key and nonce that encrypt a Welcome's GroupInfo
// (RFC 9420, Section 12.4.3.1):
//
//	welcome_nonce = ExpandWithLabel(welcome_secret, "nonce", "", AEAD.Nn)
//	welcome_key   = ExpandWithLabel(welcome_secret, "key", "", AEAD.Nk)
func (w WelcomeSecret) keyNonce(cs *suite.Suite) (key, nonce []byte) {
	return cs.ExpandWithLabel(w, labelKey, nil, cs.Nk()), cs.ExpandWithLabel(w, labelNonce, nil, cs.Nn())
}

// ErrExportLength is returned by MLS-Exporter for a length the KDF cannot
// produce (more than 255*KDF.Nh bytes, or more than a uint16).
var ErrExportLength = errors.New("mls: invalid exporter length")

// Export implements MLS-Exporter (RFC 9420, Section 8.5):
//
//	MLS-Exporter(Label, Context, Length) =
//	    ExpandWithLabel(DeriveSecret(exporter_secret, Label), "exported", Hash(Context), Length)
func (x ExporterSecret) export(cs *suite.Suite, label string, context []byte, length int) ([]byte, error) {
	if length < 0 || length > 0xffff || length > 255*cs.Nh() {
		return nil, fmt.Errorf("%w: %d bytes (KDFLabel.length is a uint16, HKDF yields at most %d)", ErrExportLength, length, 255*cs.Nh())
	}
	return cs.ExpandWithLabel(cs.DeriveSecret(x, label), labelExported, cs.Hash(context), length), nil
}

// Tag computes confirmation_tag = MAC(confirmation_key,
// GroupContext.confirmed_transcript_hash) (RFC 9420, Section 6.1).
func (k ConfirmationKey) tag(cs *suite.Suite, confirmedTranscriptHash []byte) []byte {
	return cs.MAC(k, confirmedTranscriptHash)
}

// Verify checks a confirmation_tag in constant time (RFC 9420, Section 6.1).
func (k ConfirmationKey) verify(cs *suite.Suite, confirmedTranscriptHash, tag []byte) bool {
	return cs.VerifyMAC(k, confirmedTranscriptHash, tag)
}

// Tag computes membership_tag = MAC(membership_key, AuthenticatedContentTBM)
// over the encoded AuthenticatedContentTBM (RFC 9420, Section 6.2).
func (k MembershipKey) tag(cs *suite.Suite, authenticatedContentTBM []byte) []byte {
	return cs.MAC(k, authenticatedContentTBM)
}

// Verify checks a membership_tag in constant time (RFC 9420, Section 6.2).
func (k MembershipKey) verify(cs *suite.Suite, authenticatedContentTBM, tag []byte) bool {
	return cs.VerifyMAC(k, authenticatedContentTBM, tag)
}

// KeyPair derives the group's external key pair (RFC 9420, Section 8):
//
//	external_priv, external_pub = KEM.DeriveKeyPair(external_secret)
func (x ExternalSecret) keyPair(cs *suite.Suite) (priv, pub []byte, err error) {
	priv, pub, err = cs.DeriveKeyPair(x)
	if err != nil {
		return nil, nil, fmt.Errorf("mls: deriving external key pair: %w", err)
	}
	return priv, pub, nil
}

// newExternalInit is the joiner's half of an external init (RFC 9420,
// Section 8.3):
//
//	kem_output, context = SetupBaseS(external_pub, "")
//	init_secret = context.export("MLS 1.0 external init secret", KDF.Nh)
//
// kemOutput goes into the ExternalInit proposal. A nil rand means crypto/rand.
func newExternalInit(cs *suite.Suite, rnd io.Reader, externalPub []byte) (kemOutput []byte, init InitSecret, err error) {
	kemOutput, secret, err := cs.HPKEExportSender(rnd, externalPub, nil, []byte(externalInitExporterContext), cs.Nh())
	if err != nil {
		return nil, nil, fmt.Errorf("mls: external init: %w", err)
	}
	return kemOutput, InitSecret(secret), nil
}

// ExternalInitSecret is the members' half of an external init (RFC 9420,
// Section 8.3): with external_priv derived from x,
//
//	context = SetupBaseR(kem_output, external_priv, "")
//	init_secret = context.export("MLS 1.0 external init secret", KDF.Nh)
func (x ExternalSecret) externalInitSecret(cs *suite.Suite, kemOutput []byte) (InitSecret, error) {
	priv, _, err := x.keyPair(cs)
	if err != nil {
		return nil, err
	}
	secret, err := cs.HPKEExportReceiver(priv, kemOutput, nil, []byte(externalInitExporterContext), cs.Nh())
	if err != nil {
		return nil, fmt.Errorf("mls: external init: %w", err)
	}
	return InitSecret(secret), nil
}

// CipherSuite returns the cipher suite the secrets were derived with.
func (e *EpochSecrets) CipherSuite() CipherSuite { return CipherSuite(e.suite.ID()) }

// Export implements MLS-Exporter over this epoch's exporter_secret (RFC 9420,
// Section 8.5).
func (e *EpochSecrets) Export(label string, context []byte, length int) ([]byte, error) {
	return e.Exporter.export(e.suite, label, context, length)
}

// ExternalKeyPair returns the epoch's external HPKE key pair (RFC 9420,
// Section 8).
func (e *EpochSecrets) ExternalKeyPair() (priv, pub []byte, err error) {
	return e.External.keyPair(e.suite)
}

// ExternalInitSecret recovers the init_secret an external joiner sent in
// kemOutput (RFC 9420, Section 8.3).
func (e *EpochSecrets) ExternalInitSecret(kemOutput []byte) (InitSecret, error) {
	return e.External.externalInitSecret(e.suite, kemOutput)
}

// ConfirmationTag returns MAC(confirmation_key, confirmed_transcript_hash)
// (RFC 9420, Section 6.1).
func (e *EpochSecrets) ConfirmationTag(confirmedTranscriptHash []byte) []byte {
	return e.Confirmation.tag(e.suite, confirmedTranscriptHash)
}

// VerifyConfirmationTag checks tag in constant time (RFC 9420, Section 6.1).
func (e *EpochSecrets) VerifyConfirmationTag(confirmedTranscriptHash, tag []byte) bool {
	return e.Confirmation.verify(e.suite, confirmedTranscriptHash, tag)
}

// NewSecretTree returns this epoch's secret tree over encryption_secret for a
// ratchet tree of leaves leaves (RFC 9420, Section 9).
func (e *EpochSecrets) NewSecretTree(leaves uint32) (*SecretTree, error) {
	return newSecretTree(e.suite, e.Encryption, leaves)
}
