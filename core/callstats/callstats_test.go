package callstats_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/graphql-go/graphql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/callstats"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/pgtest"
	"github.com/hotline12345/hotline/deploy/gen/gentest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// cst is China Standard Time as a fixed zone, as a GraphQL client's
// "+08:00" arrives.
var cst = time.FixedZone("", 8*3600)

// day is the window of the tests: 2 March 2026, Beijing time.
var day = time.Date(2026, 3, 2, 0, 0, 0, 0, cst)

// synth is a call to insert. Offsets are from the start; zero means the
// event did not happen.
type synth struct {
	start     time.Time
	direction string // "" is inbound
	outcome   string
	queue     string
	queued    time.Duration
	connected time.Duration
	abandoned time.Duration
	ended     time.Duration
	agent     int64
}

const sec = time.Second

// insert writes the call's row and events as core/telephony would.
func insert(t *testing.T, w *gentest.World, c synth) int64 {
	t.Helper()
	ctx := context.Background()
	at := func(d time.Duration) *time.Time {
		if d == 0 {
			return nil
		}
		v := c.start.Add(d)
		return &v
	}
	direction := c.direction
	if direction == "" {
		direction = "inbound"
	}
	var queue *string
	if c.queue != "" {
		queue = &c.queue
	}
	var agent *int64
	if c.agent != 0 {
		agent = &c.agent
	}
	answered := at(2 * sec)
	if c.outcome == "rejected" {
		answered = nil
	}
	var id int64
	require.NoError(t, w.Pool.QueryRow(ctx, `INSERT INTO calls (sip_call_id, direction, caller, called, node, menu, outcome, queue, agent_id,
		started_at, answered_at, connected_at, ended_at, end_reason)
		VALUES ('sip-' || gen_random_uuid(), $1, '13800000000', '12345', 'test', 'main', NULLIF($2, ''), $3, $4, $5, $6, $7, $8, 'test')
		RETURNING id`, direction, c.outcome, queue, agent, c.start, answered, at(c.connected), at(c.ended)).Scan(&id))
	seq := 0
	event := func(when time.Time, kind string, data map[string]any) {
		seq++
		b, err := json.Marshal(data)
		require.NoError(t, err)
		_, err = w.Pool.Exec(ctx, `INSERT INTO call_events (call_id, seq, at, kind, data) VALUES ($1, $2, $3, $4, $5)`, id, seq, when, kind, b)
		require.NoError(t, err)
	}
	if c.outcome == "rejected" {
		event(c.start, "rejected", map[string]any{"reason": "no menu"})
		return id
	}
	event(c.start, "offered", map[string]any{"menu": "main"})
	event(*answered, "answered", nil)
	if c.queued != 0 {
		event(c.start.Add(c.queued-sec), "ivr", map[string]any{"queue": c.queue})
		event(c.start.Add(c.queued), "queued", map[string]any{"queue": c.queue, "skills": map[string]any{}, "priority": 0})
	}
	if c.connected != 0 {
		event(c.start.Add(c.connected-sec), "ringing", map[string]any{"agent": "x", "extension": "8001"})
		event(c.start.Add(c.connected), "connected", map[string]any{"agent": "x", "extension": "8001"})
	}
	if c.abandoned != 0 {
		event(c.start.Add(c.abandoned), "abandoned", map[string]any{"queue": c.queue})
	}
	if c.ended != 0 {
		event(c.start.Add(c.ended), "ended", map[string]any{"reason": "test"})
	}
	return id
}

// centre is a database with the calls of one day: two queues, two agents.
type centre struct {
	w             *gentest.World
	agent, agent2 *identity.Principal
}

