package gql

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/graphql-go/graphql"
	"github.com/stretchr/testify/require"
)

type principalKey struct{}

// testModule is a small module exercising every error path.
type testModule struct{}

func (testModule) Name() string { return "test" }

var ticketType = graphql.NewObject(graphql.ObjectConfig{
	Name: "Ticket",
	Fields: graphql.Fields{
		"id":    &graphql.Field{Type: graphql.NewNonNull(graphql.ID)},
		"title": &graphql.Field{Type: graphql.String},
	},
})

func (testModule) Register(b *Builder) error {
	b.Query("hello", &graphql.Field{
		Type: graphql.String,
		Args: graphql.FieldConfigArgument{"name": &graphql.ArgumentConfig{Type: graphql.NewNonNull(graphql.String)}},
		Resolve: func(p graphql.ResolveParams) (any, error) {
			return "你好 " + p.Args["name"].(string), nil
		},
	})
	b.Query("count", &graphql.Field{
		Type: graphql.Int,
		Args: graphql.FieldConfigArgument{"n": &graphql.ArgumentConfig{Type: graphql.Int}},
		Resolve: func(p graphql.ResolveParams) (any, error) {
			return p.Args["n"], nil
		},
	})
	b.Query("fieldErr", &graphql.Field{Type: graphql.String, Resolve: func(graphql.ResolveParams) (any, error) {
		return nil, FieldError("input.phone", "电话号码格式不正确")
	}})
	b.Query("plainErr", &graphql.Field{Type: graphql.String, Resolve: func(graphql.ResolveParams) (any, error) {
		return nil, errors.New("pq: password authentication failed for user secret")
	}})
	b.Query("wrappedErr", &graphql.Field{Type: graphql.String, Resolve: func(graphql.ResolveParams) (any, error) {
		return nil, fmt.Errorf("loading ticket 42: %w", Errorf(NotFound, "工单不存在"))
	}})
	b.Query("internalErr", &graphql.Field{Type: graphql.String, Resolve: func(graphql.ResolveParams) (any, error) {
		return nil, Wrap(Internal, errors.New("disk full"), "保存失败")
	}})
	b.Query("panics", &graphql.Field{Type: graphql.String, Resolve: func(graphql.ResolveParams) (any, error) {
		panic("boom: secret state")
	}})
	b.Query("nonNull", &graphql.Field{Type: graphql.NewNonNull(graphql.String), Resolve: func(graphql.ResolveParams) (any, error) {
		return nil, nil
	}})
	b.Query("whoami", &graphql.Field{Type: graphql.String, Resolve: func(p graphql.ResolveParams) (any, error) {
		who, _ := p.Context.Value(principalKey{}).(string)
		return who, nil
	}})
	b.Query("from", &graphql.Field{Type: graphql.String, Resolve: func(p graphql.ResolveParams) (any, error) {
		info := RequestInfoFrom(p.Context)
		return info.RemoteAddr + "|" + info.UserAgent, nil
	}})
	b.Query("echo", &graphql.Field{
		Type: JSON,
		Args: graphql.FieldConfigArgument{"v": &graphql.ArgumentConfig{Type: JSON}},
		Resolve: func(p graphql.ResolveParams) (any, error) {
			return p.Args["v"], nil
		},
	})
	b.Query("tickets", &graphql.Field{
		Type: graphql.NewList(ticketType),
		Args: graphql.FieldConfigArgument{"first": &graphql.ArgumentConfig{Type: graphql.Int}},
		Resolve: func(graphql.ResolveParams) (any, error) {
			return []map[string]any{{"id": "1", "title": "噪音投诉"}}, nil
		},
	})
	b.Mutation("setNote", &graphql.Field{
		Type: graphql.String,
		Args: graphql.FieldConfigArgument{"text": &graphql.ArgumentConfig{Type: graphql.NewNonNull(graphql.String)}},
		Resolve: func(p graphql.ResolveParams) (any, error) {
			return p.Args["text"], nil
		},
	})
	return nil
}

func testSchema(t *testing.T) graphql.Schema {
	t.Helper()
	s, err := NewBuilder().Build(testModule{})
	require.NoError(t, err)
	return s
}

type response struct {
	status int
	header http.Header
	Data   map[string]any  `json:"data"`
	Errors []ResponseError `json:"errors"`
	raw    string
}

func (r response) code(i int) string {
	if i >= len(r.Errors) {
		return ""
	}
	c, _ := r.Errors[i].Extensions["code"].(string)
	return c
}

// testLog captures what the handler logs so tests can check that the real
// error text reaches the log and not the client.
type testLog struct{ buf bytes.Buffer }

func (l *testLog) logger() *slog.Logger { return slog.New(slog.NewTextHandler(&l.buf, nil)) }

func do(t *testing.T, h http.Handler, req *http.Request) response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := response{status: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &res), rec.Body.String())
	return res
}

func post(t *testing.T, h http.Handler, body any) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case string:
		rd = strings.NewReader(b)
	default:
		js, err := json.Marshal(b)
		require.NoError(t, err)
		rd = bytes.NewReader(js)
	}
	req := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/graphql", rd)
	req.Header.Set("Content-Type", "application/json")
	return do(t, h, req)
}

func query(t *testing.T, h http.Handler, q string) response {
	t.Helper()
	return post(t, h, map[string]any{"query": q})
}
