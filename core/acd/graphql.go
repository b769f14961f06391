package acd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/graphql-go/graphql"

	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/module"
)

// Module is the ACD's part of the GraphQL API: an agent's own state
// (签入、签出、示闲、示忙、小休), the team leader's view and forcing, and
// agents' profiles.
type Module struct {
	Agents      *Service
	Distributor *Distributor
	// Tick is how often Start's distributor runs a round unasked (states
	// that end by themselves, agents whose skills changed).
	Tick time.Duration
	jobs *module.Jobs
}

// Name implements gql.Module.
func (Module) Name() string { return "acd" }

// QueueStatus is a queue as a team leader watches it.
type QueueStatus struct {
	Name     string `json:"name"`
	Label    string `json:"label"`
	Strategy string `json:"strategy"`
	// Waiting counts the tasks this node holds for the queue.
	Waiting int `json:"waiting"`
	// Idle and SignedIn count the agents the queue's rule accepts.
	Idle     int `json:"idle"`
	SignedIn int `json:"signedIn"`
	// WaitingSince is when the longest-waiting task entered the queue on
	// this node (nil: none waits). A time rather than a duration, so a
	// live view changes only when a task arrives or leaves and the
	// screen counts the seconds itself.
	WaitingSince *time.Time `json:"waitingSince"`
}

// Queues reports every queue with its waiting tasks and agents.
func (m Module) Queues(ctx context.Context) ([]QueueStatus, error) {
	agents, err := m.Agents.Agents(ctx)
	if err != nil {
		return nil, err
	}
	return m.queues(agents, nil)
}

// MyQueues reports the queues whose rule accepts agent userID (those
// that may offer him their tasks), as Queues does: what an agent's phone
// bar shows of the queues without the leaders' view of every agent.
func (m Module) MyQueues(ctx context.Context, userID int64) ([]QueueStatus, error) {
	me, err := m.Agents.Agent(ctx, userID)
	if err != nil {
		return nil, err
	}
	agents, err := m.Agents.Agents(ctx)
	if err != nil {
		return nil, err
	}
	return m.queues(agents, &me)
}

// queues counts agents into every queue, or only into those accepting
// only when it is set.
func (m Module) queues(agents []Agent, only *Agent) ([]QueueStatus, error) {
	set := m.Agents.Config.Current()
	states, err := m.Agents.model()
	if err != nil {
		return nil, err
	}
	waiting, oldest := map[string]int{}, map[string]time.Time{}
	if m.Distributor != nil {
		waiting, oldest = m.Distributor.Waiting(), m.Distributor.Oldest()
	}
	out := []QueueStatus{}
	for _, d := range set.All(KindQueue) {
		q := d.Model.(*Queue)
		if only != nil {
			if ok, _ := q.accepts(*only, nil); !ok {
				continue
			}
		}
		qs := QueueStatus{Name: q.Name, Label: q.Label, Strategy: q.Strategy, Waiting: waiting[q.Name]}
		if t, ok := oldest[q.Name]; ok {
			qs.WaitingSince = &t
		}
		for _, a := range agents {
			st, ok := states.State(a.State)
			if !ok || st.Category == SignedOut {
				continue
			}
			if ok, _ := q.accepts(a, nil); ok {
				qs.SignedIn++
				if st.Routable() {
					qs.Idle++
				}
			}
		}
		out = append(out, qs)
	}
	return out, nil
}

// livePoll is how often a live view is read again although this node saw
// no change: agents changed on other nodes, tasks waiting here.
const livePoll = time.Second

