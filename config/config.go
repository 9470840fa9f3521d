// Package config is p4scim's configuration: every setting (Settings, one
// table), where its value comes from (viper, with pflag for the command
// line), and its validation (parse.go). Load is hermetic (it reads the arguments, environment
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
//
// A config file with a top-level provisioning table is HAS's multi-IdP,
// multi-server form (provisioning.go), read as HAS writes it (TOML, or
// YAML or JSON of the same shape): each [[provisioning.providers]] entry is
// one IdP's bearer token (bearer_token or bearer_token_file) named by its
// domain, and each [[provisioning.servers]] entry is one Helix Core server
// (p4port, p4user, p4passwd, domains, leader, and the per-server settings
// such as key_prefix or username_rule) with the global settings below its
// own. In such a file HAS's own top-level keys (svc_base_uri, [logging],
// ...) are skipped, while the lower-case setting names keep their meaning;
// P4PORT, the BEARER_TOKEN settings, OAUTH_CLIENTS and DEV conflict with
// it. Config.Servers and Config.Routes then describe the servers and which
// leads each domain; in the single-server form Servers holds one server,
// "default", serving the domain "default".
//
// The table (settings.go) and the parse functions of each group (parse.go)
// are kept apart on purpose: the [provisioning] form reuses the table's
// names as keys and the Helix Core and policy parse functions per server.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/joho/godotenv"
	"github.com/spf13/afero"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"golang.org/x/time/rate"

	"github.com/p4scim/p4scim/scimhandlers/auth"
)

// Config is the daemon's validated configuration. Load fills it;
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
	LicenseRefresh     time.Duration // LICENSE_REFRESH; 0 = no licence gauges

	// Limits
	MaxBodyBytes       int64
	RateLimit          rate.Limit // requests/s for all clients; 0 = off
	RateBurst          int
	RateLimitPerClient rate.Limit // requests/s per client address; 0 = off
	RateBurstPerClient int
	MaxInFlight        int           // admission slots; default 2 × P4MaxConcurrent
	MaxInFlightWait    time.Duration // longest queue wait
	MaxQueued          int
	AuthFailureLimit   float64 // failed authentications/s per address; 0 = off
	AuthFailureBurst   int
	ProbeLimit         float64 // probe requests/s per address; 0 = off
	ProbeBurst         int
	ReadyInterval      time.Duration

	// Bridge policy (passed through to bridge.Config)
	KeyPrefix         string
	UsernameRule      string // localpart | verbatim | replace
	GroupnameRule     string // replace | verbatim
	NewUserType       string // standard | operator | service
	NewUserAuthMethod string // "" = server default | perforce | perforce+2fa | ldap | ldap+2fa
	PasswordSync      bool
	DeprovisionGroup  string
	DeletePolicy      string        // delete | deactivate
	DeactivatePolicy  string        // DEACTIVATE_POLICY: keep | delete
	DeleteAfter       time.Duration // DEACTIVATE_DELETE_AFTER: grace period before a deactivated user is deleted
	ReclaimInterval   time.Duration // RECLAIM_INTERVAL: the daemon's reclaim sweep (DEACTIVATE_POLICY=delete)
	LockTTL           time.Duration // LOCK_TTL: a crashed replica's group lock is taken over after this
	AllowUserRename   bool          // ALLOW_USER_RENAME: a userName change renames the Helix Core user
	ProtectedUsers    []string
	ProtectedGroups   []string
	// AllowPrivilegedUsers hands users with admin or super in the
	// protections table to the IdP; off by default.
	AllowPrivilegedUsers bool

	// Logging
	LogLevel  slog.Level
	LogFormat string // json | text

	// ConfigFile and EnvFile are the files actually read ("" = none).
	ConfigFile string
	EnvFile    string
	// Warnings are legal but risky choices, for the start-up log.
	Warnings []string

	FixedTokens []auth.Token // BEARER_TOKEN and BEARER_TOKENS: the tokens a reload of TokenFile keeps

	// Provisioning: the servers and tokens come from the config file's
	// [provisioning] table (HAS's multi-IdP, multi-server form).
	Provisioning bool
	// Servers are the Helix Core servers; always at least one after a
	// successful Load (in the single-server form one, named "default",
	// serving the domain "default").
	Servers []Server

	provDomains []string // the providers' domains, in configuration order
	provHash    [32]byte // of the [provisioning] servers (secrets included) and domains, for Changed; not of the tokens, which a reload applies

	raw     map[string]string // setting name -> value as given
	sources map[string]string // setting name -> where it came from
}

