package telephony_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/diago/audio"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/acd"
	"github.com/hotline12345/hotline/core/filestore"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/ivr"
	"github.com/hotline12345/hotline/core/module"
	"github.com/hotline12345/hotline/core/pgtest"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/telephony"
	"github.com/hotline12345/hotline/deploy/gen/gentest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// start runs the kernel's SIP side on a free port over a fresh database
// holding the repository's configuration.
func start(t *testing.T, node string) (*telephony.Server, *gentest.World) {
	t.Helper()
	return startWith(t, node, nil)
}

// startWith is start with configuration files replaced: files maps a path
// under the repository (flows/trunks.yaml) to its text.
func startWith(t *testing.T, node string, files map[string]string) (*telephony.Server, *gentest.World) {
	t.Helper()
	w := gentest.New(t, 0)
	if len(files) > 0 {
		w.Runtime.Swap(loadWith(t, files))
	}
	s := newServer(t, w, node)
	run(t, s)
	return s, w
}

// loadWith loads the repository's configuration with files replaced, as
// startWith takes them.
func loadWith(t *testing.T, files map[string]string) *registry.Set {
	t.Helper()
	root := gentest.Root()
	overrides := map[string]string{}
	for path, text := range files {
		overrides[filepath.Join(root, path)] = text
	}
	set, diags := registry.Load(context.Background(), []string{filepath.Join(root, "flows"), filepath.Join(root, "forms"), filepath.Join(root, "scripts")},
		registry.LoadOptions{Overrides: overrides})
	require.Empty(t, diags)
	return set
}

// newServer is a server with agents and a distributor over w, on a free
// port, not started.
func newServer(t *testing.T, w *gentest.World, node string) *telephony.Server {
	agents := &acd.Service{Pool: w.Pool, Config: w.Runtime}
	return &telephony.Server{Config: w.Runtime, Pool: w.Pool, Runner: &ivr.Runner{Scripts: w.Engine.Scripts}, Agents: agents,
		ACD:   &acd.Distributor{Agents: agents, Config: w.Runtime},
		Files: filestore.Dir{Root: t.TempDir()},
		Cfg:   telephony.Config{Addr: "127.0.0.1:0", Prompts: "../../testdata/prompts", Spool: t.TempDir(), Node: node}}
}

// run starts s, and its distributor when it has one, until the test ends.
func run(t *testing.T, s *telephony.Server) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if s.ACD != nil {
		go s.ACD.Run(ctx, 100*time.Millisecond)
	}
	require.NoError(t, s.Start(ctx))
	t.Cleanup(func() {
		cancel()
		s.Stop()
	})
}

// ports hands out blocks of four ports below the system's ephemeral range:
// a sipp takes its SIP port, or its media port and the three after it, so
// ports the system picked at random for one parallel test's sipp could be
// taken by another's media.
var ports atomic.Int32

func init() { ports.Store(int32(20000 + os.Getpid()%2000*4)) }

// freePort returns an even port p with p..p+3 free and given to no other
// sipp of this test run.
func freePort(t *testing.T) int {
	t.Helper()
	for range 1000 {
		p := int(ports.Add(4))
		if p > 32000 {
			ports.Store(20000)
			continue
		}
		free := true
		for i := range 4 {
			c, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p+i)))
			if err != nil {
				free = false
				break
			}
			c.Close()
		}
		if free {
			return p
		}
	}
	t.Fatal("no free block of ports for sipp")
	return 0
}

// sipp places one call with a scenario of testdata/sipp and fails the test
// unless sipp reports it successful.
func sipp(t *testing.T, addr, scenario, number string, extra ...string) {
	t.Helper()
	out, err := sippCmd(t, addr, scenario, number, 0, extra...).CombinedOutput()
	require.NoError(t, err, "sipp %s:\n%s", scenario, tail(string(out), 40))
}

// sippCmd is sipp with a scenario, on localPort (0: a free one).
func sippCmd(t *testing.T, addr, scenario, number string, localPort int, extra ...string) *exec.Cmd {
	t.Helper()
	path, err := exec.LookPath("sipp")
	require.NoError(t, err, "sipp is needed (Debian package sip-tester; make deps installs it)")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	sf, err := filepath.Abs("../../testdata/sipp/" + scenario)
	require.NoError(t, err)
	if localPort == 0 {
		localPort = freePort(t)
	}
	args := append([]string{"-sf", sf, "-s", number, addr,
		"-m", "1", "-l", "1", "-i", "127.0.0.1", "-p", strconv.Itoa(localPort), "-mp", strconv.Itoa(freePort(t)),
		"-nostdin", "-timeout", "60s", "-timeout_error", "-recv_timeout", "45s", "-d", "7000"}, extra...)
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = t.TempDir()
	return cmd
}

