package gql

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cycleDocuments spread fragments in cycles; graphql-go v0.8.1's
// validation overflows the stack on each (fatal, not a panic), so without
// the gate the first of these ends the test binary.
var cycleDocuments = []struct{ name, query string }{
	{"issue: two fragments", `{...A} fragment A on Query{...B} fragment B on Query{...A}`},
	{"self", `{...A} fragment A on Query{...A}`},
	{"three fragments", `{...A} fragment A on Query{ hello(name: "x") ...B} fragment B on Query{...C} fragment C on Query{ count ...A}`},
	{"through an inline fragment", `{...A} fragment A on Query{ ... on Query { ...B } } fragment B on Query{...A}`},
	{"through nested selections", `{ tickets { ...T } } fragment T on Ticket { id ... on Ticket { ...U } } fragment U on Ticket { title ...T }`},
	{"unreachable from the operation", `{ count } fragment A on Query{...B} fragment B on Query{...A}`},
	{"self in a nested inline fragment", `{ tickets { ...T } } fragment T on Ticket { ... on Ticket { ... { ...T } } }`},
	{"with a directive", `{...A} fragment A on Query{...B @include(if: true)} fragment B on Query{...A @skip(if: false)}`},
}

func TestFragmentCyclesRefusedBeforeValidation(t *testing.T) {
	h := NewHandler(testSchema(t), HandlerOptions{})
	for _, tc := range cycleDocuments {
		t.Run(tc.name, func(t *testing.T) {
			// The gate itself refuses it: validation is never reached.
			ge := Limits{}.CheckShape(parseDoc(t, tc.query))
			require.NotNil(t, ge)
			assert.Contains(t, ge.Message, "within itself")

			res := query(t, h, tc.query)
			require.Len(t, res.Errors, 1, res.raw)
			assert.Equal(t, "BAD_USER_INPUT", res.code(0))
			assert.Contains(t, res.Errors[0].Message, "展开了自身")
			assert.Nil(t, res.Data)
		})
	}
	// The server still answers afterwards.
	res := query(t, h, `{ hello(name: "市民") }`)
	require.Empty(t, res.Errors, res.raw)
	assert.Equal(t, "你好 市民", res.Data["hello"])
}

func TestFragmentCyclesRefusedOverWebSocket(t *testing.T) {
	env := newWSEnv(t, HandlerOptions{})
	c := env.dial(t, nil)
	c.init(nil)
	for i, tc := range cycleDocuments {
		id := fmt.Sprint(i)
		c.subscribe(id, tc.query, nil)
		m := c.read()
		assert.Equal(t, id, m.ID)
		errs := m.errors(t)
		assert.Equal(t, "BAD_USER_INPUT", errs[0].Extensions["code"], tc.name)
		assert.Contains(t, errs[0].Message, "展开了自身", tc.name)
	}
	// A panic in an operation's goroutine would end the process.
	c.subscribe("v", `query($A:){A}`, nil)
	errs := c.read().errors(t)
	assert.Contains(t, errs[0].Message, "lacks its name or type")
	c.sync()
}

func TestUndefinedAndDuplicateFragmentsRefused(t *testing.T) {
	h := NewHandler(testSchema(t), HandlerOptions{})
	cases := []struct{ name, query, message string }{
		{"undefined", `{ ...Missing }`, `unknown fragment "Missing"`},
		{"undefined inside a fragment", `{ ...A } fragment A on Query { ... on Query { ...Missing } }`, `unknown fragment "Missing"`},
		{"defined twice", `{ ...A } fragment A on Query { count } fragment A on Query { ...A }`, `only one fragment named "A"`},
		{"type definition", `{ count } type Evil { a: Evil }`, "only operations and fragments"},
		{"schema extension", `{ count } extend type Query { x: Int }`, "only operations and fragments"},
		// Found by FuzzDocumentGate: graphql-go parses it and its
		// validation panics on the missing type.
		{"variable without a type", `query($A:){A}`, "lacks its name or type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.NotNil(t, Limits{}.CheckShape(parseDoc(t, tc.query)))
			res := query(t, h, tc.query)
			require.Len(t, res.Errors, 1, res.raw)
			assert.Equal(t, "BAD_USER_INPUT", res.code(0))
			assert.Contains(t, res.Errors[0].Message, tc.message)
		})
	}
}

func repeat(format string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, format, i)
	}
	return b.String()
}

