package gql

import (
	"fmt"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
	"weak"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/language/ast"
)

// DefaultMaxStringLength is the most characters of any string input
// unless Builder.MaxLength says otherwise for its argument: far more than
// a name, a phone number, a search or a form's longest text field holds,
// far less than what makes a search, a hash or a query plan expensive.
const DefaultMaxStringLength = 10_000

// coordinatePattern is a schema coordinate of an argument, as the GraphQL
// schema coordinates proposal writes it: Type.field(argument:).
var coordinatePattern = regexp.MustCompile(`^([_A-Za-z][_0-9A-Za-z]*)\.([_A-Za-z][_0-9A-Za-z]*)\(([_A-Za-z][_0-9A-Za-z]*):\)$`)

// MaxLength sets the most characters (Unicode code points) of every
// string given to one argument, named by its schema coordinate such as
// "Query.searchTickets(query:)": the argument itself when it is a String
// or ID, and every string inside it when it is a list, an input object or
// a JSON value (object keys included). Below the default it is a
// module's tighter bound (a search); above, room for a long text (a
// configuration document). Build reports a coordinate that names no
// argument of the schema. The handler refuses a longer string with
// BAD_USER_INPUT and extensions.field naming the argument's path (such as
// "input.body") before any resolver runs.
func (b *Builder) MaxLength(coordinate string, max int) {
	if !coordinatePattern.MatchString(coordinate) {
		b.errs = append(b.errs, fmt.Errorf("module %q: MaxLength %q: not a schema coordinate of an argument (Type.field(argument:))", b.current, coordinate))
		return
	}
	if max <= 0 {
		b.errs = append(b.errs, fmt.Errorf("module %q: MaxLength %q: the bound must be positive, not %d", b.current, coordinate, max))
		return
	}
	if b.lengths == nil {
		b.lengths = map[string]int{}
	}
	if _, dup := b.lengths[coordinate]; dup {
		b.errs = append(b.errs, fmt.Errorf("module %q: MaxLength %q is set twice", b.current, coordinate))
		return
	}
	b.lengths[coordinate] = max
}

