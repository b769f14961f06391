package gen_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/pgtest"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/ticket"
	"github.com/hotline12345/hotline/deploy/gen"
	"github.com/hotline12345/hotline/deploy/gen/gentest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// stored is a generated ticket as the database holds it, with its events.
type stored struct {
	id                       int64
	number, state            string
	version                  int
	holderUnit, holderUser   string
	deadline, stepDeadline   *time.Time
	paused                   *int
	fields, inputs, counts   string
	events                   []storedEvent
	holderKind, holderParent string
}

type storedEvent struct {
	action, actor, from, to string
	input                   map[string]any
	at                      time.Time
	holderUnit              string
	stepDue                 *time.Time
}

func load(t *testing.T, g *gentest.World) []*stored {
	ctx := context.Background()
	rows, err := g.Pool.Query(ctx, `SELECT t.id, t.number, t.state, t.version, COALESCE(u.code, ''), COALESCE(u.kind, ''), COALESCE(p.code, ''), COALESCE(us.username, ''),
		t.deadline, t.step_deadline, t.paused_remaining, t.fields::text, t.inputs::text, t.counts::text
		FROM tickets t LEFT JOIN units u ON u.id = t.holder_unit_id LEFT JOIN units p ON p.id = u.parent_id
		LEFT JOIN users us ON us.id = t.holder_user_id ORDER BY t.id`)
	require.NoError(t, err)
	var out []*stored
	byID := map[int64]*stored{}
	for rows.Next() {
		s := &stored{}
		require.NoError(t, rows.Scan(&s.id, &s.number, &s.state, &s.version, &s.holderUnit, &s.holderKind, &s.holderParent, &s.holderUser,
			&s.deadline, &s.stepDeadline, &s.paused, &s.fields, &s.inputs, &s.counts))
		out = append(out, s)
		byID[s.id] = s
	}
	require.NoError(t, rows.Err())
	rows, err = g.Pool.Query(ctx, `SELECT e.ticket_id, e.action, e.actor, e.from_state, e.to_state, e.input, e.at, COALESCE(u.code, ''), e.step_due
		FROM ticket_events e LEFT JOIN units u ON u.id = e.holder_unit_id ORDER BY e.ticket_id, e.ticket_version`)
	require.NoError(t, err)
	for rows.Next() {
		var id int64
		var e storedEvent
		require.NoError(t, rows.Scan(&id, &e.action, &e.actor, &e.from, &e.to, &e.input, &e.at, &e.holderUnit, &e.stepDue))
		byID[id].events = append(byID[id].events, e)
	}
	require.NoError(t, rows.Err())
	return out
}

