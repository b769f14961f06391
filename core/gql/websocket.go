package gql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/language/ast"
)

// WSSubprotocol is the WebSocket subprotocol NewWSHandler speaks: the
// GraphQL over WebSocket protocol of the graphql-ws npm library
// (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md).
const WSSubprotocol = "graphql-transport-ws"

// Close codes of the protocol.
const (
	closeBadRequest       websocket.StatusCode = 4400
	closeUnauthorized     websocket.StatusCode = 4401
	closeForbidden        websocket.StatusCode = 4403
	closeSubprotocol      websocket.StatusCode = 4406
	closeInitTimeout      websocket.StatusCode = 4408
	closeSubscriberExists websocket.StatusCode = 4409
	closeTooManyInits     websocket.StatusCode = 4429
	closeInternal         websocket.StatusCode = 4500
)

const (
	defaultWSInitTimeout      = 10 * time.Second
	defaultWSKeepAlive        = 25 * time.Second
	defaultWSWriteTimeout     = 10 * time.Second
	defaultWSMaxSubscriptions = 100
	defaultWSReauthenticate   = time.Minute
	// maxCloseReason is the most a close frame's reason may hold.
	maxCloseReason = 123
)

// WSOptions tunes NewWSHandler. A zero field takes its default.
type WSOptions struct {
	// InitTimeout is how long a client has after the upgrade to send
	// connection_init before the socket is closed with 4408. Default 10 s.
	InitTimeout time.Duration
	// KeepAlive is the interval of WebSocket ping frames. They keep idle
	// sockets open through proxies (nginx closes a connection that is
	// silent for 60 s by default) and find peers that vanished without
	// closing: a peer that has not answered by the next ping is cut off.
	// Browsers answer pings by themselves. Default 25 s; negative disables.
	KeepAlive time.Duration
	// WriteTimeout bounds sending one message. A client that stops reading
	// for that long is disconnected instead of holding up its
	// subscriptions. Default 10 s.
	WriteTimeout time.Duration
	// MaxSubscriptions bounds the operations running at once on one
	// connection (subscriptions, and queries and mutations until they
	// answer); one more is refused with an error message. Default 100.
	MaxSubscriptions int
	// OriginPatterns lists further origins whose pages may open a socket,
	// as host patterns for path.Match ("dashboard.hotline.example",
	// "localhost:5173"); pages from the request's own host are always
	// allowed, clients that send no Origin (not browsers) too. A browser
	// opens a cross-site WebSocket with its cookies and without a CORS
	// preflight, so this check is what prevents cross-site WebSocket
	// hijacking; never put "*" here.
	OriginPatterns []string
	// Reauthenticate is how often the token a socket was opened with is
	// checked again (default 1 min; negative: never): a session that
	// expired, was ended or whose user was disabled closes the socket with
	// 4403, so screen pops with citizens' data stop with the session.
	Reauthenticate time.Duration
	// Shutdown, when done, closes every socket with 1001 Going Away, which
	// ends its subscriptions; graphql-ws clients then reconnect.
	// http.Server.Shutdown neither closes nor waits for WebSocket
	// connections (they are hijacked), so pass the context whose end starts
	// the server's shutdown. Nil: sockets stay open until the process ends
	// them or the request's base context is cancelled.
	Shutdown context.Context
}

func (o WSOptions) withDefaults() WSOptions {
	if o.InitTimeout <= 0 {
		o.InitTimeout = defaultWSInitTimeout
	}
	if o.KeepAlive == 0 {
		o.KeepAlive = defaultWSKeepAlive
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = defaultWSWriteTimeout
	}
	if o.MaxSubscriptions <= 0 {
		o.MaxSubscriptions = defaultWSMaxSubscriptions
	}
	if o.Reauthenticate == 0 {
		o.Reauthenticate = defaultWSReauthenticate
	}
	return o
}

