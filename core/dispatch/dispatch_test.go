package dispatch_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/graphql-go/graphql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/dispatch"
	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/pgtest"
	"github.com/hotline12345/hotline/core/ticket"
	"github.com/hotline12345/hotline/deploy/gen/gentest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func suggester(w *gentest.World) *dispatch.Suggester {
	return &dispatch.Suggester{Pool: w.Pool, Config: w.Runtime, Tickets: w.Engine.Store}
}

func TestResponsibilityListSuggestsUnits(t *testing.T) {
	t.Parallel()
	w := gentest.New(t, 0)
	s, ctx := suggester(w), context.Background()

	got, err := s.Suggest(ctx, "", "小区暖气不热，室温只有十二度", map[string]any{"district": "150105", "street": "150105001"})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, dispatch.Suggestion{UnitCode: "gr", UnitName: "呼和浩特市城发供热有限责任公司", Category: "供暖", Reason: "关键词：暖气"}, got[0])

	// Matters handled where they happen go to the street of the address.
	got, err = s.Suggest(ctx, "物业管理", "", map[string]any{"district": "150105", "street": "150105001"})
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "大学东街街道", got[0].UnitName)
	assert.Equal(t, "归口分类：物业管理", got[0].Reason)
	assert.Equal(t, "zjj", got[1].UnitCode)

	got, err = s.Suggest(ctx, "", "表扬话务员态度好", nil)
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestSuggestUnitsForATicket(t *testing.T) {
	t.Parallel()
	w := gentest.New(t, 0)
	ctx := context.Background()
	tk := register(t, w)
	got, err := suggester(w).SuggestFor(ctx, tk)
	require.NoError(t, err)
	var codes []string
	for _, s := range got {
		codes = append(codes, s.UnitCode)
	}
	assert.Equal(t, []string{"150105001", "zjj"}, codes, "the street of the address, then the bureau, as the list says for 物业")
}

// suggestUnits(ticket:) suggests for a ticket the reader may see, and
// tells one outside the reader's scope from one that does not exist no
// more than ticket(id:) does.
func TestSuggestUnitsOverGraphQL(t *testing.T) {
	t.Parallel()
	w := gentest.New(t, 0)
	tk := register(t, w)
	schema, err := gql.NewBuilder().Build(identity.Module{Svc: w.IDs}, flow.Module{Engine: w.Engine}, dispatch.Module{Suggester: suggester(w)})
	require.NoError(t, err)
	run := func(user string, vars map[string]any) *graphql.Result {
		ctx := identity.WithPrincipal(context.Background(), w.As(t, user))
		return graphql.Do(graphql.Params{Schema: schema, Context: ctx, VariableValues: vars,
			RequestString: `query($t: ID, $a: JSON) { suggestUnits(ticket: $t, text: "电梯坏了", address: $a) { unitCode unitName reason } }`})
	}
	r := run("agent", map[string]any{"t": fmt.Sprint(tk.ID)})
	require.Empty(t, r.Errors)
	got := r.Data.(map[string]any)["suggestUnits"].([]any)
	require.Len(t, got, 2)
	assert.Equal(t, "150105001", got[0].(map[string]any)["unitCode"])

	r = run("clerk.xincheng", map[string]any{"t": fmt.Sprint(tk.ID)})
	require.Len(t, r.Errors, 1)
	assert.Equal(t, "NOT_FOUND", r.Errors[0].Extensions["code"])

	r = run("agent", map[string]any{"a": "150105"})
	require.Len(t, r.Errors, 1)
	assert.Equal(t, "address", r.Errors[0].Extensions["field"])
}

func register(t *testing.T, w *gentest.World) ticket.Ticket {
	t.Helper()
	tk, err := w.Engine.Create(context.Background(), w.As(t, "agent"), "ticket", "register", map[string]any{
		"caller_phone": "13804711234", "title": "小区电梯坏了", "content": "电梯停运三天，物业不管", "type": "投诉",
		"address": map[string]any{"district": "150105", "street": "150105001", "detail": "1 号楼"}})
	require.NoError(t, err)
	return tk
}
