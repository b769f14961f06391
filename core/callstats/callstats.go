// Package callstats computes call-centre statistics (话务统计) from the call
// records core/telephony keeps in calls and call_events, with the measures
// 12345 centres report after GB/T 33358-2016: calls offered to agents,
// answered, abandoned in queue, short abandons (短放弃), the service level
// (15 秒接通率), the abandonment rate, the average speed of answer, waiting
// times and the average handle time, overall and by queue, by agent and by
// hour of day.
//
// Everything is computed by PostgreSQL in one query over the calls that
// started in a window, using the timestamps of their queued, connected,
// abandoned and ended events. The query reads calls through calls_started
// and each call's events through call_events' primary key (call_id, seq),
// so its cost follows the number of calls in the window and it needs no
// index of its own.
//
// Definitions, for a call that started in [From, To):
//
//   - offered (转人工量): the call entered a queue (it has a queued event);
//     its wait starts at the first queued event.
//   - answered (人工接通): offered, and an agent answered (connected event);
//     its speed of answer is connected − queued.
//   - abandoned (排队放弃): offered, not answered, and the caller hung up in
//     the queue (abandoned event); a short abandon (短放弃) is one whose wait
//     was at most ShortAbandonSeconds.
//   - unresolved: offered but neither answered nor abandoned (the queue
//     failed, the call is still waiting, or a restart closed it).
//   - answered in threshold: answered with a speed of answer of at most
//     ServiceLevelSeconds (both thresholds are inclusive).
//   - service level = answered in threshold / (offered − short abandons);
//     answer rate = answered / offered; abandon rate = abandoned / offered.
//     A rate whose denominator is zero is nil.
//   - wait: from queued to connected, abandoned or, failing both, the end
//     of the call; calls still waiting have none.
//   - handle time (AHT): the talk time, connected to ended. After-call work
//     (the agent's wrap-up state in agent_events) is not included.
//   - IVR only: calls that never queued and left the menu other than to a
//     queue (self service, voicemail, callback, transfer, hang-up or
//     failure in the menu); a call a queue gave back to its menu (overflow
//     to voicemail) was offered, not IVR only; rejected calls and calls
//     still in the menu are not counted.
//
// Only inbound calls count.
package callstats

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/core/gql"
)

// Defaults and limits of the thresholds, in seconds.
const (
	DefaultServiceLevelSeconds = 15
	DefaultShortAbandonSeconds = 5
	MinThresholdSeconds        = 1
	MaxThresholdSeconds        = 600
)

// MaxWindow is the longest window a report covers.
const MaxWindow = 366 * 24 * time.Hour

// Query says what to compute.
type Query struct {
	// From and To bound the calls' start time: From ≤ started_at < To.
	From, To time.Time
	// Queue limits the report to the calls queued to it; "" is all calls.
	Queue string
	// ServiceLevelSeconds is the service-level threshold (0: 15).
	ServiceLevelSeconds int
	// ShortAbandonSeconds is the short-abandon threshold (0: 5).
	ShortAbandonSeconds int
	// Location is where hours of day are counted. A location with an IANA
	// name (Asia/Shanghai, UTC) is handed to PostgreSQL; any other (Local,
	// a fixed zone) counts at the UTC offset it has at From. Nil is From's
	// location.
	Location *time.Location
}

// withDefaults fills the zero thresholds and location.
func (q Query) withDefaults() Query {
	if q.ServiceLevelSeconds == 0 {
		q.ServiceLevelSeconds = DefaultServiceLevelSeconds
	}
	if q.ShortAbandonSeconds == 0 {
		q.ShortAbandonSeconds = DefaultShortAbandonSeconds
	}
	if q.Location == nil {
		q.Location = q.From.Location()
	}
	return q
}

// Validate checks the query after defaults, with BAD_USER_INPUT errors
// naming the GraphQL argument at fault.
func (q Query) Validate() error {
	q = q.withDefaults()
	if !q.To.After(q.From) {
		return gql.FieldError("to", "结束时间须晚于开始时间")
	}
	if q.To.Sub(q.From) > MaxWindow {
		return gql.FieldError("to", "统计时段不能超过 366 天")
	}
	if err := checkThreshold("serviceLevelSeconds", q.ServiceLevelSeconds); err != nil {
		return err
	}
	return checkThreshold("shortAbandonSeconds", q.ShortAbandonSeconds)
}

func checkThreshold(field string, v int) error {
	if v < MinThresholdSeconds || v > MaxThresholdSeconds {
		return gql.FieldError(field, "%s 须在 %d 到 %d 秒之间", field, MinThresholdSeconds, MaxThresholdSeconds)
	}
	return nil
}

