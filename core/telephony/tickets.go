package telephony

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hotline12345/hotline/core/flow"
)

// procBindCall is the procedure flows bind a call to a ticket with.
const procBindCall = "telephony.bind_call"

func init() {
	flow.RegisterProcedure(procBindCall, flow.Procedure{
		Doc: "Binds a call to the ticket, so the call's recording and events are found from the ticket and the ticket from the call. " +
			"call is the call's SIP Call-ID (a form's session field); when it is empty, the call the acting agent is answering or wrapping up is bound. " +
			"A session that is not a call (web chat, WeChat, SMS) and a ticket registered off the phone bind nothing.",
		Args: []string{"call"},
		Run:  bindCall,
	})
}

// bindCall is the telephony.bind_call procedure.
func bindCall(ctx context.Context, c flow.CallEnv) error {
	sipID, _ := c.Args["call"].(string)
	var callID int64
	var err error
	if sipID != "" {
		err = c.Tx.QueryRow(ctx, `SELECT id FROM calls WHERE sip_call_id = $1 ORDER BY id DESC LIMIT 1`, sipID).Scan(&callID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // a chat session's id: no call to bind
		}
	} else {
		// The agent's task is the call while it rings, is talked and is
		// wrapped up; only an agent who answered it (connected, perhaps
		// before transferring it on) binds it.
		err = c.Tx.QueryRow(ctx, `SELECT c.id FROM agent_status s JOIN calls c ON c.sip_call_id = s.task
			WHERE s.user_id = $1 AND (c.agent_id = s.user_id OR EXISTS (SELECT 1 FROM call_events e
				WHERE e.call_id = c.id AND e.kind = 'connected' AND e.data->>'agent' = $2))
			ORDER BY c.id DESC LIMIT 1`, c.Actor.UserID, c.Actor.Username).Scan(&callID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("telephony.bind_call: finding the call: %w", err)
	}
	if _, err := c.Tx.Exec(ctx, `INSERT INTO call_tickets (call_id, ticket_id, bound_by) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		callID, c.Ticket.ID, c.Actor.UserID); err != nil {
		return fmt.Errorf("telephony.bind_call: binding call %d to ticket %d: %w", callID, c.Ticket.ID, err)
	}
	return nil
}
