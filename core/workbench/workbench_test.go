package workbench_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	_ "github.com/hotline12345/hotline/core/app" // every kind the shipped configuration uses
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/workbench"
)

var shipped = []string{"../../flows", "../../forms", "../../scripts"}

// load lints the shipped configuration with one more file, as a publish
// would.
func load(t *testing.T, extra string) (*registry.Set, []string) {
	t.Helper()
	over := map[string]string{}
	if extra != "" {
		over["../../flows/workbench/zz_test.yaml"] = extra
	}
	set, diags := registry.Load(context.Background(), shipped, registry.LoadOptions{Overrides: over})
	var msgs []string
	for _, d := range diags {
		msgs = append(msgs, d.String())
	}
	return set, msgs
}

func TestShippedWorkbenchesLint(t *testing.T) {
	_, msgs := load(t, "")
	assert.Empty(t, msgs)
}

func TestBadWorkbenchesNameFileAndLine(t *testing.T) {
	head := "kind: workbench\nname: zz\nlabel: 测试\n"
	tests := []struct {
		name, doc string
		want      string // file:line: message part
	}{
		{"unknown role", head + "roles: [agent, nobody]\nmenu:\n  - {name: a, label: 甲, page: notices}\n",
			`zz_test.yaml:4:16: unknown role "nobody"`},
		{"unknown page", head + "roles: [agent]\nmenu:\n  - {name: a, label: 甲, page: walboard}\n",
			`zz_test.yaml:6:31: page: "walboard" is not a page of the UI (did you mean "wallboard"?)`},
		{"unknown state", head + "roles: [agent]\nmenu:\n  - {name: a, label: 甲, page: tickets, flow: ticket, state: nowhere}\n",
			`zz_test.yaml:6:61: flow ticket has no state "nowhere"`},
		{"state without flow", head + "roles: [agent]\nmenu:\n  - {name: a, label: 甲, page: tickets, state: draft}\n",
			`zz_test.yaml:6:47: state "draft" needs the flow`},
		{"unknown flow", head + "roles: [agent]\nmenu:\n  - {name: a, label: 甲, page: tickets, flow: tikcet}\n",
			`zz_test.yaml:6:46: unknown flow "tikcet" (did you mean "ticket"?)`},
		{"unknown column", head + "roles: [agent]\nmenu:\n  - {name: a, label: 甲, page: tickets, form: ticket-register, columns: [title, nope]}\n",
			`zz_test.yaml:6:80: form ticket-register has no field "nope"`},
		{"unknown due", head + "roles: [agent]\nmenu:\n  - {name: a, label: 甲, page: tickets, due: soon}\n",
			`zz_test.yaml:6:45: due: "soon" is not one of overdue, near, step_overdue`},
		{"parameters on a page without them", head + "roles: [agent]\nmenu:\n  - {name: a, label: 甲, page: notices, due: near}\n",
			`page notices takes no flow, state, due, form, columns, facets or actions`},
		{"search without form", head + "roles: [agent]\nmenu:\n  - {name: a, label: 甲, page: search}\n",
			`zz_test.yaml:6:31: page search needs form:`},
		{"search with a state", head + "roles: [agent]\nmenu:\n  - {name: a, label: 甲, page: search, flow: ticket, form: ticket-register}\n",
			`page search takes no flow, state, due or actions`},
		{"unknown facet", head + "roles: [agent]\nmenu:\n  - {name: a, label: 甲, page: search, form: ticket-register, facets: [state, adress.street]}\n",
			`zz_test.yaml:6:78: facets: form ticket-register has no facet "adress.street" (did you mean "address.street"?)`},
		{"facet that is no facet field", head + "roles: [agent]\nmenu:\n  - {name: a, label: 甲, page: search, form: ticket-register, facets: [title]}\n",
			`form ticket-register has no facet "title"`},
		{"facets on a to-do list", head + "roles: [agent]\nmenu:\n  - {name: a, label: 甲, page: tickets, facets: [state]}\n",
			`facets: page tickets takes no facets`},
		{"register without a form", head + "roles: [agent]\nmenu:\n  - {name: a, label: 甲, page: register}\n",
			`zz_test.yaml:6:31: page register needs the form it registers with (form:)`},
		{"register with columns", head + "roles: [agent]\nmenu:\n  - {name: a, label: 甲, page: register, form: ticket-register, columns: [title]}\n",
			`page register takes no state, due, columns or facets`},
		{"actions without a flow", head + "roles: [agent]\nmenu:\n  - {name: a, label: 甲, page: register, form: ticket-register, actions: [register]}\n",
			`actions need the flow they belong to (flow:)`},
		{"an action that does not create with the form", head + "roles: [agent]\nmenu:\n  - {name: a, label: 甲, page: register, form: ticket-register, flow: ticket, actions: [register, dispatch]}\n",
			`zz_test.yaml:6:98: actions: "dispatch" is not an action of flow ticket that creates a ticket with form ticket-register (one of: answer_directly, region_intake, register, save_draft)`},
		{"a misspelt action", head + "roles: [agent]\nmenu:\n  - {name: a, label: 甲, page: register, form: ticket-register, flow: ticket, actions: [regster]}\n",
			`(did you mean "register"?)`},
		{"a form the flow does not create with", head + "roles: [agent]\nmenu:\n  - {name: a, label: 甲, page: register, form: dispatch, flow: ticket}\n",
			`flow ticket has no action that creates a ticket with form dispatch`},
		{"cite on a ticket list", head + "roles: [agent]\nmenu:\n  - {name: a, label: 甲, page: tickets, cite: knowledge}\n",
			`cite: only a register page has the knowledge side panel`},
		{"cite naming no field", head + "roles: [agent]\nmenu:\n  - {name: a, label: 甲, page: register, form: ticket-register, cite: knowlege}\n",
			`cite: form ticket-register has no field "knowlege"`},
		{"cite naming a field that is not text", head + "roles: [agent]\nmenu:\n  - {name: a, label: 甲, page: register, form: ticket-register, cite: address}\n",
			`cite: field address of form ticket-register is address, not text`},
		{"actions on a ticket list", head + "roles: [agent]\nmenu:\n  - {name: a, label: 甲, page: tickets, actions: [register]}\n",
			`actions: page tickets takes no actions`},
		{"a group listed apart", head + "roles: [agent]\nmenu:\n  - {name: a, label: 甲, page: notices, group: 申请}\n  - {name: b, label: 乙, page: notices}\n  - {name: c, label: 丙, page: notices, group: 申请}\n",
			`zz_test.yaml:8:47: group: entries of group "申请" are listed apart; list them one after another`},
		{"entry twice", head + "roles: [agent]\nmenu:\n  - {name: a, label: 甲, page: notices}\n  - {name: a, label: 乙, page: notices}\n",
			`zz_test.yaml:7:12: menu entry "a" listed twice`},
		{"no roles", head + "menu:\n  - {name: a, label: 甲, page: notices}\n",
			`zz_test.yaml:1:1: missing required key "roles"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, msgs := load(t, tt.doc)
			require.NotEmpty(t, msgs)
			assert.True(t, strings.Contains(strings.Join(msgs, "\n"), tt.want), "want %q in\n%s", tt.want, strings.Join(msgs, "\n"))
		})
	}
}

func TestCreatingOffersTheListedActionsTheRolesMayPerform(t *testing.T) {
	set, msgs := load(t, "")
	require.Empty(t, msgs)
	e := workbench.Entry{Name: "r", Page: "register", Form: registry.Ref{Name: "ticket-register"}, Flow: registry.Ref{Name: "ticket"},
		Actions: []string{"answer_directly", "register", "save_draft"}}
	names := func(as []workbench.CreateAction) []string {
		out := []string{}
		for _, a := range as {
			out = append(out, a.Name)
		}
		return out
	}
	got := workbench.Creating(set, e, []string{"agent"})
	assert.Equal(t, []string{"answer_directly", "register", "save_draft"}, names(got))
	assert.Equal(t, "直接答复", got[0].Label)
	assert.Contains(t, got[0].Required, "answer")
	assert.False(t, got[1].Draft)
	assert.True(t, got[2].Draft)
	assert.Empty(t, names(workbench.Creating(set, e, []string{"clerk"})), "a clerk may create nothing")
	e.Actions = nil
	assert.Equal(t, []string{"save_draft", "register", "answer_directly"}, names(workbench.Creating(set, e, []string{"agent"})), "all the form's, in the flow's order")
	e.Page = "tickets"
	assert.Empty(t, workbench.Creating(set, e, []string{"agent"}))
}

func TestForGivesEachRolesMenusInOrder(t *testing.T) {
	set, msgs := load(t, "kind: workbench\nname: aa-both\nlabel: 两角色\norder: 10\nroles: [agent, clerk]\nmenu:\n  - {name: n, label: 通知, page: notices}\n")
	require.Empty(t, msgs)
	names := func(roles ...string) []string {
		var out []string
		for _, w := range workbench.For(set, roles) {
			out = append(out, w.Name)
		}
		return out
	}
	assert.Equal(t, []string{"aa-both", "agent"}, names("agent"), "same order: by name")
	assert.Equal(t, []string{"aa-both", "agent", "clerk"}, names("clerk", "agent"), "a workbench listing two of the roles comes once")
	assert.Equal(t, []string{"kb-editor"}, names("kb-editor"))
	assert.Empty(t, names("no-such-role"))
}

// The schema editors check workbenches with (schema/config) lists every
// page of the UI, no more: its enum is the field's tag, kept by hand.
func TestThePageEnumListsEveryPage(t *testing.T) {
	f, ok := reflect.TypeOf(workbench.Entry{}).FieldByName("Page")
	require.True(t, ok)
	var enum []string
	for _, part := range strings.Split(f.Tag.Get("jsonschema"), ",") {
		if v, ok := strings.CutPrefix(part, "enum="); ok {
			enum = append(enum, v)
		}
	}
	var pages []string
	for p := range workbench.Pages {
		pages = append(pages, p)
	}
	assert.ElementsMatch(t, pages, enum)
}

func TestEntryFacetsDefaultToTheFormsFacets(t *testing.T) {
	set, msgs := load(t, "")
	require.Empty(t, msgs)
	var auditor, clerk workbench.Entry
	for _, w := range workbench.For(set, []string{"auditor", "clerk"}) {
		for _, e := range w.Menu {
			if e.Page == "search" && w.Name == "auditor" {
				auditor = e
			}
			if e.Page == "search" && w.Name == "clerk" {
				clerk = e
			}
		}
	}
	got := workbench.EntryFacets(set, auditor)
	assert.Equal(t, []string{"state", "unit"}, got[:2])
	assert.Contains(t, got, "address.district")
	assert.Contains(t, got, "category")
	assert.NotContains(t, got, "title", "only facet: true fields filter")
	assert.Equal(t, clerk.Facets, workbench.EntryFacets(set, clerk), "an entry's own facets win")
}