// IsWebSocketUpgrade reports whether r asks to switch to WebSocket
// (Connection: Upgrade and Upgrade: websocket), so that one path can serve
// both NewHandler and NewWSHandler.
func IsWebSocketUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header, "Connection", "upgrade") && headerHasToken(r.Header, "Upgrade", "websocket")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

type wsHandler struct {
	*handler
	ws WSOptions
}

// NewWSHandler serves schema over WebSocket with the graphql-transport-ws
// protocol: subscriptions stream `next` messages until they end, and
// queries and mutations answer with one `next` and a `complete`. It shares
// opts with NewHandler: Authenticate runs once per connection, Limits and
// validation apply to every operation, and errors are coded and formatted
// as over HTTP. opts.WebSocket tunes the transport.
func NewWSHandler(schema graphql.Schema, opts HandlerOptions) http.Handler {
	return &wsHandler{handler: newHandler(schema, opts), ws: opts.WebSocket.withDefaults()}
}

func (h *wsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:   []string{WSSubprotocol},
		OriginPatterns: h.ws.OriginPatterns,
	})
	if err != nil {
		// Accept has answered the request already (400, 403 or 426).
		h.log.WarnContext(r.Context(), "graphql: websocket upgrade refused", "remote", r.RemoteAddr, "origin", r.Header.Get("Origin"), "error", err)
		return
	}
	defer func() { _ = c.CloseNow() }()
	if c.Subprotocol() != WSSubprotocol {
		_ = c.Close(closeSubprotocol, "Subprotocol not acceptable")
		return
	}
	// The same bound as an HTTP body: the query plus its variables.
	c.SetReadLimit(MaxBodyBytes)

	wsConnections.Inc()
	defer wsConnections.Dec()
	info := requestInfo(r, h.opts.TrustProxy)
	ctx, cancel := context.WithCancel(WithRequestInfo(r.Context(), info))
	defer cancel()
	cn := &wsConn{
		h:      h,
		c:      c,
		r:      r,
		log:    h.log.With("remote", info.RemoteAddr),
		ctx:    ctx,
		cancel: cancel,
		ops:    map[string]*wsOperation{},
	}
	cn.serve()
}

// wsConn is one connection. The read loop (serve) handles the client's
// messages in order; every operation runs in its own goroutine, and all
// writes go through writeMu so messages never interleave.
type wsConn struct {
	h      *wsHandler
	c      *websocket.Conn
	r      *http.Request // the upgrade request, cloned for Authenticate
	log    *slog.Logger
	ctx    context.Context // the connection's; cancelled when it ends
	cancel context.CancelFunc

	writeMu sync.Mutex // held while writing; taken before mu when both are needed

	mu       sync.Mutex
	initSeen bool
	acked    bool
	authCtx  context.Context // Authenticate's result; operations derive from it
	ops      map[string]*wsOperation

	wg sync.WaitGroup // operations and the keep-alive
}

// wsOperation is one subscribe message being served.
type wsOperation struct {
	id     string
	query  string // to locate errors in (see relocate)
	ctx    context.Context
	cancel context.CancelFunc
	// stopped is set when the client completed the operation or the
	// connection ended: nothing more may be sent for it.
	stopped atomic.Bool
}

func (op *wsOperation) stop() {
	op.stopped.Store(true)
	op.cancel()
}

type wsInMessage struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

type wsOutMessage struct {
	ID      string `json:"id,omitempty"`
	Type    string `json:"type"`
	Payload any    `json:"payload,omitempty"`
}

type subscribePayload struct {
	Query         *string        `json:"query"`
	OperationName *string        `json:"operationName"`
	Variables     map[string]any `json:"variables"`
	Extensions    map[string]any `json:"extensions"`
}

