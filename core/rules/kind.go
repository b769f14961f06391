package rules

import (
	"context"
	"fmt"
	"reflect"

	"github.com/hotline12345/hotline/core/diag"
	"github.com/hotline12345/hotline/core/registry"
)

// KindRule is the configuration kind of named, reusable rules.
const KindRule = "rule"

func init() {
	registry.Register(registry.Kind{
		Name:        KindRule,
		Dir:         "flows",
		Description: "A named expr rule over declared or registered variables, with test cases.",
		New:         func() any { return &Rule{} },
		Spec:        registry.Spec{Examples: ruleExamples},
	})
}

// Rule is a `kind: rule` document:
//
//	kind: rule
//	name: repeat-caller-priority
//	label: 重复来电优先
//	vars:
//	  caller: {calls_30d: int}
//	expr: caller.calls_30d >= 3
//	tests:
//	  - {name: three calls, given: {caller: {calls_30d: 3}}, expect: true}
type Rule struct {
	Name        string     `yaml:"name" jsonschema:"required"`
	Label       string     `yaml:"label" jsonschema:"description=what the rule decides\\, shown to users (Chinese)"`
	Description string     `yaml:"description"`
	Env         string     `yaml:"env" jsonschema:"description=a named environment registered by a module; or declare vars"`
	Vars        Vars       `yaml:"vars"`
	Expr        Expr       `yaml:"expr" jsonschema:"required"`
	Returns     Result     `yaml:"returns" jsonschema:"enum=bool,enum=number,enum=string,enum=any"`
	Tests       []RuleTest `yaml:"tests"`

	Program *Program `yaml:"-"`
}

// RuleTest is one configuration unit test of a rule.
type RuleTest struct {
	Pos    diag.Pos       `yaml:"-"`
	Name   string         `yaml:"name" jsonschema:"required"`
	Given  map[string]any `yaml:"given"`
	Expect any            `yaml:"expect"`
	Error  string         `yaml:"error" jsonschema:"description=expect evaluation to fail with a message containing this text"`
}

// Provision resolves the environment and compiles the expression.
func (r *Rule) Provision(c *registry.Context) {
	if r.Returns == "" {
		r.Returns = Bool
	}
	switch r.Returns {
	case Bool, Number, String, Any:
	default:
		c.Errorf(c.At("returns"), "returns: %q is not one of bool, number, string, any", r.Returns)
		return
	}
	var env *Env
	switch {
	case r.Env != "" && r.Vars.Declared():
		c.Errorf(c.At("vars"), "use either env or vars, not both")
		return
	case r.Env != "":
		e, ok := LookupEnv(r.Env)
		if !ok {
			c.Errorf(c.At("env"), "env: unknown environment %q%s", r.Env, registry.Suggest(r.Env, EnvNames()))
			return
		}
		env = e
	case r.Vars.Declared():
		e, diags := r.Vars.Env()
		if !diags.Empty() {
			c.Report(diags)
			return
		}
		env = e
	default:
		env = &Env{typ: reflect.TypeOf(struct{}{})}
	}
	r.Expr.SetBlockIndent(c.Doc.Line)
	prog, diags := Compile(r.Expr, env, r.Returns)
	c.Report(diags)
	r.Program = prog
	for _, t := range r.Tests {
		if t.Error == "" && t.Expect == nil {
			c.Errorf(t.Pos, "test %q: say what to expect (expect) or which error (error)", t.Name)
		}
	}
}

// Test runs the rule's test cases.
func (r *Rule) Test(_ context.Context, c *registry.Context) {
	if r.Program == nil {
		return
	}
	for _, t := range r.Tests {
		got, err := r.Program.Run(orEmpty(t.Given))
		switch {
		case t.Error != "":
			if err == nil {
				c.Errorf(t.Pos, "test %q: expected an error containing %q, got %v", t.Name, t.Error, got)
			} else if !containsFold(err.Error(), t.Error) {
				c.Errorf(t.Pos, "test %q: expected an error containing %q, got: %v", t.Name, t.Error, err)
			}
		case err != nil:
			c.Errorf(t.Pos, "test %q: %v", t.Name, err)
		case !Equal(got, t.Expect):
			c.Errorf(t.Pos, "test %q: expected %v, got %v", t.Name, fmt.Sprint(t.Expect), fmt.Sprint(got))
		}
	}
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
