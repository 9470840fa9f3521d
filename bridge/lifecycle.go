package bridge

import (
	"context"
	"errors"
	"reflect"
	"strings"

	"github.com/p4scim/p4scim/p4"
)

// This file holds the lifecycle write paths: how a user write makes its
// intent true in Helix Core (DESIGN §13; the rule is in the package
// comment). Each step below is idempotent and runs on every attempt; none is
// skipped because the record says it was done. The record is the receipt:
// it is written last, so it never claims more than Helix Core holds, and a
// retry that reads it sees the state before the unfinished write.

// pendingCreate marks the record of a user whose create has not finished:
// a retry of the same create finishes it instead of answering 409.
const pendingCreate = "create"

// userIntent is what a user write asks for beyond the record: the password
// the IdP sent, and whether this is a create (which must leave the user
// with a password even when the IdP sent none).
type userIntent struct {
	password    string
	hasPassword bool
	create      bool
	// release deletes an inactive user's Helix Core user whatever the
	// policy's grace period says (p4scim reclaim --apply, release.go).
	release bool
}

// converge makes next (the record the write will leave) true for the user
// st describes, then writes next. The steps, each on every attempt:
//
//  1. the spec's Email and FullName, written when Helix Core's differ;
//  2. access: for active:false, deactivate (password, sessions, deny group);
//     for active:true, the IdP's password when it sent one (a create
//     without one gets a random password, p4-cli.md §5.6), and, when the
//     last finished write left the user inactive, reactivate;
//  3. the record, with a create's pending mark cleared.
//
// A failure at any step returns the error before the record is written:
// the retry starts again from step 1 and finishes the job.
func (s *Service) converge(ctx context.Context, st *userState, next *userRecord, in userIntent) (User, error) {
	name := st.spec.Name
	s.stampDeactivation(st.rec, next)
	if st.gone {
		return s.convergeReleased(ctx, st, next, in) // release.go
	}
	if st.spec.Email != next.Email || st.spec.FullName != next.FullName {
		spec := st.spec
		spec.Email, spec.FullName = next.Email, next.FullName
		if err := s.helix.SaveUser(ctx, spec); err != nil {
			return User{}, helixError(err, "user "+name)
		}
		st.spec = spec
		if !in.create {
			s.cfg.OnChange("user", "updated", 1)
		}
	}
	syncPassword := in.hasPassword && in.password != "" && !s.cfg.DisablePasswordSync
	if !activeOf(next.Doc) {
		// The password the IdP may have sent is not set: an inactive user
		// must not be able to log in with anything.
		if err := s.deactivate(ctx, name, st.spec.AuthMethod); err != nil {
			return User{}, err
		}
		if st.rec == nil || activeOf(st.rec.Doc) || in.create {
			s.cfg.OnChange("user", "deactivated", 1)
		}
	} else {
		switch {
		case syncPassword:
			if err := s.setPassword(ctx, name, st.spec.AuthMethod, in.password); err != nil {
				if in.create && ErrorCode(err) == EInvalid {
					// Helix Core refuses the password for good (its policy):
					// undo the create rather than leave a user without the
					// password the IdP chose.
					s.undoCreate(ctx, name, next)
				}
				return User{}, err
			}
		case in.create || st.rec != nil && st.rec.Released != nil:
			// No password to sync: a random one nobody knows, so that the
			// user cannot be claimed by whoever sets its initial password
			// first (dm.user.setinitialpasswd=1, p4-cli.md §5.6). The user
			// logs in through SSO, or gets a password from the IdP later.
			if err := s.setPassword(ctx, name, st.spec.AuthMethod, s.cfg.RandomPassword()); err != nil {
				return User{}, err
			}
		}
		// The last finished write left the user inactive (or hidden by a
		// deactivating DELETE): undo the deactivation. The record is
		// written after it, so until it has succeeded every retry comes
		// here again.
		if st.rec != nil && !in.create && (!activeOf(st.rec.Doc) || st.rec.Deleted) {
			if err := s.reactivate(ctx, name); err != nil {
				return User{}, err
			}
		}
		if st.rec != nil && st.rec.Released != nil {
			if err := s.restoreReleased(ctx, name, st.rec.Released); err != nil {
				return User{}, err
			}
		}
	}
	if in.create {
		next.Pending = ""
	}
	if !activeOf(next.Doc) && s.releaseDue(next, in) {
		return s.releaseUser(ctx, st, next) // release.go
	}
	if st.rec == nil || st.rec.Pending != next.Pending || st.rec.Deleted || st.rec.Email != next.Email ||
		!st.rec.DeactivatedAt.Equal(next.DeactivatedAt) || st.rec.Released != nil ||
		st.rec.FullName != next.FullName || !reflect.DeepEqual(normalise(st.rec.Doc), normalise(next.Doc)) {
		next.Modified = s.cfg.Now().UTC()
		if err := s.commit(ctx, func() error { return s.saveUserRecord(ctx, name, next, st.rec) }); err != nil {
			return User{}, err
		}
	}
	st.rec = next
	return s.toUser(st), nil
}

