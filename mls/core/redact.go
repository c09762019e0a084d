package core

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Redaction of secrets in formatted and JSON output.
//
// Every type of this package that holds a private key or a secret of the key
// schedule implements fmt.Formatter, fmt.Stringer, fmt.GoStringer and
// json.Marshaler with value receivers, so the secret bytes never appear in
// fmt output (any verb: %v %+v %#v %s %q %x %X %d ...) or in json.Marshal
// output, whether the value is printed directly, through a pointer, or
// nested in a struct, slice or map. (fmt calls Format for every verb when a
// type implements fmt.Formatter, and it calls the methods of values nested
// in exported fields, slices and maps; nested values reached only through
// unexported fields are printed by reflection, so a type that holds secrets
// in unexported fields also implements Format itself.) The redacted text
// names the type and at most non-secret facts (sizes, epoch, leaf index).
//
// The redacted types are: Group, PendingCommit, KeyPackageBundle,
// KeyPackageOptions, EpochSecrets, TreePrivate, SecretTree, PendingKey, KeyNonce,
// PendingUpdatePath, OpenedPrivateMessage, GroupSecrets, PathSecret,
// MemoryPSKStore, and the key schedule stage types (InitSecret,
// CommitSecret, PSKSecret, JoinerSecret, WelcomeSecret, EpochSecret,
// SenderDataSecret, EncryptionSecret, ExporterSecret, ExternalSecret,
// ConfirmationKey, MembershipKey, ResumptionPSK, EpochAuthenticator).
// Accessors that return plain []byte (Group.SignaturePrivateKey,
// Group.EpochAuthenticator, TreePrivate.PrivateKey, ...) hand out the
// secret itself on purpose: what the caller does with it is up to the
// caller.
//
// JSON output of a redacted type is a JSON string with the redacted text,
// except KeyPackageBundle, whose JSON keeps the public KeyPackage and drops
// the private keys; none of them can be restored from JSON.

// redactedMarker marks redacted output.
const redactedMarker = "REDACTED"

// writeRedacted writes s for any verb.
func writeRedacted(f fmt.State, s string) { _, _ = f.Write([]byte(s)) }

// redactedJSON returns s as a JSON string.
func redactedJSON(s string) ([]byte, error) { return json.Marshal(s) }

func redactedBytes(typ string, n int) string {
	return "mls." + typ + "(" + redactedMarker + ", " + strconv.Itoa(n) + " bytes)"
}

// Group.

func (g Group) redacted() string {
	s := "mls.Group{" + redactedMarker
	if g.pub != nil {
		s += fmt.Sprintf(" epoch=%d", g.pub.ctx.Epoch)
	}
	return s + fmt.Sprintf(" leaf=%d}", g.self)
}

// Format implements fmt.Formatter: every verb prints the redacted text.
func (g Group) Format(f fmt.State, verb rune) { writeRedacted(f, g.redacted()) }

// String returns a description without secrets.
func (g Group) String() string { return g.redacted() }

// GoString returns a description without secrets.
func (g Group) GoString() string { return g.redacted() }

// MarshalJSON returns the redacted description as a JSON string.
func (g Group) MarshalJSON() ([]byte, error) { return redactedJSON(g.redacted()) }

// PendingCommit.

func (pc PendingCommit) redacted() string {
	return fmt.Sprintf("mls.PendingCommit{%s welcome=%t path_ciphertexts=%d added=%d removed=%d}",
		redactedMarker, pc.Welcome != nil, pc.Stats.PathCiphertexts, len(pc.Stats.Added), len(pc.Stats.Removed))
}

// Format implements fmt.Formatter: every verb prints the redacted text (the
// next epoch's state is not printed).
func (pc PendingCommit) Format(f fmt.State, verb rune) { writeRedacted(f, pc.redacted()) }

// String returns a description without secrets.
func (pc PendingCommit) String() string { return pc.redacted() }

// GoString returns a description without secrets.
func (pc PendingCommit) GoString() string { return pc.redacted() }

// MarshalJSON returns the redacted description as a JSON string.
func (pc PendingCommit) MarshalJSON() ([]byte, error) { return redactedJSON(pc.redacted()) }

// KeyPackageBundle.

func (kp KeyPackageBundle) redacted() string {
	s := "mls.KeyPackageBundle{" + redactedMarker
	if kp.KeyPackage != nil {
		s += fmt.Sprintf(" cipher_suite=%v", kp.KeyPackage.CipherSuite)
	}
	return s + "}"
}

