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
	"path"
	"path/filepath"
	"strings"
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
// with one audit row per change; a change bumps the generation every node
// follows.
func (s *Store) Record(ctx context.Context, set *registry.Set, actor audit.Actor, note string) ([]Change, error) {
	changes, _, err := s.RecordOver(ctx, set, actor, note, AnyGeneration)
	return changes, err
}

// AnyGeneration records whatever the active set is.
const AnyGeneration int64 = -1

// ErrConflict means the active configuration changed since the set being
// recorded was built on it (another publish, on this node or another):
// recording it would undo that change.
var ErrConflict = errors.New("the running configuration changed meanwhile")

// RecordOver is Record for a set built on generation base: when the active
// set is no longer that generation it records nothing and returns
// ErrConflict. It returns the generation now active.
func (s *Store) RecordOver(ctx context.Context, set *registry.Set, actor audit.Actor, note string, base int64) ([]Change, int64, error) {
	var changes []Change
	var gen int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		changes = nil
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, recordLockKey); err != nil {
			return fmt.Errorf("recording configuration: taking lock: %w", err)
		}
		if err := tx.QueryRow(ctx, `SELECT generation FROM config_state`).Scan(&gen); err != nil {
			return fmt.Errorf("recording configuration: reading its generation: %w", err)
		}
		if base != AnyGeneration && base != gen {
			return fmt.Errorf("recording configuration built on generation %d, now %d: %w", base, gen, ErrConflict)
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
				if _, err := tx.Exec(ctx, `INSERT INTO config_versions (kind, name, version, path, source, digest, created_by, note, line)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, d.Kind, d.Name, version, d.Path, d.Source, d.Digest, actor.Name, note, d.Pos.Line); err != nil {
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
		if len(changes) == 0 {
			return nil
		}
		if err := tx.QueryRow(ctx, `UPDATE config_state SET generation = generation + 1 RETURNING generation`).Scan(&gen); err != nil {
			return fmt.Errorf("recording configuration: bumping its generation: %w", err)
		}
		// Delivered at commit: every node's follower loads the new set.
		if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, fmt.Sprint(gen)); err != nil {
			return fmt.Errorf("recording configuration: notifying the nodes: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return changes, gen, nil
}

// notifyChannel is NOTIFYed with the new generation when the active set
// changes.
const notifyChannel = "hotline_config"

// Generation returns the generation of the active set.
func (s *Store) Generation(ctx context.Context) (int64, error) {
	var gen int64
	if err := s.pool.QueryRow(ctx, `SELECT generation FROM config_state`).Scan(&gen); err != nil {
		return 0, fmt.Errorf("reading the configuration generation: %w", err)
	}
	return gen, nil
}

// ActiveTexts returns the active set as files, with its generation, read
// in one snapshot. Empty texts mean nothing was ever recorded.
func (s *Store) ActiveTexts(ctx context.Context) (registry.Texts, int64, error) {
	var docs []*registry.Document
	var gen int64
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT generation FROM config_state`).Scan(&gen); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT v.kind, v.name, v.path, v.source, v.line FROM config_active a
			JOIN config_versions v ON v.kind = a.kind AND v.name = a.name AND v.version = a.version`)
		if err != nil {
			return err
		}
		docs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*registry.Document, error) {
			d := &registry.Document{}
			err := r.Scan(&d.Kind, &d.Name, &d.Path, &d.Source, &d.Pos.Line)
			d.Path = RelativePath(d.Path)
			return d, err
		})
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("reading the active configuration: %w", err)
	}
	return registry.TextsOf(docs), gen, nil
}

// Digests returns the digests of every stored text of every document: what
// was ever recorded, to tell an edit from an older text left on a disk.
func (s *Store) Digests(ctx context.Context) (map[registry.Key]map[string]bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT kind, name, digest FROM config_versions`)
	if err != nil {
		return nil, fmt.Errorf("reading stored configuration digests: %w", err)
	}
	defer rows.Close()
	out := map[registry.Key]map[string]bool{}
	for rows.Next() {
		var k registry.Key
		var d string
		if err := rows.Scan(&k.Kind, &k.Name, &d); err != nil {
			return nil, fmt.Errorf("reading stored configuration digests: %w", err)
		}
		if out[k] == nil {
			out[k] = map[string]bool{}
		}
		out[k][d] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading stored configuration digests: %w", err)
	}
	return out, nil
}

// RelativePath is a stored path relative to the configuration root.
// Versions recorded before paths were stored relative hold the path the
// recording node loaded them from ("/srv/hotline/flows/x.yaml"); the part
// from the configuration folder on is what any node can use.
func RelativePath(p string) string {
	p = filepath.ToSlash(p)
	for _, dir := range DefaultDirs {
		if strings.HasPrefix(p, dir+"/") {
			return p
		}
		if i := strings.LastIndex(p, "/"+dir+"/"); i >= 0 {
			return p[i+1:]
		}
	}
	return strings.TrimLeft(path.Clean("/"+p), "/")
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
