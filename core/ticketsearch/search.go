// Package ticketsearch finds tickets: full text, filters and facets over
// the search index (ticket_search) that core/ticket writes with every
// change, the in-transit hint, similar tickets, and the stream exports
// read. Every query keeps to the reader's scope and to what the reader
// may see of personal data (ticket.Disclosure).
package ticketsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/form"
	"github.com/hotline12345/hotline/core/fulltext"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/store"
	"github.com/hotline12345/hotline/core/ticket"
)

// Searcher answers ticket searches over the index.
type Searcher struct {
	Pool *pgxpool.Pool
	// Config is the running configuration: its flows (which are kept out
	// of lists, their states' labels) and, through Tickets, its forms.
	Config *registry.Runtime
	// Tickets reads the tickets found, in the reader's scope, and decides
	// what the reader sees of their personal data.
	Tickets *ticket.Store
}

// Filter narrows ticket lists, searches and exports. Entries of one facet
// are alternatives; everything else must all hold.
type Filter struct {
	States []string
	// Units are holder unit codes; a ticket held by a unit below one
	// counts (a district's filter includes its streets).
	Units []string
	// Facets maps a facet (state, unit, a form's facet field, or a level
	// of an address field's division, such as address.street) to values.
	Facets      map[string][]string
	CreatedFrom *time.Time
	CreatedTo   *time.Time
	Open        *bool
	Overdue     *bool
	Action      *ActionFilter
	// Phone and Caller keep a caller's tickets (the caller's history).
	Phone  string
	Caller string
}

// ActionFilter keeps tickets on which an action was taken: by an actor,
// within a time range, at least some number of times (W-7..W-10: audit
// time, auditor, return count).
type ActionFilter struct {
	Name    string
	Actor   string
	From    *time.Time
	To      *time.Time
	AtLeast int
}

// indexed reports whether the filter has conditions the search index's
// GIN indexes answer (facets, states, callers): those are searched in
// windows, like words.
func (f Filter) indexed() bool {
	return len(f.Facets) > 0 || len(f.States) > 0 || f.Phone != "" || f.Caller != ""
}

// Sort orders search results.
type Sort string

// Orders of search results.
const (
	SortNewest    Sort = "newest"
	SortOldest    Sort = "oldest"
	SortRelevance Sort = "relevance"
	SortDeadline  Sort = "deadline"
)

// Search is a request for one page of tickets.
type Search struct {
	Query  string
	Filter Filter
	Sort   Sort
	First  int
	// After is the cursor: a ticket id for the time orders, an offset for
	// relevance and deadline.
	After int64
}

// Bounds of a search query (finding 5 of issue 14): a query of thousands
// of characters became a tsquery PostgreSQL refused with "stack depth
// limit exceeded", reported as INTERNAL. A search is what an agent types,
// never a pasted text.
const (
	// MaxQueryLength bounds a search query, in characters.
	MaxQueryLength = 200
	// MaxQueryTerms bounds its words, included and excluded.
	MaxQueryTerms = 16
)

// parseQuery reads a search query within the bounds; none reports that
// text was typed but holds nothing to search for (only symbols, emoji or
// control characters), which must match no ticket rather than list them
// all as an empty query does.
func parseQuery(text string) (q fulltext.Query, none bool, err error) {
	if n := utf8.RuneCountInString(text); n > MaxQueryLength {
		return q, false, &gql.Error{Code: gql.BadUserInput, Field: "query", Extra: map[string]any{"limit": "maxLength", "max": MaxQueryLength},
			Message: fmt.Sprintf("搜索词过长：%d 个字符，最多 %d 个", n, MaxQueryLength)}
	}
	q = fulltext.ParseQuery(text)
	if n := len(q.Include) + len(q.Exclude); n > MaxQueryTerms {
		return q, false, &gql.Error{Code: gql.BadUserInput, Field: "query", Extra: map[string]any{"limit": "maxTerms", "max": MaxQueryTerms},
			Message: fmt.Sprintf("搜索词过多：%d 个词，最多 %d 个", n, MaxQueryTerms)}
	}
	none = strings.TrimSpace(text) != "" && q.Empty() && len(q.Exclude) == 0
	return q, none, nil
}

// Hit is a found ticket with fragments of its matching fields.
type Hit struct {
	ticket.Ticket
	Highlights []Highlight `json:"highlights"`
}

// Highlight is a fragment of a field with matches in <mark></mark>.
type Highlight struct {
	Field    string `json:"field"`
	Label    string `json:"label"`
	Fragment string `json:"fragment"`
}

// lookups are what a search reads from the database before its SQL is
// built: read once per search, however many windows it looks in.
type lookups struct {
	scopeIDs  []int64  // the tickets of a small scope; nil otherwise
	unitPaths []string // LIKE patterns of the filter's units
}

