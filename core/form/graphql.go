package form

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/graphql-go/graphql"

	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/registry"
)

// Module serves forms to the UI: their description, and a live check of
// what the user has entered so far with the same Check every write uses.
type Module struct {
	Config *registry.Runtime
	// Lookup returns the reference checker; nil checks no references.
	Lookup func() Lookup
	Now    func() time.Time
}

// Name implements gql.Module.
func (Module) Name() string { return "form" }

// Running returns the running form called name.
func Running(config *registry.Runtime, name string) (*Form, error) {
	f, ok := registry.Model[*Form](config.Current(), Kind, name)
	if !ok {
		return nil, gql.Errorf(gql.NotFound, "没有名为 %s 的表单", name)
	}
	return f, nil
}

// AsGraphQL turns a failed check into a BAD_USER_INPUT error that lists
// every problem in extensions.errors, each {field, label, message} with
// its path under prefix (input.address.district, input.attachments[2]),
// so a form marks every wrong field from one answer; extensions.field is
// the first of them and the message joins them all.
func AsGraphQL(err error, prefix string) error {
	var es Errors
	if !errors.As(err, &es) || len(es) == 0 {
		return err
	}
	at := func(field string) string {
		switch {
		case field == "":
			return prefix
		case prefix == "":
			return field
		}
		return prefix + "." + field
	}
	all := make([]FieldError, len(es))
	for i, e := range es {
		all[i] = FieldError{Field: at(e.Field), Label: e.Label, Message: e.Message}
	}
	return &gql.Error{Code: gql.BadUserInput, Field: all[0].Field, Message: es.Error(), Extra: map[string]any{"errors": all}, Err: err}
}

