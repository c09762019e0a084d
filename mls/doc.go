// Package mls implements Messaging Layer Security, RFC 9420.
//
// # Which API to use
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
package mls
