// Package script runs the Lua scripts administrators write for hooks,
// computed values and normalisations. Scripts are compiled once and run in a
// sandbox: a fresh global environment per call, a curated standard library
// (see API.md), a time budget and an approximate memory cap. Lua states are
// pooled by an Engine and thrown away whenever a call was interrupted, so a
// misbehaving script cannot poison later calls.
package script

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"

	"github.com/hotline12345/hotline/core/diag"
)

var (
	// ErrBudgetExceeded means the call ran past its time budget.
	ErrBudgetExceeded = errors.New("script time budget exceeded")
	// ErrMemoryExceeded means the call tried to use more memory than its cap,
	// either in one built-in call that was refused up front or as heap growth
	// seen by the watchdog.
	ErrMemoryExceeded = errors.New("script memory cap exceeded")
	// ErrNoFunction means the script does not define the function asked for.
	ErrNoFunction = errors.New("script does not define the function")
	// ErrPanic means Go code (a built-in or a registered module) panicked
	// while the script ran. It is a platform bug, not a script bug.
	ErrPanic = errors.New("script: Go panic while running script")
)

// Script is a compiled script. It is immutable and safe to share between
// goroutines and engines.
type Script struct {
	name  string
	file  string
	proto *lua.FunctionProto
}

// Name is the name given to Compile; it tags logs and metrics.
func (s *Script) Name() string { return s.name }

// File is the file the script was loaded from, used in error positions.
func (s *Script) File() string { return s.file }

// Compile parses and compiles src once. name identifies the script in logs
// and Lua error messages; file is the path used in positions. A syntax error
// is returned as a *CompileError.
func Compile(name, file string, src []byte) (*Script, error) {
	chunk, err := parse.Parse(bytes.NewReader(src), name)
	if err != nil {
		return nil, newCompileError(name, file, src, err)
	}
	proto, err := lua.Compile(chunk, name)
	if err != nil {
		return nil, newCompileError(name, file, src, err)
	}
	return &Script{name: name, file: file, proto: proto}, nil
}

// CompileError is a syntax or code-generation error. Pos.Col counts
// characters (runes), not bytes, so it matches what editors show for lines
// containing Chinese text.
type CompileError struct {
	Pos     diag.Pos
	Message string
}

func (e *CompileError) Error() string { return e.Pos.String() + ": " + e.Message }

// Diagnostic returns the error in the form `hotline lint` prints.
func (e *CompileError) Diagnostic() diag.Diagnostic {
	return diag.Diagnostic{Pos: e.Pos, Message: e.Message}
}

func newCompileError(name, file string, src []byte, err error) *CompileError {
	var pe *parse.Error
	if errors.As(err, &pe) {
		return syntaxError(name, file, src, pe)
	}
	var ce *lua.CompileError
	if errors.As(err, &ce) {
		return &CompileError{Pos: diag.Pos{File: file, Line: ce.Line}, Message: ce.Message}
	}
	// Anything else is unexpected from the parser; keep its text.
	return &CompileError{Pos: diag.Pos{File: file}, Message: strings.TrimSpace(err.Error())}
}

// syntaxError turns gopher-lua's parse error into a position at the start of
// the offending token. The parser reports where its scanner stopped, which is
// the last byte of the look-ahead token (or EOF), so the source is re-scanned
// with the same lexer to find where that token began.
func syntaxError(name, file string, src []byte, pe *parse.Error) *CompileError {
	line, col := locateToken(name, src, pe.Pos.Line, pe.Pos.Column)
	msg := pe.Message
	if pe.Pos.Line == parse.EOF {
		msg += " at end of file"
	} else if pe.Token != "" {
		msg += fmt.Sprintf(" near '%s'", pe.Token)
	}
	return &CompileError{
		Pos:     diag.Pos{File: file, Line: line, Col: runeColumn(src, line, col)},
		Message: msg,
	}
}

