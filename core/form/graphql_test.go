package form_test

import (
	"context"
	"testing"

	"github.com/graphql-go/graphql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/form"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/registry"
)

func TestFormsOverGraphQL(t *testing.T) {
	set, msgs := load(t, sample)
	require.Empty(t, msgs)
	units := &listUnits{}
	schema, err := gql.NewBuilder().Build(form.Module{Config: registry.NewRuntime(set), Lookup: func() form.Lookup { return units }})
	require.NoError(t, err)
	ctx := identity.WithPrincipal(context.Background(), &identity.Principal{Username: "agent"})
	do := func(q string, vars map[string]any) map[string]any {
		t.Helper()
		r := graphql.Do(graphql.Params{Schema: schema, Context: ctx, RequestString: q, VariableValues: vars})
		require.Empty(t, r.Errors)
		return r.Data.(map[string]any)
	}

	d := do(`{ form(name: "register") { label freeFields callField summary fields { name label type required conditional computed default caller facet search options { value label children { value label } } } } }`, nil)
	f := d["form"].(map[string]any)
	assert.Equal(t, "登记", f["label"])
	assert.Equal(t, true, f["freeFields"])
	assert.Equal(t, "title", f["callField"])
	assert.Nil(t, f["summary"])
	fields := f["fields"].([]any)
	byName := map[string]map[string]any{}
	for _, x := range fields {
		byName[x.(map[string]any)["name"].(string)] = x.(map[string]any)
	}
	assert.Equal(t, "个人", byName["caller_type"]["default"])
	assert.Equal(t, true, byName["company"]["conditional"])
	assert.Equal(t, true, byName["summary"]["computed"])
	assert.Equal(t, "phone", byName["phone"]["caller"])
	assert.Nil(t, byName["title"]["caller"])
	assert.Equal(t, false, byName["title"]["facet"])
	assert.Equal(t, false, byName["title"]["search"])
	assert.Equal(t, []any{map[string]any{"value": "01", "label": "城乡建设", "children": []any{
		map[string]any{"value": "0103", "label": "供暖"}, map[string]any{"value": "0104", "label": "供水"}}}}, byName["category"]["options"])

	// The live check the UI asks while the agent types: which fields to
	// hide, and what is wrong, with the check every write uses.
	check := `query($in: JSON!, $partial: Boolean) { checkForm(name: "register", input: $in, partial: $partial) { valid errors { field label message } hidden values } }`
	d = do(check, map[string]any{"in": map[string]any{"title": "暖气不热", "phone": "138"}})
	c := d["checkForm"].(map[string]any)
	assert.Equal(t, false, c["valid"])
	assert.Equal(t, []any{map[string]any{"field": "phone", "label": "联系电话", "message": "不是有效的手机号或固定电话"}}, c["errors"])
	// A typo elsewhere does not bring back the fields the rest hides.
	assert.Equal(t, []any{"company"}, c["hidden"])
	d = do(check, map[string]any{"in": map[string]any{"caller_type": "企业", "company": "某某供热公司"}, "partial": true})
	c = d["checkForm"].(map[string]any)
	assert.Equal(t, true, c["valid"])
	assert.Equal(t, []any{}, c["hidden"])
	d = do(check, map[string]any{"in": map[string]any{"title": "暖气不热", "phone": "13804711234"}})
	c = d["checkForm"].(map[string]any)
	assert.Equal(t, true, c["valid"])
	assert.Equal(t, []any{"company"}, c["hidden"])
	assert.Equal(t, "暖气不热（个人）", c["values"].(map[string]any)["summary"])

	// An address picker's options: the top level's units of its kinds,
	// then those below the unit picked above.
	opts := `query($level: String!, $parent: String) { addressOptions(form: "register", field: "address", level: $level, parent: $parent) { code name } }`
	d = do(opts, map[string]any{"level": "district"})
	assert.Equal(t, []any{map[string]any{"code": "150105", "name": "赛罕区"}}, d["addressOptions"])
	assert.Equal(t, fakeCall{parent: "", kinds: []string{"district", "county"}}, units.last)
	d = do(opts, map[string]any{"level": "street", "parent": "150105"})
	assert.Equal(t, fakeCall{parent: "150105"}, units.last)
	for _, bad := range []struct {
		q    string
		vars map[string]any
		msg  string
	}{
		{opts, map[string]any{"level": "street"}, "请先选区县"},
		{opts, map[string]any{"level": "city"}, "地址字段 address 没有“city”一级"},
		{`{ addressOptions(form: "register", field: "title", level: "district") { code } }`, nil, "表单 register 没有名为 title 的地址字段"},
	} {
		r := graphql.Do(graphql.Params{Schema: schema, Context: ctx, RequestString: bad.q, VariableValues: bad.vars})
		require.Len(t, r.Errors, 1)
		assert.Equal(t, bad.msg, r.Errors[0].Message)
	}

	r := graphql.Do(graphql.Params{Schema: schema, Context: ctx, RequestString: `{ form(name: "nope") { name } }`})
	require.Len(t, r.Errors, 1)
	assert.Equal(t, "没有名为 nope 的表单", r.Errors[0].Message)
}

type fakeCall struct {
	parent string
	kinds  []string
}

// listUnits is a Lookup that lists one district and remembers what it was
// asked; references are left unchecked (no unit, user or attachment
// exists, and the sample checks above name none).
type listUnits struct{ last fakeCall }

func (*listUnits) Unit(context.Context, string) (string, bool, error) { return "", false, nil }
func (*listUnits) User(context.Context, string) (bool, error)         { return false, nil }
func (*listUnits) Attachment(context.Context, string) (bool, error)   { return false, nil }
func (f *listUnits) Children(_ context.Context, parent string, kinds []string) ([]form.UnitName, error) {
	f.last = fakeCall{parent, kinds}
	if parent == "" {
		return []form.UnitName{{Code: "150105", Name: "赛罕区"}}, nil
	}
	return nil, nil
}
