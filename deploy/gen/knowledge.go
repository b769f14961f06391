package gen

import (
	"context"
	_ "embed"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/identity"
)

//go:embed knowledge.yaml
var knowledgeYAML []byte

// KnowledgeVocabulary is knowledge.yaml.
type KnowledgeVocabulary struct {
	Slots    map[string][]string `yaml:"slots"`
	Variants []string            `yaml:"variants"`
	Subjects []Subject           `yaml:"subjects"`
}

// Subject is what a group of articles is about, with the facts they state.
type Subject struct {
	Topic    string   `yaml:"topic"`
	Kind     string   `yaml:"kind"`
	Unit     string   `yaml:"unit"`
	Titles   []string `yaml:"titles"`
	Keywords []string `yaml:"keywords"`
	Facts    []string `yaml:"facts"`
}

// LoadKnowledgeVocabulary reads knowledge.yaml.
func LoadKnowledgeVocabulary() (*KnowledgeVocabulary, error) {
	var v KnowledgeVocabulary
	if err := yaml.Unmarshal(knowledgeYAML, &v); err != nil {
		return nil, fmt.Errorf("reading deploy/gen/knowledge.yaml: %w", err)
	}
	return &v, nil
}

// Articles makes n inputs of the kb-article form: realistic articles
// (供暖收费标准, 社保卡补办, 落户政策, 公积金提取 …) with several facts each,
// keywords, categories and validity around today, a few already expired
// or not yet in effect. The same seed gives the same articles.
func Articles(v *KnowledgeVocabulary, seed uint64, n int, today time.Time) []map[string]any {
	out := make([]map[string]any, n)
	for i := range n {
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		s := one(r, v.Subjects)
		fill := func(text string) string {
			for _, name := range slices.Sorted(maps.Keys(v.Slots)) { // a fixed order keeps the draws repeatable
				for strings.Contains(text, "{"+name+"}") {
					text = strings.Replace(text, "{"+name+"}", one(r, v.Slots[name]), 1)
				}
			}
			return text
		}
		facts := append([]string(nil), s.Facts...)
		r.Shuffle(len(facts), func(a, b int) { facts[a], facts[b] = facts[b], facts[a] })
		facts = facts[:min(len(facts), 2+r.IntN(3))]
		var body strings.Builder
		for i, f := range facts {
			facts[i] = fill(f)
			fmt.Fprintf(&body, "<p>%s</p>", facts[i])
		}
		keywords := append([]string(nil), s.Keywords...)
		r.Shuffle(len(keywords), func(a, b int) { keywords[a], keywords[b] = keywords[b], keywords[a] })
		a := map[string]any{
			"title":    one(r, s.Titles) + fill(one(r, v.Variants)),
			"summary":  facts[0],
			"body":     body.String(),
			"keywords": strings.Join(keywords[:min(len(keywords), 2+r.IntN(3))], "、"),
			"topic":    s.Topic,
			"kind":     s.Kind,
			"dept":     s.Unit,
		}
		from := today.AddDate(0, 0, -r.IntN(900))
		switch x := r.IntN(100); {
		case x < 8: // expired
			a["expires_at"] = today.AddDate(0, 0, -1-r.IntN(60)).Format(time.DateOnly)
			from = today.AddDate(-2, 0, 0)
		case x < 12: // announced, not yet in effect
			from = today.AddDate(0, 0, 1+r.IntN(30))
		case x < 40:
			a["expires_at"] = today.AddDate(1, 0, 0).Format(time.DateOnly)
		}
		a["effective_from"] = from.Format(time.DateOnly)
		out[i] = a
	}
	return out
}

// PublishArticles walks articles through the knowledge flow (kb_article):
// an editor creates and submits each, a reviewer approves it. It returns
// the articles' ids.
func PublishArticles(ctx context.Context, eng *flow.Engine, editor, reviewer *identity.Principal, articles []map[string]any) ([]int64, error) {
	ids := make([]int64, 0, len(articles))
	for i, a := range articles {
		t, err := eng.Create(ctx, editor, "kb_article", "create", a)
		if err != nil {
			return ids, fmt.Errorf("article %d (%s): creating: %w", i, a["title"], err)
		}
		if t, err = eng.Perform(ctx, editor, t.ID, "submit", nil, nil); err != nil {
			return ids, fmt.Errorf("article %d (%s): submitting: %w", i, a["title"], err)
		}
		if _, err = eng.Perform(ctx, reviewer, t.ID, "approve", map[string]any{"opinion": "同意发布"}, nil); err != nil {
			return ids, fmt.Errorf("article %d (%s): approving: %w", i, a["title"], err)
		}
		ids = append(ids, t.ID)
	}
	return ids, nil
}

// CutQuery is what an agent might type about one of texts: shortest to
// longest Chinese characters cut from a run of one of them.
func CutQuery(r *rand.Rand, texts []string, shortest, longest int) string {
	for {
		runs := strings.FieldsFunc(texts[r.IntN(len(texts))], func(c rune) bool { return !unicode.Is(unicode.Han, c) })
		if len(runs) == 0 {
			continue
		}
		run := []rune(runs[r.IntN(len(runs))])
		if len(run) < shortest {
			continue
		}
		l := min(shortest+r.IntN(longest-shortest+1), len(run))
		at := r.IntN(len(run) - l + 1)
		return string(run[at : at+l])
	}
}
