package script

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"regexp"
	"strings"
	"sync"
	"time"
	// Scripts name zones such as Asia/Shanghai; embedding the database
	// keeps that working in container images without /usr/share/zoneinfo.
	_ "time/tzdata"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
)

// maxLogValue bounds how much of a table log.* converts into a log
// attribute; larger values are logged as their tostring().
const maxLogValue = 64 << 10

func (e *Engine) print(L *lua.LState) int {
	parts := make([]string, L.GetTop())
	for i := range parts {
		parts[i] = L.ToStringMeta(L.Get(i + 1)).String()
	}
	e.emit(L, slog.LevelInfo, strings.Join(parts, "\t"), nil)
	return 0
}

func (e *Engine) logLib(L *lua.LState) *lua.LTable {
	tb := L.CreateTable(0, 4)
	levels := map[string]slog.Level{
		"debug": slog.LevelDebug,
		"info":  slog.LevelInfo,
		"warn":  slog.LevelWarn,
		"error": slog.LevelError,
	}
	for name, level := range levels {
		tb.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
			msg := L.ToStringMeta(L.Get(1)).String()
			top := L.GetTop()
			attrs := make([]slog.Attr, 0, top/2)
			for i := 2; i <= top; i += 2 {
				key := L.ToStringMeta(L.Get(i)).String()
				if i == top {
					attrs = append(attrs, slog.String("!BADKEY", key))
					break
				}
				attrs = append(attrs, slog.Any(key, logValue(L.Get(i+1))))
			}
			e.emit(L, level, msg, attrs)
			return 0
		}))
	}
	return tb
}

func logValue(v lua.LValue) any {
	c := fromLua{budget: maxLogValue}
	if gv, err := c.value(v, 0); err == nil {
		return gv
	}
	return v.String()
}

func (e *Engine) emit(L *lua.LState, level slog.Level, msg string, attrs []slog.Attr) {
	ctx := L.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	name := ""
	if s, ok := ScriptFromContext(ctx); ok {
		name = s.name
	}
	e.opts.Logger.LogAttrs(ctx, level, msg, append([]slog.Attr{slog.String("script", name)}, attrs...)...)
}

func (e *Engine) jsonLib(L *lua.LState) *lua.LTable {
	tb := L.CreateTable(0, 2)
	tb.RawSetString("encode", L.NewFunction(func(L *lua.LState) int {
		c := fromLua{budget: e.opts.MemoryCap, json: true}
		v, err := c.value(L.CheckAny(1), 0)
		if err != nil {
			L.RaiseError("json.encode: %v", err)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			L.RaiseError("json.encode: %v", err)
		}
		L.Push(lua.LString(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))))
		return 1
	}))
	tb.RawSetString("decode", L.NewFunction(func(L *lua.LState) int {
		r := jsonReader{L: L, dec: json.NewDecoder(strings.NewReader(L.CheckString(1))), budget: e.opts.MemoryCap}
		v, err := r.document()
		if errors.Is(err, ErrMemoryExceeded) {
			L.RaiseError("json.decode: %v", err)
		}
		if err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LString("json.decode: " + err.Error()))
			return 2
		}
		L.Push(v)
		return 1
	}))
	return tb
}

// jsonReader decodes token by token straight into Lua tables, charging an
// estimate of each value against the memory cap. Decoding into Go values
// first would hold the whole document twice, at roughly 25 bytes per "0,".
type jsonReader struct {
	L      *lua.LState
	dec    *json.Decoder
	budget int64
}

func (r *jsonReader) document() (lua.LValue, error) {
	v, err := r.value(0)
	if err != nil {
		return nil, err
	}
	if _, err := r.dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

func (r *jsonReader) value(depth int) (lua.LValue, error) {
	tok, err := r.dec.Token()
	if err == io.EOF {
		return nil, io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, err
	}
	r.budget -= 48 // a table slot, the boxed value and the decoder's share
	if s, ok := tok.(string); ok {
		r.budget -= int64(len(s))
	}
	if r.budget < 0 {
		return nil, fmt.Errorf("%w: %w", errTooLarge, ErrMemoryExceeded)
	}
	switch t := tok.(type) {
	case nil:
		return lua.LNil, nil
	case bool:
		return lua.LBool(t), nil
	case float64:
		return lua.LNumber(t), nil
	case string:
		return lua.LString(t), nil
	case json.Delim:
		if depth >= maxDepth {
			return nil, errTooDeep
		}
		tb := r.L.NewTable()
		for i := 1; r.dec.More(); i++ {
			key := ""
			if t == '{' {
				k, err := r.dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ = k.(string)
			}
			v, err := r.value(depth + 1)
			if err != nil {
				return nil, err
			}
			switch {
			case v == lua.LNil:
				// null leaves a hole, as nil does in Lua.
			case t == '{':
				tb.RawSetString(key, v)
			default:
				tb.RawSetInt(i, v)
			}
		}
		if _, err := r.dec.Token(); err != nil { // the closing ] or }
			return nil, err
		}
		return tb, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

func (e *Engine) timeLib(L *lua.LState) *lua.LTable {
	tb := L.CreateTable(0, 3)
	tb.RawSetString("now", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LNumber(float64(time.Now().UnixMicro()) / 1e6))
		return 1
	}))
	tb.RawSetString("format", L.NewFunction(func(L *lua.LState) int {
		sec := float64(L.CheckNumber(1))
		layout := L.OptString(2, time.RFC3339)
		loc := e.location(L, 3)
		// No layout element prints more than twice its own length.
		if size := 2 * float64(len(layout)); size > float64(e.opts.MemoryCap) {
			e.refuse(L, "time.format", size)
		}
		t := time.UnixMicro(int64(math.Round(sec * 1e6))).In(loc)
		L.Push(lua.LString(t.Format(layout)))
		return 1
	}))
	tb.RawSetString("parse", L.NewFunction(func(L *lua.LState) int {
		layout := L.CheckString(1)
		value := L.CheckString(2)
		t, err := time.ParseInLocation(layout, value, e.location(L, 3))
		if err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LString("time.parse: " + err.Error()))
			return 2
		}
		L.Push(lua.LNumber(float64(t.UnixMicro()) / 1e6))
		return 1
	}))
	return tb
}

