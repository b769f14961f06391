package identity_test

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/pgtest"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/deploy/demo"

	// flows/roles.yaml grants the knowledge base's permission.
	_ "github.com/hotline12345/hotline/core/ivr"
	_ "github.com/hotline12345/hotline/core/knowledge"
	_ "github.com/hotline12345/hotline/core/telephony" // telephony.bind_call, called by the ticket flow
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const demoPassword = "Hotline@12345"

type env struct {
	pool *pgxpool.Pool
	svc  *identity.Service
	now  time.Time
}

// newEnv gives a fresh database with the shipped roles, the first admin and
// the demo organisation, as `hotline serve --demo` would.
func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, identity.DefaultPolicy())
}

// newEnvWith is newEnv under another security policy.
func newEnvWith(t *testing.T, policy identity.Policy) *env {
	t.Helper()
	ctx := context.Background()
	set, diags := registry.Load(ctx, []string{"../../flows/roles.yaml"}, registry.LoadOptions{})
	require.Empty(t, diags)
	e := &env{pool: pgtest.Pool(t), now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.Local)}
	e.svc = identity.NewService(e.pool, registry.NewRuntime(set), policy, slog.New(slog.DiscardHandler))
	e.svc.Now = func() time.Time { return e.now }
	created, generated, err := e.svc.Bootstrap(ctx, "本机构", "admin", demoPassword)
	require.NoError(t, err)
	require.True(t, created)
	require.Empty(t, generated)
	for _, f := range []string{"../../flows/organisation.yaml", "users.yaml"} {
		data, err := fs.ReadFile(demo.Files, f)
		if f != "users.yaml" {
			data, err = os.ReadFile(f) // the Hohhot organisation, which users.yaml places its users in
		}
		require.NoError(t, err)
		sd, err := identity.ParseSeed(f, data)
		require.NoError(t, err)
		_, _, err = e.svc.LoadSeed(ctx, sd, demoPassword)
		require.NoError(t, err)
	}
	return e
}

func (e *env) login(t *testing.T, user string) *identity.Principal {
	t.Helper()
	res, err := e.svc.Login(context.Background(), user, demoPassword)
	require.NoError(t, err)
	p, err := e.svc.Authenticate(context.Background(), res.Token)
	require.NoError(t, err)
	return p
}

func (e *env) unitID(t *testing.T, code string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT id FROM units WHERE code = $1`, code).Scan(&id))
	return id
}

func (e *env) userID(t *testing.T, username string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT id FROM users WHERE username = $1`, username).Scan(&id))
	return id
}

