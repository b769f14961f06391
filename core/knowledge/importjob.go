package knowledge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/gql"
	"github.com/hotline12345/hotline/core/identity"
)

// ImportJob is a bulk import (知识批量导入) as its owner sees it.
type ImportJob struct {
	ID         int64         `json:"id"`
	FileName   string        `json:"fileName"`
	State      string        `json:"state"`
	Phase      string        `json:"phase"`
	Total      int           `json:"total"`
	Done       int           `json:"done"`
	Imported   int           `json:"imported"`
	Result     *ImportResult `json:"result"`
	Error      *string       `json:"error"`
	CreatedAt  time.Time     `json:"createdAt"`
	FinishedAt *time.Time    `json:"finishedAt"`
}

// progressEvery bounds how often a job's progress is written: a row is
// checked in microseconds and an article written in milliseconds, and
// the editor's page asks once a second.
const progressEvery = 250 * time.Millisecond

// importKey is where a running import's file is kept in the file store:
// the job reads it from there, not from the memory of the request that
// uploaded it, and it is deleted when the job ends.
func importKey(id int64) string { return "knowledge-imports/" + strconv.FormatInt(id, 10) }

// StartImport stores the uploaded file and imports it in the background
// as p; the job's row tells how far it has gone and, once done, the same
// result Import returns.
func (s *Service) StartImport(ctx context.Context, p *identity.Principal, fileName string, data []byte, opts ImportOptions) (ImportJob, error) {
	fl, _, _, err := articleFlow(s.Config.Current())
	if err != nil {
		return ImportJob{}, err
	}
	if opts.Then != "" {
		if _, ok := fl.Action(opts.Then); !ok {
			return ImportJob{}, gql.FieldError("then", "流程 %s 没有动作 %q", fl.Name, opts.Then)
		}
	}
	if len(data) == 0 {
		return ImportJob{}, gql.FieldError("file", "文件是空的")
	}
	optsJSON, err := json.Marshal(map[string]any{"validOnly": opts.ValidOnly, "then": opts.Then})
	if err != nil {
		return ImportJob{}, err
	}
	var job ImportJob
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		job, err = scanImportJob(tx.QueryRow(ctx, `INSERT INTO kb_import_jobs (user_id, file_name, options, node) VALUES ($1, $2, $3, $4)
			RETURNING `+importJobColumns, p.UserID, fileName, optsJSON, s.Node))
		if err != nil {
			return fmt.Errorf("creating the import job: %w", err)
		}
		return audit.Write(ctx, tx, audit.Entry{Actor: p.Actor(), Action: "knowledge.import", TargetType: "kb_import", TargetID: strconv.FormatInt(job.ID, 10),
			UnitPath: p.UnitPath, Details: map[string]any{"file": fileName, "bytes": len(data), "validOnly": opts.ValidOnly, "then": opts.Then}})
	})
	if err != nil {
		return ImportJob{}, err
	}
	if err := s.Files.Put(ctx, importKey(job.ID), bytes.NewReader(data)); err != nil {
		err = fmt.Errorf("storing the file of import job %d: %w", job.ID, err)
		s.endImport(context.WithoutCancel(ctx), job.ID, nil, Progress{}, err)
		return ImportJob{}, err
	}
	s.imports.Add(1)
	go func() {
		defer s.imports.Done()
		s.runImport(p, job.ID, opts)
	}()
	return job, nil
}

// runImport imports one job's file, writing its progress at most every
// progressEvery and its outcome at the end.
func (s *Service) runImport(p *identity.Principal, id int64, opts ImportOptions) {
	ctx := context.Background()
	file, err := s.Files.Open(ctx, importKey(id))
	if err != nil {
		s.endImport(ctx, id, nil, Progress{}, fmt.Errorf("opening the file of import job %d: %w", id, err))
		return
	}
	defer file.Close()
	var mu sync.Mutex
	var last time.Time
	var seen Progress // the last progress heard, written with the outcome
	opts.Progress = func(pr Progress) {
		mu.Lock()
		defer mu.Unlock()
		seen = pr
		if time.Since(last) < progressEvery {
			return
		}
		last = time.Now()
		if _, err := s.Pool.Exec(ctx, `UPDATE kb_import_jobs SET phase = $2, total = $3, done = $4, imported = $5 WHERE id = $1`,
			id, pr.Phase, pr.Total, pr.Done, pr.Imported); err != nil {
			s.Log.Warn("recording import progress", "job", id, "err", err)
		}
	}
	res, err := s.Import(ctx, p, file, opts)
	mu.Lock()
	defer mu.Unlock()
	s.endImport(ctx, id, &res, seen, err)
}

