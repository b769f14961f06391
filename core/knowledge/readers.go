package knowledge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hotline12345/hotline/core/form"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
)

// Rating is one reader's rating of an article.
type Rating struct {
	User    string         `json:"user"`
	Score   float64        `json:"score"`
	Input   map[string]any `json:"input"`
	RatedAt time.Time      `json:"ratedAt"`
}

// Rate records p's rating of a published article (replacing an earlier
// one) and returns the article with its new average.
func (s *Service) Rate(ctx context.Context, p *identity.Principal, id int64, input map[string]any) (Article, error) {
	fm := s.settings().rating
	if fm == nil {
		return Article{}, errors.New("no rating form is configured (rating_form of the kind: knowledge document)")
	}
	res, err := fm.Check(ctx, input, form.Options{Now: s.now()})
	if err != nil {
		return Article{}, form.AsGraphQL(err, "input")
	}
	var sum float64
	var n int
	for _, fl := range fm.Fields {
		if v, ok := res.Values[fl.Name].(float64); ok && fl.Type == form.Number {
			sum += v
			n++
		}
	}
	if n == 0 {
		return Article{}, gql.FieldError("input", "请至少为一项评价标准打分")
	}
	score := sum / float64(n)
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var published bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM kb_articles WHERE ticket_id = $1 AND state = 'published' FOR UPDATE)`, id).Scan(&published); err != nil {
			return err
		}
		if !published {
			return gql.Errorf(gql.NotFound, "知识 %d 不存在或已下架", id)
		}
		var old *float64
		if err := tx.QueryRow(ctx, `SELECT score FROM kb_ratings WHERE ticket_id = $1 AND user_id = $2`, id, p.UserID).Scan(&old); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO kb_ratings (ticket_id, user_id, score, input) VALUES ($1, $2, $3, $4)
			ON CONFLICT (ticket_id, user_id) DO UPDATE SET score = EXCLUDED.score, input = EXCLUDED.input, rated_at = now()`, id, p.UserID, score, res.Values); err != nil {
			return err
		}
		delta, added := score, 1
		if old != nil {
			delta, added = score-*old, 0
		}
		_, err := tx.Exec(ctx, `UPDATE kb_articles SET rating_sum = rating_sum + $2, rating_count = rating_count + $3 WHERE ticket_id = $1`, id, delta, added)
		return err
	})
	if err != nil {
		if _, ok := gql.AsError(err); ok {
			return Article{}, err
		}
		return Article{}, fmt.Errorf("rating article %d: %w", id, err)
	}
	a, err := s.Get(ctx, id, false)
	if err != nil {
		return Article{}, err
	}
	s.mu.Lock()
	if m, ok := s.meta[id]; ok {
		m.Rating = a.Rating
	}
	s.mu.Unlock()
	return a, nil
}

// Ratings lists an article's ratings, newest first.
func (s *Service) Ratings(ctx context.Context, id int64) ([]Rating, error) {
	rows, err := s.Pool.Query(ctx, `SELECT u.username, r.score, r.input, r.rated_at FROM kb_ratings r JOIN users u ON u.id = r.user_id
		WHERE r.ticket_id = $1 ORDER BY r.rated_at DESC, u.username`, id)
	if err != nil {
		return nil, fmt.Errorf("reading ratings of article %d: %w", id, err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Rating, error) {
		var r Rating
		err := row.Scan(&r.User, &r.Score, &r.Input, &r.RatedAt)
		return r, err
	})
}

// Folder is a folder of a reader's favourites.
type Folder struct {
	ID     int64  `json:"id,string"`
	Parent *int64 `json:"parent,string"`
	Name   string `json:"name"`
}

// Favorite is an article a reader keeps.
type Favorite struct {
	Article Article   `json:"article"`
	Folder  *int64    `json:"folder,string"`
	AddedAt time.Time `json:"addedAt"`
}

