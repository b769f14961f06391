package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/core/form"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/rules"
	"github.com/hotline12345/hotline/core/script"
	"github.com/hotline12345/hotline/core/ticket"
)

// Engine performs flow actions on tickets. Every action is one transaction:
// permission and guards are checked, effects applied, the ticket written
// with its version bumped, and one event row and outbox rows added.
type Engine struct {
	// Store reads tickets in a reader's scope, and holds the clock.
	Store  *ticket.Store
	pool   *pgxpool.Pool
	config *registry.Runtime
	// Scripts runs the flows' Lua hooks.
	Scripts *script.Engine

	mu sync.Mutex
	// older holds flows of earlier versions rebuilt beside the running
	// configuration, valid while that configuration runs.
	older     map[olderKey]older
	olderBase *registry.Set
	// versions are the running flow versions of versionsBase.
	versions     map[string]int
	versionsBase *registry.Set
}

type olderKey struct {
	name    string
	version int
}

// NewEngine returns an engine over pool running the flows of config.
func NewEngine(pool *pgxpool.Pool, config *registry.Runtime) *Engine {
	return &Engine{Store: ticket.NewStore(pool, config, readGuards), pool: pool, config: config, Scripts: script.NewEngine(script.Options{})}
}

// now is the engine's clock: the store's.
func (e *Engine) now() time.Time { return e.Store.Now() }

// readGuards are the flows of set that declare a read permission.
func readGuards(set *registry.Set) []ticket.ReadGuard {
	var out []ticket.ReadGuard
	for _, d := range set.All(Kind) {
		if f := d.Model.(*Flow); f.ReadPermission.Name != "" {
			out = append(out, ticket.ReadGuard{Flow: f.Name, Permission: f.ReadPermission.Name})
		}
	}
	return out
}

func (e *Engine) flow(name string) (*Flow, error) {
	set := e.config.Current()
	f, ok := registry.Model[*Flow](set, Kind, name)
	if !ok {
		return nil, gql.FieldError("flow", "流程 %q 不存在", name)
	}
	return f, nil
}

// Create starts a ticket with one of the flow's creating actions.
func (e *Engine) Create(ctx context.Context, p *identity.Principal, flowName, action string, input map[string]any) (ticket.Ticket, error) {
	f, err := e.flow(flowName)
	if err != nil {
		return ticket.Ticket{}, err
	}
	a, ok := f.Action(action)
	if !ok || len(a.From) != 0 {
		return ticket.Ticket{}, gql.FieldError("action", "%q 不是流程 %s 的创建动作", action, f.Label)
	}
	var out ticket.Ticket
	err = pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		version, err := e.activeVersion(ctx, tx, f.Name)
		if err != nil {
			return err
		}
		now := e.now()
		number, err := f.Number(ctx, tx, now)
		if err != nil {
			return err
		}
		t := ticket.Ticket{Number: number, Flow: f.Name, FlowVersion: version, CreatorID: p.UserID, Creator: p.Username,
			ScopePath: p.UnitPath, Fields: map[string]any{}, Inputs: map[string]map[string]any{}, Counts: map[string]int{}, CreatedAt: now}
		// The path is read as the row is written, under a share lock of
		// the unit: a move of the unit either waits for this ticket (and
		// its trigger then moves it) or has committed (and this reads the
		// new path), where the principal's path was read at sign-in.
		if err := tx.QueryRow(ctx, `INSERT INTO tickets (number, flow, flow_version, state, version, scope_path, creator_id, created_at, updated_at)
			VALUES ($1, $2, $3, '', 0, COALESCE((SELECT path FROM units WHERE id = $4 FOR SHARE), $5), $6, $7, $7) RETURNING id, scope_path`,
			number, f.Name, version, p.UnitID, p.UnitPath, p.UserID, now).Scan(&t.ID, &t.ScopePath); err != nil {
			return fmt.Errorf("creating ticket: %w", err)
		}
		out, err = e.perform(ctx, tx, p, f, a, t, input)
		return err
	})
	return out, err
}

