// Package flowtest runs flow scenarios (kind flow-test): the
// configuration's unit tests, a ticket walked through a flow's actions by
// users of given roles on a throwaway database, with the expected states,
// holders, deadlines and refusals. `hotline lint` checks their references,
// `hotline flow test` runs them.
package flowtest

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/configstore"
	"github.com/hotline12345/hotline/core/diag"
	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/rules"
	"github.com/hotline12345/hotline/core/ticket"
)

// Kind is the configuration kind of flow scenarios: the
// configuration unit tests an administrator writes for a flow. `hotline
// lint` checks their references; `hotline flow test` runs them on a real,
// throwaway database.
const Kind = "flow-test"

func init() {
	registry.Register(registry.Kind{
		Name:        Kind,
		Description: "A flow scenario: a ticket walked through actions by users of given roles, with the expected states, holders, deadlines and refusals.",
		Dir:         "flows",
		New:         func() any { return &Scenario{} },
		Spec:        registry.Spec{Examples: scenarioExamples},
	})
}

var scenarioExamples = []registry.Example{{Title: "The request of the flow example, applied for and answered", YAML: flow.ExampleRequestFlow + `---
kind: organisation
name: example-org
label: 示例机构
units:
  - {code: "12345", name: 示例热线中心, kind: center}
---
kind: flow-test
name: example-request-answered
label: 申请当日答复
flow: example-request
org: example-org
start: 2026-03-02T09:00:00+08:00
steps:
  - as: example-clerk@12345
    create: apply
    expect: {state: handling, holder: "12345"}
  - as: example-clerk@12345
    do: reply
    expect: {state: done}
`}}

// Scenario is a `kind: flow-test` document:
//
//	kind: flow-test
//	name: return-twice
//	flow: request
//	org: sample
//	start: 2026-02-13T10:00:00+08:00
//	steps:
//	  - {as: agent@12345, create: register, input: {unit: "150105", title: 暖气不热}, expect: {state: handling}}
//	  - {as: clerk@150105, do: return, error: 已退回两次}
type Scenario struct {
	Name  string       `yaml:"name" jsonschema:"required"`
	Label string       `yaml:"label"`
	Flow  registry.Ref `yaml:"flow" jsonschema:"required"`
	Start flow.Moment  `yaml:"start" jsonschema:"required,description=the clock when the scenario starts"`
	// Org names the organisation (a `kind: organisation` document) whose
	// units the scenario's users sit in.
	Org   registry.Ref `yaml:"org" jsonschema:"required,description=the organisation (kind: organisation) the scenario runs in"`
	Steps []Step       `yaml:"steps" jsonschema:"required"`

	seed identity.Seed
}

// unitCodes lists the codes of a seed's units.
func unitCodes(units []identity.SeedUnit, into map[string]bool) {
	for _, u := range units {
		into[u.Code] = true
		unitCodes(u.Children, into)
	}
}

// Step is one action in a scenario. A step that creates a ticket makes it
// the one later steps act on (tickets are numbered in creation order, so a
// scenario can refer to an earlier one, e.g. to merge into it).
type Step struct {
	Pos diag.Pos `yaml:"-"`
	// As is ROLE@UNITCODE: a user holding the role in that unit acts.
	As string `yaml:"as" jsonschema:"required"`
	// Create names a creating action; Do an action on the ticket. A step
	// with neither only looks: its expect is checked as that user sees
	// the ticket (the actions offered to them).
	Create string `yaml:"create"`
	Do     string `yaml:"do"`
	// Input is the action's input; a string "{ROLE@UNIT}" in it stands
	// for the username of the user the scenario acts as that ROLE@UNIT
	// (to hand a ticket to a named clerk).
	Input map[string]any `yaml:"input"`
	// At moves the clock before the step.
	At *flow.Moment `yaml:"at"`
	// Expect checks the ticket after the step.
	Expect *Expect `yaml:"expect"`
	// Error expects the step to be refused with a message containing it.
	Error string `yaml:"error"`
}

