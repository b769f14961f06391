package acd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/hotline12345/hotline/core/registry"
)

// Task is work waiting for an agent: a call now, a chat session later.
// The distributor knows nothing of the channel: Offer reaches the agent.
type Task struct {
	ID      string
	Queue   string
	Channel string
	// Skills the task needs beyond its queue's.
	Skills   []string
	Priority float64
	// Offer presents the task to an agent (rings the phone) and returns
	// nil once the agent accepted it, ErrNoAnswer when the agent let it
	// ring out, or another error when the agent could not be reached. It
	// must return soon after ctx ends (the offer was withdrawn).
	Offer func(ctx context.Context, a Agent) error
	// Lost, when set, is told that an agent who accepted an offer is not
	// getting the task after all (his reservation was taken away while
	// the offer rang): whatever Offer connected must be undone.
	Lost func(ctx context.Context, a Agent)
}

// ErrNoAnswer is what Offer returns when the agent did not accept.
var ErrNoAnswer = errors.New("the agent did not answer")

// OverflowError is what Serve returns when the task's queue gave it up to
// its channel after it waited: Exit says where the channel goes on (a
// voice menu's node).
type OverflowError struct {
	Queue  string
	Exit   string
	Waited time.Duration
}

func (e *OverflowError) Error() string {
	return fmt.Sprintf("queue %s gave the task up after %s: go on at %s", e.Queue, e.Waited.Round(time.Second), e.Exit)
}

// Distributor offers waiting tasks to idle agents. Each node runs one for
// the tasks it holds; agents are shared through their rows, whose guarded
// transitions let only one node reserve an agent.
type Distributor struct {
	Agents *Service
	Config *registry.Runtime
	Log    *slog.Logger

	mu      sync.Mutex
	waiting []*waiting
	rr      map[string]int // round-robin position per queue
	wake    chan struct{}
	seq     int64

	// idle is the routable agents as last read, and when: rounds run after
	// every task and every agent freed, and reading hundreds of idle agents
	// each time saturated the distributor at 80 calls a second. An agent
	// read here but taken meanwhile fails its reservation (which checks
	// the row) and is skipped.
	idle   []Agent
	idleAt time.Time
	// freed says an agent became routable since the list was read.
	freed bool
	// answers keeps when each queue's last tasks were accepted, for the
	// estimated wait.
	answers map[string][]time.Time
}

// answersKept is how many accepted tasks per queue the estimated wait is
// taken from.
const answersKept = 10

// idleFresh is how old the idle agents' list may be; after an agent was
// freed, idleFreed.
const (
	idleFresh = 100 * time.Millisecond
	idleFreed = 20 * time.Millisecond
)

type waiting struct {
	task     *Task
	seq      int64
	since    time.Time
	offering bool
	tried    map[int64]bool // agents who let this task ring out
	done     chan result
	cancel   context.CancelFunc // withdraws the current offer
}

type result struct {
	agent Agent
	err   error
}

