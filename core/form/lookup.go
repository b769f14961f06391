package form

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// Querier is a pool or a transaction.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// DBLookup answers Lookup from PostgreSQL, inside the caller's transaction
// when Q is one, so a check sees what the write will see.
type DBLookup struct{ Q Querier }

// Unit implements Lookup.
func (l DBLookup) Unit(ctx context.Context, code string) (string, bool, error) {
	var parent string
	err := l.Q.QueryRow(ctx, `SELECT COALESCE(p.code, '') FROM units u LEFT JOIN units p ON p.id = u.parent_id
		WHERE u.code = $1 AND u.active`, code).Scan(&parent)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	return parent, err == nil, err
}

// User implements Lookup.
func (l DBLookup) User(ctx context.Context, username string) (bool, error) {
	var ok bool
	err := l.Q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE username = $1 AND NOT disabled)`, username).Scan(&ok)
	return ok, err
}

// Attachment implements Lookup.
func (l DBLookup) Attachment(ctx context.Context, id string) (bool, error) {
	var ok bool
	err := l.Q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM attachments WHERE id = $1)`, id).Scan(&ok)
	return ok, err
}
