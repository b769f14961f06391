package acd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/telephony/sipauth"
)

// Permissions of the ACD.
var (
	// PermSupervise lets a team leader force agents' states (强制示忙、示闲、
	// 签出) and watch agents and queues.
	PermSupervise = identity.RegisterPermission("acd.supervise", "监控座席和队列，强制座席示忙、示闲、签出")
	// PermManage lets an administrator set agents' extensions, SIP
	// passwords, skills and languages.
	PermManage = identity.RegisterPermission("acd.manage", "设置座席分机、技能和语种")
)

// Agent is an agent with its state.
type Agent struct {
	UserID      int64          `json:"userId"`
	Username    string         `json:"username"`
	DisplayName string         `json:"displayName"`
	UnitCode    string         `json:"unit"`
	Roles       []string       `json:"roles"`
	Extension   string         `json:"extension"`
	Skills      map[string]int `json:"skills"`
	Languages   []string       `json:"languages"`
	State       string         `json:"state"`
	Reason      string         `json:"reason"`
	Since       time.Time      `json:"since"`
	Task        string         `json:"task"`
	Misses      int            `json:"misses"`
	Version     int64          `json:"version"`
}

// vars is the agent as queue rules see it.
func (a Agent) vars() AgentEnv {
	return AgentEnv{Agent: AgentVars{Username: a.Username, Unit: a.UnitCode, Skills: a.Skills, Languages: a.Languages, Roles: a.Roles}}
}

// Service keeps agents and their states. Every change of state is one
// transaction with its agent_events row, guarded by the row's version,
// so two nodes (or a supervisor and the distributor) never both win.
type Service struct {
	Pool   *pgxpool.Pool
	Config *registry.Runtime
	Log    *slog.Logger
	Now    func() time.Time

	mu       sync.Mutex
	watchers map[chan struct{}]bool // true: only changes that make an agent routable

	rolesMu sync.Mutex
	rolesAt time.Time
	roles   map[int64][]string
}

// rolesTTL is how old the agents' roles may be; role changes reach queue
// rules within it (P-19 allows 5 s).
const rolesTTL = 3 * time.Second

// withRoles fills in the agents' roles from a cache of every agent's
// roles, read again when older than rolesTTL.
func (s *Service) withRoles(ctx context.Context, agents []Agent) ([]Agent, error) {
	s.rolesMu.Lock()
	defer s.rolesMu.Unlock()
	if s.roles == nil || time.Since(s.rolesAt) > rolesTTL {
		rows, err := s.Pool.Query(ctx, `SELECT up.user_id, array_agg(DISTINCT r ORDER BY r) FROM agents a
			JOIN user_posts up ON up.user_id = a.user_id JOIN posts p ON p.id = up.post_id, unnest(p.roles) r GROUP BY up.user_id`)
		if err != nil {
			return nil, fmt.Errorf("reading agents' roles: %w", err)
		}
		roles := map[int64][]string{}
		for rows.Next() {
			var id int64
			var rs []string
			if err := rows.Scan(&id, &rs); err != nil {
				rows.Close()
				return nil, err
			}
			roles[id] = rs
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		s.roles, s.rolesAt = roles, time.Now()
	}
	for i := range agents {
		agents[i].Roles = s.roles[agents[i].UserID]
		if agents[i].Roles == nil {
			agents[i].Roles = []string{}
		}
	}
	return agents, nil
}

func (s *Service) withRolesOne(ctx context.Context, a Agent) (Agent, error) {
	out, err := s.withRoles(ctx, []Agent{a})
	if err != nil {
		return Agent{}, err
	}
	return out[0], nil
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Service) model() (*States, error) {
	m, ok := Model(s.Config.Current())
	if !ok {
		return nil, errors.New("no agent-states document is configured")
	}
	return m, nil
}

// agentColumns leave out roles, which come from rolesOf: reading them
// per row made every distribution round cost a subquery per agent.
const agentColumns = `a.user_id, u.username, u.display_name, un.code,
	a.extension, a.skills, a.languages, s.state, s.reason, s.since, s.task, s.misses, s.version`

const agentFrom = ` FROM agents a JOIN agent_status s ON s.user_id = a.user_id JOIN users u ON u.id = a.user_id JOIN units un ON un.id = u.unit_id`

func scanAgent(row pgx.Row) (Agent, error) {
	var a Agent
	err := row.Scan(&a.UserID, &a.Username, &a.DisplayName, &a.UnitCode, &a.Extension, &a.Skills, &a.Languages,
		&a.State, &a.Reason, &a.Since, &a.Task, &a.Misses, &a.Version)
	return a, err
}

// Agents lists every agent with its state.
func (s *Service) Agents(ctx context.Context) ([]Agent, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+agentColumns+agentFrom+` ORDER BY a.extension`)
	if err != nil {
		return nil, fmt.Errorf("listing agents: %w", err)
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Agent, error) { return scanAgent(r) })
	if err != nil {
		return nil, err
	}
	return s.withRoles(ctx, all)
}

