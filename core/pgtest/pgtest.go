// Package pgtest gives tests a fresh, migrated PostgreSQL database on a real
// server. `make test` starts one private server for the whole run (through
// `hotline testdb`) and passes its address in HOTLINE_TEST_PG; a package run
// on its own with plain `go test` starts a private server of its own, which
// Main stops. Each database is cloned from a migrated template, which takes
// a fraction of the time migrating would.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/core/pgserver"
	"github.com/hotline12345/hotline/core/store"
	"github.com/hotline12345/hotline/schema"
)

// EnvVar carries the admin connection string of a shared test server.
const EnvVar = pgserver.TestEnvVar

var (
	once     sync.Once
	adminURL string
	private  *pgserver.Server
	setupErr error
	dir      string
)

func setup() {
	if url := os.Getenv(EnvVar); url != "" {
		adminURL = url
		return
	}
	dir, setupErr = os.MkdirTemp("", "hotline-pgtest-")
	if setupErr != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	private, setupErr = pgserver.Start(ctx, pgserver.Options{DataDir: dir + "/pg", Settings: pgserver.TestSettings,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if setupErr == nil {
		adminURL = private.ConnString("postgres")
	}
}

// Main runs a package's tests and stops a private server if one was
// started. Use it from TestMain: func TestMain(m *testing.M) { pgtest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	if private != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_ = private.Stop(ctx)
		cancel()
		_ = os.RemoveAll(dir)
	}
	os.Exit(code)
}

// templateLock serialises template creation among test processes sharing
// a server.
const templateLock int64 = 0x74656d706c617465

var (
	tmplOnce sync.Once
	tmplName string
	tmplErr  error
)

func template(ctx context.Context) (string, error) {
	tmplOnce.Do(func() {
		migrations, err := store.ReadMigrations(schema.Migrations, "migrations")
		if err != nil {
			tmplErr = err
			return
		}
		// Named by the migrations' checksums, so a changed migration gets a
		// fresh template on a reused server.
		var sums strings.Builder
		for _, m := range migrations {
			sums.WriteString(m.Checksum)
		}
		tmplName = "tmpl_" + shortHash(sums.String())
		tmplErr = createTemplate(ctx, tmplName, migrations)
	})
	return tmplName, tmplErr
}

func createTemplate(ctx context.Context, name string, migrations []store.Migration) error {
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connecting to test server: %w", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `SELECT pg_advisory_lock($1)`, templateLock); err != nil {
		return fmt.Errorf("locking template creation: %w", err)
	}
	defer admin.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, templateLock) //nolint:errcheck
	var exists bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("looking for template: %w", err)
	}
	if exists {
		return nil
	}
	building := name + "_building"
	if _, err := admin.Exec(ctx, `DROP DATABASE IF EXISTS `+building+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("dropping half-built template: %w", err)
	}
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+building); err != nil {
		return fmt.Errorf("creating template: %w", err)
	}
	pool, err := pgxpool.New(ctx, withDatabase(adminURL, building))
	if err != nil {
		return fmt.Errorf("connecting to template: %w", err)
	}
	_, err = store.Migrate(ctx, pool, migrations, slog.New(slog.DiscardHandler))
	pool.Close()
	if err != nil {
		return fmt.Errorf("migrating template: %w", err)
	}
	// Renamed only when complete, so a crash never leaves a template that
	// looks ready but is not.
	if _, err := admin.Exec(ctx, `ALTER DATABASE `+building+` RENAME TO `+name); err != nil {
		return fmt.Errorf("publishing template: %w", err)
	}
	return nil
}

func shortHash(s string) string {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return fmt.Sprintf("%016x", h)
}

// withDatabase replaces the database of a connection string in URL or
// keyword/value form.
func withDatabase(conn, db string) string {
	if u, err := url.Parse(conn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + db
		return u.String()
	}
	fields := strings.Fields(conn)
	out := fields[:0]
	for _, f := range fields {
		if !strings.HasPrefix(f, "dbname=") {
			out = append(out, f)
		}
	}
	return strings.Join(append(out, "dbname="+db), " ")
}

// URL creates a fresh migrated database and returns its connection string;
// the database is dropped when the test ends.
func URL(t testing.TB) string {
	t.Helper()
	once.Do(setup)
	if setupErr != nil {
		t.Fatalf("starting test PostgreSQL: %v", setupErr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tmpl, err := template(ctx)
	if err != nil {
		t.Fatalf("preparing template database: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "t_" + hex.EncodeToString(b)
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("connecting to test server: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+name+` TEMPLATE `+tmpl); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, adminURL); err == nil {
			_, _ = c.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
			_ = c.Close(ctx)
		}
	})
	return withDatabase(adminURL, name)
}

// Pool returns a pool on a fresh migrated database, closed when the test
// ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), URL(t))
	if err != nil {
		t.Fatalf("connecting to test database: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}
