package script

import (
	"context"
	"testing"
)

func BenchmarkCall(b *testing.B) {
	e := NewEngine(Options{})
	s, err := Compile("bench", "bench.lua", []byte(`
local prefix = "工单-"
function handle(ticket)
  local title = str.trim(ticket.title)
  return { id = prefix .. ticket.id, title = title, long = str.len(title) > 10 }
end
`))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	arg := map[string]any{"id": "42", "title": "  市民反映路灯不亮  "}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Call(ctx, s, "handle", arg); err != nil {
			b.Fatal(err)
		}
	}
}
