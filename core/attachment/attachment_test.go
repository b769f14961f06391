package attachment_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/attachment"
	"github.com/hotline12345/hotline/core/filestore"
	"github.com/hotline12345/hotline/core/identity"
	"github.com/hotline12345/hotline/core/pgtest"
	"github.com/hotline12345/hotline/deploy/gen/gentest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func pngFile(t testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(1, 1, color.RGBA{R: 200, A: 255})
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

func jpegFile(t testing.TB) []byte {
	var b bytes.Buffer
	require.NoError(t, jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8)), nil))
	return b.Bytes()
}

func zipFile(t testing.TB, names ...string) []byte {
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	for _, n := range names {
		w, err := z.Create(n)
		require.NoError(t, err)
		_, _ = w.Write([]byte("<xml/>"))
	}
	require.NoError(t, z.Close())
	return b.Bytes()
}

var pdfFile = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

func TestCheckByContentNotName(t *testing.T) {
	half := func(b []byte) []byte { return b[:len(b)/2] }
	docx, xlsx := zipFile(t, "[Content_Types].xml", "word/document.xml"), zipFile(t, "[Content_Types].xml", "xl/workbook.xml")
	for _, tc := range []struct {
		name    string
		data    []byte
		want    string
		refused string
	}{
		{name: "png", data: pngFile(t), want: "image/png"},
		{name: "jpeg", data: jpegFile(t), want: "image/jpeg"},
		{name: "pdf", data: pdfFile, want: "application/pdf"},
		{name: "docx", data: docx, want: "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{name: "xlsx", data: xlsx, want: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
		{name: "amr", data: []byte("#!AMR\n\x3c\x91\x17\x16"), want: "audio/amr"},
		{name: "wav", data: append([]byte("RIFF\x24\x00\x00\x00WAVEfmt "), make([]byte, 32)...), want: "audio/wave"},
		{name: "text", data: []byte("来电人补充的情况说明"), want: "text/plain; charset=utf-8"},
		{name: "exe named .jpg", data: append([]byte("MZ\x90\x00"), make([]byte, 60)...), refused: "不支持的文件类型"},
		{name: "html", data: []byte("<html><script>alert(1)</script></html>"), refused: "不支持的文件类型"},
		{name: "plain zip", data: zipFile(t, "a.txt"), refused: "不支持的文件类型"},
		{name: "truncated png", data: half(pngFile(t)), refused: "文件不完整"},
		{name: "truncated jpeg", data: half(jpegFile(t)), refused: "文件不完整"},
		{name: "truncated pdf", data: half(pdfFile), refused: "文件不完整"},
		{name: "truncated docx", data: half(docx), refused: "文件不完整"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mt, err := attachment.Check(bytes.NewReader(tc.data), int64(len(tc.data)))
			if tc.refused != "" {
				require.ErrorIs(t, err, attachment.ErrRefused)
				assert.Contains(t, err.Error(), tc.refused)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, mt)
		})
	}
}

func FuzzCheck(f *testing.F) {
	f.Add(pngFile(f))
	f.Add(jpegFile(f))
	f.Add(pdfFile)
	f.Add(zipFile(f, "word/document.xml"))
	f.Add([]byte("#!AMR\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		mt, err := attachment.Check(bytes.NewReader(data), int64(len(data)))
		if err != nil && !errors.Is(err, attachment.ErrRefused) {
			t.Fatalf("a refusal must say why in the user's terms: %v", err)
		}
		if err == nil && mt == "" {
			t.Fatal("accepted without a media type")
		}
		// The verdict depends on the bytes alone.
		mt2, err2 := attachment.Check(bytes.NewReader(data), int64(len(data)))
		if mt != mt2 || (err == nil) != (err2 == nil) {
			t.Fatalf("not deterministic: %q %v / %q %v", mt, err, mt2, err2)
		}
	})
}

