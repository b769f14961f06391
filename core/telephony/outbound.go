package telephony

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/jackc/pgx/v5"

	"github.com/hotline12345/hotline/core/acd"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
)

// ringOut is how long an agent's phone, then the number called, may ring.
const ringOut = 45 * time.Second

// Dial places a call out for agent p (click-to-call, a callback 回访):
// p's own phone rings first; once p answers, number is dialled through
// the trunks that route it, the next trunk when one fails (5xx, no answer
// from the carrier, full), and the two are bridged and recorded until
// either hangs up. ticket, when not 0, is bound to the call. It returns
// the call's record id at once; the call's events tell how it went.
func (s *Server) Dial(ctx context.Context, p *identity.Principal, number string, ticket int64) (int64, error) {
	number = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, number)
	if !allDigits(strings.TrimPrefix(number, "+")) || len(number) < 3 || len(number) > 20 {
		return 0, gql.FieldError("number", "号码 %q 无效：只能是数字（可带 +）", number)
	}
	set := s.Config.Current()
	trunks := routes(set, number)
	if len(trunks) == 0 {
		return 0, gql.FieldError("number", "没有可拨打 %s 的中继（见 flows/ 中 kind: trunk 的 outbound.numbers）", number)
	}
	if ticket != 0 && s.Tickets != nil {
		if _, err := s.Tickets.Store.Get(ctx, p, ticket); err != nil {
			return 0, err
		}
	}
	before, err := s.Agents.Agent(ctx, p.UserID)
	if err != nil {
		return 0, err
	}
	if _, ok, err := s.registrar.contact(ctx, before.Extension); err != nil {
		return 0, err
	} else if !ok {
		return 0, gql.Errorf(gql.Conflict, "您的分机 %s 未注册，无法外呼", before.Extension)
	}
	id := "out-" + randomID()
	agent, err := s.Agents.Direct(ctx, p.UserID, id)
	if err != nil {
		return 0, err
	}
	callerID := trunks[0].CallerID
	if callerID == "" {
		callerID = agent.Extension
	}
	rec, err := s.records.offered(ctx, newCall{sipID: id, direction: "outbound", caller: callerID, called: number})
	if err == nil && ticket != 0 {
		if _, err = s.Pool.Exec(ctx, `INSERT INTO call_tickets (call_id, ticket_id, bound_by) VALUES ($1, $2, $3)`, rec.id, ticket, p.UserID); err != nil {
			s.records.ended(ctx, rec, "ticket not bound")
			err = fmt.Errorf("binding the call to ticket %d: %w", ticket, err)
		}
	}
	if err != nil {
		_ = s.Agents.DirectEnded(ctx, p.UserID, id, false, before)
		return 0, err
	}
	log := s.Log.With("call", id, "called", number, "agent", agent.Username)
	s.wg.Add(1)
	goSafe(log, "a call out", func() {
		defer s.wg.Done()
		reason := s.outbound(s.ctx, rec, id, number, agent, before, trunks, log)
		s.records.ended(context.WithoutCancel(s.ctx), rec, reason)
	})
	return rec.id, nil
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// outbound runs a call Dial placed and returns why it ended.
func (s *Server) outbound(ctx context.Context, rec *callRecord, id, number string, agent, before acd.Agent, trunks []*Trunk, log *slog.Logger) string {
	ringCtx, cancel := context.WithTimeout(ctx, ringOut)
	s.records.event(ctx, rec, "ringing", map[string]any{"agent": agent.Username, "extension": agent.Extension})
	leg, err := s.ring(ringCtx, number, id, agent)
	cancel()
	if err != nil {
		s.records.event(ctx, rec, "not_answered", map[string]any{"agent": agent.Username, "error": err.Error()})
		if err := s.Agents.DirectEnded(ctx, agent.UserID, id, false, before); err != nil {
			log.Error("ending an outbound call the agent did not answer", "err", err)
		}
		return "agent did not answer"
	}
	defer leg.end(ctx)
	answered := true
	if _, err := s.Agents.DirectAnswered(ctx, agent.UserID, id); err != nil {
		// Forced elsewhere while ringing: the call is not the agent's now.
		log.Warn("the agent was moved while the phone rang", "err", err)
		answered = false
	}
	defer func() {
		if err := s.Agents.DirectEnded(ctx, agent.UserID, id, answered, before); err != nil {
			log.Error("ending an outbound call", "err", err)
		}
	}()
	if !answered {
		return "agent moved"
	}
	s.records.connected(ctx, rec, agent)

	// The agent hanging up while the number rings gives the call up.
	dialCtx, stopDial := context.WithCancel(ctx)
	goSafe(log, "watching the agent while a number rings", func() {
		select {
		case <-leg.d.Context().Done():
			stopDial()
		case <-dialCtx.Done():
		}
	})
	callee, why := s.dialOut(dialCtx, rec, trunks, number, log)
	stopDial()
	if callee == nil {
		return why
	}
	defer callee.end(ctx)
	s.records.answered(ctx, rec)

	recorder := s.startRecording(rec, log)
	ended := relay(ctx, callee, leg, recorder, s.Cfg.MediaTimeout)
	s.finishRecording(ctx, rec, recorder, log)
	return ended
}

