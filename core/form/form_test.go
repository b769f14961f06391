package form_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/form"
	"github.com/hotline12345/hotline/core/registry"
)

// load reads configuration text (several documents) from a temporary
// forms/ folder and returns the set and the problems found.
func load(t *testing.T, text string) (*registry.Set, []string) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "forms"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "forms", "f.yaml"), []byte(text), 0o644))
	set, diags := registry.Load(context.Background(), []string{dir}, registry.LoadOptions{})
	var msgs []string
	for _, d := range diags {
		msgs = append(msgs, strings.TrimPrefix(d.String(), filepath.Join(dir, "forms")+"/"))
	}
	return set, msgs
}

func TestFormLint(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"duplicate field", `kind: form
name: a
label: A
fields:
  - {name: title, label: 标题, type: text}
  - {name: title, label: 标题, type: text}
`, `f.yaml:6:12: field "title" is already defined at`},
		{"unknown type", `kind: form
name: a
label: A
fields:
  - {name: phone, label: 电话, type: phon}
`, `f.yaml:5:36: field phone: unknown type "phon" (did you mean "phone"?)`},
		{"unknown dictionary", `kind: form
name: a
label: A
fields:
  - {name: type, label: 类型, type: choice, options: {dictionary: ticket-typ}}
`, `unknown dictionary "ticket-typ"`},
		{"facet on free text", `kind: form
name: a
label: A
fields:
  - {name: title, label: 标题, type: text, facet: true}
`, `field title: a text field cannot be a facet`},
		{"personal text searched as plain text", `kind: form
name: a
label: A
fields:
  - {name: note, label: 备注, type: text, search: true, personal: {keep_start: 1}}
`, `f.yaml:5:65: field note: a personal field can be searched only as a caller's name or address`},
		{"personal number", `kind: form
name: a
label: A
fields:
  - {name: age, label: 年龄, type: number, personal: {}}
`, `field age: a number field cannot be masked`},
		{"negative mask", `kind: form
name: a
label: A
fields:
  - {name: tel, label: 电话, type: phone, personal: {keep_end: -1}}
`, `field tel: keep_start and keep_end count characters and cannot be negative`},
		{"confidential on text", `kind: form
name: a
label: A
fields:
  - {name: secret, label: 保密, type: text, confidential: true}
`, `field secret: only a boolean field can mark a ticket confidential`},
		{"unknown caller role", `kind: form
name: a
label: A
fields:
  - {name: tel, label: 电话, type: phone, caller: mobile}
`, `field tel: unknown caller "mobile" (phone, name or address)`},
		{"caller role on the wrong type", `kind: form
name: a
label: A
fields:
  - {name: who, label: 诉求人, type: number, caller: name}
`, `field who: caller "name" needs a field of type text`},
		{"choice without options", `kind: form
name: a
label: A
fields:
  - {name: type, label: 类型, type: choice}
`, `f.yaml:5:5: field type: a choice field needs options (list or dictionary)`},
		{"rule that does not compile", `kind: form
name: a
label: A
fields:
  - {name: title, label: 标题, type: text}
rules:
  - {rule: "values.title ==", message: 不对}
`, `f.yaml:7:27: rule: unexpected token EOF`},
		{"visibility that is not a condition", `kind: form
name: a
label: A
fields:
  - {name: title, label: 标题, type: text, visible: "len(values)"}
`, `f.yaml:5:52: rule: expected bool, but got int`},
		{"rule at an unknown field", `kind: form
name: a
label: A
fields:
  - {name: title, label: 标题, type: text}
rules:
  - {rule: "true", message: 不对, field: titel}
`, `f.yaml:7:40: rule: form a has no field "titel" (did you mean "title"?)`},
		{"bad pattern", `kind: form
name: a
label: A
fields:
  - {name: code, label: 代码, type: text, pattern: "([a-z"}
`, `f.yaml:5:50: field code: pattern: error parsing regexp`},
		{"default not among the options", `kind: form
name: a
label: A
fields:
  - {name: u, label: 紧急程度, type: choice, options: {list: [一般, 紧急]}, default: 特急}
`, `f.yaml:5:78: field u: default 特急: “特急”不是可选项`},
		{"summary of no field", `kind: form
name: a
label: A
summary: titel
fields:
  - {name: title, label: 标题, type: text}
`, `f.yaml:4:10: summary: form a has no field "titel" (did you mean "title"?)`},
		{"summary that is not text", `kind: form
name: a
label: A
summary: n
fields:
  - {name: n, label: 数量, type: number}
`, `f.yaml:4:10: summary: field n is a number field; a summary is text or longtext`},
		{"call field of no field", `kind: form
name: a
label: A
call_field: cal_id
fields:
  - {name: call_id, label: 通话编号, type: text}
`, `f.yaml:4:13: call_field: form a has no field "cal_id" (did you mean "call_id"?)`},
		{"call field that is not text", `kind: form
name: a
label: A
call_field: n
fields:
  - {name: n, label: 数量, type: number}
`, `f.yaml:4:13: call_field: field n is a number field; a call's ID is text`},
		{"address without a division", `kind: form
name: a
label: A
fields:
  - {name: addr, label: 地址, type: address}
`, `f.yaml:5:5: field addr: an address field names its division`},
		{"unknown division", `kind: division
name: banner
label: 旗
levels: [{key: banner, label: 旗}]
---
kind: form
name: a
label: A
fields:
  - {name: addr, label: 地址, type: address, division: baner}
`, `f.yaml:10:54: unknown division "baner" (did you mean "banner"?)`},
		{"division on a text field", `kind: form
name: a
label: A
fields:
  - {name: title, label: 标题, type: text, division: admin}
`, `f.yaml:5:52: field title: a text field takes no division`},
		{"division level twice", `kind: division
name: d
label: D
levels:
  - {key: street, label: 街道}
  - {key: street, label: 社区}
`, `f.yaml:6:11: level "street" is already defined at`},
		{"division level kind twice", `kind: division
name: d
label: D
levels:
  - {key: district, label: 区县, kinds: [district, district]}
`, `f.yaml:5:50: level district: kinds[1] "district" is empty or listed twice`},
		{"division level named detail", `kind: division
name: d
label: D
levels: [{key: detail, label: 门牌}]
`, `f.yaml:4:16: level key detail is kept for the address's detail`},
		{"duplicate dictionary value", `kind: dictionary
name: d
label: D
items:
  - {value: "01", label: 城建, children: [{value: "01", label: 供暖}]}
`, `dictionary d: value "01" is already used at`},
		{"bad field name", `kind: form
name: a
label: A
fields:
  - {name: Title, label: 标题, type: text}
`, `f.yaml:5:12: field name "Title": use lower-case letters`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, msgs := load(t, tt.text)
			require.NotEmpty(t, msgs)
			assert.Contains(t, strings.Join(msgs, "\n"), tt.want)
		})
	}
}

