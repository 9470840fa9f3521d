package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joho/godotenv"
	"github.com/spf13/afero"
	"golang.org/x/time/rate"

	"github.com/p4scim/p4scim/scimhandlers/auth"
)

// Secrets used by the tests: long, irregular, and easy to search for in
// output that must not contain them.
const (
	tokOkta   = "Okta-7f3K9qLm2Xv8Rt4Wz1Np6Yb0Hc5Jd"
	tokEntra  = "Entra-Q8w2Er5Ty7Ui1Op3As6Df9Gh0Jk4"
	tokPlain  = "Plain-Zx4Cv7Bn1Mq8Wr2Et5Yu9Io3Pa6S"
	p4Secret  = "Hunter2-but-much-longer-Passw0rd!"
	oauthSecr = "OAuth-Lk2Jh4Gf6Ds8Aq1Zw3Xe5Cr7Vt9B"
)

// validEnv is a minimal valid production configuration.
func validEnv() []string {
	return []string{
		"BEARER_TOKEN=" + tokPlain,
		"P4PORT=perforce:1666",
		"P4USER=p4scim",
		"P4PASSWD=" + p4Secret,
		"PATH=/usr/bin", // not ours: ignored
	}
}

// with returns env with the given KEY=value pairs added or replaced
// (KEY= with an empty value removes KEY).
func with(env []string, kvs ...string) []string {
	out := slices.Clone(env)
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		out = slices.DeleteFunc(out, func(e string) bool { return strings.HasPrefix(e, k+"=") })
		if v != "" {
			out = append(out, kv)
		}
	}
	return out
}

// memFS returns an in-memory file system holding files (path -> content).
func memFS(t *testing.T, files map[string]string) afero.Fs {
	t.Helper()
	fs := afero.NewMemMapFs()
	for path, content := range files {
		if err := afero.WriteFile(fs, path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return fs
}

func mustLoad(t *testing.T, args, env []string, fs afero.Fs) Config {
	t.Helper()
	cfg, err := Load(args, env, fs)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cfg
}

func problems(t *testing.T, err error) []string {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *Error", err, err)
	}
	return ce.Problems
}

func TestDefaults(t *testing.T) {
	cfg := mustLoad(t, nil, validEnv(), memFS(t, nil))
	want := map[string]bool{
		"ListenAddress": cfg.ListenAddress == ":8080", "MetricsAddress": cfg.MetricsAddress == "",
		"ReadTimeout": cfg.ReadTimeout == 30*time.Second, "WriteTimeout": cfg.WriteTimeout == 90*time.Second,
		"IdleTimeout": cfg.IdleTimeout == 120*time.Second, "ShutdownGrace": cfg.ShutdownGrace == 25*time.Second,
		"P4Bin": cfg.P4Bin == "p4", "P4CommandTimeout": cfg.P4CommandTimeout == 30*time.Second,
		"P4MaxConcurrent": cfg.P4MaxConcurrent == 8, "MaxBodyBytes": cfg.MaxBodyBytes == 1<<20,
		// The rate caps are off: admission by capacity (2 × P4_MAX_CONCURRENT
		// slots, a 20 s wait bound) serves bursts.
		"RateLimit": cfg.RateLimit == 0, "RateBurst": cfg.RateBurst == 1,
		"RateLimitPerClient": cfg.RateLimitPerClient == 0, "RateBurstPerClient": cfg.RateBurstPerClient == 1,
		"MaxInFlight": cfg.MaxInFlight == 16, "MaxInFlightWait": cfg.MaxInFlightWait == 20*time.Second,
		"MaxQueued": cfg.MaxQueued == 1000, "AuthFailureLimit": cfg.AuthFailureLimit == 2,
		"AuthFailureBurst": cfg.AuthFailureBurst == 20, "ReadyInterval": cfg.ReadyInterval == 10*time.Second,
		"ProbeLimit": cfg.ProbeLimit == 10, "ProbeBurst": cfg.ProbeBurst == 50,
		"KeyPrefix": cfg.KeyPrefix == "p4scim.", "UsernameRule": cfg.UsernameRule == "localpart",
		"GroupnameRule": cfg.GroupnameRule == "replace", "NewUserType": cfg.NewUserType == "standard",
		"NewUserAuthMethod": cfg.NewUserAuthMethod == "", "PasswordSync": cfg.PasswordSync,
		"DeletePolicy": cfg.DeletePolicy == "delete", "DeprovisionGroup": cfg.DeprovisionGroup == "",
		"LogLevel": cfg.LogLevel == slog.LevelInfo, "LogFormat": cfg.LogFormat == "json",
		"OAuthTokenTTL": cfg.OAuthTokenTTL == time.Hour, "Dev": !cfg.Dev, "DryRun": !cfg.DryRun,
		"P4TrustAny": !cfg.P4TrustAny, "Tokens": len(cfg.Tokens) == 1 && cfg.Tokens[0] == auth.Token{Name: "default", Secret: tokPlain},
		"EnvFile": cfg.EnvFile == "", "ConfigFile": cfg.ConfigFile == "",
	}
	for name, ok := range want {
		if !ok {
			t.Errorf("%s: unexpected default", name)
		}
	}
	// Plain HTTP on all interfaces without a proxy is legal but warned about.
	if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0], "plain HTTP") {
		t.Errorf("warnings = %q", cfg.Warnings)
	}
}

