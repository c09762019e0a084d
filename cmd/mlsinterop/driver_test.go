//go:build interop

package main

// The interop driver: it plays the MLS working group's test-runner
// (github.com/mlswg/mls-implementations, interop/test-runner) against two or
// more bin/mlsinterop processes on loopback ports. For every config file
// (interop/configs/*.json), script, cipher suite, handshake mode (public or
// encrypted) and assignment of clients to actors it runs the script's
// actions the way the harness does — including its checks of the epoch
// authenticators handed back by commits and joins — and, after every step,
// also checks that every current member agrees on StateAuth and on an
// Export.
//
// Knobs (environment):
//
//	MLSINTEROP_BIN        the server binary (default ../../bin/mlsinterop; built into a
//	                      temp dir with -tags interop when missing)
//	MLSINTEROP_CONFIGS    the configs folder (default ../../../shared/interop/configs)
//	MLSINTEROP_CLIENTS    number of server processes (default 2)
//	MLSINTEROP_SUITES     comma-separated suites (default 1,2,3,4,5,6,7)
//	MLSINTEROP_COMBOS     "all" for every client-to-actor assignment (scripts with
//	                      more than 10 actors, i.e. deep_random, then get one random
//	                      assignment, as in the harness), "random" for one seeded
//	                      random assignment, or N: the uniform ones, alternating
//	                      ones and N seeded random ones (default 2)
//	MLSINTEROP_DEEP_STEPS steps of deep_random to run (default 400; 0 = all)
//	MLSINTEROP_DEEP_COMBOS assignments for deep_random (default "random": one)
//	MLSINTEROP_DEEP_SUITES suites for deep_random (default 1,2,3,4,6,7: suite 5,
//	                      P-521, takes minutes per 400 steps here)
//	MLSINTEROP_ONLY       run only config files whose name contains this

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/mlslab/mlslab/cmd/mlsinterop/internal/pb"
)

// Config files.

type scriptStep struct {
	Action string `json:"action"`
	Actor  string `json:"actor"`
	raw    json.RawMessage
}

func (s *scriptStep) UnmarshalJSON(b []byte) error {
	type plain scriptStep
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*s = scriptStep(p)
	s.raw = append(json.RawMessage(nil), b...)
	return nil
}

type runConfig struct {
	Scripts map[string][]scriptStep `json:"scripts"`
}

type extensionJSON struct {
	Type uint32 `json:"extension_type"`
	Data []byte `json:"extension_data"`
}

func toPBExtensions(in []extensionJSON) []*pb.Extension {
	out := make([]*pb.Extension, len(in))
	for i, e := range in {
		out[i] = &pb.Extension{ExtensionType: e.Type, ExtensionData: e.Data}
	}
	return out
}

type proposalDescJSON struct {
	ProposalType      string          `json:"proposalType"`
	KeyPackage        int             `json:"keyPackage"`
	Removed           string          `json:"removed"`
	PSKID             int             `json:"pskID"`
	EpochID           uint64          `json:"epochID"`
	Extensions        []extensionJSON `json:"extensions"`
	ChangeGroupID     bool            `json:"changeGroupID"`
	ChangeCipherSuite bool            `json:"changeCipherSuite"`
}

