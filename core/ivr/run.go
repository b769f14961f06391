package ivr

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/hotline12345/hotline/core/calendar"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/script"
)

// ErrHangup is returned by a Channel when the caller has hung up.
var ErrHangup = errors.New("the caller hung up")

// Channel is a call as a menu sees it. The telephony kernel implements it
// over SIP and RTP; menu tests implement it with scripted keys.
type Channel interface {
	// Play plays prompts in a language to the end.
	Play(ctx context.Context, lang string, prompts []string) error
	// Gather plays prompts, stopping them at the first key, and collects
	// keys until max are pressed, the terminator is pressed or no key
	// comes within timeout. No key gives "".
	Gather(ctx context.Context, lang string, prompts []string, max int, terminator string, timeout time.Duration) (string, error)
	// Record records the caller up to max, ended early by any key, and
	// returns where the recording is.
	Record(ctx context.Context, max time.Duration) (string, error)
}

// Outcome is how a walk through a menu ended.
type Outcome struct {
	// Kind is queue, transfer, voicemail, callback or hangup, or abandoned
	// when the caller hung up in the menu.
	Kind string `json:"kind"`
	Node string `json:"node"`
	// Queue, Skills and Priority make the ACD task of a queue outcome.
	Queue    string   `json:"queue,omitempty"`
	Skills   []string `json:"skills,omitempty"`
	Priority float64  `json:"priority,omitempty"`
	// Transfer is the extension or number of a transfer outcome.
	Transfer *Transfer `json:"transfer,omitempty"`
	// Ticket is the ticket a voicemail or callback outcome asks for.
	Ticket *TicketRequest `json:"ticket,omitempty"`
	Lang   string         `json:"lang"`
	Path   []string       `json:"path"`
	Vars   map[string]any `json:"vars"`
	// Keys are the keys pressed at each gather, by node, for the call's
	// record.
	Keys []KeyPress `json:"keys"`
}

// KeyPress is what a caller pressed at a gather, and how long after the
// gather began.
type KeyPress struct {
	Node   string        `json:"node"`
	Digits string        `json:"digits"`
	After  time.Duration `json:"after"`
}

// TicketRequest is a ticket a menu asks the kernel to create.
type TicketRequest struct {
	Flow      string         `json:"flow"`
	Action    string         `json:"action"`
	Fields    map[string]any `json:"fields"`
	Recording string         `json:"recording,omitempty"`
}

// maxSteps bounds a walk: lint proves every node can reach an exit, but a
// caller who keeps choosing "repeat" must still end somewhere.
const maxSteps = 500

// Runner walks menus.
type Runner struct {
	Scripts *script.Engine
	Now     func() time.Time
}

func (r *Runner) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

// Run walks menu m over ch for call id from caller to called until the
// menu hands the call on or the caller hangs up.
func (r *Runner) Run(ctx context.Context, m *Menu, ch Channel, id, caller, called string) (Outcome, error) {
	call := CallVars{ID: id, Caller: caller, Called: called, Lang: m.Languages[0].Code, Vars: map[string]any{}}
	return r.walk(ctx, m, m.Start.Name, ch, call)
}

// Resume goes on with a call that left menu m as prev, from node (a queue
// gave the call up: its voicemail or callback node), keeping the call's
// language, path and variables.
func (r *Runner) Resume(ctx context.Context, m *Menu, ch Channel, prev Outcome, node, id, caller, called string) (Outcome, error) {
	if _, ok := m.byName[node]; !ok {
		return prev, fmt.Errorf("menu %s: no node %q to go on with", m.Name, node)
	}
	call := CallVars{ID: id, Caller: caller, Called: called, Lang: prev.Lang, Path: prev.Path, Vars: prev.Vars}
	if call.Vars == nil {
		call.Vars = map[string]any{}
	}
	return r.walk(ctx, m, node, ch, call)
}

