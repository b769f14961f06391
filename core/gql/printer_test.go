package gql

import (
	"testing"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/language/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func goldenSchema(t *testing.T) graphql.Schema {
	t.Helper()
	status := graphql.NewEnum(graphql.EnumConfig{
		Name:        "TicketStatus",
		Description: "工单状态",
		Values: graphql.EnumValueConfigMap{
			"OPEN":     &graphql.EnumValueConfig{Value: 1, Description: "待处理"},
			"CLOSED":   &graphql.EnumValueConfig{Value: 2},
			"ARCHIVED": &graphql.EnumValueConfig{Value: 3, DeprecationReason: "Use CLOSED"},
			"LEGACY":   &graphql.EnumValueConfig{Value: 4, DeprecationReason: graphql.DefaultDeprecationReason},
		},
	})
	node := graphql.NewInterface(graphql.InterfaceConfig{
		Name:        "Node",
		Description: "An object with a global ID.",
		Fields:      graphql.Fields{"id": &graphql.Field{Type: graphql.NewNonNull(graphql.ID)}},
		ResolveType: func(graphql.ResolveTypeParams) *graphql.Object { return nil },
	})
	citizen := graphql.NewObject(graphql.ObjectConfig{
		Name:       "Citizen",
		Interfaces: []*graphql.Interface{node},
		Fields: graphql.Fields{
			"id":   &graphql.Field{Type: graphql.NewNonNull(graphql.ID)},
			"name": &graphql.Field{Type: graphql.String},
		},
	})
	ticket := graphql.NewObject(graphql.ObjectConfig{
		Name:        "Ticket",
		Description: "A citizen's request.\nCreated from a call, a web form or a transfer.",
		Interfaces:  []*graphql.Interface{node},
		Fields: graphql.Fields{
			"id":        &graphql.Field{Type: graphql.NewNonNull(graphql.ID)},
			"title":     &graphql.Field{Type: graphql.NewNonNull(graphql.String), Description: "Short summary"},
			"status":    &graphql.Field{Type: status},
			"createdAt": &graphql.Field{Type: Time, DeprecationReason: "Use \"openedAt\""},
			"openedAt":  &graphql.Field{Type: Time},
			"oldField":  &graphql.Field{Type: graphql.String, DeprecationReason: graphql.DefaultDeprecationReason},
			"data":      &graphql.Field{Type: JSON},
		},
	})
	filter := graphql.NewInputObject(graphql.InputObjectConfig{
		Name: "TicketFilter",
		Fields: graphql.InputObjectConfigFieldMap{
			"status":  &graphql.InputObjectFieldConfig{Type: graphql.NewList(graphql.NewNonNull(status)), DefaultValue: []any{1, 2}},
			"keyword": &graphql.InputObjectFieldConfig{Type: graphql.String, Description: "Matches title and notes"},
			"limit":   &graphql.InputObjectFieldConfig{Type: graphql.Int, DefaultValue: 20},
		},
	})
	search := graphql.NewUnion(graphql.UnionConfig{
		Name:        "SearchResult",
		Types:       []*graphql.Object{ticket, citizen},
		ResolveType: func(graphql.ResolveTypeParams) *graphql.Object { return nil },
	})
	m := funcModule{"tickets", func(b *Builder) error {
		b.Query("tickets", &graphql.Field{
			Type: graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(ticket))),
			Args: graphql.FieldConfigArgument{
				"filter": &graphql.ArgumentConfig{Type: filter, DefaultValue: map[string]any{"keyword": "噪音 \"夜间\"", "limit": 10}},
				"first":  &graphql.ArgumentConfig{Type: graphql.Int, DefaultValue: 50},
			},
		})
		b.Query("search", &graphql.Field{
			Type: graphql.NewList(search),
			Args: graphql.FieldConfigArgument{
				"q":      &graphql.ArgumentConfig{Type: graphql.NewNonNull(graphql.String), Description: "Search text"},
				"status": &graphql.ArgumentConfig{Type: status, DefaultValue: 1},
				"ratio":  &graphql.ArgumentConfig{Type: graphql.Float, DefaultValue: 0.5},
				"extra":  &graphql.ArgumentConfig{Type: JSON, DefaultValue: map[string]any{"b": []any{1, true}, "a": "x"}},
			},
		})
		b.Query("node", &graphql.Field{Type: node, Args: graphql.FieldConfigArgument{"id": &graphql.ArgumentConfig{Type: graphql.NewNonNull(graphql.ID)}}})
		b.Mutation("closeTicket", &graphql.Field{Type: ticket, Args: graphql.FieldConfigArgument{"id": &graphql.ArgumentConfig{Type: graphql.NewNonNull(graphql.ID)}}})
		b.Type(citizen)
		return nil
	}}
	s, err := NewBuilder().Build(m)
	require.NoError(t, err)
	return s
}

