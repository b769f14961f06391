package knowledge

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/lang/cjk"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/index/scorch/mergeplan"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/jackc/pgx/v5"

	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/form"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/ticket"
)

// Index fields. Text fields are analysed into CJK bigrams (with positions,
// so a phrase matches only its characters in order); the others are exact.
const (
	fieldTitle     = "title"
	fieldKeywords  = "keywords"
	fieldText      = "text" // every other field the article form marks search
	fieldUnit      = "unit"
	fieldEffective = "effective"
	fieldExpires   = "expires"
	fieldPublished = "published"
	facetPrefix    = "f." // + a facet field of the article form
)

// Dates standing for "no date": always in effect, never expiring.
var (
	dawn = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	dusk = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC) // bleve keeps dates as int64 nanoseconds
)

var seqKey = []byte("kb_change_seq")

// overlap is how far behind its last change number a catch-up looks
// again: a transaction that took a number and committed after a later one
// was read is still found (its article is indexed once; seen says which).
const overlap = 100

type index struct {
	idx  bleve.Index
	mu   sync.Mutex // one catch-up at a time
	seq  int64      // the highest change number applied
	seen map[int64]int64
}

func newMapping() mapping.IndexMapping {
	text := bleve.NewTextFieldMapping()
	text.Analyzer = cjk.AnalyzerName
	text.Store, text.IncludeInAll, text.IncludeTermVectors = false, false, true
	exact := bleve.NewKeywordFieldMapping()
	exact.Store, exact.IncludeInAll = false, false
	date := bleve.NewDateTimeFieldMapping()
	date.Store, date.IncludeInAll = false, false

	doc := bleve.NewDocumentMapping()
	doc.Dynamic = false
	for _, f := range []string{fieldTitle, fieldKeywords, fieldText} {
		doc.AddFieldMappingsAt(f, text)
	}
	doc.AddFieldMappingsAt(fieldUnit, exact)
	for _, f := range []string{fieldEffective, fieldExpires, fieldPublished} {
		doc.AddFieldMappingsAt(f, date)
	}
	// Facet fields come from the article form, so they are mapped as they
	// appear, as exact terms.
	facets := bleve.NewDocumentMapping()
	facets.Dynamic = true
	facets.DefaultAnalyzer = keyword.Name
	doc.AddSubDocumentMapping(strings.TrimSuffix(facetPrefix, "."), facets)

	im := bleve.NewIndexMapping()
	im.DefaultMapping = doc
	im.StoreDynamic = false
	return im
}

func openIndex(dir string) (*index, error) {
	path := filepath.Join(dir, "articles.bleve")
	// Another process holding the index (a second server on the same data
	// folder) makes opening fail after a while instead of waiting forever.
	idx, err := bleve.OpenUsing(path, map[string]any{"bolt_timeout": "5s"})
	if errors.Is(err, bleve.ErrorIndexPathDoesNotExist) {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("creating the knowledge index folder: %w", err)
		}
		idx, err = bleve.New(path, newMapping())
	}
	if err != nil {
		return nil, fmt.Errorf("opening the knowledge index %s (delete it to rebuild from the database): %w", path, err)
	}
	ix := &index{idx: idx, seen: map[int64]int64{}}
	raw, err := idx.GetInternal(seqKey)
	if err != nil {
		return nil, fmt.Errorf("reading the knowledge index's position: %w", err)
	}
	if len(raw) > 0 {
		ix.seq, _ = strconv.ParseInt(string(raw), 10, 64)
	}
	return ix, nil
}

func (ix *index) close() error { return ix.idx.Close() }

// reset empties the index in place.
func (ix *index) reset() error {
	b := ix.idx.NewBatch()
	q := bleve.NewMatchAllQuery()
	for {
		res, err := ix.idx.Search(bleve.NewSearchRequestOptions(q, 1000, 0, false))
		if err != nil {
			return fmt.Errorf("emptying the knowledge index: %w", err)
		}
		if len(res.Hits) == 0 {
			break
		}
		for _, h := range res.Hits {
			b.Delete(h.ID)
		}
		if err := ix.idx.Batch(b); err != nil {
			return fmt.Errorf("emptying the knowledge index: %w", err)
		}
		b.Reset()
	}
	b.SetInternal(seqKey, []byte("0"))
	if err := ix.idx.Batch(b); err != nil {
		return fmt.Errorf("emptying the knowledge index: %w", err)
	}
	ix.seq, ix.seen = 0, map[int64]int64{}
	return nil
}

// row is an article as kb_articles holds it.
type row struct {
	ID        int64
	Flow      string
	State     string
	Title     string
	Keywords  []string
	Fields    map[string]any
	Effective *time.Time
	Expires   *time.Time
	Published time.Time
	Unit      string
	Clicks    int64
	RatingSum float64
	RatingN   int
	Seq       int64
}