func (sr *Searcher) lookup(ctx context.Context, p *identity.Principal, s Search) (lookups, error) {
	var lk lookups
	var err error
	if lk.scopeIDs, err = sr.smallScopeIDs(ctx, p); err != nil {
		return lk, err
	}
	if len(s.Filter.Units) == 0 {
		return lk, nil
	}
	rows, err := sr.Pool.Query(ctx, `SELECT path FROM units WHERE code = ANY($1)`, s.Filter.Units)
	if err != nil {
		return lk, fmt.Errorf("reading filter units: %w", err)
	}
	paths, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return lk, fmt.Errorf("reading filter units: %w", err)
	}
	if len(paths) < len(s.Filter.Units) {
		return lk, gql.FieldError("filter.units", "筛选的单位不存在")
	}
	for _, path := range paths {
		lk.unitPaths = append(lk.unitPaths, store.EscapeLike(path)+"%")
	}
	return lk, nil
}

// where looks up what it needs (lookup) and builds the conditions of a
// search for p; see buildWhere.
func (sr *Searcher) where(ctx context.Context, p *identity.Principal, s Search, args *[]any) (string, fulltext.Query, error) {
	lk, err := sr.lookup(ctx, p, s)
	if err != nil {
		return "", fulltext.Query{}, err
	}
	return sr.buildWhere(p, s, lk, nil, args)
}

// buildWhere builds the conditions of a search for p: text, filters and
// scope. Placeholders are numbered after args. buckets, when given, limit
// the search to those id buckets inside the index (see matchWindows).
func (sr *Searcher) buildWhere(p *identity.Principal, s Search, lk lookups, buckets []int64, args *[]any) (string, fulltext.Query, error) {
	conds := []string{sr.scopeCondition(p, lk.scopeIDs, args)}
	arg := func(v any) string {
		*args = append(*args, v)
		return fmt.Sprintf("$%d", len(*args))
	}
	q, none, err := parseQuery(s.Query)
	if err != nil {
		return "", q, err
	}
	if len(q.Exclude) > 0 && q.Empty() {
		return "", q, gql.FieldError("query", "搜索词不能只有排除项")
	}
	if none {
		conds = append(conds, "false")
	}
	// Whether the reader sees a ticket's callers whole, as SQL: written
	// into the query (with its arguments) only where a condition needs it.
	d := sr.Tickets.Disclosure(p)
	var whole string
	wholeSQL := func() string {
		if whole == "" {
			whole = "TRUE"
			if len(d.Spec().Personal) > 0 {
				whole = d.WholeSQL(args)
			}
		}
		return whole
	}
	switch {
	case !q.Empty():
		tags := make([]string, len(buckets))
		for i, b := range buckets {
			tags[i] = ticket.BucketTag(b)
		}
		full := "s.doc @@ " + arg(q.Within(0, tags)) + "::tsquery"
		if public := d.Spec().PublicWeights(); public != ticket.WeightsAll && wholeSQL() != "TRUE" {
			// A ticket the reader sees masked is found by its other text
			// only. Without exclusions those matches are a subset of the
			// full query's, so the index is searched once; an excluded
			// word must count in the other text alone too (or a vanished
			// hit would tell that the name holds it).
			public := arg(q.WithinIn(public, tags))
			if len(q.Exclude) == 0 {
				full = fmt.Sprintf("%s AND (%s OR s.doc @@ %s::tsquery)", full, whole, public)
			} else {
				full = fmt.Sprintf("((%s AND %s) OR (NOT %s AND s.doc @@ %s::tsquery))", whole, full, whole, public)
			}
		}
		conds = append(conds, full)
	case len(buckets) > 0:
		entries := make([]string, len(buckets))
		for i, b := range buckets {
			entries[i] = ticket.BucketFacet(b)
		}
		conds = append(conds, "s.facets && "+arg(entries)+"::text[]")
	}
	f := s.Filter
	if _, named := f.Facets[ticket.FacetFlow]; !named {
		if separate := sr.separateFlows(); len(separate) > 0 {
			conds = append(conds, "NOT (s.facets && "+arg(separate)+"::text[])")
		}
	}
	spec := sr.Tickets.IndexSpec()
	facets := map[string][]string{}
	for name, values := range f.Facets {
		base, _, _ := strings.Cut(name, ".")
		if _, ok := spec.Facet(base); !ok && name != ticket.FacetState && name != ticket.FacetUnit && name != ticket.FacetFlow {
			return "", q, gql.FieldError("filter.facets", "没有名为 %q 的筛选项", name)
		}
		facets[name] = values
	}
	if len(f.States) > 0 {
		facets[ticket.FacetState] = append(facets[ticket.FacetState], f.States...)
	}
	names := make([]string, 0, len(facets))
	for name := range facets {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		entries := make([]string, len(facets[name]))
		for i, v := range facets[name] {
			entries[i] = name + "=" + v
		}
		conds = append(conds, "s.facets && "+arg(entries)+"::text[]")
	}
	if len(lk.unitPaths) > 0 {
		conds = append(conds, "t.scope_path LIKE ANY ("+arg(lk.unitPaths)+"::text[])")
	}
	if f.CreatedFrom != nil {
		conds = append(conds, "s.created_at >= "+arg(*f.CreatedFrom))
	}
	if f.CreatedTo != nil {
		conds = append(conds, "s.created_at < "+arg(*f.CreatedTo))
	}
	if f.CreatedFrom != nil && f.CreatedTo != nil && !f.CreatedFrom.Before(*f.CreatedTo) {
		return "", q, gql.FieldError("filter.createdTo", "时间范围的结束须晚于开始")
	}
	if f.Phone != "" || f.Caller != "" {
		conds = append(conds, "s.callers && "+arg(callerKeys(f.Phone, f.Caller))+"::text[]")
		if wholeSQL() != "TRUE" {
			conds = append(conds, whole) // a caller is found only where seen whole
		}
	}
	if f.Open != nil {
		conds = append(conds, "s.open = "+arg(*f.Open))
	}
	if f.Overdue != nil {
		op := "<"
		if !*f.Overdue {
			op = ">="
		}
		conds = append(conds, fmt.Sprintf("(t.closed_at IS NULL AND t.deadline IS NOT NULL AND t.deadline %s %s)", op, arg(sr.Tickets.Now())))
	}
	if a := f.Action; a != nil {
		if a.Name == "" {
			return "", q, gql.FieldError("filter.action.name", "须指定动作")
		}
		if a.AtLeast > 0 {
			conds = append(conds, fmt.Sprintf("COALESCE((t.counts->>%s)::int, 0) >= %s", arg(a.Name), arg(a.AtLeast)))
		}
		if a.Actor != "" || a.From != nil || a.To != nil {
			ev := []string{"ev.ticket_id = t.id", "ev.action = " + arg(a.Name)}
			if a.Actor != "" {
				ev = append(ev, "ev.actor = "+arg(a.Actor))
			}
			if a.From != nil {
				ev = append(ev, "ev.at >= "+arg(*a.From))
			}
			if a.To != nil {
				ev = append(ev, "ev.at < "+arg(*a.To))
			}
			conds = append(conds, "EXISTS (SELECT 1 FROM ticket_events ev WHERE "+strings.Join(ev, " AND ")+")")
		}
	}
	return strings.Join(conds, " AND "), q, nil
}

