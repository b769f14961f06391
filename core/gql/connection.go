package gql

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/graphql-go/graphql"
)

// PageInfo is the Relay page info type shared by every connection.
var PageInfo = graphql.NewObject(graphql.ObjectConfig{
	Name:        "PageInfo",
	Description: "分页信息 (Relay page info).",
	Fields: graphql.Fields{
		"hasNextPage": &graphql.Field{Type: graphql.NewNonNull(graphql.Boolean)},
		"endCursor":   &graphql.Field{Type: graphql.String},
	},
})

var (
	connMu      sync.Mutex
	connections = map[*graphql.Object]*graphql.Object{}
)

// Connection returns the Relay connection type for node (NodeConnection with
// edges { cursor node } and pageInfo), made once per node type object so
// that several fields share it and a rebuilt schema gets its own.
func Connection(node *graphql.Object) *graphql.Object {
	connMu.Lock()
	defer connMu.Unlock()
	if c, ok := connections[node]; ok {
		return c
	}
	edge := graphql.NewObject(graphql.ObjectConfig{
		Name: node.Name() + "Edge",
		Fields: graphql.Fields{
			"cursor": &graphql.Field{Type: graphql.NewNonNull(graphql.String)},
			"node":   &graphql.Field{Type: graphql.NewNonNull(node)},
		},
	})
	c := graphql.NewObject(graphql.ObjectConfig{
		Name: node.Name() + "Connection",
		Fields: graphql.Fields{
			"edges":    &graphql.Field{Type: graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(edge)))},
			"pageInfo": &graphql.Field{Type: graphql.NewNonNull(PageInfo)},
		},
	})
	connections[node] = c
	return c
}

// PageArgs are the arguments of a paginated field. The page bounds are
// those the complexity limit is sized for (limits.go).
var PageArgs = graphql.FieldConfigArgument{
	"first": &graphql.ArgumentConfig{Type: graphql.Int, Description: fmt.Sprintf("每页条数，默认 %d，最多 %d", DefaultPageSize, MaxPageSize)},
	"after": &graphql.ArgumentConfig{Type: graphql.String, Description: "上一页的 endCursor"},
}

// Page is a decoded request for one page keyed by an int64 position.
type Page struct {
	First int
	After int64
}

// PageFrom reads first/after; cursors are opaque to clients.
func PageFrom(args map[string]any) (Page, error) {
	p := Page{First: DefaultPageSize}
	if f, ok := args["first"].(int); ok {
		if f < 1 || f > MaxPageSize {
			return p, FieldError("first", "first 须在 1 到 %d 之间", MaxPageSize)
		}
		p.First = f
	}
	if a, ok := args["after"].(string); ok && a != "" {
		raw, err := base64.RawURLEncoding.DecodeString(a)
		n, perr := strconv.ParseInt(strings.TrimPrefix(string(raw), "c:"), 10, 64)
		if err != nil || perr != nil || !strings.HasPrefix(string(raw), "c:") {
			return p, FieldError("after", "无效的分页游标")
		}
		p.After = n
	}
	return p, nil
}

// Cursor encodes a position.
func Cursor(pos int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("c:%d", pos)))
}

// ConnectionOf builds a connection value from one row more than the page
// size (the extra row only says there is a next page).
func ConnectionOf[T any](rows []T, page Page, pos func(T) int64) map[string]any {
	hasNext := len(rows) > page.First
	if hasNext {
		rows = rows[:page.First]
	}
	edges := make([]map[string]any, len(rows))
	var end any
	for i, r := range rows {
		c := Cursor(pos(r))
		edges[i] = map[string]any{"cursor": c, "node": r}
		end = c
	}
	return map[string]any{"edges": edges, "pageInfo": map[string]any{"hasNextPage": hasNext, "endCursor": end}}
}

// ID parses an ID argument as an int64, naming the field when it is not.
func ID(args map[string]any, field string) (int64, error) {
	v, ok := args[field]
	if !ok || v == nil {
		return 0, FieldError(field, "缺少 %s", field)
	}
	return ParseID(fmt.Sprint(v), field)
}

// ParseID parses an ID value.
func ParseID(s, field string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, FieldError(field, "%s 不是有效的编号：%q", field, s)
	}
	return n, nil
}
