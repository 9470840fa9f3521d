package bridge

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/p4scim/p4scim/p4"
)

// This file holds renames (ALLOW_USER_RENAME): a userName change whose
// mapped Helix Core name differs renames the Helix Core user, and the SCIM
// id stays (the id rule is in the package comment).
//
// A renamed user is found by its id through an alias key,
// <prefix>renamed.<id>, whose value is the current Helix Core name; its
// record says the id too (userRecord.ID), so every read that starts from
// the Helix Core name (listings, filters, groups' members) answers the same
// id. A user never renamed has neither: its id is its name, and a GET by id
// costs what it did (users, key).
//
// The rename is an intent like every other write (lifecycle.go). Its steps,
// each idempotent, in an order whose every prefix a retry can finish:
//
//  1. claim: the record at the new name, marked pendingRename with the old
//     name, and the alias pointing at the new name, in one `key -m`;
//  2. `p4 renameuser` (atomic in Helix Core: groups, protections,
//     workspaces follow), skipped when Helix Core already has the new name;
//  3. the index keys of the record pointed at the new name, in one `key -m`;
//  4. the record at the old name deleted (and the alias, when the user is
//     renamed back to its id);
//  5. the record at the new name without the mark: the write's own record
//     (converge), which a rename always changes (its userName).
//
// Until step 2 has run every read resolves the id to the old name (the
// claim is not a Helix Core user, so nothing lists it); after it, to the new
// one, whose record the claim already is. A retry resolves the id either way
// and starts at step 1 or 3. A refusal by Helix Core at step 2 (the target
// appeared meanwhile) undoes step 1.

// pendingRename marks the record at a new name while a rename into it has
// not finished (steps 3 to 5 above).
const pendingRename = "rename"

// renamedKey is the alias of a renamed user: its SCIM id, which is the
// Helix Core name it was created with, to its current Helix Core name.
func (s *Service) renamedKey(id string) string { return s.cfg.KeyPrefix + "renamed." + keyPart(id) }

// userID is the SCIM id of the user st describes.
func userID(st *userState) string {
	if st.rec != nil && st.rec.ID != "" {
		return st.rec.ID
	}
	return st.spec.Name
}

// resolveUser reads the user whose SCIM id is id. A user never renamed is
// read by its name (users, key: 2 commands). Otherwise the alias names the
// user: users id, alias, users, key: 4. A name that is the current Helix
// Core name of a renamed user, but not its id, is not found: an id names
// one resource.
func (s *Service) resolveUser(ctx context.Context, id string, full bool) (*userState, error) {
	st, err := s.readUser(ctx, id, full)
	if err == nil {
		if !s.sameName(userID(st), id) {
			return nil, userNotFound(id)
		}
		return st, nil
	}
	if ErrorCode(err) != ENotFound || ValidateName(id) != nil {
		return nil, err
	}
	to, lerr := s.lookupIndex(ctx, s.renamedKey(id))
	if lerr != nil {
		return nil, lerr
	}
	if to == "" || s.sameName(to, id) {
		return nil, err
	}
	st, err = s.readUser(ctx, to, full)
	if ErrorCode(err) == ENotFound {
		// The alias may point at a rename's claim whose `renameuser` has
		// not run (step 2): the user is still under the claim's old name.
		rec, rerr := s.readUserRecord(ctx, to)
		if rerr != nil {
			return nil, rerr
		}
		if rec == nil || rec.Pending != pendingRename || rec.RenamedFrom == "" || s.sameName(rec.RenamedFrom, to) {
			return nil, userNotFound(id)
		}
		st, err = s.readUser(ctx, rec.RenamedFrom, full)
	}
	if err != nil {
		if ErrorCode(err) == ENotFound {
			return nil, userNotFound(id)
		}
		return nil, err
	}
	if !s.sameName(userID(st), id) {
		return nil, userNotFound(id) // a stale alias
	}
	return st, nil
}

