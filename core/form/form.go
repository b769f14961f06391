// Package form holds the forms agents and clerks fill in: a `kind: form`
// document in forms/ lists typed fields, their options, visibility and
// validation rules. One definition drives three things: the description the
// UI renders (GraphQL `form(name)`), the check every write goes through
// (Check), and the lint of the flows that name the form.
package form

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hotline12345/hotline/core/diag"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/rules"
)

// Kind is the configuration kind of forms.
const Kind = "form"

func init() {
	registry.Register(registry.Kind{
		Name:        Kind,
		Description: "A form: typed fields with labels, options, defaults, computed values, visibility and validation rules.",
		Dir:         "forms",
		New:         func() any { return &Form{} },
		Spec:        registry.Spec{Examples: formExamples},
	})
}

// Env is what form expressions see: the values entered so far (after
// defaults) and the clock.
type Env struct {
	Values map[string]any `expr:"values"`
	Now    time.Time      `expr:"now"`
}

// EnvName is the registered name of the form environment.
const EnvName = "form"

var env = rules.NewEnv(EnvName, Env{})

func init() {
	rules.RegisterEnv(env, registry.Spec{
		Summary:  "What a form's visibility conditions, computed values and cross-field rules see: the values entered so far and the clock.",
		Examples: []registry.Example{{YAML: "values.age >= 18 || now.Year() > 2025"}},
	})
}

// Form is a `kind: form` document:
//
//	kind: form
//	name: ticket-register
//	label: 工单登记
//	fields:
//	  - {name: caller_type, label: 诉求人类型, type: choice, options: {dictionary: caller-type}, default: 个人}
//	  - {name: company, label: 企业名称, type: text, required: true, visible: "values.caller_type == '企业'"}
type Form struct {
	Name   string  `yaml:"name" jsonschema:"required"`
	Label  string  `yaml:"label" jsonschema:"required"`
	Help   string  `yaml:"help"`
	Fields []Field `yaml:"fields" jsonschema:"required"`
	// Rules check values against each other once every field is valid.
	Rules []Rule `yaml:"rules"`
	// FreeFields allows 个性输入: extra name → text pairs beyond the
	// template, kept under the key "extra".
	FreeFields bool `yaml:"free_fields"`
	// Summary names the field that sums a ticket up in a line where
	// there is room for no more (the in-transit tickets of a screen pop).
	Summary string `yaml:"summary" jsonschema:"description=the text field that sums a ticket up in one line (screen pops)"`
	// CallField names the text field that takes the ID of the call a
	// ticket is registered from: a screen pop's registration fills it.
	CallField string `yaml:"call_field" jsonschema:"description=the text field a screen pop's registration fills with the call's ID"`

	fields   map[string]*Field
	programs map[diag.Pos]*rules.Program
	// refs are the fields each expression reads, so that a check leaves
	// an expression over a wrong value unjudged.
	refs map[diag.Pos]refs
}

