package form

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/hotline12345/hotline/core/diag"
	"github.com/hotline12345/hotline/core/registry"
)

// KindDivision is the configuration kind of administrative divisions: the
// levels an address is picked in, from the top down (区县 → 街道 → 社区,
// or 旗 → 苏木 → 嘎查 → 网格). An address field names one with
// `division: NAME`; each level of an address holds the code of a unit of
// the organisation, each below the unit of the level above.
const KindDivision = "division"

func init() {
	registry.Register(registry.Kind{
		Name:        KindDivision,
		Description: "An administrative division: the ordered levels (key and label) an address field picks units in.",
		Dir:         "forms",
		New:         func() any { return &Division{} },
		Spec:        registry.Spec{Examples: divisionExamples},
	})
}

// Division is a `kind: division` document:
//
//	kind: division
//	name: admin
//	label: 行政区划
//	levels:
//	  - {key: district, label: 区县}
//	  - {key: street, label: 街道}
type Division struct {
	Name  string `yaml:"name" jsonschema:"required"`
	Label string `yaml:"label" jsonschema:"required"`
	// Levels from the top down; an address's value keeps each under its
	// key (address.district), which is also its facet and its GraphQL
	// input field.
	Levels []Level `yaml:"levels" jsonschema:"required"`
}

// Level is one level of a division.
type Level struct {
	Pos   diag.Pos `yaml:"-"`
	Key   string   `yaml:"key" json:"key" jsonschema:"required,pattern=^[a-z][a-z0-9_]*$"`
	Label string   `yaml:"label" json:"label" jsonschema:"required"`
	// Kinds narrows the units a form offers at this level to these unit
	// kinds (a district level lists districts, banners and counties, not
	// the city's bureaus); empty offers every unit under the level above.
	Kinds []string `yaml:"kinds" json:"kinds,omitempty" jsonschema:"description=the unit kinds offered at this level (all when empty)"`
}

// DetailKey is the part of an address the caller words (门牌、楼栋),
// after the division's levels.
const DetailKey = "detail"

var levelKey = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Provision checks the levels: at least one, each key well-formed and
// used once.
func (d *Division) Provision(c *registry.Context) {
	if len(d.Levels) == 0 {
		c.Errorf(c.At("levels"), "division %s has no levels", d.Name)
	}
	seen := map[string]diag.Pos{}
	for i := range d.Levels {
		l := &d.Levels[i]
		l.Pos = c.At("levels", i)
		switch {
		case !levelKey.MatchString(l.Key):
			c.Errorf(c.At("levels", i, "key"), "level key %q: use lower-case letters, digits and _ (starting with a letter)", l.Key)
		case l.Key == DetailKey:
			c.Errorf(c.At("levels", i, "key"), "level key %s is kept for the address's detail", DetailKey)
		case seen[l.Key] != diag.Pos{}:
			c.Errorf(c.At("levels", i, "key"), "level %q is already defined at %s", l.Key, seen[l.Key])
		}
		if l.Label == "" {
			c.Errorf(l.Pos, "level %s needs a label", l.Key)
		}
		for j, k := range l.Kinds {
			if strings.TrimSpace(k) == "" || slices.Contains(l.Kinds[:j], k) {
				c.Errorf(c.At("levels", i, "kinds", j), "level %s: kinds[%d] %q is empty or listed twice", l.Key, j, k)
			}
		}
		seen[l.Key] = l.Pos
	}
}

// Keys are the level keys, top down.
func (d *Division) Keys() []string {
	ls := d.levels()
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Key
	}
	return out
}

// Level returns the level with key.
func (d *Division) Level(key string) (Level, bool) {
	for _, l := range d.levels() {
		if l.Key == key {
			return l, true
		}
	}
	return Level{}, false
}

// Codes are the unit codes of an address value, top down.
func (d *Division) Codes(v any) []string {
	a, _ := v.(map[string]any)
	var out []string
	for _, l := range d.levels() {
		if c, ok := a[l.Key].(string); ok {
			out = append(out, c)
		}
	}
	return out
}

// Text is an address as people write it: the names of its units (as
// names gives them), then the detail, joined by sep.
func (d *Division) Text(v any, names map[string]string, sep string) string {
	a, ok := v.(map[string]any)
	if !ok {
		s, _ := v.(string)
		return s
	}
	var parts []string
	for _, c := range d.Codes(a) {
		if n, ok := names[c]; ok {
			parts = append(parts, n)
		}
	}
	if s, ok := a[DetailKey].(string); ok {
		parts = append(parts, s)
	}
	return strings.Join(parts, sep)
}

// levels tolerates a nil division (an address field whose division did
// not resolve, in a set that lint refused): only the detail then.
func (d *Division) levels() []Level {
	if d == nil {
		return nil
	}
	return d.Levels
}

// normalize reads an address; its problems are at the part they concern
// (address.city for a part it has not, address.district for the level a
// chosen level below needs).
func (d *Division) normalize(v any) (any, problems) {
	if s, ok := v.(string); ok {
		v = map[string]any{DetailKey: s}
	}
	keys := append(d.Keys(), DetailKey)
	m, ok := v.(map[string]any)
	if !ok {
		return nil, wrong("应为地址 {%s}", strings.Join(keys, ", "))
	}
	var ps problems
	var extra []string
	for k := range m {
		if !slices.Contains(keys, k) {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	for _, k := range extra {
		ps = append(ps, problem{"." + k, fmt.Sprintf("地址没有“%s”一项（可填 %s）", k, strings.Join(keys, "、"))})
	}
	out := map[string]any{}
	for _, k := range keys {
		x, ok := m[k]
		if !ok || x == nil {
			continue
		}
		s, ok := x.(string)
		if !ok {
			ps = append(ps, problem{"." + k, fmt.Sprintf("地址的 %s 应为文字", k)})
			continue
		}
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if utf8.RuneCountInString(s) > 200 {
			ps = append(ps, problem{"." + k, fmt.Sprintf("地址的 %s 过长", k)})
			continue
		}
		out[k] = s
	}
	// A level needs the one above it, checked from the bottom up.
	ls := d.levels()
	for i := len(ls) - 1; i > 0; i-- {
		if _, ok := out[ls[i].Key]; !ok {
			continue
		}
		if _, ok := out[ls[i-1].Key]; !ok {
			ps = append(ps, problem{"." + ls[i-1].Key, fmt.Sprintf("选了%s须同时选%s", ls[i].Label, ls[i-1].Label)})
		}
	}
	if len(out) == 0 {
		return nil, ps
	}
	return out, ps
}
