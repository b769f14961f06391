package telephony

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/emiago/diago/media"
	"github.com/jackc/pgx/v5"

	"github.com/hotline12345/hotline/core/acd"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/ivr"
	"github.com/hotline12345/hotline/core/registry"
)

// PermMonitor lets a team leader listen to, coach in, barge into and end
// agents' calls. It is apart from forcing agent states: hearing citizens'
// conversations is a privacy matter the centre grants on its own.
var PermMonitor = identity.RegisterPermission("call.monitor", "监听、耳语、强插、强拆座席通话")

// supervision is a supervisor on a call (or being rung to join it).
type supervision struct {
	user string
	mode string
	conf *conference // set once the supervisor answered
}

// ringSupervisor is how long a supervisor's phone rings before joining is
// given up.
const ringSupervisor = 30 * time.Second

// bridgeOf finds a call of this node that is bridged to an agent, by its
// call record id.
func (s *Server) bridgeOf(ctx context.Context, callID int64) (*bridged, error) {
	var sipID, node string
	var ended bool
	err := s.Pool.QueryRow(ctx, `SELECT sip_call_id, node, ended_at IS NOT NULL FROM calls WHERE id = $1`, callID).Scan(&sipID, &node, &ended)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, gql.Errorf(gql.NotFound, "没有编号为 %d 的通话", callID)
	}
	if err != nil {
		return nil, fmt.Errorf("finding call %d: %w", callID, err)
	}
	if ended {
		return nil, gql.Errorf(gql.Conflict, "通话 %d 已结束", callID)
	}
	if node != s.Cfg.Node {
		return nil, gql.Errorf(gql.Conflict, "通话 %d 由节点 %s 处理，请连接该节点操作", callID, node)
	}
	b, ok := s.bridges.Load(sipID)
	if !ok {
		return nil, gql.Errorf(gql.Conflict, "通话 %d 尚未接通座席", callID)
	}
	return b.(*bridged), nil
}

// Monitor joins p to a call in mode (listen, whisper, barge) by ringing
// p's own phone, or changes the mode p is in. It returns once the phone
// rings; the call's events record when p joined.
func (s *Server) Monitor(ctx context.Context, p *identity.Principal, callID int64, mode string) error {
	if !p.Can(PermMonitor) {
		return gql.Errorf(gql.Forbidden, "没有监听、强插通话的权限")
	}
	if !slices.Contains(Modes, mode) {
		return gql.FieldError("mode", "mode 须为 %v 之一%s", Modes, registry.Suggest(mode, Modes))
	}
	if s.Agents == nil || s.registrar == nil {
		return gql.Errorf(gql.Conflict, "本节点没有座席话机服务，无法加入通话")
	}
	b, err := s.bridgeOf(ctx, callID)
	if err != nil {
		return err
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return gql.Errorf(gql.Conflict, "通话 %d 已结束", callID)
	}
	if sup := b.sup; sup != nil {
		defer b.mu.Unlock()
		if sup.user != p.Username {
			return gql.Errorf(gql.Conflict, "%s 正在监听此通话", sup.user)
		}
		if sup.conf == nil {
			return gql.Errorf(gql.Conflict, "正在呼叫您的话机，请先接听")
		}
		sup.mode = mode
		sup.conf.setMode(mode)
		s.records.event(ctx, b.rec, "monitor", map[string]any{"supervisor": p.Username, "mode": mode})
		return nil
	}
	sup := &supervision{user: p.Username, mode: mode}
	b.sup = sup
	b.sups.Add(1) // under b.mu, so never after the bridge's Wait began
	b.mu.Unlock()
	a, err := s.Agents.Agent(ctx, p.UserID)
	if err == nil {
		_, ok, cerr := s.registrar.contact(ctx, a.Extension)
		if cerr == nil && !ok {
			err = gql.Errorf(gql.Conflict, "您的分机 %s 未注册，无法加入通话", a.Extension)
		} else {
			err = cerr
		}
	}
	if err != nil {
		b.mu.Lock()
		b.sup = nil
		b.mu.Unlock()
		b.sups.Done()
		if _, ok := gql.AsError(err); ok {
			return err
		}
		return gql.Wrap(gql.Conflict, err, "您没有可用的分机话机，无法加入通话")
	}
	goSafe(s.Log, "a supervisor's leg", func() {
		defer b.sups.Done()
		s.supervise(b, sup, a)
	})
	return nil
}

