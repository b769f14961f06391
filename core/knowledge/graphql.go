package knowledge

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/language/ast"

	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/module"
)

// Module is the knowledge base's part of the GraphQL API. Writing,
// reviewing and archiving articles are actions of the article flow
// (createTicket / performAction on flow kb_article); this is reading. The
// module also serves imports over HTTP and runs the node's index
// (module.go).
type Module struct {
	Service *Service
	// Tick is how often Start's catch-up runs.
	Tick time.Duration
	jobs *module.Jobs
}

// Name implements gql.Module.
func (Module) Name() string { return "knowledge" }

// Register implements gql.Module.
func (m Module) Register(b *gql.Builder) error {
	s := m.Service
	articleType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "KnowledgeArticle",
		Description: "已发布的知识（读者所见的发布版本；草稿和修订是知识流程 kb_article 的工单）",
		Fields: graphql.Fields{
			"id":            &graphql.Field{Type: gql.NonNull(graphql.ID), Description: "知识编号（即其流程工单的编号 id）"},
			"version":       &graphql.Field{Type: gql.NonNull(graphql.Int), Description: "发布版本号"},
			"title":         &graphql.Field{Type: gql.NonNull(graphql.String)},
			"keywords":      &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(graphql.String)))},
			"fields":        &graphql.Field{Type: gql.NonNull(gql.JSON), Description: "知识表单的字段值（正文为已净化的 HTML）"},
			"unit":          &graphql.Field{Type: gql.NonNull(graphql.String), Description: "所属单位编码"},
			"effectiveFrom": &graphql.Field{Type: gql.Time},
			"expiresAt":     &graphql.Field{Type: gql.Time},
			"publishedAt":   &graphql.Field{Type: gql.NonNull(gql.Time)},
			"publishedBy":   &graphql.Field{Type: gql.NonNull(graphql.String)},
			"clicks":        &graphql.Field{Type: gql.NonNull(graphql.Float), Description: "点击次数"},
			"rating":        &graphql.Field{Type: gql.NonNull(graphql.Float), Description: "平均评分（无评分为 0）"},
			"ratings":       &graphql.Field{Type: gql.NonNull(graphql.Int), Description: "评分人数"},
		},
	})
	articleType.AddFieldConfig("related", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(articleType))),
		Description: "相关知识：编辑指定的在前，其后为标题和关键字相近的",
		Args:        graphql.FieldConfigArgument{"first": {Type: graphql.Int, DefaultValue: 5}},
		Resolve: identity.Resolve(func(ctx context.Context, _ *identity.Principal, args map[string]any, src any) (any, error) {
			n, _ := args["first"].(int)
			return s.Related(ctx, src.(Article), min(max(n, 1), 20))
		})})
	fileType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "KnowledgeFile",
		Description: "知识的附件：任何读者可经 GET /attachments/{id} 下载",
		Fields: graphql.Fields{
			"id":            &graphql.Field{Type: gql.NonNull(graphql.ID)},
			"name":          &graphql.Field{Type: gql.NonNull(graphql.String)},
			"size":          &graphql.Field{Type: gql.NonNull(graphql.Float)},
			"mediaType":     &graphql.Field{Type: gql.NonNull(graphql.String)},
			"textExtracted": &graphql.Field{Type: gql.NonNull(graphql.Boolean), Description: "文字是否已提取并可被搜索"},
			"reason":        &graphql.Field{Type: gql.NonNull(graphql.String), Description: "未提取文字的原因"},
		},
	})
	articleType.AddFieldConfig("files", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(fileType))),
		Resolve: identity.Resolve(func(ctx context.Context, _ *identity.Principal, _ map[string]any, src any) (any, error) {
			return s.FilesOf(ctx, src.(Article).ID)
		})})
	versionType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "KnowledgeVersion",
		Description: "知识的一个发布版本",
		Fields: graphql.Fields{
			"version":     &graphql.Field{Type: gql.NonNull(graphql.Int)},
			"note":        &graphql.Field{Type: gql.NonNull(graphql.String), Description: "发布说明"},
			"publishedBy": &graphql.Field{Type: gql.NonNull(graphql.String)},
			"publishedAt": &graphql.Field{Type: gql.NonNull(gql.Time)},
			"fields":      &graphql.Field{Type: gql.NonNull(gql.JSON)},
		},
	})
	changeType := graphql.NewObject(graphql.ObjectConfig{
		Name: "KnowledgeChange",
		Fields: graphql.Fields{
			"field":  &graphql.Field{Type: gql.NonNull(graphql.String)},
			"label":  &graphql.Field{Type: gql.NonNull(graphql.String)},
			"before": &graphql.Field{Type: gql.NonNull(graphql.String)},
			"after":  &graphql.Field{Type: gql.NonNull(graphql.String)},
		},
	})
	diffType := graphql.NewObject(graphql.ObjectConfig{
		Name: "KnowledgeDiff",
		Fields: graphql.Fields{
			"changes": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(changeType))), Description: "有变化的字段"},
			"unified": &graphql.Field{Type: gql.NonNull(graphql.String), Description: "全文的统一格式差异 (unified diff)"},
		},
	})
	b.Query("knowledgeVersions", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(versionType))), Description: "知识的发布版本，新的在前",
		Args: graphql.FieldConfigArgument{"id": {Type: gql.NonNull(graphql.ID)}},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			id, err := gql.ID(args, "id")
			if err != nil {
				return nil, err
			}
			if err := s.canReadHistory(ctx, p, id); err != nil {
				return nil, err
			}
			return s.Versions(ctx, id)
		})})
	b.Query("knowledgeDiff", &graphql.Field{Type: gql.NonNull(diffType), Description: "比较知识的两个发布版本",
		Args: graphql.FieldConfigArgument{"id": {Type: gql.NonNull(graphql.ID)}, "from": {Type: gql.NonNull(graphql.Int)}, "to": {Type: gql.NonNull(graphql.Int)}},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			id, err := gql.ID(args, "id")
			if err != nil {
				return nil, err
			}
			if err := s.canReadHistory(ctx, p, id); err != nil {
				return nil, err
			}
			changes, unified, err := s.Diff(ctx, id, args["from"].(int), args["to"].(int))
			if err != nil {
				return nil, err
			}
			return map[string]any{"changes": changes, "unified": unified}, nil
		})})
	highlightType := graphql.NewObject(graphql.ObjectConfig{
		Name: "KnowledgeHighlight",
		Fields: graphql.Fields{
			"field":    &graphql.Field{Type: gql.NonNull(graphql.String)},
			"fragment": &graphql.Field{Type: gql.NonNull(graphql.String), Description: "命中处的片段，匹配词以 <mark> 标出，其余已转义"},
		},
	})
	hitType := graphql.NewObject(graphql.ObjectConfig{
		Name: "KnowledgeHit",
		Fields: graphql.Fields{
			"article":    &graphql.Field{Type: gql.NonNull(articleType)},
			"score":      &graphql.Field{Type: gql.NonNull(graphql.Float), Description: "相关度"},
			"highlights": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(highlightType)))},
		},
	})
	facetType := graphql.NewObject(graphql.ObjectConfig{
		Name: "KnowledgeFacetCount",
		Fields: graphql.Fields{
			"field": &graphql.Field{Type: gql.NonNull(graphql.String)},
			"value": &graphql.Field{Type: gql.NonNull(graphql.String)},
			"label": &graphql.Field{Type: gql.NonNull(graphql.String)},
			"count": &graphql.Field{Type: gql.NonNull(graphql.Int)},
		},
	})
	resultType := graphql.NewObject(graphql.ObjectConfig{
		Name: "KnowledgeSearchResult",
		Fields: graphql.Fields{
			"hits":       &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(hitType)))},
			"totalCount": &graphql.Field{Type: gql.NonNull(graphql.Int)},
			"facets":     &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(facetType))), Description: "各分类的命中数（树形分类的上级含下级）"},
			"endCursor":  &graphql.Field{Type: graphql.String, Description: "下一页的 after；没有下一页时为空"},
		},
	})
	filterType := graphql.NewInputObject(graphql.InputObjectConfig{
		Name: "KnowledgeFilter",
		Fields: graphql.InputObjectConfigFieldMap{
			"facets":         {Type: gql.JSON, Description: `分类筛选，如 {"topic": ["0101"], "kind": ["办事指南"]}`},
			"units":          {Type: graphql.NewList(gql.NonNull(graphql.String)), Description: "所属单位编码"},
			"within":         {Type: graphql.NewList(gql.NonNull(graphql.String)), Description: "二次检索：在这些先前搜索的结果中搜索"},
			"fuzzy":          {Type: graphql.Boolean, Description: "模糊搜索：含任一词语片段即命中，按相关度排序"},
			"includeExpired": {Type: graphql.Boolean, Description: "包括未生效和已失效的知识（编辑用）"},
		},
	})
	sortType := graphql.NewEnum(graphql.EnumConfig{
		Name: "KnowledgeSort",
		Values: graphql.EnumValueConfigMap{
			"RELEVANCE": {Value: SortRelevance, Description: "相关度"},
			"UPDATED":   {Value: SortUpdated, Description: "更新时间"},
			"CLICKS":    {Value: SortClicks, Description: "点击量"},
			"RATING":    {Value: SortRating, Description: "评分"},
			"HOT":       {Value: SortHot, Description: "近 7 天热度"},
		},
	})
	suggestionType := graphql.NewObject(graphql.ObjectConfig{
		Name: "KnowledgeSuggestion",
		Fields: graphql.Fields{
			"text":     &graphql.Field{Type: gql.NonNull(graphql.String)},
			"kind":     &graphql.Field{Type: gql.NonNull(graphql.String), Description: "keyword（关键字）或 title（标题）"},
			"article":  &graphql.Field{Type: graphql.ID, Description: "标题所属的知识", Resolve: func(p graphql.ResolveParams) (any, error) { return nullID(p.Source.(Suggestion).Article), nil }},
			"articles": &graphql.Field{Type: gql.NonNull(graphql.Int), Description: "带此关键字的知识数"},
		},
	})
	hotType := graphql.NewObject(graphql.ObjectConfig{
		Name: "KnowledgeHot",
		Fields: graphql.Fields{
			"id":     &graphql.Field{Type: gql.NonNull(graphql.ID)},
			"title":  &graphql.Field{Type: gql.NonNull(graphql.String)},
			"clicks": &graphql.Field{Type: gql.NonNull(graphql.Float), Description: "期间点击数"},
		},
	})

	ratingType := graphql.NewObject(graphql.ObjectConfig{
		Name: "KnowledgeRating",
		Fields: graphql.Fields{
			"user":    &graphql.Field{Type: gql.NonNull(graphql.String)},
			"score":   &graphql.Field{Type: gql.NonNull(graphql.Float), Description: "各项评价标准的平均分"},
			"input":   &graphql.Field{Type: gql.NonNull(gql.JSON), Description: "按评价表单（知识库配置的 rating_form）填写的各项分数和意见"},
			"ratedAt": &graphql.Field{Type: gql.NonNull(gql.Time)},
		},
	})
	folderType := graphql.NewObject(graphql.ObjectConfig{
		Name: "KnowledgeFolder",
		Fields: graphql.Fields{
			"id":     &graphql.Field{Type: gql.NonNull(graphql.ID)},
			"parent": &graphql.Field{Type: graphql.ID, Resolve: func(p graphql.ResolveParams) (any, error) { return optionalID(p.Source.(Folder).Parent), nil }},
			"name":   &graphql.Field{Type: gql.NonNull(graphql.String)},
		},
	})
	favoriteType := graphql.NewObject(graphql.ObjectConfig{
		Name: "KnowledgeFavorite",
		Fields: graphql.Fields{
			"article": &graphql.Field{Type: gql.NonNull(articleType)},
			"folder":  &graphql.Field{Type: graphql.ID, Resolve: func(p graphql.ResolveParams) (any, error) { return optionalID(p.Source.(Favorite).Folder), nil }},
			"addedAt": &graphql.Field{Type: gql.NonNull(gql.Time)},
		},
	})
	citationType := graphql.NewObject(graphql.ObjectConfig{
		Name: "KnowledgeCitation",
		Fields: graphql.Fields{
			"article": &graphql.Field{Type: gql.NonNull(articleType), Description: "所引用的知识（当前发布版本；已下架的只有编号）"},
			"version": &graphql.Field{Type: gql.NonNull(graphql.Int), Description: "引用时的发布版本"},
			"citedBy": &graphql.Field{Type: gql.NonNull(graphql.String)},
		},
	})
	b.Query("knowledgeCitations", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(citationType))),
		Description: "工单答复引用的知识（由流程动作的 knowledge.cite 记录，如直接答复、引用知识）",
		Args:        graphql.FieldConfigArgument{"ticketId": {Type: gql.NonNull(graphql.ID)}},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			id, err := gql.ID(args, "ticketId")
			if err != nil {
				return nil, err
			}
			return s.Citations(ctx, p, id)
		})})
	b.Query("knowledgeRatings", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(ratingType))), Description: "一篇知识的评价，新的在前",
		Args: graphql.FieldConfigArgument{"id": {Type: gql.NonNull(graphql.ID)}},
		Resolve: identity.Resolve(func(ctx context.Context, _ *identity.Principal, args map[string]any, _ any) (any, error) {
			id, err := gql.ID(args, "id")
			if err != nil {
				return nil, err
			}
			return s.Ratings(ctx, id)
		})})
	b.Mutation("rateKnowledge", &graphql.Field{Type: gql.NonNull(articleType), Description: "按评价表单（知识库配置的 rating_form）评价知识；再次评价替换本人先前的评价",
		Args: graphql.FieldConfigArgument{"id": {Type: gql.NonNull(graphql.ID)}, "input": {Type: gql.NonNull(gql.JSON)}},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			id, err := gql.ID(args, "id")
			if err != nil {
				return nil, err
			}
			input, ok := args["input"].(map[string]any)
			if !ok {
				return nil, gql.FieldError("input", "input 须为 JSON 对象")
			}
			return s.Rate(ctx, p, id, input)
		})})
	correctionType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "KnowledgeCorrection",
		Description: "读者提问纠错所用的创建动作（知识库配置的 correction）",
		Fields: graphql.Fields{
			"flow":        &graphql.Field{Type: gql.NonNull(graphql.String)},
			"action":      &graphql.Field{Type: gql.NonNull(graphql.String)},
			"actionLabel": &graphql.Field{Type: gql.NonNull(graphql.String)},
			"form":        &graphql.Field{Type: gql.NonNull(graphql.String), Description: "动作的表单"},
			"article":     &graphql.Field{Type: gql.NonNull(graphql.String), Description: "填知识编号的字段（可为空）"},
			"query":       &graphql.Field{Type: gql.NonNull(graphql.String), Description: "填搜索词的字段（可为空）"},
		},
	})
	baseType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "KnowledgeBase",
		Description: "知识库的设置（kind: knowledge），供界面使用",
		Fields: graphql.Fields{
			"label":        &graphql.Field{Type: gql.NonNull(graphql.String)},
			"ratingForm":   &graphql.Field{Type: graphql.String, Description: "评价表单；为空时不能评价"},
			"articleForms": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(graphql.String))), Description: "知识正文所用的表单（据此显示字段名称）"},
			"correction":   &graphql.Field{Type: correctionType, Description: "提问纠错；为空时不能纠错"},
		},
	})
	b.Query("knowledgeBase", &graphql.Field{Type: gql.NonNull(baseType), Description: "知识库的设置：评价表单、知识表单和提问纠错的动作",
		Resolve: identity.Resolve(func(ctx context.Context, _ *identity.Principal, _ map[string]any, _ any) (any, error) {
			k := s.settings()
			out := map[string]any{"label": k.Label, "ratingForm": nil, "correction": nil}
			if k.RatingForm != nil {
				out["ratingForm"] = k.RatingForm.Name
			}
			var forms []string
			for _, ak := range articleFlows(s.Config.Current()) {
				if ak.form != nil && !slices.Contains(forms, ak.form.Name) {
					forms = append(forms, ak.form.Name)
				}
			}
			out["articleForms"] = forms
			if c := k.Correction; c != nil {
				out["correction"] = map[string]any{"flow": c.Flow.Name, "action": c.Action, "actionLabel": c.label, "form": c.form, "article": c.Article, "query": c.Query}
			}
			return out, nil
		})})
	b.Query("knowledgeFolders", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(folderType))), Description: "本人的收藏夹目录（上级在前）",
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, _ map[string]any, _ any) (any, error) {
			return s.Folders(ctx, p)
		})})
	b.Query("knowledgeFavorites", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(favoriteType))), Description: "本人收藏的知识；给出 folder 时只列该收藏夹",
		Args: graphql.FieldConfigArgument{"folder": {Type: graphql.ID}},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			folder, err := optionalIDArg(args, "folder")
			if err != nil {
				return nil, err
			}
			return s.Favorites(ctx, p, folder)
		})})
	b.Mutation("createKnowledgeFolder", &graphql.Field{Type: gql.NonNull(folderType), Description: "新建收藏夹，可放在 parent 之下",
		Args: graphql.FieldConfigArgument{"name": {Type: gql.NonNull(graphql.String)}, "parent": {Type: graphql.ID}},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			parent, err := optionalIDArg(args, "parent")
			if err != nil {
				return nil, err
			}
			return s.CreateFolder(ctx, p, parent, args["name"].(string))
		})})
	b.Mutation("deleteKnowledgeFolder", &graphql.Field{Type: gql.NonNull(graphql.Boolean), Description: "删除收藏夹及其下级收藏夹；其中的收藏移到顶层",
		Args: graphql.FieldConfigArgument{"id": {Type: gql.NonNull(graphql.ID)}},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			id, err := gql.ID(args, "id")
			if err != nil {
				return nil, err
			}
			return true, s.DeleteFolder(ctx, p, id)
		})})
	b.Mutation("favoriteKnowledge", &graphql.Field{Type: gql.NonNull(graphql.Boolean), Description: "收藏知识（放入 folder，缺省为顶层）；已收藏的移到 folder",
		Args: graphql.FieldConfigArgument{"id": {Type: gql.NonNull(graphql.ID)}, "folder": {Type: graphql.ID}},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			id, err := gql.ID(args, "id")
			if err != nil {
				return nil, err
			}
			folder, err := optionalIDArg(args, "folder")
			if err != nil {
				return nil, err
			}
			return true, s.Favor(ctx, p, id, folder)
		})})
	b.Mutation("unfavoriteKnowledge", &graphql.Field{Type: gql.NonNull(graphql.Boolean), Description: "取消收藏",
		Args: graphql.FieldConfigArgument{"id": {Type: gql.NonNull(graphql.ID)}},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			id, err := gql.ID(args, "id")
			if err != nil {
				return nil, err
			}
			return true, s.Unfavor(ctx, p, id)
		})})

	b.Query("searchKnowledge", &graphql.Field{Type: gql.NonNull(resultType),
		Description: "搜索已发布且在有效期内的知识：词语以空格分隔须全部出现，\"引号\" 内为短语，-词 排除；两个字即可搜索",
		Args: graphql.FieldConfigArgument{
			"query":  {Type: gql.NonNull(graphql.String)},
			"filter": {Type: filterType},
			"sort":   {Type: sortType, Description: "缺省：有搜索词按相关度，否则按更新时间"},
			"first":  {Type: graphql.Int, Description: "每页条数，默认 20，最多 200"},
			"after":  {Type: graphql.String},
		},
		Resolve: func(rp graphql.ResolveParams) (any, error) {
			return identity.Resolve(func(ctx context.Context, _ *identity.Principal, args map[string]any, _ any) (any, error) {
				sr := Search{Text: args["query"].(string), Facets: selects(rp, "facets")}
				if err := CheckQuery("query", sr.Text); err != nil {
					return nil, err
				}
				sr.Sort, _ = args["sort"].(string)
				if f, ok := args["first"].(int); ok {
					if f < 1 || f > 200 {
						return nil, gql.FieldError("first", "first 须在 1 到 200 之间")
					}
					sr.First = f
				}
				page, err := gql.PageFrom(map[string]any{"after": args["after"]})
				if err != nil {
					return nil, err
				}
				sr.Offset = int(page.After)
				if fm, ok := args["filter"].(map[string]any); ok {
					if sr.Filter, err = filterFrom(fm); err != nil {
						return nil, err
					}
				}
				if len(sr.Filter.Within) > maxWithin {
					return nil, gql.FieldError("filter.within", "二次检索最多 %d 层", maxWithin)
				}
				for i, w := range sr.Filter.Within {
					if err := CheckQuery(fmt.Sprintf("filter.within[%d]", i), w); err != nil {
						return nil, err
					}
				}
				res, err := s.Search(ctx, sr)
				if err != nil {
					return nil, err
				}
				var end any
				if next := sr.Offset + len(res.Hits); next < res.Total && len(res.Hits) > 0 {
					end = gql.Cursor(int64(next))
				}
				return map[string]any{"hits": res.Hits, "totalCount": res.Total, "facets": res.Facets, "endCursor": end}, nil
			})(rp)
		}})
	b.Query("suggestKnowledge", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(suggestionType))),
		Description: "关键字联想：以输入开头的关键字和标题在前，其次为包含输入的，按阅读量排序",
		Args: graphql.FieldConfigArgument{
			"prefix": {Type: gql.NonNull(graphql.String)},
			"first":  {Type: graphql.Int, DefaultValue: 10},
		},
		Resolve: identity.Resolve(func(_ context.Context, _ *identity.Principal, args map[string]any, _ any) (any, error) {
			n, _ := args["first"].(int)
			prefix := args["prefix"].(string)
			if c := utf8.RuneCountInString(prefix); c > MaxSuggestPrefix {
				return nil, &gql.Error{Code: gql.BadUserInput, Field: "prefix", Extra: map[string]any{"limit": "maxLength", "max": MaxSuggestPrefix},
					Message: fmt.Sprintf("联想的输入过长：%d 个字符，最多 %d 个", c, MaxSuggestPrefix)}
			}
			return s.Suggest(prefix, min(max(n, 1), 50)), nil
		})})
	// Refused before any resolver runs; the resolvers check again for
	// callers that bypass the transport.
	b.MaxLength("Query.searchKnowledge(query:)", MaxQueryLength)
	b.MaxLength("Query.suggestKnowledge(prefix:)", MaxSuggestPrefix)
	b.Query("knowledgeArticle", &graphql.Field{Type: gql.NonNull(articleType),
		Description: "读取一篇已发布的知识；click 为真（默认）时计一次点击",
		Args: graphql.FieldConfigArgument{
			"id":    {Type: gql.NonNull(graphql.ID)},
			"click": {Type: graphql.Boolean, DefaultValue: true},
		},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			id, err := gql.ID(args, "id")
			if err != nil {
				return nil, err
			}
			a, err := s.Get(ctx, id, false)
			if err != nil {
				return nil, err
			}
			if !a.InEffect(s.today()) && !p.Can(PermEdit) {
				return nil, gql.Errorf(gql.NotFound, "知识 %d 不在有效期内", id)
			}
			if click, _ := args["click"].(bool); click {
				s.Click(id)
			}
			return a, nil
		})})
	problemType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "KnowledgeImportProblem",
		Description: "导入文件中一行（或一格）的问题",
		Fields: graphql.Fields{
			"row":     &graphql.Field{Type: gql.NonNull(graphql.Int), Description: "行号（第 1 行为列名）"},
			"column":  &graphql.Field{Type: gql.NonNull(graphql.String), Description: "列字母，整行的问题为空"},
			"message": &graphql.Field{Type: gql.NonNull(graphql.String)},
		},
	})
	importResultType := graphql.NewObject(graphql.ObjectConfig{
		Name: "KnowledgeImportResult",
		Fields: graphql.Fields{
			"rows":     &graphql.Field{Type: gql.NonNull(graphql.Int), Description: "文件中的数据行数（空行不计）"},
			"imported": &graphql.Field{Type: gql.NonNull(graphql.Int), Description: "导入（新建或更新）的知识数"},
			"ids":      &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(graphql.ID))), Description: "导入的知识（草稿工单）编号"},
			"problems": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(problemType)))},
		},
	})
	importJobType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "KnowledgeImportJob",
		Description: "知识批量导入任务：POST /knowledge/import 上传模板文件后在后台执行",
		Fields: graphql.Fields{
			"id":         &graphql.Field{Type: gql.NonNull(graphql.ID)},
			"fileName":   &graphql.Field{Type: gql.NonNull(graphql.String)},
			"state":      &graphql.Field{Type: gql.NonNull(graphql.String), Description: "running、done 或 failed"},
			"phase":      &graphql.Field{Type: gql.NonNull(graphql.String), Description: "checking（逐行校验）或 writing（逐条写入）"},
			"total":      &graphql.Field{Type: gql.NonNull(graphql.Int), Description: "本阶段的总行数"},
			"done":       &graphql.Field{Type: gql.NonNull(graphql.Int), Description: "本阶段已处理的行数"},
			"imported":   &graphql.Field{Type: gql.NonNull(graphql.Int)},
			"result":     &graphql.Field{Type: importResultType, Description: "结束后的结果：有错误的文件未选择只导入正确行时什么也不导入"},
			"error":      &graphql.Field{Type: graphql.String},
			"createdAt":  &graphql.Field{Type: gql.NonNull(gql.Time)},
			"finishedAt": &graphql.Field{Type: gql.Time},
		},
	})
	b.Query("knowledgeImport", &graphql.Field{Type: gql.NonNull(importJobType), Description: "本人的一个知识导入任务及其进度",
		Args: graphql.FieldConfigArgument{"id": {Type: gql.NonNull(graphql.ID)}},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			id, err := gql.ID(args, "id")
			if err != nil {
				return nil, err
			}
			return s.ImportJobOf(ctx, p, id)
		})})
	b.Query("knowledgeImports", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(importJobType))), Description: "本人最近的知识导入任务，新的在前",
		Args: graphql.FieldConfigArgument{"first": {Type: graphql.Int, DefaultValue: 20}},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			n, _ := args["first"].(int)
			return s.ImportJobs(ctx, p, min(max(n, 1), 100))
		})})
	b.Query("hotKnowledge", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(hotType))),
		Description: "热点排行：近 days 天点击最多的知识",
		Args: graphql.FieldConfigArgument{
			"days":  {Type: graphql.Int, DefaultValue: HotDays},
			"first": {Type: graphql.Int, DefaultValue: 10},
		},
		Resolve: identity.Resolve(func(ctx context.Context, _ *identity.Principal, args map[string]any, _ any) (any, error) {
			days, _ := args["days"].(int)
			n, _ := args["first"].(int)
			return s.Hot(ctx, min(max(days, 1), 366), min(max(n, 1), 100))
		})})
	return nil
}

