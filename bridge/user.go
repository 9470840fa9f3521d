package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/p4scim/p4scim/p4"
)

// User is a SCIM user as the bridge returns it.
type User struct {
	// ID is the SCIM id: the Helix Core name the user was created with,
	// which stays after a rename (see the package comment).
	ID string
	// Doc holds the SCIM attributes: userName, name, displayName, emails,
	// active, externalId, extensions... Never id, meta, schemas or password.
	Doc      map[string]any
	Created  time.Time // zero when unknown
	Modified time.Time
	// Linked is false for a Helix Core user the bridge has never written:
	// its Doc is synthesised from the spec.
	Linked bool
}

// userState is one read of a user: the spec and the bridge's record.
type userState struct {
	spec p4.User
	rec  *userRecord // nil: not linked
	// gone: Helix Core has no such user; a release deleted it and spec is
	// made from the record (release.go).
	gone bool
}

// CreateUser provisions a new user from a SCIM document. The document may
// carry "password"; it is sent to p4 passwd (when password sync is on) and
// never stored.
//
// The create is a claim and then an intent (lifecycle.go): the record,
// marked pending, and the index keys are written first, in one command;
// then the spec, the password (the IdP's, else a random one: a user is never
// left without a password, p4-cli.md §5.6) or the deactivation; then the
// record again without the mark. A retry of the same create finds its
// pending claim and finishes it (201); a create of a user whose create
// finished answers 409.
//
// p4 commands: index, users, protects (the privilege check), alias (a
// renamed user's id is reserved: rename.go), record (a released user's),
// record, user -i, passwd, record: 9.
func (s *Service) CreateUser(ctx context.Context, doc map[string]any) (User, error) {
	doc = cloneDoc(doc)
	password, hasPassword := stripComputed(doc)
	if err := validateDoc(doc); err != nil {
		return User{}, err
	}
	userName := strings.TrimSpace(str(doc, "userName"))
	if userName == "" {
		return User{}, errorf(EInvalid, "userName is required.")
	}
	name, err := MapName(s.cfg.UserNameRule, "userName", userName)
	if err != nil {
		return User{}, err
	}
	email, fullName, err := specFields(doc)
	if err != nil {
		return User{}, err
	}

	unlock, err := s.locks.lock(ctx, "user/"+name)
	if err != nil {
		return User{}, busyError(name, err)
	}
	defer unlock()

	if err := s.checkUserNameFree(ctx, userName, name); err != nil {
		return User{}, err
	}
	existing, err := s.helix.Users(ctx, name)
	if err != nil {
		return User{}, helixError(err, "user "+name)
	}
	if err := s.checkUserWritable(ctx, claimedUser(existing, name)); err != nil {
		return User{}, err
	}
	if len(existing) == 0 {
		if err := s.checkIDFree(ctx, userName, name); err != nil {
			return User{}, err
		}
	}
	now := s.cfg.Now().UTC()
	rec := &userRecord{Doc: doc, Email: email, FullName: fullName, Created: now, Modified: now}
	if len(existing) > 0 {
		// The Helix Core user exists: only a create of this userName that
		// did not finish, or a user the bridge itself hid with a
		// deactivating DELETE, may be provisioned.
		u := existing[0]
		old, err := s.readUserRecord(ctx, u.Name)
		if err != nil {
			return User{}, err
		}
		sameUserName := old != nil && strings.EqualFold(str(old.Doc, "userName"), userName)
		switch {
		case old == nil:
			return User{}, errorf(EConflict, "Helix Core user %q already exists and is not linked to a SCIM identity; "+
				"link it by matching on userName %q instead of creating it.", u.Name, s.synthUserName(u))
		case old.Pending == pendingCreate && sameUserName:
			// The IdP's retry of a create that failed after its spec was
			// saved: finish it.
			rec.Created = old.Created
			return s.converge(ctx, &userState{spec: u, rec: old}, rec, userIntent{password: password, hasPassword: hasPassword, create: true})
		case !old.Deleted && sameUserName:
			return User{}, existsError("User", userName)
		case !old.Deleted:
			return User{}, errorf(EConflict, "userName %q maps to Helix Core user %q, which already belongs to userName %q.",
				userName, u.Name, str(old.Doc, "userName"))
		}
		// Re-provisioning a user a DELETE only deactivated: relink it.
		rec.Created = old.Created
		st := &userState{spec: u, rec: old}
		if full, exists, err := s.helix.UserSpec(ctx, u.Name); err == nil && exists {
			st.spec = full
		}
		return s.applyUser(ctx, st, doc, password, hasPassword)
	}

	// A user a deactivation released keeps its name (release.go): only its
	// reactivation may bring it back.
	if old, err := s.readUserRecord(ctx, name); err != nil {
		return User{}, err
	} else if old != nil && old.Released != nil && !old.Deleted {
		if strings.EqualFold(str(old.Doc, "userName"), userName) {
			return User{}, existsError("User", userName)
		}
		return User{}, errorf(EConflict, "userName %q maps to Helix Core user %q, which already belongs to userName %q.",
			userName, name, str(old.Doc, "userName"))
	}

	// Claim the userName first, record and indexes in one command, marked
	// pending, so that a retry after any later failure finds its own claim
	// and completes (DESIGN §10, §13).
	claim := *rec
	claim.Pending = pendingCreate
	if err := s.saveUserRecord(ctx, name, &claim, nil); err != nil {
		return User{}, err
	}
	spec := p4.User{Name: name, Email: email, FullName: fullName, Type: s.cfg.NewUserType, AuthMethod: s.cfg.NewUserAuth}
	if err := s.helix.SaveUser(ctx, spec); err != nil {
		// An error does not prove the spec was not saved: a form-commit
		// trigger fails after p4d committed it, a lost answer hides the
		// save. The claim is dropped only when Helix Core says the user
		// is not there; otherwise the retry finishes it (DESIGN §10).
		if saved, cerr := s.helix.Users(ctx, name); cerr == nil && len(saved) == 0 {
			s.forgetUser(ctx, name, rec)
			return User{}, s.createError(ctx, err, "user "+name)
		} else if cerr != nil {
			return User{}, helixError(err, "user "+name)
		}
		s.cfg.Logger.WarnContext(ctx, "Helix Core reported an error after saving the user spec; the user is created", "user", name, "err", err)
	}
	s.cfg.OnChange("user", "created", 1)
	return s.converge(ctx, &userState{spec: spec, rec: &claim}, rec, userIntent{password: password, hasPassword: hasPassword, create: true})
}