// stepParams is the union of every action's parameters.
type stepParams struct {
	Members     []string           `json:"members"`
	Joiners     []string           `json:"joiners"`
	Joiner      string             `json:"joiner"`
	Clients     []string           `json:"clients"`
	KeyPackage  int                `json:"keyPackage"`
	Removed     string             `json:"removed"`
	PSKID       int                `json:"pskID"`
	EpochID     uint64             `json:"epochID"`
	Extensions  []extensionJSON    `json:"extensions"`
	ByReference []int              `json:"byReference"`
	ByValue     []proposalDescJSON `json:"byValue"`
	// The configs spell these both ways.
	ForcePath     bool `json:"force_path"`
	ForcePathC    bool `json:"forcePath"`
	ExternalTree  bool `json:"external_tree"`
	ExternalTreeC bool `json:"externalTree"`

	RemovePrior bool  `json:"removePrior"`
	PSKs        []int `json:"psks"`

	AuthenticatedData string `json:"authenticatedData"`
	Plaintext         string `json:"plaintext"`
	Ciphertext        int    `json:"ciphertext"`
	Welcome           int    `json:"welcome"`
	Commit            int    `json:"commit"`

	Proposer               string `json:"proposer"`
	Committer              string `json:"committer"`
	Welcomer               string `json:"welcomer"`
	ChangeCipherSuite      bool   `json:"changeCipherSuite"`
	ChangeCiphersuite      bool   `json:"changeCiphersuite"`
	ChangeGroupID          bool   `json:"changeGroupID"`
	ExternalReinitProposal int    `json:"externalReinitProposal"`

	Signer      string           `json:"signer"`
	Member      string           `json:"member"`
	Description proposalDescJSON `json:"description"`
}

func (p *stepParams) forcePath() bool    { return p.ForcePath || p.ForcePathC }
func (p *stepParams) externalTree() bool { return p.ExternalTree || p.ExternalTreeC }

