// Package ivr is voice navigation (IVR, 语音导航) as configuration: a menu
// is a `kind: ivr` document of nodes that play prompts, gather keys,
// branch on expr rules, run Lua scripts, check opening hours and end by
// handing the call on (a queue, an extension, a number, a voice message, a
// callback request, a hang-up). The package knows nothing of SIP: Run
// walks a menu over a Channel, which the telephony kernel implements for
// calls and `hotline ivr test` for the scenarios in flows/.
package ivr

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/invopop/jsonschema"
	"gopkg.in/yaml.v3"

	"github.com/hotline12345/hotline/core/acd"
	"github.com/hotline12345/hotline/core/calendar"
	"github.com/hotline12345/hotline/core/diag"
	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/rules"
	"github.com/hotline12345/hotline/core/script"
)

// Kind is the configuration kind of IVR menus.
const Kind = "ivr"

func init() {
	registry.Register(registry.Kind{
		Name:        Kind,
		Dir:         "flows",
		Description: "An IVR menu (语音导航): nodes that play prompts, gather keys, branch and hand the call to a queue, an extension, a number, voicemail or a callback.",
		New:         func() any { return &Menu{} },
		Spec:        registry.Spec{Examples: menuExamples},
	})
	rules.RegisterEnv(env, registry.Spec{
		Summary:  "What a voice menu's conditions see: the call (caller, called number, keys pressed, language, the nodes walked).",
		Examples: []registry.Example{{YAML: "call.digits == '1' && call.lang == 'zh'"}},
	})
}

// Menu is a `kind: ivr` document:
//
//	kind: ivr
//	name: main
//	numbers: ["12345"]
//	languages: [{code: zh, label: 普通话}, {code: mn, label: 蒙古语}]
//	start: welcome
//	nodes:
//	  - {name: welcome, play: welcome, next: menu}
//	  - name: menu
//	    gather: {prompt: main_menu, max_digits: 1, timeout: 5s, retries: 2, invalid: invalid_key}
//	    keys: {"1": consult, "0": agent}
//	    next: agent
type Menu struct {
	Name        string `yaml:"name" jsonschema:"required"`
	Label       string `yaml:"label"`
	Description string `yaml:"description"`
	// Numbers are the called numbers (the request URI's user) this menu
	// answers; "*" answers any number no other menu claims.
	Numbers []string `yaml:"numbers" jsonschema:"required"`
	// Languages are the prompt languages, the first the default; a prompt
	// is the file <prompts>/<language>/<name>.wav.
	Languages []Language `yaml:"languages" jsonschema:"required"`
	// Calendar is the working-day calendar of hours nodes.
	Calendar registry.Ref `yaml:"calendar"`
	Start    registry.Ref `yaml:"start" jsonschema:"required"`
	Nodes    []Node       `yaml:"nodes" jsonschema:"required"`

	byName   map[string]*Node
	calendar *calendar.Calendar
}

// Language is a prompt language the caller may choose.
type Language struct {
	Code  string `yaml:"code" jsonschema:"required"`
	Label string `yaml:"label"`
}

// Node is one step of a menu. It may play prompts and then does at most
// one thing; where it goes next is keys (after gather), branch, or next.
type Node struct {
	Pos   diag.Pos `yaml:"-"`
	Name  string   `yaml:"name" jsonschema:"required"`
	Label string   `yaml:"label"`
	// Play prompts before the node's action.
	Play Prompts `yaml:"play"`

	Gather    *Gather               `yaml:"gather"`
	Set       map[string]rules.Expr `yaml:"set" jsonschema:"description=call variables set from expressions (call.vars.NAME)"`
	Script    *ScriptCall           `yaml:"script"`
	Hours     *Hours                `yaml:"hours"`
	Language  string                `yaml:"language" jsonschema:"description=the prompt language from here on"`
	Queue     *QueueTarget          `yaml:"queue"`
	Transfer  *Transfer             `yaml:"transfer"`
	Voicemail *TicketTarget         `yaml:"voicemail"`
	Callback  *TicketTarget         `yaml:"callback"`
	Hangup    bool                  `yaml:"hangup"`

	// Keys maps the digits gathered to the next node.
	Keys   map[string]registry.Ref `yaml:"keys"`
	Branch []Branch                `yaml:"branch"`
	Next   registry.Ref            `yaml:"next"`
	// Fallback is where a gather goes when its retries are spent without a
	// valid key; without one the call follows next.
	Fallback registry.Ref `yaml:"fallback"`

	sets []setProgram
}

