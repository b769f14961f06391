// Package acd is the automatic call distributor: tasks (calls now, chat
// sessions later) wait in queues and are offered to agents whose
// attributes the queue's rules accept. This file is the queue's
// configuration; the distributor comes with the telephony issue's next
// slices.
package acd

import (
	"time"

	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/rules"
)

// KindQueue is the configuration kind of queues.
const KindQueue = "queue"

func init() {
	registry.Register(registry.Kind{
		Name:        KindQueue,
		Dir:         "flows",
		Description: "An ACD queue: which agents serve it (an expr rule over the agent), how the next agent is chosen, and the skills its tasks need.",
		New:         func() any { return &Queue{} },
		Spec:        registry.Spec{Examples: queueExamples},
	})
	rules.RegisterEnv(agentEnv, registry.Spec{
		Summary:  "What a queue's membership rule sees: the agent, with their unit, skills and levels, languages and roles.",
		Examples: []registry.Example{{YAML: "(agent.skills['tax'] ?? 0) >= 3 && 'zh' in agent.languages"}},
	})
}

// Queue is a `kind: queue` document:
//
//	kind: queue
//	name: general
//	label: 综合咨询
//	strategy: longest-idle
//	members: "'hotline' in agent.skills"
type Queue struct {
	Name        string     `yaml:"name" jsonschema:"required"`
	Label       string     `yaml:"label" jsonschema:"required"`
	Description string     `yaml:"description"`
	Strategy    string     `yaml:"strategy" jsonschema:"description=how the next agent is chosen (default longest-idle)"`
	Members     rules.Expr `yaml:"members" jsonschema:"required,description=an expr rule over agent: who serves this queue"`
	// Skills every task of the queue needs.
	Skills []string `yaml:"skills"`
	// Wait is what a caller hears while waiting: prompts played every so
	// often (the channel's own media: a voice prompt's name).
	Wait *Wait `yaml:"wait"`
	// Record keeps a recording of each conversation (default true): the
	// centre's quality inspection and disputes depend on it (P-18).
	Record *bool `yaml:"record" jsonschema:"description=record conversations of this queue (default true)"`
	// Overflow changes how a task is served the longer it waits, like
	// the steps of a TaskRouter workflow: widen the skills, let other
	// queues' agents take it, raise its priority, or give it up to the
	// channel (a voice menu's voicemail or callback node).
	Overflow []Step `yaml:"overflow"`

	members *rules.Program
}

// Wait is what a task's customer is told while waiting.
type Wait struct {
	Prompt []string      `yaml:"prompt" jsonschema:"required"`
	Every  time.Duration `yaml:"every" jsonschema:"description=from the start of one announcement to the next (default 20s)"`
	// Position and Estimate add the caller's place in the queue and the
	// estimated wait to each announcement.
	Position bool `yaml:"position" jsonschema:"description=tell the caller how many wait ahead"`
	Estimate bool `yaml:"estimate" jsonschema:"description=tell the caller the estimated wait (once the queue has answered a few tasks)"`
}

// Step is one overflow step: from After on, until the next step.
type Step struct {
	After time.Duration `yaml:"after" jsonschema:"required,description=how long the task has waited when the step begins"`
	// AnySkills drops the skills the task needs beyond its queue's.
	AnySkills bool `yaml:"any_skills" jsonschema:"description=offer the task to any agent of the queue\\, whatever extra skills it asked for"`
	// Queues are queues whose agents may take the task as well.
	Queues []registry.Ref `yaml:"queues" jsonschema:"description=other queues whose agents may also take the task"`
	// Priority is added to the task's priority.
	Priority float64 `yaml:"priority" jsonschema:"description=added to the task's priority"`
	// Exit gives the task up to its channel: for a call, the node of its
	// menu to go on with (voicemail, callback).
	Exit string `yaml:"exit" jsonschema:"description=leave the queue: for a call\\, the menu node to go on with (voicemail\\, callback)"`
}

// step is the overflow step a task that waited so long is in (nil before
// the first).
func (q *Queue) step(waited time.Duration) *Step {
	var st *Step
	for i := range q.Overflow {
		if waited >= q.Overflow[i].After {
			st = &q.Overflow[i]
		}
	}
	return st
}

// Records says whether the queue's conversations are recorded.
func (q *Queue) Records() bool { return q.Record == nil || *q.Record }

// AgentEnv is what a queue's membership rule sees.
type AgentEnv struct {
	Agent AgentVars `expr:"agent"`
}

// AgentVars is an agent as rules see it.
type AgentVars struct {
	Username string `expr:"username"`
	Unit     string `expr:"unit"`
	// Skills maps each skill to its level (1–10).
	Skills    map[string]int `expr:"skills"`
	Languages []string       `expr:"languages"`
	Roles     []string       `expr:"roles"`
}

// AgentEnvName is the registered name of the agent environment.
const AgentEnvName = "acd-agent"

var agentEnv = rules.NewEnv(AgentEnvName, AgentEnv{})

// Provision checks the strategy and compiles the membership rule.
func (q *Queue) Provision(c *registry.Context) {
	if q.Strategy == "" {
		q.Strategy = Strategies[0]
	}
	if _, known := registry.Lookup(registry.NSStrategy, q.Strategy); !known {
		c.Errorf(c.At("strategy"), "strategy: %q is not a strategy%s", q.Strategy, registry.Suggest(q.Strategy, registry.Names(registry.NSStrategy)))
	}
	if w := q.Wait; w != nil {
		if len(w.Prompt) == 0 {
			c.Errorf(c.At("wait", "prompt"), "wait.prompt: name the prompts to play while callers wait")
		}
		if w.Every == 0 {
			w.Every = 20 * time.Second
		}
		if w.Every < 5*time.Second {
			c.Errorf(c.At("wait", "every"), "wait.every: %s is too often; at least 5s", w.Every)
		}
	}
	for i := range q.Overflow {
		st := &q.Overflow[i]
		if st.After <= 0 {
			c.Errorf(c.At("overflow", i, "after"), "overflow[%d].after: give how long the task has waited, e.g. 30s", i)
		}
		if i > 0 && st.After <= q.Overflow[i-1].After {
			c.Errorf(c.At("overflow", i, "after"), "overflow[%d].after: %s is not later than the step before (%s)", i, st.After, q.Overflow[i-1].After)
		}
		for _, ref := range st.Queues {
			if ref.Name == q.Name {
				c.Errorf(ref.Pos, "overflow[%d].queues: %q is this queue", i, ref.Name)
				continue
			}
			c.Resolve(KindQueue, ref)
		}
		if st.Exit != "" && i != len(q.Overflow)-1 {
			c.Errorf(c.At("overflow", i, "exit"), "overflow[%d].exit: a step that leaves the queue must be the last", i)
		}
	}
	q.Members.SetBlockIndent(c.Doc.Line)
	p, diags := rules.Compile(q.Members, agentEnv, rules.Bool)
	c.Report(diags)
	q.members = p
}