// Format implements fmt.Formatter: every verb prints the redacted text.
func (kp KeyPackageBundle) Format(f fmt.State, verb rune) { writeRedacted(f, kp.redacted()) }

// String returns a description without the private keys.
func (kp KeyPackageBundle) String() string { return kp.redacted() }

// GoString returns a description without the private keys.
func (kp KeyPackageBundle) GoString() string { return kp.redacted() }

// MarshalJSON encodes only the public KeyPackage: {"KeyPackage": ...}.
func (kp KeyPackageBundle) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct{ KeyPackage *KeyPackage }{kp.KeyPackage})
}

// KeyPackageOptions (SignatureKey is a private key).

func (o KeyPackageOptions) redacted() string {
	return fmt.Sprintf("mls.KeyPackageOptions{%s signature_key=%d bytes}", redactedMarker, len(o.SignatureKey))
}

// Format implements fmt.Formatter: every verb prints the redacted text.
func (o KeyPackageOptions) Format(f fmt.State, verb rune) { writeRedacted(f, o.redacted()) }

// String returns a description without the signature private key.
func (o KeyPackageOptions) String() string { return o.redacted() }

// GoString returns a description without the signature private key.
func (o KeyPackageOptions) GoString() string { return o.redacted() }

// MarshalJSON returns the redacted description as a JSON string.
func (o KeyPackageOptions) MarshalJSON() ([]byte, error) { return redactedJSON(o.redacted()) }

// EpochSecrets.

func (e EpochSecrets) redacted() string { return "mls.EpochSecrets{" + redactedMarker + "}" }

// Format implements fmt.Formatter: every verb prints the redacted text.
func (e EpochSecrets) Format(f fmt.State, verb rune) { writeRedacted(f, e.redacted()) }

// String returns a description without secrets.
func (e EpochSecrets) String() string { return e.redacted() }

// GoString returns a description without secrets.
func (e EpochSecrets) GoString() string { return e.redacted() }

// MarshalJSON returns the redacted description as a JSON string.
func (e EpochSecrets) MarshalJSON() ([]byte, error) { return redactedJSON(e.redacted()) }

// TreePrivate.

func (p TreePrivate) redacted() string {
	return fmt.Sprintf("mls.TreePrivate{%s leaf=%d keys=%d}", redactedMarker, p.leaf, len(p.keys))
}

// Format implements fmt.Formatter: every verb prints the redacted text.
func (p TreePrivate) Format(f fmt.State, verb rune) { writeRedacted(f, p.redacted()) }

// String returns a description without the private keys.
func (p TreePrivate) String() string { return p.redacted() }

// GoString returns a description without the private keys.
func (p TreePrivate) GoString() string { return p.redacted() }

// MarshalJSON returns the redacted description as a JSON string.
func (p TreePrivate) MarshalJSON() ([]byte, error) { return redactedJSON(p.redacted()) }

// SecretTree.

func (t SecretTree) redacted() string {
	return fmt.Sprintf("mls.SecretTree{%s leaves=%d}", redactedMarker, t.leaves)
}

// Format implements fmt.Formatter: every verb prints the redacted text.
func (t SecretTree) Format(f fmt.State, verb rune) { writeRedacted(f, t.redacted()) }

// String returns a description without secrets.
func (t SecretTree) String() string { return t.redacted() }

// GoString returns a description without secrets.
func (t SecretTree) GoString() string { return t.redacted() }

// MarshalJSON returns the redacted description as a JSON string.
func (t SecretTree) MarshalJSON() ([]byte, error) { return redactedJSON(t.redacted()) }

// KeyNonce.

func (k KeyNonce) redacted() string {
	return fmt.Sprintf("mls.KeyNonce{%s generation=%d}", redactedMarker, k.Generation)
}

// Format implements fmt.Formatter: every verb prints the redacted text.
func (k KeyNonce) Format(f fmt.State, verb rune) { writeRedacted(f, k.redacted()) }

// String returns a description without the key and nonce.
func (k KeyNonce) String() string { return k.redacted() }

// GoString returns a description without the key and nonce.
func (k KeyNonce) GoString() string { return k.redacted() }

// MarshalJSON returns the redacted description as a JSON string.
func (k KeyNonce) MarshalJSON() ([]byte, error) { return redactedJSON(k.redacted()) }

// PendingKey.

