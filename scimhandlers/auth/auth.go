// Package auth authenticates SCIM requests with bearer tokens.
//
// It owns the comparison (constant time, over fixed-length SHA-256 digests
// so that neither a token's content nor its length leaks through timing),
// rotation (several named tokens are valid at once, so an operator can add
// the new token, move the IdP over, then drop the old one), and the SCIM
// error body and RFC 6750 challenge of every 401. It also offers an OAuth
// 2.0 client-credentials token endpoint (RFC 6749 §4.4) for IdPs that prefer
// short-lived tokens: signed JWTs that every replica with the same
// configuration verifies, so nothing is kept in memory; the middleware
// accepts them through the Issued interface.
//
// A configured secret S is accepted both as S and as base64(S): HAS compares
// the presented token with base64(BEARER_TOKEN) and its documentation tells
// operators to give the IdP the encoded form, so an IdP moved from HAS to
// p4scim keeps working, while a plain token works as anyone would expect.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	scimerrors "github.com/elimity-com/scim/errors"
)

// Token is one accepted bearer token. Name identifies it in the audit log
// (which IdP, which rotation generation) without revealing it.
type Token struct {
	Name   string
	Secret string
}

// Issued looks up tokens issued by some other authority, such as the OAuth
// token endpoint of this package. Lookup must not let timing tell how close
// a forged token came to a real one: TokenEndpoint compares signatures in
// constant time.
type Issued interface {
	Lookup(token string) (name string, ok bool)
}

// Failure reasons passed to Options.OnFailure. They form a small fixed set
// so that they can be used as a metric label.
const (
	ReasonMissing   = "missing"   // no Authorization header
	ReasonScheme    = "scheme"    // a scheme other than Bearer
	ReasonMalformed = "malformed" // Bearer without a well-formed token
	ReasonInvalid   = "invalid"   // a well-formed token that matches nothing
)

// Options tune the middleware.
type Options struct {
	// OnFailure is called with one of the Reason constants for every
	// refused request: a metric hook. It must be safe for concurrent use.
	OnFailure func(reason string)
	// Issued, if set, also accepts the tokens it knows.
	Issued Issued
	// Realm is the realm of the WWW-Authenticate challenge; default "p4scim".
	Realm string
	// Refresh, if set, runs before each request's token is checked: the
	// hook through which a token file is re-read after a rotation (it
	// decides itself how often it looks, and calls Keyring.Set). It must be
	// cheap and safe for concurrent use.
	Refresh func()
	// LimitFailure, if set, is asked on every refused request whether the
	// client has failed too often (a per-address budget, limit.Failures):
	// then the answer is a 429 with an integer Retry-After instead of the
	// 401, so that a guesser is slowed. Only failures reach it, so a
	// flood of bad tokens never spends what authenticated clients use. It
	// must be cheap and safe for concurrent use.
	LimitFailure func(r *http.Request) (retryAfter int, limited bool)
}

// maxTokenLen bounds the token the middleware is willing to hash. Far
// above any real secret; it only stops a client from making every request
// hash a megabyte of header.
const maxTokenLen = 4096

type credential struct {
	name string
	raw  [sha256.Size]byte // digest of the secret as configured
	b64  [sha256.Size]byte // digest of its base64 form (what HAS expects)
}

type nameKey struct{}

// TokenName returns the name of the token that authenticated the request,
// or "" when the request did not pass through the middleware.
func TokenName(ctx context.Context) string {
	s, _ := ctx.Value(nameKey{}).(string)
	return s
}

// WithTokenName returns a context carrying name as the authenticated token
// name, as the middleware does. For tests and for other authenticators.
func WithTokenName(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, nameKey{}, name)
}

// Keyring is the set of accepted bearer tokens. Set replaces it while the
// middleware serves, so rotated tokens take effect without a restart; a
// request sees either the old set or the new one, never a mix. It is safe
// for concurrent use.
type Keyring struct {
	creds atomic.Pointer[[]credential]
}

// NewKeyring returns a keyring holding tokens.
func NewKeyring(tokens []Token) *Keyring {
	k := &Keyring{}
	k.Set(tokens)
	return k
}

// Set replaces the accepted tokens. Tokens with an empty secret are
// skipped: an empty secret must never match an empty token.
func (k *Keyring) Set(tokens []Token) {
	creds := make([]credential, 0, len(tokens))
	for _, t := range tokens {
		if t.Secret == "" {
			continue
		}
		creds = append(creds, credential{
			name: t.Name,
			raw:  sha256.Sum256([]byte(t.Secret)),
			b64:  sha256.Sum256([]byte(base64.StdEncoding.EncodeToString([]byte(t.Secret)))),
		})
	}
	k.creds.Store(&creds)
}

