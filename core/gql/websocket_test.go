package gql

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/graphql-go/graphql"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const wsWait = 5 * time.Second

// feed is a subscription source the test drives: every subscribe call
// announces itself on started with the context the resolver got.
type feed struct{ started chan *feedSub }

type feedSub struct {
	ctx    context.Context
	args   map[string]any
	events chan any
}

func newFeed() *feed { return &feed{started: make(chan *feedSub, 16)} }

func (f *feed) subscribe(p graphql.ResolveParams) (any, error) {
	s := &feedSub{ctx: p.Context, args: p.Args, events: make(chan any)}
	f.started <- s
	return s.events, nil
}

func (f *feed) next(t *testing.T) *feedSub {
	t.Helper()
	select {
	case s := <-f.started:
		return s
	case <-time.After(wsWait):
		t.Fatal("no subscription started")
		return nil
	}
}

func (s *feedSub) emit(t *testing.T, v any) {
	t.Helper()
	select {
	case s.events <- v:
	case <-time.After(wsWait):
		t.Fatal("the server did not take the event")
	}
}

func (s *feedSub) requireCancelled(t *testing.T) {
	t.Helper()
	select {
	case <-s.ctx.Done():
	case <-time.After(wsWait):
		t.Fatal("the subscription's context was not cancelled")
	}
}

var agentViewType = graphql.NewObject(graphql.ObjectConfig{
	Name: "AgentView",
	Fields: graphql.Fields{
		"id":     &graphql.Field{Type: graphql.NewNonNull(graphql.ID)},
		"status": &graphql.Field{Type: graphql.String},
		"queue":  &graphql.Field{Type: graphql.String},
	},
})

// liveModule contributes the subscriptions the WebSocket tests use.
type liveModule struct{ feed *feed }

func (liveModule) Name() string { return "live" }

func (m liveModule) Register(b *Builder) error {
	// No Resolve: the event is the value.
	b.Subscription("counter", &graphql.Field{Type: graphql.Int, Subscribe: m.feed.subscribe})
	b.Subscription("agentChanged", &graphql.Field{
		Type:      agentViewType,
		Args:      graphql.FieldConfigArgument{"queue": &graphql.ArgumentConfig{Type: graphql.NewNonNull(graphql.String)}},
		Subscribe: m.feed.subscribe,
		Resolve: func(p graphql.ResolveParams) (any, error) {
			ev, _ := p.Source.(map[string]any)
			if ev["id"] == nil {
				return nil, Errorf(NotFound, "坐席不存在")
			}
			return map[string]any{"id": ev["id"], "status": ev["status"], "queue": p.Args["queue"]}, nil
		},
	})
	b.Subscription("forbidden", &graphql.Field{Type: graphql.Int, Subscribe: func(graphql.ResolveParams) (any, error) {
		return nil, Errorf(Forbidden, "无权查看该队列")
	}})
	b.Subscription("broken", &graphql.Field{Type: graphql.Int, Subscribe: func(graphql.ResolveParams) (any, error) {
		return nil, errors.New("pq: connection to secret-host refused")
	}})
	b.Subscription("panics", &graphql.Field{Type: graphql.Int, Subscribe: func(graphql.ResolveParams) (any, error) {
		panic("boom")
	}})
	b.Subscription("notAChannel", &graphql.Field{Type: graphql.Int, Subscribe: func(graphql.ResolveParams) (any, error) {
		return 1, nil
	}})
	b.Subscription("readOnly", &graphql.Field{Type: graphql.Int, Subscribe: func(graphql.ResolveParams) (any, error) {
		ch := make(chan any, 2)
		ch <- 1
		ch <- 2
		close(ch)
		return (<-chan any)(ch), nil
	}})
	b.Subscription("whoamiLive", &graphql.Field{
		Type: graphql.String,
		Subscribe: func(graphql.ResolveParams) (any, error) {
			ch := make(chan any, 1)
			ch <- "tick"
			close(ch)
			return ch, nil
		},
		Resolve: func(p graphql.ResolveParams) (any, error) {
			who, _ := p.Context.Value(principalKey{}).(string)
			return who, nil
		},
	})
	return nil
}

