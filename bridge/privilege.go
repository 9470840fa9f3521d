package bridge

import (
	"context"
	"fmt"

	"github.com/p4scim/p4scim/p4"
)

// Least privilege: a SCIM token can never seize or grant Helix Core
// privilege. A user is out of SCIM's reach when it is the bridge's own
// P4USER, listed in PROTECTED_USERS, a service or operator user, or given
// admin or super by the protections table (directly or through any group,
// subgroups included; reference p4-cli.md §5.5). A group is out of reach
// when listed in PROTECTED_GROUPS or when the protections table gives its
// members admin or super, which covers every group nested as a subgroup
// under such a group: its members inherit the grant. Its membership and
// existence are then never changed; it stays readable.
//
// The static reasons cost nothing and also hide users from reads. The
// protections are read at write time, one `protects -m` per write, so a
// grant an admin makes by hand is honoured from the next write on, and
// reads cost nothing extra.

// privilegeReason says why a user or group is out of SCIM's reach.
type privilegeReason int

const (
	notPrivileged privilegeReason = iota
	bridgeUser                    // the bridge's own P4USER
	listedUser                    // PROTECTED_USERS
	nonPersonUser                 // a service or operator user
	grantedUser                   // admin or super in the protections table
	listedGroup                   // PROTECTED_GROUPS
	grantedGroup                  // its members get admin or super
)

// privilege is the decision for one user or group, made once per write.
type privilege struct {
	reason privilegeReason
	level  p4.Access // the grant, for grantedUser and grantedGroup
	kind   string    // the user's Type, for nonPersonUser
}

func (p privilege) denied() bool { return p.reason != notPrivileged }

// staticUserPrivilege is what needs no p4 command: the bridge's user, the
// configured list, and users that are not people.
func (s *Service) staticUserPrivilege(name, userType string) privilege {
	if s.sameName(name, s.cfg.P4User) {
		return privilege{reason: bridgeUser}
	}
	for _, p := range s.cfg.Protected {
		if s.sameName(name, p) {
			return privilege{reason: listedUser}
		}
	}
	if userType == "service" || userType == "operator" {
		return privilege{reason: nonPersonUser, kind: userType}
	}
	return privilege{}
}

// isProtected says whether reads hide a user from the IdP: the static
// reasons only, so that reads cost no protections look-up. A user
// privileged through the protections stays visible (the IdP may match
// it) but every write to it is refused.
func (s *Service) isProtected(name, userType string) bool {
	return s.staticUserPrivilege(name, userType).denied()
}

// userPrivilege decides whether a write may change the user: the static
// reasons, then, unless AllowPrivilegedUsers hands admins to the IdP, the
// user's highest protections level (one `protects -u NAME -m`). The name
// need not exist yet: protections may name a user before it is created.
func (s *Service) userPrivilege(ctx context.Context, name, userType string) (privilege, error) {
	if p := s.staticUserPrivilege(name, userType); p.denied() || s.cfg.AllowPrivilegedUsers {
		return p, nil
	}
	level, err := s.helix.UserMaxAccess(ctx, name)
	if err != nil {
		// Fail closed: a write that cannot be checked is not made.
		return privilege{}, helixError(err, "the protections of user "+name)
	}
	if level.Privileged() {
		return privilege{reason: grantedUser, level: level}, nil
	}
	return privilege{}, nil
}

// checkUserWritable refuses, with 403, a write (password, active, profile,
// delete, or a create that would claim the name) to a privileged user.
func (s *Service) checkUserWritable(ctx context.Context, u p4.User) error {
	name := u.Name
	p, err := s.userPrivilege(ctx, name, u.Type)
	if err != nil || !p.denied() {
		return err
	}
	var why string
	switch p.reason {
	case bridgeUser:
		why = "is the bridge's own P4USER; no setting lets SCIM change it"
	case listedUser:
		why = "is listed in PROTECTED_USERS; remove it from PROTECTED_USERS to let the IdP manage it"
	case nonPersonUser:
		article := "a"
		if p.kind == "operator" {
			article = "an"
		}
		why = fmt.Sprintf("is %s %s user, not a person; no setting lets SCIM change service or operator users", article, p.kind)
	case grantedUser:
		why = fmt.Sprintf("has %s access in the Helix Core protections table (directly or through a group); "+
			"set ALLOW_PRIVILEGED_USERS=true to let the IdP manage admin and super users, or lower the grant with p4 protect", p.level)
	}
	return &Error{Code: EForbidden, Message: fmt.Sprintf("Helix Core user %q %s. p4scim did not change it.", name, why)}
}

// claimedUser is the user a create writes to: the existing one, or the
// new name (a user about to be created is no service or operator user
// yet, whatever NEW_USER_TYPE makes it).
func claimedUser(existing []p4.User, name string) p4.User {
	if len(existing) > 0 {
		return existing[0]
	}
	return p4.User{Name: name}
}

// groupPrivilege decides whether a write may change a group's members or
// existence: PROTECTED_GROUPS, then the level the protections table gives
// its members, subgroup nesting included (one `protects -g NAME -m`). The
// group need not exist: creating a group the table already names would
// hand its grant to the members the IdP puts in it.
func (s *Service) groupPrivilege(ctx context.Context, name string) (privilege, error) {
	for _, g := range s.cfg.ProtectedGroups {
		if s.sameName(name, g) {
			return privilege{reason: listedGroup}, nil
		}
	}
	level, err := s.helix.GroupMaxAccess(ctx, name)
	if err != nil {
		return privilege{}, helixError(err, "the protections of group "+name)
	}
	if level.Privileged() {
		return privilege{reason: grantedGroup, level: level}, nil
	}
	return privilege{}, nil
}

// checkGroupWritable refuses, with 403, a change to the members or the
// existence of a privileged group.
func (s *Service) checkGroupWritable(ctx context.Context, name string) error {
	p, err := s.groupPrivilege(ctx, name)
	if err != nil || !p.denied() {
		return err
	}
	why := "is listed in PROTECTED_GROUPS; remove it from PROTECTED_GROUPS to let the IdP manage its members"
	if p.reason == grantedGroup {
		why = fmt.Sprintf("gives its members %s access in the Helix Core protections table (directly or as a subgroup of a group that has it); "+
			"no setting lets SCIM change who holds that access: change the members with p4 group, or the grant with p4 protect", p.level)
	}
	return &Error{Code: EForbidden, Message: fmt.Sprintf("Helix Core group %q %s. p4scim did not change it.", name, why)}
}

// keepBridgeUser puts the bridge's own P4USER back into a group's new
// Users when it was there before: an admin may have added it (to give the
// bridge a group's Timeout, say), and no SCIM write may take it out. The
// IdP does not know P4USER, so a PUT of the members it manages would
// otherwise drop it.
func (s *Service) keepBridgeUser(before, after []string) []string {
	if containsName(before, s.cfg.P4User, s.sameName) && !containsName(after, s.cfg.P4User, s.sameName) {
		for _, u := range before {
			if s.sameName(u, s.cfg.P4User) {
				return append(after, u)
			}
		}
	}
	return after
}
