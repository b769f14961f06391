package gql

import (
	"errors"
	"fmt"
	"maps"
)

// Code classifies an error for clients; it is sent as extensions.code.
type Code string

const (
	// Unauthenticated: no valid credentials; the client should log in again.
	Unauthenticated Code = "UNAUTHENTICATED"
	// Forbidden: authenticated, but the principal may not do this.
	Forbidden Code = "FORBIDDEN"
	// BadUserInput: the request is wrong (invalid argument, failed
	// validation, limit exceeded); retrying unchanged will fail again.
	BadUserInput Code = "BAD_USER_INPUT"
	// NotFound: the addressed object does not exist (or is not visible).
	NotFound Code = "NOT_FOUND"
	// Conflict: the object changed concurrently or a uniqueness rule failed.
	Conflict Code = "CONFLICT"
	// Internal: a server-side failure; details are only in the server log.
	Internal Code = "INTERNAL"
	// Unavailable: the server cannot reach what it needs (the database);
	// nothing was done, and the same request may succeed in a moment.
	Unavailable Code = "UNAVAILABLE"
)

// unavailableMessage is what clients see while the database is out of
// reach: a UI shows "reconnecting" and retries instead of reporting a bug.
const unavailableMessage = "服务暂时不可用，请稍后重试 (service unavailable)"

// internalMessage is what clients see for any error that is not a *Error:
// internal error text can contain SQL, file paths or citizens' data.
const internalMessage = "内部错误，请稍后重试 (internal error)"

// Error is the error type resolvers return. Message is shown to the client
// verbatim, so it must be safe and useful to an operator; Err is the cause,
// kept for errors.Is/As and the server log but never sent.
type Error struct {
	Code    Code
	Message string
	// Field names the offending input (argument or input field path such as
	// "input.phone") so a form can highlight it.
	Field string
	// Extra is merged into extensions; it cannot override code or field.
	Extra map[string]any
	Err   error
}

// Error returns only Message: graphql-go copies Error() into the response,
// and the cause must not reach the client.
func (e *Error) Error() string { return e.Message }

func (e *Error) Unwrap() error { return e.Err }

// Extensions implements gqlerrors.ExtendedError, which is how graphql-go
// puts extensions into a formatted error.
func (e *Error) Extensions() map[string]any {
	ext := make(map[string]any, len(e.Extra)+2)
	maps.Copy(ext, e.Extra)
	ext["code"] = string(e.Code)
	if e.Field != "" {
		ext["field"] = e.Field
	} else {
		delete(ext, "field")
	}
	return ext
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError reports invalid input in one field, with code BAD_USER_INPUT.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: BadUserInput, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap attaches a code and a client-safe message to a cause.
func Wrap(code Code, err error, message string) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// AsError finds a *Error in err's chain.
func AsError(err error) (*Error, bool) {
	var ge *Error
	if errors.As(err, &ge) {
		return ge, true
	}
	return nil, false
}
