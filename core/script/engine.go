package script

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"
)

const (
	// DefaultTimeBudget is the wall-clock time one call may take.
	DefaultTimeBudget = 200 * time.Millisecond
	// DefaultMemoryCap is how much memory one call may use.
	DefaultMemoryCap int64 = 64 << 20
)

// Options configure an Engine. Zero values select the defaults.
type Options struct {
	// TimeBudget is the wall-clock limit of one Call (default 200 ms). The
	// caller's context deadline applies too when it is earlier.
	TimeBudget time.Duration
	// MemoryCap is the approximate memory one Call may use (default 64 MiB).
	MemoryCap int64
	// PoolSize bounds the number of Lua states, and so the number of calls
	// running at once (default 4*GOMAXPROCS). Further calls wait.
	PoolSize int
	// Logger receives log.* and print output of scripts (default
	// slog.Default()).
	Logger *slog.Logger
}

// Engine runs compiled scripts on a bounded pool of sandboxed Lua states. It
// is safe for concurrent use.
type Engine struct {
	opts    Options
	slots   chan struct{}  // one token per state in use
	idle    chan *luaState // states ready for reuse
	regexps regexpCache    // compiled re.* patterns, shared by all states
	zones   sync.Map       // time zone name -> *time.Location
	mu      sync.Mutex     // guards modules and frozen
	modules []module       // registered by RegisterModule, in order
	frozen  bool           // set once the first state was built
}

type module struct {
	name string
	fns  map[string]lua.LGFunction
}

// NewEngine returns an engine with opts, defaults filled in.
func NewEngine(opts Options) *Engine {
	if opts.TimeBudget <= 0 {
		opts.TimeBudget = DefaultTimeBudget
	}
	if opts.MemoryCap <= 0 {
		opts.MemoryCap = DefaultMemoryCap
	}
	if opts.PoolSize <= 0 {
		opts.PoolSize = 4 * runtime.GOMAXPROCS(0)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Engine{
		opts:    opts,
		slots:   make(chan struct{}, opts.PoolSize),
		idle:    make(chan *luaState, opts.PoolSize),
		regexps: regexpCache{m: make(map[string]*regexp.Regexp)},
	}
}

// RegisterModule makes fns available to scripts as the global table name,
// read-only like the built-in modules. It must be called before the first
// Call, because states are built once and reused; it panics otherwise, or
// when name is already taken, since both are programming errors.
//
// Module functions run outside the time budget's reach: a long-running one
// should honour L.Context(), which carries the call's deadline and
// cancellation, and one that builds large values should check its size
// against the cap, as the built-ins do.
func (e *Engine) RegisterModule(name string, fns map[string]lua.LGFunction) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.frozen {
		panic(fmt.Sprintf("script: RegisterModule(%q) called after the engine started running scripts", name))
	}
	if isBuiltinGlobal(name) {
		panic(fmt.Sprintf("script: RegisterModule(%q): the name is a built-in global", name))
	}
	for _, m := range e.modules {
		if m.name == name {
			panic(fmt.Sprintf("script: RegisterModule(%q): module already registered", name))
		}
	}
	copied := make(map[string]lua.LGFunction, len(fns))
	for k, fn := range fns {
		copied[k] = fn
	}
	e.modules = append(e.modules, module{name: name, fns: copied})
}

// Call runs the function fn defined by script s with args and returns its
// first result, converted to Go (see FromLua). The script's top-level code
// runs first, in a fresh global environment, to define fn.
//
// Errors: ErrNoFunction when fn is not defined; ErrBudgetExceeded and
// ErrMemoryExceeded (test with errors.Is) when the call was stopped; a
// *RuntimeError for error() and Lua runtime errors; ErrPanic for a Go panic
// in a built-in; the context's cause when ctx ended first.
func (e *Engine) Call(ctx context.Context, s *Script, fn string, args ...any) (any, error) {
	start := time.Now()
	res, err := e.call(ctx, s, fn, args)
	observeCall(err, time.Since(start))
	return res, err
}

func (e *Engine) call(ctx context.Context, s *Script, fn string, args []any) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("script %s: calling %s: %w", s.name, fn, context.Cause(ctx))
	}
	select {
	case e.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("script %s: waiting for a free Lua state: %w", s.name, context.Cause(ctx))
	}
	defer func() { <-e.slots }()

	var st *luaState
	select {
	case st = <-e.idle:
	default:
		st = e.newState()
	}
	res, reusable, err := st.run(ctx, s, fn, args)
	if !reusable {
		st.L.Close()
		return res, err
	}
	select {
	case e.idle <- st:
	default:
		// Cannot happen while idle states plus states in use stay within
		// PoolSize, but dropping a state is always safe.
		st.L.Close()
	}
	return res, err
}