func TestShapeLimits(t *testing.T) {
	l := Limits{}.withDefaults()
	cases := []struct {
		name  string
		limit string
		ok    string // at the limit
		bad   string // one past it
	}{
		{"operations", "maxOperations",
			repeat("query Q%d { count } ", l.MaxOperations), repeat("query Q%d { count } ", l.MaxOperations+1)},
		{"fragments", "maxFragments",
			"{ count }" + repeat(" fragment F%d on Query { count }", l.MaxFragments), "{ count }" + repeat(" fragment F%d on Query { count }", l.MaxFragments+1)},
		// Five spreads each of a hundred fragments selecting a field each
		// under its own alias.
		{"spreads", "maxSpreads",
			"{ " + strings.Repeat(repeat("...F%d ", l.MaxSpreads/5), 5) + "}" + repeat(" fragment F%[1]d on Query { a%[1]d: count }", l.MaxSpreads/5),
			"{ ...F0 " + strings.Repeat(repeat("...F%d ", l.MaxSpreads/5), 5) + "}" + repeat(" fragment F%[1]d on Query { a%[1]d: count }", l.MaxSpreads/5)},
		{"fields", "maxFields",
			"{ " + repeat("a%d: count ", l.MaxFields) + "}", "{ " + repeat("a%d: count ", l.MaxFields+1) + "}"},
		{"directives", "maxDirectives",
			"{ count " + strings.Repeat("@include(if: true) ", l.MaxDirectives) + "}", "{ count " + strings.Repeat("@include(if: true) ", l.MaxDirectives+1) + "}"},
		{"same name", "maxSameName",
			"{ " + strings.Repeat("count ", l.MaxSameName) + "}", "{ " + strings.Repeat("count ", l.MaxSameName+1) + "}"},
		{"same alias", "maxSameName",
			"{ " + strings.Repeat("x: count ", l.MaxSameName) + "}", "{ " + strings.Repeat("x: count ", l.MaxSameName+1) + "}"},
		{"same name through fragments", "maxSameName",
			"{ ...A ...B } fragment A on Query { " + strings.Repeat("count ", l.MaxSameName/2) + "} fragment B on Query { " + strings.Repeat("count ", l.MaxSameName/2) + "}",
			"{ ...A ...B count } fragment A on Query { " + strings.Repeat("count ", l.MaxSameName/2) + "} fragment B on Query { " + strings.Repeat("count ", l.MaxSameName/2) + "}"},
		{"same name in a nested set", "maxSameName",
			"{ tickets { " + strings.Repeat("id ", l.MaxSameName) + "} }", "{ tickets { ... on Ticket { id } " + strings.Repeat("id ", l.MaxSameName) + "} }"},
		{"value depth", "maxValueDepth",
			"{ echo(v: " + strings.Repeat("[", l.MaxValueDepth) + strings.Repeat("]", l.MaxValueDepth) + ") }",
			"{ echo(v: " + strings.Repeat("[", l.MaxValueDepth+1) + strings.Repeat("]", l.MaxValueDepth+1) + ") }"},
		{"object depth", "maxValueDepth",
			"{ echo(v: " + strings.Repeat("{a: ", l.MaxValueDepth) + "1" + strings.Repeat("}", l.MaxValueDepth) + ") }",
			"{ echo(v: " + strings.Repeat("{a: ", l.MaxValueDepth+1) + "1" + strings.Repeat("}", l.MaxValueDepth+1) + ") }"},
		{"literal items", "maxValueElements",
			"{ a: echo(v: [" + strings.Repeat("1, ", l.MaxValueElements/2) + "]) b: echo(v: {" + repeat("k%d: 1 ", l.MaxValueElements/2) + "}) }",
			"{ a: echo(v: [" + strings.Repeat("1, ", l.MaxValueElements/2) + "]) b: echo(v: {" + repeat("k%d: 1 ", l.MaxValueElements/2+1) + "}) }"},
		{"default value depth", "maxValueDepth",
			"query($v: JSON = " + strings.Repeat("[", l.MaxValueDepth) + strings.Repeat("]", l.MaxValueDepth) + ") { echo(v: $v) }",
			"query($v: JSON = " + strings.Repeat("[", l.MaxValueDepth+1) + strings.Repeat("]", l.MaxValueDepth+1) + ") { echo(v: $v) }"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Nil(t, l.CheckShape(parseDoc(t, tc.ok)))
			ge := l.CheckShape(parseDoc(t, tc.bad))
			require.NotNil(t, ge)
			assert.Equal(t, BadUserInput, ge.Code)
			assert.Equal(t, tc.limit, ge.Extensions()["limit"], ge.Message)
		})
	}
}

func TestExponentialFragmentsRefusedByTheGate(t *testing.T) {
	// Each fragment spreads the next twice: 2^40 fields if expanded.
	var b strings.Builder
	b.WriteString("{ ...F0 }\n")
	for i := range 40 {
		fmt.Fprintf(&b, "fragment F%d on Query { ...F%d ...F%d }\n", i, i+1, i+1)
	}
	b.WriteString("fragment F40 on Query { count }\n")
	start := time.Now()
	ge := Limits{}.CheckShape(parseDoc(t, b.String()))
	t.Logf("refused in %v", time.Since(start))
	require.NotNil(t, ge)
	assert.Equal(t, "maxSameName", ge.Extensions()["limit"])
}

