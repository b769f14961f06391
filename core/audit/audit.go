// Package audit writes the append-only audit log. Every state change in the
// platform writes its audit row in the same transaction as the change, so a
// change without its row (or a row without its change) cannot exist.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Actor is who did it. A zero ID with Name "system" marks the platform
// itself (bootstrap, timers, configuration loaded from files).
type Actor struct {
	ID   int64
	Name string
}

// System is the actor for changes the platform makes on its own.
var System = Actor{Name: "system"}

// Source is where a request came from.
type Source struct {
	RemoteAddr string
	UserAgent  string
}

type sourceKey struct{}

// WithSource records the request's origin in ctx for the rows written while
// serving it.
func WithSource(ctx context.Context, s Source) context.Context {
	return context.WithValue(ctx, sourceKey{}, s)
}

// SourceFrom returns the origin recorded by WithSource.
func SourceFrom(ctx context.Context) Source {
	s, _ := ctx.Value(sourceKey{}).(Source)
	return s
}

// Entry is one audit row.
type Entry struct {
	Actor      Actor
	Action     string // dotted verb, e.g. "user.create", "auth.login_failed"
	TargetType string
	TargetID   string
	// UnitPath is the path of the unit the target belongs to, so the log
	// is filtered by data scope like every other table.
	UnitPath string
	Before   any
	After    any
	Details  any
}

// Write inserts one row within tx.
func Write(ctx context.Context, tx pgx.Tx, e Entry) error {
	src := SourceFrom(ctx)
	before, err := jsonOrNil(e.Before)
	if err != nil {
		return fmt.Errorf("audit %s: encoding before: %w", e.Action, err)
	}
	after, err := jsonOrNil(e.After)
	if err != nil {
		return fmt.Errorf("audit %s: encoding after: %w", e.Action, err)
	}
	details, err := jsonOrNil(e.Details)
	if err != nil {
		return fmt.Errorf("audit %s: encoding details: %w", e.Action, err)
	}
	var actorID *int64
	if e.Actor.ID != 0 {
		actorID = &e.Actor.ID
	}
	_, err = tx.Exec(ctx, `INSERT INTO audit_log
		(actor_id, actor, action, target_type, target_id, unit_path, remote_addr, user_agent, before, after, details)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		actorID, e.Actor.Name, e.Action, e.TargetType, e.TargetID, e.UnitPath, src.RemoteAddr, src.UserAgent, before, after, details)
	if err != nil {
		return fmt.Errorf("writing audit row for %s: %w", e.Action, err)
	}
	return nil
}

func jsonOrNil(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	return json.Marshal(v)
}

// Row is an audit row as read back.
type Row struct {
	ID         int64
	At         time.Time
	ActorID    *int64
	Actor      string
	Action     string
	TargetType string
	TargetID   string
	UnitPath   string
	RemoteAddr string
	UserAgent  string
	Before     json.RawMessage
	After      json.RawMessage
	Details    json.RawMessage
}

// Filter narrows List.
type Filter struct {
	// Scope returns the data-scope predicate over audit_log's columns
	// (unit_path, actor_id), appending its arguments. It is required: a
	// forgotten scope reads nothing rather than everything.
	Scope      func(args *[]any) string
	Action     string
	Actor      string
	TargetType string
	TargetID   string
	From, To   time.Time
	// AfterID continues a page: rows with a smaller id (newest first).
	AfterID int64
	Limit   int
}

// Querier is a pool or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// List returns rows newest first.
func List(ctx context.Context, q Querier, f Filter) ([]Row, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.Scope == nil {
		return nil, nil
	}
	where = append(where, f.Scope(&args))
	if f.Action != "" {
		where = append(where, "action = "+arg(f.Action))
	}
	if f.Actor != "" {
		where = append(where, "actor = "+arg(f.Actor))
	}
	if f.TargetType != "" {
		where = append(where, "target_type = "+arg(f.TargetType))
	}
	if f.TargetID != "" {
		where = append(where, "target_id = "+arg(f.TargetID))
	}
	if !f.From.IsZero() {
		where = append(where, "at >= "+arg(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, "at < "+arg(f.To))
	}
	if f.AfterID > 0 {
		where = append(where, "id < "+arg(f.AfterID))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1001) // a page of 1000 and the row saying there is more
	sql := `SELECT id, at, actor_id, actor, action, target_type, target_id, unit_path, remote_addr, user_agent, before, after, details FROM audit_log`
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	sql += " ORDER BY id DESC LIMIT " + arg(limit)
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("reading audit log: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Row, error) {
		var a Row
		err := r.Scan(&a.ID, &a.At, &a.ActorID, &a.Actor, &a.Action, &a.TargetType, &a.TargetID, &a.UnitPath, &a.RemoteAddr, &a.UserAgent, &a.Before, &a.After, &a.Details)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading audit log: %w", err)
	}
	return out, nil
}
