package gql

import (
	"testing"

	"github.com/graphql-go/graphql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Errors are located without the text (see detachSource) and put back by
// relocate; clients must see the lines and columns graphql-go itself
// computes from the text.
func TestErrorLocationsSurviveDetaching(t *testing.T) {
	schema := testSchema(t)
	q := "# a comment\r\n{\n  nope\r  count(x: 1)\n\n  tickets { id\tbad }\n}\n"
	want := clientErrors(graphql.ValidateDocument(&schema, parseDoc(t, q), nil).Errors)
	require.Len(t, want, 3)
	doc := parseDoc(t, q)
	detachSource(doc)
	got := clientErrors(graphql.ValidateDocument(&schema, doc, nil).Errors)
	relocate(q, got)
	assert.Equal(t, want, got)

	// Over HTTP, for validation and execution errors.
	h := NewHandler(schema, HandlerOptions{})
	res := query(t, h, q)
	assert.Equal(t, want, res.Errors)
	res = query(t, h, "\n\n   { fieldErr }")
	require.Len(t, res.Errors, 1)
	assert.Equal(t, 3, res.Errors[0].Locations[0].Line)
	assert.Equal(t, 6, res.Errors[0].Locations[0].Column)
}