const goldenSDL = `type Citizen implements Node {
  id: ID!
  name: String
}

"""
任意 JSON 值 (an arbitrary JSON value: object, array, string, number, boolean or null).
"""
scalar JSON

type Mutation {
  closeTicket(id: ID!): Ticket
}

"""An object with a global ID."""
interface Node {
  id: ID!
}

type Query {
  node(id: ID!): Node
  search(
    extra: JSON = {a: "x", b: [1, true]}

    """Search text"""
    q: String!
    ratio: Float = 0.5
    status: TicketStatus = OPEN
  ): [SearchResult]
  tickets(filter: TicketFilter = {keyword: "噪音 \"夜间\"", limit: 10}, first: Int = 50): [Ticket!]!
}

union SearchResult = Ticket | Citizen

"""
A citizen's request.
Created from a call, a web form or a transfer.
"""
type Ticket implements Node {
  createdAt: Time @deprecated(reason: "Use \"openedAt\"")
  data: JSON
  id: ID!
  oldField: String @deprecated
  openedAt: Time
  status: TicketStatus

  """Short summary"""
  title: String!
}

input TicketFilter {
  """Matches title and notes"""
  keyword: String
  limit: Int = 20
  status: [TicketStatus!] = [OPEN, CLOSED]
}

"""工单状态"""
enum TicketStatus {
  ARCHIVED @deprecated(reason: "Use CLOSED")
  CLOSED
  LEGACY @deprecated

  """待处理"""
  OPEN
}

"""
RFC 3339 时间，以本中心所在时区（流程日历的时区，默认 Asia/Shanghai）带偏移量写出，如 2026-12-02T17:30:00+08:00；输入可带任意偏移量 (an instant as an RFC 3339 string in the deployment's time zone with its offset; input may use any offset).
"""
scalar Time
`

func TestPrintSchemaGolden(t *testing.T) {
	s := goldenSchema(t)
	got := PrintSchema(s)
	assert.Equal(t, goldenSDL, got)
	for range 5 {
		assert.Equal(t, got, PrintSchema(goldenSchema(t)), "output must be stable")
	}
}

func TestPrintSchemaDefinitionForCustomRoots(t *testing.T) {
	q := graphql.NewObject(graphql.ObjectConfig{Name: "Root", Fields: graphql.Fields{"ok": &graphql.Field{Type: graphql.Boolean}}})
	dir := graphql.NewDirective(graphql.DirectiveConfig{
		Name:        "auth",
		Description: "Requires a role.",
		Locations:   []string{graphql.DirectiveLocationField, graphql.DirectiveLocationFragmentSpread},
		Args:        graphql.FieldConfigArgument{"role": &graphql.ArgumentConfig{Type: graphql.NewNonNull(graphql.String)}},
	})
	s, err := graphql.NewSchema(graphql.SchemaConfig{
		Query:      q,
		Directives: append([]*graphql.Directive{dir}, graphql.SpecifiedDirectives...),
	})
	require.NoError(t, err)
	assert.Equal(t, `schema {
  query: Root
}

"""Requires a role."""
directive @auth(role: String!) on FIELD | FRAGMENT_SPREAD

type Root {
  ok: Boolean
}
`, PrintSchema(s))
}

