package acd_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/acd"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/module"
	"github.com/hotline12345/hotline/core/pgtest"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/deploy/gen/gentest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// floor is a centre with agents over a fresh database and the
// repository's configuration (flows/agent_states.yaml, flows/ivr/queues.yaml).
type floor struct {
	w      *gentest.World
	agents *acd.Service
	acd    *acd.Distributor
	clock  *clock
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newFloor(t *testing.T) *floor {
	t.Helper()
	w := gentest.New(t, 0)
	c := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.Local)}
	f := &floor{w: w, clock: c, agents: &acd.Service{Pool: w.Pool, Config: w.Runtime, Now: c.now}}
	f.acd = &acd.Distributor{Agents: f.agents, Config: w.Runtime}
	ctx, cancel := context.WithCancel(context.Background())
	go f.acd.Run(ctx, 20*time.Millisecond)
	t.Cleanup(cancel)
	return f
}

// agent makes username an agent with skills, signed in and idle; each is
// idle a second longer than the one made before it.
func (f *floor) agent(t *testing.T, username, ext string, skills map[string]int, langs ...string) *identity.Principal {
	t.Helper()
	ctx := context.Background()
	p := f.w.As(t, username)
	_, err := f.agents.SetProfile(ctx, f.w.As(t, "admin"), p.UserID, acd.Profile{Extension: ext, SIPPassword: "secret-" + ext, Skills: skills, Languages: langs})
	require.NoError(t, err)
	_, err = f.agents.SignIn(ctx, p)
	require.NoError(t, err)
	f.clock.add(time.Second)
	return p
}

func (f *floor) state(t *testing.T, p *identity.Principal) string {
	t.Helper()
	a, err := f.agents.Agent(context.Background(), p.UserID)
	require.NoError(t, err)
	if a.Reason != "" {
		return a.State + "/" + a.Reason
	}
	return a.State
}

// phones answers offers as the test says: by extension, true answers,
// false lets it ring out.
type phones struct {
	mu      sync.Mutex
	answer  map[string]bool
	offered []string
}

func (ph *phones) offer(ctx context.Context, a acd.Agent) error {
	ph.mu.Lock()
	ph.offered = append(ph.offered, a.Extension)
	ok := ph.answer[a.Extension]
	ph.mu.Unlock()
	if ok {
		return nil
	}
	<-ctx.Done() // rings until withdrawn or rung out
	return acd.ErrNoAnswer
}

func (ph *phones) got() []string {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	return append([]string(nil), ph.offered...)
}

func task(id, queue string, ph *phones) *acd.Task {
	return &acd.Task{ID: id, Queue: queue, Channel: "voice", Offer: ph.offer}
}

func TestLongestIdleAgentTakesTheCallThenWrapsUp(t *testing.T) {
	f := newFloor(t)
	ctx := context.Background()
	first := f.agent(t, "agent", "8001", map[string]int{"hotline": 5})
	second := f.agent(t, "kbeditor", "8002", map[string]int{"hotline": 9})
	ph := &phones{answer: map[string]bool{"8001": true, "8002": true}}

	a, err := f.acd.Serve(ctx, task("call-1", "general", ph))
	require.NoError(t, err)
	assert.Equal(t, "8001", a.Extension, "idle longest")
	assert.Equal(t, "talking", f.state(t, first))
	assert.Equal(t, "idle", f.state(t, second))

	f.acd.Done(ctx, a, &acd.Task{ID: "call-1"})
	assert.Equal(t, "wrapup", f.state(t, first))
	// Wrap-up ends by itself after 30 seconds.
	f.clock.add(31 * time.Second)
	require.Eventually(t, func() bool { return f.state(t, first) == "idle" }, 5*time.Second, 20*time.Millisecond)

	var events []string
	rows, err := f.w.Pool.Query(ctx, `SELECT from_state || '→' || to_state || ' by ' || by_user FROM agent_events WHERE user_id = $1 ORDER BY id`, first.UserID)
	require.NoError(t, err)
	for rows.Next() {
		var e string
		require.NoError(t, rows.Scan(&e))
		events = append(events, e)
	}
	assert.Equal(t, []string{"signed_out→idle by agent", "idle→ringing by acd", "ringing→talking by acd", "talking→wrapup by acd", "wrapup→idle by timer"}, events)
}

