// Package flow holds ticket workflows as configuration (kind: flow) and,
// in later slices, the engine that performs their actions. A flow lists
// states and the actions between them: who may act, under which guard,
// which form to fill, and what follows (assignment, deadlines, branches,
// notices, links). Nothing of a particular hotline's workflow is in Go.
package flow

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hotline12345/hotline/core/calendar"
	"github.com/hotline12345/hotline/core/diag"
	"github.com/hotline12345/hotline/core/form"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/rules"
	"github.com/hotline12345/hotline/core/script"
)

// Kind is the configuration kind of flows.
const Kind = "flow"

func init() {
	registry.Register(registry.Kind{
		Name:        Kind,
		Description: "A ticket workflow: states, actions between them, who may act, guards, forms, effects and time limits.",
		Dir:         "flows",
		New:         func() any { return &Flow{} },
		Spec:        registry.Spec{Examples: flowExamples},
	})
}

// Categories of states.
const (
	CategoryDraft  = "draft"
	CategoryOpen   = "open"
	CategoryClosed = "closed"
)

// Flow is a `kind: flow` document.
type Flow struct {
	Name        string       `yaml:"name" jsonschema:"required"`
	Label       string       `yaml:"label" jsonschema:"required"`
	CalendarRef registry.Ref `yaml:"calendar" jsonschema:"required,description=the working-day calendar deadlines are counted on"`
	// Deadlines are tried in order; the first whose rule holds sets the
	// time limit in working days. The last should have no rule.
	Deadlines []Deadline `yaml:"deadlines"`
	// Timers warn about and supervise deadlines: they fire relative to a
	// ticket's deadline while its clock runs.
	Timers  []Timer  `yaml:"timers"`
	States  []State  `yaml:"states" jsonschema:"required"`
	Actions []Action `yaml:"actions" jsonschema:"required"`
	// Separate keeps the flow's tickets (knowledge articles, corrections)
	// out of ticket lists and searches unless a filter names the flow.
	Separate bool `yaml:"separate" jsonschema:"description=keep these tickets out of ticket lists and searches unless a filter names the flow"`
	// ReadPermission narrows who sees the flow's tickets: only those
	// holding the permission, in the data scope of the roles granting it
	// (knowledge drafts: an editor's own unit, a reviewer's everything),
	// whatever wider scope their other roles give them for work orders.
	// Creators keep seeing their own tickets.
	ReadPermission registry.Ref `yaml:"read_permission" jsonschema:"description=only holders of this permission see the flow's tickets (in the scope of the roles granting it); creators see their own"`
	// Numbering is the format of the flow's ticket numbers.
	Numbering *Numbering `yaml:"numbering" jsonschema:"description=ticket numbers: prefix, date pattern and digits of the running count"`

	states  map[string]*State
	actions map[string]*Action
	cal     *calendar.Calendar
	// programs holds every compiled expression by where it was written.
	programs map[diag.Pos]*rules.Program
}

// program returns the compiled form of an expression of this flow.
func (f *Flow) program(ex rules.Expr) *rules.Program { return f.programs[ex.Pos] }

// Deadline is one time-limit rule.
type Deadline struct {
	Pos   diag.Pos   `yaml:"-"`
	Label string     `yaml:"label"`
	When  rules.Expr `yaml:"when" jsonschema:"description=condition over ticket/input; empty matches every ticket"`
	// WorkingDays is the limit; 0 means the end of the same day.
	WorkingDays int `yaml:"working_days"`

	rule *rules.Program
}

// Timer fires a notice relative to a ticket's deadline: Before working days
// ahead of it (near-due warning), or After working days past it (overdue,
// supervision 督办).
type Timer struct {
	Pos     diag.Pos `yaml:"-"`
	Name    string   `yaml:"name" jsonschema:"required"`
	Label   string   `yaml:"label" jsonschema:"required"`
	Before  *int     `yaml:"before" jsonschema:"description=working days before the deadline"`
	After   *int     `yaml:"after" jsonschema:"description=working days after the deadline; 0 is the deadline itself"`
	Notify  string   `yaml:"notify" jsonschema:"required,description=holder\\, creator\\, or role:NAME"`
	Message string   `yaml:"message" jsonschema:"required"`
	Level   string   `yaml:"level" jsonschema:"enum=,enum=info,enum=warning,enum=urgent"`
}