func (d *Distributor) init() {
	if d.wake == nil {
		d.wake = make(chan struct{}, 1)
		d.rr = map[string]int{}
		d.answers = map[string][]time.Time{}
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
}

func (d *Distributor) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Serve waits until an agent accepts t and returns that agent, now
// talking; the caller calls Done when the task ends. It returns ctx's
// error when ctx ends first (the caller hung up): the task leaves the
// queue and an offer in progress is withdrawn.
func (d *Distributor) Serve(ctx context.Context, t *Task) (Agent, error) {
	set := d.Config.Current()
	if _, ok := registry.Model[*Queue](set, KindQueue, t.Queue); !ok {
		return Agent{}, fmt.Errorf("task %s: no queue %q", t.ID, t.Queue)
	}
	d.mu.Lock()
	d.init()
	d.seq++
	w := &waiting{task: t, seq: d.seq, since: time.Now(), tried: map[int64]bool{}, done: make(chan result, 1)}
	d.waiting = append(d.waiting, w)
	d.mu.Unlock()
	d.poke()
	select {
	case r := <-w.done:
		return r.agent, r.err
	case <-ctx.Done():
		d.mu.Lock()
		queued := slices.Contains(d.waiting, w)
		d.waiting = slices.DeleteFunc(d.waiting, func(x *waiting) bool { return x == w })
		if w.cancel != nil {
			w.cancel()
		}
		d.mu.Unlock()
		if !queued {
			// finish took the task off the queue first: its result is
			// on the way; an agent who accepted it is handed back.
			if r := <-w.done; r.err == nil {
				d.Done(context.WithoutCancel(ctx), r.agent, t)
			}
		}
		return Agent{}, ctx.Err()
	}
}

// ConfigChanged follows a change of the running configuration: a round
// runs at once, so waiting tasks meet their queues as they now read (a
// removed queue gives its calls back, a new strategy or overflow applies)
// rather than at the next tick.
func (d *Distributor) ConfigChanged(context.Context, *registry.Set) {
	d.mu.Lock()
	d.init()
	d.mu.Unlock()
	d.poke()
}

// Done ends an accepted task: the agent goes to wrap-up.
func (d *Distributor) Done(ctx context.Context, a Agent, t *Task) {
	if _, err := d.Agents.taskEnded(ctx, a.UserID, t.ID); err != nil && !errors.Is(err, ErrConflict) {
		d.Log.Error("ending a task", "task", t.ID, "agent", a.Username, "err", err)
	}
	d.poke()
}

// Waiting reports the tasks waiting in each queue (offers in progress
// included).
func (d *Distributor) Waiting() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]int{}
	for _, w := range d.waiting {
		out[w.task.Queue]++
	}
	return out
}

// Oldest tells, per queue, since when its longest-waiting task has been
// waiting here (the wallboard's longest wait).
func (d *Distributor) Oldest() map[string]time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]time.Time{}
	for _, w := range d.waiting {
		if t, ok := out[w.task.Queue]; !ok || w.since.Before(t) {
			out[w.task.Queue] = w.since
		}
	}
	return out
}

// Position tells where a waiting task stands in its queue (1: next) and
// the estimated wait: its position times the time between the queue's
// last answers (0 until the queue has answered a few). ok is false for a
// task that is not waiting.
func (d *Distributor) Position(taskID string) (pos int, estimate time.Duration, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var me *waiting
	for _, w := range d.waiting {
		if w.task.ID == taskID {
			me = w
		}
	}
	if me == nil {
		return 0, 0, false
	}
	// Ranked as a round ranks them: priority with its overflow raise,
	// then arrival.
	q, _ := registry.Model[*Queue](d.Config.Current(), KindQueue, me.task.Queue)
	priority := func(w *waiting) float64 {
		if q != nil {
			if st := q.step(time.Since(w.since)); st != nil {
				return w.task.Priority + st.Priority
			}
		}
		return w.task.Priority
	}
	mine := priority(me)
	for _, w := range d.waiting {
		if w.task.Queue != me.task.Queue {
			continue
		}
		if p := priority(w); w == me || p > mine || p == mine && w.seq < me.seq {
			pos++
		}
	}
	if a := d.answers[me.task.Queue]; len(a) >= 3 {
		// Answers long ago say nothing of the queue now.
		if time.Since(a[len(a)-1]) < 10*time.Minute {
			estimate = time.Duration(pos) * a[len(a)-1].Sub(a[0]) / time.Duration(len(a)-1)
		}
	}
	return pos, estimate, true
}

// Run offers tasks until ctx ends: whenever a task arrives or an agent
// changes, and every tick (states that end by themselves, agents whose
// skills changed).
func (d *Distributor) Run(ctx context.Context, tick time.Duration) {
	d.mu.Lock()
	d.init()
	d.mu.Unlock()
	changes, stop := d.Agents.watchRoutable()
	defer stop()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-changes:
			d.mu.Lock()
			d.freed = true
			d.mu.Unlock()
		case <-t.C:
			if _, err := d.Agents.Expire(ctx); err != nil && ctx.Err() == nil {
				d.Log.Error("ending agent states that ran out", "err", err)
			}
		}
		if err := d.round(ctx); err != nil && ctx.Err() == nil {
			d.Log.Error("distributing tasks", "err", err)
		}
	}
}