// undoCreate deletes a user whose create cannot finish, and its keys; best
// effort: the refusal is the error to report, and a leftover pending claim
// is overwritten by the next create.
func (s *Service) undoCreate(ctx context.Context, name string, rec *userRecord) {
	if err := s.helix.DeleteUser(context.WithoutCancel(ctx), name); err == nil || errors.Is(err, p4.ErrNotFound) {
		s.forgetUser(ctx, name, rec)
	}
}

// deactivate makes an inactive user unable to reach Helix Core, every step
// on every attempt: the password replaced by a random one nobody knows,
// every session on every host ended, and membership of the deny group, if
// one is configured. The password comes first so that a login between the
// steps is ended by the logout. (p4-cli.md §4.1 says a password change
// ends "your" tickets; whether a super user's `passwd USER` ends USER's is
// [INF], so the logout is never left out.)
// p4 commands: passwd, logout, and 3 or 4 for the deny group.
func (s *Service) deactivate(ctx context.Context, name, authMethod string) error {
	if !strings.HasPrefix(authMethod, "ldap") {
		err := s.helix.SetPassword(ctx, name, s.cfg.RandomPassword())
		if err != nil && !errors.Is(err, p4.ErrUnsupported) {
			return helixError(err, "user "+name)
		}
	}
	if err := s.helix.Logout(ctx, name); err != nil && !errors.Is(err, p4.ErrNotFound) {
		return helixError(err, "user "+name)
	}
	if s.cfg.DenyGroup != "" {
		return s.setDenyMembership(ctx, name, true)
	}
	return nil
}

// reactivate undoes what deactivate can undo: the deny group membership.
// Sessions and the password stay invalid until the user logs in through
// SSO or the IdP syncs a password (converge sets one the write carries).
func (s *Service) reactivate(ctx context.Context, name string) error {
	s.cfg.OnChange("user", "reactivated", 1)
	if s.cfg.DenyGroup != "" {
		return s.setDenyMembership(ctx, name, false)
	}
	return nil
}

// setDenyMembership makes name a member of the deny group, or not. The
// group is read under its lock on every attempt and written only when
// Helix Core's membership differs: a decision on Helix Core's state, not
// on the record. p4 commands: lock (2), group -o, and group -i if needed.
func (s *Service) setDenyMembership(ctx context.Context, name string, member bool) error {
	return s.withLock(ctx, s.cfg.DenyGroup, func(ctx context.Context) error {
		g, err := s.helix.Group(ctx, s.cfg.DenyGroup)
		if errors.Is(err, p4.ErrNotFound) {
			g = p4.Group{Name: s.cfg.DenyGroup, Owners: []string{s.cfg.P4User}}
		} else if err != nil {
			return helixError(err, "group "+s.cfg.DenyGroup)
		}
		if containsName(g.Users, name, s.sameName) == member {
			return nil
		}
		if member {
			g.Users = append(g.Users, name)
		} else {
			g.Users = removeName(g.Users, name, s.sameName)
		}
		s.keepGroup(&g)
		_, err = s.helix.SaveGroup(ctx, g)
		return helixError(err, "group "+s.cfg.DenyGroup)
	})
}

// keepGroup makes the bridge an owner of a group that would otherwise be
// left with no users, subgroups or owners, which Helix Core deletes.
func (s *Service) keepGroup(g *p4.Group) {
	if len(g.Users)+len(g.Subgroups)+len(g.Owners) == 0 {
		g.Owners = []string{s.cfg.P4User}
	}
}

// removeUser carries out DeleteRemoves for an existing user: out of every
// group, logged out, deleted, then its keys. removed is false when Helix
// Core keeps the user because it has opened files; the caller hides it.
//
// The memberships go first, so that no prefix of the steps leaves a
// deleted user in a group (a later user of the same name would inherit
// it); the logout, so that no session outlives the user whatever the
// server does with the tickets of a deleted user ([INF]: p4-cli.md does not
// say whether `user -d` ends them); the record last, as the marker that
// clean-up is pending.
func (s *Service) removeUser(ctx context.Context, name string, rec *userRecord) (removed bool, err error) {
	if err := s.removeFromAllGroups(ctx, name); err != nil {
		return false, err
	}
	if err := s.helix.Logout(ctx, name); err != nil && !errors.Is(err, p4.ErrNotFound) {
		return false, helixError(err, "user "+name)
	}
	err = s.helix.DeleteUser(ctx, name)
	switch {
	case err == nil || errors.Is(err, p4.ErrNotFound):
	case errors.Is(err, p4.ErrInUse):
		s.cfg.Logger.WarnContext(ctx, "user has opened files: deactivated instead of deleted", "user", name)
		return false, nil
	default:
		return false, helixError(err, "user "+name)
	}
	s.cfg.OnChange("user", "deleted", 1)
	return true, s.removeUserKeys(ctx, name, rec)
}

