package config

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/afero"
	"golang.org/x/time/rate"

	"github.com/p4scim/p4scim/scimhandlers/auth"
)

// configParser turns raw values into typed ones, collecting problems.
type configParser struct {
	raw  map[string]string
	list []string
	// serversElsewhere: the global settings of the [provisioning] form,
	// where each server entry has its own P4PORT, P4USER and P4PASSWD.
	serversElsewhere bool
}

func (p *configParser) problems() []string { return p.list }

func (p *configParser) fail(name, format string, a ...any) {
	p.list = append(p.list, name+": "+fmt.Sprintf(format, a...))
}

func (p *configParser) str(name string) string { return p.raw[name] }

func (p *configParser) boolean(name string) bool {
	v := p.raw[name]
	switch strings.ToLower(v) {
	case "", "0", "false", "no", "off", "f", "n":
		return false
	case "1", "true", "yes", "on", "t", "y":
		return true
	}
	p.fail(name, "%q is not a boolean; use true or false", v)
	return false
}

// duration reads a Go duration ("30s", "2m"), or a bare number of seconds.
func (p *configParser) duration(name string, min time.Duration) time.Duration {
	v := p.raw[name]
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.ParseFloat(v, 64)
		if nerr != nil || math.IsNaN(n) || math.IsInf(n, 0) || n > 1e9 {
			p.fail(name, "%q is not a duration; use e.g. 30s, 2m or 1h30m", v)
			return 0
		}
		d = time.Duration(n * float64(time.Second))
	}
	if d < min {
		p.fail(name, "%s is too short; use at least %s", d, min)
	}
	return d
}

func (p *configParser) integer(name string, min, max int64) int64 {
	v := p.raw[name]
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		p.fail(name, "%q is not a whole number; use a number from %d to %d", v, min, max)
		return 0
	}
	if n < min || n > max {
		p.fail(name, "%d is out of range; use a number from %d to %d", n, min, max)
	}
	return n
}

func (p *configParser) number(name string, max float64) float64 {
	v := p.raw[name]
	if v == "" {
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		p.fail(name, "%q is not a number; use e.g. 25 or 0.5 (0 turns the limit off)", v)
		return 0
	}
	if f < 0 || f > max {
		p.fail(name, "%v is out of range; use a number from 0 (no limit) to %v", f, max)
	}
	return f
}

