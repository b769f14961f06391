package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/hotline12345/hotline/core/app"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const demoPassword = "Hotline@12345"

// server runs `hotline serve` in-process and returns its base URL.
func server(t *testing.T, cfg app.Config, demo bool) string {
	t.Helper()
	return serverWith(t, cfg, app.Options{Demo: demo})
}

func serverWith(t *testing.T, cfg app.Config, opts app.Options) string {
	t.Helper()
	return serverLogging(t, cfg, opts, slog.New(slog.DiscardHandler))
}

func serverLogging(t *testing.T, cfg app.Config, opts app.Options, log *slog.Logger) string {
	t.Helper()
	base, _ := stoppable(t, cfg, opts, log)
	return base
}

// serverOnCopiedConfig runs a demo server on a copy of the configuration
// folders, which a test may publish over.
func serverOnCopiedConfig(t *testing.T) (app.Config, string) {
	t.Helper()
	cfg := baseConfig(t)
	cfg.DatabaseURL = pgtest.URL(t)
	cfg.ConfigDir = t.TempDir()
	for _, dir := range []string{"flows", "forms", "scripts"} {
		require.NoError(t, os.CopyFS(filepath.Join(cfg.ConfigDir, dir), os.DirFS(filepath.Join("../..", dir))))
	}
	return cfg, server(t, cfg, true)
}

func baseConfig(t *testing.T) app.Config {
	t.Helper()
	cfg, err := app.FromEnv()
	require.NoError(t, err)
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.SIPAddr = freeSIPAddr(t)
	cfg.ConfigDir = "../.."
	cfg.DataDir = t.TempDir()
	cfg.DemoPassword = demoPassword
	return cfg
}

// freeSIPAddr returns a loopback address whose port is free for UDP and
// TCP alike, so a test server takes calls without the default 5060 (which a
// `make run` on the same machine holds).
func freeSIPAddr(t *testing.T) string {
	t.Helper()
	for range 100 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := u.LocalAddr().String()
		l, err := net.Listen("tcp", addr)
		u.Close()
		if err != nil {
			continue
		}
		l.Close()
		return addr
	}
	t.Fatal("no port free for both UDP and TCP")
	return ""
}

