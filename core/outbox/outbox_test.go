package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/graphql-go/graphql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/outbox"
	"github.com/hotline12345/hotline/core/pgtest"
	"github.com/hotline12345/hotline/core/registry"

	_ "github.com/hotline12345/hotline/core/calendar"
	_ "github.com/hotline12345/hotline/core/flowtest" // kind flow-test: the sample flow has scenarios
	_ "github.com/hotline12345/hotline/core/form"
	_ "github.com/hotline12345/hotline/core/script"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helper())
	}
	pgtest.Main(m)
}

const password = "Hotline@12345"

type world struct {
	pool    *pgxpool.Pool
	runtime *registry.Runtime
	ids     *identity.Service
	users   map[string]int64
}

// extraRoles are roles beside the sample configuration's agent, clerk and
// admin: a leader scoped to its unit, and an administrator of the outbox.
const extraRoles = `kind: role
name: leader
label: 班长
scope: unit
---
kind: role
name: outbox-admin
label: 投递管理员
scope: all
permissions: [outbox.manage]
`

// newWorld seeds the demo organisation with accounts around 赛罕区
// (150105), its street 大学东街街道 (150105001) and 新城区 (150102).
func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "roles.yaml"), []byte(extraRoles), 0o644))
	set, diags := registry.Load(ctx, []string{"../../testdata/flows/sample", dir}, registry.LoadOptions{})
	require.Empty(t, diags)
	w := &world{pool: pgtest.Pool(t), runtime: registry.NewRuntime(set), users: map[string]int64{}}
	w.ids = identity.NewService(w.pool, w.runtime, identity.DefaultPolicy(), slog.New(slog.DiscardHandler))
	org, err := os.ReadFile("../../flows/organisation.yaml") // the Hohhot organisation the shipped scenarios run in
	require.NoError(t, err)
	sd, err := identity.ParseSeed("flows/organisation.yaml", org)
	require.NoError(t, err)
	sd.Users = []identity.SeedUser{
		{Username: "agent", DisplayName: "话务员", Unit: "12345", Roles: []string{"agent"}},
		{Username: "agent.off", DisplayName: "停用的话务员", Unit: "12345", Roles: []string{"agent"}},
		{Username: "leader", DisplayName: "班长", Unit: "12345", Roles: []string{"agent"}},
		{Username: "clerk", DisplayName: "赛罕区承办人", Unit: "150105", Roles: []string{"clerk"}},
		{Username: "clerk.b", DisplayName: "赛罕区承办人乙", Unit: "150105", Roles: []string{"clerk"}},
		{Username: "typist", DisplayName: "赛罕区录入员", Unit: "150105", Roles: []string{"agent"}},
		{Username: "clerk.street", DisplayName: "街道承办人", Unit: "150105001", Roles: []string{"clerk"}},
		{Username: "clerk.xc", DisplayName: "新城区承办人", Unit: "150102", Roles: []string{"clerk"}},
		{Username: "admin", DisplayName: "管理员", Unit: "12345", Roles: []string{"admin", "outbox-admin"}},
	}
	_, _, err = w.ids.LoadSeed(ctx, sd, password)
	require.NoError(t, err)
	rows, err := w.pool.Query(ctx, `SELECT username, id FROM users`)
	require.NoError(t, err)
	for rows.Next() {
		var name string
		var id int64
		require.NoError(t, rows.Scan(&name, &id))
		w.users[name] = id
	}
	require.NoError(t, rows.Err())
	_, err = w.pool.Exec(ctx, `UPDATE users SET disabled = true WHERE username = 'agent.off'`)
	require.NoError(t, err)
	// The leader holds its role through a post of the centre.
	_, err = w.pool.Exec(ctx, `WITH p AS (INSERT INTO posts (unit_id, name, roles) SELECT id, '班长岗', '{leader}' FROM units WHERE code = '12345' RETURNING id)
		INSERT INTO user_posts (user_id, post_id) SELECT $1, id FROM p`, w.users["leader"])
	require.NoError(t, err)
	return w
}

