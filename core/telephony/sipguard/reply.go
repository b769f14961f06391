package sipguard

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
)

// Reply is the response refusing the request data with v (v.Status is
// not 0): its Via, From, To, Call-ID and CSeq fields are copied as they
// came, so that a request too malformed for the SIP parser is answered
// along its own Via.
func Reply(data []byte, v Verdict) []byte {
	m, _, _ := split(data, Limits{}.withDefaults())
	var b bytes.Buffer
	b.WriteString("SIP/2.0 ")
	b.WriteString(strconv.Itoa(v.Status))
	b.WriteByte(' ')
	b.WriteString(v.Reason)
	b.WriteString("\r\n")
	if m != nil {
		for _, h := range m.headers {
			switch h.name {
			case "via", "from", "call-id", "cseq":
				b.Write(h.raw)
				b.WriteString("\r\n")
			case "to":
				b.Write(h.raw)
				// RFC 3261 8.2.6.2: a final response tags To.
				if !hasTag(h.value) {
					b.WriteString(";tag=")
					b.WriteString(newTag())
				}
				b.WriteString("\r\n")
			}
		}
	}
	for _, x := range v.Extra {
		b.WriteString(x)
		b.WriteString("\r\n")
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.Bytes()
}

func hasTag(to string) bool {
	if gt := strings.LastIndexByte(to, '>'); gt >= 0 {
		to = to[gt:]
	}
	for _, p := range splitOutsideQuotes(to, ';')[1:] {
		if strings.EqualFold(strings.TrimSpace(strings.SplitN(p, "=", 2)[0]), "tag") {
			return true
		}
	}
	return false
}

func newTag() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
