package form

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hotline12345/hotline/core/gql"
)

// Lookup answers what a check needs from the database: whether units,
// users and attachments exist. A nil Lookup skips those checks (lint, the
// UI's live check before the user has picked anything).
type Lookup interface {
	// Unit returns the parent code of the unit with the given code, and
	// whether it exists and is active.
	Unit(ctx context.Context, code string) (parent string, ok bool, err error)
	// User reports whether an active user has the username.
	User(ctx context.Context, username string) (bool, error)
	// Attachment reports whether an attachment with the id is stored.
	Attachment(ctx context.Context, id string) (bool, error)
}

// FieldError is a problem with one field's value.
type FieldError struct {
	Field   string `json:"field"`
	Label   string `json:"label"`
	Message string `json:"message"`
}

// Error reads "联系电话: 不是有效的手机号或固定电话".
func (e FieldError) Error() string { return e.Label + ": " + e.Message }

// Errors are the problems of one check, in field order.
type Errors []FieldError

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "；")
}

// Options tune a check.
type Options struct {
	// Require lists fields the caller needs on top of the form's own
	// required ones (a flow action's form.required).
	Require []string
	// Partial skips required checks: a draft (暂存) keeps whatever was
	// entered, but what is there must still be valid.
	Partial bool
	// Lookup checks references; nil skips them.
	Lookup Lookup
	Now    time.Time
}

// Result is a checked input: the values to store, and which fields the
// form hides for them. A failed check returns only Hidden: the fields the
// valid values hide (none whose condition reads a wrong value).
type Result struct {
	Values map[string]any
	Hidden []string
}

// limits that apply when a form sets none: what fits in a list cell, what a
// citizen says in a long call.
const (
	defaultTextMax     = 200
	defaultLongTextMax = 10000
	maxFreeFields      = 30
	maxFreeFieldLen    = 500
	maxListLen         = 100
)

