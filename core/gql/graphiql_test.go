package gql

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func graphiqlServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	gh := GraphiQLHandler("/graphql")
	mux.Handle("/graphiql", gh)
	mux.Handle("/graphiql/", gh)
	mux.Handle("/admin/", http.StripPrefix("/admin", gh))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	// Go's transport would add gzip and decode it transparently; be explicit.
	req.Header.Set("Accept-Encoding", "identity")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(body)
}

var srcRE = regexp.MustCompile(`(?:src|href)="([^"]+)"`)

func TestGraphiQLPageAndAssets(t *testing.T) {
	srv := graphiqlServer(t)
	for _, page := range []string{"/graphiql", "/graphiql/", "/admin/console"} {
		res, body := get(t, srv.URL+page)
		require.Equal(t, http.StatusOK, res.StatusCode, page)
		assert.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
		assert.Contains(t, body, "<title>热线平台 GraphQL 控制台</title>")
		assert.Contains(t, body, `Bearer \u003ctoken\u003e`, "headers hint, JS-escaped")
		assert.Contains(t, body, `var endpoint = "/graphql";`)
		assert.NotContains(t, body, "cdn", "nothing may come from outside")
		assert.NotContains(t, body, "unpkg")
		csp := res.Header.Get("Content-Security-Policy")
		assert.Contains(t, csp, "script-src 'self' 'nonce-")
		assert.Contains(t, body, `nonce="`+strings.Split(strings.Split(csp, "'nonce-")[1], "'")[0]+`"`)

		refs := srcRE.FindAllStringSubmatch(body, -1)
		require.Len(t, refs, 4, page)
		want := map[string]string{
			"react.production.min.js":     "text/javascript; charset=utf-8",
			"react-dom.production.min.js": "text/javascript; charset=utf-8",
			"graphiql.min.js":             "text/javascript; charset=utf-8",
			"graphiql.min.css":            "text/css; charset=utf-8",
		}
		for _, ref := range refs {
			// Resolve the relative reference as a browser would.
			u, err := res.Request.URL.Parse(ref[1])
			require.NoError(t, err)
			ares, abody := get(t, u.String())
			require.Equal(t, http.StatusOK, ares.StatusCode, u.String())
			name := u.Path[strings.LastIndex(u.Path, "/")+1:]
			assert.Equal(t, want[name], ares.Header.Get("Content-Type"), name)
			assert.Contains(t, ares.Header.Get("Cache-Control"), "immutable", name)
			assert.Greater(t, len(abody), 1000, name)
			delete(want, name)
		}
		assert.Empty(t, want, "every asset referenced")
	}
}

func TestGraphiQLAssetDetails(t *testing.T) {
	srv := graphiqlServer(t)

	res, body := get(t, srv.URL+"/graphiql/assets/graphiql.min.js", "Accept-Encoding", "gzip")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "gzip", res.Header.Get("Content-Encoding"))
	zr, err := gzip.NewReader(strings.NewReader(body))
	require.NoError(t, err)
	plain, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(plain), "!function("), "UMD bundle")
	assert.Less(t, len(body), len(plain)/2)
	assert.Equal(t, "no-cache", res.Header.Get("Cache-Control"), "unversioned URL must revalidate")

	res, _ = get(t, srv.URL+"/graphiql/assets/graphiql.min.js", "If-None-Match", res.Header.Get("ETag"))
	assert.Equal(t, http.StatusNotModified, res.StatusCode)

	for _, p := range []string{"/graphiql/assets/README.md", "/graphiql/assets/update.sh", "/graphiql/assets/embed.go", "/graphiql/assets/LICENSE.react", "/graphiql/assets/"} {
		res, _ = get(t, srv.URL+p)
		assert.Equal(t, http.StatusNotFound, res.StatusCode, p)
	}

	req := httptest.NewRequest(http.MethodPost, "/graphiql", nil)
	rec := httptest.NewRecorder()
	GraphiQLHandler("/graphql").ServeHTTP(rec, req)
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
}

func TestGraphiQLConnectSource(t *testing.T) {
	assert.Equal(t, "'self'", connectSource("/graphql"))
	assert.Equal(t, "'self' https://api.example.org", connectSource("https://api.example.org/graphql"))
}
