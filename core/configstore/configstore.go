// Package configstore versions configuration in PostgreSQL. Every distinct
// text of a document is stored once as an immutable version; the active
// table says which version of each document the platform runs. Loading
// changed files, or publishing from the API, records new versions; what runs
// can be listed and any two versions diffed.
package configstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pmezard/go-difflib/difflib"

	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/registry"
)

// recordLockKey serialises recording so two nodes starting with the same
// files do not both create version N+1.
const recordLockKey int64 = 0x636f6e666967

// Version is one stored text of a document.
type Version struct {
	Kind      string
	Name      string
	Version   int
	Path      string
	Source    string
	Digest    string
	CreatedAt time.Time
	CreatedBy string
	Note      string
	Active    bool
}

// Change is what Record did to one document.
type Change struct {
	Kind, Name string
	Version    int
	// Status is "added", "changed" or "removed".
	Status string
}

// Store reads and writes configuration versions.
type Store struct{ pool *pgxpool.Pool }

// New returns a store over pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Record makes set the active configuration: a new version for every
// document whose text differs from its latest stored version, and removal
// from the active table of documents no longer in the set. One transaction,
// with one audit row per change.
func (s *Store) Record(ctx context.Context, set *registry.Set, actor audit.Actor, note string) ([]Change, error) {
	var changes []Change
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		changes = nil
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, recordLockKey); err != nil {
			return fmt.Errorf("recording configuration: taking lock: %w", err)
		}
		active := map[registry.Key]int{}
		rows, err := tx.Query(ctx, `SELECT kind, name, version FROM config_active`)
		if err != nil {
			return fmt.Errorf("recording configuration: reading active versions: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var k registry.Key
			var v int
			if err := rows.Scan(&k.Kind, &k.Name, &v); err != nil {
				return fmt.Errorf("recording configuration: %w", err)
			}
			active[k] = v
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("recording configuration: %w", err)
		}
		for _, d := range set.Documents() {
			k := registry.Key{Kind: d.Kind, Name: d.Name}
			// A text stored before (a revert) runs again under its old
			// version number instead of being stored twice.
			var version, latest int
			err := tx.QueryRow(ctx, `SELECT COALESCE(max(version) FILTER (WHERE digest = $3), 0), COALESCE(max(version), 0)
				FROM config_versions WHERE kind = $1 AND name = $2`, d.Kind, d.Name, d.Digest).Scan(&version, &latest)
			if err != nil {
				return fmt.Errorf("recording %s: %w", k, err)
			}
			status := ""
			switch {
			case version == 0:
				version = latest + 1
				if _, err := tx.Exec(ctx, `INSERT INTO config_versions (kind, name, version, path, source, digest, created_by, note)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, d.Kind, d.Name, version, d.Path, d.Source, d.Digest, actor.Name, note); err != nil {
					return fmt.Errorf("recording %s version %d: %w", k, version, err)
				}
				status = "changed"
				if latest == 0 {
					status = "added"
				}
			case active[k] != version:
				status = "changed"
			}
			delete(active, k)
			if status == "" {
				continue
			}
			if _, err := tx.Exec(ctx, `INSERT INTO config_active (kind, name, version) VALUES ($1, $2, $3)
				ON CONFLICT (kind, name) DO UPDATE SET version = EXCLUDED.version, activated_at = now()`, d.Kind, d.Name, version); err != nil {
				return fmt.Errorf("activating %s version %d: %w", k, version, err)
			}
			changes = append(changes, Change{Kind: d.Kind, Name: d.Name, Version: version, Status: status})
		}
		for k, v := range active {
			if _, err := tx.Exec(ctx, `DELETE FROM config_active WHERE kind = $1 AND name = $2`, k.Kind, k.Name); err != nil {
				return fmt.Errorf("deactivating %s: %w", k, err)
			}
			changes = append(changes, Change{Kind: k.Kind, Name: k.Name, Version: v, Status: "removed"})
		}
		for _, c := range changes {
			if err := audit.Write(ctx, tx, audit.Entry{Actor: actor, Action: "config." + c.Status, TargetType: "config",
				TargetID: fmt.Sprintf("%s/%s@%d", c.Kind, c.Name, c.Version), Details: map[string]any{"note": note}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return changes, nil
}

const versionColumns = `v.kind, v.name, v.version, v.path, v.source, v.digest, v.created_at, v.created_by, v.note,
	EXISTS (SELECT 1 FROM config_active a WHERE a.kind = v.kind AND a.name = v.name AND a.version = v.version)`

func scanVersion(r pgx.CollectableRow) (Version, error) {
	var v Version
	err := r.Scan(&v.Kind, &v.Name, &v.Version, &v.Path, &v.Source, &v.Digest, &v.CreatedAt, &v.CreatedBy, &v.Note, &v.Active)
	return v, err
}

// Active lists the running version of every document, optionally of one
// kind.
func (s *Store) Active(ctx context.Context, kind string) ([]Version, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+versionColumns+` FROM config_active a
		JOIN config_versions v ON v.kind = a.kind AND v.name = a.name AND v.version = a.version
		WHERE $1 = '' OR a.kind = $1 ORDER BY v.kind, v.name`, kind)
	if err != nil {
		return nil, fmt.Errorf("listing active configuration: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanVersion)
	if err != nil {
		return nil, fmt.Errorf("listing active configuration: %w", err)
	}
	return out, nil
}

// Versions lists every stored version of one document, newest first.
func (s *Store) Versions(ctx context.Context, kind, name string) ([]Version, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+versionColumns+` FROM config_versions v WHERE v.kind = $1 AND v.name = $2
		ORDER BY v.version DESC`, kind, name)
	if err != nil {
		return nil, fmt.Errorf("listing versions of %s/%s: %w", kind, name, err)
	}
	out, err := pgx.CollectRows(rows, scanVersion)
	if err != nil {
		return nil, fmt.Errorf("listing versions of %s/%s: %w", kind, name, err)
	}
	return out, nil
}

// ErrNoVersion is returned for a version that is not stored.
var ErrNoVersion = errors.New("no such configuration version")

// Get returns one stored version.
func (s *Store) Get(ctx context.Context, kind, name string, version int) (Version, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+versionColumns+` FROM config_versions v WHERE v.kind = $1 AND v.name = $2 AND v.version = $3`,
		kind, name, version)
	if err != nil {
		return Version{}, fmt.Errorf("reading %s/%s@%d: %w", kind, name, version, err)
	}
	v, err := pgx.CollectExactlyOneRow(rows, scanVersion)
	if errors.Is(err, pgx.ErrNoRows) {
		return Version{}, fmt.Errorf("%s/%s@%d: %w", kind, name, version, ErrNoVersion)
	}
	if err != nil {
		return Version{}, fmt.Errorf("reading %s/%s@%d: %w", kind, name, version, err)
	}
	return v, nil
}

// Diff returns a unified diff between two stored versions of a document.
func (s *Store) Diff(ctx context.Context, kind, name string, from, to int) (string, error) {
	a, err := s.Get(ctx, kind, name, from)
	if err != nil {
		return "", err
	}
	b, err := s.Get(ctx, kind, name, to)
	if err != nil {
		return "", err
	}
	return UnifiedDiff(a, b)
}

// UnifiedDiff renders the difference between two versions.
func UnifiedDiff(a, b Version) (string, error) {
	return difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A:        difflib.SplitLines(a.Source),
		B:        difflib.SplitLines(b.Source),
		FromFile: fmt.Sprintf("%s/%s@%d", a.Kind, a.Name, a.Version),
		ToFile:   fmt.Sprintf("%s/%s@%d", b.Kind, b.Name, b.Version),
		Context:  3,
	})
}
