package telephony

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/core/acd"
	"github.com/hotline12345/hotline/core/ivr"
)

// records keeps calls and their events. A failure to write is logged, not
// put to the caller: the call goes on without its record.
type records struct {
	pool *pgxpool.Pool
	node string
	log  *slog.Logger
}

// callRecord is a call's row and how many events it has. Events come
// from the call's goroutine and from offers ringing agents at once.
type callRecord struct {
	id  int64
	mu  sync.Mutex
	seq int
}

func (rec *callRecord) next() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.seq++
	return rec.seq
}

// newCall is a call's first row.
type newCall struct {
	sipID, direction          string
	caller, callerRaw, called string
	menu                      string
	// trunk, when set, is the trunk the call uses: its limit is checked
	// in the same transaction, across nodes.
	trunk *Trunk
}

// errTrunkFull: the trunk already carries its max_calls.
var errTrunkFull = errors.New("the trunk is at its limit of concurrent calls")

// trunkHasRoom returns errTrunkFull when t carries its max_calls, on all
// nodes, besides the call except. One transaction at a time counts a
// trunk's calls: two calls racing for its last channel cannot both have
// it.
func trunkHasRoom(ctx context.Context, tx pgx.Tx, t *Trunk, except int64) error {
	if t.MaxCalls == 0 {
		return nil
	}
	// The lock is its own statement: a count in the same statement would
	// read the snapshot taken before the lock was granted and miss the
	// call committed by whoever held it.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('trunk:' || $1))`, t.Name); err != nil {
		return fmt.Errorf("locking trunk %s: %w", t.Name, err)
	}
	var live int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM calls WHERE trunk = $1 AND ended_at IS NULL AND id <> $2`, t.Name, except).Scan(&live); err != nil {
		return fmt.Errorf("counting the calls of trunk %s: %w", t.Name, err)
	}
	if live >= t.MaxCalls {
		return errTrunkFull
	}
	return nil
}

// offered writes the call's row and its first event.
func (r *records) offered(ctx context.Context, c newCall) (*callRecord, error) {
	rec := &callRecord{}
	var trunk *string
	if c.trunk != nil {
		trunk = &c.trunk.Name
	}
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		if c.trunk != nil {
			if err := trunkHasRoom(ctx, tx, c.trunk, 0); err != nil {
				return err
			}
		}
		if err := tx.QueryRow(ctx, `INSERT INTO calls (sip_call_id, direction, caller, called, node, menu, trunk, caller_raw)
			VALUES ($1, $2, $3, $4, $5, NULLIF($6, ''), $7, NULLIF($8, '')) RETURNING id`,
			c.sipID, c.direction, c.caller, c.called, r.node, c.menu, trunk, c.callerRaw).Scan(&rec.id); err != nil {
			return err
		}
		data := map[string]any{}
		if c.menu != "" {
			data["menu"] = c.menu
		}
		if trunk != nil {
			data["trunk"] = *trunk
		}
		return r.insertEvent(ctx, tx, rec, "offered", data)
	})
	if errors.Is(err, errTrunkFull) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("recording call %s: %w", c.sipID, err)
	}
	return rec, nil
}

// rejected records a call refused before it was answered.
func (r *records) rejected(ctx context.Context, sipID, caller, called, trunk, reason string) {
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		rec := &callRecord{}
		if err := tx.QueryRow(ctx, `INSERT INTO calls (sip_call_id, direction, caller, called, node, trunk, outcome, ended_at, end_reason)
			VALUES ($1, 'inbound', $2, $3, $4, NULLIF($5, ''), 'rejected', now(), $6) RETURNING id`, sipID, caller, called, r.node, trunk, reason).Scan(&rec.id); err != nil {
			return err
		}
		return r.insertEvent(ctx, tx, rec, "rejected", map[string]any{"reason": reason})
	})
	if err != nil {
		r.log.Error("recording a rejected call", "call", sipID, "err", err)
	}
}

func (r *records) insertEvent(ctx context.Context, tx pgx.Tx, rec *callRecord, kind string, data map[string]any) error {
	if data == nil {
		data = map[string]any{}
	}
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO call_events (call_id, seq, at, kind, data) VALUES ($1, $2, clock_timestamp(), $3, $4)`, rec.id, rec.next(), kind, b)
	return err
}

// event writes an event.
func (r *records) event(ctx context.Context, rec *callRecord, kind string, data map[string]any) {
	r.write(ctx, rec, kind, data, "")
}

// write writes an event and, in the same transaction when set is not
// empty, changes the call's row (set is an UPDATE's SET list over $2…).
func (r *records) write(ctx context.Context, rec *callRecord, kind string, data map[string]any, set string, args ...any) {
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		if set != "" {
			if _, err := tx.Exec(ctx, `UPDATE calls SET `+set+` WHERE id = $1`, append([]any{rec.id}, args...)...); err != nil {
				return err
			}
		}
		return r.insertEvent(ctx, tx, rec, kind, data)
	})
	if err != nil {
		r.log.Error("recording a call event", "call", rec.id, "event", kind, "err", err)
	}
}

// answered records that the call was answered (the menu took it).
func (r *records) answered(ctx context.Context, rec *callRecord) {
	r.write(ctx, rec, "answered", nil, "answered_at = clock_timestamp()")
}

