package sim

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const opsYAML = baseYAML + `operations:
  count: 200
  interval: 10s
  mix: {add: 0.1, remove: 0.1, update: 0.8}
`

func TestOperationsErrors(t *testing.T) {
	ops := "duration: 1h\noperations:\n  count: 10\n  interval: 10s\n  mix: {add: 0.1, remove: 0.1, update: 0.8}\n"
	cases := []struct {
		name, yaml string
		sets       []string
		field      string
		reason     string
	}{
		{"fields without count", "operations:\n  interval: 10s\n", nil, "operations.count", "needs a positive count"},
		{"negative count", ops, []string{"operations.count=-1"}, "operations.count", "negative"},
		{"no interval", ops, []string{"operations.interval=0s"}, "operations.interval", "positive"},
		{"past the end", ops, []string{"operations.count=360"}, "operations.count", "not before the duration"},
		{"fill past the end", ops, []string{"operations.count=350", "operations.fill=true", "population.initial_users=20"}, "operations.count", "fill updates"},
		{"mix sum", ops, []string{"operations.mix.update=0.7"}, "operations.mix", "must be 1"},
		{"mix negative", ops, []string{"operations.mix.add=-0.1", "operations.mix.update=1"}, "operations.mix.add", "probability"},
		{"issuer law", ops, []string{"operations.issuer=pareto"}, "operations.issuer", "unknown issuer law"},
		{"zipf exponent without zipf", ops, []string{"operations.zipf_exponent=2"}, "operations.zipf_exponent", "needs operations.issuer zipf"},
		{"zipf exponent range", ops, []string{"operations.issuer=zipf", "operations.zipf_exponent=-1"}, "operations.zipf_exponent", "must be in"},
		{"issuer order", ops, []string{"operations.issuer_order=alphabetical"}, "operations.issuer_order", "want join or random"},
		{"commit mode", ops, []string{"operations.commit=later"}, "operations.commit", "want issuer or proposal"},
		{"proposal designated", ops, []string{"operations.commit=proposal", "policy.committer=designated"}, "operations.commit", "proposer or random"},
		{"devices", ops, []string{"group.devices_per_user=2"}, "operations.count", "devices_per_user 1"},
		{"groups", ops, []string{"groups.count=2", "groups.shared_clients=1", "population.initial_users=4"}, "operations.count", "single-group"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if se := scenarioError(t, c.yaml, c.sets); se.Field != c.field || !strings.Contains(se.Reason, c.reason) {
				t.Fatalf("got %q (field %q), want field %q reason ~%q", se.Error(), se.Field, c.field, c.reason)
			}
		})
	}
	if _, err := ParseScenario("ok.yaml", []byte(ops), nil); err != nil {
		t.Fatalf("valid operations section: %v", err)
	}
}

