package sim

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Scenario is a parsed, validated scenario file (format: workloads/README.md).
type Scenario struct {
	Name     string   `yaml:"name"`
	Seed     uint64   `yaml:"seed"`
	Duration Duration `yaml:"duration"`
	Fidelity string   `yaml:"fidelity"`
	// SampleReceivers is the expected number of sampled real receivers at
	// fidelity sampled, besides the founder and compromised members (0 = 8).
	SampleReceivers int        `yaml:"sample_receivers"`
	Suite           uint16     `yaml:"suite"`
	Group           GroupSpec  `yaml:"group"`
	Population      Population `yaml:"population"`
	Policy          Policy     `yaml:"policy"`
	Traffic         Traffic    `yaml:"traffic"`
	Network         Network    `yaml:"network"`
	Adversary       Adversary  `yaml:"adversary"`
	// Operations is the operation-count workload (sim/operations.go; off
	// unless count > 0, omitted when off so older scenario hashes hold).
	Operations Operations `yaml:"operations,omitempty"`
	Output     OutputSpec `yaml:"output"`
	// Groups: the same clients in several groups (groups.go); omitted
	// when zero, so single-group scenarios hash as before.
	Groups GroupsSpec `yaml:"groups,omitempty"`

	// File is the path the scenario was loaded from ("" if built in code).
	File string `yaml:"-"`
	root *yaml.Node
}

// GroupSpec fixes what determines message sizes.
type GroupSpec struct {
	DevicesPerUser       int    `yaml:"devices_per_user"`
	IdentityBytes        int    `yaml:"identity_bytes"`
	GroupIDBytes         int    `yaml:"group_id_bytes"`
	AuthenticatedData    int    `yaml:"authenticated_data_bytes"`
	PaddingBlock         int    `yaml:"padding_block"`
	RatchetTreeInWelcome bool   `yaml:"ratchet_tree_in_welcome"`
	Handshake            string `yaml:"handshake"` // public | private
	// ExternalCommits: the group's GroupInfo (with the external_pub
	// extension) is available to non-members, so a holder of a valid
	// credential and signing key may join or resync by an external commit
	// (RFC 9420, Section 12.4.3.2). Only the adversary uses it (see
	// Adversary.Rejoin).
	ExternalCommits bool `yaml:"external_commits"`
}

// Population is the membership process.
type Population struct {
	InitialUsers int     `yaml:"initial_users"`
	Phases       []Phase `yaml:"phases"`
}

// Phase is one scripted phase; phases run in order and the last one lasts
// until the end of the run.
type Phase struct {
	Name        string   `yaml:"name"`
	Duration    Duration `yaml:"duration"`     // 0: until target_users (or the end)
	TargetUsers int      `yaml:"target_users"` // 0: none; the phase ends when reached
	JoinRate    Rate     `yaml:"join_rate"`    // users arriving (Poisson)
	LeaveRate   Rate     `yaml:"leave_rate"`   // users leaving (Poisson)
}

// Policy holds the group's operating policies.
type Policy struct {
	Committer             string     `yaml:"committer"` // proposer | designated | random
	DesignatedCommitters  int        `yaml:"designated_committers"`
	UpdateAs              string     `yaml:"update_as"` // commit | proposal
	Path                  string     `yaml:"path"`      // always | when_required
	CommitDelay           Duration   `yaml:"commit_delay"`
	MaxProposalsPerCommit int        `yaml:"max_proposals_per_commit"`
	MinProposalsPerCommit int        `yaml:"min_proposals_per_commit,omitempty"` // committer random: an attempt waits for this many pending proposals (omitempty: old scenario hashes unchanged)
	SelfUpdate            SelfUpdate `yaml:"self_update"`
	UpdateOnSendIdle      Duration   `yaml:"update_on_send_idle"`
	AddBatch              AddBatch   `yaml:"add_batch"`
	RemoveInactiveAfter   Duration   `yaml:"remove_inactive_after"`
	RetryBackoff          Duration   `yaml:"retry_backoff"`
}

// SelfUpdate is the periodic self-update policy (interval 0 = off).
// FirstAfter, when set, replaces the interval for a new member's first
// self-update (the common practice of refreshing the leaf and filling the
// direct path soon after joining, instead of a full interval later).
type SelfUpdate struct {
	Interval   Duration `yaml:"interval"`
	Jitter     float64  `yaml:"jitter"`      // fraction of interval, uniform ±
	FirstAfter Duration `yaml:"first_after"` // 0: first update one interval after joining
}

// AddBatch batches joiners into one commit.
type AddBatch struct {
	Size    int      `yaml:"size"`
	MaxWait Duration `yaml:"max_wait"`
}

// Traffic is the application message load.
type Traffic struct {
	AppRatePerMember Rate `yaml:"app_rate_per_member"`
	AppBytes         int  `yaml:"app_bytes"`
}

