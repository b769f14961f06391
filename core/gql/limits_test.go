package gql

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/graphql-go/graphql/language/ast"
	"github.com/graphql-go/graphql/language/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parseDoc(t *testing.T, q string) *ast.Document {
	t.Helper()
	doc, err := parser.Parse(parser.ParseParams{Source: q})
	require.NoError(t, err)
	return doc
}

// nested returns `{ f { f { ... leaf } } }` with depth fields in a chain.
func nested(depth int) string {
	return strings.Repeat("{ f ", depth-1) + "{ leaf }" + strings.Repeat(" }", depth-1)
}

func TestDepthLimit(t *testing.T) {
	l := Limits{MaxDepth: 3}
	assert.Nil(t, l.Check(parseDoc(t, nested(3)), "", nil))
	err := l.Check(parseDoc(t, nested(4)), "", nil)
	require.NotNil(t, err)
	assert.Equal(t, BadUserInput, err.Code)
	assert.Contains(t, err.Message, "maximum depth of 3")
	assert.Equal(t, "maxDepth", err.Extensions()["limit"])

	// Fragments do not hide depth.
	q := `{ a { ...F } } fragment F on T { b { ... on T { c { d } } } }`
	require.NotNil(t, l.Check(parseDoc(t, q), "", nil))
	assert.Nil(t, Limits{MaxDepth: 4}.Check(parseDoc(t, q), "", nil))

	// Only the selected operation counts.
	q = `query Deep ` + nested(5) + ` query Flat { a }`
	assert.Nil(t, l.Check(parseDoc(t, q), "Flat", nil))
	assert.NotNil(t, l.Check(parseDoc(t, q), "Deep", nil))
	assert.NotNil(t, l.Check(parseDoc(t, q), "", nil))

	// Negative disables.
	assert.Nil(t, Limits{MaxDepth: -1}.Check(parseDoc(t, nested(40)), "", nil))
}

func TestComplexityLimit(t *testing.T) {
	l := Limits{MaxComplexity: 10}
	assert.Nil(t, l.Check(parseDoc(t, `{ a b c d e f g h i j }`), "", nil))
	err := l.Check(parseDoc(t, `{ a b c d e f g h i j k }`), "", nil)
	require.NotNil(t, err)
	assert.Contains(t, err.Message, "maximum of 10")

	// Each spread of a fragment counts its fields again.
	q := `{ x { ...F } y { ...F } } fragment F on T { a b c d }`
	assert.Nil(t, l.Check(parseDoc(t, q), "", nil)) // 2 + 2*4 = 10
	q = `{ x { ...F } y { ...F } z } fragment F on T { a b c d }`
	assert.NotNil(t, l.Check(parseDoc(t, q), "", nil))

	// Page sizes multiply: 1 + 3*3 = 10, then 1 + 4*3 = 13.
	assert.Nil(t, l.Check(parseDoc(t, `{ tickets(first: 3) { id title status } }`), "", nil))
	assert.NotNil(t, l.Check(parseDoc(t, `{ tickets(first: 4) { id title status } }`), "", nil))
	q = `query($n: Int) { tickets(first: $n) { id title status } }`
	assert.Nil(t, l.Check(parseDoc(t, q), "", map[string]any{"n": 3.0}))
	assert.NotNil(t, l.Check(parseDoc(t, q), "", map[string]any{"n": 4.0}))
	// A huge page size saturates instead of overflowing.
	assert.NotNil(t, Limits{}.Check(parseDoc(t, `{ a(first: 99999999999999999999999) { b(first: 2147483647) { c } } }`), "", nil))

	// Default limit: the largest page with a handful of fields passes,
	// a page of pages does not.
	assert.Nil(t, Limits{}.Check(parseDoc(t, `{ tickets(first: 1000) { id title status caller address } }`), "", nil))
	assert.NotNil(t, Limits{}.Check(parseDoc(t, `{ tickets(first: 1000) { id notes(first: 50) { text } } }`), "", nil))
}