func (p PendingKey) redacted() string {
	return fmt.Sprintf("mls.PendingKey{%s leaf=%d %v generation=%d}", redactedMarker, p.Leaf, p.Type, p.Generation)
}

// Format implements fmt.Formatter: every verb prints the redacted text.
func (p PendingKey) Format(f fmt.State, verb rune) { writeRedacted(f, p.redacted()) }

// String returns a description without the key and nonce.
func (p PendingKey) String() string { return p.redacted() }

// GoString returns a description without the key and nonce.
func (p PendingKey) GoString() string { return p.redacted() }

// MarshalJSON returns the redacted description as a JSON string.
func (p PendingKey) MarshalJSON() ([]byte, error) { return redactedJSON(p.redacted()) }

// PendingUpdatePath.

func (p PendingUpdatePath) redacted() string {
	return fmt.Sprintf("mls.PendingUpdatePath{%s sender=%d path=%d}", redactedMarker, p.sender, len(p.path))
}

// Format implements fmt.Formatter: every verb prints the redacted text.
func (p PendingUpdatePath) Format(f fmt.State, verb rune) { writeRedacted(f, p.redacted()) }

// String returns a description without secrets.
func (p PendingUpdatePath) String() string { return p.redacted() }

// GoString returns a description without secrets.
func (p PendingUpdatePath) GoString() string { return p.redacted() }

// MarshalJSON returns the redacted description as a JSON string.
func (p PendingUpdatePath) MarshalJSON() ([]byte, error) { return redactedJSON(p.redacted()) }

// OpenedPrivateMessage.

func (o OpenedPrivateMessage) redacted() string {
	return fmt.Sprintf("mls.OpenedPrivateMessage{%s leaf=%d generation=%d}", redactedMarker, o.SenderData.LeafIndex, o.SenderData.Generation)
}

// Format implements fmt.Formatter: every verb prints the redacted text (the
// pending key and the decrypted content are not printed).
func (o OpenedPrivateMessage) Format(f fmt.State, verb rune) { writeRedacted(f, o.redacted()) }

// String returns a description without the key.
func (o OpenedPrivateMessage) String() string { return o.redacted() }

// GoString returns a description without the key.
func (o OpenedPrivateMessage) GoString() string { return o.redacted() }

// MarshalJSON returns the redacted description as a JSON string.
func (o OpenedPrivateMessage) MarshalJSON() ([]byte, error) { return redactedJSON(o.redacted()) }

// GroupSecrets.

func (v GroupSecrets) redacted() string {
	return fmt.Sprintf("mls.GroupSecrets{%s path_secret=%t psks=%d}", redactedMarker, v.PathSecret != nil, len(v.PSKs))
}

// Format implements fmt.Formatter: every verb prints the redacted text.
func (v GroupSecrets) Format(f fmt.State, verb rune) { writeRedacted(f, v.redacted()) }

// String returns a description without secrets.
func (v GroupSecrets) String() string { return v.redacted() }

// GoString returns a description without secrets.
func (v GroupSecrets) GoString() string { return v.redacted() }

// MarshalJSON returns the redacted description as a JSON string.
func (v GroupSecrets) MarshalJSON() ([]byte, error) { return redactedJSON(v.redacted()) }

// PathSecret.

func (v PathSecret) redacted() string { return redactedBytes("PathSecret", len(v.PathSecret)) }

// Format implements fmt.Formatter: every verb prints the redacted text.
func (v PathSecret) Format(f fmt.State, verb rune) { writeRedacted(f, v.redacted()) }

// String returns a description without the secret.
func (v PathSecret) String() string { return v.redacted() }

// GoString returns a description without the secret.
func (v PathSecret) GoString() string { return v.redacted() }

// MarshalJSON returns the redacted description as a JSON string.
func (v PathSecret) MarshalJSON() ([]byte, error) { return redactedJSON(v.redacted()) }

// MemoryPSKStore. (Pointer receivers: the store holds a mutex. Its PSKs are
// behind a pointer, so a MemoryPSKStore value nested in another value
// prints an address, not the PSKs.)

func (s *MemoryPSKStore) redacted() string { return "mls.MemoryPSKStore{" + redactedMarker + "}" }

// Format implements fmt.Formatter: every verb prints the redacted text.
func (s *MemoryPSKStore) Format(f fmt.State, verb rune) { writeRedacted(f, s.redacted()) }

// String returns a description without the PSKs.
func (s *MemoryPSKStore) String() string { return s.redacted() }

