package knowledge

import (
	"context"
	"fmt"
	"sync"
)

// HotDays is the window of hot ranking (热点排行) unless asked otherwise.
const HotDays = 7

// clickBuffer counts clicks in memory; they are written in one statement
// every few seconds, so opening an article costs no database write.
type clickBuffer struct {
	mu      sync.Mutex
	pending map[int64]int
}

// Click counts that an article was opened.
func (s *Service) Click(id int64) {
	s.clicks.mu.Lock()
	if s.clicks.pending == nil {
		s.clicks.pending = map[int64]int{}
	}
	s.clicks.pending[id]++
	s.clicks.mu.Unlock()
	s.mu.Lock()
	if m, ok := s.meta[id]; ok {
		m.Clicks++
		m.Hot++
	}
	s.mu.Unlock()
}

// FlushClicks writes the counted clicks: per article and day for hot
// ranking, and the article's total.
func (s *Service) FlushClicks(ctx context.Context) error {
	s.clicks.mu.Lock()
	pending := s.clicks.pending
	s.clicks.pending = nil
	s.clicks.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(pending))
	counts := make([]int32, 0, len(pending))
	for id, n := range pending {
		ids = append(ids, id)
		counts = append(counts, int32(n))
	}
	day := s.today()
	_, err := s.Pool.Exec(ctx, `WITH c AS (SELECT * FROM unnest($1::bigint[], $2::int[]) AS c(id, n) WHERE EXISTS (SELECT 1 FROM kb_articles a WHERE a.ticket_id = c.id)),
		per_day AS (INSERT INTO kb_clicks (ticket_id, day, clicks) SELECT id, $3, n FROM c
			ON CONFLICT (ticket_id, day) DO UPDATE SET clicks = kb_clicks.clicks + EXCLUDED.clicks)
		UPDATE kb_articles a SET clicks = a.clicks + c.n FROM c WHERE a.ticket_id = c.id`, ids, counts, day)
	if err != nil {
		// Put them back for the next try rather than lose them.
		s.clicks.mu.Lock()
		if s.clicks.pending == nil {
			s.clicks.pending = map[int64]int{}
		}
		for id, n := range pending {
			s.clicks.pending[id] += n
		}
		s.clicks.mu.Unlock()
		return fmt.Errorf("writing knowledge clicks: %w", err)
	}
	return nil
}

// refreshCounters reads every article's clicks, rating and hot count, as
// all nodes together counted them.
func (s *Service) refreshCounters(ctx context.Context) error {
	since := s.today().AddDate(0, 0, -HotDays+1)
	rows, err := s.Pool.Query(ctx, `SELECT a.ticket_id, a.clicks, a.rating_sum, a.rating_count, COALESCE(h.n, 0)
		FROM kb_articles a LEFT JOIN (SELECT ticket_id, sum(clicks) AS n FROM kb_clicks WHERE day >= $1 GROUP BY ticket_id) h ON h.ticket_id = a.ticket_id
		WHERE a.state = 'published'`, since)
	if err != nil {
		return fmt.Errorf("reading knowledge counters: %w", err)
	}
	defer rows.Close()
	type counters struct {
		clicks, hot int64
		sum         float64
		n           int
	}
	read := map[int64]counters{}
	for rows.Next() {
		var id int64
		var c counters
		if err := rows.Scan(&id, &c.clicks, &c.sum, &c.n, &c.hot); err != nil {
			return fmt.Errorf("reading knowledge counters: %w", err)
		}
		read[id] = c
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading knowledge counters: %w", err)
	}
	s.mu.Lock()
	for id, c := range read {
		if m, ok := s.meta[id]; ok {
			m.Clicks, m.Hot = c.clicks, c.hot
			if c.n > 0 {
				m.Rating = c.sum / float64(c.n)
			}
		}
	}
	s.mu.Unlock()
	return nil
}

// HotArticle is an article of the hot ranking.
type HotArticle struct {
	ID     int64  `json:"id,string"`
	Title  string `json:"title"`
	Clicks int64  `json:"clicks"`
}

// Hot ranks the articles in effect by clicks over the last days.
func (s *Service) Hot(ctx context.Context, days, n int) ([]HotArticle, error) {
	if days <= 0 {
		days = HotDays
	}
	day := s.today()
	rows, err := s.Pool.Query(ctx, `SELECT a.ticket_id, a.title, sum(c.clicks) AS n FROM kb_clicks c JOIN kb_articles a ON a.ticket_id = c.ticket_id
		WHERE c.day >= $1 AND a.state = 'published' AND (a.effective_from IS NULL OR a.effective_from <= $2) AND (a.expires_at IS NULL OR a.expires_at >= $2)
		GROUP BY a.ticket_id, a.title ORDER BY n DESC, a.ticket_id LIMIT $3`, day.AddDate(0, 0, -days+1), day, n)
	if err != nil {
		return nil, fmt.Errorf("ranking hot knowledge: %w", err)
	}
	defer rows.Close()
	var out []HotArticle
	for rows.Next() {
		var h HotArticle
		if err := rows.Scan(&h.ID, &h.Title, &h.Clicks); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}
