// Package rules compiles and runs expr (github.com/expr-lang/expr) rules
// against typed environments. Rules are compiled once, when configuration is
// loaded, so a misspelt field is a lint error with its file position instead
// of a wrong decision at run time.
package rules

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/invopop/jsonschema"

	"github.com/hotline12345/hotline/core/diag"
	"github.com/hotline12345/hotline/core/registry"
)

// Env is the typed environment a rule is compiled against: a struct type
// whose fields (named by `expr` tags) are the variables the rule may use.
type Env struct {
	name string
	typ  reflect.Type
}

// Name is the environment's registered name, or "" for a declared one.
func (e *Env) Name() string { return e.name }

// Type returns the environment's struct type.
func (e *Env) Type() reflect.Type { return e.typ }

// NewEnv makes an environment from a Go struct value or type sample. Modules
// use this for the environments they evaluate rules in (a ticket, a call).
func NewEnv(name string, sample any) *Env {
	t := reflect.TypeOf(sample)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		panic("rules: an environment must be a struct type")
	}
	return &Env{name: name, typ: t}
}

// RegisterEnv makes a named environment available to `env:` in rule files:
// the registry's entry "env.rule.NAME". spec documents it; its variables
// are read from the environment's type, and its examples are expressions
// (linted as a rule over the environment).
func RegisterEnv(e *Env, spec registry.Spec) {
	if len(spec.Fields) == 0 {
		spec.Fields = envFields(e.typ, nil)
	}
	registry.Add(registry.Entry{Namespace: registry.NSEnv, Name: e.name, Spec: spec, Value: e})
}

func init() {
	registry.Declare(registry.Namespace{
		ID:    registry.NSEnv,
		Title: "Rule environments",
		Description: "The variables an expression sees, by where it is evaluated: a rule document names one with `env:`, " +
			"and the expressions of flows, forms, voice menus and queues are compiled against theirs.",
		Document: func(e registry.Entry, ex string) string {
			return "kind: rule\nname: " + e.ExampleName() + "\nlabel: 示例\nenv: " + e.Name + "\nexpr: " + strconv.Quote(ex) + "\n"
		},
	})
}

// envFields documents the variables of an environment type, their types
// written the way `vars:` declares them.
func envFields(t reflect.Type, seen []reflect.Type) []registry.Field {
	var out []registry.Field
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := f.Tag.Get("expr")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		typ, fields := envType(f.Type, append(seen, t))
		out = append(out, registry.Field{Name: name, Type: typ, Fields: fields})
	}
	return out
}

func envType(t reflect.Type, seen []reflect.Type) (string, []registry.Field) {
	switch {
	case t == reflect.TypeOf(time.Time{}):
		return "time", nil
	case t == reflect.TypeOf(time.Duration(0)):
		return "duration", nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		return envType(t.Elem(), seen)
	case reflect.Struct:
		if slices.Contains(seen, t) {
			return "object", nil
		}
		return "object", envFields(t, seen)
	case reflect.Slice, reflect.Array:
		name, fields := envType(t.Elem(), seen)
		return "list<" + name + ">", fields
	case reflect.Map:
		name, fields := envType(t.Elem(), seen)
		return "map<" + name + ">", fields
	case reflect.String:
		return "string", nil
	case reflect.Bool:
		return "bool", nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "int", nil
	case reflect.Float32, reflect.Float64:
		return "float", nil
	}
	return "any", nil
}

// LookupEnv returns a registered environment.
func LookupEnv(name string) (*Env, bool) { return registry.Value[*Env](registry.NSEnv, name) }

// EnvNames lists registered environments.
func EnvNames() []string { return registry.Names(registry.NSEnv) }

// Vars declares variables in configuration:
//
//	vars:
//	  channel: string
//	  caller:
//	    calls_30d: int
//	    tags: list<string>
//
// Types: string, int, float, bool, time, duration, any, list<T>, map<T>,
// and nested mappings for objects.
type Vars struct {
	node *yaml.Node
	pos  diag.Pos
}