// State is one state of the flow.
type State struct {
	Pos      diag.Pos `yaml:"-"`
	Name     string   `yaml:"name" jsonschema:"required"`
	Label    string   `yaml:"label" jsonschema:"required,description=shown to users (Chinese)"`
	Category string   `yaml:"category" jsonschema:"required,enum=draft,enum=open,enum=closed"`
	// Paused stops the deadline clock while a ticket is in this state
	// (waiting for an audit of an extension or hang request).
	Paused bool `yaml:"paused"`
	// Limit is the time a holder has for this step (sign for a dispatched
	// ticket within hours), beside the ticket's own deadline: its clock
	// starts whenever a ticket enters the state or changes holder in it.
	Limit *StepLimit `yaml:"limit" jsonschema:"description=time limit of the step (环节时限)\\, counted from entering the state or a change of holder"`
	// Todo says on whose to-do list (myWork) a ticket in this state is:
	// "holder" (the holding user, or the holding unit's people while no
	// user holds it), "branch" (units with an open co-handling branch),
	// "role:NAME" (holders of the role, within their data scope), or
	// "creator". None: the ticket waits on nobody (closed, or a step of a
	// machine).
	Todo []string `yaml:"todo" jsonschema:"description=whose to-do list a ticket in this state is on: holder\\, branch\\, creator or role:NAME"`
}

// StepLimit is a step's time limit: hours (counted on working days only)
// or working days, exactly one.
type StepLimit struct {
	Pos         diag.Pos `yaml:"-"`
	Label       string   `yaml:"label" jsonschema:"required,description=shown to users (Chinese)\\, e.g. 2 小时内签收"`
	Hours       int      `yaml:"hours" jsonschema:"description=hours on working days (a day off does not count)"`
	WorkingDays int      `yaml:"working_days" jsonschema:"description=working days\\, counted from the next day like the ticket's deadlines"`
	// Notify, when set, is sent once the limit runs out with the step
	// not done (签收超时提醒).
	Notify *Notify `yaml:"notify" jsonschema:"description=a notice sent when the step's limit runs out"`
}

// maxLimitHours bounds a step's hours: beyond a month of working days a
// limit is a deadline, written in working days.
const maxLimitHours = 720

// Due is when a step entered at from runs out.
func (l *StepLimit) Due(cal *calendar.Calendar, from time.Time) time.Time {
	if l.Hours > 0 {
		return cal.AddWorkingHours(from, l.Hours)
	}
	return cal.Deadline(from, l.WorkingDays)
}

// Action is a transition.
type Action struct {
	Pos   diag.Pos `yaml:"-"`
	Name  string   `yaml:"name" jsonschema:"required"`
	Label string   `yaml:"label" jsonschema:"required"`
	// From lists the states the action starts from; empty makes it a
	// creating action (a new ticket starts with it).
	From []registry.Ref `yaml:"from"`
	// To is the state the ticket moves to; left out, the ticket stays in
	// the state it is in (an urge, a note, a claim).
	To registry.Ref `yaml:"to"`
	// Roles may perform the action.
	Roles []registry.Ref `yaml:"roles" jsonschema:"required"`
	// Holder limits the action to members of the unit holding the ticket
	// (or of a unit above it, with "unit-or-above"), to its holding user,
	// or to a unit holding an open co-handling branch ("branch").
	Holder  string   `yaml:"holder" jsonschema:"enum=,enum=unit,enum=unit-or-above,enum=user,enum=branch"`
	Guards  []Guard  `yaml:"guards"`
	Form    *Form    `yaml:"form"`
	Effects []Effect `yaml:"effects" jsonschema:"description=each item has exactly one key: an effect (schema/reference/effect)"`
	Hooks   []Hook   `yaml:"hooks" jsonschema:"description=Lua functions run after the effects\\, in the same transaction"`
}