func (e *env) auditCount(t *testing.T, action string) int {
	t.Helper()
	var n int
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = $1`, action).Scan(&n))
	return n
}

func code(err error) gql.Code {
	if ge, ok := gql.AsError(err); ok {
		return ge.Code
	}
	return ""
}

func TestLoginEveryDemoAccount(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		user  string
		roles []string
		scope identity.ScopeKind
	}{
		{"admin", []string{"admin"}, identity.ScopeAll},
		{"agent", []string{"agent"}, identity.ScopeAll},
		{"dispatcher", []string{"dispatcher"}, identity.ScopeAll},
		{"clerk", []string{"clerk"}, identity.ScopeSubtree},
		{"auditor", []string{"auditor"}, identity.ScopeAll},
		{"callback", []string{"callback"}, identity.ScopeAll},
		{"leader", []string{"leader"}, identity.ScopeAll},
		{"unitadmin.saihan", []string{"unit-admin"}, identity.ScopeSubtree},
	} {
		t.Run(tc.user, func(t *testing.T) {
			p := e.login(t, tc.user)
			assert.Equal(t, tc.user, p.Username)
			assert.Equal(t, tc.roles, p.Roles)
			assert.Equal(t, tc.scope, p.Scope)
		})
	}
	// Usernames are case-insensitive at login.
	_, err := e.svc.Login(context.Background(), "  Agent ", demoPassword)
	require.NoError(t, err)
}

func TestLockoutAfterRepeatedFailures(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	policy := identity.DefaultPolicy()
	for i := 1; i < policy.MaxFailures; i++ {
		_, err := e.svc.Login(ctx, "agent", "wrong")
		require.Error(t, err)
		assert.Equal(t, gql.Unauthenticated, code(err))
		assert.Equal(t, loginRefused, err.Error(), "the same answer as for an unknown user")
	}
	_, err := e.svc.Login(ctx, "agent", "wrong")
	require.Error(t, err)
	assert.Equal(t, loginRefused, err.Error())
	assert.Equal(t, 1, e.auditCount(t, "auth.locked"))

	// Locked: even the right password is refused until the lock expires,
	// with the answer a wrong one gets.
	_, err = e.svc.Login(ctx, "agent", demoPassword)
	require.Error(t, err)
	assert.Equal(t, loginRefused, err.Error())

	e.now = e.now.Add(policy.LockoutDuration + time.Second)
	_, err = e.svc.Login(ctx, "agent", demoPassword)
	require.NoError(t, err)

	// An administrator can unlock before the lock runs out.
	for i := 0; i < policy.MaxFailures; i++ {
		_, _ = e.svc.Login(ctx, "agent", "wrong")
	}
	admin := e.login(t, "admin")
	_, err = e.svc.UnlockUser(ctx, admin, e.userID(t, "agent"))
	require.NoError(t, err)
	_, err = e.svc.Login(ctx, "agent", demoPassword)
	require.NoError(t, err)

	// Unknown users get the same answer as wrong passwords, and are audited.
	_, err = e.svc.Login(ctx, "nobody", "x")
	require.Error(t, err)
	assert.Equal(t, loginRefused, err.Error())
	assert.Positive(t, e.auditCount(t, "auth.login_failed"))
}

func TestSessionExpiryIdleAndRevoke(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	policy := identity.DefaultPolicy()

	res, err := e.svc.Login(ctx, "agent", demoPassword)
	require.NoError(t, err)
	_, err = e.svc.Authenticate(ctx, res.Token)
	require.NoError(t, err)

	// Used within the idle window, the session lives until its TTL.
	for elapsed := time.Duration(0); elapsed+policy.SessionIdle/2 < policy.SessionTTL; elapsed += policy.SessionIdle / 2 {
		e.now = e.now.Add(policy.SessionIdle / 2)
		_, err = e.svc.Authenticate(ctx, res.Token)
		require.NoError(t, err, "after %s", elapsed)
	}
	e.now = res.ExpiresAt
	_, err = e.svc.Authenticate(ctx, res.Token)
	assert.Equal(t, gql.Unauthenticated, code(err))

	// Idle too long.
	res, err = e.svc.Login(ctx, "agent", demoPassword)
	require.NoError(t, err)
	e.now = e.now.Add(policy.SessionIdle + time.Minute)
	_, err = e.svc.Authenticate(ctx, res.Token)
	assert.Equal(t, gql.Unauthenticated, code(err))

	// Logout revokes.
	res, err = e.svc.Login(ctx, "agent", demoPassword)
	require.NoError(t, err)
	p, err := e.svc.Authenticate(ctx, res.Token)
	require.NoError(t, err)
	require.NoError(t, e.svc.Logout(ctx, p))
	_, err = e.svc.Authenticate(ctx, res.Token)
	assert.Equal(t, gql.Unauthenticated, code(err))
	assert.Equal(t, 1, e.auditCount(t, "session.logout"))

	// An administrator revokes another user's session.
	res, err = e.svc.Login(ctx, "agent", demoPassword)
	require.NoError(t, err)
	p, err = e.svc.Authenticate(ctx, res.Token)
	require.NoError(t, err)
	admin := e.login(t, "admin")
	require.NoError(t, e.svc.RevokeSession(ctx, admin, p.SessionID))
	_, err = e.svc.Authenticate(ctx, res.Token)
	assert.Equal(t, gql.Unauthenticated, code(err))

	// Garbage tokens.
	for _, tok := range []string{"", "hl_", "hl_nope", "Bearer x"} {
		_, err = e.svc.Authenticate(ctx, tok)
		assert.Equal(t, gql.Unauthenticated, code(err), tok)
	}
}

func TestDataScopeSaihanClerkCannotSeeXincheng(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	clerk := e.login(t, "clerk")
	xincheng := e.unitID(t, "150102")
	saihan := e.unitID(t, "150105")

	_, err := e.svc.Unit(ctx, clerk, xincheng)
	assert.Equal(t, gql.NotFound, code(err))
	u, err := e.svc.Unit(ctx, clerk, saihan)
	require.NoError(t, err)
	assert.Equal(t, "赛罕区", u.Name)

	units, err := e.svc.Units(ctx, clerk, identity.UnitFilter{Limit: 1000})
	require.NoError(t, err)
	require.NotEmpty(t, units)
	for _, u := range units {
		assert.True(t, strings.HasPrefix(u.Path, clerk.UnitPath), "clerk sees unit %s", u.Name)
		assert.NotContains(t, []string{"新城区", "中山东路街道", "呼和浩特市"}, u.Name)
	}
	roots, err := e.svc.Units(ctx, clerk, identity.UnitFilter{Roots: true})
	require.NoError(t, err)
	require.Len(t, roots, 1)
	assert.Equal(t, "赛罕区", roots[0].Name)
	children, err := e.svc.Units(ctx, clerk, identity.UnitFilter{ParentID: &xincheng})
	require.NoError(t, err)
	assert.Empty(t, children)
	found, err := e.svc.Units(ctx, clerk, identity.UnitFilter{Search: "中山东路"})
	require.NoError(t, err)
	assert.Empty(t, found)

	_, err = e.svc.User(ctx, clerk, e.userID(t, "clerk.xincheng"))
	assert.Equal(t, gql.NotFound, code(err))
	users, err := e.svc.Users(ctx, clerk, identity.UserFilter{Limit: 1000})
	require.NoError(t, err)
	names := []string{}
	for _, u := range users {
		names = append(names, u.Username)
	}
	// Saihan and the streets and communities below it.
	assert.ElementsMatch(t, []string{"clerk", "unitadmin.saihan", "clerk.daxue", "clerk.minzu", "clerk.jinxiu",
		"clerk.zhaowuda", "clerk.renmin", "clerk.chilechuan", "clerk.jinqiao"}, names)
	assert.NotContains(t, names, "clerk.xincheng")
	_, err = e.svc.Users(ctx, clerk, identity.UserFilter{UnitID: &xincheng, Subunits: true})
	assert.Equal(t, gql.NotFound, code(err))
	users, err = e.svc.Users(ctx, clerk, identity.UserFilter{UnitID: &xincheng})
	require.NoError(t, err)
	assert.Empty(t, users)

	posts, err := e.svc.Posts(ctx, clerk, xincheng)
	require.NoError(t, err)
	assert.Empty(t, posts)
	_, err = e.svc.Sessions(ctx, clerk, e.userID(t, "clerk.xincheng"))
	assert.Equal(t, gql.Forbidden, code(err))

	// The whole city is visible to an all-scope role, from its one root,
	// wherever in the tree the account itself sits.
	for _, user := range []string{"admin", "agent"} {
		p := e.login(t, user)
		_, err = e.svc.Unit(ctx, p, xincheng)
		require.NoError(t, err)
		roots, err = e.svc.Units(ctx, p, identity.UnitFilter{Roots: true})
		require.NoError(t, err)
		require.Len(t, roots, 1, user)
		assert.Equal(t, "呼和浩特市", roots[0].Name)
	}
}

func TestUnitAdminStaysInsideItsSubtree(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ua := e.login(t, "unitadmin.saihan")
	street := e.unitID(t, "150105001")
	name, display, pw := "li.si", "李四", "Passw0rd!x"

	created, err := e.svc.CreateUser(ctx, ua, identity.UserInput{Username: &name, DisplayName: &display, UnitID: &street, Password: &pw, Roles: []string{"clerk"}})
	require.NoError(t, err)
	assert.Equal(t, "li.si", created.User.Username)

	other := "wang.wu"
	xincheng := e.unitID(t, "150102")
	_, err = e.svc.CreateUser(ctx, ua, identity.UserInput{Username: &other, DisplayName: &display, UnitID: &xincheng, Password: &pw})
	assert.Equal(t, gql.NotFound, code(err))

	// No privilege escalation: a subtree admin cannot grant all-scope roles
	// or permissions it lacks.
	_, err = e.svc.CreateUser(ctx, ua, identity.UserInput{Username: &other, DisplayName: &display, UnitID: &street, Password: &pw, Roles: []string{"admin"}})
	assert.Equal(t, gql.Forbidden, code(err))
	_, err = e.svc.UpdateUser(ctx, ua, created.User.ID, identity.UserInput{Roles: []string{"dispatcher"}})
	assert.Equal(t, gql.Forbidden, code(err))

	// Plain clerks manage nobody.
	clerk := e.login(t, "clerk")
	_, err = e.svc.CreateUser(ctx, clerk, identity.UserInput{Username: &other, DisplayName: &display, UnitID: &street, Password: &pw})
	assert.Equal(t, gql.Forbidden, code(err))
}

func TestEveryMutationWritesOneAuditRowAndFailuresWriteNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	admin := e.login(t, "admin")
	count := func() int {
		var n int
		require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM audit_log`).Scan(&n))
		return n
	}
	root := e.unitID(t, "root")
	code1, name1, kind1 := "test-unit", "测试单位", "bureau"

	before := count()
	u, err := e.svc.CreateUnit(ctx, admin, identity.UnitInput{Code: &code1, Name: &name1, Kind: &kind1, ParentID: &root})
	require.NoError(t, err)
	assert.Equal(t, before+1, count())

	newName := "测试单位（改）"
	_, err = e.svc.UpdateUnit(ctx, admin, u.ID, identity.UnitInput{Name: &newName})
	require.NoError(t, err)
	assert.Equal(t, before+2, count())
	var beforeJSON, afterJSON string
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT before->>'name', after->>'name' FROM audit_log WHERE action = 'unit.update' ORDER BY id DESC LIMIT 1`).Scan(&beforeJSON, &afterJSON))
	assert.Equal(t, "测试单位", beforeJSON)
	assert.Equal(t, "测试单位（改）", afterJSON)

	// A failing mutation (duplicate code) changes nothing and audits nothing.
	dup := "150102"
	_, err = e.svc.CreateUnit(ctx, admin, identity.UnitInput{Code: &dup, Name: &name1, Kind: &kind1, ParentID: &root})
	assert.Equal(t, gql.Conflict, code(err))
	assert.Equal(t, before+2, count())

	username, display := "new.user", "新用户"
	cu, err := e.svc.CreateUser(ctx, admin, identity.UserInput{Username: &username, DisplayName: &display, UnitID: &u.ID})
	require.NoError(t, err)
	assert.NotEmpty(t, cu.TemporaryPassword, "no password given: a temporary one is generated")
	assert.True(t, cu.User.MustChangePassword)
	assert.Equal(t, before+3, count())

	_, err = e.svc.CreateUser(ctx, admin, identity.UserInput{Username: &username, DisplayName: &display, UnitID: &u.ID})
	assert.Equal(t, gql.Conflict, code(err))
	assert.Equal(t, before+3, count())

	weak := "12345678"
	_, _, err = e.svc.ResetPassword(ctx, admin, cu.User.ID, weak)
	ge, ok := gql.AsError(err)
	require.True(t, ok)
	assert.Equal(t, gql.BadUserInput, ge.Code)
	assert.Equal(t, "password", ge.Field)
	assert.Equal(t, before+3, count())

	// The audit log refuses edits and deletes.
	_, err = e.pool.Exec(ctx, `UPDATE audit_log SET actor = 'x'`)
	require.Error(t, err)
	_, err = e.pool.Exec(ctx, `DELETE FROM audit_log`)
	require.Error(t, err)
	_, err = e.pool.Exec(ctx, `TRUNCATE audit_log`)
	require.Error(t, err)
}

func TestChangePasswordPolicyAndSessions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	first, err := e.svc.Login(ctx, "agent", demoPassword)
	require.NoError(t, err)
	second, err := e.svc.Login(ctx, "agent", demoPassword)
	require.NoError(t, err)
	p, err := e.svc.Authenticate(ctx, second.Token)
	require.NoError(t, err)

	for _, tc := range []struct{ old, new, field string }{
		{"wrong", "N3w-password", "oldPassword"},
		{demoPassword, "short1!", "newPassword"},
		{demoPassword, "alllowercase", "newPassword"},
		{demoPassword, "Agent-12345x", "newPassword"},
		{demoPassword, demoPassword, "newPassword"},
	} {
		err := e.svc.ChangePassword(ctx, p, tc.old, tc.new)
		ge, ok := gql.AsError(err)
		require.True(t, ok, "%s -> %s", tc.old, tc.new)
		assert.Equal(t, tc.field, ge.Field, "%s -> %s", tc.old, tc.new)
	}
	require.NoError(t, e.svc.ChangePassword(ctx, p, demoPassword, "N3w-password"))
	// The session that changed it stays; the others end.
	_, err = e.svc.Authenticate(ctx, second.Token)
	require.NoError(t, err)
	_, err = e.svc.Authenticate(ctx, first.Token)
	assert.Equal(t, gql.Unauthenticated, code(err))
	_, err = e.svc.Login(ctx, "agent", "N3w-password")
	require.NoError(t, err)
}

func TestBootstrapIsIdempotent(t *testing.T) {
	e := newEnv(t)
	created, _, err := e.svc.Bootstrap(context.Background(), "本机构", "admin", "")
	require.NoError(t, err)
	assert.False(t, created)
	var name string
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT name FROM units WHERE code = 'root'`).Scan(&name))
	assert.Equal(t, "呼和浩特市", name, "the seed renames the root")
	units, users, err := e.svc.LoadSeed(context.Background(), identity.Seed{}, demoPassword)
	require.NoError(t, err)
	assert.Zero(t, units+users)
}

