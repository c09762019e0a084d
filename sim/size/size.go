// Package size computes the exact encoded sizes, in bytes, of the RFC 9420
// wire structures the simulator's model fidelity level needs, without
// building them.
//
// Every function mirrors one struct of the TLS presentation language in
// RFC 9420 and adds up its fields: fixed-width integers, opaque<V> vectors
// (an MLS variable-length integer length prefix, Section 2.1.2, followed by
// the content) and optional<T> (one presence byte). A later test builds the
// real structures with package mls and checks that each function returns
// len(encoding) exactly; until then the field-by-field derivations below,
// each cited to its RFC section, are the contract.
//
// Sizes that depend on the cipher suite come from a [Suite]. Sizes that
// depend on the application (credential identity length, capabilities lists,
// extensions, authenticated data, padding) come from a [Profile].
package size

import "fmt"

// Varint returns the length of the MLS variable-length integer encoding of n
// (RFC 9420, Section 2.1.2): 1 byte below 2^6, 2 below 2^14, 4 below 2^30.
// It panics for n >= 2^30, which no MLS vector can have.
func Varint(n int) int {
	switch {
	case n < 0:
		panic("size: negative length")
	case n < 1<<6:
		return 1
	case n < 1<<14:
		return 2
	case n < 1<<30:
		return 4
	}
	panic(fmt.Sprintf("size: vector length %d exceeds the MLS varint range", n))
}

// Opaque returns the size of an opaque<V> holding n bytes (or any vector<V>
// whose content is n bytes long): the varint length prefix plus n.
func Opaque(n int) int { return Varint(n) + n }

// Suite holds the primitive sizes of one cipher suite: the seven of RFC 9420
// (Section 17.1) and the post-quantum suites of mls/internal/suite/pq.go.
type Suite struct {
	ID uint16
	// Nh is the hash output size: tree/transcript hashes, MACs, secrets,
	// KeyPackageRef and ProposalRef (RFC 9420, Section 5.2).
	Nh int
	// Npk is the encoded HPKE public key size.
	Npk int
	// Nenc is the KEM output (enc, kem_output) size: Npk for every DHKEM of
	// RFC 9420 (RFC 9180, Section 7.1), the ciphertext size for ML-KEM
	// (FIPS 203: 1568 for ML-KEM-1024) and X-Wing (1088 + 32 = 1120,
	// draft-connolly-cfrg-xwing-kem, where Npk is 1184 + 32 = 1216).
	Nenc int
	// Ntag is the AEAD tag size (16 for all RFC 9420 AEADs).
	Ntag int
	// Nsig is the signature size. ECDSA signatures are DER-encoded and vary
	// by a few bytes; for those suites Nsig is the typical size (both
	// integers of full length) and ExactSig is false.
	Nsig     int
	ExactSig bool
	// NsigPub is the encoded signature public key size.
	NsigPub int
}

