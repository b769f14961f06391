package configstore_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/audit"
	"github.com/hotline12345/hotline/core/configstore"
	"github.com/hotline12345/hotline/core/pgtest"
	"github.com/hotline12345/hotline/core/registry"

	_ "github.com/hotline12345/hotline/core/identity"
	_ "github.com/hotline12345/hotline/core/rules"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const rolesV1 = `kind: role
name: agent
label: 话务员
scope: all
---
kind: role
name: clerk
label: 承办人
scope: subtree
`

const ruleV1 = `kind: rule
name: urgent
vars: {hours_left: float}
expr: hours_left < 2
tests:
  - {name: soon, given: {hours_left: 1}, expect: true}
`

func newManager(t *testing.T) (*configstore.Manager, string) {
	t.Helper()
	root := t.TempDir()
	write(t, root, "flows/roles.yaml", rolesV1)
	write(t, root, "flows/rules/urgent.yaml", ruleV1)
	return &configstore.Manager{Root: root, Dirs: configstore.DefaultDirs, Store: configstore.New(pgtest.Pool(t)),
		Runtime: registry.NewRuntime(nil), Log: slog.New(slog.DiscardHandler)}, root
}

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, rel)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
}

func TestReloadRecordsVersionsOnlyForChanges(t *testing.T) {
	ctx := context.Background()
	m, root := newManager(t)

	res, err := m.Start(ctx, audit.System)
	require.NoError(t, err)
	require.Empty(t, res.Problems)
	assert.Len(t, res.Changes, 3)
	for _, c := range res.Changes {
		assert.Equal(t, "added", c.Status)
		assert.Equal(t, 1, c.Version)
	}

	res, err = m.Reload(ctx, audit.System)
	require.NoError(t, err)
	assert.Empty(t, res.Changes, "unchanged files store nothing")

	write(t, root, "flows/roles.yaml", strings.Replace(rolesV1, "label: 承办人", "label: 承办单位人员", 1))
	res, err = m.Reload(ctx, audit.System)
	require.NoError(t, err)
	require.Len(t, res.Changes, 1)
	assert.Equal(t, configstore.Change{Kind: "role", Name: "clerk", Version: 2, Status: "changed"}, res.Changes[0])

	versions, err := m.Store.Versions(ctx, "role", "clerk")
	require.NoError(t, err)
	require.Len(t, versions, 2)
	assert.True(t, versions[0].Active)
	assert.False(t, versions[1].Active)
	diff, err := m.Store.Diff(ctx, "role", "clerk", 1, 2)
	require.NoError(t, err)
	assert.Contains(t, diff, "-label: 承办人")
	assert.Contains(t, diff, "+label: 承办单位人员")

	// Back to the first text: no new version, the old one runs again.
	write(t, root, "flows/roles.yaml", rolesV1)
	res, err = m.Reload(ctx, audit.System)
	require.NoError(t, err)
	require.Len(t, res.Changes, 1)
	assert.Equal(t, 1, res.Changes[0].Version)

	require.NoError(t, os.Remove(filepath.Join(root, "flows/rules/urgent.yaml")))
	res, err = m.Reload(ctx, audit.System)
	require.NoError(t, err)
	assert.Equal(t, []configstore.Change{{Kind: "rule", Name: "urgent", Version: 1, Status: "removed"}}, res.Changes)
	active, err := m.Store.Active(ctx, "")
	require.NoError(t, err)
	assert.Len(t, active, 2)

}

