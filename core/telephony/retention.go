package telephony

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
)

// ExpireRecordings deletes this node's recordings older than the
// retention, except those of calls bound to a ticket that is still open or
// was closed within the retention: a recording lives as long as the
// matter it is evidence of. It returns how many it deleted.
func (s *Server) ExpireRecordings(ctx context.Context, retention time.Duration) (int, error) {
	cutoff := time.Now().Add(-retention)
	rows, err := s.Pool.Query(ctx, `SELECT c.id, c.recording FROM calls c
		WHERE c.node = $1 AND c.recording IS NOT NULL AND c.recording_deleted_at IS NULL AND c.ended_at < $2
		AND NOT EXISTS (SELECT 1 FROM call_tickets ct JOIN tickets t ON t.id = ct.ticket_id
			WHERE ct.call_id = c.id AND (t.closed_at IS NULL OR t.closed_at > $2))
		ORDER BY c.id LIMIT 10000`, s.Cfg.Node, cutoff)
	if err != nil {
		return 0, fmt.Errorf("finding recordings past retention: %w", err)
	}
	type expired struct {
		ID   int64
		Path string
	}
	due, err := pgx.CollectRows(rows, pgx.RowToStructByPos[expired])
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range due {
		if err := os.Remove(e.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.Log.Error("deleting a recording past retention", "call", e.ID, "path", e.Path, "err", err)
			continue
		}
		if _, err := s.Pool.Exec(ctx, `UPDATE calls SET recording_deleted_at = now() WHERE id = $1`, e.ID); err != nil {
			return n, fmt.Errorf("marking call %d's recording deleted: %w", e.ID, err)
		}
		n++
	}
	if n > 0 {
		s.Log.Info("deleted recordings past retention", "recordings", n, "retention", retention)
	}
	return n, nil
}

// expireRecordings runs ExpireRecordings hourly until ctx ends.
func (s *Server) expireRecordings(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if _, err := s.ExpireRecordings(ctx, s.Cfg.RecordingRetention); err != nil && ctx.Err() == nil {
			s.Log.Error("expiring recordings", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
