package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/mlslab/mlslab/sim"
	"go.yaml.in/yaml/v3"
)

// Sharding a sweep over machines (deploy/slurm/README.md, deploy/k8s/README.md):
// the cluster engine (Slurm job arrays, Kubernetes Indexed Jobs) starts one
// `mlssim sweep --shard I/N` per index; `mlssim merge` combines the shards.
// Runs are dealt round-robin (run index mod N), so shards get similar mixes
// of the grid.
//
// A shard writes three files into the sweep directory:
//
//	sweep-shard-I-of-N.csv          its rows, in run order (complete runs only)
//	sweep-shard-I-of-N.json         sweepMeta: scenario hash, grid, seeds, build
//	sweep-shard-I-of-N.status.json  shardStatus: every cell's state, rewritten
//	                                atomically as cells start and finish
//
// merge checks that every shard's metadata agrees (same scenario hash, grid,
// seeds and mlslab build) and that every cell of the grid appears exactly
// once; status reads the status files.

type shard struct{ i, n int } // n == 0: no sharding

// parseShard reads "I/N" or "env/N". With env, I is SLURM_ARRAY_TASK_ID
// (a Slurm job array submitted as --array=0-(N-1); re-running one shard is
// --array=I, so the task ID is the shard index itself) or, outside Slurm,
// JOB_COMPLETION_INDEX (a Kubernetes Indexed Job).
func parseShard(v string, getenv func(string) string) (shard, error) {
	if v == "" {
		return shard{}, nil
	}
	is, ns, ok := strings.Cut(v, "/")
	if !ok {
		return shard{}, fmt.Errorf("%q: want I/N", v)
	}
	n, err := strconv.Atoi(ns)
	if err != nil || n < 1 {
		return shard{}, fmt.Errorf("%q: N must be a positive integer", v)
	}
	if is == "env" {
		switch {
		case getenv("SLURM_ARRAY_TASK_ID") != "":
			is = getenv("SLURM_ARRAY_TASK_ID")
		case getenv("JOB_COMPLETION_INDEX") != "":
			is = getenv("JOB_COMPLETION_INDEX")
		default:
			return shard{}, errors.New("env: neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set")
		}
		i, err := strconv.Atoi(is)
		if err != nil || i < 0 || i >= n {
			return shard{}, fmt.Errorf("%q: the array index %q is not a shard index in [0, %d) (submit the array as --array=0-%d)", v, is, n, n-1)
		}
		return shard{i, n}, nil
	}
	i, err := strconv.Atoi(is)
	if err != nil || i < 0 || i >= n {
		return shard{}, fmt.Errorf("%q: I must be in [0, %d)", v, n)
	}
	return shard{i, n}, nil
}

func (s shard) pick(runs []sweepRun) []sweepRun {
	if s.n == 0 {
		return runs
	}
	var out []sweepRun
	for _, r := range runs {
		if r.idx%s.n == s.i {
			out = append(out, r)
		}
	}
	return out
}

func (s shard) String() string { return fmt.Sprintf("%d/%d", s.i, s.n) }

// base is the shard's file name without extension.
func (s shard) base() string {
	if s.n == 0 {
		return "sweep"
	}
	return fmt.Sprintf("sweep-shard-%d-of-%d", s.i, s.n)
}

func (s shard) csvName() string    { return s.base() + ".csv" }
func (s shard) metaName() string   { return s.base() + ".json" }
func (s shard) statusName() string { return s.base() + ".status.json" }

// sweepMeta is DIR/sweep.json (or a shard's sweep-shard-I-of-N.json): what
// sweep.csv does not record. The fields above Shard identify the sweep:
// shards may be merged only when they agree on all of them.
type sweepMeta struct {
	Scenario string `json:"scenario"`
	File     string `json:"file"`
	// ScenarioHash is the SHA-256 of the scenario after every --set, as
	// canonical YAML, before the grid and seed are applied.
	ScenarioHash string              `json:"scenario_hash"`
	Fidelity     string              `json:"fidelity"`
	FirstSeed    uint64              `json:"first_seed"`
	Seeds        int                 `json:"seeds"`
	Grid         map[string][]string `json:"grid"`
	GridKeys     []string            `json:"grid_keys"` // the --grid order (run order: first key slowest)
	Runs         int                 `json:"runs"`
	Version      string              `json:"mlslab_version"`
	Commit       string              `json:"mlslab_commit"`
	Modified     bool                `json:"mlslab_modified"`
	GoVersion    string              `json:"go_version"`
	// Binary is the SHA-256 of the mlssim executable, recorded when the
	// build has no clean VCS commit (go build -buildvcs=false, a modified
	// tree): then it is what tells two builds apart.
	Binary string `json:"mlslab_binary_sha256,omitempty"`
	Shard  string `json:"shard,omitempty"`
}

