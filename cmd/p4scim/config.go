package main

// Configuration of the daemon: every setting, where it comes from, and its
// validation. LoadConfig is hermetic (it reads the arguments, environment
// and file system it is given, nothing else), so tests can exercise every
// source without touching the process.
//
// Sources, highest precedence first:
//
//  1. command-line flags (--p4port, --listen, ...; secrets have no flag,
//     because a command line is visible to every user through ps);
//  2. the process environment;
//  3. the .env file (--env-file or ENV_FILE; default ./.env when present).
//     As with HAS and every dotenv, the environment wins over it;
//  4. the config file (--config or CONFIG_FILE; YAML, TOML or JSON by
//     extension), whose keys are the setting names in lower case, flat
//     (p4port, bearer_tokens, rate_limit); an unknown key is an error, to
//     catch typos;
//  5. defaults.
//
// An empty value counts as unset at every level, so a blank `P4CHARSET=`
// in a compose file does not hide the value below it. Names are HAS's where
// the two overlap (BEARER_TOKEN, BEARER_TOKEN_FILE, P4PORT, P4USER,
// P4PASSWD, P4TICKETS, P4TRUST), so one .env can serve both.

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/joho/godotenv"
	"github.com/spf13/afero"
	"github.com/spf13/viper"
	"golang.org/x/time/rate"

	"github.com/p4scim/p4scim/bridge"
	"github.com/p4scim/p4scim/p4"
	"github.com/p4scim/p4scim/scimhandlers/auth"
)

// Config is the daemon's validated configuration. LoadConfig fills it;
// nothing else should.
type Config struct {
	// Dev runs against an embedded Helix Core emulator; P4PORT, P4USER,
	// P4PASSWD and BEARER_TOKEN may then be absent (the daemon makes them).
	Dev bool
	// DryRun logs what would be written to Helix Core without writing it.
	DryRun bool

	// HTTP
	ListenAddress  string         // LISTEN_ADDRESS; default ":8080", "127.0.0.1:8080" in dev mode
	MetricsAddress string         // METRICS_ADDRESS; "" = /metrics on the main listener
	TLSCertFile    string         // TLS_CERT_FILE; with TLSKeyFile, or neither
	TLSKeyFile     string         // TLS_KEY_FILE
	TrustedProxies []netip.Prefix // TRUSTED_PROXIES; X-Forwarded-For is believed only from these
	ReadTimeout    time.Duration  // READ_TIMEOUT
	WriteTimeout   time.Duration  // WRITE_TIMEOUT
	IdleTimeout    time.Duration  // IDLE_TIMEOUT
	ShutdownGrace  time.Duration  // SHUTDOWN_GRACE

	// Authentication
	Tokens        []auth.Token  // BEARER_TOKEN, BEARER_TOKENS, BEARER_TOKEN_FILE
	TokenFile     string        // BEARER_TOKEN_FILE; re-read when it changes (tokens.go)
	OAuthClients  []auth.Client // OAUTH_CLIENTS; none = no token endpoint
	OAuthTokenTTL time.Duration // OAUTH_TOKEN_TTL

	// Helix Core
	P4Port             string
	P4User             string
	P4Passwd           string // password or ticket; a secret
	P4Tickets          string
	P4Trust            string
	P4Charset          string
	P4Bin              string
	P4TrustFingerprint string
	P4TrustAny         bool
	P4CommandTimeout   time.Duration
	P4MaxConcurrent    int

	// Limits
	MaxBodyBytes       int64
	RateLimit          rate.Limit // requests/s for all clients; 0 = off
	RateBurst          int
	RateLimitPerClient rate.Limit // requests/s per client address; 0 = off
	RateBurstPerClient int
	MaxInFlight        int
	MaxInFlightWait    time.Duration

	// Bridge policy (passed through to bridge.Config)
	KeyPrefix         string
	UsernameRule      string // localpart | verbatim | replace
	GroupnameRule     string // replace | verbatim
	NewUserType       string // standard | operator | service
	NewUserAuthMethod string // "" = server default | perforce | perforce+2fa | ldap | ldap+2fa
	PasswordSync      bool
	AllowUserRename   bool // ALLOW_USER_RENAME: a userName change renames the Helix Core user
	DeprovisionGroup  string
	DeletePolicy      string        // delete | deactivate
	LockTTL           time.Duration // LOCK_TTL: a crashed replica's group lock is taken over after this
	ProtectedUsers    []string

	// Logging
	LogLevel  slog.Level
	LogFormat string // json | text

	// ConfigFile and EnvFile are the files actually read ("" = none).
	ConfigFile string
	EnvFile    string
	// Warnings are legal but risky choices, for the start-up log.
	Warnings []string

	fixedTokens []auth.Token // BEARER_TOKEN and BEARER_TOKENS: the tokens a reload of TokenFile keeps

	raw     map[string]string // setting name -> value as given
	sources map[string]string // setting name -> where it came from
}

