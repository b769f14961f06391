package script

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// evalAll returns the value of each Lua expression, each in its own call.
func evalAll(t *testing.T, exprs map[string]string) map[string]any {
	t.Helper()
	// Some cases loop 1e5 times, slow under the race detector.
	e := NewEngine(Options{TimeBudget: 20 * time.Second})
	out := map[string]any{}
	for name, expr := range exprs {
		res, err := e.Call(context.Background(), compile(t, "function f() return "+expr+" end"), "f")
		require.NoError(t, err, name)
		out[name] = res
	}
	return out
}

func TestModules(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	ts := time.Date(2024, 3, 5, 14, 30, 0, 0, loc)

	tests := map[string]struct {
		expr string
		want any
	}{
		"json.encode object":    {`json.encode({title = "停电", n = 2, tags = {"a", "<b>"}})`, `{"n":2,"tags":["a","<b>"],"title":"停电"}`},
		"json.encode empty":     {`json.encode({})`, `{}`},
		"json.encode scalar":    {`json.encode("x\n")`, `"x\n"`},
		"json.decode":           {`json.decode('{"a":[1,2.5,"三",null,true],"b":null}')`, map[string]any{"a": map[string]any{"1": int64(1), "2": 2.5, "3": "三", "5": true}}},
		"json.decode array":     {`json.decode('[1,2]')[2]`, int64(2)},
		"json.decode null":      {`json.decode('null')`, nil},
		"json.decode error":     {`select(2, json.decode('{"a":'))`, "json.decode: unexpected EOF"},
		"json.decode trailing":  {`select(2, json.decode('1 2'))`, "json.decode: unexpected data after the JSON value"},
		"json round trip":       {`json.decode(json.encode({x = {1, {y = "二"}}})).x[2].y`, "二"},
		"time.now":              {`time.now() > 1.7e9`, true},
		"time.format":           {`time.format(` + strconv.FormatInt(ts.Unix(), 10) + `, "2006-01-02 15:04", "Asia/Shanghai")`, "2024-03-05 14:30"},
		"time.format default":   {`time.format(0, nil, "UTC")`, "1970-01-01T00:00:00Z"},
		"time.parse":            {`time.parse("2006-01-02 15:04", "2024-03-05 14:30", "Asia/Shanghai")`, ts.Unix()},
		"time.parse fraction":   {`time.parse("2006-01-02T15:04:05Z07:00", "1970-01-01T00:00:01.5Z")`, 1.5},
		"time.parse error":      {`select(2, time.parse("2006-01-02", "2024-13-01"))`, `time.parse: parsing time "2024-13-01": month out of range`},
		"time round trip":       {`time.format(time.parse("2006-01-02", "2024-02-29", "UTC"), "Jan 2", "UTC")`, "Feb 29"},
		"re.match":              {`re.match("^1[3-9]\\d{9}$", "13812345678")`, true},
		"re.match no":           {`re.match("^1[3-9]\\d{9}$", "12345")`, false},
		"re.find":               {`re.find("\\d+", "工单 号 12345 号")`, "12345"},
		"re.find none":          {`re.find("\\d+", "无")`, nil},
		"re.find captures":      {`{re.find("(\\w+)@(\\w+)(x)?", "mail: a@b")}`, []any{"a@b", "a", "b"}},
		"re.find unicode class": {`re.find("\\p{Han}+", "abc中文def")`, "中文"},
		"str.trim":              {"str.trim('　 市民 \\t\\n')", "市民"},
		"str.split":             {`str.split("a,b,,c", ",")`, []any{"a", "b", "", "c"}},
		"str.split runes":       {`str.split("工单号", "")`, []any{"工", "单", "号"}},
		"str.contains":          {`str.contains("市民热线", "热线")`, true},
		"str.has_prefix":        {`str.has_prefix("12345热线", "12345")`, true},
		"str.has_suffix":        {`str.has_suffix("12345热线", "12345")`, false},
		"str.len":               {`{str.len("热线12345"), #"热线12345"}`, []any{int64(7), int64(11)}},
		"str.sub":               {`str.sub("市民热线服务", 3, 4)`, "热线"},
		"str.sub negative":      {`str.sub("市民热线服务", -2)`, "服务"},
		"str.sub out of range":  {`{str.sub("市民", 5), str.sub("市民", 0, 10), str.sub("市民", 2, 1)}`, []any{"", "市民", ""}},
	}
	exprs := map[string]string{}
	for name, tt := range tests {
		exprs[name] = tt.expr
	}
	got := evalAll(t, exprs)
	for name, tt := range tests {
		assert.Equal(t, tt.want, got[name], name)
	}
}

func TestModuleErrors(t *testing.T) {
	for name, body := range map[string]string{
		"bad regexp":        `re.match("(", "x")`,
		"unknown zone":      `time.format(0, "2006", "Mars/Olympus")`,
		"encode function":   `json.encode({f = print})`,
		"encode cycle":      `local t = {} t[1] = t json.encode(t)`,
		"encode NaN":        `json.encode(0/0)`,
		"split without sep": `str.split("abc")`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := call(t, Options{}, "function f()\n"+body+"\nend", "f")
			var rerr *RuntimeError
			require.ErrorAs(t, err, &rerr)
			assert.Equal(t, 2, rerr.Pos.Line)
		})
	}
}

