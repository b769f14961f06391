package export_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/hotline12345/hotline/core/export"
	"github.com/hotline12345/hotline/core/filestore"
	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/pgtest"
	"github.com/hotline12345/hotline/core/ticket"
	"github.com/hotline12345/hotline/core/ticketsearch"
	"github.com/hotline12345/hotline/deploy/gen/gentest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// expected is what a row must hold, read straight from the ticket.
func expected(t *testing.T, w *gentest.World, tk ticket.Ticket) map[string]string {
	var street string
	a, _ := tk.Fields["address"].(map[string]any)
	require.NoError(t, w.Pool.QueryRow(context.Background(), `SELECT name FROM units WHERE code = $1`, a["street"]).Scan(&street))
	return map[string]string{"工单编号": tk.Number, "标题": tk.Fields["title"].(string), "诉求内容": tk.Fields["content"].(string),
		"来电号码": tk.Fields["caller_phone"].(string), "地址": street, "状态": flow.StateLabel(w.Set, tk.State), "归口分类": "/"}
}

func checkRows(t *testing.T, w *gentest.World, reader *identity.Principal, rows [][]string, s ticketsearch.Search) {
	t.Helper()
	var tickets []ticket.Ticket
	require.NoError(t, w.Search.EachTicket(context.Background(), reader, s, nil, func(tk ticket.Ticket) error {
		tickets = append(tickets, tk)
		return nil
	}))
	require.NotEmpty(t, tickets)
	require.Len(t, rows, len(tickets)+1, "a header and a row per ticket")
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for i, tk := range tickets {
		row := rows[i+1]
		for label, want := range expected(t, w, tk) {
			got := row[col[label]]
			switch label {
			case "地址":
				assert.Contains(t, got, want, "row %d", i+1)
			case "归口分类":
				assert.Contains(t, got, want, "tree options are shown as their path")
			default:
				assert.Equal(t, want, got, "row %d column %s", i+1, label)
			}
		}
	}
}

func TestExportsOpenBackRowByRow(t *testing.T) {
	w := gentest.New(t, 600)
	ctx := context.Background()
	// The auditor sees callers whole (personal.view, everywhere), so the
	// rows are the tickets as stored.
	reader := w.As(t, "auditor")
	units, err := ticket.AllUnitNames(ctx, w.Pool)
	require.NoError(t, err)
	req := export.Request{Form: "ticket-register", Query: "供暖", Filter: ticketsearch.Filter{Facets: map[string][]string{"address.district": {"150105", "150102"}}}}
	s := ticketsearch.Search{Query: req.Query, Filter: req.Filter}

	t.Run("xlsx", func(t *testing.T) {
		req := req
		req.Format = export.XLSX
		var buf bytes.Buffer
		n, err := export.Write(ctx, w.Search, w.Set, units, reader, req, &buf, nil)
		require.NoError(t, err)
		f, err := excelize.OpenReader(&buf)
		require.NoError(t, err)
		defer f.Close()
		sheet := f.GetSheetName(0)
		assert.Equal(t, "工单", sheet)
		got, err := f.GetRows(sheet)
		require.NoError(t, err)
		assert.Equal(t, int(n)+1, len(got))
		// GetRows drops trailing empty cells; pad to the header's width.
		for i := range got {
			for len(got[i]) < len(got[0]) {
				got[i] = append(got[i], "")
			}
		}
		checkRows(t, w, reader, got, s)
	})
	t.Run("csv", func(t *testing.T) {
		req := req
		req.Format = export.CSV
		var buf bytes.Buffer
		_, err := export.Write(ctx, w.Search, w.Set, units, reader, req, &buf, nil)
		require.NoError(t, err)
		require.True(t, bytes.HasPrefix(buf.Bytes(), []byte("\uFEFF")), "a BOM so Excel reads UTF-8")
		got, err := csv.NewReader(bytes.NewReader(buf.Bytes()[3:])).ReadAll()
		require.NoError(t, err)
		checkRows(t, w, reader, got, s)
	})
	t.Run("chosen columns", func(t *testing.T) {
		req := req
		req.Format, req.Columns = export.CSV, []string{"number", "title"}
		var buf bytes.Buffer
		_, err := export.Write(ctx, w.Search, w.Set, units, reader, req, &buf, nil)
		require.NoError(t, err)
		header, _, _ := strings.Cut(strings.TrimPrefix(buf.String(), "\uFEFF"), "\n")
		assert.Equal(t, "工单编号,标题", header)
		req.Columns = []string{"number", "titel"}
		_, err = export.Write(ctx, w.Search, w.Set, units, reader, req, &buf, nil)
		assert.ErrorContains(t, err, "titel")
		assert.ErrorContains(t, err, "title", "suggests the near name")
	})
}

