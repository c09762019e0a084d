package mls

import (
	"fmt"
	"maps"
)

// credSummary counts, over the members of a tree, the credential types in
// use and how many members support each credential type, so the rule of
// RFC 9420, Section 7.3 — every member supports the credential type of
// every other member — costs O(credential types) per new leaf instead of a
// scan of all members. It is updated as proposals change the tree.
type credSummary struct {
	members int
	inUse   map[CredentialType]int // members presenting each type
	support map[CredentialType]int // members listing each type in capabilities
}

func summarizeCredentials(t *RatchetTree) *credSummary {
	s := &credSummary{inUse: map[CredentialType]int{}, support: map[CredentialType]int{}}
	for _, ln := range t.Members() {
		s.add(ln)
	}
	return s
}

func (s *credSummary) clone() *credSummary {
	return &credSummary{members: s.members, inUse: maps.Clone(s.inUse), support: maps.Clone(s.support)}
}

func (s *credSummary) add(ln *LeafNode)    { s.apply(ln, 1) }
func (s *credSummary) remove(ln *LeafNode) { s.apply(ln, -1) }

func (s *credSummary) apply(ln *LeafNode, d int) {
	if ln == nil {
		return
	}
	s.members += d
	s.inUse[ln.Credential.Type] += d
	seen := map[CredentialType]bool{}
	for _, t := range ln.Capabilities.Credentials {
		if !seen[t] { // a type listed twice counts once
			seen[t] = true
			s.support[t] += d
		}
	}
}

// check reports whether ln may join the members summarized (with replaced,
// if non-nil, leaving): every other member supports ln's credential type and
// ln supports every credential type the others present (RFC 9420, Section
// 7.3).
func (s *credSummary) check(ln, replaced *LeafNode) error {
	const rule = "RFC 9420 §7.3 credential supported by all members"
	others := s.members
	supports := func(t CredentialType) int { return s.support[t] }
	inUse := func(t CredentialType) int { return s.inUse[t] }
	if replaced != nil {
		others--
		rs := replaced.Capabilities.SupportsCredential
		supports = func(t CredentialType) int {
			if rs(t) {
				return s.support[t] - 1
			}
			return s.support[t]
		}
		inUse = func(t CredentialType) int {
			if t == replaced.Credential.Type {
				return s.inUse[t] - 1
			}
			return s.inUse[t]
		}
	}
	if n := supports(ln.Credential.Type); n < others {
		return protoErr(CodeInvalidLeafNode, rule, fmt.Sprintf("%d of %d members lack %v", others-n, others, ln.Credential.Type), nil)
	}
	for t := range s.inUse {
		if inUse(t) > 0 && !ln.Capabilities.SupportsCredential(t) {
			return protoErr(CodeInvalidLeafNode, rule, fmt.Sprintf("new leaf lacks %v presented by %d members", t, inUse(t)), nil)
		}
	}
	return nil
}

// withLeaf returns a copy of s after a commit's UpdatePath placed newLeaf,
// replacing old (nil for an external joiner's new leaf).
func (s *credSummary) withLeaf(old, newLeaf *LeafNode) *credSummary {
	c := s.clone()
	c.remove(old)
	c.add(newLeaf)
	return c
}
