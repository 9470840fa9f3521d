package p4emu

import (
	"slices"
	"strconv"
	"strings"
)

func groupForm(g Group) form {
	f := newForm()
	f.vals["Group"] = g.Name
	f.vals["Description"] = g.Description
	f.vals["MaxResults"] = g.MaxResults
	f.vals["MaxScanRows"] = g.MaxScanRows
	f.vals["MaxLockTime"] = g.MaxLockTime
	f.vals["MaxOpenFiles"] = g.MaxOpenFiles
	f.vals["MaxMemory"] = g.MaxMemory
	f.vals["Timeout"] = g.Timeout
	f.vals["PasswordTimeout"] = g.PasswordTimeout
	f.vals["LdapConfig"] = g.LdapConfig
	f.vals["LdapSearchQuery"] = g.LdapSearchQuery
	f.vals["LdapUserAttribute"] = g.LdapUserAttribute
	f.vals["LdapUserDNAttribute"] = g.LdapUserDNAttribute
	f.lists["Subgroups"] = g.Subgroups
	f.lists["Owners"] = g.Owners
	f.lists["Users"] = g.Users
	return f
}

func formGroup(f form) Group {
	def := NewGroup(f.vals["Group"])
	val := func(tag, d string) string {
		if v := f.vals[tag]; v != "" {
			return v
		}
		return d
	}
	return normalizeGroup(Group{
		Name:         f.vals["Group"],
		Description:  f.vals["Description"],
		MaxResults:   val("MaxResults", def.MaxResults),
		MaxScanRows:  val("MaxScanRows", def.MaxScanRows),
		MaxLockTime:  val("MaxLockTime", def.MaxLockTime),
		MaxOpenFiles: val("MaxOpenFiles", def.MaxOpenFiles),
		MaxMemory:    val("MaxMemory", def.MaxMemory),
		// An omitted Timeout reads as unset (only the template shows 43200).
		Timeout:             val("Timeout", "unset"),
		PasswordTimeout:     val("PasswordTimeout", def.PasswordTimeout),
		LdapConfig:          f.vals["LdapConfig"],
		LdapSearchQuery:     f.vals["LdapSearchQuery"],
		LdapUserAttribute:   f.vals["LdapUserAttribute"],
		LdapUserDNAttribute: f.vals["LdapUserDNAttribute"],
		Subgroups:           f.lists["Subgroups"],
		Owners:              f.lists["Owners"],
		Users:               f.lists["Users"],
	})
}

// cmdGroup: `group -o|-i|-d [-a|-A|-F] name` (§3.1, §3.2).
func cmdGroup(c *cmdCtx) {
	f, ok := parseFlags(c, c.req.Args, "aAdFio", "")
	if !ok {
		return
	}
	switch {
	case f.has("o"):
		if len(f.args) != 1 {
			c.usage()
			return
		}
		name := f.args[0]
		if msg := checkName(name); msg != "" {
			c.out.fail(genUsage, "%s", msg)
			return
		}
		g, ok := c.s.groups[c.s.norm(name)]
		if !ok {
			c.emitSpec(groupSpec, groupForm(NewGroup(name)))
			return
		}
		c.emitSpec(groupSpec, groupForm(*g))
	case f.has("i"):
		groupInput(c, f)
	case f.has("d"):
		groupDelete(c, f)
	default:
		c.usage()
	}
}

// mayEditGroup applies 'p4 group' permissions: super, or -a by an owner of
// the existing group, or -A (admin) for a new group.
func (c *cmdCtx) mayEditGroup(f cmdFlags, name string, existing *Group, newOwners []string) bool {
	s := c.s
	if c.super {
		return true
	}
	switch {
	case f.has("a"):
		owners := newOwners
		if existing != nil {
			owners = existing.Owners
		}
		if s.containsName(owners, c.req.User) {
			return true
		}
		c.out.fail(genProtect, "User '%s' is not an owner of group '%s'.", c.req.User, name)
		return false
	case f.has("A"):
		if existing != nil {
			c.out.fail(genProtect, "No permission to modify existing group %s.", name)
			return false
		}
	}
	c.out.fail(genProtect, "You don't have permission for this operation.")
	return false
}