// Expect is what a step should leave behind.
type Expect struct {
	State    string       `yaml:"state"`
	Holder   *string      `yaml:"holder" jsonschema:"description=unit code holding the ticket; empty for none"`
	Deadline *flow.Moment `yaml:"deadline"`
	Paused   *bool        `yaml:"paused" jsonschema:"description=whether the deadline clock is paused"`
	// Fields lists ticket fields and the values they must have.
	Fields map[string]any `yaml:"fields"`
	// Inputs lists actions' latest inputs and values they must have.
	Inputs map[string]map[string]any `yaml:"inputs" jsonschema:"description=action name to the values its latest input must have"`
	// User is the holding user as ROLE@UNIT (a user the scenario acts
	// as); empty for none.
	User *string `yaml:"user" jsonschema:"description=holding user as ROLE@UNIT; empty for none"`
	// StepDeadline is when the step's limit runs out; StepLimit says
	// whether one runs at all.
	StepDeadline *flow.Moment `yaml:"step_deadline"`
	StepLimit    *bool        `yaml:"step_limit" jsonschema:"description=whether a step limit runs (the state has one)"`
	// OnTime says whether the step's action came within the step limit
	// that was running (a timely sign-for).
	OnTime *bool `yaml:"on_time" jsonschema:"description=whether the action came within the step limit then running"`
	// Actions are exactly the actions the step's user is offered now, with
	// nothing refusing them (availableActions), in the flow's order.
	Actions []string `yaml:"actions" jsonschema:"description=exactly the actions offered to the step's user afterwards\\, in the flow's order"`
	// History is the actions performed on the ticket so far, in order.
	History []string `yaml:"history"`
}

func (s Step) role() (string, string) {
	role, unit, _ := strings.Cut(s.As, "@")
	return role, unit
}

// Validate checks the scenario against its flow and the roles.
func (sc *Scenario) Validate(c *registry.Context) {
	d, ok := c.Resolve(flow.Kind, sc.Flow)
	if !ok {
		return
	}
	f := d.Model.(*flow.Flow)
	o, known := c.Resolve(identity.KindOrganisation, sc.Org)
	if known {
		sc.seed = o.Model.(*identity.Organisation).Seed()
	}
	codes := map[string]bool{identity.RootUnitCode: true}
	unitCodes(sc.seed.Units, codes)
	for i, st := range sc.Steps {
		role, unit := st.role()
		if role == "" || unit == "" {
			c.Errorf(c.At("steps", i, "as"), "step %d: as must be ROLE@UNITCODE, got %q", i+1, st.As)
		} else {
			c.Resolve(identity.KindRole, registry.Ref{Name: role, Pos: c.At("steps", i, "as")})
			if known && !codes[unit] {
				c.Errorf(c.At("steps", i, "as"), "step %d: the organisation has no unit %q", i+1, unit)
			}
		}
		look := st.Create == "" && st.Do == ""
		switch {
		case st.Create != "" && st.Do != "":
			c.Errorf(st.Pos, "step %d: give one of create and do", i+1)
		case i == 0 && st.Create == "":
			c.Errorf(st.Pos, "step 1 must create the ticket")
		case look && (st.Expect == nil || st.Input != nil || st.Error != ""):
			c.Errorf(st.Pos, "step %d: a step without create or do only looks: give it expect, and no input or error", i+1)
		}
		if st.Expect != nil {
			if st.Expect.User != nil && *st.Expect.User != "" && !slices.ContainsFunc(sc.Steps, func(o Step) bool { return o.As == *st.Expect.User }) {
				c.Errorf(c.At("steps", i, "expect", "user"), "step %d: user %q is none of the ROLE@UNIT the scenario acts as", i+1, *st.Expect.User)
			}
			for j, name := range st.Expect.Actions {
				if _, ok := f.Action(name); !ok {
					c.Errorf(c.At("steps", i, "expect", "actions", j), "step %d: flow %s has no action %q", i+1, f.Name, name)
				}
			}
			for j, name := range st.Expect.History {
				if _, ok := f.Action(name); !ok {
					c.Errorf(c.At("steps", i, "expect", "history", j), "step %d: flow %s has no action %q", i+1, f.Name, name)
				}
			}
			for name := range st.Expect.Inputs {
				if _, ok := f.Action(name); !ok {
					c.Errorf(c.At("steps", i, "expect", "inputs"), "step %d: flow %s has no action %q", i+1, f.Name, name)
				}
			}
		}
		if look {
			continue
		}
		name := st.Create + st.Do
		a, ok := f.Action(name)
		if !ok {
			names := make([]string, 0, len(f.Actions))
			for _, a := range f.Actions {
				names = append(names, a.Name)
			}
			c.Errorf(st.Pos, "step %d: flow %s has no action %q%s", i+1, f.Name, name, registry.Suggest(name, names))
			continue
		}
		if st.Create != "" && len(a.From) != 0 {
			c.Errorf(st.Pos, "step %d: %s is not a creating action", i+1, name)
		}
		if st.Expect != nil && st.Expect.State != "" {
			if _, ok := f.State(st.Expect.State); !ok {
				c.Errorf(c.At("steps", i, "expect", "state"), "step %d: flow %s has no state %q", i+1, f.Name, st.Expect.State)
			}
		}
		if st.Expect != nil && st.Error != "" {
			c.Errorf(st.Pos, "step %d: expect and error exclude each other", i+1)
		}
	}
}

