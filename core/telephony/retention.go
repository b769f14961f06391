package telephony

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ExpireRecordings deletes recordings older than the retention, except
// those of calls bound to a ticket that is still open or was closed within
// the retention: a recording lives as long as the matter it is evidence
// of. It returns how many it deleted. Every node sweeps every node's
// calls (the files are shared); the rows a sweep takes are locked, so two
// nodes never delete the same recording.
func (s *Server) ExpireRecordings(ctx context.Context, retention time.Duration) (int, error) {
	cutoff := time.Now().Add(-retention)
	n := 0
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT c.id, c.recording FROM calls c
			WHERE c.recording IS NOT NULL AND c.recording_deleted_at IS NULL AND c.ended_at < $1
			AND NOT EXISTS (SELECT 1 FROM call_tickets ct JOIN tickets t ON t.id = ct.ticket_id
				WHERE ct.call_id = c.id AND (t.closed_at IS NULL OR t.closed_at > $1))
			ORDER BY c.id LIMIT 10000 FOR UPDATE OF c SKIP LOCKED`, cutoff)
		if err != nil {
			return fmt.Errorf("finding recordings past retention: %w", err)
		}
		type expired struct {
			ID  int64
			Key string
		}
		due, err := pgx.CollectRows(rows, pgx.RowToStructByPos[expired])
		if err != nil {
			return fmt.Errorf("finding recordings past retention: %w", err)
		}
		for _, e := range due {
			if err := s.Files.Delete(ctx, e.Key); err != nil {
				s.Log.Error("deleting a recording past retention", "call", e.ID, "recording", e.Key, "err", err)
				continue
			}
			if _, err := tx.Exec(ctx, `UPDATE calls SET recording_deleted_at = now() WHERE id = $1`, e.ID); err != nil {
				return fmt.Errorf("marking call %d's recording deleted: %w", e.ID, err)
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
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