// Network is latency and availability.
type Network struct {
	Latency Latency `yaml:"latency"`
	Offline Offline `yaml:"offline"`
}

// Latency is a one-way delay distribution (member <-> delivery service).
type Latency struct {
	Dist   string   `yaml:"dist"` // fixed | uniform | lognormal
	Value  Duration `yaml:"value"`
	Min    Duration `yaml:"min"`
	Max    Duration `yaml:"max"`
	Median Duration `yaml:"median"`
	Sigma  float64  `yaml:"sigma"`
}

// Offline is the availability model.
type Offline struct {
	Mode                string   `yaml:"mode"` // none | random | workday
	MeanOnline          Duration `yaml:"mean_online"`
	MeanOffline         Duration `yaml:"mean_offline"`
	DayStart            Duration `yaml:"day_start"` // time of day devices come online (workday)
	DayEnd              Duration `yaml:"day_end"`
	Jitter              Duration `yaml:"jitter"`
	Weekends            bool     `yaml:"weekends_off"`
	AlwaysOnlineDevices int      `yaml:"always_online_devices"`
}

// Adversary is the compromise schedule.
type Adversary struct {
	Compromises          []CompromiseSpec `yaml:"compromises"`
	Rate                 Rate             `yaml:"rate"`
	SignatureKeyFraction float64          `yaml:"signature_key_fraction"`
	// Ghost: a signature-key adversary also adds a ghost member — an Add
	// of a KeyPackage it generated, in its first commit as the victim
	// that may add members (RFC 9420, Section 16.6) — and keeps every key
	// the ghost would hold. The ghost sends nothing; only the membership
	// management can remove it (workloads/README.md, "Active adversary").
	Ghost bool `yaml:"ghost"`
	// Rejoin: when the victim of a signature-key compromise is removed,
	// the adversary re-enters the group by an external commit signed with
	// the victim's key (RFC 9420, Sections 12.4.3.2, 16.6). Needs
	// group.external_commits; modelled at fidelity model only (package mls
	// builds no external commits).
	Rejoin bool `yaml:"rejoin"`
}

// CompromiseSpec is one scripted compromise.
type CompromiseSpec struct {
	At           Duration `yaml:"at"`
	SignatureKey bool     `yaml:"signature_key"`
}

// OutputSpec selects outputs.
type OutputSpec struct {
	Events bool `yaml:"events"` // write events.csv
}

// Duration is a YAML duration: Go syntax ("90s", "1h30m") plus "d" for days
// ("7d", "1.5d").
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return FormatDuration(time.Duration(d)) }

// MarshalYAML writes the canonical form.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// FormatDuration prints d with a day unit for whole days.
func FormatDuration(d time.Duration) string {
	if d != 0 && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

// ParseDuration parses a scenario duration.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	if strings.HasSuffix(s, "d") {
		f, err := strconv.ParseFloat(strings.TrimSuffix(s, "d"), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("invalid duration %q (want e.g. 90s, 2h30m, 7d)", s)
		}
		return time.Duration(f * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (want e.g. 90s, 2h30m, 7d)", s)
	}
	return d, nil
}

// UnmarshalYAML parses a duration scalar.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &lineError{n.Line, "expected a duration like 90s, 2h or 7d"}
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return &lineError{n.Line, err.Error()}
	}
	*d = Duration(v)
	return nil
}

// Rate is events per unit time, written "10/h", "3/d", "0.5/min", "2/s".
type Rate struct {
	PerSecond float64
	text      string
}

func (r Rate) String() string {
	if r.text != "" {
		return r.text
	}
	return strconv.FormatFloat(r.PerSecond*3600, 'g', -1, 64) + "/h"
}

// MarshalYAML writes the rate as text.
func (r Rate) MarshalYAML() (any, error) { return r.String(), nil }

// ParseRate parses "N/unit" with unit s, min, h, d.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return Rate{text: "0"}, nil
	}
	num, unit, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, fmt.Errorf("invalid rate %q (want a count per unit, e.g. 10/h, 3/d, 0.5/min)", s)
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return Rate{}, fmt.Errorf("invalid rate %q: %q is not a number", s, num)
	}
	var per time.Duration
	switch strings.TrimSpace(unit) {
	case "s":
		per = time.Second
	case "min", "m":
		per = time.Minute
	case "h":
		per = time.Hour
	case "d":
		per = 24 * time.Hour
	default:
		return Rate{}, fmt.Errorf("invalid rate %q: unknown unit %q (use s, min, h or d)", s, unit)
	}
	return Rate{PerSecond: f / per.Seconds(), text: s}, nil
}

