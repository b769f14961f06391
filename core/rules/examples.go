package rules

import "github.com/hotline12345/hotline/core/registry"

var ruleExamples = []registry.Example{{Title: "A rule over declared variables, with its tests", YAML: `kind: rule
name: example-repeat-caller
label: 三十日内多次来电
vars:
  caller: {calls_30d: int}
expr: caller.calls_30d >= 3
tests:
  - {name: 三次, given: {caller: {calls_30d: 3}}, expect: true}
  - {name: 一次, given: {caller: {calls_30d: 1}}, expect: false}
`}, {Title: "A rule over a registered environment", YAML: `kind: rule
name: example-overdue
label: 已超期
env: flow
expr: now > ticket.deadline
`}}