// Check validates input against the form and returns the values to store:
// known fields only, normalised (trimmed text, phone numbers without
// separators, numbers as numbers), with defaults and computed values,
// without hidden fields. Every problem is returned in one pass, each at its
// field's path (title, address.district, attachments[2]): the wrong values,
// the references that do not exist, the required fields left empty and
// the cross-field rules, so a user fixes everything at once. What depends
// on a wrong value (a rule over it, a field it shows or hides, a value
// computed from it) cannot be judged and is left until it is fixed, rather
// than reported on a guess.
func (f *Form) Check(ctx context.Context, input map[string]any, opts Options) (Result, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	var errs Errors
	values := map[string]any{}
	// unknown are the fields whose value cannot be known: wrong, missing
	// though required, or computed from such a field.
	unknown := map[string]bool{}
	// partial holds the well-formed parts of wrong values (the other
	// items of a list, an address's other parts), which are still looked
	// up so their problems come in the same answer.
	partial := map[string]any{}
	for k, v := range input {
		if k == "extra" && f.FreeFields {
			extra, err := freeFields(v)
			if err != nil {
				errs = append(errs, FieldError{Field: "extra", Label: "个性输入", Message: err.Error()})
			} else if len(extra) > 0 {
				values["extra"] = extra
			}
			continue
		}
		fl, ok := f.fields[k]
		if !ok {
			errs = append(errs, FieldError{Field: k, Label: k, Message: fmt.Sprintf("表单“%s”没有这个字段", f.Label)})
			continue
		}
		if fl.Compute.Source != "" || empty(v) {
			continue
		}
		nv, ps := fl.check(v)
		if len(ps) > 0 {
			unknown[k] = true
			errs = append(errs, fl.errors(ps)...)
			if nv != nil {
				partial[k] = nv
			}
			continue
		}
		if nv != nil {
			values[k] = nv
		}
	}
	for i := range f.Fields {
		fl := &f.Fields[i]
		if _, ok := values[fl.Name]; !ok && !unknown[fl.Name] && fl.defaultValue != nil {
			values[fl.Name] = fl.defaultValue
		}
	}
	if opts.Lookup != nil {
		refs, err := f.references(ctx, values, partial, opts.Lookup)
		if err != nil {
			return Result{}, err
		}
		for _, e := range refs {
			unknown[baseName(e.Field)] = true
		}
		errs = append(errs, refs...)
	}
	envOf := func() Env { return Env{Values: values, Now: opts.Now} }
	for i := range f.Fields {
		fl := &f.Fields[i]
		if fl.Compute.Source == "" {
			continue
		}
		if f.dependsOn(fl.Compute, unknown) {
			delete(values, fl.Name)
			unknown[fl.Name] = true
			continue
		}
		v, err := f.programs[fl.Compute.Pos].Run(envOf())
		if err != nil {
			if len(errs) > 0 {
				// Values are missing because they are wrong; the
				// expression may not expect that.
				unknown[fl.Name] = true
				continue
			}
			return Result{}, fmt.Errorf("computing %s of form %s: %w", fl.Name, f.Name, err)
		}
		if empty(v) {
			delete(values, fl.Name)
		} else {
			values[fl.Name] = v
		}
	}
	var hidden []string
	undecided := map[string]bool{} // visibility hangs on a wrong value
	for i := range f.Fields {
		fl := &f.Fields[i]
		if fl.Visible.Source == "" {
			continue
		}
		if f.dependsOn(fl.Visible, unknown) {
			undecided[fl.Name] = true
			continue
		}
		ok, err := f.programs[fl.Visible.Pos].Bool(envOf())
		if err != nil {
			if len(errs) > 0 {
				undecided[fl.Name] = true
				continue
			}
			return Result{}, fmt.Errorf("visibility of %s in form %s: %w", fl.Name, f.Name, err)
		}
		if !ok {
			hidden = append(hidden, fl.Name)
		}
	}
	for _, name := range hidden {
		delete(values, name)
	}
	if !opts.Partial {
		for i := range f.Fields {
			fl := &f.Fields[i]
			required := fl.Required || slices.Contains(opts.Require, fl.Name)
			if !required || slices.Contains(hidden, fl.Name) || undecided[fl.Name] || unknown[fl.Name] || fl.Compute.Source != "" {
				continue
			}
			if _, ok := values[fl.Name]; !ok {
				errs = append(errs, FieldError{Field: fl.Name, Label: fl.Label, Message: "必填"})
				// Rules may take a required field for granted.
				unknown[fl.Name] = true
			}
		}
		for _, r := range f.Rules {
			if f.dependsOn(r.Rule, unknown) {
				continue
			}
			ok, err := f.programs[r.Rule.Pos].Bool(envOf())
			if err != nil {
				if len(errs) > 0 {
					continue
				}
				return Result{}, fmt.Errorf("rule %q of form %s: %w", r.Rule.Source, f.Name, err)
			}
			if !ok {
				fe := FieldError{Field: r.Field, Label: f.Label, Message: r.Message}
				if fl, ok := f.fields[r.Field]; ok {
					fe.Label = fl.Label
				}
				errs = append(errs, fe)
			}
		}
	}
	if len(errs) > 0 {
		// The fields hidden for the values that are right come back with
		// the problems, for a form shown while it is being filled in.
		return Result{Hidden: hidden}, f.sorted(errs)
	}
	return Result{Values: values, Hidden: hidden}, nil
}

// errors are a field's problems as FieldErrors at their paths.
func (fl *Field) errors(ps problems) Errors {
	out := make(Errors, len(ps))
	for i, p := range ps {
		out[i] = FieldError{Field: fl.Name + p.at, Label: fl.Label, Message: p.msg}
	}
	return out
}

// baseName is the field a path starts with: address for address.district,
// attachments for attachments[2].
func baseName(path string) string {
	if i := strings.IndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return path
}

// itemIndex is n for a path ending in [n] right after its field, or -1.
func itemIndex(path string) int {
	rest := strings.TrimPrefix(path, baseName(path))
	if !strings.HasPrefix(rest, "[") || !strings.HasSuffix(rest, "]") {
		return -1
	}
	n, err := strconv.Atoi(rest[1 : len(rest)-1])
	if err != nil {
		return -1
	}
	return n
}

// sorted puts errors in the order of the form's fields, and a list's in
// the order of its items, so the first one is the first the user sees.
func (f *Form) sorted(errs Errors) Errors {
	order := func(name string) int {
		for i, fl := range f.Fields {
			if fl.Name == name {
				return i
			}
		}
		return len(f.Fields)
	}
	slices.SortStableFunc(errs, func(a, b FieldError) int {
		if d := order(baseName(a.Field)) - order(baseName(b.Field)); d != 0 {
			return d
		}
		return itemIndex(a.Field) - itemIndex(b.Field)
	})
	return errs
}

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

