package identity_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
)

// loginRefused is the one answer to every failed login.
const loginRefused = "用户名或密码错误，或尝试过于频繁，请稍后再试"

// from is a request context coming from addr, as the GraphQL handler makes
// it.
func from(addr string) context.Context {
	return gql.WithRequestInfo(context.Background(), gql.RequestInfo{RemoteAddr: addr})
}

func (e *env) failedLogins(t *testing.T, username string) int {
	t.Helper()
	var n int
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT failed_logins FROM users WHERE username = $1`, username).Scan(&n))
	return n
}

// An attacker learns nothing from the answer: unknown user, wrong
// password, disabled account, locked account with a wrong or the right
// password, throttled address with the right password all get the same
// code, message and extensions.
func TestEveryFailedLoginGetsOneAnswer(t *testing.T) {
	e := newEnv(t)
	policy := identity.DefaultPolicy()
	stranger, other, throttled := from("198.51.100.7"), from("198.51.100.8"), from("198.51.100.9")
	type answer struct {
		what string
		err  error
	}
	var answers []answer
	try := func(what string, ctx context.Context, user, password string) {
		_, err := e.svc.Login(ctx, user, password)
		answers = append(answers, answer{what, err})
	}

	try("unknown user", stranger, "nobody", demoPassword)
	try("wrong password", stranger, "agent", "wrong")
	for i := 1; i < policy.MaxFailures; i++ {
		try(fmt.Sprintf("wrong password %d", i+1), stranger, "agent", "wrong")
	}
	require.Equal(t, 1, e.auditCount(t, "auth.locked"))
	try("locked, wrong password", stranger, "agent", "still wrong")
	try("locked, right password", stranger, "agent", demoPassword)
	try("locked, right password, another address", other, "agent", demoPassword)

	admin := e.login(t, "admin")
	name, display, pw, unit, yes := "leaver", "已离职", demoPassword, e.unitID(t, "12345"), true
	leaver, err := e.svc.CreateUser(context.Background(), admin, identity.UserInput{Username: &name, DisplayName: &display,
		UnitID: &unit, Password: &pw, Roles: []string{}})
	require.NoError(t, err)
	_, err = e.svc.UpdateUser(context.Background(), admin, leaver.User.ID, identity.UserInput{Disabled: &yes})
	require.NoError(t, err)
	try("disabled, right password", other, name, demoPassword)

	for i := 0; i < policy.SourceMaxFailures; i++ {
		_, _ = e.svc.Login(throttled, fmt.Sprintf("nobody%d", i), "x")
	}
	try("throttled address, right password", throttled, "leader", demoPassword)

	want, ok := gql.AsError(answers[0].err)
	require.True(t, ok, "%v", answers[0].err)
	assert.Equal(t, gql.Unauthenticated, want.Code)
	assert.Equal(t, loginRefused, want.Message)
	for _, a := range answers {
		got, ok := gql.AsError(a.err)
		require.True(t, ok, "%s: %v", a.what, a.err)
		assert.Equal(t, want.Code, got.Code, a.what)
		assert.Equal(t, want.Message, got.Message, a.what)
		assert.Equal(t, want.Field, got.Field, a.what)
		assert.Equal(t, want.Extensions(), got.Extensions(), a.what)
	}

	// The refusals during the lock were counted.
	assert.Equal(t, policy.MaxFailures+3, e.failedLogins(t, "agent"))
}

// Every attempt during a lock counts and runs the lock again from then, so
// a guesser keeps it shut; the lock ends LockoutDuration after the last one.
func TestFailuresDuringALockExtendIt(t *testing.T) {
	e := newEnv(t)
	policy := identity.DefaultPolicy()
	stranger := from("203.0.113.5")
	for i := 0; i < policy.MaxFailures; i++ {
		_, err := e.svc.Login(stranger, "agent", "wrong")
		require.Error(t, err)
	}
	require.Equal(t, 1, e.auditCount(t, "auth.locked"))
	lockedAt := e.now

	e.now = lockedAt.Add(policy.LockoutDuration - time.Minute)
	_, err := e.svc.Login(stranger, "agent", "wrong")
	assert.Equal(t, loginRefused, err.Error())
	assert.Equal(t, policy.MaxFailures+1, e.failedLogins(t, "agent"))

	// Past the first lock's end: still locked, because of the attempt above.
	e.now = lockedAt.Add(policy.LockoutDuration + time.Minute)
	_, err = e.svc.Login(stranger, "agent", demoPassword)
	assert.Equal(t, loginRefused, err.Error())
	assert.Equal(t, policy.MaxFailures+2, e.failedLogins(t, "agent"))
	var until time.Time
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT locked_until FROM users WHERE username = 'agent'`).Scan(&until))
	assert.WithinDuration(t, e.now.Add(policy.LockoutDuration), until, time.Second)
	assert.Equal(t, 1, e.auditCount(t, "auth.locked"), "an extension starts no new lock")

	e.now = e.now.Add(policy.LockoutDuration + time.Second)
	_, err = e.svc.Login(stranger, "agent", demoPassword)
	require.NoError(t, err)
	assert.Zero(t, e.failedLogins(t, "agent"))
}