// canReadHistory lets every reader see the versions of a published
// article, and only editors those of one withdrawn.
func (s *Service) canReadHistory(ctx context.Context, p *identity.Principal, id int64) error {
	if p.Can(PermEdit) {
		return nil
	}
	_, err := s.Get(ctx, id, false)
	return err
}

// selects reports whether the query asks for field of the result.
func selects(rp graphql.ResolveParams, field string) bool {
	for _, f := range rp.Info.FieldASTs {
		if f.SelectionSet == nil {
			continue
		}
		for _, sel := range f.SelectionSet.Selections {
			if af, ok := sel.(*ast.Field); ok && af.Name != nil && af.Name.Value == field {
				return true
			}
		}
	}
	return false
}

func optionalID(id *int64) any {
	if id == nil {
		return nil
	}
	return *id
}

func optionalIDArg(args map[string]any, name string) (*int64, error) {
	if v, ok := args[name]; !ok || v == nil {
		return nil, nil
	}
	id, err := gql.ID(args, name)
	if err != nil {
		return nil, err
	}
	return &id, nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func filterFrom(m map[string]any) (Filter, error) {
	var f Filter
	strs := func(name string) []string {
		var out []string
		if l, ok := m[name].([]any); ok {
			for _, x := range l {
				if s, ok := x.(string); ok && strings.TrimSpace(s) != "" {
					out = append(out, s)
				}
			}
		}
		return out
	}
	f.Units, f.Within = strs("units"), strs("within")
	f.Fuzzy, _ = m["fuzzy"].(bool)
	f.IncludeExpired, _ = m["includeExpired"].(bool)
	facets, err := gql.ListsByName(m["facets"], "filter.facets")
	if err != nil {
		return f, err
	}
	f.Facets = facets
	return f, nil
}