type setProgram struct {
	name string
	prog *rules.Program
}

// Prompts is one prompt name or a list of them.
type Prompts []string

// DecodeNode implements registry.NodeDecoder.
func (p *Prompts) DecodeNode(n *yaml.Node, _ diag.Pos) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*p = Prompts{n.Value}
		return nil
	case yaml.SequenceNode:
		var out Prompts
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return fmt.Errorf("expected prompt names, got %s", registry.Describe(c))
			}
			out = append(out, c.Value)
		}
		*p = out
		return nil
	}
	return fmt.Errorf("expected a prompt name or a list of them, got %s", registry.Describe(n))
}

// JSONSchema describes Prompts as written.
func (Prompts) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{OneOf: []*jsonschema.Schema{{Type: "string"}, {Type: "array", Items: &jsonschema.Schema{Type: "string"}}},
		Description: "prompt names: files <prompts>/<language>/<name>.wav"}
}

// Gather collects keys (DTMF) from the caller.
type Gather struct {
	Prompt Prompts `yaml:"prompt"`
	// MaxDigits ends gathering once this many keys are pressed (default 1).
	MaxDigits int `yaml:"max_digits"`
	// Timeout is how long to wait for the first key after the prompt, and
	// between keys (default 5s).
	Timeout time.Duration `yaml:"timeout"`
	// Retries is how often the prompt is repeated after no or an invalid key
	// (default 2).
	Retries int `yaml:"retries"`
	// Terminator ends the digits early, e.g. "#".
	Terminator string `yaml:"terminator"`
	// Invalid is played after an invalid key, NoInput after silence.
	Invalid Prompts `yaml:"invalid"`
	NoInput Prompts `yaml:"no_input"`
	// Valid, when set, is a rule the digits must satisfy (e.g. a length)
	// besides matching keys; without keys any digits are valid.
	Valid rules.Expr `yaml:"valid"`

	valid *rules.Program
}

// ScriptCall runs a Lua function with the call's variables; a table it
// returns is merged into call.vars.
type ScriptCall struct {
	Name     registry.Ref `yaml:"name" jsonschema:"required"`
	Function string       `yaml:"function" jsonschema:"required"`

	script *script.Script
}

// Hours checks opening hours on the menu's calendar: working days (or
// every day) between the given times, then goes to open or closed.
type Hours struct {
	Open     []string     `yaml:"open" jsonschema:"required,description=time ranges such as 08:00-12:00"`
	Workdays bool         `yaml:"workdays" jsonschema:"description=only on working days of the menu's calendar"`
	IfOpen   registry.Ref `yaml:"if_open" jsonschema:"required"`
	IfClosed registry.Ref `yaml:"if_closed" jsonschema:"required"`

	ranges [][2]int // minutes of the day
}

// QueueTarget hands the call to an ACD queue as a task with attributes.
type QueueTarget struct {
	Name registry.Ref `yaml:"name" jsonschema:"required"`
	// Skills the task needs, beyond the queue's own.
	Skills []string `yaml:"skills"`
	// Priority is a number expression (higher is served first).
	Priority rules.Expr `yaml:"priority"`

	priority *rules.Program
}

// Transfer sends the call to an agent's extension or an outside number.
type Transfer struct {
	Extension string `yaml:"extension"`
	Number    string `yaml:"number"`
	Trunk     string `yaml:"trunk"`
}

// TicketTarget creates a ticket from the call: a voice message (the
// recording attached) or a callback request.
type TicketTarget struct {
	Prompt Prompts      `yaml:"prompt"`
	Flow   registry.Ref `yaml:"flow" jsonschema:"required"`
	Action string       `yaml:"action" jsonschema:"required,description=the flow's creating action"`
	// Fields are set on the ticket: call.caller, call.vars… as expressions.
	Fields map[string]rules.Expr `yaml:"fields"`
	// MaxLength bounds a voice message (default 2m).
	MaxLength time.Duration `yaml:"max_length"`
	// Beep is played before recording.
	Beep Prompts `yaml:"beep"`

	fields []setProgram
}