// TestDemoTicketsReachEveryStateWithTheirHistory: every state the paths
// reach has a generated ticket, every ticket's events chain from nothing
// to its state along the flow, and tickets replayed action by action
// through the engine, as each event's actor at each event's time, end
// exactly as generated: state, holder, deadlines, fields, inputs, events.
func TestDemoTicketsReachEveryStateWithTheirHistory(t *testing.T) {
	g := gentest.New(t, 600)
	ctx := context.Background()
	f, ok := registry.Model[*flow.Flow](g.Set, flow.Kind, "ticket")
	require.True(t, ok)
	_, paths, err := gen.Load()
	require.NoError(t, err)
	showcase, err := gen.ShowcaseOf(g.Set)
	require.NoError(t, err)
	tickets := load(t, g)
	require.Len(t, tickets, 600)

	// Every state listed in paths is some ticket's state.
	listed := map[string]bool{}
	for _, p := range paths.Paths {
		state := ""
		for _, name := range p.Actions {
			a, _ := f.Action(name)
			state = a.Target(state)
			listed[state] = true
		}
	}
	states := map[string]int{}
	for _, tk := range tickets {
		states[tk.state]++
	}
	t.Logf("%d states listed in paths; tickets by state: %v", len(listed), states)
	for s := range listed {
		assert.Positive(t, states[s], "no generated ticket is in %s (%v)", s, states)
	}
	for _, want := range []string{"dept_pending_sign", "dept_handling", "final_review", "awaiting_callback", "result_audit",
		"extension_review", "hang_review", "dept_returned", "escalated", "final_review_returned", "callback_redispatched"} {
		assert.True(t, listed[want], "the paths reach %s", want)
	}

	// Each ticket's history chains from '' to its state along the flow,
	// and the step limit of 待签收 runs while a ticket waits there.
	for _, tk := range tickets {
		require.Len(t, tk.events, tk.version, tk.number)
		from := ""
		for i, e := range tk.events {
			a, ok := f.Action(e.action)
			require.True(t, ok, "%s: action %s", tk.number, e.action)
			assert.Equal(t, from, e.from, "%s event %d (%s)", tk.number, i+1, e.action)
			assert.True(t, len(a.From) == 0 && from == "" || slices.ContainsFunc(a.From, func(r registry.Ref) bool { return r.Name == from }),
				"%s: %s may not start from %q", tk.number, e.action, from)
			assert.Equal(t, a.Target(from), e.to, "%s: %s", tk.number, e.action)
			st, _ := f.State(from)
			assert.Equal(t, i > 0 && st.Limit != nil, e.stepDue != nil, "%s: step_due of %s from %q", tk.number, e.action, from)
			// Held by nobody before it is created, and while a draft.
			assert.Equal(t, i == 0 || from == "draft", e.holderUnit == "", "%s: event %d's holder", tk.number, i+1)
			from = e.to
		}
		assert.Equal(t, tk.state, from, tk.number)
		assert.Equal(t, tk.state == "dept_pending_sign", tk.stepDeadline != nil, "%s in %s: step deadline", tk.number, tk.state)
	}

	// The showcase: the newest tickets stop at every open state of the
	// paths; those handed down are held by 赛罕区's streets and
	// communities, so every demo clerk there has work.
	newest := tickets[len(tickets)-len(showcase):]
	heldBy := map[string]map[string]bool{} // state → holder unit kinds
	for i, s := range showcase {
		assert.Equal(t, s.State, newest[i].state, "showcase %d: %+v", i, s)
		if heldBy[s.State] == nil {
			heldBy[s.State] = map[string]bool{}
		}
		heldBy[s.State][newest[i].holderKind] = true
	}
	for _, state := range []string{"dept_pending_sign", "dept_handling"} {
		for _, kind := range []string{"district", "street", "community"} {
			assert.True(t, heldBy[state][kind], "a showcase ticket in %s is held by a %s: %v", state, kind, heldBy[state])
		}
	}
	assert.True(t, heldBy["escalated"]["district"], "a street's escalation waits on its district: %v", heldBy["escalated"])
	// 赛罕区's clerk sees open tickets held by the district, one of its
	// streets and one of its communities.
	clerk := g.As(t, "clerk")
	list, err := g.Engine.Store.List(ctx, clerk, "", 0, 1000)
	require.NoError(t, err)
	open := map[string]int{}
	for _, tk := range list {
		if st, _ := f.State(tk.State); st.Category == flow.CategoryOpen && tk.HolderUnit != nil {
			open[tk.HolderUnit.Kind]++
		}
	}
	for _, kind := range []string{"district", "street", "community"} {
		assert.Positive(t, open[kind], "赛罕区's clerk sees open tickets held by a %s: %v", kind, open)
	}

	// Replayed through the engine, a sample ends as generated: the
	// showcase and every 20th ticket.
	sample := slices.Clone(newest)
	for i := 0; i < len(tickets)-len(showcase); i += 20 {
		sample = append(sample, tickets[i])
	}
	principals := map[string]*identity.Principal{}
	as := func(user string) *identity.Principal {
		if principals[user] == nil {
			principals[user] = g.As(t, user)
		}
		return principals[user]
	}
	t.Logf("replaying %d tickets (%d showcase)", len(sample), len(showcase))
	for _, tk := range sample {
		var id int64
		for i, e := range tk.events {
			at := e.at
			g.Engine.Store.Now = func() time.Time { return at }
			var got ticket.Ticket
			var err error
			if i == 0 {
				got, err = g.Engine.Create(ctx, as(e.actor), "ticket", e.action, e.input)
				id = got.ID
			} else {
				got, err = g.Engine.Perform(ctx, as(e.actor), id, e.action, e.input, nil)
			}
			require.NoError(t, err, "replaying %s event %d: %s as %s", tk.number, i+1, e.action, e.actor)
			require.Equal(t, e.to, got.State, "%s event %d", tk.number, i+1)
		}
		replayed := load1(t, g, id)
		want := *tk
		want.id, want.number, replayed.id, replayed.number = 0, "", 0, ""
		assert.Equal(t, jsonOf(t, want.fields), jsonOf(t, replayed.fields), "%s fields", tk.number)
		assert.Equal(t, jsonOf(t, want.inputs), jsonOf(t, replayed.inputs), "%s inputs", tk.number)
		assert.Equal(t, jsonOf(t, want.counts), jsonOf(t, replayed.counts), "%s counts", tk.number)
		want.fields, want.inputs, want.counts = "", "", ""
		replayed.fields, replayed.inputs, replayed.counts = "", "", ""
		assert.Equal(t, fmt.Sprintf("%+v", describe(want)), fmt.Sprintf("%+v", describe(*replayed)), tk.number)
	}
}

func load1(t *testing.T, g *gentest.World, id int64) *stored {
	for _, s := range load(t, g) {
		if s.id == id {
			return s
		}
	}
	t.Fatalf("ticket %d not found", id)
	return nil
}

func jsonOf(t *testing.T, s string) any {
	var v any
	require.NoError(t, json.Unmarshal([]byte(s), &v))
	return v
}

// describe is a ticket with its times in one zone, to compare.
func describe(s stored) map[string]any {
	tm := func(p *time.Time) string {
		if p == nil {
			return "-"
		}
		return p.UTC().Format(time.RFC3339Nano)
	}
	var events []string
	for _, e := range s.events {
		in, _ := json.Marshal(e.input)
		events = append(events, fmt.Sprintf("%s %s→%s by %s at %s held by %q due %s input %s", e.action, e.from, e.to, e.actor, e.at.UTC().Format(time.RFC3339Nano), e.holderUnit, tm(e.stepDue), in))
	}
	paused := "-"
	if s.paused != nil {
		paused = fmt.Sprint(*s.paused)
	}
	return map[string]any{"state": s.state, "version": s.version, "holder": s.holderUnit, "user": s.holderUser, "deadline": tm(s.deadline),
		"step": tm(s.stepDeadline), "paused": paused, "events": events}
}