// forgetUser removes the bridge's keys for a user, best effort: it runs on
// rollback and delete paths where another error is the one to report.
func (s *Service) forgetUser(ctx context.Context, name string, rec *userRecord) {
	ctx = context.WithoutCancel(ctx)
	for _, k := range append([]string{s.userKey(name)}, s.userIndexKeys(rec)...) {
		if err := s.helix.DeleteKey(ctx, k); err != nil && !errors.Is(err, p4.ErrNotFound) {
			s.cfg.Logger.WarnContext(ctx, "could not remove key", "key", k, "err", err)
		}
	}
}

// checkUserNameFree fails when userName already belongs to another Helix
// Core user than name.
func (s *Service) checkUserNameFree(ctx context.Context, userName, name string) error {
	owner, err := s.lookupIndex(ctx, s.userNameKey(userName))
	if err != nil || owner == "" || s.sameName(owner, name) {
		return err
	}
	// The index may be stale (its user deleted outside SCIM): trust it only
	// if the user and its record still claim this userName.
	users, err := s.helix.Users(ctx, owner)
	if err != nil {
		return helixError(err, "user "+owner)
	}
	rec, err := s.readUserRecord(ctx, owner)
	if err != nil {
		return err
	}
	if len(users) == 0 && (rec == nil || rec.Released == nil) {
		return nil // stale, unless a release deleted the user (release.go)
	}
	if rec != nil && !rec.Deleted && strings.EqualFold(str(rec.Doc, "userName"), userName) {
		return existsError("User", userName)
	}
	return nil
}