// supervise rings the supervisor's phone and mixes the call with it until
// the supervisor or the call hangs up.
func (s *Server) supervise(b *bridged, sup *supervision, a acd.Agent) {
	ctx := context.WithoutCancel(b.ctx) // for records, which outlive the call
	defer func() {
		b.mu.Lock()
		if b.sup == sup {
			b.sup = nil
		}
		b.mu.Unlock()
	}()
	ringCtx, cancel := context.WithTimeout(b.ctx, ringSupervisor)
	leg, err := s.ring(ringCtx, b.c.caller, b.c.id, a)
	cancel()
	if err != nil {
		s.records.event(ctx, b.rec, "monitor_failed", map[string]any{"supervisor": sup.user, "error": err.Error()})
		return
	}
	defer leg.end(ctx)
	supOut, err := leg.m.AudioWriter()
	if err != nil {
		return
	}
	supIn, err := leg.m.AudioReader()
	if err != nil {
		return
	}
	if b.ctx.Err() != nil {
		return // the call ended while the supervisor's phone rang
	}
	b.mu.Lock()
	conf := newConference(sup.mode, [3]confOut{{b.callerOut, b.c.audioPT}, {b.agentOut, b.leg.codec}, {supOut, leg.codec}})
	sup.conf = conf
	mode := sup.mode
	b.mu.Unlock()
	s.records.event(ctx, b.rec, "monitor", map[string]any{"supervisor": sup.user, "mode": mode})
	b.c.conf.Store(conf)

	mixCtx, stopMix := context.WithCancel(b.ctx)
	mixed := make(chan struct{})
	goSafe(s.Log, "the supervisor's mixer", func() {
		defer close(mixed)
		conf.run(mixCtx)
	})
	heard := make(chan struct{})
	goSafe(s.Log, "the supervisor's voice", func() { // the supervisor's voice, until the phone hangs up
		defer close(heard)
		buf := make([]byte, media.RTPBufSize)
		for {
			n, err := supIn.Read(buf)
			if err != nil {
				return
			}
			if leg.m.RTPPacketReader.PacketHeader.PayloadType == leg.codec {
				conf.push(sideSupervisor, leg.codec, buf[:n])
			}
		}
	})
	select {
	case <-heard:
	case <-b.ctx.Done():
	}
	stopMix()
	<-mixed // no mix is written once the legs copy directly again
	b.c.conf.Store(nil)
	leg.end(ctx)
	<-heard
	s.records.event(ctx, b.rec, "monitor_ended", map[string]any{"supervisor": sup.user})
}

// Release ends a bridged call for both parties (强拆).
func (s *Server) Release(ctx context.Context, p *identity.Principal, callID int64) error {
	if !p.Can(PermMonitor) {
		return gql.Errorf(gql.Forbidden, "没有强拆通话的权限")
	}
	b, err := s.bridgeOf(ctx, callID)
	if err != nil {
		return err
	}
	b.releaseOnce.Do(func() {
		by := p.Username
		b.releasedBy.Store(&by)
		s.records.event(ctx, b.rec, "released", map[string]any{"supervisor": p.Username})
		close(b.release)
	})
	return nil
}

// handoff is where an agent sent the call he was on.
type handoff struct {
	by    string
	queue string
	to    ivr.Transfer
}

// Transfer sends a bridged call elsewhere (转接): to a queue (the caller
// waits there again, announcements and overflow included), an agent's
// extension or a number called out. The agent on the call, or a leader
// with call.monitor, may transfer it; the agent's leg is hung up and the
// agent wraps up.
func (s *Server) Transfer(ctx context.Context, p *identity.Principal, callID int64, queue, extension, number string) error {
	given := 0
	for _, v := range []string{queue, extension, number} {
		if v != "" {
			given++
		}
	}
	if given != 1 {
		return gql.FieldError("queue", "请给出转接目标之一：队列、分机或号码")
	}
	b, err := s.bridgeOf(ctx, callID)
	if err != nil {
		return err
	}
	if b.agent.UserID != p.UserID && !p.Can(PermMonitor) {
		return gql.Errorf(gql.Forbidden, "只能转接本人正在处理的通话")
	}
	set := s.Config.Current()
	switch {
	case queue != "":
		if _, ok := registry.Model[*acd.Queue](set, acd.KindQueue, queue); !ok {
			var names []string
			for _, d := range set.All(acd.KindQueue) {
				names = append(names, d.Name)
			}
			return gql.FieldError("queue", "没有队列 %q%s", queue, registry.Suggest(queue, names))
		}
	case extension != "":
		if s.Agents == nil {
			return gql.FieldError("extension", "本节点没有座席服务")
		}
		a, err := s.Agents.ByExtension(ctx, extension)
		if err != nil {
			return gql.FieldError("extension", "没有分机 %s", extension)
		}
		// Checked before the agent's leg is let go; a target that turns
		// busy meanwhile sends the caller back to the queue.
		if m, ok := acd.Model(set); ok {
			if st, ok := m.State(a.State); ok && (st.Category == acd.SignedOut || st.Category == acd.Reserved || st.Category == acd.Talking) {
				return gql.FieldError("extension", "分机 %s 的座席%s，不能转接", extension, st.Label)
			}
		}
		if _, ok, err := s.registrar.contact(ctx, extension); err != nil || !ok {
			return gql.FieldError("extension", "分机 %s 的话机未注册", extension)
		}
	default:
		if len(routes(set, number)) == 0 {
			return gql.FieldError("number", "没有可拨打 %s 的中继", number)
		}
	}
	if !b.c.handoff.CompareAndSwap(nil, &handoff{by: p.Username, queue: queue, to: ivr.Transfer{Extension: extension, Number: number}}) {
		return gql.Errorf(gql.Conflict, "通话 %d 已在转接中", callID)
	}
	b.releaseOnce.Do(func() { close(b.release) })
	return nil
}
