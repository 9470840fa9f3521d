package main

import (
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/spf13/afero"

	"github.com/p4scim/p4scim/config"
	"github.com/p4scim/p4scim/scimhandlers/auth"
)

// reloader applies a SIGHUP (logrotate's postrotate, systemctl reload,
// kill -HUP): it reads the configuration again from the same arguments,
// environment and files as at start, and applies what a running daemon
// can change without dropping a connection: the bearer tokens (the .env
// or config file's BEARER_TOKEN and BEARER_TOKENS, and BEARER_TOKEN_FILE
// read now), the TLS certificate and key (read now), and LOG_LEVEL. Any
// other change is logged as needing a restart. A configuration that no
// longer validates changes nothing, and the daemon serves on: a reload
// never stops it.
type reloader struct {
	args, environ []string
	running       config.Config // the configuration as applied
	level         *slog.LevelVar
	keys          *auth.Keyring
	tokenFile     *tokenReloader // nil without BEARER_TOKEN_FILE
	certs         *certReloader  // nil without TLS
	log           *slog.Logger
}

// reloadable are the settings a reload applies; the others need a restart.
func reloadable() []string {
	return []string{"LOG_LEVEL", "BEARER_TOKEN", "BEARER_TOKENS", "BEARER_TOKEN_FILE"}
}

func (r *reloader) reload() {
	next, err := config.Load(r.args, r.environ, afero.NewOsFs())
	for _, w := range next.Warnings {
		r.log.Warn("configuration", "warning", w)
	}
	if err != nil {
		r.log.Error("SIGHUP: the configuration is invalid; nothing reloaded, serving on as before", "err", err)
		return
	}
	r.level.Set(next.LogLevel)

	// Dev mode's generated token is not in the configuration: keep it.
	if !(next.Dev && len(next.Tokens) == 0) {
		if next.TokenFile != r.running.TokenFile {
			r.log.Warn("SIGHUP: BEARER_TOKEN_FILE names another file; its tokens are in use now, but only a restart watches it for changes", "file", next.TokenFile)
		}
		r.keys.Set(next.Tokens)
		if r.tokenFile != nil {
			r.tokenFile.replace(next.FixedTokens, next.Tokens)
		}
	}

	if r.certs != nil {
		if next.TLSCertFile != r.running.TLSCertFile || next.TLSKeyFile != r.running.TLSKeyFile {
			r.log.Warn("SIGHUP: TLS_CERT_FILE/TLS_KEY_FILE name other files; restart to use them")
		} else {
			r.certs.reload()
		}
	}

	if changed := restartNeeded(r.running, next); len(changed) > 0 {
		r.log.Warn("SIGHUP: changed settings take effect only on a restart", "settings", strings.Join(changed, ","))
	}
	r.log.Info("SIGHUP: configuration reloaded", "log_level", next.LogLevel.String(), "tokens", tokenNames(next.Tokens))
	// What runs is the old configuration but for what was just applied.
	r.running.LogLevel, r.running.Tokens, r.running.FixedTokens = next.LogLevel, next.Tokens, next.FixedTokens
}

// restartNeeded lists the settings whose value differs between old and
// next, other than those a reload applies.
func restartNeeded(old, next config.Config) []string {
	return slices.DeleteFunc(old.Changed(next), func(name string) bool { return slices.Contains(reloadable(), name) })
}

// replace makes tokens the accepted set after a reload has read and checked
// them (fixed are the ones from BEARER_TOKEN and BEARER_TOKENS), so that
// the next change of the file is compared with them.
func (r *tokenReloader) replace(fixed, tokens []auth.Token) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fixed, r.current = slices.Clone(fixed), slices.Clone(tokens)
	if st, err := os.Stat(r.path); err == nil {
		r.modTime, r.size, r.missing = st.ModTime(), st.Size(), false
	}
}

// reload reads the certificate and key now, whatever their modification
// times say (a copy that kept the old time, a bind mount's new target).
// A pair that cannot be loaded leaves the current one in use, and is
// tried again at the next handshake.
func (r *certReloader) reload() {
	r.mu.Lock()
	r.modTime = r.modTime.AddDate(-100, 0, 0)
	r.mu.Unlock()
	_, _ = r.get() // logs the outcome
}