func TestNoAnswerGoesToTheNextAgentAndTwoMissesMakeBusy(t *testing.T) {
	f := newFloor(t)
	ctx := context.Background()
	sleepy := f.agent(t, "agent", "8001", map[string]int{"hotline": 5})
	awake := f.agent(t, "kbeditor", "8002", map[string]int{"hotline": 5})
	ph := &phones{answer: map[string]bool{"8002": true}}
	// A short ring for the test: the configured one is 15 s.
	set := f.w.Runtime.Current()
	m, _ := acd.Model(set)
	ring := m.Ring
	m.Ring = 200 * time.Millisecond
	t.Cleanup(func() { m.Ring = ring })

	a, err := f.acd.Serve(ctx, task("call-1", "general", ph))
	require.NoError(t, err)
	assert.Equal(t, "8002", a.Extension)
	assert.Equal(t, []string{"8001", "8002"}, ph.got())
	assert.Equal(t, "idle", f.state(t, sleepy), "one miss: still idle")
	f.acd.Done(ctx, a, &acd.Task{ID: "call-1"})

	ph2 := &phones{answer: map[string]bool{}}
	cctx, cancel := context.WithTimeout(ctx, 600*time.Millisecond)
	defer cancel()
	_, err = f.acd.Serve(cctx, task("call-2", "general", ph2))
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, "busy/连续未接", f.state(t, sleepy), "the second miss in a row: not ready")
	assert.Equal(t, "wrapup", f.state(t, awake))
}

func TestCallerLeavesWhileWaitingOrRinging(t *testing.T) {
	f := newFloor(t)
	ctx := context.Background()
	p := f.agent(t, "agent", "8001", map[string]int{"hotline": 5})
	ph := &phones{answer: map[string]bool{}}

	// Ringing: the offer is withdrawn, the agent is idle again, no miss.
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := f.acd.Serve(cctx, task("call-1", "general", ph))
		done <- err
	}()
	require.Eventually(t, func() bool { return f.state(t, p) == "ringing" }, 5*time.Second, 10*time.Millisecond)
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	require.Eventually(t, func() bool { return f.state(t, p) == "idle" }, 5*time.Second, 10*time.Millisecond)
	a, err := f.agents.Agent(ctx, p.UserID)
	require.NoError(t, err)
	assert.Zero(t, a.Misses, "a withdrawn offer is not a miss")

	// Waiting with nobody to serve: the task leaves the queue.
	_, err = f.agents.SetState(ctx, p, "busy", "会议")
	require.NoError(t, err)
	cctx, cancel = context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err = f.acd.Serve(cctx, task("call-2", "general", ph))
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Empty(t, f.acd.Waiting())
}

func TestQueuesPickTheirAgentsAndSkillChangesApplyAtOnce(t *testing.T) {
	f := newFloor(t)
	ctx := context.Background()
	general := f.agent(t, "agent", "8001", map[string]int{"hotline": 5})
	_ = f.agent(t, "kbeditor", "8002", map[string]int{"hotline": 5, "enterprise": 3})
	mongol := f.agent(t, "leader", "8003", map[string]int{"hotline": 2}, "zh", "mn")
	ph := &phones{answer: map[string]bool{"8001": true, "8002": true, "8003": true}}

	a, err := f.acd.Serve(ctx, task("e-1", "enterprise", ph))
	require.NoError(t, err)
	assert.Equal(t, "8002", a.Extension, "only agents with the enterprise skill")
	a, err = f.acd.Serve(ctx, task("m-1", "mongolian", ph))
	require.NoError(t, err)
	assert.Equal(t, "8003", a.Extension, "only Mongolian speakers")
	f.acd.Done(ctx, a, &acd.Task{ID: "m-1"})

	// A new extension needs the phone's password again (it is in the digest credential).
	_, err = f.agents.SetProfile(ctx, f.w.As(t, "admin"), general.UserID, acd.Profile{Extension: "8101", Skills: map[string]int{"hotline": 5}})
	assert.ErrorContains(t, err, "更换分机须重新设置话机密码")
	// The first agent gains the enterprise skill and is offered the next one.
	_, err = f.agents.SetProfile(ctx, f.w.As(t, "admin"), general.UserID, acd.Profile{Extension: "8001", Skills: map[string]int{"hotline": 5, "enterprise": 9}})
	require.NoError(t, err)
	a, err = f.acd.Serve(ctx, task("e-2", "enterprise", ph))
	require.NoError(t, err)
	assert.Equal(t, "8001", a.Extension)
	assert.Equal(t, "wrapup", f.state(t, mongol))
}

