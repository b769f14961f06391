package form

import (
	"github.com/invopop/jsonschema"

	"github.com/hotline12345/hotline/core/registry"
)

// The field types are the registry's "field" namespace: the reference
// documents them, the form's JSON Schema lists them and lint suggests them
// for an unknown type, all from the entries below.
func init() {
	registry.Declare(registry.Namespace{
		ID:          registry.NSField,
		Title:       "Form field types",
		Description: "The `type:` of a field of a form (`kind: form`): how it is entered, checked, stored and searched.",
		Document: func(e registry.Entry, ex string) string {
			return "kind: form\nname: " + e.ExampleName() + "\nlabel: 示例\nfields:\n  - " + ex + "\n"
		},
	})
	for _, t := range []struct{ name, summary, example string }{
		{Text, "One line of text; `min`, `max` bound its length and `pattern` its form.", "{name: company, label: 企业名称, type: text, max: 100}"},
		{LongText, "Several lines of plain text (a description, an opinion).", "{name: content, label: 诉求内容, type: longtext, required: true, search: true}"},
		{RichText, "Formatted text with images (a knowledge article's body), kept as sanitised HTML.", "{name: body, label: 正文, type: richtext}"},
		{Number, "A number; `integer` makes it whole, `min` and `max` bound it.", "{name: days, label: 延期天数, type: number, integer: true, min: 1, max: 30}"},
		{Boolean, "Yes or no; a `confidential` boolean makes its ticket confidential.", "{name: secret, label: 是否保密, type: boolean, confidential: true}"},
		{Date, "A calendar date (2026-05-01).", "{name: visit_on, label: 走访日期, type: date}"},
		{DateTime, "A date and time of day, in the calendar's time zone.", "{name: happened_at, label: 发生时间, type: datetime}"},
		{Phone, "A telephone number, normalised and checked; `caller: phone` makes it the caller's number.", "{name: phone, label: 联系电话, type: phone, caller: phone, personal: {keep_start: 3, keep_end: 4}}"},
		{IDCard, "A mainland resident identity card number, its check digit verified.", "{name: id_number, label: 身份证号, type: idcard, personal: {keep_start: 6, keep_end: 4}}"},
		{Address, "An address: the units of a division's levels it lies in (`division: NAME`) and the detail.", "{name: address, label: 事发地址, type: address, division: admin, facet: true}"},
		{Location, "A point on the map (longitude and latitude).", "{name: position, label: 位置, type: location}"},
		{Choice, "One of a list of options, from the field or from a dictionary.", "{name: urgency, label: 紧急程度, type: choice, options: {list: [一般, 紧急]}, default: 一般}"},
		{MultiChoice, "Any number of a list of options.", "{name: channels, label: 反映渠道, type: multichoice, options: {list: [电话, 微信, 网站]}}"},
		{Tree, "A node of a tree of options (a category within a category); `leaf_only` refuses inner nodes.", "{name: category, label: 诉求分类, type: tree, options: {list: [{value: 城建, children: [道路, 供水]}]}, leaf_only: true}"},
		{Attachment, "Uploaded files (photos, documents), stored by the attachment store; `multiple` takes several.", "{name: photos, label: 现场照片, type: attachment, multiple: true}"},
		{Person, "A user of the platform, by username; `multiple` takes several.", "{name: handler, label: 承办人, type: person}"},
		{Unit, "A unit of the organisation, by code; `multiple` takes several.", "{name: unit, label: 承办单位, type: unit, facet: true}"},
	} {
		registry.Add(registry.Entry{Namespace: registry.NSField, Name: t.name, Value: t.name, Spec: registry.Spec{
			Summary:  t.summary,
			Examples: []registry.Example{{YAML: t.example}},
		}})
	}
}

// isType says whether t is a registered field type.
func isType(t string) bool {
	_, ok := registry.Lookup(registry.NSField, t)
	return ok
}

// JSONSchemaExtend lists the registered field types as the values of type.
func (Field) JSONSchemaExtend(s *jsonschema.Schema) {
	if p, ok := s.Properties.Get("type"); ok {
		p.Enum = nil
		for _, t := range registry.Names(registry.NSField) {
			p.Enum = append(p.Enum, t)
		}
	}
}