// round offers each waiting task, best first, to the agents its queue's
// strategy picks among the idle ones.
func (d *Distributor) round(ctx context.Context) error {
	d.mu.Lock()
	var pending []*waiting
	for _, w := range d.waiting {
		if !w.offering {
			pending = append(pending, w)
		}
	}
	age, freed := time.Since(d.idleAt), d.freed
	d.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	set := d.Config.Current()
	// Each task's queue and overflow step, by how long it has waited.
	queues := make(map[*waiting]*Queue, len(pending))
	steps := make(map[*waiting]*Step, len(pending))
	priority := func(w *waiting) float64 {
		if st := steps[w]; st != nil {
			return w.task.Priority + st.Priority
		}
		return w.task.Priority
	}
	pending = slices.DeleteFunc(pending, func(w *waiting) bool {
		q, ok := registry.Model[*Queue](set, KindQueue, w.task.Queue)
		if !ok {
			d.finish(w, result{err: fmt.Errorf("queue %q was removed", w.task.Queue)})
			return true
		}
		waited := time.Since(w.since)
		st := q.step(waited)
		if st != nil && st.Exit != "" {
			d.finish(w, result{err: &OverflowError{Queue: q.Name, Exit: st.Exit, Waited: waited}})
			return true
		}
		queues[w], steps[w] = q, st
		return false
	})
	sort.SliceStable(pending, func(i, j int) bool {
		if pi, pj := priority(pending[i]), priority(pending[j]); pi != pj {
			return pi > pj
		}
		return pending[i].seq < pending[j].seq
	})
	m, err := d.Agents.model()
	if err != nil {
		return err
	}
	if age > idleFresh || (freed && age > idleFreed) {
		idle, err := d.Agents.routable(ctx, m)
		if err != nil {
			return err
		}
		d.mu.Lock()
		d.idle, d.idleAt, d.freed = idle, time.Now(), false
		d.mu.Unlock()
	}
	d.mu.Lock()
	agents := d.idle
	d.mu.Unlock()
	if len(agents) == 0 {
		return nil
	}
	var calls map[int64]int
	// Who may serve each queue is decided once per round, not per task.
	members := map[string][]Agent{}
	memberOf := func(q *Queue) []Agent {
		list, ok := members[q.Name]
		if !ok {
			for _, a := range agents {
				if ok, err := q.accepts(a, nil); err != nil {
					d.Log.Warn("queue rule failed for an agent", "queue", q.Name, "agent", a.Username, "err", err)
				} else if ok {
					list = append(list, a)
				}
			}
			members[q.Name] = list
		}
		return list
	}
	taken := map[int64]bool{}
	for _, w := range pending {
		q, st := queues[w], steps[w]
		list := memberOf(q)
		skills := w.task.Skills
		if st != nil {
			if st.AnySkills {
				skills = nil
			}
			if len(st.Queues) > 0 {
				list = slices.Clone(list)
				for _, ref := range st.Queues {
					if other, ok := registry.Model[*Queue](set, KindQueue, ref.Name); ok {
						for _, a := range memberOf(other) {
							if !slices.ContainsFunc(list, func(b Agent) bool { return b.UserID == a.UserID }) {
								list = append(list, a)
							}
						}
					}
				}
				// Longest idle first across the queues.
				sort.SliceStable(list, func(i, j int) bool { return list[i].Since.Before(list[j].Since) })
			}
		}
		if q.Strategy == "fewest-calls" && calls == nil {
			if calls, err = d.Agents.callsToday(ctx, m); err != nil {
				return err
			}
		}
		var eligible []Agent
		for _, a := range list {
			if taken[a.UserID] || w.tried[a.UserID] || !hasSkills(a, skills) {
				continue
			}
			eligible = append(eligible, a)
			if q.Strategy == "longest-idle" {
				break // the list is ordered by how long each has been idle
			}
		}
		if len(eligible) == 0 {
			if len(w.tried) > 0 && !slices.ContainsFunc(list, func(a Agent) bool { return hasSkills(a, skills) && !taken[a.UserID] && !w.tried[a.UserID] }) {
				d.mu.Lock()
				clear(w.tried) // everyone able missed it once: start over
				d.mu.Unlock()
			}
			continue
		}
		chosen := d.choose(q, w.task, eligible, calls)
		for _, a := range chosen {
			taken[a.UserID] = true
		}
		d.offer(ctx, w, chosen)
	}
	// Offered agents are no longer idle, whether or not their
	// reservation holds.
	d.mu.Lock()
	d.idle = slices.DeleteFunc(slices.Clone(d.idle), func(a Agent) bool { return taken[a.UserID] })
	d.mu.Unlock()
	return nil
}