// TestPrecedence: flag > environment > .env > config file > default, for
// settings of several kinds.
func TestPrecedence(t *testing.T) {
	type layers struct{ flag, env, dotenv, file string }
	tests := []struct {
		setting string
		flag    string // flag name
		key     string // config-file key
		in      layers
		want    string
		source  string
		get     func(Config) string
	}{
		{"LISTEN_ADDRESS", "--listen", "listen_address", layers{":1", ":2", ":3", ":4"}, ":1", cfgSourceFlag, func(c Config) string { return c.ListenAddress }},
		{"LISTEN_ADDRESS", "--listen", "listen_address", layers{"", ":2", ":3", ":4"}, ":2", cfgSourceEnv, func(c Config) string { return c.ListenAddress }},
		{"LISTEN_ADDRESS", "--listen", "listen_address", layers{"", "", ":3", ":4"}, ":3", cfgSourceDotenv, func(c Config) string { return c.ListenAddress }},
		{"LISTEN_ADDRESS", "--listen", "listen_address", layers{"", "", "", ":4"}, ":4", cfgSourceFile, func(c Config) string { return c.ListenAddress }},
		{"LISTEN_ADDRESS", "--listen", "listen_address", layers{}, ":8080", cfgSourceDefault, func(c Config) string { return c.ListenAddress }},
		{"LISTEN_ADDRESS", "--listen-address", "listen_address", layers{":1", ":2", "", ""}, ":1", cfgSourceFlag, func(c Config) string { return c.ListenAddress }},
		{"P4_COMMAND_TIMEOUT", "--p4-command-timeout", "p4_command_timeout", layers{"11s", "12s", "13s", "14s"}, "11s", cfgSourceFlag, func(c Config) string { return c.P4CommandTimeout.String() }},
		{"P4_COMMAND_TIMEOUT", "--p4-command-timeout", "p4_command_timeout", layers{"", "12s", "13s", "14s"}, "12s", cfgSourceEnv, func(c Config) string { return c.P4CommandTimeout.String() }},
		{"P4_COMMAND_TIMEOUT", "--p4-command-timeout", "p4_command_timeout", layers{"", "", "13s", "14s"}, "13s", cfgSourceDotenv, func(c Config) string { return c.P4CommandTimeout.String() }},
		{"P4_COMMAND_TIMEOUT", "--p4-command-timeout", "p4_command_timeout", layers{"", "", "", "14s"}, "14s", cfgSourceFile, func(c Config) string { return c.P4CommandTimeout.String() }},
		{"P4_COMMAND_TIMEOUT", "--p4-command-timeout", "p4_command_timeout", layers{}, "30s", cfgSourceDefault, func(c Config) string { return c.P4CommandTimeout.String() }},
		{"KEY_PREFIX", "--key-prefix", "key_prefix", layers{"a.", "b.", "c.", "d."}, "a.", cfgSourceFlag, func(c Config) string { return c.KeyPrefix }},
		{"KEY_PREFIX", "--key-prefix", "key_prefix", layers{"", "", "c.", "d."}, "c.", cfgSourceDotenv, func(c Config) string { return c.KeyPrefix }},
		{"P4PORT", "--p4port", "p4port", layers{"f:1", "e:2", "d:3", "c:4"}, "f:1", cfgSourceFlag, func(c Config) string { return c.P4Port }},
		{"P4PORT", "--p4port", "p4port", layers{"", "", "", "c:4"}, "c:4", cfgSourceFile, func(c Config) string { return c.P4Port }},
		{"DRY_RUN", "--dry-run", "dry_run", layers{"true", "false", "false", "false"}, "true", cfgSourceFlag, func(c Config) string { return fmt.Sprint(c.DryRun) }},
		{"DRY_RUN", "--dry-run", "dry_run", layers{"", "", "true", "false"}, "true", cfgSourceDotenv, func(c Config) string { return fmt.Sprint(c.DryRun) }},
		{"DRY_RUN", "--dry-run", "dry_run", layers{"", "", "", "true"}, "true", cfgSourceFile, func(c Config) string { return fmt.Sprint(c.DryRun) }},
		{"DRY_RUN", "--dry-run", "dry_run", layers{}, "false", cfgSourceDefault, func(c Config) string { return fmt.Sprint(c.DryRun) }},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s from %s", tt.setting, tt.source)
		if strings.HasPrefix(tt.flag, "--listen-") {
			name += " (long flag)"
		}
		t.Run(name, func(t *testing.T) {
			env := validEnv()
			if tt.setting == "P4PORT" {
				env = with(env, "P4PORT=")
			}
			var args []string
			if tt.in.flag != "" {
				args = append(args, tt.flag+"="+tt.in.flag)
			}
			if tt.in.env != "" {
				env = append(env, tt.setting+"="+tt.in.env)
			}
			files := map[string]string{}
			if tt.in.dotenv != "" {
				files[".env"] = tt.setting + "=" + tt.in.dotenv + "\n"
			}
			if tt.in.file != "" {
				files["/etc/p4scim.yaml"] = tt.key + ": " + `"` + tt.in.file + `"` + "\n"
				args = append(args, "--config", "/etc/p4scim.yaml")
			}
			cfg := mustLoad(t, args, env, memFS(t, files))
			if got := tt.get(cfg); got != tt.want {
				t.Fatalf("%s = %q, want %q", tt.setting, got, tt.want)
			}
			if got := cfg.sources[tt.setting]; got != tt.source {
				t.Fatalf("source %q, want %q", got, tt.source)
			}
			if !strings.Contains(cfg.Redacted()[tt.setting], "("+tt.source+")") {
				t.Fatalf("Redacted does not name the source: %q", cfg.Redacted()[tt.setting])
			}
		})
	}
}