// Target is the state the action leads to from state from.
func (a *Action) Target(from string) string {
	if a.To.Name == "" {
		return from
	}
	return a.To.Name
}

// Guard is a condition that must hold, with the reason shown when not.
type Guard struct {
	Rule    rules.Expr `yaml:"rule" jsonschema:"required"`
	Message string     `yaml:"message" jsonschema:"required,description=why the action is refused (Chinese)\\, shown to the user"`
	// Field is the input field the refusal is about, so a form shows the
	// message at it; without it the message is about the action.
	Field string `yaml:"field" jsonschema:"description=the field of the action's form the message is shown at"`

	program *rules.Program
}

// Form names the form an action's input is filled in, and the fields the
// action needs.
type Form struct {
	Name     string   `yaml:"name" jsonschema:"required"`
	Required []string `yaml:"required"`
	// Content makes the input the ticket's own content (a registration,
	// an edit of it): it is merged into the ticket's fields. Any other
	// action's input is kept as that action's latest input
	// (ticket.inputs.ACTION), so a callback's opinion never replaces the
	// dispatcher's, nor a reply's attachments the citizen's. A creating
	// action's input is always content.
	Content bool `yaml:"content" jsonschema:"description=the input is the ticket's content and is merged into its fields; otherwise it is kept as ticket.inputs.ACTION"`
	// Allow narrows a choice field's options for this action: 回访满意
	// takes 满意 or 基本满意, 回访不满意 only 不满意. The UI offers only
	// these (TicketAction.choices) and the check refuses others.
	Allow map[string][]string `yaml:"allow" jsonschema:"description=field name to the only values this action accepts (a choice field's options narrowed)"`

	form *form.Form
}

// FormDef is the form the action's input is checked by (nil without one).
func (a *Action) FormDef() *form.Form {
	if a.Form == nil {
		return nil
	}
	return a.Form.form
}

// RequiredFields are the fields the action's check requires (while they
// are visible): those its form requires and those the action adds, in the
// form's order; none for an action without a form.
func (a *Action) RequiredFields() []string {
	out := []string{}
	if a.Form == nil || a.Form.form == nil {
		return out
	}
	for _, fl := range a.Form.form.Fields {
		if fl.Required || slices.Contains(a.Form.Required, fl.Name) {
			out = append(out, fl.Name)
		}
	}
	return out
}

// Effect is one consequence of an action. Exactly one key is set.
type Effect struct {
	Pos diag.Pos `yaml:"-"`
	// Assign hands the ticket to a unit (code) and/or user (username),
	// each an expression; "creator" and "previous" keywords are values of
	// To instead.
	Assign *Assign `yaml:"assign"`
	// Deadline sets (from the flow's time limits, or Days), pauses or
	// resumes the ticket's clock.
	Deadline *DeadlineEffect `yaml:"deadline"`
	// Branch opens co-handling branches for the units an expression lists.
	Branch *Branch `yaml:"branch"`
	// Notify sends a notice.
	Notify *Notify `yaml:"notify"`
	// Link relates the ticket to another (merge, urge, related).
	Link *Link `yaml:"link"`
	// Set stores values into the ticket's fields.
	Set map[string]rules.Expr `yaml:"set"`
	// CloseBranch marks the acting unit's open branch done, keeping the
	// action's input as its result.
	CloseBranch bool `yaml:"close_branch"`
	// Call runs a procedure a module provides, once the ticket is written.
	Call *Call `yaml:"call"`
}

// Assign is the assignment effect.
type Assign struct {
	To   string     `yaml:"to" jsonschema:"enum=,enum=creator,enum=previous,enum=nobody"`
	Unit rules.Expr `yaml:"unit"`
	User rules.Expr `yaml:"user"`
	// Below requires the unit to be directly under the unit holding the
	// ticket now ("holder"): passing a ticket down level by level (逐级下派),
	// a district to one of its streets, a street to one of its communities.
	Below string `yaml:"below" jsonschema:"enum=,enum=holder,description=holder: the unit must be directly under the current holder"`
}