// ConfigError lists every problem found in a configuration, each naming
// the setting and the fix, so that an operator fixes them in one round.
// No problem text ever contains a secret's value.
type ConfigError struct {
	Problems []string
}

func (e *ConfigError) Error() string {
	return "invalid configuration:\n  " + strings.Join(e.Problems, "\n  ")
}

// Where a value came from, for Redacted and the start-up log.
const (
	cfgSourceFlag    = "flag"
	cfgSourceEnv     = "environment"
	cfgSourceDotenv  = ".env"
	cfgSourceFile    = "config file"
	cfgSourceDefault = "default"
)

// Minimum length of a bearer token or OAuth client secret: 32 characters
// is 128+ bits from any reasonable generator (openssl rand -hex 16 and up).
const configMinSecretLen = 32

// configSetting describes one setting: its name (the environment variable;
// lower-cased it is the config-file key), default, and help.
type configSetting struct {
	name    string
	group   string
	def     string // default as text ("" = none)
	help    string
	secret  bool // never logged; no command-line flag
	boolean bool // a flag that takes no value
	flag    string
}

// configSettings is the table of settings, in documentation order. A
// function rather than a variable: the package holds no mutable state.
func configSettings() []configSetting {
	return []configSetting{
		{name: "CONFIG_FILE", group: "Sources", flag: "config", help: "config file (YAML, TOML or JSON); keys are these names in lower case"},
		{name: "ENV_FILE", group: "Sources", def: ".env", flag: "env-file", help: "dotenv file, read if present (required if named explicitly)"},
		{name: "DEV", group: "Mode", def: "false", boolean: true, help: "run against an embedded Helix Core emulator; prints a URL and token"},
		{name: "DRY_RUN", group: "Mode", def: "false", boolean: true, help: "log what would change in Helix Core without changing it"},

		{name: "BEARER_TOKEN", group: "Authentication", secret: true, help: "HAS-compatible token, named \"default\"; the IdP may send it as is or base64-encoded"},
		{name: "BEARER_TOKENS", group: "Authentication", secret: true, help: "named tokens for rotation: name=secret,name2=secret2"},
		{name: "BEARER_TOKEN_FILE", group: "Authentication", help: "file of tokens, one per line: name=secret or a bare secret; # comments; re-read when it changes"},
		{name: "OAUTH_CLIENTS", group: "Authentication", secret: true, help: "OAuth 2.0 client-credentials clients id:secret,id2:secret2; empty = no token endpoint"},
		{name: "OAUTH_TOKEN_TTL", group: "Authentication", def: "1h", help: "lifetime of tokens issued to OAuth clients"},

		{name: "LISTEN_ADDRESS", group: "HTTP", def: ":8080", flag: "listen", help: "address to serve on (127.0.0.1:8080 in dev mode)"},
		{name: "METRICS_ADDRESS", group: "HTTP", help: "separate address for /metrics; empty = the main listener"},
		{name: "TLS_CERT_FILE", group: "HTTP", help: "TLS certificate (PEM); set with TLS_KEY_FILE, or neither behind a TLS proxy"},
		{name: "TLS_KEY_FILE", group: "HTTP", help: "TLS private key (PEM)"},
		{name: "TRUSTED_PROXIES", group: "HTTP", help: "CIDRs of reverse proxies whose X-Forwarded-For is believed, comma-separated"},
		{name: "READ_TIMEOUT", group: "HTTP", def: "30s", help: "time to read a whole request"},
		{name: "WRITE_TIMEOUT", group: "HTTP", def: "90s", help: "time to answer a request; must exceed P4_COMMAND_TIMEOUT"},
		{name: "IDLE_TIMEOUT", group: "HTTP", def: "120s", help: "keep-alive idle time"},
		{name: "SHUTDOWN_GRACE", group: "HTTP", def: "25s", help: "time running requests get to finish on SIGTERM"},

		{name: "P4PORT", group: "Helix Core", help: "Helix Core server address, e.g. ssl:perforce:1666"},
		{name: "P4USER", group: "Helix Core", help: "super user the bridge runs as"},
		{name: "P4PASSWD", group: "Helix Core", secret: true, help: "its password or a ticket"},
		{name: "P4TICKETS", group: "Helix Core", help: "tickets file; default a private temporary file"},
		{name: "P4TRUST", group: "Helix Core", help: "trust file; default next to the tickets file"},
		{name: "P4CHARSET", group: "Helix Core", help: "character set, for Unicode-mode servers (e.g. utf8)"},
		{name: "P4BIN", group: "Helix Core", def: "p4", help: "the p4 executable"},
		{name: "P4_TRUST_FINGERPRINT", group: "Helix Core", help: "fingerprint of an ssl: server's certificate (p4d -Gf), pinned"},
		{name: "P4_TRUST_ANY", group: "Helix Core", def: "false", boolean: true, help: "trust whatever certificate an ssl: server presents (no pinning)"},
		{name: "P4_COMMAND_TIMEOUT", group: "Helix Core", def: "30s", help: "time limit of one p4 command"},
		{name: "P4_MAX_CONCURRENT", group: "Helix Core", def: "8", help: "p4 commands run at once"},

		{name: "MAX_BODY_BYTES", group: "Limits", def: "1MiB", help: "largest request body (bytes; KiB and MiB suffixes allowed)"},
		{name: "RATE_LIMIT", group: "Limits", def: "50", help: "requests per second for all clients together; 0 = no limit"},
		{name: "RATE_BURST", group: "Limits", help: "requests at once above RATE_LIMIT; default twice RATE_LIMIT"},
		{name: "RATE_LIMIT_PER_CLIENT", group: "Limits", def: "25", help: "requests per second per client address (Entra's own figure); 0 = no limit"},
		{name: "RATE_BURST_PER_CLIENT", group: "Limits", help: "burst per client; default twice RATE_LIMIT_PER_CLIENT"},
		{name: "MAX_IN_FLIGHT", group: "Limits", def: "32", help: "requests processed at once; more wait, then get 503"},
		{name: "MAX_IN_FLIGHT_WAIT", group: "Limits", def: "5s", help: "how long a request waits for a slot before 503"},

		{name: "KEY_PREFIX", group: "Provisioning policy", def: "p4scim.", help: "prefix of the p4 keys holding what Helix Core has no field for"},
		{name: "USERNAME_RULE", group: "Provisioning policy", def: "localpart", help: "SCIM userName -> Helix Core user: localpart | verbatim | replace"},
		{name: "GROUPNAME_RULE", group: "Provisioning policy", def: "replace", help: "SCIM displayName -> Helix Core group: replace | verbatim"},
		{name: "NEW_USER_TYPE", group: "Provisioning policy", def: "standard", help: "Type of created users: standard | operator | service"},
		{name: "NEW_USER_AUTH_METHOD", group: "Provisioning policy", help: "AuthMethod of created users; empty = server default"},
		{name: "PASSWORD_SYNC", group: "Provisioning policy", def: "true", boolean: true, help: "set SCIM passwords in Helix Core (p4 passwd)"},
		{name: "ALLOW_USER_RENAME", group: "Provisioning policy", def: "false", boolean: true, help: "a userName change renames the Helix Core user (p4 renameuser); the SCIM id stays"},
		{name: "DEPROVISION_GROUP", group: "Provisioning policy", help: "group deactivated users are moved into (deny it in protections); empty = none"},
		{name: "DELETE_POLICY", group: "Provisioning policy", def: "delete", help: "what SCIM DELETE does: delete | deactivate"},
		{name: "LOCK_TTL", group: "Provisioning policy", def: "30s", help: "a group lock a crashed replica left is taken over after this; must exceed the longest group write"},
		{name: "PROTECTED_USERS", group: "Provisioning policy", help: "users never changed through SCIM, comma-separated (P4USER always is)"},

		{name: "LOG_LEVEL", group: "Logging", def: "info", help: "debug | info | warn | error"},
		{name: "LOG_FORMAT", group: "Logging", def: "json", help: "json | text"},
	}
}