func newCentre(t *testing.T) *centre {
	t.Helper()
	w := gentest.New(t, 0)
	c := &centre{w: w, agent: w.As(t, "agent"), agent2: w.As(t, "agent2")}
	a, a2 := c.agent.UserID, c.agent2.UserID
	at := func(h, m, s int) time.Time {
		return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*sec)
	}
	for _, s := range []synth{
		// 09:00 hotline, waits 10 s, talks 60 s with agent.
		{start: at(9, 0, 0), outcome: "queue", queue: "hotline", queued: 10 * sec, connected: 20 * sec, ended: 80 * sec, agent: a},
		// 09:10 hotline, waits 20 s, talks 120 s with agent2.
		{start: at(9, 10, 0), outcome: "queue", queue: "hotline", queued: 10 * sec, connected: 30 * sec, ended: 150 * sec, agent: a2},
		// 09:20 hotline, hangs up after 3 s in queue: a short abandon.
		{start: at(9, 20, 0), outcome: "queue", queue: "hotline", queued: 10 * sec, abandoned: 13 * sec, ended: 13 * sec},
		// 10:05 mongolian, hangs up after 30 s in queue.
		{start: at(10, 5, 0), outcome: "queue", queue: "mongolian", queued: 5 * sec, abandoned: 35 * sec, ended: 35 * sec},
		// 10:15 mongolian, waits exactly 15 s, talks 90 s with agent.
		{start: at(10, 15, 0), outcome: "queue", queue: "mongolian", queued: 5 * sec, connected: 20 * sec, ended: 110 * sec, agent: a},
		// 10:30 and 11:00: IVR only.
		{start: at(10, 30, 0), outcome: "voicemail", ended: 60 * sec},
		{start: at(11, 0, 0), outcome: "hangup", ended: 20 * sec},
		// 11:10 rejected: no menu for the number.
		{start: at(11, 10, 0), outcome: "rejected"},
		// 11:30 hotline: the queue failed after 40 s.
		{start: at(11, 30, 0), outcome: "queue", queue: "hotline", queued: 10 * sec, ended: 50 * sec},
		// 00:00:00 exactly, the window's first instant: IVR only.
		{start: day, outcome: "hangup", ended: 10 * sec},
		// Not counted: outbound, the day before, the window's end.
		{start: at(9, 30, 0), direction: "outbound", outcome: "queue", queue: "hotline", queued: 1 * sec, connected: 2 * sec, ended: 9 * sec, agent: a},
		{start: at(-1, 0, 0), outcome: "queue", queue: "hotline", queued: 10 * sec, connected: 20 * sec, ended: 80 * sec, agent: a},
		{start: at(24, 0, 0), outcome: "queue", queue: "hotline", queued: 10 * sec, connected: 20 * sec, ended: 80 * sec, agent: a},
	} {
		insert(t, w, s)
	}
	return c
}

func f(v float64) *float64 { return &v }

// approx compares measures, the floats to a microsecond.
func approx(t *testing.T, want, got callstats.Measures, msg string) {
	t.Helper()
	floats := func(m callstats.Measures) []*float64 {
		return []*float64{m.ServiceLevel, m.AnswerRate, m.AbandonRate, m.ASASeconds, m.AvgWaitSeconds, m.MaxWaitSeconds, m.AvgAbandonSeconds, m.AHTSeconds, m.TalkSeconds}
	}
	names := []string{"serviceLevel", "answerRate", "abandonRate", "asa", "avgWait", "maxWait", "avgAbandon", "aht", "talk"}
	wf, gf := floats(want), floats(got)
	for i := range wf {
		if wf[i] == nil {
			assert.Nil(t, gf[i], "%s: %s", msg, names[i])
			continue
		}
		if assert.NotNil(t, gf[i], "%s: %s", msg, names[i]) {
			assert.InDelta(t, *wf[i], *gf[i], 1e-6, "%s: %s", msg, names[i])
		}
	}
	counts := func(m callstats.Measures) []int {
		return []int{m.Calls, m.IVROnly, m.Offered, m.Answered, m.AnsweredInThreshold, m.Abandoned, m.ShortAbandoned, m.Unresolved}
	}
	assert.Equal(t, counts(want), counts(got), "%s: calls, ivrOnly, offered, answered, inThreshold, abandoned, short, unresolved", msg)
}

