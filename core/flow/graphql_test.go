package flow_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/graphql-go/graphql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/ticketsearch"
)

func TestTicketsOverGraphQL(t *testing.T) {
	w := newWorld(t)
	schema, err := gql.NewBuilder().Build(identity.Module{Svc: w.ids}, flow.Module{Engine: w.eng})
	require.NoError(t, err)
	run := func(user, query string, vars map[string]any) *graphql.Result {
		ctx := identity.WithPrincipal(context.Background(), w.as(t, user))
		return graphql.Do(graphql.Params{Schema: schema, RequestString: query, VariableValues: vars, Context: ctx})
	}

	r := run("agent", `mutation($in: JSON!) { createTicket(form: "register", input: $in) { id number state stateLabel version holder { unitName } deadline } }`,
		map[string]any{"in": map[string]any{"unit": "150105", "title": "噪音扰民", "type": "投诉"}})
	require.Empty(t, r.Errors)
	created := r.Data.(map[string]any)["createTicket"].(map[string]any)
	assert.Equal(t, "处办中", created["stateLabel"])
	assert.Equal(t, "赛罕区", created["holder"].(map[string]any)["unitName"])
	assert.NotNil(t, created["deadline"])
	id := created["id"]

	r = run("clerk", `query($id: ID!) { ticket(id: $id) { state availableActions { name label form } } }`, map[string]any{"id": id})
	require.Empty(t, r.Errors)
	actions := r.Data.(map[string]any)["ticket"].(map[string]any)["availableActions"].([]any)
	assert.Len(t, actions, 2)

	// A stale version is a CONFLICT carrying the current state.
	r = run("clerk", `mutation($id: ID!) { performAction(ticketId: $id, action: "return", expectedVersion: 7) { state } }`, map[string]any{"id": id})
	require.Len(t, r.Errors, 1)
	ext := r.Errors[0].Extensions
	assert.Equal(t, "CONFLICT", ext["code"])
	assert.Equal(t, "handling", ext["state"])

	r = run("clerk", `mutation($id: ID!) { performAction(ticketId: $id, action: "return", input: {reason: "非本单位职责"}, expectedVersion: 1) { state version events { action actor fromState toState } } }`, map[string]any{"id": id})
	require.Empty(t, r.Errors)
	tk := r.Data.(map[string]any)["performAction"].(map[string]any)
	assert.Equal(t, "returned", tk["state"])
	assert.Equal(t, []any{
		map[string]any{"action": "register", "actor": "agent", "fromState": "", "toState": "handling"},
		map[string]any{"action": "return", "actor": "clerk", "fromState": "handling", "toState": "returned"},
	}, tk["events"])

	// The clerk of 新城区 cannot see it, in the list or by id.
	r = run("clerk.xc", `query($id: ID!) { ticket(id: $id) { state } }`, map[string]any{"id": id})
	require.Len(t, r.Errors, 1)
	assert.Equal(t, "NOT_FOUND", r.Errors[0].Extensions["code"])
	r = run("clerk.xc", `{ tickets { edges { node { number } } } }`, nil)
	require.Empty(t, r.Errors)
	assert.Empty(t, r.Data.(map[string]any)["tickets"].(map[string]any)["edges"])
	r = run("agent", `{ tickets(state: "returned") { edges { node { number } } } }`, nil)
	require.Empty(t, r.Errors)
	assert.Len(t, r.Data.(map[string]any)["tickets"].(map[string]any)["edges"], 1)

	// Drafts use the flow's creating action into a draft state.
	r = run("agent", `mutation { createTicket(form: "register", input: {title: "未完成"}, draft: true) { state stateLabel fields } }`, nil)
	require.Empty(t, r.Errors)
	draft := r.Data.(map[string]any)["createTicket"].(map[string]any)
	assert.Equal(t, "暂存", draft["stateLabel"])
	assert.Equal(t, map[string]any{"title": "未完成"}, draft["fields"], "a draft keeps what was typed")
}

func TestFlowGraphForTheDesigner(t *testing.T) {
	w := newWorld(t)
	schema, err := gql.NewBuilder().Build(identity.Module{Svc: w.ids}, flow.Module{Engine: w.eng})
	require.NoError(t, err)
	ctx := identity.WithPrincipal(context.Background(), w.as(t, "agent"))
	r := graphql.Do(graphql.Params{Schema: schema, Context: ctx,
		RequestString: `{ flows { name label states { name label category paused } actions { name from to roles holder form guards } mermaid } }`})
	require.Empty(t, r.Errors)
	flows := r.Data.(map[string]any)["flows"].([]any)
	require.Len(t, flows, 1)
	f := flows[0].(map[string]any)
	assert.Equal(t, "request", f["name"])
	assert.Contains(t, f["states"], map[string]any{"name": "returned", "label": "部门退回", "category": "open", "paused": true})
	assert.Contains(t, f["actions"], map[string]any{"name": "return", "from": []any{"handling"}, "to": "returned", "roles": []any{"clerk"},
		"holder": "unit", "form": "return", "guards": []any{"已退回两次，不能再次退回"}})
	assert.Contains(t, f["mermaid"], "handling --> returned: 申请退回")
}

