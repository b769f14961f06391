package identity

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/sourceaddr"
)

// How password guessing is bounded (finding 6 of issue 14).
//
// Every failed attempt gets one answer, errLogin, whatever the reason:
// unknown user, wrong password, disabled account, locked account (with the
// right password or not), throttled address. While a lock or a throttle
// applies, the password is not looked at (only hashed against a dummy, so
// every attempt takes the same time), so nothing the attacker sees depends
// on whether the guess was right; every such attempt counts as a failure
// and runs the lock again from then.
//
// Attempts are counted per client address (an IPv6 address by its /64,
// which one subscriber holds) and per account, and the account lock is
// split by whether the address is one the account has signed in from
// successfully within Policy.KnownSourceTTL:
//
//   - From an address the account does not know (a stranger's), failures
//     count towards the account's lock (users.failed_logins, locked_until)
//     and towards the address's throttle (login_throttle: SourceMaxFailures
//     failures in SourceWindow, from any accounts, block the address).
//   - From a known address (the owner's workstation), failures count
//     towards a lock of that account at that address only (login_sources),
//     and neither the account's lock nor the address's throttle applies.
//
// So strangers can lock an account only for other strangers: five wrong
// passwords for admin from the internet do not keep the administrator out
// at the office, and a throttled shared address (a centre behind NAT) still
// lets every account in whose owner signs in there. Someone at a known
// address is still held to MaxFailures per lock. Both locks and the throttle
// live in PostgreSQL, so they hold across nodes and restarts.
//
// The address is the one gql.RequestInfoFrom gives: behind a reverse proxy,
// HOTLINE_TRUST_PROXY must be on, or every client is the proxy.

// errLogin is the one answer to every failed login (see above), so the
// answer does not tell whether an account exists, is disabled or locked,
// the address is throttled, or the password was right.
var errLogin = gql.Errorf(gql.Unauthenticated, "用户名或密码错误，或尝试过于频繁，请稍后再试")

// errOldPassword is the one answer to every refused password change, for
// the same reason.
var errOldPassword = gql.FieldError("oldPassword", "原密码不正确，或尝试过于频繁，请稍后再试")

type loginRow struct {
	id, unitID           int64
	display, hash, path  string
	unitCode, unitKind   string
	failed               int
	lockedUntil          *time.Time
	disabled, mustChange bool
	roles                []string
}

const loginSelect = `SELECT u.id, u.display_name, u.password_hash, u.failed_logins, u.locked_until, u.disabled,
		u.must_change_password, u.unit_id, un.path, un.code, un.kind, ` + effectiveRolesSQL + `
	FROM users u JOIN units un ON un.id = u.unit_id WHERE u.username = $1`

func scanLogin(row pgx.Row) (loginRow, error) {
	var r loginRow
	err := row.Scan(&r.id, &r.display, &r.hash, &r.failed, &r.lockedUntil, &r.disabled, &r.mustChange, &r.unitID, &r.path,
		&r.unitCode, &r.unitKind, &r.roles)
	return r, err
}

// maxUsernameBytes bounds the username a login may name: accounts made
// through the API have at most 64 characters, seeds a few more.
const maxUsernameBytes = 256

// sourceKey is the address attempts are counted by: the source of
// sourceaddr (an IPv4 address, an IPv6 /64), as the SIP rate limit counts
// it, or the raw text, bounded, when it is not an address.
func sourceKey(addr string) string {
	ip, err := netip.ParseAddr(strings.TrimSpace(addr))
	if err != nil {
		r := []rune(strings.ToValidUTF8(addr, "?"))
		return string(r[:min(len(r), 64)])
	}
	return sourceaddr.String(ip)
}

// verdict is what is known of the password when an attempt is settled.
type verdict int

const (
	// unchecked: the password has not been verified yet; an open gate
	// asks for it, a closed one refuses without it.
	unchecked verdict = iota
	wrongPassword
	rightPassword
	// probe reads what a settlement reads and changes nothing: a refused
	// attempt makes it in place of the second settlement an open one
	// makes, so the two take as long.
	probe
)

// attemptKind says what an attempt is for, for the audit log and the
// answer.
type attemptKind string

const (
	attemptLogin          attemptKind = "login"
	attemptChangePassword attemptKind = "change_password"
)

// settlement is the outcome of one pass of settle.
type settlement struct {
	// refused: the attempt failed (and was counted and audited).
	refused bool
	// hash is the account's password hash when the gate is open and the
	// password is still to be checked; empty for an unknown user.
	hash string
	// known: the attempt comes from an address the account has signed in
	// from.
	known bool
}