// checkLengths verifies that every coordinate names an argument of s.
func checkLengths(s graphql.Schema, lengths map[string]int) error {
	var errs []string
	for c := range lengths {
		m := coordinatePattern.FindStringSubmatch(c)
		fields := fieldsOfType(s.Type(m[1]))
		fd := fields[m[2]]
		if fd == nil || argument(fd, m[3]) == nil {
			errs = append(errs, c)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("MaxLength names arguments the schema does not have: %s", strings.Join(errs, ", "))
	}
	return nil
}

func fieldsOfType(t graphql.Type) graphql.FieldDefinitionMap {
	switch t := t.(type) {
	case *graphql.Object:
		if t != nil {
			return t.Fields()
		}
	case *graphql.Interface:
		if t != nil {
			return t.Fields()
		}
	}
	return nil
}

func argument(fd *graphql.FieldDefinition, name string) *graphql.Argument {
	for _, a := range fd.Args {
		if a.Name() == name {
			return a
		}
	}
	return nil
}

// The bounds Build collected, by schema. graphql.Schema carries no place
// for them and the server builds it through Build alone, so they are kept
// here, keyed weakly by the schema's Query type (unique to each Build)
// and dropped when that schema is collected: the server builds a new
// schema each time the configuration changes.
var schemaLengths sync.Map // weak.Pointer[graphql.Object] → map[string]int

func registerLengths(s graphql.Schema, lengths map[string]int) {
	q := s.QueryType()
	if q == nil || len(lengths) == 0 {
		return
	}
	key := weak.Make(q)
	schemaLengths.Store(key, lengths)
	runtime.AddCleanup(q, func(k weak.Pointer[graphql.Object]) { schemaLengths.Delete(k) }, key)
}

func lengthsOf(s graphql.Schema) map[string]int {
	q := s.QueryType()
	if q == nil {
		return nil
	}
	if v, ok := schemaLengths.Load(weak.Make(q)); ok {
		return v.(map[string]int)
	}
	return nil
}

// stringChecker bounds every string an operation's arguments receive,
// literal or variable, by the argument's bound or the default. It runs on
// a validated document, so every field and argument it meets exists.
type stringChecker struct {
	schema    *graphql.Schema
	lengths   map[string]int
	def       int
	vars      map[string]any
	defaults  map[string]ast.Value // variables' default values
	fragments map[string]*ast.FragmentDefinition
	seen      map[string]bool
}

// checkStrings applies the string bounds to the operation(s) that will run.
func (h *handler) checkStrings(doc *ast.Document, operationName string, vars map[string]any) *Error {
	c := &stringChecker{schema: &h.schema, lengths: h.lengths, def: h.opts.Limits.MaxStringLength, vars: vars,
		fragments: map[string]*ast.FragmentDefinition{}, seen: map[string]bool{}}
	var ops []*ast.OperationDefinition
	for _, d := range doc.Definitions {
		switch d := d.(type) {
		case *ast.FragmentDefinition:
			c.fragments[d.Name.Value] = d
		case *ast.OperationDefinition:
			if operationName == "" || (d.Name != nil && d.Name.Value == operationName) {
				ops = append(ops, d)
			}
		}
	}
	for _, op := range ops {
		var root *graphql.Object
		switch op.Operation {
		case ast.OperationTypeMutation:
			root = h.schema.MutationType()
		case ast.OperationTypeSubscription:
			root = h.schema.SubscriptionType()
		default:
			root = h.schema.QueryType()
		}
		if root == nil {
			// The schema has no such root; execution reports it.
			continue
		}
		c.defaults = map[string]ast.Value{}
		for _, vd := range op.VariableDefinitions {
			if vd != nil && vd.Variable != nil && vd.Variable.Name != nil && vd.DefaultValue != nil {
				c.defaults[vd.Variable.Name.Value] = vd.DefaultValue
			}
		}
		// Fragments are checked once per operation: its variables decide
		// what their arguments hold.
		c.seen = map[string]bool{}
		if err := c.selections(root, op.SelectionSet); err != nil {
			return err
		}
	}
	return nil
}

// selections walks a selection set whose fields belong to parent. The
// recursion follows the document's nesting, which the gate bounds.
func (c *stringChecker) selections(parent graphql.Type, ss *ast.SelectionSet) *Error {
	if ss == nil || parent == nil {
		return nil
	}
	for _, sel := range ss.Selections {
		switch sel := sel.(type) {
		case *ast.Field:
			if err := c.field(parent, sel); err != nil {
				return err
			}
		case *ast.InlineFragment:
			t := parent
			if sel.TypeCondition != nil && sel.TypeCondition.Name != nil {
				t = c.schema.Type(sel.TypeCondition.Name.Value)
			}
			if err := c.selections(t, sel.SelectionSet); err != nil {
				return err
			}
		case *ast.FragmentSpread:
			f := c.fragments[sel.Name.Value]
			if f == nil || c.seen[sel.Name.Value] {
				continue
			}
			c.seen[sel.Name.Value] = true
			if err := c.selections(c.schema.Type(f.TypeCondition.Name.Value), f.SelectionSet); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *stringChecker) field(parent graphql.Type, f *ast.Field) *Error {
	fields := fieldsOfType(parent)
	if f.Name == nil || fields == nil {
		return nil
	}
	name := f.Name.Value
	var fd *graphql.FieldDefinition
	switch name {
	case "__schema":
		fd = graphql.SchemaMetaFieldDef
	case "__type":
		fd = graphql.TypeMetaFieldDef
	case "__typename":
		return nil
	default:
		fd = fields[name]
	}
	if fd == nil {
		return nil
	}
	for _, a := range f.Arguments {
		if a == nil || a.Name == nil {
			continue
		}
		def := argument(fd, a.Name.Value)
		if def == nil {
			continue
		}
		max := c.def
		if n, ok := c.lengths[parent.Name()+"."+name+"("+a.Name.Value+":)"]; ok {
			max = n
		}
		if err := c.literal(a.Value, def.Type, &argPath{key: a.Name.Value}, max); err != nil {
			return err
		}
	}
	named, _ := graphql.GetNamed(fd.Type).(graphql.Type)
	return c.selections(named, f.SelectionSet)
}

// argPath is where a string sits inside an argument, built into text only
// for an error.
type argPath struct {
	parent *argPath
	key    string
	index  int // when key is ""
}

func (p *argPath) String() string {
	var parts []*argPath
	for q := p; q != nil; q = q.parent {
		parts = append(parts, q)
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		q := parts[i]
		if q.key == "" {
			b.WriteString("[" + strconv.Itoa(q.index) + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(q.key)
	}
	return b.String()
}

func unwrapNonNull(t graphql.Input) graphql.Input {
	if nn, ok := t.(*graphql.NonNull); ok {
		return nn.OfType
	}
	return t
}

// literal checks an argument's value as written in the document.
func (c *stringChecker) literal(v ast.Value, t graphql.Input, at *argPath, max int) *Error {
	t = unwrapNonNull(t)
	switch v := v.(type) {
	case *ast.Variable:
		if v.Name == nil {
			return nil
		}
		if x, ok := c.vars[v.Name.Value]; ok {
			return c.value(x, t, at, max)
		}
		if d, ok := c.defaults[v.Name.Value]; ok {
			return c.literal(d, t, at, max)
		}
	case *ast.StringValue:
		return checkString(v.Value, at, max)
	case *ast.ListValue:
		elem := t
		if l, ok := t.(*graphql.List); ok {
			elem = l.OfType
		}
		for i, item := range v.Values {
			if err := c.literal(item, elem, &argPath{parent: at, index: i}, max); err != nil {
				return err
			}
		}
	case *ast.ObjectValue:
		if l, ok := t.(*graphql.List); ok {
			return c.literal(v, l.OfType, at, max)
		}
		io, isInput := t.(*graphql.InputObject)
		for _, f := range v.Fields {
			if f == nil || f.Name == nil {
				continue
			}
			at := &argPath{parent: at, key: f.Name.Value}
			ft := t
			if isInput {
				fd := io.Fields()[f.Name.Value]
				if fd == nil {
					continue
				}
				ft = fd.Type
			} else if err := checkString(f.Name.Value, at, max); err != nil {
				return err
			}
			if err := c.literal(f.Value, ft, at, max); err != nil {
				return err
			}
		}
	}
	return nil
}

// value checks a variable's decoded JSON value given to type t.
func (c *stringChecker) value(x any, t graphql.Input, at *argPath, max int) *Error {
	t = unwrapNonNull(t)
	switch t := t.(type) {
	case *graphql.List:
		if l, ok := x.([]any); ok {
			for i, item := range l {
				if err := c.value(item, t.OfType, &argPath{parent: at, index: i}, max); err != nil {
					return err
				}
			}
			return nil
		}
		return c.value(x, t.OfType, at, max)
	case *graphql.InputObject:
		m, ok := x.(map[string]any)
		if !ok {
			return nil
		}
		fields := t.Fields()
		for k, item := range m {
			if fd := fields[k]; fd != nil {
				if err := c.value(item, fd.Type, &argPath{parent: at, key: k}, max); err != nil {
					return err
				}
			}
		}
		return nil
	case *graphql.Enum:
		return nil
	}
	return anyStrings(x, at, max)
}

// anyStrings checks every string and object key inside a scalar's value
// (a JSON value holds any structure; the gate has bounded its depth and
// size), iteratively.
func anyStrings(x any, at *argPath, max int) *Error {
	type item struct {
		x  any
		at *argPath
	}
	stack := []item{{x, at}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch v := it.x.(type) {
		case string:
			if err := checkString(v, it.at, max); err != nil {
				return err
			}
		case []any:
			for i, e := range v {
				stack = append(stack, item{e, &argPath{parent: it.at, index: i}})
			}
		case map[string]any:
			for k, e := range v {
				p := &argPath{parent: it.at, key: k}
				if err := checkString(k, p, max); err != nil {
					return err
				}
				stack = append(stack, item{e, p})
			}
		}
	}
	return nil
}

// checkString refuses a string longer than max characters, or holding
// NUL, which PostgreSQL cannot store in text and would answer with an
// error instead of a result.
func checkString(s string, at *argPath, max int) *Error {
	if strings.IndexByte(s, 0) >= 0 {
		field := at.String()
		return &Error{Code: BadUserInput, Field: field, Extra: map[string]any{"limit": "nul"},
			Message: fmt.Sprintf("%s 不能包含 NUL 字符 (%s must not contain NUL characters)", field, field)}
	}
	if max > 0 && len(s) > max {
		if n := utf8.RuneCountInString(s); n > max {
			field := at.String()
			return &Error{Code: BadUserInput, Field: field, Extra: map[string]any{"limit": "maxLength", "max": max},
				Message: fmt.Sprintf("%s 过长：%d 个字符，最多 %d 个 (%s is %d characters long; the maximum is %d)", field, n, max, field, n, max)}
		}
	}
	return nil
}