// lockedBuilder is a strings.Builder that a running command's output may
// be written to while the test reads it.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
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
			assert.Equal(t, call{Outcome: "queue", Queue: "general", Lang: "zh", EndReason: "caller hung up in queue", Ended: true,
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
			assert.Equal(t, []string{"offered", "answered", "key language 1", "key menu 1", "ivr agent responses:2", "queued", "announced", "abandoned", "ended"}, events,
				"each key's response (to the next prompt) is measured; with no agent signed in the caller hears the queue's wait prompt and leaves")
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

// spooledWAV writes what a recording in progress leaves in the spool when
// its node stops: audio after a header whose sizes were never set.
func spooledWAV(t *testing.T, path string, channels, samples int) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	wav := audio.NewWavWriter(f)
	wav.NumChans = channels
	_, err = wav.Write(make([]byte, 2*channels*samples))
	require.NoError(t, err)
	require.NoError(t, f.Close()) // no wav.Close: the node stopped
}

func TestCallsLeftOpenByARestartAreClosedAndTheirRecordingsKept(t *testing.T) {
	t.Parallel()
	w := gentest.New(t, 0)
	ctx := context.Background()
	var talk, message int64
	require.NoError(t, w.Pool.QueryRow(ctx, `INSERT INTO calls (sip_call_id, direction, caller, called, node) VALUES ('x', 'inbound', '1', '12345', 'node-r') RETURNING id`).Scan(&talk))
	_, err := w.Pool.Exec(ctx, `INSERT INTO call_events (call_id, seq, at, kind) VALUES ($1, 1, now(), 'offered')`, talk)
	require.NoError(t, err)
	require.NoError(t, w.Pool.QueryRow(ctx, `INSERT INTO calls (sip_call_id, direction, caller, called, node) VALUES ('vm@10.0.0.1:5060', 'inbound', '2', '12345', 'node-r') RETURNING id`).Scan(&message))
	spool := t.TempDir()
	spooledWAV(t, filepath.Join(spool, fmt.Sprintf("call-%d.wav", talk)), 2, 8000)
	spooledWAV(t, filepath.Join(spool, "vm-vm_10.0.0.1_5060.wav"), 1, 4000)
	spooledWAV(t, filepath.Join(spool, "call-99999999.wav"), 2, 10) // no such call
	s := &telephony.Server{Config: w.Runtime, Pool: w.Pool, Runner: &ivr.Runner{},
		Files: filestore.Dir{Root: t.TempDir()},
		Cfg:   telephony.Config{Addr: "127.0.0.1:0", Prompts: t.TempDir(), Spool: spool, Node: "node-r"}}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	require.NoError(t, s.Start(sctx))
	defer s.Stop()
	var outcome, reason string
	require.NoError(t, w.Pool.QueryRow(ctx, `SELECT outcome, end_reason FROM calls WHERE id = $1`, talk).Scan(&outcome, &reason))
	assert.Equal(t, []any{"abandoned", "server restarted"}, []any{outcome, reason})
	assert.Equal(t, []string{"offered", "ended", "recorded"}, callEventKinds(t, w, talk))

	// The recordings the stop left are kept, their WAV headers made whole.
	for _, c := range []struct {
		call     int64
		channels int
		samples  int
	}{{talk, 2, 8000}, {message, 1, 4000}} {
		var key string
		var size int64
		require.NoError(t, w.Pool.QueryRow(ctx, `SELECT recording, recording_bytes FROM calls WHERE id = $1`, c.call).Scan(&key, &size))
		data := stored(t, s, key)
		require.Len(t, data, 44+2*c.channels*c.samples)
		assert.Equal(t, int64(len(data)), size)
		assert.Equal(t, uint32(len(data)-8), binary.LittleEndian.Uint32(data[4:8]), "RIFF size")
		assert.Equal(t, uint32(2*c.channels*c.samples), binary.LittleEndian.Uint32(data[40:44]), "data size")
	}
	left, err := os.ReadDir(spool)
	require.NoError(t, err)
	require.Len(t, left, 1, "a recording no call waits for stays in the spool")
	assert.Equal(t, "call-99999999.wav", left[0].Name())
}

// agentPhone makes username an agent with extension ext, signs it in and
// starts its phone (sipp registering and answering); wait returns the
// phone's output once its call ended.
func agentPhone(t *testing.T, s *telephony.Server, w *gentest.World, username, ext string) (wait func() (string, error)) {
	return phoneWith(t, s, w, username, ext, "agent_answer.xml")
}

// phoneWith is agentPhone whose phone plays scenario when rung.
func phoneWith(t *testing.T, s *telephony.Server, w *gentest.World, username, ext, scenario string, flags ...string) (wait func() (string, error)) {
	t.Helper()
	ctx := context.Background()
	agents := &acd.Service{Pool: w.Pool, Config: w.Runtime}
	p := w.As(t, username)
	_, err := agents.SetProfile(ctx, w.As(t, "admin"), p.UserID, acd.Profile{Extension: ext, SIPPassword: "pw-" + ext, Skills: map[string]int{"hotline": 5}})
	require.NoError(t, err)
	_, err = agents.SignIn(ctx, p)
	require.NoError(t, err)
	// The phone answers on one port and registers that port as its
	// contact from another (sipp drops requests of calls it did not start).
	answerPort := freePort(t)
	if len(flags) == 0 {
		flags = []string{"-rtp_echo"}
	}
	cmd := sippCmd(t, s.Addr(), scenario, ext, answerPort, flags...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	sipp(t, s.Addr(), "agent_register.xml", ext, "-au", ext, "-ap", "pw-"+ext, "-key", "answer_port", strconv.Itoa(answerPort))
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, w.Pool.QueryRow(ctx, `SELECT count(*) FROM sip_bindings WHERE extension = $1`, ext).Scan(&n))
		return n == 1
	}, 10*time.Second, 50*time.Millisecond, "the phone registers")
	return func() (string, error) {
		err := cmd.Wait()
		return out.String(), err
	}
}

func TestACallReachesAnAgentPhoneAndTheAgentWrapsUp(t *testing.T) {
	t.Parallel()
	s, w := start(t, "node-agent")
	ctx := context.Background()
	phone := agentPhone(t, s, w, "agent", "8001")
	// The caller has a ticket still open; the agent's screen is listening.
	open, err := w.Engine.Create(ctx, w.As(t, "agent2"), "ticket", "register", map[string]any{
		"caller_phone": "13800138000", "title": "小区供暖不热", "content": "暖气不热", "type": "投诉"})
	require.NoError(t, err)
	popCtx, stopPops := context.WithCancel(ctx)
	defer stopPops()
	m := telephony.Module{Pool: w.Pool, Server: s, Agents: s.Agents, Tickets: w.Search}
	pops, err := m.ScreenPops(popCtx, w.As(t, "agent"))
	require.NoError(t, err)
	var popMu sync.Mutex
	var got []telephony.ScreenPop
	go func() {
		for pop := range pops {
			popMu.Lock()
			got = append(got, pop)
			popMu.Unlock()
		}
	}()

	sipp(t, s.Addr(), "ivr_rfc4733.xml", "12345")
	out, err := phone()
	require.NoError(t, err, "agent phone:\n%s", tail(out, 40))
	require.Eventually(t, func() bool { popMu.Lock(); defer popMu.Unlock(); return len(got) >= 2 }, 5*time.Second, 20*time.Millisecond, "two screen pops")
	popMu.Lock()
	var states []string
	for _, pop := range got {
		states = append(states, pop.State)
		assert.Equal(t, "13800138000", pop.Call.Caller)
		assert.Equal(t, []string{"welcome", "language", "menu", "consult", "agent"}, pop.Call.IVRPath)
		assert.Equal(t, "咨询", pop.Vars["type"], "what the caller chose in the menu")
		require.Len(t, pop.InTransit, 1)
		assert.Equal(t, open.Number, pop.InTransit[0].Number)
		assert.Equal(t, open.Fields["title"], pop.InTransit[0].Title, "the register form's summary field")
	}
	popMu.Unlock()
	assert.Equal(t, []string{"ringing", "talking"}, states, "a pop when the phone rings and when it is answered")

	c, id := closedCall(t, w)
	assert.Equal(t, "queue", c.Outcome)
	assert.Equal(t, "caller hung up", c.EndReason)
	var kinds []string
	// The wait prompt starts as the agent's phone starts ringing: either
	// may be recorded first.
	rows, err := w.Pool.Query(context.Background(), `SELECT kind FROM call_events WHERE call_id = $1 AND kind NOT IN ('key', 'announced') ORDER BY seq`, id)
	require.NoError(t, err)
	for rows.Next() {
		var k string
		require.NoError(t, rows.Scan(&k))
		kinds = append(kinds, k)
	}
	assert.Equal(t, []string{"offered", "answered", "ivr", "queued", "ringing", "connected", "recorded", "ended"}, kinds)
	var state, task string
	require.NoError(t, w.Pool.QueryRow(context.Background(), `SELECT s.state, s.task FROM agent_status s JOIN agents a USING (user_id) WHERE a.extension = '8001'`).Scan(&state, &task))
	assert.Equal(t, "wrapup", state, "after the call the agent wraps up")
}

