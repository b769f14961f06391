// Package knowledge is the knowledge base (知识库): articles written and
// reviewed in a flow (flows/kb_article.yaml), whose published copies are
// searched with bleve's CJK bigram analyser, suggested as agents type,
// ranked by what colleagues open, and cited in tickets.
//
// An article is a ticket of its flow; the flow's knowledge.publish call
// copies the approved fields into kb_articles and kb_versions in the
// approving transaction. Each node keeps its own bleve index under the
// data folder and catches up with kb_articles by change number, so the
// index can always be rebuilt from PostgreSQL.
package knowledge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/core/filestore"
	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/form"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/registry"
)

// PermEdit lets a reader see what is not served to everyone: articles out
// of effect, archived articles' versions.
var PermEdit = identity.RegisterPermission("knowledge.edit", "查看未生效、已失效和已下架的知识（知识编辑、审核）")

func init() {
	flow.RegisterProcedure("knowledge.publish", flow.Procedure{
		Doc: "Publishes the ticket's fields as the next version of a knowledge article: agents search it from then on. " +
			"title is required; keywords (text or list), effective and expires (dates) are optional; note is the version's note.",
		Args:     []string{"title", "keywords", "effective", "expires", "note"},
		Required: []string{"title"},
		Run:      publish,
	})
	flow.RegisterProcedure("knowledge.archive", flow.Procedure{
		Doc: "Withdraws a published knowledge article: it is no longer searched; its versions are kept.",
		Run: archive,
	})
}

// Service is the knowledge base of one node.
type Service struct {
	Pool   *pgxpool.Pool
	Config *registry.Runtime
	// Tickets checks that a reader may see a ticket whose citations are
	// asked for.
	Tickets *flow.Engine
	// Files holds attachments, whose text is searched with their article,
	// and the files of running imports.
	Files filestore.Store
	// Dir holds this node's search index.
	Dir string
	// Node names this server in the import jobs it runs.
	Node string
	Log  *slog.Logger
	// Now is the clock (tests set it); validity is judged by its date in
	// the centre's time zone.
	Now func() time.Time

	index   *index
	mu      sync.RWMutex
	meta    map[int64]*meta // published articles, by article (ticket) id
	suggest *suggester
	clicks  clickBuffer
	running sync.WaitGroup
	imports sync.WaitGroup
}

// meta is what ranking and suggestions need of a published article,
// kept in memory.
type meta struct {
	ID        int64
	Title     string
	Keywords  []string
	Effective *time.Time
	Expires   *time.Time
	Published time.Time
	Clicks    int64
	Hot       int64 // clicks in the hot window
	Rating    float64
	seq       int64
}

// valid reports whether an article may be served on day (a date at
// midnight UTC).
func (m *meta) valid(day time.Time) bool {
	return (m.Effective == nil || !m.Effective.After(day)) && (m.Expires == nil || !m.Expires.Before(day))
}

// now is the service's clock (time.Now unless a test set one).
func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// Open opens (or builds) the node's index and loads the articles.
func (s *Service) Open(ctx context.Context) error {
	if s.Log == nil {
		s.Log = slog.Default()
	}
	idx, err := openIndex(s.Dir)
	if err != nil {
		return err
	}
	s.index = idx
	s.meta = map[int64]*meta{}
	s.suggest = newSuggester(nil)
	if err := s.recoverImports(ctx); err != nil {
		return err
	}
	if _, err := s.CatchUp(ctx); err != nil {
		return err
	}
	return s.refreshCounters(ctx)
}

// Close waits for running imports, flushes counted clicks and closes the
// index; the context given to Run must have ended.
func (s *Service) Close(ctx context.Context) error {
	s.running.Wait()
	s.imports.Wait()
	err := s.FlushClicks(ctx)
	if s.index != nil {
		err = errors.Join(err, s.index.close())
		s.index = nil
	}
	return err
}

// Run keeps the node current until ctx ends: it catches up with articles
// published anywhere, writes counted clicks and refreshes hot counts.
// Close waits for it to return.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	s.running.Add(1)
	defer s.running.Done()
	tick := time.NewTicker(every)
	defer tick.Stop()
	counters := time.NewTicker(time.Minute)
	defer counters.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if _, err := s.CatchUp(ctx); err != nil && ctx.Err() == nil {
				s.Log.Warn("knowledge index catch-up failed", "err", err)
			}
			if err := s.FlushClicks(ctx); err != nil && ctx.Err() == nil {
				s.Log.Warn("writing knowledge clicks failed", "err", err)
			}
		case <-counters.C:
			if err := s.refreshCounters(ctx); err != nil && ctx.Err() == nil {
				s.Log.Warn("refreshing knowledge counters failed", "err", err)
			}
		}
	}
}

