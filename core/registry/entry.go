package registry

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Everything a configuration can name that Go provides — a kind of
// document, an effect of a flow action, a procedure a flow calls, a form
// field type, a rule environment, an ACD strategy, a permission — is an
// entry of one registry, under a namespaced ID such as "kind.flow",
// "effect.notify" or "procedure.telephony.bind_call" (the idea of Caddy's
// module IDs). Each entry carries a Spec (the idea of Benthos's field
// specs), and from the specs come the JSON Schemas, the reference pages of
// `hotline kinds --docs` and lint's suggestions for unknown names: the one
// place that knows what exists, so documentation cannot drift from code.

// The kernel's namespaces. A namespace is declared by the package that owns
// the concept (Declare), so that it can say how its examples are linted.
const (
	NSKind       = "kind"
	NSEffect     = "effect"
	NSProcedure  = "procedure"
	NSField      = "field"
	NSEnv        = "env.rule"
	NSStrategy   = "acd.strategy"
	NSPermission = "permission"
)

// Entry is one registered thing.
type Entry struct {
	// Namespace and Name make the ID: Namespace + "." + Name. Name is what
	// configuration writes (a kind's `kind:` value, a procedure's name), so
	// it may itself hold dots ("telephony.bind_call").
	Namespace string
	Name      string
	Spec      Spec
	// Value is what the owning package looks the entry up for: a Kind, a
	// flow procedure, a rule environment…
	Value any
}

// ID is the entry's namespaced identifier, e.g. "effect.notify".
func (e Entry) ID() string { return e.Namespace + "." + e.Name }

// ExampleName names the documents a namespace wraps an example of e in
// ("example-effect-close-branch"), apart from any the configuration has.
func (e Entry) ExampleName() string {
	return "example-" + strings.NewReplacer(".", "-", "_", "-").Replace(e.ID())
}

// Spec documents an entry.
type Spec struct {
	// Summary is one sentence: what it is.
	Summary string
	// Description says more, in Markdown paragraphs.
	Description string
	// Fields are the keys it takes. Left empty, they are read from Model's
	// struct tags (yaml, jsonschema), the same tags its JSON Schema and the
	// decoder read, so the reference cannot disagree with the code.
	Fields []Field
	// Model returns a pointer to a sample of the Go type the entry's YAML
	// decodes into; nil for entries that take no keys.
	Model func() any
	// Examples are YAML written the way configuration writes it; each is
	// linted against the default configuration by a test.
	Examples []Example
}

// Field documents one key.
type Field struct {
	Name        string
	Type        string
	Required    bool
	Default     string
	Description string
	// Enum lists the values it takes, when they are a closed list.
	Enum []string
	// Fields are the keys of an object (or of each object of a list or
	// map).
	Fields []Field
}

// Example is one example of an entry.
type Example struct {
	Title string
	// YAML is the example. For a kind it is a whole document; for other
	// namespaces a fragment that the namespace's Document wraps into one.
	YAML string
}

// Namespace describes a group of entries for the reference.
type Namespace struct {
	ID          string
	Title       string
	Description string
	// Document turns an example of entry e into the configuration
	// document(s) it is linted as; nil when examples are documents.
	Document func(e Entry, example string) string
}

// Registry holds entries by namespace and name.
type Registry struct {
	mu         sync.RWMutex
	namespaces map[string]Namespace
	entries    map[string]map[string]Entry
}

var global = &Registry{}

// Global is the registry every package registers in at start-up (init).
func Global() *Registry { return global }

// Declare describes a namespace of the global registry.
func Declare(ns Namespace) { global.Declare(ns) }

// Add registers an entry in the global registry.
func Add(e Entry) { global.Add(e) }

// Lookup returns an entry of the global registry.
func Lookup(namespace, name string) (Entry, bool) { return global.Lookup(namespace, name) }

// Names lists the names registered in a namespace of the global registry.
func Names(namespace string) []string { return global.Names(namespace) }

// Value returns the Value of an entry of the global registry as a T.
func Value[T any](namespace, name string) (T, bool) {
	e, ok := global.Lookup(namespace, name)
	v, isT := e.Value.(T)
	return v, ok && isT
}

// Declare describes a namespace; declaring one twice is a programming error.
func (r *Registry) Declare(ns Namespace) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ns.ID == "" || ns.Title == "" {
		panic("registry: a namespace needs an ID and a title")
	}
	if _, dup := r.namespaces[ns.ID]; dup {
		panic("registry: namespace declared twice: " + ns.ID)
	}
	if r.namespaces == nil {
		r.namespaces = map[string]Namespace{}
	}
	r.namespaces[ns.ID] = ns
}

// Add registers an entry. Registering an ID twice, or an entry without a
// namespace, name or summary, is a programming error: it is meant to be
// called from init, where a panic stops every test.
func (r *Registry) Add(e Entry) {
	if e.Namespace == "" || e.Name == "" {
		panic(fmt.Sprintf("registry: an entry needs a namespace and a name (got %q)", e.ID()))
	}
	if strings.TrimSpace(e.Spec.Summary) == "" {
		panic("registry: " + e.ID() + " has no summary")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.entries[e.Namespace][e.Name]; dup {
		panic("registry: registered twice: " + e.ID())
	}
	if r.entries == nil {
		r.entries = map[string]map[string]Entry{}
	}
	if r.entries[e.Namespace] == nil {
		r.entries[e.Namespace] = map[string]Entry{}
	}
	r.entries[e.Namespace][e.Name] = e
}

// Lookup returns the entry with the given namespace and name.
func (r *Registry) Lookup(namespace, name string) (Entry, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.entries[namespace][name]
	return e, ok
}

// Get returns the entry with a full ID ("procedure.telephony.bind_call"),
// trying the longest declared or used namespace first.
func (r *Registry) Get(id string) (Entry, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var best string
	for ns := range r.entries {
		if strings.HasPrefix(id, ns+".") && len(ns) > len(best) {
			if _, ok := r.entries[ns][id[len(ns)+1:]]; ok {
				best = ns
			}
		}
	}
	if best == "" {
		return Entry{}, false
	}
	return r.entries[best][id[len(best)+1:]], true
}

// Names lists the names in a namespace, sorted.
func (r *Registry) Names(namespace string) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.entries[namespace]))
	for n := range r.entries[namespace] {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Entries lists the entries of a namespace, sorted by name.
func (r *Registry) Entries(namespace string) []Entry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Entry, 0, len(r.entries[namespace]))
	for _, e := range r.entries[namespace] {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Namespaces lists the namespaces that are declared or have entries, by
// ID; one with entries but no declaration gets its ID as title.
func (r *Registry) Namespaces() []Namespace {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ids := make([]string, 0, len(r.namespaces)+len(r.entries))
	for id := range r.namespaces {
		ids = append(ids, id)
	}
	for id := range r.entries {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	out := make([]Namespace, len(ids))
	for i, id := range ids {
		ns, ok := r.namespaces[id]
		if !ok {
			ns = Namespace{ID: id, Title: id}
		}
		out[i] = ns
	}
	return out
}

// Namespace returns a namespace's description.
func (r *Registry) Namespace(id string) (Namespace, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ns, ok := r.namespaces[id]
	return ns, ok
}
