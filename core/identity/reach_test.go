package identity_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
)

// Session management follows the rule of account management: the leader
// (session.manage, scope all, but not the administrator's or the security
// auditor's permissions) may neither list nor end their sessions, while it
// still manages the sessions of accounts no wider than its own.
func TestSessionsOfWiderAccountsAreOutOfReach(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	leader := e.login(t, "leader")
	admin := e.login(t, "admin")
	secaudit := e.login(t, "secaudit")
	// An account holding no role is narrower than anyone managing
	// sessions, whatever the shipped roles grant.
	name, display, pw, unit := "plain.user", "普通账户", demoPassword, e.unitID(t, "12345")
	_, err := e.svc.CreateUser(ctx, admin, identity.UserInput{Username: &name, DisplayName: &display, UnitID: &unit, Password: &pw, Roles: []string{}})
	require.NoError(t, err)
	plain := e.login(t, name)

	for _, tc := range []struct {
		name      string
		actor     *identity.Principal
		target    *identity.Principal
		reachable bool
	}{
		{"leader on admin", leader, admin, false},
		{"leader on security auditor", leader, secaudit, false},
		{"leader on a narrower account", leader, plain, true},
		{"leader on itself", leader, leader, true},
		{"admin on a narrower account", admin, plain, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list, err := e.svc.Sessions(ctx, tc.actor, tc.target.UserID)
			if !tc.reachable {
				assert.Equal(t, gql.Forbidden, code(err))
				assert.Empty(t, list)
				assert.Equal(t, gql.NotFound, code(e.svc.RevokeSession(ctx, tc.actor, tc.target.SessionID)),
					"a session out of reach does not exist for the actor")
				live, err := e.svc.Sessions(ctx, tc.target, tc.target.UserID)
				require.NoError(t, err)
				assert.NotEmpty(t, live, "the target's sessions are untouched")
				return
			}
			require.NoError(t, err)
			ids := []int64{}
			for _, s := range list {
				ids = append(ids, s.ID)
			}
			assert.Contains(t, ids, tc.target.SessionID)
		})
	}

	// Ending a reachable session works and is audited.
	require.NoError(t, e.svc.RevokeSession(ctx, leader, plain.SessionID))
	list, err := e.svc.Sessions(ctx, plain, plain.UserID)
	require.NoError(t, err)
	for _, s := range list {
		assert.NotEqual(t, plain.SessionID, s.ID)
	}
	assert.Equal(t, 1, e.auditCount(t, "session.revoke"))
}

// A unit administrator manages the units below its own unit but cannot
// change the code, kind, parent or active flag of its own (top) unit; an
// administrator with scope all can.
func TestUnitAdminCannotRecodeOrDeactivateItsTopUnit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ua := e.login(t, "unitadmin.saihan")
	admin := e.login(t, "admin")
	saihan := e.unitID(t, "150105")
	street := e.unitID(t, "150105001")
	root := e.unitID(t, "root")
	newCode, newKind, no := "150105-x", "bureau", false

	for _, tc := range []struct {
		field string
		in    identity.UnitInput
	}{
		{"input.code", identity.UnitInput{Code: &newCode}},
		{"input.active", identity.UnitInput{Active: &no}},
		{"input.kind", identity.UnitInput{Kind: &newKind}},
		{"input.parentId", identity.UnitInput{ParentID: &street}},
	} {
		t.Run(tc.field, func(t *testing.T) {
			_, err := e.svc.UpdateUnit(ctx, ua, saihan, tc.in)
			ge, ok := gql.AsError(err)
			require.True(t, ok, "%v", err)
			assert.Equal(t, gql.Forbidden, ge.Code)
			assert.Equal(t, tc.field, ge.Field)
			u, err := e.svc.Unit(ctx, admin, saihan)
			require.NoError(t, err)
			assert.Equal(t, "150105", u.Code)
			assert.True(t, u.Active)
			assert.Equal(t, "district", u.Kind)
		})
	}

	// Resubmitting the unit unchanged, or renaming it, is allowed.
	same, name := "150105", "赛罕区（新）"
	u, err := e.svc.UpdateUnit(ctx, ua, saihan, identity.UnitInput{Code: &same, Name: &name})
	require.NoError(t, err)
	assert.Equal(t, name, u.Name)

	// Units below stay the unit administrator's to run.
	streetCode := "150105001-x"
	u, err = e.svc.UpdateUnit(ctx, ua, street, identity.UnitInput{Code: &streetCode, Active: &no})
	require.NoError(t, err)
	assert.Equal(t, streetCode, u.Code)
	assert.False(t, u.Active)

	// Scope all may change any unit, the administrator's own included.
	u, err = e.svc.UpdateUnit(ctx, admin, saihan, identity.UnitInput{Code: &newCode, Active: &no})
	require.NoError(t, err)
	assert.Equal(t, newCode, u.Code)
	assert.False(t, u.Active)
	rootCode := "root-x"
	_, err = e.svc.UpdateUnit(ctx, admin, root, identity.UnitInput{Code: &rootCode})
	require.NoError(t, err)
}
