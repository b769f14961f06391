package configstore_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/configstore"
	"github.com/hotline12345/hotline/core/pgtest"
	"github.com/hotline12345/hotline/core/registry"
)

// node is one server's manager: its own folder, the shared database.
func node(t *testing.T, pool *pgxpool.Pool) (*configstore.Manager, string) {
	t.Helper()
	root := t.TempDir()
	write(t, root, "flows/roles.yaml", rolesV1)
	write(t, root, "flows/rules/urgent.yaml", ruleV1)
	return &configstore.Manager{Root: root, Dirs: configstore.DefaultDirs, Store: configstore.New(pool),
		Runtime: registry.NewRuntime(nil), Log: slog.New(slog.DiscardHandler)}, root
}

// label is the running label of a role, "" when it does not run (safe
// to call from Eventually's goroutine).
func label(t *testing.T, m *configstore.Manager, role string) string {
	t.Helper()
	d, ok := m.Runtime.Current().Get("role", role)
	if !ok {
		return ""
	}
	for _, l := range strings.Split(d.Source, "\n") {
		if v, ok := strings.CutPrefix(l, "label: "); ok {
			return v
		}
	}
	return ""
}

const clerkV2 = "kind: role\nname: clerk\nlabel: 承办单位人员\nscope: subtree\n"

func TestNodesRunTheDatabasesConfigurationNotTheirDisks(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	a, _ := node(t, pool)
	b, rootB := node(t, pool)
	res, err := a.Start(ctx, audit.System)
	require.NoError(t, err)
	require.Len(t, res.Changes, 3, "the first start seeds the database from the folder")
	res, err = b.Start(ctx, audit.System)
	require.NoError(t, err)
	assert.Empty(t, res.Changes, "a second node records nothing: the texts are the same")

	res, err = a.Publish(ctx, audit.Actor{Name: "admin"}, "role", "clerk", clerkV2, "rename")
	require.NoError(t, err)
	require.Empty(t, res.Problems)
	assert.Equal(t, "承办人", label(t, b, "clerk"), "b runs what it ran until it syncs")
	require.NoError(t, b.Sync(ctx))
	assert.Equal(t, "承办单位人员", label(t, b, "clerk"))
	assert.Equal(t, a.Generation(), b.Generation())

	// b restarts with its old file on disk: the publish stays.
	b2 := &configstore.Manager{Root: rootB, Dirs: configstore.DefaultDirs, Store: configstore.New(pool),
		Runtime: registry.NewRuntime(nil), Log: slog.New(slog.DiscardHandler)}
	res, err = b2.Start(ctx, audit.System)
	require.NoError(t, err)
	assert.Empty(t, res.Changes)
	assert.Equal(t, "承办单位人员", label(t, b2, "clerk"), "a restart does not undo a publish")
	res, err = b2.PublishEdits(ctx, audit.System)
	require.NoError(t, err)
	assert.Empty(t, res.Changes, "an older text on disk is not an edit")
	res, err = b2.Reload(ctx, audit.System)
	require.NoError(t, err)
	assert.Empty(t, res.Changes, "nor is a file nobody touched")

	// An edit on b's disk is published by b's reload, and only the edited
	// document changes: the rule's publish elsewhere survives it.
	res, err = a.Publish(ctx, audit.Actor{Name: "admin"}, "rule", "urgent", strings.Replace(ruleV1, "< 2", "< 3", 1), "")
	require.NoError(t, err)
	require.Empty(t, res.Problems)
	write(t, rootB, "flows/roles.yaml", strings.Replace(rolesV1, "label: 话务员", "label: 接线员", 1))
	res, err = b2.Reload(ctx, audit.System)
	require.NoError(t, err)
	require.Empty(t, res.Problems)
	assert.Equal(t, []configstore.Change{{Kind: "role", Name: "agent", Version: 2, Status: "changed"}}, res.Changes)
	urgent, ok := b2.Runtime.Current().Get("rule", "urgent")
	require.True(t, ok)
	assert.Contains(t, urgent.Source, "< 3")
	assert.Equal(t, "承办单位人员", label(t, b2, "clerk"), "the unedited document in the edited file keeps its publish")
	require.NoError(t, a.Sync(ctx))
	assert.Equal(t, "接线员", label(t, a, "agent"))
}

func TestFollowSwapsWhenAnotherNodePublishes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool := pgtest.Pool(t)
	a, _ := node(t, pool)
	b, _ := node(t, pool)
	_, err := a.Start(ctx, audit.System)
	require.NoError(t, err)
	_, err = b.Start(ctx, audit.System)
	require.NoError(t, err)
	// An hour's poll: only the notification can bring the change.
	go b.Follow(ctx, time.Hour)
	before := b.Runtime.Current()
	require.Eventually(t, func() bool { return b.Generation() == a.Generation() }, 10*time.Second, 10*time.Millisecond)

	start := time.Now()
	res, err := a.Publish(ctx, audit.Actor{Name: "admin"}, "role", "clerk", clerkV2, "")
	require.NoError(t, err)
	require.Empty(t, res.Problems)
	require.Eventually(t, func() bool { return b.Runtime.Current() != before && b.Generation() == a.Generation() },
		10*time.Second, 5*time.Millisecond)
	t.Logf("b runs a's publish %s after it was recorded", time.Since(start))
	assert.Equal(t, "承办单位人员", label(t, b, "clerk"))
}

