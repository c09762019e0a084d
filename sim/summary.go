package sim

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/mlslab/mlslab/sim/survival"
	"github.com/mlslab/mlslab/sim/symtree"
)

type stats struct {
	joins, leaves, inactiveRemovals, selfUpdates, updatesOnSend int64
	proposals, reproposals, proposalBytes                       int64
	commits, collisions, retries, rejectedBytes                 int64
	commitBytes, welcomeBytes, pathCiphertexts                  int64
	adds, removes                                               int64
	apps, appBytes, exposedApps, lagSum                         int64
	recvBytes, recvAppBytes                                     int64
	offline                                                     int64
	compromises, heals, advCommits                              int64
	backendErrors, adversaryMismatches                          int64
	commitSizes                                                 []float64
	treeSamples                                                 int64
	blankSum, occBlankSum                                       float64
	lastTree                                                    symtree.Stats
	memberSeconds                                               float64
	lastSizeAt                                                  time.Duration
	lastSize                                                    int
}

// Summary is summary.json. Metrics is deterministic for a scenario and
// seed; Run describes this execution (wall time, machine).
type Summary struct {
	Scenario    string         `json:"scenario"`
	File        string         `json:"file"`
	Seed        uint64         `json:"seed"`
	Fidelity    string         `json:"fidelity"`
	Suite       uint16         `json:"suite,omitempty"` // cipher suite code point
	Horizon     string         `json:"horizon"`
	Interrupted bool           `json:"interrupted"`
	Error       string         `json:"error,omitempty"`
	Metrics     Metrics        `json:"metrics"`
	Run         RunInfo        `json:"run"`
	Parameters  map[string]any `json:"parameters,omitempty"`
	// Real is the real work of a full or sampled run (its CPU times are
	// measured, so they vary between runs).
	Real *RealStats `json:"real,omitempty"`
	// Groups is set for a multi-group run (groups.go); its metrics are
	// pooled over the groups (summarize).
	Groups *GroupsSummary `json:"groups,omitempty"`
}

// RunInfo is the non-deterministic part of a summary.
type RunInfo struct {
	Version     string  `json:"mlslab_version"`
	Commit      string  `json:"mlslab_commit,omitempty"`
	Modified    bool    `json:"mlslab_modified"` // always written: false shows a clean build
	GoVersion   string  `json:"go_version"`
	CPUs        int     `json:"cpus"`
	GOMAXPROCS  int     `json:"gomaxprocs"`
	WallSeconds float64 `json:"wall_seconds"`
	Events      uint64  `json:"events"`
	EventsPerS  float64 `json:"events_per_second"`
}

