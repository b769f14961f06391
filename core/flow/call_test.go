package flow_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/configstore"
	"github.com/hotline12345/hotline/core/flow"
	// The shipped configuration calls the knowledge base's procedures.
	_ "github.com/hotline12345/hotline/core/ivr"
	_ "github.com/hotline12345/hotline/core/knowledge"
	"github.com/hotline12345/hotline/core/registry"
	_ "github.com/hotline12345/hotline/core/telephony" // telephony.bind_call, called by the ticket flow
)

// calls records what the test procedure saw.
var calls []map[string]any

func init() {
	flow.RegisterProcedure("test.record", flow.Procedure{
		Doc: "records the ticket as stored, for tests", Args: []string{"note", "fail"}, Required: []string{"note"},
		Run: func(ctx context.Context, c flow.CallEnv) error {
			tx, p, t, args := c.Tx, c.Actor, c.Ticket, c.Args
			var state string
			var version int
			if err := tx.QueryRow(ctx, `SELECT state, version FROM tickets WHERE id = $1`, t.ID).Scan(&state, &version); err != nil {
				return err
			}
			calls = append(calls, map[string]any{"state": state, "version": version, "ticketState": t.State, "note": args["note"], "by": p.Username})
			if fail, _ := args["fail"].(bool); fail {
				return errors.New("refused by the test procedure")
			}
			return nil
		},
	})
}

// withCall runs the sample flow with a call effect on its return action.
func (w *world) withCall(t *testing.T, effect string) []string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "flows/base.yaml", readFile(t, "../../testdata/flows/sample/flows/base.yaml"))
	src := readFile(t, "../../testdata/flows/sample/flows/request.yaml")
	src = strings.Replace(src, "      - deadline: {op: pause}\n", "      - deadline: {op: pause}\n      - "+effect+"\n", 1)
	writeFile(t, dir, "flows/request.yaml", src)
	writeFile(t, dir, "forms/request.yaml", readFile(t, "../../testdata/flows/sample/forms/request.yaml"))
	set, diags := registry.Load(context.Background(), []string{dir}, registry.LoadOptions{})
	var msgs []string
	for _, d := range diags {
		msgs = append(msgs, d.Message)
	}
	if len(msgs) > 0 {
		return msgs
	}
	_, err := configstore.New(w.pool).Record(context.Background(), set, audit.System, "call")
	require.NoError(t, err)
	w.runtime.Swap(set)
	return nil
}

func TestCallEffectsLint(t *testing.T) {
	w := newWorld(t)
	for effect, want := range map[string]string{
		`call: {name: test.recrd, args: {note: "'x'"}}`:              `call "test.recrd": no such procedure (did you mean "test.record"?)`,
		`call: {name: test.record, args: {note: "'x'", nots: "1"}}`:  `call test.record takes no argument "nots"`,
		`call: {name: test.record}`:                                  `call test.record needs argument "note"`,
		`call: {name: test.record, args: {note: "ticket.fields.("}}`: `expected name`,
	} {
		msgs := w.withCall(t, effect)
		require.NotEmpty(t, msgs, effect)
		assert.Contains(t, strings.Join(msgs, "\n"), want, effect)
	}
}

func TestCallEffectRunsAfterTheTicketIsWrittenInItsTransaction(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	require.Empty(t, w.withCall(t, `call: {name: test.record, args: {note: "ticket.fields.title + '（退回）'", fail: "input.fail ?? false"}}`))
	agent, clerk := w.as(t, "agent"), w.as(t, "clerk")
	calls = nil

	tk, err := w.eng.Create(ctx, agent, "request", "register", map[string]any{"unit": "150105", "title": "小区暖气不热"})
	require.NoError(t, err)
	got, err := w.eng.Perform(ctx, clerk, tk.ID, "return", nil, nil)
	require.NoError(t, err)
	require.Len(t, calls, 1)
	assert.Equal(t, map[string]any{"state": "returned", "version": got.Version, "ticketState": "returned", "note": "小区暖气不热（退回）", "by": "clerk"}, calls[0],
		"the procedure reads the ticket as written by the action, in the same transaction")

	// A procedure's error undoes the whole action.
	tk2, err := w.eng.Create(ctx, agent, "request", "register", map[string]any{"unit": "150105", "title": "路灯不亮"})
	require.NoError(t, err)
	_, err = w.eng.Perform(ctx, clerk, tk2.ID, "return", map[string]any{"fail": true}, nil)
	require.ErrorContains(t, err, "refused by the test procedure")
	after, err := w.eng.Store.Get(ctx, clerk, tk2.ID)
	require.NoError(t, err)
	assert.Equal(t, "handling", after.State)
	assert.Equal(t, tk2.Version, after.Version)
	var events int
	require.NoError(t, w.pool.QueryRow(ctx, `SELECT count(*) FROM ticket_events WHERE ticket_id = $1`, tk2.ID).Scan(&events))
	assert.Equal(t, 1, events, "only the registration's event")
}
