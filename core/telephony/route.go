package telephony

// Call routing: what happens to a call once SIP has delivered it. A call
// is answered, walked through the menu its number names, and handed on as
// the menu's outcome says: to a queue and the agent the ACD picks, to an
// extension or a number called out, or into a ticket (a voice message, a
// callback request). The server's lifecycle (sockets, the SIP stack,
// registrations, background sweeps) is server.go; media (prompts, keys,
// bridges, recordings) is channel.go, bridge.go and recording.go.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"

	"github.com/hotline12345/hotline/core/acd"
	"github.com/hotline12345/hotline/core/ivr"
	"github.com/hotline12345/hotline/core/registry"
)

// serveCall answers a call and walks it through its menu. diago hangs up
// when this returns, unless the caller already has.
func (s *Server) serveCall(ctx context.Context, d *diago.DialogServerSession) {
	callID := d.InviteRequest.CallID().Value()
	caller, called := d.FromUser(), d.ToUser()
	log := s.Log.With("call", callID, "caller", caller, "called", called)
	set := s.Config.Current()
	reject := func(code int, reason, trunk, why string) {
		callsTotal.WithLabelValues("rejected").Inc()
		s.records.rejected(ctx, callID, caller, called, trunk, why)
		if err := d.Respond(code, reason, nil); err != nil {
			log.Debug("rejecting a call", "err", err)
		}
	}
	trunk, raw, ok := s.inbound(set, d.InviteRequest)
	if !ok {
		log.Warn("a call from an address no trunk lists", "source", d.InviteRequest.Source())
		reject(sip.StatusForbidden, "Forbidden", "", "unknown trunk "+d.InviteRequest.Source())
		return
	}
	if trunk != nil {
		caller = raw
		if n, ok := trunk.Normalize(raw); ok {
			caller = n
		}
		log = log.With("trunk", trunk.Name, "caller", caller)
	}
	menu, ok := ivr.MenuFor(set, called)
	if !ok {
		log.Warn("no IVR menu answers this number")
		reject(sip.StatusNotFound, "Not Found", trunkName(trunk), "no menu")
		return
	}
	rec, err := s.records.offered(ctx, newCall{sipID: callID, direction: "inbound", caller: caller, callerRaw: raw, called: called, menu: menu.Name, trunk: trunk})
	if errors.Is(err, errTrunkFull) {
		log.Warn("refusing a call: its trunk is full", "max_calls", trunk.MaxCalls)
		reject(sip.StatusServiceUnavailable, "Service Unavailable", trunk.Name, "trunk limit")
		return
	}
	if err != nil {
		log.Error("recording an offered call", "err", err)
		_ = d.Respond(sip.StatusServiceUnavailable, "Service Unavailable", nil)
		return
	}
	if err := d.Trying(); err != nil {
		log.Debug("sending 100 Trying", "err", err)
	}
	m, err := d.Answer(diago.AnswerOptions{})
	if err != nil {
		log.Warn("answering a call", "err", err)
		s.records.ended(ctx, rec, "not answered: "+err.Error())
		// An offer diago cannot take (two audio lines, no common codec)
		// is refused, not left unanswered until the caller gives up.
		if err := d.Respond(sip.StatusNotAcceptableHere, "Not Acceptable Here", nil); err != nil {
			log.Debug("refusing an offer", "err", err)
		}
		return
	}
	// The media also closes when the dialog ends; closing it here ends
	// the key reader of a call whose BYE never came.
	defer m.Close()
	s.records.answered(ctx, rec)
	c, err := newSIPCall(d, m, callID, caller, s.prompts, menu.Languages[0].Code, s.recordings(), log)
	if err != nil {
		log.Error("opening the call's media", "err", err)
		s.records.ended(ctx, rec, "media: "+err.Error())
		return
	}
	s.calls.Store(callID, c)
	defer s.calls.Delete(callID)
	callsActive.Inc()
	defer callsActive.Dec()

	callCtx, cancel := context.WithCancel(d.Context())
	defer cancel()
	goSafe(log, "watching a call's hang-up", func() {
		select {
		case <-c.hungUp:
			cancel()
		case <-callCtx.Done():
		}
	})
	out, err := s.Runner.Run(callCtx, menu, c, callID, caller, called)
	if err != nil {
		log.Error("IVR menu failed", "err", err)
		s.records.menuDone(ctx, rec, out, c.responses, err)
		s.records.ended(ctx, rec, "menu failed")
		return
	}
	s.records.menuDone(ctx, rec, out, c.responses, nil)
	reason := s.handOn(ctx, callCtx, c, rec, menu, out, log)
	s.finishRecording(ctx, rec, c.recorder, log)
	s.records.ended(ctx, rec, reason)
}

