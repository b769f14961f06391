package ticket

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/identity"
)

// Personal data — callers' names, phones, ID numbers — is whatever the
// forms mark `personal`; who sees it whole is whoever holds these
// permissions (granted by roles, in the roles' data scopes); a ticket whose
// `confidential` field is true needs the second one as well.
var (
	PermPersonalView         = identity.RegisterPermission("personal.view", "查看完整的个人信息（姓名、电话、证件号码）")
	PermPersonalConfidential = identity.RegisterPermission("personal.confidential", "查看保密工单的个人信息")
)

// Disclosure is what one reader may see of tickets' personal data. Every
// path that hands ticket data out of the store goes through one: the
// GraphQL Ticket type (fields, events), search highlights and exports.
// Everyone else gets the personal fields masked as their forms say.
type Disclosure struct {
	s    *Store
	p    *identity.Principal
	spec *IndexSpec
	// view and conf are the reader narrowed to the scopes in which it
	// holds the two permissions; nil where it does not.
	view, conf *identity.Principal
}

// Disclosure returns p's disclosure under the running configuration.
func (s *Store) Disclosure(p *identity.Principal) *Disclosure {
	d := &Disclosure{s: s, p: p, spec: s.IndexSpec()}
	d.view, _ = p.For(PermPersonalView)
	d.conf, _ = p.For(PermPersonalConfidential)
	return d
}

// covers reports whether t lies in q's scope, judged by the unit scoping
// the ticket (its holder's, or its creator's while unassigned), as
// identity.Principal.ScopeSQL judges it in WholeSQL.
func covers(q *identity.Principal, t *Ticket) bool {
	if q == nil {
		return false
	}
	switch q.Scope {
	case identity.ScopeAll:
		return true
	case identity.ScopeSubtree:
		return strings.HasPrefix(t.ScopePath, q.UnitPath)
	default:
		return t.ScopePath == q.UnitPath
	}
}

// WholeEverywhere reports whether the reader sees every ticket whole.
func (d *Disclosure) WholeEverywhere() bool {
	return d.view != nil && d.view.Scope == identity.ScopeAll &&
		(len(d.spec.Confidential) == 0 || d.conf != nil && d.conf.Scope == identity.ScopeAll)
}

// WholeSQL is Whole as a predicate over tickets t, for searches: what the
// reader sees masked must not be found by its personal data either. It is
// "TRUE" for a reader who sees everything whole.
func (d *Disclosure) WholeSQL(args *[]any) string {
	if d.view == nil {
		return "FALSE"
	}
	if d.WholeEverywhere() {
		return "TRUE"
	}
	view := d.view.ScopeSQL("t.scope_path", args)
	var confidential []string
	for _, name := range d.spec.Confidential {
		*args = append(*args, name)
		confidential = append(confidential, fmt.Sprintf("t.fields @> jsonb_build_object($%d::text, true)", len(*args)))
	}
	if len(confidential) == 0 {
		return view
	}
	conf := "FALSE"
	if d.conf != nil {
		conf = d.conf.ScopeSQL("t.scope_path", args)
	}
	return fmt.Sprintf("(%s AND (NOT (%s) OR %s))", view, strings.Join(confidential, " OR "), conf)
}

// Confidential reports whether one of t's confidential fields is true.
func (d *Disclosure) Confidential(t *Ticket) bool {
	for _, name := range d.spec.Confidential {
		if v, _ := t.Fields[name].(bool); v {
			return true
		}
	}
	return false
}

// Whole reports whether the reader sees t's personal fields whole.
func (d *Disclosure) Whole(t *Ticket) bool {
	if !covers(d.view, t) {
		return false
	}
	return !d.Confidential(t) || covers(d.conf, t)
}

// personal lists the personal fields with a value in m.
func (d *Disclosure) personal(m map[string]any) []string {
	var out []string
	for name := range d.spec.Personal {
		if v, ok := m[name]; ok && v != nil && v != "" {
			out = append(out, name)
		}
	}
	return out
}

// mask returns m with its personal fields masked; m itself is untouched.
func (d *Disclosure) mask(m map[string]any) map[string]any {
	if len(d.personal(m)) == 0 {
		return m
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		if mk, ok := d.spec.Personal[k]; ok {
			v = mk.Apply(v)
		}
		out[k] = v
	}
	return out
}

// Fields returns t's fields as the reader may see them, recording in the
// audit log that the reader saw them whole (via names the read path).
func (d *Disclosure) Fields(ctx context.Context, t *Ticket, via string) (map[string]any, error) {
	fields, shown := d.Mask(t)
	if shown {
		return fields, d.Reveal(ctx, via, t)
	}
	return fields, nil
}

// Mask returns t's fields as the reader may see them, and whether they
// hold personal data shown whole, without recording anything: a bulk read
// records its whole views once, with RevealCount.
func (d *Disclosure) Mask(t *Ticket) (map[string]any, bool) {
	if d.Whole(t) {
		return t.Fields, len(d.personal(t.Fields)) > 0
	}
	return d.mask(t.Fields), false
}

