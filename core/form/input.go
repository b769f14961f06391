package form

import (
	"strings"
	"sync"
	"unicode"

	"github.com/graphql-go/graphql"

	"github.com/hotline12345/hotline/core/gql"
)

// Shared input types of the typed form inputs.
var (
	locationInput = graphql.NewInputObject(graphql.InputObjectConfig{
		Name:        "LocationInput",
		Description: "经纬度",
		Fields: graphql.InputObjectConfigFieldMap{
			"lat": {Type: graphql.NewNonNull(graphql.Float)}, "lng": {Type: graphql.NewNonNull(graphql.Float)},
		},
	})
	inputMu      sync.Mutex
	inputTypes   = map[*Form]*graphql.InputObject{}
	addressTypes = map[*Division]*graphql.InputObject{}
)

// addressInput is the input of an address in d: a unit code per level and
// the detail, named after the division (admin → AdminAddressInput) so that
// forms of two divisions can share a schema. Called with inputMu held.
func addressInput(d *Division) *graphql.InputObject {
	if t, ok := addressTypes[d]; ok {
		return t
	}
	fields := graphql.InputObjectConfigFieldMap{}
	labels := make([]string, len(d.levels()))
	for i, l := range d.levels() {
		fields[l.Key] = &graphql.InputObjectFieldConfig{Type: graphql.String, Description: l.Label + "的单位编码"}
		labels[i] = l.Label
	}
	fields[DetailKey] = &graphql.InputObjectFieldConfig{Type: graphql.String, Description: "详细地址"}
	name := "Address"
	if d != nil {
		name = TypeName(d.Name) + name
	}
	t := graphql.NewInputObject(graphql.InputObjectConfig{
		Name:        name + "Input",
		Description: "地址：" + strings.Join(labels, "、") + "的单位编码，以及详细地址",
		Fields:      fields,
	})
	addressTypes[d] = t
	return t
}

// TypeName is the GraphQL name made from a form name: ticket-register →
// TicketRegister.
func TypeName(name string) string {
	var b strings.Builder
	upper := true
	for _, r := range name {
		switch {
		case r == '-' || r == '_' || r == '.' || r == ' ':
			upper = true
		case unicode.IsLetter(r) && r < unicode.MaxASCII || unicode.IsDigit(r) && r < unicode.MaxASCII:
			if upper {
				r = unicode.ToUpper(r)
				upper = false
			}
			b.WriteRune(r)
		}
	}
	out := b.String()
	if out == "" || unicode.IsDigit(rune(out[0])) {
		out = "Form" + out
	}
	return out
}

// InputType is the form as a GraphQL input object, so API clients get
// its fields and their types from the schema. Nothing is required at
// this level: what is required depends on visibility and on the action,
// and the form's check (which every write runs) says so by field. It is
// made once per form definition.
func (f *Form) InputType() *graphql.InputObject {
	inputMu.Lock()
	defer inputMu.Unlock()
	if t, ok := inputTypes[f]; ok {
		return t
	}
	fields := graphql.InputObjectConfigFieldMap{}
	list := graphql.NewList(graphql.NewNonNull(graphql.String))
	for i := range f.Fields {
		fl := &f.Fields[i]
		var t graphql.Input = graphql.String
		switch {
		case fl.Type == Number:
			t = graphql.Float
		case fl.Type == Boolean:
			t = graphql.Boolean
		case fl.Type == Address:
			t = addressInput(fl.division)
		case fl.Type == Location:
			t = locationInput
		case fl.Type == MultiChoice || fl.Multiple:
			t = list
		}
		desc := fl.Label
		if fl.Help != "" {
			desc += "：" + fl.Help
		}
		if fl.Required {
			desc += "（必填）"
		}
		fields[fl.Name] = &graphql.InputObjectFieldConfig{Type: t, Description: desc}
	}
	if f.FreeFields {
		fields["extra"] = &graphql.InputObjectFieldConfig{Type: gql.JSON, Description: "个性输入：字段名 → 文本"}
	}
	t := graphql.NewInputObject(graphql.InputObjectConfig{Name: TypeName(f.Name) + "Input", Description: f.Label + "（由 forms/ 中的表单生成）", Fields: fields})
	inputTypes[f] = t
	return t
}
