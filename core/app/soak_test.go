package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/app"
	"github.com/hotline12345/hotline/core/pgtest"
)

// soakCeilingMB is the resident memory the whole test process (server,
// test client and Go runtime) must stay under while the probe is
// replayed. Before the SIP bounds, one datagram made the process allocate
// the gigabyte its Content-Length announced.
const soakCeilingMB = 300

// TestSoakReplaysTheProbe replays, class by class, what an attacker and a
// careless insider tried against `hotline serve --demo` (issue 14), over
// loopback and in bounded counts, and checks after each class that the
// server is still up and ready, answers an ordinary request, and stays
// under soakCeilingMB.
func TestSoakReplaysTheProbe(t *testing.T) {
	cfg := baseConfig(t)
	cfg.DatabaseURL = pgtest.URL(t)
	cfg.TrustProxy = true // the stranger and the owner differ by X-Forwarded-For
	base := serverWith(t, cfg, app.Options{Demo: true, DemoTickets: 50, DemoArticles: 20})
	agent := login(t, base, "agent")

	healthy := func(class string) {
		t.Helper()
		code, body := readyz(t, base)
		require.Equal(t, http.StatusOK, code, "%s: /readyz: %s", class, body)
		r := query(t, base, agent, `{ me { username } }`, nil)
		require.Empty(t, r.Errors, class)
		require.Equal(t, "agent", r.Data["me"].(map[string]any)["username"], class)
		rss := residentMB(t)
		t.Logf("%s: ready, resident %d MB", class, rss)
		require.Less(t, rss, soakCeilingMB, "%s: resident memory", class)
	}
	healthy("start")

	t.Run("fragment cycles before login", func(t *testing.T) {
		for i := range 20 {
			docs := []string{
				`{...A} fragment A on Query{...B} fragment B on Query{...A}`,
				`{...A} fragment A on Query{me{...B}} fragment B on User{...C} fragment C on User{... on User{...B}}`,
				fmt.Sprintf(`query Q%d {...A} fragment A on Query{...A}`, i),
			}
			r := query(t, base, "", docs[i%len(docs)], nil)
			require.NotEmpty(t, r.Errors)
			assert.Equal(t, "BAD_USER_INPUT", r.Errors[0].Extensions["code"])
		}
		healthy(t.Name())
	})

	t.Run("deeply nested values before login", func(t *testing.T) {
		for i := range 10 {
			depth := 30000 + i
			doc := `{ searchTickets(query: "a", filter: {facets: ` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}) { totalCount } }`
			start := time.Now()
			r := query(t, base, "", doc, nil)
			require.NotEmpty(t, r.Errors)
			assert.Equal(t, "BAD_USER_INPUT", r.Errors[0].Extensions["code"])
			if i == 0 {
				t.Logf("%d KB nested %d deep: refused in %v", len(doc)>>10, depth, time.Since(start))
			}
		}
		healthy(t.Name())
	})

	t.Run("overlapping fields", func(t *testing.T) {
		doc := "{" + strings.Repeat("me { username } ", 5000) + "}"
		for range 5 {
			r := query(t, base, agent, doc, nil)
			require.NotEmpty(t, r.Errors)
		}
		healthy(t.Name())
	})

	t.Run("long variables", func(t *testing.T) {
		long := strings.Repeat("供暖", 50000)
		for _, q := range []string{
			`query($q: String!) { searchKnowledge(query: $q) { total } }`,
			`query($q: String!) { searchKnowledge(query: $q, filter: {fuzzy: true}) { total } }`,
			`query($q: String!) { suggestKnowledge(prefix: $q) { text } }`,
			`query($q: String!) { searchTickets(query: $q) { totalCount } }`,
		} {
			r := query(t, base, agent, q, map[string]any{"q": long})
			require.NotEmpty(t, r.Errors, q)
			assert.Equal(t, "BAD_USER_INPUT", r.Errors[0].Extensions["code"], q)
		}
		healthy(t.Name())
	})

	t.Run("symbols only match nothing", func(t *testing.T) {
		for _, q := range []string{"%", "?", "😀", "%%__", "\x00"} {
			r := query(t, base, agent, `query($q: String!) { searchTickets(query: $q) { totalCount } }`, map[string]any{"q": q})
			if len(r.Errors) > 0 {
				assert.Equal(t, "BAD_USER_INPUT", r.Errors[0].Extensions["code"], "%q", q)
				continue
			}
			assert.EqualValues(t, 0, r.Data["searchTickets"].(map[string]any)["totalCount"], "%q", q)
		}
		healthy(t.Name())
	})

	t.Run("password guessing from a stranger", func(t *testing.T) {
		owner, stranger := "127.0.0.10", "127.0.0.66"
		require.Equal(t, "", loginFrom(t, base, owner, "admin", demoPassword), "the owner signs in at the usual workstation")
		var answers []string
		for range 30 {
			answers = append(answers, loginFrom(t, base, stranger, "admin", "Guess@12345"))
		}
		answers = append(answers, loginFrom(t, base, stranger, "admin", demoPassword))
		for _, a := range answers {
			require.Equal(t, answers[0], a, "every failure gets the same answer, the right password too")
		}
		require.NotEmpty(t, answers[0])
		assert.Equal(t, "", loginFrom(t, base, owner, "admin", demoPassword), "the owner is not locked out")
		healthy(t.Name())
	})

	t.Run("recordings do not tell which calls exist", func(t *testing.T) {
		var bodies []string
		for _, id := range []string{"1", "999999999"} {
			req, err := http.NewRequest(http.MethodGet, base+"/recordings/"+id, nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+login(t, base, "clerk"))
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, id)
			bodies = append(bodies, string(b))
		}
		assert.Equal(t, bodies[0], bodies[1])
		healthy(t.Name())
	})

	t.Run("SIP", func(t *testing.T) {
		udp, err := net.Dial("udp", cfg.SIPAddr)
		require.NoError(t, err)
		defer udp.Close()
		send := func(msg []byte) { _, _ = udp.Write(msg) }
		sipAlive := func(class string) {
			t.Helper()
			require.True(t, optionsAnswered(t, cfg.SIPAddr), "%s: SIP answers OPTIONS", class)
		}
		sipAlive("before")

		// A huge declared body, from one source and then "from" many.
		for i := range 200 {
			send(fmt.Appendf(nil, "INVITE sip:12345@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK%d\r\n"+
				"From: <sip:a@127.0.0.1>;tag=%d\r\nTo: <sip:12345@127.0.0.1>\r\nCall-ID: huge-%d\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"+
				"Content-Length: %d\r\n\r\nv=0\r\n", i, i, i, []int64{4294967295, 1 << 30, 1<<31 - 1}[i%3]))
		}
		// The 49 torture messages, over UDP and over TCP.
		var torture [][]byte
		require.NoError(t, filepath.WalkDir("../../testdata/sip/rfc4475", func(path string, d os.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(path, ".dat") {
				b, rerr := os.ReadFile(path)
				torture = append(torture, b)
				return rerr
			}
			return err
		}))
		require.Len(t, torture, 49)
		for _, m := range torture {
			send(m)
			if c, err := net.DialTimeout("tcp", cfg.SIPAddr, time.Second); err == nil {
				_ = c.SetDeadline(time.Now().Add(200 * time.Millisecond))
				_, _ = c.Write(m)
				_, _ = c.Read(make([]byte, 4096))
				c.Close()
			}
		}
		// Requests lacking mandatory headers, and random bytes.
		for _, m := range []string{
			"INVITE sip:12345@127.0.0.1 SIP/2.0\r\n\r\n",
			"OPTIONS sip:12345@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999\r\n\r\n",
			"BYE sip:12345@127.0.0.1 SIP/2.0\r\nCall-ID: x\r\nCSeq: 1 BYE\r\n\r\n",
			"ACK sip:12345@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKx\r\nCSeq: 1 ACK\r\nContent-Length: 5\r\n\r\n",
		} {
			send([]byte(m))
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for range 300 {
			b := make([]byte, 1+rng.IntN(1400))
			for i := range b {
				b[i] = byte(rng.UintN(256))
			}
			send(b)
		}
		// A TCP stream announcing a gigabyte body, then holding the line.
		if c, err := net.DialTimeout("tcp", cfg.SIPAddr, time.Second); err == nil {
			_, _ = c.Write([]byte("INVITE sip:12345@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKtcp\r\n" +
				"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:12345@127.0.0.1>\r\nCall-ID: tcp-huge\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n" +
				"Content-Length: 1073741824\r\n\r\n" + strings.Repeat("v", 4096)))
			time.Sleep(200 * time.Millisecond)
			c.Close()
		}
		time.Sleep(500 * time.Millisecond) // let the datagrams be read
		sipAlive("after")
		healthy(t.Name())
	})
}

// loginFrom signs in as user from addr (as the proxy in front would say)
// and returns the error message, or "" on success.
func loginFrom(t *testing.T, base, addr, user, password string) string {
	t.Helper()
	body := fmt.Sprintf(`{"query": "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }", "variables": {"u": %q, "p": %q}}`, user, password)
	req, err := http.NewRequest(http.MethodPost, base+"/graphql", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", addr)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out gqlResponse
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &out))
	if len(out.Errors) == 0 {
		return ""
	}
	return out.Errors[0].Message + " " + fmt.Sprint(out.Errors[0].Extensions)
}

// optionsAnswered sends an OPTIONS from a fresh UDP socket and reports
// whether any SIP response comes back.
func optionsAnswered(t *testing.T, addr string) bool {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer c.Close()
	to, err := net.ResolveUDPAddr("udp", addr)
	require.NoError(t, err)
	local := c.LocalAddr().String()
	for attempt := range 3 {
		msg := fmt.Sprintf("OPTIONS sip:12345@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKsoak%d;rport\r\nMax-Forwards: 70\r\n"+
			"From: <sip:soak@%s>;tag=soak%d\r\nTo: <sip:12345@%s>\r\nCall-ID: soak-%d-%d@%s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
			addr, local, attempt, local, attempt, addr, os.Getpid(), attempt, local)
		if _, err := c.WriteTo([]byte(msg), to); err != nil {
			return false
		}
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 4096)
		n, _, err := c.ReadFrom(buf)
		if err == nil && bytes.HasPrefix(buf[:n], []byte("SIP/2.0 ")) {
			return true
		}
	}
	return false
}

// residentMB is the test process's resident memory (VmRSS). Under the
// race detector (make test builds with -race) it is instead the memory the
// Go runtime holds from the system: there VmRSS also counts the
// detector's shadow of every byte the program touched, several times the
// program's own (486 MB at the start here, against 71 MB without it),
// and a request that makes the server allocate shows in either.
func residentMB(t *testing.T) int {
	t.Helper()
	if raceDetector {
		s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
		metrics.Read(s)
		return int((s[0].Value.Uint64() - s[1].Value.Uint64()) >> 20)
	}
	b, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			require.NoError(t, err)
			return kb >> 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}
