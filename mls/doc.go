// Package mls implements Messaging Layer Security (RFC 9420) for
// applications and delivery services.
//
// A member of a group holds a *Group. It creates the group (CreateGroup)
// or joins it from a Welcome (Join) or from a GroupInfo (ExternalJoin);
// it proposes (Propose, ProposeUpdate), commits (Commit, then Merge once
// the delivery service accepted the commit), sends application data
// (SealApplication) and processes what others send (Process). Clients
// publish KeyPackages (NewKeyPackage) by which others add them. A delivery
// service, or any observer of the handshake that holds no member secrets,
// tracks a group's public state with a *PublicGroup: it validates commits
// (ApplyCommit), lists members, and sends proposals as an external sender.
// Messages travel as *MLSMessage (Marshal, UnmarshalMLSMessage); a
// delivery service routes them by GroupID, Epoch, ContentType and
// WelcomeRecipients.
//
// No slice is shared between the caller and a group: what a function takes
// is copied in, and every slice a method returns (GroupID,
// EpochAuthenticator, Members, Extensions, credentials, references) is a
// copy the caller may modify. A nil or zero value of any type of this
// package is not a panic: a method with an error result returns an error
// (ErrInvalidMessage for a zero MLSMessage, ErrInvalidProposal for a nil
// proposal body, ErrInvalidKeyPackage for a zero KeyPackage or
// KeyPackageBundle), an accessor its zero value.
//
// Everything is a sans-IO state machine: no goroutines that outlive a
// call, no clocks (Config.Now), no sockets. Randomness comes from
// Config.Rand (nil means crypto/rand); with a seeded reader every key,
// ciphertext and signature is reproducible.
//
// # Authentication
//
// RFC 9420 leaves to the application the decision whether a credential
// belongs to its claimed owner (the Authentication Service, Section 5.3.1).
// Config.ValidateCredential is called for every credential a member must
// accept; when it is nil every credential is accepted, which is only
// acceptable in tests. Config.ValidateSuccessor decides whether a member
// may change its credential (DefaultValidateSuccessor is its default, for an
// application to combine with its own policy); Config.AcceptExternalProposal
// whether a proposal from an external sender is acceptable (nil accepts: the
// group listed the sender in its external_senders extension, whose
// credentials also go through ValidateCredential);
// Config.AcceptNewMemberProposal whether a non-member may ask to be added
// (nil refuses). Publishing a GroupInfo with the external_pub extension lets
// whoever holds it join by an external commit.
//
// # Errors
//
// Processing a message either succeeds and moves to the next state, or fails
// and leaves the state exactly as it was. Errors that callers branch on are
// sentinels (errors.Is); protocol violations are *ProtocolError values that
// name the RFC 9420 rule that failed.
//
// # Secrets
//
// Group, PendingCommit, KeyPackageBundle, SignaturePrivateKey and Config
// (its Rand and PSKs) print without their secrets with every fmt verb and
// encode to JSON without them; KeyPackageOptions holds its signature key as
// a *SignaturePrivateKey, so it prints without it also when nested in an
// unexported field, where fmt cannot call Format methods. A signature
// private key is the raw key of the suite's signature scheme
// (NewSignaturePrivateKey, GenerateSignatureKey, Bytes). Group.MarshalState
// and KeyPackageBundle.MarshalBinary encode their secrets, for storage the
// application protects. Consumed secrets are overwritten when a Group moves
// to the next epoch (RFC 9420, Section 9.2), within the limits of a garbage
// collected language; the low-level package's documentation (go doc
// github.com/mlslab/mlslab/mls/core) lists exactly what is erased and when.
//
// # Size limits
//
// Everything received from a peer is bounded before it costs more than a
// small multiple of its own size. The Config's limits (MaxLeaves,
// MaxMessageSize, MaxCredentialSize, MaxExtensionSize) default to values
// that admit a 100 000-member group with a margin; a rejection matches
// ErrLimitExceeded.
//
// # Beyond this package
//
// The package mls/core holds the protocol machinery this package is built
// on: wire structures, the ratchet tree and TreeKEM, the key schedule and
// secret tree, and the state surgery a simulator or test harness needs
// (restoring a leaked state, deriving an epoch as an adversary). It is
// what the conformance runners, the interop client and the simulator use;
// an application should not need it. docs/architecture.md in the
// repository maps the packages.
package mls