func newSweepMeta(file string, base *sim.Scenario, grid gridFlag, seeds, runs int) sweepMeta {
	version, commit, modified := sim.Version()
	grids := map[string][]string{}
	for i, k := range grid.keys {
		grids[k] = grid.vals[i]
	}
	return sweepMeta{
		Scenario: base.Name, File: file, ScenarioHash: scenarioHash(base), Fidelity: base.Fidelity,
		FirstSeed: base.Seed, Seeds: seeds, Grid: grids, GridKeys: append([]string{}, grid.keys...), Runs: runs,
		Version: version, Commit: commit, Modified: modified, GoVersion: runtime.Version(),
		Binary: binaryHash(commit, modified),
	}
}

var binaryHashOnce = sync.OnceValue(func() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	f, err := os.Open(exe)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
})

func binaryHash(commit string, modified bool) string {
	if commit != "" && !modified {
		return ""
	}
	return binaryHashOnce()
}

func scenarioHash(sc *sim.Scenario) string {
	b, err := yaml.Marshal(sc)
	if err != nil {
		b = fmt.Appendf(nil, "%#v", *sc)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// build is the mlslab build that wrote the metadata, as one string; short
// abbreviates the binary hash (for display).
func (m sweepMeta) build() string { return m.buildString(false) }

func (m sweepMeta) buildString(short bool) string {
	s := m.Version
	if m.Commit != "" {
		s += " commit " + m.Commit
	}
	if m.Modified {
		s += " (modified)"
	}
	s += " " + m.GoVersion
	if m.Binary != "" {
		h := m.Binary
		if short && len(h) > 12 {
			h = h[:12]
		}
		s += " binary sha256 " + h
	}
	return s
}

// mismatch names the first identifying field on which m and o differ.
func (m sweepMeta) mismatch(o sweepMeta) (what, a, b string) {
	gridOf := func(x sweepMeta) string {
		var parts []string
		for _, k := range x.GridKeys {
			parts = append(parts, k+"="+strings.Join(x.Grid[k], ","))
		}
		return strings.Join(parts, " ")
	}
	switch {
	case m.build() != o.build():
		return "mlslab build", m.build(), o.build()
	case m.Scenario != o.Scenario || m.ScenarioHash != o.ScenarioHash:
		return "scenario", m.Scenario + " " + m.ScenarioHash, o.Scenario + " " + o.ScenarioHash
	case m.Fidelity != o.Fidelity:
		return "fidelity", m.Fidelity, o.Fidelity
	case gridOf(m) != gridOf(o):
		return "grid", gridOf(m), gridOf(o)
	case m.FirstSeed != o.FirstSeed || m.Seeds != o.Seeds || m.Runs != o.Runs:
		return "seed set", fmt.Sprintf("%d seeds from %d, %d runs", m.Seeds, m.FirstSeed, m.Runs),
			fmt.Sprintf("%d seeds from %d, %d runs", o.Seeds, o.FirstSeed, o.Runs)
	}
	return "", "", ""
}

// cellKey is run idx's grid assignment and seed, "key=value ... seed=S":
// runs enumerate the grid with the first --grid key slowest and the seeds
// fastest.
func (m sweepMeta) cellKey(idx int) string {
	seeds := max(m.Seeds, 1)
	c, k := idx/seeds, idx%seeds
	vals := make([]string, len(m.GridKeys))
	for i := len(m.GridKeys) - 1; i >= 0; i-- {
		vs := m.Grid[m.GridKeys[i]]
		if len(vs) == 0 {
			continue
		}
		vals[i] = m.GridKeys[i] + "=" + vs[c%len(vs)]
		c /= len(vs)
	}
	return strings.TrimSpace(strings.Join(vals, " ") + " seed=" + strconv.FormatUint(m.FirstSeed+uint64(k), 10))
}

func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func init() {
	register(command{name: "merge", summary: "combine the shards of a sweep (sweep --shard I/N) into DIR/sweep.csv", run: mergeMain})
}

const mergeUsage = `usage: mlssim merge DIR

Combines DIR/sweep-shard-I-of-N.csv (written by 'mlssim sweep --shard I/N')
into DIR/sweep.csv in run order, byte-identical to an unsharded sweep.

Refuses, writing nothing, with exit status 2 when
  - a cell of the grid is missing (its shard failed, was cancelled or never
    ran) or appears twice; each is listed by run number and grid key
    (key=value ... seed=S) with the shard that owns it: re-run only those
    shards (e.g. sbatch --array=I) and merge again;
  - the shards disagree on the mlslab build, the scenario (its hash after
    --set), the fidelity, the grid or the seeds.
Exit status 1: an I/O error or a malformed shard file.

Example:
  mlssim sweep workloads/collisions.yaml --seeds 3 --grid network.latency.median=50ms,1s --shard 0/2 --out /tmp/s
  mlssim sweep workloads/collisions.yaml --seeds 3 --grid network.latency.median=50ms,1s --shard 1/2 --out /tmp/s
  mlssim merge /tmp/s
`

var (
	shardFile       = regexp.MustCompile(`^sweep-shard-(\d+)-of-(\d+)\.csv$`)
	shardMetaFile   = regexp.MustCompile(`^sweep-shard-(\d+)-of-(\d+)\.json$`)
	shardStatusFile = regexp.MustCompile(`^sweep-shard-(\d+)-of-(\d+)\.status\.json$`)
)

// shardRefusal is a merge refused because the shards are not one complete,
// consistent sweep (exit status 2).
type shardRefusal struct{ msg string }

func (e *shardRefusal) Error() string { return e.msg }

func mergeMain(args []string) int {
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, mergeUsage)
		return 0
	}
	if err != nil || len(pos) != 1 {
		fmt.Fprintln(stderr, "mlssim merge: want exactly one DIR (see mlssim merge --help)")
		return 2
	}
	if err := mergeShards(pos[0]); err != nil {
		fmt.Fprintf(stderr, "mlssim merge: %v\n", err)
		var r *shardRefusal
		if errors.As(err, &r) {
			return 2
		}
		return 1
	}
	fmt.Fprintf(stderr, "merged -> %s\n", filepath.Join(pos[0], "sweep.csv"))
	return 0
}

