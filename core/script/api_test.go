package script

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The examples in API.md, kept honest.
func TestAPIExamples(t *testing.T) {
	e := NewEngine(Options{})
	normalize := compile(t, `
local PREFIX = "+86"

local function digits(s)
  return (string.gsub(s, "%D", ""))
end

function normalize(phone)
  local d = digits(phone)
  if not re.match("^1[3-9]\\d{9}$", d) then
    error("不是有效的手机号: " .. phone)
  end
  return PREFIX .. d
end`)
	res, err := e.Call(context.Background(), normalize, "normalize", "138-1234-5678")
	require.NoError(t, err)
	assert.Equal(t, "+8613812345678", res)
	_, err = e.Call(context.Background(), normalize, "normalize", "12345")
	var rerr *RuntimeError
	require.ErrorAs(t, err, &rerr)
	assert.Equal(t, "不是有效的手机号: 12345", rerr.Message)
	assert.Equal(t, 11, rerr.Pos.Line)

	appointment := compile(t, `
function check(form)
  local t, err = time.parse("2006-01-02 15:04", form.appointment, "Asia/Shanghai")
  if not t then error("预约时间格式不正确") end
  return time.format(t, "1月2日 15:04", "Asia/Shanghai")
end`)
	res, err = e.Call(context.Background(), appointment, "check", map[string]any{"appointment": "2030-03-05 14:30"})
	require.NoError(t, err)
	assert.Equal(t, "3月5日 14:30", res)

	res, err = e.Call(context.Background(), compile(t, `function f()
  local all, user, host = re.find("(\\w+)@(\\w+)", "a@b")
  return {
    re.match("^1[3-9]\\d{9}$", "13812345678"), re.find("\\d{6}", "邮编 100010"), all, user, host,
    str.len("热线12345"), #"热线12345", str.sub("市民热线服务", 3, 4), str.split("a,b,,c", ","),
    time.format(time.parse("2006-01-02", "2024-03-05", "UTC"), "2006年1月2日", "UTC"),
  }
end`), "f")
	require.NoError(t, err)
	assert.Equal(t, []any{
		true, "100010", "a@b", "a", "b",
		int64(7), int64(11), "热线", []any{"a", "b", "", "c"},
		"2024年3月5日",
	}, res)
}
