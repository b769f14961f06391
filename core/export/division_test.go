package export_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/configstore"
	"github.com/hotline12345/hotline/core/dispatch"
	"github.com/hotline12345/hotline/core/export"
	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/pgtest"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/ticket"
	"github.com/hotline12345/hotline/core/ticketsearch"
)

// A banner region picks addresses in four levels (旗 → 苏木 → 嘎查 → 网格)
// named only in its configuration (testdata/flows/banner): the check,
// the search index and its facets, the responsibility list and the
// export all follow the division's levels.
func TestAnotherDivisionNeedsOnlyConfiguration(t *testing.T) {
	ctx := context.Background()
	set, diags := registry.Load(ctx, []string{"../../testdata/flows/banner"}, registry.LoadOptions{})
	require.Empty(t, diags)
	pool := pgtest.Pool(t)
	_, err := configstore.New(pool).Record(ctx, set, audit.System, "test")
	require.NoError(t, err)
	runtime := registry.NewRuntime(set)
	ids := identity.NewService(pool, runtime, identity.DefaultPolicy(), slog.New(slog.DiscardHandler))
	sd, ok := identity.OrganisationSeed(set, "xilingol")
	require.True(t, ok)
	const password = "Hotline@12345"
	sd.Users = []identity.SeedUser{{Username: "agent", DisplayName: "话务员", Unit: "xl12345", Roles: []string{"agent"}}}
	_, _, err = ids.LoadSeed(ctx, sd, password)
	require.NoError(t, err)
	login, err := ids.Login(ctx, "agent", password)
	require.NoError(t, err)
	agent := login.Principal
	eng := flow.NewEngine(pool, runtime)
	search := &ticketsearch.Searcher{Pool: pool, Config: runtime, Tickets: eng.Store}

	grid := map[string]any{"banner": "152530", "sumu": "152530201", "gaqa": "152530201201", "grid": "152530201201002", "detail": "3号草场"}
	tk, err := eng.Create(ctx, agent, "request", "register", map[string]any{"unit": "152530", "title": "草场被围栏圈占", "place": grid})
	require.NoError(t, err)
	assert.Equal(t, grid, tk.Fields["place"], "every level is kept under its key")

	// The check walks the four levels: a grid needs its gaqa, and each
	// unit must lie in the one above.
	_, err = eng.Create(ctx, agent, "request", "register", map[string]any{"title": "缺一级", "place": map[string]any{"banner": "152530", "sumu": "152530201", "grid": "152530201201001"}})
	ge, ok := gql.AsError(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, "input.place.gaqa", ge.Field)
	assert.Contains(t, ge.Message, "选了网格须同时选嘎查")
	_, err = eng.Create(ctx, agent, "request", "register", map[string]any{"title": "不属于", "place": map[string]any{"banner": "152530", "sumu": "152530202", "gaqa": "152530201201"}})
	ge, ok = gql.AsError(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, "input.place.gaqa", ge.Field, "乌兰沟嘎查 is not in 桑根达来镇")
	_, err = eng.Create(ctx, agent, "request", "register", map[string]any{"title": "旧的区划", "place": map[string]any{"district": "152530"}})
	ge, ok = gql.AsError(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, "input.place.district", ge.Field)
	assert.Contains(t, ge.Message, "可填 banner、sumu、gaqa、grid、detail")

	// Indexing: the names of the units are searched, each level is a
	// facet with the level's label.
	for _, q := range []string{"那日图苏木", "乌兰沟第二网格"} {
		hits, err := search.SearchTickets(ctx, agent, ticketsearch.Search{Query: q})
		require.NoError(t, err)
		require.Len(t, hits, 1, "query %s", q)
		assert.Equal(t, tk.ID, hits[0].Ticket.ID)
	}
	for level, code := range map[string]string{"place.gaqa": "152530201201", "place.grid": "152530201201002"} {
		hits, err := search.SearchTickets(ctx, agent, ticketsearch.Search{Filter: ticketsearch.Filter{Facets: map[string][]string{level: {code}}}})
		require.NoError(t, err)
		require.Len(t, hits, 1, "facet %s", level)
	}
	hits, err := search.SearchTickets(ctx, agent, ticketsearch.Search{Filter: ticketsearch.Filter{Facets: map[string][]string{"place.grid": {"152530201201001"}}}})
	require.NoError(t, err)
	assert.Empty(t, hits, "the other grid")
	facets, err := search.FacetTickets(ctx, agent, ticketsearch.Search{}, []string{"place.sumu", "place.grid"})
	require.NoError(t, err)
	require.Len(t, facets, 2)
	labels := map[string]string{}
	for _, f := range facets {
		labels[f.Name] = f.Label
		require.Len(t, f.Values, 1)
		assert.EqualValues(t, 1, f.Values[0].Count)
	}
	assert.Equal(t, map[string]string{"place.sumu": "事发地·苏木", "place.grid": "事发地·网格"}, labels)

	// The responsibility list names levels of the division: the gaqa and
	// the sumu of the ticket's address.
	suggester := &dispatch.Suggester{Pool: pool, Config: runtime, Tickets: eng.Store}
	sug, err := suggester.SuggestFor(ctx, tk)
	require.NoError(t, err)
	var names []string
	for _, s := range sug {
		names = append(names, s.UnitName)
	}
	assert.Equal(t, []string{"乌兰沟嘎查", "那日图苏木"}, names)
	sug, err = suggester.Suggest(ctx, "", "门口垃圾没人清", map[string]any{"grid": "152530201201001"})
	require.NoError(t, err)
	require.Len(t, sug, 1)
	assert.Equal(t, "乌兰沟第一网格", sug[0].UnitName)

	// The export writes the address with the names of its four units.
	units, err := ticket.AllUnitNames(ctx, pool)
	require.NoError(t, err)
	var buf bytes.Buffer
	_, err = export.Write(ctx, search, set, units, agent, export.Request{Format: export.CSV, Form: "register", Columns: []string{"number", "place"}}, &buf, nil)
	require.NoError(t, err)
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(buf.Bytes(), []byte("\uFEFF")))).ReadAll()
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"工单编号", "事发地"}, {tk.Number, "正蓝旗那日图苏木乌兰沟嘎查乌兰沟第二网格3号草场"}}, rows)
}
