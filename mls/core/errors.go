package core

import (
	"errors"
	"fmt"
)

// Sentinel errors for conditions callers branch on.
var (
	// ErrWrongEpoch: a message is for an epoch other than the group's current one.
	ErrWrongEpoch = errors.New("mls: message for wrong epoch")
	// ErrUnknownSender: the sender is not a member (blank leaf or out of range).
	ErrUnknownSender = errors.New("mls: unknown sender")
	// ErrWrongGroup: a message carries another group's ID.
	ErrWrongGroup = errors.New("mls: message for another group")
	// ErrStateMismatch: Group.AdoptPublic was given a different epoch state.
	ErrStateMismatch = errors.New("mls: public state differs")
)

// ProtocolError is a violation of an RFC 9420 rule by a message, tree or
// KeyPackage. Rule names the section and rule ("RFC 9420 §7.9.2 parent hash
// chain"); Node, when HasNode, is the node index the violation was found at.
// errors.Is matches two ProtocolErrors with the same Code, and a
// ProtocolError against its Code's sentinel.
type ProtocolError struct {
	Code    ErrorCode
	Rule    string
	Node    uint32
	HasNode bool
	Detail  string
	Err     error // underlying cause, may be nil
}

// ErrorCode classifies protocol errors.
type ErrorCode uint16

// Error codes. Each has a sentinel *ProtocolError (Err<Code>) usable with
// errors.Is.
const (
	CodeDecode ErrorCode = iota + 1
	CodeInvalidSignature
	CodeInvalidMAC
	CodeTreeHash
	CodeParentHash
	CodeInvalidTree
	CodeInvalidLeafNode
	CodeInvalidKeyPackage
	CodeInvalidProposal
	CodeInvalidCommit
	CodeInvalidWelcome
	CodeDecrypt
	CodeUnsupported
	CodeInvalidMessage
	CodeKeyReuse
)

var codeNames = map[ErrorCode]string{
	CodeDecode:            "decode error",
	CodeInvalidSignature:  "invalid signature",
	CodeInvalidMAC:        "invalid MAC",
	CodeTreeHash:          "tree hash mismatch",
	CodeParentHash:        "invalid parent hash",
	CodeInvalidTree:       "invalid ratchet tree",
	CodeInvalidLeafNode:   "invalid leaf node",
	CodeInvalidKeyPackage: "invalid key package",
	CodeInvalidProposal:   "invalid proposal",
	CodeInvalidCommit:     "invalid commit",
	CodeInvalidWelcome:    "invalid welcome",
	CodeDecrypt:           "decryption failed",
	CodeUnsupported:       "unsupported",
	CodeInvalidMessage:    "invalid message",
	CodeKeyReuse:          "key reuse",
}

func (c ErrorCode) String() string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("error(%d)", uint16(c))
}

func (e *ProtocolError) Error() string {
	s := "mls: " + e.Code.String()
	if e.Rule != "" {
		s += " (" + e.Rule + ")"
	}
	if e.HasNode {
		s += fmt.Sprintf(" at node %d", e.Node)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *ProtocolError) Unwrap() error { return e.Err }

// Is matches protocol errors by code.
func (e *ProtocolError) Is(target error) bool {
	t, ok := target.(*ProtocolError)
	return ok && t.Code == e.Code
}

// Sentinels for errors.Is(err, mls.ErrInvalidSignature) etc.
var (
	ErrDecode            = &ProtocolError{Code: CodeDecode}
	ErrInvalidSignature  = &ProtocolError{Code: CodeInvalidSignature}
	ErrInvalidMAC        = &ProtocolError{Code: CodeInvalidMAC}
	ErrTreeHash          = &ProtocolError{Code: CodeTreeHash}
	ErrParentHash        = &ProtocolError{Code: CodeParentHash}
	ErrInvalidTree       = &ProtocolError{Code: CodeInvalidTree}
	ErrInvalidLeafNode   = &ProtocolError{Code: CodeInvalidLeafNode}
	ErrInvalidKeyPackage = &ProtocolError{Code: CodeInvalidKeyPackage}
	ErrInvalidProposal   = &ProtocolError{Code: CodeInvalidProposal}
	ErrInvalidCommit     = &ProtocolError{Code: CodeInvalidCommit}
	ErrInvalidWelcome    = &ProtocolError{Code: CodeInvalidWelcome}
	ErrDecrypt           = &ProtocolError{Code: CodeDecrypt}
	ErrUnsupported       = &ProtocolError{Code: CodeUnsupported}
	ErrInvalidMessage    = &ProtocolError{Code: CodeInvalidMessage}
	ErrKeyReuse          = &ProtocolError{Code: CodeKeyReuse}
)

// protoErr builds a ProtocolError.
func protoErr(code ErrorCode, rule string, detail string, cause error) *ProtocolError {
	return &ProtocolError{Code: code, Rule: rule, Detail: detail, Err: cause}
}

// nodeErr builds a ProtocolError located at a node.
func nodeErr(code ErrorCode, rule string, node uint32, detail string, cause error) *ProtocolError {
	return &ProtocolError{Code: code, Rule: rule, Node: node, HasNode: true, Detail: detail, Err: cause}
}
