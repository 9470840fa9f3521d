package config

import (
	"crypto/sha256"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/afero"

	"github.com/p4scim/p4scim/scimhandlers/auth"
)

// HAS's multi-IdP, multi-server form: a config file with a top-level
// [provisioning] table (peers.md A12) of [[provisioning.providers]] (one
// bearer token per IdP, naming its domain) and [[provisioning.servers]]
// (one Helix Core server each, the domains it serves and those it leads).
// readConfigFile reads its shape (readProvisioning); Config.parse checks
// its meaning (parseProvisioning) and fills Servers and Tokens.

// Server is one Helix Core server and the domains it serves.
type Server struct {
	Name    string   // label for metrics and logs
	Domains []string // the domains whose writes it takes
	Leads   []string // the domains it leads (reads come from it; writes go to it first)
	// Config is the settings with this server's own applied (P4Port,
	// P4User, P4Passwd, KeyPrefix, UsernameRule, policies...); P4Config()
	// and BridgeConfig() work on it. Its Servers is nil.
	Config
}

// Route is one domain's servers, leader first.
type Route struct {
	Domain  string
	Servers []string // server names, leader first, then the others in configuration order
}

// Routes returns every domain's servers, sorted by domain.
func (c Config) Routes() []Route {
	byDomain := map[string]*Route{}
	var domains []string
	for _, s := range c.Servers {
		for _, d := range s.Domains {
			r := byDomain[d]
			if r == nil {
				r = &Route{Domain: d}
				byDomain[d] = r
				domains = append(domains, d)
			}
			if slices.Contains(s.Leads, d) {
				r.Servers = slices.Insert(r.Servers, 0, s.Name)
			} else {
				r.Servers = append(r.Servers, s.Name)
			}
		}
	}
	sort.Strings(domains)
	out := make([]Route, 0, len(domains))
	for _, d := range domains {
		out = append(out, *byDomain[d])
	}
	return out
}

// DomainOf returns the domain of the token named tokenName: in the
// [provisioning] form the token's name is its provider's domain ("" if
// there is no such domain); in the single-server form every token's
// domain is "default".
func (c Config) DomainOf(tokenName string) string {
	if !c.Provisioning {
		return defaultDomain
	}
	if slices.Contains(c.provDomains, tokenName) {
		return tokenName
	}
	return ""
}

// defaultDomain names the single server, its domain and its route in the
// single-server form.
const defaultDomain = "default"

// provisioningFile is the [provisioning] table as read from the file:
// shape checked, meaning not yet.
type provisioningFile struct {
	providers []provProvider
	servers   []provServer
}

type provProvider struct {
	setting   string // provisioning.providers[N], 1-based
	domain    string
	token     string // a secret
	tokenFile string
}

type provServer struct {
	setting string            // provisioning.servers[N], 1-based
	name    string            // "" = its P4PORT
	values  map[string]string // setting name -> the server's own value
	domains []string
	leader  []string
}

// label names a server entry in problems: its place and its P4PORT.
func (s provServer) label() string {
	if port := s.values["P4PORT"]; port != "" {
		return s.setting + " (" + port + ")"
	}
	return s.setting
}

// serverSettings are the settings a server entry may carry, besides
// domains, leader and name: HAS's keys and p4scim's per-server settings.
func serverSettings() []string {
	return []string{
		"P4PORT", "P4USER", "P4PASSWD", "P4TICKETS", "P4TRUST", // HAS's
		"P4CHARSET", "P4_TRUST_FINGERPRINT", "P4_TRUST_ANY", "KEY_PREFIX", "USERNAME_RULE", "GROUPNAME_RULE",
		"PROTECTED_USERS", "PROTECTED_GROUPS", "DELETE_POLICY", "DEACTIVATE_POLICY", "DEACTIVATE_DELETE_AFTER",
		"DEPROVISION_GROUP",
	}
}

var (
	provDomainRE = regexp.MustCompile(`^\w+$`)
	provNameRE   = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
)