// renameTarget is the Helix Core name doc's userName asks for, or "" when
// the user keeps its name: renames are off, or the rule maps the new
// userName to the current name.
func (s *Service) renameTarget(st *userState, doc map[string]any) (string, error) {
	if !s.cfg.AllowUserRename || st.rec == nil || st.rec.Pending == pendingCreate {
		// An unlinked user is linked, not renamed: its first write from
		// the IdP must not move a user an admin made.
		return "", nil
	}
	userName := strings.TrimSpace(str(doc, "userName"))
	if userName == "" || strings.EqualFold(userName, str(st.rec.Doc, "userName")) {
		return "", nil
	}
	to, err := MapName(s.cfg.UserNameRule, "userName", userName)
	if err != nil {
		return "", err
	}
	if s.sameName(to, st.spec.Name) {
		return "", nil
	}
	return to, nil
}

// finishOrRename brings the user st describes (under the lock of its id)
// to the Helix Core name doc asks for: it finishes a rename an earlier
// attempt left pending, then renames when doc's userName maps to another
// name. st is updated to the user under its final name. A refusal changes
// nothing.
func (s *Service) finishOrRename(ctx context.Context, id string, st *userState, doc map[string]any) error {
	if st.rec != nil && st.rec.Pending == pendingRename {
		if err := s.finishRename(ctx, id, st); err != nil {
			return err
		}
	}
	to, err := s.renameTarget(st, doc)
	if err != nil || to == "" {
		return err
	}
	// The lock a create of that name takes, so that neither overtakes the
	// other. Bounded: two renames of two users onto each other's names
	// would otherwise wait for each other for good (both are refused once
	// either gets in).
	// A rename back to the id needs none: the caller holds the id's.
	if !s.sameName(to, id) {
		waitCtx, cancel := context.WithTimeout(ctx, s.cfg.LockWait)
		defer cancel()
		unlock, err := s.locks.lock(waitCtx, "user/"+to)
		if err != nil {
			return busyError(to, err)
		}
		defer unlock()
	}
	if err := s.checkRenameTarget(ctx, id, st, to, strings.TrimSpace(str(doc, "userName"))); err != nil {
		return err
	}
	return s.renameUser(ctx, id, st, to)
}

// checkRenameTarget refuses a rename that Helix Core or the bridge's rules
// do not allow, before anything is changed: a protected or privileged user
// or target (403), a target that exists in Helix Core, is another user's
// id, holds the bridge's unfinished state for another user, or a userName
// another user has (409). p4 commands: users, key, key, and the userName
// index (1 to 3).
func (s *Service) checkRenameTarget(ctx context.Context, id string, st *userState, to, userName string) error {
	from := st.spec.Name
	if s.isProtected(to, "") {
		return errorf(EForbidden, "userName %q maps to the Helix Core user %q, which is protected; "+
			"p4scim does not rename %q onto it.", userName, to, from)
	}
	if err := s.checkRenamePrivilege(ctx, from, to); err != nil {
		return err
	}
	existing, err := s.helix.Users(ctx, to)
	if err != nil {
		return helixError(err, "user "+to)
	}
	if len(existing) > 0 {
		if s.isProtected(existing[0].Name, existing[0].Type) {
			return errorf(EForbidden, "userName %q maps to the Helix Core user %q, which is protected; "+
				"p4scim does not rename %q onto it.", userName, to, from)
		}
		return errorf(EConflict, "userName %q maps to the Helix Core user %q, which already exists; "+
			"p4scim cannot rename %q to it.", userName, to, from)
	}
	if !s.sameName(to, id) {
		owner, err := s.aliasOwner(ctx, to)
		if err != nil {
			return err
		}
		if owner != "" {
			return errorf(EConflict, "userName %q maps to the Helix Core name %q, which is the SCIM id of another user "+
				"(renamed to %q); p4scim keeps it reserved.", userName, to, owner)
		}
	}
	rec, err := s.readUserRecord(ctx, to)
	if err != nil {
		return err
	}
	if rec != nil && !(rec.Pending == pendingRename && s.sameName(rec.ID, id)) {
		return errorf(EConflict, "userName %q maps to the Helix Core name %q, for which p4scim holds the unfinished "+
			"state of another user (a create or delete that has not completed); retry once it has.", userName, to)
	}
	return s.checkUserNameFree(ctx, userName, to)
}