type gqlAnswer struct {
	Data   map[string]any      `json:"data"`
	Errors []gql.ResponseError `json:"errors"`
}

// apiAs answers GraphQL as user through the server's handler, with its
// limits and serialisation.
func apiAs(t *testing.T, w *world, user string) func(query string, vars map[string]any) gqlAnswer {
	t.Helper()
	schema, err := gql.NewBuilder().Build(identity.Module{Svc: w.ids}, flow.Module{Engine: w.eng},
		ticketsearch.Module{Searcher: &ticketsearch.Searcher{Pool: w.pool, Config: w.runtime, Tickets: w.eng.Store}})
	require.NoError(t, err)
	p := w.as(t, user)
	h := gql.NewHandler(schema, gql.HandlerOptions{Authenticate: func(ctx context.Context, _ *http.Request) (context.Context, error) {
		return identity.WithPrincipal(ctx, p), nil
	}})
	return func(query string, vars map[string]any) gqlAnswer {
		t.Helper()
		body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
		require.NoError(t, err)
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var res gqlAnswer
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &res), rec.Body.String())
		return res
	}
}

// Issue 15, item 7: a deadline came back as +08:00 from createTicket and
// as Z from searchTickets. Every time is written in the flow calendar's
// zone with its offset, so the same instant reads the same everywhere.
func TestTimesReadTheSameThroughEveryQuery(t *testing.T) {
	w := newWorld(t)
	do := apiAs(t, w, "agent")
	res := do(`mutation($in: JSON!) { createTicket(form: "register", input: $in) { id deadline createdAt events { at } } }`,
		map[string]any{"in": map[string]any{"unit": "150105", "title": "夜间施工噪音扰民", "type": "投诉"}})
	require.Empty(t, res.Errors)
	created := res.Data["createTicket"].(map[string]any)
	deadline, _ := created["deadline"].(string)
	require.NotEmpty(t, deadline)
	assert.True(t, strings.HasSuffix(deadline, "+08:00"), "in the calendar's zone (Asia/Shanghai): %s", deadline)

	res = do(`{ searchTickets(query: "") { edges { node { id deadline createdAt events { at } } } } }`, nil)
	require.Empty(t, res.Errors)
	edges := res.Data["searchTickets"].(map[string]any)["edges"].([]any)
	require.Len(t, edges, 1)
	assert.Equal(t, created, edges[0].(map[string]any)["node"], "createTicket and searchTickets read the same times")

	res = do(`query($id: ID!) { ticket(id: $id) { id deadline createdAt events { at } } }`, map[string]any{"id": created["id"]})
	require.Empty(t, res.Errors)
	assert.Equal(t, created, res.Data["ticket"])
	res = do(`{ tickets(first: 10) { edges { node { id deadline createdAt events { at } } } } }`, nil)
	require.Empty(t, res.Errors)
	assert.Equal(t, created, res.Data["tickets"].(map[string]any)["edges"].([]any)[0].(map[string]any)["node"])
}

// Issue 15, item 7: the largest page the schema offers passes the
// complexity limit with a handful of fields; a list inside such a page
// multiplies and is refused before anything runs.
func TestTheLargestPagePassesTheComplexityLimit(t *testing.T) {
	w := newWorld(t)
	do := apiAs(t, w, "agent")
	for _, q := range []string{
		`{ tickets(first: 1000) { edges { node { id number state deadline } } pageInfo { hasNextPage endCursor } } }`,
		`{ searchTickets(query: "", first: 1000) { edges { cursor node { id number state stateLabel deadline createdAt } } pageInfo { hasNextPage } } }`,
	} {
		res := do(q, nil)
		assert.Empty(t, res.Errors, q)
	}
	res := do(`{ tickets(first: 1000) { edges { node { id events { action actor at fromState toState } } } } }`, nil)
	require.Len(t, res.Errors, 1)
	assert.Equal(t, "maxComplexity", res.Errors[0].Extensions["limit"])
}

