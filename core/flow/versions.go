package flow

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/ticket"
)

// definition returns the flow as it was at version: the running one, or an
// earlier version rebuilt from its stored text beside the running versions
// of everything it refers to. A ticket keeps the version it started on
// until it is migrated.
func (e *Engine) definition(ctx context.Context, q ticket.Querier, name string, version int) (*Flow, error) {
	active, err := e.activeVersion(ctx, q, name)
	if err != nil {
		return nil, err
	}
	if version == active {
		return e.flow(name)
	}
	base := e.config.Current()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.olderBase != base {
		e.older, e.olderBase = map[olderKey]older{}, base
	}
	if o, ok := e.older[olderKey{name, version}]; ok {
		return o.flow, o.err
	}
	var source string
	if err := q.QueryRow(ctx, `SELECT source FROM config_versions WHERE kind = $1 AND name = $2 AND version = $3`, Kind, name, version).Scan(&source); err != nil {
		return nil, fmt.Errorf("reading flow %s version %d: %w", name, version, err)
	}
	// Scenarios are left out: they test the running version.
	set, problems := registry.Rebuild(ctx, base, map[registry.Key]string{{Kind: Kind, Name: name}: source}, []string{scenarioKind}, registry.LoadOptions{})
	var o older
	if f, ok := registry.Model[*Flow](set, Kind, name); ok && problems.Empty() {
		o.flow = f
	} else {
		o.err = &gql.Error{Code: gql.Conflict, Message: fmt.Sprintf("流程 %s 第 %d 版与现行配置不再兼容，请先将其工单迁移到现行版本", name, version),
			Err: problems.Err(), Extra: map[string]any{"flowVersion": version, "runningVersion": active}}
	}
	// Remembered either way: an incompatible version must not be rebuilt
	// on every action of its tickets.
	e.older[olderKey{name, version}] = o
	return o.flow, o.err
}

// older is an earlier flow version rebuilt beside the running
// configuration, or why it cannot be.
type older struct {
	flow *Flow
	err  error
}

// activeVersion is the configuration version of the running flow. The
// versions are read once per running configuration: they change only when
// the configuration does, and an action should not pay a query for them.
func (e *Engine) activeVersion(ctx context.Context, q ticket.Querier, name string) (int, error) {
	base := e.config.Current()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.versionsBase != base {
		rows, err := q.Query(ctx, `SELECT name, version FROM config_active WHERE kind = $1`, Kind)
		if err != nil {
			return 0, fmt.Errorf("reading the running flow versions: %w", err)
		}
		versions := map[string]int{}
		for rows.Next() {
			var n string
			var v int
			if err := rows.Scan(&n, &v); err != nil {
				rows.Close()
				return 0, fmt.Errorf("reading the running flow versions: %w", err)
			}
			versions[n] = v
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, fmt.Errorf("reading the running flow versions: %w", err)
		}
		e.versions, e.versionsBase = versions, base
	}
	v, ok := e.versions[name]
	if !ok {
		return 0, fmt.Errorf("flow %s has no recorded running version", name)
	}
	return v, nil
}

var errDryRun = errors.New("dry run")

// Migrate moves the open tickets of a flow from an older version to the
// running one. stateMap renames states that the running version no longer
// has; a state with open tickets and no place in the new version is an
// error naming it, and nothing moves. Each moved ticket gets an event row
// and its timers rescheduled, all in one transaction. With dryRun nothing
// is written and the count says how many would move.
func (e *Engine) Migrate(ctx context.Context, p *identity.Principal, name string, from int, stateMap map[string]string, dryRun bool) (int, error) {
	if err := p.Require(identity.PermConfigPublish); err != nil {
		return 0, err
	}
	f, err := e.flow(name)
	if err != nil {
		return 0, err
	}
	moved := 0
	err = pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		var active int
		if err := tx.QueryRow(ctx, `SELECT version FROM config_active WHERE kind = $1 AND name = $2`, Kind, name).Scan(&active); err != nil {
			return fmt.Errorf("reading the running version of flow %s: %w", name, err)
		}
		if from == active {
			return gql.FieldError("fromVersion", "第 %d 版就是现行版本", from)
		}
		rows, err := tx.Query(ctx, `SELECT id FROM tickets WHERE flow = $1 AND flow_version = $2 AND closed_at IS NULL ORDER BY id FOR UPDATE`, name, from)
		if err != nil {
			return fmt.Errorf("selecting tickets to migrate: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("selecting tickets to migrate: %w", err)
		}
		for _, id := range ids {
			t, err := e.Store.Read(ctx, tx, p, id, false)
			if err != nil {
				return fmt.Errorf("migrating ticket %d: %w", id, err)
			}
			to := t.State
			if mapped, ok := stateMap[t.State]; ok {
				to = mapped
			}
			if _, ok := f.State(to); !ok {
				return &gql.Error{Code: gql.BadUserInput, Field: "stateMap",
					Message: fmt.Sprintf("工单 %s 处于状态 %s，现行版本没有该状态：请在 stateMap 中指定它对应的新状态", t.Number, t.State)}
			}
			fromState := t.State
			t.State, t.FlowVersion = to, active
			t.Version++
			if _, err := tx.Exec(ctx, `UPDATE tickets SET state = $2, flow_version = $3, version = $4, updated_at = $5 WHERE id = $1`,
				t.ID, t.State, t.FlowVersion, t.Version, e.now()); err != nil {
				return fmt.Errorf("migrating ticket %s: %w", t.Number, err)
			}
			input := map[string]any{"fromVersion": from, "toVersion": active}
			b := &pgx.Batch{}
			b.Queue(`INSERT INTO ticket_events (ticket_id, ticket_version, flow_version, action, actor_id, actor, from_state, to_state, input, at)
				VALUES ($1, $2, $3, 'migrate', $4, $5, $6, $7, $8, $9)`, t.ID, t.Version, active, p.UserID, p.Username, fromState, t.State, input, e.now())
			e.schedule(b, f, t)
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return fmt.Errorf("migrating ticket %s: %w", t.Number, err)
			}
			moved++
		}
		if dryRun {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	return moved, err
}

// scenarioKind is the kind of flow scenarios (flowtest.Kind; core/flowtest
// imports this package), left out of a rebuilt older version: scenarios
// test the running one.
const scenarioKind = "flow-test"
