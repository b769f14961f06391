package registry

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/invopop/jsonschema"
)

// FieldsOf documents the keys of a model (a pointer to a struct) from its
// struct tags. It reads them through the model's JSON Schema, so the
// reference says exactly what the schema says.
func FieldsOf(model any) []Field {
	s := reflector().Reflect(model)
	return schemaFields(s, s.Definitions, nil)
}

// FieldList returns the spec's fields: as given, or read from its model.
func (s Spec) FieldList() []Field {
	if len(s.Fields) > 0 || s.Model == nil {
		return s.Fields
	}
	return FieldsOf(s.Model())
}

func schemaFields(s *jsonschema.Schema, defs jsonschema.Definitions, seen []string) []Field {
	if s == nil || s.Properties == nil {
		return nil
	}
	var out []Field
	for p := s.Properties.Oldest(); p != nil; p = p.Next() {
		f := Field{Name: p.Key, Required: slices.Contains(s.Required, p.Key), Description: p.Value.Description}
		if p.Value.Default != nil {
			f.Default = fmt.Sprint(p.Value.Default)
		}
		for _, v := range p.Value.Enum {
			if s := fmt.Sprint(v); s != "" {
				f.Enum = append(f.Enum, s)
			}
		}
		var desc string
		f.Type, f.Fields, desc = schemaType(p.Value, defs, seen)
		if f.Description == "" {
			f.Description = desc
		}
		out = append(out, f)
	}
	return out
}

// schemaType names the type of a value the way the reference prints it
// ("list of expression", "map of object"), with the keys of objects and the
// description of a referenced object type.
func schemaType(s *jsonschema.Schema, defs jsonschema.Definitions, seen []string) (string, []Field, string) {
	if s == nil {
		return "any", nil, ""
	}
	if s.Ref != "" {
		name := strings.TrimPrefix(s.Ref, "#/$defs/")
		d, ok := defs[name]
		if !ok {
			return name, nil, ""
		}
		if slices.Contains(seen, name) {
			return "object (" + name + ", as above)", nil, ""
		}
		t, fields, _ := schemaType(d, defs, append(seen, name))
		desc := ""
		if fields != nil {
			desc = d.Description
		}
		return t, fields, desc
	}
	if s.Title != "" && s.Properties == nil {
		return s.Title, nil, ""
	}
	switch {
	case len(s.OneOf) > 0 || len(s.AnyOf) > 0:
		alts := append(slices.Clone(s.OneOf), s.AnyOf...)
		names := make([]string, 0, len(alts))
		for _, a := range alts {
			t, _, _ := schemaType(a, defs, seen)
			names = append(names, t)
		}
		return strings.Join(names, " or "), nil, ""
	case s.Type == "array":
		t, fields, desc := schemaType(s.Items, defs, seen)
		return "list of " + t, fields, desc
	case s.Type == "object" && s.Properties != nil && s.Properties.Len() > 0:
		return "object", schemaFields(s, defs, seen), ""
	case s.Type == "object" && s.AdditionalProperties != nil && !reflect.DeepEqual(s.AdditionalProperties, jsonschema.FalseSchema):
		t, fields, desc := schemaType(s.AdditionalProperties, defs, seen)
		return "map of " + t, fields, desc
	case s.Format == "date-time":
		return "time", nil, ""
	case s.Format != "":
		return s.Format, nil, ""
	case s.Type == "":
		return "any", nil, ""
	}
	return s.Type, nil, ""
}
