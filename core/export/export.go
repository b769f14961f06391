// Package export writes ticket lists to XLSX and CSV files: the columns
// come from a form (so an added field can be exported without code), rows
// stream from PostgreSQL to the file, and an export runs as a job with
// progress that its owner downloads when it is done.
package export

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/form"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/ticket"
	"github.com/hotline12345/hotline/core/ticketsearch"
)

// Formats.
const (
	XLSX = "xlsx"
	CSV  = "csv"
)

// Column is one exported column: a ticket property (number, state, …) or
// a field of the form.
type Column struct {
	Key   string `json:"key"`
	Label string `json:"label"`

	field *form.Field
}

// Built-in columns, beside the form's fields.
var builtins = []Column{
	{Key: "number", Label: "工单编号"},
	{Key: "state", Label: "状态"},
	{Key: "createdAt", Label: "登记时间"},
	{Key: "creator", Label: "登记人"},
	{Key: "holder", Label: "承办单位"},
	{Key: "deadline", Label: "办理时限"},
	{Key: "closedAt", Label: "办结时间"},
}

// Columns lists what can be exported with formName's fields: the built-in
// columns, then the form's fields in order.
func Columns(set *registry.Set, formName string) ([]Column, error) {
	fm, ok := registry.Model[*form.Form](set, form.Kind, formName)
	if !ok {
		return nil, gql.FieldError("form", "表单 %q 不存在", formName)
	}
	out := append([]Column(nil), builtins...)
	for i := range fm.Fields {
		fl := &fm.Fields[i]
		out = append(out, Column{Key: fl.Name, Label: fl.Label, field: fl})
	}
	return out, nil
}

// pickColumns resolves the requested keys (all columns when none).
func pickColumns(all []Column, keys []string) ([]Column, error) {
	if len(keys) == 0 {
		return all, nil
	}
	byKey := map[string]Column{}
	var names []string
	for _, c := range all {
		byKey[c.Key] = c
		names = append(names, c.Key)
	}
	out := make([]Column, 0, len(keys))
	for i, k := range keys {
		c, ok := byKey[k]
		if !ok {
			return nil, gql.FieldError(fmt.Sprintf("columns[%d]", i), "没有可导出的列 %q%s", k, registry.Suggest(k, names))
		}
		out = append(out, c)
	}
	return out, nil
}

// renderer turns a ticket into the cells of the columns.
type renderer struct {
	columns []Column
	units   map[string]string
	state   func(string) string
	loc     *time.Location
}

const timeLayout = "2006-01-02 15:04:05"

func (r *renderer) row(t ticket.Ticket) []string {
	out := make([]string, len(r.columns))
	for i, c := range r.columns {
		out[i] = r.cell(t, c)
	}
	return out
}

func (r *renderer) when(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.In(r.loc).Format(timeLayout)
}

func (r *renderer) cell(t ticket.Ticket, c Column) string {
	switch c.Key {
	case "number":
		return t.Number
	case "state":
		return r.state(t.State)
	case "createdAt":
		return r.when(&t.CreatedAt)
	case "creator":
		return t.Creator
	case "holder":
		if t.HolderUnit != nil {
			return t.HolderUnit.Name
		}
		return ""
	case "deadline":
		return r.when(t.Deadline)
	case "closedAt":
		return r.when(t.ClosedAt)
	}
	return r.value(c.field, t.Fields[c.Key])
}