func TestUploadStoresOnceAndOnlyWhole(t *testing.T) {
	w := gentest.New(t, 0)
	ctx := context.Background()
	dir := t.TempDir()
	svc := &attachment.Service{Pool: w.Pool, Files: filestore.Dir{Root: dir}, TempDir: filepath.Join(dir, "incoming"),
		MaxBytes: 64 << 10, Log: slog.New(slog.DiscardHandler), CanSee: w.Search.AttachmentVisible}
	agent := w.As(t, "agent")
	count := func() int {
		var n int
		require.NoError(t, w.Pool.QueryRow(ctx, `SELECT count(*) FROM attachments`).Scan(&n))
		return n
	}

	a, err := svc.Upload(ctx, agent, `C:\Users\王丽\现场照片.png`, bytes.NewReader(pngFile(t)))
	require.NoError(t, err)
	assert.Len(t, a.ID, 64)
	assert.Equal(t, "现场照片.png", a.Name)
	assert.Equal(t, "image/png", a.MediaType)
	again, err := svc.Upload(ctx, agent, "again.png", bytes.NewReader(pngFile(t)))
	require.NoError(t, err)
	assert.NotEqual(t, a.ID, again.ID, "every upload is its own record")
	assert.Equal(t, "again.png", again.Name)
	assert.Equal(t, a.SHA256, again.SHA256)
	assert.Equal(t, 2, count())
	assert.True(t, sameFile(t, dir, a.ID, again.ID), "the bytes are stored once")

	_, err = svc.Upload(ctx, agent, "big.pdf", bytes.NewReader(append(pdfFile, make([]byte, 64<<10)...)))
	assert.ErrorIs(t, err, attachment.ErrTooBig)
	_, err = svc.Upload(ctx, agent, "photo.jpg", bytes.NewReader(jpegFile(t)[:100]))
	assert.ErrorIs(t, err, attachment.ErrRefused)
	assert.Equal(t, 2, count(), "nothing recorded for refused files")
	left, err := os.ReadDir(filepath.Join(dir, "incoming"))
	require.NoError(t, err)
	assert.Empty(t, left, "no half-received files left behind")

	// Over HTTP: who may download.
	mux := http.NewServeMux()
	as := map[string]*identity.Principal{"agent": agent, "clerk": w.As(t, "clerk"), "admin": w.As(t, "admin")}
	svc.Handlers(mux, func(r *http.Request) (*identity.Principal, error) { return as[r.Header.Get("X-User")], nil })
	do := func(user, method, path string, body *bytes.Buffer, contentType string) *httptest.ResponseRecorder {
		if body == nil {
			body = &bytes.Buffer{}
		}
		req := httptest.NewRequest(method, path, body)
		req.Header.Set("X-User", user)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		return rec
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", "说明.pdf")
	require.NoError(t, err)
	_, _ = fw.Write(pdfFile)
	require.NoError(t, mw.Close())
	rec := do("agent", "POST", "/attachments", &body, mw.FormDataContentType())
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	var up attachment.Attachment
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &up))
	assert.Equal(t, "application/pdf", up.MediaType)

	rec = do("agent", "GET", "/attachments/"+up.ID, nil, "")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, pdfFile, rec.Body.Bytes())
	assert.Equal(t, http.StatusNotFound, do("admin", "GET", "/attachments/"+up.ID, nil, "").Code, "not on any ticket yet")
	assert.Equal(t, http.StatusUnauthorized, do("", "GET", "/attachments/"+up.ID, nil, "").Code)

	_, err = w.Engine.Create(ctx, agent, "ticket", "register", map[string]any{"caller": "张三", "caller_phone": "13900001111", "type": "投诉",
		"title": "附件测试", "content": "见附件", "attachments": []any{up.ID}})
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, do("admin", "GET", "/attachments/"+up.ID, nil, "").Code, "on a ticket the admin sees")
	assert.Equal(t, http.StatusNotFound, do("clerk", "GET", "/attachments/"+up.ID, nil, "").Code, "the ticket is outside the clerk's scope")

	var exe bytes.Buffer
	mw = multipart.NewWriter(&exe)
	fw, _ = mw.CreateFormFile("file", "照片.jpg")
	_, _ = fw.Write(append([]byte("MZ\x90\x00"), make([]byte, 60)...))
	require.NoError(t, mw.Close())
	rec = do("agent", "POST", "/attachments", &exe, mw.FormDataContentType())
	assert.Equal(t, http.StatusUnsupportedMediaType, rec.Code)
	assert.Contains(t, rec.Body.String(), "不支持的文件类型")
}

// sameFile reports whether two attachments in a folder share one copy of
// their bytes on disk.
func sameFile(t *testing.T, dir, a, b string) bool {
	t.Helper()
	stat := func(id string) os.FileInfo {
		fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(attachment.Key(id))))
		require.NoError(t, err)
		return fi
	}
	return os.SameFile(stat(a), stat(b))
}

