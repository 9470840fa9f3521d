package p4

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/p4scim/p4scim/p4/marshal"
)

// listTags are the group spec's member lists; every other field goes to
// Group.Fields.
var listTags = []string{"Users", "Subgroups", "Owners"}

// GroupExists tests for a group with `groups -v NAME`, which lists the
// group itself (HAS found it the only accurate test).
func (c *Client) GroupExists(ctx context.Context, name string) (bool, error) {
	res, err := c.command(ctx, nil, "groups", "-v", name)
	if err != nil {
		return false, err
	}
	return len(res.stats) > 0, nil
}

// Group reads a group with `group -o NAME`. p4 answers a template for an
// unknown group; a group that exists always has a user, subgroup or
// owner, so an empty one is ErrNotFound.
func (c *Client) Group(ctx context.Context, name string) (Group, error) {
	res, err := c.command(ctx, nil, "group", "-o", name)
	if err != nil {
		return Group{}, err
	}
	if len(res.stats) == 0 {
		return Group{}, unexpected("group", res)
	}
	g := groupFromDict(res.stats[0])
	if len(g.Users)+len(g.Subgroups)+len(g.Owners) == 0 {
		return Group{}, &Error{Kind: KindNotFound, Command: "group", Messages: []Message{{Severity: SeverityWarning, Text: "Group '" + name + "' doesn't exist."}}}
	}
	return g, nil
}

func groupFromDict(d marshal.Dict) Group {
	g := Group{Name: d.String("Group"), Fields: map[string]string{}}
	g.Users = listField(d, "Users")
	g.Subgroups = listField(d, "Subgroups")
	g.Owners = listField(d, "Owners")
	for _, f := range d.Fields {
		if f.Key == "code" || f.Key == "Group" || isListKey(f.Key) {
			continue
		}
		v, _ := d.Get(f.Key)
		g.Fields[f.Key] = v
	}
	return g
}

// isListKey says whether a key is an element of a member list (Users0...).
func isListKey(key string) bool {
	for _, t := range listTags {
		if rest, ok := strings.CutPrefix(key, t); ok && rest != "" {
			if _, err := strconv.Atoi(rest); err == nil {
				return true
			}
		}
	}
	return false
}

// Groups lists every group with its members in one command, `groups`,
// whose tagged output has one row per (group, member).
func (c *Client) Groups(ctx context.Context) ([]Group, error) {
	res, err := c.command(ctx, nil, "groups")
	if err != nil {
		return nil, err
	}
	byName := map[string]*Group{}
	for _, d := range res.stats {
		name := d.String("group")
		g := byName[name]
		if g == nil {
			g = &Group{Name: name}
			byName[name] = g
		}
		member := d.String("user")
		if d.String("isUser") == "1" {
			g.Users = append(g.Users, member)
		}
		if d.String("isSubGroup") == "1" {
			g.Subgroups = append(g.Subgroups, member)
		}
		if d.String("isOwner") == "1" {
			g.Owners = append(g.Owners, member)
		}
	}
	out := make([]Group, 0, len(byName))
	for _, g := range byName {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// SaveGroup writes a whole group spec with `group -i`. The spec replaces
// the stored one: pass back the Fields that Group read so limits, owners
// and the description survive.
func (c *Client) SaveGroup(ctx context.Context, g Group) (GroupSaveResult, error) {
	fields := make(map[string]string, len(g.Fields)+len(g.Users)+len(g.Owners)+len(g.Subgroups)+1)
	for k, v := range g.Fields {
		fields[k] = v
	}
	fields["Group"] = g.Name
	for tag, list := range map[string][]string{"Users": g.Users, "Subgroups": g.Subgroups, "Owners": g.Owners} {
		for i, m := range list {
			fields[tag+strconv.Itoa(i)] = m
		}
	}
	in, err := encodeSpec(fields)
	if err != nil {
		return 0, err
	}
	res, err := c.command(ctx, in, "group", "-i")
	if err != nil {
		return 0, err
	}
	switch {
	case res.hasInfo(" not created."):
		return GroupNotCreated, nil
	case res.hasInfo(" not updated."):
		return GroupNotChanged, nil
	case res.hasInfo(" created."):
		return GroupCreated, nil
	case res.hasInfo(" updated."):
		return GroupUpdated, nil
	case res.hasInfo(" deleted."):
		return GroupDeleted, nil
	}
	return 0, unexpected("group", res)
}

// DeleteGroup deletes a group with `group -d NAME`.
func (c *Client) DeleteGroup(ctx context.Context, name string) error {
	res, err := c.command(ctx, nil, "group", "-d", name)
	if err != nil {
		return err
	}
	if res.hasInfo(" deleted.") {
		return nil
	}
	return unexpected("group", res)
}