func TestNoTakeoverOfWiderAccounts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	admin := e.login(t, "admin")
	saihan := e.unitID(t, "150105")
	name, display, pw := "audit.saihan", "审计（赛罕区）", "Passw0rd!x"
	wide, err := e.svc.CreateUser(ctx, admin, identity.UserInput{Username: &name, DisplayName: &display, UnitID: &saihan,
		Password: &pw, Roles: []string{"security-auditor"}})
	require.NoError(t, err)

	// The account sits in 赛罕区, but its role reaches the whole city: the
	// district's unit administrator may not reset, disable or re-role it.
	ua := e.login(t, "unitadmin.saihan")
	_, _, err = e.svc.ResetPassword(ctx, ua, wide.User.ID, "Takeover-123")
	assert.Equal(t, gql.Forbidden, code(err))
	yes := true
	_, err = e.svc.UpdateUser(ctx, ua, wide.User.ID, identity.UserInput{Disabled: &yes})
	assert.Equal(t, gql.Forbidden, code(err))
	_, err = e.svc.UpdateUser(ctx, ua, wide.User.ID, identity.UserInput{Roles: []string{}})
	assert.Equal(t, gql.Forbidden, code(err))
	_, err = e.svc.Login(ctx, name, pw)
	require.NoError(t, err, "the password is unchanged")

	// Nor may it reset its own password without the old one.
	_, _, err = e.svc.ResetPassword(ctx, ua, ua.UserID, "Takeover-123")
	assert.Equal(t, gql.BadUserInput, code(err))
}