// configFlagName is a setting's command-line flag: the name in lower case
// with dashes (P4_COMMAND_TIMEOUT -> p4-command-timeout).
func configFlagName(s configSetting) string {
	return strings.ToLower(strings.ReplaceAll(s.name, "_", "-"))
}

// cfgFlagValue records a flag's text; validation happens with the other
// sources, so a flag error reads like any other.
type cfgFlagValue struct {
	set     map[string]string
	name    string
	boolean bool
}

func (f cfgFlagValue) String() string { return "" }
func (f cfgFlagValue) Set(v string) error {
	f.set[f.name] = v
	return nil
}
func (f cfgFlagValue) IsBoolFlag() bool { return f.boolean }

// cfgSecretFlag refuses a secret on the command line with a useful message
// rather than "flag provided but not defined". It records the problem
// instead of returning it, because the flag package quotes the value in
// its error, and the value is the secret.
type cfgSecretFlag struct {
	name     string
	problems *[]string
}

func (f cfgSecretFlag) String() string { return "" }
func (f cfgSecretFlag) Set(string) error {
	*f.problems = append(*f.problems, f.name+": not accepted on the command line, where every user can read it (ps); set it in the environment or the .env file")
	return nil
}

// newConfigFlagSet defines every flag, writing the values into set.
func newConfigFlagSet(set map[string]string, problems *[]string) *flag.FlagSet {
	fs := flag.NewFlagSet("p4scim serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, s := range configSettings() {
		if s.secret {
			fs.Var(cfgSecretFlag{s.name, problems}, configFlagName(s), "")
			continue
		}
		v := cfgFlagValue{set: set, name: s.name, boolean: s.boolean}
		fs.Var(v, configFlagName(s), s.help)
		if s.flag != "" && s.flag != configFlagName(s) {
			fs.Var(v, s.flag, "alias of --"+configFlagName(s))
		}
	}
	return fs
}

