package knowledge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/form"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/registry"
)

// The bulk import template (知识导入模板) has one column per field of the
// article form, headed by the field's label; a second sheet lists the
// options of choice and tree fields. Import reads the same layout, so an
// export of articles (startExport with form kb-article) is importable.

// articleFlow is the flow that publishes knowledge and the action and form
// its articles are created with.
func articleFlow(set *registry.Set) (*flow.Flow, string, *form.Form, error) {
	kinds := articleFlows(set)
	if len(kinds) == 0 {
		return nil, "", nil, errors.New("no flow publishes knowledge (an action with call: knowledge.publish)")
	}
	return kinds[0].flow, kinds[0].create, kinds[0].form, nil
}

// importable are the fields a spreadsheet can fill: not attachments.
func importable(fm *form.Form) []*form.Field {
	var out []*form.Field
	for i := range fm.Fields {
		if fl := &fm.Fields[i]; fl.Type != form.Attachment && fl.Compute.Source == "" {
			out = append(out, fl)
		}
	}
	return out
}

// Template writes the import template.
func (s *Service) Template(w io.Writer) error {
	_, _, fm, err := articleFlow(s.Config.Current())
	if err != nil {
		return err
	}
	f := excelize.NewFile()
	defer f.Close()
	const sheet, options = "知识", "选项说明"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	if _, err := f.NewSheet(options); err != nil {
		return err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	row := 1
	for i, fl := range importable(fm) {
		cell, _ := excelize.CoordinatesToCellName(i+1, 1)
		label := fl.Label
		if fl.Required {
			label += "*"
		}
		if err := f.SetCellValue(sheet, cell, label); err != nil {
			return err
		}
		if err := f.SetCellStyle(sheet, cell, cell, bold); err != nil {
			return err
		}
		help := fl.Help
		switch fl.Type {
		case form.Date:
			help = strings.TrimSpace(help + " 格式 2026-03-01")
		case form.RichText:
			help = strings.TrimSpace(help + " 可为纯文字或 HTML")
		case form.Unit:
			help = strings.TrimSpace(help + " 填单位编码或名称")
		}
		if help != "" {
			_ = f.AddComment(sheet, excelize.Comment{Cell: cell, Author: "hotline", Paragraph: []excelize.RichTextRun{{Text: help}}})
		}
		for _, o := range fl.OptionList() {
			_ = f.SetSheetRow(options, fmt.Sprintf("A%d", row), &[]any{fl.Label, o.Value, o.Label})
			row++
		}
	}
	return f.Write(w)
}

// unzipLimits bound what a spreadsheet may expand to, so a small file
// cannot unpack into gigabytes (excelize's default allows 16 GiB).
var unzipLimits = excelize.Options{UnzipSizeLimit: 256 << 20, UnzipXMLSizeLimit: 64 << 20}

// maxImportRows bounds the rows of one import.
const maxImportRows = 20_000

// maxImportBytes bounds an uploaded import file, held in memory while
// its job runs.
const maxImportBytes = 64 << 20

// ImportProblem is what is wrong with a cell or a row.
type ImportProblem struct {
	Row     int    `json:"row"`
	Column  string `json:"column"`
	Message string `json:"message"`
}

// ImportResult reports an import.
type ImportResult struct {
	Rows     int             `json:"rows"`
	Imported int             `json:"imported"`
	IDs      []int64         `json:"ids"`
	Problems []ImportProblem `json:"problems"`
}

// ImportOptions choose what an import does.
type ImportOptions struct {
	// ValidOnly imports the valid rows of a file with errors; otherwise
	// a file with any error imports nothing.
	ValidOnly bool
	// Then is an action performed on each imported article (submit, to
	// send them for review); empty leaves them as drafts.
	Then string
	// Save and Revise are the article flow's actions that change a draft
	// and reopen a published article, for an external article imported
	// again with other content.
	Save, Revise string
	// Progress, when set, hears of each row checked and each article
	// written.
	Progress func(Progress) `json:"-"`
}

// Progress is how far an import has gone: in phase "checking", done of
// total rows checked; in phase "writing", done of total valid rows
// written, imported of them new or changed articles.
type Progress struct {
	Phase                 string
	Total, Done, Imported int
}

func (o ImportOptions) progress(p Progress) {
	if o.Progress != nil {
		o.Progress(p)
	}
}

// Import reads articles from an XLSX file laid out as the template, checks
// every row with the article form, and creates the articles through the
// article flow as p (an editor): drafts of p's unit. "Nothing from a file
// with errors" is decided by the check, before anything is written; each
// article is then created in its own transaction, so a failure while
// writing (the flow refusing the then action) leaves the rows before it
// imported and is reported with the rest.
func (s *Service) Import(ctx context.Context, p *identity.Principal, r io.Reader, opts ImportOptions) (ImportResult, error) {
	res := ImportResult{IDs: []int64{}, Problems: []ImportProblem{}}
	fl, create, fm, err := articleFlow(s.Config.Current())
	if err != nil {
		return res, err
	}
	if opts.Then != "" {
		if _, ok := fl.Action(opts.Then); !ok {
			return res, gql.FieldError("then", "流程 %s 没有动作 %q", fl.Name, opts.Then)
		}
	}
	x, err := excelize.OpenReader(r, unzipLimits)
	if err != nil {
		return res, gql.FieldError("file", "不是可读取的 XLSX 文件：%v", err)
	}
	defer x.Close()
	rows, err := x.GetRows(x.GetSheetName(0))
	if err != nil {
		return res, gql.FieldError("file", "读取第一个工作表失败：%v", err)
	}
	if len(rows) == 0 {
		return res, gql.FieldError("file", "文件是空的：第一行应为列名（请下载导入模板）")
	}
	if len(rows) > maxImportRows+1 {
		return res, gql.FieldError("file", "一次最多导入 %d 行，请分批导入", maxImportRows)
	}
	byLabel := map[string]*form.Field{}
	var labels []string
	for _, f := range importable(fm) {
		byLabel[f.Label], byLabel[f.Name] = f, f
		labels = append(labels, f.Label)
	}
	columns := make([]*form.Field, len(rows[0]))
	for i, h := range rows[0] {
		h = strings.TrimSuffix(strings.TrimSpace(h), "*")
		if h == "" {
			continue
		}
		f, ok := byLabel[h]
		if !ok {
			col, _ := excelize.ColumnNumberToName(i + 1)
			res.Problems = append(res.Problems, ImportProblem{Row: 1, Column: col, Message: fmt.Sprintf("未知的列“%s”%s", h, registry.Suggest(h, labels))})
			continue
		}
		columns[i] = f
	}
	if len(res.Problems) > 0 {
		return res, nil // a wrong header makes every row wrong
	}
	units, err := s.unitCodes(ctx)
	if err != nil {
		return res, err
	}
	var valid []checkedArticle
	for n, cells := range rows[1:] {
		opts.progress(Progress{Phase: "checking", Total: len(rows) - 1, Done: n})
		rowNo := n + 2
		input := map[string]any{}
		for i, c := range cells {
			if i >= len(columns) || columns[i] == nil || strings.TrimSpace(c) == "" {
				continue
			}
			input[columns[i].Name] = cellValue(columns[i], strings.TrimSpace(c), units)
		}
		if len(input) == 0 {
			continue // blank line
		}
		res.Rows++
		checked, err := fm.Check(ctx, input, form.Options{Now: s.now()})
		var fes form.Errors
		if errors.As(err, &fes) {
			for _, fe := range fes {
				res.Problems = append(res.Problems, ImportProblem{Row: rowNo, Column: columnOf(columns, fe.Field), Message: fe.Error()})
			}
			continue
		}
		if err != nil {
			return res, err
		}
		valid = append(valid, checkedArticle{n: rowNo, input: checked.Values})
	}
	if len(res.Problems) > 0 && !opts.ValidOnly {
		return res, nil
	}
	return res, s.write(ctx, p, fl, create, valid, opts, &res)
}

// cellValue turns a cell into what the form takes: option labels into
// values, unit names into codes, several choices split.
func cellValue(fl *form.Field, c string, units map[string]string) any {
	switch fl.Type {
	case form.Choice, form.Tree:
		return optionValue(fl, c)
	case form.MultiChoice:
		var out []any
		for _, p := range keywordSep.Split(c, -1) {
			if p != "" {
				out = append(out, optionValue(fl, p))
			}
		}
		return out
	case form.Unit:
		if code, ok := units[c]; ok {
			return code
		}
	case form.Number:
		return c // the form parses numbers written as text
	case form.Boolean:
		switch c {
		case "是", "true", "TRUE", "1":
			return true
		case "否", "false", "FALSE", "0":
			return false
		}
	case form.Date:
		if len(c) > 10 {
			return c[:10]
		}
	}
	return c
}

// optionValue is the value of the option labelled c (a tree option may
// be written as its path, 住房城建/供暖供热), or c itself.
func optionValue(fl *form.Field, c string) string {
	parts := strings.FieldsFunc(c, func(r rune) bool { return r == '/' || r == '／' })
	last := c
	if len(parts) > 0 {
		last = strings.TrimSpace(parts[len(parts)-1])
	}
	for _, o := range fl.OptionList() {
		if o.Value == c {
			return c
		}
		if o.Label == last {
			return o.Value
		}
	}
	return c
}

func columnOf(columns []*form.Field, name string) string {
	for i, f := range columns {
		if f != nil && f.Name == name {
			col, _ := excelize.ColumnNumberToName(i + 1)
			return col
		}
	}
	return ""
}

// unitCodes maps unit names and codes to codes.
func (s *Service) unitCodes(ctx context.Context) (map[string]string, error) {
	rows, err := s.Pool.Query(ctx, `SELECT code, name FROM units`)
	if err != nil {
		return nil, fmt.Errorf("reading units: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var code, name string
		if err := rows.Scan(&code, &name); err != nil {
			return nil, err
		}
		out[code], out[name] = code, code
	}
	return out, rows.Err()
}

// Handlers serves the template (GET /knowledge/template.xlsx), starts
// imports (POST /knowledge/import, multipart field file; ?validOnly=true
// imports the valid rows of a file with errors, ?then=submit sends each
// for review; answers 202 with the job) and reports on them (GET
// /knowledge/imports/{id}, also knowledgeImport in GraphQL).
func (s *Service) Handlers(mux *http.ServeMux, auth func(*http.Request) (*identity.Principal, error)) {
	// signedIn serves h to signed-in users only.
	signedIn := func(h func(http.ResponseWriter, *http.Request, *identity.Principal)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			p, err := auth(r)
			if err != nil || p == nil {
				http.Error(w, "请先登录", http.StatusUnauthorized)
				return
			}
			h(w, r, p)
		}
	}
	mux.HandleFunc("GET /knowledge/template.xlsx", signedIn(func(w http.ResponseWriter, r *http.Request, _ *identity.Principal) {
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		w.Header().Set("Content-Disposition", `attachment; filename="knowledge-template.xlsx"; filename*=UTF-8''%E7%9F%A5%E8%AF%86%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF.xlsx`)
		if err := s.Template(w); err != nil {
			s.Log.Error("writing the knowledge template", "err", err)
		}
	}))
	mux.HandleFunc("POST /knowledge/import", signedIn(func(w http.ResponseWriter, r *http.Request, p *identity.Principal) {
		r.Body = http.MaxBytesReader(w, r.Body, maxImportBytes)
		file, header, err := r.FormFile("file")
		if err != nil {
			http.Error(w, "请以 multipart/form-data 上传，文件字段名为 file（不超过 64 MB）", http.StatusBadRequest)
			return
		}
		defer file.Close()
		data, err := io.ReadAll(file)
		if err != nil {
			http.Error(w, "上传中断，请重新上传", http.StatusBadRequest)
			return
		}
		job, err := s.StartImport(r.Context(), p, header.Filename, data, ImportOptions{ValidOnly: r.URL.Query().Get("validOnly") == "true", Then: r.URL.Query().Get("then")})
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if err != nil {
			status, msg := http.StatusInternalServerError, "导入失败"
			if ge, ok := gql.AsError(err); ok {
				status, msg = http.StatusBadRequest, ge.Message
			} else {
				s.Log.Error("starting a knowledge import", "err", err)
			}
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": msg})
			return
		}
		w.Header().Set("Location", "/knowledge/imports/"+strconv.FormatInt(job.ID, 10))
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(job)
	}))
	mux.HandleFunc("GET /knowledge/imports/{id}", signedIn(func(w http.ResponseWriter, r *http.Request, p *identity.Principal) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			http.Error(w, "导入任务编号须为数字", http.StatusBadRequest)
			return
		}
		job, err := s.ImportJobOf(r.Context(), p, id)
		if err != nil {
			if _, ok := gql.AsError(err); ok {
				http.NotFound(w, r)
			} else {
				s.Log.Error("reading an import job", "job", id, "err", err)
				http.Error(w, "读取导入任务失败", http.StatusInternalServerError)
			}
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(job)
	}))
}