func (cn *wsConn) serve() {
	initTimer := time.AfterFunc(cn.h.ws.InitTimeout, func() {
		cn.mu.Lock()
		seen := cn.initSeen
		cn.mu.Unlock()
		if !seen {
			cn.close(closeInitTimeout, "Connection initialisation timeout")
		}
	})
	defer initTimer.Stop()
	// The request context ends before ServeHTTP returns only when the
	// server's base context is cancelled: the server is going away.
	stopGoingAway := context.AfterFunc(cn.r.Context(), func() {
		cn.close(websocket.StatusGoingAway, "server shutting down")
	})
	defer stopGoingAway()
	if sd := cn.h.ws.Shutdown; sd != nil {
		stop := context.AfterFunc(sd, func() {
			cn.close(websocket.StatusGoingAway, "server shutting down")
		})
		defer stop()
	}
	if cn.h.ws.KeepAlive > 0 {
		cn.wg.Add(1)
		go cn.keepAlive(cn.h.ws.KeepAlive)
	}

	for {
		// Not cn.ctx: a cancelled read context makes the library drop the
		// TCP connection without a close frame. Reads end when the socket
		// is closed, by either side or by close.
		_, data, err := cn.c.Read(context.Background())
		if err != nil {
			cn.log.DebugContext(cn.ctx, "graphql: websocket connection ended", "status", websocket.CloseStatus(err), "error", err)
			break
		}
		if !cn.handle(data) {
			break
		}
	}

	cn.mu.Lock()
	ops := cn.ops
	cn.ops = map[string]*wsOperation{}
	cn.mu.Unlock()
	for _, op := range ops {
		op.stop()
	}
	cn.cancel()
	cn.wg.Wait()
}

// handle serves one client message; false ends the connection, which it
// has closed with the protocol's code.
func (cn *wsConn) handle(data []byte) bool {
	var m wsInMessage
	if err := json.Unmarshal(data, &m); err != nil {
		cn.close(closeBadRequest, "Invalid message received")
		return false
	}
	switch m.Type {
	case "connection_init":
		return cn.connectionInit(m.Payload)
	case "ping":
		if !objectOrNull(m.Payload) {
			cn.close(closeBadRequest, "Invalid message received")
			return false
		}
		pong := wsOutMessage{Type: "pong"}
		if !isNull(m.Payload) {
			pong.Payload = m.Payload
		}
		cn.send(pong)
	case "pong":
	case "subscribe":
		return cn.subscribe(m)
	case "complete":
		if m.ID == "" {
			cn.close(closeBadRequest, "Invalid message received")
			return false
		}
		cn.mu.Lock()
		op := cn.ops[m.ID]
		delete(cn.ops, m.ID)
		cn.mu.Unlock()
		// An unknown id is an operation that has ended already.
		if op != nil {
			op.stop()
		}
	default:
		cn.close(closeBadRequest, closeReason(fmt.Sprintf("Unexpected message of type %q received", m.Type)))
		return false
	}
	return true
}

func (cn *wsConn) connectionInit(raw json.RawMessage) bool {
	cn.mu.Lock()
	if cn.initSeen {
		cn.mu.Unlock()
		cn.close(closeTooManyInits, "Too many initialisation requests")
		return false
	}
	cn.initSeen = true
	cn.mu.Unlock()

	var payload map[string]any
	if !objectOrNull(raw) || (len(raw) > 0 && json.Unmarshal(raw, &payload) != nil) {
		cn.close(closeBadRequest, "Invalid message received")
		return false
	}
	ctx, err := cn.authenticate(payload)
	if err != nil {
		if ge, ok := AsError(err); ok {
			cn.log.InfoContext(cn.ctx, "graphql: websocket connection refused", "code", ge.Code, "message", ge.Message)
			cn.close(closeForbidden, "Forbidden")
		} else {
			cn.log.ErrorContext(cn.ctx, "graphql: authenticating websocket connection", "error", err)
			cn.close(closeInternal, "Internal server error")
		}
		return false
	}
	cn.mu.Lock()
	cn.authCtx = ctx
	cn.acked = true
	cn.mu.Unlock()
	cn.send(wsOutMessage{Type: "connection_ack"})
	if every := cn.h.ws.Reauthenticate; every > 0 && cn.h.opts.Authenticate != nil {
		cn.wg.Add(1)
		go cn.reauthenticate(every, payload)
	}
	return true
}

