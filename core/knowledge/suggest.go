package knowledge

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Suggestion is a completion offered while an agent types (关键字联想):
// a keyword of published articles, or an article's title.
type Suggestion struct {
	Text string `json:"text"`
	// Kind is "keyword" or "title".
	Kind string `json:"kind"`
	// Article is the article a title belongs to (0 for keywords).
	Article int64 `json:"article,string"`
	// Articles is how many articles carry the keyword.
	Articles int `json:"articles"`
}

// suggester holds the keywords and titles of the articles in effect, with
// a map from every character and character pair to the entries holding
// it, so a prefix of one to three characters is answered from a short list
// instead of a scan of every title.
type suggester struct {
	day     time.Time
	entries []entry
	grams   map[string][]int32
}

type entry struct {
	Suggestion
	weight int64 // clicks of its articles
	lower  string
}

func newSuggester(entries []entry) *suggester {
	sg := &suggester{entries: entries, grams: map[string][]int32{}}
	for i, e := range entries {
		seen := map[string]bool{}
		for _, g := range grams(e.lower) {
			if !seen[g] {
				seen[g] = true
				sg.grams[g] = append(sg.grams[g], int32(i))
			}
		}
	}
	return sg
}

// grams are the characters and adjacent pairs of s.
func grams(s string) []string {
	var out []string
	prev := -1
	for i := 0; i < len(s); {
		_, n := utf8.DecodeRuneInString(s[i:])
		out = append(out, s[i:i+n])
		if prev >= 0 {
			out = append(out, s[prev:i+n])
		}
		prev = i
		i += n
	}
	return out
}

// rebuildSuggestions makes the suggester from the articles in effect.
func (s *Service) rebuildSuggestions() {
	day := s.today()
	s.mu.RLock()
	keywords := map[string]*entry{}
	var entries []entry
	for _, m := range s.meta {
		if !m.valid(day) {
			continue
		}
		entries = append(entries, entry{Suggestion: Suggestion{Text: m.Title, Kind: "title", Article: m.ID, Articles: 1}, weight: m.Clicks + m.Hot})
		for _, k := range m.Keywords {
			e, ok := keywords[k]
			if !ok {
				e = &entry{Suggestion: Suggestion{Text: k, Kind: "keyword"}}
				keywords[k] = e
			}
			e.Articles++
			e.weight += m.Clicks + m.Hot
		}
	}
	s.mu.RUnlock()
	for _, e := range keywords {
		entries = append(entries, *e)
	}
	for i := range entries {
		entries[i].lower = strings.ToLower(entries[i].Text)
	}
	// A stable order, so equal suggestions come out the same way.
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.Kind+a.Text, b.Kind+b.Text) })
	sg := newSuggester(entries)
	sg.day = day
	s.mu.Lock()
	s.suggest = sg
	s.mu.Unlock()
}

// Suggest completes prefix: keywords and titles that start with it, then
// those that contain it, each group by how much their articles are read.
func (s *Service) Suggest(prefix string, n int) []Suggestion {
	p := strings.ToLower(strings.TrimSpace(prefix))
	if p == "" || n <= 0 || utf8.RuneCountInString(p) > MaxSuggestPrefix {
		return nil
	}
	s.mu.RLock()
	sg := s.suggest
	s.mu.RUnlock()
	// The rarest gram of the prefix gives the shortest candidate list.
	var cands []int32
	first := true
	for _, g := range grams(p) {
		if utf8.RuneCountInString(g) == 1 && utf8.RuneCountInString(p) > 1 {
			continue
		}
		l := sg.grams[g]
		if first || len(l) < len(cands) {
			cands, first = l, false
		}
	}
	type hit struct {
		e      *entry
		prefix bool
	}
	var hits []hit
	for _, i := range cands {
		e := &sg.entries[i]
		if strings.Contains(e.lower, p) {
			hits = append(hits, hit{e, strings.HasPrefix(e.lower, p)})
		}
	}
	slices.SortFunc(hits, func(a, b hit) int {
		switch {
		case a.prefix != b.prefix:
			if a.prefix {
				return -1
			}
			return 1
		case a.e.weight != b.e.weight:
			if a.e.weight > b.e.weight {
				return -1
			}
			return 1
		case a.e.Kind != b.e.Kind: // keywords before titles
			return strings.Compare(a.e.Kind, b.e.Kind)
		}
		return utf8.RuneCountInString(a.e.Text) - utf8.RuneCountInString(b.e.Text)
	})
	// Two articles with one title, or a title that is also a keyword,
	// are offered once.
	out := make([]Suggestion, 0, min(n, len(hits)))
	seen := map[string]bool{}
	for _, h := range hits {
		if len(out) == n {
			break
		}
		if !seen[h.e.lower] {
			seen[h.e.lower] = true
			out = append(out, h.e.Suggestion)
		}
	}
	return out
}
