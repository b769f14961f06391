package acd

import (
	"fmt"
	"slices"
	"time"

	"github.com/hotline12345/hotline/core/registry"
)

// KindStates is the configuration kind of the agent state model.
const KindStates = "agent-states"

func init() {
	registry.Register(registry.Kind{
		Name:        KindStates,
		Dir:         "flows",
		Description: "The agent states (座席状态): their labels, reasons, whether an agent in them is offered tasks, wrap-up and break limits, and what a run of unanswered offers does.",
		New:         func() any { return &States{} },
		Spec:        registry.Spec{Examples: statesExamples},
	})
}

// Categories are what the distributor knows of a state; names, labels,
// reasons and custom states are configuration.
const (
	SignedOut = "signed_out" // not working
	Idle      = "idle"       // waiting for a task
	Busy      = "busy"       // 示忙: not offered tasks, with a reason
	Break     = "break"      // 小休: a short absence, with a reason and a limit
	WrapUp    = "wrapup"     // 整理 after a task, ending by itself
	Reserved  = "reserved"   // a task is being offered (ringing)
	Talking   = "talking"    // handling a task
)

// Categories lists the categories a state may have.
var Categories = []string{SignedOut, Idle, Busy, Break, WrapUp, Reserved, Talking}

// States is the `kind: agent-states` document. Exactly one is in force.
//
//	kind: agent-states
//	name: default
//	states:
//	  - {name: idle, label: 示闲, category: idle}
//	  - {name: busy, label: 示忙, category: busy, reasons: [会议, 培训]}
//	  - {name: wrapup, label: 整理, category: wrapup, max: 30s}
type States struct {
	Name   string  `yaml:"name" jsonschema:"required"`
	Label  string  `yaml:"label"`
	States []State `yaml:"states" jsonschema:"required"`
	// AfterTask is the state an agent enters when a task ends (wrap-up).
	AfterTask registry.Ref `yaml:"after_task" jsonschema:"required"`
	// SignIn is the state an agent enters on signing in.
	SignIn registry.Ref `yaml:"sign_in" jsonschema:"required"`
	// NoAnswer says what a run of offers the agent did not answer does.
	NoAnswer NoAnswer `yaml:"no_answer"`
	// ForcedReason is the reason a leader's forcing gives a state that
	// takes reasons when the leader names none (班长强制).
	ForcedReason string `yaml:"forced_reason" jsonschema:"description=reason recorded when a team leader forces a state with reasons without giving one"`
	// PhoneLost, when set, is where an idle agent goes whose phone is no
	// longer registered, so calls are not offered to a phone that is gone.
	PhoneLost *Moved `yaml:"phone_lost"`
	// Ring is how long a task is offered to one agent before the next
	// (default 15s).
	Ring time.Duration `yaml:"ring"`

	byName map[string]*State
}

// State is one agent state.
type State struct {
	Name     string `yaml:"name" jsonschema:"required"`
	Label    string `yaml:"label" jsonschema:"required"`
	Category string `yaml:"category" jsonschema:"required,enum=signed_out,enum=idle,enum=busy,enum=break,enum=wrapup,enum=reserved,enum=talking"`
	// Reasons an agent may give for entering the state (示忙原因, 小休原因).
	Reasons []string `yaml:"reasons"`
	// Max ends the state by itself after this long (wrap-up, a break),
	// moving the agent to Then.
	Max  time.Duration `yaml:"max"`
	Then registry.Ref  `yaml:"then"`
	// Manual says an agent may choose the state; states of the categories
	// reserved and talking are entered only by the distributor.
	Manual bool `yaml:"manual"`
}

// NoAnswer sends an agent who let Misses offers in a row ring out to a
// state (not ready), with a reason.
type NoAnswer struct {
	Misses int          `yaml:"misses"`
	State  registry.Ref `yaml:"state"`
	Reason string       `yaml:"reason"`
}

// Moved sends an agent to a state with a reason.
type Moved struct {
	State  registry.Ref `yaml:"state" jsonschema:"required"`
	Reason string       `yaml:"reason"`
}