// Metrics are the run's results.
type Metrics struct {
	SimulatedSeconds    float64 `json:"simulated_seconds"`
	Epochs              uint64  `json:"epochs"`
	FinalMembers        int     `json:"final_members"`
	FinalUsers          int     `json:"final_users"`
	PeakLeaves          uint32  `json:"final_leaves"`
	Joins               int64   `json:"user_joins"`
	Leaves              int64   `json:"user_leaves"`
	InactiveRemovals    int64   `json:"inactive_removals"`
	Adds                int64   `json:"adds"`
	Removes             int64   `json:"removes"`
	SelfUpdates         int64   `json:"self_updates"`
	UpdatesOnSend       int64   `json:"updates_on_send"`
	Commits             int64   `json:"commits"`
	Collisions          int64   `json:"collisions"`
	Retries             int64   `json:"retries"`
	CollisionRate       float64 `json:"collision_rate"`
	Proposals           int64   `json:"proposals"`
	Reproposals         int64   `json:"reproposals"`
	CommitBytesMean     float64 `json:"commit_bytes_mean"`
	CommitBytesP50      float64 `json:"commit_bytes_p50"`
	CommitBytesP95      float64 `json:"commit_bytes_p95"`
	CommitBytesMax      float64 `json:"commit_bytes_max"`
	CommitBytesTotal    int64   `json:"commit_bytes_total"`
	RejectedCommitBytes int64   `json:"rejected_commit_bytes"`
	WelcomeBytesTotal   int64   `json:"welcome_bytes_total"`
	ProposalBytesTotal  int64   `json:"proposal_bytes_total"`
	PathCiphertextsMean float64 `json:"path_ciphertexts_per_commit"`
	AppMessages         int64   `json:"app_messages"`
	AppBytesTotal       int64   `json:"app_bytes_total"`
	MeanEpochLagAtSend  float64 `json:"mean_epoch_lag_at_send"`
	// BandwidthPerMemberDay is every byte a member receives per day of
	// membership: handshake (commits, proposals, Welcomes) plus application
	// messages; the two parts are HandshakeBytesPerMemberDay and
	// AppBytesPerMemberDay.
	BandwidthPerMemberDay      float64 `json:"bandwidth_bytes_per_member_day"`
	HandshakeBytesPerMemberDay float64 `json:"handshake_bytes_per_member_day"`
	AppBytesPerMemberDay       float64 `json:"app_bytes_per_member_day"`
	// MeanBlankFraction is the mean over epochs of blank nodes over all
	// 2·leaves−1 nodes of the array tree (leaves is a power of two, so
	// the unused right part counts as blank); MeanOccupiedBlankFraction
	// counts only the occupied width, the nodes up to the rightmost
	// member's leaf (epochs.csv occupied_blank_nodes / occupied_nodes).
	MeanBlankFraction         float64 `json:"mean_blank_fraction"`
	MeanOccupiedBlankFraction float64 `json:"mean_occupied_blank_fraction"`
	FinalBlankNodes           int     `json:"final_blank_nodes"`
	FinalUnmergedLeaves       int     `json:"final_unmerged_leaves"`
	FinalMeanCopathRes        float64 `json:"final_mean_copath_resolution"`
	FinalRatchetTreeBytes     int     `json:"final_ratchet_tree_bytes"`
	Compromises               int64   `json:"compromises"`
	// AdversaryCommits counts accepted commits that signature-key
	// adversaries built as their victims.
	AdversaryCommits int64 `json:"adversary_commits"`
	Healed           int64 `json:"healed"`
	Unhealed         int   `json:"unhealed_at_end"`
	// Legacy healing metrics: healing_seconds_* is the time until every
	// member processed the healing commit over the compromises where that
	// happened by the end (censored ones dropped, so biased low), and
	// healing_epochs_p50 counts epochs from the victim's (possibly stale)
	// epoch. Prefer the Kaplan–Meier medians below.
	HealingEpochsP50  float64 `json:"healing_epochs_p50"`
	HealingSecondsP50 float64 `json:"healing_seconds_p50"`
	HealingSecondsP95 float64 `json:"healing_seconds_p95"`
	HealingSecondsMax float64 `json:"healing_seconds_max"`
	// Kaplan–Meier medians (package sim/survival) of the healing metrics
	// of compromises.csv, with 95% Brookmeyer–Crowley confidence intervals
	// on the log(−log) scale. A compromise not healed (or not processed)
	// by the end is right-censored at the end. -1 means not reached (fewer
	// than half healed, or the interval's end is unbounded) or no
	// compromise. heal_commit: the delivery service accepted the healing
	// commit (epochs counted from its epoch at the compromise);
	// victim_processed: the victim processed it (a victim removed by or
	// before it counts as healed at the healing commit); online_processed:
	// every member online at the healing commit processed it;
	// all_processed: every member processed it.
	HealCommitSecondsMedian      float64 `json:"heal_commit_seconds_median"`
	HealCommitSecondsCILo        float64 `json:"heal_commit_seconds_ci_lo"`
	HealCommitSecondsCIHi        float64 `json:"heal_commit_seconds_ci_hi"`
	HealCommitEpochsMedian       float64 `json:"heal_commit_epochs_median"`
	VictimProcessedSecondsMedian float64 `json:"victim_processed_seconds_median"`
	VictimProcessedSecondsCILo   float64 `json:"victim_processed_seconds_ci_lo"`
	VictimProcessedSecondsCIHi   float64 `json:"victim_processed_seconds_ci_hi"`
	OnlineProcessedSecondsMedian float64 `json:"online_processed_seconds_median"`
	OnlineProcessedSecondsCILo   float64 `json:"online_processed_seconds_ci_lo"`
	OnlineProcessedSecondsCIHi   float64 `json:"online_processed_seconds_ci_hi"`
	AllProcessedSecondsMedian    float64 `json:"all_processed_seconds_median"`
	AllProcessedSecondsCILo      float64 `json:"all_processed_seconds_ci_lo"`
	AllProcessedSecondsCIHi      float64 `json:"all_processed_seconds_ci_hi"`
	// ExposedEpochsMean is the mean of compromises.csv exposed_epochs.
	ExposedEpochsMean     float64 `json:"exposed_epochs_mean"`
	ExposedAppMessages    int64   `json:"exposed_app_messages"`
	ExposurePerCompromise float64 `json:"exposure_per_compromise_mean"`
	BackendErrors         int64   `json:"backend_errors"`
	// AdversaryMismatches counts epochs in which the real shadow client
	// (full, sampled) did not achieve the symbolic prediction (0 expected).
	AdversaryMismatches int64 `json:"adversary_mismatches"`
	// The operation-count workload (scenario section operations; absent
	// when off): operations carried out by kind, the skipped ones (no
	// member to issue or to remove) and the time of the first counted
	// operation (after the fill updates with operations.fill), the members
	// online then, and the HPKE encryptions per operation: UpdatePath
	// ciphertexts plus one EncryptedGroupSecrets per added member, over the
	// commits accepted from the first counted operation on, divided by the
	// operations carried out.
	OpsStartMembers int     `json:"operations_start_members,omitempty"`
	OpsEncPerOp     float64 `json:"operations_encryptions_per_op,omitempty"`
	OpsAdd          int64   `json:"operations_add,omitempty"`
	OpsRemove       int64   `json:"operations_remove,omitempty"`
	OpsUpdate       int64   `json:"operations_update,omitempty"`
	OpsSkipped      int64   `json:"operations_skipped,omitempty"`
	OpsStartS       float64 `json:"operations_start_s,omitempty"`
}

