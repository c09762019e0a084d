// Package core is the low-level MLS (RFC 9420) implementation beneath
// package mls: the wire structures of every message, the ratchet tree and
// TreeKEM, the key schedule and secret tree, message protection, and the
// Group and PublicGroup state machines with the operations a test harness
// or simulator needs beyond an application's (restoring a group from
// leaked parts, reading a member's private tree state and epoch secrets,
// deriving an epoch from a leaked state, sharing one PublicGroup between
// members of an epoch).
//
// Applications use package mls, a small facade over this package. core is
// for the IETF test-vector runners (mls/conformance), the working group's
// interop client (cmd/mlsinterop) and the simulator (sim). Its exported API
// is documented and tested, but it follows the implementation: it may
// change with it.
//
// # Group and PublicGroup
//
// A member of a group holds a *Group: it creates or joins the group, builds
// proposals, commits and application messages, and processes what others
// send. A delivery service or any observer of the handshake that holds no
// member secrets uses *PublicGroup: it validates and applies commits to the
// public state (ratchet tree, group context, transcript hashes) and can be
// shared, read-only, by many Groups of the same epoch.
//
// Both are sans-IO state machines: no goroutines that outlive a call, no
// clocks, no sockets. Randomness comes from the io.Reader in the
// configuration (nil means crypto/rand); with a seeded reader every key,
// ciphertext and signature is reproducible.
//
// # Errors
//
// Processing a message either succeeds and moves to the next state, or fails
// and leaves the state exactly as it was. Errors that callers branch on are
// sentinels (errors.Is); protocol violations are *ProtocolError values that
// name the RFC 9420 rule that failed.
//
// # Printing secrets
//
// Types that hold private keys or key schedule secrets (Group,
// PendingCommit, KeyPackageBundle, EpochSecrets, TreePrivate, SecretTree,
// the stage types such as InitSecret, ...) print a redacted description
// with every fmt verb and encode as a redacted JSON string (KeyPackageBundle:
// only its public KeyPackage). Accessors returning []byte
// (Group.SignaturePrivateKey, TreePrivate.PrivateKey, ...) return the
// secret itself. fmt cannot be stopped from printing, by reflection, a
// value held in an unexported field of a caller's own struct type.
//
// # Erasing secrets
//
// RFC 9420, Section 9.2 asks that a consumed secret be deleted, "all
// representations" of it, for forward secrecy (Section 16.6). This package
// overwrites with zeros the buffers it owns when their secret is consumed:
//
//   - when a Group moves to the next epoch (Merge of its own commit, Process
//     of another member's), the previous epoch's init_secret and its sender
//     data, encryption, exporter, external, confirmation and membership
//     secrets, and the previous epoch's secret tree; the resumption PSK
//     (kept for Section 8.6) and the epoch authenticator are kept;
//   - in the secret tree, a node secret once its children are derived, a
//     ratchet secret once the ratchet moved past it, skipped keys evicted
//     by SecretTreeLimits, the intermediate secrets of every derivation,
//     the key of a message the Group sent (after encryption) and of a
//     message it decrypted (once accepted; OpenedPrivateMessage.Consume);
//   - the TreeKEM private keys a member stops holding when its group moves
//     to the next epoch (its old leaf key after an Update or its own path
//     commit, path keys replaced or blanked by a commit), unless they were
//     handed out (Group.TreePrivate, Clone, PendingCommit.NextGroup,
//     RestoreGroup); the private keys of the member's own Update proposals
//     that were never committed are dropped, not overwritten;
//   - in Join, the decrypted GroupSecrets (joiner_secret, path_secret), the
//     psk_secret and the welcome_secret. Join does not touch the caller's
//     KeyPackageBundle: KeyPackageBundle.EraseUsedKeys overwrites its spent
//     init and leaf private keys.
//
// A buffer is overwritten only when no other live state can reference it.
// Epoch secrets handed out by Group.EpochSecrets, shared by Group.Clone or
// PendingCommit.NextGroup, or passed to RestoreGroup are marked shared and
// never overwritten; secrets a SecretTree shares with its clones are not
// overwritten by either tree. A Group copied by value (h := *g) escapes
// this bookkeeping: copy with Clone. Failing operations overwrite nothing
// that the state still uses.
//
// There is no process-wide cache of private keys: a Group keeps its own
// parsed signature key, collected with it.
//
// What Go cannot guarantee: the garbage collector may have copied a buffer
// before it was overwritten (stack growth moves stacks; append and
// bytes.Clone make copies), and the old copies are freed, not wiped; memory
// is not locked (no mlock), so it can be swapped to disk or appear in core
// dumps; strings (e.g. map keys) are immutable and cannot be wiped; and the
// crypto libraries keep their own copies that this package cannot reach:
// crypto/ed25519 expands a seed into a 64-byte private key (held by the
// Group's parsed signer for its lifetime), crypto/ecdsa and circl keep
// parsed scalars (big.Int limbs, circl kem.PrivateKey objects created for
// every HPKE operation), HKDF and AEAD states hold key material until
// collected. Erasure narrows the window in which a memory compromise
// reveals past secrets; it is not a guarantee. Values returned to the
// caller (exports, keys, PendingKey.KeyNonce) are the caller's to erase.
//
// # Leaked state
//
// Simulators, conformance runners and security analyses need what an
// adversary holding a member's secrets (RFC 9420, Section 16.6: its
// private tree keys, the epoch's secrets including init_secret, its
// pending Update keys) can derive from the commits it observes.
// PublicGroup.AdvanceLeaked is that function, built from the receiver's
// own steps (the same code as Group.Process): given the epoch's
// PublicGroup, a LeakedState and an AcceptedCommit (the commit message,
// the next epoch's PublicGroup and the added leaves, as the honest members
// computed them), it opens the commit with the leaked secrets (Sections
// 6.2, 6.3), decrypts the UpdatePath with any leaked tree state that holds
// a key of it (Sections 7.5, 12.4.2), runs the key schedule (Section 8)
// and verifies the confirmation tag (Section 6.1). It returns the next
// epoch's secrets and tree states (LeakedDerived), or says the adversary
// is locked out (LeakedLockedOut: no leaked state can decrypt the path) or
// holds secrets that do not fit the commit (LeakedMismatch); errors are
// for inconsistent inputs. It does not validate or apply the proposals or
// the UpdatePath (the honest receivers did: the tree comes from the given
// next epoch), and it assumes the adversary knows no PSK. Other pieces of
// leaked state: TreePrivateFromKeys and RestoreGroup rebuild a member from
// its keys, EpochSecrets.NewSecretTree is an epoch's secret tree, and
// DeriveEpoch runs the key schedule alone.
//
// # Size limits
//
// Everything received from a peer is bounded before it costs more than a
// small multiple of its own size: the number of ratchet tree leaves
// (Config.MaxLeaves, also enforced when Adds grow the tree), the size of
// an encoded message (Config.MaxMessageSize), of a credential
// (Config.MaxCredentialSize) and of an extension (Config.MaxExtensionSize).
// The zero Config uses defaults that admit a 100 000-member group with a
// margin (DefaultMaxTreeLeaves, DefaultMaxMessageSize, ...). The free
// decoders such as UnmarshalMLSMessage apply the defaults;
// Config.UnmarshalMLSMessage applies a Config's. A rejection matches
// ErrLimitExceeded.
//
// What decoding costs: fields that carry a cryptographic output are
// rejected when shorter than that output is in every RFC 9420 cipher
// suite (RFC 9420, Section 17.1): a KEM output (HPKECiphertext.kem_output,
// ExternalInit.kem_output) below 32 octets, an HPKE ciphertext below the
// 16-octet AEAD tag, a KeyPackageRef, ProposalRef or psk_nonce below 32, a
// public key (encryption_key, signature_key, init_key) below 32, an empty
// certificate. No list is grown by appending: a vector is counted before
// it is allocated, or decoded in bounded chunks and copied once to its
// exact length. An UpdatePath holds at most 2^20 ciphertexts in all; a
// Welcome at most 2^20 secrets; a Commit at most 2^19 proposals, of which
// at most 16 GroupContextExtensions, 16 ReInit, 16 ExternalInit and 16
// Update by value (one of each of the first three and no Update by value
// is valid, RFC 9420 Section 12.2). Measured worst cases (the
// TestSecurity*Amplification tests assert at most 8 allocated bytes per
// input byte for UpdatePaths, Welcome secrets, Updates, Adds and
// certificates): an UpdatePath and a Welcome's secrets allocate under 3
// bytes per input byte, PSK proposals about 6. Lists of elements that are
// only a few octets on the wire cost more per octet but are capped in
// length: a Commit of Removes by value (7 octets each) about 14 bytes per
// input byte, a list of 2^16 empty extensions (3 octets each) about 19.
// The ratchet tree is the exception: a blank node is one octet but
// occupies a node slot, so a tree costs
// O(leaf limit) rather than O(input), which is why its leaf count is
// checked (against Config.MaxLeaves, also for UnmarshalGroupState) before
// the node array is allocated.
//
// # Protocol stages
//
// Below Group and PublicGroup, each RFC 9420 computation is an exported
// function or method taking the suite's code point, for conformance
// runners (mls/conformance runs the IETF test vectors through them),
// simulators and interop clients: the key schedule (DeriveEpoch,
// JoinEpoch, JoinerSecret.WelcomeSecret, DerivePSKSecret,
// PreSharedKeyID.CheckNonce, ConfirmationKey.Verify), the transcript
// hashes (NextTranscriptHashes), the secret tree (NewSecretTree,
// SenderDataSecret.KeyNonce), message framing (AuthenticatedContent.Sign,
// ProtectPublic, UnprotectPublic, ProtectPrivate, UnprotectPrivate), the
// ratchet tree and TreeKEM (ParseRatchetTree, NewTreePrivate,
// TreePrivate.WithPathSecret, RatchetTree.MergeUpdatePath,
// RatchetTree.DecryptUpdatePathSecret) and the Welcome (EncryptGroupInfo,
// EncryptGroupSecrets, Welcome.DecryptGroupInfo,
// Welcome.DecryptGroupSecrets). stages.go holds the ones that are thin
// entry points to what Group runs internally. No exported signature names
// a type of an internal package.
package core
