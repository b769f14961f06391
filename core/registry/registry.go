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
	"fmt"
	"sort"
	"sync"

	"github.com/invopop/jsonschema"
	"gopkg.in/yaml.v3"

	"github.com/hotline12345/hotline/core/diag"
)

// Kind describes one kind of configuration document.
type Kind struct {
	// Name is the value of `kind:` in YAML documents, e.g. "role".
	Name string
	// Description is shown by `hotline kinds` and in the JSON Schema.
	Description string
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

// Kinds is a set of registered kinds.
type Kinds struct {
	mu    sync.RWMutex
	kinds map[string]Kind
}

var defaultKinds = &Kinds{kinds: map[string]Kind{}}

// Register adds a kind to the default set. It is meant to be called from a
// package's init function; registering a name twice is a programming error.
func Register(k Kind) { defaultKinds.Register(k) }

// Default returns the kinds registered with Register.
func Default() *Kinds { return defaultKinds }

// Register adds a kind to ks.
func (ks *Kinds) Register(k Kind) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if k.Name == "" || (k.New == nil && k.Parse == nil) {
		panic("registry: a kind needs a name and New or Parse")
	}
	if k.FileExt != "" && k.Parse == nil {
		panic("registry: kind " + k.Name + " claims files by extension but has no Parse")
	}
	if _, dup := ks.kinds[k.Name]; dup {
		panic("registry: kind registered twice: " + k.Name)
	}
	if ks.kinds == nil {
		ks.kinds = map[string]Kind{}
	}
	ks.kinds[k.Name] = k
}

// Lookup returns the kind with the given name.
func (ks *Kinds) Lookup(name string) (Kind, bool) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	k, ok := ks.kinds[name]
	return k, ok
}

// Names lists the registered kind names in order.
func (ks *Kinds) Names() []string {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	names := make([]string, 0, len(ks.kinds))
	for n := range ks.kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (ks *Kinds) byExt(ext string) (Kind, bool) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	for _, k := range ks.kinds {
		if k.FileExt != "" && k.FileExt == ext {
			return k, true
		}
	}
	return Kind{}, false
}

// JSONSchema returns the JSON Schema of one YAML kind's documents, for
// editors and the visual designer to validate against.
func (ks *Kinds) JSONSchema(name string) (*jsonschema.Schema, error) {
	k, ok := ks.Lookup(name)
	if !ok || k.New == nil {
		return nil, fmt.Errorf("no YAML configuration kind named %q", name)
	}
	r := &jsonschema.Reflector{
		FieldNameTag:               "yaml",
		RequiredFromJSONSchemaTags: true,
		DoNotReference:             false,
		ExpandedStruct:             true,
	}
	s := r.Reflect(k.New())
	s.ID = jsonschema.ID("https://hotline12345.github.io/schema/config/" + name + ".schema.json")
	s.Title = name
	s.Description = k.Description
	if s.Properties != nil {
		s.Properties.Set("kind", &jsonschema.Schema{Type: "string", Const: name, Description: "the kind of this document"})
		s.Required = append([]string{"kind"}, s.Required...)
	}
	return s, nil
}

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
func (Ref) JSONSchema() *jsonschema.Schema { return &jsonschema.Schema{Type: "string"} }

func (r Ref) String() string { return r.Name }
