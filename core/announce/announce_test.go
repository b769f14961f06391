package announce_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/graphql-go/graphql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/announce"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/outbox"
	"github.com/hotline12345/hotline/core/pgtest"
	"github.com/hotline12345/hotline/core/registry"

	_ "github.com/hotline12345/hotline/core/calendar"
	_ "github.com/hotline12345/hotline/core/flowtest"
	_ "github.com/hotline12345/hotline/core/form"
	_ "github.com/hotline12345/hotline/core/script"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const password = "Hotline@12345"

// Roles beside the sample configuration's agent, clerk and admin: a
// centre leader who publishes to everyone, and a district head who
// publishes within the district.
const extraRoles = `kind: role
name: leader
label: 班长
scope: all
permissions: [announcement.publish]
---
kind: role
name: district-head
label: 区县负责人
scope: subtree
permissions: [announcement.publish]
`

type world struct {
	pool  *pgxpool.Pool
	ids   *identity.Service
	svc   *announce.Service
	users map[string]int64
	now   time.Time
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "roles.yaml"), []byte(extraRoles), 0o644))
	set, diags := registry.Load(ctx, []string{"../../testdata/flows/sample", dir}, registry.LoadOptions{})
	require.Empty(t, diags)
	rt := registry.NewRuntime(set)
	w := &world{pool: pgtest.Pool(t), users: map[string]int64{}, now: time.Now()}
	w.ids = identity.NewService(w.pool, rt, identity.DefaultPolicy(), slog.New(slog.DiscardHandler))
	w.svc = &announce.Service{Pool: w.pool, Role: announce.RolesFrom(rt), Now: func() time.Time { return w.now }}
	org, err := os.ReadFile("../../flows/organisation.yaml")
	require.NoError(t, err)
	sd, err := identity.ParseSeed("flows/organisation.yaml", org)
	require.NoError(t, err)
	sd.Users = []identity.SeedUser{
		{Username: "agent", DisplayName: "话务员", Unit: "12345", Roles: []string{"agent"}},
		{Username: "agent.b", DisplayName: "话务员乙", Unit: "12345", Roles: []string{"agent"}},
		{Username: "agent.off", DisplayName: "停用的话务员", Unit: "12345", Roles: []string{"agent"}},
		{Username: "leader", DisplayName: "班长", Unit: "12345", Roles: []string{"agent"}},
		{Username: "clerk", DisplayName: "赛罕区承办人", Unit: "150105", Roles: []string{"clerk"}},
		{Username: "head", DisplayName: "赛罕区负责人", Unit: "150105", Roles: []string{"district-head"}},
		{Username: "clerk.street", DisplayName: "街道承办人", Unit: "150105001", Roles: []string{"clerk"}},
		{Username: "clerk.xc", DisplayName: "新城区承办人", Unit: "150102", Roles: []string{"clerk"}},
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
	// The leader holds its role through a post, as a shift leader does.
	_, err = w.pool.Exec(ctx, `WITH p AS (INSERT INTO posts (unit_id, name, roles) SELECT id, '班长岗', '{leader}' FROM units WHERE code = '12345' RETURNING id)
		INSERT INTO user_posts (user_id, post_id) SELECT $1, id FROM p`, w.users["leader"])
	require.NoError(t, err)
	return w
}

func (w *world) principal(t *testing.T, user string) *identity.Principal {
	t.Helper()
	r, err := w.ids.Login(context.Background(), user, password)
	require.NoError(t, err)
	return r.Principal
}

