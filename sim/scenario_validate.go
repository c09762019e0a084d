package sim

// This file owns scenario validation: Validate checks every section's
// parameters (the groups section's are in groups.go, validateGroups) and
// returns the first problem as a *ScenarioError naming the field.

import (
	"fmt"
	"math"
	"time"

	"github.com/mlslab/mlslab/sim/size"
)

func oneOf(v string, allowed ...string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

// Validate checks every parameter; the first problem is returned as a
// *ScenarioError naming the field.
func (sc *Scenario) Validate() error {
	e := sc.fieldErr
	if sc.Duration <= 0 {
		return e("duration", "must be positive, got %s", sc.Duration)
	}
	if sc.SampleReceivers < 0 {
		return e("sample_receivers", "must not be negative (0 = 8), got %d", sc.SampleReceivers)
	}
	if !oneOf(sc.Fidelity, "model", "sampled", "full") {
		return e("fidelity", "unknown fidelity %q (want model, sampled or full)", sc.Fidelity)
	}
	if _, ok := size.SuiteByID(sc.Suite); !ok {
		return e("suite", "unknown cipher suite %d (want 1..7 or a post-quantum suite 81..88 = 0x51..0x58)", sc.Suite)
	}
	g := sc.Group
	switch {
	case g.DevicesPerUser < 1 || g.DevicesPerUser > 64:
		return e("group.devices_per_user", "must be in 1..64, got %d", g.DevicesPerUser)
	case g.IdentityBytes < 0 || g.IdentityBytes > 1<<16:
		return e("group.identity_bytes", "must be in 0..65536, got %d", g.IdentityBytes)
	case g.GroupIDBytes < 0 || g.GroupIDBytes > 255:
		return e("group.group_id_bytes", "must be in 0..255, got %d", g.GroupIDBytes)
	case g.AuthenticatedData < 0 || g.AuthenticatedData > 1<<16:
		return e("group.authenticated_data_bytes", "must be in 0..65536, got %d", g.AuthenticatedData)
	case g.PaddingBlock < 0 || g.PaddingBlock > 1<<16:
		return e("group.padding_block", "must be in 0..65536, got %d", g.PaddingBlock)
	case !oneOf(g.Handshake, "public", "private"):
		return e("group.handshake", "unknown wire format %q (want public or private)", g.Handshake)
	}
	p := sc.Population
	if p.InitialUsers < 1 {
		return e("population.initial_users", "must be at least 1 (the group creator), got %d", p.InitialUsers)
	}
	if p.InitialUsers*g.DevicesPerUser > 1<<30 {
		return e("population.initial_users", "too many members")
	}
	for i, ph := range p.Phases {
		f := fmt.Sprintf("population.phases.%d", i)
		switch {
		case ph.Duration < 0:
			return e(f+".duration", "must not be negative")
		case ph.TargetUsers < 0:
			return e(f+".target_users", "must not be negative, got %d", ph.TargetUsers)
		case ph.JoinRate.PerSecond < 0:
			return e(f+".join_rate", "must not be negative, got %s", ph.JoinRate)
		case ph.LeaveRate.PerSecond < 0:
			return e(f+".leave_rate", "must not be negative, got %s", ph.LeaveRate)
		case ph.TargetUsers > 0 && ph.JoinRate.PerSecond == 0:
			return e(f+".join_rate", "a phase with target_users needs a positive join_rate")
		case ph.TargetUsers*g.DevicesPerUser > 1<<30:
			return e(f+".target_users", "too many members (max 2^30 leaves)")
		}
	}
	po := sc.Policy
	switch {
	case !oneOf(po.Committer, "proposer", "designated", "random"):
		return e("policy.committer", "unknown policy %q (want proposer, designated or random)", po.Committer)
	case po.DesignatedCommitters < 1:
		return e("policy.designated_committers", "must be at least 1, got %d", po.DesignatedCommitters)
	case !oneOf(po.UpdateAs, "commit", "proposal"):
		return e("policy.update_as", "unknown value %q (want commit or proposal)", po.UpdateAs)
	case !oneOf(po.Path, "always", "when_required"):
		return e("policy.path", "unknown value %q (want always or when_required)", po.Path)
	case po.CommitDelay < 0:
		return e("policy.commit_delay", "must not be negative")
	case po.MaxProposalsPerCommit < 0:
		return e("policy.max_proposals_per_commit", "must not be negative (0 = unlimited), got %d", po.MaxProposalsPerCommit)
	case po.MinProposalsPerCommit < 0:
		return e("policy.min_proposals_per_commit", "must not be negative (0 = off), got %d", po.MinProposalsPerCommit)
	case po.MinProposalsPerCommit > 0 && po.Committer != "random":
		return e("policy.min_proposals_per_commit", "needs policy.committer random")
	case po.MaxProposalsPerCommit > 0 && po.MinProposalsPerCommit > po.MaxProposalsPerCommit:
		return e("policy.min_proposals_per_commit", "%d exceeds policy.max_proposals_per_commit %d", po.MinProposalsPerCommit, po.MaxProposalsPerCommit)
	case po.SelfUpdate.Interval < 0:
		return e("policy.self_update.interval", "must not be negative (0 = off)")
	case po.SelfUpdate.FirstAfter < 0:
		return e("policy.self_update.first_after", "must not be negative (0 = one interval)")
	case po.SelfUpdate.FirstAfter > 0 && po.SelfUpdate.Interval == 0:
		return e("policy.self_update.first_after", "needs policy.self_update.interval (self-updates are off)")
	case po.SelfUpdate.Jitter < 0 || po.SelfUpdate.Jitter >= 1 || math.IsNaN(po.SelfUpdate.Jitter):
		return e("policy.self_update.jitter", "must be in [0, 1), got %v", po.SelfUpdate.Jitter)
	case po.UpdateOnSendIdle < 0:
		return e("policy.update_on_send_idle", "must not be negative (0 = off)")
	case po.AddBatch.Size < 1:
		return e("policy.add_batch.size", "must be at least 1, got %d", po.AddBatch.Size)
	case po.AddBatch.MaxWait < 0:
		return e("policy.add_batch.max_wait", "must not be negative")
	case po.RemoveInactiveAfter < 0:
		return e("policy.remove_inactive_after", "must not be negative (0 = off)")
	case po.RetryBackoff < 0:
		return e("policy.retry_backoff", "must not be negative")
	}
	t := sc.Traffic
	switch {
	case t.AppRatePerMember.PerSecond < 0:
		return e("traffic.app_rate_per_member", "must not be negative, got %s", t.AppRatePerMember)
	case t.AppBytes < 0 || t.AppBytes > 1<<20:
		return e("traffic.app_bytes", "must be in 0..1048576, got %d", t.AppBytes)
	}
	l := sc.Network.Latency
	switch l.Dist {
	case "fixed":
		if l.Value < 0 {
			return e("network.latency.value", "must not be negative")
		}
	case "uniform":
		if l.Min < 0 || l.Max < l.Min {
			return e("network.latency.max", "need 0 <= min <= max, got min %s max %s", l.Min, l.Max)
		}
	case "lognormal":
		if l.Median <= 0 {
			return e("network.latency.median", "must be positive for lognormal")
		}
		if l.Sigma < 0 || l.Sigma > 5 || math.IsNaN(l.Sigma) {
			return e("network.latency.sigma", "must be in [0, 5], got %v", l.Sigma)
		}
	default:
		return e("network.latency.dist", "unknown distribution %q (want fixed, uniform or lognormal)", l.Dist)
	}
	o := sc.Network.Offline
	switch o.Mode {
	case "none":
	case "random":
		if o.MeanOnline <= 0 {
			return e("network.offline.mean_online", "must be positive for mode random")
		}
		if o.MeanOffline <= 0 {
			return e("network.offline.mean_offline", "must be positive for mode random")
		}
	case "workday":
		if o.DayStart < 0 || o.DayStart >= Duration(24*time.Hour) {
			return e("network.offline.day_start", "must be a time of day in [0, 24h)")
		}
		if o.DayEnd <= o.DayStart || o.DayEnd > Duration(24*time.Hour) {
			return e("network.offline.day_end", "must be after day_start and at most 24h")
		}
		if o.Jitter < 0 {
			return e("network.offline.jitter", "must not be negative")
		}
	default:
		return e("network.offline.mode", "unknown mode %q (want none, random or workday)", o.Mode)
	}
	if o.AlwaysOnlineDevices < 0 {
		return e("network.offline.always_online_devices", "must not be negative")
	}
	a := sc.Adversary
	for i, c := range a.Compromises {
		if c.At < 0 || c.At > sc.Duration {
			return e(fmt.Sprintf("adversary.compromises.%d.at", i), "must be within the run (0..%s), got %s", sc.Duration, c.At)
		}
	}
	if a.Rate.PerSecond < 0 {
		return e("adversary.rate", "must not be negative, got %s", a.Rate)
	}
	if a.SignatureKeyFraction < 0 || a.SignatureKeyFraction > 1 || math.IsNaN(a.SignatureKeyFraction) {
		return e("adversary.signature_key_fraction", "must be in [0, 1], got %v", a.SignatureKeyFraction)
	}
	if a.Rejoin && !sc.Group.ExternalCommits {
		return e("adversary.rejoin", "needs group.external_commits: true (a rejoin is an external commit)")
	}
	if a.Rejoin && sc.Fidelity != "model" {
		return e("adversary.rejoin", "is modelled at fidelity model only (package mls builds no external commits), not %s", sc.Fidelity)
	}
	if err := sc.validateGroups(); err != nil {
		return err
	}
	return sc.Operations.validate(sc)
}
