package callstats

import (
	"context"
	"time"

	"github.com/graphql-go/graphql"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
)

// PermRecords is the permission the statistics are gated by: call.records
// (查询全部话单并调听录音), which core/telephony registers and the leader
// role grants. It is referred to by name so that this package does not
// depend on core/telephony; a principal's permissions are names.
const PermRecords = "call.records"

// Module is the statistics' part of the GraphQL API: the query callStats.
type Module struct {
	Pool *pgxpool.Pool
}

// Name implements gql.Module.
func (Module) Name() string { return "callstats" }

// measuresOf returns the measures of any row of a report.
func measuresOf(src any) Measures {
	switch v := src.(type) {
	case Measures:
		return v
	case QueueStats:
		return v.Measures
	case AgentStats:
		return v.Measures
	case HourStats:
		return v.Measures
	}
	return Measures{}
}

// measureFields are the fields every row of a report has.
func measureFields() graphql.Fields {
	count := func(desc string, get func(Measures) int) *graphql.Field {
		return &graphql.Field{Type: gql.NonNull(graphql.Int), Description: desc,
			Resolve: func(p graphql.ResolveParams) (any, error) { return get(measuresOf(p.Source)), nil }}
	}
	float := func(desc string, get func(Measures) *float64) *graphql.Field {
		return &graphql.Field{Type: graphql.Float, Description: desc,
			Resolve: func(p graphql.ResolveParams) (any, error) {
				if v := get(measuresOf(p.Source)); v != nil {
					return *v, nil
				}
				return nil, nil
			}}
	}
	return graphql.Fields{
		"calls":               count("呼入量：时段内开始的呼入电话", func(m Measures) int { return m.Calls }),
		"ivrOnly":             count("仅语音导航：未转人工即结束（自助、留言、预约回拨、转接、菜单中挂机）", func(m Measures) int { return m.IVROnly }),
		"offered":             count("转人工量：进入队列的呼叫", func(m Measures) int { return m.Offered }),
		"answered":            count("人工接通量", func(m Measures) int { return m.Answered }),
		"answeredInThreshold": count("阈值内接通量：排队后不超过服务水平阈值（默认 15 秒）接通", func(m Measures) int { return m.AnsweredInThreshold }),
		"abandoned":           count("排队放弃量：排队中市民挂机", func(m Measures) int { return m.Abandoned }),
		"shortAbandoned":      count("短放弃量：排队不超过短放弃阈值（默认 5 秒）即挂机，不计入服务水平", func(m Measures) int { return m.ShortAbandoned }),
		"unresolved":          count("排队后既未接通也未放弃（排队失败、仍在排队或因重启中断）", func(m Measures) int { return m.Unresolved }),
		"serviceLevel":        float("服务水平（15 秒接通率）= 阈值内接通量 ÷ (转人工量 − 短放弃量)，0–1；无转人工为 null", func(m Measures) *float64 { return m.ServiceLevel }),
		"answerRate":          float("人工接通率 = 人工接通量 ÷ 转人工量，0–1", func(m Measures) *float64 { return m.AnswerRate }),
		"abandonRate":         float("放弃率 = 排队放弃量 ÷ 转人工量，0–1", func(m Measures) *float64 { return m.AbandonRate }),
		"asaSeconds":          float("平均应答速度 ASA（秒）：排队到座席接通", func(m Measures) *float64 { return m.ASASeconds }),
		"avgWaitSeconds":      float("平均排队时长（秒）：排队到接通、放弃或结束", func(m Measures) *float64 { return m.AvgWaitSeconds }),
		"maxWaitSeconds":      float("最长排队时长（秒）", func(m Measures) *float64 { return m.MaxWaitSeconds }),
		"avgAbandonSeconds":   float("平均放弃前等待时长（秒）", func(m Measures) *float64 { return m.AvgAbandonSeconds }),
		"ahtSeconds":          float("平均处理时长 AHT（秒）：平均通话时长（接通到挂机），不含话后整理", func(m Measures) *float64 { return m.AHTSeconds }),
		"talkSeconds":         float("通话总时长（秒）", func(m Measures) *float64 { return m.TalkSeconds }),
	}
}

// rowType makes a row type with the measures and the given key fields.
func rowType(name, desc string, keys graphql.Fields) *graphql.Object {
	fields := measureFields()
	for k, f := range keys {
		fields[k] = f
	}
	return graphql.NewObject(graphql.ObjectConfig{Name: name, Description: desc, Fields: fields})
}

