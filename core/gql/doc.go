// Package gql assembles the hotline GraphQL API from modules and serves it
// over HTTP: a schema builder, coded errors, query limits, the JSON and Time
// scalars, an SDL printer and an embedded GraphiQL console.
//
// Wiring, as the server does it:
//
//	schema, err := gql.NewBuilder().Build(identity.Module(), registry.Module(), ...)
//	if err != nil { ... } // lists every clash between modules
//	mux.Handle("/graphql", gql.NewHandler(schema, gql.HandlerOptions{
//		Authenticate: identity.Authenticate, // Bearer token -> principal in ctx
//		Logger:       logger,
//	}))
//	console := gql.GraphiQLHandler("/graphql")
//	mux.Handle("/graphiql", console)
//	mux.Handle("/graphiql/", console)
//
// Every error a client sees carries errors[i].extensions.code, one of the
// Code constants, so front ends can react (log in again, mark a form field,
// retry) without parsing message text. Resolvers return *Error values
// (Errorf, FieldError, Wrap); anything else is logged and replaced by a
// generic INTERNAL error, so SQL, paths or citizens' data in an internal
// error text never reach a browser.
package gql
