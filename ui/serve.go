package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// dist is the built web app (`make ui`: npm ci and vite build in ui/). A
// fresh clone has only dist/.gitkeep, and App then serves a page saying
// how to build it, so the Go build never needs Node.
//
//go:embed all:dist
var dist embed.FS

// Reserved are the path prefixes of the server's own endpoints: the app's
// client-side routes never take them, so a mistyped API path is a 404
// rather than the app's index page.
var Reserved = []string{"/graphql", "/graphiql", "/healthz", "/readyz", "/metrics", "/attachments", "/exports",
	"/recordings", "/knowledge/"}

// asset is one file of dist with its precompressed variants (written by
// the build beside it as NAME.br and NAME.gz).
type asset struct {
	name     string
	raw      []byte
	br, gz   []byte
	etag     string
	ctype    string
	immortal bool // content-hashed name: cached for a year
}

// App serves the web app from the embedded dist: each file under its
// path, brotli or gzip when the browser accepts it, hashed assets under
// assets/ cached for a year and everything else revalidated; any other
// path without a file extension gets index.html, so the app's client-side
// routes survive a reload.
func App() http.Handler { return newApp(dist) }

func newApp(fsys fs.FS) http.Handler { return &app{fsys: fsys} }

type app struct {
	fsys   fs.FS
	once   sync.Once
	assets map[string]*asset
}

func (a *app) load() {
	a.assets = map[string]*asset{}
	_ = fs.WalkDir(a.fsys, "dist", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".br") || strings.HasSuffix(p, ".gz") || path.Base(p) == ".gitkeep" {
			return nil
		}
		raw, err := fs.ReadFile(a.fsys, p)
		if err != nil {
			return nil
		}
		name := strings.TrimPrefix(p, "dist/")
		sum := sha256.Sum256(raw)
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = http.DetectContentType(raw)
		}
		as := &asset{name: name, raw: raw, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, ctype: ct,
			immortal: strings.HasPrefix(name, "assets/")}
		as.br, _ = fs.ReadFile(a.fsys, p+".br")
		as.gz, _ = fs.ReadFile(a.fsys, p+".gz")
		a.assets[name] = as
		return nil
	})
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.once.Do(a.load)
	for _, p := range Reserved {
		if r.URL.Path == strings.TrimSuffix(p, "/") || strings.HasPrefix(r.URL.Path, p) {
			http.NotFound(w, r)
			return
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	as, ok := a.assets[name]
	if !ok {
		// A path that names a file (has an extension) and is not there is
		// a 404: an old hashed asset after an upgrade must not come back
		// as HTML the browser would try to run as a script.
		if ext := path.Ext(name); ext != "" || strings.HasPrefix(name, "assets/") {
			http.NotFound(w, r)
			return
		}
		as, ok = a.assets["index.html"]
		if !ok {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			_, _ = w.Write([]byte(notBuilt))
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", as.ctype)
	h.Set("ETag", as.etag)
	h.Set("Vary", "Accept-Encoding")
	h.Set("X-Content-Type-Options", "nosniff")
	if as.immortal {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	body := as.raw
	switch accepts := r.Header.Get("Accept-Encoding"); {
	case as.br != nil && acceptsEncoding(accepts, "br"):
		body = as.br
		h.Set("Content-Encoding", "br")
	case as.gz != nil && acceptsEncoding(accepts, "gzip"):
		body = as.gz
		h.Set("Content-Encoding", "gzip")
	}
	// ServeContent answers If-None-Match with 304 and HEAD without a body;
	// a zero modtime leaves Last-Modified out (the ETag decides).
	http.ServeContent(w, r, as.name, zeroTime, bytes.NewReader(body))
}

var zeroTime time.Time

// acceptsEncoding reports whether an Accept-Encoding header allows enc
// (listed, and not with q=0).
func acceptsEncoding(header, enc string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), enc) {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

// notBuilt is served at every app path when the binary was built without
// ui/dist (a fresh clone built with go build alone).
const notBuilt = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>热线服务平台</title></head>
<body style="font-family: 'Noto Sans CJK SC', sans-serif; margin: 3em">
<h1>热线服务平台</h1>
<p>服务已启动，但本程序构建时没有包含 Web 界面。请在源码目录运行 <code>make ui</code>（或 <code>make run</code>）后重新构建。</p>
<p>The web UI was not built into this binary: run <code>make ui</code> (npm ci and vite build in ui/), then build again.</p>
<ul>
<li><a href="/graphiql">GraphQL 控制台（GraphiQL）</a></li>
<li><a href="/readyz">就绪检查</a> · <a href="/healthz">健康检查</a> · <a href="/metrics">Prometheus 指标</a></li>
</ul>
</body></html>
`