// reauthenticate checks the connection's credentials every so often and
// closes the socket once they are refused.
func (cn *wsConn) reauthenticate(every time.Duration, payload map[string]any) {
	defer cn.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-cn.ctx.Done():
			return
		case <-t.C:
		}
		if _, err := cn.authenticate(payload); err != nil {
			if cn.ctx.Err() != nil {
				return
			}
			if _, ok := AsError(err); ok {
				cn.log.InfoContext(cn.ctx, "graphql: websocket credentials no longer valid; closing", "error", err)
				cn.close(closeForbidden, "Forbidden")
				return
			}
			// The identity store failing is not the user's fault: keep
			// the socket and try again next time.
			cn.log.WarnContext(cn.ctx, "graphql: re-checking websocket credentials", "error", err)
		}
	}
}

// authenticate runs opts.Authenticate on a copy of the upgrade request
// carrying the Authorization header from the connection_init payload:
// browsers cannot set headers on a WebSocket, and this way tokens are
// parsed exactly as over HTTP. Without one in the payload the upgrade
// request's own header (from a non-browser client) is kept.
func (cn *wsConn) authenticate(payload map[string]any) (context.Context, error) {
	if cn.h.opts.Authenticate == nil {
		return cn.ctx, nil
	}
	r := cn.r.Clone(cn.ctx)
	for _, key := range []string{"authorization", "Authorization"} {
		v, ok := payload[key]
		if !ok {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return nil, Errorf(Unauthenticated, "connection_init 中的 authorization 须为字符串 (authorization in the connection_init payload must be a string)")
		}
		r.Header.Set("Authorization", s)
		break
	}
	ctx, err := cn.h.opts.Authenticate(cn.ctx, r)
	if err != nil {
		return nil, fmt.Errorf("authenticating websocket connection: %w", err)
	}
	if ctx == nil {
		ctx = cn.ctx
	}
	return ctx, nil
}

func (cn *wsConn) subscribe(m wsInMessage) bool {
	var p subscribePayload
	if m.ID == "" || !isObject(m.Payload) || json.Unmarshal(m.Payload, &p) != nil || p.Query == nil {
		cn.close(closeBadRequest, "Invalid message received")
		return false
	}
	req := Request{Query: *p.Query, Variables: p.Variables, Extensions: p.Extensions}
	if p.OperationName != nil {
		req.OperationName = *p.OperationName
	}

	cn.mu.Lock()
	if !cn.acked {
		cn.mu.Unlock()
		cn.close(closeUnauthorized, "Unauthorized")
		return false
	}
	if _, dup := cn.ops[m.ID]; dup {
		cn.mu.Unlock()
		cn.close(closeSubscriberExists, closeReason("Subscriber for "+m.ID+" already exists"))
		return false
	}
	if len(cn.ops) >= cn.h.ws.MaxSubscriptions {
		cn.mu.Unlock()
		max := cn.h.ws.MaxSubscriptions
		ge := &Error{
			Code:    BadUserInput,
			Message: fmt.Sprintf("一个连接最多同时进行 %d 个订阅 (too many operations on this connection: the maximum is %d at once; complete some first)", max, max),
			Extra:   map[string]any{"limit": "maxSubscriptions", "max": max},
		}
		cn.send(wsOutMessage{ID: m.ID, Type: "error", Payload: []ResponseError{toResponse(ge)}})
		observe(req.OperationName, true, 0)
		return true
	}
	ctx, cancel := context.WithCancel(cn.authCtx)
	op := &wsOperation{id: m.ID, query: req.Query, ctx: ctx, cancel: cancel}
	cn.ops[m.ID] = op
	cn.wg.Add(1)
	cn.mu.Unlock()
	go cn.run(op, req)
	return true
}