func TestLinksReadBothEndsWithinScope(t *testing.T) {
	w := newWorld(t)
	schema, err := gql.NewBuilder().Build(identity.Module{Svc: w.ids}, flow.Module{Engine: w.eng})
	require.NoError(t, err)
	run := func(user, query string, vars map[string]any) map[string]any {
		t.Helper()
		ctx := identity.WithPrincipal(context.Background(), w.as(t, user))
		r := graphql.Do(graphql.Params{Schema: schema, RequestString: query, VariableValues: vars, Context: ctx})
		require.Empty(t, r.Errors)
		return r.Data.(map[string]any)
	}
	create := func(unit, title string) (string, string) {
		tk := run("agent", `mutation($in: JSON!) { createTicket(form: "register", input: $in) { id number } }`,
			map[string]any{"in": map[string]any{"unit": unit, "title": title, "type": "投诉"}})["createTicket"].(map[string]any)
		return tk["id"].(string), tk["number"].(string)
	}
	master, masterNo := create("150105", "大学东街占道经营")
	merged, mergedNo := create("150105", "大学东街 88 号门口占道经营")
	away, awayNo := create("150102", "新城区同一商贩占道经营")
	// As the flows' link effect writes them: merged into master, and the
	// 新城区 ticket related to master.
	for _, l := range [][2]string{{merged, master}, {away, master}} {
		rel := map[string]string{merged: "merge", away: "related"}[l[0]]
		_, err := w.pool.Exec(context.Background(), `INSERT INTO ticket_links (ticket_id, other_id, relation, at) VALUES ($1, $2, $3, now() + ($4 || ' s')::interval)`,
			l[0], l[1], rel, map[string]string{merged: "1", away: "2"}[l[0]])
		require.NoError(t, err)
	}
	const q = `query($id: ID!) { ticket(id: $id) { links { relation outgoing label ticket { number } } } }`
	links := func(user, id string) []any {
		return run(user, q, map[string]any{"id": id})["ticket"].(map[string]any)["links"].([]any)
	}

	// The agent sees every ticket: the master lists both, oldest first, as
	// links made by the others.
	assert.Equal(t, []any{
		map[string]any{"relation": "merge", "outgoing": false, "label": "并入本单", "ticket": map[string]any{"number": mergedNo}},
		map[string]any{"relation": "related", "outgoing": false, "label": "关联", "ticket": map[string]any{"number": awayNo}},
	}, links("agent", master))
	// The merged ticket points at its master.
	assert.Equal(t, []any{
		map[string]any{"relation": "merge", "outgoing": true, "label": "已并入", "ticket": map[string]any{"number": masterNo}},
	}, links("clerk", merged))
	// 赛罕区's clerk learns that the master has a link outside the
	// district, not which ticket it is.
	got := links("clerk", master)
	require.Len(t, got, 2)
	assert.Equal(t, map[string]any{"number": mergedNo}, got[0].(map[string]any)["ticket"])
	assert.Nil(t, got[1].(map[string]any)["ticket"])
	// A ticket without links has an empty list.
	lone, _ := create("150105", "路灯不亮")
	assert.Empty(t, links("clerk", lone))
}

func TestALinkReachesOnlyTicketsTheActorMayRead(t *testing.T) {
	w := newWorld(t)
	require.Empty(t, w.withCall(t, "link: {ticket: input.reason, relation: related}"))
	ctx := context.Background()
	agent, clerk := w.as(t, "agent"), w.as(t, "clerk")
	create := func(unit string) ticketRef {
		tk, err := w.eng.Create(ctx, agent, "request", "register", map[string]any{"unit": unit, "title": "占道经营", "type": "投诉"})
		require.NoError(t, err)
		return ticketRef{tk.ID, tk.Number}
	}
	mine, near, away := create("150105"), create("150105"), create("150102")
	// The 赛罕区 clerk links to a 新城区 ticket: refused as if it did not
	// exist, with the same words as a number nobody has.
	_, errAway := w.eng.Perform(ctx, clerk, mine.id, "return", map[string]any{"reason": away.number}, nil)
	_, errNone := w.eng.Perform(ctx, clerk, mine.id, "return", map[string]any{"reason": "20990101000001"}, nil)
	require.Error(t, errAway)
	require.Error(t, errNone)
	assert.Equal(t, strings.ReplaceAll(errNone.Error(), "20990101000001", away.number), errAway.Error())
	// One in the clerk's district is linked.
	_, err := w.eng.Perform(ctx, clerk, mine.id, "return", map[string]any{"reason": near.number}, nil)
	require.NoError(t, err)
	links, err := w.eng.Store.Links(ctx, clerk, mine.id)
	require.NoError(t, err)
	require.Len(t, links, 1)
	assert.Equal(t, near.number, links[0].Other.Number)
}

type ticketRef struct {
	id     int64
	number string
}
