package registry_test

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/registry"
)

type sample struct {
	Name   string            `yaml:"name" jsonschema:"required,description=what it is called\\, shown to users"`
	Every  time.Duration     `yaml:"every"`
	Mode   string            `yaml:"mode" jsonschema:"enum=,enum=fast,enum=slow,default=fast"`
	Steps  []sampleStep      `yaml:"steps"`
	Labels map[string]string `yaml:"labels"`
	Next   registry.Ref      `yaml:"next"`
}

type sampleStep struct {
	After time.Duration `yaml:"after" jsonschema:"required"`
}

func TestEntriesByNamespacedID(t *testing.T) {
	r := &registry.Registry{}
	r.Declare(registry.Namespace{ID: "procedure", Title: "Procedures"})
	r.Add(registry.Entry{Namespace: "procedure", Name: "telephony.bind_call", Spec: registry.Spec{Summary: "Binds a call."}, Value: 1})
	r.Add(registry.Entry{Namespace: "procedure", Name: "a", Spec: registry.Spec{Summary: "First."}})
	r.Add(registry.Entry{Namespace: "env.rule", Name: "flow", Spec: registry.Spec{Summary: "Flows."}})

	e, ok := r.Get("procedure.telephony.bind_call")
	require.True(t, ok)
	assert.Equal(t, "telephony.bind_call", e.Name)
	assert.Equal(t, "procedure.telephony.bind_call", e.ID())
	e, ok = r.Get("env.rule.flow")
	require.True(t, ok)
	assert.Equal(t, "env.rule", e.Namespace)
	_, ok = r.Get("procedure.telephony")
	assert.False(t, ok)
	assert.Equal(t, []string{"a", "telephony.bind_call"}, r.Names("procedure"))

	var ids []string
	for _, ns := range r.Namespaces() {
		ids = append(ids, ns.ID+"="+ns.Title)
	}
	assert.Equal(t, []string{"env.rule=env.rule", "procedure=Procedures"}, ids)

	assert.PanicsWithValue(t, "registry: registered twice: procedure.a", func() {
		r.Add(registry.Entry{Namespace: "procedure", Name: "a", Spec: registry.Spec{Summary: "Again."}})
	})
	assert.PanicsWithValue(t, "registry: procedure.b has no summary", func() {
		r.Add(registry.Entry{Namespace: "procedure", Name: "b"})
	})
}

// Fields come from the struct tags, through the JSON Schema: keys, types,
// required, enums, defaults, descriptions with commas, nested objects.
func TestFieldsFromStructTags(t *testing.T) {
	fields := registry.FieldsOf(&sample{})
	require.Len(t, fields, 6)
	assert.Equal(t, registry.Field{Name: "name", Type: "string", Required: true, Description: "what it is called, shown to users"}, fields[0])
	assert.Equal(t, "duration", fields[1].Type)
	assert.Equal(t, registry.Field{Name: "mode", Type: "string", Default: "fast", Enum: []string{"fast", "slow"}}, fields[2])
	assert.Equal(t, "list of object", fields[3].Type)
	assert.Equal(t, []registry.Field{{Name: "after", Type: "duration", Required: true}}, fields[3].Fields)
	assert.Equal(t, "map of string", fields[4].Type)
	assert.Equal(t, "name", fields[5].Type)
}

func TestReferencePages(t *testing.T) {
	r := &registry.Registry{}
	r.Declare(registry.Namespace{ID: "effect", Title: "Effects", Description: "What actions do."})
	r.Add(registry.Entry{Namespace: "effect", Name: "notify", Spec: registry.Spec{
		Summary:  "Sends a notice | to someone.",
		Model:    func() any { return &sample{} },
		Examples: []registry.Example{{Title: "One", YAML: "notify: {to: holder}\n"}},
	}})
	files := r.Reference()
	assert.Equal(t, []string{"README.md", "effect/README.md", "effect/notify.md"}, keys(files))
	page := files["effect/notify.md"]
	assert.Contains(t, page, "# `effect.notify`\n")
	assert.Contains(t, page, "Sends a notice | to someone.\n")
	assert.Contains(t, page, "| `name` | string | yes |  | what it is called, shown to users |\n")
	assert.Contains(t, page, "| `mode` | string |  | `fast` | One of: `fast`, `slow`. |\n")
	assert.Contains(t, page, "| `steps[].after` | duration | yes |  |  |\n")
	assert.Contains(t, page, "### One\n\n```yaml\nnotify: {to: holder}\n```\n")
	assert.Contains(t, files["README.md"], "| [`effect.notify`](effect/notify.md) | Sends a notice \\| to someone. |\n")
	assert.Equal(t, files, r.Reference())
}

func keys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
