package flow

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/graphql-go/graphql"

	"github.com/hotline12345/hotline/core/form"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/module"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/ticket"
)

// Module is the tickets part of the platform: its GraphQL API, and the
// timers and index keeper it runs (module.go).
type Module struct {
	Engine *Engine
	// Log, TimerTick and IndexTick are for Start: how often due timers
	// fire and the search index catches up.
	Log                  *slog.Logger
	TimerTick, IndexTick time.Duration
	jobs                 *module.Jobs
}

// Name implements gql.Module.
func (Module) Name() string { return "flow" }

// Event is one row of a ticket's history.
type Event struct {
	Action    string    `json:"action"`
	Actor     string    `json:"actor"`
	At        time.Time `json:"at"`
	FromState string    `json:"fromState"`
	ToState   string    `json:"toState"`
	Input     any       `json:"input"`
	// Unit is the name of the unit holding the ticket when it happened
	// ("" before anyone held it).
	Unit string `json:"unit"`
	// StepDue is the step limit that was running (a sign-for's due time);
	// OnTime says whether the event came before it.
	StepDue *time.Time `json:"stepDue"`
	OnTime  *bool      `json:"onTime"`
	// FlowVersion is the flow version the event was performed under, for
	// its labels.
	Flow        string `json:"-"`
	FlowVersion int    `json:"-"`
}