func TestComplexityExponentialFragments(t *testing.T) {
	// Each fragment spreads the next twice: 2^30 leaves if expanded naively.
	var b strings.Builder
	b.WriteString("{ ...F0 }\n")
	for i := range 30 {
		fmt.Fprintf(&b, "fragment F%d on Query { ...F%d ...F%d }\n", i, i+1, i+1)
	}
	b.WriteString("fragment F30 on Query { a }\n")
	start := time.Now()
	err := Limits{}.Check(parseDoc(t, b.String()), "", nil)
	require.NotNil(t, err)
	assert.Equal(t, "maxComplexity", err.Extensions()["limit"])
	assert.Less(t, time.Since(start), time.Second)

	// Cycles are left to validation but must not hang the walk.
	assert.Nil(t, Limits{}.Check(parseDoc(t, `{ ...A } fragment A on Query { a ...B } fragment B on Query { ...A }`), "", nil))
}

func TestSizeLimit(t *testing.T) {
	assert.Nil(t, Limits{}.CheckSize(strings.Repeat(" ", DefaultMaxBytes)))
	err := Limits{}.CheckSize(strings.Repeat(" ", DefaultMaxBytes+1))
	require.NotNil(t, err)
	assert.Contains(t, err.Message, "maximum is 102400 bytes")
}

func TestIntrospectionPassesDefaults(t *testing.T) {
	q, err := os.ReadFile("testdata/introspection.graphql")
	require.NoError(t, err)
	// Without the introspection exemption the ofType chain is too deep.
	require.NotNil(t, Limits{}.Check(parseDoc(t, strings.ReplaceAll(string(q), "__schema", "schema")), "", nil))

	h := NewHandler(testSchema(t), HandlerOptions{})
	res := post(t, h, map[string]any{"query": string(q), "operationName": "IntrospectionQuery"})
	require.Empty(t, res.Errors, res.raw)
	assert.Equal(t, http.StatusOK, res.status)
	schema := res.Data["__schema"].(map[string]any)
	assert.Equal(t, "Query", schema["queryType"].(map[string]any)["name"])
}

func TestIntrospectionNestingRejected(t *testing.T) {
	q := `{ __type(name: "Query") { fields { type { fields { type { fields { name } } } } } } }`
	h := NewHandler(testSchema(t), HandlerOptions{})
	res := query(t, h, q)
	require.Len(t, res.Errors, 1)
	assert.Equal(t, "BAD_USER_INPUT", res.code(0))
	assert.Equal(t, "introspectionDepth", res.Errors[0].Extensions["limit"])

	// User fields called "fields" (form definitions) are not affected.
	assert.Nil(t, Limits{}.Check(parseDoc(t, `{ form { fields { fields { fields { name } } } } }`), "", nil))
}

func TestHandlerLimits(t *testing.T) {
	h := NewHandler(testSchema(t), HandlerOptions{Limits: Limits{MaxDepth: 2, MaxComplexity: 5, MaxBytes: 200}})
	res := query(t, h, `{ tickets(first: 2) { id } }`)
	assert.Empty(t, res.Errors)

	res = query(t, h, `query Deep { tickets(first: 1) { id ...on Ticket { title } } __typename }`)
	assert.Empty(t, res.Errors)

	// Left out, first is the default page, not one item.
	res = query(t, h, `{ tickets { id } }`)
	require.Len(t, res.Errors, 1)
	assert.Equal(t, "maxComplexity", res.Errors[0].Extensions["limit"])

	res = query(t, h, `{ tickets(first: 5) { id } }`)
	require.Len(t, res.Errors, 1)
	assert.Equal(t, "BAD_USER_INPUT", res.code(0))
	assert.Equal(t, "maxComplexity", res.Errors[0].Extensions["limit"])
	assert.Nil(t, res.Data)

	res = query(t, h, "{ count }"+strings.Repeat(" ", 200))
	assert.Equal(t, "maxBytes", res.Errors[0].Extensions["limit"])
}