// The replaced string functions keep Lua 5.1 behaviour.
func TestStringLibrary(t *testing.T) {
	tests := map[string]struct {
		expr string
		want any
	}{
		"gsub string":          {`{("hello world"):gsub("o", "0")}`, []any{"hell0 w0rld", int64(2)}},
		"gsub limit":           {`{("aaa"):gsub("a", "b", 2)}`, []any{"bba", int64(2)}},
		"gsub captures":        {`(string.gsub("hello world", "(%w+)", "<%1>"))`, "<hello> <world>"},
		"gsub swap":            {`(string.gsub("hello world", "(%w+) (%w+)", "%2 %1"))`, "world hello"},
		"gsub whole match":     {`(string.gsub("abc", "%w", "%0%0"))`, "aabbcc"},
		"gsub percent":         {`(string.gsub("50", "%d+", "%0%%"))`, "50%"},
		"gsub empty pattern":   {`{("abc"):gsub("", "-")}`, []any{"-a-b-c-", int64(4)}},
		"gsub star":            {`{("abc"):gsub("%w*", "x")}`, []any{"xx", int64(2)}},
		"gsub anchored":        {`{("aaa"):gsub("^a", "b")}`, []any{"baa", int64(1)}},
		"gsub function":        {`(string.gsub("$name is $age", "%$(%w+)", function(k) return ({name = "张三", age = 30})[k] end))`, "张三 is 30"},
		"gsub function nil":    {`(string.gsub("a b", "%w", function() return nil end))`, "a b"},
		"gsub table":           {`(string.gsub("$x $y", "%$(%w+)", {x = "1"}))`, "1 $y"},
		"gsub position":        {`(string.gsub("abc", "()b", "%1"))`, "a2c"},
		"gsub chinese":         {`(string.gsub("工单：１２３", "：", ":"))`, "工单:１２３"},
		"gsub many matches":    {`select(2, string.gsub(string.rep("a b ", 1e5), "%s", "_"))`, int64(2e5)},
		"gmatch":               {`(function() local t = {} for w in string.gmatch("one two three", "%a+") do t[#t+1] = w end return t end)()`, []any{"one", "two", "three"}},
		"gmatch captures":      {`(function() local t = {} for k, v in ("a=1, b=2"):gmatch("(%w+)=(%w+)") do t[k] = v end return t end)()`, map[string]any{"a": "1", "b": "2"}},
		"gmatch many":          {`(function() local n = 0 for _ in string.rep("x", 1000):gmatch(".") do n = n + 1 end return n end)()`, int64(1000)},
		"format":               {`string.format("%5.2f|%-3d|%s|%q|%x|%%", 3.14159, 7, "工单", "a\n", 255)`, " 3.14|7  |工单|\"a\\n\"|ff|%"},
		"concat":               {`table.concat({1, "二", 3.5}, ", ")`, "1, 二, 3.5"},
		"concat range":         {`table.concat({"a", "b", "c", "d"}, "", 2, 3)`, "bc"},
		"concat empty":         {`table.concat({})`, ""},
		"concat large":         {`#table.concat((function() local t = {} for i = 1, 1e5 do t[i] = "ab" end return t end)())`, int64(2e5)},
		"rep":                  {`string.rep("工", 3)`, "工工工"},
		"rep zero":             {`string.rep("x", 0)`, ""},
		"method call":          {`("Hello"):upper()`, "HELLO"},
		"find plain":           {`string.find("a.b", ".", 1, true)`, int64(2)},
		"match":                {`string.match("ticket 42", "%d+")`, "42"},
		"sub bytes":            {`#string.sub("工单", 1, 3)`, int64(3)},
		"math":                 {`{math.floor(2.7), math.max(1, 5), math.random(1, 1)}`, []any{int64(2), int64(5), int64(1)}},
		"pairs over libraries": {`next(string)`, nil},
	}
	exprs := map[string]string{}
	for name, tt := range tests {
		exprs[name] = tt.expr
	}
	got := evalAll(t, exprs)
	for name, tt := range tests {
		assert.Equal(t, tt.want, got[name], name)
	}
}

func TestStringLibraryErrors(t *testing.T) {
	for name, body := range map[string]string{
		"format width too long": `string.format("%100d", 1)`,
		"format star width":     `string.format("%*d", 1000000, 1)`,
		"format arg index":      `string.format("%[1]d", 1)`,
		"format unknown verb":   `string.format("%v", 1)`,
		"format trailing %":     `string.format("abc%")`,
		"concat nil hole":       `table.concat({1, nil, 3}, ",", 1, 3)`,
		"concat table value":    `table.concat({{}})`,
		"gsub bad repl":         `string.gsub("a", "a", true)`,
		"gsub bad repl value":   `string.gsub("a", "a", {a = {}})`,
		"gsub bad capture":      `string.gsub("a", "a", "%2")`,
		"gsub bad pattern":      `string.gsub("a", "(a", "b")`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := call(t, Options{}, "function f()\n"+body+"\nend", "f")
			var rerr *RuntimeError
			require.ErrorAs(t, err, &rerr)
			assert.Equal(t, 2, rerr.Pos.Line)
		})
	}
}
