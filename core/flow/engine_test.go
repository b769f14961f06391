package flow_test

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/configstore"
	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/pgtest"
	"github.com/hotline12345/hotline/core/registry"

	_ "github.com/hotline12345/hotline/core/flowtest" // kind flow-test: the sample flow has scenarios
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const password = "Hotline@12345"

type world struct {
	runtime *registry.Runtime
	pool    *pgxpool.Pool
	ids     *identity.Service
	eng     *flow.Engine
	now     time.Time
}

// newWorld loads the sample flow, records it as the running configuration
// and seeds the demo organisation with an agent and two clerks.
func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	set, diags := registry.Load(ctx, []string{"../../testdata/flows/sample"}, registry.LoadOptions{})
	require.Empty(t, diags)
	w := &world{pool: pgtest.Pool(t), now: time.Date(2026, 2, 13, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))}
	_, err := configstore.New(w.pool).Record(ctx, set, audit.System, "test")
	require.NoError(t, err)
	runtime := registry.NewRuntime(set)
	w.ids = identity.NewService(w.pool, runtime, identity.DefaultPolicy(), slog.New(slog.DiscardHandler))
	org, err := os.ReadFile("../../flows/organisation.yaml") // the Hohhot organisation the shipped scenarios run in
	require.NoError(t, err)
	sd, err := identity.ParseSeed("flows/organisation.yaml", org)
	require.NoError(t, err)
	sd.Users = []identity.SeedUser{
		{Username: "agent", DisplayName: "话务员", Unit: "12345", Roles: []string{"agent"}},
		{Username: "clerk", DisplayName: "赛罕区承办人", Unit: "150105", Roles: []string{"clerk"}},
		{Username: "clerk.xc", DisplayName: "新城区承办人", Unit: "150102", Roles: []string{"clerk"}},
		{Username: "admin", DisplayName: "管理员", Unit: "12345", Roles: []string{"admin"}},
	}
	_, _, err = w.ids.LoadSeed(ctx, sd, password)
	require.NoError(t, err)
	w.runtime = runtime
	w.eng = flow.NewEngine(w.pool, runtime)
	w.eng.Store.Now = func() time.Time { return w.now }
	return w
}

func (w *world) as(t *testing.T, user string) *identity.Principal {
	t.Helper()
	res, err := w.ids.Login(context.Background(), user, password)
	require.NoError(t, err)
	return res.Principal
}

func codeOf(err error) gql.Code {
	if ge, ok := gql.AsError(err); ok {
		return ge.Code
	}
	return ""
}