// WriteConfigUsage prints the settings: flags, names, defaults and help,
// grouped as in .env.example.
func WriteConfigUsage(w io.Writer) {
	fmt.Fprintf(w, "usage: p4scim serve [--dev] [--config FILE] [--env-file FILE] [--SETTING value ...]\n\n")
	fmt.Fprintf(w, "Each setting is a flag, an environment variable, a .env line or a config-file key,\n")
	fmt.Fprintf(w, "in that order of precedence. Secrets (*) are not accepted as flags.\n")
	group := ""
	for _, s := range configSettings() {
		if s.group != group {
			group = s.group
			fmt.Fprintf(w, "\n%s:\n", group)
		}
		flagText := "--" + configFlagName(s)
		if s.flag != "" && s.flag != configFlagName(s) {
			flagText = "--" + s.flag + ", " + flagText
		}
		name := s.name
		if s.secret {
			name, flagText = name+" (*)", ""
		}
		def := ""
		if s.def != "" {
			def = " (default " + s.def + ")"
		}
		fmt.Fprintf(w, "  %-24s %s\n      %s%s\n", name, flagText, s.help, def)
	}
}

// LoadConfig reads and validates the configuration from args (the flags
// after "serve"), environ (KEY=value pairs, as os.Environ returns) and the
// files named by them, read through fsys (afero.NewOsFs() in production;
// relative paths are then relative to the working directory).
//
// On --help it returns flag.ErrHelp; the caller prints WriteConfigUsage.
// Otherwise every problem found is reported in one *ConfigError, with the
// Config as far as it could be read (for `p4scim check`).
func LoadConfig(args, environ []string, fsys afero.Fs) (Config, error) {
	known := map[string]configSetting{}
	for _, s := range configSettings() {
		known[s.name] = s
	}
	var problems []string
	bad := func(name, format string, a ...any) {
		problems = append(problems, name+": "+fmt.Sprintf(format, a...))
	}

	// 1. Flags.
	flags := map[string]string{}
	var flagProblems []string
	fset := newConfigFlagSet(flags, &flagProblems)
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, flag.ErrHelp
		}
		return Config{}, &ConfigError{Problems: []string{"command line: " + err.Error()}}
	}
	if fset.NArg() > 0 {
		return Config{}, &ConfigError{Problems: []string{fmt.Sprintf("command line: unexpected argument %q; settings are given as --name value", fset.Arg(0))}}
	}
	if len(flagProblems) > 0 {
		return Config{}, &ConfigError{Problems: flagProblems}
	}

	// 2. Environment: only the names we know; the rest is not ours.
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			if _, ours := known[k]; ours {
				env[k] = v
			}
		}
	}

	// 3. The .env file. Its unknown names are ignored: the same file
	// commonly configures HAS too.
	dotenv := map[string]string{}
	cfg := Config{}
	envFile, explicit := cfgFirst(flags["ENV_FILE"], env["ENV_FILE"]), true
	if envFile == "" {
		envFile, explicit = ".env", false
	}
	if b, err := afero.ReadFile(fsys, envFile); err == nil {
		m, perr := godotenv.UnmarshalBytes(b)
		if perr != nil {
			// godotenv quotes the text near the error, which may be a
			// secret: report the file, not the parser's message.
			bad("ENV_FILE", "%s is not a valid dotenv file (NAME=value lines; quote values with spaces); the parser's message is withheld because it quotes the file", envFile)
		}
		for k, v := range m {
			if _, ours := known[k]; ours {
				dotenv[k] = v
			}
		}
		cfg.EnvFile = envFile
	} else if explicit || !errors.Is(err, os.ErrNotExist) {
		bad("ENV_FILE", "cannot read %s: %v; fix the path or remove the setting", envFile, cfgPathErr(err))
	}

	// 4. The config file.
	file := map[string]string{}
	if path := cfgFirst(flags["CONFIG_FILE"], env["CONFIG_FILE"], dotenv["CONFIG_FILE"]); path != "" {
		m, errs := readConfigFile(fsys, path, known)
		file = m
		problems = append(problems, errs...)
		if len(errs) == 0 {
			cfg.ConfigFile = path
		}
	}

	// Merge by precedence, remembering where each value came from.
	cfg.raw, cfg.sources = map[string]string{}, map[string]string{}
	for _, s := range configSettings() {
		for _, layer := range []struct {
			m      map[string]string
			source string
		}{{flags, cfgSourceFlag}, {env, cfgSourceEnv}, {dotenv, cfgSourceDotenv}, {file, cfgSourceFile}} {
			if v := strings.TrimSpace(layer.m[s.name]); v != "" {
				cfg.raw[s.name], cfg.sources[s.name] = v, layer.source
				break
			}
		}
		if _, ok := cfg.raw[s.name]; !ok && s.def != "" {
			cfg.raw[s.name], cfg.sources[s.name] = s.def, cfgSourceDefault
		}
	}

	p := configParser{raw: cfg.raw}
	cfg.parse(&p, fsys)
	problems = append(problems, p.problems()...)
	if len(problems) > 0 {
		return cfg, &ConfigError{Problems: problems}
	}
	return cfg, nil
}