func (w *world) recipients(t *testing.T, id int64) []string {
	t.Helper()
	rows, err := w.pool.Query(context.Background(), `SELECT u.username FROM announcement_recipients r JOIN users u ON u.id = r.user_id WHERE r.announcement_id = $1 ORDER BY 1`, id)
	require.NoError(t, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return names
}

func drain(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	d := &outbox.Dispatcher{Pool: pool, Handlers: map[string]outbox.Handler{announce.Topic: announce.Handler()}}
	for range 100 {
		n, err := d.Deliver(context.Background())
		require.NoError(t, err)
		if n == 0 {
			return
		}
	}
	t.Fatal("the outbox did not drain")
}

func field(t *testing.T, err error) string {
	t.Helper()
	ge, ok := gql.AsError(err)
	require.True(t, ok, "a GraphQL error: %v", err)
	return ge.Field
}

func TestPublishRefusesBadInput(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	leader := w.principal(t, "leader")
	ok := announce.Input{Title: "停电通知", Body: "今晚 22:00 起机房检修。", Roles: []string{"agent"}}
	many := func(n int, v string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = v + strings.Repeat("x", i%50) + string(rune('a'+i%26))
		}
		return out
	}
	past, far := w.now.Add(-time.Minute), w.now.Add(400*24*time.Hour)
	for _, tc := range []struct {
		name  string
		edit  func(*announce.Input)
		field string
	}{
		{"no title", func(in *announce.Input) { in.Title = "  " }, "input.title"},
		{"title too long", func(in *announce.Input) { in.Title = strings.Repeat("公", announce.MaxTitle+1) }, "input.title"},
		{"no body", func(in *announce.Input) { in.Body = "" }, "input.body"},
		{"body too long", func(in *announce.Input) { in.Body = strings.Repeat("文", announce.MaxBody+1) }, "input.body"},
		{"unknown level", func(in *announce.Input) { in.Level = "loud" }, "input.level"},
		{"no audience", func(in *announce.Input) { in.Roles = nil }, "input.roles"},
		{"too many roles", func(in *announce.Input) { in.Roles = many(announce.MaxRoles+1, "r") }, "input.roles"},
		{"too many units", func(in *announce.Input) { in.Units = many(announce.MaxUnits+1, "u") }, "input.units"},
		{"too many users", func(in *announce.Input) { in.Users = many(announce.MaxUsers+1, "n") }, "input.users"},
		{"an empty user", func(in *announce.Input) { in.Users = []string{" "} }, "input.users"},
		{"unknown role", func(in *announce.Input) { in.Roles = []string{"astronaut"} }, "input.roles"},
		{"unknown unit", func(in *announce.Input) { in.Units = []string{"999999"} }, "input.units"},
		{"unknown user", func(in *announce.Input) { in.Users = []string{"nobody"} }, "input.users"},
		{"expiry in the past", func(in *announce.Input) { in.ExpiresAt = &past }, "input.expiresAt"},
		{"expiry too far", func(in *announce.Input) { in.ExpiresAt = &far }, "input.expiresAt"},
		{"an audience of no active account", func(in *announce.Input) { in.Roles = nil; in.Users = []string{"agent.off"} }, "input.roles"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := ok
			tc.edit(&in)
			_, err := w.svc.Publish(ctx, leader, in)
			require.Error(t, err)
			assert.Equal(t, tc.field, field(t, err), err.Error())
		})
	}
	var n int
	require.NoError(t, w.pool.QueryRow(ctx, `SELECT count(*) FROM announcements`).Scan(&n))
	assert.Zero(t, n, "nothing refused is stored")

	_, err := w.svc.Publish(ctx, w.principal(t, "agent"), ok)
	ge, isGQL := gql.AsError(err)
	require.True(t, isGQL)
	assert.Equal(t, gql.Forbidden, ge.Code, "an agent may not publish")
}

func TestAudience(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, publisher     string
		roles, units, users []string
		want                []string
	}{
		{"a role, disabled accounts left out", "leader", []string{"agent"}, nil, nil, []string{"agent", "agent.b", "leader"}},
		{"a role held through a post", "leader", []string{"leader"}, nil, nil, []string{"leader"}},
		{"a unit and the units below it", "leader", nil, []string{"150105"}, nil, []string{"clerk", "clerk.street", "head"}},
		{"a role in a unit", "leader", []string{"clerk"}, []string{"150105"}, nil, []string{"clerk", "clerk.street"}},
		{"named users besides", "leader", []string{"clerk"}, []string{"150105001"}, []string{"clerk.xc", "agent"}, []string{"agent", "clerk.street", "clerk.xc"}},
		{"a district head reaches only the district", "head", []string{"clerk", "agent"}, nil, []string{"clerk.xc"}, []string{"clerk", "clerk.street"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := w.svc.Publish(ctx, w.principal(t, tc.publisher), announce.Input{Title: tc.name, Body: "内容", Roles: tc.roles, Units: tc.units, Users: tc.users})
			require.NoError(t, err)
			assert.Equal(t, tc.want, w.recipients(t, a.ID))
			assert.Equal(t, len(tc.want), a.Total)
		})
	}
}