// testAuth accepts "Bearer good" and anonymous connections.
func testAuth(ctx context.Context, r *http.Request) (context.Context, error) {
	switch r.Header.Get("Authorization") {
	case "":
		return ctx, nil
	case "Bearer good":
		return context.WithValue(ctx, principalKey{}, "张三"), nil
	case "Bearer crash":
		return nil, errors.New("identity store unreachable")
	}
	return nil, Errorf(Unauthenticated, "登录已过期，请重新登录")
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type wsEnv struct {
	url  string
	feed *feed
	log  *syncBuffer
}

func newWSEnv(t *testing.T, opts HandlerOptions) *wsEnv {
	t.Helper()
	f := newFeed()
	s, err := NewBuilder().Build(testModule{}, liveModule{feed: f})
	require.NoError(t, err)
	env := &wsEnv{feed: f, log: &syncBuffer{}}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(env.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv := httptest.NewServer(NewWSHandler(s, opts))
	t.Cleanup(srv.Close)
	env.url = srv.URL
	return env
}

type wsClient struct {
	t *testing.T
	c *websocket.Conn
}

type wsMsg struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

type nextPayload struct {
	Data   map[string]any  `json:"data"`
	Errors []ResponseError `json:"errors"`
}

func (m wsMsg) next(t *testing.T) nextPayload {
	t.Helper()
	require.Equal(t, "next", m.Type, string(m.Payload))
	var p nextPayload
	require.NoError(t, json.Unmarshal(m.Payload, &p))
	return p
}

func (m wsMsg) errors(t *testing.T) []ResponseError {
	t.Helper()
	require.Equal(t, "error", m.Type, string(m.Payload))
	var errs []ResponseError
	require.NoError(t, json.Unmarshal(m.Payload, &errs))
	require.NotEmpty(t, errs)
	return errs
}

func (e *wsEnv) dial(t *testing.T, opts *websocket.DialOptions) *wsClient {
	t.Helper()
	if opts == nil {
		opts = &websocket.DialOptions{}
	}
	if opts.Subprotocols == nil {
		opts.Subprotocols = []string{WSSubprotocol}
	}
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	c, _, err := websocket.Dial(ctx, e.url, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.CloseNow() })
	return &wsClient{t: t, c: c}
}

func (c *wsClient) sendRaw(s string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	require.NoError(c.t, c.c.Write(ctx, websocket.MessageText, []byte(s)))
}

func (c *wsClient) send(msg map[string]any) {
	c.t.Helper()
	b, err := json.Marshal(msg)
	require.NoError(c.t, err)
	c.sendRaw(string(b))
}

func (c *wsClient) read() wsMsg {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	_, data, err := c.c.Read(ctx)
	require.NoError(c.t, err)
	var m wsMsg
	require.NoError(c.t, json.Unmarshal(data, &m), string(data))
	return m
}

func (c *wsClient) init(payload map[string]any) {
	c.t.Helper()
	msg := map[string]any{"type": "connection_init"}
	if payload != nil {
		msg["payload"] = payload
	}
	c.send(msg)
	require.Equal(c.t, "connection_ack", c.read().Type)
}

func (c *wsClient) subscribe(id, query string, vars map[string]any) {
	c.t.Helper()
	payload := map[string]any{"query": query}
	if vars != nil {
		payload["variables"] = vars
	}
	c.send(map[string]any{"id": id, "type": "subscribe", "payload": payload})
}

// sync proves the server has handled every message sent before it: the
// read loop serves messages in order and answers a ping at once.
func (c *wsClient) sync() {
	c.t.Helper()
	c.send(map[string]any{"type": "ping"})
	m := c.read()
	require.Equal(c.t, "pong", m.Type, "unexpected %s %s", m.Type, m.Payload)
}

// closed reads until the server closes the socket and returns its code.
func (c *wsClient) closed() websocket.CloseError {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	for {
		_, data, err := c.c.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			require.ErrorAs(c.t, err, &ce)
			return ce
		}
		c.t.Logf("before close: %s", data)
	}
}

