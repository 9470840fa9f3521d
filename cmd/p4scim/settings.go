package main

import (
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"
	"github.com/p4scim/p4scim/bridge"
	"github.com/p4scim/p4scim/p4"
	"github.com/p4scim/p4scim/scimhandlers/auth"
)

// settings is the daemon's validated configuration.
//
// Precedence, highest first: command-line flags, the process environment,
// the .env file (--env-file, default ./.env when present), defaults. The
// names are HAS's where they overlap (BEARER_TOKEN, P4PORT, P4USER,
// P4PASSWD, P4TICKETS, P4TRUST, P4CHARSET), so one .env serves both.
type settings struct {
	Dev           bool
	Listen        string
	TLSCert       string
	TLSKey        string
	Tokens        []auth.Token
	P4            p4.Config
	Bridge        bridge.Config
	MaxBody       int64
	RateOverall   float64
	RatePerClient float64
	MaxInFlight   int
	LogLevel      slog.Level
	ReadTimeout   time.Duration
	WriteTimeout  time.Duration
	IdleTimeout   time.Duration
	ShutdownGrace time.Duration
}

// minTokenLength keeps guessable tokens out of a daemon on the internet.
const minTokenLength = 32

// wellKnownTokens are refused outright: examples from documentation that
// end up in production.
var wellKnownTokens = []string{"changeme", "secret", "password", "token", "bearer", "test", "example"}

// env looks settings up: flags first, then the environment, then .env.
type env struct {
	flags   map[string]string
	environ map[string]string
	dotenv  map[string]string
}

func (e env) get(name string) string {
	if v, ok := e.flags[name]; ok {
		return v
	}
	if v, ok := e.environ[name]; ok {
		return v
	}
	return e.dotenv[name]
}

func loadSettings(args, environ []string, out io.Writer) (settings, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(out)
	dev := fs.Bool("dev", false, "run against an embedded Helix Core emulator (demo and development)")
	listen := fs.String("listen", "", "listen address (LISTEN_ADDRESS), e.g. :8080")
	envFile := fs.String("env-file", ".env", "file of NAME=value settings, read if present")
	fs.Usage = func() {
		fmt.Fprintf(out, "usage: p4scim serve [--dev] [--listen ADDR] [--env-file FILE]\n\nSettings come from flags, the environment and the .env file; see .env.example.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return settings{}, errHelp
		}
		return settings{}, err
	}
	e := env{flags: map[string]string{}, environ: map[string]string{}, dotenv: map[string]string{}}
	if *listen != "" {
		e.flags["LISTEN_ADDRESS"] = *listen
	}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			e.environ[k] = v
		}
	}
	if m, err := godotenv.Read(*envFile); err == nil {
		e.dotenv = m
	} else if !errors.Is(err, os.ErrNotExist) {
		return settings{}, fmt.Errorf("--env-file %s: %w", *envFile, err)
	}
	return parseSettings(e, *dev)
}