// Measures are the statistics of a set of calls. Durations are in
// seconds; a rate or duration with nothing to measure is nil.
type Measures struct {
	// Calls counts the inbound calls (呼入量), IVROnly those that never
	// went to a queue.
	Calls   int `json:"calls"`
	IVROnly int `json:"ivrOnly"`
	// Offered counts the calls that entered a queue; each is then
	// answered, abandoned or unresolved.
	Offered             int `json:"offered"`
	Answered            int `json:"answered"`
	AnsweredInThreshold int `json:"answeredInThreshold"`
	Abandoned           int `json:"abandoned"`
	ShortAbandoned      int `json:"shortAbandoned"`
	Unresolved          int `json:"unresolved"`

	ServiceLevel *float64 `json:"serviceLevel"`
	AnswerRate   *float64 `json:"answerRate"`
	AbandonRate  *float64 `json:"abandonRate"`

	// ASASeconds is the average speed of answer (queued to connected).
	ASASeconds     *float64 `json:"asaSeconds"`
	AvgWaitSeconds *float64 `json:"avgWaitSeconds"`
	MaxWaitSeconds *float64 `json:"maxWaitSeconds"`
	// AvgAbandonSeconds is how long abandoned callers waited on average.
	AvgAbandonSeconds *float64 `json:"avgAbandonSeconds"`
	// AHTSeconds is the average talk time of answered calls that ended
	// (connected to ended), without after-call work; TalkSeconds their sum.
	AHTSeconds  *float64 `json:"ahtSeconds"`
	TalkSeconds *float64 `json:"talkSeconds"`
}

// rates derives the rates from the counts.
func (m *Measures) rates() {
	m.ServiceLevel = ratio(m.AnsweredInThreshold, m.Offered-m.ShortAbandoned)
	m.AnswerRate = ratio(m.Answered, m.Offered)
	m.AbandonRate = ratio(m.Abandoned, m.Offered)
}

func ratio(n, d int) *float64 {
	if d <= 0 {
		return nil
	}
	r := float64(n) / float64(d)
	return &r
}

// QueueStats are the measures of the calls queued to one queue.
type QueueStats struct {
	Queue string `json:"queue"`
	Measures
}

// AgentStats are the measures of the calls one agent answered.
type AgentStats struct {
	UserID      int64  `json:"userId"`
	Username    string `json:"username"`
	DisplayName string `json:"displayName"`
	Measures
}

// HourStats are the measures of the calls that started in one hour of the
// day (0–23) over the whole window.
type HourStats struct {
	Hour int `json:"hour"`
	Measures
}

// Report is the statistics of a window.
type Report struct {
	// Query is the query as computed, with its defaults filled in.
	Query   Query
	Overall Measures
	// ByQueue is ordered by queue name, ByAgent by username; ByHour has
	// the 24 hours of the day in order, those without calls included.
	ByQueue []QueueStats
	ByAgent []AgentStats
	ByHour  []HourStats
}

// statsSQL computes the measures of every grouping at once: per call from
// its events (f, g), then by GROUPING SETS. The events are read per call
// (LATERAL, through call_events' primary key) so that the work follows the
// calls in the window rather than the size of call_events: a join left to
// the planner scanned every call (by calls_pkey, to group by id) for a
// day's report.
//
// $1, $2 the window; $3 the queue or NULL; $4 the time zone name and $5 an
// offset in seconds added to the local time (one of them neutral); $6, $7
// the thresholds.
const statsSQL = `
WITH f AS (
	SELECT c.agent_id, c.outcome, c.queue, c.started_at, c.ended_at, ev.*
	FROM calls c
	CROSS JOIN LATERAL (
		SELECT min(e.at) FILTER (WHERE e.kind = 'queued') AS queued_at,
			(array_agg(e.data->>'queue' ORDER BY e.seq) FILTER (WHERE e.kind = 'queued'))[1] AS queued_to,
			min(e.at) FILTER (WHERE e.kind = 'connected') AS connected_at,
			min(e.at) FILTER (WHERE e.kind = 'abandoned') AS abandoned_at,
			min(e.at) FILTER (WHERE e.kind = 'ended') AS ended_event_at
		FROM call_events e
		WHERE e.call_id = c.id AND e.kind IN ('queued', 'connected', 'abandoned', 'ended')
	) ev
	WHERE c.started_at >= $1 AND c.started_at < $2 AND c.direction = 'inbound'
), g AS (
	SELECT f.agent_id, f.outcome,
		COALESCE(f.queued_to, f.queue) AS queue,
		extract(hour FROM (f.started_at AT TIME ZONE $4) + make_interval(secs => $5))::int AS hour,
		f.queued_at IS NOT NULL AS offered,
		f.queued_at IS NOT NULL AND f.connected_at IS NOT NULL AS answered,
		f.queued_at IS NOT NULL AND f.connected_at IS NULL AND f.abandoned_at IS NOT NULL AS abandoned,
		extract(epoch FROM f.connected_at - f.queued_at)::float8 AS answer_s,
		extract(epoch FROM f.abandoned_at - f.queued_at)::float8 AS abandon_s,
		extract(epoch FROM COALESCE(f.connected_at, f.abandoned_at, f.ended_at, f.ended_event_at) - f.queued_at)::float8 AS wait_s,
		extract(epoch FROM COALESCE(f.ended_at, f.ended_event_at) - f.connected_at)::float8 AS talk_s
	FROM f
)
SELECT GROUPING(g.queue, g.agent_id, g.hour), g.queue, g.agent_id, u.username, u.display_name, g.hour,
	count(*),
	count(*) FILTER (WHERE g.outcome IS NOT NULL AND g.outcome NOT IN ('queue', 'rejected') AND NOT g.offered),
	count(*) FILTER (WHERE g.offered),
	count(*) FILTER (WHERE g.answered),
	count(*) FILTER (WHERE g.answered AND g.answer_s <= $6),
	count(*) FILTER (WHERE g.abandoned),
	count(*) FILTER (WHERE g.abandoned AND g.abandon_s <= $7),
	avg(g.answer_s) FILTER (WHERE g.answered),
	avg(g.wait_s) FILTER (WHERE g.offered),
	max(g.wait_s) FILTER (WHERE g.offered),
	avg(g.abandon_s) FILTER (WHERE g.abandoned),
	avg(g.talk_s) FILTER (WHERE g.answered),
	sum(g.talk_s) FILTER (WHERE g.answered)
FROM g
LEFT JOIN users u ON u.id = g.agent_id
WHERE $3::text IS NULL OR g.queue = $3
GROUP BY GROUPING SETS ((), (g.queue), (g.agent_id, u.username, u.display_name), (g.hour))`

