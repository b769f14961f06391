// Package sipguard stands between the SIP sockets and the SIP stack: it
// frames, bounds and checks every message from the network before sipgo
// parses it or a transaction or handler sees it, answers the malformed
// ones itself (400 and its kin, RFC 3261 and the RFC 4475 torture cases),
// drops what cannot be answered, and limits how fast one source may send.
package sipguard

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Limits bound what one message may cost.
type Limits struct {
	// MaxMessage is the largest message in bytes, start line, headers and
	// body together (HOTLINE_SIP_MAX_MESSAGE).
	MaxMessage int
	// MaxHeaders is the most header fields one message may have
	// (HOTLINE_SIP_MAX_HEADERS).
	MaxHeaders int
}

// Defaults: a call set-up with a generous SDP is a few kilobytes; RFC
// 3261's own longest torture message has 50 header fields.
const (
	DefaultMaxMessage = 16 << 10
	DefaultMaxHeaders = 128
)

func (l Limits) withDefaults() Limits {
	if l.MaxMessage <= 0 {
		l.MaxMessage = DefaultMaxMessage
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = DefaultMaxHeaders
	}
	return l
}

// Verdict is what becomes of one message.
type Verdict struct {
	// Pass is set when the message goes on to the SIP stack.
	Pass bool
	// More is set when a stream has not yet delivered the whole message.
	More bool
	// Status and Reason, for a request refused, are the response to send
	// (0: drop it unanswered: a response, or a request without a Via to
	// answer along).
	Status int
	Reason string
	// Why says what was wrong, for the log.
	Why string
	// Extra is header lines added to the refusal (Unsupported, Accept).
	Extra []string
}

func refuse(status int, reason, why string, extra ...string) Verdict {
	return Verdict{Status: status, Reason: reason, Why: why, Extra: extra}
}

func drop(why string) Verdict { return Verdict{Why: why} }

var errNoEnd = errors.New("the header section has no end")

// header is one header field of a message, continuation lines joined.
type header struct {
	name  string // lower case, compact form expanded
	value string // trimmed
	raw   []byte // the field as received, continuation lines included, without the line end
	at    int    // where raw starts in the header section
}

// compact are RFC 3261's (and its extensions') one-letter header names.
var compact = map[string]string{
	"i": "call-id", "f": "from", "t": "to", "v": "via", "l": "content-length", "c": "content-type",
	"m": "contact", "s": "subject", "k": "supported", "e": "content-encoding", "o": "event",
	"r": "refer-to", "b": "referred-by", "u": "allow-events", "x": "session-expires", "y": "identity",
	"a": "accept-contact", "j": "reject-contact", "d": "request-disposition", "n": "identity-info",
}

// single are header fields a message may carry once only.
var single = map[string]bool{
	"call-id": true, "from": true, "to": true, "cseq": true, "max-forwards": true,
	"content-length": true, "content-type": true, "expires": true, "date": true,
}

// message is a message split into its start line and header fields.
type message struct {
	start   string
	headers []header
	// headLen is the length of the start line and headers with the empty
	// line ending them.
	headLen int
}

