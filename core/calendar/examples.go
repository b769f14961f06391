package calendar

import "github.com/hotline12345/hotline/core/registry"

var calendarExamples = []registry.Example{{Title: "One year with a holiday and its adjusted working Saturday", YAML: `kind: calendar
name: example-calendar
label: 示例日历
timezone: Asia/Shanghai
weekend: [saturday, sunday]
covers: {from: 2026-01-01, to: 2026-12-31}
holidays:
  - {name: 劳动节, from: 2026-05-01, to: 2026-05-05}
workdays:
  - {name: 劳动节调休上班, date: 2026-05-09}
`}}
