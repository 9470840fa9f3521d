package main

import (
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/p4scim/p4scim/config"
	"github.com/p4scim/p4scim/scimhandlers/auth"
)

// tokenFileCheckEvery is how often, at most, a request makes the daemon
// look at BEARER_TOKEN_FILE.
const tokenFileCheckEvery = 5 * time.Second

// tokenReloader picks up a changed BEARER_TOKEN_FILE without a restart, as
// HAS does (it re-reads the file per request): on a request, at most once
// every tokenFileCheckEvery, it compares the file's modification time and
// size with the last ones read, and on a change reads the file, checks the
// tokens as start-up does, and replaces the accepted set. A file that
// cannot be read, or whose tokens fail a check (empty, as when caught half
// written; a weak or repeated secret), changes nothing: the previous tokens stay in use
// and a warning says why, naming tokens but never showing a secret. The
// next change of the file is tried again, as certReloader does for TLS.
type tokenReloader struct {
	path  string
	fixed []auth.Token // BEARER_TOKEN and BEARER_TOKENS: kept on every reload
	keys  *auth.Keyring
	log   *slog.Logger
	now   func() time.Time

	mu      sync.Mutex
	next    time.Time // no look at the file before this
	modTime time.Time
	size    int64
	missing bool // the last look failed; warned once
	current []auth.Token
}

func newTokenReloader(cfg config.Config, keys *auth.Keyring, log *slog.Logger) *tokenReloader {
	r := &tokenReloader{path: cfg.TokenFile, fixed: cfg.FixedTokens, keys: keys, log: log, now: time.Now, current: cfg.Tokens}
	// config.Load read the file just now; a change from here on is a change.
	// (One made in between is picked up too: its tokens then differ.)
	if st, err := os.Stat(r.path); err == nil {
		r.modTime, r.size = st.ModTime(), st.Size()
	}
	r.next = r.now().Add(tokenFileCheckEvery)
	return r
}

// Refresh is auth.Options.Refresh. Requests that arrive while another one
// looks at the file do not wait for it.
func (r *tokenReloader) Refresh() {
	if !r.mu.TryLock() {
		return
	}
	defer r.mu.Unlock()
	now := r.now()
	if now.Before(r.next) {
		return
	}
	r.next = now.Add(tokenFileCheckEvery)
	st, err := os.Stat(r.path)
	if err != nil {
		if !r.missing {
			r.log.Warn("BEARER_TOKEN_FILE cannot be read; keeping the previous tokens", "file", r.path, "err", config.PathErr(err))
		}
		r.missing, r.modTime, r.size = true, time.Time{}, -1
		return
	}
	r.missing = false
	if st.ModTime().Equal(r.modTime) && st.Size() == r.size {
		return
	}
	r.modTime, r.size = st.ModTime(), st.Size()
	b, err := os.ReadFile(r.path)
	if err != nil {
		r.log.Warn("BEARER_TOKEN_FILE changed but cannot be read; keeping the previous tokens", "file", r.path, "err", config.PathErr(err))
		return
	}
	tokens, problems := r.check(string(b))
	if len(problems) > 0 {
		r.log.Warn("BEARER_TOKEN_FILE changed but cannot be used; keeping the previous tokens", "file", r.path,
			"problems", strings.Join(problems, "; "))
		return
	}
	if slices.Equal(tokens, r.current) {
		return
	}
	r.keys.Set(tokens)
	r.current = tokens
	r.log.Info("BEARER_TOKEN_FILE reloaded", "file", r.path, "tokens", tokenNames(tokens))
}

// check parses the file and applies start-up's rules to the whole set.
func (r *tokenReloader) check(text string) ([]auth.Token, []string) {
	var problems []string
	fail := func(setting, format string, a ...any) {
		problems = append(problems, setting+": "+fmt.Sprintf(format, a...))
	}
	toks := make([]config.TokenSource, 0, len(r.fixed)+4)
	for _, t := range r.fixed {
		toks = append(toks, config.TokenSource{Setting: "BEARER_TOKEN(S)", Token: t})
	}
	fromFile := config.ParseTokenFile(text)
	for _, t := range fromFile {
		toks = append(toks, config.TokenSource{Setting: "BEARER_TOKEN_FILE", Token: t})
	}
	tokens := config.CheckTokens(toks, fail)
	if len(fromFile) == 0 {
		// Most likely caught half written. To drop every token of the
		// file, unset BEARER_TOKEN_FILE and restart.
		fail("BEARER_TOKEN_FILE", "holds no token")
	}
	return tokens, problems
}

// tokenNames lists tokens as name#fingerprint, as the start-up line does.
func tokenNames(tokens []auth.Token) string {
	names := make([]string, 0, len(tokens))
	for _, t := range tokens {
		names = append(names, t.Name+"#"+fingerprint(t.Secret))
	}
	return strings.Join(names, ",")
}