func TestReport(t *testing.T) {
	c := newCentre(t)
	r, err := callstats.Compute(context.Background(), c.w.Pool, callstats.Query{From: day, To: day.Add(24 * time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, 15, r.Query.ServiceLevelSeconds)
	assert.Equal(t, 5, r.Query.ShortAbandonSeconds)

	approx(t, callstats.Measures{
		Calls: 10, IVROnly: 3, Offered: 6, Answered: 3, AnsweredInThreshold: 2, Abandoned: 2, ShortAbandoned: 1, Unresolved: 1,
		ServiceLevel: f(2.0 / 5), AnswerRate: f(3.0 / 6), AbandonRate: f(2.0 / 6),
		ASASeconds: f(15), AvgWaitSeconds: f((10 + 20 + 3 + 30 + 15 + 40) / 6.0), MaxWaitSeconds: f(40), AvgAbandonSeconds: f(16.5),
		AHTSeconds: f(90), TalkSeconds: f(270),
	}, r.Overall, "overall")

	require.Len(t, r.ByQueue, 2)
	assert.Equal(t, "hotline", r.ByQueue[0].Queue)
	approx(t, callstats.Measures{
		Calls: 4, Offered: 4, Answered: 2, AnsweredInThreshold: 1, Abandoned: 1, ShortAbandoned: 1, Unresolved: 1,
		ServiceLevel: f(1.0 / 3), AnswerRate: f(0.5), AbandonRate: f(0.25),
		ASASeconds: f(15), AvgWaitSeconds: f((10 + 20 + 3 + 40) / 4.0), MaxWaitSeconds: f(40), AvgAbandonSeconds: f(3),
		AHTSeconds: f(90), TalkSeconds: f(180),
	}, r.ByQueue[0].Measures, "hotline")
	assert.Equal(t, "mongolian", r.ByQueue[1].Queue)
	approx(t, callstats.Measures{
		Calls: 2, Offered: 2, Answered: 1, AnsweredInThreshold: 1, Abandoned: 1,
		ServiceLevel: f(0.5), AnswerRate: f(0.5), AbandonRate: f(0.5),
		ASASeconds: f(15), AvgWaitSeconds: f(22.5), MaxWaitSeconds: f(30), AvgAbandonSeconds: f(30),
		AHTSeconds: f(90), TalkSeconds: f(90),
	}, r.ByQueue[1].Measures, "mongolian")

	require.Len(t, r.ByAgent, 2)
	assert.Equal(t, []string{"agent", "agent2"}, []string{r.ByAgent[0].Username, r.ByAgent[1].Username})
	assert.Equal(t, c.agent.UserID, r.ByAgent[0].UserID)
	assert.Equal(t, "话务员 王丽", r.ByAgent[0].DisplayName)
	approx(t, callstats.Measures{
		Calls: 2, Offered: 2, Answered: 2, AnsweredInThreshold: 2,
		ServiceLevel: f(1), AnswerRate: f(1), AbandonRate: f(0),
		ASASeconds: f(12.5), AvgWaitSeconds: f(12.5), MaxWaitSeconds: f(15), AHTSeconds: f(75), TalkSeconds: f(150),
	}, r.ByAgent[0].Measures, "agent")
	approx(t, callstats.Measures{
		Calls: 1, Offered: 1, Answered: 1,
		ServiceLevel: f(0), AnswerRate: f(1), AbandonRate: f(0),
		ASASeconds: f(20), AvgWaitSeconds: f(20), MaxWaitSeconds: f(20), AHTSeconds: f(120), TalkSeconds: f(120),
	}, r.ByAgent[1].Measures, "agent2")

	require.Len(t, r.ByHour, 24)
	byHour := map[int]callstats.Measures{}
	for h, row := range r.ByHour {
		assert.Equal(t, h, row.Hour)
		if row.Calls > 0 {
			byHour[h] = row.Measures
		}
	}
	require.Len(t, byHour, 4, "calls at 0, 9, 10 and 11 o'clock")
	approx(t, callstats.Measures{Calls: 1, IVROnly: 1}, byHour[0], "00")
	approx(t, callstats.Measures{
		Calls: 3, Offered: 3, Answered: 2, AnsweredInThreshold: 1, Abandoned: 1, ShortAbandoned: 1,
		ServiceLevel: f(0.5), AnswerRate: f(2.0 / 3), AbandonRate: f(1.0 / 3),
		ASASeconds: f(15), AvgWaitSeconds: f(11), MaxWaitSeconds: f(20), AvgAbandonSeconds: f(3), AHTSeconds: f(90), TalkSeconds: f(180),
	}, byHour[9], "09")
	approx(t, callstats.Measures{
		Calls: 3, IVROnly: 1, Offered: 2, Answered: 1, AnsweredInThreshold: 1, Abandoned: 1,
		ServiceLevel: f(0.5), AnswerRate: f(0.5), AbandonRate: f(0.5),
		ASASeconds: f(15), AvgWaitSeconds: f(22.5), MaxWaitSeconds: f(30), AvgAbandonSeconds: f(30), AHTSeconds: f(90), TalkSeconds: f(90),
	}, byHour[10], "10")
	approx(t, callstats.Measures{
		Calls: 3, IVROnly: 1, Offered: 1, Unresolved: 1,
		ServiceLevel: f(0), AnswerRate: f(0), AbandonRate: f(0), AvgWaitSeconds: f(40), MaxWaitSeconds: f(40),
	}, byHour[11], "11")
	approx(t, callstats.Measures{}, r.ByHour[12].Measures, "12, no calls")
}

func TestThresholds(t *testing.T) {
	c := newCentre(t)
	for _, tc := range []struct {
		name                string
		serviceLevel, short int
		inThreshold         int
		shortAbandoned      int
		level               float64
	}{
		{"defaults", 0, 0, 2, 1, 2.0 / 5},
		{"15 s, 5 s", 15, 5, 2, 1, 2.0 / 5},
		{"14 s: the 15 s wait is out", 14, 5, 1, 1, 1.0 / 5},
		{"20 s", 20, 5, 3, 1, 3.0 / 5},
		{"10 s: inclusive", 10, 5, 1, 1, 1.0 / 5},
		{"3 s short abandon: inclusive", 15, 3, 2, 1, 2.0 / 5},
		{"2 s short abandon", 15, 2, 2, 0, 2.0 / 6},
		{"30 s short abandon", 15, 30, 2, 2, 2.0 / 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := callstats.Compute(context.Background(), c.w.Pool, callstats.Query{From: day, To: day.Add(24 * time.Hour),
				ServiceLevelSeconds: tc.serviceLevel, ShortAbandonSeconds: tc.short})
			require.NoError(t, err)
			assert.Equal(t, tc.inThreshold, r.Overall.AnsweredInThreshold)
			assert.Equal(t, tc.shortAbandoned, r.Overall.ShortAbandoned)
			require.NotNil(t, r.Overall.ServiceLevel)
			assert.InDelta(t, tc.level, *r.Overall.ServiceLevel, 1e-9)
		})
	}
}

func TestFilters(t *testing.T) {
	c := newCentre(t)
	ctx := context.Background()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)

	t.Run("queue", func(t *testing.T) {
		r, err := callstats.Compute(ctx, c.w.Pool, callstats.Query{From: day, To: day.Add(24 * time.Hour), Queue: "mongolian"})
		require.NoError(t, err)
		assert.Equal(t, 2, r.Overall.Calls)
		assert.Equal(t, 0, r.Overall.IVROnly)
		require.Len(t, r.ByQueue, 1)
		assert.Equal(t, "mongolian", r.ByQueue[0].Queue)
		assert.Equal(t, r.Overall, r.ByQueue[0].Measures)
		require.Len(t, r.ByAgent, 1)
		assert.Equal(t, "agent", r.ByAgent[0].Username)
		assert.Equal(t, 1, r.ByAgent[0].Answered)
		assert.Equal(t, 2, r.ByHour[10].Calls)
		assert.Equal(t, 0, r.ByHour[9].Calls)
	})
	t.Run("unknown queue", func(t *testing.T) {
		r, err := callstats.Compute(ctx, c.w.Pool, callstats.Query{From: day, To: day.Add(24 * time.Hour), Queue: "nope"})
		require.NoError(t, err)
		assert.Equal(t, 0, r.Overall.Calls)
		assert.Nil(t, r.Overall.ServiceLevel)
		assert.Nil(t, r.Overall.AHTSeconds)
		assert.Empty(t, r.ByQueue)
		assert.Empty(t, r.ByAgent)
		assert.Len(t, r.ByHour, 24)
	})
	t.Run("window", func(t *testing.T) {
		r, err := callstats.Compute(ctx, c.w.Pool, callstats.Query{From: day.Add(9 * time.Hour), To: day.Add(10 * time.Hour)})
		require.NoError(t, err)
		assert.Equal(t, 3, r.Overall.Calls)
		assert.Equal(t, 3, r.Overall.Offered)
	})
	for _, tc := range []struct {
		name  string
		loc   *time.Location
		hours []int
	}{
		{"hours in the zone of From", nil, []int{0, 9, 10, 11}},
		{"hours in UTC", time.UTC, []int{1, 2, 3, 16}},
		{"hours in a named zone", shanghai, []int{0, 9, 10, 11}},
		{"hours at a fixed offset", time.FixedZone("", -6*3600), []int{10, 19, 20, 21}},
		// PostgreSQL reads "CST" as US Central time: the name is not used.
		{"hours at a fixed offset with an abbreviation", time.FixedZone("CST", 8*3600), []int{0, 9, 10, 11}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := callstats.Compute(ctx, c.w.Pool, callstats.Query{From: day, To: day.Add(24 * time.Hour), Location: tc.loc})
			require.NoError(t, err)
			var hours []int
			total := 0
			for _, row := range r.ByHour {
				if row.Calls > 0 {
					hours = append(hours, row.Hour)
				}
				total += row.Calls
			}
			assert.Equal(t, tc.hours, hours)
			assert.Equal(t, 10, total)
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		q     callstats.Query
		field string
	}{
		{"to before from", callstats.Query{From: day, To: day.Add(-time.Hour)}, "to"},
		{"empty window", callstats.Query{From: day, To: day}, "to"},
		{"over 366 days", callstats.Query{From: day, To: day.Add(367 * 24 * time.Hour)}, "to"},
		{"negative service level", callstats.Query{From: day, To: day.Add(time.Hour), ServiceLevelSeconds: -1}, "serviceLevelSeconds"},
		{"service level over 600", callstats.Query{From: day, To: day.Add(time.Hour), ServiceLevelSeconds: 601}, "serviceLevelSeconds"},
		{"short abandon over 600", callstats.Query{From: day, To: day.Add(time.Hour), ShortAbandonSeconds: 601}, "shortAbandonSeconds"},
		{"366 days", callstats.Query{From: day, To: day.Add(366 * 24 * time.Hour), ServiceLevelSeconds: 600, ShortAbandonSeconds: 1}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.q.Validate()
			if tc.field == "" {
				assert.NoError(t, err)
				return
			}
			ge, ok := gql.AsError(err)
			require.True(t, ok, "%v", err)
			assert.Equal(t, gql.BadUserInput, ge.Code)
			assert.Equal(t, tc.field, ge.Field)
		})
	}
}