// Input returns an event's input as the reader may see it: an action's
// input holds personal fields under the same names as the ticket.
func (d *Disclosure) Input(ctx context.Context, t *Ticket, input any, via string) (any, error) {
	m, ok := input.(map[string]any)
	if !ok || len(d.personal(m)) == 0 {
		return input, nil
	}
	if d.Whole(t) {
		return input, d.Reveal(ctx, via, t)
	}
	return d.mask(m), nil
}

// Inputs returns t's actions' inputs as the reader may see them (an urge
// names who urged, with their phone), recording a whole view as Fields
// does.
func (d *Disclosure) Inputs(ctx context.Context, t *Ticket, via string) (map[string]any, error) {
	out := make(map[string]any, len(t.Inputs))
	whole, shown := d.Whole(t), false
	for a, in := range t.Inputs {
		if len(d.personal(in)) == 0 {
			out[a] = in
			continue
		}
		if whole {
			out[a], shown = in, true
		} else {
			out[a] = d.mask(in)
		}
	}
	if shown {
		return out, d.Reveal(ctx, via, t)
	}
	return out, nil
}

// Spec is the index spec the disclosure judges by: which fields are
// personal, which make a ticket confidential.
func (d *Disclosure) Spec() *IndexSpec { return d.spec }

// Personal reports whether the reader sees field of t masked: such a
// field must not be matched, scored or highlighted for the reader (a
// highlight would say that the field holds the words searched for).
func (d *Disclosure) Personal(t *Ticket, field string) bool {
	_, personal := d.spec.Personal[field]
	return personal && !d.Whole(t)
}

// Reveal records in the audit log that the reader saw the personal data
// of ts whole, in one row; a ticket the reader saw in the last
// viewMemory (on this node) is not recorded again, so paging through a
// list and opening a ticket from it writes once.
func (d *Disclosure) Reveal(ctx context.Context, via string, ts ...*Ticket) error {
	var ids []int64
	var fields []string
	var unit string
	for _, t := range ts {
		names := d.personal(t.Fields)
		for _, in := range t.Inputs {
			names = append(names, d.personal(in)...)
		}
		if len(names) == 0 || !d.Whole(t) || !d.s.views.first(d.p.UserID, t.ID, d.s.Now()) {
			continue
		}
		ids = append(ids, t.ID)
		fields = append(fields, names...)
		unit = t.ScopePath
	}
	if len(ids) == 0 {
		return nil
	}
	entry := audit.Entry{Actor: d.p.Actor(), Action: "personal.view", TargetType: "ticket", UnitPath: unit,
		Details: map[string]any{"via": via, "tickets": ids, "fields": dedupe(fields)}}
	if len(ids) == 1 {
		entry.TargetID = fmt.Sprint(ids[0])
	} else {
		// A list spans units: the row belongs to the reader's own.
		entry.UnitPath = d.p.UnitPath
	}
	if err := d.s.writeView(ctx, entry); err != nil {
		d.s.views.forget(d.p.UserID, ids)
		return err
	}
	return nil
}

// writeView writes a read's audit row without waiting for the disk: a
// read is not a change, and making every first look at a ticket wait for
// a WAL flush would slow lists for everyone; a crash loses at most the
// rows of the last fraction of a second.
func (s *Store) writeView(ctx context.Context, entry audit.Entry) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit TO off`); err != nil {
			return err
		}
		return audit.Write(ctx, tx, entry)
	})
	if err != nil {
		return fmt.Errorf("recording who saw personal data: %w", err)
	}
	return nil
}

// RevealCount records that the reader received n tickets' personal data
// whole in one file (an export), which lists no ids: a million-row export
// is one row of the log.
func (d *Disclosure) RevealCount(ctx context.Context, via string, n int64) error {
	if n == 0 {
		return nil
	}
	entry := audit.Entry{Actor: d.p.Actor(), Action: "personal.view", TargetType: "ticket", UnitPath: d.p.UnitPath,
		Details: map[string]any{"via": via, "count": n}}
	return d.s.writeView(ctx, entry)
}

func dedupe(names []string) []string {
	seen := map[string]bool{}
	out := names[:0]
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// viewMemory is how long a reader's whole view of a ticket is remembered
// before it is recorded again; viewCap bounds the memory.
const (
	viewMemory = 10 * time.Minute
	viewCap    = 100_000
)

type viewKey struct{ user, ticket int64 }

// views remembers recent whole views so the audit log records a reader's
// work on a ticket once, not once per request.
type views struct {
	mu   sync.Mutex
	seen map[viewKey]time.Time
}

// first reports whether user's view of ticket is the first within
// viewMemory, and remembers it.
func (v *views) first(user, ticket int64, now time.Time) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen == nil {
		v.seen = map[viewKey]time.Time{}
	}
	k := viewKey{user, ticket}
	if at, ok := v.seen[k]; ok && now.Sub(at) < viewMemory && !now.Before(at) {
		return false
	}
	if len(v.seen) >= viewCap {
		for key, at := range v.seen {
			if now.Sub(at) >= viewMemory {
				delete(v.seen, key)
			}
		}
		if len(v.seen) >= viewCap {
			clear(v.seen) // recording some views twice is the safe side
		}
	}
	v.seen[k] = now
	return true
}

// forget drops views whose recording failed, so the next read records them.
func (v *views) forget(user int64, tickets []int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, id := range tickets {
		delete(v.seen, viewKey{user, id})
	}
}
