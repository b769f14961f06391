// Package ticket is tickets as stored: the model, reads in a reader's
// scope, the search-index row written with every change, and what a
// reader may see of the personal data in them (Disclosure). The flow
// engine (core/flow) changes tickets; ticket search (core/ticketsearch)
// and the dispatch suggestion (core/dispatch) read them.
package ticket

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hotline12345/hotline/core/calendar"
)

// Ticket is a ticket as the store reads it.
type Ticket struct {
	ID          int64          `json:"id"`
	Number      string         `json:"number"`
	Flow        string         `json:"flow"`
	FlowVersion int            `json:"flowVersion"`
	State       string         `json:"state"`
	Version     int            `json:"version"`
	HolderUnit  *UnitRef       `json:"holderUnit"`
	HolderUser  string         `json:"holderUser"`
	ScopePath   string         `json:"-"`
	CreatorID   int64          `json:"creatorId"`
	Creator     string         `json:"creator"`
	Fields      map[string]any `json:"fields"`
	// Inputs holds each action's latest input (but for content actions,
	// whose input is in Fields), by action name.
	Inputs   map[string]map[string]any `json:"inputs"`
	Counts   map[string]int            `json:"counts"`
	Deadline *time.Time                `json:"deadline"`
	// StepDeadline is when the current step's limit (the state's limit)
	// runs out; nil for a state without one.
	StepDeadline *time.Time `json:"stepDeadline"`
	// PausedRemaining is set while the clock is paused: the working days
	// left when it stopped.
	PausedRemaining *int `json:"pausedRemaining"`
	// Branches are the co-handling branches.
	Branches  []Branch   `json:"branches"`
	CreatedAt time.Time  `json:"createdAt"`
	ClosedAt  *time.Time `json:"closedAt"`
}

// UnitRef names a unit, with what flows need to send a ticket up the
// hierarchy level by level (逐级上传): its kind and its parent.
type UnitRef struct {
	ID         int64  `json:"id"`
	Code       string `json:"code"`
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	ParentCode string `json:"-"`
	ParentKind string `json:"-"`
	Path       string `json:"-"`
}

// UnitSelect reads a UnitRef of the unit aliased un (UnitParentJoin
// joins its parent); ScanUnit scans it.
const UnitSelect = `SELECT un.id, un.code, un.name, un.kind, COALESCE(pu.code, ''), COALESCE(pu.kind, ''), un.path`
const UnitParentJoin = ` LEFT JOIN units pu ON pu.id = un.parent_id`

func ScanUnit(row pgx.Row) (UnitRef, error) {
	var u UnitRef
	err := row.Scan(&u.ID, &u.Code, &u.Name, &u.Kind, &u.ParentCode, &u.ParentKind, &u.Path)
	return u, err
}

// columns and Joins read a ticket's row but for its branches; Select
// reads the whole ticket of alias t (a query adds its WHERE), Scan scans
// it.
const columns = `SELECT t.id, t.number, t.flow, t.flow_version, t.state, t.version, t.scope_path, t.creator_id, cu.username,
	t.fields, t.inputs, t.counts, t.deadline, t.step_deadline, t.paused_remaining, t.created_at, t.closed_at,
	hu.id, hu.code, hu.name, hu.kind, COALESCE(hpu.code, ''), COALESCE(hpu.kind, ''), hu.path, COALESCE(husr.username, ''), `

const Joins = `
	FROM tickets t JOIN users cu ON cu.id = t.creator_id
	LEFT JOIN units hu ON hu.id = t.holder_unit_id
	LEFT JOIN units hpu ON hpu.id = hu.parent_id
	LEFT JOIN users husr ON husr.id = t.holder_user_id`

const Select = columns + `(SELECT COALESCE(json_agg(json_build_object('id', b.id, 'unit', json_build_object('id', bu.id, 'code', bu.code, 'name', bu.name),
		'state', b.state, 'deadline', b.deadline, 'result', b.result, 'doneAt', b.done_at) ORDER BY b.id), '[]')
		FROM ticket_branches b JOIN units bu ON bu.id = b.unit_id WHERE b.ticket_id = t.id)` + Joins