func TestWSSubscriptionStreamsInOrderAndClientComplete(t *testing.T) {
	env := newWSEnv(t, HandlerOptions{})
	c := env.dial(t, nil)
	c.init(nil)
	c.subscribe("1", `subscription { counter }`, nil)
	src := env.feed.next(t)

	for i := 1; i <= 5; i++ {
		src.emit(t, i)
		m := c.read()
		assert.Equal(t, "1", m.ID)
		assert.Equal(t, map[string]any{"counter": float64(i)}, m.next(t).Data)
	}

	c.send(map[string]any{"id": "1", "type": "complete"})
	src.requireCancelled(t)
	// No `complete` comes back for a client's complete: the next message
	// is the answer to this ping.
	c.sync()
	// The id is free again.
	c.subscribe("1", `subscription { counter }`, nil)
	src = env.feed.next(t)
	src.emit(t, 42)
	assert.Equal(t, map[string]any{"counter": 42.0}, c.read().next(t).Data)
}

func TestWSSourceCloseCompletesAndResolveRunsPerEvent(t *testing.T) {
	env := newWSEnv(t, HandlerOptions{})
	c := env.dial(t, nil)
	c.init(nil)
	c.subscribe("a", `subscription Agents($q: String!) { agentChanged(queue: $q) { id status queue } }`, map[string]any{"q": "12345"})
	src := env.feed.next(t)
	assert.Equal(t, "12345", src.args["queue"], "arguments reach Subscribe")

	src.emit(t, map[string]any{"id": "7", "status": "IDLE"})
	assert.Equal(t, map[string]any{"agentChanged": map[string]any{"id": "7", "status": "IDLE", "queue": "12345"}}, c.read().next(t).Data)

	// A failing event is reported with its code; the stream goes on.
	src.emit(t, map[string]any{"status": "?"})
	p := c.read().next(t)
	require.Len(t, p.Errors, 1)
	assert.Equal(t, "NOT_FOUND", p.Errors[0].Extensions["code"])
	assert.Equal(t, []any{"agentChanged"}, p.Errors[0].Path)

	src.emit(t, map[string]any{"id": "7", "status": "BUSY"})
	assert.Equal(t, "BUSY", c.read().next(t).Data["agentChanged"].(map[string]any)["status"])

	close(src.events)
	m := c.read()
	assert.Equal(t, wsMsg{ID: "a", Type: "complete"}, m)
}

func TestWSConnectionCloseCancelsSubscriptions(t *testing.T) {
	env := newWSEnv(t, HandlerOptions{})
	c := env.dial(t, nil)
	c.init(nil)
	c.subscribe("1", `subscription { counter }`, nil)
	c.subscribe("2", `subscription { agentChanged(queue: "q") { id } }`, nil)
	s1, s2 := env.feed.next(t), env.feed.next(t)
	require.NoError(t, c.c.Close(websocket.StatusNormalClosure, "bye"))
	s1.requireCancelled(t)
	s2.requireCancelled(t)
	requireGaugeZero(t, wsConnections)
	requireGaugeZero(t, activeSubscriptions)
}

func TestWSShutdownClosesSockets(t *testing.T) {
	shutdown, stop := context.WithCancel(context.Background())
	defer stop()
	env := newWSEnv(t, HandlerOptions{WebSocket: WSOptions{Shutdown: shutdown}})
	c := env.dial(t, nil)
	c.init(nil)
	c.subscribe("1", `subscription { counter }`, nil)
	src := env.feed.next(t)
	stop()
	assert.Equal(t, websocket.StatusGoingAway, c.closed().Code)
	src.requireCancelled(t)
	requireGaugeZero(t, wsConnections)
	requireGaugeZero(t, activeSubscriptions)
}

// requireGaugeZero waits for g to drop to zero: the connections' handlers
// and subscription goroutines have all returned.
func requireGaugeZero(t *testing.T, g prometheus.Gauge) {
	t.Helper()
	require.Eventually(t, func() bool {
		var m dto.Metric
		require.NoError(t, g.Write(&m))
		return m.GetGauge().GetValue() == 0
	}, wsWait, 10*time.Millisecond)
}

func TestWSReceiveOnlyChannelAndSingleEventSources(t *testing.T) {
	env := newWSEnv(t, HandlerOptions{Authenticate: testAuth})
	c := env.dial(t, nil)
	c.init(map[string]any{"authorization": "Bearer good"})

	c.subscribe("r", `subscription { readOnly }`, nil)
	assert.Equal(t, map[string]any{"readOnly": 1.0}, c.read().next(t).Data)
	assert.Equal(t, map[string]any{"readOnly": 2.0}, c.read().next(t).Data)
	assert.Equal(t, "complete", c.read().Type)

	// Resolvers see the principal Authenticate put into the context.
	c.subscribe("w", `subscription { whoamiLive }`, nil)
	assert.Equal(t, map[string]any{"whoamiLive": "张三"}, c.read().next(t).Data)
	assert.Equal(t, "complete", c.read().Type)
}

