// Package attachment stores the files citizens and clerks attach to
// tickets (附件): each upload is its own record (a random id, its name, time
// and uploader), so nothing about one user's upload shows through another's;
// the bytes are kept once by content (their SHA-256), so a file uploaded
// twice is stored once. Files are checked by what the bytes are rather than
// what the name says, and refused whole — too big, of a refused type, or
// truncated — before anything is stored.
package attachment

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/core/filestore"
	"github.com/hotline12345/hotline/core/identity"
)

// Key is where the bytes of attachment (or content hash) id are kept in
// the file store, two levels of fan-out deep (ab/cd/abcd…) so no folder
// grows huge.
func Key(id string) string { return "attachments/" + id[:2] + "/" + id[2:4] + "/" + id }

// Attachment is the record of one upload.
type Attachment struct {
	// ID names this upload alone: random, never derived from the bytes.
	ID        string `json:"id"`
	Size      int64  `json:"size"`
	MediaType string `json:"mediaType"`
	// SHA256 is the hash of the bytes, under which they are stored once.
	SHA256    string    `json:"sha256"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
}

// Service takes uploads and serves downloads.
type Service struct {
	Pool  *pgxpool.Pool
	Files filestore.Store
	// MaxBytes is the largest file accepted.
	MaxBytes int64
	// TempDir holds uploads while they are checked (on the file store's
	// file system, storing is a rename).
	TempDir string
	Log     *slog.Logger
	// CanSee reports whether p may download attachment id (for instance:
	// it is on a ticket in p's scope). The uploader always may.
	CanSee func(ctx context.Context, p *identity.Principal, id string) (bool, error)
}

// ErrTooBig is wrapped when a file is over MaxBytes.
var ErrTooBig = errors.New("attachment too big")

var idPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Upload reads a file, checks it and stores it with its record. Nothing is
// stored when a check fails.
func (s *Service) Upload(ctx context.Context, p *identity.Principal, name string, r io.Reader) (Attachment, error) {
	name = cleanName(name)
	if err := os.MkdirAll(s.TempDir, 0o750); err != nil {
		return Attachment{}, fmt.Errorf("preparing uploads: %w", err)
	}
	tmp, err := os.CreateTemp(s.TempDir, ".upload-*")
	if err != nil {
		return Attachment{}, fmt.Errorf("receiving the file: %w", err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name()) // gone already when stored
	}()
	h := sha256.New()
	// One byte more than allowed tells an oversized file without reading
	// all of it.
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, s.MaxBytes+1))
	if err != nil {
		return Attachment{}, fmt.Errorf("receiving the file: %w", err)
	}
	if n > s.MaxBytes {
		return Attachment{}, fmt.Errorf("%w: 文件超过 %s 的上限", ErrTooBig, humanBytes(s.MaxBytes))
	}
	if n == 0 {
		return Attachment{}, refuse("文件是空的")
	}
	mt, err := Check(tmp, n)
	if err != nil {
		return Attachment{}, err
	}
	a := Attachment{ID: newID(), Size: n, MediaType: mt, SHA256: hex.EncodeToString(h.Sum(nil)), Name: name}
	stored, err := s.Files.Has(ctx, Key(a.SHA256))
	if err != nil {
		return Attachment{}, fmt.Errorf("storing attachment %s: %w", a.ID, err)
	}
	if !stored {
		if err := s.Files.Move(ctx, Key(a.SHA256), tmp.Name()); err != nil {
			return Attachment{}, err
		}
	}
	if err := s.Files.Link(ctx, Key(a.ID), Key(a.SHA256)); err != nil {
		return Attachment{}, err
	}
	// The record after the bytes: a record always has its file. Every
	// upload gets a record of its own, even of bytes stored already, so one
	// uploader never sees another's name or time, nor loses their upload.
	err = s.Pool.QueryRow(ctx, `INSERT INTO attachments (id, size, media_type, sha256, name, uploaded_by) VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING created_at`, a.ID, a.Size, a.MediaType, a.SHA256, a.Name, p.UserID).Scan(&a.CreatedAt)
	if err != nil {
		return Attachment{}, fmt.Errorf("recording attachment %s: %w", a.ID, err)
	}
	return a, nil
}

// newID returns a random upload id in the shape of a SHA-256 (64 hex
// digits), the shape forms and tickets already check attachment ids by.
func newID() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func cleanName(name string) string {
	name = filepath.Base(strings.ReplaceAll(name, `\`, "/"))
	if name == "." || name == "/" || name == "" {
		return "附件"
	}
	if r := []rune(name); len(r) > 200 {
		name = string(r[:200])
	}
	return name
}

func humanBytes(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d KB", n>>10)
}

// Get returns a record p may see.
func (s *Service) Get(ctx context.Context, p *identity.Principal, id string) (Attachment, error) {
	if !idPattern.MatchString(id) {
		return Attachment{}, os.ErrNotExist
	}
	var a Attachment
	var uploader *int64
	err := s.Pool.QueryRow(ctx, `SELECT id, size, media_type, sha256, name, created_at, uploaded_by FROM attachments WHERE id = $1`, id).
		Scan(&a.ID, &a.Size, &a.MediaType, &a.SHA256, &a.Name, &a.CreatedAt, &uploader)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, os.ErrNotExist
	}
	if err != nil {
		return a, fmt.Errorf("reading attachment %s: %w", id, err)
	}
	if uploader != nil && *uploader == p.UserID {
		return a, nil
	}
	if s.CanSee != nil {
		ok, err := s.CanSee(ctx, p, id)
		if err != nil {
			return a, err
		}
		if ok {
			return a, nil
		}
	}
	return a, os.ErrNotExist
}

// Handlers serves POST /attachments (multipart field "file") and GET
// /attachments/{id}; auth signs the request in.
func (s *Service) Handlers(mux *http.ServeMux, auth func(*http.Request) (*identity.Principal, error)) {
	signedIn := func(w http.ResponseWriter, r *http.Request) *identity.Principal {
		p, err := auth(r)
		if err != nil || p == nil {
			writeError(w, http.StatusUnauthorized, "请先登录")
			return nil
		}
		return p
	}
	mux.HandleFunc("POST /attachments", func(w http.ResponseWriter, r *http.Request) {
		p := signedIn(w, r)
		if p == nil {
			return
		}
		// The body may hold multipart headers beyond the file itself.
		r.Body = http.MaxBytesReader(w, r.Body, s.MaxBytes+1<<20)
		mr, err := r.MultipartReader()
		if err != nil {
			writeError(w, http.StatusBadRequest, "请以 multipart/form-data 上传，文件字段名为 file")
			return
		}
		for {
			part, err := mr.NextPart()
			if err != nil {
				writeError(w, http.StatusBadRequest, "请求中没有名为 file 的文件")
				return
			}
			if part.FormName() != "file" {
				continue
			}
			a, err := s.Upload(r.Context(), p, part.FileName(), part)
			var tooBig *http.MaxBytesError
			switch {
			case errors.Is(err, ErrTooBig) || errors.As(err, &tooBig):
				writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("附件：文件超过 %s 的上限", humanBytes(s.MaxBytes)))
			case errors.Is(err, ErrRefused):
				writeError(w, http.StatusUnsupportedMediaType, "附件："+strings.TrimPrefix(err.Error(), ErrRefused.Error()+": "))
			case err != nil:
				s.Log.Error("storing an upload", "err", err)
				writeError(w, http.StatusInternalServerError, "附件保存失败，请重试")
			default:
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusCreated)
				_ = json.NewEncoder(w).Encode(a)
			}
			return
		}
	})
	mux.HandleFunc("GET /attachments/{id}", func(w http.ResponseWriter, r *http.Request) {
		p := signedIn(w, r)
		if p == nil {
			return
		}
		a, err := s.Get(r.Context(), p, r.PathValue("id"))
		if err != nil {
			writeError(w, http.StatusNotFound, "附件不存在或无权查看")
			return
		}
		f, err := s.Files.Open(r.Context(), Key(a.ID))
		if err != nil {
			s.Log.Error("opening an attachment", "id", a.ID, "err", err)
			writeError(w, http.StatusInternalServerError, "附件文件缺失")
			return
		}
		defer f.Close()
		w.Header().Set("Content-Type", a.MediaType)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(a.Name))
		http.ServeContent(w, r, "", a.CreatedAt, f)
	})
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": msg, "field": "file"})
}