// checkRenamePrivilege refuses (403) a rename onto a name the protections
// table grants admin or super (`protects -u NAME -m`, privilege.go): the
// rename would hand that grant to another person. The user being renamed
// has passed the write's own privilege check (updateUser) already. With
// ALLOW_PRIVILEGED_USERS this check is skipped like the others.
func (s *Service) checkRenamePrivilege(ctx context.Context, from, to string) error {
	p, err := s.userPrivilege(ctx, to, "")
	if err != nil || !p.denied() {
		return err
	}
	return errorf(EForbidden, "The protections table gives the Helix Core name %q %s access; p4scim does not rename %q onto it, "+
		"which would hand that access to another person.", to, p.level, from)
}

// renameUser carries out steps 1 to 5 (see the top of this file) for the
// user st describes, whose id is id, to the Helix Core name to.
func (s *Service) renameUser(ctx context.Context, id string, st *userState, to string) error {
	from := st.spec.Name
	claim := *st.rec
	claim.Doc = cloneDoc(st.rec.Doc)
	claim.ID, claim.Pending, claim.RenamedFrom = id, pendingRename, from
	if s.sameName(to, id) {
		claim.ID = ""
	}
	aliases := []string{s.renamedKey(id)}
	if s.sameName(to, id) {
		aliases = nil // renamed back to its id: the alias goes at step 4
	}
	if err := s.writeUserRecord(ctx, to, &claim, aliases...); err != nil {
		return err
	}
	if err := s.helix.RenameUser(ctx, from, to); err != nil {
		if done, err := s.renameRefused(ctx, id, from, to, err); !done {
			return err
		}
	} else {
		s.cfg.OnChange("user", "renamed", 1)
	}
	st.spec.Name = to
	st.rec = &claim
	return s.finishRename(ctx, id, st)
}

// renameRefused decides what a failed `renameuser` means. Maybe run (the
// connection lost, a timeout): the retry resolves the id and finds out.
// Otherwise Helix Core is asked: the user already under its new name and
// not its old one means another attempt of the same rename (on another
// replica) did it, and this one carries on (done); the old name still
// there is a refusal for good, and step 1 is undone; neither means the user
// changed meanwhile, and the IdP's retry sees how.
func (s *Service) renameRefused(ctx context.Context, id, from, to string, err error) (done bool, _ error) {
	switch p4.KindOf(err) {
	case p4.KindUnavailable, p4.KindTimeout, p4.KindServerFault:
		return false, helixError(err, "user "+from)
	}
	users, cerr := s.helix.Users(ctx, from, to)
	if cerr != nil {
		return false, helixError(err, "user "+from)
	}
	hasFrom, hasTo := false, false
	for _, u := range users {
		hasFrom = hasFrom || s.sameName(u.Name, from)
		hasTo = hasTo || s.sameName(u.Name, to)
	}
	switch {
	case hasTo && !hasFrom:
		return true, nil
	case !hasFrom:
		return false, errorf(EUnavailable, "Helix Core user %q changed while p4scim renamed it; retry.", from)
	}
	s.undoRenameClaim(ctx, id, from, to)
	if p4.KindOf(err) == p4.KindAlreadyExists {
		return false, errorf(EConflict, "Helix Core user %q already exists; p4scim cannot rename %q to it.", to, from)
	}
	return false, helixError(err, "user "+from)
}