func (s *Service) ownFolder(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, p *identity.Principal, id *int64, field string) error {
	if id == nil {
		return nil
	}
	var mine bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM kb_folders WHERE id = $1 AND user_id = $2)`, *id, p.UserID).Scan(&mine); err != nil {
		return fmt.Errorf("reading folder %d: %w", *id, err)
	}
	if !mine {
		return gql.FieldError(field, "收藏夹 %d 不存在", *id)
	}
	return nil
}

// CreateFolder makes a folder of p's favourites, inside parent when given.
func (s *Service) CreateFolder(ctx context.Context, p *identity.Principal, parent *int64, name string) (Folder, error) {
	name = strings.TrimSpace(name)
	if name == "" || len([]rune(name)) > 50 {
		return Folder{}, gql.FieldError("name", "收藏夹名称须为 1 到 50 个字")
	}
	if err := s.ownFolder(ctx, s.Pool, p, parent, "parent"); err != nil {
		return Folder{}, err
	}
	f := Folder{Parent: parent, Name: name}
	err := s.Pool.QueryRow(ctx, `INSERT INTO kb_folders (user_id, parent_id, name) VALUES ($1, $2, $3) RETURNING id`, p.UserID, parent, name).Scan(&f.ID)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return Folder{}, gql.FieldError("name", "已有同名的收藏夹“%s”", name)
	}
	if err != nil {
		return Folder{}, fmt.Errorf("creating a folder: %w", err)
	}
	return f, nil
}

// DeleteFolder removes a folder with the folders inside it; their
// favourites go back to the top.
func (s *Service) DeleteFolder(ctx context.Context, p *identity.Principal, id int64) error {
	tag, err := s.Pool.Exec(ctx, `DELETE FROM kb_folders WHERE id = $1 AND user_id = $2`, id, p.UserID)
	if err != nil {
		return fmt.Errorf("deleting folder %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return gql.FieldError("id", "收藏夹 %d 不存在", id)
	}
	return nil
}

// Folders lists p's folders, parents before children.
func (s *Service) Folders(ctx context.Context, p *identity.Principal) ([]Folder, error) {
	rows, err := s.Pool.Query(ctx, `WITH RECURSIVE t AS (
			SELECT id, parent_id, name, name::text AS path FROM kb_folders WHERE user_id = $1 AND parent_id IS NULL
			UNION ALL SELECT f.id, f.parent_id, f.name, t.path || '/' || f.name FROM kb_folders f JOIN t ON f.parent_id = t.id)
		SELECT id, parent_id, name FROM t ORDER BY path`, p.UserID)
	if err != nil {
		return nil, fmt.Errorf("reading folders: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Folder, error) {
		var f Folder
		err := row.Scan(&f.ID, &f.Parent, &f.Name)
		return f, err
	})
}

// Favor keeps a published article in p's favourites, in folder (nil: at
// the top); favouring it again moves it.
func (s *Service) Favor(ctx context.Context, p *identity.Principal, id int64, folder *int64) error {
	if _, err := s.Get(ctx, id, false); err != nil {
		return err
	}
	if err := s.ownFolder(ctx, s.Pool, p, folder, "folder"); err != nil {
		return err
	}
	_, err := s.Pool.Exec(ctx, `INSERT INTO kb_favorites (user_id, ticket_id, folder_id) VALUES ($1, $2, $3)
		ON CONFLICT (user_id, ticket_id) DO UPDATE SET folder_id = EXCLUDED.folder_id`, p.UserID, id, folder)
	if err != nil {
		return fmt.Errorf("keeping article %d: %w", id, err)
	}
	return nil
}

// Unfavor drops an article from p's favourites.
func (s *Service) Unfavor(ctx context.Context, p *identity.Principal, id int64) error {
	if _, err := s.Pool.Exec(ctx, `DELETE FROM kb_favorites WHERE user_id = $1 AND ticket_id = $2`, p.UserID, id); err != nil {
		return fmt.Errorf("dropping article %d from favourites: %w", id, err)
	}
	return nil
}

// Favorites lists p's favourites in folder (nil: all of them), newest
// first. An article archived since shows no more.
func (s *Service) Favorites(ctx context.Context, p *identity.Principal, folder *int64) ([]Favorite, error) {
	rows, err := s.Pool.Query(ctx, `SELECT ticket_id, folder_id, added_at FROM kb_favorites
		WHERE user_id = $1 AND ($2::bigint IS NULL OR folder_id = $2) ORDER BY added_at DESC, ticket_id DESC`, p.UserID, folder)
	if err != nil {
		return nil, fmt.Errorf("reading favourites: %w", err)
	}
	favs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Favorite, error) {
		var f Favorite
		err := row.Scan(&f.Article.ID, &f.Folder, &f.AddedAt)
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading favourites: %w", err)
	}
	ids := make([]int64, len(favs))
	for i, f := range favs {
		ids[i] = f.Article.ID
	}
	articles, err := s.articles(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := favs[:0]
	for _, f := range favs {
		if a, ok := articles[f.Article.ID]; ok {
			f.Article = a
			out = append(out, f)
		}
	}
	return out, nil
}