// shardSet is what a sweep directory holds: every shard's metadata, keyed by
// shard, with the metadata they all agree on.
type shardSet struct {
	meta   sweepMeta // shared by every shard (Shard cleared)
	shards []shard   // sorted by n, then i
	metas  map[shard]sweepMeta
}

// errNoShards: a directory holds no shard metadata (no shard has started).
var errNoShards = errors.New("no sweep-shard-I-of-N.json files (written by mlssim sweep --shard I/N when it starts)")

// loadShardSet reads and cross-checks every sweep-shard-I-of-N.json of dir.
func loadShardSet(dir string) (*shardSet, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	set := &shardSet{metas: map[shard]sweepMeta{}}
	var first string
	for _, e := range entries {
		m := shardMetaFile.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		i, _ := strconv.Atoi(m[1])
		n, _ := strconv.Atoi(m[2])
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		var meta sweepMeta
		if err := json.Unmarshal(b, &meta); err != nil {
			return nil, fmt.Errorf("%s: %v", e.Name(), err)
		}
		if meta.Shard != (shard{i, n}).String() {
			return nil, fmt.Errorf("%s: records shard %q", e.Name(), meta.Shard)
		}
		meta.Shard = ""
		if first == "" {
			first, set.meta = e.Name(), meta
		} else if what, a, b := set.meta.mismatch(meta); what != "" {
			return nil, &shardRefusal{fmt.Sprintf("%s and %s are from different sweeps: the %s differs\n  %s: %s\n  %s: %s\n"+
				"merge only shards of one sweep run by one mlslab build: re-run the odd shards with the same binary, scenario, grid and seeds",
				first, e.Name(), what, first, a, e.Name(), b)}
		}
		sh := shard{i, n}
		set.shards = append(set.shards, sh)
		set.metas[sh] = meta
	}
	if len(set.shards) == 0 {
		return nil, fmt.Errorf("%s: %w", dir, errNoShards)
	}
	sort.Slice(set.shards, func(a, b int) bool {
		x, y := set.shards[a], set.shards[b]
		return x.n < y.n || x.n == y.n && x.i < y.i
	})
	return set, nil
}

