package registry_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/diag"
	"github.com/hotline12345/hotline/core/registry"
)

type menu struct {
	Name    string         `yaml:"name" jsonschema:"required"`
	Label   string         `yaml:"label"`
	Timeout time.Duration  `yaml:"timeout"`
	Retries int            `yaml:"retries"`
	Enabled bool           `yaml:"enabled"`
	Items   []item         `yaml:"items"`
	Extra   map[string]any `yaml:"extra"`
	Next    registry.Ref   `yaml:"next"`
}

type item struct {
	Pos   diag.Pos `yaml:"-"`
	Key   string   `yaml:"key" jsonschema:"required"`
	Queue string   `yaml:"queue"`
}

// Validate checks references between documents.
func (m *menu) Validate(c *registry.Context) {
	if m.Next.Name != "" {
		c.Resolve("menu", m.Next)
	}
	for i, it := range m.Items {
		if it.Key == "0" {
			c.Errorf(c.At("items", i, "key"), "key 0 is reserved")
		}
	}
}

func kinds() *registry.Kinds {
	ks := &registry.Kinds{}
	ks.Register(registry.Kind{Name: "menu", Description: "A test menu.", New: func() any { return &menu{} }})
	return ks
}

func load(t *testing.T, files map[string]string) (*registry.Set, []string) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	t.Chdir(dir)
	set, diags := registry.Load(context.Background(), []string{"."}, registry.LoadOptions{Kinds: kinds()})
	out := make([]string, len(diags))
	for i, d := range diags {
		out[i] = d.String()
	}
	return set, out
}

func TestDecodeAndValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		yaml  string
		diags []string
	}{
		{"valid", "kind: menu\nname: main\ntimeout: 5s\nretries: 2\nenabled: true\nitems:\n  - {key: '1', queue: q}\nextra: {a: 1}\n", nil},
		{"unknown key", "kind: menu\nname: main\nretires: 2\n", []string{"m.yaml:3:1: unknown key \"retires\" (did you mean \"retries\"?)"}},
		{"wrong scalar", "kind: menu\nname: main\nretries: many\n", []string{"m.yaml:3:10: retries: expected a whole number, got \"many\""}},
		{"bool", "kind: menu\nname: main\nenabled: yes please\n", []string{"m.yaml:3:10: enabled: expected true or false, got \"yes please\""}},
		{"duration", "kind: menu\nname: main\ntimeout: 5\n", []string{"m.yaml:3:10: timeout: expected a duration such as 30s, 5m or 2h, got \"5\""}},
		{"nested", "kind: menu\nname: main\nitems:\n  - {key: '1'}\n  - {queue: q}\n", []string{"m.yaml:5:5: items[1]: missing required key \"key\""}},
		{"list expected", "kind: menu\nname: main\nitems: x\n", []string{"m.yaml:3:8: items: expected a list, got \"x\""}},
		{"duplicate key", "kind: menu\nname: main\nlabel: a\nlabel: b\n", []string{"m.yaml:4:1: duplicate key \"label\""}},
		{"dangling ref", "kind: menu\nname: main\nnext: mian\n", []string{"m.yaml:3:7: unknown menu \"mian\" (did you mean \"main\"?)"}},
		{"validator position", "kind: menu\nname: main\nitems:\n  - key: '0'\n", []string{"m.yaml:4:10: key 0 is reserved"}},
		{"not a mapping", "- a\n- b\n", []string{"m.yaml:1:1: a configuration document must be a mapping with kind and name, got a list"}},
		{"bad name", "kind: menu\nname: 主菜单\n", []string{"m.yaml:2:7: name \"主菜单\": use letters, digits, '_', '-', '.' or '/' (labels shown to users go in \"label\")"}},
		{"second document", "kind: menu\nname: a\n---\n# comment\nkind: menu\nname: b\nretries: x\n", []string{"m.yaml:7:10: retries: expected a whole number, got \"x\""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := load(t, map[string]string{"m.yaml": tc.yaml})
			assert.Equal(t, tc.diags, nilIfEmpty(diags))
		})
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestDocumentsKeepTheirOwnText(t *testing.T) {
	set, diags := load(t, map[string]string{"m.yaml": "kind: menu\nname: a\n---\nkind: menu\nname: b\nlabel: 乙\n", "n.yml": "kind: menu\nname: c\nnext: a\n"})
	require.Empty(t, diags)
	b, ok := set.Get("menu", "b")
	require.True(t, ok)
	assert.Equal(t, "kind: menu\nname: b\nlabel: 乙\n", b.Source)
	assert.Equal(t, diag.Pos{File: "m.yaml", Line: 4, Col: 1}, b.Pos)
	m, ok := registry.Model[*menu](set, "menu", "b")
	require.True(t, ok)
	assert.Equal(t, "乙", m.Label)
	assert.Len(t, set.All("menu"), 3)
	c, _ := registry.Model[*menu](set, "menu", "c")
	assert.Equal(t, diag.Pos{File: "n.yml", Line: 3, Col: 7}, c.Next.Pos)
}

func TestJSONSchemaOfAKind(t *testing.T) {
	s, err := kinds().JSONSchema("menu")
	require.NoError(t, err)
	assert.Contains(t, s.Required, "kind")
	assert.Contains(t, s.Required, "name")
	_, ok := s.Properties.Get("timeout")
	assert.True(t, ok)
}