// ticket adds a ticket of the sample flow in state handling, held by the
// unit with code unit (and the user holder, when given).
func (w *world) ticket(t *testing.T, number, unit, holder string) int64 {
	t.Helper()
	var holderID *int64
	if holder != "" {
		id := w.users[holder]
		holderID = &id
	}
	var id int64
	require.NoError(t, w.pool.QueryRow(context.Background(), `INSERT INTO tickets (number, flow, flow_version, state, holder_unit_id, holder_user_id, scope_path, creator_id)
		SELECT $1, 'request', 1, 'handling', u.id, $2, u.path, $3 FROM units u WHERE u.code = $4 RETURNING id`,
		number, holderID, w.users["agent"], unit).Scan(&id))
	return id
}

// write adds an outbox row as the flow engine does.
func (w *world) write(t *testing.T, topic string, ticket int64, payload map[string]any) int64 {
	t.Helper()
	var id int64
	require.NoError(t, w.pool.QueryRow(context.Background(), `INSERT INTO outbox (topic, ticket_id, payload) VALUES ($1, $2, $3) RETURNING id`,
		topic, ticket, payload).Scan(&id))
	return id
}

func (w *world) dispatcher() *outbox.Dispatcher {
	return &outbox.Dispatcher{Pool: w.pool, Handlers: map[string]outbox.Handler{
		"notice": outbox.NoticesFrom(w.runtime), "ticket.changed": outbox.TicketChanges()}}
}

// drain delivers until nothing is due.
func drain(t *testing.T, d *outbox.Dispatcher) {
	t.Helper()
	for range 1000 {
		n, err := d.Deliver(context.Background())
		require.NoError(t, err)
		if n == 0 {
			return
		}
	}
	t.Fatal("the outbox did not drain")
}

// recipients are the usernames holding a notice of outbox row id.
func (w *world) recipients(t *testing.T, id int64) []string {
	t.Helper()
	rows, err := w.pool.Query(context.Background(), `SELECT u.username FROM notices n JOIN users u ON u.id = n.user_id WHERE n.outbox_id = $1 ORDER BY 1`, id)
	require.NoError(t, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return names
}

func TestNoticesReachTheirRecipients(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	atDistrict := w.ticket(t, "T1", "150105", "")
	heldByClerk := w.ticket(t, "T2", "150105", "clerk.b")
	atStreet := w.ticket(t, "T3", "150105001", "")
	atCentre := w.ticket(t, "T4", "12345", "")
	for _, tc := range []struct {
		name   string
		ticket int64
		to     string
		want   []string
	}{
		{"holder unit: its people who may act there", atDistrict, "holder", []string{"clerk", "clerk.b"}},
		{"holding user", heldByClerk, "holder", []string{"clerk.b"}},
		{"creator", atStreet, "creator", []string{"agent"}},
		{"role of scope subtree: the street and the district above it", atStreet, "role:clerk", []string{"clerk", "clerk.b", "clerk.street"}},
		{"role of scope all, disabled accounts left out", atStreet, "role:agent", []string{"agent", "leader", "typist"}},
		{"role through a post, scope unit", atCentre, "role:leader", []string{"leader"}},
		{"role of scope unit elsewhere", atDistrict, "role:leader", nil},
		{"a role the configuration does not define", atDistrict, "role:nobody", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := w.write(t, "notice", tc.ticket, map[string]any{"to": tc.to, "message": "您单位有新的工单待办理", "level": "info", "number": "T"})
			drain(t, w.dispatcher())
			if tc.want == nil {
				assert.Empty(t, w.recipients(t, id))
			} else {
				assert.Equal(t, tc.want, w.recipients(t, id))
			}
			var processed bool
			require.NoError(t, w.pool.QueryRow(ctx, `SELECT processed_at IS NOT NULL FROM outbox WHERE id = $1`, id).Scan(&processed))
			assert.True(t, processed)
		})
	}

	// An unknown recipient rule cannot be mended by retrying: a dead
	// letter at once, and the rows after it are delivered.
	bad := w.write(t, "notice", atDistrict, map[string]any{"to": "everyone", "message": "x"})
	good := w.write(t, "notice", atDistrict, map[string]any{"to": "creator", "message": "y"})
	drain(t, w.dispatcher())
	var attempts int
	var dead bool
	var lastError string
	require.NoError(t, w.pool.QueryRow(ctx, `SELECT attempts, dead_at IS NOT NULL, last_error FROM outbox WHERE id = $1`, bad).Scan(&attempts, &dead, &lastError))
	assert.Equal(t, 1, attempts)
	assert.True(t, dead)
	assert.Contains(t, lastError, `unknown recipient "everyone"`)
	assert.Equal(t, []string{"agent"}, w.recipients(t, good))
}