// Runner runs scenarios against databases it is handed.
type Runner struct {
	// Database returns a pool on a fresh migrated database and a function
	// to drop it.
	Database func(ctx context.Context) (*pgxpool.Pool, func(), error)
	// Visited, when not nil, collects the states tickets reached, by flow,
	// so a test can require that the scenarios cover every state.
	Visited map[string]map[string]bool
}

// Run walks every scenario of set, each on its own database, and returns
// the failures as diagnostics at the failing step.
func (r Runner) Run(ctx context.Context, set *registry.Set) (diag.List, error) {
	var out diag.List
	for _, d := range set.All(Kind) {
		l, err := r.run(ctx, set, d)
		if err != nil {
			return out, fmt.Errorf("scenario %s: %w", d.Name, err)
		}
		out.Append(l)
	}
	out.Sort()
	return out, nil
}

func (r Runner) run(ctx context.Context, set *registry.Set, d *registry.Document) (diag.List, error) {
	sc := d.Model.(*Scenario)
	pool, drop, err := r.Database(ctx)
	if err != nil {
		return nil, err
	}
	defer drop()
	if _, err := configstore.New(pool).Record(ctx, set, audit.System, "flow test"); err != nil {
		return nil, err
	}
	runtime := registry.NewRuntime(set)
	ids := identity.NewService(pool, runtime, identity.DefaultPolicy(), slog.New(slog.DiscardHandler))
	// A copy: users are added per run.
	seed := identity.Seed{Units: sc.seed.Units, Users: slices.Clone(sc.seed.Users)}
	// One user per ROLE@UNIT that the scenario acts as.
	users := map[string]string{}
	for _, st := range sc.Steps {
		if _, ok := users[st.As]; ok {
			continue
		}
		role, unit := st.role()
		name := fmt.Sprintf("u%d", len(users)+1)
		users[st.As] = name
		seed.Users = append(seed.Users, identity.SeedUser{Username: name, DisplayName: st.As, Unit: unit, Roles: []string{role}})
	}
	const password = "Scenario-Pass-1"
	if _, _, err := ids.LoadSeed(ctx, seed, password); err != nil {
		return diag.List{{Pos: d.Pos, Message: fmt.Sprintf("scenario %s: setting up users: %v", sc.Name, err)}}, nil
	}
	now := sc.Start.Time
	eng := flow.NewEngine(pool, runtime)
	eng.Store.Now = func() time.Time { return now }
	ids.Now = eng.Store.Now
	var diags diag.List
	var t ticket.Ticket
	// Each user logs in once: a login hashes the password (argon2id),
	// which under the race detector cost more than the steps themselves,
	// and a principal's roles and scope do not change within a scenario.
	principals := map[string]*identity.Principal{}
	for i, st := range sc.Steps {
		if st.At != nil {
			now = st.At.Time
		}
		p := principals[st.As]
		if p == nil {
			res, err := ids.Login(ctx, users[st.As], password)
			if err != nil {
				return nil, err
			}
			p = res.Principal
			principals[st.As] = p
		}
		var next ticket.Ticket
		var stepErr error
		before, err := snapshot(ctx, pool, t.ID)
		if err != nil {
			return nil, err
		}
		input := withUsers(st.Input, users)
		switch {
		case st.Create != "":
			next, stepErr = eng.Create(ctx, p, sc.Flow.Name, st.Create, input)
		case st.Do != "":
			next, stepErr = eng.Perform(ctx, p, t.ID, st.Do, input, nil)
		default:
			next, stepErr = eng.Store.Get(ctx, p, t.ID)
		}
		fail := func(format string, args ...any) {
			diags.Addf(st.Pos, "scenario %s, step %d (%s %s%s): %s", sc.Name, i+1, st.As, st.Create, st.Do, fmt.Sprintf(format, args...))
		}
		if st.Error != "" {
			if stepErr == nil {
				fail("expected a refusal containing %q, but it succeeded (state %s)", st.Error, next.State)
				break
			}
			if !strings.Contains(stepErr.Error(), st.Error) {
				fail("expected a refusal containing %q, got: %v", st.Error, stepErr)
				break
			}
			// A refusal leaves everything as it was: the ticket, its
			// events, and no other ticket started.
			after, err := snapshot(ctx, pool, t.ID)
			if err != nil {
				return nil, err
			}
			if after != before {
				fail("refused, but it changed what is stored: before %s, after %s", before, after)
				break
			}
			continue
		}
		if stepErr != nil {
			if _, ok := gql.AsError(stepErr); !ok {
				return nil, stepErr
			}
			fail("refused: %v", stepErr)
			break
		}
		t = next
		if r.Visited != nil {
			if r.Visited[t.Flow] == nil {
				r.Visited[t.Flow] = map[string]bool{}
			}
			r.Visited[t.Flow][t.State] = true
		}
		if e := st.Expect; e != nil {
			if e.State != "" && e.State != t.State {
				fail("expected state %s, got %s", e.State, t.State)
			}
			if e.Holder != nil {
				got := ""
				if t.HolderUnit != nil {
					got = t.HolderUnit.Code
				}
				if got != *e.Holder {
					fail("expected holder %q, got %q", *e.Holder, got)
				}
			}
			if e.Deadline != nil && (t.Deadline == nil || !t.Deadline.Equal(e.Deadline.Time)) {
				fail("expected deadline %s, got %s", e.Deadline.Format(time.RFC3339), formatTime(t.Deadline, t))
			}
			if e.Paused != nil && *e.Paused != (t.PausedRemaining != nil) {
				fail("expected the clock paused=%v, got %v", *e.Paused, t.PausedRemaining != nil)
			}
			for k, want := range e.Fields {
				if got := t.Fields[k]; !rules.Equal(got, want) {
					fail("expected field %s = %v, got %v", k, want, got)
				}
			}
			for a, values := range e.Inputs {
				for k, want := range values {
					if got := t.Inputs[a][k]; !rules.Equal(got, want) {
						fail("expected %s's input %s = %v, got %v", a, k, want, got)
					}
				}
			}
			if e.User != nil {
				want := ""
				if *e.User != "" {
					want = users[*e.User]
				}
				if t.HolderUser != want {
					fail("expected holding user %q (%s), got %q", *e.User, want, t.HolderUser)
				}
			}
			if e.StepDeadline != nil && (t.StepDeadline == nil || !t.StepDeadline.Equal(e.StepDeadline.Time)) {
				fail("expected step deadline %s, got %s", e.StepDeadline.Format(time.RFC3339), formatTime(t.StepDeadline, t))
			}
			if e.StepLimit != nil && *e.StepLimit != (t.StepDeadline != nil) {
				fail("expected a step limit running=%v, got deadline %s", *e.StepLimit, formatTime(t.StepDeadline, t))
			}
			if e.Actions != nil || e.History != nil || e.OnTime != nil {
				if err := r.checkOffersAndHistory(ctx, eng, p, t, e, fail); err != nil {
					return nil, err
				}
			}
		}
	}
	return diags, nil
}