func TestGraphQL(t *testing.T) {
	c := newCentre(t)
	schema, err := gql.NewBuilder().Build(callstats.Module{Pool: c.w.Pool})
	require.NoError(t, err)
	leader := c.w.As(t, "leader")
	run := func(p *identity.Principal, query string, vars map[string]any) *graphql.Result {
		ctx := context.Background()
		if p != nil {
			ctx = identity.WithPrincipal(ctx, p)
		}
		return graphql.Do(graphql.Params{Schema: schema, RequestString: query, VariableValues: vars, Context: ctx})
	}
	const query = `query($from: Time!, $to: Time!, $queue: String, $sl: Int = 15, $short: Int = 5) {
		callStats(from: $from, to: $to, queue: $queue, serviceLevelSeconds: $sl, shortAbandonSeconds: $short) {
			from to queue serviceLevelSeconds shortAbandonSeconds
			overall { calls ivrOnly offered answered answeredInThreshold abandoned shortAbandoned unresolved
				serviceLevel answerRate abandonRate asaSeconds avgWaitSeconds maxWaitSeconds avgAbandonSeconds ahtSeconds talkSeconds }
			byQueue { queue offered answered serviceLevel abandonRate }
			byAgent { userId username displayName answered ahtSeconds asaSeconds }
			byHour { hour calls offered }
		}
	}`
	window := map[string]any{"from": "2026-03-02T00:00:00+08:00", "to": "2026-03-03T00:00:00+08:00"}

	r := run(leader, query, window)
	require.Empty(t, r.Errors)
	stats := r.Data.(map[string]any)["callStats"].(map[string]any)
	assert.Equal(t, "2026-03-02T00:00:00+08:00", stats["from"])
	assert.Nil(t, stats["queue"])
	assert.Equal(t, 15, stats["serviceLevelSeconds"])
	assert.Equal(t, 5, stats["shortAbandonSeconds"])
	overall := stats["overall"].(map[string]any)
	assert.Equal(t, 10, overall["calls"])
	assert.Equal(t, 3, overall["ivrOnly"])
	assert.Equal(t, 6, overall["offered"])
	assert.Equal(t, 3, overall["answered"])
	assert.Equal(t, 2, overall["answeredInThreshold"])
	assert.Equal(t, 2, overall["abandoned"])
	assert.Equal(t, 1, overall["shortAbandoned"])
	assert.Equal(t, 1, overall["unresolved"])
	assert.InDelta(t, 0.4, overall["serviceLevel"], 1e-9)
	assert.InDelta(t, 0.5, overall["answerRate"], 1e-9)
	assert.InDelta(t, 1.0/3, overall["abandonRate"], 1e-9)
	assert.InDelta(t, 15, overall["asaSeconds"], 1e-6)
	assert.InDelta(t, 40, overall["maxWaitSeconds"], 1e-6)
	assert.InDelta(t, 16.5, overall["avgAbandonSeconds"], 1e-6)
	assert.InDelta(t, 90, overall["ahtSeconds"], 1e-6)
	assert.InDelta(t, 270, overall["talkSeconds"], 1e-6)
	queues := stats["byQueue"].([]any)
	require.Len(t, queues, 2)
	assert.Equal(t, "hotline", queues[0].(map[string]any)["queue"])
	assert.InDelta(t, 1.0/3, queues[0].(map[string]any)["serviceLevel"], 1e-9)
	assert.Equal(t, map[string]any{"userId": c.agent2.UserID, "username": "agent2", "displayName": "话务员 李娜", "answered": 1, "ahtSeconds": 120.0, "asaSeconds": 20.0},
		normaliseID(stats["byAgent"].([]any)[1].(map[string]any)))
	hours := stats["byHour"].([]any)
	require.Len(t, hours, 24)
	assert.Equal(t, map[string]any{"hour": 9, "calls": 3, "offered": 3}, hours[9])

	// Thresholds and the queue filter as arguments; no calls gives null rates.
	r = run(leader, query, map[string]any{"from": window["from"], "to": window["to"], "sl": 20, "short": 30})
	require.Empty(t, r.Errors)
	overall = r.Data.(map[string]any)["callStats"].(map[string]any)["overall"].(map[string]any)
	assert.InDelta(t, 3.0/4, overall["serviceLevel"], 1e-9)
	r = run(leader, query, map[string]any{"from": window["from"], "to": window["to"], "queue": "nope"})
	require.Empty(t, r.Errors)
	stats = r.Data.(map[string]any)["callStats"].(map[string]any)
	assert.Equal(t, "nope", stats["queue"])
	assert.Nil(t, stats["overall"].(map[string]any)["serviceLevel"])
	assert.Nil(t, stats["overall"].(map[string]any)["ahtSeconds"])
	assert.Empty(t, stats["byQueue"])

	// Who may ask.
	r = run(c.agent, query, window)
	require.Len(t, r.Errors, 1)
	assert.Equal(t, "FORBIDDEN", r.Errors[0].Extensions["code"])
	assert.Contains(t, r.Errors[0].Message, "call.records")
	r = run(nil, query, window)
	require.Len(t, r.Errors, 1)
	assert.Equal(t, "UNAUTHENTICATED", r.Errors[0].Extensions["code"])

	// Bad arguments name the field.
	for _, tc := range []struct {
		name  string
		vars  map[string]any
		field string
	}{
		{"to before from", map[string]any{"from": "2026-03-02T00:00:00+08:00", "to": "2026-03-01T00:00:00+08:00"}, "to"},
		{"window over 366 days", map[string]any{"from": "2025-01-01T00:00:00+08:00", "to": "2026-03-01T00:00:00+08:00"}, "to"},
		{"service level 0", map[string]any{"from": window["from"], "to": window["to"], "sl": 0}, "serviceLevelSeconds"},
		{"service level 601", map[string]any{"from": window["from"], "to": window["to"], "sl": 601}, "serviceLevelSeconds"},
		{"short abandon 0", map[string]any{"from": window["from"], "to": window["to"], "short": 0}, "shortAbandonSeconds"},
		{"short abandon 1000", map[string]any{"from": window["from"], "to": window["to"], "short": 1000}, "shortAbandonSeconds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(leader, query, tc.vars)
			require.Len(t, r.Errors, 1)
			assert.Equal(t, "BAD_USER_INPUT", r.Errors[0].Extensions["code"])
			assert.Equal(t, tc.field, r.Errors[0].Extensions["field"])
		})
	}
}