// readConfigFile reads a flat YAML/TOML/JSON file into setting names.
func readConfigFile(fsys afero.Fs, path string, known map[string]configSetting) (map[string]string, []string) {
	ext := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	switch ext {
	case "yaml", "yml", "toml", "json":
	default:
		return nil, []string{fmt.Sprintf("CONFIG_FILE: %s: unsupported type %q; use a .yaml, .yml, .toml or .json file", path, ext)}
	}
	b, err := afero.ReadFile(fsys, path)
	if err != nil {
		return nil, []string{fmt.Sprintf("CONFIG_FILE: cannot read %s: %v; fix the path", path, cfgPathErr(err))}
	}
	v := viper.New()
	v.SetConfigType(ext)
	if err := v.ReadConfig(bytes.NewReader(b)); err != nil {
		return nil, []string{fmt.Sprintf("CONFIG_FILE: %s is not valid %s: %v", path, strings.ToUpper(ext), err)}
	}
	out := map[string]string{}
	var problems []string
	keys := v.AllKeys()
	sort.Strings(keys)
	for _, k := range keys {
		name := strings.ToUpper(k)
		if _, ok := known[name]; !ok || name == "CONFIG_FILE" || name == "ENV_FILE" {
			// A typo would otherwise silently leave a default in force.
			problems = append(problems, fmt.Sprintf("CONFIG_FILE: %s: unknown key %q; keys are the setting names in lower case, flat (e.g. p4port, rate_limit); see p4scim serve --help", path, k))
			continue
		}
		switch val := v.Get(k).(type) {
		case nil:
		case []any:
			parts := make([]string, 0, len(val))
			for _, e := range val {
				parts = append(parts, fmt.Sprint(e))
			}
			out[name] = strings.Join(parts, ",")
		case map[string]any:
			problems = append(problems, fmt.Sprintf("CONFIG_FILE: %s: key %q must be a plain value, not a table", path, k))
		default:
			out[name] = fmt.Sprint(val)
		}
	}
	return out, problems
}

