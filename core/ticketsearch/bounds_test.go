package ticketsearch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/ticket"
	"github.com/hotline12345/hotline/core/ticketsearch"
	"github.com/hotline12345/hotline/deploy/gen/gentest"
)

type gqlAnswer struct {
	Data   map[string]any      `json:"data"`
	Errors []gql.ResponseError `json:"errors"`
}

// ticketAPI answers GraphQL requests as user through the server's handler.
func ticketAPI(t *testing.T, g *gentest.World, user string) func(query string, vars map[string]any) gqlAnswer {
	t.Helper()
	schema, err := gql.NewBuilder().Build(identity.Module{Svc: g.IDs}, flow.Module{Engine: g.Engine}, ticketsearch.Module{Searcher: g.Search})
	require.NoError(t, err)
	p := g.As(t, user)
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
		start := time.Now()
		h.ServeHTTP(rec, req)
		t.Logf("%d bytes answered in %v", len(body), time.Since(start))
		var res gqlAnswer
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &res), rec.Body.String())
		return res
	}
}

const searchQuery = `query($q: String!, $f: TicketFilter, $s: TicketSort) {
	searchTickets(query: $q, filter: $f, sort: $s, first: 20) { edges { node { id } } totalCount facets(names: ["state"]) { values { count } } }
}`

// Finding 5: a long ticket search became a tsquery PostgreSQL refused
// with "stack depth limit exceeded", answered as a bare INTERNAL. Queries
// are bounded in characters and words, refused with the argument named;
// what the bounds admit PostgreSQL answers.
func TestTicketSearchQueryIsBounded(t *testing.T) {
	g := gentest.New(t, 200)
	do := ticketAPI(t, g, "dispatcher")
	refused := func(res gqlAnswer, limit string) {
		t.Helper()
		require.Len(t, res.Errors, 1, "%+v", res.Errors)
		e := res.Errors[0]
		assert.Equal(t, "BAD_USER_INPUT", e.Extensions["code"], e.Message)
		assert.Equal(t, "query", e.Extensions["field"])
		assert.Equal(t, limit, e.Extensions["limit"])
	}
	run := strings.Repeat("暖气不热", 5_000)
	refused(do(searchQuery, map[string]any{"q": run}), "maxLength")
	refused(do(searchQuery, map[string]any{"q": strings.Repeat("暖", ticketsearch.MaxQueryLength+1)}), "maxLength")
	words := strings.TrimSpace(strings.Repeat("暖气 ", ticketsearch.MaxQueryTerms))
	refused(do(searchQuery, map[string]any{"q": words + " -物业"}), "maxTerms")

	// At the bounds: the longest phrase, the most words, each sort.
	longest := []rune(strings.Repeat("暖气不热物业不管", 30))[:ticketsearch.MaxQueryLength]
	manyLong := strings.TrimSpace(strings.Repeat(string(longest[:ticketsearch.MaxQueryLength/ticketsearch.MaxQueryTerms-1])+" ", ticketsearch.MaxQueryTerms))
	for _, q := range []string{string(longest), words, manyLong} {
		for _, sort := range []string{"NEWEST", "RELEVANCE", "DEADLINE"} {
			res := do(searchQuery, map[string]any{"q": q, "s": sort, "f": map[string]any{"states": []string{"待受理", "办理中"}}})
			require.Empty(t, res.Errors, "%q sorted by %s", q, sort)
		}
	}

	// The in-transit hint searches the address the same way.
	const inTransit = `query($a: String) { inTransit(address: $a) { ticket { id } } }`
	res := do(inTransit, map[string]any{"a": run})
	require.Len(t, res.Errors, 1)
	assert.Equal(t, "address", res.Errors[0].Extensions["field"])
	assert.Equal(t, "BAD_USER_INPUT", res.Errors[0].Extensions["code"])
	require.Empty(t, do(inTransit, map[string]any{"a": string(longest)}).Errors)
	_, err := g.Search.InTransit(context.Background(), g.As(t, "dispatcher"), "", "", strings.Repeat("暖", ticketsearch.MaxQueryLength+1))
	ge, ok := gql.AsError(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, "address", ge.Field)

	// The engine refuses it for callers that bypass GraphQL (exports).
	_, err = g.Search.SearchTickets(context.Background(), g.As(t, "dispatcher"), ticketsearch.Search{Query: run})
	ge, ok = gql.AsError(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, "query", ge.Field)
}

// Finding 12: a query of symbols alone (%, ?, emoji, NUL) listed every
// ticket; having nothing to search for, it finds none. NUL never reaches
// PostgreSQL: the handler refuses it, and the engine never sends the
// query's text, only the terms it found.
func TestSymbolsOnlySearchFindsNothing(t *testing.T) {
	g := gentest.New(t, 200)
	ctx := context.Background()
	p := g.As(t, "dispatcher")
	all, err := g.Search.CountTickets(ctx, p, ticketsearch.Search{}, 0)
	require.NoError(t, err)
	require.NotZero(t, all, "an empty query lists the tickets")
	for _, q := range []string{"%", "?", "😀", "% ? 😀", "\x00", "%\x00", "-%", `"%"`, "。，！", "_"} {
		for _, s := range []ticketsearch.Search{
			{Query: q, First: 20},
			{Query: q, First: 20, Sort: ticketsearch.SortRelevance},
			{Query: q, First: 20, Sort: ticketsearch.SortOldest},
			{Query: q, First: 20, Filter: ticketsearch.Filter{States: []string{"待受理", "办理中", "已办结"}}},
		} {
			hits, err := g.Search.SearchTickets(ctx, p, s)
			require.NoError(t, err, "%q", q)
			assert.Empty(t, hits, "%q %+v", q, s)
			n, err := g.Search.CountTickets(ctx, p, s, 0)
			require.NoError(t, err)
			assert.Zero(t, n, "%q", q)
			facets, err := g.Search.FacetTickets(ctx, p, s, []string{ticket.FacetState})
			require.NoError(t, err)
			for _, f := range facets {
				assert.Empty(t, f.Values, "%q", q)
			}
		}
	}
	for _, q := range []string{"", " ", "\t"} {
		n, err := g.Search.CountTickets(ctx, p, ticketsearch.Search{Query: q}, 0)
		require.NoError(t, err)
		assert.Equal(t, all, n, "%q is blank: it lists", q)
	}
	do := ticketAPI(t, g, "dispatcher")
	res := do(searchQuery, map[string]any{"q": "%\x00"})
	require.Len(t, res.Errors, 1)
	assert.Equal(t, "BAD_USER_INPUT", res.Errors[0].Extensions["code"])
	assert.Equal(t, "query", res.Errors[0].Extensions["field"])
	res = do(searchQuery, map[string]any{"q": "😀"})
	require.Empty(t, res.Errors)
	assert.Empty(t, res.Data["searchTickets"].(map[string]any)["edges"])
	assert.EqualValues(t, 0, res.Data["searchTickets"].(map[string]any)["totalCount"])
}
