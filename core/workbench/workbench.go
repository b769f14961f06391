// Package workbench holds the configuration kind that says what each role
// sees in the web UI (kind: workbench, under flows/workbench/): the menu of
// a role's workstation, each entry a page of the UI with its parameters —
// for the ticket list, a saved search over the user's to-do list (flow,
// state, due) and the form fields shown as columns. The UI names no role,
// state or field of its own: it renders what myWorkbench returns.
package workbench

import (
	"slices"
	"sort"

	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/form"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/registry"
)

// Kind is the configuration kind of workbenches.
const Kind = "workbench"

func init() {
	registry.Register(registry.Kind{
		Name:        Kind,
		Dir:         "flows",
		Description: "A role's web workstation: the menu of pages its holders see, each ticket list a saved search over their to-do list.",
		New:         func() any { return &Workbench{} },
		Spec:        registry.Spec{Examples: examples},
	})
}

var examples = []registry.Example{{Title: "A department clerk's workstation: lists by state and by deadline", YAML: `kind: workbench
name: example-desk
label: 承办单位工作台
roles: [clerk]
order: 30
menu:
  - {name: sign, label: 待签收, page: tickets, flow: ticket, state: dept_pending_sign, form: ticket-register, columns: [title, type]}
  - {name: overdue, label: 已超期, page: tickets, due: overdue, form: ticket-register, columns: [title, type]}
  - {name: todo, label: 全部待办, page: tickets}
  - {name: search, label: 工单查询, page: search, form: ticket-register, columns: [title, type], facets: [state, type, address.street]}
  - {name: notices, label: 通知, page: notices}
`}, {Title: "An agent's registration page: the form and the creating actions offered as buttons", YAML: `kind: workbench
name: example-intake
label: 话务员工作台
roles: [agent]
menu:
  - {name: register, label: 登记工单, page: register, form: ticket-register, flow: ticket, actions: [register, answer_directly, save_draft]}
`}}

// Pages are the pages of the UI a menu entry may open. A new page of the
// UI is added here, so a workbench naming a page the UI lacks is a lint
// error rather than a dead menu entry.
var Pages = map[string]string{
	"tickets":       "the user's to-do list (myWorkTickets), filtered by flow, state and due",
	"notices":       "the user's notices",
	"knowledge":     "knowledge search (知识库): facets, sorting, hot articles; articles open at /k/{id} with versions, favourites, ratings and the correction report of kind: knowledge",
	"favorites":     "the user's favourite knowledge articles in folders",
	"announcements": "announcements (公告) sent to the user, to read and acknowledge; with announcement.publish also publishing them and following who has acknowledged",
	"users":         "accounts of the units in the user's scope: create, edit, disable, unlock, reset password (needs user.manage to change)",
	"units":         "the organisation's units in the user's scope as a tree: edit, add below (needs org.manage to change)",
	"config":        "the running configuration documents: versions, diff, edit and publish (needs config.read; config.publish to publish)",
	"audit":         "the audit log in the user's scope, with filters (needs audit.read)",
	// register is the registration page: form names the form it renders;
	// flow and actions narrow the creating actions it offers as buttons.
	"register":  "registration of a new ticket with a form (createTicket), pre-filled from a call by the screen pop: form, and optionally the flow and the creating actions offered",
	"wallboard": "the team leader's wallboard: every agent's state live, the queues, today's service level, and forcing, monitoring and releasing agents' calls",
	"search":    "the query page (searchTickets): full text, filters, facet counts and export, columns and facets from the entry's form",
}

// Dues are the due filters of myWorkTickets.
var Dues = []string{"overdue", "near", "step_overdue"}

// Workbench is a `kind: workbench` document:
//
//	kind: workbench
//	name: clerk
//	label: 承办单位工作台
//	roles: [clerk]
//	menu:
//	  - {name: sign, label: 待签收, page: tickets, flow: ticket, state: dept_pending_sign}
//	  - {name: overdue, label: 已超期, page: tickets, due: overdue}
type Workbench struct {
	Name  string         `yaml:"name" jsonschema:"required"`
	Label string         `yaml:"label" jsonschema:"required,description=the workstation's name shown to users (Chinese)"`
	Roles []registry.Ref `yaml:"roles" jsonschema:"required,description=the roles whose holders get this menu"`
	// Order sorts the menus of a user holding several roles (lower first).
	Order int     `yaml:"order" jsonschema:"description=menus of a user with several roles are shown by order, then name"`
	Menu  []Entry `yaml:"menu" jsonschema:"required"`
}