const sample = `kind: dictionary
name: category
label: 归口分类
items:
  - value: "01"
    label: 城乡建设
    children:
      - {value: "0103", label: 供暖}
      - {value: "0104", label: 供水}
---
kind: division
name: admin
label: 行政区划
levels:
  - {key: district, label: 区县, kinds: [district, county]}
  - {key: street, label: 街道}
  - {key: community, label: 社区}
---
kind: form
name: register
label: 登记
free_fields: true
call_field: title
fields:
  - {name: caller_type, label: 诉求人类型, type: choice, options: {list: [个人, 企业]}, default: 个人}
  - {name: company, label: 企业名称, type: text, required: true, visible: "values.caller_type == '企业'"}
  - {name: phone, label: 联系电话, type: phone, caller: phone}
  - {name: id_card, label: 身份证号, type: idcard}
  - {name: title, label: 标题, type: text, max: 10, required: true}
  - {name: content, label: 诉求内容, type: longtext}
  - {name: days, label: 天数, type: number, integer: true, min: 1, max: 30}
  - {name: confidential, label: 是否保密, type: boolean, default: false}
  - {name: happened, label: 发生日期, type: date}
  - {name: at, label: 发生时间, type: datetime}
  - {name: address, label: 地址, type: address, division: admin}
  - {name: location, label: 位置, type: location}
  - {name: category, label: 归口分类, type: tree, options: {dictionary: category}, leaf_only: true}
  - {name: tags, label: 标签, type: multichoice, options: {list: [重复来电, 媒体关注, 群体诉求]}}
  - {name: files, label: 附件, type: attachment, multiple: true}
  - {name: unit, label: 承办单位, type: unit}
  - {name: summary, label: 摘要, type: text, compute: "(values.title ?? '') + '（' + values.caller_type + '）'"}
rules:
  - {rule: "'phone' in values || values.confidential", message: 非保密工单须留联系电话, field: phone}
`

