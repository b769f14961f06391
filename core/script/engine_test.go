package script

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

func compile(t testing.TB, src string) *Script {
	t.Helper()
	s, err := Compile("test", "scripts/test.lua", []byte(src))
	require.NoError(t, err)
	return s
}

// call compiles src and calls fn on a fresh engine with opts.
func call(t testing.TB, opts Options, src, fn string, args ...any) (any, error) {
	t.Helper()
	return NewEngine(opts).Call(context.Background(), compile(t, src), fn, args...)
}

func TestCallReturnsFirstResult(t *testing.T) {
	res, err := call(t, Options{}, `function f(a, b) return a + b, "ignored" end`, "f", 2, 3)
	require.NoError(t, err)
	assert.Equal(t, int64(5), res)
}

func TestCallNoFunction(t *testing.T) {
	e := NewEngine(Options{})
	s := compile(t, `x = 1  function g() end`)
	for _, fn := range []string{"f", "x", "print", "string"} {
		_, err := e.Call(context.Background(), s, fn)
		assert.ErrorIs(t, err, ErrNoFunction, fn)
	}
}

func TestRuntimeErrors(t *testing.T) {
	tests := []struct {
		name, src string
		line      int
		message   string
	}{
		{"error call", "function f()\n  local x = 1\n  error('工单不存在')\nend", 3, "工单不存在"},
		{"error level 0", "function f()\n\n  error('plain', 0)\nend", 3, "plain"},
		{"error table", "function f()\n  error({code = 1})\nend", 2, "table: "},
		{"index nil", "function f(t)\n  return t.x.y\nend", 2, "attempt to index"},
		{"arithmetic on table", "function f()\n  return {} + 1\nend", 2, "cannot perform add"},
		{"in top-level code", "local x = nil\nlocal y = x.z\nfunction f() end", 2, "attempt to index"},
		{"bad builtin argument", "function f()\n  return string.rep()\nend", 2, "bad argument #1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := call(t, Options{}, tt.src, "f", map[string]any{"x": nil})
			var rerr *RuntimeError
			require.ErrorAs(t, err, &rerr)
			assert.Equal(t, "test", rerr.Script)
			assert.Equal(t, "scripts/test.lua", rerr.Pos.File)
			assert.Equal(t, tt.line, rerr.Pos.Line)
			assert.Contains(t, rerr.Message, tt.message)
			assert.NotContains(t, rerr.Message, "test:", "position prefix must be stripped")
			assert.Contains(t, err.Error(), fmt.Sprintf("scripts/test.lua:%d", tt.line))
		})
	}
}

func TestTimeBudget(t *testing.T) {
	e := NewEngine(Options{TimeBudget: 50 * time.Millisecond, PoolSize: 1})
	loop := compile(t, "function f()\n  while true do end\nend")
	start := time.Now()
	_, err := e.Call(context.Background(), loop, "f")
	require.ErrorIs(t, err, ErrBudgetExceeded)
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Contains(t, err.Error(), "scripts/test.lua:2")

	// pcall cannot swallow the interruption.
	sneaky := compile(t, `function f() while true do pcall(function() while true do end end) end end`)
	_, err = e.Call(context.Background(), sneaky, "f")
	require.ErrorIs(t, err, ErrBudgetExceeded)

	// The interrupted state was discarded; the engine still works.
	res, err := e.Call(context.Background(), compile(t, `function f() return "ok" end`), "f")
	require.NoError(t, err)
	assert.Equal(t, "ok", res)
}

func TestCallerContext(t *testing.T) {
	e := NewEngine(Options{TimeBudget: 10 * time.Second})
	loop := compile(t, `function f() while true do end end`)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := e.Call(ctx, loop, "f")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, ErrBudgetExceeded)

	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	_, err = e.Call(done, loop, "f")
	require.ErrorIs(t, err, context.Canceled)
}