// dialOut calls number through trunks in turn until one reaches it; it
// returns the answered leg, or nil and why nobody answered. Ending ctx
// gives up.
func (s *Server) dialOut(ctx context.Context, rec *callRecord, trunks []*Trunk, number string, log *slog.Logger) (*agentLeg, string) {
	for _, t := range trunks {
		leg, why := s.dialTrunk(ctx, rec, t, number, log)
		if leg != nil || why != "" {
			return leg, why
		}
	}
	return nil, "all trunks failed"
}

// dialTrunk calls number through t. It returns the answered leg; or nil
// and "" when the next trunk should be tried (5xx, timeout, t full); or
// nil and why the call ends when the called party refused (busy, no such
// number), which another trunk would not change, or ctx ended.
func (s *Server) dialTrunk(dialCtx context.Context, rec *callRecord, t *Trunk, number string, log *slog.Logger) (*agentLeg, string) {
	ctx := context.WithoutCancel(dialCtx) // records outlive a give-up
	if ok, err := s.records.useTrunk(ctx, rec, t); err != nil || !ok {
		s.records.event(ctx, rec, "trunk_failed", map[string]any{"trunk": t.Name, "error": "full"})
		return nil, ""
	}
	var uri sip.Uri
	if err := sip.ParseUri(t.uri(number), &uri); err != nil {
		s.records.event(ctx, rec, "trunk_failed", map[string]any{"trunk": t.Name, "error": err.Error()})
		return nil, ""
	}
	callerID := t.CallerID
	if callerID == "" {
		callerID = "anonymous"
	}
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: callerID, Host: t.host}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	headers := []sip.Header{from}
	if t.IMS {
		headers = append(headers, sip.NewHeader("P-Asserted-Identity", "<tel:"+callerID+">"))
	}
	opts := diago.InviteOptions{Headers: headers, Transport: t.Transport}
	if cr := t.auth(); cr != nil {
		opts.Username, opts.Password = cr.Username, cr.Password()
	}
	s.records.event(ctx, rec, "dialing", map[string]any{"trunk": t.Name, "uri": uri.String()})
	ringCtx, cancel := context.WithTimeout(dialCtx, ringOut)
	defer cancel()
	d, m, err := s.dg.Invite(ringCtx, uri, opts)
	if err == nil {
		return &agentLeg{d: d, m: m, codec: legCodec(m)}, ""
	}
	var resp *sipgo.ErrDialogResponse
	code := 0
	if errors.As(err, &resp) {
		code = resp.Res.StatusCode
	}
	s.records.event(ctx, rec, "trunk_failed", map[string]any{"trunk": t.Name, "status": code, "error": err.Error()})
	switch {
	case dialCtx.Err() != nil:
		return nil, "given up while dialling"
	case code >= 400 && code < 500 && code != 408:
		return nil, fmt.Sprintf("called party refused: %d", code)
	case code >= 600:
		return nil, fmt.Sprintf("called party declined: %d", code)
	}
	log.Warn("a trunk failed to place a call; trying the next", "trunk", t.Name, "status", code, "err", err)
	return nil, ""
}