// TestEmptyMeansUnset: a blank value at one level does not hide the one below.
func TestEmptyMeansUnset(t *testing.T) {
	fs := memFS(t, map[string]string{".env": "P4CHARSET=utf8\n"})
	cfg := mustLoad(t, nil, append(validEnv(), "P4CHARSET=", "P4BIN=  "), fs)
	if cfg.P4Charset != "utf8" || cfg.P4Bin != "p4" {
		t.Fatalf("P4CHARSET %q, P4BIN %q", cfg.P4Charset, cfg.P4Bin)
	}
}

func TestSourcesFiles(t *testing.T) {
	dir := t.TempDir()
	for path, content := range map[string]string{
		"custom.env":       "CONFIG_FILE=conf/p4scim.toml\nP4CHARSET='utf8'\nHAS_ONLY_SETTING=x\n",
		"conf/p4scim.toml": "p4user = \"toml-user\"\nrate_limit = 7\ntrusted_proxies = [\"10.0.0.0/8\", \"192.0.2.7\"]\n",
		"p4scim.json":      `{"p4user": "json-user", "password_sync": false, "max_body_bytes": 2048}`,
	} {
		full := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fs := afero.NewBasePathFs(afero.NewOsFs(), dir)

	t.Run("env file names a TOML config file", func(t *testing.T) {
		cfg := mustLoad(t, []string{"--env-file", "custom.env"}, with(validEnv(), "P4USER="), fs)
		if cfg.EnvFile != "custom.env" || cfg.ConfigFile != "conf/p4scim.toml" {
			t.Fatalf("files read: %q, %q", cfg.EnvFile, cfg.ConfigFile)
		}
		if cfg.P4User != "toml-user" || cfg.RateLimit != 7 || cfg.RateBurst != 14 || cfg.P4Charset != "utf8" {
			t.Fatalf("got %q %v %d %q", cfg.P4User, cfg.RateLimit, cfg.RateBurst, cfg.P4Charset)
		}
		want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32")}
		if !slices.Equal(cfg.TrustedProxies, want) {
			t.Fatalf("TRUSTED_PROXIES = %v", cfg.TrustedProxies)
		}
	})
	t.Run("JSON config from the environment", func(t *testing.T) {
		cfg := mustLoad(t, nil, with(validEnv(), "P4USER=", "CONFIG_FILE=p4scim.json"), fs)
		if cfg.P4User != "json-user" || cfg.PasswordSync || cfg.MaxBodyBytes != 2048 {
			t.Fatalf("got %q %v %d", cfg.P4User, cfg.PasswordSync, cfg.MaxBodyBytes)
		}
	})
	t.Run("no .env is fine", func(t *testing.T) {
		if cfg := mustLoad(t, nil, validEnv(), fs); cfg.EnvFile != "" {
			t.Fatalf("EnvFile %q", cfg.EnvFile)
		}
	})
}

func TestExampleFiles(t *testing.T) {
	// .env.example documents every setting, with safe values: loading it
	// as is must fail only for the placeholders an operator must replace.
	b, err := os.ReadFile("../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Settings() {
		if !strings.Contains(string(b), s.Name+"=") {
			t.Errorf(".env.example does not mention %s", s.Name)
		}
	}
	if _, err := godotenv.UnmarshalBytes(b); err != nil {
		t.Fatalf(".env.example is not a valid dotenv file: %v", err)
	}
	_, err = Load([]string{"--env-file", "/x/.env"}, nil, memFS(t, map[string]string{"/x/.env": string(b)}))
	for _, p := range problems(t, err) {
		if !strings.HasPrefix(p, "BEARER_TOKEN: token \"default\" is a well-known example value") &&
			!strings.HasPrefix(p, "P4PASSWD: missing") && !strings.HasPrefix(p, "P4_TRUST_FINGERPRINT: missing") {
			t.Errorf(".env.example: unexpected problem %q", p)
		}
	}

	// The example config file uses only known keys and valid values.
	y, err := os.ReadFile("../configs/p4scim.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fs := memFS(t, map[string]string{"/etc/p4scim.yaml": string(y), "/run/secrets/p4scim-tokens": "okta=" + tokOkta + "\n"})
	cfg := mustLoad(t, []string{"--config", "/etc/p4scim.yaml"}, []string{"P4PASSWD=" + p4Secret}, fs)
	if cfg.P4Port == "" || cfg.ConfigFile == "" || len(cfg.Tokens) != 1 || len(cfg.ProtectedUsers) != 2 || len(cfg.TrustedProxies) != 2 {
		t.Fatalf("example config not applied: %+v", cfg.Redacted())
	}
}

func TestTokens(t *testing.T) {
	pad := "QWxhZGRpbjpvcGVuIHNlc2FtZSBhbmQgc29tZSBtb3Jl" + "=" // base64 with padding
	tests := []struct {
		name  string
		env   []string
		files map[string]string
		want  []auth.Token
	}{
		{"HAS-style single token", []string{"BEARER_TOKEN=" + tokPlain}, nil,
			[]auth.Token{{Name: "default", Secret: tokPlain}}},
		{"named tokens for rotation", []string{"BEARER_TOKEN=", "BEARER_TOKENS= okta=" + tokOkta + " , entra=" + tokEntra + ","}, nil,
			[]auth.Token{{Name: "okta", Secret: tokOkta}, {Name: "entra", Secret: tokEntra}}},
		{"all sources together", []string{"BEARER_TOKENS=okta=" + tokOkta, "BEARER_TOKEN_FILE=/run/secrets/tokens"},
			map[string]string{"/run/secrets/tokens": "# rotated 2026-01\n\nentra=" + tokEntra + "\n"},
			[]auth.Token{{Name: "default", Secret: tokPlain}, {Name: "okta", Secret: tokOkta}, {Name: "entra", Secret: tokEntra}}},
		{"token file with one bare token (HAS format)", []string{"BEARER_TOKEN=", "BEARER_TOKEN_FILE=/t"},
			map[string]string{"/t": "  " + tokOkta + "  \n"},
			[]auth.Token{{Name: "file", Secret: tokOkta}}},
		{"token file: bare tokens named by line; base64 padding is not a name", []string{"BEARER_TOKEN=", "BEARER_TOKEN_FILE=/t"},
			map[string]string{"/t": tokOkta + "\n" + pad + "\nokta2=" + tokEntra + "\n"},
			[]auth.Token{{Name: "file-1", Secret: tokOkta}, {Name: "file-2", Secret: pad}, {Name: "okta2", Secret: tokEntra}}},
		{"token with = inside a named value", []string{"BEARER_TOKEN=", "BEARER_TOKENS=x=" + tokOkta + "=="}, nil,
			[]auth.Token{{Name: "x", Secret: tokOkta + "=="}}},
		{"OAuth clients alone are enough", []string{"BEARER_TOKEN=", "OAUTH_CLIENTS=okta:" + oauthSecr}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, nil, with(validEnv(), tt.env...), memFS(t, tt.files))
			if !slices.Equal(cfg.Tokens, tt.want) {
				t.Fatalf("tokens %v, want %v", cfg.Tokens, tt.want)
			}
		})
	}
	cfg := mustLoad(t, nil, with(validEnv(), "OAUTH_CLIENTS=okta:"+oauthSecr+",entra.prod:"+tokEntra, "OAUTH_TOKEN_TTL=15m"), memFS(t, nil))
	want := []auth.Client{{ID: "okta", Secret: oauthSecr, Name: "oauth:okta"}, {ID: "entra.prod", Secret: tokEntra, Name: "oauth:entra.prod"}}
	if !slices.Equal(cfg.OAuthClients, want) || cfg.OAuthTokenTTL != 15*time.Minute {
		t.Fatalf("OAuth clients %v, ttl %v", cfg.OAuthClients, cfg.OAuthTokenTTL)
	}
}

