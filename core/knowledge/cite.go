package knowledge

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
)

func init() {
	flow.RegisterProcedure("knowledge.cite", flow.Procedure{
		Doc: "Records that the ticket's answer cites knowledge articles (their ids, as a list or as text separated by commas or spaces), " +
			"with the version in force. An article that is not published refuses the action.",
		Args:     []string{"articles"},
		Required: []string{"articles"},
		Run:      cite,
	})
}

// articleIDs reads the articles argument: ids as a list, or as text.
func articleIDs(v any) ([]int64, error) {
	var parts []string
	switch v := v.(type) {
	case nil:
	case string:
		parts = keywordSep.Split(v, -1)
	case float64:
		parts = []string{strconv.FormatFloat(v, 'f', -1, 64)}
	case []any:
		for _, x := range v {
			parts = append(parts, strings.TrimSpace(fmt.Sprint(x)))
		}
	default:
		return nil, fmt.Errorf("articles: %v is not a list of article ids", v)
	}
	var out []int64
	for _, p := range parts {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		id, err := strconv.ParseInt(p, 10, 64)
		if err != nil || id <= 0 {
			return nil, gql.FieldError("input.knowledge", "“%s”不是知识编号", p)
		}
		out = append(out, id)
	}
	return out, nil
}

func cite(ctx context.Context, c flow.CallEnv) error {
	tx, p, t := c.Tx, c.Actor, c.Ticket
	ids, err := articleIDs(c.Args["articles"])
	if err != nil {
		return err
	}
	for _, id := range ids {
		var version int
		err := tx.QueryRow(ctx, `SELECT version FROM kb_articles WHERE ticket_id = $1 AND state = 'published'`, id).Scan(&version)
		if err == pgx.ErrNoRows {
			return gql.FieldError("input.knowledge", "引用的知识 %d 不存在或已下架", id)
		}
		if err != nil {
			return fmt.Errorf("reading article %d: %w", id, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO kb_citations (ticket_id, article_id, version, cited_by) VALUES ($1, $2, $3, $4)
			ON CONFLICT (ticket_id, article_id) DO NOTHING`, t.ID, id, version, p.Username); err != nil {
			return fmt.Errorf("citing article %d in ticket %s: %w", id, t.Number, err)
		}
	}
	return nil
}

// Citation is an article cited in a ticket.
type Citation struct {
	Article Article `json:"article"`
	Version int     `json:"version"`
	CitedBy string  `json:"citedBy"`
}

// Citations lists the articles cited in a ticket p may see.
func (s *Service) Citations(ctx context.Context, p *identity.Principal, ticket int64) ([]Citation, error) {
	if _, err := s.Tickets.Store.Get(ctx, p, ticket); err != nil {
		return nil, err
	}
	rows, err := s.Pool.Query(ctx, `SELECT article_id, version, cited_by FROM kb_citations WHERE ticket_id = $1 ORDER BY cited_at, article_id`, ticket)
	if err != nil {
		return nil, fmt.Errorf("reading citations of ticket %d: %w", ticket, err)
	}
	cs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Citation, error) {
		var c Citation
		err := row.Scan(&c.Article.ID, &c.Version, &c.CitedBy)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading citations of ticket %d: %w", ticket, err)
	}
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i] = c.Article.ID
	}
	articles, err := s.articles(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range cs {
		if a, ok := articles[cs[i].Article.ID]; ok {
			cs[i].Article = a
		} else {
			cs[i].Article = Article{ID: cs[i].Article.ID, Title: "（已下架）", State: "archived", Keywords: []string{}, Fields: map[string]any{}}
		}
	}
	return cs, nil
}