func TestMemoryCap(t *testing.T) {
	t.Run("growing table stopped by the watchdog", func(t *testing.T) {
		// A generous time budget makes the memory cap the limit that acts.
		e := NewEngine(Options{MemoryCap: 8 << 20, TimeBudget: 20 * time.Second})
		_, err := e.Call(context.Background(), compile(t, `
function f()
  local t = {}
  for i = 1, 1e8 do t[i] = string.rep('x', 100) .. i end
end`), "f")
		require.ErrorIs(t, err, ErrMemoryExceeded)
		res, err := e.Call(context.Background(), compile(t, `function f() return 1 end`), "f")
		require.NoError(t, err)
		assert.Equal(t, int64(1), res)
	})
	t.Run("doubling string with defaults", func(t *testing.T) {
		_, err := call(t, Options{}, `function f() s = 'x'; for i = 1, 40 do s = s .. s end end`, "f")
		require.Error(t, err)
		assert.True(t, errors.Is(err, ErrMemoryExceeded) || errors.Is(err, ErrBudgetExceeded), err)
	})
	t.Run("built-ins refuse oversized results", func(t *testing.T) {
		// Without the checks each of these would allocate a gigabyte or
		// more in a single Go call, before the watchdog could react.
		tests := map[string]string{
			"string.rep":    `return string.rep('x', 2^40)`,
			"method rep":    `return ('xy'):rep(1e12)`,
			"string.format": `return string.format(string.rep('%s', 1e4), unpack(refs))`,
			"table.concat":  `return table.concat(refs, string.rep('-', 1e5))`,
			"str.split":     `return str.split(string.rep('ab', 1e5), '')`,
			"json.encode":   `return json.encode(refs)`,
			"json.decode":   `return json.decode('[' .. string.rep('"abcdefgh",', 2e5) .. '1]')`,
			"time.format":   `return time.format(0, string.rep('2006', 6e5))`,
			"gsub string":   `return string.rep('a', 1e5):gsub('a', string.rep('b', 1e5))`,
			"gsub capture":  `return string.rep('a', 1e5):gsub('(a+)', string.rep('%1', 1e4))`,
			"gsub table":    `return string.rep('a', 1e5):gsub('a', {a = string.rep('b', 1e5)})`,
			"gsub function": `return string.rep('a', 1e5):gsub('a', function() return refs[1] end)`,
		}
		e := NewEngine(Options{MemoryCap: 4 << 20, TimeBudget: 20 * time.Second})
		for name, body := range tests {
			t.Run(name, func(t *testing.T) {
				src := "local s = string.rep('x', 1e5)\nrefs = {} for i = 1, 1e4 do refs[i] = s end\nfunction f()\n" + body + "\nend"
				_, err := e.Call(context.Background(), compile(t, src), "f")
				require.ErrorIs(t, err, ErrMemoryExceeded)
				// gsub and json.decode build their result step by step, and
				// time.format's layout is itself half the cap, so the
				// watchdog may act before the size check does.
				if strings.HasPrefix(name, "gsub") || name == "json.decode" || name == "time.format" {
					return
				}
				var rerr *RuntimeError
				require.ErrorAs(t, err, &rerr, "refused up front, not by the watchdog")
				assert.Equal(t, 4, rerr.Pos.Line)
			})
		}
	})
	t.Run("refusal can be caught by pcall", func(t *testing.T) {
		res, err := call(t, Options{}, `function f()
  local ok, msg = pcall(string.rep, 'x', 2^40)
  return {ok = ok, msg = msg}
end`, "f")
		require.NoError(t, err)
		m := res.(map[string]any)
		assert.Equal(t, false, m["ok"])
		assert.Contains(t, m["msg"], "memory cap exceeded")
	})
}

func TestDeepRecursion(t *testing.T) {
	for name, src := range map[string]string{
		"lua":           `function f() local function r() return r() + 1 end return r() end`,
		"via pcall":     `function f() local function r() return pcall(r) end return r() end`,
		"via metatable": `function f() local t = setmetatable({}, {__index = function(t, k) return t[k] end}) return t.x end`,
		"via tostring":  `function f() local t t = setmetatable({}, {__tostring = function() return tostring(t) end}) return tostring(t) end`,
		"via gsub":      `function f() local function r(s) return (s:gsub(".", r)) end return r("ab") end`,
		"value stack":   `function f() return string.byte(string.rep("x", 1e6), 1, -1) end`,
	} {
		t.Run(name, func(t *testing.T) {
			res, err := call(t, Options{}, src, "f")
			if name == "via pcall" {
				// The innermost pcall catches the overflow; every level
				// above succeeds.
				require.NoError(t, err)
				assert.Equal(t, true, res)
				return
			}
			var rerr *RuntimeError
			require.ErrorAs(t, err, &rerr)
			assert.Regexp(t, "stack overflow|registry overflow", rerr.Message)
		})
	}
}

func TestGoPanicIsRecovered(t *testing.T) {
	e := NewEngine(Options{PoolSize: 1})
	e.RegisterModule("boom", map[string]lua.LGFunction{
		"now": func(L *lua.LState) int { panic("module bug") },
	})
	_, err := e.Call(context.Background(), compile(t, `function f() return boom.now() end`), "f")
	require.ErrorIs(t, err, ErrPanic)
	assert.Contains(t, err.Error(), "module bug")

	res, err := e.Call(context.Background(), compile(t, `function f() return 2 end`), "f")
	require.NoError(t, err)
	assert.Equal(t, int64(2), res)
	assert.Len(t, e.idle, 1)

	// Caught by the script, but the state is still not reused.
	res, err = e.Call(context.Background(), compile(t, `function f() return pcall(boom.now) end`), "f")
	require.NoError(t, err)
	assert.Equal(t, false, res)
	assert.Empty(t, e.idle)
}