func TestPublishOverAStaleBaseIsRefused(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	a, _ := node(t, pool)
	_, err := a.Start(ctx, audit.System)
	require.NoError(t, err)
	set := a.Runtime.Current()
	gen := a.Generation()
	_, err = a.Publish(ctx, audit.Actor{Name: "admin"}, "role", "clerk", clerkV2, "")
	require.NoError(t, err)
	_, _, err = a.Store.RecordOver(ctx, set, audit.System, "stale", gen)
	require.ErrorIs(t, err, configstore.ErrConflict, "recording the set from before the publish would undo it")
	active, err := a.Store.Versions(ctx, "role", "clerk")
	require.NoError(t, err)
	assert.True(t, active[0].Active)
	assert.Equal(t, 2, active[0].Version)
}

func TestWatchPublishesSavedEdits(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m, root := newManager(t)
	_, err := m.Start(ctx, audit.System)
	require.NoError(t, err)
	go m.Watch(ctx, 20*time.Millisecond, audit.System)

	write(t, root, "flows/roles.yaml", strings.Replace(rolesV1, "label: 话务员", "label: 接线员", 1))
	require.Eventually(t, func() bool { return label(t, m, "agent") == "接线员" }, 10*time.Second, 10*time.Millisecond)

	// A broken save is not published, and the next good one is.
	write(t, root, "flows/roles.yaml", strings.Replace(rolesV1, "scope: all", "scope: everywhere", 1))
	time.Sleep(100 * time.Millisecond)
	assert.Equal(t, "接线员", label(t, m, "agent"))
	write(t, root, "flows/roles.yaml", rolesV1)
	require.Eventually(t, func() bool { return label(t, m, "agent") == "话务员" }, 10*time.Second, 10*time.Millisecond)

	require.NoError(t, os.Remove(filepath.Join(root, "flows/rules/urgent.yaml")))
	require.Eventually(t, func() bool { _, ok := m.Runtime.Current().Get("rule", "urgent"); return !ok }, 10*time.Second, 10*time.Millisecond)
}

func TestPushThenPullRoundTrips(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	a, _ := node(t, pool)
	_, err := a.Start(ctx, audit.System)
	require.NoError(t, err)
	_, err = a.Publish(ctx, audit.Actor{Name: "admin"}, "role", "leader", "kind: role\nname: leader\nlabel: 班长\nscope: all\n", "")
	require.NoError(t, err)

	texts, _, err := a.Store.ActiveTexts(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"flows/leader.yaml", "flows/roles.yaml", "flows/rules/urgent.yaml"}, texts.Paths())
	assert.Equal(t, rolesV1, texts["flows/roles.yaml"], "documents of one file are kept together as they were")

	// Pushing what was pulled changes nothing; pushing a folder without
	// the new role removes it.
	res, err := a.Push(ctx, audit.System, texts, "round trip")
	require.NoError(t, err)
	require.Empty(t, res.Problems)
	assert.Empty(t, res.Changes)
	delete(texts, "flows/leader.yaml")
	res, err = a.Push(ctx, audit.System, texts, "")
	require.NoError(t, err)
	assert.Equal(t, []configstore.Change{{Kind: "role", Name: "leader", Version: 1, Status: "removed"}}, res.Changes)

	// A push with problems records nothing.
	texts["flows/roles.yaml"] = strings.Replace(rolesV1, "scope: all", "scope: everywhere", 1)
	res, err = a.Push(ctx, audit.System, texts, "")
	require.NoError(t, err)
	require.NotEmpty(t, res.Problems)
	assert.Equal(t, "flows/roles.yaml", res.Problems[0].Pos.File)
}

func TestRelativePath(t *testing.T) {
	for in, want := range map[string]string{
		"flows/ticket.yaml":                    "flows/ticket.yaml",
		"/srv/hotline/flows/ticket.yaml":       "flows/ticket.yaml",
		"./scripts/phone/normalize.lua":        "scripts/phone/normalize.lua",
		"/home/x/repo/forms/a/b.yaml":          "forms/a/b.yaml",
		"../../elsewhere.yaml":                 "elsewhere.yaml",
		"/tmp/flows-test/x/flows/roles.yaml":   "flows/roles.yaml",
		"C:/hotline/flows/x.yaml":              "flows/x.yaml",
		"odd/place.yaml":                       "odd/place.yaml",
		"/work/main/forms/../flows/roles.yaml": "flows/roles.yaml",
	} {
		assert.Equal(t, want, configstore.RelativePath(in), in)
	}
}