// Events lists a ticket's history, oldest first.
func (e *Engine) Events(ctx context.Context, ticketID int64) ([]Event, error) {
	rows, err := e.pool.Query(ctx, `SELECT ev.action, ev.actor, ev.at, ev.from_state, ev.to_state, ev.input, COALESCE(u.name, ''), ev.step_due, t.flow, ev.flow_version
		FROM ticket_events ev JOIN tickets t ON t.id = ev.ticket_id LEFT JOIN units u ON u.id = ev.holder_unit_id WHERE ev.ticket_id = $1 ORDER BY ev.ticket_version`, ticketID)
	if err != nil {
		return nil, fmt.Errorf("reading events of ticket %d: %w", ticketID, err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var ev Event
		if err := rows.Scan(&ev.Action, &ev.Actor, &ev.At, &ev.FromState, &ev.ToState, &ev.Input, &ev.Unit, &ev.StepDue, &ev.Flow, &ev.FlowVersion); err != nil {
			return nil, fmt.Errorf("reading events of ticket %d: %w", ticketID, err)
		}
		if ev.StepDue != nil {
			on := !ev.At.After(*ev.StepDue)
			ev.OnTime = &on
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// creating finds the creating action whose form is formName; draft picks
// one leading to a draft state, and action, when given, names it.
func (e *Engine) creating(formName string, draft bool, action string) (*Flow, *Action, error) {
	for _, d := range e.config.Current().All(Kind) {
		f := d.Model.(*Flow)
		for i := range f.Actions {
			a := &f.Actions[i]
			if len(a.From) != 0 || (action != "" && a.Name != action) {
				continue
			}
			to, _ := f.State(a.To.Name)
			isDraft := to.Category == CategoryDraft
			name := ""
			if a.Form != nil {
				name = a.Form.Name
			}
			if isDraft == draft && (name == formName || (draft && name == "")) {
				return f, a, nil
			}
		}
	}
	if action != "" {
		return nil, nil, gql.FieldError("action", "没有以表单 %q 创建工单的动作 %q", formName, action)
	}
	return nil, nil, gql.FieldError("form", "没有以表单 %q 创建工单的流程动作", formName)
}

// actionFormName resolves an action's form name, or null.
func actionFormName(p graphql.ResolveParams) (any, error) {
	if f := p.Source.(*Action).Form; f != nil {
		return f.Name, nil
	}
	return nil, nil
}

// Register implements gql.Module.
func (m Module) Register(b *gql.Builder) error {
	e := m.Engine
	holderType := graphql.NewObject(graphql.ObjectConfig{
		Name: "TicketHolder",
		Fields: graphql.Fields{
			"unitId":   &graphql.Field{Type: graphql.ID},
			"unitCode": &graphql.Field{Type: graphql.String},
			"unitName": &graphql.Field{Type: graphql.String},
			"user":     &graphql.Field{Type: graphql.String, Description: "承办人用户名"},
		},
	})
	// An event's labels are those of the flow version it happened under.
	eventFlow := func(p graphql.ResolveParams) *Flow {
		ev := p.Source.(Event)
		f, _ := e.definition(p.Context, e.pool, ev.Flow, ev.FlowVersion)
		return f
	}
	eventType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "TicketEvent",
		Description: "工单的一步：谁在何时做了什么，当时的承办单位，填写的内容（意见、附件）",
		Fields: graphql.Fields{
			"action": &graphql.Field{Type: gql.NonNull(graphql.String)},
			"actionLabel": &graphql.Field{Type: gql.NonNull(graphql.String), Resolve: func(p graphql.ResolveParams) (any, error) {
				ev := p.Source.(Event)
				if f := eventFlow(p); f != nil {
					if a, ok := f.Action(ev.Action); ok {
						return a.Label, nil
					}
				}
				return ev.Action, nil
			}},
			"form": &graphql.Field{Type: graphql.String, Description: "填写内容所用的表单（据此显示字段名称）", Resolve: func(p graphql.ResolveParams) (any, error) {
				if f := eventFlow(p); f != nil {
					if a, ok := f.Action(p.Source.(Event).Action); ok && a.Form != nil {
						return a.Form.Name, nil
					}
				}
				return nil, nil
			}},
			"actor":     &graphql.Field{Type: gql.NonNull(graphql.String)},
			"at":        &graphql.Field{Type: gql.NonNull(gql.Time)},
			"fromState": &graphql.Field{Type: gql.NonNull(graphql.String)},
			"toState":   &graphql.Field{Type: gql.NonNull(graphql.String)},
			"toStateLabel": &graphql.Field{Type: gql.NonNull(graphql.String), Resolve: func(p graphql.ResolveParams) (any, error) {
				ev := p.Source.(Event)
				if f := eventFlow(p); f != nil {
					return f.StateLabel(ev.ToState), nil
				}
				return ev.ToState, nil
			}},
			"input":   &graphql.Field{Type: gql.JSON, Description: "这一步填写的内容；个人信息按表单脱敏"},
			"unit":    &graphql.Field{Type: graphql.String, Description: "当时的承办单位", Resolve: func(p graphql.ResolveParams) (any, error) { return gql.NilIfEmpty(p.Source.(Event).Unit), nil }},
			"stepDue": &graphql.Field{Type: gql.Time, Description: "当时环节时限（如签收时限）的截止时间"},
			"onTime":  &graphql.Field{Type: graphql.Boolean, Description: "是否在环节时限内完成（无环节时限时为空）"},
		},
	})
	stringList := gql.NonNull(graphql.NewList(gql.NonNull(graphql.String)))
	offered := func(p graphql.ResolveParams) *Action { return p.Source.(Offer).Action }
	actionType := graphql.NewObject(graphql.ObjectConfig{
		Name: "TicketAction",
		Fields: graphql.Fields{
			"name":  &graphql.Field{Type: gql.NonNull(graphql.String), Resolve: func(p graphql.ResolveParams) (any, error) { return offered(p).Name, nil }},
			"label": &graphql.Field{Type: gql.NonNull(graphql.String), Resolve: func(p graphql.ResolveParams) (any, error) { return offered(p).Label, nil }},
			"form": &graphql.Field{Type: graphql.String, Resolve: func(p graphql.ResolveParams) (any, error) {
				if f := offered(p).Form; f != nil {
					return f.Name, nil
				}
				return nil, nil
			}},
			"required": &graphql.Field{Type: stringList, Description: "执行时必填的字段（表单必填项及动作另行要求的字段；字段不可见时不要求）",
				Resolve: func(p graphql.ResolveParams) (any, error) { return offered(p).RequiredFields(), nil }},
			"refusal": &graphql.Field{Type: graphql.String, Description: "为何现在不能执行（流程守卫的提示，按工单当前情况判断）；为空表示可以执行",
				Resolve: func(p graphql.ResolveParams) (any, error) { return gql.NilIfEmpty(p.Source.(Offer).Refusal), nil }},
			"choices": &graphql.Field{Type: gql.NonNull(gql.JSON), Description: "该动作此时某些字段只能取的值（如回访满意的满意度、下派时的直属下级单位编码），按字段名；未列出的字段按表单",
				Resolve: func(p graphql.ResolveParams) (any, error) {
					if c := p.Source.(Offer).Choices; c != nil {
						return c, nil
					}
					return map[string]any{}, nil
				}},
		},
	})
	branchType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "TicketBranch",
		Description: "协办分支 (a co-handling branch held by a co-unit).",
		Fields: graphql.Fields{
			"id":       &graphql.Field{Type: gql.NonNull(graphql.ID)},
			"unitCode": &graphql.Field{Type: gql.NonNull(graphql.String), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(ticket.Branch).Unit.Code, nil }},
			"unitName": &graphql.Field{Type: gql.NonNull(graphql.String), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(ticket.Branch).Unit.Name, nil }},
			"state":    &graphql.Field{Type: gql.NonNull(graphql.String), Description: "open 或 done"},
			"deadline": &graphql.Field{Type: gql.Time},
			"doneAt":   &graphql.Field{Type: gql.Time},
			"result":   &graphql.Field{Type: gql.JSON},
		},
	})
	ticketType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "Ticket",
		Description: "工单 (a work order moving through a flow).",
		Fields: graphql.Fields{
			"id":      &graphql.Field{Type: gql.NonNull(graphql.ID)},
			"number":  &graphql.Field{Type: gql.NonNull(graphql.String)},
			"flow":    &graphql.Field{Type: gql.NonNull(graphql.String)},
			"state":   &graphql.Field{Type: gql.NonNull(graphql.String)},
			"version": &graphql.Field{Type: gql.NonNull(graphql.Int)},
			"stateLabel": &graphql.Field{Type: gql.NonNull(graphql.String), Resolve: func(p graphql.ResolveParams) (any, error) {
				// The label of the flow version the ticket follows.
				t := p.Source.(ticket.Ticket)
				if f, err := e.definition(p.Context, e.pool, t.Flow, t.FlowVersion); err == nil {
					if s, ok := f.State(t.State); ok {
						return s.Label, nil
					}
				}
				return t.State, nil
			}},
			"deadline":     &graphql.Field{Type: gql.Time},
			"stepDeadline": &graphql.Field{Type: gql.Time, Description: "当前环节时限（如签收时限）的截止时间；当前状态没有环节时限时为空"},
			"stepLimit": &graphql.Field{Type: graphql.String, Description: "当前环节时限的名称（如“2 小时内签收”）", Resolve: func(p graphql.ResolveParams) (any, error) {
				t := p.Source.(ticket.Ticket)
				if f, err := e.definition(p.Context, e.pool, t.Flow, t.FlowVersion); err == nil {
					if s, ok := f.State(t.State); ok && s.Limit != nil {
						return s.Limit.Label, nil
					}
				}
				return nil, nil
			}},
			"createdAt": &graphql.Field{Type: gql.NonNull(gql.Time)},
			"closedAt":  &graphql.Field{Type: gql.Time},
			"creator":   &graphql.Field{Type: gql.NonNull(graphql.String)},
			"fields": &graphql.Field{Type: gql.NonNull(gql.JSON), Description: "字段值；个人信息按表单的 personal 设置脱敏，有权查看完整信息的用户查看时记入审计日志",
				Resolve: identity.Resolve(func(ctx context.Context, pr *identity.Principal, _ map[string]any, src any) (any, error) {
					t := src.(ticket.Ticket)
					return e.Store.Disclosure(pr).Fields(ctx, &t, "ticket")
				})},
			"inputs": &graphql.Field{Type: gql.NonNull(gql.JSON), Description: "各动作最近一次填写的内容（派单意见、办理结果及附件、回访意见……），按动作名；个人信息按表单脱敏",
				Resolve: identity.Resolve(func(ctx context.Context, pr *identity.Principal, _ map[string]any, src any) (any, error) {
					t := src.(ticket.Ticket)
					return e.Store.Disclosure(pr).Inputs(ctx, &t, "ticket")
				})},
			"holder": &graphql.Field{Type: gql.NonNull(holderType), Resolve: func(p graphql.ResolveParams) (any, error) {
				t := p.Source.(ticket.Ticket)
				h := map[string]any{"user": gql.NilIfEmpty(t.HolderUser)}
				if t.HolderUnit != nil {
					h["unitId"], h["unitCode"], h["unitName"] = t.HolderUnit.ID, t.HolderUnit.Code, t.HolderUnit.Name
				}
				return h, nil
			}},
			"branches": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(branchType))),
				Resolve: identity.Resolve(func(ctx context.Context, pr *identity.Principal, _ map[string]any, src any) (any, error) {
					// A branch's result is the input of the action that
					// closed it: masked as events' input is.
					t := src.(ticket.Ticket)
					d := e.Store.Disclosure(pr)
					out := make([]ticket.Branch, len(t.Branches))
					for i, b := range t.Branches {
						var err error
						if b.Result, err = d.Input(ctx, &t, b.Result, "branches"); err != nil {
							return nil, err
						}
						out[i] = b
					}
					return out, nil
				})},
			"events": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(eventType))),
				Resolve: identity.Resolve(func(ctx context.Context, pr *identity.Principal, _ map[string]any, src any) (any, error) {
					t := src.(ticket.Ticket)
					evs, err := e.Events(ctx, t.ID)
					if err != nil {
						return nil, err
					}
					d := e.Store.Disclosure(pr)
					for i := range evs {
						if evs[i].Input, err = d.Input(ctx, &t, evs[i].Input, "events"); err != nil {
							return nil, err
						}
					}
					return evs, nil
				})},
			"availableActions": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(actionType))),
				Description: "当前用户现在可以执行的动作：状态、角色、承办关系和不依赖输入的守卫都允许；refused 为真时也列出守卫拒绝的动作及其原因（供界面置灰显示）",
				Args:        graphql.FieldConfigArgument{"refused": {Type: graphql.Boolean, DefaultValue: false}},
				Resolve: identity.Resolve(func(ctx context.Context, pr *identity.Principal, args map[string]any, src any) (any, error) {
					offers, err := e.Offers(ctx, pr, src.(ticket.Ticket))
					if err != nil {
						return nil, err
					}
					if refused, _ := args["refused"].(bool); refused {
						return offers, nil
					}
					out := []Offer{}
					for _, o := range offers {
						if o.Refusal == "" {
							out = append(out, o)
						}
					}
					return out, nil
				})},
		},
	})

	// A ticket's links to others (merged, urged, related), from both ends;
	// the other ticket only where the reader may read it.
	linkType := graphql.NewObject(graphql.ObjectConfig{
		Name: "TicketLink", Description: "工单之间的关联（并单、催办、关联），由流程的 link 效果写入",
		Fields: graphql.Fields{
			"relation": &graphql.Field{Type: gql.NonNull(graphql.String), Description: "merge 并单、urge 催办、related 关联",
				Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(ticket.Link).Relation, nil }},
			"outgoing": &graphql.Field{Type: gql.NonNull(graphql.Boolean), Description: "为真：本工单发起的关联（如本单并入对方）；为假：对方发起的（如对方并入本单）",
				Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(ticket.Link).Outgoing, nil }},
			"label": &graphql.Field{Type: gql.NonNull(graphql.String), Description: "从本工单看的关联名称，如“已并入”“并入本单”",
				Resolve: func(p graphql.ResolveParams) (any, error) { return linkLabel(p.Source.(ticket.Link)), nil }},
			"at": &graphql.Field{Type: gql.NonNull(gql.Time), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(ticket.Link).At, nil }},
			"ticket": &graphql.Field{Type: ticketType, Description: "关联的另一张工单；不在您的数据范围内时为空",
				Resolve: func(p graphql.ResolveParams) (any, error) {
					if o := p.Source.(ticket.Link).Other; o != nil {
						return *o, nil
					}
					return nil, nil
				}},
		},
	})
	ticketType.AddFieldConfig("links", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(linkType))),
		Description: fmt.Sprintf("与其他工单的关联，两个方向都列出，按时间先后（最多最近 %d 条）", ticket.MaxLinks),
		Resolve: identity.Resolve(func(ctx context.Context, pr *identity.Principal, _ map[string]any, src any) (any, error) {
			return e.Store.Links(ctx, pr, src.(ticket.Ticket).ID)
		})})

	// Flow definitions as a graph, for the visual designer: it edits the
	// YAML and publishes it with publishConfig(kind: "flow"), which lints it
	// together with the rest of the configuration.
	stateType := graphql.NewObject(graphql.ObjectConfig{
		Name: "FlowState",
		Fields: graphql.Fields{
			"name":     &graphql.Field{Type: gql.NonNull(graphql.String)},
			"label":    &graphql.Field{Type: gql.NonNull(graphql.String)},
			"category": &graphql.Field{Type: gql.NonNull(graphql.String)},
			"paused":   &graphql.Field{Type: gql.NonNull(graphql.Boolean)},
		},
	})
	refNames := func(refs []registry.Ref) []string {
		out := make([]string, len(refs))
		for i, r := range refs {
			out[i] = r.Name
		}
		return out
	}
	flowActionType := graphql.NewObject(graphql.ObjectConfig{
		Name: "FlowAction",
		Fields: graphql.Fields{
			"name":  &graphql.Field{Type: gql.NonNull(graphql.String)},
			"label": &graphql.Field{Type: gql.NonNull(graphql.String)},
			"from":  &graphql.Field{Type: stringList, Resolve: func(p graphql.ResolveParams) (any, error) { return refNames(p.Source.(*Action).From), nil }},
			"to": &graphql.Field{Type: graphql.String, Description: "The state the action leads to; null when the ticket stays where it is.",
				Resolve: func(p graphql.ResolveParams) (any, error) { return gql.NilIfEmpty(p.Source.(*Action).To.Name), nil }},
			"roles":  &graphql.Field{Type: stringList, Resolve: func(p graphql.ResolveParams) (any, error) { return refNames(p.Source.(*Action).Roles), nil }},
			"holder": &graphql.Field{Type: gql.NonNull(graphql.String)},
			"form":   &graphql.Field{Type: graphql.String, Resolve: actionFormName},
			"allow": &graphql.Field{Type: gql.NonNull(gql.JSON), Description: "动作限定的字段取值（按字段名），如回访满意只取满意、基本满意",
				Resolve: func(p graphql.ResolveParams) (any, error) {
					if f := p.Source.(*Action).Form; f != nil && f.Allow != nil {
						return f.Allow, nil
					}
					return map[string]any{}, nil
				}},
			"required": &graphql.Field{Type: stringList, Description: "执行时必填的字段（表单必填项及动作另行要求的字段；字段不可见时不要求）",
				Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(*Action).RequiredFields(), nil }},
			"guards": &graphql.Field{Type: stringList, Description: "各守卫不满足时的提示", Resolve: func(p graphql.ResolveParams) (any, error) {
				var out []string
				for _, g := range p.Source.(*Action).Guards {
					out = append(out, g.Message)
				}
				return out, nil
			}},
		},
	})
	flowType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "Flow",
		Description: "流程定义（状态与动作构成的图）",
		Fields: graphql.Fields{
			"name":  &graphql.Field{Type: gql.NonNull(graphql.String)},
			"label": &graphql.Field{Type: gql.NonNull(graphql.String)},
			"states": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(stateType))), Resolve: func(p graphql.ResolveParams) (any, error) {
				return p.Source.(*Flow).States, nil
			}},
			"actions": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(flowActionType))), Resolve: func(p graphql.ResolveParams) (any, error) {
				f := p.Source.(*Flow)
				out := make([]*Action, len(f.Actions))
				for i := range f.Actions {
					out[i] = &f.Actions[i]
				}
				return out, nil
			}},
			"mermaid": &graphql.Field{Type: gql.NonNull(graphql.String), Description: "Mermaid 状态图", Resolve: func(p graphql.ResolveParams) (any, error) {
				return p.Source.(*Flow).Mermaid(), nil
			}},
		},
	})
	// Form input is bounded field by field by its form; the transport
	// only keeps any one string from exceeding what a form could hold.
	for _, c := range []string{"Mutation.createTicket(input:)", "Mutation.performAction(input:)"} {
		b.MaxLength(c, MaxFormTextLength)
	}
	// Ticket search (core/ticketsearch) returns tickets of this type.
	b.Type(ticketType)
	// Every time the API returns is written in the zone of the running
	// flow calendar (gql.Time), which this module owns: a deadline the
	// engine computed reads the same as the one search read back.
	gql.SetZone(func() *time.Location { return calendarZone(e.config.Current()) })
	b.Query("flows", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(flowType))), Description: "正在运行的流程定义",
		Resolve: identity.Resolve(func(context.Context, *identity.Principal, map[string]any, any) (any, error) {
			var out []*Flow
			for _, d := range e.config.Current().All(Kind) {
				out = append(out, d.Model.(*Flow))
			}
			return out, nil
		})})

	b.Query("ticket", &graphql.Field{Type: gql.NonNull(ticketType), Args: graphql.FieldConfigArgument{"id": {Type: gql.NonNull(graphql.ID)}},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			id, err := gql.ID(args, "id")
			if err != nil {
				return nil, err
			}
			return e.Store.Get(ctx, p, id)
		})})
	listArgs := graphql.FieldConfigArgument{"state": {Type: graphql.String}}
	for k, v := range gql.PageArgs {
		listArgs[k] = v
	}
	m.registerWork(b, ticketType)
	b.Query("tickets", &graphql.Field{Type: gql.NonNull(gql.Connection(ticketType)), Args: listArgs, Description: "工单列表（数据范围内，新的在前）",
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			page, err := gql.PageFrom(args)
			if err != nil {
				return nil, err
			}
			state, _ := args["state"].(string)
			list, err := e.Store.List(ctx, p, state, page.After, page.First+1)
			if err != nil {
				return nil, err
			}
			return gql.ConnectionOf(list, page, func(t ticket.Ticket) int64 { return t.ID }), nil
		})})
	b.Mutation("createTicket", &graphql.Field{Type: gql.NonNull(ticketType),
		Description: "以表单登记工单；draft 为真时暂存（只检查已填内容）；action 指定创建动作（如直接答复），缺省为使用该表单的第一个创建动作",
		Args: graphql.FieldConfigArgument{"form": {Type: gql.NonNull(graphql.String)}, "input": {Type: gql.NonNull(gql.JSON)},
			"draft": {Type: graphql.Boolean, DefaultValue: false}, "action": {Type: graphql.String}},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			input, ok := args["input"].(map[string]any)
			if !ok {
				return nil, gql.FieldError("input", "input 须为 JSON 对象")
			}
			draft, _ := args["draft"].(bool)
			action, _ := args["action"].(string)
			return e.createFromForm(ctx, p, args["form"].(string), input, draft, action)
		})})
	m.registerTypedCreates(b, ticketType)
	b.Mutation("migrateTickets", &graphql.Field{Type: gql.NonNull(graphql.Int), Description: "把某流程旧版本上的未办结工单迁移到现行版本；返回迁移数量。stateMap 把旧状态映射到新状态；dryRun 只计数不迁移",
		Args: graphql.FieldConfigArgument{"flow": {Type: gql.NonNull(graphql.String)}, "fromVersion": {Type: gql.NonNull(graphql.Int)}, "stateMap": {Type: gql.JSON}, "dryRun": {Type: graphql.Boolean, DefaultValue: false}},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			stateMap := map[string]string{}
			if raw, ok := args["stateMap"].(map[string]any); ok {
				for k, v := range raw {
					s, ok := v.(string)
					if !ok {
						return nil, gql.FieldError("stateMap", "stateMap 的值须为状态名")
					}
					stateMap[k] = s
				}
			}
			dry, _ := args["dryRun"].(bool)
			return e.Migrate(ctx, p, args["flow"].(string), args["fromVersion"].(int), stateMap, dry)
		})})
	b.Mutation("performAction", &graphql.Field{Type: gql.NonNull(ticketType), Description: "对工单执行动作；expectedVersion 防止覆盖他人的办理",
		Args: graphql.FieldConfigArgument{"ticketId": {Type: gql.NonNull(graphql.ID)}, "action": {Type: gql.NonNull(graphql.String)}, "input": {Type: gql.JSON}, "expectedVersion": {Type: graphql.Int}},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			id, err := gql.ID(args, "ticketId")
			if err != nil {
				return nil, err
			}
			var input map[string]any
			if raw, ok := args["input"]; ok && raw != nil {
				if input, ok = raw.(map[string]any); !ok {
					return nil, gql.FieldError("input", "input 须为 JSON 对象")
				}
			}
			var expected *int
			if v, ok := args["expectedVersion"].(int); ok {
				expected = &v
			}
			return e.Perform(ctx, p, id, args["action"].(string), input, expected)
		})})
	return nil
}

