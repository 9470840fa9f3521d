package bridge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/p4scim/p4scim/p4"
)

// recordVersion is written into every record so a later layout can be told apart.
const recordVersion = 1

// userRecord is what the bridge keeps about a user in its key: the SCIM
// attributes as the IdP wrote them, and the spec values the bridge derived
// from them (to tell an admin's edit in Helix Core from the bridge's own).
type userRecord struct {
	V        int            `json:"v"`
	Doc      map[string]any `json:"doc"`
	Email    string         `json:"email,omitempty"`
	FullName string         `json:"fullName,omitempty"`
	Created  time.Time      `json:"created"`
	Modified time.Time      `json:"modified"`
	// Deleted marks a user that a DELETE only deactivated (DeleteDeactivates,
	// or opened files): hidden from SCIM, re-linked by a later create.
	Deleted bool `json:"deleted,omitempty"`
	// Pending is pendingCreate while a create has not finished: its
	// retry completes it instead of answering 409 (lifecycle.go).
	Pending string `json:"pending,omitempty"`
	// DeactivatedAt is when the IdP's active:false was first applied; the
	// grace period before the Helix Core user is deleted counts from it
	// (release.go). Zero while active, and in records older than it
	// (deactivatedAt then falls back to Modified).
	DeactivatedAt time.Time `json:"deactivatedAt,omitzero"`
	// Released is set once the deletion of a deactivated user has begun:
	// what its re-creation needs (release.go).
	Released *releasedUser `json:"released,omitempty"`
	// ID is the SCIM id of a renamed user (the name it was created
	// with); empty while the id is the Helix Core name (rename.go).
	ID string `json:"id,omitempty"`
	// RenamedFrom is the old Helix Core name while Pending is
	// pendingRename.
	RenamedFrom string `json:"renamedFrom,omitempty"`
}

// groupRecord is what the bridge keeps about a group.
type groupRecord struct {
	V        int            `json:"v"`
	Doc      map[string]any `json:"doc"` // displayName, externalId, other attributes; never members
	Created  time.Time      `json:"created"`
	Modified time.Time      `json:"modified"`
	// Pending is pendingCreate while a create has not finished (as for
	// users).
	Pending string `json:"pending,omitempty"`
}

// keyPart makes a name usable inside a key name. Names made only of
// characters every server accepts in keys stay readable, so an admin can find
// them with `p4 keys -e`; anything else is hex-encoded behind '='.
func keyPart(name string) string {
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return "=" + hex.EncodeToString([]byte(name))
		}
	}
	return name
}

func (s *Service) userKey(name string) string { return s.cfg.KeyPrefix + "user." + keyPart(name) }

// hiddenKey marks a user a deactivating DELETE hid, beside the record's
// own flag, so that a listing finds the hidden users without reading
// every record.
func (s *Service) hiddenKey(name string) string { return s.cfg.KeyPrefix + "hidden." + keyPart(name) }
func (s *Service) groupKey(name string) string  { return s.cfg.KeyPrefix + "group." + keyPart(name) }

// releasedKey marks a user whose Helix Core user a deactivation deleted
// (release.go): a listing finds these users, which `users -a` no longer
// shows, without reading every record.
func (s *Service) releasedKey(name string) string {
	return s.cfg.KeyPrefix + "released." + keyPart(name)
}

// Index keys map an IdP name to the Helix Core name. The IdP name is
// compared case-insensitively (SCIM userName and displayName are
// caseExact=false), so it is lower-cased before hex encoding.
func (s *Service) userNameKey(userName string) string {
	return s.cfg.KeyPrefix + "username." + hex.EncodeToString([]byte(strings.ToLower(userName)))
}

// externalIDKey indexes an externalId, which is caseExact (RFC 7643 §3.1).
func (s *Service) externalIDKey(externalID string) string {
	return s.cfg.KeyPrefix + "extid." + hex.EncodeToString([]byte(externalID))
}

// emailKey indexes the address the bridge wrote to the user's Email.
func (s *Service) emailKey(email string) string {
	return s.cfg.KeyPrefix + "email." + hex.EncodeToString([]byte(strings.ToLower(email)))
}

// userIndexKeys are the index keys a user's record implies.
func (s *Service) userIndexKeys(rec *userRecord) []string {
	if rec == nil {
		return nil
	}
	keys := []string{s.userNameKey(str(rec.Doc, "userName"))}
	if ext := str(rec.Doc, "externalId"); ext != "" {
		keys = append(keys, s.externalIDKey(ext))
	}
	if rec.Email != "" {
		keys = append(keys, s.emailKey(rec.Email))
	}
	return keys
}