// trackSize integrates the group size over virtual time.
func (s *Sim) trackSize() {
	s.st.memberSeconds += float64(s.st.lastSize) * (s.now - s.st.lastSizeAt).Seconds()
	s.st.lastSizeAt = s.now
	s.st.lastSize = s.tree.Members()
}

// finish lets every member process, up to the end, the commits the
// healing bookkeeping waits for, then writes compromises.csv.
func (s *Sim) finish() {
	s.trackSize()
	if s.maxWatch > 0 {
		for i := range s.members {
			if s.members[i].ep < s.maxWatch {
				s.advance(MemberID(i), s.now)
			}
		}
	}
	s.writeCompromises()
}

func nanTo(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return -1
	}
	return v
}

func (s *Sim) summary(wall time.Time, runErr error) *Summary {
	return summarize([]*Sim{s}, wall, runErr)
}

// add accumulates b's counters into a (a multi-group run's summary pools
// its groups' counters; the last-tree and size-tracking fields are not
// summed).
func (a *stats) add(b *stats) {
	for _, p := range [][2]*int64{
		{&a.joins, &b.joins}, {&a.leaves, &b.leaves}, {&a.inactiveRemovals, &b.inactiveRemovals},
		{&a.selfUpdates, &b.selfUpdates}, {&a.updatesOnSend, &b.updatesOnSend}, {&a.proposals, &b.proposals},
		{&a.reproposals, &b.reproposals}, {&a.proposalBytes, &b.proposalBytes}, {&a.commits, &b.commits},
		{&a.collisions, &b.collisions}, {&a.retries, &b.retries}, {&a.rejectedBytes, &b.rejectedBytes},
		{&a.commitBytes, &b.commitBytes}, {&a.welcomeBytes, &b.welcomeBytes}, {&a.pathCiphertexts, &b.pathCiphertexts},
		{&a.adds, &b.adds}, {&a.removes, &b.removes}, {&a.apps, &b.apps}, {&a.appBytes, &b.appBytes},
		{&a.exposedApps, &b.exposedApps}, {&a.lagSum, &b.lagSum}, {&a.recvBytes, &b.recvBytes},
		{&a.recvAppBytes, &b.recvAppBytes}, {&a.offline, &b.offline}, {&a.compromises, &b.compromises},
		{&a.heals, &b.heals}, {&a.advCommits, &b.advCommits}, {&a.backendErrors, &b.backendErrors},
		{&a.adversaryMismatches, &b.adversaryMismatches}, {&a.treeSamples, &b.treeSamples},
	} {
		*p[0] += *p[1]
	}
	a.commitSizes = append(a.commitSizes, b.commitSizes...)
	a.blankSum += b.blankSum
	a.occBlankSum += b.occBlankSum
	a.memberSeconds += b.memberSeconds
}