// settle decides an attempt on username from source in one transaction,
// the account's row locked: first the gate (the locks and throttle that
// apply, refusing and counting without the password), then, once the
// password has been checked (v, against checkedHash), the failure or the
// success. onSuccess runs in the same transaction after the counters are
// reset.
func (s *Service) settle(ctx context.Context, kind attemptKind, username, source string, v verdict, checkedHash string,
	onSuccess func(tx pgx.Tx, row loginRow) error) (settlement, error) {
	now := s.Now()
	var out settlement
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		out = settlement{}
		row, err := scanLogin(tx.QueryRow(ctx, loginSelect+` FOR UPDATE OF u`, username))
		exists := err == nil
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("reading user %s: %w", username, err)
		}
		var pair struct {
			failed      int
			lastSuccess *time.Time
			lockedUntil *time.Time
		}
		if exists && s.policy.KnownSourceTTL > 0 {
			err := tx.QueryRow(ctx, `SELECT failed_logins, last_success_at, locked_until FROM login_sources
				WHERE user_id = $1 AND source = $2 FOR UPDATE`, row.id, source).Scan(&pair.failed, &pair.lastSuccess, &pair.lockedUntil)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("reading the sign-ins of %s from %s: %w", username, source, err)
			}
			out.known = pair.lastSuccess != nil && pair.lastSuccess.After(now.Add(-s.policy.KnownSourceTTL))
		}
		throttled := false
		if !out.known && s.policy.SourceMaxFailures > 0 {
			var until *time.Time
			err := tx.QueryRow(ctx, `SELECT blocked_until FROM login_throttle WHERE source = $1`, source).Scan(&until)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("reading the throttle of %s: %w", source, err)
			}
			throttled = until != nil && until.After(now)
		}

		f := failure{kind: kind, username: username, source: source, exists: exists, known: out.known, row: row,
			pairFailed: pair.failed, pairLocked: pair.lockedUntil}
		switch {
		case v == probe:
			return nil
		case out.known && pair.lockedUntil != nil && pair.lockedUntil.After(now):
			f.reason = "locked at this address"
		case !out.known && throttled:
			f.reason = "address throttled"
		case !out.known && exists && row.lockedUntil != nil && row.lockedUntil.After(now):
			f.reason = "locked"
		case v == unchecked:
			out.hash = row.hash
			return nil
		case !exists:
			f.reason = "unknown user"
		case v == wrongPassword:
			f.reason = "wrong password"
		case row.hash != checkedHash:
			// Reset while the password was being checked against the old one.
			f.reason = "password changed meanwhile"
		case row.disabled:
			f.reason = "disabled"
		}
		if f.reason != "" {
			out.refused = true
			return s.recordFailure(ctx, tx, now, f)
		}

		if s.policy.KnownSourceTTL > 0 {
			// Remember the address as the account's, and forget those not
			// used for too long.
			if _, err := tx.Exec(ctx, `INSERT INTO login_sources (user_id, source, last_success_at) VALUES ($1, $2, $3)
				ON CONFLICT (user_id, source) DO UPDATE SET last_success_at = $3, failed_logins = 0, locked_until = NULL`,
				row.id, source, now); err != nil {
				return fmt.Errorf("remembering the sign-in of %s from %s: %w", username, source, err)
			}
			if _, err := tx.Exec(ctx, `DELETE FROM login_sources WHERE user_id = $1 AND last_success_at < $2
				AND (locked_until IS NULL OR locked_until < $3)`, row.id, now.Add(-s.policy.KnownSourceTTL), now); err != nil {
				return fmt.Errorf("forgetting old sign-in addresses of %s: %w", username, err)
			}
		}
		if !out.known {
			// Only a success where strangers count clears their count: the
			// owner signing in at the office must not lift a lock that
			// strangers earned.
			if _, err := tx.Exec(ctx, `UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1`, row.id); err != nil {
				return fmt.Errorf("resetting failed logins of %s: %w", username, err)
			}
		}
		return onSuccess(tx, row)
	})
	return out, err
}

// failure is one refused attempt to record.
type failure struct {
	kind             attemptKind
	username, source string
	reason           string
	exists, known    bool
	row              loginRow
	pairFailed       int
	pairLocked       *time.Time
}

