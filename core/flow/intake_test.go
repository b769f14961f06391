package flow_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/graphql-go/graphql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/ticketsearch"
	"github.com/hotline12345/hotline/deploy/gen/gentest"
)

// TestIntakeFromEachSource registers tickets the ways a centre does — by
// hand, from a call, from a chat session, as a draft finished later — and
// an urge that attaches the new caller to the open ticket instead of
// creating a duplicate, all through GraphQL on the default configuration.
func TestIntakeFromEachSource(t *testing.T) {
	g := gentest.New(t, 200)
	schema, err := gql.NewBuilder().Build(identity.Module{Svc: g.IDs}, flow.Module{Engine: g.Engine}, ticketsearch.Module{Searcher: g.Search})
	require.NoError(t, err)
	agent := g.As(t, "agent")
	run := func(query string, vars map[string]any) (map[string]any, []map[string]any) {
		r := graphql.Do(graphql.Params{Schema: schema, RequestString: query, VariableValues: vars, Context: identity.WithPrincipal(context.Background(), agent)})
		var errs []map[string]any
		for _, e := range r.Errors {
			errs = append(errs, map[string]any{"message": e.Message, "field": e.Extensions["field"], "errors": e.Extensions["errors"]})
		}
		data, _ := r.Data.(map[string]any)
		return data, errs
	}
	create := `mutation($form: String!, $in: JSON!, $draft: Boolean, $action: String) {
		createTicket(form: $form, input: $in, draft: $draft, action: $action) { id state fields } }`
	base := map[string]any{"caller": "其其格", "type": "投诉", "category": "0103", "title": "暖气不热", "content": "家中暖气不热已有三天。"}
	with := func(extra map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}

	// By hand.
	d, errs := run(create, map[string]any{"form": "ticket-register", "in": with(map[string]any{"contact_phone": "0471-6612345", "channel": "电话"})})
	require.Empty(t, errs)
	assert.Equal(t, "first_review", d["createTicket"].(map[string]any)["state"])
	assert.Equal(t, "04716612345", d["createTicket"].(map[string]any)["fields"].(map[string]any)["contact_phone"], "phones are kept normalised")

	// From a call: the call id and the recording travel with the ticket.
	d, errs = run(create, map[string]any{"form": "ticket-register", "in": with(map[string]any{"caller_phone": "13947112345", "channel": "电话",
		"call_id": "CALL-20261120-000042", "recording": "recordings/2026/11/20/100000-000042.wav"})})
	require.Empty(t, errs)
	call := d["createTicket"].(map[string]any)
	assert.Equal(t, "CALL-20261120-000042", call["fields"].(map[string]any)["call_id"])
	assert.Equal(t, "recordings/2026/11/20/100000-000042.wav", call["fields"].(map[string]any)["recording"])

	// The same with the form's own GraphQL input type: fields and their
	// types come from forms/ticket-register.yaml.
	d, errs = run(`mutation { createTicketAsTicketRegister(input: {caller: "其其格", caller_phone: "13947112346", type: "投诉", category: "0103",
		title: "暖气不热", content: "家中暖气不热已有三天。", confidential: false,
		address: {district: "150105", street: "150105001", detail: "锦绣小区5号楼"}}) { id state fields } }`, nil)
	require.Empty(t, errs)
	typed := d["createTicketAsTicketRegister"].(map[string]any)
	assert.Equal(t, "first_review", typed["state"])
	assert.Equal(t, "锦绣小区5号楼", typed["fields"].(map[string]any)["address"].(map[string]any)["detail"])
	_, errs = run(`mutation { createTicketAsTicketRegister(input: {title: 12, colour: "red"}) { state } }`, nil)
	require.NotEmpty(t, errs, "a wrong type and an unknown field are refused by the schema")
	_, errs = run(`mutation { createTicketAsTicketRegister(input: {title: "只有标题"}) { state } }`, nil)
	require.NotEmpty(t, errs, "and the form still checks what is required")
	// Every problem at once, in the form's order: the contact rule, then
	// the required type.
	var listed []struct{ Field string }
	raw, err := json.Marshal(errs[0]["errors"])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &listed))
	var fields []string
	for _, e := range listed {
		fields = append(fields, e.Field)
	}
	assert.Contains(t, fields, "input.type")
	assert.Equal(t, "input.contact_phone", errs[0]["field"])

	// From a chat session: pending until an agent accepts it.
	d, errs = run(create, map[string]any{"form": "omni-intake", "in": map[string]any{"channel": "微信", "session_id": "WX-8812", "caller_phone": "13947112345", "content": "小区暖气不热"}})
	require.Empty(t, errs)
	chat := d["createTicket"].(map[string]any)
	assert.Equal(t, "omni_pending", chat["state"])
	_, errs = run(create, map[string]any{"form": "omni-intake", "in": map[string]any{"content": "没有渠道"}})
	require.NotEmpty(t, errs)
	assert.Equal(t, "input.channel", errs[0]["field"])

	// A draft keeps what was typed, is read back, and survives a failed
	// submit untouched.
	d, errs = run(create, map[string]any{"form": "ticket-register", "draft": true, "in": map[string]any{"caller": "王丽", "title": "路灯不亮"}})
	require.Empty(t, errs)
	draft := d["createTicket"].(map[string]any)
	assert.Equal(t, "draft", draft["state"])
	submit := `mutation($id: ID!, $in: JSON) { performAction(ticketId: $id, action: "submit_draft", input: $in) { state } }`
	_, errs = run(submit, map[string]any{"id": draft["id"], "in": map[string]any{"caller": "王丽", "title": "路灯不亮", "caller_phone": "12345"}})
	require.NotEmpty(t, errs, "incomplete and a bad phone number")
	d, errs = run(`query($id: ID!) { ticket(id: $id) { state fields } }`, map[string]any{"id": draft["id"]})
	require.Empty(t, errs)
	assert.Equal(t, "draft", d["ticket"].(map[string]any)["state"])
	assert.Equal(t, draft["fields"], d["ticket"].(map[string]any)["fields"])
	assert.Equal(t, "路灯不亮", draft["fields"].(map[string]any)["title"])
	_, errs = run(submit, map[string]any{"id": draft["id"], "in": map[string]any{"caller": "王丽", "title": "路灯不亮", "caller_phone": "13904710000",
		"type": "求助", "content": "西二环路路灯不亮。"}})
	require.Empty(t, errs)

	// The same caller calls again: the in-transit hint shows the open
	// tickets, and the agent urges one, recording who called.
	d, errs = run(`query { inTransit(phone: "139 4711 2345") { ticket { id } matchedBy } }`, nil)
	require.Empty(t, errs)
	var ids []any
	for _, h := range d["inTransit"].([]any) {
		ids = append(ids, h.(map[string]any)["ticket"].(map[string]any)["id"])
	}
	assert.ElementsMatch(t, []any{call["id"], chat["id"]}, ids)
	_, errs = run(`mutation($id: ID!) { performAction(ticketId: $id, action: "urge", input: {urge_content: "邻居也反映暖气不热", urge_caller: "邻居张女士", urge_phone: "13800471234"}) { state } }`,
		map[string]any{"id": call["id"]})
	require.Empty(t, errs)
	d, errs = run(`query { inTransit(phone: "13800471234") { ticket { id } matchedBy } }`, nil)
	require.Empty(t, errs)
	require.Len(t, d["inTransit"], 1, "the new caller is found on the urged ticket")
	assert.Equal(t, call["id"], d["inTransit"].([]any)[0].(map[string]any)["ticket"].(map[string]any)["id"])
	var tickets int
	require.NoError(t, g.Pool.QueryRow(context.Background(), `SELECT count(*) FROM tickets WHERE inputs->'urge'->>'urge_phone' = '13800471234'`).Scan(&tickets))
	assert.Equal(t, 1, tickets, "no duplicate ticket")

	// Similar open tickets: the same category, by text.
	d, errs = run(`query { similarTickets(text: "暖气不热已有三天", facets: {category: "0103"}) { ticket { id } score shared } }`, nil)
	require.Empty(t, errs)
	similar := d["similarTickets"].([]any)
	require.NotEmpty(t, similar)
	top := similar[0].(map[string]any)
	assert.Contains(t, []any{call["id"], typed["id"]}, top["ticket"].(map[string]any)["id"])
	assert.Equal(t, []any{"category=0103"}, top["shared"])
	assert.Greater(t, top["score"].(float64), 0.5)
}
