package flow

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/graphql-go/graphql"
	"github.com/jackc/pgx/v5"

	"github.com/hotline12345/hotline/core/gql"

	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/ticket"
)

// A user's to-do list (我的待办) is the open tickets whose state names
// them in its todo: as the holder (or one of the holding unit's people
// while no one person holds it), as a co-handling unit, as the creator,
// or by a role. Which states wait on whom is configuration of the flow.

// WorkState counts the tickets waiting on a user in one state.
type WorkState struct {
	Flow  string `json:"flow"`
	State string `json:"state"`
	Label string `json:"label"`
	Count int    `json:"count"`
	// Overdue tickets are past their deadline; NearDue ones run out
	// before the end of the next working day; StepOverdue ones are past
	// their step limit (a sign-for not made in time).
	Overdue     int `json:"overdue"`
	NearDue     int `json:"nearDue"`
	StepOverdue int `json:"stepOverdue"`
}

// Work is a user's to-do list in counts.
type Work struct {
	Total       int         `json:"total"`
	Overdue     int         `json:"overdue"`
	NearDue     int         `json:"nearDue"`
	StepOverdue int         `json:"stepOverdue"`
	States      []WorkState `json:"states"`
}

// Due narrows a to-do list to the tickets of one urgency.
const (
	DueOverdue     = "overdue"
	DueNear        = "near"
	DueStepOverdue = "step_overdue"
)

// todoCondition is the SQL condition "t waits on p", or "" when nothing
// can (p is on no state's list). flow and state narrow it.
func (e *Engine) todoCondition(p *identity.Principal, flowName, state string, args *[]any) string {
	has := func(roles []string) bool {
		return slices.ContainsFunc(roles, func(r string) bool { return slices.Contains(p.Roles, r) })
	}
	param := func(v any) string { *args = append(*args, v); return fmt.Sprintf("$%d", len(*args)) }
	// Each parameter once, and only when used (PostgreSQL must type
	// every parameter it is sent).
	var meP, unitP string
	me := func() string {
		if meP == "" {
			meP = param(p.UserID)
		}
		return meP
	}
	unit := func() string {
		if unitP == "" {
			unitP = param(p.UnitID)
		}
		return unitP
	}
	var conds []string
	for _, d := range e.config.Current().All(Kind) {
		f := d.Model.(*Flow)
		if flowName != "" && f.Name != flowName {
			continue
		}
		for _, s := range f.States {
			if state != "" && s.Name != state || len(s.Todo) == 0 {
				continue
			}
			holderRoles, branchRoles := f.ActingRoles(s.Name)
			var whom []string
			for _, w := range s.Todo {
				switch {
				case w == "holder" && has(holderRoles):
					whom = append(whom, fmt.Sprintf("t.holder_user_id = %s OR t.holder_user_id IS NULL AND t.holder_unit_id = %s", me(), unit()))
				case w == "branch" && has(branchRoles):
					whom = append(whom, fmt.Sprintf("EXISTS (SELECT 1 FROM ticket_branches wb WHERE wb.ticket_id = t.id AND wb.state = 'open' AND wb.unit_id = %s)", unit()))
				case w == "creator":
					whom = append(whom, "t.creator_id = "+me())
				case strings.HasPrefix(w, "role:") && slices.Contains(p.Roles, w[len("role:"):]):
					whom = append(whom, "TRUE")
				}
			}
			if len(whom) == 0 {
				continue
			}
			conds = append(conds, fmt.Sprintf("(t.flow = %s AND t.state = %s AND (%s))", param(f.Name), param(s.Name), strings.Join(whom, " OR ")))
		}
	}
	if len(conds) == 0 {
		return ""
	}
	return "(" + strings.Join(conds, " OR ") + ")"
}

// ActingRoles are the roles that may act on a ticket in state: those of
// its actions bound to the holder (unit, unit-or-above, user) — or of all
// its actions when none is — and those of its branch actions.
func (f *Flow) ActingRoles(state string) (holder, branch []string) {
	var all []string
	for _, a := range f.Actions {
		if !slices.ContainsFunc(a.From, func(r registry.Ref) bool { return r.Name == state }) {
			continue
		}
		for _, r := range a.Roles {
			all = append(all, r.Name)
			switch a.Holder {
			case "unit", "unit-or-above", "user":
				holder = append(holder, r.Name)
			case "branch":
				branch = append(branch, r.Name)
			}
		}
	}
	if len(holder) == 0 {
		holder = all
	}
	return holder, branch
}

