package bridge

import (
	"context"
	"errors"

	"github.com/p4scim/p4scim/p4"
)

// Helix is what the bridge needs from Helix Core. *p4.Client implements it;
// the dry-run wrapper and tests implement it too. The value types are the
// p4 package's spec types: they are plain data, and a second copy here would
// only add a translation layer.
type Helix interface {
	Users(ctx context.Context, names ...string) ([]p4.User, error)
	UserSpec(ctx context.Context, name string) (p4.User, bool, error)
	SaveUser(ctx context.Context, u p4.User) error
	DeleteUser(ctx context.Context, name string) error
	RenameUser(ctx context.Context, from, to string) error
	SetPassword(ctx context.Context, name, password string) error
	Logout(ctx context.Context, name string) error

	Group(ctx context.Context, name string) (p4.Group, error)
	Groups(ctx context.Context) ([]p4.Group, error)
	GroupExists(ctx context.Context, name string) (bool, error)
	SaveGroup(ctx context.Context, g p4.Group) (p4.GroupSaveResult, error)
	DeleteGroup(ctx context.Context, name string) error

	Key(ctx context.Context, name string) (string, bool, error)
	SetKey(ctx context.Context, name, value string) error
	SetKeys(ctx context.Context, kv map[string]string) error
	DeleteKey(ctx context.Context, name string) error
	// Keys lists the keys matching pattern; keep, if not nil, chooses
	// which to return (the others are dropped as they are read).
	Keys(ctx context.Context, pattern string, keep func(name string) bool) (map[string]string, error)
	CompareAndSetKey(ctx context.Context, name, from, to string) error
	IncrementKey(ctx context.Context, name string) (int64, error)

	// UserMaxAccess and GroupMaxAccess are the highest protections level
	// of a user (groups and subgroups included) or of a group's members
	// (`protects -u/-g NAME -m`); privilege.go gates writes on them.
	UserMaxAccess(ctx context.Context, user string) (p4.Access, error)
	GroupMaxAccess(ctx context.Context, group string) (p4.Access, error)

	License(ctx context.Context) (p4.License, error)
}

// helixError turns a p4 error into an application error with a message an
// IdP admin can act on. The p4 text stays in Err, for the log only.
func helixError(err error, what string) error {
	if err == nil {
		return nil
	}
	var be *Error
	if errors.As(err, &be) {
		return err
	}
	wrap := func(code Code, msg string) error { return &Error{Code: code, Message: msg, Err: err} }
	switch p4.KindOf(err) {
	case p4.KindNotFound:
		return wrap(ENotFound, what+" not found in Helix Core.")
	case p4.KindAlreadyExists:
		return wrap(EConflict, what+" already exists in Helix Core.")
	case p4.KindInvalidName:
		return wrap(EInvalid, "Helix Core refused the name of "+what+".")
	case p4.KindInvalidSpec:
		return wrap(EInvalid, "Helix Core refused the values for "+what+"; see the p4scim log for the field.")
	case p4.KindLicenseQuota:
		return wrap(EQuota, "Helix Core licence quota reached: no more users can be created. Free a licence (p4 user -d) or extend the licence.")
	case p4.KindPasswordPolicy:
		return wrap(EInvalid, "The password does not meet the Helix Core password policy (length, mixed case or non-alphabetic characters).")
	case p4.KindPermission:
		return wrap(EForbidden, "Helix Core refused the operation on "+what+": the bridge's P4USER lacks the permission (it must be super).")
	case p4.KindAuthFailed:
		return wrap(EUnavailable, "p4scim cannot log in to Helix Core; the operator must check P4USER/P4PASSWD.")
	case p4.KindUnavailable:
		return wrap(EUnavailable, "Helix Core is unavailable; retry later.")
	case p4.KindUntrusted:
		return wrap(EUnavailable, "p4scim does not trust the Helix Core server's SSL certificate; the operator must check P4_TRUST_FINGERPRINT/P4TRUST.")
	case p4.KindTimeout:
		return wrap(EUnavailable, "Helix Core did not answer in time; retry later.")
	case p4.KindServerFault:
		return wrap(EUnavailable, "Helix Core reported an internal error; retry later. The p4scim log has its message for the Helix Core admin.")
	case p4.KindInUse:
		return wrap(EConflict, what+" has opened files in Helix Core.")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return wrap(EUnavailable, "Helix Core did not answer in time; retry later.")
	}
	return &Error{Code: EInternal, Err: err}
}
