package bridge

import (
	"context"
	"sort"
)

// userGroupLister is implemented by a Helix that can list one user's
// groups in one command (`p4 groups -u USER`); *p4.Client does. Others
// (test doubles) fall back to the full `groups` listing, also one command.
type userGroupLister interface {
	GroupsOfUser(ctx context.Context, user string) ([]string, error)
}

// GroupsOf returns, for each of the users named, the groups that list it
// in their Users field (direct membership), sorted, keyed by the user name
// as given. The deny group is left out: it is not a SCIM resource. This is
// the read-only SCIM User "groups" attribute (RFC 7643 §4.1.2).
//
// p4 commands: 1 whatever the number of users: `groups -u USER` for one
// user, one `groups` listing for several; 0 for none.
func (s *Service) GroupsOf(ctx context.Context, users ...string) (map[string][]string, error) {
	out := make(map[string][]string, len(users))
	if len(users) == 0 {
		return out, nil
	}
	if one, ok := s.helix.(userGroupLister); ok && len(users) == 1 {
		names, err := one.GroupsOfUser(ctx, users[0])
		if err != nil {
			return nil, helixError(err, "groups of user "+users[0])
		}
		for _, g := range names {
			if !s.isReservedGroup(g) {
				out[users[0]] = append(out[users[0]], g)
			}
		}
		return out, nil
	}
	groups, err := s.helix.Groups(ctx)
	if err != nil {
		return nil, helixError(err, "groups")
	}
	wanted := make(map[string]string, len(users))
	for _, u := range users {
		wanted[s.nameKey(u)] = u
	}
	for _, g := range groups {
		if s.isReservedGroup(g.Name) {
			continue
		}
		for _, member := range g.Users {
			if u, ok := wanted[s.nameKey(member)]; ok {
				out[u] = append(out[u], g.Name)
			}
		}
	}
	for u := range out {
		sort.Strings(out[u])
	}
	return out, nil
}
