package telephony_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/telephony"
	"github.com/hotline12345/hotline/deploy/gen/gentest"
)

var probeSeq atomic.Int64

// optionsRequest is a well-formed OPTIONS over transport (UDP or TCP).
func optionsRequest(transport, method string) []byte {
	n := probeSeq.Add(1)
	return []byte(fmt.Sprintf("%s sip:hotline@127.0.0.1 SIP/2.0\r\n"+
		"Via: SIP/2.0/%s 127.0.0.1:5999;branch=z9hG4bK-probe-%d;rport\r\n"+
		"Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=p%d\r\nTo: <sip:hotline@127.0.0.1>\r\n"+
		"Call-ID: probe-%d@127.0.0.1\r\nCSeq: 1 %s\r\nContent-Length: 0\r\n\r\n", method, transport, n, n, n, method))
}

// statusLine is the status code of a response ("SIP/2.0 200 OK"), 0 when
// data is none.
func statusCode(data []byte) int {
	line, _, _ := strings.Cut(string(data), "\r\n")
	parts := strings.SplitN(line, " ", 3)
	if len(parts) < 2 || parts[0] != "SIP/2.0" {
		return 0
	}
	code, _ := strconv.Atoi(parts[1])
	return code
}

// overUDP sends data from a fresh socket and returns the first final
// response (or the last provisional one) that arrives within wait; 0
// when none does.
func overUDP(t *testing.T, addr string, data []byte, wait time.Duration) int {
	t.Helper()
	c, err := net.Dial("udp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write(data)
	require.NoError(t, err)
	code := 0
	buf := make([]byte, 65536)
	deadline := time.Now().Add(wait)
	for code < 200 {
		require.NoError(t, c.SetReadDeadline(deadline))
		n, err := c.Read(buf)
		if err != nil {
			return code
		}
		code = statusCode(buf[:n])
	}
	return code
}

// overTCP is overUDP on a fresh TCP connection.
func overTCP(t *testing.T, addr string, data []byte, wait time.Duration) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write(data)
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(wait)))
	r := bufio.NewReader(c)
	code := 0
	for code < 200 {
		// Responses are read by their framing: headers, then the body
		// Content-Length declares.
		var head strings.Builder
		length := 0
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return code
			}
			head.WriteString(line)
			if name, value, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(name), "content-length") {
				length, _ = strconv.Atoi(strings.TrimSpace(value))
			}
			if line == "\r\n" {
				break
			}
		}
		if _, err := r.Discard(length); err != nil {
			return code
		}
		if c := statusCode([]byte(head.String())); c != 0 {
			code = c
		}
	}
	return code
}

// alive asserts that s answers a well-formed OPTIONS over UDP and TCP.
func alive(t *testing.T, s *telephony.Server) {
	t.Helper()
	assert.Equal(t, 200, overUDP(t, s.Addr(), optionsRequest("UDP", "OPTIONS"), 3*time.Second), "OPTIONS over UDP")
	assert.Equal(t, 200, overTCP(t, s.Addr(), optionsRequest("TCP", "OPTIONS"), 3*time.Second), "OPTIONS over TCP")
}

