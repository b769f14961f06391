package registry

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hotline12345/hotline/core/diag"
)

// NodeDecoder is implemented by configuration value types that decode
// themselves from YAML, such as references and expressions that must keep
// their position for later diagnostics.
type NodeDecoder interface {
	DecodeNode(n *yaml.Node, pos diag.Pos) error
}

// KeyNamespace is implemented by a model type whose keys are the entries of
// a registry namespace (a flow effect's keys are the effects), so that an
// unknown key is reported as an unknown entry of that namespace, with the
// registered names as suggestions.
type KeyNamespace interface {
	KeyNamespace() string
}

var (
	nodeDecoderType = reflect.TypeOf((*NodeDecoder)(nil)).Elem()
	posType         = reflect.TypeOf(diag.Pos{})
	durationType    = reflect.TypeOf(time.Duration(0))
	yamlNodeType    = reflect.TypeOf(yaml.Node{})
)

// decoder turns a YAML node into a typed model, reporting every problem with
// its position instead of stopping at the first, so that one lint run shows
// an administrator everything to fix.
type decoder struct {
	file  string
	diags *diag.List
	skip  map[string]bool // keys handled by the loader (kind)
}

func (d *decoder) pos(n *yaml.Node) diag.Pos {
	return diag.Pos{File: d.file, Line: n.Line, Col: n.Column}
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.diags.Addf(d.pos(n), format, args...)
}

// Decode fills v (a non-nil pointer) from n. It is exported for kinds whose
// models hold free-form parts decoded later (for example per-kind payloads).
func Decode(file string, n *yaml.Node, v any) diag.List {
	var diags diag.List
	d := &decoder{file: file, diags: &diags}
	d.decode(n, reflect.ValueOf(v).Elem(), "")
	return diags
}

// Describe names what a YAML node is, for messages: "a mapping", "a list",
// a quoted value.
func Describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing (null)"
		}
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "an unknown node"
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, field string) {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if v.CanAddr() && v.Addr().Type().Implements(nodeDecoderType) {
		if err := v.Addr().Interface().(NodeDecoder).DecodeNode(n, d.pos(n)); err != nil {
			d.errorf(n, "%s%v", fieldPrefix(field), err)
		}
		return
	}
	if v.Type() == yamlNodeType {
		v.Set(reflect.ValueOf(*n))
		return
	}
	if v.Type() == durationType {
		s := strings.TrimSpace(n.Value)
		dur, err := time.ParseDuration(s)
		if n.Kind != yaml.ScalarNode || err != nil {
			d.errorf(n, "%sexpected a duration such as 30s, 5m or 2h, got %s", fieldPrefix(field), Describe(n))
			return
		}
		v.SetInt(int64(dur))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if n.Tag == "!!null" {
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), field)
	case reflect.Struct:
		d.decodeStruct(n, v, field)
	case reflect.Slice:
		if n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, "%sexpected a list, got %s", fieldPrefix(field), Describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", field, i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.MappingNode {
			d.errorf(n, "%sexpected a mapping, got %s", fieldPrefix(field), Describe(n))
			return
		}
		if v.Type().Key().Kind() != reflect.String {
			panic("registry: map keys must be strings in configuration models")
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if m.MapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key())).IsValid() {
				d.errorf(k, "%sduplicate key %q", fieldPrefix(field), k.Value)
				continue
			}
			elem := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, elem, joinField(field, k.Value))
			m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), elem)
		}
		v.Set(m)
	case reflect.Interface:
		var out any
		if err := n.Decode(&out); err != nil {
			d.errorf(n, "%s%v", fieldPrefix(field), err)
			return
		}
		if out != nil {
			v.Set(reflect.ValueOf(normalize(out)))
		}
	default:
		d.decodeScalar(n, v, field)
	}
}

