package p4emu

import (
	"strconv"

	"github.com/p4scim/p4scim/p4/marshal"
)

// cmdLicense: `license -u` (§5.4): licence limits and usage, by key. Each
// standard user takes a licence; operator and service users take none.
// Only -u is modelled: the other forms edit the licence file.
//
// [INF] p4-cli.md gives the tagged fields of a licensed server (isLicensed,
// userCount, userLimit, clientCount, licenseTimeRemaining). For a server
// without a user limit (Options.LicenseUsers 0) the emulator answers
// isLicensed "no" and userLimit "unlimited", and it leaves out
// licenseTimeRemaining when the licence never expires; parsers must
// tolerate both, as §5.4 asks.
func cmdLicense(c *cmdCtx) {
	s := c.s
	f, ok := parseFlags(c, c.req.Args, "u", "")
	if !ok {
		return
	}
	if !f.has("u") {
		c.usage()
		return
	}
	if !c.requireSuper() {
		return
	}
	fields := []marshal.Field{field("isLicensed", "no"), field("userCount", strconv.Itoa(s.standardUsersLocked())),
		field("userLimit", "unlimited"), field("clientCount", "-"), field("clientLimit", "unlimited")}
	if s.opts.LicenseUsers > 0 {
		fields[0] = field("isLicensed", "yes")
		fields[2] = field("userLimit", strconv.Itoa(s.opts.LicenseUsers))
	}
	if !s.opts.LicenseExpires.IsZero() {
		left := max(int64(s.opts.LicenseExpires.Sub(s.opts.Now()).Seconds()), 0)
		fields = append(fields, field("licenseTimeRemaining", strconv.FormatInt(left, 10)))
	}
	if c.req.Mode.tagged() {
		c.out.stat(fields...)
		return
	}
	for _, fl := range fields {
		c.out.info("%s %s", fl.Key, fl.Value)
	}
}
