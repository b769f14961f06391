package ticketsearch

import (
	"context"
	"sync"
	"time"

	"github.com/graphql-go/graphql"

	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
)

// FilterInput is the TicketFilter input shared by lists, searches and
// exports.
var FilterInput = graphql.NewInputObject(graphql.InputObjectConfig{
	Name:        "TicketFilter",
	Description: "工单筛选条件：同一筛选项的多个值为“或”，不同筛选项之间为“且”",
	Fields: graphql.InputObjectConfigFieldMap{
		"states":      {Type: graphql.NewList(gql.NonNull(graphql.String)), Description: "状态"},
		"units":       {Type: graphql.NewList(gql.NonNull(graphql.String)), Description: "承办单位编码（含下级单位）"},
		"facets":      {Type: gql.JSON, Description: `其他筛选项，如 {"category": ["0103"], "address.district": ["150105"], "channel": ["电话"]}`},
		"createdFrom": {Type: gql.Time, Description: "登记时间起（含）"},
		"createdTo":   {Type: gql.Time, Description: "登记时间止（不含）"},
		"open":        {Type: graphql.Boolean, Description: "true 只看未办结，false 只看已办结"},
		"overdue":     {Type: graphql.Boolean, Description: "true 只看已超期的未办结工单"},
		"phone":       {Type: graphql.String, Description: "诉求人电话（来电号码或联系电话），用于查看来电人历史"},
		"caller":      {Type: graphql.String, Description: "诉求人姓名"},
		"action": {Type: graphql.NewInputObject(graphql.InputObjectConfig{
			Name:        "TicketActionFilter",
			Description: "按办理动作筛选：如审核时间、审核人、退回次数",
			Fields: graphql.InputObjectConfigFieldMap{
				"name":    {Type: gql.NonNull(graphql.String), Description: "动作名"},
				"actor":   {Type: graphql.String, Description: "执行人用户名"},
				"from":    {Type: gql.Time, Description: "执行时间起（含）"},
				"to":      {Type: gql.Time, Description: "执行时间止（不含）"},
				"atLeast": {Type: graphql.Int, Description: "至少执行次数"},
			},
		})},
	},
})

var sortEnum = graphql.NewEnum(graphql.EnumConfig{
	Name: "TicketSort",
	Values: graphql.EnumValueConfigMap{
		"NEWEST":    {Value: SortNewest, Description: "登记时间从新到旧"},
		"OLDEST":    {Value: SortOldest, Description: "登记时间从旧到新"},
		"RELEVANCE": {Value: SortRelevance, Description: "相关度"},
		"DEADLINE":  {Value: SortDeadline, Description: "办理时限从近到远"},
	},
})