func TestAnUnansweredPhoneIsPassedOverAndAWrongPasswordIsRefused(t *testing.T) {
	t.Parallel()
	s, w := start(t, "node-noanswer")
	m, ok := acd.Model(w.Runtime.Current())
	require.True(t, ok)
	m.Ring = 2 * time.Second // the configured 15 s, shortened for the test

	// A phone with a wrong password does not register.
	sipp(t, s.Addr(), "agent_register_refused.xml", "8001", "-au", "8001", "-ap", "wrong", "-key", "answer_port", "5999")

	sleepy := phoneWith(t, s, w, "agent", "8001", "agent_no_answer.xml")
	time.Sleep(1100 * time.Millisecond) // idle longer: offered first
	awake := agentPhone(t, s, w, "agent2", "8002")
	sipp(t, s.Addr(), "ivr_rfc4733.xml", "12345", "-d", "12000") // long enough for two offers
	for name, wait := range map[string]func() (string, error){"8001": sleepy, "8002": awake} {
		out, err := wait()
		require.NoError(t, err, "phone %s:\n%s", name, tail(out, 40))
	}
	_, id := closedCall(t, w)
	var offers []string
	rows, err := w.Pool.Query(context.Background(), `SELECT kind || ' ' || (data->>'agent') FROM call_events WHERE call_id = $1 AND kind IN ('ringing', 'not_answered', 'connected') ORDER BY seq`, id)
	require.NoError(t, err)
	for rows.Next() {
		var o string
		require.NoError(t, rows.Scan(&o))
		offers = append(offers, o)
	}
	assert.Equal(t, []string{"ringing agent", "not_answered agent", "ringing agent2", "connected agent2"}, offers)
	var state string
	var misses int
	require.NoError(t, w.Pool.QueryRow(context.Background(), `SELECT s.state, s.misses FROM agent_status s JOIN agents a USING (user_id) WHERE a.extension = '8001'`).Scan(&state, &misses))
	assert.Equal(t, "idle", state)
	assert.Equal(t, 1, misses)
}

func TestAVanishedAgentPhoneEndsTheCallAndFreesTheAgent(t *testing.T) {
	t.Parallel()
	w := gentest.New(t, 0)
	s := newServer(t, w, "node-silent")
	s.Cfg.MediaTimeout = 2 * time.Second
	run(t, s)
	// This phone answers and then sends no audio at all.
	phone := phoneWith(t, s, w, "agent", "8001", "agent_answer.xml", "-aa") // -aa: answers, no echo
	sipp(t, s.Addr(), "ivr_until_bye.xml", "12345")
	out, err := phone()
	require.NoError(t, err, "agent phone:\n%s", tail(out, 40))
	c, _ := closedCall(t, w)
	assert.Equal(t, "agent phone silent", c.EndReason)
	assert.Equal(t, "wrapup", agentState(t, w, "8001"))
}

func TestACallbackRequestBecomesATicket(t *testing.T) {
	t.Parallel()
	w := gentest.New(t, 0)
	s := &telephony.Server{Config: w.Runtime, Pool: w.Pool, Runner: &ivr.Runner{Scripts: w.Engine.Scripts},
		Tickets: w.Engine, Identity: w.IDs, Files: filestore.Dir{Root: t.TempDir()},
		Cfg: telephony.Config{Addr: "127.0.0.1:0", Prompts: "../../testdata/prompts", Spool: t.TempDir(), Node: "node-callback", IntakeUser: "agent"}}
	run(t, s)
	ctx := context.Background()
	sipp(t, s.Addr(), "ivr_callback.xml", "12345")
	c, id := closedCall(t, w)
	assert.Equal(t, "callback", c.Outcome)
	assert.Equal(t, "callback taken", c.EndReason)
	// The ticket's creating action bound the call (telephony.bind_call,
	// as for a ticket an agent registers), in the action's transaction:
	// bound as the intake account at the ticket's creation.
	var ticket int64
	var boundBy string
	var boundWithTicket bool
	require.NoError(t, w.Pool.QueryRow(ctx, `SELECT ct.ticket_id, u.username,
			EXISTS (SELECT 1 FROM ticket_events e WHERE e.ticket_id = ct.ticket_id AND e.xmin::text = ct.xmin::text)
		FROM call_tickets ct JOIN users u ON u.id = ct.bound_by WHERE ct.call_id = $1`, id).Scan(&ticket, &boundBy, &boundWithTicket))
	assert.Equal(t, "agent", boundBy, "the intake account")
	assert.True(t, boundWithTicket, "written by the transaction that created the ticket")
	assert.Contains(t, callEventKinds(t, w, id), "ticket", "the call's record notes its ticket")
	tk, err := w.Engine.Store.Get(ctx, w.As(t, "agent"), ticket)
	require.NoError(t, err)
	assert.Equal(t, "omni_pending", tk.State, "waits in the omnichannel intake for an agent to accept")
	assert.Equal(t, "预约回拨", tk.Fields["title"])
	assert.Equal(t, "13800138000", tk.Fields["caller_phone"])
	assert.Equal(t, "电话", tk.Fields["channel"])
	var callID string
	require.NoError(t, w.Pool.QueryRow(ctx, `SELECT sip_call_id FROM calls WHERE id = $1`, id).Scan(&callID))
	assert.Equal(t, callID, tk.Fields["session_id"], "the ticket names the call it came from")
}

