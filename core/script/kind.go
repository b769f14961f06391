package script

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/hotline12345/hotline/core/diag"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/rules"
)

// Configuration kinds: every .lua file is a script, named by its path below
// scripts/ without the extension; script tests are YAML documents.
const (
	KindScript     = "script"
	KindScriptTest = "script-test"
)

func init() {
	registry.Register(registry.Kind{
		Name:        KindScript,
		Description: "A Lua script (a .lua file under scripts/), named by its path without the extension.",
		Dir:         "scripts",
		FileExt:     ".lua",
		Spec:        registry.Spec{Examples: scriptExamples},
		Parse: func(d *registry.Document) (any, diag.List) {
			s, err := Compile(d.Name, d.Path, []byte(d.Source))
			if err != nil {
				var ce *CompileError
				if errors.As(err, &ce) {
					return nil, diag.List{ce.Diagnostic()}
				}
				return nil, diag.List{{Pos: d.Pos, Message: err.Error()}}
			}
			return s, nil
		},
	})
	registry.Register(registry.Kind{
		Name:        KindScriptTest,
		Description: "Test cases for a Lua script: call a function with arguments, expect a result or an error.",
		Dir:         "scripts",
		New:         func() any { return &Test{} },
		Spec:        registry.Spec{Examples: scriptTestExamples},
	})
}

// Test is a `kind: script-test` document:
//
//	kind: script-test
//	name: phone
//	script: phone
//	tests:
//	  - {name: 去掉 +86, call: normalize, args: ["+86 138 0013 8000"], expect: "13800138000"}
type Test struct {
	Name   string       `yaml:"name" jsonschema:"required"`
	Script registry.Ref `yaml:"script" jsonschema:"required,description=the script under test (its path below scripts/ without .lua)"`
	Tests  []TestCase   `yaml:"tests" jsonschema:"required"`
}

// TestCase is one call of a script function.
type TestCase struct {
	Pos    diag.Pos `yaml:"-"`
	Name   string   `yaml:"name" jsonschema:"required"`
	Call   string   `yaml:"call" jsonschema:"required,description=the global function to call"`
	Args   []any    `yaml:"args"`
	Expect any      `yaml:"expect"`
	Error  string   `yaml:"error" jsonschema:"description=expect the call to fail with a message containing this text"`
}

// Validate checks that the script under test exists.
func (t *Test) Validate(c *registry.Context) {
	c.Resolve(KindScript, t.Script)
	for _, tc := range t.Tests {
		if tc.Error == "" && tc.Expect == nil {
			c.Errorf(tc.Pos, "test %q: say what to expect (expect) or which error (error)", tc.Name)
		}
	}
}

var (
	lintEngineOnce sync.Once
	lintEngine     *Engine
)

// Test runs the cases on an engine with the default budgets, so a test
// that passes here does not rely on more time or memory than production.
func (t *Test) Test(ctx context.Context, c *registry.Context) {
	s, ok := registry.Model[*Script](c.Set, KindScript, t.Script.Name)
	if !ok {
		return
	}
	lintEngineOnce.Do(func() { lintEngine = NewEngine(Options{}) })
	for _, tc := range t.Tests {
		got, err := lintEngine.Call(ctx, s, tc.Call, tc.Args...)
		switch {
		case tc.Error != "":
			if err == nil {
				c.Errorf(tc.Pos, "test %q: expected an error containing %q, got %v", tc.Name, tc.Error, got)
			} else if !strings.Contains(err.Error(), tc.Error) {
				c.Errorf(tc.Pos, "test %q: expected an error containing %q, got: %v", tc.Name, tc.Error, err)
			}
		case err != nil:
			c.Errorf(tc.Pos, "test %q: %v", tc.Name, err)
		case !rules.Equal(got, tc.Expect):
			c.Errorf(tc.Pos, "test %q: expected %s, got %s", tc.Name, show(tc.Expect), show(got))
		}
	}
}

func show(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v)
}