func TestWeakTokensRefused(t *testing.T) {
	for _, tok := range []string{
		"keyboard cat", // HAS's shipped default
		"danger mouse",
		"changeme",
		"short-but-random-Xy7",
		"password12345678901234567890123456",
		"Pass-Word_1234567890123456789012345",
		"REPLACE_WITH_OUTPUT_OF_openssl_rand_base64_32",
		"a2V5Ym9hcmQgY2F0a2V5Ym9hcmQgY2F0a2V5Ym9hcmQgY2F0", // base64 of a repetition
		strings.Repeat("x", 64),
		strings.Repeat("abc123", 8),
		"abcdefghijklmnopqrstuvwxyz0123456789",
		"aabbaabbaabbccddccddaabbccddaabbccdd",     // 4 distinct characters
		"dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdA==", // base64("testtest…")
	} {
		t.Run(tok, func(t *testing.T) {
			_, err := Load(nil, with(validEnv(), "BEARER_TOKEN="+tok), memFS(t, nil))
			ps := problems(t, err)
			if len(ps) != 1 || !strings.HasPrefix(ps[0], `BEARER_TOKEN: token "default" `) || !strings.Contains(ps[0], "openssl rand") {
				t.Fatalf("problems %q", ps)
			}
			if strings.Contains(err.Error(), tok) {
				t.Fatal("the token appears in the error")
			}
		})
	}
	// Random values of the minimum length pass.
	for _, tok := range []string{"3f9a1c7e5b2d8f4a6c0e9b1d7f3a5c8e", "q9XbT2+zL5v/Kp8WmR3nYc6Hd0Js4Ag1"} {
		if why := weakSecret(tok); why != "" {
			t.Errorf("%s refused: %s", tok, why)
		}
	}
}