// stored reads the file s keeps under key.
func stored(t *testing.T, s *telephony.Server, key string) []byte {
	t.Helper()
	f, err := s.Files.Open(context.Background(), key)
	require.NoError(t, err)
	defer f.Close()
	data, err := io.ReadAll(f)
	require.NoError(t, err)
	return data
}

// wavLevels reads a 16-bit stereo WAV s keeps under key and returns each
// channel's mean absolute sample, with the number of frames.
func wavLevels(t *testing.T, s *telephony.Server, key string) (left, right float64, frames int) {
	t.Helper()
	data := stored(t, s, key)
	require.Greater(t, len(data), 44, "a WAV header and data")
	require.Equal(t, "RIFF", string(data[0:4]))
	require.Equal(t, 2, int(binary.LittleEndian.Uint16(data[22:24])), "two channels")
	require.Equal(t, 8000, int(binary.LittleEndian.Uint32(data[24:28])), "8 kHz")
	pcm := data[44:]
	var sum [2]float64
	for i := 0; i+3 < len(pcm); i += 4 {
		for ch := range 2 {
			v := int16(binary.LittleEndian.Uint16(pcm[i+2*ch:]))
			sum[ch] += math.Abs(float64(v))
		}
		frames++
	}
	require.Positive(t, frames)
	return sum[0] / float64(frames), sum[1] / float64(frames), frames
}

func TestAConversationIsRecordedInStereoAndBoundToTheTicket(t *testing.T) {
	t.Parallel()
	s, w := start(t, "node-record")
	ctx := context.Background()
	phone := agentPhone(t, s, w, "agent", "8001") // echoes what it hears
	sipp(t, s.Addr(), "caller_talks.xml", "12345")
	out, err := phone()
	require.NoError(t, err, "agent phone:\n%s", tail(out, 40))
	c, id := closedCall(t, w)
	require.Equal(t, "caller hung up", c.EndReason)

	var key, node string
	var size int64
	var agent string
	require.NoError(t, w.Pool.QueryRow(ctx, `SELECT c.recording, c.recording_bytes, c.node, u.username FROM calls c JOIN users u ON u.id = c.agent_id WHERE c.id = $1`, id).
		Scan(&key, &size, &node, &agent))
	assert.Equal(t, "agent", agent, "the call names the agent who answered")
	assert.Regexp(t, `^recordings/\d{4}/\d{2}/\d{2}/call-\d+\.wav$`, key, "the row holds the file's key, not a node's path")
	wav := stored(t, s, key)
	assert.Equal(t, size, int64(len(wav)))
	left, right, frames := wavLevels(t, s, key)
	// The caller spoke about 7 s of the capture; the phone echoed it back
	// through two transcodings.
	assert.Greater(t, frames, 5*8000, "the recording holds the conversation")
	assert.Greater(t, left, 100.0, "the caller's side (left) is not silent")
	assert.Greater(t, right, 100.0, "the agent's side (right) is not silent")

	// Another node, on the same database and files folder, serves the
	// recording this node made.
	assert.Equal(t, "node-record", node)
	elsewhere := telephony.RecordingHandler(w.Pool, filestore.Dir{Root: s.Files.(filestore.Dir).Root}, func(*http.Request) (*identity.Principal, error) {
		return w.As(t, "leader"), nil
	})
	mux := http.NewServeMux()
	mux.Handle("GET /recordings/{id}", elsewhere)
	got := httptest.NewRecorder()
	mux.ServeHTTP(got, httptest.NewRequest(http.MethodGet, "/recordings/"+strconv.FormatInt(id, 10), nil))
	require.Equal(t, http.StatusOK, got.Code, got.Body.String())
	assert.Equal(t, "audio/wav", got.Header().Get("Content-Type"))
	assert.Equal(t, wav, got.Body.Bytes())

	// The agent, wrapping up, registers the ticket: the call is bound.
	tk, err := w.Engine.Create(ctx, w.As(t, "agent"), "ticket", "register", map[string]any{
		"caller_phone": "13800138000", "title": "咨询供暖", "content": "来电咨询供暖开始时间", "type": "咨询"})
	require.NoError(t, err)
	var bound int64
	require.NoError(t, w.Pool.QueryRow(ctx, `SELECT call_id FROM call_tickets WHERE ticket_id = $1`, tk.ID).Scan(&bound))
	assert.Equal(t, id, bound)
	tk0 := tk.ID

	// A ticket from a chat session names no call: nothing is bound.
	tk, err = w.Engine.Create(ctx, w.As(t, "agent"), "ticket", "register", map[string]any{
		"caller_phone": "13800138000", "title": "咨询", "content": "咨询", "type": "咨询", "session_id": "WEB-20261124-0001"})
	require.NoError(t, err)
	var n int
	require.NoError(t, w.Pool.QueryRow(ctx, `SELECT count(*) FROM call_tickets WHERE ticket_id = $1`, tk.ID).Scan(&n))
	assert.Zero(t, n)

	// A ticket naming the call (call_id, from the screen pop) is bound to
	// it whoever registers it.
	var sipID string
	require.NoError(t, w.Pool.QueryRow(ctx, `SELECT sip_call_id FROM calls WHERE id = $1`, id).Scan(&sipID))
	named, err := w.Engine.Create(ctx, w.As(t, "agent2"), "ticket", "register", map[string]any{
		"caller_phone": "13800138000", "title": "同一来电的第二件事", "content": "路灯不亮", "type": "投诉", "call_id": sipID})
	require.NoError(t, err)
	require.NoError(t, w.Pool.QueryRow(ctx, `SELECT call_id FROM call_tickets WHERE ticket_id = $1`, named.ID).Scan(&bound))
	assert.Equal(t, id, bound, "one call, two tickets")

	// Retention: the recording outlives its days while its ticket is
	// open, and goes once the ticket has been closed for as long.
	first := bound
	n, err = s.ExpireRecordings(ctx, time.Millisecond)
	require.NoError(t, err)
	assert.Zero(t, n, "kept while the ticket it is evidence for is open")
	has, err := s.Files.Has(ctx, key)
	require.NoError(t, err)
	assert.True(t, has)
	_, err = w.Pool.Exec(ctx, `UPDATE tickets SET closed_at = now() - interval '2 hours' WHERE id IN (SELECT ticket_id FROM call_tickets WHERE call_id = $1)`, first)
	require.NoError(t, err)
	n, err = s.ExpireRecordings(ctx, time.Millisecond)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	has, err = s.Files.Has(ctx, key)
	require.NoError(t, err)
	assert.False(t, has)
	got = httptest.NewRecorder()
	mux.ServeHTTP(got, httptest.NewRequest(http.MethodGet, "/recordings/"+strconv.FormatInt(id, 10), nil))
	assert.Equal(t, http.StatusNotFound, got.Code, "past its retention on every node")
	calls, err := telephony.Calls(ctx, w.Pool, w.As(t, "leader"), telephony.CallFilter{Ticket: tk0}, 0, 10)
	require.NoError(t, err)
	require.Len(t, calls, 1)
	assert.Empty(t, calls[0].Recording, "the call's row stays, without its recording")
}

