package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/afero"

	"github.com/p4scim/p4scim/scimhandlers/auth"
)

// More secrets for the [provisioning] tests.
const (
	p4SecretTokyo = "Tokyo-Passw0rd-9sK2mX7qLz4Vb8Nc1R"
	tokFeline     = "Feline-Mn3Bv6Cx9Zl2Kj5Hg8Fd1Sa4Qw7E"
)

// hasTOML is HAS's example.toml in the shape of its provisioning section:
// HAS's own keys and tables around it, two providers (one token inline,
// one in a file), two servers sharing the domain feline.
const hasTOML = `
svc_base_uri = "https://has.example.com"
default_protocol = "saml"
rate_limit = 5

[[auth_providers]]
label = "Okta"
protocol = "saml"
metadata_url = "https://okta.example.com/metadata"

[logging]
level = "info"

[provisioning]
[[provisioning.providers]]
bearer_token = "` + tokOkta + `"
domain = "canine"
[[provisioning.providers]]
bearer_token_file = "secrets/feline.token"
domain = "feline"

[[provisioning.servers]]
p4port = "ssl:chicago:1666"
p4user = "super"
p4passwd = "` + p4Secret + `"
p4trust = "/p4/.p4trust"
domains = ["canine", "feline"]
leader = ["canine"]
key_prefix = "chi."
[[provisioning.servers]]
name = "tokyo"
p4port = "tokyo:1666"
p4user = "super"
p4passwd = "` + p4SecretTokyo + `"
domains = ["feline"]
leader = ["feline"]
protected_users = ["ops", "backup"]
`

// hasYAML and hasJSON are hasTOML in the other formats.
const hasYAML = `
svc_base_uri: https://has.example.com
rate_limit: 5
auth_providers:
  - label: Okta
    protocol: saml
logging:
  level: info
provisioning:
  providers:
    - bearer_token: "` + tokOkta + `"
      domain: canine
    - bearer_token_file: secrets/feline.token
      domain: feline
  servers:
    - p4port: "ssl:chicago:1666"
      p4user: super
      p4passwd: "` + p4Secret + `"
      p4trust: /p4/.p4trust
      domains: [canine, feline]
      leader: [canine]
      key_prefix: chi.
    - name: tokyo
      p4port: "tokyo:1666"
      p4user: super
      p4passwd: "` + p4SecretTokyo + `"
      domains: [feline]
      leader: [feline]
      protected_users: [ops, backup]
`

const hasJSON = `{
  "svc_base_uri": "https://has.example.com",
  "rate_limit": 5,
  "auth_providers": [{"label": "Okta", "protocol": "saml"}],
  "logging": {"level": "info"},
  "provisioning": {
    "providers": [
      {"bearer_token": "` + tokOkta + `", "domain": "canine"},
      {"bearer_token_file": "secrets/feline.token", "domain": "feline"}
    ],
    "servers": [
      {"p4port": "ssl:chicago:1666", "p4user": "super", "p4passwd": "` + p4Secret + `", "p4trust": "/p4/.p4trust",
       "domains": ["canine", "feline"], "leader": ["canine"], "key_prefix": "chi."},
      {"name": "tokyo", "p4port": "tokyo:1666", "p4user": "super", "p4passwd": "` + p4SecretTokyo + `",
       "domains": ["feline"], "leader": ["feline"], "protected_users": ["ops", "backup"]}
    ]
  }
}`

func loadHAS(t *testing.T, name, content string, env []string) (Config, error) {
	t.Helper()
	fs := memFS(t, map[string]string{name: content, "secrets/feline.token": "\n  " + tokFeline + "\n"})
	return Load([]string{"--config", name}, env, fs)
}