// cfgPathErr drops the operation from a file error: "open x: no such file"
// becomes "no such file or directory", since the caller names the file.
func cfgPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func cfgFirst(vs ...string) string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// configParser turns raw values into typed ones, collecting problems.
type configParser struct {
	raw  map[string]string
	list []string
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
func (c *Config) parse(p *configParser, fsys afero.Fs) {
	c.Dev = p.boolean("DEV")
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
				p.fail(name, "cannot read %s: %v; fix the path or the file's permissions", p.str(name), cfgPathErr(err))
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
	type source = tokenSource
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
		c.fixedTokens = append(c.fixedTokens, s.tok)
	}
	if path := p.str("BEARER_TOKEN_FILE"); path != "" {
		c.TokenFile = path
		b, err := afero.ReadFile(fsys, path)
		if err != nil {
			p.fail("BEARER_TOKEN_FILE", "cannot read %s: %v; fix the path or the file's permissions", path, cfgPathErr(err))
		}
		for _, t := range parseTokenFile(string(b)) {
			toks = append(toks, source{"BEARER_TOKEN_FILE", t})
		}
	}
	c.Tokens = checkTokens(toks, p.fail)

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

	if len(c.Tokens) == 0 && len(c.OAuthClients) == 0 && !c.Dev {
		p.fail("BEARER_TOKEN", "missing; set BEARER_TOKEN (or BEARER_TOKENS, BEARER_TOKEN_FILE) to a random secret of at least %d characters, e.g. the output of: openssl rand -base64 32", configMinSecretLen)
	}
}

// tokenSource is a token and the setting it came from.
type tokenSource struct {
	setting string
	tok     auth.Token
}

// checkTokens reports every problem of a token set through fail (a name or
// a secret used twice, a weak secret) and returns the tokens. Problems name
// tokens, never show a secret. Start-up and the reload of BEARER_TOKEN_FILE
// (tokens.go) apply the same rules.
func checkTokens(toks []tokenSource, fail func(setting, format string, a ...any)) []auth.Token {
	out := make([]auth.Token, 0, len(toks))
	names, secrets := map[string]bool{}, map[[sha256.Size]byte]string{}
	for _, s := range toks {
		t := s.tok
		if names[t.Name] {
			fail(s.setting, "token name %q is used twice; give each token its own name", t.Name)
		}
		names[t.Name] = true
		sum := sha256.Sum256([]byte(t.Secret))
		if other, dup := secrets[sum]; dup {
			fail(s.setting, "token %q has the same secret as token %q; remove one", t.Name, other)
		}
		secrets[sum] = t.Name
		if why := weakSecret(t.Secret); why != "" {
			fail(s.setting, "token %q %s; generate one with: openssl rand -base64 32", t.Name, why)
		}
		out = append(out, t)
	}
	return out
}

