package report

import (
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ErrNoData reports a results file with no data rows, or a figure or table
// whose inputs hold no usable data. Figures never draw a blank image: every
// builder returns an error wrapping ErrNoData or ErrTooFewRows instead.
var ErrNoData = errors.New("no data")

// ErrTooFewRows reports a results file (or a figure's data) with a single
// row: one point draws no line and no distribution.
var ErrTooFewRows = errors.New("only one data row")

// csvFile is a whole CSV results file addressed by column name, so readers
// survive columns being added by newer simulators.
type csvFile struct {
	path   string
	header []string
	idx    map[string]int
	rows   [][]string
}

// openMaybeGz opens path, or path+".gz" when path does not exist (large
// results are committed gzip-compressed), transparently decompressing.
func openMaybeGz(path string) (io.ReadCloser, string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) && !strings.HasSuffix(path, ".gz") {
		if g, gerr := os.Open(path + ".gz"); gerr == nil {
			f, err, path = g, nil, path+".gz"
		}
	}
	if err != nil {
		return nil, path, err
	}
	if !strings.HasSuffix(path, ".gz") {
		return f, path, nil
	}
	z, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, path, fmt.Errorf("%s: %w", path, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{z, f}, path, nil
}

func fileExists(path string) bool {
	if _, err := os.Stat(path); err == nil {
		return true
	}
	_, err := os.Stat(path + ".gz")
	return err == nil
}

func readCSV(path string) (*csvFile, error) {
	rc, name, err := openMaybeGz(path)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	r := csv.NewReader(rc)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%s: %w: the file is empty (no header)", name, ErrNoData)
	}
	c := &csvFile{path: name, header: recs[0], idx: map[string]int{}, rows: recs[1:]}
	for i, h := range c.header {
		c.idx[strings.TrimSpace(h)] = i
	}
	return c, nil
}

// need checks that the named columns exist.
func (c *csvFile) need(cols ...string) error {
	var missing []string
	for _, col := range cols {
		if _, ok := c.idx[col]; !ok {
			missing = append(missing, col)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: missing column(s) %s (is this the right kind of results file?)", c.path, strings.Join(missing, ", "))
	}
	return nil
}

// atLeast checks the number of data rows: min 1 or 2.
func (c *csvFile) atLeast(min int) error {
	switch {
	case len(c.rows) == 0:
		return fmt.Errorf("%s: %w: header only, no data rows", c.path, ErrNoData)
	case len(c.rows) < min:
		return fmt.Errorf("%s: %w: a figure needs at least %d", c.path, ErrTooFewRows, min)
	}
	return nil
}

func (c *csvFile) str(row []string, col string) string {
	i, ok := c.idx[col]
	if !ok || i >= len(row) {
		return ""
	}
	return strings.TrimSpace(row[i])
}

// num parses a numeric cell; an empty cell is NaN.
func (c *csvFile) num(row []string, col string, line int) (float64, error) {
	s := c.str(row, col)
	if s == "" {
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%s:%d: column %s: %q is not a number", c.path, line, col, s)
	}
	return v, nil
}

func (c *csvFile) boolean(row []string, col string) bool {
	switch strings.ToLower(c.str(row, col)) {
	case "1", "true", "yes":
		return true
	}
	return false
}

// Summary is the part of a run's summary.json that reports use. It is
// decoded independently of package sim so reports work with results of any
// simulator version and fidelity.
type Summary struct {
	Scenario    string             `json:"scenario"`
	File        string             `json:"file"`
	Seed        uint64             `json:"seed"`
	Fidelity    string             `json:"fidelity"`
	Suite       uint16             `json:"suite,omitempty"` // 0 in results of older simulators
	Horizon     string             `json:"horizon"`
	Interrupted bool               `json:"interrupted"`
	Error       string             `json:"error,omitempty"`
	Metrics     map[string]float64 `json:"metrics"`
	Run         struct {
		Version  string `json:"mlslab_version"`
		Commit   string `json:"mlslab_commit,omitempty"`
		Modified bool   `json:"mlslab_modified,omitempty"`
	} `json:"run"`
	Parameters map[string]any `json:"parameters,omitempty"`
	// Real is the real work of a sampled or full run (measured CPU times);
	// nil at model.
	Real map[string]any `json:"real,omitempty"`
	// Groups is set for a multi-group run (scenario section groups).
	Groups *GroupsInfo `json:"groups,omitempty"`
}

// RealMetric returns a number of summary.json's "real" section (sampled and
// full runs), NaN when absent (model runs) or not a number.
func (s *Summary) RealMetric(name string) float64 {
	if v, ok := s.Real[name].(float64); ok {
		return v
	}
	return math.NaN()
}

// Metric returns a metric by its summary.json name, NaN when absent or
// negative (the simulator writes -1 for "not defined", e.g. a median
// healing time with no healed compromise).
func (s *Summary) Metric(name string) float64 {
	v, ok := s.Metrics[name]
	if !ok || v < 0 {
		return math.NaN()
	}
	return v
}

// Run is one `mlssim run` output directory.
type Run struct {
	Dir     string
	Label   string // legend text; defaults to the directory's base name
	Summary Summary
}

// IsRunDir reports whether dir holds a run's summary.json.
func IsRunDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "summary.json"))
	return err == nil
}