// routable lists the agents in a state that is offered tasks, longest
// in it first.
func (s *Service) routable(ctx context.Context, m *States) ([]Agent, error) {
	var names []string
	for _, st := range m.States {
		if st.Routable() {
			names = append(names, st.Name)
		}
	}
	rows, err := s.Pool.Query(ctx, `SELECT `+agentColumns+agentFrom+` WHERE s.state = ANY($1) ORDER BY s.since`, names)
	if err != nil {
		return nil, fmt.Errorf("listing idle agents: %w", err)
	}
	idle, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Agent, error) { return scanAgent(r) })
	if err != nil {
		return nil, err
	}
	return s.withRoles(ctx, idle)
}

// Agent returns one agent by user id.
func (s *Service) Agent(ctx context.Context, userID int64) (Agent, error) {
	a, err := scanAgent(s.Pool.QueryRow(ctx, `SELECT `+agentColumns+agentFrom+` WHERE a.user_id = $1`, userID))
	if errors.Is(err, pgx.ErrNoRows) {
		return Agent{}, gql.FieldError("agent", "该用户不是座席（未设置分机）")
	}
	if err != nil {
		return Agent{}, fmt.Errorf("reading agent %d: %w", userID, err)
	}
	return s.withRolesOne(ctx, a)
}

// ByExtension returns the agent of an extension.
func (s *Service) ByExtension(ctx context.Context, ext string) (Agent, error) {
	a, err := scanAgent(s.Pool.QueryRow(ctx, `SELECT `+agentColumns+agentFrom+` WHERE a.extension = $1`, ext))
	if errors.Is(err, pgx.ErrNoRows) {
		return Agent{}, gql.FieldError("extension", "分机 %s 不存在", ext)
	}
	if err != nil {
		return Agent{}, fmt.Errorf("reading extension %s: %w", ext, err)
	}
	return s.withRolesOne(ctx, a)
}

// Profile is what an administrator sets of an agent.
type Profile struct {
	Extension string
	// SIPPassword is the phone's, kept by core/telephony/sipauth; empty
	// keeps the current one.
	SIPPassword string
	Skills      map[string]int
	Languages   []string
}