// Field is one input of a form.
type Field struct {
	Pos   diag.Pos `yaml:"-"`
	Name  string   `yaml:"name" jsonschema:"required,pattern=^[a-z][a-z0-9_]*$"`
	Label string   `yaml:"label" jsonschema:"required"`
	Type  string   `yaml:"type" jsonschema:"required,description=one of the registered field types (schema/reference/field)"`
	// Required fields must have a value whenever they are visible.
	Required bool `yaml:"required"`
	// Multiple makes a person, unit or attachment field a list.
	Multiple bool `yaml:"multiple"`
	// Visible is an expr condition over values; a hidden field's value is
	// dropped.
	Visible rules.Expr `yaml:"visible"`
	// Default is used when no value is given.
	Default any `yaml:"default"`
	// Compute is an expr over values whose result is the field's value
	// (the field is then read-only).
	Compute rules.Expr `yaml:"compute"`
	// Options of choice, multichoice and tree fields.
	Options *OptionSource `yaml:"options"`
	// Division names the `kind: division` whose levels an address field
	// picks units in.
	Division *registry.Ref `yaml:"division" jsonschema:"description=the division (kind: division) an address field picks units in"`
	// LeafOnly makes a tree field accept only nodes without children.
	LeafOnly bool `yaml:"leaf_only"`
	// Min and Max bound a number, or the length in characters of text.
	Min *float64 `yaml:"min"`
	Max *float64 `yaml:"max"`
	// Integer makes a number field accept whole numbers only.
	Integer bool `yaml:"integer"`
	// Pattern is a regular expression text must match, with the message
	// shown when it does not.
	Pattern        string `yaml:"pattern"`
	PatternMessage string `yaml:"pattern_message"`
	Placeholder    string `yaml:"placeholder"`
	Help           string `yaml:"help"`
	// Search puts the field's text in the ticket's full-text index.
	Search bool `yaml:"search"`
	// Facet makes the field a search filter with counts (choice, tree,
	// address, unit and boolean fields).
	Facet bool `yaml:"facet"`
	// Caller marks the field as who is calling, for the in-transit hint
	// (在途提示) and the caller's history: phone, name or address.
	Caller string `yaml:"caller" jsonschema:"enum=phone,enum=name,enum=address"`
	// Personal marks the field as personal data (a caller's name, phone,
	// ID number): shown whole only to those entitled, masked as it says
	// for everyone else, wherever a ticket is read.
	Personal *Mask `yaml:"personal"`
	// Confidential marks a boolean field whose true value makes the
	// ticket confidential (保密): its personal fields are then whole only
	// for those entitled to confidential tickets.
	Confidential bool `yaml:"confidential" jsonschema:"description=a boolean field whose true value makes the ticket confidential"`

	pattern      *regexp.Regexp
	division     *Division
	defaultValue any    // Default, normalised once at load; shared, so read-only
	items        []Item // resolved options
	index        map[string]*Item
}

// OptionSource gives a field its options: a static list, or a dictionary.
type OptionSource struct {
	Pos        diag.Pos      `yaml:"-"`
	List       []Item        `yaml:"list"`
	Dictionary *registry.Ref `yaml:"dictionary"`
}

// Rule is a check across fields.
type Rule struct {
	Pos     diag.Pos   `yaml:"-"`
	Rule    rules.Expr `yaml:"rule" jsonschema:"required"`
	Message string     `yaml:"message" jsonschema:"required,description=shown when the rule does not hold (Chinese)"`
	// Field is the field the message is shown at.
	Field string `yaml:"field"`
}

// Field types.
const (
	Text        = "text"
	LongText    = "longtext"
	Number      = "number"
	Boolean     = "boolean"
	Date        = "date"
	DateTime    = "datetime"
	Phone       = "phone"
	IDCard      = "idcard"
	Address     = "address"
	Location    = "location"
	Choice      = "choice"
	MultiChoice = "multichoice"
	Tree        = "tree"
	Attachment  = "attachment"
	Person      = "person"
	Unit        = "unit"
)

// callerTypes are the field types each caller role takes.
var callerTypes = map[string][]string{"phone": {Phone}, "name": {Text}, "address": {Address, Text}}

var fieldName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Field returns the field called name.
func (f *Form) Field(name string) (*Field, bool) {
	fl, ok := f.fields[name]
	return fl, ok
}