func TestProvisioningForms(t *testing.T) {
	for _, tc := range []struct{ file, content string }{
		{"has.toml", hasTOML},
		{"has.yaml", hasYAML},
		{"has.json", hasJSON},
	} {
		t.Run(tc.file, func(t *testing.T) {
			cfg, err := loadHAS(t, tc.file, tc.content, nil)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !cfg.Provisioning || cfg.ConfigFile != tc.file || cfg.P4Port != "" {
				t.Errorf("Provisioning %v, ConfigFile %q, P4Port %q", cfg.Provisioning, cfg.ConfigFile, cfg.P4Port)
			}
			wantTokens := []auth.Token{{Name: "canine", Secret: tokOkta}, {Name: "feline", Secret: tokFeline}}
			if !slices.Equal(cfg.Tokens, wantTokens) {
				t.Errorf("Tokens: %d, names %v", len(cfg.Tokens), tokenNamesOf(cfg.Tokens))
			}
			if len(cfg.Servers) != 2 {
				t.Fatalf("Servers: %d", len(cfg.Servers))
			}
			chi, tok := cfg.Servers[0], cfg.Servers[1]
			for _, c := range []struct {
				what      string
				got, want any
			}{
				{"chicago name", chi.Name, "ssl:chicago:1666"},
				{"chicago domains", chi.Domains, []string{"canine", "feline"}},
				{"chicago leads", chi.Leads, []string{"canine"}},
				{"chicago p4", chi.P4Config().Password == p4Secret && chi.P4Config().Port == "ssl:chicago:1666" && chi.P4Trust == "/p4/.p4trust", true},
				{"chicago key prefix", chi.KeyPrefix, "chi."},
				{"chicago protected users", len(chi.ProtectedUsers), 0},
				{"tokyo name", tok.Name, "tokyo"},
				{"tokyo domains", tok.Domains, []string{"feline"}},
				{"tokyo leads", tok.Leads, []string{"feline"}},
				{"tokyo p4", tok.P4Config().Password == p4SecretTokyo && tok.P4User == "super", true},
				{"tokyo key prefix (default)", tok.KeyPrefix, "p4scim."},
				{"tokyo protected users", tok.BridgeConfig().Protected, []string{"ops", "backup"}},
				{"global rate limit on a server", float64(tok.RateLimit), 5.0},
				{"global rate limit", float64(cfg.RateLimit), 5.0},
				{"no servers in a server", chi.Servers == nil && tok.Servers == nil, true},
				{"routes", cfg.Routes(), []Route{{"canine", []string{"ssl:chicago:1666"}}, {"feline", []string{"tokyo", "ssl:chicago:1666"}}}},
				{"DomainOf canine", cfg.DomainOf("canine"), "canine"},
				{"DomainOf feline", cfg.DomainOf("feline"), "feline"},
				{"DomainOf other", cfg.DomainOf("default"), ""},
			} {
				if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
					t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
				}
			}
			r := cfg.Redacted()
			if r["provisioning.providers"] != "canine,feline" ||
				r["provisioning.servers"] != "name=ssl:chicago:1666,p4port=ssl:chicago:1666,domains=canine|feline,leads=canine; name=tokyo,p4port=tokyo:1666,domains=feline,leads=feline" {
				t.Errorf("Redacted: %q, %q", r["provisioning.providers"], r["provisioning.servers"])
			}
		})
	}
}

func tokenNamesOf(toks []auth.Token) []string {
	var names []string
	for _, t := range toks {
		names = append(names, t.Name)
	}
	return names
}

func TestSingleServerForm(t *testing.T) {
	cfg := mustLoad(t, nil, validEnv(), memFS(t, nil))
	if cfg.Provisioning || len(cfg.Servers) != 1 {
		t.Fatalf("Provisioning %v, %d servers", cfg.Provisioning, len(cfg.Servers))
	}
	s := cfg.Servers[0]
	if s.Name != "default" || !slices.Equal(s.Domains, []string{"default"}) || !slices.Equal(s.Leads, []string{"default"}) ||
		s.P4Port != "perforce:1666" || s.P4Passwd != p4Secret || s.Servers != nil {
		t.Errorf("server: %s %v %v %q", s.Name, s.Domains, s.Leads, s.P4Port)
	}
	if r := cfg.Routes(); len(r) != 1 || r[0].Domain != "default" || !slices.Equal(r[0].Servers, []string{"default"}) {
		t.Errorf("Routes: %v", r)
	}
	for _, name := range []string{"default", "okta", ""} {
		if d := cfg.DomainOf(name); d != "default" {
			t.Errorf("DomainOf(%q) = %q", name, d)
		}
	}
	if _, ok := cfg.Redacted()["provisioning.servers"]; ok {
		t.Error("Redacted shows provisioning servers in the single-server form")
	}
}