func actorsOf(script []scriptStep) []string {
	set := map[string]bool{}
	for _, st := range script {
		var p stepParams
		_ = json.Unmarshal(st.raw, &p)
		for _, a := range []string{st.Actor, p.Joiner, p.Signer, p.Proposer, p.Committer, p.Welcomer, p.Member} {
			if a != "" {
				set[a] = true
			}
		}
		for _, list := range [][]string{p.Members, p.Joiners, p.Clients} {
			for _, a := range list {
				set[a] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for a := range set {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// Clients.

type client struct {
	name string
	conn *grpc.ClientConn
	rpc  pb.MLSClientClient
}

func rpcCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 120*time.Second)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func envInt(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err == nil {
			return n
		}
	}
	return def
}

func serverBinary(t *testing.T) string {
	if b := os.Getenv("MLSINTEROP_BIN"); b != "" {
		return b
	}
	if b, _ := filepath.Abs("../../bin/mlsinterop"); b != "" {
		if _, err := os.Stat(b); err == nil {
			return b
		}
	}
	b := filepath.Join(t.TempDir(), "mlsinterop")
	out, err := exec.Command("go", "build", "-tags", "interop", "-o", b, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("building the server: %v\n%s", err, out)
	}
	return b
}

// startClients starts n server processes and connects to them.
func startClients(t *testing.T, n int) []*client {
	bin := serverBinary(t)
	var clients []*client
	for i := range n {
		port := freePort(t)
		cmd := exec.Command(bin, "--port", strconv.Itoa(port))
		logf, err := os.Create(filepath.Join(t.TempDir(), fmt.Sprintf("server%d.log", i)))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			logf.Close()
		})
		conn, err := grpc.NewClient(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		c := &client{conn: conn, rpc: pb.NewMLSClientClient(conn)}
		deadline := time.Now().Add(20 * time.Second)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			nr, err := c.rpc.Name(ctx, &pb.NameRequest{})
			cancel()
			if err == nil {
				c.name = fmt.Sprintf("%s#%d", nr.GetName(), i)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("server %d did not come up: %v", i, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		ctx, cancel := rpcCtx()
		sr, err := c.rpc.SupportedCiphersuites(ctx, &pb.SupportedCiphersuitesRequest{})
		cancel()
		if err != nil || len(sr.GetCiphersuites()) == 0 {
			t.Fatalf("SupportedCiphersuites: %v", err)
		}
		clients = append(clients, c)
	}
	return clients
}

// A run of one script with one assignment.

type run struct {
	suite   uint32
	suites  []uint32 // all suites the clients support, for changeCipherSuite
	encrypt bool
	clients map[string]*client
	deep    bool

	stateID  map[string]uint32
	txID     map[string]uint32
	signerID map[string]uint32
	cache    []map[string][]byte
	// active: the actors whose current state is the group's latest epoch.
	active map[string]bool
	exp    int
}

func (r *run) store(i int, key string, v []byte) { r.cache[i][key] = v }

func (r *run) get(i int, key string) ([]byte, error) {
	if i < 0 || i >= len(r.cache) {
		return nil, fmt.Errorf("no step %d", i)
	}
	v, ok := r.cache[i][key]
	if !ok {
		return nil, fmt.Errorf("no %s at step %d", key, i)
	}
	return v, nil
}

func (r *run) c(actor string) *client { return r.clients[actor] }

func (r *run) proposalsAt(idx []int) ([][]byte, error) {
	out := make([][]byte, len(idx))
	for i, ix := range idx {
		var err error
		if out[i], err = r.get(ix, "proposal"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (r *run) newGroupID(change bool) ([]byte, error) {
	g, err := r.get(0, "group_id")
	if err != nil {
		return nil, err
	}
	g = bytes.Clone(g)
	if change {
		g = append(g, "++"...)
	}
	return g, nil
}

func (r *run) changeSuite() error {
	i := slices.Index(r.suites, r.suite)
	for k := 1; k < len(r.suites); k++ {
		if c := r.suites[(i+k)%len(r.suites)]; c != r.suite {
			r.suite = c
			return nil
		}
	}
	return fmt.Errorf("no other cipher suite to change to")
}

func (r *run) descToPB(d proposalDescJSON) (*pb.ProposalDescription, error) {
	out := &pb.ProposalDescription{ProposalType: []byte(d.ProposalType)}
	var err error
	switch d.ProposalType {
	case "add":
		out.KeyPackage, err = r.get(d.KeyPackage, "key_package")
	case "remove":
		out.RemovedId = []byte(d.Removed)
	case "externalPSK":
		out.PskId, err = r.get(d.PSKID, "psk_id")
	case "resumptionPSK":
		out.EpochId = d.EpochID
	case "groupContextExtensions":
		out.Extensions = toPBExtensions(d.Extensions)
	case "reinit":
		out.Extensions = toPBExtensions(d.Extensions)
		if d.ChangeCipherSuite {
			if err = r.changeSuite(); err != nil {
				return nil, err
			}
		}
		out.CipherSuite = r.suite
		out.GroupId, err = r.newGroupID(d.ChangeGroupID)
	default:
		err = fmt.Errorf("unknown proposal type %q", d.ProposalType)
	}
	return out, err
}

func (r *run) setActive(actors ...[]string) {
	r.active = map[string]bool{}
	for _, list := range actors {
		for _, a := range list {
			if a != "" {
				r.active[a] = true
			}
		}
	}
}

func (r *run) checkAgreement(step int) error {
	if len(r.active) < 2 {
		return nil
	}
	r.exp++
	label, context := "mlslab interop", []byte(fmt.Sprintf("step %d", step))
	var refAuth, refExp []byte
	var ref string
	for _, a := range sortedKeys(r.active) {
		ctx, cancel := rpcCtx()
		sa, err := r.c(a).rpc.StateAuth(ctx, &pb.StateAuthRequest{StateId: r.stateID[a]})
		if err != nil {
			cancel()
			return fmt.Errorf("%s StateAuth: %w", a, err)
		}
		ex, err := r.c(a).rpc.Export(ctx, &pb.ExportRequest{StateId: r.stateID[a], Label: label, Context: context, KeyLength: 32})
		cancel()
		if err != nil {
			return fmt.Errorf("%s Export: %w", a, err)
		}
		if ref == "" {
			ref, refAuth, refExp = a, sa.StateAuthSecret, ex.ExportedSecret
			continue
		}
		if !bytes.Equal(sa.StateAuthSecret, refAuth) {
			return fmt.Errorf("StateAuth of %s differs from %s", a, ref)
		}
		if !bytes.Equal(ex.ExportedSecret, refExp) || len(refExp) != 32 {
			return fmt.Errorf("Export of %s differs from %s", a, ref)
		}
	}
	return nil
}

// groupSteps are the actions after which membership or epochs change.
var groupSteps = map[string]bool{"createGroup": true, "fullCommit": true, "externalJoin": true, "reinit": true, "branch": true,
	"handleCommit": true, "handlePendingCommit": true, "joinGroup": true}

func (r *run) execute(script []scriptStep) (failedStep int, err error) {
	r.stateID, r.txID, r.signerID = map[string]uint32{}, map[string]uint32{}, map[string]uint32{}
	r.cache = make([]map[string][]byte, len(script))
	for i := range r.cache {
		r.cache[i] = map[string][]byte{}
	}
	r.active = map[string]bool{}
	defer func() {
		// Release the states, as the harness does; a failing Free fails
		// the run.
		for a, id := range r.stateID {
			ctx, cancel := rpcCtx()
			_, ferr := r.c(a).rpc.Free(ctx, &pb.FreeRequest{StateId: id})
			cancel()
			if ferr != nil && err == nil {
				failedStep, err = len(script), fmt.Errorf("Free(%s): %w", a, ferr)
			}
		}
	}()
	for i, st := range script {
		if err := r.step(i, st); err != nil {
			return i, fmt.Errorf("step %d (%s by %s): %w", i, st.Action, st.Actor, err)
		}
		if st.Action == "createKeyPackage" || (r.deep && !groupSteps[st.Action]) {
			continue
		}
		if err := r.checkAgreement(i); err != nil {
			return i, fmt.Errorf("after step %d (%s): %w", i, st.Action, err)
		}
	}
	return -1, nil
}

// assignments returns client indices per actor.
func assignments(nActors, nClients int, mode string, seed uint64) [][]int {
	total := 1
	for range nActors {
		total *= nClients
		if total > 1<<16 {
			break
		}
	}
	if mode == "all" && total <= 1<<16 {
		out := make([][]int, 0, total)
		for k := range total {
			a := make([]int, nActors)
			for i, x := 0, k; i < nActors; i++ {
				a[i], x = x%nClients, x/nClients
			}
			out = append(out, a)
		}
		return out
	}
	rng := mrand.New(mrand.NewPCG(seed, 0x1D))
	randomAssignment := func() []int {
		a := make([]int, nActors)
		for i := range a {
			a[i] = rng.IntN(nClients)
		}
		return a
	}
	if mode == "random" {
		return [][]int{randomAssignment()}
	}
	nRandom, _ := strconv.Atoi(mode)
	seen := map[string]bool{}
	var out [][]int
	add := func(a []int) {
		k := fmt.Sprint(a)
		if !seen[k] {
			seen[k] = true
			out = append(out, a)
		}
	}
	for c := range nClients {
		a := make([]int, nActors)
		for i := range a {
			a[i] = c
		}
		add(a)
	}
	for shift := range min(nClients, 2) {
		a := make([]int, nActors)
		for i := range a {
			a[i] = (i + shift) % nClients
		}
		add(a)
	}
	for range nRandom {
		add(randomAssignment())
	}
	return out
}

type tally struct {
	mu          sync.Mutex
	pass, fail  map[string]int
	failuresMsg []string
}

func TestInterop(t *testing.T) {
	dir := os.Getenv("MLSINTEROP_CONFIGS")
	if dir == "" {
		dir = "../../../shared/interop/configs"
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) == 0 {
		t.Skipf("no interop configs in %s (set MLSINTEROP_CONFIGS)", dir)
	}
	clients := startClients(t, envInt("MLSINTEROP_CLIENTS", 2))
	suites := parseSuites(t, envOr("MLSINTEROP_SUITES", "1,2,3,4,5,6,7"))
	mode := envOr("MLSINTEROP_COMBOS", "2")
	deepSuites := parseSuites(t, envOr("MLSINTEROP_DEEP_SUITES", "1,2,3,4,6,7"))
	deepSteps := envInt("MLSINTEROP_DEEP_STEPS", 400)
	only := os.Getenv("MLSINTEROP_ONLY")
	allSuites := []uint32{1, 2, 3, 4, 5, 6, 7}

	tl := &tally{pass: map[string]int{}, fail: map[string]int{}}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if only != "" && !strings.Contains(name, only) {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cfg runConfig
		if err := json.Unmarshal(data, &cfg); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		t.Run(name, func(t *testing.T) {
			for _, sname := range sortedScriptNames(cfg.Scripts) {
				script := cfg.Scripts[sname]
				deep := name == "deep_random"
				if deep && deepSteps > 0 && len(script) > deepSteps {
					script = script[:deepSteps]
					t.Logf("%s/%s: running the first %d of %d steps (MLSINTEROP_DEEP_STEPS)", name, sname, deepSteps, len(cfg.Scripts[sname]))
				}
				actors := actorsOf(script)
				m := mode
				if len(actors) > 10 && m == "all" {
					// As the harness does for scripts with more than 10
					// actors: one random assignment.
					m = "random"
				}
				if deep {
					// deep_random is long: one random assignment per suite
					// and handshake mode unless MLSINTEROP_DEEP_COMBOS says
					// otherwise (same values as MLSINTEROP_COMBOS).
					m = envOr("MLSINTEROP_DEEP_COMBOS", "random")
				}
				for _, cs := range suites {
					if deep && !slices.Contains(deepSuites, cs) {
						continue
					}
					for _, enc := range []bool{false, true} {
						sub := fmt.Sprintf("%s/cs=%d/enc=%v", sname, cs, enc)
						t.Run(sub, func(t *testing.T) {
							combos := assignments(len(actors), len(clients), m, uint64(cs)<<1|b2u(enc))
							for _, combo := range combos {
								r := &run{suite: cs, suites: allSuites, encrypt: enc, clients: map[string]*client{}, deep: deep}
								for i, a := range actors {
									r.clients[a] = clients[combo[i]]
								}
								key := fmt.Sprintf("%s cs=%d", name, cs)
								start := time.Now()
								failed, err := r.execute(script)
								tl.mu.Lock()
								if err != nil {
									tl.fail[key]++
								} else {
									tl.pass[key]++
								}
								tl.mu.Unlock()
								if err != nil {
									t.Errorf("assignment %s (actors %v): failed at step %d: %v", comboString(combo), actors, failed, err)
								} else if deep {
									t.Logf("assignment %s: %d steps in %v", comboString(combo), len(script), time.Since(start).Round(time.Millisecond))
								}
							}
						})
					}
				}
			}
		})
	}
	keys := make([]string, 0, len(tl.pass)+len(tl.fail))
	for k := range tl.pass {
		keys = append(keys, k)
	}
	for k := range tl.fail {
		if _, ok := tl.pass[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var sb strings.Builder
	tp, tf := 0, 0
	for _, k := range keys {
		fmt.Fprintf(&sb, "  %-28s %4d passed, %d failed\n", k, tl.pass[k], tl.fail[k])
		tp += tl.pass[k]
		tf += tl.fail[k]
	}
	t.Logf("interop runs (script x handshake mode x client assignment):\n%s  total: %d passed, %d failed", sb.String(), tp, tf)
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func sortedScriptNames(m map[string][]scriptStep) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// comboString prints an assignment compactly: the client index of each
// actor, actors in sorted order.
func comboString(combo []int) string {
	var sb strings.Builder
	for _, c := range combo {
		sb.WriteString(strconv.Itoa(c))
	}
	return sb.String()
}

func parseSuites(t *testing.T, list string) []uint32 {
	var out []uint32
	for _, s := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			t.Fatalf("suite list %q: %v", list, err)
		}
		out = append(out, uint32(n))
	}
	return out
}
