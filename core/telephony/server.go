// Package telephony is the kernel's SIP side: it listens for calls with
// sipgo, handles their media (prompts, keys, recordings) with diago, walks
// each call through the IVR menu its number names, and keeps the call's
// record. Menus, queues and routing are configuration (core/ivr,
// core/acd); nothing here knows a 12345 number or prompt.
package telephony

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/core/acd"
	"github.com/hotline12345/hotline/core/filestore"
	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/ivr"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/telephony/sipguard"
)

// Config is where the kernel listens and finds its prompts.
type Config struct {
	// Addr is host:port for SIP over UDP and TCP (HOTLINE_SIP_ADDR).
	Addr string
	// RTPPorts is the range of UDP ports for media, even ports for RTP
	// and the next odd one for RTCP.
	RTPFirst, RTPLast int
	// Prompts is the folder of <language>/<name>.wav prompts.
	Prompts string
	// Spool is the local folder recordings are written to while their
	// call lasts; finished, they move to the server's Files.
	Spool string
	// Node names this server in call records.
	Node string
	// UDPBuffer is the SIP socket's receive buffer in bytes: the kernel's
	// default drops SIP packets at a few hundred call setups a second.
	UDPBuffer int
	// MediaTimeout ends a bridged call whose agent phone sent no audio
	// for this long: the phone is gone (default 30s).
	MediaTimeout time.Duration
	// Reconcile is how often agents held by calls that ended are freed
	// (default 10s).
	Reconcile time.Duration
	// IntakeUser is the account voice messages' and callback requests'
	// tickets are created as (HOTLINE_IVR_USER).
	IntakeUser string
	// RecordingRetention is how long recordings are kept after their
	// call, or after the last ticket bound to it closed (0: for ever).
	RecordingRetention time.Duration
	// MaxMessage and MaxHeaders bound one SIP message from the network:
	// bytes in all, and header fields (HOTLINE_SIP_MAX_MESSAGE,
	// HOTLINE_SIP_MAX_HEADERS; defaults sipguard.DefaultMaxMessage and
	// sipguard.DefaultMaxHeaders).
	MaxMessage, MaxHeaders int
	// Rate is how many SIP messages a second one source address may send,
	// with bursts of twice as many (HOTLINE_SIP_RATE; default
	// DefaultSIPRate; negative: no limit).
	Rate float64
}

// DefaultSIPRate is the messages a second one address may send: a trunk
// carrying 100 new calls a second sends about 700, and the benchmark's
// callers and agent phones, all on one loopback address at 80 calls a
// second, about 750.
const DefaultSIPRate = 2000

// Server answers calls.
type Server struct {
	Cfg    Config
	Config *registry.Runtime
	Pool   *pgxpool.Pool
	Runner *ivr.Runner
	Log    *slog.Logger
	// Agents and ACD, when set, register agents' phones and serve the
	// calls menus hand to queues.
	Agents *acd.Service
	ACD    *acd.Distributor
	// Tickets and Identity, when set, turn voice messages and callback
	// requests into tickets, created as the account Cfg.IntakeUser.
	Tickets  *flow.Engine
	Identity *identity.Service
	// Files keeps finished recordings, under recordings/YYYY/MM/DD/.
	Files filestore.Store

	prompts       *promptCache
	records       *records
	registrar     *registrar
	dg            *diago.Diago
	udp           net.PacketConn
	tcp           net.Listener
	registrations trunkRegistrations
	registering   sync.WaitGroup // keepRegistered loops
	// ready is set once Start has made the SIP side; the API reads it
	// before touching the fields Start sets.
	ready   atomic.Bool
	client  *sipgo.Client
	calls   sync.Map // SIP Call-ID → *sipCall, for keys sent by SIP INFO
	bridges sync.Map // SIP Call-ID → *bridged, for supervisors
	wg      sync.WaitGroup
	ctx     context.Context // ends with Stop: calls out run under it
	cancel  context.CancelFunc
	// handlers are request handlers added before Start, for methods no
	// other handler takes (tests).
	handlers map[sip.RequestMethod]sipgo.RequestHandler
}