// saveUserRecord writes the record and the index keys it adds (and the
// marker keys given), in one `key -m`, after removing the index keys of old it no longer implies. old
// is nil for a user the bridge never wrote. The removals come first so that
// the record, written last, is the marker that they are done (lifecycle.go):
// a retry after a failed removal still finds old's keys in the record and
// removes them. Meanwhile a look-up by a removed value misses, as it will
// once the write is done.
func (s *Service) saveUserRecord(ctx context.Context, name string, rec, old *userRecord, markers ...string) error {
	stale := map[string]bool{}
	for _, k := range s.userIndexKeys(old) {
		stale[k] = true
	}
	var added []string
	for _, k := range s.userIndexKeys(rec) {
		if old == nil || !stale[k] || old.Deleted || old.Pending != "" {
			added = append(added, k)
		}
		delete(stale, k)
	}
	for k := range stale {
		if err := s.helix.DeleteKey(ctx, k); err != nil && !errors.Is(err, p4.ErrNotFound) {
			return helixError(err, "user "+name)
		}
	}
	return s.writeUserRecord(ctx, name, rec, append(added, markers...)...)
}

func (s *Service) groupNameKey(displayName string) string {
	return s.cfg.KeyPrefix + "groupname." + hex.EncodeToString([]byte(strings.ToLower(displayName)))
}

func (s *Service) readUserRecord(ctx context.Context, name string) (*userRecord, error) {
	raw, ok, err := s.helix.Key(ctx, s.userKey(name))
	if err != nil || !ok {
		return nil, helixError(err, "user "+name)
	}
	return decodeUserRecord(raw)
}

func decodeUserRecord(raw string) (*userRecord, error) {
	var rec userRecord
	if err := json.Unmarshal([]byte(raw), &rec); err != nil || rec.V == 0 {
		// A key under our prefix that is not ours (or an older layout) is
		// treated as absent rather than breaking every read of the user.
		return nil, nil
	}
	if rec.Doc == nil {
		rec.Doc = map[string]any{}
	}
	return &rec, nil
}

// writeUserRecord writes a user's record and, in the same command, the
// index or marker keys given (each pointing at name).
func (s *Service) writeUserRecord(ctx context.Context, name string, rec *userRecord, markers ...string) error {
	rec.V = recordVersion
	return s.writeRecord(ctx, "user", name, s.userKey(name), rec, markers)
}

// writeRecord writes one record as JSON under key and, in the same `key
// -m`, each of the extra keys with name as its value.
func (s *Service) writeRecord(ctx context.Context, what, name, key string, rec any, extra []string) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return &Error{Code: EInternal, Err: fmt.Errorf("encode %s record: %w", what, err)}
	}
	if len(extra) == 0 {
		return helixError(s.helix.SetKey(ctx, key, string(b)), what+" "+name)
	}
	kv := map[string]string{key: string(b)}
	for _, k := range extra {
		kv[k] = name
	}
	return helixError(s.helix.SetKeys(ctx, kv), what+" "+name)
}

func (s *Service) readGroupRecord(ctx context.Context, name string) (*groupRecord, error) {
	raw, ok, err := s.helix.Key(ctx, s.groupKey(name))
	if err != nil || !ok {
		return nil, helixError(err, "group "+name)
	}
	return decodeGroupRecord(raw)
}

func decodeGroupRecord(raw string) (*groupRecord, error) {
	var rec groupRecord
	if err := json.Unmarshal([]byte(raw), &rec); err != nil || rec.V == 0 {
		return nil, nil
	}
	if rec.Doc == nil {
		rec.Doc = map[string]any{}
	}
	return &rec, nil
}

// writeGroupRecord writes a group's record and, in the same command, the
// index keys given (each pointing at name).
func (s *Service) writeGroupRecord(ctx context.Context, name string, rec *groupRecord, indexes ...string) error {
	rec.V = recordVersion
	return s.writeRecord(ctx, "group", name, s.groupKey(name), rec, indexes)
}

// lookupIndex reads an index key; "" means no entry.
func (s *Service) lookupIndex(ctx context.Context, key string) (string, error) {
	v, ok, err := s.helix.Key(ctx, key)
	if err != nil {
		return "", helixError(err, "index")
	}
	if !ok {
		return "", nil
	}
	return v, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // cannot happen on Linux; nothing safe to do otherwise
	}
	return hex.EncodeToString(b)
}

// cloneWithout is cloneDoc without the attribute skip, which is not copied
// at all (a group's members, thousands of objects, when only the rest is
// wanted).
func cloneWithout(m map[string]any, skip string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k != skip {
			out[k] = cloneValue(v)
		}
	}
	return out
}

// cloneDoc deep-copies a JSON-like document so callers never share maps.
func cloneDoc(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return cloneDoc(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = cloneValue(e)
		}
		return out
	}
	return v
}
