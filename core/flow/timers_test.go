package flow_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func (w *world) timers(t *testing.T, ticket int64) map[string]time.Time {
	t.Helper()
	rows, err := w.pool.Query(context.Background(), `SELECT name, due_at FROM ticket_timers WHERE ticket_id = $1 AND fired_at IS NULL`, ticket)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var name string
		var due time.Time
		require.NoError(t, rows.Scan(&name, &due))
		out[name] = due
	}
	return out
}

func (w *world) notices(t *testing.T, timer string) int {
	t.Helper()
	var n int
	require.NoError(t, w.pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox WHERE topic = 'notice' AND payload->>'timer' = $1`, timer).Scan(&n))
	return n
}

func TestTimersFollowTheDeadlineAndFireOnce(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	cst := w.now.Location()
	tk, err := w.eng.Create(ctx, w.as(t, "agent"), "request", "register", map[string]any{"unit": "150105", "title": "暖气不热", "type": "咨询"})
	require.NoError(t, err)
	// Due 26 Feb: warned at the start of the last working day, overdue at
	// the deadline, supervised two working days later.
	assert.Equal(t, map[string]time.Time{
		"near_due":  time.Date(2026, 2, 25, 0, 0, 0, 0, cst),
		"overdue":   time.Date(2026, 2, 26, 0, 0, 0, 0, cst),
		"supervise": time.Date(2026, 2, 28, 0, 0, 0, 0, cst),
	}, normalize(w.timers(t, tk.ID), cst))

	w.now = time.Date(2026, 2, 25, 1, 0, 0, 0, cst)
	n, err := w.eng.FireDue(ctx, 100)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	n, err = w.eng.FireDue(ctx, 100)
	require.NoError(t, err)
	assert.Zero(t, n, "a fired timer does not fire again")
	assert.Equal(t, 1, w.notices(t, "near_due"))
	var holder string
	require.NoError(t, w.pool.QueryRow(ctx, `SELECT payload->>'holderUnit' FROM outbox WHERE payload->>'timer' = 'near_due'`).Scan(&holder))
	assert.Equal(t, "150105", holder, "the notice names the unit holding the ticket when it fires")

	// A paused clock has no timers; resuming schedules them again.
	tk, err = w.eng.Perform(ctx, w.as(t, "clerk"), tk.ID, "return", nil, nil)
	require.NoError(t, err)
	assert.Empty(t, w.timers(t, tk.ID))
	tk, err = w.eng.Perform(ctx, w.as(t, "agent"), tk.ID, "redispatch", map[string]any{"unit": "150105"}, nil)
	require.NoError(t, err)
	assert.Len(t, w.timers(t, tk.ID), 3)

	// Every node was down for a week: when several come back at once, the
	// timers that fell due fire exactly once between them.
	w.now = time.Date(2026, 3, 20, 9, 0, 0, 0, cst)
	var wg sync.WaitGroup
	total := make([]int, 4)
	for i := range total {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := w.eng.FireDue(ctx, 100)
			assert.NoError(t, err)
			total[i] = n
		}()
	}
	wg.Wait()
	assert.Equal(t, 3, total[0]+total[1]+total[2]+total[3])
	assert.Equal(t, 2, w.notices(t, "near_due"), "once before the return, once after the redispatch")
	assert.Equal(t, 1, w.notices(t, "overdue"))
	assert.Equal(t, 1, w.notices(t, "supervise"))

	// Closing a ticket cancels what has not fired.
	tk2, err := w.eng.Create(ctx, w.as(t, "agent"), "request", "register", map[string]any{"unit": "150105", "title": "路灯不亮"})
	require.NoError(t, err)
	require.Len(t, w.timers(t, tk2.ID), 3)
	_, err = w.eng.Perform(ctx, w.as(t, "clerk"), tk2.ID, "complete", map[string]any{"reply": "已更换灯泡，路灯恢复照明。"}, nil)
	require.NoError(t, err)
	assert.Empty(t, w.timers(t, tk2.ID))
}

func normalize(m map[string]time.Time, loc *time.Location) map[string]time.Time {
	for k, v := range m {
		m[k] = v.In(loc)
	}
	return m
}