// Start binds the SIP sockets and serves calls until ctx ends or Stop.
func (s *Server) Start(ctx context.Context) error {
	if s.Log == nil {
		s.Log = slog.Default()
	}
	if s.Cfg.UDPBuffer == 0 {
		s.Cfg.UDPBuffer = 8 << 20
	}
	if s.Cfg.MediaTimeout == 0 {
		s.Cfg.MediaTimeout = 30 * time.Second
	}
	if s.Cfg.Reconcile == 0 {
		s.Cfg.Reconcile = 10 * time.Second
	}
	if s.Cfg.Rate == 0 {
		s.Cfg.Rate = DefaultSIPRate
	}
	if s.Files == nil || s.Cfg.Spool == "" {
		return errors.New("telephony: recordings need a file store (Files) and a spool folder (Cfg.Spool)")
	}
	host, portText, err := net.SplitHostPort(s.Cfg.Addr)
	if err != nil {
		return fmt.Errorf("SIP address %q: %w", s.Cfg.Addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return fmt.Errorf("SIP address %q: port: %w", s.Cfg.Addr, err)
	}
	if s.Cfg.RTPFirst > 0 {
		if s.Cfg.RTPLast <= s.Cfg.RTPFirst+2 || s.Cfg.RTPFirst%2 != 0 {
			return fmt.Errorf("RTP ports %d-%d: give an even first port and a range of more than one call", s.Cfg.RTPFirst, s.Cfg.RTPLast)
		}
		media.RTPPortStart, media.RTPPortEnd = s.Cfg.RTPFirst, s.Cfg.RTPLast
	}
	s.prompts = &promptCache{dir: s.Cfg.Prompts, files: map[string][]byte{}}
	s.records = &records{pool: s.Pool, node: s.Cfg.Node, log: s.Log}
	if err := s.records.reconcile(ctx); err != nil {
		return err
	}

	// UDP and TCP share one port. With port 0 the kernel picks a free UDP
	// port, which another process may hold for TCP: then another pick.
	var udp net.PacketConn
	var tcp net.Listener
	for try := 0; ; try++ {
		udp, err = net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return fmt.Errorf("listening for SIP on udp %s: %w", s.Cfg.Addr, err)
		}
		if c, ok := udp.(*net.UDPConn); ok {
			if err := c.SetReadBuffer(s.Cfg.UDPBuffer); err != nil {
				s.Log.Warn("setting the SIP socket's receive buffer", "err", err)
			}
		}
		tcpPort := port
		if tcpPort == 0 {
			tcpPort = udp.LocalAddr().(*net.UDPAddr).Port
		}
		tcp, err = net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(tcpPort)))
		if err == nil {
			port = tcpPort
			break
		}
		udp.Close()
		if port != 0 || try == 10 {
			return fmt.Errorf("listening for SIP on tcp %s: %w", s.Cfg.Addr, err)
		}
	}
	s.udp, s.tcp = udp, tcp
	s.Cfg.Addr = net.JoinHostPort(host, strconv.Itoa(port))
	// Every message is framed, bounded and checked before sipgo parses
	// it: no transaction or handler sees a request lacking what RFC 3261
	// requires, and no declared length is allocated beyond the bound.
	guard := &sipguard.Guard{Limits: sipguard.Limits{MaxMessage: s.Cfg.MaxMessage, MaxHeaders: s.Cfg.MaxHeaders},
		Rate: sipguard.NewRate(s.Cfg.Rate, 2*s.Cfg.Rate), Log: s.Log,
		Counted: func(transport, result string) { sipRefused.WithLabelValues(transport, result).Inc() }}
	guardedUDP, guardedTCP := guard.PacketConn(udp), guard.Listener(tcp)

	ua, err := sipgo.NewUA(sipgo.WithUserAgent("hotline"), sipgo.WithUserAgentHostname(host))
	if err != nil {
		return fmt.Errorf("creating the SIP user agent: %w", err)
	}
	// Requests we send (INVITEs to phones and trunks, registrations) leave
	// from the listening socket: a phone behind NAT only opened a way back
	// to the address it registered with, and trunks accept their peer's
	// address only. diago would make its client before the socket exists
	// and send from an ephemeral port.
	client, err := sipgo.NewClient(ua, sipgo.WithClientNAT(), sipgo.WithClientConnectionAddr(s.Cfg.Addr))
	if err != nil {
		return fmt.Errorf("creating the SIP client: %w", err)
	}
	s.client = client
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		return fmt.Errorf("creating the SIP server: %w", err)
	}
	s.dg = diago.NewDiago(ua, diago.WithServer(srv), diago.WithClient(client), diago.WithLogger(s.Log),
		diago.WithServerRequestMiddleware(func(next sipgo.RequestHandler) sipgo.RequestHandler { return safeHandler(s.Log, next) }),
		diago.WithTransport(diago.Transport{Transport: "udp", BindHost: host, BindPort: port}),
		diago.WithTransport(diago.Transport{Transport: "tcp", BindHost: host, BindPort: port}))
	// diago answers INFO 406; keys sent as SIP INFO are ours to read.
	srv.OnInfo(safeHandler(s.Log, s.onInfo))
	for method, h := range s.handlers {
		srv.OnRequest(method, safeHandler(s.Log, h))
	}
	if s.Agents != nil {
		if s.registrar, err = newRegistrar(s.Pool, s.Agents, s.Cfg.Node, s.Log); err != nil {
			return fmt.Errorf("starting the registrar: %w", err)
		}
		srv.OnRegister(safeHandler(s.Log, s.registrar.onRegister))
	}
	s.dg.HandleFunc(func(d *diago.DialogServerSession) { s.serveCall(ctx, d) })

	ctx, s.cancel = context.WithCancel(ctx)
	s.ctx = ctx
	for _, serve := range []func() error{func() error { return srv.ServeUDP(guardedUDP) }, func() error { return srv.ServeTCP(guardedTCP) }} {
		s.wg.Add(1)
		goSafe(s.Log, "a SIP listener", func() {
			defer s.wg.Done()
			if err := serve(); err != nil && ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				s.Log.Error("SIP listener stopped", "err", err)
			}
		})
	}
	goSafe(s.Log, "closing the SIP sockets", func() {
		<-ctx.Done()
		s.registering.Wait() // trunks unregister through the socket
		udp.Close()
		tcp.Close()
	})
	if s.Agents != nil {
		s.wg.Add(1)
		goSafe(s.Log, "reconciling agents", func() {
			defer s.wg.Done()
			s.reconcile(ctx)
		})
	}
	s.registerTrunks(ctx)
	if s.Cfg.RecordingRetention > 0 {
		s.wg.Add(1)
		goSafe(s.Log, "expiring recordings", func() {
			defer s.wg.Done()
			s.expireRecordings(ctx)
		})
	}
	s.ready.Store(true)
	s.Log.Info("listening for SIP", "addr", s.Cfg.Addr, "transports", "udp,tcp", "rtp", fmt.Sprintf("%d-%d", s.Cfg.RTPFirst, s.Cfg.RTPLast))
	return nil
}

