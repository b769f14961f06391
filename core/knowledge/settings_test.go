package knowledge_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hotline12345/hotline/core/registry"
)

// The knowledge settings name forms and fields of the configuration; a
// wrong name is a lint error at its line.
func TestKnowledgeSettingsAreLinted(t *testing.T) {
	const file = "../../flows/knowledge.yaml"
	for _, tc := range []struct{ text, want string }{
		{"kind: knowledge\nname: knowledge\nrating_form: kb-ratings\nrelated: related\nsource: source\n", file + `:3:14: unknown form "kb-ratings" (did you mean "kb-rating"?)`},
		{"kind: knowledge\nname: knowledge\nrating_form: kb-rating\nrelated: relates\nsource: source\n", file + `:4:10: related: the article form kb-article (flow kb_article) has no field "relates"`},
		{"kind: knowledge\nname: knowledge\nsource: origin\n", file + `:3:9: source: the article form kb-article (flow kb_article) has no field "origin"`},
	} {
		_, diags := registry.Load(context.Background(), []string{"../../flows", "../../forms", "../../scripts"},
			registry.LoadOptions{Overrides: map[string]string{file: tc.text}})
		var msgs []string
		for _, d := range diags {
			msgs = append(msgs, d.String())
		}
		assert.Equal(t, []string{tc.want}, msgs)
	}
}