// runOps runs opsYAML with overrides and returns the summary and epochs.csv.
func runOps(t *testing.T, sets ...string) (*Summary, []map[string]string) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(file, []byte(opsYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	sets = append([]string{"duration=1h", "network.latency.value=10ms"}, sets...)
	sum := runScenario(t, file, dir, sets...)
	return sum, readCSV(t, filepath.Join(dir, "epochs.csv"))
}

// TestOperationsWorkload: every operation is committed at once, alone:
// by its issuer (an add without a path, a remove or an update with one);
// the operations drawn do not depend on the commit mode (their own
// stream); the per-operation HPKE count is the epochs' path ciphertexts
// plus adds over the operations.
func TestOperationsWorkload(t *testing.T) {
	sum, rows := runOps(t)
	m := sum.Metrics
	if n := m.OpsAdd + m.OpsRemove + m.OpsUpdate; n != 200 || m.OpsSkipped != 0 || m.OpsAdd == 0 || m.OpsRemove == 0 {
		t.Fatalf("operations %d add %d remove %d update %d skipped, want 200 with adds and removes",
			m.OpsAdd, m.OpsRemove, m.OpsUpdate, m.OpsSkipped)
	}
	if len(rows) != 202 || m.Collisions != 0 {
		t.Fatalf("%d commits, %d collisions; want the founding commit + one per operation", len(rows)-1, m.Collisions)
	}
	var enc float64
	kinds := map[string]int64{}
	for _, r := range rows[2:] { // rows[0] is nil, rows[1] the founding commit
		switch {
		case r["adds"] == "1" && r["removes"] == "0" && r["path"] == "0":
			kinds["add"]++
		case r["removes"] == "1" && r["adds"] == "0" && r["path"] == "1":
			kinds["remove"]++
		case r["adds"] == "0" && r["removes"] == "0" && r["updates"] == "0" && r["path"] == "1":
			kinds["update"]++
		default:
			t.Fatalf("epoch %s: not one operation: %v", r["epoch"], r)
		}
		enc += atof(r["path_ciphertexts"]) + atof(r["adds"])
	}
	if kinds["add"] != m.OpsAdd || kinds["remove"] != m.OpsRemove || kinds["update"] != m.OpsUpdate {
		t.Fatalf("commits by kind %v, operations %d/%d/%d", kinds, m.OpsAdd, m.OpsRemove, m.OpsUpdate)
	}
	if math.Abs(enc/200-m.OpsEncPerOp) > 1e-12 || m.OpsStartMembers != 8 || m.OpsStartS != 10 {
		t.Fatalf("encryptions per operation %v (epochs give %v), start %v members at %v s", m.OpsEncPerOp, enc/200, m.OpsStartMembers, m.OpsStartS)
	}
	ps, prows := runOps(t, "operations.commit=proposal")
	pm := ps.Metrics
	if pm.OpsAdd != m.OpsAdd || pm.OpsRemove != m.OpsRemove || pm.OpsUpdate != m.OpsUpdate {
		t.Fatalf("commit proposal drew %d/%d/%d operations, issuer %d/%d/%d: not the same stream",
			pm.OpsAdd, pm.OpsRemove, pm.OpsUpdate, m.OpsAdd, m.OpsRemove, m.OpsUpdate)
	}
	upd := 0
	for _, r := range prows[2:] {
		upd += int(atof(r["updates"]))
	}
	// Fewer commits than operations: a random committer that drew the
	// proposer of the only pending Update cannot commit it by reference
	// (RFC 9420, Section 12.2) and commits nothing; the Update waits for
	// the next operation's commit (about 1 in N updates: 8 members here).
	if upd == 0 || len(prows)-2 < 160 {
		t.Fatalf("commit proposal: %d commits with %d Update proposals committed", len(prows)-2, upd)
	}
}

// TestOperationsFill: with operations.fill every member commits once
// before the counted operations, which then start from a full tree.
func TestOperationsFill(t *testing.T) {
	sum, rows := runOps(t, "operations.fill=true", "population.initial_users=16")
	m := sum.Metrics
	if m.OpsStartS != 170 || m.OpsStartMembers != 16 {
		t.Fatalf("counted operations start at %v s with %d members, want 170 s (16 fill updates first), 16", m.OpsStartS, m.OpsStartMembers)
	}
	last := rows[17] // epoch 17: the 16th fill update (rows[1] is the founding commit)
	if atof(last["time_s"]) > 170 || last["blank_parents"] != "0" || last["unmerged_leaves"] != "0" {
		t.Fatalf("after the fill: %v, want a full tree before 170 s", last)
	}
}

// TestOperationsIssuerLaws: the Fenwick index returns the k-th member by
// id after additions and removals, and the Zipf law draws rank k with
// probability (1/k)/H_n.
func TestOperationsIssuerLaws(t *testing.T) {
	o := testOpState(t, 20, "operations.issuer=zipf")
	o.mark(3, -1)
	o.mark(10, -1)
	o.mark(10, -1) // idempotent
	want := []MemberID{0, 1, 2, 4, 5, 6, 7, 8, 9, 11}
	for k, w := range want {
		if got := o.kth(k + 1); got != w {
			t.Fatalf("rank %d: member %d, want %d", k+1, got, w)
		}
	}
	if o.n != 18 {
		t.Fatalf("%d indexed, want 18", o.n)
	}
	o.mark(500, 1) // beyond the planned capacity: the index grows
	if o.n != 19 || o.kth(19) != 500 || o.kth(18) != 19 {
		t.Fatalf("after growing: %d indexed, ranks 18, 19 = %d, %d", o.n, o.kth(18), o.kth(19))
	}
	o.mark(500, -1)
	const draws = 200000
	count := make([]int, o.n+1)
	for range draws {
		count[o.issuerRank()]++
	}
	h := 0.0
	for k := 1; k <= o.n; k++ {
		h += 1 / float64(k)
	}
	for _, k := range []int{1, 2, 5, 18} {
		p := 1 / float64(k) / h
		got := float64(count[k]) / draws
		if se := math.Sqrt(p * (1 - p) / draws); math.Abs(got-p) > 5*se {
			t.Errorf("zipf rank %d: frequency %.4f, want %.4f", k, got, p)
		}
	}
}

func atof(s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return math.NaN()
	}
	return v
}

// TestOperationsIssuerOrder: with issuer_order random the ranks are a
// permutation of the members: every indexed member has exactly one rank,
// and removing one shifts only the ranks after it.
func TestOperationsIssuerOrder(t *testing.T) {
	o := testOpState(t, 30, "operations.issuer=zipf", "operations.issuer_order=random")
	seen := map[MemberID]int{}
	var order []MemberID
	for k := 1; k <= o.n; k++ {
		m := o.kth(k)
		seen[m]++
		order = append(order, m)
	}
	if len(seen) != 30 {
		t.Fatalf("%d distinct members over 30 ranks", len(seen))
	}
	inOrder := true
	for i := 1; i < len(order); i++ {
		inOrder = inOrder && order[i] > order[i-1]
	}
	if inOrder {
		t.Fatalf("random order is join order: %v", order)
	}
	// Ids beyond the planned capacity (8 + 200 + 1) rank last, in id order.
	o.mark(301, 1)
	o.mark(300, 1)
	if o.kth(31) != 300 || o.kth(32) != 301 || o.kth(30) != order[29] || o.n != 32 {
		t.Fatalf("after growing: ranks 30..32 are %d %d %d, want %d 300 301", o.kth(30), o.kth(31), o.kth(32), order[29])
	}
	o.mark(300, -1)
	o.mark(301, -1)
	o.mark(order[4], -1)
	for k := 1; k <= o.n; k++ {
		want := order[k-1]
		if k > 4 {
			want = order[k]
		}
		if got := o.kth(k); got != want {
			t.Fatalf("after removing rank 5: rank %d is %d, want %d", k, got, want)
		}
	}
}

// testOpState is the operation state of opsYAML with sets, members 0..n−1 indexed.
func testOpState(t *testing.T, n int, sets ...string) *opState {
	t.Helper()
	sc, err := ParseScenario("o.yaml", []byte(opsYAML), sets)
	if err != nil {
		t.Fatal(err)
	}
	o := newOpState(sc)
	for m := range MemberID(n) {
		o.mark(m, 1)
	}
	return o
}

// scenarioError (also used by TestScenarioErrors) parses a scenario file bad.yaml that must be rejected.
func scenarioError(t *testing.T, yaml string, sets []string) *ScenarioError {
	t.Helper()
	_, err := ParseScenario("bad.yaml", []byte(yaml), sets)
	var se *ScenarioError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T), want *ScenarioError", err, err)
	}
	return se
}
