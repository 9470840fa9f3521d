package auth

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
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

// maxFormBytes bounds a token request body: a grant type and two
// credentials fit in far less.
const maxFormBytes = 16 << 10

// The registered claims every access token carries: a token of another
// issuer, or meant for another audience, signed with a key that happens to
// match, is still refused.
const (
	tokenIssuer   = "p4scim"
	tokenAudience = "p4scim-scim"
)

// keySalt separates the signing keys from any other use of a client's
// secret; the version lets a later format change every key at once.
const keySalt = "p4scim OAuth access token signing key v1"

type clientCred struct {
	name   string
	id     [sha256.Size]byte
	secret [sha256.Size]byte
	key    []byte // HMAC key of its tokens, derived from ID and secret
}

// TokenEndpoint is an OAuth 2.0 token endpoint (RFC 6749 §3.2) for the
// client-credentials grant (§4.4), and the verifier of the access tokens
// it issues (Issued, so that New accepts them).
//
// Access tokens are JWTs (RFC 7519) signed with HS256 under a key derived
// from the client's ID and secret (HKDF-SHA256): nothing is kept in
// memory, every replica built from the same OAUTH_CLIENTS verifies the
// tokens any of them issued, a restart logs no IdP out, and removing a
// client or changing its secret revokes its tokens at once. A token says
// which client it belongs to (sub) and when it expires (exp); the name the
// audit log shows comes from the configuration, not from the token. It is
// safe for concurrent use.
type TokenEndpoint struct {
	clients []clientCred
	byID    map[string]int // index in clients
	ttl     time.Duration
	now     func() time.Time
	parser  *jwt.Parser
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
	e := &TokenEndpoint{ttl: ttl, now: now, byID: map[string]int{}}
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
			key:    signingKey(c.ID, c.Secret),
		})
		if _, dup := e.byID[c.ID]; !dup { // as authenticate: the first client of an ID
			e.byID[c.ID] = len(e.clients) - 1
		}
	}
	e.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(tokenIssuer),
		jwt.WithAudience(tokenAudience),
		jwt.WithTimeFunc(now),
		jwt.WithStrictDecoding(),
	)
	return e
}

// signingKey derives a client's HMAC key. HKDF keeps the secret itself out
// of the signature, and the client ID in the derivation gives two clients
// that share a secret different keys.
func signingKey(id, secret string) []byte {
	key, err := hkdf.Key(sha256.New, []byte(secret), []byte(keySalt), id, sha256.Size)
	if err != nil {
		panic("hkdf: " + err.Error()) // only for lengths far above 32 bytes
	}
	return key
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
	index, authenticated := e.authenticate(id, secret)
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
	token, err := e.issue(id, e.clients[index])
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

// authenticate checks id and secret against every client in constant time
// and returns the index of the one they match.
func (e *TokenEndpoint) authenticate(id, secret string) (int, bool) {
	if id == "" || secret == "" {
		return -1, false
	}
	idSum, secretSum := sha256.Sum256([]byte(id)), sha256.Sum256([]byte(secret))
	index, found := -1, 0
	for i, c := range e.clients {
		hit := subtle.ConstantTimeCompare(idSum[:], c.id[:]) & subtle.ConstantTimeCompare(secretSum[:], c.secret[:])
		if hit == 1 && found == 0 {
			index = i
		}
		found |= hit
	}
	return index, found == 1
}

// issue signs an access token for the client with ID id.
func (e *TokenEndpoint) issue(id string, c clientCred) (string, error) {
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", err
	}
	now := e.now()
	claims := jwt.RegisteredClaims{
		Issuer:    tokenIssuer,
		Subject:   id,
		Audience:  jwt.ClaimStrings{tokenAudience},
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(e.ttl)),
		ID:        base64.RawURLEncoding.EncodeToString(jti[:]),
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(c.key)
}

// errUnknownClient refuses a token whose subject is no configured client
// (removed since, or never one).
var errUnknownClient = errors.New("token of an unknown client")

// Lookup reports whether token is an access token this configuration
// issued and that has not expired, and the name of its client. The
// signature is compared in constant time (HMAC); what a failure's timing
// can tell is only whether the token parsed and named a configured client,
// whose IDs are not secret.
func (e *TokenEndpoint) Lookup(token string) (string, bool) {
	if strings.Count(token, ".") != 2 {
		return "", false // not a JWT: a static token that matched nothing
	}
	index := -1
	_, err := e.parser.ParseWithClaims(token, &jwt.RegisteredClaims{}, func(t *jwt.Token) (any, error) {
		sub, err := t.Claims.GetSubject()
		if err != nil {
			return nil, err
		}
		i, ok := e.byID[sub]
		if !ok {
			return nil, errUnknownClient
		}
		index = i
		return e.clients[i].key, nil
	})
	if err != nil || index < 0 {
		return "", false
	}
	return e.clients[index].name, true
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