// SearchTickets returns one page of tickets in p's scope matching s, and
// one more when there is a next page.
func (sr *Searcher) SearchTickets(ctx context.Context, p *identity.Principal, s Search) ([]Hit, error) {
	lk, err := sr.lookup(ctx, p, s)
	if err != nil {
		return nil, err
	}
	args := []any{}
	where, q, err := sr.buildWhere(p, s, lk, nil, &args)
	if err != nil {
		return nil, err
	}
	limit := min(max(s.First, 1), 1000) + 1
	var tickets []ticket.Ticket
	switch {
	case (s.Sort == "" || s.Sort == SortNewest) && (!q.Empty() || s.Filter.indexed()):
		ids, err := sr.newestMatches(ctx, p, s, lk, s.After, limit)
		if err != nil {
			return nil, err
		}
		tickets, err = sr.Tickets.ByID(ctx, ids)
		if err != nil {
			return nil, err
		}
	case s.Sort == SortRelevance && !q.Empty():
		// Ranked among the newest matches: ranking every match of a common
		// word would read them all, and an agent wants recent tickets.
		ids, err := sr.newestMatches(ctx, p, s, lk, 0, RelevancePool)
		if err != nil {
			return nil, err
		}
		// A reader who sees some callers masked is ranked by the other
		// text alone, or a name would lift its tickets.
		rank := q.TSQuery(0)
		if d := sr.Tickets.Disclosure(p); d.Spec().PersonalWeights != "" && !d.WholeEverywhere() {
			rank = q.TSQueryIn(d.Spec().PublicWeights())
		}
		rows, err := sr.Pool.Query(ctx, `SELECT ticket_id FROM ticket_search WHERE ticket_id = ANY($1)
			ORDER BY ts_rank(doc, $2::tsquery) DESC, ticket_id DESC LIMIT $3 OFFSET $4`, ids, rank, limit, s.After)
		if err != nil {
			return nil, fmt.Errorf("ranking tickets: %w", err)
		}
		ranked, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return nil, fmt.Errorf("ranking tickets: %w", err)
		}
		tickets, err = sr.Tickets.ByID(ctx, ranked)
		if err != nil {
			return nil, err
		}
	default:
		order, offset := "t.id DESC", int64(0)
		switch s.Sort {
		case "", SortNewest, SortRelevance:
			if s.After > 0 {
				args = append(args, s.After)
				where += fmt.Sprintf(" AND t.id < $%d", len(args))
			}
		case SortOldest:
			order = "t.id"
			if s.After > 0 {
				args = append(args, s.After)
				where += fmt.Sprintf(" AND t.id > $%d", len(args))
			}
		case SortDeadline:
			order, offset = "t.deadline NULLS LAST, t.id", s.After
		default:
			return nil, gql.FieldError("sort", "未知的排序 %q", s.Sort)
		}
		tickets, err = sr.Tickets.Query(ctx, ticket.Select+` JOIN ticket_search s ON s.ticket_id = t.id WHERE `+where+
			fmt.Sprintf(` ORDER BY %s LIMIT %d OFFSET %d`, order, limit, offset), args...)
		if err != nil {
			return nil, err
		}
	}
	out := make([]Hit, len(tickets))
	for i, t := range tickets {
		out[i] = Hit{Ticket: t, Highlights: sr.highlights(t, q)}
	}
	return out, nil
}