// Perform runs an action on a ticket. expectedVersion, when given, must be
// the ticket's current version: of two clerks acting on the same ticket,
// the second gets CONFLICT with the current state instead of overwriting.
func (e *Engine) Perform(ctx context.Context, p *identity.Principal, id int64, action string, input map[string]any, expectedVersion *int) (ticket.Ticket, error) {
	var out ticket.Ticket
	err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		t, err := e.Store.Read(ctx, tx, p, id, true)
		if err != nil {
			return err
		}
		f, err := e.definition(ctx, tx, t.Flow, t.FlowVersion)
		if err != nil {
			return err
		}
		if expectedVersion != nil && *expectedVersion != t.Version {
			return &gql.Error{Code: gql.Conflict, Message: fmt.Sprintf("工单 %s 已被他人办理，当前状态为“%s”（版本 %d），请刷新后重试", t.Number, f.StateLabel(t.State), t.Version),
				Extra: map[string]any{"state": t.State, "version": t.Version}}
		}
		a, ok := f.Action(action)
		if !ok {
			return gql.FieldError("action", "流程 %s 没有动作 %q", f.Label, action)
		}
		if !slices.ContainsFunc(a.From, func(r registry.Ref) bool { return r.Name == t.State }) {
			label := f.StateLabel(t.State)
			return &gql.Error{Code: gql.BadUserInput, Field: "action", Message: fmt.Sprintf("工单处于“%s”，不能执行“%s”", label, a.Label),
				Extra: map[string]any{"state": t.State}}
		}
		out, err = e.perform(ctx, tx, p, f, a, t, input)
		return err
	})
	return out, err
}

// Available lists the actions the principal may perform on the ticket now:
// its state allows them, a role of the principal may, the holder rule lets
// the principal act and whose guards, as far as they can be judged before
// the input is given, do not refuse.
func (e *Engine) Available(ctx context.Context, p *identity.Principal, t ticket.Ticket) ([]*Action, error) {
	offers, err := e.Offers(ctx, p, t)
	if err != nil {
		return nil, err
	}
	var out []*Action
	for _, o := range offers {
		if o.Refusal == "" {
			out = append(out, o.Action)
		}
	}
	return out, nil
}

// Offer is an action of the ticket's state that the principal's roles
// and the holder rule allow.
type Offer struct {
	Action *Action
	// Refusal is why a guard refuses it on the ticket as it is (a UI
	// shows it greyed out with this text); "" when nothing known yet
	// refuses it. Guards over the input are judged when it is given.
	Refusal string
	// Choices are the only values some fields take for this action on
	// this ticket: a choice narrowed by the action's allow, a unit that
	// must lie directly under the holder (下派).
	Choices map[string][]string
}

// Offers lists the actions p may take on t, each with what refuses it now.
func (e *Engine) Offers(ctx context.Context, p *identity.Principal, t ticket.Ticket) ([]Offer, error) {
	f, err := e.definition(ctx, e.pool, t.Flow, t.FlowVersion)
	if err != nil {
		return nil, err
	}
	env := e.env(p, t, map[string]any{})
	var out []Offer
	for i := range f.Actions {
		a := &f.Actions[i]
		if !slices.ContainsFunc(a.From, func(r registry.Ref) bool { return r.Name == t.State }) || permitted(p, a, t) != nil {
			continue
		}
		msg, err := a.RefusalNow(env)
		if err != nil {
			return nil, err
		}
		choices, err := e.choices(ctx, a, t)
		if err != nil {
			return nil, err
		}
		// A required field with nothing to choose from (handing down from
		// a unit with no units under it) cannot be filled.
		for _, name := range a.RequiredFields() {
			if c, ok := choices[name]; ok && len(c) == 0 && msg == "" {
				label := name
				if fl, ok := a.Form.form.Field(name); ok {
					label = fl.Label
				}
				msg = fmt.Sprintf("没有可选的%s", label)
			}
		}
		out = append(out, Offer{Action: a, Refusal: msg, Choices: choices})
	}
	return out, nil
}