// Entry is one menu entry: a page of the UI and what it shows.
type Entry struct {
	Name  string `yaml:"name" jsonschema:"required,pattern=^[a-z][a-z0-9_-]*$,description=unique in the workbench; part of the page's address"`
	Label string `yaml:"label" jsonschema:"required,description=shown in the menu (Chinese)"`
	Page  string `yaml:"page" jsonschema:"required,enum=tickets,enum=notices,enum=users,enum=units,enum=config,enum=audit,enum=register,enum=wallboard,enum=announcements,enum=search,enum=knowledge,enum=favorites"`
	// Flow and State narrow a ticket list to one flow, or one state of it.
	Flow  registry.Ref `yaml:"flow" jsonschema:"description=tickets: only this flow's tickets; register: the flow whose creating actions are offered"`
	State string       `yaml:"state" jsonschema:"description=tickets: only tickets in this state of flow"`
	Due   string       `yaml:"due" jsonschema:"enum=,enum=overdue,enum=near,enum=step_overdue,description=tickets: only overdue, near-due or step-overdue ones"`
	// Form and Columns are the ticket fields a list shows beside number,
	// state, holder and deadlines, labelled as the form labels them.
	Form    registry.Ref `yaml:"form" jsonschema:"description=tickets and search: the form whose fields columns name; register: the form filled in; search: also the form whose facet fields are the filters and whose columns are exported"`
	Columns []string     `yaml:"columns" jsonschema:"description=tickets and search: form fields shown as columns, the first as the ticket's title"`
	// Facets are the filters with counts a query page offers; empty, every
	// facet of its form plus state and unit.
	Facets []string `yaml:"facets" jsonschema:"description=search: the filters with counts offered, in order: state, unit or a facet field of form (an address field by its levels, e.g. address.district); empty offers state, unit and every facet field of form"`
	// Actions are the creating actions of flow a registration page offers,
	// in order (the draft one as its 暂存); empty offers every creating
	// action that registers with form. The user sees those of them their
	// roles may perform.
	Actions []string `yaml:"actions" jsonschema:"description=register: the creating actions of flow offered as buttons\\, in order (all of the form's when empty)"`
	// Cite is the register page's knowledge side panel: the text field of
	// form that articles cited from the panel are added to (by number,
	// comma-separated), the field the flow's knowledge.cite reads.
	Cite string `yaml:"cite" jsonschema:"description=register: show the knowledge side panel; articles cited from it are added to this text field of form (numbers\\, comma-separated)"`
	// Group folds consecutive entries under one collapsible heading (a
	// department's applications to audit: returns, hangs, extensions…),
	// so a long menu stays short; the heading shows their total.
	Group string `yaml:"group" jsonschema:"description=entries with the same group are shown folded under it (Chinese); they must be listed one after another"`
}

// Facet names of the ticket search beside the form's own facet fields
// (the same names core/ticket indexes).
const (
	facetState = "state"
	facetUnit  = "unit"
)