// GoString returns a description without the PSKs.
func (s *MemoryPSKStore) GoString() string { return s.redacted() }

// MarshalJSON returns the redacted description as a JSON string.
func (s *MemoryPSKStore) MarshalJSON() ([]byte, error) { return redactedJSON(s.redacted()) }

// Key schedule stage types (RFC 9420, Section 8).

// Format implements fmt.Formatter: every verb prints the redacted text.
func (s InitSecret) Format(f fmt.State, verb rune) { writeRedacted(f, s.String()) }

// String returns the type and length, not the secret.
func (s InitSecret) String() string { return redactedBytes("InitSecret", len(s)) }

// GoString returns the type and length, not the secret.
func (s InitSecret) GoString() string { return s.String() }

// MarshalJSON returns the redacted description as a JSON string.
func (s InitSecret) MarshalJSON() ([]byte, error) { return redactedJSON(s.String()) }

// Format implements fmt.Formatter: every verb prints the redacted text.
func (s CommitSecret) Format(f fmt.State, verb rune) { writeRedacted(f, s.String()) }

// String returns the type and length, not the secret.
func (s CommitSecret) String() string { return redactedBytes("CommitSecret", len(s)) }

// GoString returns the type and length, not the secret.
func (s CommitSecret) GoString() string { return s.String() }

// MarshalJSON returns the redacted description as a JSON string.
func (s CommitSecret) MarshalJSON() ([]byte, error) { return redactedJSON(s.String()) }

// Format implements fmt.Formatter: every verb prints the redacted text.
func (s PSKSecret) Format(f fmt.State, verb rune) { writeRedacted(f, s.String()) }

// String returns the type and length, not the secret.
func (s PSKSecret) String() string { return redactedBytes("PSKSecret", len(s)) }

// GoString returns the type and length, not the secret.
func (s PSKSecret) GoString() string { return s.String() }

// MarshalJSON returns the redacted description as a JSON string.
func (s PSKSecret) MarshalJSON() ([]byte, error) { return redactedJSON(s.String()) }

// Format implements fmt.Formatter: every verb prints the redacted text.
func (s JoinerSecret) Format(f fmt.State, verb rune) { writeRedacted(f, s.String()) }

// String returns the type and length, not the secret.
func (s JoinerSecret) String() string { return redactedBytes("JoinerSecret", len(s)) }

// GoString returns the type and length, not the secret.
func (s JoinerSecret) GoString() string { return s.String() }

// MarshalJSON returns the redacted description as a JSON string.
func (s JoinerSecret) MarshalJSON() ([]byte, error) { return redactedJSON(s.String()) }

// Format implements fmt.Formatter: every verb prints the redacted text.
func (s WelcomeSecret) Format(f fmt.State, verb rune) { writeRedacted(f, s.String()) }

// String returns the type and length, not the secret.
func (s WelcomeSecret) String() string { return redactedBytes("WelcomeSecret", len(s)) }

// GoString returns the type and length, not the secret.
func (s WelcomeSecret) GoString() string { return s.String() }

// MarshalJSON returns the redacted description as a JSON string.
func (s WelcomeSecret) MarshalJSON() ([]byte, error) { return redactedJSON(s.String()) }

// Format implements fmt.Formatter: every verb prints the redacted text.
func (s EpochSecret) Format(f fmt.State, verb rune) { writeRedacted(f, s.String()) }

// String returns the type and length, not the secret.
func (s EpochSecret) String() string { return redactedBytes("EpochSecret", len(s)) }

// GoString returns the type and length, not the secret.
func (s EpochSecret) GoString() string { return s.String() }

// MarshalJSON returns the redacted description as a JSON string.
func (s EpochSecret) MarshalJSON() ([]byte, error) { return redactedJSON(s.String()) }

// Format implements fmt.Formatter: every verb prints the redacted text.
func (s SenderDataSecret) Format(f fmt.State, verb rune) { writeRedacted(f, s.String()) }

// String returns the type and length, not the secret.
func (s SenderDataSecret) String() string { return redactedBytes("SenderDataSecret", len(s)) }

// GoString returns the type and length, not the secret.
func (s SenderDataSecret) GoString() string { return s.String() }

// MarshalJSON returns the redacted description as a JSON string.
func (s SenderDataSecret) MarshalJSON() ([]byte, error) { return redactedJSON(s.String()) }

