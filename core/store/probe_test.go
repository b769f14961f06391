package store_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/pgserver"
	"github.com/hotline12345/hotline/core/pgtest"
	"github.com/hotline12345/hotline/core/store"
)

// countingPinger counts the pings that reach the real pool.
type countingPinger struct {
	db store.Pinger
	n  atomic.Int64
}

func (c *countingPinger) Ping(ctx context.Context) error {
	c.n.Add(1)
	return c.db.Ping(ctx)
}

func TestProbeCachesItsAnswer(t *testing.T) {
	db := &countingPinger{db: pgtest.Pool(t)}
	var mu sync.Mutex
	clock := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	p := &store.Probe{DB: db, CacheFor: time.Second, Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }}
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }

	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 200 {
		wg.Go(func() {
			if p.Check(t.Context()) != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Zero(t, failed.Load())
	assert.Equal(t, int64(1), db.n.Load(), "a flood of probes costs one ping")

	advance(999 * time.Millisecond)
	require.NoError(t, p.Check(t.Context()))
	assert.Equal(t, int64(1), db.n.Load(), "still fresh")
	advance(time.Millisecond)
	require.NoError(t, p.Check(t.Context()))
	assert.Equal(t, int64(2), db.n.Load(), "stale answers are asked again")
}

// hangingPinger is a database that accepts and never answers.
type hangingPinger struct{}

func (hangingPinger) Ping(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestProbeTimesOutOnAHangingDatabase(t *testing.T) {
	p := &store.Probe{DB: hangingPinger{}, Timeout: 100 * time.Millisecond}
	start := time.Now()
	err := p.Check(context.Background())
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Contains(t, err.Error(), "pinging PostgreSQL")
}

func TestProbeIgnoresACallerThatHangsUp(t *testing.T) {
	p := &store.Probe{DB: pgtest.Pool(t)}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.NoError(t, p.Check(ctx), "one prober hanging up does not make the database look down to the others")
}

// TestProbeFollowsAKilledServer kills a private server's postmaster and
// starts it again: the probe says down, then up.
func TestProbeFollowsAKilledServer(t *testing.T) {
	if _, err := pgserver.FindBinaries(""); errors.Is(err, pgserver.ErrNoBinaries) {
		t.Skip(err)
	}
	dataDir := filepath.Join(t.TempDir(), "pg")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts := pgserver.Options{DataDir: dataDir, Settings: pgserver.TestSettings, Logger: slog.New(slog.DiscardHandler)}
	srv, err := pgserver.Start(ctx, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	pool, err := store.Open(ctx, srv.ConnString(""))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	p := &store.Probe{DB: pool, CacheFor: 50 * time.Millisecond}
	require.NoError(t, p.Check(ctx))

	pidFile, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.SplitN(string(pidFile), "\n", 2)[0])
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	require.Eventually(t, func() bool { return p.Check(ctx) != nil }, 10*time.Second, 20*time.Millisecond, "down is noticed")
	err = p.Check(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "pinging PostgreSQL")
	assert.True(t, store.Unavailable(err), "a dead server reads as unavailable: %v", err)
	_, err = pool.Exec(ctx, "select 1")
	assert.True(t, store.Unavailable(err), "so does a query through the pool: %v", err)

	// Its children leave shortly after the postmaster; then it can start.
	var again *pgserver.Server
	require.Eventually(t, func() bool {
		again, err = pgserver.Start(ctx, opts)
		return err == nil
	}, 30*time.Second, 200*time.Millisecond)
	t.Cleanup(func() { _ = again.Stop(context.Background()) })
	require.Eventually(t, func() bool { return p.Check(ctx) == nil }, 10*time.Second, 20*time.Millisecond,
		"up again once the server is back, through the same pool")
}