// Branch goes to a node when its rule holds; the first that holds wins.
type Branch struct {
	When rules.Expr   `yaml:"when" jsonschema:"required"`
	Goto registry.Ref `yaml:"goto" jsonschema:"required"`

	prog *rules.Program
}

// Env is what a menu's expressions see.
type Env struct {
	Call CallVars `expr:"call"`
}

// CallVars is the call as expressions see it.
type CallVars struct {
	// ID is the call's identifier (its SIP Call-ID), e.g. a voice
	// message's session.
	ID     string `expr:"id"`
	Caller string `expr:"caller"`
	Called string `expr:"called"`
	// Digits are the keys of the last gather.
	Digits string `expr:"digits"`
	Lang   string `expr:"lang"`
	// Path is the names of the nodes walked so far.
	Path []string       `expr:"path"`
	Vars map[string]any `expr:"vars"`
}

// EnvName is the registered name of the IVR environment.
const EnvName = "ivr"

var env = rules.NewEnv(EnvName, Env{})

var promptName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

var timeRange = regexp.MustCompile(`^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$`)

// Provision checks the menu on its own and compiles its rules.
func (m *Menu) Provision(c *registry.Context) {
	if len(m.Numbers) == 0 {
		c.Errorf(c.At("numbers"), "numbers: say which called numbers this menu answers (\"*\" for any)")
	}
	if len(m.Languages) == 0 {
		c.Errorf(c.At("languages"), "languages: at least one prompt language is needed")
	}
	for i, l := range m.Languages {
		if !promptName.MatchString(l.Code) {
			c.Errorf(c.At("languages", i, "code"), "languages[%d].code: %q is not a folder name (lower-case letters, digits, - and _)", i, l.Code)
		}
	}
	m.byName = map[string]*Node{}
	for i := range m.Nodes {
		n := &m.Nodes[i]
		if n.Pos.File == "" {
			n.Pos = c.At("nodes", i)
		}
		if !registry.ValidName(n.Name) {
			c.Errorf(c.At("nodes", i, "name"), "nodes[%d].name: %q is not a valid name", i, n.Name)
		}
		if _, dup := m.byName[n.Name]; dup {
			c.Errorf(c.At("nodes", i, "name"), "nodes[%d].name: node %q is defined twice", i, n.Name)
		}
		m.byName[n.Name] = n
		m.provisionNode(c, i, n)
	}
	m.checkRefs(c)
	m.checkExits(c)
}

func (m *Menu) compile(c *registry.Context, e *rules.Expr, want rules.Result) *rules.Program {
	e.SetBlockIndent(c.Doc.Line)
	p, diags := rules.Compile(*e, env, want)
	c.Report(diags)
	return p
}

func (m *Menu) checkPrompts(c *registry.Context, at diag.Pos, field string, ps Prompts) {
	for _, p := range ps {
		if !promptName.MatchString(p) {
			c.Errorf(at, "%s: %q is not a prompt name (lower-case letters, digits, - and _; the file is <language>/%s.wav)", field, p, p)
		}
	}
}

// actions names the things a node does besides playing, for "one thing
// per node".
func (n *Node) actions() []string {
	var out []string
	add := func(ok bool, name string) {
		if ok {
			out = append(out, name)
		}
	}
	add(n.Gather != nil, "gather")
	add(len(n.Set) > 0, "set")
	add(n.Script != nil, "script")
	add(n.Hours != nil, "hours")
	add(n.Language != "", "language")
	add(n.Queue != nil, "queue")
	add(n.Transfer != nil, "transfer")
	add(n.Voicemail != nil, "voicemail")
	add(n.Callback != nil, "callback")
	add(n.Hangup, "hangup")
	return out
}

// terminal reports whether the node hands the call on: the menu ends there.
func (n *Node) terminal() bool {
	return n.Queue != nil || n.Transfer != nil || n.Voicemail != nil || n.Callback != nil || n.Hangup
}