const rowSelect = `SELECT a.ticket_id, t.flow, a.state, a.title, a.keywords, a.fields, a.effective_from, a.expires_at, a.published_at,
	COALESCE(u.code, ''), a.clicks, a.rating_sum, a.rating_count, a.change_seq
	FROM kb_articles a JOIN tickets t ON t.id = a.ticket_id LEFT JOIN units u ON u.id = a.unit_id`

func scanRow(rows pgx.CollectableRow) (row, error) {
	var r row
	err := rows.Scan(&r.ID, &r.Flow, &r.State, &r.Title, &r.Keywords, &r.Fields, &r.Effective, &r.Expires, &r.Published,
		&r.Unit, &r.Clicks, &r.RatingSum, &r.RatingN, &r.Seq)
	return r, err
}

func (r row) meta() *meta {
	m := &meta{ID: r.ID, Title: r.Title, Keywords: r.Keywords, Effective: r.Effective, Expires: r.Expires, Published: r.Published,
		Clicks: r.Clicks, seq: r.Seq}
	if r.RatingN > 0 {
		m.Rating = r.RatingSum / float64(r.RatingN)
	}
	return m
}

// document is the bleve document of a published article: its title and
// keywords, the text of the fields its form marks search, its facets.
func document(set *registry.Set, r row, files string) map[string]any {
	doc := map[string]any{
		fieldTitle:     r.Title,
		fieldKeywords:  strings.Join(r.Keywords, " "),
		fieldUnit:      r.Unit,
		fieldEffective: orDate(r.Effective, dawn),
		fieldExpires:   orDate(r.Expires, dusk),
		fieldPublished: r.Published,
	}
	fm, ok := flow.CreatingForm(set, r.Flow)
	if !ok {
		return doc
	}
	var text []string
	facets := map[string]any{}
	for i := range fm.Fields {
		fl := &fm.Fields[i]
		v := r.Fields[fl.Name]
		if fl.Search && fl.Name != fieldTitle && fl.Name != fieldKeywords {
			text = append(text, plain(fl, v))
		}
		if fl.Facet {
			var values []string
			for _, e := range ticket.FacetValues(fl, v) {
				name, value, _ := strings.Cut(e, "=")
				if name == fl.Name {
					values = append(values, value)
				}
			}
			if len(values) > 0 {
				facets[fl.Name] = values
			}
		}
	}
	doc[fieldText] = strings.Join(text, "\n") + files
	doc[strings.TrimSuffix(facetPrefix, ".")] = facets
	return doc
}

// plain is a field's searchable text.
func plain(fl *form.Field, v any) string {
	s, _ := v.(string)
	if fl.Type == form.RichText {
		return form.PlainText(s)
	}
	return s
}

// orDate is a date for the index: def when there is none, and within
// [dawn, dusk] (bleve keeps dates as int64 nanoseconds), so 2999-12-31
// (永久有效) still means "never expires".
func orDate(t *time.Time, def time.Time) time.Time {
	switch {
	case t == nil:
		return def
	case t.Before(dawn):
		return dawn
	case t.After(dusk):
		return dusk
	}
	return *t
}

// load reads every published article into memory, once at start.
func (s *Service) load(ctx context.Context) error {
	rows, err := s.Pool.Query(ctx, rowSelect+` WHERE a.state = 'published'`)
	if err != nil {
		return fmt.Errorf("reading knowledge articles: %w", err)
	}
	defer rows.Close()
	all := map[int64]*meta{}
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return fmt.Errorf("reading knowledge articles: %w", err)
		}
		all[r.ID] = r.meta()
		// What the saved index has applied counts as seen, except the
		// overlap, which the first catch-up looks at again.
		if r.Seq <= s.index.seq-overlap {
			s.index.seen[r.ID] = r.Seq
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading knowledge articles: %w", err)
	}
	s.mu.Lock()
	s.meta = all
	s.mu.Unlock()
	return nil
}

