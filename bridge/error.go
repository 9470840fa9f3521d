package bridge

import (
	"errors"
	"fmt"
)

// Code classifies a bridge error. Only the SCIM layer turns codes into HTTP
// statuses; the bridge says what went wrong in domain terms.
type Code string

const (
	EInvalid     Code = "invalid"     // the request cannot be applied as sent
	EMutability  Code = "mutability"  // the request changes something that cannot change
	EConflict    Code = "conflict"    // a uniqueness clash with another resource
	ENotFound    Code = "not_found"   // no such resource
	EForbidden   Code = "forbidden"   // protected resource, or Helix Core refused the bridge
	EQuota       Code = "quota"       // Helix Core's licence has no room for another user
	EUnavailable Code = "unavailable" // Helix Core unreachable, timed out, or busy
	EInternal    Code = "internal"    // anything else: details are logged, not shown
)

// Error is an application error. Message is safe to show to the IdP; Err is
// the underlying cause, for logs only (it may carry Helix Core internals).
type Error struct {
	Code    Code
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the code of an application error, or EInternal.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the client-safe message of an application error, or
// a generic one that reveals nothing.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return "Internal error."
}

func errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrExists marks the conflict of a create whose resource already exists
// with the same userName or displayName: the create is done, not refused
// for a clash with another resource. A caller writing several servers
// (package routing) tells by it that a retried create is finished on a
// server, and goes on with the others.
var ErrExists = errors.New("already exists")

func existsError(kind, name string) *Error {
	return &Error{Code: EConflict, Message: fmt.Sprintf("%s %q already exists.", kind, name), Err: ErrExists}
}