// FilterFrom reads a TicketFilter argument.
func FilterFrom(v any) (Filter, error) {
	var f Filter
	m, _ := v.(map[string]any)
	if m == nil {
		return f, nil
	}
	strs := func(k string) []string {
		var out []string
		for _, x := range asList(m[k]) {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	timeOf := func(m map[string]any, k string) *time.Time {
		if t, ok := m[k].(time.Time); ok {
			return &t
		}
		return nil
	}
	boolOf := func(k string) *bool {
		if b, ok := m[k].(bool); ok {
			return &b
		}
		return nil
	}
	f.States, f.Units = strs("states"), strs("units")
	f.CreatedFrom, f.CreatedTo = timeOf(m, "createdFrom"), timeOf(m, "createdTo")
	f.Open, f.Overdue = boolOf("open"), boolOf("overdue")
	f.Phone, _ = m["phone"].(string)
	f.Caller, _ = m["caller"].(string)
	facets, err := gql.ListsByName(m["facets"], "filter.facets")
	if err != nil {
		return f, err
	}
	f.Facets = facets
	if a, ok := m["action"].(map[string]any); ok {
		f.Action = &ActionFilter{From: timeOf(a, "from"), To: timeOf(a, "to")}
		f.Action.Name, _ = a["name"].(string)
		f.Action.Actor, _ = a["actor"].(string)
		f.Action.AtLeast, _ = a["atLeast"].(int)
	}
	return f, nil
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// searchFrom reads the arguments of a ticket list or search.
func searchFrom(args map[string]any) (Search, error) {
	page, err := gql.PageFrom(args)
	if err != nil {
		return Search{}, err
	}
	s := Search{First: page.First, After: page.After}
	s.Query, _ = args["query"].(string)
	if v, ok := args["sort"].(Sort); ok {
		s.Sort = v
	}
	s.Filter, err = FilterFrom(args["filter"])
	return s, err
}

// Module is ticket search's part of the GraphQL API: searchTickets,
// inTransit and similarTickets, returning the flow module's Ticket type.
type Module struct{ Searcher *Searcher }

// Name implements gql.Module.
func (Module) Name() string { return "ticketsearch" }

// Register implements gql.Module. It follows the flow module, whose
// Ticket type its results hold.
func (m Module) Register(b *gql.Builder) error {
	ticketType := b.Object("Ticket")
	m.registerSearch(b, ticketType)
	m.registerSimilar(b, ticketType)
	return nil
}

// registerSearch adds ticket search, the filtered list, and the
// in-transit hint.
func (m Module) registerSearch(b *gql.Builder, ticketType *graphql.Object) {
	sr := m.Searcher
	highlightType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "TicketHighlight",
		Description: "命中片段：匹配处以 <mark></mark> 标出，其余已做 HTML 转义",
		Fields: graphql.Fields{
			"field":    &graphql.Field{Type: gql.NonNull(graphql.String)},
			"label":    &graphql.Field{Type: gql.NonNull(graphql.String)},
			"fragment": &graphql.Field{Type: gql.NonNull(graphql.String)},
		},
	})
	facetValueType := graphql.NewObject(graphql.ObjectConfig{
		Name: "TicketFacetValue",
		Fields: graphql.Fields{
			"value": &graphql.Field{Type: gql.NonNull(graphql.String)},
			"label": &graphql.Field{Type: gql.NonNull(graphql.String)},
			"count": &graphql.Field{Type: gql.NonNull(graphql.Float), Description: "命中工单数"},
		},
	})
	facetType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "TicketFacet",
		Description: "筛选项及其各值的命中数",
		Fields: graphql.Fields{
			"name":   &graphql.Field{Type: gql.NonNull(graphql.String)},
			"label":  &graphql.Field{Type: gql.NonNull(graphql.String)},
			"values": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(facetValueType)))},
		},
	})
	hitType := graphql.NewObject(graphql.ObjectConfig{
		Name: "TicketHit",
		Fields: graphql.Fields{
			"cursor":     &graphql.Field{Type: gql.NonNull(graphql.String)},
			"node":       &graphql.Field{Type: gql.NonNull(ticketType)},
			"highlights": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(highlightType)))},
		},
	})
	// The request travels with the result, so totalCount and facets are
	// computed only when asked for: each touches every match.
	type result struct {
		principal *identity.Principal
		search    Search
		hits      []map[string]any
		hasNext   bool
		end       any
		count     func(context.Context) (int64, error)
	}
	resultType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "TicketSearchResult",
		Description: "工单检索结果",
		Fields: graphql.Fields{
			"edges": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(hitType))),
				Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(*result).hits, nil }},
			"pageInfo": &graphql.Field{Type: gql.NonNull(gql.PageInfo), Resolve: func(p graphql.ResolveParams) (any, error) {
				r := p.Source.(*result)
				return map[string]any{"hasNextPage": r.hasNext, "endCursor": r.end}, nil
			}},
			"totalCount": &graphql.Field{Type: gql.NonNull(graphql.Float), Description: "命中数，最多数到 10000（超过时为 10000，且 totalCountCapped 为真）；只在请求时计算",
				Resolve: func(p graphql.ResolveParams) (any, error) {
					n, err := p.Source.(*result).count(p.Context)
					return min(n, CountCap), err
				}},
			"totalCountCapped": &graphql.Field{Type: gql.NonNull(graphql.Boolean), Description: "命中超过 10000；此时 facets 按最新的 10000 条统计",
				Resolve: func(p graphql.ResolveParams) (any, error) {
					n, err := p.Source.(*result).count(p.Context)
					return n > CountCap, err
				}},
			"facets": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(facetType))), Description: "各筛选项的命中分布；names 缺省为全部",
				Args: graphql.FieldConfigArgument{"names": {Type: graphql.NewList(gql.NonNull(graphql.String))}},
				Resolve: func(p graphql.ResolveParams) (any, error) {
					r := p.Source.(*result)
					var names []string
					for _, n := range asList(p.Args["names"]) {
						names = append(names, n.(string))
					}
					return sr.FacetTickets(p.Context, r.principal, r.search, names)
				}},
		},
	})
	args := graphql.FieldConfigArgument{
		"query":  {Type: gql.NonNull(graphql.String), Description: "检索词：空格分隔的词须同时出现（按字面包含匹配，两个字即可）；\"…\" 内为一个词；-词 表示排除；空串只按筛选条件列出"},
		"filter": {Type: FilterInput},
		"sort":   {Type: sortEnum, DefaultValue: SortNewest},
	}
	for k, v := range gql.PageArgs {
		args[k] = v
	}
	b.MaxLength("Query.searchTickets(query:)", MaxQueryLength)
	b.Query("searchTickets", &graphql.Field{Type: gql.NonNull(resultType), Args: args,
		Description: "工单检索与列表：全文、筛选、命中分布和高亮，只含当前用户数据范围内的工单，提交即可检索到",
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			s, err := searchFrom(args)
			if err != nil {
				return nil, err
			}
			hits, err := sr.SearchTickets(ctx, p, s)
			if err != nil {
				return nil, err
			}
			d := sr.Tickets.Disclosure(p)
			for i := range hits {
				hits[i].Highlights = disclosed(d, &hits[i].Ticket, hits[i].Highlights)
			}
			r := &result{principal: p, search: s, hasNext: len(hits) > s.First}
			var once sync.Once
			var n int64
			var countErr error
			r.count = func(ctx context.Context) (int64, error) {
				once.Do(func() { n, countErr = sr.CountTickets(ctx, p, s, CountCap+1) })
				return n, countErr
			}
			if r.hasNext {
				hits = hits[:s.First]
			}
			for i, h := range hits {
				pos := h.ID
				if s.Sort == SortRelevance || s.Sort == SortDeadline {
					pos = s.After + int64(i) + 1
				}
				c := gql.Cursor(pos)
				r.hits = append(r.hits, map[string]any{"cursor": c, "node": h.Ticket, "highlights": orEmptyList(h.Highlights)})
				r.end = c
			}
			if r.hits == nil {
				r.hits = []map[string]any{}
			}
			return r, nil
		})})

	inTransitType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "InTransitTicket",
		Description: "在途工单：同一来电人未办结的工单",
		Fields: graphql.Fields{
			"ticket":    &graphql.Field{Type: gql.NonNull(ticketType)},
			"matchedBy": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(graphql.String))), Description: "phone、name 或 address"},
		},
	})
	b.MaxLength("Query.inTransit(address:)", MaxQueryLength)
	b.Query("inTransit", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(inTransitType))),
		Description: "在途提示：与来电号码、诉求人姓名或地址相符的未办结工单（最多 20 条，新的在前）",
		Args:        graphql.FieldConfigArgument{"phone": {Type: graphql.String}, "name": {Type: graphql.String}, "address": {Type: graphql.String}},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			str := func(k string) string { v, _ := args[k].(string); return v }
			return sr.InTransit(ctx, p, str("phone"), str("name"), str("address"))
		})})
}

