package flow

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hotline12345/hotline/core/form"
	"github.com/hotline12345/hotline/core/fulltext"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/store"
)

// Filter narrows ticket lists, searches and exports. Entries of one facet
// are alternatives; everything else must all hold.
type Filter struct {
	States []string
	// Units are holder unit codes; a ticket held by a unit below one
	// counts (a district's filter includes its streets).
	Units []string
	// Facets maps a facet (state, unit, a form's facet field, or
	// address.district / address.street / address.community) to values.
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

// Hit is a found ticket with fragments of its matching fields.
type Hit struct {
	Ticket
	Highlights []Highlight `json:"highlights"`
}

// Highlight is a fragment of a field with matches in <mark></mark>.
type Highlight struct {
	Field    string `json:"field"`
	Label    string `json:"label"`
	Fragment string `json:"fragment"`
}

// where builds the conditions of a search for p: text, filters and scope.
// Placeholders are numbered after args.
func (e *Engine) where(ctx context.Context, p *identity.Principal, s Search, args *[]any) (string, fulltext.Query, error) {
	conds := []string{visible(p, args)}
	arg := func(v any) string {
		*args = append(*args, v)
		return fmt.Sprintf("$%d", len(*args))
	}
	q := fulltext.ParseQuery(s.Query)
	if !q.Empty() {
		conds = append(conds, "s.doc @@ "+arg(q.TSQuery(0))+"::tsquery")
	} else if len(q.Exclude) > 0 {
		return "", q, gql.FieldError("query", "搜索词不能只有排除项")
	}
	f := s.Filter
	spec := e.indexSpec()
	facets := map[string][]string{}
	for name, values := range f.Facets {
		base, _, _ := strings.Cut(name, ".")
		if _, ok := spec.Facet(base); !ok && name != FacetState && name != FacetUnit && name != FacetFlow {
			return "", q, gql.FieldError("filter.facets", "没有名为 %q 的筛选项", name)
		}
		facets[name] = values
	}
	if len(f.States) > 0 {
		facets[FacetState] = append(facets[FacetState], f.States...)
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
	if len(f.Units) > 0 {
		var paths []string
		rows, err := e.pool.Query(ctx, `SELECT path FROM units WHERE code = ANY($1)`, f.Units)
		if err != nil {
			return "", q, fmt.Errorf("reading filter units: %w", err)
		}
		for rows.Next() {
			var path string
			if err := rows.Scan(&path); err != nil {
				rows.Close()
				return "", q, err
			}
			paths = append(paths, store.EscapeLike(path)+"%")
		}
		rows.Close()
		if len(paths) < len(f.Units) {
			return "", q, gql.FieldError("filter.units", "筛选的单位不存在")
		}
		conds = append(conds, "t.scope_path LIKE ANY ("+arg(paths)+"::text[])")
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
	}
	if f.Open != nil {
		conds = append(conds, "s.open = "+arg(*f.Open))
	}
	if f.Overdue != nil {
		op := "<"
		if !*f.Overdue {
			op = ">="
		}
		conds = append(conds, fmt.Sprintf("(t.closed_at IS NULL AND t.deadline IS NOT NULL AND t.deadline %s %s)", op, arg(e.Now())))
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
func (e *Engine) SearchTickets(ctx context.Context, p *identity.Principal, s Search) ([]Hit, error) {
	args := []any{}
	where, q, err := e.where(ctx, p, s, &args)
	if err != nil {
		return nil, err
	}
	limit := min(max(s.First, 1), 1000) + 1
	order := "t.id DESC"
	offset := int64(0)
	switch s.Sort {
	case "", SortNewest:
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
	case SortRelevance:
		if !q.Empty() {
			args = append(args, q.TSQuery(0))
			order = fmt.Sprintf("ts_rank(s.doc, $%d::tsquery) DESC, t.id DESC", len(args))
		}
		offset = s.After
	case SortDeadline:
		order = "t.deadline NULLS LAST, t.id"
		offset = s.After
	default:
		return nil, gql.FieldError("sort", "未知的排序 %q", s.Sort)
	}
	sql := ticketSelect + ` JOIN ticket_search s ON s.ticket_id = t.id WHERE ` + where +
		fmt.Sprintf(` ORDER BY %s LIMIT %d OFFSET %d`, order, limit, offset)
	rows, err := e.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("searching tickets: %w", err)
	}
	defer rows.Close()
	var out []Hit
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, fmt.Errorf("searching tickets: %w", err)
		}
		out = append(out, Hit{Ticket: t, Highlights: e.highlights(t, q)})
	}
	return out, rows.Err()
}

// highlights are fragments of the ticket's full-text fields that match.
func (e *Engine) highlights(t Ticket, q fulltext.Query) []Highlight {
	if q.Empty() {
		return nil
	}
	var out []Highlight
	for _, fl := range e.indexSpec().Text {
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

// CountTickets counts the tickets in p's scope matching s.
func (e *Engine) CountTickets(ctx context.Context, p *identity.Principal, s Search) (int64, error) {
	args := []any{}
	where, _, err := e.where(ctx, p, s, &args)
	if err != nil {
		return 0, err
	}
	var n int64
	err = e.pool.QueryRow(ctx, `SELECT count(*) FROM tickets t JOIN ticket_search s ON s.ticket_id = t.id WHERE `+where, args...).Scan(&n)
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

// FacetTickets counts the matches of s by each value of the named facets
// (all of them when names is empty), most frequent first.
func (e *Engine) FacetTickets(ctx context.Context, p *identity.Principal, s Search, names []string) ([]Facet, error) {
	spec := e.indexSpec()
	labels := map[string]string{FacetState: "状态", FacetUnit: "承办单位"}
	fields := map[string]*form.Field{}
	for _, fl := range spec.Facets {
		if fl.Type == form.Address {
			for _, level := range addressLevels {
				labels[fl.Name+"."+level] = fl.Label + "·" + map[string]string{"district": "区县", "street": "街道", "community": "社区"}[level]
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
	where, _, err := e.where(ctx, p, s, &args)
	if err != nil {
		return nil, err
	}
	prefixes := make([]string, len(names))
	for i, n := range names {
		prefixes[i] = n + "="
	}
	args = append(args, prefixes)
	rows, err := e.pool.Query(ctx, fmt.Sprintf(`SELECT f, count(*) FROM tickets t JOIN ticket_search s ON s.ticket_id = t.id,
		unnest(s.facets) f WHERE %s AND split_part(f, '=', 1) || '=' = ANY($%d) GROUP BY f`, where, len(args)), args...)
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
		if name == FacetUnit || strings.Contains(name, ".") {
			unitCodes = append(unitCodes, value)
		}
		fc.Values = append(fc.Values, FacetCount{Value: value, Label: label, Count: n})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	unitNames, err := DBUnitNames(e.pool)(ctx, unitCodes)
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
			if n, ok := unitNames[v.Value]; ok && (name == FacetUnit || strings.Contains(name, ".")) {
				v.Label = n
			}
			if name == FacetState {
				v.Label = e.stateLabel(v.Value)
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

// stateLabel is the label of a state in the running flows (a state name
// shared by flows is taken to mean the same).
func (e *Engine) stateLabel(state string) string {
	for _, d := range e.config.Current().All(Kind) {
		if st, ok := d.Model.(*Flow).State(state); ok {
			return st.Label
		}
	}
	return state
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
	Ticket    Ticket   `json:"ticket"`
	MatchedBy []string `json:"matchedBy"`
}

// InTransit finds open tickets in p's scope whose caller has the phone
// number or name, or whose caller address contains address (在途提示), so
// an agent sees at once that a caller already has a ticket running.
func (e *Engine) InTransit(ctx context.Context, p *identity.Principal, phone, name, address string) ([]InTransitHit, error) {
	args := []any{}
	conds := []string{"s.open", visible(p, &args)}
	var either []string
	keys := callerKeys(phone, name)
	if len(keys) > 0 {
		args = append(args, keys)
		either = append(either, fmt.Sprintf("s.callers && $%d::text[]", len(args)))
	}
	addr := fulltext.ParseQuery(address)
	if !addr.Empty() {
		args = append(args, addr.TSQuery(weightAddress))
		either = append(either, fmt.Sprintf("s.doc @@ $%d::tsquery", len(args)))
	}
	if len(either) == 0 {
		return nil, gql.FieldError("phone", "请至少提供电话、姓名或地址之一")
	}
	conds = append(conds, "("+strings.Join(either, " OR ")+")")
	rows, err := e.pool.Query(ctx, ticketSelect+` JOIN ticket_search s ON s.ticket_id = t.id WHERE `+strings.Join(conds, " AND ")+
		` ORDER BY t.id DESC LIMIT 20`, args...)
	if err != nil {
		return nil, fmt.Errorf("finding tickets in transit: %w", err)
	}
	spec := e.indexSpec()
	var found []Ticket
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("finding tickets in transit: %w", err)
		}
		found = append(found, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("finding tickets in transit: %w", err)
	}
	out := []InTransitHit{}
	for _, t := range found {
		h := InTransitHit{Ticket: t, MatchedBy: []string{}}
		match := func(role string, ok func(v any) bool) {
			for _, fl := range spec.Caller[role] {
				if ok(t.Fields[fl.Name]) {
					h.MatchedBy = append(h.MatchedBy, role)
					return
				}
			}
		}
		if phone != "" {
			want := form.NormalizePhone(phone)
			match("phone", func(v any) bool { s, _ := v.(string); return s != "" && form.NormalizePhone(s) == want })
		}
		if n := strings.TrimSpace(name); n != "" {
			match("name", func(v any) bool { s, _ := v.(string); return strings.TrimSpace(s) == n })
		}
		if !addr.Empty() {
			names, err := DBUnitNames(e.pool)(ctx, addressCodes(spec.Caller["address"], t.Fields))
			if err != nil {
				return nil, err
			}
			match("address", func(v any) bool { return addr.Contains(addressText(v, names)) })
		}
		out = append(out, h)
	}
	return out, nil
}

// EachTicket streams every ticket in p's scope matching s, oldest first,
// in one query (exports of a million rows do not page).
func (e *Engine) EachTicket(ctx context.Context, p *identity.Principal, s Search, fn func(Ticket) error) error {
	args := []any{}
	where, _, err := e.where(ctx, p, s, &args)
	if err != nil {
		return err
	}
	rows, err := e.pool.Query(ctx, ticketSelect+` JOIN ticket_search s ON s.ticket_id = t.id WHERE `+where+` ORDER BY t.id`, args...)
	if err != nil {
		return fmt.Errorf("reading tickets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return fmt.Errorf("reading tickets: %w", err)
		}
		if err := fn(t); err != nil {
			return err
		}
	}
	return rows.Err()
}

// StateLabel is the label of a state in the running flows.
func (e *Engine) StateLabel(state string) string { return e.stateLabel(state) }

// AttachmentVisible reports whether an attachment is on a ticket in p's
// scope.
func (e *Engine) AttachmentVisible(ctx context.Context, p *identity.Principal, id string) (bool, error) {
	args := []any{[]string{FacetAttachment + "=" + id}}
	var ok bool
	err := e.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tickets t JOIN ticket_search s ON s.ticket_id = t.id
		WHERE s.facets @> $1::text[] AND `+visible(p, &args)+`)`, args...).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("looking for attachment %s on tickets: %w", id, err)
	}
	return ok, nil
}

// SimilarHit is an open ticket like the one being registered.
type SimilarHit struct {
	Ticket Ticket  `json:"ticket"`
	Score  float64 `json:"score"`
	// Shared are the facet entries (name=value) it shares.
	Shared []string `json:"shared"`
}

// similarCandidates bounds how many recent open tickets are compared.
const similarCandidates = 300

// Similar suggests open tickets in p's scope like a new one (duplicates
// to merge, or a cluster of complaints, 群诉): tickets sharing any of the
// given facet values (the same street, the same category) registered in
// the last days, ranked by how much of their text they share with text.
func (e *Engine) Similar(ctx context.Context, p *identity.Principal, text string, facets map[string]string, days, first int) ([]SimilarHit, error) {
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
	conds := []string{"s.open", visible(p, &args)}
	if len(entries) > 0 {
		args = append(args, entries)
		conds = append(conds, fmt.Sprintf("s.facets && $%d::text[]", len(args)))
	}
	args = append(args, e.Now().AddDate(0, 0, -max(days, 1)))
	conds = append(conds, fmt.Sprintf("s.created_at >= $%d", len(args)))
	rows, err := e.pool.Query(ctx, ticketSelect+` JOIN ticket_search s ON s.ticket_id = t.id WHERE `+strings.Join(conds, " AND ")+
		fmt.Sprintf(` ORDER BY t.id DESC LIMIT %d`, similarCandidates), args...)
	if err != nil {
		return nil, fmt.Errorf("finding similar tickets: %w", err)
	}
	defer rows.Close()
	spec := e.indexSpec()
	var out []SimilarHit
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, fmt.Errorf("finding similar tickets: %w", err)
		}
		var parts []string
		for _, fl := range spec.Text {
			if s, ok := t.Fields[fl.Name].(string); ok {
				parts = append(parts, s)
			}
		}
		score := fulltext.Similarity(want, fulltext.Bigrams(strings.Join(parts, "\n")))
		if score < 0.15 {
			continue
		}
		h := SimilarHit{Ticket: t, Score: score, Shared: []string{}}
		row, err := spec.BuildIndexRow(ctx, t, func(context.Context, []string) (map[string]string, error) { return nil, nil })
		if err != nil {
			return nil, err
		}
		for _, f := range row.Facets {
			if slices.Contains(entries, f) {
				h.Shared = append(h.Shared, f)
			}
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out[:min(len(out), max(first, 1))], nil
}