func TestHigherPriorityIsServedFirstAndRingAllTakesTheFirstAnswer(t *testing.T) {
	f := newFloor(t)
	ctx := context.Background()
	p := f.agent(t, "agent", "8001", map[string]int{"hotline": 5})
	_, err := f.agents.SetState(ctx, p, "busy", "会议")
	require.NoError(t, err)
	ph := &phones{answer: map[string]bool{"8001": true}}

	order := make(chan string, 2)
	var wg sync.WaitGroup
	for _, tk := range []*acd.Task{{ID: "low", Queue: "general", Priority: 0, Offer: ph.offer}, {ID: "urgent", Queue: "general", Priority: 1, Offer: ph.offer}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := f.acd.Serve(ctx, tk)
			if err == nil {
				order <- tk.ID
				f.acd.Done(ctx, a, tk)
				_, _ = f.agents.SetState(ctx, p, "idle", "")
			}
		}()
		time.Sleep(50 * time.Millisecond) // "low" waits first
	}
	require.Eventually(t, func() bool { return f.acd.Waiting()["general"] == 2 }, 5*time.Second, 10*time.Millisecond)
	oldest, ok := f.acd.Oldest()["general"]
	require.True(t, ok, "the longest wait is known")
	assert.GreaterOrEqual(t, time.Since(oldest), 50*time.Millisecond, "since the first task, not the second")
	_, err = f.agents.SetState(ctx, p, "idle", "")
	require.NoError(t, err)
	wg.Wait()
	close(order)
	var got []string
	for id := range order {
		got = append(got, id)
	}
	assert.Equal(t, []string{"urgent", "low"}, got)
}

func TestAgentStateRules(t *testing.T) {
	f := newFloor(t)
	ctx := context.Background()
	p := f.w.As(t, "agent")
	_, err := f.agents.SignIn(ctx, p)
	assert.ErrorContains(t, err, "不是座席")
	p = f.agent(t, "agent", "8001", map[string]int{"hotline": 5})
	leader := f.w.As(t, "leader")

	cases := []struct {
		name          string
		do            func() (acd.Agent, error)
		state, reason string
		err           string
	}{
		{"busy needs a reason", func() (acd.Agent, error) { return f.agents.SetState(ctx, p, "busy", "") }, "", "", "须选择原因"},
		{"unknown reason", func() (acd.Agent, error) { return f.agents.SetState(ctx, p, "busy", "打游戏") }, "", "", "须选择原因"},
		{"not a manual state", func() (acd.Agent, error) { return f.agents.SetState(ctx, p, "talking", "") }, "", "", "不能选择状态"},
		{"break with a reason", func() (acd.Agent, error) { return f.agents.SetState(ctx, p, "break", "用餐") }, "break", "用餐", ""},
		{"a custom state", func() (acd.Agent, error) { return f.agents.SetState(ctx, p, "coaching", "") }, "coaching", "", ""},
		{"agents cannot force", func() (acd.Agent, error) { return f.agents.Force(ctx, p, p.UserID, "idle", "") }, "", "", "权限"},
		{"a leader forces busy", func() (acd.Agent, error) { return f.agents.Force(ctx, leader, p.UserID, "busy", "") }, "busy", "班长强制", ""},
		{"a leader forces sign-out", func() (acd.Agent, error) { return f.agents.Force(ctx, leader, p.UserID, "signed_out", "") }, "signed_out", "", ""},
		{"signed out cannot choose idle", func() (acd.Agent, error) { return f.agents.SetState(ctx, p, "idle", "") }, "", "", "请先签入"},
	}
	for _, tc := range cases {
		a, err := tc.do()
		if tc.err != "" {
			require.Error(t, err, tc.name)
			assert.Contains(t, err.Error(), tc.err, tc.name)
			var ge *gql.Error
			assert.True(t, errors.As(err, &ge), "%s: a user error", tc.name)
			continue
		}
		require.NoError(t, err, tc.name)
		assert.Equal(t, fmt.Sprintf("%s/%s", tc.state, tc.reason), fmt.Sprintf("%s/%s", a.State, a.Reason), tc.name)
	}
	// A break ends by itself after 15 minutes, into busy.
	_, err = f.agents.SignIn(ctx, p)
	require.NoError(t, err)
	_, err = f.agents.SetState(ctx, p, "break", "休息")
	require.NoError(t, err)
	f.clock.add(16 * time.Minute)
	n, err := f.agents.Expire(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, "busy", f.state(t, p))
}

