package core

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
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

// bigDefaultRequiredCapabilities is a required_capabilities extension of
// nearly DefaultMaxExtensionSize: one default extension type repeated
// ~2^19 times. Every member supports it and no KeyPackage has to list it,
// so a GroupContextExtensions proposal setting it is accepted.
func bigDefaultRequiredCapabilities(t *testing.T) Extension {
	t.Helper()
	rc := &RequiredCapabilities{ExtensionTypes: make([]ExtensionType, (DefaultMaxExtensionSize-16)/2)}
	for i := range rc.ExtensionTypes {
		rc.ExtensionTypes[i] = ExtensionApplicationID // a default type
	}
	ext, err := RequiredCapabilitiesExtension(rc)
	if err != nil {
		t.Fatal(err)
	}
	return ext
}

// TestSecurityRequiredCapabilitiesOncePerCommit: a GroupContextExtensions
// proposal can make required_capabilities 1 MiB of one default extension
// type repeated ~2^19 times (every member supports it, no KeyPackage has
// to list it). Decoded and walked once per Add, it cost each receiver
// 1 MiB and a 2^19 loop per Add (8.6 ms and 2 MiB per Add measured: half
// an hour for the ~220 000 Adds of a 64 MiB commit). Now decoded once per
// proposal list, reduced to its distinct non-default types: the Adds cost
// what they cost without the extension.
func TestSecurityRequiredCapabilitiesOncePerCommit(t *testing.T) {
	const k = 128
	kps := benchKPs(t, k, 31)
	g := benchGroups(t, fullTree(t, 1, 4), 0)[0]
	ext := bigDefaultRequiredCapabilities(t)
	self := Sender{Type: SenderTypeMember, Index: 0}
	run := func(gce bool, adds int) uint64 {
		var entries []proposalEntry
		if gce {
			entries = append(entries, proposalEntry{p: &Proposal{Body: &GroupContextExtensions{Extensions: Extensions{ext}}}, sender: self})
		}
		for i := range adds {
			entries = append(entries, proposalEntry{p: &Proposal{Body: &Add{KeyPackage: *kps[i].KeyPackage}}, sender: self})
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := applyProposals(g.pub, entries, self, g.cfg)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		return after.TotalAlloc - before.TotalAlloc
	}
	adds, gceOnly, both := run(false, k), run(true, 0), run(true, k)
	t.Logf("%d Adds: %d KiB; the extension alone: %d KiB; both: %d KiB", k, adds>>10, gceOnly>>10, both>>10)
	if extra := int64(both) - int64(gceOnly) - int64(adds); extra > int64(adds)/2 {
		t.Fatalf("%d Adds allocate %d KiB alone, %d KiB more with a 1 MiB required_capabilities: it is decoded per Add", k, adds>>10, extra>>10)
	}
}

// TestRequiredCapabilitiesReduced: requiredCapabilities keeps each type
// once, in first-occurrence order, and drops default extension and
// proposal types (never credential types), so the first type a leaf lacks
// is the one the full list would have reported.
func TestRequiredCapabilitiesReduced(t *testing.T) {
	rc := &RequiredCapabilities{
		ExtensionTypes:  []ExtensionType{ExtensionApplicationID, 0xff01, ExtensionRatchetTree, 0xff00, 0xff01, ExtensionApplicationID},
		ProposalTypes:   []ProposalType{ProposalTypeAdd, 0xfe00, 0xfe00, ProposalTypeRemove},
		CredentialTypes: []CredentialType{CredentialX509, CredentialBasic, CredentialX509},
	}
	ext, err := RequiredCapabilitiesExtension(rc)
	if err != nil {
		t.Fatal(err)
	}
	got, err := requiredCapabilities(Extensions{ext})
	if err != nil {
		t.Fatal(err)
	}
	want := &RequiredCapabilities{
		ExtensionTypes:  []ExtensionType{0xff01, 0xff00},
		ProposalTypes:   []ProposalType{0xfe00},
		CredentialTypes: []CredentialType{CredentialX509, CredentialBasic},
	}
	if !slices.Equal(got.ExtensionTypes, want.ExtensionTypes) || !slices.Equal(got.ProposalTypes, want.ProposalTypes) || !slices.Equal(got.CredentialTypes, want.CredentialTypes) {
		t.Fatalf("reduced to %+v, want %+v", got, want)
	}
	// A second reduction starts from a clean scratch set.
	if again, _ := requiredCapabilities(Extensions{ext}); !slices.Equal(again.ExtensionTypes, want.ExtensionTypes) {
		t.Fatalf("second decoding %v", again.ExtensionTypes)
	}
}

// TestSecurityRequiredCapabilitiesOncePerEpoch: after a commit sets a 1 MiB
// required_capabilities (one default type ~2^19 times), every Add or
// Update proposal message, and every commit's path leaf, is checked
// against it. Decoded per message, each 400-octet proposal cost every
// receiver 2 MiB; it is decoded once per epoch (PublicGroup.required,
// shared by the messages of the epoch). Measured against the same group
// with the epoch's cache removed (decoding per message).
func TestSecurityRequiredCapabilitiesOncePerEpoch(t *testing.T) {
	cs := suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	alice, bob := twoMembers(t, &Config{Rand: seededReader(11)}, &Config{Rand: seededReader(12)})
	ext := bigDefaultRequiredCapabilities(t)
	pc, err := alice.Commit(CommitOptions{Proposals: []ProposalBody{&GroupContextExtensions{Extensions: Extensions{ext}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Process(pc.Commit); err != nil {
		t.Fatal(err)
	}
	if err := alice.Merge(pc); err != nil {
		t.Fatal(err)
	}
	const k = 6
	var msgs []*MLSMessage
	for i := range 2 * k {
		kp := newKP(t, newTestConfig(uint64(100+i)), cs, fmt.Sprintf("joiner-%d", i))
		m, err := alice.Propose(&Add{KeyPackage: *kp.KeyPackage}, nil)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, wireRoundTrip(t, m))
	}
	perMessage := func(msgs []*MLSMessage) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for _, m := range msgs {
			if _, err := bob.Process(m); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		return (after.TotalAlloc - before.TotalAlloc) / uint64(len(msgs))
	}
	if _, err := bob.Process(msgs[0]); err != nil { // decodes the epoch's once
		t.Fatal(err)
	}
	cached := perMessage(msgs[1:k])
	bob.pub.required = nil // as if every message decoded it
	uncached := perMessage(msgs[k:])
	t.Logf("an Add proposal message: %d KiB with the epoch's decoding, %d KiB decoding per message", cached>>10, uncached>>10)
	if cached+1<<20 > uncached {
		t.Fatalf("an Add proposal message allocates %d KiB, %d KiB when it decodes required_capabilities itself: the epoch's decoding is not used", cached>>10, uncached>>10)
	}
}