// specFields derives and validates the Helix Core Email and FullName.
func specFields(doc map[string]any) (email, fullName string, err error) {
	email = primaryEmail(doc)
	if email == "" {
		email = str(doc, "userName")
	}
	email = specText(email, true)
	if email == "" {
		return "", "", errorf(EInvalid, "An e-mail address or userName is required for the Helix Core Email field.")
	}
	fullName = specText(fullNameOf(doc), false)
	if fullName == "" {
		fullName = specText(str(doc, "userName"), false)
	}
	if len(fullName) > 1024 || len(email) > 1024 {
		return "", "", errorf(EInvalid, "Email and full name must each be at most 1024 bytes.")
	}
	return email, fullName, nil
}

// GetUser returns the user with this id. p4 commands: users, key: 2 (also
// for a released user, and for an id that does not exist); 4 for a renamed
// user (rename.go).
func (s *Service) GetUser(ctx context.Context, id string) (User, error) {
	st, err := s.resolveUser(ctx, id, false)
	if err != nil {
		return User{}, err
	}
	return s.toUser(st), nil
}

// readUser reads spec and record. full selects `user -o` (all fields, for a
// read-modify-write) over `users` (summary). A user Helix Core does not
// have is read from its record if a release deleted it (1 more command).
func (s *Service) readUser(ctx context.Context, id string, full bool) (*userState, error) {
	return s.readUserAs(ctx, id, full, true)
}

// readUserAs is readUser; released false skips the released user's
// record, for a caller that knows it cannot be one it wants.
func (s *Service) readUserAs(ctx context.Context, id string, full, released bool) (*userState, error) {
	if ValidateName(id) != nil {
		return nil, userNotFound(id)
	}
	var spec p4.User
	if full {
		u, exists, err := s.helix.UserSpec(ctx, id)
		if err != nil {
			return nil, helixError(err, "user "+id)
		}
		if !exists && released {
			return s.readReleased(ctx, id)
		} else if !exists {
			return nil, userNotFound(id)
		}
		spec = u
	} else {
		users, err := s.helix.Users(ctx, id)
		if err != nil {
			return nil, helixError(err, "user "+id)
		}
		if len(users) == 0 && released {
			return s.readReleased(ctx, id)
		} else if len(users) == 0 {
			return nil, userNotFound(id)
		}
		spec = users[0]
	}
	rec, err := s.readUserRecord(ctx, spec.Name)
	if err != nil {
		return nil, err
	}
	if rec != nil && rec.Deleted {
		return nil, userNotFound(id)
	}
	return &userState{spec: spec, rec: rec}, nil
}

func userNotFound(id string) error {
	return &Error{Code: ENotFound, Message: "User " + id + " not found."}
}

// ReplaceUser applies a PUT: doc replaces what the IdP wrote before.
// "active" keeps its value when the PUT leaves it out.
//
// p4 commands: user -o, key, then user -i if Helix Core's Email or
// FullName differ, passwd if a password is synced, the record if it
// changed; for an inactive user, on every write, passwd, logout and the
// deny group (lifecycle.go).
func (s *Service) ReplaceUser(ctx context.Context, id string, doc map[string]any, opts ...WriteOption) (User, error) {
	return s.updateUser(ctx, id, writeOpts(opts).guard("User", id, func(cur map[string]any) (map[string]any, error) {
		next := cloneDoc(doc)
		if _, ok := next["active"]; !ok {
			if a, ok := cur["active"]; ok {
				next["active"] = a
			}
		}
		return next, nil
	}))
}

// PatchUser applies a PATCH: mutate edits a copy of the current document in
// place (it holds no password; one the PATCH sets is sent to p4 passwd).
// All operations are applied to one read and written once.
func (s *Service) PatchUser(ctx context.Context, id string, mutate func(doc map[string]any) error, opts ...WriteOption) (User, error) {
	return s.updateUser(ctx, id, writeOpts(opts).guard("User", id, mutating(mutate)))
}

