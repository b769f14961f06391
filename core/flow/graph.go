package flow

import (
	"fmt"
	"strings"
)

// Mermaid renders the flow as a Mermaid state diagram, with Chinese labels,
// for documentation and review of a flow change.
func (f *Flow) Mermaid() string {
	var b strings.Builder
	b.WriteString("stateDiagram-v2\n")
	for _, s := range f.States {
		fmt.Fprintf(&b, "    %s: %s\n", s.Name, s.Label)
	}
	for _, a := range f.Actions {
		if len(a.From) == 0 {
			fmt.Fprintf(&b, "    [*] --> %s: %s\n", a.To.Name, a.Label)
		}
		for _, from := range a.From {
			fmt.Fprintf(&b, "    %s --> %s: %s\n", from.Name, a.Target(from.Name), a.Label)
		}
	}
	for _, s := range f.States {
		if s.Category == CategoryClosed {
			fmt.Fprintf(&b, "    %s --> [*]\n", s.Name)
		}
	}
	return b.String()
}

// DOT renders the flow for Graphviz.
func (f *Flow) DOT() string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %q {\n    rankdir=LR;\n    node [shape=box, style=rounded];\n", f.Name)
	for _, s := range f.States {
		shape := ""
		if s.Category == CategoryClosed {
			shape = ", peripheries=2"
		}
		fmt.Fprintf(&b, "    %q [label=%q%s];\n", s.Name, s.Label, shape)
	}
	for _, a := range f.Actions {
		if len(a.From) == 0 {
			fmt.Fprintf(&b, "    %q [shape=point];\n    %q -> %q [label=%q];\n", "start_"+a.Name, "start_"+a.Name, a.To.Name, a.Label)
		}
		for _, from := range a.From {
			fmt.Fprintf(&b, "    %q -> %q [label=%q];\n", from.Name, a.Target(from.Name), a.Label)
		}
	}
	b.WriteString("}\n")
	return b.String()
}
