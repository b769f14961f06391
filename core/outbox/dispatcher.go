// Package outbox delivers the transactional outbox. Every ticket action and
// timer writes rows to table outbox in its own transaction (core/flow); a
// Dispatcher claims the undelivered ones with FOR UPDATE SKIP LOCKED, so
// any number of nodes share the work and none delivers a row another holds,
// and hands each to the handler registered for its topic inside the
// claiming transaction: what a handler writes to PostgreSQL commits together
// with the row's mark, so a database handler takes effect exactly once even
// if the node dies mid-delivery (the transaction rolls back and the row is
// claimed again). Delivery is at least once for everything else: a handler
// that reaches outside PostgreSQL must be idempotent by the message's ID.
//
// A handler's error is counted on the row with the error text, and the row
// is retried after an exponential backoff; after Retry.Attempts failures
// (or at once for a Permanent error) it becomes a dead letter, listed to
// administrators (outboxDeadLetters) until one retries it (retryOutbox).
// Delivered rows are deleted after Retention.
//
// The handlers of the kernel: "notice" writes each recipient's notice
// (Notices), "ticket.changed" feeds ticketChanged subscriptions. A topic
// without a handler is marked delivered: no one listens to it.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Message is one outbox row, as handed to its topic's handler.
type Message struct {
	ID        int64
	Topic     string
	TicketID  int64 // 0 when the row names no ticket
	Payload   json.RawMessage
	CreatedAt time.Time
	// Attempts is how many earlier deliveries of the row failed.
	Attempts int
}

// Handler delivers one message in tx, the transaction that claimed it and
// marks it delivered.
type Handler interface {
	Handle(ctx context.Context, tx pgx.Tx, m Message) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, tx pgx.Tx, m Message) error