// legCodec is the G.711 law a leg agreed on (µ-law when unsure).
func legCodec(m *diago.DialogMedia) uint8 {
	if ms := m.MediaSession(); ms != nil {
		for _, codec := range ms.CommonCodecs() {
			if codec.Name == "PCMU" || codec.Name == "PCMA" {
				return codec.PayloadType
			}
		}
	}
	return media.CodecAudioUlaw.PayloadType
}

// relay copies audio between the called citizen and the agent until
// either hangs up or a phone falls silent, recording the citizen left and
// the agent right; it returns why the call ended.
func relay(ctx context.Context, citizen, agent *agentLeg, rec *stereoRecorder, mediaTimeout time.Duration) string {
	type side struct {
		from, to *agentLeg
		rec      int
	}
	var heard [2]time.Time
	var mu sync.Mutex
	done := make(chan int, 2)
	for i, sd := range []side{{citizen, agent, sideCaller}, {agent, citizen, sideAgent}} {
		in, err := sd.from.m.AudioReader()
		if err != nil {
			return "media: " + err.Error()
		}
		out, err := sd.to.m.AudioWriter()
		if err != nil {
			return "media: " + err.Error()
		}
		mu.Lock()
		heard[i] = time.Now()
		mu.Unlock()
		goSafe(nil, "relaying a call out", func() {
			defer func() { done <- i }()
			f := &forwarder{w: out, from: sd.from.codec, to: sd.to.codec}
			buf := make([]byte, media.RTPBufSize)
			for {
				n, err := in.Read(buf)
				if err != nil {
					return
				}
				mu.Lock()
				heard[i] = time.Now()
				mu.Unlock()
				if sd.from.m.RTPPacketReader.PacketHeader.PayloadType != sd.from.codec {
					continue
				}
				if rec != nil {
					rec.write(sd.rec, sd.from.codec, buf[:n])
				}
				f.write(buf[:n])
			}
		})
	}
	watch := time.NewTicker(min(mediaTimeout/4, 5*time.Second))
	defer watch.Stop()
	reason := ""
	for reason == "" {
		select {
		case i := <-done:
			reason = [2]string{"called party hung up", "agent hung up"}[i]
		case <-ctx.Done():
			reason = "server stopped"
		case <-watch.C:
			mu.Lock()
			for i, at := range heard {
				if time.Since(at) > mediaTimeout {
					reason = [2]string{"called party silent", "agent phone silent"}[i]
				}
			}
			mu.Unlock()
		}
	}
	citizen.end(context.WithoutCancel(ctx))
	agent.end(context.WithoutCancel(ctx))
	return reason
}

// useTrunk sets the trunk of an outbound call unless the trunk is full.
func (r *records) useTrunk(ctx context.Context, rec *callRecord, t *Trunk) (bool, error) {
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		if err := trunkHasRoom(ctx, tx, t, rec.id); err != nil {
			return err
		}
		// A call that came in on a trunk keeps it (a transfer out).
		_, err := tx.Exec(ctx, `UPDATE calls SET trunk = $2 WHERE id = $1 AND (trunk IS NULL OR direction = 'outbound')`, rec.id, t.Name)
		return err
	})
	if errors.Is(err, errTrunkFull) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("taking a channel of trunk %s: %w", t.Name, err)
	}
	return true, nil
}