func (m Module) registerSimilar(b *gql.Builder, ticketType *graphql.Object) {
	sr := m.Searcher
	similarType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "SimilarTicket",
		Description: "相似的在途工单（可能重复，或同一地点同类诉求聚集）",
		Fields: graphql.Fields{
			"ticket": &graphql.Field{Type: gql.NonNull(ticketType)},
			"score":  &graphql.Field{Type: gql.NonNull(graphql.Float), Description: "内容相似度，0 到 1"},
			"shared": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(graphql.String))), Description: "相同的筛选项，如 address.street=150105001"},
		},
	})
	b.Query("similarTickets", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(similarType))),
		Description: "登记时提示相似的在途工单：近 days 天内与 facets 任一项相同（如同一街道、同一归口分类）的未办结工单，按内容相似度排序",
		Args: graphql.FieldConfigArgument{
			"text":   {Type: gql.NonNull(graphql.String), Description: "标题和诉求内容"},
			"facets": {Type: gql.JSON, Description: `如 {"address.street": "150105001", "category": "0103"}`},
			"days":   {Type: graphql.Int, DefaultValue: 30},
			"first":  {Type: graphql.Int, DefaultValue: 5},
		},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			facets := map[string]string{}
			if raw, ok := args["facets"].(map[string]any); ok {
				for k, v := range raw {
					s, ok := v.(string)
					if !ok {
						return nil, gql.FieldError("facets", "筛选项 %s 的值须为字符串", k)
					}
					facets[k] = s
				}
			}
			return sr.Similar(ctx, p, args["text"].(string), facets, args["days"].(int), min(args["first"].(int), 50))
		})})
}

func orEmptyList[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
