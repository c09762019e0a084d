package core

import (
	"bytes"
	"crypto/x509"
	encasn1 "encoding/asn1"
	"errors"
	"fmt"
)

// Credential successors (RFC 9420, Section 5.3.1): when a member's leaf is
// replaced, the Authentication Service must verify that the identifiers of
// the new credential are a valid successor of those of the old one. Without
// that check an Update, a commit's UpdatePath or a resync external commit
// could silently turn member "dave" into "mallory" (or let an outsider evict
// any member, Section 12.2). Config.ValidateSuccessor is the application's
// policy; DefaultValidateSuccessor is used when it is nil.

// SuccessorReason says why a member's leaf, and so possibly its credential,
// is being replaced.
type SuccessorReason uint8

// Reasons for replacing a leaf.
const (
	// SuccessorUpdate: an Update proposal replaces the sender's leaf
	// (RFC 9420, Section 12.1.2), checked when the proposal is received,
	// when a commit covering it is created and when such a commit is
	// processed.
	SuccessorUpdate SuccessorReason = iota + 1 // update
	// SuccessorCommit: the LeafNode of a commit's UpdatePath replaces the
	// committer's leaf (RFC 9420, Sections 7.5, 12.4.2).
	SuccessorCommit // commit
	// SuccessorResync: an external commit removes the leaf of a previous
	// appearance of the joiner, whose new leaf is the LeafNode of the
	// commit's UpdatePath (RFC 9420, Sections 12.2, 12.4.3.2).
	SuccessorResync // resync
)

// String returns the reason's name.
func (r SuccessorReason) String() string {
	switch r {
	case SuccessorUpdate:
		return "update"
	case SuccessorCommit:
		return "commit"
	case SuccessorResync:
		return "resync"
	}
	return fmt.Sprintf("SuccessorReason(%d)", uint8(r))
}

// ErrCredentialNotSuccessor is returned (wrapped) by
// DefaultValidateSuccessor when the new credential does not name the same
// client as the old one. Processing and creating messages report a rejected
// successor as a *ProtocolError with Code CodeInvalidLeafNode that wraps
// the policy's error, so errors.Is(err, ErrCredentialNotSuccessor) holds
// for rejections by the default policy.
var ErrCredentialNotSuccessor = errors.New("mls: new credential is not a valid successor of the old one (RFC 9420, Section 5.3.1)")

// DefaultValidateSuccessor is the credential successor policy used when
// Config.ValidateSuccessor is nil. It accepts newCred as a successor of
// oldCred at any leaf and for any reason when:
//
//   - both are equal (Credential.Equal); or
//   - both are basic credentials with the same identity; or
//   - both are x509 credentials whose end-entity certificates (the first of
//     each chain) have byte-identical subject names and byte-identical
//     subjectAltName extensions (or both none), i.e. a renewed or re-keyed
//     certificate for the same subject.
//
// Anything else, including a change of credential type, is rejected with
// an error wrapping ErrCredentialNotSuccessor (or a parse error of an x509
// chain).
func DefaultValidateSuccessor(leaf LeafIndex, oldCred, newCred *Credential, reason SuccessorReason) error {
	if oldCred.Equal(newCred) {
		return nil
	}
	if oldCred.Type != newCred.Type {
		return fmt.Errorf("%w: credential type %v replaced by %v", ErrCredentialNotSuccessor, oldCred.Type, newCred.Type)
	}
	switch oldCred.Type {
	case CredentialBasic:
		if bytes.Equal(oldCred.Identity, newCred.Identity) {
			return nil
		}
		return fmt.Errorf("%w: basic identity %q replaced by %q", ErrCredentialNotSuccessor, oldCred.Identity, newCred.Identity)
	case CredentialX509:
		oldEE, err := endEntity(oldCred)
		if err != nil {
			return err
		}
		newEE, err := endEntity(newCred)
		if err != nil {
			return err
		}
		if !bytes.Equal(oldEE.RawSubject, newEE.RawSubject) {
			return fmt.Errorf("%w: x509 subject %q replaced by %q", ErrCredentialNotSuccessor, oldEE.Subject, newEE.Subject)
		}
		if !bytes.Equal(subjectAltName(oldEE), subjectAltName(newEE)) {
			return fmt.Errorf("%w: x509 subjectAltName changed", ErrCredentialNotSuccessor)
		}
		return nil
	}
	return fmt.Errorf("%w: %v credential changed", ErrCredentialNotSuccessor, oldCred.Type)
}

// endEntity parses the first certificate of an x509 credential.
func endEntity(c *Credential) (*x509.Certificate, error) {
	chain, err := c.X509Chain()
	if err != nil {
		return nil, err
	}
	return chain[0], nil
}

var oidSubjectAltName = encasn1.ObjectIdentifier{2, 5, 29, 17}

// subjectAltName returns the DER value of the subjectAltName extension
// (OID 2.5.29.17), nil if the certificate has none.
func subjectAltName(c *x509.Certificate) []byte {
	for _, e := range c.Extensions {
		if e.Id.Equal(oidSubjectAltName) {
			return e.Value
		}
	}
	return nil
}

// ruleSuccessor names the rule a rejected successor breaks.
const ruleSuccessor = "RFC 9420 §5.3.1 credential successor"

// validateSuccessor applies the successor policy (Config.ValidateSuccessor
// or DefaultValidateSuccessor) to the replacement of oldCred by newCred at
// leaf; a rejection is a CodeInvalidLeafNode ProtocolError wrapping the
// policy's error. cfg may be nil.
func (c *Config) validateSuccessor(leaf LeafIndex, oldCred, newCred *Credential, reason SuccessorReason) error {
	f := DefaultValidateSuccessor
	if c != nil && c.ValidateSuccessor != nil {
		f = c.ValidateSuccessor
	}
	if err := f(leaf, oldCred, newCred, reason); err != nil {
		rule := ruleSuccessor
		if reason == SuccessorResync {
			rule = "RFC 9420 §12.2 external commit removes only the joiner's old leaf (§5.3.1 credential successor)"
		}
		return &ProtocolError{Code: CodeInvalidLeafNode, Rule: rule, Node: uint32(leaf.Node()), HasNode: true,
			Detail: fmt.Sprintf("%v of leaf %d", reason, leaf), Err: err}
	}
	return nil
}
