package flow

import "github.com/hotline12345/hotline/core/registry"

// ExampleRequestFlow is a whole small flow with the role and calendar it
// names, so its example lints on its own; the scenario kind's example
// (core/flowtest) walks it.
const ExampleRequestFlow = `kind: role
name: example-clerk
label: 示例承办人
scope: unit
permissions: [personal.view]
---
kind: calendar
name: example-calendar
label: 示例日历
covers: {from: 2026-01-01, to: 2026-12-31}
---
kind: flow
name: example-request
label: 申请
calendar: example-calendar
deadlines:
  - {label: 紧急当日, when: "ticket.fields.urgent == true", working_days: 0}
  - {label: 五个工作日, working_days: 5}
timers:
  - {name: near_due, label: 即将超期, before: 1, notify: holder, message: 申请将于明日到期, level: warning}
states:
  - {name: handling, label: 办理中, category: open, todo: [holder]}
  - {name: done, label: 办结, category: closed}
actions:
  - name: apply
    label: 提交申请
    to: handling
    roles: [example-clerk]
    effects:
      - assign: {unit: actor.unit}
      - deadline: {op: set}
  - name: reply
    label: 答复
    from: [handling]
    to: done
    roles: [example-clerk]
    holder: unit
    guards:
      - {rule: "ticket.counts['reply'] == 0", message: 已经答复过}
    effects:
      - notify: {to: creator, message: 您的申请已答复}
`

var flowExamples = []registry.Example{{Title: "A request answered by the unit it is filed in", YAML: ExampleRequestFlow}}