// Two users upload the same bytes: each gets a record of their own (id,
// name, time, uploader), neither sees the other's, and both keep access to
// their own; the bytes are stored once. A record from before per-upload
// records (its id is its content hash) is still served.
func TestSameBytesFromTwoUsersAreTwoUploads(t *testing.T) {
	w := gentest.New(t, 0)
	ctx := context.Background()
	dir := t.TempDir()
	svc := &attachment.Service{Pool: w.Pool, Files: filestore.Dir{Root: dir}, TempDir: filepath.Join(dir, "incoming"),
		MaxBytes: 64 << 10, Log: slog.New(slog.DiscardHandler), CanSee: w.Search.AttachmentVisible}
	as := map[string]*identity.Principal{"agent": w.As(t, "agent"), "clerk": w.As(t, "clerk"), "admin": w.As(t, "admin")}
	mux := http.NewServeMux()
	svc.Handlers(mux, func(r *http.Request) (*identity.Principal, error) { return as[r.Header.Get("X-User")], nil })
	upload := func(user, name string, data []byte) attachment.Attachment {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, err := mw.CreateFormFile("file", name)
		require.NoError(t, err)
		_, _ = fw.Write(data)
		require.NoError(t, mw.Close())
		req := httptest.NewRequest("POST", "/attachments", &body)
		req.Header.Set("X-User", user)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		var a attachment.Attachment
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &a))
		return a
	}
	get := func(user, id string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/attachments/"+id, nil)
		req.Header.Set("X-User", user)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		return rec
	}

	photo := pngFile(t)
	first := upload("agent", "现场照片.png", photo)
	second := upload("clerk", "我拍的照片.png", photo)

	assert.NotEqual(t, first.ID, second.ID)
	assert.Equal(t, "我拍的照片.png", second.Name, "not the first uploader's name")
	assert.True(t, second.CreatedAt.After(first.CreatedAt), "not the first upload's time")
	assert.Equal(t, first.SHA256, second.SHA256)
	assert.True(t, sameFile(t, dir, first.ID, second.ID), "the bytes are stored once")
	var uploaders []int64
	require.NoError(t, w.Pool.QueryRow(ctx, `SELECT array_agg(uploaded_by ORDER BY created_at) FROM attachments WHERE sha256 = $1`,
		first.SHA256).Scan(&uploaders))
	assert.Equal(t, []int64{as["agent"].UserID, as["clerk"].UserID}, uploaders)

	for _, tc := range []struct {
		user, id, name string
		status         int
	}{
		{"agent", first.ID, "现场照片.png", http.StatusOK},
		{"clerk", second.ID, "我拍的照片.png", http.StatusOK},
		{"clerk", first.ID, "", http.StatusNotFound},
		{"agent", second.ID, "", http.StatusNotFound},
	} {
		rec := get(tc.user, tc.id)
		require.Equal(t, tc.status, rec.Code, "%s downloading %s", tc.user, tc.id)
		if tc.status == http.StatusOK {
			assert.Equal(t, photo, rec.Body.Bytes())
			assert.Contains(t, rec.Header().Get("Content-Disposition"), url.PathEscape(tc.name))
		}
	}
	got, err := svc.Get(ctx, as["clerk"], second.ID)
	require.NoError(t, err)
	assert.Equal(t, second.Name, got.Name)
	assert.Equal(t, as["clerk"].UserID, uploaders[1])

	// A ticket holding the agent's upload shows that upload to whoever
	// sees the ticket, and only that one.
	_, err = w.Engine.Create(ctx, as["agent"], "ticket", "register", map[string]any{"caller": "张三", "caller_phone": "13900001111",
		"type": "投诉", "title": "附件测试", "content": "见附件", "attachments": []any{first.ID}})
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, get("admin", first.ID).Code)
	assert.Equal(t, http.StatusNotFound, get("admin", second.ID).Code)

	// A record from before per-upload records: its id is its content hash.
	legacy := jpegFile(t)
	sum := sha256.Sum256(legacy)
	id := hex.EncodeToString(sum[:])
	require.NoError(t, filestore.Dir{Root: dir}.Put(ctx, attachment.Key(id), bytes.NewReader(legacy)))
	_, err = w.Pool.Exec(ctx, `INSERT INTO attachments (id, size, media_type, sha256, name, uploaded_by) VALUES ($1, $2, 'image/jpeg', $1, 'old.jpg', $3)`,
		id, len(legacy), as["agent"].UserID)
	require.NoError(t, err)
	rec := get("agent", id)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, legacy, rec.Body.Bytes())
	again := upload("clerk", "same-as-old.jpg", legacy)
	assert.NotEqual(t, id, again.ID)
	assert.Equal(t, http.StatusOK, get("clerk", again.ID).Code)
	assert.Equal(t, http.StatusNotFound, get("clerk", id).Code)
}