// tortureAnswers is what the server answers each of RFC 4475's messages
// with, over UDP and over TCP: a status; "any" for any answer of the SIP
// stack or its handlers (not a refusal of the message's form: 400, 413,
// 415, 416, 420, 505, 513, nor 500 from a panic); "none" for no answer
// (a response, or a message dropped or not yet complete on a stream).
// longreq's answer copies its 34 Vias: beyond the 1,300 bytes RFC 3261
// 18.1.1 allows over UDP, so sipgo does not send it (a stream answers).
// unksm2 registers an isbn: address, which RFC 4475 3.3.4 expects a
// registrar to refuse with 400; inv2543 has no Content-Length, which a
// stream needs to find its end.
var tortureAnswers = map[string][2]string{
	"3.1.1-valid/wsinv": {"any", "any"}, "3.1.1-valid/intmeth": {"any", "any"}, "3.1.1-valid/esc01": {"any", "any"},
	"3.1.1-valid/escnull": {"any", "any"}, "3.1.1-valid/esc02": {"any", "any"}, "3.1.1-valid/lwsdisp": {"any", "any"},
	"3.1.1-valid/longreq": {"none", "any"}, "3.1.1-valid/dblreq": {"any", "any"}, "3.1.1-valid/semiuri": {"any", "any"},
	"3.1.1-valid/transports": {"any", "any"}, "3.1.1-valid/mpart01": {"any", "any"}, "3.1.1-valid/unreason": {"none", "none"},
	"3.1.1-valid/noreason": {"none", "none"},

	"3.1.2-invalid/badinv01": {"400", "400"}, "3.1.2-invalid/clerr": {"400", "none"}, "3.1.2-invalid/ncl": {"400", "400"},
	"3.1.2-invalid/scalar02": {"400", "400"}, "3.1.2-invalid/scalarlg": {"none", "none"}, "3.1.2-invalid/quotbal": {"400", "400"},
	"3.1.2-invalid/ltgtruri": {"400", "400"}, "3.1.2-invalid/lwsruri": {"400", "400"}, "3.1.2-invalid/lwsstart": {"400", "400"},
	"3.1.2-invalid/trws": {"400", "400"}, "3.1.2-invalid/escruri": {"400", "400"}, "3.1.2-invalid/baddate": {"400", "400"},
	"3.1.2-invalid/regbadct": {"400", "400"}, "3.1.2-invalid/badaspec": {"400", "400"}, "3.1.2-invalid/baddn": {"none", "none"},
	"3.1.2-invalid/badvers": {"505", "505"}, "3.1.2-invalid/mismatch01": {"400", "400"}, "3.1.2-invalid/mismatch02": {"400", "400"},
	"3.1.2-invalid/bigcode": {"none", "none"},

	"3.2-transaction/badbranch": {"any", "any"},

	"3.3-application/insuf": {"400", "400"}, "3.3-application/unkscm": {"416", "416"}, "3.3-application/novelsc": {"416", "416"},
	"3.3-application/unksm2": {"400", "400"}, "3.3-application/bext01": {"420", "420"}, "3.3-application/invut": {"415", "415"},
	"3.3-application/regaut01": {"any", "any"}, "3.3-application/multi01": {"400", "400"}, "3.3-application/mcl01": {"400", "400"},
	"3.3-application/bcast": {"none", "none"}, "3.3-application/zeromf": {"any", "any"}, "3.3-application/cparam01": {"any", "any"},
	"3.3-application/cparam02": {"any", "any"}, "3.3-application/regescrt": {"any", "any"}, "3.3-application/sdp01": {"406", "406"},

	// sipgo's transaction layer answers an RFC 2543 request without a
	// From tag 400: it keys such a transaction by the tag.
	"3.4-compat/inv2543": {"400", "400"},
}

// transactionKey is what RFC 3261 17.2.3 matches a request to its
// transaction by: the top Via's branch and sent-by, and the method.
func transactionKey(data []byte) string {
	var via, method string
	for _, line := range strings.Split(string(data), "\r\n") {
		name, value, _ := strings.Cut(line, ":")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "via", "v":
			if via == "" {
				via = value
			}
		case "cseq":
			if f := strings.Fields(value); len(f) > 0 {
				method = f[len(f)-1]
			}
		}
	}
	return via + "|" + method
}

func TestTheRFC4475TortureMessagesOverUDPAndTCP(t *testing.T) {
	t.Parallel()
	paths, err := filepath.Glob("../../testdata/sip/rfc4475/*/*.dat")
	require.NoError(t, err)
	require.Len(t, paths, 49)
	refusal := map[int]bool{400: true, 413: true, 415: true, 416: true, 420: true, 500: true, 505: true, 513: true}
	for i, send := range []func(*testing.T, string, []byte, time.Duration) int{overUDP, overTCP} {
		transport := []string{"udp", "tcp"}[i]
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			// Some torture messages share a transaction's key (escnull and
			// regescrt, cparam01 and cparam02): the second would be taken
			// for a retransmission of the first, so it goes to a second
			// server; and one server a transport for the same reason.
			servers := []*telephony.Server{}
			used := []map[string]bool{}
			for _, p := range paths {
				name := filepath.Base(filepath.Dir(p)) + "/" + strings.TrimSuffix(filepath.Base(p), ".dat")
				want, ok := tortureAnswers[name]
				require.True(t, ok, name)
				data, err := os.ReadFile(p)
				require.NoError(t, err)
				key := transactionKey(data)
				k := 0
				for k < len(servers) && used[k][key] {
					k++
				}
				if k == len(servers) {
					s, _ := start(t, fmt.Sprintf("node-torture-%s-%d", transport, k))
					servers, used = append(servers, s), append(used, map[string]bool{})
				}
				used[k][key] = true
				wait := 3 * time.Second
				if want[i] == "none" {
					wait = 300 * time.Millisecond
				}
				got := send(t, servers[k].Addr(), data, wait)
				switch want[i] {
				case "any":
					assert.True(t, got >= 200 && !refusal[got], "%s: answered %d", name, got)
				case "none":
					assert.Zero(t, got, name)
				default:
					assert.Equal(t, want[i], strconv.Itoa(got), name)
				}
			}
			for _, s := range servers {
				alive(t, s)
			}
		})
	}
}

