package gql

import (
	"fmt"
	"math"

	"github.com/graphql-go/graphql/language/ast"
)

// Limits bound what one request may ask for, checked on the parsed document
// before any resolver runs. Hotline centres share one server between
// agents, supervisors' dashboards and integrations; one careless or hostile
// query must not starve the agents taking calls. A zero field means the
// default; a negative one disables that limit.
type Limits struct {
	// MaxDepth is the deepest chain of nested fields, counting the leaf:
	// `{ a { b } }` has depth 2. Introspection subtrees (__schema, __type)
	// are exempt because GraphiQL's introspection query nests ofType nine
	// deep; they are bounded by the introspection rule and MaxComplexity.
	MaxDepth int
	// MaxComplexity bounds the number of fields selected, with fragment
	// spreads expanded and a field with a `first` or `last` argument
	// counting its sub-selection that many times (the page size).
	MaxComplexity int
	// MaxBytes bounds the query text.
	MaxBytes int

	// The document gate (gate.go), checked before parsing and validation.
	//
	// MaxNesting bounds brackets ({ [ and () nested in the raw text.
	MaxNesting int
	// MaxTokens bounds the tokens of the raw text.
	MaxTokens int
	// MaxOperations, MaxFragments, MaxSpreads, MaxFields and MaxDirectives
	// bound what the parsed document holds in all.
	MaxOperations int
	MaxFragments  int
	MaxSpreads    int
	MaxFields     int
	MaxDirectives int
	// MaxSameName bounds the fields sharing one response name (a name or
	// alias) in one selection set with its fragments expanded.
	MaxSameName int
	// MaxValueDepth bounds lists and objects nested in an argument's
	// literal or in a variable's JSON value.
	MaxValueDepth int
	// MaxValueElements bounds the items of all list and object literals
	// in the document together.
	MaxValueElements int
	// MaxVarElements bounds the values, at any depth, of all variables.
	MaxVarElements int
	// MaxStringLength is the most characters (Unicode code points) of any
	// string an operation is given, in a String or ID argument, an input
	// object's field, a list or anywhere inside a JSON value, as a
	// literal or through a variable; Builder.MaxLength sets another bound
	// for one argument.
	MaxStringLength int
}

const (
	DefaultMaxDepth      = 12
	DefaultMaxComplexity = 5000
	DefaultMaxBytes      = 100 << 10

	// introspectionListNesting mirrors graphql-js's MaxIntrospectionDepthRule:
	// `__type { fields { type { fields { type { fields ... } } } } }` grows
	// with the schema at every level while costing the client a few bytes.
	introspectionListNesting = 3

	// complexityCeiling keeps the saturating arithmetic far from overflow.
	complexityCeiling = math.MaxInt32
)

// DefaultLimits returns the limits used when HandlerOptions.Limits is zero.
func DefaultLimits() Limits {
	return Limits{}.withDefaults()
}

func (l Limits) withDefaults() Limits {
	if l.MaxDepth == 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxComplexity == 0 {
		l.MaxComplexity = DefaultMaxComplexity
	}
	if l.MaxBytes == 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	for _, d := range []struct {
		v   *int
		def int
	}{
		{&l.MaxNesting, DefaultMaxNesting}, {&l.MaxTokens, DefaultMaxTokens}, {&l.MaxOperations, DefaultMaxOperations},
		{&l.MaxFragments, DefaultMaxFragments}, {&l.MaxSpreads, DefaultMaxSpreads}, {&l.MaxFields, DefaultMaxFields},
		{&l.MaxDirectives, DefaultMaxDirectives}, {&l.MaxSameName, DefaultMaxSameName}, {&l.MaxValueDepth, DefaultMaxValueDepth},
		{&l.MaxVarElements, DefaultMaxVarElements}, {&l.MaxStringLength, DefaultMaxStringLength},
		{&l.MaxValueElements, DefaultMaxValueElements},
	} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	return l
}

// CheckSize rejects query text longer than MaxBytes; it runs before parsing
// so an oversized document costs no parser time.
func (l Limits) CheckSize(query string) *Error {
	l = l.withDefaults()
	if l.MaxBytes > 0 && len(query) > l.MaxBytes {
		return &Error{
			Code:    BadUserInput,
			Message: fmt.Sprintf("查询文本过大：%d 字节，上限 %d 字节 (query text is %d bytes; the maximum is %d bytes)", len(query), l.MaxBytes, len(query), l.MaxBytes),
			Extra:   map[string]any{"limit": "maxBytes", "max": l.MaxBytes},
		}
	}
	return nil
}

// Check enforces depth and complexity on the operation that will run
// (operationName, or every operation when it is empty). variables supply
// `first: $n` values.
func (l Limits) Check(doc *ast.Document, operationName string, variables map[string]any) *Error {
	l = l.withDefaults()
	w := &walker{
		limits:    l,
		vars:      variables,
		fragments: map[string]*ast.FragmentDefinition{},
		visiting:  map[string]bool{},
	}
	// A document can spread fragments into each other exponentially
	// (A spreads B twice, B spreads C twice, ...); the walk stops at a step
	// budget proportional to the complexity limit instead of exploring it.
	w.stepsLeft = 10_000
	if l.MaxComplexity > 0 {
		w.stepsLeft += 4 * l.MaxComplexity
	} else {
		w.stepsLeft = 1_000_000
	}
	var ops []*ast.OperationDefinition
	for _, d := range doc.Definitions {
		switch d := d.(type) {
		case *ast.FragmentDefinition:
			if d.Name != nil {
				w.fragments[d.Name.Value] = d
			}
		case *ast.OperationDefinition:
			if operationName == "" || (d.Name != nil && d.Name.Value == operationName) {
				ops = append(ops, d)
			}
		}
	}
	for _, op := range ops {
		cost := w.selectionSet(op.SelectionSet, 0, false, 0)
		if w.err != nil {
			return w.err
		}
		if l.MaxComplexity > 0 && cost > l.MaxComplexity {
			return complexityError(l.MaxComplexity)
		}
	}
	return nil
}

