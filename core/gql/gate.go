package gql

import (
	"fmt"

	"github.com/graphql-go/graphql/language/ast"
)

// The document gate runs before graphql-go sees a request's text: a cheap
// lexical scan before its parser (which recurses once per bracket), then a
// walk of the parsed document before its validation. graphql-go v0.8.1
// overflows the stack on a fragment cycle inside validation
// (OverlappingFieldsCanBeMergedRule recurses before NoFragmentCyclesRule
// reports), and a Go stack overflow cannot be recovered, so cycles and
// undefined fragments must never reach ValidateDocument; the counts keep
// the validation rules, several of them quadratic in the fields sharing a
// response name, within a bounded time. Nothing here depends on the
// schema or on who is asking: it runs before authentication.

// Defaults of the gate's limits; see Limits.
const (
	DefaultMaxNesting    = 32
	DefaultMaxTokens     = 10_000
	DefaultMaxOperations = 20
	DefaultMaxFragments  = 100
	DefaultMaxSpreads    = 500
	DefaultMaxFields     = 1_000
	DefaultMaxDirectives = 200
	// DefaultMaxSameName bounds the fields sharing one response name in a
	// selection set, fragments included: validation compares each pair.
	DefaultMaxSameName    = 20
	DefaultMaxValueDepth  = 16
	DefaultMaxVarElements = 10_000
	// DefaultMaxValueElements bounds the items of list and object
	// literals in the document: validation prints both fields' arguments
	// for every pair of fields sharing a response name, so their size
	// multiplies with MaxSameName.
	DefaultMaxValueElements = 1_000
)

func limitError(limit string, max int, format string, args ...any) *Error {
	return &Error{Code: BadUserInput, Message: fmt.Sprintf(format, args...), Extra: map[string]any{"limit": limit, "max": max}}
}

// ScanText bounds the raw query text before it is parsed: the nesting of
// brackets ({ [ and (, which is what the parser recurses on) and the
// number of tokens. It reads each byte once and allocates nothing.
// Strings and comments are skipped as the GraphQL lexer would, so
// brackets inside them do not count; it only has to be no more lenient
// than the parser, which reports anything malformed afterwards.
func (l Limits) ScanText(query string) *Error {
	l = l.withDefaults()
	depth, tokens := 0, 0
	n := len(query)
	for i := 0; i < n; {
		c := query[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',':
			i++
			continue
		case c == '#':
			for i < n && query[i] != '\n' && query[i] != '\r' {
				i++
			}
			continue
		case c == '"':
			i = skipString(query, i)
		case c == '{' || c == '[' || c == '(':
			depth++
			if l.MaxNesting > 0 && depth > l.MaxNesting {
				return limitError("maxNesting", l.MaxNesting,
					"查询嵌套过深：括号超过 %d 层 (the query nests brackets deeper than %d levels)", l.MaxNesting, l.MaxNesting)
			}
			i++
		case c == '}' || c == ']' || c == ')':
			if depth > 0 {
				depth--
			}
			i++
		case isNameByte(c) || c == '-':
			for i++; i < n && (isNameByte(query[i]) || query[i] == '.' || query[i] == '+' || query[i] == '-'); i++ {
			}
		case c == '.' && i+2 < n && query[i+1] == '.' && query[i+2] == '.':
			i += 3
		default:
			i++
		}
		tokens++
		if l.MaxTokens > 0 && tokens > l.MaxTokens {
			return limitError("maxTokens", l.MaxTokens,
				"查询过长：超过 %d 个记号 (the query has more than %d tokens)", l.MaxTokens, l.MaxTokens)
		}
	}
	return nil
}