// An export made on one node is downloaded from another: the two share
// the database and the files folder, nothing else.
func TestExportJobRunsAndIsDownloadedByItsOwnerFromAnyNode(t *testing.T) {
	w := gentest.New(t, 400)
	ctx := context.Background()
	dir := t.TempDir()
	node := func(name string) *export.Service {
		return &export.Service{Pool: w.Pool, Search: w.Search, Config: w.Runtime, Files: filestore.Dir{Root: dir}, Node: name, Log: slog.New(slog.DiscardHandler)}
	}
	svc, other := node("node-a"), node("node-b")
	admin := w.As(t, "admin")

	job, err := svc.Start(ctx, admin, export.Request{Format: export.XLSX, Form: "ticket-register", Query: "物业"})
	require.NoError(t, err)
	assert.Equal(t, "running", job.State)
	assert.Positive(t, job.Total)
	svc.Wait()
	job, err = svc.Get(ctx, admin, job.ID)
	require.NoError(t, err)
	require.Equal(t, "done", job.State, "error: %v", job.Error)
	assert.Equal(t, job.Total, job.Done)

	var audited int
	require.NoError(t, w.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'ticket.export'`).Scan(&audited))
	assert.Equal(t, 1, audited, "exports are audited")

	auth := func(user string) func(*http.Request) (*identity.Principal, error) {
		return func(*http.Request) (*identity.Principal, error) {
			if user == "" {
				return nil, nil
			}
			return w.As(t, user), nil
		}
	}
	get := func(user string) *httptest.ResponseRecorder {
		mux := http.NewServeMux()
		mux.Handle("GET /exports/{id}", other.Handler(auth(user)))
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", export.DownloadPath(job.ID), nil))
		return rec
	}
	rec := get("admin")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Header().Get("Content-Disposition"), "filename*=UTF-8''")
	f, err := excelize.OpenReader(rec.Body)
	require.NoError(t, err)
	got, err := f.GetRows("工单")
	require.NoError(t, err)
	assert.Len(t, got, int(job.Total)+1)
	assert.Equal(t, http.StatusNotFound, get("agent").Code, "another user's export is not found")
	assert.Equal(t, http.StatusUnauthorized, get("").Code)

	// Nothing matches: refused, no job, no file.
	_, err = svc.Start(ctx, admin, export.Request{Format: export.CSV, Form: "ticket-register", Query: "不可能出现的词语组合"})
	assert.ErrorContains(t, err, "没有符合条件的工单")
	_, err = svc.Start(ctx, admin, export.Request{Format: "pdf", Form: "ticket-register"})
	assert.ErrorContains(t, err, "pdf")
	entries, err := os.ReadDir(filepath.Join(dir, "exports"))
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the finished export's file")
	assert.Equal(t, strconv.FormatInt(job.ID, 10), entries[0].Name())

	// A file gone from the store is 410 on every node.
	require.NoError(t, os.Rename(filepath.Join(dir, "exports", entries[0].Name()), filepath.Join(dir, "moved")))
	assert.Equal(t, http.StatusGone, get("admin").Code)

	// A job left running by a stopped server is marked failed when that
	// server starts again; another node's start leaves it be.
	_, err = w.Pool.Exec(ctx, `UPDATE export_jobs SET state = 'running' WHERE id = $1`, job.ID)
	require.NoError(t, err)
	require.NoError(t, other.Recover(ctx))
	job, err = svc.Get(ctx, admin, job.ID)
	require.NoError(t, err)
	assert.Equal(t, "running", job.State, "node-b did not run it")
	require.NoError(t, svc.Recover(ctx))
	job, err = svc.Get(ctx, admin, job.ID)
	require.NoError(t, err)
	assert.Equal(t, "failed", job.State)
}
