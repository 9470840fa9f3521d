package p4emu

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/p4scim/p4scim/p4/marshal"
)

// ProtectLine is one line of the protections table (`p4 protect`,
// reference p4-cli.md §5.2/§5.5): Perm granted to a user or a group (Name
// may hold '*' wildcards) from Host on Path.
type ProtectLine struct {
	Perm  string // list, read, open, write, admin or super
	Group bool   // Name is a group: its members, subgroups included, get Perm
	Name  string
	Host  string // "" means "*"
	Path  string // "" means "//..."
	Unmap bool   // an exclusion line (-//path)
}

// accessLevels are the protections levels, lowest to highest (§5.5).
// "none" is the emulator's answer for a name no line grants anything
// [INF: the reference does not record what permMax p4d prints then].
var accessLevels = []string{"none", "list", "read", "open", "write", "admin", "super"}

func accessRank(perm string) int { return slices.Index(accessLevels, perm) }

func (l ProtectLine) host() string {
	if l.Host == "" {
		return "*"
	}
	return l.Host
}

func (l ProtectLine) path() string {
	if l.Path == "" {
		return "//..."
	}
	return l.Path
}

// defaultProtections is the table a first `p4 protect` writes: write for
// everyone, super for the user who ran it (§5.5, p4 protect's manual).
func defaultProtections(superUser string) []ProtectLine {
	return []ProtectLine{{Perm: "write", Name: "*"}, {Perm: "super", Name: superUser}}
}

// SetProtections replaces the protections table (the test API for
// `p4 protect -i`). A level outside list..super is refused.
func (s *Server) SetProtections(lines []ProtectLine) error {
	for i, l := range lines {
		if accessRank(l.Perm) <= 0 {
			return fmt.Errorf("protections line %d: unknown level %q (want one of list, read, open, write, admin, super)", i+1, l.Perm)
		}
		if l.Name == "" {
			return fmt.Errorf("protections line %d: no user or group", i+1)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.protections = slices.Clone(lines)
	return nil
}

// Protections returns a copy of the protections table.
func (s *Server) Protections() []ProtectLine {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.protections)
}

// SetSuper grants super to a user with a line of its own, or revokes every
// user line naming it (group grants stay: remove them with SetProtections).
func (s *Server) SetSuper(user string, super bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.protections = slices.DeleteFunc(s.protections, func(l ProtectLine) bool {
		return !l.Group && l.Perm == "super" && s.sameName(l.Name, user)
	})
	if super {
		s.protections = append(s.protections, ProtectLine{Perm: "super", Name: user})
	}
}

// IsSuper reports whether user has super access, through any line.
func (s *Server) IsSuper(user string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.userMaxLocked(user) == "super"
}

// MaxAccess is what `protects -u USER -m` answers.
func (s *Server) MaxAccess(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.userMaxLocked(user)
}

// groupsOfUserLocked are the groups user belongs to: those listing it in
// Users and, transitively, every group listing one of those in Subgroups
// (§3.1: "Other groups automatically included in this group"). Owners are
// not members (§3.1: owners may change the group, nothing more).
func (s *Server) groupsOfUserLocked(user string) map[string]bool {
	var direct []string
	for k, g := range s.groups {
		if s.containsName(g.Users, user) {
			direct = append(direct, k)
		}
	}
	return s.supergroupsLocked(direct)
}

// supergroupsLocked closes a set of groups (by s.norm key) over "is a
// subgroup of": the groups themselves and every group that includes one.
func (s *Server) supergroupsLocked(start []string) map[string]bool {
	in := map[string]bool{}
	queue := slices.Clone(start)
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		if in[k] {
			continue
		}
		in[k] = true
		for pk, p := range s.groups {
			if !in[pk] && s.containsName(p.Subgroups, k) {
				queue = append(queue, pk)
			}
		}
	}
	return in
}

// lineAppliesLocked says whether a line names user (a user line) or one
// of groups (a group line, groups keyed by s.norm).
func (s *Server) lineAppliesLocked(l ProtectLine, user string, groups map[string]bool) bool {
	if !l.Group {
		return user != "" && s.globMatch(l.Name, user)
	}
	for k := range groups {
		name := k
		if g, ok := s.groups[k]; ok {
			name = g.Name
		}
		if s.globMatch(l.Name, name) {
			return true
		}
	}
	return false
}

// maxOfLocked is the highest level among the lines that apply. Exclusion
// lines do not lower it: "-m ... does not take into account exclusionary
// mappings" (p4 protects manual).
func (s *Server) maxOfLocked(user string, groups map[string]bool) string {
	return s.maxOfLinesLocked(func(l ProtectLine) bool { return s.lineAppliesLocked(l, user, groups) })
}

func (s *Server) maxOfLinesLocked(applies func(ProtectLine) bool) string {
	best := 0
	for _, l := range s.protections {
		if !l.Unmap && applies(l) {
			best = max(best, accessRank(l.Perm))
		}
	}
	return accessLevels[best]
}

func (s *Server) userMaxLocked(user string) string {
	return s.maxOfLocked(user, s.groupsOfUserLocked(user))
}

