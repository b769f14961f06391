package flow_test

import (
	"context"
	"strings"
	"testing"

	"github.com/graphql-go/graphql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/configstore"
	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/registry"
)

// publishV2 runs a second version of the sample flow in which the
// "returned" state is called "sent_back".
func (w *world) publishV2(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "flows/base.yaml", readFile(t, "../../testdata/flows/sample/flows/base.yaml"))
	v2 := strings.ReplaceAll(readFile(t, "../../testdata/flows/sample/flows/request.yaml"), "returned", "sent_back")
	v2 = strings.Replace(v2, "label: 部门退回", "label: 退回待派", 1)
	writeFile(t, dir, "flows/request.yaml", v2)
	writeFile(t, dir, "forms/request.yaml", readFile(t, "../../testdata/flows/sample/forms/request.yaml"))
	writeFile(t, dir, "flows/organisation.yaml", readFile(t, "../../testdata/flows/sample/flows/organisation.yaml"))
	// Its scenarios name the new state: they test version 2 and must not
	// stop version 1 from being rebuilt for its tickets.
	writeFile(t, dir, "flows/request_test.yaml", `kind: flow-test
name: sent-back
flow: request
org: sample
start: 2026-03-02T09:00:00+08:00
steps:
  - {as: agent@12345, create: register, input: {unit: "150105", title: x}}
  - {as: clerk@150105, do: return, expect: {state: sent_back}}
`)
	set, diags := registry.Load(context.Background(), []string{dir}, registry.LoadOptions{})
	require.Empty(t, diags)
	changes, err := configstore.New(w.pool).Record(context.Background(), set, audit.System, "v2")
	require.NoError(t, err)
	require.Contains(t, changes, configstore.Change{Kind: "flow", Name: "request", Version: 2, Status: "changed"})
	w.runtime.Swap(set)
}

func TestTicketsKeepTheirFlowVersionUntilMigrated(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	agent, clerk, admin := w.as(t, "agent"), w.as(t, "clerk"), w.as(t, "admin")
	old, err := w.eng.Create(ctx, agent, "request", "register", map[string]any{"unit": "150105", "title": "旧版本工单"})
	require.NoError(t, err)
	assert.Equal(t, 1, old.FlowVersion)

	w.publishV2(t)

	// The old ticket still follows version 1; a new one follows version 2.
	old, err = w.eng.Perform(ctx, clerk, old.ID, "return", nil, nil)
	require.NoError(t, err)
	assert.Equal(t, "returned", old.State)
	assert.Equal(t, 1, old.FlowVersion)
	schema, err := gql.NewBuilder().Build(identity.Module{Svc: w.ids}, flow.Module{Engine: w.eng})
	require.NoError(t, err)
	r := graphql.Do(graphql.Params{Schema: schema, Context: identity.WithPrincipal(ctx, agent),
		RequestString: `query($id: ID!) { ticket(id: $id) { stateLabel } }`, VariableValues: map[string]any{"id": old.ID}})
	require.Empty(t, r.Errors)
	assert.Equal(t, "部门退回", r.Data.(map[string]any)["ticket"].(map[string]any)["stateLabel"], "labelled by its own version")
	fresh, err := w.eng.Create(ctx, agent, "request", "register", map[string]any{"unit": "150105", "title": "新版本工单"})
	require.NoError(t, err)
	assert.Equal(t, 2, fresh.FlowVersion)
	fresh, err = w.eng.Perform(ctx, clerk, fresh.ID, "return", nil, nil)
	require.NoError(t, err)
	assert.Equal(t, "sent_back", fresh.State)

	// Migration needs a place for every state with open tickets.
	_, err = w.eng.Migrate(ctx, admin, "request", 1, nil, false)
	ge, ok := gql.AsError(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, "stateMap", ge.Field)
	_, err = w.eng.Migrate(ctx, agent, "request", 1, nil, false)
	assert.Equal(t, gql.Forbidden, codeOf(err))

	n, err := w.eng.Migrate(ctx, admin, "request", 1, map[string]string{"returned": "sent_back"}, true)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	still, err := w.eng.Store.Get(ctx, admin, old.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, still.FlowVersion, "a dry run moves nothing")

	n, err = w.eng.Migrate(ctx, admin, "request", 1, map[string]string{"returned": "sent_back"}, false)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	moved, err := w.eng.Store.Get(ctx, admin, old.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, moved.FlowVersion)
	assert.Equal(t, "sent_back", moved.State)
	assert.Equal(t, old.Version+1, moved.Version)
	moved, err = w.eng.Perform(ctx, agent, moved.ID, "redispatch", map[string]any{"unit": "150105"}, &moved.Version)
	require.NoError(t, err)
	assert.Equal(t, "handling", moved.State)

	var events int
	require.NoError(t, w.pool.QueryRow(ctx, `SELECT count(*) FROM ticket_events WHERE ticket_id = $1 AND action = 'migrate'`, old.ID).Scan(&events))
	assert.Equal(t, 1, events)
}