// UnmarshalYAML parses a rate scalar.
func (r *Rate) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &lineError{n.Line, "expected a rate like 10/h"}
	}
	v, err := ParseRate(n.Value)
	if err != nil {
		return &lineError{n.Line, err.Error()}
	}
	*r = v
	return nil
}

type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

// ScenarioError is a rejected scenario: File:Line names where, Field the
// dotted field path (e.g. "policy.committer"), Reason why.
type ScenarioError struct {
	File   string
	Line   int // 0 if unknown (e.g. a --set override)
	Field  string
	Reason string
}

func (e *ScenarioError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Field, e.Reason)
	}
	return fmt.Sprintf("%s: %s", loc, e.Reason)
}

// Defaults returns a scenario with every default filled in.
func Defaults() Scenario {
	return Scenario{
		Name: "scenario", Seed: 1, Duration: Duration(24 * time.Hour), Fidelity: "sampled", Suite: 1,
		Group:      GroupSpec{DevicesPerUser: 1, IdentityBytes: 16, GroupIDBytes: 16, RatchetTreeInWelcome: true, Handshake: "public"},
		Population: Population{InitialUsers: 1},
		Policy: Policy{
			Committer: "proposer", DesignatedCommitters: 1, UpdateAs: "commit", Path: "when_required",
			CommitDelay: Duration(time.Second), AddBatch: AddBatch{Size: 1, MaxWait: 0},
			SelfUpdate: SelfUpdate{Interval: 0, Jitter: 0.1}, RetryBackoff: Duration(500 * time.Millisecond),
		},
		Traffic: Traffic{AppBytes: 100},
		Network: Network{
			Latency: Latency{Dist: "fixed", Value: Duration(100 * time.Millisecond)},
			Offline: Offline{Mode: "none", DayStart: Duration(9 * time.Hour), DayEnd: Duration(17 * time.Hour)},
		},
		Output: OutputSpec{Events: true},
	}
}

var (
	reUnknown = regexp.MustCompile(`^line (\d+): field (\S+) not found in type (\S+)$`)
	reLine    = regexp.MustCompile(`^line (\d+): (.*)$`)
)

// LoadScenario reads, overrides (key=value, dotted paths, list indices as
// numbers: "population.phases.1.join_rate=3/h") and validates a scenario.
// All errors are *ScenarioError.
func LoadScenario(file string, sets []string) (*Scenario, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, &ScenarioError{File: file, Reason: err.Error()}
	}
	return ParseScenario(file, data, sets)
}

// ParseScenario is LoadScenario on bytes.
func ParseScenario(file string, data []byte, sets []string) (*Scenario, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(file, err)
	}
	if root.Kind == 0 {
		return nil, &ScenarioError{File: file, Reason: "empty scenario"}
	}
	for _, kv := range sets {
		if err := applySet(&root, kv); err != nil {
			return nil, &ScenarioError{File: file, Field: "--set " + kv, Reason: err.Error()}
		}
	}
	sc := Defaults()
	if err := decodeKnown(&root, &sc); err != nil {
		err = yamlError(file, err)
		if se, ok := err.(*ScenarioError); ok && se.Field == "" && se.Line > 0 {
			se.Field = pathAtLine(&root, se.Line, "")
		}
		return nil, err
	}
	sc.File = file
	sc.root = &root
	if sc.Name == "" || sc.Name == "scenario" {
		sc.Name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	}
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	return &sc, nil
}

// decodeKnown decodes n into v rejecting unknown fields. yaml.Node.Decode
// has no KnownFields switch (only Decoder has), and re-encoding the node for
// a Decoder would lose the line numbers of --set overrides, so unknown keys
// are checked here against the yaml tags of v's type, then the node is
// decoded with its lines intact.
func decodeKnown(n *yaml.Node, v any) error {
	if err := checkKnown(n, reflect.TypeOf(v).Elem(), ""); err != nil {
		return err
	}
	return n.Decode(v)
}

func checkKnown(n *yaml.Node, t reflect.Type, path string) error {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch t.Kind() {
	case reflect.Struct:
		if t == reflect.TypeOf(Rate{}) || t == reflect.TypeOf(Duration(0)) {
			return nil
		}
		if n.Kind != yaml.MappingNode {
			if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
				return nil
			}
			return &ScenarioError{Line: n.Line, Field: path, Reason: "expected a mapping of fields"}
		}
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if tag == "" || tag == "-" || !f.IsExported() {
				continue
			}
			fields[tag] = f.Type
		}
		seen := map[string]bool{}
		for j := 0; j+1 < len(n.Content); j += 2 {
			k := n.Content[j]
			ft, ok := fields[k.Value]
			if !ok {
				return &ScenarioError{Line: k.Line, Field: join(k.Value), Reason: "unknown field"}
			}
			if seen[k.Value] {
				return &ScenarioError{Line: k.Line, Field: join(k.Value), Reason: "duplicate field"}
			}
			seen[k.Value] = true
			if err := checkKnown(n.Content[j+1], ft, join(k.Value)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
				return nil
			}
			return &ScenarioError{Line: n.Line, Field: path, Reason: "expected a list"}
		}
		for i, c := range n.Content {
			if err := checkKnown(c, t.Elem(), join(strconv.Itoa(i))); err != nil {
				return err
			}
		}
	default:
		if n.Kind != yaml.ScalarNode {
			return &ScenarioError{Line: n.Line, Field: path, Reason: "expected a single value"}
		}
	}
	return nil
}

