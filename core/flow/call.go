package flow

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hotline12345/hotline/core/form"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/rules"
	"github.com/hotline12345/hotline/core/ticket"
)

// Call is the effect that runs a procedure a module provides in Go (the
// knowledge base publishing an article version): the flow decides when,
// the module does what only code can. Its arguments are expressions.
type Call struct {
	Name string                `yaml:"name" jsonschema:"required"`
	Args map[string]rules.Expr `yaml:"args"`
}

// Procedure is Go code flows can call, registered by name at start-up
// (init), so a flow naming one that does not exist fails lint. It is the
// registry's entry "procedure.NAME".
type Procedure struct {
	// Doc says what it does, for the reference and the designer: its
	// first sentence is the summary.
	Doc string
	// Args are the arguments it takes; Required must be given.
	Args, Required []string
	// Examples of calls (`call: {name: …, args: …}`); without any, the
	// reference shows a call with the required arguments.
	Examples []registry.Example
	// Run does it inside the action's transaction, after the ticket is
	// written; an error rolls the whole action back.
	Run func(ctx context.Context, c CallEnv) error
}

// CallEnv is what a procedure works with.
type CallEnv struct {
	Tx pgx.Tx
	// Actor performs the action.
	Actor *identity.Principal
	// Ticket is the ticket as stored: its new state and version.
	Ticket ticket.Ticket
	Args   map[string]any
	// Flow is the ticket's flow and Config the configuration it runs in
	// (for the forms of its actions).
	Flow   *Flow
	Config *registry.Set
}

// RegisterProcedure makes a procedure callable from flows. Registering a
// name twice is a programming error.
func RegisterProcedure(name string, p Procedure) {
	summary, desc, _ := strings.Cut(p.Doc, ". ")
	spec := registry.Spec{Summary: strings.TrimSuffix(summary, ".") + ".", Description: desc, Examples: p.Examples}
	for _, a := range p.Args {
		spec.Fields = append(spec.Fields, registry.Field{Name: a, Type: "expression", Required: slices.Contains(p.Required, a)})
	}
	if len(spec.Examples) == 0 {
		var args []string
		for _, a := range p.Required {
			args = append(args, a+": input."+a)
		}
		spec.Examples = []registry.Example{{YAML: "call: {name: " + name + ", args: {" + strings.Join(args, ", ") + "}}"}}
	}
	registry.Add(registry.Entry{Namespace: registry.NSProcedure, Name: name, Spec: spec, Value: p})
}

func procedure(name string) (Procedure, bool) {
	return registry.Value[Procedure](registry.NSProcedure, name)
}

// ProcedureNames lists the registered procedures.
func ProcedureNames() []string { return registry.Names(registry.NSProcedure) }

func (f *Flow) provisionCall(c *registry.Context, a *Action, e *Effect, compile func(rules.Expr, rules.Result) *rules.Program) {
	p, ok := procedure(e.Call.Name)
	if !ok {
		c.Errorf(e.Pos, "action %s: call %q: no such procedure%s", a.Name, e.Call.Name, registry.Suggest(e.Call.Name, ProcedureNames()))
		return
	}
	for _, name := range slices.Sorted(maps.Keys(e.Call.Args)) {
		if !slices.Contains(p.Args, name) {
			c.Errorf(e.Pos, "action %s: call %s takes no argument %q%s", a.Name, e.Call.Name, name, registry.Suggest(name, p.Args))
			continue
		}
		compile(e.Call.Args[name], rules.Any)
	}
	for _, name := range p.Required {
		if _, ok := e.Call.Args[name]; !ok {
			c.Errorf(e.Pos, "action %s: call %s needs argument %q", a.Name, e.Call.Name, name)
		}
	}
}

// runCalls runs an action's calls once its ticket is written.
func (e *Engine) runCalls(ctx context.Context, tx pgx.Tx, p *identity.Principal, f *Flow, a *Action, t ticket.Ticket, env Env) error {
	for _, eff := range a.Effects {
		if eff.Call == nil {
			continue
		}
		proc, ok := procedure(eff.Call.Name)
		if !ok {
			return fmt.Errorf("action %s: procedure %s is not registered", a.Name, eff.Call.Name)
		}
		args := make(map[string]any, len(eff.Call.Args))
		for name, ex := range eff.Call.Args {
			v, err := f.program(ex).Run(env)
			if err != nil {
				return fmt.Errorf("action %s: call %s: argument %s: %w", a.Name, eff.Call.Name, name, err)
			}
			args[name] = v
		}
		var set *registry.Set
		if e.config != nil {
			set = e.config.Current()
		}
		if err := proc.Run(ctx, CallEnv{Tx: tx, Actor: p, Ticket: t, Args: args, Flow: f, Config: set}); err != nil {
			return fmt.Errorf("action %s: call %s: %w", a.Name, eff.Call.Name, err)
		}
	}
	return nil
}

// CreatingForm is the form a flow's tickets are created with: the form of
// its first creating action that has one. Modules that keep something of
// a flow's tickets (the knowledge base's articles) read its field markings.
func CreatingForm(set *registry.Set, flowName string) (*form.Form, bool) {
	f, ok := registry.Model[*Flow](set, Kind, flowName)
	if !ok {
		return nil, false
	}
	a, ok := f.CreatingAction()
	if !ok {
		return nil, false
	}
	return a.Form.form, true
}

// CreatingAction is the flow's first creating action that has a form.
func (f *Flow) CreatingAction() (*Action, bool) {
	for i := range f.Actions {
		if a := &f.Actions[i]; len(a.From) == 0 && a.Form != nil && a.Form.form != nil {
			return a, true
		}
	}
	return nil, false
}

// Zone is the time zone of the running flows' calendar: dates a user reads
// (validity, exported times) are in it.
func Zone(set *registry.Set) *time.Location {
	for _, d := range set.All(Kind) {
		return d.Model.(*Flow).Calendar().Location()
	}
	return time.Local
}