// DeadlineEffect changes the ticket's clock.
type DeadlineEffect struct {
	Op   string     `yaml:"op" jsonschema:"required,enum=set,enum=pause,enum=resume,enum=extend,enum=clear"`
	Days rules.Expr `yaml:"days" jsonschema:"description=working days for set/extend; empty uses the flow's deadlines"`
}

// Branch opens co-handling branches for co-units; the lead unit holds the
// ticket itself. When the ticket may move on — once every branch is done,
// or on the lead's word alone — is a guard of the lead's action over
// ticket.branches (open, done, total), so the join rule is configuration.
type Branch struct {
	Units rules.Expr `yaml:"units" jsonschema:"required,description=list of unit codes"`
	Lead  rules.Expr `yaml:"lead" jsonschema:"description=unit code of the lead unit\\, skipped if listed among units"`
}

// Notify sends a notice to a holder, the creator or a role.
type Notify struct {
	To      string `yaml:"to" jsonschema:"required,description=holder\\, creator\\, or role:NAME"`
	Message string `yaml:"message" jsonschema:"required"`
	Level   string `yaml:"level" jsonschema:"enum=,enum=info,enum=warning,enum=urgent"`
}

// Link relates tickets.
type Link struct {
	Ticket   rules.Expr `yaml:"ticket" jsonschema:"required,description=the other ticket's number"`
	Relation string     `yaml:"relation" jsonschema:"required,enum=merge,enum=urge,enum=related"`
}

// Hook calls a Lua function.
type Hook struct {
	Script   registry.Ref `yaml:"script" jsonschema:"required"`
	Function string       `yaml:"function" jsonschema:"required"`
}

// State returns a state by name.
func (f *Flow) State(name string) (*State, bool) {
	s, ok := f.states[name]
	return s, ok
}

// StateLabel is the label of state name, or the name itself for a state
// the flow no longer has.
func (f *Flow) StateLabel(name string) string {
	if s, ok := f.states[name]; ok {
		return s.Label
	}
	return name
}

// StateLabel is the label of a state in the flows of set (a state name
// shared by flows is taken to mean the same); the name itself when no
// flow has it.
func StateLabel(set *registry.Set, state string) string {
	for _, d := range set.All(Kind) {
		if st, ok := d.Model.(*Flow).State(state); ok {
			return st.Label
		}
	}
	return state
}

// Action returns an action by name.
func (f *Flow) Action(name string) (*Action, bool) {
	a, ok := f.actions[name]
	return a, ok
}

// Calendar returns the flow's calendar (after validation).
func (f *Flow) Calendar() *calendar.Calendar { return f.cal }