// finishDelete completes the clean-up of a user an earlier DELETE removed:
// memberships (an admin may have re-added the name meanwhile, and the
// earlier attempt may have stopped before them) and keys.
func (s *Service) finishDelete(ctx context.Context, name string, rec *userRecord) error {
	if err := s.removeFromAllGroups(ctx, name); err != nil {
		return err
	}
	return s.removeUserKeys(ctx, name, rec)
}

// removeUserKeys deletes a deleted user's index keys, then its record and
// hidden marker. Unlike forgetUser every failure is returned: the record
// stays until the index keys are gone, so a retry finds the clean-up still
// pending.
func (s *Service) removeUserKeys(ctx context.Context, name string, rec *userRecord) error {
	keys := append(s.userIndexKeys(rec), s.hiddenKey(name), s.releasedKey(name))
	if rec.Pending == pendingRename && rec.RenamedFrom != "" {
		keys = append(keys, s.userKey(rec.RenamedFrom)) // an unfinished rename's old record (rename.go)
	}
	keys = append(keys, s.userKey(name))
	if rec.ID != "" {
		// A renamed user's alias, last: until it is gone a retry of the
		// DELETE by the id finds the clean-up (rename.go).
		keys = append(keys, s.renamedKey(rec.ID))
	}
	for _, k := range keys {
		if k == s.hiddenKey(name) && !rec.Deleted || k == s.releasedKey(name) && rec.Released == nil {
			continue // never set: no command for it
		}
		if err := s.deleteKey(ctx, k, "user "+name); err != nil {
			return err
		}
	}
	return nil
}

// deleteKey deletes a key as a committed step: absent already is done.
func (s *Service) deleteKey(ctx context.Context, key, what string) error {
	return s.commit(ctx, func() error {
		if err := s.helix.DeleteKey(ctx, key); err != nil && !errors.Is(err, p4.ErrNotFound) {
			return helixError(err, what)
		}
		return nil
	})
}

// hideUser carries out a DELETE that keeps the Helix Core user: it is
// deactivated (every step, every attempt), then the record marked deleted
// and the hidden marker written, last, in one command.
func (s *Service) hideUser(ctx context.Context, name, authMethod string, rec *userRecord) error {
	if err := s.deactivate(ctx, name, authMethod); err != nil {
		return err
	}
	if activeOf(rec.Doc) {
		s.cfg.OnChange("user", "deactivated", 1)
	}
	rec.Doc["active"] = false
	rec.Deleted = true
	rec.Modified = s.cfg.Now().UTC()
	return s.commit(ctx, func() error { return s.writeUserRecord(ctx, name, rec, s.hiddenKey(name)) })
}

// removeFromAllGroups takes a user out of every group's Users and Owners,
// so that a later user of the same name inherits neither its access nor
// the right to edit a group (`p4 group -a`). One `groups` finds them; each
// group is then read and written under its lock.
func (s *Service) removeFromAllGroups(ctx context.Context, name string) error {
	groups, err := s.helix.Groups(ctx)
	if err != nil {
		return helixError(err, "groups")
	}
	return s.removeFromGroups(ctx, name, groups)
}

// removeFromGroups is removeFromAllGroups for the groups a `groups` read.
func (s *Service) removeFromGroups(ctx context.Context, name string, groups []p4.Group) error {
	for _, g := range groups {
		if !containsName(g.Users, name, s.sameName) && !containsName(g.Owners, name, s.sameName) {
			continue
		}
		err := s.withLock(ctx, g.Name, func(ctx context.Context) error {
			full, err := s.helix.Group(ctx, g.Name)
			if errors.Is(err, p4.ErrNotFound) {
				return nil
			} else if err != nil {
				return helixError(err, "group "+g.Name)
			}
			if !containsName(full.Users, name, s.sameName) && !containsName(full.Owners, name, s.sameName) {
				return nil
			}
			full.Users = removeName(full.Users, name, s.sameName)
			full.Owners = removeName(full.Owners, name, s.sameName)
			s.keepGroup(&full)
			_, err = s.helix.SaveGroup(ctx, full)
			return helixError(err, "group "+g.Name)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// commitAttempts is how many times a write's last step is tried within one
// request.
const commitAttempts = 2

// commit runs the last step of a write (the record, or a delete's last
// key), trying it again at once if Helix Core was unreachable. The step is
// idempotent. Its answer matters more than any other: if it ran but its
// answer was lost, Helix Core holds the finished intent and no marker is
// left for the IdP's retry to find, so that retry would answer as for a new
// request (409 for a create, 404 for a delete). Trying again here turns the
// lost answer into the success it was.
func (s *Service) commit(ctx context.Context, step func() error) error {
	err := step()
	for attempt := 1; attempt < commitAttempts && err != nil && ErrorCode(err) == EUnavailable && ctx.Err() == nil; attempt++ {
		err = step()
	}
	return err
}