func TestAgentsHeldByAGoneTaskAreFreed(t *testing.T) {
	f := newFloor(t)
	ctx := context.Background()
	talking := f.agent(t, "agent", "8001", map[string]int{"hotline": 5})
	ringing := f.agent(t, "kbeditor", "8002", map[string]int{"hotline": 5})
	live := f.agent(t, "agent2", "8003", map[string]int{"hotline": 5})
	// States as a node that stopped mid-call would leave them.
	for _, x := range []struct {
		p           *identity.Principal
		state, task string
	}{{talking, "talking", "gone-1"}, {ringing, "ringing", "gone-2"}, {live, "talking", "live-1"}} {
		_, err := f.w.Pool.Exec(ctx, `UPDATE agent_status SET state = $2, task = $3 WHERE user_id = $1`, x.p.UserID, x.state, x.task)
		require.NoError(t, err)
	}
	n, err := f.agents.Reconcile(ctx, func(task string) bool { return task == "live-1" })
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Equal(t, "wrapup", f.state(t, talking))
	assert.Equal(t, "idle", f.state(t, ringing))
	assert.Equal(t, "talking", f.state(t, live))
}

func TestIdleAgentsWhosePhoneIsGoneAreMadeBusy(t *testing.T) {
	f := newFloor(t)
	ctx := context.Background()
	gone := f.agent(t, "agent", "8001", map[string]int{"hotline": 5})
	here := f.agent(t, "kbeditor", "8002", map[string]int{"hotline": 5})
	n, err := f.agents.PhoneLost(ctx, func(ext string) bool { return ext == "8002" })
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, "busy/话机离线", f.state(t, gone))
	assert.Equal(t, "idle", f.state(t, here))
	// The agent chooses idle again once the phone is back.
	_, err = f.agents.SetState(ctx, gone, "idle", "")
	require.NoError(t, err)
	assert.Equal(t, "idle", f.state(t, gone))
}

// queues replaces flows/ivr/queues.yaml with text.
func (f *floor) queues(t *testing.T, text string) {
	t.Helper()
	root := gentest.Root()
	set, diags := registry.Load(context.Background(), []string{filepath.Join(root, "flows"), filepath.Join(root, "forms"), filepath.Join(root, "scripts")},
		registry.LoadOptions{Overrides: map[string]string{filepath.Join(root, "flows", "ivr", "queues.yaml"): text}})
	require.Empty(t, diags)
	f.w.Runtime.Swap(set)
}

func TestOverflowWidensToAnotherQueueThenGivesTheTaskUp(t *testing.T) {
	f := newFloor(t)
	ctx := context.Background()
	f.queues(t, `kind: queue
name: general
label: 综合
members: "'hotline' in agent.skills"
---
kind: queue
name: enterprise
label: 企业
members: "'enterprise' in agent.skills"
overflow:
  - {after: 300ms, queues: [general]}
---
kind: queue
name: mongolian
label: 蒙古语
members: "'mn' in agent.languages"
overflow:
  - {after: 100ms, priority: 1}
  - {after: 200ms, exit: voicemail}
`)
	f.agent(t, "agent", "8001", map[string]int{"hotline": 5})
	ph := &phones{answer: map[string]bool{"8001": true}}

	start := time.Now()
	a, err := f.acd.Serve(ctx, task("e-1", "enterprise", ph))
	require.NoError(t, err)
	assert.Equal(t, "8001", a.Extension, "after 300ms the general queue's agents take enterprise calls too")
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "not before the step")

	start = time.Now()
	_, err = f.acd.Serve(ctx, task("m-1", "mongolian", ph))
	var of *acd.OverflowError
	require.ErrorAs(t, err, &of)
	assert.Equal(t, "voicemail", of.Exit)
	assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
}