func TestWSAuthentication(t *testing.T) {
	cases := []struct {
		name    string
		payload map[string]any
		header  string // on the upgrade request, as a non-browser client may send
		who     string
		code    websocket.StatusCode // 0: accepted
	}{
		{name: "lower-case key", payload: map[string]any{"authorization": "Bearer good"}, who: "张三"},
		{name: "capitalised key", payload: map[string]any{"Authorization": "Bearer good"}, who: "张三"},
		{name: "anonymous", who: ""},
		{name: "upgrade header", header: "Bearer good", who: "张三"},
		{name: "payload overrides header", header: "Bearer good", payload: map[string]any{"authorization": "Bearer expired"}, code: 4403},
		{name: "rejected token", payload: map[string]any{"authorization": "Bearer expired"}, code: 4403},
		{name: "not a string", payload: map[string]any{"authorization": 42}, code: 4403},
		{name: "internal failure", payload: map[string]any{"authorization": "Bearer crash"}, code: 4500},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newWSEnv(t, HandlerOptions{Authenticate: testAuth})
			opts := &websocket.DialOptions{HTTPHeader: http.Header{"User-Agent": {"dashboard-test"}}}
			if tc.header != "" {
				opts.HTTPHeader.Set("Authorization", tc.header)
			}
			c := env.dial(t, opts)
			msg := map[string]any{"type": "connection_init"}
			if tc.payload != nil {
				msg["payload"] = tc.payload
			}
			c.send(msg)
			if tc.code != 0 {
				ce := c.closed()
				assert.Equal(t, tc.code, ce.Code)
				if tc.code == 4403 {
					assert.Equal(t, "Forbidden", ce.Reason)
				}
				return
			}
			require.Equal(t, "connection_ack", c.read().Type)
			c.subscribe("q", `{ whoami from }`, nil)
			assert.Equal(t, map[string]any{"whoami": tc.who, "from": "127.0.0.1|dashboard-test"}, c.read().next(t).Data)
			assert.Equal(t, "complete", c.read().Type)
		})
	}
}

func TestWSProtocolViolationsClose(t *testing.T) {
	subscribe := `{"id":"1","type":"subscribe","payload":{"query":"subscription { counter }"}}`
	cases := []struct {
		name   string
		opts   HandlerOptions
		send   []string
		code   websocket.StatusCode
		reason string
	}{
		{name: "subscribe before init", send: []string{subscribe}, code: 4401, reason: "Unauthorized"},
		{name: "second init", send: []string{`{"type":"connection_init"}`, `{"type":"connection_init"}`}, code: 4429, reason: "Too many initialisation requests"},
		{name: "duplicate id", send: []string{`{"type":"connection_init"}`, subscribe, subscribe}, code: 4409, reason: "Subscriber for 1 already exists"},
		{name: "not JSON", send: []string{`{"type":`}, code: 4400, reason: "Invalid message received"},
		{name: "unknown type", send: []string{`{"type":"start"}`}, code: 4400},
		{name: "server message from client", send: []string{`{"type":"connection_init"}`, `{"id":"1","type":"next","payload":{}}`}, code: 4400},
		{name: "subscribe without id", send: []string{`{"type":"connection_init"}`, `{"type":"subscribe","payload":{"query":"{ whoami }"}}`}, code: 4400},
		{name: "subscribe without query", send: []string{`{"type":"connection_init"}`, `{"id":"1","type":"subscribe","payload":{}}`}, code: 4400},
		{name: "init payload not an object", send: []string{`{"type":"connection_init","payload":"token"}`}, code: 4400},
		{name: "no init in time", opts: HandlerOptions{WebSocket: WSOptions{InitTimeout: 50 * time.Millisecond}}, code: 4408, reason: "Connection initialisation timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newWSEnv(t, tc.opts)
			c := env.dial(t, nil)
			for _, m := range tc.send {
				c.sendRaw(m)
			}
			ce := c.closed()
			assert.Equal(t, tc.code, ce.Code)
			if tc.reason != "" {
				assert.Equal(t, tc.reason, ce.Reason)
			}
		})
	}
}

