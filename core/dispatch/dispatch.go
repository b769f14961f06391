// Package dispatch proposes the units a request goes to (派单建议): the
// responsibility lists (权责清单) of the running configuration matched
// against a request's category, text and address. It reads tickets but
// never changes one; the dispatcher's choice is a flow action.
package dispatch

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/core/diag"
	"github.com/hotline12345/hotline/core/form"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/ticket"
)

// KindResponsibility is the configuration kind of responsibility lists
// (权责清单): which unit handles which kind of request. The dispatcher's
// suggestion reads it; the list is data a centre maintains, not code.
const KindResponsibility = "responsibility-list"

func init() {
	registry.Register(registry.Kind{
		Name:        KindResponsibility,
		Description: "A responsibility list (权责清单): categories and keywords mapped to the units that handle them.",
		Dir:         "flows",
		New:         func() any { return &ResponsibilityList{} },
		Spec:        registry.Spec{Examples: responsibilityExamples},
	})
}

var responsibilityExamples = []registry.Example{{YAML: `kind: responsibility-list
name: example-utilities
label: 公用事业权责清单
entries:
  - {category: 供水, keywords: [停水, 水压], units: [water]}
  - {category: 供电, keywords: [停电], units: [power], note: 抢修热线另行转接}
`}}

// ResponsibilityList is a `kind: responsibility-list` document.
type ResponsibilityList struct {
	Name  string `yaml:"name" jsonschema:"required"`
	Label string `yaml:"label"`
	// Division names the `kind: division` whose level keys the entries
	// may give as units, for matters handled where they happen (属地管理).
	Division *registry.Ref `yaml:"division" jsonschema:"description=the division (kind: division) whose level keys stand for the units of the request's address"`
	Entries  []Responsible `yaml:"entries" jsonschema:"required"`

	division *form.Division
}

// Responsible maps a category (and keywords found in a request's text) to
// units. A unit may be a unit code, or the key of a level of the list's
// division ("street") for the unit at that level of the request's
// address.
type Responsible struct {
	Pos      diag.Pos `yaml:"-"`
	Category string   `yaml:"category" jsonschema:"required"`
	Keywords []string `yaml:"keywords"`
	Units    []string `yaml:"units" jsonschema:"required"`
	Note     string   `yaml:"note"`
}

// Provision checks the entries.
func (l *ResponsibilityList) Provision(c *registry.Context) {
	seen := map[string]bool{}
	for i, e := range l.Entries {
		if seen[e.Category] {
			c.Errorf(e.Pos, "category %q is listed twice", e.Category)
		}
		seen[e.Category] = true
		if len(e.Units) == 0 {
			c.Errorf(c.At("entries", i), "category %s: list the units responsible", e.Category)
		}
	}
}

// Validate resolves the division.
func (l *ResponsibilityList) Validate(c *registry.Context) {
	if l.Division != nil {
		if d, ok := c.Resolve(form.KindDivision, *l.Division); ok {
			l.division = d.Model.(*form.Division)
		}
	}
}

// Suggestion is a unit the list proposes for a request.
type Suggestion struct {
	UnitCode string `json:"unitCode"`
	UnitName string `json:"unitName"`
	Category string `json:"category"`
	// Reason says why: the category, or the keyword found in the text.
	Reason string `json:"reason"`
}

// Suggester proposes units from the running responsibility lists.
type Suggester struct {
	Pool   *pgxpool.Pool
	Config *registry.Runtime
	// Tickets reads a ticket (in the reader's scope) to suggest for, and
	// the running index spec: which fields hold a request's text and its
	// address.
	Tickets *ticket.Store
}

// Suggest proposes units for a request by its category and text, in the
// order of the list; address holds the unit codes of the request's
// address by level key (as an address field stores them), for the
// entries that name a level of their list's division.
func (s *Suggester) Suggest(ctx context.Context, category, text string, address map[string]any) ([]Suggestion, error) {
	var out []Suggestion
	seen := map[string]bool{}
	for _, d := range s.Config.Current().All(KindResponsibility) {
		list := d.Model.(*ResponsibilityList)
		for _, entry := range list.Entries {
			reason := ""
			switch {
			case category != "" && entry.Category == category:
				reason = "归口分类：" + category
			default:
				if i := slices.IndexFunc(entry.Keywords, func(k string) bool { return k != "" && strings.Contains(text, k) }); i >= 0 {
					reason = "关键词：" + entry.Keywords[i]
				}
			}
			if reason == "" {
				continue
			}
			for _, u := range entry.Units {
				code := u
				if _, ok := list.division.Level(u); ok {
					code, _ = address[u].(string)
				}
				if code == "" || seen[code] {
					continue
				}
				seen[code] = true
				out = append(out, Suggestion{UnitCode: code, Category: entry.Category, Reason: reason})
			}
		}
	}
	for i := range out {
		if err := s.Pool.QueryRow(ctx, `SELECT name FROM units WHERE code = $1 AND active`, out[i].UnitCode).Scan(&out[i].UnitName); err != nil {
			return nil, fmt.Errorf("responsibility list names unit %q, which does not exist or is inactive: %w", out[i].UnitCode, err)
		}
	}
	return out, nil
}

// SuggestFor proposes units for ticket t by the text of its searchable
// fields and the units of its caller address. (The lists' categories are
// names, a ticket's category a dictionary code: matching them is not done
// yet.)
func (s *Suggester) SuggestFor(ctx context.Context, t ticket.Ticket) ([]Suggestion, error) {
	spec := s.Tickets.IndexSpec()
	var text []string
	for _, fl := range spec.Text {
		if v, ok := t.Fields[fl.Name].(string); ok && fl.Caller == "" {
			text = append(text, v)
		}
	}
	var address map[string]any
	for _, fl := range spec.Caller["address"] {
		if a, ok := t.Fields[fl.Name].(map[string]any); ok && address == nil {
			address = a
		}
	}
	return s.Suggest(ctx, "", strings.Join(text, "\n"), address)
}
