package form

import (
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/hotline12345/hotline/core/rules"
)

// refs are the fields an expression reads: values.x, values["x"] and
// 'x' in values name x; any other use of values (len(values), a key
// computed at run time) may read every field.
type refs struct {
	fields []string
	all    bool
}

// fieldRefs finds the fields src reads. An expression that does not parse
// reads everything (it has already been reported by the compile).
func fieldRefs(src string) refs {
	tree, err := parser.Parse(src)
	if err != nil {
		return refs{all: true}
	}
	v := &refVisitor{}
	ast.Walk(&tree.Node, v)
	return refs{fields: v.fields, all: v.uses > v.named}
}

type refVisitor struct {
	fields []string
	uses   int // identifiers "values"
	named  int // of them, those in values.x, values["x"] or 'x' in values
}

func isValues(n ast.Node) bool {
	id, ok := n.(*ast.IdentifierNode)
	return ok && id.Value == "values"
}

func (v *refVisitor) Visit(n *ast.Node) {
	switch x := (*n).(type) {
	case *ast.IdentifierNode:
		if x.Value == "values" {
			v.uses++
		}
	case *ast.MemberNode:
		if s, ok := x.Property.(*ast.StringNode); ok && isValues(x.Node) {
			v.named++
			v.fields = append(v.fields, s.Value)
		}
	case *ast.BinaryNode:
		if s, ok := x.Left.(*ast.StringNode); ok && x.Operator == "in" && isValues(x.Right) {
			v.named++
			v.fields = append(v.fields, s.Value)
		}
	}
}

// dependsOn reports whether e reads any of the fields in unknown, so
// that it cannot be judged until they are fixed.
func (f *Form) dependsOn(e rules.Expr, unknown map[string]bool) bool {
	if len(unknown) == 0 {
		return false
	}
	r, ok := f.refs[e.Pos]
	if !ok {
		r = fieldRefs(e.Source)
	}
	if r.all {
		return true
	}
	for _, name := range r.fields {
		if unknown[name] {
			return true
		}
	}
	return false
}