// normalize converts what yaml.v3 produces for free-form values into the
// JSON-like shapes (map[string]any, []any, int64, float64) used everywhere
// else, so rules and scripts see the same values whatever their source.
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = normalize(e)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[fmt.Sprint(k)] = normalize(e)
		}
		return m
	case []any:
		for i, e := range t {
			t[i] = normalize(e)
		}
		return t
	case int:
		return int64(t)
	}
	return v
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, field string) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "%sexpected %s, got %s", fieldPrefix(field), kindWord(v.Kind()), Describe(n))
		return
	}
	if n.Tag == "!!null" {
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value)
	case reflect.Bool:
		b, err := strconv.ParseBool(n.Value)
		if n.Tag != "!!bool" || err != nil {
			d.errorf(n, "%sexpected true or false, got %s", fieldPrefix(field), Describe(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil || v.OverflowInt(i) {
			d.errorf(n, "%sexpected a whole number, got %s", fieldPrefix(field), Describe(n))
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		i, err := strconv.ParseUint(n.Value, 0, 64)
		if err != nil || v.OverflowUint(i) {
			d.errorf(n, "%sexpected a non-negative whole number, got %s", fieldPrefix(field), Describe(n))
			return
		}
		v.SetUint(i)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil || math.IsNaN(f) {
			d.errorf(n, "%sexpected a number, got %s", fieldPrefix(field), Describe(n))
			return
		}
		v.SetFloat(f)
	default:
		panic(fmt.Sprintf("registry: unsupported model field type %s", v.Type()))
	}
}

func kindWord(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "text"
	case reflect.Bool:
		return "true or false"
	case reflect.Float32, reflect.Float64:
		return "a number"
	default:
		return "a whole number"
	}
}

type fieldInfo struct {
	name     string
	index    []int
	required bool
}

// structFields lists the YAML keys of a model type, following inline
// embeddings, so unknown keys can be reported with a suggestion.
func structFields(t reflect.Type) ([]fieldInfo, []int) {
	var fields []fieldInfo
	var posIndex []int
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if f.Type == posType && (tag == "-" || tag == "") {
			posIndex = []int{i}
			continue
		}
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(opts, "inline") {
			inner, _ := structFields(f.Type)
			for _, in := range inner {
				in.index = append([]int{i}, in.index...)
				fields = append(fields, in)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		required := false
		for _, o := range strings.Split(f.Tag.Get("jsonschema"), ",") {
			if o == "required" {
				required = true
			}
		}
		fields = append(fields, fieldInfo{name: name, index: []int{i}, required: required})
	}
	return fields, posIndex
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, field string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%sexpected a mapping, got %s", fieldPrefix(field), Describe(n))
		return
	}
	fields, posIndex := structFields(v.Type())
	if posIndex != nil {
		v.FieldByIndex(posIndex).Set(reflect.ValueOf(d.pos(n)))
	}
	byName := make(map[string]fieldInfo, len(fields))
	for _, f := range fields {
		byName[f.name] = f
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if d.skip[k.Value] && field == "" {
			continue
		}
		if seen[k.Value] {
			d.errorf(k, "%sduplicate key %q", fieldPrefix(field), k.Value)
			continue
		}
		seen[k.Value] = true
		f, ok := byName[k.Value]
		if !ok {
			if kn, isKN := v.Interface().(KeyNamespace); isKN {
				ns := kn.KeyNamespace()
				d.errorf(k, "%sunknown %s %q%s", fieldPrefix(field), ns[strings.LastIndex(ns, ".")+1:], k.Value, Suggest(k.Value, Names(ns)))
				continue
			}
			d.errorf(k, "%sunknown key %q%s", fieldPrefix(field), k.Value, suggest(k.Value, fields))
			continue
		}
		d.decode(val, v.FieldByIndex(f.index), joinField(field, k.Value))
	}
	for _, f := range fields {
		if f.required && !seen[f.name] {
			d.errorf(n, "%smissing required key %q", fieldPrefix(field), f.name)
		}
	}
}

func fieldPrefix(field string) string {
	if field == "" {
		return ""
	}
	return field + ": "
}

func joinField(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// suggest names the closest known key, because most unknown keys in
// hand-written configuration are typos.
func suggest(key string, fields []fieldInfo) string { return suggestFrom(key, fields, "known keys") }

func suggestFrom(key string, fields []fieldInfo, known string) string {
	best, bestDist := "", 3
	names := make([]string, 0, len(fields))
	for _, f := range fields {
		names = append(names, f.name)
		if dist := levenshtein(key, f.name); dist < bestDist {
			best, bestDist = f.name, dist
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	sort.Strings(names)
	return fmt.Sprintf(" (%s: %s)", known, strings.Join(names, ", "))
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