func TestBlockStrings(t *testing.T) {
	assert.Equal(t, `"""plain"""`, blockString("plain"))
	assert.Equal(t, `"""says \""" here"""`, blockString(`says """ here`))
	assert.Equal(t, "\"\"\"\nline one\nline two\n\"\"\"", blockString("line one\nline two"))
	assert.Equal(t, "\"\"\"\nends with quote\"\n\"\"\"", blockString(`ends with quote"`))
	assert.Equal(t, `"has\u0001control"`, quoteString("has\x01control"))
	assert.False(t, printableAsBlockString("\nleading blank line"))
}

func TestValueLiterals(t *testing.T) {
	lit, ok := anyLiteral(map[string]any{"z": nil, "a": []int{1, 2}, "f": 1e21, "g": 2.5})
	require.True(t, ok)
	assert.Equal(t, `{a: [1, 2], f: 1e+21, g: 2.5, z: null}`, lit)
	_, ok = anyLiteral(map[string]any{"not-a-name": 1})
	assert.False(t, ok, "keys must be GraphQL names")
	for _, c := range []struct {
		v    any
		t    graphql.Input
		want string
	}{
		{"42", graphql.ID, "42"},
		{"A-1", graphql.ID, `"A-1"`},
		{3, graphql.NewList(graphql.Int), "3"},
		{[]string{"a"}, graphql.NewNonNull(graphql.NewList(graphql.String)), `["a"]`},
	} {
		lit, ok := valueLiteral(c.v, c.t)
		require.True(t, ok, c.want)
		assert.Equal(t, c.want, lit)
	}
}

// graphql-go v0.8.1 cannot parse null literals, so the golden schema has
// none; TestValueLiterals covers them.
func TestPrintSchemaParses(t *testing.T) {
	_, err := parser.Parse(parser.ParseParams{Source: PrintSchema(goldenSchema(t))})
	require.NoError(t, err)
}

func TestPrintSchemaSubscriptionRoot(t *testing.T) {
	// The Builder's root names are the defaults, which need no schema block.
	s, err := NewBuilder().Build(funcModule{"acd", func(b *Builder) error {
		b.Query("ok", strField("ok"))
		b.Subscription("queueChanged", &graphql.Field{
			Type:        graphql.Int,
			Description: "Waiting calls, pushed on every change.",
			Args:        graphql.FieldConfigArgument{"queue": &graphql.ArgumentConfig{Type: graphql.NewNonNull(graphql.ID)}},
			Subscribe:   func(graphql.ResolveParams) (any, error) { return make(chan any), nil },
		})
		return nil
	}})
	require.NoError(t, err)
	sdl := PrintSchema(s)
	assert.NotContains(t, sdl, "schema {")
	assert.Contains(t, sdl, "\n\ntype Subscription {\n  \"\"\"Waiting calls, pushed on every change.\"\"\"\n  queueChanged(queue: ID!): Int\n}\n")
	_, err = parser.Parse(parser.ParseParams{Source: sdl})
	require.NoError(t, err)

	// Other names are declared in the schema block.
	q := graphql.NewObject(graphql.ObjectConfig{Name: "Root", Fields: graphql.Fields{"ok": &graphql.Field{Type: graphql.Boolean}}})
	events := graphql.NewObject(graphql.ObjectConfig{Name: "Events", Fields: graphql.Fields{"tick": &graphql.Field{Type: graphql.Int}}})
	s, err = graphql.NewSchema(graphql.SchemaConfig{Query: q, Subscription: events})
	require.NoError(t, err)
	assert.Equal(t, `schema {
  query: Root
  subscription: Events
}

type Events {
  tick: Int
}

type Root {
  ok: Boolean
}
`, PrintSchema(s))
}
