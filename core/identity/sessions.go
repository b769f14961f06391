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

// sessionsReach checks that p may see and end the sessions of userID: its
// own, or, with session.manage, those of an account in scope that account
// management would let it act on (checkManageable), so session management
// never reaches accounts wider than the principal's own.
func (s *Service) sessionsReach(ctx context.Context, q querier, p *Principal, userID int64) error {
	if userID == p.UserID {
		return nil
	}
	mp, err := p.For(PermSessionManage)
	if err != nil {
		return err
	}
	if _, err := s.user(ctx, q, mp, userID, false); err != nil {
		return err
	}
	return s.checkManageable(ctx, q, mp, userID)
}

// Sessions lists the live sessions of a user: one's own, or those of an
// account p may manage with session.manage.
func (s *Service) Sessions(ctx context.Context, p *Principal, userID int64) ([]Session, error) {
	if err := s.sessionsReach(ctx, s.pool, p, userID); err != nil {
		return nil, err
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

// RevokeSession ends one session: one's own, or one of an account p may
// manage with session.manage. A session outside that reach does not exist
// for the principal, so session ids cannot be probed.
func (s *Service) RevokeSession(ctx context.Context, p *Principal, sessionID int64) error {
	notFound := gql.Errorf(gql.NotFound, "会话 %d 不存在", sessionID)
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var owner int64
		err := tx.QueryRow(ctx, `SELECT user_id FROM sessions WHERE id = $1`, sessionID).Scan(&owner)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound
		}
		if err != nil {
			return fmt.Errorf("reading session %d: %w", sessionID, err)
		}
		if err := s.sessionsReach(ctx, tx, p, owner); err != nil {
			if _, ok := gql.AsError(err); ok {
				return notFound
			}
			return err
		}
		return s.revokeSessions(ctx, tx, p, "session.revoke", revocation{sessionID: sessionID})
	})
}
