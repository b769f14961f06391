package ivr_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/acd"
	_ "github.com/hotline12345/hotline/core/calendar"
	_ "github.com/hotline12345/hotline/core/dispatch"
	_ "github.com/hotline12345/hotline/core/flowtest"
	_ "github.com/hotline12345/hotline/core/form"
	_ "github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/ivr"
	_ "github.com/hotline12345/hotline/core/knowledge"
	"github.com/hotline12345/hotline/core/registry"
	_ "github.com/hotline12345/hotline/core/telephony" // telephony.bind_call, called by the ticket flow
	_ "github.com/hotline12345/hotline/core/workbench" // kind workbench, in flows/workbench
)

var configDirs = []string{"../../flows", "../../forms", "../../scripts"}

const menuFile = "../../flows/ivr/12345.yaml"

// lint loads the real configuration with extra documents in flows/ivr/extra.yaml.
func lint(t *testing.T, extra string) []string {
	t.Helper()
	_, diags := registry.Load(context.Background(), configDirs, registry.LoadOptions{RunTests: true,
		Overrides: map[string]string{"../../flows/ivr/extra.yaml": extra}})
	var out []string
	for _, d := range diags {
		out = append(out, d.String())
	}
	return out
}

func TestDefaultMenuPassesLintAndItsScenarios(t *testing.T) {
	assert.Empty(t, lint(t, ""))
}

func TestMenuLintErrors(t *testing.T) {
	head := "kind: ivr\nname: m\nnumbers: [\"999\"]\nlanguages: [{code: zh}]\nstart: a\nnodes:\n"
	cases := []struct {
		name, nodes, want string
	}{
		{"loop without exit", "  - {name: a, play: welcome, next: b}\n  - {name: b, play: welcome, next: a}\n",
			`extra.yaml:7:5: node "a": a call here can never leave the menu`},
		{"unknown queue", "  - {name: a, queue: {name: genral}}\n", `extra.yaml:7:29: unknown queue "genral" (did you mean "general"?)`},
		{"unknown node", "  - {name: a, play: welcome, next: hangup_now}\n  - {name: b, hangup: true}\n", `unknown node "hangup_now"`},
		{"two actions", "  - {name: a, language: zh, hangup: true}\n", "a node does one thing, this one has language, hangup"},
		{"terminal with next", "  - {name: a, hangup: true, next: a}\n", "hangup ends the menu"},
		{"nowhere to go", "  - {name: a, play: welcome}\n", "say where the call goes next"},
		{"bad key", "  - {name: a, gather: {prompt: main_menu}, keys: {\"12\": b}, next: b}\n  - {name: b, hangup: true}\n", `"12" is longer than gather.max_digits (1)`},
		{"bad hours", "  - {name: a, hours: {open: [\"18:00-08:00\"], if_open: b, if_closed: b}}\n  - {name: b, hangup: true}\n", `"18:00-08:00" ends before it starts`},
		{"workdays without calendar", "  - {name: a, hours: {open: [\"08:00-18:00\"], workdays: true, if_open: b, if_closed: b}}\n  - {name: b, hangup: true}\n", "the menu names no calendar"},
		{"bad prompt name", "  - {name: a, play: Welcome.wav, hangup: true}\n", `"Welcome.wav" is not a prompt name`},
		{"unknown language", "  - {name: a, language: en, next: b}\n  - {name: b, hangup: true}\n", `"en" is not one of the menu's languages`},
		{"expression error", "  - {name: a, branch: [{when: \"call.digit == '1'\", goto: b}], next: b}\n  - {name: b, hangup: true}\n", "digit"},
		{"queue gives calls to a missing node", "  - {name: a, queue: {name: general}}\n", `queue general gives calls up to node "busy_choice" after 3m0s, which this menu does not have`},
		{"voicemail flow action", "  - {name: a, voicemail: {flow: ticket, action: accept_omni}}\n", `flow "ticket" has no creating action "accept_omni"`},
		{"callback action that binds no call", "  - {name: a, callback: {flow: ticket, action: save_draft}}\n",
			`nodes[a]: flow "ticket" action "save_draft" does not bind the call to the ticket it creates: give the action the effect call: {name: telephony.bind_call`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(lint(t, head+tc.nodes), "\n")
			assert.Contains(t, got, tc.want)
		})
	}
}

func TestMenuScenarioFailuresAreReported(t *testing.T) {
	got := lint(t, "kind: ivr-test\nname: extra\nmenu: hotline\ntests:\n  - {name: wrong, keys: [\"1\", \"1\"], expect: {outcome: queue, queue: enterprise}}\n")
	require.Len(t, got, 1)
	assert.Contains(t, got[0], `extra.yaml:5:5: test "wrong": expected queue enterprise, got general (path welcome → language → menu → consult → agent)`)
}

// Every prompt the default menu and its queues name is a file in its
// first language;
// the other languages fall back to it where they have no recording.
func TestDefaultMenuPromptsExist(t *testing.T) {
	set, diags := registry.Load(context.Background(), configDirs, registry.LoadOptions{})
	require.NoError(t, diags.Err())
	m, ok := ivr.MenuFor(set, "12345")
	require.True(t, ok)
	prompts := m.Prompts()
	require.NotEmpty(t, prompts)
	for _, d := range set.All(acd.KindQueue) {
		if w := d.Model.(*acd.Queue).Wait; w != nil {
			prompts = append(prompts, w.Prompt...)
		}
	}
	for _, p := range prompts {
		_, err := os.Stat(filepath.Join("../../testdata/prompts", m.Languages[0].Code, p+".wav"))
		assert.NoError(t, err, p)
	}
}