func yamlError(file string, err error) error {
	var le *lineError
	if errors.As(err, &le) {
		return &ScenarioError{File: file, Line: le.line, Reason: le.msg}
	}
	var se *ScenarioError
	if errors.As(err, &se) {
		se.File = file
		return se
	}
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg := te.Errors[0]
		if m := reUnknown.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			return &ScenarioError{File: file, Line: line, Field: m[2], Reason: "unknown field"}
		}
		if m := reLine.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			return &ScenarioError{File: file, Line: line, Reason: strings.ReplaceAll(m[2], "!!", "")}
		}
		return &ScenarioError{File: file, Reason: msg}
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := reLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &ScenarioError{File: file, Line: line, Reason: m[2]}
	}
	return &ScenarioError{File: file, Reason: msg}
}

// applySet sets a dotted path in the YAML tree to a scalar value, creating
// mapping keys as needed.
func applySet(root *yaml.Node, kv string) error {
	key, val, ok := strings.Cut(kv, "=")
	if !ok || key == "" {
		return errors.New("want key=value")
	}
	n := root
	if n.Kind == yaml.DocumentNode {
		n = n.Content[0]
	}
	parts := strings.Split(key, ".")
	for i, p := range parts {
		last := i == len(parts)-1
		switch n.Kind {
		case yaml.MappingNode:
			var next *yaml.Node
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == p {
					next = n.Content[j+1]
				}
			}
			if next == nil {
				next = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p}, next)
			}
			n = next
		case yaml.SequenceNode:
			idx, err := strconv.Atoi(p)
			if err != nil || idx < 0 || idx >= len(n.Content) {
				return fmt.Errorf("%q is not an index of a list of %d", p, len(n.Content))
			}
			n = n.Content[idx]
		default:
			return fmt.Errorf("%q is not a mapping or list", strings.Join(parts[:i], "."))
		}
		if last {
			var v yaml.Node
			if err := yaml.Unmarshal([]byte(val), &v); err != nil || len(v.Content) != 1 {
				*n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: val}
			} else {
				*n = *v.Content[0]
			}
			n.Line = 0
		}
	}
	return nil
}

// lineOf returns the line of the value at a dotted path ("a.b.2.c"), or the
// line of its deepest existing ancestor.
func (sc *Scenario) lineOf(path string) int {
	if sc.root == nil {
		return 0
	}
	n := sc.root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, p := range strings.Split(path, ".") {
		var next *yaml.Node
		switch n.Kind {
		case yaml.MappingNode:
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == p {
					next = n.Content[j+1]
					if n.Content[j].Line > 0 {
						line = n.Content[j].Line
					}
				}
			}
		case yaml.SequenceNode:
			if i, err := strconv.Atoi(p); err == nil && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
				if next.Line > 0 {
					line = next.Line
				}
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	if n.Line == 0 && n.Kind == yaml.ScalarNode {
		return 0 // set on the command line
	}
	return line
}

func (sc *Scenario) fieldErr(path, format string, args ...any) error {
	return &ScenarioError{File: sc.File, Line: sc.lineOf(path), Field: path, Reason: fmt.Sprintf(format, args...)}
}

// pathAtLine returns the dotted path of the deepest field whose key or value
// starts on line.
func pathAtLine(n *yaml.Node, line int, path string) string {
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) > 0 {
			return pathAtLine(n.Content[0], line, path)
		}
	case yaml.MappingNode:
		for j := 0; j+1 < len(n.Content); j += 2 {
			k, v := n.Content[j], n.Content[j+1]
			if p := pathAtLine(v, line, join(k.Value)); p != "" {
				return p
			}
			if k.Line == line {
				return join(k.Value)
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if p := pathAtLine(c, line, join(strconv.Itoa(i))); p != "" {
				return p
			}
		}
	}
	return ""
}

// expectedMembers is the largest group size the scenario plans: the
// initial users or the largest phase target, times devices per user.
func (sc *Scenario) expectedMembers() int {
	n := sc.Population.InitialUsers
	for _, p := range sc.Population.Phases {
		n = max(n, p.TargetUsers)
	}
	return n * sc.Group.DevicesPerUser
}
