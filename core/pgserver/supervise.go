package pgserver

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"
)

// supervision is the goroutine that watches the postmaster.
type supervision struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// errNotOurs ends supervision: someone else started a server in the data
// dir after ours died, and we were not told to adopt it.
var errNotOurs = errors.New("a server someone else started is running in the data dir")

// OnRestart registers fn to run after a supervised restart, for example to
// drop a pool's connections to the dead server at once rather than as each
// fails.
func (s *Server) OnRestart(fn func()) {
	s.hooksMu.Lock()
	defer s.hooksMu.Unlock()
	s.onRestart = append(s.onRestart, fn)
}

// Restarts counts the restarts supervision made.
func (s *Server) Restarts() int { return int(s.restarts.Load()) }

func (s *Server) supervise() {
	// Not Start's context: that one bounds starting, not the server's life.
	ctx, cancel := context.WithCancel(context.Background())
	sup := &supervision{cancel: cancel, done: make(chan struct{})}
	s.supervision = sup
	go func() {
		defer close(sup.done)
		s.watch(ctx)
	}()
}

// endSupervision stops the watching goroutine and waits for it; a restart
// under way is left to finish (or fail and clean up after itself) rather
// than cut short, which could leave a postmaster that nobody stops.
func (s *Server) endSupervision(ctx context.Context) error {
	sup := s.supervision
	if sup == nil {
		return nil
	}
	sup.cancel()
	select {
	case <-sup.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stopping PostgreSQL in %s: waiting for its restart to finish: %w", s.dataDir, ctx.Err())
	}
}

func (s *Server) watch(ctx context.Context) {
	tick := time.NewTicker(superviseInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		pid := s.PID()
		if processAlive(pid) {
			continue
		}
		if !s.recover(ctx, pid) {
			return
		}
	}
}

// recover restarts a dead server, pausing longer after each failure. It
// returns false when supervision is to end.
func (s *Server) recover(ctx context.Context, pid int) bool {
	down := time.Now()
	s.logger.Error("PostgreSQL postmaster is gone; restarting it", "pid", pid)
	delay := s.backoff
	for attempt := 1; ; attempt++ {
		err := s.restart(ctx)
		switch {
		case err == nil:
			s.restarts.Add(1)
			restartsTotal.Inc()
			s.logger.Info("PostgreSQL restarted", "attempt", attempt, "down_for", time.Since(down).Round(time.Millisecond), "pid", s.PID())
			s.hooksMu.Lock()
			hooks := append([]func(){}, s.onRestart...)
			s.hooksMu.Unlock()
			for _, fn := range hooks {
				fn()
			}
			return true
		case errors.Is(err, errNotOurs):
			s.logger.Warn("PostgreSQL was started again by someone else; leaving it to them and no longer supervising it")
			return false
		case ctx.Err() != nil:
			return false
		}
		restartFailuresTotal.Inc()
		s.logger.Error("restarting PostgreSQL failed; trying again", "attempt", attempt, "retry_in", delay, "error", err)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(delay):
		}
		delay = nextBackoff(delay, s.backoffMax)
	}
}

func nextBackoff(d, limit time.Duration) time.Duration {
	return min(2*d, limit)
}

// restart is one attempt. Its context is not supervision's: Stop waits for
// an attempt rather than cancelling it half way.
func (s *Server) restart(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), defaultWait)
	defer cancel()
	// An operator or another process may have started it meanwhile.
	reused, err := s.reuseRunning(ctx)
	if err != nil {
		return err
	}
	if reused {
		if !s.adopt {
			return errNotOurs
		}
		return nil
	}
	// A temp cleaner may have removed the fallback socket dir, or someone
	// the log dir, while the server ran.
	if err := s.prepareLogDir(); err != nil {
		return err
	}
	if err := s.prepareSocketDir(); err != nil {
		return err
	}
	return s.start(ctx, s.settings)
}

// processAlive reports whether pid exists. The postmaster is not our child
// (pg_ctl detaches it), so there is no wait status to read; kill(pid, 0)
// asks the kernel without sending anything; EPERM still means it exists.
// A pid reused by another process within one poll would go unnoticed, which
// the kernel's slow pid wrap-around makes unlikely.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
