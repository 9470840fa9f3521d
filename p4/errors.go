package p4

import (
	"errors"
	"strings"
)

// ErrorKind classifies a failed p4 command so callers can branch on it.
type ErrorKind int

const (
	KindOther ErrorKind = iota
	KindNotFound
	KindAlreadyExists
	KindInvalidName    // an identifier Helix Core refuses (§2.5)
	KindInvalidSpec    // a spec Helix Core refuses (missing field, bad value)
	KindLicenseQuota   // "Can't create a new user - over license quota."
	KindPasswordPolicy // too short, not mixed case, too long, don't match
	KindUnsupported    // e.g. "Cannot change password for LDAP user."
	KindAuthFailed     // the bridge's own credentials were refused
	KindUnavailable    // Helix Core unreachable
	KindTimeout        // the command's deadline passed
	KindConflict       // a compare-and-set lost (key --from/--to)
	KindPermission     // protections refused the command
	KindInUse          // "has file(s) open ... can't be deleted"
	KindUntrusted      // an ssl: server whose certificate the trust file does not hold (or holds another)
	KindServerFault    // the server failed inside: EV_FAULT, EV_ADMIN, or a fatal error (database, disk)
)

var kindNames = map[ErrorKind]string{
	KindOther: "other", KindNotFound: "not_found", KindAlreadyExists: "already_exists",
	KindInvalidName: "invalid_name", KindInvalidSpec: "invalid_spec", KindLicenseQuota: "license_quota",
	KindPasswordPolicy: "password_policy", KindUnsupported: "unsupported", KindAuthFailed: "auth_failed",
	KindUnavailable: "unavailable", KindTimeout: "timeout", KindConflict: "conflict",
	KindPermission: "permission", KindInUse: "in_use", KindUntrusted: "untrusted",
	KindServerFault: "server_fault",
}

// String returns the kind's snake_case name, used as a metric label.
func (k ErrorKind) String() string { return kindNames[k] }

// Sentinels for errors.Is: errors.Is(err, p4.ErrNotFound) is true for any
// *Error of that kind.
var (
	ErrNotFound       = &Error{Kind: KindNotFound}
	ErrAlreadyExists  = &Error{Kind: KindAlreadyExists}
	ErrInvalidName    = &Error{Kind: KindInvalidName}
	ErrInvalidSpec    = &Error{Kind: KindInvalidSpec}
	ErrLicenseQuota   = &Error{Kind: KindLicenseQuota}
	ErrPasswordPolicy = &Error{Kind: KindPasswordPolicy}
	ErrUnsupported    = &Error{Kind: KindUnsupported}
	ErrAuthFailed     = &Error{Kind: KindAuthFailed}
	ErrUnavailable    = &Error{Kind: KindUnavailable}
	ErrTimeout        = &Error{Kind: KindTimeout}
	ErrConflict       = &Error{Kind: KindConflict}
	ErrPermission     = &Error{Kind: KindPermission}
	ErrInUse          = &Error{Kind: KindInUse}
	ErrUntrusted      = &Error{Kind: KindUntrusted}
	ErrServerFault    = &Error{Kind: KindServerFault}
)

// Error is a failed p4 command. Messages hold what p4 said, for logs only:
// they can carry server internals and must not reach an HTTP response.
type Error struct {
	Kind     ErrorKind
	Command  string    // the p4 command word
	Messages []Message // the error and warning messages, in order
	Current  string    // for KindConflict: the key's current value
	Err      error     // an underlying cause (exec failure, context error)
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("p4")
	if e.Command != "" {
		b.WriteString(" " + e.Command)
	}
	b.WriteString(": " + e.Kind.String())
	for _, m := range e.Messages {
		b.WriteString(": " + strings.TrimSpace(m.Text))
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Is matches a sentinel of the same kind.
func (e *Error) Is(target error) bool {
	var t *Error
	if errors.As(target, &t) {
		return t.Kind == e.Kind && t.Command == "" && t.Messages == nil && t.Err == nil
	}
	return false
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of a p4 error, or KindOther.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindOther
}
