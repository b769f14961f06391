package acd

import "github.com/hotline12345/hotline/core/registry"

var queueExamples = []registry.Example{{Title: "A skills queue that widens as callers wait", YAML: `kind: queue
name: example-tax
label: 税务咨询
strategy: skill-weighted
members: "(agent.skills['tax'] ?? 0) > 0"
skills: [tax]
wait: {prompt: [please_hold], every: 20s, position: true}
overflow:
  - {after: 60s, any_skills: true}
  - {after: 3m, priority: 1}
`}}

// There is one agent-states document, named default; the example is linted
// in place of the shipped one.
var statesExamples = []registry.Example{{Title: "The states of a small centre", YAML: `kind: agent-states
name: default
label: 座席状态
sign_in: idle
after_task: wrapup
states:
  - {name: signed_out, label: 签出, category: signed_out}
  - {name: idle, label: 示闲, category: idle, manual: true}
  - {name: busy, label: 示忙, category: busy, manual: true, reasons: [会议, 培训]}
  - {name: wrapup, label: 整理, category: wrapup, manual: true, max: 30s, then: idle}
  - {name: ringing, label: 振铃, category: reserved}
  - {name: talking, label: 通话中, category: talking}
`}}