// One address failing against many accounts, none of them often enough to
// lock it, is throttled for every account it has not signed in to before;
// other addresses are not, and accounts known at the address still get in.
func TestOneAddressIsThrottledAcrossAccounts(t *testing.T) {
	e := newEnv(t)
	policy := identity.DefaultPolicy()
	shared, elsewhere := from("192.0.2.10"), from("192.0.2.11")
	_, err := e.svc.Login(shared, "kbreviewer", demoPassword)
	require.NoError(t, err, "kbreviewer signs in at the shared address")

	targets := []string{"agent", "agent2", "dispatcher", "auditor", "callback"}
	perAccount := policy.MaxFailures - 1
	require.GreaterOrEqual(t, len(targets)*perAccount, policy.SourceMaxFailures)
	n := 0
	for _, user := range targets {
		for i := 0; i < perAccount && n < policy.SourceMaxFailures; i++ {
			_, err := e.svc.Login(shared, user, "wrong")
			require.Error(t, err)
			n++
		}
	}
	assert.Zero(t, e.auditCount(t, "auth.locked"), "no account reached its own limit")

	_, err = e.svc.Login(shared, "leader", demoPassword)
	assert.Equal(t, loginRefused, err.Error(), "the address is throttled")
	_, err = e.svc.Login(elsewhere, "leader", demoPassword)
	require.NoError(t, err, "only the address is throttled, not the account")
	_, err = e.svc.Login(shared, "kbreviewer", demoPassword)
	require.NoError(t, err, "an account known at the address still gets in")

	// Attempts while throttled extend the throttle.
	start := e.now
	e.now = start.Add(policy.SourceWindow - time.Minute)
	_, err = e.svc.Login(shared, "nobody", "x")
	require.Error(t, err)
	e.now = start.Add(policy.SourceWindow + time.Minute)
	_, err = e.svc.Login(shared, "leader", demoPassword)
	assert.Equal(t, loginRefused, err.Error(), "still throttled")
	e.now = e.now.Add(policy.SourceWindow + time.Second)
	_, err = e.svc.Login(shared, "leader", demoPassword)
	require.NoError(t, err)
}

