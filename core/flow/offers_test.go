package flow_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/graphql-go/graphql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/deploy/gen/gentest"
)

// The actions offered are those that will not be refused by what is
// already known: a guard over the ticket (its counts, its fields) refuses
// before any input is typed, so the button is not offered, or is offered
// greyed out with the guard's message when asked for refused ones.
func TestOfferedActionsFollowTheGuards(t *testing.T) {
	g := gentest.New(t, 300)
	ctx := context.Background()
	schema, err := gql.NewBuilder().Build(identity.Module{Svc: g.IDs}, flow.Module{Engine: g.Engine})
	require.NoError(t, err)
	clerk := g.As(t, "clerk")
	var id int64
	require.NoError(t, g.Pool.QueryRow(ctx, `SELECT id FROM tickets WHERE flow = 'ticket' AND state = 'dept_handling'
		AND NOT counts ? 'out_of_scope_refuse' AND NOT counts ? 'out_of_scope_deny' ORDER BY id LIMIT 1`).Scan(&id))
	_, err = g.Pool.Exec(ctx, `UPDATE tickets SET holder_unit_id = $2, scope_path = $3, fields = fields - 'locked' WHERE id = $1`, id, clerk.UnitID, clerk.UnitPath)
	require.NoError(t, err)

	offered := func(user string, refused bool) map[string]any {
		t.Helper()
		r := graphql.Do(graphql.Params{Schema: schema, Context: identity.WithPrincipal(ctx, g.As(t, user)),
			RequestString: fmt.Sprintf(`{ ticket(id: %d) { availableActions(refused: %v) { name refusal } } }`, id, refused)})
		require.Empty(t, r.Errors)
		out := map[string]any{}
		for _, a := range r.Data.(map[string]any)["ticket"].(map[string]any)["availableActions"].([]any) {
			a := a.(map[string]any)
			out[a["name"].(string)] = a["refusal"]
		}
		return out
	}

	clerkOffers := offered("clerk", false)
	assert.NotContains(t, clerkOffers, "out_of_scope_reconsider", "nothing to reconsider: not offered")
	assert.Contains(t, clerkOffers, "dept_return", "what the guards allow is offered")
	assert.Equal(t, "没有可复议的不在受理范围审核结论", offered("clerk", true)["out_of_scope_reconsider"], "asked for, it comes with the reason")

	auditor := offered("auditor", false)
	assert.Contains(t, auditor, "lock")
	assert.NotContains(t, auditor, "unlock", "an unlocked ticket is not offered 解锁")
	assert.Nil(t, auditor["lock"], "an offered action has no refusal")

	// Every action offered succeeds when its form is filled: lock, then
	// the offers turn round.
	_, err = g.Engine.Perform(ctx, g.As(t, "auditor"), id, "lock", map[string]any{"opinion": "多次退回理由不充分，予以锁定。"}, nil)
	require.NoError(t, err)
	auditor = offered("auditor", false)
	assert.Contains(t, auditor, "unlock")
	assert.NotContains(t, auditor, "lock")
	assert.Equal(t, "工单已锁定，不能申请退回（可请审核员解锁）", offered("clerk", true)["dept_return"])
}

// An action says which fields it needs, as its check will require them,
// and a guard about one field refuses at that field.
func TestActionsSayWhatTheyNeed(t *testing.T) {
	g := gentest.New(t, 0)
	ctx := context.Background()
	schema, err := gql.NewBuilder().Build(identity.Module{Svc: g.IDs}, flow.Module{Engine: g.Engine})
	require.NoError(t, err)
	r := graphql.Do(graphql.Params{Schema: schema, Context: identity.WithPrincipal(ctx, g.As(t, "admin")),
		RequestString: `{ flows { name actions { name required } } }`})
	require.Empty(t, r.Errors)
	required := map[string][]any{}
	for _, f := range r.Data.(map[string]any)["flows"].([]any) {
		if f.(map[string]any)["name"] != "ticket" {
			continue
		}
		for _, a := range f.(map[string]any)["actions"].([]any) {
			a := a.(map[string]any)
			required[a["name"].(string)] = a["required"].([]any)
		}
	}
	assert.Equal(t, []any{"satisfaction"}, required["callback_satisfied"], "the form does not require it; the action does")
	assert.Equal(t, []any{"satisfaction", "opinion"}, required["callback_not_satisfied"])
	assert.Empty(t, required["callback_unanswered"], "no form, nothing to fill")
	assert.Contains(t, required["register"], "title", "what the registration form itself requires")
}

func TestAGuardAboutAFieldRefusesAtTheField(t *testing.T) {
	g := gentest.New(t, 300)
	ctx := context.Background()
	var id int64
	require.NoError(t, g.Pool.QueryRow(ctx, `SELECT id FROM tickets WHERE flow = 'ticket' AND state = 'dept_handling' ORDER BY id LIMIT 1`).Scan(&id))
	clerk := g.As(t, "clerk")
	// The clerk's unit is the one it was dispatched to (not handed down).
	_, err := g.Pool.Exec(ctx, `UPDATE tickets SET holder_unit_id = $2, scope_path = $3, fields = fields || jsonb_build_object('dept', $4::text) WHERE id = $1`,
		id, clerk.UnitID, clerk.UnitPath, clerk.UnitCode)
	require.NoError(t, err)
	_, err = g.Engine.Perform(ctx, clerk, id, "reply", map[string]any{"result": "已修好"}, nil)
	ge, ok := gql.AsError(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, gql.BadUserInput, ge.Code)
	assert.Equal(t, "input.result", ge.Field, "shown at the result, not at the action")
	assert.Equal(t, "办理结果至少写 10 个字", ge.Message)
}