func freeFields(v any) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("应为“名称: 内容”的集合")
	}
	if len(m) > maxFreeFields {
		return nil, fmt.Errorf("最多 %d 项", maxFreeFields)
	}
	out := map[string]any{}
	for k, v := range m {
		s, ok := v.(string)
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("“%s”应为文字", k)
		}
		if utf8.RuneCountInString(k) > 50 || utf8.RuneCountInString(s) > maxFreeFieldLen {
			return nil, fmt.Errorf("“%s”过长（名称最多 50 字，内容最多 %d 字）", k, maxFreeFieldLen)
		}
		if s = strings.TrimSpace(s); s != "" {
			out[k] = s
		}
	}
	return out, nil
}

var (
	mobile   = regexp.MustCompile(`^1[3-9]\d{9}$`)
	landline = regexp.MustCompile(`^0\d{2,3}[2-9]\d{6,7}$`)
	// A local number without its area code: which area it is in is the
	// centre's to say (scripts/phone.lua adds it).
	local    = regexp.MustCompile(`^[2-9]\d{6,7}$`)
	dateOnly = "2006-01-02"
)

// problem is one thing wrong with a field's value; at is where below the
// field ("" for the value as a whole, ".district", "[2]").
type problem struct{ at, msg string }

// problems are what is wrong with one value, in the order found.
type problems []problem

func (ps problems) Error() string {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.msg
	}
	return strings.Join(msgs, "；")
}

func wrong(format string, args ...any) problems {
	return problems{{msg: fmt.Sprintf(format, args...)}}
}

// normalize checks one non-empty value against the field's type and
// returns it in the form it is stored.
func (fl *Field) normalize(v any) (any, error) {
	out, ps := fl.check(v)
	if len(ps) > 0 {
		return nil, ps
	}
	return out, nil
}