// location resolves an optional IANA zone name argument; the server's local
// zone when absent. Loaded zones are cached because LoadLocation reads the
// zone database from disk every time.
func (e *Engine) location(L *lua.LState, arg int) *time.Location {
	name := L.OptString(arg, "")
	if name == "" {
		return time.Local
	}
	if loc, ok := e.zones.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		L.ArgError(arg, "unknown time zone "+name)
	}
	e.zones.Store(name, loc)
	return loc
}

const (
	// maxPatternLen keeps a single regexp compilation small; compiled
	// programs take many times the pattern's size.
	maxPatternLen = 16 << 10
	// maxCachedRegexps bounds the cache; scripts normally use a handful of
	// constant patterns, so simply starting over when full is enough.
	maxCachedRegexps = 512
)

type regexpCache struct {
	mu sync.RWMutex
	m  map[string]*regexp.Regexp
}

func (c *regexpCache) compile(pattern string) (*regexp.Regexp, error) {
	c.mu.RLock()
	re, ok := c.m[pattern]
	c.mu.RUnlock()
	if ok {
		return re, nil
	}
	if len(pattern) > maxPatternLen {
		return nil, fmt.Errorf("pattern longer than %d bytes", maxPatternLen)
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= maxCachedRegexps {
		clear(c.m)
	}
	c.m[pattern] = re
	c.mu.Unlock()
	return re, nil
}

func (e *Engine) reLib(L *lua.LState) *lua.LTable {
	compile := func(L *lua.LState) *regexp.Regexp {
		re, err := e.regexps.compile(L.CheckString(1))
		if err != nil {
			L.ArgError(1, err.Error())
		}
		return re
	}
	tb := L.CreateTable(0, 2)
	tb.RawSetString("match", L.NewFunction(func(L *lua.LState) int {
		re := compile(L)
		L.Push(lua.LBool(re.MatchString(L.CheckString(2))))
		return 1
	}))
	tb.RawSetString("find", L.NewFunction(func(L *lua.LState) int {
		re := compile(L)
		s := L.CheckString(2)
		loc := re.FindStringSubmatchIndex(s)
		if loc == nil {
			L.Push(lua.LNil)
			return 1
		}
		for i := 0; i < len(loc); i += 2 {
			if loc[i] < 0 {
				L.Push(lua.LNil) // an optional group that did not take part
			} else {
				L.Push(lua.LString(s[loc[i]:loc[i+1]]))
			}
		}
		return len(loc) / 2
	}))
	return tb
}

func (e *Engine) strLib(L *lua.LState) *lua.LTable {
	tb := L.CreateTable(0, 8)
	set := func(name string, fn lua.LGFunction) { tb.RawSetString(name, L.NewFunction(fn)) }
	set("trim", func(L *lua.LState) int {
		L.Push(lua.LString(strings.TrimSpace(L.CheckString(1))))
		return 1
	})
	set("split", func(L *lua.LState) int {
		s, sep := L.CheckString(1), L.CheckString(2)
		parts := 0
		if sep == "" {
			parts = utf8.RuneCountInString(s)
		} else {
			parts = strings.Count(s, sep) + 1
		}
		// Each part costs a table slot and a string header besides its
		// bytes; splitting 10 MB into runes would otherwise take 500 MB.
		if size := 48*float64(parts) + float64(len(s)); size > float64(e.opts.MemoryCap) {
			e.refuse(L, "str.split", size)
		}
		ss := strings.Split(s, sep)
		out := L.CreateTable(len(ss), 0)
		for i, p := range ss {
			out.RawSetInt(i+1, lua.LString(p))
		}
		L.Push(out)
		return 1
	})
	set("contains", func(L *lua.LState) int {
		L.Push(lua.LBool(strings.Contains(L.CheckString(1), L.CheckString(2))))
		return 1
	})
	set("has_prefix", func(L *lua.LState) int {
		L.Push(lua.LBool(strings.HasPrefix(L.CheckString(1), L.CheckString(2))))
		return 1
	})
	set("has_suffix", func(L *lua.LState) int {
		L.Push(lua.LBool(strings.HasSuffix(L.CheckString(1), L.CheckString(2))))
		return 1
	})
	set("len", func(L *lua.LState) int {
		L.Push(lua.LNumber(utf8.RuneCountInString(L.CheckString(1))))
		return 1
	})
	set("sub", func(L *lua.LState) int {
		s := L.CheckString(1)
		L.Push(lua.LString(runeSub(s, L.CheckInt(2), L.OptInt(3, -1))))
		return 1
	})
	return tb
}

// runeSub is string.sub counting characters instead of bytes: i and j are
// 1-based and inclusive, negative values count from the end.
func runeSub(s string, i, j int) string {
	n := utf8.RuneCountInString(s)
	if i < 0 {
		i = max(n+i+1, 1)
	} else if i == 0 {
		i = 1
	}
	if j < 0 {
		j = n + j + 1
	} else if j > n {
		j = n
	}
	if i > j {
		return ""
	}
	start, end, r := len(s), len(s), 0
	for off := range s {
		r++
		if r == i {
			start = off
		}
		if r == j+1 {
			end = off
			break
		}
	}
	return s[start:end]
}
