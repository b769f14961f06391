package knowledge

import (
	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/form"
	"github.com/hotline12345/hotline/core/registry"
)

// Kind is the configuration kind of the knowledge base's settings: which
// form readers rate in and which fields of the article form hold related
// articles and the source of imported ones. (Which fields are the title,
// keywords and validity is said in the knowledge.publish call's
// arguments, in the article flow.)
const Kind = "knowledge"

func init() {
	registry.Register(registry.Kind{
		Name:        Kind,
		Description: "The knowledge base's settings: the rating form, and the article form's related and source fields.",
		Dir:         "flows",
		New:         func() any { return &Settings{} },
		Spec: registry.Spec{Examples: []registry.Example{{Title: "The default knowledge base's settings", YAML: `kind: knowledge
name: knowledge
label: 知识库
rating_form: kb-rating
related: related
source: source
correction: {flow: kb_correction, action: raise, article: article, query: query}
`}}},
	})
}

// Settings is the `kind: knowledge` document (one at most):
//
//	kind: knowledge
//	name: knowledge
//	label: 知识库
//	rating_form: kb-rating
//	related: related
//	source: source
//	correction: {flow: kb_correction, action: raise, article: article, query: query}
type Settings struct {
	Name  string `yaml:"name" jsonschema:"required"`
	Label string `yaml:"label"`
	// RatingForm is the form readers rate articles in: its number fields
	// are the criteria, an article's score their mean.
	RatingForm *registry.Ref `yaml:"rating_form" jsonschema:"description=the form readers rate articles in (its number fields are the criteria)"`
	// Related is the article form's field listing the numbers of related
	// articles, shown before the articles found alike.
	Related string `yaml:"related" jsonschema:"description=the article form's field listing related articles' numbers"`
	// Source is the article form's field that keeps where an imported
	// article came from, so that importing again updates it.
	Source string `yaml:"source" jsonschema:"description=the article form's field that keeps an imported article's source"`
	// Correction is how a reader reports a wrong article or a question
	// without an answer (提问纠错): the creating action of a flow, and the
	// fields of its form the article page and the search page fill in.
	Correction *Correction `yaml:"correction" jsonschema:"description=the creating action readers report an error or a missing answer with"`

	rating *form.Form
}

// Correction names the action that starts a correction and which fields
// of its form take the article's number and the search words.
type Correction struct {
	Flow    registry.Ref `yaml:"flow" jsonschema:"required,description=the correction flow"`
	Action  string       `yaml:"action" jsonschema:"required,description=its creating action"`
	Article string       `yaml:"article" jsonschema:"description=the action form's field given the article's number"`
	Query   string       `yaml:"query" jsonschema:"description=the action form's field given the search words that found nothing"`

	label string
	form  string
}

// Validate resolves the rating form and checks that the article forms
// have the related and source fields, and that there is one document.
func (k *Settings) Validate(c *registry.Context) {
	if docs := c.Set.All(Kind); len(docs) > 1 && docs[0] != c.Doc {
		c.Errorf(c.Doc.Pos, "knowledge settings are already given at %s", docs[0].Pos)
	}
	if k.RatingForm != nil {
		if d, ok := c.Resolve(form.Kind, *k.RatingForm); ok {
			k.rating = d.Model.(*form.Form)
		}
	}
	if k.Correction != nil {
		k.Correction.validate(c)
	}
	for _, ak := range articleFlows(c.Set) {
		if ak.form == nil {
			continue
		}
		for _, f := range []struct{ key, name string }{{"related", k.Related}, {"source", k.Source}} {
			if _, ok := ak.form.Field(f.name); f.name != "" && !ok {
				c.Errorf(c.At(f.key), "%s: the article form %s (flow %s) has no field %q", f.key, ak.form.Name, ak.flow.Name, f.name)
			}
		}
	}
}

// settings are the running knowledge settings; none configured is the
// zero Settings (no rating form, no related or source field).
func (s *Service) settings() *Settings {
	if docs := s.Config.Current().All(Kind); len(docs) > 0 {
		return docs[0].Model.(*Settings)
	}
	return &Settings{}
}

func (r *Correction) validate(c *registry.Context) {
	d, ok := c.Resolve(flow.Kind, r.Flow)
	if !ok {
		return
	}
	f := d.Model.(*flow.Flow)
	a, ok := f.Action(r.Action)
	if !ok {
		c.Errorf(c.At("correction", "action"), "correction.action: flow %s has no action %q", f.Name, r.Action)
		return
	}
	if len(a.From) > 0 {
		c.Errorf(c.At("correction", "action"), "correction.action: %s of flow %s does not create a ticket (it has from:)", a.Name, f.Name)
		return
	}
	if a.Form == nil {
		c.Errorf(c.At("correction", "action"), "correction.action: %s of flow %s has no form", a.Name, f.Name)
		return
	}
	r.label, r.form = a.Label, a.Form.Name
	fd, ok := c.Set.Get(form.Kind, a.Form.Name)
	if !ok {
		return // the flow reports its unknown form
	}
	fm := fd.Model.(*form.Form)
	for _, fl := range []struct{ key, name string }{{"article", r.Article}, {"query", r.Query}} {
		if _, ok := fm.Field(fl.name); fl.name != "" && !ok {
			c.Errorf(c.At("correction", fl.key), "correction.%s: form %s (action %s of flow %s) has no field %q", fl.key, fm.Name, a.Name, f.Name, fl.name)
		}
	}
}
