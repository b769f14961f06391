package workbench

import (
	"context"

	"github.com/graphql-go/graphql"

	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/registry"
)

// Module adds myWorkbench to the schema.
type Module struct {
	Config *registry.Runtime
}

// Name implements gql.Module.
func (Module) Name() string { return "workbench" }

// Register implements gql.Module.
func (m Module) Register(b *gql.Builder) error {
	str := gql.NonNull(graphql.String)
	opt := func(desc string, get func(Entry) string) *graphql.Field {
		return &graphql.Field{Type: graphql.String, Description: desc, Resolve: func(p graphql.ResolveParams) (any, error) {
			if v := get(p.Source.(Entry)); v != "" {
				return v, nil
			}
			return nil, nil
		}}
	}
	entry := graphql.NewObject(graphql.ObjectConfig{
		Name: "WorkbenchEntry", Description: "工作台菜单项：界面的一个页面及其参数（工单列表即待办的保存查询）",
		Fields: graphql.Fields{
			"name":  &graphql.Field{Type: str, Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Entry).Name, nil }},
			"label": &graphql.Field{Type: str, Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Entry).Label, nil }},
			"page":  &graphql.Field{Type: str, Description: "tickets 工单列表、notices 通知、search 工单查询、register 登记", Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Entry).Page, nil }},
			"flow":  opt("只列该流程的工单（登记页：创建动作所属的流程）", func(e Entry) string { return e.Flow.Name }),
			"state": opt("只列该流程中处于此状态的工单", func(e Entry) string { return e.State }),
			"due":   opt("overdue 已超期、near 即将超期、step_overdue 超环节时限", func(e Entry) string { return e.Due }),
			"form":  opt("列名所取的表单（登记页：所填的表单）", func(e Entry) string { return e.Form.Name }),
			"cite":  opt("登记页：显示知识侧栏，引用的知识编号写入表单的这一字段", func(e Entry) string { return e.Cite }),
			"group": opt("菜单分组：同组的相邻菜单项折叠在此标题下", func(e Entry) string { return e.Group }),
			"columns": &graphql.Field{Type: gql.NonNull(graphql.NewList(str)), Description: "作为列显示的表单字段，第一个为标题",
				Resolve: func(p graphql.ResolveParams) (any, error) {
					if c := p.Source.(Entry).Columns; c != nil {
						return c, nil
					}
					return []string{}, nil
				}},
			"facets": &graphql.Field{Type: gql.NonNull(graphql.NewList(str)), Description: "search：提供的筛选项（searchTickets 的 facets 名），缺省为表单的全部筛选字段及状态、承办单位",
				Resolve: func(p graphql.ResolveParams) (any, error) {
					if f := EntryFacets(m.Config.Current(), p.Source.(Entry)); f != nil {
						return f, nil
					}
					return []string{}, nil
				}},
		},
	})
	action := graphql.NewObject(graphql.ObjectConfig{
		Name: "WorkbenchAction", Description: "登记页提供的创建动作（按钮），取自流程",
		Fields: graphql.Fields{
			"name":  &graphql.Field{Type: str, Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(CreateAction).Name, nil }},
			"label": &graphql.Field{Type: str, Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(CreateAction).Label, nil }},
			"draft": &graphql.Field{Type: gql.NonNull(graphql.Boolean), Description: "暂存：以 createTicket(draft: true) 保存，只检查已填内容",
				Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(CreateAction).Draft, nil }},
			"required": &graphql.Field{Type: gql.NonNull(graphql.NewList(str)), Description: "该动作必填的字段（表单必填项及动作另行要求的）",
				Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(CreateAction).Required, nil }},
		},
	})
	entry.AddFieldConfig("actions", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(action))),
		Description: "register 登记页：当前用户可用的创建动作，按配置的顺序",
		Resolve: identity.Resolve(func(_ context.Context, p *identity.Principal, _ map[string]any, src any) (any, error) {
			return Creating(m.Config.Current(), src.(Entry), p.Roles), nil
		})})
	bench := graphql.NewObject(graphql.ObjectConfig{
		Name: "Workbench", Description: "一个角色的工作台（flows/workbench/ 下的配置）",
		Fields: graphql.Fields{
			"name":  &graphql.Field{Type: str, Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(*Workbench).Name, nil }},
			"label": &graphql.Field{Type: str, Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(*Workbench).Label, nil }},
			"menu":  &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(entry))), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(*Workbench).Menu, nil }},
		},
	})
	b.Query("myWorkbench", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(bench))),
		Description: "当前用户各角色的工作台菜单，按配置的顺序",
		Resolve: identity.Resolve(func(_ context.Context, p *identity.Principal, _ map[string]any, _ any) (any, error) {
			return For(m.Config.Current(), p.Roles), nil
		})})
	return nil
}