// split reads the start line and header fields of data, bounded by lim;
// errNoEnd says the header section has not ended in data.
func split(data []byte, lim Limits) (*message, *Verdict, error) {
	end := bytes.Index(data, []byte("\r\n\r\n"))
	if end < 0 {
		if len(data) > lim.MaxMessage {
			v := drop(fmt.Sprintf("a header section longer than %d bytes", lim.MaxMessage))
			return nil, &v, nil
		}
		return nil, nil, errNoEnd
	}
	m := &message{headLen: end + 4}
	if m.headLen > lim.MaxMessage {
		v := drop(fmt.Sprintf("a header section longer than %d bytes", lim.MaxMessage))
		return nil, &v, nil
	}
	head := data[:end]
	first := true
	for pos := 0; pos <= len(head); {
		n := bytes.Index(head[pos:], []byte("\r\n"))
		if n < 0 {
			n = len(head) - pos
		}
		line := head[pos : pos+n]
		lineStart := pos
		pos += n + 2
		if first {
			m.start, first = string(line), false
			continue
		}
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			if len(m.headers) == 0 {
				v := refuse(sip.StatusBadRequest, "Bad Request", "a continuation line before any header")
				return m, &v, nil
			}
			h := &m.headers[len(m.headers)-1]
			h.raw = head[h.at : lineStart+len(line)]
			h.value = strings.TrimSpace(h.value + " " + strings.TrimSpace(string(line)))
			continue
		}
		colon := bytes.IndexByte(line, ':')
		name := ""
		if colon > 0 {
			name = strings.ToLower(strings.TrimRight(string(line[:colon]), " \t"))
		}
		if !isToken(name) {
			v := refuse(sip.StatusBadRequest, "Bad Request", fmt.Sprintf("a header line without a name: %.40q", line))
			return m, &v, nil
		}
		if long, ok := compact[name]; ok {
			name = long
		}
		m.headers = append(m.headers, header{name: name, value: strings.TrimSpace(string(line[colon+1:])), raw: line, at: lineStart})
		if len(m.headers) > lim.MaxHeaders {
			v := refuse(sip.StatusBadRequest, "Bad Request", fmt.Sprintf("more than %d header fields", lim.MaxHeaders))
			return m, &v, nil
		}
	}
	return m, nil, nil
}

func (m *message) all(name string) []header {
	var hs []header
	for _, h := range m.headers {
		if h.name == name {
			hs = append(hs, h)
		}
	}
	return hs
}

func (m *message) get(name string) (string, bool) {
	for _, h := range m.headers {
		if h.name == name {
			return h.value, true
		}
	}
	return "", false
}

// contentLength is the message's declared body length, -1 when it has no
// Content-Length.
func (m *message) contentLength(lim Limits) (int, *Verdict) {
	cl, ok := m.get("content-length")
	if !ok {
		return -1, nil
	}
	if !isDigits(cl) {
		v := refuse(sip.StatusBadRequest, "Bad Request", fmt.Sprintf("Content-Length %.20q is not a number", cl))
		return 0, &v
	}
	n, err := strconv.ParseUint(cl, 10, 31)
	if err != nil || int(n) > lim.MaxMessage-m.headLen {
		v := refuse(sip.StatusMessageTooLarge, "Message Too Large", fmt.Sprintf("Content-Length %.20s is beyond the %d bytes a message may have", cl, lim.MaxMessage))
		return 0, &v
	}
	return int(n), nil
}

// Datagram checks one UDP datagram; pass is the message the SIP stack
// gets (what follows its declared body is cut off, RFC 3261 18.3).
func Datagram(data []byte, lim Limits) (v Verdict, pass []byte) {
	lim = lim.withDefaults()
	if len(data) > lim.MaxMessage {
		return drop(fmt.Sprintf("a datagram longer than %d bytes", lim.MaxMessage)), nil
	}
	m, bad, err := split(data, lim)
	if err != nil {
		return drop("a datagram without the empty line ending its header section"), nil
	}
	if bad != nil {
		return reqOnly(m, *bad), nil
	}
	cl, bad := m.contentLength(lim)
	if bad != nil {
		return reqOnly(m, *bad), nil
	}
	body := data[m.headLen:]
	if cl >= 0 {
		if cl > len(body) {
			return reqOnly(m, refuse(sip.StatusBadRequest, "Bad Request", fmt.Sprintf("Content-Length %d is beyond the %d bytes of the body", cl, len(body)))), nil
		}
		body = body[:cl]
	}
	pass = data[:m.headLen+len(body)]
	return check(m, pass, body), pass
}

// Stream frames the next message at the start of data, read from a TCP
// connection: n is its length, or 0 when data does not yet hold all of it
// (more must be read; data never needs to grow beyond lim.MaxMessage). A
// verdict with n == 0 and not Pass ends the connection: no boundary to
// find the next message by.
func Stream(data []byte, lim Limits) (v Verdict, n int) {
	lim = lim.withDefaults()
	m, bad, err := split(data, lim)
	if errors.Is(err, errNoEnd) {
		return Verdict{More: true}, 0
	}
	if bad != nil {
		return reqOnly(m, *bad), 0
	}
	cl, bad := m.contentLength(lim)
	if bad != nil {
		return reqOnly(m, *bad), 0
	}
	if cl < 0 {
		// RFC 3261 18.3: a stream message without Content-Length has no end.
		return reqOnly(m, refuse(sip.StatusBadRequest, "Bad Request", "a message on a stream without Content-Length")), 0
	}
	if len(data) < m.headLen+cl {
		return Verdict{More: true}, 0
	}
	msg := data[:m.headLen+cl]
	return check(m, msg, msg[m.headLen:]), len(msg)
}