func isNameByte(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// skipString returns the index after the string starting at i: a block
// string """...""" (where \""" is an escaped delimiter) or a one-line
// string ending at an unescaped quote or the line's end.
func skipString(q string, i int) int {
	n := len(q)
	if i+2 < n && q[i+1] == '"' && q[i+2] == '"' {
		for j := i + 3; j < n; j++ {
			switch {
			case q[j] == '\\' && j+3 < n && q[j+1] == '"' && q[j+2] == '"' && q[j+3] == '"':
				j += 3
			case q[j] == '"' && j+2 < n && q[j+1] == '"' && q[j+2] == '"':
				return j + 3
			}
		}
		return n
	}
	for j := i + 1; j < n; j++ {
		switch q[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		case '\n', '\r':
			return j
		}
	}
	return n
}

// CheckShape refuses a parsed document that graphql-go's validation must
// not see: definitions other than operations and fragments, fragments
// defined twice, spreads of undefined fragments, fragment cycles (direct
// or through other fragments, inline fragments and nested selections),
// value literals nested deeper than MaxValueDepth, and more operations,
// fragments, spreads, fields, directives or same-named fields than the
// limits allow. The walk uses explicit stacks, never the Go stack.
func (l Limits) CheckShape(doc *ast.Document) *Error {
	l = l.withDefaults()
	s := shape{limits: l, fragments: map[string]*ast.FragmentDefinition{}, spreads: map[string][]string{}}
	var ops []*ast.OperationDefinition
	var frags []*ast.FragmentDefinition
	for _, d := range doc.Definitions {
		switch d := d.(type) {
		case *ast.OperationDefinition:
			ops = append(ops, d)
		case *ast.FragmentDefinition:
			if d.Name == nil {
				return Errorf(BadUserInput, "片段缺少名称 (a fragment has no name)")
			}
			if _, dup := s.fragments[d.Name.Value]; dup {
				return Errorf(BadUserInput, "片段 %q 重复定义 (there can be only one fragment named %q)", d.Name.Value, d.Name.Value)
			}
			s.fragments[d.Name.Value] = d
			frags = append(frags, d)
		default:
			return Errorf(BadUserInput, "查询只能包含操作和片段 (the document may hold only operations and fragments, not %s)", d.GetKind())
		}
	}
	if over(len(ops), l.MaxOperations) {
		return limitError("maxOperations", l.MaxOperations, "一个查询最多包含 %d 个操作 (the document has more than %d operations)", l.MaxOperations, l.MaxOperations)
	}
	if over(len(frags), l.MaxFragments) {
		return limitError("maxFragments", l.MaxFragments, "一个查询最多包含 %d 个片段 (the document has more than %d fragments)", l.MaxFragments, l.MaxFragments)
	}
	for _, op := range ops {
		for _, vd := range op.VariableDefinitions {
			if !wellFormedVariable(vd) {
				// graphql-go's parser accepts `query($a:) {...}`, and its
				// validation then dereferences the missing type.
				return Errorf(BadUserInput, "变量定义缺少名称或类型 (a variable definition lacks its name or type)")
			}
			if vd.DefaultValue != nil {
				if err := s.value(vd.DefaultValue); err != nil {
					return err
				}
			}
		}
		if err := s.directives(op.Directives); err != nil {
			return err
		}
		if err := s.selections("", op.SelectionSet); err != nil {
			return err
		}
	}
	for _, f := range frags {
		if err := s.directives(f.Directives); err != nil {
			return err
		}
		if err := s.selections(f.Name.Value, f.SelectionSet); err != nil {
			return err
		}
	}
	for _, targets := range s.spreads {
		for _, name := range targets {
			if s.fragments[name] == nil {
				return Errorf(BadUserInput, "未定义的片段 %q (unknown fragment %q)", name, name)
			}
		}
	}
	if name := s.cycle(frags); name != "" {
		return Errorf(BadUserInput, "片段 %q 直接或间接地展开了自身 (cannot spread fragment %q within itself)", name, name)
	}
	return s.sameNames(ops, frags)
}

func over(n, max int) bool { return max > 0 && n > max }

func wellFormedVariable(vd *ast.VariableDefinition) bool {
	if vd == nil || vd.Variable == nil || vd.Variable.Name == nil {
		return false
	}
	t := vd.Type
	for {
		switch x := t.(type) {
		case *ast.NonNull:
			if x == nil {
				return false
			}
			t = x.Type
		case *ast.List:
			if x == nil {
				return false
			}
			t = x.Type
		case *ast.Named:
			return x != nil && x.Name != nil
		default:
			return false
		}
	}
}

type shape struct {
	limits     Limits
	fragments  map[string]*ast.FragmentDefinition
	spreads    map[string][]string // fragment ("" for operations) → fragments it spreads
	fields     int
	spreadsN   int
	directiveN int
	elements   int // items of list and object literals
}

// selections counts what owner's selection set holds and records the
// fragments it spreads, at any depth.
func (s *shape) selections(owner string, root *ast.SelectionSet) *Error {
	stack := []*ast.SelectionSet{root}
	for len(stack) > 0 {
		ss := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if ss == nil {
			continue
		}
		for _, sel := range ss.Selections {
			switch sel := sel.(type) {
			case *ast.Field:
				s.fields++
				if over(s.fields, s.limits.MaxFields) {
					return limitError("maxFields", s.limits.MaxFields, "一个查询最多包含 %d 个字段 (the document selects more than %d fields)", s.limits.MaxFields, s.limits.MaxFields)
				}
				for _, a := range sel.Arguments {
					if a != nil && a.Value != nil {
						if err := s.value(a.Value); err != nil {
							return err
						}
					}
				}
				if err := s.directives(sel.Directives); err != nil {
					return err
				}
				stack = append(stack, sel.SelectionSet)
			case *ast.InlineFragment:
				if err := s.directives(sel.Directives); err != nil {
					return err
				}
				stack = append(stack, sel.SelectionSet)
			case *ast.FragmentSpread:
				s.spreadsN++
				if over(s.spreadsN, s.limits.MaxSpreads) {
					return limitError("maxSpreads", s.limits.MaxSpreads, "一个查询最多展开 %d 次片段 (the document has more than %d fragment spreads)", s.limits.MaxSpreads, s.limits.MaxSpreads)
				}
				if sel.Name == nil {
					return Errorf(BadUserInput, "片段展开缺少名称 (a fragment spread has no name)")
				}
				if err := s.directives(sel.Directives); err != nil {
					return err
				}
				s.spreads[owner] = append(s.spreads[owner], sel.Name.Value)
			}
		}
	}
	return nil
}

func (s *shape) directives(ds []*ast.Directive) *Error {
	for _, d := range ds {
		s.directiveN++
		if over(s.directiveN, s.limits.MaxDirectives) {
			return limitError("maxDirectives", s.limits.MaxDirectives, "一个查询最多使用 %d 个指令 (the document has more than %d directives)", s.limits.MaxDirectives, s.limits.MaxDirectives)
		}
		if d == nil {
			continue
		}
		for _, a := range d.Arguments {
			if a != nil && a.Value != nil {
				if err := s.value(a.Value); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// value bounds the nesting of a list or object literal.
func (s *shape) value(v ast.Value) *Error {
	type item struct {
		v     ast.Value
		depth int
	}
	max := s.limits.MaxValueDepth
	stack := []item{{v, 1}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if it.depth > 1 {
			s.elements++
			if over(s.elements, s.limits.MaxValueElements) {
				return limitError("maxValueElements", s.limits.MaxValueElements,
					"参数值过大：列表和对象共超过 %d 项 (argument values hold more than %d list items and object fields)", s.limits.MaxValueElements, s.limits.MaxValueElements)
			}
		}
		switch x := it.v.(type) {
		case *ast.ListValue:
			if over(it.depth, max) {
				return valueDepthError(max)
			}
			for _, e := range x.Values {
				stack = append(stack, item{e, it.depth + 1})
			}
		case *ast.ObjectValue:
			if over(it.depth, max) {
				return valueDepthError(max)
			}
			for _, f := range x.Fields {
				if f != nil {
					stack = append(stack, item{f.Value, it.depth + 1})
				}
			}
		}
	}
	return nil
}

func valueDepthError(max int) *Error {
	return limitError("maxValueDepth", max, "参数值嵌套过深：超过 %d 层 (an argument value nests lists or objects deeper than %d levels)", max, max)
}

// cycle returns the name of a fragment that spreads itself, directly or
// through others, or "". It is an iterative depth-first search with the
// usual three colours: a spread reaching a fragment still on the path is
// a cycle.
func (s *shape) cycle(frags []*ast.FragmentDefinition) string {
	const (
		white = iota
		grey
		black
	)
	colour := make(map[string]int, len(frags))
	type frame struct {
		name string
		next int
	}
	for _, f := range frags {
		start := f.Name.Value
		if colour[start] != white {
			continue
		}
		colour[start] = grey
		stack := []frame{{name: start}}
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			targets := s.spreads[top.name]
			if top.next >= len(targets) {
				colour[top.name] = black
				stack = stack[:len(stack)-1]
				continue
			}
			t := targets[top.next]
			top.next++
			switch colour[t] {
			case grey:
				return t
			case white:
				colour[t] = grey
				stack = append(stack, frame{name: t})
			}
		}
	}
	return ""
}

// sameNames bounds, for every selection set, the fields that share a
// response name once fragments are expanded, which is what validation
// compares pairwise. A fragment's counts are computed once (memoised; its
// spreads are known to be acyclic, so the recursion is at most as deep as
// there are fragments), which keeps the walk linear in the document, and
// counts saturate, so fragments spreading others many times over are
// caught rather than expanded.
func (s *shape) sameNames(ops []*ast.OperationDefinition, frags []*ast.FragmentDefinition) *Error {
	max := s.limits.MaxSameName
	if max <= 0 {
		return nil
	}
	memo := map[string]map[string]int{}
	var countSet func(ss *ast.SelectionSet) map[string]int
	countSet = func(ss *ast.SelectionSet) map[string]int {
		out := map[string]int{}
		stack := []*ast.SelectionSet{ss}
		for len(stack) > 0 {
			cur := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if cur == nil {
				continue
			}
			for _, sel := range cur.Selections {
				switch sel := sel.(type) {
				case *ast.Field:
					out[responseName(sel)]++
				case *ast.InlineFragment:
					stack = append(stack, sel.SelectionSet)
				case *ast.FragmentSpread:
					name := sel.Name.Value
					m, ok := memo[name]
					if !ok {
						m = countSet(s.fragments[name].SelectionSet)
						memo[name] = m
					}
					for k, n := range m {
						out[k] = addSat(out[k], n)
					}
				}
			}
		}
		return out
	}
	// The selection sets validation merges: each operation's, each
	// fragment's and each field's, inline fragments being part of the set
	// around them.
	var sets, walk []*ast.SelectionSet
	for _, op := range ops {
		walk = append(walk, op.SelectionSet)
		sets = append(sets, op.SelectionSet)
	}
	for _, f := range frags {
		walk = append(walk, f.SelectionSet)
		sets = append(sets, f.SelectionSet)
	}
	for len(walk) > 0 {
		ss := walk[len(walk)-1]
		walk = walk[:len(walk)-1]
		if ss == nil {
			continue
		}
		for _, sel := range ss.Selections {
			switch sel := sel.(type) {
			case *ast.Field:
				if sel.SelectionSet != nil {
					sets = append(sets, sel.SelectionSet)
					walk = append(walk, sel.SelectionSet)
				}
			case *ast.InlineFragment:
				walk = append(walk, sel.SelectionSet)
			}
		}
	}
	for _, ss := range sets {
		if ss == nil {
			continue
		}
		for name, n := range countSet(ss) {
			if n > max {
				return limitError("maxSameName", max,
					"同一层最多 %d 个名为 %q 的字段 (more than %d fields are named %q in one selection set)", max, name, max, name)
			}
		}
	}
	return nil
}

func responseName(f *ast.Field) string {
	if f.Alias != nil && f.Alias.Value != "" {
		return f.Alias.Value
	}
	if f.Name != nil {
		return f.Name.Value
	}
	return ""
}

// CheckVariables bounds the decoded variables before graphql-go coerces
// them: lists and objects nested at most MaxValueDepth deep and at most
// MaxVarElements values in all. The walk is iterative and stops at the
// first excess, so its cost is bounded by the limits, not by the input.
// (encoding/json has already refused nesting beyond 10,000 levels.)
func (l Limits) CheckVariables(vars map[string]any) *Error {
	l = l.withDefaults()
	type item struct {
		v     any
		depth int
		path  string // the variable's name
	}
	stack := make([]item, 0, len(vars))
	for name, v := range vars {
		stack = append(stack, item{v, 1, name})
	}
	elements := 0
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		elements++
		if over(elements, l.MaxVarElements) {
			return limitError("maxVariableElements", l.MaxVarElements,
				"变量过大：超过 %d 个值 (the variables hold more than %d values)", l.MaxVarElements, l.MaxVarElements)
		}
		switch x := it.v.(type) {
		case []any:
			if over(it.depth, l.MaxValueDepth) {
				return variableDepthError(it.path, l.MaxValueDepth)
			}
			for _, e := range x {
				stack = append(stack, item{e, it.depth + 1, it.path})
			}
		case map[string]any:
			if over(it.depth, l.MaxValueDepth) {
				return variableDepthError(it.path, l.MaxValueDepth)
			}
			for _, e := range x {
				stack = append(stack, item{e, it.depth + 1, it.path})
			}
		}
	}
	return nil
}

func variableDepthError(name string, max int) *Error {
	e := limitError("maxValueDepth", max, "变量 %s 嵌套过深：超过 %d 层 (variable %s nests lists or objects deeper than %d levels)", name, max, name, max)
	e.Field = name
	return e
}
