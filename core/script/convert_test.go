package script

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

const identity = `function id(v) return v end`

func TestConversionRoundTrip(t *testing.T) {
	type named string
	tests := []struct {
		name string
		in   any
		want any
	}{
		{"nil", nil, nil},
		{"true", true, true},
		{"false", false, false},
		{"int", 42, int64(42)},
		{"negative int64", int64(-7), int64(-7)},
		{"uint8", uint8(200), int64(200)},
		{"float integral", 3.0, int64(3)},
		{"float", 2.5, 2.5},
		{"float32", float32(0.5), 0.5},
		{"NaN stays float", math.Inf(1), math.Inf(1)},
		{"string", "hello", "hello"},
		{"chinese", "市民来电反映：路灯不亮。", "市民来电反映：路灯不亮。"},
		{"empty string", "", ""},
		{"bytes", []byte("abc"), "abc"},
		{"named string", named("x"), "x"},
		{"time", time.Unix(1700000000, 500_000_000), 1700000000.5},
		{"pointer", ptr("p"), "p"},
		{"nil pointer", (*string)(nil), nil},
		{"slice", []any{1, "二", true}, []any{int64(1), "二", true}},
		{"typed slice", []string{"a", "b"}, []any{"a", "b"}},
		{"array", [2]int{1, 2}, []any{int64(1), int64(2)}},
		{"empty slice becomes empty map", []any{}, map[string]any{}},
		{"map", map[string]any{"标题": "停水", "n": 1}, map[string]any{"标题": "停水", "n": int64(1)}},
		{"typed map", map[string]int{"a": 1}, map[string]any{"a": int64(1)}},
		{"empty map", map[string]any{}, map[string]any{}},
		{"nested", map[string]any{"a": []any{map[string]any{"b": []any{}}}}, map[string]any{"a": []any{map[string]any{"b": map[string]any{}}}}},
		{"numeric string keys stay a map", map[string]any{"1": "x"}, map[string]any{"1": "x"}},
		{"slice with nil hole becomes a map", []any{"a", nil, "c"}, map[string]any{"1": "a", "3": "c"}},
	}
	e := NewEngine(Options{})
	s := compile(t, identity)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.Call(context.Background(), s, "id", tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestConversionFromLua(t *testing.T) {
	tests := map[string]struct {
		expr string
		want any
	}{
		"array":           {`{1, 2, 3}`, []any{int64(1), int64(2), int64(3)}},
		"sparse":          {`{[1] = "a", [3] = "c"}`, map[string]any{"1": "a", "3": "c"}},
		"mixed":           {`{1, x = 2}`, map[string]any{"1": int64(1), "x": int64(2)}},
		"float keys":      {`{[1.5] = true}`, map[string]any{"1.5": true}},
		"zero key":        {`{[0] = "z", [1] = "a"}`, map[string]any{"0": "z", "1": "a"}},
		"empty":           {`{}`, map[string]any{}},
		"large integer":   {`2^53`, int64(1 << 53)},
		"fraction":        {`1/3`, 1.0 / 3},
		"huge float":      {`1e300`, 1e300},
		"chinese":         {`"你好" .. "世界"`, "你好世界"},
		"shared subtable": {`(function() local t = {1} return {t, t} end)()`, []any{[]any{int64(1)}, []any{int64(1)}}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := call(t, Options{}, "function f() return "+tt.expr+" end", "f")
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestConversionErrors(t *testing.T) {
	s := compile(t, identity)
	e := NewEngine(Options{MemoryCap: 4 << 20})
	_, err := e.Call(context.Background(), s, "id", "ok", make(chan int))
	assert.ErrorContains(t, err, "argument 2: unsupported type chan int")
	_, err = e.Call(context.Background(), s, "id", map[string]any{"x": []any{1, struct{}{}}})
	assert.ErrorContains(t, err, `argument 1: field "x": element 2: unsupported type struct {}`)
	_, err = e.Call(context.Background(), s, "id", map[int]string{1: "x"})
	assert.ErrorContains(t, err, "map keys must be strings")

	deep := any(1)
	for range maxDepth + 5 {
		deep = []any{deep}
	}
	_, err = e.Call(context.Background(), s, "id", deep)
	assert.ErrorContains(t, err, "nested deeper")

	for name, expr := range map[string]string{
		"function":    `function() end`,
		"cycle":       `(function() local t = {} t.self = t return t end)()`,
		"table key":   `{[{}] = 1}`,
		"bool key":    `{[true] = 1}`,
		"too deep":    `(function() local t = {} for i = 1, 1000 do t = {t} end return t end)()`,
		"exponential": `(function() local t = {} for i = 1, 60 do t = {t, t} end return t end)()`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.Call(context.Background(), compile(t, "function f() return "+expr+" end"), "f")
			assert.ErrorContains(t, err, "converting the result of f")
		})
	}
}

func TestToLuaFromLua(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	lv, err := ToLua(L, map[string]any{"list": []any{"甲", "乙"}})
	require.NoError(t, err)
	back, err := FromLua(lv)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"list": []any{"甲", "乙"}}, back)
}
