package sim

import (
	"math"
	"math/rand/v2"
	"time"
)

// Stream identifiers: one seeded math/rand/v2 source per concern
// (CONVENTIONS.md item 12).
//
// Common random numbers. The world a run simulates — who joins and leaves
// when (membership), when each device is online (availability), when each
// device sends application messages (traffic), and when compromises
// happen and whom they hit (adversary) — is drawn independently of the
// update and commit policy, so policy variants of one scenario and seed
// (`mlssim sweep --grid policy...`) compare the same world:
//   - membership: join and leave times and the leaving user come from their
//     own stream, consumed only by join and leave events, which depend on
//     nothing else;
//   - availability and traffic: per-device counter-based draws (a pure
//     function of the stream seed, the device and the draw's index on that
//     device's own timeline, which starts when the device's user joins);
//   - adversary: the whole compromise schedule (times, victim draws,
//     signature-key flags) is drawn at the start; a victim draw indexes
//     the devices of the users then in the group, by member id.
//
// The workload stream is left to the policy's own randomness (self-update
// jitter, committer choice, commit delays, retry backoff), and the network
// stream to the delays drawn in event order.
const (
	streamWorkload     = 1
	streamNetwork      = 2
	streamAdversary    = 3
	streamKeys         = 4
	streamMembership   = 5
	streamAvailability = 6
	streamTraffic      = 7
)

// counterDraw is draw number n of entity m of the counter-based stream
// with the given seed, uniform in [0, 1).
func counterDraw(seed uint64, m MemberID, n uint64) float64 {
	return unit(splitmix(splitmix(seed^uint64(uint32(m))*0xd6e8feb86659fd93) ^ n*0xa0761d6478bd642f))
}

// expFrom is an exponential duration with the given mean from a uniform
// u in [0, 1) (inversion).
func expFrom(u float64, mean time.Duration) time.Duration {
	d := -math.Log1p(-u) * float64(mean)
	if d > float64(math.MaxInt64/2) {
		return math.MaxInt64 / 2
	}
	return time.Duration(d)
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func streamSeed(seed, stream uint64) uint64 {
	return splitmix(splitmix(seed) ^ splitmix(stream*0x632be59bd9b4e019))
}

func newStream(seed, stream uint64) *rand.Rand {
	s := streamSeed(seed, stream)
	return rand.New(rand.NewPCG(s, splitmix(s)))
}

// unit maps 53 bits of h to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// latency draws one-way delays. Per-member per-epoch delivery delays are a
// pure function of (network seed, member, epoch) — a counter-based draw — so
// members' receive queues can be evaluated lazily in any order and still be
// reproducible; other delays come from the network stream in event order.
type latency struct {
	spec     Latency
	seed     uint64
	mu       float64 // lognormal location
	min, max time.Duration
}

// lognormalCap truncates lognormal delays at median*exp(6 sigma) (a
// probability of about 1e-9) and at most one hour, so delays are bounded;
// member epochs are then evaluated in time independent of the number of
// epochs skipped (see Sim.advance).
func newLatency(spec Latency, seed uint64) *latency {
	l := &latency{spec: spec, seed: seed}
	switch spec.Dist {
	case "lognormal":
		l.mu = math.Log(spec.Median.D().Seconds())
		l.min = 0
		l.max = min(time.Hour, time.Duration(float64(spec.Median.D())*math.Exp(6*spec.Sigma)))
	case "uniform":
		l.min, l.max = spec.Min.D(), spec.Max.D()
	default:
		l.min, l.max = spec.Value.D(), spec.Value.D()
	}
	return l
}

func (l *latency) fromUniform(u1, u2 float64) time.Duration {
	switch l.spec.Dist {
	case "uniform":
		return l.spec.Min.D() + time.Duration(u1*float64(l.spec.Max.D()-l.spec.Min.D()))
	case "lognormal":
		// Box-Muller; u1 in (0,1].
		z := math.Sqrt(-2*math.Log(1-u1)) * math.Cos(2*math.Pi*u2)
		d := time.Duration(math.Exp(l.mu+l.spec.Sigma*z) * float64(time.Second))
		return min(d, l.max)
	default:
		return l.spec.Value.D()
	}
}

// delivery is the delay for member m to receive the message of epoch e.
func (l *latency) delivery(m MemberID, e uint64) time.Duration {
	if l.spec.Dist == "fixed" {
		return l.spec.Value.D()
	}
	h := splitmix(l.seed ^ uint64(uint32(m))*0xd6e8feb86659fd93 ^ e*0xa0761d6478bd642f)
	return l.fromUniform(unit(h), unit(splitmix(h)))
}

// draw is a delay from the network stream.
func (l *latency) draw(r *rand.Rand) time.Duration {
	if l.spec.Dist == "fixed" {
		return l.spec.Value.D()
	}
	return l.fromUniform(r.Float64(), r.Float64())
}

// expDur draws an exponential duration with the given mean.
func expDur(r *rand.Rand, mean time.Duration) time.Duration {
	return time.Duration(r.ExpFloat64() * float64(mean))
}

// expRate draws the time to the next event of a Poisson process.
func expRate(r *rand.Rand, perSecond float64) time.Duration {
	if perSecond <= 0 {
		return math.MaxInt64
	}
	d := r.ExpFloat64() / perSecond * float64(time.Second)
	if d > float64(math.MaxInt64/2) {
		return math.MaxInt64 / 2
	}
	return time.Duration(d)
}
