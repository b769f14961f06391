package sipguard

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// FuzzMessage feeds arbitrary bytes, seeded with RFC 4475's torture
// messages, through the guard as a datagram and as a stream: it must
// not panic, must not allocate beyond a bound unrelated to what a message
// declares, must hand the SIP stack only what sipgo parses, and must not
// answer with much more than it was sent.
func FuzzMessage(f *testing.F) {
	for _, data := range tortureFiles(f) {
		f.Add(data)
	}
	f.Add([]byte("INVITE sip:a@b SIP/2.0\r\nContent-Length: 4294967295\r\n\r\n"))
	lim := Limits{MaxMessage: 4096, MaxHeaders: 32}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v, sv Verdict
		var pass []byte
		var n int
		alloc := heapDelta(1, func() {
			v, pass = Datagram(data, lim)
			sv, n = Stream(data, lim)
		})
		// sipgo's parse of a 4 KiB message takes tens of kilobytes.
		if alloc > 4<<20 {
			t.Fatalf("checking %d bytes allocated %d", len(data), alloc)
		}
		if v.Pass {
			if len(pass) > lim.MaxMessage {
				t.Fatalf("passed %d bytes, beyond %d", len(pass), lim.MaxMessage)
			}
			if _, err := sip.ParseMessage(pass); err != nil {
				t.Fatalf("passed what sipgo refuses: %v", err)
			}
			for _, rport := range []bool{true, false} {
				if _, err := sip.ParseMessage(Normalize(pass, rport, netip.MustParseAddrPort("192.0.2.1:5060"))); err != nil {
					t.Fatalf("normalised what sipgo then refuses: %v", err)
				}
			}
		}
		if sv.Pass && (n == 0 || n > len(data) || n > lim.MaxMessage) {
			t.Fatalf("a stream verdict framed %d of %d bytes", n, len(data))
		}
		for _, x := range []Verdict{v, sv} {
			if x.Status == 0 {
				continue
			}
			r := Reply(data, x)
			if !bytes.HasPrefix(r, []byte("SIP/2.0 ")) || !bytes.HasSuffix(r, []byte("\r\n\r\n")) {
				t.Fatalf("a refusal that is no response: %q", r)
			}
			if len(r) > len(data)+200 {
				t.Fatalf("a %d-byte refusal of %d bytes", len(r), len(data))
			}
		}
	})
}