func (m *Menu) provisionNode(c *registry.Context, i int, n *Node) {
	at := func(path ...any) diag.Pos { return c.At(append([]any{"nodes", i}, path...)...) }
	field := fmt.Sprintf("nodes[%d]", i)
	m.checkPrompts(c, at("play"), field+".play", n.Play)
	acts := n.actions()
	if len(acts) > 1 {
		c.Errorf(n.Pos, "%s (%s): a node does one thing, this one has %s; split it into nodes", field, n.Name, strings.Join(acts, ", "))
	}
	if len(acts) == 0 && len(n.Play) == 0 && len(n.Branch) == 0 {
		c.Errorf(n.Pos, "%s (%s): the node does nothing (play, gather, set, script, hours, language, queue, transfer, voicemail, callback, hangup or branch)", field, n.Name)
	}
	if n.terminal() && (n.Next.Name != "" || len(n.Branch) > 0 || len(n.Keys) > 0) {
		c.Errorf(n.Pos, "%s (%s): %s ends the menu, so next, branch and keys are not used", field, n.Name, acts[0])
	}
	if len(n.Keys) > 0 && n.Gather == nil {
		c.Errorf(at("keys"), "%s.keys: keys follow a gather", field)
	}
	if n.Fallback.Name != "" && n.Gather == nil {
		c.Errorf(at("fallback"), "%s.fallback: fallback follows a gather", field)
	}
	if g := n.Gather; g != nil {
		if g.MaxDigits == 0 {
			g.MaxDigits = 1
		}
		if g.MaxDigits < 0 || g.MaxDigits > 32 {
			c.Errorf(at("gather", "max_digits"), "%s.gather.max_digits: %d is not between 1 and 32", field, g.MaxDigits)
		}
		if g.Timeout == 0 {
			g.Timeout = 5 * time.Second
		}
		if g.Timeout < 0 || g.Timeout > time.Minute {
			c.Errorf(at("gather", "timeout"), "%s.gather.timeout: %s is not between 0 and 1m", field, g.Timeout)
		}
		if g.Retries < 0 || g.Retries > 9 {
			c.Errorf(at("gather", "retries"), "%s.gather.retries: %d is not between 0 and 9", field, g.Retries)
		}
		if g.Terminator != "" && !isKey(g.Terminator) {
			c.Errorf(at("gather", "terminator"), "%s.gather.terminator: %q is not a key (0-9, *, #)", field, g.Terminator)
		}
		for _, p := range []struct {
			name string
			ps   Prompts
		}{{"prompt", g.Prompt}, {"invalid", g.Invalid}, {"no_input", g.NoInput}} {
			m.checkPrompts(c, at("gather", p.name), field+".gather."+p.name, p.ps)
		}
		if g.Valid.Source != "" {
			g.valid = m.compile(c, &g.Valid, rules.Bool)
		}
		for k := range n.Keys {
			if k == "" || strings.Trim(k, "0123456789*#") != "" {
				c.Errorf(at("keys"), "%s.keys: %q is not keys (0-9, * and #)", field, k)
			} else if len(k) > g.MaxDigits {
				c.Errorf(at("keys"), "%s.keys: %q is longer than gather.max_digits (%d)", field, k, g.MaxDigits)
			}
		}
	}
	n.sets = nil
	for _, name := range sortedKeys(n.Set) {
		e := n.Set[name]
		if !registry.ValidName(name) {
			c.Errorf(at("set"), "%s.set: %q is not a variable name", field, name)
		}
		n.sets = append(n.sets, setProgram{name: name, prog: m.compile(c, &e, rules.Any)})
	}
	if s := n.Script; s != nil && s.Function == "" {
		c.Errorf(at("script"), "%s.script.function: say which function of the script to call", field)
	}
	if h := n.Hours; h != nil {
		if len(h.Open) == 0 {
			c.Errorf(at("hours", "open"), "%s.hours.open: give the opening hours, e.g. [\"08:00-12:00\", \"14:30-18:00\"]", field)
		}
		h.ranges = nil
		for j, r := range h.Open {
			mm := timeRange.FindStringSubmatch(r)
			if mm == nil {
				c.Errorf(at("hours", "open", j), "%s.hours.open[%d]: %q is not a time range HH:MM-HH:MM", field, j, r)
				continue
			}
			from, to := atoi(mm[1])*60+atoi(mm[2]), atoi(mm[3])*60+atoi(mm[4])
			if to <= from {
				c.Errorf(at("hours", "open", j), "%s.hours.open[%d]: %q ends before it starts", field, j, r)
			}
			h.ranges = append(h.ranges, [2]int{from, to})
		}
		if h.Workdays && m.Calendar.Name == "" {
			c.Errorf(at("hours", "workdays"), "%s.hours.workdays: the menu names no calendar", field)
		}
	}
	if n.Language != "" && !slices.ContainsFunc(m.Languages, func(l Language) bool { return l.Code == n.Language }) {
		c.Errorf(at("language"), "%s.language: %q is not one of the menu's languages%s", field, n.Language, registry.Suggest(n.Language, m.languageCodes()))
	}
	if q := n.Queue; q != nil && q.Priority.Source != "" {
		q.priority = m.compile(c, &q.Priority, rules.Number)
	}
	if t := n.Transfer; t != nil && (t.Extension == "") == (t.Number == "") {
		c.Errorf(at("transfer"), "%s.transfer: give either extension or number", field)
	}
	for _, tt := range []struct {
		name string
		t    *TicketTarget
	}{{"voicemail", n.Voicemail}, {"callback", n.Callback}} {
		if tt.t == nil {
			continue
		}
		m.checkPrompts(c, at(tt.name, "prompt"), field+"."+tt.name+".prompt", tt.t.Prompt)
		m.checkPrompts(c, at(tt.name, "beep"), field+"."+tt.name+".beep", tt.t.Beep)
		if tt.t.MaxLength == 0 {
			tt.t.MaxLength = 2 * time.Minute
		}
		tt.t.fields = nil
		for _, name := range sortedKeys(tt.t.Fields) {
			e := tt.t.Fields[name]
			tt.t.fields = append(tt.t.fields, setProgram{name: name, prog: m.compile(c, &e, rules.Any)})
		}
	}
	for j := range n.Branch {
		n.Branch[j].prog = m.compile(c, &n.Branch[j].When, rules.Bool)
	}
}

