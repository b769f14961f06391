package gql

import (
	"fmt"
	"strings"
	"testing"

	"github.com/graphql-go/graphql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pagedSchema has the shapes whose cost matters: a Relay connection of
// tickets, a list on each ticket (its events) and a page on each ticket
// (similar tickets, five by default).
func pagedSchema(t *testing.T) *graphql.Schema {
	t.Helper()
	event := graphql.NewObject(graphql.ObjectConfig{Name: "PEvent", Fields: graphql.Fields{
		"action": &graphql.Field{Type: graphql.String}, "actor": &graphql.Field{Type: graphql.String}, "at": &graphql.Field{Type: Time},
	}})
	var ticket *graphql.Object
	ticket = graphql.NewObject(graphql.ObjectConfig{Name: "PTicket", Fields: graphql.FieldsThunk(func() graphql.Fields {
		fs := graphql.Fields{
			"events":  &graphql.Field{Type: NonNull(graphql.NewList(NonNull(event)))},
			"similar": &graphql.Field{Type: graphql.NewList(ticket), Args: graphql.FieldConfigArgument{"first": {Type: graphql.Int, DefaultValue: 5}}},
		}
		for _, n := range []string{"id", "number", "title", "state", "deadline"} {
			fs[n] = &graphql.Field{Type: graphql.String}
		}
		return fs
	})})
	s, err := graphql.NewSchema(graphql.SchemaConfig{Query: graphql.NewObject(graphql.ObjectConfig{Name: "Query", Fields: graphql.Fields{
		"tickets": &graphql.Field{Type: NonNull(Connection(ticket)), Args: PageArgs},
	}})})
	require.NoError(t, err)
	return &s
}

// Issue 15, item 7: the schema says a page holds up to 1,000 tickets, and
// a page that size with a handful of fields passed the page limit only to
// fail the complexity limit. A maximum page with up to twenty fields per
// ticket passes; lists inside it multiply and are refused.
func TestComplexityAgreesWithTheLargestPage(t *testing.T) {
	schema := pagedSchema(t)
	l := Limits{}
	check := func(q string, vars map[string]any) *Error {
		t.Helper()
		doc := parseDoc(t, q)
		require.Empty(t, graphql.ValidateDocument(schema, doc, nil).Errors, q)
		return l.CheckIn(schema, doc, "", vars)
	}
	var twenty strings.Builder
	for i := range 20 {
		fmt.Fprintf(&twenty, "f%d: title ", i)
	}
	page := fmt.Sprintf("first: %d", MaxPageSize)
	for name, q := range map[string]string{
		"four fields":           `{ tickets(` + page + `) { edges { node { id number title deadline } } pageInfo { hasNextPage endCursor } } }`,
		"twenty fields":         `{ tickets(` + page + `) { edges { cursor node { ` + twenty.String() + `} } } }`,
		"through a fragment":    `{ tickets(` + page + `) { edges { node { ...F } } } } fragment F on PTicket { id number title state deadline }`,
		"a small page of lists": `{ tickets(first: 20) { edges { node { id events { action actor at } similar { id title } } } } }`,
	} {
		assert.Nil(t, check(q, nil), name)
	}
	assert.Nil(t, check(`query($n: Int) { tickets(first: $n) { edges { node { id number title deadline } } } }`, map[string]any{"n": float64(MaxPageSize)}))

	for name, q := range map[string]string{
		"a list in every item":   `{ tickets(` + page + `) { edges { node { id events { action actor at } } } } }`,
		"a page in every item":   `{ tickets(` + page + `) { edges { node { id similar(first: 50) { id title } } } } }`,
		"default pages nested":   `{ tickets(` + page + `) { edges { node { similar { similar { id title } } } } } }`,
		"too many fields":        `{ tickets(` + page + `) { edges { node { ` + twenty.String() + twenty.String() + `} } } }`,
		"lists through a spread": `{ tickets(` + page + `) { edges { node { ...F } } } } fragment F on PTicket { events { action actor at } }`,
	} {
		err := check(q, nil)
		if assert.NotNil(t, err, name) {
			assert.Equal(t, "maxComplexity", err.Extensions()["limit"], name)
		}
	}

	// Left out, first is the default page, not one item: 1 + 50 × 3.
	small := Limits{MaxComplexity: 150}
	q := parseDoc(t, `{ tickets { edges { node { id } } } }`)
	assert.NotNil(t, small.CheckIn(schema, q, "", nil))
	assert.Nil(t, Limits{MaxComplexity: 151}.CheckIn(schema, q, "", nil))
	// Without the schema only first and last say what is a list.
	assert.Nil(t, small.Check(q, "", nil))
}

// The handler applies the limits with its schema: a list in every item of
// a large page is refused before any resolver runs.
func TestHandlerCountsListsOfItsSchema(t *testing.T) {
	h := NewHandler(*pagedSchema(t), HandlerOptions{})
	res := query(t, h, `{ tickets(first: 1000) { edges { node { id events { action actor at } } } } }`)
	require.Len(t, res.Errors, 1, res.raw)
	assert.Equal(t, "maxComplexity", res.Errors[0].Extensions["limit"])
	assert.Nil(t, res.Data)
}
