package ticket

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/core/form"
	"github.com/hotline12345/hotline/core/fulltext"
	"github.com/hotline12345/hotline/core/registry"
)

// The search index (ticket_search) is one row per ticket, written in the
// same transaction as the ticket, so a ticket is found the moment it
// commits, by every node. What goes in it is configuration: form fields
// marked search (full text), facet (filters with counts) and caller (the
// in-transit hint). `hotline reindex` rebuilds it from the tickets.

// Weights in a ticket's document: caller names and addresses get their
// own, so the in-transit hint can look for an address in addresses only.
// The ticket's number has WeightNumber, other searched text WeightText.
const (
	WeightNumber  = fulltext.WeightA
	WeightName    = fulltext.WeightB
	WeightAddress = fulltext.WeightC
	WeightText    = fulltext.WeightD
)

// callerWeights are the document weights of the caller fields' text.
var callerWeights = map[string]byte{"name": WeightName, "address": WeightAddress}

// IndexSpec is what the forms of a configuration put in the index.
type IndexSpec struct {
	Text   []*form.Field
	Facets []*form.Field
	// Caller fields by role: phone, name, address.
	Caller map[string][]*form.Field
	// Attachments are every attachment field: their ids are indexed so a
	// download can be allowed to whoever may see a ticket holding it.
	Attachments []*form.Field
	// Personal maps each field marked personal to its mask, by name:
	// wherever the name appears (a ticket's fields, an action's input)
	// its value is personal data.
	Personal map[string]form.Mask
	// Confidential are the boolean fields whose true value makes a
	// ticket confidential.
	Confidential []string
	// Summary are the forms' summary fields, by name, in the forms' order.
	Summary []string
	// PersonalWeights are the weights of the search document that hold
	// personal text (callers' names, their addresses): a reader who sees
	// a ticket masked must not find it by them either.
	PersonalWeights string
}

// WeightsAll are every weight of the search document.
const WeightsAll = string(WeightNumber) + string(WeightName) + string(WeightAddress) + string(WeightText)

// PublicWeights are the weights a reader who sees a ticket masked may
// search in.
func (s *IndexSpec) PublicWeights() string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(s.PersonalWeights, r) {
			return -1
		}
		return r
	}, WeightsAll)
}

// Facet names beside the forms' facet fields.
const (
	FacetState = "state"
	FacetUnit  = "unit"
	FacetFlow  = "flow"
	// FacetAttachment entries name the attachments a ticket holds.
	FacetAttachment = "attachment"
)

// SpecOf collects the index spec of a configuration from its forms. A
// field name marked in several forms counts once (the first form's field
// decides its type).
func SpecOf(set *registry.Set) *IndexSpec {
	spec := &IndexSpec{Caller: map[string][]*form.Field{}, Personal: map[string]form.Mask{}}
	// Personal data is marked by name across the forms: a name one form
	// marks is personal wherever it is indexed.
	for _, d := range set.All(form.Kind) {
		if s := d.Model.(*form.Form).Summary; s != "" && !slices.Contains(spec.Summary, s) {
			spec.Summary = append(spec.Summary, s)
		}
		for i := range d.Model.(*form.Form).Fields {
			fl := &d.Model.(*form.Form).Fields[i]
			if _, ok := spec.Personal[fl.Name]; fl.Personal != nil && !ok {
				spec.Personal[fl.Name] = *fl.Personal
			}
			if fl.Confidential && !slices.Contains(spec.Confidential, fl.Name) {
				spec.Confidential = append(spec.Confidential, fl.Name)
			}
		}
	}
	seen, seenAttachment := map[string]bool{}, map[string]bool{}
	for _, d := range set.All(form.Kind) {
		for i := range d.Model.(*form.Form).Fields {
			fl := &d.Model.(*form.Form).Fields[i]
			if fl.Type == form.Attachment && !seenAttachment[fl.Name] {
				seenAttachment[fl.Name] = true
				spec.Attachments = append(spec.Attachments, fl)
			}
			if seen[fl.Name] || !(fl.Search || fl.Facet || fl.Caller != "") {
				continue
			}
			seen[fl.Name] = true
			_, personal := spec.Personal[fl.Name]
			w := callerWeights[fl.Caller]
			// Personal text goes into the document only under a caller's
			// weight, which readers who see it masked do not search.
			if fl.Search && (!personal || w != 0) {
				spec.Text = append(spec.Text, fl)
			}
			if fl.Facet {
				spec.Facets = append(spec.Facets, fl)
			}
			if fl.Caller != "" {
				spec.Caller[fl.Caller] = append(spec.Caller[fl.Caller], fl)
			}
			if personal && w != 0 && !strings.ContainsRune(spec.PersonalWeights, rune(w)) {
				spec.PersonalWeights += string(w)
			}
		}
	}
	return spec
}

