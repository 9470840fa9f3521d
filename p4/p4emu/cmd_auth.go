package p4emu

import (
	"strconv"
	"strings"
	"unicode"
)

// cmdLogin: `login [-s | -p] [-a | -h host] [user]` (§4.2).
func cmdLogin(c *cmdCtx) {
	s := c.s
	f, ok := parseFlags(c, c.req.Args, "spar", "h")
	if !ok {
		return
	}
	if len(f.args) > 1 {
		c.usage()
		return
	}
	target := c.req.User
	if len(f.args) == 1 {
		target = f.args[0]
	}
	if f.has("s") {
		loginStatus(c, target)
		return
	}
	u, exists := s.users[s.norm(target)]
	if !s.sameName(target, c.req.User) {
		// Logging in another user needs super and no password prompt.
		if !s.authenticateLocked(c, true) {
			return
		}
		if s.userMaxLocked(c.req.User) != "super" {
			c.out.fail(genProtect, "You don't have permission for this operation.")
			return
		}
		if !exists {
			c.out.fail(genUnknown, "User %s doesn't exist.", target)
			return
		}
	} else {
		if exists && u.password == "" {
			c.out.info("'login' not necessary, no password set for this user.")
			return
		}
		var pw string
		if len(c.stdin) == 0 && c.req.Password != "" {
			pw = c.req.Password // -P / P4PASSWD answers the prompt
		} else {
			var ok bool
			if pw, ok = c.readLine("Enter password: "); !ok {
				return
			}
		}
		if !exists || pw != u.password {
			c.out.fail(genIllegal, "Password invalid.")
			return
		}
	}
	t := s.issueTicketLocked(u.Name)
	u.Access = s.now()
	exp := strconv.FormatInt(int64(t.expires.Sub(s.now())/1e9), 10)
	if f.has("p") {
		c.out.info("%s", t.value)
	} else {
		c.resp.TicketUser, c.resp.Ticket = u.Name, t.value
	}
	c.out.info("User %s logged in.", u.Name)
	if c.req.Mode.tagged() {
		c.out.stat(field("User", u.Name), field("TicketExpiration", exp))
	}
}

func loginStatus(c *cmdCtx, target string) {
	s := c.s
	now := s.now()
	valid := func(t *ticket) bool {
		return t != nil && t.user == s.norm(target) && !t.revoked && (t.never || now.Before(t.expires))
	}
	var found *ticket
	if !s.sameName(target, c.req.User) {
		// Another user's status needs super; any valid ticket of theirs counts.
		if !s.authenticateLocked(c, true) {
			return
		}
		if s.userMaxLocked(c.req.User) != "super" {
			c.out.fail(genProtect, "You don't have permission for this operation.")
			return
		}
		for _, t := range s.tickets {
			if valid(t) && (found == nil || t.expires.After(found.expires)) {
				found = t
			}
		}
		if found == nil {
			c.out.fail(genConfig, "Perforce password (P4PASSWD) invalid or unset.")
			return
		}
	} else {
		for _, cred := range []string{c.req.Password, c.req.Ticket} {
			if t := s.tickets[cred]; cred != "" && valid(t) {
				found = t
				break
			}
		}
		if found == nil {
			if s.authenticateLocked(c, true) {
				c.out.info("User %s was authenticated by password not ticket.", target)
			}
			return
		}
	}
	left := int64(0)
	if !found.never {
		left = int64(found.expires.Sub(now).Seconds())
	}
	switch {
	case c.req.Mode.tagged():
		c.out.stat(field("TicketExpiration", strconv.FormatInt(left, 10)), field("user", target))
	case found.never:
		c.out.info("User %s ticket does not expire.", target)
	default:
		c.out.info("User %s ticket expires in %d hours %d minutes.", target, left/3600, (left%3600)/60)
	}
}