func groupInput(c *cmdCtx, f cmdFlags) {
	s := c.s
	in, perr := groupSpec.parseText(c.readSpecInput(groupSpec))
	if perr != "" {
		c.specError(groupSpec, genIllegal, perr)
		return
	}
	g := formGroup(in)
	if msg := checkName(g.Name); msg != "" {
		c.specError(groupSpec, genUsage, msg)
		return
	}
	for _, sg := range g.Subgroups {
		if msg := checkName(sg); msg != "" {
			c.specError(groupSpec, genUsage, msg)
			return
		}
	}
	existing := s.groups[s.norm(g.Name)]
	if !c.mayEditGroup(f, g.Name, existing, g.Owners) {
		return
	}
	ldapSet := g.LdapConfig != "" || g.LdapSearchQuery != "" || g.LdapUserAttribute != ""
	if ldapSet && (g.LdapConfig == "" || g.LdapSearchQuery == "" || g.LdapUserAttribute == "") {
		c.out.fail(genUsage, "All three LDAP fields must be set for LDAP group synchronization.")
		return
	}
	if ldapSet && len(g.Owners) == 0 {
		c.out.fail(genUsage, "At least one group owner is required for LDAP group synchronization.")
		return
	}
	for _, lim := range []struct{ tag, v string }{{"MaxResults", g.MaxResults}, {"MaxScanRows", g.MaxScanRows},
		{"MaxLockTime", g.MaxLockTime}, {"MaxOpenFiles", g.MaxOpenFiles}, {"MaxMemory", g.MaxMemory},
		{"Timeout", g.Timeout}, {"PasswordTimeout", g.PasswordTimeout}} {
		if _, err := strconv.Atoi(lim.v); err != nil && lim.v != "unset" && lim.v != "unlimited" {
			c.specError(groupSpec, genIllegal, "Value for field '"+lim.tag+"' must be a number, 'unset' or 'unlimited'.")
			return
		}
	}
	switch {
	case existing == nil && g.empty():
		// p4d does not create a group without users, subgroups or owners.
		c.out.info("Group %s not created.", g.Name)
	case existing == nil:
		s.groups[s.norm(g.Name)] = &g
		c.out.info("Group %s created.", g.Name)
	case g.empty():
		delete(s.groups, s.norm(g.Name))
		c.out.info("Group %s deleted.", existing.Name)
	case existing.equal(g):
		c.out.info("Group %s not updated.", existing.Name)
	default:
		g.Name = existing.Name
		s.groups[s.norm(g.Name)] = &g
		c.out.info("Group %s updated.", g.Name)
	}
}

func groupDelete(c *cmdCtx, f cmdFlags) {
	s := c.s
	if len(f.args) != 1 {
		c.usage()
		return
	}
	name := f.args[0]
	existing, ok := s.groups[s.norm(name)]
	if ok && !c.mayEditGroup(f, name, existing, nil) {
		return
	}
	if !ok {
		if !c.super && !f.has("a") {
			c.requireSuper()
			return
		}
		c.out.fail(genUnknown, "Group '%s' doesn't exist.", name)
		return
	}
	delete(s.groups, s.norm(name))
	if f.has("F") {
		// -F also removes the group from every other group.
		for k, g := range s.groups {
			g.Subgroups = slices.DeleteFunc(g.Subgroups, func(n string) bool { return s.sameName(n, name) })
			if g.empty() {
				delete(s.groups, k)
			}
		}
	}
	c.out.info("Group %s deleted.", existing.Name)
}

// groupRow is one tagged `groups` record: a (group, member) pair.
type groupRow struct {
	group              *Group
	member             string
	sub, owner, isUser bool
}

// rows lists the (group, member) pairs of g, sorted by member; a name that
// is both owner and user is one row with both flags (§3.4).
func (s *Server) rows(g *Group) []groupRow {
	byName := map[string]*groupRow{}
	var order []string
	add := func(n string, set func(r *groupRow)) {
		k := "u:" + s.norm(n)
		r, ok := byName[k]
		if !ok {
			r = &groupRow{group: g, member: n}
			byName[k] = r
			order = append(order, k)
		}
		set(r)
	}
	for _, n := range g.Users {
		add(n, func(r *groupRow) { r.isUser = true })
	}
	for _, n := range g.Owners {
		add(n, func(r *groupRow) { r.owner = true })
	}
	var out []groupRow
	for _, n := range g.Subgroups {
		out = append(out, groupRow{group: g, member: n, sub: true})
	}
	for _, k := range order {
		out = append(out, *byName[k])
	}
	slices.SortStableFunc(out, func(a, b groupRow) int { return strings.Compare(a.member, b.member) })
	return out
}