// summarize is the summary of one run, or of a multi-group run's groups
// (groups.go): counters, totals and per-commit or per-member-day means
// pooled over the groups, epochs and final tree sizes summed (the final
// mean copath resolution is the mean over groups), healing statistics
// over every group's compromises.
func summarize(sims []*Sim, wall time.Time, runErr error) *Summary {
	var st stats
	var m Metrics
	var events uint64
	var copath float64
	trees := 0
	for _, s := range sims {
		st.add(&s.st)
		events += s.events
		m.SimulatedSeconds = max(m.SimulatedSeconds, s.now.Seconds())
		m.Epochs += s.epoch
		m.FinalUsers += len(s.activeUsers)
		if s.tree != nil {
			t := s.tree.Stats()
			m.FinalMembers += t.Members
			m.PeakLeaves += t.Leaves
			m.FinalBlankNodes += t.BlankNodes
			m.FinalUnmergedLeaves += t.UnmergedLeaves
			m.FinalRatchetTreeBytes += t.RatchetTreeBytes
			copath += t.MeanCopathResolution()
			trees++
		}
	}
	if trees > 0 {
		m.FinalMeanCopathRes = copath / float64(trees)
	}
	if o := sims[0].ops; len(sims) == 1 && o != nil {
		m.OpsAdd, m.OpsRemove, m.OpsUpdate, m.OpsSkipped = o.done[0], o.done[1], o.done[2], o.skipped
		m.OpsStartS, m.OpsStartMembers = o.start.Seconds(), o.n0
		if n := o.done[0] + o.done[1] + o.done[2]; n > 0 {
			m.OpsEncPerOp = float64(o.enc) / float64(n)
		}
	}
	m.Joins, m.Leaves, m.InactiveRemovals, m.Adds, m.Removes = st.joins, st.leaves, st.inactiveRemovals, st.adds, st.removes
	m.SelfUpdates, m.UpdatesOnSend, m.Commits, m.Collisions = st.selfUpdates, st.updatesOnSend, st.commits, st.collisions
	m.Retries, m.Proposals, m.Reproposals, m.CommitBytesTotal = st.retries, st.proposals, st.reproposals, st.commitBytes
	m.RejectedCommitBytes, m.WelcomeBytesTotal, m.ProposalBytesTotal = st.rejectedBytes, st.welcomeBytes, st.proposalBytes
	m.AppMessages, m.AppBytesTotal, m.Compromises, m.Healed, m.AdversaryCommits = st.apps, st.appBytes, st.compromises, st.heals, st.advCommits
	m.ExposedAppMessages, m.BackendErrors, m.AdversaryMismatches = st.exposedApps, st.backendErrors, st.adversaryMismatches
	if n := st.commits + st.collisions; n > 0 {
		m.CollisionRate = float64(st.collisions) / float64(n)
	}
	if st.commits > 0 {
		m.CommitBytesMean = float64(st.commitBytes) / float64(st.commits)
		m.PathCiphertextsMean = float64(st.pathCiphertexts) / float64(st.commits)
		m.CommitBytesP50 = quantile(st.commitSizes, 0.5)
		m.CommitBytesP95 = quantile(st.commitSizes, 0.95)
		m.CommitBytesMax = quantile(st.commitSizes, 1)
	}
	if st.apps > 0 {
		m.MeanEpochLagAtSend = float64(st.lagSum) / float64(st.apps)
	}
	if st.memberSeconds > 0 {
		days := st.memberSeconds / 86400
		m.BandwidthPerMemberDay = float64(st.recvBytes) / days
		m.AppBytesPerMemberDay = float64(st.recvAppBytes) / days
		m.HandshakeBytesPerMemberDay = float64(st.recvBytes-st.recvAppBytes) / days
	}
	if st.treeSamples > 0 {
		m.MeanBlankFraction = st.blankSum / float64(st.treeSamples)
		m.MeanOccupiedBlankFraction = st.occBlankSum / float64(st.treeSamples)
	}
	var times, epochs []float64
	var e, ee int64
	for _, s := range sims {
		t, ep, unhealed := s.healingTimes()
		times, epochs = append(times, t...), append(epochs, ep...)
		m.Unhealed += unhealed
		for _, c := range s.comps {
			e += c.exposure
			if c.happened {
				ee += int64(s.exposedEpochs(c))
			}
		}
	}
	m.HealingEpochsP50 = nanTo(quantile(epochs, 0.5))
	m.HealingSecondsP50 = nanTo(quantile(times, 0.5))
	m.HealingSecondsP95 = nanTo(quantile(times, 0.95))
	m.HealingSecondsMax = nanTo(quantile(times, 1))
	if st.compromises > 0 {
		m.ExposurePerCompromise = float64(e) / float64(st.compromises)
		m.ExposedEpochsMean = float64(ee) / float64(st.compromises)
	}
	kmMetrics(&m, sims)
	el := time.Since(wall).Seconds()
	s := sims[0]
	sum := &Summary{
		Scenario: s.sc.Name, File: s.sc.File, Seed: s.sc.Seed, Fidelity: s.backend.Fidelity(), Suite: s.sc.Suite,
		Horizon: s.sc.Duration.String(), Metrics: m,
		Run: RunInfo{GoVersion: runtime.Version(), CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
			WallSeconds: el, Events: events},
	}
	if rb, ok := s.backend.(*RealBackend); ok && len(sims) == 1 {
		rs := rb.Stats()
		sum.Real = &rs
	}
	if el > 0 {
		sum.Run.EventsPerS = float64(events) / el
	}
	sum.Run.Version, sum.Run.Commit, sum.Run.Modified = Version()
	if runErr != nil {
		sum.Interrupted = runErr == ErrInterrupted
		sum.Error = runErr.Error()
	}
	return sum
}

