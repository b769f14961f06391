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
	loopsMu       sync.Mutex     // registerTrunks, one at a time
	loops         map[string]*trunkLoop
	loopsClosed   bool
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
	if err := s.salvageRecordings(ctx); err != nil {
		s.Log.Error("salvaging the recordings a stop left in the spool", "err", err)
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
		if s.registrar, err = newRegistrar(s.Pool, s.Cfg.Node, s.Log); err != nil {
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
		s.closeTrunks() // trunks unregister through the socket
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
	s.loops, s.loopsClosed = map[string]*trunkLoop{}, false
	s.registerTrunks(ctx, s.Config.Current())
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