// DecodeNode implements registry.NodeDecoder.
func (v *Vars) DecodeNode(n *yaml.Node, pos diag.Pos) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("expected a mapping of variable names to types")
	}
	v.node, v.pos = n, pos
	return nil
}

// Declared reports whether any variables were declared.
func (v Vars) Declared() bool { return v.node != nil }

// Env builds the environment the declarations describe.
func (v Vars) Env() (*Env, diag.List) {
	var diags diag.List
	t := structFromNode(v.node, v.pos.File, &diags)
	if !diags.Empty() {
		return nil, diags
	}
	return &Env{typ: t}, nil
}

func structFromNode(n *yaml.Node, file string, diags *diag.List) reflect.Type {
	var fields []reflect.StructField
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		pos := diag.Pos{File: file, Line: k.Line, Col: k.Column}
		if !isIdent(k.Value) {
			diags.Addf(pos, "variable name %q: use letters, digits and '_' (it is written in rules as is)", k.Value)
			continue
		}
		var t reflect.Type
		if val.Kind == yaml.MappingNode {
			t = structFromNode(val, file, diags)
		} else {
			var err error
			t, err = parseType(val.Value)
			if err != nil {
				diags.Addf(diag.Pos{File: file, Line: val.Line, Col: val.Column}, "variable %q: %v", k.Value, err)
				continue
			}
		}
		if t == nil {
			continue
		}
		fields = append(fields, reflect.StructField{
			Name: fmt.Sprintf("V%d_%s", len(fields), exportable(k.Value)),
			Type: t,
			Tag:  reflect.StructTag(fmt.Sprintf(`expr:%q json:%q`, k.Value, k.Value)),
		})
	}
	return reflect.StructOf(fields)
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || unicode.IsLetter(r) || (i > 0 && unicode.IsDigit(r))) {
			return false
		}
	}
	return true
}

// exportable keeps generated struct field names valid Go identifiers even for
// variable names in Chinese; the expr tag carries the real name.
func exportable(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_') {
			b.WriteRune(r)
		} else {
			b.WriteString(fmt.Sprintf("u%x", r))
		}
	}
	return b.String()
}

var (
	timeType     = reflect.TypeOf(time.Time{})
	durationType = reflect.TypeOf(time.Duration(0))
	anyType      = reflect.TypeOf((*any)(nil)).Elem()
)

func parseType(s string) (reflect.Type, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "string", "text":
		return reflect.TypeOf(""), nil
	case "int", "integer":
		return reflect.TypeOf(0), nil
	case "float", "number":
		return reflect.TypeOf(0.0), nil
	case "bool", "boolean":
		return reflect.TypeOf(false), nil
	case "time":
		return timeType, nil
	case "duration":
		return durationType, nil
	case "any":
		return anyType, nil
	}
	if inner, ok := strings.CutPrefix(s, "list<"); ok && strings.HasSuffix(inner, ">") {
		t, err := parseType(strings.TrimSuffix(inner, ">"))
		if err != nil {
			return nil, err
		}
		return reflect.SliceOf(t), nil
	}
	if inner, ok := strings.CutPrefix(s, "map<"); ok && strings.HasSuffix(inner, ">") {
		t, err := parseType(strings.TrimSuffix(inner, ">"))
		if err != nil {
			return nil, err
		}
		return reflect.MapOf(reflect.TypeOf(""), t), nil
	}
	return nil, fmt.Errorf("unknown type %q (string, int, float, bool, time, duration, any, list<T>, map<T>, or a mapping for an object)", s)
}

// Value converts free-form variables (from a test case, JSON input or a
// script) into a value of the environment's type, naming the variable that
// does not fit.
func (e *Env) Value(vars map[string]any) (any, error) {
	v := reflect.New(e.typ).Elem()
	if err := assign(v, vars, ""); err != nil {
		return nil, err
	}
	return v.Interface(), nil
}