// check is normalize with every problem of the value. A list or an
// address with problems in some items or parts also comes back with the
// well-formed rest (nil in a list where an item is wrong), so that the
// rest can still be looked up.
func (fl *Field) check(v any) (any, problems) {
	switch fl.Type {
	case Text, LongText:
		s, ok := v.(string)
		if !ok {
			return nil, wrong("应为文字")
		}
		s = strings.TrimSpace(s)
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			return nil, wrong("含有无效字符")
		}
		n := utf8.RuneCountInString(s)
		max := float64(defaultTextMax)
		if fl.Type == LongText {
			max = defaultLongTextMax
		}
		if fl.Max != nil {
			max = *fl.Max
		}
		if float64(n) > max {
			return nil, wrong("最多 %v 字，现有 %d 字", max, n)
		}
		if fl.Min != nil && float64(n) < *fl.Min {
			return nil, wrong("至少 %v 字", *fl.Min)
		}
		if fl.pattern != nil && !fl.pattern.MatchString(s) {
			if fl.PatternMessage != "" {
				return nil, wrong("%s", fl.PatternMessage)
			}
			return nil, wrong("格式不正确")
		}
		return s, nil
	case RichText:
		s, ok := v.(string)
		if !ok {
			return nil, wrong("应为文字")
		}
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			return nil, wrong("含有无效字符")
		}
		// Unsafe markup is removed here, before anything is stored.
		s = SanitizeHTML(s)
		max := float64(defaultRichTextMax)
		if fl.Max != nil {
			max = *fl.Max
		}
		if n := utf8.RuneCountInString(s); float64(n) > max {
			return nil, wrong("内容过长：最多 %v 字符，现有 %d 字符", max, n)
		}
		if fl.Min != nil && float64(utf8.RuneCountInString(PlainText(s))) < *fl.Min {
			return nil, wrong("正文至少 %v 字", *fl.Min)
		}
		return s, nil
	case Number:
		var n float64
		switch x := v.(type) {
		case float64:
			n = x
		case int:
			n = float64(x)
		case int64:
			n = float64(x)
		case string:
			p, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil {
				return nil, wrong("应为数字")
			}
			n = p
		default:
			return nil, wrong("应为数字")
		}
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return nil, wrong("应为数字")
		}
		if fl.Integer && n != math.Trunc(n) {
			return nil, wrong("应为整数")
		}
		if fl.Min != nil && n < *fl.Min {
			return nil, wrong("不能小于 %v", *fl.Min)
		}
		if fl.Max != nil && n > *fl.Max {
			return nil, wrong("不能大于 %v", *fl.Max)
		}
		return n, nil
	case Boolean:
		b, ok := v.(bool)
		if !ok {
			return nil, wrong("应为是或否")
		}
		return b, nil
	case Date, DateTime:
		s, ok := v.(string)
		if !ok {
			return nil, wrong("应为日期")
		}
		s = strings.TrimSpace(s)
		if fl.Type == Date {
			t, err := time.Parse(dateOnly, s)
			if err != nil {
				return nil, wrong("应为日期，如 2026-03-02")
			}
			return t.Format(dateOnly), nil
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return nil, wrong("应为日期时间，如 2026-03-02T09:30:00+08:00")
		}
		// Stored as the API writes times (gql.Time): in the deployment's
		// zone, whatever offset it was entered with.
		return t.In(gql.Zone()).Format(time.RFC3339), nil
	case Phone:
		s, ok := v.(string)
		if !ok {
			return nil, wrong("应为电话号码")
		}
		p := NormalizePhone(s)
		if !mobile.MatchString(p) && !landline.MatchString(p) && !local.MatchString(p) {
			return nil, wrong("不是有效的手机号或固定电话")
		}
		return p, nil
	case IDCard:
		s, ok := v.(string)
		if !ok {
			return nil, wrong("应为身份证号")
		}
		s = strings.ToUpper(strings.TrimSpace(s))
		if !ValidIDCard(s) {
			return nil, wrong("不是有效的身份证号")
		}
		return s, nil
	case Address:
		return fl.division.normalize(v)
	case Location:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, wrong("应为经纬度 {lat, lng}")
		}
		lat, ok1 := m["lat"].(float64)
		lng, ok2 := m["lng"].(float64)
		if !ok1 || !ok2 || len(m) != 2 || lat < -90 || lat > 90 || lng < -180 || lng > 180 {
			return nil, wrong("应为有效的经纬度 {lat, lng}")
		}
		return map[string]any{"lat": lat, "lng": lng}, nil
	case Choice, Tree:
		s, ok := v.(string)
		if !ok {
			return nil, wrong("应为一个选项")
		}
		it, ok := fl.index[s]
		if !ok {
			return nil, wrong("“%s”不是可选项", s)
		}
		if fl.LeafOnly && len(it.Children) > 0 {
			return nil, wrong("请选择到最末一级（“%s”下还有分类）", it.Text())
		}
		return s, nil
	case MultiChoice:
		list, ps := stringList(v)
		if list == nil {
			return nil, ps
		}
		for i, s := range list {
			if s == nil {
				continue
			}
			if _, ok := fl.index[s.(string)]; !ok {
				ps = append(ps, problem{itemAt(i), fmt.Sprintf("“%s”不是可选项", s)})
				list[i] = nil
			}
		}
		return list, ps.inOrder()
	case Attachment, Person, Unit:
		var list []any
		var ps problems
		if fl.Multiple {
			list, ps = stringList(v)
			if list == nil {
				return nil, ps
			}
		} else {
			s, ok := v.(string)
			if !ok {
				return nil, wrong("应为一项")
			}
			list = []any{strings.TrimSpace(s)}
		}
		for i, x := range list {
			if x == nil {
				continue
			}
			s := x.(string)
			var msg string
			switch {
			case fl.Type == Attachment && !attachmentID.MatchString(s):
				msg = fmt.Sprintf("“%s”不是附件编号", s)
			case s == "" || utf8.RuneCountInString(s) > 100:
				msg = fmt.Sprintf("“%s”无效", s)
			default:
				continue
			}
			if !fl.Multiple {
				return nil, problems{{msg: msg}}
			}
			ps = append(ps, problem{itemAt(i), msg})
			list[i] = nil
		}
		if fl.Multiple {
			return list, ps.inOrder()
		}
		return list[0], nil
	}
	return nil, wrong("未知字段类型 %s", fl.Type)
}

// attachmentID is the content address of a stored attachment: a SHA-256.
var attachmentID = regexp.MustCompile(`^[0-9a-f]{64}$`)

func itemAt(i int) string { return "[" + strconv.Itoa(i) + "]" }

// inOrder sorts a list's problems by item; nil when there are none.
func (ps problems) inOrder() problems {
	if len(ps) == 0 {
		return nil
	}
	slices.SortStableFunc(ps, func(a, b problem) int { return itemIndex(a.at) - itemIndex(b.at) })
	return ps
}