// TestValidation checks every validation message: each names the setting
// and says how to fix it.
func TestValidation(t *testing.T) {
	files := map[string]string{
		"/cert.pem":      "cert",
		"/key.pem":       "key",
		"/tokens":        "okta=" + tokOkta + "\nokta=" + tokEntra + "\n",
		"/dup-secret":    "a=" + tokOkta + "\nb=" + tokOkta + "\n",
		"/etc/token.txt": tokOkta,
		"/bad.yaml":      "p4prot: perforce:1666\nrate_limit: 5\n",
		"/nested.yaml":   "p4port:\n  host: perforce\n",
		"/broken.yaml":   "p4port: [unclosed\n",
		"/conf.ini":      "p4port=x\n",
		"/meta.yaml":     "config_file: /other.yaml\n",
		"/broken.env":    "P4PASSWD " + p4Secret + "\n",
	}
	tests := []struct {
		name string
		args []string
		env  []string // applied to validEnv with `with`
		want []string // each a prefix of one problem, in order
	}{
		{"missing essentials", nil, []string{"BEARER_TOKEN=", "P4PORT=", "P4USER=", "P4PASSWD="}, []string{
			"BEARER_TOKEN: missing; set BEARER_TOKEN (or BEARER_TOKENS, BEARER_TOKEN_FILE) to a random secret of at least 32 characters",
			"P4PORT: missing; set it to the Helix Core server address, e.g. ssl:perforce:1666",
			"P4USER: missing; set it to the Helix Core super user the bridge runs as",
			"P4PASSWD: missing; set it to P4USER's password or a long-lived ticket",
		}},
		{"short token", nil, []string{"BEARER_TOKEN=short"}, []string{`BEARER_TOKEN: token "default" is shorter than 32 characters; generate one with: openssl rand -base64 32`}},
		{"BEARER_TOKEN names a file", nil, []string{"BEARER_TOKEN=/etc/token.txt"}, []string{
			"BEARER_TOKEN: names a file; set BEARER_TOKEN_FILE to the path instead",
			`BEARER_TOKEN: token "default" is shorter than 32`,
		}},
		{"unnamed entry in BEARER_TOKENS", nil, []string{"BEARER_TOKENS=okta=" + tokOkta + "," + tokEntra}, []string{"BEARER_TOKENS: entry 2 is not name=secret"}},
		{"bad token name", nil, []string{"BEARER_TOKENS=9lives=" + tokOkta}, []string{"BEARER_TOKENS: entry 1 is not name=secret"}},
		{"duplicate token names", nil, []string{"BEARER_TOKEN_FILE=/tokens"}, []string{`BEARER_TOKEN_FILE: token name "okta" is used twice; give each token its own name`}},
		{"duplicate secrets", nil, []string{"BEARER_TOKEN_FILE=/dup-secret"}, []string{`BEARER_TOKEN_FILE: token "b" has the same secret as token "a"; remove one`}},
		{"missing token file", nil, []string{"BEARER_TOKEN_FILE=/nope"}, []string{"BEARER_TOKEN_FILE: cannot read /nope: file does not exist; fix the path"}},
		{"bad OAuth clients", nil, []string{"OAUTH_CLIENTS=okta:" + oauthSecr + ",okta:" + tokOkta + ",nocolon,weak:changeme"}, []string{
			`OAUTH_CLIENTS: client id "okta" is used twice`,
			"OAUTH_CLIENTS: entry 3 is not id:secret",
			`OAUTH_CLIENTS: the secret of client "weak" is shorter than 32 characters`,
		}},
		{"OAuth token TTL", nil, []string{"OAUTH_TOKEN_TTL=5s"}, []string{"OAUTH_TOKEN_TTL: 5s is too short; use at least 1m0s"}},
		{"bad listen address", nil, []string{"LISTEN_ADDRESS=8080"}, []string{`LISTEN_ADDRESS: "8080" is not host:port; use e.g. :8080 or 127.0.0.1:8080`}},
		{"bad listen port", []string{"--listen", ":http-alt"}, nil, []string{`LISTEN_ADDRESS: ":http-alt" has no valid port`}},
		{"metrics on the same address", nil, []string{"METRICS_ADDRESS=:8080"}, []string{"METRICS_ADDRESS: is the same as LISTEN_ADDRESS; leave it empty"}},
		{"bad metrics address", nil, []string{"METRICS_ADDRESS=localhost"}, []string{`METRICS_ADDRESS: "localhost" is not host:port`}},
		{"TLS cert without key", nil, []string{"TLS_CERT_FILE=/cert.pem"}, []string{"TLS_KEY_FILE: missing; set TLS_CERT_FILE and TLS_KEY_FILE together"}},
		{"TLS key without cert", nil, []string{"TLS_KEY_FILE=/key.pem"}, []string{"TLS_CERT_FILE: missing; set TLS_CERT_FILE and TLS_KEY_FILE together"}},
		{"TLS files unreadable", nil, []string{"TLS_CERT_FILE=/nocert.pem", "TLS_KEY_FILE=/key.pem"}, []string{"TLS_CERT_FILE: cannot read /nocert.pem: file does not exist; fix the path"}},
		{"bad trusted proxy", nil, []string{"TRUSTED_PROXIES=10.0.0.0/8, proxy.local"}, []string{`TRUSTED_PROXIES: "proxy.local" is not an address or CIDR`}},
		{"bad durations", nil, []string{"READ_TIMEOUT=soon", "IDLE_TIMEOUT=10ms", "SHUTDOWN_GRACE=-1s"}, []string{
			`READ_TIMEOUT: "soon" is not a duration; use e.g. 30s, 2m or 1h30m`,
			"IDLE_TIMEOUT: 10ms is too short; use at least 1s",
			"SHUTDOWN_GRACE: -1s is too short; use at least 0s",
		}},
		{"write timeout shorter than a p4 command", nil, []string{"WRITE_TIMEOUT=20s"}, []string{"WRITE_TIMEOUT: 20s is not longer than P4_COMMAND_TIMEOUT (30s); raise WRITE_TIMEOUT"}},
		{"bad P4PORT", nil, []string{"P4PORT=perforce"}, []string{`P4PORT: "perforce" has no valid port number; use [protocol:]host:port`}},
		{"P4PORT with blanks", nil, []string{"P4PORT=perforce 1666"}, []string{`P4PORT: "perforce 1666" contains blanks`}},
		{"P4PORT bad host", nil, []string{"P4PORT=ssl::1666", "P4_TRUST_ANY=true"}, []string{`P4PORT: "ssl::1666" has an invalid host`}},
		{"bad P4USER", nil, []string{"P4USER=-super"}, []string{`P4USER: "-super" is not a valid Helix Core user name`}},
		{"bad P4CHARSET", nil, []string{"P4CHARSET=UTF 8"}, []string{`P4CHARSET: "UTF 8" is not a P4CHARSET name; use e.g. utf8`}},
		{"ssl without trust", nil, []string{"P4PORT=ssl:perforce:1666"}, []string{"P4_TRUST_FINGERPRINT: missing for the ssl: P4PORT; set it to the server's fingerprint"}},
		{"bad fingerprint", nil, []string{"P4PORT=ssl:perforce:1666", "P4_TRUST_FINGERPRINT=AB:CD"}, []string{`P4_TRUST_FINGERPRINT: "AB:CD" is not a certificate fingerprint`}},
		{"fingerprint and trust-any", nil, []string{"P4PORT=ssl:perforce:1666", "P4_TRUST_ANY=yes",
			"P4_TRUST_FINGERPRINT=" + strings.Repeat("AB:", 19) + "AB"}, []string{"P4_TRUST_ANY: set together with P4_TRUST_FINGERPRINT; keep the fingerprint"}},
		{"bad booleans", nil, []string{"P4_TRUST_ANY=maybe", "PASSWORD_SYNC=2"}, []string{
			`P4_TRUST_ANY: "maybe" is not a boolean; use true or false`,
			`PASSWORD_SYNC: "2" is not a boolean`,
		}},
		{"bad integers", nil, []string{"P4_MAX_CONCURRENT=0", "MAX_IN_FLIGHT=lots"}, []string{
			"P4_MAX_CONCURRENT: 0 is out of range; use a number from 1 to 256",
			`MAX_IN_FLIGHT: "lots" is not a whole number`,
		}},
		{"P4BIN empty", []string{"--p4bin", ""}, []string{"P4BIN="}, nil}, // empty = unset = default p4
		{"bad sizes", nil, []string{"MAX_BODY_BYTES=1GiB"}, []string{`MAX_BODY_BYTES: "1GiB" has an unknown unit; use bytes, KiB or MiB`}},
		{"size out of range", nil, []string{"MAX_BODY_BYTES=100"}, []string{"MAX_BODY_BYTES: 100 bytes is out of range; use 1024 to 67108864 bytes"}},
		{"size too big", nil, []string{"MAX_BODY_BYTES=999999MiB"}, []string{`MAX_BODY_BYTES: "999999MiB" is not a size`}},
		{"bad rates", nil, []string{"RATE_LIMIT=-1", "RATE_LIMIT_PER_CLIENT=fast", "RATE_BURST=0"}, []string{
			"RATE_LIMIT: -1 is out of range; use a number from 0 (no limit)",
			`RATE_LIMIT_PER_CLIENT: "fast" is not a number`,
			"RATE_BURST: 0 is out of range; use a number from 1",
		}},
		{"bad key prefix", nil, []string{"KEY_PREFIX=p4 scim"}, []string{`KEY_PREFIX: "p4 scim" is not a usable p4 key prefix`}},
		{"bad rules", nil, []string{"USERNAME_RULE=email", "GROUPNAME_RULE=localpart"}, []string{
			`USERNAME_RULE: "email" is not allowed; use one of localpart, verbatim, replace`,
			`GROUPNAME_RULE: "localpart" is not allowed; use one of replace, verbatim`,
		}},
		{"bad user type and auth", nil, []string{"NEW_USER_TYPE=admin", "NEW_USER_AUTH_METHOD=saml"}, []string{
			`NEW_USER_TYPE: "admin" is not allowed; use one of standard, operator, service`,
			`NEW_USER_AUTH_METHOD: "saml" is not allowed; use one of "" (empty), perforce`,
		}},
		{"bad deprovision group", nil, []string{"DEPROVISION_GROUP=no access"}, []string{`DEPROVISION_GROUP: "no access" contains a character Helix Core does not allow`}},
		{"bad delete policy", nil, []string{"DELETE_POLICY=purge"}, []string{`DELETE_POLICY: "purge" is not allowed; use one of delete, deactivate`}},
		{"bad deactivate policy and grace", nil, []string{"DEACTIVATE_POLICY=purge", "DEACTIVATE_DELETE_AFTER=soon", "RECLAIM_INTERVAL=10ms"}, []string{
			`DEACTIVATE_POLICY: "purge" is not allowed; use one of keep, delete`,
			`DEACTIVATE_DELETE_AFTER: "soon" is not a duration`,
			`RECLAIM_INTERVAL: 10ms is too short`,
		}},
		{"bad protected users", nil, []string{"PROTECTED_USERS=admin, 1234 ,ok,-x"}, []string{
			`PROTECTED_USERS: "1234" is purely numeric`,
			`PROTECTED_USERS: "-x" starts with '-'`,
		}},
		{"bad logging", nil, []string{"LOG_LEVEL=verbose", "LOG_FORMAT=xml"}, []string{
			`LOG_LEVEL: "verbose" is not a level; use debug, info, warn or error`,
			`LOG_FORMAT: "xml" is not allowed; use one of json, text`,
		}},
		{"unknown config key (typo)", []string{"--config", "/bad.yaml"}, nil, []string{`CONFIG_FILE: /bad.yaml: unknown key "p4prot"; keys are the setting names in lower case, flat`}},
		{"nested config key", []string{"--config", "/nested.yaml"}, nil, []string{`CONFIG_FILE: /nested.yaml: unknown key "p4port.host"`}},
		{"config file names a config file", []string{"--config", "/meta.yaml"}, nil, []string{`CONFIG_FILE: /meta.yaml: unknown key "config_file"`}},
		{"broken config file", []string{"--config", "/broken.yaml"}, nil, []string{"CONFIG_FILE: /broken.yaml is not valid YAML"}},
		{"unsupported config type", []string{"--config", "/conf.ini"}, nil, []string{`CONFIG_FILE: /conf.ini: unsupported type "ini"; use a .yaml, .yml, .toml or .json file`}},
		{"missing config file", []string{"--config", "/none.yaml"}, nil, []string{"CONFIG_FILE: cannot read /none.yaml: file does not exist"}},
		{"missing env file named explicitly", []string{"--env-file", "/none.env"}, nil, []string{"ENV_FILE: cannot read /none.env: file does not exist"}},
		{"broken env file", []string{"--env-file", "/broken.env"}, nil, []string{"ENV_FILE: /broken.env is not a valid dotenv file"}},
		{"unknown flag", []string{"--p4prot", "x"}, nil, []string{"command line: unknown flag: --p4prot; did you mean --p4port?"}},
		{"stray argument", []string{"extra"}, nil, []string{`command line: unexpected argument "extra"`}},
		{"secret as a flag", []string{"--p4passwd", p4Secret}, nil, []string{"P4PASSWD: not accepted on the command line, where every user can read it (ps)"}},
		{"everything wrong at once is reported at once", nil, []string{"P4PORT=", "LOG_LEVEL=loud", "DELETE_POLICY=x"}, []string{
			"P4PORT: missing", "DELETE_POLICY:", "LOG_LEVEL:",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.args, with(validEnv(), tt.env...), memFS(t, files))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			got := problems(t, err)
			if len(got) != len(tt.want) {
				t.Fatalf("%d problems, want %d:\n  %s", len(got), len(tt.want), strings.Join(got, "\n  "))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("problem %d:\n  got  %s\n  want %s…", i, got[i], tt.want[i])
				}
			}
			for _, s := range []string{tokOkta, tokEntra, tokPlain, p4Secret, oauthSecr} {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("a secret appears in the error:\n%v", err)
				}
			}
			if !strings.HasPrefix(err.Error(), "invalid configuration:\n  ") {
				t.Fatalf("error text %q", err)
			}
		})
	}
}

