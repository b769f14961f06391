package gql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/graphql-go/graphql/language/ast"
	"github.com/graphql-go/graphql/language/location"
	"github.com/graphql-go/graphql/language/parser"
	"github.com/graphql-go/graphql/language/source"
)

// MaxBodyBytes bounds a request body (query plus variables). Attachments
// travel through their own upload endpoint, never through GraphQL.
const MaxBodyBytes = 1 << 20

// HandlerOptions configures NewHandler.
type HandlerOptions struct {
	// Authenticate enriches the request context, e.g. parses
	// "Authorization: Bearer <token>" and stores the principal. A request
	// without credentials should get a nil error and an anonymous context,
	// so that public operations (login) work; resolvers decide what needs a
	// principal. A *Error is sent to the client with its code (normally
	// UNAUTHENTICATED for a bad or expired token); any other error is
	// logged and reported as INTERNAL.
	//
	// NewWSHandler calls it once per connection, on connection_init, with a
	// copy of the upgrade request whose Authorization header is taken from
	// the init payload ({"authorization": "Bearer <token>"}); there any
	// error closes the socket: a *Error with 4403 Forbidden, others with
	// 4500. A nil error with an anonymous context lets the connection in,
	// as over HTTP.
	Authenticate func(ctx context.Context, r *http.Request) (context.Context, error)
	Limits       Limits
	// Logger receives internal errors with their real text. Default: slog.Default().
	Logger *slog.Logger
	// TrustProxy makes RequestInfo.RemoteAddr come from X-Forwarded-For.
	// Enable only behind a reverse proxy that sets the header; otherwise any
	// client can write its own address into the audit log.
	TrustProxy bool
	// WebSocket tunes NewWSHandler; NewHandler ignores it.
	WebSocket WSOptions
	// Unavailable tells an error that says the database cannot be reached
	// (store.Unavailable): such failures are answered UNAVAILABLE instead
	// of INTERNAL and logged as a warning, once per kind thanks to the
	// process log's rate limit. Nil: every unexpected error is INTERNAL.
	Unavailable func(error) bool
}

// unexpected codes an error that is not a *Error: UNAVAILABLE when it says
// the database is out of reach, INTERNAL otherwise; it logs it either way.
func (h *handler) unexpected(ctx context.Context, msg string, err error, attrs ...any) *Error {
	if err != nil && h.opts.Unavailable != nil && h.opts.Unavailable(err) {
		h.log.WarnContext(ctx, msg+": database unavailable", append(attrs, "error", err)...)
		return &Error{Code: Unavailable, Message: unavailableMessage, Err: err}
	}
	h.log.ErrorContext(ctx, msg, append(attrs, "error", err)...)
	return &Error{Code: Internal, Message: internalMessage, Err: err}
}

// RequestInfo tells the audit log where a request came from.
type RequestInfo struct {
	// RemoteAddr is the client IP: the peer address, or with TrustProxy
	// the last X-Forwarded-For entry (the one our own proxy appended and
	// the client cannot forge).
	RemoteAddr string
	UserAgent  string
	// ForwardedFor is the raw X-Forwarded-For chain when TrustProxy is set.
	ForwardedFor string
}

type requestInfoKey struct{}

// WithRequestInfo stores info in ctx; other transports (websocket, tests)
// use it to provide the same information as the HTTP handler.
func WithRequestInfo(ctx context.Context, info RequestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, info)
}

// RequestInfoFrom returns the RequestInfo stored by the handler; zero if none.
func RequestInfoFrom(ctx context.Context) RequestInfo {
	info, _ := ctx.Value(requestInfoKey{}).(RequestInfo)
	return info
}

// maxUserAgent keeps audit rows bounded; real user agents are far shorter.
const maxUserAgent = 512

func requestInfo(r *http.Request, trustProxy bool) RequestInfo {
	info := RequestInfo{RemoteAddr: r.RemoteAddr, UserAgent: r.UserAgent()}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		info.RemoteAddr = host
	}
	if len(info.UserAgent) > maxUserAgent {
		info.UserAgent = info.UserAgent[:maxUserAgent]
	}
	if trustProxy {
		if xff := strings.Join(r.Header.Values("X-Forwarded-For"), ","); xff != "" {
			info.ForwardedFor = xff
			parts := strings.Split(xff, ",")
			for i := len(parts) - 1; i >= 0; i-- {
				if ip := strings.TrimSpace(parts[i]); ip != "" {
					info.RemoteAddr = ip
					break
				}
			}
		}
	}
	return info
}