// readProvisioning reads the [provisioning] table: arrays of tables come
// as []any of map[string]any from every format viper reads. Problems here
// are of shape (an unknown key, a table where a value belongs); they name
// keys, never values.
func readProvisioning(table map[string]any) (*provisioningFile, []string) {
	pf := &provisioningFile{}
	table = lowerKeys(table)
	var problems []string
	bad := func(where, format string, a ...any) {
		problems = append(problems, where+": "+fmt.Sprintf(format, a...))
	}
	entries := func(name string) []map[string]any {
		v, ok := table[name]
		if !ok || v == nil {
			return nil
		}
		list, ok := v.([]any)
		if !ok {
			bad("provisioning."+name, "must be a list of tables ([[provisioning.%s]] in TOML)", name)
			return nil
		}
		out := make([]map[string]any, 0, len(list))
		for i, e := range list {
			m, ok := e.(map[string]any)
			if !ok {
				bad(fmt.Sprintf("provisioning.%s[%d]", name, i+1), "must be a table of keys, not a plain value")
				m = map[string]any{}
			}
			out = append(out, lowerKeys(m))
		}
		return out
	}
	for _, k := range sortedKeys(table) {
		if k != "providers" && k != "servers" {
			bad("provisioning", "unknown key %q; [provisioning] holds [[provisioning.providers]] and [[provisioning.servers]]", k)
		}
	}

	for i, e := range entries("providers") {
		pp := provProvider{setting: fmt.Sprintf("provisioning.providers[%d]", i+1)}
		for _, k := range sortedKeys(e) {
			val, ok := plainValue(e[k])
			if !ok {
				bad(pp.setting, "key %q must be a plain value, not a table", k)
				continue
			}
			switch k {
			case "bearer_token":
				pp.token = val
			case "bearer_token_file":
				pp.tokenFile = val
			case "domain":
				pp.domain = val
			default:
				bad(pp.setting, "unknown key %q; a provider entry takes bearer_token or bearer_token_file, and domain", k)
			}
		}
		pf.providers = append(pf.providers, pp)
	}

	allowed := map[string]bool{}
	for _, name := range serverSettings() {
		allowed[strings.ToLower(name)] = true
	}
	for i, e := range entries("servers") {
		ps := provServer{setting: fmt.Sprintf("provisioning.servers[%d]", i+1), values: map[string]string{}}
		if port, ok := plainValue(e["p4port"]); ok {
			ps.values["P4PORT"] = port // for the label of the problems below
		}
		for _, k := range sortedKeys(e) {
			switch {
			case k == "domains" || k == "leader":
				list, ok := listValue(e[k])
				if !ok {
					bad(ps.label(), "key %q must be a list of domains, e.g. %s = [\"canine\", \"feline\"]", k, k)
				}
				if k == "domains" {
					ps.domains = list
				} else {
					ps.leader = list
				}
			case k == "name" || allowed[k]:
				val, ok := plainValue(e[k])
				if !ok {
					bad(ps.label(), "key %q must be a plain value, not a table", k)
					continue
				}
				if k == "name" {
					ps.name = val
				} else if val != "" {
					ps.values[strings.ToUpper(k)] = val
				}
			default:
				bad(ps.label(), "unknown key %q; a server entry takes name, domains, leader and %s", k, strings.ToLower(strings.Join(serverSettings(), ", ")))
			}
		}
		pf.servers = append(pf.servers, ps)
	}
	return pf, problems
}