// Provision checks the flow on its own and compiles its expressions.
func (f *Flow) Provision(c *registry.Context) {
	f.states, f.actions = map[string]*State{}, map[string]*Action{}
	f.Numbering.provision(c)
	if f.ReadPermission.Name != "" {
		identity.CheckPermission(c, f.ReadPermission)
	}
	for i := range f.States {
		s := &f.States[i]
		if prev, dup := f.states[s.Name]; dup {
			c.Errorf(s.Pos, "state %q is already defined at %s", s.Name, prev.Pos)
			continue
		}
		f.states[s.Name] = s
		switch s.Category {
		case CategoryDraft, CategoryOpen, CategoryClosed:
		default:
			c.Errorf(c.At("states", i, "category"), "state %s: category %q is not one of draft, open, closed", s.Name, s.Category)
		}
		for j, w := range s.Todo {
			switch {
			case w == "holder", w == "branch", w == "creator":
			case hasPrefix(w, "role:"):
			default:
				c.Errorf(c.At("states", i, "todo", j), "state %s: todo %q is not holder, branch, creator or role:NAME", s.Name, w)
			}
		}
		if l := s.Limit; l != nil {
			switch {
			case l.Hours != 0 && l.WorkingDays != 0:
				c.Errorf(c.At("states", i, "limit"), "state %s: limit takes hours or working_days, not both", s.Name)
			case l.Hours == 0 && l.WorkingDays == 0:
				c.Errorf(c.At("states", i, "limit"), "state %s: limit needs hours or working_days", s.Name)
			case l.Hours < 0 || l.Hours > maxLimitHours:
				c.Errorf(c.At("states", i, "limit", "hours"), "state %s: limit hours must be between 1 and %d", s.Name, maxLimitHours)
			case l.WorkingDays < 0:
				c.Errorf(c.At("states", i, "limit", "working_days"), "state %s: limit working_days cannot be negative", s.Name)
			}
			if s.Category == CategoryClosed {
				c.Errorf(c.At("states", i, "limit"), "state %s: a closed state has no step to limit", s.Name)
			}
			if n := l.Notify; n != nil && n.To != "holder" && n.To != "creator" && !hasPrefix(n.To, "role:") {
				c.Errorf(c.At("states", i, "limit", "notify", "to"), "state %s: notify %q is not holder, creator or role:NAME", s.Name, n.To)
			}
		}
	}
	f.programs = map[diag.Pos]*rules.Program{}
	compile := func(e rules.Expr, want rules.Result) *rules.Program {
		if e.Source == "" {
			return nil
		}
		pos := e.Pos
		e.SetBlockIndent(c.Doc.Line)
		p, diags := rules.Compile(e, env, want)
		c.Report(diags)
		f.programs[pos] = p
		return p
	}
	for i := range f.Deadlines {
		d := &f.Deadlines[i]
		d.rule = compile(d.When, rules.Bool)
		if d.WorkingDays < 0 {
			c.Errorf(d.Pos, "deadline %q: working_days cannot be negative", d.Label)
		}
		if d.When.Source == "" && i != len(f.Deadlines)-1 {
			c.Errorf(d.Pos, "deadline %q has no condition, so the ones after it never apply; put it last", d.Label)
		}
	}
	timerNames := map[string]bool{}
	for _, tm := range f.Timers {
		if timerNames[tm.Name] {
			c.Errorf(tm.Pos, "timer %q is defined twice", tm.Name)
		}
		timerNames[tm.Name] = true
		if (tm.Before == nil) == (tm.After == nil) {
			c.Errorf(tm.Pos, "timer %s: give exactly one of before and after", tm.Name)
		} else if (tm.Before != nil && *tm.Before < 0) || (tm.After != nil && *tm.After < 0) {
			c.Errorf(tm.Pos, "timer %s: working days cannot be negative", tm.Name)
		}
		if tm.Notify != "holder" && tm.Notify != "creator" && !hasPrefix(tm.Notify, "role:") {
			c.Errorf(tm.Pos, "timer %s: notify %q is not holder, creator or role:NAME", tm.Name, tm.Notify)
		}
	}
	for i := range f.Actions {
		a := &f.Actions[i]
		if prev, dup := f.actions[a.Name]; dup {
			c.Errorf(a.Pos, "action %q is already defined at %s", a.Name, prev.Pos)
			continue
		}
		f.actions[a.Name] = a
		for j := range a.Guards {
			a.Guards[j].program = compile(a.Guards[j].Rule, rules.Bool)
		}
		switch a.Holder {
		case "", "unit", "unit-or-above", "user", "branch":
		default:
			c.Errorf(c.At("actions", i, "holder"), "action %s: holder %q is not one of unit, unit-or-above, user, branch", a.Name, a.Holder)
		}
		for j := range a.Effects {
			f.provisionEffect(c, a, &a.Effects[j], compile)
		}
	}
}