// agentState is the state of the agent on extension ext.
func agentState(t *testing.T, w *gentest.World, ext string) string {
	t.Helper()
	var state string
	require.NoError(t, w.Pool.QueryRow(context.Background(), `SELECT s.state FROM agent_status s JOIN agents a USING (user_id) WHERE a.extension = $1`, ext).Scan(&state))
	return state
}

// callEventKinds lists a call's events in order.
func callEventKinds(t *testing.T, w *gentest.World, id int64) []string {
	t.Helper()
	rows, err := w.Pool.Query(context.Background(), `SELECT kind || COALESCE(':' || (data->>'mode'), '') FROM call_events WHERE call_id = $1 ORDER BY seq`, id)
	require.NoError(t, err)
	kinds, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return kinds
}

func TestALeaderListensBargesInAndReleasesACall(t *testing.T) {
	t.Parallel()
	s, w := start(t, "node-monitor")
	ctx := context.Background()
	phone := agentPhone(t, s, w, "agent", "8001")
	leaderPhone := phoneWith(t, s, w, "leader", "8009", "agent_answer.xml", "-rtp_echo")
	agents := &acd.Service{Pool: w.Pool, Config: w.Runtime}
	leader := w.As(t, "leader")
	_, err := agents.SignOut(ctx, leader) // on the phone as a supervisor, not taking calls
	require.NoError(t, err)

	caller := sippCmd(t, s.Addr(), "ivr_until_bye.xml", "12345", 0)
	var out strings.Builder
	caller.Stdout, caller.Stderr = &out, &out
	require.NoError(t, caller.Start())
	var id int64
	require.Eventually(t, func() bool {
		return w.Pool.QueryRow(ctx, `SELECT id FROM calls WHERE connected_at IS NOT NULL AND ended_at IS NULL`).Scan(&id) == nil
	}, 60*time.Second, 100*time.Millisecond, "the call reaches the agent")

	err = s.Monitor(ctx, w.As(t, "agent"), id, telephony.ModeListen)
	require.ErrorContains(t, err, "没有监听", "an agent may not listen to calls")
	require.ErrorContains(t, s.Monitor(ctx, leader, id, "spy"), "mode")
	require.NoError(t, s.Monitor(ctx, leader, id, telephony.ModeListen))
	require.Eventually(t, func() bool { return slices.Contains(callEventKinds(t, w, id), "monitor:listen") }, 10*time.Second, 50*time.Millisecond,
		"the leader's phone answers and the leader listens")
	require.NoError(t, s.Monitor(ctx, leader, id, telephony.ModeBarge))
	require.ErrorContains(t, s.Monitor(ctx, w.As(t, "admin"), id, telephony.ModeListen), "权限")
	time.Sleep(time.Second) // three-way talk
	require.NoError(t, s.Release(ctx, leader, id))

	require.NoError(t, caller.Wait(), "the caller is hung up:\n%s", tail(out.String(), 30))
	o, err := phone()
	require.NoError(t, err, "the agent's phone is hung up:\n%s", tail(o, 30))
	o, err = leaderPhone()
	require.NoError(t, err, "the leader's phone is hung up:\n%s", tail(o, 30))
	c, _ := closedCall(t, w)
	assert.Equal(t, "released by supervisor leader", c.EndReason)
	require.Eventually(t, func() bool { return slices.Contains(callEventKinds(t, w, id), "monitor_ended") }, 5*time.Second, 50*time.Millisecond)
	kinds := callEventKinds(t, w, id)
	assert.Subset(t, kinds, []string{"connected", "monitor:listen", "monitor:barge", "released", "monitor_ended", "ended"})
	assert.Equal(t, "wrapup", agentState(t, w, "8001"), "the released agent wraps up")
	require.ErrorContains(t, s.Release(ctx, leader, id), "已结束")
}

func trunks(text string) map[string]string { return map[string]string{"flows/trunks.yaml": text} }

func TestTrunksRefuseUnknownSourcesAndCallsOverTheirLimit(t *testing.T) {
	t.Parallel()
	s, w := startWith(t, "node-limit", trunks("kind: trunk\nname: local\nlabel: 本机\naddresses: [127.0.0.1]\nmax_calls: 1\n"))
	ctx := context.Background()
	// 127.0.0.2 is this machine too, but no trunk lists it.
	sipp(t, s.Addr(), "call_refused.xml", "12345", "-i", "127.0.0.2")
	c, _ := closedCall(t, w)
	assert.Equal(t, "rejected", c.Outcome)
	assert.Contains(t, c.EndReason, "unknown trunk 127.0.0.2")

	// One call holds the trunk's only channel; the next is refused.
	first := sippCmd(t, s.Addr(), "ivr_until_bye.xml", "12345", 0)
	require.NoError(t, first.Start())
	t.Cleanup(func() { _ = first.Process.Kill() })
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, w.Pool.QueryRow(ctx, `SELECT count(*) FROM calls WHERE trunk = 'local' AND ended_at IS NULL`).Scan(&n))
		return n == 1
	}, 10*time.Second, 50*time.Millisecond)
	sipp(t, s.Addr(), "call_refused.xml", "12345")
	var reason, trunk string
	require.NoError(t, w.Pool.QueryRow(ctx, `SELECT end_reason, trunk FROM calls WHERE outcome = 'rejected' ORDER BY id DESC LIMIT 1`).Scan(&reason, &trunk))
	assert.Equal(t, "trunk limit", reason)
	assert.Equal(t, "local", trunk)
	trunks, err := s.Trunks(ctx)
	require.NoError(t, err)
	require.Len(t, trunks, 1)
	assert.Equal(t, 1, trunks[0].LiveCalls)
	assert.Equal(t, 1, trunks[0].MaxCalls)
}