// allocated runs f and returns the bytes the process allocated meanwhile.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Not parallel: the process's allocations are measured.
func TestAHugeContentLengthCostsTheServerNoMemory(t *testing.T) {
	s, _ := start(t, "node-huge")
	alive(t, s)
	huge := func(transport, length string) []byte {
		return []byte(strings.Replace(string(optionsRequest(transport, "INVITE")), "Content-Length: 0", "Content-Type: application/sdp\r\nContent-Length: "+length, 1) + "v=0\r\n")
	}
	var udp, tcp []int
	delta := allocated(func() {
		for range 10 {
			for _, length := range []string{"4294967295", "1073741824"} {
				udp = append(udp, overUDP(t, s.Addr(), huge("UDP", length), 2*time.Second))
			}
		}
		for _, length := range []string{"4294967295", "1073741824"} {
			tcp = append(tcp, overTCP(t, s.Addr(), huge("TCP", length), 2*time.Second))
		}
	})
	for _, code := range append(udp, tcp...) {
		assert.Equal(t, 513, code, "refused as too large")
	}
	// 24 messages declaring 22 GB in all: the test's own sockets and
	// buffers, the server's idle work and a few SIP messages fit in 32 MB.
	assert.Less(t, delta, uint64(32<<20), "allocated %d MB", delta>>20)
	alive(t, s)
}

func TestAFloodFromOneAddressIsRefusedBeforeTheStack(t *testing.T) {
	t.Parallel()
	w := gentest.New(t, 0)
	s := newServer(t, w, "node-flood")
	s.Cfg.Rate = 20 // a second, bursts of 40
	run(t, s)
	c, err := net.Dial("udp", s.Addr())
	require.NoError(t, err)
	defer c.Close()
	limited := telephony.SIPRefused("udp", "limited")
	start := time.Now()
	for range 300 {
		_, err := c.Write(optionsRequest("UDP", "OPTIONS"))
		require.NoError(t, err)
	}
	answered := 0
	buf := make([]byte, 65536)
	for {
		require.NoError(t, c.SetReadDeadline(time.Now().Add(500*time.Millisecond)))
		n, err := c.Read(buf)
		if err != nil {
			break
		}
		if statusCode(buf[:n]) == 200 {
			answered++
		}
	}
	allowed := 40 + int(20*time.Since(start).Seconds()) + 1
	assert.LessOrEqual(t, answered, allowed, "a burst and the rate, no more")
	assert.Greater(t, answered, 30, "the burst is answered")
	assert.GreaterOrEqual(t, telephony.SIPRefused("udp", "limited")-limited, float64(300-allowed))
	time.Sleep(time.Second) // refilled
	alive(t, s)
}

// Not parallel: the process's count of panics is read.
func TestAPanicInAHandlerIsAnswered500AndTheServerLivesOn(t *testing.T) {
	w := gentest.New(t, 0)
	s := newServer(t, w, "node-panic")
	telephony.HandleForTest(s, "BOOM", func(req *sip.Request, tx sip.ServerTransaction) {
		var missing *sip.ContactHeader
		_ = missing.Address // what a handler reading a header that is not there does
	})
	run(t, s)
	before := telephony.PanicsRecovered()
	assert.Equal(t, 500, overUDP(t, s.Addr(), optionsRequest("UDP", "BOOM"), 3*time.Second))
	assert.Equal(t, 500, overTCP(t, s.Addr(), optionsRequest("TCP", "BOOM"), 3*time.Second))
	assert.Equal(t, before+2, telephony.PanicsRecovered())
	alive(t, s)
}

func TestAPanickingGoroutineIsRecovered(t *testing.T) {
	before := telephony.PanicsRecovered()
	done := make(chan struct{})
	telephony.GoSafe("a test", func() {
		defer close(done)
		var m map[string]int
		m["x"] = 1 // assignment to a nil map
	})
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the goroutine's own deferred calls did not run")
	}
	assert.Eventually(t, func() bool { return telephony.PanicsRecovered() == before+1 }, 5*time.Second, 10*time.Millisecond)
}

