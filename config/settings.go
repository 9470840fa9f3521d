package config

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
)

// Setting describes one setting. Its Name is the environment variable and
// the .env name; lower-cased it is the config-file key and the viper key;
// lower-cased with dashes it is the command-line flag. Adding a setting is
// one row in Settings, one line in the parse function of its group
// (parse.go) and one Config field.
type Setting struct {
	Name    string
	Group   string
	Default string // default as text ("" = none)
	Help    string
	Secret  bool   // never logged; no command-line flag
	Boolean bool   // a flag that takes no value
	Flag    string // a shorter alias of the flag ("" = none)
}

// Settings is the table of settings, in documentation order. A function
// rather than a variable: the package holds no mutable state.
func Settings() []Setting {
	return []Setting{
		{Name: "CONFIG_FILE", Group: "Sources", Flag: "config", Help: "config file (YAML, TOML or JSON); keys are these names in lower case"},
		{Name: "ENV_FILE", Group: "Sources", Default: ".env", Flag: "env-file", Help: "dotenv file, read if present (required if named explicitly)"},
		{Name: "DEV", Group: "Mode", Default: "false", Boolean: true, Help: "run against an embedded Helix Core emulator; prints a URL and token"},
		{Name: "DRY_RUN", Group: "Mode", Default: "false", Boolean: true, Help: "log what would change in Helix Core without changing it"},

		{Name: "BEARER_TOKEN", Group: "Authentication", Secret: true, Help: "HAS-compatible token, named \"default\"; the IdP may send it as is or base64-encoded"},
		{Name: "BEARER_TOKENS", Group: "Authentication", Secret: true, Help: "named tokens for rotation: name=secret,name2=secret2"},
		{Name: "BEARER_TOKEN_FILE", Group: "Authentication", Help: "file of tokens, one per line: name=secret or a bare secret; # comments; re-read when it changes"},
		{Name: "OAUTH_CLIENTS", Group: "Authentication", Secret: true, Help: "OAuth 2.0 client-credentials clients id:secret,id2:secret2; empty = no token endpoint"},
		{Name: "OAUTH_TOKEN_TTL", Group: "Authentication", Default: "1h", Help: "lifetime of tokens issued to OAuth clients"},

		{Name: "LISTEN_ADDRESS", Group: "HTTP", Default: ":8080", Flag: "listen", Help: "address to serve on (127.0.0.1:8080 in dev mode)"},
		{Name: "METRICS_ADDRESS", Group: "HTTP", Help: "separate address for /metrics; empty = the main listener"},
		{Name: "TLS_CERT_FILE", Group: "HTTP", Help: "TLS certificate (PEM); set with TLS_KEY_FILE, or neither behind a TLS proxy"},
		{Name: "TLS_KEY_FILE", Group: "HTTP", Help: "TLS private key (PEM)"},
		{Name: "TRUSTED_PROXIES", Group: "HTTP", Help: "CIDRs of reverse proxies whose X-Forwarded-For is believed, comma-separated"},
		{Name: "READ_TIMEOUT", Group: "HTTP", Default: "30s", Help: "time to read a whole request"},
		{Name: "WRITE_TIMEOUT", Group: "HTTP", Default: "90s", Help: "time to answer a request; must exceed P4_COMMAND_TIMEOUT"},
		{Name: "IDLE_TIMEOUT", Group: "HTTP", Default: "120s", Help: "keep-alive idle time"},
		{Name: "SHUTDOWN_GRACE", Group: "HTTP", Default: "25s", Help: "time running requests get to finish on SIGTERM"},

		{Name: "P4PORT", Group: "Helix Core", Help: "Helix Core server address, e.g. ssl:perforce:1666"},
		{Name: "P4USER", Group: "Helix Core", Help: "super user the bridge runs as"},
		{Name: "P4PASSWD", Group: "Helix Core", Secret: true, Help: "its password or a ticket"},
		{Name: "P4TICKETS", Group: "Helix Core", Help: "tickets file; default a private temporary file"},
		{Name: "P4TRUST", Group: "Helix Core", Help: "trust file; default next to the tickets file"},
		{Name: "P4CHARSET", Group: "Helix Core", Help: "character set, for Unicode-mode servers (e.g. utf8)"},
		{Name: "P4BIN", Group: "Helix Core", Default: "p4", Help: "the p4 executable"},
		{Name: "P4_TRUST_FINGERPRINT", Group: "Helix Core", Help: "fingerprint of an ssl: server's certificate (p4d -Gf), pinned"},
		{Name: "P4_TRUST_ANY", Group: "Helix Core", Default: "false", Boolean: true, Help: "trust whatever certificate an ssl: server presents (no pinning)"},
		{Name: "P4_COMMAND_TIMEOUT", Group: "Helix Core", Default: "30s", Help: "time limit of one p4 command"},
		{Name: "P4_MAX_CONCURRENT", Group: "Helix Core", Default: "8", Help: "p4 commands run at once"},
		{Name: "LICENSE_REFRESH", Group: "Helix Core", Default: "10m", Help: "how often the licence headroom gauges are read (p4 license -u); 0 = never"},

		{Name: "MAX_BODY_BYTES", Group: "Limits", Default: "1MiB", Help: "largest request body (bytes; KiB and MiB suffixes allowed)"},
		{Name: "RATE_LIMIT", Group: "Limits", Default: "0", Help: "optional hard cap: requests per second for all clients together; 0 = none (admission by capacity decides)"},
		{Name: "RATE_BURST", Group: "Limits", Help: "requests at once above RATE_LIMIT; default twice RATE_LIMIT"},
		{Name: "RATE_LIMIT_PER_CLIENT", Group: "Limits", Default: "0", Help: "optional hard cap: requests per second per client address; 0 = none"},
		{Name: "RATE_BURST_PER_CLIENT", Group: "Limits", Help: "burst per client; default twice RATE_LIMIT_PER_CLIENT"},
		{Name: "MAX_IN_FLIGHT", Group: "Limits", Help: "authenticated requests processed at once; more queue, per token, served in turn; default twice P4_MAX_CONCURRENT"},
		{Name: "MAX_IN_FLIGHT_WAIT", Group: "Limits", Default: "20s", Help: "longest wait in the queue; a request that would wait longer gets 429 with Retry-After"},
		{Name: "MAX_QUEUED", Group: "Limits", Default: "1000", Help: "requests waiting in the queue, all tokens together; beyond it 429"},
		{Name: "AUTH_FAILURE_LIMIT", Group: "Limits", Default: "2", Help: "failed authentications per second per client address; beyond it (and the burst) 429; 0 = no limit"},
		{Name: "AUTH_FAILURE_BURST", Group: "Limits", Default: "20", Help: "failed authentications at once per client address"},
		{Name: "PROBE_LIMIT", Group: "Limits", Default: "10", Help: "requests per second per client address to /healthz, /readyz and /metrics; beyond it (and the burst) 429; 0 = no limit"},
		{Name: "PROBE_BURST", Group: "Limits", Default: "50", Help: "probe requests at once per client address"},
		{Name: "READY_INTERVAL", Group: "Limits", Default: "10s", Help: "how often the daemon checks Helix Core and its login for /readyz (probes only read the result)"},

		{Name: "KEY_PREFIX", Group: "Provisioning policy", Default: "p4scim.", Help: "prefix of the p4 keys holding what Helix Core has no field for"},
		{Name: "USERNAME_RULE", Group: "Provisioning policy", Default: "localpart", Help: "SCIM userName -> Helix Core user: localpart | verbatim | replace"},
		{Name: "GROUPNAME_RULE", Group: "Provisioning policy", Default: "replace", Help: "SCIM displayName -> Helix Core group: replace | verbatim"},
		{Name: "NEW_USER_TYPE", Group: "Provisioning policy", Default: "standard", Help: "Type of created users: standard | operator | service"},
		{Name: "NEW_USER_AUTH_METHOD", Group: "Provisioning policy", Help: "AuthMethod of created users; empty = server default"},
		{Name: "PASSWORD_SYNC", Group: "Provisioning policy", Default: "true", Boolean: true, Help: "set SCIM passwords in Helix Core (p4 passwd)"},
		{Name: "DEPROVISION_GROUP", Group: "Provisioning policy", Help: "group deactivated users are moved into (deny it in protections); empty = none"},
		{Name: "DELETE_POLICY", Group: "Provisioning policy", Default: "delete", Help: "what SCIM DELETE does: delete | deactivate"},
		{Name: "DEACTIVATE_POLICY", Group: "Provisioning policy", Default: "keep", Help: "what active:false does beyond deactivating: keep | delete (the Helix Core user, after DEACTIVATE_DELETE_AFTER, freeing its licence)"},
		{Name: "DEACTIVATE_DELETE_AFTER", Group: "Provisioning policy", Default: "168h", Help: "grace period between a deactivation and the deletion of the Helix Core user (delete policy, p4scim reclaim); 0s = at once"},
		{Name: "RECLAIM_INTERVAL", Group: "Provisioning policy", Default: "1h", Help: "how often the daemon deletes deactivated users past their grace period (DEACTIVATE_POLICY=delete), one replica at a time"},
		{Name: "ALLOW_USER_RENAME", Group: "Provisioning policy", Default: "false", Boolean: true, Help: "a userName change renames the Helix Core user (p4 renameuser); the SCIM id stays"},
		{Name: "LOCK_TTL", Group: "Provisioning policy", Default: "30s", Help: "a group lock a crashed replica left is taken over after this; must exceed the longest group write"},
		{Name: "PROTECTED_USERS", Group: "Provisioning policy", Help: "users never changed through SCIM, comma-separated (P4USER always is)"},
		{Name: "PROTECTED_GROUPS", Group: "Provisioning policy", Help: "groups whose members are never changed and that are never deleted through SCIM, comma-separated (groups the protections give admin or super always are)"},
		{Name: "ALLOW_PRIVILEGED_USERS", Group: "Provisioning policy", Default: "false", Boolean: true, Help: "let SCIM change users the protections table gives admin or super (password, active, profile, delete); check reports it"},

		{Name: "LOG_LEVEL", Group: "Logging", Default: "info", Help: "debug | info | warn | error"},
		{Name: "LOG_FORMAT", Group: "Logging", Default: "json", Help: "json | text"},
	}
}