// reqOnly answers v only when m is a request that can be answered.
func reqOnly(m *message, v Verdict) Verdict {
	if v.Pass {
		return v
	}
	if m == nil || isResponse(m.start) || v.Status == 0 {
		return drop(v.Why)
	}
	if _, ok := m.get("via"); !ok {
		return drop(v.Why + "; no Via to answer along")
	}
	return v
}

func isResponse(start string) bool { return strings.HasPrefix(strings.ToUpper(start), "SIP/") }

// check checks a framed message: its start line, the header fields every
// request and response needs, and their values.
func check(m *message, data, body []byte) Verdict {
	if isResponse(m.start) {
		if why := checkResponse(m); why != "" {
			return drop(why)
		}
		if _, err := sip.ParseMessage(data); err != nil {
			return drop("a response the SIP parser refuses: " + err.Error())
		}
		return Verdict{Pass: true}
	}
	return reqOnly(m, checkRequest(m, data, body))
}

func checkResponse(m *message) string {
	parts := strings.SplitN(m.start, " ", 3)
	if len(parts) < 2 || !strings.EqualFold(parts[0], "SIP/2.0") {
		return fmt.Sprintf("a status line %.60q", m.start)
	}
	if code, err := strconv.Atoi(parts[1]); err != nil || len(parts[1]) != 3 || code < 100 || code > 699 {
		return fmt.Sprintf("a status code %.20q", parts[1])
	}
	for _, name := range []string{"via", "from", "to", "call-id", "cseq"} {
		if _, ok := m.get(name); !ok {
			return "a response without " + name
		}
	}
	if why := checkSingles(m); why != "" {
		return why
	}
	cseq, _ := m.get("cseq")
	if _, _, why := parseCSeq(cseq); why != "" {
		return why
	}
	return ""
}

func checkSingles(m *message) string {
	seen := map[string]bool{}
	for _, h := range m.headers {
		if single[h.name] && seen[h.name] {
			return "more than one " + h.name
		}
		seen[h.name] = true
	}
	return ""
}

func parseCSeq(v string) (uint64, string, string) {
	f := strings.Fields(v)
	if len(f) != 2 || !isDigits(f[0]) {
		return 0, "", fmt.Sprintf("CSeq %.40q is not a number and a method", v)
	}
	n, err := strconv.ParseUint(f[0], 10, 32)
	if err != nil || n >= 1<<31 {
		return 0, "", fmt.Sprintf("CSeq number %.30s is not below 2**31", f[0])
	}
	return n, f[1], ""
}

// supportedSchemes are the Request-URI schemes a call or registration
// can be addressed by here.
var supportedSchemes = map[string]bool{"sip": true, "sips": true, "tel": true}