func TestScanText(t *testing.T) {
	l := Limits{MaxNesting: 3, MaxTokens: 20}
	cases := []struct {
		name, text, limit string
	}{
		{"flat", `{ a { b { c } } }`, ""},
		{"too deep", `{ a { b { c { d } } } }`, "maxNesting"},
		{"lists and arguments count", `{ a(v: [[1]]) }`, "maxNesting"},
		{"brackets in a string", `{ a(v: "{{{{[[[[((((") }`, ""},
		{"escaped quote in a string", `{ a(v: "\"{{{{") }`, ""},
		{"brackets in a block string", `{ a(v: """ {{{{ \""" [[[[ """) }`, ""},
		{"brackets in a comment", "{ a # {{{{[[[[\n }", ""},
		{"brackets after an unterminated string line", "{ a(v: \"x\n{{{{ ) }", "maxNesting"},
		{"too many tokens", strings.Repeat("a ", 21), "maxTokens"},
		{"commas are not tokens", strings.Repeat(",", 1000) + "{ a }", ""},
		{"spread is one token", `{ ...F ...G ...H }`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ge := l.ScanText(tc.text)
			if tc.limit == "" {
				assert.Nil(t, ge)
				return
			}
			require.NotNil(t, ge)
			assert.Equal(t, tc.limit, ge.Extensions()["limit"])
		})
	}
	// The default limits admit GraphiQL's introspection query (tested
	// end to end in TestIntrospectionPassesDefaults) and refuse nesting
	// that graphql-go's parser would recurse on.
	assert.Nil(t, Limits{}.ScanText(nested(DefaultMaxNesting)))
	assert.NotNil(t, Limits{}.ScanText(nested(DefaultMaxNesting+1)))
}

// TestDeepNestingRefusedFast sends documents of about 90 KB nested tens
// of thousands of levels, which cost graphql-go's parser and validation
// tens of seconds of CPU, and variables nested as deep as encoding/json
// allows.
func TestDeepNestingRefusedFast(t *testing.T) {
	h := NewHandler(testSchema(t), HandlerOptions{})
	const levels = 45_000
	cases := []struct{ name, query string }{
		{"lists", "{ echo(v: " + strings.Repeat("[", levels) + strings.Repeat("]", levels) + ") }"},
		{"objects", "{ echo(v: " + strings.Repeat("{a:", levels/2) + "1" + strings.Repeat("}", levels/2) + ") }"},
		{"selections", strings.Repeat("{ tickets ", levels/6) + "{ id }" + strings.Repeat(" }", levels/6)},
		{"unbalanced", "{ echo(v: " + strings.Repeat("[", 2*levels)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Less(t, len(tc.query), DefaultMaxBytes)
			start := time.Now()
			res := query(t, h, tc.query)
			t.Logf("%d bytes refused in %v", len(tc.query), time.Since(start))
			require.Len(t, res.Errors, 1, res.raw)
			assert.Equal(t, "BAD_USER_INPUT", res.code(0))
			assert.Equal(t, "maxNesting", res.Errors[0].Extensions["limit"])
		})
	}

	t.Run("variables", func(t *testing.T) {
		const depth = 9_000 // encoding/json refuses beyond 10,000
		body := `{"query": "query($v: JSON) { echo(v: $v) }", "variables": {"v": ` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}}`
		start := time.Now()
		res := post(t, h, body)
		t.Logf("%d bytes refused in %v", len(body), time.Since(start))
		require.Len(t, res.Errors, 1, res.raw)
		assert.Equal(t, "BAD_USER_INPUT", res.code(0))
		assert.Equal(t, "maxValueDepth", res.Errors[0].Extensions["limit"])
		assert.Equal(t, "v", res.Errors[0].Extensions["field"])
	})
	t.Run("variables at the depth limit", func(t *testing.T) {
		d := DefaultMaxValueDepth
		body := `{"query": "query($v: JSON) { echo(v: $v) }", "variables": {"v": ` + strings.Repeat("[", d) + strings.Repeat("]", d) + `}}`
		res := post(t, h, body)
		require.Empty(t, res.Errors, res.raw)
	})
	t.Run("too many variable values", func(t *testing.T) {
		body := `{"query": "query($v: JSON) { echo(v: $v) }", "variables": {"v": [` + strings.TrimSuffix(strings.Repeat("1,", DefaultMaxVarElements), ",") + `]}}`
		res := post(t, h, body)
		require.Len(t, res.Errors, 1, res.raw)
		assert.Equal(t, "maxVariableElements", res.Errors[0].Extensions["limit"])
	})
}

// The gate runs before authentication: a hostile document costs no
// identity lookup and is refused the same way whoever sends it.
func TestGateRunsBeforeAuthentication(t *testing.T) {
	calls := 0
	h := NewHandler(testSchema(t), HandlerOptions{Authenticate: func(ctx context.Context, _ *http.Request) (context.Context, error) {
		calls++
		return ctx, nil
	}})
	res := query(t, h, cycleDocuments[0].query)
	assert.Equal(t, "BAD_USER_INPUT", res.code(0))
	assert.Zero(t, calls)
	res = query(t, h, `{ count }`)
	assert.Empty(t, res.Errors)
	assert.Equal(t, 1, calls)
}
