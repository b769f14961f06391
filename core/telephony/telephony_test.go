package telephony_test

import (
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/ivr"
	"github.com/hotline12345/hotline/core/pgtest"
	"github.com/hotline12345/hotline/core/telephony"
	"github.com/hotline12345/hotline/deploy/gen/gentest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// start runs the kernel's SIP side on a free port over a fresh database
// holding the repository's configuration.
func start(t *testing.T, node string) (*telephony.Server, *gentest.World) {
	t.Helper()
	w := gentest.New(t, 0)
	s := &telephony.Server{Config: w.Runtime, Pool: w.Pool, Runner: &ivr.Runner{Scripts: w.Engine.Scripts},
		Cfg: telephony.Config{Addr: "127.0.0.1:0", Prompts: "../../testdata/prompts", Recordings: t.TempDir(), Node: node}}
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, s.Start(ctx))
	t.Cleanup(func() {
		cancel()
		s.Stop()
	})
	return s, w
}

// freePort returns a UDP port nothing listens on (sipp needs one for SIP
// and one pair for media).
func freePort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// sipp places one call with a scenario of testdata/sipp and fails the test
// unless sipp reports it successful.
func sipp(t *testing.T, addr, scenario, number string) {
	t.Helper()
	path, err := exec.LookPath("sipp")
	require.NoError(t, err, "sipp is needed (Debian package sip-tester; make deps installs it)")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sf, err := filepath.Abs("../../testdata/sipp/" + scenario)
	require.NoError(t, err)
	cmd := exec.CommandContext(ctx, path, "-sf", sf, "-s", number, addr,
		"-m", "1", "-l", "1", "-i", "127.0.0.1", "-p", strconv.Itoa(freePort(t)), "-mp", strconv.Itoa(freePort(t)&^1),
		"-nostdin", "-timeout", "60s", "-timeout_error", "-recv_timeout", "30s")
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "sipp %s:\n%s", scenario, tail(string(out), 40))
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	return strings.Join(l[max(0, len(l)-lines):], "\n")
}

type call struct {
	Outcome, Queue, Lang, EndReason string
	Path                            []string
	Ended                           bool
}

func lastCall(t *testing.T, w *gentest.World) (call, int64) {
	t.Helper()
	var c call
	var id int64
	var queue, lang, reason *string
	require.NoError(t, w.Pool.QueryRow(context.Background(), `SELECT id, COALESCE(outcome, ''), queue, lang, ivr_path, end_reason, ended_at IS NOT NULL
		FROM calls ORDER BY id DESC LIMIT 1`).Scan(&id, &c.Outcome, &queue, &lang, &c.Path, &reason, &c.Ended))
	for _, p := range []struct {
		dst *string
		src *string
	}{{&c.Queue, queue}, {&c.Lang, lang}, {&c.EndReason, reason}} {
		if p.src != nil {
			*p.dst = *p.src
		}
	}
	return c, id
}

// eventually waits for the call's record to be closed: the server writes
// it after answering the caller's BYE.
func closedCall(t *testing.T, w *gentest.World) (call, int64) {
	t.Helper()
	var c call
	var id int64
	require.Eventually(t, func() bool {
		c, id = lastCall(t, w)
		return c.Ended
	}, 10*time.Second, 50*time.Millisecond)
	return c, id
}

func TestACallWalksTheMenuIntoAQueue(t *testing.T) {
	for _, tc := range []struct{ name, scenario string }{
		{"RFC 4733 keys with zero-duration first packets", "ivr_rfc4733.xml"},
		{"SIP INFO keys", "ivr_info.xml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, w := start(t, "node-"+tc.scenario)
			sipp(t, s.Addr(), tc.scenario, "12345")
			c, id := closedCall(t, w)
			assert.Equal(t, call{Outcome: "queue", Queue: "general", Lang: "zh", EndReason: "caller hung up", Ended: true,
				Path: []string{"welcome", "language", "menu", "consult", "agent"}}, c)

			rows, err := w.Pool.Query(context.Background(), `SELECT kind, COALESCE(data->>'node', ''), COALESCE(data->>'digits', ''),
				COALESCE(jsonb_array_length(data->'response_ms'), 0) FROM call_events WHERE call_id = $1 ORDER BY seq`, id)
			require.NoError(t, err)
			var events []string
			for rows.Next() {
				var kind, node, digits string
				var responses int
				require.NoError(t, rows.Scan(&kind, &node, &digits, &responses))
				e := kind
				if node != "" {
					e += " " + node
				}
				if digits != "" {
					e += " " + digits
				}
				if kind == "ivr" {
					e += " responses:" + strconv.Itoa(responses)
				}
				events = append(events, e)
			}
			require.NoError(t, rows.Err())
			assert.Equal(t, []string{"offered", "answered", "key language 1", "key menu 1", "ivr agent responses:2", "ended"}, events,
				"each key's response (to the next prompt) is measured")
		})
	}
}

func TestCallerHangsUpInTheMenuAndJunkIsIgnored(t *testing.T) {
	t.Parallel()
	s, w := start(t, "node-hangup")
	// Malformed SIP is dropped without harming the next call.
	junk, err := net.Dial("udp", s.Addr())
	require.NoError(t, err)
	for _, b := range []string{"\x00\x01\x02garbage", "INVITE sip:12345@x SIP/2.0\r\nVia: nonsense\r\n\r\n", strings.Repeat("A", 4000)} {
		_, err = junk.Write([]byte(b))
		require.NoError(t, err)
	}
	junk.Close()

	sipp(t, s.Addr(), "ivr_hangup.xml", "12345")
	c, _ := closedCall(t, w)
	assert.Equal(t, call{Outcome: "abandoned", Lang: "zh", EndReason: "caller hung up", Ended: true, Path: []string{"welcome"}}, c)
	var open int
	require.NoError(t, w.Pool.QueryRow(context.Background(), `SELECT count(*) FROM calls WHERE ended_at IS NULL`).Scan(&open))
	assert.Zero(t, open, "no call is left open")
}

func TestCallsLeftOpenByARestartAreClosed(t *testing.T) {
	t.Parallel()
	w := gentest.New(t, 0)
	ctx := context.Background()
	var id int64
	require.NoError(t, w.Pool.QueryRow(ctx, `INSERT INTO calls (sip_call_id, direction, caller, called, node) VALUES ('x', 'inbound', '1', '12345', 'node-r') RETURNING id`).Scan(&id))
	_, err := w.Pool.Exec(ctx, `INSERT INTO call_events (call_id, seq, at, kind) VALUES ($1, 1, now(), 'offered')`, id)
	require.NoError(t, err)
	s := &telephony.Server{Config: w.Runtime, Pool: w.Pool, Runner: &ivr.Runner{},
		Cfg: telephony.Config{Addr: "127.0.0.1:0", Prompts: t.TempDir(), Recordings: t.TempDir(), Node: "node-r"}}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	require.NoError(t, s.Start(sctx))
	defer s.Stop()
	var outcome, reason string
	var events int
	require.NoError(t, w.Pool.QueryRow(ctx, `SELECT outcome, end_reason, (SELECT count(*) FROM call_events WHERE call_id = $1) FROM calls WHERE id = $1`, id).
		Scan(&outcome, &reason, &events))
	assert.Equal(t, []any{"abandoned", "server restarted", 2}, []any{outcome, reason, events})
}
