package script

import "github.com/hotline12345/hotline/core/registry"

var scriptExamples = []registry.Example{{Title: "scripts/trim.lua", YAML: `-- Trims the spaces around a name.
function trim_name(name)
  return (string.gsub(name or "", "^%s*(.-)%s*$", "%1"))
end
`}}

var scriptTestExamples = []registry.Example{{Title: "Tests of the shipped phone script", YAML: `kind: script-test
name: example-phone
script: phone
tests:
  - {name: 手机, call: kind, args: ["138 0013 8000"], expect: mobile}
  - {name: 无效号码, call: normalize, args: ["12345"], error: 不是有效的电话号码}
`}}
