package sipguard

import (
	"net/netip"
	"sync"
	"time"

	"github.com/hotline12345/hotline/core/sourceaddr"
)

// Rate limits the messages each source may send: a token bucket per
// source, filled at PerSecond up to Burst. A source is what
// sourceaddr.Key makes of the address: an IPv4 address, or an IPv6 /64,
// since one IPv6 host can send from every address of its /64. The table
// of sources is bounded: once it holds maxSources, sources whose bucket
// has refilled are forgotten, and while it is still full new sources
// share one bucket, so a flood of forged sources costs memory once and
// cannot starve the sources already known.
type Rate struct {
	PerSecond float64
	Burst     float64

	mu       sync.Mutex
	sources  map[netip.Prefix]*bucket
	overflow bucket
	max      int
	// lastSweep is when the full table was last swept: a sweep walks
	// every source under the lock, and no bucket can refill sooner than
	// a refill interval after the last one, so sweeping again before
	// then would find little to forget and, under a flood of new
	// sources, walk 65,536 entries for every packet.
	lastSweep time.Time
	sweeps    int // for tests
}

type bucket struct {
	tokens float64
	at     time.Time
}

const maxSources = 1 << 16

// NewRate limits each source to perSecond messages a second with bursts
// of burst; perSecond 0 or less turns the limit off (nil).
func NewRate(perSecond, burst float64) *Rate {
	if perSecond <= 0 {
		return nil
	}
	if burst < 1 {
		burst = perSecond
	}
	return &Rate{PerSecond: perSecond, Burst: burst, sources: map[netip.Prefix]*bucket{}, max: maxSources}
}

// Allow takes one message from src's bucket and reports whether it had one.
func (r *Rate) Allow(src netip.Addr, now time.Time) bool {
	if r == nil {
		return true
	}
	key := sourceaddr.Key(src)
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.sources[key]
	if !ok {
		if len(r.sources) >= r.max && (r.sweeps == 0 || now.Sub(r.lastSweep) >= r.refill() || now.Before(r.lastSweep)) {
			r.sweep(now)
		}
		if len(r.sources) >= r.max {
			b = &r.overflow
		} else {
			b = &bucket{tokens: r.Burst, at: now}
			r.sources[key] = b
		}
	}
	b.tokens = min(r.Burst, b.tokens+now.Sub(b.at).Seconds()*r.PerSecond)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// refill is how long an empty bucket takes to fill.
func (r *Rate) refill() time.Duration {
	return time.Duration(r.Burst / r.PerSecond * float64(time.Second))
}

// sweep forgets the sources whose bucket would be full by now.
func (r *Rate) sweep(now time.Time) {
	r.lastSweep = now
	r.sweeps++
	full := r.refill()
	for src, b := range r.sources {
		if now.Sub(b.at) >= full {
			delete(r.sources, src)
		}
	}
}