// recordFailure counts a refused attempt where it counts (the address's
// throttle; the account's lock, or its lock at a known address) and audits
// it, as auth.locked when it starts a lock.
func (s *Service) recordFailure(ctx context.Context, tx pgx.Tx, now time.Time, f failure) error {
	details := map[string]any{"reason": f.reason, "source": f.source, "known_source": f.known}
	if f.kind != attemptLogin {
		details["via"] = string(f.kind)
	}
	action := "auth.login_failed"
	if s.policy.SourceMaxFailures > 0 {
		blocked, err := s.countSource(ctx, tx, now, f.source)
		if err != nil {
			return err
		}
		if blocked {
			details["source_throttled"] = true
		}
	}
	entry := audit.Entry{Actor: audit.Actor{Name: f.username}, TargetType: "user", Details: details}
	if f.exists {
		entry.Actor.ID, entry.TargetID, entry.UnitPath = f.row.id, fmt.Sprint(f.row.id), f.row.path
		if f.known {
			failed, until, started := s.nextLock(f.pairFailed, f.pairLocked, now)
			if _, err := tx.Exec(ctx, `UPDATE login_sources SET failed_logins = $3, locked_until = $4 WHERE user_id = $1 AND source = $2`,
				f.row.id, f.source, failed, until); err != nil {
				return fmt.Errorf("counting a failed login of %s from %s: %w", f.username, f.source, err)
			}
			details["failures"] = failed
			if started {
				action = "auth.locked"
			}
		} else {
			failed, until, started := s.nextLock(f.row.failed, f.row.lockedUntil, now)
			if _, err := tx.Exec(ctx, `UPDATE users SET failed_logins = $2, locked_until = $3 WHERE id = $1`,
				f.row.id, failed, until); err != nil {
				return fmt.Errorf("counting a failed login of %s: %w", f.username, err)
			}
			details["failures"] = failed
			if started {
				action = "auth.locked"
			}
		}
	}
	entry.Action = action
	return audit.Write(ctx, tx, entry)
}

// nextLock counts one failure against a lock: during the lock the failure
// counts and the lock runs again from now (a guesser keeps it shut); after
// a lock ran out, counting starts afresh; MaxFailures in a row start a lock.
func (s *Service) nextLock(failed int, lockedUntil *time.Time, now time.Time) (int, *time.Time, bool) {
	until := now.Add(s.policy.LockoutDuration)
	switch {
	case lockedUntil != nil && lockedUntil.After(now):
		return failed + 1, &until, false
	case lockedUntil != nil:
		failed = 0
	}
	failed++
	if failed >= s.policy.MaxFailures {
		return failed, &until, true
	}
	return failed, nil, false
}

// countSource counts a failure from source: SourceMaxFailures within
// SourceWindow block the address for SourceWindow, and every failure while
// blocked extends the block. It reports whether the address is blocked.
func (s *Service) countSource(ctx context.Context, tx pgx.Tx, now time.Time, source string) (bool, error) {
	window := s.policy.SourceWindow
	if _, err := tx.Exec(ctx, `INSERT INTO login_throttle (source, window_start, failures, updated_at) VALUES ($1, $2, 0, $2)
		ON CONFLICT (source) DO NOTHING`, source, now); err != nil {
		return false, fmt.Errorf("counting a failed login from %s: %w", source, err)
	}
	var (
		start    time.Time
		failures int
		blocked  *time.Time
	)
	if err := tx.QueryRow(ctx, `SELECT window_start, failures, blocked_until FROM login_throttle WHERE source = $1 FOR UPDATE`,
		source).Scan(&start, &failures, &blocked); err != nil {
		return false, fmt.Errorf("counting a failed login from %s: %w", source, err)
	}
	until := now.Add(window)
	switch {
	case blocked != nil && blocked.After(now):
		failures, blocked = failures+1, &until
	case blocked != nil || !start.After(now.Add(-window)):
		start, failures, blocked = now, 1, nil
	default:
		failures++
	}
	if blocked == nil && failures >= s.policy.SourceMaxFailures {
		blocked = &until
	}
	if _, err := tx.Exec(ctx, `UPDATE login_throttle SET window_start = $2, failures = $3, blocked_until = $4, updated_at = $5
		WHERE source = $1`, source, start, failures, blocked, now); err != nil {
		return false, fmt.Errorf("counting a failed login from %s: %w", source, err)
	}
	// Addresses that stopped failing are forgotten, a few per failure, so
	// the table stays as small as the set of addresses failing lately;
	// rows another attempt holds are left for later rather than waited on.
	if _, err := tx.Exec(ctx, `DELETE FROM login_throttle WHERE source IN (SELECT source FROM login_throttle
		WHERE updated_at < $1 AND (blocked_until IS NULL OR blocked_until < $2) LIMIT 100 FOR UPDATE SKIP LOCKED)`,
		now.Add(-window), now); err != nil {
		return false, fmt.Errorf("forgetting old failed logins: %w", err)
	}
	return blocked != nil, nil
}

