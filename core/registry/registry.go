// Package registry loads the platform's configuration — the files under
// flows/, forms/ and scripts/ — into typed, validated models.
//
// Each kind of configuration (roles, rules, scripts, later ticket flows, IVR
// menus, forms, metrics…) is registered by name with a constructor, the way
// Caddy registers modules. The loader knows nothing about any kind: it splits
// files into documents, finds each document's `kind:`, decodes it into the
// kind's model with positions kept, and then drives the model through the
// optional phases below. Every problem is reported as file:line:col.
package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"

	"github.com/invopop/jsonschema"
	"gopkg.in/yaml.v3"

	"github.com/hotline12345/hotline/core/diag"
)

// Kind describes one kind of configuration document. A kind is the entry
// "kind.NAME" of the registry (see Entry).
type Kind struct {
	// Name is the value of `kind:` in YAML documents, e.g. "role".
	Name string
	// Description is the kind's one-sentence summary (Spec.Summary when
	// that is empty), shown by `hotline kinds` and in the JSON Schema.
	Description string
	// Spec documents the kind further: its examples above all. Its
	// fields are read from New's model unless given.
	Spec Spec
	// Dir is the configuration folder new documents of this kind are
	// written to when published: "flows", "forms" or "scripts".
	Dir string
	// New returns a pointer to an empty model that YAML documents of this
	// kind are decoded into. Models implement Provisioner, Validator and
	// Tester as they need.
	New func() any
	// FileExt, when set (e.g. ".lua"), makes each file with that extension
	// one document of this kind, named by its path, and turned into a model
	// by Parse instead of the YAML decoder.
	FileExt string
	Parse   func(doc *Document) (any, diag.List)
}

// Provisioner sets up one document on its own: compiling its expressions,
// checking values that need no other document.
type Provisioner interface {
	Provision(c *Context)
}

// Validator checks references between documents once every document of the
// set is provisioned, so a reference to a missing form, script or role is a
// lint error rather than a surprise at run time.
type Validator interface {
	Validate(c *Context)
}

// Tester runs the configuration unit tests a document carries (rule and
// script test cases). Load runs them when LoadOptions.RunTests is set.
type Tester interface {
	Test(ctx context.Context, c *Context)
}

// Kinds is a set of kinds: the "kind" namespace of a registry. The zero
// value is an empty set of its own (for tests); Default is the global
// registry's.
type Kinds struct {
	once sync.Once
	reg  *Registry
}

var defaultKinds = &Kinds{reg: global}

func init() {
	Declare(Namespace{
		ID:    NSKind,
		Title: "Configuration kinds",
		Description: "The kinds of configuration document: the `kind:` of each YAML document under flows/, forms/ and scripts/ " +
			"(a Lua script is a file). Each has a JSON Schema in schema/config/.",
	})
}

// Register adds a kind to the default set. It is meant to be called from a
// package's init function; registering a name twice is a programming error.
func Register(k Kind) { defaultKinds.Register(k) }

// Default returns the kinds registered with Register.
func Default() *Kinds { return defaultKinds }

func (ks *Kinds) registry() *Registry {
	ks.once.Do(func() {
		if ks.reg == nil {
			ks.reg = &Registry{}
		}
	})
	return ks.reg
}

// Register adds a kind to ks.
func (ks *Kinds) Register(k Kind) {
	if k.Name == "" || (k.New == nil && k.Parse == nil) {
		panic("registry: a kind needs a name and New or Parse")
	}
	if k.FileExt != "" && k.Parse == nil {
		panic("registry: kind " + k.Name + " claims files by extension but has no Parse")
	}
	if k.Spec.Summary == "" {
		k.Spec.Summary = k.Description
	}
	if k.Description == "" {
		k.Description = k.Spec.Summary
	}
	if k.Spec.Model == nil {
		k.Spec.Model = k.New
	}
	ks.registry().Add(Entry{Namespace: NSKind, Name: k.Name, Spec: k.Spec, Value: k})
}

