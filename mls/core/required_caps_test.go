package core

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

// TestRequiredCapabilitiesFollowGCE (from the review of af1002a): the
// required_capabilities a proposal list is checked against are those it
// puts in force, decoded once per list or per epoch. A GroupContextExtensions proposal that adds
// a requirement applies to the Adds of the same commit (error names the Add
// index and the new requirement); one that drops a requirement frees them;
// without a GCE the current requirement applies. Committer (Commit),
// receiver (Process) and delivery service (ApplyCommit) agree.
func TestRequiredCapabilitiesFollowGCE(t *testing.T) {
	cs := suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	need := func(ct CredentialType) Extension {
		ext, err := RequiredCapabilitiesExtension(&RequiredCapabilities{
			ExtensionTypes:  []ExtensionType{ExtensionApplicationID, ExtensionApplicationID},
			CredentialTypes: []CredentialType{CredentialBasic, ct, CredentialBasic, ct},
		})
		if err != nil {
			t.Fatal(err)
		}
		return ext
	}
	basicOnly := func(name string, seed uint64) *KeyPackageBundle {
		caps := DefaultCapabilities(CipherSuite(cs))
		caps.Credentials = []CredentialType{CredentialBasic}
		kp, err := NewKeyPackage(newTestConfig(seed), CipherSuite(cs), NewBasicCredential([]byte(name)), &KeyPackageOptions{Capabilities: &caps})
		if err != nil {
			t.Fatal(err)
		}
		return kp
	}
	wantErr := func(err error, sub string) {
		t.Helper()
		if err == nil || !errors.Is(err, ErrInvalidLeafNode) || !strings.Contains(err.Error(), sub) {
			t.Fatalf("got %v, want ErrInvalidLeafNode containing %q", err, sub)
		}
	}
	filler := func(i int) ProposalBody {
		return &Add{KeyPackage: *newKP(t, newTestConfig(uint64(300+i)), cs, fmt.Sprintf("ok-%d", i)).KeyPackage}
	}

	// 1. No requirement in force; GCE adds x509, Adds after it lack it.
	alice, bob := twoMembers(t, &Config{Rand: seededReader(31)}, &Config{Rand: seededReader(32)})
	var props []ProposalBody
	props = append(props, &GroupContextExtensions{Extensions: Extensions{need(CredentialX509)}})
	for i := range 20 { // past scanLimit, so the Add loop runs long
		props = append(props, filler(i))
	}
	props = append(props, &Add{KeyPackage: *basicOnly("carol", 40).KeyPackage})
	_, err := alice.Commit(CommitOptions{Proposals: props})
	wantErr(err, "Add proposal 20: ")
	wantErr(err, "required credential x509 not supported")

	// 2. x509 required in force; a GCE dropping it admits carol in the
	// same commit, at the committer, the receiver and the DS.
	commitAndMerge(t, alice, CommitOptions{Proposals: []ProposalBody{&GroupContextExtensions{Extensions: Extensions{need(CredentialX509)}}}})
	alice, bob = twoMembers(t, &Config{Rand: seededReader(31)}, &Config{Rand: seededReader(32)})
	pc := commitAndMerge(t, alice, CommitOptions{Proposals: []ProposalBody{&GroupContextExtensions{Extensions: Extensions{need(CredentialX509)}}}})
	if _, err := bob.Process(wireRoundTrip(t, pc.Commit)); err != nil {
		t.Fatal(err)
	}
	carol := basicOnly("carol", 41)
	_, err = alice.Commit(CommitOptions{Proposals: []ProposalBody{&Add{KeyPackage: *carol.KeyPackage}}})
	wantErr(err, "required credential x509 not supported")
	drop := CommitOptions{Proposals: []ProposalBody{&Add{KeyPackage: *carol.KeyPackage}, &GroupContextExtensions{Extensions: Extensions{}}}}
	pc, err = alice.Commit(drop)
	if err != nil {
		t.Fatalf("GCE dropping the requirement, Add before it in the list: %v", err)
	}
	if _, err := bob.Public().ApplyCommit(pc.Commit, nil, nil); err != nil {
		t.Fatalf("DS: %v", err)
	}
	if _, err := bob.Process(wireRoundTrip(t, pc.Commit)); err != nil {
		t.Fatalf("receiver: %v", err)
	}
}