// allowed refuses a value the action's allow does not list.
func (fm *Form) allowed(action string, input map[string]any) error {
	for name, values := range fm.Allow {
		v, ok := input[name]
		if !ok || v == nil {
			continue
		}
		given := []any{v}
		if list, ok := v.([]any); ok {
			given = list
		}
		for _, g := range given {
			if s, _ := g.(string); !slices.Contains(values, s) {
				label := name
				if fm.form != nil {
					if fl, ok := fm.form.Field(name); ok {
						label = fl.Label
					}
				}
				return gql.FieldError("input."+name, "“%s”的%s须为：%s", action, label, strings.Join(values, "、"))
			}
		}
	}
	return nil
}

// choices are the values an action's fields are limited to on t.
func (e *Engine) choices(ctx context.Context, a *Action, t ticket.Ticket) (map[string][]string, error) {
	var out map[string][]string
	if a.Form != nil {
		for name, values := range a.Form.Allow {
			if out == nil {
				out = map[string][]string{}
			}
			out[name] = values
		}
	}
	for _, eff := range a.Effects {
		as := eff.Assign
		if as == nil || as.Below != "holder" || !strings.HasPrefix(as.Unit.Source, "input.") || t.HolderUnit == nil {
			continue
		}
		rows, err := e.pool.Query(ctx, `SELECT code FROM units WHERE parent_id = $1 AND active ORDER BY code`, t.HolderUnit.ID)
		if err != nil {
			return nil, fmt.Errorf("reading the units under %s: %w", t.HolderUnit.Code, err)
		}
		codes, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("reading the units under %s: %w", t.HolderUnit.Code, err)
		}
		if out == nil {
			out = map[string][]string{}
		}
		out[strings.TrimPrefix(as.Unit.Source, "input.")] = append([]string{}, codes...)
	}
	return out, nil
}

// permitted checks roles and the holder rule.
func permitted(p *identity.Principal, a *Action, t ticket.Ticket) error {
	if !slices.ContainsFunc(a.Roles, func(r registry.Ref) bool { return slices.Contains(p.Roles, r.Name) }) {
		names := make([]string, len(a.Roles))
		for i, r := range a.Roles {
			names[i] = r.Name
		}
		return gql.Errorf(gql.Forbidden, "“%s”须由以下角色执行：%s", a.Label, strings.Join(names, "、"))
	}
	switch a.Holder {
	case "unit":
		if t.HolderUnit == nil || t.HolderUnit.ID != p.UnitID {
			return gql.Errorf(gql.Forbidden, "“%s”只能由工单当前承办单位执行", a.Label)
		}
	case "unit-or-above":
		if t.HolderUnit == nil || !strings.HasPrefix(t.HolderUnit.Path, p.UnitPath) {
			return gql.Errorf(gql.Forbidden, "“%s”只能由工单当前承办单位或其上级执行", a.Label)
		}
	case "user":
		if t.HolderUser != p.Username {
			return gql.Errorf(gql.Forbidden, "“%s”只能由工单当前承办人执行", a.Label)
		}
	case "branch":
		if !slices.ContainsFunc(t.Branches, func(b ticket.Branch) bool { return b.State == "open" && b.Unit.ID == p.UnitID }) {
			return gql.Errorf(gql.Forbidden, "“%s”只能由承担协办分支的单位执行", a.Label)
		}
	}
	return nil
}

