package gql

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/language/ast"
)

// subscriptionField adapts a Subscription field to graphql-go v0.8.1's
// ExecuteSubscription, which
//   - streams only when Subscribe returns exactly a chan interface{}; any
//     other value, a <-chan any included, becomes one single event;
//   - formats a plain error from Subscribe without a path, which
//     executionErrors would take for the client's own mistake and show;
//   - swallows a panic whose value is not an error, ending the stream
//     without a word.
//
// The copy fixes all three, and resolves an event to itself when the field
// has no Resolve (graphql-go's default resolver would look the field's name
// up in the event instead).
func subscriptionField(name string, f *graphql.Field) *graphql.Field {
	cp := *f
	cp.Subscribe = guardSubscribe(name, f.Subscribe)
	if cp.Resolve == nil {
		cp.Resolve = func(p graphql.ResolveParams) (any, error) { return p.Source, nil }
	}
	return &cp
}

func guardSubscribe(name string, subscribe graphql.FieldResolveFn) graphql.FieldResolveFn {
	return func(p graphql.ResolveParams) (out any, err error) {
		defer func() {
			if r := recover(); r != nil {
				out, err = nil, Wrap(Internal, fmt.Errorf("subscribing to %s: panic: %v\n%s", name, r, debug.Stack()), internalMessage)
			}
		}()
		v, err := subscribe(p)
		if err != nil {
			if _, ok := AsError(err); ok {
				return nil, err
			}
			return nil, Wrap(Internal, fmt.Errorf("subscribing to %s: %w", name, err), internalMessage)
		}
		switch ch := v.(type) {
		case chan any:
			if ch != nil {
				return ch, nil
			}
		case <-chan any:
			if ch != nil {
				ctx := p.Context
				if ctx == nil {
					ctx = context.Background()
				}
				fwd := make(chan any)
				go forwardEvents(ctx, ch, fwd)
				return fwd, nil
			}
		}
		return nil, Wrap(Internal, fmt.Errorf("subscribing to %s: Subscribe returned %T, want a non-nil chan any or <-chan any", name, v), internalMessage)
	}
}

// forwardEvents copies events from in to out until in is closed or ctx is
// done, then closes out.
func forwardEvents(ctx context.Context, in <-chan any, out chan<- any) {
	defer close(out)
	for {
		select {
		case <-ctx.Done():
			return
		case v, ok := <-in:
			if !ok {
				return
			}
			select {
			case out <- v:
			case <-ctx.Done():
				return
			}
		}
	}
}

// subscriptionRootError enforces the specification's rule that a
// subscription selects exactly one root field and no introspection field
// there (graphql-js's SingleFieldSubscriptionsRule). graphql-go v0.8.1 does
// not validate it, and its ExecuteSubscription would subscribe to one of
// several root fields picked at random from a map.
func subscriptionRootError(doc *ast.Document, op *ast.OperationDefinition) *Error {
	fragments := map[string]*ast.FragmentDefinition{}
	for _, d := range doc.Definitions {
		if f, ok := d.(*ast.FragmentDefinition); ok && f.Name != nil {
			fragments[f.Name.Value] = f
		}
	}
	keys := map[string]bool{}
	introspection := false
	visited := map[string]bool{}
	var walk func(ss *ast.SelectionSet)
	walk = func(ss *ast.SelectionSet) {
		if ss == nil {
			return
		}
		for _, sel := range ss.Selections {
			switch s := sel.(type) {
			case *ast.Field:
				if s.Name == nil {
					continue
				}
				key := s.Name.Value
				if s.Alias != nil && s.Alias.Value != "" {
					key = s.Alias.Value
				}
				keys[key] = true
				if strings.HasPrefix(s.Name.Value, "__") {
					introspection = true
				}
			case *ast.InlineFragment:
				walk(s.SelectionSet)
			case *ast.FragmentSpread:
				if s.Name == nil || visited[s.Name.Value] {
					continue
				}
				visited[s.Name.Value] = true
				if f := fragments[s.Name.Value]; f != nil {
					walk(f.SelectionSet)
				}
			}
		}
	}
	walk(op.SelectionSet)
	what := "Anonymous Subscription"
	if op.Name != nil && op.Name.Value != "" {
		what = fmt.Sprintf("Subscription %q", op.Name.Value)
	}
	switch {
	case len(keys) != 1:
		return Errorf(BadUserInput, "订阅只能选择一个根字段 (%s must select only one top level field)", what)
	case introspection:
		return Errorf(BadUserInput, "订阅不能选择内省字段 (%s must not select an introspection top level field)", what)
	}
	return nil
}
