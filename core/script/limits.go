package script

import (
	"math"
	"strings"
	"unsafe"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/pm"
)

// The heap watchdog notices growth only after it happened, and a single Go
// call cannot be interrupted. Every built-in that can turn a small input into
// a huge value in one call therefore checks the size up front (or while
// building) and refuses. These replace gopher-lua's string.rep, string.format,
// string.gsub, string.gmatch and table.concat.

// refuse raises the error a built-in gives instead of exceeding the memory
// cap. It is an ordinary Lua error, so pcall can catch it; Engine.Call
// recognises its text when it is not caught and reports ErrMemoryExceeded.
func (e *Engine) refuse(L *lua.LState, what string, size float64) {
	L.RaiseError("%s: %v (result would be %.0f bytes or more, cap is %d)", what, ErrMemoryExceeded, size, e.opts.MemoryCap)
}

func (e *Engine) strRep(L *lua.LState) int {
	s := L.CheckString(1)
	n := math.Floor(float64(L.CheckNumber(2)))
	if n < 1 || s == "" {
		L.Push(lua.LString(""))
		return 1
	}
	if size := float64(len(s)) * n; size > float64(e.opts.MemoryCap) {
		e.refuse(L, "string.rep", size)
	}
	L.Push(lua.LString(strings.Repeat(s, int(n))))
	return 1
}

// strFormat validates conversions as Lua 5.1 does (at most two digits of
// width and precision, no Go extensions such as %*d or %[2]d, which would let
// one conversion print a megabyte) and bounds the result before handing over
// to gopher-lua's implementation.
func (e *Engine) strFormat(format lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		f := L.CheckString(1)
		size := float64(len(f))
		arg := 2
		for i := 0; i < len(f); i++ {
			if f[i] != '%' {
				continue
			}
			start := i
			i++
			if i < len(f) && f[i] == '%' {
				continue
			}
			for i < len(f) && strings.IndexByte("-+ #0", f[i]) >= 0 {
				i++
			}
			i = formatDigits(L, f, i)
			if i < len(f) && f[i] == '.' {
				i = formatDigits(L, f, i+1)
			}
			if i >= len(f) || strings.IndexByte("cdiouxXeEfgGqs", f[i]) < 0 {
				L.RaiseError("invalid conversion '%s' to 'format'", f[start:min(i+1, len(f))])
			}
			// 200 covers the largest width and precision, 99 each.
			size += 200 + formattedSize(L.Get(arg), f[i])
			arg++
		}
		if size > float64(e.opts.MemoryCap) {
			e.refuse(L, "string.format", size)
		}
		return format(L)
	}
}

func formatDigits(L *lua.LState, f string, i int) int {
	j := i
	for j < len(f) && f[j] >= '0' && f[j] <= '9' {
		j++
	}
	if j-i > 2 {
		L.RaiseError("invalid format (width or precision too long)")
	}
	return j
}

// formattedSize bounds what one conversion prints for v.
func formattedSize(v lua.LValue, verb byte) float64 {
	switch x := v.(type) {
	case lua.LString:
		if verb == 'q' {
			return float64(4*len(x) + 2)
		}
		return float64(len(x))
	case lua.LNumber:
		return 330 // %f of 1e308 prints 309 digits
	}
	return 64 // "table: 0xc000123456" and the like
}

func (e *Engine) tableConcat(L *lua.LState) int {
	tb := L.CheckTable(1)
	sep := L.OptString(2, "")
	i := L.OptInt(3, 1)
	j := L.OptInt(4, tb.Len())
	if i > j {
		L.Push(lua.LString(""))
		return 1
	}
	// gopher-lua pushes every element on the value stack, which both limits
	// concat to a few ten thousand parts and sizes nothing; build directly.
	size := 0.0
	for k := i; k <= j; k++ {
		switch v := tb.RawGetInt(k).(type) {
		case lua.LString:
			size += float64(len(v))
		case lua.LNumber:
			size += 24
		default:
			L.RaiseError("invalid value (at index %d) in table for 'concat'", k)
		}
		if k < j {
			size += float64(len(sep))
		}
		if size > float64(e.opts.MemoryCap) {
			e.refuse(L, "table.concat", size)
		}
	}
	var b strings.Builder
	b.Grow(int(size))
	for k := i; k <= j; k++ {
		b.WriteString(lua.LVAsString(tb.RawGetInt(k)))
		if k < j {
			b.WriteString(sep)
		}
	}
	L.Push(lua.LString(b.String()))
	return 1
}

// matchChunk bounds how many pattern matches gsub and gmatch hold at once.
// gopher-lua's versions collect every match before doing anything, about
// 100 bytes per match, and gsub then rebuilds the whole string once per
// match (quadratic time).
const matchChunk = 256

// matchScanner yields successive Lua pattern matches in src.
type matchScanner struct {
	src      []byte
	pat      string
	anchored bool
	pos      int
	buf      []*pm.MatchData
	done     bool
}

func newMatchScanner(src, pat string) *matchScanner {
	return &matchScanner{
		// pm only reads its input, so the string's bytes are shared rather
		// than copied (gopher-lua does the same).
		src:      unsafe.Slice(unsafe.StringData(src), len(src)),
		pat:      pat,
		anchored: strings.HasPrefix(pat, "^"),
	}
}