// parseSettings validates every setting and reports all problems at
// once, each naming the setting and the fix.
func parseSettings(e env, dev bool) (settings, error) {
	var problems []string
	bad := func(name, format string, args ...any) {
		problems = append(problems, name+": "+fmt.Sprintf(format, args...))
	}
	str := func(name, def string) string {
		if v := strings.TrimSpace(e.get(name)); v != "" {
			return v
		}
		return def
	}
	boolean := func(name string, def bool) bool {
		v := str(name, "")
		if v == "" {
			return def
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad(name, "%q is not a boolean; use true or false", v)
		}
		return b
	}
	duration := func(name string, def time.Duration) time.Duration {
		v := str(name, "")
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			bad(name, "%q is not a positive duration; use e.g. 30s or 2m", v)
			return def
		}
		return d
	}
	number := func(name string, def float64) float64 {
		v := str(name, "")
		if v == "" {
			return def
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			bad(name, "%q is not a positive number", v)
			return def
		}
		return f
	}

	s := settings{Dev: dev || boolean("DEV", false)}
	s.Listen = str("LISTEN_ADDRESS", ":8080")
	if s.Dev && e.get("LISTEN_ADDRESS") == "" {
		s.Listen = "127.0.0.1:8080" // a demo is not for the network
	}
	s.TLSCert, s.TLSKey = str("TLS_CERT_FILE", ""), str("TLS_KEY_FILE", "")
	if (s.TLSCert == "") != (s.TLSKey == "") {
		bad("TLS_CERT_FILE/TLS_KEY_FILE", "set both (TLS) or neither (plain HTTP behind a TLS proxy)")
	}

	s.Tokens = parseTokens(str("BEARER_TOKEN", ""), "default")
	if file := str("BEARER_TOKEN_FILE", ""); file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			bad("BEARER_TOKEN_FILE", "cannot read %s: %v", file, err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			s.Tokens = append(s.Tokens, parseTokens(strings.TrimSpace(line), "file"+strconv.Itoa(i+1))...)
		}
	}
	for _, t := range s.Tokens {
		switch {
		case len(t.Secret) < minTokenLength:
			bad("BEARER_TOKEN", "token %q is shorter than %d characters; generate one with: openssl rand -hex 32", t.Name, minTokenLength)
		case isWellKnown(t.Secret):
			bad("BEARER_TOKEN", "token %q is a well-known value; generate one with: openssl rand -hex 32", t.Name)
		}
	}
	if len(s.Tokens) == 0 && !s.Dev {
		bad("BEARER_TOKEN", "missing; set it (or BEARER_TOKEN_FILE) to a random secret, e.g. openssl rand -hex 32")
	}

	s.P4 = p4.Config{
		Bin: str("P4BIN", "p4"), Port: str("P4PORT", ""), User: str("P4USER", ""), Password: e.get("P4PASSWD"),
		Tickets: str("P4TICKETS", ""), Trust: str("P4TRUST", ""), Charset: str("P4CHARSET", ""),
		TrustFingerprint: str("P4_TRUST_FINGERPRINT", ""), TrustAny: boolean("P4_TRUST_ANY", false),
		CommandTimeout: duration("P4_COMMAND_TIMEOUT", 30*time.Second),
		MaxConcurrent:  int(number("P4_MAX_CONCURRENT", 8)),
	}
	if !s.Dev {
		if s.P4.Port == "" {
			bad("P4PORT", "missing; set it to the Helix Core server address, e.g. ssl:perforce:1666")
		}
		if s.P4.User == "" {
			bad("P4USER", "missing; set it to a Helix Core super user for the bridge")
		}
		if s.P4.Password == "" && s.P4.Tickets == "" {
			bad("P4PASSWD", "missing; set it to the P4USER's password or ticket, or point P4TICKETS at a tickets file with a valid ticket")
		}
	}

	userRule, err := bridge.ParseNameRule(str("USERNAME_RULE", string(bridge.RuleLocalPart)))
	if err != nil {
		bad("USERNAME_RULE", "%v", err)
	}
	groupRule, err := bridge.ParseNameRule(str("GROUPNAME_RULE", string(bridge.RuleReplace)))
	if err != nil {
		bad("GROUPNAME_RULE", "%v", err)
	}
	deletePolicy := bridge.DeletePolicy(str("DELETE_POLICY", string(bridge.DeleteRemoves)))
	if deletePolicy != bridge.DeleteRemoves && deletePolicy != bridge.DeleteDeactivates {
		bad("DELETE_POLICY", "%q is not a policy; use delete or deactivate", deletePolicy)
	}
	userType := str("NEW_USER_TYPE", "standard")
	if userType != "standard" && userType != "service" && userType != "operator" {
		bad("NEW_USER_TYPE", "%q is not a Helix Core user type; use standard, service or operator", userType)
	}
	authMethod := str("NEW_USER_AUTH_METHOD", "")
	switch authMethod {
	case "", "perforce", "perforce+2fa", "ldap", "ldap+2fa":
	default:
		bad("NEW_USER_AUTH_METHOD", "%q is not an AuthMethod; use perforce, perforce+2fa, ldap or ldap+2fa", authMethod)
	}
	var protected []string
	for _, p := range strings.Split(str("PROTECTED_USERS", ""), ",") {
		if p = strings.TrimSpace(p); p != "" {
			protected = append(protected, p)
		}
	}
	s.Bridge = bridge.Config{
		KeyPrefix: str("KEY_PREFIX", "p4scim."), UserNameRule: userRule, GroupNameRule: groupRule,
		NewUserType: userType, NewUserAuth: authMethod, DisablePasswordSync: !boolean("PASSWORD_SYNC", true),
		DenyGroup: str("DEPROVISION_GROUP", ""), Delete: deletePolicy, Protected: protected,
	}
	if s.Bridge.DenyGroup != "" {
		if err := bridge.ValidateName(s.Bridge.DenyGroup); err != nil {
			bad("DEPROVISION_GROUP", "%v", err)
		}
	}

	s.MaxBody = int64(number("MAX_BODY_BYTES", 1<<20))
	s.RateOverall = number("RATE_LIMIT", 50)
	s.RatePerClient = number("RATE_LIMIT_PER_CLIENT", 25)
	s.MaxInFlight = int(number("MAX_IN_FLIGHT", 32))
	s.ReadTimeout = duration("READ_TIMEOUT", 30*time.Second)
	s.WriteTimeout = duration("WRITE_TIMEOUT", 60*time.Second)
	s.IdleTimeout = duration("IDLE_TIMEOUT", 120*time.Second)
	s.ShutdownGrace = duration("SHUTDOWN_GRACE", 25*time.Second)
	if err := s.LogLevel.UnmarshalText([]byte(str("LOG_LEVEL", "info"))); err != nil {
		bad("LOG_LEVEL", "%q is not a level; use debug, info, warn or error", e.get("LOG_LEVEL"))
	}
	if len(problems) > 0 {
		return s, fmt.Errorf("invalid configuration:\n  %s", strings.Join(problems, "\n  "))
	}
	return s, nil
}

// tokenName is what may name a token; a long run before '=' is a base64
// secret's padding, not a name.
var tokenName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,31}$`)

// parseTokens reads "secret" or "name=secret,name2=secret2".
func parseTokens(v, defaultName string) []auth.Token {
	var out []auth.Token
	for i, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" || strings.HasPrefix(part, "#") {
			continue
		}
		name, secret, named := strings.Cut(part, "=")
		if !named || !tokenName.MatchString(name) {
			// A base64 secret may end in '=': only a short word before the
			// first '=' names a token.
			name, secret = defaultName, part
			if i > 0 {
				name += strconv.Itoa(i + 1)
			}
		}
		out = append(out, auth.Token{Name: name, Secret: secret})
	}
	return out
}

func isWellKnown(secret string) bool {
	lower := strings.ToLower(secret)
	for _, w := range wellKnownTokens {
		if strings.Trim(lower, "0123456789-_") == w {
			return true
		}
	}
	// One repeated character is no secret however long.
	return strings.Count(secret, secret[:1]) == len(secret)
}

// fingerprint names a secret in logs without revealing it.
func fingerprint(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return fmt.Sprintf("%x", sum[:4])
}