// LoadRun reads dir/summary.json. The CSVs are read on demand.
func LoadRun(dir string) (*Run, error) {
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		return nil, fmt.Errorf("%s: not a run directory: %w", dir, err)
	}
	r := &Run{Dir: dir, Label: filepath.Base(filepath.Clean(dir))}
	if err := json.Unmarshal(b, &r.Summary); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "summary.json"), err)
	}
	return r, nil
}

// Source describes where a figure's or table's data came from.
func (r *Run) Source() Source {
	s := r.Summary
	return Source{Path: r.Dir, Scenario: s.Scenario, Seeds: []uint64{s.Seed}, Fidelity: s.Fidelity,
		Version: s.Run.Version, Commit: s.Run.Commit, Modified: s.Run.Modified, Interrupted: s.Interrupted}
}

// Epoch is one row of epochs.csv.
type Epoch struct {
	Epoch           int64
	Time            float64 // virtual seconds
	CommitBytes     float64
	WelcomeBytes    float64
	PathCiphertexts float64
	GroupSize       float64
	Leaves          float64
	BlankNodes      float64
	BlankParents    float64
	UnmergedLeaves  float64
	MeanCopathRes   float64
	Collisions      float64
	Adds, Removes   float64
	Updates         float64
	Path            bool
	// CreateCPU is the measured CPU time (µs) the committer spent creating
	// the commit with real MLS (fidelity full and sampled; NaN at model).
	CreateCPU float64
	// OccupiedNodes and OccupiedBlankNodes: the nodes up to the rightmost
	// member's leaf and the blank ones among them (NaN for results of
	// older simulators).
	OccupiedNodes, OccupiedBlankNodes float64
}

// BlankFraction is blank nodes over all 2·leaves−1 nodes of the array tree,
// the definition summary.json's mean_blank_fraction uses.
func (e *Epoch) BlankFraction() float64 {
	if e.Leaves < 1 {
		return math.NaN()
	}
	return e.BlankNodes / (2*e.Leaves - 1)
}

// OccupiedBlankFraction is the fraction of blank nodes within the
// occupied width of the tree (nodes up to the rightmost member's leaf),
// leaving out the unused right part of the power-of-two array tree that
// BlankFraction counts as blank: occupied_blank_nodes / occupied_nodes.
// For epochs.csv of older simulators, without those columns, it is
// approximated assuming the members occupy the leftmost group_size leaves
// and the 2·(leaves − group_size) nodes right of them are blank:
// (blank_nodes − 2·(leaves − group_size)) / (2·group_size − 1), floored at 0.
func (e *Epoch) OccupiedBlankFraction() float64 {
	if e.OccupiedNodes > 0 {
		return e.OccupiedBlankNodes / e.OccupiedNodes
	}
	if e.GroupSize < 1 || e.Leaves < e.GroupSize {
		return math.NaN()
	}
	unused := 2 * (e.Leaves - e.GroupSize)
	return math.Max(0, e.BlankNodes-unused) / (2*e.GroupSize - 1)
}