// Request is the GraphQL-over-HTTP request body.
type Request struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName,omitempty"`
	Variables     map[string]any `json:"variables,omitempty"`
	Extensions    map[string]any `json:"extensions,omitempty"`
}

// ResponseError is one entry of the response's errors list.
type ResponseError struct {
	Message    string                    `json:"message"`
	Locations  []location.SourceLocation `json:"locations,omitempty"`
	Path       []any                     `json:"path,omitempty"`
	Extensions map[string]any            `json:"extensions,omitempty"`
}

type handler struct {
	schema  graphql.Schema
	opts    HandlerOptions
	log     *slog.Logger
	lengths map[string]int // Builder.MaxLength bounds of schema
}

// NewHandler serves schema over HTTP: POST with a JSON body, or GET with
// query parameters for queries only (a mutation over GET could be
// triggered by a mere link or image tag).
//
// Status codes: 400/405/413/415 only when the HTTP request itself is
// unusable; once a GraphQL request has been read, the answer is 200 with
// errors[i].extensions.code, including UNAUTHENTICATED. A 401 would be more
// RESTful, but GraphQL clients (GraphiQL, urql, Apollo) treat non-2xx as a
// transport failure and hide the body, so the front end could not tell an
// expired token from a network outage; the code is the contract instead.
func NewHandler(schema graphql.Schema, opts HandlerOptions) http.Handler {
	return newHandler(schema, opts)
}

func newHandler(schema graphql.Schema, opts HandlerOptions) *handler {
	registerMetrics()
	opts.Limits = opts.Limits.withDefaults()
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &handler{schema: schema, opts: opts, log: log, lengths: lengthsOf(schema)}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	opLabel := "anonymous"
	failed := true
	defer func() { observe(opLabel, failed, time.Since(start)) }()

	req, status, rerr := readRequest(w, r)
	if rerr != nil {
		writeJSON(w, status, map[string]any{"errors": []ResponseError{toResponse(rerr)}})
		return
	}

	ctx := WithRequestInfo(r.Context(), requestInfo(r, h.opts.TrustProxy))
	if req.OperationName != "" {
		opLabel = req.OperationName
	}

	// The text is bounded, parsed and its shape checked before anything
	// else, authentication included: all of it is cheap and bounded, and a
	// document that could hurt validation is refused whoever sends it.
	doc, errs := h.parseRequest(req)
	if errs != nil {
		writeJSON(w, http.StatusOK, map[string]any{"errors": errs})
		return
	}

	if h.opts.Authenticate != nil {
		actx, err := h.opts.Authenticate(ctx, r)
		if err != nil {
			ge, ok := AsError(err)
			if !ok {
				ge = h.unexpected(ctx, "graphql: authenticating request", err, "operation", opLabel)
			}
			writeJSON(w, http.StatusOK, map[string]any{"errors": []ResponseError{toResponse(ge)}})
			return
		}
		if actx != nil {
			ctx = actx
		}
	}

	op := selectOperation(doc, req.OperationName)
	if op != nil && op.Name != nil {
		opLabel = op.Name.Value
	}
	if r.Method == http.MethodGet && op != nil && op.Operation != ast.OperationTypeQuery {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"errors": []ResponseError{toResponse(
			Errorf(BadUserInput, "GET 请求只能执行查询 (only queries may be sent with GET; use POST for %s)", op.Operation))}})
		return
	}
	if errs := h.checkDocument(doc, req); errs != nil {
		writeJSON(w, http.StatusOK, map[string]any{"errors": errs})
		return
	}
	if op != nil && op.Operation == ast.OperationTypeSubscription {
		writeJSON(w, http.StatusOK, map[string]any{"errors": []ResponseError{toResponse(Errorf(BadUserInput,
			"订阅须通过 WebSocket 连接 (subscriptions are served over WebSocket with the %s protocol, not over HTTP)", WSSubprotocol))}})
		return
	}

	res := graphql.Execute(graphql.ExecuteParams{
		Schema:        h.schema,
		AST:           doc,
		OperationName: req.OperationName,
		Args:          req.Variables,
		Context:       ctx,
	})
	body := map[string]any{"data": res.Data}
	if len(res.Errors) > 0 {
		errs := h.executionErrors(ctx, opLabel, res.Errors)
		relocate(req.Query, errs)
		body["errors"] = errs
	} else {
		failed = false
	}
	writeJSON(w, http.StatusOK, body)
}