func sampleForm(t *testing.T) *form.Form {
	t.Helper()
	set, msgs := load(t, sample)
	require.Empty(t, msgs)
	f, ok := registry.Model[*form.Form](set, form.Kind, "register")
	require.True(t, ok)
	return f
}

func TestCheckFieldTypes(t *testing.T) {
	f := sampleForm(t)
	base := func(extra map[string]any) map[string]any {
		in := map[string]any{"title": "暖气不热", "phone": "13804711234"}
		for k, v := range extra {
			in[k] = v
		}
		return in
	}
	tests := []struct {
		name  string
		in    map[string]any
		field string // the field of the first error; "" when valid
		msg   string
		check func(t *testing.T, v map[string]any)
	}{
		{name: "defaults and computed", in: base(nil), check: func(t *testing.T, v map[string]any) {
			assert.Equal(t, "个人", v["caller_type"])
			assert.Equal(t, false, v["confidential"])
			assert.Equal(t, "暖气不热（个人）", v["summary"])
		}},
		{name: "required", in: map[string]any{"phone": "13804711234"}, field: "title", msg: "标题: 必填"},
		{name: "text too long", in: base(map[string]any{"title": "一二三四五六七八九十一"}), field: "title", msg: "标题: 最多 10 字，现有 11 字"},
		{name: "text trimmed", in: base(map[string]any{"title": "  路灯  "}), check: func(t *testing.T, v map[string]any) { assert.Equal(t, "路灯", v["title"]) }},
		{name: "text of the wrong type", in: base(map[string]any{"title": 12}), field: "title", msg: "应为文字"},
		{name: "mobile normalised", in: base(map[string]any{"phone": "+86 138-0471-1234"}), check: func(t *testing.T, v map[string]any) { assert.Equal(t, "13804711234", v["phone"]) }},
		{name: "landline", in: base(map[string]any{"phone": "0471-6612345"}), check: func(t *testing.T, v map[string]any) { assert.Equal(t, "04716612345", v["phone"]) }},
		{name: "full-width digits", in: base(map[string]any{"phone": "１３８０４７１１２３４"}), check: func(t *testing.T, v map[string]any) { assert.Equal(t, "13804711234", v["phone"]) }},
		{name: "bad phone", in: base(map[string]any{"phone": "1380471"}), field: "phone", msg: "联系电话: 不是有效的手机号或固定电话"},
		{name: "service number is not a caller's phone", in: base(map[string]any{"phone": "12345"}), field: "phone", msg: "不是有效的手机号或固定电话"},
		{name: "id card", in: base(map[string]any{"id_card": "11010519491231002x"}), check: func(t *testing.T, v map[string]any) { assert.Equal(t, "11010519491231002X", v["id_card"]) }},
		{name: "id card bad check digit", in: base(map[string]any{"id_card": "110105194912310021"}), field: "id_card", msg: "身份证号: 不是有效的身份证号"},
		{name: "id card bad date", in: base(map[string]any{"id_card": "110105194902300024"}), field: "id_card", msg: "不是有效的身份证号"},
		{name: "number from text", in: base(map[string]any{"days": "3"}), check: func(t *testing.T, v map[string]any) { assert.Equal(t, 3.0, v["days"]) }},
		{name: "number not whole", in: base(map[string]any{"days": 2.5}), field: "days", msg: "天数: 应为整数"},
		{name: "number too big", in: base(map[string]any{"days": 31.0}), field: "days", msg: "天数: 不能大于 30"},
		{name: "boolean", in: base(map[string]any{"confidential": "是"}), field: "confidential", msg: "应为是或否"},
		{name: "date", in: base(map[string]any{"happened": "2026-02-30"}), field: "happened", msg: "应为日期"},
		{name: "datetime normalised", in: base(map[string]any{"at": "2026-03-02T09:30:00+08:00"}), check: func(t *testing.T, v map[string]any) { assert.Equal(t, "2026-03-02T09:30:00+08:00", v["at"]) }},
		{name: "datetime in the deployment's zone", in: base(map[string]any{"at": "2026-03-02T01:30:00Z"}), check: func(t *testing.T, v map[string]any) { assert.Equal(t, "2026-03-02T09:30:00+08:00", v["at"]) }},
		{name: "address from text", in: base(map[string]any{"address": " 新华大街 1 号 "}), check: func(t *testing.T, v map[string]any) {
			assert.Equal(t, map[string]any{"detail": "新华大街 1 号"}, v["address"])
		}},
		{name: "address street without district", in: base(map[string]any{"address": map[string]any{"street": "150105001", "detail": "x"}}), field: "address.district", msg: "选了街道须同时选区县"},
		{name: "address unknown part", in: base(map[string]any{"address": map[string]any{"city": "x"}}), field: "address.city", msg: "地址没有“city”一项"},
		{name: "location", in: base(map[string]any{"location": map[string]any{"lat": 40.84, "lng": 111.75}}), check: func(t *testing.T, v map[string]any) {
			assert.Equal(t, map[string]any{"lat": 40.84, "lng": 111.75}, v["location"])
		}},
		{name: "location out of range", in: base(map[string]any{"location": map[string]any{"lat": 140.0, "lng": 111.75}}), field: "location", msg: "经纬度"},
		{name: "tree leaf", in: base(map[string]any{"category": "0103"}), check: func(t *testing.T, v map[string]any) { assert.Equal(t, "0103", v["category"]) }},
		{name: "tree inner node refused", in: base(map[string]any{"category": "01"}), field: "category", msg: "请选择到最末一级（“城乡建设”下还有分类）"},
		{name: "tree unknown", in: base(map[string]any{"category": "0199"}), field: "category", msg: "“0199”不是可选项"},
		{name: "multichoice", in: base(map[string]any{"tags": []any{"重复来电", "媒体关注"}}), check: func(t *testing.T, v map[string]any) {
			assert.Equal(t, []any{"重复来电", "媒体关注"}, v["tags"])
		}},
		{name: "multichoice duplicate", in: base(map[string]any{"tags": []any{"重复来电", "重复来电"}}), field: "tags[1]", msg: "重复"},
		{name: "attachment id", in: base(map[string]any{"files": []any{"abc"}}), field: "files[0]", msg: "“abc”不是附件编号"},
		{name: "unknown field", in: base(map[string]any{"titel": "x"}), field: "titel", msg: "表单“登记”没有这个字段"},
		{name: "free fields", in: base(map[string]any{"extra": map[string]any{"楼号": "3 号楼"}}), check: func(t *testing.T, v map[string]any) {
			assert.Equal(t, map[string]any{"楼号": "3 号楼"}, v["extra"])
		}},
		{name: "hidden field dropped", in: base(map[string]any{"company": "某公司"}), check: func(t *testing.T, v map[string]any) { assert.NotContains(t, v, "company") }},
		{name: "visible field required", in: base(map[string]any{"caller_type": "企业"}), field: "company", msg: "企业名称: 必填"},
		{name: "computed value cannot be entered", in: base(map[string]any{"summary": "自己填的"}), check: func(t *testing.T, v map[string]any) { assert.Equal(t, "暖气不热（个人）", v["summary"]) }},
		{name: "cross-field rule", in: map[string]any{"title": "暖气不热"}, field: "phone", msg: "联系电话: 非保密工单须留联系电话"},
		{name: "cross-field rule satisfied otherwise", in: map[string]any{"title": "暖气不热", "confidential": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := f.Check(context.Background(), tt.in, form.Options{Now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)})
			if tt.field == "" {
				require.NoError(t, err)
				if tt.check != nil {
					tt.check(t, res.Values)
				}
				return
			}
			var es form.Errors
			require.ErrorAs(t, err, &es)
			assert.Equal(t, tt.field, es[0].Field)
			assert.Contains(t, es[0].Error(), tt.msg)
		})
	}
}

