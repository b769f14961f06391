package script

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

func TestSandboxEscapesAreRefused(t *testing.T) {
	tests := map[string]string{
		"os.execute":              `os.execute('id')`,
		"io.open":                 `io.open('/etc/passwd')`,
		"require":                 `require('x')`,
		"module":                  `module('x')`,
		"dofile":                  `dofile('/etc/passwd')`,
		"loadfile":                `loadfile('/etc/passwd')`,
		"loadstring":              `loadstring('return 1')`,
		"load":                    `load(function() return nil end)`,
		"package.loadlib":         `package.loadlib('libc.so.6', 'system')`,
		"debug.getinfo":           `debug.getinfo(1)`,
		"getfenv":                 `getfenv(1)`,
		"setfenv":                 `setfenv(1, {})`,
		"collectgarbage":          `collectgarbage()`,
		"coroutine":               `coroutine.create(function() end)`,
		"channel":                 `channel.make()`,
		"newproxy":                `newproxy(true)`,
		"string.dump":             `string.dump(function() end)`,
		"math.randomseed":         `math.randomseed(1)`,
		"sandbox via _G meta":     `getmetatable(_G).__index.string = nil`,
		"setmetatable on _G":      `setmetatable(_G, nil)`,
		"string metatable":        `getmetatable('').__index = {}`,
		"library metatable":       `getmetatable(string).__index.rep = nil`,
		"replace library meta":    `setmetatable(string, {})`,
		"assign library field":    `string.rep = nil`,
		"assign module field":     `json.encode = nil`,
		"os via rawget":           `rawget(_G, 'os').execute('id')`,
		"string.__index loophole": `string.__index.rep = nil`,
	}
	e := NewEngine(Options{PoolSize: 1})
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := e.Call(context.Background(), compile(t, "function f()\n"+body+"\nend"), "f")
			var rerr *RuntimeError
			require.ErrorAs(t, err, &rerr)
			assert.Equal(t, 2, rerr.Pos.Line)
		})
	}
	// After all attempts, a fresh call still sees an intact library.
	res, err := e.Call(context.Background(), compile(t, `function f()
  return {string.rep("ab", 2), ("x"):rep(3), type(os), type(io), type(require)}
end`), "f")
	require.NoError(t, err)
	assert.Equal(t, []any{"abab", "xxx", "nil", "nil", "nil"}, res)
}

// Tampering a script can do within its own call must not reach the next
// call, which on a pool of one runs on the same Lua state.
func TestTamperingDoesNotReachOtherCalls(t *testing.T) {
	tamper := map[string]string{
		"rawset into a library":       `rawset(string, "rep", function() return "pwned" end)`,
		"table.insert into a library": `table.insert(string, "junk")`,
		"shadow a library":            `string = {rep = function() return "pwned" end}`,
		"shadow a base function":      `tostring = function() return "pwned" end`,
		"replace _G":                  `_G = {}`,
		"pcall around writes":         `pcall(function() string.rep = nil end) pcall(function() getmetatable("").__index = {} end)`,
	}
	check := `function f() return {string.rep("ab", 2), ("x"):rep(3), tostring(1), rawget(string, "rep")} end`
	for name, body := range tamper {
		t.Run(name, func(t *testing.T) {
			e := NewEngine(Options{PoolSize: 1})
			_, _ = e.Call(context.Background(), compile(t, "function f()\n"+body+"\nend"), "f")
			res, err := e.Call(context.Background(), compile(t, check), "f")
			require.NoError(t, err)
			assert.Equal(t, []any{"abab", "xxx", "1"}, res)
		})
	}
}

func TestLibraryTablesAreReadOnly(t *testing.T) {
	_, err := call(t, Options{}, `function f() table.sort = nil end`, "f")
	var rerr *RuntimeError
	require.ErrorAs(t, err, &rerr)
	assert.Contains(t, rerr.Message, "table is read-only")
}

func TestSandboxGlobals(t *testing.T) {
	res, err := call(t, Options{}, `function f()
  local names = {}
  for _, n in ipairs({"assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "print",
      "rawequal", "rawget", "rawset", "select", "setmetatable", "tonumber", "tostring", "type",
      "unpack", "xpcall", "string", "table", "math", "log", "json", "time", "re", "str"}) do
    if _G[n] == nil then names[#names + 1] = n end
  end
  return {missing = names, version = _VERSION, g = _G == _G._G}
end`, "f")
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"missing": map[string]any{}, "version": "Lua 5.1", "g": true}, res)
}

// No library table may hold a table: scripts reach library values through
// the read-only proxies, and a nested table would be shared and writable.
func TestLibrariesHoldNoTables(t *testing.T) {
	e := NewEngine(Options{})
	e.RegisterModule("extra", map[string]lua.LGFunction{"f": func(*lua.LState) int { return 0 }})
	st := e.newState()
	defer st.L.Close()
	require.Len(t, st.proxies, len(builtinModules)+1)
	for _, p := range st.proxies {
		lib := p.Metatable.(*lua.LTable).RawGetString("__index").(*lua.LTable)
		lib.ForEach(func(k, v lua.LValue) {
			assert.NotEqual(t, lua.LTTable, v.Type(), "%v", k)
		})
	}
}