func (f *Flow) provisionEffect(c *registry.Context, a *Action, e *Effect, compile func(rules.Expr, rules.Result) *rules.Program) {
	set := 0
	if e.Assign != nil {
		set++
		switch e.Assign.To {
		case "", "creator", "previous", "nobody":
		default:
			c.Errorf(e.Pos, "action %s: assign.to %q is not one of creator, previous, nobody", a.Name, e.Assign.To)
		}
		if e.Assign.To == "" && e.Assign.Unit.Source == "" && e.Assign.User.Source == "" {
			c.Errorf(e.Pos, "action %s: assign needs to, unit or user", a.Name)
		}
		compile(e.Assign.Unit, rules.String)
		compile(e.Assign.User, rules.String)
	}
	if e.Deadline != nil {
		set++
		switch e.Deadline.Op {
		case "set", "extend":
			compile(e.Deadline.Days, rules.Number)
		case "pause", "resume", "clear":
			if e.Deadline.Days.Source != "" {
				c.Errorf(e.Pos, "action %s: deadline %s takes no days", a.Name, e.Deadline.Op)
			}
		default:
			c.Errorf(e.Pos, "action %s: deadline op %q is not one of set, extend, pause, resume, clear", a.Name, e.Deadline.Op)
		}
	}
	if e.Branch != nil {
		set++
		compile(e.Branch.Units, rules.Any)
		compile(e.Branch.Lead, rules.String)
	}
	if e.Notify != nil {
		set++
		to := e.Notify.To
		if to != "holder" && to != "creator" && !hasPrefix(to, "role:") {
			c.Errorf(e.Pos, "action %s: notify.to %q is not holder, creator or role:NAME", a.Name, to)
		}
	}
	if e.Link != nil {
		set++
		compile(e.Link.Ticket, rules.String)
		switch e.Link.Relation {
		case "merge", "urge", "related":
		default:
			c.Errorf(e.Pos, "action %s: link relation %q is not one of merge, urge, related", a.Name, e.Link.Relation)
		}
	}
	if e.Set != nil {
		set++
		for _, v := range e.Set {
			compile(v, rules.Any)
		}
	}
	if e.CloseBranch {
		set++
		if a.Holder != "branch" {
			c.Errorf(e.Pos, "action %s: close_branch needs holder: branch (only a unit holding a branch can close it)", a.Name)
		}
	}
	if e.Call != nil {
		set++
		f.provisionCall(c, a, e, compile)
	}
	if set != 1 {
		c.Errorf(e.Pos, "action %s: an effect has exactly one of %s (this one has %d)", a.Name, strings.Join(registry.Names(registry.NSEffect), ", "), set)
	}
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// Validate checks references to states, roles, scripts and the calendar,
// and that every state can be reached.
func (f *Flow) Validate(c *registry.Context) {
	if d, ok := c.Resolve(calendar.Kind, f.CalendarRef); ok {
		f.cal = d.Model.(*calendar.Calendar)
	}
	stateNames := make([]string, 0, len(f.States))
	for _, s := range f.States {
		stateNames = append(stateNames, s.Name)
	}
	known := func(ref registry.Ref) bool {
		if _, ok := f.states[ref.Name]; !ok {
			c.Errorf(ref.Pos, "unknown state %q%s", ref.Name, registry.Suggest(ref.Name, stateNames))
			return false
		}
		return true
	}
	for i, s := range f.States {
		for j, w := range s.Todo {
			if hasPrefix(w, "role:") {
				c.Resolve(identity.KindRole, registry.Ref{Name: w[len("role:"):], Pos: c.At("states", i, "todo", j)})
			}
		}
	}
	var creating []string
	next := map[string][]string{}
	for i := range f.Actions {
		a := &f.Actions[i]
		if f.actions[a.Name] != a {
			continue // a duplicate, reported by Provision
		}
		if a.To.Name == "" && len(a.From) == 0 {
			c.Errorf(a.Pos, "action %s: a creating action (no from) must say the state it creates the ticket in (to)", a.Name)
			continue
		}
		if a.To.Name != "" && !known(a.To) {
			continue
		}
		if len(a.From) == 0 {
			creating = append(creating, a.To.Name)
		}
		for _, from := range a.From {
			if known(from) {
				next[from.Name] = append(next[from.Name], a.Target(from.Name))
			}
		}
		for _, r := range a.Roles {
			c.Resolve(identity.KindRole, r)
		}
		if len(a.Roles) == 0 {
			c.Errorf(a.Pos, "action %s: list the roles that may perform it", a.Name)
		}
		for _, h := range a.Hooks {
			c.Resolve(script.KindScript, h.Script)
		}
		if a.Form != nil {
			ref := registry.Ref{Name: a.Form.Name, Pos: c.At("actions", i, "form", "name")}
			if d, ok := c.Resolve(form.Kind, ref); ok {
				fm := d.Model.(*form.Form)
				a.Form.form = fm
				for j, name := range a.Form.Required {
					if _, ok := fm.Field(name); !ok {
						c.Errorf(c.At("actions", i, "form", "required", j), "action %s: form %s has no field %q", a.Name, fm.Name, name)
					}
				}
				for name, values := range a.Form.Allow {
					fl, ok := fm.Field(name)
					switch {
					case !ok:
						c.Errorf(c.At("actions", i, "form", "allow"), "action %s: form %s has no field %q", a.Name, fm.Name, name)
					case fl.Type != form.Choice && fl.Type != form.MultiChoice:
						c.Errorf(c.At("actions", i, "form", "allow", name), "action %s: allow narrows choice fields; %s is a %s field", a.Name, name, fl.Type)
					case len(values) == 0:
						c.Errorf(c.At("actions", i, "form", "allow", name), "action %s: allow lists no value for %s", a.Name, name)
					}
				}
			}
		}
		for j, g := range a.Guards {
			if g.Field == "" {
				continue
			}
			if a.Form == nil {
				c.Errorf(c.At("actions", i, "guards", j, "field"), "action %s: a guard names field %q but the action has no form", a.Name, g.Field)
			} else if a.Form.form != nil {
				if _, ok := a.Form.form.Field(g.Field); !ok {
					c.Errorf(c.At("actions", i, "guards", j, "field"), "action %s: form %s has no field %q", a.Name, a.Form.Name, g.Field)
				}
			}
		}
	}
	if len(creating) == 0 {
		c.Errorf(c.Doc.Pos, "flow %s has no creating action (an action without from), so no ticket can start", f.Name)
		return
	}
	reached := map[string]bool{}
	queue := slices.Clone(creating)
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if reached[s] {
			continue
		}
		reached[s] = true
		queue = append(queue, next[s]...)
	}
	for _, s := range f.States {
		if !reached[s.Name] {
			c.Errorf(s.Pos, "state %s (%s) cannot be reached from any creating action", s.Name, s.Label)
		}
	}
}

