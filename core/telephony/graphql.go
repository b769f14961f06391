package telephony

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/graphql-go/graphql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/core/acd"
	"github.com/hotline12345/hotline/core/filestore"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/ivr"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/ticketsearch"
)

// PermRecords lets quality inspectors and team leaders search every call
// and play its recording (话单、录音查询); an agent sees the calls he
// answered without it.
var PermRecords = identity.RegisterPermission("call.records", "查询全部话单并调听录音")

// Call is a call's record as the API shows it.
type Call struct {
	ID          int64      `json:"id"`
	SIPCallID   string     `json:"sipCallId"`
	Direction   string     `json:"direction"`
	Caller      string     `json:"caller"`
	Called      string     `json:"called"`
	Node        string     `json:"node"`
	Menu        string     `json:"menu"`
	Lang        string     `json:"lang"`
	IVRPath     []string   `json:"ivrPath"`
	Outcome     string     `json:"outcome"`
	Queue       string     `json:"queue"`
	Agent       string     `json:"agent"`
	StartedAt   time.Time  `json:"startedAt"`
	AnsweredAt  *time.Time `json:"answeredAt"`
	ConnectedAt *time.Time `json:"connectedAt"`
	EndedAt     *time.Time `json:"endedAt"`
	EndReason   string     `json:"endReason"`
	// Recording is the URL the recording is played from, when one is kept.
	Recording      string      `json:"recording"`
	RecordingBytes int64       `json:"recordingBytes"`
	Tickets        []TicketRef `json:"tickets"`
}

// TicketRef is a ticket bound to a call.
type TicketRef struct {
	ID     int64  `json:"id"`
	Number string `json:"number"`
}

// CallFilter narrows Calls.
type CallFilter struct {
	Caller, Agent string
	From, To      *time.Time
	Ticket        int64
	Recorded      bool
	Live          bool
}

const callColumns = `c.id, c.sip_call_id, c.direction, c.caller, c.called, c.node, COALESCE(c.menu, ''), COALESCE(c.lang, ''), c.ivr_path,
	COALESCE(c.outcome, ''), COALESCE(c.queue, ''), COALESCE(u.username, ''), c.started_at, c.answered_at, c.connected_at, c.ended_at,
	COALESCE(c.end_reason, ''), c.recording IS NOT NULL AND c.recording_deleted_at IS NULL, COALESCE(c.recording_bytes, 0),
	COALESCE((SELECT json_agg(json_build_object('id', t.id, 'number', t.number) ORDER BY t.id) FROM call_tickets ct JOIN tickets t ON t.id = ct.ticket_id WHERE ct.call_id = c.id), '[]')`

// Calls lists calls newest first, after the call id after (0: from the
// newest), at most limit. Without PermRecords p sees only calls p
// answered.
func Calls(ctx context.Context, pool *pgxpool.Pool, p *identity.Principal, f CallFilter, after int64, limit int) ([]Call, error) {
	own := int64(0)
	if !p.Can(PermRecords) {
		own = p.UserID
	}
	rows, err := pool.Query(ctx, `SELECT `+callColumns+` FROM calls c LEFT JOIN users u ON u.id = c.agent_id
		WHERE ($1 = '' OR c.caller = $1) AND ($2 = '' OR u.username = $2)
		AND ($3::timestamptz IS NULL OR c.started_at >= $3) AND ($4::timestamptz IS NULL OR c.started_at < $4)
		AND ($5 = 0 OR EXISTS (SELECT 1 FROM call_tickets ct WHERE ct.call_id = c.id AND ct.ticket_id = $5))
		AND (NOT $6 OR (c.recording IS NOT NULL AND c.recording_deleted_at IS NULL)) AND (NOT $7 OR c.ended_at IS NULL)
		AND ($8 = 0 OR c.agent_id = $8) AND ($9 = 0 OR c.id < $9)
		ORDER BY c.id DESC LIMIT $10`,
		f.Caller, f.Agent, f.From, f.To, f.Ticket, f.Recorded, f.Live, own, after, limit)
	if err != nil {
		return nil, fmt.Errorf("listing calls: %w", err)
	}
	return pgx.CollectRows(rows, scanCall)
}