// MaxFormTextLength bounds each string of a form's input at the
// transport; each field's own max (forms/) is checked after it.
const MaxFormTextLength = 100_000

// calendarZone is the running flows' calendar zone; nil before any flow
// is loaded (gql.Zone then keeps its default).
func calendarZone(set *registry.Set) *time.Location {
	if set == nil {
		return nil
	}
	for _, d := range set.All(Kind) {
		if c := d.Model.(*Flow).Calendar(); c != nil && c.Location() != nil {
			return c.Location()
		}
	}
	return nil
}

// createFromForm registers a ticket with a form, as createTicket does.
func (e *Engine) createFromForm(ctx context.Context, p *identity.Principal, formName string, input map[string]any, draft bool, action string) (ticket.Ticket, error) {
	f, a, err := e.creating(formName, draft, action)
	if err != nil {
		return ticket.Ticket{}, err
	}
	if draft && (a.Form == nil || a.Form.form == nil) {
		// A draft action without a form of its own keeps what the
		// agent entered in the named form, checked as far as it goes.
		fm, err := form.Running(e.config, formName)
		if err != nil {
			return ticket.Ticket{}, err
		}
		res, err := fm.Check(ctx, input, form.Options{Partial: true, Lookup: form.DBLookup{Q: e.pool}, Now: e.now()})
		if err != nil {
			return ticket.Ticket{}, form.AsGraphQL(err, "input")
		}
		input = res.Values
	}
	return e.Create(ctx, p, f.Name, a.Name, input)
}