// SetProfile makes a user an agent or changes its profile; the change is
// seen by the next offer (P-19).
func (s *Service) SetProfile(ctx context.Context, p *identity.Principal, userID int64, in Profile) (Agent, error) {
	if !p.Can(PermManage) {
		return Agent{}, gql.Errorf(gql.Forbidden, "没有设置座席的权限")
	}
	if in.Extension == "" || len(in.Extension) > 16 || !isDigits(in.Extension) {
		return Agent{}, gql.FieldError("extension", "分机号须为 1–16 位数字")
	}
	for skill, level := range in.Skills {
		if level < 1 || level > 10 {
			return Agent{}, gql.FieldError("skills", "技能 %s 的等级须在 1 到 10 之间", skill)
		}
	}
	if in.Skills == nil {
		in.Skills = map[string]int{}
	}
	if in.Languages == nil {
		in.Languages = []string{}
	}
	m, err := s.model()
	if err != nil {
		return Agent{}, err
	}
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var current *string
		if err := tx.QueryRow(ctx, `SELECT (SELECT extension FROM agents WHERE user_id = $1)`, userID).Scan(&current); err != nil {
			return err
		}
		// The phone's credential follows the extension, in this
		// transaction; the ACD keeps none of it.
		if err := sipauth.Change(ctx, tx, current, in.Extension, in.SIPPassword); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO agents (user_id, extension, skills, languages) VALUES ($1, $2, $3, $4)
			ON CONFLICT (user_id) DO UPDATE SET extension = $2, skills = $3, languages = $4, updated_at = now()`,
			userID, in.Extension, in.Skills, in.Languages)
		if err != nil {
			var pgErr interface{ SQLState() string }
			if errors.As(err, &pgErr) && pgErr.SQLState() == "23505" {
				return gql.FieldError("extension", "分机 %s 已被其他座席使用", in.Extension)
			}
			if errors.As(err, &pgErr) && pgErr.SQLState() == "23503" {
				return gql.FieldError("userId", "用户 %d 不存在", userID)
			}
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO agent_status (user_id, state, since) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			userID, m.First(SignedOut).Name, s.now()); err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.Entry{Actor: p.Actor(), Action: "agent.profile", TargetType: "user", TargetID: fmt.Sprint(userID),
			UnitPath: p.UnitPath, After: map[string]any{"extension": in.Extension, "skills": in.Skills, "languages": in.Languages, "sipPasswordChanged": in.SIPPassword != ""}})
	})
	if err != nil {
		return Agent{}, err
	}
	s.changed(true)
	return s.Agent(ctx, userID)
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// change is one transition asked of an agent.
type change struct {
	to     string
	reason string
	by     string
	task   string
	// allow checks the agent's current state; nil allows any.
	allow func(a Agent, from *State) error
	// decide, when set, picks the state and reason from the agent as
	// read under the lock, instead of to and reason.
	decide func(a Agent) (to, reason string)
	// misses sets the count of unanswered offers in a row for a move to
	// state to (nil keeps it).
	misses func(a Agent, to string) int
}

// ErrConflict is returned when an agent's state changed under a
// transition that required the state it read.
var ErrConflict = errors.New("the agent's state changed meanwhile")

// transition moves an agent to another state in one transaction with its
// event; allow sees the state as read under a row lock.
func (s *Service) transition(ctx context.Context, userID int64, ch change) (Agent, error) {
	m, err := s.model()
	if err != nil {
		return Agent{}, err
	}
	to, ok := m.State(ch.to)
	if !ok && ch.decide == nil {
		return Agent{}, gql.FieldError("state", "没有状态 %q", ch.to)
	}
	var out Agent
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		a, err := scanAgent(tx.QueryRow(ctx, `SELECT `+agentColumns+agentFrom+` WHERE a.user_id = $1 FOR UPDATE OF s`, userID))
		if errors.Is(err, pgx.ErrNoRows) {
			return gql.FieldError("agent", "该用户不是座席（未设置分机）")
		}
		if err != nil {
			return err
		}
		from, _ := m.State(a.State)
		if from == nil {
			// A state removed from the configuration: any change leaves it.
			from = &State{Name: a.State, Label: a.State, Category: Busy}
		}
		if ch.allow != nil {
			if err := ch.allow(a, from); err != nil {
				return err
			}
		}
		if ch.decide != nil {
			var name string
			name, ch.reason = ch.decide(a)
			if to, ok = m.State(name); !ok {
				return fmt.Errorf("no state %q", name)
			}
		}
		misses := a.Misses
		if ch.misses != nil {
			misses = ch.misses(a, to.Name)
		}
		now := s.now()
		if _, err := tx.Exec(ctx, `UPDATE agent_status SET state = $2, reason = $3, since = $4, task = $5, misses = $6, version = version + 1 WHERE user_id = $1`,
			userID, to.Name, ch.reason, now, ch.task, misses); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO agent_events (user_id, at, from_state, to_state, reason, by_user, task) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			userID, now, a.State, to.Name, ch.reason, ch.by, ch.task); err != nil {
			return err
		}
		a.State, a.Reason, a.Since, a.Task, a.Misses, a.Version = to.Name, ch.reason, now, ch.task, misses, a.Version+1
		out = a
		return nil
	})
	if err != nil {
		return Agent{}, err
	}
	s.changed(to.Routable())
	return s.withRolesOne(ctx, out)
}

// tryMove is transition for sweeps (timers, reconciliation): an agent
// whose state changed meanwhile is left alone and reported as not moved.
func (s *Service) tryMove(ctx context.Context, userID int64, ch change) (bool, error) {
	_, err := s.transition(ctx, userID, ch)
	if errors.Is(err, ErrConflict) {
		return false, nil
	}
	return err == nil, err
}

func busyWithTask(a Agent, from *State) error {
	if from.Category == Reserved || from.Category == Talking {
		return gql.FieldError("state", "正在%s，结束后再切换状态", from.Label)
	}
	return nil
}

// SignIn signs p in (签入) as an agent.
func (s *Service) SignIn(ctx context.Context, p *identity.Principal) (Agent, error) {
	m, err := s.model()
	if err != nil {
		return Agent{}, err
	}
	return s.transition(ctx, p.UserID, change{to: m.SignIn.Name, by: p.Username, misses: func(Agent, string) int { return 0 },
		allow: func(a Agent, from *State) error {
			if from.Category != SignedOut {
				return gql.FieldError("state", "已签入（当前%s）", from.Label)
			}
			return nil
		}})
}

// SignOut signs p out (签出); not while a task rings or is handled.
func (s *Service) SignOut(ctx context.Context, p *identity.Principal) (Agent, error) {
	m, err := s.model()
	if err != nil {
		return Agent{}, err
	}
	return s.transition(ctx, p.UserID, change{to: m.First(SignedOut).Name, by: p.Username, allow: busyWithTask})
}

// SetState moves p to a state an agent may choose (示闲, 示忙, 小休 …)
// with one of its reasons.
func (s *Service) SetState(ctx context.Context, p *identity.Principal, state, reason string) (Agent, error) {
	m, err := s.model()
	if err != nil {
		return Agent{}, err
	}
	st, ok := m.State(state)
	if !ok || !st.Manual {
		return Agent{}, gql.FieldError("state", "不能选择状态 %q%s", state, registry.Suggest(state, manualStates(m)))
	}
	if err := checkReason(st, reason); err != nil {
		return Agent{}, err
	}
	return s.transition(ctx, p.UserID, change{to: st.Name, reason: reason, by: p.Username, misses: func(Agent, string) int { return 0 },
		allow: func(a Agent, from *State) error {
			if from.Category == SignedOut {
				return gql.FieldError("state", "请先签入")
			}
			return busyWithTask(a, from)
		}})
}

func manualStates(m *States) []string {
	var out []string
	for _, st := range m.States {
		if st.Manual {
			out = append(out, st.Name)
		}
	}
	return out
}

func checkReason(st *State, reason string) error {
	if len(st.Reasons) > 0 && !slices.Contains(st.Reasons, reason) {
		return gql.FieldError("reason", "%s须选择原因：%v", st.Label, st.Reasons)
	}
	if len(st.Reasons) == 0 && reason != "" {
		return gql.FieldError("reason", "%s不需要原因", st.Label)
	}
	return nil
}

// Force is a supervisor's 强制示忙 / 强制示闲 / 强制签出: any state an agent
// may choose, or signed out. An agent handling a task keeps it; forcing
// one who is being offered a task releases the offer (the distributor
// sees the reservation gone and offers the task elsewhere).
func (s *Service) Force(ctx context.Context, p *identity.Principal, userID int64, state, reason string) (Agent, error) {
	if !p.Can(PermSupervise) {
		return Agent{}, gql.Errorf(gql.Forbidden, "没有强制改变座席状态的权限")
	}
	m, err := s.model()
	if err != nil {
		return Agent{}, err
	}
	st, ok := m.State(state)
	if !ok || !(st.Manual || st.Category == SignedOut) {
		return Agent{}, gql.FieldError("state", "不能强制为状态 %q", state)
	}
	if len(st.Reasons) > 0 && reason == "" {
		reason = m.ForcedReason
	}
	a, err := s.transition(ctx, userID, change{to: st.Name, reason: reason, by: p.Username, misses: func(Agent, string) int { return 0 },
		allow: func(a Agent, from *State) error {
			if from.Category == Talking {
				return gql.FieldError("state", "座席正在通话，可先强拆再强制状态")
			}
			return nil
		}})
	if err != nil {
		return Agent{}, err
	}
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		return audit.Write(ctx, tx, audit.Entry{Actor: p.Actor(), Action: "agent.force", TargetType: "user", TargetID: fmt.Sprint(userID),
			UnitPath: p.UnitPath, Details: map[string]any{"state": st.Name, "reason": reason}})
	})
	return a, err
}

// reserve moves an idle agent to the reserved state for a task; it fails
// with ErrConflict when the agent is no longer idle.
func (s *Service) reserve(ctx context.Context, userID int64, task string) (Agent, error) {
	m, err := s.model()
	if err != nil {
		return Agent{}, err
	}
	return s.transition(ctx, userID, change{to: m.First(Reserved).Name, by: "acd", task: task,
		allow: func(a Agent, from *State) error {
			if !from.Routable() {
				return ErrConflict
			}
			return nil
		}})
}

// answered moves a reserved agent to talking.
func (s *Service) answered(ctx context.Context, userID int64, task string) (Agent, error) {
	m, err := s.model()
	if err != nil {
		return Agent{}, err
	}
	return s.transition(ctx, userID, change{to: m.First(Talking).Name, by: "acd", task: task, misses: func(Agent, string) int { return 0 },
		allow: func(a Agent, from *State) error {
			if from.Category != Reserved || a.Task != task {
				return ErrConflict
			}
			return nil
		}})
}

// released ends a reservation the agent did not answer: back to idle, or
// after misses offers in a row, to the no-answer state. A reservation
// already taken away (a supervisor forced the agent) is left alone.
func (s *Service) released(ctx context.Context, userID int64, task string, missed bool) (Agent, error) {
	m, err := s.model()
	if err != nil {
		return Agent{}, err
	}
	idle := m.First(Idle).Name
	return s.transition(ctx, userID, change{by: "acd",
		decide: func(a Agent) (string, string) {
			if missed && m.NoAnswer.Misses > 0 && a.Misses+1 >= m.NoAnswer.Misses {
				return m.NoAnswer.State.Name, m.NoAnswer.Reason
			}
			return idle, ""
		},
		misses: func(a Agent, to string) int {
			if !missed || to != idle {
				return 0
			}
			return a.Misses + 1
		},
		allow: func(a Agent, from *State) error {
			if from.Category != Reserved || a.Task != task {
				return ErrConflict
			}
			return nil
		}})
}

// Direct reserves a signed-in agent for a task that does not come from a
// queue (a call the agent places, a call transferred to the agent's
// extension): from any state but signed out, reserved or talking, so an
// agent busy with callbacks (示忙回访) can place them. The distributor
// offers the agent nothing until the task ends.
func (s *Service) Direct(ctx context.Context, userID int64, task string) (Agent, error) {
	m, err := s.model()
	if err != nil {
		return Agent{}, err
	}
	return s.transition(ctx, userID, change{to: m.First(Reserved).Name, by: "outbound", task: task,
		allow: func(a Agent, from *State) error {
			switch from.Category {
			case SignedOut:
				return gql.Errorf(gql.Conflict, "座席 %s 未签入", a.Username)
			case Reserved, Talking:
				return gql.Errorf(gql.Conflict, "座席 %s 正在通话或振铃中", a.Username)
			}
			return nil
		}})
}

// DirectAnswered moves an agent reserved by Direct to talking once the
// agent's phone answered.
func (s *Service) DirectAnswered(ctx context.Context, userID int64, task string) (Agent, error) {
	return s.answered(ctx, userID, task)
}

// DirectEnded ends a task started by Direct: to wrap-up when it was
// answered, back to the state before (before, as Direct found it) when
// the agent's phone never answered.
func (s *Service) DirectEnded(ctx context.Context, userID int64, task string, answered bool, before Agent) error {
	var err error
	if answered {
		_, err = s.taskEnded(ctx, userID, task)
	} else {
		_, err = s.transition(ctx, userID, change{to: before.State, reason: before.Reason, by: "outbound",
			allow: func(a Agent, from *State) error {
				if from.Category != Reserved || a.Task != task {
					return ErrConflict
				}
				return nil
			}})
	}
	if errors.Is(err, ErrConflict) {
		return nil // a supervisor or the reconciler moved the agent meanwhile
	}
	return err
}

// taskEnded moves an agent who handled a task to the after-task state
// (wrap-up).
func (s *Service) taskEnded(ctx context.Context, userID int64, task string) (Agent, error) {
	m, err := s.model()
	if err != nil {
		return Agent{}, err
	}
	return s.transition(ctx, userID, change{to: m.AfterTask.Name, by: "acd", task: task,
		allow: func(a Agent, from *State) error {
			if from.Category != Talking || a.Task != task {
				return ErrConflict
			}
			return nil
		}})
}

// Expire ends states that have run their course (wrap-up, breaks) and
// returns how many agents it moved.
func (s *Service) Expire(ctx context.Context) (int, error) {
	m, err := s.model()
	if err != nil {
		return 0, err
	}
	moved := 0
	for _, st := range m.States {
		if st.Max == 0 {
			continue
		}
		rows, err := s.Pool.Query(ctx, `SELECT user_id FROM agent_status WHERE state = $1 AND since <= $2`, st.Name, s.now().Add(-st.Max))
		if err != nil {
			return moved, fmt.Errorf("finding agents past %s: %w", st.Name, err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return moved, err
		}
		for _, id := range ids {
			name, max := st.Name, st.Max
			ok, err := s.tryMove(ctx, id, change{to: st.Then.Name, by: "timer",
				allow: func(a Agent, _ *State) error {
					if a.State != name || s.now().Sub(a.Since) < max {
						return ErrConflict
					}
					return nil
				}})
			if err != nil {
				return moved, err
			}
			if ok {
				moved++
			}
		}
	}
	return moved, nil
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// Watch returns a channel that receives a value after agents change, and
// a function to stop watching. Values are coalesced: a slow reader sees
// one.
func (s *Service) Watch() (<-chan struct{}, func()) { return s.watch(false) }

// watchRoutable is Watch for changes that may let an agent take a task:
// the distributor needs no other.
func (s *Service) watchRoutable() (<-chan struct{}, func()) { return s.watch(true) }

func (s *Service) watch(routableOnly bool) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	if s.watchers == nil {
		s.watchers = map[chan struct{}]bool{}
	}
	s.watchers[ch] = routableOnly
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		delete(s.watchers, ch)
		s.mu.Unlock()
	}
}

func (s *Service) changed(routable bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch, routableOnly := range s.watchers {
		if routableOnly && !routable {
			continue
		}
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Seed is a file of agents (deploy/demo/agents.yaml).
type Seed struct {
	Agents []struct {
		Username  string         `yaml:"username"`
		Extension string         `yaml:"extension"`
		Skills    map[string]int `yaml:"skills"`
		Languages []string       `yaml:"languages"`
	} `yaml:"agents"`
}

// LoadSeed makes the listed users agents, signed out, with password as
// their phones' SIP password; agents that exist are left as they are. It
// returns how many it made.
func (s *Service) LoadSeed(ctx context.Context, sd Seed, password string) (int, error) {
	m, err := s.model()
	if err != nil {
		return 0, err
	}
	n := 0
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		for _, a := range sd.Agents {
			var id int64
			if err := tx.QueryRow(ctx, `SELECT id FROM users WHERE username = $1`, a.Username).Scan(&id); err != nil {
				return fmt.Errorf("agent %s: no such user: %w", a.Username, err)
			}
			if a.Skills == nil {
				a.Skills = map[string]int{}
			}
			if a.Languages == nil {
				a.Languages = []string{}
			}
			tag, err := tx.Exec(ctx, `INSERT INTO agents (user_id, extension, skills, languages) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
				id, a.Extension, a.Skills, a.Languages)
			if err != nil {
				return fmt.Errorf("agent %s: %w", a.Username, err)
			}
			if tag.RowsAffected() == 0 {
				continue
			}
			if err := sipauth.Set(ctx, tx, a.Extension, password); err != nil {
				return fmt.Errorf("agent %s: %w", a.Username, err)
			}
			n++
			if _, err := tx.Exec(ctx, `INSERT INTO agent_status (user_id, state, since) VALUES ($1, $2, now()) ON CONFLICT DO NOTHING`, id, m.First(SignedOut).Name); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// Reconcile frees agents left holding a task that is gone: reserved or
