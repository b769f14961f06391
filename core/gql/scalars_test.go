package gql

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/graphql-go/graphql/language/ast"
	"github.com/graphql-go/graphql/language/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parseValue(t *testing.T, src string) ast.Value {
	t.Helper()
	v, err := parser.ParseValue(parser.ParseParams{Source: src})
	require.NoError(t, err)
	return v
}

func TestJSONParseLiteral(t *testing.T) {
	cases := map[string]any{
		`"text"`:   "text",
		`42`:       42,
		`1.5`:      1.5,
		`true`:     true,
		`OPEN`:     "OPEN",
		`[1, "a"]`: []any{1, "a"},
		`{a: 1, b: {c: [true, 2.5, "x"]}, d: []}`: map[string]any{
			"a": 1,
			"b": map[string]any{"c": []any{true, 2.5, "x"}},
			"d": []any{},
		},
		`123456789012345678901234567890`: 1.2345678901234568e29,
	}
	for src, want := range cases {
		assert.Equal(t, want, JSON.ParseLiteral(parseValue(t, src)), src)
	}
	// A variable nested in the literal cannot be resolved by graphql-go
	// v0.8.1, so the whole literal is rejected rather than half-stored.
	assert.Nil(t, JSON.ParseLiteral(&ast.ObjectValue{Fields: []*ast.ObjectField{{
		Name: &ast.Name{Value: "a"}, Value: &ast.Variable{Name: &ast.Name{Value: "x"}},
	}}}))
}

func TestJSONSerialize(t *testing.T) {
	assert.Equal(t, map[string]any{"a": 1.0}, JSON.Serialize(json.RawMessage(`{"a":1}`)))
	assert.Equal(t, []any{"x"}, JSON.Serialize([]any{"x"}))
	assert.Nil(t, JSON.Serialize(json.RawMessage(nil)))
}

func TestTimeScalar(t *testing.T) {
	ts := time.Date(2024, 5, 1, 8, 30, 0, 123456000, time.FixedZone("CST", 8*3600))
	assert.Equal(t, "2024-05-01T08:30:00.123456+08:00", Time.Serialize(ts))
	assert.Equal(t, "2024-05-01T08:30:00.123456+08:00", Time.Serialize(&ts))
	assert.Nil(t, Time.Serialize(time.Time{}))
	got, ok := Time.ParseValue("2024-05-01T08:30:00.123456+08:00").(time.Time)
	require.True(t, ok)
	assert.True(t, got.Equal(ts))
	assert.Nil(t, Time.ParseValue("yesterday"))
	assert.Nil(t, Time.ParseLiteral(parseValue(t, `12`)))
	assert.NotNil(t, Time.ParseLiteral(parseValue(t, `"2024-05-01T00:00:00Z"`)))
}

// Every time leaves the API in one zone with its offset, whatever zone
// the value carried: the clock's, PostgreSQL's or an index's UTC.
func TestTimeIsWrittenInTheDeploymentsZone(t *testing.T) {
	instant := time.Date(2026, 12, 2, 9, 30, 0, 0, time.UTC)
	want := "2026-12-02T17:30:00+08:00"
	for name, v := range map[string]any{
		"UTC":         instant,
		"pointer":     &instant,
		"fixed +08":   instant.In(time.FixedZone("CST", 8*3600)),
		"other zone":  instant.In(time.FixedZone("EST", -5*3600)),
		"text in UTC": "2026-12-02T09:30:00Z",
	} {
		assert.Equal(t, want, Time.Serialize(v), name)
	}

	// Another deployment's calendar moves every time with it.
	t.Cleanup(func() { SetZone(nil) })
	SetZone(func() *time.Location { return time.UTC })
	assert.Equal(t, "2026-12-02T09:30:00Z", Time.Serialize(instant.In(time.FixedZone("CST", 8*3600))))
	// A zone that cannot be told (no calendar yet) is the default one.
	SetZone(func() *time.Location { return nil })
	assert.Equal(t, want, Time.Serialize(instant))
}
