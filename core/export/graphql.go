package export

import (
	"context"

	"github.com/graphql-go/graphql"

	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/ticketsearch"
)

// Module is the exports part of the GraphQL API.
type Module struct{ Service *Service }

// Name implements gql.Module.
func (Module) Name() string { return "export" }

// Register implements gql.Module.
func (m Module) Register(b *gql.Builder) error {
	s := m.Service
	columnType := graphql.NewObject(graphql.ObjectConfig{
		Name: "ExportColumn",
		Fields: graphql.Fields{
			"key":   &graphql.Field{Type: gql.NonNull(graphql.String)},
			"label": &graphql.Field{Type: gql.NonNull(graphql.String)},
		},
	})
	jobType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "ExportJob",
		Description: "导出任务",
		Fields: graphql.Fields{
			"id":         &graphql.Field{Type: gql.NonNull(graphql.ID)},
			"format":     &graphql.Field{Type: gql.NonNull(graphql.String)},
			"state":      &graphql.Field{Type: gql.NonNull(graphql.String), Description: "running、done 或 failed"},
			"total":      &graphql.Field{Type: gql.NonNull(graphql.Float), Description: "应导出的行数"},
			"done":       &graphql.Field{Type: gql.NonNull(graphql.Float), Description: "已写出的行数"},
			"size":       &graphql.Field{Type: graphql.Float, Description: "文件字节数"},
			"error":      &graphql.Field{Type: graphql.String},
			"createdAt":  &graphql.Field{Type: gql.NonNull(gql.Time)},
			"finishedAt": &graphql.Field{Type: gql.Time},
			"downloadUrl": &graphql.Field{Type: graphql.String, Description: "完成后下载地址（GET，携带与 GraphQL 相同的 Authorization 头）",
				Resolve: func(p graphql.ResolveParams) (any, error) {
					j := p.Source.(Job)
					if j.State != "done" {
						return nil, nil
					}
					return DownloadPath(j.ID), nil
				}},
		},
	})
	b.Query("exportColumns", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(columnType))), Description: "按表单可导出的列",
		Args: graphql.FieldConfigArgument{"form": {Type: gql.NonNull(graphql.String)}},
		Resolve: identity.Resolve(func(_ context.Context, _ *identity.Principal, args map[string]any, _ any) (any, error) {
			return Columns(s.Config.Current(), args["form"].(string))
		})})
	b.Query("exportJob", &graphql.Field{Type: gql.NonNull(jobType), Args: graphql.FieldConfigArgument{"id": {Type: gql.NonNull(graphql.ID)}},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			id, err := gql.ID(args, "id")
			if err != nil {
				return nil, err
			}
			return s.Get(ctx, p, id)
		})})
	b.Query("exportJobs", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(jobType))), Description: "我的导出任务（最近 50 个）",
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, _ map[string]any, _ any) (any, error) {
			return s.List(ctx, p)
		})})
	b.Mutation("startExport", &graphql.Field{Type: gql.NonNull(jobType),
		Description: "按检索条件导出工单到 xlsx 或 csv；后台执行，用 exportJob 查看进度，完成后下载。没有符合条件的工单时报错而不生成空文件",
		Args: graphql.FieldConfigArgument{
			"format":  {Type: gql.NonNull(graphql.String), Description: "xlsx 或 csv"},
			"form":    {Type: gql.NonNull(graphql.String), Description: "决定可导出列的表单，如 ticket-register"},
			"columns": {Type: graphql.NewList(gql.NonNull(graphql.String)), Description: "列（见 exportColumns），缺省为全部"},
			"query":   {Type: graphql.String, Description: "检索词，同 searchTickets"},
			"filter":  {Type: ticketsearch.FilterInput},
		},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			req := Request{Format: args["format"].(string), Form: args["form"].(string)}
			req.Query, _ = args["query"].(string)
			if cols, ok := args["columns"].([]any); ok {
				for _, c := range cols {
					req.Columns = append(req.Columns, c.(string))
				}
			}
			var err error
			if req.Filter, err = ticketsearch.FilterFrom(args["filter"]); err != nil {
				return nil, err
			}
			return s.Start(ctx, p, req)
		})})
	return nil
}
