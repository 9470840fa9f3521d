package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Client is an OAuth 2.0 client allowed to obtain access tokens with the
// client-credentials grant. Name is what the audit log shows for requests
// made with its tokens; it defaults to "oauth:" + ID.
type Client struct {
	ID     string
	Secret string
	Name   string
}

// DefaultTokenTTL is the lifetime of an issued token when none is given:
// long enough for an IdP's sync cycle, short enough that a leaked token
// soon stops working.
const DefaultTokenTTL = time.Hour

// maxIssued bounds the number of live tokens held in memory. Only
// authenticated clients can mint tokens, so reaching it means a client
// misbehaves; the oldest tokens then make room rather than memory growing.
const maxIssued = 10000

// maxFormBytes bounds a token request body: a grant type and two
// credentials fit in far less.
const maxFormBytes = 16 << 10

type clientCred struct {
	name   string
	id     [sha256.Size]byte
	secret [sha256.Size]byte
}

type issuedToken struct {
	name    string
	expires time.Time
}

// TokenEndpoint is an OAuth 2.0 token endpoint (RFC 6749 §3.2) for the
// client-credentials grant (§4.4). It issues opaque random access tokens,
// keeps them in memory only (a restart logs IdPs out, and they simply ask
// again) and implements Issued so that New accepts them. It is safe for
// concurrent use.
type TokenEndpoint struct {
	clients []clientCred
	ttl     time.Duration
	now     func() time.Time
	max     int

	mu        sync.Mutex
	tokens    map[[sha256.Size]byte]issuedToken // keyed by digest: memory never holds a usable token
	lastSweep time.Time
}

// NewTokenEndpoint returns a token endpoint for clients. ttl <= 0 means
// DefaultTokenTTL; now nil means time.Now (tests pass a fake clock).
// Clients with an empty ID or secret are ignored, so they can never match.
func NewTokenEndpoint(clients []Client, ttl time.Duration, now func() time.Time) *TokenEndpoint {
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	if now == nil {
		now = time.Now
	}
	e := &TokenEndpoint{ttl: ttl, now: now, max: maxIssued, tokens: make(map[[sha256.Size]byte]issuedToken)}
	for _, c := range clients {
		if c.ID == "" || c.Secret == "" {
			continue
		}
		name := c.Name
		if name == "" {
			name = "oauth:" + c.ID
		}
		e.clients = append(e.clients, clientCred{
			name:   name,
			id:     sha256.Sum256([]byte(c.ID)),
			secret: sha256.Sum256([]byte(c.Secret)),
		})
	}
	return e
}

// ServeHTTP answers a token request.
func (e *TokenEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "The token endpoint only accepts POST.")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Send the parameters as application/x-www-form-urlencoded.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "The request body is not a valid form.")
		return
	}
	// Parameters come from the body only (r.PostForm): credentials in a
	// URL end up in access logs. RFC 6749 §3.2 forbids repeating one.
	form := r.PostForm
	for _, p := range []string{"grant_type", "client_id", "client_secret", "scope"} {
		if len(form[p]) > 1 {
			oauthError(w, http.StatusBadRequest, "invalid_request", "The parameter "+p+" is repeated.")
			return
		}
	}
	id, secret, basic, ok := clientCredentials(r)
	if !ok {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Authenticate the client with HTTP Basic or with client_id and client_secret, not both.")
		return
	}
	name, authenticated := e.authenticate(id, secret)
	if !authenticated {
		// §5.2: a client that tried the Authorization header gets a 401
		// with a challenge for the scheme it used.
		if basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="p4scim"`)
		}
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed.")
		return
	}
	switch gt := form.Get("grant_type"); gt {
	case "client_credentials":
	case "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "The grant_type parameter is missing.")
		return
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "Only the client_credentials grant is supported.")
		return
	}
	token, err := e.issue(name)
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", "Could not generate a token.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": token,
		"token_type":   "Bearer",
		"expires_in":   int64(e.ttl / time.Second),
	})
}

// clientCredentials returns the client's credentials from the Basic
// header or the form (RFC 6749 §2.3.1). ok is false when both are used.
func clientCredentials(r *http.Request) (id, secret string, basic, ok bool) {
	formID, formSecret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	u, p, hasBasic := r.BasicAuth()
	if !hasBasic {
		return formID, formSecret, false, true
	}
	if formSecret != "" {
		return "", "", true, false
	}
	// §2.3.1: the Basic credentials are form-encoded before base64; a
	// client that did not encode them still works when they hold no '%' or '+'.
	if d, err := url.QueryUnescape(u); err == nil {
		u = d
	}
	if d, err := url.QueryUnescape(p); err == nil {
		p = d
	}
	return u, p, true, true
}

// authenticate checks id and secret against every client in constant time.
func (e *TokenEndpoint) authenticate(id, secret string) (string, bool) {
	if id == "" || secret == "" {
		return "", false
	}
	idSum, secretSum := sha256.Sum256([]byte(id)), sha256.Sum256([]byte(secret))
	name, found := "", 0
	for _, c := range e.clients {
		hit := subtle.ConstantTimeCompare(idSum[:], c.id[:]) & subtle.ConstantTimeCompare(secretSum[:], c.secret[:])
		if hit == 1 && found == 0 {
			name = c.name
		}
		found |= hit
	}
	return name, found == 1
}

// issue creates and stores a token for name.
func (e *TokenEndpoint) issue(name string) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	// base64url without padding stays inside RFC 6750's b64token syntax.
	token := base64.RawURLEncoding.EncodeToString(b[:])
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.tokens) >= e.max || now.Sub(e.lastSweep) >= e.ttl {
		e.sweepLocked(now)
	}
	for len(e.tokens) >= e.max {
		e.evictOldestLocked()
	}
	e.tokens[sha256.Sum256([]byte(token))] = issuedToken{name: name, expires: now.Add(e.ttl)}
	return token, nil
}

// sweepLocked drops expired tokens. It runs at most once per TTL (or when
// the map is full), so its cost is amortised over the tokens issued.
func (e *TokenEndpoint) sweepLocked(now time.Time) {
	for k, t := range e.tokens {
		if !now.Before(t.expires) {
			delete(e.tokens, k)
		}
	}
	e.lastSweep = now
}

// evictOldestLocked drops the token closest to expiry.
func (e *TokenEndpoint) evictOldestLocked() {
	var oldest [sha256.Size]byte
	var at time.Time
	first := true
	for k, t := range e.tokens {
		if first || t.expires.Before(at) {
			oldest, at, first = k, t.expires, false
		}
	}
	delete(e.tokens, oldest)
}

// Lookup reports whether token was issued and has not expired, and the
// name of the client it was issued to. The map is keyed by the token's
// digest, so the lookup time says nothing useful about near misses.
func (e *TokenEndpoint) Lookup(token string) (string, bool) {
	if token == "" {
		return "", false
	}
	key := sha256.Sum256([]byte(token))
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.tokens[key]
	if !ok {
		return "", false
	}
	if !now.Before(t.expires) {
		delete(e.tokens, key)
		return "", false
	}
	return t.name, true
}

// Len returns the number of tokens held, expired ones not yet swept
// included: for a gauge.
func (e *TokenEndpoint) Len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.tokens)
}

// oauthError writes an RFC 6749 §5.2 error response.
func oauthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

// writeJSON writes an OAuth JSON response. §5.1 requires no-store and
// no-cache on anything that may carry a token.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// compile-time check: the endpoint is what New's Options.Issued wants.
var _ Issued = (*TokenEndpoint)(nil)
