package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/p4scim/p4scim/p4"
)

// This file holds DeactivateDelete: the deletion of a deactivated user's
// Helix Core user, which frees its licence ("release"), and its
// re-creation when the IdP reactivates it ("restore"). Both are parts of
// the intent of a user write (lifecycle.go), re-established on every
// attempt:
//
//   - an inactive user whose grace period has passed (Config.DeleteAfter,
//     counted from the record's DeactivatedAt) has no Helix Core user; the
//     record keeps what a re-creation needs (releasedUser) and SCIM shows
//     the user, inactive, from the record;
//   - an active user whose record says released has its Helix Core user,
//     with its profile and the group memberships recorded at the release.
//
// The record's Released field is the pending marker: written, with the
// memberships, before any of them is taken away, and cleared only by the
// record that ends a restore. So a release that stopped at any step is
// finished by the next write that asks for active:false (the IdP's retry,
// or the next sweep, `p4scim reclaim`), and a restore that stopped at any
// step by the next that asks for active:true.

// Why a deletion was refused, recorded in releasedUser.Blocked and shown
// by `p4scim reclaim`.
const (
	blockedOpenedFiles = "opened files"
	blockedProtected   = "protected"
)

// releasedUser is what the record of a released user keeps of its Helix
// Core user: the spec fields the record has no other place for, and the
// groups it was a member and an owner of. Ownership is restored with the
// membership: the record is the same SCIM identity (its id, userName and
// externalId), not a new person under an old name, which is what a DELETE
// strips ownership to guard against.
type releasedUser struct {
	Type       string   `json:"type,omitempty"`
	AuthMethod string   `json:"authMethod,omitempty"`
	Groups     []string `json:"groups,omitempty"` // groups whose Users named it
	Owns       []string `json:"owns,omitempty"`   // groups whose Owners named it
	// Blocked says why the last deletion was refused (blockedOpenedFiles):
	// the Helix Core user still exists, deactivated, out of its groups.
	Blocked string `json:"blocked,omitempty"`
}

func (r *releasedUser) clone() *releasedUser {
	if r == nil {
		return nil
	}
	c := *r
	c.Groups, c.Owns = slices.Clone(r.Groups), slices.Clone(r.Owns)
	return &c
}

// deactivatedAt is when the grace period of rec started.
func deactivatedAt(rec *userRecord) time.Time {
	if !rec.DeactivatedAt.IsZero() {
		return rec.DeactivatedAt
	}
	return rec.Modified
}

// stampDeactivation carries into next, the record a write will leave, the
// deactivation time and a release in progress from prev, the last record:
// they belong to the deactivation, not to the write, so a profile change
// of an inactive user keeps them; an active record has neither.
func (s *Service) stampDeactivation(prev, next *userRecord) {
	if activeOf(next.Doc) {
		// A restore works from prev's Released; the record that ends it
		// has none.
		next.DeactivatedAt, next.Released = time.Time{}, nil
		return
	}
	next.DeactivatedAt = s.cfg.Now().UTC()
	if prev != nil && !activeOf(prev.Doc) {
		next.DeactivatedAt = deactivatedAt(prev)
	}
	if prev != nil {
		next.Released = prev.Released.clone()
	}
}

// releaseDue says whether an inactive user's Helix Core user is to be
// deleted now: a release has begun (finish it), reclaim asks for it, or
// DeactivateDelete's grace period has passed. Never in a create (a POST
// with active:false): its retry must find its pending claim and the user
// to answer 201 (lifecycle.go), so the next sweep deletes it instead.
func (s *Service) releaseDue(next *userRecord, in userIntent) bool {
	if in.create {
		return false
	}
	return next.Released != nil || in.release ||
		s.cfg.Deactivate == DeactivateDelete && !s.cfg.Now().Before(deactivatedAt(next).Add(s.cfg.DeleteAfter))
}

// sameRecord compares two records but for Modified, and for V (set only
// when a record is written).
func sameRecord(a, b *userRecord) bool {
	if a == nil || b == nil {
		return a == b
	}
	ca, cb := *a, *b
	ca.Modified, cb.Modified = time.Time{}, time.Time{}
	ca.V, cb.V = recordVersion, recordVersion
	ja, erra := json.Marshal(ca)
	jb, errb := json.Marshal(cb)
	return erra == nil && errb == nil && string(ja) == string(jb)
}