// Prompts lists every prompt the menu plays, once each.
func (m *Menu) Prompts() []string {
	var out []string
	add := func(ps Prompts) {
		for _, p := range ps {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	for _, n := range m.Nodes {
		add(n.Play)
		if g := n.Gather; g != nil {
			add(g.Prompt)
			add(g.Invalid)
			add(g.NoInput)
		}
		for _, t := range []*TicketTarget{n.Voicemail, n.Callback} {
			if t != nil {
				add(t.Prompt)
				add(t.Beep)
			}
		}
	}
	return out
}

func (m *Menu) languageCodes() []string {
	out := make([]string, len(m.Languages))
	for i, l := range m.Languages {
		out[i] = l.Code
	}
	return out
}

// targets are the nodes a node may go to.
func (n *Node) targets() []registry.Ref {
	var out []registry.Ref
	for _, k := range sortedKeys(n.Keys) {
		out = append(out, n.Keys[k])
	}
	for _, b := range n.Branch {
		out = append(out, b.Goto)
	}
	if n.Hours != nil {
		out = append(out, n.Hours.IfOpen, n.Hours.IfClosed)
	}
	for _, r := range []registry.Ref{n.Next, n.Fallback} {
		if r.Name != "" {
			out = append(out, r)
		}
	}
	return out
}

// checkRefs reports references to nodes that do not exist and nodes
// that go nowhere.
func (m *Menu) checkRefs(c *registry.Context) {
	names := make([]string, 0, len(m.Nodes))
	for _, n := range m.Nodes {
		names = append(names, n.Name)
	}
	check := func(r registry.Ref) {
		if r.Name == "" {
			return
		}
		if _, ok := m.byName[r.Name]; !ok {
			c.Errorf(r.Pos, "unknown node %q%s", r.Name, registry.Suggest(r.Name, names))
		}
	}
	check(m.Start)
	if m.Start.Name == "" {
		c.Errorf(c.At("start"), "start: name the first node")
	}
	for i := range m.Nodes {
		n := &m.Nodes[i]
		for _, r := range n.targets() {
			check(r)
		}
		if !n.terminal() && n.Next.Name == "" && n.Hours == nil {
			c.Errorf(n.Pos, "nodes[%d] (%s): say where the call goes next (next), or end it (queue, transfer, voicemail, callback, hangup)", i, n.Name)
		}
	}
}

// checkExits finds nodes the call can reach but never leave: every node
// reachable from start must reach a node that hands the call on, or the
// caller would go round the menu for ever.
func (m *Menu) checkExits(c *registry.Context) {
	if _, ok := m.byName[m.Start.Name]; !ok {
		return
	}
	exits := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for _, n := range m.Nodes {
			if exits[n.Name] {
				continue
			}
			ok := n.terminal()
			for _, r := range n.targets() {
				ok = ok || exits[r.Name]
			}
			if ok {
				exits[n.Name], changed = true, true
			}
		}
	}
	seen := map[string]bool{}
	var walk func(name string)
	walk = func(name string) {
		n, ok := m.byName[name]
		if !ok || seen[name] {
			return
		}
		seen[name] = true
		if !exits[name] {
			c.Errorf(n.Pos, "node %q: a call here can never leave the menu (no path to a queue, transfer, voicemail, callback or hangup)", name)
		}
		for _, r := range n.targets() {
			walk(r.Name)
		}
	}
	walk(m.Start.Name)
}

// Validate checks references to other documents: scripts, the calendar,
// queues and the flows of voicemail and callback tickets.
func (m *Menu) Validate(c *registry.Context) {
	if m.Calendar.Name != "" {
		if d, ok := c.Resolve(calendar.Kind, m.Calendar); ok {
			m.calendar, _ = d.Model.(*calendar.Calendar)
		}
	}
	for i := range m.Nodes {
		n := &m.Nodes[i]
		if n.Script != nil {
			if d, ok := c.Resolve(script.KindScript, n.Script.Name); ok {
				n.Script.script, _ = d.Model.(*script.Script)
			}
		}
		if n.Queue != nil {
			if d, ok := c.Resolve(acd.KindQueue, n.Queue.Name); ok {
				// A queue that gives calls up hands them back to this menu.
				for _, st := range d.Model.(*acd.Queue).Overflow {
					if _, ok := m.byName[st.Exit]; st.Exit != "" && !ok {
						c.Errorf(n.Queue.Name.Pos, "nodes[%s].queue: queue %s gives calls up to node %q after %s, which this menu does not have", n.Name, n.Queue.Name.Name, st.Exit, st.After)
					}
				}
			}
		}
		for _, t := range []*TicketTarget{n.Voicemail, n.Callback} {
			if t == nil {
				continue
			}
			d, ok := c.Resolve(flow.Kind, t.Flow)
			if !ok {
				continue
			}
			fl, _ := d.Model.(*flow.Flow)
			a, ok := fl.Action(t.Action)
			if !ok || len(a.From) > 0 {
				c.Errorf(t.Flow.Pos, "flow %q has no creating action %q", fl.Name, t.Action)
				continue
			}
			if !callsProcedure(a, bindCall) {
				c.Errorf(t.Flow.Pos, "nodes[%s]: flow %q action %q does not bind the call to the ticket it creates: give the action the effect call: {name: %s, args: {call: ticket.fields.<the field this node sets to call.id>}}",
					n.Name, fl.Name, t.Action, bindCall)
			}
		}
	}
}

// bindCall is the procedure (registered by core/telephony) that binds a
// call to a ticket in the action's transaction: the one way a ticket is
// bound to its call, whether an agent registers it or a menu creates it.
const bindCall = "telephony.bind_call"

// callsProcedure reports whether action a calls the procedure name.
func callsProcedure(a *flow.Action, name string) bool {
	for _, e := range a.Effects {
		if e.Call != nil && e.Call.Name == name {
			return true
		}
	}
	return false
}

func isKey(s string) bool { return len(s) == 1 && strings.Contains("0123456789*#", s) }

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