func checkRequest(m *message, data, body []byte) Verdict {
	bad := func(why string) Verdict { return refuse(sip.StatusBadRequest, "Bad Request", why) }
	parts := strings.Split(m.start, " ")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return bad(fmt.Sprintf("a request line %.80q is not method, URI and version separated by single spaces", m.start))
	}
	method, uri, version := parts[0], parts[1], parts[2]
	if !isToken(method) {
		return bad(fmt.Sprintf("a method %.30q", method))
	}
	if !strings.HasPrefix(strings.ToUpper(version), "SIP/") {
		return bad(fmt.Sprintf("a version %.20q", version))
	}
	if !strings.EqualFold(version, "SIP/2.0") {
		return refuse(sip.StatusVersionNotSupported, "Version Not Supported", "SIP version "+version)
	}
	if why := checkURI(uri, false); why != "" {
		return bad("Request-URI: " + why)
	}
	scheme := strings.ToLower(uri[:strings.IndexByte(uri, ':')])
	if !supportedSchemes[scheme] {
		return refuse(statusUnsupportedURIScheme, "Unsupported URI Scheme", "Request-URI scheme "+scheme)
	}
	if scheme != "tel" && strings.ContainsRune(afterUserinfo(uri), '?') {
		return bad("Request-URI carries headers")
	}
	for _, name := range []string{"via", "from", "to", "call-id", "cseq"} {
		if _, ok := m.get(name); !ok {
			return bad("no " + name)
		}
	}
	if why := checkSingles(m); why != "" {
		return bad(why)
	}
	cseq, _ := m.get("cseq")
	_, cseqMethod, why := parseCSeq(cseq)
	if why != "" {
		return bad(why)
	}
	if cseqMethod != method {
		return bad(fmt.Sprintf("CSeq method %.30s is not the request's %.30s", cseqMethod, method))
	}
	via, _ := m.get("via")
	if mf, ok := m.get("max-forwards"); ok {
		if _, err := strconv.ParseUint(mf, 10, 8); err != nil || !isDigits(mf) {
			return bad(fmt.Sprintf("Max-Forwards %.20q is not a number up to 255", mf))
		}
	} else if strings.Contains(via, "z9hG4bK") {
		// Only an RFC 2543 client (no magic cookie in its branch) may
		// leave Max-Forwards out (RFC 3261 8.1.1.6).
		return bad("no Max-Forwards")
	}
	for _, h := range m.all("via") {
		if why := checkVia(h.value); why != "" {
			return bad(why)
		}
	}
	for _, name := range []string{"from", "to", "contact", "route", "record-route", "reply-to"} {
		for _, h := range m.all(name) {
			if why := checkAddresses(h.value, name == "contact"); why != "" {
				return bad(name + ": " + why)
			}
		}
	}
	if d, ok := m.get("date"); ok {
		if _, err := time.Parse(time.RFC1123, d); err != nil || !strings.HasSuffix(d, " GMT") {
			return bad(fmt.Sprintf("Date %.40q is not an RFC 1123 date in GMT", d))
		}
	}
	if e, ok := m.get("expires"); ok {
		if _, err := strconv.ParseUint(e, 10, 32); err != nil {
			return bad(fmt.Sprintf("Expires %.30q is not a 32-bit number", e))
		}
	}
	ct, hasCT := m.get("content-type")
	if len(body) > 0 && !hasCT {
		return bad("a body without Content-Type")
	}
	if method != "ACK" && method != "CANCEL" {
		if req, ok := m.get("require"); ok && strings.TrimSpace(req) != "" {
			// No SIP extension is required here: diago implements none
			// that a caller may insist on (100rel, timer, replaces).
			return refuse(sip.StatusBadExtension, "Bad Extension", "Require: "+req, "Unsupported: "+req)
		}
	}
	if method == "INVITE" {
		if len(body) > 0 {
			mt := strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
			if mt != "application/sdp" && !strings.HasPrefix(mt, "multipart/") {
				return refuse(sip.StatusUnsupportedMediaType, "Unsupported Media Type", "an offer in "+mt, "Accept: application/sdp")
			}
		}
		if acc, ok := m.get("accept"); ok && strings.TrimSpace(acc) != "" && !acceptsSDP(acc) {
			return refuse(sip.StatusNotAcceptable, "Not Acceptable", "Accept without application/sdp: "+acc)
		}
	}
	if _, err := sip.ParseMessage(data); err != nil {
		return bad("the SIP parser refuses it: " + err.Error())
	}
	return Verdict{Pass: true}
}

func acceptsSDP(accept string) bool {
	for _, r := range strings.Split(accept, ",") {
		switch strings.ToLower(strings.TrimSpace(strings.SplitN(r, ";", 2)[0])) {
		case "application/sdp", "application/*", "*/*":
			return true
		}
	}
	return false
}

// afterUserinfo is the host, port, parameters and headers of a URI.
func afterUserinfo(uri string) string {
	if at := strings.LastIndexByte(uri, '@'); at >= 0 {
		return uri[at+1:]
	}
	return uri[strings.IndexByte(uri, ':')+1:]
}