func TestTicketWalksTheSampleFlow(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	agent, clerk := w.as(t, "agent"), w.as(t, "clerk")

	_, err := w.eng.Create(ctx, agent, "request", "register", map[string]any{"unit": "150105"})
	ge, _ := gql.AsError(err)
	require.NotNil(t, ge)
	assert.Equal(t, "input.title", ge.Field, "the register form requires a title")

	tk, err := w.eng.Create(ctx, agent, "request", "register", map[string]any{"unit": "150105", "title": "小区暖气不热", "type": "咨询"})
	require.NoError(t, err)
	assert.Equal(t, "handling", tk.State)
	assert.Equal(t, "赛罕区", tk.HolderUnit.Name)
	assert.Equal(t, "20260213000001", tk.Number)
	assert.Equal(t, 1, tk.Version)
	// A consultation: 3 working days on the calendar, across Spring
	// Festival with its Saturday worked.
	assert.Equal(t, time.Date(2026, 2, 26, 0, 0, 0, 0, tk.Deadline.Location()).Unix(), tk.Deadline.Unix())

	// Only the clerk of the holding unit may act; the clerk of 新城区 does
	// not even see the ticket.
	_, err = w.eng.Perform(ctx, w.as(t, "clerk.xc"), tk.ID, "return", nil, nil)
	assert.Equal(t, gql.NotFound, codeOf(err))
	_, err = w.eng.Perform(ctx, agent, tk.ID, "complete", map[string]any{"reply": "已处理完毕，请查收结果。"}, nil)
	assert.Equal(t, gql.Forbidden, codeOf(err))
	names := []string{}
	available, err := w.eng.Available(ctx, clerk, tk)
	require.NoError(t, err)
	for _, a := range available {
		names = append(names, a.Name)
	}
	assert.ElementsMatch(t, []string{"return", "complete"}, names)

	// Return pauses the clock and hands the ticket back to its creator.
	w.now = w.now.Add(24 * time.Hour) // Saturday the 14th, a working day
	tk, err = w.eng.Perform(ctx, clerk, tk.ID, "return", map[string]any{"reason": "不属于本单位职责"}, &tk.Version)
	require.NoError(t, err)
	assert.Equal(t, "returned", tk.State)
	require.NotNil(t, tk.PausedRemaining)
	assert.Equal(t, 2, *tk.PausedRemaining, "24th and 25th were left")
	assert.Equal(t, "12345", tk.HolderUnit.Code)

	// Redispatched after the holiday, it gets its two days back.
	w.now = time.Date(2026, 2, 24, 9, 0, 0, 0, w.now.Location())
	tk, err = w.eng.Perform(ctx, agent, tk.ID, "redispatch", map[string]any{"unit": "150105"}, nil)
	require.NoError(t, err)
	assert.Nil(t, tk.PausedRemaining)
	assert.Equal(t, time.Date(2026, 2, 27, 0, 0, 0, 0, w.now.Location()).Unix(), tk.Deadline.Unix())

	// The guard: after two returns no third.
	tk, err = w.eng.Perform(ctx, clerk, tk.ID, "return", nil, nil)
	require.NoError(t, err)
	tk, err = w.eng.Perform(ctx, agent, tk.ID, "redispatch", map[string]any{"unit": "150105"}, nil)
	require.NoError(t, err)
	_, err = w.eng.Perform(ctx, clerk, tk.ID, "return", nil, nil)
	require.Error(t, err)
	assert.Equal(t, "已退回两次，不能再次退回", err.Error())

	// Wrong state, and a guard on the input.
	_, err = w.eng.Perform(ctx, agent, tk.ID, "redispatch", map[string]any{"unit": "150105"}, nil)
	assert.Equal(t, gql.BadUserInput, codeOf(err))
	_, err = w.eng.Perform(ctx, clerk, tk.ID, "complete", map[string]any{"reply": "好了"}, nil)
	assert.Equal(t, "办理结果至少 10 个字", err.Error())

	tk, err = w.eng.Perform(ctx, clerk, tk.ID, "complete", map[string]any{"reply": "已联系物业公司，暖气已恢复正常供应。"}, nil)
	require.NoError(t, err)
	assert.Equal(t, "done", tk.State)
	assert.NotNil(t, tk.ClosedAt)
	// The reply is the action's own input, not a field of the ticket that
	// a later action's input of the same name could replace.
	assert.Equal(t, "已联系物业公司，暖气已恢复正常供应。", tk.Inputs["complete"]["reply"])
	assert.NotContains(t, tk.Fields, "reply")

	// One event per change, numbered by version; an outbox row each.
	var events, outbox, maxVersion int
	require.NoError(t, w.pool.QueryRow(ctx, `SELECT count(*), max(ticket_version) FROM ticket_events WHERE ticket_id = $1`, tk.ID).Scan(&events, &maxVersion))
	require.NoError(t, w.pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE ticket_id = $1 AND topic = 'ticket.changed'`, tk.ID).Scan(&outbox))
	assert.Equal(t, tk.Version, events)
	assert.Equal(t, tk.Version, maxVersion)
	assert.Equal(t, events, outbox)
}

func TestConcurrentActionsOneWins(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	agent := w.as(t, "agent")
	tk, err := w.eng.Create(ctx, agent, "request", "register", map[string]any{"unit": "150105", "title": "路灯不亮"})
	require.NoError(t, err)
	clerk := w.as(t, "clerk")
	version := tk.Version
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = w.eng.Perform(ctx, clerk, tk.ID, "complete", map[string]any{"reply": "已维修路灯，恢复照明，谢谢反映。"}, &version)
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		ge, ok := gql.AsError(err)
		require.True(t, ok, "%v", err)
		assert.Equal(t, gql.Conflict, ge.Code)
		assert.Equal(t, "done", ge.Extensions()["state"])
	}
	assert.Equal(t, 1, won)
	var events int
	require.NoError(t, w.pool.QueryRow(ctx, `SELECT count(*) FROM ticket_events WHERE ticket_id = $1`, tk.ID).Scan(&events))
	assert.Equal(t, 2, events, "register and one complete; no lost or double update")
}

func TestPausingDoesNotForgiveLatenessOrEndOnADayOff(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	agent, clerk := w.as(t, "agent"), w.as(t, "clerk")
	cst := w.now.Location()

	// Overdue when returned: redispatching later keeps the old deadline.
	w.now = time.Date(2026, 3, 2, 9, 0, 0, 0, cst)
	tk, err := w.eng.Create(ctx, agent, "request", "register", map[string]any{"unit": "150105", "title": "逾期工单", "type": "咨询"})
	require.NoError(t, err)
	due := *tk.Deadline
	w.now = time.Date(2026, 3, 9, 9, 0, 0, 0, cst)
	tk, err = w.eng.Perform(ctx, clerk, tk.ID, "return", nil, nil)
	require.NoError(t, err)
	w.now = time.Date(2026, 3, 12, 9, 0, 0, 0, cst)
	tk, err = w.eng.Perform(ctx, agent, tk.ID, "redispatch", map[string]any{"unit": "150105"}, nil)
	require.NoError(t, err)
	assert.True(t, due.Equal(*tk.Deadline), "still due %s, got %s", due, tk.Deadline)

	// Returned on its last day, redispatched on a Sunday: due at the end of
	// the next working day, not at the end of the Sunday.
	w.now = time.Date(2026, 3, 2, 9, 0, 0, 0, cst) // Monday; due end of Thursday
	tk, err = w.eng.Create(ctx, agent, "request", "register", map[string]any{"unit": "150105", "title": "最后一天退回", "type": "咨询"})
	require.NoError(t, err)
	w.now = time.Date(2026, 3, 5, 15, 0, 0, 0, cst)
	tk, err = w.eng.Perform(ctx, clerk, tk.ID, "return", nil, nil)
	require.NoError(t, err)
	w.now = time.Date(2026, 3, 8, 10, 0, 0, 0, cst)
	tk, err = w.eng.Perform(ctx, agent, tk.ID, "redispatch", map[string]any{"unit": "150105"}, nil)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 3, 10, 0, 0, 0, 0, cst).Unix(), tk.Deadline.Unix())
}