// parseTokenFile reads BEARER_TOKEN_FILE: one token per line, name=secret
// or a bare secret (HAS's format: the file holds just the token). Blank
// lines and # comments are skipped. Bare secrets are named "file", or
// "file-N" (N the line) when there are several.
//
// A line is named only if the part before the first '=' is a valid name
// and something other than '=' follows it: a base64 secret's '=' padding
// therefore never reads as a name. A bare secret with '=' in the middle
// must be given a name.
func parseTokenFile(text string) []auth.Token {
	type line struct {
		n      int
		name   string
		secret string
	}
	var lines []line
	bare := 0
	for i, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		name, secret, ok := strings.Cut(l, "=")
		if ok && isTokenName(strings.TrimSpace(name)) && strings.Trim(secret, "= ") != "" {
			lines = append(lines, line{i + 1, strings.TrimSpace(name), strings.TrimSpace(secret)})
			continue
		}
		lines = append(lines, line{n: i + 1, secret: l})
		bare++
	}
	out := make([]auth.Token, 0, len(lines))
	for _, l := range lines {
		name := l.name
		if name == "" {
			name = "file"
			if bare > 1 {
				name = "file-" + strconv.Itoa(l.n)
			}
		}
		out = append(out, auth.Token{Name: name, Secret: l.secret})
	}
	return out
}

func isTokenName(s string) bool {
	return regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,31}$`).MatchString(s)
}

func isClientID(s string) bool {
	return regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`).MatchString(s)
}

// weakSecret says why a secret is unfit for a service on the internet, or
// returns "". Beyond length it refuses what documentation and examples
// put in circulation (HAS's shipped 'keyboard cat' among them) and values
// too regular to be random, in plain or base64 form.
func weakSecret(s string) string {
	if len(s) < configMinSecretLen {
		return fmt.Sprintf("is shorter than %d characters", configMinSecretLen)
	}
	candidates := []string{strings.ToLower(s)}
	if d, err := base64.StdEncoding.DecodeString(s); err == nil {
		candidates = append(candidates, strings.ToLower(string(d)))
	}
	for _, c := range candidates {
		norm := strings.Map(func(r rune) rune {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				return r
			}
			return -1
		}, c)
		for _, w := range wellKnownSecrets() {
			if norm == w || strings.Trim(norm, "0123456789") == w {
				return "is a well-known example value"
			}
		}
	}
	// Repetitions ("aaaa…", "abcabc…"), plain or base64-encoded, and tiny
	// alphabets are no secret however long; 32 random hex digits show
	// about 14 distinct characters.
	for _, c := range candidates {
		if isRepetition(c) {
			return "is a repetition, not a random value"
		}
	}
	distinct := map[rune]bool{}
	for _, r := range s {
		distinct[r] = true
	}
	if len(distinct) < 8 {
		return "uses too few distinct characters to be random"
	}
	return ""
}

func isRepetition(s string) bool {
	for period := 1; period <= len(s)/2; period++ {
		if strings.Repeat(s[:period], len(s)/period+1)[:len(s)] == s {
			return true
		}
	}
	return false
}

