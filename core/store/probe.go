package store

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Defaults of Probe.
const (
	DefaultProbeTimeout  = 2 * time.Second
	DefaultProbeCacheFor = time.Second
)

// Pinger is what a Probe checks; a *pgxpool.Pool is one.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Probe tells whether the database answers, for a readiness endpoint. Its
// answer is kept for CacheFor, and callers arriving while a ping is under
// way wait for that one, so a flood of probes costs the pool at most one
// ping per CacheFor.
type Probe struct {
	DB Pinger
	// Timeout bounds one ping: a database that hangs reads as down.
	Timeout time.Duration
	// CacheFor is how long an answer is reused.
	CacheFor time.Duration
	// Now is the clock; tests set it.
	Now func() time.Time

	mu  sync.Mutex
	at  time.Time
	err error
	ok  bool // at and err hold an answer
}

// Check returns nil when the database answered a ping within the last
// CacheFor, else the error of the latest ping.
func (p *Probe) Check(ctx context.Context) error {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	cacheFor := p.CacheFor
	if cacheFor <= 0 {
		cacheFor = DefaultProbeCacheFor
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultProbeTimeout
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ok && now().Sub(p.at) < cacheFor {
		return p.err
	}
	// Not the caller's context alone: a prober that hangs up must not make
	// the next callers share a cancelled answer.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	err := p.DB.Ping(pctx)
	if err != nil {
		err = fmt.Errorf("pinging PostgreSQL: %w", err)
	}
	p.at, p.err, p.ok = now(), err, true
	return err
}
