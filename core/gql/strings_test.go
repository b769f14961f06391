package gql

import (
	"strings"
	"testing"

	"github.com/graphql-go/graphql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lengthModule has an argument of every class the string bounds know.
type lengthModule struct{ find, blob int }

func (lengthModule) Name() string { return "lengths" }

var noteInput = graphql.NewInputObject(graphql.InputObjectConfig{
	Name: "NoteInput",
	Fields: graphql.InputObjectConfigFieldMap{
		"title": {Type: graphql.String},
		"tags":  {Type: graphql.NewList(graphql.NewNonNull(graphql.String))},
		"extra": {Type: JSON},
		"kind":  {Type: graphql.NewEnum(graphql.EnumConfig{Name: "NoteKind", Values: graphql.EnumValueConfigMap{"A": {Value: "a"}}})},
	},
})

func (m lengthModule) Register(b *Builder) error {
	echo := func(p graphql.ResolveParams) (any, error) { return len(p.Args), nil }
	b.Query("note", &graphql.Field{Type: graphql.Int, Resolve: echo,
		Args: graphql.FieldConfigArgument{"text": {Type: graphql.String}, "id": {Type: graphql.ID}}})
	b.Query("find", &graphql.Field{Type: graphql.Int, Resolve: echo,
		Args: graphql.FieldConfigArgument{"query": {Type: graphql.NewNonNull(graphql.String)}}})
	b.Query("blob", &graphql.Field{Type: graphql.Int, Resolve: echo,
		Args: graphql.FieldConfigArgument{"v": {Type: JSON}}})
	b.Mutation("save", &graphql.Field{Type: graphql.Int, Resolve: echo,
		Args: graphql.FieldConfigArgument{"input": {Type: noteInput}, "inputs": {Type: graphql.NewList(noteInput)}}})
	b.MaxLength("Query.find(query:)", m.find)
	b.MaxLength("Query.blob(v:)", m.blob)
	return nil
}

func lengthHandler(t *testing.T) *handler {
	t.Helper()
	s, err := NewBuilder().Build(testModule{}, lengthModule{find: 5, blob: 20_000})
	require.NoError(t, err)
	return newHandler(s, HandlerOptions{})
}

func TestStringLengths(t *testing.T) {
	h := lengthHandler(t)
	long := strings.Repeat("字", DefaultMaxStringLength) // 30,000 bytes, at the bound
	tooLong := long + "x"
	cases := []struct {
		name  string
		query string
		vars  map[string]any
		field string // "" when accepted
		max   int
	}{
		{"String literal at the default", `{ note(text: "` + long + `") }`, nil, "", 0},
		{"String literal over the default", `{ note(text: "` + tooLong + `") }`, nil, "text", DefaultMaxStringLength},
		{"String variable over the default", `query($t: String) { note(text: $t) }`, map[string]any{"t": tooLong}, "text", DefaultMaxStringLength},
		{"ID variable", `query($i: ID) { note(id: $i) }`, map[string]any{"i": tooLong}, "id", DefaultMaxStringLength},
		{"variable's default value", `query($t: String = "` + tooLong + `") { note(text: $t) }`, nil, "text", DefaultMaxStringLength},
		{"a variable's value wins over its default", `query($t: String = "` + tooLong + `") { note(text: $t) }`, map[string]any{"t": "短"}, "", 0},
		{"tighter bound, literal", `{ find(query: "六个字符六个") }`, nil, "query", 5},
		{"tighter bound counts characters, not bytes", `{ find(query: "五个字符五") }`, nil, "", 0},
		{"tighter bound, variable", `query($q: String!) { find(query: $q) }`, map[string]any{"q": "123456"}, "query", 5},
		{"looser bound", `query($v: JSON) { blob(v: $v) }`, map[string]any{"v": tooLong}, "", 0},
		{"looser bound, exceeded inside JSON", `query($v: JSON) { blob(v: $v) }`, map[string]any{"v": map[string]any{"a": []any{1, strings.Repeat("x", 20_001)}}}, "v.a[1]", 20_000},
		{"input object field, literal", `mutation { save(input: {title: "` + tooLong + `"}) }`, nil, "input.title", DefaultMaxStringLength},
		{"input object field, variable", `mutation($n: NoteInput) { save(input: $n) }`, map[string]any{"n": map[string]any{"title": tooLong}}, "input.title", DefaultMaxStringLength},
		{"list in an input object", `mutation($n: NoteInput) { save(input: $n) }`, map[string]any{"n": map[string]any{"tags": []any{"a", tooLong}}}, "input.tags[1]", DefaultMaxStringLength},
		{"list of input objects", `mutation { save(inputs: [{title: "a"}, {tags: ["` + tooLong + `"]}]) }`, nil, "inputs[1].tags[0]", DefaultMaxStringLength},
		{"single value for a list", `mutation($n: [NoteInput]) { save(inputs: $n) }`, map[string]any{"n": map[string]any{"title": tooLong}}, "inputs.title", DefaultMaxStringLength},
		{"JSON inside an input object", `mutation { save(input: {extra: {deep: ["` + tooLong + `"]}}) }`, nil, "input.extra.deep[0]", DefaultMaxStringLength},
		{"JSON object key", `query($v: JSON) { echo(v: $v) }`, map[string]any{"v": map[string]any{tooLong: 1}}, "v." + tooLong, DefaultMaxStringLength},
		{"JSON literal", `{ echo(v: {a: [{b: "` + tooLong + `"}]}) }`, nil, "v.a[0].b", DefaultMaxStringLength},
		{"inside a fragment", `{ ...F } fragment F on Query { ... on Query { note(text: "` + tooLong + `") } }`, nil, "text", DefaultMaxStringLength},
		{"nested field arguments", `{ __type(name: "` + tooLong + `") { name } }`, nil, "name", DefaultMaxStringLength},
		{"mutation argument", `mutation { setNote(text: "` + tooLong + `") }`, nil, "text", DefaultMaxStringLength},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := post(t, h, map[string]any{"query": tc.query, "variables": tc.vars})
			if tc.field == "" {
				require.Empty(t, res.Errors, res.raw[:min(len(res.raw), 300)])
				return
			}
			require.Len(t, res.Errors, 1)
			e := res.Errors[0]
			assert.Equal(t, "BAD_USER_INPUT", e.Extensions["code"])
			assert.Equal(t, tc.field, e.Extensions["field"])
			assert.Equal(t, "maxLength", e.Extensions["limit"])
			assert.EqualValues(t, tc.max, e.Extensions["max"])
			assert.Contains(t, e.Message, "过长")
			assert.Nil(t, res.Data, "no resolver may run")
		})
	}
}