// withUsers replaces "{ROLE@UNIT}" strings of in by those users' names.
func withUsers(in map[string]any, users map[string]string) map[string]any {
	if in == nil {
		return nil
	}
	out := make(map[string]any, len(in))
	for k, v := range in {
		if s, ok := v.(string); ok && strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			if name, ok := users[s[1:len(s)-1]]; ok {
				v = name
			}
		}
		out[k] = v
	}
	return out
}

// checkOffersAndHistory checks what expect says of the actions offered to
// p, the actions performed so far and whether the last came in time.
func (r Runner) checkOffersAndHistory(ctx context.Context, eng *flow.Engine, p *identity.Principal, t ticket.Ticket, e *Expect, fail func(string, ...any)) error {
	if e.Actions != nil {
		offers, err := eng.Offers(ctx, p, t)
		if err != nil {
			return err
		}
		got := []string{}
		for _, o := range offers {
			if o.Refusal == "" {
				got = append(got, o.Action.Name)
			}
		}
		if !slices.Equal(got, e.Actions) {
			fail("expected the actions offered %v, got %v", e.Actions, got)
		}
	}
	if e.History == nil && e.OnTime == nil {
		return nil
	}
	evs, err := eng.Events(ctx, t.ID)
	if err != nil {
		return err
	}
	if e.History != nil {
		got := make([]string, len(evs))
		for i, ev := range evs {
			got[i] = ev.Action
		}
		if !slices.Equal(got, e.History) {
			fail("expected the history %v, got %v", e.History, got)
		}
	}
	if e.OnTime != nil {
		last := evs[len(evs)-1]
		switch {
		case last.OnTime == nil:
			fail("expected on_time=%v, but no step limit was running for %s", *e.OnTime, last.Action)
		case *last.OnTime != *e.OnTime:
			fail("expected on_time=%v, got %v (due %s, done %s)", *e.OnTime, *last.OnTime, formatTime(last.StepDue, t), formatTime(&last.At, t))
		}
	}
	return nil
}