func TestSecretFlagMessage(t *testing.T) {
	for _, name := range []string{"--p4passwd", "--bearer-token", "--bearer-tokens", "--oauth-clients"} {
		_, err := Load([]string{name + "=" + tokOkta}, validEnv(), memFS(t, nil))
		if err == nil || !strings.Contains(err.Error(), "not accepted on the command line") || strings.Contains(err.Error(), tokOkta) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help"} {
		if _, err := Load([]string{arg}, nil, memFS(t, nil)); !errors.Is(err, ErrHelp) {
			t.Errorf("%s: %v", arg, err)
		}
	}
	var b strings.Builder
	WriteUsage(&b, "serve")
	for _, s := range Settings() {
		if !strings.Contains(b.String(), s.Name) {
			t.Errorf("usage does not list %s", s.Name)
		}
	}
	if !strings.Contains(b.String(), "--listen, --listen-address") || !strings.Contains(b.String(), "P4PASSWD (*)") {
		t.Errorf("usage:\n%s", b.String())
	}
}

func TestDevMode(t *testing.T) {
	for _, args := range [][]string{{"--dev"}, {"--dev=true"}} {
		cfg := mustLoad(t, args, nil, memFS(t, nil))
		if !cfg.Dev || cfg.ListenAddress != "127.0.0.1:8080" || len(cfg.Tokens) != 0 || len(cfg.Warnings) != 0 {
			t.Fatalf("%v: dev %v listen %q tokens %d warnings %q", args, cfg.Dev, cfg.ListenAddress, len(cfg.Tokens), cfg.Warnings)
		}
	}
	cfg := mustLoad(t, []string{"--listen", ":9000"}, []string{"DEV=1", "P4PORT=ssl:x:1666"}, memFS(t, nil))
	if cfg.ListenAddress != ":9000" {
		t.Fatalf("an explicit address is kept in dev mode: %q", cfg.ListenAddress)
	}
	if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0], "P4PORT is ignored") {
		t.Fatalf("warnings %q", cfg.Warnings)
	}
	// A token given in dev mode is still checked.
	_, err := Load([]string{"--dev"}, []string{"BEARER_TOKEN=changeme"}, memFS(t, nil))
	if err == nil {
		t.Fatal("weak token accepted in dev mode")
	}
}

