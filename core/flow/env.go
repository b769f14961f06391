package flow

import (
	"time"

	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/rules"
)

// Env is what a flow's expressions see: guards, effect values and time
// limits. It knows nothing of any particular hotline: what a ticket carries
// beyond its place in the flow is in fields, named by the forms.
type Env struct {
	Ticket TicketVars     `expr:"ticket"`
	Input  map[string]any `expr:"input"`
	Actor  ActorVars      `expr:"actor"`
	Now    time.Time      `expr:"now"`
}

// TicketVars is the ticket as expressions see it.
type TicketVars struct {
	ID             int64  `expr:"id"`
	Number         string `expr:"number"`
	State          string `expr:"state"`
	HolderUnit     string `expr:"holder_unit"` // unit code
	HolderUnitKind string `expr:"holder_unit_kind"`
	// HolderParent is the code of the holder unit's parent, and
	// HolderParentKind its kind: where a request goes next when it is
	// sent up level by level (逐级上传).
	HolderParent     string         `expr:"holder_parent"`
	HolderParentKind string         `expr:"holder_parent_kind"`
	HolderUser       string         `expr:"holder_user"` // username
	Fields           map[string]any `expr:"fields"`
	// Inputs is each action's latest input by action name (the ticket's
	// content actions' input is in Fields instead), e.g.
	// inputs.extension_apply.days.
	Inputs map[string]any `expr:"inputs"`
	// Counts says how often each action was performed on the ticket, e.g.
	// counts['return_rejected'] for "no third return application".
	Counts   map[string]int `expr:"counts"`
	Created  time.Time      `expr:"created"`
	Deadline time.Time      `expr:"deadline"`
	// StepDeadline is when the current step's limit runs out (zero when
	// the state has none).
	StepDeadline time.Time `expr:"step_deadline"`
	// Branches counts co-handling branches, for join rules such as
	// "the lead may reply once every co-unit is done".
	Branches BranchVars `expr:"branches"`
}

// BranchVars counts a ticket's co-handling branches.
type BranchVars struct {
	Open  int `expr:"open"`
	Done  int `expr:"done"`
	Total int `expr:"total"`
}

// ActorVars is the user performing an action.
type ActorVars struct {
	Username string   `expr:"username"`
	Roles    []string `expr:"roles"`
	Unit     string   `expr:"unit"` // unit code
	UnitKind string   `expr:"unit_kind"`
}

// EnvName is the registered name of the flow environment; rule documents
// may use it with `env: flow`.
const EnvName = "flow"

var env = rules.NewEnv(EnvName, Env{})

func init() {
	rules.RegisterEnv(env, registry.Spec{
		Summary:  "What a flow's guards, effect values, deadlines and time limits see: the ticket, the action's input, the acting user and the clock.",
		Examples: []registry.Example{{YAML: "ticket.counts['urge'] >= 2 && actor.unit == ticket.holder_unit"}, {YAML: "now > ticket.deadline"}},
	})
}