// Five wrong passwords from a stranger's address lock the account for
// strangers, not for its owner at the address the owner signs in from; the
// owner's address has a limit of its own.
func TestStrangersCannotLockTheOwnerOut(t *testing.T) {
	e := newEnv(t)
	policy := identity.DefaultPolicy()
	office, stranger, travelling := from("10.20.30.40"), from("203.0.113.66"), from("198.51.100.200")
	_, err := e.svc.Login(office, "admin", demoPassword)
	require.NoError(t, err)

	for i := 0; i < 5; i++ {
		_, err := e.svc.Login(stranger, "admin", "guess")
		assert.Equal(t, loginRefused, err.Error())
	}
	require.Equal(t, 1, e.auditCount(t, "auth.locked"))
	_, err = e.svc.Login(stranger, "admin", demoPassword)
	assert.Equal(t, loginRefused, err.Error(), "locked for the stranger")
	_, err = e.svc.Login(travelling, "admin", demoPassword)
	assert.Equal(t, loginRefused, err.Error(), "locked at every address the account does not know")

	res, err := e.svc.Login(office, "admin", demoPassword)
	require.NoError(t, err, "the owner at their own address gets in")
	assert.Equal(t, "admin", res.Principal.Username)
	_, err = e.svc.Login(stranger, "admin", demoPassword)
	assert.Equal(t, loginRefused, err.Error(), "the owner signing in does not lift the strangers' lock")

	// The known address is held to the limit too, on its own.
	for i := 0; i < policy.MaxFailures; i++ {
		_, err := e.svc.Login(office, "admin", "typo")
		assert.Equal(t, loginRefused, err.Error())
	}
	_, err = e.svc.Login(office, "admin", demoPassword)
	assert.Equal(t, loginRefused, err.Error())
	e.now = e.now.Add(policy.LockoutDuration + time.Second)
	_, err = e.svc.Login(office, "admin", demoPassword)
	require.NoError(t, err)
}

// IPv6 addresses are counted by their /64, which one subscriber holds, so
// walking through a prefix gains no fresh counters; IPv4-mapped addresses
// count as the IPv4 address.
func TestIPv6AddressesAreCountedByPrefix(t *testing.T) {
	e := newEnv(t)
	policy := identity.DefaultPolicy()
	for i := 0; i < policy.SourceMaxFailures; i++ {
		_, err := e.svc.Login(from(fmt.Sprintf("2001:db8:1:2::%x", i+1)), fmt.Sprintf("nobody%d", i), "x")
		require.Error(t, err)
	}
	_, err := e.svc.Login(from("2001:db8:1:2:ffff:ffff:ffff:ffff"), "leader", demoPassword)
	assert.Equal(t, loginRefused, err.Error())
	_, err = e.svc.Login(from("2001:db8:1:3::1"), "leader", demoPassword)
	require.NoError(t, err, "another /64")

	for i := 0; i < policy.SourceMaxFailures; i++ {
		_, err := e.svc.Login(from("::ffff:192.0.2.99"), fmt.Sprintf("nobody%d", i), "x")
		require.Error(t, err)
	}
	_, err = e.svc.Login(from("192.0.2.99"), "agent", demoPassword)
	assert.Equal(t, loginRefused, err.Error())
}

// The address throttle counts failures within a window: as many spread
// over a longer time do not throttle.
func TestAddressFailuresOutsideTheWindowDoNotAddUp(t *testing.T) {
	e := newEnv(t)
	policy := identity.DefaultPolicy()
	addr := from("192.0.2.50")
	fail := func(n int) {
		for i := 0; i < n; i++ {
			_, err := e.svc.Login(addr, fmt.Sprintf("nobody%d", i), "x")
			require.Error(t, err)
		}
	}
	fail(policy.SourceMaxFailures - 1)
	e.now = e.now.Add(policy.SourceWindow + time.Second)
	fail(policy.SourceMaxFailures - 1)
	_, err := e.svc.Login(addr, "leader", demoPassword)
	require.NoError(t, err)
	fail(1)
	_, err = e.svc.Login(addr, "agent", demoPassword)
	assert.Equal(t, loginRefused, err.Error(), "the window's last failure throttles")
}

// A username longer than any account's is refused by its length alone,
// naming the field, before anything is counted or audited.
func TestOverlongUsernameIsBadInput(t *testing.T) {
	e := newEnv(t)
	before := e.auditCount(t, "auth.login_failed")
	_, err := e.svc.Login(from("192.0.2.60"), strings.Repeat("a", 100_000), "x")
	ge, ok := gql.AsError(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, gql.BadUserInput, ge.Code)
	assert.Equal(t, "username", ge.Field)
	assert.Equal(t, before, e.auditCount(t, "auth.login_failed"))
}
