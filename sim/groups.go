package sim

// This file owns multi-group runs (scenario section groups, issue 14 study
// 6): the same clients in several groups, each group with its own ratchet
// tree, epochs and delivery service, and one compromise stealing a shared
// client's state in every group at once (Cremers, Hale, Kohbrok, USENIX
// Security 2021: healing in one group does not heal the others).
//
// A multi-group run is Groups.Count ordinary runs of the scenario, one per
// group, each with its own seed (groupSeed), plus what ties them together:
//   - the shared clients are users 1..SharedClients of every group (user 0
//     is each group's founder); their devices have the same member ids in
//     every group;
//   - their availability is drawn from the base seed's stream (rand.go),
//     so a shared device is online at the same instants in every group
//     (its application messages, one group's conversation each, come from
//     each group's own traffic stream);
//   - the compromise schedule is drawn from the base seed's adversary
//     stream, so every group sees the same compromise times, signature-key
//     flags and victim draws; a victim draw picks one shared device (the
//     same one in every group), whose state in every group is compromised
//     at that instant (docs/pcs.md, section 2, applied per group);
//   - the shared clients' own update triggers (the self-update timer and
//     update-on-send) run only in groups 0..UpdateGroups−1.
// Each group's derivation rule and healing (docs/pcs.md, section 3) are
// those of a single group: no key material crosses groups in MLS, so the
// adversary's knowledge in one group does not depend on the others.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// GroupsSpec is the scenario section groups: Count groups sharing
// SharedClients clients (users 1..SharedClients of each group), who run
// their own update triggers only in the first UpdateGroups groups (0 =
// all). Count 0 is an ordinary single-group run. Every field is omitted
// when zero, so single-group scenarios hash as before.
type GroupsSpec struct {
	Count         int `yaml:"count,omitempty" json:"count"`
	SharedClients int `yaml:"shared_clients,omitempty" json:"shared_clients"`
	UpdateGroups  int `yaml:"update_groups,omitempty" json:"update_groups"`
}

// On reports whether the scenario is a multi-group run.
func (g GroupsSpec) On() bool { return g.Count > 0 }

// updating is how many groups the shared clients update in.
func (g GroupsSpec) updating() int {
	if g.UpdateGroups == 0 {
		return g.Count
	}
	return g.UpdateGroups
}

// maxGroups bounds groups.count (each group is a whole run).
const maxGroups = 256

// validateGroups checks the groups section (called by Validate).
func (sc *Scenario) validateGroups() error {
	g, e := sc.Groups, sc.fieldErr
	if !g.On() {
		switch {
		case g.Count < 0:
			return e("groups.count", "must not be negative (0 = one group), got %d", g.Count)
		case g.SharedClients != 0:
			return e("groups.shared_clients", "needs groups.count (the number of groups)")
		case g.UpdateGroups != 0:
			return e("groups.update_groups", "needs groups.count (the number of groups)")
		}
		return nil
	}
	switch {
	case g.Count > maxGroups:
		return e("groups.count", "must be at most %d, got %d", maxGroups, g.Count)
	case g.SharedClients < 1:
		return e("groups.shared_clients", "must be at least 1 with groups.count (the clients in every group), got %d", g.SharedClients)
	case g.SharedClients > sc.Population.InitialUsers-1:
		return e("groups.shared_clients", "the shared clients are users 1..%d of every group, so population.initial_users must be at least %d, got %d",
			g.SharedClients, g.SharedClients+1, sc.Population.InitialUsers)
	case g.UpdateGroups < 0 || g.UpdateGroups > g.Count:
		return e("groups.update_groups", "must be in 0..groups.count (%d; 0 = all), got %d", g.Count, g.UpdateGroups)
	}
	return nil
}

// groupSeed is group g's seed: every stream of group g but the shared
// ones (adversary; availability and traffic of shared devices) derives
// from it.
func groupSeed(seed uint64, g int) uint64 {
	return streamSeed(seed, uint64(1000+g))
}

// sharedUser reports whether user u is a shared client of a multi-group run.
func (s *Sim) sharedUser(u int32) bool {
	return s.sc.Groups.On() && u >= 1 && int(u) <= s.sc.Groups.SharedClients
}

// avSeedOf is m's availability stream seed: the base seed's for a
// shared client's device, so it is online at the same instants in every
// group.
func (s *Sim) avSeedOf(m *member) uint64 {
	if s.sharedUser(m.user) {
		return s.sharedAv
	}
	return s.avSeed
}