// slowOptions makes s answer method 200 after a while: long enough for a
// test to close its connection first.
func slowOptions(s *telephony.Server, method string) {
	telephony.HandleForTest(s, method, func(req *sip.Request, tx sip.ServerTransaction) {
		time.Sleep(300 * time.Millisecond)
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	})
}

// withVia is optionsRequest with its top Via replaced.
func withVia(transport, method, via string) []byte {
	lines := strings.SplitN(string(optionsRequest(transport, method)), "\r\n", 3)
	return []byte(lines[0] + "\r\nVia: " + via + "\r\n" + lines[2])
}

func TestAForgedViaCannotSteerATCPResponseOnceTheConnectionCloses(t *testing.T) {
	t.Parallel()
	w := gentest.New(t, 0)
	s := newServer(t, w, "node-steer-tcp")
	slowOptions(s, "SLOW")
	run(t, s)

	// Where the forged Via sends the response.
	forged, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer forged.Close()
	dialled := make(chan []byte, 4)
	go func() {
		for {
			c, err := forged.Accept()
			if err != nil {
				return
			}
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 4096)
			n, _ := c.Read(buf)
			dialled <- buf[:n]
			c.Close()
		}
	}()
	port := forged.Addr().(*net.TCPAddr).Port
	// sipgo binds a server transaction to a connection in a goroutine of
	// its own once the request is read: a client that closes at once
	// often wins the race, and then sipgo dials the Via. Many tries make
	// the race won.
	vias := []string{
		"SIP/2.0/TCP x.invalid;branch=z9hG4bK-steer-%d;received=127.0.0.1;rport=%d",
		"SIP/2.0/TCP 127.0.0.1:%[2]d;branch=z9hG4bK-steer-%[1]d",
		"SIP/2.0/TCP 127.0.0.1:%[2]d;branch=z9hG4bK-steer-%[1]d;rport",
	}
	for i := range 150 {
		via := fmt.Sprintf(vias[i%len(vias)], probeSeq.Add(1), port)
		c, err := net.Dial("tcp", s.Addr())
		require.NoError(t, err)
		_, err = c.Write(withVia("TCP", "OPTIONS", via))
		require.NoError(t, err)
		require.NoError(t, c.Close())
	}
	select {
	case got := <-dialled:
		t.Errorf("the server dialled the forged address and sent %q", got)
	case <-time.After(2 * time.Second):
	}
	// A request whose connection stays open is answered on it.
	assert.Equal(t, 200, overTCP(t, s.Addr(), withVia("TCP", "SLOW", fmt.Sprintf("SIP/2.0/TCP 127.0.0.1:%d;branch=z9hG4bK-steer-%d;received=10.0.0.5;rport=%d", port, probeSeq.Add(1), port)), 3*time.Second))
	assert.Empty(t, dialled)
	alive(t, s)
}

func TestAValuedRportCannotSteerAUDPResponse(t *testing.T) {
	t.Parallel()
	s, _ := start(t, "node-steer-udp")
	// Another socket of the sender's host, which the Via names.
	other, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer other.Close()
	port := other.LocalAddr().(*net.UDPAddr).Port
	for _, via := range []string{
		fmt.Sprintf("SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-rport-%d;rport=%d", port, probeSeq.Add(1), port),
		fmt.Sprintf("SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-rport-%d;rport=1234;received=127.0.0.2", port, probeSeq.Add(1)),
	} {
		assert.Equal(t, 200, overUDP(t, s.Addr(), withVia("UDP", "OPTIONS", via), 3*time.Second), "answered to the port it came from: %s", via)
	}
	require.NoError(t, other.SetReadDeadline(time.Now().Add(300*time.Millisecond)))
	n, _, err := other.ReadFrom(make([]byte, 4096))
	assert.Error(t, err, "the port the Via names got %d bytes", n)
}

func TestAPanickingPromptEndsThePlaybackItsCallAwaits(t *testing.T) {
	before := telephony.PanicsRecovered()
	done := telephony.Playing(func() error {
		var pb *struct{ n int }
		pb.n++ // what a media library dereferencing a nil pointer does
		return nil
	})
	select {
	case err := <-done:
		assert.Error(t, err, "the call learns the prompt failed")
	case <-time.After(5 * time.Second):
		t.Fatal("the call would wait for the prompt for good")
	}
	assert.Eventually(t, func() bool { return telephony.PanicsRecovered() == before+1 }, 5*time.Second, 10*time.Millisecond)
	assert.NoError(t, <-telephony.Playing(func() error { return nil }))
}
