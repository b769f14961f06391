package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/app"
	"github.com/hotline12345/hotline/core/pgtest"
)

// stoppable runs `hotline serve` in-process and returns its base URL; stop
// (also run at cleanup) shuts it down and waits.
func stoppable(t *testing.T, cfg app.Config, opts app.Options, log *slog.Logger) (base string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	opts.Listening = addr
	go func() { done <- app.Serve(ctx, cfg, opts, log) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(time.Minute):
			t.Error("server did not shut down")
		}
	}
	t.Cleanup(stop)
	select {
	case a := <-addr:
		return "http://" + a, stop
	case err := <-done:
		stopped = true
		cancel()
		t.Fatalf("server stopped before ready: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("server not ready in time")
	}
	return "", stop
}

// nodeConfig is one node of a cluster on db: its own data folder, SIP
// address and copy of the configuration folders.
func nodeConfig(t *testing.T, db string) app.Config {
	t.Helper()
	cfg := baseConfig(t)
	cfg.DatabaseURL = db
	cfg.ConfigDir = t.TempDir()
	for _, dir := range []string{"flows", "forms", "scripts"} {
		require.NoError(t, os.CopyFS(filepath.Join(cfg.ConfigDir, dir), os.DirFS(filepath.Join("../..", dir))))
	}
	return cfg
}

func permissions(t *testing.T, base, token string) []any {
	r := query(t, base, token, `{ me { permissions } }`, nil)
	if len(r.Errors) > 0 {
		return nil
	}
	p, _ := r.Data["me"].(map[string]any)["permissions"].([]any)
	return p
}

func TestTwoNodesAgreeOnAPublishAndARestartKeepsIt(t *testing.T) {
	db := pgtest.URL(t)
	cfgA, cfgB := nodeConfig(t, db), nodeConfig(t, db)
	a, _ := stoppable(t, cfgA, app.Options{Demo: true}, slog.New(slog.DiscardHandler))
	b, stopB := stoppable(t, cfgB, app.Options{Demo: true}, slog.New(slog.DiscardHandler))
	callbackOnB := login(t, b, "callback")
	require.NotContains(t, permissions(t, b, callbackOnB), "user.read")

	role := "kind: role\nname: callback\nlabel: 回访员\ndescription: 回访诉求人。\nscope: all\npermissions: [user.read]\n"
	r := query(t, a, login(t, a, "admin"), `mutation($s: String!) { publishConfig(kind: "role", name: "callback", source: $s) { ok problems { message } } }`,
		map[string]any{"s": role})
	require.Empty(t, r.Errors)
	require.Equal(t, true, r.Data["publishConfig"].(map[string]any)["ok"], "%v", r.Data)
	published := time.Now()
	require.Eventually(t, func() bool { return slices.Contains(permissions(t, b, callbackOnB), "user.read") }, 10*time.Second, 5*time.Millisecond,
		"node b runs node a's publish")
	t.Logf("node b ran the publish %s after node a answered it", time.Since(published).Round(time.Millisecond))

	// b restarts on its folder, which still holds the old role: the
	// publish stays, on b and on a.
	stopB()
	b, _ = stoppable(t, cfgB, app.Options{Demo: true}, slog.New(slog.DiscardHandler))
	assert.Contains(t, permissions(t, b, login(t, b, "callback")), "user.read", "a restart does not undo a publish")
	assert.Contains(t, permissions(t, a, login(t, a, "callback")), "user.read")
	r = query(t, a, login(t, a, "admin"), `{ configVersions(kind: "role", name: "callback") { version active } }`, nil)
	require.Empty(t, r.Errors)
	assert.Equal(t, map[string]any{"version": float64(2), "active": true}, r.Data["configVersions"].([]any)[0])
}

// TestAnyNodeServesTheFilesAnotherMade: two nodes, each with its own data
// folder, share the database and HOTLINE_FILES_DIR; what one stores (an
// attachment, an export) the other serves.
func TestAnyNodeServesTheFilesAnotherMade(t *testing.T) {
	db, shared := pgtest.URL(t), t.TempDir()
	cfgA, cfgB := nodeConfig(t, db), nodeConfig(t, db)
	cfgA.FilesDir, cfgB.FilesDir = shared, shared
	a, _ := stoppable(t, cfgA, app.Options{Demo: true}, slog.New(slog.DiscardHandler))
	b, _ := stoppable(t, cfgB, app.Options{Demo: true}, slog.New(slog.DiscardHandler))
	agentOnA, agentOnB := login(t, a, "agent"), login(t, b, "agent")
	get := func(url, token string) (int, string) {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}

	// An attachment uploaded to a is downloaded from b.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", "说明.txt")
	require.NoError(t, err)
	_, err = io.WriteString(fw, "暖气不热，已持续三天。")
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	req, err := http.NewRequest(http.MethodPost, a+"/attachments", &body)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+agentOnA)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var uploaded struct{ ID string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&uploaded))
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	code, text := get(b+"/attachments/"+uploaded.ID, agentOnB)
	require.Equal(t, http.StatusOK, code, text)
	assert.Equal(t, "暖气不热，已持续三天。", text)

	// An export run on a is downloaded from b.
	r := query(t, a, agentOnA, `mutation($in: JSON!) { createTicket(form: "ticket-register", input: $in) { number } }`,
		map[string]any{"in": map[string]any{"caller_phone": "13804711234", "title": "小区供暖不热", "content": "家中暖气不热已有三天。", "type": "投诉"}})
	require.Empty(t, r.Errors)
	number := r.Data["createTicket"].(map[string]any)["number"].(string)
	r = query(t, a, agentOnA, `mutation { startExport(format: "csv", form: "ticket-register", columns: ["number", "title"]) { id } }`, nil)
	require.Empty(t, r.Errors)
	id := r.Data["startExport"].(map[string]any)["id"]
	var url string
	require.Eventually(t, func() bool {
		r = query(t, b, agentOnB, `query($id: ID!) { exportJob(id: $id) { state downloadUrl } }`, map[string]any{"id": id})
		u, _ := r.Data["exportJob"].(map[string]any)["downloadUrl"].(string)
		url = u
		return u != ""
	}, 30*time.Second, 50*time.Millisecond, "the job finishes: %v", r.Data)
	code, text = get(b+url, agentOnB)
	require.Equal(t, http.StatusOK, code, text)
	assert.Contains(t, text, number)
	assert.Contains(t, text, "小区供暖不热")
	_, err = os.Stat(filepath.Join(shared, "exports", fmt.Sprint(id)))
	assert.NoError(t, err, "the file is in the shared folder")
}