// undoRenameClaim removes step 1 after Helix Core refused the rename for
// good; best effort, as the refusal is the error to report. The alias goes
// back to the old name (or away, when the old name is the id).
func (s *Service) undoRenameClaim(ctx context.Context, id, from, to string) {
	ctx = context.WithoutCancel(ctx)
	if err := s.helix.DeleteKey(ctx, s.userKey(to)); err != nil && !errors.Is(err, p4.ErrNotFound) {
		s.cfg.Logger.WarnContext(ctx, "could not remove a refused rename's claim", "user", from, "to", to, "err", err)
	}
	var err error
	switch {
	case s.sameName(to, id):
	case s.sameName(from, id):
		err = s.helix.DeleteKey(ctx, s.renamedKey(id))
	default:
		err = s.helix.SetKey(ctx, s.renamedKey(id), from)
	}
	if err != nil && !errors.Is(err, p4.ErrNotFound) {
		s.cfg.Logger.WarnContext(ctx, "could not restore a refused rename's alias", "user", from, "to", to, "err", err)
	}
}

// finishRename carries out steps 3 to 5 for a user Helix Core has under its
// new name (st) and whose record there is still marked pendingRename.
func (s *Service) finishRename(ctx context.Context, id string, st *userState) error {
	name, from := st.spec.Name, st.rec.RenamedFrom
	if keys := s.userIndexKeys(st.rec); len(keys) > 0 {
		kv := make(map[string]string, len(keys))
		for _, k := range keys {
			kv[k] = name
		}
		if err := helixError(s.helix.SetKeys(ctx, kv), "user "+name); err != nil {
			return err
		}
	}
	if from != "" && !s.sameName(from, name) {
		if err := s.deleteKey(ctx, s.userKey(from), "user "+from); err != nil {
			return err
		}
	}
	if s.sameName(name, id) {
		if err := s.deleteKey(ctx, s.renamedKey(id), "user "+name); err != nil {
			return err
		}
	}
	// Step 5 is the write's record (converge): st.rec stays the stored
	// claim, still marked, so converge sees the mark to clear and writes.
	st.rec.RenamedFrom = ""
	return nil
}

// carriedPending is the mark a write's record keeps from the last one: a
// create's (its retry finishes it), not a rename's (finishRename has done
// what it marks by the time the record is written).
func carriedPending(p string) string {
	if p == pendingRename {
		return ""
	}
	return p
}

// checkIDFree refuses a create whose Helix Core name is the SCIM id of a
// renamed user: the id stays that user's for good. p4 commands: key: 1
// (and the alias's user, when there is one).
func (s *Service) checkIDFree(ctx context.Context, userName, name string) error {
	owner, err := s.aliasOwner(ctx, name)
	if err != nil || owner == "" {
		return err
	}
	return errorf(EConflict, "userName %q maps to the Helix Core name %q, which is the SCIM id of a user "+
		"since renamed to %q; p4scim keeps it reserved. Map the new user to another name.", userName, name, owner)
}

// aliasOwner is the current Helix Core name of the renamed user whose id
// is id, or "" when there is none. The id stays taken while any record
// claims it (the user's, hidden or not, or a rename's claim); an alias no
// record answers to any more (left by a rename or delete that did not
// finish) is removed, best effort, so that it does not reserve the name
// for good. p4 commands: key, and the record it names.
func (s *Service) aliasOwner(ctx context.Context, id string) (string, error) {
	to, err := s.lookupIndex(ctx, s.renamedKey(id))
	if err != nil || to == "" || s.sameName(to, id) {
		return "", err
	}
	rec, err := s.readUserRecord(ctx, to)
	if err != nil {
		return "", err
	}
	if rec != nil && s.sameName(rec.ID, id) {
		return to, nil
	}
	if err := s.helix.DeleteKey(ctx, s.renamedKey(id)); err != nil && !errors.Is(err, p4.ErrNotFound) {
		s.cfg.Logger.WarnContext(ctx, "could not remove a stale alias", "id", id, "err", err)
	}
	return "", nil
}