// size reads a byte count: 1048576, 512KiB, 1MiB (K/KB/KiB and M/MB/MiB
// are all powers of 1024: the distinction is never what an operator means).
func (p *configParser) size(name string, min, max int64) int64 {
	v := p.raw[name]
	if v == "" {
		return 0
	}
	num := strings.TrimRightFunc(v, unicode.IsLetter)
	mult := int64(1)
	switch strings.ToLower(strings.TrimSpace(v[len(num):])) {
	case "", "b":
	case "k", "kb", "kib":
		mult = 1 << 10
	case "m", "mb", "mib":
		mult = 1 << 20
	default:
		p.fail(name, "%q has an unknown unit; use bytes, KiB or MiB (e.g. 1MiB)", v)
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n > max/mult+1 {
		p.fail(name, "%q is not a size; use e.g. 1048576 or 1MiB, from %d to %d bytes", v, min, max)
		return 0
	}
	n *= mult
	if n < min || n > max {
		p.fail(name, "%d bytes is out of range; use %d to %d bytes", n, min, max)
	}
	return n
}

func (p *configParser) oneOf(name string, allowed ...string) string {
	v := strings.ToLower(p.raw[name])
	if !slices.Contains(allowed, v) {
		shown := make([]string, 0, len(allowed))
		for _, a := range allowed {
			if a == "" {
				a = `"" (empty)`
			}
			shown = append(shown, a)
		}
		p.fail(name, "%q is not allowed; use one of %s", p.raw[name], strings.Join(shown, ", "))
	}
	return v
}

func cfgList(v string) []string {
	var out []string
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// parse fills c from the raw values, validating each setting.
// prov is the config file's [provisioning] table, nil if none.
func (c *Config) parse(p *configParser, fsys afero.Fs, prov *provisioningFile) {
	c.Dev = p.boolean("DEV")
	c.Provisioning = prov != nil
	p.serversElsewhere = c.Provisioning
	c.DryRun = p.boolean("DRY_RUN")
	if c.DryRun {
		c.Warnings = append(c.Warnings, "DRY_RUN is on: requests are answered but nothing is written to Helix Core")
	}

	c.parseHTTP(p, fsys)
	c.parseAuth(p, fsys)
	c.parseHelix(p)
	c.parseLimits(p)
	c.parsePolicy(p)

	if err := c.LogLevel.UnmarshalText([]byte(p.str("LOG_LEVEL"))); err != nil {
		p.fail("LOG_LEVEL", "%q is not a level; use debug, info, warn or error", p.str("LOG_LEVEL"))
	}
	c.LogFormat = p.oneOf("LOG_FORMAT", "json", "text")

	// The handler's time is mostly p4 commands: a write timeout shorter
	// than one of them cuts the IdP off while Helix Core is still working,
	// and the IdP's retry then races the first attempt.
	if c.WriteTimeout > 0 && c.P4CommandTimeout > 0 && c.WriteTimeout <= c.P4CommandTimeout {
		p.fail("WRITE_TIMEOUT", "%s is not longer than P4_COMMAND_TIMEOUT (%s); raise WRITE_TIMEOUT (e.g. to 3 × P4_COMMAND_TIMEOUT) or lower P4_COMMAND_TIMEOUT",
			c.WriteTimeout, c.P4CommandTimeout)
	}

	if c.Provisioning {
		c.parseProvisioning(p, fsys, prov)
	} else {
		c.Servers = c.singleServer()
	}
}

func (c *Config) parseHTTP(p *configParser, fsys afero.Fs) {
	c.ListenAddress = p.str("LISTEN_ADDRESS")
	if c.Dev && c.sources["LISTEN_ADDRESS"] == cfgSourceDefault {
		c.ListenAddress = "127.0.0.1:8080" // a demo with a printed token is not for the network
	}
	cfgCheckAddress(p, "LISTEN_ADDRESS", c.ListenAddress)
	c.MetricsAddress = p.str("METRICS_ADDRESS")
	if c.MetricsAddress != "" {
		cfgCheckAddress(p, "METRICS_ADDRESS", c.MetricsAddress)
		if c.MetricsAddress == c.ListenAddress {
			p.fail("METRICS_ADDRESS", "is the same as LISTEN_ADDRESS; leave it empty to serve /metrics on the main listener")
		}
	}

	c.TLSCertFile, c.TLSKeyFile = p.str("TLS_CERT_FILE"), p.str("TLS_KEY_FILE")
	switch {
	case (c.TLSCertFile == "") != (c.TLSKeyFile == ""):
		missing := "TLS_KEY_FILE"
		if c.TLSCertFile == "" {
			missing = "TLS_CERT_FILE"
		}
		p.fail(missing, "missing; set TLS_CERT_FILE and TLS_KEY_FILE together, or neither when a proxy terminates TLS")
	case c.TLSCertFile != "":
		for _, name := range []string{"TLS_CERT_FILE", "TLS_KEY_FILE"} {
			if f, err := fsys.Open(p.str(name)); err != nil {
				p.fail(name, "cannot read %s: %v; fix the path or the file's permissions", p.str(name), PathErr(err))
			} else {
				_ = f.Close()
			}
		}
	}

	for _, e := range cfgList(p.str("TRUSTED_PROXIES")) {
		pfx, err := netip.ParsePrefix(e)
		if err != nil {
			a, aerr := netip.ParseAddr(e)
			if aerr != nil {
				p.fail("TRUSTED_PROXIES", "%q is not an address or CIDR; use e.g. 10.0.0.0/8,192.0.2.7", e)
				continue
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, pfx.Masked())
	}

	c.ReadTimeout = p.duration("READ_TIMEOUT", time.Second)
	c.WriteTimeout = p.duration("WRITE_TIMEOUT", time.Second)
	c.IdleTimeout = p.duration("IDLE_TIMEOUT", time.Second)
	c.ShutdownGrace = p.duration("SHUTDOWN_GRACE", 0)

	if !c.Dev && c.TLSCertFile == "" && len(c.TrustedProxies) == 0 && !cfgIsLoopback(c.ListenAddress) {
		c.Warnings = append(c.Warnings, "plain HTTP on "+c.ListenAddress+": bearer tokens cross the network in clear unless a TLS proxy is in front; set TLS_CERT_FILE/TLS_KEY_FILE, or list the proxy in TRUSTED_PROXIES")
	}
}

func cfgCheckAddress(p *configParser, name, addr string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		p.fail(name, "%q is not host:port; use e.g. :8080 or 127.0.0.1:8080", addr)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		p.fail(name, "%q has no valid port; use e.g. :8080", addr)
	}
	if strings.ContainsAny(host, " \t/") {
		p.fail(name, "%q has an invalid host; use an IP address or a host name", addr)
	}
}

func cfgIsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// parseAuth reads the bearer tokens and OAuth clients. Secrets never
// appear in a problem: tokens are named by their name or position.
func (c *Config) parseAuth(p *configParser, fsys afero.Fs) {
	type source = TokenSource
	var toks []source
	if v := p.str("BEARER_TOKEN"); v != "" {
		if strings.ContainsAny(v, `/\`) {
			if _, err := fsys.Stat(v); err == nil {
				// HAS reads a file named in BEARER_TOKEN (with a warning);
				// here the file setting is explicit.
				p.fail("BEARER_TOKEN", "names a file; set BEARER_TOKEN_FILE to the path instead")
			}
		}
		toks = append(toks, source{"BEARER_TOKEN", auth.Token{Name: "default", Secret: v}})
	}
	for i, e := range cfgList(p.str("BEARER_TOKENS")) {
		name, secret, ok := strings.Cut(e, "=")
		name, secret = strings.TrimSpace(name), strings.TrimSpace(secret)
		if !ok || !isTokenName(name) || secret == "" {
			p.fail("BEARER_TOKENS", "entry %d is not name=secret (name: a letter, then up to 31 letters, digits, '.', '_' or '-'); fix that entry", i+1)
			continue
		}
		toks = append(toks, source{"BEARER_TOKENS", auth.Token{Name: name, Secret: secret}})
	}
	for _, s := range toks {
		c.FixedTokens = append(c.FixedTokens, s.Token)
	}
	if path := p.str("BEARER_TOKEN_FILE"); path != "" {
		c.TokenFile = path
		b, err := afero.ReadFile(fsys, path)
		if err != nil {
			p.fail("BEARER_TOKEN_FILE", "cannot read %s: %v; fix the path or the file's permissions", path, PathErr(err))
		}
		for _, t := range ParseTokenFile(string(b)) {
			toks = append(toks, source{"BEARER_TOKEN_FILE", t})
		}
	}
	c.Tokens = CheckTokens(toks, p.fail)

	ids := map[string]bool{}
	for i, e := range cfgList(p.str("OAUTH_CLIENTS")) {
		id, secret, ok := strings.Cut(e, ":")
		id, secret = strings.TrimSpace(id), strings.TrimSpace(secret)
		if !ok || !isClientID(id) || secret == "" {
			p.fail("OAUTH_CLIENTS", "entry %d is not id:secret (id: letters, digits, '.', '_' or '-', up to 64); fix that entry", i+1)
			continue
		}
		if ids[id] {
			p.fail("OAUTH_CLIENTS", "client id %q is used twice; give each client its own id", id)
		}
		ids[id] = true
		if why := weakSecret(secret); why != "" {
			p.fail("OAUTH_CLIENTS", "the secret of client %q %s; generate one with: openssl rand -base64 32", id, why)
		}
		c.OAuthClients = append(c.OAuthClients, auth.Client{ID: id, Secret: secret, Name: "oauth:" + id})
	}
	c.OAuthTokenTTL = p.duration("OAUTH_TOKEN_TTL", time.Minute)

	if len(c.Tokens) == 0 && len(c.OAuthClients) == 0 && !c.Dev && !c.Provisioning {
		p.fail("BEARER_TOKEN", "missing; set BEARER_TOKEN (or BEARER_TOKENS, BEARER_TOKEN_FILE) to a random secret of at least %d characters, e.g. the output of: openssl rand -base64 32", configMinSecretLen)
	}
}

func (c *Config) parseHelix(p *configParser) {
	c.P4Port, c.P4User, c.P4Passwd = p.str("P4PORT"), p.str("P4USER"), p.str("P4PASSWD")
	c.P4Tickets, c.P4Trust, c.P4Charset = p.str("P4TICKETS"), p.str("P4TRUST"), p.str("P4CHARSET")
	c.P4Bin = p.str("P4BIN")
	c.P4TrustFingerprint = strings.ToUpper(p.str("P4_TRUST_FINGERPRINT"))
	c.P4TrustAny = p.boolean("P4_TRUST_ANY")
	c.P4CommandTimeout = p.duration("P4_COMMAND_TIMEOUT", time.Second)
	c.P4MaxConcurrent = int(p.integer("P4_MAX_CONCURRENT", 1, 256))

	if c.Dev {
		for _, name := range []string{"P4PORT", "P4USER", "P4PASSWD"} {
			if p.str(name) != "" {
				c.Warnings = append(c.Warnings, "dev mode: "+name+" is ignored; the embedded Helix Core emulator is used")
			}
		}
	} else if !p.serversElsewhere {
		if c.P4Port == "" {
			p.fail("P4PORT", "missing; set it to the Helix Core server address, e.g. ssl:perforce:1666")
		}
		if c.P4User == "" {
			p.fail("P4USER", "missing; set it to the Helix Core super user the bridge runs as")
		}
		if c.P4Passwd == "" {
			p.fail("P4PASSWD", "missing; set it to P4USER's password or a long-lived ticket (p4 login -a -p)")
		}
	}
	if c.P4Port != "" {
		if why := checkP4Port(c.P4Port); why != "" {
			p.fail("P4PORT", "%q %s; use [protocol:]host:port, e.g. ssl:perforce:1666 or perforce:1666", c.P4Port, why)
		}
	}
	if c.P4User != "" && (strings.HasPrefix(c.P4User, "-") || strings.ContainsAny(c.P4User, " \t\n@#*%,\"")) {
		p.fail("P4USER", "%q is not a valid Helix Core user name (no blanks, @, #, *, %%, commas, quotes, leading -)", c.P4User)
	}
	if c.P4Charset != "" && !regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`).MatchString(c.P4Charset) {
		p.fail("P4CHARSET", "%q is not a P4CHARSET name; use e.g. utf8, auto or none", c.P4Charset)
	}
	if v := p.str("LICENSE_REFRESH"); v != "0" && v != "0s" {
		c.LicenseRefresh = p.duration("LICENSE_REFRESH", time.Minute)
	}
	if c.P4Bin == "" {
		p.fail("P4BIN", "empty; set it to the p4 executable, e.g. /usr/local/bin/p4")
	}
	if c.P4TrustFingerprint != "" && !regexp.MustCompile(`^[0-9A-F]{2}(:[0-9A-F]{2}){19}([0-9A-F:]{3}){0,12}$`).MatchString(c.P4TrustFingerprint) {
		p.fail("P4_TRUST_FINGERPRINT", "%q is not a certificate fingerprint; use the colon-separated hex that p4d -Gf or p4 trust -l prints", c.P4TrustFingerprint)
	}
	ssl := strings.HasPrefix(strings.ToLower(c.P4Port), "ssl")
	switch {
	case c.P4TrustAny && c.P4TrustFingerprint != "":
		p.fail("P4_TRUST_ANY", "set together with P4_TRUST_FINGERPRINT; keep the fingerprint (pinning) and remove P4_TRUST_ANY")
	case ssl && !c.Dev && !c.P4TrustAny && c.P4TrustFingerprint == "" && c.P4Trust == "":
		p.fail("P4_TRUST_FINGERPRINT", "missing for the ssl: P4PORT; set it to the server's fingerprint (p4d -Gf on the server), point P4TRUST at a trust file that holds it (p4 trust), or set P4_TRUST_ANY=true to trust blindly")
	case ssl && c.P4TrustAny:
		c.Warnings = append(c.Warnings, "P4_TRUST_ANY=true: the Helix Core certificate is not pinned, so a machine in the middle can impersonate the server; set P4_TRUST_FINGERPRINT instead")
	case !ssl && (c.P4TrustAny || c.P4TrustFingerprint != "") && !c.Dev:
		c.Warnings = append(c.Warnings, "P4_TRUST_FINGERPRINT/P4_TRUST_ANY are ignored: P4PORT is not an ssl: address")
	}
}

// checkP4Port validates a P4PORT: [protocol:]host:port, port, or rsh:.
func checkP4Port(port string) string {
	if strings.ContainsAny(port, " \t\n") {
		return "contains blanks"
	}
	rest := port
	if proto, after, ok := strings.Cut(port, ":"); ok {
		switch strings.ToLower(proto) {
		case "rsh":
			return ""
		case "tcp", "tcp4", "tcp6", "tcp46", "tcp64", "ssl", "ssl4", "ssl6", "ssl46", "ssl64":
			rest = after
		}
	}
	portPart := rest
	if i := strings.LastIndex(rest, ":"); i >= 0 {
		host := rest[:i]
		portPart = rest[i+1:]
		if host == "" || strings.Count(host, ":") > 0 && !(strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]")) {
			return "has an invalid host"
		}
	}
	n, err := strconv.Atoi(portPart)
	if err != nil || n < 1 || n > 65535 {
		return "has no valid port number"
	}
	return ""
}

func (c *Config) parseLimits(p *configParser) {
	c.MaxBodyBytes = p.size("MAX_BODY_BYTES", 1<<10, 64<<20)
	c.RateLimit = rate.Limit(p.number("RATE_LIMIT", 1e6))
	c.RateLimitPerClient = rate.Limit(p.number("RATE_LIMIT_PER_CLIENT", 1e6))
	c.RateBurst = cfgBurst(p, "RATE_BURST", c.RateLimit)
	c.RateBurstPerClient = cfgBurst(p, "RATE_BURST_PER_CLIENT", c.RateLimitPerClient)
	c.MaxInFlight = int(p.integer("MAX_IN_FLIGHT", 1, 100000))
	if c.MaxInFlight == 0 {
		// The p4 pool is the real resource; a request also spends time
		// outside p4 (JSON, exec start), so twice the pool keeps it busy.
		c.MaxInFlight = 2 * max(c.P4MaxConcurrent, 1)
	}
	c.MaxInFlightWait = p.duration("MAX_IN_FLIGHT_WAIT", 0)
	if c.MaxInFlightWait >= 60*time.Second {
		c.Warnings = append(c.Warnings, "MAX_IN_FLIGHT_WAIT is 60s or more: Okta and Entra time a request out at 60s and count it as a failure; keep it well under, e.g. 20s")
	}
	c.MaxQueued = int(p.integer("MAX_QUEUED", 1, 1000000))
	c.AuthFailureLimit = p.number("AUTH_FAILURE_LIMIT", 1e6)
	c.AuthFailureBurst = int(p.integer("AUTH_FAILURE_BURST", 1, 1e6))
	c.ProbeLimit = p.number("PROBE_LIMIT", 1e6)
	c.ProbeBurst = int(p.integer("PROBE_BURST", 1, 1e6))
	c.ReadyInterval = p.duration("READY_INTERVAL", time.Second)
	if c.RateLimit > 0 && c.RateLimitPerClient > c.RateLimit {
		c.Warnings = append(c.Warnings, "RATE_LIMIT_PER_CLIENT is above RATE_LIMIT: the overall limit is reached first")
	}
}

// cfgBurst reads a burst, defaulting to twice the rate (at least 1): room for
// an IdP's parallel requests without letting a flood through.
func cfgBurst(p *configParser, name string, r rate.Limit) int {
	if p.str(name) != "" {
		return int(p.integer(name, 1, 1e6))
	}
	return max(1, int(math.Ceil(2*float64(r))))
}

func (c *Config) parsePolicy(p *configParser) {
	c.KeyPrefix = p.str("KEY_PREFIX")
	if !regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`).MatchString(c.KeyPrefix) {
		p.fail("KEY_PREFIX", "%q is not a usable p4 key prefix; use letters, digits, '.', '_' and '-' (default p4scim.)", c.KeyPrefix)
	}
	c.UsernameRule = p.oneOf("USERNAME_RULE", "localpart", "verbatim", "replace")
	c.GroupnameRule = p.oneOf("GROUPNAME_RULE", "replace", "verbatim")
	c.NewUserType = p.oneOf("NEW_USER_TYPE", "standard", "operator", "service")
	c.NewUserAuthMethod = p.oneOf("NEW_USER_AUTH_METHOD", "", "perforce", "perforce+2fa", "ldap", "ldap+2fa")
	c.PasswordSync = p.boolean("PASSWORD_SYNC")
	c.DeprovisionGroup = p.str("DEPROVISION_GROUP")
	if c.DeprovisionGroup != "" {
		if why := helixNameProblem(c.DeprovisionGroup); why != "" {
			p.fail("DEPROVISION_GROUP", "%q %s; use a plain Helix Core group name", c.DeprovisionGroup, why)
		}
	}
	c.DeletePolicy = p.oneOf("DELETE_POLICY", "delete", "deactivate")
	c.DeactivatePolicy = p.oneOf("DEACTIVATE_POLICY", "keep", "delete")
	c.DeleteAfter = p.duration("DEACTIVATE_DELETE_AFTER", 0)
	c.ReclaimInterval = p.duration("RECLAIM_INTERVAL", time.Second)
	c.LockTTL = p.duration("LOCK_TTL", 100*time.Millisecond)
	c.AllowUserRename = p.boolean("ALLOW_USER_RENAME")
	for _, u := range cfgList(p.str("PROTECTED_USERS")) {
		if why := helixNameProblem(u); why != "" {
			p.fail("PROTECTED_USERS", "%q %s; list Helix Core user names, comma-separated", u, why)
			continue
		}
		c.ProtectedUsers = append(c.ProtectedUsers, u)
	}
	for _, g := range cfgList(p.str("PROTECTED_GROUPS")) {
		if why := helixNameProblem(g); why != "" {
			p.fail("PROTECTED_GROUPS", "%q %s; list Helix Core group names, comma-separated", g, why)
			continue
		}
		c.ProtectedGroups = append(c.ProtectedGroups, g)
	}
	c.AllowPrivilegedUsers = p.boolean("ALLOW_PRIVILEGED_USERS")
	if c.AllowPrivilegedUsers {
		c.Warnings = append(c.Warnings, AllowPrivilegedWarning)
	}
}

// AllowPrivilegedWarning is what the start-up log and check say while
// ALLOW_PRIVILEGED_USERS is on.
const AllowPrivilegedWarning = "ALLOW_PRIVILEGED_USERS is on: a SCIM token can change the password of Helix Core admin and super users; " +
	"set ALLOW_PRIVILEGED_USERS=false unless the IdP is meant to manage them"

// helixNameProblem applies Helix Core's identifier rules (p4-cli.md §2.5)
// to a configured name, or returns "".
func helixNameProblem(s string) string {
	switch {
	case strings.HasPrefix(s, "-"):
		return "starts with '-'"
	case strings.ContainsAny(s, " \t\n@#*%,\"'/\\"), strings.Contains(s, "..."):
		return "contains a character Helix Core does not allow in names"
	}
	if _, err := strconv.Atoi(s); err == nil {
		return "is purely numeric"
	}
	return ""
}