// hasSkills reports whether the agent has each skill (or speaks each
// language) a task needs beyond its queue's.
func hasSkills(a Agent, skills []string) bool {
	for _, s := range skills {
		if a.Skills[s] == 0 && !slices.Contains(a.Languages, s) {
			return false
		}
	}
	return true
}

// choose orders eligible agents by the queue's strategy and returns the
// ones to offer to: one, or all of them for ring-all.
func (d *Distributor) choose(q *Queue, t *Task, eligible []Agent, calls map[int64]int) []Agent {
	bySince := func(i, j int) bool { return eligible[i].Since.Before(eligible[j].Since) }
	switch q.Strategy {
	case "ring-all":
		return eligible
	case "fewest-calls":
		sort.SliceStable(eligible, func(i, j int) bool {
			if calls[eligible[i].UserID] != calls[eligible[j].UserID] {
				return calls[eligible[i].UserID] < calls[eligible[j].UserID]
			}
			return bySince(i, j)
		})
	case "round-robin":
		sort.SliceStable(eligible, func(i, j int) bool { return eligible[i].Extension < eligible[j].Extension })
		d.mu.Lock()
		n := d.rr[q.Name] % len(eligible)
		d.rr[q.Name]++
		d.mu.Unlock()
		return eligible[n : n+1]
	case "skill-weighted":
		need := append(slices.Clone(q.Skills), t.Skills...)
		score := func(a Agent) int {
			s := 0
			for _, sk := range need {
				s += a.Skills[sk]
			}
			return s
		}
		sort.SliceStable(eligible, func(i, j int) bool {
			if si, sj := score(eligible[i]), score(eligible[j]); si != sj {
				return si > sj
			}
			return bySince(i, j)
		})
	default: // longest-idle
		sort.SliceStable(eligible, bySince)
	}
	return eligible[:1]
}

// offer reserves the agents and offers them the task; the first to accept
// gets it, the others are released.
func (d *Distributor) offer(ctx context.Context, w *waiting, agents []Agent) {
	m, err := d.Agents.model()
	if err != nil {
		d.Log.Error("offering a task", "err", err)
		return
	}
	offerCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.Ring)
	d.mu.Lock()
	if !slices.Contains(d.waiting, w) { // the caller has left
		d.mu.Unlock()
		cancel()
		return
	}
	w.offering, w.cancel = true, cancel
	d.mu.Unlock()

	// Reservations are made here, not in the round, so that a round hands
	// out many tasks without waiting for each one's transaction.
	go func() {
		var reserved []Agent
		for _, a := range agents {
			ra, err := d.Agents.reserve(ctx, a.UserID, w.task.ID)
			if errors.Is(err, ErrConflict) {
				continue
			}
			if err != nil {
				d.Log.Error("reserving an agent", "agent", a.Username, "task", w.task.ID, "err", err)
				continue
			}
			reserved = append(reserved, ra)
		}
		d.mu.Lock()
		stillWaiting := slices.Contains(d.waiting, w)
		if len(reserved) == 0 || !stillWaiting {
			w.offering, w.cancel = false, nil
		}
		d.mu.Unlock()
		if len(reserved) == 0 || !stillWaiting {
			cancel()
			for _, a := range reserved { // the caller left meanwhile
				d.release(context.WithoutCancel(ctx), a, w.task, false)
			}
			d.mu.Lock()
			d.idleAt = time.Time{} // the agents read as idle were not
			d.mu.Unlock()
			d.poke()
			return
		}
		d.ring(ctx, offerCtx, cancel, w, reserved)
	}()
}

