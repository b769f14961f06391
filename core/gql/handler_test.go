package gql

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHandlerPOST(t *testing.T) {
	h := NewHandler(testSchema(t), HandlerOptions{})
	res := post(t, h, map[string]any{
		"query":         `query Greet($n: String!) { hello(name: $n) }`,
		"operationName": "Greet",
		"variables":     map[string]any{"n": "张三"},
	})
	assert.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, "application/json; charset=utf-8", res.header.Get("Content-Type"))
	assert.Equal(t, "no-store", res.header.Get("Cache-Control"))
	assert.Empty(t, res.Errors)
	assert.Equal(t, "你好 张三", res.Data["hello"])

	// JSON numbers arrive as float64 and must still coerce to Int.
	res = post(t, h, map[string]any{"query": `query($n: Int) { count(n: $n) }`, "variables": map[string]any{"n": 3}})
	assert.Empty(t, res.Errors)
	assert.Equal(t, 3.0, res.Data["count"])

	res = post(t, h, map[string]any{"query": `mutation { setNote(text: "回访") }`})
	assert.Equal(t, "回访", res.Data["setNote"])
}

func TestHandlerGET(t *testing.T) {
	h := NewHandler(testSchema(t), HandlerOptions{})
	q := url.Values{"query": {`query($n: String!) { hello(name: $n) }`}, "variables": {`{"n":"李四"}`}}
	res := do(t, h, httptest.NewRequest(http.MethodGet, "/graphql?"+q.Encode(), nil))
	assert.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, "你好 李四", res.Data["hello"])

	// A link must not be able to change data.
	q = url.Values{"query": {`mutation { setNote(text: "x") }`}}
	res = do(t, h, httptest.NewRequest(http.MethodGet, "/graphql?"+q.Encode(), nil))
	assert.Equal(t, http.StatusMethodNotAllowed, res.status)
	assert.Equal(t, "BAD_USER_INPUT", res.code(0))
	assert.Nil(t, res.Data)
}

func TestHandlerMalformedRequests(t *testing.T) {
	h := NewHandler(testSchema(t), HandlerOptions{})

	res := post(t, h, `{"query": "{ hello(name: \"a\") }"`)
	assert.Equal(t, http.StatusBadRequest, res.status)
	assert.Equal(t, "BAD_USER_INPUT", res.code(0))
	assert.Contains(t, res.Errors[0].Message, "malformed JSON")

	res = post(t, h, `{"query": "{ a }"} {"query": "{ b }"}`)
	assert.Equal(t, http.StatusBadRequest, res.status)

	res = post(t, h, `{"variables": {}}`)
	assert.Equal(t, http.StatusBadRequest, res.status)
	assert.Contains(t, res.Errors[0].Message, "no query")

	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`query=%7Bhello%7D`))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res = do(t, h, req)
	assert.Equal(t, http.StatusUnsupportedMediaType, res.status)
	assert.Equal(t, "BAD_USER_INPUT", res.code(0))

	res = do(t, h, httptest.NewRequest(http.MethodPut, "/graphql", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, res.status)

	// 1 MiB of variables and then some.
	big := `{"query": "{ hello(name: \"a\") }", "variables": {"x": "` + strings.Repeat("x", MaxBodyBytes) + `"}}`
	res = post(t, h, big)
	assert.Equal(t, http.StatusRequestEntityTooLarge, res.status)
	assert.Equal(t, "BAD_USER_INPUT", res.code(0))
}

