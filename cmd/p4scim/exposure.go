package main

import (
	"context"
	"fmt"
	"github.com/p4scim/p4scim/config"
	"io"
	"strconv"

	"github.com/p4scim/p4scim/p4"
)

// securityConfigurable is a server configurable that, left at a weak
// value, exposes provisioned users or the bridge's records
// (reference p4-cli.md §5.6).
type securityConfigurable struct {
	name string
	def  int // documented default, for a server that shows no value
	good func(v int) bool
	want string // the value to set
	why  string
}

var securityConfigurables = []securityConfigurable{
	{name: "security", def: 0, good: func(v int) bool { return v >= 3 }, want: "4",
		why: "below 3 Helix Core accepts plain passwords and weak ones; at 3 and above tickets only and strong passwords"},
	{name: "dm.user.setinitialpasswd", def: 1, good: func(v int) bool { return v == 0 }, want: "0",
		why: "anyone can set the first password of a provisioned user that has none (LDAP, SSO or PASSWORD_SYNC=false users) and take the account"},
	{name: "dm.keys.hide", def: 0, good: func(v int) bool { return v >= 2 }, want: "2",
		why: "every Helix Core user can read the bridge's keys, which hold the profiles the IdP sends (phone numbers, addresses, managers)"},
}

// checkExposure adds check's warning lines: the privilege opt-in when it
// is on, a DEPROVISION_GROUP that would make deactivated users privileged,
// and each security configurable left weak, with the command that fixes
// it. Warnings do not fail check: the bridge works, less safely.
func checkExposure(ctx context.Context, client *p4.Client, cfg config.Config, out io.Writer) {
	warn := func(what, detail string) { checkLine(out, "WARN", what, detail) }
	if cfg.DeprovisionGroup != "" {
		// Deactivation adds users to this group without a protections
		// check of its own (a write costs at most one): a grant to it
		// would turn every deactivation into a promotion.
		level, err := client.GroupMaxAccess(ctx, cfg.DeprovisionGroup)
		switch {
		case err != nil:
			warn("DEPROVISION_GROUP "+cfg.DeprovisionGroup, "cannot read its protections ("+fixFor(err)+")")
		case level.Privileged():
			warn("DEPROVISION_GROUP "+cfg.DeprovisionGroup, fmt.Sprintf("the protections give it %s, so every deactivated user gets it; "+
				"remove that grant with p4 protect (deny the group instead)", level))
		}
	}
	if cfg.AllowPrivilegedUsers {
		warn("privileged users", config.AllowPrivilegedWarning)
	} else {
		checkLine(out, "ok  ", "privileged users are never changed through SCIM (ALLOW_PRIVILEGED_USERS=false)", "")
	}
	for _, c := range securityConfigurables {
		raw, shown, err := client.Configurable(ctx, c.name)
		if err != nil {
			warn(c.name, "cannot read it ("+fixFor(err)+"); check it with p4 configure show "+c.name)
			continue
		}
		v, perr := strconv.Atoi(raw)
		if !shown || raw == "" {
			v, perr = c.def, nil
		}
		if perr != nil {
			warn(c.name, fmt.Sprintf("value %q is not a number; set it with p4 configure set %s=%s", raw, c.name, c.want))
			continue
		}
		if c.good(v) {
			checkLine(out, "ok  ", fmt.Sprintf("%s is %d", c.name, v), "")
			continue
		}
		warn(c.name, fmt.Sprintf("is %d: %s; fix: p4 configure set %s=%s", v, c.why, c.name, c.want))
	}
}

// checkLine prints one line of check: a mark (ok, FAIL, WARN), what was
// checked and, if any, the detail or the fix.
func checkLine(out io.Writer, mark, what, detail string) {
	fmt.Fprintf(out, "%s %s", mark, what)
	if detail != "" {
		fmt.Fprintf(out, ": %s", detail)
	}
	fmt.Fprintln(out)
}