// Register implements gql.Module.
func (m Module) Register(b *gql.Builder) error {
	var itemType *graphql.Object
	itemType = graphql.NewObject(graphql.ObjectConfig{
		Name:        "FormOption",
		Description: "选项；树形字典的选项有下级",
		Fields: graphql.FieldsThunk(func() graphql.Fields {
			return graphql.Fields{
				"value": &graphql.Field{Type: gql.NonNull(graphql.String)},
				"label": &graphql.Field{Type: gql.NonNull(graphql.String), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(Item).Text(), nil }},
				"children": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(itemType))), Resolve: func(p graphql.ResolveParams) (any, error) {
					return orNone(p.Source.(Item).Children), nil
				}},
			}
		}),
	})
	levelType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "FormAddressLevel",
		Description: "地址字段的一级区划（如区县、街道、社区），由其 division 配置",
		Fields: graphql.Fields{
			"key":   &graphql.Field{Type: gql.NonNull(graphql.String), Description: "地址值中这一级的键，如 district"},
			"label": &graphql.Field{Type: gql.NonNull(graphql.String)},
		},
	})
	fieldType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "FormField",
		Description: "表单字段",
		Fields: graphql.Fields{
			"name":     &graphql.Field{Type: gql.NonNull(graphql.String)},
			"label":    &graphql.Field{Type: gql.NonNull(graphql.String)},
			"type":     &graphql.Field{Type: gql.NonNull(graphql.String), Description: "text, longtext, richtext, number, boolean, date, datetime, phone, idcard, address, location, choice, multichoice, tree, attachment, person, unit"},
			"required": &graphql.Field{Type: gql.NonNull(graphql.Boolean)},
			"multiple": &graphql.Field{Type: gql.NonNull(graphql.Boolean)},
			"leafOnly": &graphql.Field{Type: gql.NonNull(graphql.Boolean), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(*Field).LeafOnly, nil }},
			"integer":  &graphql.Field{Type: gql.NonNull(graphql.Boolean)},
			"min":      &graphql.Field{Type: graphql.Float},
			"max":      &graphql.Field{Type: graphql.Float},
			"default":  &graphql.Field{Type: gql.JSON},
			"computed": &graphql.Field{Type: gql.NonNull(graphql.Boolean), Description: "由表单计算，只读", Resolve: func(p graphql.ResolveParams) (any, error) {
				return p.Source.(*Field).Compute.Source != "", nil
			}},
			"conditional": &graphql.Field{Type: gql.NonNull(graphql.Boolean), Description: "是否按已填内容显示或隐藏（以 checkForm 的 hidden 为准）", Resolve: func(p graphql.ResolveParams) (any, error) {
				return p.Source.(*Field).Visible.Source != "", nil
			}},
			"placeholder": &graphql.Field{Type: graphql.String, Resolve: func(p graphql.ResolveParams) (any, error) { return gql.NilIfEmpty(p.Source.(*Field).Placeholder), nil }},
			"help":        &graphql.Field{Type: graphql.String, Resolve: func(p graphql.ResolveParams) (any, error) { return gql.NilIfEmpty(p.Source.(*Field).Help), nil }},
			"search": &graphql.Field{Type: gql.NonNull(graphql.Boolean), Description: "文字进入全文检索（登记时据此查相似工单）", Resolve: func(p graphql.ResolveParams) (any, error) {
				return p.Source.(*Field).Search, nil
			}},
			"facet": &graphql.Field{Type: gql.NonNull(graphql.Boolean), Description: "是检索筛选项（similarTickets 的 facets 取其值；地址按各级区划，如 address.street）", Resolve: func(p graphql.ResolveParams) (any, error) {
				return p.Source.(*Field).Facet, nil
			}},
			"caller": &graphql.Field{Type: graphql.String, Description: "标识来电人的字段：phone 来电号码、name 姓名、address 地址（来电弹屏据此带出）", Resolve: func(p graphql.ResolveParams) (any, error) {
				return gql.NilIfEmpty(p.Source.(*Field).Caller), nil
			}},
			"options": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(itemType))), Resolve: func(p graphql.ResolveParams) (any, error) {
				return orNone(p.Source.(*Field).items), nil
			}},
			"levels": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(levelType))), Description: "地址字段自上而下的区划层级（其他字段为空）", Resolve: func(p graphql.ResolveParams) (any, error) {
				return orNone(p.Source.(*Field).Levels()), nil
			}},
		},
	})
	formType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "Form",
		Description: "表单定义（forms/ 下的配置），界面据此生成表单",
		Fields: graphql.Fields{
			"name":  &graphql.Field{Type: gql.NonNull(graphql.String)},
			"label": &graphql.Field{Type: gql.NonNull(graphql.String)},
			"help":  &graphql.Field{Type: graphql.String, Resolve: func(p graphql.ResolveParams) (any, error) { return gql.NilIfEmpty(p.Source.(*Form).Help), nil }},
			"summary": &graphql.Field{Type: graphql.String, Description: "一句话概括工单的字段（如标题）", Resolve: func(p graphql.ResolveParams) (any, error) {
				return gql.NilIfEmpty(p.Source.(*Form).Summary), nil
			}},
			"callField": &graphql.Field{Type: graphql.String, Description: "来电登记时填入通话编号的字段（来电弹屏带出）", Resolve: func(p graphql.ResolveParams) (any, error) {
				return gql.NilIfEmpty(p.Source.(*Form).CallField), nil
			}},
			"freeFields": &graphql.Field{Type: gql.NonNull(graphql.Boolean), Description: "是否允许个性输入（extra）", Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source.(*Form).FreeFields, nil }},
			"fields": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(fieldType))), Resolve: func(p graphql.ResolveParams) (any, error) {
				f := p.Source.(*Form)
				out := make([]*Field, len(f.Fields))
				for i := range f.Fields {
					out[i] = &f.Fields[i]
				}
				return out, nil
			}},
		},
	})
	b.Query("form", &graphql.Field{Type: gql.NonNull(formType), Description: "按名称取表单定义",
		Args: graphql.FieldConfigArgument{"name": {Type: gql.NonNull(graphql.String)}},
		Resolve: identity.Resolve(func(_ context.Context, _ *identity.Principal, args map[string]any, _ any) (any, error) {
			return Running(m.Config, args["name"].(string))
		})})
	b.Query("forms", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(formType))), Description: "全部表单定义",
		Resolve: identity.Resolve(func(context.Context, *identity.Principal, map[string]any, any) (any, error) {
			var out []*Form
			for _, d := range m.Config.Current().All(Kind) {
				out = append(out, d.Model.(*Form))
			}
			return out, nil
		})})
	errorType := graphql.NewObject(graphql.ObjectConfig{
		Name: "FormFieldError",
		Fields: graphql.Fields{
			"field":   &graphql.Field{Type: gql.NonNull(graphql.String)},
			"label":   &graphql.Field{Type: gql.NonNull(graphql.String)},
			"message": &graphql.Field{Type: gql.NonNull(graphql.String)},
		},
	})
	checkType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "FormCheck",
		Description: "按表单检查已填内容的结果",
		Fields: graphql.Fields{
			"valid":  &graphql.Field{Type: gql.NonNull(graphql.Boolean)},
			"errors": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(errorType)))},
			"hidden": &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(graphql.String))), Description: "按当前内容应隐藏的字段"},
			"values": &graphql.Field{Type: gql.JSON, Description: "规范化后的值（含默认值和计算值）"},
		},
	})
	// As createTicket's input: each field is bounded by its form, checked
	// here; the transport bounds any one string (a rich text) only loosely.
	b.MaxLength("Query.checkForm(input:)", 100_000)
	b.Query("checkForm", &graphql.Field{Type: gql.NonNull(checkType), Description: "按表单检查已填内容（与保存时的检查相同）；partial 为真时不检查必填",
		Args: graphql.FieldConfigArgument{"name": {Type: gql.NonNull(graphql.String)}, "input": {Type: gql.NonNull(gql.JSON)}, "partial": {Type: graphql.Boolean, DefaultValue: false}},
		Resolve: identity.Resolve(func(ctx context.Context, _ *identity.Principal, args map[string]any, _ any) (any, error) {
			f, err := Running(m.Config, args["name"].(string))
			if err != nil {
				return nil, err
			}
			input, ok := args["input"].(map[string]any)
			if !ok {
				return nil, gql.FieldError("input", "input 须为 JSON 对象")
			}
			opts := Options{Partial: args["partial"].(bool)}
			if m.Lookup != nil {
				opts.Lookup = m.Lookup()
			}
			if m.Now != nil {
				opts.Now = m.Now()
			}
			res, err := f.Check(ctx, input, opts)
			var es Errors
			switch {
			case errors.As(err, &es):
				// Hidden still holds what the valid values decide, so a
				// form does not show its conditional fields at every typo.
				return map[string]any{"valid": false, "errors": []FieldError(es), "hidden": orNone(res.Hidden)}, nil
			case err != nil:
				return nil, err
			}
			return map[string]any{"valid": true, "errors": []FieldError{}, "hidden": orNone(res.Hidden), "values": res.Values}, nil
		})})
	optionType := graphql.NewObject(graphql.ObjectConfig{
		Name:        "AddressOption",
		Description: "地址某一级可选的单位",
		Fields: graphql.Fields{
			"code": &graphql.Field{Type: gql.NonNull(graphql.String), Description: "单位编码，即地址中这一级的值"},
			"name": &graphql.Field{Type: gql.NonNull(graphql.String)},
		},
	})
	b.Query("addressOptions", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(optionType))),
		Description: "地址字段某一级可选的单位：上一级所选单位（parent，最上一级不填）的下级，限于该级配置的单位类型",
		Args: graphql.FieldConfigArgument{
			"form":   {Type: gql.NonNull(graphql.String)},
			"field":  {Type: gql.NonNull(graphql.String)},
			"level":  {Type: gql.NonNull(graphql.String), Description: "区划层级的键，如 street"},
			"parent": {Type: graphql.String, Description: "上一级所选单位的编码"},
		},
		Resolve: identity.Resolve(func(ctx context.Context, _ *identity.Principal, args map[string]any, _ any) (any, error) {
			f, err := Running(m.Config, args["form"].(string))
			if err != nil {
				return nil, err
			}
			fl, ok := f.Field(args["field"].(string))
			if !ok || fl.Type != Address {
				return nil, gql.FieldError("field", "表单 %s 没有名为 %s 的地址字段", f.Name, args["field"])
			}
			levels := fl.Levels()
			i := slices.IndexFunc(levels, func(l Level) bool { return l.Key == args["level"].(string) })
			if i < 0 {
				return nil, gql.FieldError("level", "地址字段 %s 没有“%s”一级", fl.Name, args["level"])
			}
			parent, _ := args["parent"].(string)
			if i > 0 && parent == "" {
				return nil, gql.FieldError("parent", "请先选%s", levels[i-1].Label)
			}
			if i == 0 {
				parent = ""
			}
			var l UnitLister
			if m.Lookup != nil {
				l, _ = m.Lookup().(UnitLister)
			}
			if l == nil {
				return []UnitName{}, nil
			}
			return l.Children(ctx, parent, levels[i].Kinds)
		})})
	// Unit names are no secret (every user picks addresses from them); a
	// ticket page names the units its fields and steps hold by code, in
	// whatever scope the reader has.
	b.Query("unitNames", &graphql.Field{Type: gql.NonNull(graphql.NewList(gql.NonNull(optionType))),
		Description: fmt.Sprintf("按编码查单位名称（单位字段、地址各级的值为编码），最多 %d 个；不存在的编码不返回", MaxUnitNames),
		Args:        graphql.FieldConfigArgument{"codes": {Type: gql.NonNull(graphql.NewList(gql.NonNull(graphql.String)))}},
		Resolve: identity.Resolve(func(ctx context.Context, _ *identity.Principal, args map[string]any, _ any) (any, error) {
			raw, _ := args["codes"].([]any)
			if len(raw) > MaxUnitNames {
				return nil, gql.FieldError("codes", "一次最多查询 %d 个单位", MaxUnitNames)
			}
			codes := make([]string, 0, len(raw))
			for _, c := range raw {
				if s, ok := c.(string); ok && s != "" {
					codes = append(codes, s)
				}
			}
			var n UnitNamer
			if m.Lookup != nil {
				n, _ = m.Lookup().(UnitNamer)
			}
			if n == nil || len(codes) == 0 {
				return []UnitName{}, nil
			}
			return n.Names(ctx, codes)
		})})
	return nil
}

func orNone[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