// mutating adapts an in-place edit (a PATCH) to the replace-style update
// functions: the edit gets a copy of the current document.
func mutating(mutate func(doc map[string]any) error) func(cur map[string]any) (map[string]any, error) {
	return func(cur map[string]any) (map[string]any, error) {
		next := cloneDoc(cur)
		if err := mutate(next); err != nil {
			return nil, err
		}
		return next, nil
	}
}

func (s *Service) updateUser(ctx context.Context, id string, next func(cur map[string]any) (map[string]any, error)) (User, error) {
	if ValidateName(id) != nil {
		return User{}, userNotFound(id)
	}
	unlock, err := s.locks.lock(ctx, "user/"+id)
	if err != nil {
		return User{}, busyError(id, err)
	}
	defer unlock()
	st, err := s.resolveUser(ctx, id, true)
	if err != nil {
		return User{}, err
	}
	if err := s.checkUserWritable(ctx, st.spec); err != nil {
		return User{}, err
	}
	cur := s.toUser(st).Doc
	doc, err := next(cloneDoc(cur))
	if err != nil {
		return User{}, err
	}
	password, hasPassword := stripComputed(doc)
	if err := validateDoc(doc); err != nil {
		return User{}, err
	}
	if err := s.finishOrRename(ctx, id, st, doc); err != nil {
		return User{}, err
	}
	return s.applyUser(ctx, st, doc, password, hasPassword)
}

// applyUser re-establishes doc's intent for an existing user (lifecycle.go).
func (s *Service) applyUser(ctx context.Context, st *userState, doc map[string]any, password string, hasPassword bool) (User, error) {
	name := st.spec.Name
	userName := strings.TrimSpace(str(doc, "userName"))
	if userName == "" {
		return User{}, errorf(EInvalid, "userName is required.")
	}
	email, fullName, err := specFields(doc)
	if err != nil {
		return User{}, err
	}
	rec := st.rec
	if rec == nil {
		now := s.cfg.Now().UTC()
		rec = &userRecord{Created: now}
	}
	oldUserName := str(rec.Doc, "userName")
	if st.rec == nil {
		oldUserName = ""
	}
	if !strings.EqualFold(oldUserName, userName) {
		if err := s.checkUserNameFree(ctx, userName, name); err != nil {
			return User{}, err
		}
	}

	if st.rec != nil && st.rec.Deleted {
		// Relinking a hidden user: unmark it first. A failure after this
		// leaves a record still marked deleted, which the IdP's retry of
		// the create relinks again.
		if err := s.helix.DeleteKey(ctx, s.hiddenKey(name)); err != nil && !errors.Is(err, p4.ErrNotFound) {
			return User{}, helixError(err, "user "+name)
		}
	}
	next := &userRecord{Doc: doc, Email: email, FullName: fullName, Created: rec.Created, Modified: rec.Modified, Pending: carriedPending(rec.Pending), ID: rec.ID}
	if st.rec == nil {
		next.Pending = ""
	}
	return s.converge(ctx, st, next, userIntent{password: password, hasPassword: hasPassword})
}

