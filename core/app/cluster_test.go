package app_test

import (
	"context"
	"log/slog"
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