// String names the flow for logs.
func (f *Flow) String() string { return fmt.Sprintf("flow %s", f.Name) }

// TimeLimit returns the working days of the first time-limit rule that
// holds for env, with its label; ok is false when none does.
func (f *Flow) TimeLimit(env Env) (days int, label string, ok bool, err error) {
	for _, d := range f.Deadlines {
		if d.rule != nil {
			match, err := d.rule.Bool(env)
			if err != nil {
				return 0, "", false, fmt.Errorf("%s: deadline %q: %w", f.Name, d.Label, err)
			}
			if !match {
				continue
			}
		}
		return d.WorkingDays, d.Label, true, nil
	}
	return 0, "", false, nil
}

// Refusal returns the message of the first guard of the action that does
// not hold for env, or "" when every guard holds.
func (a *Action) Refusal(env Env) (string, error) {
	g, err := a.refusing(env, false)
	if g == nil {
		return "", err
	}
	return g.Message, err
}

// RefusalNow is Refusal judged before the action's input is known: the
// guards that do not look at input (the ticket's state, counts, fields,
// the actor, the time), so a UI does not offer what is sure to fail.
func (a *Action) RefusalNow(env Env) (string, error) {
	g, err := a.refusing(env, true)
	if g == nil {
		return "", err
	}
	return g.Message, err
}

// refusing returns the first guard that does not hold, or nil.
func (a *Action) refusing(env Env, beforeInput bool) (*Guard, error) {
	for i := range a.Guards {
		g := &a.Guards[i]
		if beforeInput && g.program.Uses("input") {
			continue
		}
		ok, err := g.program.Bool(env)
		if err != nil {
			return nil, fmt.Errorf("action %s: guard %q: %w", a.Name, g.Rule.Source, err)
		}
		if !ok {
			return g, nil
		}
	}
	return nil, nil
}
