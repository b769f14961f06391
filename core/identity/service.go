package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/registry"
)

// Policy is the security policy for accounts and sessions.
type Policy struct {
	Password PasswordPolicy
	// MaxFailures failed logins in a row lock the account for
	// LockoutDuration: for addresses it has not signed in from, or, counted
	// on their own, at one address it has (see login.go).
	MaxFailures     int
	LockoutDuration time.Duration
	// SourceMaxFailures failed logins from one address, to any accounts,
	// within SourceWindow throttle the address for SourceWindow (except
	// for accounts it is known to); 0 turns the throttle off.
	SourceMaxFailures int
	SourceWindow      time.Duration
	// KnownSourceTTL is how long a successful sign-in makes its address
	// known to the account; 0 makes no address known, so the account lock
	// applies everywhere.
	KnownSourceTTL time.Duration
	// SessionTTL bounds a session's life; SessionIdle ends a session not
	// used for that long.
	SessionTTL  time.Duration
	SessionIdle time.Duration
}

// DefaultPolicy matches common 等保 level 3 practice.
func DefaultPolicy() Policy {
	return Policy{
		Password:          PasswordPolicy{MinLength: 8, MinClasses: 3},
		MaxFailures:       5,
		LockoutDuration:   15 * time.Minute,
		SourceMaxFailures: 20,
		SourceWindow:      15 * time.Minute,
		KnownSourceTTL:    90 * 24 * time.Hour,
		SessionTTL:        12 * time.Hour,
		SessionIdle:       2 * time.Hour,
	}
}

// Service is the identity store and its rules.
type Service struct {
	pool   *pgxpool.Pool
	config *registry.Runtime
	policy Policy
	log    *slog.Logger
	// Now is the clock; tests replace it.
	Now func() time.Time
	// dummyHash is verified against for unknown usernames so a wrong
	// username costs as much time as a wrong password.
	dummyHash string
}

// NewService returns the identity service over pool, resolving roles from
// the running configuration.
func NewService(pool *pgxpool.Pool, config *registry.Runtime, policy Policy, log *slog.Logger) *Service {
	h, err := HashPassword("not-a-password")
	if err != nil {
		panic(err)
	}
	return &Service{pool: pool, config: config, policy: policy, log: log, Now: time.Now, dummyHash: h}
}

// Policy returns the service's security policy.
func (s *Service) Policy() Policy { return s.policy }

func (s *Service) roles() map[string]*Role {
	out := map[string]*Role{}
	set := s.config.Current()
	if set == nil {
		return out
	}
	for _, d := range set.All(KindRole) {
		out[d.Name] = d.Model.(*Role)
	}
	return out
}

// principal builds a principal from its roles as the running configuration
// defines them now, so a role change takes effect on the next request.
func (s *Service) principal(userID int64, username, display string, unitID int64, unitPath string, roleNames []string, sessionID int64) *Principal {
	p := &Principal{UserID: userID, Username: username, DisplayName: display, UnitID: unitID, UnitPath: unitPath, SessionID: sessionID,
		Scope: ScopeSelf, perms: map[string]ScopeKind{}}
	defs := s.roles()
	slices.Sort(roleNames)
	for _, rn := range slices.Compact(roleNames) {
		r, ok := defs[rn]
		if !ok {
			s.log.Warn("user holds a role the configuration no longer defines", "user", username, "role", rn)
			continue
		}
		p.Roles = append(p.Roles, rn)
		for _, perm := range r.Permissions {
			if scopeRank[r.Scope] > scopeRank[p.perms[perm.Name]] {
				p.perms[perm.Name] = r.Scope
			}
		}
		if scopeRank[r.Scope] > scopeRank[p.Scope] {
			p.Scope = r.Scope
		}
	}
	return p
}

// LoginResult is a successful login.
type LoginResult struct {
	Token              string
	ExpiresAt          time.Time
	Principal          *Principal
	MustChangePassword bool
}

// effectiveRolesSQL lists a user's roles held directly and through posts.
const effectiveRolesSQL = `ARRAY(SELECT role FROM user_roles WHERE user_id = u.id
	UNION SELECT unnest(p.roles) FROM user_posts up JOIN posts p ON p.id = up.post_id WHERE up.user_id = u.id)`

// tokenPrefix lets secret scanners recognise leaked tokens.
const tokenPrefix = "hl_"

func newToken() (string, []byte) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	token := tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

var errSession = gql.Errorf(gql.Unauthenticated, "登录已失效，请重新登录")