// scanCall reads a row of callColumns.
func scanCall(r pgx.CollectableRow) (Call, error) {
	var c Call
	var recorded bool
	var tickets []byte
	err := r.Scan(&c.ID, &c.SIPCallID, &c.Direction, &c.Caller, &c.Called, &c.Node, &c.Menu, &c.Lang, &c.IVRPath,
		&c.Outcome, &c.Queue, &c.Agent, &c.StartedAt, &c.AnsweredAt, &c.ConnectedAt, &c.EndedAt, &c.EndReason, &recorded, &c.RecordingBytes, &tickets)
	if err != nil {
		return c, err
	}
	if recorded {
		c.Recording = "/recordings/" + strconv.FormatInt(c.ID, 10)
	}
	return c, json.Unmarshal(tickets, &c.Tickets)
}

// CallEvent is one event of a call.
type CallEvent struct {
	Seq  int            `json:"seq"`
	At   time.Time      `json:"at"`
	Kind string         `json:"kind"`
	Data map[string]any `json:"data"`
}

func callEvents(ctx context.Context, pool *pgxpool.Pool, callID int64) ([]CallEvent, error) {
	rows, err := pool.Query(ctx, `SELECT seq, at, kind, data FROM call_events WHERE call_id = $1 ORDER BY seq`, callID)
	if err != nil {
		return nil, fmt.Errorf("reading the events of call %d: %w", callID, err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[CallEvent])
}

// Module is telephony's part of the GraphQL API: the call records with
// their recordings and tickets, agents' screen pops, and a team leader's
// controls over live calls. Server is nil on a node that serves no SIP.
type Module struct {
	Pool   *pgxpool.Pool
	Server *Server
	Agents *acd.Service
	// Tickets finds the caller's open tickets for the screen pop (the
	// in-transit hint).
	Tickets *ticketsearch.Searcher
	// Files keeps the recordings served by Routes (the server's Files;
	// set too on a node that takes no calls).
	Files filestore.Store
	// Config is the running configuration: the menus whose node labels
	// name a call's path.
	Config *registry.Runtime
}

// Name implements gql.Module.
func (Module) Name() string { return "telephony" }

// Register implements gql.Module.
func (m Module) Register(b *gql.Builder) error {
	ticketType := graphql.NewObject(graphql.ObjectConfig{
		Name: "CallTicket", Description: "由通话登记的工单",
		Fields: graphql.Fields{
			"id":     &graphql.Field{Type: gql.NonNull(graphql.ID)},
			"number": &graphql.Field{Type: gql.NonNull(graphql.String)},
		},
	})
	eventType := graphql.NewObject(graphql.ObjectConfig{
		Name: "CallEvent", Description: "通话事件：offered 呼入、answered 应答、key 按键、ivr 离开菜单、queued 排队、ringing 振铃座席、connected 接通、recorded 录音、monitor 监听/强插、released 强拆、abandoned 放弃、ended 结束等",
		Fields: graphql.Fields{
			"seq":  &graphql.Field{Type: gql.NonNull(graphql.Int)},
			"at":   &graphql.Field{Type: gql.NonNull(gql.Time)},
			"kind": &graphql.Field{Type: gql.NonNull(graphql.String)},
			"data": &graphql.Field{Type: gql.NonNull(gql.JSON)},
		},
	})
	str := gql.NonNull(graphql.String)
	callType := graphql.NewObject(graphql.ObjectConfig{
		Name: "Call", Description: "话单：一次通话的记录",
		Fields: graphql.Fields{
			"id":        &graphql.Field{Type: gql.NonNull(graphql.ID)},
			"sipCallId": &graphql.Field{Type: str, Description: "SIP Call-ID，即工单的会话编号"},
			"direction": &graphql.Field{Type: str, Description: "inbound 呼入、outbound 呼出"},
			"caller":    &graphql.Field{Type: str, Description: "主叫号码"},
			"called":    &graphql.Field{Type: str, Description: "被叫号码"},
			"node":      &graphql.Field{Type: str, Description: "处理该通话的节点"},
			"menu":      &graphql.Field{Type: str, Description: "语音导航菜单"},
			"lang":      &graphql.Field{Type: str, Description: "语种"},
			"ivrPath":   &graphql.Field{Type: gql.NonNull(graphql.NewList(str)), Description: "经过的菜单节点"},
			"ivrPathLabels": &graphql.Field{Type: gql.NonNull(graphql.NewList(str)), Description: "经过的菜单节点的名称（取自该菜单的配置；节点已删除时为其名字）",
				Resolve: func(p graphql.ResolveParams) (any, error) {
					c := p.Source.(Call)
					return pathLabels(m.Config, c.Menu, c.IVRPath), nil
				}},
			"outcome":        &graphql.Field{Type: str, Description: "queue 转人工、voicemail 留言、callback 预约回拨、hangup、abandoned 放弃、rejected 拒绝"},
			"queue":          &graphql.Field{Type: str},
			"agent":          &graphql.Field{Type: str, Description: "接听座席（用户名）"},
			"startedAt":      &graphql.Field{Type: gql.NonNull(gql.Time)},
			"answeredAt":     &graphql.Field{Type: gql.Time, Description: "系统应答（进入语音导航）"},
			"connectedAt":    &graphql.Field{Type: gql.Time, Description: "座席接通"},
			"endedAt":        &graphql.Field{Type: gql.Time},
			"endReason":      &graphql.Field{Type: str},
			"recording":      &graphql.Field{Type: str, Description: "录音地址（GET，带登录令牌）；无录音或已过保存期为空"},
			"recordingBytes": &graphql.Field{Type: gql.NonNull(graphql.Int)},
			"tickets":        &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(ticketType)))},
			"events": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(eventType))),
				Resolve: func(p graphql.ResolveParams) (any, error) {
					return callEvents(p.Context, m.Pool, p.Source.(Call).ID)
				}},
		},
	})
	args := graphql.FieldConfigArgument{
		"caller":   {Type: graphql.String, Description: "主叫号码"},
		"agent":    {Type: graphql.String, Description: "接听座席用户名"},
		"from":     {Type: gql.Time, Description: "开始时间不早于"},
		"to":       {Type: gql.Time, Description: "开始时间早于"},
		"ticket":   {Type: graphql.ID, Description: "关联的工单"},
		"recorded": {Type: graphql.Boolean, Description: "只要有录音的", DefaultValue: false},
		"live":     {Type: graphql.Boolean, Description: "只要进行中的", DefaultValue: false},
	}
	for k, v := range gql.PageArgs {
		args[k] = v
	}
	b.Query("calls", &graphql.Field{Type: gql.NonNull(gql.Connection(callType)), Args: args,
		Description: "话单与录音查询，新的在前（无 call.records 权限只见本人接听的）",
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			page, err := gql.PageFrom(args)
			if err != nil {
				return nil, err
			}
			f := CallFilter{Recorded: args["recorded"].(bool), Live: args["live"].(bool)}
			f.Caller, _ = args["caller"].(string)
			f.Agent, _ = args["agent"].(string)
			if t, ok := args["from"].(time.Time); ok {
				f.From = &t
			}
			if t, ok := args["to"].(time.Time); ok {
				f.To = &t
			}
			if args["ticket"] != nil {
				if f.Ticket, err = gql.ID(args, "ticket"); err != nil {
					return nil, err
				}
			}
			calls, err := Calls(ctx, m.Pool, p, f, page.After, page.First+1)
			if err != nil {
				return nil, err
			}
			return gql.ConnectionOf(calls, page, func(c Call) int64 { return c.ID }), nil
		})})
	modes := graphql.NewEnum(graphql.EnumConfig{Name: "MonitorMode", Description: "班长加入通话的方式",
		Values: graphql.EnumValueConfigMap{
			"LISTEN":  {Value: ModeListen, Description: "监听：班长听双方，双方听不到班长"},
			"WHISPER": {Value: ModeWhisper, Description: "耳语：座席听得到班长，市民听不到"},
			"BARGE":   {Value: ModeBarge, Description: "强插：三方互相听到"},
		}})
	// live is the server and the call id a control over a live call needs.
	live := func(args map[string]any) (*Server, int64, error) {
		if m.Server == nil || !m.Server.ready.Load() {
			return nil, 0, gql.Errorf(gql.Conflict, "本节点未启用电话服务")
		}
		id, err := gql.ID(args, "call")
		return m.Server, id, err
	}
	b.Mutation("monitorCall", &graphql.Field{Type: gql.NonNull(graphql.Boolean),
		Description: "班长监听、耳语或强插一通已接通的通话：呼叫班长本人的分机，接听即加入；已在通话中则切换方式",
		Args:        graphql.FieldConfigArgument{"call": {Type: gql.NonNull(graphql.ID)}, "mode": {Type: gql.NonNull(modes)}},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			s, id, err := live(args)
			if err != nil {
				return nil, err
			}
			return true, s.Monitor(ctx, p, id, args["mode"].(string))
		})})
	b.Mutation("dial", &graphql.Field{Type: gql.NonNull(graphql.ID),
		Description: "外呼（点击拨号、回访）：先呼叫本人分机，接听后经中继拨打号码，失败时换下一条中继；返回话单编号",
		Args: graphql.FieldConfigArgument{
			"number": {Type: gql.NonNull(graphql.String), Description: "被叫号码"},
			"ticket": {Type: graphql.ID, Description: "关联的工单（回访）"},
		},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			if m.Server == nil || !m.Server.ready.Load() || m.Server.registrar == nil {
				return nil, gql.Errorf(gql.Conflict, "本节点未启用电话服务")
			}
			var ticket int64
			if args["ticket"] != nil {
				var err error
				if ticket, err = gql.ID(args, "ticket"); err != nil {
					return nil, err
				}
			}
			id, err := m.Server.Dial(ctx, p, args["number"].(string), ticket)
			return strconv.FormatInt(id, 10), err
		})})
	trunkType := graphql.NewObject(graphql.ObjectConfig{
		Name: "Trunk", Description: "中继线路及其注册、并发情况",
		Fields: graphql.Fields{
			"name":          &graphql.Field{Type: str},
			"label":         &graphql.Field{Type: str},
			"registers":     &graphql.Field{Type: gql.NonNull(graphql.Boolean), Description: "本节点是否向运营商注册"},
			"registered":    &graphql.Field{Type: gql.NonNull(graphql.Boolean), Description: "本节点当前是否已注册成功"},
			"registeredAt":  &graphql.Field{Type: gql.Time},
			"registerError": &graphql.Field{Type: str, Description: "注册失败的原因"},
			"maxCalls":      &graphql.Field{Type: gql.NonNull(graphql.Int), Description: "并发上限（0 为不限）"},
			"liveCalls":     &graphql.Field{Type: gql.NonNull(graphql.Int), Description: "各节点当前经此中继的通话"},
		},
	})
	b.Query("trunks", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(trunkType))), Description: "中继状态（班长、管理员）",
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, _ map[string]any, _ any) (any, error) {
			if !p.Can(acd.PermSupervise) && !p.Can(acd.PermManage) {
				return nil, gql.Errorf(gql.Forbidden, "没有查看中继的权限")
			}
			if m.Server == nil || !m.Server.ready.Load() {
				return []TrunkStatus{}, nil
			}
			return m.Server.Trunks(ctx)
		})})
	popTicketType := graphql.NewObject(graphql.ObjectConfig{
		Name: "ScreenPopTicket", Description: "来电人的在途工单",
		Fields: graphql.Fields{
			"id":        &graphql.Field{Type: gql.NonNull(graphql.ID)},
			"number":    &graphql.Field{Type: str},
			"title":     &graphql.Field{Type: str, Description: "工单摘要：登记表单 summary 所指字段的内容"},
			"state":     &graphql.Field{Type: str},
			"createdAt": &graphql.Field{Type: gql.NonNull(gql.Time)},
		},
	})
	popType := graphql.NewObject(graphql.ObjectConfig{
		Name: "ScreenPop", Description: "来电弹屏：振铃或接通时推送给座席",
		Fields: graphql.Fields{
			"call":        &graphql.Field{Type: gql.NonNull(callType)},
			"state":       &graphql.Field{Type: str, Description: "座席状态：振铃或通话"},
			"vars":        &graphql.Field{Type: gql.NonNull(gql.JSON), Description: "来电人在语音导航中的选择（如诉求类型）"},
			"inTransit":   &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(popTicketType))), Description: "同一号码未办结的工单"},
			"recentCalls": &graphql.Field{Type: gql.NonNull(graphql.Int), Description: "该号码近 7 天的其他来电次数（重复来电）"},
		},
	})
	b.Subscription("screenPop", &graphql.Field{Type: gql.NonNull(popType),
		Description: "来电弹屏：来电振铃本人话机、接通时各推送一次（主叫号码、语音导航路径、在途工单）",
		Subscribe: identity.Resolve(func(ctx context.Context, p *identity.Principal, _ map[string]any, _ any) (any, error) {
			pops, err := m.ScreenPops(ctx, p)
			if err != nil {
				return nil, err
			}
			out := make(chan any)
			goSafe(nil, "a screen-pop subscription", func() {
				defer close(out)
				for pop := range pops {
					select {
					case out <- pop:
					case <-ctx.Done():
						return
					}
				}
			})
			return out, nil
		})})
	b.Mutation("transferCall", &graphql.Field{Type: gql.NonNull(graphql.Boolean),
		Description: "转接本人正在处理的通话（班长可转接任何通话）：转到队列（重新排队）、座席分机或外线号码之一；本座席挂断并进入整理",
		Args: graphql.FieldConfigArgument{
			"call":      {Type: gql.NonNull(graphql.ID)},
			"queue":     {Type: graphql.String, Description: "队列名，如 enterprise"},
			"extension": {Type: graphql.String, Description: "座席分机"},
			"number":    {Type: graphql.String, Description: "外线号码（经中继拨打）"},
		},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			s, id, err := live(args)
			if err != nil {
				return nil, err
			}
			str := func(k string) string { v, _ := args[k].(string); return v }
			return true, s.Transfer(ctx, p, id, str("queue"), str("extension"), str("number"))
		})})
	b.Mutation("releaseCall", &graphql.Field{Type: gql.NonNull(graphql.Boolean),
		Description: "强拆：结束一通已接通的通话（市民和座席两端都挂断）",
		Args:        graphql.FieldConfigArgument{"call": {Type: gql.NonNull(graphql.ID)}},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			s, id, err := live(args)
			if err != nil {
				return nil, err
			}
			return true, s.Release(ctx, p, id)
		})})
	return nil
}

