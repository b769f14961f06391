package knowledge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/graphql-go/graphql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/knowledge"
)

type gqlResponse struct {
	Data   map[string]any      `json:"data"`
	Errors []gql.ResponseError `json:"errors"`
}

// serveAs answers GraphQL requests over HTTP as user, through the
// handler the server uses (its gate and bounds included).
func (k *kb) serveAs(t *testing.T, user string) (graphql.Schema, func(query string, vars map[string]any) gqlResponse) {
	t.Helper()
	schema, err := gql.NewBuilder().Build(identity.Module{Svc: k.w.IDs}, flow.Module{Engine: k.w.Engine}, knowledge.Module{Service: k.s})
	require.NoError(t, err)
	p := k.w.As(t, user)
	h := gql.NewHandler(schema, gql.HandlerOptions{Authenticate: func(ctx context.Context, _ *http.Request) (context.Context, error) {
		return identity.WithPrincipal(ctx, p), nil
	}})
	return schema, func(query string, vars map[string]any) gqlResponse {
		t.Helper()
		body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
		require.NoError(t, err)
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, req)
		t.Logf("%d bytes answered in %v", len(body), time.Since(start))
		var res gqlResponse
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &res), rec.Body.String())
		return res
	}
}

func requireRefused(t *testing.T, res gqlResponse, field, limit string) {
	t.Helper()
	require.Len(t, res.Errors, 1, "%+v", res)
	e := res.Errors[0]
	assert.Equal(t, "BAD_USER_INPUT", e.Extensions["code"])
	assert.Equal(t, field, e.Extensions["field"])
	assert.Equal(t, limit, e.Extensions["limit"])
}

// Finding 5: a 100,000-character search or suggestion prefix drove the
// server's memory to gigabytes; every query is bounded in length and
// words, refused with the argument named.
func TestSearchInputsAreBounded(t *testing.T) {
	k := newKB(t, 40)
	schema, do := k.serveAs(t, "agent")
	const search = `query($q: String!, $f: KnowledgeFilter) { searchKnowledge(query: $q, filter: $f) { totalCount } }`
	huge := strings.Repeat("社保卡补办", 20_000)

	for _, fuzzy := range []bool{false, true} {
		requireRefused(t, do(search, map[string]any{"q": huge, "f": map[string]any{"fuzzy": fuzzy}}), "query", "maxLength")
		res := do(search, map[string]any{"q": strings.Repeat("社", knowledge.MaxQueryLength), "f": map[string]any{"fuzzy": fuzzy}})
		require.Empty(t, res.Errors, "at the bound")
		requireRefused(t, do(search, map[string]any{"q": strings.Repeat("社", knowledge.MaxQueryLength+1), "f": map[string]any{"fuzzy": fuzzy}}), "query", "maxLength")
	}
	words := strings.TrimSpace(strings.Repeat("社保 ", knowledge.MaxQueryTerms))
	require.Empty(t, do(search, map[string]any{"q": words}).Errors, "as many words as allowed")
	requireRefused(t, do(search, map[string]any{"q": words + " -医保"}), "query", "maxTerms")
	requireRefused(t, do(search, map[string]any{"q": "社保", "f": map[string]any{"within": []string{"供暖", strings.Repeat("暖", knowledge.MaxQueryLength+1)}}}), "filter.within[1]", "maxLength")
	requireRefused(t, do(search, map[string]any{"q": "社保", "f": map[string]any{"within": []string{huge}}}), "filter.within[0]", "maxLength")

	const suggest = `query($p: String!) { suggestKnowledge(prefix: $p) { text } }`
	requireRefused(t, do(suggest, map[string]any{"p": huge}), "prefix", "maxLength")
	requireRefused(t, do(suggest, map[string]any{"p": strings.Repeat("社", knowledge.MaxSuggestPrefix+1)}), "prefix", "maxLength")
	require.Empty(t, do(suggest, map[string]any{"p": "社保"}).Errors)

	// The resolvers check too, for callers that do not go through the
	// handler.
	ctx := identity.WithPrincipal(context.Background(), k.w.As(t, "agent"))
	r := graphql.Do(graphql.Params{Schema: schema, Context: ctx, RequestString: search, VariableValues: map[string]any{"q": huge}})
	require.Len(t, r.Errors, 1)
	assert.Contains(t, r.Errors[0].Message, "搜索词过长")
	assert.Equal(t, "query", r.Errors[0].Extensions["field"])
	r = graphql.Do(graphql.Params{Schema: schema, Context: ctx, RequestString: search, VariableValues: map[string]any{"q": words + " 医保"}})
	require.Len(t, r.Errors, 1)
	assert.Contains(t, r.Errors[0].Message, "搜索词过多")
	r = graphql.Do(graphql.Params{Schema: schema, Context: ctx, RequestString: suggest, VariableValues: map[string]any{"p": huge}})
	require.Len(t, r.Errors, 1)
	assert.Contains(t, r.Errors[0].Message, "联想的输入过长")
	assert.Equal(t, "prefix", r.Errors[0].Extensions["field"])
}

// Finding 12: a query of symbols alone has nothing to search for and
// finds nothing; it used to list every article. NUL never reaches the
// search.
func TestSymbolsOnlyFindNothing(t *testing.T) {
	k := newKB(t, 40)
	ctx := context.Background()
	all, err := k.s.Search(ctx, knowledge.Search{})
	require.NoError(t, err)
	require.NotZero(t, all.Total, "an empty query lists every article")
	for _, q := range []string{"%", "?", "😀", "% ? 😀", "\x00", "-%", `"%"`, "。，！", "\t"} {
		for _, fuzzy := range []bool{false, true} {
			res, err := k.s.Search(ctx, knowledge.Search{Text: q, Filter: knowledge.Filter{Fuzzy: fuzzy}})
			require.NoError(t, err, "%q", q)
			if strings.TrimSpace(q) == "" {
				assert.Equal(t, all.Total, res.Total, "%q is blank: it lists", q)
				continue
			}
			assert.Zero(t, res.Total, "%q", q)
			assert.Empty(t, res.Hits, "%q", q)
		}
		res, err := k.s.Search(ctx, knowledge.Search{Text: "社保", Filter: knowledge.Filter{Within: []string{q}}})
		require.NoError(t, err)
		if strings.TrimSpace(q) != "" {
			assert.Zero(t, res.Total, "within %q", q)
		}
	}
	_, do := k.serveAs(t, "agent")
	requireRefused(t, do(`query($q: String!) { searchKnowledge(query: $q) { totalCount } }`, map[string]any{"q": "%\x00"}), "query", "nul")
}