func (e *Engine) env(p *identity.Principal, t ticket.Ticket, input map[string]any) Env {
	env := Env{
		Ticket: TicketVars{ID: t.ID, Number: t.Number, State: t.State, HolderUser: t.HolderUser, Fields: t.Fields,
			Inputs: inputsEnv(t.Inputs), Counts: t.Counts, Created: t.CreatedAt},
		Input: input,
		Actor: ActorVars{Username: p.Username, Roles: p.Roles, Unit: p.UnitCode, UnitKind: p.UnitKind},
		Now:   e.now(),
	}
	if u := t.HolderUnit; u != nil {
		env.Ticket.HolderUnit, env.Ticket.HolderUnitKind = u.Code, u.Kind
		env.Ticket.HolderParent, env.Ticket.HolderParentKind = u.ParentCode, u.ParentKind
	}
	if t.Deadline != nil {
		env.Ticket.Deadline = *t.Deadline
	}
	if t.StepDeadline != nil {
		env.Ticket.StepDeadline = *t.StepDeadline
	}
	for _, b := range t.Branches {
		env.Ticket.Branches.Total++
		if b.State == "open" {
			env.Ticket.Branches.Open++
		} else {
			env.Ticket.Branches.Done++
		}
	}
	if env.Input == nil {
		env.Input = map[string]any{}
	}
	return env
}