// Provision checks the workbench on its own.
func (w *Workbench) Provision(c *registry.Context) {
	if len(w.Roles) == 0 {
		c.Errorf(c.At("roles"), "roles: a workbench needs at least one role")
	}
	if len(w.Menu) == 0 {
		c.Errorf(c.At("menu"), "menu: a workbench needs at least one entry")
	}
	seen := map[string]bool{}
	for i, e := range w.Menu {
		if e.Name == "" || e.Label == "" {
			c.Errorf(c.At("menu", i), "menu entry %d: name and label are required", i+1)
		}
		if seen[e.Name] {
			c.Errorf(c.At("menu", i, "name"), "menu entry %q listed twice", e.Name)
		}
		seen[e.Name] = true
		if _, ok := Pages[e.Page]; !ok {
			c.Errorf(c.At("menu", i, "page"), "page: %q is not a page of the UI%s", e.Page, registry.Suggest(e.Page, pageNames()))
			continue
		}
		switch e.Page {
		case "tickets":
			if len(e.Facets) > 0 {
				c.Errorf(c.At("menu", i, "facets"), "facets: page tickets takes no facets (the query page, page: search, does)")
			}
			if len(e.Actions) > 0 {
				c.Errorf(c.At("menu", i, "actions"), "actions: page tickets takes no actions (a register page does)")
			}
		case "search":
			if e.Flow.Name != "" || e.State != "" || e.Due != "" || len(e.Actions) > 0 {
				c.Errorf(c.At("menu", i, "page"), "page search takes no flow, state, due or actions (its filters are the user's)")
			}
			if e.Form.Name == "" {
				c.Errorf(c.At("menu", i, "page"), "page search needs form: (the form whose facet fields are its filters and whose fields are its columns)")
			}
		case "register":
			if e.Form.Name == "" {
				c.Errorf(c.At("menu", i, "page"), "page register needs the form it registers with (form:)")
			}
			if e.State != "" || e.Due != "" || len(e.Columns) > 0 || len(e.Facets) > 0 {
				c.Errorf(c.At("menu", i, "page"), "page register takes no state, due, columns or facets")
			}
			if len(e.Actions) > 0 && e.Flow.Name == "" {
				c.Errorf(c.At("menu", i, "actions"), "actions need the flow they belong to (flow:)")
			}
			for j, a := range e.Actions {
				if slices.Contains(e.Actions[:j], a) {
					c.Errorf(c.At("menu", i, "actions", j), "action %q listed twice", a)
				}
			}
		default:
			if e.Flow.Name != "" || e.State != "" || e.Due != "" || e.Form.Name != "" || len(e.Columns) > 0 || len(e.Facets) > 0 || len(e.Actions) > 0 {
				c.Errorf(c.At("menu", i, "page"), "page %s takes no flow, state, due, form, columns, facets or actions", e.Page)
			}
		}
		// A group is one heading in the menu: its entries listed apart
		// would show it twice.
		if e.Group != "" && i > 0 && w.Menu[i-1].Group != e.Group && slices.ContainsFunc(w.Menu[:i], func(o Entry) bool { return o.Group == e.Group }) {
			c.Errorf(c.At("menu", i, "group"), "group: entries of group %q are listed apart; list them one after another", e.Group)
		}
		if e.Cite != "" && e.Page != "register" {
			c.Errorf(c.At("menu", i, "cite"), "cite: only a register page has the knowledge side panel")
		}
		if e.Due != "" && !slices.Contains(Dues, e.Due) {
			c.Errorf(c.At("menu", i, "due"), "due: %q is not one of overdue, near, step_overdue", e.Due)
		}
		if e.State != "" && e.Flow.Name == "" {
			c.Errorf(c.At("menu", i, "state"), "state %q needs the flow it belongs to (flow:)", e.State)
		}
		if len(e.Columns) > 0 && e.Form.Name == "" {
			c.Errorf(c.At("menu", i, "columns"), "columns need the form that labels them (form:)")
		}
	}
}

// Validate checks the roles, flows, states, forms and fields the
// workbench names against the rest of the configuration.
func (w *Workbench) Validate(c *registry.Context) {
	for _, r := range w.Roles {
		c.Resolve(identity.KindRole, r)
	}
	for i, e := range w.Menu {
		if e.Flow.Name != "" {
			var f *flow.Flow
			if d, ok := c.Resolve(flow.Kind, e.Flow); ok {
				f, _ = d.Model.(*flow.Flow)
			}
			if f != nil && e.State != "" && !hasState(f, e.State) {
				c.Errorf(c.At("menu", i, "state"), "flow %s has no state %q%s", f.Name, e.State, registry.Suggest(e.State, stateNames(f)))
			}
			if f != nil && e.Page == "register" {
				offered := creating(f, e.Form.Name)
				if !slices.ContainsFunc(offered, func(a CreateAction) bool { return !a.Draft }) {
					c.Errorf(c.At("menu", i, "form"), "flow %s has no action that creates a ticket with form %s", f.Name, e.Form.Name)
				}
				names := make([]string, len(offered))
				for k, a := range offered {
					names[k] = a.Name
				}
				for j, a := range e.Actions {
					if !slices.Contains(names, a) {
						c.Errorf(c.At("menu", i, "actions", j), "actions: %q is not an action of flow %s that creates a ticket with form %s%s",
							a, f.Name, e.Form.Name, registry.Suggest(a, names))
					}
				}
			}
		}
		if e.Form.Name == "" {
			continue
		}
		d, ok := c.Resolve(form.Kind, e.Form)
		if !ok {
			continue
		}
		fm, _ := d.Model.(*form.Form)
		if e.Cite != "" {
			if fl, ok := fm.Field(e.Cite); !ok {
				c.Errorf(c.At("menu", i, "cite"), "cite: form %s has no field %q", fm.Name, e.Cite)
			} else if fl.Type != form.Text && fl.Type != form.LongText {
				c.Errorf(c.At("menu", i, "cite"), "cite: field %s of form %s is %s, not text (cited numbers are written into it)", e.Cite, fm.Name, fl.Type)
			}
		}
		for j, col := range e.Columns {
			if _, ok := fm.Field(col); !ok {
				c.Errorf(c.At("menu", i, "columns", j), "form %s has no field %q", fm.Name, col)
			}
		}
		known := FacetsOf(fm)
		for j, name := range e.Facets {
			if !slices.Contains(known, name) {
				c.Errorf(c.At("menu", i, "facets", j), "facets: form %s has no facet %q%s", fm.Name, name, registry.Suggest(name, known))
			}
		}
	}
}