// overdueSQL, nearSQL and stepSQL are SQL conditions for overdue,
// near-due and step-overdue tickets at now; near-due counts to the end of
// the next working day of the ticket's flow calendar. Each adds only the
// parameters it uses.
func overdueSQL(now time.Time, args *[]any) string {
	*args = append(*args, now)
	return fmt.Sprintf("(t.paused_remaining IS NULL AND t.deadline < $%d OR t.paused_remaining < 0)", len(*args))
}

func (e *Engine) nearSQL(now time.Time, args *[]any) string {
	*args = append(*args, now)
	at := len(*args)
	var bound []string
	for _, d := range e.config.Current().All(Kind) {
		f := d.Model.(*Flow)
		if f.Calendar() == nil {
			continue
		}
		*args = append(*args, f.Name, f.Calendar().Deadline(now, 1))
		bound = append(bound, fmt.Sprintf("WHEN $%d THEN $%d::timestamptz", len(*args)-1, len(*args)))
	}
	if len(bound) == 0 {
		return "FALSE"
	}
	return fmt.Sprintf("(t.paused_remaining IS NULL AND t.deadline >= $%d AND t.deadline < CASE t.flow %s END)", at, strings.Join(bound, " "))
}

func stepSQL(now time.Time, args *[]any) string {
	*args = append(*args, now)
	return fmt.Sprintf("(t.step_deadline < $%d)", len(*args))
}

// MyWork counts the tickets waiting on p, by state.
func (e *Engine) MyWork(ctx context.Context, p *identity.Principal) (Work, error) {
	args := []any{}
	todo := e.todoCondition(p, "", "", &args)
	w := Work{States: []WorkState{}}
	if todo == "" {
		return w, nil
	}
	now := e.now()
	overdue, near, step := overdueSQL(now, &args), e.nearSQL(now, &args), stepSQL(now, &args)
	rows, err := e.pool.Query(ctx, `SELECT t.flow, t.state, count(*), count(*) FILTER (WHERE `+overdue+`),
		count(*) FILTER (WHERE `+near+`), count(*) FILTER (WHERE `+step+`)
		FROM tickets t WHERE t.closed_at IS NULL AND `+todo+` AND `+e.Store.Visible(p, &args)+` GROUP BY t.flow, t.state`, args...)
	if err != nil {
		return w, fmt.Errorf("counting the to-do list of %s: %w", p.Username, err)
	}
	w.States, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (WorkState, error) {
		var s WorkState
		err := r.Scan(&s.Flow, &s.State, &s.Count, &s.Overdue, &s.NearDue, &s.StepOverdue)
		return s, err
	})
	if err != nil {
		return w, fmt.Errorf("counting the to-do list of %s: %w", p.Username, err)
	}
	// In the flow's order of states, as a UI lists them.
	order := map[string]int{}
	for _, d := range e.config.Current().All(Kind) {
		f := d.Model.(*Flow)
		for i, s := range f.States {
			order[f.Name+"/"+s.Name] = i
		}
	}
	slices.SortFunc(w.States, func(a, b WorkState) int {
		if c := strings.Compare(a.Flow, b.Flow); c != 0 {
			return c
		}
		return order[a.Flow+"/"+a.State] - order[b.Flow+"/"+b.State]
	})
	for i := range w.States {
		s := &w.States[i]
		s.Label = s.State
		if f, err := e.flow(s.Flow); err == nil {
			s.Label = f.StateLabel(s.State)
		}
		w.Total += s.Count
		w.Overdue += s.Overdue
		w.NearDue += s.NearDue
		w.StepOverdue += s.StepOverdue
	}
	return w, nil
}