// parseProvisioning checks the [provisioning] form's meaning and fills
// Tokens (one per provider, named by its domain) and Servers. It runs
// after the global settings are parsed: each server's Config is a copy of
// them with its own applied.
func (c *Config) parseProvisioning(p *configParser, fsys afero.Fs, pf *provisioningFile) {
	if c.Dev {
		p.fail("DEV", "dev mode serves one embedded server; remove [provisioning] from the config file, or DEV=true")
	}
	if len(pf.servers) > 0 && p.str("P4PORT") != "" {
		p.fail("P4PORT", "set (%s) together with the [provisioning] servers, which would be ambiguous; remove P4PORT or the [provisioning] servers", c.sources["P4PORT"])
	}
	if len(pf.providers) > 0 {
		for _, name := range []string{"BEARER_TOKEN", "BEARER_TOKENS", "BEARER_TOKEN_FILE", "OAUTH_CLIENTS"} {
			if p.str(name) != "" {
				p.fail(name, "set (%s) together with [provisioning] providers; with providers each IdP's token is in its provider entry (bearer_token or bearer_token_file): remove %s", c.sources[name], name)
			}
		}
	}
	switch {
	case len(pf.providers) == 0 && len(pf.servers) == 0:
		p.fail("provisioning", "empty; add [[provisioning.providers]] (one per IdP) and [[provisioning.servers]] (one per Helix Core server), or remove [provisioning]")
	case len(pf.providers) == 0:
		p.fail("provisioning.providers", "none, but there are servers; add a [[provisioning.providers]] entry (bearer_token or bearer_token_file, domain) for each IdP")
	case len(pf.servers) == 0:
		p.fail("provisioning.servers", "none, but there are providers; add a [[provisioning.servers]] entry (p4port, p4user, p4passwd, domains) for each Helix Core server")
	}

	// Providers: a domain and a token each.
	h := sha256.New()
	c.provDomains = nil
	var toks []TokenSource
	for _, pp := range pf.providers {
		secret := pp.token
		switch {
		case pp.token != "" && pp.tokenFile != "":
			p.fail(pp.setting, "both bearer_token and bearer_token_file are set; keep one")
		case pp.token == "" && pp.tokenFile == "":
			p.fail(pp.setting, "bearer_token missing; set bearer_token, or bearer_token_file to a file holding the token")
		case pp.tokenFile != "":
			b, err := afero.ReadFile(fsys, pp.tokenFile)
			if err != nil {
				p.fail(pp.setting, "bearer_token_file: cannot read %s: %v; fix the path or the file's permissions", pp.tokenFile, PathErr(err))
				break
			}
			if secret = strings.TrimSpace(string(b)); secret == "" {
				p.fail(pp.setting, "bearer_token_file: %s is empty; put the token in it", pp.tokenFile)
			}
		}
		switch {
		case pp.domain == "":
			p.fail(pp.setting, "domain missing; name the IdP's domain (letters, digits, '_'), e.g. domain = \"okta\"")
			continue
		case !provDomainRE.MatchString(pp.domain):
			p.fail(pp.setting, "domain %q is not a domain name; use letters, digits and '_' only", pp.domain)
			continue
		case slices.Contains(c.provDomains, pp.domain):
			p.fail(pp.setting, "domain %q is used twice; give each provider its own domain", pp.domain)
			continue
		}
		c.provDomains = append(c.provDomains, pp.domain)
		if secret != "" {
			toks = append(toks, TokenSource{Setting: pp.setting, Token: auth.Token{Name: pp.domain, Secret: secret}})
		}
		// The tokens a reload applies (Tokens); the domains it does not.
		fmt.Fprintf(h, "provider %q\n", pp.domain)
	}
	c.Tokens = CheckTokens(toks, p.fail)
	c.FixedTokens = slices.Clone(c.Tokens)
	c.TokenFile = ""

	// Servers: each one's settings over the global ones.
	c.Servers = nil
	served := map[string][]int{} // domain -> indexes into c.Servers, in configuration order
	leader := map[string]int{}   // domain -> index of its explicit leader
	entryOf := make([]provServer, 0, len(pf.servers))
	for _, ps := range pf.servers {
		s := c.parseServer(p, ps)
		fmt.Fprintf(h, "server %q %v %v %v\n", ps.name, ps.values, ps.domains, ps.leader)
		if ps.name != "" && !provNameRE.MatchString(ps.name) {
			p.fail(ps.label(), "name %q is not a usable label; use letters, digits, '.', '_' and '-', up to 64", ps.name)
		}
		for _, other := range c.Servers {
			if other.Name == s.Name && s.Name != "" {
				p.fail(ps.label(), "name %q is used by another server too; give each server its own name", s.Name)
				break
			}
		}
		if len(ps.domains) == 0 {
			p.fail(ps.label(), "domains missing; list the domains (provider domains) whose users this server takes, e.g. domains = [\"okta\"]")
		}
		i := len(c.Servers)
		for j, d := range ps.domains {
			switch {
			case slices.Contains(ps.domains[:j], d):
				p.fail(ps.label(), "domains lists %q twice", d)
				continue
			case !slices.Contains(c.provDomains, d):
				p.fail(ps.label(), "domains: %q is not the domain of any provider; add a provider for it or remove it", d)
			}
			served[d] = append(served[d], i)
			s.Domains = append(s.Domains, d)
		}
		for j, d := range ps.leader {
			switch {
			case slices.Contains(ps.leader[:j], d):
				p.fail(ps.label(), "leader lists %q twice", d)
				continue
			case !slices.Contains(c.provDomains, d):
				p.fail(ps.label(), "leader: %q is not the domain of any provider", d)
			case !slices.Contains(ps.domains, d):
				p.fail(ps.label(), "leader: %q is not in this server's domains; a server leads only domains it serves", d)
			}
			if prev, dup := leader[d]; dup {
				p.fail(ps.label(), "leader: domain %q is already led by %s; a domain has one leader", d, entryOf[prev].label())
				continue
			}
			leader[d] = i
		}
		c.Servers = append(c.Servers, s)
		entryOf = append(entryOf, ps)
	}

	// Every domain: served, led once (implicitly by its only server), and
	// mapped alike on all its servers.
	for _, d := range c.provDomains {
		idx := served[d]
		switch {
		case len(idx) == 0:
			if len(pf.servers) > 0 {
				p.fail("provisioning.servers", "no server serves domain %q (its provider's users would go nowhere); add it to the domains of a server", d)
			}
			continue
		case len(idx) == 1:
			if _, ok := leader[d]; !ok {
				leader[d] = idx[0]
			}
		default:
			if _, ok := leader[d]; !ok {
				names := make([]string, 0, len(idx))
				for _, i := range idx {
					names = append(names, c.Servers[i].Name)
				}
				p.fail("provisioning.servers", "domain %q is served by %s but none leads it; add it to the leader list of exactly one of them", d, strings.Join(names, ", "))
			}
		}
		first := c.Servers[idx[0]]
		for _, i := range idx[1:] {
			s := c.Servers[i]
			for _, rule := range []struct{ name, a, b string }{
				{"USERNAME_RULE", first.UsernameRule, s.UsernameRule},
				{"GROUPNAME_RULE", first.GroupnameRule, s.GroupnameRule},
			} {
				if rule.a != rule.b {
					p.fail(entryOf[i].label(), "%s: %q differs from %q on %s, which also serves domain %q; the servers of a domain must map SCIM names alike (SCIM ids are Helix Core names)",
						rule.name, rule.b, rule.a, first.Name, d)
				}
			}
		}
	}
	for d, i := range leader {
		if slices.Contains(c.Servers[i].Domains, d) {
			c.Servers[i].Leads = append(c.Servers[i].Leads, d)
		}
	}
	for i := range c.Servers {
		s := &c.Servers[i]
		slices.SortFunc(s.Leads, func(a, b string) int { return slices.Index(s.Domains, a) - slices.Index(s.Domains, b) })
	}
	copy(c.provHash[:], h.Sum(nil))
}