// buildVersion is the build stamp, computed once per process. Without
// VCS stamping it is read from the git checkout, and reading it once means
// at the first call, which cmd/mlssim makes at start-up (Version), so a
// commit made while a long run is going is not recorded as that run's.
var buildVersion = sync.OnceValue(func() stamp {
	v, c, m := readBuildVersion()
	return stamp{v, c, m}
})

type stamp struct {
	version, commit string
	modified        bool
}

func readBuildVersion() (version, commit string, modified bool) {
	version = "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = bi.Main.Version
		for _, st := range bi.Settings {
			switch st.Key {
			case "vcs.revision":
				commit = st.Value
			case "vcs.modified":
				modified = st.Value == "true"
			}
		}
	}
	if commit == "" {
		commit, modified = gitCheckout()
	}
	return version, commit, modified
}

// gitCheckout is the build stamp of a binary built without VCS stamping
// (go run, -buildvcs=false): the HEAD commit of the git checkout in the
// working directory, and whether what produces the numbers (Go sources,
// go.mod/go.sum, scenario files) differs from it. Generated outputs
// (results/, figures) and prose do not count: regenerating results/ from
// a clean checkout must read as clean. Outside a git checkout: "", false.
func gitCheckout() (commit string, modified bool) {
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "", false
	}
	commit = strings.TrimSpace(string(out))
	st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no", "--",
		"*.go", "go.mod", "go.sum", "workloads").Output()
	if err == nil {
		modified = len(strings.TrimSpace(string(st))) > 0
	}
	return commit, modified
}