// run serves one operation: the checks the HTTP handler makes, then a
// subscription's stream or a query's or mutation's single result.
func (cn *wsConn) run(op *wsOperation, req Request) {
	defer cn.wg.Done()
	defer cn.finish(op)
	start := time.Now()
	label := req.OperationName
	reject := func(errs []ResponseError) {
		cn.finishWith(op, wsOutMessage{ID: op.id, Type: "error", Payload: errs})
		observe(label, true, time.Since(start))
	}
	// A panic in this goroutine (graphql-go's validation has panicked on
	// malformed documents) would end the whole process, not just the
	// operation: net/http recovers only the goroutines it starts.
	defer func() {
		if v := recover(); v != nil {
			cn.log.ErrorContext(cn.ctx, "graphql: panic serving websocket operation", "operation", label, "panic", v, "stack", string(debug.Stack()))
			reject([]ResponseError{{Message: internalMessage, Extensions: map[string]any{"code": string(Internal)}}})
		}
	}()

	if ge := missingQuery(req.Query); ge != nil {
		reject([]ResponseError{toResponse(ge)})
		return
	}
	doc, errs := cn.h.parseRequest(req)
	if errs != nil {
		reject(errs)
		return
	}
	def := selectOperation(doc, req.OperationName)
	if def != nil && def.Name != nil {
		label = def.Name.Value
	}
	if errs := cn.h.checkDocument(doc, req); errs != nil {
		reject(errs)
		return
	}
	if def == nil {
		reject([]ResponseError{toResponse(Errorf(BadUserInput,
			"无法确定要执行的操作 (unable to identify the operation: the document has several and operationName names none of them, or it has none)"))})
		return
	}

	if def.Operation == ast.OperationTypeSubscription {
		if ge := subscriptionRootError(doc, def); ge != nil {
			reject([]ResponseError{toResponse(ge)})
			return
		}
		cn.stream(op, doc, req, label)
		return
	}
	res := graphql.Execute(graphql.ExecuteParams{
		Schema:        cn.h.schema,
		AST:           doc,
		OperationName: req.OperationName,
		Args:          req.Variables,
		Context:       op.ctx,
	})
	failed := cn.next(op, label, res)
	cn.finishWith(op, wsOutMessage{ID: op.id, Type: "complete"})
	observe(label, failed, time.Since(start))
}

// stream sends a subscription's events until its source ends (then
// `complete`), the client completes it or the connection ends.
//
// graphql-go's ExecuteSubscription (v0.8.1) runs Subscribe and then loops
// in a goroutine: on each source value it executes the operation with the
// value as root and sends the result on an unbuffered channel, without
// watching the context while it sends; it returns and closes the channel
// when the source channel is closed, or when the context is done while it
// waits for the next value. Errors of the setup (variables, Subscribe)
// arrive as one result and the channel closes, which graphql-ws also
// sends as `next` and `complete`. The channel is therefore read to its
// end, even after op is cancelled, so that the goroutine can finish.
func (cn *wsConn) stream(op *wsOperation, doc *ast.Document, req Request, label string) {
	activeSubscriptions.Inc()
	defer activeSubscriptions.Dec()
	results := graphql.ExecuteSubscription(graphql.ExecuteParams{
		Schema:        cn.h.schema,
		AST:           doc,
		OperationName: req.OperationName,
		Args:          req.Variables,
		Context:       op.ctx,
	})
	for res := range results {
		cn.next(op, label, res)
	}
	cn.finishWith(op, wsOutMessage{ID: op.id, Type: "complete"})
}

// next sends one result and reports whether it carried errors.
func (cn *wsConn) next(op *wsOperation, label string, res *graphql.Result) bool {
	failed := len(res.Errors) > 0
	if op.stopped.Load() {
		// Errors now are the cancellation's; nobody is listening.
		return failed
	}
	payload := map[string]any{"data": res.Data}
	if failed {
		errs := cn.h.executionErrors(op.ctx, label, res.Errors)
		relocate(op.query, errs)
		payload["errors"] = errs
	}
	cn.writeMu.Lock()
	defer cn.writeMu.Unlock()
	if !op.stopped.Load() {
		_ = cn.write(wsOutMessage{ID: op.id, Type: "next", Payload: payload})
	}
	return failed
}

