package rules

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
	"github.com/invopop/jsonschema"
	"gopkg.in/yaml.v3"

	"github.com/hotline12345/hotline/core/diag"
)

// Expr is an expression written in a configuration file, kept with where it
// was written so compile errors point into the file.
type Expr struct {
	Source string
	Pos    diag.Pos
	// block is set for `|` and `>` scalars, whose text starts on the line
	// after the indicator.
	block  bool
	indent int
}

// DecodeNode implements registry.NodeDecoder.
func (e *Expr) DecodeNode(n *yaml.Node, pos diag.Pos) error {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return fmt.Errorf("expected an expression as text")
	}
	e.Source, e.Pos = n.Value, pos
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		e.block = true
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		e.Pos.Col++ // the quote
	}
	return nil
}

// JSONSchema describes an expression as the string it is written as.
func (Expr) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Type: "string", Title: "expression", Description: "an expr-lang expression (https://expr-lang.org)"}
}

// SetBlockIndent records the indentation of a block scalar's content, which
// the YAML node does not carry; Locate needs it for columns. lineText
// returns a line of the file.
func (e *Expr) SetBlockIndent(lineText func(line int) string) {
	if !e.block || lineText == nil {
		return
	}
	l := lineText(e.Pos.Line + 1)
	e.indent = len(l) - len(strings.TrimLeft(l, " "))
}

// Locate maps a 1-based line and 0-based column inside the expression to
// the file.
func (e Expr) Locate(line, col int) diag.Pos {
	if e.block {
		return diag.Pos{File: e.Pos.File, Line: e.Pos.Line + line, Col: e.indent + col + 1}
	}
	return e.Pos.Offset(line, col+1)
}

// Result is what a rule must produce.
type Result string

const (
	Bool   Result = "bool"
	Number Result = "number"
	String Result = "string"
	Any    Result = "any"
)

// Program is a compiled rule.
type Program struct {
	prog *vm.Program
	env  *Env
	src  string
	// idents are the names the rule refers to (variables, functions).
	idents map[string]bool
}

// identifiers collects the names an expression refers to.
type identifiers map[string]bool

func (ids identifiers) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok {
		ids[id.Value] = true
	}
}

// Uses reports whether the rule refers to name (a top-level variable such
// as input): what it needs before it can be evaluated.
func (p *Program) Uses(name string) bool { return p.idents[name] }

// Compile type-checks src against env. Problems come back as diagnostics at
// their place in the configuration file.
func Compile(src Expr, env *Env, want Result) (*Program, diag.List) {
	var diags diag.List
	if strings.TrimSpace(src.Source) == "" {
		diags.Addf(src.Pos, "empty expression")
		return nil, diags
	}
	opts := []expr.Option{expr.Env(envSample(env)), expr.MaxNodes(10000)}
	switch want {
	case Bool:
		opts = append(opts, expr.AsBool())
	case Number:
		opts = append(opts, expr.AsFloat64())
	case String:
		opts = append(opts, expr.AsKind(reflect.String))
	}
	prog, err := expr.Compile(src.Source, opts...)
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			diags.Addf(src.Locate(fe.Line, fe.Column), "rule: %s", readableTypes(fe.Message))
		} else {
			diags.Addf(src.Pos, "rule: %v", err)
		}
		return nil, diags
	}
	ids := identifiers{}
	node := prog.Node()
	ast.Walk(&node, ids)
	return &Program{prog: prog, env: env, src: src.Source, idents: ids}, nil
}

func envSample(env *Env) any {
	if env == nil {
		return map[string]any{}
	}
	return reflect.New(env.typ).Elem().Interface()
}

// Run evaluates the rule. vars is a value of the environment's type, or a
// map that is converted to it (a mismatch names the variable).
func (p *Program) Run(vars any) (any, error) {
	if m, ok := vars.(map[string]any); ok && p.env != nil {
		v, err := p.env.Value(m)
		if err != nil {
			return nil, err
		}
		vars = v
	}
	if vars == nil {
		vars = envSample(p.env)
	}
	out, err := expr.Run(p.prog, vars)
	if err != nil {
		return nil, fmt.Errorf("evaluating rule %q: %w", p.src, err)
	}
	return out, nil
}

// Bool evaluates a rule compiled with want Bool.
func (p *Program) Bool(vars any) (bool, error) {
	out, err := p.Run(vars)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("rule %q returned %T, not true/false", p.src, out)
	}
	return b, nil
}

// Source returns the rule's text.
func (p *Program) Source() string { return p.src }

// readableTypes replaces the generated struct types of declared variables in
// expr's messages ("type struct { V0_n int ... } has no field x") with the
// word "object", which is what an administrator declared.
func readableTypes(msg string) string {
	var b strings.Builder
	for {
		i := strings.Index(msg, "struct {")
		if i < 0 {
			b.WriteString(msg)
			return b.String()
		}
		b.WriteString(msg[:i])
		depth, j := 0, i
		for ; j < len(msg); j++ {
			if msg[j] == '{' {
				depth++
			} else if msg[j] == '}' {
				depth--
				if depth == 0 {
					break
				}
			}
		}
		b.WriteString("object")
		if j >= len(msg) {
			return b.String()
		}
		msg = msg[j+1:]
	}
}