// run makes one call on st. reusable is false when the call was interrupted
// or the state may have been tampered with; such a state is closed.
func (st *luaState) run(ctx context.Context, s *Script, fn string, args []any) (res any, reusable bool, err error) {
	L := st.L
	defer func() {
		if r := recover(); r != nil {
			res, reusable, err = nil, false, fmt.Errorf("script %s: calling %s: %w: %v", s.name, fn, ErrPanic, r)
		}
	}()

	largs := make([]lua.LValue, len(args))
	for i, a := range args {
		lv, err := ToLua(L, a)
		if err != nil {
			return nil, true, fmt.Errorf("script %s: calling %s: argument %d: %w", s.name, fn, i+1, err)
		}
		largs[i] = lv
	}

	budget := st.eng.opts.TimeBudget
	callCtx, cancelBudget := context.WithTimeoutCause(ctx, budget, ErrBudgetExceeded)
	defer cancelBudget()
	callCtx, cancelMemory := context.WithCancelCause(callCtx)
	defer cancelMemory(nil)
	callCtx = context.WithValue(callCtx, scriptKey{}, s)
	watch := watchHeap(callCtx, st.eng.opts.MemoryCap, cancelMemory)
	defer watch.stop()
	L.SetContext(callCtx)
	defer L.RemoveContext()

	env := st.newEnv()
	chunk := L.NewFunctionFromProto(s.proto)
	chunk.Env = env
	L.Push(chunk)
	if err := L.PCall(0, 0, nil); err != nil {
		return st.failed(callCtx, s, "running top-level code", err)
	}
	f, ok := env.RawGetString(fn).(*lua.LFunction)
	if !ok {
		return nil, st.reset(), fmt.Errorf("script %s: %w %q", s.name, ErrNoFunction, fn)
	}
	L.Push(f)
	for _, a := range largs {
		L.Push(a)
	}
	if err := L.PCall(len(largs), 1, nil); err != nil {
		return st.failed(callCtx, s, "calling "+fn, err)
	}
	ret := L.Get(-1)
	L.Pop(1)
	conv := fromLua{budget: st.eng.opts.MemoryCap}
	res, err = conv.value(ret, 0)
	if err != nil {
		return nil, st.reset(), fmt.Errorf("script %s: converting the result of %s: %w", s.name, fn, err)
	}
	return res, st.reset(), nil
}

// failed classifies an error from PCall. Interruptions come first: when the
// call's context ended, the Lua error is only the VM reporting it.
func (st *luaState) failed(callCtx context.Context, s *Script, doing string, err error) (any, bool, error) {
	var aerr *lua.ApiError
	if !errors.As(err, &aerr) {
		return nil, false, fmt.Errorf("script %s: %s: %w", s.name, doing, err)
	}
	if callCtx.Err() != nil {
		where := newRuntimeError(s, aerr).Pos
		cause := context.Cause(callCtx)
		switch {
		case errors.Is(cause, ErrBudgetExceeded):
			return nil, false, fmt.Errorf("script %s: %s: %w (%v), stopped at %s", s.name, doing, ErrBudgetExceeded, st.eng.opts.TimeBudget, where)
		case errors.Is(cause, ErrMemoryExceeded):
			return nil, false, fmt.Errorf("script %s: %s: %w (%d MiB), stopped at %s", s.name, doing, ErrMemoryExceeded, st.eng.opts.MemoryCap>>20, where)
		default:
			return nil, false, fmt.Errorf("script %s: %s: %w", s.name, doing, cause)
		}
	}
	if aerr.Type == lua.ApiErrorPanic {
		return nil, false, fmt.Errorf("script %s: %s: %w: %v", s.name, doing, ErrPanic, aerr.Object)
	}
	rerr := newRuntimeError(s, aerr)
	// A built-in refused to build an oversized value. It raised an ordinary
	// Lua error so scripts can pcall it; here it is reported as what it is.
	if strings.Contains(rerr.Message, ErrMemoryExceeded.Error()) {
		return nil, false, fmt.Errorf("%w: %w", ErrMemoryExceeded, rerr)
	}
	return nil, st.reset(), rerr
}

type scriptKey struct{}

// ScriptFromContext returns the script whose call ctx belongs to. Module
// functions get it from L.Context(), for example to tag their own logs.
func ScriptFromContext(ctx context.Context) (*Script, bool) {
	s, ok := ctx.Value(scriptKey{}).(*Script)
	return s, ok
}