var suites = map[uint16]Suite{
	// MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	0x0001: {ID: 1, Nh: 32, Npk: 32, Nenc: 32, Ntag: 16, Nsig: 64, ExactSig: true, NsigPub: 32},
	// MLS_128_DHKEMP256_AES128GCM_SHA256_P256 (uncompressed points, DER ECDSA)
	0x0002: {ID: 2, Nh: 32, Npk: 65, Nenc: 65, Ntag: 16, Nsig: 72, NsigPub: 65},
	// MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519
	0x0003: {ID: 3, Nh: 32, Npk: 32, Nenc: 32, Ntag: 16, Nsig: 64, ExactSig: true, NsigPub: 32},
	// MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448
	0x0004: {ID: 4, Nh: 64, Npk: 56, Nenc: 56, Ntag: 16, Nsig: 114, ExactSig: true, NsigPub: 57},
	// MLS_256_DHKEMP521_AES256GCM_SHA512_P521
	0x0005: {ID: 5, Nh: 64, Npk: 133, Nenc: 133, Ntag: 16, Nsig: 139, NsigPub: 133},
	// MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448
	0x0006: {ID: 6, Nh: 64, Npk: 56, Nenc: 56, Ntag: 16, Nsig: 114, ExactSig: true, NsigPub: 57},
	// MLS_256_DHKEMP384_AES256GCM_SHA384_P384
	0x0007: {ID: 7, Nh: 48, Npk: 97, Nenc: 97, Ntag: 16, Nsig: 104, NsigPub: 97},
	// Post-quantum suites (code points of ts-mls 1.6.4; mls/internal/suite/pq.go):
	// ML-KEM-1024 (FIPS 203), X-Wing (draft-connolly-cfrg-xwing-kem),
	// Ed25519 or ML-DSA-87 (FIPS 204: 2592-byte public key, 4627-byte
	// signature); SHA-512 and a 32-byte AEAD key throughout.
	// MLS_256_MLKEM1024_AES256GCM_SHA512_Ed25519
	0x0051: {ID: 0x51, Nh: 64, Npk: 1568, Nenc: 1568, Ntag: 16, Nsig: 64, ExactSig: true, NsigPub: 32},
	// MLS_256_MLKEM1024_CHACHA20POLY1305_SHA512_Ed25519
	0x0052: {ID: 0x52, Nh: 64, Npk: 1568, Nenc: 1568, Ntag: 16, Nsig: 64, ExactSig: true, NsigPub: 32},
	// MLS_256_XWING_AES256GCM_SHA512_Ed25519
	0x0053: {ID: 0x53, Nh: 64, Npk: 1216, Nenc: 1120, Ntag: 16, Nsig: 64, ExactSig: true, NsigPub: 32},
	// MLS_256_XWING_CHACHA20POLY1305_SHA512_Ed25519
	0x0054: {ID: 0x54, Nh: 64, Npk: 1216, Nenc: 1120, Ntag: 16, Nsig: 64, ExactSig: true, NsigPub: 32},
	// MLS_256_MLKEM1024_AES256GCM_SHA512_MLDSA87
	0x0055: {ID: 0x55, Nh: 64, Npk: 1568, Nenc: 1568, Ntag: 16, Nsig: 4627, ExactSig: true, NsigPub: 2592},
	// MLS_256_MLKEM1024_CHACHA20POLY1305_SHA512_MLDSA87
	0x0056: {ID: 0x56, Nh: 64, Npk: 1568, Nenc: 1568, Ntag: 16, Nsig: 4627, ExactSig: true, NsigPub: 2592},
	// MLS_256_XWING_AES256GCM_SHA512_MLDSA87
	0x0057: {ID: 0x57, Nh: 64, Npk: 1216, Nenc: 1120, Ntag: 16, Nsig: 4627, ExactSig: true, NsigPub: 2592},
	// MLS_256_XWING_CHACHA20POLY1305_SHA512_MLDSA87
	0x0058: {ID: 0x58, Nh: 64, Npk: 1216, Nenc: 1120, Ntag: 16, Nsig: 4627, ExactSig: true, NsigPub: 2592},
}

// SuiteByID returns the sizes of cipher suite id, or false if id is not a
// suite of the table above.
func SuiteByID(id uint16) (Suite, bool) {
	s, ok := suites[id]
	return s, ok
}

// Profile holds the application-chosen contents that determine sizes.
type Profile struct {
	GroupIDLen  int // group_id length
	IdentityLen int // BasicCredential identity length (RFC 9420, Section 5.3)
	// Capabilities list lengths (RFC 9420, Section 7.2): number of entries
	// in versions, cipher_suites, extensions, proposals, credentials.
	CapVersions, CapSuites, CapExtensions, CapProposals, CapCredentials int
	LeafExtensionsLen                                                   int // encoded content of LeafNode.extensions (0 = empty list)
	KeyPackageExtensionsLen                                             int // encoded content of KeyPackage.extensions
	GroupContextExtLen                                                  int // encoded content of GroupContext.extensions
	AuthenticatedDataLen                                                int // authenticated_data length on every message
	// PaddingBlock pads PrivateMessageContent to a multiple of this many
	// bytes (0 = no padding; RFC 9420, Section 6.3.1 leaves it to the application).
	PaddingBlock int
}

// DefaultProfile is a BasicCredential with a 16-byte identity, one version,
// one suite, one credential type and no extensions.
func DefaultProfile() Profile {
	return Profile{GroupIDLen: 16, IdentityLen: 16, CapVersions: 1, CapSuites: 1, CapCredentials: 1}
}

// LeafSource is LeafNodeSource (RFC 9420, Section 7.2).
type LeafSource uint8

const (
	SourceKeyPackage LeafSource = 1
	SourceUpdate     LeafSource = 2
	SourceCommit     LeafSource = 3
)

// Credential is a BasicCredential: uint16 credential_type + opaque
// identity<V> (RFC 9420, Section 5.3).
func Credential(p Profile) int { return 2 + Opaque(p.IdentityLen) }