// Handle implements Handler.
func (f HandlerFunc) Handle(ctx context.Context, tx pgx.Tx, m Message) error { return f(ctx, tx, m) }

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks an error no retry can mend (a payload that cannot be
// read, a recipient rule that does not exist): the row becomes a dead
// letter at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

// Retry is the retry policy of failed deliveries.
type Retry struct {
	// Base is the wait after the first failure; each further failure
	// doubles it, up to Max.
	Base, Max time.Duration
	// Attempts is how many failed deliveries make a row a dead letter.
	Attempts int
}

// DefaultRetry waits 1 s, 2 s, 4 s … up to 10 minutes, and gives up after
// 10 attempts (about 27 minutes after the first).
var DefaultRetry = Retry{Base: time.Second, Max: 10 * time.Minute, Attempts: 10}

// Delay is the wait before the next attempt after the given number of
// failed ones (1 for the first failure).
func (r Retry) Delay(failures int) time.Duration {
	d := r.Base
	for i := 1; i < failures && d < r.Max; i++ {
		d *= 2
	}
	return min(d, r.Max)
}

// Defaults of a Dispatcher's zero fields.
const (
	DefaultBatch     = 100
	DefaultPoll      = time.Second
	DefaultRetention = 7 * 24 * time.Hour
	// DefaultNoticeRetention keeps read notices for a quarter: what a
	// user may look back on; the audit log, not notices, is the record.
	DefaultNoticeRetention = 90 * 24 * time.Hour
	// pruneEvery is how often delivered rows past the retention are
	// deleted, pruneChunk how many one statement deletes.
	pruneEvery = time.Minute
	pruneChunk = 10000
)

// Dispatcher delivers the outbox to its handlers.
type Dispatcher struct {
	Pool *pgxpool.Pool
	// Handlers by topic.
	Handlers map[string]Handler
	// Batch is the most rows one transaction claims (DefaultBatch).
	Batch int
	// Retry is the policy of failed deliveries (DefaultRetry).
	Retry Retry
	// Retention is how long delivered rows are kept (DefaultRetention);
	// negative keeps them for ever.
	Retention time.Duration
	// NoticeRetention is how long users' read notices are kept
	// (DefaultNoticeRetention); negative keeps them for ever. Unread ones
	// stay until read — an unread count must not drop by itself — but
	// those of disabled accounts, whom nobody reads for, go with the read.
	NoticeRetention time.Duration
	// Poll is how often the outbox is read when nothing wakes the
	// dispatcher (DefaultPoll).
	Poll time.Duration
	// Wake, when set, wakes the dispatcher before its poll (Feed.Wake:
	// LISTEN hotline_outbox, which a trigger NOTIFYs on every insert).
	Wake <-chan struct{}
	Log  *slog.Logger

	once sync.Once
}

func (d *Dispatcher) defaults() {
	d.once.Do(func() {
		if d.Batch <= 0 {
			d.Batch = DefaultBatch
		}
		if d.Retry.Attempts <= 0 {
			d.Retry.Attempts = DefaultRetry.Attempts
		}
		if d.Retry.Base <= 0 {
			d.Retry.Base = DefaultRetry.Base
		}
		if d.Retry.Max <= 0 {
			d.Retry.Max = DefaultRetry.Max
		}
		if d.Retention == 0 {
			d.Retention = DefaultRetention
		}
		if d.NoticeRetention == 0 {
			d.NoticeRetention = DefaultNoticeRetention
		}
		if d.Poll <= 0 {
			d.Poll = DefaultPoll
		}
		if d.Log == nil {
			d.Log = slog.New(slog.DiscardHandler)
		}
	})
}

// Run delivers until ctx ends: a batch after another while there are
// due rows, then waits for a wake-up or the poll; every minute it prunes
// delivered rows past the retention.
func (d *Dispatcher) Run(ctx context.Context) {
	d.defaults()
	timer := time.NewTimer(0)
	defer timer.Stop()
	var lastPrune time.Time
	for ctx.Err() == nil {
		n, err := d.Deliver(ctx)
		if err != nil && ctx.Err() == nil {
			d.Log.Error("delivering the outbox", "err", err)
		}
		if time.Since(lastPrune) >= pruneEvery && ctx.Err() == nil {
			lastPrune = time.Now()
			if pruned, err := d.Prune(ctx); err != nil && ctx.Err() == nil {
				d.Log.Error("pruning the outbox", "err", err)
			} else if pruned > 0 {
				d.Log.Info("outbox pruned", "rows", pruned)
			}
		}
		if err == nil && n > 0 {
			continue // more may be due (or a failed batch's other rows)
		}
		timer.Reset(d.Poll)
		select {
		case <-ctx.Done():
		case <-d.Wake:
		case <-timer.C:
		}
	}
}

// claim is the claim of due rows, oldest first; rows another transaction
// holds are skipped, not waited for.
const claim = `SELECT id, topic, COALESCE(ticket_id, 0), payload, created_at, attempts FROM outbox
	WHERE processed_at IS NULL AND dead_at IS NULL AND next_attempt_at <= now()
	ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`

// Deliver delivers one batch of due rows and returns how many it claimed.
// The batch runs in one transaction. When a handler fails, the batch is
// rolled back and the failure recorded on that row, which waits for its
// retry; the batch's other rows are claimed again at once by the next call
// (Run makes it), their handlers run again.
func (d *Dispatcher) Deliver(ctx context.Context) (int, error) {
	d.defaults()
	var claimed int
	var failed *Message
	var herr error
	err := pgx.BeginFunc(ctx, d.Pool, func(tx pgx.Tx) error {
		msgs, err := claimRows(ctx, tx, claim, d.Batch)
		if err != nil {
			return err
		}
		claimed = len(msgs)
		ids := make([]int64, 0, len(msgs))
		for i, m := range msgs {
			if err := d.handle(ctx, tx, m); err != nil {
				failed, herr = &msgs[i], err
				return errBatchFailed
			}
			ids = append(ids, m.ID)
		}
		return markDelivered(ctx, tx, ids)
	})
	if failed == nil {
		if err != nil {
			return 0, fmt.Errorf("delivering the outbox: %w", err)
		}
		return claimed, nil
	}
	if ctx.Err() != nil {
		return claimed, ctx.Err() // shutting down: not the handler's failure
	}
	return claimed, d.recordFailure(ctx, *failed, herr)
}

var errBatchFailed = errors.New("a handler failed")

// recordFailure counts a failed delivery of m on its row, unless the row
// changed since it was claimed (another node delivered it meanwhile).
func (d *Dispatcher) recordFailure(ctx context.Context, m Message, herr error) error {
	failures := m.Attempts + 1
	dead := failures >= d.Retry.Attempts || IsPermanent(herr)
	delay := d.Retry.Delay(failures)
	msg := herr.Error()
	if len(msg) > 2000 {
		msg = msg[:2000]
	}
	if _, err := d.Pool.Exec(ctx, `UPDATE outbox SET attempts = $2, last_error = $3,
		next_attempt_at = now() + $4 * interval '1 microsecond', dead_at = CASE WHEN $5 THEN now() END
		WHERE id = $1 AND attempts = $6 AND processed_at IS NULL AND dead_at IS NULL`,
		m.ID, failures, msg, delay.Microseconds(), dead, m.Attempts); err != nil {
		return fmt.Errorf("recording the failed delivery of outbox row %d: %w", m.ID, err)
	}
	if dead {
		d.Log.Error("outbox row is a dead letter", "id", m.ID, "topic", m.Topic, "attempts", failures, "err", herr)
	} else {
		d.Log.Warn("outbox delivery failed; retrying", "id", m.ID, "topic", m.Topic, "attempts", failures, "retry_in", delay, "err", herr)
	}
	return nil
}

// handle runs m's handler; a panic is an error like any other.
func (d *Dispatcher) handle(ctx context.Context, tx pgx.Tx, m Message) (err error) {
	h := d.Handlers[m.Topic]
	if h == nil {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler of %s panicked: %v\n%s", m.Topic, r, debug.Stack())
		}
	}()
	return h.Handle(ctx, tx, m)
}