func assign(dst reflect.Value, src any, path string) error {
	if src == nil {
		return nil
	}
	sv := reflect.ValueOf(src)
	switch {
	case dst.Type() == anyType:
		dst.Set(sv)
		return nil
	case dst.Type() == timeType:
		switch t := src.(type) {
		case time.Time:
			dst.Set(reflect.ValueOf(t))
			return nil
		case string:
			parsed, err := time.Parse(time.RFC3339, t)
			if err != nil {
				return fmt.Errorf("%s: expected a time like 2026-01-02T15:04:05+08:00, got %q", path, t)
			}
			dst.Set(reflect.ValueOf(parsed))
			return nil
		}
	case dst.Type() == durationType:
		switch t := src.(type) {
		case time.Duration:
			dst.SetInt(int64(t))
			return nil
		case string:
			d, err := time.ParseDuration(t)
			if err != nil {
				return fmt.Errorf("%s: expected a duration like 30m, got %q", path, t)
			}
			dst.SetInt(int64(d))
			return nil
		}
	}
	switch dst.Kind() {
	case reflect.Struct:
		m, ok := src.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: expected an object, got %T", orRoot(path), src)
		}
		known := map[string]bool{}
		for i := 0; i < dst.NumField(); i++ {
			f := dst.Type().Field(i)
			name := f.Tag.Get("expr")
			if name == "" {
				name = f.Name
			}
			known[name] = true
			if val, ok := m[name]; ok {
				if err := assign(dst.Field(i), val, joinPath(path, name)); err != nil {
					return err
				}
			}
		}
		for k := range m {
			if !known[k] {
				return fmt.Errorf("%s: no such variable in this environment", joinPath(path, k))
			}
		}
		return nil
	case reflect.Slice:
		items, ok := src.([]any)
		if !ok {
			return fmt.Errorf("%s: expected a list, got %T", path, src)
		}
		s := reflect.MakeSlice(dst.Type(), len(items), len(items))
		for i, it := range items {
			if err := assign(s.Index(i), it, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		dst.Set(s)
		return nil
	case reflect.Map:
		m, ok := src.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: expected an object, got %T", path, src)
		}
		out := reflect.MakeMapWithSize(dst.Type(), len(m))
		for k, val := range m {
			elem := reflect.New(dst.Type().Elem()).Elem()
			if err := assign(elem, val, joinPath(path, k)); err != nil {
				return err
			}
			out.SetMapIndex(reflect.ValueOf(k), elem)
		}
		dst.Set(out)
		return nil
	case reflect.Int, reflect.Int64, reflect.Int32:
		switch n := src.(type) {
		case int:
			dst.SetInt(int64(n))
			return nil
		case int64:
			dst.SetInt(n)
			return nil
		case float64:
			if n == float64(int64(n)) {
				dst.SetInt(int64(n))
				return nil
			}
		}
		return fmt.Errorf("%s: expected a whole number, got %v", path, src)
	case reflect.Float64, reflect.Float32:
		switch n := src.(type) {
		case int:
			dst.SetFloat(float64(n))
			return nil
		case int64:
			dst.SetFloat(float64(n))
			return nil
		case float64:
			dst.SetFloat(n)
			return nil
		}
		return fmt.Errorf("%s: expected a number, got %v", path, src)
	}
	if sv.Type().AssignableTo(dst.Type()) {
		dst.Set(sv)
		return nil
	}
	return fmt.Errorf("%s: expected %s, got %T", path, dst.Type(), src)
}

func orRoot(p string) string {
	if p == "" {
		return "variables"
	}
	return p
}

func joinPath(parent, k string) string {
	if parent == "" {
		return k
	}
	return parent + "." + k
}

// JSONSchema describes variable declarations: names mapped to a type or to a
// nested mapping.
func (Vars) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Type:        "object",
		Description: "variable names mapped to a type (string, int, float, bool, time, duration, any, list<T>, map<T>) or to a mapping for an object",
	}
}
