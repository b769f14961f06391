package gql

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/graphql-go/graphql"
)

// Module contributes root fields and types to the schema. Modules are
// registered in a fixed order so that errors and output are reproducible.
type Module interface {
	Name() string
	Register(b *Builder) error
}

var validName = regexp.MustCompile(`^[_a-zA-Z][_a-zA-Z0-9]*$`)

// builderOwner names registrations made directly on the Builder, outside
// any module's Register.
const builderOwner = "(builder)"

type rootField struct {
	owner string
	field *graphql.Field
}

type extraType struct {
	owner string
	typ   graphql.Type
}

// Builder collects root fields and extra types from modules. Registration
// methods do not return errors so that a module's Register stays a flat
// list of declarations; conflicts are collected and reported by Build.
type Builder struct {
	current       string
	queries       map[string]rootField
	mutations     map[string]rootField
	subscriptions map[string]rootField
	types         []extraType
	typeOwner     map[string]extraType
	lengths       map[string]int // MaxLength bounds by schema coordinate
	errs          []error
}

func NewBuilder() *Builder {
	return &Builder{
		current:       builderOwner,
		queries:       map[string]rootField{},
		mutations:     map[string]rootField{},
		subscriptions: map[string]rootField{},
		typeOwner:     map[string]extraType{},
	}
}

// Query adds a field to the Query root type.
func (b *Builder) Query(name string, f *graphql.Field) { b.add("Query", b.queries, name, f) }

// Mutation adds a field to the Mutation root type.
func (b *Builder) Mutation(name string, f *graphql.Field) { b.add("Mutation", b.mutations, name, f) }

// Subscription adds a field to the Subscription root type, served by the
// WebSocket transport (NewWSHandler).
//
// f.Subscribe starts the event stream: it returns a chan any or <-chan any,
// sends one value per event, stops sending once p.Context is done (the
// client completed, or the socket closed) and closes the channel when the
// stream ends by itself. f.Resolve then runs once per event with the event
// as p.Source and returns the field's value; without Resolve the event is
// the value. Errors and panics of Subscribe are treated like a resolver's:
// a *Error reaches the client, anything else is logged and reported as
// INTERNAL. The field is registered as a copy; f itself is not modified.
//
// Events are taken one at a time, as fast as the client reads them, so a
// source shared by many subscribers must not wait on any one of them: for
// state views (an agent's status, a queue's length) keep the latest value
// and drop the ones the subscriber has not taken yet. A typical Subscribe:
//
//	Subscribe: func(p graphql.ResolveParams) (any, error) {
//		updates, cancel := hub.Watch(p.Args["queue"].(string)) // latest-value channel
//		ch := make(chan any)
//		go func() {
//			defer close(ch)
//			defer cancel()
//			for {
//				select {
//				case <-p.Context.Done():
//					return
//				case v := <-updates:
//					select {
//					case ch <- v:
//					case <-p.Context.Done():
//						return
//					}
//				}
//			}
//		}()
//		return ch, nil
//	},
func (b *Builder) Subscription(name string, f *graphql.Field) {
	if f != nil {
		if f.Subscribe == nil {
			b.errs = append(b.errs, fmt.Errorf("module %q: Subscription.%s: no Subscribe function", b.current, name))
			return
		}
		f = subscriptionField(name, f)
	}
	b.add("Subscription", b.subscriptions, name, f)
}

func (b *Builder) add(root string, m map[string]rootField, name string, f *graphql.Field) {
	if f == nil {
		b.errs = append(b.errs, fmt.Errorf("module %q: %s.%s: nil field", b.current, root, name))
		return
	}
	// Checked here rather than left to graphql-go so the error names the
	// module; graphql-go would report it from a map walk, in random order.
	if !validName.MatchString(name) {
		b.errs = append(b.errs, fmt.Errorf("module %q: %s.%s: invalid GraphQL name", b.current, root, name))
		return
	}
	if prev, dup := m[name]; dup {
		b.errs = append(b.errs, fmt.Errorf("%s.%s is registered twice: by module %q and by module %q", root, name, prev.owner, b.current))
		return
	}
	m[name] = rootField{owner: b.current, field: f}
}