// Summary is the line that sums t up: its first non-empty summary field
// (forms/: `summary: title`), "" when its forms name none.
func (s *Store) Summary(t Ticket) string {
	for _, name := range s.IndexSpec().Summary {
		if v, ok := t.Fields[name].(string); ok && v != "" {
			return v
		}
	}
	return ""
}

// Facet returns the facet field called name.
func (s *IndexSpec) Facet(name string) (*form.Field, bool) {
	for _, f := range s.Facets {
		if f.Name == name {
			return f, true
		}
	}
	return nil, false
}

// IndexSpec is SpecOf the running configuration, kept while it runs.
func (s *Store) IndexSpec() *IndexSpec {
	set := s.config.Current()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.specBase != set {
		s.spec, s.specBase = SpecOf(set), set
	}
	return s.spec
}

// IndexRow is a ticket's row of ticket_search.
type IndexRow struct {
	TicketID  int64
	Version   int
	CreatedAt time.Time
	Open      bool
	Doc       string // tsvector literal
	Facets    []string
	Callers   []string
}

// UnitNames resolves unit codes (of address fields) to names.
type UnitNames func(ctx context.Context, codes []string) (map[string]string, error)

// DBUnitNames resolves unit codes with q.
func DBUnitNames(q Querier) UnitNames {
	return func(ctx context.Context, codes []string) (map[string]string, error) {
		if len(codes) == 0 {
			return map[string]string{}, nil
		}
		return readUnitNames(ctx, q, `SELECT code, name FROM units WHERE code = ANY($1)`, codes)
	}
}

func readUnitNames(ctx context.Context, q Querier, sql string, args ...any) (map[string]string, error) {
	out := map[string]string{}
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("reading unit names: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var code, name string
		if err := rows.Scan(&code, &name); err != nil {
			return nil, fmt.Errorf("reading unit names: %w", err)
		}
		out[code] = name
	}
	return out, rows.Err()
}

// BuildIndexRow computes a ticket's index row from its fields.
func (s *IndexSpec) BuildIndexRow(ctx context.Context, t Ticket, names UnitNames) (IndexRow, error) {
	row := IndexRow{TicketID: t.ID, Version: t.Version, CreatedAt: t.CreatedAt, Open: t.ClosedAt == nil,
		Facets: s.FacetEntries(t), Callers: []string{}}
	// Unit codes of addresses, resolved in one query.
	unitNames, err := names(ctx, AddressCodes(s.addressFields(), t.Fields))
	if err != nil {
		return row, err
	}
	var doc fulltext.Document
	doc.Tag(BucketTag(Bucket(t.ID)))
	doc.Add(t.Number, WeightNumber)
	for _, fl := range s.Caller["name"] {
		for _, v := range t.values(fl.Name) {
			if v, ok := v.(string); ok && strings.TrimSpace(v) != "" {
				doc.Add(v, WeightName)
				row.Callers = append(row.Callers, "n:"+strings.TrimSpace(v))
			}
		}
	}
	for _, fl := range s.Caller["phone"] {
		for _, v := range t.values(fl.Name) {
			if v, ok := v.(string); ok && v != "" {
				row.Callers = append(row.Callers, "p:"+form.NormalizePhone(v))
			}
		}
	}
	for _, fl := range s.Caller["address"] {
		for _, v := range t.values(fl.Name) {
			doc.Add(AddressText(fl, v, unitNames), WeightAddress)
		}
	}
	for _, fl := range s.Text {
		if fl.Caller == "name" || fl.Caller == "address" {
			continue // added above with their own weight
		}
		for _, v := range t.values(fl.Name) {
			switch v := v.(type) {
			case string:
				if fl.Type == form.RichText {
					v = form.PlainText(v)
				}
				doc.Add(v, WeightText)
			case map[string]any:
				doc.Add(AddressText(fl, v, unitNames), WeightText)
			}
		}
	}
	row.Doc = doc.String()
	slices.Sort(row.Callers)
	row.Callers = slices.Compact(row.Callers)
	return row, nil
}