// Login checks a username and password and opens a session. The locks and
// the throttle that apply are looked at first, and refuse without checking
// the password; otherwise the slow password hash is verified with no row
// locked, and a second short transaction counts the failure or opens the
// session, auditing either way.
func (s *Service) Login(ctx context.Context, username, password string) (*LoginResult, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	switch {
	case username == "":
		return nil, gql.FieldError("username", "请输入用户名")
	case len(username) > maxUsernameBytes:
		// No account has such a name; refusing it by its length alone
		// tells nothing about accounts, and keeps it out of the audit log.
		return nil, gql.FieldError("username", "用户名过长")
	}
	source := sourceKey(gql.RequestInfoFrom(ctx).RemoteAddr)
	var result *LoginResult
	openSession := func(tx pgx.Tx, row loginRow) error {
		var err error
		result, err = s.openSession(ctx, tx, username, row)
		return err
	}
	v, err := s.checkPassword(ctx, attemptLogin, username, source, password, openSession)
	if err != nil {
		return nil, err
	}
	if v != rightPassword {
		return nil, errLogin
	}
	return result, nil
}

// checkPassword settles an attempt: the gate, then the password against
// the account's hash, then the outcome. Every attempt costs one password
// hash (a dummy one for an unknown user or a refused attempt), so timing
// tells nothing either. It returns rightPassword only when the attempt
// succeeded and onSuccess ran.
func (s *Service) checkPassword(ctx context.Context, kind attemptKind, username, source, password string,
	onSuccess func(tx pgx.Tx, row loginRow) error) (verdict, error) {
	st, err := s.settle(ctx, kind, username, source, unchecked, "", onSuccess)
	if err != nil {
		return wrongPassword, err
	}
	hash := st.hash
	if hash == "" || st.refused {
		hash = s.dummyHash
	}
	if st.refused {
		// Refused without the password, but not faster than a checked
		// attempt: the time taken must not tell a locked account from an
		// open one, nor an existing from an unknown one.
		_, _ = VerifyPassword(hash, password)
		_, _ = s.settle(ctx, kind, username, source, probe, "", onSuccess)
		return wrongPassword, nil
	}
	ok, err := VerifyPassword(hash, password)
	if err != nil {
		return wrongPassword, fmt.Errorf("verifying password of %s: %w", username, err)
	}
	v := wrongPassword
	if ok && st.hash != "" {
		v = rightPassword
	}
	st, err = s.settle(ctx, kind, username, source, v, st.hash, onSuccess)
	if err != nil || st.refused {
		return wrongPassword, err
	}
	return rightPassword, nil
}

func (s *Service) openSession(ctx context.Context, tx pgx.Tx, username string, row loginRow) (*LoginResult, error) {
	now := s.Now()
	token, tokenHash := newToken()
	expires := now.Add(s.policy.SessionTTL)
	src := audit.SourceFrom(ctx)
	var sessionID int64
	if err := tx.QueryRow(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at, remote_addr, user_agent)
		VALUES ($1, $2, $3, $4, $3, $5, $6) RETURNING id`, tokenHash, row.id, now, expires, src.RemoteAddr, src.UserAgent).Scan(&sessionID); err != nil {
		return nil, fmt.Errorf("opening session for %s: %w", username, err)
	}
	if err := audit.Write(ctx, tx, audit.Entry{Actor: audit.Actor{ID: row.id, Name: username}, Action: "auth.login", TargetType: "user",
		TargetID: fmt.Sprint(row.id), UnitPath: row.path, Details: map[string]any{"session": sessionID}}); err != nil {
		return nil, err
	}
	p := s.principal(row.id, username, row.display, row.unitID, row.path, row.roles, sessionID)
	p.UnitCode, p.UnitKind = row.unitCode, row.unitKind
	p.MustChangePassword = row.mustChange
	return &LoginResult{Token: token, ExpiresAt: expires, MustChangePassword: row.mustChange, Principal: p}, nil
}
