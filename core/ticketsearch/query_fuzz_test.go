package ticketsearch

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzSearchQuery feeds arbitrary text to the ticket search's query
// syntax (terms, "phrases", -exclusions) with its bounds: it never
// panics, what it accepts is within the bounds, every term is letters and
// digits only (so no NUL, quote or operator reaches PostgreSQL's tsquery
// parser from the text), and a query with nothing to search for is told
// apart from a blank one.
func FuzzSearchQuery(f *testing.F) {
	for _, seed := range []string{
		"", " ", "暖气不热", `"暖气 不热" -物业 3单元 WiFi`, "%", "?", "😀", "\x00", "%\x00", "-", "-%", `"`, `""`, `"-"`,
		"a:*", "'; DROP TABLE tickets; --", `\`, "!(a) & b | c <-> d", strings.Repeat("暖", MaxQueryLength+1),
		strings.Repeat("暖气 ", MaxQueryTerms+1), "ＡＢＣ１２３", "\u200b\ufeff",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		q, none, err := parseQuery(text)
		if err != nil {
			if utf8.RuneCountInString(text) <= MaxQueryLength && len(q.Include)+len(q.Exclude) <= MaxQueryTerms {
				t.Fatalf("%q refused within the bounds: %v", text, err)
			}
			return
		}
		if utf8.RuneCountInString(text) > MaxQueryLength || len(q.Include)+len(q.Exclude) > MaxQueryTerms {
			t.Fatalf("%q accepted beyond the bounds", text)
		}
		for _, term := range append(append([]string{}, q.Include...), q.Exclude...) {
			if term == "" {
				t.Fatalf("%q: empty term", text)
			}
			for _, r := range term {
				if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					t.Fatalf("%q: term %q holds %U", text, term, r)
				}
			}
		}
		if none && (!q.Empty() || strings.TrimSpace(text) == "") {
			t.Fatalf("%q: nothing to search for, yet terms %v", text, q)
		}
		if !none && q.Empty() && len(q.Exclude) == 0 && strings.TrimSpace(text) != "" {
			t.Fatalf("%q: no terms but not told so", text)
		}
		if strings.ContainsRune(q.TSQuery(0), 0) {
			t.Fatalf("%q: NUL in the tsquery", text)
		}
	})
}
