package app

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/core/pgserver"
	"github.com/hotline12345/hotline/core/store"
	"github.com/hotline12345/hotline/schema"
)

// WithStore opens the platform's database, migrated, for a tool that needs
// only storage (hotline config push and pull) and runs fn with it. The
// private PostgreSQL of a running server is shared, not stopped; one that
// is not running is started for the tool and stopped after it.
func WithStore(ctx context.Context, cfg Config, log *slog.Logger, fn func(*pgxpool.Pool) error) (err error) {
	url := cfg.DatabaseURL
	if url == "" {
		pg, err := pgserver.Start(ctx, pgserver.Options{DataDir: filepath.Join(cfg.DataDir, "pg"), Logger: log.With("part", "postgres")})
		if err != nil {
			return err
		}
		defer func() {
			if serr := pg.Stop(context.WithoutCancel(ctx)); serr != nil && err == nil {
				err = fmt.Errorf("stopping PostgreSQL: %w", serr)
			}
		}()
		if err := ensureDatabase(ctx, pg.ConnString(""), databaseName); err != nil {
			return err
		}
		url = pg.ConnString(databaseName)
	}
	pool, err := store.Open(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	migrations, err := store.ReadMigrations(schema.Migrations, "migrations")
	if err != nil {
		return err
	}
	if _, err := store.Migrate(ctx, pool, migrations, log); err != nil {
		return err
	}
	return fn(pool)
}