// inputsEnv is a ticket's inputs as expressions see them: a map of maps,
// so ticket.inputs.extension_apply.days reads like ticket.fields.days.
func inputsEnv(in map[string]map[string]any) map[string]any {
	out := make(map[string]any, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

// perform applies action a to ticket t (locked, or just inserted) in tx.
func (e *Engine) perform(ctx context.Context, tx pgx.Tx, p *identity.Principal, f *Flow, a *Action, t ticket.Ticket, input map[string]any) (ticket.Ticket, error) {
	if err := permitted(p, a, t); err != nil {
		return ticket.Ticket{}, err
	}
	target := a.Target(t.State)
	to, _ := f.State(target)
	// The action's form checks and normalises the input: the one check
	// every path (UI, API, plugins) goes through.
	if a.Form != nil && a.Form.form != nil {
		// An edit of the content (accepting a chat, submitting a draft)
		// is checked as the whole it makes: what the ticket holds of the
		// form's fields, with the input over it, so the phone a chat came
		// with need not be typed again.
		if a.Form.Content && len(a.From) != 0 {
			whole := map[string]any{}
			for _, fl := range a.Form.form.Fields {
				if v, ok := t.Fields[fl.Name]; ok && fl.Compute.Source == "" {
					whole[fl.Name] = v
				}
			}
			for k, v := range input {
				whole[k] = v
			}
			input = whole
		}
		res, err := a.Form.form.Check(ctx, input, form.Options{Require: a.Form.Required, Partial: to.Category == CategoryDraft,
			Lookup: form.DBLookup{Q: tx}, Now: e.now()})
		if err != nil {
			return ticket.Ticket{}, form.AsGraphQL(err, "input")
		}
		input = res.Values
		if err := a.Form.allowed(a.Label, input); err != nil {
			return ticket.Ticket{}, err
		}
	} else if len(input) > 0 && len(a.From) != 0 {
		// Nothing would check it, and nothing would show it: an action
		// without a form takes no input.
		return ticket.Ticket{}, gql.FieldError("input", "“%s”无需填写内容", a.Label)
	}
	env := e.env(p, t, input)
	g, err := a.refusing(env, false)
	if err != nil {
		return ticket.Ticket{}, err
	}
	if g != nil {
		field := "action"
		if g.Field != "" {
			field = "input." + g.Field
		}
		return ticket.Ticket{}, &gql.Error{Code: gql.BadUserInput, Field: field, Message: g.Message, Extra: map[string]any{"action": a.Name}}
	}
	// Whatever a ticket is created with (a draft too), and a content
	// action's input, is the ticket's content: it is kept in the ticket's
	// fields (before the effects, so time limits see it). Any other
	// action's input is that action's own, kept under its name.
	switch {
	case len(a.From) == 0 || a.Form != nil && a.Form.Content:
		for k, v := range input {
			t.Fields[k] = v
		}
	case a.Form != nil:
		t.Inputs[a.Name] = orEmpty(input)
	}
	from := t.State
	clockBefore := clockOf(t)
	stepBefore := t.StepDeadline
	var unitBefore *int64
	if t.HolderUnit != nil {
		unitBefore = &t.HolderUnit.ID
	}
	var notices []map[string]any
	for _, eff := range a.Effects {
		n, err := e.apply(ctx, tx, p, f, &t, env, eff)
		if err != nil {
			return ticket.Ticket{}, fmt.Errorf("action %s: %w", a.Name, err)
		}
		if n != nil {
			notices = append(notices, n)
		}
	}
	for _, h := range a.Hooks {
		if err := e.hook(ctx, f, &t, env, h); err != nil {
			return ticket.Ticket{}, err
		}
	}
	t.State = target
	t.Counts[a.Name]++
	t.Version++
	now := e.now()
	// The step's clock starts when the ticket enters a state with a limit
	// or, in it, passes to another unit (handed down, each level signs
	// for it in its own time).
	switch unitAfter := t.HolderUnit; {
	case to.Limit == nil:
		t.StepDeadline = nil
	case target != from || t.StepDeadline == nil || unitAfter == nil || unitBefore == nil || unitAfter.ID != *unitBefore:
		due := to.Limit.Due(f.Calendar(), now)
		t.StepDeadline = &due
	}
	if to.Category == CategoryClosed {
		t.ClosedAt = &now
	} else {
		t.ClosedAt = nil
	}
	var holderUnit, holderUser *int64
	if t.HolderUnit != nil {
		holderUnit = &t.HolderUnit.ID
		t.ScopePath = t.HolderUnit.Path
	}
	if t.HolderUser != "" {
		var id int64
		var path string
		if err := tx.QueryRow(ctx, `SELECT us.id, un.path FROM users us JOIN units un ON un.id = us.unit_id WHERE us.username = $1`,
			t.HolderUser).Scan(&id, &path); err != nil {
			return ticket.Ticket{}, gql.FieldError("input", "承办人 %s 不存在", t.HolderUser)
		}
		// A ticket held by a unit is held by one of its people: handing it
		// to someone elsewhere would take it out of the unit's sight.
		if t.HolderUnit != nil && !strings.HasPrefix(path, t.HolderUnit.Path) {
			return ticket.Ticket{}, gql.FieldError("input", "承办人 %s 不属于承办单位%s", t.HolderUser, t.HolderUnit.Name)
		}
		holderUser = &id
	}
	inputJSON, err := json.Marshal(orEmpty(input))
	if err != nil {
		return ticket.Ticket{}, gql.FieldError("input", "无法保存输入：%v", err)
	}
	// Every write of the action goes to the server in one round trip: the
	// ticket, its event, its timers and its outbox rows.
	b := &pgx.Batch{}
	// The holder's path is read as the row is written (see create).
	b.Queue(`UPDATE tickets SET state = $2, version = $3, holder_unit_id = $4, holder_user_id = $5,
		scope_path = COALESCE((SELECT path FROM units WHERE id = $4 FOR SHARE), $6),
		fields = $7, counts = $8, deadline = $9, paused_remaining = $10, closed_at = $11, updated_at = $12, inputs = $13, step_deadline = $14
		WHERE id = $1 AND version = $3 - 1`,
		t.ID, t.State, t.Version, holderUnit, holderUser, t.ScopePath, t.Fields, t.Counts, t.Deadline, t.PausedRemaining, t.ClosedAt, now, t.Inputs, t.StepDeadline)
	// The event keeps who held the ticket when it happened and the step
	// limit then running: a timely sign-for (及时签收) is one at or
	// before its step_due, counted per unit without replaying history.
	b.Queue(`INSERT INTO ticket_events (ticket_id, ticket_version, flow_version, action, actor_id, actor, from_state, to_state, input, at, holder_unit_id, step_due)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, t.ID, t.Version, t.FlowVersion, a.Name, p.UserID, p.Username, from, t.State, inputJSON, now, unitBefore, stepBefore)
	// Timers follow the clock: only an action that moved it reschedules.
	if clockOf(t) != clockBefore {
		e.schedule(b, f, t)
	}
	row, err := e.Store.IndexSpec().BuildIndexRow(ctx, t, ticket.DBUnitNames(tx))
	if err != nil {
		return ticket.Ticket{}, fmt.Errorf("indexing ticket %s: %w", t.Number, err)
	}
	ticket.QueueIndex(b, row)
	changed := map[string]any{"ticket": t.ID, "number": t.Number, "action": a.Name, "from": from, "to": t.State, "version": t.Version}
	b.Queue(`INSERT INTO outbox (topic, ticket_id, payload) VALUES ('ticket.changed', $1, $2)`, t.ID, changed)
	for _, n := range notices {
		n["ticket"], n["number"] = t.ID, t.Number
		b.Queue(`INSERT INTO outbox (topic, ticket_id, payload) VALUES ('notice', $1, $2)`, t.ID, n)
	}
	if err := sendWrites(ctx, tx, b, t.Number); err != nil {
		return ticket.Ticket{}, err
	}
	if err := e.runCalls(ctx, tx, p, f, a, t, env); err != nil {
		return ticket.Ticket{}, err
	}
	return t, nil
}

// clock is what a ticket's timers depend on.
type clock struct {
	deadline int64 // unix nanoseconds, 0 for none
	step     int64 // the step's limit, likewise
	paused   bool
	closed   bool
}

func clockOf(t ticket.Ticket) clock {
	c := clock{paused: t.PausedRemaining != nil, closed: t.ClosedAt != nil}
	if t.Deadline != nil {
		c.deadline = t.Deadline.UnixNano()
	}
	if t.StepDeadline != nil {
		c.step = t.StepDeadline.UnixNano()
	}
	return c
}

// sendWrites sends a batch whose first statement updates the ticket under
// its optimistic version, and checks every result.
func sendWrites(ctx context.Context, tx pgx.Tx, b *pgx.Batch, number string) error {
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	for i := 0; i < b.Len(); i++ {
		tag, err := br.Exec()
		if err != nil {
			return fmt.Errorf("writing ticket %s: %w", number, err)
		}
		if i == 0 && tag.RowsAffected() != 1 {
			return gql.Errorf(gql.Conflict, "工单 %s 已被他人办理，请刷新后重试", number)
		}
	}
	return br.Close()
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// apply performs one effect on t, returning a notice to queue if any.
func (e *Engine) apply(ctx context.Context, tx pgx.Tx, p *identity.Principal, f *Flow, t *ticket.Ticket, env Env, eff Effect) (map[string]any, error) {
	cal := f.Calendar()
	now := e.now()
	switch {
	case eff.Assign != nil:
		return nil, e.assign(ctx, tx, f, t, env, eff.Assign)
	case eff.Deadline != nil:
		days := 0
		if d := eff.Deadline; d.Op == "set" || d.Op == "extend" {
			var err error
			if days, err = f.DeadlineDays(env, d); err != nil {
				return nil, err
			}
		}
		t.MoveClock(cal, now, eff.Deadline.Op, days)
	case eff.Set != nil:
		for k, ex := range eff.Set {
			v, err := f.program(ex).Run(env)
			if err != nil {
				return nil, err
			}
			t.Fields[k] = v
		}
	case eff.Notify != nil:
		level := eff.Notify.Level
		if level == "" {
			level = "info"
		}
		return map[string]any{"to": eff.Notify.To, "message": eff.Notify.Message, "level": level}, nil
	case eff.Link != nil:
		other, err := f.evalString(eff.Link.Ticket, env)
		if err != nil {
			return nil, err
		}
		// Only a ticket the actor may read can be linked to: one outside
		// the actor's scope is answered as one that does not exist, so
		// the effect tells no one which numbers exist elsewhere.
		var otherID int64
		args := []any{other}
		if err := tx.QueryRow(ctx, `SELECT t.id FROM tickets t WHERE t.number = $1 AND `+e.Store.Visible(p, &args), args...).Scan(&otherID); err != nil {
			if !errors.Is(err, pgx.ErrNoRows) {
				return nil, fmt.Errorf("finding ticket %s to link: %w", other, err)
			}
			return nil, gql.FieldError("input", "关联的工单 %s 不存在或不在您的数据范围内", other)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO ticket_links (ticket_id, other_id, relation) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			t.ID, otherID, eff.Link.Relation); err != nil {
			return nil, fmt.Errorf("linking tickets: %w", err)
		}
	case eff.Branch != nil:
		return nil, e.openBranches(ctx, tx, f, t, env, eff.Branch)
	case eff.CloseBranch:
		tag, err := tx.Exec(ctx, `UPDATE ticket_branches b SET state = 'done', done_at = $3, result = $4
			FROM users u WHERE b.ticket_id = $1 AND b.state = 'open' AND u.username = $2 AND b.unit_id = u.unit_id`,
			t.ID, env.Actor.Username, now, env.Input)
		if err != nil {
			return nil, fmt.Errorf("closing branch: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return nil, gql.Errorf(gql.Forbidden, "您的单位没有待办的协办分支")
		}
		return nil, ticket.Branches(ctx, tx, t)
	}
	return nil, nil
}

// DeadlineDays is the working days a set or extend deadline effect counts:
// its days expression, or the flow's time limit for the ticket.
func (f *Flow) DeadlineDays(env Env, d *DeadlineEffect) (int, error) {
	if d.Days.Source == "" {
		days, _, ok, err := f.TimeLimit(env)
		if err != nil {
			return 0, err
		}
		if !ok {
			return 0, fmt.Errorf("no time limit of flow %s applies (add a last one without a condition)", f.Name)
		}
		return days, nil
	}
	v, err := f.program(d.Days).Run(env)
	if err != nil {
		return 0, err
	}
	// A number from a form is a float64; a literal in the expression
	// (days: "3") is an int.
	n, ok := v.(float64)
	if i, isInt := v.(int); isInt {
		n, ok = float64(i), true
	}
	if !ok || n < 0 || n != float64(int(n)) {
		return 0, gql.FieldError("input", "期限天数须为非负整数，得到 %v", v)
	}
	return int(n), nil
}

func (e *Engine) assign(ctx context.Context, tx pgx.Tx, f *Flow, t *ticket.Ticket, env Env, as *Assign) error {
	switch as.To {
	case "creator":
		u, err := ticket.ScanUnit(tx.QueryRow(ctx, ticket.UnitSelect+` FROM users us JOIN units un ON un.id = us.unit_id`+ticket.UnitParentJoin+` WHERE us.id = $1`, t.CreatorID))
		if err != nil {
			return fmt.Errorf("reading the creator's unit: %w", err)
		}
		t.HolderUnit, t.HolderUser = &u, t.Creator
		return nil
	case "nobody":
		t.HolderUnit, t.HolderUser = nil, ""
		return nil
	case "previous":
		u, err := ticket.ScanUnit(tx.QueryRow(ctx, ticket.UnitSelect+` FROM ticket_events ev
			JOIN units un ON un.code = ev.input->>'unit'`+ticket.UnitParentJoin+`
			WHERE ev.ticket_id = $1 AND ev.input ? 'unit' ORDER BY ev.id DESC LIMIT 1 OFFSET 1`, t.ID))
		if errors.Is(err, pgx.ErrNoRows) {
			return gql.Errorf(gql.BadUserInput, "工单 %s 没有上一个承办单位", t.Number)
		}
		if err != nil {
			return fmt.Errorf("reading the previous holder: %w", err)
		}
		t.HolderUnit, t.HolderUser = &u, ""
		return nil
	}
	if as.Unit.Source != "" {
		code, err := f.evalString(as.Unit, env)
		if err != nil {
			return err
		}
		u, err := ticket.ScanUnit(tx.QueryRow(ctx, ticket.UnitSelect+` FROM units un`+ticket.UnitParentJoin+` WHERE un.code = $1 AND un.active`, code))
		if errors.Is(err, pgx.ErrNoRows) {
			return gql.FieldError("input.unit", "承办单位 %q 不存在或已停用", code)
		}
		if err != nil {
			return fmt.Errorf("reading unit %s: %w", code, err)
		}
		if as.Below == "holder" && (t.HolderUnit == nil || u.ParentCode != t.HolderUnit.Code) {
			holder := "（无）"
			if t.HolderUnit != nil {
				holder = t.HolderUnit.Name
			}
			return gql.FieldError("input.unit", "%s不是%s的下级单位，只能下派给本单位的直属下级", u.Name, holder)
		}
		t.HolderUnit, t.HolderUser = &u, ""
	}
	if as.User.Source != "" {
		user, err := f.evalString(as.User, env)
		if err != nil {
			return err
		}
		t.HolderUser = user
	}
	return nil
}

func (f *Flow) evalString(ex rules.Expr, env Env) (string, error) {
	v, err := f.program(ex).Run(env)
	if err != nil {
		return "", gql.Wrap(gql.BadUserInput, err, fmt.Sprintf("无法计算 %s：%v", ex.Source, err))
	}
	s, _ := v.(string)
	return s, nil
}

// openBranches opens a co-handling branch for every unit the expression
// lists (other than the lead, who holds the ticket itself).
func (e *Engine) openBranches(ctx context.Context, tx pgx.Tx, f *Flow, t *ticket.Ticket, env Env, br *Branch) error {
	v, err := f.program(br.Units).Run(env)
	if err != nil {
		return gql.Wrap(gql.BadUserInput, err, fmt.Sprintf("无法计算协办单位：%v", err))
	}
	var codes []string
	switch list := v.(type) {
	case []any:
		for _, c := range list {
			codes = append(codes, fmt.Sprint(c))
		}
	case []string:
		codes = list
	case string:
		codes = strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == '，' || r == ' ' })
	case nil:
	default:
		return gql.FieldError("input", "协办单位须为单位编码列表，得到 %T", v)
	}
	lead := ""
	if br.Lead.Source != "" {
		if lead, err = f.evalString(br.Lead, env); err != nil {
			return err
		}
	}
	for _, code := range codes {
		if code == lead || code == "" {
			continue
		}
		var unitID int64
		if err := tx.QueryRow(ctx, `SELECT id FROM units WHERE code = $1 AND active`, code).Scan(&unitID); err != nil {
			return gql.FieldError("input", "协办单位 %q 不存在或已停用", code)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO ticket_branches (ticket_id, unit_id, deadline, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (ticket_id, unit_id) WHERE state = 'open' DO NOTHING`, t.ID, unitID, t.Deadline, e.now()); err != nil {
			return fmt.Errorf("opening branch for %s: %w", code, err)
		}
	}
	return ticket.Branches(ctx, tx, t)
}

// hook calls a Lua function of the flow with the ticket, the action's input
// and the actor. A table it returns is merged into the ticket's fields
// (a computed value, a normalised phone number); error("…") in the script
// refuses the action with that message.
func (e *Engine) hook(ctx context.Context, f *Flow, t *ticket.Ticket, env Env, h Hook) error {
	s, ok := registry.Model[*script.Script](e.config.Current(), script.KindScript, h.Script.Name)
	if !ok {
		return fmt.Errorf("hook: script %s is not loaded", h.Script.Name)
	}
	tk := map[string]any{"id": t.ID, "number": t.Number, "state": t.State, "fields": t.Fields, "holder_unit": env.Ticket.HolderUnit}
	actor := map[string]any{"username": env.Actor.Username, "roles": env.Actor.Roles, "unit": env.Actor.Unit}
	out, err := e.Scripts.Call(ctx, s, h.Function, tk, env.Input, actor)
	if err != nil {
		var rerr *script.RuntimeError
		if errors.As(err, &rerr) {
			return &gql.Error{Code: gql.BadUserInput, Field: "input", Message: rerr.Message, Err: err}
		}
		return fmt.Errorf("hook %s.%s of flow %s: %w", h.Script.Name, h.Function, f.Name, err)
	}
	if fields, ok := out.(map[string]any); ok {
		for k, v := range fields {
			t.Fields[k] = v
		}
	}
	return nil
}
