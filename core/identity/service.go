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
	// MaxFailures consecutive wrong passwords lock the account for
	// LockoutDuration.
	MaxFailures     int
	LockoutDuration time.Duration
	// SessionTTL bounds a session's life; SessionIdle ends a session not
	// used for that long.
	SessionTTL  time.Duration
	SessionIdle time.Duration
}

// DefaultPolicy matches common 等保 level 3 practice.
func DefaultPolicy() Policy {
	return Policy{
		Password:        PasswordPolicy{MinLength: 8, MinClasses: 3},
		MaxFailures:     5,
		LockoutDuration: 15 * time.Minute,
		SessionTTL:      12 * time.Hour,
		SessionIdle:     2 * time.Hour,
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
	p := &Principal{UserID: userID, Username: username, DisplayName: display, UnitID: unitID, UnitPath: unitPath, SessionID: sessionID, perms: map[string]bool{}}
	defs := s.roles()
	rank := 0
	slices.Sort(roleNames)
	for _, rn := range slices.Compact(roleNames) {
		r, ok := defs[rn]
		if !ok {
			s.log.Warn("user holds a role the configuration no longer defines", "user", username, "role", rn)
			continue
		}
		p.Roles = append(p.Roles, rn)
		for _, perm := range r.Permissions {
			p.perms[perm.Name] = true
		}
		if scopeRank[r.Scope] > rank {
			rank, p.Scope = scopeRank[r.Scope], r.Scope
		}
	}
	if p.Scope == "" {
		p.Scope = ScopeSelf
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

var errLogin = gql.Errorf(gql.Unauthenticated, "用户名或密码错误")

// Login checks a username and password and opens a session. Failed
// attempts are counted and audited in the same transaction; after
// MaxFailures the account is locked for LockoutDuration.
func (s *Service) Login(ctx context.Context, username, password string) (*LoginResult, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	if username == "" {
		return nil, gql.FieldError("username", "请输入用户名")
	}
	now := s.Now()
	var result *LoginResult
	var refusal error
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var (
			id, unitID              int64
			display, hash, unitPath string
			failed                  int
			lockedUntil             *time.Time
			disabled, mustChange    bool
			roleNames               []string
		)
		err := tx.QueryRow(ctx, `SELECT u.id, u.display_name, u.password_hash, u.failed_logins, u.locked_until, u.disabled,
				u.must_change_password, u.unit_id, un.path, `+effectiveRolesSQL+`
			FROM users u JOIN units un ON un.id = u.unit_id WHERE u.username = $1 FOR UPDATE OF u`, username).
			Scan(&id, &display, &hash, &failed, &lockedUntil, &disabled, &mustChange, &unitID, &unitPath, &roleNames)
		if errors.Is(err, pgx.ErrNoRows) {
			_, _ = VerifyPassword(s.dummyHash, password)
			refusal = errLogin
			return audit.Write(ctx, tx, audit.Entry{Actor: audit.Actor{Name: username}, Action: "auth.login_failed",
				TargetType: "user", Details: map[string]any{"reason": "unknown user"}})
		}
		if err != nil {
			return fmt.Errorf("reading user %s: %w", username, err)
		}
		actor := audit.Actor{ID: id, Name: username}
		entry := audit.Entry{Actor: actor, TargetType: "user", TargetID: fmt.Sprint(id), UnitPath: unitPath}
		switch {
		case disabled:
			refusal = gql.Errorf(gql.Unauthenticated, "账户已停用，请联系管理员")
			entry.Action, entry.Details = "auth.login_failed", map[string]any{"reason": "disabled"}
			return audit.Write(ctx, tx, entry)
		case lockedUntil != nil && lockedUntil.After(now):
			refusal = gql.Errorf(gql.Unauthenticated, "账户已锁定，请于 %s 后重试，或联系管理员解锁", lockedUntil.Local().Format("15:04"))
			entry.Action, entry.Details = "auth.login_failed", map[string]any{"reason": "locked"}
			return audit.Write(ctx, tx, entry)
		}
		ok, err := VerifyPassword(hash, password)
		if err != nil {
			return fmt.Errorf("verifying password of %s: %w", username, err)
		}
		if !ok {
			failed++
			entry.Action, entry.Details = "auth.login_failed", map[string]any{"reason": "wrong password", "failures": failed}
			var locked *time.Time
			if failed >= s.policy.MaxFailures {
				until := now.Add(s.policy.LockoutDuration)
				locked, failed = &until, 0
				entry.Action = "auth.locked"
				refusal = gql.Errorf(gql.Unauthenticated, "密码连续错误 %d 次，账户已锁定至 %s", s.policy.MaxFailures, until.Local().Format("15:04"))
			} else {
				refusal = gql.Errorf(gql.Unauthenticated, "用户名或密码错误（再错 %d 次将锁定账户）", s.policy.MaxFailures-failed)
			}
			if _, err := tx.Exec(ctx, `UPDATE users SET failed_logins = $2, locked_until = COALESCE($3, locked_until) WHERE id = $1`, id, failed, locked); err != nil {
				return fmt.Errorf("counting failed login of %s: %w", username, err)
			}
			return audit.Write(ctx, tx, entry)
		}
		token, tokenHash := newToken()
		expires := now.Add(s.policy.SessionTTL)
		src := audit.SourceFrom(ctx)
		var sessionID int64
		if err := tx.QueryRow(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at, remote_addr, user_agent)
			VALUES ($1, $2, $3, $4, $3, $5, $6) RETURNING id`, tokenHash, id, now, expires, src.RemoteAddr, src.UserAgent).Scan(&sessionID); err != nil {
			return fmt.Errorf("opening session for %s: %w", username, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1`, id); err != nil {
			return fmt.Errorf("resetting failed logins of %s: %w", username, err)
		}
		entry.Action, entry.Details = "auth.login", map[string]any{"session": sessionID}
		if err := audit.Write(ctx, tx, entry); err != nil {
			return err
		}
		result = &LoginResult{Token: token, ExpiresAt: expires, MustChangePassword: mustChange,
			Principal: s.principal(id, username, display, unitID, unitPath, roleNames, sessionID)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if refusal != nil {
		return nil, refusal
	}
	return result, nil
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
		disabled                  bool
		roleNames                 []string
	)
	err := s.pool.QueryRow(ctx, `SELECT s.id, s.expires_at, s.last_seen_at, s.revoked_at, u.id, u.username, u.display_name,
			u.unit_id, un.path, u.disabled, `+effectiveRolesSQL+`
		FROM sessions s JOIN users u ON u.id = s.user_id JOIN units un ON un.id = u.unit_id
		WHERE s.token_hash = $1`, hashToken(token)).
		Scan(&sessionID, &expires, &lastSeen, &revoked, &userID, &username, &display, &unitID, &path, &disabled, &roleNames)
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
	return s.principal(userID, username, display, unitID, path, roleNames, sessionID), nil
}

// Logout revokes the principal's own session.
func (s *Service) Logout(ctx context.Context, p *Principal) error {
	return s.revokeSessions(ctx, p, "session.logout", "id = $1", p.SessionID)
}

// revokeSessions ends the sessions matching where (with arg) and audits it.
func (s *Service) revokeSessions(ctx context.Context, p *Principal, action, where string, arg any) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return s.revokeSessionsTx(ctx, tx, p, action, where, arg)
	})
}

func (s *Service) revokeSessionsTx(ctx context.Context, tx pgx.Tx, p *Principal, action, where string, arg any) error {
	rows, err := tx.Query(ctx, `UPDATE sessions SET revoked_at = $2 WHERE revoked_at IS NULL AND `+where+` RETURNING id, user_id`, arg, s.Now())
	if err != nil {
		return fmt.Errorf("revoking sessions: %w", err)
	}
	type rev struct{ ID, UserID int64 }
	revoked, err := pgx.CollectRows(rows, pgx.RowToStructByPos[rev])
	if err != nil {
		return fmt.Errorf("revoking sessions: %w", err)
	}
	for _, r := range revoked {
		if err := audit.Write(ctx, tx, audit.Entry{Actor: p.Actor(), Action: action, TargetType: "session",
			TargetID: fmt.Sprint(r.ID), UnitPath: p.UnitPath, Details: map[string]any{"user": r.UserID}}); err != nil {
			return err
		}
	}
	return nil
}
