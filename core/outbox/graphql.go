package outbox

import (
	"context"
	"fmt"

	"github.com/graphql-go/graphql"

	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/module"
)

// Module is the outbox's part of the platform: notices, ticket changes
// and dead letters in GraphQL, and the feed and dispatcher it runs
// (module.go).
type Module struct {
	Store Store
	// Feed streams the subscriptions; nil leaves them refusing.
	Feed *Feed
	// Visible refuses (NOT_FOUND) a ticket the principal may not see;
	// ticketChanged checks it before it streams.
	Visible func(ctx context.Context, p *identity.Principal, ticket int64) error
	// Dispatcher, when set, is run by Start beside the Feed.
	Dispatcher *Dispatcher
	jobs       *module.Jobs
}

// Name implements gql.Module.
func (Module) Name() string { return "outbox" }

// Register implements gql.Module.
func (m Module) Register(b *gql.Builder) error {
	str := gql.NonNull(graphql.String)
	noticeType := graphql.NewObject(graphql.ObjectConfig{
		Name: "Notice", Description: "通知：流程动作和时限提醒发给本人的消息",
		Fields: graphql.Fields{
			"id":      &graphql.Field{Type: gql.NonNull(graphql.ID), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Notice).ID, nil }},
			"level":   &graphql.Field{Type: str, Description: "info、warning 或 urgent 等", Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Notice).Level, nil }},
			"message": &graphql.Field{Type: str, Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Notice).Message, nil }},
			"ticketId": &graphql.Field{Type: graphql.ID, Description: "相关工单", Resolve: func(p graphql.ResolveParams) (any, error) {
				if t := p.Source.(Notice).TicketID; t != nil {
					return *t, nil
				}
				return nil, nil
			}},
			"number": &graphql.Field{Type: graphql.String, Description: "相关工单编号", Resolve: func(p graphql.ResolveParams) (any, error) {
				if n := p.Source.(Notice).Number(); n != "" {
					return n, nil
				}
				return nil, nil
			}},
			"timer": &graphql.Field{Type: graphql.String, Description: "时限提醒的名称（如 near_due、overdue）；动作产生的通知为空", Resolve: func(p graphql.ResolveParams) (any, error) {
				if s, _ := p.Source.(Notice).Payload["timer"].(string); s != "" {
					return s, nil
				}
				return nil, nil
			}},
			"payload":   &graphql.Field{Type: gql.NonNull(gql.JSON), Description: "原始内容", Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Notice).Payload, nil }},
			"createdAt": &graphql.Field{Type: gql.NonNull(gql.Time), Description: "产生时间", Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Notice).CreatedAt, nil }},
			"readAt": &graphql.Field{Type: gql.Time, Resolve: func(p graphql.ResolveParams) (any, error) {
				if t := p.Source.(Notice).ReadAt; t != nil {
					return *t, nil
				}
				return nil, nil
			}},
		},
	})
	changeType := graphql.NewObject(graphql.ObjectConfig{
		Name: "TicketChange", Description: "工单变化：一次流程动作",
		Fields: graphql.Fields{
			"ticketId": &graphql.Field{Type: gql.NonNull(graphql.ID), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Change).Ticket, nil }},
			"number":   &graphql.Field{Type: str, Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Change).Number, nil }},
			"action":   &graphql.Field{Type: str, Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Change).Action, nil }},
			"from":     &graphql.Field{Type: str, Description: "动作前的状态（创建时为空）", Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Change).From, nil }},
			"to":       &graphql.Field{Type: str, Description: "动作后的状态", Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Change).To, nil }},
			"version":  &graphql.Field{Type: gql.NonNull(graphql.Int), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Change).Version, nil }},
		},
	})
	letterType := graphql.NewObject(graphql.ObjectConfig{
		Name: "OutboxDeadLetter", Description: "投递失败的消息（死信）：重试次数用尽或无法投递",
		Fields: graphql.Fields{
			"id":    &graphql.Field{Type: gql.NonNull(graphql.ID), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Letter).ID, nil }},
			"topic": &graphql.Field{Type: str, Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Letter).Topic, nil }},
			"ticketId": &graphql.Field{Type: graphql.ID, Resolve: func(p graphql.ResolveParams) (any, error) {
				if t := p.Source.(Letter).TicketID; t != nil {
					return *t, nil
				}
				return nil, nil
			}},
			"payload":   &graphql.Field{Type: gql.NonNull(gql.JSON), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Letter).Payload, nil }},
			"attempts":  &graphql.Field{Type: gql.NonNull(graphql.Int), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Letter).Attempts, nil }},
			"lastError": &graphql.Field{Type: str, Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Letter).LastError, nil }},
			"createdAt": &graphql.Field{Type: gql.NonNull(gql.Time), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Letter).CreatedAt, nil }},
			"deadAt":    &graphql.Field{Type: gql.NonNull(gql.Time), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Letter).DeadAt, nil }},
		},
	})

	noticeArgs := graphql.FieldConfigArgument{"unread": {Type: graphql.Boolean, Description: "只列未读"}}
	for k, v := range gql.PageArgs {
		noticeArgs[k] = v
	}
	b.Query("notices", &graphql.Field{Type: gql.NonNull(gql.Connection(noticeType)), Args: noticeArgs, Description: "我的通知，新的在前",
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			page, err := gql.PageFrom(args)
			if err != nil {
				return nil, err
			}
			unread, _ := args["unread"].(bool)
			list, err := m.Store.List(ctx, p.UserID, unread, page.After, page.First+1)
			if err != nil {
				return nil, err
			}
			return gql.ConnectionOf(list, page, func(n Notice) int64 { return n.ID }), nil
		})})
	b.Query("unreadNotices", &graphql.Field{Type: gql.NonNull(graphql.Int), Description: "我的未读通知数",
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, _ map[string]any, _ any) (any, error) {
			return m.Store.Unread(ctx, p.UserID)
		})})
	b.Mutation("markNoticesRead", &graphql.Field{Type: gql.NonNull(graphql.Int), Description: "把我的通知标为已读（ids 或 all），返回原为未读的条数",
		Args: graphql.FieldConfigArgument{
			"ids": {Type: graphql.NewList(gql.NonNull(graphql.ID))},
			"all": {Type: graphql.Boolean, Description: "全部标为已读"},
		},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			all, _ := args["all"].(bool)
			raw, _ := args["ids"].([]any)
			if !all && len(raw) == 0 {
				return nil, gql.FieldError("ids", "请指定要标为已读的通知，或选择全部")
			}
			if len(raw) > gql.MaxPageSize {
				return nil, gql.FieldError("ids", "一次最多 %d 条", gql.MaxPageSize)
			}
			ids := make([]int64, 0, len(raw))
			for _, v := range raw {
				id, err := gql.ParseID(fmt.Sprint(v), "ids")
				if err != nil {
					return nil, err
				}
				ids = append(ids, id)
			}
			return m.Store.MarkRead(ctx, p.UserID, ids, all)
		})})
	b.Subscription("notices", &graphql.Field{Type: gql.NonNull(noticeType), Description: "我的新通知，投递即推送（任一节点投递的都推送；落后太多时跳过的通知仍可用 notices 查询）",
		Subscribe: identity.Resolve(func(ctx context.Context, p *identity.Principal, _ map[string]any, _ any) (any, error) {
			if m.Feed == nil {
				return nil, gql.Errorf(gql.Unavailable, "通知推送未启用")
			}
			return forward(ctx, m.Feed.Notices(ctx, p.UserID)), nil
		})})
	b.Subscription("ticketChanged", &graphql.Field{Type: gql.NonNull(changeType), Description: "一张工单的变化：每个流程动作推送一次（须能查看该工单）",
		Args: graphql.FieldConfigArgument{"ticket": {Type: gql.NonNull(graphql.ID)}},
		Subscribe: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			id, err := gql.ID(args, "ticket")
			if err != nil {
				return nil, err
			}
			if m.Feed == nil {
				return nil, gql.Errorf(gql.Unavailable, "工单变化推送未启用")
			}
			if m.Visible != nil {
				if err := m.Visible(ctx, p, id); err != nil {
					return nil, err
				}
			}
			return forward(ctx, m.Feed.Changes(ctx, id)), nil
		})})

	b.Query("outboxDeadLetters", &graphql.Field{Type: gql.NonNull(gql.Connection(letterType)), Args: gql.PageArgs,
		Description: "投递失败的消息（死信），新的在前（需 outbox.manage 权限）",
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			if _, err := p.For(PermManage); err != nil {
				return nil, err
			}
			page, err := gql.PageFrom(args)
			if err != nil {
				return nil, err
			}
			list, err := m.Store.DeadLetters(ctx, page.After, page.First+1)
			if err != nil {
				return nil, err
			}
			return gql.ConnectionOf(list, page, func(l Letter) int64 { return l.ID }), nil
		})})
	b.Mutation("retryOutbox", &graphql.Field{Type: gql.NonNull(graphql.Boolean), Description: "重新投递一条死信（重试次数从零计）（需 outbox.manage 权限）",
		Args: graphql.FieldConfigArgument{"id": {Type: gql.NonNull(graphql.ID)}},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			id, err := gql.ID(args, "id")
			if err != nil {
				return nil, err
			}
			return true, m.Store.Retry(ctx, p, id)
		})})
	return nil
}

// forward turns a typed stream into the chan any a subscription returns.
func forward[T any](ctx context.Context, in <-chan T) chan any {
	out := make(chan any)
	go func() {
		defer close(out)
		for v := range in {
			select {
			case out <- v:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
