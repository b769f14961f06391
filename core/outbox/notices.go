package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/registry"
)

// Notice is one notice in a user's store.
type Notice struct {
	ID        int64
	UserID    int64
	OutboxID  int64
	TicketID  *int64
	Level     string
	Message   string
	Payload   map[string]any
	CreatedAt time.Time
	ReadAt    *time.Time
}

// Number is the ticket number the notice is about, if any.
func (n Notice) Number() string {
	s, _ := n.Payload["number"].(string)
	return s
}

var errPayloadTooLarge = errors.New("payload too large to notify")

// The seam for SMS and phone delivery. Every delivery of urgent notices
// writes one outbox row of topic RelayTopic in the same transaction, its
// payload {"notice": the outbox row the notices came from, "level",
// "message", "users": [user ids]}: a channel plugin (SMS gateway, an
// outbound call through telephony) registers a Handler for the topic with
// the Dispatcher and reaches those users by their phone numbers, with the
// outbox's retries and dead letters, and idempotent by the notice's id.
// Until one is registered the rows are marked delivered unread, as every
// topic without a handler is.
const (
	RelayTopic = "notice.relay"
	RelayLevel = "urgent"
)

// Notices is the handler of topic notice: it resolves the payload's `to`
// into users when the row is delivered and writes one notice per user.
//
//   - "holder": the ticket's holding user; while no one person holds it,
//     the active users of the holding unit who hold a role that may act on
//     the ticket in its state (every active user of the unit when no
//     action leads on from there);
//   - "creator": the user who registered the ticket;
//   - "role:NAME": the active users holding the role, directly or through
//     a post, whose data scope for that role covers the ticket (scope all:
//     every ticket; subtree: tickets of their unit and below; unit or
//     self: tickets of their unit).
//
// Disabled accounts receive nothing. Anything else in `to`, or a payload
// that cannot be read, is a Permanent error: a dead letter.
type Notices struct {
	// RoleScope gives a role's data scope; false for a role the running
	// configuration does not define (whose holders then receive nothing).
	RoleScope func(role string) (identity.ScopeKind, bool)
	// ActingRoles gives the roles that may act as the holder on a ticket of
	// flow in state; nil or an empty answer lets every user of the unit.
	ActingRoles func(flow, state string) []string
}

// NoticesFrom is the notice handler reading roles and flows from the
// running configuration.
func NoticesFrom(rt *registry.Runtime) Notices {
	return Notices{
		RoleScope: func(role string) (identity.ScopeKind, bool) {
			set := rt.Current()
			if set == nil {
				return "", false
			}
			for _, d := range set.All(identity.KindRole) {
				if d.Name == role {
					return d.Model.(*identity.Role).Scope, true
				}
			}
			return "", false
		},
		ActingRoles: func(flowName, state string) []string {
			set := rt.Current()
			if set == nil {
				return nil
			}
			for _, d := range set.All(flow.Kind) {
				if f := d.Model.(*flow.Flow); f.Name == flowName {
					holder, _ := f.ActingRoles(state)
					return holder
				}
			}
			return nil
		},
	}
}

// holdsRole is the condition "user u holds one of the roles in parameter
// n", directly or through a post.
func holdsRole(n int) string {
	return fmt.Sprintf(`(EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id AND r.role = ANY($%d))
		OR EXISTS (SELECT 1 FROM user_posts up JOIN posts p ON p.id = up.post_id WHERE up.user_id = u.id AND p.roles && $%d))`, n, n)
}

