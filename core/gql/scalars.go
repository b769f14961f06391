package gql

import (
	"encoding/json"
	"math"
	"strconv"
	"sync/atomic"
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

// Time is an instant as an RFC 3339 string. Every time the API returns
// goes through it and is written in one zone, the deployment's (Zone):
// the same instant reads the same whichever resolver, the database or the
// clock produced it. Input may carry any offset.
var Time = graphql.NewScalar(graphql.ScalarConfig{
	Name:        "Time",
	Description: "RFC 3339 时间，以本中心所在时区（流程日历的时区，默认 Asia/Shanghai）带偏移量写出，如 2026-12-02T17:30:00+08:00；输入可带任意偏移量 (an instant as an RFC 3339 string in the deployment's time zone with its offset; input may use any offset).",
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

// defaultZone is the zone of the default deployment (the shipped flow
// calendar's): China Standard Time, which has no daylight saving.
var defaultZone = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}()

var zoneOf atomic.Pointer[func() *time.Location]

// SetZone says where the API writes its times: f returns the deployment's
// zone (the running flow calendar's, so a configuration that moves it
// takes effect on its publish); nil, or a nil answer, is Asia/Shanghai.
// One zone for the whole process, because graphql-go gives a scalar's
// serializer no context.
func SetZone(f func() *time.Location) {
	if f == nil {
		zoneOf.Store(nil)
		return
	}
	zoneOf.Store(&f)
}

// Zone is the zone the API writes times in.
func Zone() *time.Location {
	if f := zoneOf.Load(); f != nil {
		if loc := (*f)(); loc != nil {
			return loc
		}
	}
	return defaultZone
}

// FormatTime writes t as the API does: RFC 3339 in Zone, with the
// offset, at full precision (RFC3339Nano) — clients send updatedAt back
// for optimistic-concurrency checks, and a value truncated to seconds
// would never equal the microsecond timestamp stored in PostgreSQL.
func FormatTime(t time.Time) string { return t.In(Zone()).Format(time.RFC3339Nano) }

// serializeTime is the one place a time leaves the API: whether it comes
// from the clock (+08:00), PostgreSQL (the server's zone) or an index
// (UTC), it is written by FormatTime.
func serializeTime(v any) any {
	switch v := v.(type) {
	case time.Time:
		if v.IsZero() {
			return nil
		}
		return FormatTime(v)
	case *time.Time:
		if v == nil || v.IsZero() {
			return nil
		}
		return FormatTime(*v)
	case string:
		t, ok := parseTime(v).(time.Time)
		if !ok {
			return nil
		}
		return FormatTime(t)
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
