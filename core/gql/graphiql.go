package gql

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/hotline12345/hotline/ui"
)

// graphiqlAssets lists what the console page may load; nothing else in
// the embedded folder (README, update script, licenses) is served.
var graphiqlAssets = map[string]string{
	"react.production.min.js":     "text/javascript; charset=utf-8",
	"react-dom.production.min.js": "text/javascript; charset=utf-8",
	"graphiql.min.js":             "text/javascript; charset=utf-8",
	"graphiql.min.css":            "text/css; charset=utf-8",
}

type asset struct {
	contentType string
	etag        string
	version     string
	plain       []byte
	gzipped     []byte
}

var (
	assetsOnce sync.Once
	assets     map[string]*asset
	assetsErr  error
)

// loadAssets reads and pre-compresses the embedded files once: gzip shrinks
// GraphiQL about threefold, which matters on the thin links of county-level
// centres.
func loadAssets() (map[string]*asset, error) {
	assetsOnce.Do(func() {
		assets = map[string]*asset{}
		for name, ct := range graphiqlAssets {
			b, err := fs.ReadFile(ui.GraphiQL, "graphiql/"+name)
			if err != nil {
				assetsErr = fmt.Errorf("reading embedded GraphiQL asset %s: %w", name, err)
				return
			}
			sum := sha256.Sum256(b)
			var gz bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
			if _, err := zw.Write(b); err != nil {
				assetsErr = fmt.Errorf("compressing GraphiQL asset %s: %w", name, err)
				return
			}
			if err := zw.Close(); err != nil {
				assetsErr = fmt.Errorf("compressing GraphiQL asset %s: %w", name, err)
				return
			}
			v := hex.EncodeToString(sum[:8])
			assets[name] = &asset{contentType: ct, etag: `"` + v + `"`, version: v, plain: b, gzipped: gz.Bytes()}
		}
	})
	return assets, assetsErr
}

// GraphiQLHandler serves the GraphiQL console for the GraphQL endpoint
// (a URL or path such as "/graphql"): the page at the mounted path and its
// assets below it, "<path>/assets/<file>". Mount it on both forms:
//
//	mux.Handle("/graphiql", h)
//	mux.Handle("/graphiql/", h)
//
// Headers typed into the console are not persisted: agents share
// workstations between shifts, and a bearer token left in localStorage
// would let the next person act in the previous one's name.
func GraphiQLHandler(endpoint string) http.Handler {
	return &graphiqlHandler{endpoint: endpoint, connectSrc: connectSource(endpoint)}
}

type graphiqlHandler struct {
	endpoint   string
	connectSrc string
}