// CatchUp applies the articles published or archived since the index last
// looked, returning how many changed.
func (s *Service) CatchUp(ctx context.Context) (int, error) {
	ix := s.index
	ix.mu.Lock()
	defer ix.mu.Unlock()
	var last int64
	if err := s.Pool.QueryRow(ctx, `SELECT COALESCE(max(change_seq), 0) FROM kb_articles`).Scan(&last); err != nil {
		return 0, fmt.Errorf("reading the knowledge change number: %w", err)
	}
	if last < ix.seq {
		// The database is not the one this index followed (restored or
		// made anew): start from nothing.
		s.Log.Warn("knowledge index is ahead of the database; rebuilding", "index", ix.seq, "database", last)
		if err := ix.reset(); err != nil {
			return 0, err
		}
		s.mu.Lock()
		s.meta = map[int64]*meta{}
		s.mu.Unlock()
	}
	s.mu.RLock()
	empty := len(ix.seen) == 0 && len(s.meta) == 0
	s.mu.RUnlock()
	if empty {
		if err := s.load(ctx); err != nil {
			return 0, err
		}
	}
	set := s.Config.Current()
	changed := 0
	for {
		// Change numbers first, whole rows only for what was not seen: an
		// idle node re-reads the overlap's numbers, not its articles.
		rows, err := s.Pool.Query(ctx, `SELECT ticket_id, change_seq FROM kb_articles WHERE change_seq > $1 ORDER BY change_seq LIMIT 1000`, max(0, ix.seq-overlap))
		if err != nil {
			return changed, fmt.Errorf("reading changed knowledge articles: %w", err)
		}
		type change struct{ id, seq int64 }
		changes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (change, error) {
			var c change
			err := r.Scan(&c.id, &c.seq)
			return c, err
		})
		if err != nil {
			return changed, fmt.Errorf("reading changed knowledge articles: %w", err)
		}
		var unseen []int64
		top := ix.seq
		for _, c := range changes {
			top = max(top, c.seq)
			if ix.seen[c.id] < c.seq {
				unseen = append(unseen, c.id)
			}
		}
		var list []row
		if len(unseen) > 0 {
			rows, err = s.Pool.Query(ctx, rowSelect+` WHERE a.ticket_id = ANY($1) ORDER BY a.change_seq`, unseen)
			if err != nil {
				return changed, fmt.Errorf("reading changed knowledge articles: %w", err)
			}
			if list, err = pgx.CollectRows(rows, scanRow); err != nil {
				return changed, fmt.Errorf("reading changed knowledge articles: %w", err)
			}
		}
		var publishedIDs []int64
		for _, r := range list {
			if r.State == "published" && ix.seen[r.ID] < r.Seq {
				publishedIDs = append(publishedIDs, r.ID)
			}
		}
		files, err := s.filesText(ctx, publishedIDs)
		if err != nil {
			return changed, err
		}
		b := ix.idx.NewBatch()
		var applied []row
		for _, r := range list {
			top = max(top, r.Seq)
			if ix.seen[r.ID] >= r.Seq {
				continue
			}
			id := strconv.FormatInt(r.ID, 10)
			if r.State == "published" {
				if err := b.Index(id, document(set, r, files[r.ID])); err != nil {
					return changed, fmt.Errorf("indexing article %d: %w", r.ID, err)
				}
			} else {
				b.Delete(id)
			}
			applied = append(applied, r)
		}
		b.SetInternal(seqKey, []byte(strconv.FormatInt(top, 10)))
		if err := ix.idx.Batch(b); err != nil {
			return changed, fmt.Errorf("writing the knowledge index: %w", err)
		}
		ix.seq = top
		s.mu.Lock()
		for _, r := range applied {
			ix.seen[r.ID] = r.Seq
			if r.State == "published" {
				m := r.meta()
				if old, ok := s.meta[r.ID]; ok {
					m.Hot = old.Hot
				}
				s.meta[r.ID] = m
			} else {
				delete(s.meta, r.ID)
			}
		}
		s.mu.Unlock()
		changed += len(applied)
		if len(changes) < 1000 {
			break
		}
	}
	if changed >= compactAfter {
		if err := s.compact(ctx); err != nil {
			return changed, err
		}
	}
	s.mu.RLock()
	stale := !s.suggest.day.Equal(s.today())
	s.mu.RUnlock()
	if changed > 0 || stale {
		s.rebuildSuggestions()
	}
	return changed, nil
}

// compactAfter is how many changes in one catch-up (a first build, a
// node that was down) make it merge the index into one segment: bleve
// leaves many segments after bulk indexing, and searching them all took
// several times longer.
const compactAfter = 1000

func (s *Service) compact(ctx context.Context) error {
	adv, err := s.index.idx.Advanced()
	if err != nil {
		return fmt.Errorf("compacting the knowledge index: %w", err)
	}
	sc, ok := adv.(*scorch.Scorch)
	if !ok {
		return nil
	}
	opts := mergeplan.SingleSegmentMergePlanOptions
	if err := sc.ForceMerge(ctx, &opts); err != nil {
		return fmt.Errorf("compacting the knowledge index: %w", err)
	}
	return nil
}

// Rebuild drops this node's index and builds it again from PostgreSQL.
func (s *Service) Rebuild(ctx context.Context) (int, error) {
	if s.index != nil {
		if err := s.index.close(); err != nil {
			return 0, err
		}
	}
	if err := os.RemoveAll(filepath.Join(s.Dir, "articles.bleve")); err != nil {
		return 0, fmt.Errorf("removing the knowledge index: %w", err)
	}
	idx, err := openIndex(s.Dir)
	if err != nil {
		return 0, err
	}
	s.index = idx
	s.mu.Lock()
	s.meta = map[int64]*meta{}
	s.mu.Unlock()
	return s.CatchUp(ctx)
}