func TestDeliverAndAcknowledge(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	leader, agent, agentB := w.principal(t, "leader"), w.principal(t, "agent"), w.principal(t, "agent.b")
	old, err := w.svc.Publish(ctx, leader, announce.Input{Title: "旧公告", Body: "内容", Users: []string{"agent"}})
	require.NoError(t, err)
	a, err := w.svc.Publish(ctx, leader, announce.Input{Title: "系统升级", Body: "今晚升级，请提前保存。", Level: "urgent", Roles: []string{"agent"}})
	require.NoError(t, err)

	// Publishing wrote its audit row and one outbox row; delivery writes
	// each recipient's notice, with the level and the announcement's id.
	var audits int
	require.NoError(t, w.pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'announcement.publish' AND target_id = $1::bigint::text`, a.ID).Scan(&audits))
	assert.Equal(t, 1, audits)
	drain(t, w.pool)
	drain(t, w.pool) // delivered once however often the dispatcher runs
	rows, err := w.pool.Query(ctx, `SELECT u.username, n.level, n.message FROM notices n JOIN users u ON u.id = n.user_id
		WHERE (n.payload->>'announcement')::bigint = $1 ORDER BY 1`, a.ID)
	require.NoError(t, err)
	type notice struct{ User, Level, Message string }
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[notice])
	require.NoError(t, err)
	assert.Equal(t, []notice{{"agent", "urgent", "公告：系统升级"}, {"agent.b", "urgent", "公告：系统升级"}, {"leader", "urgent", "公告：系统升级"}}, got)
	// Urgent, it is relayed once for the channels outside the browser
	// (SMS, phone); the info one before it is not.
	var relays, relayed int
	require.NoError(t, w.pool.QueryRow(ctx, `SELECT count(*), COALESCE(sum(jsonb_array_length(payload->'users')), 0) FROM outbox WHERE topic = $1`, outbox.RelayTopic).Scan(&relays, &relayed))
	assert.Equal(t, [2]int{1, 3}, [2]int{relays, relayed})

	// Mine: the unacknowledged first, newest first.
	list, err := w.svc.Mine(ctx, agent, false, 10)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, []int64{a.ID, old.ID}, []int64{list[0].ID, list[1].ID})
	_, err = w.svc.Acknowledge(ctx, agent, old.ID)
	require.NoError(t, err)
	list, err = w.svc.Mine(ctx, agent, false, 10)
	require.NoError(t, err)
	assert.Equal(t, []int64{a.ID, old.ID}, []int64{list[0].ID, list[1].ID})
	open, err := w.svc.Mine(ctx, agent, true, 10)
	require.NoError(t, err)
	require.Len(t, open, 1)
	assert.Equal(t, a.ID, open[0].ID)

	// The publisher follows: 0 of 3, then 1 of 3 with who is missing.
	pub, err := w.svc.Published(ctx, leader, 10)
	require.NoError(t, err)
	require.Len(t, pub, 2)
	assert.Equal(t, [2]int{0, 3}, [2]int{pub[0].Acknowledged, pub[0].Total})
	w.now = w.now.Add(time.Second)
	got1, err := w.svc.Acknowledge(ctx, agent, a.ID)
	require.NoError(t, err)
	require.NotNil(t, got1.AcknowledgedAt)
	first := *got1.AcknowledgedAt
	w.now = w.now.Add(time.Minute)
	again, err := w.svc.Acknowledge(ctx, agent, a.ID)
	require.NoError(t, err)
	assert.True(t, first.Equal(*again.AcknowledgedAt), "a second acknowledgement keeps the first time")
	pub, err = w.svc.Published(ctx, leader, 10)
	require.NoError(t, err)
	assert.Equal(t, [2]int{1, 3}, [2]int{pub[0].Acknowledged, pub[0].Total})
	pending, err := w.svc.Recipients(ctx, leader, a.ID, false, 10)
	require.NoError(t, err)
	names := []string{}
	for _, r := range pending {
		names = append(names, r.Username)
	}
	assert.Equal(t, []string{"agent.b", "leader"}, names)
	done, err := w.svc.Recipients(ctx, leader, a.ID, true, 10)
	require.NoError(t, err)
	require.Len(t, done, 1)
	assert.Equal(t, "agent", done[0].Username)

	// The acknowledgement read the notice that brought it, and was audited once.
	var unread int
	require.NoError(t, w.pool.QueryRow(ctx, `SELECT count(*) FROM notices WHERE user_id = $1 AND read_at IS NULL`, w.users["agent"]).Scan(&unread))
	assert.Zero(t, unread)
	require.NoError(t, w.pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'announcement.acknowledge' AND actor = 'agent' AND target_id = $1::bigint::text`, a.ID).Scan(&audits))
	assert.Equal(t, 1, audits)

	// Someone it was not sent to cannot acknowledge it; an agent cannot
	// read the publisher's lists.
	_, err = w.svc.Acknowledge(ctx, w.principal(t, "clerk"), a.ID)
	ge, _ := gql.AsError(err)
	require.NotNil(t, ge)
	assert.Equal(t, gql.NotFound, ge.Code)
	_, err = w.svc.Published(ctx, agentB, 10)
	ge, _ = gql.AsError(err)
	require.NotNil(t, ge)
	assert.Equal(t, gql.Forbidden, ge.Code)
	// A district head does not see the centre's announcements.
	pub, err = w.svc.Published(ctx, w.principal(t, "head"), 10)
	require.NoError(t, err)
	assert.Empty(t, pub)
}