func complexityError(max int) *Error {
	return &Error{
		Code:    BadUserInput,
		Message: fmt.Sprintf("查询过于复杂，超过复杂度上限 %d (query complexity exceeds the maximum of %d: select fewer fields or request smaller pages with `first`)", max, max),
		Extra:   map[string]any{"limit": "maxComplexity", "max": max},
	}
}

type walker struct {
	limits    Limits
	vars      map[string]any
	fragments map[string]*ast.FragmentDefinition
	visiting  map[string]bool
	stepsLeft int
	err       *Error
}

// selectionSet returns the cost of a selection set whose fields sit at
// depth+1. intro is set inside __schema/__type, where listNesting counts
// nested fields/interfaces/possibleTypes/inputFields.
func (w *walker) selectionSet(ss *ast.SelectionSet, depth int, intro bool, listNesting int) int {
	if ss == nil || w.err != nil {
		return 0
	}
	total := 0
	for _, sel := range ss.Selections {
		if w.err != nil {
			return total
		}
		w.stepsLeft--
		if w.stepsLeft < 0 {
			w.err = complexityError(w.limits.MaxComplexity)
			return total
		}
		switch sel := sel.(type) {
		case *ast.Field:
			total = addSat(total, w.field(sel, depth, intro, listNesting))
		case *ast.InlineFragment:
			total = addSat(total, w.selectionSet(sel.SelectionSet, depth, intro, listNesting))
		case *ast.FragmentSpread:
			if sel.Name == nil {
				continue
			}
			name := sel.Name.Value
			frag := w.fragments[name]
			// Unknown fragments and cycles are left to validation, which
			// reports them with locations.
			if frag == nil || w.visiting[name] {
				continue
			}
			w.visiting[name] = true
			total = addSat(total, w.selectionSet(frag.SelectionSet, depth, intro, listNesting))
			delete(w.visiting, name)
		}
		if w.limits.MaxComplexity > 0 && total > w.limits.MaxComplexity {
			w.err = complexityError(w.limits.MaxComplexity)
			return total
		}
	}
	return total
}

func (w *walker) field(f *ast.Field, depth int, intro bool, listNesting int) int {
	name := ""
	if f.Name != nil {
		name = f.Name.Value
	}
	if depth == 0 && (name == "__schema" || name == "__type") {
		intro = true
	}
	depth++
	if !intro && w.limits.MaxDepth > 0 && depth > w.limits.MaxDepth {
		w.err = &Error{
			Code:    BadUserInput,
			Message: fmt.Sprintf("查询嵌套过深，超过深度上限 %d (query is nested deeper than the maximum depth of %d)", w.limits.MaxDepth, w.limits.MaxDepth),
			Extra:   map[string]any{"limit": "maxDepth", "max": w.limits.MaxDepth},
		}
		return 0
	}
	if intro {
		switch name {
		case "fields", "interfaces", "possibleTypes", "inputFields":
			listNesting++
			if listNesting >= introspectionListNesting {
				w.err = &Error{
					Code:    BadUserInput,
					Message: "内省查询嵌套过深 (introspection query nests fields, interfaces, possibleTypes or inputFields too deeply)",
					Extra:   map[string]any{"limit": "introspectionDepth"},
				}
				return 0
			}
		}
	}
	if f.SelectionSet == nil {
		return 1
	}
	return addSat(1, mulSat(w.pageSize(f), w.selectionSet(f.SelectionSet, depth, intro, listNesting)))
}

// pageSize is the multiplier for a paginated field: the `first` or `last`
// argument, literal or variable; 1 when absent or not a positive number.
func (w *walker) pageSize(f *ast.Field) int {
	n := 1
	for _, a := range f.Arguments {
		if a == nil || a.Name == nil || (a.Name.Value != "first" && a.Name.Value != "last") {
			continue
		}
		if v, ok := w.intValue(a.Value); ok && v > n {
			n = v
		}
	}
	return n
}

func (w *walker) intValue(v ast.Value) (int, bool) {
	switch v := v.(type) {
	case *ast.IntValue:
		var n int
		if _, err := fmt.Sscan(v.Value, &n); err != nil {
			// Too large for int: certainly over any limit.
			return complexityCeiling, true
		}
		return min(n, complexityCeiling), true
	case *ast.Variable:
		if v.Name == nil {
			return 0, false
		}
		switch x := w.vars[v.Name.Value].(type) {
		case float64:
			return int(math.Min(x, complexityCeiling)), true
		case int:
			return min(x, complexityCeiling), true
		case int64:
			return int(min(x, complexityCeiling)), true
		}
	}
	return 0, false
}

func addSat(a, b int) int { return min(a+b, complexityCeiling) }

func mulSat(a, b int) int {
	if a == 0 || b == 0 {
		return 0
	}
	if a > complexityCeiling/b {
		return complexityCeiling
	}
	return a * b
}