// Every problem is reported at once, in the order of the form: the
// required title too, beside the wrong values.
func TestCheckReportsEveryProblemInFormOrder(t *testing.T) {
	f := sampleForm(t)
	_, err := f.Check(context.Background(), map[string]any{"days": 0.0, "phone": "1", "id_card": "1"}, form.Options{})
	var es form.Errors
	require.ErrorAs(t, err, &es)
	var fields []string
	for _, e := range es {
		fields = append(fields, e.Field)
	}
	assert.Equal(t, []string{"phone", "id_card", "title", "days"}, fields)
}

// A draft keeps what was entered without the required fields, but what
// is there must be valid.
func TestPartialCheckForDrafts(t *testing.T) {
	f := sampleForm(t)
	res, err := f.Check(context.Background(), map[string]any{"content": "只说了一半"}, form.Options{Partial: true})
	require.NoError(t, err)
	assert.Equal(t, "只说了一半", res.Values["content"])
	_, err = f.Check(context.Background(), map[string]any{"phone": "x"}, form.Options{Partial: true})
	assert.ErrorContains(t, err, "联系电话")
}

// What Check accepts, it accepts again unchanged: the stored values are a
// fixed point, so re-saving a ticket never changes or refuses it.
func FuzzCheckIsIdempotent(f *testing.F) {
	set, diags := registry.Load(context.Background(), []string{"testdata"}, registry.LoadOptions{})
	if len(diags) > 0 {
		f.Fatal(diags)
	}
	fm, ok := registry.Model[*form.Form](set, form.Kind, "register")
	if !ok {
		f.Fatal("testdata/forms/register.yaml is missing")
	}
	for _, seed := range []string{
		`{"title":"暖气不热","phone":"+86 138 0471 1234"}`,
		`{"title":" x ","phone":"0471-6612345","days":"7","tags":["媒体关注"]}`,
		`{"title":"a","confidential":true,"address":"新华大街","caller_type":"企业","company":"某公司"}`,
		`{"title":"b","phone":"13804711234","extra":{"楼号":" 3 "},"location":{"lat":1,"lng":2}}`,
		`{"title":"c","phone":"13804711234","category":"0104","id_card":"11010519491231002x","at":"2026-03-02T09:30:00+08:00"}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, input string) {
		var in map[string]any
		if json.Unmarshal([]byte(input), &in) != nil {
			return
		}
		res, err := fm.Check(context.Background(), in, form.Options{})
		if err != nil {
			var es form.Errors
			if !assert.ErrorAs(t, err, &es) {
				return
			}
			for _, e := range es {
				assert.NotEmpty(t, e.Message)
			}
			return
		}
		// Through JSON, as the values are stored.
		b, err := json.Marshal(res.Values)
		require.NoError(t, err)
		var stored map[string]any
		require.NoError(t, json.Unmarshal(b, &stored))
		again, err := fm.Check(context.Background(), stored, form.Options{})
		require.NoError(t, err, "stored values %s", b)
		assert.Equal(t, stored, roundTrip(t, again.Values))
	})
}

func roundTrip(t *testing.T, v map[string]any) map[string]any {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

func TestTypeName(t *testing.T) {
	for in, want := range map[string]string{"ticket-register": "TicketRegister", "omni-intake": "OmniIntake", "callback_result": "CallbackResult",
		"reply": "Reply", "9x": "Form9x", "工单": "Form"} {
		assert.Equal(t, want, form.TypeName(in), in)
	}
}