// ReadEpochs reads dir/epochs.csv (or epochs.csv.gz). minRows is the
// fewest data rows accepted (1 or 2).
func ReadEpochs(dir string, minRows int) ([]Epoch, error) {
	c, err := readCSV(filepath.Join(dir, "epochs.csv"))
	if err != nil {
		return nil, err
	}
	if err := c.need("epoch", "time_s", "commit_bytes", "path_ciphertexts", "group_size", "leaves",
		"blank_nodes", "mean_copath_resolution", "path"); err != nil {
		return nil, err
	}
	if err := c.atLeast(minRows); err != nil {
		return nil, err
	}
	out := make([]Epoch, 0, len(c.rows))
	for i, row := range c.rows {
		line := i + 2
		var e Epoch
		ep, err := c.num(row, "epoch", line)
		if err != nil {
			return nil, err
		}
		e.Epoch = int64(ep)
		for _, f := range []struct {
			col string
			dst *float64
		}{
			{"time_s", &e.Time}, {"commit_bytes", &e.CommitBytes}, {"welcome_bytes", &e.WelcomeBytes},
			{"path_ciphertexts", &e.PathCiphertexts}, {"group_size", &e.GroupSize}, {"leaves", &e.Leaves},
			{"blank_nodes", &e.BlankNodes}, {"blank_parents", &e.BlankParents}, {"unmerged_leaves", &e.UnmergedLeaves},
			{"mean_copath_resolution", &e.MeanCopathRes}, {"collisions", &e.Collisions},
			{"adds", &e.Adds}, {"removes", &e.Removes}, {"updates", &e.Updates}, {"create_cpu_us", &e.CreateCPU},
			{"occupied_nodes", &e.OccupiedNodes}, {"occupied_blank_nodes", &e.OccupiedBlankNodes},
		} {
			if *f.dst, err = c.num(row, f.col, line); err != nil {
				return nil, err
			}
		}
		e.Path = c.boolean(row, "path")
		out = append(out, e)
	}
	return out, nil
}

// Compromise is one row of compromises.csv (workloads/README.md defines
// the columns). Durations are seconds since the compromise; NaN means not
// reached by the end of the run: the observation is right-censored at
// Observed.
type Compromise struct {
	ID           int
	Time         float64 // virtual seconds of the compromise
	SignatureKey bool
	Healed       bool    // a healing commit was accepted
	Observed     float64 // run end − Time: the censoring time (NaN if unknown)
	// HealCommit is the time until the delivery service accepted the
	// healing commit, HealCommitEpochs the epochs from the delivery
	// service's epoch at the compromise to it.
	HealCommit       float64
	HealCommitEpochs float64
	HealedByRemoval  bool    // the victim left by the healing commit
	VictimProcessed  float64 // the victim processed the healing commit
	OnlineProcessed  float64 // every member online at the healing commit processed it
	// HealingTime is the time until every member processed the healing
	// commit (all_processed_s).
	HealingTime   float64
	HealEpochs    float64 // epochs from the victim's epoch to healing (the exposure window; NaN if not healed)
	ExposedEpochs float64
	Exposure      float64 // exposed application messages
	// Legacy marks a row of an older simulator's compromises.csv (no
	// observed_s): it has no victim, online or exposed-epochs columns.
	Legacy bool
	// CensorEpochs is the run's last epoch − the delivery service's epoch
	// at the compromise: the censoring point of HealCommitEpochs (NaN if
	// summary.json is missing).
	CensorEpochs float64
	// Group is the row's group in a multi-group run's compromises.csv (-1
	// in a single group's), ClientUpdates whether the shared clients run
	// their own updates in it.
	Group         int
	ClientUpdates bool
}

// colAlt returns the first of cols present in c ("" if none): newer
// simulators renamed some compromises.csv columns.
func (c *csvFile) colAlt(cols ...string) string {
	for _, k := range cols {
		if _, ok := c.idx[k]; ok {
			return k
		}
	}
	return ""
}

