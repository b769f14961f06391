package export

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/filestore"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/registry"
	"github.com/hotline12345/hotline/core/ticket"
	"github.com/hotline12345/hotline/core/ticketsearch"
)

// Job is an export job as its owner sees it.
type Job struct {
	ID         int64      `json:"id"`
	Format     string     `json:"format"`
	State      string     `json:"state"`
	Total      int64      `json:"total"`
	Done       int64      `json:"done"`
	Size       *int64     `json:"size"`
	Error      *string    `json:"error"`
	CreatedAt  time.Time  `json:"createdAt"`
	FinishedAt *time.Time `json:"finishedAt"`
}

// Service runs export jobs and serves their files.
type Service struct {
	Pool   *pgxpool.Pool
	Search *ticketsearch.Searcher
	Config *registry.Runtime
	// Files holds the finished files, where every node serves them.
	Files filestore.Store
	// Node names this server in the jobs it runs: a job left running by a
	// node that stopped is failed when that node starts again.
	Node string
	Log  *slog.Logger

	wg sync.WaitGroup
}

// Recover marks this node's jobs that were running when it stopped as
// failed: their goroutines are gone.
func (s *Service) Recover(ctx context.Context) error {
	_, err := s.Pool.Exec(ctx, `UPDATE export_jobs SET state = 'failed', error = '服务重启，导出中断，请重新导出', finished_at = now()
		WHERE state = 'running' AND node = $1`, s.Node)
	if err != nil {
		return fmt.Errorf("recovering export jobs: %w", err)
	}
	return nil
}

// Wait waits for running jobs (tests, shutdown).
func (s *Service) Wait() { s.wg.Wait() }

// fileKey is where job id's file is kept in the file store.
func fileKey(id int64) string { return "exports/" + strconv.FormatInt(id, 10) }

