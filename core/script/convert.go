package script

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"time"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
)

// maxDepth bounds nesting when converting values in either direction. The
// converters recurse on the Go stack, and a Go stack overflow is fatal rather
// than recoverable, so a table nested a million levels deep must be refused
// before it gets there.
const maxDepth = 100

var errTooDeep = fmt.Errorf("value nested deeper than %d levels", maxDepth)

// ToLua converts a Go value into a Lua value owned by L. It accepts nil,
// bool, every integer and float type, string, []byte (as a string),
// time.Time (unix seconds), and slices, arrays and string-keyed maps of
// those; pointers are followed. Registered modules use it to hand Go data to
// scripts.
func ToLua(L *lua.LState, v any) (lua.LValue, error) {
	return toLua(L, v, 0)
}

func toLua(L *lua.LState, v any, depth int) (lua.LValue, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	switch x := v.(type) {
	case nil:
		return lua.LNil, nil
	case bool:
		return lua.LBool(x), nil
	case string:
		return lua.LString(x), nil
	case []byte:
		return lua.LString(x), nil
	case int:
		return lua.LNumber(x), nil
	case int64:
		return lua.LNumber(x), nil
	case int32:
		return lua.LNumber(x), nil
	case float64:
		return lua.LNumber(x), nil
	case float32:
		return lua.LNumber(x), nil
	case time.Time:
		return lua.LNumber(float64(x.UnixMicro()) / 1e6), nil
	case []any:
		tb := L.CreateTable(len(x), 0)
		for i, e := range x {
			lv, err := toLua(L, e, depth+1)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i+1, err)
			}
			tb.RawSetInt(i+1, lv)
		}
		return tb, nil
	case map[string]any:
		tb := L.CreateTable(0, len(x))
		for k, e := range x {
			lv, err := toLua(L, e, depth+1)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", k, err)
			}
			tb.RawSetString(k, lv)
		}
		return tb, nil
	}
	return reflectToLua(L, reflect.ValueOf(v), depth)
}

// reflectToLua handles the less common shapes ([]string, map[string]int,
// named types, pointers) without a case for each.
func reflectToLua(L *lua.LState, rv reflect.Value, depth int) (lua.LValue, error) {
	switch rv.Kind() {
	case reflect.Bool:
		return lua.LBool(rv.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return lua.LNumber(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return lua.LNumber(rv.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return lua.LNumber(rv.Float()), nil
	case reflect.String:
		return lua.LString(rv.String()), nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return lua.LNil, nil
		}
		return toLua(L, rv.Elem().Interface(), depth+1)
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
			return lua.LString(rv.Bytes()), nil
		}
		tb := L.CreateTable(rv.Len(), 0)
		for i := range rv.Len() {
			lv, err := toLua(L, rv.Index(i).Interface(), depth+1)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i+1, err)
			}
			tb.RawSetInt(i+1, lv)
		}
		return tb, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("unsupported type %s: map keys must be strings", rv.Type())
		}
		tb := L.CreateTable(0, rv.Len())
		iter := rv.MapRange()
		for iter.Next() {
			k := iter.Key().String()
			lv, err := toLua(L, iter.Value().Interface(), depth+1)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", k, err)
			}
			tb.RawSetString(k, lv)
		}
		return tb, nil
	case reflect.Invalid:
		return lua.LNil, nil
	}
	return nil, fmt.Errorf("unsupported type %s", rv.Type())
}

// FromLua converts a Lua value into Go: nil, bool, string, int64 for numbers
// without a fractional part and float64 otherwise, []any for tables whose
// keys are exactly 1..n, and map[string]any for every other table (numeric
// keys become their decimal text; an empty table is an empty map). Functions
// and other values that have no Go counterpart are an error, as are cyclic
// tables and results estimated above the default memory cap.
func FromLua(v lua.LValue) (any, error) {
	c := fromLua{budget: DefaultMemoryCap}
	return c.value(v, 0)
}