// releaseUser deletes the Helix Core user of the deactivated user st
// (converge has run the deactivation steps). Every step on every attempt:
//
//  1. its memberships read (`groups`), joined with those an earlier attempt
//     recorded, and written into the record with the released marker, in
//     one command, when the record changes: after the deletion the record
//     is the only place they survive;
//  2. out of every group's Users and Owners (the DELETE path's
//     removeFromGroups);
//  3. `user -d -f`, which frees its licence. Workspaces, changelists and
//     shelves stay, under its name ([INF]: p4-cli.md §2.3 says only -D
//     deletes pending changes and reverts opened files; it does not say
//     what -d leaves, and a re-created user of the same name finding them
//     again is inferred from Helix Core referring to users by name). A
//     user with opened files is refused (§2.3): it stays, deactivated, the
//     refusal recorded, logged and counted.
//
// p4 commands: groups, key -m, 4 per group, user -d (+ key on a refusal).
func (s *Service) releaseUser(ctx context.Context, st *userState, next *userRecord) (User, error) {
	name := st.spec.Name
	groups, err := s.helix.Groups(ctx)
	if err != nil {
		return User{}, helixError(err, "groups")
	}
	rel := next.Released.clone()
	if rel == nil {
		rel = &releasedUser{Type: st.spec.Type, AuthMethod: st.spec.AuthMethod}
	}
	for _, g := range groups {
		if s.cfg.DenyGroup != "" && s.sameName(g.Name, s.cfg.DenyGroup) {
			continue // a reactivation leaves it, not rejoins it
		}
		if containsName(g.Users, name, s.sameName) && !containsName(rel.Groups, g.Name, s.sameName) {
			rel.Groups = append(rel.Groups, g.Name)
		}
		if containsName(g.Owners, name, s.sameName) && !containsName(rel.Owns, g.Name, s.sameName) {
			rel.Owns = append(rel.Owns, g.Name)
		}
	}
	slices.Sort(rel.Groups)
	slices.Sort(rel.Owns)
	next.Released = rel
	if !sameRecord(st.rec, next) {
		next.Modified = s.cfg.Now().UTC()
		if err := s.commit(ctx, func() error { return s.saveUserRecord(ctx, name, next, st.rec, s.releasedKey(name)) }); err != nil {
			return User{}, err
		}
	}
	st.rec = next
	if err := s.removeFromGroups(ctx, name, groups); err != nil {
		return User{}, err
	}
	err = s.helix.DeleteUser(ctx, name)
	switch {
	case err == nil || errors.Is(err, p4.ErrNotFound):
	case errors.Is(err, p4.ErrInUse):
		s.cfg.Logger.WarnContext(ctx, "deactivated user has opened files: kept in Helix Core, its licence not freed", "user", name)
		s.cfg.OnChange("user", "release_blocked", 1)
		if rel.Blocked != blockedOpenedFiles {
			blocked := *next
			blocked.Released = rel.clone()
			blocked.Released.Blocked = blockedOpenedFiles
			if err := s.commit(ctx, func() error { return s.writeUserRecord(ctx, name, &blocked) }); err != nil {
				return User{}, err
			}
			st.rec = &blocked
		}
		return s.toUser(st), nil
	default:
		return User{}, helixError(err, "user "+name)
	}
	s.cfg.OnChange("user", "released", 1)
	if rel.Blocked != "" {
		// Deleted after an earlier refusal: the refusal is history.
		done := *next
		done.Released = rel.clone()
		done.Released.Blocked = ""
		if err := s.commit(ctx, func() error { return s.writeUserRecord(ctx, name, &done) }); err != nil {
			return User{}, err
		}
		st.rec = &done
	}
	st.gone = true
	st.spec = releasedSpec(name, st.rec)
	return s.toUser(st), nil
}

// releasedSpec is the spec a released user had, from its record.
func releasedSpec(name string, rec *userRecord) p4.User {
	u := p4.User{Name: name, Email: rec.Email, FullName: rec.FullName}
	if rec.Released != nil {
		u.Type, u.AuthMethod = rec.Released.Type, rec.Released.AuthMethod
	}
	return u
}