// Register implements gql.Module.
func (m Module) Register(b *gql.Builder) error {
	str := gql.NonNull(graphql.String)
	overallType := rowType("CallMeasures", "话务统计指标（时长单位为秒，比率为 0–1）", graphql.Fields{})
	queueType := rowType("QueueCallStats", "按队列的话务统计", graphql.Fields{
		"queue": &graphql.Field{Type: str, Description: "队列"},
	})
	agentType := rowType("AgentCallStats", "按座席的话务统计（该座席接通的呼叫）", graphql.Fields{
		"userId":      &graphql.Field{Type: gql.NonNull(graphql.ID)},
		"username":    &graphql.Field{Type: str},
		"displayName": &graphql.Field{Type: str},
	})
	hourType := rowType("HourCallStats", "按时段（一天中的小时）的话务统计", graphql.Fields{
		"hour": &graphql.Field{Type: gql.NonNull(graphql.Int), Description: "小时（0–23，按 from 的时区偏移）"},
	})
	report := func(get func(*Report) any) graphql.FieldResolveFn {
		return func(p graphql.ResolveParams) (any, error) { return get(p.Source.(*Report)), nil }
	}
	statsType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "CallStats",
		Description: "话务统计：转人工、接通、放弃、服务水平、平均应答速度、平均处理时长等",
		Fields: graphql.Fields{
			"from":                &graphql.Field{Type: gql.NonNull(gql.Time), Resolve: report(func(r *Report) any { return r.Query.From })},
			"to":                  &graphql.Field{Type: gql.NonNull(gql.Time), Resolve: report(func(r *Report) any { return r.Query.To })},
			"queue":               &graphql.Field{Type: graphql.String, Resolve: report(func(r *Report) any { return gql.NilIfEmpty(r.Query.Queue) })},
			"serviceLevelSeconds": &graphql.Field{Type: gql.NonNull(graphql.Int), Resolve: report(func(r *Report) any { return r.Query.ServiceLevelSeconds })},
			"shortAbandonSeconds": &graphql.Field{Type: gql.NonNull(graphql.Int), Resolve: report(func(r *Report) any { return r.Query.ShortAbandonSeconds })},
			"overall":             &graphql.Field{Type: gql.NonNull(overallType), Description: "总体", Resolve: report(func(r *Report) any { return r.Overall })},
			"byQueue": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(queueType))), Description: "按队列，按队列名排序",
				Resolve: report(func(r *Report) any { return r.ByQueue })},
			"byAgent": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(agentType))), Description: "按座席，按用户名排序",
				Resolve: report(func(r *Report) any { return r.ByAgent })},
			"byHour": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(hourType))), Description: "按小时，0–23 点各一行",
				Resolve: report(func(r *Report) any { return r.ByHour })},
		},
	})
	b.Query("callStats", &graphql.Field{Type: gql.NonNull(statsType),
		Description: "话务统计（需 call.records 权限）：时段 [from, to) 内开始的呼入，最长 366 天",
		Args: graphql.FieldConfigArgument{
			"from":                {Type: gql.NonNull(gql.Time), Description: "开始时间（含）"},
			"to":                  {Type: gql.NonNull(gql.Time), Description: "结束时间（不含）"},
			"queue":               {Type: graphql.String, Description: "只统计该队列"},
			"serviceLevelSeconds": {Type: graphql.Int, DefaultValue: DefaultServiceLevelSeconds, Description: "服务水平阈值（秒，1–600）"},
			"shortAbandonSeconds": {Type: graphql.Int, DefaultValue: DefaultShortAbandonSeconds, Description: "短放弃阈值（秒，1–600）"},
		},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			if err := p.Require(PermRecords); err != nil {
				return nil, err
			}
			q, err := queryFrom(args)
			if err != nil {
				return nil, err
			}
			return Compute(ctx, m.Pool, q)
		})})
	return nil
}

// queryFrom reads callStats' arguments. An explicit 0 or null threshold
// is refused or defaulted here, not left to Query's zero-means-default.
func queryFrom(args map[string]any) (Query, error) {
	from, ok := args["from"].(time.Time)
	if !ok {
		return Query{}, gql.FieldError("from", "from 须为 RFC 3339 时间")
	}
	to, ok := args["to"].(time.Time)
	if !ok {
		return Query{}, gql.FieldError("to", "to 须为 RFC 3339 时间")
	}
	q := Query{From: from, To: to, ServiceLevelSeconds: DefaultServiceLevelSeconds, ShortAbandonSeconds: DefaultShortAbandonSeconds}
	q.Queue, _ = args["queue"].(string)
	thresholds := []struct {
		field string
		dst   *int
	}{{"serviceLevelSeconds", &q.ServiceLevelSeconds}, {"shortAbandonSeconds", &q.ShortAbandonSeconds}}
	for _, t := range thresholds {
		if v, ok := args[t.field].(int); ok {
			if err := checkThreshold(t.field, v); err != nil {
				return Query{}, err
			}
			*t.dst = v
		}
	}
	return q, q.Validate()
}