// registerTypedCreates adds, for each form a creating action uses in the
// configuration running when the schema is built, createTicketAs<Form>
// with the form as a typed GraphQL input. They do what createTicket does.
// The server builds the schema again after a configuration change
// (app.liveAPI), so a published form is typed at once.
func (m Module) registerTypedCreates(b *gql.Builder, ticketType *graphql.Object) {
	e := m.Engine
	if e.config == nil || e.config.Current() == nil {
		return // printing the schema from code alone
	}
	done, names := map[string]bool{}, map[string]bool{}
	for _, d := range e.config.Current().All(Kind) {
		for _, a := range d.Model.(*Flow).Actions {
			if len(a.From) != 0 || a.Form == nil || a.Form.form == nil || done[a.Form.Name] {
				continue
			}
			fm := a.Form.form
			done[fm.Name] = true
			if names[form.TypeName(fm.Name)] {
				continue // two form names that read the same (a-b, a_b): createTicket serves the second
			}
			names[form.TypeName(fm.Name)] = true
			b.MaxLength("Mutation.createTicketAs"+form.TypeName(fm.Name)+"(input:)", MaxFormTextLength)
			b.Mutation("createTicketAs"+form.TypeName(fm.Name), &graphql.Field{Type: gql.NonNull(ticketType),
				Description: "以表单“" + fm.Label + "”登记工单（输入类型由 forms/ 生成；与 createTicket(form: \"" + fm.Name + "\") 相同）",
				Args: graphql.FieldConfigArgument{"input": {Type: gql.NonNull(fm.InputType())},
					"draft": {Type: graphql.Boolean, DefaultValue: false}, "action": {Type: graphql.String}},
				Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
					input, _ := args["input"].(map[string]any)
					draft, _ := args["draft"].(bool)
					action, _ := args["action"].(string)
					return e.createFromForm(ctx, p, fm.Name, input, draft, action)
				})})
		}
	}
}

// linkLabel names a link as the ticket read sees it.
func linkLabel(l ticket.Link) string {
	switch {
	case l.Relation == "merge" && l.Outgoing:
		return "已并入"
	case l.Relation == "merge":
		return "并入本单"
	case l.Relation == "urge" && l.Outgoing:
		return "催办"
	case l.Relation == "urge":
		return "被催办"
	default:
		return "关联"
	}
}
