package sipguard

import (
	"bytes"
	"strings"
)

// Normalize rewrites a message that passed for the SIP stack, changing
// nothing else:
//   - From and To parameters lose the white space RFC 3261 allows around
//     ; and = (sipgo would not find "tag = x" and refuse the request);
//   - for a request over UDP, the top Via names UDP and gets an empty
//     rport parameter unless it has one, so that responses go back over
//     UDP to the address and port the request came from (RFC 3581
//     symmetric response routing, as a NAT-facing server does), not to a
//     port, host or connection transport the Via names: the server is not
//     to be steered into dialling out.
func Normalize(data []byte, overUDP bool) []byte {
	m, bad, err := split(data, Limits{MaxMessage: len(data) + 1, MaxHeaders: len(data)})
	if err != nil || bad != nil {
		return data
	}
	var b bytes.Buffer
	b.Grow(len(data) + 16)
	b.WriteString(m.start)
	b.WriteString("\r\n")
	firstVia := true
	for _, h := range m.headers {
		switch {
		case h.name == "via" && firstVia:
			firstVia = false
			raw := string(h.raw)
			if overUDP && !isResponse(m.start) {
				raw = viaOverUDP(raw)
			}
			if overUDP && !isResponse(m.start) && !topViaHasRport(h.value) {
				if comma := firstTopLevel(raw, ','); comma >= 0 {
					b.WriteString(strings.TrimRight(raw[:comma], " \t\r\n") + ";rport" + raw[comma:])
				} else {
					b.WriteString(strings.TrimRight(raw, " \t") + ";rport")
				}
			} else {
				b.WriteString(raw)
			}
		case (h.name == "from" || h.name == "to") && needsTidying(h):
			b.WriteString(map[string]string{"from": "From: ", "to": "To: "}[h.name])
			b.WriteString(tidyAddress(h.value))
		default:
			b.Write(h.raw)
		}
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	b.Write(data[m.headLen:])
	return b.Bytes()
}

func topViaHasRport(via string) bool {
	first := splitOutsideQuotes(via, ',')[0]
	for _, p := range splitOutsideQuotes(first, ';')[1:] {
		if strings.EqualFold(strings.TrimSpace(strings.SplitN(p, "=", 2)[0]), "rport") {
			return true
		}
	}
	return false
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
