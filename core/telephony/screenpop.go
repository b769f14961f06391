package telephony

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hotline12345/hotline/core/acd"
	"github.com/hotline12345/hotline/core/identity"
)

// ScreenPop is what an agent's screen shows when a call rings or is
// answered (来电弹屏): the call with the menu path the caller took and
// what the caller chose there, the caller's tickets still open (在途工单),
// and how often the number called lately.
type ScreenPop struct {
	Call Call `json:"call"`
	// State is the agent's state: ringing (reserved) or talking.
	State       string         `json:"state"`
	Vars        map[string]any `json:"vars"`
	InTransit   []PopTicket    `json:"inTransit"`
	RecentCalls int            `json:"recentCalls"`
}

// PopTicket is an open ticket of the caller.
type PopTicket struct {
	ID        int64     `json:"id"`
	Number    string    `json:"number"`
	Title     string    `json:"title"` // the ticket's summary (form's summary field)
	State     string    `json:"state"`
	CreatedAt time.Time `json:"createdAt"`
}

// popPoll is how often an agent's task is read again when this node saw
// no change: the call may ring the agent from another node.
const popPoll = time.Second

// ScreenPops sends p a ScreenPop each time a call is offered to p or p
// answers one, until ctx ends.
func (m Module) ScreenPops(ctx context.Context, p *identity.Principal) (<-chan ScreenPop, error) {
	if m.Agents == nil {
		return nil, errors.New("screen pops need the agents service")
	}
	if _, err := m.Agents.Agent(ctx, p.UserID); err != nil {
		return nil, err
	}
	ch := make(chan ScreenPop)
	changed, stop := m.Agents.Watch()
	goSafe(nil, "screen pops", func() {
		defer close(ch)
		defer stop()
		t := time.NewTicker(popPoll)
		defer t.Stop()
		var last string
		for {
			a, err := m.Agents.Agent(ctx, p.UserID)
			if err == nil {
				key := a.Task + "/" + a.State
				cat := ""
				if model, ok := acd.Model(m.Agents.Config.Current()); ok {
					if st, ok := model.State(a.State); ok {
						cat = st.Category
					}
				}
				if a.Task != "" && key != last && (cat == acd.Reserved || cat == acd.Talking) {
					pop, err := m.screenPop(ctx, p, a.Task, a.State)
					if err != nil && ctx.Err() == nil {
						slog.Warn("building a screen pop", "agent", p.Username, "call", a.Task, "err", err)
					}
					if err == nil {
						select {
						case ch <- pop:
						case <-ctx.Done():
							return
						}
						last = key
					}
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-changed:
			case <-t.C:
			}
		}
	})
	return ch, nil
}

// screenPop builds the pop of the call sipID for agent p.
func (m Module) screenPop(ctx context.Context, p *identity.Principal, sipID, state string) (ScreenPop, error) {
	rows, err := m.Pool.Query(ctx, `SELECT `+callColumns+` FROM calls c LEFT JOIN users u ON u.id = c.agent_id
		WHERE c.sip_call_id = $1 ORDER BY c.id DESC LIMIT 1`, sipID)
	if err != nil {
		return ScreenPop{}, fmt.Errorf("reading call %s: %w", sipID, err)
	}
	calls, err := pgx.CollectRows(rows, scanCall)
	if err != nil {
		return ScreenPop{}, err
	}
	if len(calls) == 0 {
		return ScreenPop{}, fmt.Errorf("no call %s", sipID)
	}
	pop := ScreenPop{Call: calls[0], State: state, Vars: map[string]any{}, InTransit: []PopTicket{}}
	var vars []byte
	err = m.Pool.QueryRow(ctx, `SELECT COALESCE(data->'vars', '{}') FROM call_events WHERE call_id = $1 AND kind = 'ivr' ORDER BY seq DESC LIMIT 1`, pop.Call.ID).Scan(&vars)
	if err == nil {
		_ = json.Unmarshal(vars, &pop.Vars)
	}
	if err := m.Pool.QueryRow(ctx, `SELECT count(*) FROM calls WHERE caller = $1 AND id <> $2 AND started_at > now() - interval '7 days'`,
		pop.Call.Caller, pop.Call.ID).Scan(&pop.RecentCalls); err != nil {
		return pop, fmt.Errorf("counting the caller's calls: %w", err)
	}
	if m.Tickets != nil && pop.Call.Direction == "inbound" {
		hits, err := m.Tickets.InTransit(ctx, p, pop.Call.Caller, "", "")
		if err != nil {
			return pop, err
		}
		for _, h := range hits {
			pop.InTransit = append(pop.InTransit, PopTicket{ID: h.Ticket.ID, Number: h.Ticket.Number, Title: m.Tickets.Tickets.Summary(h.Ticket), State: h.Ticket.State, CreatedAt: h.Ticket.CreatedAt})
		}
	}
	return pop, nil
}