// ReadCompromises reads dir/compromises.csv. A run without compromises has
// a header-only file: that returns (nil, error wrapping ErrNoData). Files
// of older simulators (healing_time_s, heal_commit_delay_s, exposure, no
// observed_s) are read too: the censoring time then comes from
// summary.json's simulated_seconds.
func ReadCompromises(dir string) ([]Compromise, error) {
	c, err := readCSV(filepath.Join(dir, "compromises.csv"))
	if err != nil {
		return nil, err
	}
	allCol := c.colAlt("all_processed_s", "healing_time_s")
	if allCol == "" {
		allCol = "all_processed_s"
	}
	if err := c.need("id", "time_s", "healed", allCol); err != nil {
		return nil, err
	}
	if err := c.atLeast(1); err != nil {
		return nil, err
	}
	end, lastEpoch := math.NaN(), math.NaN()
	if r, err := LoadRun(dir); err == nil {
		end, lastEpoch = r.Summary.Metric("simulated_seconds"), r.Summary.Metric("epochs")
	}
	// A multi-group run's rows: each group's last epoch is in its own
	// summary.json (group=G/).
	_, multi := c.idx["group"]
	groupEpochs := map[int]float64{}
	lastEpochOf := func(g int) float64 {
		if !multi {
			return lastEpoch
		}
		if e, ok := groupEpochs[g]; ok {
			return e
		}
		e := math.NaN()
		if r, err := LoadRun(filepath.Join(dir, fmt.Sprintf("group=%d", g))); err == nil {
			e = r.Summary.Metric("epochs")
		}
		groupEpochs[g] = e
		return e
	}
	commitCol := c.colAlt("heal_commit_s", "heal_commit_delay_s")
	exposureCol := c.colAlt("exposed_app_messages", "exposure")
	var out []Compromise
	for i, row := range c.rows {
		line := i + 2
		var x Compromise
		id, err := c.num(row, "id", line)
		if err != nil {
			return nil, err
		}
		x.ID = int(id)
		x.SignatureKey = c.boolean(row, "signature_key")
		x.Healed = c.boolean(row, "healed")
		x.HealedByRemoval = c.boolean(row, "healed_by_removal")
		for _, f := range []struct {
			col string
			dst *float64
		}{
			{"time_s", &x.Time}, {"observed_s", &x.Observed}, {commitCol, &x.HealCommit},
			{"heal_commit_epochs", &x.HealCommitEpochs}, {"victim_processed_s", &x.VictimProcessed},
			{"online_processed_s", &x.OnlineProcessed}, {allCol, &x.HealingTime},
			{"exposed_epochs", &x.ExposedEpochs}, {exposureCol, &x.Exposure},
		} {
			if *f.dst, err = c.num(row, f.col, line); err != nil {
				return nil, err
			}
		}
		if _, ok := c.idx["observed_s"]; !ok {
			x.Observed = end - x.Time
			x.Legacy = true
		}
		ds, err := c.num(row, "ds_epoch", line)
		if err != nil {
			return nil, err
		}
		x.Group = -1
		if multi {
			g, err := c.num(row, "group", line)
			if err != nil || math.IsNaN(g) {
				return nil, fmt.Errorf("%s:%d: group %q is not a number", c.path, line, c.str(row, "group"))
			}
			x.Group = int(g)
			x.ClientUpdates = c.boolean(row, "client_updates")
		}
		x.CensorEpochs = lastEpochOf(x.Group) - ds
		if _, ok := c.idx["heal_commit_epochs"]; !ok {
			he, err := c.num(row, "heal_epoch", line)
			if err != nil {
				return nil, err
			}
			x.HealCommitEpochs = he - ds
		}
		if _, ok := c.idx["heal_epochs"]; ok {
			if x.HealEpochs, err = c.num(row, "heal_epochs", line); err != nil {
				return nil, err
			}
		} else if x.Healed {
			x.HealEpochs = x.ExposedEpochs
		} else {
			x.HealEpochs = math.NaN()
		}
		out = append(out, x)
	}
	return out, nil
}

// Sweep is an `mlssim sweep` result: sweep.csv in long format (scenario,
// run, seed, one column per grid key, metric, value).
type Sweep struct {
	Path     string
	Scenario string
	Keys     []string // grid keys, in column order
	Runs     []SweepRun
	// Meta describes the runs (fidelity, version) when the sweep kept its
	// runs (--keep-runs: DIR/runs/NNNN/summary.json); sweep.csv alone
	// does not record them.
	Meta *Summary
}

// SweepRun is one run of a sweep.
type SweepRun struct {
	Index   int
	Seed    uint64
	Params  []string // grid values, parallel to Sweep.Keys
	Metrics map[string]float64
}

// Metric returns a metric, NaN when absent or negative (undefined).
func (r *SweepRun) Metric(name string) float64 {
	v, ok := r.Metrics[name]
	if !ok || v < 0 {
		return math.NaN()
	}
	return v
}

// IsSweep reports whether path is a sweep.csv or a directory holding one.
func IsSweep(path string) bool {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fileExists(filepath.Join(path, "sweep.csv"))
	}
	h, err := firstLine(path)
	return err == nil && strings.HasPrefix(h, "scenario,run,seed,")
}

func firstLine(path string) (string, error) {
	rc, _, err := openMaybeGz(path)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	buf := make([]byte, 512)
	n, _ := io.ReadFull(rc, buf)
	s, _, _ := strings.Cut(string(buf[:n]), "\n")
	return strings.TrimSpace(s), nil
}