// Addr is where the server listens (the port chosen when 0 was asked).
func (s *Server) Addr() string { return s.Cfg.Addr }

// Stop closes the listeners and waits for them; calls in progress end
// with their callers.
func (s *Server) Stop() {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
}

// onInfo reads a key sent as SIP INFO (application/dtmf-relay or
// application/dtmf) within a call.
func (s *Server) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	respond := func(code int, reason string) {
		if err := tx.Respond(sip.NewResponseFromRequest(req, code, reason, nil)); err != nil {
			s.Log.Debug("answering INFO", "err", err)
		}
	}
	id := req.CallID()
	if id == nil {
		respond(sip.StatusBadRequest, "Bad Request")
		return
	}
	c, ok := s.calls.Load(id.Value())
	if !ok {
		respond(sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	ct := req.ContentType()
	if ct == nil {
		respond(sip.StatusUnsupportedMediaType, "Unsupported Media Type")
		return
	}
	key, ok := infoKey(ct.Value(), req.Body())
	if !ok {
		respond(sip.StatusUnsupportedMediaType, "Unsupported Media Type")
		return
	}
	respond(sip.StatusOK, "OK")
	c.(*sipCall).key(key)
}

// intake creates the ticket a voice message or callback request asks for,
// as the intake account, and binds it to the call.
func (s *Server) intake(ctx context.Context, rec *callRecord, out ivr.Outcome) error {
	p, err := s.Identity.ServiceAccount(ctx, s.Cfg.IntakeUser)
	if err != nil {
		return err
	}
	t, err := s.Tickets.Create(ctx, p, out.Ticket.Flow, out.Ticket.Action, out.Ticket.Fields)
	if err != nil {
		return fmt.Errorf("creating a ticket with %s/%s: %w", out.Ticket.Flow, out.Ticket.Action, err)
	}
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO call_tickets (call_id, ticket_id, bound_by) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, rec.id, t.ID, p.UserID); err != nil {
			return err
		}
		return s.records.insertEvent(ctx, tx, rec, "ticket", map[string]any{"ticket": t.ID, "number": t.Number, "kind": out.Kind})
	})
	if err != nil {
		return fmt.Errorf("binding ticket %d to its call: %w", t.ID, err)
	}
	return nil
}

