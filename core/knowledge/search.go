package knowledge

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/form"
	"github.com/hotline12345/hotline/core/fulltext"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/registry"
)

// Sorts.
const (
	SortRelevance = "relevance"
	SortUpdated   = "updated"
	SortClicks    = "clicks"
	SortRating    = "rating"
	SortHot       = "hot"
)

// Sorts lists the orders a search may ask for.
var Sorts = []string{SortRelevance, SortUpdated, SortClicks, SortRating, SortHot}

// Filter narrows a knowledge search.
type Filter struct {
	// Facets maps a facet field of the article form (topic, kind, dept)
	// to the values any of which an article must have; a tree value takes
	// in the options below it.
	Facets map[string][]string `json:"facets"`
	// Units are owning units (codes).
	Units []string `json:"units"`
	// Within are earlier searches whose matches this one searches in
	// (二次检索): each must match too.
	Within []string `json:"within"`
	// Fuzzy finds articles sharing any character pair with the query,
	// best first, instead of those containing every word.
	Fuzzy bool `json:"fuzzy"`
	// IncludeExpired also finds articles not in effect today (editors).
	IncludeExpired bool `json:"includeExpired"`
	// Exclude leaves these articles out.
	Exclude []int64 `json:"exclude"`
}

// Search is a knowledge search.
type Search struct {
	Text   string
	Filter Filter
	Sort   string
	First  int
	Offset int
	// Facets asks for the count of every category value among all matches
	// (which reads every match; a page of results alone does not).
	Facets bool
}

// Article is a published article as readers see it.
type Article struct {
	ID          int64          `json:"id,string"`
	Version     int            `json:"version"`
	Title       string         `json:"title"`
	Keywords    []string       `json:"keywords"`
	Fields      map[string]any `json:"fields"`
	Unit        string         `json:"unit"`
	Effective   *time.Time     `json:"effectiveFrom"`
	Expires     *time.Time     `json:"expiresAt"`
	PublishedAt time.Time      `json:"publishedAt"`
	PublishedBy string         `json:"publishedBy"`
	Clicks      int64          `json:"clicks"`
	Rating      float64        `json:"rating"`
	Ratings     int            `json:"ratings"`
	State       string         `json:"state"`
	Flow        string         `json:"-"`
}

// InEffect reports whether the article is served on day (a date at
// midnight UTC).
func (a Article) InEffect(day time.Time) bool {
	return (a.Effective == nil || !a.Effective.After(day)) && (a.Expires == nil || !a.Expires.Before(day))
}

// Highlight is a fragment of a field around a match.
type Highlight struct {
	Field    string `json:"field"`
	Fragment string `json:"fragment"`
}

// Hit is an article found.
type Hit struct {
	Article    Article     `json:"article"`
	Score      float64     `json:"score"`
	Highlights []Highlight `json:"highlights"`
}

// FacetCount is how many matches have a facet value.
type FacetCount struct {
	Field string `json:"field"`
	Value string `json:"value"`
	Label string `json:"label"`
	Count int    `json:"count"`
}

// Result is a page of a search.
type Result struct {
	Hits   []Hit        `json:"hits"`
	Total  int          `json:"total"`
	Facets []FacetCount `json:"facets"`
}

// maxRanked bounds how many matches are ranked by counters (clicks,
// rating, hot), which live outside the index.
const maxRanked = 10_000

// articleKind is a flow that publishes knowledge (an action calls
// knowledge.publish), with the action and form its articles are created with.
type articleKind struct {
	flow   *flow.Flow
	create string
	form   *form.Form
}

