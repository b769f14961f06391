package flow_test

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/ticketsearch"
)

// A street moved from one district to another takes its tickets along:
// the old district no longer sees them, the new one does, and the street
// keeps its own, on every read path that scopes by unit (detail, lists,
// search).
func TestMovingAUnitMovesTheScopeOfItsTickets(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	org, err := os.ReadFile("../../flows/organisation.yaml") // the Hohhot organisation the shipped scenarios run in
	require.NoError(t, err)
	sd, err := identity.ParseSeed("flows/organisation.yaml", org)
	require.NoError(t, err)
	sd.Users = []identity.SeedUser{{Username: "clerk.street", DisplayName: "街道承办人", Unit: "150105001", Roles: []string{"clerk"}}}
	_, _, err = w.ids.LoadSeed(ctx, sd, password)
	require.NoError(t, err)

	agent, admin := w.as(t, "agent"), w.as(t, "admin")
	tk, err := w.eng.Create(ctx, agent, "request", "register", map[string]any{"unit": "150105001", "title": "路灯不亮", "type": "咨询"})
	require.NoError(t, err)
	require.Equal(t, "150105001", tk.HolderUnit.Code)

	sees := func(user string) bool {
		t.Helper()
		p := w.as(t, user)
		_, err := w.eng.Store.Get(ctx, p, tk.ID)
		if err != nil {
			require.Equal(t, gql.NotFound, codeOf(err), "%s: %v", user, err)
		}
		search := &ticketsearch.Searcher{Pool: w.pool, Config: w.runtime, Tickets: w.eng.Store}
		hits, serr := search.SearchTickets(ctx, p, ticketsearch.Search{First: 50})
		require.NoError(t, serr)
		listed := false
		for _, h := range hits {
			listed = listed || h.ID == tk.ID
		}
		assert.Equal(t, err == nil, listed, "%s: the detail and the list must agree", user)
		return err == nil
	}
	require.True(t, sees("clerk"), "赛罕区 sees its street's ticket")
	require.False(t, sees("clerk.xc"))
	require.True(t, sees("clerk.street"))

	var street, xincheng int64
	require.NoError(t, w.pool.QueryRow(ctx, `SELECT (SELECT id FROM units WHERE code = '150105001'), (SELECT id FROM units WHERE code = '150102')`).Scan(&street, &xincheng))
	_, err = w.ids.UpdateUnit(ctx, admin, street, identity.UnitInput{ParentID: &xincheng})
	require.NoError(t, err)

	assert.False(t, sees("clerk"), "赛罕区 no longer sees the street it gave away")
	assert.True(t, sees("clerk.xc"), "新城区 sees the street it received")
	assert.True(t, sees("clerk.street"), "the street keeps its own ticket")
}
