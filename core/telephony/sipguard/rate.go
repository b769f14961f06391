package sipguard

import (
	"net/netip"
	"sync"
	"time"
)

// Rate limits the messages each source address may send: a token bucket
// per address, filled at PerSecond up to Burst. The table of addresses is
// bounded: once it holds maxSources, addresses whose bucket has refilled
// are forgotten, and while it is still full new addresses share one
// bucket, so a flood of forged sources costs memory once and cannot
// starve the sources already known.
type Rate struct {
	PerSecond float64
	Burst     float64

	mu       sync.Mutex
	sources  map[netip.Addr]*bucket
	overflow bucket
	max      int
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
	return &Rate{PerSecond: perSecond, Burst: burst, sources: map[netip.Addr]*bucket{}, max: maxSources}
}

// Allow takes one message from src's bucket and reports whether it had one.
func (r *Rate) Allow(src netip.Addr, now time.Time) bool {
	if r == nil {
		return true
	}
	src = src.Unmap()
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.sources[src]
	if !ok {
		if len(r.sources) >= r.max {
			r.sweep(now)
		}
		if len(r.sources) >= r.max {
			b = &r.overflow
		} else {
			b = &bucket{tokens: r.Burst, at: now}
			r.sources[src] = b
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

// sweep forgets the sources whose bucket would be full by now.
func (r *Rate) sweep(now time.Time) {
	full := time.Duration(r.Burst / r.PerSecond * float64(time.Second))
	for src, b := range r.sources {
		if now.Sub(b.at) >= full {
			delete(r.sources, src)
		}
	}
}