// key is a setting's viper key: viper keys are case-insensitive and kept
// in lower case; these are also the config-file keys.
func key(s Setting) string { return strings.ToLower(s.Name) }

// FlagName is a setting's command-line flag: the name in lower case
// with dashes (P4_COMMAND_TIMEOUT -> p4-command-timeout).
func FlagName(s Setting) string {
	return strings.ToLower(strings.ReplaceAll(s.Name, "_", "-"))
}

// secretFlag refuses a secret on the command line with a useful message
// rather than "unknown flag". It records the problem instead of returning
// it, because pflag quotes the value in its error, and the value is the
// secret.
type secretFlag struct {
	name     string
	problems *[]string
}

func (f secretFlag) String() string { return "" }
func (f secretFlag) Type() string   { return "secret" }
func (f secretFlag) Set(string) error {
	*f.problems = append(*f.problems, f.name+": not accepted on the command line, where every user can read it (ps); set it in the environment or the .env file")
	return nil
}

// newFlagSet defines every setting as a pflag flag: values are text, as in
// every other source, so that a flag's error reads like any other. An alias
// (--listen) is folded into its flag's name (--listen-address) by the
// normalizer, so viper sees one flag per setting.
func newFlagSet(problems *[]string) *pflag.FlagSet {
	fs := pflag.NewFlagSet("p4scim", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	aliases := map[string]string{}
	for _, s := range Settings() {
		name := FlagName(s)
		if s.Flag != "" && s.Flag != name {
			aliases[s.Flag] = name
		}
		if s.Secret {
			fs.Var(secretFlag{s.Name, problems}, name, "")
			continue
		}
		fs.String(name, "", s.Help)
		if s.Boolean {
			fs.Lookup(name).NoOptDefVal = "true"
		}
	}
	fs.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if full, ok := aliases[name]; ok {
			return pflag.NormalizedName(full)
		}
		return pflag.NormalizedName(name)
	})
	return fs
}