// handOn does what the menu's outcome asks (queue, take a message or a
// callback request, hang up) and returns why the call ended. A queue
// that gives the call up sends it back into the menu at the node its
// overflow step names.
func (s *Server) handOn(ctx, callCtx context.Context, c *sipCall, rec *callRecord, menu *ivr.Menu, out ivr.Outcome, log *slog.Logger) string {
	reason := "caller hung up"
	switch {
	case out.Kind == "abandoned":
	case out.Kind == "hangup":
		reason = "menu hung up"
	case out.Kind == "queue" && s.ACD != nil && s.registrar != nil:
		var of *acd.OverflowError
		if reason, of = s.queue(ctx, callCtx, c, rec, out, log); of != nil {
			next, err := s.Runner.Resume(callCtx, menu, c, out, of.Exit, c.id, c.caller, c.d.ToUser())
			s.records.menuDone(ctx, rec, next, nil, err)
			if err != nil {
				log.Error("IVR menu failed after the queue gave the call up", "err", err)
				return "menu failed"
			}
			return s.handOn(ctx, callCtx, c, rec, menu, next, log)
		}
	case (out.Kind == "voicemail" || out.Kind == "callback") && s.Tickets != nil && out.Ticket != nil:
		// The message is left (or the request taken) and the menu's
		// prompt has said goodbye: the call ends here.
		reason = out.Kind + " taken"
		if err := s.intake(ctx, rec, out); err != nil {
			log.Error("creating the ticket of a "+out.Kind, "err", err)
			reason = out.Kind + " not saved"
		}
	case out.Kind == "transfer" && out.Transfer != nil:
		reason = s.transfer(ctx, callCtx, c, rec, out.Transfer, log)
	default:
		// A queue without an ACD on this node, a voice message without a
		// ticket engine (a test bench): nothing serves the outcome.
		log.Warn("no service for the menu's outcome on this node", "outcome", out.Kind)
		reason = "not served: " + out.Kind
	}
	// An agent transferred the call: it goes on from where it was sent.
	if h := c.handoff.Swap(nil); h != nil && callCtx.Err() == nil {
		s.records.event(ctx, rec, "transferred", map[string]any{"by": h.by, "queue": h.queue, "extension": h.to.Extension, "number": h.to.Number})
		next := out
		next.Skills = nil
		if h.queue != "" {
			next.Kind, next.Queue = "queue", h.queue
			return s.handOn(ctx, callCtx, c, rec, menu, next, log)
		}
		next.Kind, next.Transfer = "transfer", &h.to
		why := s.handOn(ctx, callCtx, c, rec, menu, next, log)
		if strings.HasPrefix(why, "transfer failed") && callCtx.Err() == nil && out.Kind == "queue" {
			// The extension or number did not take the call: the caller
			// is not dropped but goes back to the queue he came from.
			s.records.event(ctx, rec, "requeued", map[string]any{"queue": out.Queue, "after": why})
			return s.handOn(ctx, callCtx, c, rec, menu, out, log)
		}
		return why
	}
	return reason
}

