package script

import (
	"slices"

	lua "github.com/yuin/gopher-lua"
)

// Lua state limits. A fixed call stack turns runaway recursion into a
// "stack overflow" Lua error; the value stack may grow to 64Ki slots (1 MiB)
// so unpack/string.byte of huge inputs fail with "registry overflow" instead
// of growing without bound. gopher-lua grows the value stack linearly,
// copying it each time, hence the large step. 200 frames is Lua 5.1's own
// C-call limit.
const (
	callStackSize    = 200
	registrySize     = 1024
	registryMaxSize  = 64 * 1024
	registryGrowStep = 4096
)

// safeBase are the base-library globals scripts keep. Left out on purpose:
// dofile, loadfile, load, loadstring, require, module (code loading and the
// file system), getfenv/setfenv (would reach the shared environment),
// collectgarbage (process-wide GC control), newproxy and _printregs
// (debugging internals); print is replaced by one that logs.
var safeBase = []string{
	"assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall",
	"rawequal", "rawget", "rawset", "select", "setmetatable", "tonumber",
	"tostring", "type", "unpack", "xpcall", "_VERSION",
}

var builtinModules = []string{"string", "table", "math", "log", "json", "time", "re", "str"}

func isBuiltinGlobal(name string) bool {
	return name == "_G" || name == "print" || slices.Contains(safeBase, name) || slices.Contains(builtinModules, name)
}

// luaState is a pooled Lua state with the sandbox installed.
type luaState struct {
	L   *lua.LState
	eng *Engine
	// envMeta is the metatable of every per-call environment: reads fall
	// through to the sandbox globals, and __metatable hides it (and so the
	// sandbox table) from getmetatable and setmetatable.
	envMeta *lua.LTable
	// proxies are the read-only library tables scripts see. They are the
	// only shared mutable tables a script can reach, so reset checks that
	// nothing was stored in them.
	proxies []*lua.LTable
	// panicked is set when a registered module function panicked, even if
	// the script caught it with pcall: the state may be inconsistent.
	panicked bool
}

func (e *Engine) newState() *luaState {
	e.mu.Lock()
	e.frozen = true
	mods := e.modules
	e.mu.Unlock()

	L := lua.NewState(lua.Options{
		SkipOpenLibs:     true,
		CallStackSize:    callStackSize,
		RegistrySize:     registrySize,
		RegistryMaxSize:  registryMaxSize,
		RegistryGrowStep: registryGrowStep,
	})
	for _, open := range []lua.LGFunction{lua.OpenBase, lua.OpenString, lua.OpenTable, lua.OpenMath} {
		L.Push(L.NewFunction(open))
		L.Call(0, 0)
	}
	st := &luaState{L: L, eng: e}
	std := L.G.Global

	sandbox := L.CreateTable(0, len(safeBase)+len(builtinModules)+len(mods)+1)
	for _, name := range safeBase {
		sandbox.RawSetString(name, std.RawGetString(name))
	}
	sandbox.RawSetString("print", L.NewFunction(e.print))

	stdString := std.RawGetString("string").(*lua.LTable)
	strlib := pick(L, stdString, "byte", "char", "find", "len", "lower", "match", "reverse", "sub", "upper")
	strlib.RawSetString("rep", L.NewFunction(e.strRep))
	strlib.RawSetString("format", L.NewFunction(e.strFormat(stdString.RawGetString("format").(*lua.LFunction).GFunction)))
	strlib.RawSetString("gsub", L.NewFunction(e.strGsub))
	strlib.RawSetString("gmatch", L.NewFunction(e.strGmatch))
	// ("x"):upper() looks methods up through the string metatable. By
	// default that metatable is the string library itself and getmetatable('')
	// returns it, so a script could swap methods for every later call; this
	// one points at the library and hides itself.
	L.SetMetatable(lua.LString(""), hiddenMeta(L, strlib))

	tablib := pick(L, std.RawGetString("table").(*lua.LTable), "insert", "remove", "sort", "maxn", "getn")
	tablib.RawSetString("concat", L.NewFunction(e.tableConcat))

	mathlib := L.CreateTable(0, 32)
	std.RawGetString("math").(*lua.LTable).ForEach(func(k, v lua.LValue) {
		// randomseed would reseed a generator shared with other scripts.
		if k.String() != "randomseed" {
			mathlib.RawSet(k, v)
		}
	})

	add := func(name string, tb *lua.LTable) {
		sandbox.RawSetString(name, st.readOnly(L, name, tb))
	}
	add("string", strlib)
	add("table", tablib)
	add("math", mathlib)
	add("log", e.logLib(L))
	add("json", e.jsonLib(L))
	add("time", e.timeLib(L))
	add("re", e.reLib(L))
	add("str", e.strLib(L))
	for _, m := range mods {
		tb := L.CreateTable(0, len(m.fns))
		for name, fn := range m.fns {
			tb.RawSetString(name, L.NewFunction(st.noteGoPanics(fn)))
		}
		add(m.name, tb)
	}

	st.envMeta = hiddenMeta(L, sandbox)
	return st
}

// pick copies the named entries of lib into a new table.
func pick(L *lua.LState, lib *lua.LTable, names ...string) *lua.LTable {
	tb := L.CreateTable(0, len(names)+4)
	for _, n := range names {
		tb.RawSetString(n, lib.RawGetString(n))
	}
	return tb
}

// hiddenMeta is a metatable that reads through to index and that
// getmetatable reports as false and setmetatable refuses to replace.
func hiddenMeta(L *lua.LState, index *lua.LTable) *lua.LTable {
	mt := L.CreateTable(0, 2)
	mt.RawSetString("__index", index)
	mt.RawSetString("__metatable", lua.LFalse)
	return mt
}

// readOnly wraps lib in an empty proxy whose reads fall through to lib and
// whose writes fail. A proxy costs nothing per call, whereas per-call copies
// of every library would cost a hundred table writes per call. The price is
// that pairs(string) sees no entries. rawset and table.insert can still write
// into a proxy; that only affects the current call, because reset then
// refuses to pool the state.
func (st *luaState) readOnly(L *lua.LState, name string, lib *lua.LTable) *lua.LTable {
	mt := hiddenMeta(L, lib)
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("%s is read-only: cannot set %s.%s", name, name, L.Get(2).String())
		return 0
	}))
	proxy := L.NewTable()
	proxy.Metatable = mt
	st.proxies = append(st.proxies, proxy)
	return proxy
}

// noteGoPanics marks the state as not reusable when fn panics. Lua errors
// (RaiseError, ArgError) travel as *lua.ApiError panics too and are normal.
func (st *luaState) noteGoPanics(fn lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(*lua.ApiError); !ok {
					st.panicked = true
				}
				panic(r)
			}
		}()
		return fn(L)
	}
}

// newEnv is the global table of one call. Globals the script defines land in
// it and are dropped with it, so they never reach another call.
func (st *luaState) newEnv() *lua.LTable {
	env := st.L.CreateTable(0, 8)
	env.RawSetString("_G", env)
	env.Metatable = st.envMeta
	return env
}

// reset prepares the state for the next call and reports whether it may be
// reused.
func (st *luaState) reset() bool {
	st.L.SetTop(0)
	if st.panicked {
		return false
	}
	for _, p := range st.proxies {
		if k, _ := p.Next(lua.LNil); k != lua.LNil {
			return false
		}
	}
	return true
}