func TestAWaitingTaskKnowsItsPlace(t *testing.T) {
	f := newFloor(t)
	ph := &phones{answer: map[string]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, tk := range []*acd.Task{task("g-1", "general", ph), task("g-2", "general", ph), {ID: "g-urgent", Queue: "general", Priority: 5, Offer: ph.offer}} {
		go func() { _, _ = f.acd.Serve(ctx, tk) }()
		require.Eventually(t, func() bool { _, _, ok := f.acd.Position(tk.ID); return ok }, 2*time.Second, 5*time.Millisecond)
	}
	for id, want := range map[string]int{"g-urgent": 1, "g-1": 2, "g-2": 3} {
		pos, estimate, ok := f.acd.Position(id)
		require.True(t, ok)
		assert.Equal(t, want, pos, id)
		assert.Zero(t, estimate, "no estimate before the queue answered anything")
	}
	_, _, ok := f.acd.Position("nobody")
	assert.False(t, ok)
}

func TestOverflowStepsAreLinted(t *testing.T) {
	root := gentest.Root()
	_, diags := registry.Load(context.Background(), []string{filepath.Join(root, "flows"), filepath.Join(root, "forms"), filepath.Join(root, "scripts")},
		registry.LoadOptions{Overrides: map[string]string{filepath.Join(root, "flows", "ivr", "extra.yaml"): `kind: queue
name: extra
label: 额外
members: "true"
overflow:
  - {after: 30s, exit: voicemail}
  - {after: 20s, queues: [extra, genral]}
`}})
	var all []string
	for _, d := range diags {
		all = append(all, d.String())
	}
	got := strings.Join(all, "\n")
	for _, want := range []string{
		"overflow[0].exit: a step that leaves the queue must be the last",
		"extra.yaml:7:13: overflow[1].after: 20s is not later than the step before (30s)",
		`overflow[1].queues: "extra" is this queue`,
		`unknown queue "genral" (did you mean "general"?)`,
	} {
		assert.Contains(t, got, want)
	}
}

// withOtherQueues is general, as given, with the shipped configuration's
// other queues, which its menus name.
func withOtherQueues(general string) string {
	return general + `---
kind: queue
name: enterprise
label: 企业
members: "'enterprise' in agent.skills"
---
kind: queue
name: mongolian
label: 蒙古语
members: "'mn' in agent.languages"
`
}

func TestAPlaceCountsOverflowRaises(t *testing.T) {
	f := newFloor(t)
	f.queues(t, withOtherQueues(`kind: queue
name: general
label: 综合
members: "'hotline' in agent.skills"
overflow:
  - {after: 300ms, priority: 10}
`))
	ph := &phones{answer: map[string]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	serve := func(tk *acd.Task) {
		go func() { _, _ = f.acd.Serve(ctx, tk) }()
		require.Eventually(t, func() bool { _, _, ok := f.acd.Position(tk.ID); return ok }, 2*time.Second, 5*time.Millisecond)
	}
	serve(task("early", "general", ph))
	time.Sleep(400 * time.Millisecond) // the early call is raised by 10
	serve(&acd.Task{ID: "urgent", Queue: "general", Priority: 5, Offer: ph.offer})
	pos, _, _ := f.acd.Position("early")
	assert.Equal(t, 1, pos, "raised to 10 by its wait, ahead of an urgent call (5) that just came")
	// Once the urgent call has waited as long, it is raised too (15).
	require.Eventually(t, func() bool { pos, _, _ := f.acd.Position("early"); return pos == 2 }, 2*time.Second, 10*time.Millisecond)
}

// A publish reaches the calls already waiting at once: the distributor,
// run as a node runs its modules and with no tick to wake it, follows the
// change (module.Follower) and offers the waiting call to the agents the
// queue now takes.
func TestAWaitingCallFollowsAPublishedQueue(t *testing.T) {
	w := gentest.New(t, 0)
	c := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.Local)}
	f := &floor{w: w, clock: c, agents: &acd.Service{Pool: w.Pool, Config: w.Runtime, Now: c.now}}
	f.acd = &acd.Distributor{Agents: f.agents, Config: w.Runtime}
	queues := func(generalMembers string) string {
		return withOtherQueues(fmt.Sprintf("kind: queue\nname: general\nlabel: 综合\nmembers: %q\n", generalMembers))
	}
	f.queues(t, queues("'hotline' in agent.skills"))
	node := &module.Node{Modules: []module.Module{&acd.Module{Agents: f.agents, Distributor: f.acd, Tick: time.Hour}}, Config: w.Runtime}
	require.NoError(t, node.Start(context.Background()))
	t.Cleanup(func() { assert.NoError(t, node.Stop(context.Background())) })
	f.agent(t, "agent", "8001", map[string]int{"enterprise": 5})
	ph := &phones{answer: map[string]bool{"8001": true}}

	served := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() {
		a, err := f.acd.Serve(ctx, task("call-1", "general", ph))
		if err == nil && a.Extension != "8001" {
			err = fmt.Errorf("served by %s", a.Extension)
		}
		served <- err
	}()
	require.Eventually(t, func() bool { return f.acd.Waiting()["general"] == 1 }, 10*time.Second, 10*time.Millisecond)
	assert.Empty(t, ph.got(), "no agent of the queue as it reads")

	f.queues(t, queues("'enterprise' in agent.skills || 'hotline' in agent.skills"))
	require.NoError(t, <-served, "the waiting call reaches the agent the published queue takes")
	assert.Equal(t, []string{"8001"}, ph.got())
}