func TestHandlerErrorCodes(t *testing.T) {
	var log testLog
	h := NewHandler(testSchema(t), HandlerOptions{Logger: log.logger()})

	res := query(t, h, `{ fieldErr }`)
	require.Len(t, res.Errors, 1)
	assert.Equal(t, "BAD_USER_INPUT", res.code(0))
	assert.Equal(t, "input.phone", res.Errors[0].Extensions["field"])
	assert.Equal(t, "电话号码格式不正确", res.Errors[0].Message)
	assert.Equal(t, []any{"fieldErr"}, res.Errors[0].Path)
	assert.Contains(t, res.Data, "fieldErr")

	// A *Error wrapped with %w keeps its code and its own message only.
	res = query(t, h, `{ wrappedErr }`)
	assert.Equal(t, "NOT_FOUND", res.code(0))
	assert.Equal(t, "工单不存在", res.Errors[0].Message)

	for _, q := range []string{`query Leaky { plainErr }`, `query Leaky { panics }`, `query Leaky { nonNull }`} {
		log.buf.Reset()
		res = query(t, h, q)
		require.Len(t, res.Errors, 1, q)
		assert.Equal(t, "INTERNAL", res.code(0), q)
		assert.Equal(t, internalMessage, res.Errors[0].Message, q)
		assert.NotContains(t, res.raw, "secret", q)
		assert.Contains(t, log.buf.String(), "operation=Leaky", q)
	}
	assert.Contains(t, log.buf.String(), "Cannot return null")

	log.buf.Reset()
	res = query(t, h, `{ plainErr }`)
	assert.Contains(t, log.buf.String(), "password authentication failed")
	assert.Contains(t, log.buf.String(), "operation=anonymous")

	log.buf.Reset()
	res = query(t, h, `{ internalErr }`)
	assert.Equal(t, "INTERNAL", res.code(0))
	assert.Equal(t, "保存失败", res.Errors[0].Message)
	assert.Contains(t, log.buf.String(), "disk full")
}

// Failures the Unavailable option recognises (a database out of reach)
// are UNAVAILABLE, from resolvers and from authentication alike; others
// stay INTERNAL.
func TestHandlerUnavailable(t *testing.T) {
	var log testLog
	down := func(err error) bool {
		return strings.Contains(err.Error(), "disk full") || strings.Contains(err.Error(), "connection refused")
	}
	h := NewHandler(testSchema(t), HandlerOptions{Logger: log.logger(), Unavailable: down})
	res := query(t, h, `{ internalErr }`)
	assert.Equal(t, "UNAVAILABLE", res.code(0))
	assert.Equal(t, unavailableMessage, res.Errors[0].Message)
	res = query(t, h, `{ plainErr }`)
	assert.Equal(t, "INTERNAL", res.code(0), "not every failure is the database")
	assert.Contains(t, log.buf.String(), "level=WARN msg=\"graphql: internal error: database unavailable\"")

	h = NewHandler(testSchema(t), HandlerOptions{Logger: log.logger(), Unavailable: down,
		Authenticate: func(ctx context.Context, _ *http.Request) (context.Context, error) {
			return nil, errors.New("reading session: dial unix: connection refused")
		}})
	res = query(t, h, `{ hello(name: "x") }`)
	assert.Equal(t, "UNAVAILABLE", res.code(0))
}

func TestHandlerClientErrorsAreBadUserInput(t *testing.T) {
	h := NewHandler(testSchema(t), HandlerOptions{})
	cases := map[string]struct {
		body    map[string]any
		mention string
	}{
		"wrong argument type": {map[string]any{"query": `{ count(n: "three") }`}, `"n"`},
		"unknown field":       {map[string]any{"query": `{ nope }`}, `"nope"`},
		"missing argument":    {map[string]any{"query": `{ hello }`}, `"name"`},
		"syntax error":        {map[string]any{"query": `{ hello(`}, "Syntax Error"},
		"variable type": {map[string]any{
			"query":     `query($n: Int) { count(n: $n) }`,
			"variables": map[string]any{"n": "three"},
		}, `"$n"`},
		"unknown operation":          {map[string]any{"query": `query A { count }`, "operationName": "B"}, `"B"`},
		"JSON literal with variable": {map[string]any{"query": `query($x: Int) { echo(v: {a: $x}) }`}, `"v"`},
	}
	for name, c := range cases {
		res := post(t, h, c.body)
		assert.Equal(t, http.StatusOK, res.status, name)
		require.NotEmpty(t, res.Errors, name)
		assert.Equal(t, "BAD_USER_INPUT", res.code(0), name)
		assert.Contains(t, res.Errors[0].Message, c.mention, name)
	}
}

func TestHandlerJSONScalarEndToEnd(t *testing.T) {
	h := NewHandler(testSchema(t), HandlerOptions{})
	res := query(t, h, `{ echo(v: {caller: {name: "王五", phones: ["12345", 110]}, urgent: true}) }`)
	require.Empty(t, res.Errors)
	assert.Equal(t, map[string]any{
		"caller": map[string]any{"name": "王五", "phones": []any{"12345", 110.0}},
		"urgent": true,
	}, res.Data["echo"])
}