// readRequest decodes the GraphQL request; on failure it returns the HTTP
// status and a BAD_USER_INPUT error.
func readRequest(w http.ResponseWriter, r *http.Request) (Request, int, *Error) {
	var req Request
	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query()
		req.Query = q.Get("query")
		req.OperationName = q.Get("operationName")
		if v := q.Get("variables"); v != "" {
			if err := json.Unmarshal([]byte(v), &req.Variables); err != nil {
				return req, http.StatusBadRequest, Errorf(BadUserInput, "variables 参数不是合法的 JSON 对象 (variables is not a JSON object: %v)", err)
			}
		}
	case http.MethodPost:
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		// Requiring application/json also blocks cross-site form posts:
		// browsers cannot send it cross-origin without a CORS preflight.
		if err != nil || mt != "application/json" {
			return req, http.StatusUnsupportedMediaType, Errorf(BadUserInput, "请求须为 application/json (Content-Type must be application/json)")
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err := dec.Decode(&req); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return req, http.StatusRequestEntityTooLarge, Errorf(BadUserInput, "请求体超过 %d 字节上限 (request body exceeds %d bytes)", MaxBodyBytes, MaxBodyBytes)
			}
			return req, http.StatusBadRequest, Errorf(BadUserInput, "请求体不是合法的 JSON (malformed JSON request body: %v)", err)
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return req, http.StatusBadRequest, Errorf(BadUserInput, "请求体在 JSON 对象之后还有内容 (unexpected data after the JSON request object)")
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		return req, http.StatusMethodNotAllowed, Errorf(BadUserInput, "不支持的请求方法 %s (method not allowed; use POST)", r.Method)
	}
	if ge := missingQuery(req.Query); ge != nil {
		return req, http.StatusBadRequest, ge
	}
	return req, 0, nil
}

func missingQuery(query string) *Error {
	if strings.TrimSpace(query) == "" {
		return Errorf(BadUserInput, "缺少 query (the request has no query)")
	}
	return nil
}

// parseRequest is the document gate: it bounds the query text (size,
// then bracket nesting and tokens, before the recursive parser), parses
// it, and refuses a document whose shape could make validation hurt
// (fragment cycles, undefined fragments, too many of anything) and
// variables nested too deep or too large; the errors are ready to send.
// Shared by the HTTP and WebSocket transports, which call it before
// checkDocument.
func (h *handler) parseRequest(req Request) (*ast.Document, []ResponseError) {
	l := h.opts.Limits
	if ge := l.CheckSize(req.Query); ge != nil {
		return nil, []ResponseError{toResponse(ge)}
	}
	if ge := l.ScanText(req.Query); ge != nil {
		return nil, []ResponseError{toResponse(ge)}
	}
	doc, err := parser.Parse(parser.ParseParams{Source: source.NewSource(&source.Source{
		Body: []byte(req.Query),
		Name: "GraphQL request",
	})})
	if err != nil {
		return nil, clientErrors(gqlerrors.FormatErrors(err))
	}
	if ge := l.CheckShape(doc); ge != nil {
		return nil, []ResponseError{toResponse(ge)}
	}
	if ge := l.CheckVariables(req.Variables); ge != nil {
		return nil, []ResponseError{toResponse(ge)}
	}
	// From here on errors cost graphql-go nothing to locate; the
	// transports put them back with relocate.
	detachSource(doc)
	return doc, nil
}

// checkDocument applies the limits, validates doc against the schema and
// bounds the strings its arguments receive, before any resolver runs; the
// errors are ready to send. doc must have passed parseRequest.
func (h *handler) checkDocument(doc *ast.Document, req Request) []ResponseError {
	if ge := h.opts.Limits.CheckIn(&h.schema, doc, req.OperationName, req.Variables); ge != nil {
		return []ResponseError{toResponse(ge)}
	}
	if vr := graphql.ValidateDocument(&h.schema, doc, nil); !vr.IsValid {
		errs := clientErrors(vr.Errors)
		relocate(req.Query, errs)
		return errs
	}
	// After validation, so that every field and argument is known.
	if ge := h.checkStrings(doc, req.OperationName, req.Variables); ge != nil {
		return []ResponseError{toResponse(ge)}
	}
	return nil
}