func (h *graphiqlHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	all, err := loadAssets()
	if err != nil {
		http.Error(w, "GraphiQL assets unavailable", http.StatusInternalServerError)
		return
	}
	if name, ok := assetName(r.URL.Path); ok {
		a, ok := all[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		serveAsset(w, r, name, a)
		return
	}
	h.servePage(w, r, all)
}

// assetName extracts the file name from ".../assets/<file>"; the prefix is
// whatever the handler is mounted under, with or without http.StripPrefix.
func assetName(p string) (string, bool) {
	if rest, ok := strings.CutPrefix(p, "assets/"); ok {
		return rest, true
	}
	if i := strings.LastIndex(p, "/assets/"); i >= 0 {
		return p[i+len("/assets/"):], true
	}
	return "", false
}

func serveAsset(w http.ResponseWriter, r *http.Request, name string, a *asset) {
	hd := w.Header()
	hd.Set("Content-Type", a.contentType)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("ETag", a.etag)
	hd.Set("Vary", "Accept-Encoding")
	// The page links assets with ?v=<content hash>, so a cached copy can
	// never be stale.
	if r.URL.Query().Get("v") == a.version {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	body := a.plain
	if acceptsGzip(r) {
		hd.Set("Content-Encoding", "gzip")
		body = a.gzipped
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(body))
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// assetBase returns the asset prefix relative to the page URL as the
// browser sees it. It works from RequestURI because http.StripPrefix
// rewrites URL.Path but the browser resolves against the original.
func assetBase(r *http.Request) string {
	p := r.URL.Path
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && r.RequestURI != "" {
		p = u.Path
	}
	if p == "" || strings.HasSuffix(p, "/") {
		return "assets/"
	}
	return path.Base(p) + "/assets/"
}

// connectSource is the CSP connect-src: the page's own origin, plus the
// endpoint's origin when it is an absolute URL elsewhere.
func connectSource(endpoint string) string {
	src := "'self'"
	if u, err := url.Parse(endpoint); err == nil && u.Scheme != "" && u.Host != "" {
		src += " " + u.Scheme + "://" + u.Host
	}
	return src
}

func (h *graphiqlHandler) servePage(w http.ResponseWriter, r *http.Request, all map[string]*asset) {
	var nb [16]byte
	_, _ = rand.Read(nb[:])
	nonce := hex.EncodeToString(nb[:])
	base := assetBase(r)
	src := func(name string) string { return base + name + "?v=" + all[name].version }

	var page bytes.Buffer
	if err := graphiqlPage.Execute(&page, map[string]any{
		"Nonce":          nonce,
		"Endpoint":       h.endpoint,
		"CSS":            src("graphiql.min.css"),
		"React":          src("react.production.min.js"),
		"ReactDOM":       src("react-dom.production.min.js"),
		"GraphiQL":       src("graphiql.min.js"),
		"DefaultHeaders": defaultHeaders,
		"DefaultQuery":   defaultQuery,
	}); err != nil {
		http.Error(w, "rendering GraphiQL page failed", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "SAMEORIGIN")
	// GraphiQL injects style attributes, hence 'unsafe-inline' for styles
	// only; scripts are limited to our own files and the nonced starter.
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self' 'nonce-"+nonce+"'; "+
		"style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src "+h.connectSrc+"; "+
		"base-uri 'none'; form-action 'none'; frame-ancestors 'self'")
	_, _ = w.Write(page.Bytes())
}

// defaultHeaders is shown in the headers editor as a hint. The fetcher
// drops the placeholder value, so the console works (anonymously) until
// a real token is pasted.
const defaultHeaders = `{
  "Authorization": "Bearer <token>"
}`

const defaultQuery = `# 热线平台 GraphQL 控制台
#
# 在下方 Headers 中把 <token> 换成登录令牌后再执行需要权限的操作；
# 令牌不会保存在浏览器里。按 Ctrl-Enter 执行，Ctrl-Space 自动补全，
# 左侧文档图标可浏览全部类型与字段。
#
# Replace <token> in Headers below with your access token (it is not
# stored). Ctrl-Enter runs the query; the docs icon shows the schema.

{
  __typename
}
`

var graphiqlPage = template.Must(template.New("graphiql").Parse(`<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>热线平台 GraphQL 控制台</title>
<link rel="stylesheet" href="{{.CSS}}">
<style>html, body, #graphiql { height: 100%; margin: 0; overflow: hidden; }</style>
</head>
<body>
<div id="graphiql">正在加载 GraphQL 控制台… (loading GraphiQL)</div>
<script src="{{.React}}"></script>
<script src="{{.ReactDOM}}"></script>
<script src="{{.GraphiQL}}"></script>
<script nonce="{{.Nonce}}">
(function () {
  var endpoint = {{.Endpoint}};
  var placeholder = /<token>/;
  function fetcher(params, opts) {
    var headers = { "Content-Type": "application/json", "Accept": "application/json" };
    var extra = (opts && opts.headers) || {};
    Object.keys(extra).forEach(function (k) {
      if (k.toLowerCase() === "authorization" && placeholder.test(String(extra[k]))) { return; }
      headers[k] = extra[k];
    });
    return fetch(endpoint, {
      method: "POST",
      headers: headers,
      body: JSON.stringify(params),
      credentials: "same-origin"
    }).then(function (res) { return res.json(); });
  }
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultHeaders: {{.DefaultHeaders}},
    defaultQuery: {{.DefaultQuery}},
    defaultEditorToolsVisibility: "headers",
    shouldPersistHeaders: false
  }));
})();
</script>
</body>
</html>
`))
