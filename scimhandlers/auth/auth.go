// Package auth authenticates SCIM requests with bearer tokens. It owns the
// comparison (constant time, over fixed-length digests so a token's length
// does not leak either), token rotation (several named tokens at once), and
// the SCIM error body and WWW-Authenticate challenge of every 401.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// Token is one accepted bearer token. Name identifies it in the audit log
// (which IdP, which rotation generation) without revealing it.
type Token struct {
	Name   string
	Secret string
}

// Issued looks up short-lived tokens issued by the OAuth token endpoint.
type Issued interface {
	Lookup(token string) (name string, ok bool)
}

// Options tune the middleware.
type Options struct {
	// OnFailure is called with a short reason for every refused request
	// (missing, malformed, invalid): a metric hook.
	OnFailure func(reason string)
	// Issued, if set, also accepts tokens from the token endpoint.
	Issued Issued
}

type credential struct {
	name string
	raw  [sha256.Size]byte // digest of the secret as configured
	b64  [sha256.Size]byte // digest of its base64 form (HAS compares base64)
}

type nameKey struct{}

// TokenName returns the name of the token that authenticated the request.
func TokenName(ctx context.Context) string {
	s, _ := ctx.Value(nameKey{}).(string)
	return s
}

// New returns the authentication middleware.
func New(tokens []Token, opts Options) func(http.Handler) http.Handler {
	creds := make([]credential, 0, len(tokens))
	for _, t := range tokens {
		creds = append(creds, credential{
			name: t.Name,
			raw:  sha256.Sum256([]byte(t.Secret)),
			b64:  sha256.Sum256([]byte(base64.StdEncoding.EncodeToString([]byte(t.Secret)))),
		})
	}
	fail := func(w http.ResponseWriter, reason, detail string, presented bool) {
		if opts.OnFailure != nil {
			opts.OnFailure(reason)
		}
		challenge := `Bearer realm="p4scim"`
		if presented {
			challenge += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
		writeError(w, http.StatusUnauthorized, detail)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			header := r.Header.Get("Authorization")
			if header == "" {
				fail(w, "missing", "Authentication required: send an Authorization: Bearer <token> header.", false)
				return
			}
			scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") {
				fail(w, "malformed", "The Authorization header must use the Bearer scheme.", true)
				return
			}
			token = strings.TrimSpace(token)
			if token == "" || strings.ContainsAny(token, " \t") {
				fail(w, "malformed", "The bearer token is malformed.", true)
				return
			}
			name, ok := match(creds, token)
			if !ok && opts.Issued != nil {
				name, ok = opts.Issued.Lookup(token)
			}
			if !ok {
				fail(w, "invalid_token", "The bearer token is not valid.", true)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), nameKey{}, name)))
		})
	}
}

// match compares the token with every credential, in constant time and
// without stopping at the first hit, so timing says nothing about which
// or how many tokens are configured.
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

func writeError(w http.ResponseWriter, status int, detail string) {
	b, _ := json.Marshal(map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"},
		"status":  strconv.Itoa(status),
		"detail":  detail,
	})
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