// renamedIDs maps the current Helix Core name of every renamed user to its
// SCIM id, for the views that start from names (a group's members). One
// `keys`, and only when renames are on; nil otherwise.
func (s *Service) renamedIDs(ctx context.Context) (map[string]string, error) {
	if !s.cfg.AllowUserRename {
		return nil, nil
	}
	prefix := s.cfg.KeyPrefix + "renamed."
	kv, err := s.helix.Keys(ctx, prefix+"*", nil)
	if err != nil {
		return nil, helixError(err, "renamed users")
	}
	ids := make(map[string]string, len(kv))
	for k, name := range kv {
		if id, ok := unKeyPart(strings.TrimPrefix(k, prefix)); ok && !s.sameName(id, name) {
			ids[s.nameKey(name)] = id
		}
	}
	return ids, nil
}

// unKeyPart is keyPart's inverse.
func unKeyPart(part string) (string, bool) {
	h, encoded := strings.CutPrefix(part, "=")
	if !encoded {
		return part, part != ""
	}
	b, err := hex.DecodeString(h)
	return string(b), err == nil && len(b) > 0
}

// memberIDs turns a group's Helix Core user names into SCIM ids (a nil
// map changes nothing).
func (s *Service) memberIDs(users []string, ids map[string]string) []string {
	if len(ids) == 0 {
		return users
	}
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u
		if id, ok := ids[s.nameKey(u)]; ok {
			out[i] = id
		}
	}
	return out
}

// deleteRenamed is a DELETE by an id that is no Helix Core user's name nor
// any record's: the user may have been renamed. It follows the alias; an
// alias whose user and record are gone is the last key of an earlier
// DELETE's clean-up, removed now (204). p4 commands: key, then deleteUser's.
func (s *Service) deleteRenamed(ctx context.Context, id, name string) error {
	if !s.sameName(id, name) {
		return userNotFound(id)
	}
	to, err := s.lookupIndex(ctx, s.renamedKey(id))
	if err != nil {
		return err
	}
	if to == "" || s.sameName(to, id) {
		return userNotFound(id)
	}
	users, err := s.helix.Users(ctx, to)
	if err != nil {
		return helixError(err, "user "+to)
	}
	rec, err := s.readUserRecord(ctx, to)
	if err != nil {
		return err
	}
	if len(users) == 0 && rec == nil {
		return s.deleteKey(ctx, s.renamedKey(id), "user "+id)
	}
	if rec != nil && rec.Pending == pendingRename && len(users) == 0 {
		if s.sameName(rec.RenamedFrom, id) {
			// The rename's claim is all that is left (its old name was
			// looked up first, and is gone): clear it.
			return s.removeUserKeys(ctx, to, rec)
		}
		// The rename's `renameuser` has not run: the user is still under
		// its old name.
		to = rec.RenamedFrom
	}
	return s.deleteUser(ctx, id, to)
}

// membersByName turns the SCIM ids of renamed users in a members value
// back into their Helix Core names (the inverse of memberIDs), leaving
// everything else as it is; members is not modified.
func (s *Service) membersByName(members any, ids map[string]string) any {
	list, ok := members.([]any)
	if !ok || len(ids) == 0 {
		return members
	}
	byID := make(map[string]string, len(ids))
	for name, id := range ids {
		byID[s.nameKey(id)] = name
	}
	out := make([]any, len(list))
	for i, e := range list {
		out[i] = e
		m, ok := e.(map[string]any)
		if !ok || strings.EqualFold(str(m, "type"), MemberGroup) {
			continue
		}
		if name, ok := byID[s.nameKey(strings.TrimSpace(str(m, "value")))]; ok {
			c := cloneDoc(m)
			c["value"] = name
			out[i] = c
		}
	}
	return out
}

// renamedUser is the current Helix Core name of the renamed user whose id
// is id, or "". p4 commands: key, users (only for a member value that is
// no user's name).
func (s *Service) renamedUser(ctx context.Context, id string) (string, error) {
	to, err := s.lookupIndex(ctx, s.renamedKey(id))
	if err != nil || to == "" || s.sameName(to, id) {
		return "", err
	}
	users, err := s.helix.Users(ctx, to)
	if err != nil {
		return "", helixError(err, "member "+id)
	}
	if len(users) == 0 {
		return "", nil
	}
	return users[0].Name, nil
}