func (r *Runner) walk(ctx context.Context, m *Menu, start string, ch Channel, call CallVars) (Outcome, error) {
	out := Outcome{Lang: call.Lang}
	finish := func(kind string, n *Node) (Outcome, error) {
		out.Kind, out.Lang, out.Path, out.Vars = kind, call.Lang, call.Path, call.Vars
		if n != nil {
			out.Node = n.Name
		}
		return out, nil
	}
	n := m.byName[start]
	for step := 0; ; step++ {
		if step == maxSteps {
			return out, fmt.Errorf("menu %s: the call walked %d nodes without leaving", m.Name, maxSteps)
		}
		call.Path = append(call.Path, n.Name)
		next, err := r.node(ctx, m, n, ch, &call, &out)
		if errors.Is(err, ErrHangup) || (err != nil && ctx.Err() != nil) {
			return finish("abandoned", n)
		}
		if err != nil {
			return out, fmt.Errorf("menu %s, node %s: %w", m.Name, n.Name, err)
		}
		if n.terminal() {
			return finish(out.Kind, n)
		}
		if next == "" {
			next = n.Next.Name
		}
		nn, ok := m.byName[next]
		if !ok {
			return out, fmt.Errorf("menu %s, node %s: no node %q to go to", m.Name, n.Name, next)
		}
		n = nn
	}
}

func (r *Runner) env(call *CallVars) Env { return Env{Call: *call} }

// node performs one node and says where to go ("" for next).
func (r *Runner) node(ctx context.Context, m *Menu, n *Node, ch Channel, call *CallVars, out *Outcome) (string, error) {
	if len(n.Play) > 0 {
		if err := ch.Play(ctx, call.Lang, n.Play); err != nil {
			return "", err
		}
	}
	switch {
	case n.Gather != nil:
		next, err := r.gather(ctx, n, ch, call, out)
		if err != nil || next != "" {
			return next, err
		}
	case len(n.sets) > 0:
		for _, s := range n.sets {
			v, err := s.prog.Run(r.env(call))
			if err != nil {
				return "", fmt.Errorf("set %s: %w", s.name, err)
			}
			call.Vars[s.name] = v
		}
	case n.Script != nil:
		if err := r.script(ctx, m, n, call); err != nil {
			return "", err
		}
	case n.Hours != nil:
		if n.Hours.open(m.calendar, r.now()) { // a nil calendar: every day, in the server's zone
			return n.Hours.IfOpen.Name, nil
		}
		return n.Hours.IfClosed.Name, nil
	case n.Language != "":
		call.Lang = n.Language
	case n.Queue != nil:
		out.Kind, out.Queue, out.Skills = "queue", n.Queue.Name.Name, n.Queue.Skills
		if n.Queue.priority != nil {
			v, err := n.Queue.priority.Run(r.env(call))
			if err != nil {
				return "", fmt.Errorf("queue priority: %w", err)
			}
			out.Priority, _ = v.(float64)
		}
		return "", nil
	case n.Transfer != nil:
		out.Kind, out.Transfer = "transfer", n.Transfer
		return "", nil
	case n.Voicemail != nil || n.Callback != nil:
		return "", r.ticket(ctx, n, ch, call, out)
	case n.Hangup:
		out.Kind = "hangup"
		return "", nil
	}
	for _, b := range n.Branch {
		ok, err := b.prog.Bool(r.env(call))
		if err != nil {
			return "", fmt.Errorf("branch %q: %w", b.When.Source, err)
		}
		if ok {
			return b.Goto.Name, nil
		}
	}
	return "", nil
}