// separateFlows are the facet entries of flows kept out of ticket lists.
func (sr *Searcher) separateFlows() []string {
	var out []string
	if sr.Config == nil || sr.Config.Current() == nil {
		return nil
	}
	for _, d := range sr.Config.Current().All(flow.Kind) {
		if f := d.Model.(*flow.Flow); f.Separate {
			out = append(out, ticket.FacetFlow+"="+f.Name)
		}
	}
	return out
}

// RelevancePool is how many of the newest matches relevance ranks.
const RelevancePool = 500

// matchWindows are how many id buckets, newest first, a search looks in
// before the whole table (0). The buckets are matched inside the index,
// with the words or facets. PostgreSQL's GIN index keeps no positions, so each
// match of a phrase is checked against its row, and it misjudges how many
// rows a phrase or a facet matches: for a condition matching a few
// percent of a million tickets it would read tens of thousands of rows
// before the newest twenty are known. Within a window it reads a few
// hundred; a frequent term fills the page in the first window, a rare one
// is cheap to look for everywhere.
var matchWindows = []int64{2, 10, 0}

// newestMatches returns the ids of the newest n tickets in p's scope
// matching s below after (0: from the newest ticket).
func (sr *Searcher) newestMatches(ctx context.Context, p *identity.Principal, s Search, lk lookups, after int64, n int) ([]int64, error) {
	upper := after
	if upper <= 0 {
		if err := sr.Pool.QueryRow(ctx, `SELECT COALESCE(max(ticket_id), 0) + 1 FROM ticket_search`).Scan(&upper); err != nil {
			return nil, fmt.Errorf("searching tickets: %w", err)
		}
	}
	top := ticket.Bucket(upper - 1)
	for _, w := range matchWindows {
		var buckets []int64
		for b := top; w > 0 && b > top-w && b >= 0; b-- {
			buckets = append(buckets, b)
		}
		args := []any{}
		where, _, err := sr.buildWhere(p, s, lk, buckets, &args)
		if err != nil {
			return nil, err
		}
		args = append(args, upper)
		// "+ 0": walking the key backwards and testing every row is what
		// PostgreSQL picks when it thinks matches are dense, and it reads
		// the whole table when they are not; the window bounds the other
		// plan.
		rows, err := sr.Pool.Query(ctx, fmt.Sprintf(`SELECT s.ticket_id FROM tickets t JOIN ticket_search s ON s.ticket_id = t.id
			WHERE %s AND s.ticket_id < $%d ORDER BY s.ticket_id + 0 DESC LIMIT %d`, where, len(args), n), args...)
		if err != nil {
			return nil, fmt.Errorf("searching tickets: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return nil, fmt.Errorf("searching tickets: %w", err)
		}
		if len(ids) == n || w == 0 || top-w < 0 {
			return ids, nil
		}
	}
	return nil, nil
}

// highlights are fragments of the ticket's full-text fields that match.
func (sr *Searcher) highlights(t ticket.Ticket, q fulltext.Query) []Highlight {
	if q.Empty() {
		return nil
	}
	var out []Highlight
	for _, fl := range sr.Tickets.IndexSpec().Text {
		text, ok := t.Fields[fl.Name].(string)
		if !ok {
			if a, isAddr := t.Fields[fl.Name].(map[string]any); isAddr {
				text, _ = a["detail"].(string)
			}
		}
		if frag := q.Highlight(text, 80); frag != "" {
			out = append(out, Highlight{Field: fl.Name, Label: fl.Label, Fragment: frag})
		}
	}
	return out
}

// disclosed are a hit's highlights as the reader may see them: a
// personal field the reader sees masked is not highlighted at all, since
// a highlight says that the field holds the words searched for.
func disclosed(d *ticket.Disclosure, t *ticket.Ticket, hs []Highlight) []Highlight {
	out := make([]Highlight, 0, len(hs))
	for _, h := range hs {
		if !d.Personal(t, h.Field) {
			out = append(out, h)
		}
	}
	return out
}

// CountCap is where the count shown with a search stops: beyond it a user
// learns "more than 10,000", and the count does not read every match of
// a common word (Elasticsearch stops at the same number by default).
const CountCap = 10_000

// CountTickets counts the tickets in p's scope matching s, up to limit
// (0: all of them).
func (sr *Searcher) CountTickets(ctx context.Context, p *identity.Principal, s Search, limit int64) (int64, error) {
	args := []any{}
	where, _, err := sr.where(ctx, p, s, &args)
	if err != nil {
		return 0, err
	}
	sql := `SELECT count(*) FROM tickets t JOIN ticket_search s ON s.ticket_id = t.id WHERE ` + where
	if limit > 0 {
		sql = fmt.Sprintf(`SELECT count(*) FROM (SELECT 1 FROM tickets t JOIN ticket_search s ON s.ticket_id = t.id WHERE %s LIMIT %d) capped`, where, limit)
	}
	var n int64
	err = sr.Pool.QueryRow(ctx, sql, args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting tickets: %w", err)
	}
	return n, nil
}

// FacetCount is one value of a facet with the number of matching tickets.
type FacetCount struct {
	Value string `json:"value"`
	Label string `json:"label"`
	Count int64  `json:"count"`
}

// Facet is the counts of one facet's values among the matches.
type Facet struct {
	Name   string       `json:"name"`
	Label  string       `json:"label"`
	Values []FacetCount `json:"values"`
}

// FacetTickets counts the newest CountCap matches of s by each value of
// the named facets (all of them when names is empty), most frequent
// first: exact up to CountCap matches, the recent distribution beyond.
func (sr *Searcher) FacetTickets(ctx context.Context, p *identity.Principal, s Search, names []string) ([]Facet, error) {
	spec := sr.Tickets.IndexSpec()
	labels := map[string]string{ticket.FacetState: "状态", ticket.FacetUnit: "承办单位"}
	fields := map[string]*form.Field{}
	for _, fl := range spec.Facets {
		if fl.Type == form.Address {
			for _, level := range fl.Levels() {
				labels[fl.Name+"."+level.Key] = fl.Label + "·" + level.Label
			}
		} else {
			labels[fl.Name] = fl.Label
			fields[fl.Name] = fl
		}
	}
	if len(names) == 0 {
		for name := range labels {
			names = append(names, name)
		}
		slices.Sort(names)
	}
	for _, n := range names {
		if _, ok := labels[n]; !ok {
			return nil, gql.FieldError("facets", "没有名为 %q 的筛选项", n)
		}
	}
	args := []any{}
	where, _, err := sr.where(ctx, p, s, &args)
	if err != nil {
		return nil, err
	}
	prefixes := make([]string, len(names))
	for i, n := range names {
		prefixes[i] = n + "="
	}
	args = append(args, prefixes)
	rows, err := sr.Pool.Query(ctx, fmt.Sprintf(`SELECT f, count(*) FROM (SELECT s.facets FROM tickets t JOIN ticket_search s ON s.ticket_id = t.id
		WHERE %s ORDER BY s.ticket_id DESC LIMIT %d) m, unnest(m.facets) f WHERE split_part(f, '=', 1) || '=' = ANY($%d) GROUP BY f`, where, CountCap, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("counting facets: %w", err)
	}
	defer rows.Close()
	byName := map[string]*Facet{}
	var unitCodes []string
	for rows.Next() {
		var entry string
		var n int64
		if err := rows.Scan(&entry, &n); err != nil {
			return nil, fmt.Errorf("counting facets: %w", err)
		}
		name, value, _ := strings.Cut(entry, "=")
		fc := byName[name]
		if fc == nil {
			fc = &Facet{Name: name, Label: labels[name]}
			byName[name] = fc
		}
		label := value
		if fl, ok := fields[name]; ok {
			label = fl.OptionLabel(value)
		}
		if name == ticket.FacetUnit || strings.Contains(name, ".") {
			unitCodes = append(unitCodes, value)
		}
		fc.Values = append(fc.Values, FacetCount{Value: value, Label: label, Count: n})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	unitNames, err := ticket.DBUnitNames(sr.Pool)(ctx, unitCodes)
	if err != nil {
		return nil, err
	}
	out := make([]Facet, 0, len(names))
	for _, name := range names {
		fc := byName[name]
		if fc == nil {
			fc = &Facet{Name: name, Label: labels[name], Values: []FacetCount{}}
		}
		for i := range fc.Values {
			v := &fc.Values[i]
			if n, ok := unitNames[v.Value]; ok && (name == ticket.FacetUnit || strings.Contains(name, ".")) {
				v.Label = n
			}
			if name == ticket.FacetState {
				v.Label = flow.StateLabel(sr.Config.Current(), v.Value)
			}
		}
		sort.SliceStable(fc.Values, func(i, j int) bool {
			if fc.Values[i].Count != fc.Values[j].Count {
				return fc.Values[i].Count > fc.Values[j].Count
			}
			return fc.Values[i].Value < fc.Values[j].Value
		})
		out = append(out, *fc)
	}
	return out, nil
}

// callerKeys are the callers entries of a phone number and a name.
func callerKeys(phone, name string) []string {
	var keys []string
	if p := form.NormalizePhone(phone); p != "" {
		keys = append(keys, "p:"+p)
	}
	if n := strings.TrimSpace(name); n != "" {
		keys = append(keys, "n:"+n)
	}
	return keys
}

// InTransitHit is an open ticket of the same caller.
type InTransitHit struct {
	Ticket    ticket.Ticket `json:"ticket"`
	MatchedBy []string      `json:"matchedBy"`
}

// InTransit finds open tickets in p's scope whose caller has the phone
// number or name, or whose caller address contains address (在途提示), so
// an agent sees at once that a caller already has a ticket running.
func (sr *Searcher) InTransit(ctx context.Context, p *identity.Principal, phone, name, address string) ([]InTransitHit, error) {
	args := []any{}
	conds := []string{"s.open", sr.Tickets.Visible(p, &args)}
	var either []string
	d := sr.Tickets.Disclosure(p)
	keys := callerKeys(phone, name)
	personalAddress := strings.ContainsRune(d.Spec().PersonalWeights, rune(ticket.WeightAddress)) && strings.TrimSpace(address) != ""
	whole := "TRUE"
	if len(d.Spec().Personal) > 0 && (len(keys) > 0 || personalAddress) {
		whole = d.WholeSQL(&args)
	}
	if len(keys) > 0 {
		args = append(args, keys)
		// A caller is found only on the tickets where the reader sees
		// callers whole.
		either = append(either, fmt.Sprintf("(s.callers && $%d::text[] AND %s)", len(args), whole))
	}
	// The address is searched as a query is (a tsquery), so it has a
	// query's bounds.
	addr, _, err := parseQuery(address)
	if err != nil {
		ge, _ := gql.AsError(err)
		return nil, &gql.Error{Code: ge.Code, Field: "address", Extra: ge.Extra, Message: "地址" + strings.TrimPrefix(ge.Message, "搜索词")}
	}
	if !addr.Empty() {
		args = append(args, addr.TSQuery(ticket.WeightAddress))
		cond := fmt.Sprintf("s.doc @@ $%d::tsquery", len(args))
		if personalAddress {
			cond = "(" + cond + " AND " + whole + ")"
		}
		either = append(either, cond)
	}
	if len(either) == 0 {
		return nil, gql.FieldError("phone", "请至少提供电话、姓名或地址之一")
	}
	conds = append(conds, "("+strings.Join(either, " OR ")+")")
	found, err := sr.Tickets.Query(ctx, ticket.Select+` JOIN ticket_search s ON s.ticket_id = t.id WHERE `+strings.Join(conds, " AND ")+
		` ORDER BY t.id DESC LIMIT 20`, args...)
	if err != nil {
		return nil, fmt.Errorf("finding tickets in transit: %w", err)
	}
	spec := sr.Tickets.IndexSpec()
	// The unit names of every hit's address, in one query.
	var names map[string]string
	if !addr.Empty() {
		var codes []string
		for _, t := range found {
			codes = append(codes, ticket.AddressCodes(spec.Caller["address"], t.Fields)...)
		}
		if names, err = ticket.DBUnitNames(sr.Pool)(ctx, codes); err != nil {
			return nil, err
		}
	}
	out := []InTransitHit{}
	for _, t := range found {
		h := InTransitHit{Ticket: t, MatchedBy: []string{}}
		match := func(role string, ok func(fl *form.Field, v any) bool) {
			for _, fl := range spec.Caller[role] {
				if !d.Personal(&t, fl.Name) && ok(fl, t.Fields[fl.Name]) {
					h.MatchedBy = append(h.MatchedBy, role)
					return
				}
			}
		}
		if phone != "" {
			want := form.NormalizePhone(phone)
			match("phone", func(_ *form.Field, v any) bool { s, _ := v.(string); return s != "" && form.NormalizePhone(s) == want })
		}
		if n := strings.TrimSpace(name); n != "" {
			match("name", func(_ *form.Field, v any) bool { s, _ := v.(string); return strings.TrimSpace(s) == n })
		}
		if !addr.Empty() {
			match("address", func(fl *form.Field, v any) bool { return addr.Contains(ticket.AddressText(fl, v, names)) })
		}
		out = append(out, h)
	}
	return out, nil
}

// EachTicket streams every ticket in p's scope matching s, oldest first,
// in one query (exports of a million rows do not page), without their
// co-handling branches or action counts. With fields, a ticket's Fields
// hold only those: PostgreSQL picks them out of the stored document, so a
// million-row export does not decode every ticket's whole JSON (that was
// half of its time).
func (sr *Searcher) EachTicket(ctx context.Context, p *identity.Principal, s Search, fields []string, fn func(ticket.Ticket) error) error {
	args := []any{}
	where, _, err := sr.where(ctx, p, s, &args)
	if err != nil {
		return err
	}
	cols := `t.fields`
	if fields != nil {
		// Whether a ticket is confidential decides what its reader sees of
		// the personal fields, so those flags come along.
		for _, name := range sr.Tickets.IndexSpec().Confidential {
			if !slices.Contains(fields, name) {
				fields = append(slices.Clip(fields), name)
			}
		}
		picks := make([]string, len(fields))
		for i, f := range fields {
			args = append(args, f)
			picks[i] = fmt.Sprintf("t.fields -> $%d::text", len(args))
		}
		cols = strings.Join(append([]string{"NULL::jsonb"}, picks...), ", ")
	}
	rows, err := sr.Pool.Query(ctx, `SELECT t.id, t.number, t.flow, t.flow_version, t.state, t.version, t.scope_path, t.creator_id, cu.username,
		t.deadline, t.paused_remaining, t.created_at, t.closed_at,
		hu.id, hu.code, hu.name, hu.kind, COALESCE(hpu.code, ''), COALESCE(hpu.kind, ''), hu.path, COALESCE(husr.username, ''), `+cols+ticket.Joins+`
		JOIN ticket_search s ON s.ticket_id = t.id WHERE `+where+` ORDER BY t.id`, args...)
	if err != nil {
		return fmt.Errorf("reading tickets: %w", err)
	}
	defer rows.Close()
	var (
		t                                        ticket.Ticket
		unitID                                   *int64
		code, name, kind, parentCode, parentKind *string
		path                                     *string
		raw                                      = make([][]byte, len(fields))
	)
	dest := []any{&t.ID, &t.Number, &t.Flow, &t.FlowVersion, &t.State, &t.Version, &t.ScopePath, &t.CreatorID, &t.Creator,
		&t.Deadline, &t.PausedRemaining, &t.CreatedAt, &t.ClosedAt,
		&unitID, &code, &name, &kind, &parentCode, &parentKind, &path, &t.HolderUser, &t.Fields}
	for i := range raw {
		dest = append(dest, &raw[i])
	}
	for rows.Next() {
		t = ticket.Ticket{}
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("reading tickets: %w", err)
		}
		if unitID != nil {
			t.HolderUnit = &ticket.UnitRef{ID: *unitID, Code: *code, Name: *name, Kind: *kind, ParentCode: *parentCode, ParentKind: *parentKind, Path: *path}
		}
		if t.Fields == nil {
			t.Fields = make(map[string]any, len(fields))
		}
		for i, b := range raw {
			v, err := jsonValue(b)
			if err != nil {
				return fmt.Errorf("reading field %s of ticket %s: %w", fields[i], t.Number, err)
			}
			if v != nil {
				t.Fields[fields[i]] = v
			}
		}
		t.Counts = map[string]int{}
		if err := fn(t); err != nil {
			return err
		}
	}
	return rows.Err()
}

// jsonValue decodes one field's JSON as PostgreSQL writes it. Most fields
// are strings without escapes, which need no decoder.
func jsonValue(b []byte) (any, error) {
	if b == nil {
		return nil, nil
	}
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' && !bytes.ContainsAny(b[1:len(b)-1], `\"`) {
		return string(b[1 : len(b)-1]), nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// AttachmentVisible reports whether an attachment is on a ticket in p's
// scope.
func (sr *Searcher) AttachmentVisible(ctx context.Context, p *identity.Principal, id string) (bool, error) {
	args := []any{[]string{ticket.FacetAttachment + "=" + id}}
	var ok bool
	err := sr.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tickets t JOIN ticket_search s ON s.ticket_id = t.id
		WHERE s.facets @> $1::text[] AND `+sr.Tickets.Visible(p, &args)+`)`, args...).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("looking for attachment %s on tickets: %w", id, err)
	}
	return ok, nil
}

// SimilarHit is an open ticket like the one being registered.
type SimilarHit struct {
	Ticket ticket.Ticket `json:"ticket"`
	Score  float64       `json:"score"`
	// Shared are the facet entries (name=value) it shares.
	Shared []string `json:"shared"`
}

// similarCandidates bounds how many recent open tickets are compared.
const similarCandidates = 300

// Similar suggests open tickets in p's scope like a new one (duplicates
// to merge, or a cluster of complaints, 群诉): tickets sharing any of the
// given facet values (the same street, the same category) registered in
// the last days, ranked by how much of their text they share with text.
func (sr *Searcher) Similar(ctx context.Context, p *identity.Principal, text string, facets map[string]string, days, first int) ([]SimilarHit, error) {
	want := fulltext.Bigrams(text)
	if len(want) == 0 {
		return nil, gql.FieldError("text", "请提供诉求内容")
	}
	var entries []string
	for name, v := range facets {
		if v != "" {
			entries = append(entries, name+"="+v)
		}
	}
	slices.Sort(entries)
	args := []any{}
	conds := []string{"s.open", sr.Tickets.Visible(p, &args)}
	if len(entries) > 0 {
		args = append(args, entries)
		conds = append(conds, fmt.Sprintf("s.facets && $%d::text[]", len(args)))
	}
	args = append(args, sr.Tickets.Now().AddDate(0, 0, -max(days, 1)))
	conds = append(conds, fmt.Sprintf("s.created_at >= $%d", len(args)))
	candidates, err := sr.Tickets.Query(ctx, ticket.Select+` JOIN ticket_search s ON s.ticket_id = t.id WHERE `+strings.Join(conds, " AND ")+
		fmt.Sprintf(` ORDER BY t.id DESC LIMIT %d`, similarCandidates), args...)
	if err != nil {
		return nil, fmt.Errorf("finding similar tickets: %w", err)
	}
	d := sr.Tickets.Disclosure(p)
	var out []SimilarHit
	for _, t := range candidates {
		var parts []string
		for _, fl := range d.Spec().Text {
			if s, ok := t.Fields[fl.Name].(string); ok && !d.Personal(&t, fl.Name) {
				parts = append(parts, s)
			}
		}
		score := fulltext.Similarity(want, fulltext.Bigrams(strings.Join(parts, "\n")))
		if score < 0.15 {
			continue
		}
		h := SimilarHit{Ticket: t, Score: score, Shared: []string{}}
		for _, f := range d.Spec().FacetEntries(t) {
			if slices.Contains(entries, f) {
				h.Shared = append(h.Shared, f)
			}
		}
		out = append(out, h)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out[:min(len(out), max(first, 1))], nil
}

// visibleSet is visible for lists and searches: the tickets in scope as a
// set built from indexes (the scope's holder paths, the principal's own
// tickets, branches held in scope). A single ticket is checked with
// visible.
func visibleSet(p *identity.Principal, args *[]any) string {
	if p.Scope == identity.ScopeAll {
		return "TRUE"
	}
	return "t.id IN (" + scopeIDs(p, args) + ")"
}

func scopeIDs(p *identity.Principal, args *[]any) string {
	scope := p.ScopeSQL("vt.scope_path", args)
	branchScope := p.ScopeSQL("bu.path", args)
	*args = append(*args, p.UserID)
	return fmt.Sprintf(`SELECT vt.id FROM tickets vt WHERE %s
		UNION SELECT vc.id FROM tickets vc WHERE vc.creator_id = $%d
		UNION SELECT b.ticket_id FROM ticket_branches b JOIN units bu ON bu.id = b.unit_id WHERE %s`, scope, len(*args), branchScope)
}

// smallScope is how many tickets a scope may hold to be searched as a
// list of ids.
var smallScope = 5000

// smallScopeIDs reads the tickets in p's scope when they are few (a
// street or a bureau holding a few thousand of a million tickets); nil
// when the scope is everything or too large for a list.
func (sr *Searcher) smallScopeIDs(ctx context.Context, p *identity.Principal) ([]int64, error) {
	if p.Scope == identity.ScopeAll {
		return nil, nil
	}
	var a []any
	rows, err := sr.Pool.Query(ctx, scopeIDs(p, &a)+fmt.Sprintf(" LIMIT %d", smallScope+1), a...)
	if err != nil {
		return nil, fmt.Errorf("reading the tickets in scope: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("reading the tickets in scope: %w", err)
	}
	if len(ids) > smallScope {
		return nil, nil
	}
	if ids == nil {
		ids = []int64{} // a scope holding nothing is small, not large
	}
	return ids, nil
}

// scopeCondition limits a list or search to p's scope: a small scope as
// the list of its ticket ids (from smallScopeIDs), so PostgreSQL looks at
// those rows and never at every match of a common word; a large one as a
// subquery.
func (sr *Searcher) scopeCondition(p *identity.Principal, small []int64, args *[]any) string {
	var cond string
	if small == nil {
		cond = visibleSet(p, args)
	} else {
		*args = append(*args, small)
		cond = fmt.Sprintf("t.id = ANY($%d::bigint[]) AND s.ticket_id = ANY($%d::bigint[])", len(*args), len(*args))
	}
	if r := sr.Tickets.ReadScope(p, args); r != "" {
		cond += " AND " + r
	}
	return cond
}