// selectOperation mirrors graphql-go's choice of operation so limits,
// metrics and the GET check look at the one that will run; nil when the
// choice is ambiguous or unknown (execution then reports it).
func selectOperation(doc *ast.Document, name string) *ast.OperationDefinition {
	var found *ast.OperationDefinition
	for _, d := range doc.Definitions {
		op, ok := d.(*ast.OperationDefinition)
		if !ok {
			continue
		}
		if name == "" {
			if found != nil {
				return nil
			}
			found = op
		} else if op.Name != nil && op.Name.Value == name {
			return op
		}
	}
	return found
}

// clientErrors marks syntax and validation errors: they are the client's
// fault and graphql-go's message names the field or argument, so it is kept.
func clientErrors(errs []gqlerrors.FormattedError) []ResponseError {
	out := make([]ResponseError, 0, len(errs))
	for _, fe := range errs {
		out = append(out, ResponseError{
			Message:    fe.Message,
			Locations:  fe.Locations,
			Path:       fe.Path,
			Extensions: map[string]any{"code": string(BadUserInput)},
		})
	}
	return out
}

// executionErrors turns graphql-go's execution errors into coded ones.
// graphql-go wraps what a resolver returned (or panicked with) in a
// *gqlerrors.Error as OriginalError, and copies extensions only when that
// error itself implements ExtendedError, so a *Error wrapped with %w would
// lose its code; the chain is searched with errors.As instead.
func (h *handler) executionErrors(ctx context.Context, op string, errs []gqlerrors.FormattedError) []ResponseError {
	out := make([]ResponseError, 0, len(errs))
	for _, fe := range errs {
		re := ResponseError{Locations: fe.Locations, Path: fe.Path}
		cause := rootCause(fe)
		ge, isGQL := AsError(cause)
		switch {
		case isGQL && ge.Code == Internal:
			// A resolver's own INTERNAL keeps its message unless the cause
			// is the database being out of reach.
			u := h.unexpected(ctx, "graphql: internal error", ge.Err, "operation", op, "path", pathString(fe.Path), "message", ge.Message)
			if u.Code == Internal {
				u.Message = ge.Message
			}
			re.Message = u.Message
			re.Extensions = u.Extensions()
		case isGQL:
			re.Message = ge.Message
			re.Extensions = ge.Extensions()
		case len(fe.Path) == 0 && !isContextErr(cause):
			// Errors without a field path come from graphql-go preparing
			// the execution: unknown operation name, variables that do not
			// match their declared types. All of them are the client's.
			re.Message = fe.Message
			re.Extensions = map[string]any{"code": string(BadUserInput)}
		default:
			if cause == nil {
				cause = errors.New(fe.Message)
			}
			u := h.unexpected(ctx, "graphql: internal error", cause, "operation", op, "path", pathString(fe.Path))
			re.Message = u.Message
			re.Extensions = u.Extensions()
		}
		out = append(out, re)
	}
	return out
}

// rootCause digs through graphql-go's wrappers to what the resolver
// produced. It returns nil for errors graphql-go raised itself (such as a
// null for a non-null field), which carry no original error.
func rootCause(fe gqlerrors.FormattedError) error {
	err := fe.OriginalError()
	for range 16 {
		switch e := err.(type) {
		case *gqlerrors.Error:
			err = e.OriginalError
		case gqlerrors.Error:
			err = e.OriginalError
		case gqlerrors.FormattedError:
			err = e.OriginalError()
		default:
			return err
		}
	}
	return err
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func pathString(path []any) string {
	var b strings.Builder
	for i, p := range path {
		if i > 0 {
			b.WriteByte('.')
		}
		fmt.Fprint(&b, p)
	}
	return b.String()
}

func toResponse(e *Error) ResponseError {
	return ResponseError{Message: e.Message, Extensions: e.Extensions()}
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	// Responses carry citizens' personal data; no proxy or browser cache
	// may keep them.
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