// fromLua converts with a size budget. Without one, a small script could
// make Go do unbounded work: ten tables each holding the previous one twice
// describe 2^10 leaves, and a table holding one 10 MB string a thousand
// times becomes 10 GB of JSON.
type fromLua struct {
	budget int64
	// json sizes strings as their escaped JSON text, so the budget also
	// bounds what json.encode will allocate.
	json   bool
	onPath map[*lua.LTable]struct{}
}

var errTooLarge = errors.New("value too large")

func (c *fromLua) spend(n int64) error {
	c.budget -= n
	if c.budget < 0 {
		return fmt.Errorf("%w: %w", errTooLarge, ErrMemoryExceeded)
	}
	return nil
}

func (c *fromLua) value(v lua.LValue, depth int) (any, error) {
	switch x := v.(type) {
	case *lua.LNilType:
		return nil, c.spend(8)
	case lua.LBool:
		return bool(x), c.spend(8)
	case lua.LNumber:
		return fromNumber(x), c.spend(32)
	case lua.LString:
		n := int64(len(x)) + 16
		if c.json {
			n = int64(jsonQuotedLen(string(x)))
		}
		return string(x), c.spend(n)
	case *lua.LTable:
		if depth >= maxDepth {
			return nil, errTooDeep
		}
		return c.table(x, depth)
	}
	return nil, fmt.Errorf("cannot convert a %s value", v.Type())
}

// fromNumber keeps integral values integral, so that ids and counts come
// back as int64 rather than 42.0.
func fromNumber(n lua.LNumber) any {
	f := float64(n)
	if f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 {
		return int64(f)
	}
	return f
}

func (c *fromLua) table(tb *lua.LTable, depth int) (any, error) {
	if c.onPath == nil {
		c.onPath = make(map[*lua.LTable]struct{})
	}
	if _, ok := c.onPath[tb]; ok {
		return nil, errors.New("cannot convert a table that contains itself")
	}
	c.onPath[tb] = struct{}{}
	defer delete(c.onPath, tb)
	// Roughly what the Go slice or map costs; JSON needs far less.
	if err := c.spend(64); err != nil {
		return nil, err
	}

	// Distinct positive integer keys whose maximum is their count are
	// exactly 1..count.
	count, isArray, maxKey := 0, true, 0.0
	for k, _ := tb.Next(lua.LNil); k != lua.LNil; k, _ = tb.Next(k) {
		count++
		n, ok := k.(lua.LNumber)
		if !ok || float64(n) != math.Trunc(float64(n)) || n < 1 {
			isArray = false
		} else {
			maxKey = max(maxKey, float64(n))
		}
	}
	isArray = isArray && maxKey == float64(count)
	if isArray && count > 0 {
		out := make([]any, count)
		for i := range out {
			v, err := c.value(tb.RawGetInt(i+1), depth+1)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i+1, err)
			}
			out[i] = v
		}
		return out, nil
	}
	out := make(map[string]any, count)
	for k, v := tb.Next(lua.LNil); k != lua.LNil; k, v = tb.Next(k) {
		var key string
		switch kk := k.(type) {
		case lua.LString:
			key = string(kk)
		case lua.LNumber:
			key = kk.String()
		default:
			return nil, fmt.Errorf("cannot convert a table key of type %s", k.Type())
		}
		if err := c.spend(int64(jsonQuotedLen(key)) + 2); err != nil {
			return nil, err
		}
		gv, err := c.value(v, depth+1)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", key, err)
		}
		out[key] = gv
	}
	return out, nil
}

// jsonQuotedLen is an upper bound of the length of s as a JSON string
// literal written by encoding/json without HTML escaping.
func jsonQuotedLen(s string) int {
	n := 2
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' {
				n += 6
			} else {
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			n += 6
		} else {
			n += size
		}
		i += size
	}
	return n
}