func claimRows(ctx context.Context, tx pgx.Tx, sql string, arg any) ([]Message, error) {
	rows, err := tx.Query(ctx, sql, arg)
	if err != nil {
		return nil, fmt.Errorf("claiming outbox rows: %w", err)
	}
	msgs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Message, error) {
		var m Message
		err := r.Scan(&m.ID, &m.Topic, &m.TicketID, &m.Payload, &m.CreatedAt, &m.Attempts)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("claiming outbox rows: %w", err)
	}
	return msgs, nil
}

func markDelivered(ctx context.Context, tx pgx.Tx, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `UPDATE outbox SET processed_at = now() WHERE id = ANY($1)`, ids); err != nil {
		return fmt.Errorf("marking outbox rows delivered: %w", err)
	}
	return nil
}

// Prune deletes delivered rows older than the retention, and notices past
// theirs, in chunks, and returns how many outbox rows it deleted. Dead
// letters are kept until retried.
func (d *Dispatcher) Prune(ctx context.Context) (int64, error) {
	d.defaults()
	if _, err := d.PruneNotices(ctx); err != nil {
		return 0, err
	}
	if d.Retention < 0 {
		return 0, nil
	}
	return deleteChunked(ctx, d.Pool, "pruning the outbox", `DELETE FROM outbox WHERE id IN (SELECT id FROM outbox
		WHERE processed_at IS NOT NULL AND processed_at < now() - $1 * interval '1 microsecond' LIMIT $2)`, d.Retention)
}

// PruneNotices deletes notices past NoticeRetention: read ones, and any of
// a disabled account.
func (d *Dispatcher) PruneNotices(ctx context.Context) (int64, error) {
	d.defaults()
	if d.NoticeRetention < 0 {
		return 0, nil
	}
	return deleteChunked(ctx, d.Pool, "pruning notices", `DELETE FROM notices WHERE id IN (SELECT n.id FROM notices n JOIN users u ON u.id = n.user_id
		WHERE n.created_at < now() - $1 * interval '1 microsecond' AND (n.read_at IS NOT NULL OR u.disabled) LIMIT $2)`, d.NoticeRetention)
}

// deleteChunked runs a DELETE of rows older than age, pruneChunk a
// statement, so a large backlog does not hold one long transaction.
func deleteChunked(ctx context.Context, pool *pgxpool.Pool, doing, sql string, age time.Duration) (int64, error) {
	var total int64
	for {
		tag, err := pool.Exec(ctx, sql, age.Microseconds(), pruneChunk)
		if err != nil {
			return total, fmt.Errorf("%s: %w", doing, err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < pruneChunk {
			return total, nil
		}
	}
}