// stored is what a scenario's ticket has in the database, to show that a
// refused step changed nothing.
type stored struct {
	tickets, events int
	version         int
	state           string
	fields, inputs  string
}

func (s stored) String() string {
	return fmt.Sprintf("{%d tickets, %d events; version %d, state %s, fields %s, inputs %s}", s.tickets, s.events, s.version, s.state, s.fields, s.inputs)
}

func snapshot(ctx context.Context, pool *pgxpool.Pool, id int64) (stored, error) {
	var s stored
	err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM ticket_events),
		COALESCE((SELECT version FROM tickets WHERE id = $1), 0), COALESCE((SELECT state FROM tickets WHERE id = $1), ''),
		COALESCE((SELECT fields::text FROM tickets WHERE id = $1), ''), COALESCE((SELECT inputs::text FROM tickets WHERE id = $1), '')`, id).
		Scan(&s.tickets, &s.events, &s.version, &s.state, &s.fields, &s.inputs)
	if err != nil {
		return s, fmt.Errorf("reading the scenario's ticket: %w", err)
	}
	return s, nil
}

func formatTime(t *time.Time, tk ticket.Ticket) string {
	if t == nil {
		return "none"
	}
	return t.In(tk.CreatedAt.Location()).Format(time.RFC3339)
}
