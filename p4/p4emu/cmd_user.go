package p4emu

import (
	"slices"
	"sort"
	"strconv"
	"strings"
)

// cmdUsers: `users [-a] [-l] [-m max] [user ...]` (§2.4).
func cmdUsers(c *cmdCtx) {
	f, ok := parseFlags(c, c.req.Args, "alrc", "m")
	if !ok {
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
	s := c.s
	var list []*userRec
	matched := map[string]bool{}
	// Named users without wildcards are looked up, not scanned: Helix Core
	// answers `p4 users NAME` from its index, and a scan of a 50,000-user
	// emulator under its lock would make the emulator, not the bridge, what
	// a load test measures.
	keys := literalUserKeys(s, f.args)
	if keys == nil {
		keys = sortedKeys(s.users)
	}
	for _, k := range keys {
		u := s.users[k]
		if !f.has("a") && u.Type != "standard" && u.Type != "" {
			continue // -a includes service and operator users
		}
		if len(f.args) == 0 {
			list = append(list, u)
			continue
		}
		hit := false
		for _, p := range f.args {
			if s.globMatch(p, u.Name) {
				matched[p], hit = true, true
			}
		}
		if hit {
			list = append(list, u)
		}
	}
	if max >= 0 && len(list) > max {
		list = list[:max]
	}
	for _, u := range list {
		if c.req.Mode.tagged() {
			fs := []mfield{field("User", u.Name), field("Email", u.Email),
				field("Update", strconv.FormatInt(u.Update.Unix(), 10)),
				field("Access", strconv.FormatInt(u.Access.Unix(), 10)),
				field("FullName", u.FullName), field("Type", u.Type), field("AuthMethod", u.AuthMethod)}
			if f.has("l") {
				life := int64(0)
				for _, t := range s.tickets {
					if t.user == s.norm(u.Name) && !t.revoked {
						life = max64(life, t.expires.Unix())
					}
				}
				if life > 0 {
					fs = append(fs, field("TicketExpiration", strconv.FormatInt(life, 10)))
				}
				if !u.pwChanged.IsZero() {
					fs = append(fs, field("PasswordChange", strconv.FormatInt(u.pwChanged.Unix(), 10)))
				}
			}
			c.out.stat(fs...)
			continue
		}
		c.out.info("%s <%s> (%s) accessed %s", u.Name, u.Email, u.FullName, u.Access.Format("2006/01/02"))
	}
	// One warning per argument that matched nothing; without arguments
	// only when the whole answer is empty.
	if len(f.args) == 0 && len(list) == 0 {
		c.out.warn(genEmpty, "No such user(s).")
	}
	for _, p := range f.args {
		if !matched[p] {
			c.out.warn(genEmpty, "%s - no such user(s).", p)
		}
	}
}

// literalUserKeys returns the sorted, distinct keys of the users named by
// args, or nil when there are no args or one is a pattern.
func literalUserKeys(s *Server, args []string) []string {
	if len(args) == 0 {
		return nil
	}
	seen := map[string]bool{}
	var keys []string
	for _, a := range args {
		if strings.Contains(a, "*") || strings.Contains(a, "...") {
			return nil
		}
		if k := s.norm(a); !seen[k] {
			seen[k] = true
			if _, ok := s.users[k]; ok {
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	if keys == nil {
		keys = []string{}
	}
	return keys
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// userForm renders a stored user as a spec form.
func userForm(u *userRec) form {
	f := newForm()
	f.vals["User"] = u.Name
	f.vals["Type"] = u.Type
	f.vals["Email"] = u.Email
	if !u.Update.IsZero() {
		f.vals["Update"] = formatDate(u.Update)
	}
	if !u.Access.IsZero() {
		f.vals["Access"] = formatDate(u.Access)
	}
	f.vals["FullName"] = u.FullName
	f.vals["JobView"] = u.JobView
	if u.password != "" {
		f.vals["Password"] = "******"
	}
	f.vals["AuthMethod"] = u.AuthMethod
	f.lists["Reviews"] = u.Reviews
	return f
}

// emitSpec prints a spec: a stat under tagged modes, the text form else.
func (c *cmdCtx) emitSpec(d specDef, f form) {
	if c.req.Mode.tagged() {
		c.out.stat(d.tagged(f)...)
		return
	}
	c.out.info("%s", d.formatText(f))
}

// cmdUser: `user -o|-i|-d|-D ...` (§2.1–2.3).
func cmdUser(c *cmdCtx) {
	f, ok := parseFlags(c, c.req.Args, "fFiodDy", "")
	if !ok {
		return
	}
	switch {
	case f.has("o"):
		userOutput(c, f)
	case f.has("i"):
		userInput(c, f)
	case f.has("d") || f.has("D"):
		userDelete(c, f)
	default:
		// Interactive editing needs an editor; p4scim never uses it.
		c.out.fail(genUsage, "Usage: %s\nMissing/wrong number of arguments.", usages["user"])
	}
}

func userOutput(c *cmdCtx, f cmdFlags) {
	if len(f.args) > 1 {
		c.usage()
		return
	}
	name := c.req.User
	if len(f.args) == 1 {
		name = f.args[0]
	}
	if msg := checkName(name); msg != "" {
		c.out.fail(genUsage, "%s", msg)
		return
	}
	if u, ok := c.s.users[c.s.norm(name)]; ok {
		c.emitSpec(userSpec, userForm(u))
		return
	}
	// Template for a new user: "Default: user@client" (§2.1).
	client := c.req.Client
	if client == "" {
		client = c.req.Host
	}
	tf := newForm()
	tf.vals["User"], tf.vals["Type"], tf.vals["Email"] = name, "standard", name+"@"+client
	tf.vals["FullName"], tf.vals["AuthMethod"] = name, "perforce"
	c.emitSpec(userSpec, tf)
}

func (c *cmdCtx) specError(d specDef, gen int, detail string) {
	c.out.fail(gen, "Error in %s specification.\n%s", d.name, detail)
}

func userInput(c *cmdCtx, f cmdFlags) {
	s := c.s
	text := c.readSpecInput(userSpec)
	in, perr := userSpec.parseText(text)
	if perr != "" {
		c.specError(userSpec, genIllegal, perr)
		return
	}
	name := in.vals["User"]
	if msg := checkName(name); msg != "" {
		c.specError(userSpec, genUsage, msg)
		return
	}
	if f.has("f") && !c.requireSuper() {
		return
	}
	if !f.has("f") && !s.sameName(name, c.req.User) {
		// Without -f you may only edit yourself.
		c.out.fail(genProtect, "You don't have permission for this operation.")
		return
	}
	typ := in.vals["Type"]
	if typ != "" && typ != "standard" && typ != "service" && typ != "operator" {
		c.specError(userSpec, genIllegal, "Value for field 'Type' must be one of standard/service/operator.")
		return
	}
	auth := in.vals["AuthMethod"]
	old, exists := s.users[s.norm(name)]
	pw := in.vals["Password"]
	pwChange := pw != "" && pw != "******" && (!exists || pw != old.password)
	if pwChange && s.opts.SecurityLevel >= 2 {
		c.out.fail(genUsage, "Passwords can only be set by 'p4 passwd' at this security level.")
		return
	}
	if !exists {
		if s.opts.LicenseUsers > 0 && (typ == "" || typ == "standard") && s.standardUsersLocked() >= s.opts.LicenseUsers {
			c.out.fail(genAdmin, "Can't create a new user - over license quota.")
			return
		}
		u := User{Name: name, Type: typ, Email: in.vals["Email"], FullName: in.vals["FullName"],
			JobView: in.vals["JobView"], AuthMethod: auth, Reviews: in.lists["Reviews"]}
		password := ""
		if pwChange {
			password = pw
		}
		s.createUserLocked(u, password)
		c.out.info("User %s saved.", name)
		return
	}
	if typ != "" && typ != old.Type {
		c.out.fail(genUsage, "User type can't be changed.")
		return
	}
	if auth == "" {
		auth = "perforce"
	}
	if auth != old.AuthMethod && !f.has("f") {
		c.out.fail(genUsage, "User's authentication method can't be changed; use -f to force switch.")
		return
	}
	same := old.Email == in.vals["Email"] && old.FullName == in.vals["FullName"] &&
		old.JobView == in.vals["JobView"] && old.AuthMethod == auth &&
		slices.Equal(old.Reviews, in.lists["Reviews"]) && !pwChange
	if same {
		c.out.info("User %s not changed.", old.Name)
		return
	}
	old.Email, old.FullName, old.JobView, old.AuthMethod = in.vals["Email"], in.vals["FullName"], in.vals["JobView"], auth
	old.Reviews = slices.Clone(in.lists["Reviews"])
	if pwChange {
		old.password, old.pwChanged = pw, s.now()
		s.revokeTicketsLocked(old.Name)
	}
	old.Update = s.now()
	c.out.info("User %s saved.", old.Name)
}

func (s *Server) standardUsersLocked() int {
	n := 0
	for _, u := range s.users {
		if u.Type == "standard" || u.Type == "" {
			n++
		}
	}
	return n
}

func userDelete(c *cmdCtx, f cmdFlags) {
	s := c.s
	if len(f.args) != 1 {
		c.usage()
		return
	}
	name := f.args[0]
	if !s.sameName(name, c.req.User) && !c.requireSuper() {
		return
	}
	u, ok := s.users[s.norm(name)]
	if !ok {
		c.out.fail(genUnknown, "User %s doesn't exist.", name)
		return
	}
	if u.openedOn > 0 && !f.has("D") {
		// An info message and exit 0, not an error (§2.3).
		c.out.info("User %s has file(s) open on %d client(s) and can't be deleted.", u.Name, u.openedOn)
		return
	}
	if f.has("F") {
		// -F also removes the user from every group (§2.3).
		for k, g := range s.groups {
			g.Users = slices.DeleteFunc(g.Users, func(n string) bool { return s.sameName(n, name) })
			g.Owners = slices.DeleteFunc(g.Owners, func(n string) bool { return s.sameName(n, name) })
			if g.empty() {
				delete(s.groups, k)
			}
		}
		s.removeFromProtectionsLocked(name)
	}
	delete(s.users, s.norm(name))
	s.revokeTicketsLocked(name)
	c.out.info("User %s deleted.", u.Name)
}

// cmdRenameUser: `renameuser [-f] --from=old --to=new` (§2.7).
func cmdRenameUser(c *cmdCtx) {
	s := c.s
	f, ok := parseFlags(c, c.req.Args, "f", "")
	if !ok {
		return
	}
	from, to := f.vals["from"], f.vals["to"]
	if from == "" || to == "" || len(f.args) > 0 {
		c.usage()
		return
	}
	if !c.requireSuper() {
		return
	}
	u, ok := s.users[s.norm(from)]
	if !ok {
		c.out.fail(genUnknown, "User %s doesn't exist.", from)
		return
	}
	if s.sameName(from, c.req.User) {
		// §2.7: the caller cannot rename itself. [INF] The reference does
		// not give the message; this one is the emulator's.
		c.out.fail(genIllegal, "You can't rename yourself (%s).", from)
		return
	}
	if msg := checkName(to); msg != "" {
		c.out.fail(genUsage, "%s", msg)
		return
	}
	if _, exists := s.users[s.norm(to)]; exists && !s.sameName(from, to) {
		c.out.fail(genIllegal, "User %s already exists.", to)
		return
	}
	// What moves (§2.7): the spec, groups' Users and Owners, the
	// protections (here: super). [INF] The reference does not say what
	// becomes of the password and tickets; the emulator keeps both with the
	// user (they belong to the account, not to the name), so a renamed
	// user's sessions survive and an old-name login fails (no such user).
	delete(s.users, s.norm(from))
	oldName := u.Name
	u.Name = to
	s.users[s.norm(to)] = u
	for _, g := range s.groups {
		for _, l := range []*[]string{&g.Users, &g.Owners} {
			for i, n := range *l {
				if s.sameName(n, from) {
					(*l)[i] = to
				}
			}
			slices.Sort(*l)
		}
	}
	s.renameInProtectionsLocked(from, to)
	for _, t := range s.tickets {
		if t.user == s.norm(from) {
			t.user = s.norm(to)
		}
	}
	c.out.info("User %s renamed to %s.", oldName, to)
}