// gather asks for keys up to 1+retries times; a valid answer goes to its
// key's node (or on through branch and next), retries spent go to the
// fallback.
func (r *Runner) gather(ctx context.Context, n *Node, ch Channel, call *CallVars, out *Outcome) (string, error) {
	g := n.Gather
	for try := 0; try <= g.Retries; try++ {
		start := r.now()
		digits, err := ch.Gather(ctx, call.Lang, g.Prompt, g.MaxDigits, g.Terminator, g.Timeout)
		if err != nil {
			return "", err
		}
		call.Digits = digits
		out.Keys = append(out.Keys, KeyPress{Node: n.Name, Digits: digits, After: r.now().Sub(start)})
		if digits == "" {
			if try < g.Retries && len(g.NoInput) > 0 {
				if err := ch.Play(ctx, call.Lang, g.NoInput); err != nil {
					return "", err
				}
			}
			continue
		}
		valid := true
		if g.valid != nil {
			if valid, err = g.valid.Bool(r.env(call)); err != nil {
				return "", fmt.Errorf("gather.valid: %w", err)
			}
		}
		if next, ok := n.Keys[digits]; ok && valid {
			return next.Name, nil
		}
		if valid && len(n.Keys) == 0 {
			return "", nil // any digits: on through branch and next
		}
		if try < g.Retries && len(g.Invalid) > 0 {
			if err := ch.Play(ctx, call.Lang, g.Invalid); err != nil {
				return "", err
			}
		}
	}
	call.Digits = ""
	if n.Fallback.Name != "" {
		return n.Fallback.Name, nil
	}
	return n.Next.Name, nil
}

// script calls a Lua function with the call; a table it returns is merged
// into call.vars.
func (r *Runner) script(ctx context.Context, m *Menu, n *Node, call *CallVars) error {
	if r.Scripts == nil {
		return errors.New("no script engine")
	}
	s := n.Script.script
	if s == nil {
		return fmt.Errorf("script %s is not loaded", n.Script.Name.Name)
	}
	arg := map[string]any{"caller": call.Caller, "called": call.Called, "digits": call.Digits, "lang": call.Lang, "vars": maps.Clone(call.Vars)}
	res, err := r.Scripts.Call(ctx, s, n.Script.Function, arg)
	if err != nil {
		return fmt.Errorf("script %s.%s: %w", n.Script.Name.Name, n.Script.Function, err)
	}
	if vars, ok := res.(map[string]any); ok {
		maps.Copy(call.Vars, vars)
	}
	return nil
}

// ticket records a voice message (voicemail) or takes a callback request,
// and asks for the ticket.
func (r *Runner) ticket(ctx context.Context, n *Node, ch Channel, call *CallVars, out *Outcome) error {
	t, kind := n.Voicemail, "voicemail"
	if t == nil {
		t, kind = n.Callback, "callback"
	}
	if len(t.Prompt) > 0 {
		if err := ch.Play(ctx, call.Lang, t.Prompt); err != nil {
			return err
		}
	}
	req := &TicketRequest{Flow: t.Flow.Name, Action: t.Action, Fields: map[string]any{}}
	for _, f := range t.fields {
		v, err := f.prog.Run(r.env(call))
		if err != nil {
			return fmt.Errorf("%s field %s: %w", kind, f.name, err)
		}
		req.Fields[f.name] = v
	}
	if kind == "voicemail" {
		if len(t.Beep) > 0 {
			if err := ch.Play(ctx, call.Lang, t.Beep); err != nil {
				return err
			}
		}
		file, err := ch.Record(ctx, t.MaxLength)
		if err != nil && !errors.Is(err, ErrHangup) {
			return err
		}
		// A caller who hangs up after speaking has left a message.
		req.Recording = file
	}
	out.Kind, out.Ticket = kind, req
	return nil
}

// open reports whether t falls within the opening hours.
func (h *Hours) open(cal *calendar.Calendar, t time.Time) bool {
	if cal != nil {
		t = t.In(cal.Location())
		if h.Workdays && !cal.IsWorkday(t) {
			return false
		}
	}
	minute := t.Hour()*60 + t.Minute()
	for _, r := range h.ranges {
		if minute >= r[0] && minute < r[1] {
			return true
		}
	}
	return false
}

// MenuFor returns the menu answering calls to called: the one listing the
// number, else the one listing "*".
func MenuFor(set *registry.Set, called string) (*Menu, bool) {
	var any *Menu
	for _, d := range set.All(Kind) {
		m := d.Model.(*Menu)
		for _, n := range m.Numbers {
			if n == called {
				return m, true
			}
			if n == "*" && any == nil {
				any = m
			}
		}
	}
	return any, any != nil
}
