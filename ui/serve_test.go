package ui

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func built() fstest.MapFS {
	return fstest.MapFS{
		"dist/.gitkeep":              {},
		"dist/index.html":            {Data: []byte("<!doctype html><title>app</title>")},
		"dist/index.html.gz":         {Data: []byte("GZ-INDEX")},
		"dist/assets/app-1a2b.js":    {Data: []byte("console.log(1)")},
		"dist/assets/app-1a2b.js.br": {Data: []byte("BR-JS")},
		"dist/assets/app-1a2b.js.gz": {Data: []byte("GZ-JS")},
		"dist/favicon.svg":           {Data: []byte("<svg/>")},
	}
}

func get(t *testing.T, h http.Handler, method, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestAppServesFilesCompressedAndCached(t *testing.T) {
	h := newApp(built())
	tests := []struct {
		name, target, accept         string
		status                       int
		body, encoding, cache, ctype string
	}{
		{"hashed asset, brotli preferred", "/assets/app-1a2b.js", "gzip, deflate, br", 200, "BR-JS", "br", "public, max-age=31536000, immutable", "text/javascript; charset=utf-8"},
		{"hashed asset, gzip only", "/assets/app-1a2b.js", "gzip", 200, "GZ-JS", "gzip", "public, max-age=31536000, immutable", "text/javascript; charset=utf-8"},
		{"brotli refused with q=0", "/assets/app-1a2b.js", "br;q=0, gzip", 200, "GZ-JS", "gzip", "public, max-age=31536000, immutable", "text/javascript; charset=utf-8"},
		{"identity", "/assets/app-1a2b.js", "", 200, "console.log(1)", "", "public, max-age=31536000, immutable", "text/javascript; charset=utf-8"},
		{"index revalidated", "/", "gzip", 200, "GZ-INDEX", "gzip", "no-cache", "text/html; charset=utf-8"},
		{"client route falls back to index", "/w/agent/todo", "", 200, "<!doctype html><title>app</title>", "", "no-cache", "text/html; charset=utf-8"},
		{"unhashed file revalidated", "/favicon.svg", "", 200, "<svg/>", "", "no-cache", "image/svg+xml"},
		{"missing asset is not the index", "/assets/app-old.js", "", 404, "", "", "", ""},
		{"missing file is not the index", "/robots.txt", "", 404, "", "", "", ""},
		{"reserved API path is never the app", "/graphql/x", "", 404, "", "", "", ""},
		{"reserved exports path", "/exports", "", 404, "", "", "", ""},
		{"reserved knowledge path", "/knowledge/other", "", 404, "", "", "", ""},
		{"the keep file is not served", "/.gitkeep", "", 404, "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := get(t, h, http.MethodGet, tt.target, "Accept-Encoding", tt.accept)
			require.Equal(t, tt.status, w.Code, w.Body.String())
			if tt.status != 200 {
				return
			}
			assert.Equal(t, tt.body, w.Body.String())
			assert.Equal(t, tt.encoding, w.Header().Get("Content-Encoding"))
			assert.Equal(t, tt.cache, w.Header().Get("Cache-Control"))
			assert.Equal(t, tt.ctype, w.Header().Get("Content-Type"))
			assert.Equal(t, "Accept-Encoding", w.Header().Get("Vary"))
		})
	}
}

func TestAppRevalidatesWithETag(t *testing.T) {
	h := newApp(built())
	first := get(t, h, http.MethodGet, "/")
	etag := first.Header().Get("ETag")
	require.NotEmpty(t, etag)
	again := get(t, h, http.MethodGet, "/", "If-None-Match", etag)
	assert.Equal(t, http.StatusNotModified, again.Code)
	assert.Empty(t, again.Body.String())
}

func TestAppRefusesWrites(t *testing.T) {
	w := get(t, newApp(built()), http.MethodPost, "/w/agent")
	assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
}

func TestAppWithoutBuildSaysHowToBuild(t *testing.T) {
	h := newApp(fstest.MapFS{"dist/.gitkeep": {}})
	for _, target := range []string{"/", "/login"} {
		w := get(t, h, http.MethodGet, target)
		require.Equal(t, http.StatusOK, w.Code)
		assert.Contains(t, w.Body.String(), "make ui")
		assert.Equal(t, "no-cache", w.Header().Get("Cache-Control"))
	}
	assert.Equal(t, http.StatusNotFound, get(t, h, http.MethodGet, "/assets/app.js").Code)
}
