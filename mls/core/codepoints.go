package core

import "slices"

// Membership tests over attacker-controlled codepoint lists (extension,
// proposal, credential types; RFC 9420, Sections 7.2, 11.1, 13.4). A
// LeafNode or KeyPackage can carry tens of thousands of entries, so a check
// of one list against another must not be quadratic: short lists are
// scanned, long ones go through a 2^16-bit bitmap (8 KiB), which makes every
// check O(len(a) + len(b)).

// scanLimit is the list length up to which a linear scan is used.
const scanLimit = 16

// codepointBits is a set of 16-bit codepoints.
type codepointBits [1 << 16 / 64]uint64

// add inserts v and reports whether it was absent.
func (b *codepointBits) add(v uint16) bool {
	w, m := v>>6, uint64(1)<<(v&63)
	if b[w]&m != 0 {
		return false
	}
	b[w] |= m
	return true
}

func (b *codepointBits) has(v uint16) bool { return b[v>>6]&(uint64(1)<<(v&63)) != 0 }

// codepointSet answers "is v in list" for a list it was built from. Build it
// with the number of queries to come: it builds the bitmap only when both
// the list and the queries are long.
type codepointSet[T ~uint16] struct {
	list []T
	bits *codepointBits
}

func newCodepointSet[T ~uint16](list []T, queries int) codepointSet[T] {
	s := codepointSet[T]{list: list}
	if len(list) > scanLimit && queries > scanLimit {
		s.bits = new(codepointBits)
		for _, v := range list {
			s.bits.add(uint16(v))
		}
	}
	return s
}

func (s codepointSet[T]) has(v T) bool {
	if s.bits != nil {
		return s.bits.has(uint16(v))
	}
	return slices.Contains(s.list, v)
}

// firstDuplicate returns the index of the first element of a list whose
// codepoint key(i) appeared earlier, or -1. O(n).
func firstDuplicate(n int, key func(i int) uint16) int {
	if n <= scanLimit {
		for i := 1; i < n; i++ {
			for j := 0; j < i; j++ {
				if key(i) == key(j) {
					return i
				}
			}
		}
		return -1
	}
	var seen codepointBits
	for i := range n {
		if !seen.add(key(i)) {
			return i
		}
	}
	return -1
}

// clearCodepoints clears the bits of list in b (O(len(list)), where
// clearing the whole bitmap would cost 8 KiB).
func clearCodepoints[T ~uint16](b *codepointBits, list []T) {
	for _, v := range list {
		b[v>>6] = 0
	}
}
