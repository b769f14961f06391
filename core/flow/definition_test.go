package flow_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/registry"
)

func sample(t *testing.T) *flow.Flow {
	t.Helper()
	set, diags := registry.Load(context.Background(), []string{"../../testdata/flows/sample"}, registry.LoadOptions{})
	require.Empty(t, diags)
	f, ok := registry.Model[*flow.Flow](set, flow.Kind, "request")
	require.True(t, ok)
	return f
}

func TestTimeLimitsAreTriedInOrder(t *testing.T) {
	f := sample(t)
	for _, tc := range []struct {
		fields map[string]any
		days   int
		label  string
	}{
		{map[string]any{"urgency": "紧急", "type": "咨询"}, 0, "紧急"},
		{map[string]any{"urgency": "一般", "type": "咨询"}, 3, "咨询"},
		{map[string]any{"type": "投诉"}, 13, "其他"},
		{nil, 13, "其他"},
	} {
		days, label, ok, err := f.TimeLimit(flow.Env{Ticket: flow.TicketVars{Fields: tc.fields}})
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, tc.days, days, "%v", tc.fields)
		assert.Equal(t, tc.label, label)
	}
	// The deadline is counted on the flow's calendar: registered on the
	// Friday before Spring Festival, a consultation is due after the
	// Saturday worked and two days after the holiday.
	start := time.Date(2026, 2, 13, 10, 0, 0, 0, f.Calendar().Location())
	assert.Equal(t, time.Date(2026, 2, 26, 0, 0, 0, 0, f.Calendar().Location()), f.Calendar().Deadline(start, 3))
}

func TestGuardsExplainRefusals(t *testing.T) {
	f := sample(t)
	ret, ok := f.Action("return")
	require.True(t, ok)
	msg, err := ret.Refusal(flow.Env{Ticket: flow.TicketVars{Counts: map[string]int{"return": 1}}})
	require.NoError(t, err)
	assert.Empty(t, msg)
	msg, err = ret.Refusal(flow.Env{Ticket: flow.TicketVars{Counts: map[string]int{"return": 2}}})
	require.NoError(t, err)
	assert.Equal(t, "已退回两次，不能再次退回", msg)

	complete, _ := f.Action("complete")
	msg, err = complete.Refusal(flow.Env{Input: map[string]any{"reply": "已处理"}})
	require.NoError(t, err)
	assert.Equal(t, "办理结果至少 10 个字", msg)
	msg, err = complete.Refusal(flow.Env{Input: map[string]any{"reply": "已联系物业公司，暖气已恢复正常供应。"}})
	require.NoError(t, err)
	assert.Empty(t, msg)
}

func TestGraphs(t *testing.T) {
	f := sample(t)
	m := f.Mermaid()
	assert.True(t, strings.HasPrefix(m, "stateDiagram-v2\n"))
	assert.Contains(t, m, "    handling --> returned: 申请退回\n")
	assert.Contains(t, m, "    [*] --> handling: 登记\n")
	assert.Contains(t, m, "    done --> [*]\n")
	d := f.DOT()
	assert.Contains(t, d, `"returned" -> "handling" [label="重新派单"];`)
	assert.Contains(t, d, `"done" [label="办结", peripheries=2];`)
}