// next returns the next match, or nil when there are no more.
func (sc *matchScanner) next() (*pm.MatchData, error) {
	if len(sc.buf) == 0 {
		if sc.done {
			return nil, nil
		}
		mds, err := pm.Find(sc.pat, sc.src, sc.pos, matchChunk)
		if err != nil {
			return nil, err
		}
		if len(mds) < matchChunk || sc.anchored {
			sc.done = true
		}
		if len(mds) == 0 {
			return nil, nil
		}
		// Continue where pm.Find would have: after the match, and at least
		// one byte further after an empty match.
		last := mds[len(mds)-1]
		sc.pos = max(last.Capture(0)+1, last.Capture(1))
		sc.buf = mds
	}
	m := sc.buf[0]
	sc.buf = sc.buf[1:]
	return m, nil
}

// capture returns capture l (0-based) of m as Lua does: a string, a number
// for position captures, and the whole match for capture 0 of a pattern
// without captures.
func capture(L *lua.LState, src string, m *pm.MatchData, l int) lua.LValue {
	if l >= m.CaptureLength()/2-1 {
		if l == 0 {
			return lua.LString(src[m.Capture(0):m.Capture(1)])
		}
		L.RaiseError("invalid capture index")
	}
	idx := 2 * (l + 1)
	if m.IsPosCapture(idx) {
		return lua.LNumber(m.Capture(idx))
	}
	return lua.LString(src[m.Capture(idx):m.Capture(idx+1)])
}

func captureCount(m *pm.MatchData) int { return max(1, m.CaptureLength()/2-1) }

// replPiece is a parsed part of a gsub replacement string: literal text, or
// capture number capture (-1 for the whole match, from %0).
type replPiece struct {
	lit     string
	capture int
	isLit   bool
}

// parseRepl parses a replacement string with Lua 5.1 rules: %0 is the whole
// match, %1-%9 captures, and % before anything else stands for that
// character (so %% is %).
func parseRepl(r string) []replPiece {
	var pieces []replPiece
	lit := 0
	for i := 0; i < len(r); i++ {
		if r[i] != '%' || i+1 == len(r) {
			continue
		}
		if lit < i {
			pieces = append(pieces, replPiece{lit: r[lit:i], isLit: true})
		}
		i++
		c := r[i]
		switch {
		case c == '0':
			pieces = append(pieces, replPiece{capture: -1})
		case c >= '1' && c <= '9':
			pieces = append(pieces, replPiece{capture: int(c - '1')})
		default:
			pieces = append(pieces, replPiece{lit: r[i : i+1], isLit: true})
		}
		lit = i + 1
	}
	if lit < len(r) {
		pieces = append(pieces, replPiece{lit: r[lit:], isLit: true})
	}
	return pieces
}

// strGsub is string.gsub with the result size checked as it is built.
func (e *Engine) strGsub(L *lua.LState) int {
	src := L.CheckString(1)
	pat := L.CheckString(2)
	repl := L.Get(3)
	var tmpl []replPiece
	isTemplate := false
	switch repl.Type() {
	case lua.LTString, lua.LTNumber:
		tmpl, isTemplate = parseRepl(lua.LVAsString(repl)), true
	case lua.LTTable, lua.LTFunction:
	default:
		L.ArgError(3, "string/function/table expected, got "+repl.Type().String())
	}
	maxN := L.OptInt(4, -1)

	var out strings.Builder
	write := func(s string) {
		if size := out.Len() + len(s); int64(size) > e.opts.MemoryCap {
			e.refuse(L, "string.gsub", float64(size))
		}
		out.WriteString(s)
	}
	sc := newMatchScanner(src, pat)
	n, copied := 0, 0
	for maxN < 0 || n < maxN {
		m, err := sc.next()
		if err != nil {
			L.RaiseError("%s", err.Error())
		}
		if m == nil {
			break
		}
		n++
		start, end := m.Capture(0), m.Capture(1)
		write(src[copied:start])
		copied = end
		if isTemplate {
			for _, p := range tmpl {
				switch {
				case p.isLit:
					write(p.lit)
				case p.capture < 0:
					write(src[start:end])
				default:
					write(lua.LVAsString(capture(L, src, m, p.capture)))
				}
			}
			continue
		}
		var v lua.LValue
		if t, ok := repl.(*lua.LTable); ok {
			v = L.GetTable(t, capture(L, src, m, 0))
		} else {
			L.Push(repl)
			nargs := captureCount(m)
			for l := range nargs {
				L.Push(capture(L, src, m, l))
			}
			L.Call(nargs, 1)
			v = L.Get(-1)
			L.Pop(1)
		}
		switch v.Type() {
		case lua.LTNil:
			write(src[start:end])
		case lua.LTBool:
			if v == lua.LFalse {
				write(src[start:end])
			} else {
				L.RaiseError("invalid replacement value (a boolean)")
			}
		case lua.LTString, lua.LTNumber:
			write(lua.LVAsString(v))
		default:
			L.RaiseError("invalid replacement value (a %s)", v.Type())
		}
	}
	write(src[copied:])
	L.Push(lua.LString(out.String()))
	L.Push(lua.LNumber(n))
	return 2
}

// strGmatch is string.gmatch finding matches a chunk at a time.
func (e *Engine) strGmatch(L *lua.LState) int {
	src := L.CheckString(1)
	pat := L.CheckString(2)
	sc := newMatchScanner(src, pat)
	L.Push(L.NewFunction(func(L *lua.LState) int {
		m, err := sc.next()
		if err != nil {
			L.RaiseError("%s", err.Error())
		}
		if m == nil {
			return 0
		}
		n := captureCount(m)
		for l := range n {
			L.Push(capture(L, src, m, l))
		}
		return n
	}))
	return 1
}