// Lookup returns the kind with the given name.
func (ks *Kinds) Lookup(name string) (Kind, bool) {
	e, ok := ks.registry().Lookup(NSKind, name)
	if !ok {
		return Kind{}, false
	}
	return e.Value.(Kind), true
}

// Names lists the registered kind names in order.
func (ks *Kinds) Names() []string { return ks.registry().Names(NSKind) }

func (ks *Kinds) byExt(ext string) (Kind, bool) {
	for _, e := range ks.registry().Entries(NSKind) {
		if k := e.Value.(Kind); k.FileExt != "" && k.FileExt == ext {
			return k, true
		}
	}
	return Kind{}, false
}

// JSONSchema returns the JSON Schema of one YAML kind's documents, for
// editors and the visual designer to validate against: its model's struct
// tags, its summary and its examples.
func (ks *Kinds) JSONSchema(name string) (*jsonschema.Schema, error) {
	e, ok := ks.registry().Lookup(NSKind, name)
	if !ok || e.Value.(Kind).New == nil {
		return nil, fmt.Errorf("no YAML configuration kind named %q", name)
	}
	s := reflector().Reflect(e.Value.(Kind).New())
	s.ID = jsonschema.ID("https://hotline12345.github.io/schema/config/" + name + ".schema.json")
	s.Title = name
	s.Description = e.Spec.Summary
	if s.Properties != nil {
		s.Properties.Set("kind", &jsonschema.Schema{Type: "string", Const: name, Description: "the kind of this document"})
		s.Required = append([]string{"kind"}, s.Required...)
	}
	// An example may come with the documents it names (a flow with its
	// roles): the schema shows the documents of this kind.
	for _, ex := range e.Spec.Examples {
		dec := yaml.NewDecoder(strings.NewReader(ex.YAML))
		for {
			var n yaml.Node
			var v map[string]any
			err := dec.Decode(&n)
			if errors.Is(err, io.EOF) {
				break
			}
			if err == nil {
				err = plainDates(&n).Decode(&v)
			}
			if err != nil {
				return nil, fmt.Errorf("kind %s: example %q: %w", name, ex.Title, err)
			}
			if v["kind"] == name {
				s.Examples = append(s.Examples, normalize(v))
			}
		}
	}
	return s, nil
}

// plainDates keeps dates and times as the text they are written as, which
// is what the configuration's schema describes, instead of YAML timestamps.
func plainDates(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!timestamp" {
		n.Tag = "!!str"
	}
	for _, c := range n.Content {
		plainDates(c)
	}
	return n
}

// reflector reads models' struct tags the way the decoder does: keys from
// `yaml`, required and descriptions from `jsonschema`.
func reflector() *jsonschema.Reflector {
	return &jsonschema.Reflector{
		FieldNameTag:               "yaml",
		RequiredFromJSONSchemaTags: true,
		ExpandedStruct:             true,
		Mapper: func(t reflect.Type) *jsonschema.Schema {
			if t == durationType {
				// The decoder reads durations as Go writes them.
				return &jsonschema.Schema{Type: "string", Pattern: durationPattern, Title: "duration"}
			}
			return nil
		},
	}
}

const durationPattern = `^(0|-?([0-9]*\.?[0-9]+(ns|us|µs|ms|s|m|h))+)$`

// Ref names another piece of configuration (a document, a role, a
// permission) and keeps where it was written, so a dangling reference is
// reported at the place that wrote it.
type Ref struct {
	Name string
	Pos  diag.Pos
}

// DecodeNode implements NodeDecoder.
func (r *Ref) DecodeNode(n *yaml.Node, pos diag.Pos) error {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || n.Value == "" {
		return fmt.Errorf("expected a name, got %s", Describe(n))
	}
	r.Name, r.Pos = n.Value, pos
	return nil
}

// JSONSchema describes a Ref as the plain string it is written as.
func (Ref) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Type: "string", Title: "name", Description: "the name of another piece of configuration"}
}

func (r Ref) String() string { return r.Name }