func TestWSWrongSubprotocol(t *testing.T) {
	env := newWSEnv(t, HandlerOptions{})
	// subscriptions-transport-ws, the older protocol, calls itself graphql-ws.
	c := env.dial(t, &websocket.DialOptions{Subprotocols: []string{"graphql-ws"}})
	ce := c.closed()
	assert.Equal(t, websocket.StatusCode(4406), ce.Code)
}

func TestWSOperationErrors(t *testing.T) {
	cases := []struct {
		name  string
		query string
		// kind "error": one error message; "next": next with errors, then complete.
		kind    string
		code    string
		message string
	}{
		{name: "unknown field", query: `subscription { nope }`, kind: "error", code: "BAD_USER_INPUT", message: `Cannot query field "nope" on type "Subscription"`},
		{name: "syntax", query: `subscription {`, kind: "error", code: "BAD_USER_INPUT", message: "Syntax Error"},
		{name: "empty", query: ` `, kind: "error", code: "BAD_USER_INPUT", message: "no query"},
		{name: "depth limit", query: `{ tickets { id } }`, kind: "error", code: "BAD_USER_INPUT", message: "maximum depth of 1"},
		{name: "two root fields", query: `subscription Two { counter readOnly }`, kind: "error", code: "BAD_USER_INPUT", message: `Subscription "Two" must select only one top level field`},
		{name: "two root fields via fragment", query: `subscription { ...F } fragment F on Subscription { counter c2: counter }`, kind: "error", code: "BAD_USER_INPUT", message: "Anonymous Subscription must select only one top level field"},
		{name: "introspection root", query: `subscription { __typename }`, kind: "error", code: "BAD_USER_INPUT", message: "introspection"},
		{name: "unknown operation name", query: `subscription A { counter } subscription B { readOnly }`, kind: "error", code: "BAD_USER_INPUT", message: "unable to identify the operation"},
		{name: "subscribe forbidden", query: `subscription { forbidden }`, kind: "next", code: "FORBIDDEN", message: "无权查看该队列"},
		{name: "subscribe internal error", query: `subscription { broken }`, kind: "next", code: "INTERNAL", message: internalMessage},
		{name: "subscribe panics", query: `subscription { panics }`, kind: "next", code: "INTERNAL", message: internalMessage},
		{name: "subscribe returns no channel", query: `subscription { notAChannel }`, kind: "next", code: "INTERNAL", message: internalMessage},
		{name: "missing variable", query: `subscription($q: String!) { agentChanged(queue: $q) { id } }`, kind: "next", code: "BAD_USER_INPUT", message: `Variable "$q" of required type "String!" was not provided.`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := HandlerOptions{}
			if tc.name == "depth limit" {
				opts.Limits = Limits{MaxDepth: 1}
			}
			env := newWSEnv(t, opts)
			c := env.dial(t, nil)
			c.init(nil)
			payload := map[string]any{"query": tc.query}
			if tc.name == "unknown operation name" {
				payload["operationName"] = "C"
			}
			c.send(map[string]any{"id": "x", "type": "subscribe", "payload": payload})
			m := c.read()
			assert.Equal(t, "x", m.ID)
			var errs []ResponseError
			if tc.kind == "error" {
				errs = m.errors(t)
			} else {
				p := m.next(t)
				assert.Nil(t, p.Data)
				errs = p.Errors
				assert.Equal(t, wsMsg{ID: "x", Type: "complete"}, c.read())
			}
			require.NotEmpty(t, errs)
			assert.Equal(t, tc.code, errs[0].Extensions["code"])
			assert.Contains(t, errs[0].Message, tc.message)
			// The connection survives errors in an operation.
			c.sync()
		})
	}
}

func TestWSInternalErrorsAreLoggedNotSent(t *testing.T) {
	env := newWSEnv(t, HandlerOptions{})
	c := env.dial(t, nil)
	c.init(nil)
	c.subscribe("1", `subscription Broken { broken }`, nil)
	p := c.read().next(t)
	require.Len(t, p.Errors, 1)
	assert.NotContains(t, p.Errors[0].Message, "secret-host")
	assert.Equal(t, "complete", c.read().Type)
	assert.Contains(t, env.log.String(), "secret-host")
	assert.Contains(t, env.log.String(), "operation=Broken")
}

