package gql

import (
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/language/ast"
)

// JSON is an arbitrary JSON value: form data, configuration fragments,
// channel-specific payloads whose shape the schema cannot know.
var JSON = graphql.NewScalar(graphql.ScalarConfig{
	Name:        "JSON",
	Description: "任意 JSON 值 (an arbitrary JSON value: object, array, string, number, boolean or null).",
	Serialize:   serializeJSON,
	ParseValue:  func(v any) any { return v },
	ParseLiteral: func(v ast.Value) any {
		out, ok := jsonLiteral(v)
		if !ok {
			return nil
		}
		return out
	},
})

// Time is an instant as an RFC 3339 string.
var Time = graphql.NewScalar(graphql.ScalarConfig{
	Name:        "Time",
	Description: "RFC 3339 时间 (an instant as an RFC 3339 string, e.g. 2024-05-01T08:30:00.123456+08:00).",
	Serialize:   serializeTime,
	ParseValue:  parseTime,
	ParseLiteral: func(v ast.Value) any {
		s, ok := v.(*ast.StringValue)
		if !ok {
			return nil
		}
		return parseTime(s.Value)
	},
})

func serializeJSON(v any) any {
	switch v := v.(type) {
	case json.RawMessage:
		return decodeRaw(v)
	case *json.RawMessage:
		if v == nil {
			return nil
		}
		return decodeRaw(*v)
	}
	return v
}

func decodeRaw(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil
	}
	return out
}

// jsonLiteral converts an inline literal. Variables nested inside an object
// or list literal are rejected (ok=false, so validation reports the
// argument as invalid): graphql-go v0.8.1 hands ParseLiteral no variable
// values, and silently dropping them would store wrong data.
func jsonLiteral(v ast.Value) (any, bool) {
	switch v := v.(type) {
	case *ast.StringValue:
		return v.Value, true
	case *ast.BooleanValue:
		return v.Value, true
	case *ast.IntValue:
		if n, err := strconv.ParseInt(v.Value, 10, 64); err == nil {
			if n >= math.MinInt && n <= math.MaxInt {
				return int(n), true
			}
		}
		f, err := strconv.ParseFloat(v.Value, 64)
		return f, err == nil
	case *ast.FloatValue:
		f, err := strconv.ParseFloat(v.Value, 64)
		return f, err == nil
	case *ast.EnumValue:
		// JSON has no enums; a bare word such as {status: OPEN} in a
		// hand-written query almost always means the string.
		return v.Value, true
	case *ast.ListValue:
		out := make([]any, 0, len(v.Values))
		for _, item := range v.Values {
			x, ok := jsonLiteral(item)
			if !ok {
				return nil, false
			}
			out = append(out, x)
		}
		return out, true
	case *ast.ObjectValue:
		out := make(map[string]any, len(v.Fields))
		for _, f := range v.Fields {
			if f == nil || f.Name == nil {
				return nil, false
			}
			x, ok := jsonLiteral(f.Value)
			if !ok {
				return nil, false
			}
			out[f.Name.Value] = x
		}
		return out, true
	}
	return nil, false
}

// serializeTime keeps full precision (RFC3339Nano): clients send updatedAt
// back for optimistic-concurrency checks, and a value truncated to seconds
// would never equal the microsecond timestamp stored in PostgreSQL.
func serializeTime(v any) any {
	switch v := v.(type) {
	case time.Time:
		if v.IsZero() {
			return nil
		}
		return v.Format(time.RFC3339Nano)
	case *time.Time:
		if v == nil || v.IsZero() {
			return nil
		}
		return v.Format(time.RFC3339Nano)
	case string:
		t, ok := parseTime(v).(time.Time)
		if !ok {
			return nil
		}
		return t.Format(time.RFC3339Nano)
	}
	return nil
}

func parseTime(v any) any {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	// time.RFC3339 also accepts fractional seconds when parsing.
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil
	}
	return t
}

// NonNull marks a type non-null; modules use it on almost every field.
func NonNull(t graphql.Output) graphql.Output { return graphql.NewNonNull(t) }

// NilIfEmpty maps "" to a GraphQL null.
func NilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// ListsByName reads a JSON argument shaped {name: [values]} (a single value
// counts as a list of one), as filters by facet take it; field names the
// argument in errors.
func ListsByName(raw any, field string) (map[string][]string, error) {
	if raw == nil {
		return nil, nil
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, FieldError(field, "%s 须为 JSON 对象：名称 → 值的列表", field)
	}
	out := map[string][]string{}
	for name, vals := range obj {
		list, isList := vals.([]any)
		if !isList {
			list = []any{vals}
		}
		for _, x := range list {
			s, ok := x.(string)
			if !ok {
				return nil, FieldError(field, "%s 中 %s 的值须为字符串", field, name)
			}
			out[name] = append(out[name], s)
		}
	}
	return out, nil
}
