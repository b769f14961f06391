// Package fulltext turns Chinese (and mixed Chinese, digit and Latin) text
// into PostgreSQL tsvector and tsquery values whose matches are substring
// matches: every run of letters and digits is indexed as overlapping
// two-character terms (bigrams) with their positions, and a query term
// becomes the phrase of its bigrams. So 供暖 finds 供暖费, 暖气不热 finds
// only that phrase, and a street name finds the street, with no word
// dictionary to miss new words and no database extension to install.
//
// PostgreSQL's own parser (to_tsvector) is never used: values are built
// here as literals and cast, so what is indexed is exactly what a query
// looks for.
package fulltext

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// PostgreSQL's limits: a position above maxPos is stored as maxPos, and a
// lexeme keeps at most maxPositions positions. Text past them is still
// found by its terms, only not as a phrase.
const (
	maxPos       = 16383
	maxPositions = 256
)

// Weights label the parts of a document; a query can be limited to one.
const (
	WeightA byte = 'A'
	WeightB byte = 'B'
	WeightC byte = 'C'
	WeightD byte = 'D'
)

// fold maps full-width ASCII to ASCII and upper case to lower case, rune
// for rune, so offsets in folded text are offsets in the original.
func fold(r rune) rune {
	if r >= '！' && r <= '～' {
		r -= 0xFEE0
	}
	return unicode.ToLower(r)
}

func isTermRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// runs splits text into maximal runs of letters and digits, folded.
func runs(text string) [][]rune {
	var out [][]rune
	var cur []rune
	for _, r := range text {
		r = fold(r)
		if isTermRune(r) {
			cur = append(cur, r)
			continue
		}
		if len(cur) > 0 {
			out = append(out, cur)
			cur = nil
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// Document collects the text of a record's fields into one tsvector.
type Document struct {
	pos   int
	terms map[string][]string // lexeme → positions with weight, e.g. "12A"
	tags  []string
}

// Tag adds a lexeme that no text produces (it starts with #), for
// narrowing a search inside the index: Query.Within finds only documents
// carrying one of the tags.
func (d *Document) Tag(tag string) { d.tags = append(d.tags, "#"+tag) }

// Add indexes text with a weight. Runs (and fields) are kept apart by a
// gap in positions, so a phrase never spans two of them.
func (d *Document) Add(text string, weight byte) {
	if d.terms == nil {
		d.terms = map[string][]string{}
	}
	for _, run := range runs(text) {
		d.pos++ // the gap
		for i := range run {
			var lex string
			if i+1 < len(run) {
				lex = string(run[i : i+2])
			} else {
				// The last letter alone, so a one-letter query (a prefix
				// of bigrams) also finds it at the end of a run.
				lex = string(run[i])
			}
			p := min(d.pos+i+1, maxPos)
			if ps := d.terms[lex]; len(ps) < maxPositions {
				d.terms[lex] = append(ps, strconv.Itoa(p)+string(weight))
			}
		}
		d.pos += len(run)
	}
}

// Empty reports whether nothing was indexed.
func (d *Document) Empty() bool { return len(d.terms) == 0 }

// String is the tsvector literal; cast it with ::tsvector.
func (d *Document) String() string {
	lexemes := make([]string, 0, len(d.terms))
	for lex := range d.terms {
		lexemes = append(lexemes, lex)
	}
	slices.Sort(lexemes)
	var b strings.Builder
	for i, lex := range lexemes {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(quote(lex))
		b.WriteByte(':')
		b.WriteString(strings.Join(d.terms[lex], ","))
	}
	for _, t := range d.tags {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(quote(t))
	}
	return b.String()
}

// quote makes a lexeme literal. Lexemes hold only letters and digits, but
// quoting keeps the literal safe whatever unicode counts as a letter.
func quote(lex string) string {
	if strings.ContainsAny(lex, `'\`) {
		lex = escaper.Replace(lex)
	}
	return "'" + lex + "'"
}

var escaper = strings.NewReplacer(`'`, `''`, `\`, `\\`)

// Query is a parsed search: terms every match contains, terms none
// contains.
type Query struct {
	Include []string
	Exclude []string
}

// ParseQuery reads what a user typed: terms separated by spaces must all
// be found (as substrings), a term in double quotes may hold spaces, and a
// term starting with - must not be found.
func ParseQuery(s string) Query {
	var q Query
	add := func(term string, exclude bool) {
		for _, run := range runs(term) {
			if exclude {
				q.Exclude = append(q.Exclude, string(run))
			} else {
				q.Include = append(q.Include, string(run))
			}
		}
	}
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		exclude := false
		if s[0] == '-' && len(s) > 1 {
			exclude, s = true, s[1:]
		}
		var term string
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				term, s = s[1:], ""
			} else {
				term, s = s[1:end+1], s[end+2:]
			}
		} else {
			end := strings.IndexFunc(s, unicode.IsSpace)
			if end < 0 {
				end = len(s)
			}
			term, s = s[:end], s[end:]
		}
		add(term, exclude)
	}
	return q
}

// Empty reports whether the query has nothing to look for.
func (q Query) Empty() bool { return len(q.Include) == 0 }

// TSQuery is the tsquery literal; cast it with ::tsquery. weight, when not
// zero, limits every term to text added with that weight.
func (q Query) TSQuery(weight byte) string {
	if weight == 0 {
		return q.TSQueryIn("")
	}
	return q.TSQueryIn(string(weight))
}

// TSQueryIn is TSQuery with every term limited to text added with one of
// weights ("" for any).
func (q Query) TSQueryIn(weights string) string {
	var parts []string
	for _, t := range q.Include {
		parts = append(parts, phrase(t, weights))
	}
	for _, t := range q.Exclude {
		parts = append(parts, "!("+phrase(t, weights)+")")
	}
	return strings.Join(parts, " & ")
}

// Within is TSQuery limited to documents tagged with one of tags (see
// Document.Tag). The tags are matched inside the index together with the
// terms, so only documents with both are read.
func (q Query) Within(weight byte, tags []string) string {
	if weight == 0 {
		return q.WithinIn("", tags)
	}
	return q.WithinIn(string(weight), tags)
}

// WithinIn is Within with every term limited to one of weights.
func (q Query) WithinIn(weights string, tags []string) string {
	if len(tags) == 0 {
		return q.TSQueryIn(weights)
	}
	quoted := make([]string, len(tags))
	for i, t := range tags {
		quoted[i] = quote("#" + t)
	}
	return "(" + q.TSQueryIn(weights) + ") & (" + strings.Join(quoted, " | ") + ")"
}

// phrase is the tsquery of one run: its bigrams in a row, or a prefix
// for a single letter; w limits each to those weights.
func phrase(run string, w string) string {
	r := []rune(run)
	if len(r) == 1 {
		return quote(run) + ":*" + w
	}
	var b strings.Builder
	b.WriteByte('(')
	for i := 0; i+1 < len(r); i++ {
		if i > 0 {
			b.WriteString(" <-> ")
		}
		b.WriteString(quote(string(r[i : i+2])))
		if w != "" {
			b.WriteString(":" + w)
		}
	}
	b.WriteByte(')')
	return b.String()
}

// Contains reports whether text matches the query as the index does:
// every included run is a substring of one of text's runs, and no
// excluded one is. Tests compare the index against it.
func (q Query) Contains(text string) bool {
	folded := runs(text)
	has := func(term string) bool {
		for _, r := range folded {
			if strings.Contains(string(r), term) {
				return true
			}
		}
		return false
	}
	for _, t := range q.Include {
		if !has(t) {
			return false
		}
	}
	for _, t := range q.Exclude {
		if has(t) {
			return false
		}
	}
	return true
}

// Highlight returns a fragment of text of about width characters around
// the first match of the query's terms, with every match wrapped in
// <mark></mark> and the rest HTML-escaped; "" when nothing matches.
func (q Query) Highlight(text string, width int) string {
	src := []rune(text)
	folded := make([]rune, len(src))
	for i, r := range src {
		folded[i] = fold(r)
	}
	marked := make([]bool, len(src))
	first := -1
	for _, t := range q.Include {
		term := []rune(t)
		for i := 0; i+len(term) <= len(folded); i++ {
			if slices.Equal(folded[i:i+len(term)], term) {
				for j := i; j < i+len(term); j++ {
					marked[j] = true
				}
				if first < 0 || i < first {
					first = i
				}
			}
		}
	}
	if first < 0 {
		return ""
	}
	start := max(0, first-width/4)
	end := min(len(src), start+width)
	var b strings.Builder
	if start > 0 {
		b.WriteString("…")
	}
	in := false
	for i := start; i < end; i++ {
		if marked[i] != in {
			if in {
				b.WriteString("</mark>")
			} else {
				b.WriteString("<mark>")
			}
			in = marked[i]
		}
		switch src[i] {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		default:
			b.WriteRune(src[i])
		}
	}
	if in {
		b.WriteString("</mark>")
	}
	if end < len(src) {
		b.WriteString("…")
	}
	return b.String()
}

// String shows the query for logs and errors.
func (q Query) String() string { return fmt.Sprintf("include %q exclude %q", q.Include, q.Exclude) }

// Bigrams is the set of two-letter terms of text (single-letter runs
// count as themselves).
func Bigrams(text string) map[string]bool {
	out := map[string]bool{}
	for _, run := range runs(text) {
		if len(run) == 1 {
			out[string(run)] = true
		}
		for i := 0; i+1 < len(run); i++ {
			out[string(run[i:i+2])] = true
		}
	}
	return out
}

// Similarity is the Dice coefficient of two bigram sets: 1 for the same
// terms, 0 for none shared.
func Similarity(a, b map[string]bool) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	shared := 0
	for t := range a {
		if b[t] {
			shared++
		}
	}
	return 2 * float64(shared) / float64(len(a)+len(b))
}