func TestWSQueriesAndMutations(t *testing.T) {
	cases := []struct {
		name  string
		query string
		vars  map[string]any
		want  map[string]any
		code  string // of the first error, if any
	}{
		{name: "query", query: `query($n: String!) { hello(name: $n) }`, vars: map[string]any{"n": "李四"}, want: map[string]any{"hello": "你好 李四"}},
		{name: "mutation", query: `mutation { setNote(text: "回访") }`, want: map[string]any{"setNote": "回访"}},
		{name: "resolver error", query: `{ fieldErr }`, want: map[string]any{"fieldErr": nil}, code: "BAD_USER_INPUT"},
	}
	env := newWSEnv(t, HandlerOptions{})
	c := env.dial(t, nil)
	c.init(nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			c.subscribe(tc.name, tc.query, tc.vars)
			m := c.read()
			assert.Equal(t, tc.name, m.ID)
			p := m.next(t)
			assert.Equal(t, tc.want, p.Data)
			if tc.code != "" {
				require.NotEmpty(t, p.Errors)
				assert.Equal(t, tc.code, p.Errors[0].Extensions["code"])
			} else {
				assert.Empty(t, p.Errors)
			}
			assert.Equal(t, wsMsg{ID: tc.name, Type: "complete"}, c.read())
		})
	}
}

func TestWSPingPong(t *testing.T) {
	env := newWSEnv(t, HandlerOptions{})
	c := env.dial(t, nil)
	// Allowed before connection_init.
	c.send(map[string]any{"type": "ping"})
	m := c.read()
	assert.Equal(t, "pong", m.Type)
	assert.Empty(t, m.Payload)

	c.send(map[string]any{"type": "ping", "payload": map[string]any{"seq": 3}})
	m = c.read()
	assert.Equal(t, "pong", m.Type)
	assert.JSONEq(t, `{"seq":3}`, string(m.Payload))

	// A pong from the client needs no answer.
	c.send(map[string]any{"type": "pong"})
	c.init(nil)
}

func TestWSMaxSubscriptions(t *testing.T) {
	env := newWSEnv(t, HandlerOptions{WebSocket: WSOptions{MaxSubscriptions: 2}})
	c := env.dial(t, nil)
	c.init(nil)
	agents := `subscription($q: String!) { agentChanged(queue: $q) { id } }`
	c.subscribe("a", agents, map[string]any{"q": "a"})
	c.subscribe("b", agents, map[string]any{"q": "b"})
	// The two start concurrently, in either order.
	a := env.feed.next(t)
	if b := env.feed.next(t); b.args["queue"] == "a" {
		a = b
	}

	c.subscribe("c", `subscription { counter }`, nil)
	errs := c.read().errors(t)
	assert.Equal(t, "BAD_USER_INPUT", errs[0].Extensions["code"])
	assert.Equal(t, "maxSubscriptions", errs[0].Extensions["limit"])
	assert.Contains(t, errs[0].Message, "maximum is 2")

	c.send(map[string]any{"id": "a", "type": "complete"})
	a.requireCancelled(t)
	c.sync()
	c.subscribe("c", `subscription { counter }`, nil)
	cs := env.feed.next(t)
	cs.emit(t, 1)
	assert.Equal(t, "c", c.read().ID)
}

func TestWSKeepAlive(t *testing.T) {
	env := newWSEnv(t, HandlerOptions{WebSocket: WSOptions{KeepAlive: 20 * time.Millisecond}})

	// A client that reads answers the pings and stays connected.
	var pings atomic.Int32
	c := env.dial(t, &websocket.DialOptions{OnPingReceived: func(context.Context, []byte) bool {
		pings.Add(1)
		return true
	}})
	c.init(nil)
	c.subscribe("1", `subscription { counter }`, nil)
	src := env.feed.next(t)
	go func() {
		time.Sleep(200 * time.Millisecond)
		src.emit(t, 1)
	}()
	assert.Equal(t, map[string]any{"counter": 1.0}, c.read().next(t).Data)
	assert.GreaterOrEqual(t, pings.Load(), int32(2))

	// One that does not read cannot answer and is cut off, which ends
	// its subscriptions.
	quiet := env.dial(t, nil)
	quiet.init(nil)
	quiet.subscribe("1", `subscription { counter }`, nil)
	env.feed.next(t).requireCancelled(t)
}