// Format implements fmt.Formatter: every verb prints the redacted text.
func (s EncryptionSecret) Format(f fmt.State, verb rune) { writeRedacted(f, s.String()) }

// String returns the type and length, not the secret.
func (s EncryptionSecret) String() string { return redactedBytes("EncryptionSecret", len(s)) }

// GoString returns the type and length, not the secret.
func (s EncryptionSecret) GoString() string { return s.String() }

// MarshalJSON returns the redacted description as a JSON string.
func (s EncryptionSecret) MarshalJSON() ([]byte, error) { return redactedJSON(s.String()) }

// Format implements fmt.Formatter: every verb prints the redacted text.
func (s ExporterSecret) Format(f fmt.State, verb rune) { writeRedacted(f, s.String()) }

// String returns the type and length, not the secret.
func (s ExporterSecret) String() string { return redactedBytes("ExporterSecret", len(s)) }

// GoString returns the type and length, not the secret.
func (s ExporterSecret) GoString() string { return s.String() }

// MarshalJSON returns the redacted description as a JSON string.
func (s ExporterSecret) MarshalJSON() ([]byte, error) { return redactedJSON(s.String()) }

// Format implements fmt.Formatter: every verb prints the redacted text.
func (s ExternalSecret) Format(f fmt.State, verb rune) { writeRedacted(f, s.String()) }

// String returns the type and length, not the secret.
func (s ExternalSecret) String() string { return redactedBytes("ExternalSecret", len(s)) }

// GoString returns the type and length, not the secret.
func (s ExternalSecret) GoString() string { return s.String() }

// MarshalJSON returns the redacted description as a JSON string.
func (s ExternalSecret) MarshalJSON() ([]byte, error) { return redactedJSON(s.String()) }

// Format implements fmt.Formatter: every verb prints the redacted text.
func (s ConfirmationKey) Format(f fmt.State, verb rune) { writeRedacted(f, s.String()) }

// String returns the type and length, not the key.
func (s ConfirmationKey) String() string { return redactedBytes("ConfirmationKey", len(s)) }

// GoString returns the type and length, not the key.
func (s ConfirmationKey) GoString() string { return s.String() }

// MarshalJSON returns the redacted description as a JSON string.
func (s ConfirmationKey) MarshalJSON() ([]byte, error) { return redactedJSON(s.String()) }

// Format implements fmt.Formatter: every verb prints the redacted text.
func (s MembershipKey) Format(f fmt.State, verb rune) { writeRedacted(f, s.String()) }

// String returns the type and length, not the key.
func (s MembershipKey) String() string { return redactedBytes("MembershipKey", len(s)) }

// GoString returns the type and length, not the key.
func (s MembershipKey) GoString() string { return s.String() }

// MarshalJSON returns the redacted description as a JSON string.
func (s MembershipKey) MarshalJSON() ([]byte, error) { return redactedJSON(s.String()) }

// Format implements fmt.Formatter: every verb prints the redacted text.
func (s ResumptionPSK) Format(f fmt.State, verb rune) { writeRedacted(f, s.String()) }

// String returns the type and length, not the PSK.
func (s ResumptionPSK) String() string { return redactedBytes("ResumptionPSK", len(s)) }

// GoString returns the type and length, not the PSK.
func (s ResumptionPSK) GoString() string { return s.String() }

// MarshalJSON returns the redacted description as a JSON string.
func (s ResumptionPSK) MarshalJSON() ([]byte, error) { return redactedJSON(s.String()) }

// Format implements fmt.Formatter: every verb prints the redacted text.
func (s EpochAuthenticator) Format(f fmt.State, verb rune) { writeRedacted(f, s.String()) }

// String returns the type and length, not the authenticator (it is a
// secret of the epoch, RFC 9420, Section 8.7; Group.EpochAuthenticator
// returns the bytes for out-of-band comparison).
func (s EpochAuthenticator) String() string { return redactedBytes("EpochAuthenticator", len(s)) }

// GoString returns the type and length, not the authenticator.
func (s EpochAuthenticator) GoString() string { return s.String() }

// MarshalJSON returns the redacted description as a JSON string.
func (s EpochAuthenticator) MarshalJSON() ([]byte, error) { return redactedJSON(s.String()) }

// Interface assertions.
var (
	_ fmt.Formatter  = Group{}
	_ fmt.Formatter  = (*MemoryPSKStore)(nil)
	_ json.Marshaler = KeyPackageBundle{}
	_ fmt.GoStringer = EpochSecrets{}
)
