package form_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/form"
	"github.com/hotline12345/hotline/core/gql"
)

// fakeLookup is a unit tree of one district with a street and a
// community, a second district, and two stored attachments.
type fakeLookup struct{}

var fakeUnits = map[string]string{"150105": "1501", "150102": "1501", "150105001": "150105", "150105001001": "150105001"}

var (
	storedA = strings.Repeat("a", 64)
	storedB = strings.Repeat("b", 64)
	missing = strings.Repeat("c", 64)
)

func (fakeLookup) Unit(_ context.Context, code string) (string, bool, error) {
	p, ok := fakeUnits[code]
	return p, ok, nil
}

func (fakeLookup) User(_ context.Context, u string) (bool, error) { return u == "clerk", nil }

func (fakeLookup) Attachment(_ context.Context, id string) (bool, error) {
	return id == storedA || id == storedB, nil
}

type problem struct{ Field, Message string }

func problemsOf(t *testing.T, err error) []problem {
	t.Helper()
	if err == nil {
		return nil
	}
	var es form.Errors
	require.ErrorAs(t, err, &es)
	out := []problem{}
	for _, e := range es {
		out = append(out, problem{e.Field, e.Message})
	}
	return out
}

// One check reports every problem of an input, each at its field's path
// (address.district, files[2]), in the order of the form: a user fixes
// them all in one go instead of one per submit.
func TestCheckReportsEveryProblemAtOnce(t *testing.T) {
	f := sampleForm(t)
	okPhone := "13804711234"
	tests := []struct {
		name string
		in   map[string]any
		want []problem
	}{
		{"bad phone, empty title and an unknown district",
			map[string]any{"phone": "1380471", "title": "  ", "address": map[string]any{"district": "150199", "detail": "新华大街 1 号"}},
			[]problem{{"phone", "不是有效的手机号或固定电话"}, {"title", "必填"}, {"address.district", "地址中的单位“150199”不存在"}}},
		{"type errors beside a missing required field",
			map[string]any{"phone": okPhone, "days": "三", "confidential": "否"},
			[]problem{{"title", "必填"}, {"days", "应为数字"}, {"confidential", "应为是或否"}}},
		{"a bad value and an unknown unit",
			map[string]any{"title": "路灯不亮", "phone": okPhone, "happened": "2026-02-30", "unit": "999"},
			[]problem{{"happened", "应为日期，如 2026-03-02"}, {"unit", "单位“999”不存在或已停用"}}},
		{"list items by index, the malformed and the unknown",
			map[string]any{"title": "路灯不亮", "phone": okPhone, "files": []any{storedA, "abc", missing, storedB}},
			[]problem{{"files[1]", "“abc”不是附件编号"}, {"files[2]", "附件 " + missing[:12] + " 不存在，请重新上传"}}},
		{"choices in a list by index",
			map[string]any{"title": "路灯不亮", "phone": okPhone, "tags": []any{"重复来电", "未知", "重复来电"}},
			[]problem{{"tags[1]", "“未知”不是可选项"}, {"tags[2]", "“重复来电”重复"}}},
		{"address parts by name",
			map[string]any{"title": "路灯不亮", "phone": okPhone, "address": map[string]any{"street": "150105001", "city": "呼和浩特"}},
			[]problem{{"address.city", "地址没有“city”一项（可填 district、street、community、detail）"}, {"address.district", "选了街道须同时选区县"}}},
		{"a street outside its district",
			map[string]any{"title": "路灯不亮", "phone": okPhone, "address": map[string]any{"district": "150102", "street": "150105001"}},
			[]problem{{"address.street", "地址中“150105001”不属于上一级所选单位"}}},
		{"a cross-field rule whose inputs are valid, beside other problems",
			map[string]any{"title": "一二三四五六七八九十一", "id_card": "1"},
			[]problem{{"phone", "非保密工单须留联系电话"}, {"id_card", "不是有效的身份证号"}, {"title", "最多 10 字，现有 11 字"}}},
		{"a rule is not judged on a value that is itself wrong",
			map[string]any{"title": "路灯不亮", "phone": "1"},
			[]problem{{"phone", "不是有效的手机号或固定电话"}}},
		{"a field shown by a valid choice is required beside other problems",
			map[string]any{"caller_type": "企业", "title": "路灯不亮", "phone": "1"},
			[]problem{{"company", "必填"}, {"phone", "不是有效的手机号或固定电话"}}},
		{"a field whose visibility hangs on a wrong value is not called required",
			map[string]any{"caller_type": "法人", "title": "路灯不亮", "phone": okPhone},
			[]problem{{"caller_type", "“法人”不是可选项"}}},
		{"unknown fields beside wrong ones",
			map[string]any{"titel": "路灯", "phone": "x"},
			[]problem{{"phone", "不是有效的手机号或固定电话"}, {"title", "必填"}, {"titel", "表单“登记”没有这个字段"}}},
		{"valid", map[string]any{"title": "路灯不亮", "phone": okPhone, "files": []any{storedA},
			"address": map[string]any{"district": "150105", "street": "150105001", "community": "150105001001"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.Check(context.Background(), tt.in, form.Options{Lookup: fakeLookup{}, Now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)})
			assert.Equal(t, tt.want, problemsOf(t, err))
		})
	}
}

// A failing lookup is the server's trouble, not the user's input.
func TestCheckLookupFailureIsNotAFieldError(t *testing.T) {
	f := sampleForm(t)
	_, err := f.Check(context.Background(), map[string]any{"title": "路灯", "phone": "13804711234", "unit": "150105"},
		form.Options{Lookup: brokenLookup{}})
	require.Error(t, err)
	var es form.Errors
	assert.False(t, errors.As(err, &es), "a database failure reported as %v", err)
}

type brokenLookup struct{ fakeLookup }

func (brokenLookup) Unit(context.Context, string) (string, bool, error) {
	return "", false, errors.New("connection reset")
}

// The GraphQL error carries every problem, each with its path under the
// argument, and the message names them all.
func TestAsGraphQLCarriesEveryProblem(t *testing.T) {
	f := sampleForm(t)
	_, err := f.Check(context.Background(), map[string]any{"phone": "1380471", "title": "", "address": map[string]any{"district": "150199"}},
		form.Options{Lookup: fakeLookup{}})
	ge, ok := gql.AsError(form.AsGraphQL(err, "input"))
	require.True(t, ok)
	assert.Equal(t, gql.BadUserInput, ge.Code)
	assert.Equal(t, "input.phone", ge.Field)
	assert.Equal(t, "联系电话: 不是有效的手机号或固定电话；标题: 必填；地址: 地址中的单位“150199”不存在", ge.Message)
	b, err := json.Marshal(ge.Extensions())
	require.NoError(t, err)
	var ext struct {
		Field  string `json:"field"`
		Errors []struct {
			Field, Label, Message string
		} `json:"errors"`
	}
	require.NoError(t, json.Unmarshal(b, &ext))
	assert.Equal(t, "input.phone", ext.Field)
	var got []string
	for _, e := range ext.Errors {
		got = append(got, e.Field+" "+e.Label+" "+e.Message)
	}
	assert.Equal(t, []string{"input.phone 联系电话 不是有效的手机号或固定电话", "input.title 标题 必填", "input.address.district 地址 地址中的单位“150199”不存在"}, got)
}