// provFile builds a HAS-style TOML file from provider and server entries.
func provFile(entries ...string) string {
	return "svc_base_uri = \"https://has.example.com\"\n[provisioning]\n" + strings.Join(entries, "\n")
}

func provider(domain, token string) string {
	return fmt.Sprintf("[[provisioning.providers]]\ndomain = %q\nbearer_token = %q\n", domain, token)
}

func server(port, domains string, extra ...string) string {
	return fmt.Sprintf("[[provisioning.servers]]\np4port = %q\np4user = \"super\"\np4passwd = %q\ndomains = %s\n%s\n",
		port, p4Secret, domains, strings.Join(extra, "\n"))
}

func TestProvisioningOverrides(t *testing.T) {
	file := provFile(
		provider("okta", tokOkta), provider("entra", tokEntra),
		server("perforce:1666", `["okta"]`, `name = "main"`, `username_rule = "verbatim"`, `key_prefix = "main."`, `p4_trust_any = true`),
		server("ssl:other:1666", `["entra"]`, `name = "other"`, `p4_trust_fingerprint = "`+strings.Repeat("AB:", 19)+`AB"`, `delete_policy = "deactivate"`),
	)
	// Global keys before the tables (after them TOML puts them in the last table).
	cfg, err := loadHAS(t, "/has.toml", "rate_limit = 3\nusername_rule = \"replace\"\n"+file, nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	main, other := cfg.Servers[0], cfg.Servers[1]
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"main username rule", main.UsernameRule, "verbatim"},
		{"other username rule (global)", other.UsernameRule, "replace"},
		{"global username rule", cfg.UsernameRule, "replace"},
		{"main key prefix", main.BridgeConfig().KeyPrefix, "main."},
		{"other key prefix", other.KeyPrefix, "p4scim."},
		{"main trust any", main.P4TrustAny, true},
		{"other fingerprint", other.P4Config().TrustFingerprint != "", true},
		{"other delete policy", string(other.BridgeConfig().Delete), "deactivate"},
		{"main delete policy", main.DeletePolicy, "delete"},
		{"rate limit everywhere", []float64{float64(cfg.RateLimit), float64(main.RateLimit), float64(other.RateLimit)}, []float64{3, 3, 3}},
		{"implicit leads", [][]string{main.Leads, other.Leads}, [][]string{{"okta"}, {"entra"}}},
		{"routes", cfg.Routes(), []Route{{"entra", []string{"other"}}, {"okta", []string{"main"}}}},
		{"redacted source", main.Redacted()["KEY_PREFIX"], "main. (config file, provisioning.servers[1])"},
	} {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
		}
	}
	// The P4_TRUST_ANY warning names its server.
	if !slices.ContainsFunc(cfg.Warnings, func(w string) bool {
		return strings.HasPrefix(w, "provisioning.servers[1] (perforce:1666): P4_TRUST_FINGERPRINT/P4_TRUST_ANY are ignored")
	}) {
		t.Errorf("warnings: %q", cfg.Warnings)
	}
}