// checkURI checks that uri has a scheme and no white space or angle
// brackets.
func checkURI(uri string, inBrackets bool) string {
	if uri == "" {
		return "empty"
	}
	if strings.ContainsAny(uri, " \t<>\"") {
		return fmt.Sprintf("%.60q holds white space, quotes or angle brackets", uri)
	}
	colon := strings.IndexByte(uri, ':')
	if colon <= 0 || !isScheme(uri[:colon]) {
		return fmt.Sprintf("%.60q has no scheme", uri)
	}
	if !inBrackets && strings.ContainsRune(afterUserinfo(uri), '?') {
		return fmt.Sprintf("%.60q has headers but no angle brackets", uri)
	}
	return ""
}

// checkVia checks each sent-by of a Via value for empty parameters.
func checkVia(v string) string {
	for _, one := range splitOutsideQuotes(v, ',') {
		one = strings.TrimSpace(one)
		if one == "" {
			return "an empty Via"
		}
		params := splitOutsideQuotes(one, ';')
		if !strings.HasPrefix(strings.ToUpper(strings.Join(strings.Fields(params[0]), "")), "SIP/") {
			return fmt.Sprintf("Via %.40q has no SIP protocol", params[0])
		}
		for _, p := range params[1:] {
			if strings.TrimSpace(p) == "" {
				return "an empty Via parameter"
			}
		}
	}
	return ""
}

// checkAddresses checks a From, To, Contact or Route value: name-addr or
// addr-spec with parameters (RFC 3261 25.1), several when list is set.
func checkAddresses(v string, list bool) string {
	values := []string{v}
	if list {
		if strings.TrimSpace(v) == "*" {
			return ""
		}
		values = splitOutsideQuotes(v, ',')
	}
	for _, one := range values {
		if why := checkAddress(strings.TrimSpace(one)); why != "" {
			return why
		}
	}
	return ""
}

func checkAddress(v string) string {
	if v == "" {
		return "empty"
	}
	rest := v
	switch {
	case rest[0] == '"':
		end := closingQuote(rest)
		if end < 0 {
			return "an unterminated quoted display name"
		}
		rest = strings.TrimLeft(rest[end+1:], " \t")
		if !strings.HasPrefix(rest, "<") {
			return "a quoted display name without <URI>"
		}
	case strings.ContainsRune(strings.SplitN(rest, ";", 2)[0], '<'):
		lt := strings.IndexByte(rest, '<')
		for _, word := range strings.Fields(rest[:lt]) {
			if !isToken(word) {
				return fmt.Sprintf("display name %.40q is neither tokens nor quoted", rest[:lt])
			}
		}
		rest = rest[lt:]
	default: // addr-spec: the URI ends at its first parameter
		uri, params, _ := strings.Cut(rest, ";")
		if why := checkURI(strings.TrimSpace(uri), false); why != "" {
			return why
		}
		return checkParams(params)
	}
	gt := strings.IndexByte(rest, '>')
	if gt < 0 {
		return "a < without >"
	}
	if why := checkURI(rest[1:gt], true); why != "" {
		return why
	}
	after := strings.TrimSpace(rest[gt+1:])
	if after == "" {
		return ""
	}
	if after[0] != ';' {
		return fmt.Sprintf("%.30q after >", after)
	}
	return checkParams(after[1:])
}

// checkParams checks header parameters (what follows the first ;).
func checkParams(params string) string {
	if params == "" {
		return ""
	}
	for _, p := range splitOutsideQuotes(params, ';') {
		if strings.TrimSpace(strings.SplitN(p, "=", 2)[0]) == "" {
			return "an empty parameter"
		}
	}
	return ""
}

func closingQuote(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// splitOutsideQuotes splits s at sep outside quoted strings and <>.
func splitOutsideQuotes(s string, sep byte) []string {
	var out []string
	quoted, angle, start := false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == '<':
			angle = true
		case !quoted && c == '>':
			angle = false
		case !quoted && !angle && c == sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isToken reports whether s is an RFC 3261 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-.!%*_+`'~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if alpha || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			continue
		}
		return false
	}
	return s != ""
}

// statusUnsupportedURIScheme is RFC 3261's 416, which sipgo does not name.
const statusUnsupportedURIScheme = 416
