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
// tokens as start-up does, and replaces the accepted set.
//
// It fails closed: the file is the list of the tokens it grants, so a file
// removed, unreadable or emptied (no token left, comments aside) grants
// none, and its tokens stop working at once; BEARER_TOKEN and
// BEARER_TOKENS stay valid. A file whose tokens fail a check (a weak or
// repeated secret, a repeated name) adds nothing, but no token it no longer
// lists stays valid either: the accepted set becomes the previous one
// less what the file dropped, so a mistake in a rotation can neither let a
// weak token in nor keep a revoked one alive. Each outcome is logged,
// naming tokens but never showing a secret, and counted (OnReload, a
// metric). A file that fails is tried again on its next change, as
// certReloader does for TLS.
type tokenReloader struct {
	path     string
	fixed    []auth.Token // BEARER_TOKEN and BEARER_TOKENS: kept on every reload
	keys     *auth.Keyring
	log      *slog.Logger
	now      func() time.Time
	onReload func(outcome string) // one of the tokenFile* outcomes; may be nil

	mu      sync.Mutex
	next    time.Time // no look at the file before this
	modTime time.Time
	size    int64
	missing bool // the last look failed; acted on once
	current []auth.Token
}

// Outcomes of a look at a changed BEARER_TOKEN_FILE, for the metric.
const (
	tokenFileReloaded = "reloaded" // the file's tokens replaced the previous ones
	tokenFileRevoked  = "revoked"  // removed, unreadable or empty: none of its tokens is accepted
	tokenFileRejected = "rejected" // a token failed a check: nothing added, tokens no longer listed dropped
)

func newTokenReloader(cfg config.Config, keys *auth.Keyring, log *slog.Logger, onReload func(string)) *tokenReloader {
	r := &tokenReloader{path: cfg.TokenFile, fixed: cfg.FixedTokens, keys: keys, log: log, now: time.Now,
		onReload: onReload, current: cfg.Tokens}
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
			r.revoke("BEARER_TOKEN_FILE cannot be read; its tokens are no longer accepted", "err", config.PathErr(err))
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
		r.revoke("BEARER_TOKEN_FILE changed but cannot be read; its tokens are no longer accepted", "err", config.PathErr(err))
		return
	}
	fromFile := config.ParseTokenFile(string(b))
	if len(fromFile) == 0 {
		r.revoke("BEARER_TOKEN_FILE holds no token; its tokens are no longer accepted")
		return
	}
	tokens, problems := r.check(fromFile)
	if len(problems) > 0 {
		kept := stillListed(r.current, r.fixed, fromFile)
		r.accept(kept)
		r.log.Warn("BEARER_TOKEN_FILE changed but cannot be used; no token added, the tokens it no longer lists are dropped",
			"file", r.path, "problems", strings.Join(problems, "; "), "tokens", tokenNames(kept))
		r.report(tokenFileRejected)
		return
	}
	if slices.Equal(tokens, r.current) {
		return
	}
	r.accept(tokens)
	r.log.Info("BEARER_TOKEN_FILE reloaded", "file", r.path, "tokens", tokenNames(tokens))
	r.report(tokenFileReloaded)
}

// revoke drops every token of the file (fail closed), keeping BEARER_TOKEN
// and BEARER_TOKENS.
func (r *tokenReloader) revoke(msg string, attrs ...any) {
	r.accept(r.fixed)
	r.log.Error(msg, append([]any{"file", r.path, "tokens", tokenNames(r.fixed)}, attrs...)...)
	r.report(tokenFileRevoked)
}

// accept makes tokens the accepted set, under r.mu.
func (r *tokenReloader) accept(tokens []auth.Token) {
	if !slices.Equal(tokens, r.current) {
		r.keys.Set(tokens)
		r.current = tokens
	}
}

func (r *tokenReloader) report(outcome string) {
	if r.onReload != nil {
		r.onReload(outcome)
	}
}

// stillListed returns the tokens of current that are fixed or whose secret
// the file still lists.
func stillListed(current, fixed, fromFile []auth.Token) []auth.Token {
	listed := map[string]bool{}
	for _, t := range append(slices.Clone(fixed), fromFile...) {
		listed[t.Secret] = true
	}
	out := make([]auth.Token, 0, len(current))
	for _, t := range current {
		if listed[t.Secret] {
			out = append(out, t)
		}
	}
	return out
}

// check applies start-up's rules to the whole set: the fixed tokens and
// the file's.
func (r *tokenReloader) check(fromFile []auth.Token) ([]auth.Token, []string) {
	var problems []string
	fail := func(setting, format string, a ...any) {
		problems = append(problems, setting+": "+fmt.Sprintf(format, a...))
	}
	toks := make([]config.TokenSource, 0, len(r.fixed)+len(fromFile))
	for _, t := range r.fixed {
		toks = append(toks, config.TokenSource{Setting: "BEARER_TOKEN(S)", Token: t})
	}
	for _, t := range fromFile {
		toks = append(toks, config.TokenSource{Setting: "BEARER_TOKEN_FILE", Token: t})
	}
	return config.CheckTokens(toks, fail), problems
}

// tokenNames lists tokens as name#fingerprint, as the start-up line does.
func tokenNames(tokens []auth.Token) string {
	names := make([]string, 0, len(tokens))
	for _, t := range tokens {
		names = append(names, t.Name+"#"+fingerprint(t.Secret))
	}
	return strings.Join(names, ",")
}