// Handle implements Handler.
func (h Notices) Handle(ctx context.Context, tx pgx.Tx, m Message) error {
	var p struct {
		To      string `json:"to"`
		Message string `json:"message"`
		Level   string `json:"level"`
	}
	if err := json.Unmarshal(m.Payload, &p); err != nil {
		return Permanent(fmt.Errorf("reading notice %d: %w", m.ID, err))
	}
	if p.Level == "" {
		p.Level = "info"
	}
	type ticket struct {
		flow, state, path    string
		holderUser, holderUn *int64
		creator              int64
	}
	var t *ticket
	if m.TicketID != 0 {
		var tk ticket
		err := tx.QueryRow(ctx, `SELECT flow, state, scope_path, holder_user_id, holder_unit_id, creator_id FROM tickets WHERE id = $1`, m.TicketID).
			Scan(&tk.flow, &tk.state, &tk.path, &tk.holderUser, &tk.holderUn, &tk.creator)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return fmt.Errorf("reading the ticket of notice %d: %w", m.ID, err)
		default:
			t = &tk
		}
	}
	// Parameters 1–7 are the notice's; the recipients' query adds its own.
	var ticketID *int64
	if m.TicketID != 0 {
		ticketID = &m.TicketID
	}
	args := []any{m.ID, ticketID, p.Level, p.Message, m.Payload, m.CreatedAt, strconv.FormatInt(m.ID, 10)}
	param := func(v any) int { args = append(args, v); return len(args) }
	var recipients string
	switch {
	case p.To == "holder":
		switch {
		case t == nil:
			return nil
		case t.holderUser != nil:
			recipients = fmt.Sprintf(`SELECT u.id FROM users u WHERE u.id = $%d AND NOT u.disabled`, param(*t.holderUser))
		case t.holderUn != nil:
			recipients = fmt.Sprintf(`SELECT u.id FROM users u WHERE u.unit_id = $%d AND NOT u.disabled`, param(*t.holderUn))
			if h.ActingRoles != nil {
				if roles := h.ActingRoles(t.flow, t.state); len(roles) > 0 {
					recipients += " AND " + holdsRole(param(roles))
				}
			}
		default:
			return nil
		}
	case p.To == "creator":
		if t == nil {
			return nil
		}
		recipients = fmt.Sprintf(`SELECT u.id FROM users u WHERE u.id = $%d AND NOT u.disabled`, param(t.creator))
	case strings.HasPrefix(p.To, "role:") && len(p.To) > len("role:"):
		role := p.To[len("role:"):]
		scope, ok := identity.ScopeAll, true
		if h.RoleScope != nil {
			scope, ok = h.RoleScope(role)
		}
		if !ok {
			return nil
		}
		recipients = fmt.Sprintf(`SELECT u.id FROM users u JOIN units un ON un.id = u.unit_id WHERE NOT u.disabled AND %s`, holdsRole(param([]string{role})))
		if t != nil {
			switch scope {
			case identity.ScopeAll:
			case identity.ScopeSubtree:
				recipients += fmt.Sprintf(` AND left($%d::text, length(un.path)) = un.path`, param(t.path))
			default:
				recipients += fmt.Sprintf(` AND un.path = $%d`, param(t.path))
			}
		}
	default:
		return Permanent(fmt.Errorf("notice %d: unknown recipient %q (want holder, creator or role:NAME)", m.ID, p.To))
	}
	return storeNotices(ctx, tx, m.ID, recipients, args)
}

// storeNotices writes one notice of outbox row id to each user the query
// recipients selects (a column id), with args' first seven parameters the
// notice's (see Handle), and tells every node's feed once it commits.
//
// Urgent notices are also relayed: one outbox row of topic RelayTopic
// names the users who received them, for the channels outside the web UI.
func storeNotices(ctx context.Context, tx pgx.Tx, id int64, recipients string, args []any) error {
	_, err := tx.Exec(ctx, `WITH ins AS (
			INSERT INTO notices (user_id, outbox_id, ticket_id, level, message, payload, created_at)
			SELECT r.id, $1, $2, $3, $4, $5, $6 FROM (`+recipients+`) r
			ON CONFLICT (user_id, outbox_id) DO NOTHING RETURNING user_id),
		relay AS (
			INSERT INTO outbox (topic, ticket_id, payload)
			SELECT '`+RelayTopic+`', $2, jsonb_build_object('notice', $1::bigint, 'level', $3::text, 'message', $4::text, 'users', jsonb_agg(user_id ORDER BY user_id))
			FROM ins WHERE $3::text = '`+RelayLevel+`' HAVING count(*) > 0 RETURNING 1)
		SELECT pg_notify('`+channelNotice+`', $7) FROM (SELECT count(*) AS n FROM ins) c WHERE c.n > 0`, args...)
	if err != nil {
		return fmt.Errorf("storing notice %d: %w", id, err)
	}
	return nil
}

// StoreNotices is for the handlers of other topics that address users of
// their own (an announcement's recipients): it writes message m as a
// notice of level and message to each user the query recipients selects
// (one column, id), and pushes them to the users' live subscriptions once
// the delivery commits. The notice's payload is m's. recipients' own
// parameters start at $8 (the first seven are the notice's) and come in
// recipientArgs. Delivered twice, a row is stored once per user.
func StoreNotices(ctx context.Context, tx pgx.Tx, m Message, level, message, recipients string, recipientArgs ...any) error {
	var ticketID *int64
	if m.TicketID != 0 {
		ticketID = &m.TicketID
	}
	args := append([]any{m.ID, ticketID, level, message, m.Payload, m.CreatedAt, strconv.FormatInt(m.ID, 10)}, recipientArgs...)
	return storeNotices(ctx, tx, m.ID, recipients, args)
}

// querier is what reads need: a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

const noticeColumns = `id, user_id, outbox_id, ticket_id, level, message, payload, created_at, read_at`

func queryNotices(ctx context.Context, q querier, where string, args ...any) ([]Notice, error) {
	rows, err := q.Query(ctx, `SELECT `+noticeColumns+` FROM notices `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("reading notices: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Notice, error) {
		var n Notice
		err := r.Scan(&n.ID, &n.UserID, &n.OutboxID, &n.TicketID, &n.Level, &n.Message, &n.Payload, &n.CreatedAt, &n.ReadAt)
		return n, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading notices: %w", err)
	}
	return out, nil
}