// normaliseID turns a row's ID (a string in GraphQL) back into the user
// id for comparison.
func normaliseID(row map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range row {
		out[k] = v
	}
	if s, ok := row["userId"].(string); ok {
		var id int64
		if err := json.Unmarshal([]byte(s), &id); err == nil {
			out["userId"] = id
		}
	}
	return out
}

// A call the queue gave back to its menu after a long wait (overflow to
// voicemail) was offered to agents and waited; it is not an IVR-only call.
func TestACallTheQueueGaveUpIsOfferedNotIVROnly(t *testing.T) {
	w := gentest.New(t, 0)
	start := day.Add(10 * time.Hour)
	insert(t, w, synth{start: start, outcome: "voicemail", queue: "hotline", queued: 10 * sec, ended: 200 * sec})
	insert(t, w, synth{start: start.Add(time.Minute), outcome: "hangup", ended: 20 * sec})
	r, err := callstats.Compute(context.Background(), w.Pool, callstats.Query{From: day, To: day.Add(24 * time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, 2, r.Overall.Calls)
	assert.Equal(t, 1, r.Overall.Offered)
	assert.Equal(t, 1, r.Overall.IVROnly, "only the call that never queued")
	assert.Equal(t, 1, r.Overall.Unresolved, "offered, neither answered nor abandoned in the queue")
}