func TestACallOutFailsOverToTheNextTrunkAndIsRecorded(t *testing.T) {
	t.Parallel()
	down, up := freePort(t), freePort(t)
	s, w := startWith(t, "node-dial", trunks(fmt.Sprintf(`kind: trunk
name: local
label: 本机
addresses: [127.0.0.1]
---
kind: trunk
name: down
label: 故障中继
proxy: 127.0.0.1:%d
caller_id: "12345"
outbound: {priority: 1, numbers: ['^1\d{10}$']}
---
kind: trunk
name: up
label: 备用中继
proxy: 127.0.0.1:%d
caller_id: "12345"
max_calls: 10
outbound: {priority: 2, numbers: ['^1\d{10}$']}
`, down, up)))
	ctx := context.Background()
	phone := agentPhone(t, s, w, "agent", "8001")
	refuse := sippCmd(t, s.Addr(), "trunk_refuses.xml", "13900001111", down)
	answer := sippCmd(t, s.Addr(), "callee_answers.xml", "13900001111", up, "-rtp_echo")
	var refuseOut, answerOut strings.Builder
	refuse.Stdout, refuse.Stderr = &refuseOut, &refuseOut
	answer.Stdout, answer.Stderr = &answerOut, &answerOut
	require.NoError(t, refuse.Start())
	require.NoError(t, answer.Start())

	agent := w.As(t, "agent")
	_, err := s.Dial(ctx, agent, "010-1234", 0)
	require.ErrorContains(t, err, "没有可拨打", "no trunk dials a Beijing landline here")
	_, err = s.Dial(ctx, agent, "139x", 0)
	require.ErrorContains(t, err, "无效")
	tk, err := w.Engine.Create(ctx, agent, "ticket", "register", map[string]any{
		"caller_phone": "13900001111", "title": "回访", "content": "回访市民", "type": "咨询"})
	require.NoError(t, err)
	id, err := s.Dial(ctx, agent, "139 0000 1111", tk.ID)
	require.NoError(t, err)

	require.NoError(t, refuse.Wait(), "the first trunk is tried:\n%s", tail(refuseOut.String(), 30))
	require.NoError(t, answer.Wait(), "the second trunk reaches the citizen:\n%s", tail(answerOut.String(), 30))
	o, err := phone()
	require.NoError(t, err, "the agent's phone is rung first and hung up at the end:\n%s", tail(o, 30))
	var reason, trunk, direction, called string
	var recording *string
	require.Eventually(t, func() bool {
		return w.Pool.QueryRow(ctx, `SELECT end_reason, trunk, direction, called, recording FROM calls WHERE id = $1 AND ended_at IS NOT NULL`, id).
			Scan(&reason, &trunk, &direction, &called, &recording) == nil
	}, 10*time.Second, 50*time.Millisecond)
	assert.Equal(t, "called party hung up", reason)
	assert.Equal(t, "up", trunk)
	assert.Equal(t, "outbound", direction)
	assert.Equal(t, "13900001111", called)
	require.NotNil(t, recording)
	_, _, frames := wavLevels(t, s, *recording)
	assert.Greater(t, frames, 8000, "the two seconds of talk are recorded")
	kinds := callEventKinds(t, w, id)
	assert.Subset(t, kinds, []string{"offered", "ringing", "connected", "dialing", "trunk_failed", "answered", "recorded", "ended"})
	var bound int64
	require.NoError(t, w.Pool.QueryRow(ctx, `SELECT call_id FROM call_tickets WHERE ticket_id = $1 AND call_id = $2`, tk.ID, id).Scan(&bound))
	assert.Equal(t, "wrapup", agentState(t, w, "8001"))
}

func TestATrunkRegistersWithDigestAuth(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	registrar := func(user, pass string) *exec.Cmd {
		return sippCmd(t, "127.0.0.1:1", "trunk_registrar.xml", "x", port, "-key", "user", user, "-key", "pass", pass)
	}
	cmd := registrar("047112345", "s3cret")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	env := fmt.Sprintf("HOTLINE_TEST_TRUNK_PW_%d", port)
	require.NoError(t, os.Setenv(env, "s3cret"))
	s, _ := startWith(t, "node-register", trunks(fmt.Sprintf(`kind: trunk
name: carrier
label: 运营商
proxy: 127.0.0.1:%d
register: {username: "047112345", password_env: %s, expires: 60s}
`, port, env)))
	require.NoError(t, cmd.Wait(), "the registrar accepts the digest:\n%s", tail(out.String(), 30))
	require.Eventually(t, func() bool {
		trunks, err := s.Trunks(context.Background())
		require.NoError(t, err)
		return len(trunks) == 1 && trunks[0].Registered
	}, 10*time.Second, 50*time.Millisecond)
}

