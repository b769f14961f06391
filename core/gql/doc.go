// Package gql assembles the hotline GraphQL API from modules and serves it
// over HTTP and WebSocket: a schema builder, coded errors, query limits, the
// JSON and Time scalars, an SDL printer and an embedded GraphiQL console.
//
// Wiring, as the server does it:
//
//	schema, err := gql.NewBuilder().Build(identity.Module(), registry.Module(), ...)
//	if err != nil { ... } // lists every clash between modules
//	opts := gql.HandlerOptions{
//		Authenticate: identity.Authenticate, // Bearer token -> principal in ctx
//		Logger:       logger,
//	}
//	api, live := gql.NewHandler(schema, opts), gql.NewWSHandler(schema, opts)
//	mux.HandleFunc("/graphql", func(w http.ResponseWriter, r *http.Request) {
//		if gql.IsWebSocketUpgrade(r) {
//			live.ServeHTTP(w, r)
//			return
//		}
//		api.ServeHTTP(w, r)
//	})
//	console := gql.GraphiQLHandler("/graphql")
//	mux.Handle("/graphiql", console)
//	mux.Handle("/graphiql/", console)
//
// # Subscriptions
//
// Modules add subscription fields with Builder.Subscription: Subscribe
// returns a channel of events and Resolve turns each event into the
// field's value. NewWSHandler serves them with the graphql-transport-ws
// protocol of the graphql-ws npm library (subprotocol WSSubprotocol): the
// client sends connection_init, whose payload may carry
// {"authorization": "Bearer <token>"} since browsers cannot set headers on
// a WebSocket; Authenticate sees it as the Authorization header of a copy
// of the upgrade request, and a refused token closes the socket with 4403.
// After connection_ack every subscribe message goes through the same size
// and complexity limits and validation as an HTTP request (failures come
// back as an error message), then streams next messages until the source
// closes (complete), the client sends complete, or the socket closes; each
// of these cancels the context Subscribe got. Queries and mutations over
// the socket answer with one next and a complete. Protocol violations close
// the socket with the protocol's 44xx codes. Subscriptions are refused over
// plain HTTP.
//
// # Limits
//
// Every request passes the document gate before anything else, before
// authentication too (gate.go): the text's size, bracket nesting and
// tokens are bounded before graphql-go's recursive parser sees it; the
// parsed document is refused when a fragment spreads itself (which
// overflows graphql-go's validation stack), spreads an undefined fragment,
// or holds more operations, fragments, spreads, fields, directives or
// same-named fields than the limits allow; and the variables' depth and
// size are bounded. Depth and complexity (limits.go) and validation
// follow, then every string an argument receives is bounded by
// Limits.MaxStringLength or the argument's own Builder.MaxLength, and
// refused if it holds NUL (strings.go). Errors are located without
// graphql-go rescanning the text for each (locations.go).
//
// Every error a client sees carries errors[i].extensions.code, one of the
// Code constants, so front ends can react (log in again, mark a form field,
// retry) without parsing message text. Resolvers return *Error values
// (Errorf, FieldError, Wrap); anything else is logged and replaced by a
// generic INTERNAL error, so SQL, paths or citizens' data in an internal
// error text never reach a browser.
package gql
