package p4

import (
	"context"
	"fmt"
)

// Access is a protections level as `protects -m` names it (reference
// p4-cli.md §5.5): list, read, open, write, admin, super. "none" is what
// the bridge calls a name no line grants anything.
type Access string

// The protections levels, lowest to highest (§5.5).
const (
	AccessNone  Access = "none"
	AccessList  Access = "list"
	AccessRead  Access = "read"
	AccessOpen  Access = "open"
	AccessWrite Access = "write"
	AccessAdmin Access = "admin"
	AccessSuper Access = "super"
)

// Privileged says whether the level lets its holder administer Helix
// Core: admin and super (§5.5). A level this client does not know (a
// newer server's, such as "owner" for sub-protections [INF]) counts as
// privileged: a gate that reads an unknown word as harmless fails open.
func (a Access) Privileged() bool {
	switch a {
	case AccessNone, AccessList, AccessRead, AccessOpen, AccessWrite, "review", "":
		// review is the level `p4 review` and keys need, below admin [INF:
		// not in §5.5's list, named by p4 help key].
		return false
	}
	return true
}

// UserMaxAccess is the highest level the protections table gives a user,
// through user lines and every group it is in, subgroups included:
// `protects -u USER -m` (§5.5; needs super).
func (c *Client) UserMaxAccess(ctx context.Context, user string) (Access, error) {
	return c.maxAccess(ctx, "-u", user)
}

// GroupMaxAccess is the highest level the protections table gives a
// group's members: `protects -g GROUP -m` (§5.2 usage; needs super). That
// p4d counts the lines of the groups GROUP is a subgroup of is [INF]: the
// manual says only "the lines that apply to the named group".
func (c *Client) GroupMaxAccess(ctx context.Context, group string) (Access, error) {
	return c.maxAccess(ctx, "-g", group)
}

func (c *Client) maxAccess(ctx context.Context, flag, name string) (Access, error) {
	res, err := c.command(ctx, nil, "protects", flag, name, "-m")
	if err != nil {
		return "", err
	}
	for _, d := range res.stats {
		if v, ok := d.Get("permMax"); ok {
			if v == "" {
				return AccessNone, nil
			}
			return Access(v), nil
		}
	}
	return "", unexpected("protects", res)
}

// Configurable reads a server configurable with `configure show NAME`
// (§5.6; needs super). set is false when the server reports no value; the
// caller then knows only the documented default.
func (c *Client) Configurable(ctx context.Context, name string) (value string, set bool, err error) {
	res, err := c.command(ctx, nil, "configure", "show", name)
	if err != nil {
		return "", false, err
	}
	for _, d := range res.stats {
		if n, ok := d.Get("Name"); ok && n == name {
			return d.String("Value"), true, nil
		}
	}
	if len(res.stats) == 0 {
		return "", false, nil
	}
	return "", false, &Error{Kind: KindOther, Command: "configure", Err: fmt.Errorf("configure show %s answered no %s record", name, name)}
}