// talking for a task live does not know (its call ended, or the node that
// held it stopped). Reserved agents go back to idle, talking ones to the
// after-task state. It returns how many agents it freed.
func (s *Service) Reconcile(ctx context.Context, live func(task string) bool) (int, error) {
	m, err := s.model()
	if err != nil {
		return 0, err
	}
	rows, err := s.Pool.Query(ctx, `SELECT user_id, state, task FROM agent_status WHERE state = ANY($1)`,
		[]string{m.First(Reserved).Name, m.First(Talking).Name})
	if err != nil {
		return 0, fmt.Errorf("finding agents with tasks: %w", err)
	}
	type held struct {
		id          int64
		state, task string
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (held, error) {
		var h held
		return h, r.Scan(&h.id, &h.state, &h.task)
	})
	if err != nil {
		return 0, err
	}
	freed := 0
	for _, h := range all {
		if live(h.task) {
			continue
		}
		to := m.AfterTask.Name
		if h.state == m.First(Reserved).Name {
			to = m.First(Idle).Name
		}
		ok, err := s.tryMove(ctx, h.id, change{to: to, by: "reconcile", task: h.task,
			allow: func(a Agent, _ *State) error {
				if a.State != h.state || a.Task != h.task {
					return ErrConflict
				}
				return nil
			}})
		if err != nil {
			return freed, err
		}
		if ok {
			freed++
		}
	}
	if freed > 0 {
		s.log().Warn("freed agents whose task was gone", "agents", freed)
	}
	return freed, nil
}

// PhoneLost moves idle agents whose phone reachable says is gone to the
// phone_lost state of the configuration (none configured: nothing). It
// returns how many it moved.
func (s *Service) PhoneLost(ctx context.Context, reachable func(extension string) bool) (int, error) {
	m, err := s.model()
	if err != nil || m.PhoneLost == nil {
		return 0, err
	}
	idle, err := s.routable(ctx, m)
	if err != nil {
		return 0, err
	}
	moved := 0
	for _, a := range idle {
		if reachable(a.Extension) {
			continue
		}
		state := a.State
		ok, err := s.tryMove(ctx, a.UserID, change{to: m.PhoneLost.State.Name, reason: m.PhoneLost.Reason, by: "reconcile",
			allow: func(cur Agent, _ *State) error {
				if cur.State != state {
					return ErrConflict
				}
				return nil
			}})
		if err != nil {
			return moved, err
		}
		if ok {
			moved++
		}
	}
	return moved, nil
}