func TestVersionsAreImmutable(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	_, err := pool.Exec(ctx, `INSERT INTO config_versions (kind, name, version, path, source, digest, created_by)
		VALUES ('role', 'x', 1, 'p', 's', 'd', 'test')`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE config_versions SET source = 'changed'`)
	require.ErrorContains(t, err, "append-only")
	_, err = pool.Exec(ctx, `DELETE FROM config_versions`)
	require.ErrorContains(t, err, "append-only")
}

func TestBrokenReloadKeepsRunningVersion(t *testing.T) {
	ctx := context.Background()
	m, root := newManager(t)
	_, err := m.Start(ctx, audit.System)
	require.NoError(t, err)
	running := m.Runtime.Current()

	write(t, root, "flows/rules/urgent.yaml", strings.Replace(ruleV1, "hours_left < 2", "hours_lft < 2", 1))
	res, err := m.Reload(ctx, audit.System)
	require.NoError(t, err)
	require.Len(t, res.Problems, 1)
	assert.Equal(t, "flows/rules/urgent.yaml:4:7: rule: unknown name hours_lft", res.Problems[0].String(), "paths are relative to the configuration root")
	assert.Same(t, running, m.Runtime.Current(), "the running configuration is kept")
	versions, err := m.Store.Versions(ctx, "rule", "urgent")
	require.NoError(t, err)
	assert.Len(t, versions, 1, "nothing stored for a broken configuration")

	// A failing configuration test also keeps the running version.
	write(t, root, "flows/rules/urgent.yaml", strings.Replace(ruleV1, "expect: true", "expect: false", 1))
	res, err = m.Reload(ctx, audit.System)
	require.NoError(t, err)
	require.Len(t, res.Problems, 1)
	assert.Contains(t, res.Problems[0].Message, `test "soon": expected false, got true`)
	assert.Same(t, running, m.Runtime.Current())
}

func TestPublishLintsWithEverythingElseThenWrites(t *testing.T) {
	ctx := context.Background()
	m, root := newManager(t)
	m.WriteBack = true
	_, err := m.Start(ctx, audit.Actor{Name: "admin"})
	require.NoError(t, err)

	// A broken publish changes nothing, on disk or in the database.
	bad := strings.Replace(ruleV1, "hours_left < 2", "hours_left <", 1)
	res, err := m.Publish(ctx, audit.Actor{ID: 1, Name: "admin"}, "rule", "urgent", bad, "typo")
	require.NoError(t, err)
	require.NotEmpty(t, res.Problems)
	data, err := os.ReadFile(filepath.Join(root, "flows/rules/urgent.yaml"))
	require.NoError(t, err)
	assert.Equal(t, ruleV1, string(data))

	// Names that would lead out of the configuration folder are refused
	// before anything touches the disk.
	for _, name := range []string{"a/../../../../pwned", "../x", "/etc/x", "a//b", "./a"} {
		res, err = m.Publish(ctx, audit.Actor{ID: 1, Name: "admin"}, "role", name, "kind: role\nname: x\nlabel: x\nscope: all\n", "")
		require.NoError(t, err)
		require.NotEmpty(t, res.Problems, name)
		res, err = m.Publish(ctx, audit.Actor{ID: 1, Name: "admin"}, "script", name, "function f() end\n", "")
		require.NoError(t, err)
		require.NotEmpty(t, res.Problems, name)
	}
	entries, err := os.ReadDir(filepath.Dir(root))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "nothing written beside the configuration folder")

	// Name mismatch is refused.
	res, err = m.Publish(ctx, audit.Actor{ID: 1, Name: "admin"}, "rule", "other", ruleV1, "")
	require.NoError(t, err)
	require.NotEmpty(t, res.Problems)

	// One document inside a multi-document file is replaced in place.
	newClerk := "kind: role\nname: clerk\nlabel: 承办人（新）\nscope: unit\n"
	res, err = m.Publish(ctx, audit.Actor{ID: 1, Name: "admin"}, "role", "clerk", newClerk, "rename")
	require.NoError(t, err)
	require.Empty(t, res.Problems)
	assert.Equal(t, []configstore.Change{{Kind: "role", Name: "clerk", Version: 2, Status: "changed"}}, res.Changes)
	data, err = os.ReadFile(filepath.Join(root, "flows/roles.yaml"))
	require.NoError(t, err)
	assert.Equal(t, strings.Replace(rolesV1, "label: 承办人\nscope: subtree", "label: 承办人（新）\nscope: unit", 1), string(data))
	doc, ok := m.Runtime.Current().Get("role", "clerk")
	require.True(t, ok)
	assert.Contains(t, doc.Source, "承办人（新）")

	// A new document gets a file of its own in its kind's folder.
	res, err = m.Publish(ctx, audit.Actor{ID: 1, Name: "admin"}, "role", "leader", "kind: role\nname: leader\nlabel: 班长\nscope: all\n", "")
	require.NoError(t, err)
	require.Empty(t, res.Problems)
	_, err = os.Stat(filepath.Join(root, "flows/leader.yaml"))
	require.NoError(t, err)

	versions, err := m.Store.Versions(ctx, "role", "clerk")
	require.NoError(t, err)
	assert.Equal(t, "admin", versions[0].CreatedBy)
	assert.Equal(t, "rename", versions[0].Note)
}
