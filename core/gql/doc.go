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
// Every error a client sees carries errors[i].extensions.code, one of the
// Code constants, so front ends can react (log in again, mark a form field,
// retry) without parsing message text. Resolvers return *Error values
// (Errorf, FieldError, Wrap); anything else is logged and replaced by a
// generic INTERNAL error, so SQL, paths or citizens' data in an internal
// error text never reach a browser.
package gql