// Capabilities is the Capabilities struct: five vectors of uint16
// (RFC 9420, Section 7.2).
func Capabilities(p Profile) int {
	return Opaque(2*p.CapVersions) + Opaque(2*p.CapSuites) + Opaque(2*p.CapExtensions) +
		Opaque(2*p.CapProposals) + Opaque(2*p.CapCredentials)
}

// LeafNode is the LeafNode struct for the given source (RFC 9420,
// Section 7.2): encryption_key<V>, signature_key<V>, credential,
// capabilities, uint8 source, then Lifetime (two uint64) for key_package,
// nothing for update, parent_hash<V> for commit, then extensions<V> and
// signature<V>. For source commit the parent hash is Nh bytes (the hash of
// the first node of the filtered direct path, Section 7.9); use
// LeafNodeCommit for a committer whose filtered direct path is empty.
func LeafNode(s Suite, p Profile, src LeafSource) int {
	if src == SourceCommit {
		return LeafNodeCommit(s, p, true)
	}
	n := Opaque(s.Npk) + Opaque(s.NsigPub) + Credential(p) + Capabilities(p) + 1
	if src == SourceKeyPackage {
		n += 16
	}
	return n + Opaque(p.LeafExtensionsLen) + Opaque(s.Nsig)
}

// LeafNodeCommit is a LeafNode with source commit whose parent_hash is Nh
// bytes (hasParent) or empty (the committer's filtered direct path is
// empty, e.g. a one-member group; RFC 9420, Section 7.9).
func LeafNodeCommit(s Suite, p Profile, hasParent bool) int {
	n := Opaque(s.Npk) + Opaque(s.NsigPub) + Credential(p) + Capabilities(p) + 1
	if hasParent {
		n += Opaque(s.Nh)
	} else {
		n += Opaque(0)
	}
	return n + Opaque(p.LeafExtensionsLen) + Opaque(s.Nsig)
}

// KeyPackage is the KeyPackage struct (RFC 9420, Section 10): uint16
// version, uint16 cipher_suite, init_key<V>, leaf_node (source
// key_package), extensions<V>, signature<V>.
func KeyPackage(s Suite, p Profile) int {
	return 2 + 2 + Opaque(s.Npk) + LeafNode(s, p, SourceKeyPackage) + Opaque(p.KeyPackageExtensionsLen) + Opaque(s.Nsig)
}

// HPKECiphertext is kem_output<V> + ciphertext<V> (RFC 9420, Section 7.6)
// for a plaintext of ptLen bytes: the AEAD adds Ntag.
func HPKECiphertext(s Suite, ptLen int) int {
	return Opaque(s.Nenc) + Opaque(ptLen+s.Ntag)
}

// PathSecretCiphertext is one encrypted_path_secret entry: the plaintext of
// EncryptWithLabel(node_public_key, "UpdatePathNode", group_context,
// path_secret) is the Nh-byte path secret (RFC 9420, Section 7.6).
func PathSecretCiphertext(s Suite) int { return HPKECiphertext(s, s.Nh) }

// UpdatePathNode is encryption_key<V> + encrypted_path_secret<V> holding
// nCiphertexts HPKECiphertexts (RFC 9420, Section 7.6).
func UpdatePathNode(s Suite, nCiphertexts int) int {
	return Opaque(s.Npk) + Opaque(nCiphertexts*PathSecretCiphertext(s))
}

// UpdatePath is leaf_node (source commit) + nodes<V>; ciphertexts[i] is
// the number of HPKE ciphertexts of the i-th node of the filtered direct
// path, i.e. the size of the resolution of its copath child minus the
// leaves added in the same commit (RFC 9420, Sections 7.5 and 7.6).
func UpdatePath(s Suite, p Profile, ciphertexts []int) int {
	nodes := 0
	for _, c := range ciphertexts {
		nodes += UpdatePathNode(s, c)
	}
	return LeafNodeCommit(s, p, len(ciphertexts) > 0) + Opaque(nodes)
}

// Proposal type sizes (RFC 9420, Section 12.1): uint16 proposal_type + body.

// AddProposal is Proposal{add, KeyPackage}.
func AddProposal(s Suite, p Profile) int { return 2 + KeyPackage(s, p) }

// UpdateProposal is Proposal{update, LeafNode (source update)}.
func UpdateProposal(s Suite, p Profile) int { return 2 + LeafNode(s, p, SourceUpdate) }

// RemoveProposal is Proposal{remove, uint32 removed}.
func RemoveProposal() int { return 2 + 4 }

// ProposalByValue is ProposalOrRef{proposal, Proposal} (RFC 9420,
// Section 12.4): one type byte + the proposal.
func ProposalByValue(proposalLen int) int { return 1 + proposalLen }