// connected records the agent who answered the call.
func (r *records) connected(ctx context.Context, rec *callRecord, agent acd.Agent) {
	r.write(ctx, rec, "connected", map[string]any{"agent": agent.Username, "extension": agent.Extension},
		"agent_id = $2, connected_at = clock_timestamp()", agent.UserID)
}

// recorded keeps where the call's recording is.
func (r *records) recorded(ctx context.Context, rec *callRecord, path string, size int64) {
	r.write(ctx, rec, "recorded", map[string]any{"bytes": size}, "recording = $2, recording_bytes = $3", path, size)
}

// menuDone records how the call left its menu: the path, the keys pressed
// (each with how long the caller took) and the outcome.
func (r *records) menuDone(ctx context.Context, rec *callRecord, out ivr.Outcome, responses []time.Duration, failure error) {
	outcome := out.Kind
	ms := make([]int64, len(responses))
	for i, d := range responses {
		ms[i] = d.Milliseconds()
	}
	// response_ms: from each key to the next prompt (P-8).
	data := map[string]any{"path": out.Path, "lang": out.Lang, "vars": out.Vars, "node": out.Node, "response_ms": ms}
	if failure != nil {
		outcome = "failed"
		data["error"] = failure.Error()
	}
	callsTotal.WithLabelValues(outcome).Inc()
	var recording *string
	if out.Ticket != nil && out.Ticket.Recording != "" {
		recording = &out.Ticket.Recording
	}
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		for _, k := range out.Keys {
			if err := r.insertEvent(ctx, tx, rec, "key", map[string]any{"node": k.Node, "digits": k.Digits, "ms": k.After.Milliseconds()}); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE calls SET ivr_path = $2, lang = $3, outcome = $4, queue = NULLIF($5, ''), recording = $6 WHERE id = $1`,
			rec.id, out.Path, out.Lang, outcome, out.Queue, recording); err != nil {
			return err
		}
		switch out.Kind {
		case "queue":
			data["queue"], data["skills"], data["priority"] = out.Queue, out.Skills, out.Priority
		case "transfer":
			data["transfer"] = out.Transfer
		case "voicemail", "callback":
			data["ticket"] = out.Ticket
		}
		return r.insertEvent(ctx, tx, rec, "ivr", data)
	})
	if err != nil {
		r.log.Error("recording a call's menu", "call", rec.id, "err", err)
	}
}

// ended closes the call's record.
func (r *records) ended(ctx context.Context, rec *callRecord, reason string) {
	r.write(ctx, rec, "ended", map[string]any{"reason": reason},
		"ended_at = clock_timestamp(), end_reason = $2, outcome = COALESCE(outcome, 'abandoned')", reason)
}

// spooled finds the call a recording left in the spool belongs to: one of
// this node's, ended, without a recording. name is the file's, less .wav:
// call-<id> (a conversation) or vm-<its Call-ID as safeName writes it> (a
// voice message).
func (r *records) spooled(ctx context.Context, name string) (*callRecord, time.Time, bool, error) {
	q := `SELECT id, started_at, (SELECT COALESCE(max(seq), 0) FROM call_events e WHERE e.call_id = c.id) FROM calls c
		WHERE node = $1 AND ended_at IS NOT NULL AND recording IS NULL AND `
	var arg any
	if id, ok := strings.CutPrefix(name, "call-"); ok {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return nil, time.Time{}, false, nil
		}
		q, arg = q+`id = $2`, n
	} else if sipID, ok := strings.CutPrefix(name, "vm-"); ok {
		q, arg = q+`regexp_replace(sip_call_id, '[^A-Za-z0-9._-]', '_', 'g') = $2 ORDER BY id DESC LIMIT 1`, sipID
	} else {
		return nil, time.Time{}, false, nil
	}
	rec := &callRecord{}
	var started time.Time
	err := r.pool.QueryRow(ctx, q, r.node, arg).Scan(&rec.id, &started, &rec.seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, time.Time{}, false, nil
	}
	if err != nil {
		return nil, time.Time{}, false, fmt.Errorf("finding the call of spooled recording %s: %w", name, err)
	}
	return rec, started, true, nil
}

// reconcile closes the records of calls this node had open when it
// stopped: their media and dialogs are gone.
func (r *records) reconcile(ctx context.Context) error {
	rows, err := r.pool.Query(ctx, `SELECT id, (SELECT COALESCE(max(seq), 0) FROM call_events e WHERE e.call_id = c.id) FROM calls c WHERE node = $1 AND ended_at IS NULL`, r.node)
	if err != nil {
		return fmt.Errorf("finding calls left open: %w", err)
	}
	var open []*callRecord
	for rows.Next() {
		rec := &callRecord{}
		if err := rows.Scan(&rec.id, &rec.seq); err != nil {
			rows.Close()
			return err
		}
		open = append(open, rec)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, rec := range open {
		r.ended(ctx, rec, "server restarted")
	}
	if len(open) > 0 {
		r.log.Warn("closed the records of calls left open by a restart", "calls", len(open), "at", time.Now().Format(time.RFC3339))
	}
	return nil
}