type gqlResponse struct {
	Data   map[string]any `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

func query(t *testing.T, base, token, q string, vars map[string]any) gqlResponse {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": q, "variables": vars})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "app-test")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out gqlResponse
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out
}

func login(t *testing.T, base, user string) string {
	t.Helper()
	r := query(t, base, "", `mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }`,
		map[string]any{"u": user, "p": demoPassword})
	require.Empty(t, r.Errors, user)
	return r.Data["login"].(map[string]any)["token"].(string)
}

func TestDemoAccountsLoginAndMeOverHTTP(t *testing.T) {
	cfg := baseConfig(t)
	cfg.DatabaseURL = pgtest.URL(t)
	base := server(t, cfg, true)

	resp, err := http.Get(base + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	for user, role := range map[string]string{
		"admin": "admin", "agent": "agent", "dispatcher": "dispatcher", "clerk": "clerk", "auditor": "auditor",
		"callback": "callback", "leader": "leader", "secaudit": "security-auditor", "unitadmin.saihan": "unit-admin",
	} {
		token := login(t, base, user)
		r := query(t, base, token, `{ me { username roles } }`, nil)
		require.Empty(t, r.Errors, user)
		me := r.Data["me"].(map[string]any)
		assert.Equal(t, user, me["username"])
		assert.Equal(t, []any{role}, me["roles"])
	}

	// No token, a bad token, wrong input, missing permission.
	r := query(t, base, "", `{ me { username } }`, nil)
	require.Len(t, r.Errors, 1)
	assert.Equal(t, "UNAUTHENTICATED", r.Errors[0].Extensions["code"])
	r = query(t, base, "hl_forged", `{ me { username } }`, nil)
	assert.Equal(t, "UNAUTHENTICATED", r.Errors[0].Extensions["code"])

	admin := login(t, base, "admin")
	r = query(t, base, admin, `mutation { createUnit(input: {code: "x1", kind: "bureau"}) { id } }`, nil)
	require.Len(t, r.Errors, 1)
	assert.Equal(t, "BAD_USER_INPUT", r.Errors[0].Extensions["code"])
	assert.Equal(t, "input.name", r.Errors[0].Extensions["field"])
	r = query(t, base, admin, `{ unit(id: 1) { name nosuchfield } }`, nil)
	assert.Equal(t, "BAD_USER_INPUT", r.Errors[0].Extensions["code"])
	assert.Contains(t, r.Errors[0].Message, "nosuchfield")

	clerk := login(t, base, "clerk")
	r = query(t, base, clerk, `{ auditLog { edges { node { action } } } }`, nil)
	assert.Equal(t, "FORBIDDEN", r.Errors[0].Extensions["code"])

	// A mutation over HTTP leaves one audit row with where it came from.
	r = query(t, base, admin, `mutation { createUnit(input: {code: "x1", name: "测试局", kind: "bureau", parentId: 1}) { id name } }`, nil)
	require.Empty(t, r.Errors)
	id := r.Data["createUnit"].(map[string]any)["id"]
	r = query(t, base, admin, `query($id: String) { auditLog(targetType: "unit", targetId: $id) { edges { node { action actor userAgent remoteAddr after } } } }`,
		map[string]any{"id": fmt.Sprint(id)})
	require.Empty(t, r.Errors)
	edges := r.Data["auditLog"].(map[string]any)["edges"].([]any)
	require.Len(t, edges, 1)
	node := edges[0].(map[string]any)["node"].(map[string]any)
	assert.Equal(t, "unit.create", node["action"])
	assert.Equal(t, "admin", node["actor"])
	assert.Equal(t, "app-test", node["userAgent"])
	assert.NotEmpty(t, node["remoteAddr"])
	assert.Equal(t, "测试局", node["after"].(map[string]any)["name"])

	// The security auditor reads the log; the clerk of 赛罕区 sees only its
	// own part of the organisation through the API as well.
	r = query(t, base, login(t, base, "secaudit"), `{ auditLog(first: 5) { edges { node { action } } pageInfo { hasNextPage } } }`, nil)
	require.Empty(t, r.Errors)
	r = query(t, base, clerk, `{ units(search: "新城") { edges { node { name } } } users(first: 100) { edges { node { username } } } }`, nil)
	require.Empty(t, r.Errors)
	assert.Empty(t, r.Data["units"].(map[string]any)["edges"])
	for _, e := range r.Data["users"].(map[string]any)["edges"].([]any) {
		assert.NotEqual(t, "clerk.xincheng", e.(map[string]any)["node"].(map[string]any)["username"])
	}
	// Yet a ticket page names the units its fields hold by code, whatever
	// the reader's scope: unit names are no secret.
	r = query(t, base, clerk, `{ unitNames(codes: ["150102", "nope", "150105"]) { code name } }`, nil)
	require.Empty(t, r.Errors)
	assert.ElementsMatch(t, []any{map[string]any{"code": "150102", "name": "新城区"}, map[string]any{"code": "150105", "name": "赛罕区"}}, r.Data["unitNames"])
	many := make([]string, 201)
	for i := range many {
		many[i] = fmt.Sprint(i)
	}
	r = query(t, base, clerk, `query($c: [String!]!) { unitNames(codes: $c) { code } }`, map[string]any{"c": many})
	require.Len(t, r.Errors, 1)
	assert.Equal(t, "codes", r.Errors[0].Extensions["field"])
}

func TestEmbeddedPostgresStartStopAndReuse(t *testing.T) {
	cfg := baseConfig(t)
	cfg.DatabaseURL = ""
	base := server(t, cfg, true)
	token := login(t, base, "agent")
	require.NotEmpty(t, token)
	_, err := os.Stat(filepath.Join(cfg.DataDir, "pg", "PG_VERSION"))
	require.NoError(t, err, "initdb ran under the data folder")
}

func TestEmbeddedPostgresDataSurvivesRestart(t *testing.T) {
	cfg := baseConfig(t)
	cfg.DatabaseURL = ""
	cfg.AdminPassword = "Restart-9-Password"
	t.Run("first", func(t *testing.T) {
		base := server(t, cfg, false)
		r := query(t, base, "", `mutation { login(username: "admin", password: "Restart-9-Password") { token } }`, nil)
		require.Empty(t, r.Errors)
	})
	// The first server stopped its PostgreSQL on shutdown; a second start
	// reuses the cluster (no initdb) and keeps the account.
	_, err := os.Stat(filepath.Join(cfg.DataDir, "pg", "postmaster.pid"))
	require.True(t, os.IsNotExist(err), "PostgreSQL was stopped on shutdown")
	cfg.AdminPassword = "another-Password-1"
	base := server(t, cfg, false)
	r := query(t, base, "", `mutation { login(username: "admin", password: "Restart-9-Password") { token } }`, nil)
	require.Empty(t, r.Errors, "the account from the first run is still there, with its password")
}

func TestBrokenConfigurationRefusesToStart(t *testing.T) {
	cfg := baseConfig(t)
	cfg.DatabaseURL = pgtest.URL(t)
	cfg.ConfigDir = "../../testdata/lint/broken"
	err := app.Serve(context.Background(), cfg, app.Options{}, slog.New(slog.DiscardHandler))
	var ce *app.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, err.Error(), `flows/roles.yaml:7:5: unknown permission "user.raed"`)
}

func TestGeneratedSchemaFilesMatchTheCode(t *testing.T) {
	files, err := app.SchemaFiles()
	require.NoError(t, err)
	for path, want := range files {
		got, err := os.ReadFile(filepath.Join("../..", path))
		require.NoError(t, err, "%s is missing: run make schema", path)
		assert.Equal(t, want, string(got), "%s drifted from the code: run make schema", path)
	}
}

func TestConfigurationVersionsAndPublishOverGraphQL(t *testing.T) {
	cfg := baseConfig(t)
	cfg.DatabaseURL = pgtest.URL(t)
	cfg.ConfigDir = t.TempDir()
	roles, err := os.ReadFile("../../flows/roles.yaml")
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(cfg.ConfigDir, "flows"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(cfg.ConfigDir, "flows/roles.yaml"), roles, 0o644))
	// The demo accounts sit in the demo organisation, which is configuration.
	org, err := os.ReadFile("../../flows/organisation.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(cfg.ConfigDir, "flows/organisation.yaml"), org, 0o644))
	base := server(t, cfg, true)
	admin := login(t, base, "admin")

	r := query(t, base, admin, `{ configDocuments(kind: "role") { name version active } configKinds { name } }`, nil)
	require.Empty(t, r.Errors)
	assert.Len(t, r.Data["configDocuments"], 11)

	// A publish that does not lint comes back with positioned problems and
	// changes nothing.
	bad := "kind: role\nname: callback\nlabel: 回访员\nscope: al\n"
	r = query(t, base, admin, `mutation($s: String!) { publishConfig(kind: "role", name: "callback", source: $s) { ok problems { file line col message } } }`,
		map[string]any{"s": bad})
	require.Empty(t, r.Errors)
	res := r.Data["publishConfig"].(map[string]any)
	assert.Equal(t, false, res["ok"])
	problem := res["problems"].([]any)[0].(map[string]any)
	// The problem is placed where the text would stand in its file.
	nameLine := 1 + strings.Count(string(roles[:strings.Index(string(roles), "name: callback")]), "\n")
	assert.Equal(t, "flows/roles.yaml", problem["file"], "paths are relative to the configuration folder")
	assert.Equal(t, float64(nameLine+2), problem["line"])
	assert.Equal(t, float64(8), problem["col"])
	assert.Contains(t, problem["message"], `"al"`)

	good := "kind: role\nname: callback\nlabel: 回访员\ndescription: 回访诉求人。\nscope: all\npermissions: [user.read]\n"
	r = query(t, base, admin, `mutation($s: String!) { publishConfig(kind: "role", name: "callback", source: $s, note: "回访员可查看用户") { ok changes { name version status } } }`,
		map[string]any{"s": good})
	require.Empty(t, r.Errors)
	assert.Equal(t, true, r.Data["publishConfig"].(map[string]any)["ok"])

	// The change takes effect at once: the callback agent now holds user.read.
	r = query(t, base, login(t, base, "callback"), `{ me { permissions } }`, nil)
	require.Empty(t, r.Errors)
	assert.Equal(t, []any{"user.read"}, r.Data["me"].(map[string]any)["permissions"])

	r = query(t, base, admin, `{ configVersions(kind: "role", name: "callback") { version active createdBy note } configDiff(kind: "role", name: "callback", from: 1, to: 2) }`, nil)
	require.Empty(t, r.Errors)
	versions := r.Data["configVersions"].([]any)
	require.Len(t, versions, 2)
	assert.Equal(t, map[string]any{"version": float64(2), "active": true, "createdBy": "admin", "note": "回访员可查看用户"}, versions[0])
	assert.Contains(t, r.Data["configDiff"], "+permissions: [user.read]")

	// Only config.publish may publish.
	r = query(t, base, login(t, base, "agent"), `mutation { reloadConfig { ok } }`, nil)
	assert.Equal(t, "FORBIDDEN", r.Errors[0].Extensions["code"])
}

func TestTemporaryPasswordMustBeChangedFirst(t *testing.T) {
	cfg := baseConfig(t)
	cfg.DatabaseURL = pgtest.URL(t)
	base := server(t, cfg, true)
	admin := login(t, base, "admin")
	r := query(t, base, admin, `mutation { createUser(input: {username: "new.agent", displayName: "新话务员", unitId: 1, roles: ["agent"]}) { temporaryPassword } }`, nil)
	require.Empty(t, r.Errors)
	temp := r.Data["createUser"].(map[string]any)["temporaryPassword"].(string)

	r = query(t, base, "", `mutation($p: String!) { login(username: "new.agent", password: $p) { token mustChangePassword } }`, map[string]any{"p": temp})
	require.Empty(t, r.Errors)
	res := r.Data["login"].(map[string]any)
	assert.Equal(t, true, res["mustChangePassword"])
	token := res["token"].(string)

	r = query(t, base, token, `{ sessions { id } }`, nil)
	require.Len(t, r.Errors, 1)
	assert.Equal(t, "FORBIDDEN", r.Errors[0].Extensions["code"])
	assert.Equal(t, "MUST_CHANGE_PASSWORD", r.Errors[0].Extensions["reason"])
	r = query(t, base, token, `{ me { username mustChangePassword } }`, nil)
	require.Empty(t, r.Errors)

	r = query(t, base, token, `mutation($p: String!) { changePassword(oldPassword: $p, newPassword: "Chosen-Pass-1") }`, map[string]any{"p": temp})
	require.Empty(t, r.Errors)
	r = query(t, base, token, `{ sessions { id current } me { mustChangePassword } }`, nil)
	require.Empty(t, r.Errors)
	assert.Equal(t, false, r.Data["me"].(map[string]any)["mustChangePassword"])
}

// Changing a state's label, a time limit or a guard of the default flow is
// an edit of its file and a publish: new tickets follow the new version at
// once, tickets already open keep theirs, and a broken edit changes
// nothing.
func TestPublishFlowChangesLabelsTimeLimitsAndGuards(t *testing.T) {
	cfg, base := serverOnCopiedConfig(t)
	admin, agent := login(t, base, "admin"), login(t, base, "agent")
	register := `mutation { createTicket(form: "ticket-register", input: {title: "落户咨询", content: "咨询落户政策", type: "咨询", caller_phone: "13804711234"}) { id stateLabel deadline } }`
	r := query(t, base, agent, register, nil)
	require.Empty(t, r.Errors)
	before := r.Data["createTicket"].(map[string]any)
	assert.Equal(t, "初审处理", before["stateLabel"])

	source, err := os.ReadFile(filepath.Join(cfg.ConfigDir, "flows/ticket.yaml"))
	require.NoError(t, err)
	publish := `mutation($s: String!) { publishFlow(name: "ticket", source: $s) { ok problems { line message } } }`
	broken := strings.Replace(string(source), "to: first_review\n", "to: first_reveiw\n", 1)
	r = query(t, base, admin, publish, map[string]any{"s": broken})
	require.Empty(t, r.Errors)
	res := r.Data["publishFlow"].(map[string]any)
	assert.Equal(t, false, res["ok"])
	assert.Contains(t, res["problems"].([]any)[0].(map[string]any)["message"], `unknown state "first_reveiw"`)

	edited := strings.Replace(string(source), "label: 初审处理", "label: 初审中", 1)
	edited = strings.Replace(edited, "{label: 咨询求助 3 个工作日, when: \"ticket.fields.type in ['咨询', '求助']\", working_days: 3}",
		"{label: 咨询求助 5 个工作日, when: \"ticket.fields.type in ['咨询', '求助']\", working_days: 5}", 1)
	edited = strings.Replace(edited, "message: 办理结果至少写 10 个字", "message: 办理结果至少写 10 个字（新版）", -1)
	require.NotEqual(t, string(source), edited)
	r = query(t, base, admin, publish, map[string]any{"s": edited})
	require.Empty(t, r.Errors)
	require.Equal(t, true, r.Data["publishFlow"].(map[string]any)["ok"], "%v", r.Data)

	r = query(t, base, agent, register, nil)
	require.Empty(t, r.Errors)
	after := r.Data["createTicket"].(map[string]any)
	assert.Equal(t, "初审中", after["stateLabel"])
	deadline := func(v any) time.Time {
		d, err := time.Parse(time.RFC3339, v.(string))
		require.NoError(t, err)
		return d
	}
	assert.True(t, deadline(after["deadline"]).After(deadline(before["deadline"])), "5 working days instead of 3")
	r = query(t, base, agent, `query($id: ID!) { ticket(id: $id) { stateLabel } }`, map[string]any{"id": before["id"]})
	require.Empty(t, r.Errors)
	assert.Equal(t, "初审处理", r.Data["ticket"].(map[string]any)["stateLabel"], "an open ticket keeps its version")

	// The new guard message reaches the clerk of a ticket on the new version.
	dispatcher, clerk := login(t, base, "dispatcher"), login(t, base, "clerk")
	r = query(t, base, dispatcher, `mutation($id: ID!) { performAction(ticketId: $id, action: "dispatch", input: {unit: "150105"}) { state } }`, map[string]any{"id": after["id"]})
	require.Empty(t, r.Errors)
	r = query(t, base, clerk, `mutation($id: ID!) { performAction(ticketId: $id, action: "sign") { state } }`, map[string]any{"id": after["id"]})
	require.Empty(t, r.Errors)
	r = query(t, base, clerk, `mutation($id: ID!) { performAction(ticketId: $id, action: "reply", input: {result: "已处理"}) { state } }`, map[string]any{"id": after["id"]})
	require.Len(t, r.Errors, 1)
	assert.Equal(t, "办理结果至少写 10 个字（新版）", r.Errors[0].Message)
}

func TestTypedFormInputFollowsAPublishedForm(t *testing.T) {
	cfg, base := serverOnCopiedConfig(t)
	admin, agent := login(t, base, "admin"), login(t, base, "agent")
	register := `mutation { createTicketAsTicketRegister(input: {title: "楼道灯不亮", content: "单元楼道灯坏了一周", type: "投诉", caller_phone: "13804711234", property_company: "恒通物业"}) { fields } }`
	r := query(t, base, agent, register, nil)
	require.NotEmpty(t, r.Errors, "the form has no such field yet")
	assert.Contains(t, r.Errors[0].Message, "property_company")

	source, err := os.ReadFile(filepath.Join(cfg.ConfigDir, "forms/ticket-register.yaml"))
	require.NoError(t, err)
	edited := strings.Replace(string(source), "fields:\n", "fields:\n  - {name: property_company, label: 物业公司, type: text, max: 50}\n", 1)
	r = query(t, base, admin, `mutation($s: String!) { publishConfig(kind: "form", name: "ticket-register", source: $s) { ok problems { line message } } }`,
		map[string]any{"s": edited})
	require.Empty(t, r.Errors)
	require.Equal(t, true, r.Data["publishConfig"].(map[string]any)["ok"], "%v", r.Data)

	// No restart: the next request sees the new field in the typed input.
	r = query(t, base, agent, register, nil)
	require.Empty(t, r.Errors)
	fields := r.Data["createTicketAsTicketRegister"].(map[string]any)["fields"].(map[string]any)
	assert.Equal(t, "恒通物业", fields["property_company"])
}

func TestKnowledgeBaseOverGraphQL(t *testing.T) {
	cfg := baseConfig(t)
	cfg.DatabaseURL = pgtest.URL(t)
	base := serverWith(t, cfg, app.Options{Demo: true, DemoArticles: 60})
	agent := login(t, base, "agent")

	r := query(t, base, agent, `{ suggestKnowledge(prefix: "供", first: 5) { text kind articles } }`, nil)
	require.Empty(t, r.Errors)
	suggestions := r.Data["suggestKnowledge"].([]any)
	require.NotEmpty(t, suggestions)
	for _, sg := range suggestions {
		assert.Contains(t, sg.(map[string]any)["text"], "供")
	}

	r = query(t, base, agent, `{ searchKnowledge(query: "供暖", first: 2) { totalCount endCursor facets { field value label count }
		hits { article { id title version fields } highlights { field fragment } } } }`, nil)
	require.Empty(t, r.Errors)
	res := r.Data["searchKnowledge"].(map[string]any)
	hits := res["hits"].([]any)
	require.NotEmpty(t, hits)
	first := hits[0].(map[string]any)
	assert.Contains(t, first["highlights"].([]any)[0].(map[string]any)["fragment"], "<mark>供暖</mark>")
	if res["totalCount"].(float64) > 2 {
		require.NotNil(t, res["endCursor"])
		r = query(t, base, agent, `query($after: String) { searchKnowledge(query: "供暖", first: 2, after: $after) { hits { article { id } } } }`,
			map[string]any{"after": res["endCursor"]})
		require.Empty(t, r.Errors)
		next := r.Data["searchKnowledge"].(map[string]any)["hits"].([]any)
		require.NotEmpty(t, next)
		assert.NotEqual(t, first["article"].(map[string]any)["id"], next[0].(map[string]any)["article"].(map[string]any)["id"])
	}
	id := first["article"].(map[string]any)["id"]

	r = query(t, base, agent, `query($id: ID!) { knowledgeArticle(id: $id) { title clicks } }`, map[string]any{"id": id})
	require.Empty(t, r.Errors)
	assert.Equal(t, first["article"].(map[string]any)["title"], r.Data["knowledgeArticle"].(map[string]any)["title"])

	r = query(t, base, agent, `{ searchKnowledge(query: "供暖", sort: CLICKS, first: 1) { hits { article { id clicks } } } }`, nil)
	require.Empty(t, r.Errors)
	top := r.Data["searchKnowledge"].(map[string]any)["hits"].([]any)[0].(map[string]any)["article"].(map[string]any)
	assert.Equal(t, id, top["id"], "the article just opened leads by clicks")

	r = query(t, base, agent, `{ searchKnowledge(query: "供暖", filter: {facets: {topc: ["01"]}}) { totalCount } }`, nil)
	require.NotEmpty(t, r.Errors)
	assert.Equal(t, "filter.facets", r.Errors[0].Extensions["field"])

	// An editor fills in the downloaded template and imports it as a job.
	editor := login(t, base, "kbeditor")
	get := func(path string) *http.Response {
		req, err := http.NewRequest("GET", base+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+editor)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		return resp
	}
	resp := get("/knowledge/template.xlsx")
	book, err := excelize.OpenReader(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.NoError(t, book.SetSheetRow("知识", "A2", &[]any{"暖气不热报修电话", "", "<p>供热期内暖气不热可拨打供热企业热线报修。</p>", "", "0101", "办事指南"}))
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", "导入.xlsx")
	require.NoError(t, err)
	require.NoError(t, book.Write(fw))
	require.NoError(t, mw.Close())
	req, err := http.NewRequest("POST", base+"/knowledge/import?then=submit", &body)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+editor)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	var job struct{ ID int64 }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&job))
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	var state map[string]any
	require.Eventually(t, func() bool {
		r = query(t, base, editor, `query($id: ID!) { knowledgeImport(id: $id) { state phase total done imported result { rows ids problems { row } } } }`,
			map[string]any{"id": job.ID})
		require.Empty(t, r.Errors)
		state = r.Data["knowledgeImport"].(map[string]any)
		return state["state"] != "running"
	}, 10*time.Second, 50*time.Millisecond)
	assert.Equal(t, "done", state["state"])
	assert.EqualValues(t, 1, state["imported"])
	result := state["result"].(map[string]any)
	assert.Empty(t, result["problems"])
	require.Len(t, result["ids"], 1)
	r = query(t, base, editor, `{ knowledgeImports { id } }`, nil)
	require.Empty(t, r.Errors)
	assert.Equal(t, []any{map[string]any{"id": fmt.Sprint(job.ID)}}, r.Data["knowledgeImports"])
	r = query(t, base, agent, `query($id: ID!) { knowledgeImport(id: $id) { state } }`, map[string]any{"id": job.ID})
	require.NotEmpty(t, r.Errors, "another user's job is not found")
}

func TestAgentStatesAndTheLeadersViewOverGraphQL(t *testing.T) {
	cfg := baseConfig(t)
	cfg.DatabaseURL = pgtest.URL(t)
	base := serverWith(t, cfg, app.Options{Demo: true})
	agent, leader := login(t, base, "agent"), login(t, base, "leader")

	// The leader's screen subscribes to the agents over WebSocket.
	live := subscribe(t, base, leader, `subscription { agentsLive { username state } }`)
	stateOf := func(msg map[string]any, user string) string {
		for _, a := range msg["agentsLive"].([]any) {
			if a.(map[string]any)["username"] == user {
				return a.(map[string]any)["state"].(string)
			}
		}
		return ""
	}
	assert.Equal(t, "signed_out", stateOf(live(), "agent"), "the first message is the current view")

	r := query(t, base, agent, `mutation { agentSignIn { extension state stateLabel } }`, nil)
	require.Empty(t, r.Errors)
	assert.Equal(t, map[string]any{"extension": "8001", "state": "idle", "stateLabel": "示闲"}, r.Data["agentSignIn"])
	assert.Equal(t, "idle", stateOf(live(), "agent"), "the sign-in is pushed")
	r = query(t, base, agent, `mutation { setAgentState(state: "busy") { state } }`, nil)
	require.NotEmpty(t, r.Errors)
	assert.Equal(t, "reason", r.Errors[0].Extensions["field"])
	r = query(t, base, agent, `mutation { setAgentState(state: "busy", reason: "会议") { state reason } }`, nil)
	require.Empty(t, r.Errors)
	assert.Equal(t, map[string]any{"state": "busy", "reason": "会议"}, r.Data["setAgentState"])
	r = query(t, base, agent, `{ agents { username } }`, nil)
	require.NotEmpty(t, r.Errors, "agents do not watch each other")

	r = query(t, base, leader, `{ queues { name waiting idle signedIn } agents { username extension state } }`, nil)
	require.Empty(t, r.Errors)
	assert.Contains(t, r.Data["queues"], map[string]any{"name": "general", "waiting": float64(0), "idle": float64(0), "signedIn": float64(1)})
	assert.Contains(t, r.Data["agents"], map[string]any{"username": "agent", "extension": "8001", "state": "busy"})
	r = query(t, base, leader, `mutation($id: ID!) { forceAgentState(userId: $id, state: "idle") { state } }`, map[string]any{"id": agentID(t, base, leader, "agent")})
	require.Empty(t, r.Errors)
	r = query(t, base, leader, `{ queues { name idle } }`, nil)
	require.Empty(t, r.Errors)
	assert.Contains(t, r.Data["queues"], map[string]any{"name": "general", "idle": float64(1)})
	// An agent sees the queues that may offer him calls, not the leaders'
	// view of every queue; a user who is no agent gets none.
	// The agent's own bar hears a leader's forcing.
	me := subscribe(t, base, agent, `subscription { myAgentLive { state reason } }`)
	assert.Equal(t, map[string]any{"state": "idle", "reason": ""}, me()["myAgentLive"], "the leader made him idle")
	r = query(t, base, leader, `mutation($id: ID!) { forceAgentState(userId: $id, state: "break") { state } }`, map[string]any{"id": agentID(t, base, leader, "agent")})
	require.Empty(t, r.Errors)
	assert.Equal(t, "break", me()["myAgentLive"].(map[string]any)["state"], "pushed at once")
	r = query(t, base, agent, `mutation { setAgentState(state: "busy", reason: "会议") { state } }`, nil)
	require.Empty(t, r.Errors)
	assert.Equal(t, "busy", me()["myAgentLive"].(map[string]any)["state"])
	r = query(t, base, agent, `{ queues { name } }`, nil)
	require.NotEmpty(t, r.Errors, "queues stay the leaders'")
	r = query(t, base, agent, `{ myQueues { name waiting waitingSince } }`, nil)
	require.Empty(t, r.Errors)
	assert.Contains(t, r.Data["myQueues"], map[string]any{"name": "general", "waiting": float64(0), "waitingSince": nil})
	assert.NotContains(t, r.Data["myQueues"], map[string]any{"name": "enterprise", "waiting": float64(0), "waitingSince": nil},
		"the demo agent lacks the enterprise skill")
	mine := subscribe(t, base, agent, `subscription { myQueuesLive { name waiting } }`)
	assert.Contains(t, mine()["myQueuesLive"], map[string]any{"name": "general", "waiting": float64(0)})
	r = query(t, base, login(t, base, "clerk"), `{ myQueues { name } }`, nil)
	require.NotEmpty(t, r.Errors, "a clerk is no agent")
	r = query(t, base, agent, `{ agentStates { name manual maxSeconds } }`, nil)
	require.Empty(t, r.Errors)
	assert.Contains(t, r.Data["agentStates"], map[string]any{"name": "wrapup", "manual": true, "maxSeconds": float64(30)})
}

// subscribe opens a graphql-transport-ws socket with token and starts one
// subscription; next returns the data of its next message.
func subscribe(t *testing.T, base, token, q string) (next func() map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/graphql", &websocket.DialOptions{Subprotocols: []string{gql.WSSubprotocol}})
	require.NoError(t, err)
	t.Cleanup(func() { c.CloseNow() })
	send := func(v any) {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		require.NoError(t, c.Write(ctx, websocket.MessageText, b))
	}
	read := func() map[string]any {
		rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
		defer rcancel()
		_, b, err := c.Read(rctx)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m))
		return m
	}
	send(map[string]any{"type": "connection_init", "payload": map[string]any{"authorization": "Bearer " + token}})
	require.Equal(t, "connection_ack", read()["type"])
	send(map[string]any{"type": "subscribe", "id": "1", "payload": map[string]any{"query": q}})
	return func() map[string]any {
		m := read()
		require.Equal(t, "next", m["type"], "%v", m)
		payload := m["payload"].(map[string]any)
		require.Nil(t, payload["errors"])
		return payload["data"].(map[string]any)
	}
}

func TestASocketWithABadTokenIsClosed(t *testing.T) {
	cfg := baseConfig(t)
	cfg.DatabaseURL = pgtest.URL(t)
	base := serverWith(t, cfg, app.Options{Demo: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/graphql", &websocket.DialOptions{Subprotocols: []string{gql.WSSubprotocol}})
	require.NoError(t, err)
	defer c.CloseNow()
	require.NoError(t, c.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_init","payload":{"authorization":"Bearer forged"}}`)))
	_, _, err = c.Read(ctx)
	assert.Equal(t, websocket.StatusCode(4403), websocket.CloseStatus(err), "%v", err)
}