// cmdLogout: `logout [-a] [user]` (§4.2).
func cmdLogout(c *cmdCtx) {
	s := c.s
	f, ok := parseFlags(c, c.req.Args, "a2", "h")
	if !ok {
		return
	}
	if len(f.args) > 1 {
		c.usage()
		return
	}
	target := c.req.User
	if len(f.args) == 1 {
		target = f.args[0]
	}
	if !s.sameName(target, c.req.User) && !c.requireSuper() {
		return
	}
	u, ok := s.users[s.norm(target)]
	if !ok {
		c.out.fail(genUnknown, "User %s doesn't exist.", target)
		return
	}
	if f.has("a") || !s.sameName(target, c.req.User) {
		s.revokeTicketsLocked(target)
	} else {
		for _, cred := range []string{c.req.Password, c.req.Ticket} {
			if t, ok := s.tickets[cred]; ok && t.user == s.norm(target) {
				t.revoked = true
			}
		}
	}
	if s.sameName(target, c.req.User) {
		c.resp.TicketUser, c.resp.RemoveTicket = u.Name, true
	}
	c.out.info("User %s logged out.", u.Name)
}

// cmdPasswd: `passwd [-O old -P new] [user]` (§4.1).
func cmdPasswd(c *cmdCtx) {
	s := c.s
	f, ok := parseFlags(c, c.req.Args, "", "OP")
	if !ok {
		return
	}
	if len(f.args) > 1 || (f.has("O") && !f.has("P")) {
		c.usage()
		return
	}
	target := c.req.User
	if len(f.args) == 1 {
		target = f.args[0]
	}
	self := s.sameName(target, c.req.User)
	if !self && !c.requireSuper() {
		return
	}
	u, ok := s.users[s.norm(target)]
	if !ok {
		c.out.fail(genUnknown, "User %s doesn't exist.", target)
		return
	}
	if strings.HasPrefix(u.AuthMethod, "ldap") {
		c.out.fail(genUsage, "Cannot change password for LDAP user.")
		return
	}
	var oldPw, newPw, again string
	if f.has("P") {
		oldPw, newPw, again = f.vals["O"], f.vals["P"], f.vals["P"]
	} else {
		if self && u.password != "" {
			if oldPw, ok = c.readLine("Enter old password: "); !ok {
				return
			}
		}
		if newPw, ok = c.readLine("Enter new password: "); !ok {
			return
		}
		if again, ok = c.readLine("Re-enter new password: "); !ok {
			return
		}
	}
	if self && u.password != "" && oldPw != u.password {
		c.out.fail(genIllegal, "Password invalid.")
		return
	}
	if newPw != again {
		c.out.fail(genIllegal, "Passwords don't match.")
		return
	}
	if newPw == "" {
		u.password, u.pwChanged = "", s.now()
		s.revokeTicketsLocked(u.Name)
		c.out.info("Password deleted.")
		return
	}
	if msg := s.passwordPolicy(newPw); msg != "" {
		c.out.fail(genIllegal, "%s", msg)
		return
	}
	if newPw == u.password {
		c.out.info("Password not changed.")
		return
	}
	u.password, u.pwChanged = newPw, s.now()
	// Changing a password invalidates every ticket of that user (§4.1).
	s.revokeTicketsLocked(u.Name)
	c.out.info("Password updated.")
}

// passwordPolicy applies dm.password.minlength and, from security 2, the
// strength rule (§4.1).
func (s *Server) passwordPolicy(pw string) string {
	if len(pw) > 1024 {
		return "Password should be no longer than 1024 bytes in length."
	}
	if s.opts.SecurityLevel < 2 {
		return ""
	}
	if len(pw) < s.opts.MinPasswordLength {
		return "Password should be at least " + strconv.Itoa(s.opts.MinPasswordLength) + " characters in length."
	}
	var upper, lower, other bool
	for _, r := range pw {
		switch {
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		default:
			other = true
		}
	}
	if !(upper && lower) && !other {
		return "Password should be mixed case or contain non alphabetic characters."
	}
	return ""
}
