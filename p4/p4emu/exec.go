package p4emu

import (
	"net"
	"strings"
	"time"
)

// cmdCtx is one command being executed, with the state lock held.
type cmdCtx struct {
	s      *Server
	req    request
	out    *output
	peer   string
	authed bool // the caller presented a valid credential
	super  bool
	resp   *response
	stdin  []string // stdin split in lines, consumed by prompts
}

type handler struct {
	run func(c *cmdCtx)
	// noAuth commands run without a ticket (info, login, users with
	// run.users.authorize=0, help).
	noAuth bool
}

func (s *Server) handlers() map[string]handler {
	return map[string]handler{
		"info":       {run: cmdInfo, noAuth: true},
		"help":       {run: cmdHelp, noAuth: true},
		"login":      {run: cmdLogin, noAuth: true},
		"logout":     {run: cmdLogout},
		"passwd":     {run: cmdPasswd},
		"users":      {run: cmdUsers, noAuth: true},
		"user":       {run: cmdUser},
		"renameuser": {run: cmdRenameUser},
		"group":      {run: cmdGroup},
		"groups":     {run: cmdGroups},
		"key":        {run: cmdKey},
		"keys":       {run: cmdKeys},
		"protects":   {run: cmdProtects},
		"configure":  {run: cmdConfigure},
		"license":    {run: cmdLicense},
	}
}

// execute runs one command and encodes its answer.
func (s *Server) execute(req request, peer string) response {
	var o output
	resp := response{}
	h, ok := s.handlers()[req.Command]
	if !ok {
		o.fail(genUsage, "Unknown command.  Try 'p4 help' for info.")
		r := s.finish(req, &o)
		return r
	}
	s.mu.Lock()
	c := &cmdCtx{s: s, req: req, out: &o, peer: peer, resp: &resp, stdin: splitLines(req.Stdin)}
	c.authed = s.authenticateLocked(c, !h.noAuth)
	if c.authed || h.noAuth {
		c.super = c.authed && s.userMaxLocked(req.User) == "super"
		if c.authed {
			if u, ok := s.users[s.norm(req.User)]; ok {
				u.Access = s.now()
			}
		}
		h.run(c)
	}
	s.mu.Unlock()
	r := s.finish(req, &o)
	r.Ticket, r.TicketUser, r.RemoveTicket = resp.Ticket, resp.TicketUser, resp.RemoveTicket
	return r
}

// authenticateLocked checks the credential (§1.7, §4.2). With report set,
// a failure is written to the output.
func (s *Server) authenticateLocked(c *cmdCtx, report bool) bool {
	user := c.req.User
	u, exists := s.users[s.norm(user)]
	now := s.now()
	var ticketErr string
	// Tickets first: a valid ticket wins even when P4PASSWD also holds
	// the plain password.
	for _, cred := range []string{c.req.Password, c.req.Ticket} {
		t, ok := s.tickets[cred]
		if cred == "" || !ok || t.user != s.norm(user) || !exists {
			continue
		}
		switch {
		case t.revoked:
			ticketErr = "Your session was logged out, please login again."
		case !t.never && !now.Before(t.expires):
			ticketErr = "Your session has expired, please login again."
		default:
			return true
		}
	}
	if p := c.req.Password; exists && p != "" && u.password != "" && p == u.password {
		if s.opts.SecurityLevel < 3 {
			return true
		}
		if report {
			c.out.fail(genUsage, "Password not allowed at this server security level, use 'p4 login'.")
		}
		return false
	}
	if c.req.Password == "" && c.req.Ticket == "" && exists && u.password == "" && s.opts.SecurityLevel == 0 {
		return true // security 0: a user without a password needs no credential
	}
	if !report {
		return false
	}
	if ticketErr != "" {
		c.out.fail(genIllegal, "%s", ticketErr)
	} else {
		c.out.fail(genConfig, "Perforce password (P4PASSWD) invalid or unset.")
	}
	return false
}

// requireSuper reports the protections error for non-super callers.
func (c *cmdCtx) requireSuper() bool {
	if c.super {
		return true
	}
	c.out.fail(genProtect, "You don't have permission for this operation.")
	return false
}

// readLine consumes one stdin line for a prompt; ok is false at EOF.
func (c *cmdCtx) readLine(prompt string) (string, bool) {
	c.out.prompt(prompt)
	if len(c.stdin) == 0 {
		c.out.fail(genClient, "EOF reading terminal.")
		return "", false
	}
	l := c.stdin[0]
	c.stdin = c.stdin[1:]
	return l, true
}

// splitLines splits stdin like fgets would: a final line without newline
// still counts; an empty stdin has no lines.
func splitLines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	s := strings.TrimSuffix(string(b), "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// flags parses command flags: spec lists the flags taking a value.
// Long options (--from=x) are returned under their name ("from").
type cmdFlags struct {
	set  map[string]bool
	vals map[string]string
	args []string
}

func (f cmdFlags) has(name string) bool { return f.set[name] }

func parseFlags(c *cmdCtx, args []string, boolFlags, valFlags string) (cmdFlags, bool) {
	f := cmdFlags{set: map[string]bool{}, vals: map[string]string{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			f.args = append(f.args, args[i+1:]...)
			break
		}
		if strings.HasPrefix(a, "--") {
			name, val, _ := strings.Cut(a[2:], "=")
			f.set[name], f.vals[name] = true, val
			continue
		}
		if len(a) < 2 || a[0] != '-' {
			f.args = append(f.args, a)
			continue
		}
		for j := 1; j < len(a); j++ {
			ch := string(a[j])
			switch {
			case strings.Contains(valFlags, ch):
				v := a[j+1:]
				if v == "" {
					if i+1 >= len(args) {
						c.usage()
						return f, false
					}
					i++
					v = args[i]
				}
				f.set[ch], f.vals[ch] = true, v
				j = len(a)
			case strings.Contains(boolFlags, ch):
				f.set[ch] = true
			default:
				c.usage()
				return f, false
			}
		}
	}
	return f, true
}

// usage reports a bad flag the way p4d does: "Usage: ..." (3/1).
func (c *cmdCtx) usage() {
	u, ok := usages[c.req.Command]
	if !ok {
		u = c.req.Command
	}
	c.out.fail(genUsage, "Usage: %s\nMissing/wrong number of arguments.", u)
}

var usages = map[string]string{
	"user":       "user [ -f -i -o ] [ -d [ -f | -F ] ] [ user ]",
	"users":      "users [-l -a -r -c] [-m max] [user ...]",
	"group":      "group [ -a|-A -d -F -i -o ] group",
	"groups":     "groups [ -m max ] [ -v ] [ -i [ -v ] ] [ -g | -u | -o ] [ user | group ]",
	"passwd":     "passwd [ -O oldPassword -P newPassword ] [ user ]",
	"login":      "login [ -a -p -r <remotespec> -s ] [ -h <host> ] [ user ]",
	"logout":     "logout [ -a -h <host> ] [ user ]",
	"key":        "key [ -d -i -v ] name [ value ]",
	"keys":       "keys [ -e nameFilter -m max ]",
	"renameuser": "renameuser [ -f ] --from=oldUser --to=newUser",
	"configure":  "configure show variable",
	"protects":   "protects [-s spec] [ -a | -g group | -u user ] [ -h host | -H ] [-S | -A] [ -m ] [ file ... ]",
	"license":    "license -o | -i | -u | -L",
}

// formatDate is the spec date format (§2.1).
func formatDate(t time.Time) string { return t.Format("2006/01/02 15:04:05") }

func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}