func TestRedeliveryStoresANoticeOnce(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	tk := w.ticket(t, "T1", "150105", "")
	id := w.write(t, "notice", tk, map[string]any{"to": "holder", "message": "催办", "level": "urgent"})
	var m outbox.Message
	require.NoError(t, w.pool.QueryRow(ctx, `SELECT id, topic, ticket_id, payload, created_at FROM outbox WHERE id = $1`, id).
		Scan(&m.ID, &m.Topic, &m.TicketID, &m.Payload, &m.CreatedAt))
	h := outbox.NoticesFrom(w.runtime)
	for range 3 { // as a dispatcher delivering the row again after a crash would
		require.NoError(t, pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error { return h.Handle(ctx, tx, m) }))
	}
	assert.Equal(t, []string{"clerk", "clerk.b"}, w.recipients(t, id))
}

func TestRetryPolicyDoublesUpToItsCap(t *testing.T) {
	r := outbox.Retry{Base: time.Second, Max: 10 * time.Second, Attempts: 5}
	for failures, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 40: 10 * time.Second} {
		assert.Equal(t, want, r.Delay(failures), "after %d failures", failures)
	}
}

func TestFailedDeliveriesBackOffThenDieAndCanBeRetried(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	tk := w.ticket(t, "T1", "150105", "")
	failing := true
	calls := 0
	d := &outbox.Dispatcher{Pool: w.pool, Retry: outbox.Retry{Base: time.Minute, Max: time.Hour, Attempts: 3},
		Handlers: map[string]outbox.Handler{"plugin": outbox.HandlerFunc(func(ctx context.Context, tx pgx.Tx, m outbox.Message) error {
			calls++
			if failing {
				// What the handler wrote before failing is undone.
				if _, err := tx.Exec(ctx, `INSERT INTO notices (user_id, outbox_id, level, message, payload, created_at) VALUES ($1, $2, 'info', 'half', '{}', now())`,
					w.users["clerk"], m.ID); err != nil {
					return err
				}
				return errors.New("渠道不可用")
			}
			return nil
		}), "notice": outbox.NoticesFrom(w.runtime)}}
	bad := w.write(t, "plugin", tk, map[string]any{"n": 1})
	ok := w.write(t, "notice", tk, map[string]any{"to": "creator", "message": "ok"})
	state := func() (attempts int, wait time.Duration, dead bool, lastError string) {
		var secs float64
		require.NoError(t, w.pool.QueryRow(ctx, `SELECT attempts, EXTRACT(epoch FROM next_attempt_at - now()), dead_at IS NOT NULL, last_error FROM outbox WHERE id = $1`, bad).
			Scan(&attempts, &secs, &dead, &lastError))
		return attempts, time.Duration(secs * float64(time.Second)), dead, lastError
	}

	drain(t, d)
	attempts, wait, dead, lastError := state()
	assert.Equal(t, 1, attempts)
	assert.InDelta(t, time.Minute.Seconds(), wait.Seconds(), 5, "the first retry waits Base")
	assert.False(t, dead)
	assert.Equal(t, "渠道不可用", lastError)
	assert.Equal(t, []string{"agent"}, w.recipients(t, ok), "a failing row does not hold back the batch")
	assert.Empty(t, w.recipients(t, bad), "the failed attempt's writes were rolled back")

	// Not due yet: nothing is attempted.
	drain(t, d)
	assert.Equal(t, 1, calls)
	due := func() {
		_, err := w.pool.Exec(ctx, `UPDATE outbox SET next_attempt_at = now() WHERE id = $1`, bad)
		require.NoError(t, err)
	}
	due()
	drain(t, d)
	attempts, wait, dead, _ = state()
	assert.Equal(t, 2, attempts)
	assert.InDelta(t, 2*time.Minute.Seconds(), wait.Seconds(), 5, "the wait doubles")
	assert.False(t, dead)
	due()
	drain(t, d)
	attempts, _, dead, _ = state()
	assert.Equal(t, 3, attempts)
	assert.True(t, dead, "the third failure of three makes a dead letter")
	due()
	drain(t, d)
	assert.Equal(t, 3, calls, "a dead letter is not delivered")

	// The administrator sees it and retries it; an ordinary user may not.
	store := outbox.Store{Pool: w.pool}
	schema, err := gql.NewBuilder().Build(outbox.Module{Store: store})
	require.NoError(t, err)
	run := func(user, q string, vars map[string]any) *graphql.Result {
		p, err := w.ids.Login(ctx, user, password)
		require.NoError(t, err)
		return graphql.Do(graphql.Params{Schema: schema, Context: identity.WithPrincipal(ctx, p.Principal), RequestString: q, VariableValues: vars})
	}
	r := run("clerk", `{ outboxDeadLetters { edges { node { id } } } }`, nil)
	require.Len(t, r.Errors, 1)
	assert.Equal(t, "FORBIDDEN", r.Errors[0].Extensions["code"])
	r = run("admin", `{ outboxDeadLetters { edges { node { id topic attempts lastError payload } } } }`, nil)
	require.Empty(t, r.Errors)
	edges := r.Data.(map[string]any)["outboxDeadLetters"].(map[string]any)["edges"].([]any)
	require.Len(t, edges, 1)
	assert.Equal(t, map[string]any{"id": jsonID(bad), "topic": "plugin", "attempts": 3, "lastError": "渠道不可用", "payload": map[string]any{"n": float64(1)}},
		edges[0].(map[string]any)["node"])
	r = run("clerk", `mutation($id: ID!) { retryOutbox(id: $id) }`, map[string]any{"id": jsonID(bad)})
	require.Len(t, r.Errors, 1)
	failing = false
	r = run("admin", `mutation($id: ID!) { retryOutbox(id: $id) }`, map[string]any{"id": jsonID(bad)})
	require.Empty(t, r.Errors)
	drain(t, d)
	assert.Equal(t, 4, calls)
	var delivered bool
	require.NoError(t, w.pool.QueryRow(ctx, `SELECT processed_at IS NOT NULL AND dead_at IS NULL FROM outbox WHERE id = $1`, bad).Scan(&delivered))
	assert.True(t, delivered)
	var audited int
	require.NoError(t, w.pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'outbox.retry' AND target_id = $1 AND actor = 'admin'`, jsonID(bad)).Scan(&audited))
	assert.Equal(t, 1, audited)
	r = run("admin", `mutation($id: ID!) { retryOutbox(id: $id) }`, map[string]any{"id": jsonID(bad)})
	require.Len(t, r.Errors, 1, "only a dead letter can be retried")
}

func jsonID(id int64) string { b, _ := json.Marshal(id); return string(b) }

func TestDeliveredRowsArePrunedAfterTheRetention(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	tk := w.ticket(t, "T1", "150105", "")
	old := w.write(t, "ticket.changed", tk, map[string]any{"ticket": tk})
	recent := w.write(t, "ticket.changed", tk, map[string]any{"ticket": tk})
	d := w.dispatcher()
	d.Retention = time.Hour
	drain(t, d)
	pending := w.write(t, "ticket.changed", tk, map[string]any{"ticket": tk})
	dead := w.write(t, "ticket.changed", tk, map[string]any{"ticket": tk})
	_, err := w.pool.Exec(ctx, `UPDATE outbox SET processed_at = now() - interval '2 hours' WHERE id = $1`, old)
	require.NoError(t, err)
	_, err = w.pool.Exec(ctx, `UPDATE outbox SET dead_at = now() - interval '2 hours', created_at = now() - interval '3 hours' WHERE id = $1`, dead)
	require.NoError(t, err)
	n, err := d.Prune(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	rows, err := w.pool.Query(ctx, `SELECT id FROM outbox ORDER BY id`)
	require.NoError(t, err)
	left, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	assert.Equal(t, []int64{recent, pending, dead}, left, "recent, undelivered and dead rows stay")

	d.Retention = -1
	_, err = w.pool.Exec(ctx, `UPDATE outbox SET processed_at = now() - interval '1000 days' WHERE id = $1`, recent)
	require.NoError(t, err)
	n, err = d.Prune(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "a negative retention keeps everything")
}

// TestAWrittenRowWakesTheDispatcherAndReachesSubscribers runs the feed and
// the dispatcher with a poll of an hour: only LISTEN/NOTIFY can carry a
// row from the outbox to the subscriber in time.
func TestAWrittenRowWakesTheDispatcherAndReachesSubscribers(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	feed := &outbox.Feed{Pool: w.pool}
	d := w.dispatcher()
	d.Poll, d.Wake = time.Hour, feed.Wake()
	done := make(chan struct{}, 2)
	go func() { feed.Run(ctx); done <- struct{}{} }()
	go func() { d.Run(ctx); done <- struct{}{} }()
	<-feed.Listening()
	tk := w.ticket(t, "T1", "150105", "")
	other := w.ticket(t, "T2", "150102", "")
	subCtx, unsubscribe := context.WithCancel(ctx)
	notices := feed.Notices(subCtx, w.users["clerk"])
	changes := feed.Changes(subCtx, tk)
	time.Sleep(100 * time.Millisecond) // the dispatcher's first pass is over

	w.write(t, "notice", other, map[string]any{"to": "holder", "message": "不是给你的"})
	w.write(t, "ticket.changed", other, map[string]any{"ticket": other, "version": 2})
	id := w.write(t, "notice", tk, map[string]any{"to": "holder", "message": "您单位有新的工单待办理", "level": "info", "number": "T1"})
	w.write(t, "ticket.changed", tk, map[string]any{"ticket": tk, "number": "T1", "action": "dispatch", "from": "draft", "to": "handling", "version": 2})
	select {
	case n := <-notices:
		assert.Equal(t, id, n.OutboxID)
		assert.Equal(t, "您单位有新的工单待办理", n.Message)
		assert.Equal(t, "T1", n.Number())
	case <-time.After(10 * time.Second):
		t.Fatal("no notice pushed")
	}
	select {
	case c := <-changes:
		assert.Equal(t, outbox.Change{Ticket: tk, Number: "T1", Action: "dispatch", From: "draft", To: "handling", Version: 2}, c)
	case <-time.After(10 * time.Second):
		t.Fatal("no change pushed")
	}
	unsubscribe()
	for range notices {
	}
	for range changes {
	}
	cancel()
	<-done
	<-done
}

func TestNoticesOverGraphQL(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	tk := w.ticket(t, "T1", "150105", "")
	for _, msg := range []string{"一", "二", "三"} {
		w.write(t, "notice", tk, map[string]any{"to": "holder", "message": msg, "level": "info", "number": "T1"})
	}
	w.write(t, "notice", tk, map[string]any{"to": "creator", "message": "给话务员", "timer": "near_due"})
	drain(t, w.dispatcher())
	schema, err := gql.NewBuilder().Build(outbox.Module{Store: outbox.Store{Pool: w.pool}})
	require.NoError(t, err)
	run := func(user, q string, vars map[string]any) map[string]any {
		t.Helper()
		p, err := w.ids.Login(ctx, user, password)
		require.NoError(t, err)
		r := graphql.Do(graphql.Params{Schema: schema, Context: identity.WithPrincipal(ctx, p.Principal), RequestString: q, VariableValues: vars})
		require.Empty(t, r.Errors)
		return r.Data.(map[string]any)
	}
	messages := func(conn map[string]any) []any {
		var out []any
		for _, e := range conn["edges"].([]any) {
			out = append(out, e.(map[string]any)["node"].(map[string]any)["message"])
		}
		return out
	}
	page := run("clerk", `{ notices(first: 2) { edges { node { id message number level readAt } } pageInfo { hasNextPage endCursor } } unreadNotices }`, nil)
	conn := page["notices"].(map[string]any)
	assert.Equal(t, []any{"三", "二"}, messages(conn), "newest first")
	assert.Equal(t, true, conn["pageInfo"].(map[string]any)["hasNextPage"])
	assert.Equal(t, 3, page["unreadNotices"])
	next := run("clerk", `query($after: String) { notices(first: 2, after: $after) { edges { node { message } } pageInfo { hasNextPage } } }`,
		map[string]any{"after": conn["pageInfo"].(map[string]any)["endCursor"]})
	assert.Equal(t, []any{"一"}, messages(next["notices"].(map[string]any)))

	newest := conn["edges"].([]any)[0].(map[string]any)["node"].(map[string]any)["id"]
	marked := run("clerk", `mutation($ids: [ID!]) { markNoticesRead(ids: $ids) }`, map[string]any{"ids": []any{newest}})
	assert.Equal(t, 1, marked["markNoticesRead"])
	marked = run("clerk.b", `mutation($ids: [ID!]) { markNoticesRead(ids: $ids) }`, map[string]any{"ids": []any{newest}})
	assert.Equal(t, 0, marked["markNoticesRead"], "another user's notice is not theirs to mark")
	unread := run("clerk", `{ notices(unread: true) { edges { node { message } } } unreadNotices }`, nil)
	assert.Equal(t, []any{"二", "一"}, messages(unread["notices"].(map[string]any)))
	assert.Equal(t, 2, unread["unreadNotices"])
	assert.Equal(t, 2, run("clerk", `mutation { markNoticesRead(all: true) }`, nil)["markNoticesRead"])
	assert.Equal(t, 0, run("clerk", `{ unreadNotices }`, nil)["unreadNotices"])
	assert.Equal(t, 3, run("clerk.b", `{ unreadNotices }`, nil)["unreadNotices"], "each recipient reads their own copy")

	timer := run("agent", `{ notices { edges { node { message timer ticketId } } } }`, nil)
	assert.Equal(t, map[string]any{"message": "给话务员", "timer": "near_due", "ticketId": jsonID(tk)},
		timer["notices"].(map[string]any)["edges"].([]any)[0].(map[string]any)["node"])
}

func TestReadNoticesArePrunedAfterTheirRetentionUnreadOnesStay(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	tk := w.ticket(t, "T1", "150105", "")
	note := func(user, message string, age time.Duration, read bool) {
		t.Helper()
		var readAt any
		if read {
			readAt = time.Now().Add(-age)
		}
		_, err := w.pool.Exec(ctx, `INSERT INTO notices (user_id, outbox_id, ticket_id, level, message, payload, created_at, read_at)
			VALUES ($1, (SELECT COALESCE(max(outbox_id), 0) + 1 FROM notices), $2, 'info', $3, '{}', $4, $5)`,
			w.users[user], tk, message, time.Now().Add(-age), readAt)
		require.NoError(t, err)
	}
	note("clerk", "old, read", 100*24*time.Hour, true)
	note("clerk", "old, unread", 100*24*time.Hour, false)
	note("clerk", "recent, read", time.Hour, true)
	note("agent.off", "old, unread, disabled account", 100*24*time.Hour, false)
	note("agent.off", "recent, unread, disabled account", time.Hour, false)
	left := func() []string {
		t.Helper()
		rows, err := w.pool.Query(ctx, `SELECT message FROM notices ORDER BY id`)
		require.NoError(t, err)
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return out
	}

	d := w.dispatcher()
	d.NoticeRetention = -1
	_, err := d.Prune(ctx)
	require.NoError(t, err)
	assert.Len(t, left(), 5, "a negative retention keeps every notice")

	d = w.dispatcher()
	n, err := d.PruneNotices(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(2), n, "the default retention is %s", outbox.DefaultNoticeRetention)
	assert.Equal(t, []string{"old, unread", "recent, read", "recent, unread, disabled account"}, left())
}
