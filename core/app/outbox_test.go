package app_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/app"
	"github.com/hotline12345/hotline/core/pgtest"
)

func TestOutboxSettingsComeFromTheEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name      string
		env       map[string]string
		retention time.Duration
		notices   time.Duration
		attempts  int
		retryMax  time.Duration
		err       string
	}{
		{name: "defaults", retention: 7 * 24 * time.Hour, notices: 90 * 24 * time.Hour, attempts: 10, retryMax: 10 * time.Minute},
		{name: "set", env: map[string]string{"HOTLINE_OUTBOX_RETENTION": "24h", "HOTLINE_OUTBOX_MAX_ATTEMPTS": "3", "HOTLINE_OUTBOX_RETRY_MAX": "1m", "HOTLINE_NOTICE_RETENTION": "720h"},
			retention: 24 * time.Hour, notices: 30 * 24 * time.Hour, attempts: 3, retryMax: time.Minute},
		{name: "kept for ever", env: map[string]string{"HOTLINE_OUTBOX_RETENTION": "0", "HOTLINE_NOTICE_RETENTION": "0"}, retention: -1, notices: -1, attempts: 10, retryMax: 10 * time.Minute},
		{name: "notices not a duration", env: map[string]string{"HOTLINE_NOTICE_RETENTION": "a quarter"}, err: "HOTLINE_NOTICE_RETENTION"},
		{name: "no attempts", env: map[string]string{"HOTLINE_OUTBOX_MAX_ATTEMPTS": "0"}, err: "HOTLINE_OUTBOX_MAX_ATTEMPTS"},
		{name: "not a duration", env: map[string]string{"HOTLINE_OUTBOX_RETENTION": "a week"}, err: "HOTLINE_OUTBOX_RETENTION"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cfg, err := app.FromEnv()
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.retention, cfg.OutboxRetention)
			assert.Equal(t, tc.notices, cfg.NoticeRetention)
			assert.Equal(t, tc.attempts, cfg.OutboxAttempts)
			assert.Equal(t, tc.retryMax, cfg.OutboxRetryMax)
		})
	}
}

// TestADispatchReachesTheClerkAsANotice: `hotline serve` delivers the
// outbox. The dispatcher's 派单 notifies the holding unit; its clerk's
// subscription gets the notice and the agent's ticketChanged the change.
func TestADispatchReachesTheClerkAsANotice(t *testing.T) {
	cfg := baseConfig(t)
	cfg.DatabaseURL = pgtest.URL(t)
	base := server(t, cfg, true)
	agent, dispatcher, clerk := login(t, base, "agent"), login(t, base, "dispatcher"), login(t, base, "clerk")
	before := query(t, base, clerk, `{ unreadNotices }`, nil)
	require.Empty(t, before.Errors)
	unread := before.Data["unreadNotices"].(float64)

	r := query(t, base, agent, `mutation($in: JSON!) { createTicket(form: "ticket-register", input: $in) { id number } }`,
		map[string]any{"in": map[string]any{"caller_phone": "13804711234", "title": "小区供暖不热", "content": "家中暖气不热已有三天。", "type": "投诉", "category": "0103"}})
	require.Empty(t, r.Errors)
	tk := r.Data["createTicket"].(map[string]any)
	notices := subscribe(t, base, clerk, `subscription { notices { message number level } }`)
	changes := subscribe(t, base, agent, `subscription { ticketChanged(ticket: "`+tk["id"].(string)+`") { action from to version } }`)
	time.Sleep(200 * time.Millisecond) // both subscriptions are registered

	r = query(t, base, dispatcher, `mutation($id: ID!) { performAction(ticketId: $id, action: "dispatch", input: {unit: "150105", opinion: "请赛罕区办理"}) { state } }`,
		map[string]any{"id": tk["id"]})
	require.Empty(t, r.Errors)
	assert.Equal(t, map[string]any{"notices": map[string]any{"message": "您单位有新的工单待办理", "number": tk["number"], "level": "info"}}, notices())
	// The register's own change is delivered by the dispatcher too, and
	// may reach the subscription after it started (a loaded machine).
	change := changes()
	if change["ticketChanged"].(map[string]any)["action"] == "register" {
		change = changes()
	}
	assert.Equal(t, map[string]any{"ticketChanged": map[string]any{"action": "dispatch", "from": "first_review", "to": "dept_pending_sign", "version": float64(2)}}, change)
	after := query(t, base, clerk, `{ unreadNotices notices(unread: true, first: 1) { edges { node { message } } } }`, nil)
	require.Empty(t, after.Errors)
	assert.Equal(t, unread+1, after.Data["unreadNotices"])

	// Administrators see dead letters; a clerk may not.
	r = query(t, base, clerk, `{ outboxDeadLetters { edges { node { id } } } }`, nil)
	require.Len(t, r.Errors, 1)
	assert.Equal(t, "FORBIDDEN", r.Errors[0].Extensions["code"])
	r = query(t, base, login(t, base, "admin"), `{ outboxDeadLetters { edges { node { id } } } }`, nil)
	require.Empty(t, r.Errors)
}
