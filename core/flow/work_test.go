package flow_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/ticket"
	"github.com/hotline12345/hotline/deploy/gen/gentest"
)

// counts reads p's to-do list as (state → count) plus the totals.
func workOf(t *testing.T, w *gentest.World, username string) (flow.Work, map[string]int) {
	t.Helper()
	work, err := w.Engine.MyWork(context.Background(), w.As(t, username))
	require.NoError(t, err)
	by := map[string]int{}
	for _, s := range work.States {
		by[s.State] = s.Count
	}
	return work, by
}

func TestMyWorkFollowsTheTicketFromDeskToDesk(t *testing.T) {
	t.Parallel()
	w := gentest.New(t, 0)
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, w.Engine.Store.Now().Location())
	w.Engine.Store.Now = func() time.Time { return now }
	act := func(user, action string, id int64, input map[string]any) ticket.Ticket {
		t.Helper()
		tk, err := w.Engine.Perform(ctx, w.As(t, user), id, action, input, nil)
		require.NoError(t, err, "%s %s", user, action)
		return tk
	}
	tk, err := w.Engine.Create(ctx, w.As(t, "agent"), "ticket", "register", map[string]any{
		"caller_phone": "13804711234", "title": "小区供暖不热", "content": "暖气不热", "type": "投诉"})
	require.NoError(t, err)

	_, dispatcher := workOf(t, w, "dispatcher")
	assert.Equal(t, 1, dispatcher["first_review"], "a new ticket waits on the dispatchers")
	_, agent := workOf(t, w, "agent")
	assert.Zero(t, agent["first_review"], "not on the agent who registered it")

	act("dispatcher", "dispatch", tk.ID, map[string]any{"unit": "150105"})
	work, clerk := workOf(t, w, "clerk")
	assert.Equal(t, 1, clerk["dept_pending_sign"], "then on the district's clerk, to sign for")
	assert.Zero(t, work.StepOverdue)
	_, other := workOf(t, w, "clerk.xincheng")
	assert.Empty(t, other, "not on another district's")
	_, dispatcher = workOf(t, w, "dispatcher")
	assert.Zero(t, dispatcher["first_review"])

	// Three hours later the sign-for is late.
	now = now.Add(3 * time.Hour)
	work, _ = workOf(t, w, "clerk")
	assert.Equal(t, 1, work.StepOverdue)
	late, err := w.Engine.WorkList(ctx, w.As(t, "clerk"), "", "", flow.DueStepOverdue, 0, 10)
	require.NoError(t, err)
	require.Len(t, late, 1)
	assert.Equal(t, tk.ID, late[0].ID)

	act("clerk", "sign", tk.ID, nil)
	act("clerk", "hand_down", tk.ID, map[string]any{"unit": "150105001"})
	_, clerk = workOf(t, w, "clerk")
	assert.Empty(t, clerk, "handed down, it waits on the street")
	_, street := workOf(t, w, "clerk.daxue")
	assert.Equal(t, 1, street["dept_pending_sign"])

	act("clerk.daxue", "sign", tk.ID, nil)
	act("clerk.daxue", "report_up", tk.ID, map[string]any{"result": "街道已入户核实，暖气已恢复正常。"})
	act("clerk", "reply", tk.ID, map[string]any{"result": "经街道入户核实，已协调供热站，暖气已恢复正常。"})
	_, auditor := workOf(t, w, "auditor")
	assert.Equal(t, 1, auditor["final_review"], "a reply waits on the auditors")

	// Near its deadline (the last working day), and past it.
	tk, err = w.Engine.Store.Get(ctx, w.As(t, "auditor"), tk.ID)
	require.NoError(t, err)
	now = tk.Deadline.Add(-2 * time.Hour)
	work, _ = workOf(t, w, "auditor")
	assert.Equal(t, []int{1, 0}, []int{work.NearDue, work.Overdue})
	now = tk.Deadline.Add(time.Hour)
	work, _ = workOf(t, w, "auditor")
	assert.Equal(t, []int{0, 1}, []int{work.NearDue, work.Overdue})
	assert.Equal(t, "终审处理", work.States[0].Label)

	act("auditor", "final_pass", tk.ID, nil)
	_, callback := workOf(t, w, "callback")
	assert.Equal(t, 1, callback["awaiting_callback"])
	act("callback", "callback_satisfied", tk.ID, map[string]any{"satisfaction": "满意"})
	act("auditor", "result_pass", tk.ID, nil)
	for _, u := range []string{"agent", "dispatcher", "clerk", "clerk.daxue", "auditor", "callback"} {
		work, _ := workOf(t, w, u)
		assert.Zero(t, work.Total, "%s: a completed ticket waits on nobody", u)
	}
}

func TestMyWorkOfANamedClerk(t *testing.T) {
	t.Parallel()
	w := gentest.New(t, 0)
	ctx := context.Background()
	tk, err := w.Engine.Create(ctx, w.As(t, "agent"), "ticket", "register", map[string]any{
		"caller_phone": "13804711234", "title": "楼道灯坏", "content": "楼道灯不亮", "type": "求助"})
	require.NoError(t, err)
	for _, step := range []struct {
		user, action string
		input        map[string]any
	}{
		{"dispatcher", "dispatch", map[string]any{"unit": "150105001001"}},
		{"clerk.minzu", "sign", nil},
	} {
		_, err := w.Engine.Perform(ctx, w.As(t, step.user), tk.ID, step.action, step.input, nil)
		require.NoError(t, err)
	}
	_, err = w.Engine.Perform(ctx, w.As(t, "clerk.minzu"), tk.ID, "assign_clerk", map[string]any{"clerk": "clerk.daxue"}, nil)
	require.Error(t, err, "a clerk of another unit cannot hold the community's ticket")
	_, err = w.Engine.Perform(ctx, w.As(t, "clerk.minzu"), tk.ID, "assign_clerk", map[string]any{"clerk": "clerk.minzu"}, nil)
	require.NoError(t, err)
	work, _ := workOf(t, w, "clerk.minzu")
	assert.Equal(t, 1, work.Total, "on the named clerk's list")
	list, err := w.Engine.WorkList(ctx, w.As(t, "clerk.minzu"), "ticket", "dept_handling", "", 0, 10)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "clerk.minzu", list[0].HolderUser)
}