// ProposalByRef is ProposalOrRef{reference, ProposalRef}: one type byte +
// ProposalRef = HashReference = opaque<V> of Nh bytes (Section 5.2).
func ProposalByRef(s Suite) int { return 1 + Opaque(s.Nh) }

// Commit is proposals<V> + optional<UpdatePath> (RFC 9420, Section 12.4).
// proposalsLen is the summed size of the ProposalOrRef entries; pathLen is
// the UpdatePath size or 0 for no path.
func Commit(proposalsLen, pathLen int) int {
	n := Opaque(proposalsLen) + 1
	if pathLen > 0 {
		n += pathLen
	}
	return n
}

// ContentType values (RFC 9420, Section 6).
type ContentType uint8

const (
	Application ContentType = 1
	ProposalMsg ContentType = 2
	CommitMsg   ContentType = 3
)

// senderMember is Sender{member, uint32 leaf_index} (RFC 9420, Section 6).
const senderMember = 1 + 4

// authData is FramedContentAuthData: signature<V>, plus the
// confirmation_tag MAC<V> (Nh bytes) for commits (RFC 9420, Section 6.1).
func authData(s Suite, ct ContentType) int {
	n := Opaque(s.Nsig)
	if ct == CommitMsg {
		n += Opaque(s.Nh)
	}
	return n
}

// mlsMessageHeader is MLSMessage's uint16 version + uint16 wire_format
// (RFC 9420, Section 6).
const mlsMessageHeader = 4

// PublicMessage is an MLSMessage carrying a PublicMessage sent by a member
// (RFC 9420, Section 6.2): FramedContent (group_id<V>, uint64 epoch,
// sender, authenticated_data<V>, uint8 content_type, body), auth, and the
// membership_tag MAC<V>. bodyLen is the encoded body: the Proposal or
// Commit struct, or application_data<V> (already including its prefix).
func PublicMessage(s Suite, p Profile, ct ContentType, bodyLen int) int {
	content := Opaque(p.GroupIDLen) + 8 + senderMember + Opaque(p.AuthenticatedDataLen) + 1 + bodyLen
	return mlsMessageHeader + content + authData(s, ct) + Opaque(s.Nh)
}

// PrivateMessageContentLen is PrivateMessageContent (RFC 9420,
// Section 6.3.1): body + auth + zero padding up to p.PaddingBlock.
func PrivateMessageContentLen(s Suite, p Profile, ct ContentType, bodyLen int) int {
	n := bodyLen + authData(s, ct)
	if p.PaddingBlock > 0 && n%p.PaddingBlock != 0 {
		n += p.PaddingBlock - n%p.PaddingBlock
	}
	return n
}

// PrivateMessage is an MLSMessage carrying a PrivateMessage (RFC 9420,
// Section 6.3): group_id<V>, uint64 epoch, uint8 content_type,
// authenticated_data<V>, encrypted_sender_data<V> (SenderData = uint32
// leaf_index + uint32 generation + 4-byte reuse_guard, sealed: 12 + Ntag),
// ciphertext<V> (sealed PrivateMessageContent).
func PrivateMessage(s Suite, p Profile, ct ContentType, bodyLen int) int {
	return mlsMessageHeader + Opaque(p.GroupIDLen) + 8 + 1 + Opaque(p.AuthenticatedDataLen) +
		Opaque(12+s.Ntag) + Opaque(PrivateMessageContentLen(s, p, ct, bodyLen)+s.Ntag)
}

// ApplicationData is the application_data<V> body of n plaintext bytes.
func ApplicationData(n int) int { return Opaque(n) }

// GroupContext is the GroupContext struct (RFC 9420, Section 8.1): uint16
// version, uint16 cipher_suite, group_id<V>, uint64 epoch, tree_hash<V>,
// confirmed_transcript_hash<V>, extensions<V>.
func GroupContext(s Suite, p Profile) int {
	return 2 + 2 + Opaque(p.GroupIDLen) + 8 + Opaque(s.Nh) + Opaque(s.Nh) + Opaque(p.GroupContextExtLen)
}

// ParentNode is encryption_key<V> + parent_hash<V> + uint32
// unmerged_leaves<V> (RFC 9420, Section 7.1). The parent_hash is Nh bytes
// except for a root set by the commit that created it, whose parent hash is
// empty (Section 7.9); hashLen says which.
func ParentNode(s Suite, hashLen, unmerged int) int {
	return Opaque(s.Npk) + Opaque(hashLen) + Opaque(4*unmerged)
}

