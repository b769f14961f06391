// Package diag carries positioned problems found in configuration: the
// file:line:col messages that `hotline lint` prints and that reload and
// publish return instead of applying a broken configuration.
package diag

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is a position in a configuration file. Line and Col are 1-based; zero
// means unknown.
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
}

func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	default:
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
	}
}

// Offset returns the position moved by line and column deltas, used to map
// positions inside an embedded expression or script back to the file.
func (p Pos) Offset(line, col int) Pos {
	if line > 1 {
		return Pos{File: p.File, Line: p.Line + line - 1, Col: col}
	}
	return Pos{File: p.File, Line: p.Line, Col: p.Col + col - 1}
}

// Diagnostic is one problem at one place.
type Diagnostic struct {
	Pos     Pos    `json:"pos"`
	Message string `json:"message"`
}

func (d Diagnostic) String() string { return d.Pos.String() + ": " + d.Message }

// List collects diagnostics. The zero value is ready to use.
type List []Diagnostic

// Addf appends a diagnostic at pos.
func (l *List) Addf(pos Pos, format string, args ...any) {
	*l = append(*l, Diagnostic{Pos: pos, Message: fmt.Sprintf(format, args...)})
}

// Append adds every diagnostic of other.
func (l *List) Append(other List) { *l = append(*l, other...) }

// Empty reports whether nothing was found.
func (l List) Empty() bool { return len(l) == 0 }

// Sort orders diagnostics by file, line and column so output is stable.
func (l List) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i].Pos, l[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// Err returns nil for an empty list and an *Error otherwise.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	return &Error{List: l}
}

// Error is a non-empty List used as an error value.
type Error struct{ List List }

func (e *Error) Error() string {
	lines := make([]string, len(e.List))
	for i, d := range e.List {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}
