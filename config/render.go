package config

import (
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"

	"github.com/p4scim/p4scim/bridge"
	"github.com/p4scim/p4scim/p4"
)

// Redacted returns every setting as text, secrets replaced, for the
// start-up log and `p4scim check`: value and source ("P4PORT":
// "ssl:perforce:1666 (environment)"). Token and client names are shown,
// never their secrets.
func (c Config) Redacted() map[string]string {
	out := map[string]string{}
	for _, s := range Settings() {
		v, ok := c.raw[s.Name]
		if !ok {
			continue
		}
		switch {
		case s.Name == "BEARER_TOKEN":
			v = "<redacted>"
		case s.Name == "BEARER_TOKENS":
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
		case s.Name == "OAUTH_CLIENTS":
			var ids []string
			for _, e := range cfgList(v) {
				id, _, ok := strings.Cut(e, ":")
				if id = strings.TrimSpace(id); !ok || !isClientID(id) {
					id = "?"
				}
				ids = append(ids, id+":<redacted>")
			}
			v = strings.Join(ids, ",")
		case s.Secret:
			v = "<redacted>"
		}
		out[s.Name] = v + " (" + c.sources[s.Name] + ")"
	}
	if len(c.Tokens) > 0 {
		names := make([]string, 0, len(c.Tokens))
		for _, t := range c.Tokens {
			names = append(names, t.Name)
		}
		out["tokens"] = strings.Join(names, ",")
	}
	if c.Provisioning {
		out["provisioning.providers"] = strings.Join(c.provDomains, ",")
		out["provisioning.servers"] = c.describeServers()
	}
	return out
}

// Changed lists the settings whose value differs between c and next, in
// table order: what a reload compares. Values are compared as given, so a
// changed secret counts too; the list holds names only. A change in the
// config file's [provisioning] table is listed as "provisioning".
func (c Config) Changed(next Config) []string {
	var out []string
	for _, s := range Settings() {
		if c.raw[s.Name] != next.raw[s.Name] {
			out = append(out, s.Name)
		}
	}
	if c.Provisioning != next.Provisioning || c.provHash != next.provHash {
		out = append(out, "provisioning")
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
		P4User:               c.P4User,
		KeyPrefix:            c.KeyPrefix,
		UserNameRule:         bridge.NameRule(c.UsernameRule),
		GroupNameRule:        bridge.NameRule(c.GroupnameRule),
		NewUserType:          c.NewUserType,
		NewUserAuth:          c.NewUserAuthMethod,
		DisablePasswordSync:  !c.PasswordSync,
		DenyGroup:            c.DeprovisionGroup,
		Delete:               bridge.DeletePolicy(c.DeletePolicy),
		Deactivate:           bridge.DeactivatePolicy(c.DeactivatePolicy),
		DeleteAfter:          c.DeleteAfter,
		LockTTL:              c.LockTTL,
		AllowUserRename:      c.AllowUserRename,
		Protected:            slices.Clone(c.ProtectedUsers),
		ProtectedGroups:      slices.Clone(c.ProtectedGroups),
		AllowPrivilegedUsers: c.AllowPrivilegedUsers,
	}
}