// Provision checks the form on its own: names, types, options, and
// compiles its expressions.
func (f *Form) Provision(c *registry.Context) {
	f.fields = map[string]*Field{}
	f.programs = map[diag.Pos]*rules.Program{}
	f.refs = map[diag.Pos]refs{}
	compile := func(e rules.Expr, want rules.Result) {
		if e.Source == "" {
			return
		}
		pos := e.Pos
		e.SetBlockIndent(c.Doc.Line)
		p, diags := rules.Compile(e, env, want)
		c.Report(diags)
		f.programs[pos] = p
		f.refs[pos] = fieldRefs(e.Source)
	}
	if len(f.Fields) == 0 {
		c.Errorf(c.At("fields"), "form %s has no fields", f.Name)
	}
	for i := range f.Fields {
		fl := &f.Fields[i]
		fl.Pos = c.At("fields", i)
		if !fieldName.MatchString(fl.Name) {
			c.Errorf(c.At("fields", i, "name"), "field name %q: use lower-case letters, digits and _ (starting with a letter)", fl.Name)
		}
		if fl.Name == "extra" && f.FreeFields {
			c.Errorf(c.At("fields", i, "name"), "field name extra is kept for free fields (free_fields: true)")
		}
		if prev, ok := f.fields[fl.Name]; ok {
			c.Errorf(c.At("fields", i, "name"), "field %q is already defined at %s", fl.Name, prev.Pos)
			continue
		}
		f.fields[fl.Name] = fl
		if !isType(fl.Type) {
			c.Errorf(c.At("fields", i, "type"), "field %s: unknown type %q%s", fl.Name, fl.Type, registry.Suggest(fl.Type, registry.Names(registry.NSField)))
			continue
		}
		needsOptions := fl.Type == Choice || fl.Type == MultiChoice || fl.Type == Tree
		switch {
		case needsOptions && fl.Options == nil:
			c.Errorf(fl.Pos, "field %s: a %s field needs options (list or dictionary)", fl.Name, fl.Type)
		case !needsOptions && fl.Options != nil:
			c.Errorf(c.At("fields", i, "options"), "field %s: a %s field takes no options", fl.Name, fl.Type)
		case fl.Options != nil && (len(fl.Options.List) == 0) == (fl.Options.Dictionary == nil):
			c.Errorf(c.At("fields", i, "options"), "field %s: give exactly one of options.list and options.dictionary", fl.Name)
		case fl.Options != nil && fl.Options.Dictionary == nil:
			fl.setItems(fl.Options.List)
		}
		switch {
		case fl.Type == Address && fl.Division == nil:
			c.Errorf(fl.Pos, "field %s: an address field names its division (division: NAME, a kind: division document)", fl.Name)
		case fl.Type != Address && fl.Division != nil:
			c.Errorf(c.At("fields", i, "division"), "field %s: a %s field takes no division (address fields do)", fl.Name, fl.Type)
		}
		if fl.Multiple && fl.Type != Person && fl.Type != Unit && fl.Type != Attachment {
			c.Errorf(c.At("fields", i, "multiple"), "field %s: multiple applies to person, unit and attachment fields (use multichoice for choices)", fl.Name)
		}
		if fl.Pattern != "" {
			re, err := regexp.Compile(fl.Pattern)
			if err != nil {
				c.Errorf(c.At("fields", i, "pattern"), "field %s: pattern: %v", fl.Name, err)
			}
			fl.pattern = re
		}
		if fl.Min != nil && fl.Max != nil && *fl.Min > *fl.Max {
			c.Errorf(c.At("fields", i, "min"), "field %s: min %v is above max %v", fl.Name, *fl.Min, *fl.Max)
		}
		if fl.Compute.Source != "" && fl.Default != nil {
			c.Errorf(c.At("fields", i, "default"), "field %s: a computed field takes no default", fl.Name)
		}
		if fl.Facet && !slices.Contains([]string{Choice, MultiChoice, Tree, Address, Unit, Boolean}, fl.Type) {
			c.Errorf(c.At("fields", i, "facet"), "field %s: a %s field cannot be a facet (choice, multichoice, tree, address, unit or boolean can)", fl.Name, fl.Type)
		}
		if want, ok := callerTypes[fl.Caller]; fl.Caller != "" && !ok {
			c.Errorf(c.At("fields", i, "caller"), "field %s: unknown caller %q (phone, name or address)", fl.Name, fl.Caller)
		} else if fl.Caller != "" && !slices.Contains(want, fl.Type) {
			c.Errorf(c.At("fields", i, "caller"), "field %s: caller %q needs a field of type %s", fl.Name, fl.Caller, strings.Join(callerTypes[fl.Caller], " or "))
		}
		if fl.Personal != nil && !slices.Contains(personalTypes, fl.Type) {
			c.Errorf(c.At("fields", i, "personal"), "field %s: a %s field cannot be masked (%s can)", fl.Name, fl.Type, strings.Join(personalTypes, ", "))
		}
		if fl.Personal != nil && (fl.Personal.KeepStart < 0 || fl.Personal.KeepEnd < 0) {
			c.Errorf(c.At("fields", i, "personal"), "field %s: keep_start and keep_end count characters and cannot be negative", fl.Name)
		}
		if fl.Personal != nil && fl.Search && fl.Caller != "name" && fl.Caller != "address" {
			// Only a caller's name and address have weights of their own in
			// the search document; other searched text could not be kept
			// from readers who see the field masked.
			c.Errorf(c.At("fields", i, "personal"), "field %s: a personal field can be searched only as a caller's name or address (caller: name or address)", fl.Name)
		}
		if fl.Confidential && fl.Type != Boolean {
			c.Errorf(c.At("fields", i, "confidential"), "field %s: only a boolean field can mark a ticket confidential", fl.Name)
		}
		compile(fl.Visible, rules.Bool)
		compile(fl.Compute, rules.Any)
	}
	if fl, ok := f.fields[f.Summary]; f.Summary != "" && !ok {
		c.Errorf(c.At("summary"), "summary: form %s has no field %q%s", f.Name, f.Summary, registry.Suggest(f.Summary, f.fieldNames()))
	} else if ok && fl.Type != Text && fl.Type != LongText {
		c.Errorf(c.At("summary"), "summary: field %s is a %s field; a summary is text or longtext", f.Summary, fl.Type)
	}
	if fl, ok := f.fields[f.CallField]; f.CallField != "" && !ok {
		c.Errorf(c.At("call_field"), "call_field: form %s has no field %q%s", f.Name, f.CallField, registry.Suggest(f.CallField, f.fieldNames()))
	} else if ok && fl.Type != Text {
		c.Errorf(c.At("call_field"), "call_field: field %s is a %s field; a call's ID is text", f.CallField, fl.Type)
	}
	for i := range f.Rules {
		r := &f.Rules[i]
		r.Pos = c.At("rules", i)
		compile(r.Rule, rules.Bool)
		if r.Field != "" {
			if _, ok := f.fields[r.Field]; !ok {
				c.Errorf(c.At("rules", i, "field"), "rule: form %s has no field %q%s", f.Name, r.Field, registry.Suggest(r.Field, f.fieldNames()))
			}
		}
	}
}