// commandUsage is the first lines of each command's --help.
func commandUsage(command string) string {
	switch command {
	case "check":
		return "usage: p4scim check [--config FILE] [--env-file FILE] [--SETTING value ...]\n\n" +
			"Checks the configuration, then Helix Core: reachable, logged in, super access, keys\n" +
			"writable; one ok/FAIL line each, after every warning serve would log. Exit 1 on a FAIL.\n"
	case "reclaim":
		return "usage: p4scim reclaim [--apply] [--config FILE] [--env-file FILE] [--SETTING value ...]\n\n" +
			"Lists the users the IdP deactivated whose grace period (DEACTIVATE_DELETE_AFTER)\n" +
			"has passed and that still exist in Helix Core: what deleting each frees (one\n" +
			"licence per standard user), and those that cannot be deleted and why (opened\n" +
			"files, protected). With --apply, deletes them as the daemon does under\n" +
			"DEACTIVATE_POLICY=delete: their group memberships are kept in their record for a\n" +
			"reactivation, their workspaces and changelists stay. SCIM keeps showing them,\n" +
			"inactive.\n\n" +
			"It works under either DEACTIVATE_POLICY. For cron or a systemd timer: one line\n" +
			"per user, a summary line last; exit status 1 when a user could not be deleted\n" +
			"(with --apply) or Helix Core could not be read, 0 otherwise.\n\n" +
			"  --apply    delete them (default: only list)\n"
	case "healthcheck":
		return "usage: p4scim healthcheck [--config FILE] [--env-file FILE] [--SETTING value ...]\n\n" +
			"GET /healthz on the address serve listens on, over TLS when serve uses TLS; exit 0 if\n" +
			"it answers 200. Reads the same settings as serve (the image's HEALTHCHECK).\n"
	}
	return "usage: p4scim serve [--dev] [--config FILE] [--env-file FILE] [--SETTING value ...]\n\n" +
		"Runs the SCIM bridge. SIGTERM stops it within SHUTDOWN_GRACE; SIGHUP reloads the\n" +
		"bearer token file, the TLS certificate and LOG_LEVEL.\n"
}

// WriteUsage prints a command's usage and the settings: flags, names,
// defaults and help, grouped as in .env.example.
func WriteUsage(w io.Writer, command string) {
	fmt.Fprint(w, commandUsage(command))
	fmt.Fprintf(w, "\nEach setting is a flag, an environment variable, a .env line or a config-file key,\n")
	fmt.Fprintf(w, "in that order of precedence. Secrets (*) are not accepted as flags.\n")
	group := ""
	for _, s := range Settings() {
		if s.Group != group {
			group = s.Group
			fmt.Fprintf(w, "\n%s:\n", group)
		}
		flagText := "--" + FlagName(s)
		if s.Flag != "" && s.Flag != FlagName(s) {
			flagText = "--" + s.Flag + ", " + flagText
		}
		name := s.Name
		if s.Secret {
			name, flagText = name+" (*)", ""
		}
		def := ""
		if s.Default != "" {
			def = " (default " + s.Default + ")"
		}
		fmt.Fprintf(w, "  %-24s %s\n      %s%s\n", name, flagText, s.Help, def)
	}
}
