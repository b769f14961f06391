package ivr

import "github.com/hotline12345/hotline/core/registry"

const exampleMenu = `kind: queue
name: example-service
label: 示例服务
members: "'example' in agent.roles"
---
kind: ivr
name: example-menu
label: 示例语音导航
numbers: ["96000"]
languages: [{code: zh, label: 普通话}]
start: menu
nodes:
  - name: menu
    label: 主菜单
    gather: {prompt: main_menu, max_digits: 1, timeout: 5s, retries: 1}
    keys: {"1": service, "9": bye}
    fallback: service
    next: service
  - {name: service, label: 转人工, queue: {name: example-service}}
  - {name: bye, label: 挂机, hangup: true}
`

var menuExamples = []registry.Example{{Title: "Press 1 for an agent, 9 to hang up", YAML: exampleMenu}}

var testExamples = []registry.Example{{Title: "Tests of the menu example", YAML: exampleMenu + `---
kind: ivr-test
name: example-menu
menu: example-menu
tests:
  - name: 按 1 转人工
    keys: ["1"]
    expect: {outcome: queue, queue: example-service}
  - name: 按 9 挂机
    keys: ["9"]
    expect: {outcome: hangup}
`}}