// cmdProtects: `protects [-a | -g group | -u user] [-h host] [-m]` (§5.2).
// -a, -g and -u need super (p4 protects manual). Host filters and file
// arguments are accepted and ignored: every line is on //... from * in the
// tables tests build [INF].
func cmdProtects(c *cmdCtx) {
	s := c.s
	f, ok := parseFlags(c, c.req.Args, "maAHS", "ughs")
	if !ok {
		return
	}
	if (f.has("a") && (f.has("u") || f.has("g"))) || (f.has("u") && f.has("g")) {
		c.usage()
		return
	}
	if (f.has("u") || f.has("g") || f.has("a")) && !c.requireSuper() {
		return
	}
	user, groups := c.req.User, map[string]bool(nil)
	switch {
	case f.has("u"):
		user = f.vals["u"]
	case f.has("g"):
		// The lines that apply to a group are its own and those of every
		// group it is a subgroup of, since its members are members of
		// those too [INF: the manual says only "lines that apply to the
		// named group"]. The group need not exist: p4d keeps the lines of
		// a deleted group.
		user, groups = "", s.supergroupsLocked([]string{s.norm(f.vals["g"])})
	}
	if groups == nil && !f.has("a") {
		groups = s.groupsOfUserLocked(user)
	}
	if f.has("m") {
		perm := s.maxOfLocked(user, groups)
		if f.has("a") {
			perm = s.maxOfLinesLocked(func(ProtectLine) bool { return true })
		}
		if c.req.Mode.tagged() {
			c.out.stat(field("permMax", perm))
		} else {
			c.out.info("%s", perm)
		}
		return
	}
	for i, l := range s.protections {
		if !f.has("a") && !s.lineAppliesLocked(l, user, groups) {
			continue
		}
		kind, mapFlag := "user", ""
		if l.Group {
			kind = "group"
		}
		if l.Unmap {
			mapFlag = "-"
		}
		if c.req.Mode.tagged() {
			// unmap and isgroup are present, empty, on the lines they
			// mark (§5.2); their place before line is [INF].
			var fields []marshal.Field
			if l.Unmap {
				fields = append(fields, field("unmap", ""))
			}
			if l.Group {
				fields = append(fields, field("isgroup", ""))
			}
			fields = append(fields, field("line", strconv.Itoa(i+1)), field("perm", l.Perm), field("user", l.Name),
				field("host", l.host()), field("depotFile", mapFlag+l.path()))
			c.out.stat(fields...)
		} else {
			c.out.info("%s %s %s %s %s%s", l.Perm, kind, l.Name, l.host(), mapFlag, l.path())
		}
	}
}

// renameInProtectionsLocked follows `renameuser`, which updates the
// protections table [INF: §2.7 does not list what renameuser rewrites].
func (s *Server) renameInProtectionsLocked(from, to string) {
	for i, l := range s.protections {
		if !l.Group && s.sameName(l.Name, from) {
			s.protections[i].Name = to
		}
	}
}

// removeFromProtectionsLocked follows `user -d -F`, which "also removes the
// user from protections" (§2.3): the user lines naming it exactly.
func (s *Server) removeFromProtectionsLocked(user string) {
	s.protections = slices.DeleteFunc(s.protections, func(l ProtectLine) bool {
		return !l.Group && s.sameName(l.Name, user)
	})
}

// configurableDefaults are the documented defaults of the security
// configurables `configure show` reports (§5.6). security and
// dm.password.minlength come from Options instead.
var configurableDefaults = map[string]string{
	"dm.user.setinitialpasswd": "1",
	"dm.user.noautocreate":     "0",
	"dm.user.resetpassword":    "0",
	"dm.info.hide":             "0",
	"run.users.authorize":      "0",
	"dm.keys.hide":             "0",
}

// SetConfigurable sets a configurable `configure show` reports (the test
// API for `p4 configure set`). The emulator only reports it: commands do
// not change behaviour with it. security and dm.password.minlength are
// Options, fixed at New, and refused here.
func (s *Server) SetConfigurable(name, value string) error {
	if _, ok := configurableDefaults[name]; !ok {
		return fmt.Errorf("configurable %q: the emulator reports only %v (security and dm.password.minlength are Options)", name, sortedKeys(configurableDefaults))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.configurables[name] = value
	return nil
}

// cmdConfigure: `configure show NAME` (super), tagged {ServerName, Type,
// Name, Value} (§5.6). A value nobody set is shown with Type "default"
// and text "NAME=VALUE (default)", a set one with "configure" [INF: the
// reference records only the tagged field names]. Other forms are refused
// with the usage error.
func cmdConfigure(c *cmdCtx) {
	s := c.s
	if len(c.req.Args) != 2 || c.req.Args[0] != "show" {
		c.usage()
		return
	}
	if !c.requireSuper() {
		return
	}
	name := c.req.Args[1]
	value, kind := s.configurables[name], "configure"
	switch {
	case name == "security":
		value = strconv.Itoa(s.opts.SecurityLevel)
	case name == "dm.password.minlength":
		value = strconv.Itoa(s.opts.MinPasswordLength)
	case value == "":
		var known bool
		if value, known = configurableDefaults[name]; !known {
			return // nothing to show for a name the emulator does not model
		}
		kind = "default"
	}
	if c.req.Mode.tagged() {
		c.out.stat(field("ServerName", "any"), field("Type", kind), field("Name", name), field("Value", value))
		return
	}
	c.out.info("%s=%s (%s)", name, value, kind)
}