// WorkList lists the tickets waiting on p, most urgent first (the
// earliest step limit, then the earliest deadline), optionally of one
// flow and state and one urgency; after is the offset of the page.
func (e *Engine) WorkList(ctx context.Context, p *identity.Principal, flowName, state, due string, after, limit int) ([]ticket.Ticket, error) {
	args := []any{}
	todo := e.todoCondition(p, flowName, state, &args)
	if todo == "" {
		return []ticket.Ticket{}, nil
	}
	where := "t.closed_at IS NULL AND " + todo + " AND " + e.Store.Visible(p, &args)
	switch due {
	case "":
	case DueOverdue:
		where += " AND " + overdueSQL(e.now(), &args)
	case DueNear:
		where += " AND " + e.nearSQL(e.now(), &args)
	case DueStepOverdue:
		where += " AND " + stepSQL(e.now(), &args)
	default:
		return nil, fmt.Errorf("unknown urgency %q", due)
	}
	args = append(args, min(max(limit, 1), 1001), max(after, 0))
	return e.Store.Query(ctx, ticket.Select+` WHERE `+where+
		fmt.Sprintf(` ORDER BY t.step_deadline NULLS LAST, t.deadline NULLS LAST, t.id LIMIT $%d OFFSET $%d`, len(args)-1, len(args)), args...)
}

func (m Module) registerWork(b *gql.Builder, ticketType *graphql.Object) {
	e := m.Engine
	counts := graphql.Fields{
		"overdue":     &graphql.Field{Type: gql.NonNull(graphql.Int), Description: "已超期"},
		"nearDue":     &graphql.Field{Type: gql.NonNull(graphql.Int), Description: "即将超期（下一个工作日结束前到期）"},
		"stepOverdue": &graphql.Field{Type: gql.NonNull(graphql.Int), Description: "超过环节时限（如未按时签收）"},
	}
	stateFields := graphql.Fields{
		"flow":  &graphql.Field{Type: gql.NonNull(graphql.String)},
		"state": &graphql.Field{Type: gql.NonNull(graphql.String)},
		"label": &graphql.Field{Type: gql.NonNull(graphql.String)},
		"count": &graphql.Field{Type: gql.NonNull(graphql.Int)},
	}
	workFields := graphql.Fields{
		"total": &graphql.Field{Type: gql.NonNull(graphql.Int), Description: "待办总数"},
	}
	for k, v := range counts {
		stateFields[k], workFields[k] = v, v
	}
	stateType := graphql.NewObject(graphql.ObjectConfig{Name: "WorkState", Description: "某一状态的待办数", Fields: stateFields})
	workFields["states"] = &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(stateType))), Description: "按状态（流程中的顺序）"}
	workType := graphql.NewObject(graphql.ObjectConfig{Name: "Work", Description: "我的待办：等待当前用户（本人、本单位或本角色）办理的未办结工单", Fields: workFields})
	b.Query("myWork", &graphql.Field{Type: gql.NonNull(workType),
		Description: "我的待办数量：按状态，含超期、即将超期和超过环节时限的数量；哪些状态等待谁由流程状态的 todo 配置",
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, _ map[string]any, _ any) (any, error) {
			return e.MyWork(ctx, p)
		})})
	args := graphql.FieldConfigArgument{
		"flow":  {Type: graphql.String, Description: "只列该流程"},
		"state": {Type: graphql.String, Description: "只列该状态"},
		"due":   {Type: graphql.String, Description: "overdue 已超期、near 即将超期、step_overdue 超过环节时限"},
	}
	for k, v := range gql.PageArgs {
		args[k] = v
	}
	b.Query("myWorkTickets", &graphql.Field{Type: gql.NonNull(gql.Connection(ticketType)), Args: args,
		Description: "我的待办工单：最紧急的在前（先按环节时限，再按办理期限）",
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			page, err := gql.PageFrom(args)
			if err != nil {
				return nil, err
			}
			str := func(k string) string { v, _ := args[k].(string); return v }
			due := str("due")
			if due != "" && due != DueOverdue && due != DueNear && due != DueStepOverdue {
				return nil, gql.FieldError("due", "due 须为 overdue、near 或 step_overdue")
			}
			list, err := e.WorkList(ctx, p, str("flow"), str("state"), due, int(page.After), page.First+1)
			if err != nil {
				return nil, err
			}
			// The cursor is a position in the list: it is ordered by
			// deadlines, not by id.
			pos := map[int64]int64{}
			for i, t := range list {
				pos[t.ID] = page.After + int64(i) + 1
			}
			return gql.ConnectionOf(list, page, func(t ticket.Ticket) int64 { return pos[t.ID] }), nil
		})})
}