func articleFlows(set *registry.Set) []articleKind {
	var out []articleKind
	for _, d := range set.All(flow.Kind) {
		f := d.Model.(*flow.Flow)
		publishes := slices.ContainsFunc(f.Actions, func(a flow.Action) bool {
			return slices.ContainsFunc(a.Effects, func(e flow.Effect) bool { return e.Call != nil && e.Call.Name == "knowledge.publish" })
		})
		if a, ok := f.CreatingAction(); publishes && ok {
			fm, _ := flow.CreatingForm(set, f.Name)
			out = append(out, articleKind{flow: f, create: a.Name, form: fm})
		}
	}
	return out
}

// facetFields are the facet fields of the article forms, by name.
func facetFields(set *registry.Set) map[string]*form.Field {
	out := map[string]*form.Field{}
	for _, k := range articleFlows(set) {
		fm := k.form
		for i := range fm.Fields {
			if fl := &fm.Fields[i]; fl.Facet {
				if _, dup := out[fl.Name]; !dup {
					out[fl.Name] = fl
				}
			}
		}
	}
	return out
}

// textQuery matches articles holding every word of q (exact), or any
// character pair of it (fuzzy). Title and keywords weigh more than text.
func textQuery(q fulltext.Query, fuzzy bool) query.Query {
	fields := []struct {
		name  string
		boost float64
	}{{fieldTitle, 3}, {fieldKeywords, 2}, {fieldText, 1}}
	anyField := func(mk func(field string) query.Query) query.Query {
		var qs []query.Query
		for _, f := range fields {
			q := mk(f.name)
			q.(query.BoostableQuery).SetBoost(f.boost)
			qs = append(qs, q)
		}
		return bleve.NewDisjunctionQuery(qs...)
	}
	var words []query.Query
	for _, w := range q.Include {
		w := w
		switch {
		case fuzzy:
			words = append(words, anyField(func(f string) query.Query { m := bleve.NewMatchQuery(w); m.SetField(f); return m }))
		case utf8.RuneCountInString(w) == 1:
			// One character is in the index only as the first or second
			// of a pair.
			words = append(words, anyField(func(f string) query.Query {
				p := bleve.NewPrefixQuery(w)
				p.SetField(f)
				x := bleve.NewWildcardQuery("?" + w)
				x.SetField(f)
				return bleve.NewDisjunctionQuery(p, x)
			}))
		default:
			words = append(words, anyField(func(f string) query.Query { m := bleve.NewMatchPhraseQuery(w); m.SetField(f); return m }))
		}
	}
	if fuzzy {
		return bleve.NewDisjunctionQuery(words...)
	}
	return bleve.NewConjunctionQuery(words...)
}

// Bounds of what a reader types. A longer query or more words than this
// is not a search but a pasted text; fuzzy search matches every
// character pair of it against every article, which is what drove memory
// to gigabytes with a 100,000-character query.
const (
	// MaxQueryLength bounds a search query, and each earlier search of
	// filter.within, in characters.
	MaxQueryLength = 200
	// MaxQueryTerms bounds the words (included and excluded) of a query.
	MaxQueryTerms = 16
	// MaxSuggestPrefix bounds what suggestions complete, in characters.
	MaxSuggestPrefix = 50
	// maxWithin bounds the earlier searches a search is narrowed by.
	maxWithin = 8
)

// CheckQuery refuses a query from a reader that is longer than
// MaxQueryLength characters or has more than MaxQueryTerms words; field
// names the argument in the error.
func CheckQuery(field, text string) error {
	if n := utf8.RuneCountInString(text); n > MaxQueryLength {
		return &gql.Error{Code: gql.BadUserInput, Field: field, Extra: map[string]any{"limit": "maxLength", "max": MaxQueryLength},
			Message: fmt.Sprintf("搜索词过长：%d 个字符，最多 %d 个", n, MaxQueryLength)}
	}
	q := fulltext.ParseQuery(text)
	if n := len(q.Include) + len(q.Exclude); n > MaxQueryTerms {
		return &gql.Error{Code: gql.BadUserInput, Field: field, Extra: map[string]any{"limit": "maxTerms", "max": MaxQueryTerms},
			Message: fmt.Sprintf("搜索词过多：%d 个词，最多 %d 个", n, MaxQueryTerms)}
	}
	return nil
}