// parseServer parses one server entry: the global raw values overlaid
// with the server's, through parseHelix and parsePolicy on a copy of the
// global Config. Its problems and warnings are prefixed with the entry's
// label; those the global values alone cause are reported once, by the
// global parse.
func (c *Config) parseServer(p *configParser, ps provServer) Server {
	raw, sources := map[string]string{}, map[string]string{}
	for k, v := range c.raw {
		raw[k] = v
	}
	for k, v := range c.sources {
		sources[k] = v
	}
	for k, v := range ps.values {
		raw[k], sources[k] = v, cfgSourceFile+", "+ps.setting
	}
	sc := *c
	sc.Servers, sc.Warnings, sc.ProtectedUsers, sc.ProtectedGroups = nil, nil, nil, nil
	sc.raw, sc.sources = raw, sources
	sp := configParser{raw: raw}
	sc.parseHelix(&sp)
	sc.parsePolicy(&sp)
	for _, prob := range sp.problems() {
		if !slices.Contains(p.list, prob) {
			p.list = append(p.list, ps.label()+": "+prob)
		}
	}
	for _, w := range sc.Warnings {
		if !slices.Contains(c.Warnings, w) {
			c.Warnings = append(c.Warnings, ps.label()+": "+w)
		}
	}
	sc.Warnings = nil
	name := ps.name
	if name == "" {
		name = sc.P4Port
	}
	return Server{Name: name, Config: sc}
}

// singleServer is the single-server form's one Server.
func (c *Config) singleServer() []Server {
	sc := *c
	sc.Servers = nil
	return []Server{{Name: defaultDomain, Domains: []string{defaultDomain}, Leads: []string{defaultDomain}, Config: sc}}
}

// describeServers renders the servers for Redacted: no secret.
func (c Config) describeServers() string {
	parts := make([]string, 0, len(c.Servers))
	for _, s := range c.Servers {
		parts = append(parts, fmt.Sprintf("name=%s,p4port=%s,domains=%s,leads=%s",
			s.Name, s.P4Port, strings.Join(s.Domains, "|"), strings.Join(s.Leads, "|")))
	}
	return strings.Join(parts, "; ")
}

// plainValue renders a config-file value as a setting's text: a list is
// joined with commas; a table is not a plain value.
func plainValue(v any) (string, bool) {
	switch val := v.(type) {
	case nil:
		return "", true
	case []any:
		parts := make([]string, 0, len(val))
		for _, e := range val {
			if _, table := e.(map[string]any); table {
				return "", false
			}
			parts = append(parts, fmt.Sprint(e))
		}
		return strings.Join(parts, ","), true
	case map[string]any:
		return "", false
	default:
		return strings.TrimSpace(fmt.Sprint(val)), true
	}
}

// listValue reads a list of names: a list, or one comma-separated string.
func listValue(v any) ([]string, bool) {
	s, ok := plainValue(v)
	if !ok {
		return nil, false
	}
	return cfgList(s), true
}

func lowerKeys(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
