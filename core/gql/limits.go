package gql

import (
	"fmt"
	"math"

	"github.com/graphql-go/graphql"
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
	// MaxComplexity bounds the values a query can resolve: the fields
	// selected, with fragment spreads expanded, a field with a `first`
	// or `last` argument counting its sub-selection that many times (the
	// page size; DefaultPageSize when the argument is left out), and,
	// where the schema is known, any other list counting its items as
	// AssumedListLength. The default admits a page of MaxPageSize with
	// a couple of dozen fields per node and refuses lists inside such a
	// page, whose costs multiply.
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
	// MaxPageSize is the largest page a paginated field serves (`first`).
	MaxPageSize = 1000
	// DefaultPageSize is the page served when `first` is left out.
	DefaultPageSize = 50
	// AssumedListLength is what a list without `first` (a ticket's
	// events, its actions on offer) counts as in the complexity: such
	// lists are short, but a page of a thousand tickets multiplies them.
	AssumedListLength = 10

	DefaultMaxDepth = 12
	// DefaultMaxComplexity lets a maximum page carry 25 values per item:
	// edges and node, and some twenty fields.
	DefaultMaxComplexity = 25 * MaxPageSize
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
// `first: $n` values. Without the schema, only fields with `first` or
// `last` are known to be lists; CheckIn knows them all.
func (l Limits) Check(doc *ast.Document, operationName string, variables map[string]any) *Error {
	return l.CheckIn(nil, doc, operationName, variables)
}

// CheckIn is Check with the schema the document runs against, which says
// which fields are lists, which are paginated and their default page.
func (l Limits) CheckIn(schema *graphql.Schema, doc *ast.Document, operationName string, variables map[string]any) *Error {
	l = l.withDefaults()
	w := &walker{
		limits:    l,
		schema:    schema,
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
		cost := w.selectionSet(op.SelectionSet, w.rootType(op), 0, false, 0, false)
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
	schema    *graphql.Schema // nil: lists are known by first/last only
	vars      map[string]any
	fragments map[string]*ast.FragmentDefinition
	visiting  map[string]bool
	stepsLeft int
	err       *Error
}

// selectionSet returns the cost of a selection set on parent (nil when
// unknown) whose fields sit at depth+1. intro is set inside
// __schema/__type, where listNesting counts nested
// fields/interfaces/possibleTypes/inputFields. paged says the field
// around the set counted its page already, which covers the list of
// items it holds (a connection's edges).
func (w *walker) selectionSet(ss *ast.SelectionSet, parent graphql.Type, depth int, intro bool, listNesting int, paged bool) int {
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
			total = addSat(total, w.field(sel, parent, depth, intro, listNesting, paged))
		case *ast.InlineFragment:
			total = addSat(total, w.selectionSet(sel.SelectionSet, w.condition(sel.TypeCondition, parent), depth, intro, listNesting, paged))
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
			total = addSat(total, w.selectionSet(frag.SelectionSet, w.condition(frag.TypeCondition, parent), depth, intro, listNesting, paged))
			delete(w.visiting, name)
		}
		if w.limits.MaxComplexity > 0 && total > w.limits.MaxComplexity {
			w.err = complexityError(w.limits.MaxComplexity)
			return total
		}
	}
	return total
}

func (w *walker) field(f *ast.Field, parent graphql.Type, depth int, intro bool, listNesting int, paged bool) int {
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
	def := fieldOf(parent, name)
	n, page := w.pageSize(f, def)
	if !page && !intro && !paged && def != nil && isList(def.Type) {
		// Introspection is bounded by its own rule; its lists are the
		// schema's, not the data's.
		n = AssumedListLength
	}
	var child graphql.Type
	if def != nil {
		child, _ = graphql.GetNamed(def.Type).(graphql.Type)
	}
	return addSat(1, mulSat(n, w.selectionSet(f.SelectionSet, child, depth, intro, listNesting, page)))
}

// rootType is the type an operation's fields are selected on.
func (w *walker) rootType(op *ast.OperationDefinition) graphql.Type {
	if w.schema == nil {
		return nil
	}
	var t *graphql.Object
	switch op.Operation {
	case ast.OperationTypeMutation:
		t = w.schema.MutationType()
	case ast.OperationTypeSubscription:
		t = w.schema.SubscriptionType()
	default:
		t = w.schema.QueryType()
	}
	if t == nil {
		return nil
	}
	return t
}

// condition is the type a fragment selects on: its type condition, or
// the type around it.
func (w *walker) condition(cond *ast.Named, parent graphql.Type) graphql.Type {
	if w.schema == nil || cond == nil || cond.Name == nil {
		return parent
	}
	if t := w.schema.Type(cond.Name.Value); t != nil {
		return t
	}
	return nil
}

// fieldOf is the definition of the field name on t, nil when t has no
// fields or no such field (validation reports that).
func fieldOf(t graphql.Type, name string) *graphql.FieldDefinition {
	switch t := t.(type) {
	case *graphql.Object:
		if t == nil {
			return nil
		}
		return t.Fields()[name]
	case *graphql.Interface:
		if t == nil {
			return nil
		}
		return t.Fields()[name]
	}
	return nil
}

func isList(t graphql.Type) bool {
	if nn, ok := t.(*graphql.NonNull); ok {
		t = nn.OfType
	}
	_, ok := t.(*graphql.List)
	return ok
}

// pageSize is the multiplier for a paginated field, and whether the field
// is one: the `first` or `last` argument, literal or variable; where the
// schema defines such an argument and the query leaves it out, its
// default, or DefaultPageSize (what PageFrom serves). 1 and false for any
// other field.
func (w *walker) pageSize(f *ast.Field, def *graphql.FieldDefinition) (int, bool) {
	n, page := 1, false
	for _, a := range f.Arguments {
		if a == nil || a.Name == nil || (a.Name.Value != "first" && a.Name.Value != "last") {
			continue
		}
		if v, ok := w.intValue(a.Value); ok {
			page = true
			n = max(n, v)
		}
	}
	if page || def == nil {
		return n, page
	}
	for _, a := range def.Args {
		if a.Name() != "first" && a.Name() != "last" {
			continue
		}
		page = true
		if d, ok := a.DefaultValue.(int); ok && d > 0 {
			n = max(n, min(d, complexityCeiling))
		} else {
			n = max(n, DefaultPageSize)
		}
	}
	return n, page
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
