package ticket

import (
	"context"
	"fmt"
	"time"

	"github.com/hotline12345/hotline/core/identity"
)

// Link is a relation between two tickets as a flow's link effect wrote it
// (ticket_links), seen from one of them.
type Link struct {
	// Relation is the link effect's relation: merge, urge or related.
	Relation string
	// Outgoing is true when the ticket read is the one the link was made
	// on (merged into Other, urging Other); false when Other made it.
	Outgoing bool
	At       time.Time
	// Other is the ticket at the link's other end; nil when it is outside
	// the reader's scope, which learns that a link exists, not to what.
	Other *Ticket
}

// MaxLinks bounds the links read for one ticket: a master ticket of a
// complaint cluster (群诉) gathers many merged ones, and a page lists the
// newest.
const MaxLinks = 200

// Links returns the links of ticket id in both directions, oldest first,
// each other end read in p's scope. The caller has read ticket id itself
// in p's scope.
func (s *Store) Links(ctx context.Context, p *identity.Principal, id int64) ([]Link, error) {
	rows, err := s.pool.Query(ctx, `SELECT * FROM (
		SELECT l.relation, l.ticket_id = $1, l.at, CASE WHEN l.ticket_id = $1 THEN l.other_id ELSE l.ticket_id END AS other
		FROM ticket_links l WHERE l.ticket_id = $1 OR l.other_id = $1
		ORDER BY l.at DESC, other DESC LIMIT $2) newest ORDER BY at, other`, id, MaxLinks)
	if err != nil {
		return nil, fmt.Errorf("reading links of ticket %d: %w", id, err)
	}
	var links []Link
	var others []int64
	for rows.Next() {
		var l Link
		var other int64
		if err := rows.Scan(&l.Relation, &l.Outgoing, &l.At, &other); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading links of ticket %d: %w", id, err)
		}
		links = append(links, l)
		others = append(others, other)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading links of ticket %d: %w", id, err)
	}
	if len(links) == 0 {
		return []Link{}, nil
	}
	args := []any{others}
	seen, err := s.Query(ctx, Select+` WHERE t.id = ANY($1) AND `+s.Visible(p, &args), args...)
	if err != nil {
		return nil, fmt.Errorf("reading linked tickets of %d: %w", id, err)
	}
	byID := make(map[int64]*Ticket, len(seen))
	for i := range seen {
		byID[seen[i].ID] = &seen[i]
	}
	for i := range links {
		links[i].Other = byID[others[i]]
	}
	return links, nil
}