// FacetsOf lists the facets a query page over fm can offer: state, unit,
// then each facet field of the form in its order, an address field by its
// levels (address.district, address.street…), as the search indexes them.
func FacetsOf(fm *form.Form) []string {
	out := []string{facetState, facetUnit}
	for i := range fm.Fields {
		fl := &fm.Fields[i]
		if !fl.Facet {
			continue
		}
		if fl.Type == form.Address {
			for _, l := range fl.Levels() {
				out = append(out, fl.Name+"."+l.Key)
			}
			continue
		}
		out = append(out, fl.Name)
	}
	return out
}

// CreateAction is a creating action a registration page offers: a button
// that registers the ticket (createTicket with action), or, when Draft,
// keeps it as a draft (暂存).
type CreateAction struct {
	Name     string
	Label    string
	Draft    bool
	Required []string
}

// creating are the actions of f that create a ticket with the form
// called formName: those naming it, and a draft action without a form of
// its own (a draft keeps what the named form holds), in the flow's order.
func creating(f *flow.Flow, formName string) []CreateAction {
	var out []CreateAction
	for i := range f.Actions {
		a := &f.Actions[i]
		if len(a.From) > 0 {
			continue
		}
		to, _ := f.State(a.To.Name)
		draft := to != nil && to.Category == flow.CategoryDraft
		name := ""
		if a.Form != nil {
			name = a.Form.Name
		}
		if name == formName || (draft && name == "") {
			out = append(out, CreateAction{Name: a.Name, Label: a.Label, Draft: draft, Required: a.RequiredFields()})
		}
	}
	return out
}

// EntryFacets is what a query page entry offers: its facets, or every
// facet of its form (none when the form is not in set).
func EntryFacets(set *registry.Set, e Entry) []string {
	if len(e.Facets) > 0 || e.Form.Name == "" {
		return e.Facets
	}
	d, ok := set.Get(form.Kind, e.Form.Name)
	if !ok {
		return nil
	}
	fm, ok := d.Model.(*form.Form)
	if !ok {
		return nil
	}
	return FacetsOf(fm)
}

// Creating returns the creating actions a registration entry offers to a
// user holding roles: those the entry lists (in its order), or every one
// registering with its form; each only if the roles may perform it.
func Creating(set *registry.Set, e Entry, roles []string) []CreateAction {
	if e.Page != "register" || e.Form.Name == "" {
		return []CreateAction{}
	}
	out := []CreateAction{}
	for _, d := range set.All(flow.Kind) {
		f, ok := d.Model.(*flow.Flow)
		if !ok || (e.Flow.Name != "" && f.Name != e.Flow.Name) {
			continue
		}
		offered := creating(f, e.Form.Name)
		if len(e.Actions) > 0 {
			var listed []CreateAction
			for _, name := range e.Actions {
				if k := slices.IndexFunc(offered, func(a CreateAction) bool { return a.Name == name }); k >= 0 {
					listed = append(listed, offered[k])
				}
			}
			offered = listed
		}
		for _, a := range offered {
			act, _ := f.Action(a.Name)
			if act != nil && slices.ContainsFunc(act.Roles, func(r registry.Ref) bool { return slices.Contains(roles, r.Name) }) {
				out = append(out, a)
			}
		}
	}
	return out
}

func hasState(f *flow.Flow, name string) bool {
	return slices.ContainsFunc(f.States, func(s flow.State) bool { return s.Name == name })
}

func stateNames(f *flow.Flow) []string {
	out := make([]string, len(f.States))
	for i, s := range f.States {
		out[i] = s.Name
	}
	return out
}

func pageNames() []string {
	out := make([]string, 0, len(Pages))
	for p := range Pages {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// For returns the workbenches of a user holding roles, by order then name:
// each one at most once, however many of the user's roles it lists.
func For(set *registry.Set, roles []string) []*Workbench {
	var out []*Workbench
	for _, d := range set.All(Kind) {
		w, ok := d.Model.(*Workbench)
		if !ok {
			continue
		}
		if slices.ContainsFunc(w.Roles, func(r registry.Ref) bool { return slices.Contains(roles, r.Name) }) {
			out = append(out, w)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Order != out[j].Order {
			return out[i].Order < out[j].Order
		}
		return out[i].Name < out[j].Name
	})
	return out
}