func (o *outputs) writeSummary(sum *Summary) error {
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(o.dir, ".summary.json.tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(o.dir, "summary.json"))
}

// Version reports the mlslab module version and VCS commit the binary was
// built from (as recorded in every summary.json). A binary built without
// VCS stamping (-buildvcs=false, go run) reports the HEAD of the git
// checkout in the working directory, and whether its sources differ from
// that commit, as they were at the process's first call, not at its build:
// for the stamp to be the build's, neither commit nor check out between
// building and starting (go run satisfies this), or build with VCS
// stamping.
func Version() (version, commit string, modified bool) {
	st := buildVersion()
	return st.version, st.commit, st.modified
}

// kmMetrics fills the Kaplan–Meier healing medians of m, over the
// compromises of every run in sims (one, or a multi-group run's groups).
func kmMetrics(m *Metrics, sims []*Sim) {
	med := func(obs []survival.Obs, est, lo, hi *float64) {
		e, l, h := survival.KaplanMeier(obs, 0.95).Median()
		*est = nanTo(e)
		if lo != nil {
			*lo, *hi = nanTo(l), nanTo(h)
		}
	}
	pool := func(got func(s *Sim, c *compromise) (time.Duration, bool)) []survival.Obs {
		var obs []survival.Obs
		for _, s := range sims {
			obs = append(obs, s.healingObs(func(c *compromise) (time.Duration, bool) { return got(s, c) })...)
		}
		return obs
	}
	med(pool(func(_ *Sim, c *compromise) (time.Duration, bool) { return c.healCommit, true }),
		&m.HealCommitSecondsMedian, &m.HealCommitSecondsCILo, &m.HealCommitSecondsCIHi)
	med(pool(func(s *Sim, c *compromise) (time.Duration, bool) {
		if s.victimRemoved(c) {
			return c.healCommit, true
		}
		return c.healVictim, c.victimDone
	}), &m.VictimProcessedSecondsMedian, &m.VictimProcessedSecondsCILo, &m.VictimProcessedSecondsCIHi)
	med(pool(func(_ *Sim, c *compromise) (time.Duration, bool) { return c.healOnline, c.onlineDone }),
		&m.OnlineProcessedSecondsMedian, &m.OnlineProcessedSecondsCILo, &m.OnlineProcessedSecondsCIHi)
	med(pool(func(_ *Sim, c *compromise) (time.Duration, bool) { return c.healAll, c.healAll != never }),
		&m.AllProcessedSecondsMedian, &m.AllProcessedSecondsCILo, &m.AllProcessedSecondsCIHi)
	var eps []survival.Obs
	for _, s := range sims {
		for _, c := range s.comps {
			switch {
			case !c.happened:
			case c.healed:
				eps = append(eps, survival.Obs{T: float64(c.healEpoch - c.dsEpoch), Event: true})
			default:
				eps = append(eps, survival.Obs{T: float64(s.epoch - c.dsEpoch)})
			}
		}
	}
	med(eps, &m.HealCommitEpochsMedian, nil, nil)
}
