package sipguard

import (
	"bytes"
	"net/netip"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Normalize rewrites a message that passed for the SIP stack, changing
// nothing else:
//   - From and To parameters lose the white space RFC 3261 allows around
//     ; and = (sipgo would not find "tag = x" and refuse the request);
//   - for a request, the top Via's received and rport parameters are the
//     guard's, not the sender's: whatever it sent is dropped and received
//     names peer's address. sipgo takes a response's destination from
//     them once it has no connection to answer on (a TCP connection the
//     client closed: transport_layer.go serverRequestConnection dials the
//     received host and the rport port), so a forged received=10.0.0.5;
//     rport=5432 would have the server dial out wherever it is told;
//   - over UDP the top Via also names UDP and gets an empty rport: sipgo
//     then answers to the address and port the datagram came from (RFC
//     3581 symmetric response routing, as a NAT-facing server does); with
//     a valued rport it would answer to the Via's sent-by port instead;
//   - over TCP rport is peer's port: should the connection close before
//     the answer, sipgo dials back only the port the request came from,
//     which the client has given up, rather than one the Via names.
//
// An invalid peer (a socket address the guard cannot read) leaves no
// received: sipgo then falls back to the sent-by host, as it would have.
func Normalize(data []byte, overUDP bool, peer netip.AddrPort) []byte {
	out, tidied := normalize(data, overUDP, peer, true)
	if tidied {
		// Tidying can make of an address sipgo read one it refuses
		// ("A: ;x" is not "A:;x"): rare, so checked only when it was done,
		// and then the addresses are left as they came.
		if _, err := sip.ParseMessage(out); err != nil {
			out, _ = normalize(data, overUDP, peer, false)
		}
	}
	return out
}

// normalize is Normalize, tidying From and To when tidy is set; it
// reports whether it tidied any.
func normalize(data []byte, overUDP bool, peer netip.AddrPort, tidy bool) (_ []byte, tidied bool) {
	m, bad, err := split(data, Limits{MaxMessage: len(data) + 1, MaxHeaders: len(data)})
	if err != nil || bad != nil {
		return data, false
	}
	var b bytes.Buffer
	b.Grow(len(data) + 64)
	b.WriteString(m.start)
	b.WriteString("\r\n")
	firstVia := true
	for _, h := range m.headers {
		switch {
		case h.name == "via" && firstVia && !isResponse(m.start):
			firstVia = false
			raw := string(h.raw)
			if overUDP {
				raw = viaOverUDP(raw)
			}
			b.WriteString(ownReceived(raw, overUDP, peer))
		case h.name == "via" && firstVia:
			firstVia = false
			b.Write(h.raw)
		case tidy && (h.name == "from" || h.name == "to") && needsTidying(h):
			tidied = true
			b.WriteString(map[string]string{"from": "From: ", "to": "To: "}[h.name])
			b.WriteString(tidyAddress(h.value))
		default:
			b.Write(h.raw)
		}
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	b.Write(data[m.headLen:])
	return b.Bytes(), tidied
}

// ownReceived rewrites the first value of a raw Via field: its received
// and rport parameters are dropped and the peer's put in their place
// (see Normalize).
func ownReceived(raw string, overUDP bool, peer netip.AddrPort) string {
	first, rest := raw, ""
	if comma := firstTopLevel(raw, ','); comma >= 0 {
		first, rest = raw[:comma], raw[comma:]
	}
	parts := splitOutsideQuotes(first, ';')
	// What is kept is kept as it came: sipgo read it so (white space
	// around a transport it found empty, say, matters to it).
	kept := []string{parts[0]}
	for _, p := range parts[1:] {
		name := strings.ToLower(strings.TrimSpace(strings.SplitN(p, "=", 2)[0]))
		if name != "received" && name != "rport" {
			kept = append(kept, p)
		}
	}
	var b strings.Builder
	if joined := strings.Join(kept, ";"); len(kept) > 1 {
		// After a parameter, as before a comma, white space and folding
		// can go.
		b.WriteString(strings.TrimRight(joined, " \t\r\n"))
	} else {
		b.WriteString(joined)
	}
	if ip := peer.Addr().Unmap().WithZone(""); ip.IsValid() {
		// RFC 3261 25.1: received is an IPv4 or IPv6 address, unbracketed.
		b.WriteString(";received=")
		b.WriteString(ip.String())
	}
	switch {
	case overUDP || peer.Port() == 0:
		b.WriteString(";rport")
	default:
		b.WriteString(";rport=")
		b.WriteString(strconv.Itoa(int(peer.Port())))
	}
	b.WriteString(rest)
	return b.String()
}

func firstTopLevel(s string, sep byte) int {
	parts := splitOutsideQuotes(s, sep)
	if len(parts) < 2 {
		return -1
	}
	return len(parts[0])
}

// needsTidying reports whether a From or To has white space among its
// parameters, or was folded.
func needsTidying(h header) bool {
	if bytes.Contains(h.raw, []byte("\r\n")) {
		return true
	}
	_, params := addressParts(h.value)
	return strings.ContainsAny(params, " \t")
}

// addressParts splits a name-addr or addr-spec with parameters into the
// address and what follows it (from the first ;).
func addressParts(v string) (addr, params string) {
	if gt := strings.IndexByte(v, '>'); gt >= 0 && strings.ContainsRune(strings.SplitN(v, ";", 2)[0], '<') || gt >= 0 && strings.HasPrefix(v, "\"") {
		return v[:gt+1], v[gt+1:]
	}
	if semi := firstTopLevel(v, ';'); semi >= 0 {
		return v[:semi], v[semi:]
	}
	return v, ""
}

func tidyAddress(v string) string {
	addr, params := addressParts(v)
	var b strings.Builder
	b.WriteString(strings.TrimSpace(addr))
	params = strings.TrimSpace(params)
	if params == "" {
		return b.String()
	}
	for _, p := range splitOutsideQuotes(strings.TrimPrefix(params, ";"), ';') {
		name, value, has := strings.Cut(p, "=")
		b.WriteByte(';')
		b.WriteString(strings.TrimSpace(name))
		if has {
			b.WriteByte('=')
			b.WriteString(strings.TrimSpace(value))
		}
	}
	return b.String()
}

// viaOverUDP rewrites the transport of a raw Via field's first value to
// UDP.
func viaOverUDP(raw string) string {
	pos := strings.IndexByte(raw, ':') + 1
	for range 2 {
		slash := strings.IndexByte(raw[pos:], '/')
		if slash < 0 {
			return raw
		}
		pos += slash + 1
	}
	for pos < len(raw) && strings.IndexByte(" \t\r\n", raw[pos]) >= 0 {
		pos++
	}
	end := pos
	for end < len(raw) && isToken(raw[end:end+1]) {
		end++
	}
	if strings.EqualFold(raw[pos:end], "UDP") {
		return raw
	}
	return raw[:pos] + "UDP" + raw[end:]
}
