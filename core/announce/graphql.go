package announce

import (
	"context"
	"fmt"
	"time"

	"github.com/graphql-go/graphql"

	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/module"
)

// Module is announcements' part of the platform: publishAnnouncement,
// announcements and acknowledgeAnnouncement in GraphQL. Delivery is the
// outbox's (Handler, registered with the dispatcher).
type Module struct {
	Service *Service
}

// Name implements gql.Module.
func (Module) Name() string { return "announce" }

// Declares names the publishing permission (module.Declarer).
func (Module) Declares() module.Declarations {
	return module.Declarations{Permissions: []string{PermPublish}}
}

func optTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}

func first(args map[string]any) (int, error) {
	n := DefaultList
	if v, ok := args["first"].(int); ok {
		if v < 1 || v > MaxList {
			return 0, gql.FieldError("first", "first 须在 1 到 %d 之间", MaxList)
		}
		n = v
	}
	return n, nil
}

func stringsOf(v any) []string {
	raw, _ := v.([]any)
	out := make([]string, 0, len(raw))
	for _, x := range raw {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// Register implements gql.Module.
func (m Module) Register(b *gql.Builder) error {
	str := gql.NonNull(graphql.String)
	strList := gql.NonNull(graphql.NewList(str))
	firstArg := &graphql.ArgumentConfig{Type: graphql.Int, Description: fmt.Sprintf("条数，默认 %d，最多 %d", DefaultList, MaxList)}
	recipient := graphql.NewObject(graphql.ObjectConfig{
		Name: "AnnouncementRecipient", Description: "公告的一位接收人",
		Fields: graphql.Fields{
			"username":       &graphql.Field{Type: str, Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Recipient).Username, nil }},
			"displayName":    &graphql.Field{Type: str, Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Recipient).DisplayName, nil }},
			"unit":           &graphql.Field{Type: str, Description: "所在单位名称", Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Recipient).Unit, nil }},
			"acknowledgedAt": &graphql.Field{Type: gql.Time, Resolve: func(p graphql.ResolveParams) (any, error) { return optTime(p.Source.(Recipient).AcknowledgedAt), nil }},
		},
	})
	audience := graphql.NewObject(graphql.ObjectConfig{
		Name: "AnnouncementAudience", Description: "发布时选择的接收范围：角色与单位（及其下级）同时满足，另加指定人员",
		Fields: graphql.Fields{
			"roles": &graphql.Field{Type: strList, Resolve: func(p graphql.ResolveParams) (any, error) { return nonNil(p.Source.(Audience).Roles), nil }},
			"units": &graphql.Field{Type: strList, Description: "单位编码", Resolve: func(p graphql.ResolveParams) (any, error) { return nonNil(p.Source.(Audience).Units), nil }},
			"users": &graphql.Field{Type: strList, Description: "用户名", Resolve: func(p graphql.ResolveParams) (any, error) { return nonNil(p.Source.(Audience).Users), nil }},
		},
	})
	// recipients is the publisher's view of who has (not) acknowledged.
	recipients := func(acknowledged bool, desc string) *graphql.Field {
		return &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(recipient))), Description: desc + "（需 announcement.publish 权限）",
			Args: graphql.FieldConfigArgument{"first": firstArg},
			Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, src any) (any, error) {
				n, err := first(args)
				if err != nil {
					return nil, err
				}
				return m.Service.Recipients(ctx, p, src.(Announcement).ID, acknowledged, n)
			})}
	}
	announcement := graphql.NewObject(graphql.ObjectConfig{
		Name: "Announcement", Description: "公告：班长等发布、接收人须确认已阅读",
		Fields: graphql.Fields{
			"id":        &graphql.Field{Type: gql.NonNull(graphql.ID), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Announcement).ID, nil }},
			"title":     &graphql.Field{Type: str, Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Announcement).Title, nil }},
			"body":      &graphql.Field{Type: str, Description: "正文（纯文本）", Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Announcement).Body, nil }},
			"level":     &graphql.Field{Type: str, Description: "info、warning 或 urgent，与通知的级别相同", Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Announcement).Level, nil }},
			"audience":  &graphql.Field{Type: gql.NonNull(audience), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Announcement).Audience, nil }},
			"publisher": &graphql.Field{Type: str, Description: "发布人姓名", Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Announcement).Publisher, nil }},
			"createdAt": &graphql.Field{Type: gql.NonNull(gql.Time), Description: "发布时间", Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Announcement).CreatedAt, nil }},
			"expiresAt": &graphql.Field{Type: gql.Time, Description: "截止时间：过后不再要求确认", Resolve: func(p graphql.ResolveParams) (any, error) { return optTime(p.Source.(Announcement).ExpiresAt), nil }},
			"acknowledgedAt": &graphql.Field{Type: gql.Time, Description: "我确认已阅读的时间（未确认或不是接收人为空）",
				Resolve: func(p graphql.ResolveParams) (any, error) {
					return optTime(p.Source.(Announcement).AcknowledgedAt), nil
				}},
			"total":         &graphql.Field{Type: gql.NonNull(graphql.Int), Description: "接收人数", Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Announcement).Total, nil }},
			"acknowledged":  &graphql.Field{Type: gql.NonNull(graphql.Int), Description: "已确认人数", Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Announcement).Acknowledged, nil }},
			"pending":       recipients(false, "尚未确认的接收人，按单位和用户名"),
			"acknowledgers": recipients(true, "已确认的接收人，最近确认的在前"),
		},
	})
	input := graphql.NewInputObject(graphql.InputObjectConfig{
		Name: "AnnouncementInput", Description: "要发布的公告：接收人为同时满足角色与单位（及其下级）的在用账户，另加指定人员，限于发布人的数据范围",
		Fields: graphql.InputObjectConfigFieldMap{
			"title":     {Type: str, Description: fmt.Sprintf("标题，最多 %d 字", MaxTitle)},
			"body":      {Type: str, Description: fmt.Sprintf("正文（纯文本），最多 %d 字", MaxBody)},
			"level":     {Type: graphql.String, Description: "info（默认）、warning 或 urgent"},
			"roles":     {Type: graphql.NewList(str), Description: fmt.Sprintf("角色名，最多 %d 个", MaxRoles)},
			"units":     {Type: graphql.NewList(str), Description: fmt.Sprintf("单位编码（含下级单位），最多 %d 个", MaxUnits)},
			"users":     {Type: graphql.NewList(str), Description: fmt.Sprintf("用户名，最多 %d 个", MaxUsers)},
			"expiresAt": {Type: gql.Time, Description: "截止时间（可选，一年以内）"},
		},
	})

	b.Mutation("publishAnnouncement", &graphql.Field{Type: gql.NonNull(announcement), Description: "发布公告，逐一通知接收人（需 announcement.publish 权限）",
		Args: graphql.FieldConfigArgument{"input": {Type: gql.NonNull(input)}},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			raw, _ := args["input"].(map[string]any)
			in := Input{Roles: stringsOf(raw["roles"]), Units: stringsOf(raw["units"]), Users: stringsOf(raw["users"])}
			in.Title, _ = raw["title"].(string)
			in.Body, _ = raw["body"].(string)
			in.Level, _ = raw["level"].(string)
			if v, ok := raw["expiresAt"]; ok && v != nil {
				t, ok := v.(time.Time)
				if !ok {
					return nil, gql.FieldError("input.expiresAt", "截止时间格式不正确")
				}
				in.ExpiresAt = &t
			}
			return m.Service.Publish(ctx, p, in)
		})})
	b.Query("announcements", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(announcement))),
		Description: "发给我的未过期公告，未确认的在前、新的在前；published 为真时列出数据范围内发布的公告及确认进度（需 announcement.publish 权限）",
		Args: graphql.FieldConfigArgument{
			"published":      {Type: graphql.Boolean, Description: "列出已发布的公告（发布人）"},
			"unacknowledged": {Type: graphql.Boolean, Description: "只列我未确认的"},
			"first":          firstArg,
		},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			n, err := first(args)
			if err != nil {
				return nil, err
			}
			if published, _ := args["published"].(bool); published {
				return m.Service.Published(ctx, p, n)
			}
			unack, _ := args["unacknowledged"].(bool)
			return m.Service.Mine(ctx, p, unack, n)
		})})
	b.Mutation("acknowledgeAnnouncement", &graphql.Field{Type: gql.NonNull(announcement), Description: "确认已阅读一条发给我的公告（重复确认保留第一次的时间）",
		Args: graphql.FieldConfigArgument{"id": {Type: gql.NonNull(graphql.ID)}},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			id, err := gql.ID(args, "id")
			if err != nil {
				return nil, err
			}
			return m.Service.Acknowledge(ctx, p, id)
		})})
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