// The server's ReadTimeout (one minute in core/app) must not cut off
// long-lived sockets: net/http clears deadlines on hijack.
func TestWSOutlivesServerReadTimeout(t *testing.T) {
	f := newFeed()
	s, err := NewBuilder().Build(testModule{}, liveModule{feed: f})
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(NewWSHandler(s, HandlerOptions{}))
	srv.Config.ReadTimeout = 50 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	env := &wsEnv{url: srv.URL, feed: f}
	c := env.dial(t, nil)
	c.init(nil)
	c.subscribe("1", `subscription { counter }`, nil)
	src := f.next(t)
	time.Sleep(200 * time.Millisecond)
	src.emit(t, 1)
	assert.Equal(t, map[string]any{"counter": 1.0}, c.read().next(t).Data)
}

func TestWSCrossOriginRefused(t *testing.T) {
	env := newWSEnv(t, HandlerOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, env.url, &websocket.DialOptions{
		Subprotocols: []string{WSSubprotocol},
		HTTPHeader:   http.Header{"Origin": {"https://evil.example"}},
	})
	require.Error(t, err)
	require.NotNil(t, resp)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)

	env = newWSEnv(t, HandlerOptions{WebSocket: WSOptions{OriginPatterns: []string{"dashboard.example"}}})
	c := env.dial(t, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://dashboard.example"}}})
	c.init(nil)
}

func TestHTTPRefusesSubscriptions(t *testing.T) {
	s, err := NewBuilder().Build(testModule{}, liveModule{feed: newFeed()})
	require.NoError(t, err)
	res := query(t, NewHandler(s, HandlerOptions{}), `subscription { counter }`)
	assert.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, "BAD_USER_INPUT", res.code(0))
	assert.Contains(t, res.Errors[0].Message, "graphql-transport-ws")
	assert.Nil(t, res.Data)
}

func TestIsWebSocketUpgrade(t *testing.T) {
	cases := []struct {
		connection, upgrade string
		want                bool
	}{
		{"Upgrade", "websocket", true},
		{"keep-alive, Upgrade", "WebSocket", true},
		{"keep-alive", "websocket", false},
		{"Upgrade", "h2c", false},
		{"", "", false},
	}
	for _, tc := range cases {
		r := httptest.NewRequest(http.MethodGet, "/graphql", nil)
		if tc.connection != "" {
			r.Header.Set("Connection", tc.connection)
		}
		if tc.upgrade != "" {
			r.Header.Set("Upgrade", tc.upgrade)
		}
		assert.Equal(t, tc.want, IsWebSocketUpgrade(r), "%q %q", tc.connection, tc.upgrade)
	}
}

func TestCloseReason(t *testing.T) {
	assert.Equal(t, "short", closeReason("short"))
	long := closeReason("Subscriber for " + strings.Repeat("号", 100) + " already exists")
	assert.LessOrEqual(t, len(long), maxCloseReason)
	assert.True(t, strings.HasPrefix(long, "Subscriber for 号"))
}

func TestWSCredentialsAreCheckedAgain(t *testing.T) {
	var revoked atomic.Bool
	auth := func(ctx context.Context, r *http.Request) (context.Context, error) {
		if revoked.Load() {
			return nil, Errorf(Unauthenticated, "会话已结束")
		}
		return testAuth(ctx, r)
	}
	env := newWSEnv(t, HandlerOptions{Authenticate: auth, WebSocket: WSOptions{Reauthenticate: 50 * time.Millisecond}})
	c := env.dial(t, nil)
	c.init(map[string]any{"authorization": "Bearer good"})
	c.subscribe("q", `{ whoami }`, nil)
	assert.Equal(t, map[string]any{"whoami": "张三"}, c.read().next(t).Data)
	assert.Equal(t, "complete", c.read().Type)
	time.Sleep(150 * time.Millisecond)
	c.sync() // still open while the session is valid
	revoked.Store(true)
	ce := c.closed()
	assert.Equal(t, websocket.StatusCode(4403), ce.Code, "a session ended elsewhere closes the socket")
}
