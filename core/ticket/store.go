package ticket

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/registry"
)

// Store reads tickets for a reader, within the reader's scope, under the
// running configuration.
type Store struct {
	pool   *pgxpool.Pool
	config *registry.Runtime
	guards func(*registry.Set) []ReadGuard
	// Now is the clock of the tickets' reads and changes; tests replace it.
	Now func() time.Time

	mu sync.Mutex
	// spec is what the forms of specBase put in the search index.
	spec     *IndexSpec
	specBase *registry.Set
	// views remembers who saw which ticket's personal data whole lately.
	views views
}

// ReadGuard names a flow whose tickets need a permission to read (a
// flow's read_permission): its tickets are read only in the scope in
// which the reader holds it.
type ReadGuard struct {
	Flow, Permission string
}

// NewStore returns a store over pool; guards lists the read guards of a
// configuration (the flows' read permissions, which core/flow knows).
func NewStore(pool *pgxpool.Pool, config *registry.Runtime, guards func(*registry.Set) []ReadGuard) *Store {
	return &Store{pool: pool, config: config, guards: guards, Now: time.Now}
}

// visible limits tickets to the principal's scope: the unit holding it (or
// the creator's unit while unassigned) in scope, or created by the
// principal.
func visible(p *identity.Principal, args *[]any) string {
	scope := p.ScopeSQL("t.scope_path", args)
	branchScope := p.ScopeSQL("bu.path", args)
	*args = append(*args, p.UserID)
	return fmt.Sprintf(`(%s OR t.creator_id = $%d OR EXISTS (SELECT 1 FROM ticket_branches b JOIN units bu ON bu.id = b.unit_id
		WHERE b.ticket_id = t.id AND %s))`, scope, len(*args), branchScope)
}

// Visible is the package's visible with the flows' read permissions
// applied: every path that reads tickets for a principal goes through it
// (or through ReadScope, with a scope of its own).
func (s *Store) Visible(p *identity.Principal, args *[]any) string {
	cond := visible(p, args)
	if r := s.ReadScope(p, args); r != "" {
		cond += " AND " + r
	}
	return cond
}

// ReadScope limits the tickets of flows that declare a read permission to
// the scope in which p holds it (nothing but p's own when p lacks it).
// The scope of the principal's other roles does not count there: an agent
// who sees every work order does not see another unit's knowledge drafts.
func (s *Store) ReadScope(p *identity.Principal, args *[]any) string {
	if s.config == nil || s.config.Current() == nil || s.guards == nil {
		return ""
	}
	var conds []string
	for _, g := range s.guards(s.config.Current()) {
		q, err := p.For(g.Permission)
		if err == nil && q.Scope == identity.ScopeAll {
			continue
		}
		*args = append(*args, g.Flow)
		other := fmt.Sprintf("t.flow <> $%d", len(*args))
		if err == nil {
			conds = append(conds, "("+other+" OR "+visible(q, args)+")")
			continue
		}
		*args = append(*args, p.UserID)
		conds = append(conds, fmt.Sprintf("(%s OR t.creator_id = $%d)", other, len(*args)))
	}
	return strings.Join(conds, " AND ")
}

// Get returns a ticket in the principal's scope.
func (s *Store) Get(ctx context.Context, p *identity.Principal, id int64) (Ticket, error) {
	return s.Read(ctx, s.pool, p, id, false)
}

// Read reads a ticket in p's scope with q (in a transaction: locked for
// update with lock).
func (s *Store) Read(ctx context.Context, q Querier, p *identity.Principal, id int64, lock bool) (Ticket, error) {
	args := []any{id}
	sql := Select + ` WHERE t.id = $1 AND ` + s.Visible(p, &args)
	if lock {
		sql += ` FOR UPDATE OF t`
	}
	t, err := Scan(q.QueryRow(ctx, sql, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return Ticket{}, gql.Errorf(gql.NotFound, "工单 %d 不存在或不在您的数据范围内", id)
	}
	if err != nil {
		return Ticket{}, fmt.Errorf("reading ticket %d: %w", id, err)
	}
	return t, nil
}

// Query reads the tickets sql selects (Select with its conditions).
func (s *Store) Query(ctx context.Context, sql string, args ...any) ([]Ticket, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("reading tickets: %w", err)
	}
	defer rows.Close()
	var out []Ticket
	for rows.Next() {
		t, err := Scan(rows)
		if err != nil {
			return nil, fmt.Errorf("reading tickets: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// ByID reads tickets in the order of ids, without a scope: ids come from
// a query that applied it.
func (s *Store) ByID(ctx context.Context, ids []int64) ([]Ticket, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	found, err := s.Query(ctx, Select+` WHERE t.id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]Ticket, len(found))
	for _, t := range found {
		byID[t.ID] = t
	}
	out := make([]Ticket, 0, len(ids))
	for _, id := range ids {
		if t, ok := byID[id]; ok {
			out = append(out, t)
		}
	}
	return out, nil
}

// List returns tickets in the principal's scope, newest first.
func (s *Store) List(ctx context.Context, p *identity.Principal, state string, beforeID int64, limit int) ([]Ticket, error) {
	args := []any{}
	where := s.Visible(p, &args)
	if state != "" {
		args = append(args, state)
		where += fmt.Sprintf(" AND t.state = $%d", len(args))
	}
	if beforeID > 0 {
		args = append(args, beforeID)
		where += fmt.Sprintf(" AND t.id < $%d", len(args))
	}
	args = append(args, min(max(limit, 1), 1001))
	return s.Query(ctx, Select+` WHERE `+where+fmt.Sprintf(` ORDER BY t.id DESC LIMIT $%d`, len(args)), args...)
}