// updatesHere reports whether m runs its own update triggers in this
// group: every member does, except a shared client in a group at or after
// groups.update_groups.
func (s *Sim) updatesHere(m *member) bool {
	return !s.sharedUser(m.user) || s.group < s.sc.Groups.updating()
}

// sharedDevices lists the shared clients' devices by member id (the same
// ids in every group): users 1..SharedClients, created right after the
// founder's user, DevicesPerUser devices each.
func (s *Sim) sharedDevices() []MemberID {
	d := s.sc.Group.DevicesPerUser
	out := make([]MemberID, 0, s.sc.Groups.SharedClients*d)
	for u := 1; u <= s.sc.Groups.SharedClients; u++ {
		for i := range d {
			out = append(out, MemberID(u*d+i))
		}
	}
	return out
}

// groupDir is group g's output directory inside a multi-group run's.
func groupDir(dir string, g int) string { return filepath.Join(dir, fmt.Sprintf("group=%d", g)) }

// runGroups runs a multi-group scenario: one run per group into
// OutDir/group=G/ (each an ordinary run's outputs), then OutDir/compromises.csv
// (every group's rows, with the columns group and client_updates first)
// and OutDir/summary.json (metrics pooled over the groups, see
// summarizeGroups).
func runGroups(ctx context.Context, sc *Scenario, opt Options) (*Summary, error) {
	if opt.Backend != nil {
		return nil, errors.New("a multi-group run (groups.count) creates one backend per group: Options.Backend must be nil")
	}
	wall := time.Now()
	if opt.OutDir != "" {
		if err := os.MkdirAll(opt.OutDir, 0o755); err != nil {
			return nil, fmt.Errorf("output directory: %w", err)
		}
	}
	var sims []*Sim
	var runErr error
	for g := range sc.Groups.Count {
		gsc := *sc
		gsc.Seed = groupSeed(sc.Seed, g)
		o := opt
		if opt.OutDir != "" {
			o.OutDir = groupDir(opt.OutDir, g)
		}
		s, err := New(&gsc, o)
		if err != nil {
			return nil, err
		}
		s.group = g
		s.ra = newStream(sc.Seed, streamAdversary)
		s.sharedAv = streamSeed(sc.Seed, streamAvailability)
		_, err = s.Run(ctx)
		sims = append(sims, s)
		if err != nil {
			runErr = fmt.Errorf("group %d: %w", g, err)
			if errors.Is(err, ErrInterrupted) {
				runErr = ErrInterrupted
			}
			break
		}
	}
	sum := summarize(sims, wall, runErr)
	sum.Scenario, sum.File, sum.Seed = sc.Name, sc.File, sc.Seed
	gs := sc.Groups
	gs.UpdateGroups = gs.updating()
	sum.Groups = &GroupsSummary{GroupsSpec: gs}
	for _, s := range sims {
		sum.Groups.Seeds = append(sum.Groups.Seeds, s.sc.Seed)
	}
	if opt.OutDir != "" {
		if err := mergeGroupCompromises(opt.OutDir, len(sims), gs.UpdateGroups); err != nil && runErr == nil {
			runErr = err
		}
		o := &outputs{dir: opt.OutDir}
		if err := o.writeSummary(sum); err != nil && runErr == nil {
			runErr = err
		}
	}
	return sum, runErr
}

// GroupsSummary is summary.json's groups section of a multi-group run:
// the scenario's groups section (update_groups resolved) and each group's
// seed.
type GroupsSummary struct {
	GroupsSpec
	Seeds []uint64 `json:"seeds"`
}

// mergeGroupCompromises writes dir/compromises.csv from the groups'
// files: group G's rows prefixed by G and by whether the shared clients
// run their own updates in G (client_updates).
func mergeGroupCompromises(dir string, groups, updating int) error {
	var b strings.Builder
	b.WriteString("group,client_updates,")
	b.WriteString(strings.Join(compromiseHeader, ","))
	b.WriteByte('\n')
	for g := range groups {
		data, err := os.ReadFile(filepath.Join(groupDir(dir, g), "compromises.csv"))
		if err != nil {
			return err
		}
		lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		for _, l := range lines[1:] {
			fmt.Fprintf(&b, "%d,%t,%s\n", g, g < updating, l)
		}
	}
	tmp := filepath.Join(dir, ".compromises.csv.tmp")
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "compromises.csv"))
}