// endImport records how job id ended (err: failed) and deletes its file;
// res is nil when the import never ran.
func (s *Service) endImport(ctx context.Context, id int64, res *ImportResult, seen Progress, err error) {
	imported := 0
	if res != nil {
		imported = res.Imported
	}
	if derr := s.Files.Delete(ctx, importKey(id)); derr != nil {
		s.Log.Warn("deleting the file of an import job", "job", id, "err", derr)
	}
	resJSON, jerr := json.Marshal(res)
	if jerr != nil {
		s.Log.Error("encoding an import result", "job", id, "err", jerr)
		resJSON = []byte("null")
	}
	if err != nil {
		msg := "导入失败：" + err.Error()
		if ge, ok := gql.AsError(err); ok {
			msg = ge.Message
		} else {
			s.Log.Error("knowledge import failed", "job", id, "err", err)
		}
		_, err = s.Pool.Exec(ctx, `UPDATE kb_import_jobs SET state = 'failed', error = $2, result = $3, imported = $4,
			phase = COALESCE(NULLIF($5, ''), phase), total = $6, done = $7, finished_at = now() WHERE id = $1`,
			id, msg, resJSON, imported, seen.Phase, seen.Total, seen.Done)
	} else {
		_, err = s.Pool.Exec(ctx, `UPDATE kb_import_jobs SET state = 'done', result = $2, imported = $3,
			phase = COALESCE(NULLIF($4, ''), phase), total = $5, done = $5, finished_at = now() WHERE id = $1`,
			id, resJSON, imported, seen.Phase, seen.Total)
	}
	if err != nil {
		s.Log.Error("recording the end of an import", "job", id, "err", err)
	}
}

// recoverImports marks this node's imports that were running when it
// stopped as failed; the articles they wrote are kept and found in the
// importer's drafts.
func (s *Service) recoverImports(ctx context.Context) error {
	rows, err := s.Pool.Query(ctx, `UPDATE kb_import_jobs SET state = 'failed', finished_at = now(),
		error = format('服务重启，导入中断：已导入 %s 条，请在草稿中核对后导入其余行', imported) WHERE state = 'running' AND node = $1 RETURNING id`, s.Node)
	if err != nil {
		return fmt.Errorf("recovering knowledge import jobs: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("recovering knowledge import jobs: %w", err)
	}
	for _, id := range ids {
		if err := s.Files.Delete(ctx, importKey(id)); err != nil {
			s.Log.Warn("deleting the file of an interrupted import job", "job", id, "err", err)
		}
	}
	return nil
}

// WaitImports waits for running imports (tests, shutdown).
func (s *Service) WaitImports() { s.imports.Wait() }

const importJobColumns = `id, file_name, state, phase, total, done, imported, result, error, created_at, finished_at`

func scanImportJob(row pgx.Row) (ImportJob, error) {
	var j ImportJob
	err := row.Scan(&j.ID, &j.FileName, &j.State, &j.Phase, &j.Total, &j.Done, &j.Imported, &j.Result, &j.Error, &j.CreatedAt, &j.FinishedAt)
	return j, err
}

// ImportJobOf returns one of p's import jobs.
func (s *Service) ImportJobOf(ctx context.Context, p *identity.Principal, id int64) (ImportJob, error) {
	j, err := scanImportJob(s.Pool.QueryRow(ctx, `SELECT `+importJobColumns+` FROM kb_import_jobs WHERE id = $1 AND user_id = $2`, id, p.UserID))
	if err == pgx.ErrNoRows {
		return ImportJob{}, gql.FieldError("id", "没有编号为 %d 的导入任务", id)
	}
	if err != nil {
		return ImportJob{}, fmt.Errorf("reading import job %d: %w", id, err)
	}
	return j, nil
}

// ImportJobs lists p's newest import jobs.
func (s *Service) ImportJobs(ctx context.Context, p *identity.Principal, n int) ([]ImportJob, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+importJobColumns+` FROM kb_import_jobs WHERE user_id = $1 ORDER BY id DESC LIMIT $2`, p.UserID, n)
	if err != nil {
		return nil, fmt.Errorf("listing import jobs: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ImportJob, error) { return scanImportJob(r) })
}