// normalise turns a document into its JSON form so that values decoded
// differently (int64 vs float64, json.Number) compare equal.
func normalise(doc map[string]any) any {
	b, err := json.Marshal(doc)
	if err != nil {
		return doc
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// setPassword sets a password unless the user's AuthMethod cannot take one
// (LDAP users authenticate against the directory: not an error).
func (s *Service) setPassword(ctx context.Context, name, authMethod, password string) error {
	if strings.HasPrefix(authMethod, "ldap") {
		s.cfg.Logger.InfoContext(ctx, "password not synced: the user authenticates with LDAP", "user", name)
		return nil
	}
	err := s.helix.SetPassword(ctx, name, password)
	if errors.Is(err, p4.ErrUnsupported) {
		s.cfg.Logger.InfoContext(ctx, "password not synced: Helix Core cannot set it for this user", "user", name)
		return nil
	}
	return helixError(err, "user "+name)
}

// DeleteUser applies the delete policy, as an intent that every attempt
// re-establishes (lifecycle.go). With DeleteRemoves: out of every group's
// Users and Owners, logged out, the user deleted, then its index keys and
// last its record, which is the marker that clean-up is pending: a retry
// whose user is gone but whose record remains finishes the clean-up (204);
// once nothing is left it answers 404. Work is never destroyed: a user with
// opened files is deactivated and hidden instead of deleted.
func (s *Service) DeleteUser(ctx context.Context, id string, opts ...WriteOption) error {
	if ValidateName(id) != nil {
		return userNotFound(id)
	}
	unlock, err := s.locks.lock(ctx, "user/"+id)
	if err != nil {
		return busyError(id, err)
	}
	defer unlock()
	return s.deleteUser(ctx, id, id, opts...)
}

// deleteUser is DeleteUser of the user whose id is id, read under the
// Helix Core name name (a renamed user's is not its id: rename.go).
func (s *Service) deleteUser(ctx context.Context, id, name string, opts ...WriteOption) error {
	users, err := s.helix.Users(ctx, name)
	if err != nil {
		return helixError(err, "user "+name)
	}
	rec, err := s.readUserRecord(ctx, name)
	if err != nil {
		return err
	}
	if rec != nil && rec.ID != "" && !s.sameName(rec.ID, id) {
		return userNotFound(id) // the Helix Core name of a renamed user, not its id
	}
	if len(users) == 0 {
		if rec == nil {
			return s.deleteRenamed(ctx, id, name)
		}
		// The user is gone but its record is not: an earlier DELETE
		// stopped after `user -d`. Finish its clean-up.
		return s.finishDelete(ctx, name, rec)
	}
	if rec != nil && rec.Deleted {
		return userNotFound(id) // hidden by an earlier deactivating DELETE
	}
	st := &userState{spec: users[0], rec: rec}
	if err := writeOpts(opts).check("User", id, s.toUser(st).Doc); err != nil {
		return err
	}
	name = st.spec.Name
	if err := s.checkUserWritable(ctx, st.spec); err != nil {
		return err
	}
	if rec == nil {
		rec = &userRecord{Doc: s.toUser(st).Doc, Email: st.spec.Email, FullName: st.spec.FullName, Created: s.cfg.Now().UTC()}
	}
	if s.cfg.Delete == DeleteRemoves {
		removed, err := s.removeUser(ctx, name, rec)
		if removed || err != nil {
			return err
		}
	}
	return s.hideUser(ctx, name, st.spec.AuthMethod, rec)
}

// toUser builds the SCIM view: the record's document, with Helix Core's
// Email and FullName winning where an admin changed them.
func (s *Service) toUser(st *userState) User {
	u := User{ID: userID(st), Modified: st.spec.Update}
	if st.rec == nil {
		u.Doc = s.synthUserDoc(st.spec)
		u.Created = st.spec.Update
		return u
	}
	u.Linked = true
	u.Doc = cloneDoc(st.rec.Doc)
	u.Created = st.rec.Created
	if st.rec.Modified.After(u.Modified) {
		u.Modified = st.rec.Modified
	}
	if st.spec.Email != "" && st.spec.Email != st.rec.Email {
		setPrimaryEmail(u.Doc, st.spec.Email)
	}
	if st.spec.FullName != "" && st.spec.FullName != st.rec.FullName {
		u.Doc["displayName"] = st.spec.FullName
		if n := subMap(u.Doc, "name"); n != nil && str(n, "formatted") != "" {
			n["formatted"] = st.spec.FullName
		}
	}
	if _, ok := u.Doc["active"]; !ok {
		u.Doc["active"] = true
	}
	return u
}

// synthUserName is the userName shown for a Helix Core user the bridge
// never wrote: its Email when USERNAME_RULE maps that Email back to the
// user (localpart: "ada@example.com" for ada), else its name, which every
// rule maps to itself. Either way the value shown is one that a filter
// userName eq "<value>" resolves to this user (FindUserByUserName), so the
// IdP can match and link it instead of getting 409 on a create.
func (s *Service) synthUserName(u p4.User) string {
	for _, candidate := range []string{u.Email, u.Name} {
		if candidate == "" {
			continue
		}
		if name, err := MapName(s.cfg.UserNameRule, "userName", candidate); err == nil && s.sameName(name, u.Name) {
			return candidate
		}
	}
	return u.Name
}

// synthUserDoc describes an unlinked Helix Core user in SCIM terms.
func (s *Service) synthUserDoc(u p4.User) map[string]any {
	doc := map[string]any{
		"userName":    s.synthUserName(u),
		"displayName": u.FullName,
		"active":      true,
	}
	if u.Email != "" {
		doc["emails"] = []any{map[string]any{"value": u.Email, "type": "work", "primary": true}}
	}
	if fn := strings.TrimSpace(u.FullName); fn != "" {
		name := map[string]any{"formatted": fn}
		if i := strings.LastIndexByte(fn, ' '); i > 0 {
			name["givenName"] = strings.TrimSpace(fn[:i])
			name["familyName"] = fn[i+1:]
		} else {
			name["givenName"] = fn
			name["familyName"] = fn
		}
		doc["name"] = name
	}
	return doc
}

// FindUserByUserName returns the user whose userName is userName
// (case-insensitively), or nil. p4 commands: 3 (index, users, key) for a
// linked user; 3 (index, users, key) for an unlinked one found by the rule.
func (s *Service) FindUserByUserName(ctx context.Context, userName string) (*User, error) {
	owner, err := s.lookupIndex(ctx, s.userNameKey(userName))
	if err != nil {
		return nil, err
	}
	candidate := owner
	if candidate == "" {
		// Not provisioned through the bridge: an existing Helix Core user
		// the IdP wants to link, found by the mapping rule.
		name, err := MapName(s.cfg.UserNameRule, "userName", userName)
		if err != nil {
			return nil, nil // cannot name a Helix Core user, so matches none
		}
		candidate = name
	}
	// Without an index entry the candidate cannot be a released user of
	// this userName: its release kept its index entries (release.go).
	st, err := s.readUserAs(ctx, candidate, false, owner != "")
	if ErrorCode(err) == ENotFound {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	u := s.toUser(st)
	if !strings.EqualFold(str(u.Doc, "userName"), userName) || s.isProtected(st.spec.Name, st.spec.Type) {
		return nil, nil
	}
	return &u, nil
}

// FindUserByExternalID returns the user the IdP gave this externalId, or
// nil. Only the bridge stores externalIds, and it indexes every one, so
// a miss is final. p4 commands: 3 (index, users, key), 1 on a miss.
func (s *Service) FindUserByExternalID(ctx context.Context, externalID string) (*User, error) {
	return s.findUserByIndex(ctx, s.externalIDKey(externalID), func(u User) bool { return str(u.Doc, "externalId") == externalID })
}

// FindUsersByEmail returns the users with this e-mail address. The index
// covers what the bridge wrote to Helix Core's Email; a miss falls back to
// listing, so unlinked users (and addresses an admin set) are found too.
// p4 commands: 3 on an index hit, 5 on a miss (index, then a listing: users -a, keys, keys, keys).
func (s *Service) FindUsersByEmail(ctx context.Context, email string) ([]User, error) {
	u, err := s.findUserByIndex(ctx, s.emailKey(email), func(u User) bool { return hasEmail(u.Doc, email) })
	if err != nil || u != nil {
		if u == nil {
			return nil, err
		}
		return []User{*u}, nil
	}
	all, err := s.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	var out []User
	err = all.Each(ctx, func(u User) {
		if hasEmail(u.Doc, email) {
			out = append(out, u)
		}
	})
	return out, err
}

func hasEmail(doc map[string]any, email string) bool {
	for _, e := range list(doc, "emails") {
		if m, ok := e.(map[string]any); ok && strings.EqualFold(str(m, "value"), email) {
			return true
		}
	}
	return false
}

// findUserByIndex reads an index key and the user it names, and keeps the
// user only if ok agrees (an index entry may be stale).
func (s *Service) findUserByIndex(ctx context.Context, key string, ok func(User) bool) (*User, error) {
	name, err := s.lookupIndex(ctx, key)
	if err != nil || name == "" {
		return nil, err
	}
	st, err := s.readUser(ctx, name, false)
	if ErrorCode(err) == ENotFound {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	u := s.toUser(st)
	if !ok(u) || s.isProtected(st.spec.Name, st.spec.Type) {
		return nil, nil
	}
	return &u, nil
}

// ListUsers returns every user the IdP may see, sorted by id: Helix Core
// users except protected ones and users hidden by a deactivating DELETE,
// and the users a deactivation released (release.go).
// The records are read only for the part of the listing asked for.
// p4 commands: users -a, keys of the hidden and of the released users,
// then one keys for the records of a page (or of all, for a filter): 4,
// whatever the directory's size.
func (s *Service) ListUsers(ctx context.Context) (Listing[User], error) {
	specs, err := s.helix.Users(ctx)
	if err != nil {
		return Listing[User]{}, helixError(err, "users")
	}
	hidden, err := s.helix.Keys(ctx, s.cfg.KeyPrefix+"hidden.*", nil)
	if err != nil {
		return Listing[User]{}, helixError(err, "hidden users")
	}
	released, err := s.helix.Keys(ctx, s.cfg.KeyPrefix+"released.*", nil)
	if err != nil {
		return Listing[User]{}, helixError(err, "released users")
	}
	visible := specs[:0]
	exists := make(map[string]bool, len(specs))
	for _, spec := range specs {
		exists[s.releasedKey(spec.Name)] = true
		if _, gone := hidden[s.hiddenKey(spec.Name)]; !gone && !s.isProtected(spec.Name, spec.Type) {
			visible = append(visible, spec)
		}
	}
	// Users a deactivation released (release.go): shown from their
	// records. A marker of a user Helix Core still has (a release or a
	// restore under way) is that user, listed above.
	for k, name := range released {
		if !exists[k] && k == s.releasedKey(name) && !s.isProtected(name, "") {
			visible = append(visible, p4.User{Name: name})
		}
	}
	sort.Slice(visible, func(i, j int) bool { return visible[i].Name < visible[j].Name })
	load := func(ctx context.Context, from, to int) (func(int) User, error) {
		want := make(map[string]bool, to-from)
		names := make([]string, 0, to-from)
		for _, u := range visible[from:to] {
			want[s.userKey(u.Name)] = true
			names = append(names, u.Name)
		}
		keep := func(k string) bool { return want[k] }
		if to-from == len(visible) {
			keep = nil
		}
		recs, err := s.helix.Keys(ctx, keyPattern(s.cfg.KeyPrefix+"user.", names), keep)
		if err != nil {
			return nil, helixError(err, "user records")
		}
		return func(i int) User {
			st := &userState{spec: visible[i]}
			if raw, ok := recs[s.userKey(visible[i].Name)]; ok {
				st.rec, _ = decodeUserRecord(raw)
			}
			return s.toUser(st)
		}, nil
	}
	return Listing[User]{n: len(visible), load: load}, nil
}

func containsName(list []string, name string, same func(a, b string) bool) bool {
	for _, n := range list {
		if same(n, name) {
			return true
		}
	}
	return false
}

func removeName(list []string, name string, same func(a, b string) bool) []string {
	out := list[:0:0]
	for _, n := range list {
		if !same(n, name) {
			out = append(out, n)
		}
	}
	return out
}
