package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hotline12345/hotline/core/gql"
)

// Session is a signed-in session as listed to its owner or an
// administrator; the token itself is never stored.
type Session struct {
	ID         int64
	UserID     int64
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt time.Time
	RevokedAt  *time.Time
	RemoteAddr string
	UserAgent  string
}

// Sessions lists the live sessions of a user: one's own, or anyone's in
// scope with session.manage.
func (s *Service) Sessions(ctx context.Context, p *Principal, userID int64) ([]Session, error) {
	if userID != p.UserID {
		mp, err := p.For(PermSessionManage)
		if err != nil {
			return nil, err
		}
		if _, err := s.user(ctx, s.pool, mp, userID, false); err != nil {
			return nil, err
		}
	}
	rows, err := s.pool.Query(ctx, `SELECT id, user_id, created_at, expires_at, last_seen_at, revoked_at, remote_addr, user_agent
		FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY id DESC`, userID, s.Now())
	if err != nil {
		return nil, fmt.Errorf("listing sessions: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Session])
	if err != nil {
		return nil, fmt.Errorf("listing sessions: %w", err)
	}
	return out, nil
}

// RevokeSession ends one session: one's own, or anyone's in scope with
// session.manage. A session outside that reach does not exist for the
// principal.
func (s *Service) RevokeSession(ctx context.Context, p *Principal, sessionID int64) error {
	notFound := gql.Errorf(gql.NotFound, "会话 %d 不存在", sessionID)
	var owner int64
	err := s.pool.QueryRow(ctx, `SELECT user_id FROM sessions WHERE id = $1`, sessionID).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound
	}
	if err != nil {
		return fmt.Errorf("reading session %d: %w", sessionID, err)
	}
	if owner != p.UserID {
		mp, err := p.For(PermSessionManage)
		if err != nil {
			return notFound
		}
		if _, err := s.user(ctx, s.pool, mp, owner, false); err != nil {
			return notFound
		}
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return s.revokeSessions(ctx, tx, p, "session.revoke", revocation{sessionID: sessionID})
	})
}
