package dispatch

import (
	"context"

	"github.com/graphql-go/graphql"

	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
)

// Module is the dispatch suggestion's part of the GraphQL API.
type Module struct{ Suggester *Suggester }

// Name implements gql.Module.
func (Module) Name() string { return "dispatch" }

// Register implements gql.Module.
func (m Module) Register(b *gql.Builder) error {
	s := m.Suggester
	suggestionType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "UnitSuggestion",
		Description: "按权责清单建议的承办单位",
		Fields: graphql.Fields{
			"unitCode": &graphql.Field{Type: gql.NonNull(graphql.String)},
			"unitName": &graphql.Field{Type: gql.NonNull(graphql.String)},
			"category": &graphql.Field{Type: gql.NonNull(graphql.String)},
			"reason":   &graphql.Field{Type: gql.NonNull(graphql.String)},
		},
	})
	b.Query("suggestUnits", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(suggestionType))), Description: "派单建议：按归口分类或诉求内容中的关键词查权责清单",
		Args: graphql.FieldConfigArgument{
			"category": {Type: graphql.String, Description: "归口分类"},
			"text":     {Type: graphql.String, Description: "标题和诉求内容"},
			"address":  {Type: gql.JSON, Description: `诉求地址：各级区划的单位编码，键为权责清单所用区划的层级，如 {"district": "150105", "street": "150105001"}`},
			"ticket":   {Type: graphql.ID, Description: "按这张工单的诉求内容和地址建议（给出时不看其余参数）"},
		},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			str := func(k string) string { v, _ := args[k].(string); return v }
			if _, ok := args["ticket"]; ok {
				id, err := gql.ID(args, "ticket")
				if err != nil {
					return nil, err
				}
				t, err := s.Tickets.Get(ctx, p, id)
				if err != nil {
					return nil, err
				}
				return s.SuggestFor(ctx, t)
			}
			address, ok := args["address"].(map[string]any)
			if args["address"] != nil && !ok {
				return nil, gql.FieldError("address", "address 须为 JSON 对象，如 {\"district\": \"150105\"}")
			}
			return s.Suggest(ctx, str("category"), str("text"), address)
		})})
	return nil
}