// A publish that moves a trunk to another carrier with other credentials
// reaches the running server through the configuration's change
// notification, as in hotline serve (the server started as a node starts
// its modules): it registers with the new carrier without a restart.
func TestAReloadedTrunkRegistersAgain(t *testing.T) {
	t.Parallel()
	registrar := func(user, pass string) (port int, wait func() error) {
		port = freePort(t)
		cmd := sippCmd(t, "127.0.0.1:1", "trunk_registrar.xml", "x", port, "-key", "user", user, "-key", "pass", pass)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		return port, func() error {
			if err := cmd.Wait(); err != nil {
				return fmt.Errorf("%w:\n%s", err, tail(out.String(), 30))
			}
			return nil
		}
	}
	trunk := func(port int, user, pass string) *registry.Set {
		env := fmt.Sprintf("HOTLINE_TEST_TRUNK_PW_%d", port)
		require.NoError(t, os.Setenv(env, pass))
		return loadWith(t, trunks(fmt.Sprintf("kind: trunk\nname: carrier\nlabel: 运营商\nproxy: 127.0.0.1:%d\nregister: {username: %q, password_env: %s, expires: 60s}\n", port, user, env)))
	}
	registeredSince := func(s *telephony.Server, since time.Time) bool {
		trunks, err := s.Trunks(context.Background())
		require.NoError(t, err)
		return len(trunks) == 1 && trunks[0].Registered && trunks[0].RegisteredAt.After(since)
	}

	first, firstDone := registrar("047112345", "s3cret")
	w := gentest.New(t, 0)
	w.Runtime.Swap(trunk(first, "047112345", "s3cret"))
	s := newServer(t, w, "node-reregister")
	node := &module.Node{Modules: []module.Module{telephony.Module{Pool: w.Pool, Server: s}}, Config: w.Runtime}
	require.NoError(t, node.Start(context.Background()))
	t.Cleanup(func() { assert.NoError(t, node.Stop(context.Background())) })
	require.NoError(t, firstDone(), "the first carrier accepts the digest")
	require.Eventually(t, func() bool { return registeredSince(s, time.Time{}) }, 10*time.Second, 50*time.Millisecond)

	second, secondDone := registrar("047154321", "n3w-secret")
	published := time.Now()
	w.Runtime.Swap(trunk(second, "047154321", "n3w-secret"))
	require.NoError(t, secondDone(), "the second carrier accepts the new credentials")
	require.Eventually(t, func() bool { return registeredSince(s, published) }, 10*time.Second, 50*time.Millisecond)
}

func TestALongWaitGoesBackToTheMenu(t *testing.T) {
	t.Parallel()
	s, w := startWith(t, "node-overflow", map[string]string{"flows/ivr/queues.yaml": `kind: queue
name: general
label: 综合服务
members: "'hotline' in agent.skills"
wait: {prompt: [please_hold], every: 5s, position: true, estimate: true}
overflow:
  - {after: 1s, exit: busy_choice}
---
kind: queue
name: enterprise
label: 企业服务专席
members: "'enterprise' in agent.skills"
---
kind: queue
name: mongolian
label: 蒙古语服务
members: "'mn' in agent.languages"
`})
	// Nobody is signed in: the caller waits a second, then is offered
	// to leave a message or ask for a callback, and hangs up meanwhile.
	sipp(t, s.Addr(), "ivr_rfc4733.xml", "12345", "-d", "8000")
	c, id := closedCall(t, w)
	assert.Equal(t, "caller hung up", c.EndReason)
	assert.Equal(t, "busy_choice", c.Path[len(c.Path)-1], "the call went on in the menu: %v", c.Path)
	kinds := callEventKinds(t, w, id)
	assert.Subset(t, kinds, []string{"queued", "overflow", "ended"})
	var exit string
	require.NoError(t, w.Pool.QueryRow(context.Background(), `SELECT data->>'exit' FROM call_events WHERE call_id = $1 AND kind = 'overflow'`, id).Scan(&exit))
	assert.Equal(t, "busy_choice", exit)
}

func TestAMenuTransfersToAnExtension(t *testing.T) {
	t.Parallel()
	s, w := startWith(t, "node-transfer", map[string]string{"flows/ivr/transfer.yaml": `kind: ivr
name: desk
label: 值班专线
numbers: ["8888"]
languages: [{code: zh, label: 普通话}]
start: a
nodes:
  - {name: a, label: 转值班座席, play: transfer_agent, transfer: {extension: "8001"}}
`})
	phone := agentPhone(t, s, w, "agent", "8001")
	sipp(t, s.Addr(), "caller_talks.xml", "8888")
	out, err := phone()
	require.NoError(t, err, "the extension's phone rings, answers and is hung up:\n%s", tail(out, 30))
	c, id := closedCall(t, w)
	assert.Equal(t, "transfer", c.Outcome)
	assert.Equal(t, "caller hung up", c.EndReason)
	assert.Subset(t, callEventKinds(t, w, id), []string{"ivr", "transferred", "connected", "recorded", "ended"})
}

// baresipPhone runs baresip as the agent's softphone: it registers ext
// with the server, answers every call at once and sends a 440 Hz tone as
// the agent's voice. It returns when the phone has registered, with what
// baresip printed and the folder where it dumps what it hears.
func baresipPhone(t *testing.T, s *telephony.Server, w *gentest.World, username, ext string) (log func() string, heard string) {
	t.Helper()
	path, err := exec.LookPath("baresip")
	require.NoError(t, err, "baresip is needed (Debian package baresip-core; make deps installs it)")
	ctx := context.Background()
	agents := &acd.Service{Pool: w.Pool, Config: w.Runtime}
	p := w.As(t, username)
	_, err = agents.SetProfile(ctx, w.As(t, "admin"), p.UserID, acd.Profile{Extension: ext, SIPPassword: "pw-" + ext, Skills: map[string]int{"hotline": 5}})
	require.NoError(t, err)
	_, err = agents.SignIn(ctx, p)
	require.NoError(t, err)
	dir := t.TempDir()
	sipPort, rtp := freePort(t), freePort(t)
	config := fmt.Sprintf(`poll_method epoll
sip_listen 127.0.0.1:%d
sip_trans_def udp
audio_player aufile,/dev/null
audio_source ausine,440
ausrc_srate 48000
auplay_srate 48000
ausrc_channels 2
auplay_channels 1
audio_alert aufile,/dev/null
rtp_ports %d-%d
module_path /usr/lib/baresip/modules
module g711.so
module ausine.so
module aufile.so
module sndfile.so
snd_path %s
module_app account.so
module_app menu.so
`, sipPort, rtp, rtp+3, dir)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config"), []byte(config), 0o600))
	account := fmt.Sprintf("<sip:%s@%s>;auth_pass=pw-%s;answermode=auto;regint=60\n", ext, s.Addr(), ext)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "accounts"), []byte(account), 0o600))
	runCtx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(runCtx, path, "-f", dir, "-s")
	// baresip runs on while the test reads what it printed: exec's copying
	// goroutine writes out as the test reads it, so out takes a lock.
	var out lockedBuilder
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	registered := assert.Eventually(t, func() bool {
		var n int
		require.NoError(t, w.Pool.QueryRow(ctx, `SELECT count(*) FROM sip_bindings WHERE extension = $1`, ext).Scan(&n))
		return n == 1
	}, 15*time.Second, 50*time.Millisecond, "baresip registers")
	require.True(t, registered, "baresip printed:\n%s", tail(out.String(), 40)) // what it printed while trying, not before
	return out.String, dir
}

