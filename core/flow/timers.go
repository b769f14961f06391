package flow

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hotline12345/hotline/core/ticket"
)

// schedule queues the replacement of the ticket's pending timers: while
// its clock runs, one per timer of the flow, relative to the deadline; none
// while it is paused, cleared or closed.
func (e *Engine) schedule(b *pgx.Batch, f *Flow, t ticket.Ticket) {
	b.Queue(`DELETE FROM ticket_timers WHERE ticket_id = $1 AND fired_at IS NULL`, t.ID)
	// The step's own limit (sign within hours) warns once when it runs
	// out, whatever the ticket's clock does.
	if s, ok := f.State(t.State); ok && s.Limit != nil && s.Limit.Notify != nil && t.StepDeadline != nil && t.ClosedAt == nil {
		n := s.Limit.Notify
		level := n.Level
		if level == "" {
			level = "urgent"
		}
		payload := map[string]any{"timer": "step", "label": s.Limit.Label, "to": n.To, "message": n.Message, "level": level,
			"deadline": t.StepDeadline.Format(time.RFC3339)}
		b.Queue(`INSERT INTO ticket_timers (ticket_id, name, due_at, payload) VALUES ($1, $2, $3, $4)`, t.ID, "step:"+s.Name, *t.StepDeadline, payload)
	}
	if t.Deadline == nil || t.PausedRemaining != nil || t.ClosedAt != nil {
		return
	}
	cal := f.Calendar()
	for _, tm := range f.Timers {
		var due time.Time
		if tm.Before != nil {
			due = cal.WorkdaysBefore(*t.Deadline, *tm.Before)
		} else {
			due = *t.Deadline
			if *tm.After > 0 {
				due = cal.Deadline(t.Deadline.Add(-time.Nanosecond), *tm.After)
			}
		}
		level := tm.Level
		if level == "" {
			level = "warning"
		}
		payload := map[string]any{"timer": tm.Name, "label": tm.Label, "to": tm.Notify, "message": tm.Message, "level": level,
			"deadline": t.Deadline.Format(time.RFC3339)}
		b.Queue(`INSERT INTO ticket_timers (ticket_id, name, due_at, payload) VALUES ($1, $2, $3, $4)`, t.ID, tm.Name, due, payload)
	}
}

// FireDue fires up to limit timers that are due: each becomes a notice in
// the outbox, in the transaction that marks it fired. Rows are claimed with
// FOR UPDATE SKIP LOCKED, so several nodes firing at once never fire one
// twice, and timers that fell due while no node ran fire on the next call.
func (e *Engine) FireDue(ctx context.Context, limit int) (int, error) {
	fired := 0
	err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		// The holder is read when the timer fires: the ticket may have moved
		// to another unit since the timer was scheduled.
		rows, err := tx.Query(ctx, `SELECT tt.id, tt.ticket_id, t.number, tt.payload, COALESCE(hu.code, '') FROM ticket_timers tt
			JOIN tickets t ON t.id = tt.ticket_id LEFT JOIN units hu ON hu.id = t.holder_unit_id
			WHERE tt.fired_at IS NULL AND tt.due_at <= $1 ORDER BY tt.due_at LIMIT $2 FOR UPDATE OF tt SKIP LOCKED`, e.now(), limit)
		if err != nil {
			return fmt.Errorf("claiming due timers: %w", err)
		}
		type due struct {
			id, ticket     int64
			number, holder string
			payload        map[string]any
		}
		var list []due
		for rows.Next() {
			var d due
			if err := rows.Scan(&d.id, &d.ticket, &d.number, &d.payload, &d.holder); err != nil {
				rows.Close()
				return fmt.Errorf("claiming due timers: %w", err)
			}
			list = append(list, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("claiming due timers: %w", err)
		}
		for _, d := range list {
			d.payload["ticket"], d.payload["number"], d.payload["holderUnit"] = d.ticket, d.number, d.holder
			if _, err := tx.Exec(ctx, `INSERT INTO outbox (topic, ticket_id, payload) VALUES ('notice', $1, $2)`, d.ticket, d.payload); err != nil {
				return fmt.Errorf("firing timer %d: %w", d.id, err)
			}
			if _, err := tx.Exec(ctx, `UPDATE ticket_timers SET fired_at = $2 WHERE id = $1`, d.id, e.now()); err != nil {
				return fmt.Errorf("firing timer %d: %w", d.id, err)
			}
		}
		fired = len(list)
		return nil
	})
	return fired, err
}

// RunTimers fires due timers every interval until ctx ends.
func (e *Engine) RunTimers(ctx context.Context, interval time.Duration, log *slog.Logger) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		for {
			n, err := e.FireDue(ctx, 500)
			if err != nil {
				if ctx.Err() == nil {
					log.Error("firing timers", "err", err)
				}
				break
			}
			if n > 0 {
				log.Info("timers fired", "count", n)
			}
			if n < 500 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
