package form

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Querier is a pool or a transaction.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// UnitName is a unit as an address picker offers it.
type UnitName struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// UnitLister lists the units an address level offers; a Lookup that is
// one answers addressOptions.
type UnitLister interface {
	// Children returns the active units directly below the unit with
	// code parent (below the organisation's top when parent is ""), of
	// the given kinds when any, in the organisation's order.
	Children(ctx context.Context, parent string, kinds []string) ([]UnitName, error)
}

// maxOptions bounds one level's list: a district has a few dozen streets.
const maxOptions = 500

// Children implements UnitLister.
func (l DBLookup) Children(ctx context.Context, parent string, kinds []string) ([]UnitName, error) {
	rows, err := l.Q.Query(ctx, `SELECT u.code, u.name FROM units u JOIN units p ON p.id = u.parent_id
		WHERE u.active AND CASE WHEN $1 = '' THEN p.parent_id IS NULL ELSE p.code = $1 AND p.active END
		  AND (COALESCE(cardinality($2::text[]), 0) = 0 OR u.kind = ANY($2))
		ORDER BY u.sort, u.code LIMIT $3`, parent, kinds, maxOptions)
	if err != nil {
		return nil, fmt.Errorf("listing units below %q: %w", parent, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[UnitName])
	if err != nil {
		return nil, fmt.Errorf("listing units below %q: %w", parent, err)
	}
	return out, nil
}

// UnitNamer names units by code: what a unit field or an address level
// holds is a code, and a page shows the name.
type UnitNamer interface {
	// Names returns the units among codes that exist, active or not (a
	// ticket keeps the code of a unit since dissolved), in no order.
	Names(ctx context.Context, codes []string) ([]UnitName, error)
}

// MaxUnitNames bounds one unitNames question: a ticket page asks for the
// units its fields and steps name, a few dozen at most.
const MaxUnitNames = 200

// Names implements UnitNamer.
func (l DBLookup) Names(ctx context.Context, codes []string) ([]UnitName, error) {
	rows, err := l.Q.Query(ctx, `SELECT code, name FROM units WHERE code = ANY($1)`, codes)
	if err != nil {
		return nil, fmt.Errorf("naming units: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[UnitName])
	if err != nil {
		return nil, fmt.Errorf("naming units: %w", err)
	}
	return out, nil
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