func TestProvisioningProblems(t *testing.T) {
	two := []string{provider("canine", tokOkta), provider("feline", tokEntra)}
	tests := []struct {
		name string
		file string
		env  []string
		want []string
	}{
		{"both token and file", provFile(
			"[[provisioning.providers]]\ndomain = \"canine\"\nbearer_token = \""+tokOkta+"\"\nbearer_token_file = \"secrets/feline.token\"\n",
			server("perforce:1666", `["canine"]`)),
			nil, []string{"provisioning.providers[1]: both bearer_token and bearer_token_file are set; keep one"}},
		{"no token", provFile("[[provisioning.providers]]\ndomain = \"canine\"\n", server("perforce:1666", `["canine"]`)),
			nil, []string{"provisioning.providers[1]: bearer_token missing"}},
		{"unreadable token file", provFile("[[provisioning.providers]]\ndomain = \"canine\"\nbearer_token_file = \"/nope\"\n", server("perforce:1666", `["canine"]`)),
			nil, []string{"provisioning.providers[1]: bearer_token_file: cannot read /nope: file does not exist"}},
		{"domain missing", provFile("[[provisioning.providers]]\nbearer_token = \""+tokOkta+"\"\n", server("perforce:1666", `["canine"]`)),
			nil, []string{"provisioning.providers[1]: domain missing", `provisioning.servers[1] (perforce:1666): domains: "canine" is not the domain of any provider`}},
		{"domain malformed", provFile(provider("can-ine", tokOkta), server("perforce:1666", `["can-ine"]`)),
			nil, []string{`provisioning.providers[1]: domain "can-ine" is not a domain name`}},
		{"domain twice", provFile(provider("canine", tokOkta), provider("canine", tokEntra), server("perforce:1666", `["canine"]`)),
			nil, []string{`provisioning.providers[2]: domain "canine" is used twice`}},
		{"weak token", provFile(provider("canine", "keyboard cat"), server("perforce:1666", `["canine"]`)),
			nil, []string{`provisioning.providers[1]: token "canine" is shorter than 32 characters`}},
		{"shared token", provFile(provider("canine", tokOkta), provider("feline", tokOkta), server("perforce:1666", `["canine", "feline"]`)),
			nil, []string{`provisioning.providers[2]: token "feline" has the same secret as token "canine"`}},
		{"unknown provider key", provFile("[[provisioning.providers]]\ndomain = \"canine\"\nbearer_token = \""+tokOkta+"\"\ntoken = \"x\"\n", server("perforce:1666", `["canine"]`)),
			nil, []string{`provisioning.providers[1]: unknown key "token"`}},
		{"server without password", provFile(append(two, server("perforce:1666", `["canine"]`),
			"[[provisioning.servers]]\np4port = \"ssl:tokyo:1666\"\np4user = \"super\"\np4trust = \"/t\"\ndomains = [\"feline\"]\n")...),
			nil, []string{"provisioning.servers[2] (ssl:tokyo:1666): P4PASSWD: missing; "}},
		{"server without port", provFile(provider("canine", tokOkta), "[[provisioning.servers]]\np4user = \"super\"\np4passwd = \"x\"\ndomains = [\"canine\"]\n"),
			nil, []string{"provisioning.servers[1]: P4PORT: missing"}},
		{"server ssl without trust", provFile(provider("canine", tokOkta), server("ssl:x:1666", `["canine"]`)),
			nil, []string{"provisioning.servers[1] (ssl:x:1666): P4_TRUST_FINGERPRINT: missing for the ssl: P4PORT"}},
		{"server bad setting", provFile(provider("canine", tokOkta), server("perforce:1666", `["canine"]`, `delete_policy = "shred"`)),
			nil, []string{`provisioning.servers[1] (perforce:1666): DELETE_POLICY: "shred" is not allowed`}},
		{"unknown server key", provFile(provider("canine", tokOkta), server("perforce:1666", `["canine"]`, `p4client = "ws"`)),
			nil, []string{`provisioning.servers[1] (perforce:1666): unknown key "p4client"; a server entry takes name, domains, leader and p4port`}},
		{"global-only setting in a server", provFile(provider("canine", tokOkta), server("perforce:1666", `["canine"]`, `rate_limit = 3`)),
			nil, []string{`provisioning.servers[1] (perforce:1666): unknown key "rate_limit"`}},
		{"no domains", provFile(provider("canine", tokOkta), server("perforce:1666", `[]`), server("other:1666", `["canine"]`)),
			nil, []string{"provisioning.servers[1] (perforce:1666): domains missing"}},
		{"unknown domain", provFile(provider("canine", tokOkta), server("perforce:1666", `["canine", "bovine"]`)),
			nil, []string{`provisioning.servers[1] (perforce:1666): domains: "bovine" is not the domain of any provider`}},
		{"leader not served", provFile(append(two, server("perforce:1666", `["canine"]`, `leader = ["feline"]`), server("other:1666", `["feline"]`))...),
			nil, []string{`provisioning.servers[1] (perforce:1666): leader: "feline" is not in this server's domains`}},
		{"leader unknown", provFile(provider("canine", tokOkta), server("perforce:1666", `["canine"]`, `leader = ["bovine"]`)),
			nil, []string{`leader: "bovine" is not the domain of any provider`}},
		{"domain unserved", provFile(append(two, server("perforce:1666", `["canine"]`))...),
			nil, []string{`provisioning.servers: no server serves domain "feline"`}},
		{"two leaders", provFile(provider("canine", tokOkta), server("a:1666", `["canine"]`, `leader = ["canine"]`), server("b:1666", `["canine"]`, `leader = ["canine"]`)),
			nil, []string{`provisioning.servers[2] (b:1666): leader: domain "canine" is already led by provisioning.servers[1] (a:1666)`}},
		{"no leader", provFile(provider("canine", tokOkta), server("a:1666", `["canine"]`), server("b:1666", `["canine"]`)),
			nil, []string{`provisioning.servers: domain "canine" is served by a:1666, b:1666 but none leads it`}},
		{"rules differ", provFile(provider("canine", tokOkta),
			server("a:1666", `["canine"]`, `leader = ["canine"]`, `username_rule = "verbatim"`),
			server("b:1666", `["canine"]`, `groupname_rule = "verbatim"`)),
			nil, []string{
				`provisioning.servers[2] (b:1666): USERNAME_RULE: "localpart" differs from "verbatim" on a:1666, which also serves domain "canine"`,
				`provisioning.servers[2] (b:1666): GROUPNAME_RULE: "verbatim" differs from "replace" on a:1666`,
			}},
		{"bad name", provFile(provider("canine", tokOkta), server("a:1666", `["canine"]`, `name = "a b"`)),
			nil, []string{`provisioning.servers[1] (a:1666): name "a b" is not a usable label`}},
		{"name twice", provFile(provider("canine", tokOkta), server("a:1666", `["canine"]`, `name = "x"`, `leader = ["canine"]`), server("b:1666", `["canine"]`, `name = "x"`)),
			nil, []string{`provisioning.servers[2] (b:1666): name "x" is used by another server too`}},
		{"same port, no names", provFile(provider("canine", tokOkta), server("a:1666", `["canine"]`, `leader = ["canine"]`), server("a:1666", `["canine"]`)),
			nil, []string{`provisioning.servers[2] (a:1666): name "a:1666" is used by another server too`}},
		{"P4PORT too", provFile(provider("canine", tokOkta), server("a:1666", `["canine"]`)),
			[]string{"P4PORT=perforce:1666"}, []string{"P4PORT: set (environment) together with the [provisioning] servers, which would be ambiguous; remove P4PORT or the [provisioning] servers"}},
		{"P4PORT at the top of the file", "p4port = \"perforce:1666\"\n" + provFile(provider("canine", tokOkta), server("a:1666", `["canine"]`)),
			nil, []string{"P4PORT: set (config file) together with the [provisioning] servers"}},
		{"BEARER_TOKEN too", provFile(provider("canine", tokOkta), server("a:1666", `["canine"]`)),
			[]string{"BEARER_TOKEN=" + tokPlain}, []string{"BEARER_TOKEN: set (environment) together with [provisioning] providers; with providers each IdP's token is in its provider entry"}},
		{"BEARER_TOKENS and OAUTH_CLIENTS too", provFile(provider("canine", tokOkta), server("a:1666", `["canine"]`)),
			[]string{"BEARER_TOKENS=x=" + tokPlain, "OAUTH_CLIENTS=okta:" + oauthSecr}, []string{
				"BEARER_TOKENS: set (environment) together with [provisioning] providers",
				"OAUTH_CLIENTS: set (environment) together with [provisioning] providers",
			}},
		{"providers without servers", provFile(provider("canine", tokOkta)),
			nil, []string{"provisioning.servers: none, but there are providers"}},
		{"servers without providers", provFile(server("a:1666", `["canine"]`)),
			nil, []string{"provisioning.providers: none, but there are servers", `domains: "canine" is not the domain of any provider`}},
		{"empty provisioning", provFile(), nil, []string{"provisioning: empty"}},
		{"dev mode", provFile(provider("canine", tokOkta), server("a:1666", `["canine"]`)),
			[]string{"DEV=true"}, []string{"DEV: dev mode serves one embedded server; remove [provisioning]"}},
		{"providers not a list", provFile("providers = \"x\"\n"), nil, []string{"provisioning.providers: must be a list of tables"}},
		{"unknown provisioning key", provFile("mode = \"x\"\n", provider("canine", tokOkta), server("a:1666", `["canine"]`)),
			nil, []string{`provisioning: unknown key "mode"`}},
		{"a p4scim setting at the top level keeps its meaning", "rate_limit = \"fast\"\n" + provFile(provider("canine", tokOkta), server("a:1666", `["canine"]`)),
			nil, []string{`RATE_LIMIT: "fast" is not a number`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadHAS(t, "/has.toml", tc.file, tc.env)
			if err == nil {
				t.Fatal("accepted")
			}
			got := problems(t, err)
			for _, w := range tc.want {
				if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, w) }) {
					t.Errorf("no problem contains %q; got:\n  %s", w, strings.Join(got, "\n  "))
				}
			}
			for _, s := range []string{tokOkta, tokEntra, tokFeline, tokPlain, p4Secret, oauthSecr} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("a problem shows a secret: %v", err)
				}
				if strings.Contains(cfg.String()+fmt.Sprint(cfg.Redacted()), s) {
					t.Errorf("the Config read so far shows a secret:\n%s", cfg)
				}
			}
		})
	}
}