// noTerms reports whether text was typed but holds nothing to search for
// (only symbols, emoji, control characters): such a search matches
// nothing, rather than everything as an empty query does.
func noTerms(text string, q fulltext.Query) bool {
	return strings.TrimSpace(text) != "" && q.Empty() && len(q.Exclude) == 0
}

// Search finds published articles. Every reader sees the same published
// knowledge; drafts are tickets of the article flow, seen through its scope.
func (s *Service) Search(ctx context.Context, sr Search) (Result, error) {
	if sr.Sort == "" {
		sr.Sort = SortRelevance
		if sr.Text == "" {
			sr.Sort = SortUpdated
		}
	}
	if !slices.Contains(Sorts, sr.Sort) {
		return Result{}, gql.FieldError("sort", "未知的排序 %q（可选 %v）", sr.Sort, Sorts)
	}
	if sr.First <= 0 || sr.First > 200 {
		sr.First = 20
	}
	if sr.Offset < 0 || sr.Offset > maxRanked {
		return Result{}, gql.FieldError("after", "无效的分页游标")
	}
	set := s.Config.Current()
	facets := facetFields(set)
	bq := bleve.NewBooleanQuery()
	q := fulltext.ParseQuery(sr.Text)
	if noTerms(sr.Text, q) {
		return Result{Hits: []Hit{}, Facets: []FacetCount{}}, nil
	}
	for _, within := range sr.Filter.Within {
		if noTerms(within, fulltext.ParseQuery(within)) {
			return Result{Hits: []Hit{}, Facets: []FacetCount{}}, nil
		}
	}
	if len(q.Exclude) > 0 && q.Empty() && len(sr.Filter.Within) == 0 {
		return Result{}, gql.FieldError("query", "搜索词不能只有排除项")
	}
	if !q.Empty() {
		bq.AddMust(textQuery(q, sr.Filter.Fuzzy))
	}
	for _, w := range q.Exclude {
		bq.AddMustNot(textQuery(fulltext.Query{Include: []string{w}}, false))
	}
	for _, within := range sr.Filter.Within {
		wq := fulltext.ParseQuery(within)
		if !wq.Empty() {
			bq.AddMust(textQuery(wq, false))
		}
		for _, w := range wq.Exclude {
			bq.AddMustNot(textQuery(fulltext.Query{Include: []string{w}}, false))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(sr.Filter.Facets)) {
		if _, ok := facets[name]; !ok {
			return Result{}, gql.FieldError("filter.facets", "没有名为 %q 的知识分类%s", name, registry.Suggest(name, slices.Sorted(maps.Keys(facets))))
		}
		bq.AddMust(anyTerm(facetPrefix+name, sr.Filter.Facets[name]))
	}
	if len(sr.Filter.Exclude) > 0 {
		ids := make([]string, len(sr.Filter.Exclude))
		for i, id := range sr.Filter.Exclude {
			ids[i] = strconv.FormatInt(id, 10)
		}
		bq.AddMustNot(bleve.NewDocIDQuery(ids))
	}
	if len(sr.Filter.Units) > 0 {
		bq.AddMust(anyTerm(fieldUnit, sr.Filter.Units))
	}
	if !sr.Filter.IncludeExpired {
		day := s.today()
		yes := true
		eff := bleve.NewDateRangeInclusiveQuery(dawn, day, &yes, &yes)
		eff.SetField(fieldEffective)
		exp := bleve.NewDateRangeInclusiveQuery(day, dusk, &yes, &yes)
		exp.SetField(fieldExpires)
		bq.AddMust(eff, exp)
	}
	if q.Empty() && len(sr.Filter.Within) == 0 {
		bq.AddMust(bleve.NewMatchAllQuery())
	}

	ranked := sr.Sort == SortClicks || sr.Sort == SortRating || sr.Sort == SortHot
	size, from := sr.First, sr.Offset
	if ranked {
		size, from = maxRanked, 0
	}
	req := bleve.NewSearchRequestOptions(bq, size, from, false)
	if sr.Sort == SortUpdated {
		req.SortBy([]string{"-" + fieldPublished, "-_id"})
	}
	if sr.Facets {
		for _, name := range slices.Sorted(maps.Keys(facets)) {
			req.AddFacet(name, bleve.NewFacetRequest(facetPrefix+name, 50))
		}
	}
	res, err := s.index.idx.SearchInContext(ctx, req)
	if err != nil {
		return Result{}, fmt.Errorf("searching knowledge: %w", err)
	}
	type scored struct {
		id    int64
		score float64
	}
	hits := make([]scored, 0, len(res.Hits))
	for _, h := range res.Hits {
		id, _ := strconv.ParseInt(h.ID, 10, 64)
		hits = append(hits, scored{id, h.Score})
	}
	if ranked {
		s.mu.RLock()
		key := func(id int64) float64 {
			m, ok := s.meta[id]
			if !ok {
				return 0
			}
			switch sr.Sort {
			case SortClicks:
				return float64(m.Clicks)
			case SortRating:
				return m.Rating
			}
			return float64(m.Hot)
		}
		slices.SortStableFunc(hits, func(a, b scored) int {
			ka, kb := key(a.id), key(b.id)
			switch {
			case ka > kb:
				return -1
			case ka < kb:
				return 1
			case a.score > b.score:
				return -1
			case a.score < b.score:
				return 1
			}
			return 0
		})
		s.mu.RUnlock()
		hits = hits[min(len(hits), sr.Offset):min(len(hits), sr.Offset+sr.First)]
	}
	ids := make([]int64, len(hits))
	for i, h := range hits {
		ids[i] = h.id
	}
	articles, err := s.articles(ctx, ids)
	if err != nil {
		return Result{}, err
	}
	out := Result{Total: int(res.Total), Hits: []Hit{}, Facets: []FacetCount{}}
	for _, h := range hits {
		a, ok := articles[h.id]
		if !ok {
			continue // archived since the index was read
		}
		hit := Hit{Article: a, Score: h.score, Highlights: s.highlights(set, a, q)}
		if hit.Highlights == nil {
			hit.Highlights = []Highlight{}
		}
		out.Hits = append(out.Hits, hit)
	}
	var units []string
	for _, name := range slices.Sorted(maps.Keys(facets)) {
		fr, ok := res.Facets[name]
		if !ok || fr.Terms == nil {
			continue
		}
		for _, t := range fr.Terms.Terms() {
			out.Facets = append(out.Facets, FacetCount{Field: name, Value: t.Term, Label: facets[name].OptionLabel(t.Term), Count: t.Count})
			if facets[name].Type == form.Unit {
				units = append(units, t.Term)
			}
		}
	}
	if err := s.nameUnits(ctx, out.Facets, facets, units); err != nil {
		return Result{}, err
	}
	return out, nil
}

// nameUnits labels the values of unit facets (unit codes) with the units'
// names, as the options of a choice facet are labelled.
func (s *Service) nameUnits(ctx context.Context, counts []FacetCount, facets map[string]*form.Field, codes []string) error {
	if len(codes) == 0 {
		return nil
	}
	names, err := form.DBLookup{Q: s.Pool}.Names(ctx, codes)
	if err != nil {
		return fmt.Errorf("labelling unit facets: %w", err)
	}
	byCode := make(map[string]string, len(names))
	for _, n := range names {
		byCode[n.Code] = n.Name
	}
	for i := range counts {
		if f := facets[counts[i].Field]; f != nil && f.Type == form.Unit {
			if name, ok := byCode[counts[i].Value]; ok {
				counts[i].Label = name
			}
		}
	}
	return nil
}

func anyTerm(field string, values []string) query.Query {
	qs := make([]query.Query, len(values))
	for i, v := range values {
		t := bleve.NewTermQuery(v)
		t.SetField(field)
		qs[i] = t
	}
	return bleve.NewDisjunctionQuery(qs...)
}

// highlights are fragments of the article's searched fields with the
// query's words marked.
func (s *Service) highlights(set *registry.Set, a Article, q fulltext.Query) []Highlight {
	if q.Empty() {
		return nil
	}
	fm, ok := flow.CreatingForm(set, a.Flow)
	if !ok {
		return nil
	}
	var out []Highlight
	for i := range fm.Fields {
		fl := &fm.Fields[i]
		if !fl.Search {
			continue
		}
		if frag := q.Highlight(plain(fl, a.Fields[fl.Name]), 80); frag != "" {
			out = append(out, Highlight{Field: fl.Name, Fragment: frag})
		}
	}
	return out
}

const articleSelect = `SELECT a.ticket_id, t.flow, a.version, a.state, a.title, a.keywords, a.fields, COALESCE(u.code, ''), a.effective_from, a.expires_at,
	a.published_at, a.published_by, a.clicks, a.rating_sum, a.rating_count
	FROM kb_articles a JOIN tickets t ON t.id = a.ticket_id LEFT JOIN units u ON u.id = a.unit_id`

// articles reads published articles by id.
func (s *Service) articles(ctx context.Context, ids []int64) (map[int64]Article, error) {
	out := map[int64]Article{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.Pool.Query(ctx, articleSelect+` WHERE a.ticket_id = ANY($1) AND a.state = 'published'`, ids)
	if err != nil {
		return nil, fmt.Errorf("reading knowledge articles: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a Article
		var sum float64
		if err := rows.Scan(&a.ID, &a.Flow, &a.Version, &a.State, &a.Title, &a.Keywords, &a.Fields, &a.Unit, &a.Effective, &a.Expires,
			&a.PublishedAt, &a.PublishedBy, &a.Clicks, &sum, &a.Ratings); err != nil {
			return nil, fmt.Errorf("reading knowledge articles: %w", err)
		}
		if a.Ratings > 0 {
			a.Rating = sum / float64(a.Ratings)
		}
		out[a.ID] = a
	}
	return out, rows.Err()
}

// Get reads a published article; click counts it as opened.
func (s *Service) Get(ctx context.Context, id int64, click bool) (Article, error) {
	found, err := s.articles(ctx, []int64{id})
	if err != nil {
		return Article{}, err
	}
	a, ok := found[id]
	if !ok {
		return Article{}, gql.Errorf(gql.NotFound, "知识 %d 不存在或已下架", id)
	}
	if click {
		s.Click(id)
	}
	return a, nil
}

// Related are the articles an editor linked to a (its related field), then
// articles like it (sharing words of its title and keywords), up to n.
func (s *Service) Related(ctx context.Context, a Article, n int) ([]Article, error) {
	var explicit []int64
	if name := s.settings().Related; name != "" {
		explicit, _ = articleIDs(a.Fields[name])
	}
	found, err := s.articles(ctx, explicit)
	if err != nil {
		return nil, err
	}
	out := []Article{}
	exclude := []int64{a.ID}
	for _, id := range explicit {
		if r, ok := found[id]; ok && id != a.ID && len(out) < n {
			out = append(out, r)
			exclude = append(exclude, id)
		}
	}
	if len(out) >= n {
		return out, nil
	}
	res, err := s.Search(ctx, Search{Text: a.Title + " " + strings.Join(a.Keywords, " "), First: n - len(out),
		Filter: Filter{Fuzzy: true, Exclude: exclude}})
	if err != nil {
		return nil, err
	}
	for _, h := range res.Hits {
		out = append(out, h.Article)
	}
	return out, nil
}
