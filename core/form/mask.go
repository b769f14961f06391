package form

import (
	"strings"
	"unicode/utf8"
)

// Mask says how a personal field is shown to those not entitled to see it
// whole: the characters kept at each end, every other one replaced by *.
//
//   - {name: contact_phone, type: phone, personal: {keep_start: 3, keep_end: 4}}   # 138****5678
//   - {name: caller, type: text, personal: {keep_start: 1}}                       # 张**
type Mask struct {
	KeepStart int `yaml:"keep_start" jsonschema:"description=characters shown at the start"`
	KeepEnd   int `yaml:"keep_end" jsonschema:"description=characters shown at the end"`
}

// personalTypes are the field types whose values can be masked: text, and
// the detail of an address (its division codes stay, for dispatch).
var personalTypes = []string{Text, LongText, Phone, IDCard, Address}

// Apply masks v as the field holds it: a string, a list of strings, or an
// address whose detail is masked. Whatever else a stored value is comes
// back as a bare mask, never as itself.
func (m Mask) Apply(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return m.String(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = m.Apply(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if k == "detail" {
				e = m.Apply(e)
			}
			out[k] = e
		}
		return out
	default:
		return "***"
	}
}

// String masks s. However the ends are set, a value is never shown whole:
// a value no longer than what would be kept keeps fewer characters.
func (m Mask) String(s string) string {
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return s
	}
	start, end := m.KeepStart, m.KeepEnd
	if start+end >= n {
		start, end = min(start, n-1), 0
	}
	r := []rune(s)
	var b strings.Builder
	b.WriteString(string(r[:start]))
	b.WriteString(strings.Repeat("*", n-start-end))
	b.WriteString(string(r[n-end:]))
	return b.String()
}