// Node sizes for the ratchet_tree extension (RFC 9420, Section 12.4.3.3):
// optional<Node> = presence byte, then uint8 node_type + the node.

// BlankNodeEntry is an absent optional<Node>.
const BlankNodeEntry = 1

// LeafNodeEntry is a present leaf: presence + node_type + LeafNode.
func LeafNodeEntry(leafLen int) int { return 1 + 1 + leafLen }

// ParentNodeEntry is a present parent: presence + node_type + ParentNode.
func ParentNodeEntry(parentLen int) int { return 1 + 1 + parentLen }

// RatchetTreeExtension is the Extension{ratchet_tree, extension_data<V>}
// (Section 12.4.3.3): uint16 extension_type + opaque<V> holding the encoded
// ratchet_tree, itself a vector<V> of optional<Node> (treeVectorLen bytes
// including its own length prefix).
func RatchetTreeExtension(treeVectorLen int) int { return 2 + Opaque(treeVectorLen) }

// GroupInfo is the GroupInfo struct (RFC 9420, Section 12.4.3):
// group_context, extensions<V> (extLen bytes of encoded Extensions),
// confirmation_tag MAC<V>, uint32 signer, signature<V>.
func GroupInfo(s Suite, p Profile, extLen int) int {
	return GroupContext(s, p) + Opaque(extLen) + Opaque(s.Nh) + 4 + Opaque(s.Nsig)
}

// GroupSecrets is joiner_secret<V> + optional<PathSecret> (path_secret<V>)
// + psks<V> (empty) (RFC 9420, Section 12.4.3.1).
func GroupSecrets(s Suite, withPathSecret bool) int {
	n := Opaque(s.Nh) + 1 + Opaque(0)
	if withPathSecret {
		n += Opaque(s.Nh)
	}
	return n
}

// EncryptedGroupSecrets is new_member (KeyPackageRef = opaque<V> of Nh) +
// HPKECiphertext of the GroupSecrets (RFC 9420, Section 12.4.3.1).
func EncryptedGroupSecrets(s Suite, withPathSecret bool) int {
	return Opaque(s.Nh) + HPKECiphertext(s, GroupSecrets(s, withPathSecret))
}

// Welcome is an MLSMessage carrying a Welcome (RFC 9420, Section
// 12.4.3.1): uint16 cipher_suite, secrets<V> (one EncryptedGroupSecrets
// per joiner; withPath[i] tells whether joiner i gets a path secret, which
// it does exactly when the commit has a path), encrypted_group_info<V>
// (the GroupInfo sealed with the welcome key: + Ntag).
func Welcome(s Suite, groupInfoLen int, joiners int, withPath bool) int {
	return mlsMessageHeader + 2 + Opaque(joiners*EncryptedGroupSecrets(s, withPath)) + Opaque(groupInfoLen+s.Ntag)
}

// FullTreeCommit is the size of a member's self-update commit in a full
// tree (every node of its filtered direct path has a one-node copath
// resolution): an MLSMessage PublicMessage (or PrivateMessage when private)
// carrying a Commit with no proposals and an UpdatePath of depth nodes, one
// HPKE ciphertext each. For a group of N = 2^k members depth = k; in any
// full tree depth <= ceil(log2 N).
func FullTreeCommit(s Suite, p Profile, depth int, private bool) int {
	cts := make([]int, depth)
	for i := range cts {
		cts[i] = 1
	}
	body := Commit(0, UpdatePath(s, p, cts))
	if private {
		return PrivateMessage(s, p, CommitMsg, body)
	}
	return PublicMessage(s, p, CommitMsg, body)
}

// FullTreeCommitCost returns a and b with FullTreeCommit(depth) = a +
// b·depth: b is one UpdatePathNode with one ciphertext, a the rest of the
// message (the committer's LeafNode, the framing, signature, tags). The
// formula is exact for 1 <= depth <= maxDepth, the depths for which no
// varint length prefix changes width (nodes<V> reaches 2^14 bytes at
// depth >= 2^14/b; padding of a PrivateMessage breaks it); depth 0 (a
// one-member group) has an empty parent_hash and is not on the line.
func FullTreeCommitCost(s Suite, p Profile, private bool) (a, b, maxDepth int) {
	b = FullTreeCommit(s, p, 2, private) - FullTreeCommit(s, p, 1, private)
	a = FullTreeCommit(s, p, 1, private) - b
	for d := 1; d <= 64 && FullTreeCommit(s, p, d, private) == a+b*d; d++ {
		maxDepth = d
	}
	return a, b, maxDepth
}
