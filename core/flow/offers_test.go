package flow_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/graphql-go/graphql"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/form"
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

// fill fills an offered action's form as the API describes it: every
// field the action requires, with a value of the field's type within its
// bounds, from the offer's choices where it has them.
func fill(t *testing.T, o flow.Offer, self string, numbers []string) map[string]any {
	fd := o.Action.FormDef()
	if fd == nil {
		return nil
	}
	in := map[string]any{}
	for _, name := range o.Action.RequiredFields() {
		fl, _ := fd.Field(name)
		if c, ok := o.Choices[name]; ok {
			require.NotEmpty(t, c, "%s: no value to choose for %s", o.Action.Name, name)
			in[name] = c[0]
			continue
		}
		switch fl.Type {
		case form.Number:
			n := 1.0
			if fl.Min != nil {
				n = *fl.Min
			}
			in[name] = n
		case form.Choice, form.Tree:
			in[name] = fl.OptionList()[0].Value
		case form.Unit:
			in[name] = "zjj"
		case form.Person:
			in[name] = self
		case form.Phone:
			in[name] = "13800138000"
		case form.Date:
			in[name] = "2027-06-30"
		default:
			text := "已按诉求逐项核实办理，处理经过和结果如下所述，请审核。"
			if fl.Pattern != "" {
				// The one patterned field of an action: another ticket's number.
				text = numbers[0]
			}
			if fl.Max != nil && len([]rune(text)) > int(*fl.Max) {
				text = string([]rune(text)[:int(*fl.Max)])
			}
			in[name] = text
		}
	}
	return in
}

// Every button availableActions offers succeeds when its form is filled as
// the API describes it (required fields, choices): walks through the
// default flow from generated tickets in every open state, each step an
// offered action of someone who may act, chosen at random.
func TestEveryOfferedActionSucceeds(t *testing.T) {
	g := gentest.New(t, 400)
	ctx := context.Background()
	principals := map[string]*identity.Principal{}
	as := func(user string) *identity.Principal {
		if p, ok := principals[user]; ok {
			return p
		}
		principals[user] = g.As(t, user)
		return principals[user]
	}
	centre := []string{"agent", "dispatcher", "auditor", "callback", "leader"}
	rows, err := g.Pool.Query(ctx, `SELECT id, number FROM tickets WHERE flow = 'ticket' AND closed_at IS NULL ORDER BY id`)
	require.NoError(t, err)
	type open struct {
		ID     int64
		Number string
	}
	tickets, err := pgx.CollectRows(rows, pgx.RowToStructByPos[open])
	require.NoError(t, err)
	require.NotEmpty(t, tickets)
	var numbers []string
	for _, tk := range tickets {
		numbers = append(numbers, tk.Number)
	}
	r := rand.New(rand.NewPCG(15, 2026))
	performed := map[string]int{}
	for _, start := range tickets {
		id := start.ID
		for step := 0; step < 12; step++ {
			tk, err := g.Engine.Store.Get(ctx, as("admin"), id)
			require.NoError(t, err)
			if tk.ClosedAt != nil {
				break
			}
			// Who may act: the centre's roles, the holding unit's people,
			// the co-handling units' people.
			users := slices.Clone(centre)
			var unitIDs []int64
			if tk.HolderUnit != nil {
				unitIDs = append(unitIDs, tk.HolderUnit.ID)
			}
			for _, b := range tk.Branches {
				unitIDs = append(unitIDs, b.Unit.ID)
			}
			urows, err := g.Pool.Query(ctx, `SELECT username FROM users WHERE unit_id = ANY($1) AND NOT disabled ORDER BY username`, unitIDs)
			require.NoError(t, err)
			more, err := pgx.CollectRows(urows, pgx.RowTo[string])
			require.NoError(t, err)
			users = append(users, more...)
			type choice struct {
				user  string
				offer flow.Offer
			}
			var options []choice
			for _, u := range users {
				offers, err := g.Engine.Offers(ctx, as(u), tk)
				require.NoError(t, err)
				for _, o := range offers {
					// Citing knowledge takes article numbers the UI picks
					// from the knowledge search: no form can describe them
					// (the knowledge tests cover it).
					if o.Refusal == "" && o.Action.Name != "cite_knowledge" {
						options = append(options, choice{u, o})
					}
				}
			}
			if len(options) == 0 {
				break
			}
			// Mostly an action that moves the ticket on (not an urge, a
			// withdrawal or a void), so the walks get far.
			var onward []choice
			for _, o := range options {
				if to := o.offer.Action.Target(tk.State); to != tk.State && !slices.Contains([]string{"withdraw", "void"}, o.offer.Action.Name) {
					onward = append(onward, o)
				}
			}
			if len(onward) > 0 && r.IntN(4) > 0 {
				options = onward
			}
			c := options[r.IntN(len(options))]
			input := fill(t, c.offer, c.user, numbers)
			next, err := g.Engine.Perform(ctx, as(c.user), id, c.offer.Action.Name, input, &tk.Version)
			require.NoError(t, err, "ticket %s in %s: %s offered %s (input %v)", tk.Number, tk.State, c.user, c.offer.Action.Name, input)
			performed[c.offer.Action.Name]++
			require.Equal(t, c.offer.Action.Target(tk.State), next.State)
		}
	}
	t.Logf("performed %d distinct actions: %v", len(performed), performed)
	require.Greater(t, len(performed), 45, "the walks reach most of the flow's actions")
}
