package bridge

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
)

// Version is the user's weak entity tag (RFC 7644 §3.14, meta.version):
// a hash of what the bridge returns for it, so it changes exactly when a
// GET would show a change, including an administrator's edit of Email or
// FullName in Helix Core. It costs no p4 command: it is computed from the
// spec and record every read has.
func (u User) Version() string { return version(u.Doc) }

// Version is the group's weak entity tag; its members are part of it.
func (g Group) Version() string { return version(g.Doc) }

// version hashes the document alone: the id is the resource's URL, and
// leaving it out keeps the tag independent of how a case-insensitive server
// spells the name in the request.
func version(doc map[string]any) string {
	// encoding/json sorts map keys, so one state always hashes alike.
	b, err := json.Marshal(doc)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return `W/"` + hex.EncodeToString(sum[:12]) + `"`
}

// EPrecondition is the code of a write whose If-Match names a version that
// is not the current one (HTTP 412); only the check below returns it.
const EPrecondition Code = "precondition"

// WriteOption qualifies a PUT, PATCH or DELETE.
type WriteOption func(*writeOptions)

type writeOptions struct {
	ifMatch []string
}

// IfMatch makes the write conditional (HTTP If-Match, RFC 7644 §3.14):
// it applies only if the resource's current version is one of tags, or
// tags holds "*". Tags compare weakly: W/"x" matches "x". The check runs
// inside the write's lock, on the state the write modifies, so a writer
// that read an older version cannot overwrite a newer one.
func IfMatch(tags ...string) WriteOption {
	return func(o *writeOptions) { o.ifMatch = append(o.ifMatch, tags...) }
}

func writeOpts(opts []WriteOption) writeOptions {
	var o writeOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// check fails with EPrecondition unless the current version satisfies the
// If-Match tags (none: always satisfied).
func (o writeOptions) check(kind, id string, doc map[string]any) error {
	if len(o.ifMatch) == 0 {
		return nil
	}
	current := strings.TrimPrefix(version(doc), "W/")
	for _, t := range o.ifMatch {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == current {
			return nil
		}
	}
	return errorf(EPrecondition, "%s %s has changed since the version given in If-Match; read it again and retry.", kind, id)
}

// guard wraps an update function with the If-Match check of the current
// document, which update functions receive inside the write's lock.
func (o writeOptions) guard(kind, id string, next func(cur map[string]any) (map[string]any, error)) func(cur map[string]any) (map[string]any, error) {
	if len(o.ifMatch) == 0 {
		return next
	}
	return func(cur map[string]any) (map[string]any, error) {
		if err := o.check(kind, id, cur); err != nil {
			return nil, err
		}
		return next(cur)
	}
}