// today is the current date in the centre's zone, as midnight UTC (the
// way dates are stored).
func (s *Service) today() time.Time {
	loc := time.Local
	if set := s.Config.Current(); set != nil {
		loc = flow.Zone(set)
	}
	y, m, d := s.now().In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

var keywordSep = regexp.MustCompile(`[,，、;；\s]+`)

// splitKeywords reads keywords given as text or as a list.
func splitKeywords(v any) []string {
	var parts []string
	switch v := v.(type) {
	case string:
		parts = keywordSep.Split(v, -1)
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				parts = append(parts, keywordSep.Split(s, -1)...)
			}
		}
	}
	out := []string{} // never NULL in the database
	seen := map[string]bool{}
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// dateArg reads a date argument ("2026-03-01", or empty).
func dateArg(args map[string]any, name string) (*time.Time, error) {
	s, _ := args[name].(string)
	if s == "" {
		return nil, nil
	}
	if len(s) > 10 {
		s = s[:10]
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return nil, fmt.Errorf("argument %s: %q is not a date", name, args[name])
	}
	return &d, nil
}

func publish(ctx context.Context, c flow.CallEnv) error {
	tx, p, t, args := c.Tx, c.Actor, c.Ticket, c.Args
	// Only the article form's fields are published: the ticket also holds
	// what other actions' forms put there (a reviewer's opinion).
	fm, ok := flow.CreatingForm(c.Config, c.Flow.Name)
	if !ok {
		return fmt.Errorf("flow %s has no creating form whose fields could be published", c.Flow.Name)
	}
	fields := map[string]any{}
	var files []string
	for i := range fm.Fields {
		fl := &fm.Fields[i]
		v, ok := t.Fields[fl.Name]
		if !ok {
			continue
		}
		fields[fl.Name] = v
		if fl.Type == form.Attachment {
			files = append(files, attachmentIDs(v)...)
		}
	}
	t.Fields = fields
	title, _ := args["title"].(string)
	if strings.TrimSpace(title) == "" {
		return fmt.Errorf("ticket %s has no title to publish (argument title is empty)", t.Number)
	}
	effective, err := dateArg(args, "effective")
	if err != nil {
		return err
	}
	expires, err := dateArg(args, "expires")
	if err != nil {
		return err
	}
	note, _ := args["note"].(string)
	keywords := splitKeywords(args["keywords"])
	var unitID *int64
	if t.HolderUnit != nil {
		unitID = &t.HolderUnit.ID
	}
	var version int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(max(version), 0) + 1 FROM kb_versions WHERE ticket_id = $1`, t.ID).Scan(&version); err != nil {
		return fmt.Errorf("numbering the version of article %s: %w", t.Number, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO kb_versions (ticket_id, version, fields, note, published_by, published_at) VALUES ($1, $2, $3, $4, $5, now())`,
		t.ID, version, t.Fields, note, p.Username); err != nil {
		return fmt.Errorf("recording version %d of article %s: %w", version, t.Number, err)
	}
	// The files it holds (attachment ids in its fields) become readable
	// by every reader.
	if _, err := tx.Exec(ctx, `DELETE FROM kb_attachments WHERE ticket_id = $1`, t.ID); err != nil {
		return fmt.Errorf("publishing article %s: %w", t.Number, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO kb_attachments (ticket_id, attachment_id) SELECT $1, id FROM attachments WHERE id = ANY($2)`,
		t.ID, files); err != nil {
		return fmt.Errorf("publishing the files of article %s: %w", t.Number, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO kb_articles (ticket_id, version, state, unit_id, title, keywords, fields, effective_from, expires_at, published_at, published_by, change_seq)
		VALUES ($1, $2, 'published', $3, $4, $5, $6, $7, $8, now(), $9, nextval('kb_change_seq'))
		ON CONFLICT (ticket_id) DO UPDATE SET version = EXCLUDED.version, state = 'published', unit_id = EXCLUDED.unit_id, title = EXCLUDED.title,
			keywords = EXCLUDED.keywords, fields = EXCLUDED.fields, effective_from = EXCLUDED.effective_from, expires_at = EXCLUDED.expires_at,
			published_at = EXCLUDED.published_at, published_by = EXCLUDED.published_by, change_seq = EXCLUDED.change_seq`,
		t.ID, version, unitID, strings.TrimSpace(title), keywords, t.Fields, effective, expires, p.Username); err != nil {
		return fmt.Errorf("publishing article %s: %w", t.Number, err)
	}
	return nil
}

var attachmentID = regexp.MustCompile(`^[0-9a-f]{64}$`)

// attachmentIDs are the ids an attachment field's value holds.
func attachmentIDs(v any) []string {
	var out []string
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	for _, x := range list {
		if s, ok := x.(string); ok && attachmentID.MatchString(s) {
			out = append(out, s)
		}
	}
	return out
}

// AttachmentPublished reports whether an attachment belongs to a published
// article: every reader may download it.
func (s *Service) AttachmentPublished(ctx context.Context, _ *identity.Principal, id string) (bool, error) {
	var ok bool
	err := s.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM kb_attachments f JOIN kb_articles a ON a.ticket_id = f.ticket_id
		WHERE f.attachment_id = $1 AND a.state = 'published')`, id).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("looking for attachment %s in knowledge: %w", id, err)
	}
	return ok, nil
}

func archive(ctx context.Context, c flow.CallEnv) error {
	tx, t := c.Tx, c.Ticket
	if _, err := tx.Exec(ctx, `UPDATE kb_articles SET state = 'archived', change_seq = nextval('kb_change_seq') WHERE ticket_id = $1`, t.ID); err != nil {
		return fmt.Errorf("archiving article %s: %w", t.Number, err)
	}
	return nil
}