// finishWith sends an operation's last message (`complete` or `error`)
// unless the client has completed it, and frees its id. Both happen under
// writeMu, so that a subscribe reusing the id (allowed once the client has
// the last message) cannot be refused as a duplicate, and no message for
// the new operation can precede the old one's last.
func (cn *wsConn) finishWith(op *wsOperation, msg wsOutMessage) {
	cn.writeMu.Lock()
	defer cn.writeMu.Unlock()
	cn.mu.Lock()
	if cn.ops[op.id] == op {
		delete(cn.ops, op.id)
	}
	cn.mu.Unlock()
	if !op.stopped.Load() {
		_ = cn.write(msg)
	}
}

// finish releases the operation however run ended.
func (cn *wsConn) finish(op *wsOperation) {
	cn.mu.Lock()
	if cn.ops[op.id] == op {
		delete(cn.ops, op.id)
	}
	cn.mu.Unlock()
	op.cancel()
}

func (cn *wsConn) send(msg wsOutMessage) {
	cn.writeMu.Lock()
	defer cn.writeMu.Unlock()
	_ = cn.write(msg)
}

// write sends msg; the caller holds writeMu. A write that does not finish
// within WriteTimeout closes the connection (the library does so when the
// context expires), which ends the read loop and with it the connection.
func (cn *wsConn) write(msg wsOutMessage) error {
	b, err := json.Marshal(msg)
	if err != nil {
		// A result can hold values JSON cannot carry (NaN); the client
		// still gets an answer for the event.
		cn.log.ErrorContext(cn.ctx, "graphql: encoding websocket message", "type", msg.Type, "id", msg.ID, "error", err)
		if msg.Type != "next" {
			return fmt.Errorf("encoding graphql-ws %s message: %w", msg.Type, err)
		}
		b, err = json.Marshal(wsOutMessage{ID: msg.ID, Type: "next", Payload: map[string]any{
			"data":   nil,
			"errors": []ResponseError{{Message: internalMessage, Extensions: map[string]any{"code": string(Internal)}}},
		}})
		if err != nil {
			return fmt.Errorf("encoding graphql-ws %s message: %w", msg.Type, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), cn.h.ws.WriteTimeout)
	defer cancel()
	if err := cn.c.Write(ctx, websocket.MessageText, b); err != nil {
		err = fmt.Errorf("writing graphql-ws %s message: %w", msg.Type, err)
		cn.log.DebugContext(cn.ctx, "graphql: websocket write failed", "error", err)
		return err
	}
	return nil
}

// close closes the socket with a protocol code; later calls do nothing.
// It waits for the client's close frame (at most a few seconds), which the
// read loop or, when called from the read loop, Close itself reads.
func (cn *wsConn) close(code websocket.StatusCode, reason string) {
	if err := cn.c.Close(code, reason); err != nil && !errors.Is(err, net.ErrClosed) {
		cn.log.DebugContext(cn.ctx, "graphql: closing websocket", "code", int(code), "error", err)
	}
}

func (cn *wsConn) keepAlive(every time.Duration) {
	defer cn.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-cn.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(cn.ctx, every)
		err := cn.c.Ping(ctx)
		cancel()
		if err != nil {
			if cn.ctx.Err() == nil {
				cn.log.InfoContext(cn.ctx, "graphql: websocket peer stopped answering pings; disconnecting", "error", err)
				_ = cn.c.CloseNow()
			}
			return
		}
	}
}

// closeReason fits s into a close frame.
func closeReason(s string) string {
	if len(s) <= maxCloseReason {
		return s
	}
	s = s[:maxCloseReason]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

func isNull(raw json.RawMessage) bool {
	t := strings.TrimSpace(string(raw))
	return t == "" || t == "null"
}

func isObject(raw json.RawMessage) bool {
	return strings.HasPrefix(strings.TrimSpace(string(raw)), "{")
}

func objectOrNull(raw json.RawMessage) bool { return isNull(raw) || isObject(raw) }