// Error lists every problem found in a configuration, each naming
// the setting and the fix, so that an operator fixes them in one round.
// No problem text ever contains a secret's value.
type Error struct {
	Problems []string
}

func (e *Error) Error() string {
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

// ErrHelp is returned by Load for --help or -h; the caller prints
// WriteUsage.
var ErrHelp = pflag.ErrHelp

// Load reads and validates the configuration from args (the flags after
// the command), environ (KEY=value pairs, as os.Environ returns) and the
// files named by them, read through fsys (afero.NewOsFs() in production;
// relative paths are then relative to the working directory).
//
// Viper merges the sources: the flags are its pflag layer, the defaults
// its default layer, and the config file, the .env and the environment
// are merged, in that order, into its configuration layer, so that each
// overrides the one before. (Viper's own environment layer would read the
// process's environment, and Load reads only the environ it is given.)
//
// On --help it returns ErrHelp. Otherwise every problem found is reported
// in one *Error, with the Config as far as it could be read (for `p4scim
// check`).
func Load(args, environ []string, fsys afero.Fs) (Config, error) {
	known := map[string]Setting{}
	for _, s := range Settings() {
		known[s.Name] = s
	}
	var problems []string
	bad := func(name, format string, a ...any) {
		problems = append(problems, name+": "+fmt.Sprintf(format, a...))
	}
	v := viper.New()

	// 1. The command line.
	var flagProblems []string
	fset := newFlagSet(&flagProblems)
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return Config{}, ErrHelp
		}
		return Config{}, &Error{Problems: []string{"command line: " + flagError(err)}}
	}
	if fset.NArg() > 0 {
		return Config{}, &Error{Problems: []string{fmt.Sprintf("command line: unexpected argument %q; settings are given as --name value", fset.Arg(0))}}
	}
	if len(flagProblems) > 0 {
		return Config{}, &Error{Problems: flagProblems}
	}
	flags := map[string]string{}
	for _, s := range Settings() {
		f := fset.Lookup(FlagName(s))
		if s.Secret || !f.Changed {
			continue
		}
		val := strings.TrimSpace(f.Value.String())
		if val == "" {
			f.Changed = false // empty means unset: the value below shows through
			continue
		}
		_ = f.Value.Set(val) // a string flag takes any text
		flags[s.Name] = val
		if err := v.BindPFlag(key(s), f); err != nil {
			return Config{}, fmt.Errorf("binding --%s: %w", f.Name, err)
		}
	}

	// 2. The environment: only the names we know are ours; the others are
	// looked at only for near-misses of ours.
	env := map[string]string{}
	var envNames []string
	for _, kv := range environ {
		if k, val, ok := strings.Cut(kv, "="); ok {
			envNames = append(envNames, k)
			if _, ours := known[k]; ours {
				env[k] = val
			}
		}
	}

	// 3. The .env file. HAS's names in it are silent (the same file commonly
	// configures HAS too); other unknown names are warned about.
	dotenv := map[string]string{}
	var dotenvNames []string
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
		for k, val := range m {
			dotenvNames = append(dotenvNames, k)
			if _, ours := known[k]; ours {
				dotenv[k] = val
			}
		}
		cfg.EnvFile = envFile
	} else if explicit || !errors.Is(err, os.ErrNotExist) {
		bad("ENV_FILE", "cannot read %s: %v; fix the path or remove the setting", envFile, PathErr(err))
	}
	cfg.Warnings = append(cfg.Warnings, nameWarnings(envNames, dotenvNames, envFile)...)

	// 4. The config file.
	file := map[string]string{}
	var prov *provisioningFile
	if path := cfgFirst(flags["CONFIG_FILE"], env["CONFIG_FILE"], dotenv["CONFIG_FILE"]); path != "" {
		m, pf, errs := readConfigFile(fsys, path, known)
		file, prov = m, pf
		problems = append(problems, errs...)
		if len(errs) == 0 {
			cfg.ConfigFile = path
		}
	}

	// Into viper, lowest layer first. An empty value counts as unset.
	layers := []struct {
		m      map[string]string
		source string
	}{{flags, cfgSourceFlag}, {env, cfgSourceEnv}, {dotenv, cfgSourceDotenv}, {file, cfgSourceFile}}
	for i := len(layers) - 1; i >= 1; i-- {
		m := map[string]any{}
		for name, val := range layers[i].m {
			if val = strings.TrimSpace(val); val != "" {
				m[strings.ToLower(name)] = val
			}
		}
		if err := v.MergeConfigMap(m); err != nil {
			return Config{}, fmt.Errorf("merging the %s: %w", layers[i].source, err)
		}
	}
	for _, s := range Settings() {
		if s.Default != "" {
			v.SetDefault(key(s), s.Default)
		}
	}

	// The values, and where each came from (viper does not say).
	cfg.raw, cfg.sources = map[string]string{}, map[string]string{}
	for _, s := range Settings() {
		source := ""
		for _, l := range layers {
			if strings.TrimSpace(l.m[s.Name]) != "" {
				source = l.source
				break
			}
		}
		if source == "" && s.Default != "" {
			source = cfgSourceDefault
		}
		if source != "" {
			cfg.raw[s.Name], cfg.sources[s.Name] = v.GetString(key(s)), source
		}
	}

	p := configParser{raw: cfg.raw}
	cfg.parse(&p, fsys, prov)
	problems = append(problems, p.problems()...)
	if len(problems) > 0 {
		return cfg, &Error{Problems: problems}
	}
	return cfg, nil
}

