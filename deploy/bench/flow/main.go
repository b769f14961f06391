// Command flow benchmarks performAction: concurrent users acting on random
// tickets of a large database, through the real engine, on a private
// PostgreSQL. It prints p50/p99 latency and throughput for README.
//
//	go run ./deploy/bench/flow -tickets 1000000 -users 100 -duration 60s
//
// Without -rate the users act back to back (a closed loop: throughput at
// saturation, and latency mostly the queue of 100 users on the cores).
// With -rate the actions arrive at that many per second, shared by the
// users (an open loop, like a centre's agents at work), and latency is
// counted from when each action was due, so a backlog shows in it.
//
// The outbox dispatcher runs beside the users, as in `hotline serve`
// (-dispatcher=false leaves the outbox undelivered, as before issue 16),
// with delivered rows kept for -retention; the run prints how far delivery
// fell behind and how many rows the outbox holds at the end.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hotline12345/hotline/core/app"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/outbox"
	"github.com/hotline12345/hotline/core/pgserver"
	"github.com/hotline12345/hotline/deploy/demo"
)

var (
	indexed    *bool
	dispatch   *bool
	retainedAt *time.Duration
)

func main() {
	tickets := flag.Int("tickets", 1_000_000, "tickets in the database")
	users := flag.Int("users", 100, "concurrent users")
	duration := flag.Duration("duration", time.Minute, "how long to run")
	dataDir := flag.String("data", "", "PostgreSQL data folder to keep between runs (default: a temporary one)")
	rate := flag.Int("rate", 0, "actions per second arriving (open loop); 0 for back to back")
	indexed = flag.Bool("indexed", false, "act only on tickets that already have a search index row")
	dispatch = flag.Bool("dispatcher", true, "run the outbox dispatcher during the run, as hotline serve does")
	retainedAt = flag.Duration("retention", time.Minute, "how long delivered outbox rows are kept (HOTLINE_OUTBOX_RETENTION; short here so the table stays bounded across runs)")
	flag.Parse()
	if err := run(*tickets, *users, *rate, *duration, *dataDir); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(n, users, rate int, duration time.Duration, dataDir string) error {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if dataDir == "" {
		dir, err := os.MkdirTemp("", "hotline-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		dataDir = filepath.Join(dir, "pg")
	}
	// Durable settings, as in production: the figures include the commit.
	srv, err := pgserver.Start(ctx, pgserver.Options{DataDir: dataDir, Logger: log, Settings: map[string]string{"max_connections": "300", "shared_buffers": "512MB"}})
	if err != nil {
		return err
	}
	defer srv.Stop(context.Background()) //nolint:errcheck
	// The platform starts as `hotline serve` starts it (migrations, the
	// configuration of this checkout with its lint, every module), on the
	// private PostgreSQL above.
	cfg, err := app.FromEnv()
	if err != nil {
		return err
	}
	files, err := os.MkdirTemp("", "hotline-bench-files-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(files)
	cfg.DatabaseURL, cfg.DataDir = srv.ConnString("postgres")+" pool_max_conns=60", files
	cfg.AdminPassword = password
	cfg.OutboxRetention = *retainedAt
	return app.WithTools(ctx, cfg, app.Options{}, log, func(t app.Tools) error {
		return bench(ctx, t, cfg, log, n, users, rate, duration)
	})
}

const password = "Bench-Pass-1"

func bench(ctx context.Context, t app.Tools, cfg app.Config, log *slog.Logger, n, users, rate int, duration time.Duration) error {
	pool, ids := t.Pool, t.Identity
	seed, ok := identity.OrganisationSeed(t.Config.Current(), demo.Organisation)
	if !ok {
		return fmt.Errorf("the configuration has no organisation %s", demo.Organisation)
	}
	for i := 0; i < users; i++ {
		seed.Users = append(seed.Users, identity.SeedUser{Username: fmt.Sprintf("agent%03d", i), DisplayName: "话务员", Unit: "12345", Roles: []string{"agent"}})
	}
	if _, _, err := ids.LoadSeed(ctx, seed, password); err != nil {
		return err
	}

	var have int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM tickets`).Scan(&have); err != nil {
		return err
	}
	if have < n {
		start := time.Now()
		fmt.Fprintf(os.Stderr, "generating %d tickets…\n", n-have)
		// Tickets in 部门处办中 held by the heating company, each with its
		// registration and dispatch events, as a year of a busy centre.
		_, err := pool.Exec(ctx, `
			INSERT INTO tickets (number, flow, flow_version, state, version, holder_unit_id, scope_path, creator_id, fields, counts, deadline, created_at, updated_at)
			SELECT 'B' || lpad(g::text, 10, '0'), 'ticket', v.version, 'dept_handling', 2, u.id, u.path, a.id,
				jsonb_build_object('title', '供暖问题 ' || g, 'content', '室温不达标，请尽快处理', 'type', '投诉', 'dept', 'gr'),
				'{"register": 1, "dispatch": 1}', now() + interval '10 days', now() - (g % 365) * interval '1 day', now()
			FROM generate_series($1::int + 1, $2::int) g, units u, users a, config_active v
			WHERE u.code = 'gr' AND a.username = 'agent000' AND v.kind = 'flow' AND v.name = 'ticket'`, have, n)
		if err != nil {
			return fmt.Errorf("generating tickets: %w", err)
		}
		_, err = pool.Exec(ctx, `
			INSERT INTO ticket_events (ticket_id, ticket_version, flow_version, action, actor_id, actor, from_state, to_state, input, at)
			SELECT t.id, v, 1, CASE v WHEN 1 THEN 'register' ELSE 'dispatch' END, t.creator_id, 'agent000',
				CASE v WHEN 1 THEN '' ELSE 'first_review' END, CASE v WHEN 1 THEN 'first_review' ELSE 'dept_handling' END, '{}', t.created_at
			FROM tickets t, generate_series(1, 2) v WHERE t.id > $1`, have)
		if err != nil {
			return fmt.Errorf("generating events: %w", err)
		}
		for _, table := range []string{"tickets", "ticket_events"} {
			if _, err := pool.Exec(ctx, `VACUUM ANALYZE `+table); err != nil {
				return err
			}
		}
		fmt.Fprintf(os.Stderr, "generated in %s\n", time.Since(start).Round(time.Second))
	}
	var minID, maxID int64
	if err := pool.QueryRow(ctx, `SELECT min(id), max(id) FROM tickets`).Scan(&minID, &maxID); err != nil {
		return err
	}
	// The tickets made above have no search index row until their first
	// action; in production every ticket has one from its registration.
	// With -indexed the users act only on tickets that have one, so an
	// action updates its row as it would in production.
	var indexedIDs []int64
	if *indexed {
		rows, err := pool.Query(ctx, `SELECT ticket_id FROM ticket_search`)
		if err != nil {
			return err
		}
		if indexedIDs, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
			return err
		}
		if len(indexedIDs) == 0 {
			return fmt.Errorf("-indexed: no ticket has an index row yet (run once without it)")
		}
	}

	eng := t.Tickets
	var outboxStats func() string
	if *dispatch {
		octx, stop := context.WithCancel(ctx)
		defer stop()
		feed := &outbox.Feed{Pool: pool, Log: log}
		d := app.Dispatcher(cfg, pool, t.Config, feed, log)
		go feed.Run(octx)
		<-feed.Listening()
		// Catch up with what earlier runs left undelivered before timing.
		for {
			n, err := d.Deliver(ctx)
			if err != nil {
				return err
			}
			if n == 0 {
				break
			}
		}
		if _, err := d.Prune(ctx); err != nil {
			return err
		}
		go d.Run(octx)
		outboxStats = sampleOutbox(octx, pool)
	}
	principals := make([]*identity.Principal, users)
	for i := range principals {
		res, err := ids.Login(ctx, fmt.Sprintf("agent%03d", i), password)
		if err != nil {
			return err
		}
		principals[i] = res.Principal
	}
	fmt.Fprintf(os.Stderr, "running %d users for %s…\n", users, duration)
	// due carries, in the open loop, the time each action was due.
	var due chan time.Time
	if rate > 0 {
		due = make(chan time.Time, rate*int(duration.Seconds()+1))
		go func() {
			defer close(due)
			start := time.Now()
			interval := time.Second / time.Duration(rate)
			for i := 0; ; i++ {
				at := start.Add(time.Duration(i) * interval)
				if at.After(start.Add(duration)) {
					return
				}
				time.Sleep(time.Until(at))
				due <- at
			}
		}()
	}
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	for i := 0; i < users; i++ {
		wg.Add(1)
		go func(p *identity.Principal, seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 7))
			var mine []time.Duration
			bad := 0
			for {
				var t0 time.Time
				if due != nil {
					at, ok := <-due
					if !ok {
						break
					}
					t0 = at
				} else {
					if !time.Now().Before(deadline) {
						break
					}
					t0 = time.Now()
				}
				id := minID + r.Int64N(maxID-minID+1)
				if indexedIDs != nil {
					id = indexedIDs[r.IntN(len(indexedIDs))]
				}
				// 催单: an agent urges a ticket in handling; the action runs
				// the whole path (lock, permission, form, effects, notice,
				// event, outbox).
				_, err := eng.Perform(ctx, p, id, "urge", map[string]any{"urge_content": "诉求人再次来电催办"}, nil)
				mine = append(mine, time.Since(t0))
				if err != nil {
					bad++
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += bad
			mu.Unlock()
		}(principals[i], uint64(i))
	}
	wg.Wait()
	if outboxStats != nil {
		fmt.Fprintln(os.Stderr, outboxStats())
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[int(float64(len(lat)-1)*p)] }
	mode := "back to back"
	if rate > 0 {
		mode = fmt.Sprintf("arriving at %d/s", rate)
	}
	fmt.Printf("performAction (urge) on %d tickets, %d concurrent users %s, %s: %d actions, %.0f/s, p50 %s, p99 %s, errors %d\n",
		maxID-minID+1, users, mode, duration, len(lat), float64(len(lat))/duration.Seconds(),
		pct(0.50).Round(100*time.Microsecond), pct(0.99).Round(100*time.Microsecond), errs)
	return nil
}

// sampleOutbox counts the undelivered outbox rows every second; the
// returned function reports the largest backlog seen, how long the backlog
// takes to drain after the run, and the rows the table holds then.
func sampleOutbox(ctx context.Context, pool interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}) func() string {
	var mu sync.Mutex
	maxPending := 0
	pending := func() int {
		var n int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE processed_at IS NULL AND dead_at IS NULL`).Scan(&n)
		return n
	}
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				n := pending()
				mu.Lock()
				maxPending = max(maxPending, n)
				mu.Unlock()
			}
		}
	}()
	return func() string {
		start := time.Now()
		for pending() > 0 && time.Since(start) < time.Minute {
			time.Sleep(50 * time.Millisecond)
		}
		var rows, dead int
		_ = pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE dead_at IS NOT NULL) FROM outbox`).Scan(&rows, &dead)
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprintf("outbox: largest backlog %d rows, drained %s after the run, %d rows in the table (%d dead letters)",
			maxPending, time.Since(start).Round(10*time.Millisecond), rows, dead)
	}
}