// Start checks the request, counts what it will export and starts the job.
// An export that would be empty is refused, not written.
func (s *Service) Start(ctx context.Context, p *identity.Principal, req Request) (Job, error) {
	set := s.Config.Current()
	if req.Form == "" {
		return Job{}, gql.FieldError("form", "须指定表单（决定可导出的列）")
	}
	all, err := Columns(set, req.Form)
	if err != nil {
		return Job{}, err
	}
	if _, err := pickColumns(all, req.Columns); err != nil {
		return Job{}, err
	}
	if _, err := NewWriter(req.Format, io.Discard); err != nil {
		return Job{}, err
	}
	total, err := s.Search.CountTickets(ctx, p, ticketsearch.Search{Query: req.Query, Filter: req.Filter}, 0)
	if err != nil {
		return Job{}, err
	}
	if total == 0 {
		return Job{}, gql.FieldError("filter", "没有符合条件的工单，未生成导出文件")
	}
	reqJSON, err := json.Marshal(req)
	if err != nil {
		return Job{}, fmt.Errorf("encoding the export request: %w", err)
	}
	var job Job
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO export_jobs (user_id, format, request, total, node) VALUES ($1, $2, $3, $4, $5)
			RETURNING id, format, state, total, done, size, error, created_at, finished_at`, p.UserID, req.Format, reqJSON, total, s.Node).
			Scan(&job.ID, &job.Format, &job.State, &job.Total, &job.Done, &job.Size, &job.Error, &job.CreatedAt, &job.FinishedAt); err != nil {
			return fmt.Errorf("creating the export job: %w", err)
		}
		// Exports take citizens' data out of the platform: audited.
		return audit.Write(ctx, tx, audit.Entry{Actor: p.Actor(), Action: "ticket.export", TargetType: "export", TargetID: strconv.FormatInt(job.ID, 10),
			UnitPath: p.UnitPath, Details: map[string]any{"request": req, "rows": total}})
	})
	if err != nil {
		return Job{}, err
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.run(p, job.ID, req)
	}()
	return job, nil
}

// run writes the file of job id, recording progress and the outcome.
func (s *Service) run(p *identity.Principal, id int64, req Request) {
	ctx := context.Background()
	units, err := ticket.AllUnitNames(ctx, s.Pool)
	var n, size int64
	if err == nil {
		size, err = filestore.Write(ctx, s.Files, fileKey(id), func(w io.Writer) error {
			n, err = Write(ctx, s.Search, s.Config.Current(), units, p, req, w, func(done int64) {
				if _, err := s.Pool.Exec(ctx, `UPDATE export_jobs SET done = $2 WHERE id = $1`, id, done); err != nil {
					s.Log.Warn("recording export progress", "job", id, "err", err)
				}
			})
			return err
		})
	}
	if err != nil {
		s.Log.Error("export failed", "job", id, "err", err)
		msg := "导出失败：" + err.Error()
		if ge, ok := gql.AsError(err); ok {
			msg = ge.Message
		}
		_, err = s.Pool.Exec(ctx, `UPDATE export_jobs SET state = 'failed', error = $2, done = $3, finished_at = now() WHERE id = $1`, id, msg, n)
	} else {
		_, err = s.Pool.Exec(ctx, `UPDATE export_jobs SET state = 'done', done = $2, total = $2, size = $3, finished_at = now() WHERE id = $1`, id, n, size)
	}
	if err != nil {
		s.Log.Error("recording the end of an export", "job", id, "err", err)
	}
}

const jobSelect = `SELECT id, format, state, total, done, size, error, created_at, finished_at FROM export_jobs`

func scanJob(row pgx.Row) (Job, error) {
	var j Job
	err := row.Scan(&j.ID, &j.Format, &j.State, &j.Total, &j.Done, &j.Size, &j.Error, &j.CreatedAt, &j.FinishedAt)
	return j, err
}

// Get returns one of p's jobs.
func (s *Service) Get(ctx context.Context, p *identity.Principal, id int64) (Job, error) {
	j, err := scanJob(s.Pool.QueryRow(ctx, jobSelect+` WHERE id = $1 AND user_id = $2`, id, p.UserID))
	if errors.Is(err, pgx.ErrNoRows) {
		return j, gql.Errorf(gql.NotFound, "导出任务 %d 不存在", id)
	}
	if err != nil {
		return j, fmt.Errorf("reading export job %d: %w", id, err)
	}
	return j, nil
}

// List returns p's latest jobs, newest first.
func (s *Service) List(ctx context.Context, p *identity.Principal) ([]Job, error) {
	rows, err := s.Pool.Query(ctx, jobSelect+` WHERE user_id = $1 ORDER BY id DESC LIMIT 50`, p.UserID)
	if err != nil {
		return nil, fmt.Errorf("listing export jobs: %w", err)
	}
	defer rows.Close()
	out := []Job{}
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("listing export jobs: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// DownloadPath is where a job's file is served: GET with the same
// Authorization header as GraphQL.
func DownloadPath(id int64) string { return "/exports/" + strconv.FormatInt(id, 10) }

// Handler serves GET /exports/{id} to the job's owner.
func (s *Service) Handler(auth func(*http.Request) (*identity.Principal, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := auth(r)
		if err != nil || p == nil {
			http.Error(w, "请先登录", http.StatusUnauthorized)
			return
		}
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			http.Error(w, "无效的导出任务编号", http.StatusBadRequest)
			return
		}
		job, err := s.Get(r.Context(), p, id)
		if err != nil {
			http.Error(w, "导出任务不存在", http.StatusNotFound)
			return
		}
		if job.State != "done" {
			http.Error(w, "导出尚未完成", http.StatusConflict)
			return
		}
		f, err := s.Files.Open(r.Context(), fileKey(id))
		if errors.Is(err, fs.ErrNotExist) {
			http.Error(w, "导出文件已被清理", http.StatusGone)
			return
		}
		if err != nil {
			s.Log.Error("opening an export file", "job", id, "err", err)
			http.Error(w, "导出文件暂不可读，请稍后重试", http.StatusInternalServerError)
			return
		}
		defer f.Close()
		name := fmt.Sprintf("工单导出-%d-%s.%s", id, job.CreatedAt.Format("20060102-1504"), job.Format)
		w.Header().Set("Content-Disposition", "attachment; filename=\"export."+job.Format+"\"; filename*=UTF-8''"+url.PathEscape(name))
		ct := "text/csv; charset=utf-8"
		if job.Format == XLSX {
			ct = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
		}
		w.Header().Set("Content-Type", ct)
		http.ServeContent(w, r, "", job.CreatedAt, f)
	})
}