func Scan(row pgx.Row) (Ticket, error) {
	var t Ticket
	var unitID *int64
	var code, name, kind, parentCode, parentKind, path *string
	err := row.Scan(&t.ID, &t.Number, &t.Flow, &t.FlowVersion, &t.State, &t.Version, &t.ScopePath, &t.CreatorID, &t.Creator,
		&t.Fields, &t.Inputs, &t.Counts, &t.Deadline, &t.StepDeadline, &t.PausedRemaining, &t.CreatedAt, &t.ClosedAt,
		&unitID, &code, &name, &kind, &parentCode, &parentKind, &path, &t.HolderUser, &t.Branches)
	if err != nil {
		return t, err
	}
	if unitID != nil {
		t.HolderUnit = &UnitRef{ID: *unitID, Code: *code, Name: *name, Kind: *kind, ParentCode: *parentCode, ParentKind: *parentKind, Path: *path}
	}
	if t.Fields == nil {
		t.Fields = map[string]any{}
	}
	if t.Counts == nil {
		t.Counts = map[string]int{}
	}
	if t.Inputs == nil {
		t.Inputs = map[string]map[string]any{}
	}
	return t, nil
}

// Branch is a co-handling branch of a ticket.
type Branch struct {
	ID       int64      `json:"id"`
	Unit     UnitRef    `json:"unit"`
	State    string     `json:"state"`
	Deadline *time.Time `json:"deadline"`
	Result   any        `json:"result"`
	DoneAt   *time.Time `json:"doneAt"`
}

// Querier reads: a pool, a connection or a transaction.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Branches reads t's co-handling branches again (after an action opened
// or closed one).
func Branches(ctx context.Context, q Querier, t *Ticket) error {
	rows, err := q.Query(ctx, `SELECT b.id, u.id, u.code, u.name, u.path, b.state, b.deadline, b.result, b.done_at
		FROM ticket_branches b JOIN units u ON u.id = b.unit_id WHERE b.ticket_id = $1 ORDER BY b.id`, t.ID)
	if err != nil {
		return fmt.Errorf("reading branches of ticket %d: %w", t.ID, err)
	}
	defer rows.Close()
	t.Branches = nil
	for rows.Next() {
		var b Branch
		if err := rows.Scan(&b.ID, &b.Unit.ID, &b.Unit.Code, &b.Unit.Name, &b.Unit.Path, &b.State, &b.Deadline, &b.Result, &b.DoneAt); err != nil {
			return fmt.Errorf("reading branches of ticket %d: %w", t.ID, err)
		}
		t.Branches = append(t.Branches, b)
	}
	return rows.Err()
}

// MoveClock applies a deadline effect's op to t's clock at now: set and
// extend by days working days, pause, resume, clear. The engine and the
// demo generator move clocks by it alike.
func (t *Ticket) MoveClock(cal *calendar.Calendar, now time.Time, op string, days int) {
	switch op {
	case "set", "extend":
		base := now
		if op == "extend" && t.Deadline != nil {
			base = t.Deadline.Add(-time.Nanosecond)
		}
		dl := cal.Deadline(base, days)
		t.Deadline, t.PausedRemaining = &dl, nil
	case "pause":
		if t.Deadline != nil && t.PausedRemaining == nil {
			// Whole working days left after today; -1 marks a ticket
			// already overdue, which a pause does not forgive.
			left := -1
			if now.Before(*t.Deadline) {
				left = cal.WorkdaysBetween(now, t.Deadline.Add(-time.Nanosecond))
			}
			t.PausedRemaining = &left
		}
	case "resume":
		if t.PausedRemaining != nil {
			switch left := *t.PausedRemaining; {
			case left < 0:
				// Overdue before the pause: the old deadline stands.
			case left == 0 && !cal.IsWorkday(now):
				// Paused during its last day, resumed on a day off: the
				// last day is the next working day.
				dl := cal.Deadline(now, 1)
				t.Deadline = &dl
			default:
				dl := cal.Deadline(now, left)
				t.Deadline = &dl
			}
			t.PausedRemaining = nil
		}
	case "clear":
		t.Deadline, t.PausedRemaining = nil, nil
	}
}