func TestPermissionScopeComesFromTheGrantingRole(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	admin := e.login(t, "admin")
	ua := e.userID(t, "unitadmin.saihan")
	// unit-admin (subtree, user.manage) plus agent (scope all, no
	// permissions): user.manage must stay within 赛罕区.
	_, err := e.svc.UpdateUser(ctx, admin, ua, identity.UserInput{Roles: []string{"unit-admin", "agent"}})
	require.NoError(t, err)
	p := e.login(t, "unitadmin.saihan")
	assert.Equal(t, identity.ScopeAll, p.Scope, "it may read the whole organisation tree")
	_, err = e.svc.User(ctx, p, e.userID(t, "clerk.xincheng"))
	assert.Equal(t, gql.NotFound, code(err), "but users only within its user.read scope")
	yes := true
	_, err = e.svc.UpdateUser(ctx, p, e.userID(t, "clerk.xincheng"), identity.UserInput{Disabled: &yes})
	assert.Equal(t, gql.NotFound, code(err))
	xincheng := e.unitID(t, "150102")
	name, display, pw := "x.y", "某人", "Passw0rd!x"
	_, err = e.svc.CreateUser(ctx, p, identity.UserInput{Username: &name, DisplayName: &display, UnitID: &xincheng, Password: &pw})
	assert.Equal(t, gql.NotFound, code(err))
}

func TestWrongOldPasswordCountsTowardsLockout(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.login(t, "agent")
	for i := 0; i < identity.DefaultPolicy().MaxFailures; i++ {
		err := e.svc.ChangePassword(ctx, p, "guess", "N3w-password")
		require.Error(t, err)
	}
	assert.Equal(t, 1, e.auditCount(t, "auth.locked"))
	_, err := e.svc.Login(ctx, "agent", demoPassword)
	assert.Equal(t, loginRefused, err.Error())
	// While locked, the right old password gets the wrong one's answer.
	err = e.svc.ChangePassword(ctx, p, demoPassword, "N3w-password")
	ge, ok := gql.AsError(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, "oldPassword", ge.Field)
	assert.Equal(t, "原密码不正确，或尝试过于频繁，请稍后再试", ge.Message)
	e.now = e.now.Add(identity.DefaultPolicy().LockoutDuration + time.Second)
	require.NoError(t, e.svc.ChangePassword(ctx, p, demoPassword, "N3w-password"))
}