// queue hands the call to the ACD as a task, rings the agents it offers
// the task to, and bridges the caller with the one who answers until
// either hangs up. It returns why the call ended, or the overflow step
// that gave the call back to its menu.
func (s *Server) queue(ctx, callCtx context.Context, c *sipCall, rec *callRecord, out ivr.Outcome, log *slog.Logger) (string, *acd.OverflowError) {
	var mu sync.Mutex
	var won *agentLeg
	var wonBy int64 // the agent whose phone won is
	task := &acd.Task{ID: c.id, Queue: out.Queue, Channel: "voice", Skills: out.Skills, Priority: out.Priority,
		Lost: func(ctx context.Context, a acd.Agent) {
			mu.Lock()
			defer mu.Unlock()
			if won != nil && wonBy == a.UserID {
				won.end(ctx)
				won, wonBy = nil, 0
				s.records.event(ctx, rec, "not_answered", map[string]any{"agent": a.Username, "error": "the agent was moved while his phone rang"})
			}
		},
		Offer: func(ctx context.Context, a acd.Agent) error {
			s.records.event(context.WithoutCancel(ctx), rec, "ringing", map[string]any{"agent": a.Username, "extension": a.Extension})
			leg, err := s.ring(ctx, c.caller, c.id, a)
			if err != nil {
				s.records.event(context.WithoutCancel(ctx), rec, "not_answered", map[string]any{"agent": a.Username, "error": err.Error()})
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			if won != nil { // ring-all: another agent was faster
				leg.end(context.WithoutCancel(ctx))
				return acd.ErrNoAnswer
			}
			won, wonBy = leg, a.UserID
			return nil
		}}
	s.records.event(ctx, rec, "queued", map[string]any{"queue": out.Queue, "skills": out.Skills, "priority": out.Priority})
	stopHold := c.hold(callCtx, out.Lang, s.Config.Current(), out.Queue, func() (int, time.Duration, bool) { return s.ACD.Position(task.ID) },
		func(prompts []string) {
			s.records.event(ctx, rec, "announced", map[string]any{"prompts": prompts})
		})
	agent, err := s.ACD.Serve(callCtx, task)
	stopHold() // before the agent's audio takes the caller's line
	if err != nil {
		// An agent who answered as the caller left is hung up too.
		mu.Lock()
		if won != nil {
			won.end(ctx)
		}
		mu.Unlock()
		var of *acd.OverflowError
		switch {
		case callCtx.Err() != nil:
			s.records.event(ctx, rec, "abandoned", map[string]any{"queue": out.Queue})
			return "caller hung up in queue", nil
		case errors.As(err, &of):
			s.records.event(ctx, rec, "overflow", map[string]any{"queue": out.Queue, "exit": of.Exit, "waited_ms": of.Waited.Milliseconds()})
			return "", of
		}
		log.Error("queueing a call", "err", err)
		return "queue failed", nil
	}
	mu.Lock()
	leg := won
	mu.Unlock()
	if leg == nil {
		log.Error("an agent accepted a call without a phone leg", "agent", agent.Username)
		s.ACD.Done(ctx, agent, task)
		return "no agent leg", nil
	}
	s.records.connected(ctx, rec, agent)
	defer s.ACD.Done(ctx, agent, task)
	q, ok := registry.Model[*acd.Queue](s.Config.Current(), acd.KindQueue, out.Queue)
	return s.talk(ctx, callCtx, c, leg, agent, rec, ok && q.Records(), log), nil
}

// talk bridges the caller with an answered leg (an agent, an extension,
// a number called out) until either hangs up, recording the conversation
// when record is set, and returns why the call ended.
func (s *Server) talk(ctx, callCtx context.Context, c *sipCall, leg *agentLeg, agent acd.Agent, rec *callRecord, record bool, log *slog.Logger) string {
	// One recording per call, from the first conversation to the hang-up:
	// a transferred call goes on in the same file (the wait between is
	// silence).
	if record && c.recorder == nil {
		c.recorder = s.startRecording(rec, log)
	}
	b, err := s.bridge(callCtx, c, leg, agent, rec, c.recorder)
	if err != nil {
		log.Error("bridging a call", "err", err)
		return "bridge failed"
	}
	if by := b.releasedBy.Load(); by != nil {
		return "released by supervisor " + *by
	}
	select {
	case <-c.hungUp:
		return "caller hung up"
	default:
	}
	// The caller's BYE ends the dialog's context before (or instead of)
	// the end of its audio: either means the caller left, unless the
	// whole server is stopping.
	if callCtx.Err() != nil && ctx.Err() == nil {
		return "caller hung up"
	}
	if leg.silent.Load() {
		return "agent phone silent"
	}
	return "agent hung up"
}

// transfer puts the caller through to an extension (the agent's phone
// registered on it) or a number called out through the trunks, and
// bridges them until either hangs up; it returns why the call ended.
func (s *Server) transfer(ctx, callCtx context.Context, c *sipCall, rec *callRecord, tr *ivr.Transfer, log *slog.Logger) string {
	var leg *agentLeg
	var agent acd.Agent
	failed := func(why string) string {
		s.records.event(ctx, rec, "transfer_failed", map[string]any{"extension": tr.Extension, "number": tr.Number, "error": why})
		if callCtx.Err() != nil {
			return "caller hung up in transfer"
		}
		return "transfer failed: " + why
	}
	switch {
	case tr.Extension != "":
		if s.Agents == nil || s.registrar == nil {
			return failed("no agents on this node")
		}
		a, err := s.Agents.ByExtension(ctx, tr.Extension)
		if err != nil {
			return failed(err.Error())
		}
		// The agent is taken out of distribution while rung and talking,
		// as for a queued call.
		if _, err := s.Agents.Direct(ctx, a.UserID, c.id); err != nil {
			return failed(err.Error())
		}
		ringCtx, cancel := context.WithTimeout(callCtx, ringOut)
		leg, err = s.ring(ringCtx, c.caller, c.id, a)
		cancel()
		answered := err == nil
		if answered {
			if _, err = s.Agents.DirectAnswered(ctx, a.UserID, c.id); err != nil {
				answered = false // moved while rung: still reserved, or elsewhere
			}
		}
		defer func() {
			if err := s.Agents.DirectEnded(ctx, a.UserID, c.id, answered, a); err != nil {
				log.Error("ending a transferred call's agent task", "err", err)
			}
		}()
		if err != nil {
			if leg != nil {
				leg.end(ctx)
			}
			return failed(err.Error())
		}
		agent = a
	default:
		set := s.Config.Current()
		trunks := routes(set, tr.Number)
		if tr.Trunk != "" {
			t, ok := registry.Model[*Trunk](set, KindTrunk, tr.Trunk)
			if !ok {
				return failed("no trunk " + tr.Trunk)
			}
			trunks = []*Trunk{t}
		}
		var why string
		if leg, why = s.dialOut(callCtx, rec, trunks, tr.Number, log); leg == nil {
			return failed(why)
		}
	}
	s.records.event(ctx, rec, "transferred", map[string]any{"extension": tr.Extension, "number": tr.Number, "agent": agent.Username})
	if agent.UserID != 0 {
		s.records.connected(ctx, rec, agent)
	}
	return s.talk(ctx, callCtx, c, leg, agent, rec, true, log)
}

// intake creates the ticket a voice message or callback request asks for,
// as the intake account. The call is bound to the ticket the one way every
// ticket is bound to its call: by the creating action's
// telephony.bind_call, in the action's own transaction (lint makes a
// menu's voicemail and callback actions call it). The call's record then
// notes the ticket.
func (s *Server) intake(ctx context.Context, rec *callRecord, out ivr.Outcome) error {
	p, err := s.Identity.ServiceAccount(ctx, s.Cfg.IntakeUser)
	if err != nil {
		return err
	}
	t, err := s.Tickets.Create(ctx, p, out.Ticket.Flow, out.Ticket.Action, out.Ticket.Fields)
	if err != nil {
		return fmt.Errorf("creating a ticket with %s/%s: %w", out.Ticket.Flow, out.Ticket.Action, err)
	}
	s.records.event(ctx, rec, "ticket", map[string]any{"ticket": t.ID, "number": t.Number, "kind": out.Kind})
	return nil
}