// value shows a field's value as people read it: option labels, unit
// names, 是/否.
func (r *renderer) value(fl *form.Field, v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		switch fl.Type {
		case form.Choice:
			return fl.OptionLabel(v)
		case form.Tree:
			path, _ := fl.OptionPath(v)
			labels := make([]string, len(path))
			for i, p := range path {
				labels[i] = fl.OptionLabel(p)
			}
			if len(labels) == 0 {
				return v
			}
			return strings.Join(labels, "/")
		case form.Unit:
			if n, ok := r.units[v]; ok {
				return n
			}
		case form.RichText:
			return form.PlainText(v)
		}
		return v
	case bool:
		if v {
			return "是"
		}
		return "否"
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case []any:
		parts := make([]string, 0, len(v))
		for _, x := range v {
			parts = append(parts, r.value(fl, x))
		}
		if fl.Type == form.Attachment {
			return fmt.Sprintf("%d 个附件", len(v))
		}
		return strings.Join(parts, "、")
	case map[string]any:
		if fl.Type == form.Location {
			return fmt.Sprintf("%v,%v", v["lng"], v["lat"])
		}
		return fl.AddressDivision().Text(v, r.units, "")
	}
	return fmt.Sprint(v)
}

// sheetRows is how many data rows go on one XLSX sheet: Excel's limit is
// 1,048,576 rows, header included.
const sheetRows = 1_000_000

// Writer writes rows to a file of one format.
type Writer interface {
	Header(labels []string) error
	Row(cells []string) error
	Close() error
}

// NewWriter makes a writer of format to w.
func NewWriter(format string, w io.Writer) (Writer, error) {
	switch format {
	case XLSX:
		return newXLSX(w)
	case CSV:
		return newCSV(w), nil
	}
	return nil, gql.FieldError("format", "不支持的导出格式 %q（可选 xlsx、csv）", format)
}

type csvWriter struct {
	buf *bufio.Writer
	w   *csv.Writer
}

func newCSV(w io.Writer) *csvWriter {
	buf := bufio.NewWriterSize(w, 1<<16)
	// A byte order mark, or Excel on a Chinese Windows reads UTF-8 as GBK.
	buf.WriteString("\uFEFF")
	return &csvWriter{buf: buf, w: csv.NewWriter(buf)}
}

func (c *csvWriter) Header(labels []string) error { return c.w.Write(labels) }
func (c *csvWriter) Row(cells []string) error     { return c.w.Write(cells) }
func (c *csvWriter) Close() error {
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return err
	}
	return c.buf.Flush()
}

type xlsxWriter struct {
	out    io.Writer
	f      *excelize.File
	sw     *excelize.StreamWriter
	header []any
	sheet  int
	row    int
	cells  []any
}

func newXLSX(w io.Writer) (*xlsxWriter, error) {
	f := excelize.NewFile()
	f.SetZipWriter(func(w io.Writer) excelize.ZipWriter { return newParallelZip(w) })
	return &xlsxWriter{out: w, f: f}, nil
}

func (x *xlsxWriter) newSheet() error {
	x.sheet++
	name := "工单"
	if x.sheet > 1 {
		name = fmt.Sprintf("工单%d", x.sheet)
	}
	if x.sheet == 1 {
		if err := x.f.SetSheetName("Sheet1", name); err != nil {
			return err
		}
	} else if _, err := x.f.NewSheet(name); err != nil {
		return err
	}
	sw, err := x.f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	x.sw, x.row = sw, 1
	if err := sw.SetRow("A1", x.header, excelize.RowOpts{StyleID: 0}); err != nil {
		return err
	}
	return nil
}

func (x *xlsxWriter) Header(labels []string) error {
	x.header = make([]any, len(labels))
	for i, l := range labels {
		x.header[i] = l
	}
	x.cells = make([]any, len(labels))
	return x.newSheet()
}

func (x *xlsxWriter) Row(cells []string) error {
	if x.row > sheetRows {
		if err := x.sw.Flush(); err != nil {
			return err
		}
		if err := x.newSheet(); err != nil {
			return err
		}
	}
	x.row++
	for i, c := range cells {
		x.cells[i] = c
	}
	cell, err := excelize.CoordinatesToCellName(1, x.row)
	if err != nil {
		return err
	}
	return x.sw.SetRow(cell, x.cells)
}

func (x *xlsxWriter) Close() error {
	if x.sw != nil {
		if err := x.sw.Flush(); err != nil {
			return err
		}
	}
	if err := x.f.Write(x.out); err != nil {
		return err
	}
	return x.f.Close()
}

