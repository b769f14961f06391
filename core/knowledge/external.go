package knowledge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/form"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/registry"
)

// External is the JSON format in which knowledge from another knowledge
// base is imported (D-1: the government-service knowledge base):
//
//	{"source": "内蒙古政务服务知识库",
//	 "articles": [{"id": "zw-10086", "fields": {"title": "…", "body": "<p>…</p>",
//	   "keywords": ["社保卡", "补办"], "topic": "社会保障/社保卡", "kind": "办事指南",
//	   "dept": "呼和浩特市人力资源和社会保障局", "effective_from": "2026-01-01"}}]}
//
// fields are the article form's fields by name, written as in the XLSX
// import (option labels or tree paths, unit names or codes, lists for
// keywords). An article is known again by source and id: imported again
// with other content it is revised, unchanged it is left alone.
type External struct {
	Source   string            `json:"source"`
	Articles []ExternalArticle `json:"articles"`
}

// ExternalArticle is one article of an External file.
type ExternalArticle struct {
	ID     string         `json:"id"`
	Fields map[string]any `json:"fields"`
}

// ImportExternal imports an External file as p. Problems name the article
// (its position and id) and the field.
func (s *Service) ImportExternal(ctx context.Context, p *identity.Principal, r io.Reader, opts ImportOptions) (ImportResult, error) {
	res := ImportResult{IDs: []int64{}, Problems: []ImportProblem{}}
	var ext External
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ext); err != nil {
		return res, gql.FieldError("file", "不是约定格式的 JSON：%v", err)
	}
	if strings.TrimSpace(ext.Source) == "" {
		return res, gql.FieldError("source", "请写明知识的来源 (source)")
	}
	fl, create, fm, err := articleFlow(s.Config.Current())
	if err != nil {
		return res, err
	}
	sourceField := s.settings().Source
	if _, ok := fm.Field(sourceField); !ok {
		return res, fmt.Errorf("the article form %s has no field to keep where imported articles come from (source of the kind: knowledge document: %q)", fm.Name, sourceField)
	}
	units, err := s.unitCodes(ctx)
	if err != nil {
		return res, err
	}
	// Articles imported before, by source reference.
	known := map[string]imported{}
	rows, err := s.Pool.Query(ctx, `SELECT id, state, fields FROM tickets WHERE flow = $1 AND fields ? $2`, fl.Name, sourceField)
	if err != nil {
		return res, fmt.Errorf("reading imported articles: %w", err)
	}
	for rows.Next() {
		var id int64
		var state string
		var f map[string]any
		if err := rows.Scan(&id, &state, &f); err != nil {
			rows.Close()
			return res, err
		}
		ref, _ := f[sourceField].(string)
		known[ref] = imported{id, state, f}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return res, err
	}

	var valid []checkedArticle
	seen := map[string]bool{}
	for i, a := range ext.Articles {
		n := i + 1
		problem := func(field, format string, args ...any) {
			res.Problems = append(res.Problems, ImportProblem{Row: n, Column: field, Message: fmt.Sprintf("%s: ", a.ID) + fmt.Sprintf(format, args...)})
		}
		res.Rows++
		if strings.TrimSpace(a.ID) == "" {
			problem("id", "缺少编号 id")
			continue
		}
		ref := ext.Source + " #" + a.ID
		if seen[ref] {
			problem("id", "编号重复")
			continue
		}
		seen[ref] = true
		input := map[string]any{sourceField: ref}
		bad := false
		for _, name := range slices.Sorted(maps.Keys(a.Fields)) {
			f, ok := fm.Field(name)
			if !ok || name == sourceField {
				problem(name, "知识表单没有字段 %q", name)
				bad = true
				continue
			}
			switch v := a.Fields[name].(type) {
			case string:
				input[name] = cellValue(f, strings.TrimSpace(v), units)
			case []any:
				parts := make([]string, 0, len(v))
				for _, x := range v {
					parts = append(parts, fmt.Sprint(x))
				}
				if f.Type == form.MultiChoice || f.Multiple {
					input[name] = cellValue(f, strings.Join(parts, "、"), units)
				} else {
					input[name] = strings.Join(parts, "、")
				}
			default:
				input[name] = v
			}
		}
		if bad {
			continue
		}
		checked, err := fm.Check(ctx, input, form.Options{Now: s.now()})
		var fes form.Errors
		if errors.As(err, &fes) {
			for _, fe := range fes {
				problem(fe.Field, "%s", fe.Error())
			}
			continue
		}
		if err != nil {
			return res, err
		}
		valid = append(valid, checkedArticle{n, checked.Values, known[ref]})
	}
	if len(res.Problems) > 0 && !opts.ValidOnly {
		return res, nil
	}
	return res, s.write(ctx, p, fl, create, valid, opts, &res)
}

// imported is an article a file brought in before, known by its source.
type imported struct {
	id     int64
	state  string
	fields map[string]any
}

// checkedArticle is a row or article that passed the article form.
type checkedArticle struct {
	n      int // its row, or its place in the file
	input  map[string]any
	before imported // zero when new
}

// write creates or changes the checked articles through the flow. The
// flow refusing one is a problem of its row; any other error stops.
func (s *Service) write(ctx context.Context, p *identity.Principal, fl *flow.Flow, create string, checked []checkedArticle, opts ImportOptions, res *ImportResult) error {
	for i, c := range checked {
		opts.progress(Progress{Phase: "writing", Total: len(checked), Done: i, Imported: res.Imported})
		id, err := s.importOne(ctx, p, fl, create, c.input, c.before, opts)
		if err != nil {
			if ge, ok := gql.AsError(err); ok {
				res.Problems = append(res.Problems, ImportProblem{Row: c.n, Message: ge.Message})
				continue
			}
			return fmt.Errorf("importing item %d: %w", c.n, err)
		}
		if id != 0 {
			res.Imported++
			res.IDs = append(res.IDs, id)
		}
	}
	return nil
}

// importOne creates an article, or changes one imported before whose
// content changed (reopening it first when the save action does not start
// from its state); it returns 0 when nothing had to be done.
func (s *Service) importOne(ctx context.Context, p *identity.Principal, fl *flow.Flow, create string, input map[string]any, before imported, opts ImportOptions) (int64, error) {
	id, state, old := before.id, before.state, before.fields
	if id == 0 {
		t, err := s.Tickets.Create(ctx, p, fl.Name, create, input)
		if err == nil && opts.Then != "" {
			_, err = s.Tickets.Perform(ctx, p, t.ID, opts.Then, nil, nil)
		}
		return t.ID, err
	}
	same := true
	for k, v := range input {
		if !reflect.DeepEqual(old[k], v) {
			same = false
		}
	}
	if same {
		return 0, nil
	}
	startsFrom := func(action, state string) bool {
		a, ok := fl.Action(action)
		return ok && slices.ContainsFunc(a.From, func(r registry.Ref) bool { return r.Name == state })
	}
	switch {
	case startsFrom(opts.Save, state):
	case startsFrom(opts.Revise, state):
		if _, err := s.Tickets.Perform(ctx, p, id, opts.Revise, nil, nil); err != nil {
			return 0, err
		}
	default:
		return 0, gql.Errorf(gql.Conflict, "%s 已导入过，内容有变化，但处于“%s”状态，不能修改", input[s.settings().Source], state)
	}
	if _, err := s.Tickets.Perform(ctx, p, id, opts.Save, input, nil); err != nil {
		return 0, err
	}
	if opts.Then != "" {
		if _, err := s.Tickets.Perform(ctx, p, id, opts.Then, nil, nil); err != nil {
			return 0, err
		}
	}
	return id, nil
}