// owners names the shards (of every N present) that own run idx.
func (s *shardSet) owners(idx int) string {
	var ns []int
	for _, sh := range s.shards {
		if !slices.Contains(ns, sh.n) {
			ns = append(ns, sh.n)
		}
	}
	var out []string
	for _, n := range ns {
		out = append(out, shard{idx % n, n}.String())
	}
	return strings.Join(out, " or ")
}

// mergeShards reads every shard of dir and writes dir/sweep.csv.
func mergeShards(dir string) error {
	set, err := loadShardSet(dir)
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var header, headerFile string
	byRun := map[int][]string{} // run index -> its rows, in order
	occ := map[int][]string{}   // run index -> the file of each block of rows for it
	for _, e := range entries {
		m := shardFile.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		i, _ := strconv.Atoi(m[1])
		n, _ := strconv.Atoi(m[2])
		sh := shard{i, n}
		if _, ok := set.metas[sh]; !ok {
			return &shardRefusal{fmt.Sprintf("%s has no %s: cannot tell which sweep it belongs to; re-run shard %s", e.Name(), sh.metaName(), sh)}
		}
		path := filepath.Join(dir, e.Name())
		h, rows, err := readShard(path)
		if err != nil {
			return err
		}
		if header == "" {
			header, headerFile = h, e.Name()
		} else if h != header {
			return &shardRefusal{fmt.Sprintf("%s: header differs from %s's", e.Name(), headerFile)}
		}
		prev := -1
		for _, row := range rows {
			fields := strings.SplitN(row, ",", 3)
			if len(fields) < 3 {
				return fmt.Errorf("%s: malformed row %q", path, row)
			}
			run, err := strconv.Atoi(fields[1])
			if err != nil || run < 0 || run >= set.meta.Runs || run%n != i {
				return fmt.Errorf("%s: row for run %q does not belong to shard %s of a %d-run sweep", path, fields[1], sh, set.meta.Runs)
			}
			if run != prev {
				occ[run] = append(occ[run], e.Name())
				prev = run
			}
			if len(occ[run]) == 1 {
				byRun[run] = append(byRun[run], row)
			}
		}
	}
	dups := map[int][]string{}
	for r, files := range occ {
		if len(files) > 1 {
			dups[r] = files
		}
	}
	var missing []int
	for r := range set.meta.Runs {
		if _, ok := occ[r]; !ok {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 || len(dups) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "%s: %d of %d cells missing, %d duplicated; nothing written", dir, len(missing), set.meta.Runs, len(dups))
		failed := failedCells(dir, set)
		for _, r := range missing {
			fmt.Fprintf(&b, "\n  missing    run %d  %s  (shard %s)", r, set.meta.cellKey(r), set.owners(r))
			if why := failed[r]; why != "" {
				fmt.Fprintf(&b, ": %s", why)
			}
		}
		var ds []int
		for r := range dups {
			ds = append(ds, r)
		}
		sort.Ints(ds)
		for _, r := range ds {
			fmt.Fprintf(&b, "\n  duplicate  run %d  %s  (in %s)", r, set.meta.cellKey(r), strings.Join(dups[r], " and "))
		}
		if len(missing) > 0 {
			fmt.Fprintf(&b, "\nre-run only the shards named above and merge again")
		}
		if len(ds) > 0 {
			fmt.Fprintf(&b, "\nremove the shard files of the sharding you abandoned and merge again")
		}
		return &shardRefusal{b.String()}
	}
	runs := make([]int, 0, len(byRun))
	for r := range byRun {
		runs = append(runs, r)
	}
	sort.Ints(runs)
	tmp := filepath.Join(dir, "sweep.csv.tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, header)
	for _, r := range runs {
		for _, row := range byRun[r] {
			fmt.Fprintln(w, row)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, "sweep.csv")); err != nil {
		return err
	}
	// The sweep's metadata: what the shards agree on, without the shard field.
	return writeJSONAtomic(filepath.Join(dir, "sweep.json"), set.meta)
}

// failedCells maps run index to the error a shard's status file recorded
// for it.
func failedCells(dir string, set *shardSet) map[int]string {
	out := map[int]string{}
	for _, sh := range set.shards {
		st, err := readShardStatus(filepath.Join(dir, sh.statusName()))
		if err != nil {
			continue
		}
		for _, c := range st.Cells {
			if c.State == cellFailed {
				out[c.Run] = "failed: " + c.Error
			}
		}
	}
	return out
}

func readShard(path string) (string, []string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) == 0 || lines[0] == "" {
		return "", nil, fmt.Errorf("%s: empty", path)
	}
	return lines[0], lines[1:], nil
}