// PostgreSQL cannot hold NUL in text and answers with an error, which the
// client would see as INTERNAL; no string with one reaches a resolver.
func TestNULRefused(t *testing.T) {
	h := lengthHandler(t)
	for _, tc := range []struct {
		query, field string
		vars         map[string]any
	}{
		{`{ note(text: "a\u0000b") }`, "text", nil},
		{`query($q: String!) { find(query: $q) }`, "query", map[string]any{"q": "%\x00"}},
		{`query($v: JSON) { echo(v: $v) }`, "v.k", map[string]any{"v": map[string]any{"k": "\x00"}}},
		{`mutation($n: NoteInput) { save(input: $n) }`, "input.tags[0]", map[string]any{"n": map[string]any{"tags": []any{"\x00"}}}},
	} {
		res := post(t, h, map[string]any{"query": tc.query, "variables": tc.vars})
		require.Len(t, res.Errors, 1, res.raw)
		assert.Equal(t, "BAD_USER_INPUT", res.code(0))
		assert.Equal(t, tc.field, res.Errors[0].Extensions["field"])
		assert.Equal(t, "nul", res.Errors[0].Extensions["limit"])
	}
}

func TestMaxLengthDeclarations(t *testing.T) {
	build := func(coordinate string, max int) error {
		m := declModule{coordinate: coordinate, max: max}
		_, err := NewBuilder().Build(testModule{}, m)
		return err
	}
	require.NoError(t, build("Query.hello(name:)", 10))
	require.NoError(t, build("Mutation.setNote(text:)", 100_000))
	for _, bad := range []struct {
		coordinate string
		max        int
		message    string
	}{
		{"Query.hello(nome:)", 10, "Query.hello(nome:)"},
		{"Query.nope(name:)", 10, "Query.nope(name:)"},
		{"Nope.hello(name:)", 10, "Nope.hello(name:)"},
		{"Query.hello", 10, "not a schema coordinate"},
		{"Query.hello(name:)", 0, "must be positive"},
	} {
		err := build(bad.coordinate, bad.max)
		require.Error(t, err, bad.coordinate)
		assert.Contains(t, err.Error(), bad.message)
	}
	// The bounds belong to the schema they were declared for.
	a, err := NewBuilder().Build(testModule{}, declModule{coordinate: "Query.hello(name:)", max: 3})
	require.NoError(t, err)
	b, err := NewBuilder().Build(testModule{}, declModule{coordinate: "Query.hello(name:)", max: 6})
	require.NoError(t, err)
	res := query(t, NewHandler(a, HandlerOptions{}), `{ hello(name: "四个字符") }`)
	assert.Equal(t, "BAD_USER_INPUT", res.code(0))
	res = query(t, NewHandler(b, HandlerOptions{}), `{ hello(name: "四个字符") }`)
	assert.Empty(t, res.Errors)
}

type declModule struct {
	coordinate string
	max        int
}

func (declModule) Name() string { return "decl" }

func (m declModule) Register(b *Builder) error {
	b.MaxLength(m.coordinate, m.max)
	return nil
}