// live streams read's value to a subscriber: at once, then whenever this
// node changes an agent, and at least every livePoll, skipping values
// equal to the last one sent.
func (m Module) live(ctx context.Context, read func(context.Context) (any, error)) chan any {
	ch := make(chan any)
	changed, stop := m.Agents.Watch()
	go func() {
		defer close(ch)
		defer stop()
		t := time.NewTicker(livePoll)
		defer t.Stop()
		var last []byte
		for {
			v, err := read(ctx)
			if err != nil && ctx.Err() == nil {
				m.Agents.log().Warn("reading a live view", "err", err)
			}
			if b, jerr := json.Marshal(v); err == nil && jerr == nil && !bytes.Equal(b, last) {
				last = b
				select {
				case ch <- v:
				case <-ctx.Done():
					return
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-changed:
			case <-t.C:
			}
		}
	}()
	return ch
}

// Register implements gql.Module.
func (m Module) Register(b *gql.Builder) error {
	s := m.Agents
	stateType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "AgentStateDef",
		Description: "座席状态（flows/agent_states.yaml）",
		Fields: graphql.Fields{
			"name":     &graphql.Field{Type: gql.NonNull(graphql.String)},
			"label":    &graphql.Field{Type: gql.NonNull(graphql.String)},
			"category": &graphql.Field{Type: gql.NonNull(graphql.String), Description: "signed_out、idle、busy、break、wrapup、reserved、talking"},
			"reasons":  &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(graphql.String)))},
			"manual":   &graphql.Field{Type: gql.NonNull(graphql.Boolean), Description: "座席可自行选择"},
			"maxSeconds": &graphql.Field{Type: graphql.Int, Description: "自动结束前的时长（整理、小休）",
				Resolve: func(p graphql.ResolveParams) (any, error) {
					if st := p.Source.(State); st.Max > 0 {
						return int(st.Max.Seconds()), nil
					}
					return nil, nil
				}},
		},
	})
	agentType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "Agent",
		Description: "座席及其当前状态",
		Fields: graphql.Fields{
			"userId":      &graphql.Field{Type: gql.NonNull(graphql.ID)},
			"username":    &graphql.Field{Type: gql.NonNull(graphql.String)},
			"displayName": &graphql.Field{Type: gql.NonNull(graphql.String)},
			"unit":        &graphql.Field{Type: gql.NonNull(graphql.String)},
			"extension":   &graphql.Field{Type: gql.NonNull(graphql.String), Description: "分机号（话机注册账号）"},
			"skills":      &graphql.Field{Type: gql.NonNull(gql.JSON), Description: "技能及等级（1–10）"},
			"languages":   &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(graphql.String)))},
			"state":       &graphql.Field{Type: gql.NonNull(graphql.String)},
			"stateLabel": &graphql.Field{Type: gql.NonNull(graphql.String),
				Resolve: func(p graphql.ResolveParams) (any, error) {
					a := p.Source.(Agent)
					if m, ok := Model(s.Config.Current()); ok {
						if st, ok := m.State(a.State); ok {
							return st.Label, nil
						}
					}
					return a.State, nil
				}},
			"reason": &graphql.Field{Type: gql.NonNull(graphql.String)},
			"since":  &graphql.Field{Type: gql.NonNull(gql.Time)},
			"task":   &graphql.Field{Type: gql.NonNull(graphql.String), Description: "正在振铃或处理的任务（呼叫编号）"},
			"misses": &graphql.Field{Type: gql.NonNull(graphql.Int), Description: "连续未接次数"},
		},
	})
	queueType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "QueueStatus",
		Description: "队列的实时情况",
		Fields: graphql.Fields{
			"name":         &graphql.Field{Type: gql.NonNull(graphql.String)},
			"label":        &graphql.Field{Type: gql.NonNull(graphql.String)},
			"strategy":     &graphql.Field{Type: gql.NonNull(graphql.String)},
			"waiting":      &graphql.Field{Type: gql.NonNull(graphql.Int), Description: "排队中的任务"},
			"idle":         &graphql.Field{Type: gql.NonNull(graphql.Int), Description: "可接续的空闲座席"},
			"signedIn":     &graphql.Field{Type: gql.NonNull(graphql.Int), Description: "已签入的座席"},
			"waitingSince": &graphql.Field{Type: gql.Time, Description: "等待最久的任务的入队时间（无排队为空）；最长等待 = 现在 − 该时间"},
		},
	})
	supervise := func(p *identity.Principal) error {
		if !p.Can(PermSupervise) {
			return gql.Errorf(gql.Forbidden, "没有监控座席和队列的权限")
		}
		return nil
	}
	b.Query("agentStates", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(stateType))), Description: "座席状态的定义",
		Resolve: identity.Resolve(func(context.Context, *identity.Principal, map[string]any, any) (any, error) {
			m, ok := Model(s.Config.Current())
			if !ok {
				return []State{}, nil
			}
			return m.States, nil
		})})
	b.Query("myAgent", &graphql.Field{Type: gql.NonNull(agentType), Description: "本人的座席状态",
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, _ map[string]any, _ any) (any, error) {
			return s.Agent(ctx, p.UserID)
		})})
	b.Subscription("myAgentLive", &graphql.Field{Type: gql.NonNull(agentType),
		Description: "本人的座席状态，变化即推送（座席话务条：班长强制示忙、振铃、通话、整理结束等）",
		Subscribe: identity.Resolve(func(ctx context.Context, p *identity.Principal, _ map[string]any, _ any) (any, error) {
			if _, err := s.Agent(ctx, p.UserID); err != nil {
				return nil, err
			}
			return m.live(ctx, func(ctx context.Context) (any, error) { return s.Agent(ctx, p.UserID) }), nil
		})})
	b.Query("agents", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(agentType))), Description: "全部座席及状态（班长）",
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, _ map[string]any, _ any) (any, error) {
			if err := supervise(p); err != nil {
				return nil, err
			}
			return s.Agents(ctx)
		})})
	b.Query("queues", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(queueType))), Description: "各队列排队数和座席数（班长）",
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, _ map[string]any, _ any) (any, error) {
			if err := supervise(p); err != nil {
				return nil, err
			}
			return m.Queues(ctx)
		})})
	b.Subscription("agentsLive", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(agentType))),
		Description: "全部座席及状态，变化即推送（班长实时监控；本节点的变化立即推送，其他节点的变化 1 秒内）",
		Subscribe: identity.Resolve(func(ctx context.Context, p *identity.Principal, _ map[string]any, _ any) (any, error) {
			if err := supervise(p); err != nil {
				return nil, err
			}
			return m.live(ctx, func(ctx context.Context) (any, error) { return s.Agents(ctx) }), nil
		})})
	b.Subscription("queuesLive", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(queueType))),
		Description: "各队列排队数和座席数，变化即推送（班长实时监控）",
		Subscribe: identity.Resolve(func(ctx context.Context, p *identity.Principal, _ map[string]any, _ any) (any, error) {
			if err := supervise(p); err != nil {
				return nil, err
			}
			return m.live(ctx, func(ctx context.Context) (any, error) { return m.Queues(ctx) }), nil
		})})
	b.Query("myQueues", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(queueType))), Description: "本人可接续的队列（队列规则接受本座席）的排队数",
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, _ map[string]any, _ any) (any, error) {
			return m.MyQueues(ctx, p.UserID)
		})})
	b.Subscription("myQueuesLive", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(queueType))),
		Description: "本人可接续的队列的排队数，变化即推送（座席话务条）",
		Subscribe: identity.Resolve(func(ctx context.Context, p *identity.Principal, _ map[string]any, _ any) (any, error) {
			if _, err := m.Agents.Agent(ctx, p.UserID); err != nil {
				return nil, err
			}
			return m.live(ctx, func(ctx context.Context) (any, error) { return m.MyQueues(ctx, p.UserID) }), nil
		})})
	b.Mutation("agentSignIn", &graphql.Field{Type: gql.NonNull(agentType), Description: "签入",
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, _ map[string]any, _ any) (any, error) {
			return s.SignIn(ctx, p)
		})})
	b.Mutation("agentSignOut", &graphql.Field{Type: gql.NonNull(agentType), Description: "签出",
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, _ map[string]any, _ any) (any, error) {
			return s.SignOut(ctx, p)
		})})
	stateArgs := graphql.FieldConfigArgument{"state": {Type: gql.NonNull(graphql.String)}, "reason": {Type: graphql.String, DefaultValue: ""}}
	b.Mutation("setAgentState", &graphql.Field{Type: gql.NonNull(agentType), Description: "示闲、示忙、小休、整理等（须为可自行选择的状态，并给出其原因之一）",
		Args: stateArgs,
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			return s.SetState(ctx, p, args["state"].(string), args["reason"].(string))
		})})
	forceArgs := graphql.FieldConfigArgument{"userId": {Type: gql.NonNull(graphql.ID)}, "state": {Type: gql.NonNull(graphql.String)}, "reason": {Type: graphql.String, DefaultValue: ""}}
	b.Mutation("forceAgentState", &graphql.Field{Type: gql.NonNull(agentType), Description: "强制示忙、示闲、签出（班长）",
		Args: forceArgs,
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			id, err := gql.ID(args, "userId")
			if err != nil {
				return nil, err
			}
			return s.Force(ctx, p, id, args["state"].(string), args["reason"].(string))
		})})
	b.Mutation("setAgentProfile", &graphql.Field{Type: gql.NonNull(agentType), Description: "设置座席分机、话机密码、技能（等级 1–10）和语种；下一次分配即生效",
		Args: graphql.FieldConfigArgument{
			"userId":      {Type: gql.NonNull(graphql.ID)},
			"extension":   {Type: gql.NonNull(graphql.String)},
			"sipPassword": {Type: graphql.String, DefaultValue: ""},
			"skills":      {Type: gql.JSON, DefaultValue: map[string]any{}},
			"languages":   {Type: graphql.NewList(gql.NonNull(graphql.String)), DefaultValue: []any{}},
		},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			id, err := gql.ID(args, "userId")
			if err != nil {
				return nil, err
			}
			skills := map[string]int{}
			raw, ok := args["skills"].(map[string]any)
			if !ok && args["skills"] != nil {
				return nil, gql.FieldError("skills", "skills 须为对象，如 {\"hotline\": 5}")
			}
			for k, v := range raw {
				switch n := v.(type) {
				case int:
					skills[k] = n
				case float64: // from variables
					if n != float64(int(n)) {
						return nil, gql.FieldError("skills", "技能 %s 的等级须为整数", k)
					}
					skills[k] = int(n)
				default:
					return nil, gql.FieldError("skills", "技能 %s 的等级须为整数", k)
				}
			}
			var langs []string
			for _, l := range args["languages"].([]any) {
				langs = append(langs, fmt.Sprint(l))
			}
			pw, _ := args["sipPassword"].(string)
			return s.SetProfile(ctx, p, id, Profile{Extension: args["extension"].(string), SIPPassword: pw, Skills: skills, Languages: langs})
		})})
	return nil
}