// flagError is pflag's error, with the flag probably meant for an unknown
// one.
func flagError(err error) string {
	var ne *pflag.NotExistError
	if errors.As(err, &ne) {
		names := make([]string, 0, len(Settings()))
		for _, s := range Settings() {
			names = append(names, FlagName(s))
		}
		if near := nearest(ne.GetSpecifiedName(), names); near != "" {
			return err.Error() + "; did you mean --" + near + "?"
		}
		return err.Error() + "; see --help"
	}
	return err.Error()
}

// readConfigFile reads a YAML/TOML/JSON file into setting names. A file
// with a top-level provisioning table is HAS's: its [provisioning] is read
// too (provisioning.go), and its top-level keys that are not settings of
// p4scim (HAS's own) are skipped rather than refused.
func readConfigFile(fsys afero.Fs, path string, known map[string]Setting) (map[string]string, *provisioningFile, []string) {
	ext := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	switch ext {
	case "yaml", "yml", "toml", "json":
	default:
		return nil, nil, []string{fmt.Sprintf("CONFIG_FILE: %s: unsupported type %q; use a .yaml, .yml, .toml or .json file", path, ext)}
	}
	b, err := afero.ReadFile(fsys, path)
	if err != nil {
		return nil, nil, []string{fmt.Sprintf("CONFIG_FILE: cannot read %s: %v; fix the path", path, PathErr(err))}
	}
	v := viper.New()
	v.SetConfigType(ext)
	if err := v.ReadConfig(bytes.NewReader(b)); err != nil {
		return nil, nil, []string{fmt.Sprintf("CONFIG_FILE: %s is not valid %s: %v", path, strings.ToUpper(ext), err)}
	}
	out := map[string]string{}
	var prov *provisioningFile
	var problems []string
	table, hasForm := v.Get("provisioning").(map[string]any)
	if hasForm {
		prov, problems = readProvisioning(table)
	}
	keys := v.AllKeys()
	sort.Strings(keys)
	for _, k := range keys {
		if hasForm && (k == "provisioning" || strings.HasPrefix(k, "provisioning.")) {
			continue
		}
		name := strings.ToUpper(k)
		if _, ok := known[name]; !ok || name == "CONFIG_FILE" || name == "ENV_FILE" {
			if hasForm && !ok {
				continue // HAS's own setting
			}
			// A typo would otherwise silently leave a default in force.
			problems = append(problems, fmt.Sprintf("CONFIG_FILE: %s: unknown key %q; keys are the setting names in lower case, flat (e.g. p4port, rate_limit); see p4scim serve --help", path, k))
			continue
		}
		val, ok := plainValue(v.Get(k))
		if !ok {
			problems = append(problems, fmt.Sprintf("CONFIG_FILE: %s: key %q must be a plain value, not a table", path, k))
			continue
		}
		if val != "" {
			out[name] = val
		}
	}
	return out, prov, problems
}

// PathErr drops the operation from a file error: "open x: no such file"
// becomes "no such file or directory", since the caller names the file.
func PathErr(err error) error {
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
