package p4emu

import (
	"strconv"
	"time"
)

// cmdInfo: `info` works without a login (§5.1). Field order follows the
// recorded info.bin, without the client-workspace fields p4scim lacks.
func cmdInfo(c *cmdCtx) {
	s := c.s
	now := s.opts.Now()
	client := c.req.Client
	if client == "" {
		client = "*unknown*"
	}
	_, offset := now.Zone()
	zone, _ := now.Zone()
	up := now.Sub(s.started).Truncate(time.Second)
	uptime := pad2(int(up.Hours())) + ":" + pad2(int(up.Minutes())%60) + ":" + pad2(int(up.Seconds())%60)
	caseHandling := "sensitive"
	if s.opts.CaseInsensitive {
		caseHandling = "insensitive"
	}
	license := "none"
	if s.opts.LicenseUsers > 0 {
		license = "p4emu " + strconv.Itoa(s.opts.LicenseUsers) + " users (support ends never)"
	}
	user := c.req.User
	peer := c.peer
	serverAddr := s.addr
	date := now.Format("2006/01/02 15:04:05 -0700 ") + zone
	if c.req.Mode.tagged() {
		c.out.stat(field("userName", user), field("clientName", client), field("clientHost", c.req.Host),
			field("peerAddress", peer), field("clientAddress", hostOf(peer)), field("serverName", "p4emu"),
			field("serverAddress", serverAddr), field("serverRoot", "/p4emu"), field("serverDate", date),
			field("tzoffset", strconv.Itoa(offset)), field("serverUptime", uptime),
			field("serverVersion", ServerVersion), field("ServerID", "p4emu"), field("serverServices", "standard"),
			field("serverLicense", license), field("caseHandling", caseHandling))
		return
	}
	c.out.info("User name: %s", user)
	c.out.info("Client name: %s", client)
	c.out.info("Client host: %s", c.req.Host)
	if c.req.Client == "" {
		c.out.info("Client unknown.")
	}
	c.out.info("Peer address: %s", peer)
	c.out.info("Client address: %s", hostOf(peer))
	c.out.info("Server address: %s", serverAddr)
	c.out.info("Server root: /p4emu")
	c.out.info("Server date: %s", date)
	c.out.info("Server uptime: %s", uptime)
	c.out.info("Server version: %s", ServerVersion)
	c.out.info("ServerID: p4emu")
	c.out.info("Server services: standard")
	c.out.info("Server license: %s", license)
	c.out.info("Case Handling: %s", caseHandling)
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// cmdHelp answers `help` with a short pointer; the emulator has no manual.
func cmdHelp(c *cmdCtx) {
	c.out.info("p4emu: a Helix Core emulator for p4scim tests.")
	c.out.infoLevel(0, "Commands: info login logout passwd users user renameuser group groups key keys protects configure trust tickets help")
}

// mayUseKeys: 'p4 key' requires review access; in the emulator's
// protections that is super.
func (c *cmdCtx) mayUseKeys() bool { return c.requireSuper() }

// cmdKey: the forms of `p4 key` (§5.3).
func cmdKey(c *cmdCtx) {
	s := c.s
	f, ok := parseFlags(c, c.req.Args, "divm", "")
	if !ok || !c.mayUseKeys() {
		return
	}
	emitValue := func(name, value string) {
		if c.req.Mode.tagged() {
			c.out.stat(field("key", name), field("value", value))
		} else {
			c.out.info("%s", value)
		}
	}
	if f.has("m") {
		if len(f.args) == 0 || len(f.args)%2 != 0 {
			c.usage()
			return
		}
		for i := 0; i < len(f.args); i += 2 {
			s.keys[f.args[i]] = f.args[i+1]
			c.out.info("Key %s set.", f.args[i])
		}
		return
	}
	if f.set["from"] || f.set["to"] {
		if len(f.args) != 1 || !f.set["from"] || !f.set["to"] {
			c.usage()
			return
		}
		name := f.args[0]
		cur, set := s.keys[name]
		if !set || cur != f.vals["from"] {
			// A never-set key cannot be set this way (§5.3).
			if !set {
				cur = "0"
			}
			c.out.fail(genUsage, "New value for %s not set. Current value is %s.", name, cur)
			return
		}
		s.keys[name] = f.vals["to"]
		c.out.info("Key %s set.", name)
		return
	}
	switch {
	case f.has("d"):
		if len(f.args) != 1 {
			c.usage()
			return
		}
		delete(s.keys, f.args[0])
		c.out.info("Key %s deleted.", f.args[0])
	case f.has("i"):
		if len(f.args) != 1 {
			c.usage()
			return
		}
		name := f.args[0]
		cur := s.keys[name]
		if cur == "" {
			cur = "0"
		}
		n, err := strconv.ParseInt(cur, 10, 64)
		if err != nil {
			c.out.fail(genUsage, "Can't increment key '%s' - value is not numeric.", name)
			return
		}
		s.keys[name] = strconv.FormatInt(n+1, 10)
		emitValue(name, s.keys[name])
	case len(f.args) == 1:
		v, ok := s.keys[f.args[0]]
		if !ok {
			v = "0" // an unset key reads as 0
		}
		emitValue(f.args[0], v)
	case len(f.args) == 2:
		name, value := f.args[0], f.args[1]
		prev, had := s.keys[name]
		s.keys[name] = value
		if f.has("v") {
			if !had {
				prev = "0"
			}
			c.out.info("Key %s set; previous value was %s.", name, prev)
			return
		}
		c.out.info("Key %s set.", name)
	default:
		c.usage()
	}
}

// cmdKeys: `keys [-e filter ...] [-m max]`. Several -e filters may be given.
func cmdKeys(c *cmdCtx) {
	s := c.s
	var filters []string
	max := -1
	args := c.req.Args
	for i := 0; i < len(args); i++ {
		switch {
		case (args[i] == "-e" || args[i] == "-m") && i+1 < len(args):
			if args[i] == "-e" {
				filters = append(filters, args[i+1])
			} else {
				n, err := strconv.Atoi(args[i+1])
				if err != nil {
					c.usage()
					return
				}
				max = n
			}
			i++
		default:
			c.usage()
			return
		}
	}
	if !c.mayUseKeys() {
		return
	}
	n := 0
	for _, k := range sortedKeys(s.keys) {
		if max >= 0 && n >= max {
			break
		}
		if len(filters) > 0 {
			hit := false
			for _, p := range filters {
				hit = hit || wildMatch(p, k)
			}
			if !hit {
				continue
			}
		}
		n++
		if c.req.Mode.tagged() {
			c.out.stat(field("key", k), field("value", s.keys[k]))
		} else {
			c.out.info("%s = %s", k, s.keys[k])
		}
	}
}