func TestABaresipPhoneAnswersAndTheAgentIsHeard(t *testing.T) {
	t.Parallel()
	s, w := start(t, "node-baresip")
	phoneLog, heard := baresipPhone(t, s, w, "agent", "8001")
	sipp(t, s.Addr(), "caller_talks.xml", "12345")
	c, id := closedCall(t, w)
	assert.Equal(t, "queue", c.Outcome)
	rows, err := w.Pool.Query(context.Background(), `SELECT kind || ' ' || data::text FROM call_events WHERE call_id = $1 ORDER BY seq`, id)
	require.NoError(t, err)
	events, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, "caller hung up", c.EndReason, "events: %v\nbaresip:\n%s", events, tail(phoneLog(), 40))
	var recording string
	require.NoError(t, w.Pool.QueryRow(context.Background(), `SELECT recording FROM calls WHERE id = $1`, id).Scan(&recording))
	left, right, _ := wavLevels(t, s, recording)
	assert.Greater(t, left, 100.0, "the caller's speech")
	assert.Greater(t, right, 1000.0, "the softphone's tone, the agent's side")
	// What the softphone played to its agent: the caller's speech.
	files, err := filepath.Glob(filepath.Join(heard, "dump-*-dec.wav"))
	require.NoError(t, err)
	require.Len(t, files, 1, "sndfile dumps what the phone decoded")
	data, err := os.ReadFile(files[0])
	require.NoError(t, err)
	require.Greater(t, len(data), 44+8000*2, "over a second of audio (8 kHz, as decoded)")
	var sum float64
	pcm := data[44:]
	for i := 0; i+1 < len(pcm); i += 2 {
		sum += math.Abs(float64(int16(binary.LittleEndian.Uint16(pcm[i:]))))
	}
	assert.Greater(t, sum/float64(len(pcm)/2), 50.0, "the agent heard the caller")
	// The phone was rung from the address it registered with, as a phone
	// behind NAT needs.
	trace := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(phoneLog(), "")
	assert.Regexp(t, regexp.MustCompile(`UDP `+regexp.QuoteMeta(s.Addr())+` -> \S+\s+INVITE sip:`), trace)
	assert.Equal(t, "wrapup", agentState(t, w, "8001"))
}

func TestAnAgentTransfersACallToAnotherExtension(t *testing.T) {
	t.Parallel()
	s, w := start(t, "node-agent-transfer")
	ctx := context.Background()
	first := agentPhone(t, s, w, "agent", "8001") // idle longest: answers first
	second := agentPhone(t, s, w, "agent2", "8002")
	caller := sippCmd(t, s.Addr(), "ivr_until_bye.xml", "12345", 0)
	var out strings.Builder
	caller.Stdout, caller.Stderr = &out, &out
	require.NoError(t, caller.Start())
	var id int64
	require.Eventually(t, func() bool {
		return w.Pool.QueryRow(ctx, `SELECT c.id FROM calls c JOIN users u ON u.id = c.agent_id WHERE u.username = 'agent' AND c.ended_at IS NULL`).Scan(&id) == nil
	}, 60*time.Second, 100*time.Millisecond, "the first agent answers")

	require.ErrorContains(t, s.Transfer(ctx, w.As(t, "agent2"), id, "", "8001", ""), "只能转接本人")
	require.ErrorContains(t, s.Transfer(ctx, w.As(t, "agent"), id, "enterprize", "", ""), `did you mean "enterprise"`)
	require.ErrorContains(t, s.Transfer(ctx, w.As(t, "agent"), id, "general", "8002", ""), "之一")
	require.ErrorContains(t, s.Transfer(ctx, w.As(t, "agent"), id, "", "8001", ""), "不能转接", "an extension already on a call is refused before the call is let go")
	require.NoError(t, s.Transfer(ctx, w.As(t, "agent"), id, "", "8002", ""))
	o, err := first()
	require.NoError(t, err, "the first agent's phone is hung up:\n%s", tail(o, 30))
	require.Eventually(t, func() bool {
		var agent string
		_ = w.Pool.QueryRow(ctx, `SELECT u.username FROM calls c JOIN users u ON u.id = c.agent_id WHERE c.id = $1`, id).Scan(&agent)
		return agent == "agent2"
	}, 20*time.Second, 100*time.Millisecond, "the second agent answers the transferred call")
	require.NoError(t, s.Release(ctx, w.As(t, "leader"), id))
	require.NoError(t, caller.Wait(), "the caller stays on until released:\n%s", tail(out.String(), 30))
	o, err = second()
	require.NoError(t, err, "the second agent's phone:\n%s", tail(o, 30))
	c, _ := closedCall(t, w)
	assert.Equal(t, "released by supervisor leader", c.EndReason)
	kinds := callEventKinds(t, w, id)
	assert.Subset(t, kinds, []string{"connected", "transferred", "recorded", "ended"})
	connected := 0
	for _, k := range kinds {
		if k == "connected" {
			connected++
		}
	}
	assert.Equal(t, 2, connected, "two agents took the call in turn")
	assert.Equal(t, "wrapup", agentState(t, w, "8001"), "the agent who transferred wraps up")
	// Wrapping up, he registers the ticket: the call he passed on is bound.
	tk, err := w.Engine.Create(ctx, w.As(t, "agent"), "ticket", "register", map[string]any{
		"caller_phone": "13800138000", "title": "转接前登记", "content": "转接企业专席", "type": "咨询"})
	require.NoError(t, err)
	var bound int64
	require.NoError(t, w.Pool.QueryRow(ctx, `SELECT call_id FROM call_tickets WHERE ticket_id = $1`, tk.ID).Scan(&bound))
	assert.Equal(t, id, bound)
	assert.Equal(t, "wrapup", agentState(t, w, "8002"), "the agent who took the transfer was out of distribution, and wraps up")
}
