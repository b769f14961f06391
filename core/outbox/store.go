package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
)

// PermManage lets a principal see dead letters and retry them.
var PermManage = identity.PermOutboxManage

// Store reads users' notices and the outbox's dead letters.
type Store struct {
	Pool *pgxpool.Pool
}

// List returns up to limit of user's notices, newest first, below the id
// after (0: from the newest); unread narrows to the unread ones.
func (s Store) List(ctx context.Context, user int64, unread bool, after int64, limit int) ([]Notice, error) {
	where := `WHERE user_id = $1 AND ($2::bigint = 0 OR id < $2)`
	if unread {
		where += ` AND read_at IS NULL`
	}
	return queryNotices(ctx, s.Pool, where+` ORDER BY id DESC LIMIT $3`, user, after, limit)
}

// Unread counts user's unread notices.
func (s Store) Unread(ctx context.Context, user int64) (int, error) {
	var n int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM notices WHERE user_id = $1 AND read_at IS NULL`, user).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting unread notices: %w", err)
	}
	return n, nil
}

// MarkRead marks user's notices ids (or all of them) read and returns how
// many were unread.
func (s Store) MarkRead(ctx context.Context, user int64, ids []int64, all bool) (int, error) {
	var tag interface{ RowsAffected() int64 }
	var err error
	if all {
		tag, err = s.Pool.Exec(ctx, `UPDATE notices SET read_at = now() WHERE user_id = $1 AND read_at IS NULL`, user)
	} else {
		tag, err = s.Pool.Exec(ctx, `UPDATE notices SET read_at = now() WHERE user_id = $1 AND read_at IS NULL AND id = ANY($2)`, user, ids)
	}
	if err != nil {
		return 0, fmt.Errorf("marking notices read: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// Letter is an outbox row that could not be delivered.
type Letter struct {
	ID        int64
	Topic     string
	TicketID  *int64
	Payload   json.RawMessage
	Attempts  int
	LastError string
	CreatedAt time.Time
	DeadAt    time.Time
}

// DeadLetters lists up to limit dead letters, newest first, below the id
// after (0: from the newest).
func (s Store) DeadLetters(ctx context.Context, after int64, limit int) ([]Letter, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id, topic, ticket_id, payload, attempts, last_error, created_at, dead_at FROM outbox
		WHERE dead_at IS NOT NULL AND ($1::bigint = 0 OR id < $1) ORDER BY id DESC LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("reading dead letters: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Letter, error) {
		var l Letter
		err := r.Scan(&l.ID, &l.Topic, &l.TicketID, &l.Payload, &l.Attempts, &l.LastError, &l.CreatedAt, &l.DeadAt)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading dead letters: %w", err)
	}
	return out, nil
}

// Retry makes dead letter id due again with its attempts counted from
// zero, recording who did it in the audit log.
func (s Store) Retry(ctx context.Context, p *identity.Principal, id int64) error {
	if _, err := p.For(PermManage); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var topic, lastError string
		var attempts int
		err := tx.QueryRow(ctx, `UPDATE outbox o SET dead_at = NULL, attempts = 0, next_attempt_at = now()
			FROM (SELECT id, attempts, last_error FROM outbox WHERE id = $1 AND dead_at IS NOT NULL FOR UPDATE) old
			WHERE o.id = old.id RETURNING o.topic, old.attempts, old.last_error`, id).Scan(&topic, &attempts, &lastError)
		if errors.Is(err, pgx.ErrNoRows) {
			return gql.FieldError("id", "没有编号为 %d 的死信", id)
		}
		if err != nil {
			return fmt.Errorf("retrying outbox row %d: %w", id, err)
		}
		return audit.Write(ctx, tx, audit.Entry{Actor: audit.Actor{ID: p.UserID, Name: p.Username}, Action: "outbox.retry",
			TargetType: "outbox", TargetID: strconv.FormatInt(id, 10), UnitPath: p.UnitPath,
			Before: map[string]any{"topic": topic, "attempts": attempts, "lastError": lastError}})
	})
}