// Type adds a type that is not reachable from the root fields, typically an
// object implementing an interface, which graphql-go only knows about when it
// is listed explicitly.
func (b *Builder) Type(t graphql.Type) {
	if t == nil {
		b.errs = append(b.errs, fmt.Errorf("module %q: nil type", b.current))
		return
	}
	if prev, ok := b.typeOwner[t.Name()]; ok {
		if prev.typ != t {
			b.errs = append(b.errs, fmt.Errorf("type %s is defined twice: by module %q and by module %q", t.Name(), prev.owner, b.current))
		}
		return
	}
	et := extraType{owner: b.current, typ: t}
	b.typeOwner[t.Name()] = et
	b.types = append(b.types, et)
}

// Object returns the object type called name that a module registered
// earlier with Type, for a module whose fields return another module's
// objects (ticket search returns the flow module's Ticket). Without one,
// Build fails naming the module that asked, and the stand-in returned
// keeps the asking module's own declarations from failing first.
func (b *Builder) Object(name string) *graphql.Object {
	if et, ok := b.typeOwner[name]; ok {
		if o, ok := et.typ.(*graphql.Object); ok {
			return o
		}
	}
	b.errs = append(b.errs, fmt.Errorf("module %q: no object type %s was registered by a module before it", b.current, name))
	return graphql.NewObject(graphql.ObjectConfig{Name: name, Fields: graphql.Fields{"missing": &graphql.Field{Type: graphql.Boolean}}})
}

// Build registers the modules in order and assembles the schema. All
// conflicts are reported together so one run of the server shows every
// clash between modules.
func (b *Builder) Build(modules ...Module) (graphql.Schema, error) {
	seen := map[string]bool{}
	for _, m := range modules {
		name := m.Name()
		if seen[name] {
			b.errs = append(b.errs, fmt.Errorf("module %q is registered twice", name))
			continue
		}
		seen[name] = true
		b.current = name
		if err := m.Register(b); err != nil {
			b.errs = append(b.errs, fmt.Errorf("registering module %q: %w", name, err))
		}
	}
	b.current = builderOwner
	if len(b.queries) == 0 {
		b.errs = append(b.errs, errors.New("no Query fields registered: GraphQL requires at least one"))
	}
	if len(b.errs) > 0 {
		return graphql.Schema{}, fmt.Errorf("building GraphQL schema: %w", errors.Join(b.errs...))
	}

	cfg := graphql.SchemaConfig{
		Query: graphql.NewObject(graphql.ObjectConfig{Name: "Query", Fields: fieldsOf(b.queries)}),
	}
	if len(b.mutations) > 0 {
		cfg.Mutation = graphql.NewObject(graphql.ObjectConfig{Name: "Mutation", Fields: fieldsOf(b.mutations)})
	}
	if len(b.subscriptions) > 0 {
		cfg.Subscription = graphql.NewObject(graphql.ObjectConfig{Name: "Subscription", Fields: fieldsOf(b.subscriptions)})
	}
	// The scalars are always present so that clients and generated input
	// types can rely on them even before a module uses them.
	cfg.Types = append(cfg.Types, JSON, Time)
	for _, t := range b.types {
		cfg.Types = append(cfg.Types, t.typ)
	}
	s, err := graphql.NewSchema(cfg)
	if err != nil {
		return graphql.Schema{}, fmt.Errorf("building GraphQL schema: %w", err)
	}
	if err := checkLengths(s, b.lengths); err != nil {
		return graphql.Schema{}, fmt.Errorf("building GraphQL schema: %w", err)
	}
	registerLengths(s, b.lengths)
	return s, nil
}

// fieldsOf flattens the registrations. graphql-go keeps fields in a map, so
// order cannot be preserved here; stable output comes from introspection
// and PrintSchema, which both sort by name.
func fieldsOf(m map[string]rootField) graphql.Fields {
	out := make(graphql.Fields, len(m))
	for n, rf := range m {
		out[n] = rf.field
	}
	return out
}
