package ivr

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hotline12345/hotline/core/diag"
	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/rules"
	"github.com/hotline12345/hotline/core/script"
)

// KindTest is the configuration kind of menu scenarios: calls walked
// through a menu with the keys a caller presses, run by `hotline lint`.
const KindTest = "ivr-test"

func init() {
	registry.Register(registry.Kind{
		Name:        KindTest,
		Dir:         "flows",
		Description: "IVR menu scenarios: the keys a caller presses and where the call must end, with the prompts heard on the way.",
		New:         func() any { return &Test{} },
		Spec:        registry.Spec{Examples: testExamples},
	})
}

// Test is a `kind: ivr-test` document:
//
//	kind: ivr-test
//	name: main
//	menu: main
//	tests:
//	  - {name: 咨询转人工, keys: ["1", "0"], expect: {outcome: queue, queue: general}}
type Test struct {
	Name  string       `yaml:"name" jsonschema:"required"`
	Label string       `yaml:"label"`
	Menu  registry.Ref `yaml:"menu" jsonschema:"required"`
	Tests []Case       `yaml:"tests" jsonschema:"required"`
}

// Case is one call.
type Case struct {
	Pos    diag.Pos    `yaml:"-"`
	Name   string      `yaml:"name" jsonschema:"required"`
	Caller string      `yaml:"caller"`
	Called string      `yaml:"called"`
	At     flow.Moment `yaml:"at" jsonschema:"description=the time of the call (for hours nodes); default 2026-03-02T10:00:00+08:00"`
	// Keys answer the menu's gathers in turn; "" is silence. When they run
	// out the caller hangs up.
	Keys   []string `yaml:"keys"`
	Expect Expect   `yaml:"expect" jsonschema:"required"`
}

// Expect is what a case checks; only what is given is compared.
type Expect struct {
	Outcome string         `yaml:"outcome" jsonschema:"enum=queue,enum=transfer,enum=voicemail,enum=callback,enum=hangup,enum=abandoned"`
	Node    string         `yaml:"node"`
	Queue   string         `yaml:"queue"`
	Lang    string         `yaml:"lang"`
	Path    []string       `yaml:"path"`
	Vars    map[string]any `yaml:"vars"`
	// Heard lists prompts that must have been played, in order, as
	// language/name (others may come between).
	Heard    []string       `yaml:"heard"`
	Priority *float64       `yaml:"priority"`
	Fields   map[string]any `yaml:"fields" jsonschema:"description=fields of the voicemail or callback ticket"`
}

// Validate checks that the menu exists.
func (t *Test) Validate(c *registry.Context) {
	c.Resolve(Kind, t.Menu)
	for _, tc := range t.Tests {
		if tc.Expect.Outcome == "" && tc.Expect.Node == "" && len(tc.Expect.Path) == 0 {
			c.Errorf(tc.Pos, "test %q: expect at least an outcome, node or path", tc.Name)
		}
	}
}

var (
	testEngineOnce sync.Once
	testEngine     *script.Engine
)

// Test walks each case through the menu.
func (t *Test) Test(ctx context.Context, c *registry.Context) {
	m, ok := registry.Model[*Menu](c.Set, Kind, t.Menu.Name)
	if !ok || m.byName == nil {
		return
	}
	testEngineOnce.Do(func() { testEngine = script.NewEngine(script.Options{}) })
	for _, tc := range t.Tests {
		at := tc.At.Time
		if at.IsZero() {
			at = time.Date(2026, 3, 2, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
		}
		ch := &scriptedChannel{keys: tc.Keys}
		r := &Runner{Scripts: testEngine, Now: func() time.Time { return at }}
		caller := tc.Caller
		if caller == "" {
			caller = "13800138000"
		}
		called := tc.Called
		if called == "" && len(m.Numbers) > 0 {
			called = m.Numbers[0]
		}
		out, err := r.Run(ctx, m, ch, "scenario-"+tc.Name, caller, called)
		if err != nil {
			c.Errorf(tc.Pos, "test %q: %v", tc.Name, err)
			continue
		}
		for _, p := range tc.check(out, ch.heard) {
			c.Errorf(tc.Pos, "test %q: %s", tc.Name, p)
		}
	}
}

func (tc Case) check(out Outcome, heard []string) []string {
	var problems []string
	differ := func(what string, want, got any) {
		problems = append(problems, fmt.Sprintf("expected %s %v, got %v (path %s)", what, want, got, strings.Join(out.Path, " → ")))
	}
	e := tc.Expect
	if e.Outcome != "" && e.Outcome != out.Kind {
		differ("outcome", e.Outcome, out.Kind)
	}
	if e.Node != "" && e.Node != out.Node {
		differ("node", e.Node, out.Node)
	}
	if e.Queue != "" && e.Queue != out.Queue {
		differ("queue", e.Queue, out.Queue)
	}
	if e.Lang != "" && e.Lang != out.Lang {
		differ("language", e.Lang, out.Lang)
	}
	if len(e.Path) > 0 && !slices.Equal(e.Path, out.Path) {
		differ("path", strings.Join(e.Path, " → "), strings.Join(out.Path, " → "))
	}
	if e.Priority != nil && *e.Priority != out.Priority {
		differ("priority", *e.Priority, out.Priority)
	}
	for k, v := range e.Vars {
		if !rules.Equal(out.Vars[k], v) {
			differ("vars."+k, v, out.Vars[k])
		}
	}
	for k, v := range e.Fields {
		var got any
		if out.Ticket != nil {
			got = out.Ticket.Fields[k]
		}
		if !rules.Equal(got, v) {
			differ("ticket field "+k, v, got)
		}
	}
	i := 0
	for _, h := range heard {
		if i < len(e.Heard) && h == e.Heard[i] {
			i++
		}
	}
	if i < len(e.Heard) {
		problems = append(problems, fmt.Sprintf("expected to hear %s, heard %s", e.Heard[i], strings.Join(heard, ", ")))
	}
	return problems
}

// scriptedChannel is a caller who presses the given keys.
type scriptedChannel struct {
	keys  []string
	heard []string
}

func (s *scriptedChannel) hear(lang string, prompts []string) {
	for _, p := range prompts {
		s.heard = append(s.heard, lang+"/"+p)
	}
}

func (s *scriptedChannel) Play(_ context.Context, lang string, prompts []string) error {
	s.hear(lang, prompts)
	return nil
}

func (s *scriptedChannel) Gather(_ context.Context, lang string, prompts []string, max int, terminator string, _ time.Duration) (string, error) {
	s.hear(lang, prompts)
	if len(s.keys) == 0 {
		return "", ErrHangup
	}
	k := s.keys[0]
	s.keys = s.keys[1:]
	if terminator != "" {
		k, _, _ = strings.Cut(k, terminator)
	}
	if len(k) > max {
		k = k[:max]
	}
	return k, nil
}

func (s *scriptedChannel) Record(context.Context, time.Duration) (string, error) {
	return "scenario.wav", nil
}