// Bits of GROUPING(queue, agent_id, hour): set for the keys a row is not
// grouped by.
const (
	groupedByQueue = 0b011
	groupedByAgent = 0b101
	groupedByHour  = 0b110
	groupedByNone  = 0b111
)

// Compute reports the statistics of the calls q selects.
func Compute(ctx context.Context, pool *pgxpool.Pool, q Query) (*Report, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	q = q.withDefaults()
	var queue *string
	if q.Queue != "" {
		queue = &q.Queue
	}
	zone, offset := zoneArgs(q.Location, q.From)
	r := &Report{Query: q}
	err := pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		// The per-call plan is costed high for long windows, and JIT
		// compiling it took longer than running it.
		if _, err := tx.Exec(ctx, `SET LOCAL jit = off`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, statsSQL, q.From, q.To, queue, zone, float64(offset),
			float64(q.ServiceLevelSeconds), float64(q.ShortAbandonSeconds))
		if err != nil {
			return err
		}
		return r.read(rows)
	})
	if err != nil {
		return nil, fmt.Errorf("computing call statistics: %w", err)
	}
	return r, nil
}

// read fills the report from statsSQL's rows.
func (r *Report) read(rows pgx.Rows) error {
	defer rows.Close()
	r.ByQueue, r.ByAgent, r.ByHour = []QueueStats{}, []AgentStats{}, make([]HourStats, 24)
	for h := range r.ByHour {
		r.ByHour[h].Hour = h
	}
	for rows.Next() {
		var (
			grouping          int
			queue             *string
			agentID           *int64
			username, display *string
			hour              *int
			m                 Measures
		)
		if err := rows.Scan(&grouping, &queue, &agentID, &username, &display, &hour,
			&m.Calls, &m.IVROnly, &m.Offered, &m.Answered, &m.AnsweredInThreshold, &m.Abandoned, &m.ShortAbandoned,
			&m.ASASeconds, &m.AvgWaitSeconds, &m.MaxWaitSeconds, &m.AvgAbandonSeconds, &m.AHTSeconds, &m.TalkSeconds); err != nil {
			return fmt.Errorf("reading a row: %w", err)
		}
		m.Unresolved = m.Offered - m.Answered - m.Abandoned
		m.rates()
		switch grouping {
		case groupedByNone:
			r.Overall = m
		case groupedByQueue:
			// Calls that never queued have no queue.
			if queue != nil {
				r.ByQueue = append(r.ByQueue, QueueStats{Queue: *queue, Measures: m})
			}
		case groupedByAgent:
			// Calls no agent answered have no agent.
			if agentID != nil {
				r.ByAgent = append(r.ByAgent, AgentStats{UserID: *agentID, Username: deref(username), DisplayName: deref(display), Measures: m})
			}
		case groupedByHour:
			if hour != nil && *hour >= 0 && *hour < 24 {
				r.ByHour[*hour].Measures = m
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	slices.SortFunc(r.ByQueue, func(a, b QueueStats) int { return cmp.Compare(a.Queue, b.Queue) })
	slices.SortFunc(r.ByAgent, func(a, b AgentStats) int {
		return cmp.Or(cmp.Compare(a.Username, b.Username), cmp.Compare(a.UserID, b.UserID))
	})
	return nil
}

// zoneArgs returns the time zone PostgreSQL converts start times to and an
// offset in seconds added after: an IANA name with no offset, or UTC with
// loc's offset at at.
func zoneArgs(loc *time.Location, at time.Time) (string, int) {
	name := loc.String()
	if name == "UTC" || strings.Contains(name, "/") {
		if _, err := time.LoadLocation(name); err == nil {
			return name, 0
		}
	}
	_, offset := at.In(loc).Zone()
	return "UTC", offset
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
