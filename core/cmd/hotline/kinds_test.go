package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/configstore"
	"github.com/hotline12345/hotline/core/registry"
)

// Every entry says what it is, belongs to a declared namespace, and every
// kind of document shows at least one example.
func TestEveryEntryIsDocumented(t *testing.T) {
	reg := registry.Global()
	var total int
	for _, ns := range reg.Namespaces() {
		_, declared := reg.Namespace(ns.ID)
		assert.True(t, declared, "namespace %s has entries but was never declared", ns.ID)
		for _, e := range reg.Entries(ns.ID) {
			total++
			assert.NotEmpty(t, strings.TrimSpace(e.Spec.Summary), "%s has no summary", e.ID())
			if ns.ID == registry.NSKind {
				assert.NotEmpty(t, e.Spec.Examples, "kind %s has no example", e.Name)
			}
			for _, f := range e.Spec.FieldList() {
				assert.NotEmpty(t, f.Type, "%s: field %s has no type", e.ID(), f.Name)
			}
		}
	}
	for _, ns := range []string{registry.NSKind, registry.NSEffect, registry.NSProcedure, registry.NSField, registry.NSEnv, registry.NSStrategy, registry.NSPermission} {
		assert.NotEmpty(t, reg.Entries(ns), "nothing registered in %s", ns)
	}
	assert.Greater(t, total, 50)
}

// lintExample loads the shipped configuration with doc added, the way
// `hotline lint` would with the file in place; with tests, the
// configuration tests run too.
func lintExample(t *testing.T, path, doc string, tests bool) (*registry.Set, []string) {
	t.Helper()
	set, problems := registry.Load(context.Background(), configstore.DefaultDirs, registry.LoadOptions{RunTests: tests, Overrides: map[string]string{path: doc}})
	var out []string
	for _, p := range problems {
		out = append(out, p.String())
	}
	return set, out
}

// Each example of every entry lints clean inside the default configuration,
// and is what it documents: a kind's example defines a document of that kind.
// An example of a document the configuration has (the one agent-states)
// takes that document's place.
func TestExamplesLint(t *testing.T) {
	t.Chdir("../../..")
	shipped, problems := registry.Load(context.Background(), configstore.DefaultDirs, registry.LoadOptions{})
	require.Empty(t, problems)
	reg := registry.Global()
	for _, ns := range reg.Namespaces() {
		for _, e := range reg.Entries(ns.ID) {
			for i, ex := range e.Spec.Examples {
				t.Run(fmt.Sprintf("%s/%d", e.ID(), i), func(t *testing.T) {
					doc, path := ex.YAML, "flows/zz_example.yaml"
					if ns.Document != nil {
						doc = ns.Document(e, ex.YAML)
					}
					if k, ok := e.Value.(registry.Kind); ok && k.FileExt != "" {
						path = "scripts/zz_example" + k.FileExt
					}
					for _, d := range shipped.All(e.Name) {
						if ns.ID == registry.NSKind && strings.Contains(doc, "\nname: "+d.Name+"\n") {
							path = d.Path
						}
					}
					// The configuration tests run for examples of kinds that
					// carry tests (rules, script and flow tests); for the rest
					// they would only run the shipped configuration's tests
					// again, which lint and flow test already do, each time.
					tests := false
					if k, ok := e.Value.(registry.Kind); ok && k.New != nil {
						_, tests = k.New().(registry.Tester)
					}
					set, problems := lintExample(t, path, doc, tests)
					require.Empty(t, problems, "example:\n%s", doc)
					if ns.ID == registry.NSKind {
						var from []string
						for _, d := range set.All(e.Name) {
							from = append(from, d.Path)
						}
						assert.Contains(t, from, path, "the example of kind %s defines no %s", e.Name, e.Name)
					}
				})
			}
		}
	}
}

// A misspelt effect is reported as an effect, with the closest one.
func TestUnknownEffectGetsASuggestion(t *testing.T) {
	t.Chdir("../../..")
	ns, ok := registry.Global().Namespace(registry.NSEffect)
	require.True(t, ok)
	e, ok := registry.Lookup(registry.NSEffect, "notify")
	require.True(t, ok)
	_, problems := lintExample(t, "flows/zz_example.yaml", ns.Document(e, "notfy: {to: holder, message: 请处理}"), false)
	require.Len(t, problems, 1)
	assert.Regexp(t, `^flows/zz_example.yaml:\d+:\d+: actions\[1\].effects\[0\]: unknown effect "notfy" \(did you mean "notify"\?\)$`, problems[0])
}

// The reference is the same bytes every time, and `kinds --docs` writes
// exactly it, then finds nothing stale.
func TestReferenceIsDeterministic(t *testing.T) {
	first := registry.Global().Reference()
	for range 3 {
		assert.Equal(t, first, registry.Global().Reference())
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "gone.md"), []byte("an entry no longer registered"), 0o644))
	var out bytes.Buffer
	require.Error(t, kindsCmd(&out, []string{"--docs", dir, "--check"}))
	require.NoError(t, kindsCmd(&out, []string{"--docs", dir}))
	require.NoError(t, kindsCmd(&out, []string{"--docs", dir, "--check"}))
	assert.NoFileExists(t, filepath.Join(dir, "gone.md"))
	for p, want := range first {
		got, err := os.ReadFile(filepath.Join(dir, p))
		require.NoError(t, err)
		assert.Equal(t, want, string(got))
	}
	page := first["effect/notify.md"]
	assert.Contains(t, page, "| `to` | string | yes |")
	assert.Contains(t, page, "```yaml\nnotify:")
}
