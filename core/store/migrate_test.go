package store_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/pgtest"
	"github.com/hotline12345/hotline/core/store"
	"github.com/hotline12345/hotline/schema"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// emptyDB returns a pool on a database with no migrations applied.
func emptyDB(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool := pgtest.Pool(t)
	ctx := context.Background()
	// The test template is migrated; start these tests from nothing.
	_, err := pool.Exec(ctx, `DROP SCHEMA public CASCADE; CREATE SCHEMA public`)
	require.NoError(t, err)
	return pool
}

func TestMigrationsApplyOnceAndAreIdempotent(t *testing.T) {
	pool := emptyDB(t)
	ctx := context.Background()
	ms, err := store.ReadMigrations(schema.Migrations, "migrations")
	require.NoError(t, err)
	require.NotEmpty(t, ms)

	n, err := store.Migrate(ctx, pool, ms, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	assert.Equal(t, len(ms), n)
	n, err = store.Migrate(ctx, pool, ms, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	assert.Zero(t, n, "second run applies nothing")

	var count int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&count))
	assert.Equal(t, len(ms), count)
}

func TestConcurrentMigrateIsSafe(t *testing.T) {
	pool := emptyDB(t)
	ms, err := store.ReadMigrations(schema.Migrations, "migrations")
	require.NoError(t, err)
	// Eight nodes starting at once: the advisory lock lets exactly one
	// apply each migration.
	var wg sync.WaitGroup
	applied := make([]int, 8)
	errs := make([]error, 8)
	for i := range applied {
		wg.Add(1)
		go func() {
			defer wg.Done()
			applied[i], errs[i] = store.Migrate(context.Background(), pool, ms, slog.New(slog.DiscardHandler))
		}()
	}
	wg.Wait()
	total := 0
	for i := range applied {
		require.NoError(t, errs[i])
		total += applied[i]
	}
	assert.Equal(t, len(ms), total)
}

func TestFailedMigrationRollsBackWhole(t *testing.T) {
	pool := emptyDB(t)
	ctx := context.Background()
	fsys := fstest.MapFS{
		"m/0001_ok.sql":     {Data: []byte(`CREATE TABLE a (id int);`)},
		"m/0002_broken.sql": {Data: []byte(`CREATE TABLE b (id int); INSERT INTO nowhere VALUES (1);`)},
	}
	ms, err := store.ReadMigrations(fsys, "m")
	require.NoError(t, err)
	_, err = store.Migrate(ctx, pool, ms, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "0002_broken.sql")
	var exists bool
	require.NoError(t, pool.QueryRow(ctx, `SELECT to_regclass('b') IS NOT NULL`).Scan(&exists))
	assert.False(t, exists, "the failed migration's table must not remain")
	require.NoError(t, pool.QueryRow(ctx, `SELECT to_regclass('a') IS NOT NULL`).Scan(&exists))
	assert.True(t, exists, "the migration before it stays applied")
}

func TestChangedOrNewerMigrationsAreRefused(t *testing.T) {
	pool := emptyDB(t)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	v1 := fstest.MapFS{"m/0001_a.sql": {Data: []byte(`CREATE TABLE a (id int);`)}, "m/0002_b.sql": {Data: []byte(`CREATE TABLE b (id int);`)}}
	ms, err := store.ReadMigrations(v1, "m")
	require.NoError(t, err)
	_, err = store.Migrate(ctx, pool, ms, log)
	require.NoError(t, err)

	edited := fstest.MapFS{"m/0001_a.sql": {Data: []byte(`CREATE TABLE a (id bigint);`)}, "m/0002_b.sql": v1["m/0002_b.sql"]}
	ms, err = store.ReadMigrations(edited, "m")
	require.NoError(t, err)
	_, err = store.Migrate(ctx, pool, ms, log)
	require.ErrorContains(t, err, "changed after it was applied")

	older := fstest.MapFS{"m/0001_a.sql": v1["m/0001_a.sql"]}
	ms, err = store.ReadMigrations(older, "m")
	require.NoError(t, err)
	_, err = store.Migrate(ctx, pool, ms, log)
	require.ErrorContains(t, err, "newer hotline")
}

func TestReadMigrationsRefusesBadNamesAndGaps(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"bad name": {"m/1_a.sql": {Data: []byte(`SELECT 1`)}},
		"gap":      {"m/0001_a.sql": {Data: []byte(`SELECT 1`)}, "m/0003_c.sql": {Data: []byte(`SELECT 1`)}},
		"dup":      {"m/0001_a.sql": {Data: []byte(`SELECT 1`)}, "m/0001_b.sql": {Data: []byte(`SELECT 1`)}},
	} {
		_, err := store.ReadMigrations(fsys, "m")
		assert.Error(t, err, name)
	}
}