// ring offers the task to the reserved agents at once; the first to
// accept gets it, the others are released.
func (d *Distributor) ring(ctx, offerCtx context.Context, cancel context.CancelFunc, w *waiting, reserved []Agent) {
	{
		defer cancel()
		type answer struct {
			agent Agent
			err   error
		}
		answers := make(chan answer, len(reserved))
		for _, a := range reserved {
			go func() { answers <- answer{a, w.task.Offer(offerCtx, a)} }()
		}
		var winner *Agent
		for range reserved {
			ans := <-answers
			bg := context.WithoutCancel(ctx)
			if ans.err == nil && winner == nil {
				a, err := d.Agents.answered(bg, ans.agent.UserID, w.task.ID)
				if err == nil {
					winner = &a
					cancel() // withdraw the other offers of a ring-all
					continue
				}
				// A leader forced the ringing agent elsewhere: the phone
				// he answered is not the task's.
				d.Log.Warn("an accepted offer lost its reservation", "agent", ans.agent.Username, "task", w.task.ID, "err", err)
				if w.task.Lost != nil {
					w.task.Lost(bg, ans.agent)
				}
			}
			var missed bool
			switch {
			case winner != nil, errors.Is(offerCtx.Err(), context.Canceled):
				// Withdrawn: another agent took it, or the caller left.
			case errors.Is(ans.err, ErrNoAnswer), errors.Is(offerCtx.Err(), context.DeadlineExceeded):
				missed = true
			case ans.err != nil:
				d.Log.Warn("offering a task failed", "agent", ans.agent.Username, "task", w.task.ID, "err", ans.err)
				missed = true // an unreachable phone counts as a miss
			}
			d.release(bg, ans.agent, w.task, missed)
			if missed {
				d.mu.Lock()
				w.tried[ans.agent.UserID] = true
				d.mu.Unlock()
			}
		}
		d.mu.Lock()
		w.offering, w.cancel = false, nil
		if winner != nil {
			q := w.task.Queue
			d.answers[q] = append(d.answers[q], time.Now())
			if len(d.answers[q]) > answersKept {
				d.answers[q] = d.answers[q][1:]
			}
		}
		d.mu.Unlock()
		if winner != nil && !d.finish(w, result{agent: *winner}) {
			// The caller left as the agent answered.
			d.Done(context.WithoutCancel(ctx), *winner, w.task)
		}
		d.poke()
	}
}

func (d *Distributor) release(ctx context.Context, a Agent, t *Task, missed bool) {
	if _, err := d.Agents.released(ctx, a.UserID, t.ID, missed); err != nil && !errors.Is(err, ErrConflict) {
		d.Log.Error("releasing an agent", "agent", a.Username, "task", t.ID, "err", err)
	}
}

// finish hands a result to the task's Serve and takes it off the queue.
// It reports false, sending nothing, when the task had already left the
// queue (its caller hung up): taking it off and handing the result over
// are one step, so Serve either gets the result or knows none comes.
func (d *Distributor) finish(w *waiting, r result) bool {
	d.mu.Lock()
	queued := slices.Contains(d.waiting, w)
	d.waiting = slices.DeleteFunc(d.waiting, func(x *waiting) bool { return x == w })
	d.mu.Unlock()
	if queued {
		w.done <- r // buffered: Serve reads it, or drains it when it gives up
	}
	return queued
}

// accepts reports whether the queue's rule takes the agent and the agent
// has every skill the queue and the task need.
func (q *Queue) accepts(a Agent, skills []string) (bool, error) {
	for _, s := range q.Skills {
		if a.Skills[s] == 0 {
			return false, nil
		}
	}
	if !hasSkills(a, skills) {
		return false, nil
	}
	if q.members == nil {
		return false, nil
	}
	return q.members.Bool(a.vars())
}

// callsToday counts the tasks each agent took today (fewest-calls).
func (s *Service) callsToday(ctx context.Context, m *States) (map[int64]int, error) {
	out := map[int64]int{}
	now := s.now()
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	rows, err := s.Pool.Query(ctx, `SELECT user_id, count(*) FROM agent_events WHERE to_state = $1 AND at >= $2 GROUP BY user_id`,
		m.First(Talking).Name, midnight)
	if err != nil {
		return nil, fmt.Errorf("counting agents' tasks today: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}
