package p4

import (
	"context"
	"sort"
)

// GroupsOfUser lists the groups whose Users field names user, in one
// command, `groups -u USER` (reference/p4-cli.md §3.4: the argument is a
// user, so a group of the same name does not count). Only the group
// names are read from the rows: which member rows a server prints for
// those groups is not documented [INF], and the names do not depend on it.
func (c *Client) GroupsOfUser(ctx context.Context, user string) ([]string, error) {
	res, err := c.command(ctx, nil, "groups", "-u", user)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	out := []string{}
	for _, d := range res.stats {
		if name := d.String("group"); name != "" && !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}