func agentID(t *testing.T, base, token, username string) string {
	t.Helper()
	r := query(t, base, token, `{ agents { userId username } }`, nil)
	require.Empty(t, r.Errors)
	for _, a := range r.Data["agents"].([]any) {
		if a.(map[string]any)["username"] == username {
			return a.(map[string]any)["userId"].(string)
		}
	}
	t.Fatalf("no agent %s", username)
	return ""
}

// logLines is a process log in memory: one record a line.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		l.lines = append(l.lines, line)
	}
	return len(p), nil
}

func (l *logLines) since(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines[n:]...)
}

func (l *logLines) contains(substr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, substr) {
			return true
		}
	}
	return false
}

func (l *logLines) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

func readyz(t *testing.T, base string) (int, string) {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, strings.TrimSpace(string(body))
}

// TestADeadDatabaseIsNoticedRestartedAndNotLoggedPerRequest kills the
// private PostgreSQL's postmaster and keeps it from coming back for a
// while: readiness says so, a flood of failing requests leaves a bounded
// log, and once it can start again supervision brings it back and the same
// sessions work through the same pool.
func TestADeadDatabaseIsNoticedRestartedAndNotLoggedPerRequest(t *testing.T) {
	cfg := baseConfig(t)
	cfg.DatabaseURL = ""
	cfg.LogLevel = "info"
	logs := &logLines{}
	base := serverLogging(t, cfg, app.Options{Demo: true}, app.NewLogger(cfg, logs))
	token := login(t, base, "agent")
	code, _ := readyz(t, base)
	require.Equal(t, http.StatusOK, code)

	dataDir := filepath.Join(cfg.DataDir, "pg")
	pidFile, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.SplitN(string(pidFile), "\n", 2)[0])
	require.NoError(t, err)
	// postgres refuses a data dir others can read: restarts fail, with
	// backoff, until it is private again.
	require.NoError(t, os.Chmod(dataDir, 0o777))
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))

	var body string
	require.Eventually(t, func() bool {
		code, body = readyz(t, base)
		return code == http.StatusServiceUnavailable
	}, 10*time.Second, 20*time.Millisecond, "readiness follows the database")
	assert.Equal(t, "not ready: database unreachable", body)

	before := logs.count()
	const requests = 300
	codes := map[string]int{}
	for range requests {
		r := query(t, base, token, `{ me { username } }`, nil)
		require.NotEmpty(t, r.Errors)
		codes[fmt.Sprint(r.Errors[0].Extensions["code"])]++
		readyz(t, base)
	}
	during := logs.since(before)
	t.Logf("answers while the database is down: %v; %d log lines for %d requests", codes, len(during), requests)
	assert.Equal(t, map[string]int{"UNAVAILABLE": requests}, codes, "a UI is told the service is unavailable, not that it failed")
	assert.Less(t, len(during), 40, "repeats of one error are counted, not written each time:\n%s", strings.Join(during, "\n"))

	require.Eventually(t, func() bool { return logs.contains("restarting PostgreSQL failed") }, 30*time.Second, 20*time.Millisecond,
		"supervision noticed and tried")
	code, _ = readyz(t, base)
	assert.Equal(t, http.StatusServiceUnavailable, code, "still down while restarts fail")
	require.NoError(t, os.Chmod(dataDir, 0o700))
	require.Eventually(t, func() bool {
		code, _ = readyz(t, base)
		return code == http.StatusOK
	}, time.Minute, 50*time.Millisecond, "ready again once PostgreSQL is back")
	require.Eventually(t, func() bool { return logs.contains("PostgreSQL restarted") }, 10*time.Second, 20*time.Millisecond)
	r := query(t, base, token, `{ me { username } }`, nil)
	require.Empty(t, r.Errors, "the session from before the crash works through the same pool")
	assert.Equal(t, "agent", r.Data["me"].(map[string]any)["username"])

	metrics := scrape(t, base)
	assert.Equal(t, 1.0, metrics["hotline_postgres_restarts_total"])
	assert.GreaterOrEqual(t, metrics["hotline_postgres_restart_failures_total"], 1.0)
	assert.GreaterOrEqual(t, metrics["hotline_log_suppressed_total"], float64(requests-len(during)))

	all := strings.Join(logs.since(0), "\n")
	assert.Contains(t, all, "PostgreSQL postmaster is gone")
	assert.Contains(t, all, "PostgreSQL restarted")
	assert.Contains(t, all, "not ready: PostgreSQL unreachable")
	assert.Contains(t, all, "ready again: PostgreSQL answers")
}

// scrape reads the unlabelled samples of /metrics.
func scrape(t *testing.T, base string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			out[name] = v
		}
	}
	return out
}