// wellKnownSecrets are refused whatever their length, compared after
// lower-casing and dropping everything but letters and digits.
func wellKnownSecrets() []string {
	return []string{
		"changeme", "secret", "password", "token", "bearer", "bearertoken", "test", "example",
		"keyboardcat", "dangermouse", "surfingboar", // HAS defaults.env and test tokens (peers.md A12, A14)
		"replacewithoutputofopensslrandbase6432", // the placeholder in .env.example
		"abcdefghijklmnopqrstuvwxyz0123456789", "0123456789abcdefghijklmnopqrstuvwxyz",
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
		"01234567890123456789012345678901", "12345678901234567890123456789012",
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
	} else {
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
	c.MaxInFlightWait = p.duration("MAX_IN_FLIGHT_WAIT", 0)
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
	c.AllowUserRename = p.boolean("ALLOW_USER_RENAME")
	c.DeprovisionGroup = p.str("DEPROVISION_GROUP")
	if c.DeprovisionGroup != "" {
		if why := helixNameProblem(c.DeprovisionGroup); why != "" {
			p.fail("DEPROVISION_GROUP", "%q %s; use a plain Helix Core group name", c.DeprovisionGroup, why)
		}
	}
	c.DeletePolicy = p.oneOf("DELETE_POLICY", "delete", "deactivate")
	c.LockTTL = p.duration("LOCK_TTL", 100*time.Millisecond)
	for _, u := range cfgList(p.str("PROTECTED_USERS")) {
		if why := helixNameProblem(u); why != "" {
			p.fail("PROTECTED_USERS", "%q %s; list Helix Core user names, comma-separated", u, why)
			continue
		}
		c.ProtectedUsers = append(c.ProtectedUsers, u)
	}
}

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

// Redacted returns every setting as text, secrets replaced, for the
// start-up log and `p4scim check`: value and source ("P4PORT":
// "ssl:perforce:1666 (environment)"). Token and client names are shown,
// never their secrets.
func (c Config) Redacted() map[string]string {
	out := map[string]string{}
	for _, s := range configSettings() {
		v, ok := c.raw[s.name]
		if !ok {
			continue
		}
		switch {
		case s.name == "BEARER_TOKEN":
			v = "<redacted>"
		case s.name == "BEARER_TOKENS":
			var names []string
			for _, e := range cfgList(v) {
				// A malformed entry may be a bare secret: show no part of it.
				n, _, ok := strings.Cut(e, "=")
				if n = strings.TrimSpace(n); !ok || !isTokenName(n) {
					n = "?"
				}
				names = append(names, n+"=<redacted>")
			}
			v = strings.Join(names, ",")
		case s.name == "OAUTH_CLIENTS":
			var ids []string
			for _, e := range cfgList(v) {
				id, _, ok := strings.Cut(e, ":")
				if id = strings.TrimSpace(id); !ok || !isClientID(id) {
					id = "?"
				}
				ids = append(ids, id+":<redacted>")
			}
			v = strings.Join(ids, ",")
		case s.secret:
			v = "<redacted>"
		}
		out[s.name] = v + " (" + c.sources[s.name] + ")"
	}
	if len(c.Tokens) > 0 {
		names := make([]string, 0, len(c.Tokens))
		for _, t := range c.Tokens {
			names = append(names, t.Name)
		}
		out["tokens"] = strings.Join(names, ",")
	}
	return out
}

// String renders Redacted as sorted NAME=value lines. Config is printed
// only through it, so a stray %v never shows a secret.
func (c Config) String() string {
	r := c.Redacted()
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, r[k])
	}
	return b.String()
}

// GoString keeps %#v from printing the secret fields.
func (c Config) GoString() string {
	return "main.Config{" + strings.ReplaceAll(strings.TrimSpace(c.String()), "\n", ", ") + "}"
}

// LogValue makes slog print the redacted form.
func (c Config) LogValue() slog.Value {
	r := c.Redacted()
	attrs := make([]slog.Attr, 0, len(r))
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		attrs = append(attrs, slog.String(k, r[k]))
	}
	return slog.GroupValue(attrs...)
}

// P4Config returns the p4 client settings. Observer is left to the caller.
func (c Config) P4Config() p4.Config {
	return p4.Config{
		Bin: c.P4Bin, Port: c.P4Port, User: c.P4User, Password: c.P4Passwd,
		Tickets: c.P4Tickets, Trust: c.P4Trust, Charset: c.P4Charset,
		TrustFingerprint: c.P4TrustFingerprint, TrustAny: c.P4TrustAny,
		CommandTimeout: c.P4CommandTimeout, MaxConcurrent: c.P4MaxConcurrent,
	}
}

// BridgeConfig returns the provisioning policy. P4User, CaseSensitive,
// Logger and the other run-time fields are left to the caller.
func (c Config) BridgeConfig() bridge.Config {
	return bridge.Config{
		P4User:              c.P4User,
		KeyPrefix:           c.KeyPrefix,
		UserNameRule:        bridge.NameRule(c.UsernameRule),
		GroupNameRule:       bridge.NameRule(c.GroupnameRule),
		NewUserType:         c.NewUserType,
		NewUserAuth:         c.NewUserAuthMethod,
		DisablePasswordSync: !c.PasswordSync,
		AllowUserRename:     c.AllowUserRename,
		DenyGroup:           c.DeprovisionGroup,
		Delete:              bridge.DeletePolicy(c.DeletePolicy),
		LockTTL:             c.LockTTL,
		Protected:           slices.Clone(c.ProtectedUsers),
	}
}