// limitNum renders a limit for tagged `groups` (0 = unset, -1 = unlimited).
func limitNum(v string) string {
	switch v {
	case "unset", "":
		return "0"
	case "unlimited":
		return "-1"
	}
	return v
}

func bit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// cmdGroups: `groups [-m max] [-v] [-i] [-g|-u|-o] [name]` (§3.4).
func cmdGroups(c *cmdCtx) {
	s := c.s
	f, ok := parseFlags(c, c.req.Args, "viguo", "m")
	if !ok {
		return
	}
	if len(f.args) > 1 {
		c.usage()
		return
	}
	max := -1
	if f.has("m") {
		n, err := strconv.Atoi(f.vals["m"])
		if err != nil {
			c.usage()
			return
		}
		max = n
	}
	name := ""
	if len(f.args) == 1 {
		name = f.args[0]
	}
	var rows []groupRow
	for _, k := range sortedKeys(s.groups) {
		g := s.groups[k]
		for _, r := range s.rows(g) {
			keep := false
			switch {
			case name == "":
				keep = true
			case f.has("v") && !f.has("i") && !f.has("u") && !f.has("g") && !f.has("o"):
				keep = s.sameName(g.Name, name) // the group itself
			case f.has("u"):
				keep = r.isUser && s.sameName(r.member, name)
			case f.has("g"):
				keep = r.sub && s.sameName(r.member, name)
			case f.has("o"):
				keep = r.owner && s.sameName(r.member, name)
			default:
				keep = (r.isUser || r.sub) && s.sameName(r.member, name)
			}
			if keep {
				rows = append(rows, r)
			}
		}
	}
	if name != "" && f.has("i") {
		rows = s.indirect(rows)
	}
	// -m counts groups, not rows.
	seen := map[*Group]bool{}
	var groupsOut []*Group
	var kept []groupRow
	for _, r := range rows {
		if !seen[r.group] {
			if max >= 0 && len(groupsOut) >= max {
				break
			}
			seen[r.group] = true
			groupsOut = append(groupsOut, r.group)
		}
		kept = append(kept, r)
	}
	if c.req.Mode.tagged() {
		for _, r := range kept {
			g := r.group
			c.out.stat(field("user", r.member), field("group", g.Name), field("isSubGroup", bit(r.sub)),
				field("isOwner", bit(r.owner)), field("isUser", bit(r.isUser)),
				field("maxResults", limitNum(g.MaxResults)), field("maxScanRows", limitNum(g.MaxScanRows)),
				field("maxLockTime", limitNum(g.MaxLockTime)), field("maxOpenFiles", limitNum(g.MaxOpenFiles)),
				field("maxMemory", limitNum(g.MaxMemory)), field("timeout", limitNum(g.Timeout)),
				field("passTimeout", limitNum(g.PasswordTimeout)))
		}
		return
	}
	for _, g := range groupsOut {
		if f.has("v") {
			c.out.info("%s %s %s %s %s %s %s %s", g.Name, g.MaxResults, g.MaxScanRows, g.MaxLockTime,
				g.MaxOpenFiles, g.MaxMemory, g.Timeout, g.PasswordTimeout)
			continue
		}
		c.out.info("%s", g.Name)
	}
}

// indirect adds, for -i, the groups that contain the matched groups as
// subgroups, transitively; their rows name the intermediate subgroup.
func (s *Server) indirect(rows []groupRow) []groupRow {
	seen := map[string]bool{}
	queue := []string{}
	for _, r := range rows {
		if !seen[s.norm(r.group.Name)] {
			seen[s.norm(r.group.Name)] = true
			queue = append(queue, r.group.Name)
		}
	}
	for len(queue) > 0 {
		sub := queue[0]
		queue = queue[1:]
		for _, k := range sortedKeys(s.groups) {
			g := s.groups[k]
			if !s.containsName(g.Subgroups, sub) || seen[k] {
				continue
			}
			seen[k] = true
			queue = append(queue, g.Name)
			rows = append(rows, groupRow{group: g, member: sub, sub: true})
		}
	}
	slices.SortStableFunc(rows, func(a, b groupRow) int { return strings.Compare(s.norm(a.group.Name), s.norm(b.group.Name)) })
	return rows
}
