package bridge

import (
	"context"
	"strings"
)

// memberType is the type a member element claims: its "type", else what
// its "$ref" points at (a URI ending in /Users/<id> or /Groups/<id>, RFC
// 7643 §4.2), else "". It only orders the lookups: the member is what its
// value is the id of.
func memberType(m map[string]any) string {
	if t, _ := m["type"].(string); t != "" {
		return t
	}
	ref, _ := m["$ref"].(string)
	parts := strings.Split(strings.TrimRight(ref, "/"), "/")
	if len(parts) < 2 {
		return ""
	}
	switch strings.ToLower(parts[len(parts)-2]) {
	case "users":
		return MemberUser
	case "groups":
		return MemberGroup
	}
	return ""
}

// userNamed looks a user up by name: its Helix Core spelling and whether
// it exists. p4 commands: users: 1.
func (s *Service) userNamed(ctx context.Context, name string) (string, bool, error) {
	specs, err := s.helix.Users(ctx, name)
	if err != nil {
		return "", false, helixError(err, "member "+name)
	}
	for _, u := range specs {
		if s.sameName(u.Name, name) {
			return u.Name, true, nil
		}
	}
	return "", false, nil
}
