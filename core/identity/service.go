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

// errLogin is the one answer to every failed login, so the answer does not
// tell whether an account exists, is disabled or is locked. Only the owner,
// who knows the password, learns that the account is locked.
var errLogin = gql.Errorf(gql.Unauthenticated, "用户名或密码错误")

type loginRow struct {
	id, unitID           int64
	display, hash, path  string
	unitCode, unitKind   string
	lockedUntil          *time.Time
	disabled, mustChange bool
	roles                []string
}

const loginSelect = `SELECT u.id, u.display_name, u.password_hash, u.locked_until, u.disabled,
		u.must_change_password, u.unit_id, un.path, un.code, un.kind, ` + effectiveRolesSQL + `
	FROM users u JOIN units un ON un.id = u.unit_id WHERE u.username = $1`

func scanLogin(row pgx.Row) (loginRow, error) {
	var r loginRow
	err := row.Scan(&r.id, &r.display, &r.hash, &r.lockedUntil, &r.disabled, &r.mustChange, &r.unitID, &r.path, &r.unitCode, &r.unitKind, &r.roles)
	return r, err
}

// Login checks a username and password and opens a session. The slow
// password hash is verified before any row is locked; the short transaction
// after it re-reads the account, counts a failure (locking the account
// after MaxFailures) or opens the session, and audits either way.
func (s *Service) Login(ctx context.Context, username, password string) (*LoginResult, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	if username == "" {
		return nil, gql.FieldError("username", "请输入用户名")
	}
	row, err := scanLogin(s.pool.QueryRow(ctx, loginSelect, username))
	if errors.Is(err, pgx.ErrNoRows) {
		_, _ = VerifyPassword(s.dummyHash, password)
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			return audit.Write(ctx, tx, audit.Entry{Actor: audit.Actor{Name: username}, Action: "auth.login_failed",
				TargetType: "user", Details: map[string]any{"reason": "unknown user"}})
		})
		if err != nil {
			return nil, err
		}
		return nil, errLogin
	}
	if err != nil {
		return nil, fmt.Errorf("reading user %s: %w", username, err)
	}
	passwordOK, err := VerifyPassword(row.hash, password)
	if err != nil {
		return nil, fmt.Errorf("verifying password of %s: %w", username, err)
	}
	return s.finishLogin(ctx, username, passwordOK)
}

func (s *Service) finishLogin(ctx context.Context, username string, passwordOK bool) (*LoginResult, error) {
	now := s.Now()
	var result *LoginResult
	var refusal error
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		row, err := scanLogin(tx.QueryRow(ctx, loginSelect+` FOR UPDATE OF u`, username))
		if err != nil {
			return fmt.Errorf("reading user %s: %w", username, err)
		}
		entry := audit.Entry{Actor: audit.Actor{ID: row.id, Name: username}, TargetType: "user", TargetID: fmt.Sprint(row.id), UnitPath: row.path}
		locked := row.lockedUntil != nil && row.lockedUntil.After(now)
		switch {
		case row.disabled:
			refusal = errLogin
			entry.Action, entry.Details = "auth.login_failed", map[string]any{"reason": "disabled"}
			return audit.Write(ctx, tx, entry)
		case locked && passwordOK:
			refusal = gql.Errorf(gql.Unauthenticated, "账户已锁定，请于 %s 后重试，或联系管理员解锁", row.lockedUntil.Local().Format("15:04"))
			entry.Action, entry.Details = "auth.login_failed", map[string]any{"reason": "locked"}
			return audit.Write(ctx, tx, entry)
		case locked:
			refusal = errLogin
			entry.Action, entry.Details = "auth.login_failed", map[string]any{"reason": "locked, wrong password"}
			return audit.Write(ctx, tx, entry)
		case !passwordOK:
			refusal = errLogin
			return s.countFailure(ctx, tx, row.id, entry)
		}
		token, tokenHash := newToken()
		expires := now.Add(s.policy.SessionTTL)
		src := audit.SourceFrom(ctx)
		var sessionID int64
		if err := tx.QueryRow(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at, remote_addr, user_agent)
			VALUES ($1, $2, $3, $4, $3, $5, $6) RETURNING id`, tokenHash, row.id, now, expires, src.RemoteAddr, src.UserAgent).Scan(&sessionID); err != nil {
			return fmt.Errorf("opening session for %s: %w", username, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1`, row.id); err != nil {
			return fmt.Errorf("resetting failed logins of %s: %w", username, err)
		}
		entry.Action, entry.Details = "auth.login", map[string]any{"session": sessionID}
		if err := audit.Write(ctx, tx, entry); err != nil {
			return err
		}
		p := s.principal(row.id, username, row.display, row.unitID, row.path, row.roles, sessionID)
		p.UnitCode, p.UnitKind = row.unitCode, row.unitKind
		p.MustChangePassword = row.mustChange
		result = &LoginResult{Token: token, ExpiresAt: expires, MustChangePassword: row.mustChange, Principal: p}
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

// countFailure records one wrong password (at login or when changing the
// password) and locks the account after MaxFailures in a row.
func (s *Service) countFailure(ctx context.Context, tx pgx.Tx, userID int64, entry audit.Entry) error {
	var failed int
	if err := tx.QueryRow(ctx, `UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins`, userID).Scan(&failed); err != nil {
		return fmt.Errorf("counting failed password of user %d: %w", userID, err)
	}
	entry.Action, entry.Details = "auth.login_failed", map[string]any{"reason": "wrong password", "failures": failed}
	if failed >= s.policy.MaxFailures {
		entry.Action = "auth.locked"
		if _, err := tx.Exec(ctx, `UPDATE users SET failed_logins = 0, locked_until = $2 WHERE id = $1`,
			userID, s.Now().Add(s.policy.LockoutDuration)); err != nil {
			return fmt.Errorf("locking user %d: %w", userID, err)
		}
	}
	return audit.Write(ctx, tx, entry)
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