// LoadSweep reads a sweep.csv (path is the file or its directory).
func LoadSweep(path string) (*Sweep, error) {
	dir := filepath.Dir(path)
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		dir, path = path, filepath.Join(path, "sweep.csv")
	}
	c, err := readCSV(path)
	if err != nil {
		return nil, err
	}
	n := len(c.header)
	if n < 5 || c.header[0] != "scenario" || c.header[1] != "run" || c.header[2] != "seed" ||
		c.header[n-2] != "metric" || c.header[n-1] != "value" {
		return nil, fmt.Errorf("%s: not a sweep CSV (want header scenario,run,seed,<grid keys>,metric,value)", c.path)
	}
	if err := c.atLeast(1); err != nil {
		return nil, err
	}
	s := &Sweep{Path: c.path, Keys: append([]string(nil), c.header[3:n-2]...)}
	byIdx := map[int]*SweepRun{}
	for i, row := range c.rows {
		if len(row) != n {
			return nil, fmt.Errorf("%s:%d: %d fields, want %d", c.path, i+2, len(row), n)
		}
		idx, err := strconv.Atoi(row[1])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: run %q is not an integer", c.path, i+2, row[1])
		}
		r := byIdx[idx]
		if r == nil {
			seed, err := strconv.ParseUint(row[2], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: seed %q is not an integer", c.path, i+2, row[2])
			}
			r = &SweepRun{Index: idx, Seed: seed, Params: append([]string(nil), row[3:n-2]...), Metrics: map[string]float64{}}
			byIdx[idx] = r
			s.Scenario = row[0]
		}
		v, err := strconv.ParseFloat(row[n-1], 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: value %q is not a number", c.path, i+2, row[n-1])
		}
		r.Metrics[row[n-2]] = v
	}
	idxs := make([]int, 0, len(byIdx))
	for i := range byIdx {
		idxs = append(idxs, i)
	}
	sort.Ints(idxs)
	for _, i := range idxs {
		s.Runs = append(s.Runs, *byIdx[i])
	}
	// Run metadata: DIR/sweep.json if the sweep wrote one, else a kept run.
	if b, err := os.ReadFile(filepath.Join(dir, "sweep.json")); err == nil {
		var m struct {
			Fidelity string `json:"fidelity"`
			Version  string `json:"mlslab_version"`
			Commit   string `json:"mlslab_commit"`
			Modified bool   `json:"mlslab_modified"`
		}
		if json.Unmarshal(b, &m) == nil && m.Fidelity != "" {
			s.Meta = &Summary{Scenario: s.Scenario, Fidelity: m.Fidelity}
			s.Meta.Run.Version, s.Meta.Run.Commit, s.Meta.Run.Modified = m.Version, m.Commit, m.Modified
			return s, nil
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "runs", "*", "summary.json")); len(m) > 0 {
		sort.Strings(m)
		if r, err := LoadRun(filepath.Dir(m[0])); err == nil {
			s.Meta = &r.Summary
		}
	}
	return s, nil
}

// Source describes the sweep's provenance.
func (s *Sweep) Source() Source {
	src := Source{Path: s.Path, Scenario: s.Scenario, Fidelity: "unknown (sweep.csv does not record it; sweep with --keep-runs)"}
	seen := map[uint64]bool{}
	for _, r := range s.Runs {
		if !seen[r.Seed] {
			seen[r.Seed] = true
			src.Seeds = append(src.Seeds, r.Seed)
		}
	}
	sort.Slice(src.Seeds, func(i, j int) bool { return src.Seeds[i] < src.Seeds[j] })
	if s.Meta != nil {
		src.Fidelity, src.Version, src.Commit, src.Modified = s.Meta.Fidelity, s.Meta.Run.Version, s.Meta.Run.Commit, s.Meta.Run.Modified
	}
	return src
}

// SweepGroup is the runs of one grid point (all seeds).
type SweepGroup struct {
	Params []string
	Runs   []*SweepRun
}

// Groups returns the grid points in run order.
func (s *Sweep) Groups() []SweepGroup {
	var out []SweepGroup
	pos := map[string]int{}
	for i := range s.Runs {
		r := &s.Runs[i]
		k := strings.Join(r.Params, "\x00")
		j, ok := pos[k]
		if !ok {
			j = len(out)
			pos[k] = j
			out = append(out, SweepGroup{Params: r.Params})
		}
		out[j].Runs = append(out[j].Runs, r)
	}
	return out
}

// KeyIndex returns the position of the grid key whose name contains sub
// (case-insensitive), or -1.
func (s *Sweep) KeyIndex(sub string) int {
	for i, k := range s.Keys {
		if strings.Contains(strings.ToLower(k), strings.ToLower(sub)) {
			return i
		}
	}
	return -1
}