func TestExpiry(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	until := w.now.Add(time.Hour)
	a, err := w.svc.Publish(ctx, w.principal(t, "leader"), announce.Input{Title: "限时", Body: "内容", Users: []string{"agent"}, ExpiresAt: &until})
	require.NoError(t, err)
	agent := w.principal(t, "agent")
	list, err := w.svc.Mine(ctx, agent, true, 10)
	require.NoError(t, err)
	assert.Len(t, list, 1)
	w.now = w.now.Add(2 * time.Hour)
	list, err = w.svc.Mine(ctx, agent, true, 10)
	require.NoError(t, err)
	assert.Empty(t, list, "an expired announcement no longer asks to be acknowledged")
	_, err = w.svc.Acknowledge(ctx, agent, a.ID)
	assert.Equal(t, "id", field(t, err))
}

func TestGraphQL(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	schema, err := gql.NewBuilder().Build(announce.Module{Service: w.svc})
	require.NoError(t, err)
	run := func(user, q string, vars map[string]any) *graphql.Result {
		return graphql.Do(graphql.Params{Schema: schema, Context: identity.WithPrincipal(ctx, w.principal(t, user)), RequestString: q, VariableValues: vars})
	}
	const publish = `mutation($in: AnnouncementInput!) { publishAnnouncement(input: $in) { id title level total acknowledged audience { roles units users } } }`
	r := run("leader", publish, map[string]any{"in": map[string]any{"title": "", "body": "x", "roles": []any{"agent"}}})
	require.Len(t, r.Errors, 1)
	assert.Equal(t, "input.title", r.Errors[0].Extensions["field"])
	r = run("leader", publish, map[string]any{"in": map[string]any{"title": "培训", "body": "周五下午培训。", "level": "warning", "roles": []any{"agent"},
		"expiresAt": w.now.Add(time.Hour).Format(time.RFC3339)}})
	require.Empty(t, r.Errors)
	got := r.Data.(map[string]any)["publishAnnouncement"].(map[string]any)
	assert.Equal(t, map[string]any{"roles": []any{"agent"}, "units": []any{}, "users": []any{}}, got["audience"])
	assert.Equal(t, 3, got["total"])
	id := got["id"]

	r = run("agent", `{ announcements { id title acknowledgedAt } }`, nil)
	require.Empty(t, r.Errors)
	assert.Equal(t, []any{map[string]any{"id": id, "title": "培训", "acknowledgedAt": nil}}, r.Data.(map[string]any)["announcements"])
	r = run("agent", `mutation($id: ID!) { acknowledgeAnnouncement(id: $id) { id acknowledgedAt } }`, map[string]any{"id": id})
	require.Empty(t, r.Errors)
	r = run("leader", `{ announcements(published: true) { title total acknowledged pending(first: 5) { username } acknowledgers { username acknowledgedAt } } }`, nil)
	require.Empty(t, r.Errors)
	pub := r.Data.(map[string]any)["announcements"].([]any)[0].(map[string]any)
	assert.Equal(t, 1, pub["acknowledged"])
	assert.Equal(t, []any{map[string]any{"username": "agent.b"}, map[string]any{"username": "leader"}}, pub["pending"])
	r = run("agent", `{ announcements(published: true) { id } }`, nil)
	require.Len(t, r.Errors, 1)
	assert.Equal(t, "FORBIDDEN", r.Errors[0].Extensions["code"])
	r = run("agent", `{ announcements(first: 0) { id } }`, nil)
	require.Len(t, r.Errors, 1)
	assert.Equal(t, "first", r.Errors[0].Extensions["field"])
}