// Authenticate resolves a bearer token to its principal.
func (s *Service) Authenticate(ctx context.Context, token string) (*Principal, error) {
	if !strings.HasPrefix(token, tokenPrefix) {
		return nil, errSession
	}
	now := s.Now()
	var (
		sessionID, userID, unitID int64
		expires, lastSeen         time.Time
		revoked                   *time.Time
		username, display, path   string
		unitCode, unitKind        string
		disabled, mustChange      bool
		roleNames                 []string
	)
	err := s.pool.QueryRow(ctx, `SELECT s.id, s.expires_at, s.last_seen_at, s.revoked_at, u.id, u.username, u.display_name,
			u.unit_id, un.path, un.code, un.kind, u.disabled, u.must_change_password, `+effectiveRolesSQL+`
		FROM sessions s JOIN users u ON u.id = s.user_id JOIN units un ON un.id = u.unit_id
		WHERE s.token_hash = $1`, hashToken(token)).
		Scan(&sessionID, &expires, &lastSeen, &revoked, &userID, &username, &display, &unitID, &path, &unitCode, &unitKind, &disabled, &mustChange, &roleNames)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errSession
	}
	if err != nil {
		return nil, fmt.Errorf("reading session: %w", err)
	}
	if revoked != nil || disabled || !now.Before(expires) || now.Sub(lastSeen) > s.policy.SessionIdle {
		return nil, errSession
	}
	// Touch at most once a minute: the idle timeout needs no finer grain and
	// a write per request would cost more than the request.
	if now.Sub(lastSeen) > time.Minute {
		if _, err := s.pool.Exec(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE id = $1`, sessionID, now); err != nil {
			return nil, fmt.Errorf("touching session: %w", err)
		}
	}
	p := s.principal(userID, username, display, unitID, path, roleNames, sessionID)
	p.MustChangePassword, p.UnitCode, p.UnitKind = mustChange, unitCode, unitKind
	return p, nil
}

// ServiceAccount returns the principal of an account the platform acts as
// on its own (the telephony kernel creating the tickets of voice messages
// and callback requests): its roles bound what it may do and its name is
// in the audit log. It has no session; a disabled account is refused.
func (s *Service) ServiceAccount(ctx context.Context, username string) (*Principal, error) {
	r, err := scanLogin(s.pool.QueryRow(ctx, loginSelect, username))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("service account %q does not exist", username)
	}
	if err != nil {
		return nil, fmt.Errorf("reading service account %q: %w", username, err)
	}
	if r.disabled {
		return nil, fmt.Errorf("service account %q is disabled", username)
	}
	p := s.principal(r.id, username, r.display, r.unitID, r.path, r.roles, 0)
	p.UnitCode, p.UnitKind = r.unitCode, r.unitKind
	return p, nil
}

// Logout revokes the principal's own session.
func (s *Service) Logout(ctx context.Context, p *Principal) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return s.revokeSessions(ctx, tx, p, "session.logout", revocation{sessionID: p.SessionID})
	})
}

// revocation selects sessions to end: one session, or every session of a
// user except possibly one.
type revocation struct {
	sessionID int64
	userID    int64
	except    int64
}

// revokeSessions ends the selected live sessions within tx, one audit row
// each, filed under the session owner's unit.
func (s *Service) revokeSessions(ctx context.Context, tx pgx.Tx, p *Principal, action string, r revocation) error {
	rows, err := tx.Query(ctx, `UPDATE sessions s SET revoked_at = $4 FROM users u JOIN units un ON un.id = u.unit_id
		WHERE u.id = s.user_id AND s.revoked_at IS NULL
		  AND ($1 = 0 OR s.id = $1) AND ($2 = 0 OR s.user_id = $2) AND s.id <> $3
		RETURNING s.id, s.user_id, un.path`, r.sessionID, r.userID, r.except, s.Now())
	if err != nil {
		return fmt.Errorf("revoking sessions: %w", err)
	}
	type rev struct {
		ID, UserID int64
		Path       string
	}
	revoked, err := pgx.CollectRows(rows, pgx.RowToStructByPos[rev])
	if err != nil {
		return fmt.Errorf("revoking sessions: %w", err)
	}
	for _, r := range revoked {
		if err := audit.Write(ctx, tx, audit.Entry{Actor: p.Actor(), Action: action, TargetType: "session",
			TargetID: fmt.Sprint(r.ID), UnitPath: r.Path, Details: map[string]any{"user": r.UserID}}); err != nil {
			return err
		}
	}
	return nil
}