func TestHandlerAuthenticate(t *testing.T) {
	var log testLog
	h := NewHandler(testSchema(t), HandlerOptions{
		Logger: log.logger(),
		Authenticate: func(ctx context.Context, r *http.Request) (context.Context, error) {
			// The identity module reads RequestInfo to log failed logins.
			if RequestInfoFrom(ctx).RemoteAddr == "" {
				return nil, errors.New("request info missing")
			}
			switch auth := r.Header.Get("Authorization"); auth {
			case "":
				return ctx, nil
			case "Bearer good":
				return context.WithValue(ctx, principalKey{}, "agent-7"), nil
			case "Bearer broken":
				return nil, errors.New("token store: connection reset")
			default:
				return nil, Errorf(Unauthenticated, "登录已过期，请重新登录")
			}
		},
	})
	send := func(auth string) response {
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query":"{ whoami }"}`))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		return do(t, h, req)
	}

	res := send("Bearer good")
	assert.Empty(t, res.Errors)
	assert.Equal(t, "agent-7", res.Data["whoami"])

	res = send("")
	assert.Empty(t, res.Errors)
	assert.Equal(t, "", res.Data["whoami"])

	res = send("Bearer expired")
	assert.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, "UNAUTHENTICATED", res.code(0))
	assert.Nil(t, res.Data)

	res = send("Bearer broken")
	assert.Equal(t, "INTERNAL", res.code(0))
	assert.NotContains(t, res.raw, "connection reset")
	assert.Contains(t, log.buf.String(), "connection reset")
}

func TestRequestInfo(t *testing.T) {
	mk := func(trust bool) http.Handler {
		return NewHandler(testSchema(t), HandlerOptions{TrustProxy: trust})
	}
	req := func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query":"{ from }"}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("User-Agent", "hotline-desk/1.0")
		r.Header.Set("X-Forwarded-For", "6.6.6.6, 10.1.2.3")
		r.RemoteAddr = "192.0.2.10:51234"
		return r
	}
	assert.Equal(t, "192.0.2.10|hotline-desk/1.0", do(t, mk(false), req()).Data["from"])
	assert.Equal(t, "10.1.2.3|hotline-desk/1.0", do(t, mk(true), req()).Data["from"])

	info := requestInfo(req(), true)
	assert.Equal(t, "6.6.6.6, 10.1.2.3", info.ForwardedFor)
	assert.Equal(t, RequestInfo{}, RequestInfoFrom(context.Background()))
}

func TestHandlerMetrics(t *testing.T) {
	var log testLog
	h := NewHandler(testSchema(t), HandlerOptions{Logger: log.logger()})
	okBefore := counterValue(t, requestsTotal.WithLabelValues("MetricsProbe", "ok"))
	errBefore := counterValue(t, requestsTotal.WithLabelValues("anonymous", "error"))
	query(t, h, `query MetricsProbe { count(n: 1) }`)
	query(t, h, `{ plainErr }`)
	assert.Equal(t, okBefore+1, counterValue(t, requestsTotal.WithLabelValues("MetricsProbe", "ok")))
	assert.Equal(t, errBefore+1, counterValue(t, requestsTotal.WithLabelValues("anonymous", "error")))
	var m dto.Metric
	require.NoError(t, requestSeconds.WithLabelValues("MetricsProbe").(interface{ Write(*dto.Metric) error }).Write(&m))
	assert.Positive(t, m.GetHistogram().GetSampleCount())
	// A second handler must not panic on double registration.
	assert.NotPanics(t, func() { NewHandler(testSchema(t), HandlerOptions{}) })
}

func counterValue(t *testing.T, c interface{ Write(*dto.Metric) error }) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, c.Write(&m))
	return m.GetCounter().GetValue()
}

func TestOperationLabelCardinality(t *testing.T) {
	labelsMu.Lock()
	saved := seenLabels
	seenLabels = map[string]bool{}
	labelsMu.Unlock()
	t.Cleanup(func() { labelsMu.Lock(); seenLabels = saved; labelsMu.Unlock() })

	for i := range maxOperationLabels {
		operationLabel("op" + strconv.Itoa(i))
	}
	assert.Equal(t, "other", operationLabel("oneTooMany"))
	assert.Equal(t, "op7", operationLabel("op7"))
	assert.Equal(t, "anonymous", operationLabel(""))
}