func TestRegisterModule(t *testing.T) {
	e := NewEngine(Options{})
	e.RegisterModule("ticket", map[string]lua.LGFunction{
		"get": func(L *lua.LState) int {
			s, ok := ScriptFromContext(L.Context())
			v, err := ToLua(L, map[string]any{"id": L.CheckString(1), "script": s.Name(), "ok": ok})
			if err != nil {
				L.RaiseError("%v", err)
			}
			L.Push(v)
			return 1
		},
	})
	assert.Panics(t, func() { e.RegisterModule("string", nil) })
	assert.Panics(t, func() { e.RegisterModule("ticket", nil) })

	res, err := e.Call(context.Background(), compile(t, `function f(id)
  local ok = pcall(function() ticket.get = nil end)
  return {t = ticket.get(id), writable = ok}
end`), "f", "T-1")
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"t":        map[string]any{"id": "T-1", "script": "test", "ok": true},
		"writable": false,
	}, res)
	assert.Panics(t, func() { e.RegisterModule("late", nil) }, "registering after first use")
}

func TestGlobalsDoNotLeak(t *testing.T) {
	e := NewEngine(Options{PoolSize: 1}) // one state: every call reuses it
	a := compile(t, `
counter = (counter or 0) + 1
function f()
  shared = "from a"
  _G.viaG = true
  rawset(_G, "viaRawset", true)
  return counter
end`)
	b := compile(t, `function f() return {shared = shared, viaG = viaG, viaRawset = viaRawset, counter = counter} end`)
	for i := 0; i < 3; i++ {
		res, err := e.Call(context.Background(), a, "f")
		require.NoError(t, err)
		assert.Equal(t, int64(1), res, "top-level state starts fresh on every call")
		res, err = e.Call(context.Background(), b, "f")
		require.NoError(t, err)
		assert.Equal(t, map[string]any{}, res)
	}
}

func TestConcurrentCalls(t *testing.T) {
	e := NewEngine(Options{PoolSize: 4, TimeBudget: 5 * time.Second})
	s := compile(t, `
function f(n, name)
  local sum = 0
  for i = 1, n do sum = sum + i end
  seen = name -- a global per call
  return {sum = sum, name = seen, upper = string.upper(name), words = str.split(name, "-")}
end`)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("g-%d", i)
			res, err := e.Call(context.Background(), s, "f", 100+i, name)
			if err != nil {
				errs <- err
				return
			}
			want := map[string]any{
				"sum": int64((100 + i) * (101 + i) / 2), "name": name,
				"upper": strings.ToUpper(name), "words": []any{"g", fmt.Sprint(i)},
			}
			if !assert.ObjectsAreEqual(want, res) {
				errs <- fmt.Errorf("call %d: got %v, want %v", i, res, want)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestPoolBound(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	e := NewEngine(Options{PoolSize: 1, TimeBudget: 5 * time.Second})
	e.RegisterModule("gate", map[string]lua.LGFunction{
		"hold": func(L *lua.LState) int {
			close(entered)
			<-release
			return 0
		},
	})
	done := make(chan error)
	go func() {
		_, err := e.Call(context.Background(), compile(t, `function f() gate.hold() end`), "f")
		done <- err
	}()
	<-entered

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := e.Call(ctx, compile(t, `function f() end`), "f")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "waiting for a free Lua state")

	close(release)
	require.NoError(t, <-done)
	_, err = e.Call(context.Background(), compile(t, `function f() end`), "f")
	require.NoError(t, err)
}

func TestStatesAreReused(t *testing.T) {
	e := NewEngine(Options{PoolSize: 2})
	s := compile(t, `function f() return 1 end`)
	for range 10 {
		_, err := e.Call(context.Background(), s, "f")
		require.NoError(t, err)
	}
	assert.Len(t, e.idle, 1, "sequential calls share one state")
}

func TestLogging(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, err := call(t, Options{Logger: logger}, `function f()
  log.info("分派工单", "ticket", "T-1", "count", 3)
  log.warn("slow", "detail", {a = 1})
  log.error("odd", "dangling")
  print("hello", 1, nil)
end`, "f")
	require.NoError(t, err)
	out := buf.String()
	assert.Contains(t, out, `level=INFO msg=分派工单 script=test ticket=T-1 count=3`)
	assert.Contains(t, out, `level=WARN msg=slow script=test detail=map[a:1]`)
	assert.Contains(t, out, `level=ERROR msg=odd script=test !BADKEY=dangling`)
	assert.Contains(t, out, `level=INFO msg="hello\t1\tnil" script=test`)
}

func TestMetrics(t *testing.T) {
	before := map[string]float64{}
	for _, r := range []string{"ok", "error", "budget"} {
		before[r] = callCount(t, r)
	}
	e := NewEngine(Options{TimeBudget: 20 * time.Millisecond})
	_, _ = e.Call(context.Background(), compile(t, `function f() end`), "f")
	_, _ = e.Call(context.Background(), compile(t, `function f() error("x") end`), "f")
	_, _ = e.Call(context.Background(), compile(t, `function f() while true do end end`), "f")
	NewEngine(Options{}) // a second engine must not register collectors again
	for _, r := range []string{"ok", "error", "budget"} {
		assert.Equal(t, before[r]+1, callCount(t, r), r)
	}
}

func callCount(t *testing.T, result string) float64 {
	var m dto.Metric
	require.NoError(t, callsTotal.WithLabelValues(result).Write(&m))
	return m.GetCounter().GetValue()
}
