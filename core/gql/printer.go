package gql

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/graphql-go/graphql"
)

// PrintSchema renders s as SDL in the style of graphql-js's printSchema, so
// the file can be committed, diffed in review and fed to client code
// generators. graphql-go keeps fields and enum values in maps, so unlike
// graphql-js everything is sorted by name; the output is stable across runs.
func PrintSchema(s graphql.Schema) string {
	var parts []string
	if def := printSchemaDefinition(&s); def != "" {
		parts = append(parts, def)
	}

	builtinDirectives := map[string]bool{}
	for _, d := range graphql.SpecifiedDirectives {
		builtinDirectives[d.Name] = true
	}
	directives := append([]*graphql.Directive(nil), s.Directives()...)
	sort.Slice(directives, func(i, j int) bool { return directives[i].Name < directives[j].Name })
	for _, d := range directives {
		if !builtinDirectives[d.Name] {
			parts = append(parts, printDirective(d))
		}
	}

	typeMap := s.TypeMap()
	names := make([]string, 0, len(typeMap))
	for name := range typeMap {
		if strings.HasPrefix(name, "__") || builtinScalars[name] {
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if p := printType(typeMap[name]); p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "\n\n") + "\n"
}

var builtinScalars = map[string]bool{"String": true, "Int": true, "Float": true, "Boolean": true, "ID": true}

func printSchemaDefinition(s *graphql.Schema) string {
	q, m, sub := s.QueryType(), s.MutationType(), s.SubscriptionType()
	if (q == nil || q.Name() == "Query") && (m == nil || m.Name() == "Mutation") && (sub == nil || sub.Name() == "Subscription") {
		return ""
	}
	var b strings.Builder
	b.WriteString("schema {\n")
	if q != nil {
		fmt.Fprintf(&b, "  query: %s\n", q.Name())
	}
	if m != nil {
		fmt.Fprintf(&b, "  mutation: %s\n", m.Name())
	}
	if sub != nil {
		fmt.Fprintf(&b, "  subscription: %s\n", sub.Name())
	}
	b.WriteString("}")
	return b.String()
}

func printDirective(d *graphql.Directive) string {
	return printDescription(d.Description, "", true) + "directive @" + d.Name + printArgs(d.Args, "") + " on " + strings.Join(d.Locations, " | ")
}

func printType(t graphql.Type) string {
	switch t := t.(type) {
	case *graphql.Scalar:
		return printDescription(t.Description(), "", true) + "scalar " + t.Name()
	case *graphql.Object:
		return printDescription(t.Description(), "", true) + "type " + t.Name() + printImplements(t.Interfaces()) + printFields(t.Fields())
	case *graphql.Interface:
		return printDescription(t.Description(), "", true) + "interface " + t.Name() + printFields(t.Fields())
	case *graphql.Union:
		names := make([]string, 0, len(t.Types()))
		for _, o := range t.Types() {
			names = append(names, o.Name())
		}
		out := printDescription(t.Description(), "", true) + "union " + t.Name()
		if len(names) > 0 {
			out += " = " + strings.Join(names, " | ")
		}
		return out
	case *graphql.Enum:
		values := append([]*graphql.EnumValueDefinition(nil), t.Values()...)
		sort.Slice(values, func(i, j int) bool { return values[i].Name < values[j].Name })
		lines := make([]string, 0, len(values))
		for i, v := range values {
			lines = append(lines, printDescription(v.Description, "  ", i == 0)+"  "+v.Name+printDeprecated(v.DeprecationReason))
		}
		return printDescription(t.Description(), "", true) + "enum " + t.Name() + printBlock(lines)
	case *graphql.InputObject:
		fields := t.Fields()
		names := make([]string, 0, len(fields))
		for name := range fields {
			names = append(names, name)
		}
		sort.Strings(names)
		lines := make([]string, 0, len(names))
		for i, name := range names {
			f := fields[name]
			lines = append(lines, printDescription(f.Description(), "  ", i == 0)+"  "+printInputValue(name, f.Type, f.DefaultValue))
		}
		return printDescription(t.Description(), "", true) + "input " + t.Name() + printBlock(lines)
	}
	return ""
}

func printImplements(ifaces []*graphql.Interface) string {
	if len(ifaces) == 0 {
		return ""
	}
	names := make([]string, 0, len(ifaces))
	for _, i := range ifaces {
		names = append(names, i.Name())
	}
	return " implements " + strings.Join(names, " & ")
}

func printFields(fields graphql.FieldDefinitionMap) string {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	lines := make([]string, 0, len(names))
	for i, name := range names {
		f := fields[name]
		lines = append(lines, printDescription(f.Description, "  ", i == 0)+"  "+name+printArgs(f.Args, "  ")+": "+f.Type.String()+printDeprecated(f.DeprecationReason))
	}
	return printBlock(lines)
}

func printBlock(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return " {\n" + strings.Join(lines, "\n") + "\n}"
}

// printArgs sorts arguments by name: graphql-go builds them from a map, so
// their order in the slice changes from run to run.
func printArgs(args []*graphql.Argument, indent string) string {
	if len(args) == 0 {
		return ""
	}
	args = append([]*graphql.Argument(nil), args...)
	sort.Slice(args, func(i, j int) bool { return args[i].Name() < args[j].Name() })
	described := false
	for _, a := range args {
		if a.Description() != "" {
			described = true
		}
	}
	if !described {
		parts := make([]string, 0, len(args))
		for _, a := range args {
			parts = append(parts, printInputValue(a.Name(), a.Type, a.DefaultValue))
		}
		return "(" + strings.Join(parts, ", ") + ")"
	}
	lines := make([]string, 0, len(args))
	for i, a := range args {
		lines = append(lines, printDescription(a.Description(), "  "+indent, i == 0)+"  "+indent+printInputValue(a.Name(), a.Type, a.DefaultValue))
	}
	return "(\n" + strings.Join(lines, "\n") + "\n" + indent + ")"
}

func printInputValue(name string, t graphql.Input, def any) string {
	out := name + ": " + t.String()
	if def != nil {
		if lit, ok := valueLiteral(def, t); ok {
			out += " = " + lit
		}
	}
	return out
}

func printDeprecated(reason string) string {
	switch reason {
	case "":
		return ""
	case graphql.DefaultDeprecationReason:
		return " @deprecated"
	}
	return " @deprecated(reason: " + quoteString(reason) + ")"
}

// printDescription follows graphql-js: a block string, one line when short,
// and a blank line before a described member that is not the first.
func printDescription(desc, indent string, first bool) string {
	if desc == "" {
		return ""
	}
	var lit string
	if printableAsBlockString(desc) {
		lit = blockString(desc)
	} else {
		lit = quoteString(desc)
	}
	prefix := indent
	if indent != "" && !first {
		prefix = "\n" + indent
	}
	return prefix + strings.ReplaceAll(lit, "\n", "\n"+indent) + "\n"
}

func blockString(s string) string {
	escaped := strings.ReplaceAll(s, `"""`, `\"""`)
	lines := strings.Split(escaped, "\n")
	single := len(lines) == 1
	forceTrailingNewline := (strings.HasSuffix(s, `"`) && !strings.HasSuffix(escaped, `\"""`)) || strings.HasSuffix(s, `\`)
	multi := !single || utf8.RuneCountInString(s) > 70 || forceTrailingNewline || strings.HasSuffix(escaped, `\"""`)
	var b strings.Builder
	b.WriteString(`"""`)
	if multi && !(single && (s[0] == ' ' || s[0] == '\t')) {
		b.WriteByte('\n')
	}
	b.WriteString(escaped)
	if multi || forceTrailingNewline {
		b.WriteByte('\n')
	}
	b.WriteString(`"""`)
	return b.String()
}

// printableAsBlockString rejects text a block string cannot carry
// faithfully: control characters, \r, and leading or trailing blank lines
// (which block-string parsing strips).
func printableAsBlockString(s string) bool {
	for _, r := range s {
		if r == '\r' || (r < 0x20 && r != '\t' && r != '\n') || r == 0x7f {
			return false
		}
	}
	lines := strings.Split(s, "\n")
	return strings.TrimSpace(lines[0]) != "" && strings.TrimSpace(lines[len(lines)-1]) != ""
}

func quoteString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// valueLiteral prints a Go default value as a GraphQL literal of type t
// (graphql-js's astFromValue followed by print). Enums are printed by name,
// not by their internal Go value.
func valueLiteral(v any, t graphql.Input) (string, bool) {
	if v == nil {
		return "null", true
	}
	switch t := t.(type) {
	case *graphql.NonNull:
		in, ok := t.OfType.(graphql.Input)
		if !ok {
			return "", false
		}
		return valueLiteral(v, in)
	case *graphql.List:
		in, ok := t.OfType.(graphql.Input)
		if !ok {
			return "", false
		}
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
			return valueLiteral(v, in)
		}
		items := make([]string, 0, rv.Len())
		for i := range rv.Len() {
			item, ok := valueLiteral(rv.Index(i).Interface(), in)
			if !ok {
				return "", false
			}
			items = append(items, item)
		}
		return "[" + strings.Join(items, ", ") + "]", true
	case *graphql.InputObject:
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String {
			return "", false
		}
		fields := t.Fields()
		names := make([]string, 0, len(fields))
		for name := range fields {
			names = append(names, name)
		}
		sort.Strings(names)
		parts := make([]string, 0, len(names))
		for _, name := range names {
			fv := rv.MapIndex(reflect.ValueOf(name).Convert(rv.Type().Key()))
			if !fv.IsValid() {
				continue
			}
			lit, ok := valueLiteral(fv.Interface(), fields[name].Type)
			if !ok {
				return "", false
			}
			parts = append(parts, name+": "+lit)
		}
		return "{" + strings.Join(parts, ", ") + "}", true
	case *graphql.Enum:
		name, ok := t.Serialize(v).(string)
		if !ok {
			if s, isStr := v.(string); isStr {
				name, ok = s, true
			}
		}
		return name, ok
	case *graphql.Scalar:
		sv := t.Serialize(v)
		if sv == nil {
			return "", false
		}
		if t.Name() == "ID" {
			if s, ok := sv.(string); ok {
				if _, err := strconv.ParseInt(s, 10, 64); err == nil {
					return s, true
				}
			}
		}
		return anyLiteral(sv)
	}
	return "", false
}

// anyLiteral prints a serialized scalar (including JSON's objects and
// lists) as a GraphQL literal; map keys are sorted for stable output.
func anyLiteral(v any) (string, bool) {
	switch v := v.(type) {
	case nil:
		return "null", true
	case bool:
		return strconv.FormatBool(v), true
	case string:
		return quoteString(v), true
	case json.Number:
		return v.String(), true
	case float32:
		return formatFloat(float64(v))
	case float64:
		return formatFloat(v)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(rv.Uint(), 10), true
	case reflect.Slice, reflect.Array:
		items := make([]string, 0, rv.Len())
		for i := range rv.Len() {
			item, ok := anyLiteral(rv.Index(i).Interface())
			if !ok {
				return "", false
			}
			items = append(items, item)
		}
		return "[" + strings.Join(items, ", ") + "]", true
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return "", false
		}
		keys := make([]string, 0, rv.Len())
		for _, k := range rv.MapKeys() {
			// Object literal keys must be GraphQL names.
			if !validName.MatchString(k.String()) {
				return "", false
			}
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			item, ok := anyLiteral(rv.MapIndex(reflect.ValueOf(k).Convert(rv.Type().Key())).Interface())
			if !ok {
				return "", false
			}
			parts = append(parts, k+": "+item)
		}
		return "{" + strings.Join(parts, ", ") + "}", true
	}
	return "", false
}

func formatFloat(f float64) (string, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", false
	}
	if math.Abs(f) >= 1e21 {
		return strconv.FormatFloat(f, 'e', -1, 64), true
	}
	return strconv.FormatFloat(f, 'f', -1, 64), true
}
