package vectors

// Messages is one case of messages.json (test-vectors.md, "Messages"): the
// encodings of every MLS message and struct, to be decoded and re-encoded.
// The conformance runner and the core codec tests and fuzz seeds share it.
type Messages struct {
	MLSWelcome    Hex `json:"mls_welcome"`
	MLSGroupInfo  Hex `json:"mls_group_info"`
	MLSKeyPackage Hex `json:"mls_key_package"`

	RatchetTree  Hex `json:"ratchet_tree"`
	GroupSecrets Hex `json:"group_secrets"`

	AddProposal                    Hex `json:"add_proposal"`
	UpdateProposal                 Hex `json:"update_proposal"`
	RemoveProposal                 Hex `json:"remove_proposal"`
	PreSharedKeyProposal           Hex `json:"pre_shared_key_proposal"`
	ReInitProposal                 Hex `json:"re_init_proposal"`
	ExternalInitProposal           Hex `json:"external_init_proposal"`
	GroupContextExtensionsProposal Hex `json:"group_context_extensions_proposal"`

	Commit Hex `json:"commit"`

	PublicMessageApplication Hex `json:"public_message_application"`
	PublicMessageProposal    Hex `json:"public_message_proposal"`
	PublicMessageCommit      Hex `json:"public_message_commit"`
	PrivateMessage           Hex `json:"private_message"`
}

// Deserialization is one case of deserialization.json (test-vectors.md,
// "Vector Deserialization"): a variable-length vector header and the length
// it encodes. The conformance runner and the codec fuzz seeds share it.
type Deserialization struct {
	Header Hex    `json:"vlbytes_header"`
	Length uint64 `json:"length"`
}