// readReleased reads a user that Helix Core does not have: found only if
// its record says a deactivation released it. p4 commands: key: 1.
func (s *Service) readReleased(ctx context.Context, id string) (*userState, error) {
	rec, err := s.readUserRecord(ctx, id)
	if err != nil {
		return nil, err
	}
	if rec == nil || rec.Released == nil || rec.Deleted {
		return nil, userNotFound(id)
	}
	return &userState{spec: releasedSpec(id, rec), rec: rec, gone: true}, nil
}

// convergeReleased applies a write to a user whose Helix Core user a
// release deleted. An inactive intent changes only the record. An active
// one re-creates the user with its recorded profile, then converge does
// the rest (password, memberships, record), as for any reactivation.
// When the licence is full, `user -i` is refused: the licence-quota error
// (EQuota) is returned and nothing was made; the record still says
// released, so a later retry converges.
func (s *Service) convergeReleased(ctx context.Context, st *userState, next *userRecord, in userIntent) (User, error) {
	name := st.spec.Name
	if !activeOf(next.Doc) {
		if !sameRecord(st.rec, next) {
			next.Modified = s.cfg.Now().UTC()
			if err := s.commit(ctx, func() error { return s.saveUserRecord(ctx, name, next, st.rec) }); err != nil {
				return User{}, err
			}
		}
		st.rec = next
		return s.toUser(st), nil
	}
	spec := st.spec
	spec.Email, spec.FullName = next.Email, next.FullName
	if spec.Type == "" {
		spec.Type = s.cfg.NewUserType
	}
	if err := s.helix.SaveUser(ctx, spec); err != nil {
		// As for a create: the error does not prove the user was not made.
		if saved, cerr := s.helix.Users(ctx, name); cerr == nil && len(saved) == 0 {
			return User{}, s.createError(ctx, err, "user "+name)
		} else if cerr != nil {
			return User{}, helixError(err, "user "+name)
		}
		s.cfg.Logger.WarnContext(ctx, "Helix Core reported an error after saving the user spec; the user is re-created", "user", name, "err", err)
	}
	s.cfg.OnChange("user", "restored", 1)
	st.spec, st.gone = spec, false
	return s.converge(ctx, st, next, in)
}

// restoreReleased undoes a release for a user whose Helix Core user
// exists again: every recorded membership and ownership back (a group
// deleted meanwhile is skipped), then the released marker removed. The
// record, written after it by converge, clears Released last.
// p4 commands: 5 per group (lock 2, group -o, protects, group -i), key -d.
func (s *Service) restoreReleased(ctx context.Context, name string, rel *releasedUser) error {
	for _, g := range mergeNames(rel.Groups, rel.Owns) {
		member, owner := containsName(rel.Groups, g, s.sameName), containsName(rel.Owns, g, s.sameName)
		err := s.withLock(ctx, g, func(ctx context.Context) error {
			full, err := s.helix.Group(ctx, g)
			if errors.Is(err, p4.ErrNotFound) {
				s.cfg.Logger.InfoContext(ctx, "group of a restored user no longer exists", "user", name, "group", g)
				return nil
			} else if err != nil {
				return helixError(err, "group "+g)
			}
			changed := false
			if member && !containsName(full.Users, name, s.sameName) {
				full.Users, changed = append(full.Users, name), true
			}
			if owner && !containsName(full.Owners, name, s.sameName) {
				full.Owners, changed = append(full.Owners, name), true
			}
			if !changed {
				return nil
			}
			// Least privilege: a group an admin made privileged since the
			// release is not rejoined; SCIM never makes anyone admin or
			// super (privilege.go). The rest of the restore goes on.
			if p, err := s.groupPrivilege(ctx, g); err != nil {
				return err
			} else if p.denied() {
				s.cfg.Logger.WarnContext(ctx, "restored user not added back to a privileged group", "user", name, "group", g)
				return nil
			}
			_, err = s.helix.SaveGroup(ctx, full)
			return helixError(err, "group "+g)
		})
		if err != nil {
			return err
		}
	}
	return s.deleteKey(ctx, s.releasedKey(name), "user "+name)
}

// mergeNames is the sorted union of two sorted name lists.
func mergeNames(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}