// reconcile frees, every Cfg.Reconcile, agents held by calls that have
// ended on any node (a node stopped mid-call, a lost BYE), and takes idle
// agents whose phone is no longer registered out of distribution.
func (s *Server) reconcile(ctx context.Context) {
	t := time.NewTicker(s.Cfg.Reconcile)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rows, err := s.Pool.Query(ctx, `SELECT sip_call_id FROM calls WHERE ended_at IS NULL`)
		if err != nil {
			if ctx.Err() == nil {
				s.Log.Error("reading live calls", "err", err)
			}
			continue
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			continue
		}
		live := make(map[string]bool, len(ids))
		for _, id := range ids {
			live[id] = true
		}
		if _, err := s.Agents.Reconcile(ctx, func(task string) bool { return live[task] }); err != nil && ctx.Err() == nil {
			s.Log.Error("reconciling agent states", "err", err)
		}
		rows, err = s.Pool.Query(ctx, `SELECT DISTINCT extension FROM sip_bindings WHERE expires_at > now()`)
		if err != nil {
			continue
		}
		exts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			continue
		}
		registered := make(map[string]bool, len(exts))
		for _, e := range exts {
			registered[e] = true
		}
		if _, err := s.Agents.PhoneLost(ctx, func(ext string) bool { return registered[ext] }); err != nil && ctx.Err() == nil {
			s.Log.Error("reconciling agents against phone registrations", "err", err)
		}
	}
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

// startRecording opens the stereo recording of call rec, or returns nil
// (and logs why) when it cannot: the conversation matters more than its
// recording.
func (s *Server) startRecording(rec *callRecord, log *slog.Logger) *stereoRecorder {
	r, err := newStereoRecorder(s.recordings(), "call-"+strconv.FormatInt(rec.id, 10))
	if err != nil {
		log.Error("starting the call's recording", "err", err)
		return nil
	}
	return r
}

// finishRecording closes a recording (nil: none) and keeps where it is.
func (s *Server) finishRecording(ctx context.Context, rec *callRecord, r *stereoRecorder, log *slog.Logger) {
	if r == nil {
		return
	}
	path, size, err := r.close()
	if err != nil {
		log.Error("finishing the call's recording", "err", err)
		return
	}
	key, err := s.recordings().keep(ctx, path, r.started)
	if err != nil {
		log.Error("finishing the call's recording", "err", err)
		return
	}
	s.records.recorded(ctx, rec, key, size)
}

func (s *Server) recordings() recordings { return recordings{files: s.Files, spool: s.Cfg.Spool} }

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