// TestProvisioningAllProblems: several mistakes, one Error listing them all.
func TestProvisioningAllProblems(t *testing.T) {
	file := provFile(
		provider("canine", "keyboard cat"),
		"[[provisioning.providers]]\ndomain = \"feline\"\n",
		server("a:1666", `["canine", "bovine"]`, `p4client = "ws"`),
		"[[provisioning.servers]]\np4port = \"b:1666\"\ndomains = [\"canine\"]\n",
	)
	_, err := loadHAS(t, "/has.toml", file, []string{"P4PORT=perforce:1666", "BEARER_TOKEN=" + tokPlain})
	got := problems(t, err)
	for _, w := range []string{
		`provisioning.servers[1] (a:1666): unknown key "p4client"`,
		`token "canine" is shorter than 32 characters`,
		"provisioning.providers[2]: bearer_token missing",
		`domains: "bovine" is not the domain of any provider`,
		"provisioning.servers[2] (b:1666): P4USER: missing",
		"provisioning.servers[2] (b:1666): P4PASSWD: missing",
		`domain "canine" is served by a:1666, b:1666 but none leads it`,
		`no server serves domain "feline"`,
		"remove P4PORT or the [provisioning] servers",
		"BEARER_TOKEN: set (environment) together with [provisioning] providers",
	} {
		if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, w) }) {
			t.Errorf("no problem contains %q", w)
		}
	}
	if t.Failed() {
		t.Logf("problems:\n  %s", strings.Join(got, "\n  "))
	}
}

