package flow

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/graphql-go/graphql"

	"github.com/hotline12345/hotline/core/diag"
	"github.com/hotline12345/hotline/core/form"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/registry"
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

// Suggest proposes units for a request by its category and text, in the
// order of the list; address holds the unit codes of the request's
// address by level key (as an address field stores them), for the
// entries that name a level of their list's division.
func (e *Engine) Suggest(ctx context.Context, category, text string, address map[string]any) ([]Suggestion, error) {
	var out []Suggestion
	seen := map[string]bool{}
	for _, d := range e.config.Current().All(KindResponsibility) {
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
		if err := e.pool.QueryRow(ctx, `SELECT name FROM units WHERE code = $1 AND active`, out[i].UnitCode).Scan(&out[i].UnitName); err != nil {
			return nil, fmt.Errorf("responsibility list names unit %q, which does not exist or is inactive: %w", out[i].UnitCode, err)
		}
	}
	return out, nil
}

// SuggestFor proposes units for ticket t by the text of its searchable
// fields and the units of its caller address. (The lists' categories are
// names, a ticket's category a dictionary code: matching them is not done
// yet.)
func (e *Engine) SuggestFor(ctx context.Context, t Ticket) ([]Suggestion, error) {
	spec := e.indexSpec()
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
	return e.Suggest(ctx, "", strings.Join(text, "\n"), address)
}

func (m Module) registerSuggest(b *gql.Builder) {
	e := m.Engine
	suggestionType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "UnitSuggestion",
		Description: "按权责清单建议的承办单位",
		Fields: graphql.Fields{
			"unitCode": &graphql.Field{Type: gql.NonNull(graphql.String)},
			"unitName": &graphql.Field{Type: gql.NonNull(graphql.String)},
			"category": &graphql.Field{Type: gql.NonNull(graphql.String)},
			"reason":   &graphql.Field{Type: gql.NonNull(graphql.String)},
		},
	})
	b.Query("suggestUnits", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(suggestionType))), Description: "派单建议：按归口分类或诉求内容中的关键词查权责清单",
		Args: graphql.FieldConfigArgument{
			"category": {Type: graphql.String, Description: "归口分类"},
			"text":     {Type: graphql.String, Description: "标题和诉求内容"},
			"address":  {Type: gql.JSON, Description: `诉求地址：各级区划的单位编码，键为权责清单所用区划的层级，如 {"district": "150105", "street": "150105001"}`},
			"ticket":   {Type: graphql.ID, Description: "按这张工单的诉求内容和地址建议（给出时不看其余参数）"},
		},
		Resolve: identity.Resolve(func(ctx context.Context, p *identity.Principal, args map[string]any, _ any) (any, error) {
			str := func(k string) string { v, _ := args[k].(string); return v }
			if _, ok := args["ticket"]; ok {
				id, err := gql.ID(args, "ticket")
				if err != nil {
					return nil, err
				}
				t, err := e.Get(ctx, p, id)
				if err != nil {
					return nil, err
				}
				return e.SuggestFor(ctx, t)
			}
			address, ok := args["address"].(map[string]any)
			if args["address"] != nil && !ok {
				return nil, gql.FieldError("address", "address 须为 JSON 对象，如 {\"district\": \"150105\"}")
			}
			return e.Suggest(ctx, str("category"), str("text"), address)
		})})
}
