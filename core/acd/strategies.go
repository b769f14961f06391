package acd

import (
	"github.com/invopop/jsonschema"

	"github.com/hotline12345/hotline/core/registry"
)

// Strategies of choosing among the agents who may take a task, the default
// first. Each is an entry of the registry's "acd.strategy" namespace, which
// the queue's lint, its JSON Schema and the reference read.
var Strategies []string

func init() {
	registry.Declare(registry.Namespace{
		ID:          registry.NSStrategy,
		Title:       "ACD strategies",
		Description: "How a queue (`kind: queue`) chooses among the idle agents who may take a task: its `strategy:`.",
		Document: func(e registry.Entry, ex string) string {
			return "kind: queue\nname: " + e.ExampleName() + "\nlabel: 示例\nmembers: \"'example' in agent.roles\"\n" + ex + "\n"
		},
	})
	for _, s := range []struct{ name, summary string }{
		{"longest-idle", "Offers the task to the agent idle the longest (the default)."},
		{"fewest-calls", "Offers the task to the agent who has taken the fewest calls, the longest idle among equals."},
		{"round-robin", "Offers tasks to the agents in turn, by extension."},
		{"ring-all", "Offers the task to every eligible agent at once; the first to accept takes it."},
		{"skill-weighted", "Offers the task to the agent with the highest levels in the skills it needs, the longest idle among equals."},
	} {
		Strategies = append(Strategies, s.name)
		registry.Add(registry.Entry{Namespace: registry.NSStrategy, Name: s.name, Value: s.name, Spec: registry.Spec{
			Summary:  s.summary,
			Examples: []registry.Example{{YAML: "strategy: " + s.name}},
		}})
	}
}

// JSONSchemaExtend lists the registered strategies as the values of
// strategy.
func (Queue) JSONSchemaExtend(s *jsonschema.Schema) {
	if p, ok := s.Properties.Get("strategy"); ok {
		p.Enum = nil
		for _, name := range registry.Names(registry.NSStrategy) {
			p.Enum = append(p.Enum, name)
		}
	}
}