// TestProvisioningFlatFileUnchanged: without [provisioning] HAS's keys are
// still unknown keys.
func TestProvisioningFlatFileUnchanged(t *testing.T) {
	fs := memFS(t, map[string]string{"/p.toml": "svc_base_uri = \"https://x\"\n[logging]\nlevel = \"info\"\n"})
	_, err := Load([]string{"--config", "/p.toml"}, validEnv(), fs)
	got := strings.Join(problems(t, err), "\n")
	if !strings.Contains(got, `unknown key "svc_base_uri"`) || !strings.Contains(got, `unknown key "logging.level"`) {
		t.Errorf("problems: %s", got)
	}
}

func TestProvisioningSecretsNeverShown(t *testing.T) {
	cfg, err := loadHAS(t, "/has.toml", hasTOML, nil)
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "cfg", cfg, "server", cfg.Servers[1])
	outputs := map[string]string{
		"String":   cfg.String() + cfg.Servers[0].String() + cfg.Servers[1].String(),
		"%v":       fmt.Sprintf("%v %v", cfg, cfg.Servers),
		"%#v":      fmt.Sprintf("%#v", cfg),
		"Redacted": fmt.Sprint(cfg.Redacted(), cfg.Servers[0].Redacted()),
		"slog":     logged.String(),
	}
	for how, out := range outputs {
		for _, s := range []string{tokOkta, tokFeline, p4Secret, p4SecretTokyo} {
			if strings.Contains(out, s) {
				t.Errorf("%s shows a secret:\n%s", how, out)
			}
		}
	}
	if r := cfg.Servers[1].Redacted(); r["P4PASSWD"] != "<redacted> (config file, provisioning.servers[2])" {
		t.Errorf("server P4PASSWD: %q", r["P4PASSWD"])
	}
}