// Request is what to export.
type Request struct {
	Format  string              `json:"format"`
	Form    string              `json:"form"`
	Columns []string            `json:"columns"`
	Query   string              `json:"query"`
	Filter  ticketsearch.Filter `json:"filter"`
}

// Write exports the tickets of req visible to p to w, calling progress
// with the rows written so far; it returns how many.
func Write(ctx context.Context, search *ticketsearch.Searcher, set *registry.Set, units map[string]string, p *identity.Principal, req Request, w io.Writer, progress func(int64)) (int64, error) {
	all, err := Columns(set, req.Form)
	if err != nil {
		return 0, err
	}
	cols, err := pickColumns(all, req.Columns)
	if err != nil {
		return 0, err
	}
	out, err := NewWriter(req.Format, w)
	if err != nil {
		return 0, err
	}
	labels := make([]string, len(cols))
	for i, c := range cols {
		labels[i] = c.Label
	}
	if err := out.Header(labels); err != nil {
		return 0, fmt.Errorf("writing the header: %w", err)
	}
	fields := []string{}
	for _, c := range cols {
		if c.field != nil {
			fields = append(fields, c.Key)
		}
	}
	r := &renderer{columns: cols, units: units, state: func(s string) string { return flow.StateLabel(set, s) }, loc: flow.Zone(set)} // times in a file have no zone: written as the centre reads them
	d := search.Tickets.Disclosure(p)
	var whole int64
	n, err := pipe(ctx, func(ctx context.Context, emit func([]string) error) error {
		return search.EachTicket(ctx, p, ticketsearch.Search{Query: req.Query, Filter: req.Filter}, fields, func(t ticket.Ticket) error {
			masked, shown := d.Mask(&t)
			if shown {
				whole++
			}
			t.Fields = masked
			return emit(r.row(t))
		})
	}, func(row []string) error { return out.Row(row) }, progress)
	if err != nil {
		return n, err
	}
	if err := d.RevealCount(ctx, "export", whole); err != nil {
		return n, err
	}
	if err := out.Close(); err != nil {
		return n, fmt.Errorf("finishing the %s file: %w", req.Format, err)
	}
	return n, nil
}

// batchRows is how many rows travel between the reading and the writing
// goroutine at once.
const batchRows = 256

// pipe runs read (decoding tickets from PostgreSQL and rendering their
// cells) and write (encoding the file) on two goroutines: each is about
// half of an export's CPU, so a large export takes two cores instead of
// one. It returns how many rows were written, calling progress every
// 5,000.
func pipe(ctx context.Context, read func(context.Context, func([]string) error) error, write func([]string) error, progress func(int64)) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan [][]string, 4)
	readErr := make(chan error, 1)
	go func() {
		defer close(batches)
		batch := make([][]string, 0, batchRows)
		err := read(ctx, func(row []string) error {
			batch = append(batch, row)
			if len(batch) < batchRows {
				return nil
			}
			select {
			case batches <- batch:
			case <-ctx.Done():
				return ctx.Err()
			}
			batch = make([][]string, 0, batchRows)
			return nil
		})
		if err == nil && len(batch) > 0 {
			select {
			case batches <- batch:
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		readErr <- err
	}()
	var n int64
	var werr error
	for batch := range batches {
		if werr != nil {
			continue // drain so the reader is not left blocked
		}
		for _, row := range batch {
			if werr = write(row); werr != nil {
				werr = fmt.Errorf("writing row %d: %w", n+1, werr)
				cancel()
				break
			}
			n++
			if progress != nil && n%5000 == 0 {
				progress(n)
			}
		}
	}
	if err := <-readErr; err != nil && werr == nil {
		return n, err
	}
	return n, werr
}

// ErrEmpty is an export that would have no rows.
var ErrEmpty = errors.New("no tickets match")