// Validate resolves dictionaries and checks static defaults against their
// fields.
func (f *Form) Validate(c *registry.Context) {
	for i := range f.Fields {
		fl := &f.Fields[i]
		if fl.Options != nil && fl.Options.Dictionary != nil {
			if d, ok := c.Resolve(KindDictionary, *fl.Options.Dictionary); ok {
				fl.setItems(d.Model.(*Dictionary).Items)
			}
		}
		if fl.Division != nil && fl.Type == Address {
			if d, ok := c.Resolve(KindDivision, *fl.Division); ok {
				fl.division = d.Model.(*Division)
			}
		}
		if fl.Default != nil && (fl.Options == nil || fl.items != nil) {
			v, err := fl.normalize(fl.Default)
			if err != nil {
				c.Errorf(c.At("fields", i, "default"), "field %s: default %v: %s", fl.Name, fl.Default, err.Error())
			}
			fl.defaultValue = v
		}
	}
}

func (f *Form) fieldNames() []string {
	out := make([]string, len(f.Fields))
	for i, fl := range f.Fields {
		out[i] = fl.Name
	}
	return out
}

func (fl *Field) setItems(items []Item) {
	fl.items = items
	fl.index = map[string]*Item{}
	var walk func(items []Item)
	walk = func(items []Item) {
		for i := range items {
			fl.index[items[i].Value] = &items[i]
			walk(items[i].Children)
		}
	}
	walk(items)
}

// Levels are the levels of an address field's division, top down (none
// for other fields).
func (fl *Field) Levels() []Level { return fl.division.levels() }

// AddressDivision is the division of an address field (nil for other
// fields).
func (fl *Field) AddressDivision() *Division { return fl.division }

// OptionPath returns the values from the top of the option tree down to
// value (just value for a flat list), and whether value is an option.
func (fl *Field) OptionPath(value string) ([]string, bool) {
	var path []string
	var walk func(items []Item) bool
	walk = func(items []Item) bool {
		for _, it := range items {
			path = append(path, it.Value)
			if it.Value == value || walk(it.Children) {
				return true
			}
			path = path[:len(path)-1]
		}
		return false
	}
	ok := walk(fl.items)
	return path, ok
}

// OptionLabel returns the label shown for an option value, or the value.
func (fl *Field) OptionLabel(value string) string {
	if it, ok := fl.index[value]; ok {
		return it.Text()
	}
	return value
}

// OptionList lists every option of a choice or tree field, parents before
// their children, each as value and label (children left out).
func (fl *Field) OptionList() []Item {
	var out []Item
	var walk func(items []Item)
	walk = func(items []Item) {
		for _, it := range items {
			out = append(out, Item{Value: it.Value, Label: it.Text()})
			walk(it.Children)
		}
	}
	walk(fl.items)
	return out
}