// FacetEntries are a ticket's name=value facet entries: its flow, state,
// holder unit and id bucket, the forms' facet fields, its attachments.
func (s *IndexSpec) FacetEntries(t Ticket) []string {
	out := []string{FacetFlow + "=" + t.Flow, FacetState + "=" + t.State}
	if t.HolderUnit != nil {
		out = append(out, FacetUnit+"="+t.HolderUnit.Code)
	}
	out = append(out, BucketFacet(Bucket(t.ID)))
	for _, fl := range s.Facets {
		for _, v := range t.values(fl.Name) {
			out = append(out, FacetValues(fl, v)...)
		}
	}
	for _, fl := range s.Attachments {
		for _, v := range t.values(fl.Name) {
			ids, _ := v.([]any)
			for _, id := range ids {
				if id, ok := id.(string); ok {
					out = append(out, FacetAttachment+"="+id)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// values are the values a field name has on t: in its fields, then in
// each action's latest input (in action-name order, so a ticket indexes
// the same way every time).
func (t *Ticket) values(name string) []any {
	var out []any
	if v, ok := t.Fields[name]; ok && v != nil {
		out = append(out, v)
	}
	actions := make([]string, 0, len(t.Inputs))
	for a := range t.Inputs {
		actions = append(actions, a)
	}
	slices.Sort(actions)
	for _, a := range actions {
		if v, ok := t.Inputs[a][name]; ok && v != nil {
			out = append(out, v)
		}
	}
	return out
}

// AddressCodes are the unit codes in the address fields of values.
func AddressCodes(fields []*form.Field, values map[string]any) []string {
	var codes []string
	for _, fl := range fields {
		codes = append(codes, fl.AddressDivision().Codes(values[fl.Name])...)
	}
	return codes
}

func (s *IndexSpec) addressFields() []*form.Field {
	var out []*form.Field
	for _, fl := range append(slices.Clone(s.Text), s.Caller["address"]...) {
		if fl.Type == form.Address {
			out = append(out, fl)
		}
	}
	return out
}

// AddressText is an address as people say it: the unit names, then the
// detail (a text field's value is itself).
func AddressText(fl *form.Field, v any, names map[string]string) string {
	return fl.AddressDivision().Text(v, names, " ")
}

// FacetValues are the name=value entries of a facet field's value: a tree
// option with its ancestors (filtering on 城乡建设 finds 供暖), every level
// of an address, each choice of a multichoice.
func FacetValues(fl *form.Field, v any) []string {
	var out []string
	add := func(key, val string) { out = append(out, key+"="+val) }
	switch v := v.(type) {
	case string:
		if fl.Type == form.Tree {
			if path, ok := fl.OptionPath(v); ok {
				for _, p := range path {
					add(fl.Name, p)
				}
				return out
			}
		}
		add(fl.Name, v)
	case bool:
		add(fl.Name, fmt.Sprint(v))
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				add(fl.Name, s)
			}
		}
	case map[string]any:
		for _, level := range fl.AddressDivision().Keys() {
			if c, ok := v[level].(string); ok {
				add(fl.Name+"."+level, c)
			}
		}
	}
	return out
}

// BucketSize is how many consecutive ticket ids share a bucket. Each
// ticket's document and facets carry its bucket, so a search for the
// newest matches can look in the newest buckets inside the index itself
// (see matchWindows).
// It is a variable so that tests of small corpora can shrink it before
// any ticket is written.
var BucketSize int64 = 20_000

// Bucket is the bucket of ticket id.
func Bucket(id int64) int64 { return id / BucketSize }

// BucketTag and BucketFacet name bucket b (not a ticket id) in documents
// and in facets.
func BucketTag(b int64) string   { return "b" + strconv.FormatInt(b, 10) }
func BucketFacet(b int64) string { return "#bucket=" + strconv.FormatInt(b, 10) }

// QueueIndex adds the upsert of a ticket's index row to b. A row whose
// content did not change is left alone: every new row version adds all
// its terms to the GIN indexes again, and actions such as urging change
// nothing that is searched. Its version then stays behind the ticket's,
// which a rebuild (writing the same content) may overwrite harmlessly.
func QueueIndex(b *pgx.Batch, row IndexRow) {
	b.Queue(`INSERT INTO ticket_search (ticket_id, version, created_at, open, doc, facets, callers) VALUES ($1, $2, $3, $4, $5::tsvector, $6, $7)
		ON CONFLICT (ticket_id) DO UPDATE SET version = EXCLUDED.version, open = EXCLUDED.open, doc = EXCLUDED.doc,
			facets = EXCLUDED.facets, callers = EXCLUDED.callers
		WHERE ticket_search.version <= EXCLUDED.version
			AND (ticket_search.open, ticket_search.doc, ticket_search.facets, ticket_search.callers)
				IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.doc, EXCLUDED.facets, EXCLUDED.callers)`,
		row.TicketID, row.Version, row.CreatedAt, row.Open, row.Doc, row.Facets, row.Callers)
}

// Fingerprint identifies what a spec puts in the index: when it changes
// (a form marks another field search or facet, a division gains a level), rows written under the
// old spec are stale and the index is rebuilt.
func (s *IndexSpec) Fingerprint() string {
	var b strings.Builder
	fmt.Fprintf(&b, "v3|bucket:%d", BucketSize)
	write := func(tag string, fields []*form.Field) {
		for _, f := range fields {
			fmt.Fprintf(&b, "|%s:%s:%s", tag, f.Name, f.Type)
			if f.Type == form.Address {
				// An address is indexed by its division's levels: another
				// level (a grid under the community) is another index.
				fmt.Fprintf(&b, ":%s", strings.Join(f.AddressDivision().Keys(), "/"))
			}
		}
	}
	write("text", s.Text)
	write("facet", s.Facets)
	for _, role := range []string{"phone", "name", "address"} {
		write("caller-"+role, s.Caller[role])
	}
	write("attachment", s.Attachments)
	return b.String()
}

// Reindex rebuilds every ticket's index row from the tickets, in batches
// of batch tickets, calling progress after each. Tickets written while it
// runs index themselves, so it is safe while serving.
func (s *Store) Reindex(ctx context.Context, batch int, progress func(done int)) (int, error) {
	spec := s.IndexSpec()
	var last int64
	done := 0
	for {
		rows, err := s.pool.Query(ctx, Select+` WHERE t.id > $1 ORDER BY t.id LIMIT $2`, last, batch)
		if err != nil {
			return done, fmt.Errorf("reindexing after ticket %d: %w", last, err)
		}
		var tickets []Ticket
		for rows.Next() {
			t, err := Scan(rows)
			if err != nil {
				rows.Close()
				return done, fmt.Errorf("reindexing after ticket %d: %w", last, err)
			}
			tickets = append(tickets, t)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return done, fmt.Errorf("reindexing after ticket %d: %w", last, err)
		}
		if len(tickets) == 0 {
			break
		}
		names, err := s.unitNameCache(ctx)
		if err != nil {
			return done, err
		}
		b := &pgx.Batch{}
		for _, t := range tickets {
			row, err := spec.BuildIndexRow(ctx, t, names)
			if err != nil {
				return done, err
			}
			QueueIndex(b, row)
		}
		if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
			return done, fmt.Errorf("reindexing after ticket %d: %w", last, err)
		}
		last = tickets[len(tickets)-1].ID
		done += len(tickets)
		if progress != nil {
			progress(done)
		}
	}
	return done, RecordIndexSpec(ctx, s.pool, spec)
}

// RecordIndexSpec records that every ticket's index row follows spec.
func RecordIndexSpec(ctx context.Context, pool *pgxpool.Pool, spec *IndexSpec) error {
	_, err := pool.Exec(ctx, `INSERT INTO search_index_state (name, fingerprint, built_at) VALUES ('tickets', $1, now())
		ON CONFLICT (name) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, built_at = EXCLUDED.built_at`, spec.Fingerprint())
	if err != nil {
		return fmt.Errorf("recording the index spec: %w", err)
	}
	return nil
}

// IndexStale reports whether the index was built under another spec than
// the running configuration's (or never recorded).
func (s *Store) IndexStale(ctx context.Context) (bool, error) {
	var fp string
	err := s.pool.QueryRow(ctx, `SELECT fingerprint FROM search_index_state WHERE name = 'tickets'`).Scan(&fp)
	if errors.Is(err, pgx.ErrNoRows) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading the index spec: %w", err)
	}
	return fp != s.IndexSpec().Fingerprint(), nil
}

// unitNameCache reads every unit's name once, for bulk indexing.
func (s *Store) unitNameCache(ctx context.Context) (UnitNames, error) {
	all, err := AllUnitNames(ctx, s.pool)
	return func(context.Context, []string) (map[string]string, error) { return all, nil }, err
}

// AllUnitNames maps every unit's code to its name.
func AllUnitNames(ctx context.Context, pool *pgxpool.Pool) (map[string]string, error) {
	return readUnitNames(ctx, pool, `SELECT code, name FROM units`)
}

// KeepIndexCurrent rebuilds the search index whenever it was built under
// another spec than the running configuration's: at start after an
// upgrade or a restore, and after a publish that changes which fields are
// searched. One node rebuilds (an advisory lock); the others skip.
func (s *Store) KeepIndexCurrent(ctx context.Context, interval time.Duration, log *slog.Logger) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if err := s.reindexIfStale(ctx, log); err != nil && ctx.Err() == nil {
			log.Error("rebuilding the search index", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// reindexLock is the advisory lock key of the search index rebuild.
const reindexLock = 0x7365617263 // "search"

func (s *Store) reindexIfStale(ctx context.Context, log *slog.Logger) error {
	stale, err := s.IndexStale(ctx)
	if err != nil || !stale {
		return err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, reindexLock).Scan(&locked); err != nil || !locked {
		return err
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, reindexLock) //nolint:errcheck
	start := time.Now()
	log.Info("search index built under another configuration; rebuilding")
	n, err := s.Reindex(ctx, 1000, nil)
	if err != nil {
		return err
	}
	log.Info("search index rebuilt", "tickets", n, "took", time.Since(start).Round(time.Millisecond))
	return nil
}