// stringList reads a list of distinct texts, trimmed. A list that is not
// one, or too long, is nil with its problem; otherwise each item that is
// not a text, or repeats an earlier one, is nil in the list and a problem
// at its index.
func stringList(v any) ([]any, problems) {
	raw, ok := v.([]any)
	if !ok {
		return nil, wrong("应为列表")
	}
	if len(raw) > maxListLen {
		return nil, wrong("最多 %d 项", maxListLen)
	}
	out := make([]any, len(raw))
	var ps problems
	seen := map[string]bool{}
	for i, x := range raw {
		s, ok := x.(string)
		if !ok {
			ps = append(ps, problem{itemAt(i), "列表中应为文字"})
			continue
		}
		s = strings.TrimSpace(s)
		if seen[s] {
			ps = append(ps, problem{itemAt(i), fmt.Sprintf("“%s”重复", s)})
			continue
		}
		seen[s] = true
		out[i] = s
	}
	return out, ps
}

// references checks that the units, users and attachments values name
// exist, and that each unit of an address lies in the unit of the level
// above (a street in its district); partial holds the well-formed parts of wrong
// values, checked too. Each problem is at its path (attachments[2],
// address.street); a failing lookup is an error, not the user's.
func (f *Form) references(ctx context.Context, values, partial map[string]any, l Lookup) (Errors, error) {
	var errs Errors
	add := func(fl *Field, at, format string, args ...any) {
		errs = append(errs, FieldError{Field: fl.Name + at, Label: fl.Label, Message: fmt.Sprintf(format, args...)})
	}
	for i := range f.Fields {
		fl := &f.Fields[i]
		v, ok := values[fl.Name]
		if !ok {
			if v, ok = partial[fl.Name]; !ok {
				continue
			}
		}
		type ref struct{ at, name string }
		var names []ref
		switch x := v.(type) {
		case string:
			names = []ref{{"", x}}
		case []any:
			for j, s := range x {
				if s, ok := s.(string); ok {
					names = append(names, ref{itemAt(j), s})
				}
			}
		}
		switch fl.Type {
		case Unit:
			for _, r := range names {
				_, ok, err := l.Unit(ctx, r.name)
				if err != nil {
					return nil, fmt.Errorf("looking up unit %s for %s: %w", r.name, fl.Name, err)
				}
				if !ok {
					add(fl, r.at, "单位“%s”不存在或已停用", r.name)
				}
			}
		case Person:
			for _, r := range names {
				ok, err := l.User(ctx, r.name)
				if err != nil {
					return nil, fmt.Errorf("looking up user %s for %s: %w", r.name, fl.Name, err)
				}
				if !ok {
					add(fl, r.at, "用户“%s”不存在或已停用", r.name)
				}
			}
		case Attachment:
			for _, r := range names {
				ok, err := l.Attachment(ctx, r.name)
				if err != nil {
					return nil, fmt.Errorf("looking up attachment %s for %s: %w", r.name, fl.Name, err)
				}
				if !ok {
					add(fl, r.at, "附件 %s 不存在，请重新上传", r.name[:12])
				}
			}
		case Address:
			m, _ := v.(map[string]any)
			parent := ""
			for _, level := range fl.division.Keys() {
				code, ok := m[level].(string)
				if !ok {
					break
				}
				p, ok, err := l.Unit(ctx, code)
				if err != nil {
					return nil, fmt.Errorf("looking up unit %s for %s: %w", code, fl.Name, err)
				}
				if !ok {
					add(fl, "."+level, "地址中的单位“%s”不存在", code)
					break
				}
				if parent != "" && p != parent {
					add(fl, "."+level, "地址中“%s”不属于上一级所选单位", code)
					break
				}
				parent = code
			}
		}
	}
	return errs, nil
}

// NormalizePhone removes separators and the country code from a phone
// number as people write it: "+86 138-0471-1234" → "13804711234".
func NormalizePhone(s string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '０' && r <= '９':
			b.WriteRune('0' + (r - '０'))
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '+' || r == '（' || r == '）' || r == '—':
		default:
			return s // not a phone number; left for the check to refuse
		}
	}
	p := b.String()
	if strings.HasPrefix(p, "0086") {
		p = p[4:]
	} else if strings.HasPrefix(p, "86") && len(p) == 13 {
		p = p[2:]
	}
	return p
}

// ValidIDCard checks a mainland resident identity card number (GB 11643):
// 18 characters with a valid birth date and check digit.
func ValidIDCard(s string) bool {
	if len(s) != 18 {
		return false
	}
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 17; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		sum += int(s[i]-'0') * weights[i]
	}
	if _, err := time.Parse("20060102", s[6:14]); err != nil {
		return false
	}
	return s[17] == "10X98765432"[sum%11]
}