func TestProvisioningChanged(t *testing.T) {
	a, err := loadHAS(t, "/has.toml", hasTOML, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := loadHAS(t, "/has.toml", strings.Replace(hasTOML, p4SecretTokyo, p4SecretTokyo+"x", 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := loadHAS(t, "/has.toml", strings.Replace(hasTOML, tokOkta, tokEntra, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Changed(b); !slices.Equal(got, []string{"provisioning"}) {
		t.Errorf("a server's password changed: Changed = %v", got)
	}
	if got := a.Changed(c); len(got) != 0 {
		t.Errorf("a provider's token changed (a reload applies it): Changed = %v", got)
	}
	single := mustLoad(t, nil, validEnv(), memFS(t, nil))
	if got := single.Changed(a); !slices.Contains(got, "provisioning") {
		t.Errorf("single -> provisioning: Changed = %v", got)
	}
}

// TestProvisioningDocExample loads the HAS migration example of
// docs/operations.md: the example an admin copies must be a valid
// configuration.
func TestProvisioningDocExample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "operations.md"))
	if err != nil {
		t.Skipf("docs/operations.md: %v", err)
	}
	_, rest, ok := strings.Cut(string(b), "<!-- provisioning-example -->\n```toml\n")
	if !ok {
		t.Fatal("docs/operations.md has no <!-- provisioning-example --> TOML block")
	}
	example, _, _ := strings.Cut(rest, "```")
	fs := afero.NewMemMapFs()
	files := map[string]string{
		"/etc/has/config.toml":    example,
		"/etc/p4scim/okta.token":  tokOkta + "\n",
		"/etc/p4scim/entra.token": tokEntra + "\n",
		"/etc/p4scim/p4trust":     "",
	}
	for name, text := range files {
		if err := afero.WriteFile(fs, name, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := Load(nil, []string{"CONFIG_FILE=/etc/has/config.toml"}, fs)
	if err != nil {
		t.Fatalf("the documented example does not load: %v", err)
	}
	got := fmt.Sprint(cfg.Routes())
	if want := "[{canine [ssl:chicago:1666]} {feline [ssl:tokyo:1666 ssl:chicago:1666]}]"; got != want {
		t.Errorf("routes of the example: %s, want %s", got, want)
	}
}

// FuzzProvisioningFile feeds arbitrary config files with a [provisioning]
// table to Load: it never panics, fails only with an *Error, and a
// configuration it accepts is one the daemon can route: every domain has
// servers, its first server leads it, and every token's domain is routed.
func FuzzProvisioningFile(f *testing.F) {
	f.Add(hasTOML)
	f.Add(strings.Replace(hasTOML, `leader = ["feline"]`, "", 1))
	f.Add("[provisioning]\nproviders = 3\n")
	f.Fuzz(func(t *testing.T, text string) {
		cfg, err := loadHAS(t, "/c.toml", text, nil)
		if err != nil {
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("Load failed with %T, want *Error: %v", err, err)
			}
			return
		}
		if len(cfg.Servers) == 0 {
			t.Fatal("an accepted configuration has no server")
		}
		routed := map[string]bool{}
		for _, r := range cfg.Routes() {
			if len(r.Servers) == 0 {
				t.Fatalf("domain %q has no server", r.Domain)
			}
			for _, s := range cfg.Servers {
				if s.Name == r.Servers[0] && len(r.Servers) > 1 && !slices.Contains(s.Leads, r.Domain) {
					t.Fatalf("domain %q: first server %q does not lead it", r.Domain, s.Name)
				}
			}
			routed[r.Domain] = true
		}
		for _, tok := range cfg.Tokens {
			if d := cfg.DomainOf(tok.Name); !routed[d] {
				t.Fatalf("token %q has domain %q, which has no route", tok.Name, d)
			}
		}
	})
}