// locateToken returns the 1-based line and byte column where the token that
// the scanner finished at (line, col) starts. For EOF it returns the position
// just after the last token, where something was expected.
func locateToken(name string, src []byte, line, col int) (int, int) {
	sc := parse.NewScanner(bytes.NewReader(src), name)
	lx := &parse.Lexer{}
	lastLine, lastCol := 1, 0
	for {
		tok, err := sc.Scan(lx)
		if err != nil {
			// A lexer error: the parser hit the same one, and tok.Pos is
			// where the bad token began.
			if tok.Pos.Line > 0 {
				return tok.Pos.Line, tok.Pos.Column
			}
			return lastLine, lastCol + 1
		}
		if tok.Type > 0 && sc.Pos.Line == line && sc.Pos.Column == col {
			return tok.Pos.Line, tok.Pos.Column
		}
		if tok.Type <= 0 || sc.Pos.Line == parse.EOF {
			if line == parse.EOF || line <= 0 {
				return lastLine, lastCol + 1
			}
			return line, col
		}
		if line != parse.EOF && sc.Pos.Line > line {
			return line, col
		}
		lastLine, lastCol = sc.Pos.Line, sc.Pos.Column
	}
}

// runeColumn converts a 1-based byte column on line into a 1-based rune
// column.
func runeColumn(src []byte, line, col int) int {
	if line <= 0 || col <= 0 {
		return col
	}
	rest := src
	for l := 1; l < line; l++ {
		i := bytes.IndexAny(rest, "\r\n")
		if i < 0 {
			return col
		}
		if rest[i] == '\r' && i+1 < len(rest) && rest[i+1] == '\n' {
			i++
		} else if rest[i] == '\n' && i+1 < len(rest) && rest[i+1] == '\r' {
			i++
		}
		rest = rest[i+1:]
	}
	if col-1 > len(rest) {
		return col
	}
	return utf8.RuneCount(rest[:col-1]) + 1
}

// RuntimeError is an error raised while a script ran: a call to error(), or a
// Lua runtime error such as indexing nil. Message has Lua's "name:line:"
// prefix removed; Pos carries the line instead (zero when unknown).
type RuntimeError struct {
	Script    string
	Pos       diag.Pos
	Message   string
	Traceback string
}

func (e *RuntimeError) Error() string {
	return fmt.Sprintf("%s: script %s: %s", e.Pos, e.Script, e.Message)
}

// newRuntimeError splits gopher-lua's error value into position and message.
func newRuntimeError(s *Script, aerr *lua.ApiError) *RuntimeError {
	msg := aerr.Object.String()
	if str, ok := aerr.Object.(lua.LString); ok {
		msg = string(str)
	}
	line, rest, ok := cutLinePrefix(s.name, msg)
	if ok {
		msg = rest
	} else {
		line = tracebackLine(s.name, aerr.StackTrace)
	}
	return &RuntimeError{
		Script:    s.name,
		Pos:       diag.Pos{File: s.file, Line: line},
		Message:   msg,
		Traceback: aerr.StackTrace,
	}
}

// cutLinePrefix removes the "name:line: " prefix Lua puts on error messages.
func cutLinePrefix(name, msg string) (int, string, bool) {
	rest, ok := strings.CutPrefix(msg, name+":")
	if !ok {
		return 0, msg, false
	}
	digits, after, ok := strings.Cut(rest, ":")
	if !ok {
		return 0, msg, false
	}
	line, err := strconv.Atoi(digits)
	if err != nil {
		return 0, msg, false
	}
	return line, strings.TrimPrefix(after, " "), true
}

// tracebackLine finds the innermost line of the script in a traceback, for
// errors raised without a position (error(obj, 0), non-string error values).
func tracebackLine(name, traceback string) int {
	for _, l := range strings.Split(traceback, "\n") {
		if line, _, ok := cutLinePrefix(name, strings.TrimSpace(l)); ok {
			return line
		}
	}
	return 0
}