func TestParsing(t *testing.T) {
	cfg := mustLoad(t, []string{"--dry-run", "--p4-trust-any", "--p4port=ssl:[::1]:1666"}, with(validEnv(),
		"MAX_BODY_BYTES=512KiB", "P4_COMMAND_TIMEOUT=45", "WRITE_TIMEOUT=2m", "RATE_LIMIT=0", "RATE_LIMIT_PER_CLIENT=0.5",
		"RATE_BURST_PER_CLIENT=3", "LOG_LEVEL=DEBUG", "LOG_FORMAT=Text", "USERNAME_RULE=Verbatim",
		"PROTECTED_USERS=admin, ops ,", "PASSWORD_SYNC=off", "TRUSTED_PROXIES=2001:db8::1/32",
		"TLS_CERT_FILE=/c", "TLS_KEY_FILE=/k", "MAX_IN_FLIGHT_WAIT=0s",
	), memFS(t, map[string]string{"/c": "x", "/k": "y"}))
	checks := map[string]bool{
		"DryRun":             cfg.DryRun,
		"P4TrustAny":         cfg.P4TrustAny,
		"MaxBodyBytes":       cfg.MaxBodyBytes == 512<<10,
		"P4CommandTimeout":   cfg.P4CommandTimeout == 45*time.Second,
		"RateLimit":          cfg.RateLimit == 0 && cfg.RateBurst == 1,
		"RateLimitPerClient": cfg.RateLimitPerClient == rate.Limit(0.5) && cfg.RateBurstPerClient == 3,
		"LogLevel":           cfg.LogLevel == slog.LevelDebug,
		"LogFormat":          cfg.LogFormat == "text",
		"UsernameRule":       cfg.UsernameRule == "verbatim",
		"ProtectedUsers":     slices.Equal(cfg.ProtectedUsers, []string{"admin", "ops"}),
		"PasswordSync":       !cfg.PasswordSync,
		"TrustedProxies":     len(cfg.TrustedProxies) == 1 && cfg.TrustedProxies[0].String() == "2001:db8::/32",
		"TLS":                cfg.TLSCertFile == "/c" && cfg.TLSKeyFile == "/k",
		"MaxInFlightWait":    cfg.MaxInFlightWait == 0,
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("%s parsed wrong", name)
		}
	}
	// Warnings: dry run and blind trust; no plain-HTTP warning with TLS on.
	if len(cfg.Warnings) != 2 || !strings.Contains(cfg.Warnings[0], "DRY_RUN") || !strings.Contains(cfg.Warnings[1], "not pinned") {
		t.Errorf("warnings %q", cfg.Warnings)
	}
}

