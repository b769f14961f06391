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
		{"kind: knowledge\nname: knowledge\ncorrection: {flow: kb_corection, action: raise}\n", file + `:3:20: unknown flow "kb_corection" (did you mean "kb_correction"?)`},
		{"kind: knowledge\nname: knowledge\ncorrection: {flow: kb_correction, action: rise}\n", file + `:3:43: correction.action: flow kb_correction has no action "rise"`},
		{"kind: knowledge\nname: knowledge\ncorrection: {flow: kb_correction, action: reject}\n", file + `:3:43: correction.action: reject of flow kb_correction does not create a ticket (it has from:)`},
		{"kind: knowledge\nname: knowledge\ncorrection: {flow: kb_correction, action: raise, article: articel}\n", file + `:3:59: correction.article: form kb-correction (action raise of flow kb_correction) has no field "articel"`},
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