// recordingNotFound answers both a missing call and one the user may not
// see, so that the two cannot be told apart.
const recordingNotFound = "没有这通电话，或您无权调听其录音"

// RecordingHandler serves GET /recordings/{id}: a call's recording as
// WAV, to whoever may see the call (PermRecords, or the agent who took
// it), from the file store shared by the nodes: any node serves any
// call's recording.
func RecordingHandler(pool *pgxpool.Pool, files filestore.Store, signIn func(*http.Request) (*identity.Principal, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := signIn(r)
		if err != nil || p == nil {
			http.Error(w, "请先登录", http.StatusUnauthorized)
			return
		}
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			http.Error(w, "通话编号无效", http.StatusBadRequest)
			return
		}
		var key string
		var agent *int64
		var deleted bool
		var ended time.Time
		err = pool.QueryRow(r.Context(), `SELECT COALESCE(recording, ''), agent_id, recording_deleted_at IS NOT NULL, COALESCE(ended_at, started_at)
			FROM calls WHERE id = $1`, id).Scan(&key, &agent, &deleted, &ended)
		switch {
		case errors.Is(err, pgx.ErrNoRows), err == nil && !p.Can(PermRecords) && (agent == nil || *agent != p.UserID):
			// A call one may not hear is answered as one that does not
			// exist: a 403 would tell a stranger which call numbers are
			// real.
			http.Error(w, recordingNotFound, http.StatusNotFound)
			return
		case err != nil:
			http.Error(w, "内部错误，请稍后重试", http.StatusInternalServerError)
			return
		case key == "" || deleted:
			http.Error(w, "这通电话没有录音，或录音已过保存期", http.StatusNotFound)
			return
		}
		f, err := files.Open(r.Context(), key)
		if errors.Is(err, fs.ErrNotExist) {
			http.Error(w, "录音文件不存在", http.StatusNotFound)
			return
		}
		if err != nil {
			http.Error(w, "录音文件暂不可读，请稍后重试", http.StatusInternalServerError)
			return
		}
		defer f.Close()
		w.Header().Set("Content-Type", "audio/wav")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="call-%d.wav"`, id))
		http.ServeContent(w, r, "", ended, f)
	})
}

// pathLabels names the nodes of a call's path as the running menu labels
// them; a node without a label, or no longer in the menu, by its name.
func pathLabels(config *registry.Runtime, menu string, path []string) []string {
	out := slices.Clone(path)
	if out == nil {
		out = []string{}
	}
	if config == nil || config.Current() == nil {
		return out
	}
	mn, ok := registry.Model[*ivr.Menu](config.Current(), ivr.Kind, menu)
	if !ok {
		return out
	}
	for i, name := range out {
		for _, n := range mn.Nodes {
			if n.Name == name && n.Label != "" {
				out[i] = n.Label
			}
		}
	}
	return out
}