func (k *Keyring) current() []credential { return *k.creds.Load() }

// New returns the authentication middleware. Every configured token is
// valid; the caller validates their strength (cmd/p4scim refuses short and
// well-known tokens at start-up). With no tokens and no Issued every
// request is refused: failing closed is the only safe reading of an empty
// configuration.
func New(tokens []Token, opts Options) func(http.Handler) http.Handler {
	return NewWithKeyring(NewKeyring(tokens), opts)
}

// NewWithKeyring is New with tokens that can change while it serves: the
// middleware accepts what keys holds when each request arrives.
func NewWithKeyring(keys *Keyring, opts Options) func(http.Handler) http.Handler {
	realm := opts.Realm
	if realm == "" {
		realm = "p4scim"
	}
	fail := func(w http.ResponseWriter, r *http.Request, reason string, presented bool) {
		if opts.OnFailure != nil {
			opts.OnFailure(reason)
		}
		if opts.LimitFailure != nil {
			if s, limited := opts.LimitFailure(r); limited {
				w.Header().Set("Retry-After", strconv.Itoa(s))
				writeError(w, http.StatusTooManyRequests,
					"Too many failed authentications from this address; retry after "+strconv.Itoa(s)+" seconds.")
				return
			}
		}
		// RFC 6750 §3.1: no error code when the request carried no bearer
		// token at all; invalid_token when one was presented.
		challenge := `Bearer realm="` + realm + `"`
		if presented {
			challenge += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
		writeError(w, http.StatusUnauthorized, detail(reason))
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token, reason := bearer(r.Header.Values("Authorization"))
			if reason != "" {
				fail(w, r, reason, reason == ReasonMalformed)
				return
			}
			if opts.Refresh != nil {
				opts.Refresh()
			}
			name, ok := match(keys.current(), token)
			if !ok && opts.Issued != nil {
				name, ok = opts.Issued.Lookup(token)
			}
			if !ok {
				fail(w, r, ReasonInvalid, true)
				return
			}
			next.ServeHTTP(w, r.WithContext(WithTokenName(r.Context(), name)))
		})
	}
}

// detail is the 401 text for a reason. It says what was wrong with the
// request and never echoes any part of the header, which may hold a real
// secret sent to the wrong place.
func detail(reason string) string {
	switch reason {
	case ReasonMissing:
		return "Authentication required: send an Authorization: Bearer <token> header."
	case ReasonScheme:
		return "The Authorization header is not a Bearer token; use Authorization: Bearer <token>."
	case ReasonMalformed:
		return "The bearer token is malformed: expected Authorization: Bearer <token> with a single token."
	default:
		return "The bearer token is not valid."
	}
}

// bearer extracts the token from the Authorization header values. It
// accepts any case of the scheme and extra blanks around the parts
// (RFC 7235 makes the scheme case-insensitive; some IdPs pad), but not two
// headers, a blank inside the token or control characters: those are
// malformed rather than guessed at.
func bearer(values []string) (token, reason string) {
	if len(values) == 0 || (len(values) == 1 && strings.TrimSpace(values[0]) == "") {
		return "", ReasonMissing
	}
	if len(values) > 1 {
		return "", ReasonMalformed
	}
	fields := strings.Fields(values[0])
	if !strings.EqualFold(fields[0], "Bearer") {
		return "", ReasonScheme
	}
	if len(fields) != 2 || len(fields[1]) > maxTokenLen {
		return "", ReasonMalformed
	}
	for _, c := range fields[1] {
		if c < 0x21 || c == 0x7f {
			return "", ReasonMalformed
		}
	}
	return fields[1], ""
}

// match compares the token with every credential, in constant time and
// without stopping at the first hit, so timing says nothing about which or
// how many tokens are configured. Comparing digests rather than the
// strings keeps ConstantTimeCompare's early return on a length mismatch
// from telling an attacker a token's length.
func match(creds []credential, token string) (string, bool) {
	sum := sha256.Sum256([]byte(token))
	name, found := "", 0
	for _, c := range creds {
		hit := subtle.ConstantTimeCompare(sum[:], c.raw[:]) | subtle.ConstantTimeCompare(sum[:], c.b64[:])
		if hit == 1 && found == 0 {
			name = c.name
		}
		found |= hit
	}
	return name, found == 1
}

// writeError writes a SCIM error body (RFC 7644 §3.12) through the SCIM
// library's own marshaller, so the form is the one the rest of the API uses.
func writeError(w http.ResponseWriter, status int, detail string) {
	b, _ := scimerrors.ScimError{Status: status, Detail: detail}.MarshalJSON()
	h := w.Header()
	h.Set("Content-Type", "application/scim+json")
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
