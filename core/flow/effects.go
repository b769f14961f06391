package flow

import (
	"strings"

	"github.com/hotline12345/hotline/core/registry"
)

// The effects of an action are the keys of Effect, each an entry of the
// registry's effect namespace: the reference documents them, lint suggests
// them for an unknown key, and a test keeps Effect's keys and the entries
// the same list.
func init() {
	registry.Declare(registry.Namespace{
		ID:          registry.NSEffect,
		Title:       "Flow effects",
		Description: "What an action of a flow does besides moving the ticket: each item of an action's `effects:` has exactly one of these keys.",
		Document:    func(e registry.Entry, ex string) string { return exampleFlow(e, "effects:\n      - "+indent(ex, 8)) },
	})
	registry.Declare(registry.Namespace{
		ID:          registry.NSProcedure,
		Title:       "Procedures",
		Description: "Go code a flow runs with the `call` effect, provided by the platform's modules; its arguments are expressions over the flow's environment.",
		Document:    func(e registry.Entry, ex string) string { return exampleFlow(e, "effects:\n      - "+indent(ex, 8)) },
	})
	for _, e := range []registry.Entry{
		{Name: "assign", Spec: registry.Spec{
			Summary:     "Hands the ticket to a unit and/or a user, or back to its creator or previous holder.",
			Description: "`unit` and `user` are expressions giving a unit code and a username; `to` names a holder instead.",
			Model:       func() any { return &Assign{} },
			Examples:    []registry.Example{{Title: "Dispatch to the unit chosen in the form", YAML: "assign: {unit: input.unit}"}, {Title: "Back to the creator", YAML: "assign: {to: creator}"}},
		}},
		{Name: "deadline", Spec: registry.Spec{
			Summary:  "Sets, extends, pauses, resumes or clears the ticket's deadline clock.",
			Model:    func() any { return &DeadlineEffect{} },
			Examples: []registry.Example{{Title: "Extend by the days applied for", YAML: "deadline: {op: extend, days: \"5\"}"}, {YAML: "deadline: {op: pause}"}},
		}},
		{Name: "branch", Spec: registry.Spec{
			Summary:     "Opens co-handling branches (协办) for the units an expression lists.",
			Description: "The lead unit holds the ticket itself; when it may move on is a guard over `ticket.branches`.",
			Model:       func() any { return &Branch{} },
			Examples:    []registry.Example{{YAML: "branch: {units: \"input.co_units\", lead: input.unit}"}},
		}},
		{Name: "notify", Spec: registry.Spec{
			Summary:  "Sends a notice to the holder, the creator or the holders of a role.",
			Model:    func() any { return &Notify{} },
			Examples: []registry.Example{{YAML: "notify: {to: holder, message: 有新的工单待处理, level: info}"}},
		}},
		{Name: "link", Spec: registry.Spec{
			Summary:  "Relates the ticket to another one: merged into it, an urge of it, or related.",
			Model:    func() any { return &Link{} },
			Examples: []registry.Example{{YAML: "link: {ticket: input.target, relation: related}"}},
		}},
		{Name: "set", Spec: registry.Spec{
			Summary:     "Stores values into the ticket's fields: field name to expression.",
			Description: "The value is a mapping of field names to expressions over the flow's environment.",
			Examples:    []registry.Example{{YAML: "set: {dept: ticket.holder_unit}"}},
		}},
		{Name: "close_branch", Spec: registry.Spec{
			Summary:     "Marks the acting unit's open co-handling branch done, keeping the action's input as its result.",
			Description: "Takes `true`; the action must have `holder: branch`.",
			Examples:    []registry.Example{{YAML: "close_branch: true"}},
		}},
		{Name: "call", Spec: registry.Spec{
			Summary:     "Runs a procedure a module provides in Go, in the action's transaction, once the ticket is written.",
			Description: "`name` is a procedure of the [procedure namespace](../procedure/README.md); `args` maps its arguments to expressions.",
			Model:       func() any { return &Call{} },
			Examples:    []registry.Example{{YAML: "call: {name: knowledge.cite, args: {articles: input.articles}}"}},
		}},
	} {
		e.Namespace = registry.NSEffect
		registry.Add(e)
	}
}

// KeyNamespace makes an unknown key of an effect an unknown effect, with
// the registered effects as suggestions.
func (Effect) KeyNamespace() string { return registry.NSEffect }

// exampleFlow is the smallest flow around an example of entry e: a flow
// with its own role and calendar, whose one action has body added.
func exampleFlow(e registry.Entry, body string) string {
	name := e.ExampleName()
	return `kind: role
name: ` + name + `
label: 示例
scope: all
---
kind: calendar
name: ` + name + `
label: 示例
covers: {from: 2026-01-01, to: 2026-12-31}
---
kind: flow
name: ` + name + `
label: 示例
calendar: ` + name + `
states:
  - {name: open, label: 处理中, category: open, todo: [holder]}
  - {name: done, label: 办结, category: closed}
actions:
  - {name: create, label: 登记, to: open, roles: [` + name + `]}
  - name: act
    label: 办理
    from: [open]
    to: done
    roles: [` + name + `]
    holder: branch
    ` + body + "\n"
}

// indent indents every line of s after the first by n spaces.
func indent(s string, n int) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n"+strings.Repeat(" ", n))
}