// TestSecretsNeverShown: no rendering of a Config shows a secret, even
// when the secret sits where a name is expected.
func TestSecretsNeverShown(t *testing.T) {
	env := with(validEnv(),
		"BEARER_TOKENS=okta="+tokOkta+",entra="+tokEntra,
		"OAUTH_CLIENTS=okta:"+oauthSecr,
		"P4PASSWD="+p4Secret,
		"TRUSTED_PROXIES=127.0.0.1",
	)
	cfg := mustLoad(t, nil, env, memFS(t, nil))
	// A malformed entry: the whole secret is where the name would be.
	bad, err := Load(nil, with(env, "BEARER_TOKENS="+tokOkta, "OAUTH_CLIENTS="+oauthSecr), memFS(t, nil))
	if err == nil {
		t.Fatal("malformed entries accepted")
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "cfg", cfg, "bad", bad)
	outputs := map[string]string{
		"String":   cfg.String() + bad.String(),
		"%v":       fmt.Sprintf("%v %v", cfg, bad),
		"%+v":      fmt.Sprintf("%+v %+v", cfg, bad),
		"%#v":      fmt.Sprintf("%#v %#v", cfg, bad),
		"Redacted": fmt.Sprint(cfg.Redacted(), bad.Redacted()),
		"slog":     logged.String(),
		"error":    err.Error(),
	}
	for how, out := range outputs {
		for _, s := range []string{tokOkta, tokEntra, tokPlain, p4Secret, oauthSecr} {
			if strings.Contains(out, s) {
				t.Errorf("%s shows a secret:\n%s", how, out)
			}
		}
	}
	r := cfg.Redacted()
	if r["BEARER_TOKENS"] != "okta=<redacted>,entra=<redacted> (environment)" ||
		r["OAUTH_CLIENTS"] != "okta:<redacted> (environment)" ||
		r["P4PASSWD"] != "<redacted> (environment)" || r["P4PORT"] != "perforce:1666 (environment)" ||
		r["tokens"] != "default,okta,entra" {
		t.Errorf("Redacted: %v", r)
	}
	if br := bad.Redacted(); br["BEARER_TOKENS"] != "?=<redacted> (environment)" || br["OAUTH_CLIENTS"] != "?:<redacted> (environment)" {
		t.Errorf("Redacted of malformed entries: %v", br)
	}
}

// TestDotenvParseErrorWithheld: godotenv quotes the text near a syntax
// error; that text may be a secret, so its message is not passed on.
func TestDotenvParseErrorWithheld(t *testing.T) {
	fs := memFS(t, map[string]string{".env": "P4PASSWD " + p4Secret + "\n"})
	_, err := Load(nil, with(validEnv(), "P4PASSWD="), fs)
	if err == nil || strings.Contains(err.Error(), p4Secret) || !strings.Contains(err.Error(), "ENV_FILE: .env is not a valid dotenv file") {
		t.Fatalf("error: %v", err)
	}
}

func TestWiringHelpers(t *testing.T) {
	cfg := mustLoad(t, nil, with(validEnv(), "PASSWORD_SYNC=false", "DELETE_POLICY=deactivate", "PROTECTED_USERS=admin",
		"DEPROVISION_GROUP=denied", "P4CHARSET=utf8", "P4_MAX_CONCURRENT=3"), memFS(t, nil))
	pc := cfg.P4Config()
	if pc.Port != "perforce:1666" || pc.User != "p4scim" || pc.Password != p4Secret || pc.Charset != "utf8" ||
		pc.MaxConcurrent != 3 || pc.CommandTimeout != 30*time.Second || pc.Bin != "p4" {
		t.Errorf("P4Config: %+v", pc)
	}
	if d := mustLoad(t, nil, with(validEnv(), "DEACTIVATE_POLICY=delete", "DEACTIVATE_DELETE_AFTER=0s"), memFS(t, nil)).BridgeConfig(); d.Deactivate != "delete" || d.DeleteAfter != 0 {
		t.Errorf("BridgeConfig with DEACTIVATE_POLICY=delete, 0s: %+v", d)
	}
	if d := cfg.BridgeConfig(); d.Deactivate != "keep" || d.DeleteAfter != 168*time.Hour || cfg.ReclaimInterval != time.Hour {
		t.Errorf("deactivation defaults: %q %s %s", d.Deactivate, d.DeleteAfter, cfg.ReclaimInterval)
	}
	bc := cfg.BridgeConfig()
	if bc.P4User != "p4scim" || !bc.DisablePasswordSync || string(bc.Delete) != "deactivate" || bc.DenyGroup != "denied" ||
		string(bc.UserNameRule) != "localpart" || string(bc.GroupNameRule) != "replace" || !slices.Equal(bc.Protected, []string{"admin"}) {
		t.Errorf("BridgeConfig: %+v", bc)
	}
}
