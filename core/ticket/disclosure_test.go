package ticket_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graphql-go/graphql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/export"
	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/pgtest"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/ticket"
	"github.com/hotline12345/hotline/core/ticketsearch"
	"github.com/hotline12345/hotline/deploy/gen/gentest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Callers' personal data is whole for the centre's staff and, unless the
// ticket is confidential (保密), for the department handling it; masked
// for everyone else, in the ticket, its events, search highlights and
// exports; and a whole view is written to the audit log once.
func TestPersonalDataIsMaskedUnlessEntitled(t *testing.T) {
	g := gentest.New(t, 300)
	ctx := context.Background()
	schema, err := gql.NewBuilder().Build(identity.Module{Svc: g.IDs}, flow.Module{Engine: g.Engine}, ticketsearch.Module{Searcher: g.Search})
	require.NoError(t, err)

	// A ticket with a caller named and a phone, held by 赛罕区.
	clerk := g.As(t, "clerk")
	var id int64
	var name, phone string
	require.NoError(t, g.Pool.QueryRow(ctx, `SELECT id, fields->>'caller', fields->>'caller_phone' FROM tickets
		WHERE flow = 'ticket' AND fields->>'caller' <> '' AND length(fields->>'caller_phone') = 11 ORDER BY id LIMIT 1`).Scan(&id, &name, &phone))
	_, err = g.Pool.Exec(ctx, `UPDATE tickets SET holder_unit_id = $2, scope_path = $3 WHERE id = $1`, id, clerk.UnitID, clerk.UnitPath)
	require.NoError(t, err)
	require.Len(t, phone, 11, "a mobile number")
	require.NoError(t, g.Pool.QueryRow(ctx, `UPDATE tickets SET fields = fields || '{"confidential": false, "id_card": "150102199001011234"}' WHERE id = $1 RETURNING id`, id).Scan(&id))
	maskedPhone := phone[:3] + "****" + phone[7:]
	maskedName := []rune(name)[:1]

	read := func(user string) (fields map[string]any, inputs []map[string]any) {
		t.Helper()
		r := graphql.Do(graphql.Params{Schema: schema, Context: identity.WithPrincipal(ctx, g.As(t, user)),
			RequestString: fmt.Sprintf(`{ ticket(id: %d) { fields events { input } } }`, id)})
		require.Empty(t, r.Errors, user)
		tk := r.Data.(map[string]any)["ticket"].(map[string]any)
		for _, ev := range tk["events"].([]any) {
			if in, ok := ev.(map[string]any)["input"].(map[string]any); ok && in["caller_phone"] != nil {
				inputs = append(inputs, in)
			}
		}
		require.NotEmpty(t, inputs, "the registration's input holds the phone")
		return tk["fields"].(map[string]any), inputs
	}
	views := func(user string) int {
		t.Helper()
		var n int
		require.NoError(t, g.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'personal.view' AND actor = $1
			AND details->'tickets' @> to_jsonb($2::bigint)`, user, id).Scan(&n))
		return n
	}
	whole := func(user string) {
		t.Helper()
		f, inputs := read(user)
		assert.Equal(t, phone, f["caller_phone"], user)
		assert.Equal(t, name, f["caller"], user)
		assert.Equal(t, "150102199001011234", f["id_card"], user)
		for _, in := range inputs {
			assert.Equal(t, phone, in["caller_phone"], user)
		}
	}
	masked := func(user string) {
		t.Helper()
		before := views(user)
		f, inputs := read(user)
		assert.Equal(t, maskedPhone, f["caller_phone"], user)
		assert.Equal(t, string(maskedName)+strings.Repeat("*", len([]rune(name))-1), f["caller"], user)
		assert.Equal(t, "1501**********1234", f["id_card"], user)
		assert.NotEmpty(t, f["title"], "%s: what is not personal stays whole", user)
		for _, in := range inputs {
			assert.Equal(t, maskedPhone, in["caller_phone"], user)
		}
		assert.Equal(t, before, views(user), "%s saw nothing whole", user)
	}

	whole("agent")
	whole("clerk")
	masked("secaudit")   // the security auditor reads the logs, not callers
	masked("kbreviewer") // sees every ticket, holds no personal.view
	assert.Equal(t, 1, views("agent"), "a whole view is audited")
	whole("agent")
	assert.Equal(t, 1, views("agent"), "and written once for a while, not per read")

	// Confidential: the department sees the caller masked; the centre whole.
	_, err = g.Pool.Exec(ctx, `UPDATE tickets SET fields = fields || '{"confidential": true}' WHERE id = $1`, id)
	require.NoError(t, err)
	masked("clerk")
	whole("dispatcher")

	// Search: a reader who sees the caller masked does not find the ticket
	// by the caller's name or phone either; one who sees it whole does.
	finds := func(user string, q string, f map[string]any) (bool, []any) {
		t.Helper()
		r := graphql.Do(graphql.Params{Schema: schema, Context: identity.WithPrincipal(ctx, g.As(t, user)),
			RequestString:  `query($q: String!, $f: TicketFilter) { searchTickets(query: $q, filter: $f, first: 100) { edges { node { id } highlights { field fragment } } } }`,
			VariableValues: map[string]any{"q": q, "f": f}})
		require.Empty(t, r.Errors, user)
		for _, e := range r.Data.(map[string]any)["searchTickets"].(map[string]any)["edges"].([]any) {
			if edge := e.(map[string]any); edge["node"].(map[string]any)["id"] == fmt.Sprint(id) {
				return true, edge["highlights"].([]any)
			}
		}
		return false, nil
	}
	byPhone := map[string]any{"phone": phone}
	for _, tc := range []struct {
		user        string
		byName, tel bool
	}{{"clerk", false, false}, {"secaudit", false, false}, {"dispatcher", true, true}} {
		found, _ := finds(tc.user, name, nil)
		assert.Equal(t, tc.byName, found, "%s searching the caller's name", tc.user)
		found, _ = finds(tc.user, "", byPhone)
		assert.Equal(t, tc.tel, found, "%s filtering by the caller's phone", tc.user)
	}
	// Excluding the caller's name does not tell either: the masked ticket
	// is still found by its title.
	var title string
	require.NoError(t, g.Pool.QueryRow(ctx, `SELECT fields->>'title' FROM tickets WHERE id = $1`, id).Scan(&title))
	found, _ := finds("clerk", title+" -"+name, nil)
	assert.True(t, found, "a masked caller's name is not searched, so it excludes nothing")
	found, _ = finds("dispatcher", title+" -"+name, nil)
	assert.False(t, found, "seen whole, the name excludes the ticket")
	// Found by other text that holds the name too, the caller's own field
	// is highlighted masked.
	_, err = g.Pool.Exec(ctx, `UPDATE tickets SET fields = fields || jsonb_build_object('content', $2::text) WHERE id = $1`, id, "来电人"+name+"反映小区供暖不热")
	require.NoError(t, err)
	_, err = g.Engine.Store.Reindex(ctx, 500, nil)
	require.NoError(t, err)
	var highlights []any
	found, highlights = finds("clerk", name, nil)
	require.True(t, found, "the clerk finds the ticket by its content")
	require.NotEmpty(t, highlights, "the content is highlighted")
	for _, h := range highlights {
		assert.NotEqual(t, "caller", h.(map[string]any)["field"], "a masked caller's field is not highlighted: that would say it holds the name")
	}
	// Exports: the same rule, row by row.
	exportFor := func(p *identity.Principal) string {
		var buf bytes.Buffer
		_, err := export.Write(ctx, g.Search, g.Set, map[string]string{}, p, export.Request{Format: export.CSV, Form: "ticket-register",
			Columns: []string{"number", "caller_phone"}}, &buf, func(int64) {})
		require.NoError(t, err)
		rows, err := csv.NewReader(&buf).ReadAll()
		require.NoError(t, err)
		var number string
		require.NoError(t, g.Pool.QueryRow(ctx, `SELECT number FROM tickets WHERE id = $1`, id).Scan(&number))
		for _, row := range rows {
			if row[0] == number {
				return row[1]
			}
		}
		t.Fatalf("ticket %s is not in the export", number)
		return ""
	}
	assert.Equal(t, maskedPhone, exportFor(clerk))
	assert.Equal(t, phone, exportFor(g.As(t, "auditor")))
	var exported int
	require.NoError(t, g.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'personal.view' AND actor = 'auditor' AND details->>'via' = 'export'`).Scan(&exported))
	assert.Equal(t, 1, exported, "an export is one row of the audit log")

	_, err = g.Pool.Exec(ctx, `UPDATE tickets SET fields = fields || '{"confidential": false}' WHERE id = $1`, id)
	require.NoError(t, err)
	found, _ = finds("clerk", "", byPhone)
	assert.True(t, found, "not confidential, the department finds its caller by phone")
}

// A field one form marks personal is personal wherever another form
// indexes it: never as plain searched text, and its caller weight is kept
// from readers who see it masked.
func TestPersonalIsMarkedByNameAcrossForms(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "forms"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "forms", "f.yaml"), []byte(`kind: form
name: a
label: A
fields:
  - {name: note, label: 备注, type: text, search: true}
  - {name: who, label: 姓名, type: text, search: true, caller: name}
  - {name: content, label: 内容, type: longtext, search: true}
---
kind: form
name: b
label: B
fields:
  - {name: note, label: 备注, type: text, personal: {keep_start: 1}}
  - {name: who, label: 姓名, type: text, personal: {keep_start: 1}}
`), 0o644))
	set, diags := registry.Load(context.Background(), []string{dir}, registry.LoadOptions{})
	require.Empty(t, diags)
	spec := ticket.SpecOf(set)
	var text []string
	for _, fl := range spec.Text {
		text = append(text, fl.Name)
	}
	assert.ElementsMatch(t, []string{"who", "content"}, text, "note is personal in form b: not searched as plain text")
	assert.Equal(t, "B", spec.PersonalWeights, "who is a caller's name and personal")
}