// Provision checks the states on their own.
func (s *States) Provision(c *registry.Context) {
	s.byName = map[string]*State{}
	names := make([]string, 0, len(s.States))
	for i := range s.States {
		st := &s.States[i]
		names = append(names, st.Name)
		if !registry.ValidName(st.Name) {
			c.Errorf(c.At("states", i, "name"), "states[%d].name: %q is not a valid name", i, st.Name)
		}
		if _, dup := s.byName[st.Name]; dup {
			c.Errorf(c.At("states", i, "name"), "states[%d].name: state %q is defined twice", i, st.Name)
		}
		s.byName[st.Name] = st
		if !slices.Contains(Categories, st.Category) {
			c.Errorf(c.At("states", i, "category"), "states[%d].category: %q is not a category%s", i, st.Category, registry.Suggest(st.Category, Categories))
		}
		if st.Manual && (st.Category == Reserved || st.Category == Talking) {
			c.Errorf(c.At("states", i, "manual"), "states[%d].manual: agents cannot choose a %s state; the distributor enters it", i, st.Category)
		}
		if st.Max < 0 {
			c.Errorf(c.At("states", i, "max"), "states[%d].max: must be positive", i)
		}
		if (st.Max > 0) != (st.Then.Name != "") {
			c.Errorf(c.At("states", i), "states[%d] (%s): max and then go together: how long, and where to after", i, st.Name)
		}
	}
	for _, cat := range []string{SignedOut, Idle, Reserved, Talking, WrapUp} {
		if !slices.ContainsFunc(s.States, func(st State) bool { return st.Category == cat }) {
			c.Errorf(c.At("states"), "states: a state of category %s is needed", cat)
		}
	}
	ref := func(r registry.Ref) *State {
		if r.Name == "" {
			return nil
		}
		st, ok := s.byName[r.Name]
		if !ok {
			c.Errorf(r.Pos, "unknown state %q%s", r.Name, registry.Suggest(r.Name, names))
		}
		return st
	}
	if st := ref(s.AfterTask); st != nil && st.Category != WrapUp && st.Category != Idle {
		c.Errorf(s.AfterTask.Pos, "after_task: %q is a %s state; after a task the agent wraps up or is idle", st.Name, st.Category)
	}
	if s.AfterTask.Name == "" {
		c.Errorf(c.At("after_task"), "after_task: name the state agents enter when a task ends")
	}
	if s.SignIn.Name == "" {
		c.Errorf(c.At("sign_in"), "sign_in: name the state agents enter on signing in")
	}
	if st := ref(s.SignIn); st != nil && (st.Category == SignedOut || st.Category == Reserved || st.Category == Talking) {
		c.Errorf(s.SignIn.Pos, "sign_in: %q is a %s state", st.Name, st.Category)
	}
	for i := range s.States {
		if t := ref(s.States[i].Then); t != nil && (t.Category == Reserved || t.Category == Talking) {
			c.Errorf(s.States[i].Then.Pos, "then: %q is a %s state, entered only by the distributor", t.Name, t.Category)
		}
	}
	if s.NoAnswer.Misses < 0 {
		c.Errorf(c.At("no_answer", "misses"), "no_answer.misses: must be 1 or more (0 turns it off)")
	}
	if s.NoAnswer.Misses > 0 {
		if st := ref(s.NoAnswer.State); st != nil && st.Category != Busy && st.Category != Break {
			c.Errorf(s.NoAnswer.State.Pos, "no_answer.state: %q is a %s state; an agent who does not answer is made busy", st.Name, st.Category)
		}
		if s.NoAnswer.State.Name == "" {
			c.Errorf(c.At("no_answer", "state"), "no_answer.state: name the state agents are sent to")
		}
	}
	if pl := s.PhoneLost; pl != nil {
		if st := ref(pl.State); st != nil && st.Category != Busy && st.Category != Break && st.Category != SignedOut {
			c.Errorf(pl.State.Pos, "phone_lost.state: %q is a %s state; an agent without a phone is made busy or signed out", st.Name, st.Category)
		}
	}
	if s.Ring == 0 {
		s.Ring = 15 * time.Second
	}
	if s.Ring < time.Second || s.Ring > 2*time.Minute {
		c.Errorf(c.At("ring"), "ring: %s is not between 1s and 2m", s.Ring)
	}
}

// Validate allows one state model: every agent is in one of its states.
func (s *States) Validate(c *registry.Context) {
	if docs := c.Set.All(KindStates); len(docs) > 1 && docs[0].Model != any(s) {
		c.Errorf(c.At("name"), "only one agent-states document may exist; %q is already defined in %s", docs[0].Name, docs[0].Pos)
	}
}

// State returns a state by name.
func (s *States) State(name string) (*State, bool) {
	st, ok := s.byName[name]
	return st, ok
}

// First returns the first state of a category.
func (s *States) First(category string) *State {
	for i := range s.States {
		if s.States[i].Category == category {
			return &s.States[i]
		}
	}
	return nil
}

// Routable reports whether agents in the state are offered tasks.
func (st *State) Routable() bool { return st.Category == Idle }

// String names a state for errors.
func (st *State) String() string { return fmt.Sprintf("%s（%s）", st.Label, st.Name) }

// Model returns the agent state model in force.
func Model(set *registry.Set) (*States, bool) {
	docs := set.All(KindStates)
	if len(docs) == 0 {
		return nil, false
	}
	return docs[0].Model.(*States), true
}
